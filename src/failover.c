/* failover: the failover sequence, run top to bottom — step after step, each recorded before and after. */
#include "failover.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diff.h"
#include "fileio.h"
#include "log.h"
#include "nginx.h"
#include "plan.h"
#include "spawn.h"
#include "state.h"
#include "util.h"
#include "verify.h"


struct failover {
        sd_event *event;
        struct event_bus *bus;
        struct plan *plan;
        char *state_dir;
        struct state state;
        size_t current;                 /* index of the running (or just finished) step */
        bool current_ok;
        struct spawn *child;
        struct db_query *query;
        struct verify *verify;
        struct health *health;
        int (*sync)(void *sync_userdata, void (*done)(void *f, int r), void *f);
        void (*sync_cancel)(void *sync_userdata, void *f);
        bool (*sync_may_act)(void *sync_userdata);
        void *sync_userdata;
        bool deposed;                   /* a cluster took the right to act away: nothing more starts */
        sd_event_source *advance;       /* deferred continuation: never recurse from a child's callback */
        char *nginx_original;           /* what the site file held before nginx_write, for the restore */
        size_t nginx_original_len;
        bool nginx_written;
        bool finished;
        bool resumed;                   /* continuing an interrupted record */
        uint64_t started_usec;          /* CLOCK_MONOTONIC */
        uint64_t step_started_usec;     /* CLOCK_MONOTONIC */
        failover_done_fn done;
        void *userdata;
};

static void save_state(struct failover *f) {
        int r = state_save(f->state_dir, &f->state);

        if (r < 0)
                log_error_errno(r, "failover: cannot record progress in %s/%s: %s; the step results above are the "
                                "only record", f->state_dir, STATE_FILE_NAME, strerror(-r));
}

static void emit_step(struct failover *f, enum event_kind kind, const char *fmt_detail) {
        const struct state_step *st = &f->state.steps[f->current];
        struct event ev = {
                .kind = kind, .step = st->name, .exit_status = st->exit_status,
                .duration_usec = st->duration_usec, .argv = st->detail,
        };

        if (kind == EVENT_STEP_STARTED)
                event_emit(f->bus, &ev, "failover: step %s started: %s", st->name, fmt_detail);
        else
                event_emit(f->bus, &ev, "failover: step %s %s (%.3fs): %s", st->name,
                           kind == EVENT_STEP_SUCCEEDED ? "ok" : "failed", (double) st->duration_usec / 1e6,
                           fmt_detail);
}

/* The promotion is the role change: the standby serves from now on, whatever happens to the steps after it. Saved
 * with the step's result (the next save), so no record says "promote ok" with the old roles. */
static void record_promoted(struct state *s) {
        snprintf(s->serving, sizeof s->serving, "%s", s->to);
        snprintf(s->standby, sizeof s->standby, "%s", s->from);
        s->epoch++;
        s->latch = STATE_LATCH_FAILOVER;
}

static void schedule_advance(struct failover *f) {
        sd_event_source_set_enabled(f->advance, SD_EVENT_ONESHOT);
}

static void step_finished(struct failover *f, bool ok, int exit_status, uint64_t duration_usec, const char *detail) {
        struct state_step *st = &f->state.steps[f->current];
        bool optional = f->plan->steps[f->current].optional;

        st->status = ok ? STATE_STEP_OK : STATE_STEP_FAILED;
        st->exit_status = exit_status;
        st->duration_usec = duration_usec;
        emit_step(f, ok ? EVENT_STEP_SUCCEEDED : EVENT_STEP_FAILED, detail);
        /* The record keeps what ran and how it ended: "nginx -t: exit 1". */
        char what[sizeof st->detail];
        snprintf(what, sizeof what, "%s", st->detail);
        /* A long argv gives way to the outcome, and says it was cut. */
        snprintf(st->detail, sizeof st->detail, strlen(what) > 300 ? "%.297s...: %s" : "%s: %s", what, detail);
        if (!ok && optional) {
                log_warning("failover: step %s is best effort: going on without it", st->name);
                ok = true;
        }
        if (st->status == STATE_STEP_OK && strcmp(st->name, "promote") == 0)
                record_promoted(&f->state);
        f->current_ok = ok;
        /* Not saved here: the next thing on_advance does — mark the next step running, or record the outcome —
         * saves this step's result with it, one fsync instead of two per step (bench/: each costs ~0.6 ms, with
         * spikes). A crash in between leaves this step "running": resumed, it runs again, and the one step that is
         * not blindly repeatable, the promotion, is checked through libpq first (resume_from). */
        schedule_advance(f);
}

