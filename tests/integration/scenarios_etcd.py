"""scenarios_etcd: the cluster's lower layers (issue 13) against a real 3-member etcd (Debian's etcd-server 3.4)
on 127.0.0.1 — clients 25440/25442/25444, peers 25441/25443/25445, data in the scenario's directory, every member
stopped by PID (also when the scenario fails). The members are tests/integration/etcdprobe.c (cluster.c's
leadership machine driven by etcd.c on the loop, writing a guarded record every 300 ms while it may act), not the
daemon: member.c, which wires them into blfailoverd, comes later.

Standalone: `python3 tests/integration/scenarios_etcd.py --probe build/etcdprobe [-k NAME]` (no topology needed;
it takes the same machine-wide lock as run.py: scenarios_observability uses these ports too).
"""
import base64
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HOST = "127.0.0.1"
CLIENT = (25440, 25442, 25444)
PEER = (25441, 25443, 25445)
ENDPOINTS = ",".join(f"http://{HOST}:{p}" for p in CLIENT)
PREFIX = "/blfailoverd/a+b"
TTL = 3                         # lease_ttl of the probes (s): keep-alive every 1 s, deadline 2.4 s after a send
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Etcd:
    """Three etcd members; start/kill each by index; stop() kills every one still running (SIGTERM, SIGKILL
    after 5 s: a member without quorum can ignore SIGTERM)."""

    def __init__(self, d, tls=None):
        self.dir = d
        self.tls = tls                  # Certs: clients over https with client certificates required
        self.procs = [None, None, None]
        self.token = "blf-" + os.path.basename(d) + "-" + str(os.getpid())
        self.root_pw = None

    def enable_auth(self, user, password):
        """root, and user with readwrite on PREFIX/ only; then auth on (etcd's admin calls through the gateway)."""
        def admin(path, body, token=None):
            st, r = self.call("/v3/auth/" + path, body, token=token)
            if st != 200:
                raise AssertionError(f"etcd auth/{path}: HTTP {st} {r}")
        admin("user/add", {"name": "root", "password": "rootpw"})
        admin("user/grant", {"user": "root", "role": "root"})
        admin("user/add", {"name": user, "password": password})
        admin("role/add", {"name": "blf"})
        admin("role/grant", {"name": "blf", "perm": {"permType": "READWRITE", "key": b64(PREFIX + "/"),
                                                     "range_end": b64(PREFIX + "0")}})
        admin("user/grant", {"user": user, "role": "blf"})
        admin("enable", {})
        self.root_pw = "rootpw"

    def root_token(self):
        return self.call("/v3/auth/authenticate", {"name": "root", "password": self.root_pw})[1]["token"]

    def start(self, i):
        cluster = ",".join(f"e{k}=http://{HOST}:{PEER[k]}" for k in range(3))
        log = open(os.path.join(self.dir, f"etcd-e{i}.log"), "ab")
        scheme = "https" if self.tls else "http"
        tls = ["--cert-file", self.tls.server_cert, "--key-file", self.tls.server_key, "--client-cert-auth",
               "--trusted-ca-file", self.tls.ca] if self.tls else []
        self.procs[i] = subprocess.Popen(
            ["etcd", "--name", f"e{i}", "--data-dir", os.path.join(self.dir, f"etcd-e{i}"), *tls,
             "--listen-client-urls", f"{scheme}://{HOST}:{CLIENT[i]}",
             "--advertise-client-urls", f"{scheme}://{HOST}:{CLIENT[i]}",
             "--listen-peer-urls", f"http://{HOST}:{PEER[i]}",
             "--initial-advertise-peer-urls", f"http://{HOST}:{PEER[i]}",
             "--initial-cluster", cluster, "--initial-cluster-state", "new",
             "--initial-cluster-token", self.token, "--heartbeat-interval", "50", "--election-timeout", "500",
             "--logger", "zap", "--log-outputs", "stderr"],
            stdout=log, stderr=log)
        log.close()

    def start_all(self, timeout=20):
        for i in range(3):
            self.start(i)
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout=20):
        """A linearizable read answers (through raft: a leader exists); with auth on, an authentication does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.root_pw:
                    if self.call("/v3/auth/authenticate", {"name": "root", "password": self.root_pw},
                                 timeout=1)[0] == 200:
                        return
                elif self.call("/v3/kv/range", {"key": b64("x")}, timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"etcd not healthy within {timeout}s (logs in {self.dir})")

    def kill(self, i):
        p = self.procs[i]
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
        self.procs[i] = None

    def stop(self):
        for p in self.procs:
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for i, p in enumerate(self.procs):
            if p:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.send_signal(signal.SIGKILL)
                    p.wait()
            self.procs[i] = None

    def call(self, path, body, timeout=3, token=None):
        opener = OPENER
        if self.tls:
            sslctx = ssl.create_default_context(cafile=self.tls.ca)
            sslctx.load_cert_chain(self.tls.client_cert, self.tls.client_key)
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                 urllib.request.HTTPSHandler(context=sslctx))
        for port in CLIENT:
            req = urllib.request.Request(f"{'https' if self.tls else 'http'}://{HOST}:{port}{path}",
                                         data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            if token:
                req.add_header("Authorization", token)
            try:
                with opener.open(req, timeout=timeout) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read() or b"{}")
            except OSError:
                continue
        raise OSError("no etcd member answered")

    def raft_leader(self):
        """The index of the member raft has elected (maintenance/status answers "leader" and its own member_id)."""
        for i, port in enumerate(CLIENT):
            req = urllib.request.Request(f"http://{HOST}:{port}/v3/maintenance/status", data=b"{}", method="POST")
            try:
                with OPENER.open(req, timeout=2) as r:
                    st = json.loads(r.read())
            except OSError:
                continue
            if st.get("leader") and st["leader"] == st["header"]["member_id"]:
                return i
        raise AssertionError("no etcd member says it is the raft leader")

    def get(self, key, prefix=PREFIX):
        """The value (text) of key, or None."""
        _, r = self.call("/v3/kv/range", {"key": b64(prefix + key)},
                         token=self.root_token() if self.root_pw else None)
        kvs = r.get("kvs") or []
        return base64.b64decode(kvs[0].get("value", "")).decode() if kvs else None

    def get_prefix(self, prefix=PREFIX):
        """{key under prefix (without it): (value text, mod_revision, lease id or 0)}, read linearizably."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        st, r = self.call("/v3/kv/range", {"key": b64(prefix), "range_end": b64(end)},
                          token=self.root_token() if self.root_pw else None)
        if st != 200:
            raise OSError(f"etcd range {prefix}: HTTP {st} {r}")
        return {base64.b64decode(kv["key"]).decode()[len(prefix):]:
                (base64.b64decode(kv.get("value", "")).decode("utf-8", "replace"), int(kv.get("mod_revision", 0)),
                 int(kv.get("lease", 0))) for kv in r.get("kvs") or []}


