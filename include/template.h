/* template: owns the command templates of the sites form — a config argv whose words may carry placeholders
 * ({pgdata} {bindir} {site} {role} {epoch} {source} {tli} {from}; whole-word {ssh} first, {dry_run}, {until};
 * {{ and }} for literal braces) — checking them for -t (pure, word and offset of every problem) and expanding
 * them into the argv a step runs. {ssh} becomes the site's ssh argv (plan_ssh_argv) followed by ONE remote
 * command line: the remaining expanded words, each shell-quoted, so the remote shell runs exactly those words.
 * Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct template_vars {
        const struct config_ssh *ssh;   /* NULL: {ssh} is an error (the site has no database.ssh.host) */
        uint64_t ssh_timeout_usec;      /* ConnectTimeout for {ssh} */
        const char *control_path;       /* the warm ssh master's socket, or NULL */
        const char *pgdata;             /* NULL: {pgdata} is an error */
        const char *bindir;
        const char *site;
        const char *role;               /* "active" / "standby": the role the site is being given */
        uint64_t epoch;
        const char *source;             /* conninfo of the other site (rewind, clone), or NULL */
        bool dry_run;                   /* {dry_run} → "--dry-run", else the word vanishes */
        unsigned tli;                   /* waldump */
        const char *from;               /* waldump: start LSN text */
        const char *until;              /* waldump: NULL → {until} is "-n" "1"; else "-e" UNTIL "--stats=record" */
};

/* What -t can know without a plan: which placeholders a template uses. */
struct template_needs {
        bool ssh, pgdata, source, tli, from, epoch;
};

/* Checks every word: unknown placeholder, unbalanced brace, {ssh} not the first word, a whole-word-only
 * placeholder inside a word. On a problem returns -EINVAL with *ret_word (index) and a static-free message
 * written to `err` ("unknown placeholder {pgdta}: known are ..."). On success fills *ret_needs (may be NULL). */
int template_check(char *const words[], struct template_needs *ret_needs, size_t *ret_word, char *err,
                   size_t err_size);

/* Expands into a fresh NULL-terminated argv (strv_free). -EINVAL with `err` when a needed variable is NULL or
 * the template is invalid; -ENOMEM. */
int template_expand(char *const words[], const struct template_vars *vars, char ***ret_argv, char *err,
                    size_t err_size);
