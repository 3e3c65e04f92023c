/* json: a minimal JSON writer — escaping and comma placement. */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <time.h>

#include "util.h"

void json_init(struct json *j, FILE *out) {
        *j = (struct json) { .out = out };
        j->first[0] = true;
}

void json_string_to(FILE *out, const char *s) {
        if (!s) {
                fputs("null", out);
                return;
        }
        fputc('"', out);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                switch (*p) {
                case '"': fputs("\\\"", out); break;
                case '\\': fputs("\\\\", out); break;
                case '\n': fputs("\\n", out); break;
                case '\r': fputs("\\r", out); break;
                case '\t': fputs("\\t", out); break;
                case '\b': fputs("\\b", out); break;
                case '\f': fputs("\\f", out); break;
                default:
                        /* Every other control must be escaped; DEL is legal JSON but escaped for terminals. */
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(out, "\\u%04x", *p);
                        else
                                fputc(*p, out);
                }
        }
        fputc('"', out);
}

/* Before a key or a value: a comma unless it is the first item at this level or the value of a key. */
static void separate(struct json *j) {
        if (j->after_key) {
                j->after_key = false;
                return;
        }
        if (!j->first[j->depth])
                fputc(',', j->out);
        j->first[j->depth] = false;
}

static void open_level(struct json *j, char c) {
        separate(j);
        fputc(c, j->out);
        if (j->depth + 1 < JSON_DEPTH_MAX)
                j->depth++;
        j->first[j->depth] = true;
}

static void close_level(struct json *j, char c) {
        fputc(c, j->out);
        if (j->depth > 0)
                j->depth--;
}

void json_object_begin(struct json *j) {
        open_level(j, '{');
}

void json_object_end(struct json *j) {
        close_level(j, '}');
}

void json_array_begin(struct json *j) {
        open_level(j, '[');
}

void json_array_end(struct json *j) {
        close_level(j, ']');
}

void json_key(struct json *j, const char *key) {
        separate(j);
        json_string_to(j->out, key);
        fputc(':', j->out);
        j->after_key = true;
}

void json_string(struct json *j, const char *s) {
        separate(j);
        json_string_to(j->out, s);
}

void json_u64(struct json *j, uint64_t v) {
        separate(j);
        fprintf(j->out, "%" PRIu64, v);
}

void json_i64(struct json *j, int64_t v) {
        separate(j);
        fprintf(j->out, "%" PRId64, v);
}

void json_double(struct json *j, double v) {
        separate(j);
        if (isfinite(v))
                fprintf(j->out, "%.6g", v);
        else
                fputs("null", j->out);
}

void json_bool(struct json *j, bool v) {
        separate(j);
        fputs(v ? "true" : "false", j->out);
}

void json_null(struct json *j) {
        separate(j);
        fputs("null", j->out);
}

void json_format_time(uint64_t realtime_usec, char *buf, size_t size) {
        time_t t = (time_t) (realtime_usec / USEC_PER_SEC);
        char base[32];
        struct tm tm;

        if (realtime_usec == 0 || !gmtime_r(&t, &tm)) {
                snprintf(buf, size, "-");
                return;
        }
        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%03uZ", base, (unsigned) (realtime_usec % USEC_PER_SEC / 1000));
}

void json_time(struct json *j, uint64_t realtime_usec) {
        char buf[40];

        if (realtime_usec == 0) {
                json_null(j);
                return;
        }
        json_format_time(realtime_usec, buf, sizeof buf);
        json_string(j, buf);
}
