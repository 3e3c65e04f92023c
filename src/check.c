/* check: the -t checks that look past the YAML — files, commands, the nginx upstream, who may change the config. */
#include "check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "db.h"
#include "failover.h"
#include "fileio.h"
#include "log.h"
#include "health.h"
#include "nginx.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void add_at(struct config_errors *errs, const struct config *c, const char *key, const char *fmt,
                   const char *a, const char *b) {
        struct config_mark m = config_mark_of(c, key);

        config_errors_add(errs, m.line, m.col, fmt, a, b);
}

int check_command(const char *argv0) {
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;

        if (strchr(argv0, '/'))
                return access(argv0, X_OK) < 0 ? -errno : 0;
        copy = strdup(path && *path ? path : DEFAULT_PATH);
        if (!copy)
                return -ENOMEM;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *full = NULL;
                if (asprintf(&full, "%s/%s", dir, argv0) < 0)
                        return -ENOMEM;
                if (access(full, X_OK) == 0)
                        return 0;
        }
        return -ENOENT;
}

static void check_one_command(const struct config *c, struct config_errors *errs, const char *key,
                              char *const *argv) {
        _cleanup_free_ char *item = NULL;

        if (!argv || !argv[0] || check_command(argv[0]) == 0)
                return;
        if (asprintf(&item, "%s[0]", key) < 0)
                return;
        add_at(errs, c, item, "%s: command \"%s\" not found or not executable (install it or give its full path)",
               key, argv[0]);
}

/* The key an nginx problem is best reported at: the missing server's own line when we can tell. */
static const char *nginx_problem_key(const struct config *c, const char *message) {
        if (strstr(message, c->nginx.active_server) && strstr(message, "server"))
                return "failover.nginx.active_server";
        if (strstr(message, c->nginx.standby_server) && strstr(message, "server"))
                return "failover.nginx.standby_server";
        if (strstr(message, "upstream"))
                return "failover.nginx.upstream";
        return "failover.nginx.config";
}

static void check_nginx(const struct config *c, struct config_errors *errs) {
        _cleanup_free_ char *data = NULL, *where = NULL;
        struct nginx_error err = {};
        size_t size;
        int r;

        r = fileio_read(c->nginx.config, FAILOVER_NGINX_MAX, &data, &size);
        if (r == -EFBIG) {
                struct config_mark m = config_mark_of(c, "failover.nginx.config");

                config_errors_add(errs, m.line, m.col, "nginx site file %s is larger than %u MiB, the most "
                                  "blfailoverd reads (is it the right file?)", c->nginx.config,
                                  FAILOVER_NGINX_MAX >> 20);
                return;
        }
        if (r < 0) {
                add_at(errs, c, "failover.nginx.config", "cannot read nginx site file %s: %s", c->nginx.config,
                       strerror(-r));
                return;
        }
        r = nginx_check_upstream(data, size, c->nginx.upstream, c->nginx.active_server, c->nginx.standby_server,
                                 &err);
        if (r == 0)
                return;
        if (err.line > 0 && asprintf(&where, "%s:%u:%u", c->nginx.config, err.line, err.col) < 0)
                where = NULL;
        add_at(errs, c, nginx_problem_key(c, err.message), "%s: %s", where ? where : c->nginx.config, err.message);
}

static void check_tls(const struct config *c, struct config_errors *errs) {
        const char *ca = c->health.ca_file;

        if (ca && access(ca, R_OK) < 0)
                add_at(errs, c, "health.ca_file", "cannot read CA file %s: %s (https checks would all fail)", ca,
                       strerror(errno));
}

static void check_ssh(const struct config *c, struct config_errors *errs) {
        const struct config_ssh *ssh = &c->promote.ssh;

        if (ssh->identity_file && access(ssh->identity_file, R_OK) < 0)
                add_at(errs, c, "failover.promote.ssh.identity_file", "cannot read ssh identity file %s: %s",
                       ssh->identity_file, strerror(errno));
        if (check_command("ssh") < 0)
                add_at(errs, c, "failover.promote.ssh.host", "command \"%s\" not found%s (install openssh-client)",
                       "ssh", "");
}

enum check_trust check_config_trust(mode_t mode, uid_t owner, uid_t euid) {
        bool others_write = mode & (S_IWGRP | S_IWOTH);

        if (euid == 0 && (others_write || owner != 0))
                return CHECK_TRUST_REFUSE;
        return others_write ? CHECK_TRUST_WARN : CHECK_TRUST_OK;
}

enum check_trust check_key_trust(mode_t mode) {
        return mode & (S_IRGRP | S_IROTH) ? CHECK_TRUST_WARN : CHECK_TRUST_OK;
}

