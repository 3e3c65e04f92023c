#!/usr/bin/python3
"""demo: `make demo` -- watch blfailoverd fail a BlackLake pair over, end to end, on this machine.

    demo.py --bin PATH [--keep]

Brings up a small copy of the operators' topology on 127.0.0.1 (see topology.py for the ports): nginx in front of
two stand-in APIs, a PostgreSQL 15 primary with a streaming standby, an sshd playing the standby DB host, and a
recording stand-in for docker. Starts blfailoverd with its log streamed to the terminal, breaks the active API and
shows what the daemon did: nginx now serving the standby, the standby database promoted, the rewritten upstream, the
stack command it ran, its persisted state. Then tears everything down. Needs root (PostgreSQL runs via runuser).
"""
import argparse
import contextlib
import difflib
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import topology as T  # noqa: E402

INTERVAL, TIMEOUT, THRESHOLD = 1.0, 0.5, 3
BOLD = "\033[1m" if sys.stdout.isatty() else ""
DIM = "\033[2m" if sys.stdout.isatty() else ""
RESET = "\033[0m" if sys.stdout.isatty() else ""


def say(msg=""):
    print(msg, flush=True)


def step(n, msg):
    say()
    say(f"{BOLD}[{n}] {msg}{RESET}")


def show(label, text):
    say(f"    {label}")
    for line in text.rstrip("\n").splitlines():
        say(f"      {line}")


def daemon_line(line):
    say(f"    {DIM}blfailoverd |{RESET} {line}")


def through_nginx(topo):
    status, body = topo.nginx.get("/")
    say(f"    GET http://{T.HOST}:{T.PORT_NGINX}/  ->  {status} {body!r}   (served by {body})")


def recovery(topo):
    v = topo.pg.sql("standby", "select pg_is_in_recovery()")
    say(f"    standby DB (port {T.PORT_PG_STANDBY}): pg_is_in_recovery = {v}   "
        f"({'still a read-only replica' if v == 't' else 'promoted: it now accepts writes'})")


def upstream_block(text):
    m = re.search(r"upstream\s+" + T.UPSTREAM + r"\s*\{.*?\}", text, re.S)
    return m.group(0) if m else "(upstream block not found)"


def demo(binary, keep):
    with contextlib.ExitStack() as stack:
        step(1, "Bringing up the topology (everything on 127.0.0.1)")
        topo = stack.enter_context(T.Topology(keep=keep, log=say))
        say(f"    nginx              :{T.PORT_NGINX}   upstream {T.UPSTREAM}: active {T.ACTIVE_SERVER}, "
            f"standby {T.STANDBY_SERVER} (backup)")
        say(f"    active API         :{T.PORT_ACTIVE}   stand-in answering /health")
        say(f"    standby API        :{T.PORT_STANDBY}   stand-in answering /health")
        say(f"    PostgreSQL primary :{T.PORT_PG_PRIMARY}   standby :{T.PORT_PG_STANDBY} (streaming replica)")
        say(f"    sshd               :{T.PORT_SSHD}   the standby DB host; key login as {T.PG_USER}")
        say(f"    docker             {topo.recorder.wrapper}   (records its arguments; no Docker engine here)")
        scen = topo.scenario_dir("demo")
        trigger = os.path.join(scen, "triggers", "postgresql.trigger")
        topo.reset(trigger)
        say(f"    run directory: {topo.dir}")

        step(2, "The daemon's config")
        cfg_path = os.path.join(scen, "blfailoverd.yml")
        T.write_config(cfg_path, topo.config(scen, trigger, interval=INTERVAL, timeout=TIMEOUT,
                                             failure_threshold=THRESHOLD))
        show(cfg_path, open(cfg_path).read())
        r = subprocess.run([binary, "-c", cfg_path, *T.ARGS_CHECK], capture_output=True, text=True, timeout=30)
        say(f"    blfailoverd -t: exit {r.returncode} {(r.stdout + r.stderr).strip()}")

        step(3, "Before: nginx serves the active API; the standby DB is a replica")
        through_nginx(topo)
        recovery(topo)
        show(f"{topo.nginx.site} (upstream block):", upstream_block(topo.nginx.site_bytes().decode()))

        step(4, f"Starting blfailoverd (checks every {T.duration(INTERVAL)}, timeout {T.duration(TIMEOUT)}, "
                f"fails over after {THRESHOLD} failures in a row); its log follows")
        d = stack.enter_context(T.Daemon(binary, cfg_path, os.path.join(scen, "daemon.log"), echo=daemon_line))
        d.wait_log(T.LOG.ACTIVE_HEALTHY, 15)
        d.wait_log(T.LOG.STANDBY_HEALTHY, 15)
        time.sleep(INTERVAL * 1.5)
        d.echo_flush()

        step(5, "Breaking the active API: /health now answers 500")
        t0 = time.monotonic()
        topo.active.set_mode("500")
        d.wait_log(T.LOG.SUCCEEDED, THRESHOLD * (INTERVAL + TIMEOUT) + 45, fail_on=(T.LOG.FAILED_AT, T.LOG.HELD))
        took = time.monotonic() - t0
        d.echo_flush()
        say(f"    failover finished {took:.1f}s after the active broke")

        step(6, "After: nginx serves the standby API")
        topo.nginx.wait_served_by(T.STANDBY_NAME, 15)
        through_nginx(topo)

        step(7, "The standby database left recovery (blfailoverd touched its trigger file over ssh)")
        topo.pg.wait_promoted(30)
        recovery(topo)

        step(8, "The rewritten upstream (active marked down, standby no longer a backup)")
        before = upstream_block(topo.nginx.original_site.decode())
        after = upstream_block(topo.nginx.site_bytes().decode())
        show("diff:", "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                                   "before", "after")))
        say(f"    the original is kept as {topo.nginx.site}{T.BAK_SUFFIX}")

        step(9, "The standby stack command blfailoverd ran (recorded by the docker stand-in)")
        for argv in topo.recorder.argvs():
            say("    docker " + " ".join(argv))

        step(10, "blfailoverd --status (it will not fail over again until --clear-state)")
        r = subprocess.run([binary, "-c", cfg_path, *T.ARGS_STATUS], capture_output=True, text=True, timeout=30)
        show(f"exit {r.returncode}:", (r.stdout + r.stderr) or "(no output)")

        step(11, "Stopping the daemon (SIGTERM) and tearing everything down")
        rc = d.stop()
        say(f"    blfailoverd: {T.describe_status(rc)}")
    say("    done: all processes stopped" + ("" if keep else ", run directory removed"))
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description="blfailoverd end-to-end demo")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the run directory under /tmp")
    a = ap.parse_args(argv)
    binary = os.path.abspath(a.bin)
    if os.geteuid() != 0:
        say("demo: run as root (PostgreSQL is started via runuser, sshd needs root)")
        return 2
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        say(f"demo: no executable {binary}; build it first (make)")
        return 2
    T.install_signal_handlers()
    try:
        return demo(binary, a.keep)
    except KeyboardInterrupt as e:
        say(f"\ndemo: {e or 'interrupted'}; everything was torn down")
        return 130
    except (T.TopologyError, TimeoutError, AssertionError) as e:
        say(f"\ndemo FAILED: {e}\neverything was torn down")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