/* ---- nginx site file ------------------------------------------------------------------------------------ */

/* The site file as it is now (*ret_current) and as it must become (*ret_new). */
static int nginx_rewrite_file(const struct plan *p, char **ret_current, size_t *ret_current_len, char **ret_new,
                              size_t *ret_len, char *detail, size_t size) {
        struct nginx_error err = {};
        int r;

        r = fileio_read(p->nginx_config, FAILOVER_NGINX_MAX, ret_current, ret_current_len);
        if (r < 0) {
                snprintf(detail, size, "cannot read %s: %s", p->nginx_config, strerror(-r));
                return r;
        }
        r = nginx_rewrite_upstream(*ret_current, *ret_current_len, p->upstream, p->active_server,
                                   p->standby_server, ret_new, ret_len, &err);
        if (r < 0)
                snprintf(detail, size, "%s:%u:%u: %s", p->nginx_config, err.line, err.col, err.message);
        return r;
}

/* Backup first, then the file: a crash in between leaves the old file and a backup of it, nothing lost. */
static int nginx_write_both(struct failover *f, char *current, size_t current_len, const char *rewritten,
                            size_t len, char *detail, size_t size) {
        const struct plan *p = f->plan;
        const char *target = p->nginx_backup;
        int r;

        r = fileio_write_atomic(p->nginx_backup, current, current_len, 0600);
        if (r == 0) {
                target = p->nginx_config;
                r = fileio_write_atomic(p->nginx_config, rewritten, len, 0644);
        }
        if (r < 0) {
                snprintf(detail, size, "cannot write %s: %s", target, strerror(-r));
                return r;
        }
        free(f->nginx_original);
        f->nginx_original = current;
        f->nginx_original_len = current_len;
        f->nginx_written = true;
        snprintf(detail, size, "wrote %s (previous version in %s)", p->nginx_config, p->nginx_backup);
        return 0;
}

static void step_nginx_write(struct failover *f) {
        const struct plan *p = f->plan;
        uint64_t start = now_monotonic_usec();
        char *current = NULL, *rewritten = NULL, detail[512];
        size_t current_len = 0, len = 0;
        int r;

        r = nginx_rewrite_file(p, &current, &current_len, &rewritten, &len, detail, sizeof detail);
        if (r == 0 && len == current_len && memcmp(rewritten, current, len) == 0)
                snprintf(detail, sizeof detail, "%s already switched; left as it is", p->nginx_config);
        else if (r == 0) {
                r = nginx_write_both(f, current, current_len, rewritten, len, detail, sizeof detail);
                if (r == 0)
                        current = NULL;         /* kept for the restore */
        }
        free(current);
        free(rewritten);
        step_finished(f, r == 0, -1, now_monotonic_usec() - start, detail);
}

static void nginx_restore(struct failover *f) {
        const char *path = f->plan->nginx_config;
        int r;

        if (!f->nginx_written)
                return;
        r = fileio_write_atomic(path, f->nginx_original, f->nginx_original_len, 0644);
        if (r < 0)
                log_error_errno(r, "failover: cannot restore %s: %s; its previous content is in %s — copy it back "
                                "by hand", path, strerror(-r), f->plan->nginx_backup);
        else
                log_notice("failover: restored %s to its previous content (nothing was switched)", path);
        f->nginx_written = r < 0;
}

/* ---- commands ------------------------------------------------------------------------------------------- */

static void on_child_done(struct spawn *s, const struct spawn_result *res, void *userdata) {
        struct failover *f = userdata;
        char outcome[128];

        event_emit_output(f->bus, "failover", f->state.steps[f->current].name, res->output, res->output_len,
                          res->output_truncated ? SPAWN_OUTPUT_MAX : 0);
        spawn_outcome_describe(res, outcome, sizeof outcome);
        step_finished(f, spawn_result_ok(res), res->outcome == SPAWN_EXITED ? res->exit_code : -1,
                      res->duration_usec, outcome);
}

