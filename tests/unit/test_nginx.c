/* Unit tests for nginx: the upstream rewrite on real-looking configs, its errors with line:col, idempotence. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nginx.h"

#define UPSTREAM "blacklake_backend"
#define ACTIVE   "active_api:8080"
#define STANDBY  "standby_api:8080"

/* The server block that follows the upstream in the operators' file: must come out untouched. */
#define RUNBOOK_REST                                    \
        "\n"                                            \
        "server {\n"                                    \
        "    listen 80;\n"                              \
        "    server_name blacklake.example.com;\n"      \
        "    location / {\n"                            \
        "        proxy_pass http://blacklake_backend;\n" \
        "    }\n"                                       \
        "}\n"

#define RUNBOOK_BLOCK                                                   \
        "upstream blacklake_backend {\n"                                \
        "    server active_api:8080 max_fails=3 fail_timeout=30s;\n"    \
        "    server standby_api:8080 backup;\n"                         \
        "}\n"

#define RUNBOOK_BLOCK_SWITCHED                                          \
        "upstream blacklake_backend {\n"                                \
        "    server active_api:8080 max_fails=3 fail_timeout=30s down;\n" \
        "    server standby_api:8080;\n"                                \
        "}\n"

#define RUNBOOK          RUNBOOK_BLOCK RUNBOOK_REST
#define RUNBOOK_SWITCHED RUNBOOK_BLOCK_SWITCHED RUNBOOK_REST

struct rewrite_case {
        const char *name;
        const char *in;
        const char *upstream, *active, *standby; /* NULL: the runbook's names */
        int rc;
        const char *out;     /* rc == 0: the exact expected bytes */
        unsigned line, col;  /* rc < 0: where err must point */
        const char *message; /* rc < 0: the exact message */
};

static int rewrite(const struct rewrite_case *c, const char *in, size_t len, char **out, size_t *out_len,
                   struct nginx_error *err) {
        return nginx_rewrite_upstream(in, len, c->upstream ? c->upstream : UPSTREAM, c->active ? c->active : ACTIVE,
                                      c->standby ? c->standby : STANDBY, out, out_len, err);
}

static int check(const struct rewrite_case *c, const char *in, size_t len, struct nginx_error *err) {
        return nginx_check_upstream(in, len, c->upstream ? c->upstream : UPSTREAM, c->active ? c->active : ACTIVE,
                                    c->standby ? c->standby : STANDBY, err);
}

static void assert_success(const struct rewrite_case *c, char *out, size_t out_len) {
        struct nginx_error err;
        char *again = NULL;
        size_t again_len = 0;

        assert_non_null(out);
        assert_int_equal(out[out_len], '\0');
        assert_string_equal(out, c->out);
        assert_int_equal(out_len, strlen(c->out));
        /* idempotent: a second rewrite of the output changes nothing */
        assert_int_equal(rewrite(c, out, out_len, &again, &again_len, &err), 0);
        assert_int_equal(again_len, out_len);
        assert_memory_equal(again, out, out_len);
        free(again);
        assert_int_equal(check(c, c->in, strlen(c->in), &err), 0);
        assert_int_equal(check(c, out, out_len, &err), 0);
}

/* A failure names its place, leaves ret_* alone, and check_upstream gives the very same verdict. */
static void assert_failure(const struct rewrite_case *c, int r, const struct nginx_error *err, char *out,
                           size_t out_len) {
        struct nginx_error cerr;

        assert_int_equal(r, c->rc);
        assert_string_equal(err->message, c->message);
        assert_int_equal(err->line, c->line);
        assert_int_equal(err->col, c->col);
        assert_ptr_equal(out, (char *) 0x1);
        assert_int_equal(out_len, 4242);
        assert_int_equal(check(c, c->in, strlen(c->in), &cerr), c->rc);
        assert_string_equal(cerr.message, c->message);
        assert_int_equal(cerr.line, c->line);
        assert_int_equal(cerr.col, c->col);
}

/* nginx_rewrite_upstream is nginx_set_roles' DOWN form, the standby serving: the very same verdict and bytes. */
static void assert_down_form_agrees(const struct rewrite_case *c, int r, const char *out, size_t out_len,
                                    const struct nginx_error *err) {
        struct nginx_error derr;
        char *down = (char *) 0x1;
        size_t down_len = 4242;

        assert_int_equal(nginx_set_roles(c->in, strlen(c->in), c->upstream ? c->upstream : UPSTREAM,
                                         c->standby ? c->standby : STANDBY, c->active ? c->active : ACTIVE,
                                         NGINX_STANDBY_DOWN, &down, &down_len, &derr), r);
        assert_string_equal(derr.message, err->message);
        assert_int_equal(derr.line, err->line);
        assert_int_equal(derr.col, err->col);
        if (r < 0) {
                assert_ptr_equal(down, (char *) 0x1);
                return;
        }
        assert_int_equal(down_len, out_len);
        assert_memory_equal(down, out, out_len);
        free(down);
}

static void run_case(void **state) {
        const struct rewrite_case *c = *state;
        struct nginx_error err;
        char *out = (char *) 0x1; /* sentinels: must survive a failure untouched */
        size_t out_len = 4242;
        int r;

        r = rewrite(c, c->in, strlen(c->in), &out, &out_len, &err);
        assert_down_form_agrees(c, r, out, out_len, &err);
        if (c->rc == 0) {
                assert_int_equal(r, 0);
                assert_string_equal(err.message, "");
                assert_success(c, out, out_len);
                free(out);
        } else
                assert_failure(c, r, &err, out, out_len);
}

/* ------------------------------------------------------------------ rewrites that succeed */

static struct rewrite_case runbook = {
        .name = "nginx__runbook_block__switches_to_standby",
        .in = RUNBOOK,
        .out = RUNBOOK_SWITCHED,
};

static struct rewrite_case already_switched = {
        .name = "nginx__already_switched__output_is_identical",
        .in = RUNBOOK_SWITCHED,
        .out = RUNBOOK_SWITCHED,
};

static struct rewrite_case comments = {
        .name = "nginx__comments_with_servers_and_braces__are_left_alone",
        .in = "# upstream blacklake_backend { server active_api:8080; }\n"
              "upstream blacklake_backend { # the } here is only a comment\n"
              "    # server active_api:8080;\n"
              "    server active_api:8080 max_fails=3; # primary }\n"
              "    #server standby_api:8080 backup;\n"
              "    server standby_api:8080 backup; # takes over }\n"
              "}\n"
              "# trailing comment without newline }",
        .out = "# upstream blacklake_backend { server active_api:8080; }\n"
               "upstream blacklake_backend { # the } here is only a comment\n"
               "    # server active_api:8080;\n"
               "    server active_api:8080 max_fails=3 down; # primary }\n"
               "    #server standby_api:8080 backup;\n"
               "    server standby_api:8080; # takes over }\n"
               "}\n"
               "# trailing comment without newline }",
};

static struct rewrite_case quoted = {
        .name = "nginx__quoted_names_and_strings__match_and_survive",
        .in = "server {\n"
              "    location / { return 200 \"upstream blacklake_backend { server x; }\"; }\n"
              "    add_header X-Note 'it\\'s } here; \"really\"';\n"
              "}\n"
              "upstream \"blacklake_backend\" {\n"
              "    server 'active_api:8080' weight=2;\n"
              "    server \"standby_api:8080\" \"backup\";\n"
              "}\n",
        .out = "server {\n"
               "    location / { return 200 \"upstream blacklake_backend { server x; }\"; }\n"
               "    add_header X-Note 'it\\'s } here; \"really\"';\n"
               "}\n"
               "upstream \"blacklake_backend\" {\n"
               "    server 'active_api:8080' weight=2 down;\n"
               "    server \"standby_api:8080\";\n"
               "}\n",
};

