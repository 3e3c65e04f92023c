/* rejoin: the old primary O back as a standby of the serving site S, top to bottom.
 *
 *   checklist (refuses, changes nothing): S is a primary with full_page_writes on (pg_rewind's source needs it);
 *       O, if it answers libpq, is NOT a writable primary (fence it first); O's pg_controldata says it can be
 *       rewound (wal_log_hints or data checksums), or a re-clone is allowed.
 *   stop O:      stack_stop (best effort), stop (status first: it may be down, or a stuck standby)
 *   read O:      controldata (state, last checkpoint L, timeline T), recover (only after a crash: single-user
 *                crash recovery, then controldata again — L is then the end of O's WAL)
 *   fork:        new_checkpoint (pg_rewind reads S's timeline from pg_control), rewind_dry (pg_rewind --dry-run:
 *                the fork F), report (O's WAL from F to the end of its last record E and its COMMITs: what the
 *                failover lost, said before anything is rewritten)
 *   rewrite O:   rewind (-R: O gets S's history and the standby config), or clone_prepare + clone when O cannot be
 *                rewound (re-clone allowed: pg_basebackup -R into a fresh PGDATA, the old one kept aside)
 *   run O:       start, streaming (S sees O streaming within rejoin.max_lag_bytes), stack_start (as the standby)
 *   traffic:     nginx (S serves, O its backup: write, test, reload; restored when the test fails)
 *   done:        latch none, in the same record write as the outcome: the daemon re-arms, failover S → O.
 * After the checklist nothing is put back: O was not serving. A failure (or a crash) stops with latch "rejoin" (or the
 * latch it had) and --rejoin runs again, from the checklist: each step asks first (status before stop/start; an O a
 * run already rewound, in recovery on S's timeline, is not rewound again); new_checkpoint, rewind, start, streaming and stack_start are the switchover's own
 * (siteop.h). */
#include "rejoin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "exitcode.h"
#include "log.h"
#include "op.h"
#include "pgtext.h"
#include "roles.h"
#include "siteop.h"
#include "util.h"

#define STEP_GUARD_USEC (7 * 3600 * USEC_PER_SEC)     /* above every configurable timeout: a bug guard only */
#define PG_CTL_NOT_RUNNING 3                           /* pg_ctl status: no server running */
#define PG_CTL_NO_DATA_DIRECTORY 4                     /* pg_ctl status: the data directory is not accessible */

struct rejoin {
        struct siteop_pair pair;                /* first: the shared steps take this context */
        bool serving_stack_needed;              /* finishing a switchover that stopped before stack_start_new */
        const struct config *config;
        unsigned s, o;                          /* serving site, old primary */
        bool reclone_allowed;
        struct op *op;
        struct pgtext_controldata cd;           /* O, stopped (after recover when it crashed) */
        bool cd_read;
        bool need_recover;
        unsigned source_timeline;               /* S's WAL timeline (check_source); 0 unknown */
        bool rewound;                           /* O is on S's timeline in recovery: an earlier run rewound it */
        uint64_t source_size;                   /* S's databases, for the re-clone report */
        uint64_t clone_started_usec;
        char *nginx_original;
        size_t nginx_original_len;
        bool nginx_written;
        rejoin_done_fn done;
        void *userdata;
};

static const struct config_site *site(const struct rejoin *rj, unsigned i) {
        return &rj->config->sites[i];
}

static const char *password_file(const struct rejoin *rj) {
        return rj->config->database.password_file;
}

static uint64_t connect_timeout(const struct rejoin *rj) {
        return rj->config->database.connect_timeout_usec;
}

static void run_o_command(struct op *op, struct rejoin *rj, const struct config_command *cmd, const char *role,
                          const struct template_vars *extra, op_judge_command_fn judge) {
        struct template_vars vars = extra ? *extra : (struct template_vars) {};

        vars.control_path = rj->pair.control_path[rj->o];
        siteop_run(op, rj->config, rj->o, cmd, role, &vars, judge);
}

static int exit_status(const struct spawn_result *r) {
        return r->outcome == SPAWN_EXITED ? r->exit_code : -1;
}

/* ---- pure: the messages --------------------------------------------------------------------------------- */

static size_t value_len(const char *v) {
        size_t n = 0;

        if (*v == '\'') {
                const char *end = strchr(v + 1, '\'');
                return end ? (size_t) (end - v) + 1 : strlen(v);
        }
        while (v[n] && v[n] != ' ' && v[n] != '\t')
                n++;
        return n;
}

/* key=value form: the value of `key`, quotes dropped; NULL when absent. */
static const char *kv_find(const char *conninfo, const char *key, size_t *ret_len) {
        size_t klen = strlen(key);

        for (const char *p = conninfo; *p; ) {
                while (*p == ' ' || *p == '\t')
                        p++;
                const char *eq = strchr(p, '=');
                if (!eq)
                        return NULL;
                const char *k_end = eq;
                while (k_end > p && (k_end[-1] == ' ' || k_end[-1] == '\t'))
                        k_end--;
                const char *v = eq + 1;
                while (*v == ' ' || *v == '\t')
                        v++;
                size_t vlen = value_len(v);
                if ((size_t) (k_end - p) == klen && strncmp(p, key, klen) == 0) {
                        if (*v == '\'' && vlen >= 2) {
                                *ret_len = vlen - 2;
                                return v + 1;
                        }
                        *ret_len = vlen;
                        return v;
                }
                p = v + vlen;
        }
        return NULL;
}

const char *rejoin_conninfo_host(const char *conninfo, char *buf, size_t size) {
        const char *v = NULL;
        size_t len = 0;

        if (strncmp(conninfo, "postgresql://", 13) == 0 || strncmp(conninfo, "postgres://", 11) == 0) {
                const char *h = strstr(conninfo, "://") + 3, *at = strpbrk(h, "@/?");
                if (at && *at == '@')
                        h = at + 1;
                len = strcspn(h, ":/?");
                v = len ? h : NULL;
        } else if (!(v = kv_find(conninfo, "host", &len)) || len == 0)
                v = kv_find(conninfo, "hostaddr", &len);
        if (!v || len == 0 || v[0] == '/')
                snprintf(buf, size, "local socket");
        else
                snprintf(buf, size, "%.*s", (int) len, v);
        return buf;
}

