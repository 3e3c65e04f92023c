/* status: the live view's struct, its small text file, and its human and JSON renderings. */
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "json.h"
#include "textesc.h"
#include "util.h"

#define STATUS_MAGIC "blfailoverd-status 1"

static const char *const health_names[] = {
        [STATUS_UNKNOWN] = "unknown", [STATUS_UP] = "up", [STATUS_DOWN] = "down",
};

const char *status_health_to_string(enum status_health h) {
        return h < ELEMENTSOF(health_names) ? health_names[h] : "unknown";
}

const char *status_serving(const struct status *s, const struct state *record) {
        bool switched = false;

        /* The switch step is the one that moves traffic: from then on the new side serves, whatever came after. */
        for (size_t i = 0; record && i < record->n_steps; i++)
                if (strcmp(record->steps[i].name, "switch") == 0 && record->steps[i].status == STATE_STEP_OK)
                        switched = true;
        if (record && record->op == STATE_OP_REJOIN && record->to[0])
                return record->to;              /* a rejoin moves no traffic away from the serving site */
        if (record && record->from[0] && record->to[0])
                return switched ? record->to : record->from;
        return switched ? s->standby.name : s->active.name;     /* format 1: the names are the config's */
}

bool status_failover_running(const struct status *s, bool daemon_alive, const struct state *record) {
        return s->failover_running && daemon_alive && record && record->outcome == STATE_RUNNING;
}

/* ---- the file format: one "key value" per line, a table says where each key lives -------------------------- */

enum field_type { F_STR, F_U64, F_I64, F_UINT, F_INT, F_LONG, F_BOOL, F_DOUBLE, F_HEALTH };

struct field {
        const char *key;
        enum field_type type;
        size_t offset;
        size_t size;                    /* F_STR: the buffer's size */
};

#define FIELD(st, k, t, m) { k, t, offsetof(struct st, m), sizeof(((struct st *) 0)->m) }

static const struct field status_fields[] = {
        FIELD(status, "pid", F_INT, pid),
        FIELD(status, "running", F_BOOL, running),
        FIELD(status, "started", F_U64, started_usec),
        FIELD(status, "updated", F_U64, updated_usec),
        FIELD(status, "threshold", F_UINT, threshold),
        FIELD(status, "failover_running", F_BOOL, failover_running),
        FIELD(status, "failed_over", F_BOOL, failed_over),
        FIELD(status, "paused", F_BOOL, paused),
        FIELD(status, "paused_since", F_U64, paused_since_usec),
        FIELD(status, "paused_uid", F_UINT, paused_uid),
        FIELD(status, "paused_reason", F_STR, paused_reason),
        FIELD(status, "held_gate", F_STR, held_gate),
        FIELD(status, "held_detail", F_STR, held_detail),
        FIELD(status, "not_started", F_STR, not_started),
};

static const struct field endpoint_fields[] = {
        FIELD(status_endpoint, "name", F_STR, name),
        FIELD(status_endpoint, "url", F_STR, url),
        FIELD(status_endpoint, "health", F_HEALTH, health),
        FIELD(status_endpoint, "checks", F_U64, checks),
        FIELD(status_endpoint, "checked", F_U64, checked_usec),
        FIELD(status_endpoint, "result", F_STR, result),
        FIELD(status_endpoint, "http_code", F_LONG, http_code),
        FIELD(status_endpoint, "latency", F_U64, latency_usec),
        FIELD(status_endpoint, "error", F_STR, error),
        FIELD(status_endpoint, "failures", F_UINT, failures),
};

static const struct field db_fields[] = {
        FIELD(status_db, "configured", F_BOOL, configured),
        FIELD(status_db, "known", F_BOOL, known),
        FIELD(status_db, "reachable", F_BOOL, reachable),
        FIELD(status_db, "in_recovery", F_BOOL, in_recovery),
        FIELD(status_db, "receiving", F_BOOL, receiving),
        FIELD(status_db, "lag_bytes", F_U64, lag_bytes),
        FIELD(status_db, "lag_seconds", F_DOUBLE, lag_seconds),
        FIELD(status_db, "checked", F_U64, checked_usec),
        FIELD(status_db, "error", F_STR, error),
};

