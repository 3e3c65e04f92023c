"""scenarios: blfailoverd's behaviour against real servers (nginx, PostgreSQL 15 primary + streaming standby, sshd,
HTTP stand-ins for the two APIs, a recording stand-in for docker). Run by run.py; each test_* gets a run.Ctx with
fresh per-scenario state (see run.py). Every log substring, exit code and flag comes from topology's contract block.

Timing of the standard config: interval 500ms, timeout 300ms, failure_threshold 3, so a failing active reaches the
threshold within about 3 x 0.8 s. ctx.t() scales waits for valgrind and sanitizer builds.
"""
import contextlib
import os
import re
import shutil
import signal
import time

import topology as T
from topology import LOG

THRESHOLD = 3
INTERVAL = 0.5
TIMEOUT = 0.3
DETECT = THRESHOLD * (INTERVAL + TIMEOUT)      # worst-case seconds from "active breaks" to "threshold reached"


def valgrind(fn):
    """Mark a scenario to be run (also) under valgrind by `run.py --valgrind`."""
    fn.valgrind = True
    return fn


def _fail_active_and_wait(ctx, d, mode="500", wait_for=LOG.SUCCEEDED, timeout=30):
    m = d.mark()
    ctx.topo.active.set_mode(mode)
    return d.wait_log(wait_for, ctx.t(timeout), since=m,
                      fail_on=(LOG.FAILED_AT, LOG.HELD) if wait_for == LOG.SUCCEEDED else ())


def _cycles(n=1):
    """Seconds for n health-check cycles of the standard config, with room to spare."""
    return n * (INTERVAL + TIMEOUT) + 0.5


# ---------------------------------------------------------------------------------------------------- failovers

@valgrind
def test_active_500_fails_over(ctx):
    d = ctx.daemon()
    m = d.mark()
    ctx.topo.active.set_mode("500")
    for n in range(1, THRESHOLD + 1):
        d.wait_log(LOG.active_failing(n, THRESHOLD), ctx.t(5), since=m)
    d.wait_log(LOG.THRESHOLD, ctx.t(5), since=m)
    d.wait_log(LOG.STARTED, ctx.t(5), since=m)
    line = d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT,))
    ctx.expect(LOG.LINE_RE.match(line), f"log line not in the documented format: {line!r}")
    ctx.expect_failed_over(d.text())
    ctx.expect(ctx.topo.pg.promote_logged(), "the standby's log does not say the trigger file was found")
    # The record (format 2) says who serves now, from the promotion on, and holds a second failover.
    with open(ctx.state_file, encoding="utf-8") as f:
        record = f.read().splitlines()
    for want in ("blfailoverd-state 2", f"serving {T.STANDBY_NAME}", f"standby {T.ACTIVE_NAME}", "epoch 1",
                 "latch failover", "op failover", f"op_from {T.ACTIVE_NAME}", f"op_to {T.STANDBY_NAME}"):
        ctx.expect(want in record, f"the record lacks the line {want!r}: {record}")
    r = ctx.cli(*T.ARGS_STATUS)
    ctx.expect(f"roles: {T.STANDBY_NAME} serves, {T.ACTIVE_NAME} standby · epoch 1 · latch failover" in r.stdout,
               f"--status does not show the roles:\n{r.stdout}")
    ctx.expect(d.running(), "the daemon should keep running after a failover")
    ctx.expect_eq(d.count_log(LOG.STARTED), 1, "failovers started")
    ctx.stop_daemon(d)


def test_active_hang_fails_over_in_time(ctx):
    d = ctx.daemon()
    m = d.mark()
    t0 = time.monotonic()
    ctx.topo.active.set_mode("hang")
    d.wait_log(LOG.THRESHOLD, ctx.t(DETECT + 5), since=m)
    detect = time.monotonic() - t0
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT,))
    total = time.monotonic() - t0
    ctx.expect(detect <= ctx.t(DETECT + INTERVAL + 1.0),
               f"threshold reached {detect:.2f}s after the active hung; budget {DETECT:.1f}s + one interval + 1s")
    ctx.expect(total <= ctx.t(DETECT + INTERVAL + 6.0),
               f"failover succeeded {total:.2f}s after the active hung; budget {DETECT:.1f}s + 6.5s for the steps")
    ctx.expect_failed_over(d.text())
    ctx.stop_daemon(d)


