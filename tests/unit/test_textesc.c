/* Unit tests for textesc: free text on one line in the record files, and back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textesc.h"

static char *escaped(const char *s) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        textesc_write(f, s);
        fclose(f);
        return text;
}

static void textesc__controls_and_backslash__one_line_and_back(void **unused) {
        const char *in = "nginx: [emerg] \"x\"\nline two\tTAB \\ back\x7f\x01 end";
        char *line = escaped(in), out[256];

        assert_null(strchr(line, '\n'));
        assert_string_equal(line, "nginx: [emerg] \"x\"\\nline two\\x09TAB \\\\ back\\x7f\\x01 end");
        assert_int_equal(textesc_read(line, out, sizeof out), 0);
        assert_string_equal(out, in);
        free(line);
}

static void textesc__bad_escapes__ebadmsg(void **unused) {
        char out[64];

        assert_int_equal(textesc_read("a\\q", out, sizeof out), -EBADMSG);
        assert_int_equal(textesc_read("a\\x4", out, sizeof out), -EBADMSG);
        assert_int_equal(textesc_read("a\\xZZ", out, sizeof out), -EBADMSG);
        assert_int_equal(textesc_read("a\\", out, sizeof out), -EBADMSG);
}

static void textesc__does_not_fit__ebadmsg(void **unused) {
        char out[4];

        assert_int_equal(textesc_read("abc", out, sizeof out), 0);
        assert_int_equal(textesc_read("abcd", out, sizeof out), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(textesc__controls_and_backslash__one_line_and_back),
                cmocka_unit_test(textesc__bad_escapes__ebadmsg),
                cmocka_unit_test(textesc__does_not_fit__ebadmsg),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
