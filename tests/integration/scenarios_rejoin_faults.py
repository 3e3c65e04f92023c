"""scenarios_rejoin_faults: `blfailoverd --rejoin` when things go wrong (issue 12, Tests; docs/design/lifecycle.md
§3.2 and §4.2 (5), (7)) on the lifecycle pair (scenarios_lifecycle's fixtures, ports 25450/25451):

- rejoin_reclone: a cannot be rewound (initdb'd without wal_log_hints or checksums): --rejoin refuses with what to
  set and changes nothing; --rejoin --reclone copies b (pg_basebackup), says size and time, keeps the old PGDATA.
- rejoin_step_fails_then_finishes: one command made to fail per run, step after step (a chain on one pair: each
  run re-runs the rejoin from its start over what the previous failure left): the exit code (3 for the checklist,
  1 past it), the latch ("failover" until O's data directory is touched, "rejoin" from the rewind on), the log
  names the step; the next run, with that command fixed, gets past it; the last one finishes.
- rejoin_sigkill_at_steps: the daemon SIGKILLed while a step runs (stop, rewind, start, streaming; slow-step holds
  the step), restarted; the record says the step was running; the next --rejoin finishes.
After every run: exactly one database answers pg_is_in_recovery() = false.
"""
import contextlib
import os
import signal
import subprocess

import topology as T
from topology import LOG
import scenarios_lifecycle as L

HERE = os.path.dirname(os.path.abspath(__file__))
SLOW = os.path.join(HERE, "slow-step")
AS_PG = [T.RUNUSER, "-u", T.PG_USER, "--"]
FALSE = ["/bin/false"]
# runs ARGV unless it is pg_rewind's dry run (no --dry-run: exit 1): the real rewind fails, the checklist's does not
FAIL_UNLESS_DRY = [T.PYTHON, "-c", "import os, sys\nif '--dry-run' not in sys.argv[1:]:\n    sys.exit(1)\n"
                   "os.execv(sys.argv[1], sys.argv[1:])"]

say = L.say


# ---------------------------------------------------------------------------------------------------- helpers

def cmd(argv, timeout="60s"):
    return {"command": argv, "timeout": timeout}


def local_commands(pair, node, upstream=True):
    """a's database commands run here as postgres (not over ssh): a wrapper can sit in front of them."""
    opts = pair.start_options(node) + ("" if upstream else " -c primary_conninfo=")
    return {
        "stop": AS_PG + ["{bindir}/pg_ctl", "stop", "-D", "{pgdata}", "-m", "fast", "-w", "-t", "60", "-s"],
        "rewind": AS_PG + ["env", "LC_ALL=C", "{bindir}/pg_rewind", "-D", "{pgdata}", "--source-server={source}",
                           "-R", "{dry_run}"],
        "start": AS_PG + ["{bindir}/pg_ctl", "start", "-D", "{pgdata}", "-w", "-t", "60", "-s", "-l", pair.logs[node],
                          "-o", opts],
    }


def set_command(cfg, key, argv, timeout="90s"):
    cfg["sites"][0]["database"].setdefault("commands", {})[key] = cmd(argv, timeout)


def expect_one_primary(ctx, pair, primary="b"):
    ctx.expect_eq(pair.primaries(), [primary], "the databases answering pg_is_in_recovery() = false")


def fail_over_to_b(ctx, pair, diverge=True):
    """a (diverged: rows b never got, unless diverge=False) crashes (SIGKILL: no shutdown checkpoint), b is promoted by `--once --force`: the record says b serves,
    epoch 1, latch failover."""
    pair.sql("a", "CREATE TABLE blf_kept (seq bigint); INSERT INTO blf_kept VALUES (1)")
    pair.wait_caught_up("a", "b")
    if diverge:     # rows b never gets: a's WAL forks from b's, the rewind has work
        pair.cut_off("b")
        pair.sql_script("a", [f"INSERT INTO blf_kept VALUES ({i});" for i in range(2, 2 + L.K_DIVERGED)])
    ctx.topo.active.set_mode("500")
    pair.kill9("a")
    r = ctx.cli(*T.ARGS_ONCE, *T.ARGS_FORCE, timeout=120)
    ctx.expect_rc(r, T.EXIT_OK, "--once --force after a crashed")
    L.expect_roles(ctx, "b", 1, "failover")
    expect_one_primary(ctx, pair)


def start_as_orphan_standby(pair, node):
    """node (crashed primary) started in recovery with no upstream: it answers, in recovery, on its old timeline —
    the state of a fenced old primary an operator restarted as a standby of nobody. The stop step has work."""
    T.write_file(os.path.join(pair.data[node], "standby.signal"), b"", mode=0o600, owner=T.PG_USER)
    pair.start_node(node)
    if pair.in_recovery(node) is not True:
        raise AssertionError(f"{node} started with standby.signal is not in recovery")


