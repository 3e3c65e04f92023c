/* health: owns HTTP health checks — libcurl's multi interface on sd-event, one reusable easy handle per target. */
#include "health.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

#include "util.h"

#ifdef BLF_VERSION
#define HEALTH_USER_AGENT "blfailoverd/" BLF_VERSION
#else
#define HEALTH_USER_AGENT "blfailoverd/0.1"
#endif

#define UNPARSEABLE_URL "<unparseable url>"

/* What CURLINFO_PRIVATE points at: a target or a request, told apart by their first member. */
enum xfer_kind {
        XFER_TARGET,
        XFER_REQUEST,
};

struct health {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;         /* the one curl timer; off while curl wants none */
        sd_event_source **ios;          /* every io source handed to curl_multi_assign, to free what curl forgets */
        size_t n_ios, n_ios_alloc;
        struct health_target *targets;  /* all targets, so health_free can free the ones still alive */
        struct health_request *requests;        /* likewise for requests */
        bool curl_initialized;
        char *ca_file;                  /* NULL: curl's default CA bundle */
        bool tls_insecure;              /* health.tls_verify: false — the operator opted out, and was warned */
};

struct health_target {
        enum xfer_kind kind;            /* XFER_TARGET (0): first member */
        struct health *health;
        struct health_target *prev, *next;
        CURL *easy;
        char *expect_body;
        health_done_fn done;
        void *userdata;
        bool busy;
        bool truncated;                 /* the body went past HEALTH_BODY_MAX and the transfer was stopped there */
        uint64_t started_usec;
        size_t body_len;
        char *body;                     /* HEALTH_BODY_MAX bytes, not NUL-terminated */
        char errbuf[CURL_ERROR_SIZE];
};

static const char *const status_names[] = {
        [HEALTH_OK] = "ok",
        [HEALTH_DNS_ERROR] = "dns error",
        [HEALTH_CONNECT_ERROR] = "connect error",
        [HEALTH_TIMEOUT] = "timeout",
        [HEALTH_HTTP_STATUS] = "http status",
        [HEALTH_BODY_MISMATCH] = "body mismatch",
        [HEALTH_PROTOCOL_ERROR] = "protocol error",
        [HEALTH_ABORTED] = "aborted",
};

const char *health_status_to_string(enum health_status s) {
        if ((size_t) s >= ELEMENTSOF(status_names) || !status_names[s])
                return "unknown";
        return status_names[s];
}

enum health_status health_evaluate(long http_code, const char *body, size_t body_len, const char *expect_body) {
        if (http_code < 200 || http_code > 299)
                return HEALTH_HTTP_STATUS;
        if (!expect_body)
                return HEALTH_OK;
        if (!memmem(body ? body : "", body ? body_len : 0, expect_body, strlen(expect_body)))
                return HEALTH_BODY_MISMATCH;
        return HEALTH_OK;
}

static int errno_from_curlm(CURLMcode c) {
        return c == CURLM_OK ? 0 : c == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

static int errno_from_curle(CURLcode c) {
        switch (c) {
        case CURLE_OK:
                return 0;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_UNKNOWN_OPTION:
        case CURLE_NOT_BUILT_IN:
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EOPNOTSUPP;
        default:
                return -EINVAL;
        }
}

/* Transport outcome → verdict; CURLE_OK (and a body cut at our cap) is judged by health_evaluate instead. */
static enum health_status status_from_curle(CURLcode c) {
        switch (c) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return HEALTH_DNS_ERROR;
        case CURLE_COULDNT_CONNECT:
                return HEALTH_CONNECT_ERROR;
        case CURLE_OPERATION_TIMEDOUT:
                return HEALTH_TIMEOUT;
        default:
                return HEALTH_PROTOCOL_ERROR;
        }
}

/* ---------------------------------------------------------------- io sources curl asked for */

