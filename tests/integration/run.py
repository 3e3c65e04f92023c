#!/usr/bin/python3
"""run: blfailoverd's integration test runner.

    run.py --bin PATH [--valgrind] [-k FILTER] [--counts FILE] [--keep] [--list] [--pending]

Discovers the scenarios (functions named test_* in scenarios*.py — see SCENARIO_MODULES —, in file order), brings the shared topology up
once (topology.py: PostgreSQL primary, sshd, nginx, the two API stand-ins, the docker recorder), then runs each
scenario against it with fresh per-scenario state: stand-ins "ok", recorder empty, the original nginx site file
loaded, a standby in recovery (rebuilt when the last scenario promoted it), a new scenario directory with its own
state_dir. A scenario fails on any exception; the daemons it started are then stopped with SIGTERM and must exit 0
(a crash, a sanitizer report or a hang on SIGTERM fails the scenario too).

Prints `PASS name (1.2s)` or `FAIL name: reason` (plus the tail of the daemon logs), and as its last line exactly
`N passed, M failed`. Exit status 0 iff M == 0. --counts FILE gets `passed N\\nfailed M\\n`.

--valgrind runs only the scenarios marked @valgrind, with every daemon invocation under
`valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99`, and requires exit status 0
(no memory errors, no definite leaks); valgrind's own log is printed on failure.

-k FILTER selects scenarios whose name contains FILTER (comma-separated: any of them).
--keep keeps the run directory under /tmp for inspection (processes are stopped regardless).
--pending also runs the scenarios a module names in its PENDING tuple (written before the code they test).
"""
import argparse
import contextlib
import copy
import difflib
import importlib
import os
import shutil
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import topology as T  # noqa: E402

# Scenario modules, in run order: the core, then each feature's own file.
SCENARIO_MODULES = ("scenarios", "scenarios_safety", "scenarios_observability", "scenarios_bounds",
                    "scenarios_actors", "scenarios_sshmux", "scenarios_resolve", "scenarios_promises",
                    "scenarios_lifecycle", "scenarios_rejoin_faults", "scenarios_switchover_faults",
                    "scenarios_etcd", "scenarios_cluster")


class ScenarioFailure(AssertionError):
    pass


