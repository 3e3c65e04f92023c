"""scenarios_switchover_faults: `blfailoverd --switchover` when things go wrong (issue 12 Tests, docs/design/lifecycle.md
§3.1 and §4.2 (6), (7), (9)), on the lifecycle pair a/b under the writer (scenarios_lifecycle's fixtures).

- switchover_step_fails_put_back_<step>: each step before the promotion fails; exit 4, put back, a serves as before.
- switchover_step_fails_after_promotion_<step>: each step after it fails; exit 1, latch switchover, --rejoin ends it.
- switchover_sigkill_at_<step>: the daemon is SIGKILLed while the step runs; the next start puts back (before the
  promotion) or goes on (from it); while paused it does neither until --resume.
- switchover_refused_*: the checklist and the command line refuse, and nothing changes.
Each scenario is a generated function (one per step) over one small body; the steps' faults are in tables.
"""
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time

import topology as T
import scenarios_lifecycle as L

# --rejoin after a switchover that failed at `streaming` (a rewound, on b's timeline, not streaming yet) exits 1 at
# rewind_dry: "source and target cluster are on the same timeline" (src/rejoin.c: an already rewound target is not
# recognised, design §3.2 "idempotent resume"). Reported to the lead; run with --pending.
PENDING = ()

SLOW = os.path.join(T.HERE, "slow-step")
PORT_PROXY_B = 25455            # in the lifecycle scenarios' range (25450-25459)
MONITOR_ROLE = "blf_monitor"    # sees pg_stat_replication / pg_stat_wal_receiver, may not CHECKPOINT or pg_promote
PUT_BACK_LINE = "switchover: failed at step {step}; put back: a still serves, as before"


