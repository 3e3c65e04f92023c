/* lock: owns the one-actor rule — a kernel lock on STATE_DIR/lock that whoever may change the pair (the daemon for
 * its lifetime, a command for its whole run) holds. Only this module opens that file: a POSIX record lock is
 * dropped when *any* descriptor of the file in the process is closed. The lock is not inherited by children, and
 * the kernel drops it when the holder dies, so a crash never leaves the pair locked. No logging. */
#pragma once

#include <sys/types.h>

#define LOCK_FILE_NAME "lock"

/* Creates state_dir (0700) if needed and takes the lock without waiting. Returns 0 and the descriptor that holds it
 * in *ret_fd; -EBUSY when another process holds it (its PID in *ret_holder, 0 if the kernel could not say);
 * -EPERM when state_dir or the lock file is not ours alone (owned by another user, writable by group or others, or
 * the lock not a plain file): whoever can write there could hold the lock, or plant a link for root to write
 * through; another -errno on failure. */
int lock_take(const char *state_dir, int *ret_fd, pid_t *ret_holder);

/* Releases the lock (closes fd); -1 is fine. Returns -1 for `fd = lock_release(fd)`. */
int lock_release(int fd);
