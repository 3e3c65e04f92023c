"""scenarios_safety: the safety gates and crash safety (issue #3) against the real servers — a PostgreSQL 15
streaming pair probed through libpq, sshd, nginx, the API stand-ins and the docker recorder. Run by run.py after
scenarios.py; each test_* gets a fresh run.Ctx (see run.py). Timing is the standard config's (scenarios.py).
"""
import os
import signal
import sys
import time

import topology as T
from topology import LOG
from scenarios import DETECT, THRESHOLD, _cycles, valgrind

HERE = os.path.dirname(os.path.abspath(__file__))

# Steps of the standard config with the pg_promote method (no ssh_check: libpq reaches the database itself).
STEPS_PG_PROMOTE = ("nginx_write", "nginx_test", "promote", "switch", "standby_stack")


def db_config(ctx, primary=False, **database):
    """The standard config plus a database section for the topology's pair."""
    cfg = ctx.config()
    db = {"standby": ctx.topo.pg.conninfo("standby"), "connect_timeout": "2s"}
    if primary:
        db["primary"] = ctx.topo.pg.conninfo("primary")
    db.update(database)
    cfg["database"] = db
    return cfg


def state_steps(ctx):
    """{step: status} from the persisted record (the format is state.c's: `step NAME STATUS ...`)."""
    with open(ctx.state_file, encoding="utf-8") as f:
        lines = f.read().splitlines()
    return {w[1]: w[2] for w in (line.split() for line in lines) if len(w) > 2 and w[0] == "step"}


def state_outcome(ctx):
    with open(ctx.state_file, encoding="utf-8") as f:
        for line in f:
            if line.startswith(("outcome ", "op_outcome ")):     # format 1, format 2
                return line.split()[1]
    return None


def make_lag(ctx, at_least=256 * 1024):
    """Pause replay on the standby and write on the primary until the standby has received but not replayed
    at least `at_least` bytes of WAL. run.py's reset resumes replay for the next scenario."""
    pg = ctx.topo.pg
    pg.sql("standby", "select pg_wal_replay_pause()")
    T.wait_until(lambda: pg.sql("standby", "select pg_get_wal_replay_pause_state()") == "paused", ctx.t(10),
                 "replay to pause on the standby")

    def lagging():
        pg.sql("primary", "insert into blf_check select repeat('x', 200) from generate_series(1, 2000)")
        return pg.lag_bytes() >= at_least
    T.wait_until(lagging, ctx.t(30), f"the standby to lag by {at_least} bytes", interval=0.2)
    return pg.lag_bytes()


# ---------------------------------------------------------------------------------------------------- gates

def test_lagging_standby_holds_until_replay_catches_up(ctx):
    lag = make_lag(ctx)
    d = ctx.daemon(db_config(ctx, max_lag_bytes="64kB"))
    m = d.mark()
    ctx.topo.active.set_mode("500")
    line = d.wait_log(LOG.HELD_LAG, ctx.t(DETECT + 5), since=m, fail_on=(LOG.STARTED,))
    ctx.expect("max_lag_bytes 65536" in line and "bytes of WAL received but not replayed" in line,
               f"the hold does not give the figures: {line!r}")
    ctx.expect(lag >= 256 * 1024, f"lag {lag}")
    ctx.sleep(_cycles(3))       # re-evaluated each tick: still held, said once
    ctx.expect_eq(d.count_log(LOG.HELD_LAG, since=m), 1, "hold lines for an unchanged gate")
    ctx.expect_eq(d.count_log(LOG.STARTED, since=m), 0, "failovers started while lagging")
    ctx.expect_site_original()
    ctx.topo.pg.sql("standby", "select pg_wal_replay_resume()")
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT,))
    ctx.expect_failed_over(d.text())
    ctx.stop_daemon(d)


