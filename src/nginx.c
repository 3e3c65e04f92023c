/* nginx: the upstream rewrite — tokenizes nginx config like nginx does, edits two server directives, keeps every
 * other byte. No I/O, no globals. */
#include "nginx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Real configs nest 3-4 deep; the cap bounds the block stack and turns garbage input into an error. */
#define NGINX_MAX_DEPTH 256
/* Real configs are kilobytes; the cap bounds memory and time for whatever file the operator points us at. */
#define NGINX_MAX_INPUT ((size_t) 16 * 1024 * 1024)
#define DOWN_SUFFIX     " down"

enum tok_kind { TOK_WORD, TOK_SEMI, TOK_OPEN, TOK_CLOSE, TOK_EOF };

struct token {
        enum tok_kind kind;
        size_t start, end; /* raw bytes [start, end) in the input, quotes included */
        unsigned line, col;
};

struct lexer {
        const char *buf;
        size_t len, pos;
        unsigned line, col;
};

enum { SRV_ACTIVE, SRV_STANDBY, SRV_COUNT };

/* One `server ADDR ...;` directive found in the target upstream. */
struct server_hit {
        bool found, backup, down;
        size_t start; /* offset of the `server` word: the edit re-reads the directive from here */
        unsigned line, col;
};

struct scan {
        const char *buf, *upstream, *names[SRV_COUNT];
        bool upstream_found;
        unsigned up_line, up_col;
        unsigned depth, target_depth; /* target_depth: depth inside the target upstream's braces, 0 = not in it */
        struct { unsigned line, col; } open[NGINX_MAX_DEPTH]; /* where each open block's '{' is, for EOF errors */
        size_t ntok;                  /* words of the directive being read */
        struct token first, second;   /* its name and first argument */
        bool backup, down;            /* whether its parameters include these words */
        struct server_hit hit[SRV_COUNT];
};

__attribute__((format(printf, 5, 6)))
static int fail(struct nginx_error *err, int r, unsigned line, unsigned col, const char *fmt, ...) {
        va_list ap;

        if (!err)
                return r;
        err->line = line;
        err->col = col;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        return r;
}