def test_active_refusing_connections_fails_over(ctx):
    d = ctx.daemon()
    _fail_active_and_wait(ctx, d, "closed")
    ctx.expect_failed_over(d.text())
    ctx.stop_daemon(d)


def test_failures_below_threshold_change_nothing(ctx):
    d = ctx.daemon()
    m = d.mark()
    ctx.topo.active.script("500", "500")        # exactly two failed checks, then healthy again
    d.wait_log(LOG.active_failing(2, THRESHOLD), ctx.t(5), since=m)
    m2 = d.mark()
    d.wait_log(LOG.ACTIVE_HEALTHY, ctx.t(5), since=m2)
    hits = ctx.topo.active.hits()
    ctx.topo.active.wait_health_hits(hits + 4, ctx.t(_cycles(5)))
    text = d.text()[m:]
    ctx.expect(LOG.active_failing(3, THRESHOLD) not in text, "a third failure was counted")
    ctx.expect(LOG.THRESHOLD not in text and LOG.STARTED not in text, "a failover was started")
    ctx.expect_unchanged()
    ctx.stop_daemon(d)


def test_counter_resets_after_a_healthy_check(ctx):
    d = ctx.daemon()
    m = d.mark()
    ctx.topo.active.script("500", "500", "ok", "500", "500", "ok")   # never 3 in a row
    ctx.topo.active.wait_health_hits(ctx.topo.active.hits() + 8, ctx.t(_cycles(10)))
    text = d.text()[m:]
    ctx.expect_eq(text.count(LOG.active_failing(2, THRESHOLD)), 2, "times the active reached 2/3")
    ctx.expect(LOG.active_failing(3, THRESHOLD) not in text, "failures were counted across a healthy check")
    ctx.expect_unchanged()
    ctx.stop_daemon(d)


def test_restart_after_failover_does_nothing(ctx):
    d1 = ctx.daemon()
    _fail_active_and_wait(ctx, d1)
    ctx.expect_failed_over(d1.text())
    ctx.stop_daemon(d1)
    # Put the original site file back (nginx is not reloaded): a second failover would be visible in it.
    T.write_file(ctx.topo.nginx.site, ctx.topo.nginx.original_site)
    d2 = ctx.daemon(ready=False)
    d2.wait_log(LOG.ALREADY_DONE, ctx.t(DETECT + 10))
    time.sleep(ctx.t(_cycles(THRESHOLD + 2)))       # the active is still failing: well past the threshold again
    ctx.expect(d2.running(), "the restarted daemon exited")
    ctx.expect_eq(d2.count_log(LOG.STARTED), 0, "failovers started by the restarted daemon")
    ctx.expect_site_original("site file after the restart")
    ctx.expect_eq(ctx.topo.recorder.argvs(), [T.STACK_ARGV], "standby stack commands recorded")
    ctx.stop_daemon(d2)


def test_standby_unhealthy_holds_failover(ctx):
    ctx.topo.standby.set_mode("500")
    d = ctx.daemon(ready=False)
    ctx.wait_ready(d, standby=LOG.STANDBY_FAILING)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.HELD, ctx.t(DETECT + 5), since=m)
    time.sleep(ctx.t(_cycles(2)))
    ctx.expect(LOG.STARTED not in d.text()[m:], "a failover started while the standby was unhealthy")
    ctx.expect_unchanged()
    # The standby recovers while the active is still failing: the held failover now goes ahead.
    m2 = d.mark()
    ctx.topo.standby.set_mode("ok")
    d.wait_log(LOG.STANDBY_HEALTHY, ctx.t(5), since=m2)
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m2, fail_on=(LOG.FAILED_AT,))
    ctx.expect_failed_over(d.text())
    ctx.stop_daemon(d)


