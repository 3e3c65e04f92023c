/* state: the persisted failover record — a line-based text format that ends with "end", saved atomically. */
#include "state.h"

#include <errno.h>
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

#define STATE_MAGIC "blfailoverd-state 1"

static const char *const outcome_names[] = {
        [STATE_NONE] = "none", [STATE_RUNNING] = "running",
        [STATE_SUCCEEDED] = "succeeded", [STATE_FAILED] = "failed",
};
static const char *const step_names[] = {
        [STATE_STEP_PENDING] = "pending", [STATE_STEP_RUNNING] = "running",
        [STATE_STEP_OK] = "ok", [STATE_STEP_FAILED] = "failed",
};

const char *state_outcome_to_string(enum state_outcome o) {
        return o < ELEMENTSOF(outcome_names) ? outcome_names[o] : "unknown";
}

const char *state_step_status_to_string(enum state_step_status s) {
        return s < ELEMENTSOF(step_names) ? step_names[s] : "unknown";
}

static int lookup(const char *const *names, size_t n, const char *word) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], word) == 0)
                        return (int) i;
        return -EBADMSG;
}

int state_serialize(const struct state *s, char **ret_text, size_t *ret_size) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        fprintf(f, STATE_MAGIC "\noutcome %s\ntrigger %s\nstarted %" PRIu64 "\nfinished %" PRIu64 "\nfailed_step %s\n",
                state_outcome_to_string(s->outcome), s->trigger[0] ? s->trigger : "-", s->started_usec,
                s->finished_usec, s->failed_step[0] ? s->failed_step : "-");
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

static int parse_line(char *line, struct state *s) {
        char *value = strchr(line, ' ');
        int r;

        if (!value)
                return -EBADMSG;
        *value++ = 0;
        if (strcmp(line, "outcome") == 0) {
                r = lookup(outcome_names, ELEMENTSOF(outcome_names), value);
                if (r < 0)
                        return r;
                s->outcome = (enum state_outcome) r;
                return 0;
        }
        if (strcmp(line, "trigger") == 0)
                return copy_word(s->trigger, sizeof s->trigger, value);
        if (strcmp(line, "started") == 0)
                return parse_u64(value, &s->started_usec);
        if (strcmp(line, "finished") == 0)
                return parse_u64(value, &s->finished_usec);
        if (strcmp(line, "failed_step") == 0)
                return copy_word(s->failed_step, sizeof s->failed_step, value);
        if (strcmp(line, "step") == 0)
                return parse_step(value, s);
        return -EBADMSG;
}

int state_parse(const char *data, size_t size, struct state *ret, unsigned *ret_line) {
        _cleanup_free_ char *copy = NULL;
        struct state s = {};
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
                        if (strcmp(line, STATE_MAGIC) != 0)
                                return -EBADMSG;
                } else if (strcmp(line, "end") == 0)
                        ended = true;
                else if (parse_line(line, &s) < 0)
                        return -EBADMSG;
        }
        if (!ended || s.outcome == STATE_NONE)
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
        char started[32], finished[32];

        format_time(s->started_usec, started, sizeof started);
        format_time(s->finished_usec, finished, sizeof finished);
        fprintf(out, "last failover: %s (%s), started %s, finished %s\n", state_outcome_to_string(s->outcome),
                s->trigger[0] ? s->trigger : "?", started, finished);
        if (s->failed_step[0])
                fprintf(out, "failed at step: %s\n", s->failed_step);
        if (s->outcome == STATE_RUNNING)
                fprintf(out, "interrupted: the failover stopped mid-way (daemon killed or host down). Steps \"ok\" are "
                        "done, \"running\" was interrupted, \"pending\" is left; the daemon resumes at its next start "
                        "where that is safe, and logs what is left to do by hand where it is not.\n");
        for (size_t i = 0; i < s->n_steps; i++) {
                const struct state_step *st = &s->steps[i];
                fprintf(out, "  %-14s %-8s %8.3fs  %s\n", st->name, state_step_status_to_string(st->status),
                        (double) st->duration_usec / 1e6, st->detail);
        }
}