void rejoin_refusal_writable(const char *site_name, unsigned index, const char *conninfo, char *buf, size_t size) {
        char host[128];

        snprintf(buf, size, "rejoin refused: %s answers as a writable primary (%s): fence it first "
                 "(sites[%u].database.commands.stop, or your fence), then run --rejoin again; nothing was changed",
                 site_name, rejoin_conninfo_host(conninfo, host, sizeof host), index);
}

const char *rejoin_format_size(uint64_t bytes, char *buf, size_t size) {
        static const char *const units[] = { "kB", "MB", "GB", "TB" };
        uint64_t div = 1000;
        size_t u = 0;

        if (bytes < 1000) {
                snprintf(buf, size, "%" PRIu64 " bytes", bytes);
                return buf;
        }
        while (u + 1 < ELEMENTSOF(units) && bytes / div >= 1000) {
                div *= 1000;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%" PRIu64 " kB", bytes / 1000);
        else    /* one decimal, truncated: never more than was there */
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " %s", bytes / div, bytes % div / (div / 10), units[u]);
        return buf;
}

const char *rejoin_discarded_describe(const struct rejoin_discarded *d, char *buf, size_t size) {
        char from[PGTEXT_LSN_MAX], to[PGTEXT_LSN_MAX], bytes[32], commits[64];
        uint64_t n = d->end_lsn > d->fork_lsn ? d->end_lsn - d->fork_lsn : 0;

        pgtext_format_lsn(d->fork_lsn, from);
        pgtext_format_lsn(d->end_lsn, to);
        rejoin_format_size(n, bytes, sizeof bytes);
        if (d->commits_known)
                snprintf(commits, sizeof commits, "%" PRIu64 " committed transaction%s", d->commits,
                         d->commits == 1 ? "" : "s");
        else
                snprintf(commits, sizeof commits, "committed transactions not counted");
        snprintf(buf, size, "rejoin: %s's timeline %u forked at %s; discarded %s–%s%s (%s%s of WAL, %s) — the "
                 "failover lost them", d->site, d->timeline, from, from, d->end_exact ? "" : "at least ", to,
                 d->end_exact ? "" : "at least ", bytes, commits);
        return buf;
}

/* A timeline id from a query's text; 0 (no timeline) when absent or malformed. */
static unsigned parse_timeline(const char *v) {
        char *end = NULL;
        unsigned long t;

        if (!v || !*v)
                return 0;
        errno = 0;
        t = strtoul(v, &end, 10);
        return errno == 0 && *end == 0 && t <= UINT32_MAX ? (unsigned) t : 0;
}

/* ---- checklist ------------------------------------------------------------------------------------------ */

static void judge_source(struct op *op, void *ctx, const struct db_result *r) {
        struct rejoin *rj = ctx;
        const char *s = site(rj, rj->s)->name;
        bool in_recovery = true;

        if (r->error < 0) {
                op_step_done(op, false, -1, "cannot ask %s, the serving site: %s; a rejoin needs it up", s,
                             r->message);
                return;
        }
        if (db_parse_bool(r->values[0], &in_recovery) < 0 || in_recovery) {
                op_step_done(op, false, -1, "%s is in recovery: it is not the primary the record says serves; see "
                             "--status and both databases", s);
                return;
        }
        if (!rj->reclone_allowed && (!r->values[1] || strcmp(r->values[1], "on") != 0)) {
                op_step_done(op, false, -1, "%s has full_page_writes = %s: pg_rewind needs it on at its source; set "
                             "full_page_writes = on on %s (reload), or allow a re-clone (--reclone)", s,
                             r->values[1] ? r->values[1] : "?", s);
                return;
        }
        rj->source_timeline = parse_timeline(r->values[2]);
        op_step_done(op, true, -1, "%s is a primary on timeline %s, full_page_writes = %s", s,
                     r->values[2] ? r->values[2] : "?", r->values[1] ? r->values[1] : "?");
}

static void run_check_source(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        op_run_sql(op, site(rj, rj->s)->database.conninfo, password_file(rj), connect_timeout(rj),
                   "SELECT pg_is_in_recovery(), current_setting('full_page_writes'), CASE WHEN NOT pg_is_in_recovery() "
                   "THEN ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END",
                   judge_source);
}

static void judge_old(struct op *op, void *ctx, const struct db_result *r) {
        struct rejoin *rj = ctx;
        const struct config_site *o = site(rj, rj->o);
        bool in_recovery = false;
        char why[512];

        /* Not answering is what a crashed or fenced old primary does: the stop step makes sure of it. */
        if (r->error < 0) {
                op_step_done(op, true, -1, "%s does not answer (%s): down or fenced", o->name, r->message);
                return;
        }
        if (db_parse_bool(r->values[0], &in_recovery) < 0 || !in_recovery) {
                rejoin_refusal_writable(o->name, rj->o, o->database.conninfo, why, sizeof why);
                op_step_done(op, false, -1, "%s", why);
                return;
        }
        op_step_done(op, true, -1, "%s answers in recovery (a standby, perhaps of nobody): it is stopped and "
                     "rejoined", o->name);
}

static void run_check_old(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        op_run_sql(op, site(rj, rj->o)->database.conninfo, password_file(rj), connect_timeout(rj),
                   DB_SQL_IN_RECOVERY, judge_old);
}

