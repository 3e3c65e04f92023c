/* state: the persisted failover record — a line-based text format that ends with "end", saved atomically. */
#include "state.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "textesc.h"
#include "util.h"

#define STATE_MAGIC_V1 "blfailoverd-state 1"
#define STATE_MAGIC_V2 "blfailoverd-state 2"

static const char *const outcome_names[] = {
        [STATE_NONE] = "none", [STATE_RUNNING] = "running",
        [STATE_SUCCEEDED] = "succeeded", [STATE_FAILED] = "failed",
        [STATE_PUT_BACK] = "put_back",
};
static const char *const step_names[] = {
        [STATE_STEP_PENDING] = "pending", [STATE_STEP_RUNNING] = "running",
        [STATE_STEP_OK] = "ok", [STATE_STEP_FAILED] = "failed",
};
static const char *const op_names[] = {
        [STATE_OP_NONE] = "none", [STATE_OP_FAILOVER] = "failover",
        [STATE_OP_SWITCHOVER] = "switchover", [STATE_OP_REJOIN] = "rejoin",
};
static const char *const latch_names[] = {
        [STATE_LATCH_NONE] = "none", [STATE_LATCH_FAILOVER] = "failover",
        [STATE_LATCH_SWITCHOVER] = "switchover", [STATE_LATCH_REJOIN] = "rejoin",
};

const char *state_outcome_to_string(enum state_outcome o) {
        return o < ELEMENTSOF(outcome_names) ? outcome_names[o] : "unknown";
}

const char *state_step_status_to_string(enum state_step_status s) {
        return s < ELEMENTSOF(step_names) ? step_names[s] : "unknown";
}

const char *state_op_to_string(enum state_op o) {
        return o < ELEMENTSOF(op_names) ? op_names[o] : "unknown";
}

const char *state_latch_to_string(enum state_latch l) {
        return l < ELEMENTSOF(latch_names) ? latch_names[l] : "unknown";
}

static int lookup(const char *const *names, size_t n, const char *word) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], word) == 0)
                        return (int) i;
        return -EBADMSG;
}

/* ---- facts ---------------------------------------------------------------------------------------------- */

/* A fact's key is one word of printable bytes: it is written unescaped between two blanks. */
static bool fact_key_valid(const char *key) {
        if (!*key || strlen(key) >= sizeof ((struct state_fact *) NULL)->key || strcmp(key, "-") == 0)
                return false;
        for (const char *p = key; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f || *p == '\\')
                        return false;
        return true;
}

const char *state_fact_get(const struct state *s, const char *key) {
        for (size_t i = 0; i < s->n_facts; i++)
                if (strcmp(s->facts[i].key, key) == 0)
                        return s->facts[i].value;
        return NULL;
}

