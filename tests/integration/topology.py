#!/usr/bin/python3
"""topology: the real servers blfailoverd's integration tests, `make demo` and the self-check run against.

Everything listens on 127.0.0.1 only and nothing here ever sends traffic anywhere else.

Ports (fixed, all inside 25400-25499; the rest of the range is reserved for later fixtures):
    25400  nginx (the "load balancer", runbook-shaped upstream blacklake_backend)
    25401  ApiStandIn "active_api"   (in-process HTTP server)
    25402  ApiStandIn "standby_api"  (in-process HTTP server)
    25403  reserved, never listened on (a guaranteed "connection refused")
    25410  PostgreSQL 15 primary
    25411  PostgreSQL 15 streaming standby
    25420  sshd (key-only, user postgres) -- the "standby DB host" that the promote step ssh-es into
    25450  PostgreSQL 15 lifecycle node "a" (LifecyclePair, per lifecycle scenario; 25450-25459 are theirs)
    25451  PostgreSQL 15 lifecycle node "b"
    25440-25445  etcd (scenarios_etcd, scenarios_cluster: clients 25440/25442/25444, peers 25441/25443/25445)
    25470-25476  scenarios_cluster: the members' fault proxies (25470-2), metrics (25473-5), a webhook receiver (25476)

Layout of one run (a fresh /tmp/blf-it-XXXXXXXX, 0755 so postgres and nobody can traverse it):
    owner          "PID STARTTIME" of the process that owns the run (lets a later run clean up after a SIGKILL)
    pg/            postgres-owned: primary/, standby/, sock/ (unix sockets), primary.log, standby.log
    nginx/         nginx prefix: nginx.conf, sites/blacklake.conf (the file blfailoverd rewrites), logs/, tmp/
    sshd/          sshd_config, host key, authorized_keys, client key (root, 0600), known_hosts, sshd.log
    bin/docker     generated wrapper around tests/integration/fake-docker with the record path baked in
    recorder.jsonl what the "docker" stand-in was called with, one JSON line per call
    scen/NAME/     per-scenario: config, state dir, daemon logs, triggers/ (postgres-writable);
                   lc/ for a lifecycle scenario: a/, b/ (PGDATA), a.log, b.log, sock/

Process rules (these machines): PostgreSQL refuses root, so every PG tool runs via `runuser -u postgres --`.
We stop only what we started, by PID (our Popen children, pids from our own pid files after checking that the
process's command line names our run directory). PID 1 reaps orphans late and `kill -0` succeeds on a zombie, so
liveness is read from /proc/PID/stat (state Z/X = gone), never from kill -0.

Teardown: every fixture has start()/stop(), stop() is idempotent and never raises; use them through
contextlib.ExitStack (Topology does). As a safety net every started fixture is also registered for an atexit
hook, and install_signal_handlers() turns SIGINT/SIGTERM/SIGHUP into an Interrupted exception so the stacks unwind.

The strings the tests wait for in the daemon's log, its exit codes and its command-line flags are in ONE place:
the "contract with the daemon" block below. Adjust them there.

Self-check (no blfailoverd needed):  /usr/bin/python3 tests/integration/topology.py --selftest [--rounds N]
"""
import atexit
import contextlib
import datetime
import fcntl
import glob
import http.client
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))

# ----------------------------------------------------------------------------------------------------------------
# Ports and names
HOST = "127.0.0.1"
PORT_NGINX = 25400
PORT_ACTIVE = 25401
PORT_STANDBY = 25402
PORT_UNUSED = 25403
PORT_PG_PRIMARY = 25410
PORT_PG_STANDBY = 25411
PORT_SSHD = 25420
ALL_PORTS = (PORT_NGINX, PORT_ACTIVE, PORT_STANDBY, PORT_PG_PRIMARY, PORT_PG_STANDBY, PORT_SSHD)

ACTIVE_NAME = "active_api"
STANDBY_NAME = "standby_api"
UPSTREAM = "blacklake_backend"
ACTIVE_SERVER = f"{HOST}:{PORT_ACTIVE}"
STANDBY_SERVER = f"{HOST}:{PORT_STANDBY}"
STACK_ARGV = ["compose", "-f", "/srv/blacklake/docker-compose.standby.yml", "up", "-d"]

PG_BIN = "/usr/lib/postgresql/15/bin"
NGINX = "/usr/sbin/nginx"
SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
PYTHON = "/usr/bin/python3"
RUNUSER = "/usr/sbin/runuser"
FAKE_DOCKER = os.path.join(HERE, "fake-docker")
PG_USER = "postgres"

# ----------------------------------------------------------------------------------------------------------------
# Contract with the daemon: log substrings, exit codes, flags, file names. Keep every such string here.


class LOG:
    """Stable substrings of blfailoverd's log lines (stderr, `2026-11-25T21:00:00.123Z LEVEL: message`)."""
    ACTIVE_FAILING = f"active {ACTIVE_NAME}: failing"
    ACTIVE_HEALTHY = f"active {ACTIVE_NAME}: healthy"
    STANDBY_FAILING = f"standby {STANDBY_NAME}: failing"
    STANDBY_HEALTHY = f"standby {STANDBY_NAME}: healthy"
    THRESHOLD = "failover: threshold reached"
    HELD = f"failover: held: standby {STANDBY_NAME} is not healthy"
    HELD_ANY = "failover: held: "
    HELD_LAG = "failover: held: replication lag"
    HELD_STANDBY_DB = "failover: held: standby database unreachable"
    HELD_SPLIT_BRAIN = "failover: held: split-brain guard"
    HELD_CONFIRM = "failover: held: the confirm command succeeded"
    FORCE = "--force: skipping every safety gate"
    RESUMED = "failover: resumed at step"
    NOT_RESUMING = "failover: not resuming the interrupted failover"
    STATE_UNREADABLE = "cannot be read (corrupt or truncated)"
    STARTED = "failover: started"
    SUCCEEDED = "failover: succeeded"
    FAILED_AT = "failover: failed at step"
    ALREADY_DONE = "failover: already done"
    RELOADED = "config reloaded"
    RELOAD_REJECTED = "config reload rejected"
    STOPPING = "stopping"
    # TIMESTAMP LEVEL: message; LEVEL is a syslog level name (the daemon writes them lower-case: notice, info, ...)
    LINE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                         r"(?i:emerg|alert|crit|err|error|warning|notice|info|debug): ")

    @staticmethod
    def active_failing(n, threshold):
        return f"active {ACTIVE_NAME}: failing ({n}/{threshold})"

    @staticmethod
    def step_ok(step):
        return f"failover: step {step} ok"

    @staticmethod
    def step_failed(step):
        return f"failover: step {step} failed"

    @staticmethod
    def failed_at(step):
        return f"failover: failed at step {step}"


# The failover steps in the order they must succeed (the daemon may add steps after them, e.g. "verify").
STEPS = ("nginx_write", "nginx_test", "ssh_check", "promote", "switch", "standby_stack")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 3
EXIT_PUT_BACK = 4         # --switchover/--rejoin failed before the point of no return and put everything back
EXIT_CONFIG = 78          # EX_CONFIG

ARGS_CHECK = ["-t"]
ARGS_ONCE = ["--once"]
ARGS_FORCE = ["--force"]
ARGS_DRY_RUN = ["--dry-run"]
ARGS_STATUS = ["--status"]
ARGS_CLEAR_STATE = ["--clear-state"]
ARGS_SWITCHOVER = ["--switchover"]
ARGS_REJOIN = ["--rejoin"]

STATE_FILE = "state"                  # STATE_DIR/state: the persisted failover record
BAK_SUFFIX = ".blfailoverd.bak"       # the nginx site file's backup, next to it

PG_PROMOTE_LOG = "promote trigger file found"   # PostgreSQL 15's standby log on promotion
PG_PROMOTE_REQUEST_LOG = "received promote request"   # ... when promoted by pg_promote()

# valgrind: the scenario marked with @valgrind runs the daemon like this; exit status must be 0.
VALGRIND_ERROR_EXIT = 99
VALGRIND = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
            f"--error-exitcode={VALGRIND_ERROR_EXIT}", "--track-fds=no", "--num-callers=30"]

# ----------------------------------------------------------------------------------------------------------------
# Errors, polling, process helpers


class TopologyError(RuntimeError):
    """A fixture could not be brought up or torn down; the message says which and what to look at."""


class Interrupted(KeyboardInterrupt):
    """Raised by install_signal_handlers() on SIGINT/SIGTERM/SIGHUP so ExitStacks unwind."""


def wait_until(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns a truthy value (returned) or timeout seconds pass (TimeoutError naming what)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except (OSError, subprocess.SubprocessError, http.client.HTTPException, TopologyError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc})" if last_exc else ""
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}{extra}")
        time.sleep(interval)


def proc_stat(pid):
    """(state, ppid, pgid, starttime) of a live-or-zombie pid, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2]), int(rest[19])


def proc_alive(pid, starttime=None):
    """True if pid runs (not a zombie) and, when starttime is given, is still that same process."""
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X", "x"):
        return False
    return starttime is None or st[3] == starttime


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def descendants(pid):
    """[(pid, starttime)] of every live descendant of pid (snapshot; take it before killing the parent)."""
    children = {}
    for p in all_pids():
        st = proc_stat(p)
        if st and st[0] not in ("Z", "X", "x"):
            children.setdefault(st[1], []).append((p, st[3]))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def kill_snapshot(procs, sig=signal.SIGKILL):
    """Signal each (pid, starttime) that is still that same live process."""
    for pid, start in procs:
        if proc_alive(pid, start):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def wait_snapshot_gone(procs, timeout):
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: not any(proc_alive(p, s) for p, s in procs), timeout, "processes to exit")
    return [(p, s) for p, s in procs if proc_alive(p, s)]


def stop_popen(p, sig=signal.SIGTERM, timeout=10.0):
    """Stop one of our Popen children and its descendants. Returns its exit status (Popen convention)."""
    if p is None:
        return None
    if p.poll() is not None:
        return p.returncode
    kids = descendants(p.pid)
    with contextlib.suppress(ProcessLookupError):
        p.send_signal(sig)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        kids = list(set(kids) | set(descendants(p.pid)))
        with contextlib.suppress(ProcessLookupError):
            p.kill()
        p.wait(10)
    kill_snapshot(wait_snapshot_gone(kids, 5.0))
    return p.returncode


def port_in_use(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def port_listening(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def who_listens(port):
    """'pid N (cmdline)' for the process holding a TCP port on 127.0.0.1, best effort."""
    inodes = set()
    want = f"{socket.htonl(0x7f000001):08X}:{port:04X}"
    anyaddr = f"00000000:{port:04X}"
    with contextlib.suppress(OSError):
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[1] in (want, anyaddr) and cols[3] == "0A":
                    inodes.add(cols[9])
    for pid in all_pids():
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        return f"pid {pid} ({proc_cmdline(pid)[:120]})"
    return "an unknown process"


def check_ports_free(ports=ALL_PORTS):
    busy = [f"{p} held by {who_listens(p)}" for p in ports if port_in_use(p)]
    if busy:
        raise TopologyError("ports needed by the test topology are in use: " + "; ".join(busy)
                            + ". Another test run, or a leftover of one (see topology.py --cleanup-stale)?")


def run(argv, timeout=60, check=True, cwd=None, what=None, env=None):
    """subprocess.run with captured text output; on failure a TopologyError quoting the command and its output."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                           cwd=cwd, env=env)
    except subprocess.TimeoutExpired as e:
        raise TopologyError(f"{what or argv[0]}: timed out after {timeout}s: {shlex.join(argv)}") from e
    if check and r.returncode != 0:
        raise TopologyError(f"{what or argv[0]}: exit {r.returncode}: {shlex.join(argv)}\n"
                            f"{(r.stdout + r.stderr).strip()}")
    return r


