#!/usr/bin/python3
"""test_notify: blfailoverd as a systemd service sees it, without systemd.

The test is the service manager: it binds its own NOTIFY_SOCKET (AF_UNIX datagram, SO_PASSCRED so every message's
sender is known), starts `BIN -c CONFIG` against two HTTP stand-ins on 127.0.0.1 (ports 25600-25649) and checks the
sd_notify protocol (READY, STATUS, WATCHDOG, RELOADING/READY, STOPPING), the journal fields where a journal is
reachable (the host's, or a private systemd-journald in throw-away namespaces), and the plain-stderr fallback always.

A failover is never triggered: the active fails fewer times than the threshold, the ssh port is one nothing listens
on, and every command is `true`.

Usage: test_notify.py --bin PATH [--counts FILE] [--man PATH]
Prints PASS/FAIL/SKIP per test and, last, "N passed, M failed"; exits 0 iff nothing failed.
"""

import argparse
import contextlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

PORT_RANGE = range(25600, 25650)
SSH_PORT_UNUSED = 25649          # never listened on: were a step ever to run, ssh_check would fail, not connect
THRESHOLD = 5
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STARTED_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: started: ")
PLAIN_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|notice|warning|error): \S")
# The syslog priority of each event kind, as src/event.c assigns it and blfailoverd(8) documents it.
PRIORITIES = {"daemon_started": 6, "endpoint_healthy": 6, "endpoint_failing": 4, "config_reloaded": 6,
              "config_rejected": 3, "stopping": 6}


class Failure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


# ---------------------------------------------------------------------------------------------- cleanup
# Everything started or created is registered here and undone in reverse order, on any exit path.

_cleanups = []


def on_cleanup(fn):
    _cleanups.append(fn)
    return fn


def run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        with contextlib.suppress(Exception):
            fn()


def _terminate(signo, frame):
    raise SystemExit(128 + signo)


# ---------------------------------------------------------------------------------------------- HTTP stand-ins

