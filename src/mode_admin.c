/* mode_admin: the record and pause commands — --clear-state [--forget-roles], --pause, --resume — as the daemon
 * carries them out (the command line does them itself under the lock when no daemon runs: main.c). */
#include "manager_core.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Re-reads the config first: clearing the latch re-arms automatic failover, which must not happen on a config
 * nobody checked since it was edited for the rebuilt pair. */
void manager_command_clear_state(struct manager *m, bool forget_roles) {
        struct event ev = { .exit_status = -1 };
        struct config *fresh = NULL;
        const char *dir = m->config->state_dir;
        struct state kept;
        int r;

        if (manager_refuse_while_busy(m, "--clear-state"))
                return;
        if (manager_load_reload_config(m, &fresh) < 0) {
                log_error("--clear-state refused: %s has errors (above); the record is kept and the daemon goes on "
                          "with the config it runs", m->config_path);
                manager_command_finish(m, EXIT_CONFIG);
                return;
        }
        /* The runbook form removes the record; the sites form keeps the roles and epoch unless forget-roles. */
        r = state_clear_latch(dir, fresh->sites_form && !forget_roles, fresh->sites[fresh->serves_first].name,
                              fresh->sites[!fresh->serves_first].name, &kept);
        if (r < 0 && r != -ENOENT) {
                config_free(fresh);
                log_error_errno(r, "--clear-state: cannot clear %s/%s: %s%s", dir, STATE_FILE_NAME, strerror(-r),
                                r == -EBADMSG ? " (so its roles cannot be kept; nothing cleared: inspect it, or "
                                "blfailoverd --clear-state --forget-roles removes it)" : "");
                manager_command_finish(m, EXIT_FAILURE);
                return;
        }
        if (manager_apply_config(m, fresh) < 0) {
                manager_command_finish(m, EXIT_FAILURE);
                return;
        }
        if (r != -ENOENT)       /* re-armed: the count starts over (nothing cleared: an outage keeps counting) */
                m->active.monitor = (struct monitor_endpoint) {};
        ev.kind = EVENT_RECORD_CLEARED;
        event_emit(&m->bus, &ev, "%s; watching again", r == -ENOENT ? "--clear-state: no failover record to clear"
                   : "failover record cleared by --clear-state");
        if (r == 1)
                manager_command_out(m, "the roles stay: %s serves, %s standby, epoch %llu (--forget-roles drops them too)",
                            kept.serving, kept.standby, (unsigned long long) kept.epoch);
        manager_update_status(m);
        manager_command_out(m, "%s in %s; the running daemon (pid %d) re-read %s and is watching again: failover after %u "
                    "failures", r == -ENOENT ? "no failover was recorded" : "cleared the failover record",
                    m->config->state_dir, (int) getpid(), m->config_path, m->config->health.failure_threshold);
        manager_cluster_commit(m);
}

void manager_command_pause(struct manager *m, const struct control_request *req) {
        struct pause p = { .paused = true, .since_usec = now_realtime_usec(), .uid = req->uid };
        char why[512];
        int r;

        manager_load_pause(m);          /* the file is the pause, not our memory of it */
        if (m->pause.paused) {
                gates_describe_pause(&m->pause, why, sizeof why);
                manager_command_out(m, "already %s", why);
                manager_command_finish(m, EXIT_SUCCESS);
                return;
        }
        snprintf(p.reason, sizeof p.reason, "%s", req->reason);
        r = pause_save(m->config->state_dir, &p);
        if (r < 0) {
                log_error_errno(r, "--pause: cannot record the pause in %s/%s: %s; NOT paused", m->config->state_dir,
                                PAUSE_FILE_NAME, strerror(-r));
                manager_command_finish(m, EXIT_FAILURE);
                return;
        }
        m->pause = p;
        manager_say_paused(m, "");
        manager_update_status(m);
        manager_command_out(m, "paused: no automatic failover until blfailoverd --resume (it survives restarts)");
        manager_cluster_commit(m);
}

void manager_command_resume(struct manager *m) {
        struct event ev = { .kind = EVENT_RESUMED, .exit_status = -1 };
        int r = pause_clear(m->config->state_dir);

        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "--resume: cannot remove %s/%s: %s; still paused", m->config->state_dir,
                                PAUSE_FILE_NAME, strerror(-r));
                manager_command_finish(m, EXIT_FAILURE);
                return;
        }
        if (!m->pause.paused && r == -ENOENT) {
                manager_command_out(m, "not paused; nothing to resume");
                manager_command_finish(m, EXIT_SUCCESS);
                return;
        }
        m->pause = (struct pause) {};
        event_emit(&m->bus, &ev, "resumed: the maintenance pause is lifted; automatic failover is armed%s",
                   m->failed_over ? " (a failover is recorded: still never twice)" : "");
        m->last_said = MONITOR_WAIT;    /* a hold is said again; a failover that is due starts */
        manager_command_out(m, "resumed: automatic failover is armed again");
        /* What resuming sets off is said to the caller too, before the exit code. */
        if (switchover_interrupted(&m->state) && !m->switchover) {
                struct control_call *resume_call = m->call;    /* the switchover's end is not --resume's */

                log_warning("switchover: the record says a switchover was interrupted; resuming it now");
                m->call = NULL;
                manager_command_switchover(m, NULL);
                m->call = resume_call;
        } else if (manager_failover_interrupted(m) && !m->failover) {
                struct state interrupted = m->state;
                log_warning("failover: the record says a failover was interrupted; resuming it now");
                m->last_said = MONITOR_HOLD_ALREADY_DONE;
                if (manager_start_failover(m, "resumed", false, &interrupted, true) < 0)
                        manager_say_already_done(m);
        } else
                manager_on_decision(m);
        manager_update_status(m);
        manager_cluster_commit(m);
}
