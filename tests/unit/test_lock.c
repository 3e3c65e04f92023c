/* Unit tests for lock: one holder per state_dir (the kernel names it), released when the holder dies, and refused
 * on a state_dir or lock file that others could write or plant. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lock.h"

static char dir[64];

static int setup(void **unused) {
        snprintf(dir, sizeof dir, "/tmp/blf-lock-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **unused) {
        char path[96];

        snprintf(path, sizeof path, "%s/" LOCK_FILE_NAME, dir);
        unlink(path);
        return rmdir(dir);
}

/* A child takes the lock and waits on a pipe; returns its pid once it holds it. */
static pid_t child_holding(int *ret_release) {
        int ready[2], release[2];
        pid_t pid;
        char c;

        assert_int_equal(pipe(ready), 0);
        assert_int_equal(pipe(release), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd;
                pid_t holder;
                close(release[1]);      /* or the parent's close would never reach us as EOF */
                close(ready[0]);
                if (lock_take(dir, &fd, &holder) < 0)
                        _exit(1);
                (void) !write(ready[1], "x", 1);
                (void) !read(release[0], &c, 1);
                _exit(0);
        }
        close(ready[1]);
        close(release[0]);
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        *ret_release = release[1];
        return pid;
}

static void lock__held_elsewhere__ebusy_names_the_holder(void **unused) {
        int release, fd = -1, status;
        pid_t holder = 0, pid = child_holding(&release);

        assert_int_equal(lock_take(dir, &fd, &holder), -EBUSY);
        assert_int_equal(holder, pid);
        close(release);                 /* the child exits: the kernel drops its lock */
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(lock_take(dir, &fd, &holder), 0);
        assert_true(fd >= 0);
        lock_release(fd);
}

static void lock__killed_holder__lock_free_again(void **unused) {
        int release, fd = -1;
        pid_t holder = 0, pid = child_holding(&release);

        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(release);
        assert_int_equal(lock_take(dir, &fd, &holder), 0);
        lock_release(fd);
}

static void lock__group_writable_dir_or_planted_link__eperm(void **unused) {
        char path[96];
        int fd = -1;
        pid_t holder;

        assert_int_equal(chmod(dir, 0770), 0);
        assert_int_equal(lock_take(dir, &fd, &holder), -EPERM);
        assert_int_equal(chmod(dir, 0700), 0);
        snprintf(path, sizeof path, "%s/" LOCK_FILE_NAME, dir);
        assert_int_equal(symlink("/etc/passwd", path), 0);
        assert_int_equal(lock_take(dir, &fd, &holder), -EPERM);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(lock_take(dir, &fd, &holder), 0);
        lock_release(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(lock__held_elsewhere__ebusy_names_the_holder, setup, teardown),
                cmocka_unit_test_setup_teardown(lock__killed_holder__lock_free_again, setup, teardown),
                cmocka_unit_test_setup_teardown(lock__group_writable_dir_or_planted_link__eperm, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
