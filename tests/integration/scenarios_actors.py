"""scenarios_actors: one actor per pair (issue #11.1) — a second daemon refuses, commands given while a daemon runs are
carried out by it (so its record and loop see them), a daemon killed mid-command leaves a caller with a clear error
and a record that tells, and the signals the daemon defines (USR1, USR2, PIPE). Real servers, the standard topology.
"""
import fcntl
import os
import signal
import subprocess
import time

import topology as T
from topology import LOG
from scenarios import DETECT, THRESHOLD, _cycles, _fail_active_and_wait, valgrind
from scenarios_safety import _slow, db_config, make_lag, state_outcome

EXIT_BUSY = 75
CONTROL = "control"
LOCK = "lock"


def _one_failover_in_all(ctx, daemons):
    started = sum(d.count_log(LOG.STARTED) for d in daemons)
    ctx.expect_eq(started, 1, "failovers started, by every daemon and command together")
    ctx.expect_eq(ctx.topo.recorder.argvs(), [T.STACK_ARGV], "standby stack commands recorded")


@valgrind
def test_once_through_the_daemon_then_active_fails_fails_over_once(ctx):
    d = ctx.daemon()
    m = d.mark()
    r = ctx.cli(*T.ARGS_ONCE)
    ctx.expect_rc(r, T.EXIT_OK, "--once while the daemon runs")
    ctx.expect_failed_over()
    # The old active now fails its checks: the daemon knows the failover happened and does not act again.
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.active_failing(THRESHOLD, THRESHOLD), ctx.t(DETECT + 5), since=m)
    time.sleep(ctx.t(_cycles(2)))
    _one_failover_in_all(ctx, [d])
    ctx.expect(LOG.SUCCEEDED in r.stderr, f"--once did not relay the daemon's progress:\n{r.stderr}")
    ctx.expect(d.has_log("control: once requested by pid", since=m), "the daemon did not carry out the --once")
    ctx.expect(d.has_log(LOG.SUCCEEDED, since=m), "the daemon's own log does not show the failover")
    r = ctx.cli(*T.ARGS_ONCE)
    ctx.expect_rc(r, T.EXIT_REFUSED, "a second --once through the daemon")
    ctx.expect(LOG.ALREADY_DONE in r.stderr, f"the refusal does not say why:\n{r.stderr}")
    _one_failover_in_all(ctx, [d])
    ctx.expect(d.running(), "the daemon exited")
    ctx.stop_daemon(d)


def test_once_through_the_daemon_refused_by_a_gate(ctx):
    ctx.topo.standby.set_mode("500")
    d = ctx.daemon(ready=False)
    d.wait_log(LOG.STANDBY_FAILING, ctx.t(10))
    r = ctx.cli(*T.ARGS_ONCE)
    ctx.expect_rc(r, T.EXIT_REFUSED, "--once through the daemon with the standby failing")
    ctx.expect(LOG.HELD in r.stderr, f"the refusal does not name the gate:\n{r.stderr}")
    ctx.expect_unchanged()
    ctx.stop_daemon(d)


def test_second_daemon_refuses_naming_the_first(ctx):
    d1 = ctx.daemon()
    d2 = ctx.daemon(ready=False)
    rc = d2.wait_exit(ctx.t(10))
    ctx.expect_eq(rc, EXIT_BUSY, "exit status of a second daemon on the same state_dir")
    ctx.expect(d2.has_log(f"another blfailoverd (pid {d1.pid}:"), f"the refusal does not name pid {d1.pid}:\n"
               + d2.text())
    ctx.expect(os.path.exists(os.path.join(ctx.state_dir, CONTROL)), "the second daemon removed the control socket")
    _fail_active_and_wait(ctx, d1)
    time.sleep(ctx.t(_cycles(2)))
    _one_failover_in_all(ctx, [d1, d2])
    ctx.expect_failed_over(d1.text())
    # The first daemon still answers commands: the refused one did not take the socket over.
    r = ctx.cli(*T.ARGS_ONCE)
    ctx.expect_rc(r, T.EXIT_REFUSED, "--once after the failover")
    ctx.stop_daemon(d1)


