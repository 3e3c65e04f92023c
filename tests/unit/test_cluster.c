/* Unit tests for cluster: the acting rule (send time, deadline, reordering, stalls), the leadership machine's
 * transitions, and the quorum rule (fresh, stale, other epoch, unknown name, other digest, n = 1..5). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cluster.h"

#define S 1000000ull
#define T0 (1000 * S)           /* boottime at the start: anything, BOOTTIME never goes back */
#define LEASE INT64_C(4031744529541125893)

static bool has(const struct cluster_actions *a, enum cluster_action_kind k, uint64_t *at) {
        for (size_t i = 0; i < a->n; i++)
                if (a->a[i].kind == k) {
                        if (at)
                                *at = a->a[i].at;
                        return true;
                }
        return false;
}

static void step(struct cluster *c, struct cluster_event ev, uint64_t now, struct cluster_actions *out) {
        cluster_step(c, &ev, now, out);
}

/* A member with lease LEASE (TTL 10, granted by a request sent at T0) that won the campaign at T0 + 10 ms. */
static void leader(struct cluster *c) {
        struct cluster_actions a;

        cluster_init(c, "mon-a", 10 * S, T0);
        step(c, (struct cluster_event) { .kind = CLUSTER_EV_START }, T0, &a);
        assert_true(has(&a, CLUSTER_DO_GRANT, NULL));
        step(c, (struct cluster_event) { .kind = CLUSTER_EV_GRANTED, .lease = LEASE, .ttl_sec = 10, .send = T0 },
             T0 + 5000, &a);
        assert_int_equal(c->state, CLUSTER_FOLLOWER);
        assert_true(has(&a, CLUSTER_DO_POLL, NULL));
        step(c, (struct cluster_event) { .kind = CLUSTER_EV_POLLED }, T0 + 8000, &a);
        assert_int_equal(c->state, CLUSTER_CAMPAIGNING);
        assert_true(has(&a, CLUSTER_DO_CAMPAIGN, NULL));
        step(c, (struct cluster_event) { .kind = CLUSTER_EV_CAMPAIGN_WON }, T0 + 10000, &a);
        assert_int_equal(c->state, CLUSTER_LEADER);
        assert_true(has(&a, CLUSTER_DO_START_ACTING, NULL));
}

static void cluster__ttl_10__deadline_8s_after_the_send(void **unused) {
        struct cluster c;

        leader(&c);
        assert_int_equal(cluster_margin(10 * S), 2 * S);
        assert_int_equal(cluster_margin(2 * S), S / 2);
        assert_int_equal(cluster_deadline(&c), T0 + 8 * S);
        assert_true(cluster_may_act(&c, T0 + 8 * S - 1));
        assert_false(cluster_may_act(&c, T0 + 8 * S));
}

static void cluster__kept__moves_the_deadline_by_the_send_time(void **unused) {
        struct cluster c;
        struct cluster_actions a;
        uint64_t at;

        leader(&c);
        /* sent at +3.3 s, answered at +3.4 s: deadline send + 8 s, next keep-alive send + TTL/3 */
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = 10, .send = T0 + 3300000 },
             T0 + 3400000, &a);
        assert_int_equal(cluster_deadline(&c), T0 + 3300000 + 8 * S);
        assert_true(has(&a, CLUSTER_DO_KEEPALIVE, &at));
        assert_int_equal(at, T0 + 3300000 + 10 * S / 3);
        assert_true(has(&a, CLUSTER_DO_TICK, &at));
        assert_int_equal(at, T0 + 11300000);
}

/* The SIGSTOP case: a keep-alive sent at +3 s whose answer is read 30 s later must not revive acting. */
static void cluster__kept_answer_read_after_a_long_stall__does_not_revive_acting(void **unused) {
        struct cluster c;
        struct cluster_actions a;

        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = 10, .send = T0 + 3 * S },
             T0 + 33 * S, &a);
        assert_false(cluster_may_act(&c, T0 + 33 * S));
        assert_true(c.state != CLUSTER_LEADER);
        assert_true(has(&a, CLUSTER_DO_STOP_ACTING, NULL));
}

