#!/usr/bin/python3
"""Captures the real answers of Debian's etcd 3.4 JSON gateway that tests/unit/test_etcdmsg.c parses.

Starts a 3-member etcd on 127.0.0.1 (clients 25440/25442/25444, peers 25441/25443/25445) with its data in a temp
dir, sends each request of docs/design/cluster.md §6 with urllib (no proxy), and writes every answer's body to
NAME.json next to this script and "NAME STATUS" lines to answers.txt. Then auth (enabled, captured, disabled) and
quorum loss (two members SIGKILLed). Members are stopped by PID, also on failure.
Run: /usr/bin/python3 tests/unit/data/etcd/capture.py   (takes ~30 s: answers without quorum take ~6 s each)
"""
import base64, json, os, shutil, signal, subprocess, sys, tempfile, time, urllib.error, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = [25440, 25442, 25444]
PEER = [25441, 25443, 25445]
PREFIX = "/blfailoverd/a+b"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
answers = []


def b64(s):
    return base64.b64encode(s.encode()).decode()


def call(name, path, body, port=CLIENT[0], token=None, timeout=15, method="POST"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", token)
    t = time.monotonic()
    try:
        with OPENER.open(req, timeout=timeout) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    ms = (time.monotonic() - t) * 1000
    if name:
        with open(os.path.join(HERE, name + ".json"), "wb") as f:
            f.write(text)
        answers.append(f"{name} {status}")
        print(f"{name}: {status} {ms:.1f} ms {text[:160]!r}")
    return status, json.loads(text) if text else None


def start(tmp, procs):
    cluster = ",".join(f"e{i}=http://127.0.0.1:{PEER[i]}" for i in range(3))
    for i in range(3):
        args = ["etcd", "--name", f"e{i}", "--data-dir", os.path.join(tmp, f"e{i}"),
                "--listen-client-urls", f"http://127.0.0.1:{CLIENT[i]}",
                "--advertise-client-urls", f"http://127.0.0.1:{CLIENT[i]}",
                "--listen-peer-urls", f"http://127.0.0.1:{PEER[i]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{PEER[i]}",
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", os.path.basename(tmp),
                "--heartbeat-interval", "50", "--election-timeout", "500", "--logger", "zap",
                "--log-outputs", "stderr"]
        log = open(os.path.join(tmp, f"e{i}.log"), "wb")
        procs.append(subprocess.Popen(args, stdout=log, stderr=log))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if call(None, "/v3/kv/range", {"key": b64("x")}, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("etcd did not become ready")


def admin(path, body, token=None):
    """etcd's own admin calls through the gateway (etcdctl is in etcd-client, not needed here)."""
    status, _ = call(None, "/v3/auth/" + path, body, token=token)
    if status != 200:
        raise SystemExit(f"auth/{path}: HTTP {status}")


def plain():
    L, R, P, P0 = b64(PREFIX + "/leader"), b64(PREFIX + "/record"), b64(PREFIX + "/"), b64(PREFIX + "0")
    call("version", "/version", None, method="GET")
    _, g = call("grant", "/v3/lease/grant", {"TTL": "30"})
    lid = g["ID"]
    call("keepalive_ok", "/v3/lease/keepalive", {"ID": lid})
    call("timetolive", "/v3/lease/timetolive", {"ID": lid})
    call("range_empty", "/v3/kv/range", {"key": P, "range_end": P0})
    campaign = lambda lease: {
        "compare": [{"key": L, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
        "success": [{"request_put": {"key": L, "value": b64("mon-a"), "lease": lease}}],
        "failure": [{"request_range": {"key": L}}]}
    call("campaign_won", "/v3/kv/txn", campaign(lid))
    _, g2 = call(None, "/v3/lease/grant", {"TTL": "30"})
    call("campaign_lost", "/v3/kv/txn", campaign(g2["ID"]))
    guarded = lambda lease, rev: {
        "compare": [{"key": L, "target": "LEASE", "result": "EQUAL", "lease": lease},
                    {"key": R, "target": "MOD", "result": "EQUAL", "mod_revision": rev}],
        "success": [{"request_put": {"key": R, "value": b64("record text\n")}}],
        "failure": [{"request_range": {"key": L}}, {"request_range": {"key": R}}]}
    call("guarded_ok", "/v3/kv/txn", guarded(lid, "0"))
    call("guarded_moved", "/v3/kv/txn", guarded(lid, "0"))
    call("guarded_deposed", "/v3/kv/txn", guarded(g2["ID"], "0"))
    call("put_view", "/v3/kv/put", {"key": b64(PREFIX + "/views/mon-b"), "value": b64('{"v":1}'),
                                    "lease": g2["ID"]})
    call("range_prefix", "/v3/kv/range", {"key": P, "range_end": P0})
    # a view put asking for the key as it was (prev_kv): a fresh key has none; then the one before, with its lease
    # (after range_prefix: that answer keeps its keys)
    call("put_view_new", "/v3/kv/put", {"key": b64(PREFIX + "/views/mon-c"), "value": b64('{"v":1}'),
                                        "lease": g2["ID"], "prev_kv": True})
    call("put_view_prev", "/v3/kv/put", {"key": b64(PREFIX + "/views/mon-c"), "value": b64('{"v":2}'),
                                         "prev_kv": True})
    call("revoke", "/v3/lease/revoke", {"ID": g2["ID"]})
    call("keepalive_lost", "/v3/lease/keepalive", {"ID": g2["ID"]})
    call("timetolive_gone", "/v3/lease/timetolive", {"ID": g2["ID"]})
    call("put_lease_not_found", "/v3/kv/put", {"key": b64(PREFIX + "/views/mon-b"), "value": b64("x"),
                                               "lease": g2["ID"]})
    call("deleterange", "/v3/kv/deleterange", {"key": b64(PREFIX + "/views/mon-b")})
    call("auth_not_enabled", "/v3/auth/authenticate", {"name": "blfailoverd", "password": "pw"})
    return lid


def auth():
    admin("user/add", {"name": "root", "password": "rootpw"})
    admin("user/grant", {"user": "root", "role": "root"})
    admin("user/add", {"name": "blfailoverd", "password": "pw"})
    admin("role/add", {"name": "blf"})
    admin("role/grant", {"name": "blf", "perm": {"permType": "READWRITE", "key": b64(PREFIX + "/"),
                                                 "range_end": b64(PREFIX + "0")}})
    admin("user/grant", {"user": "blfailoverd", "role": "blf"})
    admin("enable", {})
    _, t = call("authenticate", "/v3/auth/authenticate", {"name": "blfailoverd", "password": "pw"})
    call("auth_failed", "/v3/auth/authenticate", {"name": "blfailoverd", "password": "wrong"})
    call("auth_empty", "/v3/kv/range", {"key": b64(PREFIX + "/leader")})
    call("auth_invalid_token", "/v3/kv/range", {"key": b64(PREFIX + "/leader")}, token="bogus.1")
    call("permission_denied", "/v3/kv/range", {"key": b64("/other")}, token=t["token"])
    call("auth_range_ok", "/v3/kv/range", {"key": b64(PREFIX + "/leader")}, port=CLIENT[1], token=t["token"])
    _, root = call(None, "/v3/auth/authenticate", {"name": "root", "password": "rootpw"})
    admin("disable", {}, token=root["token"])


def no_quorum(procs, lid):
    for p in procs[1:]:
        p.send_signal(signal.SIGKILL)
        p.wait()
    time.sleep(1.5)
    call("keepalive_no_leader", "/v3/lease/keepalive", {"ID": lid})
    call("range_no_quorum", "/v3/kv/range", {"key": b64(PREFIX + "/leader")})
    call("txn_no_quorum", "/v3/kv/txn", {"success": [{"request_put": {"key": b64(PREFIX + "/x"),
                                                                        "value": b64("x")}}]})


def main():
    tmp = tempfile.mkdtemp(prefix="blf-etcd-capture-")
    procs = []
    try:
        start(tmp, procs)
        lid = plain()
        auth()
        no_quorum(procs, lid)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(HERE, "answers.txt"), "w") as f:
        f.write("# NAME HTTP-STATUS, captured from " + subprocess.run(
            ["etcd", "--version"], capture_output=True, text=True).stdout.splitlines()[0] + "\n")
        f.write("\n".join(answers) + "\n")


if __name__ == "__main__":
    sys.exit(main())
