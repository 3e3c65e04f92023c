/* etcdmsg: owns etcd v3 gateway request bodies and the parsers of their answers (pure). */
#include "etcdmsg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json.h"
#include "jsonread.h"

static const char *const error_names[] = {
        [ETCD_ERROR_NONE] = "ok",
        [ETCD_ERROR_UNAVAILABLE] = "unavailable",
        [ETCD_ERROR_TIMEOUT] = "request timed out",
        [ETCD_ERROR_NO_LEADER] = "no leader",
        [ETCD_ERROR_LEASE_NOT_FOUND] = "lease not found",
        [ETCD_ERROR_AUTH_EMPTY] = "no auth token",
        [ETCD_ERROR_AUTH_INVALID_TOKEN] = "invalid auth token",
        [ETCD_ERROR_AUTH_FAILED] = "authentication failed",
        [ETCD_ERROR_PERMISSION_DENIED] = "permission denied",
        [ETCD_ERROR_AUTH_NOT_ENABLED] = "authentication is not enabled",
        [ETCD_ERROR_OTHER] = "error",
};

const char *etcd_error_to_string(enum etcd_error e) {
        if ((size_t) e >= sizeof error_names / sizeof *error_names)
                return "unknown";
        return error_names[e];
}

bool etcd_error_retriable(enum etcd_error e) {
        return e == ETCD_ERROR_UNAVAILABLE || e == ETCD_ERROR_TIMEOUT || e == ETCD_ERROR_NO_LEADER;
}

/* ---------------------------------------------------------------- errors */

/* etcd's messages are gRPC status texts, stable across 3.4/3.5 (rpctypes): matched as substrings. */
static enum etcd_error classify(long http, const char *msg) {
        static const struct {
                const char *words;
                enum etcd_error e;
        } table[] = {
                { "no leader", ETCD_ERROR_NO_LEADER },
                { "request timed out", ETCD_ERROR_TIMEOUT },
                { "deadline exceeded", ETCD_ERROR_TIMEOUT },
                { "lease not found", ETCD_ERROR_LEASE_NOT_FOUND },
                { "user name is empty", ETCD_ERROR_AUTH_EMPTY },
                { "invalid auth token", ETCD_ERROR_AUTH_INVALID_TOKEN },
                { "authentication failed", ETCD_ERROR_AUTH_FAILED },
                { "permission denied", ETCD_ERROR_PERMISSION_DENIED },
                { "authentication is not enabled", ETCD_ERROR_AUTH_NOT_ENABLED },
        };

        for (size_t i = 0; msg && i < sizeof table / sizeof *table; i++)
                if (strstr(msg, table[i].words))
                        return table[i].e;
        if (http == 401)
                return ETCD_ERROR_AUTH_INVALID_TOKEN;
        if (http == 403)
                return ETCD_ERROR_PERMISSION_DENIED;
        if (http == 503)
                return ETCD_ERROR_UNAVAILABLE;
        return ETCD_ERROR_OTHER;
}

static void copy_line(char *msg, size_t size, const char *s, size_t len) {
        size_t n = 0;

        if (!msg || size == 0)
                return;
        while (n < len && n + 1 < size && s[n] != '\n' && s[n] != '\r' && s[n] != '\0')
                n++;
        memcpy(msg, s, n);
        msg[n] = '\0';
}

/* "error" is a string (unary) or an object with "message" (stream); "message" beside it is the same words. */
static char *error_words(const struct jsonread *j, int e) {
        char *s = NULL;

        if (j->tok[e].type == JSONREAD_OBJECT)
                (void) jsonread_get_string(j, (size_t) e, "message", &s);
        else if (jsonread_get_string(j, 0, "message", &s) < 0)
                (void) jsonread_string(j, (size_t) e, &s, NULL);
        return s;
}

enum etcd_error etcdmsg_parse_error(long http, const char *body, size_t len, char *msg, size_t msg_size) {
        bool ok = http >= 200 && http <= 299;
        enum etcd_error r;
        struct jsonread j;
        char *words = NULL;
        int e;

