/* observe: the status file, metrics server, alert webhook, Alertmanager and hooks, fed by events and snapshots. */
#include "observe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "alertmanager.h"
#include "hooks.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "resolve.h"
#include "state.h"
#include "util.h"
#include "webhook.h"

#define STATUS_WRITE_GAP_MIN_USEC USEC_PER_SEC

#ifndef BLF_VERSION
#define BLF_VERSION "0.0.0"
#endif

#define ALERTS_PER_EVENT 4

struct observe {
        sd_event *event;
        struct health *health;
        char *state_dir;
        char *listen;                   /* metrics.listen in force, NULL: off */
        char instance[256];             /* this host's name: the alerts' instance label */
        char active_name[128], standby_name[128];       /* the configured names, for labels and BLF_* */
        uint64_t write_gap_usec;        /* at most one status write per this */
        uint64_t lag_warning_bytes;
        struct status status;           /* the latest snapshot */
        bool have_status;
        uint64_t written_usec;          /* CLOCK_MONOTONIC of the last status write */
        sd_event_source *write_timer;
        struct metrics metrics;
        struct alert_state alerts;
        struct httpd *httpd;
        struct resolve_query *listen_lookup;    /* a reload named metrics.listen by a host name: looked up off the loop */
        sd_event_source *listen_deadline;
        char *listen_wanted;                    /* that metrics.listen, until its lookup ends */
        struct webhook *webhook;
        struct alertmanager *alertmanager;
        char generator_url[320];        /* /health on metrics.listen, "" when off */
        struct hooks *hooks;
        struct config_alerts alerts_config;     /* what webhook/hooks were built from (strings owned here) */
        struct config_command hooks_config;
};

/* ---- the status file ------------------------------------------------------------------------------------ */

static void write_status(struct observe *o) {
        int r = status_save(o->state_dir, &o->status);

        o->written_usec = now_monotonic_usec();
        if (r < 0)
                log_warning_errno(r, "status: cannot write %s/%s: %s (--status shows an older view until this is "
                                  "fixed)", o->state_dir, STATUS_FILE_NAME, strerror(-r));
}

static int on_write_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        write_status(userdata);
        return 0;
}

/* ---- /metrics and /health ------------------------------------------------------------------------------- */

static int serve(const char *path, struct httpd_response *ret, void *userdata) {
        struct observe *o = userdata;
        struct state record;
        int r;

        if (strcmp(path, "/metrics") == 0) {
                /* The record is read per scrape: a failover in progress updates it after every step. */
                r = state_load(o->state_dir, &record);
                *ret = (struct httpd_response) { .status = 200, .content_type = "text/plain; version=0.0.4; charset=utf-8" };
                return metrics_render(&o->metrics, &o->status, r >= 0 ? &record : NULL, BLF_VERSION, &ret->body,
                                      &ret->body_len);
        }
        if (strcmp(path, "/health") == 0) {
                /* The record says how a failover ended (succeeded or failed); the live view only that one was. */
                r = state_load(o->state_dir, &record);
                *ret = (struct httpd_response) { .status = 200, .content_type = "application/json" };
                return metrics_health_json(&o->status, r >= 0 ? &record : NULL, &ret->body, &ret->body_len);
        }
        *ret = (struct httpd_response) { .status = 404, .content_type = "text/plain; charset=utf-8" };
        ret->body = strdup("not found: try /metrics or /health\n");
        ret->body_len = ret->body ? strlen(ret->body) : 0;
        return ret->body ? 0 : -ENOMEM;
}

/* Serves on `bind` (the address itself, or a host name's looked-up address with its port); `listen` is the config's
 * value, kept to see whether a reload changed it. */
static char *mfree_str(char *p) {
        free(p);
        return NULL;
}

static int start_httpd(struct observe *o, const char *listen, const char *bind) {
        const char *what = NULL;
        int r;

        free(o->listen);
        o->listen = NULL;
        o->httpd = httpd_free(o->httpd);
        if (!listen)
                return 0;
        r = httpd_new(o->event, bind, serve, o, &o->httpd, &what);
        if (r < 0)
                return log_error_errno(r, "metrics: cannot serve on metrics.listen %s: %s failed: %s (pick a free "
                                       "address and port, or remove metrics.listen)", listen, what, strerror(-r));
        o->listen = strdup(listen);
        if (!o->listen)
                return -ENOMEM;
        log_info("metrics: serving /metrics and /health on http://%s", listen);
        return 0;
}

