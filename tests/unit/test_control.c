/* Unit tests for control: the protocol's request words (pure), and what is refused. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "control.h"

static void control__requests__each_word(void **unused) {
        struct control_request r;

        assert_int_equal(control_parse_request("1 once", &r), 0);
        assert_int_equal(r.command, CONTROL_ONCE);
        assert_false(r.force);
        assert_int_equal(control_parse_request("1 once force", &r), 0);
        assert_int_equal(r.command, CONTROL_ONCE);
        assert_true(r.force);
        assert_int_equal(control_parse_request("1 clear-state forget-roles", &r), 0);
        assert_int_equal(r.command, CONTROL_CLEAR_STATE);
        assert_true(r.forget_roles);
        assert_int_equal(control_parse_request("1 clear-state", &r), 0);
        assert_false(r.forget_roles);
        assert_int_equal(r.command, CONTROL_CLEAR_STATE);
        assert_int_equal(control_parse_request("1 resume", &r), 0);
        assert_int_equal(r.command, CONTROL_RESUME);
        assert_int_equal(control_parse_request("1 pause", &r), 0);
        assert_int_equal(r.command, CONTROL_PAUSE);
        assert_string_equal(r.reason, "");
        assert_int_equal(control_parse_request("1 pause kernel upgrade, back at 14:00", &r), 0);
        assert_string_equal(r.reason, "kernel upgrade, back at 14:00");
        assert_string_equal(control_command_to_string(CONTROL_PAUSE), "pause");
}

static void control__anything_else__ebadmsg(void **unused) {
        static const char *const bad[] = {
                "", "once", "2 once", "1 once ", "1 once  force", "1 once force now", "1 ONCE", "1 clear-state x", "1 clear-state forget-roles x", "1 clear-state  forget-roles",
                "1 resume now", "1 pausex", "1 pause two\nlines", "1 pause tab\there",
        };
        char too_long[PAUSE_REASON_MAX + 16] = "1 pause ";
        struct control_request r;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_int_equal(control_parse_request(bad[i], &r), -EBADMSG);
        memset(too_long + 8, 'x', PAUSE_REASON_MAX);
        too_long[sizeof too_long - 1] = '\0';
        assert_int_equal(control_parse_request(too_long, &r), -EBADMSG);
}

/* Every request the protocol has: format → parse gives it back, and parse → format gives the same words. */
static void control__format__parses_back_for_every_command(void **unused) {
        static const char *const words[] = {
                "1 once", "1 once force", "1 clear-state", "1 clear-state forget-roles", "1 pause",
                "1 pause kernel upgrade, back at 14:00", "1 resume", "1 switchover", "1 switchover to b",
                "1 switchover to site_2-x", "1 rejoin", "1 rejoin reclone",
        };
        struct control_request r, back;
        char buf[CONTROL_MSG_MAX];

        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
                assert_int_equal(control_parse_request(words[i], &r), 0);
                assert_int_equal(control_request_format(&r, buf, sizeof buf), 0);
                assert_string_equal(buf, words[i]);
                assert_int_equal(control_parse_request(buf, &back), 0);
                assert_memory_equal(&r, &back, sizeof r);
        }
}

static void control__format__refuses_what_would_not_parse(void **unused) {
        struct control_request r = { .command = CONTROL_SWITCHOVER };
        char buf[CONTROL_MSG_MAX];

        strcpy(r.site, "B");
        assert_int_equal(control_request_format(&r, buf, sizeof buf), -EINVAL);
        r = (struct control_request) { .command = CONTROL_PAUSE };
        strcpy(r.reason, "two\nlines");
        assert_int_equal(control_request_format(&r, buf, sizeof buf), -EINVAL);
        r = (struct control_request) { .command = CONTROL_ONCE, .force = true };
        assert_int_equal(control_request_format(&r, buf, 7), -ENOBUFS);
        assert_int_equal(control_request_format(&r, buf, 13), 0);
        assert_string_equal(buf, "1 once force");
}

struct seen {
        char lines[8][64];
        size_t n;
        int exit_code;
        unsigned finished;
};

static void seen_log(const char *level, const char *text, void *ud) {
        struct seen *s = ud;

        snprintf(s->lines[s->n++], sizeof s->lines[0], "log %s: %s", level, text);
}

static void seen_out(const char *text, void *ud) {
        struct seen *s = ud;

        snprintf(s->lines[s->n++], sizeof s->lines[0], "out %s", text);
}

static void seen_finish(int code, void *ud) {
        struct seen *s = ud;

        s->exit_code = code;
        s->finished++;
}

/* A remote call hands everything to its ops, in order; finish frees it (ASan/valgrind see a leak otherwise). */
static void control__remote_call__ops_called_and_finish_frees(void **unused) {
        static const struct control_call_ops ops = { seen_log, seen_out, seen_finish };
        struct seen s = { .exit_code = -1 };
        struct control_call *call;

        assert_int_equal(control_call_new_remote(NULL, &s, &call), -EINVAL);
        assert_int_equal(control_call_new_remote(&ops, &s, &call), 0);
        control_call_log(call, "notice", "starting");
        control_call_out(call, "result: ok");
        control_call_log(call, "error", "late");
        assert_int_equal(s.finished, 0);
        control_call_finish(call, 3);
        assert_int_equal(s.finished, 1);
        assert_int_equal(s.exit_code, 3);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.lines[0], "log notice: starting");
        assert_string_equal(s.lines[1], "out result: ok");
        assert_string_equal(s.lines[2], "log error: late");
}

static void control__socket_path__must_fit_sockaddr_un(void **unused) {
        char dir[200];

        assert_true(control_path_fits("/var/lib/blfailoverd"));
        memset(dir, 'd', sizeof dir - 1);
        dir[0] = '/';
        dir[sizeof dir - 1] = '\0';
        assert_false(control_path_fits(dir));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(control__requests__each_word),
                cmocka_unit_test(control__anything_else__ebadmsg),
                cmocka_unit_test(control__socket_path__must_fit_sockaddr_un),
                cmocka_unit_test(control__format__parses_back_for_every_command),
                cmocka_unit_test(control__format__refuses_what_would_not_parse),
                cmocka_unit_test(control__remote_call__ops_called_and_finish_frees),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
