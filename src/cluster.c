/* cluster: owns the leadership machine, the acting rule and the quorum rule of a monitor cluster (pure). */
#include "cluster.h"

#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
        [CLUSTER_CONNECTING] = "connecting",
        [CLUSTER_FOLLOWER] = "following",
        [CLUSTER_CAMPAIGNING] = "campaigning",
        [CLUSTER_LEADER] = "leading",
        [CLUSTER_UNAVAILABLE] = "unavailable",
        [CLUSTER_STOPPING] = "stopping",
};

const char *cluster_state_to_string(enum cluster_state s) {
        if ((size_t) s >= sizeof state_names / sizeof *state_names)
                return "unknown";
        return state_names[s];
}

void cluster_init(struct cluster *c, const char *name, uint64_t ttl_usec, uint64_t now) {
        *c = (struct cluster) { .state = CLUSTER_CONNECTING, .requested_ttl_usec = ttl_usec, .ttl_usec = ttl_usec,
                                .last_success = now };
        snprintf(c->name, sizeof c->name, "%s", name ? name : "");
}

uint64_t cluster_margin(uint64_t ttl_usec) {
        return ttl_usec / 5 > CLUSTER_MARGIN_MIN_USEC ? ttl_usec / 5 : CLUSTER_MARGIN_MIN_USEC;
}

/* From the *send* time: the server renewed at its receive time ≥ send, so its expiry is ≥ send + TTL whatever
 * the answer's arrival time (a stale answer read after a SIGSTOP leaves this in the past). */
uint64_t cluster_deadline(const struct cluster *c) {
        uint64_t m = cluster_margin(c->ttl_usec);

        if (!c->lease || c->last_ok_send + c->ttl_usec <= m)
                return 0;
        return c->last_ok_send + c->ttl_usec - m;
}

bool cluster_may_act(const struct cluster *c, uint64_t now) {
        return c->state == CLUSTER_LEADER && c->lease != 0 && now < cluster_deadline(c);
}

/* ---------------------------------------------------------------- transitions */

static void act(struct cluster_actions *out, enum cluster_action_kind kind, uint64_t at) {
        if (out->n < CLUSTER_ACTIONS_MAX)
                out->a[out->n++] = (typeof(out->a[0])) { .kind = kind, .at = at };
}

static void enter(struct cluster *c, enum cluster_state s, struct cluster_actions *out) {
        if (c->state == s)
                return;
        if (c->state == CLUSTER_LEADER)
                act(out, CLUSTER_DO_STOP_ACTING, 0);
        c->state = s;
        if (s == CLUSTER_LEADER) {
                act(out, CLUSTER_DO_START_ACTING, 0);
                act(out, CLUSTER_DO_TICK, cluster_deadline(c));
        }
        act(out, CLUSTER_DO_SAY, 0);
        if (out->n > 0 && out->a[out->n - 1].kind == CLUSTER_DO_SAY)
                out->a[out->n - 1].state = s;
}

static void set_leader(struct cluster *c, const char *name, int64_t lease) {
        snprintf(c->leader, sizeof c->leader, "%s", name ? name : "");
        c->leader_lease = lease;
}

/* Anything answered: out of UNAVAILABLE (back to following; the next poll decides who leads) — except after a
 * refusal (auth, permission), which only a read or a txn that works again clears: keep-alives need no token and
 * would otherwise flip the state every TTL/3. */
static void succeeded(struct cluster *c, uint64_t now, bool clears_refusal, struct cluster_actions *out) {
        c->last_success = now;
        if (clears_refusal)
                c->refused = false;
        if (c->state == CLUSTER_UNAVAILABLE && !c->refused) {
                c->reason[0] = '\0';
                enter(c, c->lease ? CLUSTER_FOLLOWER : CLUSTER_CONNECTING, out);
        }
}

static void lease_lost(struct cluster *c, uint64_t now, struct cluster_actions *out) {
        if (c->state == CLUSTER_LEADER)
                snprintf(c->reason, sizeof c->reason, "the lease expired on the server");
        c->lease = 0;
        c->last_ok_send = 0;
        enter(c, CLUSTER_CONNECTING, out);
        act(out, CLUSTER_DO_GRANT, now);
}

