/* manager: owns the running daemon — the one sd-event loop, the config in force, the two health targets and
 * their counters, the check cadence, signals (TERM/INT stop, HUP reload, USR1 live view, USR2 debug), commands
 * from the CLI over the control socket, the failover in progress and the persisted state. The caller holds the
 * state_dir lock (lock.h) for as long as a manager runs. It dispatches; decisions live in monitor.h, the failover sequence in failover.h. */
#pragma once

#include <stdbool.h>

#include "config.h"

#include "exitcode.h"

struct manager;

/* Takes ownership of `config` (also on failure). */
int manager_new(const char *config_path, struct config *config, struct manager **ret);
struct manager *manager_free(struct manager *m);

/* Runs until SIGTERM/SIGINT, serving commands on STATE_DIR/control; returns the process exit code. */
int manager_run_daemon(struct manager *m);

/* --once: checks the standby (unless force), runs the failover, returns 0, 1 (failed) or EXIT_REFUSED. */
int manager_run_once(struct manager *m, bool force);

/* --once --dry-run: every gate --once would apply, then the checks that change nothing (ssh reaches the database
 * host, test_command accepts the rewrite), one line each on stdout and a final "drill verdict:" line. Returns 0
 * (would proceed), EXIT_REFUSED (a gate would hold it) or 1 (a check failed). */
int manager_run_drill(struct manager *m);

/* --switchover with no daemon running (we hold the lock): runs it on this process's loop; returns its exit code
 * (0, EXIT_REFUSED, EXIT_PUT_BACK, EXIT_FAILURE, EXIT_CONFIG). to: NULL or the site to serve. drill: only the checks
 * that change nothing (no lock needed), a "drill verdict:" line on stdout, exit 0 / 3 / 1. */
int manager_run_switchover(struct manager *m, const char *to, bool drill);

/* --rejoin [--reclone] with no daemon running (we hold the lock): the old primary becomes the serving site's
 * standby on this process's loop; returns its exit code (0, EXIT_REFUSED, EXIT_FAILURE, EXIT_CONFIG). */
int manager_run_rejoin(struct manager *m, bool reclone, bool drill);
