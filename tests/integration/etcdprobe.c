/* etcdprobe: the integration tests' stand-in for a cluster member (tests/integration/scenarios_etcd.py) — the
 * pure leadership machine (cluster.c) driven on the loop by the etcd client (etcd.c), with guarded writes of a
 * record while it may act. Not the daemon: member.c will own this for real; this is the lower layers' test rig.
 * It prints one line per fact on stdout (line-buffered), e.g. "state leading", "acting 1", "write ok 3 rev=9",
 * "keepalive rtt_ms=2.1 ttl=3", "fence failed deposed holder=mon-b", for the test to read.
 * With --serve it runs forwarded commands (memcmd.c) while it leads: a pause whose reason is "lines=N exit=C
 * every=MS" says N lines, one every MS, then exits C. With --command WORDS it forwards WORDS once it knows the
 * leader (or after 3 polls without one) and prints what comes back: "relay log LEVEL: text", "relay out text",
 * "relay exit N". --no-campaign keeps it a follower. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "cluster.h"
#include "etcd.h"
#include "etcdmsg.h"
#include "health.h"
#include "memcmd.h"
#include "util.h"

enum { T_GRANT, T_KEEPALIVE, T_POLL, T_CAMPAIGN, T_TICK, T_WRITE, T_MAX };

struct probe {
        sd_event *event;
        struct health *health;
        struct etcd *etcd;
        struct cluster cluster;
        sd_event_source *timers[T_MAX];
        bool busy[T_MAX];
        char *prefix, *dir_key, *leader_key, *record_key;
        uint64_t write_usec, timeout_usec;
        uint64_t seq;
        int64_t record_rev;
        uint64_t last_wake;             /* boottime of the last loop turn, to see a stall */
        bool stopping;
        bool acting;
        const char *user, *ca_file, *cert_file, *key_file;
        char *password;
        /* forwarded commands */
        struct memcmd *memcmd;
        int64_t epoch;
        bool serve, no_campaign;
        const char *command;
        bool command_sent;
        unsigned polls;
        struct control_call *running;   /* --serve: the command being run */
        sd_event_source *line_timer;
        unsigned lines_left, line_no, every_ms;
        int exit_code;
};

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...) {
        va_list ap;

        printf("%.3f ", (double) now_boottime_usec() / 1e6);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static void feed(struct probe *p, struct cluster_event ev);
static void maybe_forward(struct probe *p);
static void sync_membership(struct probe *p);

static void arm(struct probe *p, int t, uint64_t at) {
        (void) sd_event_source_set_time(p->timers[t], at);
        (void) sd_event_source_set_enabled(p->timers[t], SD_EVENT_ONESHOT);
}

static void fail_event(struct probe *p, enum cluster_op op, const struct etcd_result *r) {
        static const char *const ops[] = { "grant", "keepalive", "poll", "campaign", "timetolive", "write" };

        out("failed %s http=%ld %s", ops[op], r->http, r->message[0] ? r->message : "(unparseable answer)");
        feed(p, (struct cluster_event) { .kind = CLUSTER_EV_REQUEST_FAILED, .op = op, .error = r->error,
                                         .reason = r->message });
}

/* ---------------------------------------------------------------- requests */

static void on_grant(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct probe *p = ud;
        int64_t id, ttl;

        p->busy[T_GRANT] = false;
        if (!r->ok || etcdmsg_parse_grant(r->body, r->body_len, &id, &ttl) < 0)
                return fail_event(p, CLUSTER_OP_GRANT, r);
        out("granted lease=%" PRIx64 " ttl=%" PRId64, (uint64_t) id, ttl);
        feed(p, (struct cluster_event) { .kind = CLUSTER_EV_GRANTED, .lease = id, .ttl_sec = ttl,
                                         .send = r->send_usec });
}

static void on_keepalive(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct probe *p = ud;
        int64_t ttl;

        p->busy[T_KEEPALIVE] = false;
        if (!r->ok || etcdmsg_parse_keepalive(r->body, r->body_len, &ttl) < 0)
                return fail_event(p, CLUSTER_OP_KEEPALIVE, r);
        struct etcd_counters n;

        etcd_get_counters(p->etcd, &n);
        out("keepalive rtt_ms=%.1f ttl=%" PRId64 " auth=%" PRIu64, (double) (now_boottime_usec() - r->send_usec) / 1e3,
            ttl, n.authentications);
        feed(p, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = ttl, .send = r->send_usec });
}

