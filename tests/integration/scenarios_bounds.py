"""scenarios_bounds: hostile and broken input from every side (issue #7) — a health endpoint that answers 100 MB,
trickles, redirects or sends 10,000 headers; a step that prints without end; a child's inherited descriptors; a
planted secret in every output. Real servers only (a raw-socket HTTP server run by the test, on 127.0.0.1:25430),
each bound checked by what the daemon does and by its memory (VmRSS) staying flat.
"""
import os
import re
import socket
import threading
import time

import topology as T
from topology import LOG

HOSTILE_PORT = 25430
HOSTILE_URL = f"http://{T.HOST}:{HOSTILE_PORT}/health"
MiB = 1024 * 1024


class Hostile:
    """A raw HTTP/1.1 server whose every answer misbehaves the same way (`mode`). Counts what it sent."""

    def __init__(self, mode, port=HOSTILE_PORT):
        self.mode = mode
        self.port = port
        self.sent = 0
        self.requests = 0
        self.stopping = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((T.HOST, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True, name=f"hostile-{mode}")
        self.thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _send(self, conn, data):
        conn.sendall(data)
        self.sent += len(data)

    def _serve(self, conn):
        conn.settimeout(5)
        try:
            while not self.stopping.is_set():
                req = b""
                while b"\r\n\r\n" not in req:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    req += chunk
                self.requests += 1
                getattr(self, "_" + self.mode)(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def _big(self, conn):
        size = 100 * MiB
        self._send(conn, f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nContent-Type: text/plain\r\n\r\n".encode())
        block = b"ok" * 32768
        left = size
        while left > 0 and not self.stopping.is_set():
            self._send(conn, block[:min(left, len(block))])
            left -= len(block)

    def _trickle(self, conn):
        self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(1000):
            if self.stopping.wait(1.0):
                return
            self._send(conn, b"o")

    def _redirect(self, conn):
        self._send(conn, f"HTTP/1.1 302 Found\r\nLocation: http://{T.STANDBY_SERVER}/health\r\n"
                         "Content-Length: 0\r\n\r\n".encode())

    def _headers(self, conn):
        head = "HTTP/1.1 200 OK\r\n" + "".join(f"X-Flood-{i}: {'v' * 16}\r\n" for i in range(10000))
        self._send(conn, (head + "Content-Length: 2\r\n\r\nok").encode())

    def stop(self):
        self.stopping.set()
        self.sock.close()
        self.thread.join(2)


_ASAN = {}


def rss_slack_kib(ctx, kib):
    """The RSS growth allowed: `kib` for a plain build; under ASan, whose quarantine holds freed memory (256 MiB by
    default) and grows RSS without a leak, 64 MiB — still far below what keeping 100 MB bodies would take."""
    if ctx.bin not in _ASAN:
        with open(ctx.bin, "rb") as f:
            _ASAN[ctx.bin] = b"__asan_init" in f.read()
    return 64 * 1024 if _ASAN[ctx.bin] else kib


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def _hostile_daemon(ctx, mode, **health):
    h = Hostile(mode)
    ctx.hostile = h
    cfg = ctx.config(**health)
    cfg["active"]["url"] = HOSTILE_URL
    d = ctx.daemon(cfg, ready=False)
    return h, d


def _run_hostile(ctx, mode, checks=6, **health):
    """Daemon with the active on the hostile server; returns (hostile, daemon, rss growth KiB over `checks` checks
    after a warm-up of 3)."""
    health.setdefault("failure_threshold", 1000)    # this is about each check, not the failover
    h, d = _hostile_daemon(ctx, mode, **health)
    try:
        d.wait_log(LOG.STANDBY_HEALTHY, ctx.t(10))
        T.wait_until(lambda: h.requests >= 3, ctx.t(15), f"3 checks against the {mode} server")
        before = rss_kib(d.pid)
        n0 = h.requests
        T.wait_until(lambda: h.requests >= n0 + checks, ctx.t(30), f"{checks} more checks")
        growth = rss_kib(d.pid) - before
        return h, d, growth
    except BaseException:
        h.stop()
        raise


def test_health_100mb_body_is_read_to_the_cap_only(ctx):
    h, d, growth = _run_hostile(ctx, "big", timeout=2.0, interval=2.5)
    try:
        ctx.expect(d.has_log(LOG.ACTIVE_HEALTHY), "a 200 with a huge body must pass (no expect_body)")
        per_check = h.sent / max(h.requests, 1)
        ctx.expect(per_check < 16 * MiB, f"the daemon read {per_check / MiB:.1f} MiB per check (cap: 64 KiB + "
                                         "socket buffers)")
        ctx.expect(growth < rss_slack_kib(ctx, 4096), f"RSS grew by {growth} KiB over 6 checks of a 100 MB answer")
    finally:
        h.stop()
    ctx.stop_daemon(d)


def test_health_trickle_fails_within_timeout(ctx):
    h, d, growth = _run_hostile(ctx, "trickle", timeout=0.5, interval=1.0, checks=3)
    try:
        line = d.wait_log(LOG.active_failing(1, 1000), ctx.t(5))
        ctx.expect("timeout" in line.lower() or "timed out" in line.lower(), f"not a timeout: {line!r}")
        ctx.expect(d.running(), "daemon died")
        ctx.expect(growth < rss_slack_kib(ctx, 2048), f"RSS grew by {growth} KiB")
    finally:
        h.stop()
    ctx.stop_daemon(d)


def test_health_redirect_is_not_followed(ctx):
    h, d, growth = _run_hostile(ctx, "redirect", checks=3)
    try:
        line = d.wait_log(LOG.active_failing(1, 1000), ctx.t(5))
        ctx.expect("302" in line, f"the redirect is not named: {line!r}")
        ctx.expect(not d.has_log(LOG.ACTIVE_HEALTHY), "a redirect to a healthy URL was followed")
    finally:
        h.stop()
    ctx.stop_daemon(d)


def test_health_10000_headers_bounded(ctx):
    h, d, growth = _run_hostile(ctx, "headers", timeout=1.0, interval=1.5, checks=4)
    try:
        text = d.text()
        ctx.expect(LOG.ACTIVE_HEALTHY in text or LOG.ACTIVE_FAILING in text, "no verdict on the flood")
        ctx.expect(growth < rss_slack_kib(ctx, 4096), f"RSS grew by {growth} KiB over 4 checks")
        ctx.expect(d.running(), "daemon died")
    finally:
        h.stop()
    ctx.stop_daemon(d)


def test_step_output_without_end_is_capped_and_bounded(ctx):
    cfg = ctx.config()
    cfg["failover"]["standby_stack"] = {"command": ["/usr/bin/yes", "endless output line"], "timeout": "2s"}
    d = ctx.daemon(cfg)
    rss0 = rss_kib(d.pid)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.failed_at("standby_stack"), ctx.t(30), since=m)
    text = d.text()[m:]
    ctx.expect("failover: step standby_stack output was cut at 65536 bytes" in text, "the cut is not logged")
    took = re.search(r"step standby_stack failed \(([\d.]+)s\): timed out after", text)
    ctx.expect(took and 1.9 <= float(took.group(1)) <= ctx.t(3.0),
               f"the endless step was not stopped at its 2s timeout: {took and took.group(0)}")
    ctx.expect(len(text) < 256 * 1024, f"the log grew by {len(text)} bytes for one capped step")
    growth = rss_kib(d.pid) - rss0
    ctx.expect(growth < rss_slack_kib(ctx, 4096), f"RSS grew by {growth} KiB")
    ctx.stop_daemon(d)


def test_child_gets_no_inherited_fds_and_a_minimal_env(ctx):
    cfg = ctx.config()
    probe = ("import os\n"
             "fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))\n"
             "print('FDS', ' '.join(map(str, fds)))\n"
             "print('ENV', ' '.join(sorted(os.environ)))\n")
    cfg["failover"]["standby_stack"] = {"command": [T.PYTHON, "-c", probe], "timeout": "10s"}
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m)
    text = d.text()
    fds = re.search(r"output: FDS ([\d ]+)", text)
    ctx.expect(fds, "the probe's fd line is missing")
    # 0, 1, 2 and the directory listing's own descriptor; nothing of the daemon's (sockets, the state dir...).
    ctx.expect(len(fds.group(1).split()) <= 4, f"the child inherited descriptors: {fds.group(1)}")
    env = re.search(r"output: ENV (.*)", text).group(1).split()
    extra = [k for k in env if k not in ("PATH", "LANG", "HOME", "LC_CTYPE") and not k.startswith("BLF_")]
    ctx.expect(not extra, f"the child got undocumented environment variables: {extra}")
    ctx.stop_daemon(d)


SECRET = "Sup3rS3cretPl4nted"


def test_planted_secrets_never_printed(ctx):
    """URL userinfo, a conninfo password and a webhook token, planted in the config, appear in no output: -t, --dry-run, the
    drill, --status, the daemon's log through a failover, the state record."""
    cfg = ctx.config()
    cfg["standby"]["url"] = f"http://blf:{SECRET}@{T.STANDBY_SERVER}/health"
    cfg["database"] = {"standby": ctx.topo.pg.conninfo("standby") + f" password={SECRET}", "connect_timeout": "2s"}
    cfg["failover"]["verify"] = {"urls": [f"http://blf:{SECRET}@{T.STANDBY_SERVER}/whoami"], "timeout": "10s"}
    # Nothing listens there: every POST fails and is retried, and each failure is logged (redacted).
    cfg["alerts"] = {"webhook_url": f"http://hook:{SECRET}@{T.HOST}:25439/alerts?token={SECRET}", "timeout": "1s",
                     "retries": 1}
    ctx.write_config(cfg)
    outputs = {}
    for args in (T.ARGS_CHECK, T.ARGS_DRY_RUN, [*T.ARGS_ONCE, *T.ARGS_DRY_RUN]):
        r = ctx.cli(*args)
        outputs[" ".join(args)] = r.stdout + r.stderr
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT,))
    r = ctx.cli(*T.ARGS_STATUS)
    outputs["--status"] = r.stdout + r.stderr
    ctx.stop_daemon(d)
    outputs["daemon log"] = d.text()
    outputs["state file"] = T.read_bytes(ctx.state_file).decode("utf-8", "replace")
    for name in sorted(os.listdir(ctx.state_dir)):
        p = os.path.join(ctx.state_dir, name)
        if os.path.isfile(p):
            outputs[f"state_dir/{name}"] = T.read_bytes(p).decode("utf-8", "replace")
    leaks = [name for name, text in outputs.items() if SECRET in text]
    ctx.expect(not leaks, f"the planted secret appears in: {leaks}")
    ctx.expect("blf:" not in outputs["daemon log"] or "***" in outputs["daemon log"], "userinfo not redacted")