static struct rewrite_case weights = {
        .name = "nginx__weights_and_timeouts__stay_byte_for_byte",
        .in = "upstream blacklake_backend {\n"
              "\tzone blacklake 64k;\n"
              "\tserver active_api:8080  weight=5 max_fails=3 fail_timeout=30s;\n"
              "\tserver standby_api:8080 weight=5 backup max_fails=3 fail_timeout=30s;\n"
              "\tkeepalive 16;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "\tzone blacklake 64k;\n"
               "\tserver active_api:8080  weight=5 max_fails=3 fail_timeout=30s down;\n"
               "\tserver standby_api:8080 weight=5 max_fails=3 fail_timeout=30s;\n"
               "\tkeepalive 16;\n"
               "}\n",
};

#define OTHER_UPSTREAM(name)                            \
        "upstream " name " {\n"                         \
        "    server active_api:8080;\n"                 \
        "    server standby_api:8080 backup;\n"         \
        "}\n"

static struct rewrite_case several = {
        .name = "nginx__several_upstreams__only_the_named_one_changes",
        .in = OTHER_UPSTREAM("blacklake_backend_v1") RUNBOOK_BLOCK OTHER_UPSTREAM("blacklake") RUNBOOK_REST,
        .out = OTHER_UPSTREAM("blacklake_backend_v1") RUNBOOK_BLOCK_SWITCHED OTHER_UPSTREAM("blacklake") RUNBOOK_REST,
};

static struct rewrite_case already_down = {
        .name = "nginx__active_already_down__down_not_added_twice",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080 down max_fails=3;\n"
              "    server standby_api:8080 backup;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 down max_fails=3;\n"
               "    server standby_api:8080;\n"
               "}\n",
};

static struct rewrite_case active_backup = {
        .name = "nginx__active_is_backup__loses_backup_gains_down",
        .in = "upstream blacklake_backend {\n"
              "    server standby_api:8080;\n"
              "    server active_api:8080 backup max_fails=2;\n"
              "    server third_api:8080 backup;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server standby_api:8080;\n"
               "    server active_api:8080 max_fails=2 down;\n"
               "    server third_api:8080 backup;\n"
               "}\n",
};

/* Both edits, standby first in the file: the output is assembled in file order, not in argument order. */
static struct rewrite_case standby_first = {
        .name = "nginx__standby_listed_before_active__both_edited",
        .in = "upstream blacklake_backend {\n"
              "    server standby_api:8080 backup;\n"
              "    server active_api:8080 max_fails=1;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server standby_api:8080;\n"
               "    server active_api:8080 max_fails=1 down;\n"
               "}\n",
};

static struct rewrite_case crlf = {
        .name = "nginx__crlf_line_endings__are_kept",
        .in = "upstream blacklake_backend {\r\n"
              "    server active_api:8080 max_fails=3;\r\n"
              "    server standby_api:8080 backup;\r\n"
              "}\r\n",
        .out = "upstream blacklake_backend {\r\n"
               "    server active_api:8080 max_fails=3 down;\r\n"
               "    server standby_api:8080;\r\n"
               "}\r\n",
};

/* A map body is `key value;` — `server active_api:8080;` there is a map entry, not an upstream server. */
#define HTTP_HEAD                                               \
        "worker_processes 1;\n"                                 \
        "events { worker_connections 64; }\n"                   \
        "http {\n"                                              \
        "    map $host $pool {\n"                               \
        "        server active_api:8080;\n"                     \
        "        default standby_api:8080;\n"                   \
        "    }\n"
#define HTTP_TAIL                                               \
        "    server {\n"                                        \
        "        listen 80;\n"                                  \
        "        server_name active_api:8080;\n"                \
        "        location / {\n"                                \
        "            set $u \"x\";\n"                           \
        "            rewrite ^/x\\{2\\}$ /y last;\n"             \
        "            proxy_pass http://blacklake_backend;\n"    \
        "            add_header X-U ${u}#not-a-comment;\n"      \
        "        }\n"                                           \
        "    }\n"                                               \
        "}\n"

static struct rewrite_case nested_http = {
        .name = "nginx__upstream_inside_http__server_blocks_and_maps_not_confused",
        .in = HTTP_HEAD
              "    upstream blacklake_backend {\n"
              "        server active_api:8080;\n"
              "        server standby_api:8080 backup;\n"
              "    }\n"
              HTTP_TAIL,
        .out = HTTP_HEAD
               "    upstream blacklake_backend {\n"
               "        server active_api:8080 down;\n"
               "        server standby_api:8080;\n"
               "    }\n"
               HTTP_TAIL,
};

static struct rewrite_case multiline = {
        .name = "nginx__directive_over_several_lines__edited_in_place",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080\n"
              "        max_fails=3 # see runbook\n"
              "        ;\n"
              "    server standby_api:8080\n"
              "        backup\n"
              "        weight=2;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080\n"
               "        max_fails=3 # see runbook\n"
               "         down;\n"
               "    server standby_api:8080\n"
               "        weight=2;\n"
               "}\n",
};

/* The comment must not swallow what followed `backup`: the newline after it stays, so does the indentation. */
static struct rewrite_case comment_before_backup = {
        .name = "nginx__comment_before_backup__comment_kept_semicolon_not_swallowed",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 # promoted on failover\n"
              "        backup;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 down;\n"
               "    server standby_api:8080 # promoted on failover\n"
               "        ;\n"
               "}\n",
};

static struct rewrite_case near_addresses = {
        .name = "nginx__addresses_compared_as_whole_tokens__prefixes_do_not_match",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:80801 backup;\n"
              "    server active_api:8080;\n"
              "    server xstandby_api:8080 backup;\n"
              "    server standby_api:8080 backup backup;\n"
              "    server standby_api:8081 backup;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server active_api:80801 backup;\n"
               "    server active_api:8080 down;\n"
               "    server xstandby_api:8080 backup;\n"
               "    server standby_api:8080;\n"
               "    server standby_api:8081 backup;\n"
               "}\n",
};

/* The header says the standby only loses `backup`: a `down` left from an earlier failover stays. */
static struct rewrite_case standby_down = {
        .name = "nginx__standby_marked_down__down_dropped_so_failback_serves",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 backup down;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 down;\n"
               "    server standby_api:8080;\n"
               "}\n",
};

/* nginx ends a quoted word at `)` without a blank; dropping the blank too would glue `)` onto the address. */
static struct rewrite_case quoted_backup_paren = {
        .name = "nginx__quoted_backup_before_paren__address_not_glued",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 \"backup\");\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 down;\n"
               "    server standby_api:8080 );\n"
               "}\n",
};

/* nginx allows no block inside an upstream; should one appear, what is in it is not a server of the upstream. */
static struct rewrite_case block_in_upstream = {
        .name = "nginx__block_nested_in_upstream__its_directives_are_not_servers",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 backup;\n"
              "    check { server active_api:8080 backup; }\n"
              "    resolver_hint standby_api:8080 backup;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 down;\n"
               "    server standby_api:8080;\n"
               "    check { server active_api:8080 backup; }\n"
               "    resolver_hint standby_api:8080 backup;\n"
               "}\n",
};

/* Names compare after nginx's unescaping: 'black\'lake' is the upstream black'lake. */
static struct rewrite_case escaped_name = {
        .name = "nginx__escaped_quote_in_name__compared_after_unescaping",
        .in = "upstream 'black\\'lake' {\n"
              "    server \"active\\\\api\";\n"
              "    server standby_api:8080 backup;\n"
              "}\n",
        .upstream = "black'lake",
        .active = "active\\api",
        .out = "upstream 'black\\'lake' {\n"
               "    server \"active\\\\api\" down;\n"
               "    server standby_api:8080;\n"
               "}\n",
};