int state_fact_set(struct state *s, const char *key, const char *fmt, ...) {
        char value[sizeof s->facts[0].value];
        struct state_fact *f = NULL;
        va_list ap;
        int n;

        if (!fact_key_valid(key))
                return strlen(key) >= sizeof f->key ? -E2BIG : -EINVAL;
        va_start(ap, fmt);
        n = vsnprintf(value, sizeof value, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        if ((size_t) n >= sizeof value)
                return -E2BIG;
        for (size_t i = 0; i < s->n_facts && !f; i++)
                if (strcmp(s->facts[i].key, key) == 0)
                        f = &s->facts[i];
        if (!f) {
                if (s->n_facts >= STATE_FACTS_MAX)
                        return -E2BIG;
                f = &s->facts[s->n_facts++];
                strcpy(f->key, key);
        }
        strcpy(f->value, value);
        return 0;
}

bool state_promoted(const struct state *s) {
        for (size_t i = 0; i < s->n_steps; i++)
                if (strcmp(s->steps[i].name, "promote") == 0 && s->steps[i].status == STATE_STEP_OK)
                        return true;
        return false;
}

int state_set_site(char dst[static STATE_SITE_MAX + 1], const char *name, unsigned index) {
        if (strlen(name) <= STATE_SITE_MAX) {
                strcpy(dst, name);
                return 0;
        }
        snprintf(dst, STATE_SITE_MAX + 1, "#%u", index);
        return 1;
}

/* ---- writing (always format 2) -------------------------------------------------------------------------- */

/* "KEY TEXT": free text (site names, fact values) escaped onto the one line; empty stays empty. */
static void write_text(FILE *f, const char *key, const char *text) {
        fprintf(f, "%s ", key);
        textesc_write(f, text);
        fputc('\n', f);
}

static void write_header(FILE *f, const struct state *s) {
        fprintf(f, STATE_MAGIC_V2 "\nepoch %" PRIu64 "\n", s->epoch);
        write_text(f, "serving", s->serving);
        write_text(f, "standby", s->standby);
        fprintf(f, "latch %s\nop %s\nop_outcome %s\nop_trigger %s\n", state_latch_to_string(s->latch),
                state_op_to_string(s->op), state_outcome_to_string(s->outcome), s->trigger[0] ? s->trigger : "-");
        write_text(f, "op_from", s->from);
        write_text(f, "op_to", s->to);
        fprintf(f, "op_started %" PRIu64 "\nop_finished %" PRIu64 "\nop_failed_step %s\n", s->started_usec,
                s->finished_usec, s->failed_step[0] ? s->failed_step : "-");
        for (size_t i = 0; i < s->n_facts; i++) {
                fprintf(f, "fact %s ", s->facts[i].key);
                textesc_write(f, s->facts[i].value);
                fputc('\n', f);
        }
}

int state_serialize(const struct state *s, char **ret_text, size_t *ret_size) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        write_header(f, s);
        for (size_t i = 0; i < s->n_steps; i++) {
                const struct state_step *st = &s->steps[i];
                /* "-" stands for an empty name, as for trigger: an empty word would shift every field after it */
                fprintf(f, "step %s %s %" PRIu64 " %" PRIu64 " %d ", st->name[0] ? st->name : "-",
                        state_step_status_to_string(st->status), st->started_usec, st->duration_usec,
                        st->exit_status);
                textesc_write(f, st->detail);
                fputc('\n', f);
        }
        fputs("end\n", f);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_size = size;
        return 0;
}

/* ---- reading (format 1 or 2) ---------------------------------------------------------------------------- */

