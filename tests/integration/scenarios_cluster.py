"""scenarios_cluster: the monitor cluster on etcd (issue 13, docs/design/cluster.md §12) — three blfailoverd members
(mon-a/b/c) on a real 3-member etcd (scenarios_etcd.Etcd: clients 25440/25442/25444, peers 25441/25443/25445),
against the integration topology (PostgreSQL pair, nginx, the API stand-ins, the docker recorder).

Each member has its own state_dir (control socket in it), metrics port and its own path to the active: its active URL
points at its own FaultProxy (a TCP relay in this process, modes pass/refuse/hang) in front of the active stand-in;
nginx keeps the real address. The members share the nginx site file and the step commands; the commands and the
hooks go through tests/integration/step-record, which appends "<member> <step>" ($BLFAILOVERD_MEMBER) to one log,
so a scenario sees who ran what, and that there was one sequence.

Ports (127.0.0.1 only): 25440-25445 etcd; 25470-25472 the members' fault proxies; 25473-25475 their metrics;
25476 the webhook receiver. Everything started here is stopped by PID in Monitors.close(), also on failure.

What the daemon must say (field names, log words, etcd keys) is in the "contract" block below, nowhere else.
"""
import datetime
import json
import os
import re
import select
import signal
import socket
import threading
import time

import topology as T
from topology import LOG
from scenarios_etcd import CLIENT, HOST, Etcd
from scenarios_observability import Receiver, with_webhook

HERE = os.path.dirname(os.path.abspath(__file__))
STEP_RECORD = os.path.join(HERE, "step-record")
SLOW = os.path.join(HERE, "slow-step")

MEMBERS = ("mon-a", "mon-b", "mon-c")
PREFIX = "/blfailoverd/test"
TTL = 3.0                       # lease_ttl (s)
INTERVAL = 1.0                  # health.interval
FAST = 0.2                      # health.fast_interval
HC_TIMEOUT = 0.4                # health.timeout
THRESHOLD = 3
# From the active breaking to a majority of views past the threshold: one interval and a timeout to the first
# failure, then fast checks, then a view published and polled (TTL/3), with room to spare.
DETECT = INTERVAL + HC_TIMEOUT + (THRESHOLD - 1) * (FAST + HC_TIMEOUT) + TTL / 3 + 2
PORT_PROXY = {m: 25470 + i for i, m in enumerate(MEMBERS)}
PORT_METRICS = {m: 25473 + i for i, m in enumerate(MEMBERS)}
PORT_WEBHOOK = 25476

# ---------------------------------------------------------------------------------------------- contract (daemon)
# --status --json's "cluster" object and the held gate: the only function that reads those field names.


def cluster_fields(st):
    c = st.get("cluster") or {}
    return {"enabled": c.get("enabled"), "name": c.get("name"), "role": c.get("role"), "leader": c.get("leader") or "",
            "acting": bool(c.get("acting")), "etcd_up": c.get("etcd_up"), "reason": c.get("reason") or "",
            "record_revision": c.get("record_revision"), "agreeing": c.get("agreeing"), "needed": c.get("needed"),
            "n_members": len(c.get("members") or []), "members": {m.get("name"): m for m in c.get("members") or []},
            "held_gate": (st.get("held") or {}).get("gate") or "", "held_detail": (st.get("held") or {}).get("detail") or "",
            "paused": bool(st.get("paused")), "paused_reason": (st.get("paused") or {}).get("reason") or ""}


ROLE_LEADER = "leader"
ROLE_UNAVAILABLE = "unavailable"
GATE_QUORUM = "quorum"
GATE_CLUSTER = "cluster"
LOG_LEADING = re.compile(r"cluster: .*leading")
LOG_DEPOSED = re.compile(r"cluster: .*deposed")
ALERT_UNAVAILABLE = "BlfailoverdClusterUnavailable"
KEY_LEADER, KEY_RECORD, KEY_PAUSE = "leader", "record", "pause"     # under PREFIX/
EXIT_BUSY = 75
EXIT_USAGE = 2
ARGS_LOCAL = ["--once", "--force", "--local"]
# A command on a member that may not act is run by the leader (memcmd): the requester logs this.
LOG_FORWARDED = "forwarded to the leader"
# No running member here: the CLI refuses in a cluster; --local says what it risks first.
SAY_GO_THROUGH_MEMBER = "in a cluster, commands go through a running member"
SAY_LOCAL_RISK = "acting without the cluster: a monitor that can still reach etcd may act too"
SAY_NO_LEADER = re.compile(r"no leader|etcd")
LOG_NAME_TAKEN = "another live monitor publishes as"
LOG_LOCAL_NEWER = "is newer than etcd's"
# Hook events that belong to a failover sequence (the others, e.g. endpoint_failing, every member emits).
SEQUENCE_EVENTS = ("failover_started", "step_started", "step_succeeded", "step_failed", "failover_succeeded",
                   "failover_failed")


def record_steps(text):
    """{step: status} from the record's text in etcd (state.c's `step NAME STATUS ...` lines)."""
    return {w[1]: w[2] for w in (line.split() for line in (text or "").splitlines()) if len(w) > 2 and w[0] == "step"}


