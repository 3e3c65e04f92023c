/* siteop: a site's commands expanded, the nginx file with given roles, and the old primary's way back as a standby
 * (the steps the switchover and the rejoin share). */
#include "siteop.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diff.h"
#include "fileio.h"
#include "log.h"
#include "nginx.h"
#include "spawn.h"
#include "state.h"
#include "util.h"

#define TIMELINE_POLL_USEC (100 * USEC_PER_MSEC)
#define TIMELINE_TIMEOUT_USEC (30 * USEC_PER_SEC)
#define STREAM_POLL_USEC (250 * USEC_PER_MSEC)

static const struct config_site *site(const struct siteop_pair *p, unsigned i) {
        return &p->config->sites[i];
}

/* The conninfo the other site's tools use to reach `source`, naming `target` in pg_stat_replication. */
static char *source_conninfo(const struct config *c, unsigned source, unsigned target) {
        char *s = NULL;

        if (asprintf(&s, "%s application_name=%s", c->sites[source].database.replication_conninfo,
                     c->sites[target].database.application_name) < 0)
                return NULL;
        return s;
}

char **siteop_argv(const struct config *c, unsigned i, const struct config_command *cmd, const char *role,
                   uint64_t epoch, const struct template_vars *extra, char *err, size_t err_size) {
        const struct config_site *s = &c->sites[i];
        _cleanup_free_ char *source = c->sites[!i].database.replication_conninfo ? source_conninfo(c, !i, i) : NULL;
        struct template_vars vars = {
                /* ssh's ConnectTimeout is the login's bound, not the command's (pg_rewind may take 30 min) */
                .ssh = s->database.ssh.host ? &s->database.ssh : NULL,
                .ssh_timeout_usec = cmd->timeout_usec < c->promote.timeout_usec ? cmd->timeout_usec
                                                                                 : c->promote.timeout_usec,
                .pgdata = s->database.pgdata, .bindir = s->database.bindir, .site = s->name, .role = role,
                .epoch = epoch, .source = source,
        };
        char **argv = NULL;

        if (!cmd->argv) {
                snprintf(err, err_size, "site %s has no such command configured", s->name);
                return NULL;
        }
        if (extra) {
                vars.control_path = extra->control_path;
                vars.dry_run = extra->dry_run;
                vars.tli = extra->tli;
                vars.from = extra->from;
                vars.until = extra->until;
        }
        if (template_expand(cmd->argv, &vars, &argv, err, err_size) < 0)
                return NULL;
        return argv;
}

void siteop_run(struct op *op, const struct config *c, unsigned i, const struct config_command *cmd,
                const char *role, const struct template_vars *extra, op_judge_command_fn judge) {
        char err[256];
        char **argv = siteop_argv(c, i, cmd, role, op_record(op)->epoch, extra, err, sizeof err);

        if (!argv) {
                op_step_done(op, false, -1, "%s", err);
                return;
        }
        op_run_command(op, argv, cmd->timeout_usec, judge);
}

void siteop_print_argv(FILE *out, const struct config *c, unsigned i, const struct config_command *cmd,
                       const char *role, const struct template_vars *extra) {
        char err[256];
        char **argv = cmd->argv ? siteop_argv(c, i, cmd, role, 0, extra, err, sizeof err) : NULL;
        _cleanup_free_ char *line = argv ? spawn_argv_to_string(argv) : NULL;

        if (!cmd->argv)
                fprintf(out, "      (not configured: skipped)\n");
        else if (!argv)
                fprintf(out, "      cannot expand: %s\n", err);
        else
                fprintf(out, "      $ %s   (timeout %.0fs)\n", line ? line : argv[0], (double) cmd->timeout_usec / 1e6);
        strv_free(argv);
}

/* ---- nginx ---------------------------------------------------------------------------------------------- */

char *siteop_nginx_backup_path(const struct config *c) {
        char *p = NULL;

        return asprintf(&p, "%s.blfailoverd.bak", c->nginx.config) < 0 ? NULL : p;
}