static void on_timetolive(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct probe *p = ud;
        int64_t ttl;

        if (!r->ok || etcdmsg_parse_timetolive(r->body, r->body_len, &ttl) < 0)
                return;                 /* the next poll asks again */
        feed(p, (struct cluster_event) { .kind = CLUSTER_EV_LEADER_TTL, .ttl_sec = ttl });
}

static void ask_leader_ttl(struct probe *p, int64_t lease) {
        char *body;

        if (etcdmsg_lease(lease, &body) < 0)
                return;
        (void) etcd_call(p->etcd, "/v3/lease/timetolive", body, 0, on_timetolive, p, NULL);
        free(body);
}

static void on_poll(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct probe *p = ud;
        struct etcdmsg_range_result res;
        struct cluster_event ev = { .kind = CLUSTER_EV_POLLED };
        char old[CLUSTER_NAME_MAX];

        p->busy[T_POLL] = false;
        if (!r->ok || etcdmsg_parse_range(r->body, r->body_len, &res) < 0)
                return fail_event(p, CLUSTER_OP_POLL, r);
        for (size_t i = 0; i < res.n; i++) {
                if (strcmp(res.kvs[i].key, p->leader_key) == 0) {
                        ev.leader_present = true;
                        ev.leader_name = res.kvs[i].value;
                        ev.leader_lease = res.kvs[i].lease;
                }
                if (strcmp(res.kvs[i].key, p->record_key) == 0)
                        p->record_rev = res.kvs[i].mod_revision;
        }
        snprintf(old, sizeof old, "%s", p->cluster.leader);
        feed(p, ev);
        if (p->memcmd)
                memcmd_on_poll(p->memcmd, &res);
        p->polls++;
        maybe_forward(p);
        if (strcmp(old, p->cluster.leader) != 0)
                out("leader %s", p->cluster.leader[0] ? p->cluster.leader : "-");
        if (ev.leader_present && ev.leader_lease != p->cluster.lease)
                ask_leader_ttl(p, ev.leader_lease);
        etcdmsg_range_result_done(&res);
}

/* ---------------------------------------------------------------- forwarded commands */

static void relay_log(const char *level, const char *text, void *ud) {
        out("relay log %s: %s", level, text);
}

static void relay_out(const char *text, void *ud) {
        out("relay out %s", text);
}

static void relay_exit(int code, void *ud) {
        out("relay exit %d", code);
}

static void maybe_forward(struct probe *p) {
        static const struct control_call_ops ops = { relay_log, relay_out, relay_exit };
        struct control_request req;
        struct control_call *call;

        if (!p->command || p->command_sent || !p->cluster.lease || (!p->cluster.leader[0] && p->polls < 3))
                return;
        p->command_sent = true;
        if (control_parse_request(p->command, &req) < 0 || control_call_new_remote(&ops, p, &call) < 0) {
                out("command refused bad-words");
                return;
        }
        req.uid = getuid();
        req.pid = getpid();
        out("forward %s", p->command);
        (void) memcmd_forward(p->memcmd, &req, call);
}