def write_file(path, data, mode=0o644, owner=None):
    """Write atomically (temp file + rename in the same directory)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    if owner:
        pw = pwd.getpwnam(owner)
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    os.rename(tmp, path)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def makedirs_owned(path, owner=None, mode=0o755):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    if owner:
        pw = pwd.getpwnam(owner)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return f"({path}: {e})"
    return "\n".join(lines[-n:])


# ----------------------------------------------------------------------------------------------------------------
# Safety net: atexit + signals

_live = []
_live_lock = threading.Lock()


def _register(fixture):
    with _live_lock:
        if fixture not in _live:
            _live.append(fixture)


def _unregister(fixture):
    with _live_lock:
        if fixture in _live:
            _live.remove(fixture)


def stop_all():
    """Stop every fixture still registered, newest first. Called at exit; safe to call any time."""
    while True:
        with _live_lock:
            if not _live:
                return
            f = _live[-1]
        try:
            f.stop()
        except BaseException as e:      # noqa: BLE001 -- teardown must go on
            print(f"topology: stopping {f!r} failed: {e}", file=sys.stderr)
        _unregister(f)


atexit.register(stop_all)

_IGNORED_FOR_TEARDOWN = False


def _on_signal(signum, frame):
    global _IGNORED_FOR_TEARDOWN
    if _IGNORED_FOR_TEARDOWN:
        return
    _IGNORED_FOR_TEARDOWN = True        # a second Ctrl-C must not break a teardown in progress
    raise Interrupted(f"interrupted by {signal.Signals(signum).name}")


def install_signal_handlers():
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)


class Fixture:
    """start()/stop(); stop() is idempotent and must not raise. Registered with the atexit net while started."""

    def start(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def __enter__(self):
        _register(self)
        try:
            self.start()
        except BaseException:
            self.stop()
            _unregister(self)
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            _unregister(self)
        return False


# ----------------------------------------------------------------------------------------------------------------
# The run directory


class RunDir(Fixture):
    """A fresh /tmp/blf-it-XXXXXXXX (0755) removed at stop unless keep=True."""

    def __init__(self, keep=False):
        self.path = None
        self.keep = keep

    def start(self):
        self.path = tempfile.mkdtemp(prefix="blf-it-", dir="/tmp")
        os.chmod(self.path, 0o755)      # postgres and nginx's workers (nobody) must traverse it
        me = proc_stat(os.getpid())
        write_file(os.path.join(self.path, "owner"), f"{os.getpid()} {me[3]}\n")
        return self

    def sub(self, *parts, owner=None, mode=0o755):
        return makedirs_owned(os.path.join(self.path, *parts), owner, mode)

    def stop(self):
        if self.path and not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)
        self.path = None if not self.keep else self.path

    def __repr__(self):
        return f"RunDir({self.path})"


def cleanup_stale_runs(verbose=True):
    """Tear down what earlier runs left when they were SIGKILLed: for each /tmp/blf-it-* whose owner process is
    gone, stop its PostgreSQL clusters, nginx and sshd (pids from its own pid files, only when the process's command
    line names that directory), then remove it. Returns the directories cleaned."""
    cleaned = []
    for d in sorted(glob.glob("/tmp/blf-it-*")):
        try:
            pid, start = (int(x) for x in open(os.path.join(d, "owner")).read().split())
        except (OSError, ValueError):
            continue
        if proc_alive(pid, start):
            continue
        lifecycle = sorted(glob.glob(os.path.join(d, "scen", "*", "lc", "[ab]")))    # LifecyclePair nodes
        for data in (os.path.join(d, "pg", "standby"), os.path.join(d, "pg", "primary"), *lifecycle):
            if os.path.exists(os.path.join(data, "postmaster.pid")):
                run([RUNUSER, "-u", PG_USER, "--", f"{PG_BIN}/pg_ctl", "stop", "-D", data, "-m", "immediate",
                     "-w", "-t", "20"], check=False, cwd="/", timeout=30)
        for pidfile in (os.path.join(d, "nginx", "logs", "nginx.pid"), os.path.join(d, "sshd", "sshd.pid"),
                        os.path.join(d, "pg", "standby", "postmaster.pid"),
                        os.path.join(d, "pg", "primary", "postmaster.pid"),
                        *(os.path.join(x, "postmaster.pid") for x in lifecycle)):
            with contextlib.suppress(OSError, ValueError, IndexError):
                p = int(open(pidfile).read().split()[0])
                if proc_alive(p) and d in proc_cmdline(p):
                    kids = descendants(p)
                    os.kill(p, signal.SIGKILL)
                    kill_snapshot(kids)
        # anything else still naming the directory (daemons under test, ssh clients, workers)
        for p in all_pids():
            if p != os.getpid() and proc_alive(p) and d in proc_cmdline(p):
                with contextlib.suppress(OSError):
                    os.kill(p, signal.SIGKILL)
        shutil.rmtree(d, ignore_errors=True)
        cleaned.append(d)
        if verbose:
            print(f"topology: cleaned up stale run {d} (owner pid {pid} is gone)", file=sys.stderr)
    return cleaned


# ----------------------------------------------------------------------------------------------------------------
# ApiStandIn


class _StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):     # peers dropping connections is normal here
            super().handle_error(request, client_address)


class _StandInHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive
    server_version = "blf-standin/1"

    def setup(self):
        super().setup()
        self.server.standin._track(self.connection, True)

    def finish(self):
        with contextlib.suppress(OSError):
            super().finish()
        self.server.standin._track(self.connection, False)

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.server.standin._serve(self, head=False)

    def do_HEAD(self):
        self.server.standin._serve(self, head=True)


class HealthRequest:
    """One /health request a stand-in saw: start, end (time.time(); end None while it hangs), answer ("ok", "500",
    "dropped"; None while it hangs)."""

    def __init__(self, start, end, answer):
        self.start, self.end, self.answer = start, end, answer

    def __repr__(self):
        return f"HealthRequest({self.start:.3f}, {self.end}, {self.answer!r})"


def log_time(line):
    """The time.time() of a daemon log line (`2026-11-25T21:00:00.123Z LEVEL: ...`; UTC, milliseconds)."""
    stamp = line.split(" ", 1)[0]
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class ApiStandIn(Fixture):
    """A threaded HTTP/1.1 server in this process standing in for one BlackLake API.

    GET /health answers per mode:
      "ok"     200 {"status":"healthy","role":NAME}
      "500"    500 {"status":"unhealthy","role":NAME}
      "hang"   reads the request and never answers until the mode changes (then answers per the new mode) or stop
      "closed" the listening socket is closed (connect → refused) and open connections are dropped;
               any other mode re-opens it
    Any other path answers 200 with body NAME in every mode but "closed" (so a request through nginx shows who
    served it; with nginx's default proxy_next_upstream a 500 on /health is passed through, not retried).
    script("500", "500") makes the next /health requests answer those modes first (deterministic sequences).
    health_log(): every /health request since start() as HealthRequest(start, end, answer): when it arrived and
    when it was answered or dropped (time.time(), the clock of the daemon's log timestamps), and how.
    set_db_check(PORT) (off by default, and again after start()): an "ok" /health answers 500 while nothing accepts
    a TCP connection on 127.0.0.1:PORT -- the API's database is down, as the runbook's /health/database says (bench/).
    """

    MODES = ("ok", "500", "hang", "closed")

    def __init__(self, name, port):
        self.name = name
        self.port = port
        self._cond = threading.Condition()
        self._mode = "ok"
        self._script = []
        self._server = None
        self._thread = None
        self._conns = set()
        self._stopping = False
        self.health_hits = 0
        self.health_times = []          # time.monotonic() of every /health request: the request log
        self.other_hits = 0
        self.db_check_port = None
        self._health_log = []

    def __repr__(self):
        return f"ApiStandIn({self.name}, {self.port}, mode={self._mode})"

    # -- control (any thread)
    @property
    def mode(self):
        with self._cond:
            return self._mode

    def set_mode(self, mode):
        if mode not in self.MODES:
            raise ValueError(f"unknown stand-in mode {mode!r}")
        with self._cond:
            self._mode = mode
            self._script.clear()
            self._cond.notify_all()
        if mode == "closed":
            self._close_listener()
            self._drop_connections()
        elif self._server is None and not self._stopping:
            self._open_listener()

    def script(self, *modes):
        """The next len(modes) /health requests answer these modes ("ok"/"500"), then the mode applies again."""
        for m in modes:
            if m not in ("ok", "500"):
                raise ValueError("script() takes only 'ok' and '500'")
        with self._cond:
            self._script = list(modes)

    def set_db_check(self, port):
        """/health also fails while nothing listens on 127.0.0.1:port (None: off)."""
        self.db_check_port = port

    def hits(self):
        with self._cond:
            return self.health_hits

    def health_times_since(self, t0):
        """The request log: monotonic times of the /health requests that arrived after t0."""
        with self._cond:
            return [t for t in self.health_times if t > t0]
    def health_log(self):
        """A copy of the /health request log (see the class doc); a request still hanging has end None."""
        with self._cond:
            return [HealthRequest(**e) for e in self._health_log]

    def wait_health_hits(self, n, timeout):
        """Wait until /health was requested at least n times in total."""
        return wait_until(lambda: self.hits() >= n, timeout, f"{self.name} to see {n} /health requests")

    # -- lifecycle
    def start(self):
        self._stopping = False
        self.db_check_port = None
        with self._cond:
            self.health_times = []
            self._health_log = []
        self.set_mode("ok")
        if self._server is None:
            self._open_listener()
        return self

    def stop(self):
        self._stopping = True
        with self._cond:
            self._cond.notify_all()
        self._close_listener()
        self._drop_connections()

    # -- internals
    def _open_listener(self):
        try:
            srv = _StandInServer((HOST, self.port), _StandInHandler)
        except OSError as e:
            raise TopologyError(f"stand-in {self.name}: cannot listen on {HOST}:{self.port}: {e} "
                                f"(held by {who_listens(self.port)})") from e
        srv.standin = self
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                             name=f"standin-{self.name}")
        t.start()
        self._server, self._thread = srv, t

    def _close_listener(self):
        srv, t = self._server, self._thread
        self._server = self._thread = None
        if srv is not None:
            srv.shutdown()
            srv.server_close()
            t.join(5)

    def _drop_connections(self):
        with self._cond:
            conns = list(self._conns)
            self._cond.notify_all()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)

    def _track(self, conn, add):
        with self._cond:
            (self._conns.add if add else self._conns.discard)(conn)

    def _health_mode(self, entry):
        with self._cond:
            self.health_hits += 1
            self.health_times.append(time.monotonic())
            self._health_log.append(entry)
            mode = self._script.pop(0) if self._script else self._mode
            while mode == "hang" and not self._stopping:
                self._cond.wait(0.2)
                mode = self._mode
            return "closed" if self._stopping else mode

    def _serve(self, h, head):
        path = h.path.split("?", 1)[0]
        entry = None
        if path == "/health":
            entry = {"start": time.time(), "end": None, "answer": None}
            mode = self._health_mode(entry)
            if mode == "ok" and self.db_check_port and not port_listening(self.db_check_port):
                mode = "500"
            if mode in ("closed", "hang"):
                h.close_connection = True       # drop without an answer
                self._health_done(entry, "dropped")
                return
            code = 200 if mode == "ok" else 500
            body = json.dumps({"status": "healthy" if code == 200 else "unhealthy", "role": self.name},
                              separators=(",", ":")).encode()
            ctype = "application/json"
        else:
            with self._cond:
                self.other_hits += 1
            code, body, ctype = 200, self.name.encode(), "text/plain"
        try:
            h.send_response(code)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if not head:
                h.wfile.write(body)
            h.wfile.flush()
        except OSError:
            h.close_connection = True
        if entry is not None:
            self._health_done(entry, mode)

    def _health_done(self, entry, answer):
        with self._cond:
            entry["end"], entry["answer"] = time.time(), answer


# ----------------------------------------------------------------------------------------------------------------
# PostgreSQL primary + streaming standby


def pg_conf_quote(value):
    """A postgresql.conf string literal: backslashes doubled (PG interprets escapes), single quotes doubled."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class PgPair(Fixture):
    """PostgreSQL 15 primary (made once) + a streaming standby rebuilt cheaply per scenario that promotes.

    The standby has `promote_trigger_file` set; PG 15 looks for it when WAL arrives or every 5 s and deletes it when
    it promotes, so "the file exists" is racy: use wait_promoted() (pg_is_in_recovery) or the standby log.
    """

    def __init__(self, root, primary_port=PORT_PG_PRIMARY, standby_port=PORT_PG_STANDBY):
        self.dir = os.path.join(root, "pg")
        self.sock = os.path.join(self.dir, "sock")
        self.data = {"primary": os.path.join(self.dir, "primary"), "standby": os.path.join(self.dir, "standby")}
        self.logs = {n: os.path.join(self.dir, f"{n}.log") for n in self.data}
        self.ports = {"primary": primary_port, "standby": standby_port}
        self.trigger_path = None
        self._running = set()

    def __repr__(self):
        return f"PgPair({self.dir}, running={sorted(self._running)})"

    def _pg(self, tool, *args, timeout=60, check=True):
        argv = [RUNUSER, "-u", PG_USER, "--", f"{PG_BIN}/{tool}", *args]
        return run(argv, timeout=timeout, check=check, cwd=self.dir, what=f"PostgreSQL {tool}")

    # -- queries
    def sql(self, node, query, timeout=15):
        r = self._pg("psql", "-X", "-h", self.sock, "-p", str(self.ports[node]), "-U", PG_USER, "-d", "postgres",
                     "-v", "ON_ERROR_STOP=1", "-Atqc", query, timeout=timeout)
        return r.stdout.strip()

    def in_recovery(self, node="standby"):
        return self.sql(node, "select pg_is_in_recovery()") == "t"

    def nudge(self):
        """Make the primary write WAL: the standby's startup process wakes and looks for the trigger file."""
        with contextlib.suppress(TopologyError):
            self.sql("primary", "insert into blf_nudge default values")

    def wait_promoted(self, timeout=20.0, nudge=True):
        """Wait until the standby has left recovery. Nudges the primary so the 5 s trigger poll is not waited out."""
        def promoted():
            if nudge:
                self.nudge()
            return not self.in_recovery("standby")
        wait_until(promoted, timeout, "the standby to leave recovery (promote)", interval=0.25)
        return True

    def promote_logged(self):
        try:
            with open(self.logs["standby"], encoding="utf-8", errors="replace") as f:
                return PG_PROMOTE_LOG in f.read()
        except OSError:
            return False

    def running(self, node):
        pidfile = os.path.join(self.data[node], "postmaster.pid")
        try:
            pid = int(open(pidfile).read().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        return proc_alive(pid)

    # -- lifecycle
    def start(self):
        makedirs_owned(self.dir, PG_USER, 0o755)
        makedirs_owned(self.sock, PG_USER, 0o755)
        primary = self.data["primary"]
        self._pg("initdb", "-D", primary, "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync",
                 timeout=120)
        self._append_conf(primary, [
            f"listen_addresses = '{HOST}'",
            f"port = {self.ports['primary']}",
            f"unix_socket_directories = {pg_conf_quote(self.sock)}",
            "wal_level = replica", "max_wal_senders = 5", "wal_keep_size = '64MB'", "hot_standby = on",
            "fsync = off", "synchronous_commit = off", "full_page_writes = off",  # throwaway test clusters
            "shared_buffers = '16MB'", "max_connections = 20", "log_min_messages = info",
        ])
        self._start_node("primary")
        self.sql("primary", "create table blf_nudge (id serial primary key, at timestamptz default now());"
                            "create table blf_check (v text)")
        return self

    def _append_conf(self, data, lines):
        with open(os.path.join(data, "postgresql.conf"), "a", encoding="utf-8") as f:
            f.write("\n# blfailoverd integration tests\n" + "\n".join(lines) + "\n")

    def _start_node(self, node):
        self._pg("pg_ctl", "start", "-D", self.data[node], "-l", self.logs[node], "-w", "-t", "60", "-s",
                 timeout=90)
        self._running.add(node)

    def _stop_node(self, node):
        data = self.data[node]
        if not os.path.exists(os.path.join(data, "postmaster.pid")):
            self._running.discard(node)
            return
        r = self._pg("pg_ctl", "stop", "-D", data, "-m", "fast", "-w", "-t", "30", "-s", timeout=45, check=False)
        if r.returncode != 0 and os.path.exists(os.path.join(data, "postmaster.pid")):
            self._pg("pg_ctl", "stop", "-D", data, "-m", "immediate", "-w", "-t", "15", "-s", timeout=30,
                     check=False)
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(open(os.path.join(data, "postmaster.pid")).read().split()[0])
            if proc_alive(pid) and data in proc_cmdline(pid):
                os.kill(pid, signal.SIGKILL)
        self._running.discard(node)

    def stop_node(self, node):
        """Stop a node (a database fault); the next reset() brings it back (the standby rebuilt)."""
        self._stop_node(node)

    def conninfo(self, node):
        """libpq conninfo for the daemon's database section (TCP on loopback, trust auth)."""
        return f"host={HOST} port={self.ports[node]} dbname=postgres user={PG_USER}"

    def lag_bytes(self):
        """WAL the standby received but has not replayed."""
        return int(self.sql("standby", "select coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), "
                                       "pg_last_wal_replay_lsn()), 0)::bigint") or 0)

    def set_trigger(self, trigger_path):
        """Point the running standby's promote_trigger_file at trigger_path (SIGHUP-reloadable) and wait for it."""
        write_file(os.path.join(self.data["standby"], "blf_trigger.conf"),
                   f"promote_trigger_file = {pg_conf_quote(trigger_path)}\n", owner=PG_USER)
        self._pg("pg_ctl", "reload", "-D", self.data["standby"], "-s")
        wait_until(lambda: self.sql("standby", "show promote_trigger_file") == trigger_path, 10,
                   "the standby to load the new promote_trigger_file")
        self.trigger_path = trigger_path

    def fresh_standby(self, trigger_path):
        """Stop and remove the standby, base-backup it again from the primary, start it streaming."""
        self._stop_node("standby")
        shutil.rmtree(self.data["standby"], ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.logs["standby"])
        self._pg("pg_basebackup", "-h", self.sock, "-p", str(self.ports["primary"]), "-U", PG_USER,
                 "-D", self.data["standby"], "-R", "-X", "stream", "-c", "fast", "--no-sync", timeout=120)
        write_file(os.path.join(self.data["standby"], "blf_trigger.conf"),
                   f"promote_trigger_file = {pg_conf_quote(trigger_path)}\n", owner=PG_USER)
        self._append_conf(self.data["standby"], [f"port = {self.ports['standby']}", "include 'blf_trigger.conf'"])
        self._start_node("standby")
        self.trigger_path = trigger_path
        wait_until(lambda: self.sql("standby", "select status from pg_stat_wal_receiver") == "streaming", 30,
                   "the standby to stream from the primary")
        if not self.in_recovery("standby"):
            raise TopologyError("fresh standby is not in recovery")

    def ensure_standby(self, trigger_path):
        """A running standby in recovery whose trigger is trigger_path: re-pointed when possible, else rebuilt.
        Returns True when it was rebuilt."""
        if not self.running("primary"):
            self._start_node("primary")     # a scenario stopped it (database fault)
        try:
            if self.running("standby") and self.in_recovery("standby"):
                if self.sql("standby", "select pg_is_wal_replay_paused()") == "t":
                    self.sql("standby", "select pg_wal_replay_resume()")    # a lag scenario paused it
                self.set_trigger(trigger_path)
                return False
        except (TopologyError, TimeoutError):
            pass
        self.fresh_standby(trigger_path)
        return True

    def stop(self):
        for node in ("standby", "primary"):
            try:
                self._stop_node(node)
            except Exception as e:      # noqa: BLE001
                print(f"topology: stopping PostgreSQL {node} failed: {e}", file=sys.stderr)


# ----------------------------------------------------------------------------------------------------------------
# nginx

SITE_TEMPLATE = """\
# BlackLake site, shaped like the operators' runbook (/etc/nginx/sites-available/blacklake).
# Written by blfailoverd's integration tests; blfailoverd rewrites the upstream block below.
upstream {upstream} {{
    server {active} max_fails=3 fail_timeout=30s;
    server {standby} backup;
}}

# A second upstream naming the active server: the rewrite must leave it alone.
upstream blacklake_admin {{
    server {active};
}}

server {{
    listen {host}:{port};
    server_name blacklake.example.com;

    location / {{
        proxy_pass http://{upstream};
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }}

    location /health {{
        proxy_pass http://{upstream}/health;
        access_log off;
    }}

    location /admin/ {{
        proxy_pass http://blacklake_admin;
    }}
}}
"""
# No proxy_next_upstream: nginx's default (error timeout) passes an active's 500 through, so "served by the standby"
# proves the rewrite rather than nginx's own retry to the backup. (A "closed" active is an error: nginx then does
# use the backup on its own.)

MAIN_TEMPLATE = """\
# nginx main config for blfailoverd's integration tests (own prefix; always run with -p PREFIX -c THIS).
worker_processes 1;
pid {prefix}/logs/nginx.pid;
error_log {prefix}/logs/error.log notice;

events {{
    worker_connections 128;
}}

http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/tmp/client_body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {site};
}}
"""


class Nginx(Fixture):
    """nginx in the foreground as our child, own prefix; the site file holds the runbook-shaped upstream.
    Debian's nginx has compiled-in paths: every call passes -p PREFIX -c CONF (argv())."""

    def __init__(self, prefix, port=PORT_NGINX, active_server=ACTIVE_SERVER, standby_server=STANDBY_SERVER,
                 upstream=UPSTREAM):
        self.prefix = prefix
        self.port = port
        self.conf = os.path.join(prefix, "nginx.conf")
        self.sites = os.path.join(prefix, "sites")
        self.site = os.path.join(self.sites, "blacklake.conf")
        self.log = os.path.join(prefix, "logs", "nginx.out")
        self.error_log = os.path.join(prefix, "logs", "error.log")
        self.upstream = upstream
        self.original_site = SITE_TEMPLATE.format(upstream=upstream, active=active_server, standby=standby_server,
                                                  host=HOST, port=port).encode()
        self.proc = None

    def __repr__(self):
        return f"Nginx({self.prefix}, pid={self.proc.pid if self.proc else None})"

    def argv(self, *extra):
        return [NGINX, *extra, "-p", self.prefix, "-c", self.conf]

    @property
    def test_argv(self):
        return self.argv("-t")

    @property
    def reload_argv(self):
        return self.argv("-s", "reload")

    def start(self):
        for d in ("logs", "tmp", "sites"):
            makedirs_owned(os.path.join(self.prefix, d))
        write_file(self.conf, MAIN_TEMPLATE.format(prefix=self.prefix, site=self.site))
        write_file(self.site, self.original_site)
        run(self.test_argv, timeout=30, what="nginx -t")
        self._spawn()
        return self

    def _spawn(self):
        out = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen(self.argv("-g", "daemon off;"), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()
        try:
            wait_until(lambda: self.proc.poll() is not None or port_listening(self.port), 15,
                       f"nginx to listen on {self.port}")
        except TimeoutError:
            pass
        if self.proc.poll() is not None:
            raise TopologyError(f"nginx exited ({self.proc.returncode}) at start:\n{tail(self.log)}\n"
                                f"{tail(self.error_log)}")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def ensure_running(self):
        if not self.running():
            self._spawn()

    def reload(self):
        run(self.reload_argv, timeout=30, what="nginx -s reload")

    def reset_site(self, active_name=ACTIVE_NAME, timeout=15):
        """Original site file back, nothing else in sites/, nginx reloaded and serving the active."""
        for name in os.listdir(self.sites):
            p = os.path.join(self.sites, name)
            if p != self.site:
                with contextlib.suppress(OSError):
                    os.unlink(p)
        write_file(self.site, self.original_site)
        self.ensure_running()
        self.reload()
        self.wait_served_by(active_name, timeout)

    def site_bytes(self):
        return read_bytes(self.site)

    def get(self, path="/", timeout=5.0):
        """(status, body) of a GET through nginx; (0, 'error text') when nginx could not be reached."""
        c = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            c.request("GET", path, headers={"Connection": "close"})
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as e:
            return 0, f"{type(e).__name__}: {e}"
        finally:
            c.close()

    def wait_served_by(self, name, timeout=15.0, path="/whoami"):
        """Poll until a GET through nginx answers 200 with body NAME (reload is asynchronous)."""
        last = [None]

        def served():
            last[0] = self.get(path, timeout=2.0)
            return last[0] == (200, name)
        try:
            return wait_until(served, timeout, f"nginx to be served by {name}", interval=0.1)
        except TimeoutError as e:
            raise TimeoutError(f"{e}; last answer: {last[0]}") from None

    def stop(self):
        if self.proc is not None:
            stop_popen(self.proc, signal.SIGTERM, 10)
            self.proc = None


# ----------------------------------------------------------------------------------------------------------------
# sshd


class Sshd(Fixture):
    """sshd -D -e on 127.0.0.1:PORT: own host key, key-only login for postgres (UsePAM yes: the Debian postgres
    account is locked, which sshd only accepts through PAM), a root client key and a known_hosts for it."""

    def __init__(self, dirpath, port=PORT_SSHD, user=PG_USER):
        self.dir = dirpath
        self.port = port
        self.user = user
        self.conf = os.path.join(dirpath, "sshd_config")
        self.host_key = os.path.join(dirpath, "ssh_host_ed25519_key")
        self.client_key = os.path.join(dirpath, "id_ed25519")
        self.authorized_keys = os.path.join(dirpath, "authorized_keys")
        self.known_hosts = os.path.join(dirpath, "known_hosts")
        self.pidfile = os.path.join(dirpath, "sshd.pid")
        self.log = os.path.join(dirpath, "sshd.log")
        self.proc = None

    def __repr__(self):
        return f"Sshd({self.port}, pid={self.proc.pid if self.proc else None})"

    @property
    def options(self):
        """The ssh -o options a client (the daemon's config) must pass."""
        return ["StrictHostKeyChecking=yes", f"UserKnownHostsFile={self.known_hosts}"]

    def ssh_argv(self, remote_command):
        argv = [SSH, "-F", "none", "-o", "BatchMode=yes", "-p", str(self.port), "-i", self.client_key]
        for o in self.options:
            argv += ["-o", o]
        return argv + [f"{self.user}@{HOST}", remote_command]

    def touch_argv(self, path):
        """What the daemon runs for the promote step: ssh ... postgres@127.0.0.1 touch -- 'PATH'."""
        return self.ssh_argv("touch -- " + shlex.quote(path))

    def start(self):
        makedirs_owned(self.dir, mode=0o755)
        if not os.path.isdir("/run/sshd"):          # privilege separation directory
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "blf-it-host", "-f", self.host_key])
        run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "blf-it-client", "-f", self.client_key])
        os.chmod(self.client_key, 0o600)
        client_pub = open(self.client_key + ".pub").read().strip()
        write_file(self.authorized_keys, f'restrict,from="{HOST}" {client_pub}\n', mode=0o644)
        host_pub = " ".join(open(self.host_key + ".pub").read().split()[:2])
        write_file(self.known_hosts, f"[{HOST}]:{self.port} {host_pub}\n", mode=0o644)
        write_file(self.conf, "\n".join([
            "# sshd for blfailoverd's integration tests: the standby DB host",
            f"Port {self.port}", f"ListenAddress {HOST}", f"HostKey {self.host_key}", f"PidFile {self.pidfile}",
            f"AuthorizedKeysFile {self.authorized_keys}", f"AllowUsers {self.user}", "PermitRootLogin no",
            "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "UsePAM yes", "StrictModes no", "PrintMotd no", "PrintLastLog no", "X11Forwarding no",
            "AllowTcpForwarding no", "LogLevel VERBOSE", "MaxStartups 50:30:100", ""]))
        run([SSHD, "-t", "-f", self.conf], what="sshd -t")
        out = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", self.conf], stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()
        try:
            wait_until(lambda: self.proc.poll() is not None or port_listening(self.port), 15, "sshd to listen")
        except TimeoutError:
            pass
        if self.proc.poll() is not None:
            raise TopologyError(f"sshd exited ({self.proc.returncode}) at start:\n{tail(self.log)}")
        self.check()
        return self

    def check(self):
        """ssh -o BatchMode=yes ... postgres@127.0.0.1 true, exactly as a client of the daemon's config would."""
        r = run(self.ssh_argv("true"), timeout=30, check=False)
        if r.returncode != 0:
            raise TopologyError(f"ssh {self.user}@{HOST}:{self.port} true failed ({r.returncode}): "
                                f"{r.stderr.strip()}\nsshd log:\n{tail(self.log)}")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            stop_popen(self.proc, signal.SIGTERM, 10)
            self.proc = None


