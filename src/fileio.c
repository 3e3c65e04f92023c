/* fileio: capped whole-file reads and atomic writes (temp, fsync, rename, fsync dir), through symlinks. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int read_fd(int fd, size_t max_size, char **ret_data, size_t *ret_size) {
        size_t cap = 4096, size = 0;
        char *data = malloc(cap + 1);

        if (!data)
                return -ENOMEM;
        for (;;) {
                if (size == cap) {
                        char *bigger = realloc(data, cap * 2 + 1);
                        if (!bigger) {
                                free(data);
                                return -ENOMEM;
                        }
                        data = bigger;
                        cap *= 2;
                }
                ssize_t n = read(fd, data + size, cap - size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || size + (size_t) n > max_size) {
                        int r = n < 0 ? -errno : -EFBIG;
                        free(data);
                        return r;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        data[size] = 0;
        *ret_data = data;
        *ret_size = size;
        return 0;
}

int fileio_read(const char *path, size_t max_size, char **ret_data, size_t *ret_size) {
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        r = read_fd(fd, max_size, ret_data, ret_size);
        close(fd);
        return r;
}

static int write_all(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

static int fsync_parent_dir(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        int fd, r = 0;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                r = -errno;
        close(fd);
        return r;
}

/* The temp file gets the final mode and owner before it becomes visible under the real name. */
static int apply_metadata(int fd, const char *path, mode_t mode) {
        struct stat st;

        if (stat(path, &st) == 0) {
                if (fchmod(fd, st.st_mode & 07777) < 0)
                        return -errno;
                if (fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EPERM)
                        return -errno;
                return 0;
        }
        if (errno != ENOENT)
                return -errno;
        return fchmod(fd, mode) < 0 ? -errno : 0;
}

int fileio_resolve(const char *path, char **ret) {
        struct stat st;
        char *target;

        if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
                target = strdup(path);
        else if (!(target = realpath(path, NULL)))
                return -errno;
        if (!target)
                return -ENOMEM;
        *ret = target;
        return 0;
}

int fileio_write_atomic(const char *link_or_path, const void *data, size_t size, mode_t mode) {
        _cleanup_free_ char *tmp = NULL, *path = NULL;
        int fd, r;

        /* rename() over a symlink would replace the link itself: write where it points instead */
        r = fileio_resolve(link_or_path, &path);
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.blfailoverd-tmp-XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = apply_metadata(fd, path, mode);
        if (r == 0)
                r = write_all(fd, data, size);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        return fsync_parent_dir(path);
}

int fileio_probe_dir(const char *dir) {
        _cleanup_free_ char *tmp = NULL;
        int fd, r;

        if (asprintf(&tmp, "%s/.blfailoverd-probe-XXXXXX", dir) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* One byte needs a block: a full file system fails here (or at fsync) even when an empty file fits. */
        r = write_all(fd, "x", 1);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        close(fd);
        unlink(tmp);
        return r;
}

int fileio_mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = 0;
                if (mkdir(copy, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int fileio_write_private(const char *dir, const char *name, const void *data, size_t size) {
        char *path = NULL;
        int r;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        r = fileio_mkdir_p(dir, 0700);
        if (r >= 0 && chmod(path, 0600) < 0 && errno != ENOENT)
                r = -errno;
        if (r >= 0)
                r = fileio_write_atomic(path, data, size, 0600);
        free(path);
        return r;
}
