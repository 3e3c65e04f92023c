"""scenarios_observability: what blfailoverd shows the outside (issue #5) — `--status [--json]`, the /metrics and
/health server, the Alertmanager-style webhook, a real Alertmanager (issue 11) and the hooks — against the real servers (PostgreSQL pair, sshd,
nginx, the API stand-ins). Run by run.py after scenarios_safety.py; each test_* gets a fresh run.Ctx.

Every receiver, metrics server and blocked port here listens on 127.0.0.1:25440-25449 only. The daemon's log
substrings this file relies on are collected in OBS below (the core ones come from topology's LOG).
"""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import topology as T
from topology import LOG
from scenarios import DETECT, INTERVAL, THRESHOLD
from scenarios_safety import _slow, db_config, state_outcome, state_steps

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RULES = os.path.join(ROOT, "conf", "prometheus-rules.yml")

PORT_METRICS = 25440
PORT_RECEIVER = 25441
PORT_HANGING = 25442
PORT_DOWN = 25443           # never listened on: connection refused
PORT_BUSY = 25444           # held by the test to make the daemon's bind fail
PORT_METRICS2 = 25445
PORT_ALERTMANAGER = 25446   # a real prometheus-alertmanager, started by the test that needs it

WEBHOOK_USER, WEBHOOK_TOKEN = "alerts", "s3cr3t-t0ken"


class OBS:
    """Stable substrings of the daemon's log lines for this feature."""
    METRICS_SERVING = "metrics: serving /metrics and /health on http://"
    METRICS_BIND_FAILED = "metrics: cannot serve on metrics.listen"
    WEBHOOK_RETRY = "alerts: posting"
    WEBHOOK_REFUSED = "not retried"
    HOOK_TIMED_OUT = "timed out after"


# -------------------------------------------------------------------------------------------------- helpers

