/* control: owns the local command channel between the CLI and a running daemon — a unix socket STATE_DIR/control
 * (SOCK_SEQPACKET: one message per request or reply line, no framing of our own), bound only by the holder of the
 * state_dir lock, served on the daemon's sd-event loop. It authenticates (SO_PEERCRED: root or the daemon's own
 * user), bounds what it reads (one request ≤ CONTROL_MSG_MAX bytes within CONTROL_REQUEST_TIMEOUT), runs one
 * command at a time, and carries progress back. What a command *does* is the manager's business, not this module's.
 *
 * Protocol (version 1), every message ASCII text without a trailing newline:
 *   client → daemon, once:  "1 once" | "1 once force" | "1 clear-state" | "1 clear-state forget-roles" | "1 pause" | "1 pause REASON" | "1 resume"
 *   daemon → client, any number of:  "log LEVEL: text" (progress, for stderr) | "out text" (for stdout) | "ping"
 *                                    (every CONTROL_PING_INTERVAL while the command runs: the daemon is alive)
 *   daemon → client, last:  "exit N" — the command's exit code, as the CLI would have returned it.
 * A connection that closes without "exit" means the daemon died or was stopped mid-command. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "pause.h"

#define CONTROL_SOCKET_NAME "control"
#define CONTROL_MSG_MAX 4096
#define CONTROL_PING_INTERVAL_USEC (5 * 1000000ULL)
#define CONTROL_REQUEST_TIMEOUT_USEC (5 * 1000000ULL)
/* The client gives up on a daemon that sent nothing (not even a ping) for this long. */
#define CONTROL_SILENCE_TIMEOUT_MSEC (3 * 5 * 1000)

enum control_command {
        CONTROL_ONCE,
        CONTROL_CLEAR_STATE,
        CONTROL_PAUSE,
        CONTROL_RESUME,
        CONTROL_SWITCHOVER,
        CONTROL_REJOIN,
};

struct control_request {
        enum control_command command;
        bool force;
        bool reclone;                   /* CONTROL_REJOIN */
        char site[32];                  /* CONTROL_SWITCHOVER: the site to serve ("" = the standby) */
        bool forget_roles;      /* CONTROL_CLEAR_STATE: the sites form drops the roles too */
        char reason[PAUSE_REASON_MAX];  /* CONTROL_PAUSE: "" when none was given */
        pid_t pid;              /* the caller, from SO_PEERCRED */
        uid_t uid;
};

struct control;
struct control_call;

/* Called on the loop for each authenticated, well-formed request while no other command runs. The handler owns
 * `call` until it passes it to control_call_finish (possibly much later, from another callback). */
typedef void (*control_handler_fn)(struct control_call *call, const struct control_request *req, void *userdata);
/* Called once when the caller of a running command hangs up; the call stays the handler's until it finishes it. */
typedef void (*control_hangup_fn)(struct control_call *call, void *userdata);

/* Binds STATE_DIR/control (replacing a stale socket: the caller holds the lock) and serves it on `e`.
 * -ENAMETOOLONG when the path does not fit a sockaddr_un. */
int control_listen(sd_event *e, const char *state_dir, control_handler_fn handler, control_hangup_fn hangup,
                   void *userdata, struct control **ret);
/* Closes every connection (a command still running loses its caller, not its effect) and removes the socket. */
struct control *control_free(struct control *c);

/* Progress for the caller; dropped silently when the caller has gone or does not read. */
void control_call_log(struct control_call *call, const char *level_name, const char *text);
void control_call_out(struct control_call *call, const char *text);
/* Sends "exit N" (waiting on the loop, bounded, for a caller who does not read), closes the connection, frees the
 * call; the next command may start at once. The call must not be used after this. */
void control_call_finish(struct control_call *call, int exit_code);

/* A call that did not come from the socket: a command another cluster member forwarded (memcmd.c). The manager
 * runs it with the same code as a local one; control_call_log/out/finish hand its progress and exit code to ops
 * instead of a socket, and control_call_finish calls ops->finish and then frees the call. No ping, no hang-up
 * watch, and it does not count as the socket's running command (the caller keeps "one at a time" itself). */
struct control_call_ops {
        void (*log)(const char *level_name, const char *text, void *userdata);
        void (*out)(const char *text, void *userdata);
        void (*finish)(int exit_code, void *userdata);
};
int control_call_new_remote(const struct control_call_ops *ops, void *userdata, struct control_call **ret);

/* Pure: the request → its protocol message ("1 once force", "1 switchover to b", "1 pause REASON"), the inverse
 * of control_parse_request. -EINVAL for a request it would not parse back (a site or reason not in its words),
 * -ENOBUFS when buf is too small. */
int control_request_format(const struct control_request *req, char *buf, size_t size);

/* Pure: one request message → the request. -EBADMSG for anything but the protocol's words (and a pause reason
 * that is not one printable line of < PAUSE_REASON_MAX bytes). */
int control_parse_request(const char *msg, struct control_request *req);

const char *control_command_to_string(enum control_command c);

/* The client side (blocking; the CLI has no loop). Sends `request`, copies "log" lines to `err` and "out" lines to
 * `out`, returns 0 with the daemon's exit code in *ret_exit. -ECONNREFUSED or -ENOENT: nobody listens (no daemon,
 * or one still starting) — also when the daemon closed the connection before sending anything (it was stopping):
 * nothing ran; -ECONNRESET: the daemon closed the connection after starting to answer but before "exit";
 * -ETIMEDOUT: it sent nothing for CONTROL_SILENCE_TIMEOUT_MSEC (connecting included); -EACCES: not allowed to
 * connect; another -errno otherwise. */
int control_request(const char *state_dir, const char *request, FILE *out, FILE *err, int *ret_exit);

/* Whether "STATE_DIR/control" fits a sockaddr_un (for -t). */
bool control_path_fits(const char *state_dir);
