/* Unit tests for monitor: the failure counter and the failover decision. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "monitor.h"

static void monitor__failures_count_up_to_threshold__each_said_once(void **state) {
        struct monitor_endpoint e = {};

        assert_int_equal(monitor_record(&e, false, 3), MONITOR_FAILING);
        assert_int_equal(e.consecutive_failures, 1);
        assert_int_equal(monitor_record(&e, false, 3), MONITOR_FAILING);
        assert_int_equal(monitor_record(&e, false, 3), MONITOR_FAILING);
        assert_int_equal(e.consecutive_failures, 3);
        /* beyond the threshold: still counted, no longer worth a line per tick */
        assert_int_equal(monitor_record(&e, false, 3), MONITOR_UNCHANGED);
        assert_int_equal(e.consecutive_failures, 4);
        assert_int_equal(e.health, MONITOR_DOWN);
}

static void monitor__success__resets_counter_and_says_recovery_once(void **state) {
        struct monitor_endpoint e = {};

        monitor_record(&e, false, 3);
        monitor_record(&e, false, 3);
        assert_int_equal(monitor_record(&e, true, 3), MONITOR_BECAME_UP);
        assert_int_equal(e.consecutive_failures, 0);
        assert_int_equal(monitor_record(&e, true, 3), MONITOR_UNCHANGED);
        /* a new outage starts counting from one again */
        assert_int_equal(monitor_record(&e, false, 3), MONITOR_FAILING);
        assert_int_equal(e.consecutive_failures, 1);
}

static void monitor__first_success__is_a_change(void **state) {
        struct monitor_endpoint e = {};

        assert_int_equal(e.health, MONITOR_UNKNOWN);
        assert_int_equal(monitor_record(&e, true, 3), MONITOR_BECAME_UP);
}

static void monitor__threshold_one__first_failure_reaches_it(void **state) {
        struct monitor_endpoint a = {}, s = { .health = MONITOR_UP };
        struct monitor_view v = { .active = &a, .standby = &s, .threshold = 1 };

        assert_int_equal(monitor_decide(&v).decision, MONITOR_WAIT);
        monitor_record(&a, false, 1);
        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
}

static void monitor__decide__table(void **state) {
        static const struct {
                unsigned failures;
                enum monitor_health standby;
                bool failed_over, running;
                enum monitor_decision expected;
        } cases[] = {
                { 0, MONITOR_UP, false, false, MONITOR_WAIT },
                { 2, MONITOR_UP, false, false, MONITOR_WAIT },
                { 3, MONITOR_UP, false, false, MONITOR_FAILOVER },
                { 7, MONITOR_UP, false, false, MONITOR_FAILOVER },
                { 3, MONITOR_DOWN, false, false, MONITOR_HOLD_STANDBY_UNHEALTHY },
                { 3, MONITOR_UNKNOWN, false, false, MONITOR_HOLD_STANDBY_UNHEALTHY },
                { 3, MONITOR_UP, true, false, MONITOR_HOLD_ALREADY_DONE },
                { 3, MONITOR_DOWN, true, false, MONITOR_HOLD_ALREADY_DONE },
                { 3, MONITOR_UP, false, true, MONITOR_BUSY },
                { 3, MONITOR_UP, true, true, MONITOR_BUSY },
                { 2, MONITOR_UP, true, true, MONITOR_WAIT },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct monitor_endpoint a = { .health = MONITOR_DOWN, .consecutive_failures = cases[i].failures };
                struct monitor_endpoint s = { .health = cases[i].standby };
                struct monitor_view v = { .active = &a, .standby = &s, .threshold = 3,
                                          .failed_over = cases[i].failed_over, .failover_running = cases[i].running };
                assert_int_equal(monitor_decide(&v).decision, cases[i].expected);
        }
}

static struct monitor_endpoint failing_active = { .health = MONITOR_DOWN, .consecutive_failures = 3 };
static struct monitor_endpoint healthy_standby = { .health = MONITOR_UP };