/* "cluster.*" lines exist only in a member's file: a standalone daemon writes the same bytes as before. */
static const struct field cluster_fields[] = {
        FIELD(status_cluster, "enabled", F_BOOL, enabled),
        FIELD(status_cluster, "name", F_STR, name),
        FIELD(status_cluster, "role", F_STR, role),
        FIELD(status_cluster, "leader", F_STR, leader),
        FIELD(status_cluster, "acting", F_BOOL, acting),
        FIELD(status_cluster, "etcd_up", F_BOOL, etcd_up),
        FIELD(status_cluster, "lease_seconds_left", F_DOUBLE, lease_seconds_left),
        FIELD(status_cluster, "reason", F_STR, reason),
        FIELD(status_cluster, "endpoint", F_STR, endpoint),
        FIELD(status_cluster, "record_revision", F_I64, record_revision),
        FIELD(status_cluster, "agreeing", F_UINT, agreeing),
        FIELD(status_cluster, "needed", F_UINT, needed),
        FIELD(status_cluster, "n_members", F_UINT, n_members),
};

/* "cluster.member.<i>.<key>", i < n_members. */
#define MEMBER_PREFIX "cluster.member."
static const struct field member_fields[] = {
        FIELD(status_cluster_member, "name", F_STR, name),
        FIELD(status_cluster_member, "seen", F_BOOL, seen),
        FIELD(status_cluster_member, "fresh", F_BOOL, fresh),
        FIELD(status_cluster_member, "agrees", F_BOOL, agrees),
        FIELD(status_cluster_member, "digest_ok", F_BOOL, digest_ok),
        FIELD(status_cluster_member, "active_health", F_STR, active_health),
        FIELD(status_cluster_member, "active_failures", F_UINT, active_failures),
        FIELD(status_cluster_member, "standby_health", F_STR, standby_health),
        FIELD(status_cluster_member, "standby_failures", F_UINT, standby_failures),
        FIELD(status_cluster_member, "age_seconds", F_DOUBLE, age_seconds),
};

/* The sections of the file: a key "active.name" is field "name" of the struct at offset `base`. */
static const struct {
        const char *prefix;
        size_t base;
        const struct field *fields;
        size_t n_fields;
} sections[] = {
        { "", 0, status_fields, ELEMENTSOF(status_fields) },
        { "active.", offsetof(struct status, active), endpoint_fields, ELEMENTSOF(endpoint_fields) },
        { "standby.", offsetof(struct status, standby), endpoint_fields, ELEMENTSOF(endpoint_fields) },
        { "standby_db.", offsetof(struct status, standby_db), db_fields, ELEMENTSOF(db_fields) },
        { "primary_db.", offsetof(struct status, primary_db), db_fields, ELEMENTSOF(db_fields) },
        { "cluster.", offsetof(struct status, cluster), cluster_fields, ELEMENTSOF(cluster_fields) },
};
#define CLUSTER_SECTION (ELEMENTSOF(sections) - 1)

static void write_field(FILE *f, const char *prefix, const struct field *fd, const void *base) {
        const char *p = (const char *) base + fd->offset;

        fprintf(f, "%s%s ", prefix, fd->key);
        switch (fd->type) {
        case F_STR: textesc_write(f, p); break;
        case F_U64: fprintf(f, "%" PRIu64, *(const uint64_t *) p); break;
        case F_I64: fprintf(f, "%" PRIi64, *(const int64_t *) p); break;
        case F_UINT: fprintf(f, "%u", *(const unsigned *) p); break;
        case F_INT: fprintf(f, "%d", *(const int *) p); break;
        case F_LONG: fprintf(f, "%ld", *(const long *) p); break;
        case F_BOOL: fputs(*(const bool *) p ? "yes" : "no", f); break;
        case F_DOUBLE: fprintf(f, "%.6f", *(const double *) p); break;
        case F_HEALTH: fputs(status_health_to_string(*(const enum status_health *) p), f); break;
        }
        fputc('\n', f);
}

