/* op: one lifecycle operation's steps, run in order on the loop, each journaled before and after. */
#include "op.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcode.h"
#include "log.h"
#include "util.h"


enum phase {
        PHASE_FORWARD,
        PHASE_PUT_BACK,
};

struct op {
        sd_event *event;
        struct event_bus *bus;
        struct health *health;
        char *state_dir;
        const struct op_def *def;
        void *ctx;
        struct state record;
        struct op_sync sync;
        bool deposed;                   /* a cluster took the right to act away: nothing more starts */
        bool journaling;                /* the first step past the checklist started: the record is ours */
        enum phase phase;
        size_t current;                 /* index into the phase's table */
        size_t slot;                    /* index of the current step in record.steps */
        bool current_ok;
        bool passed_no_return;
        bool put_back_failed;
        bool refused;
        bool finished;
        bool begun;                     /* the first step was started (from the loop, never from op_start) */
        uint64_t started_usec;          /* CLOCK_MONOTONIC */
        uint64_t step_started_usec;
        uint64_t step_timeout_usec;
        char *trigger, *from, *to;

        /* the primitive in flight (at most one) */
        struct spawn *child;
        op_judge_command_fn judge_command;
        struct db_query *query;
        op_judge_sql_fn judge_sql;
        op_check_sql_fn check_sql;
        char *poll_conninfo, *poll_password_file, *poll_sql;
        uint64_t poll_timeout_usec, poll_interval_usec, poll_deadline_usec;
        char poll_detail[512];          /* the last answer's figures, as `check` wrote them */
        char poll_error[256];           /* the last query's error, when it failed after answers had come */
        bool poll_answered;
        unsigned polls;
        sd_event_source *poll_timer;
        struct health_target *http;
        op_judge_http_fn judge_http;

        sd_event_source *step_timer;
        sd_event_source *advance;
        op_done_fn done;
        void *userdata;
};

static const struct op_step *step_def(const struct op *op) {
        return op->phase == PHASE_FORWARD ? &op->def->steps[op->current] : &op->def->put_back[op->current];
}

struct state *op_record(struct op *op) {
        return &op->record;
}

const char *op_step_name(const struct op *op) {
        return step_def(op)->name;
}

bool op_putting_back(const struct op *op) {
        return op->phase == PHASE_PUT_BACK;
}

static int save(struct op *op) {
        int r;

        if (!op->journaling)
                return 0;
        r = state_save(op->state_dir, &op->record);
        if (r < 0)
                log_error_errno(r, "%s: cannot record progress in %s/%s: %s; the step results in this log are the "
                                "only record", op->def->what, op->state_dir, STATE_FILE_NAME, strerror(-r));
        return r;
}

