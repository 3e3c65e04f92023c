/* Unit tests for etcdmsg: the request bodies byte for byte (docs/design/cluster.md §6), and every answer parsed
 * from the real answers of Debian's etcd 3.4.23 (tests/unit/data/etcd/, captured by its capture.py; the HTTP
 * status of each is in answers.txt). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcdmsg.h"

#define LEASE INT64_C(4031744529541125893)      /* the lease the capture granted: above 2^53 */
#define PFX "/blfailoverd/a+b"

/* $BLF_ETCD_DATA, else from the repo root (make check's cwd), else next to the binary. */
static const char *data_dir(void) {
        static char dir[PATH_MAX];
        char exe[PATH_MAX];
        ssize_t n;

        if (getenv("BLF_ETCD_DATA"))
                return getenv("BLF_ETCD_DATA");
        if (access("tests/unit/data/etcd/answers.txt", R_OK) == 0)
                return "tests/unit/data/etcd";
        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        assert_true(n > 0);
        exe[n] = 0;
        snprintf(dir, sizeof dir, "%s/../../tests/unit/data/etcd", dirname(exe));
        return dir;
}

/* The body of answer NAME in a buffer of exactly its length (no NUL: the parsers must not need one), and its
 * HTTP status from answers.txt. */
struct answer {
        char *body;
        size_t len;
        long http;
};

static long status_of(const char *name) {
        char *path, line[256], word[128];
        long http = -1, s;
        FILE *f;

        assert_true(asprintf(&path, "%s/answers.txt", data_dir()) > 0);
        f = fopen(path, "r");
        if (!f)
                fail_msg("cannot open %s (set BLF_ETCD_DATA to tests/unit/data/etcd)", path);
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "%127s %ld", word, &s) == 2 && strcmp(word, name) == 0)
                        http = s;
        fclose(f);
        free(path);
        assert_true(http > 0);
        return http;
}

static struct answer load(const char *name) {
        struct answer a = { .http = status_of(name) };
        char *path;
        FILE *f;
        long n;

        assert_true(asprintf(&path, "%s/%s.json", data_dir(), name) > 0);
        f = fopen(path, "rb");
        if (!f)
                fail_msg("cannot open fixture %s", path);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        rewind(f);
        a.body = malloc(n > 0 ? (size_t) n : 1);
        assert_non_null(a.body);
        assert_int_equal(fread(a.body, 1, (size_t) n, f), (size_t) n);
        a.len = (size_t) n;
        fclose(f);
        free(path);
        return a;
}

/* ---------------------------------------------------------------- bodies */

static void etcdmsg__simple_bodies__exact(void **unused) {
        char *s;

        assert_int_equal(etcdmsg_grant(10, &s), 0);
        assert_string_equal(s, "{\"TTL\":\"10\"}");
        free(s);
        assert_int_equal(etcdmsg_lease(LEASE, &s), 0);
        assert_string_equal(s, "{\"ID\":\"4031744529541125893\"}");
        free(s);
        assert_int_equal(etcdmsg_authenticate("blfailoverd", "p\"w", &s), 0);
        assert_string_equal(s, "{\"name\":\"blfailoverd\",\"password\":\"p\\\"w\"}");
        free(s);
        assert_int_equal(etcdmsg_range_prefix(PFX "/", &s), 0);
        assert_string_equal(s, "{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi8=\",\"range_end\":\"L2JsZmFpbG92ZXJkL2ErYjA=\"}");
        free(s);
        assert_int_equal(etcdmsg_deleterange(PFX "/leader", &s), 0);
        assert_string_equal(s, "{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi9sZWFkZXI=\"}");
        free(s);
        assert_int_equal(etcdmsg_put(PFX "/views/mon-b", "{\"v\":1}", 7, LEASE, false, &s), 0);
        assert_string_equal(s, "{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi92aWV3cy9tb24tYg==\",\"value\":\"eyJ2IjoxfQ==\","
                               "\"lease\":\"4031744529541125893\"}");
        free(s);
        assert_int_equal(etcdmsg_put("k", "", 0, 0, true, &s), 0);
        assert_string_equal(s, "{\"key\":\"aw==\",\"value\":\"\",\"ignore_lease\":true}");
        free(s);
        assert_int_equal(etcdmsg_range_prefix("", &s), -EINVAL);
}

