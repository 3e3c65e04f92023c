/* shellquote: quotes one word so that a POSIX sh reads it back byte for byte. Pure, no I/O. */
#include "shellquote.h"

#include <stdlib.h>
#include <string.h>

/* Inside POSIX single quotes every byte is literal except ' itself, which cannot appear at all: we close the
 * quote, emit an escaped quote (\') and reopen. Nothing else is special there ($, `, \, newline, ;, globs), so
 * no word can break out. Not valid for non-POSIX shells (fish treats \' inside '…' as an escape, csh rejects
 * newlines): the remote user's login shell must be a POSIX sh (sh, dash, bash, ksh, zsh). */
char *shell_quote(const char *word) {
        size_t len = 0, quotes = 0;
        char *ret, *p;

        if (!word)
                word = "";
        for (const char *c = word; *c; c++) {
                len++;
                quotes += *c == '\'';
        }

        /* each ' becomes the four bytes '\'' ; plus the two surrounding quotes and the NUL */
        ret = malloc(len + 3 * quotes + 3);
        if (!ret)
                return NULL;

        p = ret;
        *p++ = '\'';
        for (const char *c = word; *c; c++) {
                if (*c == '\'') {
                        memcpy(p, "'\\''", 4);
                        p += 4;
                } else
                        *p++ = *c;
        }
        *p++ = '\'';
        *p = '\0';
        return ret;
}
