"""scenarios_lifecycle: the pair's whole life (issue 12) on a symmetric PostgreSQL pair a/b (topology.LifecyclePair,
ports 25450/25451) under a writer committing a row every 10 ms (tests/integration/pgwriter.c).

Two kinds of scenario live here:
- test_fixture_*: the operations done by hand from Python, step by step (docs/design/lifecycle.md §3.1, §3.2), to
  prove the fixture and the sequence before the daemon does them: a clean switchover loses no acknowledged row and
  needs no rewind; a diverged old primary is rewound and the discarded commits are counted.
- the daemon's scenarios (§4.2), written against `blfailoverd --switchover` / `--rejoin`; the names in PENDING are
  not run until the lead's code lands (run.py skips them; `run.py --pending` runs them): remove a name from
  PENDING when its command exists.

Every step is a small function (manual_*) so a scenario can replace one of them by the daemon's command.
"""
import os

import topology as T
from topology import LOG  # noqa: F401 -- the log contract, for the daemon scenarios

# The daemon scenarios that wait for `blfailoverd --switchover` / `--rejoin` (the lead's branch).
PENDING = ()

K_DIVERGED = 37         # rows committed on the old primary after the standby was cut off


def say(msg):
    print(f"    {msg}", flush=True)


def writer_bin(ctx):
    return os.path.join(os.path.dirname(ctx.bin), "pgwriter")


def new_pair(ctx, **kw):
    return T.LifecyclePair(ctx.dir, ctx.topo.sshd, **kw)


def new_writer(ctx, pair, name="writer", interval_ms=10):
    """A writer on both ports (libpq finds the writable one) into a fresh table created on the current primary."""
    table = T.create_writer_table(pair, pair.primaries()[0])
    return T.Writer(writer_bin(ctx), pair.writer_conninfo(), table, os.path.join(ctx.dir, f"{name}.out"),
                    interval_ms=interval_ms)


# ---------------------------------------------------------------------------------------------------------------
# The steps, by hand (what the daemon's steps do)


def manual_stop_clean(pair, node, checkpoint=True):
    """SW_CHECKPOINT + SW_STOP_OLD + SW_CONTROLDATA: returns (L, TLI) of node's shutdown checkpoint."""
    if checkpoint:
        pair.checkpoint(node)
    pair.stop_node(node, "fast")
    cd = pair.controldata(node)
    if cd.get("Database cluster state") != "shut down":
        raise AssertionError(f"{node} after pg_ctl stop -m fast: cluster state {cd.get('Database cluster state')!r}")
    return cd["Latest checkpoint location"], int(cd["Latest checkpoint's TimeLineID"])


def manual_new_primary_checkpoint(pair, node, timeout=30):
    """RJ_NEW_CHECKPOINT: CHECKPOINT until pg_control names the current timeline (pg_rewind ≤ 15 reads it)."""
    def done():
        pair.checkpoint(node)
        return pair.timeline_checkpointed(node)
    T.wait_until(done, timeout, f"{node}'s pg_control to name its new timeline", interval=0.1)


def manual_rewind_and_follow(pair, target, source, expect, stream_timeout=30):
    """RJ_REWIND + RJ_START + RJ_STREAMING: pg_rewind -R target from source (expect "none" or "diverged"), start
    it, wait until it streams. Returns the pg_rewind verdict."""
    rc, out, verdict = pair.rewind(target, source)
    kind = verdict if verdict in ("none", None) else verdict[0]
    if rc != 0 or kind != expect:
        raise AssertionError(f"pg_rewind {target} from {source}: exit {rc}, expected {expect!r}, got {verdict!r}:\n"
                             f"{out}")
    pair.start_node(target)
    if pair.in_recovery(target) is not True:
        raise AssertionError(f"{target} started after pg_rewind -R but is not a standby")
    pair.wait_streams(source, target, stream_timeout)
    return verdict


