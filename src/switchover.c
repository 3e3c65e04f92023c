/* switchover: the planned role change, top to bottom. O is the old primary (serving now), N the new one.
 *
 *   checklist (refuses, changes nothing): O's and N's /health answer; O is a primary and N streams from it with
 *       replay lag within switchover.max_lag; N is in recovery.
 *   prepare:   nginx_write (N serves, O backup), nginx_test            — undone byte for byte
 *   drain:     checkpoint (on O: a short shutdown checkpoint later), stack_stop (O's stack: writes stop)
 *   hand over: stop_old (clean fast stop: the walsender ships everything to N), controldata (proves the stop was
 *              clean; L = O's final checkpoint), catch_up (N replayed past L: it holds every commit O acknowledged)
 *   promote:   promote (N leaves recovery)                               — the point of no return
 *   switch:    switch (nginx reload), stack_start_new
 *   rejoin O:  new_checkpoint (pg_rewind reads N's timeline from pg_control), rewind (-R: "no rewind required"
 *              after a clean hand over; writes O's standby config), start_old, streaming, stack_start_old
 *   done:      latch none, in the same record write as the outcome
 * A failure before the promotion puts back: O started, O's stack started, the nginx file restored. After it, the
 * record is latched "switchover" and --rejoin finishes the O side. */
#include "switchover.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "exitcode.h"
#include "fileio.h"
#include "log.h"
#include "nginx.h"
#include "op.h"
#include "pgtext.h"
#include "siteop.h"
#include "template.h"
#include "util.h"

#define CATCH_UP_INTERVAL_USEC (10 * USEC_PER_MSEC)
#define PROMOTE_POLL_USEC (10 * USEC_PER_MSEC)
#define CHECK_REPLICATION_INTERVAL_USEC (100 * USEC_PER_MSEC)
#define CHECK_REPLICATION_USEC (2 * USEC_PER_SEC)    /* a standby reconnecting, or a lag not measured yet */
#define OLD_WRITABLE_POLL_USEC (250 * USEC_PER_MSEC)
#define STEP_GUARD_USEC (7 * 3600 * USEC_PER_SEC)     /* above every configurable timeout: a bug guard only */

/* The steps, in their order: the journal names them by the table's strings, the code by these. */
enum sw_step {
        SW_CHECK_OLD_API,
        SW_CHECK_NEW_API,
        SW_CHECK_REPLICATION,
        SW_CHECK_NEW_STANDBY,
        SW_CHECK_REWINDABLE,
        SW_NGINX_WRITE,
        SW_NGINX_TEST,
        SW_CHECKPOINT,
        SW_STACK_STOP,
        SW_STOP_OLD_PRIMARY,
        SW_CONTROLDATA,
        SW_CATCH_UP,
        SW_PROMOTE,
        SW_SWITCH,
        SW_STACK_START_NEW,
        SW_NEW_CHECKPOINT,
        SW_REWIND,
        SW_START_OLD,
        SW_STREAMING,
        SW_STACK_START_OLD,
        SW_DONE,
        _SW_STEP_MAX,
};

static const struct op_step steps[_SW_STEP_MAX];

struct switchover {
        struct siteop_pair pair;                /* first: the shared O-side steps (siteop.h) take this context */
        const struct config *config;
        unsigned o, n;                          /* site indexes: old primary, new primary */
        struct op *op;
        struct pgtext_controldata old_cd;       /* O after the clean stop */
        char *nginx_original;                   /* the site file before nginx_write, for the put back */
        size_t nginx_original_len;
        bool nginx_written;
        bool drill;                             /* --switchover --drill: the checks only */
        bool check_failed;                      /* a drill check could not run (ssh, pg_controldata): exit 1 */
        switchover_done_fn done;
        void *userdata;
};

static const struct config_site *site(const struct switchover *sw, unsigned i) {
        return &sw->config->sites[i];
}

static const char *password_file(const struct switchover *sw) {
        return sw->config->database.password_file;
}

static uint64_t connect_timeout(const struct switchover *sw) {
        return sw->config->database.connect_timeout_usec;
}

static void run_site_command(struct op *op, struct switchover *sw, unsigned i, const struct config_command *cmd,
                             const char *role, op_judge_command_fn judge) {
        struct template_vars extra = { .control_path = sw->pair.control_path[i] };

        siteop_run(op, sw->config, i, cmd, role, &extra, judge);
}

/* ---- checklist ------------------------------------------------------------------------------------------ */

static void judge_health(struct op *op, void *ctx, const struct health_result *r) {
        (void) ctx;
        if (r->status == HEALTH_OK)
                op_step_done(op, true, -1, "HTTP %ld in %.3fs", r->http_code, (double) r->latency_usec / 1e6);
        else
                op_step_done(op, false, -1, "%s%s%s (HTTP %ld): a switchover needs both APIs healthy",
                             health_status_to_string(r->status), r->error[0] ? ": " : "", r->error, r->http_code);
}

static void run_check_old_api(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        op_http_get(op, site(sw, sw->o)->health_url, sw->config->health.timeout_usec, sw->config->health.expect_body,
                    judge_health);
}

static void run_check_new_api(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        op_http_get(op, site(sw, sw->n)->health_url, sw->config->health.timeout_usec, sw->config->health.expect_body,
                    judge_health);
}

