/* httpd: owns the embedded HTTP server (libmicrohttpd) for /metrics and /health — its listening socket, and
 * driving it from the one sd-event loop: no MHD thread; MHD's epoll fd is one sd-event io source and MHD's
 * timeout one timer, so a slow or stuck client never blocks the loop. The only module that includes
 * microhttpd.h. It serves what a handler returns and decides nothing; it does not log. */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

struct httpd_response {
        unsigned status;                /* 200, 404, ... */
        const char *content_type;       /* static string */
        char *body;                     /* malloc'd; the server frees it */
        size_t body_len;
};

/* Called from the loop for each GET or HEAD request (other methods get 405 without asking). path excludes the
 * query. Fill *ret; returning < 0 answers 500. */
typedef int (*httpd_handler_fn)(const char *path, struct httpd_response *ret, void *userdata);

struct httpd;

/* address: "HOST:PORT", "[v6]:PORT" (config.c has validated the shape). A host name is looked up here, in place:
 * only at start, before the loop runs; on a running loop the caller looks it up first and passes the address
 * (observe.c, after a reload). Binds and listens right away: -EADDRINUSE, -EACCES, -EADDRNOTAVAIL... come back from here, and
 * *ret_what says which call failed ("resolve", "bind", ...). */
int httpd_new(sd_event *e, const char *address, httpd_handler_fn handler, void *userdata, struct httpd **ret,
              const char **ret_what);
struct httpd *httpd_free(struct httpd *h);              /* closes every connection; NULL is fine */
