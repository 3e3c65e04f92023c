"""bench cluster: what the monitor cluster on etcd costs (issue 13, docs/design/cluster.md §13), in one run, against
real etcd on 127.0.0.1, through the integration scenarios' own fixture (tests/integration/scenarios_cluster.py:
Monitors = a 3-member etcd, three members mon-a/b/c, each looking at the active through its own FaultProxy).

Called by bench/run.py's section "cluster" (measure() for the figures, table_lines() for the table):

  quorum   fault (every member's proxy refuses) → nginx serves the standby, runs alternating between one monitor
           (the plain daemon: the same config as mon-a without its cluster: section, behind mon-a's proxy) and three
           (Monitors). Pass when median(3) − median(1) ≤ fast_interval.
  killed   SIGKILL the leader, then fault the active at once → nginx serves the standby, split into takeover (kill →
           the new leader's "cluster: leading" line), then → its "failover: started" line, then → nginx; one run per
           lease_ttl asked for. Pass when total ≤ lease_ttl + detection + execution (the medians of the 3-monitor
           quorum runs).
  traffic  per member, over a healthy stretch before the kill of each `killed` run: etcd requests/s and bytes/s
           from the members' /metrics (blfailoverd_cluster_etcd_requests_total, _etcd_bytes_total{direction}).

Settings are scenarios_cluster's: interval 1 s, fast_interval 200 ms, timeout 400 ms, threshold 3, lease_ttl 3 s
(another lease_ttl overrides only that). nginx is polled every 10 ms (bench/run.py's NginxPoller); the daemon's log
lines give takeover and sequence start (CLOCK_REALTIME, ms). Each run gets a fresh scenario directory, fresh etcd
data and the topology reset (standby rebuilt) like an integration scenario. Never asserts: a broken run is counted
and left out of the figures.
"""
import datetime
import http.client
import importlib.util
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
INTEG = os.path.join(ROOT, "tests", "integration")
sys.path.insert(0, INTEG)
import scenarios_cluster as C  # noqa: E402
import topology as T  # noqa: E402