def test_once_lagging_standby_refused_then_force(ctx):
    make_lag(ctx)
    ctx.write_config(db_config(ctx, max_lag_bytes="64kB", catch_up_timeout="1s"))
    t0 = time.monotonic()
    r = ctx.cli(*T.ARGS_ONCE)
    took = time.monotonic() - t0
    ctx.expect_rc(r, T.EXIT_REFUSED, "--once with a lagging standby")
    ctx.expect(LOG.HELD_LAG in r.stderr, f"--once does not name the lag gate:\n{r.stderr}")
    ctx.expect("waiting up to 1s for the standby to replay" in r.stderr, f"no catch-up wait said:\n{r.stderr}")
    ctx.expect(took >= 1.0, f"--once gave up after {took:.2f}s, before database.catch_up_timeout (1s)")
    ctx.expect_unchanged()
    r = ctx.cli(*T.ARGS_ONCE, *T.ARGS_FORCE)
    ctx.expect_rc(r, T.EXIT_OK, "--once --force with a lagging standby")
    ctx.expect(LOG.FORCE in r.stderr, f"--force does not say it skips the gates:\n{r.stderr}")
    ctx.expect_failed_over(r.stderr)


def test_standby_db_down_holds(ctx):
    ctx.topo.pg.stop_node("standby")
    d = ctx.daemon(db_config(ctx))
    m = d.mark()
    ctx.topo.active.set_mode("500")
    line = d.wait_log(LOG.HELD_STANDBY_DB, ctx.t(DETECT + 5), since=m, fail_on=(LOG.STARTED,))
    ctx.expect("25411" in line or "connect" in line.lower(), f"the hold does not say what failed: {line!r}")
    ctx.sleep(_cycles(2))
    ctx.expect_eq(d.count_log(LOG.STARTED, since=m), 0, "failovers started with the standby DB down")
    ctx.expect_site_original()
    ctx.expect_eq(ctx.topo.recorder.argvs(), [], "standby stack commands recorded")
    ctx.stop_daemon(d)


@valgrind
def test_pg_promote_method_promotes_real_standby(ctx):
    cfg = db_config(ctx)
    cfg["failover"]["promote"] = {"method": "pg_promote", "timeout": "15s"}
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT, LOG.HELD_ANY))
    text = d.text()
    ctx.expect_steps_in_order(text, STEPS_PG_PROMOTE + ("verify",))
    ctx.expect(LOG.step_ok("ssh_check") not in text, "pg_promote ran the ssh check")
    ctx.expect(not ctx.topo.pg.in_recovery("standby"), "the standby is still in recovery after the failover")
    with open(ctx.topo.pg.logs["standby"], encoding="utf-8", errors="replace") as f:
        pglog = f.read()
    ctx.expect(T.PG_PROMOTE_REQUEST_LOG in pglog, "the standby's log does not show a pg_promote() request")
    ctx.expect(not os.path.exists(ctx.trigger), "a trigger file was touched with method pg_promote")
    ctx.expect_eq(state_outcome(ctx), "succeeded", "recorded outcome")
    ctx.stop_daemon(d)


def test_write_before_fault_survives_promotion(ctx):
    pg = ctx.topo.pg
    token = f"blf-{os.getpid()}-{time.time_ns()}"
    pg.sql("primary", f"insert into blf_check values ('{token}')")
    T.wait_until(lambda: pg.sql("standby", f"select count(*) from blf_check where v = '{token}'") == "1",
                 ctx.t(10), "the write to replicate to the standby")
    cfg = db_config(ctx)
    cfg["failover"]["promote"] = {"method": "pg_promote", "timeout": "15s"}
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT, LOG.HELD_ANY))
    ctx.expect_eq(pg.sql("standby", f"select count(*) from blf_check where v = '{token}'"), "1",
                  "the acknowledged write on the promoted standby")
    pg.sql("standby", "insert into blf_check values ('after-promotion')")   # and it takes writes
    ctx.stop_daemon(d)


# ---------------------------------------------------------------------------------------------------- split brain

def test_split_brain_primary_alive_no_fence_holds(ctx):
    d = ctx.daemon(db_config(ctx, primary=True))
    m = d.mark()
    ctx.topo.active.set_mode("500")
    line = d.wait_log(LOG.HELD_SPLIT_BRAIN, ctx.t(DETECT + 5), since=m, fail_on=(LOG.STARTED,))
    ctx.expect("no failover.fence" in line, f"the hold does not say what to do: {line!r}")
    ctx.sleep(_cycles(2))
    ctx.expect_eq(d.count_log(LOG.STARTED, since=m), 0, "failovers started with a live primary and no fence")
    ctx.stop_daemon(d)
    ctx.expect_unchanged()


def _fence_argv(ctx):
    """The fence: the recorder, so its run and its order are visible next to the stack command."""
    return [ctx.topo.recorder.wrapper, "compose", "-f", "/srv/blacklake/docker-compose.active.yml", "down"]


