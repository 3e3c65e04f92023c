/* fuzz_nginx: libFuzzer target for the nginx upstream rewrite, in both of nginx_set_roles' modes.
 * Input: the bytes of an nginx file, rewritten with the runbook's names (blacklake_backend, active_api:8080,
 * standby_api:8080). An input that starts with \x01 carries its own names first: \x01UPSTREAM\0ACTIVE\0STANDBY\0.
 * Every input goes through nginx_rewrite_upstream (the failover: STANDBY serves, ACTIVE down) and through
 * nginx_set_roles with NGINX_STANDBY_BACKUP (the switchover: STANDBY serves, ACTIVE its backup).
 * Invariants: nginx_check_upstream gives each rewrite's verdict (code, line:col, message); a syntax error has a
 * line:col; nginx_set_roles(NGINX_STANDBY_DOWN) is nginx_rewrite_upstream, byte for byte; a rewrite that succeeds
 * parses again, rewrites to itself (idempotent), and differs from the input only inside the named upstream block
 * — whose extent this target finds with its own small nginx lexer (which skips `*_by_lua_block` bodies by the Lua
 * module's rules, written apart from src/nginx.c's); switching back and forth in BACKUP mode never drifts: after
 * one round trip, the next returns the same bytes. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nginx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct names {
        const char *upstream, *active, *standby;
};

/* One rewrite as this target runs it: `back` swaps the roles (ACTIVE serves again, STANDBY standby). */
struct roles {
        enum nginx_standby mode;
        bool back;
};

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

/* ---- an independent lexer, just enough to find where a block ends (nginx's rules: see src/nginx.c) */

static bool blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Returns the offset after the token starting at or after *pos; *kind is the token's first byte, or 0 at EOF. */
static size_t next_token(const char *in, size_t len, size_t pos, char *kind) {
        while (pos < len && (blank(in[pos]) || in[pos] == '#'))
                if (in[pos] == '#')
                        while (pos < len && in[pos] != '\n')
                                pos++;
                else
                        pos++;
        *kind = pos < len ? in[pos] : 0;
        if (pos >= len)
                return pos;
        if (in[pos] == ';' || in[pos] == '{' || in[pos] == '}')
                return pos + 1;
        if (in[pos] == '"' || in[pos] == '\'') {
                char q = in[pos++];
                while (pos < len && in[pos] != q)
                        pos += in[pos] == '\\' ? 2 : 1;
                return pos + 1 > len ? len : pos + 1;
        }
        for (bool dollar = false; pos < len; pos++) {
                char c = in[pos];
                if (c == '\\') {
                        pos++;
                        dollar = false;
                        continue;
                }
                if (c == '{' && dollar)
                        continue;
                if (blank(c) || c == ';' || c == '{')
                        break;
                dollar = c == '$';
        }
        *kind = 'w';
        return pos > len ? len : pos;
}

/* Past the "]" "="*lvl "]" closing a Lua long bracket whose body starts at `from`. */
static size_t long_close(const char *in, size_t len, size_t from, size_t lvl) {
        for (size_t q = from; q + lvl + 1 < len; q++) {
                size_t k = 0;

                if (in[q] != ']')
                        continue;
                while (k < lvl && in[q + 1 + k] == '=')
                        k++;
                if (k == lvl && in[q + 1 + lvl] == ']')
                        return q + lvl + 2;
        }
        FAIL("an unclosed Lua long bracket at %zu, yet the rewrite succeeded", from);
}

/* The end of a quoted Lua string starting at pos, or 0 when none starts there (it would cross a line end). */
static size_t lua_string_end(const char *in, size_t len, size_t pos) {
        for (size_t e = pos + 1; e < len && in[e] != '\n'; e++) {
                if (in[e] == in[pos])
                        return e + 1;
                if (in[e] == '\\' && (++e >= len || in[e] == '\n'))
                        return 0;
        }
        return 0;
}

/* Past the Lua body of a `*_by_lua_block {` (pos just after its '{'), by the Lua module's rules: strings do not
 * span lines, "--[=*[" and "[=*[" open long brackets closed at their own level, "--" comments to the line end. */
static size_t lua_end(const char *in, size_t len, size_t pos) {
        unsigned depth = 1;

        while (pos < len) {
                bool dashes = in[pos] == '-' && pos + 1 < len && in[pos + 1] == '-';
                size_t lvl = 0, p = pos + (dashes ? 2 : 0), e;

                if (p < len && in[p] == '[') {
                        while (p + 1 + lvl < len && in[p + 1 + lvl] == '=')
                                lvl++;
                        if (p + 1 + lvl < len && in[p + 1 + lvl] == '[') {
                                pos = long_close(in, len, p + 2 + lvl, lvl);
                                continue;
                        }
                }
                if (dashes) {
                        while (pos < len && in[pos] != '\n')
                                pos++;
                        continue;
                }
                if ((in[pos] == '"' || in[pos] == '\'') && (e = lua_string_end(in, len, pos)) != 0) {
                        pos = e;
                        continue;
                }
                if (in[pos] == '{')
                        depth++;
                else if (in[pos] == '}' && --depth == 0)
                        return pos + 1;
                pos++;
        }
        FAIL("a Lua block never closes, yet the rewrite succeeded");
}