def record_writer(text):
    """The member named by the record's `writer NAME LEASE SEQ` line, or None."""
    for line in (text or "").splitlines():
        if line.startswith("writer "):
            return line.split()[1]
    return None


# ---------------------------------------------------------------------------------------------- the fault proxy

class FaultProxy:
    """127.0.0.1:port relayed to 127.0.0.1:target. pass: relays; refuse: nothing listens (connection refused);
    hang: accepts and never answers. A mode change cuts every open connection (a kept-alive one would otherwise
    carry on passing). One thread owns the listener; stop() ends it and closes everything."""

    MODES = ("pass", "refuse", "hang")

    def __init__(self, port, target):
        self.port, self.target = port, target
        self.mode = "pass"
        self.lock = threading.Lock()
        self.conns = set()
        self.listener = None
        self.applied = threading.Event()
        self.stopping = threading.Event()
        self.thread = None

    def start(self):
        self.listener = self._listen()
        self.thread = threading.Thread(target=self._loop, daemon=True, name=f"fault-proxy-{self.port}")
        self.thread.start()
        return self

    def set_mode(self, mode):
        if mode not in self.MODES:
            raise ValueError(f"fault proxy mode {mode!r}: one of {self.MODES}")
        with self.lock:
            self.mode = mode
            self.applied.clear()
            self._drop()
        if not self.applied.wait(2):
            raise AssertionError(f"fault proxy {self.port} did not switch to {mode} within 2 s")

    def stop(self):
        self.stopping.set()
        if self.thread:
            self.thread.join(3)
        with self.lock:
            self._drop()
        if self.listener:
            self.listener.close()
            self.listener = None

    def _listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, self.port))
        s.listen(64)
        return s

    def _drop(self):
        for c in list(self.conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        self.conns.clear()

    def _loop(self):
        while not self.stopping.is_set():
            with self.lock:
                mode = self.mode
            if mode == "refuse" and self.listener:
                self.listener.close()
                self.listener = None
            elif mode != "refuse" and not self.listener:
                self.listener = self._listen()
            self.applied.set()
            if not self.listener:
                time.sleep(0.02)
                continue
            if not select.select([self.listener], [], [], 0.02)[0]:
                continue
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self._take(conn, mode)

    def _take(self, conn, mode):
        with self.lock:
            if mode != self.mode:           # changed while accepting: the new mode decides next time
                conn.close()
                return
            self.conns.add(conn)
            if mode == "hang":
                return
            try:
                up = socket.create_connection((HOST, self.target), timeout=2)
            except OSError:
                self.conns.discard(conn)
                conn.close()
                return
            self.conns.add(up)
        for a, b in ((conn, up), (up, conn)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------- the members

class StepLog:
    """The one log step-record appends to: "<member> <step>" per command step, "<member> hook EVENT STEP RESULT"
    per hook run."""

    def __init__(self, path):
        self.path = path

    def lines(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                return [line.split() for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def commands(self, member=None):
        """[(member, step)] of the command steps, in order."""
        return [(w[0], w[1]) for w in self.lines() if len(w) == 2 and (member is None or w[0] == member)]

    def sequence(self, member=None):
        """[(member, event, step)] of the hook runs that belong to a failover."""
        return [(w[0], w[2], w[3]) for w in self.lines() if len(w) == 5 and w[1] == "hook"
                and w[2] in SEQUENCE_EVENTS and (member is None or w[0] == member)]

    def entries_by(self, member):
        return len(self.commands(member)) + len(self.sequence(member))


class Monitors:
    """etcd, three fault proxies, three members. slow="switch": the switch step blocks while self.flag exists
    (slow-step). webhook=PORT: alerts to a receiver there. Use as a context manager; close() stops every member
    (SIGCONT first), proxy and etcd member by PID, whatever happened."""

    def __init__(self, ctx, slow=None, webhook=None, echo=None):
        self.ctx = ctx
        self.echo = echo                # (member) -> a line printer: the members' logs streamed (demo-cluster)
        self.slow = slow
        self.webhook = webhook
        self.etcd = Etcd(ctx.dir)
        self.proxies = {}
        self.daemons = {}
        self.paths = {}
        self.stopped = set()            # SIGSTOPped members: no --status asked of them
        self.killed = set()
        self.steps = StepLog(os.path.join(ctx.dir, "steps.log"))
        self.flag = os.path.join(ctx.dir, "slow.flag")
        self.pidfile = os.path.join(ctx.dir, "slow.pid")

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        problems = self.close()
        if problems and exc_type is None:
            raise AssertionError("; ".join(problems))
        return False

    # -- bring up
    def config(self, name):
        ctx = self.ctx
        cfg = ctx.config(interval=INTERVAL, timeout=HC_TIMEOUT, failure_threshold=THRESHOLD)
        cfg["health"]["fast_interval"] = T.duration(FAST)
        cfg["state_dir"] = os.path.join(ctx.dir, f"state-{name}")
        cfg["active"]["url"] = f"http://{HOST}:{PORT_PROXY[name]}/health"
        cfg["database"] = {"standby": ctx.topo.pg.conninfo("standby"), "connect_timeout": "2s"}
        fl = cfg["failover"]

        def rec(step, argv):
            return [T.PYTHON, STEP_RECORD, self.steps.path, step, "--", *argv]
        reload = fl["nginx"]["reload_command"]
        if self.slow == "switch":
            reload = [T.PYTHON, SLOW, self.flag, self.pidfile, "--", *reload]
        fl["nginx"]["test_command"] = rec("nginx_test", fl["nginx"]["test_command"])
        fl["nginx"]["reload_command"] = rec("switch", reload)
        fl["standby_stack"]["command"] = rec("standby_stack", fl["standby_stack"]["command"])
        cfg["hooks"] = {"command": [T.PYTHON, STEP_RECORD, self.steps.path, "hook"], "timeout": "5s"}
        cfg["metrics"] = {"listen": f"{HOST}:{PORT_METRICS[name]}"}
        if self.webhook:
            with_webhook(cfg, self.webhook)
        cfg["cluster"] = {"name": name, "members": list(MEMBERS), "prefix": PREFIX, "lease_ttl": T.duration(TTL),
                          "timeout": "500ms", "etcd": {"endpoints": [f"http://{HOST}:{p}" for p in CLIENT]}}
        return cfg

    def start(self):
        ctx = self.ctx
        T.check_ports_free([*PORT_PROXY.values(), *PORT_METRICS.values(), *CLIENT, *(p + 1 for p in CLIENT)])
        self.etcd.start_all()
        for name in MEMBERS:
            self.proxies[name] = FaultProxy(PORT_PROXY[name], T.PORT_ACTIVE).start()
            T.makedirs_owned(os.path.join(ctx.dir, f"state-{name}"), mode=0o700)
            self.paths[name] = T.write_config(os.path.join(ctx.dir, f"{name}.yml"), self.config(name))
        r = ctx.cli(*T.ARGS_CHECK, config=self.paths[MEMBERS[0]], timeout=15)
        ctx.expect_rc(r, T.EXIT_OK, "-t of a member's config with a cluster: section (is member.c merged?)")
        for name in MEMBERS:
            d = T.Daemon(ctx.bin, self.paths[name], os.path.join(ctx.dir, f"{name}.log"), prefix=ctx._prefix(),
                         echo=self.echo(name) if self.echo else None)
            ctx.daemons.append(d)       # the runner's teardown and failure report see them too
            self.daemons[name] = d
            d.start()
        for d in self.daemons.values():
            ctx.wait_ready(d)

    # -- tear down
    def close(self):
        problems = []
        for name, d in self.daemons.items():
            if d.running():
                d.signal(signal.SIGCONT)
                rc = d.stop(timeout=self.ctx.t(10))
                if d.stopped_by_us == signal.SIGKILL:
                    problems.append(f"{name} did not exit within {self.ctx.t(10):.0f}s of SIGTERM")
                elif rc != 0:
                    problems.append(f"{name}: {T.describe_status(rc)} after SIGTERM (expected exit 0)")
        self._unblock()
        for p in self.proxies.values():
            p.stop()
        self.etcd.stop()
        return problems

    def _unblock(self):
        """Remove the slow flag and kill a step still blocked on it (left behind by a killed member)."""
        if os.path.exists(self.flag):
            os.unlink(self.flag)
        if os.path.exists(self.pidfile):
            pid = int(open(self.pidfile).read() or 0)
            os.unlink(self.pidfile)
            if pid and T.proc_alive(pid):
                os.kill(pid, signal.SIGKILL)

    # -- members
    def running(self):
        return [n for n in MEMBERS if self.daemons[n].running() and n not in self.stopped]

    def restart(self, name):
        """Starts a stopped member again (its own log, "<name>-again.log"), ready when this returns."""
        ctx = self.ctx
        d = T.Daemon(ctx.bin, self.paths[name], os.path.join(ctx.dir, f"{name}-again.log"), prefix=ctx._prefix())
        ctx.daemons.append(d)
        self.daemons[name] = d
        d.start()
        ctx.wait_ready(d)
        return d

    def status(self, name):
        r = self.ctx.cli(*T.ARGS_STATUS, "--json", config=self.paths[name], timeout=10)
        self.ctx.expect_rc(r, T.EXIT_OK, f"--status --json of {name}")
        try:
            return cluster_fields(json.loads(r.stdout))
        except ValueError as e:
            self.ctx.fail(f"--status --json of {name} is not JSON ({e}):\n{r.stdout[:2000]}")

    def statuses(self):
        return {n: self.status(n) for n in self.running()}

    def leader_key(self):
        return self.etcd.get("/" + KEY_LEADER, prefix=PREFIX)

    def record(self):
        return self.etcd.get("/" + KEY_RECORD, prefix=PREFIX)

    def leaders(self, sts):
        return [n for n, s in sts.items() if s["role"] == ROLE_LEADER]

    def expect_one_leader(self, among=None):
        """Exactly one running member says it leads (and may act), etcd's leader key names it, the others name it
        as their leader. Returns its name."""
        sts = self.statuses()
        lead = self.leaders(sts)
        self.ctx.expect(len(lead) == 1, f"members saying they lead: {lead} (roles "
                        + ", ".join(f"{n}={s['role']}" for n, s in sts.items()) + ")")
        lead = lead[0]
        self.ctx.expect(sts[lead]["acting"], f"{lead} leads but does not say it may act: {sts[lead]}")
        self.ctx.expect_eq(self.leader_key(), lead, f"etcd's {PREFIX}/{KEY_LEADER}")
        for n, s in sts.items():
            self.ctx.expect_eq(s["leader"], lead, f"the leader {n} names")
            if n != lead:
                self.ctx.expect(not s["acting"], f"{n} follows {lead} but says it may act")
        if among is not None:
            self.ctx.expect(lead in among, f"{lead} leads, expected one of {among}")
        return lead

    def wait_one_leader(self, timeout=15, among=None):
        deadline = time.monotonic() + self.ctx.t(timeout)
        while True:
            try:
                return self.expect_one_leader(among)
            except (AssertionError, OSError) as e:
                if time.monotonic() > deadline:
                    raise AssertionError(f"no single leader within {timeout}s: {e}") from None
            time.sleep(0.1)

    def kill(self, name):
        d = self.daemons[name]
        d.signal(signal.SIGKILL)
        d.stopped_by_us = signal.SIGKILL
        self.ctx.expect_eq(d.wait_exit(self.ctx.t(10)), -signal.SIGKILL, f"{name}'s exit after SIGKILL")
        self.killed.add(name)

    def sigstop(self, name):
        self.daemons[name].signal(signal.SIGSTOP)
        self.stopped.add(name)

    def sigcont(self, name):
        self.daemons[name].signal(signal.SIGCONT)
        self.stopped.discard(name)

    def set_proxies(self, mode, names=MEMBERS):
        for n in names:
            self.proxies[n].set_mode(mode)

    # -- failovers
    def log_all(self, substring):
        return sum(d.count_log(substring) for d in self.daemons.values())

    def expect_no_failover_for(self, seconds):
        deadline = time.monotonic() + self.ctx.t(seconds)
        while time.monotonic() < deadline:
            self.ctx.expect(self.log_all(LOG.STARTED) == 0 and not self.steps.commands()
                            and not self.steps.sequence(),
                            f"a failover started: {self.steps.commands()} {self.steps.sequence()[:4]}")
            time.sleep(0.2)
        self.ctx.expect_site_original()

    def wait_failover(self, timeout=None):
        """The member that logged a succeeded failover (waits for it)."""
        t = T.wait_until(lambda: next((n for n, d in self.daemons.items() if d.has_log(LOG.SUCCEEDED)), None),
                         self.ctx.t(timeout or DETECT + 30), "a member to log a succeeded failover")
        return t

    def expect_one_failover(self, by=None, stack_calls=1):
        """Exactly one failover sequence, run by one member (by, when given), and every effect of it."""
        ctx = self.ctx
        who = self.wait_failover()
        time.sleep(ctx.t(2 * INTERVAL + 1))    # time for a second sequence to show up, if there were one
        if by:
            ctx.expect_eq(who, by, "the member that failed over")
        cmds = self.steps.commands()
        ctx.expect_eq(cmds, [(who, "nginx_test"), (who, "switch"), (who, "standby_stack")],
                      "the command steps run (member, step), in order")
        started = [e for e in self.steps.sequence() if e[1] == "failover_started"]
        ctx.expect_eq(started, [(who, "failover_started", "-")], "failover_started hooks")
        ctx.expect_eq(self.log_all(LOG.STARTED), 1, "failovers started, by every member together")
        ctx.state_file = os.path.join(ctx.dir, f"state-{who}", T.STATE_FILE)
        ctx.expect_failed_over(stack_calls=stack_calls)
        return who


def _timed_takeover(c, old):
    """kill -9 the leader; seconds until another member says it leads and may act — taken from the time stamp of
    its "cluster: leading" log line, not from when a --status poll noticed (that adds the status file's write gap
    and three CLI runs per look)."""
    t0 = time.time()
    c.kill(old)
    deadline = time.monotonic() + c.ctx.t(TTL + INTERVAL + 10)
    while time.monotonic() < deadline:
        for n in c.running():
            s = c.status(n)
            if s["role"] == ROLE_LEADER and s["acting"]:
                for line in c.daemons[n].text().splitlines():
                    if LOG_LEADING.search(line):
                        at = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
                        stamp = at.replace(tzinfo=datetime.timezone.utc).timestamp()
                        if stamp >= t0:
                            return n, stamp - t0
                return n, time.time() - t0
        time.sleep(0.05)
    raise AssertionError(f"no member led within {TTL + INTERVAL + 10:.0f}s of killing {old}")


# ---------------------------------------------------------------------------------------------- scenarios

def test_cluster_one_leader_then_kill9_and_another_leads(ctx):
    """(1) Exactly one leader across 10 polls; kill -9 the leader → another leads within lease_ttl + interval."""
    with Monitors(ctx) as c:
        lead = c.wait_one_leader()
        for _ in range(10):
            ctx.expect_eq(c.expect_one_leader(), lead, "the leader, polled again")
            time.sleep(0.3)
        new, took = _timed_takeover(c, lead)
        print(f"    takeover after kill -9 of {lead}: {new} leads after {took:.2f} s (lease_ttl {TTL:.0f} s, "
              f"interval {INTERVAL:.0f} s)")
        ctx.expect(took <= TTL + INTERVAL, f"takeover took {took:.2f}s > lease_ttl + interval = {TTL + INTERVAL}s")
        ctx.expect_eq(c.wait_one_leader(5), new, "the leader after the takeover")
        ctx.expect(LOG_LEADING.search(c.daemons[new].text()), f"{new} does not log that it leads")


def test_cluster_active_fails_one_failover(ctx):
    """(2) Every member's path to the active refuses → exactly one failover sequence, by the leader; nginx switched
    once."""
    with Monitors(ctx) as c:
        lead = c.wait_one_leader()
        c.set_proxies("refuse")
        c.expect_one_failover(by=lead)


def test_cluster_leader_killed_mid_failover_successor_finishes(ctx):
    """(3) The leader SIGKILLed while switch runs (etcd's record: promote ok, switch running) → the new leader
    resumes from the journal: nginx_write, nginx_test and promote are not rerun, switch once more at most,
    standby_stack once."""
    with Monitors(ctx, slow="switch") as c:
        lead = c.wait_one_leader()
        T.write_file(c.flag, b"")
        c.set_proxies("refuse")
        T.wait_until(lambda: os.path.exists(c.pidfile) and os.path.getsize(c.pidfile) > 0, ctx.t(DETECT + 20),
                     "the switch step to block (slow-step's pid file)")
        T.wait_until(lambda: record_steps(c.record()).get("switch") == "running", ctx.t(5),
                     "etcd's record to show switch running")
        rec = c.record()
        ctx.expect_eq(record_steps(rec).get("promote"), "ok", "promote in etcd's record when switch runs")
        c.kill(lead)
        c._unblock()
        new = c.wait_one_leader(TTL + 10)
        d = c.daemons[new]
        d.wait_log(LOG.SUCCEEDED, ctx.t(30), fail_on=(LOG.FAILED_AT,))
        text = d.text()
        ctx.expect(LOG.RESUMED in text, f"{new} did not say it resumed the interrupted failover")
        ctx.expect_eq(d.count_log(LOG.STARTED), 0, f"new failovers started by {new} (it resumes the journal)")
        for step in ("nginx_write", "nginx_test", "promote"):
            ctx.expect(f"failover: step {step} started" not in text, f"{new} ran {step} again")
        ctx.expect(not [e for e in c.steps.sequence(new) if e[2] in ("promote", "nginx_write", "nginx_test")],
                   f"{new}'s hooks show a step done before the kill: {c.steps.sequence(new)}")
        cmds = c.steps.commands()
        ctx.expect_eq([s for m, s in cmds if m == lead], ["nginx_test", "switch"], f"{lead}'s command steps")
        ctx.expect(len([1 for m, s in cmds if m == new and s == "switch"]) <= 1, f"{new} switched twice: {cmds}")
        ctx.expect_eq([s for m, s in cmds if m == new and s != "switch"], ["standby_stack"], f"{new}'s other steps")
        ctx.expect_eq([m for m in MEMBERS if m not in (lead, new) and c.steps.entries_by(m)], [],
                      "members other than the two leaders with steps")
        ctx.expect_eq(record_writer(c.record()), new, "the writer named by etcd's record")
        ctx.state_file = os.path.join(ctx.dir, f"state-{new}", T.STATE_FILE)
        ctx.expect_failed_over(stack_calls=1)


def test_cluster_views_one_cut_off_holds_two_fail_over(ctx):
    """(4) Only the leader's path to the active refuses → no failover. One follower's → no failover for 5 s, its
    --status says agreeing 1 of 3 and the gate quorum. A second follower's too → the leader fails over."""
    with Monitors(ctx) as c:
        lead = c.wait_one_leader()
        f1, f2 = [m for m in MEMBERS if m != lead]
        m = c.daemons[lead].mark()
        c.set_proxies("refuse", [lead])
        c.daemons[lead].wait_log(LOG.active_failing(THRESHOLD, THRESHOLD), ctx.t(DETECT), since=m)
        c.expect_no_failover_for(5)
        m = c.daemons[lead].mark()
        c.set_proxies("pass", [lead])
        c.daemons[lead].wait_log(LOG.ACTIVE_HEALTHY, ctx.t(5), since=m)
        m = c.daemons[f1].mark()
        c.set_proxies("refuse", [f1])
        c.daemons[f1].wait_log(LOG.active_failing(THRESHOLD, THRESHOLD), ctx.t(DETECT), since=m)
        T.wait_until(lambda: c.status(f1)["held_gate"] == GATE_QUORUM, ctx.t(TTL), f"{f1}'s held gate to be quorum")
        c.expect_no_failover_for(5)
        s = c.status(f1)
        ctx.expect((s["agreeing"], s["n_members"], s["needed"], s["held_gate"]) == (1, 3, 2, GATE_QUORUM),
                   f"{f1}'s --status: agreeing {s['agreeing']}/{s['n_members']}, needed {s['needed']}, "
                   f"held gate {s['held_gate']!r} (expected 1/3, 2, quorum)")
        ctx.expect_eq(c.status(lead)["agreeing"], 1, f"agreeing, per the leader {lead}")
        c.set_proxies("refuse", [f2])
        c.expect_one_failover(by=lead)


def test_cluster_sigstopped_leader_never_acts_after_sigcont(ctx):
    """(5) The leader SIGSTOPped past 2 × TTL while idle; the active fails; the successor fails over. SIGCONT: the
    old leader says it is deposed and runs nothing: no entry of it in the step log, the record's writer is not it."""
    with Monitors(ctx) as c:
        old = c.wait_one_leader()
        c.sigstop(old)
        time.sleep(2 * TTL)
        new = c.wait_one_leader(5)
        c.set_proxies("refuse")
        who = c.expect_one_failover(by=new)
        m = c.daemons[old].mark()
        c.sigcont(old)
        T.wait_until(lambda: LOG_DEPOSED.search(c.daemons[old].text()[m:]), ctx.t(5), f"{old} to log deposed")
        time.sleep(TTL)
        ctx.expect_eq(c.steps.entries_by(old), 0, f"step-log entries of {old}")
        ctx.expect(old not in ([who] + [c.leader_key()]), f"{old} leads again")
        ctx.expect_eq(record_writer(c.record()), new, "the writer named by etcd's record")
        ctx.expect(not c.daemons[old].has_log(LOG.STARTED), f"{old} started a failover")
        ctx.expect_eq(ctx.topo.recorder.argvs(), [T.STACK_ARGV], "standby stack commands recorded")
        ctx.expect_eq(c.expect_one_leader(), new, "the leader after SIGCONT")


def _etcd_follower(c):
    return next(i for i in range(3) if i != c.etcd.raft_leader())


def test_cluster_one_etcd_member_down_still_fails_over(ctx):
    """(6a) One etcd member (a raft follower) SIGKILLed: the leader stays, and the active failing → one failover."""
    with Monitors(ctx) as c:
        lead = c.wait_one_leader()
        c.etcd.kill(_etcd_follower(c))
        time.sleep(TTL)
        ctx.expect_eq(c.expect_one_leader(), lead, "the leader with one etcd member down")
        c.set_proxies("refuse")
        c.expect_one_failover(by=lead)


def test_cluster_etcd_quorum_lost_holds_then_back_fails_over(ctx):
    """(6b) Two etcd members SIGKILLed: every member holds with the gate cluster, the webhook gets the
    ClusterUnavailable alert, the active fails and no step runs. Both back: a leader, then one failover."""
    with Receiver(PORT_WEBHOOK) as rx, Monitors(ctx, webhook=PORT_WEBHOOK) as c:
        c.wait_one_leader()
        keep = c.etcd.raft_leader()
        gone = [i for i in range(3) if i != keep]
        for i in gone:
            c.etcd.kill(i)
        T.wait_until(lambda: all(s["role"] == ROLE_UNAVAILABLE and not s["acting"] for s in c.statuses().values()),
                     ctx.t(TTL + 5), "every member to say unavailable")
        c.set_proxies("refuse")
        T.wait_until(lambda: all(s["held_gate"] == GATE_CLUSTER for s in c.statuses().values()), ctx.t(DETECT + 5),
                     "every member to hold with the gate cluster")
        c.expect_no_failover_for(5)
        sts = c.statuses()
        for n, s in sts.items():
            ctx.expect(s["reason"], f"{n} holds without a reason: {s}")
        T.wait_until(lambda: ALERT_UNAVAILABLE in json.dumps([p[2] for p in rx.posts]), ctx.t(10),
                     f"the webhook receiver to get {ALERT_UNAVAILABLE}")
        t0 = time.monotonic()
        for i in gone:
            c.etcd.start(i)
        c.etcd.wait_healthy(20)
        lead = c.wait_one_leader(4 * TTL + 10)
        who = c.expect_one_failover(by=lead)
        print(f"    etcd back → {who} failed over {time.monotonic() - t0:.1f} s after the restart")


# ---------------------------------------------------------------------------------------------- commands (§9)

def _followers(c, lead):
    return [m for m in MEMBERS if m != lead]


def _wait_paused(c, paused, reason=""):
    def done():
        sts = c.statuses()
        return all(s["paused"] == paused and (not paused or s["paused_reason"] == reason) for s in sts.values())
    T.wait_until(done, c.ctx.t(TTL + 3), f"every member's --status to say {'paused' if paused else 'not paused'}")


def test_cluster_pause_on_follower_by_leader_resume_on_another(ctx):
    """(7a) --pause --reason X against a follower's socket: the leader carries it out (exit 0, its words relayed),
    etcd's <prefix>/pause holds it and every member's --status says paused with X within a poll; --resume on the
    other follower lifts it everywhere."""
    with Monitors(ctx) as c:
        lead = c.wait_one_leader()
        f1, f2 = _followers(c, lead)
        r = ctx.cli("--pause", "--reason", "kernel upgrade on db1", config=c.paths[f1], timeout=20)
        ctx.expect_rc(r, T.EXIT_OK, f"--pause on the follower {f1}")
        ctx.expect("paused" in r.stdout, f"--pause on {f1} relayed no word of the leader's:\n{r.stdout}{r.stderr}")
        ctx.expect(c.daemons[f1].has_log(LOG_FORWARDED), f"{f1} did not forward --pause to the leader")
        ctx.expect("kernel upgrade on db1" in (c.etcd.get("/" + KEY_PAUSE, prefix=PREFIX) or ""),
                   f"etcd's {PREFIX}/{KEY_PAUSE} does not hold the pause")
        _wait_paused(c, True, "kernel upgrade on db1")
        r = ctx.cli("--resume", config=c.paths[f2], timeout=20)
        ctx.expect_rc(r, T.EXIT_OK, f"--resume on the other follower {f2}")
        ctx.expect("resumed" in r.stdout, f"--resume on {f2} relayed no word of the leader's:\n{r.stdout}{r.stderr}")
        _wait_paused(c, False)
        ctx.expect_eq(c.expect_one_leader(), lead, "the leader after pause and resume")


def test_cluster_once_on_follower_one_failover_by_leader(ctx):
    """(7b) The pair paused (so the automatic failover holds), the active really failing (500): --once on a
    follower → the leader runs ONE failover (the step log names the leader), the CLI gets exit 0 and the failover's
    lines."""
    with Monitors(ctx) as c:
        lead = c.wait_one_leader()
        f1, f2 = _followers(c, lead)
        r = ctx.cli("--pause", "--reason", "operator decides", config=c.paths[f2], timeout=20)
        ctx.expect_rc(r, T.EXIT_OK, f"--pause on {f2}")
        _wait_paused(c, True, "operator decides")
        ctx.topo.active.set_mode("500")
        T.wait_until(lambda: c.status(lead)["agreeing"] == 3, ctx.t(DETECT), "every member to see the active failing")
        r = ctx.cli(*T.ARGS_ONCE, config=c.paths[f1], timeout=60)
        ctx.expect_rc(r, T.EXIT_OK, f"--once on the follower {f1}")
        out = r.stdout + r.stderr
        ctx.expect(LOG.SUCCEEDED in out and "step switch" in out,
                   f"--once on {f1} did not relay the failover's lines:\n{out[-3000:]}")
        ctx.expect(c.daemons[f1].has_log(LOG_FORWARDED), f"{f1} did not forward --once to the leader")
        c.expect_one_failover(by=lead)


def test_cluster_quorum_lost_once_refused_everywhere(ctx):
    """(7c) Two etcd members SIGKILLed: --once on every member exits 75 naming etcd / no leader, and nothing runs."""
    with Monitors(ctx) as c:
        c.wait_one_leader()
        keep = c.etcd.raft_leader()
        for i in range(3):
            if i != keep:
                c.etcd.kill(i)
        T.wait_until(lambda: all(s["role"] == ROLE_UNAVAILABLE for s in c.statuses().values()), ctx.t(TTL + 5),
                     "every member to say unavailable")
        for name in MEMBERS:
            r = ctx.cli(*T.ARGS_ONCE, config=c.paths[name], timeout=30)
            ctx.expect_rc(r, EXIT_BUSY, f"--once on {name} with etcd's quorum lost")
            out = r.stdout + r.stderr
            ctx.expect(SAY_NO_LEADER.search(out), f"--once on {name} does not name etcd or the missing leader:\n{out}")
        c.expect_no_failover_for(2)


def test_cluster_cli_without_daemon_refused_local_acts(ctx):
    """(7d) Every member stopped: --once and --pause refuse (75: commands go through a running member), --local
    without --once --force or without cluster: is a usage error (2); --once --force --local prints its risk, then
    fails over alone (the step log names the member) and exits 0. mon-a started again alone: its local record
    (epoch 1) is newer than etcd's (epoch 0): kept, said, and pushed to etcd once it leads; nothing runs again."""
    with Monitors(ctx) as c:
        c.wait_one_leader()
        for name in MEMBERS:
            ctx.expect_eq(c.daemons[name].stop(ctx.t(10)), 0, f"{name}'s exit after SIGTERM")
        cfg = c.paths["mon-a"]
        for args in (T.ARGS_ONCE, ["--pause"], ["--once", "--force"]):
            r = ctx.cli(*args, config=cfg, timeout=20)
            ctx.expect_rc(r, EXIT_BUSY, f"{' '.join(args)} with no member running here")
            ctx.expect(SAY_GO_THROUGH_MEMBER in r.stderr, f"{' '.join(args)} does not say why:\n{r.stderr}")
        ctx.expect(not os.path.exists(os.path.join(ctx.dir, "state-mon-a", "pause")), "the refused --pause paused")
        for args in (["--once", "--local"], ["--pause", "--local"], ["--once", "--force", "--local", "-n"]):
            r = ctx.cli(*args, config=cfg, timeout=20)
            ctx.expect_rc(r, EXIT_USAGE, f"{' '.join(args)}")
        plain = dict(c.config("mon-a"))
        del plain["cluster"]
        r = ctx.cli(*ARGS_LOCAL, config=T.write_config(os.path.join(ctx.dir, "plain.yml"), plain), timeout=20)
        ctx.expect_rc(r, EXIT_USAGE, "--once --force --local without cluster:")
        ctx.expect_eq(c.steps.commands(), [], "steps run by the refused commands")
        r = ctx.cli(*ARGS_LOCAL, config=cfg, timeout=60)
        ctx.expect_rc(r, T.EXIT_OK, "--once --force --local with no member running here")
        ctx.expect(SAY_LOCAL_RISK in r.stdout, f"--local did not say what it risks:\n{r.stdout}")
        ctx.expect_eq(c.steps.commands(), [("mon-a", "nginx_test"), ("mon-a", "switch"), ("mon-a", "standby_stack")],
                      "the command steps run (member, step)")
        ctx.state_file = os.path.join(ctx.dir, "state-mon-a", T.STATE_FILE)
        ctx.expect_failed_over(stack_calls=1)
        ctx.expect(not re.search(r"^epoch [1-9]", c.record() or "", re.M), f"etcd's record before:\n{c.record()}")
        unsynced = os.path.join(ctx.dir, "state-mon-a", "record.unsynced")
        ctx.expect(os.path.exists(unsynced), "--local left no record.unsynced mark")
        d = T.Daemon(ctx.bin, cfg, os.path.join(ctx.dir, "mon-a-again.log"), prefix=ctx._prefix())
        ctx.daemons.append(d)
        c.daemons["mon-a"] = d
        d.start()
        d.wait_log(LOG_LOCAL_NEWER, ctx.t(10))
        T.wait_until(lambda: record_writer(c.record()) == "mon-a" and re.search(r"^epoch 1$", c.record(), re.M),
                     ctx.t(TTL + 5), "etcd's record to be mon-a's local one (epoch 1, writer mon-a)")
        ctx.expect_eq(c.wait_one_leader(TTL + 5), "mon-a", "the leader")
        ctx.expect(not os.path.exists(unsynced), "record.unsynced is still there once etcd holds the local record")
        time.sleep(ctx.t(2 * INTERVAL))
        ctx.expect_eq(c.steps.commands(), [("mon-a", "nginx_test"), ("mon-a", "switch"), ("mon-a", "standby_stack")],
                      "the command steps after mon-a came back (none more)")
        ctx.expect_failed_over(stack_calls=1)


def test_cluster_record_from_before_the_cluster_is_kept_and_holds(ctx):
    """A monitor joins with a record of its own that etcd never had (the pair failed over while that monitor ran
    alone): the member that leads first has none and pushes its nothing. The joining member keeps its record (it is
    newer: epoch 1 against 0), says so, and its view holds the leader at the gate cluster, naming it — no second
    failover, whatever the active does. Without the rule its record is replaced by etcd's empty one and the latch
    is gone."""
    with Monitors(ctx) as c:
        c.wait_one_leader()
        for name in MEMBERS:
            ctx.expect_eq(c.daemons[name].stop(ctx.t(10)), 0, f"{name}'s exit after SIGTERM")
        plain = dict(c.config("mon-a"))
        del plain["cluster"]
        r = ctx.cli("--once", "--force", config=T.write_config(os.path.join(ctx.dir, "alone.yml"), plain), timeout=60)
        ctx.expect_rc(r, T.EXIT_OK, "mon-a failing over alone, as a one-monitor pair")
        steps = c.steps.commands()
        state = os.path.join(ctx.dir, "state-mon-a", T.STATE_FILE)
        os.unlink(os.path.join(ctx.dir, "state-mon-a", "record.synced"))     # as if it never was a member
        ctx.expect(re.search(r"^epoch 1$", open(state).read(), re.M), "mon-a's own record is not at epoch 1")
        for name in ("mon-b", "mon-c"):
            c.restart(name)
        lead = c.wait_one_leader(TTL + 5)
        c.restart("mon-a")
        c.daemons["mon-a"].wait_log(LOG_LOCAL_NEWER, ctx.t(10))
        c.set_proxies("refuse")
        T.wait_until(lambda: c.status(lead)["held_gate"] == GATE_CLUSTER, ctx.t(DETECT + TTL),
                     f"{lead}'s held gate to be cluster")
        detail = c.status(lead)["held_detail"]
        ctx.expect("mon-a" in detail and "newer than etcd" in detail, f"{lead}'s hold does not name mon-a: {detail}")
        time.sleep(ctx.t(3))
        ctx.expect_eq(c.steps.commands(), steps, "command steps after mon-a joined with its record")
        ctx.expect(re.search(r"^epoch 1$", open(state).read(), re.M), "mon-a's own record was replaced")


def test_cluster_second_daemon_same_name_exits_78(ctx):
    """(7e) A second daemon with a running follower's cluster.name (another state_dir, no metrics): it sees
    views/<name> keep changing on a lease not its own and exits 78 naming the name; the first keeps running and
    the cluster keeps one leader."""
    with Monitors(ctx) as c:
        lead = c.wait_one_leader()
        twin = _followers(c, lead)[0]
        cfg = c.config(twin)
        cfg["state_dir"] = os.path.join(ctx.dir, "state-twin")
        del cfg["metrics"]
        T.makedirs_owned(cfg["state_dir"], mode=0o700)
        path = T.write_config(os.path.join(ctx.dir, "twin.yml"), cfg)
        d = T.Daemon(ctx.bin, path, os.path.join(ctx.dir, "twin.log"), prefix=ctx._prefix())
        ctx.daemons.append(d)
        d.start()
        rc = d.wait_exit(ctx.t(20 * TTL / 3 + 10))
        ctx.expect_eq(rc, T.EXIT_CONFIG, f"exit status of a second daemon named {twin}")
        ctx.expect(LOG_NAME_TAKEN in d.text() and twin in d.text(),
                   f"the second {twin} did not say another monitor has its name:\n{d.text()[-2000:]}")
        ctx.expect(c.daemons[twin].running(), f"the first {twin} stopped")
        ctx.expect_eq(c.wait_one_leader(TTL + 5), lead, "the leader after the twin left")
