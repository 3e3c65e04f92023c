/* plan: owns turning a config into the failover's ordered steps — each with its exact argv, timeout and what a
 * failure must undo. Pure: no I/O. The executor (failover.h) runs a plan; --dry-run prints one.
 * A plan owns copies of everything it needs, so a config reload during a failover cannot pull strings away. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

#define PLAN_STEPS_MAX 10

enum plan_action {
        PLAN_NGINX_WRITE,       /* write the rewritten upstream into the site file (keeps a .blfailoverd.bak) */
        PLAN_COMMAND,           /* run argv with a deadline */
        PLAN_PG_PROMOTE,        /* SELECT pg_promote(false) on the standby through libpq */
        PLAN_VERIFY,            /* standby DB out of recovery, new active's /health and verify.urls pass */
};

struct plan_options {
        bool fence_required;    /* the split-brain guard saw a live primary: the fence must succeed */
        const char *ssh_control_path;   /* the warm ssh master's socket (sshmux.h): ssh_check and promote ride on
                                         * it; NULL (and --dry-run, the drill): each logs in afresh */
};

struct plan_step {
        const char *name;               /* static: "nginx_write", "nginx_test", ... */
        const char *purpose;            /* static: one line for humans */
        enum plan_action action;
        char **argv;                    /* PLAN_COMMAND only */
        uint64_t timeout_usec;
        bool restore_nginx_on_failure;  /* the switch has not happened yet: put the old site file back */
        bool optional;                  /* a failure is logged and the sequence goes on (best-effort fence) */
};

struct plan {
        struct plan_step steps[PLAN_STEPS_MAX];
        size_t n_steps;
        char *nginx_config;
        char *nginx_backup;             /* "<config>.blfailoverd.bak" */
        char *upstream;
        char *active_server;
        char *standby_server;
        char *db_standby;               /* conninfo, NULL without a database section */
        char *db_password_file;
        uint64_t db_connect_timeout_usec;
        uint64_t promote_timeout_usec;  /* verify: how long the standby DB may take to leave recovery */
        char **verify_urls;             /* the new active's /health first, then verify.urls */
        uint64_t verify_timeout_usec;
        uint64_t health_timeout_usec;   /* per verify request */
};

/* Builds the sequence, in this order (the order is the safety argument; see README):
 *   prepare:       nginx_write, nginx_test, ssh_check   (nothing the running system sees changes;
 *                                                        ssh_check only with the trigger_file method)
 *   fence:         fence                                  (optional: stop the old active; best effort unless
 *                                                        opts->fence_required)
 *   promote:       promote                                (trigger file over ssh, or pg_promote())
 *   switch:        switch                                 (reload nginx: traffic moves)
 *   standby_stack: standby_stack                          (start the standby compose stack)
 *   verify:        verify                                 (standby DB left recovery; /health and verify.urls pass) */
int plan_build(const struct config *c, const struct plan_options *opts, struct plan **ret);
struct plan *plan_free(struct plan *p);

/* ssh argv for one remote command line (already quoted for the remote shell). With control_path, the command
 * goes through the master listening there (-o ControlMaster=no -o ControlPath=...); ssh itself logs in afresh
 * when nothing listens there. control_path must not need ssh's %/${} expansion (sshmux_paths checks). */
char **plan_ssh_argv(const struct config_ssh *ssh, uint64_t timeout_usec, const char *control_path,
                     const char *remote_command);

/* ssh argv for the master connection itself: -M -N in the foreground, ControlPath, ServerAlive. */
char **plan_ssh_master_argv(const struct config_ssh *ssh, uint64_t timeout_usec, const char *control_path);

void plan_print(const struct plan *p, FILE *out);
