/* sshmux: owns the warm ssh master connection to the standby database host — one `ssh -M -N` child per daemon,
 * its control socket in a private 0700 directory, re-established with backoff when it exits, killed (and its
 * socket removed) when the daemon stops. The failover's ssh steps ride on it (plan_options.ssh_control_path) and
 * so skip the login. It never blocks the loop (spawn.h runs the child, inotify says when the socket appears) and
 * is never needed: without it every ssh step logs in afresh, as before. Daemon mode only (not --once, not the
 * drill). It does not build argv (plan.h does) and does not touch the failover. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"

/* How long one master may live: it is replaced after this, and not handed to a failover in its last
 * SSHMUX_RETIRE_USEC, so that no replacement can cut a failover's ssh step (every step has a deadline far
 * shorter). */
#define SSHMUX_LIFETIME_USEC (24 * 3600 * UINT64_C(1000000))
#define SSHMUX_RETIRE_USEC   (3600 * UINT64_C(1000000))
#define SSHMUX_BACKOFF_MIN_USEC (1 * UINT64_C(1000000))
#define SSHMUX_BACKOFF_MAX_USEC (60 * UINT64_C(1000000))

/* ssh binds "<path>.<16 random characters>" first and then links it to <path>; both must fit sun_path (108). */
#define SSHMUX_PATH_MAX (108 - 1 - 17)

struct sshmux;

/* Where the socket goes: "<base>/ssh/master", base = the first entry of runtime_directory (systemd's
 * $RUNTIME_DIRECTORY, ':'-separated; NULL or "" when unset) or else state_dir. -ENAMETOOLONG when the path would not
 * fit SSHMUX_PATH_MAX, -EINVAL when it holds a character ssh would expand or split on (% $ ~ whitespace quotes
 * backslash). Pure. ret_dir and ret_path are malloc'd, written only on success. */
int sshmux_paths(const char *runtime_directory, const char *state_dir, char **ret_dir, char **ret_path);

/* The same for a socket named `name` (no '/', nothing ssh expands) in that directory. */
int sshmux_paths_named(const char *runtime_directory, const char *state_dir, const char *name, char **ret_dir,
                       char **ret_path);

/* A master to site `site`'s database host (the sites form, when the site has database.ssh.host): the lifecycle
 * steps' {ssh} commands ride on it (a cold login costs ~0.7 s, most of a switchover's write window). *ret is NULL
 * when the site has no ssh. sshmux_reload_site keeps it when its argv is unchanged. */
int sshmux_new_site(sd_event *e, const struct config *c, unsigned site, struct sshmux **ret);
int sshmux_reload_site(struct sshmux **x, sd_event *e, const struct config *c, unsigned site);

/* Starts the master in the background when the config promotes over ssh (trigger_file); *ret is NULL otherwise,
 * and when no private directory can be had (logged: the steps then log in afresh). Returns 0 or -ENOMEM. */
int sshmux_new(sd_event *e, const struct config *c, struct sshmux **ret);

/* After a config reload: keeps the master when its argv is unchanged, replaces (or stops) it otherwise. */
int sshmux_reload(struct sshmux **x, sd_event *e, const struct config *c);

/* The control socket to hand to a failover now, or NULL: no master, not (yet) logged in, or about to retire. */
const char *sshmux_control_path(const struct sshmux *x);

/* Kills the master's process group and removes its socket. NULL is fine. */
struct sshmux *sshmux_free(struct sshmux *x);
