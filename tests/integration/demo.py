#!/usr/bin/python3
"""demo: `make demo` -- watch blfailoverd carry a BlackLake pair through its life, end to end, on this machine.

    demo.py --bin PATH [--keep] [--verbose]

Brings up a small copy of the operators' topology on 127.0.0.1 (see topology.py for the ports): nginx in front of
two stand-in APIs, a PostgreSQL 15 pair a/b (a primary, b streaming from it), an sshd playing both database hosts,
and a recording stand-in for docker. blfailoverd runs on the sites form of the config, its log streamed to the
terminal (the lines that tell the story; --verbose: all of them). Then, one act at a time:

  1. the pair: a serves, b streams from it;
  2. a dies (its API answers 500, its database is killed) after committing rows b never got: automatic failover
     to b, the record latched;
  3. `blfailoverd --rejoin`: a is rewound and streams from b; the rejoin reports the discarded commits;
  4. failback, `blfailoverd --switchover`, under a writer committing a row every 10 ms: a serves again, no
     committed row lost, the write window measured;
  5. the final `--status`, a one-line summary, and everything torn down (also on Ctrl-C or a failure).

Needs root (PostgreSQL runs via runuser, sshd needs root). Takes the machine-wide topology lock like the tests.
"""
import argparse
import contextlib
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import topology as T  # noqa: E402

INTERVAL, TIMEOUT, THRESHOLD = 0.5, 0.3, 3
K_DIVERGED = 5              # rows a commits after b was cut off: the failover loses them, the rejoin reports them
WRITER_MS = 10
TTY = sys.stdout.isatty()
BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if TTY else ("", "", "")

# The sites: a is the topology's "active" stand-in and nginx server, b the "standby" one.
API = {"a": (T.ACTIVE_NAME, T.ACTIVE_SERVER), "b": (T.STANDBY_NAME, T.STANDBY_SERVER)}

# The daemon's log lines worth showing (the rest: --verbose, or daemon.log under the run directory): every notice,
# warning and error, each health transition, and one line per step result (not its output, not skipped steps).
LEVEL_RE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) (\w+): ")
STEP_RESULT = re.compile(r": step \w+ (ok|failed) \(")
STEP_WIDTH = 150
# --status: the lines that say who serves, the health of each site and its database, and the last operation.
# (Not the top-level "serving:" line: nginx's view by the last record's switch step, which after a switchover names
# the standby; the roles line is the record's.)
STATUS_KEYS = re.compile(r"^(roles|active|standby|primary|last)\b")


def say(msg=""):
    print(msg, flush=True)


def act(n, msg):
    say()
    say(f"{BOLD}[{n}] {msg}{RESET}")


def show(lines, prefix="    "):
    for line in lines:
        say(f"{prefix}{line}")


class Echo:
    """The daemon's log, filtered to the story unless verbose; the date is cut to the time of day."""

    def __init__(self, verbose):
        self.verbose = verbose

    def __call__(self, line):
        line = re.sub(r"^\d{4}-\d\d-\d\dT(\d\d:\d\d:\d\d\.\d{3})Z ", r"\1 ", line.rstrip())
        if line and (self.verbose or self.story(line)):
            if not self.verbose and STEP_RESULT.search(line) and len(line) > STEP_WIDTH:
                line = line[:STEP_WIDTH - 1] + "…"
            say(f"    {DIM}blfailoverd |{RESET} {line}")

    @staticmethod
    def story(line):
        m = LEVEL_RE.match(line)
        if not m:
            return False
        if m.group(2) not in ("info", "debug"):
            return "control: command finished" not in line
        if STEP_RESULT.search(line):
            return "): skipped" not in line and " step report ok" not in line
        return line.endswith("ms)") and ": healthy (" in line