static int ios_push(struct health *h, sd_event_source *s) {
        if (h->n_ios == h->n_ios_alloc) {
                size_t n = h->n_ios_alloc ? h->n_ios_alloc * 2 : 8;
                sd_event_source **v = reallocarray(h->ios, n, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                h->ios = v;
                h->n_ios_alloc = n;
        }
        h->ios[h->n_ios++] = s;
        return 0;
}

static void ios_drop(struct health *h, sd_event_source *s) {
        for (size_t i = 0; i < h->n_ios; i++)
                if (h->ios[i] == s) {
                        h->ios[i] = h->ios[--h->n_ios];
                        return;
                }
}

/* ---------------------------------------------------------------- completion */

static void target_detach(struct health_target *t) {
        (void) curl_multi_remove_handle(t->health->multi, t->easy);
        t->busy = false;
}

static void target_fill_error(struct health_target *t, CURLcode code, struct health_result *r) {
        /* curl's messages name host and port, never the URL's userinfo (checked in the tests). */
        const char *msg = t->errbuf[0] ? t->errbuf : curl_easy_strerror(code);

        snprintf(r->error, sizeof(r->error), "%s", msg);
}

/* The one funnel every transfer curl reports done goes through. The callback runs last: it may restart or
 * free this target (or others). */
static void target_finish(struct health_target *t, CURLcode code) {
        struct health_result r = { .latency_usec = now_monotonic_usec() - t->started_usec };
        long http_code = 0;

        (void) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &http_code);
        r.http_code = http_code;

        if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && t->truncated))
                /* A body over the cap is judged on its first HEALTH_BODY_MAX bytes. */
                r.status = health_evaluate(http_code, t->body, t->body_len, t->expect_body);
        else {
                r.status = status_from_curle(code);
                target_fill_error(t, code, &r);
        }

        target_detach(t);
        t->done(t, &r, t->userdata);
}

static void request_finish(struct health_request *q, CURLcode code);

static void health_reap(struct health *h) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(h->multi, &left))) {
                enum xfer_kind *kind = NULL;
                CURLcode code = msg->data.result;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &kind) != CURLE_OK || !kind)
                        continue;
                if (*kind == XFER_REQUEST) {
                        request_finish((struct health_request *) kind, code);
                        continue;
                }
                struct health_target *t = (struct health_target *) kind;
                if (!t->busy)   /* cannot happen: remove_handle drops a handle's pending message */
                        continue;
                target_finish(t, code);
        }
}

/* ---------------------------------------------------------------- sd-event ⇄ curl glue */

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct health *h = userdata;
        int mask = 0, running;

        if (revents & EPOLLIN)
                mask |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                mask |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                mask |= CURL_CSELECT_ERR;

        /* A failure here is curl's internal state; the transfer's own timeout still ends it. Returning an error
         * would make sd-event disable this source for good, so we do not. */
        (void) curl_multi_socket_action(h->multi, fd, mask, &running);
        health_reap(h);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct health *h = userdata;
        int running;

        (void) curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        health_reap(h);
        return 0;
}

static int socket_add(struct health *h, curl_socket_t fd, uint32_t events) {
        sd_event_source *io = NULL;

        if (sd_event_add_io(h->event, &io, fd, events, on_io, h) < 0)
                return -1;
        if (ios_push(h, io) < 0) {
                sd_event_source_disable_unref(io);
                return -1;
        }
        (void) sd_event_source_set_description(io, "health-curl-io");
        if (curl_multi_assign(h->multi, fd, io) != CURLM_OK) {
                ios_drop(h, io);
                sd_event_source_disable_unref(io);
                return -1;
        }
        return 0;
}

/* CURLMOPT_SOCKETFUNCTION: the per-socket pointer is the sd_event_source. Returns 0, or -1 to fail the transfer. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        struct health *h = userdata;
        sd_event_source *io = socketp;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        ios_drop(h, io);
                        sd_event_source_disable_unref(io);
                        (void) curl_multi_assign(h->multi, fd, NULL);
                }
                return 0;
        }

        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;

        if (!io)
                return socket_add(h, fd, events);
        if (sd_event_source_set_io_events(io, events) < 0 || sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
                return -1;
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms the sd-event timer; curl is never called from in here. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userdata) {
        struct health *h = userdata;
        uint64_t usec;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF) < 0 ? -1 : 0;

        /* curl rounds its remaining time down to ms; round up so the timer never fires before curl's deadline
         * (an early wake-up finds nothing due and just re-arms). 0 means "as soon as possible". */
        usec = timeout_ms == 0 ? 0 : (uint64_t) timeout_ms * USEC_PER_MSEC + USEC_PER_MSEC - 1;
        if (sd_event_source_set_time_relative(h->timer, usec) < 0 ||
            sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

/* ---------------------------------------------------------------- struct health */

static int health_setup_multi(struct health *h) {
        CURLMcode c;

        h->multi = curl_multi_init();
        if (!h->multi)
                return -ENOMEM;
        if ((c = curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket)) ||
            (c = curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h)) ||
            (c = curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer)) ||
            (c = curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h)))
                return errno_from_curlm(c);
        return 0;
}