static void write_members(FILE *f, const struct status_cluster *c) {
        char prefix[40];

        for (size_t i = 0; c->enabled && i < c->n_members && i < STATUS_CLUSTER_MEMBERS_MAX; i++) {
                snprintf(prefix, sizeof prefix, MEMBER_PREFIX "%zu.", i);
                for (size_t k = 0; k < ELEMENTSOF(member_fields); k++)
                        write_field(f, prefix, &member_fields[k], &c->members[i]);
        }
}

int status_serialize(const struct status *s, char **ret_text, size_t *ret_size) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        fputs(STATUS_MAGIC "\n", f);
        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                for (size_t k = 0; k < sections[i].n_fields && (i != CLUSTER_SECTION || s->cluster.enabled); k++)
                        write_field(f, sections[i].prefix, &sections[i].fields[k], (const char *) s + sections[i].base);
        write_members(f, &s->cluster);
        fputs("end\n", f);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_size = size;
        return 0;
}

/* What we write: a digit first, or a '-' where a sign is allowed — not the blanks, '+' or "nan" strto* accept. */
static bool starts_number(const char *v, bool is_signed) {
        return (*v >= '0' && *v <= '9') || (is_signed && *v == '-' && v[1] >= '0' && v[1] <= '9');
}

/* Integers of 64 bits (size 8) or 32 bits (int/unsigned, size 4), range-checked. */
static int parse_number(const char *v, bool is_signed, int64_t min, uint64_t max, void *ret, size_t size) {
        char *end;
        uint64_t u;
        int64_t i;

        if (!starts_number(v, is_signed))
                return -EBADMSG;
        errno = 0;
        if (is_signed) {
                i = strtoll(v, &end, 10);
                if (errno || *end || i < min || (i > 0 && (uint64_t) i > max))
                        return -EBADMSG;
                u = (uint64_t) i;
        } else {
                u = strtoull(v, &end, 10);
                if (errno || *end || u > max)
                        return -EBADMSG;
        }
        if (size == sizeof(uint64_t))
                *(uint64_t *) ret = u;
        else if (size == sizeof(int))   /* int and unsigned: the bit pattern is what the range check allowed */
                *(int *) ret = (int) (int64_t) u;
        return 0;
}

static int read_field(const struct field *fd, const char *v, void *base) {
        char *p = (char *) base + fd->offset, *end;

        switch (fd->type) {
        case F_STR: return textesc_read(v, p, fd->size);
        case F_U64: return parse_number(v, false, 0, UINT64_MAX, p, sizeof(uint64_t));
        case F_I64: return parse_number(v, true, INT64_MIN, INT64_MAX, p, sizeof(int64_t));
        case F_UINT: return parse_number(v, false, 0, UINT32_MAX, p, sizeof(unsigned));
        case F_INT: return parse_number(v, true, INT32_MIN, INT32_MAX, p, sizeof(int));
        case F_LONG:
                errno = 0;
                *(long *) p = strtol(v, &end, 10);
                return errno || !starts_number(v, true) || *end ? -EBADMSG : 0;
        case F_BOOL:
                if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
                        return -EBADMSG;
                *(bool *) p = v[0] == 'y';
                return 0;
        case F_DOUBLE:
                errno = 0;
                *(double *) p = strtod(v, &end);
                return errno || !starts_number(v, true) || *end ? -EBADMSG : 0;
        case F_HEALTH:
                for (size_t i = 0; i < ELEMENTSOF(health_names); i++)
                        if (strcmp(v, health_names[i]) == 0) {
                                *(enum status_health *) p = (enum status_health) i;
                                return 0;
                        }
                return -EBADMSG;
        }
        return -EBADMSG;
}