def test_trigger_path_with_spaces_quotes_and_semicolon(ctx):
    sentinel = os.path.join(ctx.dir, "pwned")
    # Spaces, ' and ", `;` followed by a command, and $HOME: any shell re-interpretation either runs
    # `touch SENTINEL` or touches a different name (and the standby then never promotes).
    trigger = os.path.join(ctx.dir, "triggers", "dir with space", f"it's \"a\";trigger $HOME; touch {sentinel}")
    T.makedirs_owned(os.path.dirname(trigger), owner=T.PG_USER)
    ctx.use_trigger(trigger)
    d = ctx.daemon()
    _fail_active_and_wait(ctx, d)
    ctx.expect_failed_over(d.text())
    ctx.expect(not os.path.exists(sentinel), f"the `;` in the trigger path ran a command: {sentinel} exists")
    ctx.expect(ctx.topo.pg.promote_logged(), "the standby's log does not say the trigger file was found")
    ctx.stop_daemon(d)


# ---------------------------------------------------------------------------------------------------- failed steps

def test_nginx_test_failure_restores_site(ctx):
    cfg = ctx.config()
    cfg["failover"]["nginx"]["test_command"] = ["/bin/false"]
    d = ctx.daemon(cfg)
    _fail_active_and_wait(ctx, d, wait_for=LOG.failed_at("nginx_test"))
    ctx.expect(d.has_log(LOG.step_failed("nginx_test")), "no `step nginx_test failed` line")
    time.sleep(ctx.t(_cycles(THRESHOLD + 1)))      # no second attempt
    text = d.text()
    for step in ("ssh_check", "promote", "switch", "standby_stack"):
        ctx.expect(LOG.step_ok(step) not in text, f"step {step} ran after nginx_test failed")
    ctx.expect_eq(d.count_log(LOG.STARTED), 1, "failover attempts")
    ctx.expect(os.path.exists(ctx.state_file), "a failed attempt must be recorded in the state file")
    ctx.expect_unchanged(attempted=True)
    ctx.stop_daemon(d)


def test_ssh_unreachable_fails_before_promote(ctx):
    cfg = ctx.config()
    cfg["failover"]["promote"]["ssh"]["port"] = T.PORT_UNUSED
    cfg["failover"]["promote"]["timeout"] = "5s"
    d = ctx.daemon(cfg)
    _fail_active_and_wait(ctx, d, wait_for=LOG.failed_at("ssh_check"))
    text = d.text()
    for step in ("promote", "switch", "standby_stack"):
        ctx.expect(LOG.step_ok(step) not in text, f"step {step} ran after ssh_check failed")
    ctx.expect_unchanged(attempted=True)
    ctx.stop_daemon(d)


def test_promote_failure_restores_site(ctx):
    # ssh works, but the touch fails: the trigger's directory does not exist on the "DB host".
    cfg = ctx.config()
    cfg["failover"]["promote"]["trigger_file"] = os.path.join(ctx.dir, "no such dir", "promote.trigger")
    d = ctx.daemon(cfg)
    _fail_active_and_wait(ctx, d, wait_for=LOG.failed_at("promote"))
    text = d.text()
    ctx.expect(LOG.step_ok("ssh_check") in text, "ssh_check should have passed")
    for step in ("switch", "standby_stack"):
        ctx.expect(LOG.step_ok(step) not in text, f"step {step} ran after promote failed")
    ctx.expect_unchanged(attempted=True)
    ctx.stop_daemon(d)


# ---------------------------------------------------------------------------------------------------- one-shot CLI