# ---------------------------------------------------------------------------------------------------- TLS

TLS_PORT = 25431


class TlsHealth:
    """An https /health (200 "ok") with a self-signed certificate for 127.0.0.1, made with openssl here."""

    def __init__(self, dirpath, port=TLS_PORT):
        import http.server
        import ssl
        self.cert = os.path.join(dirpath, "tls-cert.pem")
        key = os.path.join(dirpath, "tls-key.pem")
        T.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", self.cert,
               "-days", "2", "-subj", f"/CN={T.HOST}", "-addext", f"subjectAltName=IP:{T.HOST}"],
              what="openssl req (test certificate)")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer((T.HOST, port), Handler)
        self.server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="tls-health")
        self.thread.start()
        self.url = f"https://{T.HOST}:{port}/health"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_https_health_verifies_tls_by_default(ctx):
    tls = TlsHealth(ctx.dir)
    try:
        def cfg(**tls_keys):
            c = ctx.config(failure_threshold=1000)
            c["active"]["url"] = tls.url
            c["health"].update(tls_keys)
            return c
        d = ctx.daemon(cfg(), ready=False)
        line = d.wait_log(LOG.active_failing(1, 1000), ctx.t(10))
        ctx.expect("certificate" in line.lower() or "ssl" in line.lower() or "tls" in line.lower(),
                   f"a self-signed certificate must fail verification, and say so: {line!r}")
        ctx.stop_daemon(d)
        d = ctx.daemon(cfg(ca_file=tls.cert))
        ctx.expect(not d.has_log(LOG.ACTIVE_FAILING), "the check failed with health.ca_file naming the certificate")
        ctx.stop_daemon(d)
        d = ctx.daemon(cfg(tls_verify=False))
        ctx.expect(d.has_log("health.tls_verify is false"), "opting out of TLS verification is not warned about")
        ctx.stop_daemon(d)
        c = cfg(ca_file=os.path.join(ctx.dir, "no-such-ca.pem"))
        ctx.write_config(c)
        r = ctx.cli(*T.ARGS_CHECK)
        ctx.expect_rc(r, T.EXIT_CONFIG, "-t with an unreadable health.ca_file")
        ctx.expect("health.ca_file" in r.stderr or "CA file" in r.stderr, f"-t does not name the CA file:\n{r.stderr}")
    finally:
        tls.stop()


