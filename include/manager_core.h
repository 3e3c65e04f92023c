/* manager_core: the daemon's state and the services its modes share — internal to the manager (manager.c, the
 * core: loop, config in force and reload, health targets and counters, database probes, confirm, signals, the
 * record and the pause as the daemon sees them, status feeding, control dispatch) and its mode modules:
 * mode_once.c (--once, from the command line or the control socket, and its drill), mode_admin.c (--clear-state,
 * --pause, --resume), mode_lifecycle.c (--switchover and --rejoin around switchover.h and rejoin.h). Nothing
 * outside those files includes it; the public face is manager.h. */
#pragma once

#include "manager.h"
#include "check.h"
#include "control.h"
#include "dbprobe.h"
#include "drill.h"
#include "event.h"
#include "failover.h"
#include "gates.h"
#include "health.h"
#include "log.h"
#include "monitor.h"
#include "notify.h"
#include "observe.h"
#include "pause.h"
#include "spawn.h"
#include "sshmux.h"
#include "rejoin.h"
#include "switchover.h"
#include "roles.h"
#include "state.h"
#include "util.h"

struct endpoint {
        struct manager *manager;
        const char *role;                       /* "active" / "standby" */
        const struct config_endpoint *config;   /* points into manager->config */
        char *url_shown;                        /* redacted, for messages */
        struct health_target *target;
        struct monitor_endpoint monitor;
        struct health_result last;
        uint64_t checks;                        /* finished since start, for the live view's histograms */
        uint64_t checked_usec;                  /* CLOCK_REALTIME of the last finished check */
        uint64_t started_mono_usec;             /* CLOCK_MONOTONIC: when the check out now (or the last) started */
        uint64_t answer_started_mono_usec;      /* when the check behind `last` started: newer than a request? */
        bool off_cadence;                       /* the check out now was asked for a --once, between two ticks */
};

struct manager {
        sd_event *event;
        char *config_path;
        struct config *config;
        struct event_bus bus;
        struct notify notify;
        struct health *health;
        struct endpoint active, standby;
        sd_event_source *tick;
        uint64_t next_tick_usec;
        uint64_t last_tick_usec;                /* when the tick that started the latest checks was due */
        struct dbprobe *standby_db;             /* NULL without a database section */
        struct dbprobe *primary_db;             /* NULL without database.primary */
        struct spawn *confirm;                  /* the second-opinion command while it runs */
        enum monitor_confirm confirm_state;
        uint64_t started_usec;                  /* CLOCK_MONOTONIC, for health.startup_grace */
        uint64_t started_realtime_usec;         /* for the live view */
        struct observe *observe;                /* daemon mode only: status file, metrics, alerts, hooks */
        struct sshmux *sshmux;                  /* daemon mode only: the warm ssh master (NULL: fresh logins) */
        struct sshmux *site_mux[CONFIG_SITES];  /* daemon mode, sites form: one per database host with ssh */
        struct failover *failover;
        struct member *member;                  /* a monitor cluster (cluster:): who may act; NULL standalone */
        struct memcmd *memcmd;                  /* ... and the commands forwarded to (or from) the leader */
        struct switchover *switchover;          /* a planned role change in progress */
        struct rejoin *rejoin;                  /* the old primary becoming a standby, in progress */
        bool reload_after_op;                   /* a SIGHUP came during a switchover/rejoin: reload when it ends */
        bool stopping;                          /* SIGTERM in a cluster: waiting for the lease's revocation */
        bool exit_when_done;                    /* a one-shot --switchover: the loop ends with the command */
        bool roles_stale;                       /* a re-arm could not re-read the config: no automatic failover */
        bool op_for_caller;                     /* the switchover or rejoin answers the command in m->call */
        bool lifecycle_drill;                   /* --switchover/--rejoin --drill: the checks only, then the verdict */
        struct state state;
        bool failed_over;                       /* the record is latched (or unreadable): no automatic failover */
        struct pause pause;                     /* maintenance: no automatic action while .paused */
        enum monitor_decision last_said;        /* so a held failover is said once, not every tick */
        char refused[512];                      /* why the due failover cannot start; said once while it persists */
        bool once, force;
        unsigned once_pending;                  /* --once: answers still awaited before deciding */
        uint64_t once_deadline_usec;            /* --once: how long a lagging standby may take to catch up */
        bool drill;                             /* --once --dry-run: decide, run the harmless checks, say so */
        struct drill *drill_checks;
        struct monitor_verdict drill_verdict;
        struct control *control;                /* daemon mode: commands from the CLI */
        struct control_call *call;              /* the command in progress, if any */
        bool request_once;                      /* that command is a --once waiting for fresh answers or a verdict */
        bool once_said_lag;                     /* "waiting for the standby to replay" is said once */
        bool request_pausing;                   /* a lagging standby: ask again after a short pause */
        uint64_t request_since_usec;            /* CLOCK_MONOTONIC: answers to questions asked before do not count */
        sd_event_source *request_deadline;      /* a --once through the daemon gives up when no answer comes */
        sd_event_source *request_retry;         /* the pause between two looks at a lagging standby */
        enum log_level level_before_usr2;       /* SIGUSR2 toggles debug logging and back to this */
};

