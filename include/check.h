/* check: owns validating what a run would need beyond the config's own syntax — the nginx site file has the
 * upstream with both servers, every command can be found, the ssh identity file is readable, names are safe to
 * hand to ssh. Problems are reported against the config key they come from (FILE:LINE:COL). Reads files,
 * changes nothing. */
#pragma once

#include "config.h"

/* Appends every problem to errs. Returns 0 when there were none, -EINVAL otherwise. */
int check_environment(const struct config *c, struct config_errors *errs);

/* Resolves argv0 as execvp would (PATH search when it has no '/'). 0 when it exists and is executable. */
int check_command(const char *argv0);