class Probe:
    """One etcdprobe; lines() parses its stdout: [(boottime seconds, text)]."""

    def __init__(self, binary, d, name, ttl=TTL, endpoints=ENDPOINTS, args=()):
        self.name = name
        self.out_path = os.path.join(d, f"probe-{name}.out")
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen([binary, "--name", name, "--endpoints", endpoints, "--ttl", str(ttl),
                                      "--prefix", PREFIX, "--timeout-ms", "400", *args],
                                     stdout=self.out, stderr=subprocess.STDOUT)

    def lines(self):
        with open(self.out_path, encoding="utf-8", errors="replace") as f:
            res = []
            for line in f:
                t, _, text = line.rstrip("\n").partition(" ")
                try:
                    res.append((float(t), text))
                except ValueError:
                    res.append((0.0, line.rstrip("\n")))
            return res

    def wait(self, pattern, timeout, since=0.0):
        """The first (t, text) after since whose text matches pattern."""
        deadline = time.monotonic() + timeout
        while True:
            for t, text in self.lines():
                if t >= since and re.search(pattern, text):
                    return t, text
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no line matching {pattern!r} within {timeout}s:\n"
                                     + self.tail())
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}):\n" + self.tail())
            time.sleep(0.05)

    def tail(self, n=20):
        return "\n".join(f"  {t:.3f} {x}" for t, x in self.lines()[-n:])

    def acting(self):
        """The last acting line says 1."""
        last = [x for _, x in self.lines() if x.startswith("acting ")]
        return bool(last) and last[-1] == "acting 1"

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
        self.out.close()
        return self.proc.returncode


