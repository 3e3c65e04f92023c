/* mode_once: --once — from the command line, or a request the daemon carries out — deciding on fresh answers
 * (every gate but the threshold; a lagging standby gets catch_up_timeout), and its drill (--once --dry-run). */
#include "manager_core.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void drill_gates_decided(struct manager *m, struct monitor_verdict v);
static bool request_answers_in(const struct manager *m);
static void request_ask(struct manager *m);
static void decide_once(struct manager *m, struct monitor_verdict v);

bool manager_once_on_decision(struct manager *m) {
        if (m->once) {
                if (m->once_pending == 0 && !m->failover)
                        decide_once(m, manager_evaluate(m, true));
                return true;
        }
        /* A --once given to the daemon decides on answers to questions asked after it; the daemon's own decision
         * (below, in the core) goes on beside it. */
        if (m->request_once && !m->failover && !m->request_pausing) {
                if (request_answers_in(m))
                        decide_once(m, manager_evaluate(m, true));
                else
                        request_ask(m);
        }
        return false;
}

/* A --once given to the daemon decides, as the one-shot process does, on answers to questions asked after it:
 * an answer that comes back later but was asked before (a check or query already out) does not count. */
static bool request_answers_in(const struct manager *m) {
        uint64_t since = m->request_since_usec;

        return m->standby.answer_started_mono_usec >= since &&
               (!m->standby_db || dbprobe_answer_asked_usec(m->standby_db) >= since) &&
               (!m->primary_db || dbprobe_answer_asked_usec(m->primary_db) >= since);
}

/* Asks what has no fresh answer and is idle; one busy with an older question is asked again when it answers. A
 * check in flight is never cut short for this: cancelling it would count as a failure. */
static void request_ask(struct manager *m) {
        uint64_t since = m->request_since_usec;
        int r;

        if (!health_target_busy(m->standby.target) && m->standby.answer_started_mono_usec < since) {
                manager_endpoint_start_check(&m->standby);
                m->standby.off_cadence = true;
        }
        if (m->standby_db && !dbprobe_busy(m->standby_db) && dbprobe_answer_asked_usec(m->standby_db) < since &&
            (r = dbprobe_ask(m->standby_db)) < 0)
                log_error_errno(r, "standby database: cannot ask: %s", strerror(-r));
        if (m->primary_db && !dbprobe_busy(m->primary_db) && dbprobe_answer_asked_usec(m->primary_db) < since &&
            (r = dbprobe_ask(m->primary_db)) < 0)
                log_error_errno(r, "primary database: cannot ask: %s", strerror(-r));
}

static int on_request_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        m->request_retry = sd_event_source_disable_unref(m->request_retry);
        m->request_pausing = false;
        m->request_since_usec = now_monotonic_usec();
        request_ask(m);
        return 0;
}

/* --once: every gate but the threshold, decided once every first answer is in. */
static void decide_once(struct manager *m, struct monitor_verdict v) {
        int r;

        if (v.decision == MONITOR_ASK_CONFIRM) {
                manager_start_confirm(m);
                return;
        }
        if (v.decision == MONITOR_BUSY)
                return;
        /* A lagging standby gets database.catch_up_timeout to replay what it received. */
        if (v.decision == MONITOR_HOLD_LAG && now_monotonic_usec() < m->once_deadline_usec) {
                if (!m->once_said_lag)
                        log_notice("--once: waiting up to %.3gs for the standby to replay what it received",
                                   (double) m->config->database.catch_up_timeout_usec / 1e6);
                m->once_said_lag = true;
                if (!m->once) {         /* the daemon: fresh answers after a short pause decide */
                        m->request_pausing = true;
                        if (sd_event_add_time_relative(m->event, &m->request_retry, CLOCK_MONOTONIC,
                                                       250 * USEC_PER_MSEC, 0, on_request_retry, m) < 0)
                                m->request_pausing = false;
                        return;
                }
                m->once_pending = 1;
                sd_event_source_set_time_relative(m->tick, 250 * USEC_PER_MSEC);
                sd_event_source_set_enabled(m->tick, SD_EVENT_ONESHOT);
                return;
        }
        if (m->drill) {
                drill_gates_decided(m, v);
                return;
        }
        if (monitor_decision_is_hold(v.decision)) {
                manager_say_held(m, v.decision);
                manager_command_finish(m, EXIT_REFUSED);
                return;
        }
        m->request_once = false;        /* decided: from here on the failover's result answers it */
        m->request_deadline = sd_event_source_disable_unref(m->request_deadline);
        r = manager_start_failover(m, "manual", v.fence_required, NULL, false);
        if (r < 0)
                manager_command_finish(m, r == -EALREADY ? EXIT_REFUSED : EXIT_FAILURE);
}

static int on_once_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        manager_dbprobes_ask(m);
        return 0;
}

static void on_once_standby_checked(struct health_target *t, const struct health_result *r, void *userdata) {
        struct endpoint *ep = userdata;

        ep->manager->once_pending--;
        manager_on_health_done(t, r, userdata);
}

static int once_refuse_recorded(struct manager *m) {
        manager_say_already_done(m);
        log_error("--once refused: a failover is already recorded (see --status); override with --force");
        return EXIT_REFUSED;
}

/* How long a --once through the daemon may wait for its answers: the standby's catch-up, then one more round of
 * checks and queries, each bounded by its own timeout. */
