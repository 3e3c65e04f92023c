/* dbprobe: owns the recurring questions to one database — for the standby: in recovery? receiving WAL? how
 * much received WAL is not replayed yet? for the primary: does it answer as a writable primary? — and turns the
 * answers into monitor facts. One query in flight at most; each bounded by the connect timeout. No logging. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "db.h"
#include "monitor.h"

enum dbprobe_kind {
        DBPROBE_STANDBY,
        DBPROBE_PRIMARY,
};

struct dbprobe;
typedef void (*dbprobe_fn)(struct dbprobe *p, void *userdata);

int dbprobe_new(sd_event *e, enum dbprobe_kind kind, const char *conninfo, const char *password_file,
                uint64_t timeout_usec, dbprobe_fn answered, void *userdata, struct dbprobe **ret);
struct dbprobe *dbprobe_free(struct dbprobe *p);

/* Asks again unless a question is still out. */
int dbprobe_ask(struct dbprobe *p);

const struct monitor_db *dbprobe_facts(const struct dbprobe *p);
const char *dbprobe_error(const struct dbprobe *p);    /* "" when the last answer was fine */
/* The last answer's error differs from the one before (a transition worth one log line: the caller logs). */
bool dbprobe_error_changed(const struct dbprobe *p);
double dbprobe_replay_lag_seconds(const struct dbprobe *p);    /* < 0: unknown */
uint64_t dbprobe_answered_usec(const struct dbprobe *p);      /* CLOCK_MONOTONIC of the last answer, 0: none */
/* CLOCK_MONOTONIC of when the question behind the last answer was asked (0: none): whether an answer is newer than
 * a request depends on when it was asked, not when it came back. */
uint64_t dbprobe_answer_asked_usec(const struct dbprobe *p);
bool dbprobe_busy(const struct dbprobe *p);                    /* a question is out */

/* Pure: a DB_SQL_STANDBY_STATUS / DB_SQL_IN_RECOVERY answer → facts. -EPROTO when the row makes no sense. */
int dbprobe_parse(enum dbprobe_kind kind, const struct db_result *r, struct monitor_db *ret, double *ret_lag_seconds);