def test_once_then_refused_then_force(ctx):
    ctx.write_config()
    r = ctx.cli(*T.ARGS_ONCE)
    ctx.expect_rc(r, T.EXIT_OK, "--once")
    ctx.expect_failed_over(r.stdout + r.stderr)
    r = ctx.cli(*T.ARGS_ONCE)
    ctx.expect_rc(r, T.EXIT_REFUSED, "--once after a failover")
    ctx.expect_eq(ctx.topo.recorder.argvs(), [T.STACK_ARGV], "standby stack commands after the refused --once")
    r = ctx.cli(*T.ARGS_ONCE, *T.ARGS_FORCE)
    ctx.expect_rc(r, T.EXIT_OK, "--once --force")
    ctx.expect_eq(ctx.topo.recorder.argvs(), [T.STACK_ARGV] * 2, "standby stack commands after --force")
    servers = T.upstream_servers(ctx.site().decode())
    ctx.expect_eq(len(servers), 2, "server lines after a forced second failover (rewrite must be idempotent)")
    r = ctx.cli(*T.ARGS_STATUS)
    ctx.expect_rc(r, T.EXIT_OK, "--status")
    ctx.expect((r.stdout + r.stderr).strip() != "", "--status printed nothing")
    r = ctx.cli(*T.ARGS_CLEAR_STATE)
    ctx.expect_rc(r, T.EXIT_OK, "--clear-state")
    ctx.expect(not os.path.exists(ctx.state_file), "--clear-state left the state file")


def test_once_refused_when_standby_unhealthy(ctx):
    ctx.topo.standby.set_mode("500")
    ctx.write_config()
    r = ctx.cli(*T.ARGS_ONCE)
    ctx.expect_rc(r, T.EXIT_REFUSED, "--once with the standby failing")
    ctx.expect_unchanged()


def test_dry_run_changes_nothing(ctx):
    ctx.write_config()
    r = ctx.cli(*T.ARGS_DRY_RUN)
    ctx.expect_rc(r, T.EXIT_OK, "--dry-run")
    out = r.stdout
    for word in ("ssh", "BatchMode=yes", f"{T.PG_USER}@{T.HOST}", "touch", ctx.trigger, str(T.PORT_SSHD),
                 "reload", ctx.topo.recorder.wrapper, "compose", "docker-compose.standby.yml"):
        ctx.expect(word in out, f"--dry-run stdout lacks {word!r}")
    lines = out.splitlines()
    for head in ("--- ", "+++ ", "@@ "):
        ctx.expect(any(ln.startswith(head) for ln in lines), f"--dry-run stdout has no unified diff ({head!r})")
    ctx.expect(any(ln.startswith("-") and T.STANDBY_SERVER in ln and "backup" in ln for ln in lines),
               "the diff does not remove the standby's `backup` line")
    ctx.expect(any(ln.startswith("+") and T.ACTIVE_SERVER in ln and "down" in ln for ln in lines),
               "the diff does not add `down` to the active's line")
    ctx.expect_unchanged()


LUA_MODULES = ("/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so")

# The runbook site as Debian OpenResty users write it (issue 14): a blank line and a comment between the two server
# lines, and a Lua block whose strings and comments hold braces nginx's own tokenizer would take for block ends.
LUA_SITE = r"""upstream @UPSTREAM@ {
    server @ACTIVE@ max_fails=3 fail_timeout=30s;

    # takes over when the active fails
    server @STANDBY@ backup;
}

server {
    listen @HOST@:@PORT@;

    location / {
        proxy_pass http://@UPSTREAM@;
    }

    location /lua {
        default_type text/plain;
        content_by_lua_block {
            -- a comment with a } and don't
            --[==[ a long comment ]] } { ]==]
            local t = { greeting = "hello }", tail = [[ { ]] }
            ngx.say(t.greeting, ' \\' .. "}")
        }
    }
}
"""


