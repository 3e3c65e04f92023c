/* spawn: runs one external command on the sd-event loop — fork/exec of an argv in its own process group,
 * output captured and capped, minimal environment, deadline that kills the group, reaping via sd-event. */
#include "spawn.h"

#include <errno.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shellquote.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Reads per wakeup of the output source: a child that prints without pause must not starve the loop (the
 * source is level-triggered, we are called again on the next iteration). At reap time we drain a larger but
 * still bounded amount, since a daemonized grandchild may keep writing forever. */
#define OUTPUT_READS_PER_WAKEUP 16u
#define OUTPUT_READS_AT_REAP    64u
#define OUTPUT_SCRATCH          (16u * 1024u)

struct spawn {
        sd_event *event;
        sd_event_source *child_source;
        sd_event_source *output_source;
        sd_event_source *timer_source;
        int output_fd;          /* our (non-blocking) end of the child's stdout+stderr pipe, -1 once closed */
        int exec_fd;            /* our end of the CLOEXEC pipe on which the child reports exec failure */
        pid_t pid;              /* also the process group id */
        uint64_t start_usec;
        bool timed_out;
        bool exited;            /* the child source fired: the result was (or is being) delivered */
        bool truncated;
        char *output;           /* SPAWN_OUTPUT_MAX + 1 bytes */
        size_t output_len;
        spawn_done_fn done;
        void *userdata;
};

bool spawn_result_ok(const struct spawn_result *r) {
        return r && r->outcome == SPAWN_EXITED && r->exit_code == 0;
}

const char *spawn_outcome_describe(const struct spawn_result *r, char *buf, size_t size) {
        const char *what;

        if (!buf || size == 0)
                return buf;

        switch (r->outcome) {
        case SPAWN_EXITED:
                snprintf(buf, size, "exit %d", r->exit_code);
                break;
        case SPAWN_SIGNALED:
                what = sigabbrev_np(r->signal);
                if (what)
                        snprintf(buf, size, "killed by SIG%s", what);
                else
                        snprintf(buf, size, "killed by signal %d", r->signal);
                break;
        case SPAWN_TIMED_OUT:
                snprintf(buf, size, "timed out after %" PRIu64 ".%03" PRIu64 "s",
                         r->duration_usec / USEC_PER_SEC, r->duration_usec % USEC_PER_SEC / USEC_PER_MSEC);
                break;
        case SPAWN_EXEC_FAILED:
                what = strerrordesc_np(r->exec_errno);
                if (what)
                        snprintf(buf, size, "exec failed: %s", what);
                else
                        snprintf(buf, size, "exec failed: errno %d", r->exec_errno);
                break;
        default:
                snprintf(buf, size, "unknown outcome %d", (int) r->outcome);
        }
        return buf;
}

/* ---------------------------------------------------------------- child side
 * Everything between fork() and exec must be async-signal-safe (the daemon may have threads, e.g. a
 * resolver): no malloc, no stdio, no locks. All inputs are prepared by the parent before fork(). */

static _Noreturn void child_fail(int exec_fd, int err) {
        ssize_t n = write(exec_fd, &err, sizeof(err));

        (void) n;       /* nothing left to report to if even this fails: the parent then sees exit 127 */
        _exit(127);
}

