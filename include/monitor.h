/* monitor: owns the pure decision logic — consecutive-failure counting per endpoint, which transitions are
 * worth saying, and whether the failover may start. (state, check result) → (state, what changed). No I/O. */
#pragma once

#include <stdbool.h>

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

enum monitor_decision {
        MONITOR_WAIT,                   /* active not at threshold */
        MONITOR_FAILOVER,
        MONITOR_HOLD_STANDBY_UNHEALTHY, /* threshold reached but the standby's last check did not pass */
        MONITOR_HOLD_ALREADY_DONE,      /* a failover already happened (state file): never twice */
        MONITOR_BUSY,                   /* a failover is running right now */
};

struct monitor_view {
        const struct monitor_endpoint *active;
        const struct monitor_endpoint *standby;
        unsigned threshold;
        bool failed_over;               /* the persisted state records a failover */
        bool failover_running;
};

enum monitor_decision monitor_decide(const struct monitor_view *v);
const char *monitor_decision_to_string(enum monitor_decision d);