/* ---- the core (manager.c) -------------------------------------------------------------------------------- */
void manager_update_status(struct manager *m);
void manager_say_already_done(struct manager *m);
void manager_load_state(struct manager *m);
void manager_load_pause(struct manager *m);
void manager_say_paused(struct manager *m, const char *prefix);
void manager_on_health_done(struct health_target *t, const struct health_result *r, void *userdata);
void manager_endpoint_start_check(struct endpoint *ep);
void manager_dbprobes_ask(struct manager *m);
void manager_start_confirm(struct manager *m);
void manager_command_finish(struct manager *m, int code);
/* One operation at a time on the pair: when one runs, refuses `command` (logged, exit 3 to the caller) and returns
 * true. */
bool manager_refuse_while_busy(struct manager *m, const char *command);
bool manager_failover_interrupted(const struct manager *m);
int manager_start_failover(struct manager *m, const char *trigger, bool fence_required, const struct state *resume,
                           bool over_record);
struct gate_facts manager_gate_facts(const struct manager *m);
void manager_say_held(struct manager *m, enum monitor_decision d);
void manager_on_decision(struct manager *m);
/* manual: --once, from the command line or through the daemon — every gate but the threshold and the record. */
struct monitor_verdict manager_evaluate(struct manager *m, bool manual);
int manager_load_reload_config(struct manager *m, struct config **ret);
int manager_apply_config(struct manager *m, struct config *fresh);
int manager_run_loop(struct manager *m);
void manager_command_out(struct manager *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What the record says was interrupted (a failover, a switchover) is finished or put back: at start standalone,
 * on taking the lead in a cluster. */
void manager_resume_interrupted(struct manager *m);

/* ---- a monitor cluster (mode_cluster.c); each is a no-op standalone -------------------------------------- */
int manager_cluster_start(struct manager *m);
/* After a check: this member's view goes to etcd. */
void manager_cluster_publish(struct manager *m);
/* false standalone; else the cluster's say for monitor_decide. */
bool manager_cluster_fill(struct manager *m, struct monitor_cluster *ret);
/* The journal barrier for the executors (zeroed standalone). */
struct op_sync manager_cluster_sync(struct manager *m);
/* Finishes the command in progress with 0 once etcd holds the local files (1 when it cannot); standalone at once. */
void manager_cluster_commit(struct manager *m);
/* Where this member may not act, a command goes to the leader (memcmd.h) and the call is its: true. */
bool manager_cluster_forward(struct manager *m, struct control_call *call, const struct control_request *req);
void manager_cluster_status(struct manager *m, struct status_cluster *s);
const char *manager_cluster_words(struct manager *m, bool quorum);

/* Carries out a command from the CLI — or, on the leader, one another member forwarded. */
void manager_control_request(struct manager *m, struct control_call *call, const struct control_request *req);

/* ---- --once and its drill (mode_once.c) ------------------------------------------------------------------ */
/* A one-shot --once decides here (true: the daemon's own decision does not run); a --once request to the daemon
 * decides on fresh answers beside it (false). */
bool manager_once_on_decision(struct manager *m);
void manager_command_once(struct manager *m, bool force);

/* ---- --clear-state, --pause, --resume (mode_admin.c) ------------------------------------------------------ */
void manager_command_clear_state(struct manager *m, bool forget_roles);
void manager_command_pause(struct manager *m, const struct control_request *req);
void manager_command_resume(struct manager *m);

/* ---- --switchover, --rejoin (mode_lifecycle.c) ------------------------------------------------------------ */
void manager_command_switchover(struct manager *m, const char *to);
/* After an operation (or, in the sites form, a failover) the roles may have changed: the config is read again with
 * the roles the record now holds, and the targets, probes and failover direction follow. */
void manager_rearm_after_op(struct manager *m);
void manager_command_rejoin(struct manager *m, bool reclone);
