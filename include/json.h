/* json: owns writing JSON text — string escaping (RFC 8259: quotes, backslash, every control character; other
 * bytes are copied, so UTF-8 passes through) and the punctuation of objects and arrays. A writer, never a parser.
 * Pure: it writes to a FILE (usually open_memstream) and keeps no state beyond the caller's struct json. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Nesting is tracked so commas are placed by the writer, not by every caller. */
#define JSON_DEPTH_MAX 16

struct json {
        FILE *out;
        unsigned depth;
        bool first[JSON_DEPTH_MAX];     /* nothing written yet at this level: no comma before the next item */
        bool after_key;                 /* the next value completes a "key": pair: no comma before it */
};

void json_init(struct json *j, FILE *out);

/* "s" with escaping; NULL writes null. */
void json_string_to(FILE *out, const char *s);

void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
/* Inside an object: the key of the next value. */
void json_key(struct json *j, const char *key);

void json_string(struct json *j, const char *s);        /* NULL → null */
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_double(struct json *j, double v);             /* non-finite → null (JSON has no NaN) */
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* usec since the epoch as "2026-11-25T21:00:00.123Z"; 0 → null. */
void json_time(struct json *j, uint64_t realtime_usec);

/* "2026-11-25T21:00:00.123Z" (UTC, milliseconds) into buf; 0 → "-". Used by the human renderings too. */
void json_format_time(uint64_t realtime_usec, char *buf, size_t size);