static void child_reset_signals(void) {
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t none;

        /* Dispositions first, then the mask: no handler of ours may run in the child once unblocked.
         * SIG_IGN survives exec, so e.g. an ignored SIGPIPE must be undone here. SIGKILL/SIGSTOP and the
         * libc-internal signals fail with EINVAL, which is fine. */
        for (int sig = 1; sig < _NSIG; sig++)
                (void) sigaction(sig, &dfl, NULL);
        /* glibc refuses its two reserved signals (32, 33), but an ignored disposition for them survives exec:
         * reset them with the raw system call (kernel sigaction: handler, flags, restorer, 8-byte mask). */
        for (long sig = 32; sig < 34; sig++) {
                struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } k = {};
                (void) syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof k.mask);
        }
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Nothing but 0, 1, 2 crosses exec. keep_fd (CLOEXEC itself) must stay usable until exec. */
static void child_close_fds(int keep_fd) {
        struct rlimit rl;
        int max = 1 << 20;

        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
                return;
        /* Kernels before 5.11. Walking /proc/self/fd would need opendir() (malloc: not async-signal-safe
         * after fork), so walk the descriptor table up to the limit instead. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t) max)
                max = (int) rl.rlim_cur;
        for (int fd = 3; fd < max; fd++)
                if (fd != keep_fd)
                        (void) close(fd);
}

/* execvp() without its fallbacks: no "/bin/sh file" retry on ENOEXEC (never a shell), no current-directory
 * lookup for empty PATH entries, and the PATH searched is the one the child will see. Returns errno. */
static int child_execvpe(char *const argv[], char *const envp[], const char *path) {
        const char *file = argv[0];
        size_t flen = strlen(file);
        char buf[PATH_MAX];
        int err = ENOENT;

        if (strchr(file, '/')) {
                execve(file, argv, envp);
                return errno;
        }
        for (const char *p = path, *end; ; p = end + 1) {
                end = strchrnul(p, ':');
                size_t dlen = (size_t) (end - p);

                if (dlen > 0 && dlen + 1 + flen < sizeof(buf)) {
                        memcpy(buf, p, dlen);
                        buf[dlen] = '/';
                        memcpy(buf + dlen + 1, file, flen + 1);
                        execve(buf, argv, envp);
                        if (errno == EACCES)
                                err = EACCES;   /* remember, but a later PATH entry may still work */
                        else if (errno != ENOENT && errno != ENOTDIR)
                                return errno;
                }
                if (*end == '\0')
                        return err;
        }
}

static _Noreturn void child_exec(char *const argv[], char *const envp[], const char *path, int out_fd,
                                 int exec_fd, pid_t tether) {
        int fd;

        if (setpgid(0, 0) < 0)
                child_fail(exec_fd, errno);
        child_reset_signals();
        /* Best effort (a seccomp filter may refuse prctl): then systemd's cgroup is what cleans up. A parent that
         * died before prctl took effect is seen as a new parent. */
        if (tether > 0 && prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 && getppid() != tether)
                _exit(EXIT_FAILURE);

        /* Lift both pipe ends above stdio first, so that the dup2()s below cannot clobber them. */
        if ((fd = fcntl(exec_fd, F_DUPFD_CLOEXEC, 3)) < 0)
                child_fail(exec_fd, errno);
        exec_fd = fd;
        if ((out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3)) < 0)
                child_fail(exec_fd, errno);

        fd = open("/dev/null", O_RDONLY);   /* no CLOEXEC: if it lands on 0 it must survive exec as is */
        if (fd < 0)
                child_fail(exec_fd, errno);
        if ((fd != 0 && dup2(fd, 0) < 0) || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
                child_fail(exec_fd, errno);

        child_close_fds(exec_fd);
        child_fail(exec_fd, child_execvpe(argv, envp, path));
}

/* ---------------------------------------------------------------- parent side */

static char *env_entry(const char *name, const char *value) {
        char *e = malloc(strlen(name) + 1 + strlen(value) + 1);

        if (e)
                sprintf(e, "%s=%s", name, value);
        return e;
}

/* PATH, LANG=C.UTF-8, HOME, and in a monitor cluster BLFAILOVERD_MEMBER (who ran a step: member.c sets it in the
 * daemon's own environment) — built before fork(), since the child may not allocate. */
static char **env_minimal(void) {
        const char *path = getenv("PATH"), *home = getenv("HOME"), *member = getenv("BLFAILOVERD_MEMBER");
        char **v = calloc(5, sizeof(char *));
        size_t k = 2;

        if (!v)
                return NULL;
        v[0] = env_entry("PATH", path && *path ? path : DEFAULT_PATH);
        v[1] = strdup("LANG=C.UTF-8");
        if (home && !(v[k++] = env_entry("HOME", home)))
                goto fail;
        if (member && *member && !(v[k++] = env_entry("BLFAILOVERD_MEMBER", member)))
                goto fail;
        if (!v[0] || !v[1])
                goto fail;
        return v;
fail:
        for (size_t i = 0; i < 4; i++)
                free(v[i]);
        free(v);
        return NULL;
}

char **spawn_env_minimal_with(char *const extra[]) {
        char **base = env_minimal(), **v;
        size_t n = strv_length(extra), k;

        if (!base)
                return NULL;
        v = reallocarray(base, 4 + n + 1, sizeof(char *));
        if (!v) {
                strv_free(base);
                return NULL;
        }
        /* env_minimal leaves HOME (and the member) out when there is none: append after what is there. */
        k = strv_length(v);
        for (size_t i = 0; i < n; i++, k++) {
                v[k + 1] = NULL;
                v[k] = strdup(extra[i]);
                if (!v[k]) {
                        strv_free(v);
                        return NULL;
                }
        }
        v[k] = NULL;
        return v;
}

/* The PATH the command is looked up in: the one the child gets. */
static const char *env_path(char *const env[]) {
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], "PATH=", 5) == 0)
                        return env[i] + 5;
        return DEFAULT_PATH;
}

