/* Unit tests for fileio's atomic write: a new inode behind a rename, nothing torn, nothing left behind, and the
 * syncs in the order the README promises (file, rename, directory), seen through --wrap=fsync/--wrap=rename. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the seam: every fsync and rename fileio makes, in order (the link wraps them: see the Makefile) -------- */

enum call_kind { CALL_FSYNC_FILE, CALL_FSYNC_DIR, CALL_RENAME };

struct call {
        enum call_kind kind;
        char path[512];         /* fsync: what the descriptor names; rename: the source */
        char to[512];           /* rename: the target */
        off_t size;             /* fsync of a file: its size when synced */
};

static struct call calls[16];
static size_t n_calls;
static int fail_fsync_errno;    /* non-zero: the next file fsync fails with it */
static int fail_rename_errno;   /* non-zero: rename fails with it */

int __real_fsync(int fd);
int __real_rename(const char *from, const char *to);
int __wrap_fsync(int fd);
int __wrap_rename(const char *from, const char *to);

static struct call *record(enum call_kind kind) {
        assert_true(n_calls < ELEMENTS(calls));
        struct call *c = &calls[n_calls++];
        memset(c, 0, sizeof *c);
        c->kind = kind;
        return c;
}

int __wrap_fsync(int fd) {
        char link[64];
        struct stat st;
        struct call *c;
        ssize_t n;

        assert_int_equal(fstat(fd, &st), 0);
        c = record(S_ISDIR(st.st_mode) ? CALL_FSYNC_DIR : CALL_FSYNC_FILE);
        c->size = st.st_size;
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, c->path, sizeof c->path - 1);
        assert_true(n > 0);
        if (c->kind == CALL_FSYNC_FILE && fail_fsync_errno) {
                errno = fail_fsync_errno;
                return -1;
        }
        return __real_fsync(fd);
}

int __wrap_rename(const char *from, const char *to) {
        struct call *c = record(CALL_RENAME);

        snprintf(c->path, sizeof c->path, "%s", from);
        snprintf(c->to, sizeof c->to, "%s", to);
        if (fail_rename_errno) {
                errno = fail_rename_errno;
                return -1;
        }
        return __real_rename(from, to);
}

/* ---- fixtures: a fresh directory holding `state` with old content, mode 0640, owner 1234:5678 -------------- */

#define OLD_UID 1234
#define OLD_GID 5678

static const char OLD[] = "the old record: outcome=running step=switch_nginx\n";

struct fixture {
        char dir[64];
        char path[128];
        struct stat before;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        int fd;

        assert_non_null(f);
        snprintf(f->dir, sizeof f->dir, "/tmp/blf-test-fileio.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/state", f->dir);
        fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, OLD, sizeof OLD - 1), (ssize_t) (sizeof OLD - 1));
        assert_int_equal(fchmod(fd, 0640), 0);
        /* Only root can give a file away; otherwise the owner checks compare against our own ids. */
        if (geteuid() == 0)
                assert_int_equal(fchown(fd, OLD_UID, OLD_GID), 0);
        assert_int_equal(close(fd), 0);
        assert_int_equal(stat(f->path, &f->before), 0);
        n_calls = 0;
        fail_fsync_errno = fail_rename_errno = 0;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        DIR *d = opendir(f->dir);
        struct dirent *e;
        char p[512];

        fail_fsync_errno = fail_rename_errno = 0;
        while (d && (e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                        snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
                        unlink(p);
                }
        if (d)
                closedir(d);
        rmdir(f->dir);
        free(f);
        return 0;
}

/* The directory holds exactly `state`: no temp file left behind. */
static void assert_only_the_file(const struct fixture *f) {
        DIR *d = opendir(f->dir);
        struct dirent *e;
        char extra[512] = "";

        assert_non_null(d);
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && strcmp(e->d_name, "state") != 0)
                        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " %s", e->d_name);
        closedir(d);
        if (extra[0])
                fail_msg("left behind in %s:%s", f->dir, extra);
}

static void assert_content(const char *path, const void *want, size_t want_size) {
        char *data = NULL;
        size_t size = 0;

        assert_int_equal(fileio_read(path, 1 << 20, &data, &size), 0);
        assert_int_equal(size, want_size);
        assert_memory_equal(data, want, want_size);
        free(data);
}

/* The old file, untouched: same inode, same bytes, same mode and owner. */
static void assert_old_intact(const struct fixture *f) {
        struct stat st;

        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_ino, f->before.st_ino);
        assert_int_equal(st.st_mode, f->before.st_mode);
        assert_int_equal(st.st_uid, f->before.st_uid);
        assert_int_equal(st.st_gid, f->before.st_gid);
        assert_int_equal(st.st_size, f->before.st_size);
        assert_content(f->path, OLD, sizeof OLD - 1);
}

/* ---- success ----------------------------------------------------------------------------------------------- */

static void fileio_write_atomic__existing_file__new_inode_same_mode_and_owner(void **state) {
        struct fixture *f = *state;
        static const char NEW[] = "the new record\n";
        struct stat st;

        assert_int_equal(fileio_write_atomic(f->path, NEW, sizeof NEW - 1, 0600), 0);
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_not_equal(st.st_ino, f->before.st_ino);     /* a rename replaced it, not a write into it */
        assert_int_equal(st.st_mode, f->before.st_mode);
        assert_int_equal(st.st_uid, f->before.st_uid);
        assert_int_equal(st.st_gid, f->before.st_gid);
        assert_content(f->path, NEW, sizeof NEW - 1);
        assert_only_the_file(f);
}