/* ------------------------------------------------------------------ lookups that fail */

/* nginx's upstream takes exactly one name; a block with two is not ours (nginx would refuse it anyway). */
static struct rewrite_case two_names = {
        .name = "nginx__upstream_with_two_names__is_not_the_upstream",
        .in = "upstream blacklake_backend standby {\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 backup;\n"
              "}\n",
        .rc = -ENOENT,
        .message = "upstream \"blacklake_backend\" not found",
};


static struct rewrite_case missing_upstream = {
        .name = "nginx__missing_upstream__enoent",
        .in = RUNBOOK,
        .upstream = "blacklake",
        .rc = -ENOENT,
        .message = "upstream \"blacklake\" not found",
};

static struct rewrite_case upstream_without_block = {
        .name = "nginx__upstream_word_without_block__enoent",
        .in = "upstream blacklake_backend;\n"
              "proxy_pass http://blacklake_backend;\n",
        .rc = -ENOENT,
        .message = "upstream \"blacklake_backend\" not found",
};

static struct rewrite_case empty = {
        .name = "nginx__empty_file__enoent",
        .in = "",
        .rc = -ENOENT,
        .message = "upstream \"blacklake_backend\" not found",
};

static struct rewrite_case missing_active = {
        .name = "nginx__missing_active_server__enoent_with_line",
        .in = "\n\n" RUNBOOK,
        .active = "active_api:8081",
        .rc = -ENOENT,
        .line = 3,
        .col = 1,
        .message = "server \"active_api:8081\" not found in upstream \"blacklake_backend\" (line 3)",
};

static struct rewrite_case server_only_elsewhere = {
        .name = "nginx__standby_only_in_other_upstream_or_comment__enoent",
        .in = OTHER_UPSTREAM("blacklake_backend_v1")
              "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    # server standby_api:8080 backup;\n"
              "}\n",
        .rc = -ENOENT,
        .line = 5,
        .col = 1,
        .message = "server \"standby_api:8080\" not found in upstream \"blacklake_backend\" (line 5)",
};

/* The same name in http{} and stream{} is legal nginx: the http one is ours, the stream one is left alone. */
static struct rewrite_case http_and_stream = {
        .name = "nginx__same_upstream_in_http_and_stream__http_one_switched",
        .in = "stream {\n  upstream blacklake_backend { server active_api:8080; server standby_api:8080 backup; }\n}\n"
              "http {\n" RUNBOOK_BLOCK "}\n",
        .out = "stream {\n  upstream blacklake_backend { server active_api:8080; server standby_api:8080 backup; }\n}\n"
               "http {\n" RUNBOOK_BLOCK_SWITCHED "}\n",
};

static struct rewrite_case stream_only = {
        .name = "nginx__upstream_only_in_stream__that_one_switched",
        .in = "stream {\n  upstream blacklake_backend { server active_api:8080; server standby_api:8080 backup; }\n}\n",
        .out = "stream {\n  upstream blacklake_backend { server active_api:8080 down; server standby_api:8080; }\n}\n",
};

static struct rewrite_case duplicate_upstream = {
        .name = "nginx__upstream_defined_twice_in_http__eexist",
        .in = "http {\n" RUNBOOK_BLOCK "  upstream \"blacklake_backend\" { server a:1; }\n}\n"
              "stream {\n  upstream blacklake_backend { server a:1; }\n}\n",
        .rc = -EEXIST,
        .line = 6,
        .col = 3,
        .message = "upstream \"blacklake_backend\" is defined twice (lines 2 and 6); remove one",
};

/* nginx allows an address twice in one upstream: every listing gets the same edit, so no listing of the failed
 * active keeps receiving traffic and no listing of the standby stays a backup. */
static struct rewrite_case duplicate_server = {
        .name = "nginx__server_listed_twice__every_listing_switched",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 backup;\n"
              "    server 'active_api:8080' weight=2 backup;\n"
              "    server standby_api:8080 backup down;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 down;\n"
               "    server standby_api:8080;\n"
               "    server 'active_api:8080' weight=2 down;\n"
               "    server standby_api:8080;\n"
               "}\n",
};

static struct rewrite_case same_server = {
        .name = "nginx__active_equals_standby__einval",
        .in = RUNBOOK,
        .standby = ACTIVE,
        .rc = -EINVAL,
        .message = "active and standby are the same server \"active_api:8080\"",
};

/* ------------------------------------------------------------------ syntax errors, with line:col */

static struct rewrite_case unterminated_quote = {
        .name = "nginx__unterminated_quote__einval_at_the_quote",
        .in = "upstream blacklake_backend {\n"
              "    server \"active_api:8080;\n"
              "    server standby_api:8080 backup;\n"
              "}\n",
        .rc = -EINVAL,
        .line = 2,
        .col = 12,
        .message = "unterminated string: the double quote opened here is never closed",
};

static struct rewrite_case unterminated_block = {
        .name = "nginx__unterminated_block__einval_at_its_brace",
        .in = "http {\n" RUNBOOK_BLOCK "\n# } <- only a comment\n",
        .rc = -EINVAL,
        .line = 1,
        .col = 6,
        .message = "the block opened here is never closed (missing \"}\" at end of file)",
};

static struct rewrite_case unexpected_close = {
        .name = "nginx__unexpected_close_brace__einval_at_it",
        .in = RUNBOOK_BLOCK "  }\n",
        .rc = -EINVAL,
        .line = 5,
        .col = 3,
        .message = "unexpected \"}\" with no block open",
};

static struct rewrite_case missing_semicolon = {
        .name = "nginx__directive_without_semicolon_before_brace__einval_at_brace",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 backup\n"
              "}\n",
        .rc = -EINVAL,
        .line = 4,
        .col = 1,
        .message = "unexpected \"}\": the directive at line 3 col 5 is missing its \";\"",
};

static struct rewrite_case missing_semicolon_eof = {
        .name = "nginx__directive_without_semicolon_at_eof__einval_at_directive",
        .in = RUNBOOK "worker_processes 2",
        .rc = -EINVAL,
        .line = 13,
        .col = 1,
        .message = "the directive here is missing its \";\" (end of file reached)",
};

static struct rewrite_case glued_quote = {
        .name = "nginx__word_glued_to_closing_quote__einval_at_the_word",
        .in = "upstream blacklake_backend {\n"
              "    server \"active_api:8080\"weight=1;\n"
              "}\n",
        .rc = -EINVAL,
        .line = 2,
        .col = 29,
        .message = "unexpected \"w\" right after a quoted string; add a space",
};

static struct rewrite_case lone_semicolon = {
        .name = "nginx__semicolon_without_directive__einval",
        .in = "worker_processes 1;;\n" RUNBOOK,
        .rc = -EINVAL,
        .line = 1,
        .col = 20,
        .message = "unexpected \";\" with no directive before it",
};

static struct rewrite_case anonymous_block = {
        .name = "nginx__block_without_name__einval",
        .in = RUNBOOK "\n\t{ }\n",
        .rc = -EINVAL,
        .line = 14,
        .col = 2,
        .message = "unexpected \"{\" with no block name before it",
};

/* A syntax error after the upstream still fails the whole file: nginx would refuse to load it. */
static struct rewrite_case error_after_upstream = {
        .name = "nginx__syntax_error_after_upstream__still_einval",
        .in = RUNBOOK "location / { return 200 'oops; }\n",
        .rc = -EINVAL,
        .line = 13,
        .col = 25,
        .message = "unterminated string: the single quote opened here is never closed",
};