static void step_command(struct failover *f, const struct plan_step *ps) {
        int r = spawn_start(f->event, ps->argv, NULL, ps->timeout_usec, on_child_done, f, &f->child);

        if (r < 0) {
                char detail[256];
                snprintf(detail, sizeof detail, "cannot start %s: %s", ps->argv[0], strerror(-r));
                step_finished(f, false, -1, 0, detail);
        }
}

static void on_promoted(struct db_query *q, const struct db_result *r, void *userdata) {
        struct failover *f = userdata;
        char detail[320];
        bool ok = r->error == 0 && r->values[0] && strcmp(r->values[0], "t") == 0;

        /* Asked twice (a resumed failover), PostgreSQL says the standby is no longer in recovery: that is done. */
        if (!ok && strstr(r->message, "recovery is not in progress")) {
                ok = true;
                snprintf(detail, sizeof detail, "already promoted (not in recovery)");
        } else if (ok)
                snprintf(detail, sizeof detail, "pg_promote() signalled the standby; verify waits for it to finish");
        else
                snprintf(detail, sizeof detail, "pg_promote() failed: %s", r->error ? r->message
                         : "it returned false");
        step_finished(f, ok, -1, r->duration_usec, detail);
}

static void step_pg_promote(struct failover *f, const struct plan_step *ps) {
        const struct plan *p = f->plan;
        int r = db_query_start(f->event, p->db_standby, p->db_password_file, ps->timeout_usec, DB_SQL_PROMOTE,
                               on_promoted, f, &f->query);

        if (r < 0) {
                char detail[256];
                snprintf(detail, sizeof detail, "cannot reach the standby database: %s", strerror(-r));
                step_finished(f, false, -1, 0, detail);
        }
}

/* Resuming at the trigger-file promotion: ask first, so a standby that already promoted gets no new trigger. */
static void on_promote_precheck(struct db_query *q, const struct db_result *r, void *userdata) {
        struct failover *f = userdata;
        bool in_recovery = true;

        if (r->error == 0 && db_parse_bool(r->values[0], &in_recovery) == 0 && !in_recovery) {
                step_finished(f, true, -1, r->duration_usec, "already promoted (not in recovery); not touched again");
                return;
        }
        if (r->error < 0) {
                char detail[320];
                snprintf(detail, sizeof detail, "cannot tell whether the standby already promoted: %s", r->message);
                step_finished(f, false, -1, r->duration_usec, detail);
                return;
        }
        f->resumed = false;
        step_command(f, &f->plan->steps[f->current]);
}

static void step_promote_precheck(struct failover *f) {
        const struct plan *p = f->plan;
        int r = db_query_start(f->event, p->db_standby, p->db_password_file, p->db_connect_timeout_usec,
                               DB_SQL_IN_RECOVERY, on_promote_precheck, f, &f->query);

        if (r < 0) {
                char detail[256];
                snprintf(detail, sizeof detail, "cannot reach the standby database: %s", strerror(-r));
                step_finished(f, false, -1, 0, detail);
        }
}

static void on_verified(struct verify *v, bool ok, const char *detail, void *userdata) {
        struct failover *f = userdata;

        step_finished(f, ok, -1, now_monotonic_usec() - f->step_started_usec, detail);
}

static void step_verify(struct failover *f) {
        int r = verify_start(f->event, f->health, f->plan, on_verified, f, &f->verify);

        if (r < 0) {
                char detail[256];
                snprintf(detail, sizeof detail, "cannot start the checks: %s", strerror(-r));
                step_finished(f, false, -1, 0, detail);
        }
}

/* ---- the sequence --------------------------------------------------------------------------------------- */