/* On O: is it a primary, and how far behind is N (found by its application_name)? */
static char *replication_sql(const char *application_name) {
        char *sql = NULL;

        if (asprintf(&sql, "SELECT pg_is_in_recovery(), r.state, "
                     "CASE WHEN pg_is_in_recovery() THEN NULL "
                     "ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint END, "
                     "extract(epoch FROM r.replay_lag)::float8, (SELECT count(*) FROM pg_stat_replication "
                     "WHERE application_name = '%s') "
                     "FROM (SELECT 1) one LEFT JOIN (SELECT * FROM pg_stat_replication WHERE application_name = '%s' "
                     "ORDER BY backend_start DESC LIMIT 1) r ON true", application_name, application_name) < 0)
                return NULL;
        return sql;
}

/* 1: within bounds; 0: not yet (asked again until CHECK_REPLICATION_USEC); -1: refused at once. */
static int check_replication(struct op *op, void *ctx, const struct db_result *r, char *detail, size_t size) {
        struct switchover *sw = ctx;
        const char *app = site(sw, sw->n)->database.application_name;
        double max_lag = (double) sw->config->switchover.max_lag_usec / 1e6, lag_s = -1;
        bool in_recovery = true;
        uint64_t lag_bytes = 0;

        (void) op;
        if (db_parse_bool(r->values[0], &in_recovery) < 0 || in_recovery) {
                snprintf(detail, size, "%s is in recovery: it is not the primary the record says serves",
                         site(sw, sw->o)->name);
                return -1;
        }
        if (!r->values[1] || strcmp(r->values[1], "streaming") != 0) {
                snprintf(detail, size, "%s shows no streaming standby with application_name '%s' (state %s): %s must "
                         "stream from %s before a switchover", site(sw, sw->o)->name, app,
                         r->values[1] ? r->values[1] : "none", site(sw, sw->n)->name, site(sw, sw->o)->name);
                return 0;
        }
        if (r->values[2])
                lag_bytes = strtoull(r->values[2], NULL, 10);
        if (r->values[3])
                lag_s = strtod(r->values[3], NULL);
        /* replay_lag is NULL while PostgreSQL has no fresh measure: idle and caught up (0 bytes: fine), or the first
         * writes after an idle spell, before the standby's next feedback — asked again, not refused. */
        if (lag_bytes > 0 && (lag_s < 0 || lag_s > max_lag)) {
                snprintf(detail, size, "%s replays %" PRIu64 " bytes behind %s, replay lag %s%.3fs (switchover.max_lag "
                         "%.3fs): wait for it to catch up", site(sw, sw->n)->name, lag_bytes, site(sw, sw->o)->name,
                         lag_s < 0 ? "unknown " : "", lag_s < 0 ? 0 : lag_s, max_lag);
                return 0;
        }
        snprintf(detail, size, "%s primary; %s streaming from it, %" PRIu64 " bytes behind, replay lag %.3fs (max "
                 "%.3fs)", site(sw, sw->o)->name, site(sw, sw->n)->name, lag_bytes, lag_s < 0 ? 0 : lag_s, max_lag);
        return 1;
}

static void run_check_replication(struct op *op, void *ctx) {
        struct switchover *sw = ctx;
        _cleanup_free_ char *sql = replication_sql(site(sw, sw->n)->database.application_name);

        if (!sql) {
                op_step_done(op, false, -1, "out of memory");
                return;
        }
        op_poll_sql(op, site(sw, sw->o)->database.conninfo, password_file(sw), connect_timeout(sw), sql,
                    CHECK_REPLICATION_INTERVAL_USEC, now_monotonic_usec() + CHECK_REPLICATION_USEC, check_replication);
}

static void judge_new_standby(struct op *op, void *ctx, const struct db_result *r) {
        struct switchover *sw = ctx;
        bool in_recovery = false;

        if (r->error < 0)
                op_step_done(op, false, -1, "cannot ask %s: %s", site(sw, sw->n)->name, r->message);
        else if (db_parse_bool(r->values[0], &in_recovery) < 0 || !in_recovery)
                op_step_done(op, false, -1, "%s is not in recovery: two primaries? Nothing was changed; look at both "
                             "databases", site(sw, sw->n)->name);
        else if (!r->values[4] || strcmp(r->values[4], "streaming") != 0)
                op_step_done(op, false, -1, "%s's WAL receiver is %s, not streaming", site(sw, sw->n)->name,
                             r->values[4] ? r->values[4] : "not running");
        else
                op_step_done(op, true, -1, "%s in recovery, receiving up to %s, replayed up to %s",
                             site(sw, sw->n)->name, r->values[1] ? r->values[1] : "?", r->values[2] ? r->values[2] : "?");
}

static void run_check_new_standby(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        op_run_sql(op, site(sw, sw->n)->database.conninfo, password_file(sw), connect_timeout(sw),
                   DB_SQL_STANDBY_STATUS, judge_new_standby);
}

/* pg_rewind refuses a target without wal_log_hints or data checksums even when it has nothing to rewind: a site
 * that lacks both would fail the switchover after its promotion, so it is refused here, while nothing changed. */
static void judge_rewindable(struct op *op, void *ctx, const struct spawn_result *res, unsigned i) {
        struct switchover *sw = ctx;
        struct pgtext_controldata cd;
        char outcome[128];
        unsigned line = 0;
        int r;

        if (!spawn_result_ok(res)) {
                sw->check_failed = true;
                op_step_done(op, false, res->outcome == SPAWN_EXITED ? res->exit_code : -1, "%s's pg_controldata: %s",
                             site(sw, i)->name, spawn_outcome_describe(res, outcome, sizeof outcome));
                return;
        }
        r = pgtext_controldata(res->output, res->output_len, &cd, &line);
        if (r < 0) {
                sw->check_failed = true;
                op_step_done(op, false, 0, "cannot read %s's pg_controldata output%s", site(sw, i)->name,
                             r == -EPROTO ? ": it is translated, run it with LC_ALL=C" : "");
                return;
        }
        if (!pgtext_controldata_rewindable(&cd)) {
                op_step_done(op, false, 0, "%s has neither wal_log_hints = on nor data checksums: pg_rewind could not "
                             "make it a standby afterwards. Set wal_log_hints = on on both databases (a restart)",
                             site(sw, i)->name);
                return;
        }
        op_step_done(op, true, 0, "%s: %s, %s", site(sw, i)->name, cd.cluster_state,
                     cd.wal_log_hints ? "wal_log_hints on" : "data checksums on");
}