int siteop_nginx_bytes(const struct config *c, unsigned serving, unsigned standby, char **ret_current,
                       size_t *ret_current_len, char **ret_new, size_t *ret_len, char *detail, size_t size) {
        struct nginx_error err = {};
        int r;

        r = fileio_read(c->nginx.config, SITEOP_NGINX_MAX, ret_current, ret_current_len);
        if (r < 0) {
                snprintf(detail, size, "cannot read %s: %s", c->nginx.config, strerror(-r));
                return r;
        }
        r = nginx_set_roles(*ret_current, *ret_current_len, c->nginx.upstream, c->sites[serving].nginx_server,
                            c->sites[standby].nginx_server, NGINX_STANDBY_BACKUP, ret_new, ret_len, &err);
        if (r < 0) {
                snprintf(detail, size, "%s:%u:%u: %s", c->nginx.config, err.line, err.col, err.message);
                free(*ret_current);
                *ret_current = NULL;
        }
        return r;
}

int siteop_nginx_write(const struct config *c, unsigned serving, unsigned standby, char **ret_original,
                       size_t *ret_original_len, char *detail, size_t size) {
        _cleanup_free_ char *current = NULL, *rewritten = NULL, *backup = siteop_nginx_backup_path(c);
        size_t current_len = 0, len = 0;
        int r;

        if (!backup) {
                snprintf(detail, size, "out of memory");
                return -ENOMEM;
        }
        r = siteop_nginx_bytes(c, serving, standby, &current, &current_len, &rewritten, &len, detail, size);
        if (r < 0)
                return r;
        if (len == current_len && memcmp(current, rewritten, len) == 0) {
                snprintf(detail, size, "%s already has %s serving and %s as backup", c->nginx.config,
                         c->sites[serving].nginx_server, c->sites[standby].nginx_server);
                return 0;
        }
        r = fileio_write_atomic(backup, current, current_len, 0600);
        if (r == 0)
                r = fileio_write_atomic(c->nginx.config, rewritten, len, 0644);
        if (r < 0) {
                snprintf(detail, size, "cannot write %s or its backup %s: %s", c->nginx.config, backup, strerror(-r));
                return r;
        }
        snprintf(detail, size, "wrote %s: %s serves, %s backup (previous version in %s)", c->nginx.config,
                 c->sites[serving].nginx_server, c->sites[standby].nginx_server, backup);
        *ret_original = current;
        *ret_original_len = current_len;
        current = NULL;
        return 1;
}

int siteop_nginx_restore(const struct config *c, const char *original, size_t len, char *detail, size_t size) {
        int r = fileio_write_atomic(c->nginx.config, original, len, 0644);

        if (r < 0)
                snprintf(detail, size, "cannot restore %s: %s; its previous content is in %s.blfailoverd.bak: copy it "
                         "back by hand", c->nginx.config, strerror(-r), c->nginx.config);
        else
                snprintf(detail, size, "restored %s byte for byte (nginx was not reloaded)", c->nginx.config);
        return r;
}

int siteop_print_nginx_change(FILE *out, const struct config *c, unsigned serving, unsigned standby,
                              const char *what) {
        _cleanup_free_ char *current = NULL, *rewritten = NULL;
        size_t current_len = 0, len = 0;
        char detail[512];
        int r = siteop_nginx_bytes(c, serving, standby, &current, &current_len, &rewritten, &len, detail,
                                   sizeof detail);

        if (r < 0) {
                log_error("%s: dry run: %s", what, detail);
                return r;
        }
        fprintf(out, "\nChange to %s:\n", c->nginx.config);
        if (diff_unified(current, current_len, rewritten, len, c->nginx.config, c->nginx.config, out) == 0)
                fprintf(out, "(none)\n");
        return 0;
}

int siteop_pair_set_control_paths(struct siteop_pair *p, const char *const paths[CONFIG_SITES]) {
        for (unsigned i = 0; i < CONFIG_SITES; i++)
                if (paths[i] && !(p->control_path[i] = strdup(paths[i])))
                        return -ENOMEM;
        return 0;
}

void siteop_pair_done(struct siteop_pair *p) {
        for (unsigned i = 0; i < CONFIG_SITES; i++)
        {
                free(p->control_path[i]);
                p->control_path[i] = NULL;
        }
}

/* ---- new_checkpoint ------------------------------------------------------------------------------------- */

