/* control: the daemon's command socket (server on sd-event) and the CLI's blocking client. See control.h. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "exitcode.h"
#include "pause.h"
#include "util.h"

/* Connections that have not sent their request yet: beyond this, new ones are refused at once. */
#define CONTROL_PENDING_MAX 4
/* How long a finished command's caller may take to make room for its exit code. */
#define CONTROL_FINISH_TIMEOUT_USEC (10 * USEC_PER_SEC)

struct control_call {
        struct control *control;        /* NULL: a remote call (ops) */
        const struct control_call_ops *ops;
        void *ops_userdata;
        int fd;
        sd_event_source *io;            /* the request, then the hang-up watch, then room for "exit N" */
        sd_event_source *timer;         /* the request's deadline, then the ping, then the finish deadline */
        int phase;                      /* enum call_phase */
        unsigned dropped;               /* progress lines the caller had no room for */
        char exit_msg[16];
        struct control_call *prev, *next;
};

struct control {
        sd_event *event;
        int fd;
        sd_event_source *io, *accept_pause;
        char *path;
        control_handler_fn handler;
        control_hangup_fn hangup;
        void *userdata;
        struct control_call *calls;
        unsigned n_pending;
        bool busy;                      /* a command runs: one at a time */
};

const char *control_command_to_string(enum control_command c) {
        switch (c) {
        case CONTROL_ONCE:              return "once";
        case CONTROL_CLEAR_STATE:       return "clear-state";
        case CONTROL_PAUSE:             return "pause";
        case CONTROL_SWITCHOVER:        return "switchover";
        case CONTROL_REJOIN:            return "rejoin";
        case CONTROL_RESUME:            return "resume";
        }
        return "?";
}

static int socket_address(const char *state_dir, struct sockaddr_un *ret, socklen_t *ret_len) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", state_dir, CONTROL_SOCKET_NAME);

        if (n < 0 || (size_t) n >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        *ret = sa;
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + (size_t) n + 1);
        return 0;
}

bool control_path_fits(const char *state_dir) {
        struct sockaddr_un sa;
        socklen_t len;

        return socket_address(state_dir, &sa, &len) == 0;
}

/* ---- server --------------------------------------------------------------------------------------------- */

enum call_phase {
        CALL_PENDING,                   /* connected; its request not read yet */
        CALL_RUNNING,                   /* handed to the handler */
        CALL_FINISHING,                 /* done; "exit N" waits for room in the socket */
};

static void call_free(struct control_call *call) {
        struct control *c = call->control;

        if (!c) {
                free(call);
                return;
        }
        if (call->phase == CALL_PENDING && c->n_pending > 0)
                c->n_pending--;
        if (call->phase == CALL_RUNNING)
                c->busy = false;
        LIST_REMOVE(c->calls, call);
        sd_event_source_disable_unref(call->io);
        sd_event_source_disable_unref(call->timer);
        if (call->fd >= 0)
                close(call->fd);
        free(call);
}

