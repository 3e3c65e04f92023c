"""scenarios_promises: README promises that only unit tests covered, shown on the real servers (issue #15) -- no
record, no failover (an unwritable state_dir); the failover starts at exactly the threshold-th failure, counted on
the API stand-in's own request log; a hung /health is cut by health.timeout, not by the next tick.

The read-only state_dir is a bind mount of the scenario's state directory onto itself, remounted read-only (we run
as root); it is unmounted in a `finally`, and whatever a crash left mounted is unmounted at exit (atexit).
"""
import atexit
import contextlib
import json
import os
import subprocess

import topology as T
from topology import LOG
from scenarios import DETECT, INTERVAL, THRESHOLD, TIMEOUT, _cycles
from scenarios_observability import PORT_METRICS, scrape, with_metrics


class PROMISE:
    """Stable substrings of the daemon's log lines for this file."""
    NOT_STARTED = "failover: not started: cannot record it in "
    OLD_COULD_NOT_START = "failover: could not start"


_mounted = set()


def _umount(path):
    for argv in (["umount", path], ["umount", "-l", path]):
        if subprocess.run(argv, capture_output=True, timeout=30).returncode == 0:
            _mounted.discard(path)
            return True
    return False


@atexit.register
def _umount_leftovers():
    for path in list(_mounted):
        _umount(path)


@contextlib.contextmanager
def read_only(ctx, path):
    """path, read-only for everyone (root included) while the block runs: a bind mount onto itself, remounted ro."""
    subprocess.run(["mount", "--bind", path, path], check=True, capture_output=True, timeout=30)
    _mounted.add(path)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", path], check=True, capture_output=True, timeout=30)
        probe = os.path.join(path, ".probe")
        try:
            open(probe, "w").close()
            os.unlink(probe)
            ctx.fail(f"{path} is still writable after the read-only bind mount")
        except OSError:
            pass
        yield path
    finally:
        if not _umount(path):
            ctx.fail(f"cannot unmount the read-only bind mount on {path}; `umount -l {path}` by hand")


def _metric(samples, name):
    for (n, labels), v in samples.items():
        if n == name and not labels:
            return v
    return None


# ------------------------------------------------------------------------------------------- no record, no failover

def test_state_dir_read_only_no_failover_said_once(ctx):
    d = ctx.daemon(with_metrics(ctx.config()))
    T.wait_until(lambda: os.path.exists(os.path.join(ctx.state_dir, "status")), ctx.t(5), "the live view")
    with read_only(ctx, ctx.state_dir):
        m = d.mark()
        ctx.topo.active.set_mode("500")
        line = d.wait_log(PROMISE.NOT_STARTED, ctx.t(DETECT + 5), since=m, fail_on=(LOG.STARTED,))
        ctx.expect(ctx.state_file in line and "Read-only file system" in line,
                   f"the refusal does not name the record and why: {line!r}")
        # Several more checks with the directory still read-only: each retries, none says it again.
        ctx.topo.active.wait_health_hits(ctx.topo.active.hits() + 4, ctx.t(_cycles(6)))
        text = d.text()[m:]
        ctx.expect_eq(text.count(PROMISE.NOT_STARTED), 1, "times `failover: not started` was logged while it "
                      "persisted")
        ctx.expect_eq(text.count(LOG.THRESHOLD), 1, "times `threshold reached` was logged")
        ctx.expect(PROMISE.OLD_COULD_NOT_START not in text, "the refusal was logged a second way")
        ctx.expect(LOG.STARTED not in text, "a failover started without its record")
        ctx.expect_unchanged()          # site file byte-identical, no step ran (recorder empty), no backup

        st = json.loads(ctx.cli("--status", "--json").stdout)
        ctx.expect_eq(st["state_dir"]["writable"], False, "--status --json state_dir.writable")
        ctx.expect_eq(st["state_dir"]["error"], "Read-only file system", "--status --json state_dir.error")
        human = ctx.cli(*T.ARGS_STATUS)
        ctx.expect_rc(human, T.EXIT_OK, "--status")
        ctx.expect(f"state dir: {ctx.state_dir} takes no new file (Read-only file system)" in human.stdout,
                   f"--status does not say why no failover can start:\n{human.stdout}")
        samples, _ = scrape(PORT_METRICS)
        ctx.expect_eq(_metric(samples, "blfailoverd_failover_not_started"), 1.0,
                      "blfailoverd_failover_not_started while refused")
    # Writable again: the next check starts the failover the refusal held back.
    d.wait_log(LOG.SUCCEEDED, ctx.t(DETECT + 30), since=m, fail_on=(LOG.FAILED_AT,))
    ctx.expect_failed_over(d.text())
    samples, _ = scrape(PORT_METRICS)
    ctx.expect_eq(_metric(samples, "blfailoverd_failover_not_started"), 0.0,
                  "blfailoverd_failover_not_started once it started")
    ctx.stop_daemon(d)