def sites_config(topo, pair, scen, trigger):
    """The sites form (docs/design/lifecycle.md §1) over this topology, as scenarios_lifecycle.lifecycle_config
    builds it: site a = the active stand-in's API and nginx server, site b = the standby's; both databases reached
    over the sshd; stacks recorded by the docker stand-in with {role}; failover by pg_promote."""
    cfg = topo.config(scen, trigger, interval=INTERVAL, timeout=TIMEOUT, failure_threshold=THRESHOLD)
    for key in ("active", "standby"):
        cfg.pop(key)
    fo = cfg["failover"]
    for key in ("active_server", "standby_server"):
        fo["nginx"].pop(key)
    fo.pop("standby_stack")
    fo["promote"] = {"method": "pg_promote", "timeout": "15s"}
    rec = topo.recorder.wrapper
    compose = ["compose", "-f", "/srv/blacklake/docker-compose.{role}.yml"]

    def site(node):
        server = API[node][1]
        return {"name": node, "health_url": f"http://{server}/health", "nginx_server": server,
                "database": pair.site_database(node),
                "stack": {"start": {"command": [rec, *compose, "up", "-d"], "timeout": "30s"},
                          "stop": {"command": [rec, *compose, "down"], "timeout": "30s"}}}
    cfg["sites"] = [site("a"), site("b")]
    cfg["serves_first"] = "a"
    cfg["switchover"] = {"max_lag": "1s", "catch_up_timeout": "10s", "stream_timeout": "60s"}
    cfg["rejoin"] = {"stream_timeout": "60s"}
    return cfg


class Demo:
    def __init__(self, binary, cfg_path, topo, pair, verbose):
        self.binary, self.cfg_path, self.topo, self.pair, self.verbose = binary, cfg_path, topo, pair, verbose

    def cli(self, *args, timeout=60):
        """`blfailoverd -c CFG ARGS`; returns (exit status, stdout, stderr, seconds)."""
        t0 = time.monotonic()
        r = subprocess.run([self.binary, "-c", self.cfg_path, *args], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout, env=T.daemon_env())
        return r.returncode, r.stdout, r.stderr, time.monotonic() - t0

    def status(self, why, roles, settled=None, timeout=5.0):
        """The key lines of `blfailoverd --status` (all of them with --verbose); its roles line must read `roles`.
        settled: a regex the output matches once the daemon's status file caught up with what just happened (it is
        written after its next checks); after timeout the output is shown as it is."""
        deadline = time.monotonic() + timeout
        while True:
            rc, out, err, _ = self.cli(*T.ARGS_STATUS)
            text = out + err
            if settled is None or re.search(settled, text, re.M) or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        lines = text.rstrip("\n").splitlines()
        keep = lines if self.verbose else [ln for ln in lines if STATUS_KEYS.match(ln)] or lines
        say(f"    $ blfailoverd --status   ({why}; exit {rc})")
        show(keep, "      ")
        if f"roles: {roles}\n" not in text:
            raise AssertionError(f"--status: expected the line `roles: {roles}`")

    def command(self, args, timeout):
        """A lifecycle command, carried out by the running daemon (its log above tells the steps); the command line
        prints its own output, or the tail of its progress when it fails."""
        rc, out, err, secs = self.cli(*args, timeout=timeout)
        show([ln for ln in out.splitlines() if ln.strip()])
        say(f"    $ blfailoverd {' '.join(args)}: exit {rc} in {secs:.1f}s")
        if rc != T.EXIT_OK:
            raise AssertionError(f"blfailoverd {' '.join(args)} exited {rc}:\n" + "\n".join(err.splitlines()[-15:]))
        return out + err

    def served_by(self):
        status, body = self.topo.nginx.get("/whoami")
        return next((n for n, (name, _) in API.items() if name == body), f"{status} {body!r}")

    def pg_roles(self):
        """'a primary, b standby streaming from a' as the databases answer."""
        parts = []
        for n in self.pair.NODES:
            r = self.pair.in_recovery(n)
            parts.append(f"{n} " + ("down" if r is None else "standby" if r else "primary"))
        prim = self.pair.primaries()
        if len(prim) == 1 and self.pair.streams_from(prim[0], self.pair.other(prim[0])):
            parts.append(f"{self.pair.other(prim[0])} streams from {prim[0]}")
        return ", ".join(parts)

    def where(self):
        say(f"    nginx sends /whoami to {self.served_by()}; databases: {self.pg_roles()}")


