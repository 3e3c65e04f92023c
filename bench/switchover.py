#!/usr/bin/python3
"""bench switchover: write-unavailability and rows lost across a planned switchover, for any pair of PostgreSQL
servers and any switchover command; the peer here is Patroni (patronictl switchover), started by this file.

    bench/switchover.py patroni [--runs N] [--writer BIN] [--json FILE]
    bench/switchover.py measure --label L --node NAME=PORT --node NAME=PORT [--settings S] [--runs N]
                                [--writer BIN] [--json FILE] -- ARGV...

`measure` runs ARGV (a switchover command; "{old}" and "{new}" in it become the node names of the current primary
and the candidate) --runs times, alternating direction by itself: each run finds the primary again. This is how
blfailoverd's `blfailoverd -c CFG --switchover` (exit 0) is measured; bench/run.py's "switchover" section calls
measure_pair() the same way, with a Pair whose ready/after hooks hold the daemon to its own record (BlfSwitchover).

Per run, a writer (tests/integration/pgwriter.c, built by make into BUILD/pgwriter) commits one row every 10 ms
through `host=127.0.0.1,127.0.0.1 port=PA,PB target_session_attrs=read-write connect_timeout=1`, and prints each
row's outcome with its own CLOCK_REALTIME stamp:
  window   first ack by the new primary − the last ack by the old one before it (writer stamps)
  lost     acked seqs missing from the table on the final primary (the "unknown" rows — connection lost during the
           commit — are counted apart: neither acked nor lost)
  healthy  command start → the demoted node streaming in pg_stat_replication on the new primary (polled every
           0.1 s from the first ack on the new primary and the command's return on, so the polls cannot slow
           the window they measure)
Between runs the pair is waited for until healthy. Never asserts: a broken run is reported and left out.

The Patroni peer: one-member etcd 3.4 (client 23790, peer 23800) and two Patroni 3.0.2 nodes (REST 28008/28009,
PostgreSQL 15 on 25460/25461), all on 127.0.0.1, data under one temp dir, run as the postgres user (PostgreSQL
refuses root); every process stopped by PID at the end, also on failure or a signal.
"""
import argparse
import contextlib
import http.client
import json
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import topology as T  # noqa: E402

WRITER_INTERVAL_MS = 10
TABLE = "blf_bench_switchover"
PRE_ACKS = 50                   # acks on the old primary before the command (0.5 s of steady writing)
POST_SECONDS = 0.5              # writing on once the pair is healthy again
COMMAND_TIMEOUT = 120
HEALTHY_TIMEOUT = 90
TARGET = "≤ 0.6 s median, 0 lost every run"
ORIENTATION = ("issue 12's orientation figures, measured elsewhere with a writer at 20 ms, not this run's: "
               "Patroni 3.0.2 (ttl 10, loop_wait 1) median window 1.28 s, 0 rows lost; pg_auto_failover 2.0 "
               "(100 ms health checks) 1.13 s, 0 lost")

ETCD = "/usr/bin/etcd"
PATRONI = "/usr/bin/patroni"
PATRONICTL = "/usr/bin/patronictl"
ETCD_CLIENT, ETCD_PEER = 23790, 23800
PATRONI_NODES = (("pg1", 28008, 25460), ("pg2", 28009, 25461))      # name, REST port, PostgreSQL port
PATRONI_DCS = {"ttl": 10, "loop_wait": 1, "retry_timeout": 4}
PATRONI_PG_PARAMS = {"wal_log_hints": "on", "fsync": "off", "full_page_writes": "on", "wal_level": "replica",
                     "hot_standby": "on", "max_wal_senders": 10, "max_replication_slots": 10,
                     "shared_buffers": "16MB", "max_connections": 30}
CHILD_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/var/lib/postgresql"}


