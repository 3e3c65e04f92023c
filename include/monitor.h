/* monitor: owns the pure decision logic — consecutive-failure counting per endpoint, which transitions are
 * worth saying, and whether the failover may start now: every safety gate, in one function, as data in and a
 * verdict out. No I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum monitor_health {
        MONITOR_UNKNOWN,        /* no check finished yet */
        MONITOR_UP,
        MONITOR_DOWN,           /* the last check failed */
};

struct monitor_endpoint {
        enum monitor_health health;
        unsigned consecutive_failures;
};

enum monitor_change {
        MONITOR_UNCHANGED,      /* nothing worth a log line */
        MONITOR_BECAME_UP,      /* first success, or recovery from failing */
        MONITOR_FAILING,        /* a failure that moved the counter, up to the threshold */
};

/* Applies one check result. Failures beyond the threshold still count but are MONITOR_UNCHANGED,
 * so a long outage is one line per step up to n/threshold, not one per tick. */
enum monitor_change monitor_record(struct monitor_endpoint *e, bool ok, unsigned threshold);

/* The next check of the active is due after `interval`, or `fast_interval` while it is failing below the
 * threshold (HAProxy's fastinter: detect sooner, no extra load while healthy). */
uint64_t monitor_next_interval(const struct monitor_endpoint *active, unsigned threshold, uint64_t interval_usec,
                               uint64_t fast_interval_usec);

/* What the last database query said. */
struct monitor_db {
        bool known;             /* a query finished (recently enough to count) */
        bool reachable;
        bool in_recovery;
        bool receiving;         /* has a WAL receive position: it streams from a primary */
        uint64_t lag_bytes;     /* received but not yet replayed */
};

enum monitor_confirm {
        MONITOR_CONFIRM_OFF,            /* no confirm command configured */
        MONITOR_CONFIRM_UNKNOWN,        /* to be asked */
        MONITOR_CONFIRM_RUNNING,
        MONITOR_CONFIRM_ACTIVE_ALIVE,   /* the command succeeded: the active answers from elsewhere */
        MONITOR_CONFIRM_ACTIVE_DOWN,    /* the command failed: down from there too */
};

enum monitor_decision {
        MONITOR_WAIT,                   /* active not at threshold */
        MONITOR_FAILOVER,
        MONITOR_BUSY,                   /* a failover or a confirm command is running right now */
        MONITOR_ASK_CONFIRM,            /* every other gate passed: run the confirm command */
        MONITOR_HOLD_ALREADY_DONE,      /* a failover already happened (state file): never twice */
        MONITOR_HOLD_STARTUP_GRACE,     /* the daemon only just started; the active may still be booting */
        MONITOR_HOLD_STANDBY_UNHEALTHY, /* the standby API's last check did not pass */
        MONITOR_HOLD_STANDBY_DB,        /* standby DB unreachable, not in recovery, or not receiving WAL */
        MONITOR_HOLD_LAG,               /* more WAL received than replayed than max_lag_bytes allows */
        MONITOR_HOLD_SPLIT_BRAIN,       /* the primary DB answers as writable and there is no fence */
        MONITOR_HOLD_CONFIRM,           /* the second opinion sees the active alive: our view is suspect */
        MONITOR_HOLD_PAUSED,            /* maintenance pause (--pause): no automatic action */
        MONITOR_HOLD_QUORUM,            /* a cluster: fewer than a majority of the monitors see the active failing */
        MONITOR_HOLD_CLUSTER,           /* a cluster: this member does not lead, or etcd is unavailable, or the
                                         * members' configs differ: it does not act */
};

/* A monitor cluster's say (docs/design/cluster.md §7, §10); NULL in monitor_view when standalone. */
struct monitor_cluster {
        bool acting;                    /* this member leads and may act now (cluster_may_act) */
        bool mismatch;                  /* a fresh view from a member with another config digest */
        bool unavailable;               /* etcd does not answer (or has no quorum): nothing is known of the others */
        size_t agreeing;                /* members (this one included) whose fresh view sees the active failing */
        size_t needed;                  /* a majority of the members */
};

struct monitor_view {
        const struct monitor_endpoint *active;
        const struct monitor_endpoint *standby;
        unsigned threshold;
        bool manual;                    /* --once: the operator decided; the threshold does not apply */
        bool failed_over;               /* the persisted state records a failover */
        bool paused;                    /* maintenance: holds automatic failovers only, never a manual one */
        bool failover_running;
        bool in_startup_grace;
        const struct monitor_db *standby_db;    /* NULL: no database configured */
        uint64_t max_lag_bytes;
        const struct monitor_db *primary_db;    /* NULL: no primary configured */
        bool fence_configured;
        enum monitor_confirm confirm;
        const struct monitor_cluster *cluster;  /* NULL: standalone */
};

struct monitor_verdict {
        enum monitor_decision decision;
        bool fence_required;            /* with MONITOR_FAILOVER: the primary is alive, the fence must succeed */
};

struct monitor_verdict monitor_decide(const struct monitor_view *v);
const char *monitor_decision_to_string(enum monitor_decision d);       /* the gate's name for holds */
bool monitor_decision_is_hold(enum monitor_decision d);