/* ---- metrics.listen changed by a reload: a host name is looked up off the loop --------------------------- */

#define LISTEN_LOOKUP_TIMEOUT_USEC (10 * USEC_PER_SEC)

static void listen_lookup_end(struct observe *o) {
        o->listen_lookup = resolve_query_free(o->listen_lookup);
        o->listen_deadline = sd_event_source_disable_unref(o->listen_deadline);
        o->listen_wanted = mfree_str(o->listen_wanted);
}

/* "host:port" / "[v6]:port" → the host, brackets off; NULL when it has no port. */
static char *listen_host(const char *listen, const char **ret_port) {
        const char *colon = strrchr(listen, ':');
        size_t start = listen[0] == '[', n;

        if (!colon)
                return NULL;
        n = (size_t) (colon - listen) - start - (start && colon > listen && colon[-1] == ']');
        *ret_port = colon + 1;
        return strndup(listen + start, n);
}

static void on_listen_resolved(struct resolve_query *q, const struct resolve_result *res, void *userdata) {
        struct observe *o = userdata;
        const char *port = NULL;
        _cleanup_free_ char *host = listen_host(o->listen_wanted, &port), *bind = NULL, *wanted = NULL;

        (void) q;
        if (res->error < 0 || !host) {
                log_error("metrics: metrics.listen %s: %s cannot be looked up (%s); still serving on %s. Fix the name "
                          "(or use an address) and reload", o->listen_wanted, host ? host : "its host",
                          res->message ? res->message : strerror(-res->error), o->listen ? o->listen : "nothing");
                listen_lookup_end(o);
                return;
        }
        wanted = o->listen_wanted;
        o->listen_wanted = NULL;
        if (asprintf(&bind, strchr(res->addrs[0], ':') ? "[%s]:%s" : "%s:%s", res->addrs[0], port) < 0)
                bind = NULL;
        listen_lookup_end(o);
        if (bind)
                (void) start_httpd(o, wanted, bind);    /* logged there */
}

static int on_listen_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        struct observe *o = userdata;

        (void) s;
        (void) usec;
        log_error("metrics: metrics.listen %s: its host name was not looked up within %.0fs; still serving on %s. "
                  "Fix the name (or use an address) and reload", o->listen_wanted,
                  (double) LISTEN_LOOKUP_TIMEOUT_USEC / 1e6, o->listen ? o->listen : "nothing");
        listen_lookup_end(o);
        return 0;
}

/* An address is bound at once; a host name keeps the old listener until its lookup, in a worker thread, answers:
 * a slow resolver must not stall the checks (at start, before the loop runs, the lookup is made in place). */
static void change_listen(struct observe *o, const char *listen) {
        const char *port = NULL;
        _cleanup_free_ char *host = listen ? listen_host(listen, &port) : NULL;
        int r;

        listen_lookup_end(o);
        if (!listen || !host || resolve_is_ip_literal(host)) {
                (void) start_httpd(o, listen, listen);  /* logged there */
                return;
        }
        o->listen_wanted = strdup(listen);
        r = o->listen_wanted ? resolve_start(o->event, host, on_listen_resolved, o, &o->listen_lookup) : -ENOMEM;
        if (r >= 0)
                r = sd_event_add_time_relative(o->event, &o->listen_deadline, CLOCK_MONOTONIC,
                                               LISTEN_LOOKUP_TIMEOUT_USEC, USEC_PER_MSEC, on_listen_deadline, o);
        if (r < 0) {
                log_error_errno(r, "metrics: metrics.listen %s: cannot look %s up: %s; still serving on %s", listen,
                                host, strerror(-r), o->listen ? o->listen : "nothing");
                listen_lookup_end(o);
                return;
        }
        log_info("metrics: metrics.listen is now %s: looking %s up; still serving on %s meanwhile", listen, host,
                 o->listen ? o->listen : "nothing");
}

/* ---- alerts and hooks ----------------------------------------------------------------------------------- */

static void send_alerts(struct observe *o, const struct alert *a, size_t n) {
        alertmanager_update(o->alertmanager, a, n);
        for (size_t i = 0; i < n && o->webhook; i++) {
                _cleanup_free_ char *body = NULL;
                char what[96];
                size_t size;
                int r = alert_render(&a[i], o->instance, o->active_name, o->standby_name, &body, &size);

                snprintf(what, sizeof what, "%s %s", alert_kind_name(a[i].kind), a[i].resolved ? "resolved" : "firing");
                if (r >= 0)
                        r = webhook_send(o->webhook, body, size, what);
                if (r < 0)
                        log_error_errno(r, "alerts: cannot queue %s: %s", what, strerror(-r));
        }
}