def boottime():
    return time.clock_gettime(time.CLOCK_BOOTTIME)


class Certs:
    """A test CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in d."""

    def __init__(self, d):
        self.ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
        self.server_cert, self.server_key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
        self.client_cert, self.client_key = os.path.join(d, "client.pem"), os.path.join(d, "client.key")
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("[s]\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
                    "[c]\nextendedKeyUsage=clientAuth\n")
        def ossl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", self.ca, "-days", "2",
             "-subj", "/CN=blfailoverd test etcd CA")
        for cert, key, cn, section in ((self.server_cert, self.server_key, "127.0.0.1", "s"),
                                       (self.client_cert, self.client_key, "blfailoverd", "c")):
            csr = key + ".csr"
            ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
            ossl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
                 "-days", "2", "-extfile", ext, "-extensions", section)


class Cluster:
    """etcd + probes for one scenario, torn down by PID whatever happens."""

    def __init__(self, binary, d, tls=None):
        self.binary = binary
        self.dir = d
        self.etcd = Etcd(d, tls)
        self.probes = []

    def __enter__(self):
        self.etcd.start_all()
        return self

    def probe(self, name, **kw):
        p = Probe(self.binary, self.dir, name, **kw)
        self.probes.append(p)
        return p

    def __exit__(self, exc_type, exc, tb):
        bad = []
        for p in self.probes:
            killed = p.proc.poll() == -signal.SIGKILL
            rc = p.stop()
            if rc != 0 and not killed:
                bad.append(f"{p.name} exited {rc} on SIGTERM (a sanitizer report?):\n{p.tail(30)}")
        self.etcd.stop()
        if bad and exc_type is None:
            raise AssertionError("; ".join(bad))
        return False


def probe_binary(ctx):
    return os.path.join(os.path.dirname(ctx.bin), "etcdprobe")


def _leader_and_follower(c, endpoints=ENDPOINTS):
    a = c.probe("mon-a", endpoints=endpoints)
    a.wait(r"^acting 1$", 10)
    a.wait(r"^write ok", 5)
    b = c.probe("mon-b", endpoints=endpoints)
    b.wait(r"^leader mon-a$", 10)
    time.sleep(TTL)
    if b.acting() or any(x == "campaign won" for _, x in b.lines()):
        raise AssertionError("mon-b won although mon-a leads:\n" + b.tail())
    return a, b


def _rtts(p):
    return sorted(float(m.group(1)) for _, x in p.lines() if (m := re.match(r"keepalive rtt_ms=([\d.]+)", x)))


def test_etcd_one_leader_and_takeover_after_kill(ctx):
    """mon-a wins the create-if-absent txn and writes; mon-b sees it and does not win; kill -9 mon-a → mon-b
    leads within lease_ttl + one keep-alive interval (TTL/3) and its guarded writes succeed."""
    with Cluster(probe_binary(ctx), ctx.dir) as c:
        a, b = _leader_and_follower(c)
        rtt = _rtts(a)
        print(f"    keepalive round trip over {len(rtt)}: median {rtt[len(rtt) // 2]:.1f} ms, max {rtt[-1]:.1f} ms")
        t_kill = boottime()
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        t_lead, _ = b.wait(r"^acting 1$", TTL + 5, since=t_kill)
        took = t_lead - t_kill
        print(f"    takeover after kill -9: {took:.2f} s (lease_ttl {TTL} s)")
        if took > TTL + TTL / 3:
            raise AssertionError(f"takeover took {took:.2f}s > lease_ttl + interval = {TTL + TTL / 3:.2f}s")
        b.wait(r"^write ok", 3, since=t_lead)
        rec = c.etcd.get("/record")
        if not rec or not rec.startswith("writer mon-b "):
            raise AssertionError(f"the record was not written by mon-b: {rec!r}")


