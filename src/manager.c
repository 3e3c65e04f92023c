/* manager: the daemon's loop — it wires timers, signals, health results and the failover together. */
#include "manager_core.h"
#include "member.h"
#include "memcmd.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the one-line summary (systemctl status) ---------------------------------------------------------- */

static const char *health_word(const struct monitor_endpoint *e) {
        return e->health == MONITOR_UP ? "ok" : e->health == MONITOR_DOWN ? "failing" : "unknown";
}

static void observe_status(struct manager *m);

static void describe_status(const struct manager *m, char *status, size_t size) {
        char last[96];

        if (m->failover)
                snprintf(last, sizeof last, "failover in progress");
        else if (!m->failed_over)
                snprintf(last, sizeof last, "never");
        else if (m->state.outcome == STATE_FAILED)
                snprintf(last, sizeof last, "failed at step %s (see --status)", m->state.failed_step);
        else
                snprintf(last, sizeof last, "%s", m->state.outcome == STATE_NONE ? "record unreadable"
                         : state_outcome_to_string(m->state.outcome));
        snprintf(status, size, "active %s %u/%u · standby %s · last failover: %s%s",
                 health_word(&m->active.monitor), m->active.monitor.consecutive_failures,
                 m->config->health.failure_threshold, health_word(&m->standby.monitor), last,
                 m->pause.paused ? " · PAUSED" : "");
}

void manager_update_status(struct manager *m) {
        char status[256];

        describe_status(m, status, sizeof status);
        notify_status(&m->notify, status);
        observe_status(m);
}

/* ---- state ---------------------------------------------------------------------------------------------- */