        if (msg && msg_size)
                msg[0] = '\0';
        if (jsonread_parse(&j, body ? body : "", body ? len : 0) < 0 || j.tok[0].type != JSONREAD_OBJECT) {
                jsonread_done(&j);
                if (ok)
                        return ETCD_ERROR_NONE;         /* the caller's parser says what is wrong with it */
                copy_line(msg, msg_size, body ? body : "", body ? len : 0);
                return classify(http, NULL);
        }
        e = jsonread_get(&j, 0, "error");
        if (e < 0)
                e = jsonread_get(&j, 0, "result.error");
        if (e < 0) {
                jsonread_done(&j);
                if (!ok && msg && msg_size)
                        snprintf(msg, msg_size, "HTTP %ld", http);
                return ok ? ETCD_ERROR_NONE : classify(http, NULL);
        }
        words = error_words(&j, e);
        jsonread_done(&j);
        r = classify(http, words);
        if (words)
                copy_line(msg, msg_size, words, strlen(words));
        free(words);
        return r;
}

/* ---------------------------------------------------------------- requests */

struct body {
        FILE *f;
        char *text;
        size_t size;
        struct json j;
};

static int body_begin(struct body *b) {
        *b = (struct body) { 0 };
        b->f = open_memstream(&b->text, &b->size);
        if (!b->f)
                return -ENOMEM;
        json_init(&b->j, b->f);
        json_object_begin(&b->j);
        return 0;
}

static int body_end(struct body *b, char **ret) {
        json_object_end(&b->j);
        if (fclose(b->f) != 0 || !b->text) {
                free(b->text);
                return -ENOMEM;
        }
        *ret = b->text;
        return 0;
}

/* int64 as a JSON string: the gateway's (and JavaScript's) numbers stop being exact at 2^53. */
static void key_i64(struct json *j, const char *key, int64_t v) {
        char buf[24];

        snprintf(buf, sizeof buf, "%" PRId64, v);
        json_key(j, key);
        json_string(j, buf);
}

/* "key": base64 of the bytes. Returns -ENOMEM. */
static int key_b64(struct json *j, const char *key, const void *data, size_t len) {
        char *e;

        if (base64_encode(data, len, &e) < 0)
                return -ENOMEM;
        json_key(j, key);
        json_string(j, e);
        free(e);
        return 0;
}

int etcdmsg_authenticate(const char *name, const char *password, char **ret) {
        struct body b;

        if (body_begin(&b) < 0)
                return -ENOMEM;
        json_key(&b.j, "name"), json_string(&b.j, name);
        json_key(&b.j, "password"), json_string(&b.j, password);
        return body_end(&b, ret);
}

int etcdmsg_grant(int64_t ttl_sec, char **ret) {
        struct body b;

        if (body_begin(&b) < 0)
                return -ENOMEM;
        key_i64(&b.j, "TTL", ttl_sec);
        return body_end(&b, ret);
}

int etcdmsg_lease(int64_t id, char **ret) {
        struct body b;

        if (body_begin(&b) < 0)
                return -ENOMEM;
        key_i64(&b.j, "ID", id);
        return body_end(&b, ret);
}

int etcdmsg_range(const char *key, const char *range_end, char **ret) {
        struct body b;
        int r;

        if (body_begin(&b) < 0)
                return -ENOMEM;
        r = key_b64(&b.j, "key", key, strlen(key));
        if (r >= 0 && range_end)
                r = key_b64(&b.j, "range_end", range_end, strlen(range_end));
        if (r < 0) {
                fclose(b.f);
                free(b.text);
                return r;
        }
        return body_end(&b, ret);
}

int etcdmsg_range_prefix(const char *prefix, char **ret) {
        size_t n = prefix ? strlen(prefix) : 0;
        char *end;
        int r;

        if (n == 0 || (unsigned char) prefix[n - 1] == 0xff)
                return -EINVAL;
        end = strdup(prefix);
        if (!end)
                return -ENOMEM;
        end[n - 1]++;
        r = etcdmsg_range(prefix, end, ret);
        free(end);
        return r;
}