def test_clear_state_through_the_daemon_rearms_without_reload(ctx):
    bad = ctx.config()
    bad["failover"]["nginx"]["test_command"] = ["/bin/false"]
    d = ctx.daemon(bad)
    _fail_active_and_wait(ctx, d, wait_for=LOG.failed_at("nginx_test"))
    ctx.expect_unchanged(attempted=True)
    ctx.topo.active.set_mode("ok")
    m = d.mark()
    d.wait_log(LOG.ACTIVE_HEALTHY, ctx.t(10), since=m)
    ctx.write_config()          # the operator fixed the config while rebuilding: --clear-state puts it in force
    r = ctx.cli(*T.ARGS_CLEAR_STATE)
    ctx.expect_rc(r, T.EXIT_OK, "--clear-state while the daemon runs")
    ctx.expect("cleared the failover record" in r.stdout and "watching again" in r.stdout,
               f"--clear-state did not say what it did:\n{r.stdout}{r.stderr}")
    ctx.expect(not os.path.exists(ctx.state_file), "--clear-state left the record")
    ctx.expect(not d.has_log(LOG.RELOADED, since=m), "the daemon needed a reload")
    m = d.mark()
    _fail_active_and_wait(ctx, d)
    ctx.expect_failed_over(d.text()[m:])
    ctx.expect_eq(d.count_log(LOG.STARTED), 2, "failover attempts (the failed one, then after --clear-state)")
    ctx.stop_daemon(d)


_V1_PROMOTED = (
    "blfailoverd-state 1\noutcome succeeded\ntrigger automatic\nstarted 1764100000000000\n"
    "finished 1764100003000000\nfailed_step -\nstep nginx_write ok 1 1 -1 -\nstep promote ok 1 1 0 -\nend\n")


def test_v1_record_then_forget_roles(ctx):
    """A record written by the previous release (format 1, no site names) reads as a latched failover whose standby
    serves; --clear-state --forget-roles goes through the daemon (control verb "1 clear-state forget-roles") and, with
    the runbook form, removes the record as --clear-state does."""
    ctx.write_config()
    os.makedirs(ctx.state_dir, mode=0o700, exist_ok=True)
    T.write_file(ctx.state_file, _V1_PROMOTED.encode(), mode=0o600)
    r = ctx.cli("--forget-roles")
    ctx.expect_rc(r, 2, "--forget-roles without --clear-state")
    ctx.expect("--forget-roles only goes with --clear-state" in r.stderr, f"no usage sentence:\n{r.stderr}")
    r = ctx.cli(*T.ARGS_STATUS)
    ctx.expect_rc(r, T.EXIT_OK, "--status of a format-1 record")
    ctx.expect(f"roles: {T.STANDBY_NAME} serves, {T.ACTIVE_NAME} standby · epoch 1 · latch failover" in r.stdout,
               f"--status does not map the format-1 record:\n{r.stdout}")
    d = ctx.daemon()
    ctx.expect(d.has_log(LOG.ALREADY_DONE), "the daemon did not hold on the format-1 record")
    r = ctx.cli(*T.ARGS_CLEAR_STATE, "--forget-roles")
    ctx.expect_rc(r, T.EXIT_OK, "--clear-state --forget-roles while the daemon runs")
    ctx.expect("cleared the failover record" in r.stdout and f"(pid {d.pid})" in r.stdout,
               f"the daemon did not carry it out:\n{r.stdout}{r.stderr}")
    ctx.expect(not os.path.exists(ctx.state_file), "--clear-state --forget-roles left the record")
    r = ctx.cli(*T.ARGS_STATUS)
    ctx.expect(f"roles: {T.ACTIVE_NAME} serves, {T.STANDBY_NAME} standby · epoch 0 · latch none" in r.stdout,
               f"--status after clearing:\n{r.stdout}")
    ctx.stop_daemon(d)