static void failover_finish(struct failover *f, bool ok) {
        struct event ev = { .kind = ok ? EVENT_FAILOVER_SUCCEEDED : EVENT_FAILOVER_FAILED, .exit_status = -1,
                            .duration_usec = now_monotonic_usec() - f->started_usec };

        f->finished = true;
        f->state.outcome = ok ? STATE_SUCCEEDED : STATE_FAILED;
        f->state.finished_usec = now_realtime_usec();
        if (!ok)
                snprintf(f->state.failed_step, sizeof f->state.failed_step, "%s", f->state.steps[f->current].name);
        save_state(f);
        if (f->sync && !f->deposed)     /* the outcome goes to etcd too; nothing waits for it */
                (void) f->sync(f->sync_userdata, NULL, f);
        if (ok)
                event_emit(f->bus, &ev, "failover: succeeded in %.3fs: nginx serves %s, standby database promoted, "
                           "standby stack started", (double) ev.duration_usec / 1e6, f->plan->standby_server);
        else {
                ev.step = f->state.failed_step;
                event_emit(f->bus, &ev, "failover: failed at step %s after %.3fs; %s", ev.step,
                           (double) ev.duration_usec / 1e6, f->plan->steps[f->current].restore_nginx_on_failure
                           ? "nothing was switched" : "the steps before it took effect: see --status and finish by hand");
        }
        f->done(f, ok, f->userdata);
}

static void step_run(struct failover *f) {
        const struct plan_step *ps = &f->plan->steps[f->current];

        emit_step(f, EVENT_STEP_STARTED, f->state.steps[f->current].detail);
        switch (ps->action) {
        case PLAN_NGINX_WRITE:
                step_nginx_write(f);
                break;
        case PLAN_COMMAND:
                if (f->resumed && strcmp(ps->name, "promote") == 0 && f->plan->db_standby)
                        step_promote_precheck(f);
                else
                        step_command(f, ps);
                break;
        case PLAN_PG_PROMOTE:
                step_pg_promote(f, ps);
                break;
        case PLAN_VERIFY:
                step_verify(f);
                break;
        }
}

/* etcd refused the journal (this member no longer leads) or it could not reach it in time: the member stops acting
 * and the manager frees this failover right after; nothing more starts meanwhile. */
static void on_synced(void *userdata, int r) {
        struct failover *f = userdata;

        if (r >= 0 || f->deposed)
                return;
        f->deposed = true;
        log_warning("failover: the journal could not be written to etcd (%s): this monitor may no longer act; the "
                    "next leader resumes the failover from the journal", strerror(-r));
}

static void step_start(struct failover *f) {
        const struct plan_step *ps = &f->plan->steps[f->current];
        struct state_step *st = &f->state.steps[f->current];
        _cleanup_free_ char *line = ps->argv ? spawn_argv_to_string(ps->argv) : NULL;
        int r;

        /* the acting rule, asked now: before it fails, no other member can lead yet — and nothing is recorded
         * as running that does not run */
        if (f->sync && (f->deposed || !f->sync_may_act(f->sync_userdata))) {
                f->deposed = true;
                log_warning("failover: step %s not started: this monitor may no longer act; the next leader resumes "
                            "the failover from the journal", st->name);
                return;
        }
        st->status = STATE_STEP_RUNNING;
        st->started_usec = now_realtime_usec();
        f->step_started_usec = now_monotonic_usec();
        snprintf(st->detail, sizeof st->detail, "%s", line ? line : ps->purpose);
        save_state(f);
        if (f->sync) {
                r = f->sync(f->sync_userdata, on_synced, f);
                if (r < 0) {
                        on_synced(f, r);
                        return;
                }
        }
        step_run(f);
}

static int on_advance(sd_event_source *s, void *userdata) {
        struct failover *f = userdata;

        f->child = spawn_free(f->child);
        f->query = db_query_free(f->query);
        f->verify = verify_free(f->verify);
        if (!f->current_ok) {
                /* in a cluster, only while this monitor may still act: else the next leader decides */
                if (f->plan->steps[f->current].restore_nginx_on_failure &&
                    !(f->sync && (f->deposed || !f->sync_may_act(f->sync_userdata))))
                        nginx_restore(f);
                failover_finish(f, false);
                return 0;
        }
        if (++f->current == f->plan->n_steps) {
                failover_finish(f, true);
                return 0;
        }
        step_start(f);
        return 0;
}

/* Who the failover moves the pair from and to (the config's active and standby), and who serves until the
 * promotion: the previous record's roles and epoch (a record armed again after a rejoin), else the config's. The
 * latch is set from the first save on: a failover that stopped before its promotion may still have fenced the
 * active or rewritten nginx, so it holds a second one as every recorded failover always did. */
