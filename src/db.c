/* db: owns PostgreSQL access — one short-lived libpq connection per query, driven on sd-event without blocking. */
#include "db.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "resolve.h"
#include "util.h"

#define DB_APPLICATION_NAME "blfailoverd"
#define REDACTED "***"

enum db_phase {
        DB_RESOLVING,
        DB_CONNECTING,
        DB_QUERYING,
        DB_DONE,
};

struct db_query {
        sd_event *event;
        PGconn *conn;
        PGresult *result;               /* the row set; values[] point into it until the callback returns */
        sd_event_source *io_source;     /* on PQsocket(); re-created after every PQconnectPoll */
        sd_event_source *timer_source;  /* the one deadline over connect + query */
        sd_event_source *defer_source;  /* delivers a failure known before any event happened */
        struct resolve_query *lookup;   /* the host name's lookup, during DB_RESOLVING */
        char *host, *conninfo, *password_file;  /* kept for the connect that follows the lookup */
        enum db_phase phase;
        bool flushing;                  /* PQflush left data behind: wait for EPOLLOUT too */
        bool in_callback;
        bool free_requested;            /* db_query_free() from inside the callback: free once it returns */
        int error;
        char message[sizeof(((struct db_result *) NULL)->message)];
        char *sql;
        uint64_t start_usec, timeout_usec;
        db_done_fn done;
        void *userdata;
};

/* ---------------------------------------------------------------- pure helpers */

/* 1–8 hex digits, nothing else (strtoul would accept blanks, signs and "0x"). */
static int parse_hex32(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0 || n > 8)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!isxdigit((unsigned char) s[i]))
                        return -EINVAL;
                v = v << 4 | (uint64_t) (isdigit((unsigned char) s[i]) ? s[i] - '0'
                                                                      : tolower((unsigned char) s[i]) - 'a' + 10);
        }
        *ret = v;
        return 0;
}

int db_parse_lsn(const char *text, uint64_t *ret) {
        const char *slash;
        uint64_t hi, lo;

        if (!text || !ret || !(slash = strchr(text, '/')))
                return -EINVAL;
        if (parse_hex32(text, (size_t) (slash - text), &hi) < 0 ||
            parse_hex32(slash + 1, strlen(slash + 1), &lo) < 0)
                return -EINVAL;
        *ret = hi << 32 | lo;
        return 0;
}