void op_say(struct op *op, bool warning, const char *fmt, ...) {
        char text[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        if (warning)
                log_warning("%s: step %s: %s", op->def->what, step_def(op)->name, text);
        else
                log_notice("%s: step %s: %s", op->def->what, step_def(op)->name, text);
}

static char *mfree(char *p) {
        free(p);
        return NULL;
}

static void release_primitive(struct op *op) {
        op->child = spawn_free(op->child);
        op->query = db_query_free(op->query);
        op->poll_timer = sd_event_source_disable_unref(op->poll_timer);
        op->http = health_target_free(op->http);
        op->step_timer = sd_event_source_disable_unref(op->step_timer);
        op->poll_conninfo = mfree(op->poll_conninfo);
        op->poll_password_file = mfree(op->poll_password_file);
        op->poll_sql = mfree(op->poll_sql);
}

void op_step_done(struct op *op, bool ok, int exit_status, const char *fmt, ...) {
        const struct op_step *sd = step_def(op);
        struct state_step *st = &op->record.steps[op->slot];
        uint64_t duration = now_monotonic_usec() - op->step_started_usec;
        struct event ev = { .kind = ok ? EVENT_STEP_SUCCEEDED : EVENT_STEP_FAILED, .step = sd->name,
                            .exit_status = exit_status, .duration_usec = duration };
        char detail[sizeof st->detail];
        va_list ap;

        if (op->finished || st->status != STATE_STEP_RUNNING)
                return;         /* a late answer after the step's deadline already ended it */
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
        st->status = ok ? STATE_STEP_OK : STATE_STEP_FAILED;
        st->exit_status = exit_status;
        st->duration_usec = duration;
        snprintf(st->detail, sizeof st->detail, "%s", detail);
        ev.argv = st->detail;
        event_emit(op->bus, &ev, "%s: step %s %s (%.3fs): %s", op->def->what, sd->name, ok ? "ok" : "failed",
                   (double) duration / 1e6, detail);
        if (!ok && sd->on_failure == OP_BEST_EFFORT && op->phase == PHASE_FORWARD) {
                log_warning("%s: step %s is best effort: going on without it", op->def->what, sd->name);
                ok = true;
        }
        op->current_ok = ok;
        sd_event_source_set_enabled(op->advance, SD_EVENT_ONESHOT);
}

static int on_step_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct op *op = userdata;

        release_primitive(op);
        op_step_done(op, false, -1, "did not end within %.3fs (killed)", (double) op->step_timeout_usec / 1e6);
        return 0;
}

/* ---- primitives ----------------------------------------------------------------------------------------- */

static void on_command_done(struct spawn *s, const struct spawn_result *res, void *userdata) {
        struct op *op = userdata;
        char outcome[128];

        event_emit_output(op->bus, op->def->what, step_def(op)->name, res->output, res->output_len,
                          res->output_truncated ? SPAWN_OUTPUT_MAX : 0);
        if (op->judge_command) {
                op->judge_command(op, op->ctx, res);
                return;
        }
        spawn_outcome_describe(res, outcome, sizeof outcome);
        op_step_done(op, spawn_result_ok(res), res->outcome == SPAWN_EXITED ? res->exit_code : -1, "%s", outcome);
}

void op_run_command(struct op *op, char **argv, uint64_t timeout_usec, op_judge_command_fn judge) {
        _cleanup_free_ char *line = argv ? spawn_argv_to_string(argv) : NULL;
        int r;

        if (!argv) {
                op_step_done(op, false, -1, "no command to run (the config lacks it)");
                return;
        }
        snprintf(op->record.steps[op->slot].detail, sizeof op->record.steps[op->slot].detail, "%s",
                 line ? line : argv[0]);
        op->judge_command = judge;
        op->child = spawn_free(op->child);      /* a judge may chain a second command: safe from the callback */
        r = spawn_start(op->event, argv, NULL, timeout_usec, on_command_done, op, &op->child);
        if (r < 0)
                op_step_done(op, false, -1, "cannot start %s: %s", argv[0], strerror(-r));
        strv_free(argv);
}

static void on_sql_done(struct db_query *q, const struct db_result *r, void *userdata) {
        struct op *op = userdata;

        op->judge_sql(op, op->ctx, r);
}

void op_run_sql(struct op *op, const char *conninfo, const char *password_file, uint64_t timeout_usec,
                const char *sql, op_judge_sql_fn judge) {
        int r;

        op->judge_sql = judge;
        op->query = db_query_free(op->query);   /* a judge may chain a second query: safe from the callback */
        r = db_query_start(op->event, conninfo, password_file, timeout_usec, sql, on_sql_done, op, &op->query);
        if (r < 0)
                op_step_done(op, false, -1, "cannot start the query: %s", strerror(-r));
}

static void poll_ask(struct op *op);

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct op *op = userdata;

        op->poll_timer = sd_event_source_disable_unref(op->poll_timer);
        poll_ask(op);
        return 0;
}

