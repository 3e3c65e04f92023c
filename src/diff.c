/* diff: a single-hunk unified diff — common leading and trailing lines are context, the middle is the change. */
#include "diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_CONTEXT 3

struct lines {
        const char **start;
        size_t *len;            /* with the '\n' */
        size_t n;
};

static int split_lines(const char *text, size_t size, struct lines *ret) {
        size_t n = 0, i = 0;

        for (size_t k = 0; k < size; k++)
                n += text[k] == '\n';
        n += size > 0 && text[size - 1] != '\n';
        ret->start = calloc(n + 1, sizeof(char *));
        ret->len = calloc(n + 1, sizeof(size_t));
        if (!ret->start || !ret->len)
                return -ENOMEM;
        for (size_t k = 0; k < size; i++) {
                const char *nl = memchr(text + k, '\n', size - k);
                size_t end = nl ? (size_t) (nl - text) + 1 : size;
                ret->start[i] = text + k;
                ret->len[i] = end - k;
                k = end;
        }
        ret->n = n;
        return 0;
}

static int same_line(const struct lines *a, size_t i, const struct lines *b, size_t j) {
        return a->len[i] == b->len[j] && memcmp(a->start[i], b->start[j], a->len[i]) == 0;
}

static void print_line(FILE *out, char mark, const struct lines *l, size_t i) {
        fputc(mark, out);
        fwrite(l->start[i], 1, l->len[i], out);
        if (l->len[i] == 0 || l->start[i][l->len[i] - 1] != '\n')
                fputs("\n\\ No newline at end of file\n", out);
}

static void print_hunk(const struct lines *a, const struct lines *b, size_t prefix, size_t suffix, FILE *out) {
        size_t from = prefix > DIFF_CONTEXT ? prefix - DIFF_CONTEXT : 0;
        size_t tail = suffix > DIFF_CONTEXT ? DIFF_CONTEXT : suffix;
        size_t a_end = a->n - suffix + tail, b_end = b->n - suffix + tail;

        fprintf(out, "@@ -%zu,%zu +%zu,%zu @@\n", from + 1, a_end - from, from + 1, b_end - from);
        for (size_t i = from; i < prefix; i++)
                print_line(out, ' ', a, i);
        for (size_t i = prefix; i < a->n - suffix; i++)
                print_line(out, '-', a, i);
        for (size_t j = prefix; j < b->n - suffix; j++)
                print_line(out, '+', b, j);
        for (size_t i = a->n - suffix; i < a_end; i++)
                print_line(out, ' ', a, i);
}

int diff_unified(const char *a_text, size_t a_len, const char *b_text, size_t b_len, const char *label_a,
                 const char *label_b, FILE *out) {
        struct lines a = {}, b = {};
        size_t prefix = 0, suffix = 0;
        int r;

        r = split_lines(a_text, a_len, &a);
        if (r == 0)
                r = split_lines(b_text, b_len, &b);
        if (r == 0) {
                while (prefix < a.n && prefix < b.n && same_line(&a, prefix, &b, prefix))
                        prefix++;
                while (suffix < a.n - prefix && suffix < b.n - prefix &&
                       same_line(&a, a.n - 1 - suffix, &b, b.n - 1 - suffix))
                        suffix++;
                r = (int) ((a.n - prefix - suffix) + (b.n - prefix - suffix));
                if (r > 0) {
                        fprintf(out, "--- %s\n+++ %s\n", label_a, label_b);
                        print_hunk(&a, &b, prefix, suffix, out);
                }
        }
        free(a.start);
        free(a.len);
        free(b.start);
        free(b.len);
        return r;
}