def test_clear_state_through_the_daemon_refuses_a_broken_config(ctx):
    d = ctx.daemon()
    _fail_active_and_wait(ctx, d)
    T.write_config(ctx.config_path, "state_dir: [unterminated\n")
    good = os.path.join(ctx.dir, "cli.yml")
    T.write_config(good, ctx.config())      # the CLI's copy is fine; the daemon's file is not
    r = ctx.cli(*T.ARGS_CLEAR_STATE, config=good)
    ctx.expect_rc(r, T.EXIT_CONFIG, "--clear-state while the daemon's config file is broken")
    ctx.expect(os.path.exists(ctx.state_file), "the record was cleared although the config is broken")
    ctx.expect(d.running(), "the daemon exited")
    ctx.stop_daemon(d)


def test_once_against_a_daemon_killed_mid_command(ctx):
    cfg = db_config(ctx)
    fl = cfg["failover"]
    fl["nginx"]["reload_command"], flag = _slow(ctx, fl["nginx"]["reload_command"])
    T.write_file(flag, b"")
    d = ctx.daemon(cfg)
    argv = [ctx.bin, "-c", ctx.config_path, *T.ARGS_ONCE]
    cli = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=T.daemon_env())
    try:
        d.wait_log("failover: step switch started", ctx.t(30), fail_on=(LOG.FAILED_AT, LOG.HELD_ANY))
        pidfile = os.path.join(ctx.dir, "slow.pid")
        T.wait_until(lambda: os.path.exists(pidfile) and os.path.getsize(pidfile) > 0, ctx.t(10),
                     "the blocked step to record its pid")
        d.signal(signal.SIGKILL)
        d.stopped_by_us = signal.SIGKILL
        out, err = cli.communicate(timeout=ctx.t(10))
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        if os.path.exists(flag):
            os.unlink(flag)
    pidfile = os.path.join(ctx.dir, "slow.pid")
    if os.path.exists(pidfile):
        blocked = int(open(pidfile).read())
        if T.proc_alive(blocked):
            os.kill(blocked, signal.SIGKILL)
    ctx.expect_eq(cli.returncode, T.EXIT_FAILED, "--once exit status when the daemon dies mid-command")
    ctx.expect(f"the daemon (pid {d.pid}) closed the connection before the command finished" in err,
               f"--once does not say what happened:\n{err}")
    ctx.expect("failover: step switch started" in err, f"--once did not relay the progress:\n{err}")
    ctx.expect_eq(state_outcome(ctx), "running", "recorded outcome after the daemon died")
    r = ctx.cli(*T.ARGS_STATUS)
    ctx.expect("interrupted" in r.stdout, f"--status does not tell the failover was interrupted:\n{r.stdout}")
    # With no daemon left, the lock is free again: the next daemon resumes, it does not refuse.
    d2 = ctx.daemon(cfg, ready=False)
    d2.wait_log(LOG.RESUMED, ctx.t(10), fail_on=(LOG.NOT_RESUMING,))
    d2.wait_log(LOG.SUCCEEDED, ctx.t(30), fail_on=(LOG.FAILED_AT,))
    ctx.stop_daemon(d2)


def test_commands_wait_for_a_lock_holder_that_takes_no_commands(ctx):
    ctx.write_config()
    os.makedirs(ctx.state_dir, mode=0o700, exist_ok=True)
    # Another command holding the lock (a POSIX record lock, as blfailoverd takes it): not a daemon, no socket.
    holder = subprocess.Popen([T.PYTHON, "-c",
                               "import fcntl,sys,time\n"
                               f"f=open({os.path.join(ctx.state_dir, LOCK)!r},'a')\n"
                               "fcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(60)\n"],
                              stdout=subprocess.PIPE, text=True)
    try:
        ctx.expect_eq(holder.stdout.readline().strip(), "locked", "the test's lock holder")
        for args in (T.ARGS_ONCE, T.ARGS_CLEAR_STATE):
            r = ctx.cli(*args)
            ctx.expect_rc(r, EXIT_BUSY, f"{' '.join(args)} while another process holds the lock")
            ctx.expect(f"another blfailoverd (pid {holder.pid}) is changing this pair" in r.stderr,
                       f"{' '.join(args)} does not name the holder:\n{r.stderr}")
        d = ctx.daemon(ready=False)
        ctx.expect_eq(d.wait_exit(ctx.t(10)), EXIT_BUSY, "daemon exit status while another holds the lock")
        ctx.expect(d.has_log(f"(pid {holder.pid}:"), "the daemon's refusal does not name the holder")
    finally:
        holder.kill()
        holder.wait()
    ctx.expect_unchanged()