FENCE_RECORDED = ["compose", "-f", "/srv/blacklake/docker-compose.active.yml", "down"]


def test_split_brain_with_fence_fences_then_fails_over(ctx):
    cfg = db_config(ctx, primary=True)
    cfg["failover"]["fence"] = {"command": _fence_argv(ctx), "timeout": "10s"}
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT, LOG.HELD_ANY))
    text = d.text()
    ctx.expect_steps_in_order(text, ("nginx_write", "nginx_test", "ssh_check", "fence", "promote", "switch",
                                     "standby_stack"))
    ctx.expect_eq(ctx.topo.recorder.argvs(), [FENCE_RECORDED, T.STACK_ARGV], "recorded commands, in order")
    ctx.topo.pg.wait_promoted(ctx.t(20))
    ctx.stop_daemon(d)


def test_split_brain_fence_failure_stops_failover(ctx):
    cfg = db_config(ctx, primary=True)
    cfg["failover"]["fence"] = {"command": [*_fence_argv(ctx)], "timeout": "10s"}
    ctx.topo.recorder.set_exit(1)
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.failed_at("fence"), ctx.t(30), since=m, fail_on=(LOG.SUCCEEDED,))
    ctx.expect_eq(ctx.topo.recorder.argvs(), [FENCE_RECORDED], "recorded commands (the fence only)")
    ctx.expect_site_original("nginx site file after a required fence failed")
    ctx.expect_standby_in_recovery()
    ctx.stop_daemon(d)


def test_fence_failure_without_live_primary_is_best_effort(ctx):
    cfg = ctx.config()
    cfg["failover"]["fence"] = {"command": ["/bin/false"], "timeout": "5s"}
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT,))
    ctx.expect(d.has_log(LOG.step_failed("fence"), since=m), "the fence's failure was not logged")
    ctx.expect_failed_over()
    ctx.stop_daemon(d)


# ---------------------------------------------------------------------------------------------------- confirm

def test_confirm_succeeds_holds(ctx):
    cfg = ctx.config()
    # The second vantage point still reaches the active (here: it asks the stand-in's /whoami, which answers).
    cfg["failover"]["confirm"] = {"command": [T.PYTHON, "-c", _URL_OK, f"http://{T.ACTIVE_SERVER}/whoami"],
                                  "timeout": "5s"}
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    line = d.wait_log(LOG.HELD_CONFIRM, ctx.t(DETECT + 10), since=m, fail_on=(LOG.STARTED,))
    ctx.expect("error" in line.split("Z ", 1)[1][:8], f"a confirm hold is not logged as an error: {line!r}")
    ctx.sleep(_cycles(2))
    ctx.expect_eq(d.count_log(LOG.STARTED, since=m), 0, "failovers started while the confirm saw the active")
    ctx.stop_daemon(d)
    ctx.expect_unchanged()


def test_confirm_fails_proceeds(ctx):
    cfg = ctx.config()
    cfg["failover"]["confirm"] = {"command": [T.PYTHON, "-c", _URL_OK, f"http://{T.ACTIVE_SERVER}/health"],
                                  "timeout": "5s"}
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT, LOG.HELD_ANY))
    ctx.expect_failed_over()
    ctx.stop_daemon(d)


# A stand-in for `curl -fsS --max-time 2 URL`: exit 0 on a 2xx, 1 otherwise.
_URL_OK = ("import sys, urllib.request\n"
           "try:\n"
           "    sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status < 300 else 1)\n"
           "except Exception as e:\n"
           "    print(e, file=sys.stderr); sys.exit(1)\n")


# ---------------------------------------------------------------------------------------------------- crash safety

SLOW = os.path.join(HERE, "slow-step")


def _slow(ctx, argv):
    """argv wrapped so it blocks (recording its pid) while the scenario's flag file exists."""
    flag = os.path.join(ctx.dir, "slow.flag")
    return [T.PYTHON, SLOW, flag, os.path.join(ctx.dir, "slow.pid"), "--", *argv], flag