/* The fields of a put, inside an object already begun (top level or "request_put"). */
static int write_put(struct json *j, const struct etcdmsg_put_op *p) {
        if (key_b64(j, "key", p->key, strlen(p->key)) < 0 || key_b64(j, "value", p->value, p->value_len) < 0)
                return -ENOMEM;
        if (p->lease)
                key_i64(j, "lease", p->lease);
        if (p->ignore_lease)
                json_key(j, "ignore_lease"), json_bool(j, true);
        if (p->prev_kv)
                json_key(j, "prev_kv"), json_bool(j, true);
        return 0;
}

static int body_fail(struct body *b, int r) {
        fclose(b->f);
        free(b->text);
        return r;
}

int etcdmsg_put(const char *key, const void *value, size_t value_len, int64_t lease, bool ignore_lease, char **ret) {
        struct etcdmsg_put_op p = { key, value, value_len, lease, ignore_lease, false };
        struct body b;

        if (body_begin(&b) < 0)
                return -ENOMEM;
        if (write_put(&b.j, &p) < 0)
                return body_fail(&b, -ENOMEM);
        return body_end(&b, ret);
}

int etcdmsg_put_prev(const char *key, const void *value, size_t value_len, int64_t lease, char **ret) {
        struct etcdmsg_put_op p = { key, value, value_len, lease, false, true };
        struct body b;

        if (body_begin(&b) < 0)
                return -ENOMEM;
        if (write_put(&b.j, &p) < 0)
                return body_fail(&b, -ENOMEM);
        return body_end(&b, ret);
}

int etcdmsg_deleterange(const char *key, char **ret) {
        return etcdmsg_range(key, NULL, ret);   /* the same body: {"key":…} */
}

static int write_compare(struct json *j, const char *key, const char *target, const char *field, int64_t v) {
        json_object_begin(j);
        if (key_b64(j, "key", key, strlen(key)) < 0)
                return -ENOMEM;
        json_key(j, "target"), json_string(j, target);
        json_key(j, "result"), json_string(j, "EQUAL");
        key_i64(j, field, v);
        json_object_end(j);
        return 0;
}

static int write_request(struct json *j, const char *kind, const struct etcdmsg_put_op *p, const char *range_key) {
        int r;

        json_object_begin(j);
        json_key(j, kind);
        json_object_begin(j);
        r = p ? write_put(j, p) : key_b64(j, "key", range_key, strlen(range_key));
        json_object_end(j);
        json_object_end(j);
        return r;
}

int etcdmsg_create(const char *key, const void *value, size_t value_len, int64_t lease, char **ret) {
        struct etcdmsg_put_op p = { key, value, value_len, lease, false, false };
        struct body b;

        if (body_begin(&b) < 0)
                return -ENOMEM;
        json_key(&b.j, "compare"), json_array_begin(&b.j);
        if (write_compare(&b.j, key, "CREATE", "create_revision", 0) < 0)
                return body_fail(&b, -ENOMEM);
        json_array_end(&b.j);
        json_key(&b.j, "success"), json_array_begin(&b.j);
        if (write_request(&b.j, "request_put", &p, NULL) < 0)
                return body_fail(&b, -ENOMEM);
        json_array_end(&b.j);
        json_key(&b.j, "failure"), json_array_begin(&b.j);
        if (write_request(&b.j, "request_range", NULL, key) < 0)
                return body_fail(&b, -ENOMEM);
        json_array_end(&b.j);
        return body_end(&b, ret);
}

static int write_guard(struct json *j, const struct etcdmsg_guard *g) {
        json_key(j, "compare"), json_array_begin(j);
        if (write_compare(j, g->leader_key, "LEASE", "lease", g->lease) < 0 ||
            (g->record_key && write_compare(j, g->record_key, "MOD", "mod_revision", g->record_mod_revision) < 0))
                return -ENOMEM;
        json_array_end(j);
        return 0;
}