static int check_new_timeline(struct op *op, void *ctx, const struct db_result *r, char *detail, size_t size) {
        struct siteop_pair *p = ctx;

        (void) op;
        snprintf(detail, size, "%s's pg_control timeline %s, its WAL's timeline %s", site(p, p->source)->name,
                 r->values[0] ? r->values[0] : "?", r->values[1] ? r->values[1] : "?");
        return r->values[0] && r->values[1] && strcmp(r->values[0], r->values[1]) == 0 ? 1 : 0;
}

static void judge_new_checkpoint(struct op *op, void *ctx, const struct db_result *r) {
        struct siteop_pair *p = ctx;

        if (r->error < 0) {
                op_step_done(op, false, -1, "CHECKPOINT on %s failed: %s", site(p, p->source)->name, r->message);
                return;
        }
        /* pg_rewind reads the source's timeline from its pg_control: only a checkpoint after the promotion puts the
         * new one there (pg_rewind <= 15 would otherwise say "no rewind required" for a diverged target). */
        op_poll_sql(op, site(p, p->source)->database.conninfo, p->config->database.password_file,
                    p->config->database.connect_timeout_usec,
                    "SELECT timeline_id::text, ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))"
                    "::bit(32)::int::text FROM pg_control_checkpoint()", TIMELINE_POLL_USEC,
                    now_monotonic_usec() + TIMELINE_TIMEOUT_USEC, check_new_timeline);
}

void siteop_step_new_checkpoint(struct op *op, void *ctx) {
        struct siteop_pair *p = ctx;

        op_run_sql(op, site(p, p->source)->database.conninfo, p->config->database.password_file,
                   p->config->database.promote_timeout_usec, "CHECKPOINT", judge_new_checkpoint);
}

/* ---- rewind --------------------------------------------------------------------------------------------- */

static void rewind_failed(struct op *op, struct siteop_pair *p, const struct spawn_result *res,
                          const struct pgtext_rewind *rw) {
        char outcome[128];

        spawn_outcome_describe(res, outcome, sizeof outcome);
        if (rw->rewinding_started && p->reclone_fallback) {
                /* Past pg_rewind's point of no return the data directory is unusable: only a copy helps. */
                p->reclone = true;
                state_fact_set(op_record(op), "rewind", "broke");
                op_say(op, true, "pg_rewind failed (%s) after it started rewriting %s: re-cloning it instead "
                       "(rejoin.reclone)", outcome, site(p, p->target)->name);
                op_step_done(op, true, res->outcome == SPAWN_EXITED ? res->exit_code : -1,
                             "pg_rewind: %s after it started; re-clone follows", outcome);
                return;
        }
        op_step_done(op, false, res->outcome == SPAWN_EXITED ? res->exit_code : -1, "pg_rewind: %s%s", outcome,
                     rw->rewinding_started ? "; it had started rewriting: the data directory is unusable, re-clone "
                     "with blfailoverd --rejoin --reclone" : "");
}

static void judge_rewind(struct op *op, void *ctx, const struct spawn_result *res) {
        struct siteop_pair *p = ctx;
        struct pgtext_rewind rw = {};
        char lsn[PGTEXT_LSN_MAX], want[PGTEXT_LSN_MAX];

        if (pgtext_rewind(res->output, res->output_len, &rw) < 0 || !spawn_result_ok(res)) {
                rewind_failed(op, p, res, &rw);
                return;
        }
        switch (rw.verdict) {
        case PGTEXT_REWIND_NOT_REQUIRED:
                state_fact_set(op_record(op), "rewind", "no_rewind_required");
                op_step_done(op, true, 0, "no rewind required (nothing to discard); standby config written");
                return;
        case PGTEXT_REWIND_DIVERGED:
                pgtext_format_lsn(rw.fork_lsn, lsn);
                state_fact_set(op_record(op), "rewind", "diverged %s", lsn);
                if (p->fork_known && p->fork_lsn != rw.fork_lsn)
                        op_say(op, true, "pg_rewind forked at %s, its dry run said %s: the report above is off",
                               lsn, pgtext_format_lsn(p->fork_lsn, want));
                else if (!p->fork_known)
                        op_say(op, true, "%s had WAL past the fork at %s that %s never replayed: it was rewound away",
                               site(p, p->target)->name, lsn, site(p, p->source)->name);
                p->fork_known = true;
                p->fork_lsn = rw.fork_lsn;
                p->fork_timeline = rw.fork_timeline;
                op_step_done(op, true, 0, "rewound from the fork at %s on timeline %u; standby config written", lsn,
                             rw.fork_timeline);
                return;
        default:
                op_step_done(op, false, 0, "pg_rewind exited 0 without saying what it did: refusing to start %s",
                             site(p, p->target)->name);
        }
}