def http_get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://{T.HOST}:{port}{path}", timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def scrape(port=PORT_METRICS):
    """{(name, frozenset(labels.items())): value} of one /metrics scrape, plus the raw text."""
    status, ctype, text = http_get(port, "/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), (status, ctype)
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, f"not an exposition line: {line!r}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return samples, text


def value(samples, metric, **labels):
    return samples.get((metric, frozenset(labels.items())))


def promtool_check_metrics(ctx, text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    ctx.expect(r.returncode == 0, f"promtool check metrics failed:\n{r.stdout}{r.stderr}")


class Receiver:
    """A webhook receiver on 127.0.0.1:PORT recording every POST: (monotonic time, headers, parsed JSON); it answers
    every one with `status`."""

    def __init__(self, port, status=200):
        self.posts = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    doc = json.loads(body)
                except ValueError as e:
                    doc = {"_invalid_json": str(e), "_body": body.decode("utf-8", "replace")}
                with outer.lock:
                    outer.posts.append((time.monotonic(), dict(self.headers), doc))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((T.HOST, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def alerts(self):
        """[(alertname, status)] of every post, in arrival order."""
        with self.lock:
            return [(a["labels"]["alertname"], a["status"]) for _, _, doc in self.posts for a in doc.get("alerts", [])]

    def wait_for(self, alertname, status, timeout):
        return T.wait_until(lambda: (alertname, status) in self.alerts(), timeout,
                            f"the webhook receiver to get {alertname} {status}")


class Hanging:
    """A port that accepts TCP connections (the kernel's backlog) and never answers a byte."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((T.HOST, port))
        self.sock.listen(64)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
ALERTMANAGER_CONFIG = """route:
  receiver: "null"
receivers:
  - name: "null"
"""


class Alertmanager(T.Fixture):
    """A real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1:PORT: no cluster, its own storage, a
    route to a receiver that sends nothing. Stopped (by its Popen) when the test ends, however it ends."""

    def __init__(self, directory, port):
        self.dir = os.path.join(directory, "alertmanager")
        self.port = port
        self.proc = None

    def start(self):
        if not os.access(ALERTMANAGER, os.X_OK):
            raise T.TopologyError(f"{ALERTMANAGER} is missing: apt-get install prometheus-alertmanager (make deps)")
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        cfg = os.path.join(self.dir, "alertmanager.yml")
        T.write_file(cfg, ALERTMANAGER_CONFIG.encode())
        log = open(os.path.join(self.dir, "alertmanager.log"), "ab")
        argv = [ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={os.path.join(self.dir, 'data')}",
                f"--web.listen-address={T.HOST}:{self.port}", "--cluster.listen-address=", "--log.level=warn"]
        with log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        T.wait_until(self._ready, 20, f"Alertmanager to answer on {T.HOST}:{self.port}", interval=0.1)
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise T.TopologyError(f"Alertmanager exited ({self.proc.returncode}); see {self.dir}/alertmanager.log")
        try:
            return http_get(self.port, "/-/ready", timeout=1)[0] == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self):
        T.stop_popen(self.proc)
        self.proc = None

    def alerts(self):
        """GET /api/v2/alerts: the alerts it holds active (resolved ones are left out), blfailoverd's only."""
        _, _, body = http_get(self.port, '/api/v2/alerts?filter=service%3D%22blfailoverd%22')
        return json.loads(body)

    def alert(self, alertname):
        return next((a for a in self.alerts() if a["labels"].get("alertname") == alertname), None)

    def __repr__(self):
        return f"Alertmanager({T.HOST}:{self.port})"


def with_metrics(cfg, port=PORT_METRICS):
    cfg["metrics"] = {"listen": f"{T.HOST}:{port}"}
    return cfg


def with_webhook(cfg, port, timeout="1s", retries=3, auth=True):
    cred = f"{WEBHOOK_USER}:{WEBHOOK_TOKEN}@" if auth else ""
    cfg["alerts"] = {"webhook_url": f"http://{cred}{T.HOST}:{port}/hook", "timeout": timeout, "retries": retries}
    return cfg


def status_json(ctx):
    r = ctx.cli("--status", "--json")
    ctx.expect_rc(r, T.EXIT_OK, "--status --json")
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        ctx.fail(f"--status --json is not JSON ({e}):\n{r.stdout}")


def fail_over_timed(ctx, d, mode="500"):
    """Break the active, wait for the failover to succeed; returns seconds from the break to the success line."""
    m = d.mark()
    t0 = time.monotonic()
    ctx.topo.active.set_mode(mode)
    d.wait_log(LOG.SUCCEEDED, ctx.t(DETECT + 30), since=m, fail_on=(LOG.FAILED_AT, LOG.HELD))
    return time.monotonic() - t0


# The same budget as scenarios.test_active_hang_fails_over_in_time: detection plus 6.5 s for the steps.
FAILOVER_BUDGET = DETECT + INTERVAL + 6.0


# -------------------------------------------------------------------------------------------------- metrics

def test_obs_metrics_move_during_failover(ctx):
    cfg = with_metrics(db_config(ctx))
    d = ctx.daemon(cfg)
    d.wait_log(OBS.METRICS_SERVING, ctx.t(5))
    T.wait_until(lambda: value(scrape()[0], "blfailoverd_replication_lag_bytes") is not None, ctx.t(10),
                 "the standby database's lag in /metrics")
    s, text = scrape()
    promtool_check_metrics(ctx, text)
    a = {"role": "active", "name": T.ACTIVE_NAME}
    ctx.expect_eq(value(s, "blfailoverd_endpoint_up", **a), 1.0, "endpoint_up of the active while healthy")
    ctx.expect_eq(value(s, "blfailoverd_failover_threshold"), float(THRESHOLD), "failover_threshold")
    ctx.expect_eq(value(s, "blfailoverd_failovers_total", result="succeeded"), 0.0, "failovers_total before")
    ctx.expect_eq(value(s, "blfailoverd_last_failover_timestamp_seconds"), 0.0, "last failover timestamp before")
    ctx.expect_eq(value(s, "blfailoverd_database_up", role="standby"), 1.0, "database_up of the standby")
    ctx.expect(value(s, "blfailoverd_replication_lag_seconds") is not None, "no replication_lag_seconds sample")
    ctx.expect(any(k[0] == "blfailoverd_build_info" for k in s), "no build_info")
    checks0 = value(s, "blfailoverd_check_duration_seconds_count", **a)
    ctx.expect(checks0 and checks0 >= 1, f"check_duration_seconds_count of the active: {checks0}")
    status, _, body = http_get(PORT_METRICS, "/health")
    health = json.loads(body)
    ctx.expect_eq(health["status"], "healthy", "/health status while both endpoints are healthy")
    ctx.expect(health["standby"]["replication_lag"] is not None, f"/health standby lag: {health}")

    m = d.mark()
    t0 = time.monotonic()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.active_failing(1, THRESHOLD), ctx.t(5), since=m)
    # Scraped while the active is failing and before the threshold: the counter and endpoint_up moved.
    T.wait_until(lambda: (value(scrape()[0], "blfailoverd_consecutive_failures", **a) or 0) >= 1, ctx.t(5),
                 "consecutive_failures of the active to move")
    s, text = scrape()
    ctx.expect_eq(value(s, "blfailoverd_endpoint_up", **a), 0.0, "endpoint_up of the failing active")
    d.wait_log(LOG.SUCCEEDED, ctx.t(DETECT + 30), since=m, fail_on=(LOG.FAILED_AT, LOG.HELD))
    took = time.monotonic() - t0
    ctx.expect(took <= ctx.t(FAILOVER_BUDGET), f"failover took {took:.2f}s with /metrics on (budget {FAILOVER_BUDGET}s)")
    ctx.expect_failed_over(d.text())

    s, text = scrape()
    promtool_check_metrics(ctx, text)
    ctx.expect_eq(value(s, "blfailoverd_failovers_total", result="succeeded"), 1.0, "failovers_total after")
    ctx.expect_eq(value(s, "blfailoverd_failovers_total", result="failed"), 0.0, "failed failovers after")
    ctx.expect_eq(value(s, "blfailoverd_failover_recorded", outcome="succeeded"), 1.0, "failover_recorded")
    ts = value(s, "blfailoverd_last_failover_timestamp_seconds")
    ctx.expect(ts and abs(ts - time.time()) < 120, f"last_failover_timestamp_seconds {ts} is not about now")
    for step in T.STEPS:
        ctx.expect(value(s, "blfailoverd_failover_step_duration_seconds", step=step) is not None,
                   f"no step duration for {step}")
    ctx.expect(value(s, "blfailoverd_consecutive_failures", **a) >= THRESHOLD, "consecutive_failures after")
    ctx.expect(value(s, "blfailoverd_check_duration_seconds_count", **a) > checks0, "the histogram did not move")
    _, _, body = http_get(PORT_METRICS, "/health")
    ctx.expect_eq(json.loads(body)["status"], "failed_over", "/health status after the failover")
    ctx.stop_daemon(d)


def test_obs_health_says_failover_failed_when_nothing_switched(ctx):
    """Issue 11: /health said "failed_over" after a failover that failed at nginx_test, nothing switched. While the
    step runs it says "failing_over"; once it failed, "failover_failed"."""
    cfg = with_metrics(ctx.config())
    cfg["failover"]["nginx"]["test_command"], flag = _slow(ctx, ["/bin/false"])
    T.write_file(flag, "")
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    T.wait_until(lambda: os.path.exists(os.path.join(ctx.dir, "slow.pid")), ctx.t(DETECT + 10),
                 "nginx_test to start (blocked)")
    ctx.expect_eq(json.loads(http_get(PORT_METRICS, "/health")[2])["status"], "failing_over",
                  "/health status while the failover runs")
    os.unlink(flag)                 # slow-step exits 75: nginx_test fails, nothing was switched
    d.wait_log(LOG.failed_at("nginx_test"), ctx.t(20), since=m)
    ctx.expect_eq(state_outcome(ctx), "failed", "the record's outcome")
    ctx.expect_eq(json.loads(http_get(PORT_METRICS, "/health")[2])["status"], "failover_failed",
                  "/health status after a failover that failed at nginx_test")
    ctx.expect_unchanged(attempted=True)
    ctx.stop_daemon(d)


def test_obs_metrics_bind_failure_is_a_clear_error(ctx):
    with Hanging(PORT_BUSY):
        d = ctx.daemon(with_metrics(ctx.config(), PORT_BUSY), ready=False)
        rc = d.wait_exit(ctx.t(10))
    ctx.expect_eq(rc, T.EXIT_FAILED, "exit status when metrics.listen cannot be bound")
    line = d.wait_log(OBS.METRICS_BIND_FAILED, 1)
    ctx.expect(f"{T.HOST}:{PORT_BUSY}" in line and "Address already in use" in line, f"unclear: {line!r}")


def test_obs_metrics_listen_invalid_is_config_error(ctx):
    cfg = with_metrics(ctx.config())
    cfg["metrics"]["listen"] = f"{T.HOST}:70000"
    ctx.write_config(cfg)
    r = ctx.cli(*T.ARGS_CHECK)
    ctx.expect_rc(r, T.EXIT_CONFIG, "-t with metrics.listen on port 70000")
    ctx.expect(re.search(r"blfailoverd\.yml:\d+:\d+: metrics\.listen must end in a port", r.stderr),
               f"no FILE:LINE:COL message: {r.stderr!r}")


# -------------------------------------------------------------------------------------------------- webhook

EXPECTED_ALERTS = [
    ("BlfailoverdStandbyDown", "firing"),
    ("BlfailoverdActiveDown", "firing"),
    ("BlfailoverdFailoverHeld", "firing"),
    ("BlfailoverdStandbyDown", "resolved"),
    ("BlfailoverdFailoverHeld", "resolved"),
    ("BlfailoverdFailoverStarted", "firing"),
    ("BlfailoverdFailoverStarted", "resolved"),
    ("BlfailoverdFailoverSucceeded", "firing"),
]


def test_obs_webhook_posts_events_in_order_and_resolves(ctx):
    with Receiver(PORT_RECEIVER) as rx:
        ctx.topo.standby.set_mode("500")
        d = ctx.daemon(with_webhook(ctx.config(), PORT_RECEIVER), ready=False)
        ctx.wait_ready(d, standby=LOG.STANDBY_FAILING)
        m = d.mark()
        ctx.topo.active.set_mode("500")
        d.wait_log(LOG.HELD, ctx.t(DETECT + 5), since=m)
        ctx.topo.standby.set_mode("ok")
        d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT,))
        rx.wait_for("BlfailoverdFailoverSucceeded", "firing", ctx.t(10))
        got = rx.alerts()
        posts = list(rx.posts)
    ctx.expect_eq(got, EXPECTED_ALERTS, "alerts posted, in order")
    expect_auth = "Basic " + base64.b64encode(f"{WEBHOOK_USER}:{WEBHOOK_TOKEN}".encode()).decode()
    for _, headers, doc in posts:
        ctx.expect("_invalid_json" not in doc, f"a post is not JSON: {doc}")
        ctx.expect_eq(headers.get("Content-Type"), "application/json", "Content-Type of a post")
        ctx.expect_eq(headers.get("Authorization"), expect_auth, "the URL's credentials as basic auth")
        ctx.expect_eq(doc.get("version"), "4", "Alertmanager webhook payload version")
        ctx.expect_eq(len(doc["alerts"]), 1, "alerts per post")
        a = doc["alerts"][0]
        ctx.expect_eq(doc["status"], a["status"], "payload status")
        for key in ("alertname", "severity", "instance"):
            ctx.expect(a["labels"].get(key), f"label {key} missing: {a['labels']}")
        ctx.expect(a["annotations"].get("summary") and a["annotations"].get("description"),
                   f"annotations: {a['annotations']}")
        ctx.expect(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", a["startsAt"]), f"startsAt {a['startsAt']}")
        if a["status"] == "resolved":
            ctx.expect(a["endsAt"] >= a["startsAt"], f"resolved endsAt {a['endsAt']} before startsAt")
    held = [doc["alerts"][0] for _, _, doc in posts if doc["alerts"][0]["labels"]["alertname"] == "BlfailoverdFailoverHeld"]
    ctx.expect_eq(held[0]["labels"].get("gate"), "standby_unhealthy", "the held alert's gate label")
    ctx.expect(WEBHOOK_TOKEN not in d.text(), "the webhook token appears in the log")
    ctx.stop_daemon(d)


# Issue 11: a webhook receiver that refuses a body (4xx) gets it once, not again after 1 s, 2 s, 4 s.
def test_obs_webhook_4xx_is_not_retried(ctx):
    with Receiver(PORT_RECEIVER, status=400) as rx:
        ctx.topo.standby.set_mode("500")
        d = ctx.daemon(with_webhook(ctx.config(), PORT_RECEIVER, retries=3), ready=False)
        ctx.wait_ready(d, standby=LOG.STANDBY_FAILING)
        rx.wait_for("BlfailoverdStandbyDown", "firing", ctx.t(10))
        line = d.wait_log(OBS.WEBHOOK_REFUSED, ctx.t(5))
        ctx.sleep(3.5)                  # past the first two backoffs (1 s, 2 s)
        got = rx.alerts()
    ctx.expect_eq(got, [("BlfailoverdStandbyDown", "firing")], "posts to a receiver answering 400")
    ctx.expect("HTTP status 400" in line and f"http://{T.HOST}:{PORT_RECEIVER}/hook" in line, f"unclear: {line!r}")
    ctx.expect(OBS.WEBHOOK_RETRY not in d.text(), "a 400 was retried")
    ctx.expect(WEBHOOK_TOKEN not in d.text(), "the webhook token appears in the log")
    ctx.stop_daemon(d)


def _webhook_never_delays_failover(ctx, port, hanging):
    cfg = with_webhook(ctx.config(), port, timeout="2s", retries=3)
    if hanging:
        with Hanging(port):
            d = ctx.daemon(cfg)
            took = fail_over_timed(ctx, d)
            ctx.expect_failed_over(d.text())
            d.wait_log(OBS.WEBHOOK_RETRY, ctx.t(10))      # the timeouts are seen and retried, not waited on
    else:
        d = ctx.daemon(cfg)
        took = fail_over_timed(ctx, d)
        ctx.expect_failed_over(d.text())
        d.wait_log(OBS.WEBHOOK_RETRY, ctx.t(5))
    ctx.expect(took <= ctx.t(FAILOVER_BUDGET),
               f"failover took {took:.2f}s with the receiver {'hanging' if hanging else 'down'} "
               f"(budget {FAILOVER_BUDGET:.1f}s)")
    text = d.text()
    ctx.expect(WEBHOOK_TOKEN not in text, "the webhook token appears in the log")
    ctx.expect(f"http://{T.HOST}:{port}/hook" in text, "the log does not name the (redacted) webhook URL")
    ctx.stop_daemon(d, within=ctx.t(5))


def test_obs_webhook_hanging_receiver_never_delays_failover(ctx):
    _webhook_never_delays_failover(ctx, PORT_HANGING, hanging=True)


def test_obs_webhook_down_receiver_never_delays_failover(ctx):
    _webhook_never_delays_failover(ctx, PORT_DOWN, hanging=False)


def test_obs_webhook_lag_warning_fires_and_resolves(ctx):
    with Receiver(PORT_RECEIVER) as rx:
        cfg = with_webhook(db_config(ctx), PORT_RECEIVER)
        cfg["alerts"]["lag_warning"] = "64kB"
        d = ctx.daemon(cfg)
        pg = ctx.topo.pg
        pg.sql("standby", "select pg_wal_replay_pause()")
        T.wait_until(lambda: pg.sql("standby", "select pg_get_wal_replay_pause_state()") == "paused", ctx.t(10),
                     "replay to pause on the standby")

        def lagging():
            pg.sql("primary", "insert into blf_check select repeat('x', 200) from generate_series(1, 2000)")
            return pg.lag_bytes() >= 256 * 1024
        T.wait_until(lagging, ctx.t(30), "the standby to lag", interval=0.2)
        rx.wait_for("BlfailoverdReplicationLag", "firing", ctx.t(10))
        pg.sql("standby", "select pg_wal_replay_resume()")
        rx.wait_for("BlfailoverdReplicationLag", "resolved", ctx.t(15))
        lag = [a for a in rx.alerts() if a[0] == "BlfailoverdReplicationLag"]
    ctx.expect_eq(lag, [("BlfailoverdReplicationLag", "firing"), ("BlfailoverdReplicationLag", "resolved")],
                  "lag alerts")
    ctx.stop_daemon(d)


# -------------------------------------------------------------------------------------------------- Alertmanager

def _am_labels_ok(ctx, a, alertname, severity):
    labels = a["labels"]
    ctx.expect_eq(labels.get("alertname"), alertname, "alertname")
    ctx.expect_eq(labels.get("severity"), severity, f"severity of {alertname}")
    ctx.expect_eq(labels.get("pair"), f"{T.ACTIVE_NAME}/{T.STANDBY_NAME}", f"pair label of {alertname}")
    ctx.expect_eq((labels.get("active"), labels.get("standby")), (T.ACTIVE_NAME, T.STANDBY_NAME), "active/standby")
    ctx.expect(labels.get("instance"), f"no instance label: {labels}")
    ctx.expect(a["annotations"].get("summary") and a["annotations"].get("description"), f"{a['annotations']}")
    ctx.expect_eq(a["status"]["state"], "active", f"Alertmanager's state of {alertname}")
    ctx.expect_eq(a.get("generatorURL"), f"http://{T.HOST}:{PORT_METRICS}/health", "generatorURL")


# Issue 11: alerts reach a real Alertmanager through its own API (alerts.alertmanager_url, one base URL of two
# down: each is posted to on its own), fire with their labels and are resolved when the condition ends.
def test_obs_alertmanager_gets_alerts_and_their_resolution(ctx):
    with Alertmanager(ctx.dir, PORT_ALERTMANAGER) as am:
        cfg = with_metrics(ctx.config())
        cfg["alerts"] = {"alertmanager_url": [f"http://{WEBHOOK_USER}:{WEBHOOK_TOKEN}@{T.HOST}:{PORT_ALERTMANAGER}",
                                              f"http://{T.HOST}:{PORT_DOWN}/"],
                         "timeout": "1s", "retries": 1}
        ctx.write_config(cfg)
        r = ctx.cli(*T.ARGS_CHECK)
        ctx.expect_rc(r, T.EXIT_OK, f"-t with alerts.alertmanager_url: {r.stderr}")
        ctx.topo.standby.set_mode("500")
        d = ctx.daemon(cfg, ready=False)
        ctx.wait_ready(d, standby=LOG.STANDBY_FAILING)
        m = d.mark()
        ctx.topo.active.set_mode("500")
        d.wait_log(LOG.HELD, ctx.t(DETECT + 5), since=m)
        down = T.wait_until(lambda: am.alert("BlfailoverdActiveDown"), ctx.t(10),
                            "BlfailoverdActiveDown in Alertmanager's /api/v2/alerts")
        _am_labels_ok(ctx, down, "BlfailoverdActiveDown", "critical")
        held = T.wait_until(lambda: am.alert("BlfailoverdFailoverHeld"), ctx.t(10), "BlfailoverdFailoverHeld")
        _am_labels_ok(ctx, held, "BlfailoverdFailoverHeld", "critical")
        ctx.expect_eq(held["labels"].get("gate"), "standby_unhealthy", "the held alert's gate label")
        ctx.expect(am.alert("BlfailoverdStandbyDown"), "BlfailoverdStandbyDown is not in Alertmanager")

        m = d.mark()
        ctx.topo.active.set_mode("ok")
        d.wait_log(LOG.ACTIVE_HEALTHY, ctx.t(10), since=m)
        # resolved: an alert whose endsAt has passed is no longer among the active ones; without the resolve it
        # would stay until its endsAt, minutes from now
        T.wait_until(lambda: not am.alert("BlfailoverdActiveDown") and not am.alert("BlfailoverdFailoverHeld"),
                     ctx.t(5), "ActiveDown and FailoverHeld to be resolved in Alertmanager")
        ctx.expect(am.alert("BlfailoverdStandbyDown"), "BlfailoverdStandbyDown was resolved with the active's alerts")
        ctx.topo.standby.set_mode("ok")
        T.wait_until(lambda: not am.alerts(), ctx.t(10), "every blfailoverd alert to be resolved in Alertmanager")
    text = d.text()
    ctx.expect(WEBHOOK_TOKEN not in text, "the Alertmanager URL's password appears in the log")
    ctx.expect(f"http://{T.HOST}:{PORT_DOWN}/api/v2/alerts" in text, "the log does not name the Alertmanager that is down")
    ctx.expect("HTTP status 400" not in text, "Alertmanager refused a post")
    ctx.stop_daemon(d)


# -------------------------------------------------------------------------------------------------- hooks

HOOK_SCRIPT = r"""import json, os, sys
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(dict(os.environ)) + "\n")
print("hook saw", os.environ.get("BLF_EVENT"))
"""


def test_obs_hook_gets_documented_environment(ctx):
    out = os.path.join(ctx.dir, "hook.jsonl")
    script = os.path.join(ctx.dir, "hook.py")
    T.write_file(script, HOOK_SCRIPT.encode())
    cfg = ctx.config()
    cfg["hooks"] = {"command": [T.PYTHON, script, out], "timeout": "5s"}
    d = ctx.daemon(cfg)
    fail_over_timed(ctx, d)
    ctx.expect_failed_over(d.text())

    def runs():
        if not os.path.exists(out):
            return []
        with open(out, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    T.wait_until(lambda: any(r.get("BLF_EVENT") == "failover_succeeded" for r in runs()), ctx.t(15),
                 "the hook to run for failover_succeeded")
    envs = runs()
    events = [e["BLF_EVENT"] for e in envs]
    for needed in ("daemon_started", "endpoint_failing", "threshold_reached", "failover_started", "step_started",
                   "step_succeeded", "failover_succeeded"):
        ctx.expect(needed in events, f"no hook run for {needed}: {events}")
    order = [events.index(e) for e in ("threshold_reached", "failover_started", "failover_succeeded")]
    ctx.expect(order == sorted(order), f"hook runs out of order: {events}")
    for e in envs:
        for key in ("BLF_EVENT", "BLF_ACTIVE", "BLF_STANDBY", "BLF_STEP", "BLF_RESULT", "BLF_DETAIL"):
            ctx.expect(key in e, f"{key} missing from a hook's environment: {sorted(e)}")
        ctx.expect_eq((e["BLF_ACTIVE"], e["BLF_STANDBY"]), (T.ACTIVE_NAME, T.STANDBY_NAME), "BLF_ACTIVE/BLF_STANDBY")
        extra = {k for k in e if not k.startswith("BLF_")} - {"PATH", "LANG", "HOME", "LC_CTYPE"}
        ctx.expect(not extra, f"the hook inherited more than the minimal environment: {sorted(extra)}")
    step_ok = [e for e in envs if e["BLF_EVENT"] == "step_succeeded"]
    ctx.expect_eq([e["BLF_STEP"] for e in step_ok][:len(T.STEPS)], list(T.STEPS), "BLF_STEP of the step runs")
    ctx.expect(all(e["BLF_RESULT"] == "ok" for e in step_ok), "BLF_RESULT of a succeeded step")
    done = next(e for e in envs if e["BLF_EVENT"] == "failover_succeeded")
    ctx.expect(done["BLF_RESULT"] == "ok" and "failover: succeeded" in done["BLF_DETAIL"], f"{done}")
    d.wait_log("hook failover_succeeded: output: hook saw failover_succeeded", ctx.t(5))
    ctx.stop_daemon(d)


HANGING_HOOK = r"""import os, sys, time
with open(sys.argv[1], "a") as f:
    f.write(f"{os.getpid()}\n")
time.sleep(60)
"""


def test_obs_hanging_hook_is_killed_at_its_timeout(ctx):
    pids = os.path.join(ctx.dir, "hook.pids")
    script = os.path.join(ctx.dir, "hang.py")
    T.write_file(script, HANGING_HOOK.encode())
    cfg = ctx.config()
    cfg["hooks"] = {"command": [T.PYTHON, script, pids], "timeout": "1s"}
    d = ctx.daemon(cfg, ready=False)
    t0 = time.monotonic()
    line = d.wait_log(OBS.HOOK_TIMED_OUT, ctx.t(10))
    took = time.monotonic() - t0
    ctx.expect("hook daemon_started" in line, f"the first hook to time out should be daemon_started's: {line!r}")
    ctx.expect(took <= ctx.t(4), f"the hanging hook was killed {took:.1f}s after start (timeout 1s)")
    with open(pids, encoding="utf-8") as f:
        first = int(f.readline())
    ctx.expect(not T.proc_alive(first), f"the hook (pid {first}) still runs after its timeout")
    # Hooks run one at a time and never hold up the checks or a failover.
    ctx.wait_ready(d)
    took = fail_over_timed(ctx, d)
    ctx.expect(took <= ctx.t(FAILOVER_BUDGET), f"failover took {took:.2f}s with a hanging hook")
    ctx.expect_failed_over(d.text())
    ctx.stop_daemon(d, within=ctx.t(5))


# -------------------------------------------------------------------------------------------------- --status

def test_obs_status_json_matches_the_state(ctx):
    ctx.write_config(with_metrics(ctx.config(), PORT_METRICS2))
    st = status_json(ctx)
    ctx.expect_eq(st["daemon"]["running"], False, "daemon.running before any daemon")
    ctx.expect_eq(st["failover"], None, "failover before any")
    ctx.expect_eq(st["active"]["name"], T.ACTIVE_NAME, "active.name from the config")

    d = ctx.daemon(with_metrics(ctx.config(), PORT_METRICS2))
    T.wait_until(lambda: status_json(ctx)["standby"]["last_check"], ctx.t(5), "a live view with the last check")
    st = status_json(ctx)
    ctx.expect_eq(st["daemon"]["running"], True, "daemon.running")
    ctx.expect_eq(st["daemon"]["pid"], d.pid, "daemon.pid")
    ctx.expect_eq(st["serving"], T.ACTIVE_NAME, "serving before the failover")
    ctx.expect_eq(st["active"]["status"], "up", "active.status")
    ctx.expect_eq(st["active"]["last_check"]["http_status"], 200, "active.last_check.http_status")
    ctx.expect(st["active"]["last_check"]["latency_seconds"] >= 0, "latency")
    ctx.expect_eq(st["active"]["threshold"], THRESHOLD, "active.threshold")

    fail_over_timed(ctx, d)
    # At once, before the live view (rewritten at most once a second) has caught up: the record, saved at every
    # step, decides that no failover runs any more.
    ctx.expect_eq(status_json(ctx)["failover_running"], False, "failover_running right after the failover ended")
    ctx.expect_failed_over(d.text())
    # Fresh within one interval (the file is rewritten at most once per interval, and once a second).
    T.wait_until(lambda: status_json(ctx)["active"]["consecutive_failures"] >= THRESHOLD and
                 status_json(ctx)["failover"] is not None, ctx.t(3), "--status to show the failover")
    st = status_json(ctx)
    ctx.expect_eq(st["active"]["status"], "down", "active.status after")
    ctx.expect_eq(st["active"]["last_check"]["http_status"], 500, "active.last_check.http_status after")
    ctx.expect_eq(st["serving"], T.STANDBY_NAME, "serving after the failover")
    rec = st["failover"]
    ctx.expect_eq(rec["outcome"], state_outcome(ctx), "failover.outcome vs the state file")
    steps = state_steps(ctx)
    ctx.expect_eq({s["name"]: s["result"] for s in rec["steps"]}, steps, "failover steps vs the state file")
    for s in rec["steps"]:
        ctx.expect(isinstance(s["duration_seconds"], (int, float)) and s["duration_seconds"] >= 0, f"step {s}")
    human = ctx.cli(*T.ARGS_STATUS)
    ctx.expect_rc(human, T.EXIT_OK, "--status")
    for word in ("daemon:  running", f"serving: {T.STANDBY_NAME}", "last failover: succeeded"):
        ctx.expect(word in human.stdout, f"--status lacks {word!r}:\n{human.stdout}")
    ctx.stop_daemon(d)
    st = status_json(ctx)
    ctx.expect_eq(st["daemon"]["running"], False, "daemon.running after SIGTERM")
    ctx.expect_eq(st["failover"]["outcome"], "succeeded", "failover.outcome with the daemon stopped")


# -------------------------------------------------------------------------------------------------- rules

def test_obs_prometheus_rules_pass_promtool(ctx):
    promtool = shutil.which("promtool")
    ctx.expect(promtool, "promtool is not installed (Debian package prometheus; make deps)")
    r = subprocess.run([promtool, "check", "rules", RULES], capture_output=True, text=True, timeout=60)
    ctx.expect(r.returncode == 0, f"promtool check rules {RULES}:\n{r.stdout}{r.stderr}")
    tests = os.path.join(ROOT, "tests", "promtool", "rules_test.yml")
    if os.path.exists(tests):
        r = subprocess.run([promtool, "test", "rules", tests], capture_output=True, text=True, timeout=60,
                           cwd=os.path.dirname(tests))
        ctx.expect(r.returncode == 0, f"promtool test rules {tests}:\n{r.stdout}{r.stderr}")