/* Reads what the pipe holds, at most `budget` reads. Beyond SPAWN_OUTPUT_MAX bytes are read and dropped, so
 * that the child never blocks on a full pipe. Returns 1 on EOF, 0 when it would block (or the budget is
 * spent), -errno on a read error. */
static int output_read(struct spawn *s, unsigned budget) {
        char scratch[OUTPUT_SCRATCH];

        for (; budget > 0; budget--) {
                size_t room = SPAWN_OUTPUT_MAX - s->output_len;
                ssize_t n;

                if (room > 0)
                        n = read(s->output_fd, s->output + s->output_len, room);
                else
                        n = read(s->output_fd, scratch, sizeof(scratch));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : -errno;
                }
                if (n == 0)
                        return 1;
                if (room > 0)
                        s->output_len += (size_t) n;
                else
                        s->truncated = true;
        }
        return 0;
}

static void output_close(struct spawn *s) {
        s->output_source = sd_event_source_disable_unref(s->output_source);
        if (s->output_fd >= 0)
                close(s->output_fd);
        s->output_fd = -1;
}

static int on_output(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct spawn *s = userdata;

        if (output_read(s, OUTPUT_READS_PER_WAKEUP) != 0)
                output_close(s);        /* EOF (or a broken pipe end): nothing more will come */
        return 0;
}

static int on_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        struct spawn *s = userdata;
        siginfo_t si = {};

        /* If the leader already exited (its child event is merely not dispatched yet) report what really
         * happened and leave any group members alone, as after a normal exit. WNOWAIT: sd-event reaps. */
        if (waitid(P_PID, s->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == s->pid)
                return 0;

        /* The leader is alive or an unreaped zombie, so the process group id cannot have been reused. */
        (void) kill(-s->pid, SIGKILL);
        s->timed_out = true;
        return 0;
}

/* 0 when the child exec'd (EOF on the CLOEXEC pipe), else the errno it reported. Only valid once the child
 * is dead: then no write end is left and the read cannot block. */
static int exec_errno(struct spawn *s) {
        int err = 0;

        if (read(s->exec_fd, &err, sizeof(err)) != (ssize_t) sizeof(err))
                err = 0;
        close(s->exec_fd);
        s->exec_fd = -1;
        return err;
}

