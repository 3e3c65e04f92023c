/* resolve: getaddrinfo() in a detached worker thread per lookup, answered on the sd-event loop. */
#include "resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

/* Shared by the loop and the worker; whoever drops the last reference frees it. The worker may outlive the
 * query by the resolver's whole retry time (getaddrinfo cannot be interrupted), so it owns its half. */
struct resolve_job {
        int refs;                       /* atomic */
        bool done;                      /* atomic: set (release) before the wake-up byte is sent */
        int fd;                         /* the worker's end of the socket pair */
        int gai_error, sys_errno;
        struct addrinfo *addrs;
        char host[];
};

struct resolve_query {
        sd_event_source *io;
        int fd;                         /* our end: closing it is how a cancelled worker learns nobody listens */
        struct resolve_job *job;
        bool in_callback, free_requested;
        resolve_done_fn done;
        void *userdata;
};

bool resolve_is_ip_literal(const char *s) {
        unsigned char buf[sizeof(struct in6_addr)];

        return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

static void job_unref(struct resolve_job *j) {
        if (!j || __atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) > 0)
                return;
        if (j->addrs)
                freeaddrinfo(j->addrs);
        if (j->fd >= 0)
                close(j->fd);
        free(j);
}

/* Same hints as libpq's own lookup, so that the addresses (and their order) are what it would have tried. */
static void *worker(void *arg) {
        struct resolve_job *j = arg;
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };

        j->gai_error = getaddrinfo(j->host, NULL, &hints, &j->addrs);
        j->sys_errno = errno;
        __atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
        /* Fails with EPIPE when the query was cancelled: nobody wants the answer any more. */
        (void) send(j->fd, "", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        job_unref(j);
        return NULL;
}

/* Detached, with every signal blocked: the loop's signalfd must stay the only receiver of signals. */
static int worker_start(struct resolve_job *j) {
        pthread_attr_t attr;
        sigset_t all, old;
        pthread_t t;
        int r;

        if ((r = pthread_attr_init(&attr)) != 0)
                return -r;
        r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        sigfillset(&all);
        if (r == 0 && (r = pthread_sigmask(SIG_SETMASK, &all, &old)) == 0) {
                r = pthread_create(&t, &attr, worker, j);
                (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        pthread_attr_destroy(&attr);
        return -r;
}

static int error_from_gai(int gai, int sys_errno) {
        switch (gai) {
        case EAI_NONAME:
        case EAI_NODATA:
        case EAI_ADDRFAMILY:
                return -ENXIO;
        case EAI_AGAIN:
                return -EAGAIN;
        case EAI_MEMORY:
                return -ENOMEM;
        case EAI_SYSTEM:
                return sys_errno > 0 ? -sys_errno : -EIO;
        default:
                return -EIO;
        }
}

static const void *addr_of(const struct addrinfo *a) {
        if (a->ai_family == AF_INET)
                return &((const struct sockaddr_in *) a->ai_addr)->sin_addr;
        if (a->ai_family == AF_INET6)
                return &((const struct sockaddr_in6 *) a->ai_addr)->sin6_addr;
        return NULL;
}

static void result_fill(const struct resolve_job *j, struct resolve_result *r) {
        for (const struct addrinfo *a = j->addrs; a && r->n_addrs < RESOLVE_ADDRS_MAX; a = a->ai_next) {
                char *dst = r->addrs[r->n_addrs];
                const void *src = addr_of(a);
                bool seen = false;

                if (!src || !inet_ntop(a->ai_family, src, dst, INET6_ADDRSTRLEN))
                        continue;
                for (size_t i = 0; i < r->n_addrs && !seen; i++)
                        seen = strcmp(r->addrs[i], dst) == 0;
                if (!seen)
                        r->n_addrs++;
        }
        if (r->n_addrs == 0) {
                r->error = -ENXIO;
                r->message = "no IPv4 or IPv6 address for this name";
        }
}

static void query_destroy(struct resolve_query *q) {
        q->io = sd_event_source_disable_unref(q->io);
        if (q->fd >= 0)
                close(q->fd);
        job_unref(q->job);
        free(q);
}

static int on_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct resolve_query *q = userdata;
        struct resolve_result r = {};
        char byte;

        if (recv(fd, &byte, 1, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;       /* spurious wake-up */
        q->io = sd_event_source_disable_unref(q->io);
        if (!__atomic_load_n(&q->job->done, __ATOMIC_ACQUIRE)) {
                r.error = -EIO;
                r.message = "the lookup thread went away";
        } else if (q->job->gai_error != 0) {
                r.error = error_from_gai(q->job->gai_error, q->job->sys_errno);
                r.message = q->job->gai_error == EAI_SYSTEM ? strerror(q->job->sys_errno)
                                                           : gai_strerror(q->job->gai_error);
        } else
                result_fill(q->job, &r);
        q->in_callback = true;
        q->done(q, &r, q->userdata);
        q->in_callback = false;
        if (q->free_requested)
                query_destroy(q);
        return 0;
}

static struct resolve_job *job_new(const char *host, int fd) {
        size_t n = strlen(host);
        struct resolve_job *j = malloc(sizeof(*j) + n + 1);

        if (!j)
                return NULL;
        *j = (struct resolve_job) { .refs = 2, .fd = fd };      /* one for the query, one for the worker */
        memcpy(j->host, host, n + 1);
        return j;
}

int resolve_start(sd_event *e, const char *host, resolve_done_fn done, void *userdata, struct resolve_query **ret) {
        struct resolve_query *q;
        int fds[2], r;

        if (!e || !host || !*host || !done || !ret)
                return -EINVAL;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
                return -errno;
        q = calloc(1, sizeof(*q));
        if (!q || !(q->job = job_new(host, fds[1]))) {
                free(q);
                close(fds[0]);
                close(fds[1]);
                return -ENOMEM;
        }
        q->fd = fds[0];
        q->done = done;
        q->userdata = userdata;
        r = sd_event_add_io(e, &q->io, q->fd, EPOLLIN, on_answer, q);
        if (r >= 0)
                r = worker_start(q->job);
        if (r < 0) {
                q->job->refs = 1;       /* no worker: the query holds the only reference */
                query_destroy(q);
                return r;
        }
        *ret = q;
        return 0;
}

struct resolve_query *resolve_query_free(struct resolve_query *q) {
        if (!q)
                return NULL;
        if (q->in_callback)
                q->free_requested = true;
        else
                query_destroy(q);
        return NULL;
}
