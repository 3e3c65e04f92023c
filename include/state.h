/* state: owns the persisted failover record in state_dir — what happened, when, and every step's result —
 * its text format (parse/serialize are pure), atomic saves, and the human rendering for --status.
 * A record that exists means "a failover was attempted": the daemon never fails over twice. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STATE_FILE_NAME "state"
#define STATE_STEPS_MAX 16
#define STATE_FILE_MAX (256u * 1024u)

enum state_outcome {
        STATE_NONE,             /* no failover recorded */
        STATE_RUNNING,          /* started and not finished: the daemon died mid-failover */
        STATE_SUCCEEDED,
        STATE_FAILED,
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

struct state {
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

/* Pure. -EBADMSG on anything malformed or truncated (a record without its "end" line is torn);
 * *ret_line is set to the offending line (1-based) on error. */
int state_parse(const char *data, size_t size, struct state *ret, unsigned *ret_line);
/* Pure. malloc'd text. */
int state_serialize(const struct state *s, char **ret_text, size_t *ret_size);

/* -ENOENT when there is no record; -EBADMSG when the file is corrupt (never treated as empty). */
int state_load(const char *state_dir, struct state *ret);
int state_save(const char *state_dir, const struct state *s);       /* atomic; creates state_dir 0700 */
int state_clear(const char *state_dir);                             /* -ENOENT when there was nothing */

void state_print(const struct state *s, FILE *out);