# ----------------------------------------------------------------------------------------------------------------
# Recorder (stand-in for docker)


class Recorder(Fixture):
    """A per-run `docker` wrapper (DIR/bin/docker) that records its argv, one JSON line per call, in a file whose
    path is baked into the wrapper (the daemon gives children only PATH, LANG, HOME)."""

    def __init__(self, root):
        self.bindir = os.path.join(root, "bin")
        self.wrapper = os.path.join(self.bindir, "docker")
        self.record = os.path.join(root, "recorder.jsonl")

    def __repr__(self):
        return f"Recorder({self.wrapper})"

    def start(self):
        makedirs_owned(self.bindir)
        write_file(self.wrapper, "#!/bin/sh\n# generated by blfailoverd's integration topology\n"
                                 f"BLF_FAKE_DOCKER_ARGV0=\"$0\" exec {PYTHON} {shlex.quote(FAKE_DOCKER)} "
                                 f"--record {shlex.quote(self.record)} \"$@\"\n", mode=0o755)
        self.reset()
        return self

    def reset(self):
        write_file(self.record, b"")
        for knob in (".exit", ".sleep"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.record + knob)

    def set_exit(self, code):
        write_file(self.record + ".exit", f"{code}\n")

    def set_sleep(self, seconds):
        write_file(self.record + ".sleep", f"{seconds}\n")

    def entries(self):
        try:
            with open(self.record, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def argvs(self):
        return [e["argv"] for e in self.entries()]

    @property
    def command(self):
        """The standby_stack command for the daemon's config."""
        return [self.wrapper, *STACK_ARGV]

    def stop(self):
        pass


# ----------------------------------------------------------------------------------------------------------------
# The daemon under test


class DaemonExited(AssertionError):
    pass


class Daemon(Fixture):
    """blfailoverd as a subprocess in its own process group, stdout+stderr to a log file.
    prefix: e.g. VALGRIND + ["--log-file=..."] to run it under valgrind. echo: copy log lines to our stdout."""

    def __init__(self, binary, config_path, log_path, args=(), prefix=(), echo=None):
        self.binary = binary
        self.config_path = config_path
        self.log_path = log_path
        self.args = list(args)
        self.prefix = list(prefix)
        self.echo = echo
        self.proc = None
        self.returncode = None
        self.stopped_by_us = None       # the signal stop() had to use last, or None
        self._echo_thread = None
        self._echo_stop = threading.Event()

    def __repr__(self):
        return f"Daemon({self.binary}, pid={self.pid})"

    @property
    def argv(self):
        return [*self.prefix, self.binary, "-c", self.config_path, *self.args]

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        out = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True, env=daemon_env())
        finally:
            out.close()
        if self.echo:
            self._echo_thread = threading.Thread(target=self._echo_loop, daemon=True, name="daemon-echo")
            self._echo_thread.start()
        return self

    def _echo_loop(self):
        pos = 0
        buf = b""
        while True:
            stopping = self._echo_stop.is_set()
            with contextlib.suppress(OSError):
                with open(self.log_path, "rb") as f:
                    f.seek(pos)
                    chunk = f.read()
                    pos += len(chunk)
                    buf += chunk
            self._echo_pos = pos
            *lines, buf = buf.split(b"\n")
            for line in lines:
                self.echo(line.decode("utf-8", "replace"))
            if stopping:
                if buf:
                    self.echo(buf.decode("utf-8", "replace"))
                return
            time.sleep(0.05)

    def echo_flush(self, timeout=1.0):
        """Wait until the echo thread has printed everything logged so far (keeps narration in order)."""
        if self._echo_thread is None:
            return
        size = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: getattr(self, "_echo_pos", 0) >= size, timeout, "the log echo", interval=0.02)
        time.sleep(0.06)

    # -- the log
    def text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def mark(self):
        """A position in the log; pass as since= to wait only for lines written after it."""
        return len(self.text())

    def count_log(self, substring, since=0):
        return self.text()[since:].count(substring)

    def has_log(self, substring, since=0):
        return substring in self.text()[since:]

    @staticmethod
    def _line_at(text, i):
        start = text.rfind("\n", 0, i) + 1
        end = text.find("\n", i)
        return text[start:end if end >= 0 else len(text)]

    def wait_log(self, substring, timeout, since=0, fail_on=()):
        """Wait for substring in the log (after position since). Returns the whole line. Raises DaemonExited if the
        daemon exits first, TimeoutError after timeout, AssertionError at once if a fail_on substring shows up."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            i = text.find(substring, since)
            if i >= 0:
                return self._line_at(text, i)
            for bad in fail_on:
                j = text.find(bad, since)
                if j >= 0:
                    raise AssertionError(f"waiting for {substring!r}, the daemon logged: {self._line_at(text, j)!r}")
            if self.proc.poll() is not None:
                text = self.text()
                if substring in text[since:]:
                    continue
                raise DaemonExited(f"daemon exited ({describe_status(self.proc.returncode)}) before logging "
                                   f"{substring!r}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {timeout:.1f}s waiting for the daemon to log {substring!r}")
            time.sleep(0.05)

    # -- the process
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """The exit status (Popen convention: -N = killed by signal N), or None if still running after timeout."""
        try:
            self.returncode = self.proc.wait(timeout)
            return self.returncode
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL (and the descendants it left) after timeout. Returns the exit status."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            kids = descendants(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            self.stopped_by_us = signal.SIGTERM
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                kids = list(set(kids) | set(descendants(self.proc.pid)))
                self.proc.kill()
                self.stopped_by_us = signal.SIGKILL
                self.proc.wait(10)
                kill_snapshot(kids)
        self.returncode = self.proc.returncode
        if self._echo_thread:
            self._echo_stop.set()
            self._echo_thread.join(2)
            self._echo_thread = None
        return self.returncode


def daemon_env():
    env = dict(os.environ)
    paths = env.get("PATH", "").split(":")
    for p in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if p not in paths:
            paths.append(p)
    env["PATH"] = ":".join(p for p in paths if p)
    env.setdefault("LANG", "C.UTF-8")
    return env


def describe_status(rc):
    if rc is None:
        return "still running"
    if rc < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-rc).name}"
        return f"killed by signal {-rc}"
    return f"exit {rc}"


# ----------------------------------------------------------------------------------------------------------------
# Config


def duration(seconds):
    """0.5 → '500ms', 15 → '15s'."""
    ms = round(seconds * 1000)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


_PLAIN_RE = re.compile(r"^-?[A-Za-z0-9/_.][A-Za-z0-9/_.:@=+-]*$")
_YAML_SPECIAL_RE = re.compile(r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|"
                              r"ON|off|Off|OFF|y|Y|n|N|[-+]?[0-9][0-9_.:eE+-]*|\.inf|\.nan)$")


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    if _PLAIN_RE.match(s) and not _YAML_SPECIAL_RE.match(s):
        return s        # plain, as an operator writes it (flags like -t included)
    return json.dumps(s, ensure_ascii=False)    # a JSON string is a valid YAML double-quoted scalar


def render_yaml(cfg, indent=0):
    """Block-style YAML of nested dicts; lists of scalars in flow style, like the operators' config."""
    out = []
    pad = "  " * indent
    for k, v in cfg.items():
        if isinstance(v, dict):
            out.append(f"{pad}{k}:")
            out.append(render_yaml(v, indent + 1))
        elif isinstance(v, (list, tuple)) and v and all(isinstance(x, dict) for x in v):
            out.append(f"{pad}{k}:")      # a list of mappings (sites:), block style
            for item in v:
                body = render_yaml(item, indent + 2).splitlines()
                out.append(f"{pad}  - " + body[0].lstrip())
                out.extend(body[1:])
        elif isinstance(v, (list, tuple)):
            out.append(f"{pad}{k}: [" + ", ".join(yaml_scalar(x) for x in v) + "]")
        else:
            out.append(f"{pad}{k}: {yaml_scalar(v)}")
    return "\n".join(out)


