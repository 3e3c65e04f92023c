/* base64: owns RFC 4648 encoding and strict decoding (pure). */
#include "base64.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const void *data, size_t len, char **ret) {
        const unsigned char *in = data;
        char *out, *o;

        if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
                return -ENOMEM;
        out = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return -ENOMEM;
        o = out;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t) in[i] << 16;
                size_t left = len - i;

                if (left > 1)
                        v |= (uint32_t) in[i + 1] << 8;
                if (left > 2)
                        v |= in[i + 2];
                *o++ = alphabet[v >> 18 & 63];
                *o++ = alphabet[v >> 12 & 63];
                *o++ = left > 1 ? alphabet[v >> 6 & 63] : '=';
                *o++ = left > 2 ? alphabet[v & 63] : '=';
        }
        *o = '\0';
        *ret = out;
        return 0;
}

static int value_of(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/* One group of four characters (the last may end in "=" or "=="); returns the bytes written or -EINVAL. */
static int decode_group(const char *s, bool last, unsigned char *o) {
        int v[4], pad = 0;

        for (int k = 0; k < 4; k++) {
                if (s[k] == '=' && last && k >= 2) {
                        pad++;
                        v[k] = 0;
                        continue;
                }
                if (pad || (v[k] = value_of(s[k])) < 0)
                        return -EINVAL;
        }
        /* the bits a shorter group leaves over must be zero, else two texts decode to the same bytes */
        if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15)))
                return -EINVAL;
        o[0] = (unsigned char) (v[0] << 2 | v[1] >> 4);
        o[1] = (unsigned char) ((v[1] & 15) << 4 | v[2] >> 2);
        o[2] = (unsigned char) ((v[2] & 3) << 6 | v[3]);
        return 3 - pad;
}

int base64_decode(const char *text, size_t len, char **ret, size_t *ret_len) {
        unsigned char *out;
        size_t n = 0;

        if (!text || len % 4 != 0)
                return -EINVAL;
        out = malloc(len / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                int r = decode_group(text + i, i + 4 == len, out + n);

                if (r < 0) {
                        free(out);
                        return r;
                }
                n += (size_t) r;
        }
        out[n] = '\0';
        *ret = (char *) out;
        if (ret_len)
                *ret_len = n;
        return 0;
}