def test_signals_usr1_usr2_pipe(ctx):
    d = ctx.daemon()
    m = d.mark()
    d.signal(signal.SIGUSR1)
    d.wait_log("status (SIGUSR1): active ok 0/3", ctx.t(5), since=m)
    d.signal(signal.SIGPIPE)
    d.signal(signal.SIGUSR2)
    d.wait_log("debug logging on", ctx.t(5), since=m)
    d.wait_log("tick: due", ctx.t(5), since=m)
    m = d.mark()                    # before the signal: the answer may come before the next line of this test
    d.signal(signal.SIGUSR2)
    d.wait_log("debug logging off", ctx.t(5), since=m)
    time.sleep(ctx.t(_cycles(2)))
    ctx.expect(not d.has_log("tick: due", since=d.text().find("debug logging off", m)),
               "debug lines after SIGUSR2 turned them off")
    ctx.expect(d.running(), "the daemon died of SIGUSR1, SIGUSR2 or SIGPIPE")
    ctx.stop_daemon(d)


def test_check_refuses_a_state_dir_too_long_for_the_control_socket(ctx):
    cfg = ctx.config()
    cfg["state_dir"] = os.path.join(ctx.dir, "s" * 110)
    ctx.write_config(cfg)
    r = ctx.cli(*T.ARGS_CHECK)
    ctx.expect_rc(r, T.EXIT_CONFIG, "-t with a state_dir too long for the control socket")
    ctx.expect("too long for the control socket" in r.stderr, f"-t does not say why:\n{r.stderr}")


# ---------------------------------------------------------------------------------------------------- the pause

PAUSED = "paused for maintenance since"
HELD_PAUSED = "failover: held: paused for maintenance"


def test_pause_holds_automatic_failover_across_a_restart_until_resume(ctx):
    d = ctx.daemon()
    r = ctx.cli("--pause", "--reason", "kernel upgrade on db1")
    ctx.expect_rc(r, T.EXIT_OK, "--pause while the daemon runs")
    ctx.expect("paused" in r.stdout, f"--pause did not say what it did:\n{r.stdout}{r.stderr}")
    d.wait_log(PAUSED, ctx.t(5))
    r = ctx.cli(*T.ARGS_STATUS)
    ctx.expect("paused:" in r.stdout and "kernel upgrade on db1" in r.stdout, f"--status hides the pause:\n{r.stdout}")
    r = ctx.cli(*T.ARGS_STATUS, "--json")
    ctx.expect('"paused":{"since":' in r.stdout.replace(" ", ""), f"--status --json hides the pause:\n{r.stdout}")
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(HELD_PAUSED, ctx.t(DETECT + 5), since=m, fail_on=(LOG.STARTED,))
    time.sleep(ctx.t(_cycles(2)))
    ctx.expect_eq(d.count_log(HELD_PAUSED, since=m), 1, "times the pause hold was said")
    ctx.stop_daemon(d)
    # The pause is in the record: a restarted daemon is paused too.
    d2 = ctx.daemon(ready=False)
    d2.wait_log(PAUSED, ctx.t(10))
    d2.wait_log(HELD_PAUSED, ctx.t(DETECT + 10), fail_on=(LOG.STARTED,))
    ctx.expect_unchanged()
    m = d2.mark()
    r = ctx.cli("--resume")
    ctx.expect_rc(r, T.EXIT_OK, "--resume while the daemon runs")
    ctx.expect("resumed" in r.stdout, f"--resume did not say what it did:\n{r.stdout}{r.stderr}")
    d2.wait_log(LOG.SUCCEEDED, ctx.t(DETECT + 30), since=m, fail_on=(LOG.FAILED_AT,))
    ctx.expect_failed_over()
    ctx.expect(not os.path.exists(os.path.join(ctx.state_dir, "pause")), "--resume left the pause file")
    ctx.stop_daemon(d2)


