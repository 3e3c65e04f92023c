#!/usr/bin/python3
"""bench: blfailoverd's failover timeline and running cost, measured on the integration topology, next to peers.

    bench/run.py --bin build/blfailoverd [--runs N] [--quick] [--only SECTIONS] [--seed N] [--out FILE]

Uses tests/integration/topology.py (PostgreSQL 15 primary + streaming standby, nginx, sshd, two API stand-ins,
the recording docker stand-in; all on 127.0.0.1). The topology is taken (file lock) per section and given back
between sections, so test runs of other people can go in between.

Sections (--only api,db,cost,switchover,cluster; default all):
  api   API faults (the active's /health answers 500, or hangs): blfailoverd at interval 1s / threshold 3 /
        timeout 1s, again with fast_interval 200ms, and the operators' bash loop (peers/bash-loop.sh) with the
        same interval and threshold. Detection, the daemon's overhead, tick jitter, each step's duration, and end
        to end: fault -> nginx answers from the standby, fault -> the standby database accepts a write.
  db    database fault (the primary is killed with pg_ctl stop -m immediate; the active stand-in's /health fails
        while its database is down): blfailoverd with promote.method pg_promote (1s, and fast_interval 200ms) and
        trigger_file, and repmgrd (monitor_interval_secs=1, reconnect_attempts=3, reconnect_interval=1, automatic
        failover); kill -> first write accepted by the standby, and first failed check -> first write.
  cost  2 minutes (--quick: 20 s) of healthy polling at interval 100ms: CPU per check pair, peak RSS, RSS growth.
  switchover  planned switchover, 10 runs alternating directions, a writer committing every 10 ms: write window,
        rows lost, time to a healthy pair (bench/switchover.py); Patroni (patronictl switchover) on its own
        etcd + two nodes; blfailoverd's `--switchover` on the lifecycle scenarios' pair (a/b on 25450/25451, sites
        config, the topology's sshd, nginx, stand-ins), through a running daemon whose site ssh masters are logged
        in, each run checked against the daemon's record, with each step's duration and the write window taken
        apart at the step boundaries; then 2 runs with no daemon (every ssh step logs in afresh).
  cluster  three monitors on a 3-member etcd (bench/cluster.py, the scenarios_cluster fixture): fault → nginx
        serves the standby with 1 monitor and with 3 (--cluster-runs each, alternating; the quorum may cost one
        fast_interval), the leader SIGKILLed then the active faulted at once (per --cluster-ttl), and each
        member's etcd traffic while healthy (requests/s, bytes/s from its /metrics). About 4 minutes.

Timestamps: the daemon runs with -v; its debug lines give each check's completion (CLOCK_REALTIME, usec) and each
tick's lateness against the fixed cadence; the state record gives each step's start (CLOCK_REALTIME, usec) and
duration. Peers' output lines are stamped by this process as they arrive (pipes, unbuffered writers). nginx is
polled every 10 ms (GET /whoami: the stand-ins answer with their name); writes by writepoll (bench/writepoll.c,
one libpq connection, one INSERT every 5 ms).

Prints a markdown table and writes it to bench/results/latest.md. Figures over target are marked **over**.
Never asserts: a run that breaks is reported (count of failed runs) and left out of the figures.
"""
import argparse
import contextlib
import datetime
import http.client
import json
import os
import platform
import random
import re
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
import switchover as SW  # noqa: E402
import cluster as CL  # noqa: E402

INTERVAL, TIMEOUT, THRESHOLD, FAST = 1.0, 1.0, 3, 0.2
COST_INTERVAL = 0.1
NGINX_POLL = 0.010
WRITE_POLL_MS = 5
STATE_ROOT = [None]             # --state-root
HANG_BOUND = 10.0               # how long the bash loop is given on a hang fault
BASH_HANG_RUNS = 3              # it never fails over: a few runs show it
STANDBY_CONNINFO = f"host={T.HOST} port={T.PORT_PG_STANDBY} user={T.PG_USER} dbname=postgres connect_timeout=2"
PRIMARY_CONNINFO = f"host={T.HOST} port={T.PORT_PG_PRIMARY} user={T.PG_USER} dbname=postgres connect_timeout=2"
WRITE_SQL = "insert into blf_check values ('bench')"
REPMGR = f"{T.PG_BIN}/repmgr"
REPMGRD = f"{T.PG_BIN}/repmgrd"

RE_CHECK = re.compile(r"check: (active|standby) \S+ done at (\d+) us \(realtime\): (.+?) after (\d+) us")
RE_TICK = re.compile(r"tick: due (\d+) us \(monotonic\), late by (\d+) us")
RE_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")
RE_REPMGR_FAIL = re.compile(r"unable to ping|unable to connect to upstream|connection to upstream .* lost|"
                            r"upstream node .* (not available|unreachable)", re.I)


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def log_time(line):
    """CLOCK_REALTIME seconds of a daemon log line (ms resolution), or None."""
    m = RE_STAMP.match(line)
    if not m:
        return None
    dt = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


# ------------------------------------------------------------------------------------------------ helpers