static void on_poll_answer(struct db_query *q, const struct db_result *res, void *userdata) {
        struct op *op = userdata;
        uint64_t now = now_monotonic_usec(), next;
        int r;

        op->polls++;
        /* A failed query does not overwrite the figures of the last answer: the last query before the deadline
         * has little time left, and its "no answer within 0.018s" would hide why the step really failed. */
        if (res->error < 0 && !op->poll_answered) {
                snprintf(op->poll_detail, sizeof op->poll_detail, "%s", res->message);
                r = 0;
        } else if (res->error < 0) {
                snprintf(op->poll_error, sizeof op->poll_error, "%s", res->message);
                r = 0;
        } else {
                op->poll_answered = true;
                op->poll_error[0] = 0;
                r = op->check_sql(op, op->ctx, res, op->poll_detail, sizeof op->poll_detail);
        }
        op->query = db_query_free(op->query);
        if (r > 0) {
                op_step_done(op, true, -1, "%s (after %u %s)", op->poll_detail, op->polls,
                             op->polls == 1 ? "query" : "queries");
                return;
        }
        if (r < 0 || now >= op->poll_deadline_usec) {
                if (r < 0)
                        op_step_done(op, false, -1, "%s", op->poll_detail);
                else
                        op_step_done(op, false, -1, "%s (gave up at the deadline%s%s)", op->poll_detail,
                                     op->poll_error[0] ? "; the last query: " : "", op->poll_error);
                return;
        }
        next = now + op->poll_interval_usec;
        if (next > op->poll_deadline_usec)
                next = op->poll_deadline_usec;
        r = sd_event_add_time(op->event, &op->poll_timer, CLOCK_MONOTONIC, next, 1000, on_poll_timer, op);
        if (r < 0)
                op_step_done(op, false, -1, "cannot arm a timer: %s", strerror(-r));
}

static void poll_ask(struct op *op) {
        uint64_t left = op->poll_deadline_usec > now_monotonic_usec() ? op->poll_deadline_usec - now_monotonic_usec()
                                                                       : 1;
        int r;

        if (left > op->poll_timeout_usec)
                left = op->poll_timeout_usec;
        r = db_query_start(op->event, op->poll_conninfo, op->poll_password_file, left, op->poll_sql,
                           on_poll_answer, op, &op->query);
        if (r < 0)
                op_step_done(op, false, -1, "cannot start the query: %s", strerror(-r));
}

void op_poll_sql(struct op *op, const char *conninfo, const char *password_file, uint64_t timeout_usec,
                 const char *sql, uint64_t interval_usec, uint64_t deadline_usec, op_check_sql_fn check) {
        op->query = db_query_free(op->query);
        op->poll_conninfo = mfree(op->poll_conninfo);
        op->poll_password_file = mfree(op->poll_password_file);
        op->poll_sql = mfree(op->poll_sql);
        op->poll_conninfo = strdup(conninfo);
        op->poll_password_file = password_file ? strdup(password_file) : NULL;
        op->poll_sql = strdup(sql);
        if (!op->poll_conninfo || !op->poll_sql || (password_file && !op->poll_password_file)) {
                op_step_done(op, false, -1, "out of memory");
                return;
        }
        op->check_sql = check;
        op->poll_timeout_usec = timeout_usec;
        op->poll_interval_usec = interval_usec;
        op->poll_deadline_usec = deadline_usec;
        op->polls = 0;
        op->poll_answered = false;
        op->poll_error[0] = 0;
        snprintf(op->poll_detail, sizeof op->poll_detail, "no answer yet");
        poll_ask(op);
}

static void on_http_done(struct health_target *t, const struct health_result *r, void *userdata) {
        struct op *op = userdata;

        op->judge_http(op, op->ctx, r);
}

void op_http_get(struct op *op, const char *url, uint64_t timeout_usec, const char *expect_body,
                 op_judge_http_fn judge) {
        int r;

        op->judge_http = judge;
        op->http = health_target_free(op->http);
        r = health_target_new(op->health, url, timeout_usec, expect_body, on_http_done, op, &op->http);
        if (r >= 0)
                r = health_target_start(op->http);
        if (r < 0)
                op_step_done(op, false, -1, "cannot start the check: %s", strerror(-r));
}