# ---------------------------------------------------------------------------------------------------- soak

def test_soak_healthy_polling_rss_and_fds_flat(ctx):
    """Healthy polling at 100 ms for BLF_SOAK_SECONDS (make check: 60; make soak: 600): after a warm-up, neither
    resident memory nor the number of open descriptors grows."""
    seconds = float(os.environ.get("BLF_SOAK_SECONDS", "60"))
    d = ctx.daemon(ctx.config(interval=0.1, timeout=0.08))
    warmup = min(15.0, seconds / 4)
    time.sleep(warmup)
    samples = []
    end = time.monotonic() + seconds - warmup
    while time.monotonic() < end:
        samples.append((rss_kib(d.pid), fd_count(d.pid)))
        time.sleep(min(5.0, max(0.5, (seconds - warmup) / 20)))
    samples.append((rss_kib(d.pid), fd_count(d.pid)))
    rss = [s[0] for s in samples]
    fds = [s[1] for s in samples]
    hits = ctx.topo.active.hits()
    print(f"    soak {seconds:.0f}s at 100ms: {hits} active checks; RSS {rss[0]}..{max(rss)} KiB (last {rss[-1]}); "
          f"fds {min(fds)}..{max(fds)}")
    ctx.expect(max(fds) == min(fds), f"open descriptors changed during healthy polling: {fds}")
    # The first half's peak bounds the second half: growth shows as a climb, not as allocator noise.
    half = len(rss) // 2
    ctx.expect(max(rss[half:]) <= max(rss[:half]) + rss_slack_kib(ctx, 256),
               f"RSS grew during healthy polling (KiB): {rss}")
    ctx.expect(not d.has_log(LOG.ACTIVE_FAILING), "a check failed during healthy polling")
    ctx.stop_daemon(d)


