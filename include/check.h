/* check: owns validating what a run would need beyond the config's own syntax — the nginx site file has the
 * upstream with both servers, every command can be found, the ssh identity file is readable, names are safe to
 * hand to ssh, and who besides us can change the config or read the ssh key (file owner and mode). Problems are
 * reported against the config key they come from (FILE:LINE:COL). Reads files, changes nothing; the one thing it
 * logs is a warning about a file's mode (a warning must not fail -t or a reload, and config_errors has none). */
#pragma once

#include <sys/types.h>

#include "config.h"

/* Appends every problem to errs. Returns 0 when there were none, -EINVAL otherwise. */
int check_environment(const struct config *c, struct config_errors *errs);

/* Resolves argv0 as execvp would (PATH search when it has no '/'). 0 when it exists and is executable. */
int check_command(const char *argv0);

/* How far a file's owner and mode let us trust it. */
enum check_trust {
        CHECK_TRUST_OK,
        CHECK_TRUST_WARN,       /* worth a warning, not a refusal */
        CHECK_TRUST_REFUSE,     /* someone other than the one running us can change what we do as root */
};

/* Pure. The config file: writable by group or others → WARN; when euid is 0, writable by group or others or
 * owned by anyone but root → REFUSE (whoever can edit it chooses the commands we run as root). */
enum check_trust check_config_trust(mode_t mode, uid_t owner, uid_t euid);
/* Pure. The ssh private key: readable by group or others → WARN (and ssh itself refuses such a key). */
enum check_trust check_key_trust(mode_t mode);

/* Applies both to c->path and the ssh identity file as seen by a process running as euid: a refusal is appended to
 * errs (returns -EPERM), a warning is logged (returns 0). check_environment calls it with geteuid(). */
int check_trust(const struct config *c, uid_t euid, struct config_errors *errs);
