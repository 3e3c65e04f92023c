/* health: owns the HTTP health checks — libcurl's multi interface driven by sd-event (socket and timer callbacks
 * wired to sd_event_add_io / sd_event_add_time), one reusable easy handle per target so connections are kept
 * alive, a hard whole-request timeout, a capped body; and one-off POSTs on the same multi handle (the alert
 * webhook). The only module that includes curl/curl.h.
 * Results are data (an enum), not errors; it does not log. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#define HEALTH_BODY_MAX (64u * 1024u)

enum health_status {
        HEALTH_OK,
        HEALTH_DNS_ERROR,
        HEALTH_CONNECT_ERROR,
        HEALTH_TIMEOUT,         /* no complete answer within the timeout */
        HEALTH_HTTP_STATUS,     /* answered, status outside 2xx */
        HEALTH_BODY_MISMATCH,   /* 2xx but expect_body not in the body */
        HEALTH_PROTOCOL_ERROR,  /* anything else curl reports (bad response, reset, TLS...) */
        HEALTH_ABORTED,         /* cancelled by the caller (health_target_cancel) */
};

const char *health_status_to_string(enum health_status s);     /* "ok", "dns error", "timeout", ... */

struct health_result {
        enum health_status status;
        long http_code;         /* 0 when no response */
        uint64_t latency_usec;
        char error[256];        /* curl's words when there are some, else "" */
};

/* Pure: the verdict on a complete HTTP response (transport errors are mapped before this is called).
 * 2xx and (no expect_body, or body contains it) → HEALTH_OK. body need not be NUL-terminated. */
enum health_status health_evaluate(long http_code, const char *body, size_t body_len, const char *expect_body);

/* Whether this libcurl resolves host names without blocking (CURL_VERSION_ASYNCHDNS: threaded resolver or
 * c-ares). Without one a slow DNS server would stall the whole loop; health_new refuses (-ENOTSUP). */
bool health_async_resolver(void);

struct health;
struct health_target;

typedef void (*health_done_fn)(struct health_target *t, const struct health_result *r, void *userdata);

int health_new(sd_event *e, struct health **ret);
struct health *health_free(struct health *h);

/* How https checks made by targets created from now on verify the server: against ca_file (NULL: curl's default
 * bundle), or not at all when verify is false (health.tls_verify: false). One-off requests keep curl's defaults. */
int health_set_tls(struct health *h, const char *ca_file, bool verify);           /* cancels all in-flight checks; NULL is fine */

/* A target is one URL checked repeatedly on the same easy handle. */
int health_target_new(struct health *h, const char *url, uint64_t timeout_usec, const char *expect_body,
                      health_done_fn done, void *userdata, struct health_target **ret);
struct health_target *health_target_free(struct health_target *t);

/* Starts one check. -EBUSY if one is already in flight for this target. The callback runs from the loop. */
int health_target_start(struct health_target *t);
bool health_target_busy(const struct health_target *t);
/* Cancels an in-flight check; the callback runs with HEALTH_ABORTED before this returns. */
void health_target_cancel(struct health_target *t);

/* A one-off POST on the same multi handle (the alert webhook): bounded by timeout_usec (connect included), no
 * redirects, no proxy, the answer's body read and dropped. The result is data like a check's: HEALTH_OK for a 2xx
 * answer, HEALTH_HTTP_STATUS otherwise, a transport status when no answer came. The body is copied. The callback
 * runs once, from the loop; the request is then finished but still allocated: free it (also from inside the
 * callback). health_free frees requests still alive, silently. */
struct health_request;
typedef void (*health_request_fn)(struct health_request *q, const struct health_result *r, void *userdata);

int health_post(struct health *h, const char *url, const char *content_type, const char *body, size_t body_len,
                uint64_t timeout_usec, health_request_fn done, void *userdata, struct health_request **ret);
struct health_request *health_request_free(struct health_request *q);   /* cancels without a callback; NULL ok */

/* The general request (etcd's gateway): health_post's rules, plus a method, extra headers, the answer's body kept
 * up to body_max bytes (one byte more fails it: HEALTH_PROTOCOL_ERROR, "larger than"), and per-request TLS. The
 * body is kept for any status (error bodies say why). Every pointer is copied or used before this returns. */
struct health_request_opts {
        const char *url;
        const char *method;             /* "POST" (NULL) or "GET" */
        const char *content_type;       /* NULL: no Content-Type header */
        const char *body;               /* POST only */
        size_t body_len;
        const char *const *headers;     /* extra "Name: value" lines, NULL-terminated; NULL: none */
        uint64_t timeout_usec;          /* the whole request, connect included */
        size_t body_max;                /* 0: read and drop the answer */
        const char *ca_file;            /* NULL: curl's default bundle */
        const char *cert_file, *key_file;       /* client certificate (PEM), NULL: none */
        bool insecure;                  /* no peer/host verification */
};
int health_request_start(struct health *h, const struct health_request_opts *o, health_request_fn done,
                         void *userdata, struct health_request **ret);
/* The answer's body (NUL-terminated, *ret_len bytes); "" when none was kept. Valid until the request is freed. */
const char *health_request_body(const struct health_request *q, size_t *ret_len);
/* Bytes on the wire: the request with its headers; the answer's headers and body. */
void health_request_bytes(const struct health_request *q, uint64_t *ret_sent, uint64_t *ret_received);

/* "http://user:secret@host/x?token=t" → "http://host/x?token=***": userinfo dropped, query values masked (keys
 * kept). malloc'd, NULL on ENOMEM. */
char *health_url_redact(const char *url);