class StandIn:
    """An API's /health on 127.0.0.1: 200 while `ok`, 500 otherwise. Counts requests."""

    def __init__(self, name, taken):
        self.name = name
        self.ok = True
        self.requests = 0
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                stand_in.requests += 1
                code = 200 if stand_in.ok else 500
                body = b'{"status":"healthy"}' if stand_in.ok else b'{"status":"broken"}'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # The daemon hangs up when a check times out or it stops: expected, not worth a traceback.
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.server = None
        for port in PORT_RANGE:
            if port in taken or port == SSH_PORT_UNUSED:
                continue
            try:
                self.server = Server(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        if self.server is None:
            raise RuntimeError("no free port in 25600-25649 on 127.0.0.1")
        self.port = self.server.server_address[1]
        taken.add(self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        on_cleanup(self.close)

    def close(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# ---------------------------------------------------------------------------------------------- the notify socket

class NotifySocket:
    """Our NOTIFY_SOCKET: collects (time, sender pid, {key: value}) for every datagram."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.1)
        self.messages = []
        self.cond = threading.Condition()
        self.stop = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        on_cleanup(self.close)

    def _read(self):
        ucred_size = struct.calcsize("3i")
        while not self.stop:
            try:
                data, anc, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(ucred_size))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:ucred_size])[0]
            fields = {}
            for line in data.decode("utf-8", "replace").split("\n"):
                if "=" in line:
                    key, value = line.split("=", 1)
                    fields[key] = value
            with self.cond:
                self.messages.append((time.monotonic(), pid, fields))
                self.cond.notify_all()

    def wait(self, predicate, timeout, start=0):
        """The index of the first message from `start` on that satisfies predicate(fields), or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.messages)):
                    if predicate(self.messages[i][2]):
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def snapshot(self):
        with self.cond:
            return list(self.messages)

    def close(self):
        self.stop = True
        self.thread.join(timeout=2)
        self.sock.close()


# ---------------------------------------------------------------------------------------------- the daemon

def write_config(path, work, active, standby, threshold=THRESHOLD, extra_top=""):
    site = os.path.join(work, "site.conf")
    if not os.path.exists(site):
        with open(site, "w") as f:
            f.write("upstream blacklake_backend {\n    server 127.0.0.1:%d;\n    server 127.0.0.1:%d backup;\n}\n"
                    % (active.port, standby.port))
    with open(path + ".tmp", "w") as f:
        f.write(f"""{extra_top}state_dir: {work}/state
health:
  interval: 400ms
  timeout: 350ms
  failure_threshold: {threshold}
active:
  name: {active.name}
  url: http://127.0.0.1:{active.port}/health
standby:
  name: {standby.name}
  url: http://127.0.0.1:{standby.port}/health
failover:
  promote:
    ssh:
      host: 127.0.0.1
      port: {SSH_PORT_UNUSED}
      options: [BatchMode=yes]
    trigger_file: {work}/never-touched.trigger
    timeout: 2s
  nginx:
    config: {site}
    upstream: blacklake_backend
    active_server: 127.0.0.1:{active.port}
    standby_server: 127.0.0.1:{standby.port}
    test_command: [true]
    reload_command: [true]
    timeout: 2s
  standby_stack:
    command: [true]
    timeout: 2s
""")
    os.rename(path + ".tmp", path)


class Daemon:
    """BIN -c CONFIG in its own session; stderr read line by line into .lines."""

    def __init__(self, binary, config, env, stderr=None, watchdog_pid_self=False):
        argv = [binary, "-c", config]
        if watchdog_pid_self:
            # WATCHDOG_PID must be the daemon's own pid, unknown before exec: a tiny shell exports its $$ and execs.
            argv = ["/bin/sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh"] + argv
        self.lines = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=stderr if stderr is not None else subprocess.PIPE,
                                     start_new_session=True)
        self.pid = self.proc.pid
        on_cleanup(self.kill)
        self.reader = None
        if stderr is None:
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            with self.lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def text(self):
        with self.lock:
            return "\n".join(self.lines)

    def wait_line(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            with self.lock:
                if any(rx.search(line) for line in self.lines):
                    return True
            time.sleep(0.02)
        return False

    def signal(self, signo):
        self.proc.send_signal(signo)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        if self.reader:
            self.reader.join(timeout=2)
        if self.proc.stderr:
            self.proc.stderr.close()


class Fixture:
    """A temp dir, two stand-ins, a config and a notify socket: one per test, so no test sees another's messages."""

    def __init__(self, args, taken, threshold=THRESHOLD):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="blf-sd-test-")
        on_cleanup(lambda: shutil.rmtree(self.work, ignore_errors=True))
        self.active = StandIn("active_api", taken)
        self.standby = StandIn("standby_api", taken)
        self.config = os.path.join(self.work, "blfailoverd.yml")
        write_config(self.config, self.work, self.active, self.standby, threshold)
        self.notify = NotifySocket(os.path.join(self.work, "notify.sock"))
        self.daemon = None

    def env(self, **extra):
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C.UTF-8",
               "NOTIFY_SOCKET": self.notify.path}
        for key, value in extra.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def start(self, stderr=None, watchdog_pid_self=False, **extra):
        self.daemon = Daemon(self.args.bin, self.config, self.env(**extra), stderr, watchdog_pid_self)
        return self.daemon

    def wait_ready(self, timeout=10, start=0):
        i = self.notify.wait(lambda f: f.get("READY") == "1", timeout, start)
        if i is None:
            raise Failure("no READY=1 within %ss; stderr:\n%s" % (timeout, self.daemon.text()[-2000:]))
        return i

    def status_after(self, start, pattern, timeout):
        rx = re.compile(pattern)
        return self.notify.wait(lambda f: "STATUS" in f and rx.search(f["STATUS"]), timeout, start)

    def stop(self):
        self.daemon.signal(signal.SIGTERM)
        return self.daemon.wait_exit(10)

    def no_failover_happened(self):
        check(not os.path.exists(os.path.join(self.work, "state", "state")),
              "a failover record was written: the test let the active fail too often")