static int copy_word(char *dst, size_t size, const char *word) {
        if (strlen(word) >= size)
                return -EBADMSG;
        strcpy(dst, strcmp(word, "-") == 0 ? "" : word);
        return 0;
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;

        if (!*s || *s == '-')
                return -EBADMSG;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int parse_enum(const char *const *names, size_t n, const char *word, unsigned *ret) {
        int r = lookup(names, n, word);

        if (r < 0)
                return r;
        *ret = (unsigned) r;
        return 0;
}

static int parse_step(char *rest, struct state *s) {
        char name[64], status[16], detail[1024];
        unsigned long long started, duration;
        int exit_status, consumed = 0, r;
        struct state_step *st;

        if (s->n_steps >= STATE_STEPS_MAX)
                return -EBADMSG;
        if (sscanf(rest, "%63s %15s %llu %llu %d%n", name, status, &started, &duration, &exit_status, &consumed) < 5 ||
            consumed == 0 || (rest[consumed] != ' ' && rest[consumed] != '\0'))
                return -EBADMSG;
        /* exactly the one blank state_serialize writes: a detail may itself start with blanks */
        if (rest[consumed] == ' ')
                consumed++;
        st = &s->steps[s->n_steps];
        if (copy_word(st->name, sizeof st->name, name) < 0 || textesc_read(rest + consumed, detail, sizeof detail) < 0 ||
            strlen(detail) >= sizeof st->detail)
                return -EBADMSG;
        r = lookup(step_names, ELEMENTSOF(step_names), status);
        if (r < 0)
                return r;
        st->status = (enum state_step_status) r;
        st->started_usec = started;
        st->duration_usec = duration;
        st->exit_status = exit_status;
        strcpy(st->detail, detail);
        s->n_steps++;
        return 0;
}

/* "fact KEY VALUE": the key is a word, the value the rest of the line, escaped. Each key once. */
static int parse_fact(char *rest, struct state *s) {
        char *value = strchr(rest, ' ');
        struct state_fact *f;

        if (!value || s->n_facts >= STATE_FACTS_MAX)
                return -EBADMSG;
        *value++ = 0;
        if (!fact_key_valid(rest) || state_fact_get(s, rest))
                return -EBADMSG;
        f = &s->facts[s->n_facts];
        if (textesc_read(value, f->value, sizeof f->value) < 0)
                return -EBADMSG;
        strcpy(f->key, rest);
        s->n_facts++;
        return 0;
}

/* parse_enum stores through an unsigned *: the enums must have its size (they do: small, non-negative). */
_Static_assert(sizeof(enum state_outcome) == sizeof(unsigned) && sizeof(enum state_op) == sizeof(unsigned) &&
               sizeof(enum state_latch) == sizeof(unsigned), "enum size");

enum field_kind { F_U64, F_WORD, F_TEXT, F_OUTCOME, F_OP, F_LATCH };

/* One table per format: the key, how its value is read, where it goes. Every key is required and appears once. */
struct field {
        const char *key;
        enum field_kind kind;
        size_t offset, size;
};

#define FIELD(k, kind, member) { k, kind, offsetof(struct state, member), sizeof ((struct state *) NULL)->member }
static const struct field fields_v1[] = {
        FIELD("outcome", F_OUTCOME, outcome), FIELD("trigger", F_WORD, trigger),
        FIELD("started", F_U64, started_usec), FIELD("finished", F_U64, finished_usec),
        FIELD("failed_step", F_WORD, failed_step),
};
static const struct field fields_v2[] = {
        FIELD("epoch", F_U64, epoch), FIELD("serving", F_TEXT, serving), FIELD("standby", F_TEXT, standby),
        FIELD("latch", F_LATCH, latch), FIELD("op", F_OP, op), FIELD("op_outcome", F_OUTCOME, outcome),
        FIELD("op_trigger", F_WORD, trigger), FIELD("op_from", F_TEXT, from), FIELD("op_to", F_TEXT, to),
        FIELD("op_started", F_U64, started_usec), FIELD("op_finished", F_U64, finished_usec),
        FIELD("op_failed_step", F_WORD, failed_step),
};
#undef FIELD

struct parser {
        unsigned version;
        const struct field *fields;
        size_t n_fields;
        uint32_t required;      /* bit i: fields[i] must be there */
        uint32_t seen;          /* bit i: fields[i] was read */
};

static int parse_field(const struct field *fd, const char *value, struct state *s) {
        void *p = (char *) s + fd->offset;

        switch (fd->kind) {
        case F_U64:
                return parse_u64(value, p);
        case F_WORD:
                return strchr(value, ' ') ? -EBADMSG : copy_word(p, fd->size, value);
        case F_TEXT:
                return textesc_read(value, p, fd->size);
        case F_OUTCOME:
                return parse_enum(outcome_names, ELEMENTSOF(outcome_names), value, p);
        case F_OP:
                return parse_enum(op_names, ELEMENTSOF(op_names), value, p);
        case F_LATCH:
                return parse_enum(latch_names, ELEMENTSOF(latch_names), value, p);
        }
        return -EBADMSG;
}

static int parse_line(struct parser *ps, char *line, struct state *s) {
        char *value = strchr(line, ' ');

        if (!value)
                return -EBADMSG;
        *value++ = 0;
        if (strcmp(line, "step") == 0)
                return parse_step(value, s);
        if (strcmp(line, "fact") == 0 && ps->version == 2)
                return parse_fact(value, s);
        for (size_t i = 0; i < ps->n_fields; i++) {
                if (strcmp(line, ps->fields[i].key) != 0)
                        continue;
                if (ps->seen & (UINT32_C(1) << i))
                        return -EBADMSG;
                ps->seen |= UINT32_C(1) << i;
                return parse_field(&ps->fields[i], value, s);
        }
        return -EBADMSG;
}

static int parse_magic(const char *line, struct parser *ret) {
        /* Format 1 required only the outcome (hand-made and fuzzed records exist); format 2 every key. */
        if (strcmp(line, STATE_MAGIC_V1) == 0)
                *ret = (struct parser) { .version = 1, .fields = fields_v1, .n_fields = ELEMENTSOF(fields_v1),
                                         .required = 1 };
        else if (strcmp(line, STATE_MAGIC_V2) == 0)
                *ret = (struct parser) { .version = 2, .fields = fields_v2, .n_fields = ELEMENTSOF(fields_v2),
                                         .required = (UINT32_C(1) << ELEMENTSOF(fields_v2)) - 1 };
        else
                return -EBADMSG;
        return 0;
}

/* Format 1 recorded one thing, the failover, without site names: it is a failover journal and it latches. The
 * serving/standby names stay "" (format 1 never wrote them); the caller maps them (state_roles_resolve). */
static int map_v1(struct state *s) {
        if (s->outcome == STATE_NONE || s->outcome == STATE_PUT_BACK)
                return -EBADMSG;
        s->op = STATE_OP_FAILOVER;
        s->latch = STATE_LATCH_FAILOVER;
        s->epoch = state_promoted(s) ? 1 : 0;
        return 0;
}

/* Format 2: an operation has an outcome, no operation has none. */
static int check_v2(const struct state *s) {
        return (s->op == STATE_OP_NONE) == (s->outcome == STATE_NONE) ? 0 : -EBADMSG;
}

static int parse_finish(const struct parser *ps, bool ended, struct state *s) {
        if (!ended || (ps->seen & ps->required) != ps->required)
                return -EBADMSG;
        s->version = ps->version;
        return ps->version == 1 ? map_v1(s) : check_v2(s);
}

int state_parse(const char *data, size_t size, struct state *ret, unsigned *ret_line) {
        _cleanup_free_ char *copy = NULL;
        struct state s = {};
        struct parser ps = {};
        unsigned lineno = 0;
        bool ended = false;
        char *save = NULL;

        *ret_line = 1;
        if (memchr(data, 0, size) || size == 0 || data[size - 1] != '\n')
                return -EBADMSG;
        copy = strndup(data, size);
        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                *ret_line = ++lineno;
                if (ended)
                        return -EBADMSG;
                if (lineno == 1) {
                        if (parse_magic(line, &ps) < 0)
                                return -EBADMSG;
                } else if (strcmp(line, "end") == 0)
                        ended = true;
                else if (parse_line(&ps, line, &s) < 0)
                        return -EBADMSG;
        }
        if (parse_finish(&ps, ended, &s) < 0)
                return -EBADMSG;
        *ret = s;
        return 0;
}

