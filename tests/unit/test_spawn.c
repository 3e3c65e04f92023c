/* test_spawn: spawn_* against real processes on a real sd-event loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "util.h"

#define SAFETY_USEC (20 * USEC_PER_SEC)

struct run {
        sd_event *event;
        int calls;
        bool free_in_callback;
        bool safety_fired;
        struct spawn_result r;
        char *output;           /* copy of r.output, owned */
};

static void on_done(struct spawn *s, const struct spawn_result *r, void *userdata) {
        struct run *run = userdata;

        run->calls++;
        run->r = *r;
        free(run->output);
        run->output = malloc(r->output_len + 1);
        assert_non_null(run->output);
        assert_int_equal(r->output[r->output_len], '\0');
        memcpy(run->output, r->output, r->output_len + 1);
        run->r.output = run->output;
        if (run->free_in_callback)
                spawn_free(s);
        sd_event_exit(run->event, 0);
}

static int on_safety(sd_event_source *source, uint64_t usec, void *userdata) {
        struct run *run = userdata;

        run->safety_fired = true;
        return sd_event_exit(run->event, -ETIME);
}

/* Runs argv to completion; the result lands in *run. */
static void run_cmd(char *const argv[], char *const env[], uint64_t timeout_usec, struct run *run) {
        struct spawn *s = NULL;
        sd_event_source *safety = NULL;

        assert_int_equal(sd_event_new(&run->event), 0);
        assert_int_equal(sd_event_add_time_relative(run->event, &safety, CLOCK_MONOTONIC, SAFETY_USEC, 0,
                                                    on_safety, run), 0);
        assert_int_equal(spawn_start(run->event, argv, env, timeout_usec, on_done, run, &s), 0);
        assert_non_null(s);
        assert_int_equal(sd_event_loop(run->event), 0);
        assert_false(run->safety_fired);
        assert_int_equal(run->calls, 1);
        if (!run->free_in_callback)
                spawn_free(s);
        sd_event_source_unref(safety);
        run->event = sd_event_unref(run->event);
}

static void run_done(struct run *run) {
        free(run->output);
        run->output = NULL;
}

/* 'Z' for a zombie, 0 when the process no longer exists, else its state letter */
static char proc_state(pid_t pid) {
        char path[64], buf[512], *p;
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        p = strrchr(buf, ')');  /* comm may contain anything; the state follows the last ')' */
        return p && p[1] == ' ' ? p[2] : '?';
}

/* Waits up to 3 s for pid to be dead (gone, or a zombie when zombie_ok). */
static bool wait_dead(pid_t pid, bool zombie_ok) {
        for (int i = 0; i < 300; i++) {
                char st = proc_state(pid);

                if (st == 0 || (zombie_ok && st == 'Z'))
                        return true;
                usleep(10 * 1000);
        }
        return false;
}

static char *tmp_path(const char *name) {
        char *p = NULL;

        assert_true(asprintf(&p, "/tmp/test_spawn.%d.%s", (int) getpid(), name) > 0);
        unlink(p);
        return p;
}

/* Reads "a b" pids from a file written atomically by the child, waiting up to 3 s for it. */
static int read_pids(const char *path, pid_t *a, pid_t *b) {
        for (int i = 0; i < 300; i++) {
                FILE *f = fopen(path, "re");
                int x = 0, y = 0, n;

                if (f) {
                        n = fscanf(f, "%d %d", &x, &y);
                        fclose(f);
                        *a = x;
                        if (b)
                                *b = y;
                        return n;
                }
                usleep(10 * 1000);
        }
        return -1;
}

static void spawn__exit_zero__output_captured(void **state) {
        char *argv[] = { "printf", "hello %s", "world", NULL };
        struct run run = {};
        char buf[64];

        run_cmd(argv, NULL, 5 * USEC_PER_SEC, &run);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        assert_int_equal(run.r.exit_code, 0);
        assert_true(spawn_result_ok(&run.r));
        assert_string_equal(run.output, "hello world");
        assert_int_equal(run.r.output_len, 11);
        assert_false(run.r.output_truncated);
        assert_true(run.r.duration_usec > 0 && run.r.duration_usec < 5 * USEC_PER_SEC);
        assert_string_equal(spawn_outcome_describe(&run.r, buf, sizeof(buf)), "exit 0");
        run_done(&run);
}