int etcdmsg_guarded(const struct etcdmsg_guard *g, const struct etcdmsg_put_op *puts, size_t n_puts, char **ret) {
        struct body b;

        if (!g || !g->leader_key || g->lease == 0)
                return -EINVAL;
        if (body_begin(&b) < 0)
                return -ENOMEM;
        if (write_guard(&b.j, g) < 0)
                return body_fail(&b, -ENOMEM);
        json_key(&b.j, "success"), json_array_begin(&b.j);
        for (size_t i = 0; i < n_puts; i++)
                if (write_request(&b.j, "request_put", &puts[i], NULL) < 0)
                        return body_fail(&b, -ENOMEM);
        json_array_end(&b.j);
        json_key(&b.j, "failure"), json_array_begin(&b.j);
        if (write_request(&b.j, "request_range", NULL, g->leader_key) < 0 ||
            (g->record_key && write_request(&b.j, "request_range", NULL, g->record_key) < 0))
                return body_fail(&b, -ENOMEM);
        json_array_end(&b.j);
        return body_end(&b, ret);
}

/* ---------------------------------------------------------------- answers */

/* Parses an object answer; -EBADMSG for anything else. */
static int open_answer(struct jsonread *j, const char *body, size_t len) {
        int r = jsonread_parse(j, body ? body : "", body ? len : 0);

        if (r == -ENOMEM)
                return r;
        if (r < 0 || j->tok[0].type != JSONREAD_OBJECT) {
                jsonread_done(j);
                return -EBADMSG;
        }
        return 0;
}

static int finish(struct jsonread *j, int r) {
        jsonread_done(j);
        return r == -ENOMEM ? r : r < 0 ? -EBADMSG : r;
}

int etcdmsg_parse_authenticate(const char *body, size_t len, char **ret_token) {
        struct jsonread j;
        int r;

        if ((r = open_answer(&j, body, len)) < 0)
                return r;
        r = jsonread_get_string(&j, 0, "token", ret_token);
        return finish(&j, r);
}

int etcdmsg_parse_grant(const char *body, size_t len, int64_t *ret_id, int64_t *ret_ttl) {
        struct jsonread j;
        int64_t id, ttl;
        int r;

        if ((r = open_answer(&j, body, len)) < 0)
                return r;
        r = jsonread_get_i64(&j, 0, "ID", 0, &id);
        if (r >= 0)
                r = jsonread_get_i64(&j, 0, "TTL", 0, &ttl);
        if (r >= 0 && (id == 0 || ttl <= 0))
                r = -EBADMSG;           /* a grant names its lease and its TTL */
        if (r >= 0)
                *ret_id = id, *ret_ttl = ttl;
        return finish(&j, r);
}

int etcdmsg_parse_keepalive(const char *body, size_t len, int64_t *ret_ttl) {
        struct jsonread j;
        int64_t ttl;
        int r, res;

        if ((r = open_answer(&j, body, len)) < 0)
                return r;
        /* A stream message: {"result":{…}}; an answer without it (an error body) is not a keep-alive. */
        res = jsonread_get(&j, 0, "result");
        if (res < 0 || j.tok[res].type != JSONREAD_OBJECT)
                return finish(&j, -EBADMSG);
        r = jsonread_get_i64(&j, (size_t) res, "TTL", 0, &ttl);
        if (r >= 0)
                *ret_ttl = ttl < 0 ? 0 : ttl;
        return finish(&j, r);
}

int etcdmsg_parse_timetolive(const char *body, size_t len, int64_t *ret_ttl) {
        struct jsonread j;
        int r;

        if ((r = open_answer(&j, body, len)) < 0)
                return r;
        r = jsonread_get_i64(&j, 0, "TTL", 0, ret_ttl);
        return finish(&j, r);
}

int etcdmsg_parse_revision(const char *body, size_t len, int64_t *ret) {
        struct jsonread j;
        int r;

        if ((r = open_answer(&j, body, len)) < 0)
                return r;
        r = jsonread_get(&j, 0, "header") < 0 ? -EBADMSG : jsonread_get_i64(&j, 0, "header.revision", 0, ret);
        return finish(&j, r);
}

static void kv_done(struct etcdmsg_kv *kv) {
        free(kv->key);
        free(kv->value);
}