/* ---- the sequence --------------------------------------------------------------------------------------- */

static void finish(struct op *op, int code) {
        struct event ev = { .exit_status = code, .duration_usec = now_monotonic_usec() - op->started_usec };
        const char *what = op->def->what;

        op->finished = true;
        release_primitive(op);
        if (op->journaling) {
                op->record.outcome = code == EXIT_SUCCESS ? STATE_SUCCEEDED : code == EXIT_PUT_BACK ? STATE_PUT_BACK
                                                                                                      : STATE_FAILED;
                op->record.finished_usec = now_realtime_usec();
                save(op);
                if (op->sync.sync && !op->deposed)     /* the outcome goes to etcd too; nothing waits for it */
                        (void) op->sync.sync(op->sync.userdata, NULL, op);
        }
        switch (code) {
        case EXIT_SUCCESS:
                if (op->def->drill) {
                        log_notice("%s drill: every check passed in %.3fs (%s → %s); nothing was changed", what,
                                   (double) ev.duration_usec / 1e6, op->from, op->to);
                        break;
                }
                ev.kind = EVENT_OPERATION_SUCCEEDED;
                event_emit(op->bus, &ev, "%s: succeeded in %.3fs: %s serves, %s is its standby (epoch %" PRIu64 ")",
                           what, (double) ev.duration_usec / 1e6, op->record.serving, op->record.standby,
                           op->record.epoch);
                break;
        case EXIT_REFUSED:
                ev.kind = EVENT_OPERATION_REFUSED;
                ev.step = op->record.failed_step;
                event_emit(op->bus, &ev, "%s%s: refused at %s (step %s); nothing was changed", what,
                           op->def->drill ? " drill" : "", op->def->drill ? "a check" : "the checklist",
                           op->record.failed_step);
                break;
        case EXIT_PUT_BACK:
                ev.kind = EVENT_OPERATION_PUT_BACK;
                ev.step = op->record.failed_step;
                /* op->from: the record's serving is empty until a first role change names it */
                event_emit(op->bus, &ev, "%s: failed at step %s; put back: %s still serves, as before", what,
                           op->record.failed_step, op->from);
                break;
        default:
                ev.kind = EVENT_OPERATION_FAILED;
                ev.step = op->record.failed_step;
                event_emit(op->bus, &ev, "%s: failed at step %s after %.3fs; %s", what, op->record.failed_step,
                           (double) ev.duration_usec / 1e6, op->put_back_failed
                           ? "the put back failed too: see the steps above and --status, and finish by hand"
                           : op->passed_no_return ? "the roles changed (see --status): finish with blfailoverd --rejoin"
                                                  : "see --status");
        }
        op->done(op, code, op->userdata);
}

static void begin_journal(struct op *op) {
        struct state *s = &op->record;

        op->journaling = true;
        s->op = op->def->kind;
        s->outcome = STATE_RUNNING;
        s->started_usec = now_realtime_usec();
        s->finished_usec = 0;
        s->failed_step[0] = 0;
        s->n_facts = 0;
        snprintf(s->trigger, sizeof s->trigger, "%s", op->trigger);
        snprintf(s->from, sizeof s->from, "%s", op->from);
        snprintf(s->to, sizeof s->to, "%s", op->to);
        s->n_steps = 0;
        for (size_t i = 0; i < op->def->n_steps && s->n_steps < STATE_STEPS_MAX; i++) {
                if (op->def->steps[i].on_failure == OP_REFUSE)
                        continue;
                struct state_step *st = &s->steps[s->n_steps++];
                *st = (struct state_step) { .status = STATE_STEP_PENDING, .exit_status = -1 };
                snprintf(st->name, sizeof st->name, "%s", op->def->steps[i].name);
        }
}

