/* config: owns reading blfailoverd.yml — libyaml (the only module that includes it), the table of keys with
 * their types, defaults and ranges, units, and validation reported as FILE:LINE:COL. It does not log. */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "template.h"
#include "util.h"

#define ERRORS_MAX 100                          /* per load; past this the rest would be noise */
#define SECTION_KEYS_MAX 16                     /* no section of the table has more keys */
#define KEY_PATH_MAX 128                        /* "failover.promote.ssh.identity_file" + "[index]" fits */
#define DURATION_MAX_USEC (24 * 3600 * USEC_PER_SEC)
#define SIZE_MAX_BYTES ((uint64_t) INT64_MAX)     /* so that it compares with PostgreSQL's signed LSN arithmetic */
#define HINT_DISTANCE_MAX 2u
#define HINT_NAME_MAX 32                        /* longer unknown keys are never within 2 edits of ours */
#define SHOWN_KEY_MAX 48                        /* an unknown key is cut to this in messages */
#define LISTEN_HOST_MAX 253                     /* the longest DNS name */
#define ENUM_LIST_MAX 128                       /* "trigger_file, pg_promote" fits */
#define TEMPLATE_ERR_MAX 256
#define MEMBER_NAME_MAX 63                      /* a DNS label: the short host name is the default */
#define ETCD_PREFIX_MAX 200
#define ETCD_PASSWORD_MAX 256
#define LEASE_TTL_MIN_USEC (2 * USEC_PER_SEC)
#define LEASE_TTL_MAX_USEC (300 * USEC_PER_SEC)
#define ETCD_TIMEOUT_DEFAULT_USEC (2 * USEC_PER_SEC)

/* ------------------------------------------------------------------ the table of keys */

enum key_type {
        KEY_SECTION,    /* a mapping of further keys: .children */
        KEY_STRING,     /* char *, never empty */
        KEY_DURATION,   /* uint64_t microseconds, written "10s", in [min, max] */
        KEY_UINT,       /* unsigned, plain decimal, in [min, max] */
        KEY_SIZE,       /* uint64_t bytes, written "1048576" or "16MB", in [min, max] */
        KEY_BOOL,       /* bool, written true or false */
        KEY_ENUM,       /* int: the index of the value in .names */
        KEY_ARGV,       /* char ** (NULL-terminated) + size_t count: a list of non-empty scalars */
        KEY_SITES,      /* sites: a list of exactly CONFIG_SITES mappings, each walked with .children */
};

enum key_check {
        CHECK_NONE,
        CHECK_URL,      /* http:// or https://, a host, no whitespace (also per list item) */
        CHECK_ABSPATH,  /* starts with '/' */
        CHECK_SSH_WORD, /* no leading '-' (ssh would read an option), no whitespace */
        CHECK_TOKEN,    /* one nginx word: what the nginx module compares server/upstream names against */
        CHECK_KEYVALUE, /* per list item: an ssh -o "Key=Value" */
        CHECK_LISTEN,   /* HOST:PORT, the host an IPv4 literal, [IPv6] or a name */
        CHECK_WEBHOOK_URL, /* CHECK_URL, and not Alertmanager's own API (which refuses webhook bodies) */
        CHECK_BASE_URL, /* CHECK_URL, no query or fragment, not already ending in /api/v2/alerts */
        CHECK_SITE_NAME, /* [a-z0-9_-]{1,31}: goes into logs, the record and SQL literals unescaped */
        CHECK_MEMBER,   /* [A-Za-z0-9][A-Za-z0-9._-]{0,62}: a cluster member's name, part of etcd keys */
        CHECK_ETCD_URL, /* http(s)://HOST:PORT[/]: no userinfo, path, query or fragment */
        CHECK_ETCD_PREFIX, /* /..., no trailing '/', printable ASCII without spaces, <= 200 bytes */
};

struct ctx;

struct key_def {
        const char *name;
        enum key_type type;
        bool required;
        enum key_check check;
        size_t offset;                          /* of the value in struct config */
        size_t offset_n;                        /* KEY_ARGV: of the count */
        const char *def;                        /* default, spelled as in the file; NULL: none */
        const char *const *def_argv;            /* KEY_ARGV default; NULL: none */
        size_t min_items;                       /* KEY_ARGV */
        uint64_t min, max;                      /* KEY_UINT, KEY_DURATION, KEY_SIZE */
        const char *const *names;               /* KEY_ENUM: the values in enum order, NULL-terminated */
        const struct key_def *children;         /* KEY_SECTION */
        size_t n_children;
        bool optional;                          /* KEY_SECTION: may be absent, and then so may its keys */
        bool has_present;                       /* KEY_SECTION: set the bool at offset when it is in the file */
        bool one_or_list;                       /* KEY_ARGV: a single value is taken as a list of one */
        bool template;                          /* KEY_ARGV: a site command, checked by template_check */
        /* Not .required, but required when this returns non-NULL: what to add to "missing required key X"
         * (may be ""). Evaluated once the whole file is read, so it may look at any key. */
        const char *(*needed)(const struct ctx *x);
};

#define OFF(f) offsetof(struct config, f)
#define SECTION(n, tbl) \
        { .name = n, .type = KEY_SECTION, .children = tbl, .n_children = ELEMENTSOF(tbl) }
#define OPTIONAL_SECTION(n, tbl) \
        { .name = n, .type = KEY_SECTION, .children = tbl, .n_children = ELEMENTSOF(tbl), .optional = true }
#define PRESENT_SECTION(n, tbl, f) \
        { .name = n, .type = KEY_SECTION, .children = tbl, .n_children = ELEMENTSOF(tbl), .optional = true, \
          .has_present = true, .offset = OFF(f) }
#define STRING(n, f, req, chk, d) \
        { .name = n, .type = KEY_STRING, .required = req, .check = chk, .offset = OFF(f), .def = d }
#define STRING_IF(n, f, chk, when) \
        { .name = n, .type = KEY_STRING, .check = chk, .offset = OFF(f), .needed = when }
#define DURATION(n, f, d) \
        { .name = n, .type = KEY_DURATION, .offset = OFF(f), .def = d, .min = 1, .max = DURATION_MAX_USEC }
#define DURATION0(n, f, d) \
        { .name = n, .type = KEY_DURATION, .offset = OFF(f), .def = d, .min = 0, .max = DURATION_MAX_USEC }
#define UINT(n, f, d, lo, hi) \
        { .name = n, .type = KEY_UINT, .offset = OFF(f), .def = d, .min = lo, .max = hi }
#define SIZE(n, f, d, lo) \
        { .name = n, .type = KEY_SIZE, .offset = OFF(f), .def = d, .min = lo, .max = SIZE_MAX_BYTES }
#define BOOL(n, f, d) \
        { .name = n, .type = KEY_BOOL, .offset = OFF(f), .def = d }
#define ENUM(n, f, values, d) \
        { .name = n, .type = KEY_ENUM, .offset = OFF(f), .names = values, .def = d }
#define ARGV(n, f, fn, req, items, chk, d) \
        { .name = n, .type = KEY_ARGV, .required = req, .check = chk, .offset = OFF(f), .offset_n = OFF(fn), \
          .min_items = items, .def_argv = d }
#define URL_LIST(n, f, fn, chk, when) \
        { .name = n, .type = KEY_ARGV, .check = chk, .offset = OFF(f), .offset_n = OFF(fn), .min_items = 1, \
          .one_or_list = true, .needed = when }
#define TEMPLATE(n, f, d) \
        { .name = n, .type = KEY_ARGV, .required = true, .offset = OFF(f.argv), .offset_n = OFF(f.argc), \
          .min_items = 1, .template = true }, \
        DURATION("timeout", f.timeout_usec, d)
#define REQUIRED true
#define OPTIONAL false

/* KEY_ENUM stores an int; the enums it fills must be int-sized. */
_Static_assert(sizeof(enum config_promote_method) == sizeof(int), "KEY_ENUM stores an int");

static const char *needed_by_trigger_file(const struct ctx *x);
static const char *needed_in_runbook_form(const struct ctx *x);
static const char *needed_in_sites_form(const struct ctx *x);
static const char *needed_without_alertmanager(const struct ctx *x);

static const char *const default_test_command[] = { "nginx", "-t", NULL };
static const char *const default_reload_command[] = { "nginx", "-s", "reload", NULL };
static const char *const default_empty[] = { NULL };
static const char *const promote_methods[] = {
        [CONFIG_PROMOTE_TRIGGER_FILE] = "trigger_file",
        [CONFIG_PROMOTE_PG_PROMOTE] = "pg_promote",
        NULL,
};

static const struct key_def health_keys[] = {
        DURATION("interval", health.interval_usec, "10s"),
        DURATION("fast_interval", health.fast_interval_usec, NULL),     /* NULL: = interval, after the walk */
        DURATION("timeout", health.timeout_usec, "2s"),
        UINT("failure_threshold", health.failure_threshold, "3", 1, 1000),
        STRING("expect_body", health.expect_body, OPTIONAL, CHECK_NONE, NULL),
        DURATION0("startup_grace", health.startup_grace_usec, "0s"),
        STRING("ca_file", health.ca_file, OPTIONAL, CHECK_ABSPATH, NULL),
        BOOL("tls_verify", health.tls_verify, "true"),
};
/* The runbook form's keys: required without sites:, refused with it (sites_refuse_runbook_keys). */
static const struct key_def active_keys[] = {
        STRING_IF("name", active.name, CHECK_NONE, needed_in_runbook_form),
        STRING_IF("url", active.url, CHECK_URL, needed_in_runbook_form),
};
static const struct key_def standby_keys[] = {
        STRING_IF("name", standby.name, CHECK_NONE, needed_in_runbook_form),
        STRING_IF("url", standby.url, CHECK_URL, needed_in_runbook_form),
};
/* Conninfo strings may hold a password: no message ever quotes a value, only key paths. */
static const struct key_def database_keys[] = {
        STRING_IF("standby", database.standby, CHECK_NONE, needed_in_runbook_form),
        STRING("primary", database.primary, OPTIONAL, CHECK_NONE, NULL),
        STRING("password_file", database.password_file, OPTIONAL, CHECK_ABSPATH, NULL),
        DURATION("connect_timeout", database.connect_timeout_usec, "3s"),
        SIZE("max_lag_bytes", database.max_lag_bytes, "16MB", 1),
        DURATION("catch_up_timeout", database.catch_up_timeout_usec, "30s"),
        DURATION("promote_timeout", database.promote_timeout_usec, "60s"),
};
static const struct key_def ssh_keys[] = {
        STRING_IF("host", promote.ssh.host, CHECK_SSH_WORD, needed_by_trigger_file),
        STRING("user", promote.ssh.user, OPTIONAL, CHECK_SSH_WORD, NULL),
        UINT("port", promote.ssh.port, "22", 1, 65535),
        STRING("identity_file", promote.ssh.identity_file, OPTIONAL, CHECK_ABSPATH, NULL),
        ARGV("options", promote.ssh.options, promote.ssh.n_options, OPTIONAL, 0, CHECK_KEYVALUE, default_empty),
};
static const struct key_def promote_keys[] = {
        ENUM("method", promote.method, promote_methods, "trigger_file"),
        SECTION("ssh", ssh_keys),
        STRING_IF("trigger_file", promote.trigger_file, CHECK_ABSPATH, needed_by_trigger_file),
        DURATION("timeout", promote.timeout_usec, "15s"),
};
static const struct key_def nginx_keys[] = {
        STRING("config", nginx.config, REQUIRED, CHECK_ABSPATH, NULL),
        STRING("upstream", nginx.upstream, REQUIRED, CHECK_TOKEN, NULL),
        STRING_IF("active_server", nginx.active_server, CHECK_TOKEN, needed_in_runbook_form),
        STRING_IF("standby_server", nginx.standby_server, CHECK_TOKEN, needed_in_runbook_form),
        ARGV("test_command", nginx.test_command.argv, nginx.test_command.argc, OPTIONAL, 1, CHECK_NONE,
             default_test_command),
        ARGV("reload_command", nginx.reload_command.argv, nginx.reload_command.argc, OPTIONAL, 1, CHECK_NONE,
             default_reload_command),
        DURATION("timeout", nginx.timeout_usec, "15s"),
};
static const struct key_def standby_stack_keys[] = {
        { .name = "command", .type = KEY_ARGV, .offset = OFF(standby_stack.argv), .offset_n = OFF(standby_stack.argc),
          .min_items = 1, .needed = needed_in_runbook_form },
        DURATION("timeout", standby_stack.timeout_usec, "120s"),
};
static const struct key_def fence_keys[] = {
        ARGV("command", fence.argv, fence.argc, REQUIRED, 1, CHECK_NONE, NULL),
        DURATION("timeout", fence.timeout_usec, "30s"),
};
static const struct key_def confirm_keys[] = {
        ARGV("command", confirm.argv, confirm.argc, REQUIRED, 1, CHECK_NONE, NULL),
        DURATION("timeout", confirm.timeout_usec, "10s"),
};
static const struct key_def verify_keys[] = {
        ARGV("urls", verify.urls, verify.n_urls, REQUIRED, 1, CHECK_URL, default_empty),
        DURATION("timeout", verify.timeout_usec, "30s"),
};
static const struct key_def failover_keys[] = {
        SECTION("promote", promote_keys),
        SECTION("nginx", nginx_keys),
        SECTION("standby_stack", standby_stack_keys),
        OPTIONAL_SECTION("fence", fence_keys),
        OPTIONAL_SECTION("confirm", confirm_keys),
        OPTIONAL_SECTION("verify", verify_keys),
};
static const struct key_def metrics_keys[] = {
        STRING("listen", metrics.listen, REQUIRED, CHECK_LISTEN, NULL),
};
static const struct key_def alerts_keys[] = {
        STRING_IF("webhook_url", alerts.webhook_url, CHECK_WEBHOOK_URL, needed_without_alertmanager),
        URL_LIST("alertmanager_url", alerts.alertmanager_urls, alerts.n_alertmanager_urls, CHECK_BASE_URL, NULL),
        DURATION("timeout", alerts.timeout_usec, "5s"),
        UINT("retries", alerts.retries, "3", 0, 10),
        SIZE("lag_warning", alerts.lag_warning_bytes, "0", 0),
};
static const struct key_def hooks_keys[] = {
        ARGV("command", hooks.argv, hooks.argc, REQUIRED, 1, CHECK_NONE, NULL),
        DURATION("timeout", hooks.timeout_usec, "10s"),
};

/* sites: one table for a site, its offsets into struct config_site; the walker adds the site's own offset
 * (ctx.base). OFF is redefined for these tables only. */