def rejoined(ctx, pair, r, what):
    """--rejoin finished: exit 0, latch none (armed b → a), a streams from b, exactly one primary."""
    ctx.expect_rc(r, T.EXIT_OK, what)
    L.expect_roles(ctx, "b", 1, "none")
    pair.wait_streams("b", "a", ctx.t(30))
    expect_one_primary(ctx, pair)
    T.check_invariants(pair, None, "blf_kept")
    ctx.expect_eq(pair.sql("a", "select count(*) from blf_kept"), "1", "blf_kept on a after the rejoin")


# ---------------------------------------------------------------------------------------------------- reclone

def test_rejoin_reclone(ctx):
    """§4.2 (5): a and b without wal_log_hints (and no checksums); after a failover to b, --rejoin refuses (exit 3,
    "set wal_log_hints …") and changes nothing; --rejoin --reclone re-clones a from b (size and time reported, the
    old PGDATA kept as PGDATA.blfailoverd-1), a streams from b (its port still from pg_ctl -o: pg_basebackup copied
    b's config files), latch none."""
    with L.new_pair(ctx, wal_log_hints=False) as pair:
        ctx.expect_eq(pair.controldata("a").get("wal_log_hints setting"), "off", "a's wal_log_hints")
        ctx.expect_eq(pair.controldata("a").get("Data page checksum version"), "0", "a's data checksums")
        ctx.write_config(L.lifecycle_config(ctx, pair))
        fail_over_to_b(ctx, pair, diverge=False)
        cd = pair.controldata("a")
        with open(ctx.state_file, "rb") as f:
            record = f.read()
        r = ctx.cli(*T.ARGS_REJOIN, timeout=120)
        ctx.expect_rc(r, T.EXIT_REFUSED, "--rejoin without --reclone on a without wal_log_hints")
        out = r.stdout + r.stderr
        ctx.expect("set wal_log_hints = on on both databases (restart), or allow rejoin.reclone" in out,
                   f"the refusal does not say what to set:\n{out}")
        ctx.expect("nothing was changed" in out, f"the refusal does not say nothing changed:\n{out}")
        ctx.expect(not pair.running("a"), "a runs after a refused --rejoin")
        ctx.expect_eq(pair.controldata("a"), cd, "a's pg_controldata after a refused --rejoin")
        with open(ctx.state_file, "rb") as f:
            ctx.expect(f.read() == record, "the record changed on a refused --rejoin")
        expect_one_primary(ctx, pair)

        r = ctx.cli(*T.ARGS_REJOIN, "--reclone", timeout=300)
        out = r.stdout + r.stderr
        kept = pair.data["a"] + ".blfailoverd-1"
        ctx.expect("re-cloned a from b: " in out and f" s; the old data is in {kept}" in out,
                   f"--rejoin --reclone does not report the size, the time and where the old data is:\n{out}")
        rejoined(ctx, pair, r, "--rejoin --reclone")
        ctx.expect(os.path.isfile(os.path.join(kept, "PG_VERSION")), f"the old data directory {kept} is not kept")
        ctx.expect(os.path.isfile(os.path.join(pair.data["a"], "standby.signal")), "a has no standby.signal")
        rec = L.read_record(ctx)
        say(f"re-cloned: {[ln for ln in out.splitlines() if 're-cloned a from b' in ln][0].split(': ', 1)[-1]}")
        ctx.expect(int(ctx_fact(ctx, "reclone_bytes") or 0) > 0, f"no reclone_bytes fact in the record: {rec}")


