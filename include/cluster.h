/* cluster: owns the leadership machine of a monitor cluster on etcd (docs/design/cluster.md §5, §7, §8) —
 * (state, event, now) → (state, actions) — the acting rule (act only before last good keep-alive's *send* time +
 * TTL − margin, on CLOCK_BOOTTIME) and the quorum rule over the members' views. Pure: no I/O, no clock reads
 * (every time is an argument, in µs of CLOCK_BOOTTIME), no allocation. Executing actions (etcd requests, timers,
 * stopping a step) is the caller's (member.c, later; tests/integration/etcdprobe.c today). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcdmsg.h"

#define CLUSTER_NAME_MAX 64
#define CLUSTER_REASON_MAX 256
#define CLUSTER_MARGIN_MIN_USEC 500000u         /* margin = max(0.5 s, TTL/5) */
#define CLUSTER_CAMPAIGN_SLACK_USEC 50000u      /* campaign this long after the leader's lease should be gone */
#define CLUSTER_FAST_POLL_USEC 100000u          /* poll cadence while the leader's lease is about to end */
#define CLUSTER_RETRY_USEC 200000u              /* a failed keep-alive (every endpoint tried) is sent again */

enum cluster_state {
        CLUSTER_CONNECTING,     /* no lease yet */
        CLUSTER_FOLLOWER,
        CLUSTER_CAMPAIGNING,
        CLUSTER_LEADER,
        CLUSTER_UNAVAILABLE,    /* nothing succeeded for TTL − margin: no automatic action */
        CLUSTER_STOPPING,
};

const char *cluster_state_to_string(enum cluster_state s);

/* What a request was for, in REQUEST_FAILED. */
enum cluster_op {
        CLUSTER_OP_GRANT,
        CLUSTER_OP_KEEPALIVE,
        CLUSTER_OP_POLL,
        CLUSTER_OP_CAMPAIGN,
        CLUSTER_OP_TIMETOLIVE,
        CLUSTER_OP_WRITE,
};

enum cluster_event_kind {
        CLUSTER_EV_START,
        CLUSTER_EV_GRANTED,             /* lease, ttl_sec, send */
        CLUSTER_EV_KEPT,                /* ttl_sec (0: lost), send */
        CLUSTER_EV_LEASE_LOST,
        CLUSTER_EV_REQUEST_FAILED,      /* op, error, reason */
        CLUSTER_EV_TICK,                /* a timer fired (the deadline, or a periodic check) */
        CLUSTER_EV_POLLED,              /* leader_present, leader_name, leader_lease */
        CLUSTER_EV_CAMPAIGN_WON,
        CLUSTER_EV_CAMPAIGN_LOST,       /* leader_name, leader_lease: who holds the key */
        CLUSTER_EV_GUARD_FAILED,        /* deposed: the leader key is not ours; else the record moved */
        CLUSTER_EV_LEADER_TTL,          /* ttl_sec left on the leader's lease; −1: gone */
        CLUSTER_EV_STOP,
};

struct cluster_event {
        enum cluster_event_kind kind;
        int64_t lease;
        int64_t ttl_sec;
        uint64_t send;                  /* when the answered request was sent (boottime µs): taken before sending */
        bool leader_present;
        const char *leader_name;
        int64_t leader_lease;
        enum cluster_op op;
        enum etcd_error error;
        const char *reason;             /* words for REQUEST_FAILED ("127.0.0.1:25440: connection refused") */
        bool deposed;
};

enum cluster_action_kind {
        CLUSTER_DO_GRANT,               /* at */
        CLUSTER_DO_KEEPALIVE,           /* at: one in flight at most */
        CLUSTER_DO_POLL,                /* at: range over the prefix (and timetolive of the leader's lease) */
        CLUSTER_DO_CAMPAIGN,            /* at: the create-if-absent txn on the leader key with our lease */
        CLUSTER_DO_TICK,                /* at: feed CLUSTER_EV_TICK then (the acting deadline) */
        CLUSTER_DO_START_ACTING,        /* re-read the record, then the takeover write */
        CLUSTER_DO_STOP_ACTING,         /* kill the running step, write nothing more */
        CLUSTER_DO_REVOKE,              /* the current lease (STOP), or the one given up after a refusal */
        CLUSTER_DO_SAY,                 /* a transition into .state: say it (with c->reason) */
};