bool health_async_resolver(void) {
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

        return v && (v->features & CURL_VERSION_ASYNCHDNS);
}

/* Calls curl_global_init (libcurl counts the calls; health_free undoes ours). curl_global_init is not
 * thread-safe on every libcurl: call health_new before any thread exists (the daemon has none). */
int health_new(sd_event *e, struct health **ret) {
        struct health *h;
        int r;

        if (!e || !ret)
                return -EINVAL;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(e);

        r = -EIO;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                goto fail;
        h->curl_initialized = true;
        r = -ENOTSUP;           /* check_environment says why, in words */
        if (!health_async_resolver())
                goto fail;

        /* Accuracy 1 ms: sd-event's default (250 ms) would stretch every check's timeout. */
        r = sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, h);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(h->timer, "health-curl-timer");
        r = sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        if (r < 0)
                goto fail;

        r = health_setup_multi(h);
        if (r < 0)
                goto fail;

        *ret = h;
        return 0;
fail:
        health_free(h);
        return r;
}

/* Frees every target still alive, silently (no callbacks): pointers the caller still holds to them dangle
 * afterwards, so free targets first unless shutting down. Must not be called from a health_done_fn. */
struct health *health_free(struct health *h) {
        if (!h)
                return NULL;

        while (h->targets)
                health_target_free(h->targets);
        while (h->requests)
                health_request_free(h->requests);
        if (h->multi)
                (void) curl_multi_cleanup(h->multi);    /* may still call on_curl_socket: h is intact */
        for (size_t i = 0; i < h->n_ios; i++)
                sd_event_source_disable_unref(h->ios[i]);
        free(h->ios);
        sd_event_source_disable_unref(h->timer);
        sd_event_unref(h->event);
        if (h->curl_initialized)
                curl_global_cleanup();
        free(h->ca_file);
        free(h);
        return NULL;
}

int health_set_tls(struct health *h, const char *ca_file, bool verify) {
        char *copy = NULL;

        if (ca_file && !(copy = strdup(ca_file)))
                return -ENOMEM;
        free(h->ca_file);
        h->ca_file = copy;
        h->tls_insecure = !verify;
        return 0;
}

/* ---------------------------------------------------------------- targets */

/* CURLOPT_WRITEFUNCTION: keeps the first HEALTH_BODY_MAX bytes. One byte more stops the transfer (a short count
 * makes curl fail it with CURLE_WRITE_ERROR; the connection is then closed, not reused): a health endpoint
 * that streams megabytes must not keep the loop busy, and expect_body only needs the prefix. */
static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        struct health_target *t = userdata;
        size_t n = size * nmemb, room = HEALTH_BODY_MAX - t->body_len;
        size_t take = n < room ? n : room;

        memcpy(t->body + t->body_len, data, take);
        t->body_len += take;
        if (take < n)
                t->truncated = true;
        return take;
}

/* -EINVAL unless curl parses url (the way CURLOPT_URL will) and its scheme is http or https: a typo in the
 * configuration must fail at startup, not show up as a failing backend. */
static int url_check(const char *url) {
        CURLU *u = curl_url();
        char *scheme = NULL;
        CURLUcode c;
        int r = 0;

        if (!u)
                return -ENOMEM;
        c = curl_url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME);
        if (c == CURLUE_OK)
                c = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
        if (c == CURLUE_OUT_OF_MEMORY)
                r = -ENOMEM;
        else if (c != CURLUE_OK || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
                r = -EINVAL;
        curl_free(scheme);
        curl_url_cleanup(u);
        return r;
}

