/* Unit tests for metrics: the histogram, the exposition text (names, labels, escaping, values that move), and
 * the /health cluster view. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static struct status healthy(void) {
        struct status s = { .threshold = 3, .running = true };

        strcpy(s.active.name, "active_api");
        s.active.health = STATUS_UP;
        s.active.checked_usec = 1764100000000000;
        strcpy(s.standby.name, "standby\"api\\x\n");
        s.standby.health = STATUS_UP;
        s.standby.checked_usec = 1764100000000000;
        s.standby_db = (struct status_db) { .configured = true, .known = true, .reachable = true, .in_recovery = true,
                                            .receiving = true, .lag_bytes = 4096, .lag_seconds = 0.5 };
        return s;
}

static char *render(const struct metrics *m, const struct status *s, const struct state *r) {
        char *text;
        size_t size;

        assert_int_equal(metrics_render(m, s, r, "1.2.3", &text, &size), 0);
        assert_int_equal(strlen(text), size);
        return text;
}

static void metrics__histogram__cumulative_buckets_sum_count(void **unused) {
        struct metrics m = {};
        struct status s = healthy();
        char *t;

        metrics_observe_check(&m, METRICS_ACTIVE, 3000);          /* 3 ms → le 0.005 */
        metrics_observe_check(&m, METRICS_ACTIVE, 300000);        /* 0.3 s → le 0.5 */
        metrics_observe_check(&m, METRICS_ACTIVE, 60000000);      /* 60 s → +Inf only */
        t = render(&m, &s, NULL);
        assert_non_null(strstr(t, "# TYPE blfailoverd_check_duration_seconds histogram\n"));
        assert_non_null(strstr(t, "blfailoverd_check_duration_seconds_bucket{role=\"active\",name=\"active_api\",le=\"0.005\"} 1\n"));
        assert_non_null(strstr(t, "blfailoverd_check_duration_seconds_bucket{role=\"active\",name=\"active_api\",le=\"0.25\"} 1\n"));
        assert_non_null(strstr(t, "blfailoverd_check_duration_seconds_bucket{role=\"active\",name=\"active_api\",le=\"0.5\"} 2\n"));
        assert_non_null(strstr(t, "blfailoverd_check_duration_seconds_bucket{role=\"active\",name=\"active_api\",le=\"10\"} 2\n"));
        assert_non_null(strstr(t, "blfailoverd_check_duration_seconds_bucket{role=\"active\",name=\"active_api\",le=\"+Inf\"} 3\n"));
        assert_non_null(strstr(t, "blfailoverd_check_duration_seconds_count{role=\"active\",name=\"active_api\"} 3\n"));
        assert_non_null(strstr(t, "blfailoverd_check_duration_seconds_sum{role=\"active\",name=\"active_api\"} 60.303000\n"));
        free(t);
}

static void metrics__label_values__escaped(void **unused) {
        struct metrics m = {};
        struct status s = healthy();
        char *t = render(&m, &s, NULL);

        assert_non_null(strstr(t, "blfailoverd_endpoint_up{role=\"standby\",name=\"standby\\\"api\\\\x\\n\"} 1\n"));
        assert_non_null(strstr(t, "blfailoverd_build_info{version=\"1.2.3\"} 1\n"));
        free(t);
}