/* Found by fuzz_nginx: after a comment the first `backup` goes with the blanks after it, and the second one then
 * reached back over those same blanks — a copy of negative length (a crash), not just a wrong byte. */
static struct rewrite_case comment_then_two_backups = {
        .name = "nginx__comment_then_two_backups__both_dropped",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 # the standby\n"
              "        backup backup;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 down;\n"
               "    server standby_api:8080 # the standby\n"
               "        ;\n"
               "}\n",
};

static struct rewrite_case comment_then_two_backups_minimal = {
        .name = "nginx__comment_then_two_backups_fuzzer_input__both_dropped",
        .in = "upstream blacklake_backend{server active_api:8080;server standby_api:8080 #\nbackup backup;}",
        .out = "upstream blacklake_backend{server active_api:8080 down;server standby_api:8080 #\n;}",
};

/* ------------------------------------------------------------------ include lines: never followed */

/* An include is one more directive: outside the upstream it stays byte for byte, inside it stays too (only the two
 * server directives are edited), and servers that live only in an included file are not found (we do not follow
 * includes: the rewrite would have to edit another file). */
static struct rewrite_case include_outside = {
        .name = "nginx__include_outside_upstream__left_as_is",
        .in = "include /etc/nginx/conf.d/*.conf;\n" RUNBOOK "include \"snippets/x y.conf\";\n",
        .out = "include /etc/nginx/conf.d/*.conf;\n" RUNBOOK_SWITCHED "include \"snippets/x y.conf\";\n",
};

static struct rewrite_case include_inside = {
        .name = "nginx__include_inside_upstream__left_as_is",
        .in = "upstream blacklake_backend {\n"
              "    include /etc/nginx/upstream-common.conf;\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 backup;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    include /etc/nginx/upstream-common.conf;\n"
               "    server active_api:8080 down;\n"
               "    server standby_api:8080;\n"
               "}\n",
};

static struct rewrite_case servers_in_include = {
        .name = "nginx__servers_only_in_included_file__enoent_at_upstream",
        .in = "http {\n  upstream blacklake_backend {\n    include /etc/nginx/servers.conf;\n  }\n}\n",
        .rc = -ENOENT,
        .line = 2,
        .col = 3,
        .message = "server \"active_api:8080\" not found in upstream \"blacklake_backend\" (line 2)",
};

static struct rewrite_case include_unterminated = {
        .name = "nginx__include_with_unterminated_string__einval_at_the_quote",
        .in = "include \"/etc/nginx/conf.d/*.conf;\n" RUNBOOK,
        .rc = -EINVAL,
        .line = 1,
        .col = 9,
        .message = "unterminated string: the double quote opened here is never closed",
};

/* ------------------------------------------------------------------ hand-written tests */

/* Every byte before the upstream and after its closing brace is the input's, even amid look-alike text. */
static void nginx__bytes_outside_block__identical(void **state) {
        static const char prologue[] = "# blacklake edge, managed by blfailoverd\r\n"
                                       "upstream legacy { server active_api:8080; server standby_api:8080 backup; }\n"
                                       "map $x $y { server active_api:8080; }\n\t\n";
        static const char epilogue[] = "\n  server { listen 81; server_name \"}\"; } # }\n" RUNBOOK_REST;
        const size_t pre = strlen(prologue), block = strlen(RUNBOOK_BLOCK_SWITCHED), post = strlen(epilogue);
        char in[2048], *out = NULL;
        struct nginx_error err;
        size_t out_len = 0;

        snprintf(in, sizeof(in), "%s%s%s", prologue, RUNBOOK_BLOCK, epilogue);
        assert_int_equal(nginx_rewrite_upstream(in, strlen(in), UPSTREAM, ACTIVE, STANDBY, &out, &out_len, &err), 0);
        assert_int_equal(out_len, pre + block + post);
        assert_memory_equal(out, prologue, pre);
        assert_memory_equal(out + pre, RUNBOOK_BLOCK_SWITCHED, block);
        assert_memory_equal(out + pre + block, epilogue, post);
        free(out);
}

/* Rewrite, then rewrite the output: byte-identical, on every successful case of the table. */
static void nginx__rewrite_twice__equals_rewrite_once(void **state) {
        const struct rewrite_case *cases[] = { &runbook, &comments, &quoted, &crlf, &nested_http, &multiline };
        struct nginx_error err;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *once = NULL, *twice = NULL;
                size_t once_len = 0, twice_len = 0;

                assert_int_equal(rewrite(cases[i], cases[i]->in, strlen(cases[i]->in), &once, &once_len, &err), 0);
                assert_int_equal(rewrite(cases[i], once, once_len, &twice, &twice_len, &err), 0);
                assert_int_equal(once_len, twice_len);
                assert_memory_equal(once, twice, once_len);
                assert_memory_not_equal(once, cases[i]->in, once_len < strlen(cases[i]->in) ?
                                        once_len : strlen(cases[i]->in));
                free(once);
                free(twice);
        }
}

static char *nested(unsigned wrappers) {
        size_t len = wrappers * 8 + sizeof(RUNBOOK_BLOCK);
        char *buf = malloc(len), *p = buf;

        assert_non_null(buf);
        for (unsigned i = 0; i < wrappers; i++)
                p += sprintf(p, "b {\n");
        p += sprintf(p, "%s", RUNBOOK_BLOCK);
        for (unsigned i = 0; i < wrappers; i++)
                p += sprintf(p, "}\n");
        return buf;
}

/* 256 open blocks are accepted, the 257th '{' is refused where it stands. */
static void nginx__nesting_past_cap__einval_at_the_brace(void **state) {
        struct nginx_error err;
        char *in, *out = NULL;
        size_t out_len = 0;

        in = nested(255);
        assert_int_equal(nginx_rewrite_upstream(in, strlen(in), UPSTREAM, ACTIVE, STANDBY, &out, &out_len, &err), 0);
        free(out);
        free(in);

        in = nested(256);
        assert_int_equal(nginx_rewrite_upstream(in, strlen(in), UPSTREAM, ACTIVE, STANDBY, &out, &out_len, &err),
                         -EINVAL);
        assert_string_equal(err.message, "blocks nested deeper than 256: a limit of blfailoverd's nginx parser, not "
                            "an error in the file");
        assert_int_equal(err.line, 257);
        assert_int_equal(err.col, 28);
        assert_int_equal(nginx_check_upstream(in, strlen(in), UPSTREAM, ACTIVE, STANDBY, &err), -EINVAL);
        free(in);
}

static void nginx__input_over_16_mib__efbig(void **state) {
        size_t len = 16 * 1024 * 1024 + 1;
        char *in = malloc(len), *out = (char *) 0x1;
        struct nginx_error err;
        size_t out_len = 4242;

        assert_non_null(in);
        memset(in, ' ', len);
        assert_int_equal(nginx_rewrite_upstream(in, len, UPSTREAM, ACTIVE, STANDBY, &out, &out_len, &err), -EFBIG);
        assert_int_equal(nginx_check_upstream(in, len, UPSTREAM, ACTIVE, STANDBY, &err), -EFBIG);
        assert_ptr_equal(out, (char *) 0x1);
        assert_int_equal(out_len, 4242);
        free(in);
}