def sender_pids(fx):
    return {pid for _, pid, _ in fx.notify.snapshot()}


# ---------------------------------------------------------------------------------------------- notify tests

def test_ready_after_config_load(args, taken):
    fx = Fixture(args, taken)
    d = fx.start()
    i = fx.wait_ready()
    msgs = fx.notify.snapshot()
    before = [f for _, _, f in msgs[:i]]
    check(any("STATUS" in f and f["STATUS"].endswith("last failover: never") for f in before),
          "no STATUS=... last failover: never before READY=1 (the state was not read first?): %r" % before)
    check(sender_pids(fx) == {d.pid}, "notifications from pids %r, expected only the daemon %d"
          % (sender_pids(fx), d.pid))
    ready_at = msgs[i][0]
    deadline = time.monotonic() + 3
    while fx.active.requests == 0 or fx.standby.requests == 0:
        check(time.monotonic() < deadline, "READY=1 at %.3f but no health check reached both stand-ins within 3s"
              % ready_at)
        time.sleep(0.02)
    check(d.wait_line(r" info: started: watching active active_api", 3), "no 'started:' line on stderr")
    check(fx.stop() == 0, "SIGTERM: exit status %r, expected 0" % d.proc.returncode)
    fx.no_failover_happened()


def test_bad_config_no_ready(args, taken):
    fx = Fixture(args, taken)
    with open(fx.config, "a") as f:
        f.write("unknown_key: 1\n")
    d = fx.start()
    rc = d.wait_exit(10)
    check(rc == 78, "exit status %r, expected 78 (EX_CONFIG); stderr:\n%s" % (rc, d.text()))
    time.sleep(0.2)
    check(fx.notify.wait(lambda f: "READY" in f, 0.1) is None, "READY=1 sent although the config was rejected")
    check(re.search(r"blfailoverd\.yml:\d+:\d+: unknown key", d.text()), "no FILE:LINE:COL message for the key")


def test_status_follows_active(args, taken):
    fx = Fixture(args, taken)
    fx.start()
    fx.wait_ready()
    healthy = r"^active ok 0/%d · standby ok · last failover: never$" % THRESHOLD
    i = fx.status_after(0, healthy, 5)
    check(i is not None, "no STATUS=%s within 5s: %r" % (healthy, fx.notify.snapshot()))
    fx.active.ok = False
    j = fx.status_after(i + 1, r"^active failing 1/%d · standby ok · last failover: never$" % THRESHOLD, 5)
    fx.active.ok = True         # at once: one failure of five, never near the threshold
    check(j is not None, "no STATUS 'active failing 1/%d' within 5s after the active started failing: %r"
          % (THRESHOLD, [f.get("STATUS") for _, _, f in fx.notify.snapshot()]))
    k = fx.status_after(j + 1, healthy, 5)
    check(k is not None, "STATUS did not return to healthy after the active recovered")
    statuses = [f["STATUS"] for _, _, f in fx.notify.snapshot() if "STATUS" in f]
    repeats = [a for a, b in zip(statuses, statuses[1:]) if a == b]
    check(not repeats, "STATUS sent again without a change: %r" % repeats)
    check(fx.stop() == 0, "SIGTERM: exit status %r" % fx.daemon.proc.returncode)
    fx.no_failover_happened()


def watch_pings(fx, seconds):
    fx.wait_ready()
    time.sleep(seconds)
    return [t for t, _, f in fx.notify.snapshot() if f.get("WATCHDOG") == "1"]


