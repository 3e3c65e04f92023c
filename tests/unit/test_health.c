/* test_health: the pure verdict and URL redaction, and the checks themselves on a real sd-event loop against a
 * tiny HTTP server this test forks on 127.0.0.1 (never any other address). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "health.h"
#include "util.h"

#define BIG_SIZE (1024u * 1024u)
#define WAIT_MAX_USEC (5 * USEC_PER_SEC)

/* ---------------------------------------------------------------- the test server (child process) */

static int send_all(int fd, const void *buf, size_t len) {
        const char *p = buf;

        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Reads one request head; 0 and the path on success, -1 on EOF/error. */
static int read_request(int fd, char *path, size_t path_size) {
        char buf[8192], fmt[32];
        size_t len = 0;

        while (len < sizeof(buf) - 1) {
                ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                len += (size_t) n;
                buf[len] = '\0';
                if (strstr(buf, "\r\n\r\n"))
                        break;
        }
        snprintf(fmt, sizeof(fmt), "%%*s %%%zus", path_size - 1);    /* GET checks, POST webhooks */
        return sscanf(buf, fmt, path) == 1 ? 0 : -1;
}

static int respond(int fd, const char *status, const char *connection, const char *body, size_t len) {
        char head[256];

        snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                 "Connection: %s\r\n\r\n", status, len, connection);
        if (send_all(fd, head, strlen(head)) < 0)
                return -1;
        return send_all(fd, body, len);
}

/* 1 MiB: "healthy" at 0, "edge" ending exactly at the cap, "past" just after it, "deepmarker" far beyond. */
static int respond_big(int fd) {
        char *body = malloc(BIG_SIZE);
        int r;

        if (!body)
                return -1;
        memset(body, 'x', BIG_SIZE);
        memcpy(body, "healthy", 7);
        memcpy(body + HEALTH_BODY_MAX - 4, "edge", 4);
        memcpy(body + HEALTH_BODY_MAX, "past", 4);
        memcpy(body + BIG_SIZE / 2, "deepmarker", 10);
        r = respond(fd, "200 OK", "close", body, BIG_SIZE);
        free(body);
        return r;
}

/* Serves requests on one connection; only /keepalive keeps it open for the next request. */
static void serve_connection(int fd) {
        static const char degraded[] = "{\"status\":\"degraded\"}";
        char path[256];

        while (read_request(fd, path, sizeof(path)) == 0) {
                if (strcmp(path, "/keepalive") == 0) {
                        if (respond(fd, "200 OK", "keep-alive", "ok", 2) < 0)
                                return;
                        continue;
                }
                if (strcmp(path, "/hang") == 0)
                        for (;;)
                                pause();
                if (strcmp(path, "/ok") == 0)
                        (void) respond(fd, "200 OK", "close", "ok", 2);
                else if (strcmp(path, "/500") == 0)
                        (void) respond(fd, "500 Internal Server Error", "close", "error", 5);
                else if (strcmp(path, "/body") == 0)
                        (void) respond(fd, "200 OK", "close", degraded, strlen(degraded));
                else if (strcmp(path, "/big") == 0)
                        (void) respond_big(fd);
                else if (strcmp(path, "/close") != 0)
                        (void) respond(fd, "404 Not Found", "close", "", 0);
                return;
        }
}

/* Accept loop: one byte on accepts_fd per accepted connection, one child per connection. */
static _Noreturn void server_run(int listen_fd, int accepts_fd) {
        signal(SIGCHLD, SIG_IGN);
        for (;;) {
                int fd = accept(listen_fd, NULL, NULL);
                pid_t pid;

                if (fd < 0 && errno == EINTR)
                        continue;
                if (fd < 0)
                        _exit(1);
                (void) !write(accepts_fd, "a", 1);
                pid = fork();
                if (pid == 0) {
                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        close(listen_fd);
                        close(accepts_fd);
                        serve_connection(fd);
                        _exit(0);
                }
                close(fd);
        }
}

/* ---------------------------------------------------------------- fixture */

