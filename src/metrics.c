/* metrics: counters and histograms, rendered as Prometheus text and as the /health cluster JSON. */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "monitor.h"
#include "util.h"

/* From a fast LAN answer to health.timeout's usual range: a check slower than 10 s is +Inf. */
static const double bucket_bounds[METRICS_N_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

double metrics_bucket_bound(size_t i) {
        return i < METRICS_N_BUCKETS ? bucket_bounds[i] : 0;
}

void metrics_observe_check(struct metrics *m, enum metrics_role role, uint64_t latency_usec) {
        struct metrics_histogram *h = &m->checks[role];
        double seconds = (double) latency_usec / 1e6;

        for (size_t i = 0; i < METRICS_N_BUCKETS; i++)
                if (seconds <= bucket_bounds[i]) {
                        h->buckets[i]++;
                        break;
                }
        h->count++;
        h->sum += seconds;
}

void metrics_count_failover(struct metrics *m, bool succeeded) {
        if (succeeded)
                m->failovers_succeeded++;
        else
                m->failovers_failed++;
}

/* Label values: backslash, double quote and newline escaped, as the exposition format requires. */
static void label_value(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
        fputc('"', f);
}

static void header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void role_labels(FILE *f, const char *role, const char *name) {
        fprintf(f, "{role=\"%s\",name=", role);
        label_value(f, name);
        fputc('}', f);
}

static void render_endpoints(FILE *f, const struct status *s) {
        const struct { const char *role; const struct status_endpoint *e; } eps[] = {
                { "active", &s->active }, { "standby", &s->standby },
        };

        header(f, "blfailoverd_endpoint_up", "gauge", "1 when the endpoint's last health check passed, 0 when it "
               "failed (absent before the first check).");
        for (size_t i = 0; i < ELEMENTSOF(eps); i++)
                if (eps[i].e->health != STATUS_UNKNOWN) {
                        fputs("blfailoverd_endpoint_up", f);
                        role_labels(f, eps[i].role, eps[i].e->name);
                        fprintf(f, " %d\n", eps[i].e->health == STATUS_UP);
                }
        header(f, "blfailoverd_consecutive_failures", "gauge", "Consecutive failed health checks of the endpoint.");
        for (size_t i = 0; i < ELEMENTSOF(eps); i++) {
                fputs("blfailoverd_consecutive_failures", f);
                role_labels(f, eps[i].role, eps[i].e->name);
                fprintf(f, " %u\n", eps[i].e->failures);
        }
        header(f, "blfailoverd_failover_threshold", "gauge", "Consecutive failures of the active that trigger the "
               "failover (health.failure_threshold).");
        fprintf(f, "blfailoverd_failover_threshold %u\n", s->threshold);
}

static void render_histograms(FILE *f, const struct metrics *m, const struct status *s) {
        const struct status_endpoint *eps[_METRICS_ROLE_MAX] = { &s->active, &s->standby };
        static const char *const roles[_METRICS_ROLE_MAX] = { "active", "standby" };

        header(f, "blfailoverd_check_duration_seconds", "histogram", "Duration of the health checks, answered or "
               "not.");
        for (size_t r = 0; r < _METRICS_ROLE_MAX; r++) {
                const struct metrics_histogram *h = &m->checks[r];
                uint64_t cumulative = 0;

                for (size_t i = 0; i <= METRICS_N_BUCKETS; i++) {
                        cumulative += i < METRICS_N_BUCKETS ? h->buckets[i] : 0;
                        fprintf(f, "blfailoverd_check_duration_seconds_bucket{role=\"%s\",name=", roles[r]);
                        label_value(f, eps[r]->name);
                        if (i < METRICS_N_BUCKETS)
                                fprintf(f, ",le=\"%g\"} %" PRIu64 "\n", bucket_bounds[i], cumulative);
                        else
                                fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", h->count);
                }
                fputs("blfailoverd_check_duration_seconds_sum", f);
                role_labels(f, roles[r], eps[r]->name);
                fprintf(f, " %.6f\n", h->sum);
                fputs("blfailoverd_check_duration_seconds_count", f);
                role_labels(f, roles[r], eps[r]->name);
                fprintf(f, " %" PRIu64 "\n", h->count);
        }
}

/* The gates quorum and cluster exist only in a cluster: a standalone daemon's exposition stays as it was. */
static bool cluster_gate_shown(enum monitor_decision d, const struct status *s) {
        return s->cluster.enabled || (d != MONITOR_HOLD_QUORUM && d != MONITOR_HOLD_CLUSTER);
}

static void render_failover(FILE *f, const struct metrics *m, const struct status *s, const struct state *record) {
        static const char *const outcomes[] = { "none", "running", "succeeded", "failed" };
        const char *outcome = !record && s->failed_over ? "unreadable" : state_outcome_to_string(record ? record->outcome
                                                                                                 : STATE_NONE);

        header(f, "blfailoverd_failovers_total", "counter", "Failovers this daemon process ran, by result.");
        fprintf(f, "blfailoverd_failovers_total{result=\"succeeded\"} %" PRIu64 "\n", m->failovers_succeeded);
        fprintf(f, "blfailoverd_failovers_total{result=\"failed\"} %" PRIu64 "\n", m->failovers_failed);
        header(f, "blfailoverd_failover_recorded", "gauge", "1 for the outcome of the persisted failover record "
               "(none until a failover; it stays until blfailoverd --clear-state).");
        for (size_t i = 0; i < ELEMENTSOF(outcomes); i++)
                fprintf(f, "blfailoverd_failover_recorded{outcome=\"%s\"} %d\n", outcomes[i],
                        strcmp(outcome, outcomes[i]) == 0);
        if (strcmp(outcome, "unreadable") == 0)
                fputs("blfailoverd_failover_recorded{outcome=\"unreadable\"} 1\n", f);
        header(f, "blfailoverd_failover_step_duration_seconds", "gauge", "Duration of each step of the last "
               "failover.");
        for (size_t i = 0; record && i < record->n_steps; i++) {
                fputs("blfailoverd_failover_step_duration_seconds{step=", f);
                label_value(f, record->steps[i].name);
                fprintf(f, "} %.6f\n", (double) record->steps[i].duration_usec / 1e6);
        }
        header(f, "blfailoverd_last_failover_timestamp_seconds", "gauge", "When the recorded failover started (Unix "
               "time); 0 when none is recorded.");
        fprintf(f, "blfailoverd_last_failover_timestamp_seconds %.3f\n",
                record ? (double) record->started_usec / 1e6 : 0.0);
        header(f, "blfailoverd_failover_held", "gauge", "1 for the safety gate that holds the failover right now.");
        for (int d = 0; d < 64; d++) {
                const char *gate = monitor_decision_to_string((enum monitor_decision) d);
                if (strcmp(gate, "unknown") == 0)
                        break;
                if (!cluster_gate_shown((enum monitor_decision) d, s))
                        continue;
                if (monitor_decision_is_hold((enum monitor_decision) d))
                        fprintf(f, "blfailoverd_failover_held{gate=\"%s\"} %d\n", gate,
                                strcmp(gate, s->held_gate) == 0);
        }
        header(f, "blfailoverd_failover_not_started", "gauge", "1 while a due failover cannot start because its "
               "record cannot be written (the log and --status say why).");
        fprintf(f, "blfailoverd_failover_not_started %d\n", s->not_started[0] != 0);
}

/* The record's view of the pair: epoch, who has which role, and the latch (status.h's first names before any
 * record). An unreadable record has no roles and no epoch, only latch="unreadable". */
static void render_roles(FILE *f, const struct status *s, const struct state *record) {
        struct state_roles r;

        state_roles_resolve(record, !record && s->failed_over, s->active.name, s->standby.name, &r);
        header(f, "blfailoverd_epoch", "gauge", "The record's epoch: +1 at every role change, 0 before the first.");
        if (r.serving)
                fprintf(f, "blfailoverd_epoch %" PRIu64 "\n", r.epoch);
        header(f, "blfailoverd_site_role", "gauge", "1 for each site's role now, by the record (before any: the "
               "config's active serves).");
        if (r.serving) {
                fputs("blfailoverd_site_role{site=", f);
                label_value(f, r.serving);
                fputs(",role=\"serving\"} 1\nblfailoverd_site_role{site=", f);
                label_value(f, r.standby);
                fputs(",role=\"standby\"} 1\n", f);
        }
        header(f, "blfailoverd_latched", "gauge", "1 for why automatic failover is held by the record (none: armed).");
        for (enum state_latch l = STATE_LATCH_NONE; l <= STATE_LATCH_REJOIN; l++)
                fprintf(f, "blfailoverd_latched{latch=\"%s\"} %d\n", state_latch_to_string(l),
                        strcmp(r.latch, state_latch_to_string(l)) == 0);
        if (!r.serving)
                fputs("blfailoverd_latched{latch=\"unreadable\"} 1\n", f);
}

static void render_database(FILE *f, const struct status *s) {
        const struct status_db *sb = &s->standby_db;

        header(f, "blfailoverd_database_up", "gauge", "1 when the database answered the last status query.");
        if (sb->configured && sb->known)
                fprintf(f, "blfailoverd_database_up{role=\"standby\"} %d\n", sb->reachable);
        if (s->primary_db.configured && s->primary_db.known)
                fprintf(f, "blfailoverd_database_up{role=\"primary\"} %d\n", s->primary_db.reachable);
        header(f, "blfailoverd_replication_lag_bytes", "gauge", "WAL the standby received but has not replayed.");
        if (sb->configured && sb->known && sb->reachable)
                fprintf(f, "blfailoverd_replication_lag_bytes %" PRIu64 "\n", sb->lag_bytes);
        header(f, "blfailoverd_replication_lag_seconds", "gauge", "Age of the last transaction the standby replayed "
               "(0 when it replayed everything it received).");
        if (sb->configured && sb->known && sb->reachable && sb->lag_seconds >= 0)
                fprintf(f, "blfailoverd_replication_lag_seconds %.6f\n", sb->lag_seconds);
}

/* The monitor cluster as this member sees it (docs/design/cluster.md §10); nothing at all when standalone. The
 * lease gauge exists on the leader only, so that "lease about to run out" rules never match a follower. */
static void render_cluster(FILE *f, const struct status *s) {
        const struct status_cluster *c = &s->cluster;
        bool leads = strcmp(c->role, "leader") == 0;

        if (!c->enabled)
                return;
        header(f, "blfailoverd_cluster_leader", "gauge", "1 while this member leads the monitor cluster and may act.");
        fprintf(f, "blfailoverd_cluster_leader %d\n", leads && c->acting);
        header(f, "blfailoverd_cluster_members_agreeing", "gauge", "Members whose fresh view sees the active failing "
               "(this one included).");
        fprintf(f, "blfailoverd_cluster_members_agreeing %u\n", c->agreeing);
        header(f, "blfailoverd_cluster_members_needed", "gauge", "Members that must see the active failing for a "
               "failover to be due (a majority).");
        fprintf(f, "blfailoverd_cluster_members_needed %u\n", c->needed);
        header(f, "blfailoverd_cluster_etcd_up", "gauge", "1 when this member's last request to etcd succeeded.");
        fprintf(f, "blfailoverd_cluster_etcd_up %d\n", c->etcd_up);
        header(f, "blfailoverd_cluster_lease_seconds_left", "gauge", "The leader's time until its acting deadline "
               "(absent on the other members).");
        if (leads && c->lease_seconds_left >= 0)
                fprintf(f, "blfailoverd_cluster_lease_seconds_left %.3f\n", c->lease_seconds_left);
        header(f, "blfailoverd_cluster_view_age_seconds", "gauge", "Since each member's view in etcd last changed, "
               "on this member's clock (members without a view are absent).");
        for (size_t i = 0; i < c->n_members && i < STATUS_CLUSTER_MEMBERS_MAX; i++) {
                const struct status_cluster_member *m = &c->members[i];
                if (!m->seen || m->age_seconds < 0)
                        continue;
                fputs("blfailoverd_cluster_view_age_seconds{member=", f);
                label_value(f, m->name);
                fprintf(f, "} %.3f\n", m->age_seconds);
        }
        /* Visible so that the cost of leaving the cluster on can be watched (bench: requests/s, bytes/s). */
        header(f, "blfailoverd_cluster_etcd_requests_total", "counter", "Requests this member sent to etcd (each "
               "attempt, failed ones included).");
        fprintf(f, "blfailoverd_cluster_etcd_requests_total %" PRIu64 "\n", c->etcd_requests);
        header(f, "blfailoverd_cluster_etcd_bytes_total", "counter", "Bytes this member exchanged with etcd over HTTP "
               "(as libcurl counts them), by direction.");
        fprintf(f, "blfailoverd_cluster_etcd_bytes_total{direction=\"sent\"} %" PRIu64 "\n", c->etcd_bytes_sent);
        fprintf(f, "blfailoverd_cluster_etcd_bytes_total{direction=\"received\"} %" PRIu64 "\n",
                c->etcd_bytes_received);
}

int metrics_render(const struct metrics *m, const struct status *s, const struct state *record, const char *version,
                   char **ret_text, size_t *ret_size) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        render_endpoints(f, s);
        render_histograms(f, m, s);
        render_failover(f, m, s, record);
        render_roles(f, s, record);
        render_database(f, s);
        render_cluster(f, s);
        header(f, "blfailoverd_paused", "gauge", "1 while the pair is paused for maintenance (no automatic action).");
        fprintf(f, "blfailoverd_paused %d\n", s->paused);
        header(f, "blfailoverd_build_info", "gauge", "Always 1; the version is in the label.");
        fputs("blfailoverd_build_info{version=", f);
        label_value(f, version);
        fputs("} 1\n", f);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_size = size;
        return 0;
}