/* Renders one input byte for a message: itself when printable, else \xNN, so the message stays one clean line. */
static const char *char_repr(char c, char buf[static 8]) {
        if (c > ' ' && c < 0x7f)
                snprintf(buf, 8, "%c", c);
        else
                snprintf(buf, 8, "\\x%02x", (unsigned) (unsigned char) c);
        return buf;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool lex_eof(const struct lexer *lx) {
        return lx->pos >= lx->len;
}

/* Lines count LF only, like nginx, so our line numbers match `nginx -t`. Columns are 1-based bytes. */
static void lex_advance(struct lexer *lx) {
        if (lx->buf[lx->pos] == '\n') {
                lx->line++;
                lx->col = 1;
        } else
                lx->col++;
        lx->pos++;
}

/* '#' only opens a comment where a token could start: inside a word (`a#b`) it is an ordinary byte in nginx. */
static void lex_skip_blank(struct lexer *lx) {
        while (!lex_eof(lx)) {
                char c = lx->buf[lx->pos];

                if (c == '#')
                        while (!lex_eof(lx) && lx->buf[lx->pos] != '\n')
                                lex_advance(lx);
                else if (is_space(c))
                        lex_advance(lx);
                else
                        return;
        }
}

/* An unquoted word ends at whitespace, ';' or '{' — but not at '}' and not at the '{' of `${var}`, as in nginx.
 * A backslash takes the next byte with it. */
static void lex_unquoted(struct lexer *lx) {
        bool dollar = false;

        while (!lex_eof(lx)) {
                char c = lx->buf[lx->pos];

                if (c == '\\') {
                        lex_advance(lx);
                        if (!lex_eof(lx))
                                lex_advance(lx);
                        dollar = false;
                        continue;
                }
                if (c == '{' && dollar) {
                        lex_advance(lx);
                        continue;
                }
                if (is_space(c) || c == ';' || c == '{')
                        return;
                dollar = c == '$';
                lex_advance(lx);
        }
}

/* A quoted word runs to the matching unescaped quote; nginx then demands a separator right after it. */
static int lex_quoted(struct lexer *lx, const struct token *t, struct nginx_error *err) {
        char q = lx->buf[lx->pos], c, repr[8];

        lex_advance(lx);
        for (;;) {
                if (lex_eof(lx))
                        return fail(err, -EINVAL, t->line, t->col,
                                    "unterminated string: the %s opened here is never closed",
                                    q == '"' ? "double quote" : "single quote");
                c = lx->buf[lx->pos];
                lex_advance(lx);
                if (c == '\\' && !lex_eof(lx))
                        lex_advance(lx);
                else if (c == q)
                        break;
        }
        if (lex_eof(lx))
                return 0;
        c = lx->buf[lx->pos];
        if (is_space(c) || c == ';' || c == '{' || c == ')')
                return 0;
        return fail(err, -EINVAL, lx->line, lx->col, "unexpected \"%s\" right after a quoted string; add a space",
                    char_repr(c, repr));
}

/* Next token; comments and whitespace are skipped. On error the lexer position is meaningless. */
static int lex_next(struct lexer *lx, struct token *t, struct nginx_error *err) {
        int r = 0;
        char c;

        lex_skip_blank(lx);
        *t = (struct token) { .kind = TOK_WORD, .start = lx->pos, .line = lx->line, .col = lx->col };
        if (lex_eof(lx))
                t->kind = TOK_EOF;
        else if ((c = lx->buf[lx->pos]) == ';' || c == '{' || c == '}') {
                t->kind = c == ';' ? TOK_SEMI : c == '{' ? TOK_OPEN : TOK_CLOSE;
                lex_advance(lx);
        } else if (c == '"' || c == '\'')
                r = lex_quoted(lx, t, err);
        else
                lex_unquoted(lx);
        t->end = lx->pos;
        return r;
}

/* Compares a word's value with s after nginx's own unquoting and escapes (\" \' \\ \t \r \n), so that
 * `upstream "x"` and `upstream x` name the same upstream, exactly as nginx sees them. */
static bool tok_is(const char *buf, const struct token *t, const char *s) {
        size_t i = t->start, end = t->end;

        if (t->kind != TOK_WORD)
                return false;
        if (buf[i] == '"' || buf[i] == '\'') {
                i++;
                end--;
        }
        while (i < end) {
                char c = buf[i++];

                if (c == '\\' && i < end && buf[i] != '\0' && strchr("\"'\\trn", buf[i])) {
                        c = buf[i] == 't' ? '\t' : buf[i] == 'r' ? '\r' : buf[i] == 'n' ? '\n' : buf[i];
                        i++;
                }
                if (*s == '\0' || *s != c)
                        return false;
                s++;
        }
        return *s == '\0';
}

static void directive_reset(struct scan *s) {
        s->ntok = 0;
        s->backup = s->down = false;
}

static void on_word(struct scan *s, const struct token *t) {
        if (s->ntok == 0)
                s->first = *t;
        else if (s->ntok == 1)
                s->second = *t;
        else if (tok_is(s->buf, t, "backup"))
                s->backup = true;
        else if (tok_is(s->buf, t, "down"))
                s->down = true;
        s->ntok++;
}

static int record_server(struct scan *s, int which, struct nginx_error *err) {
        struct server_hit *h = &s->hit[which];

        if (h->found)
                return fail(err, -EEXIST, s->first.line, s->first.col,
                            "server \"%s\" is listed twice in upstream \"%s\" (lines %u and %u); remove one",
                            s->names[which], s->upstream, h->line, s->first.line);
        *h = (struct server_hit) { .found = true, .backup = s->backup, .down = s->down, .start = s->first.start,
                                   .line = s->first.line, .col = s->first.col };
        return 0;
}

/* Only `server ADDR ...;` directly inside the target upstream counts: the same words in a server{} block,
 * another upstream or a deeper block are other directives. */
static int on_semi(struct scan *s, const struct token *t, struct nginx_error *err) {
        int r = 0;

        if (s->ntok == 0)
                return fail(err, -EINVAL, t->line, t->col, "unexpected \";\" with no directive before it");
        if (s->target_depth != 0 && s->depth == s->target_depth && s->ntok >= 2 &&
            tok_is(s->buf, &s->first, "server"))
                for (int i = 0; i < SRV_COUNT; i++)
                        if (tok_is(s->buf, &s->second, s->names[i])) {
                                r = record_server(s, i, err);
                                break;
                        }
        directive_reset(s);
        return r;
}

static int on_open(struct scan *s, const struct token *t, struct nginx_error *err) {
        if (s->ntok == 0)
                return fail(err, -EINVAL, t->line, t->col, "unexpected \"{\" with no block name before it");
        if (s->depth == NGINX_MAX_DEPTH)
                return fail(err, -EINVAL, t->line, t->col, "blocks nested deeper than %d", NGINX_MAX_DEPTH);
        s->open[s->depth].line = t->line;
        s->open[s->depth].col = t->col;
        s->depth++;
        /* nginx's upstream takes exactly one argument; `upstream a b {` is not this upstream */
        if (s->ntok == 2 && tok_is(s->buf, &s->first, "upstream") && tok_is(s->buf, &s->second, s->upstream)) {
                if (s->upstream_found)
                        return fail(err, -EEXIST, s->first.line, s->first.col,
                                    "upstream \"%s\" is defined twice (lines %u and %u); remove one",
                                    s->upstream, s->up_line, s->first.line);
                s->upstream_found = true;
                s->up_line = s->first.line;
                s->up_col = s->first.col;
                s->target_depth = s->depth;
        }
        directive_reset(s);
        return 0;
}

static int on_close(struct scan *s, const struct token *t, struct nginx_error *err) {
        if (s->ntok != 0)
                return fail(err, -EINVAL, t->line, t->col,
                            "unexpected \"}\": the directive at line %u col %u is missing its \";\"",
                            s->first.line, s->first.col);
        if (s->depth == 0)
                return fail(err, -EINVAL, t->line, t->col, "unexpected \"}\" with no block open");
        if (s->depth == s->target_depth)
                s->target_depth = 0;
        s->depth--;
        return 0;
}

static int on_eof(const struct scan *s, struct nginx_error *err) {
        if (s->ntok != 0)
                return fail(err, -EINVAL, s->first.line, s->first.col,
                            "the directive here is missing its \";\" (end of file reached)");
        if (s->depth != 0)
                return fail(err, -EINVAL, s->open[s->depth - 1].line, s->open[s->depth - 1].col,
                            "the block opened here is never closed (missing \"}\" at end of file)");
        return 0;
}

/* One token through the parser: 0 = go on, 1 = clean end of file, < 0 = error. */
static int scan_step(struct scan *s, struct lexer *lx, struct nginx_error *err) {
        struct token t;
        int r;

        r = lex_next(lx, &t, err);
        if (r < 0)
                return r;
        switch (t.kind) {
        case TOK_WORD:
                on_word(s, &t);
                return 0;
        case TOK_SEMI:
                return on_semi(s, &t, err);
        case TOK_OPEN:
                return on_open(s, &t, err);
        case TOK_CLOSE:
                return on_close(s, &t, err);
        case TOK_EOF:
                r = on_eof(s, err);
                return r < 0 ? r : 1;
        }
        return -EINVAL;
}

/* Reads the whole file, so a syntax error anywhere is reported even when the upstream came earlier, then says
 * whether the upstream and both servers are there. */
static int scan_upstream(struct scan *s, const char *in, size_t len, const char *upstream, const char *active,
                         const char *standby, struct nginx_error *err) {
        struct lexer lx = { .buf = in, .len = len, .line = 1, .col = 1 };
        int r;

        *s = (struct scan) { .buf = in, .upstream = upstream, .names = { active, standby } };
        do
                r = scan_step(s, &lx, err);
        while (r == 0);
        if (r < 0)
                return r;
        if (!s->upstream_found)
                return fail(err, -ENOENT, 0, 0, "upstream \"%s\" not found", upstream);
        for (int i = 0; i < SRV_COUNT; i++)
                if (!s->hit[i].found)
                        return fail(err, -ENOENT, s->up_line, s->up_col,
                                    "server \"%s\" not found in upstream \"%s\" (line %u)",
                                    s->names[i], upstream, s->up_line);
        return 0;
}

/* The bytes [*from, *to) to drop with a removed word [word, word_end). Normally the word and the whitespace
 * back to the previous word go. When a comment sits in that gap, the gap (and the newline ending the comment)
 * must stay, so the word goes with the blanks after it instead, keeping the indentation. When no blank follows
 * the word at all (nginx allows `"backup")`), only the word goes, or its neighbours would fuse into one word. */
static void cut_range(const char *in, size_t len, size_t prev_end, size_t word, size_t word_end, size_t *from,
                      size_t *to) {
        *from = word;
        *to = word_end;
        if (word_end < len && !is_space(in[word_end]) && in[word_end] != ';')
                return;
        for (size_t j = prev_end; j < word; j++)
                if (!is_space(in[j])) {
                        while (*to < len && (in[*to] == ' ' || in[*to] == '\t'))
                                (*to)++;
                        return;
                }
        *from = prev_end;
}

struct out {
        char *buf;
        size_t len;
};

static void out_put(struct out *o, const char *p, size_t n) {
        if (n == 0)
                return;
        memcpy(o->buf + o->len, p, n);
        o->len += n;
}

/* Copies input up to and through one server directive's edits: each `backup` parameter is dropped with its
 * blank (and each `down` when drop_down: the standby becomes the serving server, also on a failback where an
 * earlier failover marked it down), and DOWN_SUFFIX goes right before ';' when add_down.
 * *cursor = first input byte not yet copied. */
static int emit_server(struct out *o, const char *in, size_t len, size_t *cursor, const struct server_hit *h,
                       bool add_down, bool drop_down) {
        struct lexer lx = { .buf = in, .len = len, .pos = h->start, .line = h->line, .col = h->col };
        size_t prev_end = h->start, ntok = 0;
        struct token t;

        for (;;) {
                if (lex_next(&lx, &t, NULL) < 0 || t.kind != TOK_WORD)
                        break;
                if (ntok++ >= 2 && (tok_is(in, &t, "backup") || (drop_down && tok_is(in, &t, "down")))) {
                        size_t from, to;

                        cut_range(in, len, prev_end, t.start, t.end, &from, &to);
                        /* The previous cut may already have taken the blanks before this word (it went with the
                         * blanks after it, past a comment): never copy backwards. */
                        if (from < *cursor)
                                from = *cursor;
                        out_put(o, in + *cursor, from - *cursor);
                        *cursor = to;
                }
                prev_end = t.end;
        }
        if (t.kind != TOK_SEMI) /* the scan accepted this directive, so this is a bug, not bad input */
                return -EINVAL;
        if (add_down) {
                out_put(o, in + *cursor, t.start - *cursor);
                out_put(o, DOWN_SUFFIX, strlen(DOWN_SUFFIX));
                *cursor = t.start;
        }
        return 0;
}

/* Applies both edits in file order into buf (room for len + DOWN_SUFFIX); *ret_n = bytes written. */
static int apply_edits(const struct scan *s, const char *in, size_t len, char *buf, size_t *ret_n) {
        struct out o = { .buf = buf };
        int first = s->hit[SRV_ACTIVE].start < s->hit[SRV_STANDBY].start ? SRV_ACTIVE : SRV_STANDBY;
        size_t cursor = 0;

        for (int k = 0; k < SRV_COUNT; k++) {
                int i = k == 0 ? first : SRV_COUNT - 1 - first;
                const struct server_hit *h = &s->hit[i];
                int r = emit_server(&o, in, len, &cursor, h, i == SRV_ACTIVE && !h->down, i == SRV_STANDBY);

                if (r < 0)
                        return r;
        }
        out_put(&o, in + cursor, len - cursor);
        *ret_n = o.len;
        return 0;
}

/* The output must read back as already switched: that is what makes the rewrite idempotent. The edit rules
 * are meant to guarantee it; should an input we did not foresee defeat them, refuse rather than hand back a
 * config that says something other than intended. */
static int verify(const struct scan *before, const char *out, size_t n, struct nginx_error *err) {
        const struct server_hit *a, *b;
        struct scan after;

        a = &after.hit[SRV_ACTIVE];
        b = &after.hit[SRV_STANDBY];
        if (scan_upstream(&after, out, n, before->upstream, before->names[SRV_ACTIVE], before->names[SRV_STANDBY],
                          NULL) == 0 && a->down && !a->backup && !b->backup && !b->down)
                return 0;
        return fail(err, -EINVAL, before->up_line, before->up_col,
                    "upstream \"%s\": the server lines are written in a way this rewrite cannot edit safely; "
                    "switch them by hand", before->upstream);
}

static int check_args(const char *in, size_t len, const char *upstream, const char *active,
                      const char *standby, struct nginx_error *err) {
        if (err)
                memset(err, 0, sizeof(*err));
        if ((!in && len > 0) || !upstream || !*upstream || !active || !*active || !standby || !*standby)
                return fail(err, -EINVAL, 0, 0, "upstream, active and standby server must be given");
        if (strcmp(active, standby) == 0)
                return fail(err, -EINVAL, 0, 0, "active and standby are the same server \"%s\"", active);
        if (len > NGINX_MAX_INPUT)
                return fail(err, -EFBIG, 0, 0, "config is %zu bytes, more than the %zu MiB accepted",
                            len, NGINX_MAX_INPUT >> 20);
        return 0;
}

int nginx_rewrite_upstream(const char *in, size_t len, const char *upstream, const char *active_server,
                           const char *standby_server, char **ret_out, size_t *ret_len, struct nginx_error *err) {
        struct scan s;
        char *buf;
        size_t n = 0;
        int r;

        r = check_args(in, len, upstream, active_server, standby_server, err);
        if (r < 0)
                return r;
        if (!ret_out || !ret_len)
                return fail(err, -EINVAL, 0, 0, "no place to return the rewritten config");
        r = scan_upstream(&s, in, len, upstream, active_server, standby_server, err);
        if (r < 0)
                return r;
        buf = malloc(len + strlen(DOWN_SUFFIX) + 1); /* at most one DOWN_SUFFIX is added; nothing else grows */
        if (!buf)
                return fail(err, -ENOMEM, 0, 0, "out of memory for a %zu byte config", len);
        r = apply_edits(&s, in, len, buf, &n);
        if (r < 0)
                r = fail(err, r, s.up_line, s.up_col, "internal error editing upstream \"%s\"", upstream);
        else
                r = verify(&s, buf, n, err);
        if (r < 0) {
                free(buf);
                return r;
        }
        buf[n] = '\0';
        *ret_out = buf;
        *ret_len = n;
        return 0;
}

/* The same scan the rewrite starts with; the rewrite's extra self-check on its output cannot fail for input the
 * scan accepts (see cut_range), so the verdicts agree without allocating here. */
int nginx_check_upstream(const char *in, size_t len, const char *upstream, const char *active_server,
                         const char *standby_server, struct nginx_error *err) {
        struct scan s;
        int r;

        r = check_args(in, len, upstream, active_server, standby_server, err);
        if (r < 0)
                return r;
        return scan_upstream(&s, in, len, upstream, active_server, standby_server, err);
}
