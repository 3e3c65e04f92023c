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
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