#undef OFF
#define OFF(f) offsetof(struct config_site, f)
static const struct key_def site_ssh_keys[] = {
        STRING("host", database.ssh.host, OPTIONAL, CHECK_SSH_WORD, NULL),
        STRING("user", database.ssh.user, OPTIONAL, CHECK_SSH_WORD, NULL),
        UINT("port", database.ssh.port, "22", 1, 65535),
        STRING("identity_file", database.ssh.identity_file, OPTIONAL, CHECK_ABSPATH, NULL),
        ARGV("options", database.ssh.options, database.ssh.n_options, OPTIONAL, 0, CHECK_KEYVALUE, default_empty),
};
#define SITE_COMMAND(tbl, f, d) static const struct key_def tbl[] = { TEMPLATE("command", f, d) }
SITE_COMMAND(site_status_keys, database.commands.status, "15s");
SITE_COMMAND(site_start_keys, database.commands.start, "90s");
SITE_COMMAND(site_stop_keys, database.commands.stop, "90s");
SITE_COMMAND(site_controldata_keys, database.commands.controldata, "15s");
SITE_COMMAND(site_waldump_keys, database.commands.waldump, "60s");
SITE_COMMAND(site_recover_keys, database.commands.recover, "30m");
SITE_COMMAND(site_rewind_keys, database.commands.rewind, "30m");
SITE_COMMAND(site_clone_prepare_keys, database.commands.clone_prepare, "60s");
SITE_COMMAND(site_clone_keys, database.commands.clone, "6h");
SITE_COMMAND(site_promote_keys, database.commands.promote, "60s");
SITE_COMMAND(site_stack_start_keys, stack_start, "120s");
SITE_COMMAND(site_stack_stop_keys, stack_stop, "120s");
static const struct key_def site_commands_keys[] = {
        OPTIONAL_SECTION("status", site_status_keys),
        OPTIONAL_SECTION("start", site_start_keys),
        OPTIONAL_SECTION("stop", site_stop_keys),
        OPTIONAL_SECTION("controldata", site_controldata_keys),
        OPTIONAL_SECTION("waldump", site_waldump_keys),
        OPTIONAL_SECTION("recover", site_recover_keys),
        OPTIONAL_SECTION("rewind", site_rewind_keys),
        OPTIONAL_SECTION("clone_prepare", site_clone_prepare_keys),
        OPTIONAL_SECTION("clone", site_clone_keys),
        OPTIONAL_SECTION("promote", site_promote_keys),
};
static const struct key_def site_database_keys[] = {
        STRING("conninfo", database.conninfo, OPTIONAL, CHECK_NONE, NULL),
        STRING("replication_conninfo", database.replication_conninfo, OPTIONAL, CHECK_NONE, NULL),
        STRING("application_name", database.application_name, OPTIONAL, CHECK_SITE_NAME, NULL),
        OPTIONAL_SECTION("ssh", site_ssh_keys),
        STRING("pgdata", database.pgdata, OPTIONAL, CHECK_ABSPATH, NULL),
        STRING("bindir", database.bindir, OPTIONAL, CHECK_ABSPATH, "/usr/lib/postgresql/15/bin"),
        STRING("trigger_file", database.trigger_file, OPTIONAL, CHECK_ABSPATH, NULL),
        OPTIONAL_SECTION("commands", site_commands_keys),
};
static const struct key_def site_stack_keys[] = {
        SECTION("start", site_stack_start_keys),
        OPTIONAL_SECTION("stop", site_stack_stop_keys),
};
static const struct key_def site_keys[] = {
        STRING("name", name, REQUIRED, CHECK_SITE_NAME, NULL),
        STRING("health_url", health_url, REQUIRED, CHECK_URL, NULL),
        STRING("nginx_server", nginx_server, REQUIRED, CHECK_TOKEN, NULL),
        PRESENT_SECTION("database", site_database_keys, database.present),
        SECTION("stack", site_stack_keys),
};
#undef OFF
#define OFF(f) offsetof(struct config, f)

static const struct key_def switchover_keys[] = {
        DURATION0("max_lag", switchover.max_lag_usec, "1s"),
        DURATION("catch_up_timeout", switchover.catch_up_timeout_usec, "10s"),
        BOOL("checkpoint", switchover.checkpoint, "true"),
        DURATION("stream_timeout", switchover.stream_timeout_usec, "60s"),
};
static const struct key_def rejoin_keys[] = {
        BOOL("reclone", rejoin.reclone, "false"),
        SIZE("max_lag_bytes", rejoin.max_lag_bytes, "16MB", 1),
        DURATION("stream_timeout", rejoin.stream_timeout_usec, "120s"),
};
/* cluster: the files are read at load (password_file into cluster.password); cluster_check does the rest. */
static const struct key_def etcd_keys[] = {
        ARGV("endpoints", cluster.endpoints, cluster.n_endpoints, REQUIRED, 1, CHECK_ETCD_URL, NULL),
        STRING("ca_file", cluster.ca_file, OPTIONAL, CHECK_ABSPATH, NULL),
        STRING("cert_file", cluster.cert_file, OPTIONAL, CHECK_ABSPATH, NULL),
        STRING("key_file", cluster.key_file, OPTIONAL, CHECK_ABSPATH, NULL),
        STRING("user", cluster.user, OPTIONAL, CHECK_NONE, NULL),
        STRING("password_file", cluster.password_file, OPTIONAL, CHECK_ABSPATH, NULL),
};
static const struct key_def cluster_keys[] = {
        STRING("name", cluster.name, OPTIONAL, CHECK_MEMBER, NULL),       /* NULL: the host name, in cluster_check */
        ARGV("members", cluster.members, cluster.n_members, REQUIRED, 1, CHECK_MEMBER, NULL),
        STRING("prefix", cluster.prefix, OPTIONAL, CHECK_ETCD_PREFIX, NULL),    /* NULL: from the site names */
        { .name = "lease_ttl", .type = KEY_DURATION, .offset = OFF(cluster.lease_ttl_usec), .def = "10s",
          .min = LEASE_TTL_MIN_USEC, .max = LEASE_TTL_MAX_USEC },
        DURATION("timeout", cluster.timeout_usec, NULL),                /* NULL: min(2s, lease_ttl/4) */
        SECTION("etcd", etcd_keys),
};
static const struct key_def top_keys[] = {
        STRING("state_dir", state_dir, OPTIONAL, CHECK_ABSPATH, "/var/lib/blfailoverd"),
        SECTION("health", health_keys),
        SECTION("active", active_keys),
        SECTION("standby", standby_keys),
        PRESENT_SECTION("database", database_keys, database.present),
        SECTION("failover", failover_keys),
        OPTIONAL_SECTION("metrics", metrics_keys),
        OPTIONAL_SECTION("alerts", alerts_keys),
        OPTIONAL_SECTION("hooks", hooks_keys),
        { .name = "sites", .type = KEY_SITES, .children = site_keys, .n_children = ELEMENTSOF(site_keys) },
        STRING_IF("serves_first", serves_first_name, CHECK_SITE_NAME, needed_in_sites_form),
        OPTIONAL_SECTION("switchover", switchover_keys),
        OPTIONAL_SECTION("rejoin", rejoin_keys),
        PRESENT_SECTION("cluster", cluster_keys, cluster.enabled),
};

const char *config_promote_method_to_string(enum config_promote_method m) {
        return (size_t) m < ELEMENTSOF(promote_methods) - 1 ? promote_methods[m] : NULL;
}

/* ------------------------------------------------------------------ pure value parsers
 * Each returns NULL on success or the reason, worded to follow the key's name: "health.interval <reason>". */

static const char *parse_decimal(const char *s, uint64_t *ret, size_t *ret_len) {
        uint64_t v = 0;
        size_t i;

        for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
                unsigned d = (unsigned) (s[i] - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return "is too large";
                v = v * 10 + d;
        }
        if (i == 0)
                return "must start with a number";
        *ret = v;
        *ret_len = i;
        return NULL;
}

struct unit {
        const char *name;
        uint64_t factor;
};

/* v scaled by the unit named exactly `suffix`: NULL, "is too large", or "" when no unit has that name (the
 * caller words that, listing its own units). */
static const char *scale_by_unit(const char *suffix, uint64_t v, const struct unit *units, size_t n_units,
                                 uint64_t *ret) {
        for (size_t i = 0; i < n_units; i++) {
                if (strcmp(suffix, units[i].name) != 0)
                        continue;
                if (v > UINT64_MAX / units[i].factor)
                        return "is too large";
                *ret = v * units[i].factor;
                return NULL;
        }
        return "";
}

static const char *duration_parse(const char *s, uint64_t *ret_usec) {
        static const struct unit units[] = {
                { "ms", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
        };
        uint64_t v;
        size_t n;
        const char *why = parse_decimal(s, &v, &n);

        if (why && *s >= '0' && *s <= '9')
                return why;
        if (why)
                return *s ? "must be a number with a unit: 10s, 250ms, 2m" : "must not be empty";
        if (s[n] == '\0')
                return "needs a unit: 10s, 250ms, 2m";
        if (s[n] == '.' || s[n] == ',')
                return "must be a whole number: use a smaller unit (1500ms, not 1.5s)";
        why = scale_by_unit(s + n, v, units, ELEMENTSOF(units), ret_usec);
        return why && !*why ? "has an unknown unit: use ms, s, m or h (10s, 250ms, 2m, 1h)" : why;
}

int config_parse_duration(const char *s, uint64_t *ret_usec) {
        uint64_t usec;

        if (!s || duration_parse(s, &usec))
                return -EINVAL;
        *ret_usec = usec;
        return 0;
}

/* "3" yes; "3x", "-1", "+1", "0x10", "03", "1e3" no. */
static const char *uint_parse(const char *s, uint64_t *ret) {
        uint64_t v;
        size_t n;
        const char *why = parse_decimal(s, &v, &n);

        if (why && *s >= '0' && *s <= '9')
                return why;
        if (why || s[n] != '\0' || (s[0] == '0' && n > 1))
                return "must be a plain decimal integer, like 3";
        *ret = v;
        return NULL;
}

/* "1048576" (bytes), or a whole number with a unit: B, kB, MB, GB, TB (powers of 1024, as PostgreSQL spells
 * them) or KiB, MiB, GiB, TiB. Case matters, as in PostgreSQL: "KB" and "mb" are unknown units. */
static const char *size_parse(const char *s, uint64_t *ret_bytes) {
        static const struct unit units[] = {
                { "B", 1 }, { "kB", UINT64_C(1) << 10 }, { "MB", UINT64_C(1) << 20 }, { "GB", UINT64_C(1) << 30 },
                { "TB", UINT64_C(1) << 40 }, { "KiB", UINT64_C(1) << 10 }, { "MiB", UINT64_C(1) << 20 },
                { "GiB", UINT64_C(1) << 30 }, { "TiB", UINT64_C(1) << 40 },
        };
        uint64_t v;
        size_t n;
        const char *why = parse_decimal(s, &v, &n);

        if (why && *s >= '0' && *s <= '9')
                return why;
        if (why)
                return *s ? "must be a number of bytes, or a number with a unit: 512kB, 16MB, 1GB"
                          : "must not be empty";
        if (s[0] == '0' && n > 1)
                return "must not have leading zeros";
        if (s[n] == '.' || s[n] == ',')
                return "must be a whole number: use a smaller unit (1536MB, not 1.5GB)";
        if (s[n] == '\0') {
                *ret_bytes = v;
                return NULL;
        }
        why = scale_by_unit(s + n, v, units, ELEMENTSOF(units), ret_bytes);
        return why && !*why ? "has an unknown unit: use B, kB, MB, GB or TB (powers of 1024) or KiB, MiB, GiB, TiB"
                            : why;
}

int config_parse_size(const char *s, uint64_t *ret_bytes) {
        uint64_t bytes;

        if (!s || size_parse(s, &bytes))
                return -EINVAL;
        *ret_bytes = bytes;
        return 0;
}

/* The largest unit that says the value exactly, so messages echo what the user most likely wrote. */
static const char *format_duration(uint64_t usec, char *buf, size_t size) {
        static const struct { const char *unit; uint64_t usec; } units[] = {
                { "h", 3600 * USEC_PER_SEC }, { "m", 60 * USEC_PER_SEC }, { "s", USEC_PER_SEC },
                { "ms", USEC_PER_MSEC }, { "us", 1 },
        };

        if (usec == 0)
                return "0s";
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (usec % units[i].usec == 0) {
                        snprintf(buf, size, "%llu%s", (unsigned long long) (usec / units[i].usec), units[i].unit);
                        break;
                }
        return buf;
}

static bool has_space_or_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s <= ' ' || *s == 0x7f)
                        return true;
        return false;
}

static const char *check_url(const char *s) {
        size_t n = strncasecmp(s, "http://", 7) == 0 ? 7 : strncasecmp(s, "https://", 8) == 0 ? 8 : 0;

        if (n == 0)
                return "must start with http:// or https://";
        if (s[n] == '\0' || strchr("/?#", s[n]))
                return "has no host after the scheme";
        if (has_space_or_control(s))
                return "must not contain whitespace or control characters";
        return NULL;
}

/* Alertmanager's v2 (and the removed v1) API takes a list of alerts, not a webhook receiver's body: pointing
 * webhook_url there gets a 400 on every post. alertmanager_url takes the base URL and adds the path itself. */
static bool is_alertmanager_api(const char *s) {
        static const char *const paths[] = { "/api/v2/alerts", "/api/v2/alerts/", "/api/v1/alerts",
                                             "/api/v1/alerts/" };
        size_t n = strcspn(s, "?#");

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                size_t k = strlen(paths[i]);

                if (n >= k && strncmp(s + n - k, paths[i], k) == 0)
                        return true;
        }
        return false;
}

static const char *check_webhook_url(const char *s) {
        const char *why = check_url(s);

        if (why)
                return why;
        return is_alertmanager_api(s) ? "is Alertmanager's own API, which does not take webhook bodies: set "
                                        "alerts.alertmanager_url to its base URL (http://HOST:9093) instead" : NULL;
}

static const char *check_base_url(const char *s) {
        const char *why = check_url(s);

        if (why)
                return why;
        if (strpbrk(s, "?#"))
                return "must be a base URL without a query or fragment (http://HOST:9093)";
        return is_alertmanager_api(s) ? "is a base URL: leave out /api/v2/alerts (it is added)" : NULL;
}

