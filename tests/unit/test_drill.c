/* Unit tests for drill: handing the nginx test command a private copy of the rewritten site file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"
#include "util.h"

static void drill__argv_names_site__every_mention_replaced(void **unused) {
        char *argv[] = { "nginx-check", "-f", "/etc/nginx/sites/bl.conf", "--also", "/etc/nginx/sites/bl.conf", NULL };
        bool named = false;
        char **v = drill_argv_on_copy(argv, "/etc/nginx/sites/bl.conf", "/tmp/copy.conf", &named);

        assert_true(named);
        assert_non_null(v);
        assert_string_equal(v[0], "nginx-check");
        assert_string_equal(v[2], "/tmp/copy.conf");
        assert_string_equal(v[4], "/tmp/copy.conf");
        assert_null(v[5]);
        assert_string_equal(argv[2], "/etc/nginx/sites/bl.conf");     /* the config's argv is not touched */
        strv_free(v);
}

static void drill__argv_without_site__null_not_named(void **unused) {
        char *argv[] = { "nginx", "-t", "-c", "/etc/nginx/nginx.conf", NULL };
        bool named = true;

        assert_null(drill_argv_on_copy(argv, "/etc/nginx/sites/bl.conf", "/tmp/copy.conf", &named));
        assert_false(named);
}

static void drill__argv_prefix_of_site__not_a_match(void **unused) {
        /* Only whole words name the file: "-c/etc/...conf" or a longer path is not the site file. */
        char *argv[] = { "nginx", "-t", "/etc/nginx/sites/bl.conf.bak", "-c/etc/nginx/sites/bl.conf", NULL };
        bool named = true;

        assert_null(drill_argv_on_copy(argv, "/etc/nginx/sites/bl.conf", "/tmp/copy.conf", &named));
        assert_false(named);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(drill__argv_names_site__every_mention_replaced),
                cmocka_unit_test(drill__argv_without_site__null_not_named),
                cmocka_unit_test(drill__argv_prefix_of_site__not_a_match),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