static void judge_old_rewindable(struct op *op, void *ctx, const struct spawn_result *res) {
        judge_rewindable(op, ctx, res, ((struct switchover *) ctx)->o);
}

static void judge_new_rewindable(struct op *op, void *ctx, const struct spawn_result *res) {
        judge_rewindable(op, ctx, res, ((struct switchover *) ctx)->n);
}

static void run_check_rewindable(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        run_site_command(op, sw, sw->o, &site(sw, sw->o)->database.commands.controldata, "active",
                         judge_old_rewindable);
}

/* The drill's: the other site is the target of the next switchover (the failback). */
static void run_drill_new_rewindable(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        run_site_command(op, sw, sw->n, &site(sw, sw->n)->database.commands.controldata, "standby",
                         judge_new_rewindable);
}

static void run_drill_nginx(struct op *op, void *ctx) {
        struct switchover *sw = ctx;
        _cleanup_free_ char *current = NULL, *rewritten = NULL;
        size_t current_len = 0, len = 0;
        char detail[512];

        if (siteop_nginx_bytes(sw->config, sw->n, sw->o, &current, &current_len, &rewritten, &len, detail,
                               sizeof detail) < 0) {
                sw->check_failed = true;
                op_step_done(op, false, -1, "%s", detail);
                return;
        }
        op_step_done(op, true, -1, "%s: the upstream can be rewritten (%s serves, %s backup; not written, not tested)",
                     sw->config->nginx.config, site(sw, sw->n)->nginx_server, site(sw, sw->o)->nginx_server);
}

/* ---- prepare: the nginx file ---------------------------------------------------------------------------- */

static void run_nginx_write(struct op *op, void *ctx) {
        struct switchover *sw = ctx;
        char *original = NULL;
        size_t original_len = 0;
        char detail[512];
        int r;

        /* A pair's first operation: the record names who serves from its first write on (a put back keeps it). */
        if (!op_record(op)->serving[0]) {
                snprintf(op_record(op)->serving, sizeof op_record(op)->serving, "%s", site(sw, sw->o)->name);
                snprintf(op_record(op)->standby, sizeof op_record(op)->standby, "%s", site(sw, sw->n)->name);
        }
        r = siteop_nginx_write(sw->config, sw->n, sw->o, &original, &original_len, detail, sizeof detail);
        if (r > 0) {
                free(sw->nginx_original);
                sw->nginx_original = original;
                sw->nginx_original_len = original_len;
                sw->nginx_written = true;
        }
        op_step_done(op, r >= 0, -1, "%s", detail);
}

static void run_nginx_test(struct op *op, void *ctx) {
        struct switchover *sw = ctx;
        char **argv = strv_copy(sw->config->nginx.test_command.argv);

        op_run_command(op, argv, sw->config->nginx.test_command.timeout_usec, NULL);
}

/* ---- drain and hand over -------------------------------------------------------------------------------- */

static void judge_checkpoint(struct op *op, void *ctx, const struct db_result *r) {
        (void) ctx;
        if (r->error < 0)
                op_step_done(op, false, -1, "CHECKPOINT failed: %s", r->message);
        else
                op_step_done(op, true, -1, "CHECKPOINT done in %.3fs", (double) r->duration_usec / 1e6);
}

static void run_checkpoint(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        if (!sw->config->switchover.checkpoint) {
                op_step_done(op, true, -1, "skipped (switchover.checkpoint: false)");
                return;
        }
        op_run_sql(op, site(sw, sw->o)->database.conninfo, password_file(sw), sw->config->database.promote_timeout_usec,
                   "CHECKPOINT", judge_checkpoint);
}

static void run_stack_stop(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        if (!site(sw, sw->o)->stack_stop.argv) {
                op_step_done(op, true, -1, "skipped: %s has no stack.stop", site(sw, sw->o)->name);
                return;
        }
        run_site_command(op, sw, sw->o, &site(sw, sw->o)->stack_stop, "active", NULL);
}

static void run_stop_old(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        run_site_command(op, sw, sw->o, &site(sw, sw->o)->database.commands.stop, "active", NULL);
}

static void judge_controldata(struct op *op, void *ctx, const struct spawn_result *res) {
        struct switchover *sw = ctx;
        struct pgtext_controldata *cd = &sw->old_cd;
        char lsn[PGTEXT_LSN_MAX], outcome[128];
        unsigned line = 0;
        int r;

        if (!spawn_result_ok(res)) {
                op_step_done(op, false, res->outcome == SPAWN_EXITED ? res->exit_code : -1, "pg_controldata: %s",
                             spawn_outcome_describe(res, outcome, sizeof outcome));
                return;
        }
        r = pgtext_controldata(res->output, res->output_len, cd, &line);
        if (r == -EPROTO) {
                op_step_done(op, false, 0, "pg_controldata's output is translated: run it with LC_ALL=C");
                return;
        }
        if (r < 0) {
                op_step_done(op, false, 0, "cannot read pg_controldata's output (line %u)", line);
                return;
        }
        if (!pgtext_controldata_clean_primary(cd)) {
                op_step_done(op, false, 0, "%s's cluster state is \"%s\", not \"shut down\": the stop was not clean, "
                             "so the hand over of its WAL is not proven", site(sw, sw->o)->name, cd->cluster_state);
                return;
        }
        pgtext_format_lsn(cd->checkpoint_lsn, lsn);
        state_fact_set(op_record(op), "old_checkpoint_lsn", "%s", lsn);
        state_fact_set(op_record(op), "old_timeline", "%u", cd->timeline);
        op_step_done(op, true, 0, "%s shut down cleanly; its last checkpoint is at %s on timeline %u",
                     site(sw, sw->o)->name, lsn, cd->timeline);
}

