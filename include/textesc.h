/* textesc: owns how free text (step details, error messages) is kept on one line in blfailoverd's own record files
 * (state, status): \\ for a backslash, \n for a newline, \xHH for every other control byte. Pure. */
#pragma once

#include <stddef.h>
#include <stdio.h>

void textesc_write(FILE *f, const char *s);

/* The inverse, into out (NUL-terminated). -EBADMSG on a bad or unknown escape, or when it does not fit in size. */
int textesc_read(const char *in, char *out, size_t size);
