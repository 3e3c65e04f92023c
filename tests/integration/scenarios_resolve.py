"""scenarios_resolve: database host names are looked up off the loop (issue #11, part 2). The daemon runs in a
private mount namespace (`unshare -m`, then nsexec.py bind-mounts resolv.conf, nsswitch.conf and hosts for it
alone): resolv.conf names 127.0.0.1, where a UDP socket of this test takes every query and never answers — a DNS
outage. The health cadence must hold through it and the probe must fail at connect_timeout naming the host; a
name that resolves (from the bind-mounted hosts file) must work end to end, through a pg_promote failover.
"""
import datetime
import os
import signal
import socket
import sys
import threading
import time

import topology as T
from topology import LOG
from scenarios import valgrind
from scenarios_safety import STEPS_PG_PROMOTE, state_outcome

HERE = os.path.dirname(os.path.abspath(__file__))
NSEXEC = os.path.join(HERE, "nsexec.py")
DB_NAME = "standby-db.blf.test"
DNS_PORT = 53                   # resolv.conf cannot name another port
CADENCE = 0.2                   # health.interval for the cadence check
CADENCE_SLACK = 0.05            # the bound: no gap > interval + 50 ms
CONNECT_TIMEOUT = 2.0


class BlackholeDns:
    """UDP 127.0.0.1:53 that takes every query and never answers. Counts the queries."""

    def __init__(self):
        self.queries = 0
        self.stopping = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((T.HOST, DNS_PORT))
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._loop, daemon=True, name="blackhole-dns")
        self.thread.start()

    def _loop(self):
        while not self.stopping.is_set():
            try:
                self.sock.recvfrom(4096)
                self.queries += 1
            except (socket.timeout, OSError):
                continue

    def stop(self):
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()


def ns_files(ctx, hosts_extra=""):
    """resolv.conf → 127.0.0.1 (the default timeout:5 attempts:2, as on the machine the issue was seen on),
    nsswitch.conf whose hosts line goes files → dns, a hosts file without DB_NAME unless hosts_extra adds it.
    Returns the SRC:DST pairs for nsexec.py."""
    d = os.path.join(ctx.dir, "ns")
    os.makedirs(d, exist_ok=True)
    with open("/etc/nsswitch.conf", encoding="utf-8") as f:
        nss = [ln for ln in f.read().splitlines() if not ln.startswith("hosts:")]
    files = {
        "/etc/resolv.conf": "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n",
        "/etc/nsswitch.conf": "\n".join(nss + ["hosts: files dns"]) + "\n",
        "/etc/hosts": "127.0.0.1 localhost\n" + hosts_extra,
    }
    pairs = []
    for dst, text in files.items():
        src = os.path.join(d, os.path.basename(dst))
        with open(src, "w", encoding="utf-8") as f:
            f.write(text)
        pairs.append(f"{src}:{dst}")
    return pairs


def ns_daemon(ctx, cfg, binds, ready=True):
    """ctx.daemon(), but in its own mount namespace with `binds` mounted."""
    ctx.write_config(cfg)
    ctx._n_logs += 1
    log = os.path.join(ctx.dir, f"daemon{ctx._n_logs}.log")
    prefix = ["unshare", "-m", "--propagation", "private", sys.executable, NSEXEC, *binds, "--", *ctx._prefix()]
    d = T.Daemon(ctx.bin, ctx.config_path, log, prefix=prefix)
    ctx.daemons.append(d)
    d.start()
    if ready:
        ctx.wait_ready(d)
    return d


def name_config(ctx, **health):
    cfg = ctx.config(**health)
    cfg["database"] = {"standby": f"host={DB_NAME} port={ctx.topo.pg.ports['standby']} dbname=postgres "
                                  f"user={T.PG_USER}",
                       "connect_timeout": T.duration(CONNECT_TIMEOUT)}
    return cfg


def log_time(line):
    """Seconds (UTC, from the log line's timestamp) — for intervals between two lines of one log."""
    stamp = line.split(" ", 1)[0]
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def test_resolve_dns_outage_keeps_cadence_and_names_host(ctx):
    dns = BlackholeDns()
    try:
        cfg = name_config(ctx, interval=CADENCE, timeout=0.15)
        d = ns_daemon(ctx, cfg, ns_files(ctx), ready=False)     # ready would take 10 s on a frozen loop
        d.wait_log("info: started: watching", ctx.t(10))
        # 10 s of the request log while lookups hang (each for 10 s; a new one every connect_timeout).
        start = time.monotonic()
        time.sleep(10)
        times = ctx.topo.active.health_times_since(start)
        ctx.expect(dns.queries > 0, "no query reached the blackhole DNS: the name never went to DNS")
        gaps = [b - a for a, b in zip(times, times[1:])]
        worst = max(gaps, default=10.0)
        ctx.expect(worst <= (CADENCE + CADENCE_SLACK) * ctx.factor,
                   f"health cadence broke during the DNS outage: a gap of {worst * 1000:.0f} ms between checks "
                   f"(interval {CADENCE * 1000:.0f} ms, limit +{CADENCE_SLACK * 1000:.0f} ms)")
        ctx.expect(len(times) >= int(10 / CADENCE) - 2, f"only {len(times)} health checks in 10 s at {CADENCE}s")
        # The probe fails at connect_timeout after the first tick, and the log names the host.
        started = d.wait_log("info: started: watching", 1)
        line = d.wait_log(f'standby database: host name "{DB_NAME}" not resolved within', 1)
        took = log_time(line) - log_time(started)
        ctx.expect(CONNECT_TIMEOUT - 0.05 <= took <= CONNECT_TIMEOUT + 0.5 * ctx.factor,
                   f"the lookup failure was logged {took:.2f}s after start, not at connect_timeout "
                   f"({CONNECT_TIMEOUT}s): {line!r}")
        ctx.stop_daemon(d, within=ctx.t(2))     # hung lookups must not hold the exit
    finally:
        dns.stop()