def test_etcd_sigstop_leader_stops_acting_before_any_write(ctx):
    """SIGSTOP the leader past its TTL: mon-b takes over; on SIGCONT mon-a says it may not act, its guarded txn
    (sent regardless, as a fence check) is refused by etcd, it writes nothing, and the record stays mon-b's."""
    with Cluster(probe_binary(ctx), ctx.dir) as c:
        a, b = _leader_and_follower(c)
        t_stop = boottime()
        a.proc.send_signal(signal.SIGSTOP)
        b.wait(r"^acting 1$", TTL + 5, since=t_stop)
        b.wait(r"^write ok", 3, since=t_stop)
        time.sleep(1)
        t_cont = boottime()
        a.proc.send_signal(signal.SIGCONT)
        a.wait(r"^woke may_act=0", 5, since=t_cont)
        a.wait(r"^fence failed deposed holder=mon-b", 5, since=t_cont)
        a.wait(r"^acting 0$", 5, since=t_stop)
        time.sleep(TTL)
        late = [(t, x) for t, x in a.lines() if t >= t_cont and x.startswith(("write ", "fence ok"))
                and x != "write refused not-acting"]
        if late:
            raise AssertionError(f"mon-a tried to write after waking (only its fence check may): {late}")
        first_after = next(((t, x) for t, x in a.lines() if t >= t_cont and
                            x.startswith(("woke", "write", "fence"))), None)
        if not first_after or not first_after[1].startswith("woke may_act=0"):
            raise AssertionError(f"mon-a's first line after waking is not 'woke may_act=0': {first_after}")
        if a.acting():
            raise AssertionError("mon-a acts again although mon-b leads:\n" + a.tail())
        rec = c.etcd.get("/record")
        if not rec or not rec.startswith("writer mon-b "):
            raise AssertionError(f"record not mon-b's: {rec!r}")


def test_etcd_member_loss_and_quorum_loss(ctx):
    """One etcd member down (the first endpoint, where the probes start, a raft follower): the leader keeps acting
    and writing, and no request fails (each moves on to the next endpoint).
    Two down: no quorum — every probe stops acting within lease_ttl, says unavailable, writes nothing. All three
    down: the retries stay bounded. All back: a leader acts and writes again."""
    with Cluster(probe_binary(ctx), ctx.dir) as c:
        # the member the probes use first is a raft follower: killing it moves every request to the next
        # endpoint, with no raft election (whose ~1 s without a leader would fail requests by itself)
        f = next(i for i in range(3) if i != c.etcd.raft_leader())
        order = [f] + [i for i in range(3) if i != f]
        a, b = _leader_and_follower(c, ",".join(f"http://{HOST}:{CLIENT[i]}" for i in order))
        t1 = boottime()
        c.etcd.kill(f)
        time.sleep(2 * TTL)
        a.wait(r"^write ok", 2, since=t1 + TTL)
        if any(x == "acting 0" for t, x in a.lines() if t >= t1):
            raise AssertionError("mon-a stopped acting with one etcd member down:\n" + a.tail())
        # each request moved on to the next endpoint within itself: not one of them failed
        failed = [(p.name, x) for p in (a, b) for t, x in p.lines() if t >= t1 and x.startswith("failed ")]
        if failed:
            raise AssertionError(f"requests failed with one etcd member down: {failed[:3]}")
        t2 = boottime()
        c.etcd.kill(order[1])
        t_off, _ = a.wait(r"^acting 0$", TTL + 1, since=t2)
        print(f"    quorum lost → mon-a stopped acting after {t_off - t2:.2f} s")
        a.wait(r"^state unavailable", TTL + 1, since=t2)
        b.wait(r"^state unavailable", 2 * TTL, since=t2)
        time.sleep(TTL)
        late = [(t, x) for p in (a, b) for t, x in p.lines() if t > t_off + 0.5 and x.startswith("write ok")]
        if late:
            raise AssertionError(f"a write succeeded without quorum: {late}")
        # all three down: every request is refused at once; the retries must stay a trickle, not a busy loop
        c.etcd.kill(order[2])
        t_all = boottime()
        time.sleep(2)
        n = sum(1 for t, x in a.lines() if t_all <= t <= t_all + 2 and x.startswith("failed "))
        print(f"    all etcd down: {n} failed requests in 2 s")
        if n > 30:
            raise AssertionError(f"{n} failed requests in 2 s with every endpoint refusing: a busy loop")
        t3 = boottime()
        for i in range(3):
            c.etcd.start(i)
        c.etcd.wait_healthy(20)
        deadline = time.monotonic() + 4 * TTL + 10
        while time.monotonic() < deadline:
            if any(x == "write ok" or x.startswith("write ok") for p in (a, b) for t, x in p.lines() if t > t3):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("no leader writes after etcd came back:\n" + a.tail() + "\n" + b.tail())
        acting = [p.name for p in (a, b) if p.acting()]
        if len(acting) != 1:
            raise AssertionError(f"after recovery, acting: {acting}")
        print(f"    recovered: {acting[0]} leads")


