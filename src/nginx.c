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
#define BACKUP_SUFFIX   " backup"
#define MAX_SUFFIX      (sizeof BACKUP_SUFFIX - 1) /* the longest a listing grows */
/* nginx allows an address more than once in an upstream; every listing gets the same edit. The cap bounds the
 * hit table: no real upstream lists the same two addresses this often. */
#define NGINX_MAX_HITS  32
/* Directives whose block the Lua module (http and stream) reads itself, as Lua, not as nginx directives. */
#define LUA_BLOCK_SUFFIX "_by_lua_block"
/* What every refusal that is ours, not the file's, ends with. */
#define PARSER_LIMIT    "a limit of blfailoverd's nginx parser, not an error in the file"

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

/* The standby's name comes first: errors name a missing server in this order (the failover's active first). */
enum { SRV_STANDBY, SRV_SERVING, SRV_COUNT };

/* An upstream of the name inside `stream {}` is a TCP/UDP upstream of the same name, legal beside the http one. */
enum { CTX_HTTP, CTX_STREAM, CTX_COUNT };

/* One `server ADDR ...;` directive found in the target upstream. */
struct server_hit {
        int which;    /* SRV_STANDBY or SRV_SERVING */
        bool backup, down;
        size_t start; /* offset of the `server` word: the edit re-reads the directive from here */
        unsigned line, col;
};

/* The upstream of the name in one context, and its server directives naming either address, in file order. */
struct candidate {
        bool found, too_many;
        unsigned line, col;
        unsigned dup_line, dup_col;   /* a second definition in the same context (nginx refuses that too) */
        bool seen[SRV_COUNT];
        size_t nhits;
        struct server_hit hit[NGINX_MAX_HITS];
};

struct scan {
        const char *buf, *upstream, *names[SRV_COUNT];
        unsigned depth, target_depth; /* target_depth: depth inside the target upstream's braces, 0 = not in it */
        unsigned stream_depth;        /* depth inside `stream {}`, 0 = not in it */
        int target_ctx;               /* the context of the upstream being read */
        struct { unsigned line, col; } open[NGINX_MAX_DEPTH]; /* where each open block's '{' is, for EOF errors */
        size_t ntok;                  /* words of the directive being read */
        struct token first, second;   /* its name and first argument */
        bool backup, down;            /* whether its parameters include these words */
        struct candidate cand[CTX_COUNT];
        const struct candidate *chosen; /* set once the whole file is read */
        char foreign[48];             /* the first block nginx itself does not read (a module's), for hints */
        unsigned foreign_line;
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

/* ---- the Lua module's block reader ---------------------------------------------------------------------- */

/* Length of the Lua long bracket opening at p ("[[", "[=[", "[==[" ...), 0 when there is none. */
static size_t lua_long_open(const char *p, size_t avail) {
        size_t n = 1;

        if (avail < 2 || p[0] != '[')
                return 0;
        while (n < avail && p[n] == '=')
                n++;
        return n < avail && p[n] == '[' ? n + 1 : 0;
}

static void lex_skip(struct lexer *lx, size_t n) {
        while (n-- > 0 && !lex_eof(lx))
                lex_advance(lx);
}

/* Skips a long string or comment whose opening bracket (open_len bytes: '[', level '=', '[') is at the lexer;
 * it ends at the first ']' + the same number of '=' + ']', as in Lua. line:col = where it starts ("--" included). */
static int lua_long(struct lexer *lx, size_t open_len, bool comment, unsigned line, unsigned col,
                    struct nginx_error *err) {
        size_t level = open_len - 2;