def test_watchdog(args, taken, with_pid):
    period = 1.0
    fx = Fixture(args, taken)
    d = fx.start(watchdog_pid_self=with_pid, WATCHDOG_USEC=str(int(period * 1e6)))
    started = time.monotonic()
    pings = watch_pings(fx, 4.0)
    check(len(pings) >= 4, "%d WATCHDOG=1 in %.1fs with WATCHDOG_USEC=1s" % (len(pings), time.monotonic() - started))
    gaps = [b - a for a, b in zip([started] + pings, pings)]
    # sd-event pings between 1/2 and 3/4 of the period after the last one: the manager needs < 1 period.
    slack = 0.2
    check(max(gaps) <= 0.75 * period + slack, "a gap of %.3fs between pings (WATCHDOG_USEC=1s allows 0.75s + %.2fs)"
          % (max(gaps), slack))
    check({pid for _, pid, f in fx.notify.snapshot() if "WATCHDOG" in f} == {d.pid}, "pings not from the daemon")
    check(fx.stop() == 0, "SIGTERM: exit status %r" % d.proc.returncode)


def test_watchdog_pid_self(args, taken):
    test_watchdog(args, taken, True)


def test_watchdog_no_pid(args, taken):
    test_watchdog(args, taken, False)


def test_watchdog_other_pid(args, taken):
    fx = Fixture(args, taken)
    fx.start(WATCHDOG_USEC="1000000", WATCHDOG_PID="1")
    pings = watch_pings(fx, 2.5)
    check(not pings, "%d WATCHDOG=1 although WATCHDOG_PID names another process" % len(pings))
    check(fx.stop() == 0, "SIGTERM: exit status %r" % fx.daemon.proc.returncode)


def reload_once(fx, start):
    before = time.monotonic()
    fx.daemon.signal(signal.SIGHUP)
    i = fx.notify.wait(lambda f: f.get("RELOADING") == "1", 5, start)
    check(i is not None, "no RELOADING=1 within 5s of SIGHUP")
    fields = fx.notify.snapshot()[i][2]
    check("MONOTONIC_USEC" in fields, "RELOADING=1 without MONOTONIC_USEC= in the same message: %r" % fields)
    mono = int(fields["MONOTONIC_USEC"]) / 1e6
    check(before - 0.01 <= mono <= time.monotonic() + 0.01,
          "MONOTONIC_USEC=%s is not CLOCK_MONOTONIC at the reload (%.6f..%.6f)" % (fields["MONOTONIC_USEC"], before,
                                                                               time.monotonic()))
    j = fx.notify.wait(lambda f: f.get("READY") == "1", 5, i + 1)
    check(j is not None, "no READY=1 after RELOADING=1")
    return j


def test_reload(args, taken):
    fx = Fixture(args, taken)
    d = fx.start()
    ready = fx.wait_ready()
    reload_once(fx, ready + 1)
    check(d.wait_line(r" info: config reloaded from ", 3), "no 'config reloaded' line on stderr")
    check(fx.stop() == 0, "SIGTERM: exit status %r" % d.proc.returncode)


def test_reload_rejected(args, taken):
    fx = Fixture(args, taken)
    d = fx.start()
    ready = fx.wait_ready()
    with open(fx.config) as f:
        good = f.read()
    with open(fx.config, "w") as f:
        f.write(good.replace("failure_threshold: %d" % THRESHOLD, "failure_threshold: 0"))
    j = reload_once(fx, ready + 1)
    check(d.wait_line(r" error: config reload rejected: .*blfailoverd\.yml:\d+:\d+: ", 3),
          "the rejected file's problem was not logged as FILE:LINE:COL")
    check(d.proc.poll() is None, "the daemon exited after a rejected reload")
    with open(fx.config, "w") as f:
        f.write(good)
    reload_once(fx, j + 1)
    check(fx.stop() == 0, "SIGTERM: exit status %r" % d.proc.returncode)


def test_stopping(args, taken):
    fx = Fixture(args, taken)
    d = fx.start()
    ready = fx.wait_ready()
    d.signal(signal.SIGTERM)
    i = fx.notify.wait(lambda f: f.get("STOPPING") == "1", 5, ready + 1)
    check(i is not None, "no STOPPING=1 within 5s of SIGTERM")
    rc = d.wait_exit(10)
    check(rc == 0, "exit status %r after SIGTERM, expected 0" % rc)
    check(d.wait_line(r" info: stopping \(signal TERM\)", 2), "no 'stopping' line on stderr")