static int step_slot(struct op *op) {
        const struct op_step *sd = step_def(op);
        struct state *s = &op->record;

        if (sd->on_failure == OP_REFUSE && op->phase == PHASE_FORWARD) {
                /* The checklist is not journaled; it borrows a scratch slot past the journal's steps. */
                op->slot = STATE_STEPS_MAX - 1;
                return 0;
        }
        if (!op->journaling)
                begin_journal(op);
        if (op->phase == PHASE_PUT_BACK) {
                if (s->n_steps >= STATE_STEPS_MAX)
                        return -E2BIG;
                op->slot = s->n_steps++;
                s->steps[op->slot] = (struct state_step) { .status = STATE_STEP_PENDING, .exit_status = -1 };
                snprintf(s->steps[op->slot].name, sizeof s->steps[op->slot].name, "%s", sd->name);
                return 0;
        }
        for (size_t i = 0; i < s->n_steps; i++)
                if (strcmp(s->steps[i].name, sd->name) == 0) {  /* pending; or running/failed when resumed */
                        op->slot = i;
                        return 0;
                }
        return -ENOENT;
}

static void step_run(struct op *op) {
        int r = sd_event_add_time_relative(op->event, &op->step_timer, CLOCK_MONOTONIC, op->step_timeout_usec, 1000,
                                           on_step_timeout, op);

        if (r < 0) {
                op_step_done(op, false, -1, "cannot arm the step's deadline: %s", strerror(-r));
                return;
        }
        step_def(op)->run(op, op->ctx);
}

static void on_sync_failed(void *userdata, int r) {
        struct op *op = userdata;

        if (r >= 0 || op->deposed)
                return;
        op->deposed = true;
        log_warning("%s: the journal could not be written to etcd (%s): this monitor may no longer act; the next "
                    "leader resumes the %s from the journal", op->def->what, strerror(-r), op->def->what);
}

static void on_synced(void *userdata, int r) {
        struct op *op = userdata;

        if (r < 0) {
                if (op->deposed)
                        return;
                op->deposed = true;
                log_warning("%s: step %s not started: this monitor may no longer act (%s); the next leader resumes "
                            "the journal", op->def->what, step_def(op)->name, strerror(-r));
                return;
        }
        /* the answer may have been read long after it came (a stall): the acting rule is asked again */
        if (op->deposed || !op->sync.may_act(op->sync.userdata)) {
                if (!op->deposed)
                        log_warning("%s: step %s not started: this monitor may no longer act; the next leader "
                                    "resumes the journal", op->def->what, step_def(op)->name);
                op->deposed = true;
                return;
        }
        step_run(op);
}

static void step_start(struct op *op) {
        const struct op_step *sd = step_def(op);
        struct state_step *st;
        struct event ev = { .kind = EVENT_STEP_STARTED, .step = sd->name, .exit_status = -1 };
        int r;

        r = step_slot(op);
        if (r < 0) {
                log_error("%s: internal error: no journal slot for step %s (%s)", op->def->what, sd->name,
                          strerror(-r));
                finish(op, EXIT_FAILURE);
                return;
        }
        st = &op->record.steps[op->slot];
        *st = (struct state_step) { .status = STATE_STEP_RUNNING, .started_usec = now_realtime_usec(),
                                    .exit_status = -1 };
        snprintf(st->name, sizeof st->name, "%s", sd->name);
        snprintf(st->detail, sizeof st->detail, "%s", sd->purpose);
        op->step_started_usec = now_monotonic_usec();
        r = save(op);
        event_emit(op->bus, &ev, "%s: step %s started: %s", op->def->what, sd->name, sd->purpose);
        /* A forward step runs only once the record says so: a crash during one the record does not know of would
         * be resumed as if it never ran (a promotion repeated, or put back beside a promoted standby). The put back
         * runs regardless: it only restores. */
        if (r < 0 && op->phase == PHASE_FORWARD) {
                op_step_done(op, false, -1, "not run: it cannot be recorded in %s/%s (%s)", op->state_dir,
                             STATE_FILE_NAME, strerror(-r));
                return;
        }
        if (op->sync.sync) {
                /* every phase, the put back too: it starts a database and restores nginx */
                if (op->deposed || !op->sync.may_act(op->sync.userdata)) {
                        on_synced(op, -EPERM);
                        return;
                }
                if (op->journaling) {
                        /* only the step past which a resume goes forward waits for etcd (see op_sync) */
                        bool wait = sd->no_return && op->phase == PHASE_FORWARD;

                        r = op->sync.sync(op->sync.userdata, wait ? on_synced : on_sync_failed, op);
                        if (r < 0 || wait) {
                                if (r < 0)
                                        on_synced(op, r);
                                return;
                        }
                }
        }
        step_run(op);
}

