/* jsonread: owns reading JSON into a flat token array and path lookups on it (pure). */
#include "jsonread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct parser {
        struct jsonread *j;
        size_t pos;
        size_t alloc;
};

static void skip_ws(struct parser *p) {
        while (p->pos < p->j->len && strchr(" \t\r\n", p->j->text[p->pos]) && p->j->text[p->pos])
                p->pos++;
}

static int fail(struct parser *p, int r) {
        p->j->error_offset = p->pos;
        return r;
}

/* Appends a token; returns its index or -ENOMEM. */
static int push(struct parser *p, enum jsonread_type type, size_t start) {
        struct jsonread *j = p->j;

        if (j->n == p->alloc) {
                size_t n = p->alloc ? p->alloc * 2 : 32;
                struct jsonread_token *t = reallocarray(j->tok, n, sizeof *t);

                if (!t)
                        return -ENOMEM;
                j->tok = t;
                p->alloc = n;
        }
        j->tok[j->n] = (struct jsonread_token) { .type = type, .start = start, .end = start };
        return (int) j->n++;
}

static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* At the opening quote. Validates escapes and rejects raw control characters. */
static int parse_string(struct parser *p) {
        const char *s = p->j->text;
        int t;

        p->pos++;
        if ((t = push(p, JSONREAD_STRING, p->pos)) < 0)
                return t;
        while (p->pos < p->j->len) {
                unsigned char c = (unsigned char) s[p->pos];

                if (c == '"') {
                        p->j->tok[t].end = p->pos++;
                        p->j->tok[t].next = p->j->n;
                        return t;
                }
                if (c < 0x20)
                        return fail(p, -EINVAL);
                if (c == '\\') {
                        if (++p->pos >= p->j->len || !strchr("\"\\/bfnrtu", s[p->pos]) || !s[p->pos])
                                return fail(p, -EINVAL);
                        if (s[p->pos] == 'u') {
                                for (int k = 1; k <= 4; k++)
                                        if (p->pos + k >= p->j->len || !is_hex(s[p->pos + k]))
                                                return fail(p, -EINVAL);
                                p->pos += 4;
                        }
                }
                p->pos++;
        }
        return fail(p, -EINVAL);
}

