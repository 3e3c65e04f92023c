/* etcd: owns the etcd gateway client on the loop — endpoint failover, attempt timeouts, the auth token. */
#include "etcd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ATTEMPT_MIN_USEC (10 * USEC_PER_MSEC)   /* less time than this left: no new attempt */

struct etcd {
        struct health *health;
        char *endpoints[ETCD_ENDPOINTS_MAX];
        size_t n_endpoints;
        size_t current;                 /* the endpoint that answered last */
        uint64_t timeout_usec;
        char *ca_file, *cert_file, *key_file;
        char *user, *password;
        char *token;                    /* NULL: not authenticated (or no auth) */
        struct etcd_call *calls;
        struct etcd_counters counters;
};

struct etcd_call {
        struct etcd *etcd;
        struct etcd_call *prev, *next;
        char *path, *body;
        uint64_t deadline;
        etcd_fn fn;
        void *userdata;
        struct health_request *q;
        size_t endpoint;                /* of the attempt in flight */
        size_t tried;                   /* endpoints tried for this call */
        bool authenticating;            /* the attempt in flight is /v3/auth/authenticate */
        bool reauthenticated;           /* once per call */
        uint64_t send_usec;
        size_t msg_len;
        char message[512];
};

static char *dup_or_null(const char *s, int *r) {
        char *d;

        if (!s)
                return NULL;
        if (!(d = strdup(s)))
                *r = -ENOMEM;
        return d;
}

