/* template: the site command templates — checking their placeholders (for -t) and expanding them into an argv. */
#include "template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "shellquote.h"
#include "util.h"

#define PLACEHOLDER_MAX 32      /* the longest name we know is 7 characters; longer is unknown either way */

/* Inline placeholders: may sit anywhere inside a word. */
static const char *const inline_names[] = { "pgdata", "bindir", "site", "role", "epoch", "source", "tli", "from",
                                            NULL };
/* Whole-word placeholders: each stands for zero, one or several words. */
static const char *const word_names[] = { "ssh", "dry_run", "until", NULL };

static const char known_list[] = "{pgdata} {bindir} {site} {role} {epoch} {source} {tli} {from}, and as whole "
                                 "words {ssh} (first) {dry_run} {until}";

static bool in_list(const char *const *names, const char *s) {
        for (size_t i = 0; names[i]; i++)
                if (strcmp(names[i], s) == 0)
                        return true;
        return false;
}

static void note_need(struct template_needs *n, const char *name) {
        if (strcmp(name, "pgdata") == 0)
                n->pgdata = true;
        else if (strcmp(name, "source") == 0)
                n->source = true;
        else if (strcmp(name, "tli") == 0)
                n->tli = true;
        else if (strcmp(name, "from") == 0)
                n->from = true;
        else if (strcmp(name, "epoch") == 0)
                n->epoch = true;
        else if (strcmp(name, "ssh") == 0)
                n->ssh = true;
}

/* The placeholder that starts at word[i] == '{' (not "{{"): its name into `name`, its length into *ret_len.
 * NULL, or why it is not one. */
static const char *placeholder_at(const char *w, size_t i, char name[static PLACEHOLDER_MAX + 1], size_t *ret_len) {
        const char *close = strchr(w + i + 1, '}');
        size_t n;

        if (!close)
                return "has a '{' without its '}' (write {{ for a literal brace)";
        n = (size_t) (close - (w + i + 1));
        if (n == 0 || n > PLACEHOLDER_MAX || memchr(w + i + 1, '{', n))
                return "has a '{' that starts no placeholder (write {{ for a literal brace)";
        memcpy(name, w + i + 1, n);
        name[n] = '\0';
        *ret_len = n + 2;
        return NULL;
}

/* One word that is not a whole-word placeholder: its inline placeholders and braces. */
static int check_inline(const char *w, struct template_needs *needs, char *err, size_t err_size) {
        char name[PLACEHOLDER_MAX + 1];

        for (size_t i = 0; w[i];) {
                const char *why;
                size_t len;

                if ((w[i] == '{' && w[i + 1] == '{') || (w[i] == '}' && w[i + 1] == '}')) {
                        i += 2;
                        continue;
                }
                if (w[i] == '}') {
                        snprintf(err, err_size, "has a '}' without its '{' (write }} for a literal brace)");
                        return -EINVAL;
                }
                if (w[i] != '{') {
                        i++;
                        continue;
                }
                why = placeholder_at(w, i, name, &len);
                if (why) {
                        snprintf(err, err_size, "%s", why);
                        return -EINVAL;
                }
                if (in_list(word_names, name)) {
                        snprintf(err, err_size, "has {%s} inside a word: it must be a word of its own", name);
                        return -EINVAL;
                }
                if (!in_list(inline_names, name)) {
                        snprintf(err, err_size, "has an unknown placeholder {%.32s}: known are %s", name, known_list);
                        return -EINVAL;
                }
                note_need(needs, name);
                i += len;
        }
        return 0;
}

int template_check(char *const words[], struct template_needs *ret_needs, size_t *ret_word, char *err,
                   size_t err_size) {
        struct template_needs needs = {};

        for (size_t i = 0; words && words[i]; i++) {
                int r = 0;

                if (strcmp(words[i], "{ssh}") == 0) {
                        if (i != 0) {
                                snprintf(err, err_size, "has {ssh} as word %zu: it must be the first word", i + 1);
                                r = -EINVAL;
                        } else if (!words[1]) {
                                snprintf(err, err_size, "has {ssh} with no command after it");
                                r = -EINVAL;
                        }
                        needs.ssh = true;
                } else if (strcmp(words[i], "{dry_run}") != 0 && strcmp(words[i], "{until}") != 0)
                        r = check_inline(words[i], &needs, err, err_size);
                if (r < 0) {
                        if (ret_word)
                                *ret_word = i;
                        return r;
                }
        }
        if (ret_needs)
                *ret_needs = needs;
        return 0;
}

/* ------------------------------------------------------------------ expanding */

/* A growable argv; on ENOMEM it remembers the failure so callers check once at the end. */
struct words {
        char **v;
        size_t n;
        bool oom;
};

static void words_take(struct words *b, char *word) {
        char **bigger;

        if (!word || b->oom) {
                free(word);
                b->oom = true;
                return;
        }
        bigger = realloc(b->v, (b->n + 2) * sizeof(char *));
        if (!bigger) {
                free(word);
                b->oom = true;
                return;
        }
        b->v = bigger;
        b->v[b->n++] = word;
        b->v[b->n] = NULL;
}

static void words_add(struct words *b, const char *word) {
        words_take(b, strdup(word));
}

