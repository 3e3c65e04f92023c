/* etcd: owns talking to an etcd cluster's v3 JSON gateway on the loop — one request = one POST to /v3/… on
 * health.c's curl multi handle; endpoint failover (stay on the last endpoint that answered, move on after a
 * transport error or an answer that says "try elsewhere": unavailable, timeout, no leader); a per-attempt timeout
 * bounded by the caller's deadline; the auth token (authenticate first, once more on "invalid token"/"user name
 * is empty"); TLS options passed through; request and byte counters. Nothing blocks; callbacks run from the loop.
 * It does not know what the requests mean (etcdmsg.c builds and parses them, cluster.c decides). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcdmsg.h"
#include "health.h"

#define ETCD_BODY_MAX (2u * 1024u * 1024u)
#define ETCD_ENDPOINTS_MAX 16

struct etcd_opts {
        const char *const *endpoints;   /* "http://127.0.0.1:2379", 1..ETCD_ENDPOINTS_MAX; copied */
        size_t n_endpoints;
        uint64_t timeout_usec;          /* one attempt, connect included */
        const char *ca_file, *cert_file, *key_file;     /* NULL: none / system CAs */
        const char *user, *password;    /* NULL user: no auth */
};

struct etcd_result {
        bool ok;                        /* a 2xx answer without an error body */
        long http;                      /* 0: no answer from any endpoint */
        enum etcd_error error;          /* ETCD_ERROR_UNAVAILABLE when no endpoint answered */
        const char *body;               /* the last answer's body (NUL-terminated), "" if none; valid in the callback */
        size_t body_len;
        const char *endpoint;           /* the endpoint of the last attempt */
        uint64_t send_usec;             /* CLOCK_BOOTTIME just before the last attempt was handed to curl */
        char message[512];              /* why, in words, when !ok: every endpoint's failure, "; "-joined */
};

struct etcd;
struct etcd_call;
/* Runs once, from the loop. The call is freed right after it returns. */
typedef void (*etcd_fn)(struct etcd *c, const struct etcd_result *r, void *userdata);

int etcd_new(struct health *h, const struct etcd_opts *o, struct etcd **ret);
struct etcd *etcd_free(struct etcd *c);         /* cancels calls in flight without callbacks */

/* POSTs body to path ("/v3/lease/keepalive") — or GETs path when body is NULL ("/version"). deadline: a
 * CLOCK_BOOTTIME time after which no new attempt starts and attempts are cut short; 0: only the per-attempt
 * timeout and one try per endpoint bound it. ret (may be NULL) is valid until the callback. */
int etcd_call(struct etcd *c, const char *path, const char *body, uint64_t deadline, etcd_fn fn, void *userdata,
              struct etcd_call **ret);
/* Cancels without a callback. */
void etcd_call_cancel(struct etcd_call *call);

/* The endpoint requests go to first, and counters for /metrics and the bench. */
const char *etcd_current_endpoint(const struct etcd *c);
struct etcd_counters {
        uint64_t requests, failures, bytes_sent, bytes_received, authentications;
};
void etcd_get_counters(const struct etcd *c, struct etcd_counters *ret);