def say(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ the pair


class Pair:
    """What measure_pair needs to know of a pair: its two nodes, the command, and what to print about it.

    nodes     {name: PostgreSQL port}, two entries, on 127.0.0.1, user postgres, trust
    command   argv; "{old}"/"{new}" are replaced by the current primary's and the candidate's node names
    settings  one line for the table
    ready     optional callable(old, new) -> None, raising when the tool is not ready for a switchover yet
              (e.g. Patroni's replica not yet reported healthy through its REST API); a TopologyError is retried
              (30 s), any other exception fails the run at once (e.g. the tool's daemon is gone)
    env       environment of the command (None: this process's)
    after     optional callable(old, new, t_cmd, fig) -> dict of extra figures for the run (e.g. the tool's own step
              durations), called once the pair is healthy again; raising fails the run (the tool's own account
              says the switchover went wrong, even though the pair looks right)
    """

    def __init__(self, label, nodes, command, settings="", ready=None, env=None, after=None):
        if len(nodes) != 2:
            raise ValueError("a pair has two nodes")
        self.label, self.nodes, self.command, self.settings = label, dict(nodes), list(command), settings
        self.ready, self.env, self.after = ready, env, after

    def conninfo(self, name=None):
        if name:
            return f"host={T.HOST} port={self.nodes[name]} user={T.PG_USER} dbname=postgres connect_timeout=2"
        ports = ",".join(str(p) for p in self.nodes.values())
        return (f"host={T.HOST},{T.HOST} port={ports} user={T.PG_USER} dbname=postgres "
                f"target_session_attrs=read-write connect_timeout=1")

    def argv(self, old, new):
        return [a.replace("{old}", old).replace("{new}", new) for a in self.command]


def psql(conninfo, sql, timeout=10):
    """One query over TCP (psql, no shell); its unaligned output, or a TopologyError."""
    r = T.run([f"{T.PG_BIN}/psql", "-X", "-v", "ON_ERROR_STOP=1", "-Atqc", sql, conninfo], timeout=timeout,
              what="psql", env={**CHILD_ENV, "PGCONNECT_TIMEOUT": "2"})
    return r.stdout.strip()


def roles(pair):
    """(primary, standby) node names: the one answering pg_is_in_recovery() = false is the primary."""
    primaries = []
    for name in pair.nodes:
        with contextlib.suppress(T.TopologyError):
            if psql(pair.conninfo(name), "select pg_is_in_recovery()") == "f":
                primaries.append(name)
    if len(primaries) != 1:
        raise T.TopologyError(f"{pair.label}: expected one primary, found {primaries or 'none'}")
    primary = primaries[0]
    return primary, next(n for n in pair.nodes if n != primary)


def streaming(pair, primary):
    """True when the primary is writable and a standby streams from it (the pair has two nodes: it is the other)."""
    out = psql(pair.conninfo(primary), "select pg_is_in_recovery(), "
               "(select count(*) from pg_stat_replication where state = 'streaming')")
    return out == "f|1"


def wait_healthy(pair, timeout=HEALTHY_TIMEOUT):
    """(primary, standby) once one node is primary and the other streams from it."""
    def ok():
        primary, standby = roles(pair)
        return (primary, standby) if streaming(pair, primary) else None
    return T.wait_until(ok, timeout, f"{pair.label}: a primary with its standby streaming", interval=0.1)


# ------------------------------------------------------------------------------------------------ the writer


class Writer:
    """pgwriter against the pair, its stdout parsed as it arrives."""

    def __init__(self, binary, conninfo, table=TABLE, interval_ms=WRITER_INTERVAL_MS):
        self.proc = subprocess.Popen([binary, conninfo, str(interval_ms), "0", table], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=CHILD_ENV,
                                     start_new_session=True)
        self.acks = []          # (seq, port, usec)
        self.unknown = []       # seq
        self.errors = 0
        self._lock = threading.Lock()
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            w = raw.decode("utf-8", "replace").split(" ", 3)
            with self._lock:
                if w[0] == "ack" and len(w) == 4:
                    self.acks.append((int(w[1]), int(w[2]), int(w[3])))
                elif w[0] == "unknown":
                    self.unknown.append(int(w[1]))
                elif w[0] == "err":
                    self.errors += 1
        self.proc.stdout.close()

    def count_acks(self, port=None):
        with self._lock:
            return sum(1 for _, p, _ in self.acks if port is None or p == port)

    def wait_acks(self, n, port, timeout, what):
        T.wait_until(lambda: self.count_acks(port) >= n, timeout, what, interval=0.01)

    def stop(self):
        T.stop_popen(self.proc, signal.SIGTERM, 5)
        self._t.join(5)


def find_writer(build_dir=os.path.join(ROOT, "build")):
    """BUILD/pgwriter, built by `make all` beside the daemon."""
    path = os.path.join(build_dir, "pgwriter")
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path}: not built; run `make BUILD={os.path.basename(build_dir)} all` "
                                f"(make bench does)")
    return path


