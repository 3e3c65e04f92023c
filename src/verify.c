/* verify: the last step — the standby database out of recovery, then every verify URL answering 2xx. */
#include "verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "util.h"

#define VERIFY_POLL_USEC (250 * USEC_PER_MSEC)

struct verify_url {
        struct verify *verify;
        struct health_target *target;
        bool passed;
        struct health_result last;
};

struct verify {
        sd_event *event;
        struct health *health;
        const struct plan *plan;
        struct db_query *query;
        struct verify_url *urls;
        size_t n_urls;
        sd_event_source *poll;          /* next poll (db or urls) */
        uint64_t started_usec;
        uint64_t urls_started_usec;
        bool waiting_for_db;
        char db_last[300];
        verify_done_fn done;
        void *userdata;
};

static void __attribute__((format(printf, 3, 4))) finish(struct verify *v, bool ok, const char *fmt, ...) {
        char detail[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
        sd_event_source_set_enabled(v->poll, SD_EVENT_OFF);
        v->done(v, ok, detail, v->userdata);
}

static void schedule_poll(struct verify *v) {
        sd_event_source_set_time_relative(v->poll, VERIFY_POLL_USEC);
        sd_event_source_set_enabled(v->poll, SD_EVENT_ONESHOT);
}

/* ---- phase 2: the URLs -------------------------------------------------------------------------------- */

static const char *first_failing(struct verify *v) {
        for (size_t i = 0; i < v->n_urls; i++)
                if (!v->urls[i].passed)
                        return v->plan->verify_urls[i];
        return NULL;
}

static void check_urls_done(struct verify *v) {
        uint64_t spent = now_monotonic_usec() - v->urls_started_usec;
        const char *failing = first_failing(v);

        for (size_t i = 0; i < v->n_urls; i++)
                if (health_target_busy(v->urls[i].target))
                        return;
        if (!failing) {
                finish(v, true, "%severy verify URL answered 2xx (%.3fs)", v->plan->db_standby
                       ? "standby database left recovery; " : "", (double) (now_monotonic_usec() - v->started_usec) / 1e6);
                return;
        }
        if (spent >= v->plan->verify_timeout_usec) {
                _cleanup_free_ char *shown = health_url_redact(failing);
                finish(v, false, "%s did not answer 2xx within %.3gs", shown ? shown : "a verify URL",
                       (double) v->plan->verify_timeout_usec / 1e6);
                return;
        }
        schedule_poll(v);
}

static void on_url_checked(struct health_target *t, const struct health_result *r, void *userdata) {
        struct verify_url *u = userdata;

        u->last = *r;
        u->passed = u->passed || r->status == HEALTH_OK;
        check_urls_done(u->verify);
}

static void poll_urls(struct verify *v) {
        for (size_t i = 0; i < v->n_urls; i++)
                if (!v->urls[i].passed && !health_target_busy(v->urls[i].target))
                        (void) health_target_start(v->urls[i].target);
}

static int start_urls(struct verify *v) {
        int r;

        v->waiting_for_db = false;
        v->urls_started_usec = now_monotonic_usec();
        for (size_t i = 0; i < v->n_urls; i++) {
                v->urls[i].verify = v;
                r = health_target_new(v->health, v->plan->verify_urls[i], v->plan->health_timeout_usec, NULL,
                                      on_url_checked, &v->urls[i], &v->urls[i].target);
                if (r < 0)
                        return r;
        }
        poll_urls(v);
        return 0;
}

/* ---- phase 1: the database ---------------------------------------------------------------------------- */

static void on_recovery_checked(struct db_query *q, const struct db_result *r, void *userdata) {
        struct verify *v = userdata;
        bool in_recovery = true;
        uint64_t spent = now_monotonic_usec() - v->started_usec;

        if (r->error < 0)
                snprintf(v->db_last, sizeof v->db_last, "%.280s", r->message);
        else if (db_parse_bool(r->values[0], &in_recovery) < 0)
                snprintf(v->db_last, sizeof v->db_last, "unexpected answer to pg_is_in_recovery()");
        else
                snprintf(v->db_last, sizeof v->db_last, "pg_is_in_recovery() = %s", in_recovery ? "t" : "f");
        v->query = db_query_free(v->query);
        if (r->error == 0 && !in_recovery) {
                int k = start_urls(v);
                if (k < 0)
                        finish(v, false, "cannot check the verify URLs: %s", strerror(-k));
                return;
        }
        if (spent >= v->plan->promote_timeout_usec) {
                finish(v, false, "the standby database is still in recovery (%s) after %.3gs", v->db_last,
                       (double) spent / 1e6);
                return;
        }
        schedule_poll(v);
}

static void poll_db(struct verify *v) {
        int r = db_query_start(v->event, v->plan->db_standby, v->plan->db_password_file,
                               v->plan->db_connect_timeout_usec, DB_SQL_IN_RECOVERY, on_recovery_checked, v, &v->query);

        if (r < 0)
                finish(v, false, "cannot ask the standby database: %s", strerror(-r));
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        struct verify *v = userdata;

        if (v->waiting_for_db)
                poll_db(v);
        else
                poll_urls(v);
        return 0;
}

int verify_start(sd_event *e, struct health *h, const struct plan *p, verify_done_fn done, void *userdata,
                 struct verify **ret) {
        struct verify *v = calloc(1, sizeof *v);
        int r;

        if (!v)
                return -ENOMEM;
        *v = (struct verify) { .event = sd_event_ref(e), .health = h, .plan = p, .done = done, .userdata = userdata,
                               .started_usec = now_monotonic_usec(), .waiting_for_db = p->db_standby != NULL };
        v->n_urls = strv_length(p->verify_urls);
        v->urls = calloc(v->n_urls + 1, sizeof *v->urls);
        r = v->urls ? sd_event_add_time_relative(e, &v->poll, CLOCK_MONOTONIC, VERIFY_POLL_USEC, USEC_PER_MSEC,
                                                  on_poll, v) : -ENOMEM;
        if (r >= 0)
                r = sd_event_source_set_enabled(v->poll, SD_EVENT_OFF);
        if (r >= 0 && v->waiting_for_db)
                poll_db(v);
        else if (r >= 0)
                r = start_urls(v);
        if (r < 0) {
                verify_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

struct verify *verify_free(struct verify *v) {
        if (!v)
                return NULL;
        db_query_free(v->query);
        for (size_t i = 0; v->urls && i < v->n_urls; i++)
                health_target_free(v->urls[i].target);
        free(v->urls);
        sd_event_source_disable_unref(v->poll);
        sd_event_unref(v->event);
        free(v);
        return NULL;
}