static bool is_lua_block_name(const char *in, size_t from, size_t to) {
        static const char sfx[] = "_by_lua_block";

        if (to - from >= 2 && (in[from] == '"' || in[from] == '\''))
                from++, to--;
        return to - from >= sizeof sfx - 1 && memcmp(in + to - (sizeof sfx - 1), sfx, sizeof sfx - 1) == 0;
}

/* The offset just past the '}' closing the block whose directive starts at `start`. */
static size_t block_end(const char *in, size_t len, size_t start) {
        unsigned depth = 0;
        size_t pos = start, prev;
        bool first = true, lua = false;
        char kind;

        for (;;) {
                prev = pos;
                pos = next_token(in, len, pos, &kind);
                if (kind == 0)
                        FAIL("upstream block at offset %zu never closes, yet the rewrite succeeded", start);
                if (kind == 'w' && first) {
                        size_t from = prev;
                        while (blank(in[from]) || in[from] == '#')
                                from = in[from] == '#' ? (size_t) ((const char *) memchr(in + from, '\n',
                                                                                         len - from) - in)
                                                       : from + 1;
                        lua = is_lua_block_name(in, from, pos);
                }
                first = kind != 'w';
                if (kind == '{' && lua)
                        pos = lua_end(in, len, pos);
                else if (kind == '{')
                        depth++;
                else if (kind == '}' && --depth == 0)
                        return pos;
        }
}

static size_t offset_of(const char *in, size_t len, unsigned line, unsigned col) {
        size_t pos = 0;

        for (unsigned l = 1; l < line && pos < len; pos++)
                if (in[pos] == '\n')
                        l++;
        return pos + col - 1;
}

/* Where the named upstream's directive starts, as the library itself reports it: with two server names the file
 * cannot hold, the scan stops at "server not found in upstream" and points at the upstream. */
static bool upstream_start(const char *in, size_t len, const struct names *n, size_t *ret) {
        struct nginx_error err;

        if (nginx_check_upstream(in, len, n->upstream, "\x02no-such-server-a", "\x02no-such-server-b", &err) !=
                    -ENOENT || err.line == 0)
                return false;
        *ret = offset_of(in, len, err.line, err.col);
        return true;
}

static void check_diff_inside_block(const char *in, size_t len, const char *out, size_t out_len,
                                    const struct names *n) {
        size_t p = 0, s = 0, start, end;

        while (p < len && p < out_len && in[p] == out[p])
                p++;
        while (s < len - p && s < out_len - p && in[len - 1 - s] == out[out_len - 1 - s])
                s++;
        if (p == len && p == out_len)
                return;                 /* already switched: identical */
        if (!upstream_start(in, len, n, &start))
                FAIL("the rewrite succeeded but the upstream cannot be located");
        end = block_end(in, len, start);
        if (p < start || len - s > end)
                FAIL("bytes [%zu, %zu) changed, outside the upstream block [%zu, %zu)", p, len - s, start, end);
}

/* ---- the invariants */

static void same_verdict(int r, const struct nginx_error *err, int rc, const struct nginx_error *cerr) {
        if (r != rc)
                FAIL("rewrite says %d, check says %d (%s / %s)", r, rc, err->message, cerr->message);
        if (r < 0 && (err->line != cerr->line || err->col != cerr->col || strcmp(err->message, cerr->message) != 0))
                FAIL("rewrite and check disagree: %u:%u %s / %u:%u %s", err->line, err->col, err->message,
                     cerr->line, cerr->col, cerr->message);
}

static void check_failure(int r, const struct nginx_error *err) {
        if (r != -ENOENT && r != -EINVAL && r != -EEXIST && r != -ENOMEM)
                FAIL("unexpected return %d: %s", r, err->message);
        if (!err->message[0])
                FAIL("error %d without a message", r);
        if (r == -EINVAL && (err->line == 0 || err->col == 0) && !strstr(err->message, "must be given") &&
            !strstr(err->message, "same server"))
                FAIL("syntax error without line:col: %s", err->message);
}

static int set_roles(const char *in, size_t len, const struct names *n, struct roles ro, char **out,
                     size_t *out_len, struct nginx_error *err) {
        return nginx_set_roles(in, len, n->upstream, ro.back ? n->active : n->standby,
                               ro.back ? n->standby : n->active, ro.mode, out, out_len, err);
}