static void run_hook(struct observe *o, const struct event *ev) {
        char **env = NULL;
        int r;

        if (!o->hooks || !hooks_wants(ev->kind))
                return;
        r = hooks_event_env(ev, o->active_name, o->standby_name, &env);
        if (r >= 0)
                r = hooks_run(o->hooks, env, event_kind_to_string(ev->kind));
        if (r < 0)
                log_error_errno(r, "hook %s: cannot queue: %s", event_kind_to_string(ev->kind), strerror(-r));
}

static void on_event(const struct event *ev, void *userdata) {
        struct observe *o = userdata;
        struct alert a[ALERTS_PER_EVENT];
        size_t n;

        if (ev->kind == EVENT_FAILOVER_SUCCEEDED || ev->kind == EVENT_FAILOVER_FAILED)
                metrics_count_failover(&o->metrics, ev->kind == EVENT_FAILOVER_SUCCEEDED);
        n = alert_on_event(&o->alerts, ev, now_realtime_usec(), a, ELEMENTSOF(a));
        send_alerts(o, a, n);
        run_hook(o, ev);
}

/* ---- snapshots ------------------------------------------------------------------------------------------ */

static void observe_checks(struct observe *o, const struct status *s) {
        if (s->active.checks != o->status.active.checks && s->active.checked_usec)
                metrics_observe_check(&o->metrics, METRICS_ACTIVE, s->active.latency_usec);
        if (s->standby.checks != o->status.standby.checks && s->standby.checked_usec)
                metrics_observe_check(&o->metrics, METRICS_STANDBY, s->standby.latency_usec);
}