static void run_controldata(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        run_site_command(op, sw, sw->o, &site(sw, sw->o)->database.commands.controldata, "active", judge_controldata);
}

static int check_caught_up(struct op *op, void *ctx, const struct db_result *r, char *detail, size_t size) {
        struct switchover *sw = ctx;
        char want[PGTEXT_LSN_MAX];
        uint64_t replayed = 0;
        bool in_recovery = false;

        pgtext_format_lsn(sw->old_cd.checkpoint_lsn, want);
        if (db_parse_bool(r->values[0], &in_recovery) < 0 || !in_recovery) {
                snprintf(detail, size, "%s is not in recovery any more: refusing to go on", site(sw, sw->n)->name);
                return -1;
        }
        if (db_parse_lsn(r->values[1], &replayed) < 0) {
                snprintf(detail, size, "%s has replayed nothing yet", site(sw, sw->n)->name);
                return 0;
        }
        /* The replay position is the end of the last record replayed: past L means the checkpoint at L itself. */
        snprintf(detail, size, "%s replayed up to %s; %s's final checkpoint is at %s", site(sw, sw->n)->name,
                 r->values[1], site(sw, sw->o)->name, want);
        return replayed > sw->old_cd.checkpoint_lsn ? 1 : 0;
}

static void run_catch_up(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        op_poll_sql(op, site(sw, sw->n)->database.conninfo, password_file(sw), connect_timeout(sw),
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text", CATCH_UP_INTERVAL_USEC,
                    now_monotonic_usec() + sw->config->switchover.catch_up_timeout_usec, check_caught_up);
}

/* ---- promote: the point of no return -------------------------------------------------------------------- */

static int check_promoted(struct op *op, void *ctx, const struct db_result *r, char *detail, size_t size) {
        struct switchover *sw = ctx;
        struct state *rec = op_record(op);
        bool in_recovery = true;

        if (db_parse_bool(r->values[0], &in_recovery) < 0 || in_recovery) {
                snprintf(detail, size, "%s is still in recovery", site(sw, sw->n)->name);
                return 0;
        }
        /* Saved with this step's "ok": from here the record says N serves, and is latched until the O side is done. */
        snprintf(rec->serving, sizeof rec->serving, "%s", site(sw, sw->n)->name);
        snprintf(rec->standby, sizeof rec->standby, "%s", site(sw, sw->o)->name);
        rec->epoch++;
        rec->latch = STATE_LATCH_SWITCHOVER;
        snprintf(detail, size, "%s left recovery: it is the primary (epoch %" PRIu64 ")", site(sw, sw->n)->name,
                 rec->epoch);
        return 1;
}

static void promote_poll(struct op *op, struct switchover *sw) {
        op_poll_sql(op, site(sw, sw->n)->database.conninfo, password_file(sw), connect_timeout(sw), DB_SQL_IN_RECOVERY,
                    PROMOTE_POLL_USEC, now_monotonic_usec() + sw->config->database.promote_timeout_usec,
                    check_promoted);
}

static void judge_promote(struct op *op, void *ctx, const struct db_result *r) {
        struct switchover *sw = ctx;

        /* Refused at connect: nothing was sent, N is untouched. Any other error: the request may have arrived, so
         * only N's own answer tells — wait for it to leave recovery, or put back when it does not. */
        if (r->error == -ECONNREFUSED) {
                op_step_done(op, false, -1, "pg_promote() not sent: %s", r->message);
                return;
        }
        if (r->error < 0)
                op_say(op, true, "pg_promote() answered %s; watching whether %s leaves recovery", r->message,
                       site(sw, sw->n)->name);
        promote_poll(op, sw);
}

static void judge_promote_command(struct op *op, void *ctx, const struct spawn_result *res) {
        struct switchover *sw = ctx;
        char outcome[128];

        /* Whatever it said, only the new primary's own answer tells whether it left recovery. */
        if (!spawn_result_ok(res))
                op_say(op, true, "commands.promote: %s; watching whether %s leaves recovery",
                       spawn_outcome_describe(res, outcome, sizeof outcome), site(sw, sw->n)->name);
        promote_poll(op, sw);
}

static void run_promote(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        if (site(sw, sw->n)->database.commands.promote.argv) {
                run_site_command(op, sw, sw->n, &site(sw, sw->n)->database.commands.promote, "active",
                                 judge_promote_command);
                return;
        }

        op_run_sql(op, site(sw, sw->n)->database.conninfo, password_file(sw), sw->config->database.promote_timeout_usec,
                   DB_SQL_PROMOTE, judge_promote);
}

/* ---- switch and rejoin the old primary ------------------------------------------------------------------ */

static void run_switch(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        op_run_command(op, strv_copy(sw->config->nginx.reload_command.argv), sw->config->nginx.reload_command.timeout_usec,
                       NULL);
}

static void run_stack_start_new(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        if (!site(sw, sw->n)->stack_start.argv) {
                op_step_done(op, true, -1, "skipped: %s has no stack.start", site(sw, sw->n)->name);
                return;
        }
        run_site_command(op, sw, sw->n, &site(sw, sw->n)->stack_start, "active", NULL);
}