/* pg_control is readable while the server runs: whether O can be rewound is known before anything changes. */
static void judge_rewindable(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        const char *o = site(rj, rj->o)->name;
        struct pgtext_controldata cd = {};
        char outcome[128];
        unsigned line = 0;
        int r = spawn_result_ok(res) ? pgtext_controldata(res->output, res->output_len, &cd, &line) : -EIO;

        if (r < 0 && rj->reclone_allowed) {
                rj->pair.reclone = true;
                op_step_done(op, true, exit_status(res), "%s's pg_controldata cannot be read (%s): re-clone",
                             o, r == -EIO ? spawn_outcome_describe(res, outcome, sizeof outcome) : "unreadable output");
        } else if (r == -EPROTO)
                op_step_done(op, false, 0, "%s's pg_controldata output is translated: run it with LC_ALL=C", o);
        else if (r < 0)
                op_step_done(op, false, exit_status(res), "cannot read %s's pg_controldata (%s, line %u): a rejoin "
                             "needs it; nothing was changed", o, r == -EIO ? spawn_outcome_describe(res, outcome,
                             sizeof outcome) : "unrecognised output", line);
        else if (pgtext_controldata_rewindable(&cd))
                op_step_done(op, true, 0, "%s can be rewound (wal_log_hints %s, data checksums %s)", o,
                             cd.wal_log_hints ? "on" : "off", cd.checksum_version ? "on" : "off");
        else if (rj->reclone_allowed) {
                rj->pair.reclone = true;
                op_step_done(op, true, 0, "%s has neither wal_log_hints nor data checksums: pg_rewind cannot run on "
                             "it; it is re-cloned instead", o);
        } else
                op_step_done(op, false, 0, "%s has neither wal_log_hints nor data checksums, so pg_rewind cannot run "
                             "on it: set wal_log_hints = on on both databases (restart), or allow rejoin.reclone "
                             "(--reclone); nothing was changed", o);
}

static void run_check_rewindable(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        run_o_command(op, rj, &site(rj, rj->o)->database.commands.controldata, "standby", NULL, judge_rewindable);
}

/* ---- stop O --------------------------------------------------------------------------------------------- */

static void run_stack_stop(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        if (!site(rj, rj->o)->stack_stop.argv) {
                op_step_done(op, true, -1, "skipped: %s has no stack.stop", site(rj, rj->o)->name);
                return;
        }
        run_o_command(op, rj, &site(rj, rj->o)->stack_stop, "active", NULL, NULL);
}

static void judge_status_then_stop(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        char outcome[128];

        if (spawn_result_ok(res)) {
                run_o_command(op, rj, &site(rj, rj->o)->database.commands.stop, "standby", NULL, NULL);
                return;
        }
        if (res->outcome == SPAWN_EXITED && res->exit_code == PG_CTL_NOT_RUNNING) {
                op_step_done(op, true, res->exit_code, "%s's database is not running", site(rj, rj->o)->name);
                return;
        }
        /* pg_ctl status 4: no data directory — what a re-clone expects after an earlier clone_prepare. Any other
         * failure (ssh down: 255) says nothing about the database: not taken as stopped. */
        if (rj->pair.reclone && res->outcome == SPAWN_EXITED && res->exit_code == PG_CTL_NO_DATA_DIRECTORY) {
                op_step_done(op, true, exit_status(res), "%s's status: %s; it is re-cloned", site(rj, rj->o)->name,
                             spawn_outcome_describe(res, outcome, sizeof outcome));
                return;
        }
        op_step_done(op, false, exit_status(res), "%s's status: %s (pg_ctl: 3 = not running, 4 = no data "
                     "directory)", site(rj, rj->o)->name, spawn_outcome_describe(res, outcome, sizeof outcome));
}

static void run_stop(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        run_o_command(op, rj, &site(rj, rj->o)->database.commands.status, "standby", NULL, judge_status_then_stop);
}

/* ---- read O: controldata, recover ----------------------------------------------------------------------- */

static bool cluster_clean(const struct pgtext_controldata *cd) {
        return strcmp(cd->cluster_state, "shut down") == 0 || strcmp(cd->cluster_state, "shut down in recovery") == 0;
}

/* Reads O's pg_control into rj->cd; false with the step failed. */
static bool read_controldata(struct op *op, struct rejoin *rj, const struct spawn_result *res) {
        char lsn[PGTEXT_LSN_MAX], outcome[128];
        unsigned line = 0;
        int r;

        if (!spawn_result_ok(res)) {
                op_step_done(op, false, exit_status(res), "pg_controldata: %s",
                             spawn_outcome_describe(res, outcome, sizeof outcome));
                return false;
        }
        r = pgtext_controldata(res->output, res->output_len, &rj->cd, &line);
        if (r < 0) {
                op_step_done(op, false, 0, r == -EPROTO ? "pg_controldata's output is translated: run it with "
                             "LC_ALL=C" : "cannot read pg_controldata's output (line %u)", line);
                return false;
        }
        rj->cd_read = true;
        state_fact_set(op_record(op), "old_checkpoint_lsn", "%s", pgtext_format_lsn(rj->cd.checkpoint_lsn, lsn));
        state_fact_set(op_record(op), "old_timeline", "%u", rj->cd.timeline);
        return true;
}

/* Idempotent resume (design §3.2): pg_rewind leaves O "in archive recovery" with S's checkpoint, and O run as S's
 * standby shuts down "in recovery" on S's timeline. Either is rewound already: a second pg_rewind fails (single-user
 * crash recovery refuses standby.signal) or says "same timeline", so the rejoin goes on at start. A standby on
 * another timeline (of nobody, or of the old history) is not: it is rewound as usual. */
static bool already_rewound(const struct rejoin *rj) {
        bool in_recovery = strcmp(rj->cd.cluster_state, "in archive recovery") == 0 ||
                           strcmp(rj->cd.cluster_state, "shut down in recovery") == 0;

        return in_recovery && rj->source_timeline != 0 && rj->cd.timeline == rj->source_timeline;
}