def test_cluster_member_without_etcd(args, taken):
    """The unit's way of running (notify, SIGTERM) holds for a monitor-cluster member: with no etcd answering it
    is READY, says it is unavailable (no automatic action), and stops at once on SIGTERM."""
    fx = Fixture(args, taken)
    write_config(fx.config, fx.work, fx.active, fx.standby, extra_top=f"""cluster:
  name: mon-a
  members: [mon-a, mon-b, mon-c]
  lease_ttl: 2s
  timeout: 400ms
  etcd:
    endpoints: [http://127.0.0.1:{SSH_PORT_UNUSED}]
""")
    d = fx.start()
    ready = fx.wait_ready()
    check(d.wait_line(r" info: cluster: member mon-a of 3", 3), "no 'cluster: member mon-a of 3' line")
    check(d.wait_line(r" cluster: unavailable: .*no automatic action", 8),
          "no 'cluster: unavailable' line with etcd down")
    d.signal(signal.SIGTERM)
    check(fx.notify.wait(lambda f: f.get("STOPPING") == "1", 5, ready + 1) is not None,
          "no STOPPING=1 within 5s of SIGTERM")
    rc = d.wait_exit(3)
    check(rc == 0, "exit status %r within 3s of SIGTERM, expected 0" % rc)
    fx.no_failover_happened()


def test_outside_systemd(args, taken):
    for name, sock in (("no NOTIFY_SOCKET", None), ("NOTIFY_SOCKET to nowhere", "/nonexistent/blf-notify.sock")):
        fx = Fixture(args, taken)
        d = fx.start(NOTIFY_SOCKET=sock, WATCHDOG_USEC="1000000")
        check(d.wait_line(STARTED_LINE.pattern[1:], 5), "%s: no 'started:' line" % name)
        time.sleep(1.0)
        check(d.proc.poll() is None, "%s: the daemon exited (%r)" % (name, d.proc.returncode))
        d.signal(signal.SIGTERM)
        check(d.wait_exit(10) == 0, "%s: exit status %r after SIGTERM" % (name, d.proc.returncode))
        check(not fx.notify.snapshot(), "%s: something reached our socket anyway" % name)


# ---------------------------------------------------------------------------------------------- journal

def test_stderr_fallback(args, taken):
    """JOURNAL_STREAM that names another file: plain lines on stderr, every one of them."""
    fx = Fixture(args, taken)
    d = fx.start(JOURNAL_STREAM="1:1")
    fx.wait_ready()
    check(fx.status_after(0, r"^active ok 0/\d+ · standby ok", 5) is not None, "the endpoints never became healthy")
    check(fx.stop() == 0, "SIGTERM: exit status %r" % d.proc.returncode)
    d.reader.join(timeout=2)
    lines = list(d.lines)
    check(lines, "nothing on stderr")
    bad = [line for line in lines if not PLAIN_LINE.match(line)]
    check(not bad, "lines not in the 'TIMESTAMP LEVEL: message' form: %r" % bad[:3])
    for want in (r"info: started: ", r"info: active active_api: healthy", r"info: stopping \(signal TERM\)"):
        check(any(re.search(want, line) for line in lines), "no line matching %r on stderr" % want)
    check(not any("MESSAGE_ID" in line or "BLF_" in line for line in lines), "journal fields leaked into stderr")


def documented_message_ids(man_path):
    """{event name: MESSAGE_ID} from blfailoverd(8)'s MESSAGE IDS section."""
    ids = {}
    with open(man_path) as f:
        lines = f.read().split("\n")
    for a, b in zip(lines, lines[1:]):
        m = re.match(r"^\.B ([0-9a-f]{32})$", a)
        n = re.match(r"^([a-z_]+) \(", b)
        if m and n:
            ids[n.group(1)] = m.group(1)
    return ids