static void run_done(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        op_record(op)->latch = STATE_LATCH_NONE;
        op_step_done(op, true, -1, "%s serves, %s streams from it: armed for a failover %s → %s",
                     site(sw, sw->n)->name, site(sw, sw->o)->name, site(sw, sw->n)->name, site(sw, sw->o)->name);
}

/* ---- put back (before the promotion) -------------------------------------------------------------------- */

/* The promotion was tried (sent, or its answer lost): the old primary may start again only while the standby is
 * seen in recovery, or there would be two primaries. Unreachable is not "in recovery". */
static bool promotion_attempted(const struct op *op) {
        const struct state *rec = op_record((struct op *) op);

        for (size_t i = 0; i < rec->n_steps; i++)
                if (strcmp(rec->steps[i].name, steps[SW_PROMOTE].name) == 0)
                        return rec->steps[i].status != STATE_STEP_PENDING;
        return false;
}

static void judge_new_still_standby(struct op *op, void *ctx, const struct db_result *r) {
        struct switchover *sw = ctx;
        bool in_recovery = false;

        if (r->error == 0 && db_parse_bool(r->values[0], &in_recovery) == 0 && in_recovery) {
                op_step_done(op, true, -1, "%s is still in recovery: the promotion did not take", site(sw, sw->n)->name);
                return;
        }
        op_step_done(op, false, -1, "%s %s: starting %s beside it could make two primaries, so nothing more is put back "
                     "(latch switchover). Look at both databases: if %s is the primary, finish with --rejoin",
                     site(sw, sw->n)->name, r->error < 0 ? "cannot be asked whether it left recovery" : "left recovery",
                     site(sw, sw->o)->name, site(sw, sw->n)->name);
}

static void run_pb_check_new(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        if (!promotion_attempted(op)) {
                op_step_done(op, true, -1, "the promotion was never tried: %s is untouched", site(sw, sw->n)->name);
                return;
        }
        op_run_sql(op, site(sw, sw->n)->database.conninfo, password_file(sw), connect_timeout(sw), DB_SQL_IN_RECOVERY,
                   judge_new_still_standby);
}

/* Running is not enough: a fast shutdown that timed out may still be under way; the put back holds only once the
 * old primary takes writes again. */
static int check_old_writable(struct op *op, void *ctx, const struct db_result *r, char *detail, size_t size) {
        struct switchover *sw = ctx;
        bool in_recovery = true;

        (void) op;
        if (db_parse_bool(r->values[0], &in_recovery) < 0 || in_recovery) {
                snprintf(detail, size, "%s answers, in recovery", site(sw, sw->o)->name);
                return 0;
        }
        snprintf(detail, size, "%s runs and takes writes", site(sw, sw->o)->name);
        return 1;
}

static void old_writable_poll(struct op *op, struct switchover *sw) {
        op_poll_sql(op, site(sw, sw->o)->database.conninfo, password_file(sw), connect_timeout(sw), DB_SQL_IN_RECOVERY,
                    OLD_WRITABLE_POLL_USEC, now_monotonic_usec() + sw->config->database.promote_timeout_usec,
                    check_old_writable);
}

static void judge_started_old(struct op *op, void *ctx, const struct spawn_result *res) {
        struct switchover *sw = ctx;
        char outcome[128];

        if (!spawn_result_ok(res)) {
                op_step_done(op, false, res->outcome == SPAWN_EXITED ? res->exit_code : -1, "start: %s",
                             spawn_outcome_describe(res, outcome, sizeof outcome));
                return;
        }
        old_writable_poll(op, sw);
}

static void judge_status_then_start(struct op *op, void *ctx, const struct spawn_result *res) {
        struct switchover *sw = ctx;

        if (spawn_result_ok(res)) {
                old_writable_poll(op, sw);
                return;
        }
        run_site_command(op, sw, sw->o, &site(sw, sw->o)->database.commands.start, "active", judge_started_old);
}

static void run_pb_start_old(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        run_site_command(op, sw, sw->o, &site(sw, sw->o)->database.commands.status, "active",
                         judge_status_then_start);
}

static void run_pb_stack_start_old(struct op *op, void *ctx) {
        struct switchover *sw = ctx;

        if (!site(sw, sw->o)->stack_start.argv) {
                op_step_done(op, true, -1, "skipped: %s has no stack.start", site(sw, sw->o)->name);
                return;
        }
        run_site_command(op, sw, sw->o, &site(sw, sw->o)->stack_start, "active", NULL);
}

static void run_pb_nginx_restore(struct op *op, void *ctx) {
        struct switchover *sw = ctx;
        char detail[512];

        if (!sw->nginx_written) {
                op_step_done(op, true, -1, "%s was not changed", sw->config->nginx.config);
                return;
        }
        if (siteop_nginx_restore(sw->config, sw->nginx_original, sw->nginx_original_len, detail, sizeof detail) < 0) {
                op_step_done(op, false, -1, "%s", detail);
                return;
        }
        sw->nginx_written = false;
        op_step_done(op, true, -1, "%s", detail);
}


