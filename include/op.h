/* op: owns running one lifecycle operation (switchover, rejoin) on the sd-event loop — its steps in order, each
 * recorded in the journal (state.h) before it starts and after it ends, a deadline over each step, the put-back
 * list when a step before the point of no return fails, and the step events. What a step runs and how its answer
 * is judged belong to the mode modules (switchover.h, rejoin.h): they give op a table of steps and use op's
 * primitives — a command, a query, a query polled until it says yes — each of which ends in op_step_done().
 * The failover keeps its own executor (failover.h) for now: its journal format and resume rules predate this. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "db.h"
#include "event.h"
#include "health.h"
#include "spawn.h"
#include "state.h"

struct op;

enum op_on_failure {
        OP_REFUSE,              /* a checklist step: nothing has changed; the record is not even written */
        OP_PUT_BACK,            /* before the point of no return: run the put-back steps, then stop */
        OP_STOP,                /* after it: stop, record the failure; the operator finishes (--rejoin) */
        OP_BEST_EFFORT,         /* log and go on */
};

struct op_step {
        const char *name;                       /* in the journal: [a-z_]{1,31} */
        const char *purpose;                    /* one line for humans (--dry-run, the step events) */
        void (*run)(struct op *op, void *ctx);  /* starts the work; it ends with op_step_done() */
        enum op_on_failure on_failure;
        bool no_return;                         /* once this step succeeded, failures no longer put back */
};

struct op_def {
        enum state_op kind;
        const char *what;                       /* "switchover", "rejoin": the log prefix */
        const struct op_step *steps;
        size_t n_steps;
        const struct op_step *put_back;         /* run in order after an OP_PUT_BACK failure; may be empty. A put-back
                                                 * step that fails: OP_BEST_EFFORT, the next still runs; OP_STOP, the
                                                 * put back ends there */
        size_t n_put_back;
        enum state_latch latch_when_put_back_fails;     /* the record's latch when the put back itself fails */
        bool drill;                             /* only OP_REFUSE steps: checks that change nothing, no record */
};

/* The exit code of the operation: EXIT_SUCCESS, EXIT_REFUSED (a checklist step said no), EXIT_PUT_BACK (failed and
 * put back), EXIT_FAILURE (failed; the journal says what is left). Called once, from the loop. */
typedef void (*op_done_fn)(struct op *op, int exit_code, void *userdata);

/* A monitor cluster (all NULL standalone). Every journal write goes to etcd (sync: done(op, r) later, r < 0 when
 * this monitor may no longer act; done may be NULL), and each step starts only while may_act() says so. A step past
 * which resuming goes forward instead of putting back (no_return) starts only once etcd holds the journal that
 * says it runs: a successor must never put back beside a promotion it did not know had started. cancel: op is
 * going away. */
struct op_sync {
        int (*sync)(void *userdata, void (*done)(void *op, int r), void *op);
        void (*cancel)(void *userdata, void *op);
        bool (*may_act)(void *userdata);
        void *userdata;
};

struct op_params {
        sd_event *event;
        struct event_bus *bus;
        struct health *health;                  /* for op_http_get */
        const char *state_dir;
        const struct state *record;             /* the record now; the op's journal starts from a copy of it */
        const char *trigger;                    /* "manual", "resumed" */
        const char *from, *to;                  /* the op's old and new serving site (the record's op_from/op_to) */
        const struct op_def *def;
        void *ctx;                              /* handed to every step's run */
        bool resume;                            /* `record` is this op's interrupted journal: go on from it */
        bool resume_put_back;                   /* ... by putting back (the point of no return was not passed) */
        uint64_t step_timeout_usec;             /* a step that has not ended after this fails (a bug guard: every
                                                 * primitive has its own, shorter deadline) */
        struct op_sync sync;
        op_done_fn done;
        void *userdata;
};

int op_start(const struct op_params *params, struct op **ret);

/* Where an interrupted journal of `def` stands: the index of the first step not done (n_steps: all done), and
 * whether its point of no return was passed. -EBADMSG when the journal's steps are not def's. Pure. */
int op_journal_position(const struct op_def *def, const struct state *journal, size_t *ret_next,
                        bool *ret_passed_no_return);
/* Stops a running op (kills the running command's process group). The journal keeps saying "running". */
struct op *op_free(struct op *op);

/* For the steps. */
struct state *op_record(struct op *op);         /* the journal in memory: set facts and roles, saved with the step */
const char *op_step_name(const struct op *op);
bool op_putting_back(const struct op *op);
void op_step_done(struct op *op, bool ok, int exit_status, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A line in the step's context ("switchover: step catch_up: ..."), at notice level, or warning. */
void op_say(struct op *op, bool warning, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Runs argv (taken: freed by op) with a deadline; its output goes to the log line by line. `judge` decides and
 * calls op_step_done; NULL: ok when it exits 0. */
typedef void (*op_judge_command_fn)(struct op *op, void *ctx, const struct spawn_result *r);
void op_run_command(struct op *op, char **argv, uint64_t timeout_usec, op_judge_command_fn judge);

/* One query (one row). `judge` decides and calls op_step_done. */
typedef void (*op_judge_sql_fn)(struct op *op, void *ctx, const struct db_result *r);
void op_run_sql(struct op *op, const char *conninfo, const char *password_file, uint64_t timeout_usec,
                const char *sql, op_judge_sql_fn judge);

/* The query again every interval until `check` returns 1 (step ok) or < 0 (step failed), or until `deadline_usec`
 * (CLOCK_MONOTONIC) passes: failed, with the last detail `check` wrote. 0: ask again. A query that fails counts as
 * a 0 with its message as the detail (a server restarting answers again). */
typedef int (*op_check_sql_fn)(struct op *op, void *ctx, const struct db_result *r, char *detail, size_t size);
void op_poll_sql(struct op *op, const char *conninfo, const char *password_file, uint64_t timeout_usec,
                 const char *sql, uint64_t interval_usec, uint64_t deadline_usec, op_check_sql_fn check);

/* GET url once; `judge` decides. */
typedef void (*op_judge_http_fn)(struct op *op, void *ctx, const struct health_result *r);
void op_http_get(struct op *op, const char *url, uint64_t timeout_usec, const char *expect_body,
                 op_judge_http_fn judge);
