/* webhook: a bounded, ordered queue of alert posts with timeout, retries and backoff. */
#include "webhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct webhook_item {
        char *body;
        size_t size;
        char what[96];
        unsigned attempts;              /* posts tried so far */
};

struct webhook {
        sd_event *event;
        struct health *health;
        char *url;
        char *url_shown;                /* redacted: the only form that reaches a log line */
        char *key;                      /* the config key naming this receiver */
        uint64_t timeout_usec;
        unsigned retries;
        struct webhook_item queue[WEBHOOK_QUEUE_MAX];   /* a ring: head is the one being delivered */
        size_t head, n;
        struct health_request *inflight;
        sd_event_source *retry;         /* the backoff timer */
};

uint64_t webhook_backoff_usec(unsigned attempt) {
        uint64_t d = WEBHOOK_BACKOFF_FIRST_USEC;

        for (unsigned i = 1; i < attempt && d < WEBHOOK_BACKOFF_MAX_USEC; i++)
                d *= 2;
        return d < WEBHOOK_BACKOFF_MAX_USEC ? d : WEBHOOK_BACKOFF_MAX_USEC;
}

static struct webhook_item *head(struct webhook *w) {
        return w->n ? &w->queue[w->head] : NULL;
}

static void pop(struct webhook *w) {
        free(w->queue[w->head].body);
        w->queue[w->head] = (struct webhook_item) {};
        w->head = (w->head + 1) % WEBHOOK_QUEUE_MAX;
        w->n--;
}

static void deliver_next(struct webhook *w);

enum webhook_verdict webhook_verdict(enum health_status status, long http_code, unsigned attempts, unsigned retries) {
        if (status == HEALTH_OK)
                return WEBHOOK_DELIVERED;
        /* A 4xx says the body is wrong and would be refused again — except 408 and 429, which say "later". */
        if (status == HEALTH_HTTP_STATUS && http_code >= 400 && http_code <= 499 && http_code != 408 &&
            http_code != 429)
                return WEBHOOK_REFUSED;
        return attempts > retries ? WEBHOOK_GIVE_UP : WEBHOOK_RETRY;
}

static void describe(const struct health_result *r, char *why, size_t size) {
        if (r->status == HEALTH_HTTP_STATUS)
                snprintf(why, size, "HTTP status %ld", r->http_code);
        else
                snprintf(why, size, "%s%s%s", health_status_to_string(r->status), r->error[0] ? ": " : "", r->error);
}

static void on_posted(struct health_request *q, const struct health_result *r, void *userdata) {
        struct webhook *w = userdata;
        struct webhook_item *it = head(w);
        enum webhook_verdict v = webhook_verdict(r->status, r->http_code, it->attempts, w->retries);
        char why[320];

        w->inflight = health_request_free(q);
        describe(r, why, sizeof why);
        if (v == WEBHOOK_RETRY) {
                log_warning("alerts: posting %s to %s failed (attempt %u of %u): %s; retrying in %.0fs", it->what,
                            w->url_shown, it->attempts, w->retries + 1, why,
                            (double) webhook_backoff_usec(it->attempts) / 1e6);
                (void) sd_event_source_set_time_relative(w->retry, webhook_backoff_usec(it->attempts));
                (void) sd_event_source_set_enabled(w->retry, SD_EVENT_ONESHOT);
                return;
        }
        if (v == WEBHOOK_DELIVERED)
                log_debug("alerts: posted %s to %s (HTTP %ld, %.0f ms)", it->what, w->url_shown, r->http_code,
                          (double) r->latency_usec / 1000.0);
        else if (v == WEBHOOK_REFUSED)
                log_error("alerts: %s refused %s: %s; not retried (the same body would be refused again: check "
                          "that %s points at the right kind of receiver)", w->url_shown, it->what, why, w->key);
        else
                log_error("alerts: giving up on %s after %u attempts to %s: %s (check the receiver and %s)",
                          it->what, it->attempts, w->url_shown, why, w->key);
        pop(w);
        deliver_next(w);
}