# ------------------------------------------------------------------------------------------------ one run


def measure_run(pair, writer_bin, log=say):
    """One switchover with the writer on; the figures of the run (seconds), or an exception."""
    old, new = wait_healthy(pair)
    if pair.ready:
        T.wait_until(lambda: pair.ready(old, new) is None, 30, f"{pair.label}: ready for a switchover",
                     interval=0.2)
    psql(pair.conninfo(old), f"drop table if exists {TABLE}; create table {TABLE} (seq bigint primary key)")
    old_port, new_port = pair.nodes[old], pair.nodes[new]
    w = Writer(writer_bin, pair.conninfo())
    try:
        w.wait_acks(PRE_ACKS, old_port, 20, f"{PRE_ACKS} acks from {old} before the switchover")
        argv = pair.argv(old, new)
        t_cmd = time.time()
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=pair.env,
                           timeout=COMMAND_TIMEOUT)
        t_done = time.time()
        if r.returncode != 0:
            # the tool's error lines first: the table shows a failed run's first line
            out = (r.stdout + r.stderr).strip()
            errors = [line for line in out.splitlines() if line.startswith("error:")]
            raise T.TopologyError(f"{pair.label} {old}→{new}: exit {r.returncode}: "
                                  f"{' / '.join(errors) if errors else out[-300:]}\n{out}")
        w.wait_acks(1, new_port, 60, f"a commit acknowledged by {new}")
        # Polled from here on, with the writer still writing: not before the window closed (the polls would slow
        # the switchover they measure), nor later (a command that returns healthy would be charged the delay).
        healthy = wait_healthy(pair)
        t_healthy = time.time()
        time.sleep(POST_SECONDS)
    finally:
        w.stop()
    if healthy != (new, old):
        raise T.TopologyError(f"{pair.label}: after the switchover {healthy[0]} is primary, expected {new}")
    fig = figures(pair, w, old_port, new_port, new, t_cmd, t_done, t_healthy, r)
    if pair.after:
        fig.update(pair.after(old, new, t_cmd, fig))
    return fig


def figures(pair, w, old_port, new_port, new, t_cmd, t_done, t_healthy, r):
    first_new = min(u for _, p, u in w.acks if p == new_port)
    before = [u for _, p, u in w.acks if p == old_port and u <= first_new]
    after_on_old = sum(1 for _, p, u in w.acks if p == old_port and u > first_new)
    present = {int(s) for s in psql(pair.conninfo(new), f"select seq from {TABLE}", timeout=30).split()}
    acked = {s for s, _, _ in w.acks}
    unknown_present = len(set(w.unknown) & present)
    return {
        "window": (first_new - max(before)) / 1e6,
        "lost": len(acked - present),
        "lost_seqs": sorted(acked - present)[:20],
        "unknown": len(w.unknown),
        "unknown_present": unknown_present,        # of those, committed after all
        "errors": w.errors,
        "acks_on_old_after_new": after_on_old,       # both writable at once: should stay 0
        "acked": len(acked),
        "command": t_done - t_cmd,
        # command start → last ack by the old primary: how long the tool let the old primary serve
        "cmd_to_window": (max(before) / 1e6) - t_cmd,
        "healthy": t_healthy - t_cmd,
        "direction": f"{[n for n, p in pair.nodes.items() if p == old_port][0]}→{new}",
        "command_output": (r.stdout + r.stderr).strip()[-300:],
    }