/* https is verified (peer and host name) unless the operator opted out; http ignores these. */
static CURLcode setup_tls(const struct health *h, CURL *e) {
        CURLcode c;

        if ((c = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->tls_insecure ? 0L : 1L)) ||
            (c = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->tls_insecure ? 0L : 2L)))
                return c;
        if (h->ca_file)
                return curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
        return CURLE_OK;
}

static CURLcode target_setup_easy(struct health_target *t, const char *url, long timeout_ms) {
        CURL *e = t->easy;
        CURLcode c;

        /* No CURLOPT_FORBID_REUSE / FRESH_CONNECT: the connection waits in the multi's cache for the next check.
         * CURLOPT_PROXY "": a check measures the direct path, whatever http_proxy the environment carries. */
        if ((c = curl_easy_setopt(e, CURLOPT_URL, url)) ||
            (c = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https")) ||
            (c = curl_easy_setopt(e, CURLOPT_PROXY, "")) ||
            (c = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms)) ||
            (c = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms)) ||
            (c = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L)) ||
            (c = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L)) ||
            (c = curl_easy_setopt(e, CURLOPT_USERAGENT, HEALTH_USER_AGENT)) ||
            (c = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write)) ||
            (c = curl_easy_setopt(e, CURLOPT_WRITEDATA, t)) ||
            (c = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf)) ||
            (c = curl_easy_setopt(e, CURLOPT_PRIVATE, t)))
                return c;
        return setup_tls(t->health, e);
}

/* timeout_usec bounds the whole check, connect included; rounded up to ms. -EINVAL for 0 (curl would read it as
 * "no timeout"), a NULL url or done, or a url that is not http(s); -ERANGE when it does not fit curl's long. */
static int target_timeout_ms(uint64_t timeout_usec, long *ret) {
        uint64_t ms = timeout_usec / USEC_PER_MSEC + (timeout_usec % USEC_PER_MSEC != 0);

        if (timeout_usec == 0)
                return -EINVAL;
        if (ms > LONG_MAX)
                return -ERANGE;
        *ret = (long) ms;
        return 0;
}

int health_target_new(struct health *h, const char *url, uint64_t timeout_usec, const char *expect_body,
                      health_done_fn done, void *userdata, struct health_target **ret) {
        struct health_target *t;
        long timeout_ms;
        int r;

        if (!h || !url || !done || !ret)
                return -EINVAL;
        r = target_timeout_ms(timeout_usec, &timeout_ms);
        if (r < 0)
                return r;
        r = url_check(url);
        if (r < 0)
                return r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        *t = (struct health_target) { .health = h, .done = done, .userdata = userdata };
        t->body = malloc(HEALTH_BODY_MAX);
        t->easy = curl_easy_init();
        t->expect_body = expect_body ? strdup(expect_body) : NULL;
        if (!t->body || !t->easy || (expect_body && !t->expect_body))
                r = -ENOMEM;
        else
                r = errno_from_curle(target_setup_easy(t, url, timeout_ms));
        if (r < 0) {
                health_target_free(t);  /* not linked yet: unlinking is a no-op */
                return r;
        }

        LIST_PREPEND(h->targets, t);
        *ret = t;
        return 0;
}

/* Cancels an in-flight check without a callback, then frees. NULL is fine. */
struct health_target *health_target_free(struct health_target *t) {
        if (!t)
                return NULL;
        if (t->busy)
                target_detach(t);
        LIST_REMOVE(t->health->targets, t);
        if (t->easy)
                curl_easy_cleanup(t->easy);
        free(t->expect_body);
        free(t->body);
        free(t);
        return NULL;
}

int health_target_start(struct health_target *t) {
        CURLMcode c;

        if (!t)
                return -EINVAL;
        if (t->busy)
                return -EBUSY;

        t->body_len = 0;
        t->truncated = false;
        t->errbuf[0] = '\0';
        t->started_usec = now_monotonic_usec();

        /* Only arms the timer (curl asks for a 0 ms timeout); the transfer starts from the loop. */
        c = curl_multi_add_handle(t->health->multi, t->easy);
        if (c != CURLM_OK)
                return errno_from_curlm(c);
        t->busy = true;
        return 0;
}

bool health_target_busy(const struct health_target *t) {
        return t && t->busy;
}

