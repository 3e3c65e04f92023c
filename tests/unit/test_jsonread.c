/* Unit tests for jsonread: exact int64 from strings and numbers, escapes, truncation, depth, duplicate keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"

static int parse(struct jsonread *j, const char *s) {
        return jsonread_parse(j, s, strlen(s));
}

static void jsonread__int64_as_string_above_2p53__is_exact(void **unused) {
        struct jsonread j;
        int64_t v;

        assert_int_equal(parse(&j, "{\"ID\":\"4280005456334535686\",\"n\":9007199254740993,\"neg\":\"-5\"}"), 0);
        assert_int_equal(jsonread_get_i64(&j, 0, "ID", 0, &v), 0);
        assert_true(v == INT64_C(4280005456334535686));
        assert_int_equal(jsonread_get_i64(&j, 0, "n", 0, &v), 0);
        assert_true(v == INT64_C(9007199254740993));         /* 2^53 + 1: a double would give ...992 */
        assert_int_equal(jsonread_get_i64(&j, 0, "neg", 0, &v), 0);
        assert_true(v == -5);
        jsonread_done(&j);
}

static void jsonread__int64_limits__exact_or_erange(void **unused) {
        struct jsonread j;
        int64_t v;

        assert_int_equal(parse(&j, "[\"9223372036854775807\",\"-9223372036854775808\",\"9223372036854775808\","
                                   "1.5,\"\",\"12a\",\"+1\",true,1e3]"), 0);
        assert_int_equal(jsonread_i64(&j, (size_t) jsonread_item(&j, 0, 0), &v), 0);
        assert_true(v == INT64_MAX);
        assert_int_equal(jsonread_i64(&j, (size_t) jsonread_item(&j, 0, 1), &v), 0);
        assert_true(v == INT64_MIN);
        assert_int_equal(jsonread_i64(&j, (size_t) jsonread_item(&j, 0, 2), &v), -ERANGE);
        for (size_t i = 3; i <= 8; i++)
                assert_int_equal(jsonread_i64(&j, (size_t) jsonread_item(&j, 0, i), &v), -EINVAL);
        jsonread_done(&j);
}

static void jsonread__missing_fields__give_the_default(void **unused) {
        struct jsonread j;
        int64_t v = 7;
        bool b = true;

        assert_int_equal(parse(&j, "{\"header\":{\"revision\":\"3\"}}"), 0);
        assert_int_equal(jsonread_get_i64(&j, 0, "TTL", 0, &v), 0);
        assert_true(v == 0);
        assert_int_equal(jsonread_get_bool(&j, 0, "succeeded", false, &b), 0);
        assert_false(b);
        assert_int_equal(jsonread_get_i64(&j, 0, "header.revision", 0, &v), 0);
        assert_true(v == 3);
        /* through a string: not found, not a crash */
        assert_int_equal(jsonread_get(&j, 0, "header.revision.x"), -ENOENT);
        jsonread_done(&j);
}

static void jsonread__escapes__unescaped_to_utf8(void **unused) {
        struct jsonread j;
        char *s;
        size_t n;

        assert_int_equal(parse(&j, "{\"s\":\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\\u00e9\\u20ac\\ud83d\\ude00\\ud800x\"}"), 0);
        assert_int_equal(jsonread_string(&j, (size_t) jsonread_get(&j, 0, "s"), &s, &n), 0);
        assert_string_equal(s, "a\"b\\c/d\n\t\r\b\f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbdx");
        assert_int_equal(n, strlen(s));
        free(s);
        jsonread_done(&j);
}

static void jsonread__nul_escape__kept_in_length(void **unused) {
        struct jsonread j;
        char *s;
        size_t n;

        assert_int_equal(parse(&j, "\"a\\u0000b\""), 0);
        assert_int_equal(jsonread_string(&j, 0, &s, &n), 0);
        assert_int_equal(n, 3);
        assert_memory_equal(s, "a\0b", 3);
        free(s);
        jsonread_done(&j);
}

