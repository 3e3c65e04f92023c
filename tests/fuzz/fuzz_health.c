/* fuzz_health: libFuzzer target for the health-response verdict and URL redaction, both pure.
 * Input: 2 bytes HTTP status (int16, little endian), 1 byte expect_body length (0xff: no expect_body), the
 * expect_body bytes, then the body. Invariants: health_evaluate agrees with a naive reference (2xx, and the body
 * contains expect_body byte for byte); a password planted in a URL's userinfo never survives health_url_redact. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "Zq9PLANTEDq9Z"

static bool naive_contains(const char *hay, size_t hay_len, const char *needle, size_t needle_len) {
        if (needle_len == 0)
                return true;
        for (size_t i = 0; i + needle_len <= hay_len; i++)
                if (memcmp(hay + i, needle, needle_len) == 0)
                        return true;
        return false;
}

static void check_verdict(long code, const char *expect, const char *body, size_t body_len) {
        enum health_status want, got;

        want = code < 200 || code > 299 ? HEALTH_HTTP_STATUS
               : expect && !naive_contains(body, body_len, expect, strlen(expect)) ? HEALTH_BODY_MISMATCH
               : HEALTH_OK;
        got = health_evaluate(code, body, body_len, expect);
        if (got != want) {
                fprintf(stderr, "health_evaluate(%ld, %zu bytes, \"%s\") = %s, expected %s\n", code, body_len,
                        expect ? expect : "(null)", health_status_to_string(got), health_status_to_string(want));
                abort();
        }
}

/* Bytes of s that may go into `part` of a URL without changing where the userinfo ends. */
static void copy_filtered(char *dst, const char *src, size_t n, const char *drop) {
        size_t o = 0;

        for (size_t i = 0; i < n; i++)
                if (src[i] && !strchr(drop, src[i]))
                        dst[o++] = src[i];
        dst[o] = '\0';
}

/* http://USER:SECRET@REST — USER holds nothing that ends the authority; REST is whatever the fuzzer says. */
static void check_redact(const char *body, size_t body_len) {
        const char *nl = memchr(body, '\n', body_len);
        size_t user_len = nl ? (size_t) (nl - body) : body_len;
        char *user = malloc(user_len + 1), *rest = malloc(body_len + 1), *url = NULL, *red;

        if (!user || !rest)
                abort();
        copy_filtered(user, body, user_len, "/?#@\\");
        copy_filtered(rest, nl ? nl + 1 : "", nl ? body_len - user_len - 1 : 0, "");
        if (!strstr(rest, "Zq9") && asprintf(&url, "http://%s:" SECRET "@%s", user, rest) >= 0) {
                red = health_url_redact(url);
                if (red && strstr(red, SECRET)) {
                        fprintf(stderr, "secret kept: \"%s\" -> \"%s\"\n", url, red);
                        abort();
                }
                free(red);
        }
        free(url);
        free(user);
        free(rest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *expect = NULL;
        size_t expect_len;
        long code;

        if (size < 3)
                return 0;
        code = (int16_t) (data[0] | (data[1] << 8));
        expect_len = data[2] == 0xff ? 0 : data[2];
        if (expect_len > size - 3)
                expect_len = size - 3;
        if (data[2] != 0xff) {
                expect = strndup((const char *) data + 3, expect_len);  /* a NUL ends it, as in the config */
                if (!expect)
                        return 0;
        }
        data += 3 + expect_len;
        size -= 3 + expect_len;
        check_verdict(code, expect, (const char *) data, size);
        check_redact((const char *) data, size);
        free(expect);
        return 0;
}