def manual_switchover(pair, old, new, catch_up_timeout=10):
    """§3.1 steps 4, 6–9 and 12–18 by hand: the old primary stops cleanly, the standby replays its shutdown
    checkpoint, is promoted, the old one is rewound ("no rewind required") and follows. Returns figures."""
    f = {}
    pair.checkpoint(old)
    t0 = T.now_us()
    L, tli = manual_stop_clean(pair, old, checkpoint=False)
    f["checkpoint"], f["old_tli"] = L, tli
    t1 = T.now_us()
    f["replayed"] = pair.wait_replayed_past(new, L, catch_up_timeout)
    t2 = T.now_us()
    pair.promote(new)
    f["promoted_at_us"] = t3 = T.now_us()
    f["steps_ms"] = {"stop+controldata": (t1 - t0) // 1000, "catch_up": (t2 - t1) // 1000,
                     "promote": (t3 - t2) // 1000}
    manual_new_primary_checkpoint(pair, new)
    manual_rewind_and_follow(pair, old, new, "none")
    return f


def manual_crash_recover(pair, node):
    """RJ_RECOVER: a crashed node (state in production) gets single-user crash recovery, so its pg_control ends
    on a shutdown checkpoint at the end of its WAL. Returns (L, TLI)."""
    cd = pair.controldata(node)
    if cd["Database cluster state"] in ("in production", "in crash recovery"):
        pair.single_user_recovery(node)
        cd = pair.controldata(node)
    if cd["Database cluster state"] != "shut down":
        raise AssertionError(f"{node} after single-user recovery: state {cd['Database cluster state']!r}")
    return cd["Latest checkpoint location"], int(cd["Latest checkpoint's TimeLineID"])


def manual_discarded(pair, target, source, L, tli):
    """RJ_REWIND_DRY + RJ_REPORT: the fork LSN F (pg_rewind --dry-run), the end E of target's last checkpoint
    record, and the commits in target's WAL [F, E) that the rewind will throw away."""
    rc, out, verdict = pair.rewind(target, source, dry_run=True)
    if rc != 0 or not verdict or verdict == "none":
        raise AssertionError(f"pg_rewind --dry-run {target} from {source}: exit {rc}, verdict {verdict!r}:\n{out}")
    fork = verdict[1]
    end = pair.checkpoint_end(target, tli, L)
    counts = pair.commit_counts(target, tli, fork, end)
    return {"fork": fork, "fork_tli": verdict[2], "end": end, "bytes": T.lsn_int(end) - T.lsn_int(fork),
            "commits": counts["COMMIT"], "aborts": counts["ABORT"]}


def manual_rejoin_diverged(pair, old, new):
    """§3.2 by hand after a failover onto `new`: recover old, report what the rewind discards, rewind, follow."""
    L, tli = manual_crash_recover(pair, old)
    manual_new_primary_checkpoint(pair, new)
    report = manual_discarded(pair, old, new, L, tli)
    verdict = manual_rewind_and_follow(pair, old, new, "diverged")
    if verdict[1] != report["fork"]:
        raise AssertionError(f"pg_rewind forked at {verdict[1]}, its dry run said {report['fork']}")
    return report


def diverge_and_fail_over(pair, primary, standby, k, table="blf_lost"):
    """Cut standby off, commit k rows (k transactions) on primary only, SIGKILL primary, promote standby: the
    failover that loses exactly those k commits."""
    pair.sql(primary, f"CREATE TABLE {table} (seq bigint)")
    pair.wait_caught_up(primary, standby)
    pair.cut_off(standby)
    pair.sql_script(primary, [f"INSERT INTO {table}(seq) VALUES ({i});" for i in range(1, k + 1)])
    if pair.sql(primary, f"select count(*) from {table}") != str(k):
        raise AssertionError(f"{primary} does not hold the {k} rows")
    pair.kill9(primary)
    pair.promote(standby)
    return table


def window_line(wlog, pair, old, new):
    secs, _, _ = wlog.window(pair.ports[old], pair.ports[new])
    return secs, (f"{old}→{new}: write window {secs * 1000:.0f} ms (last ack on {old} → first ack on {new}); "
                  f"writer {wlog.summary()}")


# ---------------------------------------------------------------------------------------------------------------
# Fixture scenarios (by hand)


def test_fixture_manual_switchover(ctx):
    """a→b and back b→a by hand under a writer at 10 ms: no rewind needed, 0 acked rows missing, the demoted node
    streams; prints the write window of each direction."""
    with new_pair(ctx) as pair, new_writer(ctx, pair) as w:
        w.wait_acks(50, port=pair.ports["a"])
        figs = manual_switchover(pair, "a", "b")
        w.wait_acks(50, port=pair.ports["b"])
        secs_ab, line = window_line(w.log(), pair, "a", "b")
        say(line + f"; a's final checkpoint {figs['checkpoint']}, b replayed to {figs['replayed']}; by hand "
            f"(ms, each a process spawn): {figs['steps_ms']}")
        T.check_invariants(pair, w.log(), w.argv[-1], demoted="a", promoted_at_us=figs["promoted_at_us"])

        figs = manual_switchover(pair, "b", "a")
        w.wait_acks(50, port=pair.ports["a"])
        wlog = w.finish()
        secs_ba, line = window_line(wlog, pair, "b", "a")
        say(line + f"; by hand (ms): {figs['steps_ms']}")
        inv = T.check_invariants(pair, wlog, w.argv[-1], demoted="b", promoted_at_us=figs["promoted_at_us"])
        ctx.expect_eq(inv["primary"], "a", "primary after a→b→a")
        say(f"invariants: {inv}")
        for secs, d in ((secs_ab, "a→b"), (secs_ba, "b→a")):
            ctx.expect(secs < 10, f"{d}: write window {secs:.2f}s (by hand it should take well under 10 s)")


def test_fixture_manual_rejoin_diverged(ctx):
    """b cut off, K rows committed on a only, a SIGKILLed, b promoted; a recovered in single-user mode, rewound
    ("servers diverged"), the discarded WAL holds exactly K commits; a streams from b; the K rows are gone."""
    with new_pair(ctx) as pair:
        table = diverge_and_fail_over(pair, "a", "b", K_DIVERGED)
        report = manual_rejoin_diverged(pair, "a", "b")
        say(f"a's timeline {report['fork_tli']} forked at {report['fork']}; discarded {report['fork']}–"
            f"{report['end']} ({report['bytes']} bytes of WAL, {report['commits']} committed transactions, "
            f"{report['aborts']} aborted)")
        ctx.expect_eq(report["commits"], K_DIVERGED, "Transaction/COMMIT records in the discarded WAL")
        ctx.expect(report["bytes"] > 0, f"discarded range is empty: {report}")
        ctx.expect_eq(pair.sql("b", f"select count(*) from {table}"), "0", f"rows of {table} on b")
        pair.wait_caught_up("b", "a")
        ctx.expect_eq(pair.sql("a", f"select count(*) from {table}"), "0", f"rows of {table} on a after the rewind")
        T.check_invariants(pair, None, table)


# ---------------------------------------------------------------------------------------------------------------
# The daemon's scenarios (PENDING until `--switchover` / `--rejoin` exist)


def lifecycle_config(ctx, pair, **health):
    """The sites form (docs/design/lifecycle.md §1) over this topology: site a = the active stand-in's API and
    nginx server, site b = the standby's; both databases reached over the sshd; stacks recorded by the docker
    stand-in with {role}; failover by pg_promote."""
    cfg = ctx.config(**health)
    for key in ("active", "standby"):
        cfg.pop(key)
    fo = cfg["failover"]
    for key in ("active_server", "standby_server"):
        fo["nginx"].pop(key)
    fo.pop("standby_stack")
    fo["promote"] = {"method": "pg_promote", "timeout": "15s"}
    rec = ctx.topo.recorder.wrapper
    compose = ["compose", "-f", "/srv/blacklake/docker-compose.{role}.yml"]

    def site(node, api, server):
        return {"name": node, "health_url": f"http://{server}/health", "nginx_server": server,
                "database": pair.site_database(node),
                "stack": {"start": {"command": [rec, *compose, "up", "-d"], "timeout": "30s"},
                          "stop": {"command": [rec, *compose, "down"], "timeout": "30s"}}}
    cfg["sites"] = [site("a", T.ACTIVE_NAME, T.ACTIVE_SERVER), site("b", T.STANDBY_NAME, T.STANDBY_SERVER)]
    cfg["serves_first"] = "a"
    cfg["switchover"] = {"max_lag": "1s", "catch_up_timeout": "10s", "stream_timeout": "60s"}
    cfg["rejoin"] = {"stream_timeout": "60s"}
    return cfg


def lifecycle_daemon(ctx, cfg, serving="a"):
    """The daemon on the sites form: its targets carry the site names (\"active a\", \"standby b\")."""
    d = ctx.daemon(cfg, ready=False)
    standby = "b" if serving == "a" else "a"
    ctx.wait_ready(d, active=f"active {serving}: healthy", standby=f"standby {standby}: healthy")
    return d


def read_record(ctx):
    """STATE_DIR/state as {key: value} for its single-valued lines (serving, epoch, latch, op, op_outcome, …)."""
    rec = {}
    with open(ctx.state_file, encoding="utf-8") as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(" ")
            if k not in ("step", "fact", "end") and k not in rec:
                rec[k] = v
    return rec


def expect_roles(ctx, serving, epoch, latch="none"):
    rec = read_record(ctx)
    ctx.expect_eq((rec.get("serving"), rec.get("epoch"), rec.get("latch")), (serving, str(epoch), latch),
                  "record (serving, epoch, latch)")


def expect_nginx_serves(ctx, serving):
    """nginx sends traffic to `serving` and keeps the other site as `backup` (a switchover's upstream)."""
    names = {"a": (T.ACTIVE_SERVER, T.ACTIVE_NAME), "b": (T.STANDBY_SERVER, T.STANDBY_NAME)}
    server, api = names[serving]
    other, _ = names["b" if serving == "a" else "a"]
    ctx.topo.nginx.wait_served_by(api, ctx.t(10))
    params = dict(T.upstream_servers(ctx.site().decode("utf-8", "replace")))
    ctx.expect("backup" not in params[server] and "down" not in params[server], f"{server}: {params}")
    ctx.expect("backup" in params[other], f"{other} is not `backup`: {params}")


def switchover(ctx, pair, w, old, new, epoch):
    """One `blfailoverd --switchover` under the writer; returns the write window in seconds."""
    r = ctx.cli(*T.ARGS_SWITCHOVER, timeout=120)
    ctx.expect_rc(r, T.EXIT_OK, f"--switchover {old}→{new}")
    w.wait_acks(30, port=pair.ports[new])
    secs, line = window_line(w.log(), pair, old, new)
    say(line + f"; command took {r.duration:.2f}s")
    expect_roles(ctx, new, epoch)
    expect_nginx_serves(ctx, new)
    T.check_invariants(pair, w.log(), w.argv[-1])
    return secs


def test_switchover_a_b_a_zero_loss(ctx):
    """§4.2 (1): --switchover a→b then b→a under the writer at 10 ms: exit 0, 0 acked rows missing, nginx follows,
    record epoch 1/2 latch none, the demoted node streams; then a real fault on a fails over to b."""
    with new_pair(ctx) as pair:
        ctx.write_config(lifecycle_config(ctx, pair))
        with new_writer(ctx, pair) as w:
            w.wait_acks(50, port=pair.ports["a"])
            switchover(ctx, pair, w, "a", "b", 1)
            switchover(ctx, pair, w, "b", "a", 2)
            wlog = w.finish()
        T.check_invariants(pair, wlog, w.argv[-1])
        # afterwards a real fault fails over in the current direction (a serves: to b)
        d = lifecycle_daemon(ctx, lifecycle_config(ctx, pair), serving="a")
        ctx.topo.active.set_mode("500")
        pair.kill9("a")
        d.wait_log(LOG.SUCCEEDED, ctx.t(30))
        expect_roles(ctx, "b", 3, "failover")
        ctx.expect(pair.is_primary("b"), "b is not the primary after the failover")


def test_rejoin_diverged_reports_discarded(ctx):
    """§4.2 (3): the daemon fails over to b after a was SIGKILLed with K rows b never got; --rejoin rewinds a,
    reports the fork and K discarded commits, a streams from b; then a fault on b fails over back to a."""
    with new_pair(ctx) as pair:
        d = lifecycle_daemon(ctx, lifecycle_config(ctx, pair))
        table = "blf_lost"
        pair.sql("a", f"CREATE TABLE {table} (seq bigint)")
        pair.wait_caught_up("a", "b")
        pair.cut_off("b")
        pair.sql_script("a", [f"INSERT INTO {table}(seq) VALUES ({i});" for i in range(1, K_DIVERGED + 1)])
        ctx.topo.active.set_mode("500")
        pair.kill9("a")
        d.wait_log(LOG.SUCCEEDED, ctx.t(30))
        expect_roles(ctx, "b", 1, "failover")
        r = ctx.cli(*T.ARGS_REJOIN, timeout=300)
        ctx.expect_rc(r, T.EXIT_OK, "--rejoin")
        out = r.stdout + r.stderr + d.text()
        ctx.expect("discarded" in out, "--rejoin did not report the discarded range")
        ctx.expect(f"{K_DIVERGED} committed transactions" in out,
                   f"--rejoin did not count {K_DIVERGED} discarded commits")
        expect_roles(ctx, "b", 1, "none")
        pair.wait_caught_up("b", "a")
        ctx.expect_eq(pair.sql("a", f"select count(*) from {table}"), "0", "the discarded rows on a")
        T.check_invariants(pair, None, table)
        # a second failover, back to a
        ctx.topo.active.set_mode("ok")
        ctx.topo.standby.set_mode("500")
        mark = d.mark()
        pair.kill9("b")
        d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=mark)
        ctx.expect(pair.is_primary("a"), "a is not the primary after the failover back")


