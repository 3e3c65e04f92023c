/* Unit tests for sshmux: where the ssh master's control socket goes, and which paths are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sshmux.h"

static void expect_paths(const char *runtime, const char *state_dir, const char *dir, const char *path) {
        char *got_dir = NULL, *got_path = NULL;

        assert_int_equal(sshmux_paths(runtime, state_dir, &got_dir, &got_path), 0);
        assert_string_equal(got_dir, dir);
        assert_string_equal(got_path, path);
        free(got_dir);
        free(got_path);
}

static void expect_refused(const char *runtime, const char *state_dir, int error) {
        char *dir = (char *) "untouched", *path = (char *) "untouched";

        assert_int_equal(sshmux_paths(runtime, state_dir, &dir, &path), error);
        assert_string_equal(dir, "untouched");
        assert_string_equal(path, "untouched");
}

static void sshmux__runtime_directory__preferred_over_state_dir(void **unused) {
        expect_paths("/run/blfailoverd", "/var/lib/blfailoverd", "/run/blfailoverd/ssh", "/run/blfailoverd/ssh/master");
}

static void sshmux__several_runtime_directories__first_one(void **unused) {
        expect_paths("/run/blfailoverd:/run/other", "/var/lib/blfailoverd", "/run/blfailoverd/ssh",
                     "/run/blfailoverd/ssh/master");
}

static void sshmux__no_runtime_directory__state_dir(void **unused) {
        expect_paths(NULL, "/var/lib/blfailoverd/", "/var/lib/blfailoverd/ssh", "/var/lib/blfailoverd/ssh/master");
        expect_paths("", "/var/lib/blfailoverd", "/var/lib/blfailoverd/ssh", "/var/lib/blfailoverd/ssh/master");
}

/* ssh binds "<path>.XXXXXXXXXXXXXXXX" first: that must fit sun_path (108 with its NUL). */
static void sshmux__long_path__refused_where_ssh_could_not_bind(void **unused) {
        char base[128];
        size_t fits = SSHMUX_PATH_MAX - strlen("/ssh/master");

        memset(base, 'a', sizeof base);
        base[0] = '/';
        base[fits] = '\0';
        char *dir = NULL, *path = NULL;
        assert_int_equal(sshmux_paths(NULL, base, &dir, &path), 0);
        assert_int_equal(strlen(path) + 1 + 17, 108);
        free(dir);
        free(path);
        base[fits] = 'a';
        base[fits + 1] = '\0';
        expect_refused(NULL, base, -ENAMETOOLONG);
}

static void sshmux__characters_ssh_expands__refused(void **unused) {
        expect_refused(NULL, "/var/lib/100%", -EINVAL);
        expect_refused("/run/${HOME}", "/var/lib/blfailoverd", -EINVAL);
        expect_refused(NULL, "/var/lib/with space", -EINVAL);
        expect_refused(NULL, "~/state", -EINVAL);
        expect_refused(NULL, "relative/state", -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(sshmux__runtime_directory__preferred_over_state_dir),
                cmocka_unit_test(sshmux__several_runtime_directories__first_one),
                cmocka_unit_test(sshmux__no_runtime_directory__state_dir),
                cmocka_unit_test(sshmux__long_path__refused_where_ssh_could_not_bind),
                cmocka_unit_test(sshmux__characters_ssh_expands__refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