/* The host of a listen address, cut from its port (brackets of an IPv6 literal still on). */
static const char *check_listen_host(char *host) {
        static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
        size_t n = strlen(host);
        unsigned char addr[sizeof(struct in6_addr)];

        if (host[0] == '[') {
                host[n - 1] = '\0';     /* the caller saw the ']' */
                return inet_pton(AF_INET6, host + 1, addr) == 1 ? NULL : "has an invalid IPv6 address";
        }
        if (strchr(host, ':'))
                return "must put an IPv6 address in brackets, like [::1]:9187";
        if (strspn(host, "0123456789.") == n)
                return inet_pton(AF_INET, host, addr) == 1 ? NULL : "has an invalid IPv4 address";
        if (strspn(host, name_chars) != n || host[0] == '-' || host[0] == '.')
                return "has an invalid host name (letters, digits, '.', '-' and '_' only)";
        return NULL;
}

/* HOST:PORT: "127.0.0.1:9187", "[::1]:9187", "metrics.internal:9187". */
static const char *check_listen(const char *s) {
        const char *colon = s[0] == '[' ? strchr(s, ']') : strrchr(s, ':');
        char host[LISTEN_HOST_MAX + 1];
        uint64_t port;
        size_t n;

        if (colon && s[0] == '[')
                colon = colon[1] == ':' ? colon + 1 : NULL;
        if (!colon || colon == s)
                return "must be HOST:PORT, like 127.0.0.1:9187, [::1]:9187 or 0.0.0.0:9187 (every interface)";
        if (uint_parse(colon + 1, &port) || port < 1 || port > 65535)
                return "must end in a port from 1 to 65535";
        n = (size_t) (colon - s);
        if (n > LISTEN_HOST_MAX)
                return "has a host name longer than 253 characters";
        memcpy(host, s, n);
        host[n] = '\0';
        return check_listen_host(host);
}

/* ssh -o Key=Value: the key a word of letters and digits, the value non-empty. */
static const char *check_keyvalue(const char *s) {
        size_t k = 0;

        while ((s[k] >= 'A' && s[k] <= 'Z') || (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9'))
                k++;
        if (k == 0 || s[k] != '=' || s[k + 1] == '\0')
                return "must look like Key=Value (e.g. StrictHostKeyChecking=yes)";
        return NULL;
}

static bool is_alnum(char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* Also used on the host name, the default. */
static const char *check_member(const char *s) {
        size_t n = strlen(s);

        if (n > MEMBER_NAME_MAX || !is_alnum(s[0]) ||
            strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
                return "must be 1 to 63 of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or a digit";
        return NULL;
}

/* Where the port starts in an authority ("host:2379", "[::1]:2379"), or NULL. */
static const char *authority_port(const char *host, size_t n) {
        const char *colon = NULL;

        if (host[0] == '[') {
                const char *close = memchr(host, ']', n);

                return close && (size_t) (close - host) + 1 < n && close[1] == ':' ? close + 2 : NULL;
        }
        for (size_t i = 0; i < n; i++)
                if (host[i] == ':')
                        colon = host + i;
        return colon && colon > host ? colon + 1 : NULL;
}

/* etcd's gateway: the scheme, a host and a port; we add /v3/... ourselves. The value may carry a password in
 * its userinfo: the messages never quote it. */
static const char *check_etcd_url(const char *s) {
        const char *why = check_url(s), *host, *port, *end;
        size_t n, plen;

        if (why)
                return why;
        host = s + (strncasecmp(s, "http://", 7) == 0 ? 7 : 8);
        n = strcspn(host, "/?#");
        end = host + n;
        if (memchr(host, '@', n))
                return "must not contain user:password@: use cluster.etcd.user and cluster.etcd.password_file";
        port = authority_port(host, n);
        plen = port ? (size_t) (end - port) : 0;
        if (!port || plen == 0 || plen > 5 || strspn(port, "0123456789") < plen || port[0] == '0' ||
            strtoul(port, NULL, 10) > 65535)
                return "must have a host and a port from 1 to 65535, like https://10.0.0.1:2379";
        if (*end && strcmp(end, "/") != 0)
                return "must have no path, query or fragment, like https://10.0.0.1:2379 (the /v3/ paths are added)";
        return NULL;
}

static const char *check_etcd_prefix(const char *s) {
        size_t n = strlen(s);

        if (s[0] != '/')
                return "must start with /";
        if (s[n - 1] == '/')
                return "must not end with / (the keys are PREFIX/leader, PREFIX/record, ...)";
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] <= ' ' || (unsigned char) s[i] >= 0x7f)
                        return "must be printable ASCII without spaces";
        return n > ETCD_PREFIX_MAX ? "must be at most 200 bytes" : NULL;
}

static const char *check_value(enum key_check check, const char *s) {
        switch (check) {
        case CHECK_NONE:
                return NULL;
        case CHECK_URL:
                return check_url(s);
        case CHECK_ABSPATH:
                return s[0] == '/' ? NULL : "must be an absolute path (starting with /)";
        case CHECK_SSH_WORD:
                if (s[0] == '-')
                        return "must not start with '-' (ssh would take it for an option)";
                return has_space_or_control(s) ? "must not contain whitespace" : NULL;
        case CHECK_TOKEN:
                if (has_space_or_control(s) || strpbrk(s, ";{}\"'#"))
                        return "must be one nginx word (no whitespace, quotes, ';', '{', '}' or '#')";
                return NULL;
        case CHECK_KEYVALUE:
                return check_keyvalue(s);
        case CHECK_LISTEN:
                return check_listen(s);
        case CHECK_WEBHOOK_URL:
                return check_webhook_url(s);
        case CHECK_BASE_URL:
                return check_base_url(s);
        case CHECK_SITE_NAME:
                if (strlen(s) > CONFIG_SITE_NAME_MAX || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(s))
                        return "must be 1 to 31 of a-z, 0-9, '_' and '-' (it goes into logs, the record and SQL)";
                return NULL;
        case CHECK_MEMBER:
                return check_member(s);
        case CHECK_ETCD_URL:
                return check_etcd_url(s);
        case CHECK_ETCD_PREFIX:
                return check_etcd_prefix(s);
        }
        return NULL;
}

/* Optimal string alignment distance (a swap of two neighbours counts 1), for "did you mean". */
static unsigned edit_distance(const char *a, const char *b) {
        unsigned d[HINT_NAME_MAX + 1][HINT_NAME_MAX + 1];
        size_t la = strlen(a), lb = strlen(b);

        if (la > HINT_NAME_MAX || lb > HINT_NAME_MAX)
                return UINT_MAX;
        for (size_t i = 0; i <= la; i++)
                d[i][0] = (unsigned) i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        unsigned cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;

                        if (d[i - 1][j] + 1 < v)
                                v = d[i - 1][j] + 1;
                        if (d[i][j - 1] + 1 < v)
                                v = d[i][j - 1] + 1;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                                v = d[i - 2][j - 2] + 1;
                        d[i][j] = v;
                }
        return d[la][lb];
}

/* A key the user wrote, safe to print: non-printables as '?', at most SHOWN_KEY_MAX characters (then "..."),
 * nothing after the first '=', and the userinfo of anything shaped like a URL dropped, so a URL or a libpq
 * conninfo pasted where a key belongs never shows its password. buf holds SHOWN_KEY_MAX + 4 bytes. */
static const char *key_for_message(const char *s, char buf[static SHOWN_KEY_MAX + 4]) {
        const char *scheme = strstr(s, "://"), *skip = NULL, *resume = NULL;
        size_t j = 0;
        const char *p;

        if (scheme) {
                const char *host = scheme + 3, *at = NULL;

                for (const char *q = host; *q && !strchr("/?#", *q); q++)
                        if (*q == '@')
                                at = q;
                if (at) {
                        skip = host;
                        resume = at + 1;
                }
        }
        for (p = s; *p && j < SHOWN_KEY_MAX; p++) {
                if (p == skip)
                        p = resume;
                if (!*p)
                        break;
                buf[j++] = (unsigned char) *p < ' ' || (unsigned char) *p >= 0x7f ? '?' : *p;
                if (*p == '=')  /* "host=db password=...": a conninfo where a key belongs, cut after the first word */
                        break;
        }
        strcpy(buf + j, *p ? "..." : "");
        return buf;
}

/* ------------------------------------------------------------------ error lists */

static int errors_addv(struct config_errors *errs, unsigned line, unsigned col, const char *fmt, va_list ap) {
        struct config_error *items;
        char *m;

        if (vasprintf(&m, fmt, ap) < 0)
                return -ENOMEM;
        items = reallocarray(errs->items, errs->n + 1, sizeof(*items));
        if (!items) {
                free(m);
                return -ENOMEM;
        }
        errs->items = items;
        errs->items[errs->n++] = (struct config_error) { .line = line, .col = col, .message = m };
        return 0;
}

void config_errors_init(struct config_errors *errs, const char *file) {
        *errs = (struct config_errors) { .file = file ? strdup(file) : NULL };
}

void config_errors_add(struct config_errors *errs, unsigned line, unsigned col, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) errors_addv(errs, line, col, fmt, ap);
        va_end(ap);
}

void config_errors_print(const struct config_errors *errs, FILE *out) {
        const char *file = errs->file ? errs->file : "<config>";

        for (size_t i = 0; i < errs->n; i++) {
                const struct config_error *e = &errs->items[i];

                if (e->line > 0)
                        fprintf(out, "%s:%u:%u: %s\n", file, e->line, e->col, e->message);
                else
                        fprintf(out, "%s: %s\n", file, e->message);
        }
}

void config_errors_done(struct config_errors *errs) {
        for (size_t i = 0; i < errs->n; i++)
                free(errs->items[i].message);
        free(errs->items);
        free(errs->file);
        *errs = (struct config_errors) {};
}

/* Stable, by position, from index `first` on: the walk finds missing keys and cross-key problems late. */
static void errors_sort_from(struct config_errors *errs, size_t first) {
        for (size_t i = first + 1; i < errs->n; i++) {
                struct config_error e = errs->items[i];
                size_t j = i;

                for (; j > first; j--) {
                        const struct config_error *p = &errs->items[j - 1];

                        if (p->line < e.line || (p->line == e.line && p->col <= e.col))
                                break;
                        errs->items[j] = *p;
                }
                errs->items[j] = e;
        }
}

void config_errors_sort(struct config_errors *errs) {
        errors_sort_from(errs, 0);
}

/* ------------------------------------------------------------------ the config object */

/* A site's commands, for the checks, the defaults and freeing. The database ones have a default argv (design
 * §1), written without {ssh}: it is put first when the site has database.ssh.host, else the default runs here. */
struct site_command {
        const char *key;                        /* below sites[N]. */
        size_t offset;                          /* of the struct config_command in struct config_site */
        const char *const *def;                 /* NULL: no default (the stack commands) */
};

#define SITE_CMD(k, f, ...) \
        { k, offsetof(struct config_site, f), (const char *const[]) { __VA_ARGS__, NULL } }
static const struct site_command site_commands[] = {
        SITE_CMD("database.commands.status", database.commands.status, "{bindir}/pg_ctl", "status", "-D", "{pgdata}"),
        SITE_CMD("database.commands.start", database.commands.start, "{bindir}/pg_ctl", "start", "-D", "{pgdata}",
                 "-w", "-t", "60", "-s", "-l", "{pgdata}/blfailoverd-start.log"),
        SITE_CMD("database.commands.stop", database.commands.stop, "{bindir}/pg_ctl", "stop", "-D", "{pgdata}",
                 "-m", "fast", "-w", "-t", "60", "-s"),
        SITE_CMD("database.commands.controldata", database.commands.controldata, "env", "LC_ALL=C",
                 "{bindir}/pg_controldata", "-D", "{pgdata}"),
        SITE_CMD("database.commands.waldump", database.commands.waldump, "env", "LC_ALL=C", "{bindir}/pg_waldump",
                 "-p", "{pgdata}/pg_wal", "-t", "{tli}", "-s", "{from}", "{until}"),
        SITE_CMD("database.commands.recover", database.commands.recover, "{bindir}/postgres", "--single", "-F",
                 "-D", "{pgdata}", "template1"),
        /* pg_rewind's lines are read (pgtext.h): untranslated */
        SITE_CMD("database.commands.rewind", database.commands.rewind, "env", "LC_ALL=C", "{bindir}/pg_rewind", "-D",
                 "{pgdata}",
                 "--source-server={source}", "-R", "{dry_run}"),
        SITE_CMD("database.commands.clone_prepare", database.commands.clone_prepare, "mv", "-T", "--", "{pgdata}",
                 "{pgdata}.blfailoverd-{epoch}"),
        SITE_CMD("database.commands.clone", database.commands.clone, "{bindir}/pg_basebackup", "-D", "{pgdata}",
                 "--dbname={source}", "-R", "-X", "stream", "-c", "fast"),
        { "database.commands.promote", offsetof(struct config_site, database.commands.promote), NULL },
        { "stack.start", offsetof(struct config_site, stack_start), NULL },
        { "stack.stop", offsetof(struct config_site, stack_stop), NULL },
};

/* site_commands[0 .. SITE_COMMANDS_REJOIN - 1] (status .. rewind) are what every rejoin runs; the next two the
 * re-clone. */
#define SITE_COMMANDS_REJOIN 7

static struct config_command *site_command(struct config_site *s, const struct site_command *sc) {
        return (struct config_command *) ((char *) s + sc->offset);
}

static void ssh_done(struct config_ssh *ssh) {
        free(ssh->host);
        free(ssh->user);
        free(ssh->identity_file);
        strv_free(ssh->options);
        *ssh = (struct config_ssh) {};
}

static void site_free(struct config_site *s) {
        free(s->name);
        free(s->health_url);
        free(s->nginx_server);
        free(s->database.conninfo);
        free(s->database.replication_conninfo);
        free(s->database.application_name);
        free(s->database.pgdata);
        free(s->database.bindir);
        free(s->database.trigger_file);
        ssh_done(&s->database.ssh);
        for (size_t k = 0; k < ELEMENTSOF(site_commands); k++)
                strv_free(site_command(s, &site_commands[k])->argv);
}

/* The password is zeroed before it is freed: no copy of a secret outlives the config. */
static void cluster_done(struct config_cluster *k) {
        free(k->name);
        strv_free(k->members);
        free(k->prefix);
        strv_free(k->endpoints);
        free(k->ca_file);
        free(k->cert_file);
        free(k->key_file);
        free(k->user);
        free(k->password_file);
        if (k->password)
                explicit_bzero(k->password, strlen(k->password));
        free(k->password);
        *k = (struct config_cluster) {};
}