static int decode_field(const struct jsonread *j, size_t o, const char *name, char **ret, size_t *ret_len) {
        char *b64 = NULL;
        int r = jsonread_get(j, o, name);

        if (r == -ENOENT)                       /* an empty value is omitted */
                return base64_decode("", 0, ret, ret_len);
        if (r < 0 || (r = jsonread_string(j, (size_t) r, &b64, NULL)) < 0)
                return r;
        r = base64_decode(b64, strlen(b64), ret, ret_len);
        free(b64);
        return r;
}

static int parse_kv(const struct jsonread *j, size_t o, struct etcdmsg_kv *kv) {
        int r;

        *kv = (struct etcdmsg_kv) { 0 };
        if ((r = decode_field(j, o, "key", &kv->key, NULL)) < 0 ||
            (r = decode_field(j, o, "value", &kv->value, &kv->value_len)) < 0 ||
            (r = jsonread_get_i64(j, o, "create_revision", 0, &kv->create_revision)) < 0 ||
            (r = jsonread_get_i64(j, o, "mod_revision", 0, &kv->mod_revision)) < 0 ||
            (r = jsonread_get_i64(j, o, "version", 0, &kv->version)) < 0 ||
            (r = jsonread_get_i64(j, o, "lease", 0, &kv->lease)) < 0) {
                kv_done(kv);
                return r;
        }
        return 0;
}

void etcdmsg_kv_done(struct etcdmsg_kv *kv) {
        if (kv)
                kv_done(kv);
}

int etcdmsg_parse_prev_kv(const char *body, size_t len, struct etcdmsg_kv *ret) {
        struct jsonread j;
        int o, r;

        if ((r = open_answer(&j, body, len)) < 0)
                return r;
        if (jsonread_get(&j, 0, "header") < 0)
                return finish(&j, -EBADMSG);
        o = jsonread_get(&j, 0, "prev_kv");
        if (o < 0)
                return finish(&j, 0);
        if (j.tok[o].type != JSONREAD_OBJECT)
                return finish(&j, -EBADMSG);
        r = parse_kv(&j, (size_t) o, ret);
        return finish(&j, r < 0 ? r : 1);
}

void etcdmsg_range_result_done(struct etcdmsg_range_result *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n; i++)
                kv_done(&r->kvs[i]);
        free(r->kvs);
        *r = (struct etcdmsg_range_result) { 0 };
}

void etcdmsg_txn_result_done(struct etcdmsg_txn_result *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++)
                etcdmsg_range_result_done(&t->responses[i]);
        free(t->responses);
        *t = (struct etcdmsg_txn_result) { 0 };
}

/* A range answer's body at token o (the whole answer, or a txn's "response_range"). */
static int parse_range_at(const struct jsonread *j, size_t o, struct etcdmsg_range_result *ret) {
        struct etcdmsg_range_result res = { 0 };
        int kvs = jsonread_get(j, o, "kvs"), r;

        if ((r = jsonread_get_i64(j, o, "header.revision", 0, &res.revision)) < 0)
                return r;
        if (kvs >= 0 && j->tok[kvs].type != JSONREAD_ARRAY)
                return -EBADMSG;
        if (kvs >= 0 && j->tok[kvs].size > 0) {
                res.kvs = calloc(j->tok[kvs].size, sizeof *res.kvs);
                if (!res.kvs)
                        return -ENOMEM;
                for (size_t i = 0; i < j->tok[kvs].size; i++, res.n++)
                        if ((r = parse_kv(j, (size_t) jsonread_item(j, (size_t) kvs, i), &res.kvs[i])) < 0) {
                                etcdmsg_range_result_done(&res);
                                return r;
                        }
        }
        *ret = res;
        return 0;
}

int etcdmsg_parse_range(const char *body, size_t len, struct etcdmsg_range_result *ret) {
        struct jsonread j;
        int r;

        if ((r = open_answer(&j, body, len)) < 0)
                return r;
        r = jsonread_get(&j, 0, "header") < 0 ? -EBADMSG : parse_range_at(&j, 0, ret);
        return finish(&j, r);
}