static void metrics__values__follow_status_and_record(void **unused) {
        struct metrics m = {};
        struct status s = healthy();
        struct state r = { .outcome = STATE_SUCCEEDED, .started_usec = 1764100001500000, .n_steps = 1 };
        char *t;

        t = render(&m, &s, NULL);
        assert_non_null(strstr(t, "blfailoverd_endpoint_up{role=\"active\",name=\"active_api\"} 1\n"));
        assert_non_null(strstr(t, "blfailoverd_failovers_total{result=\"succeeded\"} 0\n"));
        assert_non_null(strstr(t, "blfailoverd_failover_recorded{outcome=\"none\"} 1\n"));
        assert_non_null(strstr(t, "blfailoverd_last_failover_timestamp_seconds 0.000\n"));
        assert_non_null(strstr(t, "blfailoverd_failover_held{gate=\"standby_unhealthy\"} 0\n"));
        assert_non_null(strstr(t, "blfailoverd_failover_not_started 0\n"));
        assert_non_null(strstr(t, "blfailoverd_replication_lag_bytes 4096\n"));
        assert_non_null(strstr(t, "blfailoverd_replication_lag_seconds 0.500000\n"));
        assert_non_null(strstr(t, "blfailoverd_database_up{role=\"standby\"} 1\n"));
        assert_null(strstr(t, "blfailoverd_failover_step_duration_seconds{"));
        free(t);

        s.active.health = STATUS_DOWN;
        s.active.failures = 3;
        strcpy(s.held_gate, "standby_unhealthy");
        strcpy(s.not_started, "cannot record it in /x/state: Read-only file system");
        strcpy(r.steps[0].name, "promote");
        r.steps[0].duration_usec = 1250000;
        metrics_count_failover(&m, true);
        t = render(&m, &s, &r);
        assert_non_null(strstr(t, "blfailoverd_endpoint_up{role=\"active\",name=\"active_api\"} 0\n"));
        assert_non_null(strstr(t, "blfailoverd_consecutive_failures{role=\"active\",name=\"active_api\"} 3\n"));
        assert_non_null(strstr(t, "blfailoverd_failovers_total{result=\"succeeded\"} 1\n"));
        assert_non_null(strstr(t, "blfailoverd_failover_recorded{outcome=\"succeeded\"} 1\n"));
        assert_non_null(strstr(t, "blfailoverd_failover_recorded{outcome=\"none\"} 0\n"));
        assert_non_null(strstr(t, "blfailoverd_failover_step_duration_seconds{step=\"promote\"} 1.250000\n"));
        assert_non_null(strstr(t, "blfailoverd_last_failover_timestamp_seconds 1764100001.500\n"));
        assert_non_null(strstr(t, "blfailoverd_failover_held{gate=\"standby_unhealthy\"} 1\n"));
        assert_non_null(strstr(t, "blfailoverd_failover_not_started 1\n"));
        free(t);
}

static void metrics__unknown__samples_absent(void **unused) {
        struct metrics m = {};
        struct status s = healthy();
        char *t;

        s.active.health = STATUS_UNKNOWN;
        s.standby_db.reachable = false;
        t = render(&m, &s, NULL);
        assert_null(strstr(t, "blfailoverd_endpoint_up{role=\"active\""));
        assert_non_null(strstr(t, "blfailoverd_database_up{role=\"standby\"} 0\n"));
        assert_null(strstr(t, "blfailoverd_replication_lag_bytes 4096"));
        assert_null(strstr(t, "blfailoverd_replication_lag_seconds 0"));
        free(t);
}

static void metrics__cluster_status__healthy_degraded(void **unused) {
        struct status s = healthy();

        assert_string_equal(metrics_cluster_status(&s, NULL), "healthy");
        s.standby_db.in_recovery = false;
        assert_string_equal(metrics_cluster_status(&s, NULL), "degraded");
        s = healthy();
        s.standby.health = STATUS_DOWN;
        assert_string_equal(metrics_cluster_status(&s, NULL), "degraded");
}