static void on_granted(struct cluster *c, const struct cluster_event *ev, uint64_t now, struct cluster_actions *out) {
        if (ev->lease == 0 || ev->ttl_sec <= 0)
                return;
        c->lease = ev->lease;
        c->ttl_usec = (uint64_t) ev->ttl_sec * 1000000u;
        c->last_ok_send = ev->send;
        succeeded(c, now, false, out);
        if (c->state == CLUSTER_CONNECTING)
                enter(c, CLUSTER_FOLLOWER, out);
        act(out, CLUSTER_DO_POLL, now);
        act(out, CLUSTER_DO_KEEPALIVE, ev->send + c->ttl_usec / 3);
}

static void on_kept(struct cluster *c, const struct cluster_event *ev, uint64_t now, struct cluster_actions *out) {
        if (!c->lease)
                return;                 /* an answer for a lease we already gave up */
        if (ev->ttl_sec <= 0) {
                c->last_success = now;  /* etcd answered: it is the lease that is gone, not etcd */
                lease_lost(c, now, out);
                return;
        }
        /* A reordered older answer never moves the deadline back. */
        if (ev->send > c->last_ok_send)
                c->last_ok_send = ev->send;
        c->ttl_usec = (uint64_t) ev->ttl_sec * 1000000u;
        succeeded(c, now, false, out);
        act(out, CLUSTER_DO_KEEPALIVE, c->last_ok_send + c->ttl_usec / 3);
        if (c->state == CLUSTER_LEADER) {
                if (!cluster_may_act(c, now)) {
                        snprintf(c->reason, sizeof c->reason, "no keep-alive sent in time was answered");
                        enter(c, CLUSTER_FOLLOWER, out);
                } else
                        act(out, CLUSTER_DO_TICK, cluster_deadline(c));
        }
}

/* What to retry after a failed request. etcd.c already tried every endpoint for it; a keep-alive is retried
 * soon (CLUSTER_RETRY_USEC: every endpoint refusing at once must not become a busy loop), the rest later. */
static void retry(struct cluster *c, enum cluster_op op, uint64_t now, struct cluster_actions *out) {
        uint64_t later = now + c->ttl_usec / 10;

        switch (op) {
        case CLUSTER_OP_GRANT:
                act(out, CLUSTER_DO_GRANT, later);
                break;
        case CLUSTER_OP_KEEPALIVE:
                act(out, CLUSTER_DO_KEEPALIVE, now + CLUSTER_RETRY_USEC);
                break;
        case CLUSTER_OP_POLL:
        case CLUSTER_OP_CAMPAIGN:
        case CLUSTER_OP_TIMETOLIVE:
                act(out, CLUSTER_DO_POLL, later);
                break;
        case CLUSTER_OP_WRITE:
                break;                  /* the writer handles ambiguous outcomes (§6) */
        }
}

/* The clock rules, checked on every event: a leader past its deadline stops; anyone with nothing answered for
 * TTL − margin is unavailable. */
static void check_time(struct cluster *c, uint64_t now, struct cluster_actions *out) {
        uint64_t m = cluster_margin(c->ttl_usec), quiet = c->ttl_usec > m ? c->ttl_usec - m : 0;

        if (c->state == CLUSTER_STOPPING)
                return;
        if (c->state == CLUSTER_LEADER && !cluster_may_act(c, now)) {
                /* for a leader, "nothing answered for TTL − margin" is this deadline (§8) */
                if (!c->reason[0])
                        snprintf(c->reason, sizeof c->reason, "the lease could not be renewed in time");
                enter(c, CLUSTER_UNAVAILABLE, out);
        }
        if (c->state != CLUSTER_UNAVAILABLE && now >= c->last_success + quiet) {
                if (!c->reason[0])
                        snprintf(c->reason, sizeof c->reason, "etcd has not answered for %.1f s",
                                 (double) (now - c->last_success) / 1e6);
                enter(c, CLUSTER_UNAVAILABLE, out);
        }
}

/* etcd answered, and said no: a configuration problem (credentials, RBAC) that retrying will not fix. */
static bool refusal(enum etcd_error e) {
        return e == ETCD_ERROR_AUTH_FAILED || e == ETCD_ERROR_PERMISSION_DENIED || e == ETCD_ERROR_AUTH_NOT_ENABLED;
}

