/* gates: the words for the safety gates (see gates.h). */
#include "gates.h"

#include <time.h>

#include "exitcode.h"
#include "util.h"

void gates_describe_check(const struct health_result *r, char *buf, size_t size) {
        if (r->status == HEALTH_HTTP_STATUS)
                snprintf(buf, size, "HTTP status %ld", r->http_code);
        else if (r->status == HEALTH_ABORTED)
                snprintf(buf, size, "no answer before the next check was due");
        else if (r->error[0])
                snprintf(buf, size, "%s: %s", health_status_to_string(r->status), r->error);
        else
                snprintf(buf, size, "%s", health_status_to_string(r->status));
}

static void describe_db_hold(const struct gate_facts *f, char *buf, size_t size) {
        const struct monitor_db *db = f->standby_db;

        if (!db || !db->known)
                snprintf(buf, size, "standby database: no answer yet");
        else if (!db->reachable)
                snprintf(buf, size, "standby database unreachable: %s", f->standby_db_error);
        else if (!db->in_recovery)
                snprintf(buf, size, "standby database is not in recovery (already promoted, or not a standby): "
                         "promoting it again would be wrong; check it by hand");
        else
                snprintf(buf, size, "standby database is not receiving WAL (no receive position): it never "
                         "streamed from the primary");
}

void gates_describe_pause(const struct pause *p, char *buf, size_t size) {
        char when[32] = "?";
        time_t t = (time_t) (p ? p->since_usec / USEC_PER_SEC : 0);
        struct tm tm;

        if (p && gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(buf, size, "paused for maintenance since %s by uid %u%s%s%s: no automatic failover until "
                 "blfailoverd --resume", when, p ? (unsigned) p->uid : 0u, p && p->reason[0] ? " (" : "",
                 p ? p->reason : "", p && p->reason[0] ? ")" : "");
}

void gates_describe_hold(const struct gate_facts *f, enum monitor_decision d, char *buf, size_t size) {
        const struct config *c = f->config;
        char reason[300] = "no check has finished yet";

        switch (d) {
        case MONITOR_HOLD_ALREADY_DONE:
                /* The latch holds, not the record's existence: a switchover or rejoin leaves latch none. */
                snprintf(buf, size, "the record in %s is latched (latch %s): a failover is already recorded, never "
                         "twice (see --status; blfailoverd --clear-state once the pair is rebuilt)", c->state_dir,
                         f->latch ? f->latch : "failover");
                break;
        case MONITOR_HOLD_STARTUP_GRACE:
                snprintf(buf, size, "the daemon started less than %.3gs ago (health.startup_grace)",
                         (double) c->health.startup_grace_usec / 1e6);
                break;
        case MONITOR_HOLD_STANDBY_UNHEALTHY:
                if (f->standby->health == MONITOR_DOWN)
                        gates_describe_check(f->standby_last, reason, sizeof reason);
                snprintf(buf, size, "standby %s is not healthy (%s)", c->standby.name, reason);
                break;
        case MONITOR_HOLD_STANDBY_DB:
                describe_db_hold(f, buf, size);
                break;
        case MONITOR_HOLD_LAG:
                snprintf(buf, size, "replication lag: the standby has %llu bytes of WAL received but not replayed "
                         "(database.max_lag_bytes %llu)", f->standby_db ? (unsigned long long) f->standby_db->lag_bytes
                         : 0ULL, (unsigned long long) c->database.max_lag_bytes);
                break;
        case MONITOR_HOLD_SPLIT_BRAIN:
                snprintf(buf, size, "split-brain guard: the primary database answers as a writable primary while "
                         "the active API fails, and no failover.fence is configured to stop it");
                break;
        case MONITOR_HOLD_CONFIRM:
                snprintf(buf, size, "the confirm command succeeded: the active answers from the second vantage "
                         "point, so this monitor's own view is suspect (network partition?)");
                break;
        case MONITOR_HOLD_PAUSED:
                gates_describe_pause(f->pause, buf, size);
                break;
        case MONITOR_HOLD_QUORUM:
                snprintf(buf, size, "%s", f->quorum_words ? f->quorum_words : "quorum");
                break;
        case MONITOR_HOLD_CLUSTER:
                snprintf(buf, size, "%s", f->cluster_words ? f->cluster_words : "cluster");
                break;
        default:
                snprintf(buf, size, "%s", monitor_decision_to_string(d));
        }
}

static const char *mark(bool ok) {
        return ok ? "ok    " : "FAILED";
}

static void print_standby_db(const struct gate_facts *f, FILE *out) {
        const struct monitor_db *db = f->standby_db;
        uint64_t max = f->config->database.max_lag_bytes;

        if (!db->reachable) {
                fprintf(out, "drill: %-10s %s standby database unreachable: %s\n", "database", mark(false),
                        db->known ? f->standby_db_error : "no answer");
                return;
        }
        fprintf(out, "drill: %-10s %s in recovery: %s, receiving WAL: %s, received but not replayed: %llu bytes "
                "(database.max_lag_bytes %llu)\n", "database",
                mark(db->in_recovery && db->receiving && db->lag_bytes <= max), db->in_recovery ? "yes" : "NO",
                db->receiving ? "yes" : "NO", (unsigned long long) db->lag_bytes, (unsigned long long) max);
}

void gates_print_drill_facts(const struct gate_facts *f, FILE *out) {
        bool up = f->standby->health == MONITOR_UP;
        char reason[300] = "no answer";

        if (f->standby->health != MONITOR_UNKNOWN)
                gates_describe_check(f->standby_last, reason, sizeof reason);
        fprintf(out, "drill: %-10s %s %s %s (%s)\n", "standby", mark(up), f->config->standby.name,
                f->standby_url_shown, up ? "healthy" : reason);
        if (f->standby_db)
                print_standby_db(f, out);
        if (f->primary_db)
                fprintf(out, "drill: %-10s info   %s\n", "primary",
                        f->primary_db->reachable && !f->primary_db->in_recovery
                        ? "the primary database answers as a writable primary: a failover now needs the fence"
                        : "the primary database does not answer as a writable primary");
        if (f->config->confirm.argv)
                fprintf(out, "drill: %-10s %s the confirm command says the active is %s from the second vantage "
                        "point\n", "confirm", f->confirm == MONITOR_CONFIRM_ACTIVE_ALIVE ? "info  " : "ok    ",
                        f->confirm == MONITOR_CONFIRM_ACTIVE_ALIVE ? "ALIVE" : "down");
}

int gates_print_drill_verdict(const struct gate_facts *f, struct monitor_verdict v, unsigned checks_failed,
                              FILE *out) {
        char why[512];

        if (monitor_decision_is_hold(v.decision)) {
                gates_describe_hold(f, v.decision, why, sizeof why);
                fprintf(out, "drill verdict: HELD by gate %s: %s (--once --force would override it)\n",
                        monitor_decision_to_string(v.decision), why);
                return EXIT_REFUSED;
        }
        if (checks_failed > 0) {
                fprintf(out, "drill verdict: WOULD FAIL: %u check(s) above failed; a failover now would stop there\n",
                        checks_failed);
                return 1;
        }
        fprintf(out, "drill verdict: the failover would proceed%s\n", v.fence_required
                ? " (the fence must succeed first: the primary database answers)" : "");
        return 0;
}