static struct monitor_view gated_view(struct monitor_db *standby_db, struct monitor_db *primary_db) {
        return (struct monitor_view) { .active = &failing_active, .standby = &healthy_standby, .threshold = 3,
                                       .standby_db = standby_db, .max_lag_bytes = 1000, .primary_db = primary_db,
                                       .confirm = MONITOR_CONFIRM_OFF };
}

static void monitor__standby_db_gates__each_holds_with_its_name(void **state) {
        struct monitor_db good = { .known = true, .reachable = true, .in_recovery = true, .receiving = true,
                                   .lag_bytes = 1000 };
        struct monitor_db db = good;
        struct monitor_view v = gated_view(&db, NULL);

        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);       /* lag == max is fine */
        db.lag_bytes = 1001;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_LAG);
        assert_string_equal(monitor_decision_to_string(MONITOR_HOLD_LAG), "replication_lag");
        db = good, db.reachable = false;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_STANDBY_DB);
        db = good, db.in_recovery = false;              /* someone already promoted it */
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_STANDBY_DB);
        db = good, db.receiving = false;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_STANDBY_DB);
        db = good, db.known = false;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_STANDBY_DB);
}

static void monitor__writable_primary__held_without_fence_fenced_with(void **state) {
        struct monitor_db standby = { .known = true, .reachable = true, .in_recovery = true, .receiving = true };
        struct monitor_db primary = { .known = true, .reachable = true, .in_recovery = false };
        struct monitor_view v = gated_view(&standby, &primary);
        struct monitor_verdict verdict;

        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_SPLIT_BRAIN);
        v.fence_configured = true;
        verdict = monitor_decide(&v);
        assert_int_equal(verdict.decision, MONITOR_FAILOVER);
        assert_true(verdict.fence_required);
        /* a dead primary needs no fence to be safe: the fence stays best effort */
        primary.reachable = false;
        verdict = monitor_decide(&v);
        assert_int_equal(verdict.decision, MONITOR_FAILOVER);
        assert_false(verdict.fence_required);
        v.fence_configured = false;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
}

static void monitor__confirm__asked_last_and_obeyed(void **state) {
        struct monitor_view v = gated_view(NULL, NULL);

        v.confirm = MONITOR_CONFIRM_UNKNOWN;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_ASK_CONFIRM);
        v.confirm = MONITOR_CONFIRM_RUNNING;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_BUSY);
        v.confirm = MONITOR_CONFIRM_ACTIVE_ALIVE;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_CONFIRM);
        v.confirm = MONITOR_CONFIRM_ACTIVE_DOWN;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
        /* the command is not even asked while a cheaper gate holds */
        v.confirm = MONITOR_CONFIRM_UNKNOWN;
        v.in_startup_grace = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_STARTUP_GRACE);
}

static void monitor__manual__ignores_threshold_not_gates(void **state) {
        struct monitor_endpoint healthy_active = { .health = MONITOR_UP };
        struct monitor_endpoint sick_standby = { .health = MONITOR_DOWN, .consecutive_failures = 1 };
        struct monitor_view v = { .active = &healthy_active, .standby = &healthy_standby, .threshold = 3,
                                  .manual = true };

        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
        v.standby = &sick_standby;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_STANDBY_UNHEALTHY);
        assert_true(monitor_decision_is_hold(MONITOR_HOLD_STANDBY_UNHEALTHY));
        assert_false(monitor_decision_is_hold(MONITOR_ASK_CONFIRM));
}

static void monitor__fast_interval__only_while_counting(void **state) {
        struct monitor_endpoint e = {};

        assert_int_equal(monitor_next_interval(&e, 3, 1000, 200), 1000);      /* healthy: no extra load */
        monitor_record(&e, false, 3);
        assert_int_equal(monitor_next_interval(&e, 3, 1000, 200), 200);
        monitor_record(&e, false, 3);
        assert_int_equal(monitor_next_interval(&e, 3, 1000, 200), 200);
        monitor_record(&e, false, 3);
        assert_int_equal(monitor_next_interval(&e, 3, 1000, 200), 1000);      /* at threshold: back to normal */
        monitor_record(&e, true, 3);
        assert_int_equal(monitor_next_interval(&e, 3, 1000, 200), 1000);
        monitor_record(&e, false, 3);
        assert_int_equal(monitor_next_interval(&e, 3, 1000, 0), 1000);        /* unset: same as interval */
        assert_int_equal(monitor_next_interval(&e, 3, 1000, 1000), 1000);
}