def write_config(path, cfg):
    """Write a daemon config from a dict (rendered as YAML) or text. Returns path."""
    text = cfg if isinstance(cfg, str) else "# blfailoverd config written by the integration tests\n" + \
        render_yaml(cfg) + "\n"
    write_file(path, text, mode=0o640)
    return path


# ----------------------------------------------------------------------------------------------------------------
# The lifecycle pair (issue 12): two symmetric PostgreSQL nodes a/b, the writer, the invariants

PORT_LC = {"a": 25450, "b": 25451}      # 25450-25459 belong to the lifecycle scenarios
LC_PORTS = tuple(PORT_LC.values())
REPL_USER = "replicator"
WRITER_TABLE = "blf_rows"
# The pg_rewind source grants (postgresql.org/docs/15/app-pgrewind.html): a non-superuser rewind source role.
REWIND_GRANTS = ("pg_catalog.pg_ls_dir(text, boolean, boolean)", "pg_catalog.pg_stat_file(text, boolean)",
                 "pg_catalog.pg_read_binary_file(text)",
                 "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)")
# What pg_rewind prints (pg_rewind.c, PG 15); we parse its output, its exit status does not say which.
REWIND_NONE = "no rewind required"
REWIND_DIVERGED_RE = re.compile(r"servers diverged at WAL location ([0-9A-F]+/[0-9A-F]+) on timeline (\d+)")