static const struct op_step steps[_SW_STEP_MAX] = {
        [SW_CHECK_OLD_API] = { "check_old_api", "the serving site's /health answers", run_check_old_api, OP_REFUSE, false },
        [SW_CHECK_NEW_API] = { "check_new_api", "the standby site's /health answers", run_check_new_api, OP_REFUSE, false },
        [SW_CHECK_REPLICATION] = { "check_replication", "the primary sees the standby streaming, replay lag within switchover.max_lag",
          run_check_replication, OP_REFUSE, false },
        [SW_CHECK_NEW_STANDBY] = { "check_new_standby", "the standby database is in recovery and streaming", run_check_new_standby, OP_REFUSE,
          false },
        [SW_CHECK_REWINDABLE] = { "check_rewindable", "pg_controldata of the primary: wal_log_hints or checksums (pg_rewind needs one)",
          run_check_rewindable, OP_REFUSE, false },
        [SW_NGINX_WRITE] = { "nginx_write", "write the site file: the standby serves, the primary becomes its backup", run_nginx_write,
          OP_PUT_BACK, false },
        [SW_NGINX_TEST] = { "nginx_test", "nginx accepts the new file (test_command)", run_nginx_test, OP_PUT_BACK, false },
        [SW_CHECKPOINT] = { "checkpoint", "CHECKPOINT on the primary, so the shutdown checkpoint is short", run_checkpoint, OP_PUT_BACK,
          false },
        [SW_STACK_STOP] = { "stack_stop", "stop the serving site's stack: the API stops writing", run_stack_stop, OP_PUT_BACK, false },
        [SW_STOP_OLD_PRIMARY] = { "stop_old_primary", "stop the primary cleanly (fast): its WAL goes to the standby", run_stop_old, OP_PUT_BACK,
          false },
        [SW_CONTROLDATA] = { "controldata", "pg_controldata: the stop was clean; the final checkpoint's LSN", run_controldata,
          OP_PUT_BACK, false },
        [SW_CATCH_UP] = { "catch_up", "the standby replayed past the old primary's final checkpoint", run_catch_up, OP_PUT_BACK,
          false },
        [SW_PROMOTE] = { "promote", "promote the standby (pg_promote) and wait until it leaves recovery", run_promote, OP_PUT_BACK,
          true },
        [SW_SWITCH] = { "switch", "reload nginx: traffic moves to the new primary's site", run_switch, OP_STOP, false },
        [SW_STACK_START_NEW] = { "stack_start_new", "start the new primary's stack", run_stack_start_new, OP_STOP, false },
        [SW_NEW_CHECKPOINT] = { "new_checkpoint", "CHECKPOINT on the new primary (pg_rewind reads its timeline)", siteop_step_new_checkpoint,
          OP_STOP, false },
        [SW_REWIND] = { "rewind", "pg_rewind -R the old primary from the new one (no rewind expected)", siteop_step_rewind,
          OP_STOP, false },
        [SW_START_OLD] = { "start_old", "start the old primary as a standby", siteop_step_start_target, OP_STOP, false },
        [SW_STREAMING] = { "streaming", "the old primary streams from the new one", siteop_step_streaming, OP_STOP, false },
        [SW_STACK_START_OLD] = { "stack_start_old", "start the old primary's stack as the standby's", siteop_step_stack_start_target,
          OP_STOP, false },
        [SW_DONE] = { "done", "record: armed in the new direction", run_done, OP_STOP, false },
};

static const struct op_step put_back[] = {
        { "put_back_check_new", "the standby is still in recovery (when the promotion was tried)", run_pb_check_new,
          OP_STOP, false },
        { "put_back_start_old", "the old primary runs again and takes writes", run_pb_start_old, OP_BEST_EFFORT,
          false },
        { "put_back_stack", "the serving site's stack runs again", run_pb_stack_start_old, OP_BEST_EFFORT, false },
        { "put_back_nginx", "the site file as it was", run_pb_nginx_restore, OP_BEST_EFFORT, false },
};

static const struct op_def switchover_def = {
        .kind = STATE_OP_SWITCHOVER, .what = "switchover", .steps = steps, .n_steps = ELEMENTSOF(steps),
        .put_back = put_back, .n_put_back = ELEMENTSOF(put_back), .latch_when_put_back_fails = STATE_LATCH_SWITCHOVER,
};

/* --switchover --drill: the checklist, and what else can be checked without changing anything. */
static const struct op_step drill_steps[] = {
        { "check_old_api", "the serving site's /health answers", run_check_old_api, OP_REFUSE, false },
        { "check_new_api", "the standby site's /health answers", run_check_new_api, OP_REFUSE, false },
        { "check_replication", "the primary sees the standby streaming, replay lag within switchover.max_lag",
          run_check_replication, OP_REFUSE, false },
        { "check_new_standby", "the standby database is in recovery and streaming", run_check_new_standby, OP_REFUSE,
          false },
        { "check_rewindable", "pg_controldata of the primary: wal_log_hints or checksums (pg_rewind needs one)",
          run_check_rewindable, OP_REFUSE, false },
        { "new_rewindable", "pg_controldata of the standby: the same, for the failback", run_drill_new_rewindable,
          OP_REFUSE, false },
        { "nginx", "the site file's upstream can be rewritten", run_drill_nginx, OP_REFUSE, false },
};

static const struct op_def switchover_drill_def = {
        .kind = STATE_OP_SWITCHOVER, .what = "switchover", .steps = drill_steps, .n_steps = ELEMENTSOF(drill_steps),
        .drill = true,
};

/* ---- entry points --------------------------------------------------------------------------------------- */

static void on_op_done(struct op *op, int code, void *userdata) {
        struct switchover *sw = userdata;

        (void) op;
        sw->done(sw, sw->drill && code == EXIT_REFUSED && sw->check_failed ? EXIT_FAILURE : code, sw->userdata);
}

