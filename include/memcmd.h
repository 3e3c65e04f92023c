/* memcmd: owns commands forwarded between the members of a monitor cluster through etcd (docs/design/cluster.md
 * §9), both sides. The requester (a member that may not act) creates `<prefix>/commands/<name>-<n>` on its own
 * lease by a create-if-absent txn, polls that key every MEMCMD_POLL_USEC, relays the new lines to its local caller
 * (each line has a sequence number: relayed once, in order) and finishes the call with the leader's exit code, then
 * deletes the key. The leader takes "queued" keys from each poll of the prefix with a guarded txn (its lease still
 * owns `<prefix>/leader`; the key unchanged since it read it), runs the command through the `run` callback with a
 * remote control call (control_call_new_remote), and writes its last ETCDMSG_COMMAND_LINES_MAX lines back through
 * the same guarded txn at most every MEMCMD_FLUSH_USEC and at the end ("done", "exit": N).
 * It does not decide who leads (member.c tells it through memcmd_set_membership) nor what a command does (run). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "control.h"
#include "etcd.h"
#include "etcdmsg.h"
#include "util.h"

#define MEMCMD_POLL_USEC (250 * USEC_PER_MSEC)          /* the requester reads its key this often */
#define MEMCMD_FLUSH_USEC (250 * USEC_PER_MSEC)         /* the leader writes output back at most this often */
#define MEMCMD_REQUEST_USEC (5 * USEC_PER_SEC)          /* one request, every endpoint tried (each: etcd's timeout) */
#define MEMCMD_DEADLINE_USEC (30 * 60 * USEC_PER_SEC)   /* a forwarded command, from asking to "exit" */

struct memcmd;

/* The leader runs a command: the manager's normal path for a control request (its own busy check included). It
 * owns call until it passes it to control_call_finish. */
typedef void (*memcmd_run_fn)(struct control_call *call, const struct control_request *req, void *userdata);

/* What member.c knows after each poll (strings copied). */
struct memcmd_membership {
        int64_t lease;                  /* this member's; 0: none */
        const char *leader;             /* the leader key's holder; NULL or "": none */
        int64_t leader_lease;
        int64_t epoch;                  /* the record's */
        bool acting;                    /* this member leads and may act (member_may_act) */
        const char *unavailable;        /* etcd's trouble in words when it is unavailable; NULL otherwise */
};

int memcmd_new(sd_event *e, struct etcd *etcd, const char *prefix, const char *name, memcmd_run_fn run,
               void *userdata, struct memcmd **ret);
/* Requesters still waiting get exit 1 ("stopping"). A command the leader is running stays the manager's: finish
 * it first; if it finishes later, its call is freed then and nothing is written. */
struct memcmd *memcmd_free(struct memcmd *mc);

/* Call after each poll (and whenever acting changes). A requester whose leader changed mid-command checks its key
 * once more, then says so (exit 1) unless the command is still queued (the next leader takes it). */
void memcmd_set_membership(struct memcmd *mc, const struct memcmd_membership *m);

/* Requester side: forwards req (uid and pid kept for the journal) and owns call until it finishes it — at once,
 * with exit 75, when there is no leader or etcd is unavailable. Returns 0 (the call is taken in every case) or
 * -EINVAL for bad arguments (call not taken). */
int memcmd_forward(struct memcmd *mc, const struct control_request *req, struct control_call *call);

/* Leader side: a poll of the whole prefix. Takes the queued commands under `<prefix>/commands/` while acting. */
void memcmd_on_poll(struct memcmd *mc, const struct etcdmsg_range_result *all);

/* Forwarded commands in flight on either side (for --status and tests). */
unsigned memcmd_pending(const struct memcmd *mc);