static void spawn__exit_three__code_reported(void **state) {
        char *argv[] = { "sh", "-c", "echo failing; exit 3", NULL };
        struct run run = {};
        char buf[64];

        run_cmd(argv, NULL, 5 * USEC_PER_SEC, &run);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        assert_int_equal(run.r.exit_code, 3);
        assert_false(spawn_result_ok(&run.r));
        assert_string_equal(run.output, "failing\n");
        assert_string_equal(spawn_outcome_describe(&run.r, buf, sizeof(buf)), "exit 3");
        run_done(&run);
}

/* SIGTERM is ignored in this process while spawning: the child must still die of it, which only happens
 * when spawn resets dispositions (an ignored signal stays ignored across exec, and sh cannot undo it). */
static void spawn__killed_by_signal__signal_reported(void **state) {
        char *argv[] = { "sh", "-c", "kill -TERM $$; sleep 5", NULL };
        struct sigaction ign = { .sa_handler = SIG_IGN }, old;
        struct run run = {};
        char buf[64];

        assert_int_equal(sigaction(SIGTERM, &ign, &old), 0);
        run_cmd(argv, NULL, 10 * USEC_PER_SEC, &run);
        assert_int_equal(sigaction(SIGTERM, &old, NULL), 0);
        assert_int_equal(run.r.outcome, SPAWN_SIGNALED);
        assert_int_equal(run.r.signal, SIGTERM);
        assert_false(spawn_result_ok(&run.r));
        assert_string_equal(spawn_outcome_describe(&run.r, buf, sizeof(buf)), "killed by SIGTERM");
        run_done(&run);
}

static void expect_exec_failure(char *const argv[], int err) {
        struct run run = {};

        run_cmd(argv, NULL, 5 * USEC_PER_SEC, &run);
        assert_int_equal(run.r.outcome, SPAWN_EXEC_FAILED);
        assert_int_equal(run.r.exec_errno, err);
        assert_false(spawn_result_ok(&run.r));
        assert_int_equal(run.r.output_len, 0);
        run_done(&run);
}

static void spawn__command_not_found__exec_failed_enoent(void **state) {
        char *in_path[] = { "blfailoverd-test-no-such-command", NULL };
        char *absolute[] = { "/nonexistent/blfailoverd-test", NULL };
        char *not_executable[] = { "/etc/passwd", NULL };
        struct spawn_result r = { .outcome = SPAWN_EXEC_FAILED, .exec_errno = ENOENT };
        char buf[128];

        expect_exec_failure(in_path, ENOENT);
        expect_exec_failure(absolute, ENOENT);
        expect_exec_failure(not_executable, EACCES);
        assert_string_equal(spawn_outcome_describe(&r, buf, sizeof(buf)),
                            "exec failed: No such file or directory");
}

/* A script without "#!" is not handed to /bin/sh as execvp() would: ENOEXEC, and nothing ran. */
static void spawn__script_without_shebang__not_run_by_a_shell(void **state) {
        _cleanup_free_ char *script = tmp_path("script"), *marker = tmp_path("marker");
        char *argv[] = { script, NULL };
        FILE *f = fopen(script, "we");

        assert_non_null(f);
        fprintf(f, "touch %s\n", marker);
        fclose(f);
        assert_int_equal(chmod(script, 0755), 0);
        expect_exec_failure(argv, ENOEXEC);
        assert_int_equal(access(marker, F_OK), -1);
        unlink(script);
}

static void spawn__stdout_and_stderr__both_captured(void **state) {
        char *argv[] = { "sh", "-c", "echo out; echo err >&2; echo out2", NULL };
        struct run run = {};

        run_cmd(argv, NULL, 5 * USEC_PER_SEC, &run);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        assert_string_equal(run.output, "out\nerr\nout2\n");
        run_done(&run);
}

