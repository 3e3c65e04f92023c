/* plan: the failover sequence as data — built from the config, printed by --dry-run, run by failover.c. */
#include "plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "health.h"
#include "shellquote.h"
#include "spawn.h"
#include "util.h"

/* A tiny growable argv; on ENOMEM it remembers the failure so callers check once at the end. */
struct argv_builder {
        char **v;
        size_t n;
        bool failed;
};

static void argv_add(struct argv_builder *b, const char *word) {
        char **bigger;

        if (b->failed)
                return;
        bigger = realloc(b->v, (b->n + 2) * sizeof(char *));
        if (!bigger || !(bigger[b->n] = strdup(word))) {
                b->v = bigger ? bigger : b->v;
                b->failed = true;
                return;
        }
        b->v = bigger;
        b->v[++b->n] = NULL;
}

static char **argv_finish(struct argv_builder *b) {
        if (b->failed || !b->v) {
                if (b->v)
                        b->v[b->n] = NULL;
                strv_free(b->v);
                return NULL;
        }
        return b->v;
}

/* What every ssh we run shares: batch mode (never a prompt), a connect timeout, port, identity. */
static void ssh_add_common(struct argv_builder *b, const struct config_ssh *ssh, uint64_t timeout_usec) {
        uint64_t connect_sec = (timeout_usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
        char number[32];

        argv_add(b, "ssh");
        argv_add(b, "-o");
        argv_add(b, "BatchMode=yes");
        argv_add(b, "-o");
        snprintf(number, sizeof number, "ConnectTimeout=%llu", (unsigned long long) (connect_sec ? connect_sec : 1));
        argv_add(b, number);
        if (ssh->port != 22) {
                snprintf(number, sizeof number, "%u", ssh->port);
                argv_add(b, "-p");
                argv_add(b, number);
        }
        if (ssh->identity_file) {
                argv_add(b, "-i");
                argv_add(b, ssh->identity_file);
        }
}

/* "-o ControlPath=<path>": ours come before the operator's options, and ssh keeps the first value it is given. */
static void ssh_add_control_path(struct argv_builder *b, const char *control_path) {
        _cleanup_free_ char *option = NULL;

        if (asprintf(&option, "ControlPath=%s", control_path) < 0) {
                b->failed = true;
                return;
        }
        argv_add(b, "-o");
        argv_add(b, option);
}

/* The operator's options, then user@host. */
static char **ssh_finish(struct argv_builder *b, const struct config_ssh *ssh, const char *remote_command) {
        _cleanup_free_ char *destination = NULL;

        if (ssh->user ? asprintf(&destination, "%s@%s", ssh->user, ssh->host) < 0
                      : !(destination = strdup(ssh->host)))
                b->failed = true;
        for (size_t i = 0; i < ssh->n_options; i++) {
                argv_add(b, "-o");
                argv_add(b, ssh->options[i]);
        }
        argv_add(b, destination ? destination : "");
        if (remote_command)
                argv_add(b, remote_command);
        return argv_finish(b);
}

char **plan_ssh_argv(const struct config_ssh *ssh, uint64_t timeout_usec, const char *control_path,
                     const char *remote_command) {
        struct argv_builder b = {};

        ssh_add_common(&b, ssh, timeout_usec);
        if (control_path) {
                /* A client of the warm master, never a master itself; with no master listening ssh logs in. */
                argv_add(&b, "-o");
                argv_add(&b, "ControlMaster=no");
                ssh_add_control_path(&b, control_path);
        }
        return ssh_finish(&b, ssh, remote_command);
}

char **plan_ssh_master_argv(const struct config_ssh *ssh, uint64_t timeout_usec, const char *control_path) {
        struct argv_builder b = {};

        ssh_add_common(&b, ssh, timeout_usec);
        /* -M -N: a master in the foreground (ours to supervise and kill), no remote command. ServerAlive makes a
         * master whose host stopped answering exit within 15 s instead of holding a dead connection. */
        argv_add(&b, "-M");
        argv_add(&b, "-N");
        ssh_add_control_path(&b, control_path);
        argv_add(&b, "-o");
        argv_add(&b, "ControlPersist=no");
        argv_add(&b, "-o");
        argv_add(&b, "ServerAliveInterval=5");
        argv_add(&b, "-o");
        argv_add(&b, "ServerAliveCountMax=3");
        return ssh_finish(&b, ssh, NULL);
}

static int add_step(struct plan *p, const char *name, const char *purpose, enum plan_action action, char **argv,
                    uint64_t timeout_usec, bool restore) {
        if (action == PLAN_COMMAND && !argv)
                return -ENOMEM;
        if (p->n_steps >= PLAN_STEPS_MAX) {
                strv_free(argv);
                return -E2BIG;
        }
        p->steps[p->n_steps++] = (struct plan_step) {
                .name = name, .purpose = purpose, .action = action, .argv = argv,
                .timeout_usec = timeout_usec, .restore_nginx_on_failure = restore,
        };
        return 0;
}

static int add_trigger_steps(struct plan *p, const struct config_promote *promote,
                             const struct plan_options *opts) {
        _cleanup_free_ char *quoted = shell_quote(promote->trigger_file), *touch = NULL;

        if (!quoted || asprintf(&touch, "touch -- %s", quoted) < 0)
                return -ENOMEM;
        return add_step(p, "promote", "promote the standby database (touch its trigger file)", PLAN_COMMAND,
                        plan_ssh_argv(&promote->ssh, promote->timeout_usec, opts->ssh_control_path, touch),
                        promote->timeout_usec, true);
}

static int add_prepare_steps(struct plan *p, const struct config *c, const struct plan_options *opts) {
        int r;

        r = add_step(p, "nginx_write", "write the switched upstream into the nginx site file", PLAN_NGINX_WRITE,
                     NULL, 0, true);
        if (r == 0)
                r = add_step(p, "nginx_test", "let nginx test the new site file", PLAN_COMMAND,
                             strv_copy(c->nginx.test_command.argv), c->nginx.test_command.timeout_usec, true);
        if (r == 0 && c->promote.method == CONFIG_PROMOTE_TRIGGER_FILE)
                r = add_step(p, "ssh_check", "check that ssh reaches the standby database host", PLAN_COMMAND,
                             plan_ssh_argv(&c->promote.ssh, c->promote.timeout_usec, opts->ssh_control_path,
                                           "true"),
                             c->promote.timeout_usec, true);
        return r;
}

static int add_fence_step(struct plan *p, const struct config *c, const struct plan_options *opts) {
        int r;

        if (!c->fence.argv)
                return 0;
        r = add_step(p, "fence", opts->fence_required ? "stop the old active (required: its database is alive)"
                     : "stop the old active (best effort: it may be dead)", PLAN_COMMAND,
                     strv_copy(c->fence.argv), c->fence.timeout_usec, true);
        if (r == 0)
                p->steps[p->n_steps - 1].optional = !opts->fence_required;
        return r;
}

static int add_steps(struct plan *p, const struct config *c, const struct plan_options *opts) {
        int r;

        r = add_prepare_steps(p, c, opts);
        if (r == 0)
                r = add_fence_step(p, c, opts);
        if (r == 0 && c->promote_command.argv)
                r = add_step(p, "promote", "promote the standby database (its site's commands.promote)", PLAN_COMMAND,
                             strv_copy(c->promote_command.argv), c->promote_command.timeout_usec, true);
        else if (r == 0 && c->promote.method == CONFIG_PROMOTE_TRIGGER_FILE)
                r = add_trigger_steps(p, &c->promote, opts);
        else if (r == 0)
                r = add_step(p, "promote", "promote the standby database (SELECT pg_promote(false))",
                             PLAN_PG_PROMOTE, NULL, c->database.connect_timeout_usec, true);
        if (r == 0)
                r = add_step(p, "switch", "reload nginx: traffic moves to the standby", PLAN_COMMAND,
                             strv_copy(c->nginx.reload_command.argv), c->nginx.reload_command.timeout_usec, false);
        if (r == 0)
                r = add_step(p, "standby_stack", "start the standby stack", PLAN_COMMAND,
                             strv_copy(c->standby_stack.argv), c->standby_stack.timeout_usec, false);
        if (r == 0)
                r = add_step(p, "verify", "check that the standby database left recovery and the new active answers",
                             PLAN_VERIFY, NULL, p->verify_timeout_usec, false);
        return r;
}

/* What the verify step checks: the new active's own /health first, then the operator's verify.urls. */
static int copy_verify(struct plan *p, const struct config *c) {
        size_t n = c->verify.n_urls;

        p->verify_urls = calloc(n + 2, sizeof(char *));
        if (!p->verify_urls || !(p->verify_urls[0] = strdup(c->standby.url)))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(p->verify_urls[i + 1] = strdup(c->verify.urls[i])))
                        return -ENOMEM;
        p->verify_timeout_usec = c->verify.timeout_usec ? c->verify.timeout_usec : 30 * USEC_PER_SEC;
        p->health_timeout_usec = c->health.timeout_usec;
        p->promote_timeout_usec = c->database.promote_timeout_usec;
        p->db_connect_timeout_usec = c->database.connect_timeout_usec;
        if (c->database.present && !(p->db_standby = strdup(c->database.standby)))
                return -ENOMEM;
        if (c->database.password_file && !(p->db_password_file = strdup(c->database.password_file)))
                return -ENOMEM;
        return 0;
}