int db_parse_bool(const char *text, bool *ret) {
        if (!text || !ret)
                return -EINVAL;
        if (strcmp(text, "t") == 0)
                *ret = true;
        else if (strcmp(text, "f") == 0)
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

static bool is_word_char(char c) {
        return isalnum((unsigned char) c) || c == '_';
}

static bool word_is(const char *w, size_t n, const char *name) {
        return n == strlen(name) && strncasecmp(w, name, n) == 0;
}

/* A URI's password runs from the first ':' of the userinfo to its '@'. libpq ends the userinfo at the first
 * '@' before any '/'; we take the last one, so that a password with a raw '@' in it is hidden whole. */
static void uri_password(const char *authority, const char **ret_start, const char **ret_end) {
        size_t len = strcspn(authority, "/");
        const char *at = memrchr(authority, '@', len), *colon;

        if (!at || !(colon = memchr(authority, ':', (size_t) (at - authority))))
                return;
        *ret_start = colon + 1;
        *ret_end = at;
}

/* Where a value ends, read the way libpq's conninfo parser reads it: quoted with backslash escapes, or up to
 * an unescaped blank. In a URI query a value ends at '&' (blanks mean nothing there, so they do not end it). */
static const char *value_end(const char *v, bool in_uri) {
        if (in_uri)
                return v + strcspn(v, "&");
        if (*v == '\'') {
                for (v++; *v && *v != '\''; v++)
                        if (*v == '\\' && v[1])
                                v++;
                return *v ? v + 1 : v;
        }
        for (; *v && !isspace((unsigned char) *v); v++)
                if (*v == '\\' && v[1])
                        v++;
        return v;
}

/* At a secret key ("password", "sslpassword", any case) followed by '=': returns where its value starts
 * (libpq allows blanks around '='), else NULL. */
static const char *secret_value(const char *w, size_t n) {
        const char *p = w + n;

        if (!word_is(w, n, "password") && !word_is(w, n, "sslpassword"))
                return NULL;
        p += strspn(p, " \t\n\v\f\r");
        if (*p != '=')
                return NULL;
        return p + 1 + strspn(p + 1, " \t\n\v\f\r");
}

/* Scans any text, not only a valid conninfo (it also scrubs libpq's messages, which may quote one). Keys are
 * found at every word boundary, which includes every place libpq starts a key; when unsure it hides more. */
static void redact_to(FILE *f, const char *p) {
        const char *pw_start = NULL, *pw_end = NULL, *v;
        bool in_uri = false;

        while (*p) {
                size_t n = 0;

                if (pw_start && p >= pw_start && p < pw_end) {
                        fputs(REDACTED, f);
                        p = pw_end;
                        continue;
                }
                while (is_word_char(p[n]))
                        n++;
                if (n == 0) {
                        fputc(*p++, f);
                        continue;
                }
                if ((word_is(p, n, "postgresql") || word_is(p, n, "postgres")) && strncmp(p + n, "://", 3) == 0) {
                        in_uri = true;
                        uri_password(p + n + 3, &pw_start, &pw_end);
                        n += 3;
                } else if ((v = secret_value(p, n))) {
                        fwrite(p, 1, (size_t) (v - p), f);
                        fputs(REDACTED, f);
                        p = value_end(v, in_uri);
                        continue;
                }
                fwrite(p, 1, n, f);
                p += n;
        }
}

char *db_conninfo_redact(const char *conninfo) {
        char *buf = NULL;
        size_t size = 0;
        bool failed;
        FILE *f;

        if (!conninfo) {
                errno = EINVAL;
                return NULL;
        }
        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        redact_to(f, conninfo);
        failed = ferror(f);
        if (fclose(f) != 0 || failed) {
                free(buf);
                errno = ENOMEM;
                return NULL;
        }
        return buf;
}

/* Only what libpq would expand as a connection string (its recognized_connection_string); a bare word is a
 * database name. */
static bool conninfo_is_expanded(const char *conninfo) {
        return strchr(conninfo, '=') || strncmp(conninfo, "postgresql://", 13) == 0 ||
               strncmp(conninfo, "postgres://", 11) == 0;
}

static const char *option_value(const PQconninfoOption *opts, const char *keyword) {
        for (const PQconninfoOption *o = opts; o->keyword; o++)
                if (strcmp(o->keyword, keyword) == 0)
                        return o->val;
        return NULL;
}

/* libpq takes a host beginning with '/' (or '@', abstract namespace) as a unix socket directory. */
static bool host_needs_lookup(const char *host, size_t n) {
        char buf[INET6_ADDRSTRLEN];

        if (n == 0 || host[0] == '/' || host[0] == '@')
                return false;
        if (n >= sizeof(buf))
                return true;
        memcpy(buf, host, n);
        buf[n] = '\0';
        return !resolve_is_ip_literal(buf);
}

/* NULL when nothing needs a lookup; -ENOTSUP for a list with a name in it. */
static int hosts_lookup(const char *hosts, char **ret_host) {
        size_t n = strcspn(hosts, ",");

        if (!hosts[n]) {
                *ret_host = host_needs_lookup(hosts, n) ? strdup(hosts) : NULL;
                return *ret_host || !host_needs_lookup(hosts, n) ? 0 : -ENOMEM;
        }
        for (const char *h = hosts;; h += n + 1) {
                n = strcspn(h, ",");
                if (host_needs_lookup(h, n))
                        return -ENOTSUP;
                if (!h[n])
                        break;
        }
        *ret_host = NULL;
        return 0;
}

int db_conninfo_lookup_host(const char *conninfo, char **ret_host) {
        PQconninfoOption *opts;
        const char *host, *hostaddr;
        char *err = NULL, *name = NULL;
        int r = 0;

        if (!conninfo || !ret_host)
                return -EINVAL;
        if (conninfo_is_expanded(conninfo)) {
                opts = PQconninfoParse(conninfo, &err);
                if (!opts) {
                        r = err ? -EINVAL : -ENOMEM;
                        PQfreemem(err);
                        return r;
                }
                host = option_value(opts, "host");
                hostaddr = option_value(opts, "hostaddr");
                /* with hostaddr= libpq connects there and never looks host= up */
                if (host && (!hostaddr || !*hostaddr))
                        r = hosts_lookup(host, &name);
                PQconninfoFree(opts);
        }
        if (r == 0)
                *ret_host = name;
        return r;
}

struct params_strings {
        char *hosts, *hostaddrs;
        char timeout[24];
};

/* items joined by ','; `same` repeats items[0] n times. */
static char *join(const char *const *items, size_t n, bool same) {
        size_t len = 0;
        char *buf, *p;

        for (size_t i = 0; i < n; i++)
                len += strlen(items[same ? 0 : i]) + 1;
        buf = p = malloc(len ? len : 1);
        if (!buf)
                return NULL;
        *p = '\0';
        for (size_t i = 0; i < n; i++)
                p = stpcpy(stpcpy(p, i ? "," : ""), items[same ? 0 : i]);
        return buf;
}

/* The settings we override, dropped from the conninfo's own. */
static bool param_ours(const char *keyword, const char *password_file) {
        return strcmp(keyword, "host") == 0 || strcmp(keyword, "hostaddr") == 0 ||
               strcmp(keyword, "connect_timeout") == 0 || strcmp(keyword, "fallback_application_name") == 0 ||
               (password_file && strcmp(keyword, "passfile") == 0);
}

static void param_add(struct db_params *p, size_t *n, const char *key, const char *value) {
        p->keys[*n] = key;
        p->values[*n] = value;
        (*n)++;
}

/* libpq's connect_timeout is only enforced by its blocking calls; our deadline is what counts. */
static void timeout_format(char *buf, size_t size, uint64_t timeout_usec) {
        uint64_t secs = (timeout_usec + USEC_PER_SEC - 1) / USEC_PER_SEC;

        snprintf(buf, size, "%" PRIu64, secs > 0 ? secs : 1);
}

static int params_fill(struct db_params *p, const char *password_file, uint64_t timeout_usec,
                       const char *const *addrs, size_t n_addrs) {
        const PQconninfoOption *opts = p->options;
        struct params_strings *st = p->strings;
        const char *host = option_value(opts, "host");
        size_t n = 0;

        if (!host || !*host || strchr(host, ','))
                return -EINVAL;
        st->hosts = join(&host, n_addrs, true);
        st->hostaddrs = join(addrs, n_addrs, false);
        if (!st->hosts || !st->hostaddrs)
                return -ENOMEM;
        timeout_format(st->timeout, sizeof(st->timeout), timeout_usec);
        for (const PQconninfoOption *o = opts; o->keyword; o++)
                if (o->val && !param_ours(o->keyword, password_file))
                        param_add(p, &n, o->keyword, o->val);
        param_add(p, &n, "host", st->hosts);
        param_add(p, &n, "hostaddr", st->hostaddrs);
        param_add(p, &n, "connect_timeout", st->timeout);
        param_add(p, &n, "fallback_application_name", DB_APPLICATION_NAME);
        if (!option_value(opts, "application_name"))
                param_add(p, &n, "application_name", DB_APPLICATION_NAME);
        if (password_file)
                param_add(p, &n, "passfile", password_file);
        return 0;
}

int db_params_build(const char *conninfo, const char *password_file, uint64_t timeout_usec,
                    const char *const *addrs, size_t n_addrs, struct db_params **ret) {
        struct db_params *p;
        char *err = NULL;
        size_t max = 6;         /* what params_fill may add */
        int r;

        if (!conninfo || !addrs || n_addrs == 0 || !ret)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->options = PQconninfoParse(conninfo, &err);
        if (!p->options) {
                r = err ? -EINVAL : -ENOMEM;
                PQfreemem(err);
                free(p);
                return r;
        }
        for (const PQconninfoOption *o = p->options; o->keyword; o++)
                max++;
        p->keys = calloc(max + 1, sizeof(*p->keys));
        p->values = calloc(max + 1, sizeof(*p->values));
        p->strings = calloc(1, sizeof(struct params_strings));
        r = p->keys && p->values && p->strings ? params_fill(p, password_file, timeout_usec, addrs, n_addrs)
                                               : -ENOMEM;
        if (r < 0) {
                db_params_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

struct db_params *db_params_free(struct db_params *p) {
        struct params_strings *st;

        if (!p)
                return NULL;
        st = p->strings;
        if (st) {
                free(st->hosts);
                free(st->hostaddrs);
                free(st);
        }
        PQconninfoFree(p->options);
        free(p->keys);
        free(p->values);
        free(p);
        return NULL;
}

/* ---------------------------------------------------------------- results and errors */

/* libpq's words → one line: scrubbed first (on the whole text, so that a quoted value spanning lines is still
 * recognised), then the first non-empty line, trimmed. */
static void message_set(char *buf, size_t size, const char *text) {
        _cleanup_free_ char *clean = db_conninfo_redact(text ? text : "");
        const char *s, *e;

        if (!clean) {
                snprintf(buf, size, "(message dropped: out of memory)");
                return;
        }
        s = clean + strspn(clean, " \t\r\n");
        e = s + strcspn(s, "\r\n");
        while (e > s && isspace((unsigned char) e[-1]))
                e--;
        snprintf(buf, size, "%.*s", (int) (e - s), s);
}

static int query_error(struct db_query *q, int error, const char *text) {
        q->error = error;
        message_set(q->message, sizeof(q->message), text);
        return error;
}

/* libpq has no error codes for connection failures, only text. The socket errors in it come from strerror()
 * in the same locale as ours, so comparing with our own strerror() is locale-proof. Everything else
 * (refused, reset, authentication) counts as "could not connect". */
static int conn_error(struct db_query *q) {
        static const int unreachable[] = { EHOSTUNREACH, ENETUNREACH };
        const char *msg = PQerrorMessage(q->conn);
        char buf[128];

        for (size_t i = 0; i < ELEMENTSOF(unreachable); i++)
                if (strstr(msg, strerror_r(unreachable[i], buf, sizeof(buf))))
                        return query_error(q, -EHOSTUNREACH, msg);
        if (strstr(msg, "could not translate host name"))
                return query_error(q, -EHOSTUNREACH, msg);
        return query_error(q, -ECONNREFUSED, msg);
}

static void query_destroy(struct db_query *q) {
        /* Sources first: the io source must leave epoll while its fd is still open, before PQfinish closes it. */
        q->io_source = sd_event_source_disable_unref(q->io_source);
        q->timer_source = sd_event_source_disable_unref(q->timer_source);
        q->defer_source = sd_event_source_disable_unref(q->defer_source);
        q->lookup = resolve_query_free(q->lookup);
        PQfinish(q->conn);
        PQclear(q->result);
        sd_event_unref(q->event);
        free(q->sql);
        free(q->host);
        free(q->conninfo);
        free(q->password_file);
        free(q);
}

static void result_fill(const PGresult *res, struct db_result *r) {
        r->n_columns = (size_t) PQnfields(res);
        for (size_t i = 0; i < r->n_columns; i++)
                r->values[i] = PQgetisnull(res, 0, (int) i) ? NULL : PQgetvalue(res, 0, (int) i);
}

/* The one funnel: every outcome ends here, exactly once. The connection is closed before the callback, so that
 * it may start the next query at once; the row set lives until the callback has returned. */
static void query_finish(struct db_query *q, int error) {
        struct db_result r = { .error = error, .duration_usec = now_monotonic_usec() - q->start_usec };

        q->phase = DB_DONE;
        q->io_source = sd_event_source_disable_unref(q->io_source);
        q->timer_source = sd_event_source_disable_unref(q->timer_source);
        q->defer_source = sd_event_source_disable_unref(q->defer_source);
        q->lookup = resolve_query_free(q->lookup);      /* a lookup still running is left to finish alone */
        PQfinish(q->conn);
        q->conn = NULL;

        if (error < 0)
                memcpy(r.message, q->message, sizeof(r.message));
        else
                result_fill(q->result, &r);

        q->in_callback = true;
        q->done(q, &r, q->userdata);
        q->in_callback = false;

        PQclear(q->result);
        q->result = NULL;
        if (q->free_requested)
                query_destroy(q);
}

/* ---------------------------------------------------------------- the exchange */

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* (Re-)registers whatever socket libpq uses now. */
static int watch_socket(struct db_query *q, uint32_t events) {
        int fd = PQsocket(q->conn), r;

        q->io_source = sd_event_source_disable_unref(q->io_source);
        if (fd < 0)
                return query_error(q, -EIO, "libpq has no socket");
        r = sd_event_add_io(q->event, &q->io_source, fd, events, on_io, q);
        if (r < 0)
                return query_error(q, r, "could not watch the database socket");
        return 0;
}

static int query_flush(struct db_query *q) {
        int r = PQflush(q->conn);

        if (r < 0)
                return query_error(q, -EIO, PQerrorMessage(q->conn));
        q->flushing = r > 0;
        r = sd_event_source_set_io_events(q->io_source, EPOLLIN | (q->flushing ? EPOLLOUT : 0));
        return r < 0 ? query_error(q, r, "could not watch the database socket") : 0;
}

/* The connection is up. Non-blocking only now: PQsetnonblocking clears libpq's error text, which during the
 * connect may hold what earlier hosts said; and without it PQsendQuery would wait for a full socket buffer. */
static int query_send(struct db_query *q) {
        int r = watch_socket(q, EPOLLIN);

        if (r < 0)
                return r;
        if (PQsetnonblocking(q->conn, 1) < 0 || !PQsendQuery(q->conn, q->sql))
                return query_error(q, -EIO, PQerrorMessage(q->conn));
        q->phase = DB_QUERYING;
        return query_flush(q);
}

static int connect_step(struct db_query *q) {
        /* Out of epoll before polling: PQconnectPoll may close the socket and open another (next address, SSL or
         * GSS fallback), likely with the same number. Removed while still open, the old one is really gone;
         * afterwards an EPOLL_CTL_DEL could not reach it. */
        q->io_source = sd_event_source_disable_unref(q->io_source);

        switch (PQconnectPoll(q->conn)) {
        case PGRES_POLLING_READING:
                return watch_socket(q, EPOLLIN);
        case PGRES_POLLING_WRITING:
                return watch_socket(q, EPOLLOUT);
        case PGRES_POLLING_OK:
                return query_send(q);
        default:
                return conn_error(q);
        }
}

/* Keeps the first row set; anything else is the end. Not draining after an error is deliberate: the connection
 * is closed anyway, and a COPY result would come back forever. */
static int result_take(struct db_query *q, PGresult *res) {
        ExecStatusType st = PQresultStatus(res);
        char buf[128];
        int r = 0;

        if (st == PGRES_COMMAND_OK && !q->result) {
                q->result = res;        /* a utility statement (CHECKPOINT): no row, no column */
                return 0;
        }
        if (st != PGRES_TUPLES_OK) {
                const char *msg = PQresultErrorMessage(res);

                r = query_error(q, -EIO, *msg ? msg : PQresStatus(st));
        } else if (q->result)
                r = query_error(q, -EPROTO, "expected one statement, got several results");
        else if (PQntuples(res) != 1 || PQnfields(res) > DB_COLUMNS_MAX) {
                snprintf(buf, sizeof(buf), "expected one row of at most %d columns, got %d rows of %d",
                         DB_COLUMNS_MAX, PQntuples(res), PQnfields(res));
                r = query_error(q, -EPROTO, buf);
        } else {
                q->result = res;
                return 0;
        }
        PQclear(res);
        return r;
}

/* Returns 1 when the answer is complete, 0 to wait for more, -errno. */
static int result_step(struct db_query *q, uint32_t revents) {
        int r;

        if ((revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !PQconsumeInput(q->conn))
                return query_error(q, -EIO, PQerrorMessage(q->conn));
        if (q->flushing && (r = query_flush(q)) < 0)
                return r;
        while (!PQisBusy(q->conn)) {
                PGresult *res = PQgetResult(q->conn);

                if (!res)
                        return q->result ? 1 : query_error(q, -EPROTO, "the server sent no result");
                if ((r = result_take(q, res)) < 0)
                        return r;
        }
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct db_query *q = userdata;
        int r = q->phase == DB_CONNECTING ? connect_step(q) : result_step(q, revents);

        if (r != 0)
                query_finish(q, r < 0 ? r : 0);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        struct db_query *q = userdata;
        char buf[sizeof(q->message)];

        if (q->phase == DB_RESOLVING)
                snprintf(buf, sizeof(buf), "host name \"%.120s\" not resolved within %" PRIu64 ".%03" PRIu64
                         "s (the DNS resolver did not answer)", q->host, q->timeout_usec / USEC_PER_SEC,
                         q->timeout_usec % USEC_PER_SEC / USEC_PER_MSEC);
        else
                snprintf(buf, sizeof(buf), "no answer within %" PRIu64 ".%03" PRIu64 "s (%s)",
                         q->timeout_usec / USEC_PER_SEC, q->timeout_usec % USEC_PER_SEC / USEC_PER_MSEC,
                         q->phase == DB_CONNECTING ? "connecting" : "waiting for the result");
        query_finish(q, query_error(q, -ETIMEDOUT, buf));
        return 0;
}

static int on_deferred_error(sd_event_source *s, void *userdata) {
        struct db_query *q = userdata;

        query_finish(q, q->error);
        return 0;
}

/* ---------------------------------------------------------------- start / free */

/* libpq's default notice processor prints NOTICEs and WARNINGs on stderr; this module does not log. */
static void notice_ignore(void *arg, const char *message) {
}

/* Returns 0, -EINVAL with libpq's words in q->message, or -ENOMEM. */
static int conninfo_check(struct db_query *q, const char *conninfo) {
        PQconninfoOption *opts;
        char *err = NULL;
        int r;

        if (!conninfo_is_expanded(conninfo))
                return 0;
        opts = PQconninfoParse(conninfo, &err);
        if (opts) {
                PQconninfoFree(opts);
                return 0;
        }
        if (!err)
                return -ENOMEM;         /* libpq's way of saying so */
        r = query_error(q, -EINVAL, err);
        PQfreemem(err);
        return r;
}

/* Order matters: entries before the expanded dbname may be overridden by the conninfo (the operator may name
 * the session), entries after it override the conninfo (our password file and timeout win). passfile is last,
 * so that without one its NULL simply ends the list there. */
static PGconn *connect_start(const char *conninfo, const char *password_file, uint64_t timeout_usec) {
        char timeout[32];

        timeout_format(timeout, sizeof(timeout), timeout_usec);
        const char *const keys[] = { "application_name", "dbname", "connect_timeout", "fallback_application_name",
                                     password_file ? "passfile" : NULL, NULL };
        const char *const values[] = { DB_APPLICATION_NAME, conninfo, timeout, DB_APPLICATION_NAME,
                                       password_file, NULL };

        return PQconnectStartParams(keys, values, 1);
}

/* What libpq rejects right away (bad conninfo; a refusal it saw at once, as on loopback) is still an outcome
 * for the callback, with libpq's words, like the same failure seen later would be. */
static int deliver_later(struct db_query *q) {
        return sd_event_add_defer(q->event, &q->defer_source, on_deferred_error, q);
}

static int connect_begin(struct db_query *q, PGconn *conn) {
        q->conn = conn;
        if (!q->conn)
                return -ENOMEM;
        q->phase = DB_CONNECTING;
        PQsetNoticeProcessor(q->conn, notice_ignore, NULL);
        if (PQstatus(q->conn) == CONNECTION_BAD) {
                (void) conn_error(q);
                return deliver_later(q);
        }
        /* libpq's rule: before the first PQconnectPoll, behave as if it had returned PGRES_POLLING_WRITING. */
        return watch_socket(q, EPOLLOUT);
}

/* The lookup is over: connect to its addresses, under the name (TLS and the password file match on it). */
static int connect_resolved(struct db_query *q, const struct resolve_result *res) {
        const char *addrs[RESOLVE_ADDRS_MAX];
        struct db_params *p = NULL;
        char buf[sizeof(q->message)];
        int r;

        if (res->error < 0) {
                snprintf(buf, sizeof(buf), "cannot resolve host name \"%.120s\": %s", q->host, res->message);
                return query_error(q, -ENXIO, buf);
        }
        for (size_t i = 0; i < res->n_addrs; i++)
                addrs[i] = res->addrs[i];
        r = db_params_build(q->conninfo, q->password_file, q->timeout_usec, addrs, res->n_addrs, &p);
        if (r < 0)
                return query_error(q, r, "cannot build the connection parameters");
        r = connect_begin(q, PQconnectStartParams(p->keys, p->values, 0));
        db_params_free(p);
        return r;
}

static void on_resolved(struct resolve_query *rq, const struct resolve_result *res, void *userdata) {
        struct db_query *q = userdata;
        int r;

        q->lookup = resolve_query_free(q->lookup);
        r = connect_resolved(q, res);
        if (r < 0)
                query_finish(q, r);
}

static int lookup_start(struct db_query *q, const char *conninfo, const char *password_file) {
        q->conninfo = strdup(conninfo);
        if (!q->conninfo || (password_file && !(q->password_file = strdup(password_file))))
                return -ENOMEM;
        q->phase = DB_RESOLVING;
        return resolve_start(q->event, q->host, on_resolved, q, &q->lookup);
}

static int query_connect(struct db_query *q, const char *conninfo, const char *password_file) {
        int r = conninfo_check(q, conninfo);

        if (r == -EINVAL)
                return deliver_later(q);
        if (r >= 0)
                r = db_conninfo_lookup_host(conninfo, &q->host);
        if (r == -ENOTSUP) {
                query_error(q, -EINVAL, "host= lists several hosts with a name among them, which is not supported: "
                            "give one host name, or IP addresses");
                return deliver_later(q);
        }
        if (r < 0)
                return r;
        if (q->host)
                return lookup_start(q, conninfo, password_file);
        return connect_begin(q, connect_start(conninfo, password_file, q->timeout_usec));
}

/* The deadline is armed before anything else, so that it bounds the lookup too. */
int db_query_start(sd_event *e, const char *conninfo, const char *password_file, uint64_t timeout_usec,
                   const char *sql, db_done_fn done, void *userdata, struct db_query **ret) {
        struct db_query *q;
        int r;

        if (!e || !conninfo || !sql || !*sql || timeout_usec == 0 || !done || !ret)
                return -EINVAL;
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        *q = (struct db_query) { .event = sd_event_ref(e), .phase = DB_CONNECTING, .sql = strdup(sql),
                                 .start_usec = now_monotonic_usec(), .timeout_usec = timeout_usec,
                                 .done = done, .userdata = userdata };
        r = q->sql ? sd_event_add_time_relative(e, &q->timer_source, CLOCK_MONOTONIC, timeout_usec,
                                                USEC_PER_MSEC, on_deadline, q)
                   : -ENOMEM;
        if (r >= 0)
                r = query_connect(q, conninfo, password_file);
        if (r < 0) {
                query_destroy(q);
                return r;
        }
        *ret = q;
        return 0;
}

struct db_query *db_query_free(struct db_query *q) {
        if (!q)
                return NULL;
        if (q->in_callback)
                q->free_requested = true;       /* values[] still in use: query_finish frees once it returns */
        else
                query_destroy(q);
        return NULL;
}