static uint64_t request_patience_usec(const struct config *c) {
        uint64_t answer = c->health.timeout_usec > c->database.connect_timeout_usec ? c->health.timeout_usec
                          : c->database.connect_timeout_usec;

        return c->database.catch_up_timeout_usec + c->health.interval_usec + answer + USEC_PER_SEC;
}

static int on_request_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        const char *missing = m->standby.answer_started_mono_usec < m->request_since_usec ? "the standby's health check"
                : m->standby_db && dbprobe_answer_asked_usec(m->standby_db) < m->request_since_usec
                ? "the standby database" : m->primary_db ? "the primary database" : "a decision";

        m->request_deadline = sd_event_source_disable_unref(m->request_deadline);
        log_error("--once: no fresh answer from %s within %.3gs; not failing over (see --status and the log)", missing,
                  (double) request_patience_usec(m->config) / 1e6);
        manager_command_finish(m, EXIT_FAILURE);
        return 0;
}

void manager_command_once(struct manager *m, bool force) {
        const struct config *c = m->config;
        int r;

        if (manager_refuse_while_busy(m, "--once"))
                return;
        manager_load_state(m);          /* we hold the lock: the record on disk is the truth */
        if (m->failed_over && !force) {
                manager_command_finish(m, once_refuse_recorded(m));
                return;
        }
        if (force) {
                log_warning("--force: skipping every safety gate (recorded failover, standby health, database, "
                            "split-brain guard, confirm)");
                if (manager_start_failover(m, "manual", false, NULL, true) < 0)
                        manager_command_finish(m, EXIT_FAILURE);
                return;
        }
        m->request_once = true;
        m->once_said_lag = false;
        m->request_since_usec = now_monotonic_usec();
        m->once_deadline_usec = m->request_since_usec + c->database.catch_up_timeout_usec;
        r = sd_event_add_time_relative(m->event, &m->request_deadline, CLOCK_MONOTONIC, request_patience_usec(c), 0,
                                       on_request_deadline, m);
        if (r < 0) {
                log_error_errno(r, "--once: cannot arm its deadline: %s", strerror(-r));
                manager_command_finish(m, EXIT_FAILURE);
                return;
        }
        /* A second opinion asked before the request is not an answer to it. */
        if (m->confirm_state == MONITOR_CONFIRM_RUNNING || m->confirm_state == MONITOR_CONFIRM_ACTIVE_ALIVE ||
            m->confirm_state == MONITOR_CONFIRM_ACTIVE_DOWN) {
                m->confirm = spawn_free(m->confirm);
                m->confirm_state = MONITOR_CONFIRM_UNKNOWN;
        }
        log_info("--once: asking the standby (and the databases) now; deciding on their answers");
        request_ask(m);
}

int manager_run_once(struct manager *m, bool force) {
        const struct config_health *h = &m->config->health;
        int r;

        m->once = true;
        m->force = force;
        if (m->failed_over && !force) {
                if (m->drill)
                        printf("drill verdict: HELD: a failover is already recorded (see --status); never twice\n");
                return once_refuse_recorded(m);
        }
        if (force) {
                log_warning("--force: skipping every safety gate (recorded failover, standby health, database, "
                            "split-brain guard, confirm)");
                r = manager_start_failover(m, "manual", false, NULL, true);
                return r < 0 ? EXIT_FAILURE : manager_run_loop(m);
        }
        m->once_deadline_usec = now_monotonic_usec() + m->config->database.catch_up_timeout_usec;
        m->once_pending = 1 + (m->standby_db != NULL) + (m->primary_db != NULL);
        r = sd_event_add_time_relative(m->event, &m->tick, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_once_tick, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->tick, SD_EVENT_OFF);
        health_target_free(m->standby.target);
        if (r >= 0)
                r = health_target_new(m->health, m->config->standby.url, h->timeout_usec, h->expect_body,
                                      on_once_standby_checked, &m->standby, &m->standby.target);
        if (r >= 0)
                r = health_target_start(m->standby.target);
        if (r < 0)
                return log_error_errno(r, "--once: cannot check the standby: %s", strerror(-r)), EXIT_FAILURE;
        manager_dbprobes_ask(m);
        return manager_run_loop(m);
}

static void on_drill_checks_done(struct drill *d, unsigned failed, void *userdata) {
        struct manager *m = userdata;
        struct gate_facts facts = manager_gate_facts(m);
        int code = gates_print_drill_verdict(&facts, m->drill_verdict, failed, stdout);

        fflush(stdout);
        sd_event_exit(m->event, code);
}

static void drill_gates_decided(struct manager *m, struct monitor_verdict v) {
        struct gate_facts facts = manager_gate_facts(m);
        int r;

        m->drill_verdict = v;
        gates_print_drill_facts(&facts, stdout);
        r = drill_start(m->event, m->config, stdout, on_drill_checks_done, m, &m->drill_checks);
        if (r < 0) {
                log_error_errno(r, "drill: cannot run the checks: %s", strerror(-r));
                sd_event_exit(m->event, EXIT_FAILURE);
        }
}

int manager_run_drill(struct manager *m) {
        int r;

        m->drill = true;
        printf("\nDrill: the checks that change nothing, against the live servers:\n");
        fflush(stdout);
        r = manager_run_once(m, false);
        m->drill_checks = drill_free(m->drill_checks);
        return r;
}