/* Our stdin is made a pipe holding "leaked": the child must read /dev/null instead. */
static void spawn__stdin__is_dev_null(void **state) {
        char *argv[] = { "sh", "-c", "cat; readlink /proc/self/fd/0", NULL };
        struct run run = {};
        int p[2], saved;

        assert_int_equal(pipe(p), 0);
        assert_int_equal(write(p[1], "leaked\n", 7), 7);
        close(p[1]);
        saved = dup(0);
        assert_true(saved >= 0);
        assert_int_equal(dup2(p[0], 0), 0);
        close(p[0]);
        run_cmd(argv, NULL, 5 * USEC_PER_SEC, &run);
        assert_int_equal(dup2(saved, 0), 0);
        close(saved);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        assert_string_equal(run.output, "/dev/null\n");
        run_done(&run);
}

/* Output still sitting in the pipe when the exit is dispatched is not lost: the two events arrive together
 * and their dispatch order is up to sd-event, hence the repetitions. */
static void spawn__output_written_just_before_exit__complete(void **state) {
        char *argv[] = { "head", "-c", "60000", "/dev/zero", NULL };

        for (int i = 0; i < 20; i++) {
                struct run run = {};

                run_cmd(argv, NULL, 5 * USEC_PER_SEC, &run);
                assert_int_equal(run.r.outcome, SPAWN_EXITED);
                assert_int_equal(run.r.output_len, 60000);
                run_done(&run);
        }
}

static void spawn__output_over_cap__truncated_and_completes(void **state) {
        char *argv[] = { "head", "-c", "1000000", "/dev/zero", NULL };
        struct run run = {};

        run_cmd(argv, NULL, 10 * USEC_PER_SEC, &run);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        assert_int_equal(run.r.exit_code, 0);
        assert_int_equal(run.r.output_len, SPAWN_OUTPUT_MAX);
        assert_true(run.r.output_truncated);
        run_done(&run);
}

static void spawn__output_exactly_cap__not_truncated(void **state) {
        char *argv[] = { "head", "-c", "65536", "/dev/zero", NULL };
        struct run run = {};

        assert_int_equal(SPAWN_OUTPUT_MAX, 65536);
        run_cmd(argv, NULL, 10 * USEC_PER_SEC, &run);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        assert_int_equal(run.r.output_len, SPAWN_OUTPUT_MAX);
        assert_false(run.r.output_truncated);
        run_done(&run);
}

static void spawn__timeout__kills_process_group(void **state) {
        _cleanup_free_ char *file = tmp_path("timeout");
        char *argv[] = { "sh", "-c", "sleep 30 & echo $! > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"; wait", "sh", file,
                         NULL };
        struct run run = {};
        pid_t grandchild = 0;
        char buf[64];

        run_cmd(argv, NULL, 200 * USEC_PER_MSEC, &run);
        assert_int_equal(run.r.outcome, SPAWN_TIMED_OUT);
        assert_false(spawn_result_ok(&run.r));
        assert_true(run.r.duration_usec >= 200 * USEC_PER_MSEC);
        assert_true(run.r.duration_usec < 5 * USEC_PER_SEC);
        spawn_outcome_describe(&run.r, buf, sizeof(buf));
        assert_true(strncmp(buf, "timed out after 0.2", 19) == 0);

        assert_int_equal(read_pids(file, &grandchild, NULL), 1);
        assert_true(grandchild > 1);
        /* reparented away from us: PID 1 may reap it late, so a zombie counts as dead */
        assert_true(wait_dead(grandchild, true));
        unlink(file);
        run_done(&run);
}

/* A grandchild that keeps the output pipe open must not delay the result: it comes at the leader's exit. */
static void spawn__grandchild_holds_pipe__result_at_leader_exit(void **state) {
        char *argv[] = { "sh", "-c", "sleep 30 & echo $!", NULL };
        struct run run = {};
        pid_t grandchild;

        run_cmd(argv, NULL, 10 * USEC_PER_SEC, &run);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        assert_int_equal(run.r.exit_code, 0);
        assert_true(run.r.duration_usec < 2 * USEC_PER_SEC);
        grandchild = (pid_t) atoi(run.output);
        assert_true(grandchild > 1);
        assert_int_equal(kill(grandchild, SIGKILL), 0);       /* after a normal exit spawn leaves it alone */
        run_done(&run);
}

