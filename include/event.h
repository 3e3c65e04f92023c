/* event: owns the funnel every observable happening goes through. Producers (the manager, the failover
 * executor) emit one struct event; listeners (log, and later sd_notify, metrics, webhooks, hooks) subscribe.
 * The funnel itself decides nothing and formats only the human message. */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum event_kind {
        EVENT_DAEMON_STARTED,
        EVENT_ENDPOINT_HEALTHY,         /* first success, or recovery */
        EVENT_ENDPOINT_FAILING,         /* a failure while counting (n/threshold) */
        EVENT_THRESHOLD_REACHED,
        EVENT_FAILOVER_HELD,            /* a gate said no; `gate` names it */
        EVENT_FAILOVER_ALREADY_DONE,    /* the state says a failover happened: never twice */
        EVENT_FAILOVER_STARTED,
        EVENT_STEP_STARTED,
        EVENT_STEP_OUTPUT,              /* one line a step printed */
        EVENT_STEP_SUCCEEDED,
        EVENT_STEP_FAILED,
        EVENT_FAILOVER_SUCCEEDED,
        EVENT_FAILOVER_FAILED,
        EVENT_CONFIG_RELOADED,
        EVENT_CONFIG_REJECTED,
        EVENT_STOPPING,
        EVENT_RECORD_CLEARED,           /* --clear-state through the daemon: watching again */
        EVENT_PAUSED,                   /* maintenance pause set (or found at start) */
        EVENT_RESUMED,                  /* maintenance pause lifted */
        EVENT_OPERATION_STARTED,        /* a switchover or rejoin began */
        EVENT_OPERATION_SUCCEEDED,
        EVENT_OPERATION_REFUSED,        /* its checklist said no: nothing changed */
        EVENT_OPERATION_PUT_BACK,       /* failed before the point of no return; everything put back */
        EVENT_OPERATION_FAILED,         /* failed; the record says what is left */
        /* The monitor cluster (docs/design/cluster.md §10), emitted by member.c on transitions only; `member` is
         * always this member's name. */
        EVENT_CLUSTER_LEADING,          /* this member won the leader key and acts */
        EVENT_CLUSTER_FOLLOWING,        /* another member leads: `peer` names it */
        EVENT_CLUSTER_UNAVAILABLE,      /* etcd unreachable or refusing: no automatic action; `reason` says why */
        EVENT_CLUSTER_AVAILABLE,        /* etcd answers again after CLUSTER_UNAVAILABLE */
        EVENT_CLUSTER_DEPOSED,          /* this leader stopped acting (deadline passed, lease lost, guard failed):
                                         * `reason` says which */
        EVENT_CLUSTER_TAKEOVER,         /* this member took over from `peer` (its lease expired or was revoked) */
        _EVENT_KIND_MAX,
};

const char *event_kind_to_string(enum event_kind k);    /* "failover_started", ... */
int event_kind_priority(enum event_kind k);             /* syslog priority: 3 err ... 7 debug */
const char *event_kind_message_id(enum event_kind k);   /* 32 hex digits, for journald's MESSAGE_ID= */

struct event {
        enum event_kind kind;
        const char *role;               /* "active" / "standby" */
        const char *endpoint;           /* the endpoint's name */
        const char *step;               /* failover step name */
        const char *gate;               /* which gate held a failover */
        const char *argv;               /* the step's command line, for humans */
        int exit_status;                /* -1 when not applicable */
        uint64_t duration_usec;
        unsigned failures, threshold;
        const char *member;             /* cluster events: this member's name */
        const char *peer;               /* cluster_following: the leader; cluster_takeover: the previous leader */
        const char *reason;             /* cluster_unavailable, cluster_deposed: why, in words */
        const char *message;            /* filled in by event_emit */
};

typedef void (*event_listener_fn)(const struct event *ev, void *userdata);

#define EVENT_LISTENERS_MAX 8

struct event_bus {
        struct {
                event_listener_fn fn;
                void *userdata;
        } listeners[EVENT_LISTENERS_MAX];
        unsigned n_listeners;
};

int event_subscribe(struct event_bus *bus, event_listener_fn fn, void *userdata);

/* Formats the message and hands the event to every listener, in subscription order. */
void event_emit(struct event_bus *bus, struct event *ev, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The journal fields of an event ("MESSAGE_ID=…", "BLF_EVENT=…", "BLF_STEP=…", …) into buf; returns how many.
 * Pure. Each field is at most EVENT_FIELD_MAX bytes (longer values are cut). */
#define EVENT_FIELDS_MAX 16
#define EVENT_FIELD_MAX 512
size_t event_journal_fields(const struct event *ev, char buf[EVENT_FIELDS_MAX][EVENT_FIELD_MAX]);

/* A step's captured output (a command's stdout+stderr) as EVENT_STEP_OUTPUT events, one per line, so that a
 * multi-line complaint (nginx -t) stays readable: "WHAT: step STEP output: LINE"; at most EVENT_OUTPUT_LINES_MAX
 * lines, then a note; `cut_at` > 0 says the capture was cut there. Empty lines are left out. */
#define EVENT_OUTPUT_LINES_MAX 40
void event_emit_output(struct event_bus *bus, const char *what, const char *step, const char *output, size_t len,
                       unsigned cut_at);

/* The listener that turns events into log lines (journal entries with fields, under systemd). */
void event_log_listener(const struct event *ev, void *userdata);