static void judge_controldata(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        char lsn[PGTEXT_LSN_MAX];

        if (!read_controldata(op, rj, res))
                return;
        if (already_rewound(rj)) {
                rj->rewound = true;
                op_step_done(op, true, 0, "%s: \"%s\" on %s's timeline %u: an earlier --rejoin rewound it (pg_rewind "
                             "cannot run on it again); it is started as it is", site(rj, rj->o)->name,
                             rj->cd.cluster_state, site(rj, rj->s)->name, rj->cd.timeline);
                return;
        }
        /* pg_rewind --dry-run refuses an unclean target without recovering it (ensureCleanShutdown returns early):
         * a crashed O is recovered first, which also makes L the end of its WAL. */
        rj->need_recover = !cluster_clean(&rj->cd);
        op_step_done(op, true, 0, "%s: \"%s\", last checkpoint %s on timeline %u%s", site(rj, rj->o)->name,
                     rj->cd.cluster_state, pgtext_format_lsn(rj->cd.checkpoint_lsn, lsn), rj->cd.timeline,
                     rj->need_recover ? "; it did not shut down cleanly: crash recovery follows" : "");
}

static void run_controldata(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        if (rj->pair.reclone) {
                op_step_done(op, true, -1, "skipped: %s is re-cloned", site(rj, rj->o)->name);
                return;
        }
        run_o_command(op, rj, &site(rj, rj->o)->database.commands.controldata, "standby", NULL, judge_controldata);
}

static void judge_recovered_controldata(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        char lsn[PGTEXT_LSN_MAX];

        if (!read_controldata(op, rj, res))
                return;
        if (!cluster_clean(&rj->cd)) {
                op_step_done(op, false, 0, "after crash recovery %s is still \"%s\": look at its log",
                             site(rj, rj->o)->name, rj->cd.cluster_state);
                return;
        }
        op_step_done(op, true, 0, "%s recovered and shut down; its WAL ends with the checkpoint at %s on timeline %u",
                     site(rj, rj->o)->name, pgtext_format_lsn(rj->cd.checkpoint_lsn, lsn), rj->cd.timeline);
}

static void judge_recover(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        char outcome[128];

        if (!spawn_result_ok(res)) {
                op_step_done(op, false, exit_status(res), "single-user crash recovery of %s: %s",
                             site(rj, rj->o)->name, spawn_outcome_describe(res, outcome, sizeof outcome));
                return;
        }
        run_o_command(op, rj, &site(rj, rj->o)->database.commands.controldata, "standby", NULL,
                      judge_recovered_controldata);
}

static void run_recover(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        if (rj->pair.reclone || rj->rewound || !rj->need_recover) {
                op_step_done(op, true, -1, "skipped: %s", rj->pair.reclone ? "re-clone" : rj->rewound
                             ? "rewound already" : "it shut down cleanly");
                return;
        }
        run_o_command(op, rj, &site(rj, rj->o)->database.commands.recover, "standby", NULL, judge_recover);
}

/* ---- the fork and the report ---------------------------------------------------------------------------- */

static void judge_rewind_dry(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        struct pgtext_rewind rw = {};
        char lsn[PGTEXT_LSN_MAX], outcome[128];
        int r = pgtext_rewind(res->output, res->output_len, &rw);

        if (r == 0 && spawn_result_ok(res) && rw.verdict == PGTEXT_REWIND_DIVERGED) {
                rj->pair.fork_known = true;
                rj->pair.fork_lsn = rw.fork_lsn;
                rj->pair.fork_timeline = rw.fork_timeline;
                state_fact_set(op_record(op), "fork_lsn", "%s", pgtext_format_lsn(rw.fork_lsn, lsn));
                op_step_done(op, true, 0, "the servers diverged at %s on timeline %u", lsn, rw.fork_timeline);
                return;
        }
        if (r == 0 && spawn_result_ok(res) && rw.verdict == PGTEXT_REWIND_NOT_REQUIRED) {
                op_step_done(op, true, 0, "no rewind required: %s holds nothing %s lacks", site(rj, rj->o)->name,
                             site(rj, rj->s)->name);
                return;
        }
        spawn_outcome_describe(res, outcome, sizeof outcome);
        if (rj->reclone_allowed) {
                rj->pair.reclone = true;
                op_say(op, true, "pg_rewind --dry-run: %s%s: %s is re-cloned instead", outcome,
                       rw.verdict == PGTEXT_REWIND_SAME_TIMELINE ? " (same timeline)" : "", site(rj, rj->o)->name);
                op_step_done(op, true, exit_status(res), "pg_rewind --dry-run: %s; re-clone follows", outcome);
                return;
        }
        op_step_done(op, false, exit_status(res), "pg_rewind --dry-run: %s%s; %s was not rewritten (its output is "
                     "above); --reclone copies it from %s instead", outcome, rw.verdict == PGTEXT_REWIND_SAME_TIMELINE
                     ? " (source and target on the same timeline: did the failover promote?)" : "",
                     site(rj, rj->o)->name, site(rj, rj->s)->name);
}

static void run_rewind_dry(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;
        const struct template_vars extra = { .dry_run = true };

        if (rj->pair.reclone || rj->rewound) {
                op_step_done(op, true, -1, "skipped: %s is %s", site(rj, rj->o)->name, rj->rewound
                             ? "rewound already" : "re-cloned");
                return;
        }
        run_o_command(op, rj, &site(rj, rj->o)->database.commands.rewind, "standby", &extra, judge_rewind_dry);
}

/* The report is said before anything is rewritten, whatever pg_waldump manages to read. */
static void report(struct op *op, struct rejoin *rj, const struct rejoin_discarded *d) {
        char line[512], lsn[PGTEXT_LSN_MAX];

        rejoin_discarded_describe(d, line, sizeof line);
        state_fact_set(op_record(op), "discarded_from", "%s", pgtext_format_lsn(d->fork_lsn, lsn));
        state_fact_set(op_record(op), "discarded_to", "%s%s", d->end_exact ? "" : ">=",
                       pgtext_format_lsn(d->end_lsn, lsn));
        state_fact_set(op_record(op), "discarded_bytes", "%s%" PRIu64, d->end_exact ? "" : ">=",
                       d->end_lsn > d->fork_lsn ? d->end_lsn - d->fork_lsn : 0);
        if (d->commits_known)
                state_fact_set(op_record(op), "discarded_commits", "%" PRIu64, d->commits);
        log_warning("%s", line);
        (void) rj;
        op_step_done(op, true, -1, "%s", line);
}