def journal_stream(identifier):
    """A stream to journald's stdout socket, set up as systemd sets up a service's stderr."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("/run/systemd/journal/stdout")
    s.sendall(("%s\n\n6\n0\n0\n0\n0\n" % identifier).encode())
    s.shutdown(socket.SHUT_RD)
    st = os.fstat(s.fileno())
    return s, "%d:%d" % (st.st_dev, st.st_ino)


def journal_entries(pid, since, want_ids, timeout=15):
    """Every entry from `pid`, once each of want_ids has shown up (journald writes asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(["journalctl", "--no-pager", "-o", "json", "--since", "@%d" % since, "_PID=%d" % pid],
                             capture_output=True, text=True, timeout=30)
        entries = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        seen = {e.get("MESSAGE_ID") for e in entries}
        if want_ids <= seen or time.monotonic() > deadline:
            return entries
        time.sleep(0.2)


def test_journal_fields(args, taken):
    ids = documented_message_ids(args.man)
    check(len(ids) >= len(PRIORITIES), "blfailoverd(8) documents %d message IDs (%s): the MESSAGE IDS section "
          "was not found" % (len(ids), args.man))
    fx = Fixture(args, taken)
    since = int(time.time()) - 1
    stream, jstream = journal_stream("blfailoverd-test")
    d = fx.start(stderr=stream.fileno(), JOURNAL_STREAM=jstream)
    stream.close()
    ready = fx.wait_ready()
    i = fx.status_after(0, r"^active ok 0/%d · standby ok" % THRESHOLD, 5)
    check(i is not None, "the endpoints never became healthy")
    fx.active.ok = False
    j = fx.status_after(i + 1, r"^active failing 1/%d" % THRESHOLD, 5)
    fx.active.ok = True
    check(j is not None, "the active's failure was not noticed")
    check(fx.status_after(j + 1, r"^active ok 0/%d" % THRESHOLD, 5) is not None, "the active did not recover")
    r = reload_once(fx, ready + 1)
    with open(fx.config) as f:
        good = f.read()
    with open(fx.config, "w") as f:
        f.write(good + "unknown_key: 1\n")
    r = reload_once(fx, r + 1)
    with open(fx.config, "w") as f:
        f.write(good)
    check(fx.stop() == 0, "SIGTERM: exit status %r" % d.proc.returncode)
    fx.no_failover_happened()

    want = {ids[k] for k in PRIORITIES}
    entries = journal_entries(d.pid, since, want)
    check(entries, "no journal entry from pid %d (journalctl _PID=%d)" % (d.pid, d.pid))
    by_kind = {}
    for e in entries:
        check(e.get("_TRANSPORT") == "journal", "an entry came through %s, not sd_journal_send: %r"
              % (e.get("_TRANSPORT"), e.get("MESSAGE")))
        check(e.get("SYSLOG_IDENTIFIER") == "blfailoverd", "SYSLOG_IDENTIFIER=%r" % e.get("SYSLOG_IDENTIFIER"))
        if "MESSAGE_ID" in e:
            kind = e.get("BLF_EVENT")
            check(ids.get(kind) == e["MESSAGE_ID"], "BLF_EVENT=%s has MESSAGE_ID=%s; blfailoverd(8) says %s"
                  % (kind, e["MESSAGE_ID"], ids.get(kind)))
            by_kind.setdefault(kind, []).append(e)
        else:
            check("BLF_EVENT" not in e, "BLF_EVENT without MESSAGE_ID: %r" % e.get("MESSAGE"))
    for kind, prio in PRIORITIES.items():
        # The brief's way of looking them up: journalctl MESSAGE_ID=…
        out = subprocess.run(["journalctl", "--no-pager", "-o", "json", "--since", "@%d" % since,
                              "MESSAGE_ID=%s" % ids[kind], "_PID=%d" % d.pid], capture_output=True, text=True)
        found = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        check(found, "journalctl MESSAGE_ID=%s (%s) _PID=%d found nothing" % (ids[kind], kind, d.pid))
        check(all(e.get("PRIORITY") == str(prio) for e in found), "%s: PRIORITY=%r, expected %d"
              % (kind, [e.get("PRIORITY") for e in found], prio))
    healthy = by_kind["endpoint_healthy"]
    check({e.get("BLF_ROLE") for e in healthy} == {"active", "standby"}, "endpoint_healthy BLF_ROLE=%r"
          % [e.get("BLF_ROLE") for e in healthy])
    check({e.get("BLF_ENDPOINT") for e in healthy} == {"active_api", "standby_api"}, "endpoint_healthy BLF_ENDPOINT")
    check(all(re.fullmatch(r"[1-9]\d*", e.get("BLF_DURATION_USEC", "")) for e in healthy),
          "endpoint_healthy BLF_DURATION_USEC=%r" % [e.get("BLF_DURATION_USEC") for e in healthy])
    failing = by_kind["endpoint_failing"][0]
    check((failing.get("BLF_ROLE"), failing.get("BLF_ENDPOINT"), failing.get("BLF_FAILURES")) ==
          ("active", "active_api", "1/%d" % THRESHOLD), "endpoint_failing fields %r" %
          {k: v for k, v in failing.items() if k.startswith("BLF_")})
    plain = [e for e in entries if "MESSAGE_ID" not in e and "config reload rejected" in e.get("MESSAGE", "")]
    check(plain and all(e.get("PRIORITY") == "3" for e in plain),
          "the rejected file's problems: no plain PRIORITY=3 entries: %r" % [e.get("MESSAGE") for e in plain])
    for e in by_kind["stopping"] + by_kind["daemon_started"]:
        check(not any(k in e for k in ("BLF_STEP", "BLF_ARGV", "BLF_EXIT_STATUS", "BLF_ROLE")),
              "%s carries fields that do not apply: %r" % (e.get("BLF_EVENT"), sorted(e)))


# ---------------------------------------------------------------------------------------------- private journald

JOURNALD = "/lib/systemd/systemd-journald"


def private_journald_problem():
    """Why a private journald cannot be run here, or None."""
    if os.geteuid() != 0:
        return "not root (a private journald needs mount, pid and network namespaces)"
    for tool in ("unshare", "journalctl"):
        if not shutil.which(tool):
            return "%s not installed" % tool
    if not os.access(JOURNALD, os.X_OK):
        return "%s not installed (package systemd)" % JOURNALD
    return None


def run_in_private_journal(args):
    """Runs test_journal_fields in fresh namespaces with a private journald; returns (status, reason).

    mount namespace: a tmpfs over /run (and /var/log/journal if it exists), so journald's sockets and journal files
    never touch the host's. pid namespace (--kill-child): when anything dies, everything in it dies. journald runs
    in its own network namespace too, where the kernel refuses audit sockets: it cannot turn on the host's auditing.
    """
    fd, result = tempfile.mkstemp(prefix="blf-sd-journal-", suffix=".json")
    os.close(fd)
    on_cleanup(lambda: os.unlink(result))
    cmd = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "--kill-child",
           sys.executable, os.path.abspath(__file__), "--bin", args.bin, "--man", args.man,
           "--inner-private-journal", result]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "FAIL", "the private-journal run did not finish within 120s"
    try:
        with open(result) as f:
            status, reason = json.load(f)
    except (OSError, ValueError):
        return "FAIL", "the private-journal run left no result (exit %d): %s" % (out.returncode,
                                                                                 (out.stdout + out.stderr)[-1500:])
    return status, reason