static void etcdmsg__campaign_body__as_in_the_design(void **unused) {
        char *s;

        assert_int_equal(etcdmsg_create(PFX "/leader", "mon-a", 5, LEASE, &s), 0);
        assert_string_equal(s,
                "{\"compare\":[{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi9sZWFkZXI=\",\"target\":\"CREATE\",\"result\":\"EQUAL\","
                "\"create_revision\":\"0\"}],"
                "\"success\":[{\"request_put\":{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi9sZWFkZXI=\",\"value\":\"bW9uLWE=\","
                "\"lease\":\"4031744529541125893\"}}],"
                "\"failure\":[{\"request_range\":{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi9sZWFkZXI=\"}}]}");
        free(s);
}

static void etcdmsg__guarded_body__both_compares_and_both_ranges(void **unused) {
        struct etcdmsg_guard g = { PFX "/leader", LEASE, PFX "/record", 0 };
        struct etcdmsg_put_op p = { PFX "/record", "record text\n", 12, 0, false, false };
        char *s;

        assert_int_equal(etcdmsg_guarded(&g, &p, 1, &s), 0);
        assert_string_equal(s,
                "{\"compare\":[{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi9sZWFkZXI=\",\"target\":\"LEASE\",\"result\":\"EQUAL\","
                "\"lease\":\"4031744529541125893\"},"
                "{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi9yZWNvcmQ=\",\"target\":\"MOD\",\"result\":\"EQUAL\","
                "\"mod_revision\":\"0\"}],"
                "\"success\":[{\"request_put\":{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi9yZWNvcmQ=\","
                "\"value\":\"cmVjb3JkIHRleHQK\"}}],"
                "\"failure\":[{\"request_range\":{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi9sZWFkZXI=\"}},"
                "{\"request_range\":{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi9yZWNvcmQ=\"}}]}");
        free(s);
        g.lease = 0;
        assert_int_equal(etcdmsg_guarded(&g, &p, 1, &s), -EINVAL);      /* unguarded is not a guarded write */
}

/* ---------------------------------------------------------------- answers */

static void etcdmsg__grant_answer__id_exact_and_ttl(void **unused) {
        struct answer a = load("grant");
        int64_t id, ttl;

        assert_int_equal(etcdmsg_parse_error(a.http, a.body, a.len, NULL, 0), ETCD_ERROR_NONE);
        assert_int_equal(etcdmsg_parse_grant(a.body, a.len, &id, &ttl), 0);
        assert_true(id == LEASE);
        assert_true(ttl == 30);
        free(a.body);
}

static void etcdmsg__keepalive__ttl_or_lost(void **unused) {
        struct answer ok = load("keepalive_ok"), lost = load("keepalive_lost");
        int64_t ttl = -5;

        assert_int_equal(etcdmsg_parse_error(ok.http, ok.body, ok.len, NULL, 0), ETCD_ERROR_NONE);
        assert_int_equal(etcdmsg_parse_keepalive(ok.body, ok.len, &ttl), 0);
        assert_true(ttl == 30);
        /* a revoked lease: HTTP 200, no TTL — lost, not an error */
        assert_int_equal(lost.http, 200);
        assert_int_equal(etcdmsg_parse_error(lost.http, lost.body, lost.len, NULL, 0), ETCD_ERROR_NONE);
        assert_int_equal(etcdmsg_parse_keepalive(lost.body, lost.len, &ttl), 0);
        assert_true(ttl == 0);
#define Z "{\"result\":{\"TTL\":\"0\"}}"
        assert_int_equal(etcdmsg_parse_keepalive(Z, strlen(Z), &ttl), 0);
        assert_true(ttl == 0);
#undef Z
        free(ok.body);
        free(lost.body);
}

static void etcdmsg__keepalive_stream_error__no_leader(void **unused) {
        struct answer a = load("keepalive_no_leader");
        char msg[128];
        int64_t ttl;

        assert_int_equal(a.http, 503);
        assert_int_equal(etcdmsg_parse_error(a.http, a.body, a.len, msg, sizeof msg), ETCD_ERROR_NO_LEADER);
        assert_string_equal(msg, "etcdserver: no leader");
        assert_true(etcd_error_retriable(ETCD_ERROR_NO_LEADER));
        assert_int_equal(etcdmsg_parse_keepalive(a.body, a.len, &ttl), -EBADMSG);
        free(a.body);
}