/* Whoever can edit the config chooses the commands we run (as root, under the shipped unit). A warning is logged
 * here rather than returned: it must not fail -t or a reload, and config_errors has no notion of one. */
static int check_config_file(const struct config *c, uid_t euid, struct config_errors *errs) {
        struct stat st;

        if (!c->path || stat(c->path, &st) < 0)
                return 0;       /* it was just read: a file gone since is the next load's problem */
        switch (check_config_trust(st.st_mode, st.st_uid, euid)) {
        case CHECK_TRUST_REFUSE:
                config_errors_add(errs, 0, 0, "refusing to run as root with a config others can change (owner uid "
                                  "%u, mode %04o): it names the commands run as root; make it root's and not "
                                  "group/world-writable (chown root %s; chmod go-w %s)", (unsigned) st.st_uid,
                                  (unsigned) (st.st_mode & 07777), c->path, c->path);
                return -EPERM;
        case CHECK_TRUST_WARN:
                log_warning("%s: writable by group or others (mode %04o): whoever can edit it chooses the commands "
                            "blfailoverd runs; chmod go-w %s", c->path, (unsigned) (st.st_mode & 07777), c->path);
                return 0;
        default:
                return 0;
        }
}

static void check_key_file(const struct config *c) {
        const char *key = c->promote.ssh.identity_file;
        struct config_mark m = config_mark_of(c, "failover.promote.ssh.identity_file");
        char where[32] = "";
        struct stat st;

        if (!key || stat(key, &st) < 0 || check_key_trust(st.st_mode) == CHECK_TRUST_OK)
                return;
        if (m.line > 0)
                snprintf(where, sizeof where, ":%u:%u", m.line, m.col);
        log_warning("%s%s: ssh identity file %s is readable by group or others (mode %04o): ssh refuses such a key "
                    "(\"UNPROTECTED PRIVATE KEY FILE\"); chmod 600 %s", c->path ? c->path : "<config>", where, key,
                    (unsigned) (st.st_mode & 07777), key);
}

int check_trust(const struct config *c, uid_t euid, struct config_errors *errs) {
        int r = check_config_file(c, euid, errs);

        check_key_file(c);
        return r;
}

/* The daemon binds STATE_DIR/control for the CLI's commands: a path longer than sockaddr_un's would stop it at start. */
static void check_state_dir(const struct config *c, struct config_errors *errs) {
        if (!control_path_fits(c->state_dir))
                add_at(errs, c, "state_dir", "state_dir %s is too long for the control socket %s/" CONTROL_SOCKET_NAME
                       " (a unix socket path holds at most 107 bytes): choose a shorter directory", c->state_dir,
                       c->state_dir);
}

/* Host names are looked up off the loop, one name per conninfo: a multi-host list with a name in it would make
 * libpq look it up itself, blocking the daemon. Refused here so that -t says so, not the first probe. */
static void check_database_hosts(const struct config *c, struct config_errors *errs, const char *key,
                                 const char *conninfo) {
        _cleanup_free_ char *host = NULL;

        if (conninfo && db_conninfo_lookup_host(conninfo, &host) == -ENOTSUP)
                add_at(errs, c, key, "%s: host= lists several hosts with a name among them%s; blfailoverd looks "
                       "up one host name only (give one name, or IP addresses)", key, "");
}

int check_environment(const struct config *c, struct config_errors *errs) {
        size_t before = errs->n;

        (void) check_trust(c, geteuid(), errs);
        check_state_dir(c, errs);
        check_nginx(c, errs);
        check_ssh(c, errs);
        check_tls(c, errs);
        if (!health_async_resolver())
                add_at(errs, c, NULL, "%s%s", "this libcurl resolves host names synchronously (built without "
                       "an asynchronous resolver: CURL_VERSION_ASYNCHDNS), which would stall every check behind a "
                       "slow DNS server; install a libcurl built with the threaded resolver or c-ares", "");
        if (c->database.present) {
                check_database_hosts(c, errs, "database.standby", c->database.standby);
                check_database_hosts(c, errs, "database.primary", c->database.primary);
        }
        check_one_command(c, errs, "failover.nginx.test_command", c->nginx.test_command.argv);
        check_one_command(c, errs, "failover.nginx.reload_command", c->nginx.reload_command.argv);
        check_one_command(c, errs, "failover.standby_stack.command", c->standby_stack.argv);
        check_one_command(c, errs, "failover.fence.command", c->fence.argv);
        check_one_command(c, errs, "failover.confirm.command", c->confirm.argv);
        check_one_command(c, errs, "hooks.command", c->hooks.argv);
        /* -t prints the problems in file order, the YAML's and these together, whichever check found them. */
        config_errors_sort(errs);
        return errs->n > before ? -EINVAL : 0;
}
