/* etcdmsg: owns the messages of etcd's v3 JSON gateway (3.4+) — the request bodies we send (docs/design/cluster.md
 * §6) and the parsers of their answers, error bodies included. Pure: text in, structs out. Keys and values are
 * base64 on the wire and plain here; int64 fields travel as JSON strings and are read exactly; a field etcd omits
 * reads as zero/false (that is how it sends them). It knows nothing of endpoints, HTTP or timing (etcd.c does). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an answer says went wrong. ETCD_ERROR_NONE: a 2xx answer without an error body. */
enum etcd_error {
        ETCD_ERROR_NONE,
        ETCD_ERROR_UNAVAILABLE,         /* 503 or gRPC code 14 without a better word */
        ETCD_ERROR_TIMEOUT,             /* "request timed out", "context deadline exceeded": usually no quorum */
        ETCD_ERROR_NO_LEADER,           /* "etcdserver: no leader" */
        ETCD_ERROR_LEASE_NOT_FOUND,     /* "requested lease not found" */
        ETCD_ERROR_AUTH_EMPTY,          /* "user name is empty": auth on, no token sent */
        ETCD_ERROR_AUTH_INVALID_TOKEN,  /* 401 "invalid auth token": expired or from before a restart */
        ETCD_ERROR_AUTH_FAILED,         /* "authentication failed, invalid user ID or password" */
        ETCD_ERROR_PERMISSION_DENIED,   /* 403 */
        ETCD_ERROR_AUTH_NOT_ENABLED,    /* 412: a user is configured but etcd has auth off */
        ETCD_ERROR_OTHER,
};

const char *etcd_error_to_string(enum etcd_error e);   /* "no leader", "lease not found", ... */

/* Whether another endpoint (or a later try) may answer differently: unavailable, timeout, no leader. */
bool etcd_error_retriable(enum etcd_error e);

/* Both shapes etcd answers errors in: unary {"error":"…","message":"…","code":N} and, from the keep-alive stream,
 * {"error":{"grpc_code":14,"http_code":503,"message":"…"}}; also a body that is not JSON (a proxy's page). The
 * message (etcd's words, or the first line of a foreign body) goes to msg (may be NULL). 2xx and no "error" →
 * ETCD_ERROR_NONE. */
enum etcd_error etcdmsg_parse_error(long http, const char *body, size_t len, char *msg, size_t msg_size);

/* ---------------------------------------------------------------- requests (malloc'd JSON text; -ENOMEM) */

int etcdmsg_authenticate(const char *name, const char *password, char **ret);
int etcdmsg_grant(int64_t ttl_sec, char **ret);                         /* /v3/lease/grant */
int etcdmsg_lease(int64_t id, char **ret);      /* {"ID":"…"}: /v3/lease/keepalive, revoke, timetolive */
/* /v3/kv/range, linearizable (never serializable: that answers stale data without quorum). range_end NULL: one
 * key. */
int etcdmsg_range(const char *key, const char *range_end, char **ret);
/* Every key starting with prefix (non-empty, last byte below 0xff): range_end is prefix with its last byte + 1. */
int etcdmsg_range_prefix(const char *prefix, char **ret);
/* /v3/kv/put; lease 0: none; ignore_lease keeps the key's current lease. */
int etcdmsg_put(const char *key, const void *value, size_t value_len, int64_t lease, bool ignore_lease, char **ret);
/* The same put, asking for the key as it was before it (prev_kv): who wrote it last, on which lease. */
int etcdmsg_put_prev(const char *key, const void *value, size_t value_len, int64_t lease, char **ret);
int etcdmsg_deleterange(const char *key, char **ret);                   /* /v3/kv/deleterange */
/* /v3/kv/txn create-if-absent (the campaign, a command's creation): compare CREATE(key) == 0, put with lease, on
 * failure range key (who holds it). */
int etcdmsg_create(const char *key, const void *value, size_t value_len, int64_t lease, char **ret);

/* A guarded write: succeeds only while leader_key is held by lease, and (record_key non-NULL) record_key's
 * mod_revision is still record_mod_revision (0: absent). On failure the answer ranges leader_key, then
 * record_key: they tell "deposed" from "moved". */