static void etcdmsg__timetolive__left_or_gone(void **unused) {
        struct answer a = load("timetolive"), g = load("timetolive_gone");
        int64_t ttl;

        assert_int_equal(etcdmsg_parse_timetolive(a.body, a.len, &ttl), 0);
        assert_true(ttl == 29);
        assert_int_equal(etcdmsg_parse_timetolive(g.body, g.len, &ttl), 0);
        assert_true(ttl == -1);
        free(a.body);
        free(g.body);
}

static void etcdmsg__campaign_answers__won_and_lost_with_holder(void **unused) {
        struct answer won = load("campaign_won"), lost = load("campaign_lost");
        struct etcdmsg_txn_result t;

        assert_int_equal(etcdmsg_parse_txn(won.body, won.len, &t), 0);
        assert_true(t.succeeded);
        assert_true(t.revision == 2);
        etcdmsg_txn_result_done(&t);
        /* lost: no "succeeded" at all — omitted false */
        assert_null(memmem(lost.body, lost.len, "succeeded", 9));
        assert_int_equal(etcdmsg_parse_txn(lost.body, lost.len, &t), 0);
        assert_false(t.succeeded);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.responses[0].n, 1);
        assert_string_equal(t.responses[0].kvs[0].key, PFX "/leader");
        assert_string_equal(t.responses[0].kvs[0].value, "mon-a");
        assert_true(t.responses[0].kvs[0].lease == LEASE);
        assert_true(t.responses[0].kvs[0].mod_revision == 2);
        etcdmsg_txn_result_done(&t);
        free(won.body);
        free(lost.body);
}

static void etcdmsg__guarded_answers__moved_and_deposed_told_apart(void **unused) {
        struct answer ok = load("guarded_ok"), moved = load("guarded_moved"), dep = load("guarded_deposed");
        struct etcdmsg_txn_result t;

        assert_int_equal(etcdmsg_parse_txn(ok.body, ok.len, &t), 0);
        assert_true(t.succeeded && t.revision == 3);
        etcdmsg_txn_result_done(&t);
        /* moved: the leader key is still ours (LEASE), the record's mod_revision is no longer the one we sent */
        assert_int_equal(etcdmsg_parse_txn(moved.body, moved.len, &t), 0);
        assert_false(t.succeeded);
        assert_int_equal(t.n, 2);
        assert_true(t.responses[0].kvs[0].lease == LEASE);
        assert_true(t.responses[1].kvs[0].mod_revision == 3);
        assert_string_equal(t.responses[1].kvs[0].value, "record text\n");
        assert_int_equal(t.responses[1].kvs[0].value_len, 12);
        assert_true(t.responses[1].kvs[0].lease == 0);          /* omitted: no lease */
        etcdmsg_txn_result_done(&t);
        /* deposed (the capture guarded with another lease): the holder's lease is not the one we sent */
        assert_int_equal(etcdmsg_parse_txn(dep.body, dep.len, &t), 0);
        assert_false(t.succeeded);
        assert_true(t.responses[0].kvs[0].lease == LEASE);
        etcdmsg_txn_result_done(&t);
        free(ok.body);
        free(moved.body);
        free(dep.body);
}

static void etcdmsg__range_answers__prefix_and_empty(void **unused) {
        struct answer p = load("range_prefix"), e = load("range_empty");
        struct etcdmsg_range_result r;

        assert_int_equal(etcdmsg_parse_range(p.body, p.len, &r), 0);
        assert_true(r.revision == 4);
        assert_int_equal(r.n, 3);
        assert_string_equal(r.kvs[2].key, PFX "/views/mon-b");
        assert_string_equal(r.kvs[2].value, "{\"v\":1}");
        assert_true(r.kvs[2].lease > (INT64_C(1) << 53));
        etcdmsg_range_result_done(&r);
        /* empty: no "kvs", no "count" */
        assert_int_equal(etcdmsg_parse_range(e.body, e.len, &r), 0);
        assert_int_equal(r.n, 0);
        assert_null(r.kvs);
        assert_true(r.revision == 1);
        etcdmsg_range_result_done(&r);
        free(p.body);
        free(e.body);
}

static void etcdmsg__put_revoke_delete__revision(void **unused) {
        static const char *const names[] = { "put_view", "revoke", "deleterange" };
        static const int64_t want[] = { 4, 5, 5 };

        for (size_t i = 0; i < 3; i++) {
                struct answer a = load(names[i]);
                int64_t rev;

                assert_int_equal(etcdmsg_parse_error(a.http, a.body, a.len, NULL, 0), ETCD_ERROR_NONE);
                assert_int_equal(etcdmsg_parse_revision(a.body, a.len, &rev), 0);
                assert_true(rev == want[i]);
                free(a.body);
        }
}