static void discarded_of(const struct rejoin *rj, struct rejoin_discarded *d) {
        *d = (struct rejoin_discarded) { .site = site(rj, rj->o)->name, .timeline = rj->cd.timeline,
                                         .fork_lsn = rj->pair.fork_lsn, .end_lsn = rj->cd.checkpoint_lsn };
}

static void judge_stats(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        struct pgtext_waldump_stats st = {};
        struct rejoin_discarded d;
        const char *end = state_fact_get(op_record(op), "old_wal_end");

        discarded_of(rj, &d);
        d.end_exact = end && pgtext_parse_lsn(end, strlen(end), &d.end_lsn) == 0;
        if (spawn_result_ok(res) && pgtext_waldump_stats(res->output, res->output_len, &st) == 0) {
                d.commits_known = true;
                d.commits = st.commits;
        } else
                op_say(op, true, "pg_waldump --stats did not give the COMMIT count; the report says bytes only");
        report(op, rj, &d);
}

static void judge_end(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        char from[PGTEXT_LSN_MAX], until[PGTEXT_LSN_MAX];
        uint64_t end = 0;
        struct rejoin_discarded d;

        if (!spawn_result_ok(res) || pgtext_waldump_first_end(res->output, res->output_len, &end) < 0) {
                /* Without the end of the last record the range is "at least to L", and COMMITs are not counted:
                 * a count over a range cut short would claim less than was lost. */
                op_say(op, true, "pg_waldump did not read %s's last record: the range below is a lower bound",
                       site(rj, rj->o)->name);
                discarded_of(rj, &d);
                report(op, rj, &d);
                return;
        }
        state_fact_set(op_record(op), "old_wal_end", "%s", pgtext_format_lsn(end, until));
        pgtext_format_lsn(rj->pair.fork_lsn, from);
        const struct template_vars extra = { .tli = rj->cd.timeline, .from = from, .until = until };
        run_o_command(op, rj, &site(rj, rj->o)->database.commands.waldump, "standby", &extra, judge_stats);
}

static void run_report(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;
        char from[PGTEXT_LSN_MAX];

        /* The next steps rewrite O's data directory: the record must say latch "rejoin" while they run. Set here,
         * it is saved when the rewind (or the re-clone) starts, before its command does; set in run_rewind, it
         * reached the disk only after pg_rewind had ended, and a crash during pg_rewind left latch "failover". */
        op_record(op)->latch = STATE_LATCH_REJOIN;
        if (rj->rewound) {
                op_step_done(op, true, -1, "skipped: %s was rewound by an earlier --rejoin, which reported what it "
                             "discarded (see its log)", site(rj, rj->o)->name);
                return;
        }
        if (rj->pair.reclone && !rj->pair.fork_known) {
                op_say(op, true, "%s is re-cloned: whatever it wrote after %s's promotion is discarded (not "
                       "measured: pg_rewind cannot read it); its old data directory is kept", site(rj, rj->o)->name,
                       site(rj, rj->s)->name);
                op_step_done(op, true, -1, "re-clone: the discarded range is not measured");
                return;
        }
        if (!rj->pair.fork_known) {
                op_step_done(op, true, -1, "nothing discarded: %s holds nothing %s lacks", site(rj, rj->o)->name,
                             site(rj, rj->s)->name);
                return;
        }
        if (!site(rj, rj->o)->database.commands.waldump.argv) {
                struct rejoin_discarded d;
                discarded_of(rj, &d);
                report(op, rj, &d);
                return;
        }
        const struct template_vars extra = { .tli = rj->cd.timeline, .from = pgtext_format_lsn(rj->cd.checkpoint_lsn,
                                                                                                from) };
        run_o_command(op, rj, &site(rj, rj->o)->database.commands.waldump, "standby", &extra, judge_end);
}

/* From here O's data directory changes: a failure leaves the pair latched "rejoin" (saved with the step's end). */
static void run_rewind(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        if (!rj->pair.reclone)
                op_record(op)->latch = STATE_LATCH_REJOIN;
        if (rj->rewound) {
                op_step_done(op, true, -1, "skipped: %s is rewound already (on %s's timeline %u)",
                             site(rj, rj->o)->name, site(rj, rj->s)->name, rj->cd.timeline);
                return;
        }
        siteop_step_rewind(op, ctx);
}

/* ---- re-clone ------------------------------------------------------------------------------------------- */

static void judge_source_size(struct op *op, void *ctx, const struct db_result *r) {
        struct rejoin *rj = ctx;

        if (r->error == 0 && r->values[0])
                rj->source_size = strtoull(r->values[0], NULL, 10);
        else
                op_say(op, true, "cannot ask %s its size (%s): the re-clone is reported without it",
                       site(rj, rj->s)->name, r->error < 0 ? r->message : "no answer");
        run_o_command(op, rj, &site(rj, rj->o)->database.commands.clone_prepare, "standby", NULL, NULL);
}

static void run_clone_prepare(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        if (!rj->pair.reclone) {
                op_step_done(op, true, -1, "skipped: %s is rewound", site(rj, rj->o)->name);
                return;
        }
        op_record(op)->latch = STATE_LATCH_REJOIN;
        op_run_sql(op, site(rj, rj->s)->database.conninfo, password_file(rj), connect_timeout(rj),
                   "SELECT sum(pg_database_size(oid))::bigint FROM pg_database", judge_source_size);
}