/* ---- /health -------------------------------------------------------------------------------------------- */

const char *metrics_cluster_status(const struct status *s, const struct state *record) {
        const struct status_db *db = &s->standby_db;

        /* The record, read per request, decides over the live view, which may be a second old. */
        if (s->failover_running || (record && record->outcome == STATE_RUNNING))
                return "failing_over";
        /* Only a latched record says so: after a switchover or a rejoin (latch none) the checks decide again. */
        if (state_latched(record, false) && record->outcome == STATE_SUCCEEDED)
                return "failed_over";
        if (state_latched(record, false) && record->outcome == STATE_FAILED)
                return "failover_failed";
        if (!record && s->failed_over)
                return "record_unreadable";
        if (s->active.health == STATUS_UP && s->standby.health == STATUS_UP &&
            (!db->configured || (db->known && db->reachable && db->in_recovery)))
                return "healthy";
        return "degraded";
}

static const char *endpoint_word(enum status_health h) {
        return h == STATUS_UP ? "healthy" : h == STATUS_DOWN ? "unhealthy" : "unknown";
}

static void health_member(struct json *j, const char *key, const struct status_endpoint *e, const struct status_db *db) {
        json_key(j, key);
        json_object_begin(j);
        json_key(j, "name"), json_string(j, e->name);
        json_key(j, "status"), json_string(j, endpoint_word(e->health));
        json_key(j, "last_check"), json_time(j, e->checked_usec);
        json_key(j, "replication_lag");
        if (!db)
                json_double(j, 0);      /* the primary is the source of the WAL: it lags behind nobody */
        else if (db->configured && db->known && db->reachable && db->lag_seconds >= 0)
                json_double(j, db->lag_seconds);
        else
                json_null(j);
        if (db && db->configured && db->known && db->reachable) {
                json_key(j, "replication_lag_bytes"), json_u64(j, db->lag_bytes);
                json_key(j, "in_recovery"), json_bool(j, db->in_recovery);
        }
        json_object_end(j);
}

/* "serving", "epoch", "latch": the record's roles (null serving and epoch when it cannot be read). */
static void health_roles(struct json *j, const struct status *s, const struct state *record) {
        struct state_roles r;

        state_roles_resolve(record, !record && s->failed_over, s->active.name, s->standby.name, &r);
        json_key(j, "serving"), json_string(j, r.serving);
        json_key(j, "epoch");
        if (r.serving)
                json_u64(j, r.epoch);
        else
                json_null(j);
        json_key(j, "latch"), json_string(j, r.latch);
}

int metrics_health_json(const struct status *s, const struct state *record, char **ret_text, size_t *ret_size) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        struct json j;

        if (!f)
                return -ENOMEM;
        json_init(&j, f);
        json_object_begin(&j);
        json_key(&j, "status"), json_string(&j, metrics_cluster_status(s, record));
        health_member(&j, "primary", &s->active, NULL);
        health_member(&j, "standby", &s->standby, &s->standby_db);
        json_key(&j, "held"), json_string(&j, s->held_gate[0] ? s->held_gate : NULL);
        json_key(&j, "paused"), json_bool(&j, s->paused);
        health_roles(&j, s, record);
        json_object_end(&j);
        fputc('\n', f);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_size = size;
        return 0;
}
