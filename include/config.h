/* config: owns the YAML configuration — parsing (libyaml), defaults, units, validation with FILE:LINE:COL.
 * It does not touch the files the config names (nginx site file, commands): see check.h for that. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH "/etc/blfailoverd/blfailoverd.yml"
/* A config file larger than this is refused (-EFBIG) before it is parsed. */
#define CONFIG_FILE_SIZE_MAX (1024u * 1024u)

/* Where a value stood in the file: 1-based line and column. 0/0 means "not in the file" (a default). */
struct config_mark {
        unsigned line;
        unsigned col;
};

struct config_endpoint {
        char *name;
        char *url;
};

/* argv is NULL-terminated; argc excludes the NULL. */
struct config_command {
        char **argv;
        size_t argc;
        uint64_t timeout_usec;
};

struct config_ssh {
        char *host;
        char *user;             /* NULL: ssh's own default */
        unsigned port;          /* default 22 */
        char *identity_file;    /* NULL: none passed */
        char **options;         /* NULL-terminated, each "Key=Value"; never NULL (may be empty) */
        size_t n_options;
};

struct config_promote {
        struct config_ssh ssh;
        char *trigger_file;
        uint64_t timeout_usec;  /* default 15s */
};

struct config_nginx {
        char *config;           /* the site file holding the upstream */
        char *upstream;
        char *active_server;
        char *standby_server;
        struct config_command test_command;     /* default [nginx, -t] */
        struct config_command reload_command;   /* default [nginx, -s, reload] */
        uint64_t timeout_usec;                  /* default 15s; copied into both commands */
};

struct config_health {
        uint64_t interval_usec;         /* default 10s */
        uint64_t timeout_usec;          /* default 2s */
        unsigned failure_threshold;     /* default 3 */
        char *expect_body;              /* NULL: any body */
};

/* A scalar's dotted key path ("failover.nginx.upstream", "failover.standby_stack.command[2]") and its mark. */
struct config_key_mark {
        char *key;
        struct config_mark mark;
};

struct config {
        char *path;                     /* the file it came from, for messages */
        char *state_dir;                /* default /var/lib/blfailoverd */
        struct config_health health;
        struct config_endpoint active;
        struct config_endpoint standby;
        struct config_promote promote;          /* failover.promote */
        struct config_nginx nginx;              /* failover.nginx */
        struct config_command standby_stack;    /* failover.standby_stack; timeout default 120s */

        struct config_key_mark *marks;  /* every key seen in the file, in file order */
        size_t n_marks;
};

/* One problem found in a config: rendered as "FILE:LINE:COL: message". */
struct config_error {
        unsigned line;
        unsigned col;
        char *message;
};

struct config_errors {
        char *file;
        struct config_error *items;
        size_t n;
};

/* Parse a file. On success returns 0 and *ret_config (caller frees with config_free).
 * On failure returns -EINVAL (problems appended to errs, every one with line/col where there is one),
 * or another -errno if the file can't be read (also recorded in errs, line 0). All problems are reported,
 * not just the first. */
int config_load_file(const char *path, struct config **ret_config, struct config_errors *errs);

/* Same, from bytes in memory; `path` is only used for messages. */
int config_load_buffer(const char *path, const char *data, size_t size,
                       struct config **ret_config, struct config_errors *errs);
/* For both: ret_config may be NULL to only validate; errs may be NULL (problems are then dropped); when
 * errs->file is NULL it is set to path. Oversized input (> CONFIG_FILE_SIZE_MAX) returns -EFBIG. */

void config_free(struct config *c);

/* The mark of a dotted key, or {0,0} if the key was not in the file. */
struct config_mark config_mark_of(const struct config *c, const char *key);

/* Parse "250ms", "10s", "2m", "1h" (also "0s"). Returns 0 or -EINVAL. Pure. */
int config_parse_duration(const char *s, uint64_t *ret_usec);

/* Errors list helpers. config_errors_add takes a printf format. */
void config_errors_init(struct config_errors *errs, const char *file);
void config_errors_add(struct config_errors *errs, unsigned line, unsigned col, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void config_errors_print(const struct config_errors *errs, FILE *out);
void config_errors_done(struct config_errors *errs);