void siteop_step_rewind(struct op *op, void *ctx) {
        struct siteop_pair *p = ctx;

        if (p->reclone) {
                op_step_done(op, true, -1, "skipped: %s is re-cloned instead", site(p, p->target)->name);
                return;
        }
        siteop_run(op, p->config, p->target, &site(p, p->target)->database.commands.rewind, "standby",
                   &(struct template_vars) { .control_path = p->control_path[p->target] }, judge_rewind);
}

/* ---- start, streaming, stack ---------------------------------------------------------------------------- */

static void judge_status_then_start(struct op *op, void *ctx, const struct spawn_result *res) {
        struct siteop_pair *p = ctx;

        /* pg_ctl status: 0 running (a resumed step that had started it), 3 not running. */
        if (spawn_result_ok(res)) {
                op_step_done(op, true, 0, "%s's database is already running", site(p, p->target)->name);
                return;
        }
        siteop_run(op, p->config, p->target, &site(p, p->target)->database.commands.start, "standby",
                   &(struct template_vars) { .control_path = p->control_path[p->target] }, NULL);
}

void siteop_step_start_target(struct op *op, void *ctx) {
        struct siteop_pair *p = ctx;

        siteop_run(op, p->config, p->target, &site(p, p->target)->database.commands.status, "standby",
                   &(struct template_vars) { .control_path = p->control_path[p->target] }, judge_status_then_start);
}

static int check_streaming(struct op *op, void *ctx, const struct db_result *r, char *detail, size_t size) {
        struct siteop_pair *p = ctx;
        uint64_t lag = r->values[1] ? strtoull(r->values[1], NULL, 10) : UINT64_MAX;

        (void) op;
        snprintf(detail, size, "%s sees %s %s, %s bytes behind (rejoin.max_lag_bytes %" PRIu64 ")",
                 site(p, p->source)->name, site(p, p->target)->name, r->values[0] ? r->values[0] : "not connected",
                 r->values[1] ? r->values[1] : "?", p->config->rejoin.max_lag_bytes);
        return r->values[0] && strcmp(r->values[0], "streaming") == 0 && lag <= p->config->rejoin.max_lag_bytes;
}

void siteop_step_streaming(struct op *op, void *ctx) {
        struct siteop_pair *p = ctx;
        const char *app = site(p, p->target)->database.application_name;
        _cleanup_free_ char *sql = NULL;

        if (asprintf(&sql, "SELECT (SELECT state FROM pg_stat_replication WHERE application_name = '%s' "
                     "ORDER BY backend_start DESC LIMIT 1), (SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)"
                     "::bigint FROM pg_stat_replication WHERE application_name = '%s' ORDER BY backend_start DESC "
                     "LIMIT 1)", app, app) < 0) {
                op_step_done(op, false, -1, "out of memory");
                return;
        }
        op_poll_sql(op, site(p, p->source)->database.conninfo, p->config->database.password_file,
                    p->config->database.connect_timeout_usec, sql, STREAM_POLL_USEC,
                    now_monotonic_usec() + p->stream_timeout_usec, check_streaming);
}

void siteop_step_stack_start_target(struct op *op, void *ctx) {
        struct siteop_pair *p = ctx;

        if (!site(p, p->target)->stack_start.argv) {
                op_step_done(op, true, -1, "skipped: %s has no stack.start", site(p, p->target)->name);
                return;
        }
        siteop_run(op, p->config, p->target, &site(p, p->target)->stack_start, "standby",
                   &(struct template_vars) { .control_path = p->control_path[p->target] }, NULL);
}