void config_free(struct config *c) {
        if (!c)
                return;
        free(c->path);
        free(c->state_dir);
        free(c->health.expect_body);
        free(c->health.ca_file);
        free(c->active.name);
        free(c->active.url);
        free(c->standby.name);
        free(c->standby.url);
        free(c->promote.ssh.host);
        free(c->promote.ssh.user);
        free(c->promote.ssh.identity_file);
        strv_free(c->promote.ssh.options);
        free(c->promote.trigger_file);
        free(c->nginx.config);
        free(c->nginx.upstream);
        free(c->nginx.active_server);
        free(c->nginx.standby_server);
        strv_free(c->nginx.test_command.argv);
        strv_free(c->nginx.reload_command.argv);
        strv_free(c->standby_stack.argv);
        strv_free(c->promote_command.argv);
        strv_free(c->fence.argv);
        strv_free(c->confirm.argv);
        strv_free(c->verify.urls);
        free(c->database.standby);
        free(c->database.primary);
        free(c->database.password_file);
        free(c->metrics.listen);
        free(c->alerts.webhook_url);
        strv_free(c->alerts.alertmanager_urls);
        strv_free(c->hooks.argv);
        for (unsigned i = 0; i < CONFIG_SITES; i++)
                site_free(&c->sites[i]);
        free(c->serves_first_name);
        cluster_done(&c->cluster);
        config_errors_done(&c->warnings);
        for (size_t i = 0; i < c->n_marks; i++)
                free(c->marks[i].key);
        free(c->marks);
        free(c);
}

struct config_mark config_mark_of(const struct config *c, const char *key) {
        for (size_t i = 0; c && key && i < c->n_marks; i++)
                if (strcmp(c->marks[i].key, key) == 0)
                        return c->marks[i].mark;
        return (struct config_mark) {};
}

static void *field(struct config *c, size_t offset) {
        return (char *) c + offset;
}

static int store_string(struct config *c, size_t offset, const char *s) {
        char **p = field(c, offset), *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        free(*p);
        *p = copy;
        return 0;
}

/* Takes ownership of argv. */
static void store_argv(struct config *c, size_t base, const struct key_def *d, char **argv) {
        char ***p = field(c, base + d->offset);

        strv_free(*p);
        *p = argv;
        *(size_t *) field(c, base + d->offset_n) = strv_length(argv);
}

static ssize_t enum_index(const char *const *names, const char *s) {
        for (size_t i = 0; names[i]; i++)
                if (strcmp(names[i], s) == 0)
                        return (ssize_t) i;
        return -1;
}

/* Defaults go through the same parsers as the file, so each is written once, in the table. A default the
 * parser refuses is a bug in the table: -EINVAL. */
static int apply_default(struct config *c, size_t base, const struct key_def *d) {
        const char *why = NULL;
        uint64_t v = 0;
        char **argv;

        switch (d->type) {
        case KEY_SECTION:
        case KEY_SITES:
                break;
        case KEY_STRING:
                return d->def ? store_string(c, base + d->offset, d->def) : 0;
        case KEY_DURATION:
                why = d->def ? duration_parse(d->def, field(c, base + d->offset)) : NULL;
                break;
        case KEY_UINT:
                why = d->def ? uint_parse(d->def, &v) : NULL;
                *(unsigned *) field(c, base + d->offset) = (unsigned) v;
                break;
        case KEY_SIZE:
                why = d->def ? size_parse(d->def, field(c, base + d->offset)) : NULL;
                break;
        case KEY_BOOL:
                *(bool *) field(c, base + d->offset) = d->def && strcmp(d->def, "true") == 0;
                break;
        case KEY_ENUM:
                *(int *) field(c, base + d->offset) = d->def ? (int) enum_index(d->names, d->def) : -1;
                why = *(int *) field(c, base + d->offset) < 0 ? "unknown" : NULL;
                break;
        case KEY_ARGV:
                if (!d->def_argv)
                        break;
                argv = strv_copy((char *const *) d->def_argv);
                if (!argv)
                        return -ENOMEM;
                store_argv(c, base, d, argv);
                break;
        }
        return why ? -EINVAL : 0;
}

static int apply_defaults(struct config *c, size_t base, const struct key_def *defs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int r = defs[i].type == KEY_SECTION ? apply_defaults(c, base, defs[i].children, defs[i].n_children)
                                                    : apply_default(c, base, &defs[i]);

                for (size_t k = 0; r >= 0 && defs[i].type == KEY_SITES && k < CONFIG_SITES; k++)
                        r = apply_defaults(c, base + offsetof(struct config, sites[k]), defs[i].children,
                                           defs[i].n_children);

                if (r < 0)
                        return r;
        }
        return 0;
}

static int config_new(const char *path, struct config **ret) {
        struct config *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->path = strdup(path ? path : "<config>");
        r = c->path ? apply_defaults(c, 0, top_keys, ELEMENTSOF(top_keys)) : -ENOMEM;
        if (r < 0) {
                config_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

/* ------------------------------------------------------------------ walking the document */

struct ctx {
        yaml_document_t *doc;
        struct config *c;
        struct config_errors *errs;
        size_t base;                    /* of the struct the table's offsets are in: a site's, while in sites: */
        size_t n_errors;                /* added by this load */
        char **bad;                     /* keys whose value was rejected: no cross-checks on their default */
        size_t n_bad;
        struct missing *missing;        /* keys not in the file that may be required: judged after the walk */
        size_t n_missing;
        bool oom;
};

struct missing {
        char *path;
        struct config_mark where;       /* the section, or the nearest enclosing one in the file */
        const struct key_def *def;
};

static struct config_mark mark_of(const yaml_node_t *n) {
        return (struct config_mark) { (unsigned) n->start_mark.line + 1, (unsigned) n->start_mark.column + 1 };
}

static void ctx_addv(struct ctx *x, struct config_mark m, const char *fmt, va_list ap) {
        if (x->n_errors > ERRORS_MAX)
                return;
        if (x->n_errors == ERRORS_MAX) {
                x->n_errors++;
                config_errors_add(x->errs, 0, 0, "more than %d problems; showing the first %d", ERRORS_MAX,
                                  ERRORS_MAX);
                return;
        }
        if (errors_addv(x->errs, m.line, m.col, fmt, ap) < 0)
                x->oom = true;
        x->n_errors++;
}

__attribute__((format(printf, 3, 4)))
static void ctx_add(struct ctx *x, struct config_mark m, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        ctx_addv(x, m, fmt, ap);
        va_end(ap);
}

static void remember_bad(struct ctx *x, const char *path) {
        char **bad = reallocarray(x->bad, x->n_bad + 1, sizeof(char *));

        if (!bad) {
                x->oom = true;
                return;
        }
        x->bad = bad;
        x->bad[x->n_bad] = strdup(path);
        if (x->bad[x->n_bad])
                x->n_bad++;
        else
                x->oom = true;
}

/* A problem with the value of `path`: reported at the value, and the key remembered as bad. */
__attribute__((format(printf, 4, 5)))
static void value_error(struct ctx *x, const yaml_node_t *v, const char *path, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        ctx_addv(x, mark_of(v), fmt, ap);
        va_end(ap);
        remember_bad(x, path);
}

static bool is_bad(const struct ctx *x, const char *path) {
        for (size_t i = 0; i < x->n_bad; i++)
                if (strcmp(x->bad[i], path) == 0)
                        return true;
        return false;
}

static void record_mark(struct ctx *x, const char *path, struct config_mark m) {
        struct config *c = x->c;
        struct config_key_mark *marks = reallocarray(c->marks, c->n_marks + 1, sizeof(*marks));

        if (!marks) {
                x->oom = true;
                return;
        }
        c->marks = marks;
        c->marks[c->n_marks] = (struct config_key_mark) { .key = strdup(path), .mark = m };
        if (c->marks[c->n_marks].key)
                c->n_marks++;
        else
                x->oom = true;
}

static const char *node_kind(const yaml_node_t *n) {
        if (n->type == YAML_SEQUENCE_NODE)
                return "a list";
        return n->type == YAML_MAPPING_NODE ? "a mapping" : "a single value";
}

/* `key: ` with nothing, `~` or `null` — but not the quoted string "null". */
static bool is_null(const yaml_node_t *n) {
        const char *s;

        if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        s = (const char *) n->data.scalar.value;
        return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
               strcmp(s, "NULL") == 0;
}

/* The text of a scalar that must be non-empty, or NULL after reporting why it can't be used. */
static const char *scalar_text(struct ctx *x, const yaml_node_t *v, const char *path) {
        const char *s;

        if (v->type != YAML_SCALAR_NODE) {
                value_error(x, v, path, "%s must be a single value, not %s", path, node_kind(v));
                return NULL;
        }
        s = (const char *) v->data.scalar.value;
        if (is_null(v) || !*s) {
                value_error(x, v, path, "%s must not be empty", path);
                return NULL;
        }
        if (strlen(s) != v->data.scalar.length) {
                value_error(x, v, path, "%s must not contain NUL characters", path);
                return NULL;
        }
        return s;
}

static void parse_string(struct ctx *x, const struct key_def *d, const yaml_node_t *v, const char *path) {
        const char *s = scalar_text(x, v, path), *why;

        if (!s)
                return;
        why = check_value(d->check, s);
        if (why)
                value_error(x, v, path, "%s %s", path, why);
        else if (store_string(x->c, x->base + d->offset, s) < 0)
                x->oom = true;
}

static const char *number_parse(enum key_type type, const char *s, uint64_t *ret) {
        if (type == KEY_DURATION)
                return duration_parse(s, ret);
        return type == KEY_SIZE ? size_parse(s, ret) : uint_parse(s, ret);
}

static void range_error(struct ctx *x, const struct key_def *d, const yaml_node_t *v, const char *path,
                        uint64_t n) {
        char max[32];

        char min[32];

        if (d->type == KEY_UINT)
                value_error(x, v, path, "%s must be between %llu and %llu", path, (unsigned long long) d->min,
                            (unsigned long long) d->max);
        else if (d->type == KEY_DURATION && d->min > 1)
                value_error(x, v, path, "%s must be between %s and %s", path, format_duration(d->min, min, sizeof min),
                            format_duration(d->max, max, sizeof max));
        else if (n < d->min)
                value_error(x, v, path, "%s must be greater than 0", path);
        else if (d->type == KEY_SIZE)
                value_error(x, v, path, "%s is too large", path);
        else
                value_error(x, v, path, "%s must be at most %s", path, format_duration(d->max, max, sizeof max));
}

/* KEY_DURATION, KEY_UINT, KEY_SIZE. */
static void parse_number(struct ctx *x, const struct key_def *d, const yaml_node_t *v, const char *path) {
        const char *s = scalar_text(x, v, path), *why;
        uint64_t n;

        if (!s)
                return;
        why = number_parse(d->type, s, &n);
        if (why)
                value_error(x, v, path, "%s %s", path, why);
        else if (n < d->min || n > d->max)
                range_error(x, d, v, path, n);
        else if (d->type == KEY_UINT)
                *(unsigned *) field(x->c, x->base + d->offset) = (unsigned) n;
        else
                *(uint64_t *) field(x->c, x->base + d->offset) = n;
}

/* YAML 1.2 booleans, lower case, unquoted. YAML 1.1's words are refused with the word to write instead:
 * "on" meaning true in one parser and a string in the next is how TLS verification gets switched off. */
static void parse_bool(struct ctx *x, const struct key_def *d, const yaml_node_t *v, const char *path) {
        static const struct { const char *word, *means; } yaml11[] = {
                { "yes", "true" }, { "y", "true" }, { "on", "true" },
                { "no", "false" }, { "n", "false" }, { "off", "false" },
        };
        const char *s = scalar_text(x, v, path);
        bool plain = v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

        if (!s)
                return;
        if (plain && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
                *(bool *) field(x->c, x->base + d->offset) = s[0] == 't';
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(yaml11); i++)
                if (strcasecmp(s, yaml11[i].word) == 0) {
                        value_error(x, v, path, "%s must be true or false (write %s, not %s)", path,
                                    yaml11[i].means, yaml11[i].word);
                        return;
                }
        if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)
                value_error(x, v, path, "%s must be true or false, %s", path,
                            plain ? "in lower case" : "without quotes");
        else
                value_error(x, v, path, "%s must be true or false", path);
}

/* "a, b, c" */
static const char *enum_list(const char *const *names, char *buf, size_t size) {
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; names[i] && len < size; i++)
                len += (size_t) snprintf(buf + len, size - len, "%s%s", i > 0 ? ", " : "", names[i]);
        return buf;
}

static const char *nearest_name(const char *const *names, const char *s) {
        unsigned best = HINT_DISTANCE_MAX + 1;
        const char *near = NULL;

        for (size_t i = 0; names[i]; i++) {
                unsigned dist = edit_distance(s, names[i]);

                if (dist < best) {
                        best = dist;
                        near = names[i];
                }
        }
        return near;
}

static void parse_enum(struct ctx *x, const struct key_def *d, const yaml_node_t *v, const char *path) {
        const char *s = scalar_text(x, v, path), *near;
        char allowed[ENUM_LIST_MAX];
        ssize_t i;

        if (!s)
                return;
        i = enum_index(d->names, s);
        if (i >= 0) {
                *(int *) field(x->c, x->base + d->offset) = (int) i;
                return;
        }
        enum_list(d->names, allowed, sizeof allowed);
        near = nearest_name(d->names, s);
        if (near)
                value_error(x, v, path, "%s must be one of %s (did you mean \"%s\"?)", path, allowed, near);
        else
                value_error(x, v, path, "%s must be one of %s", path, allowed);
}

/* One list item into argv[i]; false when it was reported. */
static bool parse_item(struct ctx *x, const struct key_def *d, const yaml_node_t *item, const char *path,
                       char **argv, size_t i) {
        const char *s, *why;
        char item_path[KEY_PATH_MAX + 24];      /* the parent's path and "[index]" */

        if ((size_t) snprintf(item_path, sizeof item_path, "%s[%zu]", path, i) >= sizeof item_path)
                abort();                        /* as in join_path */
        record_mark(x, item_path, mark_of(item));
        s = scalar_text(x, item, item_path);
        if (!s)
                return false;
        why = check_value(d->check, s);
        if (why) {
                value_error(x, item, item_path, "%s %s", item_path, why);
                return false;
        }
        argv[i] = strdup(s);
        if (!argv[i])
                x->oom = true;
        return argv[i] != NULL;
}