static size_t digits(struct parser *p) {
        size_t n = 0;

        while (p->pos < p->j->len && p->j->text[p->pos] >= '0' && p->j->text[p->pos] <= '9')
                p->pos++, n++;
        return n;
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(struct parser *p) {
        const char *s = p->j->text;
        size_t start = p->pos, n;
        int t;

        if (s[p->pos] == '-')
                p->pos++;
        if (p->pos < p->j->len && s[p->pos] == '0')
                p->pos++;
        else if (digits(p) == 0)
                return fail(p, -EINVAL);
        if (p->pos < p->j->len && s[p->pos] == '.') {
                p->pos++;
                if (digits(p) == 0)
                        return fail(p, -EINVAL);
        }
        if (p->pos < p->j->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
                p->pos++;
                if (p->pos < p->j->len && (s[p->pos] == '+' || s[p->pos] == '-'))
                        p->pos++;
                if ((n = digits(p)) == 0)
                        return fail(p, -EINVAL);
        }
        if ((t = push(p, JSONREAD_NUMBER, start)) < 0)
                return t;
        p->j->tok[t].end = p->pos;
        p->j->tok[t].next = p->j->n;
        return t;
}

static int parse_literal(struct parser *p, const char *word, enum jsonread_type type) {
        size_t n = strlen(word);
        int t;

        if (p->j->len - p->pos < n || memcmp(p->j->text + p->pos, word, n) != 0)
                return fail(p, -EINVAL);
        if ((t = push(p, type, p->pos)) < 0)
                return t;
        p->pos += n;
        p->j->tok[t].end = p->pos;
        p->j->tok[t].next = p->j->n;
        return t;
}

static int parse_value(struct parser *p, unsigned depth);

/* At '{' or '['. Object members are a string token followed by the value's subtree. */
static int parse_container(struct parser *p, unsigned depth) {
        bool object = p->j->text[p->pos] == '{';
        char close = object ? '}' : ']';
        int t, r;

        if (depth >= JSONREAD_DEPTH_MAX)
                return fail(p, -E2BIG);
        if ((t = push(p, object ? JSONREAD_OBJECT : JSONREAD_ARRAY, p->pos)) < 0)
                return t;
        p->pos++;
        skip_ws(p);
        if (p->pos < p->j->len && p->j->text[p->pos] == close)
                goto done;
        for (;;) {
                skip_ws(p);
                if (object) {
                        if (p->pos >= p->j->len || p->j->text[p->pos] != '"')
                                return fail(p, -EINVAL);
                        if ((r = parse_string(p)) < 0)
                                return r;
                        skip_ws(p);
                        if (p->pos >= p->j->len || p->j->text[p->pos] != ':')
                                return fail(p, -EINVAL);
                        p->pos++;
                }
                if ((r = parse_value(p, depth + 1)) < 0)
                        return r;
                p->j->tok[t].size++;
                skip_ws(p);
                if (p->pos < p->j->len && p->j->text[p->pos] == ',') {
                        p->pos++;
                        continue;
                }
                if (p->pos < p->j->len && p->j->text[p->pos] == close)
                        break;
                return fail(p, -EINVAL);
        }
done:
        p->pos++;
        p->j->tok[t].end = p->pos;
        p->j->tok[t].next = p->j->n;
        return t;
}

static int parse_value(struct parser *p, unsigned depth) {
        char c;

        skip_ws(p);
        if (p->pos >= p->j->len)
                return fail(p, -EINVAL);
        c = p->j->text[p->pos];
        switch (c) {
        case '{':
        case '[':
                return parse_container(p, depth);
        case '"':
                return parse_string(p);
        case 't':
                return parse_literal(p, "true", JSONREAD_TRUE);
        case 'f':
                return parse_literal(p, "false", JSONREAD_FALSE);
        case 'n':
                return parse_literal(p, "null", JSONREAD_NULL);
        default:
                if (c == '-' || (c >= '0' && c <= '9'))
                        return parse_number(p);
                return fail(p, -EINVAL);
        }
}

int jsonread_parse(struct jsonread *j, const char *text, size_t len) {
        struct parser p = { .j = j };
        int r;

        *j = (struct jsonread) { .text = text, .len = len };
        if (!text)
                return -EINVAL;
        r = parse_value(&p, 0);
        if (r < 0)
                return r;
        skip_ws(&p);
        if (p.pos != len)
                return fail(&p, -EINVAL);
        return 0;
}

void jsonread_done(struct jsonread *j) {
        free(j->tok);
        j->tok = NULL;
        j->n = 0;
}

/* ---------------------------------------------------------------- lookups */

int jsonread_item(const struct jsonread *j, size_t a, size_t i) {
        size_t t;

        if (a >= j->n || j->tok[a].type != JSONREAD_ARRAY || i >= j->tok[a].size)
                return -ENOENT;
        t = a + 1;
        while (i-- > 0)
                t = j->tok[t].next;
        return (int) t;
}

/* Exact key match on the raw text; keys with escapes never match (etcd's field names have none). */
static int member(const struct jsonread *j, size_t o, const char *key, size_t key_len) {
        size_t t = o + 1;

        for (size_t i = 0; i < j->tok[o].size; i++) {
                const struct jsonread_token *k = &j->tok[t];

                if (k->end - k->start == key_len && memcmp(j->text + k->start, key, key_len) == 0)
                        return (int) t + 1;
                t = j->tok[t + 1].next;
        }
        return -ENOENT;
}

static int index_of(const char *s, size_t n, size_t *ret) {
        size_t v = 0;

        if (n == 0 || n > 9)
                return -ENOENT;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -ENOENT;
                v = v * 10 + (size_t) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

int jsonread_get(const struct jsonread *j, size_t from, const char *path) {
        size_t t = from;

        if (from >= j->n || !path)
                return -ENOENT;
        while (*path) {
                size_t n = strcspn(path, "."), idx;
                int r;

                if (j->tok[t].type == JSONREAD_OBJECT)
                        r = member(j, t, path, n);
                else if (j->tok[t].type == JSONREAD_ARRAY)
                        r = index_of(path, n, &idx) < 0 ? -ENOENT : jsonread_item(j, t, idx);
                else
                        r = -ENOENT;
                if (r < 0)
                        return r;
                t = (size_t) r;
                path += n;
                if (*path == '.')
                        path++;
        }
        return (int) t;
}

/* ---------------------------------------------------------------- values */

static unsigned hex4(const char *s) {
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                char c = s[i];
                v = v * 16 + (unsigned) (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return v;
}

static char *put_utf8(char *o, unsigned cp) {
        if (cp < 0x80)
                *o++ = (char) cp;
        else if (cp < 0x800) {
                *o++ = (char) (0xc0 | cp >> 6);
                *o++ = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                *o++ = (char) (0xe0 | cp >> 12);
                *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char) (0x80 | (cp & 0x3f));
        } else {
                *o++ = (char) (0xf0 | cp >> 18);
                *o++ = (char) (0x80 | ((cp >> 12) & 0x3f));
                *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char) (0x80 | (cp & 0x3f));
        }
        return o;
}

/* One \uXXXX (at s, after the backslash and 'u'), with its low surrogate if it is a high one. A lone surrogate
 * becomes U+FFFD. Returns the bytes consumed after "\u". */
static size_t unescape_u(const char *s, const char *end, char **o) {
        unsigned cp = hex4(s);
        size_t used = 4;

        if (cp >= 0xd800 && cp < 0xdc00 && end - (s + 4) >= 6 && s[4] == '\\' && s[5] == 'u') {
                unsigned lo = hex4(s + 6);
                if (lo >= 0xdc00 && lo < 0xe000) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        used = 10;
                }
        }
        if (cp >= 0xd800 && cp < 0xe000)
                cp = 0xfffd;
        *o = put_utf8(*o, cp);
        return used;
}