static void record_roles(struct state *s, const struct config *c, const struct state *previous) {
        state_set_site(s->from, c->active.name, c->serving);
        state_set_site(s->to, c->standby.name, !c->serving);
        s->op = STATE_OP_FAILOVER;
        s->latch = STATE_LATCH_FAILOVER;
        if (previous && previous->serving[0]) {
                memcpy(s->serving, previous->serving, sizeof s->serving);
                memcpy(s->standby, previous->standby, sizeof s->standby);
                s->epoch = previous->epoch;
        } else {
                memcpy(s->serving, s->from, sizeof s->serving);
                memcpy(s->standby, s->to, sizeof s->standby);
        }
}

static void record_plan(struct failover *f, const struct config *c, const char *trigger) {
        struct state previous;
        bool have_previous = state_load(f->state_dir, &previous) == 0;

        f->state = (struct state) { .outcome = STATE_RUNNING, .started_usec = now_realtime_usec() };
        record_roles(&f->state, c, have_previous ? &previous : NULL);
        snprintf(f->state.trigger, sizeof f->state.trigger, "%s", trigger);
        for (size_t i = 0; i < f->plan->n_steps; i++) {
                snprintf(f->state.steps[i].name, sizeof f->state.steps[i].name, "%s", f->plan->steps[i].name);
                f->state.steps[i].status = STATE_STEP_PENDING;
                f->state.steps[i].exit_status = -1;
        }
        f->state.n_steps = f->plan->n_steps;
}

static int resume_refused(const struct state *old, const char *why) {
        log_error("failover: not resuming the interrupted failover: %s. Done and left, per the record:", why);
        for (size_t i = 0; i < old->n_steps; i++)
                log_error("failover:   %-14s %s", old->steps[i].name, old->steps[i].status == STATE_STEP_OK
                          ? "done" : old->steps[i].status == STATE_STEP_PENDING ? "left"
                          : "interrupted or failed: check it by hand");
        log_error("failover: finish the remaining steps by hand (see README, \"Resuming\"), then run "
                  "blfailoverd --clear-state");
        return -ESTALE;
}

/* Continues an interrupted record: steps done are not run again. The promotion is the one step that is not
 * safely repeatable blind: a trigger file touched on a server that already promoted stays behind and would
 * promote it again the day it is rebuilt as a standby. So it is resumed only when libpq can tell first. */
static int resume_from(struct failover *f, const struct config *config, const struct state *old) {
        size_t first = 0;

        if (old->n_steps != f->plan->n_steps)
                return resume_refused(old, "the record's steps do not match the config's");
        for (size_t i = 0; i < old->n_steps; i++)
                if (strcmp(old->steps[i].name, f->plan->steps[i].name) != 0)
                        return resume_refused(old, "the record's steps do not match the config's");
        while (first < old->n_steps && old->steps[first].status == STATE_STEP_OK)
                first++;
        if (first < old->n_steps && strcmp(old->steps[first].name, "promote") == 0 &&
            old->steps[first].status != STATE_STEP_PENDING && f->plan->steps[first].action == PLAN_COMMAND &&
            !f->plan->db_standby)
                return resume_refused(old, "the promotion was under way and without a database section the "
                                      "standby's recovery state cannot be checked");
        f->state = *old;
        f->state.outcome = STATE_RUNNING;
        if (!old->serving[0]) {
                /* a format-1 record names no site: name them now, as a promotion already made them if it did */
                record_roles(&f->state, config, NULL);
                f->state.epoch = 0;
                if (state_promoted(old))
                        record_promoted(&f->state);
        }
        f->current = first;
        f->resumed = true;
        /* A switched site file from the first attempt can still be put back from its backup. */
        if (old->steps[0].status != STATE_STEP_PENDING &&
            fileio_read(f->plan->nginx_backup, FAILOVER_NGINX_MAX, &f->nginx_original, &f->nginx_original_len) == 0)
                f->nginx_written = true;
        return 0;
}

/* The refusal is retried at every check while the directory stays unwritable: the caller decides when it is news. */
static int refused_unrecorded(const struct failover *f, const struct failover_params *params, int r) {
        char why[512];

        snprintf(why, sizeof why, "cannot record it in %s/%s: %s (fix the directory; without the record a "
                 "restart could fail over twice)", f->state_dir, STATE_FILE_NAME, strerror(-r));
        if (params->why)
                snprintf(params->why, params->why_size, "%s", why);
        else
                log_error_errno(r, "failover: not started: %s", why);
        return r;
}

