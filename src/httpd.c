/* httpd: libmicrohttpd in external-epoll mode on sd-event. */
#include "httpd.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define HTTPD_CONNECTIONS_MAX 16u       /* a scraper or two and an operator's curl; more is a misbehaving client */
#define HTTPD_CONNECTION_TIMEOUT_S 10u  /* an idle or trickling client is dropped after this */
#define HTTPD_BACKLOG 16

struct httpd {
        sd_event *event;
        struct MHD_Daemon *mhd;
        int listen_fd;                  /* ours until MHD_start_daemon takes it */
        sd_event_source *io;            /* MHD's epoll fd */
        sd_event_source *timer;         /* MHD_get_timeout */
        httpd_handler_fn handler;
        void *userdata;
};

/* After every MHD_run: MHD says how soon it must run again even without socket activity (pending writes,
 * connection timeouts). No deadline → the timer is off. */
static void httpd_rearm(struct httpd *h) {
        MHD_UNSIGNED_LONG_LONG ms = 0;

        if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(h->timer, (uint64_t) ms * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct httpd *h = userdata;

        (void) MHD_run(h->mhd);         /* never blocks: MHD polls its epoll fd with timeout 0 */
        httpd_rearm(h);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct httpd *h = userdata;

        (void) MHD_run(h->mhd);
        httpd_rearm(h);
        return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        enum MHD_Result r;

        if (!resp) {
                free(body);
                return MHD_NO;          /* MHD closes the connection */
        }
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        r = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text) {
        char *body = strdup(text);

        return body ? reply(c, status, "text/plain; charset=utf-8", body, strlen(body)) : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        static int first_call_marker;
        struct httpd *h = cls;
        struct httpd_response resp = {};

        /* MHD calls once with the headers only, then again (and once more per upload chunk): answer on the
         * second call, and ignore any body (our two documents take none). */
        if (*con_cls != &first_call_marker) {
                *con_cls = &first_call_marker;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        if (h->handler(url, &resp, h->userdata) < 0) {
                free(resp.body);
                return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render the document\n");
        }
        return reply(c, resp.status, resp.content_type, resp.body, resp.body_len);
}

/* "HOST:PORT" / "[V6]:PORT" → host and port strings (the config validated the shape). */
static int split_listen(const char *address, char *host, size_t host_size, const char **ret_port) {
        const char *colon = strrchr(address, ':');
        const char *start = address, *end = colon;

        if (!colon)
                return -EINVAL;
        if (address[0] == '[') {
                start = address + 1;
                end = colon - 1;
                if (end < start || *end != ']')
                        return -EINVAL;
        }
        if ((size_t) (end - start) >= host_size)
                return -EINVAL;
        memcpy(host, start, (size_t) (end - start));
        host[end - start] = 0;
        *ret_port = colon + 1;
        return 0;
}

static int open_listener(const char *address, int *ret_fd, int *ret_family, const char **ret_what) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai = NULL;
        char host[256];
        const char *port;
        int fd, r, one = 1;

        *ret_what = "parse";
        r = split_listen(address, host, sizeof host, &port);
        if (r < 0)
                return r;
        *ret_what = "resolve";
        if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
                return -EADDRNOTAVAIL;
        *ret_what = "socket";
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = -errno;
                freeaddrinfo(ai);
                return r;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        *ret_what = "bind";
        r = bind(fd, ai->ai_addr, ai->ai_addrlen);
        if (r == 0) {
                *ret_what = "listen";
                r = listen(fd, HTTPD_BACKLOG);
        }
        *ret_family = ai->ai_family;
        freeaddrinfo(ai);
        if (r < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int httpd_start(struct httpd *h, int family) {
        const union MHD_DaemonInfo *info;
        unsigned flags = MHD_USE_EPOLL | (family == AF_INET6 ? MHD_USE_IPv6 : 0);
        int r;

        /* No MHD_USE_INTERNAL_POLLING_THREAD: MHD runs only when we call MHD_run, from the loop. */
        h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                                  MHD_OPTION_LISTEN_SOCKET, h->listen_fd,
                                  MHD_OPTION_CONNECTION_LIMIT, HTTPD_CONNECTIONS_MAX,
                                  MHD_OPTION_CONNECTION_TIMEOUT, HTTPD_CONNECTION_TIMEOUT_S,
                                  MHD_OPTION_END);
        if (!h->mhd)
                return -ENOMEM;
        h->listen_fd = -1;              /* MHD closes it from now on */
        info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info || info->epoll_fd < 0)
                return -EOPNOTSUPP;
        r = sd_event_add_io(h->event, &h->io, info->epoll_fd, EPOLLIN, on_io, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(h->io, "httpd-io");
        r = sd_event_add_time_relative(h->event, &h->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(h->timer, "httpd-timer");
        httpd_rearm(h);
        return 0;
}

int httpd_new(sd_event *e, const char *address, httpd_handler_fn handler, void *userdata, struct httpd **ret,
              const char **ret_what) {
        struct httpd *h = calloc(1, sizeof *h);
        int family = AF_INET, r;

        *ret_what = "start";
        if (!h)
                return -ENOMEM;
        *h = (struct httpd) { .event = sd_event_ref(e), .listen_fd = -1, .handler = handler, .userdata = userdata };
        r = open_listener(address, &h->listen_fd, &family, ret_what);
        if (r >= 0) {
                *ret_what = "start the HTTP server";
                r = httpd_start(h, family);
        }
        if (r < 0) {
                httpd_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

struct httpd *httpd_free(struct httpd *h) {
        if (!h)
                return NULL;
        sd_event_source_disable_unref(h->io);
        sd_event_source_disable_unref(h->timer);
        if (h->mhd)
                MHD_stop_daemon(h->mhd);
        if (h->listen_fd >= 0)
                close(h->listen_fd);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}