def test_rejoin_refused_while_writable(ctx):
    """§4.2 (4): a forced failover leaves a alive and writable beside the promoted b; --rejoin refuses (exit 3) with
    the sentence that says to fence a first, and changes nothing: a's postmaster, its pg_control and the record
    are as before; then, a fenced (stopped), --rejoin rewinds it and the pair streams."""
    with new_pair(ctx) as pair:
        ctx.write_config(lifecycle_config(ctx, pair))
        pair.sql("a", "CREATE TABLE blf_kept (seq bigint)")
        pair.wait_caught_up("a", "b")
        r = ctx.cli(*T.ARGS_ONCE, *T.ARGS_FORCE, timeout=120)
        ctx.expect_rc(r, T.EXIT_OK, "--once --force")
        ctx.expect(pair.is_primary("a") and pair.is_primary("b"), "the forced failover should leave two primaries")
        pid, cd = pair.postmaster_pid("a"), pair.controldata("a")
        with open(ctx.state_file, "rb") as f:
            record = f.read()
        r = ctx.cli(*T.ARGS_REJOIN, timeout=120)
        ctx.expect_rc(r, T.EXIT_REFUSED, "--rejoin while a is writable")
        out = r.stdout + r.stderr
        ctx.expect("rejoin refused: a answers as a writable primary (127.0.0.1): fence it first "
                   "(sites[0].database.commands.stop, or your fence), then run --rejoin again; nothing was changed"
                   in out, f"the refusal sentence is missing:\n{out}")
        ctx.expect_eq(pair.postmaster_pid("a"), pid, "a's postmaster PID")
        ctx.expect(pair.is_primary("a"), "a is no longer a primary after a refused --rejoin")
        for key in ("Database cluster state", "Latest checkpoint location", "Latest checkpoint's TimeLineID"):
            ctx.expect_eq(pair.controldata("a")[key], cd[key], f"a's pg_controldata {key}")
        with open(ctx.state_file, "rb") as f:
            ctx.expect(f.read() == record, "the record changed on a refused --rejoin")
        # fenced, it rejoins
        pair.stop_node("a")
        r = ctx.cli(*T.ARGS_REJOIN, timeout=300)
        ctx.expect_rc(r, T.EXIT_OK, "--rejoin after a was fenced")
        expect_roles(ctx, "b", 1, "none")
        pair.wait_caught_up("b", "a")
        T.check_invariants(pair, None, "blf_kept")