static void nginx__missing_arguments__einval(void **state) {
        struct nginx_error err;
        char *out = NULL;
        size_t out_len;

        assert_int_equal(nginx_rewrite_upstream(RUNBOOK, strlen(RUNBOOK), NULL, ACTIVE, STANDBY, &out, &out_len,
                                                &err), -EINVAL);
        assert_int_equal(nginx_rewrite_upstream(RUNBOOK, strlen(RUNBOOK), UPSTREAM, "", STANDBY, &out, &out_len,
                                                &err), -EINVAL);
        assert_int_equal(nginx_rewrite_upstream(NULL, 3, UPSTREAM, ACTIVE, STANDBY, &out, &out_len, &err), -EINVAL);
        assert_int_equal(nginx_rewrite_upstream(RUNBOOK, strlen(RUNBOOK), UPSTREAM, ACTIVE, STANDBY, NULL, &out_len,
                                                &err), -EINVAL);
        assert_int_equal(nginx_check_upstream(RUNBOOK, strlen(RUNBOOK), UPSTREAM, ACTIVE, STANDBY, NULL), 0);
        assert_null(out);
}

/* ------------------------------------------------------------------ Lua blocks
 * nginx hands the body of a `*_by_lua_block {` to the Lua module, whose reader knows Lua strings, long brackets,
 * comments and nested braces. Each body below hides a brace the nginx tokenizer would take for a block end (or
 * start). Every accepted fixture here passes `nginx -t` with libnginx-mod-http-lua 0.10.23 (Debian 12), and every
 * refused one fails it, except where said. */

#define LUA_SITE(body)                                                  \
        "server { listen 127.0.0.1:8080; location /t {\n"               \
        "        content_by_lua_block {" body "}\n"                     \
        "} }\n"

#define LUA_CASE(var, test_name, body)                                  \
        static struct rewrite_case var = {                              \
                .name = test_name,                                      \
                .in = LUA_SITE(body) RUNBOOK,                           \
                .out = LUA_SITE(body) RUNBOOK_SWITCHED,                 \
        }

/* The file from issue 14, which used to be refused with `unexpected "}"`. */
static struct rewrite_case lua_issue = {
        .name = "nginx__lua_block_issue_14__accepted_and_untouched",
        .in = "server { listen 127.0.0.1:8080; location /t {\n"
              "        content_by_lua_block {\n"
              "            ngx.say(\"hello, world\")\n"
              "        } } }\n"
              "upstream app {\n"
              "    server 10.0.0.1:80;\n"
              "    server 10.0.0.2:80 backup;\n"
              "}\n",
        .upstream = "app",
        .active = "10.0.0.1:80",
        .standby = "10.0.0.2:80",
        .out = "server { listen 127.0.0.1:8080; location /t {\n"
               "        content_by_lua_block {\n"
               "            ngx.say(\"hello, world\")\n"
               "        } } }\n"
               "upstream app {\n"
               "    server 10.0.0.1:80 down;\n"
               "    server 10.0.0.2:80;\n"
               "}\n",
};

LUA_CASE(lua_dquote, "nginx__lua_double_quoted_string_with_brace__is_lua", " ngx.say(\"}\") ngx.say(\"a\\\"}{\") ");
LUA_CASE(lua_squote, "nginx__lua_single_quoted_string_with_brace__is_lua", " ngx.say('}') ngx.say('a\\'}{') ");
LUA_CASE(lua_escaped_backslash, "nginx__lua_string_ending_in_escaped_backslash__closes", " x = \"\\\\\" ");
LUA_CASE(lua_long_string, "nginx__lua_long_string_with_brace__is_lua", " local s = [[ } { ]] ");
LUA_CASE(lua_long_string_level, "nginx__lua_long_string_level_2__ends_only_at_its_level",
         " local s = [==[ ]] } ]=] ]==] ");
LUA_CASE(lua_line_comment, "nginx__lua_line_comment_with_brace_and_apostrophe__is_lua", " -- don't } {\n");
LUA_CASE(lua_long_comment, "nginx__lua_long_comment_over_lines__is_lua", " --[[ }\n { ]] ");
LUA_CASE(lua_long_comment_level, "nginx__lua_long_comment_level_2__ends_only_at_its_level",
         " --[==[ ]] } ]==] ");
LUA_CASE(lua_triple_dash, "nginx__lua_triple_dash__is_a_line_comment_not_a_long_one", " ---[[ {\n");
LUA_CASE(lua_nested, "nginx__lua_nested_table_braces__balance", " local t = { a = { 1 }, b = {} } ");
/* No closing quote on its line: the module's lexer sees no string there, so the brace after it ends the block. */
LUA_CASE(lua_lone_quote, "nginx__lua_quote_without_close_on_its_line__is_a_plain_byte", " x = ' ");
/* A string does not span lines: read across the line end, the '"' of `return` would close it and `"}"` would end
 * the block. */
static struct rewrite_case lua_string_not_across_lines = {
        .name = "nginx__lua_string_does_not_span_lines",
        .in = "server { location /t {\n    content_by_lua_block { x = \"a\n}\n    return 200 \"}\";\n} }\n" RUNBOOK,
        .out = "server { location /t {\n    content_by_lua_block { x = \"a\n}\n    return 200 \"}\";\n} }\n"
               RUNBOOK_SWITCHED,
};
LUA_CASE(lua_crlf, "nginx__lua_block_with_crlf__is_lua", "\r\n  -- } comment\r\n  ngx.say(\"{\")\r\n");

static struct rewrite_case lua_set_by = {
        .name = "nginx__set_by_lua_block_with_variable__is_lua",
        .in = "server { location /t { set_by_lua_block $v { return \"}\" } return 200 $v; } }\n" RUNBOOK,
        .out = "server { location /t { set_by_lua_block $v { return \"}\" } return 200 $v; } }\n" RUNBOOK_SWITCHED,
};

static struct rewrite_case lua_quoted_name = {
        .name = "nginx__quoted_lua_block_directive_name__is_lua",
        .in = "server { location /t { \"content_by_lua_block\" { x = \"}\" } } }\n" RUNBOOK,
        .out = "server { location /t { \"content_by_lua_block\" { x = \"}\" } } }\n" RUNBOOK_SWITCHED,
};

/* A balancer block inside the upstream itself: what it says about servers is Lua, not the upstream's servers.
 * (nginx refuses `backup` beside a balancer; what is tested is only how the block is read.) */
