/* gates: owns what humans are told about the safety gates — the one sentence, with its figures, for each gate
 * that holds a failover (the log, --once, the drill), and the drill's fact lines and verdict line. Pure: the
 * manager gathers the facts, monitor.h decides, this module only words it. */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "health.h"
#include "monitor.h"
#include "pause.h"

struct gate_facts {
        const struct config *config;
        const struct monitor_endpoint *standby;         /* the standby API's counter and health */
        const struct health_result *standby_last;       /* its last check */
        const char *standby_url_shown;                  /* redacted */
        const struct monitor_db *standby_db;            /* NULL: no database section */
        const char *standby_db_error;                   /* libpq's last complaint, "" when none */
        const struct monitor_db *primary_db;            /* NULL: no database.primary */
        enum monitor_confirm confirm;
        const struct pause *pause;                      /* NULL: not paused */
        const char *latch;                              /* the record's latch (state_latch_to_string, or
                                                         * "unreadable"); NULL: "failover" */
        const char *cluster_words;                      /* a cluster: why this member does not act ("following
                                                         * mon-a", "etcd unavailable: …"); NULL standalone */
        const char *quorum_words;                       /* who sees the active failing ("quorum: 1 of 3 members
                                                         * …, 2 needed"); NULL standalone */
};

/* "HTTP status 500", "timeout: Operation timed out after 300 milliseconds", ... */
void gates_describe_check(const struct health_result *r, char *buf, size_t size);

/* The sentence for a hold: "replication lag: the standby has N bytes of WAL received but not replayed
 * (database.max_lag_bytes M)". */
void gates_describe_hold(const struct gate_facts *f, enum monitor_decision d, char *buf, size_t size);

/* "paused for maintenance since 2026-12-06T10:00:00Z by uid 0 (kernel upgrade): no automatic failover until
 * blfailoverd --resume" — also for --status and the log when the pause is set. p NULL: an unreadable pause file. */
void gates_describe_pause(const struct pause *p, char *buf, size_t size);

/* The drill's lines for the gates' inputs: "drill: standby    ok     ...", one per configured source. */
void gates_print_drill_facts(const struct gate_facts *f, FILE *out);

/* The drill's last line; returns the exit code that goes with it (0 proceed, 3 held, 1 a check failed). */
int gates_print_drill_verdict(const struct gate_facts *f, struct monitor_verdict v, unsigned checks_failed,
                              FILE *out);
