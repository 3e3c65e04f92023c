/* monitor: failure counting and the failover decision with its gates, as pure functions. */
#include "monitor.h"

#include "util.h"

enum monitor_change monitor_record(struct monitor_endpoint *e, bool ok, unsigned threshold) {
        if (ok) {
                bool was_up = e->health == MONITOR_UP;

                e->health = MONITOR_UP;
                e->consecutive_failures = 0;
                return was_up ? MONITOR_UNCHANGED : MONITOR_BECAME_UP;
        }
        e->health = MONITOR_DOWN;
        if (e->consecutive_failures < 1000000u)
                e->consecutive_failures++;
        return e->consecutive_failures <= threshold ? MONITOR_FAILING : MONITOR_UNCHANGED;
}

uint64_t monitor_next_interval(const struct monitor_endpoint *active, unsigned threshold, uint64_t interval_usec,
                               uint64_t fast_interval_usec) {
        bool counting = active->consecutive_failures > 0 && active->consecutive_failures < threshold;

        return counting && fast_interval_usec > 0 && fast_interval_usec < interval_usec ? fast_interval_usec
                                                                                       : interval_usec;
}

static bool db_ok(const struct monitor_db *db) {
        return db->known && db->reachable && db->in_recovery && db->receiving;
}

static bool primary_writable(const struct monitor_db *db) {
        return db && db->known && db->reachable && !db->in_recovery;
}

/* The gates, in the order a human would check them; the first that says no is the one reported. */
struct monitor_verdict monitor_decide(const struct monitor_view *v) {
        struct monitor_verdict verdict = { .decision = MONITOR_WAIT };
        const struct monitor_cluster *c = v->cluster;
        bool quorum = c && c->agreeing >= c->needed;

        /* In a cluster a majority's view makes the failover due, the leader's own counter being one of them; a
         * counter at the threshold without that majority is held (said), so a monitor cut off alone never acts. */
        if (!v->manual && v->active->consecutive_failures < v->threshold && !quorum)
                return verdict;
        if (v->failover_running || v->confirm == MONITOR_CONFIRM_RUNNING)
                verdict.decision = MONITOR_BUSY;
        else if (c && c->unavailable)   /* the others' views cannot be read: the reason is etcd, not them */
                verdict.decision = MONITOR_HOLD_CLUSTER;
        else if (c && !v->manual && !quorum)
                verdict.decision = MONITOR_HOLD_QUORUM;
        else if (c && (!c->acting || c->mismatch))
                verdict.decision = MONITOR_HOLD_CLUSTER;
        else if (v->failed_over)
                verdict.decision = MONITOR_HOLD_ALREADY_DONE;
        else if (v->paused && !v->manual)
                verdict.decision = MONITOR_HOLD_PAUSED;
        else if (v->in_startup_grace)
                verdict.decision = MONITOR_HOLD_STARTUP_GRACE;
        else if (v->standby->health != MONITOR_UP)
                verdict.decision = MONITOR_HOLD_STANDBY_UNHEALTHY;
        else if (v->standby_db && !db_ok(v->standby_db))
                verdict.decision = MONITOR_HOLD_STANDBY_DB;
        else if (v->standby_db && v->standby_db->lag_bytes > v->max_lag_bytes)
                verdict.decision = MONITOR_HOLD_LAG;
        else if (primary_writable(v->primary_db) && !v->fence_configured)
                verdict.decision = MONITOR_HOLD_SPLIT_BRAIN;
        else if (v->confirm == MONITOR_CONFIRM_UNKNOWN)
                verdict.decision = MONITOR_ASK_CONFIRM;
        else if (v->confirm == MONITOR_CONFIRM_ACTIVE_ALIVE)
                verdict.decision = MONITOR_HOLD_CONFIRM;
        else {
                verdict.decision = MONITOR_FAILOVER;
                verdict.fence_required = primary_writable(v->primary_db);
        }
        return verdict;
}

static const char *const decision_names[] = {
        [MONITOR_WAIT] = "wait",
        [MONITOR_FAILOVER] = "failover",
        [MONITOR_BUSY] = "busy",
        [MONITOR_ASK_CONFIRM] = "ask_confirm",
        [MONITOR_HOLD_ALREADY_DONE] = "already_done",
        [MONITOR_HOLD_STARTUP_GRACE] = "startup_grace",
        [MONITOR_HOLD_STANDBY_UNHEALTHY] = "standby_unhealthy",
        [MONITOR_HOLD_STANDBY_DB] = "standby_db",
        [MONITOR_HOLD_LAG] = "replication_lag",
        [MONITOR_HOLD_SPLIT_BRAIN] = "split_brain",
        [MONITOR_HOLD_CONFIRM] = "confirm",
        [MONITOR_HOLD_PAUSED] = "paused",
        [MONITOR_HOLD_QUORUM] = "quorum",
        [MONITOR_HOLD_CLUSTER] = "cluster",
};

const char *monitor_decision_to_string(enum monitor_decision d) {
        return d < ELEMENTSOF(decision_names) ? decision_names[d] : "unknown";
}

bool monitor_decision_is_hold(enum monitor_decision d) {
        return d >= MONITOR_HOLD_ALREADY_DONE;
}