static int parse_responses(const struct jsonread *j, struct etcdmsg_txn_result *t) {
        int a = jsonread_get(j, 0, "responses"), r;

        if (a < 0)
                return 0;                       /* a txn with no operations on its branch */
        if (j->tok[a].type != JSONREAD_ARRAY)
                return -EBADMSG;
        t->responses = calloc(j->tok[a].size + 1, sizeof *t->responses);
        if (!t->responses)
                return -ENOMEM;
        for (size_t i = 0; i < j->tok[a].size; i++, t->n++) {
                int item = jsonread_item(j, (size_t) a, i);
                int rr = jsonread_get(j, (size_t) item, "response_range");

                if (rr >= 0 && (r = parse_range_at(j, (size_t) rr, &t->responses[i])) < 0)
                        return r;
        }
        return 0;
}

int etcdmsg_parse_txn(const char *body, size_t len, struct etcdmsg_txn_result *ret) {
        struct etcdmsg_txn_result t = { 0 };
        struct jsonread j;
        int r;

        if ((r = open_answer(&j, body, len)) < 0)
                return r;
        if (jsonread_get(&j, 0, "header") < 0)
                r = -EBADMSG;
        if (r >= 0)
                r = jsonread_get_i64(&j, 0, "header.revision", 0, &t.revision);
        if (r >= 0)
                r = jsonread_get_bool(&j, 0, "succeeded", false, &t.succeeded);
        if (r >= 0)
                r = parse_responses(&j, &t);
        if (r < 0)
                etcdmsg_txn_result_done(&t);
        else
                *ret = t;
        return finish(&j, r);
}

/* "3.4.0" ≥ 3.4: major.minor compared as numbers. */
static bool version_at_least_3_4(const char *v) {
        unsigned major = 0, minor = 0;

        if (sscanf(v, "%u.%u", &major, &minor) != 2)
                return false;
        return major > 3 || (major == 3 && minor >= 4);
}

int etcdmsg_parse_version(const char *body, size_t len, char **ret_server, char **ret_cluster) {
        char *server = NULL, *cluster = NULL;
        struct jsonread j;
        int r;

        if ((r = open_answer(&j, body, len)) < 0)
                return r;
        r = jsonread_get_string(&j, 0, "etcdserver", &server);
        if (r >= 0)
                r = jsonread_get_string(&j, 0, "etcdcluster", &cluster);
        r = finish(&j, r);
        if (r >= 0 && !version_at_least_3_4(cluster))
                r = -ENOTSUP;
        if (r >= 0 || r == -ENOTSUP) {
                if (ret_server)
                        *ret_server = server, server = NULL;
                if (ret_cluster)
                        *ret_cluster = cluster, cluster = NULL;
        }
        free(server);
        free(cluster);
        return r;
}

/* ---------------------------------------------------------------- a forwarded command */

static void write_command_line(struct json *j, const struct etcdmsg_command_line *l) {
        json_object_begin(j);
        json_key(j, "seq"), json_i64(j, l->seq);
        json_key(j, "stream"), json_string(j, l->level ? "log" : "out");
        if (l->level)
                json_key(j, "level"), json_string(j, l->level);
        json_key(j, "text"), json_string(j, l->text ? l->text : "");
        json_object_end(j);
}

int etcdmsg_command_encode(const struct etcdmsg_command *c, char **ret) {
        struct body b;

        if (!c->id || !c->from || !c->request || !c->state)
                return -EINVAL;
        if (body_begin(&b) < 0)
                return -ENOMEM;
        json_key(&b.j, "id"), json_string(&b.j, c->id);
        json_key(&b.j, "from"), json_string(&b.j, c->from);
        json_key(&b.j, "uid"), json_i64(&b.j, c->uid);
        json_key(&b.j, "pid"), json_i64(&b.j, c->pid);
        json_key(&b.j, "request"), json_string(&b.j, c->request);
        json_key(&b.j, "epoch"), json_i64(&b.j, c->epoch);
        json_key(&b.j, "state"), json_string(&b.j, c->state);
        json_key(&b.j, "log"), json_array_begin(&b.j);
        for (size_t i = 0; i < c->n_lines; i++)
                write_command_line(&b.j, &c->lines[i]);
        json_array_end(&b.j);
        json_key(&b.j, "exit");
        if (c->has_exit)
                json_i64(&b.j, c->exit_code);
        else
                json_null(&b.j);
        return body_end(&b, ret);
}