class Stamped:
    """Reads a child's output line by line in a thread and stamps each line with time.time() on arrival."""

    def __init__(self, stream, echo=None):
        self.lines = []
        self._lock = threading.Lock()
        self._echo = echo
        self._t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._t.start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            now = time.time()
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.lines.append((now, line))
            if self._echo:
                self._echo(line)
        stream.close()

    def first(self, pred, since=0.0):
        with self._lock:
            for t, line in self.lines:
                if t >= since and pred(line):
                    return t, line
        return None

    def wait(self, pred, timeout, since=0.0, what="a line"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hit = self.first(pred, since)
            if hit:
                return hit
            time.sleep(0.01)
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")

    def text(self):
        with self._lock:
            return "\n".join(line for _, line in self.lines)


class NginxPoller:
    """GET /whoami through nginx every 10 ms; remembers when it first answered with the standby's name."""

    def __init__(self, port=T.PORT_NGINX):
        self.port = port
        self.when = None
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set() and self.when is None:
            t0 = time.monotonic()
            c = http.client.HTTPConnection(T.HOST, self.port, timeout=1.0)
            try:
                c.request("GET", "/whoami", headers={"Connection": "close"})
                r = c.getresponse()
                if r.status == 200 and r.read().decode() == T.STANDBY_NAME:
                    self.when = time.time()
            except (OSError, http.client.HTTPException):
                pass
            finally:
                c.close()
            time.sleep(max(0.0, NGINX_POLL - (time.monotonic() - t0)))

    def wait(self, timeout):
        self._t.join(timeout)
        return self.when

    def stop(self):
        self._stop.set()
        self._t.join(2)


class WritePoller:
    """bench/writepoll against the standby: "ready", then "ok USEC" when the first INSERT commits."""

    def __init__(self, binary, conninfo=STANDBY_CONNINFO, timeout=120):
        self.proc = subprocess.Popen([binary, conninfo, str(WRITE_POLL_MS), str(timeout), WRITE_SQL],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.out = Stamped(self.proc.stdout)

    def wait_ready(self, timeout=15):
        self.out.wait(lambda s: s.startswith(("ready", "ok")), timeout, what="writepoll to reach the standby")
        if self.out.first(lambda s: s.startswith("ok")):
            raise T.TopologyError("the standby accepted a write before the fault (not in recovery?)")

    def wait_ok(self, timeout):
        """CLOCK_REALTIME seconds of the first committed write, or None."""
        with contextlib.suppress(TimeoutError):
            _, line = self.out.wait(lambda s: s.startswith(("ok", "timeout")), timeout, what="a write")
            if line.startswith("ok"):
                return int(line.split()[1]) / 1e6
        return None

    def stop(self):
        T.stop_popen(self.proc, signal.SIGTERM, 5)


def build_writepoll(workdir):
    out = os.path.join(workdir, "writepoll")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libpq"], capture_output=True, text=True,
                           check=True).stdout.split()
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", out, os.path.join(HERE, "writepoll.c"), *flags],
                   check=True)
    return out