def test_symlinked_site_with_lua_block_fails_over(ctx):
    """sites-enabled-style link -> available/ target holding a Lua block: --dry-run shows only the two server
    lines, --once fails over through the link (target rewritten, link kept, backup beside the target), `nginx -t`
    passes after, and nginx (with the Lua module loaded) serves the standby and still runs the Lua block."""
    ngx = ctx.topo.nginx
    for so in LUA_MODULES:
        ctx.expect(os.path.exists(so), f"{so} missing: install libnginx-mod-http-lua (make deps)")
    main_conf = T.read_bytes(ngx.conf)
    available = os.path.join(ngx.sites, "available")
    target = os.path.join(available, "blacklake.conf")
    text = LUA_SITE
    for key, value in (("UPSTREAM", T.UPSTREAM), ("ACTIVE", T.ACTIVE_SERVER), ("STANDBY", T.STANDBY_SERVER),
                       ("HOST", T.HOST), ("PORT", str(ngx.port))):
        text = text.replace(f"@{key}@", value)
    try:
        os.makedirs(available, exist_ok=True)
        os.chmod(available, 0o755)
        T.write_file(target, text, mode=0o640)
        os.unlink(ngx.site)
        os.symlink("available/blacklake.conf", ngx.site)
        T.write_file(ngx.conf, "".join(f"load_module {so};\n" for so in LUA_MODULES).encode() + main_conf)
        ngx.reload()
        ngx.wait_served_by(T.ACTIVE_NAME, ctx.t(10))
        lua_answer = (200, "hello } \\}\n")
        T.wait_until(lambda: ngx.get("/lua") == lua_answer, ctx.t(10), "nginx to run the Lua block (reload)")
        ctx.write_config()

        r = ctx.cli(*T.ARGS_DRY_RUN)
        ctx.expect_rc(r, T.EXIT_OK, "--dry-run on the symlinked Lua site")
        changed = [ln for ln in r.stdout.splitlines() if ln[:1] in ("+", "-") and ln[:3] not in ("---", "+++")]
        ctx.expect_eq(len(changed), 4, f"changed lines in the --dry-run diff (only the two server lines): {changed}")

        r = ctx.cli(*T.ARGS_ONCE)
        ctx.expect_rc(r, T.EXIT_OK, "--once on the symlinked Lua site")
        ctx.expect(os.path.islink(ngx.site), f"{ngx.site} is no longer a symlink")
        ctx.expect_eq(os.readlink(ngx.site), "available/blacklake.conf", "the link's target")
        now = T.read_bytes(target).decode()
        params = dict(T.upstream_servers(now))
        ctx.expect("down" in params[T.ACTIVE_SERVER], f"active server line lacks `down`: {params}")
        ctx.expect("backup" not in params[T.STANDBY_SERVER], f"standby server line keeps `backup`: {params}")
        ctx.expect(T.without_upstream(now) == T.without_upstream(text), "bytes outside the upstream changed")
        ctx.expect_eq(os.stat(target).st_mode & 0o7777, 0o640, "the target's mode")
        ctx.expect(T.read_bytes(target + T.BAK_SUFFIX) == text.encode(), "backup beside the target differs")
        ctx.expect(not os.path.exists(ngx.site + T.BAK_SUFFIX), "a backup was left beside the link")
        ctx.expect_eq([n for n in os.listdir(ngx.sites) if n != "available"], ["blacklake.conf"], "files in sites/")
        T.run(ngx.test_argv, timeout=30, what="nginx -t after the failover")
        ngx.wait_served_by(T.STANDBY_NAME, ctx.t(10))
        ctx.expect_eq(ngx.get("/lua"), lua_answer, "GET /lua after the failover")
        ctx.topo.pg.wait_promoted(ctx.t(20))
    finally:
        # back to the shared topology: a regular site file, no Lua module, nginx reloaded on them
        with contextlib.suppress(OSError):
            os.unlink(ngx.site)
        T.write_file(ngx.site, ngx.original_site)
        shutil.rmtree(available, ignore_errors=True)
        T.write_file(ngx.conf, main_conf)
        ngx.reload()


def _log_time(line):
    """Seconds of a log line's UTC timestamp (same day)."""
    hms = line.split(" ", 1)[0].split("T")[1].rstrip("Z")
    h, m, sec = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(sec)