static void cluster__reordered_older_answer__does_not_move_the_deadline_back(void **unused) {
        struct cluster c;
        struct cluster_actions a;

        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = 10, .send = T0 + 6 * S },
             T0 + 6 * S + 1000, &a);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = 10, .send = T0 + 3 * S },
             T0 + 6 * S + 2000, &a);
        assert_int_equal(c.last_ok_send, T0 + 6 * S);
        assert_int_equal(cluster_deadline(&c), T0 + 14 * S);
        assert_int_equal(c.state, CLUSTER_LEADER);
}

static void cluster__deadline_tick__stops_acting(void **unused) {
        struct cluster c;
        struct cluster_actions a;

        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_TICK }, T0 + 8 * S - 1, &a);
        assert_int_equal(c.state, CLUSTER_LEADER);
        assert_int_equal(a.n, 0);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_TICK }, T0 + 8 * S, &a);
        assert_true(has(&a, CLUSTER_DO_STOP_ACTING, NULL));
        assert_false(cluster_may_act(&c, T0 + 8 * S));
}

static void cluster__keepalive_without_ttl__lease_lost_stop_and_grant(void **unused) {
        struct cluster c;
        struct cluster_actions a;

        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = 0, .send = T0 + 3 * S },
             T0 + 3 * S + 1000, &a);
        assert_int_equal(c.state, CLUSTER_CONNECTING);
        assert_true(c.lease == 0);
        assert_true(has(&a, CLUSTER_DO_STOP_ACTING, NULL));
        assert_true(has(&a, CLUSTER_DO_GRANT, NULL));
        assert_false(cluster_may_act(&c, T0 + 3 * S + 1000));
        /* a late answer for the old lease is ignored */
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = 10, .send = T0 + 3 * S },
             T0 + 3 * S + 2000, &a);
        assert_int_equal(c.state, CLUSTER_CONNECTING);
}

static void cluster__lease_not_found_on_keepalive__lease_lost(void **unused) {
        struct cluster c;
        struct cluster_actions a;

        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_REQUEST_FAILED, .op = CLUSTER_OP_KEEPALIVE,
                                          .error = ETCD_ERROR_LEASE_NOT_FOUND }, T0 + S, &a);
        assert_int_equal(c.state, CLUSTER_CONNECTING);
        assert_true(has(&a, CLUSTER_DO_STOP_ACTING, NULL));
}

/* etcd changes leader: the keep-alive gets 503 "no leader" a few times, then is answered — acting continues if
 * the answer's send time keeps the deadline ahead, and stops if not. */
static void cluster__etcd_leader_change__retry_keeps_acting_within_the_deadline(void **unused) {
        struct cluster c;
        struct cluster_actions a;
        uint64_t at;

        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_REQUEST_FAILED, .op = CLUSTER_OP_KEEPALIVE,
                                          .error = ETCD_ERROR_NO_LEADER, .reason = "no leader" }, T0 + 4 * S, &a);
        assert_int_equal(c.state, CLUSTER_LEADER);
        assert_true(has(&a, CLUSTER_DO_KEEPALIVE, &at));
        assert_int_equal(at, T0 + 4 * S + CLUSTER_RETRY_USEC);  /* soon, but never a busy loop */
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = 10, .send = T0 + 4 * S },
             T0 + 5 * S, &a);
        assert_true(cluster_may_act(&c, T0 + 11 * S));
        /* and when retries fail until the deadline: stop, then unavailable */
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_REQUEST_FAILED, .op = CLUSTER_OP_KEEPALIVE,
                                          .error = ETCD_ERROR_NO_LEADER, .reason = "etcd: no leader" },
             T0 + 12 * S + 1, &a);
        assert_true(has(&a, CLUSTER_DO_STOP_ACTING, NULL));
        assert_int_equal(c.state, CLUSTER_UNAVAILABLE);
        assert_string_equal(c.reason, "etcd: no leader");
}