/* "cluster.member.<i>.<key>": i in decimal, below STATUS_CLUSTER_MEMBERS_MAX. */
static int parse_member_line(const char *key, const char *value, struct status_cluster *c) {
        const char *dot;
        unsigned long i;
        char *end;

        if (!starts_number(key, false))
                return -EBADMSG;
        errno = 0;
        i = strtoul(key, &end, 10);
        if (errno || *end != '.' || i >= STATUS_CLUSTER_MEMBERS_MAX)
                return -EBADMSG;
        dot = end + 1;
        for (size_t k = 0; k < ELEMENTSOF(member_fields); k++)
                if (strcmp(dot, member_fields[k].key) == 0)
                        return read_field(&member_fields[k], value, &c->members[i]);
        return -EBADMSG;
}

static int parse_line(char *line, struct status *s) {
        char *value = strchr(line, ' ');

        if (!value)
                return -EBADMSG;
        *value++ = 0;
        if (strncmp(line, MEMBER_PREFIX, strlen(MEMBER_PREFIX)) == 0)
                return parse_member_line(line + strlen(MEMBER_PREFIX), value, &s->cluster);
        for (size_t i = 0; i < ELEMENTSOF(sections); i++) {
                size_t n = strlen(sections[i].prefix);
                if (strncmp(line, sections[i].prefix, n) != 0 || (n == 0 && strchr(line, '.')))
                        continue;
                for (size_t k = 0; k < sections[i].n_fields; k++)
                        if (strcmp(line + n, sections[i].fields[k].key) == 0)
                                return read_field(&sections[i].fields[k], value, (char *) s + sections[i].base);
        }
        return -EBADMSG;
}

int status_parse(const char *data, size_t size, struct status *ret) {
        _cleanup_free_ char *copy = NULL;
        struct status s = { .standby_db.lag_seconds = -1, .primary_db.lag_seconds = -1 };
        bool ended = false;
        char *save = NULL;
        unsigned lineno = 0;

        if (size == 0 || memchr(data, 0, size) || data[size - 1] != '\n')
                return -EBADMSG;
        copy = strndup(data, size);
        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (ended)
                        return -EBADMSG;
                if (++lineno == 1) {
                        if (strcmp(line, STATUS_MAGIC) != 0)
                                return -EBADMSG;
                } else if (strcmp(line, "end") == 0)
                        ended = true;
                else if (parse_line(line, &s) < 0)
                        return -EBADMSG;
        }
        if (!ended || s.cluster.n_members > STATUS_CLUSTER_MEMBERS_MAX)
                return -EBADMSG;
        *ret = s;
        return 0;
}

/* ---- the file ------------------------------------------------------------------------------------------- */

static char *status_path(const char *state_dir) {
        char *path;

        return asprintf(&path, "%s/%s", state_dir, STATUS_FILE_NAME) < 0 ? NULL : path;
}

/* No fsync: the file is a cache of what the running daemon sees, rewritten every interval and worthless after a
 * crash (the next start rewrites it at once); fsync twice per tick would only add disk latency to the loop.
 * rename() still guarantees that a reader sees a whole file, the old or the new one. */