/* 0 sent, -EAGAIN no room now, another -errno: the caller is gone (the socket is closed then). */
static int send_msg(struct control_call *call, const char *msg) {
        if (call->fd < 0)
                return -EPIPE;
        /* Never block the loop for a caller that does not read, never die of SIGPIPE for one that left. */
        if (send(call->fd, msg, strnlen(msg, CONTROL_MSG_MAX - 1), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
                return 0;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -EAGAIN;
        call->io = sd_event_source_disable_unref(call->io);
        close(call->fd);
        call->fd = -1;
        return -EPIPE;
}

/* Progress may be dropped for a caller that does not read (it is all in the journal); the exit code never is. */
static void send_line(struct control_call *call, const char *prefix, const char *text) {
        char msg[CONTROL_MSG_MAX];

        if (snprintf(msg, sizeof msg, "%s%s", prefix, text) < 0)       /* a longer line is cut, not refused */
                return;
        if (send_msg(call, msg) == -EAGAIN)
                call->dropped++;
}

int control_call_new_remote(const struct control_call_ops *ops, void *userdata, struct control_call **ret) {
        struct control_call *call;

        if (!ops || !ops->log || !ops->out || !ops->finish || !ret)
                return -EINVAL;
        call = calloc(1, sizeof *call);
        if (!call)
                return -ENOMEM;
        *call = (struct control_call) { .ops = ops, .ops_userdata = userdata, .fd = -1, .phase = CALL_RUNNING };
        *ret = call;
        return 0;
}

void control_call_log(struct control_call *call, const char *level_name, const char *text) {
        char line[CONTROL_MSG_MAX];

        if (call->ops) {
                call->ops->log(level_name, text, call->ops_userdata);
                return;
        }
        if (snprintf(line, sizeof line, "%s: %s", level_name, text) >= 0)
                send_line(call, "log ", line);
}

void control_call_out(struct control_call *call, const char *text) {
        if (call->ops) {
                call->ops->out(text, call->ops_userdata);
                return;
        }
        send_line(call, "out ", text);
}

static int send_exit(struct control_call *call) {
        char note[128];

        if (call->dropped > 0) {
                snprintf(note, sizeof note, "log warning: %u progress lines were dropped (the caller did not read "
                         "them); the daemon's journal has them all", call->dropped);
                if (send_msg(call, note) == -EAGAIN)
                        return -EAGAIN;
                call->dropped = 0;
        }
        return send_msg(call, call->exit_msg);
}

static int on_finish_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct control_call *call = userdata;

        if (send_exit(call) != -EAGAIN)
                call_free(call);
        return 0;
}

static int on_finish_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        call_free(userdata);            /* the caller never made room: it reports a lost connection */
        return 0;
}

/* Waits (bounded, on the loop) for the room to send "exit N" to a caller whose socket is full. */
static void finish_later(struct control_call *call) {
        struct control *c = call->control;

        call->io = sd_event_source_disable_unref(call->io);
        call->timer = sd_event_source_disable_unref(call->timer);
        if (sd_event_add_io(c->event, &call->io, call->fd, EPOLLOUT, on_finish_writable, call) < 0 ||
            sd_event_add_time_relative(c->event, &call->timer, CLOCK_MONOTONIC, CONTROL_FINISH_TIMEOUT_USEC, 0,
                                       on_finish_timeout, call) < 0)
                call_free(call);
}

void control_call_finish(struct control_call *call, int exit_code) {
        if (call->ops) {
                call->ops->finish(exit_code, call->ops_userdata);
                call_free(call);
                return;
        }
        snprintf(call->exit_msg, sizeof call->exit_msg, "exit %d", exit_code);
        if (call->phase == CALL_RUNNING)
                call->control->busy = false;    /* the next command may start while this one's caller catches up */
        if (call->phase == CALL_PENDING && call->control->n_pending > 0)
                call->control->n_pending--;
        call->phase = CALL_FINISHING;
        if (send_exit(call) == -EAGAIN)
                finish_later(call);
        else
                call_free(call);
}

static void refuse(struct control_call *call, int exit_code, const char *why) {
        control_call_log(call, "error", why);
        control_call_finish(call, exit_code);
}

/* The sites form's names: [a-z0-9_-]{1,31}. */
static bool site_name_valid(const char *s) {
        size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-");

        return n > 0 && n < 32 && s[n] == '\0';
}