def _integration_runner():
    """tests/integration/run.py under another module name (bench/run.py is "run" too): its Ctx is what Monitors
    expects of a scenario."""
    spec = importlib.util.spec_from_file_location("integration_run", os.path.join(INTEG, "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


IR = _integration_runner()
RUNS = int(os.environ.get("BLF_BENCH_CLUSTER_RUNS", "5"))
TTLS = tuple(float(x) for x in os.environ.get("BLF_BENCH_CLUSTER_TTLS", "3,10").split(",") if x)
TRAFFIC_SECONDS = float(os.environ.get("BLF_BENCH_CLUSTER_TRAFFIC", "30"))
SETTLE = 3.0                    # after the leader is known, before the traffic window: the start-up requests out
NGINX_WAIT = C.DETECT + 30


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def log_stamp(line):
    """CLOCK_REALTIME seconds of a daemon log line (its leading UTC stamp, ms), or None."""
    try:
        at = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
    except ValueError:
        return None
    return at.replace(tzinfo=datetime.timezone.utc).timestamp()


def first_line(daemon, pred, since_t):
    """Stamp of the first line of daemon's log matching pred and stamped at or after since_t, or None."""
    for line in daemon.text().splitlines():
        if pred(line):
            t = log_stamp(line)
            if t is not None and t >= since_t - 0.001:
                return t
    return None


def started_at(daemons, since_t):
    """(member, stamp) of the first "failover: started" line among daemons ({name: Daemon}), or (None, None)."""
    hits = [(t, n) for n, d in daemons.items()
            if (t := first_line(d, lambda s: T.LOG.STARTED in s, since_t)) is not None]
    return (min(hits)[1], min(hits)[0]) if hits else (None, None)


# ------------------------------------------------------------------------------------------------ fixtures


def without_test_wrappers(cfg):
    """The daemon's own cost, not the test fixture's: no hooks (each event would start a Python process on every
    member, three times the load with three monitors on these 2 cores) and the step commands without the
    step-record wrapper (another Python start per step)."""
    cfg.pop("hooks", None)

    def unwrap(v):
        if isinstance(v, list) and len(v) > 3 and v[1] == C.STEP_RECORD and "--" in v:
            return v[v.index("--") + 1:]
        if isinstance(v, list):
            return [unwrap(x) for x in v]
        if isinstance(v, dict):
            return {k: unwrap(x) for k, x in v.items()}
        return v
    return unwrap(cfg)


class TtlMonitors(C.Monitors):
    """The scenarios' Monitors with another lease_ttl (the fixture's own stays 3 s), measuring the daemon alone."""

    def __init__(self, ctx, ttl):
        super().__init__(ctx)
        self.ttl = ttl

    def config(self, name):
        cfg = without_test_wrappers(super().config(name))
        cfg["cluster"]["lease_ttl"] = T.duration(self.ttl)
        return cfg


class Single:
    """One monitor, no cluster: mon-a's config without its cluster: section, behind mon-a's fault proxy — with the
    same three etcd members running idle beside it, so both cases share etcd's own load on these 2 cores (in
    production etcd runs on hosts of its own)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.etcd = C.Etcd(ctx.dir)
        self.proxy = None
        self.daemons = {}
        self.like = C.Monitors(ctx)     # only its config(): nothing of it is started

    def __enter__(self):
        try:
            name = C.MEMBERS[0]
            self.etcd.start_all()
            T.check_ports_free([C.PORT_PROXY[name], C.PORT_METRICS[name]])
            self.proxy = C.FaultProxy(C.PORT_PROXY[name], T.PORT_ACTIVE).start()
            cfg = without_test_wrappers(self.like.config(name))
            del cfg["cluster"]
            T.makedirs_owned(cfg["state_dir"], mode=0o700)
            path = T.write_config(os.path.join(self.ctx.dir, "single.yml"), cfg)
            d = T.Daemon(self.ctx.bin, path, os.path.join(self.ctx.dir, "single.log"))
            self.ctx.daemons.append(d)
            self.daemons[name] = d
            d.start()
            self.ctx.wait_ready(d)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def set_proxies(self, mode):
        self.proxy.set_mode(mode)

    def close(self):
        for d in self.daemons.values():
            d.stop(10)
        if self.proxy:
            self.proxy.stop()
        self.etcd.stop()


# ------------------------------------------------------------------------------------------------ runs


def new_ctx(topo, binary, name):
    ctx = IR.Ctx(name, topo, binary)
    topo.reset(ctx.trigger)
    return ctx


def fault_run(topo, binary, monitors, i, rng, poller):
    """One fault → nginx run with 1 or 3 monitors: {'nginx', 'detect', 'exec', 'by'} (seconds)."""
    ctx = new_ctx(topo, binary, f"bench-cluster-{monitors}-{i}")
    fixture = Single(ctx) if monitors == 1 else C.Monitors(ctx)
    with fixture as f:
        if monitors == 3:
            f.wait_one_leader()
        time.sleep(0.3 + rng.uniform(0, C.INTERVAL))         # a random phase of the check cadence
        nginx = poller()
        try:
            t_fault = time.time()
            f.set_proxies("refuse")
            t_nginx = nginx.wait(NGINX_WAIT)
        finally:
            nginx.stop()
        if t_nginx is None:
            raise TimeoutError(f"nginx did not serve {T.STANDBY_NAME} within {NGINX_WAIT:.0f} s of the fault")
        by, t_start = started_at(f.daemons, t_fault)
        if by is None:
            raise AssertionError("nginx serves the standby but no member logged 'failover: started'")
        fig = {"nginx": t_nginx - t_fault, "detect": t_start - t_fault, "exec": t_nginx - t_start, "by": by}
        fig.update(record_split(os.path.join(ctx.dir, f"state-{by}", T.STATE_FILE)))
        return fig


def record_split(path):
    """From the member's local record: Σ durations of the steps up to switch (nginx reloaded), and the rest of the
    time from the first step's start to switch's end — the record's saves between steps (to etcd, on a member)."""
    steps = []
    try:
        for line in open(path, encoding="utf-8"):
            w = line.split()
            if len(w) >= 5 and w[0] == "step" and w[2] != "pending":
                steps.append((w[1], int(w[3]) / 1e6, int(w[4]) / 1e6))
    except (OSError, ValueError):
        return {}
    names = [n for n, _, _ in steps]
    if "switch" not in names:
        return {}
    upto = steps[:names.index("switch") + 1]
    wall = upto[-1][1] + upto[-1][2] - upto[0][1]
    busy = sum(d for _, _, d in upto)
    return {"steps_to_switch": busy, "gaps_to_switch": wall - busy,
            "steps": {n: round(d, 4) for n, _, d in upto}}


def scrape(port):
    """{'requests', 'sent', 'received'} from a member's /metrics."""
    c = http.client.HTTPConnection(C.HOST, port, timeout=2)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    finally:
        c.close()
    out = {}
    for line in text.splitlines():
        if line.startswith("blfailoverd_cluster_etcd_requests_total "):
            out["requests"] = float(line.split()[1])
        elif line.startswith('blfailoverd_cluster_etcd_bytes_total{direction="sent"} '):
            out["sent"] = float(line.split()[1])
        elif line.startswith('blfailoverd_cluster_etcd_bytes_total{direction="received"} '):
            out["received"] = float(line.split()[1])
    if len(out) != 3:
        raise AssertionError(f"/metrics on {port} lacks the etcd counters (a binary without them?)")
    return out


def traffic(c, lead, seconds):
    """Per member over `seconds` of a healthy cluster: {name: {'role', 'req_s', 'bytes_s', 'sent_s', 'recv_s'}}."""
    time.sleep(SETTLE)
    t0, a = time.monotonic(), {n: scrape(C.PORT_METRICS[n]) for n in C.MEMBERS}
    time.sleep(seconds)
    t1, b = time.monotonic(), {n: scrape(C.PORT_METRICS[n]) for n in C.MEMBERS}
    if c.log_all(T.LOG.STARTED) or c.leader_key() != lead:
        raise AssertionError("the cluster did not stay healthy with one leader during the traffic window")
    dt = t1 - t0
    return {n: {"role": "leader" if n == lead else "follower",
                "req_s": (b[n]["requests"] - a[n]["requests"]) / dt,
                "sent_s": (b[n]["sent"] - a[n]["sent"]) / dt, "recv_s": (b[n]["received"] - a[n]["received"]) / dt,
                "bytes_s": (b[n]["sent"] + b[n]["received"] - a[n]["sent"] - a[n]["received"]) / dt}
            for n in C.MEMBERS}


def killed_run(topo, binary, ttl, poller, traffic_seconds):
    """Traffic while healthy, then SIGKILL the leader and fault the active at once → nginx serves the standby."""
    ctx = new_ctx(topo, binary, f"bench-cluster-kill-{ttl:g}")
    with TtlMonitors(ctx, ttl) as c:
        old = c.wait_one_leader()
        fig = {"ttl": ttl, "traffic": traffic(c, old, traffic_seconds) if traffic_seconds else None}
        nginx = poller()
        try:
            t_kill = time.time()
            c.kill(old)
            c.set_proxies("refuse")
            fig["fault_after_kill"] = time.time() - t_kill
            t_nginx = nginx.wait(ttl + NGINX_WAIT)
        finally:
            nginx.stop()
        if t_nginx is None:
            raise TimeoutError(f"nginx did not serve {T.STANDBY_NAME} within {ttl + NGINX_WAIT:.0f} s of the kill")
        alive = {n: d for n, d in c.daemons.items() if n != old}
        by, t_start = started_at(alive, t_kill)
        t_lead = first_line(c.daemons[by], C.LOG_LEADING.search, t_kill) if by else None
        if by is None or t_lead is None:
            raise AssertionError(f"no 'cluster: leading' / 'failover: started' line after the kill (by {by})")
        fig.update(killed=old, by=by, total=t_nginx - t_kill, takeover=t_lead - t_kill,
                   lead_to_start=t_start - t_lead, exec=t_nginx - t_start)
        return fig


def attempt(results, key, fn, what):
    try:
        fig = fn()
        results.setdefault(key, []).append(fig)
        return fig
    except (Exception, TimeoutError) as e:      # noqa: BLE001 -- a broken run is reported, not fatal
        if isinstance(e, T.Interrupted):
            raise
        results.setdefault(key + ":failed", []).append(f"{what}: {e}")
        say(f"  {what}: FAILED: {e}")
        return None


def measure(binary, results, poller, runs=RUNS, ttls=TTLS, traffic_seconds=TRAFFIC_SECONDS, seed=1, log=say):
    """Every figure of the section into results ("cl-1", "cl-3", "cl-kill"); the topology held throughout."""
    rng = random.Random(seed)
    results["cl:settings"] = {"runs": runs, "ttls": list(ttls), "traffic_seconds": traffic_seconds,
                              "interval": C.INTERVAL, "fast": C.FAST, "timeout": C.HC_TIMEOUT,
                              "threshold": C.THRESHOLD, "ttl": C.TTL, "etcd": etcd_version()}
    t0 = None
    try:
        with T.Topology(log=log) as topo:
            t0 = time.monotonic()
            for i in range(runs):
                for n in (1, 3):        # alternating: a drift of the machine hits both alike
                    fig = attempt(results, f"cl-{n}", lambda n=n: fault_run(topo, binary, n, i, rng, poller),
                                  f"{n} monitor(s) run {i + 1}")
                    if fig:
                        log(f"  {n} monitor(s) run {i + 1}: fault → nginx {fig['nginx']:.3f} s (detect "
                            f"{fig['detect']:.3f}, exec {fig['exec']:.3f}, by {fig['by']})")
            for j, ttl in enumerate(ttls):
                fig = attempt(results, "cl-kill", lambda t=ttl, j=j: killed_run(
                    topo, binary, t, poller, traffic_seconds if j == 0 else 0), f"leader killed, lease_ttl {ttl:g}")
                if fig:
                    log(f"  leader killed (lease_ttl {ttl:g} s): nginx after {fig['total']:.3f} s = takeover "
                        f"{fig['takeover']:.3f} + to start {fig['lead_to_start']:.3f} + exec {fig['exec']:.3f}")
    except (T.TopologyError, OSError, TimeoutError) as e:
        results.setdefault("cl:failed", []).append(f"setup: {e}")
        log(f"  cluster section setup failed: {e}")
    if t0 is not None:
        results["cl:settings"]["seconds"] = round(time.monotonic() - t0, 1)
        log(f"  cluster section: {time.monotonic() - t0:.0f} s with the topology up")
    return results


def etcd_version():
    try:
        import subprocess
        out = subprocess.run(["/usr/bin/etcd", "--version"], capture_output=True, text=True, timeout=10).stdout
        return out.splitlines()[0].split()[-1]
    except (OSError, IndexError, ValueError):
        return "?"


# ------------------------------------------------------------------------------------------------ the table


def mmm(values):
    v = sorted(values)
    return (v[0], statistics.median(v), v[-1]) if v else None


def fmt3(t):
    return f"{t[0]:.3f} / {t[1]:.3f} / {t[2]:.3f} s" if t else "–"


def col(results, key, field):
    return [r[field] for r in results.get(key, []) if r.get(field) is not None]


def n_of(results, key):
    failed = len(results.get(key + ":failed", []))
    return f"{len(results.get(key, []))}" + (f" ({failed} failed)" if failed else "")


def table_lines(results):
    s = results.get("cl:settings", {})
    fast = s.get("fast", C.FAST)
    out = [f"Settings: etcd {s.get('etcd', '?')}, 3 members on 127.0.0.1; interval {s.get('interval', C.INTERVAL):g} s, "
           f"fast_interval {fast * 1000:.0f} ms, timeout {s.get('timeout', C.HC_TIMEOUT) * 1000:.0f} ms, "
           f"failure_threshold {s.get('threshold', C.THRESHOLD)}, lease_ttl {s.get('ttl', C.TTL):g} s (unless "
           f"given), fault = every member's path to the active refuses; min / median / max.", "",
           "| figure | monitors | n | min / median / max | target |", "| --- | --- | --- | --- | --- |"]
    med = {}
    for n in (1, 3):
        key = f"cl-{n}"
        for field, what in (("nginx", "fault → nginx serves the standby"), ("detect", "fault → failover: started"),
                            ("exec", "failover: started → nginx"),
                            ("steps_to_switch", "of which: Σ steps up to switch (record)"),
                            ("gaps_to_switch", "of which: between those steps (the record's saves)")):
            t = mmm(col(results, key, field))
            med[(n, field)] = t[1] if t else None
            out.append(f"| {what} | {n} | {n_of(results, key)} | {fmt3(t)} | |")
    # The quorum changes when the failover starts; the steps after it are the same code on one host either way, but
    # with three monitors (and their proxies) sharing these 2 cores they run slower: shown, not charged to the quorum.
    for field, what, judged in (("detect", "quorum cost: fault → failover: started, median(3) − median(1)", True),
                                ("nginx", "fault → nginx, median(3) − median(1) (steps slowed by 3 monitors on 2 "
                                          "cores)", False)):
        a, b = med.get((3, field)), med.get((1, field))
        if a is None or b is None:
            continue
        d = a - b
        verdict = (" **PASS**" if d <= fast else " **FAIL**") if judged else ""
        out.append(f"| {what} | | | {d * 1000:+.0f} ms{verdict} | "
                   + (f"≤ fast_interval ({fast * 1000:.0f} ms) |" if judged else "for orientation |"))
    out += kill_lines(results, med) + traffic_lines(results)
    for key in ("cl-1", "cl-3", "cl-kill", "cl"):
        for err in results.get(key + ":failed", [])[:3]:
            out.append(f"- failed: {err.splitlines()[0][:300]}")
    return out


def kill_lines(results, med):
    runs = results.get("cl-kill", [])
    if not runs and not results.get("cl-kill:failed"):
        return []
    det, exe = med.get((3, "detect")), med.get((3, "exec"))
    out = ["", "| leader killed (SIGKILL), active faulted at once | lease_ttl | total | takeover (kill → leading) | "
           "leading → failover: started | failover: started → nginx | bound: lease_ttl + detection + execution |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        bound = "–"
        if det is not None and exe is not None:
            b = r["ttl"] + det + exe
            bound = f"{b:.3f} s **{'PASS' if r['total'] <= b else 'FAIL'}**"
        out.append(f"| {r['killed']} killed, {r['by']} failed over | {r['ttl']:g} s | {r['total']:.3f} s | "
                   f"{r['takeover']:.3f} s | {r['lead_to_start']:.3f} s | {r['exec']:.3f} s | {bound} |")
    out.append("")
    out.append("Detection and execution in the bound: the medians of the 3-monitor runs above (fault → started, "
               "started → nginx). Orientation (issue 13, measured elsewhere): Patroni 3.0.2 with ttl 10 needed "
               "10.0 s from a host failure to a writable new primary.")
    return out


def traffic_lines(results):
    runs = [r for r in results.get("cl-kill", []) if r.get("traffic")]
    if not runs:
        return []
    r = runs[0]
    secs = results.get("cl:settings", {}).get("traffic_seconds", TRAFFIC_SECONDS)
    out = ["", f"| etcd traffic while healthy ({secs:g} s, lease_ttl {r['ttl']:g} s, from /metrics) | role | "
           "requests/s | bytes/s (sent + received) | sent / received |", "| --- | --- | --- | --- | --- |"]
    for n, t in sorted(r["traffic"].items()):
        out.append(f"| {n} | {t['role']} | {t['req_s']:.2f} | {t['bytes_s']:.0f} | "
                   f"{t['sent_s']:.0f} / {t['recv_s']:.0f} |")
    return out