class Ctx:
    """What a scenario gets: the topology, its own directory, the daemon binary, helpers and expectations."""

    def __init__(self, name, topo, binary, valgrind=False, factor=1.0):
        self.name = name
        self.topo = topo
        self.bin = binary
        self.valgrind = valgrind
        self.factor = factor
        self.dir = topo.scenario_dir(name)
        self.state_dir = os.path.join(self.dir, "state")
        self.state_file = os.path.join(self.state_dir, T.STATE_FILE)
        self.config_path = os.path.join(self.dir, "blfailoverd.yml")
        self.trigger = os.path.join(self.dir, "triggers", "promote.trigger")
        self.daemons = []
        self.cli_runs = []
        self._n_logs = 0

    # -- time
    def t(self, seconds):
        """A timeout scaled for slow builds (valgrind, sanitizers)."""
        return seconds * self.factor

    def sleep(self, seconds):
        time.sleep(self.t(seconds))

    # -- config
    def config(self, **health):
        """The standard config (dict) for this scenario: interval 500ms, timeout 300ms, threshold 3."""
        return copy.deepcopy(self.topo.config(self.dir, self.trigger, **health))

    def config_text(self, cfg=None):
        return T.render_yaml(cfg or self.config()) + "\n"

    def write_config(self, cfg=None, path=None):
        return T.write_config(path or self.config_path, self.config() if cfg is None else cfg)

    def use_trigger(self, path):
        """Point the standby (and the default config) at another trigger path."""
        self.topo.pg.set_trigger(path)
        self.trigger = path

    # -- the daemon
    def _prefix(self):
        if not self.valgrind:
            return []
        return [*T.VALGRIND, f"--log-file={os.path.join(self.dir, 'valgrind.%p.log')}"]

    def daemon(self, cfg=None, args=(), ready=True):
        """Start blfailoverd in the foreground with cfg (dict or text; None = the standard config) written to
        config_path. ready=True waits until it has logged the first verdict on both targets."""
        self.write_config(cfg)
        self._n_logs += 1
        log = os.path.join(self.dir, f"daemon{self._n_logs}.log")
        d = T.Daemon(self.bin, self.config_path, log, args=args, prefix=self._prefix())
        self.daemons.append(d)
        d.start()
        if ready:
            self.wait_ready(d)
        return d

    def wait_ready(self, d, active=T.LOG.ACTIVE_HEALTHY, standby=T.LOG.STANDBY_HEALTHY):
        d.wait_log(active, self.t(10))
        d.wait_log(standby, self.t(10))

    def stop_daemon(self, d, within=None):
        """SIGTERM; it must exit 0 (within `within` seconds when given)."""
        t0 = time.monotonic()
        rc = d.stop(timeout=self.t(10))
        took = time.monotonic() - t0
        self.expect(d.stopped_by_us != T.signal.SIGKILL, f"daemon did not exit within {self.t(10):.0f}s of SIGTERM")
        self.expect_eq(rc, 0, "daemon exit status after SIGTERM")
        if within is not None:
            self.expect(took <= within, f"daemon took {took:.2f}s to exit after SIGTERM (limit {within}s)")
        return rc

    def cli(self, *args, config=None, timeout=60):
        """Run `blfailoverd -c CONFIG ARGS...` to completion; returns CompletedProcess (stdout, stderr as text)."""
        argv = [*self._prefix(), self.bin, "-c", config or self.config_path, *args]
        t0 = time.monotonic()
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=self.t(timeout), env=T.daemon_env())
        except subprocess.TimeoutExpired as e:
            self.cli_runs.append((argv, None, e.stdout or "", e.stderr or ""))
            raise ScenarioFailure(f"`{' '.join(args)}` did not finish within {self.t(timeout):.0f}s") from None
        r.duration = time.monotonic() - t0
        self.cli_runs.append((argv, r.returncode, r.stdout, r.stderr))
        if self.valgrind:
            self.expect(r.returncode != T.VALGRIND_ERROR_EXIT,
                        f"valgrind reported errors or definite leaks in `{' '.join(args)}`")
        return r

    # -- expectations
    def fail(self, msg):
        raise ScenarioFailure(msg)

    def expect(self, cond, msg):
        if not cond:
            raise ScenarioFailure(msg)

    def expect_eq(self, actual, expected, what):
        if actual != expected:
            raise ScenarioFailure(f"{what}: expected {expected!r}, got {actual!r}")

    def expect_rc(self, r, expected, what):
        if r.returncode != expected:
            out = (r.stdout + r.stderr).strip().splitlines()[-15:]
            raise ScenarioFailure(f"{what}: expected exit {expected}, got {r.returncode}; output:\n    "
                                  + "\n    ".join(out))

    def site(self):
        return self.topo.nginx.site_bytes()

    def expect_site_original(self, what="nginx site file"):
        now = self.site()
        if now != self.topo.nginx.original_site:
            diff = difflib.unified_diff(self.topo.nginx.original_site.decode().splitlines(),
                                        now.decode("utf-8", "replace").splitlines(), "original", "now", lineterm="")
            self.fail(f"{what} is not byte-identical to the original:\n    " + "\n    ".join(list(diff)[:20]))

    def expect_standby_in_recovery(self):
        """The standby was not promoted: nudge WAL so a trigger, if one was touched, would be seen at once."""
        for _ in range(3):
            self.topo.pg.nudge()
            time.sleep(0.2)
        self.expect(self.topo.pg.in_recovery("standby"), "the standby DB was promoted (left recovery)")
        self.expect(not os.path.exists(self.trigger), f"the trigger file exists: {self.trigger}")

    def expect_unchanged(self, attempted=False):
        """Nothing of a failover took effect: site file byte-identical, recorder empty, standby in recovery, nginx
        still serving the active. attempted=False: also no backup file and no state file; attempted=True (a
        failed attempt): the state file records it."""
        self.expect_site_original()
        self.expect_eq(self.topo.recorder.argvs(), [], "standby stack commands recorded")
        self.expect_standby_in_recovery()
        self.topo.nginx.wait_served_by(T.ACTIVE_NAME, 5)
        if attempted:
            self.expect(os.path.exists(self.state_file), f"a failed attempt left no state file {self.state_file}")
        else:
            bak = self.topo.nginx.site + T.BAK_SUFFIX
            self.expect(not os.path.exists(bak), f"{bak} exists")
            self.expect(not os.path.exists(self.state_file), f"state file {self.state_file} exists")

    def expect_failed_over(self, log_text=None, stack_calls=1):
        """Every effect of a complete failover, checked against the real servers."""
        topo = self.topo
        topo.nginx.wait_served_by(T.STANDBY_NAME, self.t(10))
        text = self.site().decode("utf-8", "replace")
        servers = T.upstream_servers(text)
        addrs = [a for a, _ in servers]
        for addr in (T.ACTIVE_SERVER, T.STANDBY_SERVER):
            self.expect_eq(addrs.count(addr), 1, f"server lines for {addr} in upstream {T.UPSTREAM}")
        self.expect_eq(len(servers), 2, "server lines in the upstream")
        params = dict(servers)
        self.expect("down" in params[T.ACTIVE_SERVER], f"active server line lacks `down`: {params}")
        self.expect("backup" not in params[T.ACTIVE_SERVER], f"active server line keeps `backup`: {params}")
        self.expect("backup" not in params[T.STANDBY_SERVER], f"standby server line keeps `backup`: {params}")
        self.expect("down" not in params[T.STANDBY_SERVER], f"standby server line is `down`: {params}")
        orig = topo.nginx.original_site.decode()
        self.expect(T.without_upstream(text) == T.without_upstream(orig),
                    "the rewrite changed bytes outside the upstream block")
        bak = topo.nginx.site + T.BAK_SUFFIX
        self.expect(os.path.exists(bak), f"no backup {bak}")
        self.expect(T.read_bytes(bak) == topo.nginx.original_site, f"{bak} differs from the original site file")
        topo.pg.wait_promoted(self.t(20))
        self.expect_eq(topo.recorder.argvs(), [T.STACK_ARGV] * stack_calls, "standby stack commands recorded")
        self.expect(os.path.exists(self.state_file), f"no state file {self.state_file}")
        if log_text is not None:
            self.expect_steps_in_order(log_text)

    def expect_steps_in_order(self, text, steps=T.STEPS):
        pos = -1
        for step in steps:
            i = text.find(T.LOG.step_ok(step), pos + 1)
            self.expect(i > pos, f"missing or out of order in the log: {T.LOG.step_ok(step)!r}")
            pos = i

    # -- teardown (called by the runner)
    def teardown(self):
        """Stop what the scenario left running. Returns problems: a daemon that ignored SIGTERM, exited non-zero
        on it, died of a signal (crash), or (valgrind) reported errors."""
        problems = []
        for d in self.daemons:
            if d.proc is None:
                continue
            name = os.path.basename(d.log_path)
            was_running = d.running()
            if was_running:
                d.stopped_by_us = None
            rc = d.stop(timeout=self.t(10))
            if was_running and d.stopped_by_us == T.signal.SIGKILL:
                problems.append(f"{name}: did not exit within {self.t(10):.0f}s of SIGTERM")
            elif was_running and rc != 0:
                problems.append(f"{name}: {T.describe_status(rc)} after SIGTERM (expected exit 0)")
            elif rc is not None and rc < 0 and d.stopped_by_us != T.signal.SIGKILL:
                problems.append(f"{name}: {T.describe_status(rc)}")
            if self.valgrind and rc == T.VALGRIND_ERROR_EXIT and not was_running:
                problems.append(f"{name}: valgrind reported errors or definite leaks (exit 99)")
        return problems

    def report(self, out, lines=25):
        for d in self.daemons:
            out(f"    --- {d.log_path} ({T.describe_status(d.proc.returncode if d.proc else None)}), last {lines} "
                "lines:")
            for line in d.text().splitlines()[-lines:]:
                out("    | " + line)
            if self.valgrind and d.pid:
                vlog = os.path.join(self.dir, f"valgrind.{d.pid}.log")
                if os.path.exists(vlog):
                    out(f"    --- {vlog}, last 40 lines:")
                    for line in T.tail(vlog, 40).splitlines():
                        out("    | " + line)
        for argv, rc, so, se in self.cli_runs[-3:]:
            out(f"    --- `{' '.join(argv[-3:])}` → {rc}")
            for line in (so + se).splitlines()[-12:]:
                out("    | " + line)