int control_parse_request(const char *msg, struct control_request *req) {
        if (strcmp(msg, "1 once") == 0)
                *req = (struct control_request) { .command = CONTROL_ONCE };
        else if (strcmp(msg, "1 once force") == 0)
                *req = (struct control_request) { .command = CONTROL_ONCE, .force = true };
        else if (strcmp(msg, "1 clear-state") == 0)
                *req = (struct control_request) { .command = CONTROL_CLEAR_STATE };
        else if (strcmp(msg, "1 clear-state forget-roles") == 0)
                *req = (struct control_request) { .command = CONTROL_CLEAR_STATE, .forget_roles = true };
        else if (strcmp(msg, "1 resume") == 0)
                *req = (struct control_request) { .command = CONTROL_RESUME };
        else if (strcmp(msg, "1 switchover") == 0)
                *req = (struct control_request) { .command = CONTROL_SWITCHOVER };
        else if (strncmp(msg, "1 switchover to ", 16) == 0) {
                *req = (struct control_request) { .command = CONTROL_SWITCHOVER };
                if (!site_name_valid(msg + 16))
                        return -EBADMSG;
                memcpy(req->site, msg + 16, strlen(msg + 16) + 1);
        } else if (strcmp(msg, "1 rejoin") == 0)
                *req = (struct control_request) { .command = CONTROL_REJOIN };
        else if (strcmp(msg, "1 rejoin reclone") == 0)
                *req = (struct control_request) { .command = CONTROL_REJOIN, .reclone = true };
        else if (strcmp(msg, "1 pause") == 0 || strncmp(msg, "1 pause ", 8) == 0) {
                const char *reason = msg[7] ? msg + 8 : "";
                *req = (struct control_request) { .command = CONTROL_PAUSE };
                if (!pause_reason_valid(reason))        /* also: it fits req->reason */
                        return -EBADMSG;
                memcpy(req->reason, reason, strlen(reason) + 1);
        } else
                return -EBADMSG;
        return 0;
}

int control_request_format(const struct control_request *req, char *buf, size_t size) {
        int n;

        switch (req->command) {
        case CONTROL_ONCE:
                n = snprintf(buf, size, "1 once%s", req->force ? " force" : "");
                break;
        case CONTROL_CLEAR_STATE:
                n = snprintf(buf, size, "1 clear-state%s", req->forget_roles ? " forget-roles" : "");
                break;
        case CONTROL_PAUSE:
                if (!pause_reason_valid(req->reason))
                        return -EINVAL;
                n = snprintf(buf, size, "1 pause%s%s", req->reason[0] ? " " : "", req->reason);
                break;
        case CONTROL_RESUME:
                n = snprintf(buf, size, "1 resume");
                break;
        case CONTROL_SWITCHOVER:
                if (req->site[0] && !site_name_valid(req->site))
                        return -EINVAL;
                n = snprintf(buf, size, "1 switchover%s%s", req->site[0] ? " to " : "", req->site);
                break;
        case CONTROL_REJOIN:
                n = snprintf(buf, size, "1 rejoin%s", req->reclone ? " reclone" : "");
                break;
        default:
                return -EINVAL;
        }
        return n < 0 ? -EINVAL : (size_t) n >= size ? -ENOBUFS : 0;
}

static int on_ping(sd_event_source *s, uint64_t usec, void *userdata) {
        struct control_call *call = userdata;

        send_line(call, "ping", "");
        return sd_event_source_set_time_relative(s, CONTROL_PING_INTERVAL_USEC);
}

/* The caller hung up while its command runs: the manager decides what that means (an undecided --once is
 * withdrawn; a failover goes on). Watched once: the hang-up stays readable. */
static int on_call_hangup(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct control_call *call = userdata;
        struct control *c = call->control;

        call->io = sd_event_source_disable_unref(call->io);
        if (c->hangup)
                c->hangup(call, c->userdata);
        return 0;
}

static void start_command(struct control_call *call, const struct control_request *req) {
        struct control *c = call->control;

        call->io = sd_event_source_disable_unref(call->io);
        call->timer = sd_event_source_disable_unref(call->timer);
        call->phase = CALL_RUNNING;
        c->n_pending--;
        c->busy = true;
        /* The ping lets the caller tell a long failover from a dead daemon; the hang-up watch, a caller who left. */
        if (sd_event_add_time_relative(c->event, &call->timer, CLOCK_MONOTONIC, CONTROL_PING_INTERVAL_USEC, 0,
                                       on_ping, call) >= 0)
                (void) sd_event_source_set_enabled(call->timer, SD_EVENT_ON);
        (void) sd_event_add_io(c->event, &call->io, call->fd, EPOLLRDHUP, on_call_hangup, call);
        c->handler(call, req, c->userdata);
}

