/* mode_lifecycle: --switchover and --rejoin as the daemon (or the one-shot command) runs them — one operation at a
 * time beside the loop, automatic failover held while it runs, and the re-arm in the roles the record then holds.
 * The sequences themselves are switchover.c and rejoin.c. */
#include "manager_core.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The roles changed (or may have): the config is read again with the roles the record now holds, so the health
 * targets, probes and the failover direction follow without anyone editing a file. */
void manager_rearm_after_op(struct manager *m) {
        struct config *fresh = NULL;

        m->reload_after_op = false;
        if (m->exit_when_done) {
                manager_load_state(m);
                return;
        }
        if (manager_load_reload_config(m, &fresh) < 0) {
                /* The record's roles may differ from the ones in force: acting on the old ones could fail over in
                 * the wrong direction. Held until a reload succeeds. */
                log_error("after the operation: %s has errors (above); automatic failover is held until the file is "
                          "fixed and reloaded (SIGHUP): the roles in force may not be the record's", m->config_path);
                m->roles_stale = true;
                manager_load_state(m);
                return;
        }
        if (manager_apply_config(m, fresh) < 0)
                return;
        m->active.monitor = (struct monitor_endpoint) {};
        m->standby.monitor = (struct monitor_endpoint) {};
        manager_update_status(m);
}

/* The drill's last line, on stdout like --once --dry-run's: what a real run would do now. */
static void say_drill_verdict(const char *what, int code) {
        printf("drill verdict: %s\n", code == EXIT_SUCCESS ? "PROCEED: every check passed; nothing was changed"
               : code == EXIT_REFUSED ? "HELD: a check says no (above); nothing was changed"
               : "FAILED: a check could not run (above); nothing was changed");
        (void) what;
        fflush(stdout);
}

static void op_finished(struct manager *m, const char *what, int code) {
        if (m->lifecycle_drill)
                say_drill_verdict(what, code);
        else
                manager_rearm_after_op(m);
        if (m->op_for_caller || m->exit_when_done)
                manager_command_finish(m, code);
        m->op_for_caller = false;
}

static void on_switchover_done(struct switchover *sw, int code, void *userdata) {
        struct manager *m = userdata;

        (void) sw;
        m->switchover = switchover_free(m->switchover);
        op_finished(m, "switchover", code);
}

void manager_command_switchover(struct manager *m, const char *to) {
        char why[512] = "";
        struct switchover_params p = {
                .event = m->event, .bus = &m->bus, .health = m->health, .config = m->config, .record = &m->state,
                .to = to && *to ? to : NULL, .drill = m->lifecycle_drill, .done = on_switchover_done, .userdata = m,
                .sync = manager_cluster_sync(m),
                .ssh_control_path = { sshmux_control_path(m->site_mux[0]), sshmux_control_path(m->site_mux[1]) },
        };
        int r;

        if (manager_refuse_while_busy(m, "--switchover"))
                return;
        manager_load_state(m);          /* we hold the lock: the record on disk is the truth */
        if (m->failed_over && m->state.outcome == STATE_NONE) {
                log_error("--switchover refused: the record in %s cannot be read; inspect it (--status)",
                          m->config->state_dir);
                manager_command_finish(m, EXIT_REFUSED);
                return;
        }
        r = switchover_start(&p, &m->switchover, why, sizeof why);
        m->op_for_caller = r == 0 && m->call;
        if (r != 0) {
                if (why[0])
                        log_error("%s", why);
                else
                        log_error_errno(r, "--switchover: cannot start: %s", strerror(-r));
                if (m->lifecycle_drill)
                        say_drill_verdict("switchover", r > 0 ? r : EXIT_FAILURE);
                manager_command_finish(m, r > 0 ? r : EXIT_FAILURE);
                return;
        }
        manager_update_status(m);
}

int manager_run_switchover(struct manager *m, const char *to, bool drill) {
        m->exit_when_done = true;
        m->lifecycle_drill = drill;
        manager_command_switchover(m, to);      /* a refusal has already asked the loop to exit with its code */
        return manager_run_loop(m);
}

/* After a rejoin the record says latch none: the config is read again with its roles, and the daemon watches
 * the pair in the new direction (failover S → O) at once — as --clear-state re-arms today. */
static void on_rejoin_done(struct rejoin *rj, int code, void *userdata) {
        struct manager *m = userdata;

        (void) rj;
        m->rejoin = rejoin_free(m->rejoin);
        op_finished(m, "rejoin", code);
}

void manager_command_rejoin(struct manager *m, bool reclone) {
        char why[512] = "";
        struct rejoin_params p = {
                .event = m->event, .bus = &m->bus, .health = m->health, .config = m->config, .record = &m->state,
                .reclone = reclone, .drill = m->lifecycle_drill, .done = on_rejoin_done, .userdata = m,
                .sync = manager_cluster_sync(m),
                .ssh_control_path = { sshmux_control_path(m->site_mux[0]), sshmux_control_path(m->site_mux[1]) },
        };
        int r;

        if (manager_refuse_while_busy(m, "--rejoin"))
                return;
        manager_load_state(m);          /* we hold the lock: the record on disk is the truth */
        if (m->failed_over && m->state.outcome == STATE_NONE) {
                log_error("--rejoin refused: the record in %s cannot be read; inspect it (--status)",
                          m->config->state_dir);
                manager_command_finish(m, EXIT_REFUSED);
                return;
        }
        r = rejoin_start(&p, &m->rejoin, why, sizeof why);
        m->op_for_caller = r == 0 && m->call;
        if (r != 0) {
                if (why[0])
                        log_error("%s", why);
                else
                        log_error_errno(r, "--rejoin: cannot start: %s", strerror(-r));
                if (m->lifecycle_drill)
                        say_drill_verdict("rejoin", r > 0 ? r : EXIT_FAILURE);
                manager_command_finish(m, r > 0 ? r : EXIT_FAILURE);
                return;
        }
        manager_update_status(m);
}

int manager_run_rejoin(struct manager *m, bool reclone, bool drill) {
        m->exit_when_done = true;
        m->lifecycle_drill = drill;
        manager_command_rejoin(m, reclone);     /* a refusal has already asked the loop to exit with its code */
        return manager_run_loop(m);
}