def discover(filters, pending=False):
    """(name, fn) of every scenario in run order. A module's PENDING tuple names scenarios written ahead of the
    code they test: skipped unless pending=True (--pending), marked `pending` on the function."""
    tests = []
    for rank, modname in enumerate(SCENARIO_MODULES):
        if not os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), modname + ".py")):
            continue
        mod = importlib.import_module(modname)
        found = [(n, f) for n, f in vars(mod).items()
                 if n.startswith("test_") and callable(f) and f.__module__ == modname]
        found.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
        waiting = set(getattr(mod, "PENDING", ()))
        for n, f in found:
            f.pending = n in waiting
        tests.extend((n, f) for n, f in found if pending or n not in waiting)
    if filters:
        tests = [(n, f) for n, f in tests if any(k in n for k in filters)]
    return tests


def is_asan(binary):
    try:
        with open(binary, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def write_counts(path, passed, failed):
    if path:
        with open(path, "w") as f:
            f.write(f"passed {passed}\nfailed {failed}\n")


def main(argv):
    ap = argparse.ArgumentParser(description="blfailoverd integration tests")
    ap.add_argument("--bin", required=True, help="the blfailoverd binary")
    ap.add_argument("--valgrind", action="store_true", help="only @valgrind scenarios, daemon under valgrind")
    ap.add_argument("-k", dest="filter", default="", help="run scenarios whose name contains this (a,b: any)")
    ap.add_argument("--counts", help="write 'passed N\\nfailed M\\n' here")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--pending", action="store_true",
                    help="also run the scenarios a module lists in PENDING (written ahead of their code)")
    a = ap.parse_args(argv)

    def out(msg=""):
        print(msg, flush=True)

    filters = [k for k in a.filter.split(",") if k]
    tests = discover(filters, a.pending)
    if a.valgrind:
        tests = [(n, f) for n, f in tests if getattr(f, "valgrind", False)]
    if a.list:
        for n, f in tests:
            out(n + ("  [valgrind]" if getattr(f, "valgrind", False) else "")
                + ("  [pending]" if getattr(f, "pending", False) else ""))
        return 0
    if not tests:
        out("no scenario matched")
        out("0 passed, 0 failed")
        write_counts(a.counts, 0, 0)
        return 1

    T.install_signal_handlers()
    binary = os.path.abspath(a.bin)
    passed = failed = 0
    label = " (valgrind)" if a.valgrind else ""

    def fail_all(reason, items):
        nonlocal failed
        for n, _ in items:
            out(f"FAIL {n}{label}: {reason}")
            failed += 1

    setup_problem = None
    if os.geteuid() != 0:
        setup_problem = "must run as root (PostgreSQL via runuser, sshd, nginx)"
    elif not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        setup_problem = f"no executable {binary} (build it first: make)"
    elif a.valgrind and not shutil.which("valgrind"):
        setup_problem = "valgrind is not installed (make deps)"
    if setup_problem:
        fail_all(setup_problem, tests)
        out(f"{passed} passed, {failed} failed")
        write_counts(a.counts, passed, failed)
        return 1

    factor = 5.0 if a.valgrind else (2.0 if is_asan(binary) else 1.0)
    out(f"integration: {len(tests)} scenario(s){label} against {binary}"
        + (" [ASan build]" if is_asan(binary) and not a.valgrind else ""))
    rc = 1
    remaining = list(tests)
    try:
        with contextlib.ExitStack() as stack:
            t0 = time.monotonic()
            try:
                topo = stack.enter_context(T.Topology(keep=a.keep))
            except (T.TopologyError, TimeoutError, OSError) as e:
                out(f"topology did not come up: {e}")
                fail_all("not run: the test topology did not come up (see above)", tests)
                remaining = []
                topo = None
            if topo:
                out(f"topology up in {time.monotonic() - t0:.1f}s ({topo.dir})")
            while remaining:
                name, fn = remaining.pop(0)
                ok, reason, ctx, took = run_one(topo, name, fn, binary, a.valgrind, factor)
                if ok:
                    passed += 1
                    out(f"PASS {name}{label} ({took:.1f}s)")
                else:
                    failed += 1
                    out(f"FAIL {name}{label}: {reason}")
                    if ctx:
                        ctx.report(out)
            if a.keep and topo:
                out(f"kept {topo.dir}")
        rc = 0 if failed == 0 else 1
    except KeyboardInterrupt as e:
        out(f"INTERRUPTED: {e or 'KeyboardInterrupt'}; torn down")
        failed += 1 + len(remaining)
        rc = 130
    out(f"{passed} passed, {failed} failed")
    write_counts(a.counts, passed, failed)
    return rc


def run_one(topo, name, fn, binary, valgrind, factor):
    """(ok, reason, ctx, seconds) for one scenario."""
    t0 = time.monotonic()
    ctx = None
    reason = None
    try:
        ctx = Ctx(name, topo, binary, valgrind, factor)
        topo.reset(ctx.trigger)
        fn(ctx)
    except KeyboardInterrupt:
        if ctx:
            ctx.teardown()
        raise
    except (AssertionError, TimeoutError) as e:
        reason = str(e) or type(e).__name__
    except Exception as e:      # noqa: BLE001 -- a scenario's bug is its failure, not the run's
        tb = traceback.extract_tb(e.__traceback__)
        where = next((f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(tb)
                      if os.path.basename(f.filename).startswith(("scenarios", "run.py"))), "?")
        reason = f"{type(e).__name__} at {where}: {e}"
    if ctx:
        try:
            problems = ctx.teardown()
        except Exception as e:  # noqa: BLE001
            problems = [f"teardown: {e}"]
        if problems and reason is None:
            reason = "; ".join(problems)
        elif problems:
            reason += " (also: " + "; ".join(problems) + ")"
    return reason is None, reason, ctx, time.monotonic() - t0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