static int on_call_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct control_call *call = userdata;
        struct control *c = call->control;
        struct control_request req;
        struct ucred cred;
        socklen_t len = sizeof cred;
        char msg[CONTROL_MSG_MAX + 1];
        ssize_t n = recv(fd, msg, sizeof msg, MSG_DONTWAIT | MSG_TRUNC);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {                   /* the caller left before asking anything */
                call_free(call);
                return 0;
        }
        /* Who asks first: a caller who may not give commands learns nothing else. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return refuse(call, EXIT_FAILURE, "control: cannot tell who is asking"), 0;
        if (cred.uid != 0 && cred.uid != geteuid())
                return refuse(call, EXIT_NOPERM, "control: only root (or the daemon's own user) may give commands"), 0;
        if ((size_t) n > CONTROL_MSG_MAX)
                return refuse(call, EXIT_USAGE, "control: request too long"), 0;
        msg[n] = '\0';
        if (control_parse_request(msg, &req) < 0)
                return refuse(call, EXIT_USAGE, "control: unknown request (this daemon speaks protocol 1: \"1 once\", "
                              "\"1 once force\", \"1 clear-state [forget-roles]\", \"1 pause [REASON]\", \"1 resume\", \"1 switchover [to SITE]\", "
                              "\"1 rejoin [reclone]\"); is the "
                              "blfailoverd binary newer than the daemon?"), 0;
        if (c->busy)
                return refuse(call, EXIT_BUSY, "another command is in progress in the daemon; try again when it is done"), 0;
        req.pid = cred.pid;
        req.uid = cred.uid;
        start_command(call, &req);
        return 0;
}

static int on_request_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        refuse(userdata, EXIT_USAGE, "control: no request within 5 s");
        return 0;
}

static int on_accept_resume(sd_event_source *s, uint64_t usec, void *userdata) {
        struct control *c = userdata;

        c->accept_pause = sd_event_source_disable_unref(c->accept_pause);
        (void) sd_event_source_set_enabled(c->io, SD_EVENT_ON);
        return 0;
}

static void accept_later(struct control *c) {
        /* Out of descriptors: the listening socket stays readable, so stop looking at it for a second. */
        if (c->accept_pause)
                return;
        (void) sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
        if (sd_event_add_time_relative(c->event, &c->accept_pause, CLOCK_MONOTONIC, USEC_PER_SEC, 0, on_accept_resume,
                                       c) < 0)
                (void) sd_event_source_set_enabled(c->io, SD_EVENT_ON);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct control *c = userdata;
        struct control_call *call;
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), r;

        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        accept_later(c);
                return 0;
        }
        if (c->n_pending >= CONTROL_PENDING_MAX || !(call = calloc(1, sizeof *call))) {
                /* Say so: a caller whose connection just closes would report an interrupted command. */
                (void) send(cfd, "exit 75", 7, MSG_DONTWAIT | MSG_NOSIGNAL);
                close(cfd);
                return 0;
        }
        *call = (struct control_call) { .control = c, .fd = cfd, .phase = CALL_PENDING };
        LIST_PREPEND(c->calls, call);
        c->n_pending++;
        r = sd_event_add_io(c->event, &call->io, cfd, EPOLLIN, on_call_readable, call);
        if (r >= 0)
                r = sd_event_add_time_relative(c->event, &call->timer, CLOCK_MONOTONIC, CONTROL_REQUEST_TIMEOUT_USEC,
                                               0, on_request_timeout, call);
        if (r < 0)
                call_free(call);
        return 0;
}