/* No-op (no callback) when nothing is in flight. */
void health_target_cancel(struct health_target *t) {
        struct health_result r = { .status = HEALTH_ABORTED };

        if (!t || !t->busy)
                return;
        r.latency_usec = now_monotonic_usec() - t->started_usec;
        target_detach(t);
        t->done(t, &r, t->userdata);
}

/* ---------------------------------------------------------------- one-off requests */

struct health_request {
        enum xfer_kind kind;            /* XFER_REQUEST: first member */
        struct health *health;
        struct health_request *prev, *next;
        CURL *easy;
        struct curl_slist *headers;
        health_request_fn done;
        void *userdata;
        bool busy;
        bool truncated;                 /* the answer went past body_max: stopped there */
        uint64_t started_usec;
        size_t body_max;                /* 0: the body is read and dropped */
        size_t body_len;
        char *body;                     /* body_max + 1 bytes (a NUL after body_len), or NULL */
        uint64_t bytes_sent, bytes_received;
        char errbuf[CURL_ERROR_SIZE];
};

/* Keeps the first body_max bytes; one byte more fails the transfer (CURLE_WRITE_ERROR): an answer cannot grow
 * without bound in memory. Without a buffer the body is read and dropped so the connection can be reused. */
static size_t on_write_request(char *data, size_t size, size_t nmemb, void *userdata) {
        struct health_request *q = userdata;
        size_t n = size * nmemb, room;

        if (!q->body)
                return n;
        room = q->body_max - q->body_len;
        if (n > room) {
                q->truncated = true;
                return 0;
        }
        memcpy(q->body + q->body_len, data, n);
        q->body_len += n;
        q->body[q->body_len] = '\0';
        return n;
}

static void request_count_bytes(struct health_request *q) {
        long req = 0, hdr = 0;
        curl_off_t down = 0;

        (void) curl_easy_getinfo(q->easy, CURLINFO_REQUEST_SIZE, &req);
        (void) curl_easy_getinfo(q->easy, CURLINFO_HEADER_SIZE, &hdr);
        (void) curl_easy_getinfo(q->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
        q->bytes_sent = (uint64_t) (req > 0 ? req : 0);
        q->bytes_received = (uint64_t) (hdr > 0 ? hdr : 0) + (uint64_t) (down > 0 ? down : 0);
}

static void request_finish(struct health_request *q, CURLcode code) {
        struct health_result r = { .latency_usec = now_monotonic_usec() - q->started_usec };
        long http_code = 0;

        (void) curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &http_code);
        r.http_code = http_code;
        request_count_bytes(q);
        if (code == CURLE_OK)
                r.status = health_evaluate(http_code, NULL, 0, NULL);
        else if (code == CURLE_WRITE_ERROR && q->truncated) {
                r.status = HEALTH_PROTOCOL_ERROR;
                snprintf(r.error, sizeof r.error, "the answer is larger than %zu bytes", q->body_max);
        } else {
                r.status = status_from_curle(code);
                snprintf(r.error, sizeof r.error, "%s", q->errbuf[0] ? q->errbuf : curl_easy_strerror(code));
        }
        (void) curl_multi_remove_handle(q->health->multi, q->easy);
        q->busy = false;
        q->done(q, &r, q->userdata);    /* last: it may free q */
}

/* Per-request TLS (etcd's client certificate and CA): verified unless o->insecure. */
static CURLcode request_setup_tls(CURL *e, const struct health_request_opts *o) {
        CURLcode c;

        if ((c = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L)) ||
            (c = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L)))
                return c;
        if (o->ca_file && (c = curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file)))
                return c;
        if (o->cert_file && (c = curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert_file)))
                return c;
        if (o->key_file && (c = curl_easy_setopt(e, CURLOPT_SSLKEY, o->key_file)))
                return c;
        return CURLE_OK;
}