def ctx_fact(ctx, name):
    with open(ctx.state_file, encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if len(w) >= 3 and w[0] == "fact" and w[1] == name:
                return w[2]
    return None


# ---------------------------------------------------------------------------------------------------- a failing command per step

def run_broken(ctx, pair, cfg, step, rc, latch, what):
    """--rejoin with cfg (one command broken): exit rc at `step`, the record's latch `latch`, the log names the
    step, still one primary."""
    ctx.write_config(cfg)
    r = ctx.cli(*T.ARGS_REJOIN, timeout=300)
    out = r.stdout + r.stderr
    ctx.expect_rc(r, rc, f"--rejoin with {what}")
    ctx.expect(f"rejoin: step {step} failed" in out, f"{what}: the log does not name step {step}:\n{out[-3000:]}")
    ctx.expect_eq(L.read_record(ctx).get("latch"), latch, f"{what}: the record's latch")
    expect_one_primary(ctx, pair)
    say(f"{what}: exit {r.returncode} at step {step}, latch {latch}")
    return out


def test_rejoin_step_fails_then_finishes(ctx):
    """§3.2 failures, one per run, each the next run's starting point: controldata (checklist, exit 3) → recover →
    stop → rewind → start → streaming (stream_timeout, a without upstream) → stack_start → nginx test; then the
    fixed config finishes: exit 0, latch none, a streams from b, exactly one primary."""
    with L.new_pair(ctx) as pair:
        base = L.lifecycle_config(ctx, pair)
        ctx.write_config(base)
        fail_over_to_b(ctx, pair)

        def broken(**changes):
            cfg = L.lifecycle_config(ctx, pair)
            for key, argv in changes.items():
                set_command(cfg, key, argv)
            return cfg

        # the checklist: pg_controldata unreadable → refused, nothing changed (a still crashed, not running)
        cd = pair.controldata("a")
        run_broken(ctx, pair, broken(controldata=FALSE), "check_rewindable", T.EXIT_REFUSED, "failover",
                   "controldata → false")
        ctx.expect(not pair.running("a"), "a runs after the refused --rejoin")
        ctx.expect_eq(pair.controldata("a")["Database cluster state"], cd["Database cluster state"],
                      "a's cluster state after the refused --rejoin")
        # recover: a crashed, the single-user recovery fails: exit 1, a untouched (still "in production")
        run_broken(ctx, pair, broken(recover=FALSE), "recover", T.EXIT_FAILED, "failover", "recover → false")
        ctx.expect_eq(pair.controldata("a")["Database cluster state"], "in production",
                      "a's cluster state after the failed recover")
        # stop: a running (a standby of nobody), pg_ctl stop fails: exit 1, a still runs
        start_as_orphan_standby(pair, "a")
        run_broken(ctx, pair, broken(stop=FALSE), "stop", T.EXIT_FAILED, "failover", "stop → false")
        ctx.expect(pair.running("a") and pair.in_recovery("a") is True, "a after the failed stop")
        # rewind: the dry run works, the rewind fails: exit 1, latch rejoin, a stopped, not rewritten
        run_broken(ctx, pair, broken(rewind=FAIL_UNLESS_DRY + local_commands(pair, "a")["rewind"]), "rewind",
                   T.EXIT_FAILED, "rejoin", "rewind → exit 1")
        ctx.expect(not pair.running("a"), "a runs after the failed rewind")
        ctx.expect_eq(pair.controldata("a")["Database cluster state"], "shut down in recovery",
                      "a's cluster state after the failed rewind (not rewritten)")
        # start: rewound, not started: exit 1, latch rejoin
        run_broken(ctx, pair, broken(start=FALSE), "start", T.EXIT_FAILED, "rejoin", "start → false")
        ctx.expect_eq(pair.controldata("a")["Database cluster state"], "in archive recovery",
                      "a's cluster state after pg_rewind (the next run must not rewind it again)")
        ctx.expect(not pair.running("a"), "a runs after the failed start")
        # streaming: a starts without an upstream, stream_timeout 2s: exit 1, latch rejoin
        cfg = broken(start=local_commands(pair, "a", upstream=False)["start"])
        cfg["rejoin"]["stream_timeout"] = "2s"
        out = run_broken(ctx, pair, cfg, "streaming", T.EXIT_FAILED, "rejoin", "no upstream, stream_timeout 2s")
        ctx.expect("rejoin.max_lag_bytes" in out, f"the streaming failure does not give its figures:\n{out[-2000:]}")
        ctx.expect("rejoin: step rewind_dry started" not in out or "rewound already" in out,
                   f"the run after the failed start rewound a again:\n{out[-3000:]}")
        # stack_start: exit 1, latch rejoin; a streams already
        cfg = L.lifecycle_config(ctx, pair)
        cfg["sites"][0]["stack"]["start"]["command"] = FALSE
        run_broken(ctx, pair, cfg, "stack_start", T.EXIT_FAILED, "rejoin", "stack.start → false")
        # nginx: the test fails: exit 1, latch rejoin, the site file restored byte for byte
        site = ctx.site()
        cfg = L.lifecycle_config(ctx, pair)
        cfg["failover"]["nginx"]["test_command"] = FALSE
        run_broken(ctx, pair, cfg, "nginx", T.EXIT_FAILED, "rejoin", "nginx test_command → false")
        ctx.expect(ctx.site() == site, "the nginx site file is not restored after the failed test")
        # fixed: it finishes
        ctx.write_config(base)
        r = ctx.cli(*T.ARGS_REJOIN, timeout=300)
        rejoined(ctx, pair, r, "--rejoin with every command fixed")
        L.expect_nginx_serves(ctx, "b")


# ---------------------------------------------------------------------------------------------------- SIGKILL at a step

STEPS_KILLED = ("stop", "rewind", "start", "streaming")


def slowed(ctx, step, argv):
    flag = os.path.join(ctx.dir, f"slow.{step}.flag")
    unless = ["--unless", "--dry-run"] if step == "rewind" else []
    return [T.PYTHON, SLOW, flag, os.path.join(ctx.dir, "slow.pid"), *unless, "--", *argv], flag


def sigkill_config(ctx, pair, upstream=True):
    """a's stop, rewind and start run here behind slow-step (each blocks while its flag exists)."""
    cfg = L.lifecycle_config(ctx, pair)
    flags = {}
    for step, argv in local_commands(pair, "a", upstream).items():
        wrapped, flags[step] = slowed(ctx, step, argv)
        set_command(cfg, step, wrapped)
    return cfg, flags


def start_daemon(ctx, cfg):
    d = ctx.daemon(cfg, ready=False)
    d.wait_log(LOG.ALREADY_DONE, ctx.t(15))
    return d


# the latch the record holds while the step runs: "rejoin" from the rewind on (O's data directory is rewritten)
LATCH_DURING = {"stop": "failover", "rewind": "rejoin", "start": "rejoin", "streaming": "rejoin"}


def kill_during(ctx, pair, d, step, flag):
    """--rejoin through the daemon; when the record says `step` runs, SIGKILL the daemon (and the held child)."""
    if flag:
        T.write_file(flag, b"")
    pidfile = os.path.join(ctx.dir, "slow.pid")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pidfile)
    cli = subprocess.Popen([ctx.bin, "-c", ctx.config_path, *T.ARGS_REJOIN], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=T.daemon_env())
    try:
        d.wait_log(f"rejoin: step {step} started", ctx.t(120), fail_on=("rejoin: failed at step",))
        if flag:
            T.wait_until(lambda: os.path.exists(pidfile), ctx.t(20), f"the held {step} to record its pid")
        T.wait_until(lambda: L.read_record(ctx).get("op") == "rejoin" and
                     any(ln.split()[1:3] == [step, "running"] for ln in open(ctx.state_file) if
                         ln.startswith("step ")), ctx.t(10), f"the record to say step {step} running")
        d.signal(signal.SIGKILL)
        d.stopped_by_us = signal.SIGKILL
        ctx.expect_eq(d.wait_exit(ctx.t(10)), -signal.SIGKILL, "daemon exit after SIGKILL")
    finally:
        if flag:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(flag)
        if os.path.exists(pidfile):
            held = int(open(pidfile).read())
            if T.proc_alive(held):
                os.kill(held, signal.SIGKILL)
        try:
            cli.wait(timeout=ctx.t(20))
        except subprocess.TimeoutExpired:
            cli.kill()
            cli.wait()
    rec = L.read_record(ctx)
    ctx.expect_eq((rec.get("op"), rec.get("op_outcome"), rec.get("latch")), ("rejoin", "running", LATCH_DURING[step]),
                  f"record (op, outcome, latch) after SIGKILL at {step}")
    expect_one_primary(ctx, pair)
    say(f"SIGKILL during step {step}: record op rejoin running, latch {rec.get('latch')}; --rejoin exit "
        f"{cli.returncode}")