/* Starts the head's next attempt unless one is in flight or waiting for its backoff. */
static void deliver_next(struct webhook *w) {
        struct webhook_item *it = head(w);
        int enabled = SD_EVENT_OFF, r;

        (void) sd_event_source_get_enabled(w->retry, &enabled);
        if (!it || w->inflight || enabled != SD_EVENT_OFF)
                return;
        it->attempts++;
        r = health_post(w->health, w->url, "application/json", it->body, it->size, w->timeout_usec, on_posted, w,
                        &w->inflight);
        if (r < 0) {
                log_error_errno(r, "alerts: cannot post %s to %s: %s; dropped", it->what, w->url_shown, strerror(-r));
                pop(w);
                deliver_next(w);        /* bounded: each round pops one */
        }
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct webhook *w = userdata;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        deliver_next(w);
        return 0;
}

int webhook_send(struct webhook *w, const char *body, size_t size, const char *what) {
        struct webhook_item *it;
        char *copy = malloc(size + 1);

        if (!copy)
                return -ENOMEM;
        memcpy(copy, body, size);
        copy[size] = 0;
        if (w->n == WEBHOOK_QUEUE_MAX) {
                /* The head may be in flight: drop the oldest one still waiting behind it. */
                size_t victim = (w->head + (w->inflight ? 1 : 0)) % WEBHOOK_QUEUE_MAX;
                log_warning("alerts: queue full (%u posts waiting for %s): dropping the oldest, %s",
                            WEBHOOK_QUEUE_MAX, w->url_shown, w->queue[victim].what);
                free(w->queue[victim].body);
                for (size_t i = victim; i != (w->head + w->n - 1) % WEBHOOK_QUEUE_MAX; i = (i + 1) % WEBHOOK_QUEUE_MAX)
                        w->queue[i] = w->queue[(i + 1) % WEBHOOK_QUEUE_MAX];
                w->n--;
        }
        it = &w->queue[(w->head + w->n) % WEBHOOK_QUEUE_MAX];
        *it = (struct webhook_item) { .body = copy, .size = size };
        snprintf(it->what, sizeof it->what, "%s", what);
        w->n++;
        deliver_next(w);
        return 0;
}

/* Drops every item waiting behind the head, and the head too unless it is in flight. */
static void drop_waiting(struct webhook *w) {
        size_t keep = w->inflight ? 1 : 0;

        while (w->n > keep) {
                size_t last = (w->head + w->n - 1) % WEBHOOK_QUEUE_MAX;

                free(w->queue[last].body);
                w->queue[last] = (struct webhook_item) {};
                w->n--;
        }
}

int webhook_send_latest(struct webhook *w, const char *body, size_t size, const char *what) {
        drop_waiting(w);
        return webhook_send(w, body, size, what);
}

int webhook_new(sd_event *e, struct health *h, const char *url, const char *key, uint64_t timeout_usec,
                unsigned retries, struct webhook **ret) {
        struct webhook *w = calloc(1, sizeof *w);
        int r;

        if (!w)
                return -ENOMEM;
        *w = (struct webhook) { .event = sd_event_ref(e), .health = h, .timeout_usec = timeout_usec,
                                .retries = retries };
        w->url = strdup(url);
        w->url_shown = health_url_redact(url);
        w->key = strdup(key);
        r = w->url && w->url_shown && w->key ? 0 : -ENOMEM;
        if (r >= 0)
                r = sd_event_add_time_relative(e, &w->retry, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_retry, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->retry, SD_EVENT_OFF);
        if (r < 0) {
                webhook_free(w);
                return r;
        }
        (void) sd_event_source_set_description(w->retry, "webhook-retry");
        *ret = w;
        return 0;
}

struct webhook *webhook_free(struct webhook *w) {
        if (!w)
                return NULL;
        if (w->n > 0)
                log_warning("alerts: %zu alert post(s) to %s not delivered (stopping or reconfigured)", w->n,
                            w->url_shown);
        health_request_free(w->inflight);
        while (w->n > 0)
                pop(w);
        sd_event_source_disable_unref(w->retry);
        sd_event_unref(w->event);
        free(w->url);
        free(w->url_shown);
        free(w->key);
        free(w);
        return NULL;
}
