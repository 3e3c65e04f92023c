"""scenarios_sshmux: the warm ssh master to the standby DB host (issue 11.6) against the real sshd.

The daemon keeps `ssh -M -N` logged in to sshd with its control socket in state_dir/ssh/master (0700); the
failover's ssh_check and promote ride on it, so sshd sees no login during a failover. A master that dies is
replaced; a step whose master died under it logs in afresh. Logins are counted in sshd's own log
("Accepted publickey for postgres"), which says every authenticated login and nothing of multiplexed sessions.
"""
import os
import signal
import socket
import stat
import subprocess
import time

import topology as T
from topology import LOG
from scenarios import DETECT, valgrind

MASTER_UP = "ssh master to 127.0.0.1: logged in"
MASTER_ENDED = "ssh master to 127.0.0.1 ended"
LOGIN = f"Accepted publickey for {T.PG_USER}"


def _socket_path(ctx):
    return os.path.join(ctx.state_dir, "ssh", "master")


def _sshd_log_size(ctx):
    return os.path.getsize(ctx.topo.sshd.log)


def _logins_since(ctx, size):
    with open(ctx.topo.sshd.log, "rb") as f:
        f.seek(size)
        return f.read().decode("utf-8", "replace").count(LOGIN)


def _ssh_control(ctx, path, *args):
    """ssh -O check|exit against the daemon's socket, exactly as an operator would."""
    sshd = ctx.topo.sshd
    argv = [T.SSH, "-F", "none", "-o", f"ControlPath={path}", *args, "-p", str(sshd.port),
            f"{T.PG_USER}@{T.HOST}"]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=ctx.t(10))


def _master_pids(d):
    """The daemon's ssh -M children (own process group, still its children)."""
    return [p for p, _ in T.descendants(d.pid) if " -M " in T.proc_cmdline(p)]


def _wait_master(ctx, d, since):
    d.wait_log(MASTER_UP, ctx.t(15), since=since)
    path = _socket_path(ctx)
    ctx.expect(stat.S_ISSOCK(os.lstat(path).st_mode), f"{path} is not a socket")
    r = _ssh_control(ctx, path, "-O", "check")
    ctx.expect_eq(r.returncode, 0, f"ssh -O check on {path} ({r.stderr.strip()})")
    pids = _master_pids(d)
    ctx.expect_eq(len(pids), 1, "ssh master processes under the daemon")
    return pids[0]


def _step_seconds(text, step):
    for line in text.splitlines():
        i = line.find(f"failover: step {step} ok (")
        if i >= 0:
            return float(line[i:].split("(", 1)[1].split("s)", 1)[0])
    return None


def test_ssh_master_warm_and_reused(ctx):
    d = ctx.daemon(ready=False)
    _wait_master(ctx, d, 0)
    ctx.wait_ready(d)
    mode = stat.S_IMODE(os.stat(os.path.dirname(_socket_path(ctx))).st_mode)
    ctx.expect_eq(oct(mode), oct(0o700), "mode of the socket's directory")
    before = _sshd_log_size(ctx)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.SUCCEEDED, ctx.t(DETECT + 30), since=m, fail_on=(LOG.FAILED_AT,))
    text = d.text()[m:]
    ctx.expect_failed_over(text)
    ctx.expect_eq(_logins_since(ctx, before), 0, "ssh logins sshd saw during the failover (the master carries both "
                  "steps)")
    times = {s: _step_seconds(text, s) for s in ("ssh_check", "promote")}
    print(f"    ssh steps over the master: {times}")
    ctx.stop_daemon(d)
    ctx.expect(not os.path.exists(_socket_path(ctx)), "the control socket is left after the daemon stopped")
    ctx.expect_eq(_ssh_control(ctx, _socket_path(ctx), "-O", "check").returncode, 255, "ssh -O check after stop")


@valgrind
def test_ssh_master_killed_fresh_login_then_back(ctx):
    # ssh itself falls back to a login when the socket is missing or dead (nothing listens): what the steps rely
    # on when the master dies between the plan and the step.
    sshd = ctx.topo.sshd
    stale = os.path.join(ctx.dir, "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()
    for path in (stale, os.path.join(ctx.dir, "missing.sock")):
        argv = sshd.ssh_argv("true")
        argv[1:1] = ["-o", "ControlMaster=no", "-o", f"ControlPath={path}"]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=ctx.t(30))
        ctx.expect_eq(r.returncode, 0, f"ssh through a dead control path {path} ({r.stderr.strip()})")

    # The fence step (between ssh_check and promote) kills the master: promote must log in afresh.
    d = ctx.daemon(ready=False)
    first = _wait_master(ctx, d, 0)
    ctx.wait_ready(d)
    cfg = ctx.config()
    cfg["failover"]["fence"] = {"command": ["/bin/kill", "-KILL", str(first)], "timeout": "5s"}
    m = d.mark()
    ctx.write_config(cfg)
    d.signal(signal.SIGHUP)
    d.wait_log(LOG.RELOADED, ctx.t(10), since=m)
    ctx.expect(d.count_log(MASTER_UP, since=m) == 0 and T.proc_alive(first),
               "a reload that leaves ssh alone must keep the master")
    before = _sshd_log_size(ctx)
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.SUCCEEDED, ctx.t(DETECT + 30), since=m, fail_on=(LOG.FAILED_AT,))
    ctx.expect_steps_in_order(d.text()[m:], ("ssh_check", "fence", "promote", "switch"))
    d.wait_log(MASTER_ENDED, ctx.t(5), since=m)
    ctx.topo.pg.wait_promoted(ctx.t(20))
    # ... and the master comes back (backoff 1 s) under a new pid. Two logins in all: promote's own (its master
    # was gone) and the new master's; ssh_check rode on the first master.
    again = _wait_master(ctx, d, m)
    ctx.expect_eq(_logins_since(ctx, before), 2, "ssh logins sshd saw (promote afresh + the new master)")
    ctx.expect(again != first, "the master was not replaced")
    t0 = time.monotonic()
    while T.proc_alive(first) and time.monotonic() - t0 < ctx.t(5):
        time.sleep(0.05)
    ctx.expect(not T.proc_alive(first), "the killed master is still alive")
    ctx.stop_daemon(d)
    ctx.expect(not T.proc_alive(again), "the master outlived the daemon")


def test_ssh_master_not_used_by_the_drill(ctx):
    ctx.write_config()
    r = ctx.cli("--once", "--dry-run")
    ctx.expect_rc(r, 0, "--once --dry-run")
    ctx.expect(not os.path.exists(os.path.dirname(_socket_path(ctx))), "the drill created the ssh master's directory")
    ctx.expect("ControlPath" not in r.stdout, "the drill's plan names a ControlPath")


def test_ssh_master_dies_with_a_killed_daemon(ctx):
    """SIGKILL leaves no time to stop the master: it must go by itself (outside systemd's cgroup too), not linger
    logged in to the database host."""
    d = ctx.daemon(ready=False)
    master = _wait_master(ctx, d, 0)
    d.signal(signal.SIGKILL)
    d.stopped_by_us = signal.SIGKILL
    ctx.expect_eq(d.wait_exit(ctx.t(10)), -signal.SIGKILL, "daemon exit after SIGKILL")
    try:
        T.wait_until(lambda: not T.proc_alive(master), ctx.t(5), f"the ssh master (pid {master}) to exit")
    finally:
        if T.proc_alive(master):
            os.kill(master, signal.SIGKILL)
