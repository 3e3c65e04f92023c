/* lock: the one-actor rule on a state_dir, enforced by a POSIX record lock the kernel reports the holder of. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

static char *lock_path(const char *state_dir) {
        char *path = NULL;

        return asprintf(&path, "%s/%s", state_dir, LOCK_FILE_NAME) < 0 ? NULL : path;
}

/* fcntl locks (not flock): F_GETLK names the holder's PID, which the refusal message must show. */
static pid_t holder_of(int fd) {
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

        if (fcntl(fd, F_GETLK, &fl) < 0)
                return -errno;
        return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

static int owned_by_us_alone(const struct stat *st) {
        return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH)) ? 0 : -EPERM;
}

static int check_dir(const char *state_dir) {
        struct stat st;

        if (stat(state_dir, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? owned_by_us_alone(&st) : -ENOTDIR;
}

static int try_lock(int fd, pid_t *ret_holder) {
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

        /* Twice: a holder that let go between F_SETLK and F_GETLK would otherwise be named as "pid 0". */
        for (int attempt = 0; attempt < 2; attempt++) {
                pid_t holder;
                if (fcntl(fd, F_SETLK, &fl) == 0)
                        return 0;
                if (errno != EAGAIN && errno != EACCES)
                        return -errno;
                holder = holder_of(fd);
                if (holder > 0) {
                        *ret_holder = holder;
                        return -EBUSY;
                }
        }
        *ret_holder = 0;
        return -EBUSY;
}

int lock_take(const char *state_dir, int *ret_fd, pid_t *ret_holder) {
        _cleanup_free_ char *path = lock_path(state_dir);
        struct stat st;
        int fd, r;

        if (!path)
                return -ENOMEM;
        r = fileio_mkdir_p(state_dir, 0700);
        if (r >= 0)
                r = check_dir(state_dir);
        if (r < 0)
                return r;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return errno == ELOOP ? -EPERM : -errno;
        if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
                r = -EPERM;
        else
                r = owned_by_us_alone(&st);
        if (r >= 0)
                r = try_lock(fd, ret_holder);
        if (r < 0) {
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

int lock_release(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}
