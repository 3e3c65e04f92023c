/* status: owns the live view of the running daemon — roles, each endpoint's last check, the failure counters, the
 * standby (and primary) database facts, the held gate — as one plain struct, its small text file in state_dir
 * (serialize/parse are pure; written atomically, without fsync: see status_save), and its two renderings for
 * `--status` (human) and `--status --json` (together with the persisted failover record, state.h).
 * It does not gather anything: the manager fills the struct. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "state.h"

#define STATUS_FILE_NAME "status"
#define STATUS_FILE_MAX (64u * 1024u)

enum status_health {
        STATUS_UNKNOWN,         /* no check finished yet */
        STATUS_UP,
        STATUS_DOWN,
};

const char *status_health_to_string(enum status_health h);     /* "unknown", "up", "down" */

struct status_endpoint {
        char name[128];
        char url[512];                  /* redacted: never carries credentials */
        enum status_health health;
        uint64_t checks;                /* checks finished since the daemon started */
        uint64_t checked_usec;          /* CLOCK_REALTIME when the last check finished; 0: none yet */
        char result[32];                /* health_status_to_string() of the last check: "ok", "timeout", ... */
        long http_code;                 /* 0: no HTTP answer */
        uint64_t latency_usec;
        char error[256];                /* "" when there is nothing to add to `result` */
        unsigned failures;              /* consecutive */
};

struct status_db {
        bool configured;
        bool known;                     /* an answer came back */
        bool reachable;
        bool in_recovery;
        bool receiving;
        uint64_t lag_bytes;             /* received, not yet replayed */
        double lag_seconds;             /* now() - last replayed transaction; < 0: unknown */
        uint64_t checked_usec;          /* CLOCK_REALTIME of the answer */
        char error[256];
};

/* A monitor cluster as this member sees it (docs/design/cluster.md §9, §10); enabled false when standalone. */
#define STATUS_CLUSTER_MEMBERS_MAX 15
struct status_cluster_member {
        char name[64];
        bool seen;                      /* its view is in etcd now */
        bool fresh;                     /* it changed within 2 × health.interval, on this member's clock */
        bool agrees;                    /* fresh, same epoch and active, at or past the threshold */
        bool digest_ok;                 /* same members, threshold, intervals and sites */
        char active_health[16];         /* "up", "down", "unknown" */
        unsigned active_failures;
        char standby_health[16];
        unsigned standby_failures;
        double age_seconds;             /* since its view last changed; -1: never seen */
};
struct status_cluster {
        bool enabled;
        char name[64];                  /* this member */
        char role[16];                  /* "connecting", "follower", "campaigning", "leader", "unavailable" */
        char leader[64];                /* "" none known */
        bool acting;                    /* this member may act now */
        bool etcd_up;                   /* the last request to etcd succeeded */
        double lease_seconds_left;      /* leader: until its acting deadline; -1 otherwise */
        char reason[256];               /* why unavailable or not acting, "" when fine */
        char endpoint[128];             /* the etcd endpoint in use */
        int64_t record_revision;        /* of <prefix>/record when last read; 0 none */
        unsigned agreeing, needed;
        unsigned n_members;
        /* Since start, what this member asked of etcd (metrics only: not in the status file). */
        uint64_t etcd_requests, etcd_bytes_sent, etcd_bytes_received;
        struct status_cluster_member members[STATUS_CLUSTER_MEMBERS_MAX];
};

struct status {
        int pid;
        bool running;                   /* false once the daemon stopped cleanly */
        uint64_t started_usec;          /* CLOCK_REALTIME: daemon start */
        uint64_t updated_usec;          /* CLOCK_REALTIME: this snapshot */
        unsigned threshold;
        struct status_endpoint active, standby;
        struct status_db standby_db, primary_db;
        bool failover_running;
        bool failed_over;               /* a failover record exists (or is unreadable) */
        bool paused;                    /* maintenance pause (pause.h): no automatic action */
        uint64_t paused_since_usec;     /* CLOCK_REALTIME */
        unsigned paused_uid;
        char paused_reason[256];
        char held_gate[32];             /* "" unless a gate holds the failover right now */
        char held_detail[512];
        char not_started[512];          /* "" unless a due failover cannot start (its record cannot be written) */
        struct status_cluster cluster;
};

/* Which site nginx sends traffic to, per the last operation: its new side once its `switch` step ran (a failover's or
 * a switchover's), else its old side; a rejoin's serving site. A format-1 record names no site: the config's. */
const char *status_serving(const struct status *s, const struct state *record);
/* Whether a failover runs now. The live view may be a second old; the record, saved at every step, decides. */
bool status_failover_running(const struct status *s, bool daemon_alive, const struct state *record);

/* Pure. Line-based "key value" text ending in "end"; -EBADMSG on anything malformed or torn. */
int status_serialize(const struct status *s, char **ret_text, size_t *ret_size);
int status_parse(const char *data, size_t size, struct status *ret);

/* STATE_DIR/status: atomic (temp file + rename) but not fsync'ed. -ENOENT: no daemon ever wrote one. */
int status_save(const char *state_dir, const struct status *s);
int status_load(const char *state_dir, struct status *ret);

/* record: the persisted failover record, NULL when there is none; record_error: why it could not be read (0 when
 * fine or absent). daemon_alive: whether the pid in s still runs (the caller checks, so this stays pure). */
struct status_view {
        const struct status *status;
        const struct state *record;
        int record_error;
        bool daemon_alive;
        const char *state_dir;          /* NULL: not probed */
        int state_dir_error;            /* why state_dir takes no file now (fileio_probe_dir); 0: it does */
        const char *first_serving;      /* who serves before the record names anyone (the config's active);
                                         * NULL: the live view's active */
        const char *first_standby;      /* NULL: the live view's standby */
};

/* The roles as the record says (state_roles_resolve over the view's record and first names). */
void status_view_roles(const struct status_view *v, struct state_roles *ret);

/* The schema of `--status --json`, its "version" key: raised when a field changes meaning or goes away (adding a
 * field does not). Every field is listed in the README's table. */
#define STATUS_JSON_VERSION 1

void status_print_json(const struct status_view *v, FILE *out);
void status_print_human(const struct status_view *v, FILE *out);