def inner_private_journal(args):
    """PID 1 of a private pid+mount namespace: start journald, run the journal test, report into args.inner."""
    status, reason = "FAIL", "did not finish"
    journald = None
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "tmpfs", "/run"], check=True)
        if os.path.isdir("/var/log/journal"):
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "tmpfs", "/var/log/journal"],
                           check=True)
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "SYSTEMD_LOG_TARGET": "console"}
        journald = subprocess.Popen(["unshare", "--net", JOURNALD], env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not (os.path.exists("/run/systemd/journal/socket") and os.path.exists("/run/systemd/journal/stdout")):
            if journald.poll() is not None or time.monotonic() > deadline:
                err = journald.stderr.read().decode(errors="replace") if journald.poll() is not None else ""
                raise Failure("private systemd-journald did not come up: %s" % err[-500:])
            time.sleep(0.05)
        test_journal_fields(args, set())
        status, reason = "PASS", ""
    except Failure as e:
        status, reason = "FAIL", str(e)
    except Exception as e:       # noqa: BLE001 — any crash is this test's failure, reported with its cause
        status, reason = "FAIL", "%s: %s" % (type(e).__name__, e)
    finally:
        run_cleanups()
        if journald and journald.poll() is None:
            journald.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                journald.wait(timeout=5)
        with open(args.inner_private_journal, "w") as f:
            json.dump([status, reason], f)


def test_journal(args, taken):
    """Where a journal is reachable: the host's, else a private journald; otherwise a skip, never a pass."""
    if os.path.exists("/run/systemd/journal/socket"):
        if not shutil.which("journalctl"):
            return "SKIP", "journal: journalctl not installed"
        test_journal_fields(args, taken)
        return "PASS", "(host journal)"
    problem = private_journald_problem()
    if problem:
        return "SKIP", "journal: no journald socket, and no private journald: %s" % problem
    status, reason = run_in_private_journal(args)
    return status, reason or "(private systemd-journald)"


# ---------------------------------------------------------------------------------------------- runner

TESTS = [
    ("notify__config_loaded__ready_after_status", test_ready_after_config_load),
    ("notify__bad_config__exit_78_no_ready", test_bad_config_no_ready),
    ("notify__active_fails_below_threshold__status_follows", test_status_follows_active),
    ("notify__watchdog_pid_is_daemon__pings_within_three_quarters", test_watchdog_pid_self),
    ("notify__watchdog_pid_absent__pings", test_watchdog_no_pid),
    ("notify__watchdog_pid_other__no_pings", test_watchdog_other_pid),
    ("notify__sighup__reloading_then_ready", test_reload),
    ("notify__sighup_bad_file__rejected_ready_again", test_reload_rejected),
    ("notify__sigterm__stopping_exit_0", test_stopping),
    ("notify__cluster_member_without_etcd__ready_unavailable_stops", test_cluster_member_without_etcd),
    ("notify__outside_systemd__noop", test_outside_systemd),
    ("journal__stream_mismatch__plain_stderr", test_stderr_fallback),
    ("journal__connected__fields_and_message_ids", test_journal),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--counts")
    ap.add_argument("--man", default=os.path.join(ROOT, "man", "blfailoverd.8"))
    ap.add_argument("--only", help="run only tests whose name contains this")
    ap.add_argument("--inner-private-journal", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    args.man = os.path.abspath(args.man)
    signal.signal(signal.SIGTERM, _terminate)
    if args.inner_private_journal:
        inner_private_journal(args)
        return 0

    passed = failed = 0
    taken = set()
    try:
        if not os.access(args.bin, os.X_OK):
            print("FAIL setup: %s is not an executable" % args.bin)
            failed += 1
        for name, fn in TESTS if not failed else []:
            if args.only and args.only not in name:
                continue
            try:
                result = fn(args, taken)
                status, reason = result if result else ("PASS", "")
            except Failure as e:
                status, reason = "FAIL", str(e)
            except Exception as e:   # noqa: BLE001 — a crash is that test's failure; the others still run
                status, reason = "FAIL", "%s: %s" % (type(e).__name__, e)
            finally:
                run_cleanups()
                taken.clear()
            if status == "PASS":
                passed += 1
                print("PASS %s%s" % (name, " " + reason if reason else ""))
            elif status == "SKIP":
                print("SKIP %s: %s" % (name, reason))
            else:
                failed += 1
                print("FAIL %s: %s" % (name, reason))
            sys.stdout.flush()
    finally:
        run_cleanups()
    if args.counts:
        with open(args.counts, "w") as f:
            f.write("passed %d\nfailed %d\n" % (passed, failed))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
