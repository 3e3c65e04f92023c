/* base64: owns RFC 4648 base64 (standard alphabet, '=' padding) — etcd's gateway carries keys and values in it.
 * Pure. Decoding is strict: padding required, no white space, no bits left over in the last character. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* malloc'd, NUL-terminated; -ENOMEM. */
int base64_encode(const void *data, size_t len, char **ret);

/* malloc'd with one NUL byte after the ret_len decoded bytes (handy for text); -EINVAL for anything not
 * canonical base64, -ENOMEM. */
int base64_decode(const char *text, size_t len, char **ret, size_t *ret_len);