def lsn_int(text):
    """'16/B374D848' → int (pg_lsn arithmetic in Python)."""
    hi, lo = text.strip().split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def lsn_text(value):
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def now_us():
    """CLOCK_REALTIME in µs: the writer's clock, so scenario marks compare with its lines."""
    return time.time_ns() // 1000


class LifecyclePair(Fixture):
    """Two PostgreSQL 15 nodes "a" (primary at start) and "b" (streaming standby of a, application_name b) for the
    lifecycle scenarios; per scenario (cheap: initdb + base backup, ~2 s), under DIR/lc/.

    Rules the daemon's own commands rely on (docs/design/lifecycle.md §1, §4.1):
    - Nothing per node lives in PGDATA's config files, which pg_rewind and pg_basebackup copy from the other node:
      port and socket dir are given on the pg_ctl command line (start_argv), the logs live outside PGDATA.
    - wal_log_hints = on (pg_rewind's target), full_page_writes = on (pg_rewind's source), autovacuum = off (the
      rejoin scenario counts the COMMIT records of the discarded WAL: nothing else may commit), fsync = off.
    - A REPLICATION role `replicator` with the pg_rewind source grants; pg_hba trusts 127.0.0.1 and the sockets
      for every database and for replication. primary_conninfo names the standby (application_name a/b).
    - Both "db hosts" are the topology's sshd (postgres@127.0.0.1): sites_config() gives the daemon ssh to it.
    PostgreSQL refuses root: every server tool runs as postgres through runuser; psql runs as root over TCP.
    Stop (also at exit, or after a failure) is by PID: pg_ctl stop -m immediate, then SIGKILL of the postmaster
    named by postmaster.pid when its command line names our data directory."""

    NODES = ("a", "b")

    def __init__(self, root, sshd=None, ports=None, wal_log_hints=True):
        self.dir = os.path.join(root, "lc")
        self.sock = os.path.join(self.dir, "sock")
        self.sshd = sshd
        self.ports = dict(ports or PORT_LC)
        self.data = {n: os.path.join(self.dir, n) for n in self.NODES}
        self.logs = {n: os.path.join(self.dir, f"{n}.log") for n in self.NODES}
        self.wal_log_hints = wal_log_hints
        self.started = False

    def __repr__(self):
        return f"LifecyclePair({self.dir}, running={[n for n in self.NODES if self.running(n)]})"

    @staticmethod
    def other(node):
        return "b" if node == "a" else "a"

    # -- tools
    def pg(self, tool, *args, timeout=60, check=True, stdin_text=None):
        """Run a PostgreSQL server tool as postgres, LC_ALL=C (pg_controldata's labels are translated)."""
        argv = [RUNUSER, "-u", PG_USER, "--", "env", "LC_ALL=C", f"{PG_BIN}/{tool}", *args]
        if stdin_text is None:
            return run(argv, timeout=timeout, check=check, cwd=self.dir, what=f"PostgreSQL {tool}")
        try:
            r = subprocess.run(argv, input=stdin_text, capture_output=True, text=True, timeout=timeout,
                               cwd=self.dir)
        except subprocess.TimeoutExpired as e:
            raise TopologyError(f"PostgreSQL {tool}: timed out after {timeout}s") from e
        if check and r.returncode != 0:
            raise TopologyError(f"PostgreSQL {tool}: exit {r.returncode}: {(r.stdout + r.stderr).strip()}")
        return r

    def psql_argv(self, node, user=PG_USER, db="postgres"):
        return [f"{PG_BIN}/psql", "-X", "-h", HOST, "-p", str(self.ports[node]), "-U", user, "-d", db,
                "-v", "ON_ERROR_STOP=1", "-Atq"]

    def sql(self, node, query, timeout=15, check=True):
        """One query (one implicit transaction) over TCP as postgres; stdout stripped. check=False: None on
        failure (the node does not answer)."""
        env = dict(os.environ, PGCONNECT_TIMEOUT="2")
        try:
            r = subprocess.run(self.psql_argv(node) + ["-c", query], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as e:
            if not check:
                return None
            raise TopologyError(f"psql on {node}: timed out after {timeout}s: {query}") from e
        if r.returncode != 0:
            if not check:
                return None
            raise TopologyError(f"psql on {node} (port {self.ports[node]}): exit {r.returncode}: {query}\n"
                                f"{r.stderr.strip()}")
        return r.stdout.strip()

    def sql_script(self, node, lines, timeout=30):
        """Statements one per line, each its own transaction (psql reading a script in autocommit)."""
        env = dict(os.environ, PGCONNECT_TIMEOUT="2")
        r = subprocess.run(self.psql_argv(node) + ["-f", "-"], input="\n".join(lines) + "\n", capture_output=True,
                           text=True, timeout=timeout, env=env)
        if r.returncode != 0:
            raise TopologyError(f"psql script on {node}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    # -- addresses, for the writer and the daemon's config
    def conninfo(self, node, user=PG_USER):
        return f"host={HOST} port={self.ports[node]} dbname=postgres user={user}"

    def replication_conninfo(self, node):
        return self.conninfo(node, REPL_USER)

    def source_conninfo(self, source, for_node):
        """pg_rewind --source-server / primary_conninfo for `for_node` following `source` (names it)."""
        return f"{self.replication_conninfo(source)} application_name={for_node}"

    def writer_conninfo(self):
        return (f"host={HOST},{HOST} port={self.ports['a']},{self.ports['b']} dbname=postgres user={PG_USER} "
                "target_session_attrs=read-write connect_timeout=1")

    def start_options(self, node):
        """pg_ctl -o: the per-node settings kept out of PGDATA."""
        return f"-p {self.ports[node]} -k {self.sock}"

    def start_args(self, node):
        """pg_ctl's arguments to start node (the log outside PGDATA, which rewind/clone overwrite)."""
        return ["start", "-D", self.data[node], "-w", "-t", "60", "-s", "-l", self.logs[node],
                "-o", self.start_options(node)]

    # -- lifecycle
    def start(self):
        check_ports_free(tuple(self.ports.values()))
        for n in self.NODES:
            self._stop_pid(n)      # a leftover of an earlier attempt in this directory
        shutil.rmtree(self.dir, ignore_errors=True)
        makedirs_owned(self.dir, PG_USER, 0o755)
        makedirs_owned(self.sock, PG_USER, 0o755)
        self.started = True
        self.init_primary("a")
        self.clone("b", "a")
        return self

    def init_primary(self, node):
        data = self.data[node]
        self.pg("initdb", "-D", data, "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync",
                timeout=120)
        with open(os.path.join(data, "postgresql.conf"), "a", encoding="utf-8") as f:
            f.write("\n# blfailoverd lifecycle tests: the same on both nodes (pg_rewind/pg_basebackup copy this "
                    "file);\n# port and unix_socket_directories come from pg_ctl -o\n" + "\n".join([
                        f"listen_addresses = '{HOST}'",
                        "wal_level = replica", "max_wal_senders = 8", "wal_keep_size = '128MB'",
                        "hot_standby = on", "hot_standby_feedback = on",
                        f"wal_log_hints = {'on' if self.wal_log_hints else 'off'}", "full_page_writes = on",
                        "fsync = off", "synchronous_commit = on", "autovacuum = off",
                        "wal_receiver_status_interval = '1s'", "wal_retrieve_retry_interval = '200ms'",
                        "shared_buffers = '16MB'", "max_connections = 30", "log_line_prefix = '%m [%p] '",
                        "log_min_messages = info", ""]))
        write_file(os.path.join(data, "pg_hba.conf"), "\n".join([
            "# blfailoverd lifecycle tests (loopback only)",
            "local all all trust", f"host all all {HOST}/32 trust",
            "local replication all trust", f"host replication all {HOST}/32 trust", ""]), mode=0o600,
            owner=PG_USER)
        self.start_node(node)
        grants = "".join(f"GRANT EXECUTE ON FUNCTION {g} TO {REPL_USER};" for g in REWIND_GRANTS)
        self.sql(node, f"CREATE ROLE {REPL_USER} LOGIN REPLICATION; {grants}"
                       "CREATE TABLE blf_check (v text)")

    def clone(self, node, source):
        """node := pg_basebackup of source, standby config naming it; started; streams from source."""
        self._stop_pid(node)
        shutil.rmtree(self.data[node], ignore_errors=True)
        self.pg("pg_basebackup", "-D", self.data[node], "-d", self.source_conninfo(source, node), "-R",
                "-X", "stream", "-c", "fast", "--no-sync", timeout=120)
        self.set_primary_conninfo(node, source)
        self.start_node(node)
        self.wait_streams(source, node, 30)

    def set_primary_conninfo(self, node, source):
        """Appended to postgresql.auto.conf while node is down (the last setting wins)."""
        path = os.path.join(self.data[node], "postgresql.auto.conf")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"primary_conninfo = {pg_conf_quote(self.source_conninfo(source, node))}\n")

    def postmaster_pid(self, node):
        """The live postmaster of node (its command line names our data dir), else None."""
        try:
            pid = int(open(os.path.join(self.data[node], "postmaster.pid")).read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if proc_alive(pid) and self.data[node] in proc_cmdline(pid) else None

    def running(self, node):
        return self.postmaster_pid(node) is not None

    def start_node(self, node, timeout=90):
        self.pg("pg_ctl", *self.start_args(node), timeout=timeout)

    def stop_node(self, node, mode="fast", timeout=45):
        """pg_ctl stop -m MODE -w; returns seconds taken (0 when it was not running)."""
        if not self.running(node):
            return 0.0
        t0 = time.monotonic()
        self.pg("pg_ctl", "stop", "-D", self.data[node], "-m", mode, "-w", "-t", "30", "-s", timeout=timeout)
        return time.monotonic() - t0

    def kill9(self, node, wait=10.0):
        """SIGKILL node's postmaster (a crash: no shutdown checkpoint), then wait until its children noticed and
        exited (they would keep the shared memory and block a restart); stragglers are SIGKILLed by PID."""
        pid = self.postmaster_pid(node)
        if pid is None:
            raise TopologyError(f"kill9 {node}: no running postmaster for {self.data[node]}")
        procs = descendants(pid) + [(pid, proc_stat(pid)[3])]
        os.kill(pid, signal.SIGKILL)
        kill_snapshot(wait_snapshot_gone(procs, wait))
        # PostgreSQL tells a stale postmaster.pid by kill(PID, 0), which succeeds on a zombie: until PID 1 reaps
        # the orphan (late, on these machines), a restart or a single-user recovery says "lock file exists".
        wait_until(lambda: proc_stat(pid) is None, 30, f"the killed postmaster {pid} of {node} to be reaped",
                   interval=0.02)
        return pid

    def _stop_pid(self, node):
        """Teardown by PID, never raises: pg_ctl stop -m immediate, then SIGKILL of our postmaster and its kids."""
        with contextlib.suppress(Exception):
            if os.path.exists(os.path.join(self.data[node], "postmaster.pid")) and self.running(node):
                self.pg("pg_ctl", "stop", "-D", self.data[node], "-m", "immediate", "-w", "-t", "15", "-s",
                        timeout=30, check=False)
        with contextlib.suppress(Exception):
            pid = self.postmaster_pid(node)
            if pid is not None:
                kids = descendants(pid)
                os.kill(pid, signal.SIGKILL)
                kill_snapshot(wait_snapshot_gone(kids, 5.0))

    def stop(self):
        if not self.started:
            return
        for node in self.NODES:
            self._stop_pid(node)
        self.started = False

    # -- roles and replication
    def in_recovery(self, node):
        """True/False, or None when node does not answer."""
        v = self.sql(node, "select pg_is_in_recovery()", timeout=5, check=False)
        return None if v is None else v == "t"

    def is_primary(self, node):
        return self.in_recovery(node) is False

    def primaries(self):
        return [n for n in self.NODES if self.is_primary(n)]

    def streams_from(self, primary, standby_app):
        """primary's pg_stat_replication has a `streaming` row for application_name standby_app."""
        v = self.sql(primary, "select count(*) from pg_stat_replication where state = 'streaming' and "
                              f"application_name = '{standby_app}'", timeout=5, check=False)
        return v == "1"

    def wait_streams(self, primary, standby_app, timeout=30):
        wait_until(lambda: self.streams_from(primary, standby_app), timeout,
                   f"{standby_app} to stream from {primary} (pg_stat_replication on port {self.ports[primary]})",
                   interval=0.1)

    def wait_caught_up(self, primary, standby, timeout=30):
        """standby replayed everything primary has written so far."""
        target = self.sql(primary, "select pg_current_wal_lsn()")
        wait_until(lambda: self.sql(standby, f"select pg_last_wal_replay_lsn() >= '{target}'", check=False) == "t",
                   timeout, f"{standby} to replay up to {target}", interval=0.05)

    def cut_off(self, standby):
        """Stop standby's walreceiver for good (primary_conninfo = '' + reload); wait until it is gone."""
        self.sql(standby, "ALTER SYSTEM SET primary_conninfo = ''")
        self.sql(standby, "select pg_reload_conf()")
        wait_until(lambda: self.sql(standby, "select count(*) from pg_stat_wal_receiver") == "0", 15,
                   f"{standby}'s walreceiver to stop")
        wait_until(lambda: not self.streams_from(self.other(standby), standby), 15,
                   f"{self.other(standby)} to lose its walsender to {standby}")

    # -- the by-hand operations (what the daemon's steps do; each a small piece)
    def checkpoint(self, node):
        self.sql(node, "CHECKPOINT", timeout=60)

    def controldata(self, node):
        """pg_controldata (LC_ALL=C) as {label: value}."""
        out = self.pg("pg_controldata", "-D", self.data[node], timeout=15).stdout
        return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in out.splitlines()) if v}

    def wait_replayed_past(self, node, lsn, timeout=10.0):
        """Poll node every 5 ms (server side, one round trip) until pg_last_wal_replay_lsn() > lsn; returns the
        replay LSN. Raises TopologyError when it does not within timeout."""
        q = ("DO $$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN "
             f"WHILE coalesce(pg_last_wal_replay_lsn() <= '{lsn}', true) LOOP "
             f"IF clock_timestamp() - t0 > interval '{timeout} s' THEN "
             f"RAISE EXCEPTION 'replay at % has not passed {lsn}', pg_last_wal_replay_lsn(); END IF; "
             "PERFORM pg_sleep(0.005); END LOOP; END $$; select pg_last_wal_replay_lsn()")
        return self.sql(node, q, timeout=timeout + 10).splitlines()[-1]

    def promote(self, node, wait_seconds=30):
        v = self.sql(node, f"select pg_promote(true, {wait_seconds})", timeout=wait_seconds + 10)
        if v != "t":
            raise TopologyError(f"pg_promote on {node} returned {v!r}")

    def timeline_checkpointed(self, node):
        """The new primary's pg_control names its current timeline (pg_rewind ≤ 15 reads the TLI from there)."""
        return self.sql(node, "select timeline_id = ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))"
                              "::bit(32)::int from pg_control_checkpoint()") == "t"

    def rewind(self, target, source, dry_run=False):
        """pg_rewind -D target --source-server=source -R [--dry-run]; returns (exit status, output, verdict) with
        verdict "none" (no rewind required), ("diverged", LSN text, TLI) or None."""
        args = ["-D", self.data[target], f"--source-server={self.source_conninfo(source, target)}", "-R"]
        r = self.pg("pg_rewind", *args, *(["--dry-run"] if dry_run else []), timeout=300, check=False)
        out = r.stdout + r.stderr
        m = REWIND_DIVERGED_RE.search(out)
        verdict = "none" if REWIND_NONE in out else (("diverged", m.group(1), int(m.group(2))) if m else None)
        return r.returncode, out, verdict

    def single_user_recovery(self, node):
        """Crash recovery of a crashed, stopped node without ever accepting connections (what pg_rewind ≥ 13
        would run itself): postgres --single -F -D DATA template1 </dev/null."""
        return self.pg("postgres", "--single", "-F", "-D", self.data[node], "template1", stdin_text="",
                       timeout=600)

    def waldump(self, node, tli, start, *rest):
        return self.pg("pg_waldump", "-p", os.path.join(self.data[node], "pg_wal"), "-t", str(tli), "-s", start,
                       *rest, timeout=60, check=False)

    def checkpoint_end(self, node, tli, lsn):
        """End of the record at lsn (its start + MAXALIGN(total length)), read with pg_waldump -n 1."""
        out = self.waldump(node, tli, lsn, "-n", "1").stdout
        m = re.search(r"len \(rec/tot\):\s*\d+/\s*(\d+).*?lsn: ([0-9A-F]+/[0-9A-F]+)", out)
        if not m:
            raise TopologyError(f"pg_waldump on {node} at {lsn}: no record:\n{out}")
        return lsn_text(lsn_int(m.group(2)) + ((int(m.group(1)) + 7) & ~7))

    def commit_counts(self, node, tli, start, end):
        """{'COMMIT': n, 'ABORT': n} of node's WAL on timeline tli in [start, end) (pg_waldump --stats=record)."""
        r = self.waldump(node, tli, start, "-e", end, "--stats=record")
        counts = {}
        for kind in ("COMMIT", "ABORT"):
            m = re.search(rf"^Transaction/{kind}\s+(\d+)", r.stdout, re.M)
            counts[kind] = int(m.group(1)) if m else 0
        if "Transaction/" not in r.stdout and r.returncode != 0:
            raise TopologyError(f"pg_waldump --stats on {node} {start}..{end}: exit {r.returncode}: {r.stderr}")
        return counts

    # -- the daemon's view (the sites form, docs/design/lifecycle.md §1)
    def site_database(self, node):
        """sites[i].database for node: both db hosts are the topology's sshd (postgres@127.0.0.1)."""
        db = {"conninfo": self.conninfo(node), "replication_conninfo": self.replication_conninfo(node),
              "application_name": node, "pgdata": self.data[node], "bindir": PG_BIN}
        if self.sshd is not None:
            db["ssh"] = {"host": HOST, "user": PG_USER, "port": self.sshd.port,
                         "identity_file": self.sshd.client_key, "options": self.sshd.options}
        # the start command carries the per-node settings; its log lives outside PGDATA (rewind copies PGDATA)
        db["commands"] = {"start": {"command": ["{ssh}", "{bindir}/pg_ctl", "start", "-D", "{pgdata}", "-w", "-t",
                                                "60", "-s", "-l", self.logs[node], "-o", self.start_options(node)],
                                    "timeout": "90s"}}
        return db