void observe_update(struct observe *o, const struct status *s) {
        const struct status_db *db = &s->standby_db;
        struct alert a[ALERTS_PER_EVENT];
        uint64_t due;
        int enabled = SD_EVENT_OFF;

        observe_checks(o, s);
        o->status = *s;
        o->have_status = true;
        send_alerts(o, a, alert_on_lag(&o->alerts, db->configured && db->known && db->reachable, db->lag_bytes,
                                       o->lag_warning_bytes, now_realtime_usec(), a, ELEMENTSOF(a)));
        (void) sd_event_source_get_enabled(o->write_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;         /* a write is already due: it will take this snapshot */
        due = o->written_usec ? o->written_usec + o->write_gap_usec : 0;
        (void) sd_event_source_set_time(o->write_timer, due);
        (void) sd_event_source_set_enabled(o->write_timer, SD_EVENT_ONESHOT);
}

/* ---- configuration -------------------------------------------------------------------------------------- */

static bool same(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A reload that keeps the webhook's or the hooks' settings keeps their queues: nothing is dropped for nothing. */
static int setup_webhook(struct observe *o, const struct config_alerts *al) {
        struct config_alerts *was = &o->alerts_config;

        if (o->webhook && same(was->webhook_url, al->webhook_url) && was->timeout_usec == al->timeout_usec &&
            was->retries == al->retries)
                return 0;
        o->webhook = webhook_free(o->webhook);
        free(was->webhook_url);
        *was = (struct config_alerts) { .timeout_usec = al->timeout_usec, .retries = al->retries };
        if (!al->webhook_url)
                return 0;
        was->webhook_url = strdup(al->webhook_url);
        if (!was->webhook_url)
                return -ENOMEM;
        return webhook_new(o->event, o->health, al->webhook_url, "alerts.webhook_url", al->timeout_usec, al->retries,
                           &o->webhook);
}

/* The link in each alert: this daemon's /health. A wildcard listen address names no host: use ours instead. */
static void set_generator_url(struct observe *o, const char *listen) {
        const char *port = listen ? strrchr(listen, ':') : NULL;

        o->generator_url[0] = '\0';
        if (!port)
                return;
        if (strncmp(listen, "0.0.0.0:", 8) == 0 || strncmp(listen, "[::]:", 5) == 0)
                snprintf(o->generator_url, sizeof o->generator_url, "http://%s%s/health", o->instance, port);
        else
                snprintf(o->generator_url, sizeof o->generator_url, "http://%s/health", listen);
}

static int setup_alertmanager(struct observe *o, const struct config *c) {
        set_generator_url(o, c->metrics.listen);
        alertmanager_set_source(o->alertmanager, &(struct alert_source) {
                .instance = o->instance, .active = o->active_name, .standby = o->standby_name,
                .generator_url = o->generator_url });
        return alertmanager_configure(o->alertmanager, c->alerts.alertmanager_urls, c->alerts.timeout_usec,
                                      c->alerts.retries);
}

static int setup_hooks(struct observe *o, const struct config_command *h) {
        struct config_command *was = &o->hooks_config;

        if (o->hooks && strv_equal(was->argv, h->argv) && was->timeout_usec == h->timeout_usec)
                return 0;
        o->hooks = hooks_free(o->hooks);
        strv_free(was->argv);
        *was = (struct config_command) { .timeout_usec = h->timeout_usec };
        if (!h->argv)
                return 0;
        was->argv = strv_copy(h->argv);
        if (!was->argv)
                return -ENOMEM;
        return hooks_new(o->event, h->argv, h->timeout_usec, &o->hooks);
}

static int setup_delivery(struct observe *o, const struct config *c) {
        int r;

        snprintf(o->active_name, sizeof o->active_name, "%s", c->active.name);
        snprintf(o->standby_name, sizeof o->standby_name, "%s", c->standby.name);
        o->lag_warning_bytes = c->alerts.lag_warning_bytes;
        /* Fresh within a check interval, but not more than once a second: each write is a new file and a rename,
         * which at a 100 ms cadence would cost more CPU than the checks themselves (bench/). */
        o->write_gap_usec = c->health.fast_interval_usec ? c->health.fast_interval_usec : c->health.interval_usec;
        if (o->write_gap_usec < STATUS_WRITE_GAP_MIN_USEC)
                o->write_gap_usec = STATUS_WRITE_GAP_MIN_USEC;
        r = setup_webhook(o, &c->alerts);
        if (r >= 0)
                r = setup_alertmanager(o, c);
        if (r >= 0)
                r = setup_hooks(o, &c->hooks);
        return r;
}

void observe_reload(struct observe *o, const struct config *c) {
        int r;

        if (!same(o->listen, c->metrics.listen) && !(o->listen_wanted && same(o->listen_wanted, c->metrics.listen)))
                change_listen(o, c->metrics.listen);
        r = setup_delivery(o, c);
        if (r < 0)
                log_error_errno(r, "alerts/hooks: cannot set up after the reload: %s", strerror(-r));
}

int observe_new(sd_event *e, struct health *h, struct event_bus *bus, const struct config *c, struct observe **ret) {
        struct observe *o = calloc(1, sizeof *o);
        int r;

        if (!o)
                return -ENOMEM;
        *o = (struct observe) { .event = sd_event_ref(e), .health = h };
        if (gethostname(o->instance, sizeof o->instance - 1) < 0 || !o->instance[0])
                snprintf(o->instance, sizeof o->instance, "localhost");
        o->state_dir = strdup(c->state_dir);
        r = o->state_dir ? 0 : -ENOMEM;
        if (r >= 0)
                r = sd_event_add_time(e, &o->write_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_write_timer, o);
        if (r >= 0)
                r = sd_event_source_set_enabled(o->write_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = start_httpd(o, c->metrics.listen, c->metrics.listen);
        if (r >= 0)
                r = alertmanager_new(e, h, &o->alertmanager);
        if (r >= 0)
                r = setup_delivery(o, c);
        if (r >= 0)
                r = event_subscribe(bus, on_event, o);
        if (r < 0) {
                observe_free(o);
                return r;
        }
        *ret = o;
        return 0;
}

struct observe *observe_free(struct observe *o) {
        if (!o)
                return NULL;
        if (o->have_status) {
                o->status.running = false;
                o->status.updated_usec = now_realtime_usec();
                write_status(o);
        }
        sd_event_source_disable_unref(o->write_timer);
        listen_lookup_end(o);
        httpd_free(o->httpd);
        webhook_free(o->webhook);
        alertmanager_free(o->alertmanager);
        hooks_free(o->hooks);
        free(o->alerts_config.webhook_url);
        strv_free(o->hooks_config.argv);
        sd_event_unref(o->event);
        free(o->listen);
        free(o->state_dir);
        free(o);
        return NULL;
}