/* Issue 11: a failover that failed (nothing switched) said "failed_over"; the record's outcome decides now. */
static void metrics__cluster_status__follows_the_record_outcome(void **unused) {
        struct status s = healthy();
        struct state r = { .outcome = STATE_RUNNING, .op = STATE_OP_FAILOVER, .latch = STATE_LATCH_FAILOVER };

        s.failover_running = true;
        assert_string_equal(metrics_cluster_status(&s, NULL), "failing_over");
        assert_string_equal(metrics_cluster_status(&s, &r), "failing_over");
        s = healthy();
        s.failed_over = true;
        assert_string_equal(metrics_cluster_status(&s, &r), "failing_over");      /* the live view lags the record */
        r.outcome = STATE_SUCCEEDED;
        assert_string_equal(metrics_cluster_status(&s, &r), "failed_over");
        r.outcome = STATE_FAILED;
        strcpy(r.failed_step, "nginx_test");
        assert_string_equal(metrics_cluster_status(&s, &r), "failover_failed");
        s.active.health = STATUS_DOWN;
        assert_string_equal(metrics_cluster_status(&s, &r), "failover_failed");
        assert_string_equal(metrics_cluster_status(&s, NULL), "record_unreadable");
        /* latch none (a switchover or rejoin finished): the checks decide again, whatever the journal's outcome */
        s = healthy();
        r.latch = STATE_LATCH_NONE;
        r.outcome = STATE_SUCCEEDED;
        assert_string_equal(metrics_cluster_status(&s, &r), "healthy");
}

static void metrics__health_json__failed_failover(void **unused) {
        struct status s = healthy();
        struct state r = { .outcome = STATE_FAILED, .op = STATE_OP_FAILOVER, .latch = STATE_LATCH_FAILOVER };
        char *t;
        size_t size;

        s.failed_over = true;
        assert_int_equal(metrics_health_json(&s, &r, &t, &size), 0);
        assert_non_null(strstr(t, "{\"status\":\"failover_failed\","));
        free(t);
}

static void metrics__health_json__runbook_shape(void **unused) {
        struct status s = healthy();
        char *t;
        size_t size;

        s.active.health = STATUS_DOWN;
        assert_int_equal(metrics_health_json(&s, NULL, &t, &size), 0);
        assert_non_null(strstr(t, "{\"status\":\"degraded\",\"primary\":{\"name\":\"active_api\",\"status\":\"unhealthy\","
                                  "\"last_check\":\"2025-11-25T19:46:40.000Z\",\"replication_lag\":0}"));
        assert_non_null(strstr(t, "\"standby\":{\"name\":\"standby\\\"api\\\\x\\n\",\"status\":\"healthy\""));
        assert_non_null(strstr(t, "\"replication_lag\":0.5,\"replication_lag_bytes\":4096"));
        free(t);
}

static void metrics__paused__gauge_and_health_field(void **unused) {
        struct metrics m = {};
        struct status s = healthy();
        char *t, *h;
        size_t size;

        t = render(&m, &s, NULL);
        assert_non_null(strstr(t, "\nblfailoverd_paused 0\n"));
        assert_non_null(strstr(t, "blfailoverd_failover_held{gate=\"paused\"} 0\n"));
        free(t);
        s.paused = true;
        snprintf(s.held_gate, sizeof s.held_gate, "paused");
        t = render(&m, &s, NULL);
        assert_non_null(strstr(t, "\nblfailoverd_paused 1\n"));
        assert_non_null(strstr(t, "blfailoverd_failover_held{gate=\"paused\"} 1\n"));
        free(t);
        assert_int_equal(metrics_health_json(&s, NULL, &h, &size), 0);
        assert_non_null(strstr(h, "\"held\":\"paused\",\"paused\":true,"));
        free(h);
}