def test_root_refuses_a_config_others_can_write(ctx):
    """Run as root (the tests are), a config anyone can change names the commands root runs and the state_dir
    --clear-state deletes from: refused by the daemon, -t, --once and --clear-state alike (exit 78)."""
    ctx.write_config()
    os.chmod(ctx.config_path, 0o666)
    for args in (T.ARGS_CHECK, T.ARGS_ONCE, T.ARGS_CLEAR_STATE):
        r = ctx.cli(*args)
        ctx.expect_rc(r, T.EXIT_CONFIG, f"{' '.join(args)} with a world-writable config")
        ctx.expect("refusing to run as root" in r.stderr, f"no refusal named:\n{r.stderr}")
    # ctx.daemon() would rewrite the config (0644): start this one on the file as it is.
    d = T.Daemon(ctx.bin, ctx.config_path, os.path.join(ctx.dir, "daemon-untrusted.log"), prefix=ctx._prefix())
    ctx.daemons.append(d)
    d.start()
    ctx.expect_eq(d.wait_exit(ctx.t(10)), T.EXIT_CONFIG, "daemon exit with a world-writable config")
    os.chmod(ctx.config_path, 0o644)
    ctx.expect_rc(ctx.cli(*T.ARGS_CHECK), T.EXIT_OK, "-t once the config is 0644 again")
    ctx.expect_unchanged()