static CURLcode request_setup_easy(struct health_request *q, const struct health_request_opts *o, long timeout_ms) {
        bool get = o->method && strcmp(o->method, "GET") == 0;
        CURL *e = q->easy;
        CURLcode c;

        if ((c = curl_easy_setopt(e, CURLOPT_URL, o->url)) ||
            (c = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https")) ||
            (c = curl_easy_setopt(e, CURLOPT_PROXY, "")) ||
            (c = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms)) ||
            (c = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms)) ||
            (c = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L)) ||
            (c = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L)) ||
            (c = curl_easy_setopt(e, CURLOPT_USERAGENT, HEALTH_USER_AGENT)) ||
            (c = curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers)) ||
            (c = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write_request)) ||
            (c = curl_easy_setopt(e, CURLOPT_WRITEDATA, q)) ||
            (c = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->errbuf)) ||
            (c = curl_easy_setopt(e, CURLOPT_PRIVATE, q)))
                return c;
        if (!get && ((c = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) o->body_len)) ||
                     (c = curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, o->body ? o->body : ""))))
                return c;
        return request_setup_tls(e, o);
}

static int request_headers(struct health_request *q, const struct health_request_opts *o) {
        _cleanup_free_ char *header = NULL;
        struct curl_slist *l = NULL, *n;

        if (o->content_type && asprintf(&header, "Content-Type: %s", o->content_type) < 0)
                return -ENOMEM;
        /* "Expect:" off: curl would otherwise wait up to a second for "100 Continue" on bodies over 1 KiB. */
        l = curl_slist_append(NULL, "Expect:");
        if (l && header && !(n = curl_slist_append(l, header)))
                l = (curl_slist_free_all(l), NULL);
        for (size_t i = 0; l && o->headers && o->headers[i]; i++)
                if (!(n = curl_slist_append(l, o->headers[i])))
                        l = (curl_slist_free_all(l), NULL);
        q->headers = l;
        return l ? 0 : -ENOMEM;
}

static int request_prepare(struct health_request *q, const struct health_request_opts *o, long timeout_ms) {
        int r;

        q->easy = curl_easy_init();
        if (!q->easy)
                return -ENOMEM;
        if (o->body_max > 0) {
                q->body_max = o->body_max;
                q->body = malloc(o->body_max + 1);
                if (!q->body)
                        return -ENOMEM;
                q->body[0] = '\0';
        }
        if ((r = request_headers(q, o)) < 0)
                return r;
        return errno_from_curle(request_setup_easy(q, o, timeout_ms));
}

int health_request_start(struct health *h, const struct health_request_opts *o, health_request_fn done,
                         void *userdata, struct health_request **ret) {
        struct health_request *q;
        long timeout_ms;
        CURLMcode c;
        int r;

        if (!h || !o || !o->url || !done || !ret || (o->body_len && !o->body))
                return -EINVAL;
        if (o->method && strcmp(o->method, "GET") != 0 && strcmp(o->method, "POST") != 0)
                return -EINVAL;
        if ((r = target_timeout_ms(o->timeout_usec, &timeout_ms)) < 0 || (r = url_check(o->url)) < 0)
                return r;
        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        *q = (struct health_request) { .kind = XFER_REQUEST, .health = h, .done = done, .userdata = userdata };
        r = request_prepare(q, o, timeout_ms);
        if (r >= 0) {
                q->started_usec = now_monotonic_usec();
                c = curl_multi_add_handle(h->multi, q->easy);
                r = errno_from_curlm(c);
        }
        if (r < 0) {
                health_request_free(q);         /* not linked yet */
                return r;
        }
        q->busy = true;
        LIST_PREPEND(h->requests, q);
        *ret = q;
        return 0;
}

int health_post(struct health *h, const char *url, const char *content_type, const char *body, size_t body_len,
                uint64_t timeout_usec, health_request_fn done, void *userdata, struct health_request **ret) {
        struct health_request_opts o = { .url = url, .method = "POST", .content_type = content_type, .body = body,
                                         .body_len = body_len, .timeout_usec = timeout_usec };

        if (!content_type || !body)
                return -EINVAL;
        return health_request_start(h, &o, done, userdata, ret);
}

const char *health_request_body(const struct health_request *q, size_t *ret_len) {
        if (ret_len)
                *ret_len = q && q->body ? q->body_len : 0;
        return q && q->body ? q->body : "";
}

void health_request_bytes(const struct health_request *q, uint64_t *ret_sent, uint64_t *ret_received) {
        *ret_sent = q ? q->bytes_sent : 0;
        *ret_received = q ? q->bytes_received : 0;
}