/* Who serves now, who takes over; or why not. */
static int pick_sites(const struct config *c, const struct state *record, const char *to, unsigned *ret_o,
                      unsigned *ret_n, char *why, size_t size) {
        const char *missing = config_switchover_missing(c);
        int serving = record->serving[0] ? config_site_index(c, record->serving) : (int) c->serves_first;

        if (missing) {
                snprintf(why, size, "switchover: %s", missing);
                return EXIT_CONFIG;
        }
        if (serving < 0) {
                snprintf(why, size, "switchover refused: the record says site \"%s\" serves, and the config has no "
                         "such site", record->serving);
                return EXIT_CONFIG;
        }
        if (record->latch != STATE_LATCH_NONE) {
                snprintf(why, size, "switchover refused: the pair is latched (%s): %s", state_latch_to_string(record->latch),
                         record->latch == STATE_LATCH_REJOIN || record->latch == STATE_LATCH_SWITCHOVER ||
                         record->latch == STATE_LATCH_FAILOVER ? "the old primary has not rejoined: run "
                         "blfailoverd --rejoin first" : "see --status");
                return EXIT_REFUSED;
        }
        if (record->outcome == STATE_RUNNING) {
                snprintf(why, size, "switchover refused: the record says a %s is running (or was interrupted): see "
                         "--status", state_op_to_string(record->op));
                return EXIT_REFUSED;
        }
        *ret_o = (unsigned) serving;
        *ret_n = !serving;
        if (to && strcmp(to, c->sites[*ret_n].name) != 0) {
                snprintf(why, size, "switchover refused: --to %s: %s", to, strcmp(to, c->sites[*ret_o].name) == 0
                         ? "that site already serves" : "no such site in the config");
                return EXIT_REFUSED;
        }
        return 0;
}

/* The put back of a resumed switchover restores the site file only when its backup is exactly what this
 * switchover's rewrite started from: a backup left by an older operation is never copied over a newer file. */
static void resume_nginx_original(struct switchover *sw, const struct state *journal) {
        const struct config *c = sw->config;
        _cleanup_free_ char *backup = siteop_nginx_backup_path(c), *bak = NULL, *current = NULL, *rewritten = NULL;
        size_t bak_len = 0, current_len = 0, len = 0;
        struct nginx_error err = {};
        bool write_started = false;

        for (size_t i = 0; i < journal->n_steps; i++)
                if (strcmp(journal->steps[i].name, steps[SW_NGINX_WRITE].name) == 0)
                        write_started = journal->steps[i].status != STATE_STEP_PENDING;
        if (!write_started || !backup || fileio_read(backup, SITEOP_NGINX_MAX, &bak, &bak_len) < 0 ||
            fileio_read(c->nginx.config, SITEOP_NGINX_MAX, &current, &current_len) < 0 ||
            nginx_set_roles(bak, bak_len, c->nginx.upstream, c->sites[sw->n].nginx_server,
                            c->sites[sw->o].nginx_server, NGINX_STANDBY_BACKUP, &rewritten, &len, &err) < 0)
                return;
        if (len == current_len && memcmp(rewritten, current, len) == 0 &&
            !(bak_len == current_len && memcmp(bak, current, len) == 0)) {
                sw->nginx_original = bak;
                sw->nginx_original_len = bak_len;
                sw->nginx_written = true;
                bak = NULL;
        }
}

static int copy_control_paths(struct switchover *sw, const struct switchover_params *p) {
        return siteop_pair_set_control_paths(&sw->pair, p->ssh_control_path);
}

/* An interrupted switchover (the daemon or the command died): before the promotion it is put back — the moment the
 * operator asked for has passed —; from the promotion on it goes forward (the promote step asks the new primary
 * first, so a promotion that happened is not sent twice). */
static int switchover_resume(const struct switchover_params *p, struct switchover *sw) {
        const struct state *journal = p->record;
        size_t next = 0, slot = 0;
        bool passed = false, backwards;
        int r;

        r = op_journal_position(&switchover_def, journal, &next, &passed);
        if (r < 0)
                return r;
        for (size_t i = 0; i < next && i < ELEMENTSOF(steps); i++)
                slot += steps[i].on_failure != OP_REFUSE;
        /* The promotion itself interrupted: it may have been sent, so only forward (it asks first) is safe. */
        /* Forward only from a promotion that was under way (running, no put back journaled): it asks the standby
         * first. A promotion that failed started a put back, which is what goes on. */
        backwards = !passed && !(next < ELEMENTSOF(steps) && steps[next].no_return && !journal->failed_step[0] &&
                                 journal->steps[slot].status == STATE_STEP_RUNNING);
        if (!passed)
                resume_nginx_original(sw, journal);
        struct op_params params = {
                .event = p->event, .bus = p->bus, .health = p->health, .state_dir = p->config->state_dir,
                .record = journal, .trigger = "resumed", .from = journal->from, .to = journal->to,
                .def = &switchover_def, .ctx = sw, .step_timeout_usec = STEP_GUARD_USEC, .done = on_op_done,
                .userdata = sw, .resume = true, .resume_put_back = backwards, .sync = p->sync,
        };
        return op_start(&params, &sw->op);
}

bool switchover_interrupted(const struct state *record) {
        return record->op == STATE_OP_SWITCHOVER && record->outcome == STATE_RUNNING;
}