static void judge_clone(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        double seconds = (double) (now_monotonic_usec() - rj->clone_started_usec) / 1e6;
        char size[32], outcome[128];

        if (!spawn_result_ok(res)) {
                op_step_done(op, false, exit_status(res), "pg_basebackup: %s; the old data is still in %s."
                             "blfailoverd-%" PRIu64 ": run --rejoin --reclone again", spawn_outcome_describe(res,
                             outcome, sizeof outcome), site(rj, rj->o)->database.pgdata
                             ? site(rj, rj->o)->database.pgdata : "PGDATA", op_record(op)->epoch);
                return;
        }
        rejoin_format_size(rj->source_size, size, sizeof size);
        state_fact_set(op_record(op), "reclone_bytes", "%" PRIu64, rj->source_size);
        state_fact_set(op_record(op), "reclone_seconds", "%.1f", seconds);
        op_say(op, true, "re-cloned %s from %s: %s in %.1f s; the old data is in %s.blfailoverd-%" PRIu64,
               site(rj, rj->o)->name, site(rj, rj->s)->name, size, seconds,
               site(rj, rj->o)->database.pgdata ? site(rj, rj->o)->database.pgdata : "PGDATA", op_record(op)->epoch);
        op_step_done(op, true, 0, "re-cloned %s: %s in %.1f s", site(rj, rj->o)->name, size, seconds);
}

static void run_clone(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        if (!rj->pair.reclone) {
                op_step_done(op, true, -1, "skipped: %s is rewound", site(rj, rj->o)->name);
                return;
        }
        rj->clone_started_usec = now_monotonic_usec();
        run_o_command(op, rj, &site(rj, rj->o)->database.commands.clone, "standby", NULL, judge_clone);
}

/* ---- nginx: O becomes S's backup ------------------------------------------------------------------------ */

static void restore_nginx(struct op *op, struct rejoin *rj, const char *why) {
        char detail[512];

        (void) siteop_nginx_restore(rj->config, rj->nginx_original, rj->nginx_original_len, detail, sizeof detail);
        op_step_done(op, false, -1, "%s; %s", why, detail);
}

static void judge_reload(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        char outcome[128];

        if (!spawn_result_ok(res))
                op_step_done(op, false, exit_status(res), "nginx reload: %s (the file has the new roles)",
                             spawn_outcome_describe(res, outcome, sizeof outcome));
        else
                op_step_done(op, true, 0, "nginx: %s serves, %s is its backup", site(rj, rj->s)->nginx_server,
                             site(rj, rj->o)->nginx_server);
}

static void judge_nginx_test(struct op *op, void *ctx, const struct spawn_result *res) {
        struct rejoin *rj = ctx;
        char outcome[128], why[192];

        if (!spawn_result_ok(res)) {
                snprintf(why, sizeof why, "nginx test: %s", spawn_outcome_describe(res, outcome, sizeof outcome));
                restore_nginx(op, rj, why);
                return;
        }
        op_run_command(op, strv_copy(rj->config->nginx.reload_command.argv),
                       rj->config->nginx.reload_command.timeout_usec, judge_reload);
}

static void run_nginx(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;
        const struct config *c = rj->config;
        char *original = NULL;
        size_t original_len = 0;
        char detail[512];
        int r = siteop_nginx_write(c, rj->s, rj->o, &original, &original_len, detail, sizeof detail);

        if (r < 0) {
                op_step_done(op, false, -1, "%s", detail);
                return;
        }
        /* Already in shape: reloaded all the same — a switchover that failed at its reload left the file right and
         * nginx still sending traffic to the old primary. */
        if (r == 0) {
                op_say(op, false, "%s; reloading nginx so it uses it", detail);
                op_run_command(op, strv_copy(c->nginx.reload_command.argv), c->nginx.reload_command.timeout_usec,
                               judge_reload);
                return;
        }
        free(rj->nginx_original);
        rj->nginx_original = original;
        rj->nginx_original_len = original_len;
        op_run_command(op, strv_copy(c->nginx.test_command.argv), c->nginx.test_command.timeout_usec,
                       judge_nginx_test);
}

/* A switchover that stopped before it started the new primary's stack left the serving site without its API. */
static void run_stack_start_serving(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;

        if (!rj->serving_stack_needed) {
                op_step_done(op, true, -1, "not needed: %s's stack was started when it took over", site(rj, rj->s)->name);
                return;
        }
        if (!site(rj, rj->s)->stack_start.argv) {
                op_step_done(op, true, -1, "skipped: %s has no stack.start", site(rj, rj->s)->name);
                return;
        }
        siteop_run(op, rj->config, rj->s, &site(rj, rj->s)->stack_start, "active",
                   &(struct template_vars) { .control_path = rj->pair.control_path[rj->s] }, NULL);
}

static void run_done(struct op *op, void *ctx) {
        struct rejoin *rj = ctx;
        struct state *rec = op_record(op);

        /* Saved with the outcome, in one write: armed again, in the new direction. */
        snprintf(rec->serving, sizeof rec->serving, "%s", site(rj, rj->s)->name);
        snprintf(rec->standby, sizeof rec->standby, "%s", site(rj, rj->o)->name);
        rec->latch = STATE_LATCH_NONE;
        op_step_done(op, true, -1, "%s serves, %s streams from it: armed for a failover %s → %s",
                     site(rj, rj->s)->name, site(rj, rj->o)->name, site(rj, rj->s)->name, site(rj, rj->o)->name);
}

/* The steps, in their order: the journal names them by the table's strings, the code by these. */
enum rj_step {
        RJ_CHECK_SOURCE,
        RJ_CHECK_OLD,
        RJ_CHECK_REWINDABLE,
        RJ_STACK_STOP,
        RJ_STOP,
        RJ_CONTROLDATA,
        RJ_RECOVER,
        RJ_NEW_CHECKPOINT,
        RJ_REWIND_DRY,
        RJ_REPORT,
        RJ_REWIND,
        RJ_CLONE_PREPARE,
        RJ_CLONE,
        RJ_START,
        RJ_STREAMING,
        RJ_STACK_START_SERVING,
        RJ_STACK_START,
        RJ_NGINX,
        RJ_DONE,
        _RJ_STEP_MAX,
};