/* A view put asks for the key as it was: that is how a member sees another live one writing under its name. */
static void etcdmsg__put_prev_kv__body_and_answers(void **unused) {
        struct answer fresh = load("put_view_new"), prev = load("put_view_prev");
        struct etcdmsg_kv kv;
        char *s;

        assert_int_equal(etcdmsg_put_prev(PFX "/views/mon-b", "{\"v\":1}", 7, LEASE, &s), 0);
        assert_string_equal(s, "{\"key\":\"L2JsZmFpbG92ZXJkL2ErYi92aWV3cy9tb24tYg==\",\"value\":\"eyJ2IjoxfQ==\","
                               "\"lease\":\"4031744529541125893\",\"prev_kv\":true}");
        free(s);
        assert_int_equal(etcdmsg_parse_prev_kv(fresh.body, fresh.len, &kv), 0);
        assert_int_equal(etcdmsg_parse_prev_kv(prev.body, prev.len, &kv), 1);
        assert_string_equal(kv.key, PFX "/views/mon-c");
        assert_true(kv.lease == INT64_C(440968254795295493));
        assert_true(kv.mod_revision == 2);
        assert_string_equal(kv.value, "{\"v\":1}");
        etcdmsg_kv_done(&kv);
        assert_int_equal(etcdmsg_parse_prev_kv("{\"header\":{},\"prev_kv\":[]}", 26, &kv), -EBADMSG);
        assert_int_equal(etcdmsg_parse_prev_kv("[]", 2, &kv), -EBADMSG);
        free(fresh.body);
        free(prev.body);
}

static void etcdmsg__unary_errors__classified_with_words(void **unused) {
        static const struct {
                const char *name;
                long http;
                enum etcd_error e;
                const char *msg;
        } cases[] = {
                { "put_lease_not_found", 404, ETCD_ERROR_LEASE_NOT_FOUND, "etcdserver: requested lease not found" },
                { "auth_not_enabled", 412, ETCD_ERROR_AUTH_NOT_ENABLED, "etcdserver: authentication is not enabled" },
                { "auth_failed", 400, ETCD_ERROR_AUTH_FAILED,
                  "etcdserver: authentication failed, invalid user ID or password" },
                { "auth_empty", 400, ETCD_ERROR_AUTH_EMPTY, "etcdserver: user name is empty" },
                { "auth_invalid_token", 401, ETCD_ERROR_AUTH_INVALID_TOKEN, "etcdserver: invalid auth token" },
                { "permission_denied", 403, ETCD_ERROR_PERMISSION_DENIED, "etcdserver: permission denied" },
                { "range_no_quorum", 503, ETCD_ERROR_TIMEOUT, "etcdserver: request timed out" },
                { "txn_no_quorum", 500, ETCD_ERROR_TIMEOUT, "context deadline exceeded" },
        };

        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                struct answer a = load(cases[i].name);
                char msg[128];

                assert_int_equal(a.http, cases[i].http);
                assert_int_equal(etcdmsg_parse_error(a.http, a.body, a.len, msg, sizeof msg), cases[i].e);
                assert_string_equal(msg, cases[i].msg);
                free(a.body);
        }
        assert_true(etcd_error_retriable(ETCD_ERROR_TIMEOUT));
        assert_false(etcd_error_retriable(ETCD_ERROR_PERMISSION_DENIED));
}

static void etcdmsg__foreign_error_bodies__words_kept(void **unused) {
        char msg[32];

        assert_int_equal(etcdmsg_parse_error(502, "Bad Gateway\nmore", 16, msg, sizeof msg), ETCD_ERROR_OTHER);
        assert_string_equal(msg, "Bad Gateway");
        assert_int_equal(etcdmsg_parse_error(503, "", 0, msg, sizeof msg), ETCD_ERROR_UNAVAILABLE);
        assert_int_equal(etcdmsg_parse_error(404, "{}", 2, msg, sizeof msg), ETCD_ERROR_OTHER);
        assert_string_equal(msg, "HTTP 404");
        assert_int_equal(etcdmsg_parse_error(200, "not json", 8, msg, sizeof msg), ETCD_ERROR_NONE);
}