def _kill_during(ctx, step):
    """Start the daemon with `step` blocked, fail the active, SIGKILL the daemon while the step runs; returns the
    config. The blocked child (left behind, as after a real crash) is killed too."""
    cfg = db_config(ctx)
    fl = cfg["failover"]
    flag = None
    if step == "nginx_test":
        fl["nginx"]["test_command"], flag = _slow(ctx, fl["nginx"]["test_command"])
    elif step == "switch":
        fl["nginx"]["reload_command"], flag = _slow(ctx, fl["nginx"]["reload_command"])
    elif step == "fence":
        fl["fence"] = {"command": None, "timeout": "30s"}
        fl["fence"]["command"], flag = _slow(ctx, ["/bin/true"])
    elif step == "standby_stack":
        fl["standby_stack"]["command"], flag = _slow(ctx, fl["standby_stack"]["command"])
    else:
        raise AssertionError(f"no way to block step {step}")
    T.write_file(flag, b"")
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(f"failover: step {step} started", ctx.t(DETECT + 10), since=m, fail_on=(LOG.FAILED_AT,))
    pidfile = os.path.join(ctx.dir, "slow.pid")
    T.wait_until(lambda: os.path.exists(pidfile) and os.path.getsize(pidfile) > 0, ctx.t(10),
                 "the blocked step to record its pid")
    d.signal(signal.SIGKILL)
    d.stopped_by_us = signal.SIGKILL
    ctx.expect_eq(d.wait_exit(ctx.t(10)), -signal.SIGKILL, "daemon exit after SIGKILL")
    os.unlink(flag)
    blocked = int(open(pidfile).read())
    os.unlink(pidfile)
    if T.proc_alive(blocked):
        os.kill(blocked, signal.SIGKILL)
    return cfg, m


def _resume_after_kill(ctx, step, stack_calls=1):
    cfg, _ = _kill_during(ctx, step)
    ctx.expect_eq(state_outcome(ctx), "running", "recorded outcome after SIGKILL")
    before = state_steps(ctx)
    ctx.expect_eq(before.get(step), "running", f"recorded status of {step} after SIGKILL")
    r = ctx.cli(*T.ARGS_STATUS)
    ctx.expect_rc(r, T.EXIT_OK, "--status of an interrupted failover")
    ctx.expect(step in r.stdout and "running" in r.stdout and "interrupted" in r.stdout,
               f"--status does not show the interrupted step:\n{r.stdout}")
    done_before = [s for s, st in before.items() if st == "ok"]
    d = ctx.daemon(cfg, ready=False)
    d.wait_log(LOG.RESUMED + f" {step}", ctx.t(10), fail_on=(LOG.NOT_RESUMING,))
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), fail_on=(LOG.FAILED_AT,))
    text = d.text()
    for s in done_before:
        ctx.expect(f"failover: step {s} started" not in text, f"step {s}, done before the crash, ran again")
    ctx.expect_eq(state_outcome(ctx), "succeeded", "recorded outcome after resuming")
    ctx.expect_failed_over(stack_calls=stack_calls)
    ctx.expect_eq(d.count_log(LOG.STARTED), 0, "new failovers started by the restarted daemon")
    ctx.stop_daemon(d)


def test_sigkill_during_nginx_test_resumes(ctx):
    _resume_after_kill(ctx, "nginx_test")


def test_sigkill_during_fence_resumes(ctx):
    _resume_after_kill(ctx, "fence")


def test_sigkill_during_switch_resumes(ctx):
    _resume_after_kill(ctx, "switch")


def test_sigkill_during_standby_stack_resumes(ctx):
    # The interrupted run never reached docker (slow-step blocks before it); `compose up -d` would be safe twice.
    _resume_after_kill(ctx, "standby_stack")


