/* sshmux: the warm ssh master to the standby database host — started, watched, restarted with backoff, stopped. */
#include "sshmux.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "plan.h"
#include "spawn.h"
#include "util.h"

#define SOCKET_NAME "master"
#define UP_LONG_ENOUGH_USEC (60 * USEC_PER_SEC)        /* a master that lived this long starts the backoff over */

struct sshmux {
        sd_event *event;
        char *name;                     /* the socket's name in dir: "master", or "site-<name>" */
        char *dir;                      /* private (0700, ours) */
        char *path;                     /* the control socket */
        char **argv;                    /* the master's, from plan_ssh_master_argv */
        char *host;                     /* for messages */
        struct spawn *master;           /* NULL between a master's exit and the next start */
        sd_event_source *watch;         /* inotify on dir: the socket appears once ssh has logged in */
        sd_event_source *retry;         /* the backoff timer */
        uint64_t backoff_usec;
        uint64_t started_usec;          /* CLOCK_MONOTONIC of the running master's start */
        uint64_t up_usec;               /* CLOCK_MONOTONIC of its login; 0 while not logged in */
};

/* ---- where the socket goes (pure) --------------------------------------------------------------------- */

int sshmux_paths(const char *runtime_directory, const char *state_dir, char **ret_dir, char **ret_path) {
        return sshmux_paths_named(runtime_directory, state_dir, SOCKET_NAME, ret_dir, ret_path);
}

int sshmux_paths_named(const char *runtime_directory, const char *state_dir, const char *name, char **ret_dir,
                       char **ret_path) {
        _cleanup_free_ char *base = NULL;
        char *dir = NULL, *path = NULL;
        size_t n;

        if (runtime_directory && *runtime_directory && *runtime_directory != ':') {
                n = strcspn(runtime_directory, ":");
                base = strndup(runtime_directory, n);
        } else if (state_dir)
                base = strdup(state_dir);
        else
                return -EINVAL;
        if (!base)
                return -ENOMEM;
        n = strlen(base);
        while (n > 1 && base[n - 1] == '/')
                base[--n] = '\0';
        /* ssh expands %x, ${VAR} and a leading ~ in ControlPath, and splits an -o value on blanks and quotes. */
        if (base[0] != '/' || strpbrk(base, "%$~ \t\n\"'\\"))
                return -EINVAL;
        if (asprintf(&dir, "%s/ssh", strcmp(base, "/") == 0 ? "" : base) < 0)
                return -ENOMEM;
        if (strpbrk(name, "%$~ \t\n\"'\\/")) {
                free(dir);
                return -EINVAL;
        }
        if (asprintf(&path, "%s/%s", dir, name) < 0) {
                free(dir);
                return -ENOMEM;
        }
        if (strlen(path) > SSHMUX_PATH_MAX) {
                free(dir);
                free(path);
                return -ENAMETOOLONG;
        }
        *ret_dir = dir;
        *ret_path = path;
        return 0;
}

/* The directory is ours alone: anyone who can reach the socket can run commands as us on the database host. */
static int make_private_dir(const char *dir) {
        struct stat st;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (lstat(dir, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
                return -EPERM;
        if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) < 0)
                return -errno;
        return 0;
}

/* ---- the master ---------------------------------------------------------------------------------------- */

static void schedule_retry(struct sshmux *x);

/* ssh says why it gave up on its last line ("Connection refused", "Permission denied (publickey)"). */
static void last_line(const char *output, size_t len, char *buf, size_t size) {
        while (len > 0 && (output[len - 1] == '\n' || output[len - 1] == '\r'))
                len--;
        const char *start = output + len;
        while (start > output && start[-1] != '\n')
                start--;
        snprintf(buf, size, "%.*s", (int) (output + len - start), start);
}