static void etcdmsg__authenticate_and_version(void **unused) {
        struct answer a = load("authenticate"), v = load("version");
        char *tok, *server, *cluster;

        assert_int_equal(etcdmsg_parse_authenticate(a.body, a.len, &tok), 0);
        assert_string_equal(tok, "iZzqMrASjSyHyGDM.27");
        free(tok);
        assert_int_equal(etcdmsg_parse_version(v.body, v.len, &server, &cluster), 0);
        assert_string_equal(server, "3.4.23");
        assert_string_equal(cluster, "3.4.0");
        free(server);
        free(cluster);
#define V33 "{\"etcdserver\":\"3.3.1\",\"etcdcluster\":\"3.3.0\"}"
#define V35 "{\"etcdserver\":\"3.5.9\",\"etcdcluster\":\"3.5.0\"}"
        assert_int_equal(etcdmsg_parse_version(V33, strlen(V33), NULL, NULL), -ENOTSUP);
        assert_int_equal(etcdmsg_parse_version(V35, strlen(V35), NULL, NULL), 0);
        free(a.body);
        free(v.body);
}

static void etcdmsg__malformed_answers__ebadmsg(void **unused) {
        static const char *const bad[] = { "", "[]", "{\"header\":{}", "{\"ID\":1.5,\"TTL\":\"3\"}",
                                           "{\"header\":{},\"kvs\":{}}", "{\"header\":{},\"kvs\":[{\"key\":\"!!\"}]}" };
        struct etcdmsg_range_result r;
        struct etcdmsg_txn_result t;
        int64_t a, b;

        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                size_t n = strlen(bad[i]);
                assert_int_equal(etcdmsg_parse_grant(bad[i], n, &a, &b), -EBADMSG);
                assert_int_equal(etcdmsg_parse_range(bad[i], n, &r), -EBADMSG);
                assert_int_equal(etcdmsg_parse_keepalive(bad[i], n, &a), -EBADMSG);
                (void) t;
        }
        /* truncated real answers: every prefix refused */
        struct answer l = load("campaign_lost");
        for (size_t n = 0; n < l.len; n++)
                assert_int_equal(etcdmsg_parse_txn(l.body, n, &t), -EBADMSG);
        free(l.body);
}

/* ---- a forwarded command's JSON */

static void etcdmsg__command__encoded_byte_for_byte_and_read_back(void **unused) {
        struct etcdmsg_command_line lines[] = {
                { .seq = 4, .level = "notice", .text = "step \"promote\" ok" },
                { .seq = 5, .level = NULL, .text = "result: done" },
        };
        struct etcdmsg_command c = { .id = "mon-b-7", .from = "mon-b", .uid = 0, .pid = 4242,
                                     .request = "1 pause kernel upgrade", .epoch = 7, .state = "done",
                                     .lines = lines, .n_lines = 2, .has_exit = true, .exit_code = 3 }, back;
        char *text;

        assert_int_equal(etcdmsg_command_encode(&c, &text), 0);
        assert_string_equal(text, "{\"id\":\"mon-b-7\",\"from\":\"mon-b\",\"uid\":0,\"pid\":4242,"
                            "\"request\":\"1 pause kernel upgrade\",\"epoch\":7,\"state\":\"done\",\"log\":["
                            "{\"seq\":4,\"stream\":\"log\",\"level\":\"notice\",\"text\":\"step \\\"promote\\\" ok\"},"
                            "{\"seq\":5,\"stream\":\"out\",\"text\":\"result: done\"}],\"exit\":3}");
        assert_int_equal(etcdmsg_command_parse(text, strlen(text), &back), 0);
        assert_string_equal(back.id, "mon-b-7");
        assert_string_equal(back.from, "mon-b");
        assert_int_equal(back.pid, 4242);
        assert_string_equal(back.request, "1 pause kernel upgrade");
        assert_int_equal(back.epoch, 7);
        assert_string_equal(back.state, "done");
        assert_int_equal(back.n_lines, 2);
        assert_int_equal(back.lines[0].seq, 4);
        assert_string_equal(back.lines[0].level, "notice");
        assert_string_equal(back.lines[0].text, "step \"promote\" ok");
        assert_null(back.lines[1].level);
        assert_string_equal(back.lines[1].text, "result: done");
        assert_true(back.has_exit);
        assert_int_equal(back.exit_code, 3);
        etcdmsg_command_done(&back);
        free(text);
}

