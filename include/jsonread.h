/* jsonread: owns reading JSON text (RFC 8259) into a flat token array — objects, arrays, strings (escapes and
 * \u surrogate pairs to UTF-8), numbers, true/false/null — and looking values up by path. int64 values are read
 * exactly from their digits, whether the JSON carries them as numbers or (as etcd's gateway does) as strings.
 * Pure: no I/O, one allocation for the tokens; the text is borrowed, not copied. It does not validate UTF-8 (bytes
 * ≥ 0x80 pass through) and does not write JSON (json.h does). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONREAD_DEPTH_MAX 32

enum jsonread_type {
        JSONREAD_OBJECT,
        JSONREAD_ARRAY,
        JSONREAD_STRING,
        JSONREAD_NUMBER,
        JSONREAD_TRUE,
        JSONREAD_FALSE,
        JSONREAD_NULL,
};

struct jsonread_token {
        enum jsonread_type type;
        size_t start, end;      /* the value's bytes in the text; a string's without its quotes */
        size_t size;            /* object: pairs; array: items; else 0 */
        size_t next;            /* index of the first token after this value's subtree */
};

struct jsonread {
        const char *text;
        size_t len;
        struct jsonread_token *tok;     /* tok[0] is the document; an object's pair is key token, value subtree */
        size_t n;
        size_t error_offset;            /* where parsing stopped, on -EINVAL / -E2BIG */
};

/* Parses text[0..len) (one value, surrounding white space allowed). 0, -EINVAL (not JSON; error_offset says
 * where), -E2BIG (nesting deeper than JSONREAD_DEPTH_MAX), -ENOMEM. j is valid for jsonread_done either way. */
int jsonread_parse(struct jsonread *j, const char *text, size_t len);
void jsonread_done(struct jsonread *j);

/* The value at path below token from (0: the document). Path components are separated by '.', an array index is
 * its decimal digits: "responses.0.response_range.kvs.0.value". "" is from itself. Duplicate keys: the first
 * wins. Returns the token index, or -ENOENT (missing, or through a value that is not an object/array). */
int jsonread_get(const struct jsonread *j, size_t from, const char *path);

/* Item i of the array at token a: its token index, or -ENOENT. */
int jsonread_item(const struct jsonread *j, size_t a, size_t i);

/* The value of a string token, unescaped, malloc'd and NUL-terminated (ret_len may be NULL; a \u0000 makes the
 * text shorter than *ret_len as a C string). -EINVAL if not a string. */
int jsonread_string(const struct jsonread *j, size_t t, char **ret, size_t *ret_len);
/* Same for whatever is at path, -ENOENT if nothing is. */
int jsonread_get_string(const struct jsonread *j, size_t from, const char *path, char **ret);

/* An integer given as a JSON number or a JSON string of digits ("-12", "4280005456334535686"), read exactly:
 * -EINVAL for anything else (fractions, exponents, signs other than one leading '-', empty), -ERANGE beyond
 * int64. */
int jsonread_i64(const struct jsonread *j, size_t t, int64_t *ret);
/* At path; a missing value gives def (etcd omits zero fields) and 0. */
int jsonread_get_i64(const struct jsonread *j, size_t from, const char *path, int64_t def, int64_t *ret);

/* true/false; -EINVAL for other types. */
int jsonread_bool(const struct jsonread *j, size_t t, bool *ret);
/* At path; missing → def (etcd omits false fields). */
int jsonread_get_bool(const struct jsonread *j, size_t from, const char *path, bool def, bool *ret);
