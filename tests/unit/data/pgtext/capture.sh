#!/bin/bash
# capture.sh: re-captures the pgtext fixtures from the PostgreSQL 15 installed here (not run by make check).
#   tests/unit/data/pgtext/capture.sh [OUT_DIR]     (as root; PG tools run as postgres; ports 25490-25493)
# Throwaway clusters in a private temp dir, 127.0.0.1 and a private socket dir; postmasters are killed by PID at the
# end, whatever happens. Each fixture is the tool's stdout+stderr as the daemon would capture it (2>&1), LC_ALL=C.
# timings.txt: wall time of each tool run. The scenario, in order:
#   a primary (wal_log_hints=on), b = pg_basebackup -R of a
#   1. controldata of a running (in production), b stopped (shut down in recovery)
#   2. switchover a->b: CHECKPOINT a, stop a -m fast, controldata a (shut down), waldump of its last checkpoint,
#      b replays past it, promote b, CHECKPOINT b, pg_rewind --dry-run and -R of a from b (no rewind required)
#   3. a started as b's standby; a stopped cleanly, pg_rewind --dry-run again (same timeline)
#   4. divergence: a promoted while b still serves; 37 single-row INSERT commits on b; SIGKILL b (controldata:
#      in production while stopped); pg_rewind --dry-run on the crashed b (refused); single-user recovery of b;
#      controldata, dry run (servers diverged), waldump -n 1 and --stats=record F..E, the real rewind
#   5. again the other way, but the real pg_rewind on a crashed target (its own crash recovery)
#   6. c: wal_log_hints=off, no checksums; c2 its promoted clone; pg_rewind c from c2 (refused)
#   7. d: initdb -k (checksums); controldata of a running c, translated controldata (de_DE.UTF-8 compiled here)
set -euo pipefail
out=$(realpath "${1:-$(dirname "$0")}")
bin=/usr/lib/postgresql/15/bin
tmp=$(mktemp -d /tmp/pgtext-cap.XXXXXXXX)
chmod 755 "$tmp" && chown postgres: "$tmp"
mkdir "$tmp/sock" && chown postgres: "$tmp/sock"
as_pg() { runuser -u postgres -- env LC_ALL=C "$@"; }
pids=()