static bool env_line_allowed(const char *line) {
        return strncmp(line, "PATH=", 5) == 0 || strncmp(line, "LANG=", 5) == 0 || strncmp(line, "HOME=", 5) == 0;
}

static void spawn__default_env__minimal(void **state) {
        char *argv[] = { "env", NULL };
        struct run run = {};
        char *save = NULL;
        int n = 0;

        assert_int_equal(setenv("BLF_TEST_CANARY", "leaked", 1), 0);
        run_cmd(argv, NULL, 5 * USEC_PER_SEC, &run);
        unsetenv("BLF_TEST_CANARY");
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        assert_non_null(strstr(run.output, "LANG=C.UTF-8\n"));
        assert_non_null(strstr(run.output, "PATH="));
        for (char *line = strtok_r(run.output, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++)
                if (!env_line_allowed(line))
                        fail_msg("unexpected variable in the child's environment: %s", line);
        assert_int_equal(n, getenv("HOME") ? 3 : 2);
        run_done(&run);
}

static void spawn__given_env__used_as_is(void **state) {
        char *argv[] = { "env", NULL };
        char *env[] = { "FOO=bar baz", NULL };
        struct run run = {};

        run_cmd(argv, env, 5 * USEC_PER_SEC, &run);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        assert_string_equal(run.output, "FOO=bar baz\n");
        run_done(&run);
}

static void spawn__open_fds__not_inherited(void **state) {
        char *argv[] = { "ls", "-1", "/proc/self/fd", NULL };
        struct run run = {};
        char *save = NULL;
        int a, b, n = 0;

        /* deliberately without O_CLOEXEC */
        a = open("/dev/null", O_RDONLY);
        assert_true(a >= 3);
        b = dup2(a, 100);
        assert_int_equal(b, 100);
        run_cmd(argv, NULL, 5 * USEC_PER_SEC, &run);
        close(a);
        close(b);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        /* 0, 1, 2 and the one directory fd ls itself opens (the lowest free one: 3) */
        for (char *line = strtok_r(run.output, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++)
                if (atoi(line) > 3)
                        fail_msg("fd %s leaked into the child", line);
        assert_true(n <= 4);
        run_done(&run);
}

/* The test process blocks SIGCHLD and SIGUSR1 and ignores SIGPIPE; the child must see none of that. */
static void spawn__signal_mask_and_dispositions__reset(void **state) {
        char *argv[] = { "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status", NULL };
        struct sigaction ign = { .sa_handler = SIG_IGN }, old;
        struct run run = {};
        sigset_t ss, saved;

        sigemptyset(&ss);
        sigaddset(&ss, SIGUSR1);
        assert_int_equal(sigprocmask(SIG_BLOCK, &ss, &saved), 0);
        assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
        run_cmd(argv, NULL, 5 * USEC_PER_SEC, &run);
        assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
        assert_int_equal(sigprocmask(SIG_SETMASK, &saved, NULL), 0);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        assert_string_equal(run.output, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
        run_done(&run);
}

/* The usual pattern: the owner frees the spawn from its own callback. The leader must still get reaped. */
static void spawn__free_in_callback__child_reaped(void **state) {
        char *argv[] = { "sh", "-c", "echo $$", NULL };
        struct run run = { .free_in_callback = true };
        pid_t pid;

        run_cmd(argv, NULL, 5 * USEC_PER_SEC, &run);
        assert_int_equal(run.r.outcome, SPAWN_EXITED);
        pid = (pid_t) atoi(run.output);
        assert_true(pid > 1);
        assert_int_equal(proc_state(pid), 0);   /* not even a zombie */
        run_done(&run);
}

static void run_loop_for(sd_event *e, uint64_t usec) {
        uint64_t end = now_monotonic_usec() + usec;

        while (now_monotonic_usec() < end)
                assert_true(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
}

static void start_sleeper(sd_event *e, struct run *run, const char *file, struct spawn **s, pid_t *leader,
                          pid_t *grandchild) {
        char *argv[] = { "sh", "-c", "sleep 30 & echo $$ $! > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"; wait", "sh",
                         (char *) file, NULL };

        assert_int_equal(spawn_start(e, argv, NULL, 30 * USEC_PER_SEC, on_done, run, s), 0);
        assert_int_equal(read_pids(file, leader, grandchild), 2);
        assert_true(*leader > 1 && *grandchild > 1);
}

static void spawn__free_while_running__kills_without_callback(void **state) {
        _cleanup_free_ char *file = tmp_path("free");
        struct run run = {};
        struct spawn *s = NULL;
        pid_t leader = 0, grandchild = 0;

        assert_int_equal(sd_event_new(&run.event), 0);
        start_sleeper(run.event, &run, file, &s, &leader, &grandchild);
        run_loop_for(run.event, 50 * USEC_PER_MSEC);
        assert_int_equal(proc_state(leader), 'S');

        assert_null(spawn_free(s));
        assert_true(wait_dead(grandchild, true));
        /* the leader is our child: the loop reaps it, so it must vanish entirely */
        for (int i = 0; i < 300 && proc_state(leader) != 0; i++)
                run_loop_for(run.event, 10 * USEC_PER_MSEC);
        assert_int_equal(proc_state(leader), 0);
        assert_int_equal(run.calls, 0);
        run.event = sd_event_unref(run.event);
        unlink(file);
}

/* Shutdown order: the spawn is freed, then the loop, without the loop running in between. */
static void spawn__free_then_loop_freed__child_reaped(void **state) {
        _cleanup_free_ char *file = tmp_path("shutdown");
        struct run run = {};
        struct spawn *s = NULL;
        pid_t leader = 0, grandchild = 0;

        assert_int_equal(sd_event_new(&run.event), 0);
        start_sleeper(run.event, &run, file, &s, &leader, &grandchild);
        spawn_free(s);
        run.event = sd_event_unref(run.event);
        assert_int_equal(proc_state(leader), 0);
        assert_true(wait_dead(grandchild, true));
        assert_int_equal(run.calls, 0);
        unlink(file);
}

static void spawn__free_null__fine(void **state) {
        assert_null(spawn_free(NULL));
}

static void spawn__bad_arguments__einval(void **state) {
        char *argv[] = { "true", NULL };
        char *empty[] = { NULL };
        char *empty_word[] = { "", NULL };
        struct spawn *s = NULL;
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(spawn_start(NULL, argv, NULL, USEC_PER_SEC, on_done, NULL, &s), -EINVAL);
        assert_int_equal(spawn_start(e, NULL, NULL, USEC_PER_SEC, on_done, NULL, &s), -EINVAL);
        assert_int_equal(spawn_start(e, empty, NULL, USEC_PER_SEC, on_done, NULL, &s), -EINVAL);
        assert_int_equal(spawn_start(e, empty_word, NULL, USEC_PER_SEC, on_done, NULL, &s), -EINVAL);
        assert_int_equal(spawn_start(e, argv, NULL, 0, on_done, NULL, &s), -EINVAL);
        assert_int_equal(spawn_start(e, argv, NULL, USEC_PER_SEC, NULL, NULL, &s), -EINVAL);
        assert_int_equal(spawn_start(e, argv, NULL, USEC_PER_SEC, on_done, NULL, NULL), -EINVAL);
        assert_null(s);
        sd_event_unref(e);
}

static void spawn__sigchld_not_blocked__ebusy(void **state) {
        char *argv[] = { "true", NULL };
        struct spawn *s = NULL;
        sd_event *e = NULL;
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(sigprocmask(SIG_UNBLOCK, &ss, NULL), 0);
        assert_int_equal(spawn_start(e, argv, NULL, USEC_PER_SEC, on_done, NULL, &s), -EBUSY);
        assert_int_equal(sigprocmask(SIG_BLOCK, &ss, NULL), 0);
        assert_null(s);
        sd_event_unref(e);
}

static void spawn__describe__all_outcomes(void **state) {
        char buf[64];
        struct spawn_result killed = { .outcome = SPAWN_SIGNALED, .signal = SIGKILL };
        struct spawn_result timed = { .outcome = SPAWN_TIMED_OUT, .duration_usec = 15 * USEC_PER_SEC + 1234 };
        struct spawn_result exec = { .outcome = SPAWN_EXEC_FAILED, .exec_errno = EACCES };

        assert_string_equal(spawn_outcome_describe(&killed, buf, sizeof(buf)), "killed by SIGKILL");
        assert_string_equal(spawn_outcome_describe(&timed, buf, sizeof(buf)), "timed out after 15.001s");
        assert_string_equal(spawn_outcome_describe(&exec, buf, sizeof(buf)), "exec failed: Permission denied");
        assert_string_equal(spawn_outcome_describe(&exec, buf, 5), "exec");
}

static void expect_argv_string(char *const argv[], const char *expected) {
        _cleanup_free_ char *s = spawn_argv_to_string(argv);

        assert_non_null(s);
        assert_string_equal(s, expected);
}

static void spawn__argv_to_string__quotes_only_what_needs_it(void **state) {
        char *plain[] = { "nginx", "-s", "reload", NULL };
        char *safe[] = { "a=b@c%d+e,f:g/h.i_j-k", NULL };
        char *space[] = { "touch", "--", "/tmp/a b", NULL };
        char *quote[] = { "echo", "it's", NULL };
        char *empty[] = { "x", "", NULL };
        char *meta[] = { "echo", "$(id)", "`id`", "a;b", "*", "a\nb", NULL };
        char *none[] = { NULL };

        expect_argv_string(plain, "nginx -s reload");
        expect_argv_string(safe, "a=b@c%d+e,f:g/h.i_j-k");
        expect_argv_string(space, "touch -- '/tmp/a b'");
        expect_argv_string(quote, "echo 'it'\\''s'");
        expect_argv_string(empty, "x ''");
        expect_argv_string(meta, "echo '$(id)' '`id`' 'a;b' '*' 'a\nb'");
        expect_argv_string(none, "");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(spawn__exit_zero__output_captured),
                cmocka_unit_test(spawn__exit_three__code_reported),
                cmocka_unit_test(spawn__killed_by_signal__signal_reported),
                cmocka_unit_test(spawn__command_not_found__exec_failed_enoent),
                cmocka_unit_test(spawn__script_without_shebang__not_run_by_a_shell),
                cmocka_unit_test(spawn__stdout_and_stderr__both_captured),
                cmocka_unit_test(spawn__stdin__is_dev_null),
                cmocka_unit_test(spawn__output_written_just_before_exit__complete),
                cmocka_unit_test(spawn__output_over_cap__truncated_and_completes),
                cmocka_unit_test(spawn__output_exactly_cap__not_truncated),
                cmocka_unit_test(spawn__timeout__kills_process_group),
                cmocka_unit_test(spawn__grandchild_holds_pipe__result_at_leader_exit),
                cmocka_unit_test(spawn__default_env__minimal),
                cmocka_unit_test(spawn__given_env__used_as_is),
                cmocka_unit_test(spawn__open_fds__not_inherited),
                cmocka_unit_test(spawn__signal_mask_and_dispositions__reset),
                cmocka_unit_test(spawn__free_in_callback__child_reaped),
                cmocka_unit_test(spawn__free_while_running__kills_without_callback),
                cmocka_unit_test(spawn__free_then_loop_freed__child_reaped),
                cmocka_unit_test(spawn__free_null__fine),
                cmocka_unit_test(spawn__bad_arguments__einval),
                cmocka_unit_test(spawn__sigchld_not_blocked__ebusy),
                cmocka_unit_test(spawn__describe__all_outcomes),
                cmocka_unit_test(spawn__argv_to_string__quotes_only_what_needs_it),
        };
        sigset_t ss;

        /* as the daemon does at startup: sd_event_add_child() requires it */
        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
