/* nginx: owns the upstream rewrite — a pure function from the bytes of an nginx config file to new bytes.
 * No I/O, no globals, no allocation it does not hand back. Parses nginx syntax (comments, quoted strings,
 * nested blocks, several upstreams); never uses line regexes. The body of a `*_by_lua_block { ... }` (and
 * `set_by_lua_block $v { ... }`) is read the way the Lua module reads it — Lua strings '…' "…" with escapes, long
 * brackets [[…]] [==[…]==], comments -- and --[[…]], nested braces — and never edited. */
#pragma once

#include <stddef.h>

/* Why a rewrite failed and where (1-based line/col in the nginx input; 0/0 when not tied to a place). The message
 * does not repeat the position; callers print "FILE:LINE:COL: message". May be NULL. */
struct nginx_error {
        unsigned line;
        unsigned col;
        char message[384];
};

/* What the standby's listings become. DOWN: the failover shape — the dead server stays listed so the operator
 * sees it, and takes no traffic. BACKUP: the runbook's normal shape after a planned switchover or a rejoin — the old
 * serving server is the new one's `backup`. */
enum nginx_standby { NGINX_STANDBY_DOWN, NGINX_STANDBY_BACKUP };

/* Which upstream: the one named <upstream> outside any `stream {}` block (an http upstream; a stream upstream of
 * the same name beside it is legal and left alone); a `stream {}` one only when the name has no other.
 * In the block `upstream <upstream> { ... }` of `in`:
 *  - every `server <serving_server> ...;` listing loses its `backup` and `down` parameters (it serves; a `down`
 *    left by an earlier failover must not leave every server down),
 *  - every `server <standby_server> ...;` listing, with NGINX_STANDBY_DOWN, gains ` down` right before its ';'
 *    (when absent) and loses `backup` (a down server is never a backup); with NGINX_STANDBY_BACKUP, gains ` backup`
 *    right after its last remaining word (when absent) and loses `down`. Placing `backup` there makes a removal
 *    take back exactly the bytes the addition put in: switching a->b and back b->a returns the original file
 *    whenever the original's standby listing had one `backup` right after its last word (`server b backup;`,
 *    the runbook's shape); other shapes settle after one round trip and never drift (no blank accumulates).
 * An address listed more than once (legal in nginx) gets the same edit on every listing.
 * Every other byte of the input is preserved exactly. Server addresses compare as exact tokens.
 * Idempotent: rewriting a file already in that state returns identical bytes. The output is read back before it
 * is returned; should it not read as that state, the call refuses (-EINVAL, "a limit of blfailoverd's nginx
 * parser"). nginx refuses `backup` with some balancing methods (hash, ip_hash, random): `nginx -t` says so.
 * Returns 0 and a malloc'd *ret_out (NUL-terminated, *ret_len bytes without the NUL), or:
 *   -ENOENT  upstream block not found, or one of the two servers not in it (err says which)
 *   -EINVAL  syntax error (unterminated string/block, unexpected '}'), err has line:col; or input nginx may accept
 *            but this parser cannot read (nesting over 256, an address listed over 32 times, a module's block read
 *            by its own rules): then the message says it is "a limit of blfailoverd's nginx parser"; or a bad
 *            argument (serving and standby the same, a name missing, an unknown standby_mode)
 *   -EEXIST  the upstream is defined twice in the same context (nginx refuses that too)
 *   -EFBIG   input over 16 MiB (a limit of the parser, said so)
 *   -ENOMEM
 * ret_* are written only on success. */
int nginx_set_roles(const char *in, size_t len, const char *upstream, const char *serving_server,
                    const char *standby_server, enum nginx_standby standby_mode, char **ret_out, size_t *ret_len,
                    struct nginx_error *err);

/* The failover rewrite: nginx_set_roles(in, len, upstream, standby_server, active_server, NGINX_STANDBY_DOWN, ...)
 * — the standby serves, the active is marked `down`. Same returns. */
int nginx_rewrite_upstream(const char *in, size_t len, const char *upstream, const char *active_server,
                           const char *standby_server, char **ret_out, size_t *ret_len, struct nginx_error *err);

/* Checks that `in` has the upstream block with both servers, exactly as nginx_rewrite_upstream (and
 * nginx_set_roles, in either mode) would need. Same return codes; writes nothing but err. */
int nginx_check_upstream(const char *in, size_t len, const char *upstream, const char *active_server,
                         const char *standby_server, struct nginx_error *err);