static void cluster__follower_without_answers__unavailable_then_back(void **unused) {
        struct cluster c;
        struct cluster_actions a;

        cluster_init(&c, "mon-b", 10 * S, T0);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_START }, T0, &a);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_REQUEST_FAILED, .op = CLUSTER_OP_GRANT,
                                          .reason = "127.0.0.1:25440: connection refused" }, T0 + 7 * S, &a);
        assert_int_equal(c.state, CLUSTER_CONNECTING);
        assert_true(has(&a, CLUSTER_DO_GRANT, NULL));
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_TICK }, T0 + 8 * S, &a);
        assert_int_equal(c.state, CLUSTER_UNAVAILABLE);
        assert_true(has(&a, CLUSTER_DO_SAY, NULL));
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_GRANTED, .lease = 7, .ttl_sec = 10, .send = T0 + 9 * S },
             T0 + 9 * S, &a);
        assert_int_equal(c.state, CLUSTER_FOLLOWER);
        assert_string_equal(c.reason, "");
}

static void cluster__poll_sees_another_leader__follows_and_campaigns_at_its_expiry(void **unused) {
        struct cluster c;
        struct cluster_actions a;
        uint64_t at;

        cluster_init(&c, "mon-b", 10 * S, T0);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_GRANTED, .lease = 9, .ttl_sec = 10, .send = T0 }, T0, &a);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_POLLED, .leader_present = true, .leader_name = "mon-a",
                                          .leader_lease = LEASE }, T0 + 1000, &a);
        assert_int_equal(c.state, CLUSTER_FOLLOWER);
        assert_string_equal(c.leader, "mon-a");
        assert_false(has(&a, CLUSTER_DO_CAMPAIGN, NULL));
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_LEADER_TTL, .ttl_sec = 4 }, T0 + 2000, &a);
        assert_true(has(&a, CLUSTER_DO_CAMPAIGN, &at));
        assert_int_equal(at, T0 + 2000 + 4 * S + CLUSTER_CAMPAIGN_SLACK_USEC);
        assert_false(has(&a, CLUSTER_DO_POLL, NULL));    /* the regular TTL/3 poll is enough this early */
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_CAMPAIGN_LOST, .leader_present = true,
                                          .leader_name = "mon-a", .leader_lease = LEASE }, T0 + 3000, &a);
        assert_int_equal(c.state, CLUSTER_FOLLOWER);
        assert_false(cluster_may_act(&c, T0 + 3000));
        /* about to expire: poll fast; gone: campaign at once */
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_LEADER_TTL, .ttl_sec = 1 }, T0 + 4000, &a);
        assert_true(has(&a, CLUSTER_DO_POLL, &at));
        assert_int_equal(at, T0 + 4000 + CLUSTER_FAST_POLL_USEC);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_LEADER_TTL, .ttl_sec = -1 }, T0 + 5000, &a);
        assert_true(has(&a, CLUSTER_DO_CAMPAIGN, &at));
        assert_int_equal(at, T0 + 5000);
}

static void cluster__leader_key_taken__deposed_by_poll_or_guard(void **unused) {
        struct cluster c;
        struct cluster_actions a;

        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_POLLED, .leader_present = true, .leader_name = "mon-b",
                                          .leader_lease = 42 }, T0 + S, &a);
        assert_int_equal(c.state, CLUSTER_FOLLOWER);
        assert_true(has(&a, CLUSTER_DO_STOP_ACTING, NULL));
        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_GUARD_FAILED, .deposed = false }, T0 + S, &a);
        assert_int_equal(c.state, CLUSTER_LEADER);      /* the record moved: the writer re-reads, still leader */
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_GUARD_FAILED, .deposed = true }, T0 + S, &a);
        assert_int_equal(c.state, CLUSTER_FOLLOWER);
        assert_true(has(&a, CLUSTER_DO_STOP_ACTING, NULL));
}

