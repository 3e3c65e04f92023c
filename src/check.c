/* check: the -t checks that look past the YAML — files, commands, the nginx upstream. */
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failover.h"
#include "fileio.h"
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

static void check_ssh(const struct config *c, struct config_errors *errs) {
        const struct config_ssh *ssh = &c->promote.ssh;

        if (ssh->identity_file && access(ssh->identity_file, R_OK) < 0)
                add_at(errs, c, "failover.promote.ssh.identity_file", "cannot read ssh identity file %s: %s",
                       ssh->identity_file, strerror(errno));
        if (check_command("ssh") < 0)
                add_at(errs, c, "failover.promote.ssh.host", "command \"%s\" not found%s (install openssh-client)",
                       "ssh", "");
}

int check_environment(const struct config *c, struct config_errors *errs) {
        size_t before = errs->n;

        check_nginx(c, errs);
        check_ssh(c, errs);
        check_one_command(c, errs, "failover.nginx.test_command", c->nginx.test_command.argv);
        check_one_command(c, errs, "failover.nginx.reload_command", c->nginx.reload_command.argv);
        check_one_command(c, errs, "failover.standby_stack.command", c->standby_stack.argv);
        return errs->n > before ? -EINVAL : 0;
}