int switchover_start(const struct switchover_params *p, struct switchover **ret, char *why, size_t why_size) {
        struct switchover *sw;
        unsigned o = 0, n = 1;
        int r;

        if (switchover_interrupted(p->record) && !p->drill) {
                int from = config_site_index(p->config, p->record->from), to = config_site_index(p->config,
                                                                                                  p->record->to);
                if (from < 0 || to < 0 || from == to) {
                        snprintf(why, why_size, "switchover: the record's interrupted switchover %s → %s names sites "
                                 "the config lacks: finish it by hand (see --status)", p->record->from, p->record->to);
                        return EXIT_CONFIG;
                }
                sw = calloc(1, sizeof *sw);
                if (!sw)
                        return -ENOMEM;
                *sw = (struct switchover) {
                        .pair = { .config = p->config, .source = (unsigned) to, .target = (unsigned) from,
                                  .stream_timeout_usec = p->config->switchover.stream_timeout_usec },
                        .config = p->config, .o = (unsigned) from, .n = (unsigned) to, .done = p->done,
                        .userdata = p->userdata };
                r = copy_control_paths(sw, p);
                if (r >= 0)
                        r = switchover_resume(p, sw);
                if (r < 0) {
                        switchover_free(sw);
                        if (r == -EBADMSG)
                                snprintf(why, why_size, "switchover: the record's interrupted switchover has steps "
                                         "this version does not know: finish it by hand (see --status)");
                        return r == -EBADMSG ? EXIT_FAILURE : r;
                }
                *ret = sw;
                return 0;
        }
        r = pick_sites(p->config, p->record, p->to, &o, &n, why, why_size);
        if (r > 0)
                return r;
        sw = calloc(1, sizeof *sw);
        if (!sw)
                return -ENOMEM;
        *sw = (struct switchover) {
                .pair = { .config = p->config, .source = n, .target = o,
                          .stream_timeout_usec = p->config->switchover.stream_timeout_usec },
                .config = p->config, .o = o, .n = n, .drill = p->drill, .done = p->done, .userdata = p->userdata,
        };
        r = copy_control_paths(sw, p);
        if (r < 0) {
                switchover_free(sw);
                return r;
        }
        struct op_params params = {
                .event = p->event, .bus = p->bus, .health = p->health, .state_dir = p->config->state_dir,
                .record = p->record, .trigger = "manual", .from = p->config->sites[o].name,
                .to = p->config->sites[n].name, .def = p->drill ? &switchover_drill_def : &switchover_def, .ctx = sw,
                .step_timeout_usec = STEP_GUARD_USEC, .done = on_op_done, .userdata = sw, .sync = p->sync,
        };
        r = op_start(&params, &sw->op);
        if (r < 0) {
                switchover_free(sw);
                return r;
        }
        *ret = sw;
        return 0;
}

struct switchover *switchover_free(struct switchover *sw) {
        if (!sw)
                return NULL;
        op_free(sw->op);
        siteop_pair_done(&sw->pair);
        free(sw->nginx_original);
        free(sw);
        return NULL;
}

/* ---- dry run -------------------------------------------------------------------------------------------- */

static void print_argv(FILE *out, const struct config *c, unsigned i, const struct config_command *cmd,
                       const char *role) {
        siteop_print_argv(out, c, i, cmd, role, NULL);
}

static void print_step_detail(FILE *out, const struct config *c, unsigned o, unsigned n, enum sw_step id) {
        const struct config_site *so = &c->sites[o], *sn = &c->sites[n];
        _cleanup_free_ char *line = NULL;

        switch (id) {
        case SW_NGINX_TEST:
        case SW_SWITCH:
                line = spawn_argv_to_string(id == SW_NGINX_TEST ? c->nginx.test_command.argv
                                                                 : c->nginx.reload_command.argv);
                fprintf(out, "      $ %s\n", line ? line : "?");
                break;
        case SW_CHECK_REWINDABLE:
        case SW_CONTROLDATA:
                print_argv(out, c, o, &so->database.commands.controldata, "active");
                break;
        case SW_STACK_STOP:
                print_argv(out, c, o, &so->stack_stop, "active");
                break;
        case SW_STOP_OLD_PRIMARY:
                print_argv(out, c, o, &so->database.commands.stop, "active");
                break;
        case SW_PROMOTE:
                if (sn->database.commands.promote.argv)
                        print_argv(out, c, n, &sn->database.commands.promote, "active");
                break;
        case SW_STACK_START_NEW:
                print_argv(out, c, n, &sn->stack_start, "active");
                break;
        case SW_REWIND:
                print_argv(out, c, o, &so->database.commands.rewind, "standby");
                break;
        case SW_START_OLD:
                print_argv(out, c, o, &so->database.commands.start, "standby");
                break;
        case SW_STACK_START_OLD:
                print_argv(out, c, o, &so->stack_start, "standby");
                break;
        default:
                break;
        }
}

int switchover_dry_run(const struct config *c, const struct state *record, FILE *out) {
        unsigned o = 0, n = 1;
        char why[512];
        int r;

        r = pick_sites(c, record, NULL, &o, &n, why, sizeof why);
        if (r > 0) {
                log_error("%s", why);
                return r;
        }
        fprintf(out, "Dry run: the switchover %s → %s would run these steps, in this order (nothing is run):\n",
                c->sites[o].name, c->sites[n].name);
        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                fprintf(out, "  %2zu. %-18s %s%s\n", i + 1, steps[i].name, steps[i].purpose,
                        steps[i].on_failure == OP_REFUSE ? " [checklist: refuses, changes nothing]"
                        : steps[i].no_return ? " [point of no return]" : "");
                print_step_detail(out, c, o, n, (enum sw_step) i);
        }
        fprintf(out, "A failure before the promotion puts back, in this order:\n");
        for (size_t i = 0; i < ELEMENTSOF(put_back); i++)
                fprintf(out, "  %zu. %-18s %s\n", i + 1, put_back[i].name, put_back[i].purpose);
        return siteop_print_nginx_change(out, c, n, o, "switchover") < 0 ? EXIT_FAILURE : 0;
}