# ------------------------------------------------------------------------------------------- the threshold-th failure

def test_failover_starts_at_exactly_the_threshold_th_failure(ctx):
    api = ctx.topo.active
    d = ctx.daemon()
    m = d.mark()
    n0 = len(api.health_log())
    # Exactly `threshold` failures, then healthy: started one later, it would never start.
    api.script(*["500"] * THRESHOLD)
    line = d.wait_log(LOG.STARTED, ctx.t(DETECT + 5), since=m)
    started = T.log_time(line)
    reqs = api.health_log()[n0:]
    fails = [r for r in reqs if r.answer == "500"]
    ctx.expect_eq(len(fails), THRESHOLD, f"500s the active's stand-in served ({reqs})")
    last = fails[-1]
    # Log stamps are truncated to the millisecond; checks are INTERVAL apart, so 50 ms of slack decides nothing.
    ctx.expect(started >= last.end - 0.05, f"failover started {last.end - started:.3f}s before the "
               f"{THRESHOLD}th failure was answered (requests: {reqs})")
    nxt = [r for r in reqs if r.start > last.start]
    ctx.expect(not nxt or started < nxt[0].start, f"failover started only after request {THRESHOLD + 1} "
               f"({started - nxt[0].start if nxt else 0:.3f}s after it arrived; requests: {reqs})")
    ctx.expect(started - last.end < INTERVAL / 2, f"failover started {started - last.end:.3f}s after the "
               f"{THRESHOLD}th failure; expected at once")
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT,))
    ctx.expect_failed_over(d.text())
    ctx.stop_daemon(d)


# ------------------------------------------------------------------------------------------- health.timeout cuts it

HUNG_INTERVAL = 2.0     # far from TIMEOUT: a cut at the next tick is ~1.7 s later than one at the timeout
HUNG_THRESHOLD = 10     # never reached here: this scenario is about the cut, not the failover


def test_hung_health_is_cut_by_health_timeout_not_the_next_tick(ctx):
    api = ctx.topo.active
    d = ctx.daemon(ctx.config(interval=HUNG_INTERVAL, timeout=TIMEOUT, failure_threshold=HUNG_THRESHOLD))
    m = d.mark()
    n0 = len(api.health_log())
    api.set_mode("hang")
    cuts = []
    for n in (1, 2):
        line = d.wait_log(LOG.active_failing(n, HUNG_THRESHOLD), ctx.t(HUNG_INTERVAL * 2 + 2), since=m)
        ctx.expect("timeout" in line.lower() or "timed out" in line.lower(), f"not cut as a timeout: {line!r}")
        failed = T.log_time(line)
        hung = [r for r in api.health_log()[n0:] if r.start <= failed + 0.05]
        ctx.expect(len(hung) >= n, f"failure {n} logged before the stand-in saw request {n}: {hung}")
        cuts.append(failed - hung[n - 1].start)
    api.set_mode("ok")
    for n, cut in enumerate(cuts, 1):
        ctx.expect(cut >= TIMEOUT - 0.05, f"hung check {n} failed {cut:.3f}s after it reached the stand-in, before "
                   f"health.timeout ({TIMEOUT}s)")
        # Half way between the timeout and the next tick: a cut by the tick lands ~HUNG_INTERVAL after the start.
        limit = TIMEOUT + (HUNG_INTERVAL - TIMEOUT) / 2
        ctx.expect(cut <= ctx.t(limit), f"hung check {n} was cut {cut:.3f}s after it reached the stand-in; "
                   f"health.timeout is {TIMEOUT}s, the next tick {HUNG_INTERVAL}s (limit {ctx.t(limit):.2f}s)")
    ctx.stop_daemon(d)