def file_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def test_switchover_and_rejoin_drills_change_nothing(ctx):
    """The drill forms (--switchover --drill, --rejoin --drill) run every check that changes nothing and end with a
    verdict: PROCEED on a healthy pair, HELD when a check says no (the standby API failing; nothing to rejoin; the
    old primary still writable), and neither the record, the nginx file nor either database changes."""
    with new_pair(ctx) as pair:
        ctx.write_config(lifecycle_config(ctx, pair))
        pair.wait_caught_up("a", "b")
        site_before, pid_a, pid_b = ctx.site(), pair.postmaster_pid("a"), pair.postmaster_pid("b")

        def unchanged(what):
            ctx.expect(ctx.site() == site_before, f"{what}: the nginx site file changed")
            ctx.expect(file_bytes(ctx.state_file) is None, f"{what}: a record was written")
            ctx.expect_eq((pair.postmaster_pid("a"), pair.postmaster_pid("b")), (pid_a, pid_b),
                          f"{what}: a postmaster changed")
            ctx.expect(pair.is_primary("a") and not pair.is_primary("b"), f"{what}: the roles changed")

        r = ctx.cli(*T.ARGS_SWITCHOVER, "--drill", timeout=60)
        ctx.expect_rc(r, T.EXIT_OK, "--switchover --drill on a healthy pair")
        ctx.expect("drill verdict: PROCEED" in r.stdout, f"no PROCEED verdict:\n{r.stdout}\n{r.stderr}")
        ctx.expect("new_rewindable" in r.stderr and "wal_log_hints on" in r.stderr,
                   f"the drill did not read both databases' pg_controldata:\n{r.stderr}")
        unchanged("--switchover --drill")

        ctx.topo.standby.set_mode("500")
        r = ctx.cli(*T.ARGS_SWITCHOVER, "--drill", timeout=60)
        ctx.expect_rc(r, T.EXIT_REFUSED, "--switchover --drill with the standby API failing")
        ctx.expect("drill verdict: HELD" in r.stdout, f"no HELD verdict:\n{r.stdout}")
        ctx.topo.standby.set_mode("ok")
        unchanged("--switchover --drill, standby failing")

        r = ctx.cli(*T.ARGS_REJOIN, "--drill", timeout=60)
        ctx.expect_rc(r, T.EXIT_REFUSED, "--rejoin --drill on an armed pair")
        ctx.expect("nothing to rejoin" in r.stderr, f"the refusal does not say why:\n{r.stderr}")
        unchanged("--rejoin --drill, armed")

        # a forced failover leaves a writable: the rejoin's drill holds, and changes nothing on a
        r = ctx.cli(*T.ARGS_ONCE, *T.ARGS_FORCE, timeout=120)
        ctx.expect_rc(r, T.EXIT_OK, "--once --force")
        record = file_bytes(ctx.state_file)
        pid_a = pair.postmaster_pid("a")
        r = ctx.cli(*T.ARGS_REJOIN, "--drill", timeout=60)
        ctx.expect_rc(r, T.EXIT_REFUSED, "--rejoin --drill while a is writable")
        ctx.expect("answers as a writable primary" in r.stderr, f"no fence sentence:\n{r.stderr}")
        ctx.expect(file_bytes(ctx.state_file) == record, "--rejoin --drill changed the record")
        ctx.expect_eq(pair.postmaster_pid("a"), pid_a, "a's postmaster after --rejoin --drill")
        pair.stop_node("a")
        r = ctx.cli(*T.ARGS_REJOIN, "--drill", timeout=60)
        ctx.expect_rc(r, T.EXIT_OK, "--rejoin --drill with a fenced")
        ctx.expect("drill verdict: PROCEED" in r.stdout, f"no PROCEED verdict:\n{r.stdout}")
        ctx.expect(file_bytes(ctx.state_file) == record, "--rejoin --drill changed the record")
        ctx.expect(pair.postmaster_pid("a") is None, "the rejoin's drill started a")


def test_switchover_refused_not_rewindable(ctx):
    """pg_rewind needs wal_log_hints or data checksums on its target even when it has nothing to rewind: without
    them the switchover would fail after its promotion, so its checklist refuses (exit 3) and nothing changes."""
    with new_pair(ctx, wal_log_hints=False) as pair:
        ctx.write_config(lifecycle_config(ctx, pair))
        pair.wait_caught_up("a", "b")
        site_before = ctx.site()
        r = ctx.cli(*T.ARGS_SWITCHOVER, timeout=60)
        ctx.expect_rc(r, T.EXIT_REFUSED, "--switchover on a pair without wal_log_hints")
        ctx.expect("neither wal_log_hints = on nor data checksums" in r.stderr, f"no reason given:\n{r.stderr}")
        ctx.expect(ctx.site() == site_before, "the nginx site file changed")
        ctx.expect(file_bytes(ctx.state_file) is None, "a record was written")
        ctx.expect(pair.is_primary("a") and not pair.is_primary("b"), "the roles changed")