int control_listen(sd_event *e, const char *state_dir, control_handler_fn handler, control_hangup_fn hangup,
                   void *userdata, struct control **ret) {
        struct sockaddr_un sa;
        socklen_t len;
        struct control *c;
        int r = socket_address(state_dir, &sa, &len);

        if (r < 0)
                return r;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (struct control) { .event = sd_event_ref(e), .fd = -1, .handler = handler, .hangup = hangup,
                                .userdata = userdata, .path = strdup(sa.sun_path) };
        if (!c->path)
                return control_free(c), -ENOMEM;
        c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->fd < 0)
                return r = -errno, control_free(c), r;
        /* We hold the state_dir lock: a socket file left there is a dead daemon's. */
        (void) unlink(c->path);
        if (bind(c->fd, (struct sockaddr *) &sa, len) < 0 || chmod(c->path, 0600) < 0 || listen(c->fd, 8) < 0)
                return r = -errno, control_free(c), r;
        r = sd_event_add_io(e, &c->io, c->fd, EPOLLIN, on_accept, c);
        if (r < 0)
                return control_free(c), r;
        *ret = c;
        return 0;
}

struct control *control_free(struct control *c) {
        if (!c)
                return NULL;
        while (c->calls)
                call_free(c->calls);
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->accept_pause);
        if (c->fd >= 0) {
                close(c->fd);
                (void) unlink(c->path);
        }
        sd_event_unref(c->event);
        free(c->path);
        free(c);
        return NULL;
}

/* ---- client --------------------------------------------------------------------------------------------- */

static int client_connect(const char *state_dir) {
        const struct timeval silence = { .tv_sec = CONTROL_SILENCE_TIMEOUT_MSEC / 1000 };
        struct sockaddr_un sa;
        socklen_t len;
        int fd, r = socket_address(state_dir, &sa, &len);

        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* A full backlog (a stalled or stopping daemon) would block connect() for good: bound it. */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &silence, sizeof silence) < 0 ||
            connect(fd, (struct sockaddr *) &sa, len) < 0) {
                r = errno == EINPROGRESS || errno == EAGAIN ? -ETIMEDOUT : -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* One reply message; 1 when it was "exit N". */
static int client_handle(const char *msg, FILE *out, FILE *err, int *ret_exit) {
        if (strncmp(msg, "log ", 4) == 0)
                fprintf(err, "%s\n", msg + 4);
        else if (strncmp(msg, "out ", 4) == 0)
                fprintf(out, "%s\n", msg + 4);
        else if (strncmp(msg, "exit ", 5) == 0) {
                *ret_exit = atoi(msg + 5);
                return 1;
        }
        return 0;       /* "ping" and anything newer: ignored */
}

int control_request(const char *state_dir, const char *request, FILE *out, FILE *err, int *ret_exit) {
        char msg[CONTROL_MSG_MAX + 1];
        bool answered = false;
        int fd = client_connect(state_dir), r = 0;

        if (fd < 0)
                return fd;
        if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0)
                r = -errno;
        while (r == 0) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;

                r = poll(&p, 1, CONTROL_SILENCE_TIMEOUT_MSEC);
                if (r < 0 && errno == EINTR) {
                        r = 0;
                        continue;
                }
                if (r <= 0) {
                        r = r == 0 ? -ETIMEDOUT : -errno;
                        break;
                }
                n = recv(fd, msg, sizeof msg - 1, 0);
                if (n <= 0) {
                        /* Closed before a word: the daemon was stopping, nothing ran — the same as nobody there. */
                        r = n == 0 || errno == ECONNRESET ? (answered ? -ECONNRESET : -ECONNREFUSED) : -errno;
                        break;
                }
                answered = true;
                msg[n] = '\0';
                r = client_handle(msg, out, err, ret_exit);
                fflush(out);
                fflush(err);
        }
        close(fd);
        return r > 0 ? 0 : r;
}