static void not_a_list(struct ctx *x, const struct key_def *d, const yaml_node_t *v, const char *path) {
        if (d->check == CHECK_KEYVALUE)
                value_error(x, v, path, "%s must be a list like [Key=Value, ...], not %s", path, node_kind(v));
        else if (d->check == CHECK_BASE_URL)
                value_error(x, v, path, "%s must be a URL or a list like [http://am1:9093, http://am2:9093], not %s",
                            path, node_kind(v));
        else if (d->check == CHECK_URL)
                value_error(x, v, path, "%s must be a list like [http://host/health, ...], not %s", path,
                            node_kind(v));
        else if (d->check == CHECK_ETCD_URL)
                value_error(x, v, path, "%s must be a list like [https://10.0.0.1:2379, https://10.0.0.2:2379], "
                            "not %s", path, node_kind(v));
        else if (d->check == CHECK_MEMBER)
                value_error(x, v, path, "%s must be a list like [mon-a, mon-b, mon-c], not %s", path, node_kind(v));
        else
                value_error(x, v, path, "%s must be a list like [nginx, -s, reload], not %s "
                            "(commands never go through a shell)", path, node_kind(v));
}

/* A single value where one_or_list allows it: a list of one, reported under the key's own path. */
static void parse_one(struct ctx *x, const struct key_def *d, const yaml_node_t *v, const char *path) {
        const char *s = scalar_text(x, v, path), *why;
        char **argv;

        if (!s)
                return;
        why = check_value(d->check, s);
        if (why) {
                value_error(x, v, path, "%s %s", path, why);
                return;
        }
        argv = calloc(2, sizeof(char *));
        if (argv)
                argv[0] = strdup(s);
        if (!argv || !argv[0]) {
                free(argv);
                x->oom = true;
                return;
        }
        store_argv(x->c, x->base, d, argv);
}

/* A site command's words: template_check's problem reported at the word it names. */
static bool template_words_ok(struct ctx *x, const yaml_node_t *v, const char *path, char **argv) {
        char err[TEMPLATE_ERR_MAX];
        const yaml_node_t *item;
        size_t w = 0;

        if (template_check(argv, NULL, &w, err, sizeof err) == 0)
                return true;
        item = yaml_document_get_node(x->doc, v->data.sequence.items.start[w]);
        ctx_add(x, mark_of(item ? item : v), "%s[%zu] %s (see blfailoverd.yml(5) \"Sites\" for the placeholders)",
                path, w, err);
        return false;
}

static void parse_argv(struct ctx *x, const struct key_def *d, const yaml_node_t *v, const char *path) {
        size_t n = 0;
        char **argv;
        bool ok = true;

        if (d->one_or_list && v->type == YAML_SCALAR_NODE && !is_null(v)) {
                parse_one(x, d, v, path);
                return;
        }
        if (v->type != YAML_SEQUENCE_NODE && !is_null(v)) {
                not_a_list(x, d, v, path);
                return;
        }
        if (v->type == YAML_SEQUENCE_NODE)
                n = (size_t) (v->data.sequence.items.top - v->data.sequence.items.start);
        if (n < d->min_items) {
                value_error(x, v, path, "%s must not be an empty list", path);
                return;
        }
        argv = calloc(n + 1, sizeof(char *));
        if (!argv) {
                x->oom = true;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const yaml_node_t *item = yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);

                ok = (item && parse_item(x, d, item, path, argv, i)) && ok;
        }
        if (ok && d->template)
                ok = template_words_ok(x, v, path, argv);
        if (ok) {
                store_argv(x->c, x->base, d, argv);
                return;
        }
        for (size_t i = 0; i < n; i++)  /* not strv_free: a rejected item left a NULL hole */
                free(argv[i]);
        free(argv);
        remember_bad(x, path);          /* the list as a whole was not taken either */
}

static void walk_section(struct ctx *x, const struct key_def *defs, size_t n, const yaml_node_t *map,
                         const char *path, struct config_mark where);
static void parse_sites(struct ctx *x, const struct key_def *d, const yaml_node_t *v, const char *path);

/* sites: exactly two mappings, each walked with the site table at that site's offset. */
static void parse_sites(struct ctx *x, const struct key_def *d, const yaml_node_t *v, const char *path) {
        size_t n;

        x->c->sites_form = true;        /* even when broken: the runbook keys are not asked for */
        if (v->type != YAML_SEQUENCE_NODE) {
                value_error(x, v, path, "%s must be a list of the 2 sites (- name: a ...), not %s", path,
                            node_kind(v));
                return;
        }
        n = (size_t) (v->data.sequence.items.top - v->data.sequence.items.start);
        if (n != CONFIG_SITES) {
                value_error(x, v, path, "%s must have exactly 2 entries, the two sites of the pair (it has %zu)",
                            path, n);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const yaml_node_t *item = yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);
                char item_path[KEY_PATH_MAX];

                snprintf(item_path, sizeof item_path, "sites[%u]", (unsigned) i % CONFIG_SITES);
                if (!item)
                        continue;
                record_mark(x, item_path, mark_of(item));
                if (item->type != YAML_MAPPING_NODE) {
                        value_error(x, item, item_path, "%s must be a section of keys (name:, health_url:, "
                                    "nginx_server:, ...), not %s", item_path, node_kind(item));
                        continue;
                }
                x->base = offsetof(struct config, sites[i]);
                walk_section(x, d->children, d->n_children, item, item_path, mark_of(item));
                x->base = 0;
        }
}

/* "health:" with everything commented out (null) is there, with all defaults: reported at its key. */
static void parse_section(struct ctx *x, const struct key_def *d, const yaml_node_t *k, const yaml_node_t *v,
                          const char *path) {
        bool empty = is_null(v);

        if (!empty && v->type != YAML_MAPPING_NODE) {
                value_error(x, v, path, "%s must be a section of keys, not %s", path, node_kind(v));
                return;
        }
        if (d->has_present)
                *(bool *) field(x->c, x->base + d->offset) = true;
        walk_section(x, d->children, d->n_children, empty ? NULL : v, path, mark_of(empty ? k : v));
}

static void parse_value(struct ctx *x, const struct key_def *d, const yaml_node_t *k, const yaml_node_t *v,
                        const char *path) {
        switch (d->type) {
        case KEY_SECTION:
                parse_section(x, d, k, v, path);
                break;
        case KEY_STRING:
                parse_string(x, d, v, path);
                break;
        case KEY_DURATION:
        case KEY_UINT:
        case KEY_SIZE:
                parse_number(x, d, v, path);
                break;
        case KEY_BOOL:
                parse_bool(x, d, v, path);
                break;
        case KEY_ENUM:
                parse_enum(x, d, v, path);
                break;
        case KEY_ARGV:
                parse_argv(x, d, v, path);
                break;
        case KEY_SITES:
                parse_sites(x, d, v, path);
                break;
        }
}

/* Paths are made of the table's own names, so they fit by construction: a longer one is a bug in the table. */
static void join_path(char *buf, size_t size, const char *parent, const char *name) {
        if ((size_t) snprintf(buf, size, "%s%s%s", parent, *parent ? "." : "", name) >= size)
                abort();
}

static const char *section_name(const char *path, char *buf, size_t size) {
        if (*path)
                snprintf(buf, size, "in %s", path);
        else
                snprintf(buf, size, "at the top level");
        return buf;
}

/* Where else in the table a key of this exact name lives, for a key that slipped a level of indentation:
 * *count is incremented per place, the first one is written to `found`. */
static void find_elsewhere(const struct key_def *defs, size_t n, const char *path, const char *name,
                           const char *here, char *found, size_t size, size_t *count) {
        for (size_t i = 0; i < n; i++) {
                char child[KEY_PATH_MAX];

                join_path(child, sizeof child, path, defs[i].name);
                if (strcmp(defs[i].name, name) == 0 && strcmp(path, here) != 0 && (*count)++ == 0)
                        snprintf(found, size, "%s", child);
                if (defs[i].type == KEY_SECTION)
                        find_elsewhere(defs[i].children, defs[i].n_children, child, name, here, found, size, count);
        }
}

static void unknown_key(struct ctx *x, const struct key_def *defs, size_t n, const yaml_node_t *k,
                        const char *path) {
        const char *name = (const char *) k->data.scalar.value, *near = NULL;
        char shown[SHOWN_KEY_MAX + 4], where[KEY_PATH_MAX + 8], elsewhere[KEY_PATH_MAX];
        unsigned best = HINT_DISTANCE_MAX + 1;
        size_t n_elsewhere = 0;

        key_for_message(name, shown);
        section_name(path, where, sizeof where);
        for (size_t i = 0; i < n; i++) {
                unsigned dist = edit_distance(name, defs[i].name);

                if (dist < best) {
                        best = dist;
                        near = defs[i].name;
                }
        }
        if (!near)
                find_elsewhere(top_keys, ELEMENTSOF(top_keys), "", name, path, elsewhere, sizeof elsewhere,
                               &n_elsewhere);
        if (near)
                ctx_add(x, mark_of(k), "unknown key \"%s\" %s (did you mean \"%s\"?)", shown, where, near);
        else if (n_elsewhere == 1)
                ctx_add(x, mark_of(k), "unknown key \"%s\" %s (did you mean %s? check the indentation)", shown,
                        where, elsewhere);
        else
                ctx_add(x, mark_of(k), "unknown key \"%s\" %s", shown, where);
}

static ssize_t find_key(const struct key_def *defs, size_t n, const yaml_node_t *k) {
        const char *name = (const char *) k->data.scalar.value;

        if (strlen(name) != k->data.scalar.length)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (strcmp(defs[i].name, name) == 0)
                        return (ssize_t) i;
        return -1;
}

static void walk_pair(struct ctx *x, const struct key_def *defs, size_t n, struct config_mark *seen,
                      const yaml_node_pair_t *pair, const char *path) {
        const yaml_node_t *k = yaml_document_get_node(x->doc, pair->key);
        const yaml_node_t *v = yaml_document_get_node(x->doc, pair->value);
        char child[KEY_PATH_MAX], where[KEY_PATH_MAX + 8];
        ssize_t i;

        if (!k || !v)
                return;
        if (k->type != YAML_SCALAR_NODE) {
                ctx_add(x, mark_of(k), "keys %s must be plain words, not %s", section_name(path, where, sizeof where),
                        node_kind(k));
                return;
        }
        i = find_key(defs, n, k);
        if (i < 0) {
                unknown_key(x, defs, n, k, path);
                return;
        }
        join_path(child, sizeof child, path, defs[i].name);
        if (seen[i].line > 0) {
                ctx_add(x, mark_of(k), "duplicate key %s (first set at %u:%u)", child, seen[i].line, seen[i].col);
                return;
        }
        seen[i] = mark_of(k);
        record_mark(x, child, seen[i]);
        parse_value(x, &defs[i], k, v, child);
}

static void defer_missing(struct ctx *x, const char *path, struct config_mark where, const struct key_def *d) {
        struct missing *m = reallocarray(x->missing, x->n_missing + 1, sizeof(*m));

        if (!m) {
                x->oom = true;
                return;
        }
        x->missing = m;
        m[x->n_missing] = (struct missing) { .path = strdup(path), .where = where, .def = d };
        if (m[x->n_missing].path)
                x->n_missing++;
        else
                x->oom = true;
}

/* Keys of a section that were not given: those that are or may be required are noted with `where` (the
 * section, or the nearest enclosing one that is in the file), to be judged once every key is read.
 * seen == NULL: the whole section is absent. An absent optional section requires nothing. */
static void report_missing(struct ctx *x, const struct key_def *defs, size_t n, const struct config_mark *seen,
                           const char *path, struct config_mark where) {
        for (size_t i = 0; i < n; i++) {
                char child[KEY_PATH_MAX];

                if (seen && seen[i].line > 0)
                        continue;
                join_path(child, sizeof child, path, defs[i].name);
                if (defs[i].type == KEY_SECTION && !defs[i].optional)
                        report_missing(x, defs[i].children, defs[i].n_children, NULL, child, where);
                else if (defs[i].required || defs[i].needed)
                        defer_missing(x, child, where, &defs[i]);
        }
}

/* In the order they were noted, which is file order per section, as the walk goes. */
static void judge_missing(struct ctx *x) {
        for (size_t i = 0; i < x->n_missing; i++) {
                const struct missing *m = &x->missing[i];
                const char *why = m->def->required ? "" : m->def->needed(x);

                if (why)
                        ctx_add(x, m->where, "missing required key %s%s", m->path, why);
        }
}