static void fileio_write_atomic__new_file__given_mode_no_temp_left(void **state) {
        struct fixture *f = *state;
        static const char NEW[] = "first\n";
        char path[256];
        struct stat st;

        snprintf(path, sizeof path, "%s/fresh", f->dir);
        assert_int_equal(fileio_write_atomic(path, NEW, sizeof NEW - 1, 0600), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_content(path, NEW, sizeof NEW - 1);
        assert_int_equal(unlink(path), 0);
        assert_only_the_file(f);
}

static void fileio_write_atomic__reader_opened_before__reads_whole_old_content(void **state) {
        struct fixture *f = *state;
        char buf[256];
        ssize_t n;
        int fd;

        fd = open(f->path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        /* Longer than the old content, so an in-place write would show through at any offset. */
        memset(buf, 'N', sizeof buf);
        assert_int_equal(fileio_write_atomic(f->path, buf, sizeof buf, 0600), 0);
        memset(buf, 0, sizeof buf);
        n = pread(fd, buf, sizeof buf, 0);
        close(fd);
        assert_int_equal(n, (ssize_t) (sizeof OLD - 1));
        assert_memory_equal(buf, OLD, sizeof OLD - 1);
}

/* ---- the order of the syncs -------------------------------------------------------------------------------- */

static void fileio_write_atomic__syncs__file_then_rename_then_directory(void **state) {
        struct fixture *f = *state;
        static const char NEW[] = "synced before it is visible\n";
        char prefix[256];

        assert_int_equal(fileio_write_atomic(f->path, NEW, sizeof NEW - 1, 0600), 0);
        if (n_calls != 3)
                fail_msg("expected fsync(temp), rename, fsync(dir); saw %zu call(s)", n_calls);
        /* 1: the temp file, in the same directory, with all of the new content, before anything is visible */
        assert_int_equal(calls[0].kind, CALL_FSYNC_FILE);
        snprintf(prefix, sizeof prefix, "%s.", f->path);
        assert_memory_equal(calls[0].path, prefix, strlen(prefix));
        assert_int_equal(calls[0].size, (off_t) (sizeof NEW - 1));
        /* 2: that very file becomes the real name */
        assert_int_equal(calls[1].kind, CALL_RENAME);
        assert_string_equal(calls[1].path, calls[0].path);
        assert_string_equal(calls[1].to, f->path);
        /* 3: the directory, so the rename itself survives a crash */
        assert_int_equal(calls[2].kind, CALL_FSYNC_DIR);
        assert_string_equal(calls[2].path, f->dir);
}

/* ---- failures: the old file intact, nothing left behind ---------------------------------------------------- */

static void fileio_write_atomic__file_too_big__old_file_intact_no_temp(void **state) {
        struct fixture *f = *state;
        struct rlimit old_lim, lim;
        static char big[8192];
        void (*old_handler)(int);
        int r;

        memset(big, 'B', sizeof big);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
        lim = old_lim;
        lim.rlim_cur = 1024;
        /* Past the limit write() fails with EFBIG instead of the process dying of SIGXFSZ. Our stdout may be a
         * file too: nothing is printed until the limit is lifted again. */
        old_handler = signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        r = fileio_write_atomic(f->path, big, sizeof big, 0600);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
        signal(SIGXFSZ, old_handler);
        assert_int_equal(r, -EFBIG);
        assert_old_intact(f);
        assert_only_the_file(f);
}

static void fileio_write_atomic__fsync_fails__old_file_intact_no_temp(void **state) {
        struct fixture *f = *state;
        static const char NEW[] = "never synced\n";

        fail_fsync_errno = EIO;
        assert_int_equal(fileio_write_atomic(f->path, NEW, sizeof NEW - 1, 0600), -EIO);
        fail_fsync_errno = 0;
        assert_old_intact(f);
        assert_only_the_file(f);
        for (size_t i = 0; i < n_calls; i++)
                assert_int_not_equal(calls[i].kind, CALL_RENAME);      /* unsynced content never gets the name */
}

static void fileio_write_atomic__rename_fails__old_file_intact_no_temp(void **state) {
        struct fixture *f = *state;
        static const char NEW[] = "never renamed\n";

        fail_rename_errno = EXDEV;
        assert_int_equal(fileio_write_atomic(f->path, NEW, sizeof NEW - 1, 0600), -EXDEV);
        fail_rename_errno = 0;
        assert_old_intact(f);
        assert_only_the_file(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(fileio_write_atomic__existing_file__new_inode_same_mode_and_owner,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(fileio_write_atomic__new_file__given_mode_no_temp_left, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(fileio_write_atomic__reader_opened_before__reads_whole_old_content,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(fileio_write_atomic__syncs__file_then_rename_then_directory, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(fileio_write_atomic__file_too_big__old_file_intact_no_temp, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(fileio_write_atomic__fsync_fails__old_file_intact_no_temp, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(fileio_write_atomic__rename_fails__old_file_intact_no_temp, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
