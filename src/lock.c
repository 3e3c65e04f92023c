/* lock: the one-actor rule on a state_dir, enforced by a POSIX record lock the kernel reports the holder of. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

int lock_take(const char *state_dir, int *ret_fd, pid_t *ret_holder) {
        _cleanup_free_ char *path = lock_path(state_dir);
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        int fd, r;

        if (!path)
                return -ENOMEM;
        r = fileio_mkdir_p(state_dir, 0700);
        if (r < 0)
                return r;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (fcntl(fd, F_SETLK, &fl) == 0) {
                *ret_fd = fd;
                return 0;
        }
        r = -errno;
        if (r == -EAGAIN || r == -EACCES) {
                pid_t holder = holder_of(fd);
                *ret_holder = holder > 0 ? holder : 0;
                r = -EBUSY;
        }
        close(fd);
        return r;
}

int lock_release(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}

pid_t lock_holder(const char *state_dir) {
        _cleanup_free_ char *path = lock_path(state_dir);
        pid_t holder;
        int fd;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        /* F_GETLK needs a descriptor open for the lock type it asks about only on some systems; Linux accepts it. */
        holder = holder_of(fd);
        close(fd);
        return holder;
}