void manager_say_already_done(struct manager *m) {
        struct event ev = { .kind = EVENT_FAILOVER_ALREADY_DONE, .exit_status = -1 };
        char when[32] = "?";
        time_t t = (time_t) (m->state.started_usec / USEC_PER_SEC);
        struct tm tm;

        if (m->state.outcome != STATE_NONE && gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        event_emit(&m->bus, &ev, "failover: already done (%s%s%s, started %s; latch %s); not failing over again. After "
                   "rebuilding the pair: blfailoverd --clear-state, then reload or restart the daemon",
                   m->state.op == STATE_OP_NONE ? "state file unreadable" : state_op_to_string(m->state.op),
                   m->state.op == STATE_OP_NONE ? "" : " ", m->state.op == STATE_OP_NONE ? ""
                   : state_outcome_to_string(m->state.outcome), when,
                   m->state.op == STATE_OP_NONE ? "unreadable" : state_latch_to_string(m->state.latch));
}

void manager_load_state(struct manager *m) {
        int r = state_load(m->config->state_dir, &m->state);

        /* The latch, not the record's existence: a record whose latch is none (a finished switchover or rejoin)
         * arms the daemon. */
        m->failed_over = state_latched(r == 0 ? &m->state : NULL, r < 0 && r != -ENOENT);
        if (r == -ENOENT) {
                m->state = (struct state) {};
                return;
        }
        if (r < 0) {
                /* Unreadable is not "empty": assume a failover happened rather than risk a second one. */
                m->state = (struct state) {};
                log_error_errno(r, "state: %s/%s cannot be read (%s); treating it as a recorded failover. Inspect "
                                "it, then remove it with blfailoverd --clear-state", m->config->state_dir,
                                STATE_FILE_NAME, r == -EBADMSG ? "corrupt or truncated" : strerror(-r));
        }
}

/* An unreadable pause file is a pause: whoever wrote it meant "hands off", and a wrong guess must not fail over. */
void manager_load_pause(struct manager *m) {
        int r = pause_load(m->config->state_dir, &m->pause);

        if (r == -ENOENT)
                m->pause = (struct pause) {};
        else if (r < 0) {
                m->pause = (struct pause) { .paused = true };
                snprintf(m->pause.reason, sizeof m->pause.reason, "the pause file cannot be read");
                log_error_errno(r, "pause: %s/%s cannot be read (%s); treating the pair as paused. Inspect it; "
                                "blfailoverd --resume removes it", m->config->state_dir, PAUSE_FILE_NAME,
                                r == -EBADMSG ? "corrupt or truncated" : strerror(-r));
        }
}

void manager_say_paused(struct manager *m, const char *prefix) {
        struct event ev = { .kind = EVENT_PAUSED, .exit_status = -1 };
        char why[512];

        gates_describe_pause(&m->pause, why, sizeof why);
        event_emit(&m->bus, &ev, "%s%s; checks and reports go on%s", prefix, why,
                   m->failover ? " (the failover in progress is not stopped)" : "");
}

/* ---- health checks -------------------------------------------------------------------------------------- */

static void pull_tick_in(struct manager *m);
static void confirm_reset(struct manager *m);

static void say_change(struct endpoint *ep, enum monitor_change change) {
        struct manager *m = ep->manager;
        struct event ev = { .role = ep->role, .endpoint = ep->config->name, .exit_status = -1,
                            .failures = ep->monitor.consecutive_failures, .threshold = m->config->health.failure_threshold,
                            .duration_usec = ep->last.latency_usec };
        char why[300];

        if (change == MONITOR_BECAME_UP) {
                ev.kind = EVENT_ENDPOINT_HEALTHY;
                event_emit(&m->bus, &ev, "%s %s: healthy (HTTP %ld, %.0f ms)", ep->role, ep->config->name,
                           ep->last.http_code, (double) ep->last.latency_usec / 1000.0);
        } else if (change == MONITOR_FAILING && ep == &m->active) {
                ev.kind = EVENT_ENDPOINT_FAILING;
                gates_describe_check(&ep->last, why, sizeof why);
                event_emit(&m->bus, &ev, "%s %s: failing (%u/%u): %s (%s)", ep->role, ep->config->name, ev.failures,
                           ev.threshold, why, ep->url_shown);
        } else if (change == MONITOR_FAILING && ev.failures == 1) {
                /* The standby has no threshold: its first failure is the news; it holds any failover until it passes. */
                ev.kind = EVENT_ENDPOINT_FAILING;
                gates_describe_check(&ep->last, why, sizeof why);
                event_emit(&m->bus, &ev, "%s %s: failing: %s (%s)", ep->role, ep->config->name, why, ep->url_shown);
        }
}

void manager_on_health_done(struct health_target *t, const struct health_result *r, void *userdata) {
        struct endpoint *ep = userdata;
        enum monitor_change change;

        /* For bench/: when each check completed, in the clock of the state record's step times. */
        if (log_get_max_level() >= LOG_LEVEL_DEBUG)
                log_debug("check: %s %s done at %llu us (realtime): %s after %llu us", ep->role, ep->config->name,
                          (unsigned long long) now_realtime_usec(), health_status_to_string(r->status),
                          (unsigned long long) r->latency_usec);
        ep->last = *r;
        ep->checks++;
        ep->checked_usec = now_realtime_usec();
        ep->answer_started_mono_usec = ep->started_mono_usec;
        change = monitor_record(&ep->monitor, r->status == HEALTH_OK, ep->manager->config->health.failure_threshold);
        say_change(ep, change);
        manager_cluster_publish(ep->manager);
        if (ep == &ep->manager->active && change == MONITOR_FAILING)
                pull_tick_in(ep->manager);
        manager_on_decision(ep->manager);
        manager_update_status(ep->manager);
}

void manager_endpoint_start_check(struct endpoint *ep) {
        int r;

        /* A check still running when the next is due has had the whole interval: it counts as failed — unless a
         * --once asked for it between two ticks: then it has not had its timeout yet and answers soon enough. (Only
         * then: a check of the cadence is always replaced, or a hang would cost an interval more to detect.) */
        if (health_target_busy(ep->target)) {
                if (ep->off_cadence && now_monotonic_usec() - ep->started_mono_usec <
                                       ep->manager->config->health.timeout_usec)
                        return;
                health_target_cancel(ep->target);
        }
        ep->off_cadence = false;
        ep->started_mono_usec = now_monotonic_usec();
        r = health_target_start(ep->target);
        if (r < 0)
                log_error_errno(r, "%s %s: cannot start a check: %s", ep->role, ep->config->name, strerror(-r));
}

static int schedule_tick(struct manager *m) {
        const struct config_health *h = &m->config->health;
        uint64_t now = now_monotonic_usec();
        uint64_t interval = monitor_next_interval(&m->active.monitor, h->failure_threshold, h->interval_usec,
                                                  h->fast_interval_usec);

        /* Fixed cadence: the next tick is counted from the last one, not from when the checks finished. */
        m->next_tick_usec += interval;
        if (m->next_tick_usec <= now)
                m->next_tick_usec += ((now - m->next_tick_usec) / interval + 1) * interval;
        return sd_event_source_set_time(m->tick, m->next_tick_usec);
}

/* The tick after this one was scheduled at the full interval before its check failed: the active's first failure
 * brings it in to fast_interval at once, or fast_interval would only apply from the second failure on. */
static void pull_tick_in(struct manager *m) {
        const struct config_health *h = &m->config->health;
        uint64_t due = m->last_tick_usec + monitor_next_interval(&m->active.monitor, h->failure_threshold,
                                                                 h->interval_usec, h->fast_interval_usec);
        uint64_t now = now_monotonic_usec();

        if (!m->tick || m->once || due >= m->next_tick_usec)
                return;
        m->next_tick_usec = due > now ? due : now;
        (void) sd_event_source_set_time(m->tick, m->next_tick_usec);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        m->last_tick_usec = usec;

        /* For bench/: how far the fixed cadence slipped (usec is when this tick was due). */
        if (log_get_max_level() >= LOG_LEVEL_DEBUG)
                log_debug("tick: due %llu us (monotonic), late by %llu us", (unsigned long long) usec,
                          (unsigned long long) (now_monotonic_usec() - usec));
        manager_endpoint_start_check(&m->active);
        manager_endpoint_start_check(&m->standby);
        manager_dbprobes_ask(m);
        confirm_reset(m);
        schedule_tick(m);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static struct endpoint *endpoint_free(struct endpoint *ep) {
        ep->target = health_target_free(ep->target);
        free(ep->url_shown);
        ep->url_shown = NULL;
        return NULL;
}

static int endpoint_init(struct manager *m, struct endpoint *ep, const char *role, const struct config_endpoint *c) {
        const struct config_health *h = &m->config->health;

        ep->manager = m;
        ep->role = role;
        ep->config = c;
        ep->url_shown = health_url_redact(c->url);
        if (!ep->url_shown)
                return -ENOMEM;
        return health_target_new(m->health, c->url, h->timeout_usec, h->expect_body, manager_on_health_done, ep, &ep->target);
}

static int endpoints_init(struct manager *m, const struct config *old) {
        bool same_active = old && strcmp(old->active.url, m->config->active.url) == 0;
        bool same_standby = old && strcmp(old->standby.url, m->config->standby.url) == 0;
        int r;

        endpoint_free(&m->active);
        endpoint_free(&m->standby);
        r = health_set_tls(m->health, m->config->health.ca_file, m->config->health.tls_verify);
        if (r < 0)
                return r;
        if (!m->config->health.tls_verify)
                log_warning("health.tls_verify is false: https health checks accept any certificate, so anyone on "
                            "the path can answer for an endpoint; set health.ca_file instead");
        /* A reload that keeps an endpoint keeps its counter: a reload must not hide an ongoing outage. */
        if (!same_active)
                m->active.monitor = (struct monitor_endpoint) {};
        if (!same_standby)
                m->standby.monitor = (struct monitor_endpoint) {};
        r = endpoint_init(m, &m->active, "active", &m->config->active);
        if (r == 0)
                r = endpoint_init(m, &m->standby, "standby", &m->config->standby);
        return r;
}

/* ---- databases and the confirm command ---------------------------------------------------------------- */

static void on_db_answered(struct dbprobe *p, void *userdata) {
        struct manager *m = userdata;
        const char *which = p == m->standby_db ? "standby" : "primary";

        if (dbprobe_error_changed(p) && *dbprobe_error(p))
                log_warning("%s database: %s", which, dbprobe_error(p));
        else if (dbprobe_error_changed(p))
                log_info("%s database: answers again", which);

        if (m->once) {
                if (m->once_pending > 0)
                        m->once_pending--;
        }
        manager_on_decision(m);
        manager_update_status(m);
}

void manager_dbprobes_ask(struct manager *m) {
        int r;

        if (m->standby_db && (r = dbprobe_ask(m->standby_db)) < 0)
                log_error_errno(r, "standby database: cannot ask: %s", strerror(-r));
        if (m->primary_db && (r = dbprobe_ask(m->primary_db)) < 0)
                log_error_errno(r, "primary database: cannot ask: %s", strerror(-r));
}

static int dbprobes_init(struct manager *m) {
        const struct config_database *db = &m->config->database;
        int r = 0;

        m->standby_db = dbprobe_free(m->standby_db);
        m->primary_db = dbprobe_free(m->primary_db);
        if (db->present)
                r = dbprobe_new(m->event, DBPROBE_STANDBY, db->standby, db->password_file, db->connect_timeout_usec,
                                on_db_answered, m, &m->standby_db);
        if (r >= 0 && db->present && db->primary)
                r = dbprobe_new(m->event, DBPROBE_PRIMARY, db->primary, db->password_file, db->connect_timeout_usec,
                                on_db_answered, m, &m->primary_db);
        return r;
}

static void on_confirm_done(struct spawn *s, const struct spawn_result *res, void *userdata) {
        struct manager *m = userdata;
        char outcome[128];

        spawn_outcome_describe(res, outcome, sizeof outcome);
        /* Only a command that ran and said "the active answers" holds the failover; a confirm that cannot run
         * proves nothing either way, so it must not block forever: it counts as "down from there too". */
        m->confirm_state = spawn_result_ok(res) ? MONITOR_CONFIRM_ACTIVE_ALIVE : MONITOR_CONFIRM_ACTIVE_DOWN;
        log_info("failover: confirm command: %s → the active is %s from the second vantage point", outcome,
                 m->confirm_state == MONITOR_CONFIRM_ACTIVE_ALIVE ? "ALIVE" : "down");
        manager_on_decision(m);
}

void manager_start_confirm(struct manager *m) {
        const struct config_command *c = &m->config->confirm;
        int r;

        m->confirm = spawn_free(m->confirm);
        m->confirm_state = MONITOR_CONFIRM_RUNNING;
        r = spawn_start(m->event, c->argv, NULL, c->timeout_usec, on_confirm_done, m, &m->confirm);
        if (r < 0) {
                log_error_errno(r, "failover: cannot run the confirm command: %s", strerror(-r));
                m->confirm_state = MONITOR_CONFIRM_ACTIVE_DOWN;
        }
}

/* A new question each tick: a held "the active answers from elsewhere" must be re-checked, never cached. */
static void confirm_reset(struct manager *m) {
        if (m->config->confirm.argv && m->confirm_state != MONITOR_CONFIRM_RUNNING)
                m->confirm_state = MONITOR_CONFIRM_UNKNOWN;
}

/* ---- failover ------------------------------------------------------------------------------------------- */

/* The end of --once or of a command from the CLI: the one-shot process exits with the code; the daemon sends it to
 * the caller and stops copying its log to it. */
void manager_command_finish(struct manager *m, int code) {
        m->request_once = false;
        m->request_pausing = false;
        m->request_deadline = sd_event_source_disable_unref(m->request_deadline);
        m->request_retry = sd_event_source_disable_unref(m->request_retry);
        if (m->once || m->exit_when_done) {
                sd_event_exit(m->event, code);
                return;
        }
        if (!m->call)
                return;
        log_set_tee(NULL, NULL);
        control_call_finish(m->call, code);
        m->call = NULL;
        log_info("control: command finished, exit %d", code);
}

bool manager_refuse_while_busy(struct manager *m, const char *command) {
        const char *busy = m->failover ? "failover" : m->switchover ? "switchover" : m->rejoin ? "rejoin" : NULL;

        if (!busy)
                return false;
        log_error("%s refused: a %s is in progress (see --status); run it again once that has finished", command,
                  busy);
        manager_command_finish(m, EXIT_REFUSED);
        return true;
}

static void on_failover_done(struct failover *f, bool succeeded, void *userdata) {
        struct manager *m = userdata;

        m->failover = failover_free(f);
        /* The sites form follows the record's roles: the promoted site is now the one watched as active. */
        if (m->config->sites_form && !m->once)
                manager_rearm_after_op(m);
        else
                manager_load_state(m);
        m->failed_over = true;          /* a failover ran in this process: latched whatever the disk says */
        m->last_said = MONITOR_HOLD_ALREADY_DONE;
        manager_update_status(m);
        /* A command waiting on a failover gets its result, whoever started it. */
        if (m->once || m->call)
                manager_command_finish(m, succeeded ? EXIT_SUCCESS : EXIT_FAILURE);
}

/* The record is a failover that stopped mid-way (daemon killed or host down): the daemon resumes it. */
bool manager_failover_interrupted(const struct manager *m) {
        return m->failed_over && m->state.op == STATE_OP_FAILOVER && m->state.outcome == STATE_RUNNING;
}

/* over_record: --force and a resume go ahead with a record; everything else re-reads it first, so a record written
 * since the loop last looked (it cannot be another process's: we hold the lock) still stops a second failover. */
int manager_start_failover(struct manager *m, const char *trigger, bool fence_required, const struct state *resume,
                          bool over_record) {
        char why[sizeof m->refused] = "";
        struct op_sync sync = manager_cluster_sync(m);
        struct failover_params params = {
                .sync = sync.sync, .sync_cancel = sync.cancel, .sync_may_act = sync.may_act,
                .sync_userdata = sync.userdata,
                .config = m->config, .bus = &m->bus, .health = m->health, .trigger = trigger,
                .options = { .fence_required = fence_required,
                             .ssh_control_path = sshmux_control_path(m->sshmux) },
                .resume = resume, .why = why, .why_size = sizeof why,
        };
        int r;

        if (!over_record) {
                manager_load_state(m);
                if (m->failed_over) {
                        manager_say_already_done(m);
                        return -EALREADY;
                }
        }
        r = failover_start(m->event, &params, on_failover_done, m, &m->failover);

        if (r < 0 && r != -ESTALE && !why[0])
                snprintf(why, sizeof why, "%s", strerror(-r));
        if (why[0] && strcmp(why, m->refused) != 0)
                log_error_errno(r, "failover: not started: %s", why);
        snprintf(m->refused, sizeof m->refused, "%s", why);
        manager_update_status(m);
        return r;
}

static void say_threshold(struct manager *m) {
        struct event ev = { .kind = EVENT_THRESHOLD_REACHED, .role = "active", .endpoint = m->config->active.name,
                            .exit_status = -1, .failures = m->active.monitor.consecutive_failures,
                            .threshold = m->config->health.failure_threshold };

        event_emit(&m->bus, &ev, "failover: threshold reached: active %s failed %u consecutive checks",
                   m->config->active.name, ev.failures);
}

/* What the gates module words a hold or the drill from: borrowed pointers, valid until the loop runs again. */
struct gate_facts manager_gate_facts(const struct manager *m) {
        return (struct gate_facts) {
                .config = m->config, .standby = &m->standby.monitor, .standby_last = &m->standby.last,
                .standby_url_shown = m->standby.url_shown,
                .standby_db = m->standby_db ? dbprobe_facts(m->standby_db) : NULL,
                .standby_db_error = m->standby_db ? dbprobe_error(m->standby_db) : "",
                .primary_db = m->primary_db ? dbprobe_facts(m->primary_db) : NULL,
                .confirm = m->confirm_state, .pause = m->pause.paused ? &m->pause : NULL,
                .latch = m->state.op == STATE_OP_NONE && m->failed_over ? "unreadable"
                         : state_latch_to_string(m->state.latch),
                .cluster_words = manager_cluster_words((struct manager *) m, false),
                .quorum_words = manager_cluster_words((struct manager *) m, true),
        };
}

void manager_say_held(struct manager *m, enum monitor_decision d) {
        struct event ev = { .kind = EVENT_FAILOVER_HELD, .gate = monitor_decision_to_string(d), .exit_status = -1,
                            .role = "standby", .endpoint = m->config->standby.name };
        struct gate_facts facts = manager_gate_facts(m);
        char why[512];

        gates_describe_hold(&facts, d, why, sizeof why);
        event_emit(&m->bus, &ev, "failover: held: %s; %s", why, m->once || m->request_once
                   ? "not failing over (override with --force)" : "re-checked every tick");
}

/* ---- the live view (observe.h: status file, metrics, alerts) --------------------------------------------- */

static void fill_endpoint(const struct endpoint *ep, struct status_endpoint *s) {
        const struct monitor_endpoint *mon = &ep->monitor;

        snprintf(s->name, sizeof s->name, "%s", ep->config->name);
        snprintf(s->url, sizeof s->url, "%s", ep->url_shown);
        s->health = mon->health == MONITOR_UP ? STATUS_UP : mon->health == MONITOR_DOWN ? STATUS_DOWN : STATUS_UNKNOWN;
        s->failures = mon->consecutive_failures;
        s->checks = ep->checks;
        s->checked_usec = ep->checked_usec;
        if (ep->checks == 0)
                return;
        snprintf(s->result, sizeof s->result, "%s", health_status_to_string(ep->last.status));
        snprintf(s->error, sizeof s->error, "%s", ep->last.error);
        s->http_code = ep->last.http_code;
        s->latency_usec = ep->last.latency_usec;
}

static void fill_db(const struct dbprobe *p, struct status_db *s) {
        const struct monitor_db *db;
        uint64_t answered, now;

        s->lag_seconds = -1;
        if (!p)
                return;
        db = dbprobe_facts(p);
        answered = dbprobe_answered_usec(p);
        now = now_monotonic_usec();
        *s = (struct status_db) { .configured = true, .known = db->known, .reachable = db->reachable,
                                  .in_recovery = db->in_recovery, .receiving = db->receiving,
                                  .lag_bytes = db->lag_bytes, .lag_seconds = dbprobe_replay_lag_seconds(p) };
        if (answered)
                s->checked_usec = now_realtime_usec() - (now - answered);
        snprintf(s->error, sizeof s->error, "%s", dbprobe_error(p));
}

static void observe_status(struct manager *m) {
        struct status s = { .pid = getpid(), .running = true, .started_usec = m->started_realtime_usec,
                            .updated_usec = now_realtime_usec(), .threshold = m->config->health.failure_threshold,
                            .failover_running = m->failover != NULL, .failed_over = m->failed_over };

        if (!m->observe)
                return;
        fill_endpoint(&m->active, &s.active);
        fill_endpoint(&m->standby, &s.standby);
        fill_db(m->standby_db, &s.standby_db);
        fill_db(m->primary_db, &s.primary_db);
        s.paused = m->pause.paused;
        s.paused_since_usec = m->pause.since_usec;
        s.paused_uid = (unsigned) m->pause.uid;
        snprintf(s.paused_reason, sizeof s.paused_reason, "%s", m->pause.reason);
        if (!m->failover && monitor_decision_is_hold(m->last_said)) {
                snprintf(s.held_gate, sizeof s.held_gate, "%s", monitor_decision_to_string(m->last_said));
                struct gate_facts facts = manager_gate_facts(m);
                gates_describe_hold(&facts, m->last_said, s.held_detail, sizeof s.held_detail);
        }
        snprintf(s.not_started, sizeof s.not_started, "%s", m->refused);
        manager_cluster_status(m, &s.cluster);
        observe_update(m->observe, &s);
}

static int control_start(struct manager *m);

/* manual: --once, from the command line or through the daemon — every gate but the threshold and the record, which
 * --once checked itself. */
struct monitor_verdict manager_evaluate(struct manager *m, bool manual) {
        const struct config *c = m->config;
        struct monitor_view view = {
                .active = &m->active.monitor, .standby = &m->standby.monitor,
                .threshold = c->health.failure_threshold, .manual = manual,
                .failed_over = m->failed_over && !manual,
                .failover_running = m->failover != NULL || m->switchover != NULL || m->rejoin != NULL ||
                                    m->roles_stale,
                .paused = m->pause.paused,
                .in_startup_grace = !manual && now_monotonic_usec() - m->started_usec < c->health.startup_grace_usec,
                .standby_db = m->standby_db ? dbprobe_facts(m->standby_db) : NULL,
                .max_lag_bytes = c->database.max_lag_bytes,
                .primary_db = m->primary_db ? dbprobe_facts(m->primary_db) : NULL,
                .fence_configured = c->fence.argv != NULL, .confirm = m->confirm_state,
        };
        struct monitor_cluster cluster;

        if (manager_cluster_fill(m, &cluster))
                view.cluster = &cluster;
        return monitor_decide(&view);
}

void manager_on_decision(struct manager *m) {
        struct monitor_verdict v;

        if (manager_once_on_decision(m))
                return;
        v = manager_evaluate(m, false);
        if (v.decision == MONITOR_BUSY)
                return;
        if (v.decision == MONITOR_ASK_CONFIRM) {
                manager_start_confirm(m);
                return;
        }
        if (v.decision != MONITOR_FAILOVER)
                m->refused[0] = 0;      /* the next refusal is news again */
        if (v.decision == m->last_said && !m->refused[0])
                return;
        if (m->last_said == MONITOR_WAIT && v.decision != MONITOR_WAIT)
                say_threshold(m);
        m->last_said = v.decision;
        if (v.decision == MONITOR_HOLD_ALREADY_DONE)
                manager_say_already_done(m);
        else if (monitor_decision_is_hold(v.decision))
                manager_say_held(m, v.decision);
        else if (v.decision == MONITOR_FAILOVER &&
                 manager_start_failover(m, "automatic", v.fence_required, NULL, false) == -EALREADY)
                m->last_said = MONITOR_HOLD_ALREADY_DONE;       /* a record turned up (said); refused: tried again */
}

/* ---- signals and reload --------------------------------------------------------------------------------- */

static int load_checked_config(const char *path, struct config **ret) {
        struct config_errors errs;
        struct config *c = NULL;
        int r;

        config_errors_init(&errs, path);
        r = config_load_file(path, &c, &errs);
        if (r == 0)
                r = roles_apply_from_record(c, &errs);
        if (r == 0)
                r = check_environment(c, &errs);
        for (size_t i = 0; i < errs.n; i++) {
                const struct config_error *e = &errs.items[i];
                if (e->line > 0)
                        log_error("config reload rejected: %s:%u:%u: %s", path, e->line, e->col, e->message);
                else
                        log_error("config reload rejected: %s: %s", path, e->message);
        }
        config_errors_done(&errs);
        if (r < 0) {
                config_free(c);
                return r;
        }
        for (size_t i = 0; i < c->warnings.n; i++)
                log_warning("%s:%u:%u: %s", path, c->warnings.items[i].line, c->warnings.items[i].col,
                            c->warnings.items[i].message);
        *ret = c;
        return 0;
}

/* The lock and the control socket live in state_dir: moving it means another pair, which takes a restart. So
 * does the cluster member's identity (name, prefix, lease_ttl: its keys and lease in etcd). */
int manager_load_reload_config(struct manager *m, struct config **ret) {
        struct config *fresh = NULL;
        char why[256];
        int r = load_checked_config(m->config_path, &fresh);

        if (r < 0)
                return r;
        if (config_cluster_restart_needed(m->config, fresh, why, sizeof why)) {
                log_error("config reload rejected: %s: %s; restart the daemon to apply it", m->config_path, why);
                config_free(fresh);
                return -EINVAL;
        }
        if (strcmp(fresh->state_dir, m->config->state_dir) != 0) {
                log_error("config reload rejected: %s: state_dir changed from %s to %s; the daemon holds the lock "
                          "and control socket there: restart it to move", m->config_path, m->config->state_dir,
                          fresh->state_dir);
                config_free(fresh);
                return -EINVAL;
        }
        *ret = fresh;
        return 0;
}

/* Puts a checked config in force (takes it): endpoints, probes, the confirm command, the record, a tick now. */
int manager_apply_config(struct manager *m, struct config *fresh) {
        struct config *old = m->config;
        int r;

        m->config = fresh;
        m->roles_stale = false;         /* a config read with the record's roles is in force */
        if (m->observe)
                observe_reload(m->observe, fresh);
        r = endpoints_init(m, old);
        if (r >= 0)
                r = dbprobes_init(m);
        m->confirm = spawn_free(m->confirm);
        m->confirm_state = fresh->confirm.argv ? MONITOR_CONFIRM_UNKNOWN : MONITOR_CONFIRM_OFF;
        if (m->member)
                (void) member_reconfigure(m->member, fresh);
        if (r >= 0 && m->observe)       /* daemon mode */
                r = sshmux_reload(&m->sshmux, m->event, fresh);
        for (unsigned i = 0; r >= 0 && m->observe && i < CONFIG_SITES; i++)
                r = sshmux_reload_site(&m->site_mux[i], m->event, fresh, i);
        config_free(old);
        if (r < 0) {
                log_error_errno(r, "reload: cannot set up the health checks: %s", strerror(-r));
                sd_event_exit(m->event, EXIT_FAILURE);
                return r;
        }
        manager_load_state(m);
        manager_load_pause(m);
        m->last_said = MONITOR_WAIT;
        m->next_tick_usec = now_monotonic_usec();
        sd_event_source_set_time(m->tick, m->next_tick_usec);
        if (m->request_once) {  /* the targets changed: only the new ones' answers, from the tick now, count */
                m->request_since_usec = m->next_tick_usec;
                log_notice("--once: the config was reloaded while deciding; asking the new targets");
        }
        return 0;
}

static void manager_reload(struct manager *m) {
        struct config *fresh = NULL;
        struct event ev = { .exit_status = -1 };
        int r;

        notify_reloading(&m->notify);
        r = manager_load_reload_config(m, &fresh);
        if (r < 0) {
                ev.kind = EVENT_CONFIG_REJECTED;
                event_emit(&m->bus, &ev, "config reload rejected: %s has errors (above); still running the previous "
                           "config", m->config_path);
                notify_ready(&m->notify);
                return;
        }
        if (manager_apply_config(m, fresh) < 0)
                return;
        ev.kind = EVENT_CONFIG_RELOADED;
        event_emit(&m->bus, &ev, "config reloaded from %s%s", m->config_path,
                   m->failed_over ? " (a failover is recorded: still not failing over again)" : "");
        manager_update_status(m);
        notify_ready(&m->notify);
}

/* SIGUSR1: the live view in the log, for whoever has only the journal at hand. */
static void log_live_view(struct manager *m) {
        char status[256], why[512] = "";

        describe_status(m, status, sizeof status);
        if (!m->failover && monitor_decision_is_hold(m->last_said)) {
                struct gate_facts facts = manager_gate_facts(m);
                gates_describe_hold(&facts, m->last_said, why, sizeof why);
        }
        log_notice("status (SIGUSR1): %s%s%s; pid %d, state_dir %s", status, *why ? "; held: " : "", why,
                   (int) getpid(), m->config->state_dir);
}

/* SIGUSR2: debug logging on, and off again, without a restart that would reset the counters. */
static void toggle_debug(struct manager *m) {
        if (log_get_max_level() < LOG_LEVEL_DEBUG) {
                m->level_before_usr2 = log_get_max_level();
                log_set_max_level(LOG_LEVEL_DEBUG);
                log_notice("debug logging on (SIGUSR2); send SIGUSR2 again to turn it off");
        } else {
                log_set_max_level(m->level_before_usr2 ? m->level_before_usr2 : LOG_LEVEL_INFO);
                log_notice("debug logging off (SIGUSR2)");
        }
}

static void on_member_stopped(void *userdata) {
        struct manager *m = userdata;

        sd_event_exit(m->event, EXIT_SUCCESS);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;
        struct event ev = { .kind = EVENT_STOPPING, .exit_status = -1 };

        if (si->ssi_signo == SIGHUP) {
                if (m->once || m->exit_when_done) /* a one-shot run's targets and answers are its own */
                        log_notice("SIGHUP ignored: a one-shot run keeps the config it started with");
                else if (m->switchover || m->rejoin) {  /* its steps read the config in force: it stays to the end */
                        log_notice("SIGHUP: the config is reloaded when the %s in progress ends",
                                   m->switchover ? "switchover" : "rejoin");
                        m->reload_after_op = true;
                } else
                        manager_reload(m);
                return 0;
        }
        if (si->ssi_signo == SIGUSR1) {
                log_live_view(m);
                return 0;
        }
        if (si->ssi_signo == SIGUSR2) {
                toggle_debug(m);
                return 0;
        }
        notify_stopping(&m->notify);
        event_emit(&m->bus, &ev, "stopping (signal %s)%s", sigabbrev_np((int) si->ssi_signo),
                   m->failover ? ": a failover is in progress and is being interrupted" : "");
        if (m->switchover || m->rejoin)
                log_warning("stopping: a %s is in progress and is being interrupted; the record says where",
                            m->switchover ? "switchover" : "rejoin");
        m->failover = failover_free(m->failover);
        m->switchover = switchover_free(m->switchover);
        m->rejoin = rejoin_free(m->rejoin);
        if (m->member && !m->stopping) {        /* a leader hands over at once: its lease is revoked (≤ 1 s) */
                m->stopping = true;
                member_stop(m->member, on_member_stopped, m);
                return 0;
        }
        return sd_event_exit(m->event, m->once || m->exit_when_done ? EXIT_FAILURE : EXIT_SUCCESS);
}

static int setup_signals(struct manager *m) {
        static const int signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };
        struct sigaction ignore = { .sa_handler = SIG_IGN };
        sigset_t mask;
        int r;

        /* A caller that hangs up must not kill the daemon (sends also use MSG_NOSIGNAL); children get SIG_DFL back. */
        if (sigaction(SIGPIPE, &ignore, NULL) < 0)
                return -errno;
        /* sd-event reads signals from a signalfd and children via SIGCHLD: both must be blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                sigaddset(&mask, signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                r = sd_event_add_signal(m->event, NULL, signals[i], on_signal, m);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------------------------ */

int manager_new(const char *config_path, struct config *config, struct manager **ret) {
        struct manager *m = calloc(1, sizeof *m);
        int r;

        if (!m) {
                config_free(config);
                return -ENOMEM;
        }
        m->config = config;
        m->config_path = strdup(config_path);
        r = m->config_path ? sd_event_default(&m->event) : -ENOMEM;
        if (r >= 0)
                r = event_subscribe(&m->bus, event_log_listener, NULL);
        if (r >= 0)
                r = setup_signals(m);
        if (r >= 0)
                r = sd_event_set_watchdog(m->event, true);      /* pings WATCHDOG=1 from the loop itself */
        if (r >= 0)
                r = health_new(m->event, &m->health);
        if (r >= 0)
                r = endpoints_init(m, NULL);
        if (r >= 0)
                r = dbprobes_init(m);
        if (r < 0) {
                manager_free(m);
                return r;
        }
        m->started_usec = now_monotonic_usec();
        m->confirm_state = config->confirm.argv ? MONITOR_CONFIRM_UNKNOWN : MONITOR_CONFIRM_OFF;
        manager_load_state(m);
        manager_load_pause(m);
        *ret = m;
        return 0;
}

struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        if (m->call) {
                log_error("control: the daemon is stopping; the command it was carrying out is interrupted (see "
                          "--status)");
                manager_command_finish(m, EXIT_FAILURE);
        }
        control_free(m->control);
        failover_free(m->failover);
        switchover_free(m->switchover);
        rejoin_free(m->rejoin);
        memcmd_free(m->memcmd);         /* after the command in progress finished (above) */
        member_free(m->member);         /* before health_free: its requests ride on the health multi */
        observe_free(m->observe);       /* before health_free: its webhook posts ride on the health multi */
        sshmux_free(m->sshmux);         /* kills the ssh master, removes its socket */
        for (unsigned i = 0; i < CONFIG_SITES; i++)
                sshmux_free(m->site_mux[i]);
        spawn_free(m->confirm);
        dbprobe_free(m->standby_db);
        dbprobe_free(m->primary_db);
        sd_event_source_disable_unref(m->tick);
        endpoint_free(&m->active);
        endpoint_free(&m->standby);
        health_free(m->health);
        sd_event_unref(m->event);
        config_free(m->config);
        notify_done(&m->notify);
        free(m->config_path);
        free(m);
        return NULL;
}

int manager_run_loop(struct manager *m) {
        int r = sd_event_loop(m->event);

        if (r < 0)
                return log_error_errno(r, "event loop failed: %s", strerror(-r)), EXIT_FAILURE;
        return r;
}

void manager_resume_interrupted(struct manager *m) {
        if (manager_failover_interrupted(m) && m->pause.paused) {
                log_warning("failover: the record says a failover was interrupted; the pair is paused: it resumes "
                            "after blfailoverd --resume");
                m->last_said = MONITOR_HOLD_ALREADY_DONE;
        } else if (manager_failover_interrupted(m)) {
                /* The daemon died mid-failover: finish what the record says is left (failover.c decides if safe). */
                struct state interrupted = m->state;
                log_warning("failover: the record says a failover was interrupted; resuming it");
                m->last_said = MONITOR_HOLD_ALREADY_DONE;
                if (manager_start_failover(m, "resumed", false, &interrupted, true) < 0)
                        manager_say_already_done(m);
        } else if (m->failed_over) {
                manager_say_already_done(m);
                m->last_said = MONITOR_HOLD_ALREADY_DONE;
        }
        if (switchover_interrupted(&m->state) && m->pause.paused)
                log_warning("switchover: the record says a switchover was interrupted; the pair is paused: it is "
                            "put back (or finished, past its promotion) after blfailoverd --resume");
        else if (switchover_interrupted(&m->state))
                manager_command_switchover(m, NULL);
}

int manager_run_daemon(struct manager *m) {
        const struct config_health *h = &m->config->health;
        struct event ev = { .kind = EVENT_DAEMON_STARTED, .exit_status = -1 };
        int r;

        m->started_realtime_usec = now_realtime_usec();
        if (control_start(m) < 0)
                return EXIT_FAILURE;
        r = observe_new(m->event, m->health, &m->bus, m->config, &m->observe);
        if (r < 0)      /* a metrics address that cannot be bound is already explained in the log */
                return log_error_errno(r, "cannot start the status file, metrics, alerts or hooks: %s", strerror(-r)),
                       EXIT_FAILURE;
        r = sshmux_new(m->event, m->config, &m->sshmux);
        for (unsigned i = 0; r >= 0 && i < CONFIG_SITES; i++)
                r = sshmux_new_site(m->event, m->config, i, &m->site_mux[i]);
        if (r < 0)
                return log_error_errno(r, "cannot start the ssh master: %s", strerror(-r)), EXIT_FAILURE;
        m->next_tick_usec = now_monotonic_usec();
        r = sd_event_add_time(m->event, &m->tick, CLOCK_MONOTONIC, m->next_tick_usec, 1, on_tick, m);
        if (r < 0)
                return log_error_errno(r, "cannot arm the check timer: %s", strerror(-r)), EXIT_FAILURE;
        event_emit(&m->bus, &ev, "started: watching active %s (%s) and standby %s (%s) every %.3gs, timeout %.3gs, "
                   "failover after %u failures", m->config->active.name, m->active.url_shown, m->config->standby.name,
                   m->standby.url_shown, (double) h->interval_usec / 1e6, (double) h->timeout_usec / 1e6,
                   h->failure_threshold);
        if (m->pause.paused)
                manager_say_paused(m, "");
        r = manager_cluster_start(m);
        if (r < 0)
                return log_error_errno(r, "cannot start the cluster member: %s", strerror(-r)), EXIT_FAILURE;
        if (!m->member)         /* in a cluster, the member that takes the lead resumes */
                manager_resume_interrupted(m);
        manager_update_status(m);
        notify_ready(&m->notify);
        return manager_run_loop(m);
}

/* ---- commands from the CLI, carried out by the daemon (control.h) -------------------------------------- */

static void tee_to_caller(const char *level_name, const char *text, void *userdata) {
        struct manager *m = userdata;

        if (m->call)
                control_call_log(m->call, level_name, text);
}

void manager_command_out(struct manager *m, const char *fmt, ...) {
        char line[CONTROL_MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        log_info("%s", line);
        if (m->call)
                control_call_out(m->call, line);
}

/* ---- switchover --------------------------------------------------------------------------------------- */

/* ---- rejoin ------------------------------------------------------------------------------------------- */

void manager_control_request(struct manager *m, struct control_call *call, const struct control_request *req) {
        m->call = call;
        log_notice("control: %s%s requested by pid %d (uid %u)", control_command_to_string(req->command),
                   req->force ? " --force" : "", (int) req->pid, (unsigned) req->uid);
        log_set_tee(tee_to_caller, m);
        switch (req->command) {
        case CONTROL_ONCE:
                manager_command_once(m, req->force);
                break;
        case CONTROL_CLEAR_STATE:
                manager_command_clear_state(m, req->forget_roles);
                break;
        case CONTROL_PAUSE:
                manager_command_pause(m, req);
                break;
        case CONTROL_RESUME:
                manager_command_resume(m);
                break;
        case CONTROL_SWITCHOVER:
                manager_command_switchover(m, req->site);
                break;
        case CONTROL_REJOIN:
                manager_command_rejoin(m, req->reclone);
                break;
        }
}

static void on_control_request(struct control_call *call, const struct control_request *req, void *userdata) {
        struct manager *m = userdata;

        if (manager_cluster_forward(m, call, req))
                return;
        manager_control_request(m, call, req);
}

/* Ctrl-C on the command line withdraws a --once that is still deciding; once a failover runs, it runs to its end
 * (interrupting one half-way is worse than finishing it) and the journal tells the rest. */
static void on_control_hangup(struct control_call *call, void *userdata) {
        struct manager *m = userdata;

        if (call != m->call)
                return;
        if (m->request_once && !m->failover) {
                log_notice("--once withdrawn: its caller hung up before a decision; nothing was changed");
                manager_command_finish(m, EXIT_FAILURE);
        } else if (m->switchover)
                log_notice("control: the caller hung up; the switchover goes on (the journal and --status tell how "
                           "it ends)");
        else if (m->failover)
                log_notice("control: the caller hung up; the failover goes on (the journal and --status tell how it "
                           "ends)");
}

static int control_start(struct manager *m) {
        int r = control_listen(m->event, m->config->state_dir, on_control_request, on_control_hangup, m,
                               &m->control);

        if (r < 0)
                log_error_errno(r, "cannot open the control socket %s/%s: %s%s", m->config->state_dir,
                                CONTROL_SOCKET_NAME, strerror(-r), r == -ENAMETOOLONG ? " (shorten state_dir)" : "");
        return r;
}

/* ---- --once --dry-run: the drill ---------------------------------------------------------------------- */