class WriterLog:
    """pgwriter's stdout, parsed: acks [(seq, port, usec)], errs [(seq, usec, message)], unknowns [(seq, usec)]."""

    def __init__(self, text):
        self.acks, self.errs, self.unknowns = [], [], []
        for line in text.splitlines():
            w = line.split(" ", 3)
            if w[0] == "ack" and len(w) == 4:
                self.acks.append((int(w[1]), int(w[2]), int(w[3])))
            elif w[0] == "err" and len(w) >= 3:
                self.errs.append((int(w[1]), int(w[2]), w[3] if len(w) > 3 else ""))
            elif w[0] == "unknown" and len(w) == 3:
                self.unknowns.append((int(w[1]), int(w[2])))
            elif line.strip():
                raise AssertionError(f"pgwriter: unexpected line {line!r}")

    def acked(self):
        return {s for s, _, _ in self.acks}

    def acks_on(self, port):
        return [a for a in self.acks if a[1] == port]

    def window(self, old_port, new_port):
        """(seconds, last ack on old, first ack on new after it): the write unavailability of a role change."""
        old = [u for _, p, u in self.acks if p == old_port]
        if not old:
            raise AssertionError(f"pgwriter: no ack from port {old_port}")
        last_old = max(old)
        new = [u for _, p, u in self.acks if p == new_port and u > last_old]
        if not new:
            raise AssertionError(f"pgwriter: no ack from port {new_port} after the last one from {old_port}")
        return (min(new) - last_old) / 1e6, last_old, min(new)

    def summary(self):
        return f"{len(self.acks)} acked, {len(self.errs)} err, {len(self.unknowns)} unknown"