static void metrics__roles__epoch_site_role_latched(void **unused) {
        struct metrics m = {};
        struct status s = healthy();
        struct state r = { .version = 2, .outcome = STATE_SUCCEEDED, .op = STATE_OP_FAILOVER,
                           .latch = STATE_LATCH_FAILOVER, .epoch = 3 };
        char *t, *h;
        size_t size;

        /* before any record: the config's active serves, epoch 0, armed */
        t = render(&m, &s, NULL);
        assert_non_null(strstr(t, "\nblfailoverd_epoch 0\n"));
        assert_non_null(strstr(t, "blfailoverd_site_role{site=\"active_api\",role=\"serving\"} 1\n"
                                  "blfailoverd_site_role{site=\"standby\\\"api\\\\x\\n\",role=\"standby\"} 1\n"));
        assert_non_null(strstr(t, "blfailoverd_latched{latch=\"none\"} 1\nblfailoverd_latched{latch=\"failover\"} 0\n"));
        free(t);
        assert_int_equal(metrics_health_json(&s, NULL, &h, &size), 0);
        assert_non_null(strstr(h, "\"serving\":\"active_api\",\"epoch\":0,\"latch\":\"none\"}"));
        free(h);

        strcpy(r.serving, "b");
        strcpy(r.standby, "a");
        t = render(&m, &s, &r);
        assert_non_null(strstr(t, "\nblfailoverd_epoch 3\n"));
        assert_non_null(strstr(t, "blfailoverd_site_role{site=\"b\",role=\"serving\"} 1\n"
                                  "blfailoverd_site_role{site=\"a\",role=\"standby\"} 1\n"));
        assert_non_null(strstr(t, "blfailoverd_latched{latch=\"none\"} 0\nblfailoverd_latched{latch=\"failover\"} 1\n"));
        assert_null(strstr(t, "latch=\"unreadable\""));
        free(t);
        assert_int_equal(metrics_health_json(&s, &r, &h, &size), 0);
        assert_non_null(strstr(h, "\"serving\":\"b\",\"epoch\":3,\"latch\":\"failover\"}"));
        free(h);

        /* unreadable: no roles, no epoch, held */
        s.failed_over = true;
        t = render(&m, &s, NULL);
        assert_null(strstr(t, "\nblfailoverd_epoch "));
        assert_null(strstr(t, "blfailoverd_site_role{"));
        assert_non_null(strstr(t, "blfailoverd_latched{latch=\"none\"} 0\n"));
        assert_non_null(strstr(t, "blfailoverd_latched{latch=\"unreadable\"} 1\n"));
        free(t);
        assert_int_equal(metrics_health_json(&s, NULL, &h, &size), 0);
        assert_non_null(strstr(h, "\"serving\":null,\"epoch\":null,\"latch\":\"unreadable\"}"));
        free(h);
}

static struct status clustered(void) {
        struct status s = healthy();
        struct status_cluster *c = &s.cluster;

        c->enabled = true;
        strcpy(c->name, "mon-a");
        strcpy(c->role, "leader");
        strcpy(c->leader, "mon-a");
        c->acting = true, c->etcd_up = true, c->lease_seconds_left = 7.25;
        c->agreeing = 1, c->needed = 2, c->n_members = 3;
        strcpy(c->members[0].name, "mon-a"), c->members[0].seen = true, c->members[0].age_seconds = 0.5;
        strcpy(c->members[1].name, "mon-\"b\""), c->members[1].seen = true, c->members[1].age_seconds = 1.25;
        strcpy(c->members[2].name, "mon-c"), c->members[2].age_seconds = -1;
        return s;
}