@valgrind
def test_resolve_name_from_hosts_works_end_to_end(ctx):
    dns = BlackholeDns()
    try:
        cfg = name_config(ctx)
        cfg["failover"]["promote"] = {"method": "pg_promote", "timeout": "15s"}
        d = ns_daemon(ctx, cfg, ns_files(ctx, hosts_extra=f"127.0.0.1 {DB_NAME}\n"))
        ctx.sleep(1.0)  # a few probes: they must succeed (a failure would be logged as a transition)
        ctx.expect(not d.has_log("standby database:"), f"the probe by name failed:\n{d.text()[-2000:]}")
        m = d.mark()
        ctx.topo.active.set_mode("500")
        d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT, LOG.HELD_ANY))
        ctx.expect_steps_in_order(d.text(), STEPS_PG_PROMOTE + ("verify",))
        ctx.expect(not ctx.topo.pg.in_recovery("standby"), "the standby is still in recovery after the failover")
        ctx.expect_eq(state_outcome(ctx), "succeeded", "recorded outcome")
        ctx.expect_eq(dns.queries, 0, "DNS queries for a name the hosts file has")
        ctx.stop_daemon(d)
    finally:
        dns.stop()


METRICS_PORTS = (25446, 25447)          # the observability range; runs are serialized by the topology lock


def metrics_up(port):
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://{T.HOST}:{port}/metrics", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def test_resolve_metrics_listen_renamed_on_reload_off_the_loop(ctx):
    """A reload that names metrics.listen by a host name looks it up off the loop: with the DNS never answering, the
    checks keep their cadence, /metrics stays on the old address, and the lookup gives up at its deadline saying
    so; a name from the hosts file then moves /metrics to the new address."""
    dns = BlackholeDns()
    try:
        cfg = ctx.config(interval=CADENCE, timeout=0.15)
        cfg["metrics"] = {"listen": f"{T.HOST}:{METRICS_PORTS[0]}"}
        d = ns_daemon(ctx, cfg, ns_files(ctx, hosts_extra="127.0.0.1 metrics-ok.blf.test\n"), ready=False)
        d.wait_log("info: started: watching", ctx.t(10))
        ctx.expect(metrics_up(METRICS_PORTS[0]), "/metrics is not served on the first address")
        cfg["metrics"] = {"listen": f"metrics-hang.blf.test:{METRICS_PORTS[1]}"}
        ctx.write_config(cfg)
        m = d.mark()
        start = time.monotonic()
        d.signal(signal.SIGHUP)
        d.wait_log(LOG.RELOADED, ctx.t(5), since=m)
        time.sleep(4)
        times = ctx.topo.active.health_times_since(start)
        gaps = [b - a for a, b in zip(times, times[1:])]
        worst = max(gaps, default=10.0)
        ctx.expect(dns.queries > 0, "no query reached the blackhole DNS: the name was never looked up")
        ctx.expect(worst <= (CADENCE + CADENCE_SLACK) * ctx.factor,
                   f"the reload's lookup stalled the checks: a gap of {worst * 1000:.0f} ms")
        ctx.expect(metrics_up(METRICS_PORTS[0]), "/metrics left the old address before the new one was looked up")
        d.wait_log("its host name was not looked up within", ctx.t(12), since=m)
        ctx.expect(metrics_up(METRICS_PORTS[0]), "/metrics left the old address after the lookup gave up")
        cfg["metrics"] = {"listen": f"metrics-ok.blf.test:{METRICS_PORTS[1]}"}
        ctx.write_config(cfg)
        m = d.mark()
        d.signal(signal.SIGHUP)
        d.wait_log(f"serving /metrics and /health on http://metrics-ok.blf.test:{METRICS_PORTS[1]}", ctx.t(5), since=m)
        ctx.expect(metrics_up(METRICS_PORTS[1]), "/metrics is not served on the looked-up address")
        ctx.stop_daemon(d, within=ctx.t(2))
    finally:
        dns.stop()