struct server {
        pid_t pid;              /* also the process group of the server and its connection children */
        int accepts_fd;         /* read end, non-blocking */
        unsigned accepts;
        uint16_t port;
};

struct fixture {
        sd_event *event;
        struct health *health;
        struct server server;
        int refuse_fd;          /* bound, never listening: connecting to it is refused */
        uint16_t refuse_port;
        unsigned seq;           /* bumped by every callback, to order them */
};

static int loopback_socket(bool do_listen, uint16_t *ret_port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        if (do_listen)
                assert_int_equal(listen(fd, 64), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        *ret_port = ntohs(a.sin_port);
        return fd;
}

static void server_start(struct server *s) {
        pid_t parent = getpid();
        int listen_fd, p[2];

        listen_fd = loopback_socket(true, &s->port);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        s->pid = fork();
        assert_true(s->pid >= 0);
        if (s->pid == 0) {
                (void) setpgid(0, 0);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(1);
                close(p[0]);
                server_run(listen_fd, p[1]);
        }
        (void) setpgid(s->pid, s->pid);
        close(listen_fd);
        close(p[1]);
        s->accepts_fd = p[0];
        assert_int_equal(fcntl(s->accepts_fd, F_SETFL, O_NONBLOCK), 0);
}

/* Kills the server and its connection children. They are re-parented to us (main makes this process a
 * subreaper) when the server dies, so the waitpid loop reaps every one of them. */
static void server_stop(struct server *s) {
        if (s->pid <= 0)
                return;
        (void) kill(-s->pid, SIGKILL);
        (void) kill(s->pid, SIGKILL);
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        while (waitpid(-s->pid, NULL, 0) > 0 || errno == EINTR)
                ;
        close(s->accepts_fd);
        s->pid = 0;
}

static unsigned server_accepts(struct server *s) {
        char buf[64];
        ssize_t n;

        while ((n = read(s->accepts_fd, buf, sizeof(buf))) > 0)
                s->accepts += (unsigned) n;
        return s->accepts;
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        server_start(&f->server);
        f->refuse_fd = loopback_socket(false, &f->refuse_port);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(health_new(f->event, &f->health), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        health_free(f->health);
        server_stop(&f->server);
        close(f->refuse_fd);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

/* ---------------------------------------------------------------- probes: one target and what its callback saw */

struct probe {
        struct fixture *f;
        struct health_target *target;
        unsigned calls;
        unsigned seq;                   /* f->seq at the last callback */
        struct health_result result;
        unsigned restarts;              /* restart this many more times from inside the callback */
        int restart_r;
};

static void on_done(struct health_target *t, const struct health_result *r, void *userdata) {
        struct probe *p = userdata;

        /* No cmocka asserts here: a longjmp out of sd_event_run would leave the loop mid-dispatch. */
        p->calls++;
        p->seq = ++p->f->seq;
        p->result = *r;
        if (p->restarts > 0) {
                p->restarts--;
                p->restart_r = health_target_start(t);
        }
}

static void probe_new(struct fixture *f, struct probe *p, const char *path, unsigned timeout_ms, const char *expect) {
        char url[128];

        *p = (struct probe) { .f = f };
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->server.port, path);
        assert_int_equal(health_target_new(f->health, url, timeout_ms * USEC_PER_MSEC, expect, on_done, p,
                                           &p->target), 0);
}

/* Runs the loop until p has been called `calls` times, at most WAIT_MAX_USEC. */
static void run_until(struct fixture *f, const struct probe *p, unsigned calls) {
        uint64_t deadline = now_monotonic_usec() + WAIT_MAX_USEC;

        while (p->calls < calls && now_monotonic_usec() < deadline)
                assert_true(sd_event_run(f->event, 50 * USEC_PER_MSEC) >= 0);
        assert_int_equal(p->calls, calls);
}

static void run_for(struct fixture *f, uint64_t usec) {
        uint64_t deadline = now_monotonic_usec() + usec;

        while (now_monotonic_usec() < deadline)
                assert_true(sd_event_run(f->event, deadline - now_monotonic_usec()) >= 0);
}

static void check_once(struct fixture *f, struct probe *p) {
        assert_int_equal(health_target_start(p->target), 0);
        run_until(f, p, p->calls + 1);
        assert_false(health_target_busy(p->target));
}

/* ---------------------------------------------------------------- pure */

static void health__evaluate__table(void **state) {
        static const struct {
                long code;
                const char *body;
                size_t len;
                const char *expect;
                enum health_status want;
        } cases[] = {
                { 200, "ok", 2, NULL, HEALTH_OK },
                { 204, NULL, 0, NULL, HEALTH_OK },
                { 299, "", 0, NULL, HEALTH_OK },
                { 199, "ok", 2, NULL, HEALTH_HTTP_STATUS },
                { 300, "ok", 2, NULL, HEALTH_HTTP_STATUS },
                { 301, "ok", 2, "ok", HEALTH_HTTP_STATUS },
                { 404, "", 0, NULL, HEALTH_HTTP_STATUS },
                { 500, "ok", 2, "ok", HEALTH_HTTP_STATUS },
                { 0, NULL, 0, NULL, HEALTH_HTTP_STATUS },
                { 200, "{\"status\":\"ok\"}", 15, "\"status\":\"ok\"", HEALTH_OK },
                { 200, "{\"status\":\"degraded\"}", 21, "\"status\":\"ok\"", HEALTH_BODY_MISMATCH },
                { 200, "okay", 2, "oka", HEALTH_BODY_MISMATCH },       /* only body_len bytes count */
                { 200, "a\0ok", 4, "ok", HEALTH_OK },                   /* NUL in the body is fine */
                { 200, NULL, 0, "x", HEALTH_BODY_MISMATCH },
                { 200, NULL, 0, "", HEALTH_OK },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                enum health_status s = health_evaluate(cases[i].code, cases[i].body, cases[i].len, cases[i].expect);

                if (s != cases[i].want)
                        fail_msg("case %zu (%ld, expect %s): got %s, want %s", i, cases[i].code,
                                 cases[i].expect ?: "(none)", health_status_to_string(s),
                                 health_status_to_string(cases[i].want));
        }
}

static void health__status_to_string__every_status_named(void **state) {
        assert_string_equal(health_status_to_string(HEALTH_OK), "ok");
        assert_string_equal(health_status_to_string(HEALTH_DNS_ERROR), "dns error");
        assert_string_equal(health_status_to_string(HEALTH_TIMEOUT), "timeout");
        for (int s = HEALTH_OK; s <= HEALTH_ABORTED; s++)
                assert_string_not_equal(health_status_to_string(s), "unknown");
        assert_string_equal(health_status_to_string((enum health_status) 99), "unknown");
}

static void health__url_redact__table(void **state) {
        static const struct {
                const char *in, *want;
        } cases[] = {
                { "http://u:p@h:1/x?y", "http://h:1/x?***" },
                { "http://user:secret@host/x", "http://host/x" },
                { "https://admin:secret@db.example.com:8443/health", "https://db.example.com:8443/health" },
                { "http://user@host/x", "http://host/x" },
                { "http://host/x?mail=a@b", "http://host/x?mail=***" },                 /* '@' in the query */
                { "http://u:secret@host/x?mail=a@b#c@d", "http://host/x?mail=***#c@d" },
                /* query values are tokens as often as userinfo is */
                { "http://host/alerts?token=secret", "http://host/alerts?token=***" },
                { "http://host/a?x=secret&full=1&flag&empty=&=v", "http://host/a?x=***&full=***&***&empty=&=***" },
                { "http://host/a?secret", "http://host/a?***" },
                { "http://host/a?", "http://host/a" },                  /* curl drops an empty query */
                { "http://host:8080/health", "http://host:8080/health" },               /* no creds: unchanged */
                { "https://host/", "https://host/" },
                { "http://u:secret@[::1]:8080/x", "http://[::1]:8080/x" },              /* IPv6 literal */
                { "http://[fe80::1%25eth0]/x", "http://[fe80::1%25eth0]/x" },
                { "u:secret@host:8080/x", "http://host:8080/x" },               /* no scheme: as curl reads it */
                { "http://u:secret%40x@host/", "http://host/" },
                /* curl rejects these; redacted by hand */
                { "http://u:secret@host:99999/x", "http://host:99999/x" },
                { "http://a@secret@host/", "http://host/" },
                { "//u:secret@host/", "//host/" },
                /* a password with an unencoded '/': no telling where it ends */
                { "http://u:sec/ret@host/", "<unparseable url>" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *s = health_url_redact(cases[i].in);

                assert_non_null(s);
                if (strcmp(s, cases[i].want) != 0 || strstr(s, "secret"))
                        fail_msg("case %zu: \"%s\" → \"%s\", want \"%s\"", i, cases[i].in, s, cases[i].want);
                free(s);
        }
}

static void health__target_new_bad_arguments__einval(void **state) {
        struct fixture *f = *state;
        struct health_target *sentinel = (struct health_target *) &f->seq, *t = sentinel;

        assert_int_equal(health_target_new(f->health, "http://127.0.0.1/", 0, NULL, on_done, NULL, &t), -EINVAL);
        assert_int_equal(health_target_new(f->health, "ftp://127.0.0.1/", USEC_PER_SEC, NULL, on_done, NULL, &t),
                         -EINVAL);
        assert_int_equal(health_target_new(f->health, "http://[::1/", USEC_PER_SEC, NULL, on_done, NULL, &t),
                         -EINVAL);
        assert_int_equal(health_target_new(f->health, NULL, USEC_PER_SEC, NULL, on_done, NULL, &t), -EINVAL);
        assert_int_equal(health_target_new(f->health, "http://127.0.0.1/", USEC_PER_SEC, NULL, NULL, NULL, &t),
                         -EINVAL);
        assert_ptr_equal(t, sentinel);  /* ret untouched on failure */
}

/* ---------------------------------------------------------------- behaviour */

static void health__ok__status_ok(void **state) {
        struct fixture *f = *state;
        struct probe p;

        probe_new(f, &p, "/ok", 2000, "ok");
        check_once(f, &p);
        assert_int_equal(p.result.status, HEALTH_OK);
        assert_int_equal(p.result.http_code, 200);
        assert_true(p.result.latency_usec > 0);
        assert_string_equal(p.result.error, "");
}

static void health__status_500__http_status(void **state) {
        struct fixture *f = *state;
        struct probe p;

        probe_new(f, &p, "/500", 2000, NULL);
        check_once(f, &p);
        assert_int_equal(p.result.status, HEALTH_HTTP_STATUS);
        assert_int_equal(p.result.http_code, 500);
}

static void health__unknown_path_404__http_status(void **state) {
        struct fixture *f = *state;
        struct probe p;

        probe_new(f, &p, "/nope", 2000, NULL);
        check_once(f, &p);
        assert_int_equal(p.result.status, HEALTH_HTTP_STATUS);
        assert_int_equal(p.result.http_code, 404);
}

static void health__expect_body_missing__body_mismatch(void **state) {
        struct fixture *f = *state;
        struct probe mismatch, match;

        probe_new(f, &mismatch, "/body", 2000, "\"status\":\"ok\"");
        probe_new(f, &match, "/body", 2000, "\"status\":\"degraded\"");
        check_once(f, &mismatch);
        check_once(f, &match);
        assert_int_equal(mismatch.result.status, HEALTH_BODY_MISMATCH);
        assert_int_equal(mismatch.result.http_code, 200);
        assert_int_equal(match.result.status, HEALTH_OK);
}

static void health__hang_with_300ms_timeout__timeout(void **state) {
        struct fixture *f = *state;
        uint64_t t0 = now_monotonic_usec(), elapsed;
        struct probe p;

        probe_new(f, &p, "/hang", 300, NULL);
        check_once(f, &p);
        elapsed = now_monotonic_usec() - t0;
        assert_int_equal(p.result.status, HEALTH_TIMEOUT);
        assert_int_equal(p.result.http_code, 0);
        assert_true(p.result.latency_usec >= 300 * USEC_PER_MSEC);
        assert_true(elapsed < 3 * USEC_PER_SEC);      /* arrived from the loop, not from the 5 s guard */
        assert_non_null(strstr(p.result.error, "timed out"));
}

static void health__server_closes__protocol_error(void **state) {
        struct fixture *f = *state;
        struct probe p;

        probe_new(f, &p, "/close", 2000, NULL);
        check_once(f, &p);
        assert_int_equal(p.result.status, HEALTH_PROTOCOL_ERROR);
        assert_int_equal(p.result.http_code, 0);
        assert_string_not_equal(p.result.error, "");
}

static void health__nothing_listening__connect_error_without_credentials(void **state) {
        struct fixture *f = *state;
        struct probe p = { .f = f };
        char url[128];

        snprintf(url, sizeof(url), "http://alice:s3cret@127.0.0.1:%u/health", f->refuse_port);
        assert_int_equal(health_target_new(f->health, url, 2 * USEC_PER_SEC, NULL, on_done, &p, &p.target), 0);
        check_once(f, &p);
        assert_int_equal(p.result.status, HEALTH_CONNECT_ERROR);
        assert_non_null(strstr(p.result.error, "127.0.0.1"));
        assert_null(strstr(p.result.error, "s3cret"));
        assert_null(strstr(p.result.error, "alice"));
}

/* A 64-byte label is not a DNS name: the resolver fails it locally, so no query leaves the machine (and .invalid
 * would never resolve anyway, RFC 6761). */
static void health__unresolvable_name__dns_error(void **state) {
        struct fixture *f = *state;
        struct probe p = { .f = f };
        char label[65], url[160];

        memset(label, 'a', 64);
        label[64] = '\0';
        snprintf(url, sizeof(url), "http://alice:s3cret@%s.invalid/health", label);
        assert_int_equal(health_target_new(f->health, url, 2 * USEC_PER_SEC, NULL, on_done, &p, &p.target), 0);
        check_once(f, &p);
        assert_int_equal(p.result.status, HEALTH_DNS_ERROR);
        assert_int_equal(p.result.http_code, 0);
        assert_non_null(strstr(p.result.error, "resolve"));
        assert_null(strstr(p.result.error, "s3cret"));
        assert_null(strstr(p.result.error, "alice"));
}

static void health__timeout_with_credentials__error_without_credentials(void **state) {
        struct fixture *f = *state;
        struct probe p = { .f = f };
        char url[128];

        snprintf(url, sizeof(url), "http://alice:s3cret@127.0.0.1:%u/hang", f->server.port);
        assert_int_equal(health_target_new(f->health, url, 200 * USEC_PER_MSEC, NULL, on_done, &p, &p.target), 0);
        check_once(f, &p);
        assert_int_equal(p.result.status, HEALTH_TIMEOUT);
        assert_null(strstr(p.result.error, "s3cret"));
        assert_null(strstr(p.result.error, "alice"));
}

static void health__two_targets_one_hanging__fast_one_first(void **state) {
        struct fixture *f = *state;
        struct probe hang, fast;

        probe_new(f, &hang, "/hang", 1000, NULL);
        probe_new(f, &fast, "/ok", 1000, NULL);
        assert_int_equal(health_target_start(hang.target), 0);
        assert_int_equal(health_target_start(fast.target), 0);

        run_until(f, &fast, 1);
        assert_int_equal(fast.result.status, HEALTH_OK);
        assert_int_equal(hang.calls, 0);
        assert_true(health_target_busy(hang.target));
        assert_true(fast.result.latency_usec < 1000 * USEC_PER_MSEC);

        run_until(f, &hang, 1);
        assert_int_equal(hang.result.status, HEALTH_TIMEOUT);
        assert_true(fast.seq < hang.seq);
}

static void health__keepalive_two_checks__one_connection(void **state) {
        struct fixture *f = *state;
        struct probe p;

        probe_new(f, &p, "/keepalive", 2000, "ok");
        check_once(f, &p);
        check_once(f, &p);
        assert_int_equal(p.result.status, HEALTH_OK);
        assert_int_equal(server_accepts(&f->server), 1);
}

/* The control for the test above: the accept count does see a second connection. */
static void health__connection_close_two_checks__two_connections(void **state) {
        struct fixture *f = *state;
        struct probe p;

        probe_new(f, &p, "/ok", 2000, "ok");
        check_once(f, &p);
        check_once(f, &p);
        assert_int_equal(p.result.status, HEALTH_OK);
        assert_int_equal(server_accepts(&f->server), 2);
}

static void health__restart_from_callback__reuses_connection(void **state) {
        struct fixture *f = *state;
        struct probe p;

        probe_new(f, &p, "/keepalive", 2000, "ok");
        p.restarts = 2;
        assert_int_equal(health_target_start(p.target), 0);
        run_until(f, &p, 3);
        assert_int_equal(p.restart_r, 0);
        assert_int_equal(p.result.status, HEALTH_OK);
        assert_false(health_target_busy(p.target));
        assert_int_equal(server_accepts(&f->server), 1);
}

static void health__big_body__capped_and_evaluated(void **state) {
        static const struct {
                const char *expect;
                enum health_status want;
        } cases[] = {
                { "healthy", HEALTH_OK },
                { "edge", HEALTH_OK },                  /* the last bytes inside the cap */
                { "past", HEALTH_BODY_MISMATCH },       /* the first bytes beyond it */
                { "deepmarker", HEALTH_BODY_MISMATCH },
        };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct probe p;

                probe_new(f, &p, "/big", 5000, cases[i].expect);
                check_once(f, &p);
                if (p.result.status != cases[i].want || p.result.http_code != 200)
                        fail_msg("expect \"%s\": got %s (%ld), want %s", cases[i].expect,
                                 health_status_to_string(p.result.status), p.result.http_code,
                                 health_status_to_string(cases[i].want));
                health_target_free(p.target);
        }
}

static void health__cancel__aborted_before_return(void **state) {
        struct fixture *f = *state;
        struct probe p;

        probe_new(f, &p, "/hang", 2000, NULL);
        health_target_cancel(p.target);         /* idle: nothing to cancel, no callback */
        assert_int_equal(p.calls, 0);

        assert_int_equal(health_target_start(p.target), 0);
        run_for(f, 100 * USEC_PER_MSEC);
        assert_int_equal(p.calls, 0);
        health_target_cancel(p.target);
        assert_int_equal(p.calls, 1);
        assert_int_equal(p.result.status, HEALTH_ABORTED);
        assert_false(health_target_busy(p.target));

        run_for(f, 200 * USEC_PER_MSEC);
        assert_int_equal(p.calls, 1);
}

static void health__double_start__ebusy(void **state) {
        struct fixture *f = *state;
        struct probe p;

        probe_new(f, &p, "/ok", 2000, NULL);
        assert_false(health_target_busy(p.target));
        assert_int_equal(health_target_start(p.target), 0);
        assert_true(health_target_busy(p.target));
        assert_int_equal(health_target_start(p.target), -EBUSY);
        run_until(f, &p, 1);
        assert_int_equal(p.result.status, HEALTH_OK);
        check_once(f, &p);                      /* the same handle again, after completion */
        assert_int_equal(p.result.status, HEALTH_OK);
}

static void health__free_target_in_flight__no_callback(void **state) {
        struct fixture *f = *state;
        struct probe p;

        probe_new(f, &p, "/hang", 300, NULL);
        assert_int_equal(health_target_start(p.target), 0);
        run_for(f, 50 * USEC_PER_MSEC);
        health_target_free(p.target);
        run_for(f, 500 * USEC_PER_MSEC);
        assert_int_equal(p.calls, 0);
}

static void health__free_with_targets_in_flight__frees_them_silently(void **state) {
        struct fixture *f = *state;
        struct probe a, b, idle;

        probe_new(f, &a, "/hang", 2000, NULL);
        probe_new(f, &b, "/hang", 2000, NULL);
        probe_new(f, &idle, "/keepalive", 2000, NULL);
        check_once(f, &idle);                   /* leaves an idle connection in the multi's cache */
        assert_int_equal(health_target_start(a.target), 0);
        assert_int_equal(health_target_start(b.target), 0);
        run_for(f, 50 * USEC_PER_MSEC);
        f->health = health_free(f->health);     /* leak-checked by ASan / valgrind */
        run_for(f, 100 * USEC_PER_MSEC);
        assert_int_equal(a.calls, 0);
        assert_int_equal(b.calls, 0);
        assert_int_equal(idle.calls, 1);
}

/* ---------------------------------------------------------------- one-off POSTs (the alert webhook) */

struct post {
        unsigned calls;
        struct health_result result;
        struct health_request *q;
        char body[128];
        uint64_t sent, received;
};

static void on_posted(struct health_request *q, const struct health_result *r, void *userdata) {
        struct post *p = userdata;

        p->calls++;
        p->result = *r;
        p->q = health_request_free(q);          /* freeing from inside the callback is allowed */
}

/* For general requests: also keeps a copy of the body and the byte counts. */
static void on_request(struct health_request *q, const struct health_result *r, void *userdata) {
        struct post *p = userdata;
        size_t n;
        const char *b = health_request_body(q, &n);

        assert_int_equal(strlen(b), n);
        snprintf(p->body, sizeof p->body, "%s", b);
        health_request_bytes(q, &p->sent, &p->received);
        on_posted(q, r, userdata);
}

static void post_once(struct fixture *f, struct post *p, const char *url, unsigned timeout_ms) {
        uint64_t deadline = now_monotonic_usec() + WAIT_MAX_USEC;

        *p = (struct post) {};
        assert_int_equal(health_post(f->health, url, "application/json", "{\"a\":1}", 7, timeout_ms * USEC_PER_MSEC,
                                     on_posted, p, &p->q), 0);
        while (p->calls == 0 && now_monotonic_usec() < deadline)
                assert_true(sd_event_run(f->event, 50 * USEC_PER_MSEC) >= 0);
        assert_int_equal(p->calls, 1);
        assert_null(p->q);
}

static void health__post__2xx_ok_500_status_hang_timeout_refused_connect(void **state) {
        struct fixture *f = *state;
        char url[128];
        struct post p;

        snprintf(url, sizeof url, "http://user:pw@127.0.0.1:%u/ok", f->server.port);
        post_once(f, &p, url, 2000);
        assert_int_equal(p.result.status, HEALTH_OK);
        assert_int_equal(p.result.http_code, 200);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/500", f->server.port);
        post_once(f, &p, url, 2000);
        assert_int_equal(p.result.status, HEALTH_HTTP_STATUS);
        assert_int_equal(p.result.http_code, 500);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/hang", f->server.port);
        post_once(f, &p, url, 300);
        assert_int_equal(p.result.status, HEALTH_TIMEOUT);
        assert_true(p.result.latency_usec >= 300 * USEC_PER_MSEC && p.result.latency_usec < 3 * USEC_PER_SEC);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/ok", f->refuse_port);
        post_once(f, &p, url, 2000);
        assert_int_equal(p.result.status, HEALTH_CONNECT_ERROR);
}

static void health__post_bad_arguments_and_free_in_flight__no_callback(void **state) {
        struct fixture *f = *state;
        struct post p = {};
        char url[128];

        assert_int_equal(health_post(f->health, "ftp://x/", "text/plain", "", 0, USEC_PER_SEC, on_posted, &p, &p.q),
                         -EINVAL);
        assert_int_equal(health_post(f->health, "http://x/", "text/plain", "", 0, 0, on_posted, &p, &p.q), -EINVAL);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/hang", f->server.port);
        assert_int_equal(health_post(f->health, url, "text/plain", "x", 1, USEC_PER_SEC, on_posted, &p, &p.q), 0);
        run_for(f, 100 * USEC_PER_MSEC);
        p.q = health_request_free(p.q);
        run_for(f, 100 * USEC_PER_MSEC);
        assert_int_equal(p.calls, 0);
        /* one left in flight is freed by health_free (teardown), silently */
        assert_int_equal(health_post(f->health, url, "text/plain", "x", 1, USEC_PER_SEC, on_posted, &p, &p.q), 0);
}

/* ---------------------------------------------------------------- general requests (etcd's gateway) */

static void request_once(struct fixture *f, struct post *p, const struct health_request_opts *o) {
        uint64_t deadline = now_monotonic_usec() + WAIT_MAX_USEC;

        *p = (struct post) {};
        assert_int_equal(health_request_start(f->health, o, on_request, p, &p->q), 0);
        while (p->calls == 0 && now_monotonic_usec() < deadline)
                assert_true(sd_event_run(f->event, 50 * USEC_PER_MSEC) >= 0);
        assert_int_equal(p->calls, 1);
        assert_null(p->q);
}

static void health__request__body_kept_for_any_status_and_bounded(void **state) {
        static const char *const auth[] = { "Authorization: tok", NULL };
        struct fixture *f = *state;
        struct health_request_opts o = { .method = "GET", .headers = auth, .timeout_usec = 2 * USEC_PER_SEC,
                                         .body_max = 1024 };
        char url[128];
        struct post p;

        o.url = url;
        snprintf(url, sizeof url, "http://127.0.0.1:%u/body", f->server.port);
        request_once(f, &p, &o);
        assert_int_equal(p.result.status, HEALTH_OK);
        assert_string_equal(p.body, "{\"status\":\"degraded\"}");
        assert_true(p.sent > 0 && p.received > strlen(p.body));
        snprintf(url, sizeof url, "http://127.0.0.1:%u/500", f->server.port);
        o.method = "POST", o.body = "{}", o.body_len = 2, o.content_type = "application/json";
        request_once(f, &p, &o);
        assert_int_equal(p.result.status, HEALTH_HTTP_STATUS);
        assert_string_equal(p.body, "error");                   /* an error body says why */
        snprintf(url, sizeof url, "http://127.0.0.1:%u/big", f->server.port);
        request_once(f, &p, &o);
        assert_int_equal(p.result.status, HEALTH_PROTOCOL_ERROR);
        assert_non_null(strstr(p.result.error, "larger than 1024 bytes"));
        o.body_max = 0;                                         /* dropped */
        snprintf(url, sizeof url, "http://127.0.0.1:%u/body", f->server.port);
        request_once(f, &p, &o);
        assert_int_equal(p.result.status, HEALTH_OK);
        assert_string_equal(p.body, "");
        o.method = "PUT";
        assert_int_equal(health_request_start(f->health, &o, on_request, &p, &p.q), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(health__evaluate__table),
                cmocka_unit_test(health__status_to_string__every_status_named),
                cmocka_unit_test(health__url_redact__table),
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
                T(health__target_new_bad_arguments__einval),
                T(health__ok__status_ok),
                T(health__status_500__http_status),
                T(health__unknown_path_404__http_status),
                T(health__expect_body_missing__body_mismatch),
                T(health__hang_with_300ms_timeout__timeout),
                T(health__server_closes__protocol_error),
                T(health__nothing_listening__connect_error_without_credentials),
                T(health__unresolvable_name__dns_error),
                T(health__timeout_with_credentials__error_without_credentials),
                T(health__two_targets_one_hanging__fast_one_first),
                T(health__keepalive_two_checks__one_connection),
                T(health__connection_close_two_checks__two_connections),
                T(health__restart_from_callback__reuses_connection),
                T(health__big_body__capped_and_evaluated),
                T(health__cancel__aborted_before_return),
                T(health__double_start__ebusy),
                T(health__request__body_kept_for_any_status_and_bounded),
                T(health__free_target_in_flight__no_callback),
                T(health__free_with_targets_in_flight__frees_them_silently),
                T(health__post__2xx_ok_500_status_hang_timeout_refused_connect),
                T(health__post_bad_arguments_and_free_in_flight__no_callback),
#undef T
        };

        /* The server's connection children outlive it by a moment; reap them here, not in PID 1. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