static const struct op_step steps[_RJ_STEP_MAX] = {
        [RJ_CHECK_SOURCE] = { "check_source", "the serving site is a primary with full_page_writes on", run_check_source, OP_REFUSE,
          false },
        [RJ_CHECK_OLD] = { "check_old", "the old primary does not answer as a writable primary (else: fence it first)", run_check_old,
          OP_REFUSE, false },
        [RJ_CHECK_REWINDABLE] = { "check_rewindable", "the old primary's pg_control: wal_log_hints or checksums (or a re-clone allowed)",
          run_check_rewindable, OP_REFUSE, false },
        [RJ_STACK_STOP] = { "stack_stop", "stop the old primary's stack (best effort)", run_stack_stop, OP_BEST_EFFORT, false },
        [RJ_STOP] = { "stop", "stop the old primary's database if it runs", run_stop, OP_STOP, false },
        [RJ_CONTROLDATA] = { "controldata", "pg_controldata: its state, last checkpoint and timeline", run_controldata, OP_STOP, false },
        [RJ_RECOVER] = { "recover", "single-user crash recovery, only when it did not shut down cleanly", run_recover, OP_STOP,
          false },
        [RJ_NEW_CHECKPOINT] = { "new_checkpoint", "CHECKPOINT on the serving site (pg_rewind reads its timeline)",
          siteop_step_new_checkpoint, OP_STOP, false },
        [RJ_REWIND_DRY] = { "rewind_dry", "pg_rewind --dry-run: where the timelines forked", run_rewind_dry, OP_STOP, false },
        [RJ_REPORT] = { "report", "what the rewind discards: the WAL and COMMITs past the fork (pg_waldump)", run_report, OP_STOP,
          false },
        [RJ_REWIND] = { "rewind", "pg_rewind -R the old primary from the serving site", run_rewind, OP_STOP, false },
        [RJ_CLONE_PREPARE] = { "clone_prepare", "re-clone only: move the old data directory aside (kept)", run_clone_prepare, OP_STOP,
          false },
        [RJ_CLONE] = { "clone", "re-clone only: pg_basebackup -R from the serving site", run_clone, OP_STOP, false },
        [RJ_START] = { "start", "start the old primary as a standby", siteop_step_start_target, OP_STOP, false },
        [RJ_STREAMING] = { "streaming", "the serving site sees it streaming, lag within rejoin.max_lag_bytes", siteop_step_streaming,
          OP_STOP, false },
        [RJ_STACK_START_SERVING] = { "stack_start_serving", "start the serving site's stack when an unfinished "
          "switchover left it stopped", run_stack_start_serving, OP_STOP, false },
        [RJ_STACK_START] = { "stack_start", "start its stack as the standby's", siteop_step_stack_start_target, OP_STOP, false },
        [RJ_NGINX] = { "nginx", "nginx: the serving site serves, the old primary is its backup (write, test, reload)", run_nginx,
          OP_STOP, false },
        [RJ_DONE] = { "done", "record: latch none, armed in the new direction", run_done, OP_STOP, false },
};

static const struct op_def rejoin_def = {
        .kind = STATE_OP_REJOIN, .what = "rejoin", .steps = steps, .n_steps = ELEMENTSOF(steps),
};

/* --rejoin --drill: the checklist (the table's leading OP_REFUSE steps), which changes nothing. */
#define REJOIN_CHECKLIST_STEPS (RJ_CHECK_REWINDABLE + 1)
static const struct op_def rejoin_drill_def = {
        .kind = STATE_OP_REJOIN, .what = "rejoin", .steps = steps, .n_steps = REJOIN_CHECKLIST_STEPS, .drill = true,
};

/* ---- entry points --------------------------------------------------------------------------------------- */

static void on_op_done(struct op *op, int code, void *userdata) {
        struct rejoin *rj = userdata;

        (void) op;
        rj->done(rj, code, rj->userdata);
}

/* Who serves, who rejoins; or why there is nothing to do. */
static int pick_sites(const struct config *c, const struct state *record, unsigned *ret_s, unsigned *ret_o,
                      char *why, size_t size) {
        int serving = roles_serving_index(c, record, why, size);
        bool unfinished = (record->op == STATE_OP_SWITCHOVER || record->op == STATE_OP_REJOIN) &&
                          record->outcome == STATE_FAILED;
        const char *missing;

        if (serving < 0) {
                if (!why[0])
                        snprintf(why, size, "rejoin refused: the record names a serving site the config lacks");
                return EXIT_CONFIG;
        }
        missing = config_rejoin_missing(c, !serving);
        if (missing) {
                snprintf(why, size, "rejoin: %s", missing);
                return EXIT_CONFIG;
        }
        if (record->outcome == STATE_RUNNING &&
            (record->op == STATE_OP_FAILOVER || record->latch == STATE_LATCH_NONE)) {
                snprintf(why, size, "rejoin refused: the record says a %s is running (or was interrupted): the daemon "
                         "finishes or puts it back first; see --status", state_op_to_string(record->op));
                return EXIT_REFUSED;
        }
        if (record->latch == STATE_LATCH_NONE && !unfinished) {
                snprintf(why, size, "rejoin refused: nothing to rejoin: the pair is armed (%s serves, %s is its "
                         "standby) and no failover, switchover or rejoin is left unfinished; see --status",
                         c->sites[serving].name, c->sites[!serving].name);
                return EXIT_REFUSED;
        }
        *ret_s = (unsigned) serving;
        *ret_o = !serving;
        return 0;
}

static bool reclone_allowed(const struct config *c, bool asked) {
        return asked || c->rejoin.reclone;
}

static bool journal_step_ok(const struct state *record, const char *name, bool *ret_present) {
        for (size_t i = 0; i < record->n_steps; i++)
                if (strcmp(record->steps[i].name, name) == 0) {
                        *ret_present = true;
                        return record->steps[i].status == STATE_STEP_OK;
                }
        *ret_present = false;
        return false;
}

/* A switchover that stopped before its new primary's stack ran (or a rejoin of one that did not get that far):
 * the serving site's stack is started before the rejoin calls the pair whole. Starting it is idempotent. */
static bool serving_stack_needed(const struct state *record) {
        bool present = false, ok;

        if (record->op == STATE_OP_SWITCHOVER) {
                ok = journal_step_ok(record, "stack_start_new", &present);
                return present && !ok;
        }
        if (record->op == STATE_OP_REJOIN) {
                ok = journal_step_ok(record, steps[RJ_STACK_START_SERVING].name, &present);
                return present && !ok;
        }
        return false;
}