/* After a stall that did not outlive the lease on the server, our key is still there: lead again only once a
 * fresh keep-alive is answered. */
static void cluster__own_key_found_with_a_stale_lease__leads_only_after_a_fresh_keepalive(void **unused) {
        struct cluster c;
        struct cluster_actions a;

        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_TICK }, T0 + 8 * S, &a);
        assert_int_equal(c.state, CLUSTER_UNAVAILABLE);    /* nothing renewed it in time */
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_POLLED, .leader_present = true, .leader_name = "mon-a",
                                          .leader_lease = LEASE }, T0 + 8 * S + 10, &a);
        assert_int_equal(c.state, CLUSTER_FOLLOWER);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = 10, .send = T0 + 8 * S + 20 },
             T0 + 8 * S + 30, &a);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_POLLED, .leader_present = true, .leader_name = "mon-a",
                                          .leader_lease = LEASE }, T0 + 8 * S + 40, &a);
        assert_int_equal(c.state, CLUSTER_LEADER);
        assert_true(has(&a, CLUSTER_DO_START_ACTING, NULL));
}

static void cluster__campaign_won_after_the_deadline__does_not_lead(void **unused) {
        struct cluster c;
        struct cluster_actions a;

        cluster_init(&c, "mon-b", 10 * S, T0);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_GRANTED, .lease = 9, .ttl_sec = 10, .send = T0 }, T0, &a);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_CAMPAIGN_WON }, T0 + 8 * S, &a);
        assert_int_equal(c.state, CLUSTER_FOLLOWER);
        assert_false(has(&a, CLUSTER_DO_START_ACTING, NULL));
}

/* Credentials or RBAC refused (403 on the poll): unavailable at once, a leader gives its lease back (so a member
 * that can read takes over now), keep-alives alone do not bring it back, a working poll does. */
static void cluster__refused_by_etcd__unavailable_at_once_leader_revokes(void **unused) {
        struct cluster c;
        struct cluster_actions a;
        uint64_t at;

        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_REQUEST_FAILED, .op = CLUSTER_OP_POLL,
                                          .error = ETCD_ERROR_PERMISSION_DENIED,
                                          .reason = "etcdserver: permission denied" }, T0 + S, &a);
        assert_int_equal(c.state, CLUSTER_UNAVAILABLE);
        assert_true(has(&a, CLUSTER_DO_STOP_ACTING, NULL));
        assert_true(has(&a, CLUSTER_DO_REVOKE, NULL));
        for (size_t i = 0; i < a.n; i++)
                if (a.a[i].kind == CLUSTER_DO_REVOKE)
                        assert_true(a.a[i].lease == LEASE);
        assert_true(has(&a, CLUSTER_DO_GRANT, &at));
        assert_int_equal(at, T0 + S + 10 * S);          /* not at once: no grant/revoke ping-pong */
        assert_false(cluster_may_act(&c, T0 + S));
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_GRANTED, .lease = 77, .ttl_sec = 10, .send = T0 + 11 * S },
             T0 + 11 * S, &a);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = 10, .send = T0 + 12 * S }, T0 + 12 * S, &a);
        assert_int_equal(c.state, CLUSTER_UNAVAILABLE);         /* a keep-alive needs no token: not proof */
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_POLLED, .leader_present = true, .leader_name = "mon-b",
                                          .leader_lease = 42 }, T0 + 12 * S, &a);
        assert_int_equal(c.state, CLUSTER_FOLLOWER);
        /* a follower refused: unavailable, nothing to revoke */
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_REQUEST_FAILED, .op = CLUSTER_OP_POLL,
                                          .error = ETCD_ERROR_AUTH_FAILED, .reason = "authentication failed" },
             T0 + 13 * S, &a);
        assert_int_equal(c.state, CLUSTER_UNAVAILABLE);
        assert_false(has(&a, CLUSTER_DO_REVOKE, NULL));
        assert_true(c.lease == 77);
}

