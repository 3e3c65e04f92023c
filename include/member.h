/* member: owns this monitor's membership in a monitor cluster on etcd (docs/design/cluster.md) — runs the pure
 * leadership machine (cluster.c) on the loop with the etcd client (etcd.c): the lease and its keep-alives on
 * CLOCK_BOOTTIME, the campaign, the poll of `<prefix>/`, the views (`<prefix>/views/<name>`, on our lease), the
 * quorum over them, and the record in etcd: `<prefix>/record` and `<prefix>/pause` hold the bytes of the local
 * files STATE_DIR/state and STATE_DIR/pause ("" = no file). The leader pushes its files by guarded transactions
 * (its lease still owns `<prefix>/leader`, the record's mod_revision still the one it saw); every member keeps the
 * files as the local copy of what etcd holds, so `--status` works when etcd does not. It decides nothing about
 * failing over: the manager asks member_may_act() and member_quorum() and feeds it its own checks. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cluster.h"
#include "config.h"
#include "event.h"
#include "health.h"
#include "status.h"

struct member;
struct etcd;

/* In STATE_DIR: written by --once --force --local before it acts (main.c): the local record may hold a failover
 * etcd never saw. While it is there, a local record newer than etcd's (etcd's empty, or its epoch lower) is kept and
 * pushed by this member when it leads; removed once etcd holds the local record, or the member adopts etcd's. */
#define MEMBER_UNSYNCED_FILE "record.unsynced"

struct member_callbacks {
        /* This member became able to act (leader, the record adopted and the takeover write landed), or stopped
         * (deposed, lease lost, etcd unavailable, stopping): a running step must be stopped at once. */
        void (*acting_changed)(struct member *mb, bool acting, void *userdata);
        /* The record or pause in etcd changed and the local files now hold it: read them again. */
        void (*record_changed)(struct member *mb, void *userdata);
        /* A poll brought views (or lost some): the quorum may have changed. */
        void (*views_changed)(struct member *mb, void *userdata);
        /* Followers only see it; leaders run it: a command another member forwarded (memcmd.c). */
        void (*polled)(struct member *mb, const struct etcdmsg_range_result *all, void *userdata);
        /* Another live monitor publishes under this member's name (said in the log): this one must stop, with
         * the config's exit code (the names are the config's to fix). Called once; nothing else runs after it. */
        void (*name_taken)(struct member *mb, void *userdata);
};

/* bus: the cluster's transitions go out as events (cluster_leading, _following, _unavailable, _available,
 * _deposed, _takeover). */
int member_new(sd_event *e, struct health *h, struct event_bus *bus, const struct config *c,
               const struct member_callbacks *cb, void *userdata, struct member **ret);
struct member *member_free(struct member *mb);
/* SIGTERM: a leader revokes its lease (bounded, 1 s) so a successor takes over at once; done runs then. */
void member_stop(struct member *mb, void (*done)(void *userdata), void *userdata);
/* members and intervals follow a reload; the etcd endpoints, TLS, auth and timeout are kept until a restart. */
int member_reconfigure(struct member *mb, const struct config *c);

/* Leader, lease, before the acting deadline, record adopted: every entry point that can act asks this first. */
bool member_may_act(const struct member *mb);
/* The short words for why not ("following mon-a", "etcd unavailable: …"); "" when it may act. */
const char *member_why_not(const struct member *mb);

/* The leader pushes the local files to etcd and calls done(0) once etcd holds them (at once when it already
 * does); -EPERM: deposed (acting stopped); -ETIMEDOUT: the acting deadline came first. The step after a journal
 * write starts only from done(0). Never calls done from inside this function. */
typedef void (*member_synced_fn)(void *userdata, int r);
int member_sync(struct member *mb, member_synced_fn done, void *userdata);
/* Forgets the waits of userdata (it is going away): their done is not called. */
void member_sync_cancel(struct member *mb, void *userdata);

/* This member's verdict after a check cycle: published as its view (and kept for its own quorum count). */
struct member_view_input {
        int64_t epoch;
        const char *active_site, *standby_site;
        const char *active_health, *standby_health;     /* "up", "down", "unknown" */
        unsigned active_failures, standby_failures;
        const char *active_result, *standby_result;     /* health_status_to_string */
};
void member_publish_view(struct member *mb, const struct member_view_input *v);

/* The quorum rule over the last poll's views and this member's own (§7). */
void member_quorum(struct member *mb, struct cluster_quorum *ret);
/* etcd does not answer, has no quorum, or refuses us (or we never reached it): the others' views are unknown. */
bool member_unavailable(const struct member *mb);
/* A fresh view from a member whose config digest differs (members, threshold, intervals, sites). */
bool member_mismatch(struct member *mb);
/* The words for the gates (quorum and cluster): valid until the loop runs again. */
const char *member_gate_words(struct member *mb, bool quorum_hold);

void member_fill_status(const struct member *mb, struct status_cluster *s);

/* For memcmd.c: the client, this member's lease (0 none), the leader's lease and name, the prefix. */
struct etcd *member_etcd(struct member *mb);
int64_t member_lease(const struct member *mb);
int64_t member_leader_lease(const struct member *mb);
const char *member_leader(const struct member *mb);
const char *member_prefix(const struct member *mb);
const char *member_name(const struct member *mb);