int jsonread_string(const struct jsonread *j, size_t t, char **ret, size_t *ret_len) {
        const char *s, *end;
        char *out, *o;

        if (t >= j->n || j->tok[t].type != JSONREAD_STRING)
                return -EINVAL;
        s = j->text + j->tok[t].start;
        end = j->text + j->tok[t].end;
        out = malloc((size_t) (end - s) + 1);   /* unescaping never grows: \uXXXX (6) → ≤ 3, pairs 12 → 4 */
        if (!out)
                return -ENOMEM;
        for (o = out; s < end; s++) {
                if (*s != '\\') {
                        *o++ = *s;
                        continue;
                }
                s++;
                switch (*s) {
                case 'b': *o++ = '\b'; break;
                case 'f': *o++ = '\f'; break;
                case 'n': *o++ = '\n'; break;
                case 'r': *o++ = '\r'; break;
                case 't': *o++ = '\t'; break;
                case 'u': s += unescape_u(s + 1, end, &o); break;
                default: *o++ = *s; break;      /* " \ / */
                }
        }
        *o = '\0';
        if (ret_len)
                *ret_len = (size_t) (o - out);
        *ret = out;
        return 0;
}

int jsonread_get_string(const struct jsonread *j, size_t from, const char *path, char **ret) {
        int t = jsonread_get(j, from, path);

        return t < 0 ? t : jsonread_string(j, (size_t) t, ret, NULL);
}

/* Digits only, never through double: lease IDs exceed 2^53. */
static int parse_i64(const char *s, size_t n, int64_t *ret) {
        bool neg = n > 0 && s[0] == '-';
        uint64_t v = 0, limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;

        if (neg)
                s++, n--;
        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                unsigned d;

                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                d = (unsigned) (s[i] - '0');
                if (v > (limit - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = neg ? (int64_t) (0 - v) : (int64_t) v;
        return 0;
}

int jsonread_i64(const struct jsonread *j, size_t t, int64_t *ret) {
        const struct jsonread_token *k;

        if (t >= j->n)
                return -EINVAL;
        k = &j->tok[t];
        if (k->type != JSONREAD_NUMBER && k->type != JSONREAD_STRING)
                return -EINVAL;
        return parse_i64(j->text + k->start, k->end - k->start, ret);
}

int jsonread_get_i64(const struct jsonread *j, size_t from, const char *path, int64_t def, int64_t *ret) {
        int t = jsonread_get(j, from, path);

        if (t == -ENOENT) {
                *ret = def;
                return 0;
        }
        return t < 0 ? t : jsonread_i64(j, (size_t) t, ret);
}

int jsonread_bool(const struct jsonread *j, size_t t, bool *ret) {
        if (t >= j->n || (j->tok[t].type != JSONREAD_TRUE && j->tok[t].type != JSONREAD_FALSE))
                return -EINVAL;
        *ret = j->tok[t].type == JSONREAD_TRUE;
        return 0;
}

int jsonread_get_bool(const struct jsonread *j, size_t from, const char *path, bool def, bool *ret) {
        int t = jsonread_get(j, from, path);

        if (t == -ENOENT) {
                *ret = def;
                return 0;
        }
        return t < 0 ? t : jsonread_bool(j, (size_t) t, ret);
}
