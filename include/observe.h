/* observe: owns what the running daemon shows to the outside — the live status file (status.h), the metrics
 * counters and the HTTP server for /metrics and /health (metrics.h, httpd.h), the alerts — to a webhook receiver
 * (alert.h, webhook.h) and to Alertmanager's API (alertmanager.h) — and the hooks (hooks.h). It listens on the event funnel and takes status snapshots from the manager;
 * it never influences a decision, and nothing in it waits: every delivery runs on the loop with a deadline. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "event.h"
#include "health.h"
#include "status.h"

struct observe;

/* Subscribes to bus. Starts the metrics server when metrics.listen is set: a bind failure is returned (-errno) after
 * logging which address and why. The health module's curl multi carries the webhook posts. */
int observe_new(sd_event *e, struct health *h, struct event_bus *bus, const struct config *c, struct observe **ret);
/* Writes a last status saying "not running", stops the server, drops undelivered posts and hooks. NULL is fine. */
struct observe *observe_free(struct observe *o);

/* A reloaded config: the server, webhook and hooks follow it (a new metrics address that cannot be bound is
 * logged and metrics stay off until the next reload). */
void observe_reload(struct observe *o, const struct config *c);

/* The manager's current view. Cheap: copied; the file is rewritten at most once per health.fast_interval. */
void observe_update(struct observe *o, const struct status *s);