static void start_put_back(struct op *op) {
        snprintf(op->record.failed_step, sizeof op->record.failed_step, "%s", step_def(op)->name);
        if (op->def->n_put_back == 0) {
                finish(op, EXIT_FAILURE);
                return;
        }
        log_notice("%s: putting back what the steps before %s changed", op->def->what, op->record.failed_step);
        op->phase = PHASE_PUT_BACK;
        op->current = 0;
        step_start(op);
}

static int on_advance(sd_event_source *s, void *userdata) {
        struct op *op = userdata;
        const struct op_step *sd;

        if (!op->begun) {
                op->begun = true;
                step_start(op);
                return 0;
        }
        sd = step_def(op);
        release_primitive(op);
        if (op->phase == PHASE_PUT_BACK) {
                if (!op->current_ok) {
                        op->put_back_failed = true;
                        /* The record must not read as armed: the pair is half restored. */
                        op->record.latch = op->def->latch_when_put_back_fails;
                }
                /* A best-effort put-back step failing lets the others undo their own part; one that must hold
                 * (OP_STOP: "nothing else may be started") ends the put back. */
                if ((op->current_ok || sd->on_failure == OP_BEST_EFFORT) && ++op->current < op->def->n_put_back) {
                        step_start(op);
                        return 0;
                }
                finish(op, op->put_back_failed ? EXIT_FAILURE : EXIT_PUT_BACK);
                return 0;
        }
        if (!op->current_ok) {
                if (sd->on_failure == OP_REFUSE) {
                        snprintf(op->record.failed_step, sizeof op->record.failed_step, "%s", sd->name);
                        finish(op, EXIT_REFUSED);
                } else if (sd->on_failure == OP_PUT_BACK && !op->passed_no_return)
                        start_put_back(op);
                else {
                        snprintf(op->record.failed_step, sizeof op->record.failed_step, "%s", sd->name);
                        finish(op, EXIT_FAILURE);
                }
                return 0;
        }
        if (sd->no_return)
                op->passed_no_return = true;
        if (++op->current == op->def->n_steps) {
                finish(op, EXIT_SUCCESS);
                return 0;
        }
        step_start(op);
        return 0;
}

int op_journal_position(const struct op_def *def, const struct state *journal, size_t *ret_next,
                        bool *ret_passed_no_return) {
        size_t j = 0, next = def->n_steps;
        bool passed = false;

        for (size_t i = 0; i < def->n_steps; i++) {
                if (def->steps[i].on_failure == OP_REFUSE)
                        continue;
                if (j >= journal->n_steps || strcmp(journal->steps[j].name, def->steps[i].name) != 0)
                        return -EBADMSG;
                if (next == def->n_steps && journal->steps[j].status != STATE_STEP_OK)
                        next = i;
                if (next == def->n_steps && def->steps[i].no_return)
                        passed = true;
                j++;
        }
        *ret_next = next;
        *ret_passed_no_return = passed;
        return 0;
}