static void result_fill(struct spawn *s, const siginfo_t *si, struct spawn_result *r) {
        r->exec_errno = exec_errno(s);
        if (si->si_code == CLD_EXITED)
                r->exit_code = si->si_status;
        else
                r->signal = si->si_status;

        if (r->exec_errno != 0)
                r->outcome = SPAWN_EXEC_FAILED;
        else if (s->timed_out)
                r->outcome = SPAWN_TIMED_OUT;
        else if (si->si_code == CLD_EXITED)
                r->outcome = SPAWN_EXITED;
        else
                r->outcome = SPAWN_SIGNALED;

        s->output[s->output_len] = '\0';
        r->output = s->output;
        r->output_len = s->output_len;
        r->output_truncated = s->truncated;
}

static int on_child(sd_event_source *source, const siginfo_t *si, void *userdata) {
        struct spawn *s = userdata;
        struct spawn_result r = { .duration_usec = now_monotonic_usec() - s->start_usec };

        /* The child is a zombie now; sd-event reaps it right after we return (systemd 252 waits with
         * WNOWAIT, dispatches, then reaps — even if the callback unrefs the source). */
        s->exited = true;

        /* Take what is in the pipe now, but do not wait for EOF: a grandchild that daemonized may hold the
         * write end open forever. */
        if (s->output_fd >= 0)
                (void) output_read(s, OUTPUT_READS_AT_REAP);
        output_close(s);
        s->timer_source = sd_event_source_disable_unref(s->timer_source);

        result_fill(s, si, &r);
        s->done(s, &r, s->userdata);    /* may spawn_free(s): do not touch s afterwards */
        return 0;
}

static int spawn_start_child(struct spawn *s, char *const argv[], char *const env[], pid_t tether) {
        char **own_env = NULL;
        const char *path;
        int out[2], ex[2], r = 0;

        if (!env && !(env = own_env = env_minimal()))
                return -ENOMEM;
        path = env_path(env);
        if (pipe2(out, O_CLOEXEC) < 0) {
                strv_free(own_env);
                return -errno;
        }
        if (pipe2(ex, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                close(out[0]);
                close(out[1]);
                strv_free(own_env);
                return r;
        }

        s->start_usec = now_monotonic_usec();
        s->pid = fork();
        if (s->pid == 0)
                child_exec(argv, env, path, out[1], ex[1], tether);
        if (s->pid < 0)
                r = -errno;
        else
                (void) setpgid(s->pid, s->pid);   /* also here, so that no kill(-pgid) can race the child's */

        strv_free(own_env);
        close(out[1]);
        close(ex[1]);
        s->output_fd = out[0];
        s->exec_fd = ex[0];
        if (r == 0 && fcntl(s->output_fd, F_SETFL, O_NONBLOCK) < 0)
                r = -errno;
        return r;
}

/* sd_event_add_child() insists on a blocked SIGCHLD; check before fork() rather than after. */
static int sigchld_blocked(void) {
        sigset_t cur;

        if (sigprocmask(SIG_BLOCK, NULL, &cur) < 0)
                return -errno;
        return sigismember(&cur, SIGCHLD) ? 0 : -EBUSY;
}

static int start(sd_event *e, char *const argv[], char *const env[], uint64_t timeout_usec, bool tethered,
                 spawn_done_fn done, void *userdata, struct spawn **ret) {
        struct spawn *s;
        int r;

        if (!e || !argv || !argv[0] || !argv[0][0] || !done || !ret || timeout_usec == 0)
                return -EINVAL;
        r = sigchld_blocked();
        if (r < 0)
                return r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (struct spawn) { .event = sd_event_ref(e), .output_fd = -1, .exec_fd = -1,
                              .done = done, .userdata = userdata };
        s->output = malloc(SPAWN_OUTPUT_MAX + 1);
        r = s->output ? spawn_start_child(s, argv, env, tethered ? getpid() : 0) : -ENOMEM;
        if (r >= 0)
                r = sd_event_add_child(e, &s->child_source, s->pid, WEXITED, on_child, s);
        if (r >= 0)
                r = sd_event_add_io(e, &s->output_source, s->output_fd, EPOLLIN, on_output, s);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &s->timer_source, CLOCK_MONOTONIC, timeout_usec,
                                               USEC_PER_MSEC, on_timeout, s);
        if (r < 0) {
                spawn_free(s);  /* kills and reaps a child already started */
                return r;
        }
        *ret = s;
        return 0;
}

