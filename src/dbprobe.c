/* dbprobe: recurring status queries to the standby or primary database, as monitor facts. */
#include "dbprobe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct dbprobe {
        sd_event *event;
        enum dbprobe_kind kind;
        char *conninfo;
        char *password_file;
        uint64_t timeout_usec;
        struct db_query *query;
        struct monitor_db facts;
        double lag_seconds;
        char error[256];
        uint64_t answered_usec;
        uint64_t asked_usec;            /* when the question out now (or the last answered one) was asked */
        uint64_t answer_asked_usec;     /* when the question the last answer answers was asked */
        bool error_changed;
        dbprobe_fn answered;
        void *userdata;
};

static int parse_standby(const struct db_result *r, struct monitor_db *db, double *ret_lag_seconds) {
        uint64_t receive = 0, replay = 0;
        char *end;

        if (r->n_columns < 6 || db_parse_bool(r->values[0], &db->in_recovery) < 0)
                return -EPROTO;
        /* Without a receive position the standby never streamed: promoting it would throw away the primary's
         * recent writes for sure. A receiver that stopped (the primary died) still has its last position. */
        db->receiving = r->values[1] && db_parse_lsn(r->values[1], &receive) == 0;
        if (r->values[2] && db_parse_lsn(r->values[2], &replay) < 0)
                return -EPROTO;
        db->lag_bytes = db->receiving && receive > replay ? receive - replay : 0;
        *ret_lag_seconds = r->values[5] ? strtod(r->values[5], &end) : -1.0;
        if (r->values[5] && *end)
                return -EPROTO;
        return 0;
}

int dbprobe_parse(enum dbprobe_kind kind, const struct db_result *r, struct monitor_db *ret, double *ret_lag_seconds) {
        struct monitor_db db = { .known = true, .reachable = r->error == 0 };
        double lag = -1.0;
        int k = 0;

        if (db.reachable && kind == DBPROBE_STANDBY)
                k = parse_standby(r, &db, &lag);
        else if (db.reachable && (r->n_columns < 1 || db_parse_bool(r->values[0], &db.in_recovery) < 0))
                k = -EPROTO;
        if (k < 0)
                return k;
        *ret = db;
        *ret_lag_seconds = lag;
        return 0;
}

static void on_answer(struct db_query *q, const struct db_result *r, void *userdata) {
        struct dbprobe *p = userdata;
        int k = dbprobe_parse(p->kind, r, &p->facts, &p->lag_seconds);
        char before[sizeof p->error];

        memcpy(before, p->error, sizeof before);

        if (k < 0)
                p->facts = (struct monitor_db) { .known = true };
        if (r->error < 0)
                snprintf(p->error, sizeof p->error, "%s", r->message[0] ? r->message : strerror(-r->error));
        else if (k < 0)
                snprintf(p->error, sizeof p->error, "unexpected answer to the status query");
        else
                p->error[0] = 0;
        p->error_changed = strcmp(before, p->error) != 0;
        p->answered_usec = now_monotonic_usec();
        p->answer_asked_usec = p->asked_usec;
        p->query = db_query_free(p->query);
        p->answered(p, p->userdata);
}

int dbprobe_ask(struct dbprobe *p) {
        if (p->query)
                return 0;
        p->asked_usec = now_monotonic_usec();
        return db_query_start(p->event, p->conninfo, p->password_file, p->timeout_usec,
                              p->kind == DBPROBE_STANDBY ? DB_SQL_STANDBY_STATUS : DB_SQL_IN_RECOVERY, on_answer, p,
                              &p->query);
}

int dbprobe_new(sd_event *e, enum dbprobe_kind kind, const char *conninfo, const char *password_file,
                uint64_t timeout_usec, dbprobe_fn answered, void *userdata, struct dbprobe **ret) {
        struct dbprobe *p = calloc(1, sizeof *p);

        if (!p)
                return -ENOMEM;
        *p = (struct dbprobe) { .event = sd_event_ref(e), .kind = kind, .timeout_usec = timeout_usec,
                                .answered = answered, .userdata = userdata, .lag_seconds = -1.0 };
        p->conninfo = strdup(conninfo);
        p->password_file = password_file ? strdup(password_file) : NULL;
        if (!p->conninfo || (password_file && !p->password_file)) {
                dbprobe_free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

struct dbprobe *dbprobe_free(struct dbprobe *p) {
        if (!p)
                return NULL;
        db_query_free(p->query);
        sd_event_unref(p->event);
        free(p->conninfo);
        free(p->password_file);
        free(p);
        return NULL;
}

const struct monitor_db *dbprobe_facts(const struct dbprobe *p) {
        return &p->facts;
}

const char *dbprobe_error(const struct dbprobe *p) {
        return p->error;
}

double dbprobe_replay_lag_seconds(const struct dbprobe *p) {
        return p->lag_seconds;
}

uint64_t dbprobe_answer_asked_usec(const struct dbprobe *p) {
        return p->answer_asked_usec;
}

bool dbprobe_busy(const struct dbprobe *p) {
        return p->query != NULL;
}

uint64_t dbprobe_answered_usec(const struct dbprobe *p) {
        return p->answered_usec;
}

bool dbprobe_error_changed(const struct dbprobe *p) {
        return p->error_changed;
}