static struct rewrite_case lua_in_upstream = {
        .name = "nginx__balancer_lua_block_in_upstream__servers_in_it_ignored",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    balancer_by_lua_block {\n"
              "        -- server active_api:8080;\n"
              "        local s = \"server standby_api:8080 backup; }\"\n"
              "    }\n"
              "    server standby_api:8080 backup;\n"
              "}\n",
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 down;\n"
               "    balancer_by_lua_block {\n"
               "        -- server active_api:8080;\n"
               "        local s = \"server standby_api:8080 backup; }\"\n"
               "    }\n"
               "    server standby_api:8080;\n"
               "}\n",
};

/* An upstream spelled out in Lua text is no second definition. */
static struct rewrite_case lua_upstream_text = {
        .name = "nginx__upstream_in_lua_long_string__not_an_upstream",
        .in = "init_by_lua_block { local conf = [=[\nupstream blacklake_backend { server x; }\n]=] }\n" RUNBOOK,
        .out = "init_by_lua_block { local conf = [=[\nupstream blacklake_backend { server x; }\n]=] }\n"
               RUNBOOK_SWITCHED,
};

static struct rewrite_case lua_unclosed_block = {
        .name = "nginx__lua_block_never_closed__einval_at_its_brace",
        .in = RUNBOOK "server { location / {\n    access_by_lua_block {\n        x = { 1 }\n",
        .rc = -EINVAL,
        .line = 14,
        .col = 25,
        .message = "the Lua block opened here is never closed (missing \"}\" at end of file, read as Lua: strings, "
                   "long brackets and comments)",
};

static struct rewrite_case lua_unclosed_long_string = {
        .name = "nginx__lua_long_string_never_closed__einval_at_its_bracket",
        .in = "init_by_lua_block {\n  local s = [==[ ]] ]=] }\n}\n" RUNBOOK,
        .rc = -EINVAL,
        .line = 2,
        .col = 13,
        .message = "the Lua long string opened here is never closed (it needs \"]==]\")",
};

static struct rewrite_case lua_unclosed_long_comment = {
        .name = "nginx__lua_long_comment_never_closed__einval_at_its_bracket",
        .in = "init_by_lua_block { --[[ }\n}\n" RUNBOOK,
        .rc = -EINVAL,
        .line = 1,
        .col = 21,
        .message = "the Lua long comment opened here is never closed (it needs \"]]\")",
};

/* A block some module reads by its own rules, followed by what looks like a syntax error to nginx's tokenizer:
 * the message must not blame the file alone. */
static struct rewrite_case foreign_block = {
        .name = "nginx__syntax_error_after_a_module_block__says_parser_limit",
        .in = RUNBOOK "server { location / {\n    my_module_block {\n        x }\n} }\n",
        .rc = -EINVAL,
        .line = 15,
        .col = 11,
        .message = "unexpected \"}\": the directive at line 15 col 9 is missing its \";\"; if nginx -t accepts the "
                   "file, the \"my_module_block\" block (line 14) is read by its module in a way this parser does not "
                   "know: a limit of blfailoverd's nginx parser, not an error in the file",
};

/* More listings of the two addresses than the hit table holds: refused as the parser's limit. */
static void nginx__address_listed_33_times__refused_as_parser_limit(void **state) {
        char in[4096] = "upstream blacklake_backend {\n    server standby_api:8080 backup;\n";
        struct nginx_error err;
        char *out = NULL;
        size_t out_len = 0;

        for (int i = 0; i < 32; i++)
                strcat(in, "    server active_api:8080;\n");
        strcat(in, "}\n");
        assert_int_equal(nginx_rewrite_upstream(in, strlen(in), UPSTREAM, ACTIVE, STANDBY, &out, &out_len, &err),
                         -EINVAL);
        assert_string_equal(err.message, "upstream \"blacklake_backend\" lists its two servers more than 32 times: a "
                            "limit of blfailoverd's nginx parser, not an error in the file");
        assert_int_equal(err.line, 1);
        /* one fewer fits, and every listing is switched */
        strcpy(strstr(in, "    server active_api:8080;\n}\n"), "}\n");
        assert_int_equal(nginx_rewrite_upstream(in, strlen(in), UPSTREAM, ACTIVE, STANDBY, &out, &out_len, &err), 0);
        for (const char *p = out, *q; (q = strstr(p, "server active_api:8080")); p = q + 1)
                assert_memory_equal(q + strlen("server active_api:8080"), " down;", 6);
        free(out);
}

/* One switch in BACKUP mode that must succeed; `back` makes ACTIVE serve again. */
static char *switch_backup(const char *in, size_t len, bool back, size_t *ret_len) {
        struct nginx_error err;
        char *out = NULL;

        assert_int_equal(nginx_set_roles(in, len, UPSTREAM, back ? ACTIVE : STANDBY, back ? STANDBY : ACTIVE,
                                         NGINX_STANDBY_BACKUP, &out, ret_len, &err), 0);
        return out;
}

/* The same input through the switchover's rewrite: the check's verdict; a success is idempotent, and switching
 * back and forth after it never drifts (the second switch back gives what the first gave). */
static void mutate_backup(const char *in, size_t len, int rc, const struct nginx_error *cerr) {
        struct nginx_error err;
        char *out = NULL, *again, *back, *forth, *back2;
        size_t out_len = 0, again_len, back_len, forth_len, back2_len;

        assert_int_equal(nginx_set_roles(in, len, UPSTREAM, STANDBY, ACTIVE, NGINX_STANDBY_BACKUP, &out, &out_len,
                                         &err), rc);
        assert_string_equal(err.message, cerr->message);
        if (rc < 0)
                return;
        again = switch_backup(out, out_len, false, &again_len);
        assert_int_equal(again_len, out_len);
        assert_memory_equal(again, out, out_len);
        back = switch_backup(out, out_len, true, &back_len);
        forth = switch_backup(back, back_len, false, &forth_len);
        back2 = switch_backup(forth, forth_len, true, &back2_len);
        assert_int_equal(back2_len, back_len);
        assert_memory_equal(back2, back, back_len);
        free(back2);
        free(forth);
        free(back);
        free(again);
        free(out);
}

/* Cheap fuzzing: every truncation, and every byte replaced by each syntax character. Whatever the verdict,
 * check and rewrite agree, errors carry a place inside the input, and every success is idempotent. */
static void mutate_one(const char *in, size_t len, unsigned lines) {
        struct nginx_error err, cerr;
        char *out = NULL, *again = NULL;
        size_t out_len = 0, again_len = 0;
        int r;

        r = nginx_rewrite_upstream(in, len, UPSTREAM, ACTIVE, STANDBY, &out, &out_len, &err);
        assert_int_equal(nginx_check_upstream(in, len, UPSTREAM, ACTIVE, STANDBY, &cerr), r);
        assert_string_equal(err.message, cerr.message);
        assert_true(r == 0 || r == -EINVAL || r == -ENOENT || r == -EEXIST);
        if (r == -EINVAL)
                assert_true(err.line >= 1 && err.line <= lines && err.col >= 1);
        if (r < 0) {
                mutate_backup(in, len, r, &cerr);
                return;
        }
        assert_int_equal(nginx_rewrite_upstream(out, out_len, UPSTREAM, ACTIVE, STANDBY, &again, &again_len, &err), 0);
        assert_int_equal(again_len, out_len);
        assert_memory_equal(again, out, out_len);
        free(again);
        free(out);
        mutate_backup(in, len, r, &cerr);
}

static void mutate_all(const char *in) {
        static const char specials[] = "{};#\"'\\$ \n)";
        size_t len = strlen(in);
        char *buf = malloc(len);
        unsigned lines = 1;

        assert_non_null(buf);
        for (size_t i = 0; i < len; i++)
                lines += in[i] == '\n';
        for (size_t cut = 0; cut <= len; cut++) {
                memcpy(buf, in, cut);
                mutate_one(buf, cut, lines);
        }
        for (size_t i = 0; i < len; i++)
                for (size_t k = 0; k < sizeof(specials) - 1; k++) {
                        memcpy(buf, in, len);
                        buf[i] = specials[k];
                        mutate_one(buf, len, lines + 1);
                }
        free(buf);
}

static void nginx__mutated_inputs__never_crash_and_agree(void **state) {
        const struct rewrite_case *cases[] = { &comments, &quoted, &multiline, &comment_before_backup,
                                               &escaped_name, &nested_http, &lua_long_comment_level,
                                               &lua_in_upstream, &lua_crlf, &lua_dquote };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                mutate_all(cases[i]->in);
}

/* ------------------------------------------------------------------ nginx_set_roles
 * The switchover's shape (NGINX_STANDBY_BACKUP) and the failover's (NGINX_STANDBY_DOWN), named by role: `serving`
 * takes the traffic, `standby` becomes its `backup` or is marked `down`. */

#define RUNBOOK_BLOCK_BACKUP                                                    \
        "upstream blacklake_backend {\n"                                        \
        "    server active_api:8080 max_fails=3 fail_timeout=30s backup;\n"     \
        "    server standby_api:8080;\n"                                        \
        "}\n"

struct roles_case {
        const char *name;
        const char *in;
        const char *serving, *standby; /* NULL: the runbook's switchover, STANDBY serves and ACTIVE stands by */
        enum nginx_standby mode;
        const char *out;
};

static int set_roles(const struct roles_case *c, const char *in, size_t len, char **out, size_t *out_len,
                     struct nginx_error *err) {
        return nginx_set_roles(in, len, UPSTREAM, c->serving ? c->serving : STANDBY,
                               c->standby ? c->standby : ACTIVE, c->mode, out, out_len, err);
}

/* The exact bytes, idempotent (the output rewritten again is identical), and the check accepts both files. */
static void run_roles_case(void **state) {
        const struct roles_case *c = *state;
        struct nginx_error err;
        char *out = NULL, *again = NULL;
        size_t out_len = 0, again_len = 0;

        assert_int_equal(set_roles(c, c->in, strlen(c->in), &out, &out_len, &err), 0);
        assert_string_equal(err.message, "");
        assert_int_equal(out[out_len], '\0');
        assert_string_equal(out, c->out);
        assert_int_equal(set_roles(c, out, out_len, &again, &again_len, &err), 0);
        assert_int_equal(again_len, out_len);
        assert_memory_equal(again, out, out_len);
        assert_int_equal(nginx_check_upstream(out, out_len, UPSTREAM, ACTIVE, STANDBY, &err), 0);
        free(again);
        free(out);
}

static struct roles_case roles_runbook = {
        .name = "nginx__set_roles_backup__old_serving_server_becomes_backup",
        .in = RUNBOOK,
        .mode = NGINX_STANDBY_BACKUP,
        .out = RUNBOOK_BLOCK_BACKUP RUNBOOK_REST,
};

static struct roles_case roles_down = {
        .name = "nginx__set_roles_down__is_the_failover_shape",
        .in = RUNBOOK,
        .mode = NGINX_STANDBY_DOWN,
        .out = RUNBOOK_SWITCHED,
};

static struct roles_case roles_already = {
        .name = "nginx__set_roles_backup__already_in_roles__identical",
        .in = RUNBOOK_BLOCK_BACKUP RUNBOOK_REST,
        .mode = NGINX_STANDBY_BACKUP,
        .out = RUNBOOK_BLOCK_BACKUP RUNBOOK_REST,
};

/* The runbook's file, back to its own roles: a serves, b is its backup again — the original bytes. */
static struct roles_case roles_back = {
        .name = "nginx__set_roles_backup__switched_back__original_bytes",
        .in = RUNBOOK_BLOCK_BACKUP RUNBOOK_REST,
        .serving = ACTIVE,
        .standby = STANDBY,
        .mode = NGINX_STANDBY_BACKUP,
        .out = RUNBOOK,
};

/* The rejoin after a failover: the old primary marked down becomes the backup, the serving one is left as is. */
static struct roles_case roles_rejoin = {
        .name = "nginx__set_roles_backup__down_becomes_backup",
        .in = RUNBOOK_SWITCHED,
        .mode = NGINX_STANDBY_BACKUP,
        .out = RUNBOOK_BLOCK_BACKUP RUNBOOK_REST,
};

/* A failover after a switchover: the backup that died is marked down and is no longer a backup. */
static struct roles_case roles_backup_then_down = {
        .name = "nginx__set_roles_down__backup_becomes_down",
        .in = RUNBOOK_BLOCK_BACKUP RUNBOOK_REST,
        .serving = ACTIVE,
        .standby = STANDBY,
        .mode = NGINX_STANDBY_DOWN,
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 max_fails=3 fail_timeout=30s;\n"
               "    server standby_api:8080 down;\n"
               "}\n" RUNBOOK_REST,
};

/* The serving server loses both `down` and `backup`, in either mode: a server left down serves nothing. */
static struct roles_case roles_serving_down = {
        .name = "nginx__set_roles_backup__serving_server_loses_down_and_backup",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 down backup max_fails=2;\n"
              "}\n",
        .mode = NGINX_STANDBY_BACKUP,
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 backup;\n"
               "    server standby_api:8080 max_fails=2;\n"
               "}\n",
};

/* The standby's other parameters stay where they are; `backup` goes after the last of them. A `backup` already
 * there (anywhere) is not added twice. */
static struct roles_case roles_params = {
        .name = "nginx__set_roles_backup__standby_params_kept_backup_after_them",
        .in = "upstream blacklake_backend {\n"
              "    server standby_api:8080 backup;\n"
              "    server active_api:8080 weight=5 max_fails=3 fail_timeout=30s;\n"
              "    server active_api:8080 weight=5 backup max_fails=3;\n"
              "}\n",
        .mode = NGINX_STANDBY_BACKUP,
        .out = "upstream blacklake_backend {\n"
               "    server standby_api:8080;\n"
               "    server active_api:8080 weight=5 max_fails=3 fail_timeout=30s backup;\n"
               "    server active_api:8080 weight=5 backup max_fails=3;\n"
               "}\n",
};

/* Comments between the parameters stay, with their line ends: `backup` goes right after the last word, before a
 * comment; a dropped word behind a comment takes only itself and its blanks. */
static struct roles_case roles_comments = {
        .name = "nginx__set_roles_backup__comments_between_params_kept",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080 max_fails=3 # old primary\n"
              "        down;\n"
              "    server standby_api:8080 # promoted on failover\n"
              "        backup weight=2; # }\n"
              "}\n",
        .mode = NGINX_STANDBY_BACKUP,
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 max_fails=3 backup # old primary\n"
               "        ;\n"
               "    server standby_api:8080 # promoted on failover\n"
               "        weight=2; # }\n"
               "}\n",
};

/* Every listing of an address gets its role, whatever each listing said before. */
static struct roles_case roles_duplicates = {
        .name = "nginx__set_roles_backup__every_listing_gets_its_role",
        .in = "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    server standby_api:8080 backup;\n"
              "    server 'active_api:8080' down max_fails=2;\n"
              "    server standby_api:8080 down;\n"
              "    server active_api:8080 backup;\n"
              "}\n",
        .mode = NGINX_STANDBY_BACKUP,
        .out = "upstream blacklake_backend {\n"
               "    server active_api:8080 backup;\n"
               "    server standby_api:8080;\n"
               "    server 'active_api:8080' max_fails=2 backup;\n"
               "    server standby_api:8080;\n"
               "    server active_api:8080 backup;\n"
               "}\n",
};

/* Lua bodies that spell servers and braces, before the upstream and inside it, are never edited. */
#define ROLES_LUA_SITE                                                                  \
        "server { location /t { content_by_lua_block {\n"                               \
        "    -- server standby_api:8080 backup; }\n"                                    \
        "    ngx.say(\"upstream blacklake_backend { server active_api:8080; }\") } } }\n"
static struct roles_case roles_lua = {
        .name = "nginx__set_roles_backup__lua_blocks_untouched",
        .in = ROLES_LUA_SITE
              "upstream blacklake_backend {\n"
              "    server active_api:8080;\n"
              "    balancer_by_lua_block { local s = [[ server active_api:8080 down; } ]] }\n"
              "    server standby_api:8080 backup;\n"
              "}\n",
        .mode = NGINX_STANDBY_BACKUP,
        .out = ROLES_LUA_SITE
               "upstream blacklake_backend {\n"
               "    server active_api:8080 backup;\n"
               "    balancer_by_lua_block { local s = [[ server active_api:8080 down; } ]] }\n"
               "    server standby_api:8080;\n"
               "}\n",
};

static char *roles(const char *in, const char *serving, const char *standby, enum nginx_standby mode) {
        struct nginx_error err;
        char *out = NULL;
        size_t out_len = 0;

        assert_int_equal(nginx_set_roles(in, strlen(in), UPSTREAM, serving, standby, mode, &out, &out_len, &err), 0);
        assert_int_equal(strlen(out), out_len);
        return out;
}

/* The runbook's normal shape, a->b then b->a: the original bytes, also where a blank or a comment sits before
 * the standby's ';'. */
static void nginx__set_roles__round_trips_to_the_original_bytes(void **state) {
        static const char *const shapes[] = {
                "upstream blacklake_backend { server active_api:8080; server standby_api:8080 backup; }\n",
                RUNBOOK,
                "upstream blacklake_backend {\n    server active_api:8080 max_fails=3 ;\n"
                "    server standby_api:8080 weight=2 backup # spare\n    ;\n}\n",
        };

        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
                char *b = roles(shapes[i], STANDBY, ACTIVE, NGINX_STANDBY_BACKUP);
                char *a = roles(b, ACTIVE, STANDBY, NGINX_STANDBY_BACKUP);

                assert_string_not_equal(b, shapes[i]);
                assert_string_equal(a, shapes[i]);
                free(a);
                free(b);
        }
}

