/* Unit tests for json: escaping of every control character, quotes and backslashes; comma placement; times. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Runs fn on a memstream and returns what it wrote (malloc'd). */
static char *capture(void (*fn)(FILE *f, const void *arg), const void *arg) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        fn(f, arg);
        assert_int_equal(fclose(f), 0);
        return text;
}

static void write_string(FILE *f, const void *arg) {
        json_string_to(f, arg);
}

static void json__string__escapes_quotes_backslash_and_controls(void **unused) {
        char *s = capture(write_string, "a\"b\\c\n\r\t\b\f\x01\x1f\x7f/é");

        assert_string_equal(s, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f/é\"");
        free(s);
}

static void json__string__every_control_is_escaped(void **unused) {
        char in[2] = { 0, 0 };

        for (int c = 1; c < 0x20; c++) {
                char *s;
                in[0] = (char) c;
                s = capture(write_string, in);
                /* no raw control byte survives */
                for (const char *p = s; *p; p++)
                        assert_true((unsigned char) *p >= 0x20);
                free(s);
        }
}

static void json__null_string__is_null(void **unused) {
        char *s = capture(write_string, NULL);

        assert_string_equal(s, "null");
        free(s);
}

static void write_nested(FILE *f, const void *arg) {
        struct json j;

        json_init(&j, f);
        json_object_begin(&j);
        json_key(&j, "a"), json_u64(&j, 1);
        json_key(&j, "b");
        json_array_begin(&j);
        json_i64(&j, -2);
        json_bool(&j, true);
        json_null(&j);
        json_object_begin(&j);
        json_key(&j, "k"), json_string(&j, "v");
        json_object_end(&j);
        json_array_end(&j);
        json_key(&j, "c"), json_double(&j, NAN);
        json_key(&j, "d"), json_double(&j, 0.25);
        json_key(&j, "e");
        json_object_begin(&j);
        json_object_end(&j);
        json_key(&j, "f"), json_array_begin(&j), json_array_end(&j);
        json_object_end(&j);
}

static void json__nesting__commas_only_between_items(void **unused) {
        char *s = capture(write_nested, NULL);

        assert_string_equal(s, "{\"a\":1,\"b\":[-2,true,null,{\"k\":\"v\"}],\"c\":null,\"d\":0.25,\"e\":{},\"f\":[]}");
        free(s);
}

static void write_time(FILE *f, const void *arg) {
        struct json j;

        json_init(&j, f);
        json_array_begin(&j);
        json_time(&j, *(const uint64_t *) arg);
        json_time(&j, 0);
        json_array_end(&j);
}

static void json__time__utc_with_milliseconds_and_zero_is_null(void **unused) {
        uint64_t t = UINT64_C(1764100000123456);     /* 2025-11-25T19:46:40.123456Z */
        char *s = capture(write_time, &t);
        char buf[40];

        assert_string_equal(s, "[\"2025-11-25T19:46:40.123Z\",null]");
        json_format_time(0, buf, sizeof buf);
        assert_string_equal(buf, "-");
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(json__string__escapes_quotes_backslash_and_controls),
                cmocka_unit_test(json__string__every_control_is_escaped),
                cmocka_unit_test(json__null_string__is_null),
                cmocka_unit_test(json__nesting__commas_only_between_items),
                cmocka_unit_test(json__time__utc_with_milliseconds_and_zero_is_null),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