/* The backup goes beside the file the site file's name points to: with sites-enabled/x -> ../sites-available/x
 * the write lands in sites-available/ (fileio writes through links), and so does its backup, out of the
 * directory nginx includes. An unresolvable name keeps the backup beside the name (the write reports the error). */
static char *nginx_backup_path(const char *config) {
        _cleanup_free_ char *target = NULL;
        char *bak;

        if (fileio_resolve(config, &target) < 0)
                target = NULL;
        if (asprintf(&bak, "%s.blfailoverd.bak", target ? target : config) < 0)
                return NULL;
        return bak;
}

int plan_build(const struct config *c, const struct plan_options *opts, struct plan **ret) {
        static const struct plan_options none = {};
        struct plan *p = calloc(1, sizeof *p);
        int r;

        if (!p)
                return -ENOMEM;
        p->nginx_config = strdup(c->nginx.config);
        p->upstream = strdup(c->nginx.upstream);
        p->active_server = strdup(c->nginx.active_server);
        p->standby_server = strdup(c->nginx.standby_server);
        p->nginx_backup = nginx_backup_path(c->nginx.config);
        r = p->nginx_config && p->upstream && p->active_server && p->standby_server && p->nginx_backup
                ? copy_verify(p, c) : -ENOMEM;
        if (r == 0)
                r = add_steps(p, c, opts ? opts : &none);
        if (r < 0) {
                plan_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

struct plan *plan_free(struct plan *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_steps; i++)
                strv_free(p->steps[i].argv);
        free(p->nginx_config);
        free(p->nginx_backup);
        free(p->upstream);
        free(p->active_server);
        free(p->standby_server);
        free(p->db_standby);
        free(p->db_password_file);
        strv_free(p->verify_urls);
        free(p);
        return NULL;
}

static void print_verify(const struct plan *p, FILE *out) {
        if (p->db_standby)
                fprintf(out, "   wait up to %.3gs for the standby database to leave recovery\n",
                        (double) p->promote_timeout_usec / 1e6);
        for (size_t i = 0; p->verify_urls[i]; i++) {
                _cleanup_free_ char *shown = health_url_redact(p->verify_urls[i]);
                fprintf(out, "   GET %s must answer 2xx\n", shown ? shown : "?");
        }
        fprintf(out, "   (all within %.3gs)\n", (double) p->verify_timeout_usec / 1e6);
}

void plan_print(const struct plan *p, FILE *out) {
        for (size_t i = 0; i < p->n_steps; i++) {
                const struct plan_step *s = &p->steps[i];
                fprintf(out, "%zu. %s: %s\n", i + 1, s->name, s->purpose);
                if (s->action == PLAN_NGINX_WRITE)
                        fprintf(out, "   write %s (previous version kept as %s)\n", p->nginx_config, p->nginx_backup);
                else if (s->action == PLAN_PG_PROMOTE)
                        fprintf(out, "   SELECT pg_promote(false) on the standby database (timeout %.3gs)\n",
                                (double) s->timeout_usec / 1e6);
                else if (s->action == PLAN_VERIFY)
                        print_verify(p, out);
                else {
                        _cleanup_free_ char *line = spawn_argv_to_string(s->argv);
                        fprintf(out, "   run: %s   (timeout %.3gs)\n", line ? line : "?",
                                (double) s->timeout_usec / 1e6);
                }
        }
}