/* A failover, the rejoin, then the failback: the runbook's file again. */
static void nginx__set_roles__failover_rejoin_failback_returns_the_original(void **state) {
        char *down = roles(RUNBOOK, STANDBY, ACTIVE, NGINX_STANDBY_DOWN);
        char *rejoined = roles(down, STANDBY, ACTIVE, NGINX_STANDBY_BACKUP);
        char *failback = roles(rejoined, ACTIVE, STANDBY, NGINX_STANDBY_BACKUP);

        assert_string_equal(down, RUNBOOK_SWITCHED);
        assert_string_equal(rejoined, RUNBOOK_BLOCK_BACKUP RUNBOOK_REST);
        assert_string_equal(failback, RUNBOOK);
        free(failback);
        free(rejoined);
        free(down);
}

/* The failover's errors, in either mode, and the check's verdict beside them. */
static void nginx__set_roles__errors_as_rewrite_upstream(void **state) {
        struct nginx_error err, cerr;
        char *out = (char *) 0x1;
        size_t out_len = 4242;

        assert_int_equal(nginx_set_roles(RUNBOOK, strlen(RUNBOOK), UPSTREAM, "nope:1", ACTIVE, NGINX_STANDBY_BACKUP,
                                         &out, &out_len, &err), -ENOENT);
        assert_string_equal(err.message, "server \"nope:1\" not found in upstream \"blacklake_backend\" (line 1)");
        assert_int_equal(nginx_check_upstream(RUNBOOK, strlen(RUNBOOK), UPSTREAM, ACTIVE, "nope:1", &cerr), -ENOENT);
        assert_string_equal(cerr.message, err.message);
        assert_int_equal(nginx_set_roles(RUNBOOK, strlen(RUNBOOK), "x", STANDBY, ACTIVE, NGINX_STANDBY_BACKUP, &out,
                                         &out_len, &err), -ENOENT);
        assert_int_equal(nginx_set_roles(RUNBOOK, strlen(RUNBOOK), UPSTREAM, ACTIVE, ACTIVE, NGINX_STANDBY_BACKUP,
                                         &out, &out_len, &err), -EINVAL);
        assert_int_equal(nginx_set_roles("upstream blacklake_backend {", 28, UPSTREAM, STANDBY, ACTIVE,
                                         NGINX_STANDBY_BACKUP, &out, &out_len, &err), -EINVAL);
        assert_int_equal(err.line, 1);
        assert_int_equal(nginx_set_roles(RUNBOOK, strlen(RUNBOOK), UPSTREAM, STANDBY, ACTIVE, (enum nginx_standby) 7,
                                         &out, &out_len, &err), -EINVAL);
        assert_string_equal(err.message, "unknown standby mode 7");
        assert_ptr_equal(out, (char *) 0x1);
        assert_int_equal(out_len, 4242);
}