class Writer(Fixture):
    """pgwriter (built next to blfailoverd) committing one row per interval_ms into table, stdout to a file."""

    def __init__(self, binary, conninfo, table, out_path, interval_ms=10, seconds=0):
        self.argv = [binary, conninfo, str(interval_ms), str(seconds), table]
        self.out_path = out_path
        self.proc = None
        self.returncode = None

    def __repr__(self):
        return f"Writer(pid={self.proc.pid if self.proc else None})"

    def start(self):
        if not os.access(self.argv[0], os.X_OK):
            raise TopologyError(f"no writer {self.argv[0]}: build it first (make)")
        with open(self.out_path, "wb") as out, open(self.out_path + ".stderr", "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         start_new_session=True)
        return self

    def log(self):
        return WriterLog(open(self.out_path, encoding="utf-8", errors="replace").read())

    def wait_acks(self, n, port=None, timeout=15):
        """Until n more acks (from port, when given) than now."""
        base = len(self.log().acks_on(port) if port else self.log().acks)
        wait_until(lambda: len(self.log().acks_on(port) if port else self.log().acks) >= base + n, timeout,
                   f"the writer to get {n} acks" + (f" from port {port}" if port else ""))

    def stop(self):
        """SIGTERM (it exits 0 within its 2 s grace), SIGKILL after 10 s; never raises (teardown)."""
        if self.proc is not None:
            self.returncode = stop_popen(self.proc, signal.SIGTERM, 10)
            self.proc = None

    def finish(self):
        """Stop it; it must have exited 0. Returns the parsed log."""
        self.stop()
        if self.returncode != 0:
            raise TopologyError(f"pgwriter: {describe_status(self.returncode)}:\n"
                                f"{tail(self.out_path + '.stderr')}")
        return self.log()


def create_writer_table(pair, node, table=WRITER_TABLE):
    pair.sql(node, f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (seq bigint NOT NULL, "
                   "at timestamptz NOT NULL DEFAULT clock_timestamp())")
    return table


def check_invariants(pair, wlog, table=WRITER_TABLE, streams=True, demoted=None, promoted_at_us=None,
                     timeout=30):
    """After every lifecycle scenario: exactly one node answers pg_is_in_recovery() = false; every acked seq is in
    table on it (0 missing) and no seq the writer was told failed (err) is; the other node streams from it
    (unless streams=False); with demoted/promoted_at_us, no ack came from the demoted node after the promotion.
    Returns figures {primary, acked, missing, err_present, unknown_present, rows}; AssertionError lists every
    violated invariant."""
    problems = []
    prim = pair.primaries()
    if len(prim) != 1:
        answers = {n: pair.in_recovery(n) for n in pair.NODES}
        raise AssertionError(f"exactly one writable primary expected, pg_is_in_recovery() per node: {answers}")
    primary = prim[0]
    rows = [int(x) for x in pair.sql(primary, f"select seq from {table}").split()]
    present = set(rows)
    acked = wlog.acked() if wlog else set()
    missing = sorted(acked - present)
    err_present = sorted({s for s, _, _ in wlog.errs} & present) if wlog else []
    unknown_present = len({s for s, _ in wlog.unknowns} & present) if wlog else 0
    if missing:
        problems.append(f"{len(missing)} acked rows missing on the primary {primary}: {missing[:20]}")
    if err_present:
        problems.append(f"rows the writer reported failed (err) are present: {err_present[:20]}")
    if len(rows) != len(present):
        problems.append(f"duplicate seqs in {table}: {len(rows) - len(present)}")
    if demoted is not None and promoted_at_us is not None and wlog:
        late = [a for a in wlog.acks_on(pair.ports[demoted]) if a[2] > promoted_at_us]
        if late:
            problems.append(f"{len(late)} acks from the demoted {demoted} after the promotion: {late[:5]}")
    if streams:
        standby = pair.other(primary)
        try:
            pair.wait_streams(primary, standby, timeout)
            if pair.in_recovery(standby) is not True:
                problems.append(f"{standby} streams but is not in recovery")
        except TimeoutError as e:
            problems.append(str(e))
    if problems:
        raise AssertionError("invariants violated: " + "; ".join(problems))
    return {"primary": primary, "acked": len(acked), "missing": 0, "rows": len(present),
            "unknown": len(wlog.unknowns) if wlog else 0, "unknown_present": unknown_present}


# ----------------------------------------------------------------------------------------------------------------
# The whole topology


TOPOLOGY_LOCK = "/run/lock/blfailoverd-topology.lock"


@contextlib.contextmanager
def _topology_lock(log):
    """One topology per machine at a time (fixed ports): tests, demo and bench queue here instead of failing."""
    os.makedirs(os.path.dirname(TOPOLOGY_LOCK), exist_ok=True)
    fd = os.open(TOPOLOGY_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"  waiting for {TOPOLOGY_LOCK} (another test, demo or bench run holds the topology)")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class Topology(Fixture):
    """RunDir + PgPair (primary) + Sshd + Nginx + two ApiStandIns + Recorder, brought up and down together."""

    def __init__(self, keep=False, log=None):
        self.keep = keep
        self.log = log or (lambda msg: None)
        self.stack = None
        self.rundir = self.pg = self.sshd = self.nginx = self.active = self.standby = self.recorder = None
        self.timings = {}

    @property
    def dir(self):
        return self.rundir.path

    def __repr__(self):
        return f"Topology({self.dir if self.rundir else None})"

    def start(self):
        self.stack = contextlib.ExitStack()
        try:
            self.stack.enter_context(_topology_lock(self.log))
            cleanup_stale_runs()
            check_ports_free()
            self._start_all()
        except BaseException:
            self.stop()
            raise
        return self

    def _step(self, name, make):
        t0 = time.monotonic()
        obj = self.stack.enter_context(make())
        self.timings[name] = time.monotonic() - t0
        self.log(f"  {name:<9} up ({self.timings[name]:.2f}s)")
        return obj

    def _start_all(self):
        self.rundir = self._step("rundir", lambda: RunDir(self.keep))
        self.rundir.sub("scen")
        self.recorder = self._step("recorder", lambda: Recorder(self.dir))
        self.active = self._step("active", lambda: ApiStandIn(ACTIVE_NAME, PORT_ACTIVE))
        self.standby = self._step("standby", lambda: ApiStandIn(STANDBY_NAME, PORT_STANDBY))
        self.sshd = self._step("sshd", lambda: Sshd(os.path.join(self.dir, "sshd")))
        self.nginx = self._step("nginx", lambda: Nginx(os.path.join(self.dir, "nginx")))
        self.pg = self._step("pg", lambda: PgPair(self.dir))

    def stop(self):
        if self.stack is not None:
            t0 = time.monotonic()
            stack, self.stack = self.stack, None
            try:
                stack.close()
            except BaseException as e:  # noqa: BLE001
                print(f"topology: teardown error: {e}", file=sys.stderr)
            self.timings["teardown"] = time.monotonic() - t0

    # -- per scenario
    def scenario_dir(self, name):
        d = os.path.join(self.dir, "scen", name)
        shutil.rmtree(d, ignore_errors=True)
        makedirs_owned(d)
        makedirs_owned(os.path.join(d, "state"), mode=0o700)
        makedirs_owned(os.path.join(d, "triggers"), owner=PG_USER)
        return d

    def reset(self, trigger_path):
        """Fresh per-scenario state of the shared servers: stand-ins ok, recorder empty, original site file loaded
        by nginx, standby in recovery watching trigger_path (rebuilt if it was promoted). Returns True when the
        standby was rebuilt."""
        if not self.sshd.running():
            raise TopologyError(f"sshd is no longer running:\n{tail(self.sshd.log)}")
        self.active.start()
        self.standby.start()
        self.recorder.reset()
        self.nginx.reset_site(ACTIVE_NAME)
        return self.pg.ensure_standby(trigger_path)

    def config(self, scen_dir, trigger_path, **health):
        """The daemon config (dict) for this topology; health overrides e.g. interval=0.5, failure_threshold=3."""
        h = {"interval": 0.5, "timeout": 0.3, "failure_threshold": 3}
        h.update(health)
        hc = {"interval": duration(h["interval"]), "timeout": duration(h["timeout"]),
              "failure_threshold": h["failure_threshold"]}
        if h.get("expect_body"):
            hc["expect_body"] = h["expect_body"]
        return {
            "state_dir": os.path.join(scen_dir, "state"),
            "health": hc,
            "active": {"name": ACTIVE_NAME, "url": f"http://{ACTIVE_SERVER}/health"},
            "standby": {"name": STANDBY_NAME, "url": f"http://{STANDBY_SERVER}/health"},
            "failover": {
                "promote": {
                    "ssh": {"host": HOST, "user": PG_USER, "port": self.sshd.port,
                            "identity_file": self.sshd.client_key, "options": self.sshd.options},
                    "trigger_file": trigger_path,
                    "timeout": "15s",
                },
                "nginx": {
                    "config": self.nginx.site,
                    "upstream": UPSTREAM,
                    "active_server": ACTIVE_SERVER,
                    "standby_server": STANDBY_SERVER,
                    "test_command": self.nginx.test_argv,
                    "reload_command": self.nginx.reload_argv,
                    "timeout": "15s",
                },
                "standby_stack": {"command": self.recorder.command, "timeout": "30s"},
            },
        }


# ----------------------------------------------------------------------------------------------------------------
# nginx site-file inspection (used by scenarios and the self-check)


def upstream_servers(text, upstream=UPSTREAM):
    """[(address, [params])] of the `server` directives in `upstream NAME { ... }` (simple parser: our files)."""
    m = re.search(r"upstream\s+" + re.escape(upstream) + r"\s*\{(.*?)\}", text, re.S)
    if not m:
        raise AssertionError(f"upstream {upstream} not found in the site file")
    body = re.sub(r"#[^\n]*", "", m.group(1))
    out = []
    for stmt in body.split(";"):
        words = stmt.split()
        if words and words[0] == "server":
            out.append((words[1], words[2:]))
    return out


def without_upstream(text, upstream=UPSTREAM):
    """The file with the named upstream block cut out (everything else must survive a rewrite byte for byte)."""
    return re.sub(r"upstream\s+" + re.escape(upstream) + r"\s*\{.*?\}", "<UPSTREAM>", text, count=1, flags=re.S)


# ----------------------------------------------------------------------------------------------------------------
# Self-check


def _our_leftovers(rundir, pids):
    """Processes of ours still alive: any pid from `pids` still that process, or any process naming rundir."""
    left = [f"pid {p} ({proc_cmdline(p)[:100]})" for p, s in pids if proc_alive(p, s)]
    left += [f"pid {p} ({proc_cmdline(p)[:100]})" for p in all_pids()
             if p != os.getpid() and rundir in proc_cmdline(p) and proc_alive(p)]
    return sorted(set(left))


def selftest(rounds=1, keep=False):
    """Bring the topology up, exercise every fixture with the real tools, tear it down, check nothing is left."""
    say = lambda msg: print(msg, flush=True)    # noqa: E731
    for rnd in range(1, rounds + 1):
        say(f"== self-check round {rnd}/{rounds}")
        t0 = time.monotonic()
        topo = Topology(keep=keep, log=say)
        tracked = []
        with contextlib.ExitStack() as stack:
            stack.enter_context(topo)
            t_up = time.monotonic() - t0
            say(f"  topology up in {t_up:.2f}s: {topo.dir}")
            rundir = topo.dir
            scen = topo.scenario_dir("selftest")
            trig_dir = os.path.join(scen, "triggers", "dir with space")
            makedirs_owned(trig_dir, owner=PG_USER)
            sentinel = os.path.join(scen, "pwned")
            trigger = os.path.join(trig_dir, f"it's \"a\";trigger; touch {sentinel}")
            makedirs_owned(os.path.dirname(trigger), owner=PG_USER)

            t1 = time.monotonic()
            topo.reset(trigger)
            say(f"  reset incl. fresh standby in {time.monotonic() - t1:.2f}s")
            tracked = [(topo.nginx.proc.pid, proc_stat(topo.nginx.proc.pid)[3]),
                       (topo.sshd.proc.pid, proc_stat(topo.sshd.proc.pid)[3])]
            tracked += descendants(topo.nginx.proc.pid)
            for node in ("primary", "standby"):
                pid = int(open(os.path.join(topo.pg.data[node], "postmaster.pid")).read().split()[0])
                tracked += [(pid, proc_stat(pid)[3])] + descendants(pid)

            # PostgreSQL: replication works
            token = f"selftest-{os.getpid()}-{rnd}-{time.time()}"
            topo.pg.sql("primary", f"insert into blf_check values ('{token}')")
            wait_until(lambda: topo.pg.sql("standby", f"select count(*) from blf_check where v = '{token}'") == "1",
                       15, "the row to replicate to the standby")
            assert topo.pg.in_recovery("standby") and not topo.pg.in_recovery("primary")
            say("  pg: a row written on the primary is visible on the standby; standby in recovery")

            # nginx serves the active; stand-in modes
            st = topo.nginx.get("/whoami")
            assert st == (200, ACTIVE_NAME), st
            assert topo.nginx.get("/health")[0] == 200
            topo.active.set_mode("500")
            assert topo.nginx.get("/health")[0] == 500, "nginx should pass the active's 500 through"
            assert topo.nginx.get("/whoami") == (200, ACTIVE_NAME)
            topo.active.script("500", "ok")
            assert _http_status(PORT_ACTIVE, "/health") == 500
            assert _http_status(PORT_ACTIVE, "/health") == 200
            assert _http_status(PORT_ACTIVE, "/health") == 500   # back to the mode
            topo.active.set_mode("hang")
            t_h = time.monotonic()
            assert _http_status(PORT_ACTIVE, "/health", timeout=0.5) == "timeout"
            assert time.monotonic() - t_h >= 0.45
            # a hanging request answers once the mode changes
            res = {}
            th = threading.Thread(target=lambda: res.update(s=_http_status(PORT_ACTIVE, "/health", timeout=5)))
            th.start()
            time.sleep(0.3)
            topo.active.set_mode("ok")
            th.join(6)
            assert res.get("s") == 200, res
            # keep-alive: two requests on one connection
            c = http.client.HTTPConnection(HOST, PORT_ACTIVE, timeout=2)
            for _ in range(2):
                c.request("GET", "/health")
                r = c.getresponse()
                assert r.status == 200 and json.loads(r.read()) == {"status": "healthy", "role": ACTIVE_NAME}
            topo.active.set_mode("closed")      # drops the kept-alive connection too
            assert _http_status(PORT_ACTIVE, "/health") == "refused"
            with contextlib.suppress(OSError, http.client.HTTPException):
                c.request("GET", "/health")
                c.getresponse()
                raise AssertionError("kept-alive connection survived 'closed'")
            c.close()
            topo.active.set_mode("ok")
            assert _http_status(PORT_ACTIVE, "/health") == 200
            say("  stand-ins: ok / 500 / scripted / hang (answers after mode change) / closed (refused, "
                "keep-alive dropped) / reopened")

            # recorder
            r = run([topo.recorder.wrapper, *STACK_ARGV], env={"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": "/"})
            assert topo.recorder.argvs() == [STACK_ARGV], topo.recorder.entries()
            topo.recorder.reset()
            assert topo.recorder.argvs() == []
            say("  recorder: the wrapper recorded its argv under a minimal environment")

            # nginx: rewrite by hand, reload, served by the standby
            text = topo.nginx.site_bytes().decode()
            new = text.replace(f"server {ACTIVE_SERVER} max_fails=3 fail_timeout=30s;",
                               f"server {ACTIVE_SERVER} max_fails=3 fail_timeout=30s down;", 1)
            new = new.replace(f"server {STANDBY_SERVER} backup;", f"server {STANDBY_SERVER};", 1)
            assert new != text
            write_file(topo.nginx.site, new)
            run(topo.nginx.test_argv, what="nginx -t")
            t_r = time.monotonic()
            run(topo.nginx.reload_argv, what="nginx -s reload")
            topo.nginx.wait_served_by(STANDBY_NAME, 10)
            say(f"  nginx: after rewrite + nginx -s reload -p -c, served by {STANDBY_NAME} "
                f"({time.monotonic() - t_r:.2f}s)")
            servers = dict(upstream_servers(new))
            assert "down" in servers[ACTIVE_SERVER] and "backup" not in servers[STANDBY_SERVER]
            assert without_upstream(new) == without_upstream(text)

            # promote through real ssh, with a hostile trigger path
            r = run(topo.sshd.touch_argv(trigger), timeout=30, what="ssh touch")
            t_p = time.monotonic()
            topo.pg.wait_promoted(20)
            say(f"  pg: standby promoted {time.monotonic() - t_p:.2f}s after `ssh ... touch -- "
                f"{shlex.quote(trigger)}`")
            assert not os.path.exists(sentinel), "the ';' in the trigger path ran a command"
            wait_until(topo.pg.promote_logged, 5, "the standby log to say the trigger was found")
            assert not topo.pg.in_recovery("standby")

            # reset brings back the original state
            t_s = time.monotonic()
            trig2 = os.path.join(scen, "triggers", "second")
            rebuilt = topo.reset(trig2)
            assert rebuilt and topo.pg.in_recovery("standby")
            assert topo.nginx.site_bytes() == topo.nginx.original_site
            say(f"  reset after a promotion (fresh standby, site file, nginx): {time.monotonic() - t_s:.2f}s")
            t_s = time.monotonic()
            assert not topo.reset(os.path.join(scen, "triggers", "third"))
            say(f"  reset without a promotion (re-point trigger only): {time.monotonic() - t_s:.2f}s")
            tracked += descendants(topo.nginx.proc.pid)
            pid = int(open(os.path.join(topo.pg.data["standby"], "postmaster.pid")).read().split()[0])
            tracked += [(pid, proc_stat(pid)[3])] + descendants(pid)

            t_d = time.monotonic()
        t_down = time.monotonic() - t_d
        say(f"  topology down in {t_down:.2f}s")
        time.sleep(0.2)
        left = _our_leftovers(rundir, tracked)
        if left:
            raise AssertionError("processes left after teardown: " + "; ".join(left))
        if not keep and os.path.exists(rundir):
            raise AssertionError(f"run directory left: {rundir}")
        busy = [p for p in ALL_PORTS if port_in_use(p)]
        if busy:
            raise AssertionError(f"ports still in use after teardown: {busy}")
        say(f"  no processes, no run directory, ports free. round {rnd}: up {t_up:.2f}s, down {t_down:.2f}s, "
            f"total {time.monotonic() - t0:.2f}s")
    say("self-check passed")


def _http_status(port, path, timeout=2.0):
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        return r.status
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "timeout"
    except (OSError, http.client.HTTPException) as e:
        return f"error: {e}"
    finally:
        c.close()


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--selftest", action="store_true", help="bring the topology up, exercise it, tear it down")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the run directory (processes are still stopped)")
    ap.add_argument("--cleanup-stale", action="store_true", help="tear down leftovers of killed runs")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("topology: must run as root (runuser, sshd, nginx)", file=sys.stderr)
        return 2
    install_signal_handlers()
    if a.cleanup_stale:
        print(f"cleaned {len(cleanup_stale_runs())} stale run(s)")
        return 0
    if a.selftest:
        selftest(a.rounds, a.keep)
        return 0
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