/* map == NULL: the section is there but empty. */
static void walk_section(struct ctx *x, const struct key_def *defs, size_t n, const yaml_node_t *map,
                         const char *path, struct config_mark where) {
        struct config_mark seen[SECTION_KEYS_MAX] = {};

        assert(n <= SECTION_KEYS_MAX);
        if (map)
                for (const yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
                        walk_pair(x, defs, n, seen, p, path);
        report_missing(x, defs, n, seen, path, where);
}

/* ------------------------------------------------------------------ checks across keys */

/* At the key's mark when it is in the file, else at the other's. */
static struct config_mark mark_either(const struct config *c, const char *key, const char *other) {
        struct config_mark m = config_mark_of(c, key);

        return m.line > 0 ? m : config_mark_of(c, other);
}

static bool same_string(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static const char *needed_in_runbook_form(const struct ctx *x) {
        return x->c->sites_form ? NULL : "";
}

static const char *needed_in_sites_form(const struct ctx *x) {
        return x->c->sites_form ? " (with sites:, the name of the site that serves first)" : NULL;
}

static const char *needed_by_trigger_file(const struct ctx *x) {
        if (x->c->sites_form)
                return NULL;    /* the sites carry their own ssh and trigger file */
        if (is_bad(x, "failover.promote.method") || x->c->promote.method != CONFIG_PROMOTE_TRIGGER_FILE)
                return NULL;
        if (config_mark_of(x->c, "failover.promote.method").line == 0)
                return "";      /* the default: the message reads as it did before there was a choice */
        return " (failover.promote.method is trigger_file)";
}

/* An alerts: section needs somewhere to send them: webhook_url, alertmanager_url, or both. */
static const char *needed_without_alertmanager(const struct ctx *x) {
        if (x->c->alerts.n_alertmanager_urls > 0 || is_bad(x, "alerts.alertmanager_url"))
                return NULL;
        return " (or alerts.alertmanager_url)";
}

static void cross_check_health(struct ctx *x) {
        const struct config *c = x->c;
        char t[32], i[32];

        if (!is_bad(x, "health.interval") && !is_bad(x, "health.timeout") &&
            c->health.timeout_usec > c->health.interval_usec)
                ctx_add(x, mark_either(c, "health.timeout", "health.interval"),
                        "health.timeout (%s) must not exceed health.interval (%s)",
                        format_duration(c->health.timeout_usec, t, sizeof t),
                        format_duration(c->health.interval_usec, i, sizeof i));
        /* 0: not given (the file can't say 0), so it follows interval */
        if (!is_bad(x, "health.interval") && c->health.fast_interval_usec > c->health.interval_usec)
                ctx_add(x, mark_either(c, "health.fast_interval", "health.interval"),
                        "health.fast_interval (%s) must not exceed health.interval (%s)",
                        format_duration(c->health.fast_interval_usec, t, sizeof t),
                        format_duration(c->health.interval_usec, i, sizeof i));
}

static void cross_check_promote(struct ctx *x) {
        const struct config *c = x->c;

        if (c->promote.method == CONFIG_PROMOTE_PG_PROMOTE && !c->database.present && !is_bad(x, "database") &&
            !c->sites_form)     /* the sites form: sites_check_promote */
                ctx_add(x, config_mark_of(c, "failover.promote.method"),
                        "failover.promote.method pg_promote needs database.standby "
                        "(add a database: section with the standby's conninfo)");
        /* conninfo strings may hold passwords: name the keys, never the values */
        if (same_string(c->database.standby, c->database.primary))
                ctx_add(x, config_mark_of(c, "database.primary"), "database.primary must differ from database.standby");
}

static void sites_check(struct ctx *x);
static void cluster_check(struct ctx *x);

static void cross_check(struct ctx *x) {
        const struct config *c = x->c;

        cross_check_health(x);
        if (same_string(c->active.name, c->standby.name))
                ctx_add(x, config_mark_of(c, "standby.name"), "standby.name must differ from active.name");
        if (same_string(c->active.url, c->standby.url))
                ctx_add(x, config_mark_of(c, "standby.url"),
                        "standby.url must differ from active.url (both would check the same server)");
        if (same_string(c->nginx.active_server, c->nginx.standby_server))
                ctx_add(x, config_mark_of(c, "failover.nginx.standby_server"),
                        "failover.nginx.standby_server must differ from failover.nginx.active_server");
        cross_check_promote(x);
        sites_check(x);
        cluster_check(x);
}

/* ------------------------------------------------------------------ the sites form */

/* With sites:, these runbook keys describe one role, not one site: each is refused with the key to write. */
static const struct { const char *key, *instead; } runbook_only_keys[] = {
        { "active", "sites[N].name and sites[N].health_url (and serves_first)" },
        { "standby", "sites[N].name and sites[N].health_url" },
        { "failover.nginx.active_server", "sites[N].nginx_server" },
        { "failover.nginx.standby_server", "sites[N].nginx_server" },
        { "database.primary", "sites[N].database.conninfo" },
        { "database.standby", "sites[N].database.conninfo" },
        { "failover.promote.ssh", "sites[N].database.ssh" },
        { "failover.promote.trigger_file", "sites[N].database.trigger_file" },
        { "failover.standby_stack", "sites[N].stack.start" },
};

/* And these go only with sites:. */
static const char *const sites_only_keys[] = { "serves_first", "switchover", "rejoin" };

static void sites_check_form_keys(struct ctx *x) {
        const struct config *c = x->c;

        for (size_t i = 0; c->sites_form && i < ELEMENTSOF(runbook_only_keys); i++) {
                struct config_mark m = config_mark_of(c, runbook_only_keys[i].key);

                if (m.line > 0)
                        ctx_add(x, m, "%s is the runbook form's key and does not go with sites:: write %s instead "
                                "(blfailoverd.yml(5) \"Sites\")", runbook_only_keys[i].key, runbook_only_keys[i].instead);
        }
        for (size_t i = 0; !c->sites_form && i < ELEMENTSOF(sites_only_keys); i++) {
                struct config_mark m = config_mark_of(c, sites_only_keys[i]);

                if (m.line > 0)
                        ctx_add(x, m, "%s goes with the sites form: describe the pair under sites: "
                                "(blfailoverd.yml(5) \"Sites\"), or remove %s", sites_only_keys[i], sites_only_keys[i]);
        }
}

/* Two sites' values that must differ (names, URLs, nginx servers, conninfo: never quoted, may hold passwords). */
static void sites_check_distinct(struct ctx *x, const char *key, const char *a, const char *b) {
        char path[KEY_PATH_MAX], first[KEY_PATH_MAX];

        if (!same_string(a, b))
                return;
        snprintf(path, sizeof path, "sites[1].%s", key);
        snprintf(first, sizeof first, "sites[0].%s", key);
        ctx_add(x, config_mark_of(x->c, path), "%s must differ from %s", path, first);
}

static void sites_check_database(struct ctx *x) {
        const struct config *c = x->c;
        char path[KEY_PATH_MAX];

        if (c->sites[0].database.present != c->sites[1].database.present) {
                unsigned with = c->sites[0].database.present ? 0 : 1;

                snprintf(path, sizeof path, "sites[%u].database", with);
                ctx_add(x, config_mark_of(c, path), "%s is given but sites[%u].database is not: both sites have a "
                        "database, or neither (add sites[%u].database, or remove this one)", path, 1 - with, 1 - with);
        }
        /* Without conninfo the database gates are off, as in the runbook form without database:; with one only,
         * they would turn on and off with the roles. */
        if (c->sites[0].database.present && c->sites[1].database.present &&
            !c->sites[0].database.conninfo != !c->sites[1].database.conninfo && !is_bad(x, "sites[0].database.conninfo") &&
            !is_bad(x, "sites[1].database.conninfo")) {
                unsigned with = c->sites[0].database.conninfo ? 0 : 1;

                snprintf(path, sizeof path, "sites[%u].database", 1 - with);
                ctx_add(x, config_mark_of(c, path), "missing key %s.conninfo: sites[%u].database.conninfo is set, "
                        "and both sites have one or neither", path, with);
        }
        sites_check_distinct(x, "database.conninfo", c->sites[0].database.conninfo, c->sites[1].database.conninfo);
}

static void sites_check_promote(struct ctx *x) {
        const struct config *c = x->c;
        char path[KEY_PATH_MAX];

        if (is_bad(x, "failover.promote.method"))
                return;
        if (c->promote.method == CONFIG_PROMOTE_PG_PROMOTE) {
                if (!c->sites[0].database.conninfo && !c->sites[1].database.conninfo &&
                    !is_bad(x, "sites[0].database.conninfo") && !is_bad(x, "sites[1].database.conninfo"))
                        ctx_add(x, mark_either(c, "failover.promote.method", "sites"),
                                "failover.promote.method pg_promote (the default with sites:) needs each site's "
                                "database: add sites[0].database.conninfo and sites[1].database.conninfo");
                return;
        }
        for (unsigned i = 0; i < CONFIG_SITES; i++) {
                const struct config_site_database *db = &c->sites[i].database;

                snprintf(path, sizeof path, "sites[%u]", i);
                if (!db->ssh.host)
                        ctx_add(x, config_mark_of(c, path), "failover.promote.method trigger_file needs "
                                "sites[%u].database.ssh.host (the host the trigger file is created on)", i);
                if (!db->trigger_file)
                        ctx_add(x, config_mark_of(c, path), "failover.promote.method trigger_file needs "
                                "sites[%u].database.trigger_file", i);
        }
}

/* The mark of the first word of a command that contains `needle`, else of the command. */
static struct config_mark word_mark(const struct config *c, const char *path, char *const *argv, const char *needle) {
        char word[KEY_PATH_MAX + 24];

        for (size_t w = 0; argv[w]; w++)
                if (strstr(argv[w], needle)) {
                        snprintf(word, sizeof word, "%s[%zu]", path, w);
                        return config_mark_of(c, word);
                }
        return config_mark_of(c, path);
}

/* What a checked template may use depends on the site (ssh host, pgdata) and on the command (stack commands
 * are run by the failover too, which knows no epoch, source or WAL range). */
static void sites_check_command(struct ctx *x, unsigned i, const struct site_command *sc) {
        struct config_site *s = &x->c->sites[i];
        const struct config_command *cmd = site_command(s, sc);
        struct template_needs needs;
        char path[KEY_PATH_MAX], err[TEMPLATE_ERR_MAX];

        snprintf(path, sizeof path, "sites[%u].%s.command", i, sc->key);
        if (!cmd->argv || template_check(cmd->argv, &needs, NULL, err, sizeof err) < 0)
                return;
        if (needs.ssh && !s->database.ssh.host)
                ctx_add(x, word_mark(x->c, path, cmd->argv, "{ssh}"), "%s uses {ssh}, but sites[%u].database.ssh.host "
                        "is not set: add it, or run the command here (without {ssh})", path, i);
        if (needs.pgdata && !s->database.pgdata)
                ctx_add(x, word_mark(x->c, path, cmd->argv, "{pgdata}"), "%s uses {pgdata}: set "
                        "sites[%u].database.pgdata", path, i);
        if (!sc->def && (needs.source || needs.tli || needs.from || needs.epoch)) {
                const char *which = needs.source ? "{source}" : needs.tli ? "{tli}" : needs.from ? "{from}" : "{epoch}";

                ctx_add(x, word_mark(x->c, path, cmd->argv, which), "%s uses %s, which only database commands have: "
                        "stack commands take {site} {role} {pgdata} {bindir} and {ssh}", path, which);
        }
}

static void sites_check_serves_first(struct ctx *x) {
        struct config *c = x->c;
        int i;

        if (!c->serves_first_name || is_bad(x, "serves_first"))
                return;
        i = config_site_index(c, c->serves_first_name);
        if (i < 0)
                ctx_add(x, config_mark_of(c, "serves_first"), "serves_first \"%s\" names no site: use %s or %s",
                        c->serves_first_name, c->sites[0].name ? c->sites[0].name : "sites[0].name",
                        c->sites[1].name ? c->sites[1].name : "sites[1].name");
        else
                c->serves_first = (unsigned) i;
}

static void sites_check(struct ctx *x) {
        const struct config *c = x->c;

        sites_check_form_keys(x);
        if (!c->sites_form || is_bad(x, "sites"))
                return;
        sites_check_distinct(x, "name", c->sites[0].name, c->sites[1].name);
        sites_check_distinct(x, "health_url", c->sites[0].health_url, c->sites[1].health_url);
        sites_check_distinct(x, "nginx_server", c->sites[0].nginx_server, c->sites[1].nginx_server);
        sites_check_database(x);
        sites_check_promote(x);
        sites_check_serves_first(x);
        for (unsigned i = 0; i < CONFIG_SITES; i++)
                for (size_t k = 0; k < ELEMENTSOF(site_commands); k++)
                        sites_check_command(x, i, &site_commands[k]);
}

/* ------------------------------------------------------------------ cluster: */

__attribute__((format(printf, 3, 4)))
static void ctx_warn(struct ctx *x, struct config_mark m, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (errors_addv(&x->c->warnings, m.line, m.col, fmt, ap) < 0)
                x->oom = true;
        va_end(ap);
}

static bool cluster_has_member(const struct config_cluster *k, const char *name) {
        for (size_t i = 0; i < k->n_members; i++)
                if (strcmp(k->members[i], name) == 0)
                        return true;
        return false;
}

/* The short host name: what `hostname -s` prints, and what each member is most likely listed as. */
static void cluster_default_name(struct ctx *x) {
        char host[HOST_NAME_MAX + 1] = "";

        if (gethostname(host, sizeof host) < 0 || !*host) {
                ctx_add(x, config_mark_of(x->c, "cluster"), "cluster.name is not set and the host name cannot be "
                        "read: set cluster.name");
                return;
        }
        host[sizeof host - 1] = '\0';
        host[strcspn(host, ".")] = '\0';
        if (check_member(host)) {
                ctx_add(x, config_mark_of(x->c, "cluster"), "cluster.name is not set and the host name is not a "
                        "valid member name (%s): set cluster.name", check_member(host));
                return;
        }
        if (store_string(x->c, OFF(cluster.name), host) < 0)
                x->oom = true;
}

static void cluster_check_name(struct ctx *x) {
        struct config_cluster *k = &x->c->cluster;
        bool given = config_mark_of(x->c, "cluster.name").line > 0;

        if (!given)
                cluster_default_name(x);
        if (!k->name || !k->members || cluster_has_member(k, k->name))
                return;
        if (given)
                ctx_add(x, config_mark_of(x->c, "cluster.name"), "cluster.name %s is not in cluster.members: add it "
                        "there, or set cluster.name to this monitor's name", k->name);
        else
                ctx_add(x, config_mark_of(x->c, "cluster.members"), "cluster.name defaults to the host name %s, "
                        "which is not in cluster.members: set cluster.name, or add %s to cluster.members", k->name,
                        k->name);
}

/* The quorum is ⌊n/2⌋+1 of these: a duplicate would count one monitor twice. */
static void cluster_check_members(struct ctx *x) {
        const struct config_cluster *k = &x->c->cluster;
        char item[KEY_PATH_MAX];

        if (!k->members)
                return;
        if (k->n_members > CONFIG_CLUSTER_MEMBERS_MAX) {
                ctx_add(x, config_mark_of(x->c, "cluster.members"), "cluster.members has %zu names; at most %d",
                        k->n_members, CONFIG_CLUSTER_MEMBERS_MAX);
                return;
        }
        for (size_t i = 1; i < k->n_members; i++)
                for (size_t j = 0; j < i; j++) {
                        if (strcmp(k->members[i], k->members[j]) != 0)
                                continue;
                        snprintf(item, sizeof item, "cluster.members[%zu]", i);
                        ctx_add(x, config_mark_of(x->c, item), "%s repeats %s (cluster.members[%zu]): each monitor "
                                "is listed once", item, k->members[i], j);
                        break;
                }
        if (k->n_members == 2)
                ctx_warn(x, config_mark_of(x->c, "cluster.members"), "2 members: both must agree; the loss of one "
                         "monitor stops automatic failover");
        else if (k->n_members % 2 == 0)
                ctx_warn(x, config_mark_of(x->c, "cluster.members"), "%zu members: %zu must agree; the loss of %zu "
                         "monitors stops automatic failover, as with %zu members (use an odd number)", k->n_members,
                         k->n_members / 2 + 1, k->n_members / 2, k->n_members - 1);
}

/* Whole seconds: etcd grants leases in seconds. timeout ≤ lease_ttl/4 keeps a hung endpoint and a retry within
 * the keep-alive margin (docs/design/cluster.md §5). */
static void cluster_check_timing(struct ctx *x) {
        struct config_cluster *k = &x->c->cluster;
        uint64_t quarter = k->lease_ttl_usec / 4;
        char t[32], l[32], q[32];

        if (is_bad(x, "cluster.lease_ttl"))
                return;
        if (k->lease_ttl_usec % USEC_PER_SEC != 0) {
                ctx_add(x, config_mark_of(x->c, "cluster.lease_ttl"), "cluster.lease_ttl must be whole seconds "
                        "(etcd grants leases in seconds): write 10s, not %s",
                        format_duration(k->lease_ttl_usec, l, sizeof l));
                return;
        }
        if (k->timeout_usec == 0 && !is_bad(x, "cluster.timeout"))     /* not given: the file can't say 0 */
                k->timeout_usec = quarter < ETCD_TIMEOUT_DEFAULT_USEC ? quarter : ETCD_TIMEOUT_DEFAULT_USEC;
        else if (k->timeout_usec > quarter)
                ctx_add(x, config_mark_of(x->c, "cluster.timeout"), "cluster.timeout (%s) must be at most a quarter "
                        "of cluster.lease_ttl (%s): %s", format_duration(k->timeout_usec, t, sizeof t),
                        format_duration(k->lease_ttl_usec, l, sizeof l), format_duration(quarter, q, sizeof q));
}

/* The pair's name, the same from either site's point of view: the two site names sorted, joined by "+". */
static void cluster_default_prefix(struct ctx *x) {
        struct config *c = x->c;
        const char *a = c->sites_form ? c->sites[0].name : c->active.name;
        const char *b = c->sites_form ? c->sites[1].name : c->standby.name;
        _cleanup_free_ char *prefix = NULL;

        if (!a || !b)
                return;         /* reported as missing */
        if (strcmp(a, b) > 0) {
                const char *t = a;
                a = b;
                b = t;
        }
        if (asprintf(&prefix, "/blfailoverd/%s+%s", a, b) < 0) {
                x->oom = true;
                return;
        }
        if (check_etcd_prefix(prefix)) {
                ctx_add(x, config_mark_of(c, "cluster"), "cluster.prefix is not set, and the default made of the "
                        "site names %s: set cluster.prefix", check_etcd_prefix(prefix));
                return;
        }
        c->cluster.prefix = prefix;
        prefix = NULL;
}

static bool is_http(const char *url) {
        return strncasecmp(url, "http://", 7) == 0;
}

static void cluster_check_endpoints(struct ctx *x) {
        const struct config_cluster *k = &x->c->cluster;
        const char *tls = k->ca_file ? "ca_file" : k->cert_file ? "cert_file" : k->key_file ? "key_file" : NULL;
        char item[KEY_PATH_MAX];
        bool warned = false;

        if (!k->endpoints)
                return;
        if (k->n_endpoints > CONFIG_ETCD_ENDPOINTS_MAX) {
                ctx_add(x, config_mark_of(x->c, "cluster.etcd.endpoints"), "cluster.etcd.endpoints has %zu URLs; "
                        "at most %d", k->n_endpoints, CONFIG_ETCD_ENDPOINTS_MAX);
                return;
        }
        for (size_t i = 0; i < k->n_endpoints; i++) {
                if (!is_http(k->endpoints[i]))
                        continue;
                snprintf(item, sizeof item, "cluster.etcd.endpoints[%zu]", i);
                if (tls)
                        ctx_add(x, config_mark_of(x->c, item), "%s is http://, but cluster.etcd.%s is set: TLS "
                                "files need https:// endpoints", item, tls);
                else if (k->user && !warned) {
                        ctx_warn(x, config_mark_of(x->c, item), "%s is http:// and cluster.etcd.user is set: the "
                                 "password travels in clear; use https://", item);
                        warned = true;
                }
        }
}

/* Two keys that go together: the one given is reported, naming the other. */
static void cluster_check_pair(struct ctx *x, const char *a, const char *va, const char *b, const char *vb) {
        char key[KEY_PATH_MAX];

        if (!va == !vb || is_bad(x, a) || is_bad(x, b))
                return;
        snprintf(key, sizeof key, "%s", va ? a : b);
        ctx_add(x, config_mark_of(x->c, key), "%s needs %s (both or neither)", key, va ? b : a);
}

static void cluster_check_readable(struct ctx *x, const char *key, const char *path) {
        int fd;

        if (!path)
                return;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                ctx_add(x, config_mark_of(x->c, key), "%s: cannot read %s: %s", key, path, strerror(errno));
        else
                close(fd);
}

/* The first line of the password file, without its newline: NULL and *ret_why (a phrase), or the copy. */
static char *password_line(const char *buf, size_t n, const char **ret_why) {
        const char *nl = memchr(buf, '\n', n);
        size_t len = nl ? (size_t) (nl - buf) : n;
        char *copy;

        *ret_why = len == 0 ? "is empty (the password is its first line)"
                   : len > ETCD_PASSWORD_MAX ? "has a first line longer than 256 bytes (the password)"
                   : memchr(buf, '\0', len) ? "contains a NUL byte" : NULL;
        if (*ret_why)
                return NULL;
        copy = strndup(buf, len);
        if (!copy)
                *ret_why = "";  /* ENOMEM */
        return copy;
}

/* Reads the password at load: a reload sees a changed one, and -t says when it can't be read. */
static void cluster_read_password(struct ctx *x) {
        const char *path = x->c->cluster.password_file, *why = NULL;
        struct config_mark m = config_mark_of(x->c, "cluster.etcd.password_file");
        char buf[ETCD_PASSWORD_MAX + 2];        /* a line of the maximum and its newline, or one byte more */
        size_t n = 0;
        struct stat st;
        int fd;

        if (!path || is_bad(x, "cluster.etcd.password_file"))
                return;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0) {
                ctx_add(x, m, "cluster.etcd.password_file: cannot read %s: %s", path, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return;
        }
        if (!S_ISREG(st.st_mode))
                why = "is not a regular file";
        while (!why && n < sizeof buf) {
                ssize_t r = read(fd, buf + n, sizeof buf - n);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        why = r < 0 ? strerror(errno) : NULL;
                        break;
                }
                n += (size_t) r;
        }
        close(fd);
        if (!why)
                x->c->cluster.password = password_line(buf, n, &why);
        explicit_bzero(buf, sizeof buf);
        if (why && !*why)
                x->oom = true;
        else if (why)
                ctx_add(x, m, "cluster.etcd.password_file %s %s", path, why);
        else if (st.st_mode & (S_IRGRP | S_IROTH))
                ctx_warn(x, m, "cluster.etcd.password_file %s is readable by group or others (mode %04o): chmod 600 "
                         "%s", path, (unsigned) (st.st_mode & 07777), path);
}

static void cluster_check_auth(struct ctx *x) {
        const struct config_cluster *k = &x->c->cluster;

        cluster_check_pair(x, "cluster.etcd.cert_file", k->cert_file, "cluster.etcd.key_file", k->key_file);
        cluster_check_pair(x, "cluster.etcd.user", k->user, "cluster.etcd.password_file", k->password_file);
        cluster_check_readable(x, "cluster.etcd.ca_file", k->ca_file);
        cluster_check_readable(x, "cluster.etcd.cert_file", k->cert_file);
        cluster_check_readable(x, "cluster.etcd.key_file", k->key_file);
        if (k->user)
                cluster_read_password(x);
}

/* cluster: goes with either form of the pair. */
static void cluster_check(struct ctx *x) {
        if (!x->c->cluster.enabled || is_bad(x, "cluster"))
                return;
        cluster_check_name(x);
        cluster_check_members(x);
        cluster_check_timing(x);
        if (!x->c->cluster.prefix && config_mark_of(x->c, "cluster.prefix").line == 0)
                cluster_default_prefix(x);
        cluster_check_endpoints(x);
        cluster_check_auth(x);
}

int config_cluster_restart_needed(const struct config *old, const struct config *fresh, char *why, size_t size) {
        const struct config_cluster *a = &old->cluster, *b = &fresh->cluster;
        char x[32], y[32];

        if (a->enabled != b->enabled)
                snprintf(why, size, "cluster: was %s", b->enabled ? "added" : "removed");
        else if (!a->enabled)
                return 0;
        else if (!same_string(a->name, b->name))
                snprintf(why, size, "cluster.name changed from %s to %s", a->name, b->name);
        else if (!same_string(a->prefix, b->prefix))
                snprintf(why, size, "cluster.prefix changed from %s to %s", a->prefix, b->prefix);
        else if (a->lease_ttl_usec != b->lease_ttl_usec) {
                snprintf(why, size, "cluster.lease_ttl changed from %s to %s",
                         format_duration(a->lease_ttl_usec, x, sizeof x), format_duration(b->lease_ttl_usec, y, sizeof y));
        } else
                return 0;
        return 1;
}

void config_warnings_print(const struct config *c, FILE *out) {
        for (size_t i = 0; c && i < c->warnings.n; i++) {
                const struct config_error *w = &c->warnings.items[i];

                if (w->line > 0)
                        fprintf(out, "%s:%u:%u: warning: %s\n", c->path, w->line, w->col, w->message);
                else
                        fprintf(out, "%s: warning: %s\n", c->path, w->message);
        }
}

/* The default argv of a database command, {ssh} first when the site has an ssh host. */
static int site_default_command(struct config_site *s, const struct site_command *sc) {
        struct config_command *cmd = site_command(s, sc);
        bool ssh = s->database.ssh.host != NULL;
        size_t n = strv_length((char *const *) sc->def);
        char **argv = calloc(n + 2, sizeof(char *));

        if (!argv)
                return -ENOMEM;
        if (ssh && !(argv[0] = strdup("{ssh}")))
                goto oom;
        for (size_t w = 0; w < n; w++)
                if (!(argv[w + ssh] = strdup(sc->def[w])))
                        goto oom;
        cmd->argv = argv;
        cmd->argc = n + ssh;
        return 0;
oom:
        strv_free(argv);
        return -ENOMEM;
}

/* Filled after the checks: application_name follows the name; the default commands need pgdata. */
static int sites_derive(struct config *c) {
        for (unsigned i = 0; i < CONFIG_SITES; i++) {
                struct config_site *s = &c->sites[i];

                if (!s->database.present)
                        continue;
                if (!s->database.application_name && !(s->database.application_name = strdup(s->name)))
                        return -ENOMEM;
                for (size_t k = 0; s->database.pgdata && k < ELEMENTSOF(site_commands); k++) {
                        int r = 0;

                        if (site_commands[k].def && !site_command(s, &site_commands[k])->argv)
                                r = site_default_command(s, &site_commands[k]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int dup_or_null(char **dst, const char *src) {
        free(*dst);
        *dst = src ? strdup(src) : NULL;
        return src && !*dst ? -ENOMEM : 0;
}

static int ssh_copy(struct config_ssh *dst, const struct config_ssh *src) {
        struct config_ssh n = { .port = src->port, .n_options = src->n_options };

        n.options = strv_copy(src->options ? src->options : (char *[]) { NULL });
        if (!n.options || dup_or_null(&n.host, src->host) < 0 || dup_or_null(&n.user, src->user) < 0 ||
            dup_or_null(&n.identity_file, src->identity_file) < 0) {
                free(n.host);
                free(n.user);
                strv_free(n.options);
                return -ENOMEM;
        }
        *dst = n;
        return 0;
}

static int command_copy(struct config_command *dst, const struct config_command *src) {
        char **argv = src->argv ? strv_copy(src->argv) : NULL;

        if (src->argv && !argv)
                return -ENOMEM;
        strv_free(dst->argv);
        *dst = (struct config_command) { .argv = argv, .argc = src->argc, .timeout_usec = src->timeout_usec };
        return 0;
}

/* design §1.2: the runbook form read as sites — sites[0] the active, sites[1] the standby, the active serves
 * first. Only what the runbook says is filled; the rest keeps its defaults (no pgdata: no default commands). */
static int sites_from_runbook(struct config *c) {
        struct config_site *a = &c->sites[0], *b = &c->sites[1];
        int r = 0;

        r = r < 0 ? r : dup_or_null(&a->name, c->active.name);
        r = r < 0 ? r : dup_or_null(&a->health_url, c->active.url);
        r = r < 0 ? r : dup_or_null(&a->nginx_server, c->nginx.active_server);
        r = r < 0 ? r : dup_or_null(&a->database.conninfo, c->database.primary);
        r = r < 0 ? r : dup_or_null(&b->name, c->standby.name);
        r = r < 0 ? r : dup_or_null(&b->health_url, c->standby.url);
        r = r < 0 ? r : dup_or_null(&b->nginx_server, c->nginx.standby_server);
        r = r < 0 ? r : dup_or_null(&b->database.conninfo, c->database.standby);
        r = r < 0 ? r : dup_or_null(&b->database.trigger_file, c->promote.trigger_file);
        if (r < 0)
                return r;
        ssh_done(&b->database.ssh);
        r = ssh_copy(&b->database.ssh, &c->promote.ssh);
        if (r < 0)
                return r;
        a->database.present = a->database.conninfo != NULL;
        b->database.present = b->database.conninfo != NULL;
        c->serves_first = 0;
        return command_copy(&b->stack_start, &c->standby_stack);
}

/* The command that starts `s`'s stack as the new active, as the failover runs it: expanded (sites form), or
 * the runbook's standby_stack word for word (its braces were never placeholders). */
/* A site command as the failover runs it from the runtime fields (standby_stack, promote_command): expanded with
 * the site's variables, {role} = active (the site is taking over). The runbook form's stack command is copied word
 * for word: braces there were never placeholders. */
static int expand_for_failover(const struct config *c, const struct config_site *s, const struct config_command *cmd,
                               struct config_command *ret) {
        struct template_vars v = {
                .ssh = s->database.ssh.host ? &s->database.ssh : NULL, .ssh_timeout_usec = c->promote.timeout_usec,
                .pgdata = s->database.pgdata, .bindir = s->database.bindir, .site = s->name, .role = "active",
        };
        char err[TEMPLATE_ERR_MAX];
        char **argv = NULL;
        int r;

        if (!c->sites_form || !cmd->argv)
                return command_copy(ret, cmd);
        r = template_expand(cmd->argv, &v, &argv, err, sizeof err);
        if (r < 0)
                return r;
        *ret = (struct config_command) { .argv = argv, .argc = strv_length(argv), .timeout_usec = cmd->timeout_usec };
        return 0;
}

struct roles {
        struct config_endpoint active, standby;
        char *active_server, *standby_server, *primary, *standby_db, *trigger_file;
        struct config_ssh ssh;
        struct config_command stack;
        struct config_command promote;
};

static void roles_done(struct roles *r) {
        free(r->active.name);
        free(r->active.url);
        free(r->standby.name);
        free(r->standby.url);
        free(r->active_server);
        free(r->standby_server);
        free(r->primary);
        free(r->standby_db);
        free(r->trigger_file);
        ssh_done(&r->ssh);
        strv_free(r->stack.argv);
        strv_free(r->promote.argv);
}

static int roles_build(const struct config *c, const struct config_site *s, const struct config_site *t,
                       struct roles *n) {
        int r = 0;

        r = r < 0 ? r : dup_or_null(&n->active.name, s->name);
        r = r < 0 ? r : dup_or_null(&n->active.url, s->health_url);
        r = r < 0 ? r : dup_or_null(&n->standby.name, t->name);
        r = r < 0 ? r : dup_or_null(&n->standby.url, t->health_url);
        r = r < 0 ? r : dup_or_null(&n->active_server, s->nginx_server);
        r = r < 0 ? r : dup_or_null(&n->standby_server, t->nginx_server);
        r = r < 0 ? r : dup_or_null(&n->primary, s->database.conninfo);
        r = r < 0 ? r : dup_or_null(&n->standby_db, t->database.conninfo);
        r = r < 0 ? r : dup_or_null(&n->trigger_file, t->database.trigger_file);
        r = r < 0 ? r : ssh_copy(&n->ssh, &t->database.ssh);
        /* a site's own promote command (a database in a compose stack) replaces failover.promote.method */
        r = r < 0 ? r : expand_for_failover(c, t, &t->database.commands.promote, &n->promote);
        return r < 0 ? r : expand_for_failover(c, t, &t->stack_start, &n->stack);
}

/* Built aside, then swapped in: a failure leaves the config as it was. */
int config_apply_roles(struct config *c, unsigned serving) {
        struct roles n = {}, old;
        int r;

        if (!c || serving >= CONFIG_SITES)
                return -EINVAL;
        r = roles_build(c, &c->sites[serving], &c->sites[1 - serving], &n);
        if (r < 0) {
                roles_done(&n);
                return r;
        }
        old = (struct roles) { c->active, c->standby, c->nginx.active_server, c->nginx.standby_server,
                               c->database.primary, c->database.standby, c->promote.trigger_file, c->promote.ssh,
                               c->standby_stack, c->promote_command };
        c->active = n.active;
        c->standby = n.standby;
        c->nginx.active_server = n.active_server;
        c->nginx.standby_server = n.standby_server;
        c->database.primary = n.primary;
        c->database.standby = n.standby_db;
        c->promote.trigger_file = n.trigger_file;
        c->promote.ssh = n.ssh;
        c->standby_stack = n.stack;
        c->promote_command = n.promote;
        /* The gates that need the standby's database: on when it has one (the runbook form: database:). */
        c->database.present = n.standby_db != NULL;
        c->serving = serving;
        roles_done(&old);
        return 0;
}

/* Values that follow others: filled after the checks, so that those see what the file said. */
static void derive(struct config *c) {
        c->nginx.test_command.timeout_usec = c->nginx.timeout_usec;
        c->nginx.reload_command.timeout_usec = c->nginx.timeout_usec;
        if (c->health.fast_interval_usec == 0)
                c->health.fast_interval_usec = c->health.interval_usec;
}

/* Either form ends with the same runtime fields: the sites (read or mapped), then the roles of the first. */
static int derive_roles(struct config *c) {
        int r = c->sites_form ? sites_derive(c) : sites_from_runbook(c);

        return r < 0 ? r : config_apply_roles(c, c->serves_first);
}

static void walk_root(struct ctx *x) {
        const yaml_node_t *root = yaml_document_get_root_node(x->doc);

        if (!root)
                ctx_add(x, (struct config_mark) {}, "no configuration: the file is empty or has only comments");
        else if (root->type != YAML_MAPPING_NODE)
                ctx_add(x, mark_of(root), "the top level must be a mapping of keys (state_dir:, health:, ...), "
                        "not %s", node_kind(root));
        else
                walk_section(x, top_keys, ELEMENTSOF(top_keys), root, "", (struct config_mark) { 1, 1 });
        /* The sites form's own default, set before the keys that depend on the method are judged. */
        if (x->c->sites_form && config_mark_of(x->c, "failover.promote.method").line == 0)
                x->c->promote.method = CONFIG_PROMOTE_PG_PROMOTE;
        judge_missing(x);
        cross_check(x);
        derive(x->c);
        if (x->n_errors == 0 && !x->oom && derive_roles(x->c) < 0)
                x->oom = true;
}

/* ------------------------------------------------------------------ YAML syntax */

static struct config_mark mark_at_offset(const char *data, size_t size, size_t offset) {
        struct config_mark m = { 1, 1 };

        for (size_t i = 0; i < offset && i < size; i++) {
                if (data[i] == '\n') {
                        m.line++;
                        m.col = 1;
                } else
                        m.col++;
        }
        return m;
}

/* Whether libyaml stopped at a tab in the indentation of its line (0-based line and column of the mark). libyaml
 * then says "found character that cannot start any token" or "a tab character that violates indentation",
 * neither of which tells the user the fix. Columns count characters: before the tab there are only blanks, so
 * there they are bytes too. */
static bool tab_in_indentation(const char *data, size_t size, size_t line, size_t col) {
        size_t i = 0;

        for (size_t l = 0; l < line; l++) {
                const char *nl = memchr(data + i, '\n', size - i);
                if (!nl)
                        return false;
                i = (size_t) (nl - data) + 1;
        }
        for (size_t k = 0; k < col; k++, i++)
                if (i >= size || (data[i] != ' ' && data[i] != '\t'))
                        return false;
        return i < size && data[i] == '\t';
}

static void syntax_error(struct ctx *x, const yaml_parser_t *p, const char *data, size_t size) {
        const char *problem = p->problem ? p->problem : "unknown error";

        if (p->error == YAML_MEMORY_ERROR)
                x->oom = true;
        else if (p->error == YAML_READER_ERROR)  /* encoding trouble: libyaml gives an offset, not a mark */
                ctx_add(x, mark_at_offset(data, size, p->problem_offset), "invalid input: %s", problem);
        else if (p->error == YAML_SCANNER_ERROR &&
                 tab_in_indentation(data, size, p->problem_mark.line, p->problem_mark.column))
                ctx_add(x, (struct config_mark) { (unsigned) p->problem_mark.line + 1,
                                                  (unsigned) p->problem_mark.column + 1 },
                        "YAML syntax error: a tab at the start of the line: YAML indents with spaces only (replace "
                        "the tab with spaces)");
        else if (p->context)
                ctx_add(x, (struct config_mark) { (unsigned) p->problem_mark.line + 1,
                                                  (unsigned) p->problem_mark.column + 1 },
                        "YAML syntax error: %s (%s at %u:%u)", problem, p->context,
                        (unsigned) p->context_mark.line + 1, (unsigned) p->context_mark.column + 1);
        else
                ctx_add(x, (struct config_mark) { (unsigned) p->problem_mark.line + 1,
                                                  (unsigned) p->problem_mark.column + 1 },
                        "YAML syntax error: %s", problem);
}

/* The first document into *doc; a second document is an error (and parsing it finds any syntax error there).
 * Returns 0 with *doc to be deleted by the caller, or -EINVAL (reported) / -ENOMEM. */
static int yaml_load(struct ctx *x, const char *data, size_t size, yaml_document_t *doc) {
        yaml_parser_t parser;
        yaml_document_t extra;
        int r = 0;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) data, size);
        if (!yaml_parser_load(&parser, doc)) {
                syntax_error(x, &parser, data, size);
                yaml_parser_delete(&parser);
                return x->oom ? -ENOMEM : -EINVAL;
        }
        if (!yaml_parser_load(&parser, &extra)) {
                syntax_error(x, &parser, data, size);
                r = x->oom ? -ENOMEM : -EINVAL;
        } else {
                const yaml_node_t *root = yaml_document_get_root_node(&extra);

                if (root)
                        ctx_add(x, mark_of(root), "only one YAML document is allowed per file");
                yaml_document_delete(&extra);
        }
        yaml_parser_delete(&parser);
        if (r < 0)
                yaml_document_delete(doc);
        return r;
}

/* ------------------------------------------------------------------ loading */

static int parse_into(struct config *c, const char *data, size_t size, struct config_errors *errs) {
        yaml_document_t doc;
        struct ctx x = { .doc = &doc, .c = c, .errs = errs };
        int r;

        r = yaml_load(&x, data, size, &doc);
        if (r == 0) {
                walk_root(&x);
                yaml_document_delete(&doc);
        }
        for (size_t i = 0; i < x.n_bad; i++)
                free(x.bad[i]);
        free(x.bad);
        for (size_t i = 0; i < x.n_missing; i++)
                free(x.missing[i].path);
        free(x.missing);
        if (x.oom || r == -ENOMEM)
                return -ENOMEM;
        return x.n_errors > 0 ? -EINVAL : 0;
}

int config_load_buffer(const char *path, const char *data, size_t size,
                       struct config **ret_config, struct config_errors *errs) {
        struct config_errors discard = {};
        struct config *c = NULL;
        size_t first;
        int r;

        if (!errs)
                errs = &discard;
        if (!errs->file && path)
                errs->file = strdup(path);
        first = errs->n;
        if (size > CONFIG_FILE_SIZE_MAX) {
                config_errors_add(errs, 0, 0, "file is too large (%zu bytes; the limit is %u bytes)", size,
                                  CONFIG_FILE_SIZE_MAX);
                r = -EFBIG;
        } else {
                r = config_new(path, &c);
                if (r >= 0)
                        r = parse_into(c, data ? data : "", data ? size : 0, errs);
        }
        errors_sort_from(errs, first);
        if (r >= 0 && ret_config) {     /* NULL: only validating */
                *ret_config = c;
                c = NULL;
        }
        config_free(c);
        config_errors_done(&discard);
        return r;
}

/* Reads at most CONFIG_FILE_SIZE_MAX + 1 bytes, so that "too large" is seen without reading it all. */
static int read_capped(int fd, char **ret_data, size_t *ret_size) {
        size_t cap = CONFIG_FILE_SIZE_MAX + 1, size = 0;
        _cleanup_free_ char *data = malloc(cap);

        if (!data)
                return -ENOMEM;
        while (size < cap) {
                ssize_t n = read(fd, data + size, cap - size);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        *ret_data = data;
        data = NULL;
        *ret_size = size;
        return 0;
}

int config_load_file(const char *path, struct config **ret_config, struct config_errors *errs) {
        _cleanup_free_ char *data = NULL;
        struct config_errors discard = {};
        size_t size = 0;
        int fd, r;

        if (!errs)
                errs = &discard;
        if (!errs->file)
                errs->file = strdup(path);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                config_errors_add(errs, 0, 0, "cannot open: %s", strerror(-r));
        } else {
                r = read_capped(fd, &data, &size);
                close(fd);
                if (r < 0)
                        config_errors_add(errs, 0, 0, "cannot read: %s", strerror(-r));
                else
                        r = config_load_buffer(path, data, size, ret_config, errs);
        }
        config_errors_done(&discard);
        return r;
}

/* ------------------------------------------------------------------ the sites, for the lifecycle commands */

int config_site_index(const struct config *c, const char *name) {
        for (unsigned i = 0; c && name && i < CONFIG_SITES; i++)
                if (same_string(c->sites[i].name, name))
                        return (int) i;
        return -ENOENT;
}

/* The sentences are static: one per site index and key (CONFIG_SITES is 2). */
#define PER_SITE(what) { "needs sites[0]." what, "needs sites[1]." what }
static const char *const need_database[] = PER_SITE("database.conninfo");
static const char *const need_replication[] = PER_SITE("database.replication_conninfo");
static const char *const need_pgdata[] = PER_SITE("database.pgdata");
static const char *const need_ssh_or_commands[] = PER_SITE("database.commands (or pgdata)");
static const char *const need_stack_start[] = PER_SITE("stack.start");
static const char *const need_stack_stop[] = PER_SITE("stack.stop");
_Static_assert(CONFIG_SITES == 2, "PER_SITE spells out two sites");

/* What a site lacks to be stopped, started, read and rewound onto the other: commands it has (given or
 * defaulted from pgdata), the other site's replication_conninfo. `clone` adds the re-clone's commands. */
static const char *site_missing(const struct config *c, unsigned t, bool clone) {
        size_t n = SITE_COMMANDS_REJOIN + (clone ? 2 : 0);
        const struct config_site *s = &c->sites[t];

        if (!s->database.conninfo)
                return need_database[t];
        if (!c->sites[1 - t].database.replication_conninfo)
                return need_replication[1 - t];
        for (size_t k = 0; k < n; k++) {
                if (!site_command((struct config_site *) s, &site_commands[k])->argv)
                        return s->database.pgdata ? need_ssh_or_commands[t] : need_pgdata[t];
        }
        return s->stack_start.argv ? NULL : need_stack_start[t];
}

const char *config_switchover_missing(const struct config *c) {
        if (!c->sites_form)
                return "needs the sites form (sites:)";
        for (unsigned i = 0; i < CONFIG_SITES; i++) {
                const char *why = site_missing(c, i, false);

                if (why)
                        return why;
                if (!c->sites[i].stack_stop.argv)
                        return need_stack_stop[i];
        }
        return NULL;
}

const char *config_rejoin_missing(const struct config *c, unsigned target) {
        if (!c->sites_form)
                return "needs the sites form (sites:)";
        if (target >= CONFIG_SITES)
                return "names no site";
        return site_missing(c, target, c->rejoin.reclone);
}

/* ------------------------------------------------------------------ the key list, for the documentation test */

static int key_paths_add(char ***v, size_t *n, const struct key_def *defs, size_t count, const char *path) {
        for (size_t i = 0; i < count; i++) {
                char child[KEY_PATH_MAX];
                char **bigger;
                int r = 0;

                join_path(child, sizeof child, path, defs[i].name);
                if (defs[i].type == KEY_SECTION)
                        r = key_paths_add(v, n, defs[i].children, defs[i].n_children, child);
                else if (defs[i].type == KEY_SITES) {
                        strcat(child, "[]");
                        r = key_paths_add(v, n, defs[i].children, defs[i].n_children, child);
                }
                if (r < 0)
                        return r;
                if (defs[i].type == KEY_SECTION || defs[i].type == KEY_SITES)
                        continue;
                bigger = reallocarray(*v, *n + 2, sizeof(char *));
                if (!bigger)
                        return -ENOMEM;
                *v = bigger;
                if (!((*v)[*n] = strdup(child)))
                        return -ENOMEM;
                (*v)[++*n] = NULL;
        }
        return 0;
}

char **config_key_paths(void) {
        char **v = calloc(1, sizeof(char *));
        size_t n = 0;

        if (v && key_paths_add(&v, &n, top_keys, ELEMENTSOF(top_keys), "") < 0) {
                strv_free(v);
                return NULL;
        }
        return v;
}