/* Continues an interrupted journal: forward from its first unfinished step, or the put back. */
static int resume_at(struct op *op, bool put_back) {
        size_t next;
        bool passed;
        int r = op_journal_position(op->def, &op->record, &next, &passed);

        if (r < 0)
                return r;
        op->journaling = true;
        op->record.outcome = STATE_RUNNING;
        op->passed_no_return = passed;
        if (put_back) {
                /* Trim what an earlier put back journaled: it starts over, each of its steps checks first. */
                size_t n = 0;
                for (size_t i = 0; i < op->def->n_steps; i++)
                        n += op->def->steps[i].on_failure != OP_REFUSE;
                op->record.n_steps = n;
                op->current = next < op->def->n_steps ? next : op->def->n_steps - 1;
                snprintf(op->record.failed_step, sizeof op->record.failed_step, "%s", op->def->steps[op->current].name);
                op->phase = PHASE_PUT_BACK;
                op->current = 0;
                return 0;
        }
        /* Every step done, the outcome not written: the last step (idempotent by contract) runs again to write it. */
        op->current = next < op->def->n_steps ? next : op->def->n_steps - 1;
        return 0;
}

int op_start(const struct op_params *p, struct op **ret) {
        struct op *op = calloc(1, sizeof *op);
        struct event ev = { .kind = EVENT_OPERATION_STARTED, .exit_status = -1 };
        int r;

        if (!op)
                return -ENOMEM;
        op->event = sd_event_ref(p->event);
        op->bus = p->bus;
        op->health = p->health;
        op->def = p->def;
        op->ctx = p->ctx;
        op->sync = p->sync;
        op->done = p->done;
        op->userdata = p->userdata;
        op->record = *p->record;
        op->current_ok = true;
        op->step_timeout_usec = p->step_timeout_usec;
        op->state_dir = strdup(p->state_dir);
        op->trigger = strdup(p->trigger);
        op->from = strdup(p->from);
        op->to = strdup(p->to);
        if (!op->state_dir || !op->trigger || !op->from || !op->to) {
                op_free(op);
                return -ENOMEM;
        }
        r = sd_event_add_defer(op->event, &op->advance, on_advance, op);
        if (r < 0) {
                op_free(op);
                return r;
        }
        op->started_usec = now_monotonic_usec();
        if (p->resume) {
                r = resume_at(op, p->resume_put_back);
                if (r < 0) {
                        op_free(op);
                        return r;
                }
                event_emit(op->bus, &ev, "%s: resuming the interrupted %s → %s: %s %s", op->def->what, op->from,
                           op->to, p->resume_put_back ? "putting back from" : "going on at",
                           p->resume_put_back ? op->record.failed_step : op->def->steps[op->current].name);
                sd_event_source_set_enabled(op->advance, SD_EVENT_ONESHOT);
                *ret = op;
                return 0;
        }
        sd_event_source_set_enabled(op->advance, SD_EVENT_ONESHOT);
        if (op->def->drill)
                log_notice("%s drill: %s → %s, %zu checks that change nothing", op->def->what, op->from, op->to,
                           op->def->n_steps);
        else
                event_emit(op->bus, &ev, "%s: started (%s): %s → %s, %zu steps", op->def->what, op->trigger, op->from,
                           op->to, op->def->n_steps);
        *ret = op;
        return 0;
}

struct op *op_free(struct op *op) {
        if (!op)
                return NULL;
        if (!op->finished && op->journaling && op->begun)
                log_warning("%s: interrupted during step %s; the record says so", op->def->what, step_def(op)->name);
        if (op->sync.cancel)
                op->sync.cancel(op->sync.userdata, op);
        release_primitive(op);
        sd_event_source_disable_unref(op->advance);
        sd_event_unref(op->event);
        free(op->state_dir);
        free(op->trigger);
        free(op->from);
        free(op->to);
        free(op);
        return NULL;
}