#define CLUSTER_ACTIONS_MAX 8

struct cluster_actions {
        size_t n;
        struct {
                enum cluster_action_kind kind;
                uint64_t at;                    /* CLOCK_BOOTTIME µs; 0: now */
                enum cluster_state state;       /* SAY: the state entered */
                int64_t lease;                  /* REVOKE: the lease to revoke */
        } a[CLUSTER_ACTIONS_MAX];
};

struct cluster {
        enum cluster_state state;
        char name[CLUSTER_NAME_MAX];
        uint64_t requested_ttl_usec;
        int64_t lease;                  /* 0: none */
        uint64_t ttl_usec;              /* as the server granted/renewed it */
        uint64_t last_ok_send;          /* send time of the newest keep-alive (or grant) answered with TTL > 0 */
        uint64_t last_success;          /* arrival of the last request that succeeded, any kind */
        char leader[CLUSTER_NAME_MAX];  /* "" unknown or none */
        int64_t leader_lease;
        char reason[CLUSTER_REASON_MAX];        /* why UNAVAILABLE / deposed, in words */
        bool refused;                   /* etcd refused us (auth, permission): unavailable until a read works */
};

/* name: this member; ttl: lease_ttl asked for. */
void cluster_init(struct cluster *c, const char *name, uint64_t ttl_usec, uint64_t now);

/* The one transition function. Actions are appended to *out (cleared first). */
void cluster_step(struct cluster *c, const struct cluster_event *ev, uint64_t now, struct cluster_actions *out);

/* max(0.5 s, TTL/5). */
uint64_t cluster_margin(uint64_t ttl_usec);
/* last_ok_send + ttl − margin; 0 without a lease. Before it the lease cannot have expired on the server. */
uint64_t cluster_deadline(const struct cluster *c);
/* Leader, a lease, and now before the deadline. Every entry point that can act asks this first. */
bool cluster_may_act(const struct cluster *c, uint64_t now);

/* ---------------------------------------------------------------- the quorum rule (§7) */

/* When a view last changed, on the reader's own clock: freshness never compares clocks across hosts. */
struct cluster_seen {
        int64_t mod_revision;           /* 0: never seen */
        uint64_t changed_at;
};
/* A first sighting, or a new mod_revision, counts as changed now. */
void cluster_seen_update(struct cluster_seen *s, int64_t mod_revision, uint64_t now);

struct cluster_view {
        const char *member;
        uint64_t changed_at;            /* from cluster_seen */
        int64_t epoch;
        const char *active_site;
        unsigned failures;              /* consecutive failures of the active, as that member counts them */
        bool digest_ok;                 /* same members/threshold/intervals/sites */
};

struct cluster_quorum_input {
        const char *const *members;     /* every member's name; n ≥ 1 */
        size_t n_members;
        const char *self;
        unsigned self_failures;         /* the leader's own view, from memory */
        const struct cluster_view *views;
        size_t n_views;
        int64_t epoch;                  /* the record's */
        const char *active_site;        /* the record's */
        unsigned threshold;             /* the leader's failure_threshold */
        uint64_t fresh_usec;            /* 2 × health.interval */
        uint64_t now;
};

struct cluster_quorum {
        size_t agreeing;                /* members (self included) that see the active failing */
        size_t needed;                  /* ⌊n/2⌋ + 1 */
        bool majority;                  /* agreeing ≥ needed */
        size_t mismatched;              /* fresh views with another digest: hold the gate "cluster" */
};

void cluster_quorum(const struct cluster_quorum_input *in, struct cluster_quorum *ret);
