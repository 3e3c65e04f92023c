/* verify: owns the failover's last step — waiting, bounded, until the promoted standby database has left
 * recovery (libpq, when a database is configured) and then until every verify URL (the new active's /health
 * first) has answered 2xx. Polls on the loop; never blocks. Does not log: the caller reports the detail. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "health.h"
#include "plan.h"

struct verify;

/* `detail` says what passed, or what did not and for how long; valid during the callback. */
typedef void (*verify_done_fn)(struct verify *v, bool ok, const char *detail, void *userdata);

/* The plan must outlive the verify. */
int verify_start(sd_event *e, struct health *h, const struct plan *p, verify_done_fn done, void *userdata,
                 struct verify **ret);
struct verify *verify_free(struct verify *v);          /* no callback after this; NULL is fine */
