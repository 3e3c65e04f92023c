/* webhook: owns delivering alert bodies to alerts.webhook_url — a bounded queue (oldest dropped, said in the log),
 * one POST in flight at a time so receivers see events in order, each bounded by alerts.timeout on the health
 * module's curl multi (the same loop; a hung receiver never delays a check or a failover step), failed posts
 * retried alerts.retries times with exponential backoff. Every log line shows the URL without its credentials. */
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

/* url is copied. retries: further attempts after the first failed one. */
int webhook_new(sd_event *e, struct health *h, const char *url, uint64_t timeout_usec, unsigned retries,
                struct webhook **ret);
/* Drops what is still queued (saying how much), cancels the post in flight. NULL is fine. */
struct webhook *webhook_free(struct webhook *w);

/* Queues one JSON body (copied; `what` names it in log lines, e.g. "BlfailoverdActiveDown firing"). */
int webhook_send(struct webhook *w, const char *body, size_t size, const char *what);

/* Pure: the delay before retry number `attempt` (1-based): 1s, 2s, 4s, … capped at WEBHOOK_BACKOFF_MAX_USEC. */
uint64_t webhook_backoff_usec(unsigned attempt);