/* The value of an inline placeholder, or NULL when the plan has none to give (then `num` is unused). */
static const char *inline_value(const struct template_vars *v, const char *name, char *num, size_t num_size) {
        if (strcmp(name, "pgdata") == 0)
                return v->pgdata;
        if (strcmp(name, "bindir") == 0)
                return v->bindir;
        if (strcmp(name, "site") == 0)
                return v->site;
        if (strcmp(name, "role") == 0)
                return v->role;
        if (strcmp(name, "source") == 0)
                return v->source;
        if (strcmp(name, "from") == 0)
                return v->from;
        if (strcmp(name, "epoch") == 0)
                snprintf(num, num_size, "%llu", (unsigned long long) v->epoch);
        else if (strcmp(name, "tli") == 0 && v->tli > 0)
                snprintf(num, num_size, "%u", v->tli);
        else
                return NULL;
        return num;
}

/* One checked word with its inline placeholders replaced: a fresh string, or NULL (err says why, or ENOMEM
 * with err empty). */
static char *expand_word(const char *w, const struct template_vars *v, char *err, size_t err_size) {
        char *out = NULL, name[PLACEHOLDER_MAX + 1], num[24];
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        bool failed = false;

        if (!f)
                return NULL;
        for (size_t i = 0; w[i] && !failed;) {
                const char *value;
                size_t n;

                if ((w[i] == '{' || w[i] == '}') && w[i + 1] == w[i]) {
                        fputc(w[i], f);
                        i += 2;
                        continue;
                }
                if (w[i] != '{' || placeholder_at(w, i, name, &n)) {
                        fputc(w[i++], f);       /* checked before: only a placeholder starts with '{' here */
                        continue;
                }
                value = inline_value(v, name, num, sizeof num);
                if (!value) {
                        snprintf(err, err_size, "{%s} has no value for this command", name);
                        failed = true;
                }
                fputs(value ? value : "", f);
                i += n;
        }
        if (fclose(f) != 0 || failed) {
                free(out);
                return NULL;
        }
        return out;
}

static void expand_whole_word(struct words *b, const char *w, const struct template_vars *v) {
        if (strcmp(w, "{dry_run}") == 0) {
                if (v->dry_run)
                        words_add(b, "--dry-run");
        } else if (!v->until) {         /* {until}: one record */
                words_add(b, "-n");
                words_add(b, "1");
        } else {                        /* counts per record type: small output whatever the range */
                words_add(b, "-e");
                words_add(b, v->until);
                words_add(b, "--stats=record");
        }
}

/* The words after {ssh}, each quoted for the remote shell, as one command line. */
static char *remote_command_line(char *const *words) {
        char *line = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&line, &len);

        if (!f)
                return NULL;
        for (size_t i = 0; words[i]; i++) {
                _cleanup_free_ char *q = shell_quote(words[i]);

                if (!q) {
                        fclose(f);
                        free(line);
                        return NULL;
                }
                fprintf(f, "%s%s", i > 0 ? " " : "", q);
        }
        if (fclose(f) != 0) {
                free(line);
                return NULL;
        }
        return line;
}

static int wrap_in_ssh(char **local, const struct template_vars *v, char ***ret_argv) {
        _cleanup_free_ char *line = remote_command_line(local);
        char **argv;

        if (!line)
                return -ENOMEM;
        argv = plan_ssh_argv(v->ssh, v->ssh_timeout_usec, v->control_path, line);
        if (!argv)
                return -ENOMEM;
        *ret_argv = argv;
        return 0;
}

int template_expand(char *const words[], const struct template_vars *vars, char ***ret_argv, char *err,
                    size_t err_size) {
        struct words b = {};
        struct template_needs needs;
        size_t bad;
        bool ssh;
        int r;

        err[0] = '\0';
        r = template_check(words, &needs, &bad, err, err_size);
        if (r < 0)
                return r;
        if (!words || !words[0]) {
                snprintf(err, err_size, "the command is empty");
                return -EINVAL;
        }
        ssh = strcmp(words[0], "{ssh}") == 0;
        if (ssh && (!vars->ssh || !vars->ssh->host)) {
                snprintf(err, err_size, "{ssh} has no value: the site has no database.ssh.host");
                return -EINVAL;
        }
        for (size_t i = ssh ? 1 : 0; words[i] && !b.oom; i++) {
                if (strcmp(words[i], "{dry_run}") == 0 || strcmp(words[i], "{until}") == 0)
                        expand_whole_word(&b, words[i], vars);
                else {
                        char *w = expand_word(words[i], vars, err, err_size);

                        if (!w && err[0]) {
                                strv_free(b.v);
                                return -EINVAL;
                        }
                        words_take(&b, w);
                }
        }
        if (b.oom) {
                strv_free(b.v);
                return -ENOMEM;
        }
        if (!b.v) {                     /* "{dry_run}" alone, not a dry run: nothing to run */
                snprintf(err, err_size, "the command expands to no words");
                return -EINVAL;
        }
        if (!ssh) {
                *ret_argv = b.v;
                return 0;
        }
        r = wrap_in_ssh(b.v, vars, ret_argv);
        strv_free(b.v);
        return r;
}
