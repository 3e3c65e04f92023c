/* test_resolve: resolve_* — IP literals, a lookup answered on the loop, cancelling before and inside the answer.
 * Names come from /etc/hosts only ("localhost"): no DNS traffic. The DNS outage is scenarios_resolve.py's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "resolve.h"
#include "util.h"

struct outcome {
        int calls;
        int error;
        size_t n_addrs;
        char first[INET6_ADDRSTRLEN];
        bool has_v4_loopback;
        bool free_in_callback;
};

static void on_done(struct resolve_query *q, const struct resolve_result *r, void *userdata) {
        struct outcome *o = userdata;

        o->calls++;
        o->error = r->error;
        o->n_addrs = r->n_addrs;
        if (r->n_addrs > 0)
                snprintf(o->first, sizeof(o->first), "%s", r->addrs[0]);
        for (size_t i = 0; i < r->n_addrs; i++)
                o->has_v4_loopback |= strcmp(r->addrs[i], "127.0.0.1") == 0;
        if (o->free_in_callback)
                assert_null(resolve_query_free(q));
}

/* Runs the loop until the callback ran or `usec` passed. */
static void run_for(sd_event *e, const struct outcome *o, uint64_t usec) {
        uint64_t end = now_monotonic_usec() + usec;

        while (o->calls == 0 && now_monotonic_usec() < end)
                assert_true(sd_event_run(e, 50 * USEC_PER_MSEC) >= 0);
}

static void resolve__ip_literal__v4_and_v6_only(void **state) {
        assert_true(resolve_is_ip_literal("127.0.0.1"));
        assert_true(resolve_is_ip_literal("::1"));
        assert_true(resolve_is_ip_literal("fe80::1"));
        assert_false(resolve_is_ip_literal("localhost"));
        assert_false(resolve_is_ip_literal("10.0.0"));
        assert_false(resolve_is_ip_literal("[::1]"));
        assert_false(resolve_is_ip_literal(""));
        assert_false(resolve_is_ip_literal(NULL));
}

static void resolve__start__rejects_bad_arguments(void **state) {
        struct resolve_query *q = NULL;
        struct outcome o = {};
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(resolve_start(NULL, "localhost", on_done, &o, &q), -EINVAL);
        assert_int_equal(resolve_start(e, "", on_done, &o, &q), -EINVAL);
        assert_int_equal(resolve_start(e, "localhost", NULL, &o, &q), -EINVAL);
        assert_int_equal(resolve_start(e, "localhost", on_done, &o, NULL), -EINVAL);
        assert_null(q);
        assert_null(resolve_query_free(NULL));
        sd_event_unref(e);
}

static void resolve__localhost__answered_on_the_loop(void **state) {
        struct resolve_query *q = NULL;
        struct outcome o = {};
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(resolve_start(e, "localhost", on_done, &o, &q), 0);
        assert_int_equal(o.calls, 0);           /* never from inside the start call */
        run_for(e, &o, 5 * USEC_PER_SEC);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.error, 0);
        assert_true(o.n_addrs >= 1);
        assert_true(o.has_v4_loopback);
        assert_null(resolve_query_free(q));
        sd_event_unref(e);
}

/* A cancelled lookup never calls back; its worker finishes alone and frees its half (ASan: no leak). */
static void resolve__free_before_answer__no_callback(void **state) {
        struct resolve_query *q = NULL;
        struct outcome o = {};
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(resolve_start(e, "localhost", on_done, &o, &q), 0);
        assert_null(resolve_query_free(q));
        run_for(e, &o, 300 * USEC_PER_MSEC);
        assert_int_equal(o.calls, 0);
        sd_event_unref(e);
        usleep(200 * 1000);     /* let the worker drop its reference before the leak check at exit */
}

static void resolve__free_inside_callback__is_safe(void **state) {
        struct resolve_query *q = NULL;
        struct outcome o = { .free_in_callback = true };
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(resolve_start(e, "localhost", on_done, &o, &q), 0);
        run_for(e, &o, 5 * USEC_PER_SEC);
        assert_int_equal(o.calls, 1);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(resolve__ip_literal__v4_and_v6_only),
                cmocka_unit_test(resolve__start__rejects_bad_arguments),
                cmocka_unit_test(resolve__localhost__answered_on_the_loop),
                cmocka_unit_test(resolve__free_before_answer__no_callback),
                cmocka_unit_test(resolve__free_inside_callback__is_safe),
        };

        return cmocka_run_group_tests_name("resolve", tests, NULL, NULL);
}
