/* diff: a unified diff — common leading and trailing lines are set aside, the middle is matched line by line
 * (longest common subsequence), and only the lines that differ are shown, in hunks with 3 lines of context. */
#include "diff.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_CONTEXT 3
/* The middle is matched with a (rows x cols) table; past this many cells (a rewrite never comes near: it touches
 * lines of one upstream block) the middle is shown as removed and re-added, as a diff without matching would. */
#define DIFF_MAX_CELLS ((size_t) 1 << 22)

struct lines {
        const char **start;
        size_t *len;            /* with the '\n' */
        size_t n;
};

/* One line of the edit script: ' ' both texts, '-' only a, '+' only b. */
struct op {
        char kind;
        size_t a, b;            /* line indexes (a for ' ' and '-', b for '+') */
};

struct script {
        struct op *op;
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

static void push(struct script *s, char kind, size_t a, size_t b) {
        s->op[s->n++] = (struct op) { .kind = kind, .a = a, .b = b };
}

/* The middle a[a0, a1) against b[b0, b1): table[i][j] = common subsequence length of a[a0+i..) and b[b0+j..);
 * then a walk that keeps common lines and, where lines differ, removes before it adds. */
static int match_middle(const struct lines *a, size_t a0, size_t a1, const struct lines *b, size_t b0, size_t b1,
                        struct script *s) {
        size_t rows = a1 - a0 + 1, cols = b1 - b0 + 1, i = 0, j = 0;
        uint32_t *t;

        if (rows * cols > DIFF_MAX_CELLS || rows > UINT32_MAX) {
                for (size_t k = a0; k < a1; k++)
                        push(s, '-', k, 0);
                for (size_t k = b0; k < b1; k++)
                        push(s, '+', 0, k);
                return 0;
        }
        t = calloc(rows * cols, sizeof *t);
        if (!t)
                return -ENOMEM;
        for (size_t r = rows - 1; r-- > 0;)
                for (size_t c = cols - 1; c-- > 0;)
                        t[r * cols + c] = same_line(a, a0 + r, b, b0 + c) ? t[(r + 1) * cols + c + 1] + 1
                                : t[(r + 1) * cols + c] >= t[r * cols + c + 1] ? t[(r + 1) * cols + c]
                                : t[r * cols + c + 1];
        while (i < rows - 1 || j < cols - 1) {
                if (i < rows - 1 && j < cols - 1 && same_line(a, a0 + i, b, b0 + j)) {
                        push(s, ' ', a0 + i++, b0 + j++);
                } else if (j == cols - 1 || (i < rows - 1 && t[(i + 1) * cols + j] >= t[i * cols + j + 1]))
                        push(s, '-', a0 + i++, 0);
                else
                        push(s, '+', 0, b0 + j++);
        }
        free(t);
        return 0;
}

static void print_line(FILE *out, char mark, const struct lines *l, size_t i) {
        fputc(mark, out);
        fwrite(l->start[i], 1, l->len[i], out);
        if (l->len[i] == 0 || l->start[i][l->len[i] - 1] != '\n')
                fputs("\n\\ No newline at end of file\n", out);
}

/* Where op k sits in a and in b (lines before it), for hunk headers. */
static void position(const struct script *s, size_t k, size_t *ret_a, size_t *ret_b) {
        size_t na = 0, nb = 0;

        for (size_t i = 0; i < k; i++) {
                na += s->op[i].kind != '+';
                nb += s->op[i].kind != '-';
        }
        *ret_a = na;
        *ret_b = nb;
}

/* One hunk: ops [from, to). Unified-diff convention: an empty side's start is the line before it. */
static void print_hunk(const struct script *s, size_t from, size_t to, const struct lines *a,
                       const struct lines *b, FILE *out) {
        size_t pa, pb, la = 0, lb = 0;

        position(s, from, &pa, &pb);
        for (size_t k = from; k < to; k++) {
                la += s->op[k].kind != '+';
                lb += s->op[k].kind != '-';
        }
        fprintf(out, "@@ -%zu,%zu +%zu,%zu @@\n", la ? pa + 1 : pa, la, lb ? pb + 1 : pb, lb);
        for (size_t k = from; k < to; k++)
                if (s->op[k].kind == '+')
                        print_line(out, '+', b, s->op[k].b);
                else
                        print_line(out, s->op[k].kind, a, s->op[k].a);
}

/* Groups changes whose context overlaps (at most 2 * DIFF_CONTEXT common lines apart) into one hunk. */
static void print_hunks(const struct script *s, const struct lines *a, const struct lines *b, FILE *out) {
        size_t k = 0;

        while (k < s->n) {
                size_t first, last, gap = 0;

                while (k < s->n && s->op[k].kind == ' ')
                        k++;
                if (k == s->n)
                        return;
                first = k;
                last = k;
                for (; k < s->n && gap <= 2 * DIFF_CONTEXT; k++)
                        if (s->op[k].kind == ' ')
                                gap++;
                        else {
                                gap = 0;
                                last = k;
                        }
                k = last + 1;
                print_hunk(s, first > DIFF_CONTEXT ? first - DIFF_CONTEXT : 0,
                           k + DIFF_CONTEXT < s->n ? k + DIFF_CONTEXT : s->n, a, b, out);
        }
}

static int diff_lines(const struct lines *a, const struct lines *b, const char *label_a, const char *label_b,
                      FILE *out) {
        struct script s = { .op = calloc(a->n + b->n + 1, sizeof(struct op)) };
        size_t prefix = 0, suffix = 0;
        int r, changed = 0;

        if (!s.op)
                return -ENOMEM;
        while (prefix < a->n && prefix < b->n && same_line(a, prefix, b, prefix))
                push(&s, ' ', prefix, prefix), prefix++;
        while (suffix < a->n - prefix && suffix < b->n - prefix &&
               same_line(a, a->n - 1 - suffix, b, b->n - 1 - suffix))
                suffix++;
        r = match_middle(a, prefix, a->n - suffix, b, prefix, b->n - suffix, &s);
        for (size_t k = 0; k < suffix; k++)
                push(&s, ' ', a->n - suffix + k, b->n - suffix + k);
        for (size_t k = 0; k < s.n; k++)
                changed += s.op[k].kind != ' ';
        if (r == 0 && changed > 0) {
                fprintf(out, "--- %s\n+++ %s\n", label_a, label_b);
                print_hunks(&s, a, b, out);
        }
        free(s.op);
        return r < 0 ? r : changed;
}

int diff_unified(const char *a_text, size_t a_len, const char *b_text, size_t b_len, const char *label_a,
                 const char *label_b, FILE *out) {
        struct lines a = {}, b = {};
        int r;

        r = split_lines(a_text, a_len, &a);
        if (r == 0)
                r = split_lines(b_text, b_len, &b);
        if (r == 0)
                r = diff_lines(&a, &b, label_a, label_b, out);
        free(a.start);
        free(a.len);
        free(b.start);
        free(b.len);
        return r;
}