static void monitor__decision_names__distinct(void **state) {
        assert_string_equal(monitor_decision_to_string(MONITOR_HOLD_STANDBY_UNHEALTHY), "standby_unhealthy");
        assert_string_equal(monitor_decision_to_string(MONITOR_HOLD_ALREADY_DONE), "already_done");
}

/* The pause holds what the daemon would do by itself, never what an operator asks for, and never hides a record. */
static void monitor__paused__holds_automatic_only(void **state) {
        struct monitor_view v = gated_view(NULL, NULL);

        v.paused = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_PAUSED);
        assert_true(monitor_decision_is_hold(MONITOR_HOLD_PAUSED));
        assert_string_equal(monitor_decision_to_string(MONITOR_HOLD_PAUSED), "paused");
        v.manual = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
        v.manual = false;
        v.failed_over = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_ALREADY_DONE);
        v.failed_over = false;
        failing_active.consecutive_failures = 2;        /* below the threshold: nothing to hold */
        assert_int_equal(monitor_decide(&v).decision, MONITOR_WAIT);
        failing_active.consecutive_failures = 3;
}

/* A cluster (docs/design/cluster.md §10): a majority's view makes the failover due, the leader alone acts. */
static struct monitor_view cluster_view(struct monitor_cluster *c, unsigned own_failures) {
        static struct monitor_endpoint a;

        a = (struct monitor_endpoint) { .health = MONITOR_DOWN, .consecutive_failures = own_failures };
        return (struct monitor_view) { .active = &a, .standby = &healthy_standby, .threshold = 3,
                                       .confirm = MONITOR_CONFIRM_OFF, .cluster = c };
}

static void monitor__cluster_below_threshold_without_quorum__waits(void **state) {
        struct monitor_cluster c = { .acting = true, .agreeing = 1, .needed = 2 };
        struct monitor_view v = cluster_view(&c, 2);

        assert_int_equal(monitor_decide(&v).decision, MONITOR_WAIT);
        c.agreeing = 0;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_WAIT);
}

static void monitor__cluster_own_counter_at_threshold_without_quorum__holds_quorum(void **state) {
        struct monitor_cluster c = { .acting = true, .agreeing = 1, .needed = 2 };
        struct monitor_view v = cluster_view(&c, 3);

        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_QUORUM);
        assert_string_equal(monitor_decision_to_string(MONITOR_HOLD_QUORUM), "quorum");
        assert_true(monitor_decision_is_hold(MONITOR_HOLD_QUORUM));
        c.acting = false;               /* a follower is told about the quorum first: it is the reason to wait */
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_QUORUM);
}

static void monitor__cluster_quorum_not_acting__holds_cluster(void **state) {
        struct monitor_cluster c = { .acting = false, .agreeing = 2, .needed = 2 };
        struct monitor_view v = cluster_view(&c, 3);

        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_CLUSTER);
        assert_string_equal(monitor_decision_to_string(MONITOR_HOLD_CLUSTER), "cluster");
        assert_true(monitor_decision_is_hold(MONITOR_HOLD_CLUSTER));
}

static void monitor__cluster_quorum_and_acting__fails_over_subject_to_other_gates(void **state) {
        struct monitor_cluster c = { .acting = true, .agreeing = 2, .needed = 2 };     /* agreeing == needed */
        struct monitor_view v = cluster_view(&c, 3);
        struct monitor_endpoint sick_standby = { .health = MONITOR_DOWN, .consecutive_failures = 1 };

        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
        c.agreeing = 3;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
        v.standby = &sick_standby;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_STANDBY_UNHEALTHY);
        v.standby = &healthy_standby;
        v.failed_over = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_ALREADY_DONE);
        v.failed_over = false;
        v.paused = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_PAUSED);
}

