/* state: owns the persisted record of the pair in state_dir — who serves (site names) and the epoch of that role
 * assignment, the latch, and the journal of the last operation (failover, switchover, rejoin: every step's
 * result and the facts later steps need) — its text format (parse/serialize are pure; format 2 is written,
 * format 1 is read and mapped), atomic saves, and the human rendering for --status.
 * The latch is what "never fails over twice" rests on: while it is not "none", no automatic failover runs.
 * A format-1 record (or an unreadable one) is latched. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STATE_FILE_NAME "state"
#define STATE_SITE_MAX 31               /* bytes of a site name in the record */
#define STATE_STEPS_MAX 32
#define STATE_FACTS_MAX 16
#define STATE_FILE_MAX (256u * 1024u)

enum state_outcome {
        STATE_NONE,             /* no failover recorded */
        STATE_RUNNING,          /* started and not finished: the daemon died mid-failover */
        STATE_SUCCEEDED,
        STATE_FAILED,
        STATE_PUT_BACK,         /* a switchover failed before its promotion and everything was put back */
};

enum state_op {
        STATE_OP_NONE,
        STATE_OP_FAILOVER,
        STATE_OP_SWITCHOVER,
        STATE_OP_REJOIN,
};

/* Why automatic failovers are held: */
enum state_latch {
        STATE_LATCH_NONE,       /* armed */
        STATE_LATCH_FAILOVER,   /* a failover ran: the pair has no standby until --rejoin (or --clear-state) */
        STATE_LATCH_SWITCHOVER, /* a switchover failed after its promotion, or was interrupted: finish with --rejoin */
        STATE_LATCH_REJOIN,     /* a rejoin failed after changing the old primary: run --rejoin again */
};

enum state_step_status {
        STATE_STEP_PENDING,
        STATE_STEP_RUNNING,
        STATE_STEP_OK,
        STATE_STEP_FAILED,
};

struct state_step {
        char name[32];
        enum state_step_status status;
        uint64_t started_usec;          /* CLOCK_REALTIME */
        uint64_t duration_usec;
        int exit_status;                /* -1: not a command, or did not exit */
        char detail[512];               /* one line: argv, outcome, or why it failed */
};

struct state_fact {
        char key[32];
        char value[160];
};

struct state {
        unsigned version;               /* the format read (1 or 2); 2 is always written */
        uint64_t epoch;                 /* +1 at every role change; 0 before the first */
        char serving[STATE_SITE_MAX + 1];       /* site name; "" when the record does not say (format 1: see
                                                 * state_roles_resolve; never written so in format 2). Free text,
                                                 * escaped like step details; "#0"/"#1": state_set_site */
        char standby[STATE_SITE_MAX + 1];
        enum state_latch latch;
        enum state_op op;               /* the operation the journal below belongs to */
        char from[STATE_SITE_MAX + 1], to[STATE_SITE_MAX + 1];  /* the op's old and new serving site */
        struct state_fact facts[STATE_FACTS_MAX];
        size_t n_facts;
        enum state_outcome outcome;
        char trigger[16];               /* "automatic" or "manual" */
        uint64_t started_usec;          /* CLOCK_REALTIME */
        uint64_t finished_usec;
        char failed_step[32];           /* "" unless failed */
        struct state_step steps[STATE_STEPS_MAX];
        size_t n_steps;
};

const char *state_outcome_to_string(enum state_outcome o);
const char *state_step_status_to_string(enum state_step_status s);
const char *state_op_to_string(enum state_op o);
const char *state_latch_to_string(enum state_latch l);

/* Facts: the value of `key`, or NULL. state_fact_set replaces or appends; -E2BIG when full or too long. */
const char *state_fact_get(const struct state *s, const char *key);
int state_fact_set(struct state *s, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The journal has a step "promote" that is ok: the standby was promoted (format 1 roles are read from this). */
bool state_promoted(const struct state *s);

/* Writes a site name into a record field: the name when it fits (STATE_SITE_MAX bytes), else "#<index>" (its
 * place in the config's sites; state_roles_resolve maps it back). Returns 0, or 1 when the index was written. */
int state_set_site(char dst[static STATE_SITE_MAX + 1], const char *name, unsigned index);

/* Pure. Reads format 2 and format 1. -EBADMSG on anything malformed or truncated (a record without its "end" line is torn);
 * *ret_line is set to the offending line (1-based) on error. */
int state_parse(const char *data, size_t size, struct state *ret, unsigned *ret_line);
/* Pure. malloc'd text. */
int state_serialize(const struct state *s, char **ret_text, size_t *ret_size);

/* -ENOENT when there is no record; -EBADMSG when the file is corrupt (never treated as empty). */
int state_load(const char *state_dir, struct state *ret);
int state_save(const char *state_dir, const struct state *s);       /* atomic; creates state_dir 0700 */
int state_clear(const char *state_dir);                             /* -ENOENT when there was nothing */

void state_print(const struct state *s, FILE *out);

/* "Never fail over twice" rests on this: automatic failovers are held while it is true. An unreadable record
 * (unreadable true, record NULL) is latched; no record (record NULL) is not; otherwise latch != none. */
bool state_latched(const struct state *record, bool unreadable);

/* Who serves, as --status, /health and the metrics show it. Pure. */
struct state_roles {
        const char *serving, *standby;  /* NULL: unknown (the record cannot be read) */
        uint64_t epoch;
        const char *latch;              /* state_latch_to_string, or "unreadable" */
        bool latched;                   /* state_latched */
};

/* record NULL and !unreadable: no record — first_serving serves (the config's active), epoch 0, latch none.
 * A record that names the serving site: those names ("#0"/"#1" mapped to first_serving/first_standby).
 * A record with serving "" (format 1, which has no site names): latch failover; if its promote step is ok
 * the standby serves (serving = first_standby, standby = first_serving, epoch 1), else the first roles hold.
 * unreadable: roles unknown, latch "unreadable", latched. The strings point into record or the arguments. */
void state_roles_resolve(const struct state *record, bool unreadable, const char *first_serving,
                         const char *first_standby, struct state_roles *ret);
/* "roles: b serves, a standby · epoch 4 · latch none" */
void state_roles_print(const struct state_roles *r, FILE *out);