struct health_request *health_request_free(struct health_request *q) {
        if (!q)
                return NULL;
        if (q->busy)
                (void) curl_multi_remove_handle(q->health->multi, q->easy);
        LIST_REMOVE(q->health->requests, q);
        if (q->easy)
                curl_easy_cleanup(q->easy);
        curl_slist_free_all(q->headers);
        free(q->body);
        free(q);
        return NULL;
}

/* ---------------------------------------------------------------- redaction */

/* Parsed the way CURLOPT_URL parses (a missing scheme becomes http://), userinfo removed. -EINVAL when curl
 * cannot parse it. */
static int redact_with_curl(const char *url, char **ret) {
        CURLU *u = curl_url();
        char *s = NULL;
        CURLUcode c;

        if (!u)
                return -ENOMEM;
        c = curl_url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS);
        if (c == CURLUE_OK)
                c = curl_url_set(u, CURLUPART_USER, NULL, 0);
        if (c == CURLUE_OK)
                c = curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        if (c == CURLUE_OK)
                c = curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
        if (c == CURLUE_OK)
                c = curl_url_get(u, CURLUPART_URL, &s, 0);
        curl_url_cleanup(u);
        if (c != CURLUE_OK)
                return c == CURLUE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;

        *ret = strdup(s);
        curl_free(s);
        return *ret ? 0 : -ENOMEM;
}

/* For what curl rejects (bad port, stray characters...), so the message can still show it: drop everything up
 * to the last '@' of the authority. Any '@' left after that might be part of a password holding an unencoded
 * '/', '?' or '#' — then -EINVAL, and the caller prints a placeholder. */
static int redact_by_hand(const char *url, char **ret) {
        const char *sep = strstr(url, "://"), *authority = url, *end, *at = NULL;
        char *s;

        if (sep && sep > url && strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") ==
                                        (size_t) (sep - url))
                authority = sep + 3;
        else if (strncmp(url, "//", 2) == 0)
                authority = url + 2;
        end = authority + strcspn(authority, "/?#");
        for (const char *p = authority; p < end; p++)
                if (*p == '@')
                        at = p;
        if (strchr(at ? at + 1 : authority, '@'))
                return -EINVAL;

        if (asprintf(&s, "%.*s%s", (int) (authority - url), url, at ? at + 1 : authority) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Query values carry tokens as often as userinfo does (?token=, ?api_key=): each value becomes "***", the keys
 * stay so a human can still tell the URLs apart. A bare word (no '=') is a value too. In place; it only shrinks
 * or keeps length except for short values, so it rebuilds into a new string. */
static int redact_query(char **url) {
        char *q = strchr(*url, '?'), *hash, *out, *o;
        size_t n;

        if (!q)
                return 0;
        hash = strchr(q, '#');
        n = strlen(*url);
        out = malloc(n + 4 * (n + 1) + 1);     /* worst case: every byte a one-char parameter */
        if (!out)
                return -ENOMEM;
        o = mempcpy(out, *url, (size_t) (q - *url) + 1);
        for (const char *p = q + 1, *end = hash ? hash : *url + n; p < end;) {
                const char *amp = memchr(p, '&', (size_t) (end - p)), *stop = amp ? amp : end;
                const char *eq = memchr(p, '=', (size_t) (stop - p));

                if (eq) {
                        o = mempcpy(o, p, (size_t) (eq - p) + 1);
                        if (eq + 1 < stop)
                                o = mempcpy(o, "***", 3);
                } else if (stop > p)
                        o = mempcpy(o, "***", 3);
                if (amp)
                        *o++ = '&';
                p = amp ? amp + 1 : end;
        }
        strcpy(o, hash ? hash : "");
        free(*url);
        *url = out;
        return 0;
}

char *health_url_redact(const char *url) {
        char *s = NULL;
        int r;

        if (!url)
                return strdup(UNPARSEABLE_URL);
        r = redact_with_curl(url, &s);
        if (r == -EINVAL)
                r = redact_by_hand(url, &s);
        if (r == -EINVAL)
                return strdup(UNPARSEABLE_URL);
        if (r == 0)
                r = redact_query(&s);
        if (r < 0) {
                free(s);
                return NULL;
        }
        return s;
}