int status_save(const char *state_dir, const struct status *s) {
        _cleanup_free_ char *path = status_path(state_dir), *tmp = NULL, *text = NULL;
        size_t size;
        FILE *f;
        int r;

        if (!path || asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        r = fileio_mkdir_p(state_dir, 0700);
        if (r < 0)
                return r;
        r = status_serialize(s, &text, &size);
        if (r < 0)
                return r;
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        if (fwrite(text, 1, size, f) != size) {
                r = -errno;
                fclose(f);
                unlink(tmp);
                return r ? r : -EIO;
        }
        if (fclose(f) != 0 || rename(tmp, path) < 0) {
                r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

int status_load(const char *state_dir, struct status *ret) {
        _cleanup_free_ char *path = status_path(state_dir), *data = NULL;
        size_t size;
        int r;

        if (!path)
                return -ENOMEM;
        r = fileio_read(path, STATUS_FILE_MAX, &data, &size);
        if (r < 0)
                return r;
        return status_parse(data, size, ret);
}

/* ---- JSON ------------------------------------------------------------------------------------------------ */

static void json_endpoint(struct json *j, const char *role, const struct status_endpoint *e, unsigned threshold) {
        json_key(j, role);
        json_object_begin(j);
        json_key(j, "name"), json_string(j, e->name);
        json_key(j, "url"), json_string(j, e->url);
        json_key(j, "status"), json_string(j, status_health_to_string(e->health));
        json_key(j, "consecutive_failures"), json_u64(j, e->failures);
        json_key(j, "threshold"), json_u64(j, threshold);
        json_key(j, "checks"), json_u64(j, e->checks);
        json_key(j, "last_check");
        if (e->checked_usec == 0)
                json_null(j);
        else {
                json_object_begin(j);
                json_key(j, "time"), json_time(j, e->checked_usec);
                json_key(j, "result"), json_string(j, e->result);
                json_key(j, "http_status");
                if (e->http_code > 0)
                        json_i64(j, e->http_code);
                else
                        json_null(j);
                json_key(j, "error"), json_string(j, e->error[0] ? e->error : NULL);
                json_key(j, "latency_seconds"), json_double(j, (double) e->latency_usec / 1e6);
                json_object_end(j);
        }
        json_object_end(j);
}

static void json_db(struct json *j, const char *key, const struct status_db *d) {
        json_key(j, key);
        if (!d->configured) {
                json_null(j);
                return;
        }
        json_object_begin(j);
        json_key(j, "checked"), json_time(j, d->known ? d->checked_usec : 0);
        json_key(j, "reachable");
        if (d->known)
                json_bool(j, d->reachable);
        else
                json_null(j);
        if (d->known && d->reachable) {
                json_key(j, "in_recovery"), json_bool(j, d->in_recovery);
                json_key(j, "receiving"), json_bool(j, d->receiving);
                json_key(j, "lag_bytes"), json_u64(j, d->lag_bytes);
                json_key(j, "replay_lag_seconds");
                if (d->lag_seconds >= 0)
                        json_double(j, d->lag_seconds);
                else
                        json_null(j);
        }
        json_key(j, "error"), json_string(j, d->error[0] ? d->error : NULL);
        json_object_end(j);
}

/* "state_dir": {"path", "writable", "error"}: without a writable directory no failover can start. */
static void json_state_dir(struct json *j, const struct status_view *v) {
        json_key(j, "state_dir");
        if (!v->state_dir) {
                json_null(j);
                return;
        }
        json_object_begin(j);
        json_key(j, "path"), json_string(j, v->state_dir);
        json_key(j, "writable"), json_bool(j, v->state_dir_error == 0);
        json_key(j, "error"), json_string(j, v->state_dir_error ? strerror(-v->state_dir_error) : NULL);
        json_object_end(j);
}

void status_view_roles(const struct status_view *v, struct state_roles *ret) {
        const struct status *s = v->status;

        state_roles_resolve(v->record, !v->record && v->record_error != 0,
                            v->first_serving ? v->first_serving : s->active.name,
                            v->first_standby ? v->first_standby : s->standby.name, ret);
}

/* "roles": {serving, standby, epoch, latch}: who serves by the record (the top-level "serving" is nginx's view). */
static void json_roles(struct json *j, const struct status_view *v) {
        struct state_roles r;

        status_view_roles(v, &r);
        json_key(j, "roles");
        json_object_begin(j);
        json_key(j, "serving"), json_string(j, r.serving);
        json_key(j, "standby"), json_string(j, r.standby);
        json_key(j, "epoch");
        if (r.serving)
                json_u64(j, r.epoch);
        else
                json_null(j);
        json_key(j, "latch"), json_string(j, r.latch);
        json_object_end(j);
}

static void json_record(struct json *j, const struct status_view *v) {
        const struct state *r = v->record;

        json_key(j, "failover");
        if (!r && v->record_error == 0) {
                json_null(j);
                return;
        }
        json_object_begin(j);
        if (!r) {
                json_key(j, "outcome"), json_string(j, "unreadable");
                json_key(j, "error"), json_string(j, strerror(-v->record_error));
                json_object_end(j);
                return;
        }
        json_key(j, "outcome"), json_string(j, state_outcome_to_string(r->outcome));
        json_key(j, "trigger"), json_string(j, r->trigger[0] ? r->trigger : NULL);
        json_key(j, "started"), json_time(j, r->started_usec);
        json_key(j, "finished"), json_time(j, r->finished_usec);
        json_key(j, "failed_step"), json_string(j, r->failed_step[0] ? r->failed_step : NULL);
        json_key(j, "steps");
        json_array_begin(j);
        for (size_t i = 0; i < r->n_steps; i++) {
                const struct state_step *st = &r->steps[i];
                json_object_begin(j);
                json_key(j, "name"), json_string(j, st->name);
                json_key(j, "result"), json_string(j, state_step_status_to_string(st->status));
                json_key(j, "started"), json_time(j, st->started_usec);
                json_key(j, "duration_seconds"), json_double(j, (double) st->duration_usec / 1e6);
                json_key(j, "exit_status");
                if (st->exit_status >= 0)
                        json_i64(j, st->exit_status);
                else
                        json_null(j);
                json_key(j, "detail"), json_string(j, st->detail);
                json_object_end(j);
        }
        json_array_end(j);
        json_object_end(j);
}

static void json_member(struct json *j, const struct status_cluster_member *m) {
        json_object_begin(j);
        json_key(j, "name"), json_string(j, m->name);
        json_key(j, "seen"), json_bool(j, m->seen);
        json_key(j, "fresh"), json_bool(j, m->fresh);
        json_key(j, "agrees"), json_bool(j, m->agrees);
        json_key(j, "digest_ok"), json_bool(j, m->digest_ok);
        json_key(j, "active_health"), json_string(j, m->seen ? m->active_health : NULL);
        json_key(j, "active_failures"), json_u64(j, m->active_failures);
        json_key(j, "standby_health"), json_string(j, m->seen ? m->standby_health : NULL);
        json_key(j, "standby_failures"), json_u64(j, m->standby_failures);
        json_key(j, "age_seconds");
        if (m->seen && m->age_seconds >= 0)
                json_double(j, m->age_seconds);
        else
                json_null(j);
        json_object_end(j);
}

/* "cluster": this member's view of the monitor cluster (docs/design/cluster.md §9); absent when standalone. */
static void json_cluster(struct json *j, const struct status_cluster *c) {
        if (!c->enabled)
                return;
        json_key(j, "cluster");
        json_object_begin(j);
        json_key(j, "name"), json_string(j, c->name);
        json_key(j, "role"), json_string(j, c->role);
        json_key(j, "leader"), json_string(j, c->leader[0] ? c->leader : NULL);
        json_key(j, "acting"), json_bool(j, c->acting);
        json_key(j, "etcd_up"), json_bool(j, c->etcd_up);
        json_key(j, "endpoint"), json_string(j, c->endpoint[0] ? c->endpoint : NULL);
        json_key(j, "lease_seconds_left");
        if (c->lease_seconds_left >= 0)
                json_double(j, c->lease_seconds_left);
        else
                json_null(j);
        json_key(j, "reason"), json_string(j, c->reason[0] ? c->reason : NULL);
        json_key(j, "record_revision"), json_i64(j, c->record_revision);
        json_key(j, "agreeing"), json_u64(j, c->agreeing);
        json_key(j, "needed"), json_u64(j, c->needed);
        json_key(j, "members");
        json_array_begin(j);
        for (size_t i = 0; i < c->n_members && i < STATUS_CLUSTER_MEMBERS_MAX; i++)
                json_member(j, &c->members[i]);
        json_array_end(j);
        json_object_end(j);
}

void status_print_json(const struct status_view *v, FILE *out) {
        const struct status *s = v->status;
        struct json j;

        json_init(&j, out);
        json_object_begin(&j);
        json_key(&j, "version"), json_u64(&j, STATUS_JSON_VERSION);
        json_key(&j, "daemon");
        json_object_begin(&j);
        json_key(&j, "running"), json_bool(&j, v->daemon_alive);
        json_key(&j, "pid");
        if (s->pid > 0)
                json_i64(&j, s->pid);
        else
                json_null(&j);
        json_key(&j, "started"), json_time(&j, s->started_usec);
        json_key(&j, "updated"), json_time(&j, s->updated_usec);
        json_object_end(&j);
        json_key(&j, "serving"), json_string(&j, status_serving(s, v->record));
        json_roles(&j, v);
        json_endpoint(&j, "active", &s->active, s->threshold);
        json_endpoint(&j, "standby", &s->standby, s->threshold);
        json_db(&j, "standby_db", &s->standby_db);
        json_db(&j, "primary_db", &s->primary_db);
        json_key(&j, "failover_running"), json_bool(&j, s->failover_running);
        json_key(&j, "paused");
        if (s->paused) {
                json_object_begin(&j);
                json_key(&j, "since"), json_time(&j, s->paused_since_usec);
                json_key(&j, "uid"), json_u64(&j, s->paused_uid);
                json_key(&j, "reason"), json_string(&j, s->paused_reason[0] ? s->paused_reason : NULL);
                json_object_end(&j);
        } else
                json_null(&j);
        json_key(&j, "held");
        if (s->held_gate[0]) {
                json_object_begin(&j);
                json_key(&j, "gate"), json_string(&j, s->held_gate);
                json_key(&j, "detail"), json_string(&j, s->held_detail);
                json_object_end(&j);
        } else
                json_null(&j);
        json_key(&j, "not_started"), json_string(&j, s->not_started[0] ? s->not_started : NULL);
        json_cluster(&j, &s->cluster);
        json_state_dir(&j, v);
        json_record(&j, v);
        json_object_end(&j);
        fputc('\n', out);
}

/* ---- human ---------------------------------------------------------------------------------------------- */

static void human_endpoint(FILE *out, const char *role, const struct status_endpoint *e, unsigned threshold) {
        char when[40];

        fprintf(out, "%-8s %s (%s): %s", role, e->name, e->url, status_health_to_string(e->health));
        if (strcmp(role, "active:") == 0)
                fprintf(out, ", %u/%u consecutive failures", e->failures, threshold);
        else if (e->failures > 0)
                fprintf(out, ", %u consecutive failures", e->failures);
        fputc('\n', out);
        if (e->checked_usec == 0) {
                fprintf(out, "         last check: none yet\n");
                return;
        }
        json_format_time(e->checked_usec, when, sizeof when);
        fprintf(out, "         last check: %s %s", when, e->result);
        if (e->http_code > 0)
                fprintf(out, ", HTTP %ld", e->http_code);
        if (e->error[0])
                fprintf(out, ", %s", e->error);
        fprintf(out, ", %.1f ms\n", (double) e->latency_usec / 1000.0);
}

static void human_db(FILE *out, const char *label, const struct status_db *d) {
        if (!d->configured)
                return;
        fprintf(out, "%s ", label);
        if (!d->known)
                fprintf(out, "no answer yet\n");
        else if (!d->reachable)
                fprintf(out, "unreachable: %s\n", d->error);
        else {
                fprintf(out, "%s", d->in_recovery ? "in recovery" : "not in recovery");
                if (d->in_recovery)
                        fprintf(out, ", %s, lag %" PRIu64 " bytes", d->receiving ? "receiving WAL" : "NOT receiving WAL",
                                d->lag_bytes);
                if (d->lag_seconds >= 0)
                        fprintf(out, ", replay lag %.3fs", d->lag_seconds);
                fputc('\n', out);
        }
}

/* "cluster: member mon-b, follower (leader mon-a), etcd up via http://…": who this member is and who leads. */
static void human_cluster_self(FILE *out, const struct status_cluster *c) {
        fprintf(out, "cluster: member %s, ", c->name);
        if (strcmp(c->role, "unavailable") == 0) {
                fprintf(out, "UNAVAILABLE: %s\n", c->reason[0] ? c->reason : "etcd cannot be reached");
                return;
        }
        if (strcmp(c->role, "leader") == 0) {
                fprintf(out, "LEADER, %s", c->acting ? "acting" : "not acting");
                if (!c->acting && c->reason[0])
                        fprintf(out, " (%s)", c->reason);
                if (c->lease_seconds_left >= 0)
                        fprintf(out, ", lease %.1fs left", c->lease_seconds_left);
                if (!c->etcd_up)
                        fprintf(out, ", etcd down via %s", c->endpoint);
                fputc('\n', out);
                return;
        }
        fprintf(out, "%s (%s%s), etcd %s via %s", c->role, c->leader[0] ? "leader " : "no leader", c->leader,
                c->etcd_up ? "up" : "down", c->endpoint);
        if (c->reason[0])
                fprintf(out, ": %s", c->reason);
        fputc('\n', out);
}

/* "  mon-b: active down (3 failures), standby up (0 failures), 1.2s ago, agrees" */
static void human_cluster_member(FILE *out, const struct status_cluster_member *m) {
        fprintf(out, "  %s: ", m->name);
        if (!m->seen) {
                fprintf(out, "no view\n");
                return;
        }
        fprintf(out, "active %s (%u failures), standby %s (%u failures), ", m->active_health, m->active_failures,
                m->standby_health, m->standby_failures);
        if (m->age_seconds >= 0)
                fprintf(out, "%.1fs ago", m->age_seconds);
        else
                fprintf(out, "no view");
        if (!m->fresh)
                fprintf(out, ", stale");
        if (m->agrees)
                fprintf(out, ", agrees");
        if (!m->digest_ok)
                fprintf(out, ", CONFIG DIFFERS");
        fputc('\n', out);
}

static void human_cluster(FILE *out, const struct status_cluster *c) {
        if (!c->enabled)
                return;
        human_cluster_self(out, c);
        for (size_t i = 0; i < c->n_members && i < STATUS_CLUSTER_MEMBERS_MAX; i++)
                human_cluster_member(out, &c->members[i]);
        fprintf(out, "quorum: %u of %u members see the active failing, %u needed\n", c->agreeing, c->n_members,
                c->needed);
}

void status_print_human(const struct status_view *v, FILE *out) {
        const struct status *s = v->status;
        struct state_roles roles;
        char started[40], updated[40];

        json_format_time(s->started_usec, started, sizeof started);
        json_format_time(s->updated_usec, updated, sizeof updated);
        if (v->daemon_alive)
                fprintf(out, "daemon:  running (pid %d, since %s; this view from %s)\n", s->pid, started, updated);
        else if (s->updated_usec)
                fprintf(out, "daemon:  not running (last view from %s)\n", updated);
        else
                fprintf(out, "daemon:  not running (no live view yet)\n");
        fprintf(out, "serving: %s\n", status_serving(s, v->record));
        status_view_roles(v, &roles);
        state_roles_print(&roles, out);
        human_endpoint(out, "active:", &s->active, s->threshold);
        human_endpoint(out, "standby:", &s->standby, s->threshold);
        human_db(out, "standby database:", &s->standby_db);
        human_db(out, "primary database:", &s->primary_db);
        human_cluster(out, &s->cluster);
        if (s->paused) {
                char since[40];
                json_format_time(s->paused_since_usec, since, sizeof since);
                fprintf(out, "paused:  since %s by uid %u%s%s%s: no automatic failover until blfailoverd --resume\n",
                        since, s->paused_uid, s->paused_reason[0] ? " (" : "", s->paused_reason,
                        s->paused_reason[0] ? ")" : "");
        }
        if (s->failover_running)
                fprintf(out, "failover: in progress\n");
        else if (s->held_gate[0])
                fprintf(out, "failover: held by gate %s: %s\n", s->held_gate, s->held_detail);
        else if (s->not_started[0])
                fprintf(out, "failover: NOT STARTED: %s\n", s->not_started);
        if (v->state_dir && v->state_dir_error)
                fprintf(out, "state dir: %s takes no new file (%s): a failover cannot start until it does\n",
                        v->state_dir, strerror(-v->state_dir_error));
        if (v->record)
                state_print(v->record, out);
        else if (v->record_error)
                fprintf(out, "last failover: the record cannot be read (%s); treated as a recorded failover\n",
                        strerror(-v->record_error));
        else
                fprintf(out, "last failover: never (monitoring; a failover will run when the active fails)\n");
}
