/* metrics: owns the numbers only the running daemon counts — the check-duration histograms and the failover
 * counters — and the two HTTP documents rendered from them, a status snapshot (status.h) and the failover record
 * (state.h): the Prometheus text exposition (/metrics) and the cluster view JSON (/health). Pure: no I/O, no
 * clock; serving them is httpd.h's job. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"
#include "status.h"

/* Upper bounds (seconds) of the check-duration buckets; +Inf is implied. */
#define METRICS_N_BUCKETS 11

enum metrics_role { METRICS_ACTIVE, METRICS_STANDBY, _METRICS_ROLE_MAX };

struct metrics_histogram {
        uint64_t buckets[METRICS_N_BUCKETS];    /* not cumulative: observations in (bound[i-1], bound[i]] */
        uint64_t count;
        double sum;
};

struct metrics {
        struct metrics_histogram checks[_METRICS_ROLE_MAX];
        uint64_t failovers_succeeded;
        uint64_t failovers_failed;
};

double metrics_bucket_bound(size_t i);          /* seconds; i < METRICS_N_BUCKETS */

void metrics_observe_check(struct metrics *m, enum metrics_role role, uint64_t latency_usec);
void metrics_count_failover(struct metrics *m, bool succeeded);

/* The Prometheus text exposition format 0.0.4. record: NULL when no failover is recorded. malloc'd. */
int metrics_render(const struct metrics *m, const struct status *s, const struct state *record, const char *version,
                   char **ret_text, size_t *ret_size);

/* /health's "status", first match wins (record: the persisted failover record, NULL when there is none):
 * "failing_over" (a failover runs now, or the record says one is running), "failed_over" (the recorded failover
 * succeeded), "failover_failed" (the recorded failover failed), "record_unreadable" (a record exists but cannot
 * be read), "healthy" (both endpoints up, the standby database — when configured — reachable and in recovery),
 * else "degraded". The man page and the README list the same values. */
const char *metrics_cluster_status(const struct status *s, const struct state *record);

/* The runbook's cluster view: {"status", "primary": {status, last_check, replication_lag}, "standby": {…}}. */
int metrics_health_json(const struct status *s, const struct state *record, char **ret_text, size_t *ret_size);