static void cluster__stop__leader_stops_acting_and_revokes(void **unused) {
        struct cluster c;
        struct cluster_actions a;

        leader(&c);
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_STOP }, T0 + S, &a);
        assert_int_equal(c.state, CLUSTER_STOPPING);
        assert_true(has(&a, CLUSTER_DO_STOP_ACTING, NULL));
        assert_true(has(&a, CLUSTER_DO_REVOKE, NULL));
        step(&c, (struct cluster_event) { .kind = CLUSTER_EV_CAMPAIGN_WON }, T0 + S, &a);
        assert_int_equal(a.n, 0);
}

/* ---------------------------------------------------------------- quorum */

static const char *const five[] = { "mon-a", "mon-b", "mon-c", "mon-d", "mon-e" };

static struct cluster_quorum_input qin(size_t n, unsigned self_failures, const struct cluster_view *v, size_t nv) {
        return (struct cluster_quorum_input) { .members = five, .n_members = n, .self = "mon-a",
                .self_failures = self_failures, .views = v, .n_views = nv, .epoch = 7, .active_site = "a",
                .threshold = 3, .fresh_usec = 2 * S, .now = T0 };
}

static struct cluster_view failing(const char *m) {
        return (struct cluster_view) { .member = m, .changed_at = T0 - S, .epoch = 7, .active_site = "a",
                                       .failures = 3, .digest_ok = true };
}

static void cluster__quorum_needed__n_1_to_5(void **unused) {
        static const size_t needed[] = { 0, 1, 2, 2, 3, 3 };
        struct cluster_quorum q;

        for (size_t n = 1; n <= 5; n++) {
                struct cluster_quorum_input in = qin(n, 3, NULL, 0);
                cluster_quorum(&in, &q);
                assert_int_equal(q.needed, needed[n]);
                assert_int_equal(q.agreeing, 1);
                assert_int_equal(q.majority, n == 1);
        }
}

static void cluster__quorum__fresh_views_count_stale_and_strangers_do_not(void **unused) {
        struct cluster_view v[] = { failing("mon-b"), failing("mon-c"), failing("mon-x"), failing("mon-a") };
        struct cluster_quorum_input in = qin(3, 0, v, 4);
        struct cluster_quorum q;

        /* the leader itself sees the active up: its stored view (mon-a) never replaces its memory */
        cluster_quorum(&in, &q);
        assert_int_equal(q.agreeing, 2);
        assert_true(q.majority);
        v[1].changed_at = T0 - 2 * S;                   /* exactly at the freshness bound: still fresh */
        cluster_quorum(&in, &q);
        assert_int_equal(q.agreeing, 2);
        v[1].changed_at = T0 - 2 * S - 1;               /* stale */
        cluster_quorum(&in, &q);
        assert_int_equal(q.agreeing, 1);
        assert_false(q.majority);
}

static void cluster__quorum__other_epoch_site_or_below_threshold_do_not_agree(void **unused) {
        struct cluster_view v[] = { failing("mon-b"), failing("mon-c") };
        struct cluster_quorum_input in = qin(3, 3, v, 2);
        struct cluster_quorum q;

        v[0].epoch = 6, v[1].active_site = "b";
        cluster_quorum(&in, &q);
        assert_int_equal(q.agreeing, 1);
        v[0].epoch = 7, v[1].active_site = "a", v[1].failures = 2;
        cluster_quorum(&in, &q);
        assert_int_equal(q.agreeing, 2);
        assert_true(q.majority);
}

static void cluster__quorum__other_digest_counted_as_mismatch_not_agreement(void **unused) {
        struct cluster_view v[] = { failing("mon-b"), failing("mon-c") };
        struct cluster_quorum_input in = qin(3, 0, v, 2);
        struct cluster_quorum q;

        v[0].digest_ok = false;
        cluster_quorum(&in, &q);
        assert_int_equal(q.agreeing, 1);
        assert_int_equal(q.mismatched, 1);
        assert_false(q.majority);
}