int rejoin_start(const struct rejoin_params *p, struct rejoin **ret, char *why, size_t why_size) {
        struct rejoin *rj;
        unsigned s = 0, o = 1;
        int r;

        for (size_t i = 0; i < REJOIN_CHECKLIST_STEPS; i++)
                if (steps[i].on_failure != OP_REFUSE)
                        return -EINVAL;         /* a drill must never run a step that changes something */
        r = pick_sites(p->config, p->record, &s, &o, why, why_size);
        if (r > 0)
                return r;
        rj = calloc(1, sizeof *rj);
        if (!rj)
                return -ENOMEM;
        *rj = (struct rejoin) {
                .pair = { .config = p->config, .source = s, .target = o,
                          .stream_timeout_usec = p->config->rejoin.stream_timeout_usec,
                          .reclone_fallback = reclone_allowed(p->config, p->reclone) },
                .config = p->config, .s = s, .o = o, .reclone_allowed = reclone_allowed(p->config, p->reclone),
                .done = p->done, .userdata = p->userdata,
                .serving_stack_needed = serving_stack_needed(p->record),
        };
        if (siteop_pair_set_control_paths(&rj->pair, p->ssh_control_path) < 0) {
                rejoin_free(rj);
                return -ENOMEM;
        }
        struct op_params params = {
                .event = p->event, .bus = p->bus, .health = p->health, .state_dir = p->config->state_dir,
                .record = p->record, .trigger = "manual", .from = p->config->sites[o].name,
                .to = p->config->sites[s].name, .def = p->drill ? &rejoin_drill_def : &rejoin_def, .ctx = rj,
                .step_timeout_usec = STEP_GUARD_USEC, .done = on_op_done, .userdata = rj, .sync = p->sync,
        };
        r = op_start(&params, &rj->op);
        if (r < 0) {
                rejoin_free(rj);
                return r;
        }
        *ret = rj;
        return 0;
}

struct rejoin *rejoin_free(struct rejoin *rj) {
        if (!rj)
                return NULL;
        op_free(rj->op);
        siteop_pair_done(&rj->pair);
        free(rj->nginx_original);
        free(rj);
        return NULL;
}

/* ---- dry run -------------------------------------------------------------------------------------------- */

static void print_step_detail(FILE *out, const struct config *c, unsigned o, enum rj_step id) {
        const struct config_site *so = &c->sites[o];
        const struct config_site_commands *cmd = &so->database.commands;
        const struct template_vars dry = { .dry_run = true }, end = { .tli = 1, .from = "L" },
                                   stats = { .tli = 1, .from = "F", .until = "E" };
        _cleanup_free_ char *test = NULL, *reload = NULL;

        switch (id) {
        case RJ_CHECK_REWINDABLE:
        case RJ_CONTROLDATA:
                siteop_print_argv(out, c, o, &cmd->controldata, "standby", NULL);
                break;
        case RJ_STACK_STOP:
                siteop_print_argv(out, c, o, &so->stack_stop, "active", NULL);
                break;
        case RJ_STOP:
        case RJ_START:
                siteop_print_argv(out, c, o, &cmd->status, "standby", NULL);
                siteop_print_argv(out, c, o, id == RJ_STOP ? &cmd->stop : &cmd->start, "standby", NULL);
                break;
        case RJ_RECOVER:
                siteop_print_argv(out, c, o, &cmd->recover, "standby", NULL);
                break;
        case RJ_REWIND_DRY:
                siteop_print_argv(out, c, o, &cmd->rewind, "standby", &dry);
                break;
        case RJ_REPORT:
                fprintf(out, "      (T = the old primary's timeline, L its last checkpoint, F the fork, E the end of "
                        "the record at L; shown with T = 1)\n");
                siteop_print_argv(out, c, o, &cmd->waldump, "standby", &end);
                siteop_print_argv(out, c, o, &cmd->waldump, "standby", &stats);
                break;
        case RJ_REWIND:
                siteop_print_argv(out, c, o, &cmd->rewind, "standby", NULL);
                break;
        case RJ_CLONE_PREPARE:
                siteop_print_argv(out, c, o, &cmd->clone_prepare, "standby", NULL);
                break;
        case RJ_CLONE:
                siteop_print_argv(out, c, o, &cmd->clone, "standby", NULL);
                break;
        case RJ_STACK_START:
                siteop_print_argv(out, c, o, &so->stack_start, "standby", NULL);
                break;
        case RJ_NGINX:
                test = spawn_argv_to_string(c->nginx.test_command.argv);
                reload = spawn_argv_to_string(c->nginx.reload_command.argv);
                fprintf(out, "      $ %s\n      $ %s\n", test ? test : "?", reload ? reload : "?");
                break;
        default:
                break;
        }
}

int rejoin_dry_run(const struct config *c, const struct state *record, bool reclone, FILE *out) {
        unsigned s = 0, o = 1;
        char why[512] = "";
        int r;

        r = pick_sites(c, record, &s, &o, why, sizeof why);
        if (r > 0) {
                log_error("%s", why);
                return r;
        }
        fprintf(out, "Dry run: the rejoin of %s as %s's standby would run these steps, in this order (nothing is "
                "run); a re-clone is %s:\n", c->sites[o].name, c->sites[s].name, reclone_allowed(c, reclone)
                ? "allowed (when pg_rewind cannot run)" : "not allowed (--reclone or rejoin.reclone)");
        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                fprintf(out, "  %2zu. %-18s %s%s\n", i + 1, steps[i].name, steps[i].purpose,
                        steps[i].on_failure == OP_REFUSE ? " [checklist: refuses, changes nothing]"
                        : steps[i].on_failure == OP_BEST_EFFORT ? " [best effort]" : "");
                print_step_detail(out, c, o, (enum rj_step) i);
        }
        return siteop_print_nginx_change(out, c, s, o, "rejoin") < 0 ? EXIT_FAILURE : 0;
}