static void jsonread__paths__objects_arrays_and_nesting(void **unused) {
        struct jsonread j;
        char *s;
        int64_t v;

        assert_int_equal(parse(&j, " {\"responses\":[{\"x\":{}},{\"response_range\":{\"kvs\":[{\"value\":\"bW9uLWE=\","
                                   "\"lease\":\"1\"}],\"count\":\"1\"}}], \"after\" : [1,[2,[3]]] } "), 0);
        assert_int_equal(jsonread_get_string(&j, 0, "responses.1.response_range.kvs.0.value", &s), 0);
        assert_string_equal(s, "bW9uLWE=");
        free(s);
        assert_int_equal(jsonread_get_i64(&j, 0, "after.1.1.0", 0, &v), 0);
        assert_true(v == 3);
        assert_int_equal(jsonread_get(&j, 0, "responses.2"), -ENOENT);
        assert_int_equal(jsonread_get(&j, 0, "responses.x"), -ENOENT);
        assert_int_equal(jsonread_get(&j, 0, "nope"), -ENOENT);
        assert_int_equal(jsonread_get(&j, 0, ""), 0);
        jsonread_done(&j);
}

static void jsonread__duplicate_keys__first_wins(void **unused) {
        struct jsonread j;
        int64_t v;

        assert_int_equal(parse(&j, "{\"a\":{\"b\":1},\"a\":2}"), 0);
        assert_int_equal(jsonread_get_i64(&j, 0, "a.b", 0, &v), 0);
        assert_true(v == 1);
        jsonread_done(&j);
}

static void jsonread__bad_texts__rejected_with_offset(void **unused) {
        static const char *const bad[] = {
                "", " ", "{", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,}", "[1,]", "[1 2]", "\"abc", "\"a\\x\"",
                "\"\\u12\"", "\"a\x01\"", "01", "-", "1.", "1e", ".5", "tru", "nul", "{a:1}", "[]]", "{} {}",
                "\"a\\", "{\"a\" 1}", "[\"\\ud800\\u00\"]",
        };
        struct jsonread j;

        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                int r = parse(&j, bad[i]);
                if (r != -EINVAL)
                        fail_msg("accepted or wrong error %d: %s", r, bad[i]);
                assert_true(j.error_offset <= strlen(bad[i]));
                jsonread_done(&j);
        }
}

static void jsonread__truncated_answer__every_prefix_rejected(void **unused) {
        const char *s = "{\"result\":{\"header\":{\"revision\":\"1\"},\"ID\":\"8524366632818482949\",\"TTL\":\"30\"}}";
        struct jsonread j;

        for (size_t n = 0; n < strlen(s); n++) {
                assert_int_equal(jsonread_parse(&j, s, n), -EINVAL);
                jsonread_done(&j);
        }
        assert_int_equal(jsonread_parse(&j, s, strlen(s)), 0);
        jsonread_done(&j);
}

static void jsonread__depth__limit_enforced(void **unused) {
        char deep[2 * JSONREAD_DEPTH_MAX + 3];
        struct jsonread j;
        size_t d = JSONREAD_DEPTH_MAX;

        memset(deep, '[', d);
        memset(deep + d, ']', d);
        deep[2 * d] = '\0';
        assert_int_equal(parse(&j, deep), 0);
        jsonread_done(&j);
        memset(deep, '[', d + 1);
        memset(deep + d + 1, ']', d + 1);
        deep[2 * d + 2] = '\0';
        assert_int_equal(parse(&j, deep), -E2BIG);
        jsonread_done(&j);
}

static void jsonread__literals_and_types(void **unused) {
        struct jsonread j;
        bool b;

        assert_int_equal(parse(&j, "{\"t\":true,\"f\":false,\"n\":null,\"x\":-0.5e+3}"), 0);
        assert_int_equal(jsonread_get_bool(&j, 0, "t", false, &b), 0);
        assert_true(b);
        assert_int_equal(jsonread_get_bool(&j, 0, "f", true, &b), 0);
        assert_false(b);
        assert_int_equal(jsonread_get_bool(&j, 0, "n", false, &b), -EINVAL);
        assert_int_equal(j.tok[jsonread_get(&j, 0, "x")].type, JSONREAD_NUMBER);
        assert_int_equal(j.tok[0].size, 4);
        jsonread_done(&j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(jsonread__int64_as_string_above_2p53__is_exact),
                cmocka_unit_test(jsonread__int64_limits__exact_or_erange),
                cmocka_unit_test(jsonread__missing_fields__give_the_default),
                cmocka_unit_test(jsonread__escapes__unescaped_to_utf8),
                cmocka_unit_test(jsonread__nul_escape__kept_in_length),
                cmocka_unit_test(jsonread__paths__objects_arrays_and_nesting),
                cmocka_unit_test(jsonread__duplicate_keys__first_wins),
                cmocka_unit_test(jsonread__bad_texts__rejected_with_offset),
                cmocka_unit_test(jsonread__truncated_answer__every_prefix_rejected),
                cmocka_unit_test(jsonread__depth__limit_enforced),
                cmocka_unit_test(jsonread__literals_and_types),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
