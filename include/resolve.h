/* resolve: owns host name lookups off the sd-event loop — getaddrinfo() in a detached worker thread, the answer
 * delivered on the loop through a socket, as numeric addresses. libsystemd's sd-resolve does the same, but it
 * is not public API in the libsystemd we build against (252: no header, no exported symbols). It does not log.
 * A lookup that is cancelled keeps running in its thread until the resolver gives up; its answer is dropped. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#define RESOLVE_ADDRS_MAX 8

struct resolve_result {
        int error;                      /* 0, -ENXIO (no such name, or no address for it), -EAGAIN (temporary
                                         * failure: the resolver did not answer or said SERVFAIL), -ENOMEM,
                                         * another -errno from the system, -EIO (anything else) */
        const char *message;            /* the resolver's words when error != 0 (gai_strerror) */
        size_t n_addrs;                 /* ≥ 1 on success, in getaddrinfo's order, duplicates removed */
        char addrs[RESOLVE_ADDRS_MAX][INET6_ADDRSTRLEN];
};

struct resolve_query;
typedef void (*resolve_done_fn)(struct resolve_query *q, const struct resolve_result *r, void *userdata);

/* Looks `host` up (TCP addresses, any family, as libpq would) and calls `done` once from the loop. No deadline:
 * the caller arms its own and frees the query when it passes. Returns 0 and *ret, or -errno (thread or socket
 * could not be created). */
int resolve_start(sd_event *e, const char *host, resolve_done_fn done, void *userdata, struct resolve_query **ret);

/* Cancels (no callback when still running) and frees. NULL is fine. Safe from inside the callback. */
struct resolve_query *resolve_query_free(struct resolve_query *q);

/* Pure: an IPv4 or IPv6 literal (what libpq's hostaddr= accepts). */
bool resolve_is_ip_literal(const char *s);