def run_acts(d, daemon, pair, topo):
    """Acts 1–5; returns the figures of the summary line."""
    fig = {}
    daemon.wait_log("active a: healthy", 15)
    daemon.wait_log("standby b: healthy", 15)
    daemon.echo_flush()
    d.where()
    d.status("the record names no role change yet", "a serves, b standby · epoch 0 · latch none",
             r"^standby database: in recovery")

    act(2, f"a dies: it commits {K_DIVERGED} rows b never gets, its API answers 500, its database is killed")
    pair.sql("a", "CREATE TABLE blf_lost (seq bigint)")
    pair.wait_caught_up("a", "b")
    pair.cut_off("b")
    pair.sql_script("a", [f"INSERT INTO blf_lost(seq) VALUES ({i});" for i in range(1, K_DIVERGED + 1)])
    say(f"    b cut off from a (walreceiver stopped); a committed {K_DIVERGED} rows only it has")
    t0 = time.monotonic()
    topo.active.set_mode("500")
    pair.kill9("a")
    daemon.wait_log(T.LOG.SUCCEEDED, THRESHOLD * (INTERVAL + TIMEOUT) + 45, fail_on=(T.LOG.FAILED_AT, T.LOG.HELD))
    fig["failover_s"] = time.monotonic() - t0
    daemon.echo_flush()
    topo.nginx.wait_served_by(API["b"][0], 15)
    say(f"    automatic failover done {fig['failover_s']:.1f}s after a broke")
    d.where()
    d.status("b serves, a is the old primary; latched: no second automatic failover",
             "b serves, a standby · epoch 1 · latch failover", r"^standby database: not in recovery")

    act(3, "a comes back as b's standby: blfailoverd --rejoin (pg_rewind; it reports what the rewind discards)")
    out = d.command(T.ARGS_REJOIN, 300)
    daemon.echo_flush()
    m = re.search(r"(\d+) committed transactions", out + daemon.text())
    fig["discarded"] = m.group(1) if m else "?"
    if fig["discarded"] != str(K_DIVERGED):
        raise AssertionError(f"--rejoin reported {fig['discarded']} discarded commits, a committed {K_DIVERGED}")
    pair.wait_streams("b", "a", 60)
    lost = pair.sql("a", "select count(*) from blf_lost")
    say(f"    a's {K_DIVERGED} rows are gone from a too ({lost} left): the pair agrees on b's history")
    mark = daemon.mark()
    topo.active.set_mode("ok")      # a's stack was started (as the standby): its API answers again
    daemon.wait_log("standby a: healthy", 15, since=mark)
    daemon.echo_flush()
    d.where()
    d.status("a streams from b; the latch is cleared", "b serves, a standby · epoch 1 · latch none",
             r"^standby: a .*: up")

    act(4, f"Failback: blfailoverd --switchover, while a writer commits a row every {WRITER_MS} ms")
    table = T.create_writer_table(pair, "b")
    wr = T.Writer(os.path.join(os.path.dirname(d.binary), "pgwriter"), pair.writer_conninfo(), table,
                  os.path.join(pair.dir, "writer.out"), interval_ms=WRITER_MS)
    with wr:
        wr.wait_acks(50, port=pair.ports["b"])
        say(f"    writer: {len(wr.log().acks)} rows committed on b so far")
        d.command(T.ARGS_SWITCHOVER, 120)
        daemon.echo_flush()
        wr.wait_acks(50, port=pair.ports["a"])
        wlog = wr.finish()
    secs_w, _, _ = wlog.window(pair.ports["b"], pair.ports["a"])
    inv = T.check_invariants(pair, wlog, table)
    fig["window_ms"], fig["acked"] = round(secs_w * 1000), inv["acked"]
    topo.nginx.wait_served_by(API["a"][0], 15)
    say(f"    {BOLD}{inv['missing']} committed rows lost; write window {fig['window_ms']} ms{RESET} "
        f"(writer: {wlog.summary()}; every acked row is on a)")
    d.where()

    act(5, "The end: the stack commands blfailoverd ran, the record, and a summary")
    say("    the docker stand-in recorded, in order (failover, rejoin, switchover):")
    show([" ".join(["docker", *argv]) for argv in topo.recorder.argvs()], "      ")
    d.status("a serves again, b streams from it", "a serves, b standby · epoch 2 · latch none",
             r"^standby: b .*: up")
    return fig