static void etcdmsg__command__queued_has_null_exit_and_no_lines(void **unused) {
        struct etcdmsg_command c = { .id = "mon-b-1", .from = "mon-b", .uid = 1000, .pid = 1, .request = "1 once",
                                     .epoch = 0, .state = "queued" }, back;
        char *text;

        assert_int_equal(etcdmsg_command_encode(&c, &text), 0);
        assert_string_equal(text, "{\"id\":\"mon-b-1\",\"from\":\"mon-b\",\"uid\":1000,\"pid\":1,\"request\":\"1 once\","
                            "\"epoch\":0,\"state\":\"queued\",\"log\":[],\"exit\":null}");
        assert_int_equal(etcdmsg_command_parse(text, strlen(text), &back), 0);
        assert_false(back.has_exit);
        assert_int_equal(back.n_lines, 0);
        assert_int_equal(back.uid, 1000);
        etcdmsg_command_done(&back);
        free(text);
        c.state = NULL;
        assert_int_equal(etcdmsg_command_encode(&c, &text), -EINVAL);
}

static void etcdmsg__command__malformed__ebadmsg(void **unused) {
        static const char *const bad[] = {
                "", "[]", "{}", "{\"id\":\"x\",\"from\":\"b\",\"request\":\"1 once\",\"epoch\":1}",           /* no state */
                "{\"id\":\"x\",\"from\":\"b\",\"request\":\"1 once\",\"state\":\"queued\"}",                 /* no epoch */
                "{\"id\":\"x\",\"from\":\"b\",\"request\":\"1 once\",\"state\":\"done\",\"epoch\":1,\"exit\":\"x\"}",
                "{\"id\":\"x\",\"from\":\"b\",\"request\":\"1 once\",\"state\":\"done\",\"epoch\":1,\"exit\":300}",
                "{\"id\":\"x\",\"from\":\"b\",\"request\":\"1 once\",\"state\":\"running\",\"epoch\":1,\"log\":{}}",
                /* seq must increase: a line relayed twice otherwise */
                "{\"id\":\"x\",\"from\":\"b\",\"request\":\"1 once\",\"state\":\"running\",\"epoch\":1,\"log\":["
                "{\"seq\":2,\"stream\":\"out\",\"text\":\"a\"},{\"seq\":2,\"stream\":\"out\",\"text\":\"b\"}]}",
                "{\"id\":\"x\",\"from\":\"b\",\"request\":\"1 once\",\"state\":\"running\",\"epoch\":1,\"log\":["
                "{\"seq\":1,\"stream\":\"err\",\"text\":\"a\"}]}",
                "{\"id\":\"x\",\"from\":\"b\",\"request\":\"1 once\",\"state\":\"running\",\"epoch\":1,\"log\":["
                "{\"seq\":1,\"stream\":\"log\",\"text\":\"no level\"}]}",
        };
        struct etcdmsg_command c;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_int_equal(etcdmsg_command_parse(bad[i], strlen(bad[i]), &c), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(etcdmsg__simple_bodies__exact),
                cmocka_unit_test(etcdmsg__campaign_body__as_in_the_design),
                cmocka_unit_test(etcdmsg__guarded_body__both_compares_and_both_ranges),
                cmocka_unit_test(etcdmsg__grant_answer__id_exact_and_ttl),
                cmocka_unit_test(etcdmsg__keepalive__ttl_or_lost),
                cmocka_unit_test(etcdmsg__keepalive_stream_error__no_leader),
                cmocka_unit_test(etcdmsg__timetolive__left_or_gone),
                cmocka_unit_test(etcdmsg__campaign_answers__won_and_lost_with_holder),
                cmocka_unit_test(etcdmsg__guarded_answers__moved_and_deposed_told_apart),
                cmocka_unit_test(etcdmsg__range_answers__prefix_and_empty),
                cmocka_unit_test(etcdmsg__put_revoke_delete__revision),
                cmocka_unit_test(etcdmsg__put_prev_kv__body_and_answers),
                cmocka_unit_test(etcdmsg__unary_errors__classified_with_words),
                cmocka_unit_test(etcdmsg__foreign_error_bodies__words_kept),
                cmocka_unit_test(etcdmsg__authenticate_and_version),
                cmocka_unit_test(etcdmsg__malformed_answers__ebadmsg),
                cmocka_unit_test(etcdmsg__command__encoded_byte_for_byte_and_read_back),
                cmocka_unit_test(etcdmsg__command__queued_has_null_exit_and_no_lines),
                cmocka_unit_test(etcdmsg__command__malformed__ebadmsg),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