def say(msg):
    print(f"    {msg}", flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Fixtures and helpers


def fault_config(ctx, pair):
    """lifecycle_config with each site's stack commands naming the site (`compose -p a ...`), so the recorder tells
    a's stack from b's (both run the same stand-in)."""
    cfg = L.lifecycle_config(ctx, pair)
    for s in cfg["sites"]:
        for k in ("start", "stop"):
            cmd = s["stack"][k]["command"]
            s["stack"][k]["command"] = [cmd[0], "compose", "-p", s["name"], *cmd[2:]]
    return cfg


def db_command(argv, timeout="90s"):
    return {"command": argv, "timeout": timeout}


def stack_calls(ctx, node):
    """The recorded stack commands of site `node`, in order: "up" or "down"."""
    out = []
    for argv in ctx.topo.recorder.argvs():
        if argv[:3] == ["compose", "-p", node]:
            out.append("up" if "up" in argv else "down")
    return out


def create_monitor_role(pair):
    """On a (replicated to b): a login role that reads the replication views but is no superuser: CHECKPOINT and
    pg_promote() are refused to it."""
    pair.sql("a", f"CREATE ROLE {MONITOR_ROLE} LOGIN IN ROLE pg_read_all_stats")
    pair.wait_caught_up("a", "b")


def record_bytes(ctx):
    try:
        with open(ctx.state_file, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def expect_record(ctx, **want):
    rec = L.read_record(ctx)
    got = {k: rec.get(k) for k in want}
    ctx.expect_eq(got, {k: str(v) for k, v in want.items()}, "the record")


class HoldProxy(T.Fixture):
    """A TCP proxy 127.0.0.1:port → 127.0.0.1:target for the daemon's conninfo of one database. While `hold` is set,
    a client chunk that contains `needle` (a query text) is held, not forwarded; `held` is set when that happens.
    release() forwards it — also when the client died meanwhile (the request reaches the server after its sender
    is gone: the worst case a crash can leave)."""

    def __init__(self, port, target, needle):
        self.port, self.target, self.needle = port, target, needle
        self.hold = threading.Event()
        self.held = threading.Event()
        self.released = threading.Event()
        self.listener = None
        self.socks = []
        self.lock = threading.Lock()

    def __repr__(self):
        return f"HoldProxy({self.port}→{self.target})"

    def start(self):
        T.check_ports_free((self.port,))
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((T.HOST, self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def release(self):
        self.hold.clear()
        self.released.set()

    def _track(self, *socks):
        with self.lock:
            self.socks.extend(socks)

    def _accept(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            try:
                s = socket.create_connection((T.HOST, self.target), timeout=5)
                s.settimeout(None)
            except OSError:
                c.close()
                continue
            self._track(c, s)
            threading.Thread(target=self._pump, args=(c, s, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, False), daemon=True).start()

    def _pump(self, src, dst, from_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client and self.hold.is_set() and self.needle in data:
                    self.held.set()
                    self.released.wait(120)
                    dst.sendall(data)
                    time.sleep(1.0)     # the server runs it before it sees the client gone
                    continue
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        if self.listener:
            self.listener.close()
            self.listener = None
        self.released.set()
        with self.lock:
            for s in self.socks:
                try:
                    s.close()
                except OSError:
                    pass
            self.socks = []


def slow(ctx, argv):
    """argv wrapped by slow-step: blocks (its pid in a file) while the scenario's flag exists."""
    flag = os.path.join(ctx.dir, "slow.flag")
    return [T.PYTHON, SLOW, flag, os.path.join(ctx.dir, "slow.pid"), "--", *argv], flag


# ---------------------------------------------------------------------------------------------------------------
# 1. A step before the promotion fails: put back


def _break_nginx_write(ctx, pair, cfg):
    """The backup path is a directory: the site file's backup cannot be written, so neither is the file."""
    bak = ctx.topo.nginx.site + T.BAK_SUFFIX
    os.mkdir(bak)
    return lambda: os.rmdir(bak)


def _break_nginx_test(ctx, pair, cfg):
    cfg["failover"]["nginx"]["test_command"] = ["/bin/false"]


def _break_checkpoint(ctx, pair, cfg):
    """a's conninfo is a role that may not CHECKPOINT."""
    create_monitor_role(pair)
    cfg["sites"][0]["database"]["conninfo"] = pair.conninfo("a", MONITOR_ROLE)


def _break_stack_stop(ctx, pair, cfg):
    cfg["sites"][0]["stack"]["stop"]["command"] = ["/bin/false"]


def _break_stop_old_primary(ctx, pair, cfg):
    cfg["sites"][0]["database"]["commands"]["stop"] = db_command(["/bin/false"])


def _break_controldata(ctx, pair, cfg):
    """It answers, but always with a running primary (a real PostgreSQL 15 output, wal_log_hints on): the
    checklist's look at the running primary passes, the look after the stop finds it not shut down cleanly."""
    running = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "data", "pgtext",
                           "controldata_running_primary.txt")
    cfg["sites"][0]["database"]["commands"]["controldata"] = db_command(["/bin/cat", os.path.abspath(running)],
                                                                        "15s")


def _break_catch_up(ctx, pair, cfg):
    """b's replay is paused once the writer runs (max_lag high enough for the checklist): it never replays a's
    final checkpoint within catch_up_timeout."""
    cfg["switchover"].update(max_lag="1h", catch_up_timeout="2s")
    pair.sql("b", "select pg_wal_replay_pause()")
    return lambda: pair.sql("b", "select pg_wal_replay_resume()")


def _break_promote(ctx, pair, cfg):
    """b's conninfo is a role that may not run pg_promote(): the request is refused, b stays in recovery."""
    create_monitor_role(pair)
    cfg["sites"][1]["database"]["conninfo"] = pair.conninfo("b", MONITOR_ROLE)
    cfg["database"] = {"promote_timeout": "3s"}


BEFORE_PROMOTION = {
    "nginx_write": _break_nginx_write, "nginx_test": _break_nginx_test, "checkpoint": _break_checkpoint,
    "stack_stop": _break_stack_stop, "stop_old_primary": _break_stop_old_primary, "controldata": _break_controldata,
    "catch_up": _break_catch_up, "promote": _break_promote,
}


def expect_put_back(ctx, pair, w, step, site_before, r=None):
    """Everything as before the switchover: a writable and serving, b streams from it, nginx file byte-identical,
    a's stack started again (last call "up"), the record says put_back at `step`, latch none."""
    if r is not None:
        ctx.expect_rc(r, T.EXIT_PUT_BACK, f"--switchover failing at {step}")
        out = r.stdout + r.stderr
        ctx.expect(PUT_BACK_LINE.format(step=step) in out, f"no put-back line for {step}:\n{out[-3000:]}")
    ctx.expect(ctx.site() == site_before, "the nginx site file is not byte-identical to before the switchover")
    ctx.expect(pair.is_primary("a"), "a is not a writable primary after the put back")
    ctx.expect(pair.in_recovery("b") is True, "b left recovery")
    pair.wait_streams("a", "b", ctx.t(30))
    calls = stack_calls(ctx, "a")
    ctx.expect(calls and calls[-1] == "up", f"a's stack was not started again: {calls}")
    ctx.expect("up" not in stack_calls(ctx, "b"), f"b's stack was started: {stack_calls(ctx, 'b')}")
    expect_record(ctx, op="switchover", op_outcome="put_back", latch="none", serving="a", op_failed_step=step)
    w.wait_acks(20, port=pair.ports["a"])
    wlog = w.finish()
    inv = T.check_invariants(pair, wlog, w.argv[-1])
    ctx.expect_eq(inv["primary"], "a", "primary after the put back")
    return inv


def _put_back_scenario(step):
    def scenario(ctx):
        with L.new_pair(ctx) as pair:
            cfg = fault_config(ctx, pair)
            undo = BEFORE_PROMOTION[step](ctx, pair, cfg)
            try:
                ctx.write_config(cfg)
                with L.new_writer(ctx, pair) as w:
                    w.wait_acks(30, port=pair.ports["a"])
                    site_before = ctx.site()
                    r = ctx.cli(*T.ARGS_SWITCHOVER, timeout=120)
                    if undo:
                        undo()
                        undo = None
                    say(f"--switchover → exit {r.returncode} in {r.duration:.2f}s")
                    inv = expect_put_back(ctx, pair, w, step, site_before, r)
                    say(f"invariants: {inv}")
            finally:
                if undo:
                    undo()
    scenario.__doc__ = (f"§4.2 (6): --switchover with step {step} failing ({BEFORE_PROMOTION[step].__doc__ or ''}) "
                        "under the writer: exit 4, put back, 0 acked rows missing")
    return scenario


for _step in BEFORE_PROMOTION:
    _fn = _put_back_scenario(_step)
    _fn.__name__ = f"test_switchover_step_fails_put_back_{_step}"
    _fn.__qualname__ = _fn.__name__
    globals()[_fn.__name__] = _fn


# ---------------------------------------------------------------------------------------------------------------
# 2. A step after the promotion fails: latched "switchover", --rejoin finishes


def _break_switch(cfg):
    cfg["failover"]["nginx"]["reload_command"] = ["/bin/false"]


def _break_stack_start_new(cfg):
    cfg["sites"][1]["stack"]["start"]["command"] = ["/bin/false"]


def _break_rewind(cfg):
    cfg["sites"][0]["database"]["commands"]["rewind"] = db_command(["/bin/false"], "60s")


def _break_start_old(cfg):
    cfg["sites"][0]["database"]["commands"]["start"] = db_command(["/bin/false"])


def _break_streaming(cfg):
    cfg["switchover"]["stream_timeout"] = "1ms"


AFTER_PROMOTION = {
    "switch": _break_switch, "stack_start_new": _break_stack_start_new, "rewind": _break_rewind,
    "start_old": _break_start_old, "streaming": _break_streaming,
}


def _after_promotion_scenario(step):
    def scenario(ctx):
        with L.new_pair(ctx) as pair:
            good = fault_config(ctx, pair)
            bad = fault_config(ctx, pair)
            AFTER_PROMOTION[step](bad)
            ctx.write_config(bad)
            with L.new_writer(ctx, pair) as w:
                w.wait_acks(30, port=pair.ports["a"])
                r = ctx.cli(*T.ARGS_SWITCHOVER, timeout=120)
                ctx.expect_rc(r, T.EXIT_FAILED, f"--switchover failing at {step}")
                out = r.stdout + r.stderr
                ctx.expect("finish with blfailoverd --rejoin" in out, f"no --rejoin hint:\n{out[-2000:]}")
                expect_record(ctx, op="switchover", op_outcome="failed", op_failed_step=step, latch="switchover",
                              serving="b", epoch=1)
                ctx.expect(pair.is_primary("b"), "b is not the primary after the promotion")
                ctx.expect(not pair.is_primary("a"), "a answers as a writable primary beside b")
                w.wait_acks(20, port=pair.ports["b"])
                # latched: a second switchover is refused and changes nothing
                before = record_bytes(ctx)
                r = ctx.cli(*T.ARGS_SWITCHOVER, timeout=60)
                ctx.expect_rc(r, T.EXIT_REFUSED, "--switchover while latched")
                ctx.expect("latched" in r.stdout + r.stderr, f"no 'latched' in the refusal:\n{r.stderr}")
                ctx.expect(record_bytes(ctx) == before, "a refused --switchover changed the record")
                ctx.write_config(good)
                r = ctx.cli(*T.ARGS_REJOIN, timeout=300)
                ctx.expect_rc(r, T.EXIT_OK, f"--rejoin after the switchover failed at {step}")
                say(f"--rejoin took {r.duration:.2f}s")
                expect_record(ctx, serving="b", epoch=1, latch="none")
                pair.wait_streams("b", "a", ctx.t(30))
                # whichever step failed, the pair is whole: nginx sends traffic to b (reloaded even when the file
                # was already right), and b's stack runs (started when the switchover did not get to it)
                L.expect_nginx_serves(ctx, "b")
                ctx.expect(stack_calls(ctx, "b")[-1:] == ["up"],
                           f"b's stack is not up after --rejoin: {stack_calls(ctx, 'b')}")
                wlog = w.finish()
            inv = T.check_invariants(pair, wlog, w.argv[-1])
            ctx.expect_eq(inv["primary"], "b", "primary after --rejoin")
            say(f"invariants: {inv}")
    scenario.__doc__ = (f"§4.2 (6): --switchover with step {step} failing after the promotion: exit 1, latch "
                        "switchover, serving b epoch 1, --switchover refused; --rejoin finishes; invariants hold")
    return scenario


for _step in AFTER_PROMOTION:
    _fn = _after_promotion_scenario(_step)
    _fn.__name__ = f"test_switchover_step_fails_after_promotion_{_step}"
    _fn.__qualname__ = _fn.__name__
    globals()[_fn.__name__] = _fn


# ---------------------------------------------------------------------------------------------------------------
# 3. The daemon SIGKILLed while a step runs: put back before the promotion, forward from it


def step_status(ctx, name):
    """The journal's status of step `name` (pending/running/ok/failed), None when absent."""
    try:
        with open(ctx.state_file, encoding="utf-8") as f:
            for line in f:
                w = line.split(" ", 3)
                if w[0] == "step" and len(w) > 2 and w[1] == name:
                    return w[2]
    except FileNotFoundError:
        pass
    return None


# slow-step goes first, so the command runs here (a {ssh} must be a command's first word): as postgres, as over ssh
AS_POSTGRES = [T.RUNUSER, "-u", T.PG_USER, "--"]


def _slow_site_command(ctx, cfg, node, key, argv):
    cmd, flag = slow(ctx, argv)
    cfg["sites"][0 if node == "a" else 1]["database"]["commands"][key] = db_command(cmd)
    return flag


def _block_stop_old_primary(ctx, pair, cfg):
    return _slow_site_command(ctx, cfg, "a", "stop", [*AS_POSTGRES, "{bindir}/pg_ctl", "stop", "-D", "{pgdata}", "-m",
                                                      "fast", "-w", "-t", "60", "-s"])


def _block_rewind(ctx, pair, cfg):
    return _slow_site_command(ctx, cfg, "a", "rewind", [*AS_POSTGRES, "env", "LC_ALL=C", "{bindir}/pg_rewind", "-D",
                                                        "{pgdata}", "--source-server={source}", "-R", "{dry_run}"])


SIGKILL_AT = {"stop_old_primary": False, "promote": True, "rewind": True}     # step: past the point of no return


def _kill_daemon_during(ctx, pair, step, cfg, proxy=None):
    """The daemon runs the switchover (asked through it); SIGKILL when the journal says `step running`; the
    blocked child (or the held pg_promote) is let go afterwards, as after a real crash."""
    flag = None
    if step == "promote":
        proxy.hold.set()
    else:
        flag = {"stop_old_primary": _block_stop_old_primary, "rewind": _block_rewind}[step](ctx, pair, cfg)
        T.write_file(flag, b"")
    d = L.lifecycle_daemon(ctx, cfg)
    caller = subprocess.Popen([ctx.bin, "-c", ctx.config_path, *T.ARGS_SWITCHOVER], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=T.daemon_env())
    try:
        T.wait_until(lambda: step_status(ctx, step) == "running", ctx.t(60), f"the record to say step {step} running")
        if proxy:
            T.wait_until(proxy.held.is_set, ctx.t(10), "the proxy to hold pg_promote()")
        else:
            pidfile = os.path.join(ctx.dir, "slow.pid")
            T.wait_until(lambda: os.path.exists(pidfile), ctx.t(10), "the blocked step to record its pid")
        d.signal(signal.SIGKILL)
        d.stopped_by_us = signal.SIGKILL
        ctx.expect_eq(d.wait_exit(ctx.t(10)), -signal.SIGKILL, "daemon exit after SIGKILL")
    finally:
        if flag:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(flag)
            pidfile = os.path.join(ctx.dir, "slow.pid")
            if os.path.exists(pidfile):
                blocked = int(open(pidfile).read())
                os.unlink(pidfile)
                if T.proc_alive(blocked):
                    os.kill(blocked, signal.SIGKILL)
        if proxy:
            proxy.release()     # the pg_promote() the dead daemon sent reaches b now
        T.stop_popen(caller, signal.SIGTERM, 10)
    expect_record(ctx, op="switchover", op_outcome="running")
    ctx.expect_eq(step_status(ctx, step), "running", f"the journal's {step} after SIGKILL")


def wait_outcome(ctx, timeout=90):
    T.wait_until(lambda: L.read_record(ctx).get("op_outcome") not in (None, "running"), ctx.t(timeout),
                 "the interrupted switchover to end")
    return L.read_record(ctx)


def _sigkill_scenario(step, paused=False):
    past = SIGKILL_AT[step]

    def scenario(ctx):
        with contextlib.ExitStack() as stack:
            pair = stack.enter_context(L.new_pair(ctx))
            cfg = fault_config(ctx, pair)
            proxy = None
            if step == "promote":
                proxy = stack.enter_context(HoldProxy(PORT_PROXY_B, pair.ports["b"], b"pg_promote"))
                cfg["sites"][1]["database"]["conninfo"] = (f"host={T.HOST} port={PORT_PROXY_B} dbname=postgres "
                                                           f"user={T.PG_USER}")
            w = stack.enter_context(L.new_writer(ctx, pair))
            w.wait_acks(30, port=pair.ports["a"])
            site_before = ctx.site()
            _kill_daemon_during(ctx, pair, step, cfg, proxy)
            if paused:
                ctx.expect_rc(ctx.cli("--pause"), T.EXIT_OK, "--pause with the daemon dead")
            d = ctx.daemon(cfg, ready=False)
            if paused:
                d.wait_log("the pair is paused", ctx.t(10))
                time.sleep(3)
                expect_record(ctx, op_outcome="running")
                ctx.expect_eq(step_status(ctx, step), "running", f"{step} while paused")
                ctx.expect_eq(stack_calls(ctx, "a"), ["down"], "a's stack calls while paused")
                ctx.expect_rc(ctx.cli("--resume"), T.EXIT_OK, "--resume")
            rec = wait_outcome(ctx)
            say(f"after the restart: op_outcome {rec.get('op_outcome')}, serving {rec.get('serving')}, "
                f"epoch {rec.get('epoch')}, latch {rec.get('latch')}")
            if not past:
                expect_put_back(ctx, pair, w, step, site_before)
                return
            expect_record(ctx, op="switchover", op_outcome="succeeded", latch="none", serving="b", epoch=1)
            pair.wait_streams("b", "a", ctx.t(30))
            w.wait_acks(20, port=pair.ports["b"])
            wlog = w.finish()
            inv = T.check_invariants(pair, wlog, w.argv[-1])
            ctx.expect_eq(inv["primary"], "b", "primary after the resumed switchover")
            L.expect_nginx_serves(ctx, "b")
            say(f"invariants: {inv}")
    scenario.__doc__ = (f"§4.2 (7): the daemon SIGKILLed during step {step}{' then restarted paused' if paused else ''}: "
                        f"{'the next start goes on' if past else 'the next start puts back'}; invariants hold")
    return scenario


for _step in SIGKILL_AT:
    _fn = _sigkill_scenario(_step)
    _fn.__name__ = f"test_switchover_sigkill_at_{_step}"
    _fn.__qualname__ = _fn.__name__
    globals()[_fn.__name__] = _fn

test_switchover_sigkill_at_stop_old_primary_paused = _sigkill_scenario("stop_old_primary", paused=True)
test_switchover_sigkill_at_stop_old_primary_paused.__name__ = "test_switchover_sigkill_at_stop_old_primary_paused"


# ---------------------------------------------------------------------------------------------------------------
# 4. Allowed while paused; refused (nothing changed) by the checklist and the command line


def test_switchover_allowed_while_paused(ctx):
    """§4.2 (9): the pause holds automatic actions only: --switchover (manual) runs, and the pause stays."""
    with L.new_pair(ctx) as pair:
        ctx.write_config(fault_config(ctx, pair))
        with L.new_writer(ctx, pair) as w:
            w.wait_acks(30, port=pair.ports["a"])
            ctx.expect_rc(ctx.cli("--pause", "--reason", "switchover drill"), T.EXIT_OK, "--pause")
            r = ctx.cli(*T.ARGS_SWITCHOVER, timeout=120)
            ctx.expect_rc(r, T.EXIT_OK, "--switchover while paused")
            expect_record(ctx, op="switchover", op_outcome="succeeded", serving="b", epoch=1, latch="none")
            w.wait_acks(20, port=pair.ports["b"])
            wlog = w.finish()
        r = ctx.cli(*T.ARGS_STATUS)
        ctx.expect("paused" in r.stdout, f"--status no longer says paused:\n{r.stdout}")
        T.check_invariants(pair, wlog, w.argv[-1])


def expect_nothing_changed(ctx, pair, site_before, record_before, what):
    ctx.expect(ctx.site() == site_before, f"{what}: the nginx site file changed")
    ctx.expect(record_bytes(ctx) == record_before, f"{what}: the record changed")
    ctx.expect_eq(ctx.topo.recorder.argvs(), [], f"{what}: stack commands recorded")
    ctx.expect(pair.is_primary("a"), f"{what}: a is no longer the primary")
    ctx.expect(pair.in_recovery("b") is True, f"{what}: b left recovery")


def refuse(ctx, pair, args, code, sentence, what, config=None):
    site_before, record_before = ctx.site(), record_bytes(ctx)
    r = ctx.cli(*args, config=config, timeout=60)
    ctx.expect_rc(r, code, what)
    out = r.stdout + r.stderr
    ctx.expect(sentence in out, f"{what}: no {sentence!r} in:\n{out[-2000:]}")
    expect_nothing_changed(ctx, pair, site_before, record_before, what)
    say(f"{what}: exit {r.returncode}: {next((ln for ln in out.splitlines() if sentence in ln), '')[25:]}")


def test_switchover_refused_nothing_changed(ctx):
    """§3.1 checklist and §4.2 (8): --to naming the serving site, a standby lagging over max_lag (replay paused under
    the writer), a standby that does not stream, and the runbook form (exit 78) are refused; nothing changes."""
    with L.new_pair(ctx) as pair:
        ctx.write_config(fault_config(ctx, pair))
        with L.new_writer(ctx, pair) as w:
            w.wait_acks(30, port=pair.ports["a"])
            refuse(ctx, pair, [*T.ARGS_SWITCHOVER, "--to", "a"], T.EXIT_REFUSED, "--to a: that site already serves",
                   "--switchover --to a")
            runbook = os.path.join(ctx.dir, "runbook.yml")
            T.write_config(runbook, ctx.config())
            refuse(ctx, pair, T.ARGS_SWITCHOVER, T.EXIT_CONFIG, "switchover: needs the sites form (sites:)",
                   "--switchover on the runbook form", config=runbook)
            pair.sql("b", "select pg_wal_replay_pause()")
            time.sleep(2)       # the writer commits every 10 ms: b's replay falls 2 s behind
            try:
                refuse(ctx, pair, T.ARGS_SWITCHOVER, T.EXIT_REFUSED, "wait for it to catch up",
                       "--switchover with b's replay paused for 2 s")
            finally:
                pair.sql("b", "select pg_wal_replay_resume()")
            pair.wait_caught_up("a", "b")
            pair.cut_off("b")
            refuse(ctx, pair, T.ARGS_SWITCHOVER, T.EXIT_REFUSED, "shows no streaming standby",
                   "--switchover with b cut off")
            wlog = w.finish()
        T.check_invariants(pair, wlog, w.argv[-1], streams=False)