def demo(binary, keep, verbose):
    with contextlib.ExitStack() as stack:
        act(1, "The pair, on the sites form: a serves, b streams from it; blfailoverd watches both (all on 127.0.0.1)")
        # the topology's log: each server it starts (--verbose), and always a wait for the machine-wide lock
        topo = stack.enter_context(T.Topology(keep=keep, log=lambda m: (verbose or "waiting" in m) and say(m)))
        t_start = time.monotonic()         # the story's time: from the topology being up (not the lock wait)
        scen = topo.scenario_dir("demo")
        trigger = os.path.join(scen, "triggers", "postgresql.trigger")
        topo.reset(trigger)
        pair = stack.enter_context(T.LifecyclePair(scen, topo.sshd))
        say(f"    nginx :{T.PORT_NGINX} -> site a's API :{T.PORT_ACTIVE} (b's :{T.PORT_STANDBY} is the backup); "
            f"PostgreSQL a :{pair.ports['a']} -> b :{pair.ports['b']} (streaming)")
        say(f"    sshd :{T.PORT_SSHD} plays both database hosts; docker is a recorder; run directory {topo.dir}")
        cfg_path = os.path.join(scen, "blfailoverd.yml")
        T.write_config(cfg_path, sites_config(topo, pair, scen, trigger))
        d = Demo(binary, cfg_path, topo, pair, verbose)
        rc, out, err, _ = d.cli(*T.ARGS_CHECK, timeout=30)
        say(f"    config {cfg_path} (sites form): blfailoverd -t: exit {rc}")
        show([ln for ln in (out + err).splitlines() if ln.strip()], "      ")
        say(f"    blfailoverd starts: checks every {T.duration(INTERVAL)}, fails over after {THRESHOLD} failures")
        daemon = stack.enter_context(T.Daemon(binary, cfg_path, os.path.join(scen, "daemon.log"),
                                              echo=Echo(verbose)))
        fig = run_acts(d, daemon, pair, topo)
        rc = daemon.stop()
        say()
        say(f"{BOLD}a→b failover in {fig['failover_s']:.1f}s ({fig['discarded']} lost commits reported by the rejoin) · "
            f"a rejoined · b→a switchover: 0 of {fig['acked']} rows lost, {fig['window_ms']} ms window · a serves "
            f"· {time.monotonic() - t_start:.0f}s{RESET}")
        say(f"    blfailoverd: {T.describe_status(rc)}; tearing everything down")
    say("    done: all processes stopped" + ("" if keep else ", run directory removed"))
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description="blfailoverd end-to-end demo: failover, rejoin, failback")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the run directory under /tmp")
    ap.add_argument("--verbose", action="store_true", help="every daemon log line and every --status line")
    a = ap.parse_args(argv)
    binary = os.path.abspath(a.bin)
    if os.geteuid() != 0:
        say("demo: run as root (PostgreSQL is started via runuser, sshd needs root)")
        return 2
    for b in (binary, os.path.join(os.path.dirname(binary), "pgwriter")):
        if not (os.path.isfile(b) and os.access(b, os.X_OK)):
            say(f"demo: no executable {b}; build it first (make)")
            return 2
    T.install_signal_handlers()
    try:
        return demo(binary, a.keep, a.verbose)
    except KeyboardInterrupt as e:
        say(f"\ndemo: {e or 'interrupted'}; everything was torn down")
        return 130
    except (T.TopologyError, TimeoutError, AssertionError, subprocess.TimeoutExpired) as e:
        say(f"\ndemo FAILED: {e}\neverything was torn down")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