def test_sigkill_after_promote_started_checks_before_promoting_again(ctx):
    """The promotion is the one step not blindly repeatable (a trigger left on a promoted server would promote it
    again the day it is rebuilt): resumed, libpq asks first, and a promoted standby is not touched again."""
    cfg, _ = _kill_during(ctx, "switch")
    ctx.topo.pg.wait_promoted(ctx.t(20))
    # The record a crash between "promote started" and "promote ok" leaves (the promotion itself went through).
    lines, seen = [], False
    for line in open(ctx.state_file, encoding="utf-8").read().splitlines():
        w = line.split(" ", 3)
        if w[0] == "step" and w[1] == "promote":
            line, seen = f"step promote running {w[3]}", True
        elif w[0] == "step" and seen:
            line = f"step {w[1]} pending 0 0 -1 -"
        lines.append(line)
    T.write_file(ctx.state_file + ".tmp", ("\n".join(lines) + "\n").encode(), mode=0o600)
    os.rename(ctx.state_file + ".tmp", ctx.state_file)
    d = ctx.daemon(cfg, ready=False)
    d.wait_log(LOG.RESUMED + " promote", ctx.t(10), fail_on=(LOG.NOT_RESUMING,))
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), fail_on=(LOG.FAILED_AT,))
    ctx.expect(d.has_log("already promoted (not in recovery); not touched again"),
               "the resumed promote did not check the standby first")
    ctx.expect(not os.path.exists(ctx.trigger), f"a trigger file was left on the promoted server: {ctx.trigger}")
    ctx.expect_failed_over()
    ctx.stop_daemon(d)


_INTERRUPTED_AT_PROMOTE = (
    "blfailoverd-state 1\noutcome running\ntrigger automatic\nstarted 1764100000000000\nfinished 0\n"
    "failed_step -\nstep nginx_write ok 1 1 -1 -\nstep nginx_test ok 1 1 0 -\nstep ssh_check ok 1 1 0 -\n"
    "step promote running 1 0 -1 -\nstep switch pending 0 0 -1 -\nstep standby_stack pending 0 0 -1 -\n"
    "step verify pending 0 0 -1 -\nend\n")


def test_interrupted_promote_without_database_is_not_resumed(ctx):
    os.makedirs(ctx.state_dir, mode=0o700, exist_ok=True)
    T.write_file(ctx.state_file, _INTERRUPTED_AT_PROMOTE.encode(), mode=0o600)
    d = ctx.daemon(ready=False)
    line = d.wait_log(LOG.NOT_RESUMING, ctx.t(10))
    ctx.expect("cannot be checked" in line, f"the refusal does not say why: {line!r}")
    d.wait_log("finish the remaining steps by hand", ctx.t(5))
    text = d.text()
    for step, word in (("nginx_test", "done"), ("promote", "interrupted"), ("standby_stack", "left")):
        ctx.expect(any(step in ln and word in ln for ln in text.splitlines()),
                   f"the refusal does not say {step} is {word}")
    r = ctx.cli(*T.ARGS_STATUS)
    ctx.expect("interrupted" in r.stdout and "promote" in r.stdout, f"--status:\n{r.stdout}")
    ctx.topo.active.set_mode("500")
    ctx.sleep(_cycles(THRESHOLD + 1))
    ctx.expect_eq(d.count_log(LOG.STARTED), 0, "failovers started over an unresumable record")
    ctx.expect_eq(state_outcome(ctx), "running", "the record after a refused resume")
    ctx.expect_site_original()
    ctx.expect_standby_in_recovery()
    ctx.stop_daemon(d)


def test_torn_state_file_is_an_error_never_empty(ctx):
    ctx.write_config()
    os.makedirs(ctx.state_dir, mode=0o700, exist_ok=True)
    torn = b"blfailoverd-state 1\noutcome succeeded\ntrigger automatic\nstarted 17"   # cut mid-write, no "end"
    T.write_file(ctx.state_file, torn, mode=0o600)
    r = ctx.cli(*T.ARGS_STATUS)
    ctx.expect(r.returncode != T.EXIT_OK, "--status of a torn state file exits 0")
    ctx.expect("corrupt or truncated" in r.stderr, f"--status does not say the record is torn:\n{r.stderr}")
    r = ctx.cli(*T.ARGS_ONCE)
    ctx.expect_rc(r, T.EXIT_REFUSED, "--once with a torn state file")
    d = ctx.daemon()
    m = d.mark()
    ctx.expect(d.has_log(LOG.STATE_UNREADABLE), "the daemon did not log the torn record")
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.THRESHOLD, ctx.t(DETECT + 5), since=m)
    ctx.sleep(_cycles(1))
    ctx.expect_eq(d.count_log(LOG.STARTED), 0, "failovers started over a torn record")
    ctx.stop_daemon(d)
    ctx.expect_eq(T.read_bytes(ctx.state_file), torn, "the torn record was changed")
    ctx.expect_site_original()


# ---------------------------------------------------------------------------------------------------- drill

DRILL_ARGS = [*T.ARGS_ONCE, *T.ARGS_DRY_RUN]