def test_fast_interval_rechecks_from_the_first_failure(ctx):
    """health.fast_interval (HAProxy's fastinter): after the active's first failure the re-checks come every
    fast_interval, from the first one on. With interval 3s and fast_interval 200ms the threshold (3) is reached
    about 0.4 s after the first failure; at the plain cadence it would take 6 s."""
    cfg = ctx.config(interval=3.0, timeout=0.15, failure_threshold=THRESHOLD)
    cfg["health"]["fast_interval"] = "200ms"
    d = ctx.daemon(cfg)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    first = d.wait_log(LOG.active_failing(1, THRESHOLD), ctx.t(8), since=m)
    reached = d.wait_log(LOG.THRESHOLD, ctx.t(8), since=m)
    took = _log_time(reached) - _log_time(first)
    ctx.expect(took < 2.0, f"first failure → threshold took {took:.2f}s: the re-checks did not use fast_interval")
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT,))
    ctx.stop_daemon(d)


# ---------------------------------------------------------------------------------------------------- config check

def test_check_good_config(ctx):
    ctx.write_config()
    r = ctx.cli(*T.ARGS_CHECK)
    ctx.expect_rc(r, T.EXIT_OK, "-t on a good config")
    ctx.expect(f"{ctx.config_path}:" not in r.stderr, f"-t reported a problem: {r.stderr.strip()}")


def _numbered(text, needle):
    """1-based line and column of needle in text."""
    i = text.index(needle)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def _error_lines(ctx, stderr):
    return [ln for ln in stderr.splitlines() if ln.startswith(ctx.config_path + ":")]


def test_check_bad_yaml(ctx):
    text = ctx.config_text().replace(f"failure_threshold: {THRESHOLD}", f"failure_threshold: [{THRESHOLD}", 1)
    T.write_config(ctx.config_path, text)
    r = ctx.cli(*T.ARGS_CHECK)
    ctx.expect_rc(r, T.EXIT_CONFIG, "-t on broken YAML")
    errs = _error_lines(ctx, r.stderr)
    ctx.expect(any(re.match(re.escape(ctx.config_path) + r":\d+:\d+: \S", e) for e in errs),
               f"no FILE:LINE:COL: message line on stderr: {r.stderr.strip()!r}")


def test_check_unknown_key(ctx):
    text = ctx.config_text().replace("failure_threshold:", "failure_treshold:", 1)
    line, col = _numbered(text, "failure_treshold")
    T.write_config(ctx.config_path, text)
    r = ctx.cli(*T.ARGS_CHECK)
    ctx.expect_rc(r, T.EXIT_CONFIG, "-t with an unknown key")
    errs = [e for e in _error_lines(ctx, r.stderr) if e.startswith(f"{ctx.config_path}:{line}:")]
    ctx.expect(errs, f"no {ctx.config_path}:{line}:COL: line for the unknown key: {r.stderr.strip()!r}")
    ctx.expect(any("failure_treshold" in e for e in errs), f"the message does not name the key: {errs}")


def test_check_bad_value(ctx):
    text = ctx.config_text().replace(f"interval: {T.duration(INTERVAL)}", "interval: soon", 1)
    line, _ = _numbered(text, "interval: soon")
    T.write_config(ctx.config_path, text)
    r = ctx.cli(*T.ARGS_CHECK)
    ctx.expect_rc(r, T.EXIT_CONFIG, "-t with an unparsable duration")
    ctx.expect(any(e.startswith(f"{ctx.config_path}:{line}:") for e in _error_lines(ctx, r.stderr)),
               f"no {ctx.config_path}:{line}:COL: line for the bad duration: {r.stderr.strip()!r}")


def test_check_tab_indentation_named(ctx):
    """Issue 11: a tab at the start of a line got libyaml's "found character that cannot start any token"."""
    text = ctx.config_text().replace(f"  failure_threshold: {THRESHOLD}", f"\tfailure_threshold: {THRESHOLD}", 1)
    line, col = _numbered(text, "\tfailure_threshold")
    T.write_config(ctx.config_path, text)
    r = ctx.cli(*T.ARGS_CHECK)
    ctx.expect_rc(r, T.EXIT_CONFIG, "-t with a tab in the indentation")
    errs = _error_lines(ctx, r.stderr)
    ctx.expect(any(e.startswith(f"{ctx.config_path}:{line}:{col}: ") and "a tab at the start of the line" in e
                   for e in errs), f"the tab at {line}:{col} is not named as a tab: {r.stderr.strip()!r}")