int spawn_start(sd_event *e, char *const argv[], char *const env[], uint64_t timeout_usec,
                spawn_done_fn done, void *userdata, struct spawn **ret) {
        return start(e, argv, env, timeout_usec, false, done, userdata, ret);
}

int spawn_start_tethered(sd_event *e, char *const argv[], char *const env[], uint64_t timeout_usec,
                         spawn_done_fn done, void *userdata, struct spawn **ret) {
        return start(e, argv, env, timeout_usec, true, done, userdata, ret);
}

/* Reaper for a child we gave up on: sd-event reaps it right after this returns. Dropping the floating
 * reference frees the source then, so that no stale entry keeps the PID busy in the loop's child table. */
static int on_orphan_reaped(sd_event_source *source, const siginfo_t *si, void *userdata) {
        (void) sd_event_source_set_floating(source, false);
        return 0;
}

/* Hands `pid` to a loop-owned child source. Should the loop be freed before the child is reaped,
 * process_own makes sd-event kill and reap it then (a blocking wait, at shutdown only). */
static int reap_later(sd_event *e, pid_t pid) {
        sd_event_source *source;
        int r;

        r = sd_event_add_child(e, &source, pid, WEXITED, on_orphan_reaped, NULL);
        if (r < 0)
                return r;
        (void) sd_event_source_set_child_process_own(source, true);
        r = sd_event_source_set_floating(source, true);
        sd_event_source_unref(source);
        return r < 0 ? r : 0;
}

/* SIGKILLs the group of a child whose result nobody wants any more and makes sure it gets reaped. */
static void spawn_abandon(struct spawn *s) {
        (void) kill(-s->pid, SIGKILL);  /* not reaped yet, so the group id is still ours */
        s->child_source = sd_event_source_disable_unref(s->child_source);

        if (waitpid(s->pid, NULL, WNOHANG) != 0)
                return;         /* reaped already (or not ours any more) */
        /* Normally the loop reaps it later, so nothing blocks. If that is impossible (out of memory, or the
         * loop has already finished at shutdown), wait here: a SIGKILLed direct child dies promptly — only an
         * uninterruptible sleep in the kernel can delay it — and leaving a zombie behind would be worse. */
        if (reap_later(s->event, s->pid) < 0)
                while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
}

struct spawn *spawn_free(struct spawn *s) {
        if (!s)
                return NULL;

        if (s->pid > 0 && !s->exited)
                spawn_abandon(s);
        /* After the result: the source has reaped the child (or will, right after a callback that frees us). */
        s->child_source = sd_event_source_disable_unref(s->child_source);
        s->timer_source = sd_event_source_disable_unref(s->timer_source);
        output_close(s);
        if (s->exec_fd >= 0)
                close(s->exec_fd);
        sd_event_unref(s->event);
        free(s->output);
        free(s);
        return NULL;
}

/* Only words made of these are shown bare; anything else (spaces, quotes, $, globs, empty) is quoted. */
static bool word_is_plain(const char *w) {
        return *w && w[strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=@%+,-")] == '\0';
}

char *spawn_argv_to_string(char *const argv[]) {
        char *buf = NULL;
        size_t size = 0;
        bool failed = false;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; argv && argv[i] && !failed; i++) {
                char *q = NULL;

                if (!word_is_plain(argv[i]) && !(q = shell_quote(argv[i])))
                        failed = true;
                else if (fprintf(f, "%s%s", i > 0 ? " " : "", q ? q : argv[i]) < 0)
                        failed = true;
                free(q);
        }
        if (fclose(f) != 0 || failed) {
                free(buf);
                errno = ENOMEM;
                return NULL;
        }
        return buf;
}