static void on_master_exit(struct spawn *s, const struct spawn_result *res, void *userdata) {
        struct sshmux *x = userdata;
        char outcome[128], why[256];
        bool was_up = x->up_usec != 0;

        spawn_outcome_describe(res, outcome, sizeof outcome);
        last_line(res->output, res->output_len, why, sizeof why);
        x->master = spawn_free(x->master);
        (void) unlink(x->path);         /* a SIGKILLed master leaves its socket behind */
        if (was_up && now_monotonic_usec() - x->up_usec >= UP_LONG_ENOUGH_USEC)
                x->backoff_usec = 0;
        x->up_usec = 0;
        schedule_retry(x);
        log_warning("ssh master to %s %s (%s%s%s); failover ssh steps log in afresh until it is back, next try in "
                    "%.0fs", x->host, was_up ? "ended" : "could not log in", outcome, *why ? ": " : "", why,
                    (double) x->backoff_usec / 1e6);
}

static int start_master(struct sshmux *x) {
        int r;

        /* A socket left by a killed master would make the new one refuse to listen (and run unshared). */
        if (unlink(x->path) < 0 && errno != ENOENT)
                return -errno;
        x->up_usec = 0;
        x->started_usec = now_monotonic_usec();
        r = spawn_start_tethered(x->event, x->argv, NULL, SSHMUX_LIFETIME_USEC, on_master_exit, x, &x->master);
        if (r < 0)
                log_warning("ssh master to %s: cannot start ssh: %s; failover ssh steps log in afresh", x->host,
                            strerror(-r));
        return r;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct sshmux *x = userdata;

        if (!x->master && start_master(x) < 0)
                schedule_retry(x);
        return 0;
}

