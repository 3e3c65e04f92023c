/* switchover: owns the planned role change of the pair without losing a committed transaction — its checklist,
 * its steps in their order (the order is the safety argument; README "Life of the pair"), what each step runs and
 * how its answer is judged, and the put back when a step before the promotion fails. It runs on op.h's executor;
 * it does not decide whether to run (the operator does) and holds no loop of its own. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "event.h"
#include "health.h"
#include "op.h"
#include "state.h"

struct switchover;

typedef void (*switchover_done_fn)(struct switchover *sw, int exit_code, void *userdata);

struct switchover_params {
        sd_event *event;
        struct event_bus *bus;
        struct health *health;
        const struct config *config;    /* roles applied (config_apply_roles); must outlive the switchover */
        const struct state *record;     /* the record now (no record: a zeroed one) */
        const char *to;                 /* NULL: the standby site; else its name (must be the standby) */
        bool drill;                     /* --drill: every check that changes nothing, then exit 0 / 3 (a check
                                         * says no) / 1 (a check could not run); no record is written */
        const char *ssh_control_path[CONFIG_SITES];     /* each site's warm ssh master (sshmux.h), or NULL */
        struct op_sync sync;            /* a monitor cluster: the journal reaches etcd before each step */
        switchover_done_fn done;
        void *userdata;
};

/* Refuses before anything runs (returns EXIT_REFUSED or EXIT_CONFIG and writes why: the pair is latched, an
 * operation is recorded as running, the config lacks what a switchover needs, --to names the serving site), else
 * starts and returns 0; `done` then gets the exit code. Negative: -errno (out of memory, sd-event). */
int switchover_start(const struct switchover_params *params, struct switchover **ret, char *why, size_t why_size);
struct switchover *switchover_free(struct switchover *sw);

/* The record says a switchover was running when its process died. switchover_start with such a record resumes
 * it: put back before the promotion, forward from it. */
bool switchover_interrupted(const struct state *record);

/* --switchover --dry-run: the steps, the exact argv of each, the put back, the nginx diff. Nothing runs. */
int switchover_dry_run(const struct config *c, const struct state *record, FILE *out);