struct etcdmsg_guard {
        const char *leader_key;
        int64_t lease;
        const char *record_key;
        int64_t record_mod_revision;
};
struct etcdmsg_put_op {
        const char *key;
        const void *value;
        size_t value_len;
        int64_t lease;
        bool ignore_lease;
        bool prev_kv;           /* the answer carries the key as it was before (etcdmsg_parse_prev_kv) */
};
int etcdmsg_guarded(const struct etcdmsg_guard *g, const struct etcdmsg_put_op *puts, size_t n_puts, char **ret);

/* ---------------------------------------------------------------- answers (-EBADMSG: not the expected shape) */

struct etcdmsg_kv {
        char *key;
        char *value;            /* NUL-terminated after value_len bytes */
        size_t value_len;
        int64_t create_revision, mod_revision, version, lease;
};

struct etcdmsg_range_result {
        int64_t revision;       /* the store's revision when it answered (header) */
        size_t n;
        struct etcdmsg_kv *kvs;
};

struct etcdmsg_txn_result {
        int64_t revision;
        bool succeeded;
        size_t n;               /* one per entry of "responses", in order; a put's is an empty range */
        struct etcdmsg_range_result *responses;
};

void etcdmsg_range_result_done(struct etcdmsg_range_result *r);
void etcdmsg_txn_result_done(struct etcdmsg_txn_result *t);

int etcdmsg_parse_authenticate(const char *body, size_t len, char **ret_token);
int etcdmsg_parse_grant(const char *body, size_t len, int64_t *ret_id, int64_t *ret_ttl);
/* TTL 0 (omitted) means the lease is lost: etcd answers an unknown or expired lease's keep-alive with 200 and no
 * TTL. */
int etcdmsg_parse_keepalive(const char *body, size_t len, int64_t *ret_ttl);
/* Seconds left; -1: the lease is gone. */
int etcdmsg_parse_timetolive(const char *body, size_t len, int64_t *ret_ttl);
/* header.revision of any answer (put, deleterange, revoke). */
int etcdmsg_parse_revision(const char *body, size_t len, int64_t *ret);
/* A put's answer with prev_kv: 1 and *ret (etcdmsg_kv_done it) when the key existed before, 0 when it did not. */
int etcdmsg_parse_prev_kv(const char *body, size_t len, struct etcdmsg_kv *ret);
void etcdmsg_kv_done(struct etcdmsg_kv *kv);
int etcdmsg_parse_range(const char *body, size_t len, struct etcdmsg_range_result *ret);
int etcdmsg_parse_txn(const char *body, size_t len, struct etcdmsg_txn_result *ret);
/* GET /version: -ENOTSUP when etcdcluster is older than 3.4 (no /v3 gateway); the versions go to ret_* (may be
 * NULL, malloc'd). */
int etcdmsg_parse_version(const char *body, size_t len, char **ret_server, char **ret_cluster);

/* ---------------------------------------------------------------- a forwarded command (§9; memcmd.c moves it) */

/* The value of `<prefix>/commands/<name>-<n>`: the requester creates it "queued" with the request's protocol
 * words (control_request_format); the leader sets "running", then the last lines of output and, at the end, "done"
 * with the exit code. */
#define ETCDMSG_COMMAND_LINES_MAX 64

struct etcdmsg_command_line {
        int64_t seq;            /* 1, 2, … in the order produced: the requester relays each one once */
        char *level;            /* a log line's level name ("notice"); NULL: an "out" line (stdout) */
        char *text;
};

struct etcdmsg_command {
        char *id;               /* the key's last component, "<name>-<n>" */
        char *from;             /* the requesting member */
        int64_t uid, pid;       /* the CLI's caller there, for the journal */
        char *request;          /* "1 once force" */
        int64_t epoch;          /* the record's epoch the requester saw */
        char *state;            /* "queued", "running", "done" */
        struct etcdmsg_command_line *lines;     /* at most ETCDMSG_COMMAND_LINES_MAX, seq increasing */
        size_t n_lines;
        bool has_exit;          /* "exit": N; else null */
        int exit_code;
};

/* {"id","from","uid","pid","request","epoch","state","log":[{"seq","stream":"log"|"out","level","text"}],"exit"}
 * (malloc'd; -ENOMEM, -EINVAL without id, from, request or state). */
int etcdmsg_command_encode(const struct etcdmsg_command *c, char **ret);
/* -EBADMSG: not that shape (a missing field, more than ETCDMSG_COMMAND_LINES_MAX lines, seq not increasing). */
int etcdmsg_command_parse(const char *text, size_t len, struct etcdmsg_command *ret);
void etcdmsg_command_done(struct etcdmsg_command *c);