int etcd_new(struct health *h, const struct etcd_opts *o, struct etcd **ret) {
        struct etcd *c;
        int r = 0;

        if (!h || !o || !ret || o->n_endpoints == 0 || o->n_endpoints > ETCD_ENDPOINTS_MAX || !o->timeout_usec ||
            (o->user && !o->password))
                return -EINVAL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->health = h;
        c->timeout_usec = o->timeout_usec;
        for (size_t i = 0; i < o->n_endpoints; i++, c->n_endpoints++)
                c->endpoints[i] = dup_or_null(o->endpoints[i] ? o->endpoints[i] : "", &r);
        c->ca_file = dup_or_null(o->ca_file, &r);
        c->cert_file = dup_or_null(o->cert_file, &r);
        c->key_file = dup_or_null(o->key_file, &r);
        c->user = dup_or_null(o->user, &r);
        c->password = dup_or_null(o->password, &r);
        if (r < 0) {
                etcd_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

static void call_free(struct etcd_call *call) {
        health_request_free(call->q);
        LIST_REMOVE(call->etcd->calls, call);
        free(call->path);
        free(call->body);
        free(call);
}

struct etcd *etcd_free(struct etcd *c) {
        if (!c)
                return NULL;
        while (c->calls)
                call_free(c->calls);
        for (size_t i = 0; i < c->n_endpoints; i++)
                free(c->endpoints[i]);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free(c->user);
        if (c->password)
                explicit_bzero(c->password, strlen(c->password));
        free(c->password);
        free(c->token);
        free(c);
        return NULL;
}

const char *etcd_current_endpoint(const struct etcd *c) {
        return c->endpoints[c->current];
}

void etcd_get_counters(const struct etcd *c, struct etcd_counters *ret) {
        *ret = c->counters;
}

/* ---------------------------------------------------------------- attempts */

static void on_answer(struct health_request *q, const struct health_result *hr, void *userdata);

/* "; "-joined reasons of every failed attempt, for the caller's message. */
static void note(struct etcd_call *call, const char *fmt, const char *a, const char *b) {
        int n;

        if (call->msg_len >= sizeof call->message - 1)
                return;
        n = snprintf(call->message + call->msg_len, sizeof call->message - call->msg_len, "%s", call->msg_len ? "; " : "");
        call->msg_len += (size_t) n;
        if (call->msg_len < sizeof call->message) {
                n = snprintf(call->message + call->msg_len, sizeof call->message - call->msg_len, fmt, a, b);
                call->msg_len += (size_t) n;
        }
        if (call->msg_len >= sizeof call->message)
                call->msg_len = sizeof call->message - 1;
}

static uint64_t attempt_timeout(const struct etcd_call *call, uint64_t now) {
        uint64_t t = call->etcd->timeout_usec;

        if (call->deadline && call->deadline - now < t)
                t = call->deadline - now;
        return t;
}

static int attempt(struct etcd_call *call) {
        struct etcd *c = call->etcd;
        _cleanup_free_ char *url = NULL, *auth = NULL, *creds = NULL;
        const char *headers[2] = { NULL, NULL };
        uint64_t now = now_boottime_usec();
        struct health_request_opts o;
        int r;

        if (call->deadline && (now >= call->deadline || call->deadline - now < ATTEMPT_MIN_USEC))
                return -ETIMEDOUT;
        call->authenticating = c->user && !c->token;
        if (call->authenticating && (r = etcdmsg_authenticate(c->user, c->password, &creds)) < 0)
                return r;
        if (asprintf(&url, "%s%s", c->endpoints[call->endpoint],
                     call->authenticating ? "/v3/auth/authenticate" : call->path) < 0)
                return -ENOMEM;
        if (!call->authenticating && c->token) {
                if (asprintf(&auth, "Authorization: %s", c->token) < 0)     /* no "Bearer" (etcd's gateway) */
                        return -ENOMEM;
                headers[0] = auth;
        }
        o = (struct health_request_opts) {
                .url = url, .method = call->authenticating || call->body ? "POST" : "GET",
                .content_type = "application/json",
                .body = call->authenticating ? creds : call->body,
                .body_len = call->authenticating ? strlen(creds) : call->body ? strlen(call->body) : 0,
                .headers = headers, .timeout_usec = attempt_timeout(call, now), .body_max = ETCD_BODY_MAX,
                .ca_file = c->ca_file, .cert_file = c->cert_file, .key_file = c->key_file,
        };
        call->send_usec = now;
        r = health_request_start(c->health, &o, on_answer, call, &call->q);
        if (creds)
                explicit_bzero(creds, strlen(creds));
        if (r >= 0)
                c->counters.requests++;
        return r;
}

static void finish(struct etcd_call *call, long http, enum etcd_error err, const char *body, size_t len) {
        struct etcd_result res = {
                .ok = err == ETCD_ERROR_NONE && http >= 200 && http <= 299, .http = http, .error = err,
                .body = body ? body : "", .body_len = body ? len : 0,
                .endpoint = call->etcd->endpoints[call->endpoint], .send_usec = call->send_usec,
        };

        if (!res.ok)
                call->etcd->counters.failures++;
        snprintf(res.message, sizeof res.message, "%s", res.ok ? "" : call->message);
        call->fn(call->etcd, &res, call->userdata);
        call_free(call);
}

/* The attempt failed in a way another endpoint may not: move on, or give up when all were tried or time is out.
 * The failed attempt's request stays alive until then: body points into it. */
static void next_endpoint(struct etcd_call *call, long http, enum etcd_error err, const char *body, size_t len) {
        struct health_request *old = call->q;
        struct etcd *c = call->etcd;
        int r;

        call->q = NULL;
        if (c->current == call->endpoint)
                c->current = (call->endpoint + 1) % c->n_endpoints;
        while (++call->tried < c->n_endpoints) {
                call->endpoint = (call->endpoint + 1) % c->n_endpoints;
                r = attempt(call);
                if (r >= 0) {
                        health_request_free(old);
                        return;
                }
                if (r == -ETIMEDOUT)
                        break;
                note(call, "%s: %s", c->endpoints[call->endpoint], strerror(-r));
        }
        finish(call, http, err, body, len);
        health_request_free(old);
}

static void took_token(struct etcd_call *call, const char *body, size_t len) {
        struct etcd *c = call->etcd;
        char *token = NULL;
        int r;

        if ((r = etcdmsg_parse_authenticate(body, len, &token)) < 0) {
                note(call, "%s: authenticate: %s", c->endpoints[call->endpoint], "no token in the answer");
                finish(call, 0, ETCD_ERROR_OTHER, body, len);
                return;
        }
        free(c->token);
        c->token = token;
        c->counters.authentications++;
        health_request_free(call->q);
        call->q = NULL;
        if ((r = attempt(call)) < 0) {
                note(call, "%s: %s", c->endpoints[call->endpoint], strerror(-r));
                finish(call, 0, ETCD_ERROR_TIMEOUT, NULL, 0);
        }
}

/* An expired or unknown token (etcd restarted, --auth-token-ttl): forget it, authenticate once more, retry.
 * true: the call is taken care of (retrying, or finished). */
static bool reauthenticate(struct etcd_call *call, enum etcd_error err) {
        struct etcd *c = call->etcd;
        int r;

        if (!c->user || call->reauthenticated ||
            (err != ETCD_ERROR_AUTH_INVALID_TOKEN && err != ETCD_ERROR_AUTH_EMPTY))
                return false;
        call->reauthenticated = true;
        free(c->token);
        c->token = NULL;
        health_request_free(call->q);
        call->q = NULL;
        if ((r = attempt(call)) < 0) {
                note(call, "%s: authenticate again: %s", c->endpoints[call->endpoint], strerror(-r));
                finish(call, 0, err, NULL, 0);
        }
        return true;
}

static void on_answer(struct health_request *q, const struct health_result *hr, void *userdata) {
        struct etcd_call *call = userdata;
        struct etcd *c = call->etcd;
        const char *ep = c->endpoints[call->endpoint];
        char words[256];
        enum etcd_error err;
        const char *body;
        uint64_t sent, received;
        size_t len;

        health_request_bytes(q, &sent, &received);
        c->counters.bytes_sent += sent;
        c->counters.bytes_received += received;
        body = health_request_body(q, &len);
        if (hr->status != HEALTH_OK && hr->status != HEALTH_HTTP_STATUS) {
                note(call, "%s: %s", ep, hr->error[0] ? hr->error : health_status_to_string(hr->status));
                next_endpoint(call, 0, hr->status == HEALTH_TIMEOUT ? ETCD_ERROR_TIMEOUT : ETCD_ERROR_UNAVAILABLE,
                              NULL, 0);
                return;
        }
        err = etcdmsg_parse_error(hr->http_code, body, len, words, sizeof words);
        if (err == ETCD_ERROR_NONE) {
                c->current = call->endpoint;
                if (call->authenticating)
                        took_token(call, body, len);
                else
                        finish(call, hr->http_code, err, body, len);
                return;
        }
        if (reauthenticate(call, err))
                return;
        note(call, "%s: %s", ep, words[0] ? words : etcd_error_to_string(err));
        if (etcd_error_retriable(err))
                next_endpoint(call, hr->http_code, err, body, len);
        else {
                c->current = call->endpoint;    /* it answered: the next call need not move */
                finish(call, hr->http_code, err, body, len);
        }
}

int etcd_call(struct etcd *c, const char *path, const char *body, uint64_t deadline, etcd_fn fn, void *userdata,
              struct etcd_call **ret) {
        struct etcd_call *call;
        int r;

        if (!c || !path || path[0] != '/' || !fn)
                return -EINVAL;
        call = calloc(1, sizeof *call);
        if (!call)
                return -ENOMEM;
        *call = (struct etcd_call) { .etcd = c, .deadline = deadline, .fn = fn, .userdata = userdata,
                                     .endpoint = c->current };
        call->path = strdup(path);
        call->body = body ? strdup(body) : NULL;
        LIST_PREPEND(c->calls, call);
        if (!call->path || (body && !call->body))
                r = -ENOMEM;
        else
                r = attempt(call);
        /* The first endpoint refusing at once (a bad URL) is the caller's error; no callback. */
        if (r < 0) {
                call_free(call);
                return r;
        }
        if (ret)
                *ret = call;
        return 0;
}

void etcd_call_cancel(struct etcd_call *call) {
        if (call)
                call_free(call);
}
