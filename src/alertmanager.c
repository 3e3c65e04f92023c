/* alertmanager: the set of alerts Alertmanager must know, pushed to each configured one on change and periodically. */
#include "alertmanager.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "webhook.h"

struct alertmanager {
        sd_event *event;
        struct health *health;
        struct alertmanager_set set;
        char **urls;                    /* the configured base URLs, NULL-terminated; NULL: none */
        uint64_t timeout_usec;
        unsigned retries;
        struct webhook **posters;       /* one per URL */
        size_t n_posters;
        sd_event_source *resend;        /* every ALERTMANAGER_RESEND_USEC while there are URLs */
        char instance[256], active[128], standby[128], generator_url[512];
};

/* ---- the set (pure) ------------------------------------------------------------------------------------- */

static bool same_labels(const struct alert *a, const struct alert *b) {
        return a->kind == b->kind && strcmp(a->gate, b->gate) == 0 && strcmp(a->step, b->step) == 0 &&
               strcmp(a->member, b->member) == 0;
}

/* The resolved alert that ended first, or -1. */
static ssize_t oldest_resolved(const struct alertmanager_set *s) {
        ssize_t best = -1;

        for (size_t i = 0; i < s->n; i++)
                if (s->alerts[i].resolved && (best < 0 || s->alerts[i].ends_usec < s->alerts[best].ends_usec))
                        best = (ssize_t) i;
        return best;
}

int alertmanager_set_apply(struct alertmanager_set *s, const struct alert *a) {
        ssize_t victim;

        for (size_t i = 0; i < s->n; i++)
                if (same_labels(&s->alerts[i], a)) {
                        s->alerts[i] = *a;
                        return 0;
                }
        if (s->n < ALERTMANAGER_SET_MAX) {
                s->alerts[s->n++] = *a;
                return 0;
        }
        victim = oldest_resolved(s);
        if (victim < 0)
                return -ENOSPC;
        s->alerts[victim] = *a;
        return 0;
}

size_t alertmanager_set_expire(struct alertmanager_set *s, uint64_t now_usec) {
        size_t kept = 0, n = s->n;

        for (size_t i = 0; i < n; i++) {
                const struct alert *a = &s->alerts[i];

                if (a->resolved && a->ends_usec + ALERTMANAGER_RESOLVED_KEEP_USEC <= now_usec)
                        continue;
                s->alerts[kept++] = *a;
        }
        s->n = kept;
        return n - kept;
}

char *alertmanager_api_url(const char *base) {
        size_t n = strlen(base);
        char *url;

        while (n > 0 && base[n - 1] == '/')
                n--;
        if (asprintf(&url, "%.*s%s", (int) n, base, ALERTMANAGER_API_PATH) < 0)
                return NULL;
        return url;
}

/* ---- pushing -------------------------------------------------------------------------------------------- */

static void push(struct alertmanager *m) {
        struct alert_source src = { m->instance, m->active, m->standby, m->generator_url };
        _cleanup_free_ char *body = NULL;
        size_t size, firing = 0;
        char what[96];
        int r;

        if (m->n_posters == 0 || m->set.n == 0)
                return;
        for (size_t i = 0; i < m->set.n; i++)
                firing += !m->set.alerts[i].resolved;
        snprintf(what, sizeof what, "%zu alert(s) (%zu firing, %zu resolved)", m->set.n, firing, m->set.n - firing);
        r = alert_render_alertmanager(m->set.alerts, m->set.n, &src, now_realtime_usec(), ALERTMANAGER_VALID_USEC,
                                      &body, &size);
        for (size_t i = 0; r >= 0 && i < m->n_posters; i++)
                r = webhook_send_latest(m->posters[i], body, size, what);
        if (r < 0)
                log_error_errno(r, "alerts: cannot queue %s for Alertmanager: %s", what, strerror(-r));
}

static int on_resend(sd_event_source *s, uint64_t usec, void *userdata) {
        struct alertmanager *m = userdata;

        alertmanager_set_expire(&m->set, now_realtime_usec());
        push(m);
        (void) sd_event_source_set_time_relative(s, ALERTMANAGER_RESEND_USEC);
        return 0;
}

void alertmanager_update(struct alertmanager *m, const struct alert *a, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (alertmanager_set_apply(&m->set, &a[i]) < 0)
                        log_error("alerts: %u alerts are firing at once; %s %s is not sent to Alertmanager",
                                  ALERTMANAGER_SET_MAX, alert_kind_name(a[i].kind),
                                  a[i].resolved ? "resolved" : "firing");
        if (n > 0)
                push(m);
}

void alertmanager_set_source(struct alertmanager *m, const struct alert_source *src) {
        snprintf(m->instance, sizeof m->instance, "%s", src->instance ? src->instance : "");
        snprintf(m->active, sizeof m->active, "%s", src->active ? src->active : "");
        snprintf(m->standby, sizeof m->standby, "%s", src->standby ? src->standby : "");
        snprintf(m->generator_url, sizeof m->generator_url, "%s", src->generator_url ? src->generator_url : "");
}

/* ---- configuration -------------------------------------------------------------------------------------- */

static void drop_posters(struct alertmanager *m) {
        for (size_t i = 0; i < m->n_posters; i++)
                webhook_free(m->posters[i]);
        free(m->posters);
        m->posters = NULL;
        m->n_posters = 0;
        strv_free(m->urls);
        m->urls = NULL;
}

static int add_poster(struct alertmanager *m, const char *base) {
        _cleanup_free_ char *url = alertmanager_api_url(base);

        if (!url)
                return -ENOMEM;
        return webhook_new(m->event, m->health, url, "alerts.alertmanager_url", m->timeout_usec, m->retries,
                           &m->posters[m->n_posters++]);
}

int alertmanager_configure(struct alertmanager *m, char *const *base_urls, uint64_t timeout_usec, unsigned retries) {
        size_t n = strv_length(base_urls);
        int r = 0;

        if (m->urls && strv_equal(m->urls, base_urls) && m->timeout_usec == timeout_usec && m->retries == retries)
                return 0;
        drop_posters(m);
        m->timeout_usec = timeout_usec;
        m->retries = retries;
        (void) sd_event_source_set_enabled(m->resend, SD_EVENT_OFF);
        if (n == 0)
                return 0;
        m->urls = strv_copy(base_urls);
        m->posters = calloc(n, sizeof *m->posters);
        if (!m->urls || !m->posters)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = add_poster(m, base_urls[i]);
        if (r < 0) {
                drop_posters(m);        /* the slot that failed is NULL: webhook_free takes it */
                return r;
        }
        (void) sd_event_source_set_time_relative(m->resend, ALERTMANAGER_RESEND_USEC);
        (void) sd_event_source_set_enabled(m->resend, SD_EVENT_ON);
        push(m);
        return 0;
}

int alertmanager_new(sd_event *e, struct health *h, struct alertmanager **ret) {
        struct alertmanager *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        *m = (struct alertmanager) { .event = sd_event_ref(e), .health = h };
        r = sd_event_add_time_relative(e, &m->resend, CLOCK_MONOTONIC, ALERTMANAGER_RESEND_USEC, USEC_PER_SEC,
                                       on_resend, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->resend, SD_EVENT_OFF);
        if (r < 0) {
                alertmanager_free(m);
                return r;
        }
        (void) sd_event_source_set_description(m->resend, "alertmanager-resend");
        *ret = m;
        return 0;
}

struct alertmanager *alertmanager_free(struct alertmanager *m) {
        if (!m)
                return NULL;
        drop_posters(m);
        sd_event_source_disable_unref(m->resend);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
