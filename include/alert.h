/* alert: owns which alert conditions are firing — the pure mapping from events (and the standby's replication lag)
 * to Alertmanager-style alerts that fire and resolve — and the JSON bodies that carry them: one webhook post (the
 * payload Alertmanager itself sends to webhook receivers: version 4, status, labels, annotations, startsAt,
 * endsAt), and the array Alertmanager's own API takes (POST /api/v2/alerts: postableAlerts).
 * No I/O, no clock: the caller passes the time. Sending is webhook.h's job, re-sending alertmanager.h's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum alert_kind {
        ALERT_ACTIVE_DOWN,              /* threshold reached; resolved when the active answers again */
        ALERT_FAILOVER_HELD,            /* a gate holds the failover; resolved when it starts or the active recovers */
        ALERT_FAILOVER_RUNNING,         /* started; resolved when it ends either way */
        ALERT_FAILOVER_SUCCEEDED,       /* fires once; the record stays until --clear-state */
        ALERT_FAILOVER_FAILED,          /* fires once: finish by hand */
        ALERT_STANDBY_DOWN,             /* the standby API fails; resolved when it passes again */
        ALERT_REPLICATION_LAG,          /* lag above alerts.lag_warning; resolved below it */
        ALERT_PAUSED,                   /* maintenance pause; resolved by --resume */
        ALERT_OPERATION_FAILED,         /* a switchover or rejoin failed (or was put back); resolved when one
                                         * succeeds or the record is cleared */
        ALERT_CLUSTER_UNAVAILABLE,      /* this cluster member cannot use etcd (cluster_unavailable); resolved by
                                         * cluster_available */
        _ALERT_KIND_MAX,
};

const char *alert_kind_name(enum alert_kind k);         /* the alertname label: "BlfailoverdActiveDown", ... */
const char *alert_kind_severity(enum alert_kind k);     /* "critical", "warning" */

#define ALERT_TEXT_MAX 1024
#define ALERT_PAIR_MAX 260              /* the "pair" label: "ACTIVE/STANDBY", each name < 128 */

struct alert {
        enum alert_kind kind;
        bool resolved;
        uint64_t starts_usec;           /* CLOCK_REALTIME */
        uint64_t ends_usec;             /* resolved: when; firing: 0 */
        char gate[32];                  /* ALERT_FAILOVER_HELD only */
        char step[32];                  /* ALERT_FAILOVER_FAILED, ALERT_OPERATION_FAILED only */
        char member[64];                /* ALERT_CLUSTER_UNAVAILABLE only: the member that says so */
        char description[ALERT_TEXT_MAX];
};

struct alert_state {
        bool firing[_ALERT_KIND_MAX];
        uint64_t starts_usec[_ALERT_KIND_MAX];
        char gate[32];                  /* of the firing ALERT_FAILOVER_HELD */
        char member[64];                /* of the firing ALERT_CLUSTER_UNAVAILABLE */
};

/* What this event fires or resolves, in order, into out (at most max; returns how many). */
size_t alert_on_event(struct alert_state *s, const struct event *ev, uint64_t now_usec, struct alert *out, size_t max);

/* The standby's lag against alerts.lag_warning (0: off). known=false (no answer, unreachable) changes nothing. */
size_t alert_on_lag(struct alert_state *s, bool known, uint64_t lag_bytes, uint64_t warning_bytes, uint64_t now_usec,
                    struct alert *out, size_t max);

/* The webhook body for one alert. instance: this monitor's host name; active/standby: the endpoints' names. */
int alert_render(const struct alert *a, const char *instance, const char *active, const char *standby,
                 char **ret_text, size_t *ret_size);

/* What every alert says about where it comes from. */
struct alert_source {
        const char *instance;           /* this monitor's host name */
        const char *active, *standby;   /* the endpoints' configured names */
        const char *generator_url;      /* a link back (the /health page), NULL or "": none */
};

/* Alertmanager's v2 API body: a JSON array of n postableAlerts (labels, annotations, startsAt, endsAt,
 * generatorURL). A resolved alert ends at its ends_usec; a firing one at now + valid_usec, so that it resolves by
 * itself when it is no longer re-sent. */
int alert_render_alertmanager(const struct alert *a, size_t n, const struct alert_source *src, uint64_t now_usec,
                              uint64_t valid_usec, char **ret_text, size_t *ret_size);
