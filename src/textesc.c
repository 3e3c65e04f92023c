/* textesc: one-line escaping for the record files (see textesc.h). */
#include "textesc.h"

#include <errno.h>
#include <stdlib.h>

void textesc_write(FILE *f, const char *s) {
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '\\')
                        fputs("\\\\", f);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c < 0x20 || c == 0x7f)
                        fprintf(f, "\\x%02x", c);
                else
                        fputc(c, f);
        }
}

/* "\xHH" at in (pointing at the 'x'): the byte, or -1 when HH are not two hex digits. */
static int hex_byte(const char *in) {
        char hex[3] = { in[1], in[1] ? in[2] : 0, 0 }, *end;
        long v;

        if (!hex[0] || !hex[1])
                return -1;
        v = strtol(hex, &end, 16);
        return *end ? -1 : (int) v;
}

int textesc_read(const char *in, char *out, size_t size) {
        size_t o = 0;

        for (; *in; in++) {
                char c = *in;
                if (c == '\\') {
                        int b;
                        in++;
                        if (*in == '\\')
                                c = '\\';
                        else if (*in == 'n')
                                c = '\n';
                        else if (*in == 'x' && (b = hex_byte(in)) >= 0) {
                                c = (char) b;
                                in += 2;
                        } else
                                return -EBADMSG;
                }
                if (o + 1 >= size)
                        return -EBADMSG;
                out[o++] = c;
        }
        out[o] = 0;
        return 0;
}