static void on_failed(struct cluster *c, const struct cluster_event *ev, uint64_t now, struct cluster_actions *out) {
        bool leading = c->state == CLUSTER_LEADER;

        if (ev->op == CLUSTER_OP_KEEPALIVE && ev->error == ETCD_ERROR_LEASE_NOT_FOUND) {
                lease_lost(c, now, out);
                return;
        }
        snprintf(c->reason, sizeof c->reason, "%s", ev->reason ? ev->reason : etcd_error_to_string(ev->error));
        if (refusal(ev->error)) {
                /* unavailable at once; a leader that cannot read or write gives its lease back, so that a member
                 * that can takes over now rather than after the TTL */
                c->refused = true;
                enter(c, CLUSTER_UNAVAILABLE, out);
                if (leading) {
                        act(out, CLUSTER_DO_REVOKE, 0);
                        out->a[out->n - 1].lease = c->lease;
                        c->lease = 0;
                        c->last_ok_send = 0;
                        act(out, CLUSTER_DO_GRANT, now + c->ttl_usec);
                }
                retry(c, ev->op, now, out);
                return;
        }
        retry(c, ev->op, now, out);
        check_time(c, now, out);
        if (c->state == CLUSTER_CAMPAIGNING)
                enter(c, CLUSTER_FOLLOWER, out);
}

/* The key is ours (won, or found holding our lease): lead only with a fresh lease. */
static void key_is_ours(struct cluster *c, uint64_t now, struct cluster_actions *out) {
        set_leader(c, c->name, c->lease);
        if (c->state == CLUSTER_LEADER)
                return;                 /* check_time applies the deadline */
        if (now < cluster_deadline(c)) {
                c->reason[0] = '\0';
                enter(c, CLUSTER_LEADER, out);
        } else
                enter(c, CLUSTER_FOLLOWER, out);
}

static void on_polled(struct cluster *c, const struct cluster_event *ev, uint64_t now, struct cluster_actions *out) {
        succeeded(c, now, true, out);
        act(out, CLUSTER_DO_POLL, now + c->ttl_usec / 3);
        if (ev->leader_present && c->lease && ev->leader_lease == c->lease) {
                key_is_ours(c, now, out);
                return;
        }
        if (c->state == CLUSTER_LEADER) {
                snprintf(c->reason, sizeof c->reason, "the leader key is no longer ours (%s)",
                         ev->leader_present ? ev->leader_name : "gone");
                enter(c, CLUSTER_FOLLOWER, out);
        }
        set_leader(c, ev->leader_present ? ev->leader_name : "", ev->leader_present ? ev->leader_lease : 0);
        if (!ev->leader_present && c->lease && now < cluster_deadline(c) && c->state != CLUSTER_CONNECTING) {
                enter(c, CLUSTER_CAMPAIGNING, out);
                act(out, CLUSTER_DO_CAMPAIGN, now);
        }
}

static void on_leader_ttl(struct cluster *c, const struct cluster_event *ev, uint64_t now,
                          struct cluster_actions *out) {
        if (c->state != CLUSTER_FOLLOWER || !c->lease)
                return;
        if (ev->ttl_sec < 0) {
                act(out, CLUSTER_DO_CAMPAIGN, now);
                return;
        }
        /* the create-if-absent txn is safe to send early: it fails while the key exists */
        act(out, CLUSTER_DO_CAMPAIGN, now + (uint64_t) ev->ttl_sec * 1000000u + CLUSTER_CAMPAIGN_SLACK_USEC);
        /* TTL comes in whole seconds and etcd revokes expired leases on its own beat (~500 ms): near the end,
         * poll fast so the key's disappearance is seen within one fast poll, not one TTL/3 */
        if (ev->ttl_sec <= 1)
                act(out, CLUSTER_DO_POLL, now + CLUSTER_FAST_POLL_USEC);
}

static void on_campaign(struct cluster *c, const struct cluster_event *ev, uint64_t now,
                        struct cluster_actions *out) {
        succeeded(c, now, true, out);
        if (ev->kind == CLUSTER_EV_CAMPAIGN_WON || (ev->leader_present && ev->leader_lease == c->lease && c->lease)) {
                key_is_ours(c, now, out);
                return;
        }
        set_leader(c, ev->leader_name, ev->leader_lease);
        if (c->state == CLUSTER_CAMPAIGNING)
                enter(c, CLUSTER_FOLLOWER, out);
}