def read_state(path):
    """{'started','finished' (s, realtime), 'outcome', 'steps': [(name, status, start_s, dur_s)]} or None."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return None
    st = {"steps": []}
    for line in text.splitlines():
        w = line.split(" ", 6)
        if w[0] in ("started", "finished"):
            st[w[0]] = int(w[1]) / 1e6
        elif w[0] == "outcome":
            st["outcome"] = w[1]
        elif w[0] == "step":
            st["steps"].append((w[1], w[2], int(w[3]) / 1e6, int(w[4]) / 1e6))
    return st


def daemon_checks(text, role="active"):
    """[(realtime s, status)] of the debug 'check: ... done at' lines for role."""
    return [(int(m.group(2)) / 1e6, m.group(3)) for m in RE_CHECK.finditer(text) if m.group(1) == role]


def daemon_ticks_late(text):
    return [int(m.group(2)) / 1e6 for m in RE_TICK.finditer(text)]


def sleep_phase(rng, interval):
    """A fault at a uniformly random phase of the check cadence."""
    time.sleep(0.3 + rng.uniform(0, interval))


# ------------------------------------------------------------------------------------------------ the tools


def blf_config(topo, scen, trigger, interval=INTERVAL, timeout=TIMEOUT, fast=None, method=None, database=False):
    cfg = topo.config(scen, trigger, interval=interval, timeout=timeout, failure_threshold=THRESHOLD)
    if fast:
        cfg["health"]["fast_interval"] = T.duration(fast)
    if database or method == "pg_promote":
        cfg["database"] = {"standby": STANDBY_CONNINFO, "connect_timeout": "1s"}
        cfg = {k: cfg[k] for k in ("state_dir", "health", "database", "active", "standby", "failover")}
    if method:
        cfg["failover"]["promote"] = {"method": method, **cfg["failover"]["promote"]}
    return cfg


class Blf:
    """blfailoverd under -v, its stderr in a log file."""

    def __init__(self, binary, topo, name, cfg, verbose=True):
        self.dir = topo.scenario_dir(name)
        state_dir = os.path.join(self.dir, "state")
        if STATE_ROOT[0]:               # --state-root: e.g. a tmpfs, to see what the state file's fsyncs cost
            state_dir = tempfile.mkdtemp(prefix="state-", dir=STATE_ROOT[0])
        cfg = dict(cfg, state_dir=state_dir)
        self.config = T.write_config(os.path.join(self.dir, "blfailoverd.yml"), cfg)
        self.state = os.path.join(state_dir, T.STATE_FILE)
        self.d = T.Daemon(binary, self.config, os.path.join(self.dir, "daemon.log"), args=["-v"] if verbose else [])
        self.ssh_master = cfg["failover"]["promote"].get("method", "trigger_file") == "trigger_file"

    def start(self):
        self.d.start()
        self.d.wait_log(T.LOG.ACTIVE_HEALTHY, 10)
        self.d.wait_log(T.LOG.STANDBY_HEALTHY, 10)
        if self.ssh_master:     # a daemon that has run a while: its ssh master is logged in (issue 11.6)
            self.d.wait_log("ssh master to 127.0.0.1: logged in", 10)
        return self

    @property
    def pid(self):
        return self.d.pid

    def stop(self):
        self.d.stop(10)


class BashLoop:
    """peers/bash-loop.sh with the runbook's logic against the topology; its stdout stamped line by line."""

    def __init__(self, topo, trigger, interval=INTERVAL):
        self.topo = topo
        ssh = T.shlex.join(topo.sshd.ssh_argv("")[:-1])
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "HOME": "/root",
            "ACTIVE_API": f"http://{T.ACTIVE_SERVER}", "STANDBY_API": f"http://{T.STANDBY_SERVER}",
            "FAILOVER_THRESHOLD": str(THRESHOLD), "CHECK_INTERVAL": f"{interval:g}",
            "SITE": topo.nginx.site, "ACTIVE_SERVER": T.ACTIVE_SERVER, "STANDBY_SERVER": T.STANDBY_SERVER,
            "NGINX": T.NGINX, "NGINX_ARGS": f"-p {topo.nginx.prefix} -c {topo.nginx.conf}",
            "SSH": ssh, "TRIGGER": trigger,
            "COMPOSE": f"{topo.recorder.wrapper} compose", "COMPOSE_FILE": T.STACK_ARGV[2],
        }
        self.env = env
        self.proc = None
        self.out = None

    def start(self):
        hits = self.topo.active.hits()
        self.proc = subprocess.Popen(["/bin/bash", os.path.join(HERE, "peers", "bash-loop.sh")], env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.out = Stamped(self.proc.stdout)
        self.topo.active.wait_health_hits(hits + 1, 10)
        return self

    def stop(self):
        if self.proc:
            T.stop_popen(self.proc, signal.SIGTERM, 5)


# ------------------------------------------------------------------------------------------------ API faults


def api_run_blf(ctx, topo, fault, fast):
    trigger = os.path.join(topo.scenario_dir("trig"), "triggers", "promote.trigger")
    topo.reset(trigger)
    wp = WritePoller(ctx.writepoll)
    blf = None
    nginx = None
    try:
        wp.wait_ready()
        blf = Blf(ctx.bin, topo, "blf", blf_config(topo, "", trigger, fast=fast)).start()
        sleep_phase(ctx.rng, INTERVAL)
        nginx = NginxPoller()
        topo.active.set_mode(fault)
        t_fault = time.time()
        blf.d.wait_log(T.LOG.SUCCEEDED, 30, fail_on=(T.LOG.FAILED_AT,))
        t_nginx = nginx.wait(10)
        t_write = wp.wait_ok(max(1.0, t_fault + 20 - time.time()))
        text = blf.d.text()
        st = read_state(blf.state)
        return blf_figures(text, st, t_fault, t_nginx, t_write)
    finally:
        if nginx:
            nginx.stop()
        if blf:
            blf.stop()
        wp.stop()
        topo.active.set_mode("ok")


def blf_figures(text, st, t_fault, t_nginx=None, t_write=None):
    steps = st["steps"]
    step0 = steps[0][2]
    checks = [(t, s) for t, s in daemon_checks(text) if t >= t_fault]
    failed = [t for t, s in checks if s != "ok"]
    deciding = [t for t, s in checks if s != "ok" and t <= step0]
    late = daemon_ticks_late(text)
    r = {
        "detect": step0 - t_fault,
        "overhead": (step0 - deciding[-1]) if deciding else None,
        "jitter": max(late) if late else None,
        "first_fail": failed[0] if failed else None,
        "steps": {name: dur for name, status, start, dur in steps},
        "seq_overhead": (st["finished"] - st["started"]) - sum(d for _, _, _, d in steps),
        # where the overhead goes: record start -> step 1, each step end -> next start, last end -> finish
        "gaps": [round(b - a, 6) for a, b in zip([st["started"]] + [s + d for _, _, s, d in steps],
                                                  [s for _, _, s, _ in steps] + [st["finished"]])],
        "nginx": (t_nginx - t_fault) if t_nginx else None,
        "write": (t_write - t_fault) if t_write else None,
    }
    promote = [s for s in steps if s[0] == "promote"]
    if promote and t_write:
        r["promote_to_write"] = t_write - (promote[0][2] + promote[0][3])
    return r


def api_run_bash(ctx, topo, fault):
    trigger = os.path.join(topo.scenario_dir("trig"), "triggers", "promote.trigger")
    topo.reset(trigger)
    wp = WritePoller(ctx.writepoll)
    loop = None
    nginx = None
    try:
        wp.wait_ready()
        loop = BashLoop(topo, trigger).start()
        sleep_phase(ctx.rng, INTERVAL)
        nginx = NginxPoller()
        topo.active.set_mode(fault)
        t_fault = time.time()
        bound = HANG_BOUND if fault == "hang" else 30
        try:
            loop.out.wait(lambda s: s == "Failover completed", bound, since=t_fault, what="the loop to fail over")
        except TimeoutError:
            if fault != "hang":
                raise
            return {"never": True, "bound": bound, "fails_counted": sum(
                1 for _, s in loop.out.lines if s.startswith("Health check failed"))}
        t_start = loop.out.first(lambda s: s.startswith("Initiating failover"), since=t_fault)[0]
        t_nginx = nginx.wait(10)
        t_write = wp.wait_ok(max(1.0, t_fault + 20 - time.time()))
        return {"detect": t_start - t_fault, "nginx": (t_nginx - t_fault) if t_nginx else None,
                "write": (t_write - t_fault) if t_write else None, "never": False}
    finally:
        if nginx:
            nginx.stop()
        topo.active.set_mode("ok")      # releases a hung curl
        if loop:
            loop.stop()
        wp.stop()


API_VARIANTS = [
    # key, label, kind, fault, fast
    ("blf-500", "blfailoverd 1s", "blf", "500", None),
    ("blf-fast-500", "blfailoverd 1s + fast 200ms", "blf", "500", FAST),
    ("bash-500", "bash loop 1s", "bash", "500", None),
    ("blf-hang", "blfailoverd 1s", "blf", "hang", None),
    ("blf-fast-hang", "blfailoverd 1s + fast 200ms", "blf", "hang", FAST),
    ("bash-hang", "bash loop 1s", "bash", "hang", None),
]


def section_api(ctx, results):
    with T.Topology(log=say) as topo:
        for i in range(ctx.runs):
            for key, label, kind, fault, fast in API_VARIANTS:
                if key == "bash-hang" and i >= min(ctx.runs, BASH_HANG_RUNS):
                    continue
                run_one(ctx, results, key, lambda: api_run_blf(ctx, topo, fault, fast) if kind == "blf"
                        else api_run_bash(ctx, topo, fault), i)


def run_one(ctx, results, key, fn, i):
    t0 = time.monotonic()
    try:
        r = fn()
        results.setdefault(key, []).append(r)
        brief = ", ".join(f"{k} {v:.3f}" for k, v in r.items() if isinstance(v, float) and k != "first_fail")
        say(f"  {key} run {i + 1}: {brief or r} ({time.monotonic() - t0:.1f}s)")
    except (Exception, TimeoutError) as e:      # noqa: BLE001 -- a broken run is reported, not fatal
        if isinstance(e, T.Interrupted):
            raise
        results.setdefault(key + ":failed", []).append(str(e))
        say(f"  {key} run {i + 1}: FAILED: {e}")


# ------------------------------------------------------------------------------------------------ DB fault


class Repmgr:
    """repmgr metadata on the primary, node 2 = the standby, and repmgrd on the standby node."""

    def __init__(self, topo):
        self.topo = topo
        self.dir = os.path.join(topo.pg.dir, "repmgr")
        T.makedirs_owned(self.dir, T.PG_USER, 0o755)
        self.conf = {1: os.path.join(self.dir, "node1.conf"), 2: os.path.join(self.dir, "node2.conf")}
        self.proc = None
        self.out = None
        for node, port, data in ((1, T.PORT_PG_PRIMARY, topo.pg.data["primary"]),
                                 (2, T.PORT_PG_STANDBY, topo.pg.data["standby"])):
            conf = self.conf[node]
            T.write_file(conf, "\n".join([
                f"node_id={node}", f"node_name='node{node}'",
                f"conninfo='host={T.HOST} port={port} user={T.PG_USER} dbname=postgres connect_timeout=2'",
                f"data_directory='{data}'", f"pg_bindir='{T.PG_BIN}'",
                "failover='automatic'",
                f"promote_command='{REPMGR} standby promote -f {conf}'",
                f"follow_command='{REPMGR} standby follow -f {conf} --upstream-node-id=%n'",
                "monitor_interval_secs=1", "reconnect_attempts=3", "reconnect_interval=1",
                f"repmgrd_pid_file='{self.dir}/repmgrd{node}.pid'", "log_level='INFO'",
                "use_replication_slots=false", ""]), owner=T.PG_USER, mode=0o644)

    def cli(self, node, *args):
        return T.run([T.RUNUSER, "-u", T.PG_USER, "--", REPMGR, "-f", self.conf[node], *args], timeout=60,
                     cwd=self.dir, what=f"repmgr {' '.join(args)}")

    def setup(self):
        """shared_preload_libraries = repmgr on the primary (restart), the extension, node 1 registered."""
        pg = self.topo.pg
        pg._append_conf(pg.data["primary"], ["shared_preload_libraries = 'repmgr'"])
        pg._stop_node("primary")
        pg._start_node("primary")
        self.cli(1, "primary", "register", "--force")

    def register_standby(self):
        self.cli(2, "standby", "register", "--force")

    def start(self):
        self.proc = subprocess.Popen([REPMGRD, "-f", self.conf[2], "--daemonize=false"], cwd=self.dir,
                                     user=T.PG_USER, group=T.PG_USER, extra_groups=[],
                                     env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/var/lib/postgresql"},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.out = Stamped(self.proc.stdout)
        self.out.wait(lambda s: "monitoring connection to upstream node" in s or "monitoring upstream" in s, 20,
                      what="repmgrd to monitor the primary")
        return self

    def stop(self):
        if self.proc:
            T.stop_popen(self.proc, signal.SIGTERM, 10)
            self.proc = None


def kill_primary(topo):
    pg = topo.pg
    pg._pg("pg_ctl", "stop", "-D", pg.data["primary"], "-m", "immediate", "-W", "-s", check=False)
    t = time.time()
    T.wait_until(lambda: not T.port_listening(T.PORT_PG_PRIMARY), 10, "the primary to go away", interval=0.005)
    return t


def db_prepare(ctx, topo, trigger):
    pg = topo.pg
    if not pg.running("primary"):
        pg._start_node("primary")
    topo.reset(trigger)
    topo.active.set_db_check(T.PORT_PG_PRIMARY)


def db_run(ctx, topo, repmgr, variant):
    kind, fast, method = variant
    trigger = os.path.join(topo.scenario_dir("trig"), "triggers", "promote.trigger")
    db_prepare(ctx, topo, trigger)
    tool = None
    wp = None
    try:
        if kind == "repmgrd":
            repmgr.register_standby()
        wp = WritePoller(ctx.writepoll)
        wp.wait_ready()
        if kind == "repmgrd":
            tool = repmgr.start()
        else:
            tool = Blf(ctx.bin, topo, "blf", blf_config(topo, "", trigger, fast=fast, method=method,
                                                        database=True)).start()
        sleep_phase(ctx.rng, INTERVAL)
        t_kill = kill_primary(topo)
        t_write = wp.wait_ok(30)
        if t_write is None:
            raise TimeoutError("the standby accepted no write within 30s of the kill")
        if kind == "repmgrd":
            hit = tool.out.first(lambda s: RE_REPMGR_FAIL.search(s) is not None, since=t_kill - 0.01)
            first_fail = hit[0] if hit else None
            r = {"first_fail_line": hit[1] if hit else None}
            if not hit:
                r["log"] = tool.out.text()[-2000:]
        else:
            tool.d.wait_log(T.LOG.SUCCEEDED, 30, fail_on=(T.LOG.FAILED_AT,))
            r = blf_figures(tool.d.text(), read_state(tool.state), t_kill)
            first_fail = r["first_fail"]
        r.update({"kill_write": t_write - t_kill,
                  "fail_write": (t_write - first_fail) if first_fail else None})
        return r
    finally:
        if tool:
            tool.stop()
        if wp:
            wp.stop()
        topo.active.set_db_check(None)


DB_VARIANTS = [
    ("db-blf-pgp", "blfailoverd pg_promote 1s", ("blf", None, "pg_promote")),
    ("db-blf-pgp-fast", "blfailoverd pg_promote 1s + fast 200ms", ("blf", FAST, "pg_promote")),
    ("db-blf-trig", "blfailoverd trigger_file 1s", ("blf", None, "trigger_file")),
    ("db-repmgrd", "repmgrd 1s x 3", ("repmgrd", None, None)),
]


def section_db(ctx, results):
    with T.Topology(log=say) as topo:
        repmgr = None
        try:
            repmgr = Repmgr(topo)
            repmgr.setup()
        except (T.TopologyError, OSError, subprocess.SubprocessError) as e:
            results.setdefault("db-repmgrd:failed", []).append(f"setup: {e}")
            say(f"  repmgr setup failed: {e}")
            repmgr = None
        for i in range(ctx.runs):
            for key, label, variant in DB_VARIANTS:
                if variant[0] == "repmgrd" and repmgr is None:
                    continue
                run_one(ctx, results, key, lambda: db_run(ctx, topo, repmgr, variant), i)


# ------------------------------------------------------------------------------------------------ running cost


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def section_cost(ctx, results):
    seconds = 20 if ctx.quick else 120
    with T.Topology(log=say) as topo:
        trigger = os.path.join(topo.scenario_dir("trig"), "triggers", "promote.trigger")
        topo.reset(trigger)
        blf = Blf(ctx.bin, topo, "cost", blf_config(topo, "", trigger, interval=COST_INTERVAL,
                                                     timeout=COST_INTERVAL), verbose=False).start()
        try:
            time.sleep(3)               # warm-up: connections open, allocator settled
            pid = blf.pid
            cpu0, a0, s0 = proc_cpu_s(pid), topo.active.hits(), topo.standby.hits()
            rss = [proc_status_kib(pid, "VmRSS")]
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                time.sleep(1)
                rss.append(proc_status_kib(pid, "VmRSS"))
            cpu1, a1, s1 = proc_cpu_s(pid), topo.active.hits(), topo.standby.hits()
            hwm = proc_status_kib(pid, "VmHWM")
            anon, file_ = proc_status_kib(pid, "RssAnon"), proc_status_kib(pid, "RssFile")
            pss = None
            with contextlib.suppress(OSError, ValueError):
                pss = next(int(line.split()[1]) for line in open(f"/proc/{pid}/smaps_rollup")
                           if line.startswith("Pss:"))
            pairs = min(a1 - a0, s1 - s0)
            q = max(1, len(rss) // 4)
            results["cost"] = [{
                "seconds": seconds, "pairs": pairs, "cpu_ms_per_pair": (cpu1 - cpu0) * 1000 / max(1, pairs),
                "cpu_ms": (cpu1 - cpu0) * 1000, "hwm_kib": hwm, "rss_first_kib": rss[0], "rss_last_kib": rss[-1],
                "rss_growth_kib": statistics.mean(rss[-q:]) - statistics.mean(rss[:q]),
                "expected_pairs": seconds / COST_INTERVAL, "rss_anon_kib": anon, "rss_file_kib": file_,
                "pss_kib": pss,
            }]
            say(f"  cost: {results['cost'][0]}")
        finally:
            blf.stop()


# ------------------------------------------------------------------------------------------------ switchover


SW_COLD_RUNS = 2                # the same command with no daemon: every {ssh} step logs in afresh (one per direction)
SW_HEALTH = {"interval": 0.5, "timeout": 0.3, "failure_threshold": 3}     # lifecycle_config's, the scenarios' own
SW_SSH_MASTERS = 2              # one per site (sshmux_new_site); both db hosts are the topology's sshd


def _integration(name):
    """tests/integration/NAME.py as a module (run.py by path: its name would clash with this file's)."""
    import importlib.util
    path = os.path.join(ROOT, "tests", "integration", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"it_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parse_record(path):
    """STATE_DIR/state (format 2) as {key: first value} plus 'steps': [(name, status, start_s, dur_s)], or None."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return None
    rec = {"steps": []}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == "step":
            w = v.split(" ", 5)
            rec["steps"].append((w[0], w[1], int(w[2]) / 1e6, int(w[3]) / 1e6))
        elif k not in ("fact", "end") and k not in rec:
            rec[k] = v
    return rec


class BlfSwitchover:
    """blfailoverd's side of the switchover bench, built from the lifecycle scenarios' own helpers: a LifecyclePair
    (a/b, PostgreSQL 15, wal_log_hints) in a scenario dir of the topology, lifecycle_config() (the sites form: both
    db hosts on the topology's sshd, stacks recorded by the docker stand-in, pg_promote) and lifecycle_daemon().

    pair(warm=True): the daemon runs, both site ssh masters logged in before the first run; the command goes through
    its control socket. Each run is then checked against the daemon's own account (record: a switchover of this
    run, succeeded, serving the new site, latch none; the daemon still running and it, not the command line, ran
    the switchover) and its step durations are taken from the record. pair(warm=False): the daemon stopped first
    (it must exit 0 on SIGTERM), the command runs the switchover itself, ssh logging in at every {ssh} step."""

    def __init__(self, ctx, topo):
        self.IT, self.SL = _integration("run"), _integration("scenarios_lifecycle")
        self.bin = ctx.bin
        self.ictx = self.IT.Ctx("bench-switchover", topo, ctx.bin)
        topo.reset(self.ictx.trigger)
        self.lc = T.LifecyclePair(self.ictx.dir, topo.sshd)
        self.d = None
        self.problems = []

    def __enter__(self):
        self.lc.__enter__()
        try:
            self.cfg = self.SL.lifecycle_config(self.ictx, self.lc, **SW_HEALTH)
            self.ictx.write_config(self.cfg)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.stop_daemon()
        finally:
            self.lc.__exit__(*exc)

    # -- the daemon
    def start_daemon(self):
        rec = parse_record(self.ictx.state_file) or {}
        self.d = self.SL.lifecycle_daemon(self.ictx, self.cfg, serving=rec.get("serving", "a"))
        T.wait_until(lambda: self.d.count_log("ssh master to ") and
                     self.d.text().count(": logged in after") >= SW_SSH_MASTERS, 20,
                     f"the daemon's {SW_SSH_MASTERS} site ssh masters to log in", interval=0.05)
        say(f"  blfailoverd daemon pid {self.d.pid}: " + "; ".join(
            line.split("Z ", 1)[-1] for line in self.d.text().splitlines() if ": logged in after" in line))
        return self.d

    def stop_daemon(self):
        if self.d is None:
            return
        problems = self.ictx.teardown()     # SIGTERM; a crash or a non-zero exit is a problem to report
        self.problems += [f"daemon {p}" for p in problems]
        self.d = None

    # -- the hooks measure_run calls
    def ready(self, old, new):
        if self.d is not None and not self.d.running():
            raise T.DaemonExited(f"blfailoverd daemon exited ({T.describe_status(self.d.proc.returncode)}); "
                                 f"log {self.d.log_path}: {T.tail(self.d.log_path, 5)}")
        rec = parse_record(self.ictx.state_file)
        if rec and (rec.get("serving"), rec.get("latch")) != (old, "none"):
            raise T.TopologyError(f"blfailoverd's record: serving {rec.get('serving')}, latch {rec.get('latch')}; "
                                  f"expected {old}, none")
        self.mark = self.d.mark() if self.d else None

    def after(self, old, new, t_cmd, fig):
        rec = parse_record(self.ictx.state_file)
        if rec is None:
            raise T.TopologyError(f"blfailoverd: no record at {self.ictx.state_file} after the switchover")
        started = int(rec.get("op_started", "0")) / 1e6
        got = (rec.get("op"), rec.get("op_outcome"), rec.get("serving"), rec.get("latch"))
        if got != ("switchover", "succeeded", new, "none") or started < t_cmd:
            bad = [f"{n} {st}" for n, st, _, _ in rec["steps"] if st != "ok"]
            raise T.TopologyError(f"blfailoverd's record after {old}→{new}: op {got[0]}, outcome {got[1]}, serving "
                                  f"{got[2]}, latch {got[3]}, started {started - t_cmd:+.3f} s from the command "
                                  f"(failed step {rec.get('op_failed_step')}; not ok: {bad})")
        if self.d is not None:
            if "switchover: step promote" not in self.d.text()[self.mark:]:
                raise T.TopologyError("the daemon logged no promote step of this switchover: the command line ran "
                                      "it itself (no daemon listening?)")
            self.ready(new, old)            # the daemon is still running and has the new roles
        return {"steps": {n: dur for n, st, _, dur in rec["steps"]},
                "op_wall": (int(rec["op_finished"]) - int(rec["op_started"])) / 1e6,
                "window_parts": window_parts(rec["steps"], t_cmd + fig["cmd_to_window"], fig["window"])}

    def pair(self, warm=True):
        so = self.cfg["switchover"]
        h = self.cfg["health"]
        mode = (f"daemon running, its {SW_SSH_MASTERS} site ssh masters logged in; the command through its "
                "control socket" if warm else "no daemon: the command runs the switchover itself, every {ssh} step "
                "logs in afresh")
        settings = (f"blfailoverd {blf_version(self.bin)}, sites form (tests' lifecycle_config): {mode}; "
                    f"promote pg_promote; switchover max_lag {so['max_lag']}, catch_up_timeout "
                    f"{so['catch_up_timeout']}, checkpoint {so.get('checkpoint', 'true (default)')}; health interval "
                    f"{h['interval']}, timeout {h['timeout']}; both db hosts over ssh to 127.0.0.1; PostgreSQL 15 "
                    "wal_log_hints on, fsync off, synchronous_commit on, no replication slot; "
                    "`blfailoverd -c CFG --switchover`")
        return SW.Pair("blfailoverd" if warm else "blfailoverd, no daemon", dict(self.lc.ports),
                       [self.bin, "-c", self.ictx.config_path, *T.ARGS_SWITCHOVER], settings, ready=self.ready,
                       env=T.daemon_env(), after=self.after)


def window_parts(steps, last_old, window):
    """The write window [last ack by the old primary, first ack by the new] cut at the record's step boundaries
    (both CLOCK_REALTIME): the parts add up to the window. None when the steps are not all there."""
    at = {n: (start, dur) for n, _, start, dur in steps}
    if not all(n in at for n in ("stop_old_primary", "controldata", "catch_up", "promote")):
        return None
    stop_start, stop_dur = at["stop_old_primary"]
    promote_end = at["promote"][0] + at["promote"][1]
    parts = {"old_acks_into_stop": last_old - stop_start, "stop_rest": stop_start + stop_dur - last_old,
             "controldata": at["controldata"][1], "catch_up": at["catch_up"][1], "promote": at["promote"][1],
             "promote_to_ack": last_old + window - promote_end}
    # the record's saves between steps (fsyncs) fall in no step: a part of their own, so the sum is the window
    parts["gaps"] = window - sum(parts[k] for k in ("stop_rest", "controldata", "catch_up", "promote",
                                                      "promote_to_ack"))
    return parts


def blf_version(binary):
    with contextlib.suppress(OSError, subprocess.SubprocessError, IndexError):
        return subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout.split()[-1]
    return "?"


def section_switchover(ctx, results):
    writer = SW.find_writer(os.path.dirname(ctx.bin))
    SW.measure_patroni(ctx.runs, writer, results, say)
    measure_blf_switchover(ctx, results, writer)


def measure_blf_switchover(ctx, results, writer):
    """ctx.runs switchovers through the daemon (sw-blf), then SW_COLD_RUNS without it (sw-blf-cold)."""
    try:
        with T.Topology(log=say) as topo, BlfSwitchover(ctx, topo) as blf:
            blf.start_daemon()
            SW.measure_pair(blf.pair(warm=True), ctx.runs, writer, results, "sw-blf", say)
            blf.stop_daemon()
            SW.measure_pair(blf.pair(warm=False), SW_COLD_RUNS, writer, results, "sw-blf-cold", say)
            if blf.problems:
                results["sw-blf:problems"] = blf.problems
    except (T.TopologyError, OSError, subprocess.SubprocessError, TimeoutError, AssertionError) as e:
        results.setdefault("sw-blf:failed", []).append(f"setup: {e}")
        say(f"  blfailoverd switchover setup failed: {e}")


def section_cluster(ctx, results):
    CL.measure(ctx.bin, results, NginxPoller, runs=ctx.cluster_runs, ttls=ctx.cluster_ttls, seed=ctx.seed, log=say)


def section_cluster_table(t, results):
    t.h("7. Several monitors (etcd): the quorum's cost, a killed leader, etcd traffic (same run)")
    t.out += CL.table_lines(results)


def section_switchover_table(t, results):
    t.h("6. Planned switchover: writer commits every 10 ms; blfailoverd next to Patroni (same run, alternating "
        "directions)")
    t.out += SW.table_lines(results)


# ------------------------------------------------------------------------------------------------ the table


def stats(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return v[0], statistics.median(v), v[-1], len(v)


def fmt_s(x):
    return f"{x:.3f} s"


def fmt_ms(x):
    return f"{x * 1000:.1f} ms"


def mark(text, over):
    return f"**{text} over**" if over else text


class Table:
    def __init__(self):
        self.out = []

    def h(self, text):
        self.out += ["", f"### {text}", ""]

    def head(self, *cols):
        self.out.append("| " + " | ".join(cols) + " |")
        self.out.append("|" + "|".join(" --- " for _ in cols) + "|")

    def row(self, *cells):
        self.out.append("| " + " | ".join(str(c) for c in cells) + " |")

    def note(self, text):
        self.out += ["", text]

    def text(self):
        return "\n".join(self.out).strip() + "\n"


def stat_row(t, figure, tool, values, fmt=fmt_s, target=None, limit=None, failed=0):
    s = stats(values)
    fails = f" ({failed} failed)" if failed else ""
    if not s:
        t.row(figure, tool, f"0{fails}", "–", "–", "–", target or "")
        return None
    lo, med, hi, n = s
    t.row(figure, tool, f"{n}{fails}", fmt(lo), mark(fmt(med), limit is not None and med > limit), fmt(hi),
          target or "")
    return med


def ratio_row(t, figure, a, b, limit=None, target=""):
    if a is None or b is None or b == 0:
        t.row(figure, "–", target)
        return
    r = a / b
    t.row(figure, mark(f"{r:.2f}", limit is not None and r > limit), target)


def col(results, key, field):
    return [r.get(field) for r in results.get(key, []) if not r.get("never")]


def nfailed(results, key):
    return len(results.get(key + ":failed", []))


def render(ctx, results):
    t = Table()
    t.out.append(f"## blfailoverd benchmark — {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    t.note(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}, Linux {platform.release()}; loopback topology "
           f"(PostgreSQL 15 primary + streaming standby, nginx, sshd, Python API stand-ins). "
           f"interval {INTERVAL:g}s, failure_threshold {THRESHOLD}, timeout {TIMEOUT:g}s; "
           f"{ctx.runs} runs per figure unless n says otherwise; faults at a random phase of the check cadence.")
    api = any(k in results for k, *_ in API_VARIANTS)
    if api:
        section_api_table(t, results)
    if any(k in results or k + ":failed" in results for k, *_ in DB_VARIANTS):
        section_db_table(t, results)
    if "cost" in results:
        section_cost_table(t, results)
    if any(k.startswith("sw-") for k in results):
        section_switchover_table(t, results)
    if any(k.startswith("cl") for k in results):
        section_cluster_table(t, results)
    t.h("Notes")
    t.out += [
        "- Detection: fault injected (stand-in mode set) → start of the failover's first step (state record, µs). "
        "Overhead: that start − completion of the check that reached the threshold (daemon -v debug line, µs). "
        "Tick jitter: how late each tick fired against its fixed-cadence due time (-v debug line).",
        "- Execution: step durations and the sequence's start/finish from the state record; the daemon's overhead "
        "(wall − Σ steps) is mostly the state record's atomic saves, one at each step boundary (a step's result together with the next step's start), each with two "
        "fsyncs (file and directory).",
        "- trigger_file: PostgreSQL 15 looks for promote_trigger_file when WAL arrives or every 5 s otherwise, so "
        "“→ write” with a trigger file includes up to 5 s of that poll (no WAL arrives in these runs). pg_promote "
        "signals the standby at once (~10 ms).",
        "- bash loop: bench/peers/bash-loop.sh, the runbook's loop (curl -f -s without a timeout, counter, sed, "
        "nginx -s reload, ssh touch, compose); cadence `sleep 1` + curl. repmgrd 5.3 on the standby node: "
        "monitor_interval_secs=1, reconnect_attempts=3, reconnect_interval=1, failover=automatic, "
        "promote_command `repmgr standby promote` (pg_promote). Its first failed check is its first "
        "“unable to ping” line.",
        "- Database fault: the active stand-in's /health answers 500 while its database (the primary's port) "
        "refuses connections, like the runbook's /health/database.",
    ]
    return t.text()


def section_api_table(t, results):
    med = table_detection(t, results)
    table_execution(t, results)
    nginx, write = table_end_to_end(t, results)
    table_api_ratios(t, med, nginx, write)


def table_detection(t, results):
    t.h("1. Detection: fault → the failover's first step (bash loop: its \"Initiating failover\" line)")
    t.head("figure", "tool", "n", "min", "median", "max", "target")
    med = {}
    for key, label, kind, fault, fast in API_VARIANTS:
        if key == "bash-hang":
            continue
        med[key] = stat_row(t, f"{fault} fault → first step", label, col(results, key, "detect"),
                            failed=nfailed(results, key))
    for key, label, kind, fault, fast in API_VARIANTS:
        if kind == "blf":
            stat_row(t, f"overhead: first step − deciding check ({fault})", label, col(results, key, "overhead"),
                     fmt_ms, "≤ 5 ms", 0.005)
    jit = [x for key, _, kind, *_ in API_VARIANTS if kind == "blf" for x in col(results, key, "jitter")]
    stat_row(t, "tick jitter vs fixed cadence (worst tick of each run)", "blfailoverd, all runs", jit, fmt_ms,
             "≤ 10 ms", 0.010)
    return med


def table_execution(t, results):
    t.h("2. Execution: each step (state record), trigger_file method, all blfailoverd API-fault runs")
    t.head("figure", "tool", "n", "min", "median", "max", "target")
    runs = [r for key, _, kind, *_ in API_VARIANTS if kind == "blf" for r in results.get(key, [])]
    for name in T.STEPS + ("verify",):
        stat_row(t, f"step {name}", "blfailoverd", [r["steps"].get(name) for r in runs], fmt_ms)
    stat_row(t, "promote step end → standby accepts a write (PG 15 trigger poll)", "PostgreSQL",
             [r.get("promote_to_write") for r in runs], fmt_s)
    stat_row(t, "daemon overhead: sequence wall time − Σ steps", "blfailoverd", [r["seq_overhead"] for r in runs],
             fmt_ms, "≤ 10 ms", 0.010)
    pgp = [r for key in ("db-blf-pgp", "db-blf-pgp-fast") for r in results.get(key, [])]
    if pgp:
        for name in ("promote", "verify"):
            stat_row(t, f"step {name} (pg_promote, database fault)", "blfailoverd",
                     [r["steps"].get(name) for r in pgp], fmt_ms)
        stat_row(t, "daemon overhead (pg_promote runs)", "blfailoverd", [r["seq_overhead"] for r in pgp], fmt_ms,
                 "≤ 10 ms", 0.010)


def table_end_to_end(t, results):
    t.h("3. End to end (API faults)")
    t.head("figure", "tool", "n", "min", "median", "max", "target")
    nginx, write = {}, {}
    for key, label, kind, fault, fast in API_VARIANTS:
        target, limit = "", None
        if key == "blf-500":
            target = "≤ bash loop"
        elif key == "blf-fast-500":
            target, limit = "≤ 1.6 s", 1.6
        elif kind == "blf" and fault == "hang":
            target, limit = "≤ 4.0 s", 4.0
        if key == "bash-hang":
            hang = results.get(key, [])
            never = sum(1 for r in hang if r.get("never"))
            t.row("hang fault → nginx serves the standby", label, len(hang), "–",
                  f"never ({never}/{len(hang)} runs: no failover within {HANG_BOUND:g} s)", "–", "")
            continue
        nginx[key] = stat_row(t, f"{fault} fault → nginx serves the standby", label, col(results, key, "nginx"),
                              target=target, limit=limit)
    for key, label, kind, fault, fast in API_VARIANTS:
        if key != "bash-hang":
            write[key] = stat_row(t, f"{fault} fault → standby accepts a write (trigger file)", label,
                                  col(results, key, "write"))
    return nginx, write


def table_api_ratios(t, med, nginx, write):
    t.h("4a. Peers, API faults: ratio blfailoverd / bash loop (medians, same run)")
    t.head("figure", "ratio", "target")
    ratio_row(t, "500 fault → first step (1s)", med.get("blf-500"), med.get("bash-500"))
    ratio_row(t, "500 fault → nginx serves the standby (1s)", nginx.get("blf-500"), nginx.get("bash-500"), 1.0,
              "≤ 1.00")
    ratio_row(t, "500 fault → nginx serves the standby (fast 200ms)", nginx.get("blf-fast-500"),
              nginx.get("bash-500"))
    ratio_row(t, "500 fault → standby accepts a write (1s)", write.get("blf-500"), write.get("bash-500"))
    t.row("hang fault → nginx serves the standby", "bash loop never fails over (curl has no timeout)", "")


def section_db_table(t, results):
    t.h("4b. Peers, database fault (primary: pg_ctl stop -m immediate): → first write accepted by the standby")
    t.head("figure", "tool", "n", "min", "median", "max", "target")
    fail_w = {}
    for key, label, variant in DB_VARIANTS:
        target, limit = "", None
        if key == "db-blf-pgp-fast":
            target, limit = "≤ 0.5 s", 0.5
        elif key == "db-blf-pgp":
            target = "≤ repmgrd"
        fail_w[key] = stat_row(t, "first failed check → write", label, col(results, key, "fail_write"),
                               target=target, limit=limit, failed=nfailed(results, key))
    for key, label, variant in DB_VARIANTS:
        stat_row(t, "kill → write", label, col(results, key, "kill_write"))
    for key, label, variant in DB_VARIANTS:
        if variant[0] == "blf":
            stat_row(t, "kill → first step", label, col(results, key, "detect"))
    t.note("| figure | ratio | target |\n| --- | --- | --- |")
    ratio_row(t, "first failed check → write: blfailoverd pg_promote 1s / repmgrd", fail_w.get("db-blf-pgp"),
              fail_w.get("db-repmgrd"), 1.0, "≤ 1.00")
    ratio_row(t, "first failed check → write: blfailoverd trigger_file 1s / repmgrd", fail_w.get("db-blf-trig"),
              fail_w.get("db-repmgrd"))
    for err in results.get("db-repmgrd:failed", [])[:3]:
        t.note(f"repmgrd: {err.splitlines()[0][:300]}")


def section_cost_table(t, results):
    c = results["cost"][0]
    t.h(f"5. Running cost: {c['seconds']} s of healthy polling at interval 100ms (no -v)")
    t.head("figure", "value", "target")
    t.row("check pairs (active + standby)", f"{c['pairs']} (cadence: {c['expected_pairs']:.0f})", "")
    t.row("CPU (utime+stime) per check pair", mark(f"{c['cpu_ms_per_pair']:.3f} ms", c["cpu_ms_per_pair"] > 0.5),
          "≤ 0.5 ms")
    t.row("peak RSS (VmHWM)", mark(f"{c['hwm_kib'] / 1024:.1f} MiB", c["hwm_kib"] > 8 * 1024), "≤ 8 MiB")
    t.row("RSS at the end: anonymous / file-backed (shared libraries) / PSS",
          f"{c['rss_anon_kib'] / 1024:.1f} / {c['rss_file_kib'] / 1024:.1f} / "
          f"{(c['pss_kib'] or 0) / 1024:.1f} MiB", "")
    t.row("RSS growth (last quarter − first quarter, mean)",
          mark(f"{c['rss_growth_kib']:+.0f} KiB ({c['rss_first_kib']} → {c['rss_last_kib']} KiB)",
               c["rss_growth_kib"] > 64), "flat (≤ 64 KiB)")


def cpu_model():
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


# ------------------------------------------------------------------------------------------------ main


class Ctx:
    pass


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "blfailoverd"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="running cost over 20 s instead of 2 minutes")
    ap.add_argument("--only", default="api,db,cost,switchover,cluster",
                    help="comma-separated sections: api, db, cost, switchover, cluster")
    ap.add_argument("--cluster-runs", type=int, default=CL.RUNS,
                    help="cluster: fault runs with 1 and with 3 monitors, each (default $BLF_BENCH_CLUSTER_RUNS or 5)")
    ap.add_argument("--cluster-ttl", default=",".join(f"{x:g}" for x in CL.TTLS),
                    help="cluster: lease_ttl seconds of the leader-killed runs, comma-separated, e.g. 3,10 "
                         "(default $BLF_BENCH_CLUSTER_TTLS or 3,10)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--state-root", help="put the daemon's state_dir under this directory (diagnosis: tmpfs)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.md"))
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        say("bench: must run as root (the topology starts PostgreSQL, nginx and sshd)")
        return 2
    T.install_signal_handlers()
    ctx = Ctx()
    ctx.bin, ctx.runs, ctx.quick = os.path.abspath(a.bin), a.runs, a.quick
    ctx.rng = random.Random(a.seed)
    ctx.seed = a.seed
    ctx.cluster_runs = a.cluster_runs
    ctx.cluster_ttls = tuple(float(x) for x in a.cluster_ttl.split(",") if x)
    STATE_ROOT[0] = a.state_root
    work = tempfile.mkdtemp(prefix="blf-bench-")
    results = {}
    try:
        ctx.writepoll = build_writepoll(work)
        sections = {"api": section_api, "db": section_db, "cost": section_cost, "switchover": section_switchover,
                    "cluster": section_cluster}
        for name in a.only.split(","):
            say(f"== bench: {name}")
            sections[name.strip()](ctx, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = render(ctx, results)
    with open(os.path.splitext(a.out)[0] + ".json", "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, default=str)
    print(table)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
