/* fileio: owns reading whole files with a size cap and writing files atomically
 * (temp file in the same directory, fsync, rename, fsync the directory). No logging. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Reads all of `path` into a malloc'd NUL-terminated buffer. -EFBIG if larger than max_size.
 * ret_* written only on success. */
int fileio_read(const char *path, size_t max_size, char **ret_data, size_t *ret_size);

/* Where a write to `path` lands: the final target when `path` is a symbolic link (as realpath(3) gives it), else
 * `path` itself (also when it does not exist yet). A dangling link is an error (-ENOENT). Malloc'd *ret. */
int fileio_resolve(const char *path, char **ret);

/* Replaces `path` with `data` atomically. When `path` exists its mode and owner are kept; otherwise `mode` is used.
 * A symbolic link is written through: the temp file and the rename happen in the target's directory, the target
 * gets the content, the link stays a link (Debian's sites-enabled/x -> ../sites-available/x keeps working).
 * A crash at any point leaves either the old or the new content, never a mix. */
int fileio_write_atomic(const char *path, const void *data, size_t size, mode_t mode);

/* Whether `dir` takes a new file the way fileio_write_atomic writes one (create, write, fsync), leaving nothing
 * behind: 0, or why not (-EROFS, -ENOSPC, -EACCES, ...). */
int fileio_probe_dir(const char *dir);

/* DIR/NAME for this user's eyes only (the failover record, the pause): DIR created 0700 when missing, an existing
 * file made 0600 first (fileio_write_atomic keeps an existing file's mode, and a copy left readable by others would
 * stay so), then replaced atomically. */
int fileio_write_private(const char *dir, const char *name, const void *data, size_t size);

/* mkdir -p with `mode` for the last component; an existing directory is fine. */
int fileio_mkdir_p(const char *path, mode_t mode);