def _drill_lines(r):
    return [ln for ln in r.stdout.splitlines() if ln.startswith("drill")]


def _drill_check(ctx, r, name, word):
    ctx.expect(any(ln.split()[1:3] == [name, word] for ln in _drill_lines(r)),
               f"no `drill: {name} {word}` line in:\n" + "\n".join(_drill_lines(r)))


def test_drill_healthy_pair_would_proceed(ctx):
    ctx.write_config(db_config(ctx))
    r = ctx.cli(*DRILL_ARGS)
    ctx.expect_rc(r, T.EXIT_OK, "--once --dry-run on a healthy pair")
    for name in ("standby", "database", "ssh_check", "nginx_test"):
        _drill_check(ctx, r, name, "ok")
    ctx.expect("the rewritten file was not tested" in r.stdout, "the drill does not say the rewrite was not tested")
    ctx.expect(any(ln.startswith("+++ ") for ln in r.stdout.splitlines()), "no nginx diff in the drill")
    ctx.expect_eq(r.stdout.strip().splitlines()[-1], "drill verdict: the failover would proceed", "verdict line")
    ctx.expect_unchanged()


def test_drill_tests_the_rewrite_on_a_copy(ctx):
    cfg = db_config(ctx)
    # A test command that names the site file, and passes only for a switched upstream (no `backup` left): it
    # can only pass if the drill handed it the rewritten copy.
    check = ("import sys, re\n"
             "t = open(sys.argv[1]).read()\n"
             "up = re.search(r'upstream blacklake_backend \\{(.*?)\\}', t, re.S).group(1)\n"
             "sys.exit(1 if 'backup' in up else 0)\n")
    cfg["failover"]["nginx"]["test_command"] = [T.PYTHON, "-c", check, ctx.topo.nginx.site]
    ctx.write_config(cfg)
    r = ctx.cli(*DRILL_ARGS)
    ctx.expect_rc(r, T.EXIT_OK, "drill with a test command that names the site file")
    ctx.expect("on a private copy of the rewritten site file" in r.stdout, f"not tested on a copy:\n{r.stdout}")
    ctx.expect_unchanged()
    leftovers = [n for n in os.listdir(os.environ.get("TMPDIR") or "/tmp") if n.startswith("blfailoverd-drill-")]
    ctx.expect_eq(leftovers, [], "drill copies left in the temporary directory")


def test_drill_split_brain_would_hold(ctx):
    ctx.write_config(db_config(ctx, primary=True))
    r = ctx.cli(*DRILL_ARGS)
    ctx.expect_rc(r, T.EXIT_REFUSED, "drill with a live primary and no fence")
    _drill_check(ctx, r, "ssh_check", "ok")       # every check still runs
    last = r.stdout.strip().splitlines()[-1]
    ctx.expect(last.startswith("drill verdict: HELD by gate split_brain"), f"verdict line: {last!r}")
    ctx.expect_unchanged()


def test_drill_lagging_standby_would_hold(ctx):
    make_lag(ctx)
    ctx.write_config(db_config(ctx, max_lag_bytes="64kB", catch_up_timeout="500ms"))
    r = ctx.cli(*DRILL_ARGS)
    ctx.expect_rc(r, T.EXIT_REFUSED, "drill with a lagging standby")
    _drill_check(ctx, r, "database", "FAILED")
    last = r.stdout.strip().splitlines()[-1]
    ctx.expect(last.startswith("drill verdict: HELD by gate replication_lag") and "bytes of WAL" in last,
               f"verdict line: {last!r}")
    ctx.expect_unchanged()


def test_drill_ssh_unreachable_would_fail(ctx):
    cfg = db_config(ctx)
    cfg["failover"]["promote"]["ssh"]["port"] = T.PORT_UNUSED
    ctx.write_config(cfg)
    r = ctx.cli(*DRILL_ARGS)
    ctx.expect_rc(r, T.EXIT_FAILED, "drill with ssh unreachable")
    _drill_check(ctx, r, "ssh_check", "FAILED")
    last = r.stdout.strip().splitlines()[-1]
    ctx.expect(last.startswith("drill verdict: WOULD FAIL"), f"verdict line: {last!r}")
    ctx.expect_unchanged()


if __name__ == "__main__":
    sys.exit("run these through run.py")