static char *state_path(const char *state_dir) {
        char *path;

        return asprintf(&path, "%s/%s", state_dir, STATE_FILE_NAME) < 0 ? NULL : path;
}

int state_load(const char *state_dir, struct state *ret) {
        _cleanup_free_ char *path = state_path(state_dir), *data = NULL;
        size_t size;
        unsigned line;
        int r;

        if (!path)
                return -ENOMEM;
        r = fileio_read(path, STATE_FILE_MAX, &data, &size);
        if (r < 0)
                return r;
        return state_parse(data, size, ret, &line);
}

int state_save(const char *state_dir, const struct state *s) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r = state_serialize(s, &text, &size);

        /* Private: step details quote commands and their output. */
        return r < 0 ? r : fileio_write_private(state_dir, STATE_FILE_NAME, text, size);
}

int state_clear(const char *state_dir) {
        _cleanup_free_ char *path = state_path(state_dir);

        if (!path)
                return -ENOMEM;
        return unlink(path) < 0 ? -errno : 0;
}

static void format_time(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0) {
                snprintf(buf, size, "-");
                return;
        }
        gmtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void state_print(const struct state *s, FILE *out) {
        const char *op = state_op_to_string(s->op);
        char started[32], finished[32];

        if (s->op == STATE_OP_NONE) {
                fprintf(out, "last operation: none recorded\n");
                return;
        }
        format_time(s->started_usec, started, sizeof started);
        format_time(s->finished_usec, finished, sizeof finished);
        fprintf(out, "last %s: %s (%s), started %s, finished %s", op, state_outcome_to_string(s->outcome),
                s->trigger[0] ? s->trigger : "?", started, finished);
        if (s->from[0] || s->to[0])
                fprintf(out, ", %s -> %s", s->from[0] ? s->from : "?", s->to[0] ? s->to : "?");
        fputc('\n', out);
        if (s->failed_step[0])
                fprintf(out, "failed at step: %s\n", s->failed_step);
        if (s->outcome == STATE_RUNNING)
                fprintf(out, "interrupted: the %s stopped mid-way (daemon killed or host down). Steps \"ok\" are "
                        "done, \"running\" was interrupted, \"pending\" is left; the daemon resumes at its next start "
                        "where that is safe, and logs what is left to do by hand where it is not.\n", op);
        for (size_t i = 0; i < s->n_facts; i++)
                fprintf(out, "  fact %-18s %s\n", s->facts[i].key, s->facts[i].value);
        for (size_t i = 0; i < s->n_steps; i++) {
                const struct state_step *st = &s->steps[i];
                fprintf(out, "  %-14s %-8s %8.3fs  %s\n", st->name, state_step_status_to_string(st->status),
                        (double) st->duration_usec / 1e6, st->detail);
        }
}

