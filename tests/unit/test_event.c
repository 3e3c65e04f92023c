/* Unit tests for event: the funnel's dispatch order and the journal field set. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "event.h"

static bool has_field(char buf[EVENT_FIELDS_MAX][EVENT_FIELD_MAX], size_t n, const char *field) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(buf[i], field) == 0)
                        return true;
        return false;
}

static void event__step_failed__carries_step_argv_exit_duration(void **unused) {
        char buf[EVENT_FIELDS_MAX][EVENT_FIELD_MAX];
        struct event ev = { .kind = EVENT_STEP_FAILED, .step = "nginx_test", .argv = "nginx -t",
                            .exit_status = 1, .duration_usec = 12345 };
        size_t n = event_journal_fields(&ev, buf);

        assert_true(has_field(buf, n, "MESSAGE_ID=43d61b13b2fe449a89be2d2e201595dc"));
        assert_true(has_field(buf, n, "BLF_EVENT=step_failed"));
        assert_true(has_field(buf, n, "BLF_STEP=nginx_test"));
        assert_true(has_field(buf, n, "BLF_ARGV=nginx -t"));
        assert_true(has_field(buf, n, "BLF_EXIT_STATUS=1"));
        assert_true(has_field(buf, n, "BLF_DURATION_USEC=12345"));
        assert_false(has_field(buf, n, "BLF_ENDPOINT="));
}

static void event__endpoint_failing__carries_role_endpoint_count(void **unused) {
        char buf[EVENT_FIELDS_MAX][EVENT_FIELD_MAX];
        struct event ev = { .kind = EVENT_ENDPOINT_FAILING, .role = "active", .endpoint = "active_api",
                            .exit_status = -1, .failures = 2, .threshold = 3 };
        size_t n = event_journal_fields(&ev, buf);

        assert_true(has_field(buf, n, "BLF_ROLE=active"));
        assert_true(has_field(buf, n, "BLF_ENDPOINT=active_api"));
        assert_true(has_field(buf, n, "BLF_FAILURES=2/3"));
        /* not a command: no exit status field */
        for (size_t i = 0; i < n; i++)
                assert_null(strstr(buf[i], "BLF_EXIT_STATUS"));
}

static void event__cluster__member_peer_reason_fields(void **unused) {
        char buf[EVENT_FIELDS_MAX][EVENT_FIELD_MAX];
        struct event ev = { .kind = EVENT_CLUSTER_DEPOSED, .exit_status = -1, .member = "mon-a",
                            .reason = "the lease deadline passed" };
        size_t n = event_journal_fields(&ev, buf);

        assert_true(has_field(buf, n, "BLF_EVENT=cluster_deposed"));
        assert_true(has_field(buf, n, "MESSAGE_ID=3b69300ae33f4d7bb4dcc730f89c190f"));
        assert_true(has_field(buf, n, "BLF_MEMBER=mon-a"));
        assert_true(has_field(buf, n, "BLF_REASON=the lease deadline passed"));
        for (size_t i = 0; i < n; i++)
                assert_null(strstr(buf[i], "BLF_PEER"));
        ev = (struct event) { .kind = EVENT_CLUSTER_FOLLOWING, .exit_status = -1, .member = "mon-b", .peer = "mon-a" };
        n = event_journal_fields(&ev, buf);
        assert_true(has_field(buf, n, "BLF_EVENT=cluster_following"));
        assert_true(has_field(buf, n, "BLF_PEER=mon-a"));
        assert_string_equal(event_kind_to_string(EVENT_CLUSTER_LEADING), "cluster_leading");
        assert_string_equal(event_kind_to_string(EVENT_CLUSTER_UNAVAILABLE), "cluster_unavailable");
        assert_string_equal(event_kind_to_string(EVENT_CLUSTER_AVAILABLE), "cluster_available");
        assert_string_equal(event_kind_to_string(EVENT_CLUSTER_TAKEOVER), "cluster_takeover");
}

/* Every field at once still fits: no field is dropped for want of room. */
static void event__all_fields__fit(void **unused) {
        char buf[EVENT_FIELDS_MAX][EVENT_FIELD_MAX];
        struct event ev = { .kind = EVENT_STEP_FAILED, .role = "r", .endpoint = "e", .step = "s", .gate = "g",
                            .argv = "a", .exit_status = 1, .duration_usec = 1, .failures = 1, .threshold = 3,
                            .member = "m", .peer = "p", .reason = "why" };
        size_t n = event_journal_fields(&ev, buf);

        assert_int_equal(n, 13);
        assert_true(has_field(buf, n, "BLF_REASON=why"));
        assert_true(has_field(buf, n, "BLF_FAILURES=1/3"));
}

static void event__message_ids__distinct_and_well_formed(void **unused) {
        for (int a = 0; a < _EVENT_KIND_MAX; a++) {
                const char *id = event_kind_message_id((enum event_kind) a);
                assert_non_null(id);
                assert_int_equal(strlen(id), 32);
                assert_int_equal(strspn(id, "0123456789abcdef"), 32);
                for (int b = a + 1; b < _EVENT_KIND_MAX; b++)
                        assert_string_not_equal(id, event_kind_message_id((enum event_kind) b));
        }
}

static char seen[4][64];
static int n_seen;

static void record(const struct event *ev, void *userdata) {
        snprintf(seen[n_seen++], sizeof seen[0], "%s:%s", (const char *) userdata, ev->message);
}

static void event__emit__formats_once_and_calls_listeners_in_order(void **unused) {
        struct event_bus bus = {};
        struct event ev = { .kind = EVENT_FAILOVER_STARTED, .exit_status = -1 };

        n_seen = 0;
        assert_int_equal(event_subscribe(&bus, record, "first"), 0);
        assert_int_equal(event_subscribe(&bus, record, "second"), 0);
        event_emit(&bus, &ev, "failover: started (%s)", "manual");
        assert_int_equal(n_seen, 2);
        assert_string_equal(seen[0], "first:failover: started (manual)");
        assert_string_equal(seen[1], "second:failover: started (manual)");
        assert_null(ev.message);
}

static void event__too_many_listeners__enospc(void **unused) {
        struct event_bus bus = {};

        for (int i = 0; i < EVENT_LISTENERS_MAX; i++)
                assert_int_equal(event_subscribe(&bus, record, NULL), 0);
        assert_int_equal(event_subscribe(&bus, record, NULL), -28 /* ENOSPC */);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(event__step_failed__carries_step_argv_exit_duration),
                cmocka_unit_test(event__endpoint_failing__carries_role_endpoint_count),
                cmocka_unit_test(event__message_ids__distinct_and_well_formed),
                cmocka_unit_test(event__cluster__member_peer_reason_fields),
                cmocka_unit_test(event__all_fields__fit),
                cmocka_unit_test(event__emit__formats_once_and_calls_listeners_in_order),
                cmocka_unit_test(event__too_many_listeners__enospc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
