/* Unit tests for gates: the words for each hold, with its figures, and the drill's lines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates.h"
#include "exitcode.h"

struct fixture {
        struct config config;
        struct monitor_endpoint standby;
        struct health_result last;
        struct monitor_db standby_db, primary_db;
        struct gate_facts facts;
};

static struct fixture *fixture_new(void) {
        struct fixture *x = calloc(1, sizeof *x);

        x->config.state_dir = (char *) "/var/lib/blfailoverd";
        x->config.standby.name = (char *) "standby_api";
        x->config.database.max_lag_bytes = 65536;
        x->config.health.startup_grace_usec = 30 * 1000000ULL;
        x->standby = (struct monitor_endpoint) { .health = MONITOR_UP };
        x->standby_db = (struct monitor_db) { .known = true, .reachable = true, .in_recovery = true,
                                              .receiving = true, .lag_bytes = 100 };
        x->facts = (struct gate_facts) { .config = &x->config, .standby = &x->standby, .standby_last = &x->last,
                                         .standby_url_shown = "http://127.0.0.1:8080/health",
                                         .standby_db = &x->standby_db, .standby_db_error = "" };
        return x;
}

static char *hold(struct fixture *x, enum monitor_decision d) {
        static char buf[512];

        gates_describe_hold(&x->facts, d, buf, sizeof buf);
        return buf;
}

static char *render(void (*fn)(struct fixture *, FILE *), struct fixture *x) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        fn(x, f);
        fclose(f);
        return text;
}

static void print_facts(struct fixture *x, FILE *f) {
        gates_print_drill_facts(&x->facts, f);
}

static void gates__lag__names_bytes_and_limit(void **unused) {
        struct fixture *x = fixture_new();

        x->standby_db.lag_bytes = 1048576;
        assert_string_equal(hold(x, MONITOR_HOLD_LAG), "replication lag: the standby has 1048576 bytes of WAL received "
                            "but not replayed (database.max_lag_bytes 65536)");
        free(x);
}

static void gates__standby_unhealthy__says_the_check_error(void **unused) {
        struct fixture *x = fixture_new();

        x->standby.health = MONITOR_DOWN;
        x->last = (struct health_result) { .status = HEALTH_HTTP_STATUS, .http_code = 503 };
        assert_string_equal(hold(x, MONITOR_HOLD_STANDBY_UNHEALTHY), "standby standby_api is not healthy (HTTP status 503)");
        x->standby.health = MONITOR_UNKNOWN;
        assert_string_equal(hold(x, MONITOR_HOLD_STANDBY_UNHEALTHY),
                            "standby standby_api is not healthy (no check has finished yet)");
        free(x);
}

static void gates__standby_db__each_cause_its_own_words(void **unused) {
        struct fixture *x = fixture_new();

        x->standby_db = (struct monitor_db) { .known = true, .reachable = false };
        x->facts.standby_db_error = "connection refused";
        assert_string_equal(hold(x, MONITOR_HOLD_STANDBY_DB), "standby database unreachable: connection refused");
        x->standby_db = (struct monitor_db) { .known = true, .reachable = true, .in_recovery = false };
        assert_non_null(strstr(hold(x, MONITOR_HOLD_STANDBY_DB), "not in recovery"));
        x->standby_db = (struct monitor_db) { .known = true, .reachable = true, .in_recovery = true };
        assert_non_null(strstr(hold(x, MONITOR_HOLD_STANDBY_DB), "not receiving WAL"));
        x->standby_db = (struct monitor_db) { .known = false };
        assert_string_equal(hold(x, MONITOR_HOLD_STANDBY_DB), "standby database: no answer yet");
        free(x);
}

static void gates__every_hold__has_a_sentence_not_a_code(void **unused) {
        struct fixture *x = fixture_new();

        for (enum monitor_decision d = MONITOR_HOLD_ALREADY_DONE; d <= MONITOR_HOLD_CONFIRM; d++) {
                const char *s = hold(x, d);
                assert_true(strlen(s) > 30);
                assert_string_not_equal(s, monitor_decision_to_string(d));
        }
        assert_non_null(strstr(hold(x, MONITOR_HOLD_STARTUP_GRACE), "30s"));
        assert_non_null(strstr(hold(x, MONITOR_HOLD_ALREADY_DONE), "latched (latch failover)"));
        x->facts.latch = "unreadable";
        assert_non_null(strstr(hold(x, MONITOR_HOLD_ALREADY_DONE), "latched (latch unreadable)"));
        free(x);
}

static void gates__drill_facts__one_line_per_source(void **unused) {
        struct fixture *x = fixture_new();
        char *argv[] = { "true", NULL };
        char *text;

        x->facts.primary_db = &x->primary_db;
        x->primary_db = (struct monitor_db) { .known = true, .reachable = true, .in_recovery = false };
        x->config.confirm.argv = argv;
        x->facts.confirm = MONITOR_CONFIRM_ACTIVE_DOWN;
        text = render(print_facts, x);
        assert_non_null(strstr(text, "drill: standby    ok     standby_api http://127.0.0.1:8080/health (healthy)\n"));
        assert_non_null(strstr(text, "drill: database   ok     in recovery: yes, receiving WAL: yes, received but not "
                                     "replayed: 100 bytes (database.max_lag_bytes 65536)\n"));
        assert_non_null(strstr(text, "drill: primary    info   the primary database answers as a writable primary"));
        assert_non_null(strstr(text, "drill: confirm    ok     the confirm command says the active is down"));
        free(text);
        x->standby_db.lag_bytes = 70000;
        text = render(print_facts, x);
        assert_non_null(strstr(text, "drill: database   FAILED in recovery: yes"));
        free(text);
        free(x);
}

static void gates__drill_verdict__code_matches_line(void **unused) {
        struct fixture *x = fixture_new();
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_int_equal(gates_print_drill_verdict(&x->facts, (struct monitor_verdict) { MONITOR_FAILOVER, false }, 0, f), 0);
        assert_int_equal(gates_print_drill_verdict(&x->facts, (struct monitor_verdict) { MONITOR_FAILOVER, false }, 2, f), 1);
        assert_int_equal(gates_print_drill_verdict(&x->facts, (struct monitor_verdict) { MONITOR_HOLD_LAG, false }, 2, f),
                         EXIT_REFUSED);
        fclose(f);
        assert_string_equal(text, "drill verdict: the failover would proceed\n"
                            "drill verdict: WOULD FAIL: 2 check(s) above failed; a failover now would stop there\n"
                            "drill verdict: HELD by gate replication_lag: replication lag: the standby has 100 bytes of "
                            "WAL received but not replayed (database.max_lag_bytes 65536) (--once --force would "
                            "override it)\n");
        free(text);
        free(x);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(gates__lag__names_bytes_and_limit),
                cmocka_unit_test(gates__standby_unhealthy__says_the_check_error),
                cmocka_unit_test(gates__standby_db__each_cause_its_own_words),
                cmocka_unit_test(gates__every_hold__has_a_sentence_not_a_code),
                cmocka_unit_test(gates__drill_facts__one_line_per_source),
                cmocka_unit_test(gates__drill_verdict__code_matches_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
