/* Unit tests for base64: RFC 4648 §10 vectors both ways, etcd's keys, strict decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

static const char *const vectors[][2] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
        { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
        { "/blfailoverd/a+b/leader", "L2JsZmFpbG92ZXJkL2ErYi9sZWFkZXI=" },
        { "/blfailoverd/a+b/record", "L2JsZmFpbG92ZXJkL2ErYi9yZWNvcmQ=" },
        { "/blfailoverd/a+b/", "L2JsZmFpbG92ZXJkL2ErYi8=" }, { "/blfailoverd/a+b0", "L2JsZmFpbG92ZXJkL2ErYjA=" },
};

static void base64__rfc4648_vectors__both_ways(void **unused) {
        for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
                char *e, *d;
                size_t n;

                assert_int_equal(base64_encode(vectors[i][0], strlen(vectors[i][0]), &e), 0);
                assert_string_equal(e, vectors[i][1]);
                assert_int_equal(base64_decode(e, strlen(e), &d, &n), 0);
                assert_int_equal(n, strlen(vectors[i][0]));
                assert_string_equal(d, vectors[i][0]);
                free(e);
                free(d);
        }
}

static void base64__every_byte__round_trips(void **unused) {
        unsigned char all[256];
        char *e, *d;
        size_t n;

        for (int i = 0; i < 256; i++)
                all[i] = (unsigned char) i;
        for (size_t len = 0; len <= 256; len += 85) {
                assert_int_equal(base64_encode(all, len, &e), 0);
                assert_int_equal(base64_decode(e, strlen(e), &d, &n), 0);
                assert_int_equal(n, len);
                assert_memory_equal(d, all, len);
                free(e);
                free(d);
        }
}

static void base64__non_canonical__rejected(void **unused) {
        static const char *const bad[] = {
                "Zg", "Zg=", "Zg===", "Z===", "====", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "Zm-v", "Zm_v", "Z=g=",
                "Zg==Zg==", "Zm9vYg=a",
        };
        char *d;

        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
                if (base64_decode(bad[i], strlen(bad[i]), &d, NULL) != -EINVAL)
                        fail_msg("accepted: %s", bad[i]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(base64__rfc4648_vectors__both_ways),
                cmocka_unit_test(base64__every_byte__round_trips),
                cmocka_unit_test(base64__non_canonical__rejected),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
