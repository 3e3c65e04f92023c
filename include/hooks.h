/* hooks: owns running hooks.command for each event — the BLF_* environment it gets (pure, hooks_event_env), a
 * bounded queue (oldest dropped, said in the log), at most one hook running at a time, each killed with its
 * process group at hooks.timeout, its exit status and output in the log. Runs through spawn.h on the loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "event.h"

#define HOOKS_QUEUE_MAX 32

struct hooks;

/* argv (NULL-terminated) is copied. */
int hooks_new(sd_event *e, char *const argv[], uint64_t timeout_usec, struct hooks **ret);
/* Kills a running hook, drops the queue (saying how much). NULL is fine. */
struct hooks *hooks_free(struct hooks *h);

/* Whether an event is worth a hook run: every event but a step's output lines and the daemon's own stop. */
bool hooks_wants(enum event_kind k);

/* Pure: "BLF_EVENT=failover_started", "BLF_ACTIVE=…", "BLF_STANDBY=…", "BLF_STEP=…", "BLF_RESULT=…",
 * "BLF_DETAIL=…" (the event's log message), then BLF_ROLE, BLF_ENDPOINT, BLF_GATE, BLF_EXIT_STATUS when the event
 * has them, and for a cluster event (member set) BLF_MEMBER, BLF_PEER, BLF_REASON. Unset values are empty. BLF_RESULT: "ok"/"failed" for steps and
 * failovers, "held", "healthy", "failing", "reached", "started", "unavailable"/"available" for the cluster, else "".
 * A malloc'd strv. */
int hooks_event_env(const struct event *ev, const char *active, const char *standby, char ***ret);

/* Queues one run with this environment (the strv is taken over, also on failure). */
int hooks_run(struct hooks *h, char **env_extra, const char *event_name);