def test_rejoin_sigkill_at_steps(ctx):
    """§4.2 (7) for the rejoin, as a chain on one pair: the daemon SIGKILLed while step stop, then rewind, then
    start, then streaming runs (each restart's --rejoin re-runs from the start over what the last one left:
    a running standby of nobody; stopped; rewound but never started; started without upstream); restarted with
    the commands fixed, --rejoin finishes: exit 0, latch none, a streams from b, exactly one primary."""
    with L.new_pair(ctx) as pair:
        cfg, flags = sigkill_config(ctx, pair)
        ctx.write_config(cfg)
        fail_over_to_b(ctx, pair)
        start_as_orphan_standby(pair, "a")
        for step in ("stop", "rewind", "start"):
            d = start_daemon(ctx, cfg)
            kill_during(ctx, pair, d, step, flags[step])
        ctx.expect_eq(pair.controldata("a")["Database cluster state"], "in archive recovery",
                      "a after the rewind and a start that never ran")
        cfg_noup, _ = sigkill_config(ctx, pair, upstream=False)
        cfg_noup["rejoin"]["stream_timeout"] = "120s"
        d = start_daemon(ctx, cfg_noup)
        kill_during(ctx, pair, d, "streaming", None)
        ctx.expect(pair.in_recovery("a") is True, "a (started without upstream) is not in recovery")
        d = start_daemon(ctx, cfg)
        r = ctx.cli(*T.ARGS_REJOIN, timeout=300)
        rejoined(ctx, pair, r, "--rejoin after the daemon was SIGKILLed at every step")
        ctx.stop_daemon(d)