/* The leader's own checks may lag the others' by a fast_interval: the majority decides, not its counter. */
static void monitor__cluster_own_counter_below_but_quorum_and_acting__fails_over(void **state) {
        struct monitor_cluster c = { .acting = true, .agreeing = 2, .needed = 2 };
        struct monitor_view v = cluster_view(&c, 1);

        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
        v = cluster_view(&c, 0);
        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
        c.acting = false;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_CLUSTER);
}

/* --once skips the threshold and the quorum, never the cluster gate: only the leader acts. */
static void monitor__cluster_manual__skips_quorum_not_cluster(void **state) {
        struct monitor_cluster c = { .acting = false, .agreeing = 0, .needed = 2 };
        struct monitor_view v = cluster_view(&c, 0);

        v.manual = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_CLUSTER);
        c.acting = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
        v = cluster_view(&c, 3);        /* at the threshold, no quorum: manual still is not held by the quorum */
        v.manual = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
}

static void monitor__cluster_config_mismatch__holds_cluster(void **state) {
        struct monitor_cluster c = { .acting = true, .mismatch = true, .agreeing = 3, .needed = 2 };
        struct monitor_view v = cluster_view(&c, 3);

        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_CLUSTER);
        v.manual = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_HOLD_CLUSTER);
}

static void monitor__cluster_busy__comes_first(void **state) {
        struct monitor_cluster c = { .acting = false, .mismatch = true, .agreeing = 1, .needed = 2 };
        struct monitor_view v = cluster_view(&c, 3);

        v.failover_running = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_BUSY);
        v.failover_running = false;
        v.confirm = MONITOR_CONFIRM_RUNNING;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_BUSY);
}

/* Standalone: agreeing/needed do not exist; the counter alone decides, as before. */
static void monitor__no_cluster__counter_alone_decides(void **state) {
        struct monitor_view v = cluster_view(NULL, 2);

        assert_int_equal(monitor_decide(&v).decision, MONITOR_WAIT);
        v = cluster_view(NULL, 3);
        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
        v.manual = true;
        assert_int_equal(monitor_decide(&v).decision, MONITOR_FAILOVER);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(monitor__failures_count_up_to_threshold__each_said_once),
                cmocka_unit_test(monitor__paused__holds_automatic_only),
                cmocka_unit_test(monitor__success__resets_counter_and_says_recovery_once),
                cmocka_unit_test(monitor__first_success__is_a_change),
                cmocka_unit_test(monitor__threshold_one__first_failure_reaches_it),
                cmocka_unit_test(monitor__decide__table),
                cmocka_unit_test(monitor__standby_db_gates__each_holds_with_its_name),
                cmocka_unit_test(monitor__writable_primary__held_without_fence_fenced_with),
                cmocka_unit_test(monitor__confirm__asked_last_and_obeyed),
                cmocka_unit_test(monitor__manual__ignores_threshold_not_gates),
                cmocka_unit_test(monitor__fast_interval__only_while_counting),
                cmocka_unit_test(monitor__decision_names__distinct),
                cmocka_unit_test(monitor__cluster_below_threshold_without_quorum__waits),
                cmocka_unit_test(monitor__cluster_own_counter_at_threshold_without_quorum__holds_quorum),
                cmocka_unit_test(monitor__cluster_quorum_not_acting__holds_cluster),
                cmocka_unit_test(monitor__cluster_quorum_and_acting__fails_over_subject_to_other_gates),
                cmocka_unit_test(monitor__cluster_own_counter_below_but_quorum_and_acting__fails_over),
                cmocka_unit_test(monitor__cluster_manual__skips_quorum_not_cluster),
                cmocka_unit_test(monitor__cluster_config_mismatch__holds_cluster),
                cmocka_unit_test(monitor__cluster_busy__comes_first),
                cmocka_unit_test(monitor__no_cluster__counter_alone_decides),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
