/* mode_cluster: the manager's side of a monitor cluster (member.h): who may act, the record as etcd holds it, the
 * views this member publishes, the gates' words, and the journal barrier handed to the executors. Standalone
 * (no `cluster:`) none of this runs and m->member is NULL. */
#include "manager_core.h"

#include <errno.h>
#include <string.h>

#include "exitcode.h"
#include "member.h"
#include "memcmd.h"

static const char *health_word(const struct monitor_endpoint *e) {
        return e->health == MONITOR_UP ? "up" : e->health == MONITOR_DOWN ? "down" : "unknown";
}

static void tell_memcmd(struct manager *m);
static void on_polled(struct member *mb, const struct etcdmsg_range_result *all, void *userdata);
static void run_forwarded(struct control_call *call, const struct control_request *req, void *userdata);

static void stop_running(struct manager *m) {
        const char *what = m->failover ? "failover" : m->switchover ? "switchover" : m->rejoin ? "rejoin" : NULL;

        if (!what)
                return;
        log_warning("cluster: this member may no longer act: the %s in progress stops here (its running step is "
                    "killed); the next leader resumes it from the journal", what);
        m->failover = failover_free(m->failover);
        m->switchover = switchover_free(m->switchover);
        m->rejoin = rejoin_free(m->rejoin);
        if (m->call)
                manager_command_finish(m, EXIT_FAILURE);
}

static void reread_record(struct manager *m) {
        uint64_t epoch = m->state.epoch;
        char serving[sizeof m->state.serving];

        snprintf(serving, sizeof serving, "%s", m->state.serving);
        manager_load_pause(m);
        manager_load_state(m);
        /* the sites form follows the record's roles: a failover or switchover another member ran moved them */
        if (m->config->sites_form && !m->failover && !m->switchover && !m->rejoin &&
            (epoch != m->state.epoch || strcmp(serving, m->state.serving) != 0))
                manager_rearm_after_op(m);
        m->last_said = MONITOR_WAIT;    /* the holds are news again */
}

static void on_acting_changed(struct member *mb, bool acting, void *userdata) {
        struct manager *m = userdata;

        if (m->memcmd)
                tell_memcmd(m);
        if (!acting) {
                stop_running(m);
                manager_load_state(m);
                manager_update_status(m);
                return;
        }
        reread_record(m);
        /* The takeover: what the last leader left unfinished is finished here, by today's resume rules. */
        manager_resume_interrupted(m);
        manager_on_decision(m);
        manager_update_status(m);
}

static void on_record_changed(struct member *mb, void *userdata) {
        struct manager *m = userdata;

        log_info("cluster: the record changed in etcd (written by the leader); the local copy follows");
        reread_record(m);
        manager_update_status(m);
}

static void on_views_changed(struct member *mb, void *userdata) {
        struct manager *m = userdata;

        if (!m->failover && !m->switchover && !m->rejoin && !m->once)
                manager_on_decision(m);
        manager_update_status(m);
}

static void on_name_taken(struct member *mb, void *userdata) {
        struct manager *m = userdata;

        stop_running(m);
        sd_event_exit(m->event, EXIT_CONFIG);
}

int manager_cluster_start(struct manager *m) {
        static const struct member_callbacks cb = {
                .acting_changed = on_acting_changed, .record_changed = on_record_changed,
                .views_changed = on_views_changed, .polled = on_polled, .name_taken = on_name_taken,
        };
        int r;

        if (!m->config->cluster.enabled)
                return 0;
        r = member_new(m->event, m->health, &m->bus, m->config, &cb, m, &m->member);
        if (r >= 0)
                r = memcmd_new(m->event, member_etcd(m->member), m->config->cluster.prefix, m->config->cluster.name,
                               run_forwarded, m, &m->memcmd);
        return r;
}

void manager_cluster_publish(struct manager *m) {
        const struct config *c = m->config;
        struct member_view_input v;

        if (!m->member)
                return;
        v = (struct member_view_input) {
                .epoch = (int64_t) m->state.epoch, .active_site = c->sites[c->serving].name,
                .standby_site = c->sites[1 - c->serving].name, .active_health = health_word(&m->active.monitor),
                .standby_health = health_word(&m->standby.monitor),
                .active_failures = m->active.monitor.consecutive_failures,
                .standby_failures = m->standby.monitor.consecutive_failures,
                .active_result = m->active.checks ? health_status_to_string(m->active.last.status) : "none",
                .standby_result = m->standby.checks ? health_status_to_string(m->standby.last.status) : "none",
        };
        member_publish_view(m->member, &v);
}