static int on_line_timer(sd_event_source *s, uint64_t usec, void *ud) {
        struct probe *p = ud;
        char text[64];

        if (!p->running)
                return 0;
        if (p->lines_left == 0) {
                out("served exit %d", p->exit_code);
                control_call_finish(p->running, p->exit_code);
                p->running = NULL;
                return 0;
        }
        p->lines_left--;
        snprintf(text, sizeof text, "line %u", ++p->line_no);
        if (p->line_no % 2)
                control_call_log(p->running, "notice", text);
        else
                control_call_out(p->running, text);
        (void) sd_event_source_set_time_relative(s, (uint64_t) p->every_ms * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

/* --serve: the manager's stand-in. */
static void serve(struct control_call *call, const struct control_request *req, void *ud) {
        struct probe *p = ud;
        unsigned lines = 0, every = 100;
        int code = 0;

        out("serve uid=%u pid=%d %s %s", (unsigned) req->uid, (int) req->pid, control_command_to_string(req->command),
            req->reason);
        if (p->running || !cluster_may_act(&p->cluster, now_boottime_usec())) {
                control_call_log(call, "error", p->running ? "busy" : "not acting");
                control_call_finish(call, 75);
                return;
        }
        (void) sscanf(req->reason, "lines=%u exit=%d every=%u", &lines, &code, &every);
        p->running = call;
        p->lines_left = lines;
        p->line_no = 0;
        p->every_ms = every;
        p->exit_code = code;
        (void) sd_event_source_set_time_relative(p->line_timer, (uint64_t) every * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(p->line_timer, SD_EVENT_ONESHOT);
}

static void sync_membership(struct probe *p) {
        struct memcmd_membership m = {
                .lease = p->cluster.lease, .leader = p->cluster.leader, .leader_lease = p->cluster.leader_lease,
                .epoch = p->epoch, .acting = p->serve && cluster_may_act(&p->cluster, now_boottime_usec()),
                .unavailable = p->cluster.state == CLUSTER_UNAVAILABLE ? p->cluster.reason : NULL,
        };

        if (p->memcmd)
                memcmd_set_membership(p->memcmd, &m);
}

static void on_campaign(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct probe *p = ud;
        struct etcdmsg_txn_result t;
        struct cluster_event ev = { .kind = CLUSTER_EV_CAMPAIGN_LOST };

        p->busy[T_CAMPAIGN] = false;
        if (!r->ok || etcdmsg_parse_txn(r->body, r->body_len, &t) < 0)
                return fail_event(p, CLUSTER_OP_CAMPAIGN, r);
        if (t.succeeded)
                ev.kind = CLUSTER_EV_CAMPAIGN_WON;
        else if (t.n > 0 && t.responses[0].n > 0) {
                ev.leader_present = true;
                ev.leader_name = t.responses[0].kvs[0].value;
                ev.leader_lease = t.responses[0].kvs[0].lease;
        }
        out("campaign %s", t.succeeded ? "won" : "lost");
        feed(p, ev);
        etcdmsg_txn_result_done(&t);
}

/* A guarded write's answer: ok, or who holds the leader key now. fence: the unconditional check after a wake-up. */
static void guarded_answer(struct probe *p, const struct etcd_result *r, const char *what) {
        struct etcdmsg_txn_result t;
        const char *holder = "-";
        bool deposed;

        if (!r->ok || etcdmsg_parse_txn(r->body, r->body_len, &t) < 0) {
                out("%s error %s", what, r->message);
                return;
        }
        if (t.succeeded) {
                p->record_rev = t.revision;
                out("%s ok %" PRIu64 " rev=%" PRId64, what, p->seq, t.revision);
                etcdmsg_txn_result_done(&t);
                return;
        }
        deposed = !(t.n > 0 && t.responses[0].n > 0 && t.responses[0].kvs[0].lease == p->cluster.lease);
        if (t.n > 0 && t.responses[0].n > 0)
                holder = t.responses[0].kvs[0].value;
        if (!deposed && t.n > 1 && t.responses[1].n > 0)
                p->record_rev = t.responses[1].kvs[0].mod_revision;
        out("%s failed %s holder=%s", what, deposed ? "deposed" : "moved", holder);
        feed(p, (struct cluster_event) { .kind = CLUSTER_EV_GUARD_FAILED, .deposed = deposed });
        etcdmsg_txn_result_done(&t);
}

static void on_write(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct probe *p = ud;

        p->busy[T_WRITE] = false;
        guarded_answer(p, r, "write");
}

static void on_fence(struct etcd *e, const struct etcd_result *r, void *ud) {
        guarded_answer(ud, r, "fence");
}

static int send_guarded(struct probe *p, etcd_fn fn, uint64_t deadline) {
        struct etcdmsg_guard g = { p->leader_key, p->cluster.lease, p->record_key, p->record_rev };
        char *text = NULL, *body = NULL;
        struct etcdmsg_put_op put;
        int r;

        if (asprintf(&text, "writer %s %" PRIx64 " %" PRIu64 "\n", p->cluster.name, (uint64_t) p->cluster.lease,
                     ++p->seq) < 0)
                return -ENOMEM;
        put = (struct etcdmsg_put_op) { .key = p->record_key, .value = text, .value_len = strlen(text) };
        r = etcdmsg_guarded(&g, &put, 1, &body);
        if (r >= 0)
                r = etcd_call(p->etcd, "/v3/kv/txn", body, deadline, fn, p, NULL);
        free(text);
        free(body);
        return r;
}

/* The stand-in for a step: every write starts with may_act (§5: every entry point that can act asks first). */
static void do_write(struct probe *p) {
        uint64_t now = now_boottime_usec();

        if (!cluster_may_act(&p->cluster, now)) {
                out("write refused not-acting");
                return;
        }
        if (p->busy[T_WRITE])
                return;
        p->busy[T_WRITE] = send_guarded(p, on_write, cluster_deadline(&p->cluster)) >= 0;
}

static void start(struct probe *p, int t, const char *path, char *body, etcd_fn fn, uint64_t deadline) {
        if (!body || p->busy[t]) {
                free(body);
                return;
        }
        p->busy[t] = etcd_call(p->etcd, path, body, deadline, fn, p, NULL) >= 0;
        free(body);
}

static void run_timer(struct probe *p, int t) {
        char *body = NULL;

        switch (t) {
        case T_GRANT:
                if (etcdmsg_grant((int64_t) (p->cluster.requested_ttl_usec / USEC_PER_SEC), &body) >= 0)
                        start(p, t, "/v3/lease/grant", body, on_grant, 0);
                break;
        case T_KEEPALIVE:
                if (p->cluster.lease && etcdmsg_lease(p->cluster.lease, &body) >= 0)
                        start(p, t, "/v3/lease/keepalive", body, on_keepalive,
                              p->cluster.state == CLUSTER_LEADER ? cluster_deadline(&p->cluster) : 0);
                break;
        case T_POLL:
                /* "<prefix>/" to "<prefix>0": exactly the keys a role granted "--prefix <prefix>/" may read */
                if (etcdmsg_range_prefix(p->dir_key, &body) >= 0)
                        start(p, t, "/v3/kv/range", body, on_poll, 0);
                break;
        case T_CAMPAIGN:
                if (p->cluster.lease && etcdmsg_create(p->leader_key, p->cluster.name, strlen(p->cluster.name),
                                                       p->cluster.lease, &body) >= 0)
                        start(p, t, "/v3/kv/txn", body, on_campaign, cluster_deadline(&p->cluster));
                break;
        case T_TICK:
                feed(p, (struct cluster_event) { .kind = CLUSTER_EV_TICK });
                break;
        case T_WRITE:
                do_write(p);
                if (p->acting)
                        arm(p, T_WRITE, now_boottime_usec() + p->write_usec);
                break;
        }
}

/* ---------------------------------------------------------------- actions */

static void on_revoked(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct probe *p = ud;

        out("revoked %s", r->ok ? "ok" : r->message);
        if (p->stopping)
                sd_event_exit(p->event, 0);
}

static void execute(struct probe *p, const struct cluster_actions *a) {
        static const int timer_of[] = { [CLUSTER_DO_GRANT] = T_GRANT, [CLUSTER_DO_KEEPALIVE] = T_KEEPALIVE,
                                        [CLUSTER_DO_POLL] = T_POLL, [CLUSTER_DO_CAMPAIGN] = T_CAMPAIGN,
                                        [CLUSTER_DO_TICK] = T_TICK };
        char *body = NULL;

        for (size_t i = 0; i < a->n; i++)
                switch (a->a[i].kind) {
                case CLUSTER_DO_GRANT:
                case CLUSTER_DO_KEEPALIVE:
                case CLUSTER_DO_POLL:
                case CLUSTER_DO_CAMPAIGN:
                case CLUSTER_DO_TICK:
                        if (a->a[i].kind == CLUSTER_DO_CAMPAIGN && p->no_campaign)
                                break;
                        arm(p, timer_of[a->a[i].kind], a->a[i].at ? a->a[i].at : 1);
                        break;
                case CLUSTER_DO_START_ACTING:
                        p->acting = true;
                        out("acting 1");
                        arm(p, T_WRITE, 1);
                        break;
                case CLUSTER_DO_STOP_ACTING:
                        p->acting = false;
                        (void) sd_event_source_set_enabled(p->timers[T_WRITE], SD_EVENT_OFF);
                        out("acting 0");
                        break;
                case CLUSTER_DO_REVOKE:         /* bounded by 1 s: on SIGTERM the exit waits for it */
                        if (etcdmsg_lease(a->a[i].lease, &body) >= 0 &&
                            etcd_call(p->etcd, "/v3/lease/revoke", body, now_boottime_usec() + USEC_PER_SEC,
                                      on_revoked, p, NULL) >= 0) {
                                free(body);
                                break;
                        }
                        free(body);
                        if (p->stopping)
                                sd_event_exit(p->event, 0);
                        break;
                case CLUSTER_DO_SAY:
                        out("state %s%s%s", cluster_state_to_string(a->a[i].state),
                            p->cluster.reason[0] ? " reason=" : "", p->cluster.reason);
                        break;
                }
}

static void feed(struct probe *p, struct cluster_event ev) {
        struct cluster_actions a;

        cluster_step(&p->cluster, &ev, now_boottime_usec(), &a);
        execute(p, &a);
        sync_membership(p);
        if (p->cluster.state == CLUSTER_STOPPING && a.n == 0 && p->stopping)
                sd_event_exit(p->event, 0);
}

/* ---------------------------------------------------------------- loop */

static int on_timer(sd_event_source *s, uint64_t usec, void *ud) {
        struct probe *p = ud;

        for (int t = 0; t < T_MAX; t++)
                if (p->timers[t] == s)
                        run_timer(p, t);
        return 0;
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *ud) {
        struct probe *p = ud;

        p->stopping = true;
        feed(p, (struct cluster_event) { .kind = CLUSTER_EV_STOP });
        return 0;
}

/* After SIGCONT: say what the acting rule says now, then send one guarded write regardless (the "fence" check),
 * to show that etcd refuses it too if the lease is gone. */
static int on_cont(sd_event_source *s, const struct signalfd_siginfo *si, void *ud) {
        struct probe *p = ud;
        uint64_t now = now_boottime_usec();

        out("woke may_act=%d deadline_in_ms=%.0f", cluster_may_act(&p->cluster, now),
            ((double) cluster_deadline(&p->cluster) - (double) now) / 1e3);
        if (p->cluster.lease)
                (void) send_guarded(p, on_fence, 0);     /* no deadline: it is meant to reach etcd */
        return 0;
}

static char *joined(const char *a, const char *b) {
        char *s;

        return asprintf(&s, "%s%s", a, b) < 0 ? NULL : s;
}

/* The first line of path, without its newline; NULL on error (said on stderr). */
static char *read_password(const char *path) {
        char *line = NULL;
        size_t size = 0;
        ssize_t n;
        FILE *f = fopen(path, "re");

        if (!f) {
                fprintf(stderr, "etcdprobe: %s: %m\n", path);
                return NULL;
        }
        n = getline(&line, &size, f);
        fclose(f);
        if (n < 0) {
                free(line);
                return NULL;
        }
        line[strcspn(line, "\n")] = '\0';
        return line;
}

static int setup(struct probe *p, const char *name, char *endpoints, uint64_t ttl_usec) {
        const char *eps[ETCD_ENDPOINTS_MAX];
        struct etcd_opts o = { .endpoints = eps, .timeout_usec = p->timeout_usec, .user = p->user,
                               .password = p->password, .ca_file = p->ca_file, .cert_file = p->cert_file,
                               .key_file = p->key_file };
        int r;

        for (char *tok = strtok(endpoints, ","); tok && o.n_endpoints < ETCD_ENDPOINTS_MAX; tok = strtok(NULL, ","))
                eps[o.n_endpoints++] = tok;
        if ((r = sd_event_default(&p->event)) < 0 || (r = health_new(p->event, &p->health)) < 0 ||
            (r = etcd_new(p->health, &o, &p->etcd)) < 0)
                return r;
        for (int t = 0; t < T_MAX; t++) {
                r = sd_event_add_time(p->event, &p->timers[t], CLOCK_BOOTTIME, 0, USEC_PER_MSEC, on_timer, p);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_enabled(p->timers[t], SD_EVENT_OFF);
        }
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGCONT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        if ((r = sd_event_add_signal(p->event, NULL, SIGTERM, on_term, p)) < 0 ||
            (r = sd_event_add_signal(p->event, NULL, SIGINT, on_term, p)) < 0 ||
            (r = sd_event_add_signal(p->event, NULL, SIGCONT, on_cont, p)) < 0)
                return r;
        p->dir_key = joined(p->prefix, "/");
        p->leader_key = joined(p->prefix, "/leader");
        p->record_key = joined(p->prefix, "/record");
        if (!p->dir_key || !p->leader_key || !p->record_key)
                return -ENOMEM;
        cluster_init(&p->cluster, name, ttl_usec, now_boottime_usec());
        if (p->serve || p->command) {
                r = memcmd_new(p->event, p->etcd, p->prefix, name, serve, p, &p->memcmd);
                if (r >= 0)
                        r = sd_event_add_time(p->event, &p->line_timer, CLOCK_BOOTTIME, 0, USEC_PER_MSEC,
                                              on_line_timer, p);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_enabled(p->line_timer, SD_EVENT_OFF);
        }
        return 0;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "name", required_argument, NULL, 'n' }, { "endpoints", required_argument, NULL, 'e' },
                { "ttl", required_argument, NULL, 't' }, { "prefix", required_argument, NULL, 'p' },
                { "timeout-ms", required_argument, NULL, 'o' }, { "write-ms", required_argument, NULL, 'w' },
                { "user", required_argument, NULL, 'u' }, { "password-file", required_argument, NULL, 'P' },
                { "ca-file", required_argument, NULL, 'C' }, { "cert-file", required_argument, NULL, 'c' },
                { "key-file", required_argument, NULL, 'k' },
                { "epoch", required_argument, NULL, 'E' }, { "serve", no_argument, NULL, 'S' },
                { "no-campaign", no_argument, NULL, 'N' }, { "command", required_argument, NULL, 'X' },
                {}
        };
        struct probe p = { .timeout_usec = 500 * USEC_PER_MSEC, .write_usec = 300 * USEC_PER_MSEC, .epoch = 7 };
        const char *name = NULL;
        char *endpoints = NULL;
        uint64_t ttl = 3 * USEC_PER_SEC;
        int c, r;

        p.prefix = "/blfailoverd/a+b";
        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'n': name = optarg; break;
                case 'e': endpoints = optarg; break;
                case 't': ttl = strtoull(optarg, NULL, 10) * USEC_PER_SEC; break;
                case 'p': p.prefix = optarg; break;
                case 'o': p.timeout_usec = strtoull(optarg, NULL, 10) * USEC_PER_MSEC; break;
                case 'w': p.write_usec = strtoull(optarg, NULL, 10) * USEC_PER_MSEC; break;
                case 'u': p.user = optarg; break;
                case 'P':
                        free(p.password);
                        if (!(p.password = read_password(optarg)))
                                return 2;
                        break;
                case 'C': p.ca_file = optarg; break;
                case 'c': p.cert_file = optarg; break;
                case 'k': p.key_file = optarg; break;
                case 'E': p.epoch = strtoll(optarg, NULL, 10); break;
                case 'S': p.serve = true; break;
                case 'N': p.no_campaign = true; break;
                case 'X': p.command = optarg; break;
                default: return 2;
                }
        if (!name || !endpoints || ttl == 0) {
                fprintf(stderr, "usage: etcdprobe --name N --endpoints URL[,URL…] [--ttl S] [--prefix P] "
                                "[--timeout-ms M] [--write-ms M] [--user U --password-file F] [--ca-file F] "
                                "[--cert-file F --key-file F] [--epoch N] [--serve] [--no-campaign] [--command WORDS]\n");
                return 2;
        }
        r = setup(&p, name, endpoints, ttl);
        if (r >= 0) {
                out("start %s pid=%d", name, (int) getpid());
                feed(&p, (struct cluster_event) { .kind = CLUSTER_EV_START });
                r = sd_event_loop(p.event);
        }
        if (r < 0)
                fprintf(stderr, "etcdprobe: %s\n", strerror(-r));
        for (int t = 0; t < T_MAX; t++)
                sd_event_source_disable_unref(p.timers[t]);
        if (p.running)
                control_call_finish(p.running, 1);
        memcmd_free(p.memcmd);
        sd_event_source_disable_unref(p.line_timer);
        etcd_free(p.etcd);
        health_free(p.health);
        sd_event_unref(p.event);
        free(p.dir_key);
        free(p.leader_key);
        free(p.record_key);
        free(p.password);
        return r < 0 ? 1 : 0;
}