static void schedule_retry(struct sshmux *x) {
        int r;

        x->backoff_usec = x->backoff_usec ? x->backoff_usec * 2 : SSHMUX_BACKOFF_MIN_USEC;
        if (x->backoff_usec > SSHMUX_BACKOFF_MAX_USEC)
                x->backoff_usec = SSHMUX_BACKOFF_MAX_USEC;
        r = sd_event_source_set_time_relative(x->retry, x->backoff_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(x->retry, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "ssh master to %s: cannot arm the retry timer: %s; failover ssh steps log in "
                                "afresh until the daemon restarts", x->host, strerror(-r));
}

/* ssh binds a temporary name and links it to ControlPath once the login succeeded: that link is "up". */
static int on_dir_event(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        struct sshmux *x = userdata;

        if (!x->master || ev->len == 0 || strcmp(ev->name, x->name) != 0 || x->up_usec)
                return 0;
        x->up_usec = now_monotonic_usec();
        log_info("ssh master to %s: logged in after %.0f ms (%s); failover ssh steps reuse it", x->host,
                 (double) (x->up_usec - x->started_usec) / 1e3, x->path);
        return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------------------------ */

static int sshmux_setup(struct sshmux *x, const struct config *c, const struct config_ssh *ssh, const char *name) {
        int r;

        if (!(x->name = strdup(name)))
                return -ENOMEM;
        r = sshmux_paths_named(getenv("RUNTIME_DIRECTORY"), c->state_dir, name, &x->dir, &x->path);
        if (r < 0)
                return r;
        x->argv = plan_ssh_master_argv(ssh, c->promote.timeout_usec, x->path);
        if (!x->argv || !(x->host = strdup(ssh->host)))
                return -ENOMEM;
        r = make_private_dir(x->dir);
        if (r >= 0)
                r = sd_event_add_inotify(x->event, &x->watch, x->dir, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR,
                                         on_dir_event, x);
        if (r >= 0)
                r = sd_event_add_time_relative(x->event, &x->retry, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_retry, x);
        if (r >= 0)
                r = sd_event_source_set_enabled(x->retry, SD_EVENT_OFF);
        return r;
}

static void say_unusable(const struct config *c, int r) {
        if (r == -ENAMETOOLONG)
                log_warning("ssh master: the control socket path under %s would be longer than %d bytes; failover "
                            "ssh steps log in afresh. Run under systemd (RuntimeDirectory=) or use a shorter "
                            "state_dir", c->state_dir, SSHMUX_PATH_MAX);
        else
                log_warning("ssh master: no private directory for its socket under %s (%s); failover ssh steps log "
                            "in afresh. Make the directory ours and 0700, or run under systemd (RuntimeDirectory=)",
                            getenv("RUNTIME_DIRECTORY") ? getenv("RUNTIME_DIRECTORY") : c->state_dir,
                            r == -EPERM ? "it exists and is not a directory owned by us" : strerror(-r));
}

static int sshmux_start(sd_event *e, const struct config *c, const struct config_ssh *ssh, const char *name,
                        struct sshmux **ret) {
        struct sshmux *x;
        int r;

        *ret = NULL;
        x = calloc(1, sizeof *x);
        if (!x)
                return -ENOMEM;
        x->event = sd_event_ref(e);
        r = sshmux_setup(x, c, ssh, name);
        if (r >= 0 && start_master(x) < 0)
                schedule_retry(x);
        if (r < 0) {
                sshmux_free(x);
                if (r == -ENOMEM)
                        return r;
                say_unusable(c, r);
                return 0;
        }
        *ret = x;
        return 0;
}

int sshmux_new(sd_event *e, const struct config *c, struct sshmux **ret) {
        *ret = NULL;
        if (c->promote.method != CONFIG_PROMOTE_TRIGGER_FILE || !c->promote.ssh.host)
                return 0;
        return sshmux_start(e, c, &c->promote.ssh, SOCKET_NAME, ret);
}

static bool site_wants_master(const struct config *c, unsigned site) {
        return c->sites_form && site < CONFIG_SITES && c->sites[site].database.present &&
               c->sites[site].database.ssh.host;
}

static char *site_socket_name(const struct config *c, unsigned site) {
        char *name = NULL;

        return asprintf(&name, "site-%s", c->sites[site].name) < 0 ? NULL : name;
}

int sshmux_new_site(sd_event *e, const struct config *c, unsigned site, struct sshmux **ret) {
        _cleanup_free_ char *name = NULL;

        *ret = NULL;
        if (!site_wants_master(c, site))
                return 0;
        name = site_socket_name(c, site);
        if (!name)
                return -ENOMEM;
        return sshmux_start(e, c, &c->sites[site].database.ssh, name, ret);
}

int sshmux_reload_site(struct sshmux **xp, sd_event *e, const struct config *c, unsigned site) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *name = site_wants_master(c, site) ? site_socket_name(c, site)
                                                                                          : NULL;
        char **argv = NULL;
        bool same = false;

        if (*xp && name && sshmux_paths_named(getenv("RUNTIME_DIRECTORY"), c->state_dir, name, &dir, &path) == 0) {
                argv = plan_ssh_master_argv(&c->sites[site].database.ssh, c->promote.timeout_usec, path);
                same = argv && strv_equal(argv, (*xp)->argv);
                strv_free(argv);
        }
        if (same)
                return 0;
        *xp = sshmux_free(*xp);
        return sshmux_new_site(e, c, site, xp);
}

int sshmux_reload(struct sshmux **xp, sd_event *e, const struct config *c) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        char **argv = NULL;
        bool same = false;

        if (*xp && c->promote.method == CONFIG_PROMOTE_TRIGGER_FILE && c->promote.ssh.host &&
            sshmux_paths(getenv("RUNTIME_DIRECTORY"), c->state_dir, &dir, &path) == 0) {
                argv = plan_ssh_master_argv(&c->promote.ssh, c->promote.timeout_usec, path);
                same = argv && strv_equal(argv, (*xp)->argv);
                strv_free(argv);
        }
        if (same)
                return 0;
        *xp = sshmux_free(*xp);
        return sshmux_new(e, c, xp);
}

const char *sshmux_control_path(const struct sshmux *x) {
        if (!x || !x->master || !x->up_usec)
                return NULL;
        if (now_monotonic_usec() - x->started_usec >= SSHMUX_LIFETIME_USEC - SSHMUX_RETIRE_USEC)
                return NULL;
        return x->path;
}

struct sshmux *sshmux_free(struct sshmux *x) {
        if (!x)
                return NULL;
        if (x->master) {
                x->master = spawn_free(x->master);
                (void) unlink(x->path);
        }
        sd_event_source_disable_unref(x->watch);
        sd_event_source_disable_unref(x->retry);
        sd_event_unref(x->event);
        strv_free(x->argv);
        free(x->name);
        free(x->host);
        free(x->dir);
        free(x->path);
        free(x);
        return NULL;
}
