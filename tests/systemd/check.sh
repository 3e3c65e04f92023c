#!/bin/bash
# tests/systemd/check.sh BUILD_DIR COUNTS_FILE — the systemd service as shipped: the unit passes
# `systemd-analyze verify` and is rated by `systemd-analyze security`, both man pages lint clean and document every
# config key and journal MESSAGE_ID, `make install`/`uninstall` lay out (and leave) the expected tree, then
# test_notify.py. Prints PASS/FAIL/SKIP per test and, last, "N passed, M failed"; writes "passed N\nfailed M\n"
# to COUNTS_FILE; exits 0 iff nothing failed.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR COUNTS_FILE" >&2
	exit 2
fi
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "FAIL setup: no build directory $1"; echo "0 passed, 1 failed"; exit 1; }
COUNTS=$2
BIN=$BUILD/blfailoverd
UNIT=$REPO/systemd/blfailoverd.service
MAN8=$REPO/man/blfailoverd.8
MAN5=$REPO/man/blfailoverd.yml.5
EXPOSURE_MAX=2.0
passed=0
failed=0

TMP=$(mktemp -d /tmp/blf-sd-check.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

pass() { passed=$((passed + 1)); echo "PASS $1${2:+ $2}"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }
need() { command -v "$1" >/dev/null 2>&1; }

# make, from the repository, using the binary already built in BUILD (-o: never rebuild it here).
mk() { make -s --no-print-directory -C "$REPO" -o "$BIN" BUILD="$BUILD" "$@"; }

UNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
UNITDIR=${UNITDIR:-/lib/systemd/system}

# ---------------------------------------------------------------------------------------------- the unit

test_verify() {
	local name=unit__systemd_analyze_verify__clean d out
	need systemd-analyze || { fail $name "systemd-analyze not installed (package systemd)"; return; }
	[ -x "$BIN" ] || { fail $name "no binary $BIN"; return; }
	d=$TMP/verify
	# verify insists that ExecStart's binary exists and that Documentation='s man pages open: install into a
	# DESTDIR and point both at it.
	mk PREFIX=/usr DESTDIR="$d" install >/dev/null || { fail $name "make install failed"; return; }
	sed "s|^ExecStart=/usr/sbin/blfailoverd |ExecStart=$d/usr/sbin/blfailoverd |" \
		"$d$UNITDIR/blfailoverd.service" > "$TMP/blfailoverd.service"
	grep -q "^ExecStart=$d/usr/sbin/blfailoverd " "$TMP/blfailoverd.service" ||
		{ fail $name "the installed unit has no ExecStart=/usr/sbin/blfailoverd"; return; }
	out=$(MANPATH=$d/usr/share/man systemd-analyze verify "$TMP/blfailoverd.service" 2>&1)
	if [ $? -ne 0 ] || [ -n "$out" ]; then
		fail $name "$(echo "$out" | head -5)"
	else
		pass $name
	fi
}

test_security() {
	local name=unit__systemd_analyze_security__exposure_at_most_$EXPOSURE_MAX out level
	need systemd-analyze || { fail $name "systemd-analyze not installed (package systemd)"; return; }
	out=$(systemd-analyze security --offline=yes --no-pager "$UNIT" 2>&1)
	level=$(echo "$out" | sed -n 's/^.*Overall exposure level for blfailoverd.service: \([0-9.]*\).*$/\1/p')
	if [ -z "$level" ]; then
		fail $name "no exposure figure in: $(echo "$out" | tail -3)"
		return
	fi
	echo "  systemd-analyze security --offline=yes: exposure $level (what is left exposed:)"
	echo "$out" | grep '^✗' | sed 's/^/    /'
	if awk -v l="$level" -v m="$EXPOSURE_MAX" 'BEGIN { exit !(l <= m) }'; then
		pass $name "(exposure $level)"
	else
		fail $name "exposure $level > $EXPOSURE_MAX"
	fi
}

# ---------------------------------------------------------------------------------------------- man pages

test_man_lint() {
	local page=$1 name out
	name=man__$(basename "$page")__lint_clean
	need man || { fail "$name" "man not installed (package man-db)"; return; }
	need mandoc || { fail "$name" "mandoc not installed (package mandoc)"; return; }
	out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
	[ -z "$out" ] || { fail "$name" "man --warnings: $(echo "$out" | head -3)"; return; }
	out=$(mandoc -T lint -W warning "$page" 2>&1)
	[ $? -eq 0 ] && [ -z "$out" ] || { fail "$name" "mandoc -T lint: $(echo "$out" | head -3)"; return; }
	pass "$name"
}

# Every MESSAGE_ID of src/event.c's table is in blfailoverd(8) next to its event name, and nothing else is.
test_message_ids_documented() {
	local name=man__blfailoverd.8__message_ids_match_event_table code doc
	code=$(sed -n 's/^.*= { "\([a-z_]*\)", LOG_LEVEL_[A-Z]*, "\([0-9a-f]\{32\}\)" }.*$/\2 \1/p' "$REPO/src/event.c" | sort)
	# ".B <id>" followed by "<event_name> (priority): ..."
	doc=$(sed -n '/^\.B [0-9a-f]\{32\}$/{s/^\.B //;N;s/\n\([a-z_]*\) (.*$/ \1/p;}' "$MAN8" | sort)
	if [ -z "$code" ]; then
		fail $name "no MESSAGE_ID table found in src/event.c"
	elif [ "$code" != "$doc" ]; then
		fail $name "src/event.c and blfailoverd(8) differ: $(diff <(echo "$code") <(echo "$doc") | grep '^[<>]' | tr '\n' ' ')"
	else
		pass $name "($(echo "$code" | wc -l) IDs)"
	fi
}

# Every key of src/config.c's key table is documented in blfailoverd.yml(5).
test_config_keys_documented() {
	local name=man__blfailoverd.yml.5__documents_every_config_key missing
	missing=$(python3 - "$REPO/src/config.c" "$MAN5" <<'EOF'
import re, sys
src, man = open(sys.argv[1]).read(), open(sys.argv[2]).read()
tables = {m.group(1): m.group(2) for m in re.finditer(r"static const struct key_def (\w+)\[\] = \{(.*?)\n\};", src, re.S)}
def walk(table, prefix):
    # One entry per key: a macro named after its type (STRING, DURATION0, OPTIONAL_SECTION, ...) and the key's name.
    for m in re.finditer(r"^\s*([A-Z][A-Z0-9_]*)\(\s*\"(\w+)\"\s*,\s*(\w+)", tables[table], re.M):
        kind, key, arg = m.groups()
        path = prefix + key
        if kind.endswith("SECTION"):
            yield from walk(arg, path + ".")
        else:
            yield path
if "top_keys" not in tables:
    print("(no key table top_keys in src/config.c)")
    sys.exit()
# A key is documented when it appears in bold at the start of a tag: ".B key" or ".BR key \", \" other".
documented = set()
for line in man.split("\n"):
    if line.startswith((".B ", ".BR ")):
        documented.update(w for w in re.findall(r"[\w.]+", line[3:]) if "." in w or w.isidentifier())
print(" ".join(k for k in walk("top_keys", "") if k not in documented))
EOF
)
	if [ -n "$missing" ]; then
		fail $name "not documented: $missing"
	else
		pass $name
	fi
}

# ---------------------------------------------------------------------------------------------- install

expect_file() {         # expect_file PATH MODE
	[ -f "$1" ] || { echo "missing $1"; return 1; }
	[ "$(stat -c %a "$1")" = "$2" ] || { echo "$1 has mode $(stat -c %a "$1"), expected $2"; return 1; }
}

test_install_layout() {
	local name=install__destdir__expected_tree d=$TMP/install why got want
	mk PREFIX=/usr DESTDIR="$d" install >/dev/null 2>"$TMP/err" || { fail $name "make install: $(cat "$TMP/err")"; return; }
	why=$(expect_file "$d/usr/sbin/blfailoverd" 755 &&
		expect_file "$d$UNITDIR/blfailoverd.service" 644 &&
		expect_file "$d/etc/blfailoverd/blfailoverd.yml" 640 &&
		expect_file "$d/usr/share/man/man8/blfailoverd.8" 644 &&
		expect_file "$d/usr/share/man/man5/blfailoverd.yml.5" 644)
	[ -z "$why" ] || { fail $name "$why"; return; }
	got=$(cd "$d" && find . -type f | sort | tr '\n' ' ')
	want=$(printf '%s\n' ./etc/blfailoverd/blfailoverd.yml ".$UNITDIR/blfailoverd.service" ./usr/sbin/blfailoverd \
		./usr/share/man/man5/blfailoverd.yml.5 ./usr/share/man/man8/blfailoverd.8 | sort | tr '\n' ' ')
	[ "$got" = "$want" ] || { fail $name "installed [$got], expected [$want]"; return; }
	cmp -s "$BIN" "$d/usr/sbin/blfailoverd" || { fail $name "sbin/blfailoverd is not $BIN"; return; }
	cmp -s "$REPO/conf/blfailoverd.yml" "$d/etc/blfailoverd/blfailoverd.yml" || { fail $name "config is not the sample"; return; }
	grep -qx 'ExecStart=/usr/sbin/blfailoverd -c /etc/blfailoverd/blfailoverd.yml' "$d$UNITDIR/blfailoverd.service" ||
		{ fail $name "the installed unit's ExecStart does not name /usr/sbin/blfailoverd"; return; }
	diff -q <(grep -v '^ExecStart=' "$UNIT") <(grep -v '^ExecStart=' "$d$UNITDIR/blfailoverd.service") >/dev/null ||
		{ fail $name "the installed unit differs from systemd/blfailoverd.service beyond ExecStart"; return; }
	pass $name "(unit in $UNITDIR)"
}

test_install_keeps_config() {
	local name=install__twice__edited_config_kept d=$TMP/install
	[ -f "$d/etc/blfailoverd/blfailoverd.yml" ] || { fail $name "no first install to build on"; return; }
	echo "# edited by the operator" >> "$d/etc/blfailoverd/blfailoverd.yml"
	echo "stale" > "$d/usr/share/man/man8/blfailoverd.8"
	mk PREFIX=/usr DESTDIR="$d" install >/dev/null 2>"$TMP/err" || { fail $name "make install: $(cat "$TMP/err")"; return; }
	if [ "$(tail -n 1 "$d/etc/blfailoverd/blfailoverd.yml")" != "# edited by the operator" ]; then
		fail $name "the second install overwrote the edited config"
	elif ! cmp -s "$MAN8" "$d/usr/share/man/man8/blfailoverd.8"; then
		fail $name "the second install did not refresh the man page"
	else
		pass $name
	fi
}

test_install_prefix() {
	local name=install__prefix_usr_local__unit_names_it d=$TMP/install-local
	mk DESTDIR="$d" PREFIX=/usr/local install >/dev/null 2>"$TMP/err" || { fail $name "make install: $(cat "$TMP/err")"; return; }
	if [ ! -x "$d/usr/local/sbin/blfailoverd" ] || [ ! -f "$d/usr/local/share/man/man8/blfailoverd.8" ]; then
		fail $name "nothing in $d/usr/local/sbin or share/man"
	elif ! grep -qx 'ExecStart=/usr/local/sbin/blfailoverd -c /etc/blfailoverd/blfailoverd.yml' "$d$UNITDIR/blfailoverd.service"; then
		fail $name "unit: $(grep '^ExecStart=' "$d$UNITDIR/blfailoverd.service")"
	else
		pass $name
	fi
}

test_uninstall() {
	local name=uninstall__removes_files__keeps_config d=$TMP/install left
	[ -f "$d/usr/sbin/blfailoverd" ] || { fail $name "no install to remove"; return; }
	mk PREFIX=/usr DESTDIR="$d" uninstall >/dev/null 2>"$TMP/err" || { fail $name "make uninstall: $(cat "$TMP/err")"; return; }
	left=$(cd "$d" && find . -type f | sort | tr '\n' ' ')
	if [ "$left" != "./etc/blfailoverd/blfailoverd.yml " ]; then
		fail $name "left behind [$left], expected only the config"
	else
		pass $name
	fi
}

# Every alert of conf/prometheus-rules.yml is named in the README's list of alert rules (issue 11: one was missing).
test_alert_rules_listed() {
	local name=readme__lists_every_alert_rule missing
	missing=$(python3 - "$REPO/conf/prometheus-rules.yml" "$REPO/README.md" <<'EOF'
import re, sys
rules = re.findall(r"^\s*- alert:\s*(\w+)", open(sys.argv[1]).read(), re.M)
# the README's bullet "**Alert rules**: [...] holds the runbook's alerts on these metrics (Name, Name, ...)"
m = re.search(r"\*\*Alert rules\*\*.*?metrics \(([^)]*)\)", open(sys.argv[2]).read(), re.S)
listed = set(re.split(r"[\s,]+", m.group(1))) if m else set()
print("(no alert in the rules file)" if not rules else " ".join(r for r in rules if r not in listed))
EOF
)
	if [ -n "$missing" ]; then
		fail $name "README.md's list of alert rules lacks: $missing"
	else
		pass $name "($(grep -c '^ *- alert:' "$REPO/conf/prometheus-rules.yml") rules)"
	fi
}

# ---------------------------------------------------------------------------------------------- run

test_verify
test_security
test_man_lint "$MAN8"
test_man_lint "$MAN5"
test_message_ids_documented
test_config_keys_documented
test_alert_rules_listed
test_install_layout
test_install_keeps_config
test_install_prefix
test_uninstall

if [ -x "$BIN" ]; then
	/usr/bin/python3 "$REPO/tests/systemd/test_notify.py" --bin "$BIN" --counts "$TMP/notify.counts" | grep -v ' passed, .* failed$'
	n_passed=$(sed -n 's/^passed \([0-9]*\)$/\1/p' "$TMP/notify.counts" 2>/dev/null)
	n_failed=$(sed -n 's/^failed \([0-9]*\)$/\1/p' "$TMP/notify.counts" 2>/dev/null)
	if [ -z "$n_passed" ] || [ -z "$n_failed" ]; then
		fail test_notify.py "wrote no counts"
	else
		passed=$((passed + n_passed))
		failed=$((failed + n_failed))
	fi
else
	fail test_notify.py "no binary $BIN"
fi

printf 'passed %d\nfailed %d\n' "$passed" "$failed" > "$COUNTS"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