def test_check_problems_in_file_order(ctx):
    """Issue 11: -t printed the nginx file's problem before the ssh key's and the CA file's, found later in the
    file order but checked earlier."""
    cfg = ctx.config()
    cfg["health"]["ca_file"] = os.path.join(ctx.dir, "no-ca.pem")
    cfg["failover"]["promote"]["ssh"]["identity_file"] = os.path.join(ctx.dir, "no-key")
    cfg["failover"]["nginx"]["config"] = os.path.join(ctx.dir, "no-site.conf")
    ctx.write_config(cfg)
    r = ctx.cli(*T.ARGS_CHECK)
    ctx.expect_rc(r, T.EXIT_CONFIG, "-t with three unreadable files")
    where = [tuple(int(n) for n in e[len(ctx.config_path) + 1:].split(":")[:2]) for e in _error_lines(ctx, r.stderr)]
    ctx.expect(len(where) >= 3, f"expected the CA file, the ssh key and the nginx file: {r.stderr.strip()!r}")
    ctx.expect_eq(where, sorted(where), "-t's problems in file order (line, column)")


# ---------------------------------------------------------------------------------------------------- signals

def test_sighup_bad_config_keeps_old(ctx):
    d = ctx.daemon()
    T.write_config(ctx.config_path, "state_dir: [unterminated\n  health: {\n")
    m = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_log(LOG.RELOAD_REJECTED, ctx.t(5), since=m)
    time.sleep(ctx.t(_cycles(1)))
    ctx.expect(d.running(), "the daemon exited after a rejected reload")
    # The old config is still in force: it still checks and still fails over.
    _fail_active_and_wait(ctx, d)
    ctx.expect_failed_over(d.text())
    ctx.stop_daemon(d)


def test_sighup_good_config_applies(ctx):
    d = ctx.daemon()
    ctx.write_config(ctx.config(failure_threshold=2))
    m = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_log(LOG.RELOADED, ctx.t(5), since=m)
    m = d.mark()
    ctx.topo.active.set_mode("500")
    d.wait_log(LOG.active_failing(2, 2), ctx.t(5), since=m)
    d.wait_log(LOG.SUCCEEDED, ctx.t(30), since=m, fail_on=(LOG.FAILED_AT,))
    ctx.expect(LOG.active_failing(3, THRESHOLD) not in d.text()[m:], "the old threshold is still in force")
    ctx.expect_failed_over(d.text())
    ctx.stop_daemon(d)


def test_sigterm_and_sigint_exit_quickly(ctx):
    d = ctx.daemon()
    ctx.stop_daemon(d, within=ctx.t(1.0))
    ctx.expect(d.has_log(LOG.STOPPING), f"no {LOG.STOPPING!r} line")
    # SIGTERM while a health check hangs (timeout 5s): must not wait for the check.
    ctx.topo.active.set_mode("hang")
    hits = ctx.topo.active.hits()
    d2 = ctx.daemon(ctx.config(interval=6.0, timeout=5.0), ready=False)
    ctx.topo.active.wait_health_hits(hits + 1, ctx.t(8))
    time.sleep(0.2)
    ctx.stop_daemon(d2, within=ctx.t(1.0))
    # SIGINT too.
    ctx.topo.active.set_mode("ok")
    d3 = ctx.daemon(ctx.config())
    t0 = time.monotonic()
    d3.signal(signal.SIGINT)
    rc = d3.wait_exit(ctx.t(1.0))
    ctx.expect(rc is not None, f"no exit within {ctx.t(1.0):.1f}s of SIGINT")
    ctx.expect_eq(rc, 0, f"exit status after SIGINT ({time.monotonic() - t0:.2f}s)")
    ctx.expect_unchanged()
