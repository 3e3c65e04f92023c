/* failover: owns running one failover — a plan's steps in order on the sd-event loop, the nginx site file
 * write/restore, the step records in the persisted state, and the events that tell everyone about it.
 * It does not decide *whether* to fail over (monitor.h does) and does not parse anything. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "event.h"
#include "health.h"
#include "plan.h"
#include "state.h"

#define FAILOVER_NGINX_MAX (16u * 1024u * 1024u)

struct failover;

/* Called once, from the loop (never from inside failover_start or failover_free). The failover may be freed
 * from inside the callback. */
typedef void (*failover_done_fn)(struct failover *f, bool succeeded, void *userdata);

struct failover_params {
        const struct config *config;    /* read during failover_start only: the plan copies what it needs */
        struct event_bus *bus;
        struct health *health;          /* for the verify step */
        const char *trigger;            /* "automatic", "manual", "resumed" */
        struct plan_options options;
        const struct state *resume;     /* an interrupted record to continue from its first unfinished step */
        /* A monitor cluster (NULL standalone): each journal write goes to etcd (sync: done(f, r) later, r < 0 when
         * this monitor may no longer act), and a step starts only while sync_may_act() says so. The step does not
         * wait for etcd's answer: the failover resumes forward only (the promotion asked through libpq first), so
         * a successor that finds "step k−1 ok" instead of "step k running" repeats nothing it should not, and the
         * acting rule behind sync_may_act() is what keeps a deposed leader from starting anything. */
        int (*sync)(void *sync_userdata, void (*done)(void *f, int r), void *f);
        void (*sync_cancel)(void *sync_userdata, void *f);
        bool (*sync_may_act)(void *sync_userdata);
        void *sync_userdata;
        char *why;                      /* optional: gets why the start was refused when the record could not be
                                         * written (then not logged here: the caller says it once) */
        size_t why_size;
};

/* Records the start in state_dir (refusing to start if that record cannot be written: without it we could not
 * promise "never twice"), then runs the steps. With `resume`, steps recorded as done are not run again; if
 * resuming is unsafe (the record does not match the plan, or the promotion may have happened and cannot be
 * checked) it returns -ESTALE, changes nothing and logs which steps are done and which are left. */
int failover_start(sd_event *e, const struct failover_params *params, failover_done_fn done, void *userdata,
                   struct failover **ret);

/* Stops a running failover: kills the running step's process group. The state keeps saying "running", so the
 * next start knows a failover was interrupted. NULL is fine. */
struct failover *failover_free(struct failover *f);

/* For --dry-run: prints the plan (exact argv) and the unified diff of the nginx site file. Changes nothing.
 * Returns 0, or -errno with the problem logged. */
int failover_dry_run(const struct config *c, FILE *out);
