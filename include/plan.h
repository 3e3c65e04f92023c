/* plan: owns turning a config into the failover's ordered steps — each with its exact argv, timeout and what a
 * failure must undo. Pure: no I/O. The executor (failover.h) runs a plan; --dry-run prints one.
 * A plan owns copies of everything it needs, so a config reload during a failover cannot pull strings away. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

#define PLAN_STEPS_MAX 8

enum plan_action {
        PLAN_NGINX_WRITE,       /* write the rewritten upstream into the site file (keeps a .blfailoverd.bak) */
        PLAN_COMMAND,           /* run argv with a deadline */
};

struct plan_step {
        const char *name;               /* static: "nginx_write", "nginx_test", ... */
        const char *purpose;            /* static: one line for humans */
        enum plan_action action;
        char **argv;                    /* PLAN_COMMAND only */
        uint64_t timeout_usec;
        bool restore_nginx_on_failure;  /* the switch has not happened yet: put the old site file back */
};

struct plan {
        struct plan_step steps[PLAN_STEPS_MAX];
        size_t n_steps;
        char *nginx_config;
        char *nginx_backup;             /* "<config>.blfailoverd.bak" */
        char *upstream;
        char *active_server;
        char *standby_server;
};

/* Builds the sequence, in this order (the order is the safety argument; see README):
 *   prepare:       nginx_write, nginx_test, ssh_check   (nothing the running system sees changes)
 *   promote:       promote                                (touch the trigger file over ssh)
 *   switch:        switch                                 (reload nginx: traffic moves)
 *   standby_stack: standby_stack                          (start the standby compose stack) */
int plan_build(const struct config *c, struct plan **ret);
struct plan *plan_free(struct plan *p);

/* ssh argv for one remote command line (already quoted for the remote shell). Exposed for tests. */
char **plan_ssh_argv(const struct config_ssh *ssh, uint64_t timeout_usec, const char *remote_command);

void plan_print(const struct plan *p, FILE *out);
