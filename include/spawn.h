/* spawn: owns running one external command on the sd-event loop: fork/exec of an argv (never a shell),
 * its own process group, stdin from /dev/null, stdout+stderr captured (capped), a minimal environment,
 * a deadline after which the whole process group is killed, and reaping via sd_event_add_child.
 * It does not log: the caller decides what to say about the result. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#define SPAWN_OUTPUT_MAX (64u * 1024u)

enum spawn_outcome {
        SPAWN_EXITED,           /* exit_code holds the status */
        SPAWN_SIGNALED,         /* signal holds the signal */
        SPAWN_TIMED_OUT,        /* killed (whole process group) at the deadline */
        SPAWN_EXEC_FAILED,      /* could not exec: exec_errno holds why (e.g. ENOENT: command not found) */
};

struct spawn_result {
        enum spawn_outcome outcome;
        int exit_code;
        int signal;
        int exec_errno;
        uint64_t duration_usec;
        const char *output;     /* captured stdout+stderr, NUL-terminated; valid only during the callback */
        size_t output_len;
        bool output_truncated;  /* more than SPAWN_OUTPUT_MAX was printed; the rest was read and dropped */
};

/* true when the command ran and exited 0 */
bool spawn_result_ok(const struct spawn_result *r);

/* "exit 0", "exit 3", "killed by SIGKILL", "timed out after 15.000s", "exec failed: No such file or directory" */
const char *spawn_outcome_describe(const struct spawn_result *r, char *buf, size_t size);

struct spawn;
typedef void (*spawn_done_fn)(struct spawn *s, const struct spawn_result *r, void *userdata);

/* Starts argv[0] (looked up in PATH when it has no '/'). `env` is the NULL-terminated environment for the child
 * (NULL: a minimal one — PATH, LANG=C.UTF-8, HOME — built from ours). timeout_usec must be > 0 (-EINVAL):
 * nothing waits without a deadline. PATH is searched without ever falling back to /bin/sh (execvp would, on
 * ENOEXEC). SIGCHLD must be blocked by the caller (-EBUSY otherwise). The callback runs once, from the loop,
 * after the child is reaped. Returns 0 and *ret (owned by the caller) or -errno. */
int spawn_start(sd_event *e, char *const argv[], char *const env[], uint64_t timeout_usec,
                spawn_done_fn done, void *userdata, struct spawn **ret);

/* The same for a helper that must not outlive the daemon (the warm ssh master): the child gets SIGTERM when the
 * daemon dies, even by SIGKILL (PR_SET_PDEATHSIG; best effort where a seccomp filter refuses prctl). Not for
 * failover steps: a step a crash interrupted is the record's business, and resuming decides about it. */
int spawn_start_tethered(sd_event *e, char *const argv[], char *const env[], uint64_t timeout_usec,
                         spawn_done_fn done, void *userdata, struct spawn **ret);

/* Kills a still-running child's process group, reaps nothing more, frees. NULL is fine. The callback is not
 * called after this. */
struct spawn *spawn_free(struct spawn *s);

/* The minimal environment spawn_start uses for env == NULL (PATH, LANG=C.UTF-8, HOME) followed by copies of
 * `extra` ("KEY=value" strings; NULL: none), for commands that get documented variables (hooks' BLF_*).
 * malloc'd strv (free with strv_free); NULL on ENOMEM. */
char **spawn_env_minimal_with(char *const extra[]);

/* "nginx -s reload" — argv joined by spaces, words with spaces/quotes shell-quoted, for logs. malloc'd. */
char *spawn_argv_to_string(char *const argv[]);