cleanup() {
	local pid
	for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
# timed NAME CMD...: runs CMD as postgres, stdout+stderr to $out/NAME.txt, wall time to timings.txt; never fails.
timed() {
	local name=$1 t0 t1 rc=0
	shift
	t0=$(now)
	as_pg "$@" >"$out/$name.txt" 2>&1 || rc=$?
	t1=$(now)
	printf '%-40s %6.3f s  exit %d  %s\n' "$name" "$(echo "$t1 - $t0" | bc)" "$rc" "${1##*/} ${*:2}" >>"$out/timings.txt"
}
sql() { as_pg "$bin/psql" -X -q -At -h "$tmp/sock" -p "$1" -d postgres -c "$2"; }
postmaster_pid() { head -1 "$1/postmaster.pid"; }
start() { # start DIR PORT
	as_pg "$bin/pg_ctl" -D "$1" -w -l "$1.log" -o "-p $2 -k $tmp/sock -c listen_addresses=127.0.0.1" start >/dev/null
	pids+=("$(postmaster_pid "$1")")
}
conf() { # conf DIR LINES...
	local d=$1
	shift
	printf '%s\n' "$@" >>"$d/postgresql.conf"
}
src() { echo "host=127.0.0.1 port=$1 user=postgres dbname=postgres"; }
wait_replayed() { # wait_replayed PORT LSN: replay position strictly past LSN
	local i
	for i in $(seq 200); do
		[ "$(sql "$1" "SELECT pg_last_wal_replay_lsn() > '$2'::pg_lsn")" = t ] && return 0
		sleep 0.05
	done
	echo "capture: standby on $1 did not replay past $2" >&2
	return 1
}
ctl_field() { sed -n "s/^$2: *//p" "$out/$1.txt"; }

: >"$out/timings.txt"
common=("autovacuum = off" "full_page_writes = on" "wal_level = replica" "max_wal_senders = 10" "fsync = off")

# ---------------------------------------------------------------- a, b
as_pg "$bin/initdb" -D "$tmp/a" --auth=trust -U postgres >/dev/null
conf "$tmp/a" "${common[@]}" "wal_log_hints = on"
start "$tmp/a" 25490
sql 25490 "CREATE TABLE t(id serial primary key, v text)"
sql 25490 "INSERT INTO t(v) SELECT 'x' FROM generate_series(1, 100)"
as_pg "$bin/pg_basebackup" -D "$tmp/b" -d "$(src 25490) application_name=b" -R -X stream -c fast
start "$tmp/b" 25491
timed controldata_running_primary "$bin/pg_controldata" -D "$tmp/a"
timed controldata_running_standby "$bin/pg_controldata" -D "$tmp/b"
as_pg "$bin/pg_ctl" -D "$tmp/b" -m fast -w stop >/dev/null
timed controldata_stopped_standby "$bin/pg_controldata" -D "$tmp/b"
start "$tmp/b" 25491

# ---------------------------------------------------------------- 2. switchover a -> b
sql 25490 "INSERT INTO t(v) VALUES ('before switchover')"
sql 25490 "CHECKPOINT"
t0=$(now)
as_pg "$bin/pg_ctl" -D "$tmp/a" -m fast -w stop >/dev/null
printf '%-40s %6.3f s\n' "pg_ctl stop -m fast (a, primary)" "$(echo "$(now) - $t0" | bc)" >>"$out/timings.txt"
timed controldata_clean_primary "$bin/pg_controldata" -D "$tmp/a"
L=$(ctl_field controldata_clean_primary "Latest checkpoint location")
T=$(ctl_field controldata_clean_primary "Latest checkpoint's TimeLineID")
timed waldump_shutdown_checkpoint "$bin/pg_waldump" -p "$tmp/a/pg_wal" -t "$T" -s "$L" -n 1
timed waldump_shutdown_checkpoint_all "$bin/pg_waldump" -p "$tmp/a/pg_wal" -t "$T" -s "$L"
wait_replayed 25491 "$L"
sql 25491 "SELECT pg_last_wal_replay_lsn()" >"$out/switchover_b_replay_lsn.txt"
t0=$(now)
sql 25491 "SELECT pg_promote(true)" >/dev/null
printf '%-40s %6.3f s\n' "pg_promote(true) (b)" "$(echo "$(now) - $t0" | bc)" >>"$out/timings.txt"
t0=$(now)
sql 25491 "CHECKPOINT"
printf '%-40s %6.3f s\n' "CHECKPOINT (b, new primary)" "$(echo "$(now) - $t0" | bc)" >>"$out/timings.txt"
timed rewind_dry_not_required "$bin/pg_rewind" -D "$tmp/a" --source-server="$(src 25491)" -R --dry-run
ls "$tmp/a" >"$out/rewind_dry_not_required.ls"
timed rewind_not_required "$bin/pg_rewind" -D "$tmp/a" --source-server="$(src 25491)" -R
ls "$tmp/a" >"$out/rewind_not_required.ls"
cp "$tmp/a/postgresql.auto.conf" "$out/rewind_not_required.auto.conf"
timed controldata_after_rewind_not_required "$bin/pg_controldata" -D "$tmp/a"
start "$tmp/a" 25490
sql 25491 "INSERT INTO t(v) VALUES ('after switchover')"
sql 25490 "SELECT pg_is_in_recovery()" >"$out/rewind_not_required.in_recovery"

# ---------------------------------------------------------------- 3. same timeline
as_pg "$bin/pg_ctl" -D "$tmp/a" -m fast -w stop >/dev/null
timed rewind_dry_same_timeline "$bin/pg_rewind" -D "$tmp/a" --source-server="$(src 25491)" -R --dry-run
start "$tmp/a" 25490

# ---------------------------------------------------------------- 4. divergence: b keeps writing after a is promoted
sleep 0.5
sql 25490 "SELECT pg_promote(true)" >/dev/null
for i in $(seq 37); do sql 25491 "INSERT INTO t(v) VALUES ('lost $i')"; done
bpid=$(postmaster_pid "$tmp/b")
kill -KILL "$bpid"
while kill -0 "$bpid" 2>/dev/null; do sleep 0.01; done
timed controldata_crashed_primary "$bin/pg_controldata" -D "$tmp/b"
sql 25490 "CHECKPOINT"
timed rewind_dry_crashed_target "$bin/pg_rewind" -D "$tmp/b" --source-server="$(src 25490)" -R --dry-run
t0=$(now)
as_pg "$bin/postgres" --single -D "$tmp/b" -c listen_addresses= postgres </dev/null >"$out/single_user_recovery.txt" 2>&1
printf '%-40s %6.3f s\n' "postgres --single crash recovery (b)" "$(echo "$(now) - $t0" | bc)" >>"$out/timings.txt"
timed controldata_recovered_primary "$bin/pg_controldata" -D "$tmp/b"
L=$(ctl_field controldata_recovered_primary "Latest checkpoint location")
T=$(ctl_field controldata_recovered_primary "Latest checkpoint's TimeLineID")
timed rewind_dry_diverged "$bin/pg_rewind" -D "$tmp/b" --source-server="$(src 25490)" -R --dry-run
F=$(sed -n 's/.*servers diverged at WAL location \([0-9A-F/]*\) on timeline.*/\1/p' "$out/rewind_dry_diverged.txt")
timed waldump_recovered_checkpoint "$bin/pg_waldump" -p "$tmp/b/pg_wal" -t "$T" -s "$L" -n 1
E=$(/usr/bin/python3 -c '
import re, sys
m = re.search(r"len \(rec/tot\): +\d+/ *(\d+), .*lsn: ([0-9A-F]+)/([0-9A-F]+)", open(sys.argv[1]).read())
v = (int(m[2], 16) << 32) + int(m[3], 16) + ((int(m[1]) + 7) & ~7)
print("%X/%X" % (v >> 32, v & 0xFFFFFFFF))' "$out/waldump_recovered_checkpoint.txt")
echo "F=$F L=$L E=$E T=$T" >"$out/diverged_range.txt"
timed waldump_stats_diverged "$bin/pg_waldump" -p "$tmp/b/pg_wal" -t "$T" -s "$F" -e "$E" --stats=record
timed waldump_diverged_records "$bin/pg_waldump" -p "$tmp/b/pg_wal" -t "$T" -s "$F" -e "$E"
timed rewind_diverged "$bin/pg_rewind" -D "$tmp/b" --source-server="$(src 25490)" -R
ls "$tmp/b" >"$out/rewind_diverged.ls"
timed controldata_after_rewind_diverged "$bin/pg_controldata" -D "$tmp/b"
start "$tmp/b" 25491
sleep 0.5
sql 25491 "SELECT pg_is_in_recovery(), count(*) FROM t WHERE v LIKE 'lost%'" >"$out/rewind_diverged.after"

# ---------------------------------------------------------------- 5. real rewind of a crashed target
sql 25491 "SELECT pg_promote(true)" >/dev/null
for i in $(seq 5); do sql 25490 "INSERT INTO t(v) VALUES ('lost again $i')"; done
apid=$(postmaster_pid "$tmp/a")
kill -KILL "$apid"
while kill -0 "$apid" 2>/dev/null; do sleep 0.01; done
sql 25491 "CHECKPOINT"
timed rewind_crashed_target "$bin/pg_rewind" -D "$tmp/a" --source-server="$(src 25491)" -R
timed controldata_after_rewind_crashed "$bin/pg_controldata" -D "$tmp/a"
timed rewind_again_after_rewind "$bin/pg_rewind" -D "$tmp/a" --source-server="$(src 25491)" -R --dry-run

# ---------------------------------------------------------------- 6. c: no wal_log_hints, no checksums
as_pg "$bin/initdb" -D "$tmp/c" --auth=trust -U postgres >/dev/null
conf "$tmp/c" "${common[@]}"
start "$tmp/c" 25492
as_pg "$bin/pg_basebackup" -D "$tmp/c2" -d "$(src 25492)" -R -X stream -c fast
start "$tmp/c2" 25493
sql 25493 "SELECT pg_promote(true)" >/dev/null
sql 25493 "CHECKPOINT"
as_pg "$bin/pg_ctl" -D "$tmp/c" -m fast -w stop >/dev/null
timed controldata_no_hints "$bin/pg_controldata" -D "$tmp/c"
timed rewind_dry_no_hints "$bin/pg_rewind" -D "$tmp/c" --source-server="$(src 25493)" -R --dry-run

# ---------------------------------------------------------------- 7. checksums; translated output
as_pg "$bin/initdb" -k -D "$tmp/d" --auth=trust -U postgres >/dev/null
timed controldata_checksums "$bin/pg_controldata" -D "$tmp/d"
mkdir "$tmp/locale"
localedef -i de_DE -f UTF-8 "$tmp/locale/de_DE.UTF-8" 2>/dev/null || true
chmod -R a+rX "$tmp/locale"
runuser -u postgres -- env LOCPATH="$tmp/locale" LC_ALL=de_DE.UTF-8 "$bin/pg_controldata" -D "$tmp/d" \
	>"$out/controldata_de.txt" 2>&1 || true
runuser -u postgres -- env LOCPATH="$tmp/locale" LC_ALL=de_DE.UTF-8 "$bin/pg_rewind" -D "$tmp/c" \
	--source-server="$(src 25493)" --dry-run >"$out/rewind_de.txt" 2>&1 || true

# ---------------------------------------------------------------- versions
{
	echo "Captured $(date -u +%Y-%m-%dT%H:%MZ) by capture.sh on $(. /etc/os-release; echo "$PRETTY_NAME"), $(uname -m):"
	for t in postgres pg_controldata pg_rewind pg_waldump; do "$bin/$t" --version; done
	dpkg-query -W -f='${Package} ${Version}\n' postgresql-15 postgresql-client-15 locales 2>/dev/null || true
} >"$out/VERSIONS"
echo "capture: done, $out"