def test_etcd_auth_token_and_reauthentication(ctx):
    """etcd with auth on and a role limited to the prefix: the probe authenticates (token as "Authorization"), leads
    and writes; a wrong password leaves it unavailable saying "authentication failed"; every etcd member restarted
    (their tokens forgotten: 401 "invalid auth token") → it authenticates again by itself and leads again."""
    pw = os.path.join(ctx.dir, "etcd.pass")
    bad = os.path.join(ctx.dir, "bad.pass")
    with open(pw, "w") as f:
        f.write("s3cret pw\n")
    with open(bad, "w") as f:
        f.write("wrong\n")
    with Cluster(probe_binary(ctx), ctx.dir) as c:
        c.etcd.enable_auth("blfailoverd", "s3cret pw")
        a = c.probe("mon-a", args=("--user", "blfailoverd", "--password-file", pw))
        a.wait(r"^acting 1$", 10)
        a.wait(r"^write ok", 5)
        a.wait(r"^keepalive .* auth=1$", 5)
        x = c.probe("mon-x", args=("--user", "blfailoverd", "--password-file", bad))
        x.wait(r"^state unavailable reason=.*authentication failed", 3 * TTL)
        if x.acting():
            raise AssertionError("a member with a wrong password acts")
        t = boottime()
        for i in range(3):
            c.etcd.kill(i)
        for i in range(3):
            c.etcd.start(i)
        c.etcd.wait_healthy(20)
        a.wait(r"^keepalive .* auth=[2-9]", 4 * TTL, since=t)
        a.wait(r"^write ok", 4 * TTL, since=t)
        if not a.acting():
            raise AssertionError("mon-a does not act after re-authenticating:\n" + a.tail())
        if not (c.etcd.get("/record") or "").startswith("writer mon-a "):
            raise AssertionError("record not written by mon-a")


def test_etcd_tls_with_client_certificates(ctx):
    """etcd over https requiring client certificates: with the CA, certificate and key passed through etcd.c to
    curl the probe leads and writes; without a client certificate every endpoint refuses it and it says so
    (unavailable, no action)."""
    certs = Certs(ctx.dir)
    eps = ",".join(f"https://{HOST}:{p}" for p in CLIENT)
    with Cluster(probe_binary(ctx), ctx.dir, tls=certs) as c:
        a = c.probe("mon-a", endpoints=eps, args=("--ca-file", certs.ca, "--cert-file", certs.client_cert,
                                                  "--key-file", certs.client_key))
        a.wait(r"^acting 1$", 10)
        a.wait(r"^write ok", 5)
        n = c.probe("mon-n", endpoints=eps, args=("--ca-file", certs.ca))
        n.wait(r"^state unavailable reason=.*127\.0\.0\.1:2544[024]", 3 * TTL)
        if n.acting() or not (c.etcd.get("/record") or "").startswith("writer mon-a "):
            raise AssertionError("without a client certificate mon-n acts, or the record is not mon-a's")


def _command_keys(c):
    _, r = c.etcd.call("/v3/kv/range", {"key": b64(PREFIX + "/commands/"), "range_end": b64(PREFIX + "/commands0")})
    return [base64.b64decode(kv["key"]).decode() for kv in r.get("kvs") or []]