static int failover_init(struct failover *f, const struct failover_params *params) {
        struct event ev = { .kind = EVENT_FAILOVER_STARTED, .exit_status = -1 };
        int r;

        r = plan_build(params->config, &params->options, &f->plan);
        if (r < 0)
                return r;
        f->state_dir = strdup(params->config->state_dir);
        if (!f->state_dir)
                return -ENOMEM;
        r = sd_event_add_defer(f->event, &f->advance, on_advance, f);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(f->advance, SD_EVENT_OFF);
        if (params->resume) {
                r = resume_from(f, params->config, params->resume);
                if (r < 0)
                        return r;
        } else
                record_plan(f, params->config, params->trigger);
        r = state_save(f->state_dir, &f->state);
        if (r < 0)
                return refused_unrecorded(f, params, r);
        f->started_usec = now_monotonic_usec();
        if (params->resume)
                event_emit(f->bus, &ev, "failover: resumed at step %s (%zu of %zu); steps before it are done",
                           f->plan->steps[f->current].name, f->current + 1, f->plan->n_steps);
        else
                event_emit(f->bus, &ev, "failover: started (%s): %zu steps", params->trigger, f->plan->n_steps);
        if (f->current == f->plan->n_steps) {
                f->current--;           /* every step is done: only the finish is left */
                schedule_advance(f);
        } else
                step_start(f);
        return 0;
}

int failover_start(sd_event *e, const struct failover_params *params, failover_done_fn done, void *userdata,
                   struct failover **ret) {
        struct failover *f = calloc(1, sizeof *f);
        int r;

        if (!f)
                return -ENOMEM;
        f->event = sd_event_ref(e);
        f->bus = params->bus;
        f->health = params->health;
        f->sync = params->sync;
        f->sync_cancel = params->sync_cancel;
        f->sync_may_act = params->sync_may_act;
        f->sync_userdata = params->sync_userdata;
        f->done = done;
        f->userdata = userdata;
        f->current_ok = true;
        r = failover_init(f, params);
        if (r < 0) {
                failover_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

struct failover *failover_free(struct failover *f) {
        if (!f)
                return NULL;
        if (!f->finished && f->child)
                log_warning("failover: interrupted during step %s; the state records it as unfinished",
                            f->state.steps[f->current].name);
        if (f->sync_cancel)
                f->sync_cancel(f->sync_userdata, f);
        spawn_free(f->child);
        db_query_free(f->query);
        verify_free(f->verify);
        sd_event_source_disable_unref(f->advance);
        sd_event_unref(f->event);
        plan_free(f->plan);
        free(f->state_dir);
        free(f->nginx_original);
        free(f);
        return NULL;
}

int failover_dry_run(const struct config *c, FILE *out) {
        _cleanup_free_ char *original = NULL, *rewritten = NULL;
        struct nginx_error err = {};
        struct plan *p = NULL;
        size_t len, new_len;
        int r;

        r = fileio_read(c->nginx.config, FAILOVER_NGINX_MAX, &original, &len);
        if (r < 0)
                return log_error_errno(r, "dry run: cannot read %s: %s", c->nginx.config, strerror(-r));
        r = nginx_rewrite_upstream(original, len, c->nginx.upstream, c->nginx.active_server,
                                   c->nginx.standby_server, &rewritten, &new_len, &err);
        if (r < 0)
                return log_error_errno(r, "dry run: %s:%u:%u: %s", c->nginx.config, err.line, err.col, err.message);
        r = plan_build(c, NULL, &p);
        if (r < 0)
                return log_error_errno(r, "dry run: cannot build the plan: %s", strerror(-r));
        fprintf(out, "Dry run: the failover would run these steps, in this order (nothing is run):\n");
        plan_print(p, out);
        fprintf(out, "\nChange to %s:\n", c->nginx.config);
        if (diff_unified(original, len, rewritten, new_len, c->nginx.config, c->nginx.config, out) == 0)
                fprintf(out, "(none: the upstream is already switched)\n");
        plan_free(p);
        return 0;
}
