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

        assert_int_equal(monitor_decide(&v), MONITOR_WAIT);
        monitor_record(&a, false, 1);
        assert_int_equal(monitor_decide(&v), MONITOR_FAILOVER);
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
                { 2, MONITOR_UP, true, true, MONITOR_WAIT },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct monitor_endpoint a = { .health = MONITOR_DOWN, .consecutive_failures = cases[i].failures };
                struct monitor_endpoint s = { .health = cases[i].standby };
                struct monitor_view v = { .active = &a, .standby = &s, .threshold = 3,
                                          .failed_over = cases[i].failed_over, .failover_running = cases[i].running };
                assert_int_equal(monitor_decide(&v), cases[i].expected);
        }
}

static void monitor__decision_names__distinct(void **state) {
        assert_string_equal(monitor_decision_to_string(MONITOR_HOLD_STANDBY_UNHEALTHY), "standby_unhealthy");
        assert_string_equal(monitor_decision_to_string(MONITOR_HOLD_ALREADY_DONE), "already_done");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(monitor__failures_count_up_to_threshold__each_said_once),
                cmocka_unit_test(monitor__success__resets_counter_and_says_recovery_once),
                cmocka_unit_test(monitor__first_success__is_a_change),
                cmocka_unit_test(monitor__threshold_one__first_failure_reaches_it),
                cmocka_unit_test(monitor__decide__table),
                cmocka_unit_test(monitor__decision_names__distinct),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