static void on_stop(struct cluster *c, struct cluster_actions *out) {
        bool had_lease = c->lease != 0;

        enter(c, CLUSTER_STOPPING, out);
        if (had_lease) {
                act(out, CLUSTER_DO_REVOKE, 0);
                out->a[out->n - 1].lease = c->lease;
        }
}

void cluster_step(struct cluster *c, const struct cluster_event *ev, uint64_t now, struct cluster_actions *out) {
        out->n = 0;
        if (c->state == CLUSTER_STOPPING)
                return;
        switch (ev->kind) {
        case CLUSTER_EV_START:
                act(out, CLUSTER_DO_GRANT, now);
                break;
        case CLUSTER_EV_GRANTED:
                on_granted(c, ev, now, out);
                break;
        case CLUSTER_EV_KEPT:
                on_kept(c, ev, now, out);
                break;
        case CLUSTER_EV_LEASE_LOST:
                lease_lost(c, now, out);
                break;
        case CLUSTER_EV_REQUEST_FAILED:
                on_failed(c, ev, now, out);
                return;
        case CLUSTER_EV_TICK:
                break;
        case CLUSTER_EV_POLLED:
                on_polled(c, ev, now, out);
                break;
        case CLUSTER_EV_CAMPAIGN_WON:
        case CLUSTER_EV_CAMPAIGN_LOST:
                on_campaign(c, ev, now, out);
                break;
        case CLUSTER_EV_GUARD_FAILED:
                if (ev->deposed && c->state == CLUSTER_LEADER) {
                        snprintf(c->reason, sizeof c->reason, "a guarded write found the leader key taken");
                        enter(c, CLUSTER_FOLLOWER, out);
                }
                break;
        case CLUSTER_EV_LEADER_TTL:
                on_leader_ttl(c, ev, now, out);
                break;
        case CLUSTER_EV_STOP:
                on_stop(c, out);
                return;
        }
        check_time(c, now, out);
}

/* ---------------------------------------------------------------- quorum */

void cluster_seen_update(struct cluster_seen *s, int64_t mod_revision, uint64_t now) {
        if (s->mod_revision == 0 || s->mod_revision != mod_revision) {
                s->mod_revision = mod_revision;
                s->changed_at = now;
        }
}

static bool is_member(const struct cluster_quorum_input *in, const char *name) {
        for (size_t i = 0; name && i < in->n_members; i++)
                if (strcmp(in->members[i], name) == 0)
                        return true;
        return false;
}

/* The first fresh view of this member, or NULL. */
static const struct cluster_view *view_of(const struct cluster_quorum_input *in, const char *member) {
        for (size_t i = 0; i < in->n_views; i++) {
                const struct cluster_view *v = &in->views[i];

                if (v->member && strcmp(v->member, member) == 0 && v->changed_at <= in->now &&
                    in->now - v->changed_at <= in->fresh_usec)
                        return v;
        }
        return NULL;
}

static bool agrees(const struct cluster_quorum_input *in, const struct cluster_view *v) {
        return v->digest_ok && v->epoch == in->epoch && v->active_site && in->active_site &&
               strcmp(v->active_site, in->active_site) == 0 && v->failures >= in->threshold;
}

void cluster_quorum(const struct cluster_quorum_input *in, struct cluster_quorum *ret) {
        struct cluster_quorum q = { .needed = in->n_members / 2 + 1 };

        for (size_t i = 0; i < in->n_members; i++) {
                const char *m = in->members[i];
                const struct cluster_view *v;

                if (in->self && strcmp(m, in->self) == 0) {
                        q.agreeing += in->self_failures >= in->threshold;   /* from memory, never from etcd */
                        continue;
                }
                if (!(v = view_of(in, m)))
                        continue;
                if (!v->digest_ok)
                        q.mismatched++;
                if (agrees(in, v))
                        q.agreeing++;
        }
        q.majority = in->self && is_member(in, in->self) && q.agreeing >= q.needed;
        *ret = q;
}
