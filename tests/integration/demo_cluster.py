#!/usr/bin/python3
"""demo_cluster: `make demo-cluster` -- three blfailoverd monitors on etcd carry a failover, one acting (issue 13).

    demo_cluster.py --bin PATH [--keep] [--verbose]

Brings up the integration topology (topology.py) and, through scenarios_cluster.Monitors, a 3-member etcd on
127.0.0.1 (clients 25440/25442/25444) and three members mon-a/b/c, each looking at the active through its own fault
proxy (25470-25472). The members' logs are streamed (the lines that tell the story; --verbose: all). Then:

  1. one member leads (etcd's leader key, every member's --status agree);
  2. the leading monitor is killed with kill -9: another leads after the lease runs out (the time printed);
  3. the active API fails on every monitor's path: the new leader fails over, once; nginx serves the standby;
  4. every member's --status, and everything torn down (also on Ctrl-C or a failure).

Needs root. Takes the machine-wide topology lock like the tests.
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
import scenarios_cluster as C  # noqa: E402
import topology as T  # noqa: E402

STORY = re.compile(r"cluster: |failover: (started|succeeded|failed|held|resumed|step \S+ (started|ok|failed))"
                   r"|failing \(3/3\)")
TTY = sys.stdout.isatty()
BOLD, RESET = ("\033[1m", "\033[0m") if TTY else ("", "")


def say(msg):
    print(f"{BOLD}{msg}{RESET}", flush=True)


def echo(verbose):
    def for_member(name):
        def line(text):
            if verbose or STORY.search(text):
                print(f"  [{name}] {text}", flush=True)
        return line
    return for_member


def story(c, ctx):
    say("1. three monitors on a 3-member etcd: one leads")
    lead = c.wait_one_leader()
    say(f"   {lead} leads; etcd's {C.PREFIX}/{C.KEY_LEADER} = {c.leader_key()}")
    say(f"2. kill -9 {lead} (pid {c.daemons[lead].pid})")
    new, took = C._timed_takeover(c, lead)
    say(f"   {new} leads {took:.2f} s later (lease_ttl {C.TTL:.0f} s)")
    say("3. the active API stops answering on every monitor's path")
    t0 = time.monotonic()
    c.set_proxies("refuse", c.running())
    who = c.expect_one_failover(by=new)
    say(f"   {who} failed over in {time.monotonic() - t0:.1f} s from the fault: nginx serves {T.STANDBY_NAME}; "
        f"step log: {' '.join(f'{m}:{s}' for m, s in c.steps.commands())}")
    say("4. --status of every member")
    for n, s in c.statuses().items():
        say(f"   {n}: role {s['role']}, leader {s['leader']}, agreeing {s['agreeing']}/{s['n_members']}")


def main(argv):
    ap = argparse.ArgumentParser(description="blfailoverd: three monitors on etcd, narrated")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("demo-cluster: must run as root (PostgreSQL via runuser, sshd, nginx)", file=sys.stderr)
        return 1
    T.install_signal_handlers()
    try:
        with T.Topology(keep=a.keep, log=lambda m: "waiting" in m and say(m)) as topo:
            ctx = run.Ctx("demo-cluster", topo, os.path.abspath(a.bin))
            topo.reset(ctx.trigger)
            with C.Monitors(ctx, echo=echo(a.verbose)) as c:
                story(c, ctx)
    except (AssertionError, TimeoutError) as e:
        say(f"demo-cluster failed: {e}")
        return 1
    say("done: every server stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
