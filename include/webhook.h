/* webhook: owns delivering JSON bodies to one URL (alerts.webhook_url, or one Alertmanager's /api/v2/alerts) — a
 * bounded queue (oldest dropped, said in the log), one POST in flight at a time so receivers see events in order,
 * each bounded by alerts.timeout on the health module's curl multi (the same loop; a hung receiver never delays a
 * check or a failover step), failed posts retried alerts.retries times with exponential backoff — but never one
 * the receiver refused with a 4xx: the same body would be refused again. Every log line shows the URL without its
 * credentials. What goes in the bodies is alert.h's; which alerts are due, alertmanager.h's. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "health.h"
#include "util.h"

#define WEBHOOK_QUEUE_MAX 64
#define WEBHOOK_BACKOFF_FIRST_USEC (1 * USEC_PER_SEC)
#define WEBHOOK_BACKOFF_MAX_USEC (30 * USEC_PER_SEC)

struct webhook;

/* url is copied. retries: further attempts after the first failed one. key: the config key that names the
 * receiver, for the advice in log lines ("alerts.webhook_url"). */
int webhook_new(sd_event *e, struct health *h, const char *url, const char *key, uint64_t timeout_usec,
                unsigned retries, struct webhook **ret);
/* Drops what is still queued (saying how much), cancels the post in flight. NULL is fine. */
struct webhook *webhook_free(struct webhook *w);

/* Queues one JSON body (copied; `what` names it in log lines, e.g. "BlfailoverdActiveDown firing"). */
int webhook_send(struct webhook *w, const char *body, size_t size, const char *what);
/* The same, for a body that supersedes every one still waiting (Alertmanager's: the whole current set of alerts):
 * those are dropped silently; the one in flight finishes. A backoff already running is kept. */
int webhook_send_latest(struct webhook *w, const char *body, size_t size, const char *what);

enum webhook_verdict {
        WEBHOOK_DELIVERED,
        WEBHOOK_RETRY,                  /* transport error, timeout, 5xx, …: try again after the backoff */
        WEBHOOK_GIVE_UP,                /* attempts exhausted */
        WEBHOOK_REFUSED,                /* a 4xx: the receiver will refuse the same body again; never retried */
};

/* Pure: what to do after attempt number `attempts` (1-based) ended with this result. */
enum webhook_verdict webhook_verdict(enum health_status status, long http_code, unsigned attempts, unsigned retries);

/* Pure: the delay before retry number `attempt` (1-based): 1s, 2s, 4s, … capped at WEBHOOK_BACKOFF_MAX_USEC. */
uint64_t webhook_backoff_usec(unsigned attempt);
