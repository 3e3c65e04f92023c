/* alertmanager: owns keeping every Alertmanager in alerts.alertmanager_url told of blfailoverd's alerts through
 * its own API (POST BASE/api/v2/alerts) — the set of alerts it must know (the firing ones, and resolved ones for
 * ALERTMANAGER_RESOLVED_KEEP_USEC so that a resolve missed while it was down still arrives), sent whole on every
 * change and every ALERTMANAGER_RESEND_USEC (Alertmanager forgets an alert nobody re-sends), to each URL through
 * its own webhook (webhook.h: one post in flight, bounded by alerts.timeout, retried, never after a 4xx).
 * Which alerts fire is alert.h's; the body is alert.h's too. Nothing here waits. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "alert.h"
#include "health.h"
#include "util.h"

#define ALERTMANAGER_SET_MAX 32
#define ALERTMANAGER_RESEND_USEC (60 * USEC_PER_SEC)
/* A firing alert's endsAt: four re-sends ahead (as Prometheus does), so it resolves by itself 4 minutes after
 * we stop sending it, whatever the Alertmanager's resolve_timeout. */
#define ALERTMANAGER_VALID_USEC (4 * ALERTMANAGER_RESEND_USEC)
#define ALERTMANAGER_RESOLVED_KEEP_USEC (15 * 60 * USEC_PER_SEC)
#define ALERTMANAGER_API_PATH "/api/v2/alerts"

struct alertmanager_set {
        struct alert alerts[ALERTMANAGER_SET_MAX];
        size_t n;
};

/* Pure: a fired or resolved alert into the set. It replaces the one with the same labels (kind, gate, step), else
 * it is added; when the set is full the resolved alert that ended first makes room. -ENOSPC: all are firing. */
int alertmanager_set_apply(struct alertmanager_set *s, const struct alert *a);
/* Pure: drops the resolved alerts that ended ALERTMANAGER_RESOLVED_KEEP_USEC or more before now; how many. */
size_t alertmanager_set_expire(struct alertmanager_set *s, uint64_t now_usec);

/* Pure: BASE + ALERTMANAGER_API_PATH, without doubling a trailing '/'. malloc'd, NULL on ENOMEM. */
char *alertmanager_api_url(const char *base);

struct alertmanager;

int alertmanager_new(sd_event *e, struct health *h, struct alertmanager **ret);
/* Drops what is undelivered (webhook.h says how much). NULL is fine. */
struct alertmanager *alertmanager_free(struct alertmanager *m);

/* Which Alertmanagers (NULL or empty: none) and how to post to them. The set is kept; when there are URLs, it is
 * sent to them now. Unchanged settings keep the posts in flight. */
int alertmanager_configure(struct alertmanager *m, char *const *base_urls, uint64_t timeout_usec, unsigned retries);
/* The labels and link every alert carries (strings copied). */
void alertmanager_set_source(struct alertmanager *m, const struct alert_source *src);

/* Alerts that fired or resolved: into the set, and the set out to every Alertmanager. */
void alertmanager_update(struct alertmanager *m, const struct alert *a, size_t n);