static void cluster__quorum__a_member_counts_once_and_self_must_be_a_member(void **unused) {
        struct cluster_view v[] = { failing("mon-b"), failing("mon-b"), failing("mon-b") };
        struct cluster_quorum_input in = qin(5, 3, v, 3);
        struct cluster_quorum q;

        cluster_quorum(&in, &q);
        assert_int_equal(q.agreeing, 2);
        assert_false(q.majority);                       /* 5 members: 3 needed */
        in.self = "mon-z";
        in.n_members = 2;
        cluster_quorum(&in, &q);
        assert_false(q.majority);
}

/* Freshness is measured on the leader's own CLOCK_BOOTTIME, which never goes back: a "changed" time after now can
 * only be a bug (another clock mixed in) and must not count as fresh — nor may a huge age wrap around. */
static void cluster__quorum__changed_in_the_future_or_long_ago__not_fresh(void **unused) {
        struct cluster_view v[] = { failing("mon-b"), failing("mon-c") };
        struct cluster_quorum_input in = qin(3, 3, v, 2);
        struct cluster_quorum q;

        v[0].changed_at = T0 + 1;
        v[1].changed_at = 0;
        cluster_quorum(&in, &q);
        assert_int_equal(q.agreeing, 1);
        assert_false(q.majority);
}

static void cluster__seen__first_sighting_and_changes_only(void **unused) {
        struct cluster_seen s = { 0 };

        cluster_seen_update(&s, 10, T0);
        assert_int_equal(s.changed_at, T0);
        cluster_seen_update(&s, 10, T0 + 5 * S);
        assert_int_equal(s.changed_at, T0);             /* unchanged revision: not fresher */
        cluster_seen_update(&s, 12, T0 + 6 * S);
        assert_int_equal(s.changed_at, T0 + 6 * S);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(cluster__ttl_10__deadline_8s_after_the_send),
                cmocka_unit_test(cluster__kept__moves_the_deadline_by_the_send_time),
                cmocka_unit_test(cluster__kept_answer_read_after_a_long_stall__does_not_revive_acting),
                cmocka_unit_test(cluster__reordered_older_answer__does_not_move_the_deadline_back),
                cmocka_unit_test(cluster__deadline_tick__stops_acting),
                cmocka_unit_test(cluster__keepalive_without_ttl__lease_lost_stop_and_grant),
                cmocka_unit_test(cluster__lease_not_found_on_keepalive__lease_lost),
                cmocka_unit_test(cluster__etcd_leader_change__retry_keeps_acting_within_the_deadline),
                cmocka_unit_test(cluster__follower_without_answers__unavailable_then_back),
                cmocka_unit_test(cluster__poll_sees_another_leader__follows_and_campaigns_at_its_expiry),
                cmocka_unit_test(cluster__leader_key_taken__deposed_by_poll_or_guard),
                cmocka_unit_test(cluster__own_key_found_with_a_stale_lease__leads_only_after_a_fresh_keepalive),
                cmocka_unit_test(cluster__campaign_won_after_the_deadline__does_not_lead),
                cmocka_unit_test(cluster__refused_by_etcd__unavailable_at_once_leader_revokes),
                cmocka_unit_test(cluster__stop__leader_stops_acting_and_revokes),
                cmocka_unit_test(cluster__quorum_needed__n_1_to_5),
                cmocka_unit_test(cluster__quorum__fresh_views_count_stale_and_strangers_do_not),
                cmocka_unit_test(cluster__quorum__other_epoch_site_or_below_threshold_do_not_agree),
                cmocka_unit_test(cluster__quorum__other_digest_counted_as_mismatch_not_agreement),
                cmocka_unit_test(cluster__quorum__a_member_counts_once_and_self_must_be_a_member),
                cmocka_unit_test(cluster__quorum__changed_in_the_future_or_long_ago__not_fresh),
                cmocka_unit_test(cluster__seen__first_sighting_and_changes_only),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