static void metrics__cluster__gauges_on_a_member_only(void **unused) {
        struct metrics m = {};
        struct status s = clustered();
        char *t = render(&m, &s, NULL);

        assert_non_null(strstr(t, "# HELP blfailoverd_cluster_leader "));
        assert_non_null(strstr(t, "# TYPE blfailoverd_cluster_leader gauge\nblfailoverd_cluster_leader 1\n"));
        assert_non_null(strstr(t, "\nblfailoverd_cluster_members_agreeing 1\n"));
        assert_non_null(strstr(t, "\nblfailoverd_cluster_members_needed 2\n"));
        assert_non_null(strstr(t, "\nblfailoverd_cluster_etcd_up 1\n"));
        assert_non_null(strstr(t, "\nblfailoverd_cluster_lease_seconds_left 7.250\n"));
        assert_non_null(strstr(t, "\nblfailoverd_cluster_view_age_seconds{member=\"mon-a\"} 0.500\n"));
        assert_non_null(strstr(t, "\nblfailoverd_cluster_view_age_seconds{member=\"mon-\\\"b\\\"\"} 1.250\n"));
        assert_null(strstr(t, "member=\"mon-c\""));                 /* no view: no sample */
        assert_non_null(strstr(t, "blfailoverd_failover_held{gate=\"quorum\"} 0\n"));
        free(t);
        /* a leader past its deadline does not act: not counted as the leader */
        s.cluster.acting = false;
        t = render(&m, &s, NULL);
        assert_non_null(strstr(t, "\nblfailoverd_cluster_leader 0\n"));
        free(t);
        /* a follower: no lease gauge at all */
        strcpy(s.cluster.role, "follower"), strcpy(s.cluster.leader, "mon-b"), s.cluster.etcd_up = false;
        s.cluster.lease_seconds_left = -1;
        t = render(&m, &s, NULL);
        assert_non_null(strstr(t, "\nblfailoverd_cluster_leader 0\n"));
        assert_non_null(strstr(t, "\nblfailoverd_cluster_etcd_up 0\n"));
        assert_null(strstr(t, "\nblfailoverd_cluster_lease_seconds_left "));
        free(t);
        s.cluster.acting = true, s.cluster.lease_seconds_left = 3; /* inconsistent input: still not a leader */
        t = render(&m, &s, NULL);
        assert_non_null(strstr(t, "\nblfailoverd_cluster_leader 0\n"));
        assert_null(strstr(t, "\nblfailoverd_cluster_lease_seconds_left "));
        free(t);
}

/* etcd traffic: counters with their TYPE, bytes split by direction (the bench reads them: §13). */
static void metrics__cluster__etcd_traffic_counters(void **unused) {
        struct metrics m = {};
        struct status s = clustered();
        char *t;

        s.cluster.etcd_requests = 1234, s.cluster.etcd_bytes_sent = 56789, s.cluster.etcd_bytes_received = 98765;
        t = render(&m, &s, NULL);
        assert_non_null(strstr(t, "# TYPE blfailoverd_cluster_etcd_requests_total counter\n"
                                  "blfailoverd_cluster_etcd_requests_total 1234\n"));
        assert_non_null(strstr(t, "# TYPE blfailoverd_cluster_etcd_bytes_total counter\n"
                                  "blfailoverd_cluster_etcd_bytes_total{direction=\"sent\"} 56789\n"
                                  "blfailoverd_cluster_etcd_bytes_total{direction=\"received\"} 98765\n"));
        free(t);
}

/* Standalone: no cluster metric, and the cluster-only gates are not listed either. */
static void metrics__standalone__no_cluster_metrics(void **unused) {
        struct metrics m = {};
        struct status s = healthy();
        char *t = render(&m, &s, NULL);

        assert_null(strstr(t, "blfailoverd_cluster_"));
        assert_null(strstr(t, "gate=\"quorum\""));
        assert_null(strstr(t, "gate=\"cluster\""));
        assert_non_null(strstr(t, "blfailoverd_failover_held{gate=\"paused\"} 0\n"));
        free(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(metrics__roles__epoch_site_role_latched),
                cmocka_unit_test(metrics__histogram__cumulative_buckets_sum_count),
                cmocka_unit_test(metrics__label_values__escaped),
                cmocka_unit_test(metrics__values__follow_status_and_record),
                cmocka_unit_test(metrics__unknown__samples_absent),
                cmocka_unit_test(metrics__cluster_status__healthy_degraded),
                cmocka_unit_test(metrics__cluster_status__follows_the_record_outcome),
                cmocka_unit_test(metrics__health_json__failed_failover),
                cmocka_unit_test(metrics__health_json__runbook_shape),
                cmocka_unit_test(metrics__paused__gauge_and_health_field),
                cmocka_unit_test(metrics__cluster__gauges_on_a_member_only),
                cmocka_unit_test(metrics__cluster__etcd_traffic_counters),
                cmocka_unit_test(metrics__standalone__no_cluster_metrics),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