#define TABLE(c) { .name = (c).name, .test_func = run_case, .initial_state = (void *) &(c) }
#define ROLES(c) { .name = (c).name, .test_func = run_roles_case, .initial_state = (void *) &(c) }

int main(void) {
        const struct CMUnitTest tests[] = {
                TABLE(runbook),
                TABLE(already_switched),
                TABLE(comments),
                TABLE(quoted),
                TABLE(weights),
                TABLE(several),
                TABLE(already_down),
                TABLE(active_backup),
                TABLE(standby_first),
                TABLE(crlf),
                TABLE(nested_http),
                TABLE(multiline),
                TABLE(comment_before_backup),
                TABLE(near_addresses),
                TABLE(standby_down),
                TABLE(quoted_backup_paren),
                TABLE(block_in_upstream),
                TABLE(escaped_name),
                TABLE(two_names),
                TABLE(missing_upstream),
                TABLE(upstream_without_block),
                TABLE(empty),
                TABLE(missing_active),
                TABLE(server_only_elsewhere),
                TABLE(duplicate_upstream),
                TABLE(http_and_stream),
                TABLE(stream_only),
                TABLE(duplicate_server),
                TABLE(same_server),
                TABLE(unterminated_quote),
                TABLE(unterminated_block),
                TABLE(unexpected_close),
                TABLE(missing_semicolon),
                TABLE(missing_semicolon_eof),
                TABLE(glued_quote),
                TABLE(lone_semicolon),
                TABLE(anonymous_block),
                TABLE(error_after_upstream),
                TABLE(comment_then_two_backups),
                TABLE(comment_then_two_backups_minimal),
                TABLE(include_outside),
                TABLE(include_inside),
                TABLE(servers_in_include),
                TABLE(include_unterminated),
                TABLE(lua_issue),
                TABLE(lua_dquote),
                TABLE(lua_squote),
                TABLE(lua_escaped_backslash),
                TABLE(lua_long_string),
                TABLE(lua_long_string_level),
                TABLE(lua_line_comment),
                TABLE(lua_long_comment),
                TABLE(lua_long_comment_level),
                TABLE(lua_triple_dash),
                TABLE(lua_nested),
                TABLE(lua_lone_quote),
                TABLE(lua_string_not_across_lines),
                TABLE(lua_crlf),
                TABLE(lua_set_by),
                TABLE(lua_quoted_name),
                TABLE(lua_in_upstream),
                TABLE(lua_upstream_text),
                TABLE(lua_unclosed_block),
                TABLE(lua_unclosed_long_string),
                TABLE(lua_unclosed_long_comment),
                TABLE(foreign_block),
                cmocka_unit_test(nginx__address_listed_33_times__refused_as_parser_limit),
                cmocka_unit_test(nginx__bytes_outside_block__identical),
                cmocka_unit_test(nginx__rewrite_twice__equals_rewrite_once),
                cmocka_unit_test(nginx__nesting_past_cap__einval_at_the_brace),
                cmocka_unit_test(nginx__input_over_16_mib__efbig),
                cmocka_unit_test(nginx__missing_arguments__einval),
                cmocka_unit_test(nginx__mutated_inputs__never_crash_and_agree),
                ROLES(roles_runbook),
                ROLES(roles_down),
                ROLES(roles_already),
                ROLES(roles_back),
                ROLES(roles_rejoin),
                ROLES(roles_backup_then_down),
                ROLES(roles_serving_down),
                ROLES(roles_params),
                ROLES(roles_comments),
                ROLES(roles_duplicates),
                ROLES(roles_lua),
                cmocka_unit_test(nginx__set_roles__round_trips_to_the_original_bytes),
                cmocka_unit_test(nginx__set_roles__failover_rejoin_failback_returns_the_original),
                cmocka_unit_test(nginx__set_roles__errors_as_rewrite_upstream),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