void etcdmsg_command_done(struct etcdmsg_command *c) {
        for (size_t i = 0; i < c->n_lines; i++) {
                free(c->lines[i].level);
                free(c->lines[i].text);
        }
        free(c->lines);
        free(c->id);
        free(c->from);
        free(c->request);
        free(c->state);
        *c = (struct etcdmsg_command) { 0 };
}

static int parse_command_line(const struct jsonread *j, size_t t, int64_t prev, struct etcdmsg_command_line *l) {
        char *stream = NULL;
        int r;

        if (j->tok[t].type != JSONREAD_OBJECT)
                return -EBADMSG;
        if ((r = jsonread_get_i64(j, t, "seq", -1, &l->seq)) < 0 || l->seq <= prev ||
            (r = jsonread_get_string(j, t, "stream", &stream)) < 0 ||
            (r = jsonread_get_string(j, t, "text", &l->text)) < 0)
                return free(stream), r < 0 ? r : -EBADMSG;
        if (strcmp(stream, "log") == 0)
                r = jsonread_get_string(j, t, "level", &l->level);
        else if (strcmp(stream, "out") != 0)
                r = -EBADMSG;
        free(stream);
        return r;
}

static int parse_command_lines(const struct jsonread *j, struct etcdmsg_command *c) {
        int a = jsonread_get(j, 0, "log"), r;

        if (a == -ENOENT)
                return 0;
        if (a < 0 || j->tok[a].type != JSONREAD_ARRAY || j->tok[a].size > ETCDMSG_COMMAND_LINES_MAX)
                return -EBADMSG;
        if (j->tok[a].size == 0)
                return 0;
        c->lines = calloc(j->tok[a].size, sizeof *c->lines);
        if (!c->lines)
                return -ENOMEM;
        for (size_t i = 0; i < j->tok[a].size; i++, c->n_lines++) {
                r = parse_command_line(j, (size_t) jsonread_item(j, (size_t) a, i),
                                       i ? c->lines[i - 1].seq : 0, &c->lines[i]);
                if (r < 0) {
                        c->n_lines++;           /* what it allocated is freed with the rest */
                        return r;
                }
        }
        return 0;
}

static int parse_command_exit(const struct jsonread *j, struct etcdmsg_command *c) {
        int t = jsonread_get(j, 0, "exit"), r;
        int64_t code;

        if (t == -ENOENT || (t >= 0 && j->tok[t].type == JSONREAD_NULL))
                return 0;
        if (t < 0 || (r = jsonread_i64(j, (size_t) t, &code)) < 0 || code < 0 || code > 255)
                return -EBADMSG;
        c->has_exit = true;
        c->exit_code = (int) code;
        return 0;
}

int etcdmsg_command_parse(const char *text, size_t len, struct etcdmsg_command *ret) {
        struct etcdmsg_command c = { 0 };
        struct jsonread j;
        int r = open_answer(&j, text, len);

        if (r < 0)
                return r;
        if ((r = jsonread_get_string(&j, 0, "id", &c.id)) < 0 ||
            (r = jsonread_get_string(&j, 0, "from", &c.from)) < 0 ||
            (r = jsonread_get_string(&j, 0, "request", &c.request)) < 0 ||
            (r = jsonread_get_string(&j, 0, "state", &c.state)) < 0 ||
            (r = jsonread_get_i64(&j, 0, "uid", 0, &c.uid)) < 0 ||
            (r = jsonread_get_i64(&j, 0, "pid", 0, &c.pid)) < 0 ||
            (r = jsonread_get_i64(&j, 0, "epoch", -1, &c.epoch)) < 0 || c.epoch < 0 ||
            (r = parse_command_lines(&j, &c)) < 0 || (r = parse_command_exit(&j, &c)) < 0) {
                etcdmsg_command_done(&c);
                return finish(&j, r < 0 ? r : -EBADMSG);
        }
        *ret = c;
        return finish(&j, 0);
}