static void check_success(const char *in, size_t len, const char *out, size_t out_len, const struct names *n,
                          struct roles ro) {
        struct nginx_error err;
        char *again = NULL;
        size_t again_len = 0;
        int r;

        if (out[out_len] != '\0')
                FAIL("output not NUL-terminated");
        if (nginx_check_upstream(out, out_len, n->upstream, n->active, n->standby, &err) != 0)
                FAIL("the rewritten file does not parse: %u:%u %s", err.line, err.col, err.message);
        r = set_roles(out, out_len, n, ro, &again, &again_len, &err);
        if (r != 0 || again_len != out_len || memcmp(again, out, out_len) != 0)
                FAIL("rewrite (mode %d, back %d) is not idempotent (%d: %s)", ro.mode, ro.back, r, err.message);
        free(again);
        check_diff_inside_block(in, len, out, out_len, n);
}

/* The DOWN form of nginx_set_roles is the failover rewrite: same verdict, same bytes. */
static void check_down_is_rewrite(const char *in, size_t len, const struct names *n, int r, const char *out,
                                  size_t out_len, const struct nginx_error *err) {
        struct nginx_error derr;
        char *down = NULL;
        size_t down_len = 0;
        int rd;

        rd = set_roles(in, len, n, (struct roles) { NGINX_STANDBY_DOWN, false }, &down, &down_len, &derr);
        same_verdict(rd, &derr, r, err);
        if (r == 0 && (down_len != out_len || memcmp(down, out, out_len) != 0))
                FAIL("nginx_set_roles(DOWN) and nginx_rewrite_upstream give different bytes");
        free(down);
}

/* Switch back, forth, back from out (the switched file): the second switch back gives what the first gave. */
static void check_round_trips(const char *out, size_t out_len, const struct names *n) {
        struct roles back = { NGINX_STANDBY_BACKUP, true }, forth = { NGINX_STANDBY_BACKUP, false };
        char *r2 = NULL, *r3 = NULL, *r4 = NULL;
        size_t l2 = 0, l3 = 0, l4 = 0;
        struct nginx_error err;

        if (set_roles(out, out_len, n, back, &r2, &l2, &err) != 0)
                FAIL("cannot switch back: %u:%u %s", err.line, err.col, err.message);
        check_success(out, out_len, r2, l2, n, back);
        if (set_roles(r2, l2, n, forth, &r3, &l3, &err) != 0)
                FAIL("cannot switch forth again: %u:%u %s", err.line, err.col, err.message);
        if (set_roles(r3, l3, n, back, &r4, &l4, &err) != 0)
                FAIL("cannot switch back again: %u:%u %s", err.line, err.col, err.message);
        if (l4 != l2 || memcmp(r4, r2, l2) != 0)
                FAIL("switching back and forth drifts: %zu bytes, then %zu", l2, l4);
        free(r2);
        free(r3);
        free(r4);
}

/* The switchover's rewrite: the verdict is the check's, and a success round-trips. */
static void check_backup_mode(const char *in, size_t len, const struct names *n, int rc,
                              const struct nginx_error *cerr) {
        struct roles forth = { NGINX_STANDBY_BACKUP, false };
        struct nginx_error err;
        char *out = NULL;
        size_t out_len = 0;
        int r;

        r = set_roles(in, len, n, forth, &out, &out_len, &err);
        same_verdict(r, &err, rc, cerr);
        if (r == 0) {
                check_success(in, len, out, out_len, n, forth);
                check_round_trips(out, out_len, n);
        } else
                check_failure(r, &err);
        free(out);
}

/* \x01UPSTREAM\0ACTIVE\0STANDBY\0 in front: the input's own names. Returns the offset of the file's bytes. */
static size_t read_names(const char *d, size_t size, struct names *n) {
        static const struct names runbook = { "blacklake_backend", "active_api:8080", "standby_api:8080" };
        const char **slot[] = { &n->upstream, &n->active, &n->standby };
        size_t pos = 1;

        *n = runbook;
        if (size == 0 || d[0] != '\x01')
                return 0;
        for (size_t i = 0; i < 3; i++) {
                const char *nul = memchr(d + pos, 0, size - pos);
                if (!nul) {
                        *n = runbook;
                        return 0;
                }
                *slot[i] = d + pos;
                pos = (size_t) (nul - d) + 1;
        }
        return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct nginx_error err, cerr;
        struct names n;
        char *out = NULL, *in;
        size_t out_len = 0, skip, len;
        int r, rc;

        skip = read_names((const char *) data, size, &n);
        len = size - skip;
        in = malloc(len ? len : 1);     /* exactly len bytes: ASan sees any read past the end */
        if (!in)
                return 0;
        memcpy(in, data + skip, len);
        r = nginx_rewrite_upstream(in, len, n.upstream, n.active, n.standby, &out, &out_len, &err);
        rc = nginx_check_upstream(in, len, n.upstream, n.active, n.standby, &cerr);
        same_verdict(r, &err, rc, &cerr);
        if (r == 0)
                check_success(in, len, out, out_len, &n, (struct roles) { NGINX_STANDBY_DOWN, false });
        else
                check_failure(r, &err);
        check_down_is_rewrite(in, len, &n, r, out, out_len, &err);
        check_backup_mode(in, len, &n, rc, &cerr);
        free(out);
        free(in);
        return 0;
}