def measure_pair(pair, runs, writer_bin, results, key, log=say):
    """runs switchovers; each run's figures appended to results[key], failures' messages to results[key:failed]."""
    results.setdefault(key, [])
    results.setdefault(key + ":failed", [])
    results[key + ":settings"] = pair.settings
    results[key + ":label"] = pair.label
    for i in range(runs):
        t0 = time.monotonic()
        try:
            fig = measure_run(pair, writer_bin, log)
            results[key].append(fig)
            log(f"  {key} run {i + 1} {fig['direction']}: window {fig['window']:.3f} s, lost {fig['lost']}, "
                f"unknown {fig['unknown']}, healthy {fig['healthy']:.3f} s, command {fig['command']:.3f} s "
                f"({time.monotonic() - t0:.1f}s)")
        except (Exception, TimeoutError) as e:      # noqa: BLE001 -- a broken run is reported, not fatal
            if isinstance(e, T.Interrupted):
                raise
            results[key + ":failed"].append(str(e))
            log(f"  {key} run {i + 1}: FAILED: {e}")
    return results


# ------------------------------------------------------------------------------------------------ Patroni


class PatroniCluster:
    """etcd + two Patroni nodes on 127.0.0.1 under one temp dir; stop() ends every process it started, by PID."""

    def __init__(self, log=say):
        self.log = log
        self.dir = None
        self.procs = {}         # name -> Popen
        self.confs = {}

    def __repr__(self):
        return f"PatroniCluster({self.dir})"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        T._register(self)       # atexit and signals stop it too
        try:
            T.check_ports_free((ETCD_CLIENT, ETCD_PEER) + tuple(p for n in PATRONI_NODES for p in n[1:]))
            self.dir = tempfile.mkdtemp(prefix="blf-bench-patroni-")
            T.makedirs_owned(self.dir, T.PG_USER, 0o755)
            T.makedirs_owned(os.path.join(self.dir, "sock"), T.PG_USER, 0o755)
            self._start_etcd()
            for name, rest, port in PATRONI_NODES:
                self._start_node(name, rest, port)
                if name == PATRONI_NODES[0][0]:
                    T.wait_until(lambda: self.rest_status(rest, "/primary") == 200, 120,
                                 "Patroni pg1 to bootstrap and lead", interval=0.25)
            first, second = PATRONI_NODES[0][0], PATRONI_NODES[1][0]
            T.wait_until(lambda: self.ready(first, second) is None, 180, "Patroni pg2 to clone and stream",
                         interval=0.25)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name, argv):
        logf = open(os.path.join(self.dir, f"{name}.log"), "ab")
        try:
            self.procs[name] = subprocess.Popen(argv, cwd=self.dir, user=T.PG_USER, group=T.PG_USER, extra_groups=[],
                                                env=CHILD_ENV, stdin=subprocess.DEVNULL, stdout=logf,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            logf.close()

    def _start_etcd(self):
        data = T.makedirs_owned(os.path.join(self.dir, "etcd"), T.PG_USER, 0o700)
        peer, client = f"http://{T.HOST}:{ETCD_PEER}", f"http://{T.HOST}:{ETCD_CLIENT}"
        self._spawn("etcd", [ETCD, "--name", "bench", "--data-dir", data, "--listen-client-urls", client,
                             "--advertise-client-urls", client, "--listen-peer-urls", peer,
                             "--initial-advertise-peer-urls", peer, "--initial-cluster", f"bench={peer}",
                             "--initial-cluster-state", "new", "--initial-cluster-token", "blf-bench"])
        T.wait_until(lambda: b'"true"' in self.http(ETCD_CLIENT, "/health")[1], 30, "etcd to answer /health")

    def _start_node(self, name, rest, port):
        conf = os.path.join(self.dir, f"{name}.yml")
        T.write_file(conf, json.dumps(self._config(name, rest, port), indent=1), owner=T.PG_USER, mode=0o600)
        self.confs[name] = conf
        self._spawn(name, [PATRONI, conf])

    def _config(self, name, rest, port):
        """Patroni's config (YAML is a superset of JSON)."""
        auth = {"username": T.PG_USER}
        return {
            "scope": "blf-bench", "name": name,
            "restapi": {"listen": f"{T.HOST}:{rest}", "connect_address": f"{T.HOST}:{rest}"},
            "etcd3": {"hosts": f"{T.HOST}:{ETCD_CLIENT}"},
            "bootstrap": {
                "dcs": {**PATRONI_DCS, "maximum_lag_on_failover": 1048576,
                        "postgresql": {"use_pg_rewind": True, "parameters": PATRONI_PG_PARAMS}},
                "initdb": [{"encoding": "UTF8"}, {"locale": "C"}, {"auth": "trust"}],
                "pg_hba": [f"host all all {T.HOST}/32 trust", f"host replication all {T.HOST}/32 trust",
                           "local all all trust"],
            },
            "postgresql": {
                "listen": f"{T.HOST}:{port}", "connect_address": f"{T.HOST}:{port}",
                "data_dir": os.path.join(self.dir, name), "bin_dir": T.PG_BIN,
                "pgpass": os.path.join(self.dir, f"{name}.pgpass"),
                "authentication": {"superuser": auth, "replication": auth, "rewind": auth},
                "parameters": {"unix_socket_directories": os.path.join(self.dir, "sock")},
            },
            "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
        }

    @staticmethod
    def http(port, path):
        c = http.client.HTTPConnection(T.HOST, port, timeout=2)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def rest_status(self, port, path):
        with contextlib.suppress(OSError, http.client.HTTPException):
            return self.http(port, path)[0]
        return None

    def ready(self, old, new):
        """Patroni's own view: the old node leads, the candidate is a healthy replica (its REST API says so)."""
        rest = {n: r for n, r, _ in PATRONI_NODES}
        if self.rest_status(rest[old], "/primary") != 200 or self.rest_status(rest[new], "/replica") != 200:
            raise T.TopologyError(f"Patroni: {old} not leading or {new} not a healthy replica yet")

    def pair(self):
        settings = (f"Patroni {patroni_version()} + etcd {etcd_version()} (etcd3 DCS, one member), "
                    f"ttl {PATRONI_DCS['ttl']}, loop_wait {PATRONI_DCS['loop_wait']}, "
                    f"retry_timeout {PATRONI_DCS['retry_timeout']}, use_pg_rewind, replication slots; "
                    f"PostgreSQL 15 wal_log_hints on, fsync off, full_page_writes on, synchronous_commit on; "
                    f"`patronictl switchover --leader X --candidate Y --force`")
        return Pair("Patroni", {n: p for n, _, p in PATRONI_NODES},
                    [PATRONICTL, "-c", self.confs[PATRONI_NODES[0][0]], "switchover", "--leader", "{old}",
                     "--candidate", "{new}", "--force"],
                    settings, ready=self.ready, env={**CHILD_ENV, "HOME": self.dir})

    def stop(self):
        # Patroni nodes first (each stops its PostgreSQL), then etcd; whatever is left, by PID.
        for name in [n for n, _, _ in PATRONI_NODES] + ["etcd"]:
            p = self.procs.pop(name, None)
            if p:
                T.stop_popen(p, signal.SIGTERM, 30)
        if self.dir:
            for name, _, _ in PATRONI_NODES:
                self._kill_postmaster(os.path.join(self.dir, name))
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        T._unregister(self)

    @staticmethod
    def _kill_postmaster(data):
        """A postmaster Patroni left behind (Patroni itself killed): ours, since its data dir is ours."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(open(os.path.join(data, "postmaster.pid")).read().split()[0])
            if T.proc_alive(pid) and data in T.proc_cmdline(pid):
                os.kill(pid, signal.SIGKILL)


def patroni_version():
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run([PATRONI, "--version"], capture_output=True, text=True, timeout=30).stdout.split()[-1]
    return "?"


def etcd_version():
    with contextlib.suppress(OSError, subprocess.SubprocessError, IndexError):
        out = subprocess.run([ETCD, "--version"], capture_output=True, text=True, timeout=10).stdout
        return out.splitlines()[0].split()[-1]
    return "?"


def measure_patroni(runs, writer_bin, results, log=say):
    """The Patroni peer, under the topology lock (the machine's other test runs would skew the timings)."""
    with T._topology_lock(log):
        try:
            with PatroniCluster(log) as cluster:
                log(f"  Patroni up in {cluster.dir}")
                measure_pair(cluster.pair(), runs, writer_bin, results, "sw-patroni", log)
        except (T.TopologyError, OSError, subprocess.SubprocessError, TimeoutError) as e:
            results.setdefault("sw-patroni:failed", []).append(f"setup: {e}")
            log(f"  Patroni setup failed: {e}")
    return results


# ------------------------------------------------------------------------------------------------ the table

SYSTEMS = (("sw-blf", "blfailoverd"), ("sw-blf-cold", "blfailoverd, no daemon (cold ssh)"), ("sw-patroni", "Patroni"))
OPTIONAL = ("sw-blf-cold",)     # a column only when measured
# The window's parts, from the tool's own step record (blfailoverd): where the write unavailability goes.
WINDOW_PARTS = (("old_acks_into_stop", "last ack by the old primary − start of stop_old_primary"),
                ("stop_rest", "rest of stop_old_primary after that ack"),
                ("controldata", "controldata (pg_controldata over ssh)"),
                ("catch_up", "catch_up (standby replayed past the final checkpoint)"),
                ("promote", "promote (pg_promote, wait until out of recovery)"),
                ("promote_to_ack", "promote step end → first ack by the new primary (writer reconnects)"),
                ("gaps", "between those steps (the record's saves)"))


def systems(results):
    return [(k, label) for k, label in SYSTEMS if k not in OPTIONAL or k in results or k + ":failed" in results]


def summary(results, key):
    """{'n','failed','window':(min,med,max),'lost_max','unknown_max','healthy_med'} or None when never measured."""
    runs, failed = results.get(key, []), results.get(key + ":failed", [])
    if not runs and not failed:
        return None
    s = {"n": len(runs), "failed": len(failed)}
    if runs:
        w = sorted(r["window"] for r in runs)
        s.update(window=(w[0], statistics.median(w), w[-1]), lost_max=max(r["lost"] for r in runs),
                 lost_runs=sum(1 for r in runs if r["lost"]), unknown_max=max(r["unknown"] for r in runs),
                 unknown_present=sum(r.get("unknown_present", 0) for r in runs),
                 split=max(r["acks_on_old_after_new"] for r in runs),
                 healthy_med=statistics.median(r["healthy"] for r in runs),
                 serve_med=statistics.median(r["cmd_to_window"] for r in runs),
                 command_med=statistics.median(r["command"] for r in runs))
    return s


def cells(results):
    """{figure: [cell per system]} for the table's rows."""
    rows = {"window": [], "lost": [], "unknown": [], "split": [], "healthy": [], "serve": [], "command": [],
            "runs": []}
    for key, _ in systems(results):
        s = summary(results, key)
        if s is None or not s["n"]:
            pend = "pending" if s is None else f"0 runs ({s['failed']} failed)"
            for v in rows.values():
                v.append(pend)
            continue
        lo, med, hi = s["window"]
        over = key == "sw-blf" and (med > 0.6 or s["lost_max"] > 0)
        wtext = f"{lo:.3f} / {med:.3f} / {hi:.3f} s"
        rows["window"].append(f"**{wtext} over**" if over and med > 0.6 else wtext)
        rows["lost"].append(f"{s['lost_max']} ({s['lost_runs']} runs with a loss)")
        rows["unknown"].append(f"{s['unknown_max']} (committed after all: {s['unknown_present']} in all runs)")
        rows["split"].append(str(s["split"]))
        rows["healthy"].append(f"{s['healthy_med']:.3f} s")
        rows["serve"].append(f"{s['serve_med']:.3f} s")
        rows["command"].append(f"{s['command_med']:.3f} s")
        rows["runs"].append(f"{s['n']}" + (f" ({s['failed']} failed)" if s["failed"] else ""))
    return rows


def table_lines(results):
    rows = cells(results)
    names = [label for _, label in systems(results)]
    out = [f"| figure | {' | '.join(names)} | target |", "|" + " --- |" * (len(names) + 2)]

    def row(figure, key, target=""):
        out.append(f"| {figure} | {' | '.join(rows[key])} | {target} |")
    row("write window: last ack by the old primary → first ack by the new, min / median / max", "window", TARGET)
    row("rows lost (acked, missing on the final primary), max over runs", "lost", "0 every run")
    row("commits of unknown outcome (connection lost during COMMIT), max per run", "unknown")
    row("acks by the old primary after the first by the new (both writable), max", "split", "0")
    row("time to a healthy pair: command start → demoted node streaming, median", "healthy")
    row("command start → last ack by the old primary, median", "serve")
    row("switchover command's own duration, median", "command")
    row("runs (alternating directions)", "runs")
    out += step_lines(results)
    out.append("")
    for key, label in systems(results):
        if key + ":settings" in results:
            out.append(f"- {results.get(key + ':label', label)}: {results[key + ':settings'] or 'settings not given'}")
        elif key == "sw-blf":
            out.append(f"- {label}: pending (`blfailoverd -c CFG --switchover` not measured yet)")
        for err in results.get(key + ":failed", [])[:3]:
            out.append(f"  - failed run: {err.splitlines()[0][:300]}")
        for err in results.get(key + ":problems", []):
            out.append(f"  - problem: {err.splitlines()[0][:300]}")
    out.append(f"- Writer: tests/integration/pgwriter.c, one INSERT every {WRITER_INTERVAL_MS} ms through "
               "`target_session_attrs=read-write` over both ports (reconnects by itself); windows from its own "
               "CLOCK_REALTIME stamps.")
    out.append(f"- Orientation — {ORIENTATION}.")
    return out


def median_of(runs, get):
    v = [x for x in (get(r) for r in runs) if x is not None]
    return (statistics.median(v), len(v)) if v else None


def step_lines(results):
    """Median per step (the tool's own record) for the systems that give one, and the window taken apart."""
    keys = [(k, label) for k, label in systems(results) if any("steps" in r for r in results.get(k, []))]
    if not keys:
        return []
    names = []
    for k, _ in keys:
        for r in results[k]:
            names += [n for n in r.get("steps", {}) if n not in names]
    out = ["", f"| step (blfailoverd's record), median | {' | '.join(label for _, label in keys)} |",
           "|" + " --- |" * (len(keys) + 1)]

    def cell(runs, get):
        m = median_of(runs, get)
        return f"{m[0] * 1000:.0f} ms" + (f" (n {m[1]})" if m[1] != len(runs) else "") if m else "–"
    for n in names:
        out.append(f"| {n} | " + " | ".join(cell(results[k], lambda r, n=n: r.get("steps", {}).get(n))
                                            for k, _ in keys) + " |")
    out.append("| whole switchover (record: started → finished) | "
               + " | ".join(cell(results[k], lambda r: r.get("op_wall")) for k, _ in keys) + " |")
    out += ["", f"| the write window, taken apart (median of each part) | {' | '.join(lb for _, lb in keys)} |",
            "|" + " --- |" * (len(keys) + 1)]
    for part, what in WINDOW_PARTS:
        out.append(f"| {what} | " + " | ".join(cell(results[k], lambda r, p=part: r.get("window_parts", {}).get(p))
                                               for k, _ in keys) + " |")
    out.append("| window (= the parts after the last ack, each run) | "
               + " | ".join(cell(results[k], lambda r: r.get("window")) for k, _ in keys) + " |")
    return out


# ------------------------------------------------------------------------------------------------ CLI


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("patroni", "measure"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--writer", help="pgwriter binary (default: build/pgwriter)")
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--label", default="blfailoverd")
    ap.add_argument("--key", default="sw-blf", help="results key (sw-blf: the table's blfailoverd column)")
    ap.add_argument("--node", action="append", default=[], help="NAME=PORT, twice")
    ap.add_argument("--settings", default="")
    # measure's command comes after "--", taken apart here: argparse cannot mix it with the mode positional.
    command = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    if os.geteuid() != 0:
        say("bench/switchover.py: must run as root (it starts PostgreSQL as the postgres user)")
        return 2
    pwd.getpwnam(T.PG_USER)
    T.install_signal_handlers()
    writer = a.writer or find_writer()
    results = {}
    if a.mode == "measure" and (len(a.node) != 2 or not command):
        ap.error("measure needs --node NAME=PORT twice and the switchover command after --")
    try:
        if a.mode == "patroni":
            measure_patroni(a.runs, writer, results)
        else:
            nodes = {n: int(p) for n, p in (x.split("=", 1) for x in a.node)}
            measure_pair(Pair(a.label, nodes, command, a.settings), a.runs, writer, results, a.key)
    except T.Interrupted as e:         # everything started is stopped by now (context managers, atexit)
        say(f"bench/switchover.py: {e}; nothing left running")
        return 130
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, default=str)
    print("\n".join(table_lines(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
