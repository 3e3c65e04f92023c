/* drill: the --once --dry-run checks that touch nothing (see drill.h). */
#include "drill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failover.h"
#include "fileio.h"
#include "nginx.h"
#include "plan.h"
#include "spawn.h"
#include "util.h"

enum drill_check { DRILL_SSH, DRILL_NGINX, _DRILL_CHECK_MAX };

struct drill {
        sd_event *event;
        FILE *out;
        drill_done_fn done;
        void *userdata;
        struct plan *plan;
        struct spawn *child;
        sd_event_source *defer;
        enum drill_check current;
        unsigned failed;
        char *copy;                     /* the private copy of the rewritten site file, removed when done */
        char **nginx_argv;              /* test_command, on the copy when it names the site file */
        bool nginx_on_copy;
        const char *site;               /* the plan's copy of failover.nginx.config */
};

char **drill_argv_on_copy(char *const *test_argv, const char *site, const char *copy, bool *ret_named) {
        char **v;
        bool named = false;

        for (size_t i = 0; test_argv[i]; i++)
                named = named || strcmp(test_argv[i], site) == 0;
        *ret_named = named;
        if (!named || !(v = strv_copy(test_argv)))
                return NULL;
        for (size_t i = 0; v[i]; i++)
                if (strcmp(v[i], site) == 0) {
                        char *s = strdup(copy);
                        if (!s) {
                                strv_free(v);
                                return NULL;
                        }
                        free(v[i]);
                        v[i] = s;
                }
        return v;
}

static const struct plan_step *plan_step_named(const struct plan *p, const char *name) {
        for (size_t i = 0; i < p->n_steps; i++)
                if (strcmp(p->steps[i].name, name) == 0)
                        return &p->steps[i];
        return NULL;
}

static void say(struct drill *d, const char *check, bool ok, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void say(struct drill *d, const char *check, bool ok, const char *fmt, ...) {
        va_list ap;

        fprintf(d->out, "drill: %-10s %s ", check, ok ? "ok    " : "FAILED");
        va_start(ap, fmt);
        vfprintf(d->out, fmt, ap);
        va_end(ap);
        fputc('\n', d->out);
        if (!ok)
                d->failed++;
}

/* A failed check's output, indented, a few lines: enough to see nginx's "emerg" line or ssh's complaint. */
static void say_output(struct drill *d, const struct spawn_result *res) {
        unsigned lines = 0;

        for (const char *p = res->output, *end = p + res->output_len; p < end && lines < 8; lines++) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                int n = (int) ((nl ? nl : end) - p);
                fprintf(d->out, "drill:            | %.*s\n", n, p);
                p += n + 1;
        }
}

static void next_check(struct drill *d);

static int on_defer(sd_event_source *s, void *userdata) {
        next_check(userdata);
        return 0;
}

static void advance(struct drill *d) {
        d->current++;
        /* Never re-enter from a spawn callback: the child is freed and the next check started from the loop. */
        if (sd_event_add_defer(d->event, &d->defer, on_defer, d) < 0)
                next_check(d);
}

static void on_check_done(struct spawn *s, const struct spawn_result *res, void *userdata) {
        struct drill *d = userdata;
        char outcome[128], line[256];
        bool ok = spawn_result_ok(res);

        spawn_outcome_describe(res, outcome, sizeof outcome);
        snprintf(line, sizeof line, "%s, %.3fs", outcome, (double) res->duration_usec / 1e6);
        if (d->current == DRILL_SSH)
                say(d, "ssh_check", ok, "ssh reaches the database host (%s)", line);
        else if (d->nginx_on_copy)
                say(d, "nginx_test", ok, "test_command on a private copy of the rewritten site file (%s)", line);
        else {
                say(d, "nginx_test", ok, "test_command on the LIVE configuration (%s)", line);
                fprintf(d->out, "drill:            the rewritten file was not tested: test_command does not name %s, "
                        "so it can only test what is live (its rewrite parsed, see the diff above)\n", d->site);
        }
        if (!ok)
                say_output(d, res);
        advance(d);
}

static void run_check(struct drill *d, const char *name, char *const *argv, uint64_t timeout_usec) {
        int r = spawn_start(d->event, argv, NULL, timeout_usec, on_check_done, d, &d->child);

        if (r < 0) {
                say(d, name, false, "cannot run it: %s", strerror(-r));
                advance(d);
        }
}