def test_pause_without_a_daemon_then_once_still_works(ctx):
    ctx.write_config()
    r = ctx.cli("--pause")
    ctx.expect_rc(r, T.EXIT_OK, "--pause with no daemon")
    ctx.expect(os.path.exists(os.path.join(ctx.state_dir, "pause")), "--pause wrote no pause file")
    r = ctx.cli("--pause")
    ctx.expect_rc(r, T.EXIT_OK, "a second --pause")
    ctx.expect("already paused" in r.stdout, f"a second --pause does not say it was paused:\n{r.stdout}")
    d = ctx.daemon()
    d.wait_log(PAUSED, ctx.t(5))
    # Maintenance holds what the daemon does by itself, not what the operator asks for.
    r = ctx.cli(*T.ARGS_ONCE)
    ctx.expect_rc(r, T.EXIT_OK, "--once while paused")
    ctx.expect_failed_over()
    r = ctx.cli("--reason", "x")
    ctx.expect_rc(r, 2, "--reason without --pause")
    ctx.stop_daemon(d)
    r = ctx.cli("--resume")
    ctx.expect_rc(r, T.EXIT_OK, "--resume with no daemon")
    r = ctx.cli("--resume")
    ctx.expect("not paused" in r.stdout, f"a second --resume does not say so:\n{r.stdout}")


def test_once_through_the_daemon_withdrawn_when_its_caller_hangs_up(ctx):
    """Ctrl-C while the daemon still decides (a lagging standby given catch_up_timeout): nothing happens later."""
    make_lag(ctx)
    d = ctx.daemon(db_config(ctx, max_lag_bytes="64kB", catch_up_timeout="30s"))
    argv = [ctx.bin, "-c", ctx.config_path, *T.ARGS_ONCE]
    cli = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=T.daemon_env())
    try:
        d.wait_log("--once: waiting up to", ctx.t(15), fail_on=(LOG.STARTED,))
        cli.send_signal(signal.SIGINT)
        cli.communicate(timeout=ctx.t(10))
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    d.wait_log("--once withdrawn: its caller hung up", ctx.t(5))
    ctx.topo.pg.sql("standby", "select pg_wal_replay_resume()")
    time.sleep(ctx.t(3))            # replay catches up now: a request still alive would fail over
    ctx.expect(not d.has_log(LOG.STARTED), "a withdrawn --once failed over after its caller left")
    ctx.expect_unchanged()
    r = ctx.cli("--pause")          # the daemon takes commands again at once
    ctx.expect_rc(r, T.EXIT_OK, "--pause right after the withdrawn --once")
    ctx.stop_daemon(d)


def test_state_dir_others_can_write_is_refused(ctx):
    ctx.write_config()
    os.makedirs(ctx.state_dir, mode=0o700, exist_ok=True)
    os.chmod(ctx.state_dir, 0o777)
    try:
        d = ctx.daemon(ready=False)
        ctx.expect_eq(d.wait_exit(ctx.t(10)), T.EXIT_CONFIG, "daemon exit status on a world-writable state_dir")
        ctx.expect(d.has_log("is not this user's alone"), "the daemon does not say why")
        r = ctx.cli(*T.ARGS_CLEAR_STATE)
        ctx.expect_rc(r, T.EXIT_CONFIG, "--clear-state on a world-writable state_dir")
    finally:
        os.chmod(ctx.state_dir, 0o700)