def test_etcd_forwarded_commands(ctx):
    """memcmd.c on both sides: with no leader a forwarded command is refused at once (75, "no leader"); mon-a
    leads and serves; mon-b's command is carried out by mon-a: its 7 lines relayed once each, in order, log and
    out kept apart, exit 3 carried, the key deleted after; an old epoch is refused (75, "roles changed"); mon-a
    killed mid-command → the requester says the leader lost the lease and exits 1. Requesters never campaign."""
    with Cluster(probe_binary(ctx), ctx.dir) as c:
        x = c.probe("mon-x", args=("--no-campaign", "--command", "1 pause lines=1 exit=0 every=50"))
        t, _ = x.wait(r"^forward ", 15)
        t_exit, _ = x.wait(r"^relay exit 75$", 2, since=t)
        x.wait(r"^relay log error: refused: the cluster has no leader \(etcd: no member holds the leader key\)", 1)
        print(f"    no leader: refused after {(t_exit - t) * 1000:.0f} ms")
        a = c.probe("mon-a", args=("--serve",))
        a.wait(r"^acting 1$", 10)
        b = c.probe("mon-b", args=("--no-campaign", "--command", "1 pause lines=7 exit=3 every=150"))
        t_fwd, _ = b.wait(r"^forward ", 10)
        t_done, _ = b.wait(r"^relay exit 3$", 20)
        print(f"    forwarded command of 7 lines × 150 ms: {t_done - t_fwd:.2f} s from asking to exit")
        relayed = [x for _, x in b.lines() if x.startswith("relay ") and " line " in x]
        expected = [f"relay log notice: line {i}" if i % 2 else f"relay out line {i}" for i in range(1, 8)]
        if relayed != expected:
            raise AssertionError(f"relayed lines {relayed} != {expected}")
        a.wait(r"^serve uid=\d+ pid=\d+ pause lines=7", 1)
        a.wait(r"^served exit 3$", 1)
        deadline = time.monotonic() + 3
        while _command_keys(c) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _command_keys(c):
            raise AssertionError(f"command keys left after the exit: {_command_keys(c)}")
        e = c.probe("mon-e", args=("--no-campaign", "--epoch", "6", "--command", "1 pause lines=1 exit=0 every=50"))
        e.wait(r"^relay exit 75$", 15)
        e.wait(r"^relay log error: refused: the roles changed since you asked \(epoch 6 → 7\)", 1)
        if any(x.startswith("serve ") and "lines=1 " in x for _, x in a.lines()):
            raise AssertionError("mon-a ran a command asked for in another epoch")
        d = c.probe("mon-d", args=("--no-campaign", "--command", "1 pause lines=100 exit=0 every=200"))
        d.wait(r"^relay out line 2$", 15)
        t_kill = boottime()
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        t_lost, _ = d.wait(r"^relay exit 1$", TTL + 5, since=t_kill)
        d.wait(r"^relay log error: leader mon-a lost the lease mid-command; the next leader resumes the journal", 1)
        print(f"    leader killed mid-command: the requester said so {t_lost - t_kill:.2f} s later")
        seqs = [x for _, x in d.lines() if x.startswith("relay ") and " line " in x]
        if len(seqs) != len(set(seqs)):
            raise AssertionError(f"a line relayed twice: {seqs}")


class _StandaloneCtx:
    def __init__(self, probe, d):
        self.bin = os.path.join(os.path.dirname(os.path.abspath(probe)), "blfailoverd")
        self.dir = d


def _main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", required=True)
    ap.add_argument("-k", default="")
    a = ap.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import topology     # the machine-wide lock: the ports are shared with other runs (observability's too)
    with topology._topology_lock(print):
        return _run(a)


def _run(a):
    failed = 0
    for name, fn in [(n, f) for n, f in globals().items() if n.startswith("test_etcd") and a.k in n]:
        d = tempfile.mkdtemp(prefix="blf-etcd-")
        t0 = time.monotonic()
        try:
            fn(_StandaloneCtx(a.probe, d))
            print(f"PASS {name} ({time.monotonic() - t0:.1f}s)", flush=True)
            shutil.rmtree(d, ignore_errors=True)
        except AssertionError as e:
            failed += 1
            print(f"FAIL {name}: {e}\n  (kept {d})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