/* The rewritten site file in a private temporary file: never beside the live one, where an include glob of a
 * concurrent reload could pick it up. */
static int write_copy(struct drill *d, char **ret_error) {
        _cleanup_free_ char *original = NULL, *rewritten = NULL;
        const char *tmpdir = getenv("TMPDIR");
        struct nginx_error err = {};
        size_t len, new_len;
        int fd, r;

        r = fileio_read(d->plan->nginx_config, FAILOVER_NGINX_MAX, &original, &len);
        if (r == 0)
                r = nginx_rewrite_upstream(original, len, d->plan->upstream, d->plan->active_server,
                                           d->plan->standby_server, &rewritten, &new_len, &err);
        if (r < 0)
                return *ret_error = strdup(err.message[0] ? err.message : strerror(-r)), r;
        if (asprintf(&d->copy, "%s/blfailoverd-drill-XXXXXX.conf", tmpdir && *tmpdir ? tmpdir : "/tmp") < 0) {
                d->copy = NULL;
                return -ENOMEM;
        }
        fd = mkostemps(d->copy, 5, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(d->copy);
                d->copy = NULL;
                return *ret_error = strdup(strerror(-r)), r;
        }
        r = write(fd, rewritten, new_len) == (ssize_t) new_len ? 0 : -EIO;
        close(fd);
        if (r < 0)
                *ret_error = strdup("short write");
        return r;
}

static void start_nginx_check(struct drill *d) {
        const struct plan_step *ps = plan_step_named(d->plan, "nginx_test");
        _cleanup_free_ char *error = NULL;
        int r;

        if (!ps) {
                advance(d);
                return;
        }
        d->nginx_argv = drill_argv_on_copy(ps->argv, d->site, "-", &d->nginx_on_copy);
        if (d->nginx_on_copy) {
                strv_free(d->nginx_argv);
                d->nginx_argv = NULL;
                r = write_copy(d, &error);
                if (r < 0) {
                        say(d, "nginx_test", false, "cannot prepare a copy of the rewritten site file: %s",
                            error ? error : strerror(-r));
                        advance(d);
                        return;
                }
                d->nginx_argv = drill_argv_on_copy(ps->argv, d->site, d->copy, &d->nginx_on_copy);
        } else
                d->nginx_argv = strv_copy(ps->argv);
        if (!d->nginx_argv) {
                say(d, "nginx_test", false, "%s", strerror(ENOMEM));
                advance(d);
                return;
        }
        run_check(d, "nginx_test", d->nginx_argv, ps->timeout_usec);
}

static void next_check(struct drill *d) {
        const struct plan_step *ps;

        d->child = spawn_free(d->child);
        d->defer = sd_event_source_disable_unref(d->defer);
        switch (d->current) {
        case DRILL_SSH:
                ps = plan_step_named(d->plan, "ssh_check");
                if (ps)
                        run_check(d, "ssh_check", ps->argv, ps->timeout_usec);
                else {
                        fprintf(d->out, "drill: ssh_check  skipped (promote.method pg_promote: the database gates "
                                "above reached the standby through libpq)\n");
                        advance(d);
                }
                return;
        case DRILL_NGINX:
                start_nginx_check(d);
                return;
        default:
                if (d->copy)
                        (void) unlink(d->copy);
                d->done(d, d->failed, d->userdata);
        }
}

int drill_start(sd_event *e, const struct config *c, FILE *out, drill_done_fn done, void *userdata,
                struct drill **ret) {
        struct drill *d = calloc(1, sizeof *d);
        int r;

        if (!d)
                return -ENOMEM;
        *d = (struct drill) { .event = sd_event_ref(e), .out = out, .done = done, .userdata = userdata };
        r = plan_build(c, NULL, &d->plan);
        if (r < 0) {
                drill_free(d);
                return r;
        }
        d->site = d->plan->nginx_config;
        r = sd_event_add_defer(e, &d->defer, on_defer, d);
        if (r < 0) {
                drill_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

struct drill *drill_free(struct drill *d) {
        if (!d)
                return NULL;
        spawn_free(d->child);
        sd_event_source_disable_unref(d->defer);
        if (d->copy) {
                (void) unlink(d->copy);
                free(d->copy);
        }
        strv_free(d->nginx_argv);
        plan_free(d->plan);
        sd_event_unref(d->event);
        free(d);
        return NULL;
}