bool manager_cluster_fill(struct manager *m, struct monitor_cluster *ret) {
        struct cluster_quorum q;

        if (!m->member)
                return false;
        member_quorum(m->member, &q);
        *ret = (struct monitor_cluster) { .acting = member_may_act(m->member), .mismatch = member_mismatch(m->member),
                                          .unavailable = member_unavailable(m->member),
                                          .agreeing = q.agreeing, .needed = q.needed };
        return true;
}

static int sync_journal(void *userdata, void (*done)(void *f, int r), void *f) {
        return member_sync(userdata, done, f);
}

static void sync_cancel(void *userdata, void *f) {
        member_sync_cancel(userdata, f);
}

static bool sync_may_act(void *userdata) {
        return member_may_act(userdata);
}

struct op_sync manager_cluster_sync(struct manager *m) {
        if (!m->member)
                return (struct op_sync) {};
        return (struct op_sync) { .sync = sync_journal, .cancel = sync_cancel, .may_act = sync_may_act,
                                  .userdata = m->member };
}

static void on_committed(void *userdata, int r) {
        struct manager *m = userdata;

        if (r < 0)
                log_error("cluster: etcd did not take the change (%s): the other members do not see it, and this "
                          "member's copy follows etcd again; see --status and run the command again",
                          r == -EPERM ? "this member no longer leads" : r == -ETIMEDOUT ?
                          "no keep-alive answered in time" : strerror(-r));
        manager_command_finish(m, r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* The record or the pause changed by a command (pause, resume, clear-state): the caller hears "done" only once
 * etcd holds it, as every member then does within a poll. Standalone: done now. */
void manager_cluster_commit(struct manager *m) {
        int r;

        if (!m->member) {
                manager_command_finish(m, EXIT_SUCCESS);
                return;
        }
        r = member_sync(m->member, on_committed, m);
        if (r < 0)
                on_committed(m, r);
}

/* A command reaches a member that may not act: the leader carries it out (memcmd.h relays its output and exit). */
bool manager_cluster_forward(struct manager *m, struct control_call *call, const struct control_request *req) {
        if (!m->member || member_may_act(m->member))
                return false;
        log_notice("control: %s%s requested by pid %d (uid %u): forwarded to the leader %s",
                   control_command_to_string(req->command), req->force ? " --force" : "", (int) req->pid,
                   (unsigned) req->uid, member_leader(m->member)[0] ? member_leader(m->member) : "(none)");
        if (memcmd_forward(m->memcmd, req, call) < 0)
                control_call_finish(call, EXIT_FAILURE);
        return true;
}

/* The leader runs what another member forwarded, as if it came from its own socket: one command at a time. */
static void run_forwarded(struct control_call *call, const struct control_request *req, void *userdata) {
        struct manager *m = userdata;

        if (m->call || !member_may_act(m->member)) {
                control_call_log(call, "error", m->call ? "refused: another command is in progress on the leader; "
                                 "run it again once that has finished" : "refused: this member no longer leads");
                control_call_finish(call, EXIT_BUSY);
                return;
        }
        manager_control_request(m, call, req);
}

static void tell_memcmd(struct manager *m) {
        struct memcmd_membership ms = {
                .lease = member_lease(m->member), .leader = member_leader(m->member),
                .leader_lease = member_leader_lease(m->member), .epoch = (int64_t) m->state.epoch,
                .acting = member_may_act(m->member),
        };
        struct status_cluster s;

        member_fill_status(m->member, &s);
        if (strcmp(s.role, "unavailable") == 0)
                ms.unavailable = s.reason;
        memcmd_set_membership(m->memcmd, &ms);
}

static void on_polled(struct member *mb, const struct etcdmsg_range_result *all, void *userdata) {
        struct manager *m = userdata;

        if (!m->memcmd)
                return;
        tell_memcmd(m);
        memcmd_on_poll(m->memcmd, all);
}

void manager_cluster_status(struct manager *m, struct status_cluster *s) {
        if (m->member)
                member_fill_status(m->member, s);
}

const char *manager_cluster_words(struct manager *m, bool quorum) {
        return m->member ? member_gate_words(m->member, quorum) : NULL;
}
