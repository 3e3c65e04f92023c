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

enum config_promote_method {
        CONFIG_PROMOTE_TRIGGER_FILE,    /* touch the trigger file over ssh (PostgreSQL <= 15) */
        CONFIG_PROMOTE_PG_PROMOTE,      /* SELECT pg_promote(false) through libpq (PostgreSQL >= 12) */
};

struct config_promote {
        enum config_promote_method method;      /* default trigger_file */
        struct config_ssh ssh;                  /* host required with trigger_file */
        char *trigger_file;                     /* required with trigger_file */
        uint64_t timeout_usec;                  /* default 15s */
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
        uint64_t fast_interval_usec;    /* default = interval; after the active's first failure, re-check this often */
        uint64_t timeout_usec;          /* default 2s */
        unsigned failure_threshold;     /* default 3 */
        char *expect_body;              /* NULL: any body */
        uint64_t startup_grace_usec;    /* default 0 (off): no failover this soon after the daemon started */
        char *ca_file;                  /* NULL: the system CAs */
        bool tls_verify;                /* default true */
};

/* database: absent → present=false, every gate that needs it is off. */
struct config_database {
        bool present;
        char *standby;                  /* libpq conninfo; required when present */
        char *primary;                  /* optional: enables the split-brain guard */
        char *password_file;            /* optional: libpq passfile */
        uint64_t connect_timeout_usec;  /* default 3s */
        uint64_t max_lag_bytes;         /* default 16MB; sizes: 512kB, 16MB, 1GB (powers of 1024), or bytes */
        uint64_t catch_up_timeout_usec; /* default 30s */
        uint64_t promote_timeout_usec;  /* default 60s */
};

/* An optional command (fence, confirm, hooks) is a struct config_command with argv == NULL (argc 0) when not
 * configured; its timeout_usec holds the default all the same. */

/* failover.verify: urls is never NULL — an empty NULL-terminated array (n_urls 0) when not configured. */
struct config_verify {
        char **urls;                    /* NULL-terminated; never NULL; empty when not configured */
        size_t n_urls;
        uint64_t timeout_usec;          /* default 30s */
};

struct config_metrics {
        char *listen;                   /* "127.0.0.1:9187"; NULL: off */
};

struct config_alerts {
        char *webhook_url;              /* NULL: off */
        char **alertmanager_urls;       /* base URLs ("http://am:9093"), NULL-terminated; NULL: off */
        size_t n_alertmanager_urls;
        uint64_t timeout_usec;          /* default 5s */
        unsigned retries;               /* default 3 */
        uint64_t lag_warning_bytes;     /* 0: off */
};

/* sites: the pair described symmetrically (issue 12). Every command of a site is a template (template.h): its
 * words are kept as written and expanded when a plan is built. An unset command has argv == NULL and holds its
 * default timeout; the default argv (docs/design/lifecycle.md §1) is filled in by the parser when the site has
 * what the default needs (pgdata), so argv != NULL means "this site can run it". */
#define CONFIG_SITE_NAME_MAX 31
#define CONFIG_SITES 2

struct config_site_commands {
        struct config_command status, start, stop, controldata, waldump, recover, rewind, clone_prepare, clone;
        struct config_command promote;  /* no default: NULL runs failover.promote.method (pg_promote/trigger) */
};

struct config_site_database {
        bool present;                   /* both sites have a database, or neither */
        char *conninfo;                 /* how the monitor reaches it (libpq); both sites or neither; NULL: the
                                         * database gates are off, pg_promote and the lifecycle commands can't */
        char *replication_conninfo;     /* how the other site's database reaches it; NULL: rejoin/switchover can't */
        char *application_name;         /* default: the site name */
        struct config_ssh ssh;          /* host NULL: no ssh to this database host */
        char *pgdata;                   /* NULL: the default commands are unavailable */
        char *bindir;                   /* default /usr/lib/postgresql/15/bin */
        char *trigger_file;             /* only with failover.promote.method trigger_file */
        struct config_site_commands commands;
};

struct config_site {
        char *name;                     /* [a-z0-9_-]{1,31} in the sites form; free text from the runbook form */
        char *health_url;
        char *nginx_server;             /* the `server` address exactly as in failover.nginx.upstream */
        struct config_site_database database;
        struct config_command stack_start;      /* {role} is the role the site is being given */
        struct config_command stack_stop;
};

struct config_switchover {
        uint64_t max_lag_usec;          /* default 1s: replay lag the checklist accepts */
        uint64_t catch_up_timeout_usec; /* default 10s: the standby must replay the old primary's last checkpoint */
        bool checkpoint;                /* default true: CHECKPOINT before the stop */
        uint64_t stream_timeout_usec;   /* default 60s: the demoted primary must stream within this */
};