        lex_skip(lx, open_len);
        for (; !lex_eof(lx); lex_advance(lx)) {
                const char *p = lx->buf + lx->pos;
                size_t avail = lx->len - lx->pos, n = 1;

                if (*p != ']')
                        continue;
                while (n < avail && p[n] == '=')
                        n++;
                if (n - 1 == level && n < avail && p[n] == ']') {
                        lex_skip(lx, n + 1);
                        return 0;
                }
        }
        return fail(err, -EINVAL, line, col, "the Lua long %s opened here is never closed (it needs \"]%.*s]\")",
                    comment ? "comment" : "string", (int) level, "================================================");
}

/* A quoted Lua string: up to the matching quote on the same line, a backslash taking the next byte unless it is a
 * newline (the Lua module's lexer is a leftmost-match regex search whose strings do not span lines; `nginx -t`
 * with libnginx-mod-http-lua agrees). Where no such string starts, the quote is a plain byte to it, and the braces
 * after it count. Returns whether it was a string. */
static bool lua_quoted(struct lexer *lx) {
        char q = lx->buf[lx->pos];
        size_t i = lx->pos + 1;

        for (; i < lx->len && lx->buf[i] != q; i++) {
                if (lx->buf[i] == '\\')
                        i++;
                if (i >= lx->len || lx->buf[i] == '\n')
                        return false;
        }
        if (i >= lx->len)
                return false;
        lex_skip(lx, i + 1 - lx->pos);
        return true;
}

/* One lexical element of Lua at the lexer; *depth follows the braces. Mirrors ngx_http_lua_conf_read_lua_token:
 * long comments "--[=*[", line comments "--", long strings "[=*[", quoted strings, '{' and '}'; any other byte is
 * Lua the module does not look at. */
static int lua_step(struct lexer *lx, unsigned *depth, struct nginx_error *err) {
        const char *p = lx->buf + lx->pos;
        size_t avail = lx->len - lx->pos, n;

        if (avail >= 2 && p[0] == '-' && p[1] == '-') {
                if ((n = lua_long_open(p + 2, avail - 2)) > 0) {
                        unsigned line = lx->line, col = lx->col;

                        lex_skip(lx, 2);
                        return lua_long(lx, n, true, line, col, err);
                }
                while (!lex_eof(lx) && lx->buf[lx->pos] != '\n')
                        lex_advance(lx);
                return 0;
        }
        if ((n = lua_long_open(p, avail)) > 0)
                return lua_long(lx, n, false, lx->line, lx->col, err);
        if ((*p == '"' || *p == '\'') && lua_quoted(lx))
                return 0;
        if (*p == '{')
                (*depth)++;
        else if (*p == '}')
                (*depth)--;
        lex_advance(lx);
        return 0;
}

/* The body of a `*_by_lua_block {`, from just after its '{' through the matching '}'. nginx hands these bytes to
 * the Lua module, which reads them as Lua; they are skipped whole and never edited. */
static int lex_lua_block(struct lexer *lx, const struct token *open, struct nginx_error *err) {
        unsigned depth = 1;
        int r;

        while (depth > 0) {
                if (lex_eof(lx))
                        return fail(err, -EINVAL, open->line, open->col,
                                    "the Lua block opened here is never closed (missing \"}\" at end of file, read "
                                    "as Lua: strings, long brackets and comments)");
                r = lua_step(lx, &depth, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- words ---------------------------------------------------------------------------------------------- */

/* The value bytes of a word are [*i, *end) after its quotes; tok_next_byte walks them with nginx's escapes
 * (\" \' \\ \t \r \n), so that `upstream "x"` and `upstream x` name the same upstream, exactly as nginx sees them. */
static void tok_bounds(const char *buf, const struct token *t, size_t *i, size_t *end) {
        *i = t->start;
        *end = t->end;
        if (buf[*i] == '"' || buf[*i] == '\'') {
                (*i)++;
                (*end)--;
        }
}

static char tok_next_byte(const char *buf, size_t *i, size_t end) {
        char c = buf[(*i)++];

        if (c == '\\' && *i < end && buf[*i] != '\0' && strchr("\"'\\trn", buf[*i])) {
                c = buf[*i] == 't' ? '\t' : buf[*i] == 'r' ? '\r' : buf[*i] == 'n' ? '\n' : buf[*i];
                (*i)++;
        }
        return c;
}

static bool tok_is(const char *buf, const struct token *t, const char *s) {
        size_t i, end;

        if (t->kind != TOK_WORD)
                return false;
        tok_bounds(buf, t, &i, &end);
        while (i < end) {
                char c = tok_next_byte(buf, &i, end);

                if (*s == '\0' || *s != c)
                        return false;
                s++;
        }
        return *s == '\0';
}

/* Whether the word's value ends with suffix (two passes: its length, then its tail). */
static bool tok_ends_with(const char *buf, const struct token *t, const char *suffix) {
        size_t i, end, n = 0, k = 0, want = strlen(suffix);

        tok_bounds(buf, t, &i, &end);
        for (size_t j = i; j < end; n++)
                tok_next_byte(buf, &j, end);
        if (n < want)
                return false;
        for (; i < end; k++) {
                char c = tok_next_byte(buf, &i, end);

                if (k >= n - want && c != suffix[k - (n - want)])
                        return false;
        }
        return true;
}

/* Blocks nginx's own tokenizer reads (core and Debian's modules): an error inside them is the file's. */
static bool block_read_by_nginx(const char *buf, const struct token *name) {
        static const char *const known[] = { "http", "server", "location", "upstream", "if", "limit_except",
                                             "types", "map", "geo", "split_clients", "charset_map", "events",
                                             "stream", "mail", "match" };

        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
                if (tok_is(buf, name, known[i]))
                        return true;
        return false;
}

/* ---- the scan ------------------------------------------------------------------------------------------- */

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

static void record_server(struct scan *s, int which) {
        struct candidate *c = &s->cand[s->target_ctx];

        c->seen[which] = true;
        if (c->nhits == NGINX_MAX_HITS) {
                c->too_many = true;
                return;
        }
        c->hit[c->nhits++] = (struct server_hit) { .which = which, .backup = s->backup, .down = s->down,
                                                   .start = s->first.start, .line = s->first.line,
                                                   .col = s->first.col };
}

/* Only `server ADDR ...;` directly inside the target upstream counts: the same words in a server{} block,
 * another upstream or a deeper block are other directives. */
static int on_semi(struct scan *s, const struct token *t, struct nginx_error *err) {
        if (s->ntok == 0)
                return fail(err, -EINVAL, t->line, t->col, "unexpected \";\" with no directive before it");
        if (s->target_depth != 0 && s->depth == s->target_depth && s->ntok >= 2 &&
            tok_is(s->buf, &s->first, "server"))
                for (int i = 0; i < SRV_COUNT; i++)
                        if (tok_is(s->buf, &s->second, s->names[i])) {
                                record_server(s, i);
                                break;
                        }
        directive_reset(s);
        return 0;
}

/* `upstream NAME {` just opened (nginx's upstream takes exactly one argument; `upstream a b {` is not ours). */
static void on_upstream(struct scan *s) {
        struct candidate *c = &s->cand[s->stream_depth ? CTX_STREAM : CTX_HTTP];

        if (c->found) {
                if (c->dup_line == 0) {
                        c->dup_line = s->first.line;
                        c->dup_col = s->first.col;
                }
                return;         /* its servers are not read: the verdict is "defined twice" anyway */
        }
        c->found = true;
        c->line = s->first.line;
        c->col = s->first.col;
        s->target_depth = s->depth;
        s->target_ctx = s->stream_depth ? CTX_STREAM : CTX_HTTP;
}

static void note_foreign(struct scan *s) {
        size_t n = s->first.end - s->first.start;

        if (s->foreign_line != 0 || block_read_by_nginx(s->buf, &s->first))
                return;
        s->foreign_line = s->first.line;
        snprintf(s->foreign, sizeof s->foreign, "%.*s", (int) (n < 40 ? n : 40), s->buf + s->first.start);
}

static int on_open(struct scan *s, struct lexer *lx, const struct token *t, struct nginx_error *err) {
        int r;

        if (s->ntok == 0)
                return fail(err, -EINVAL, t->line, t->col, "unexpected \"{\" with no block name before it");
        if (tok_ends_with(s->buf, &s->first, LUA_BLOCK_SUFFIX)) {
                r = lex_lua_block(lx, t, err);
                directive_reset(s);
                return r;
        }
        if (s->depth == NGINX_MAX_DEPTH)
                return fail(err, -EINVAL, t->line, t->col, "blocks nested deeper than %d: " PARSER_LIMIT,
                            NGINX_MAX_DEPTH);
        s->open[s->depth].line = t->line;
        s->open[s->depth].col = t->col;
        s->depth++;
        note_foreign(s);
        if (s->ntok == 1 && s->stream_depth == 0 && tok_is(s->buf, &s->first, "stream"))
                s->stream_depth = s->depth;
        if (s->ntok == 2 && s->target_depth == 0 && tok_is(s->buf, &s->first, "upstream") &&
            tok_is(s->buf, &s->second, s->upstream))
                on_upstream(s);
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
        if (s->depth == s->stream_depth)
                s->stream_depth = 0;
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
                return on_open(s, lx, &t, err);
        case TOK_CLOSE:
                return on_close(s, &t, err);
        case TOK_EOF:
                r = on_eof(s, err);
                return r < 0 ? r : 1;
        }
        return -EINVAL;
}

/* A syntax error after a block some module reads by its own rules (as the Lua module does its blocks) may be
 * nginx-valid input this parser misread: say so, rather than blame the file. */
static void hint_foreign(const struct scan *s, struct nginx_error *err) {
        size_t n;

        if (!err || s->foreign_line == 0 || strstr(err->message, PARSER_LIMIT))
                return;
        n = strlen(err->message);
        snprintf(err->message + n, sizeof err->message - n, "; if nginx -t accepts the file, the \"%s\" block "
                 "(line %u) is read by its module in a way this parser does not know: %s", s->foreign,
                 s->foreign_line, PARSER_LIMIT);
}

/* The upstream that is ours: the one outside `stream {}`; a stream upstream only when the name has no other. */
static int choose(struct scan *s, struct nginx_error *err) {
        const struct candidate *c;

        c = s->cand[CTX_HTTP].found ? &s->cand[CTX_HTTP] : &s->cand[CTX_STREAM];
        if (!c->found)
                return fail(err, -ENOENT, 0, 0, "upstream \"%s\" not found", s->upstream);
        if (c->dup_line != 0)
                return fail(err, -EEXIST, c->dup_line, c->dup_col,
                            "upstream \"%s\" is defined twice (lines %u and %u); remove one",
                            s->upstream, c->line, c->dup_line);
        for (int i = 0; i < SRV_COUNT; i++)
                if (!c->seen[i])
                        return fail(err, -ENOENT, c->line, c->col,
                                    "server \"%s\" not found in upstream \"%s\" (line %u)",
                                    s->names[i], s->upstream, c->line);
        if (c->too_many)
                return fail(err, -EINVAL, c->line, c->col,
                            "upstream \"%s\" lists its two servers more than %d times: %s", s->upstream,
                            NGINX_MAX_HITS, PARSER_LIMIT);
        s->chosen = c;
        return 0;
}

/* Reads the whole file, so a syntax error anywhere is reported even when the upstream came earlier, then says
 * whether the upstream and both servers are there. */
static int scan_upstream(struct scan *s, const char *in, size_t len, const char *upstream, const char *standby,
                         const char *serving, struct nginx_error *err) {
        struct lexer lx = { .buf = in, .len = len, .line = 1, .col = 1 };
        int r;

        *s = (struct scan) { .buf = in, .upstream = upstream, .names = { standby, serving } };
        do
                r = scan_step(s, &lx, err);
        while (r == 0);
        if (r == -EINVAL)
                hint_foreign(s, err);
        if (r < 0)
                return r;
        return choose(s, err);
}

/* ---- the edit ------------------------------------------------------------------------------------------- */

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

/* What one listing's edit does: the parameters it drops, and the one it adds (NULL: none). DOWN_SUFFIX goes
 * right before ';' (where nginx_rewrite_upstream has always put it); BACKUP_SUFFIX right after the last word that
 * stays, so that dropping it again (cut_range: the word and the blank before it) takes back exactly those bytes. */
struct edit {
        bool drop_backup, drop_down;
        const char *add;
        bool add_before_semi;
};

static struct edit edit_for(const struct server_hit *h, enum nginx_standby mode) {
        if (h->which == SRV_SERVING)
                return (struct edit) { .drop_backup = true, .drop_down = true };
        if (mode == NGINX_STANDBY_DOWN)
                return (struct edit) { .drop_backup = true, .add = h->down ? NULL : DOWN_SUFFIX,
                                       .add_before_semi = true };
        return (struct edit) { .drop_down = true, .add = h->backup ? NULL : BACKUP_SUFFIX };
}

/* Whether the edit drops this word (a parameter: the directive's third word or later). */
static bool edit_drops(const char *in, const struct token *t, size_t ntok, const struct edit *e) {
        return ntok >= 2 && ((e->drop_backup && tok_is(in, t, "backup")) || (e->drop_down && tok_is(in, t, "down")));
}

/* Where the directive's last word that the edit keeps ends (the address at least). */
static size_t last_kept_end(const char *in, size_t len, const struct server_hit *h, const struct edit *e) {
        struct lexer lx = { .buf = in, .len = len, .pos = h->start, .line = h->line, .col = h->col };
        size_t ntok = 0, end = h->start;
        struct token t;

        while (lex_next(&lx, &t, NULL) == 0 && t.kind == TOK_WORD)
                if (!edit_drops(in, &t, ntok++, e))
                        end = t.end;
        return end;
}

/* Copies input up to `at`, then the added parameter; the input from `at` on is still to be copied. */
static void out_add(struct out *o, const char *in, size_t *cursor, size_t at, const char *add) {
        out_put(o, in + *cursor, at - *cursor);
        out_put(o, add, strlen(add));
        *cursor = at;
}

/* Copies input up to and through one server directive's edit: each dropped parameter goes with its blank, the
 * added one goes in its place. *cursor = first input byte not yet copied. */
static int emit_server(struct out *o, const char *in, size_t len, size_t *cursor, const struct server_hit *h,
                       const struct edit *e) {
        struct lexer lx = { .buf = in, .len = len, .pos = h->start, .line = h->line, .col = h->col };
        size_t prev_end = h->start, ntok = 0;
        size_t add_at = e->add && !e->add_before_semi ? last_kept_end(in, len, h, e) : (size_t) -1;
        struct token t;

        for (;;) {
                if (lex_next(&lx, &t, NULL) < 0 || t.kind != TOK_WORD)
                        break;
                if (edit_drops(in, &t, ntok++, e)) {
                        size_t from, to;

                        cut_range(in, len, prev_end, t.start, t.end, &from, &to);
                        /* The previous cut may already have taken the blanks before this word (it went with the
                         * blanks after it, past a comment): never copy backwards. */
                        if (from < *cursor)
                                from = *cursor;
                        out_put(o, in + *cursor, from - *cursor);
                        *cursor = to;
                } else if (t.end == add_at)
                        out_add(o, in, cursor, add_at, e->add);
                prev_end = t.end;
        }
        if (t.kind != TOK_SEMI) /* the scan accepted this directive, so this is a bug, not bad input */
                return -EINVAL;
        if (e->add && e->add_before_semi)
                out_add(o, in, cursor, t.start, e->add);
        return 0;
}

/* Applies every listing's edit in file order into buf (room for len + MAX_SUFFIX per hit); *ret_n = bytes
 * written. However often an address is listed, every listing gets the same role. */
static int apply_edits(const struct candidate *c, enum nginx_standby mode, const char *in, size_t len, char *buf,
                       size_t *ret_n) {
        struct out o = { .buf = buf };
        size_t cursor = 0;

        for (size_t k = 0; k < c->nhits; k++) {
                struct edit e = edit_for(&c->hit[k], mode);
                int r = emit_server(&o, in, len, &cursor, &c->hit[k], &e);

                if (r < 0)
                        return r;
        }
        out_put(&o, in + cursor, len - cursor);
        *ret_n = o.len;
        return 0;
}

static bool hit_in_role(const struct server_hit *h, enum nginx_standby mode) {
        if (h->which == SRV_SERVING)
                return !h->backup && !h->down;
        return mode == NGINX_STANDBY_DOWN ? h->down && !h->backup : h->backup && !h->down;
}

static bool reads_as_set(const struct candidate *before, const struct candidate *after, enum nginx_standby mode) {
        if (after->nhits != before->nhits)
                return false;
        for (size_t k = 0; k < after->nhits; k++)
                if (after->hit[k].which != before->hit[k].which || !hit_in_role(&after->hit[k], mode))
                        return false;
        return true;
}

/* The output must read back as already in the roles asked for: that is what makes the rewrite idempotent. The
 * edit rules are meant to guarantee it; should an input we did not foresee defeat them, refuse rather than hand
 * back a config that says something other than intended. */
static int verify(const struct scan *before, enum nginx_standby mode, const char *out, size_t n,
                  struct nginx_error *err) {
        struct scan after;

        if (scan_upstream(&after, out, n, before->upstream, before->names[SRV_STANDBY], before->names[SRV_SERVING],
                          NULL) == 0 && reads_as_set(before->chosen, after.chosen, mode))
                return 0;
        return fail(err, -EINVAL, before->chosen->line, before->chosen->col,
                    "upstream \"%s\": the server lines are written in a way this rewrite cannot edit safely; "
                    "switch them by hand (%s)", before->upstream, PARSER_LIMIT);
}

/* The message names the standby role "active", as the failover's callers always have (it is the active that
 * goes down), and the serving role "standby". */
static int check_args(const char *in, size_t len, const char *upstream, const char *standby,
                      const char *serving, struct nginx_error *err) {
        if (err)
                memset(err, 0, sizeof(*err));
        if ((!in && len > 0) || !upstream || !*upstream || !standby || !*standby || !serving || !*serving)
                return fail(err, -EINVAL, 0, 0, "upstream, active and standby server must be given");
        if (strcmp(standby, serving) == 0)
                return fail(err, -EINVAL, 0, 0, "active and standby are the same server \"%s\"", standby);
        if (len > NGINX_MAX_INPUT)
                return fail(err, -EFBIG, 0, 0, "config is %zu bytes, more than the %zu MiB accepted: %s",
                            len, NGINX_MAX_INPUT >> 20, PARSER_LIMIT);
        return 0;
}

int nginx_set_roles(const char *in, size_t len, const char *upstream, const char *serving_server,
                    const char *standby_server, enum nginx_standby standby_mode, char **ret_out, size_t *ret_len,
                    struct nginx_error *err) {
        struct scan s;
        char *buf;
        size_t n = 0;
        int r;

        r = check_args(in, len, upstream, standby_server, serving_server, err);
        if (r < 0)
                return r;
        if (!ret_out || !ret_len)
                return fail(err, -EINVAL, 0, 0, "no place to return the rewritten config");
        if (standby_mode != NGINX_STANDBY_DOWN && standby_mode != NGINX_STANDBY_BACKUP)
                return fail(err, -EINVAL, 0, 0, "unknown standby mode %d", (int) standby_mode);
        r = scan_upstream(&s, in, len, upstream, standby_server, serving_server, err);
        if (r < 0)
                return r;
        buf = malloc(len + s.chosen->nhits * MAX_SUFFIX + 1); /* nothing else grows */
        if (!buf)
                return fail(err, -ENOMEM, 0, 0, "out of memory for a %zu byte config", len);
        r = apply_edits(s.chosen, standby_mode, in, len, buf, &n);
        if (r < 0)
                r = fail(err, r, s.chosen->line, s.chosen->col, "internal error editing upstream \"%s\"", upstream);
        else
                r = verify(&s, standby_mode, buf, n, err);
        if (r < 0) {
                free(buf);
                return r;
        }
        buf[n] = '\0';
        *ret_out = buf;
        *ret_len = n;
        return 0;
}

int nginx_rewrite_upstream(const char *in, size_t len, const char *upstream, const char *active_server,
                           const char *standby_server, char **ret_out, size_t *ret_len, struct nginx_error *err) {
        return nginx_set_roles(in, len, upstream, standby_server, active_server, NGINX_STANDBY_DOWN, ret_out, ret_len,
                               err);
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