/* ---- roles, as every surface shows them ------------------------------------------------------------------- */

bool state_latched(const struct state *record, bool unreadable) {
        return unreadable || (record && record->latch != STATE_LATCH_NONE);
}

/* "#0"/"#1" (a name too long for the record) stand for the config's sites in their order. */
static const char *site_name(const char *recorded, const char *first_serving, const char *first_standby) {
        if (strcmp(recorded, "#0") == 0)
                return first_serving;
        if (strcmp(recorded, "#1") == 0)
                return first_standby;
        return recorded;
}

void state_roles_resolve(const struct state *record, bool unreadable, const char *first_serving,
                         const char *first_standby, struct state_roles *ret) {
        if (unreadable) {
                *ret = (struct state_roles) { .latch = "unreadable", .latched = true };
                return;
        }
        *ret = (struct state_roles) { .serving = first_serving, .standby = first_standby,
                                      .latch = state_latch_to_string(STATE_LATCH_NONE) };
        if (!record)
                return;
        ret->epoch = record->epoch;
        ret->latch = state_latch_to_string(record->latch);
        ret->latched = record->latch != STATE_LATCH_NONE;
        if (record->serving[0]) {
                ret->serving = site_name(record->serving, first_serving, first_standby);
                ret->standby = site_name(record->standby, first_serving, first_standby);
        } else if (state_promoted(record)) {
                /* format 1 (no names): its promote step ran, so the standby serves */
                ret->serving = first_standby;
                ret->standby = first_serving;
        }
}

void state_roles_print(const struct state_roles *r, FILE *out) {
        if (!r->serving) {
                fprintf(out, "roles: unknown (the record cannot be read) · latch %s\n", r->latch);
                return;
        }
        fprintf(out, "roles: %s serves, %s standby · epoch %" PRIu64 " · latch %s\n", r->serving, r->standby,
                r->epoch, r->latch);
}