struct config_rejoin {
        bool reclone;                   /* default false */
        uint64_t max_lag_bytes;         /* default 16MB */
        uint64_t stream_timeout_usec;   /* default 120s */
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

/* A scalar's dotted key path ("failover.nginx.upstream", "failover.standby_stack.command[2]") and its mark. */
struct config_key_mark {
        char *key;
        struct config_mark mark;
};

/* cluster: optional — several monitors over etcd (docs/design/cluster.md §3). enabled false: standalone, as
 * before. name, prefix and lease_ttl need a restart; the rest may change on reload. */
#define CONFIG_CLUSTER_MEMBERS_MAX 15
#define CONFIG_ETCD_ENDPOINTS_MAX 16
struct config_cluster {
        bool enabled;                   /* the file has cluster: */
        char *name;                     /* this member; default the short host name; one of members */
        char **members;                 /* every monitor's name, unique, 1..CONFIG_CLUSTER_MEMBERS_MAX */
        size_t n_members;
        char *prefix;                   /* default /blfailoverd/<pair>: the two site names sorted, joined by "+" */
        uint64_t lease_ttl_usec;        /* whole seconds, 2s..300s; default 10s */
        uint64_t timeout_usec;          /* one etcd request; default min(2s, lease_ttl/4); at most lease_ttl/4 */
        char **endpoints;               /* etcd.endpoints: http(s)://host:port, 1..CONFIG_ETCD_ENDPOINTS_MAX */
        size_t n_endpoints;
        char *ca_file, *cert_file, *key_file;   /* etcd.*: optional; cert and key both or neither */
        char *user;                     /* etcd.user: optional, needs password_file */
        char *password_file;
        char *password;                 /* read from password_file at load; never logged */
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
        struct config_command promote_command;  /* the standby site's commands.promote, expanded (sites form); argv
                                                 * NULL: the promotion is failover.promote.method */
        struct config_command fence;            /* failover.fence: optional; timeout default 30s */
        struct config_command confirm;          /* failover.confirm: optional; timeout default 10s */
        struct config_verify verify;            /* failover.verify: optional */
        struct config_database database;        /* database: optional */
        struct config_metrics metrics;          /* metrics: optional */
        struct config_alerts alerts;            /* alerts: optional */
        struct config_command hooks;            /* hooks.command: optional; hooks.timeout default 10s */

        /* The pair, symmetric. Always filled: from `sites:`, or mapped from the runbook form (active/standby,
         * failover.nginx.*_server, database.primary/standby, promote.ssh/trigger_file, standby_stack). */
        bool sites_form;                /* the file used `sites:` */
        struct config_site sites[CONFIG_SITES];
        unsigned serves_first;          /* index into sites; the runbook form: 0 (active) */
        char *serves_first_name;        /* as written (sites form); NULL in the runbook form */
        unsigned serving;               /* the site the runtime fields point at (config_apply_roles) */
        struct config_switchover switchover;
        struct config_rejoin rejoin;
        struct config_cluster cluster;          /* cluster: optional */

        struct config_key_mark *marks;  /* every key seen in the file, in file order */
        size_t n_marks;

        /* Problems worth saying that do not refuse the file (cluster: an even members count, a password file
         * others can read, a password over http://): -t and a start print them, a reload logs them. */
        struct config_errors warnings;
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

/* Points the runtime fields the daemon acts on (active, standby, nginx.active_server/standby_server,
 * database.primary/standby, promote.ssh/trigger_file, standby_stack) at the roles: sites[serving] serves,
 * the other site is the standby. The runbook form maps onto sites so that serving = 0 gives back exactly the
 * file's meaning. Returns 0, -EINVAL (serving out of range), -ENOMEM. */
int config_apply_roles(struct config *c, unsigned serving);

/* The index of the site named `name`, or -ENOENT. */
int config_site_index(const struct config *c, const char *name);

/* What a config lacks for the lifecycle commands: NULL when `--switchover` (resp. `--rejoin` onto site
 * `target`) can run, else a static sentence naming the missing key. */
const char *config_switchover_missing(const struct config *c);
const char *config_rejoin_missing(const struct config *c, unsigned target);

/* Every key the parser accepts, as a dotted path ("health.interval", "sites[].database.ssh.host"), leaves only,
 * in table order: what the man page and the sample config are checked against. A strv (strv_free), NULL on
 * ENOMEM. */
char **config_key_paths(void);

/* Parse "250ms", "10s", "2m", "1h" (also "0s"). Returns 0 or -EINVAL. Pure. */
int config_parse_duration(const char *s, uint64_t *ret_usec);

/* Parse a size: plain bytes "1048576", or a whole number with a unit B, kB, MB, GB, TB (powers of 1024, as
 * PostgreSQL spells them; case matters) or KiB, MiB, GiB, TiB. No sign, no fraction, no leading zeros, no space.
 * Returns 0 or -EINVAL (also on overflow of 64 bits). Pure. The config keys also cap sizes at INT64_MAX. */
int config_parse_size(const char *s, uint64_t *ret_bytes);

/* "trigger_file", "pg_promote": the word the config file uses; NULL for a value out of range. */
const char *config_promote_method_to_string(enum config_promote_method m);

/* cluster: what a reload cannot change in place: name, prefix, lease_ttl, or cluster: added or removed (the
 * member's identity, its keys in etcd and its lease; the same rule as state_dir). Returns 1 with the change in
 * words in why ("cluster.lease_ttl changed from 10s to 20s"), else 0 (why untouched). */
int config_cluster_restart_needed(const struct config *old, const struct config *fresh, char *why, size_t size);

/* c->warnings as "FILE:LINE:COL: warning: message" lines (FILE: c->path). */
void config_warnings_print(const struct config *c, FILE *out);

/* Errors list helpers. config_errors_add takes a printf format. */
void config_errors_init(struct config_errors *errs, const char *file);
void config_errors_add(struct config_errors *errs, unsigned line, unsigned col, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void config_errors_print(const struct config_errors *errs, FILE *out);
/* Into file order (line, then column; problems of the whole file, line 0, first), stable among equals. */
void config_errors_sort(struct config_errors *errs);
void config_errors_done(struct config_errors *errs);
