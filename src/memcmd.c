/* memcmd: commands forwarded between cluster members through etcd, requester and leader side. See memcmd.h. */
#include "memcmd.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "exitcode.h"
#include "log.h"

#define CREATE_ATTEMPTS 3               /* a key left by an earlier run of ours with the same number: try the next */

/* A command this member asked the leader to run. */
struct ask {
        struct memcmd *mc;
        struct ask *prev, *next;
        struct control_call *call;      /* NULL once finished (the key's deletion may still be on its way) */
        char *key, *id;
        char request[CONTROL_MSG_MAX];  /* the protocol's words */
        int64_t uid, pid, epoch;
        char leader[CLUSTER_NAME_MAX];
        int64_t leader_lease;           /* the leader we asked */
        int64_t last_seq;               /* the last line relayed */
        uint64_t deadline;              /* the whole command's */
        unsigned attempts;
        bool created, leader_changed;
        sd_event_source *timer;
        struct etcd_call *q;
};

/* A command another member asked this one (the leader) to run. Kept while its key exists, so it is taken once. */
struct job {
        struct memcmd *mc;              /* NULL: memcmd was freed while the manager still ran it */
        struct job *prev, *next;
        char *key;
        int64_t create_revision, mod_revision;
        struct etcdmsg_command cmd;     /* what goes back: state, the last lines, exit */
        int64_t next_seq;
        struct control_request req;
        bool running;                   /* the manager holds the remote call */
        bool started, writing, dirty, gone, seen;
        uint64_t last_write;
        sd_event_source *timer;
        struct etcd_call *q;
};

struct memcmd {
        sd_event *event;
        struct etcd *etcd;
        char *prefix, *name, *commands_dir, *leader_key;
        memcmd_run_fn run;
        void *userdata;
        uint64_t seq;
        struct memcmd_membership m;
        char leader[CLUSTER_NAME_MAX], unavailable[512];
        struct ask *asks;
        struct job *jobs;
};

static char *joined(const char *a, const char *b) {
        char *s;

        return asprintf(&s, "%s%s", a, b) < 0 ? NULL : s;
}

static uint64_t request_deadline(uint64_t limit) {
        uint64_t d = now_boottime_usec() + MEMCMD_REQUEST_USEC;

        return limit && limit < d ? limit : d;
}

int memcmd_new(sd_event *e, struct etcd *etcd, const char *prefix, const char *name, memcmd_run_fn run,
               void *userdata, struct memcmd **ret) {
        struct memcmd *mc;

        if (!e || !etcd || !prefix || !name || !run || !ret || strlen(name) >= CLUSTER_NAME_MAX)
                return -EINVAL;
        mc = calloc(1, sizeof *mc);
        if (!mc)
                return -ENOMEM;
        *mc = (struct memcmd) { .event = sd_event_ref(e), .etcd = etcd, .run = run, .userdata = userdata,
                                .prefix = strdup(prefix), .name = strdup(name),
                                .commands_dir = joined(prefix, "/commands/"), .leader_key = joined(prefix, "/leader"),
                                /* numbers unlikely to meet a key an earlier run of ours left on a lease not yet
                                 * expired; a collision only moves on to the next number */
                                .seq = now_realtime_usec() / USEC_PER_MSEC };
        if (!mc->prefix || !mc->name || !mc->commands_dir || !mc->leader_key)
                return memcmd_free(mc), -ENOMEM;
        *ret = mc;
        return 0;
}

unsigned memcmd_pending(const struct memcmd *mc) {
        unsigned n = 0;

        for (const struct ask *a = mc->asks; a; a = a->next)
                n += a->call != NULL;
        for (const struct job *j = mc->jobs; j; j = j->next)
                n += !j->cmd.has_exit;
        return n;
}

/* ================================================================ requester side */

static void ask_free(struct ask *a) {
        LIST_REMOVE(a->mc->asks, a);
        etcd_call_cancel(a->q);
        sd_event_source_disable_unref(a->timer);
        free(a->key);
        free(a->id);
        free(a);
}

static void on_deleted(struct etcd *c, const struct etcd_result *r, void *userdata) {
        struct ask *a = userdata;

        a->q = NULL;
        ask_free(a);            /* not deleted: the key goes with our lease */
}

/* The end of a forwarded command for its caller; the key (if any) is deleted after. */
static void ask_finish(struct ask *a, int code, const char *level, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void ask_finish(struct ask *a, int code, const char *level, const char *fmt, ...) {
        char *body = NULL, line[CONTROL_MSG_MAX];
        va_list ap;

        if (fmt) {
                va_start(ap, fmt);
                vsnprintf(line, sizeof line, fmt, ap);
                va_end(ap);
                control_call_log(a->call, level, line);
        }
        control_call_finish(a->call, code);
        a->call = NULL;
        etcd_call_cancel(a->q);
        a->q = NULL;
        a->timer = sd_event_source_disable_unref(a->timer);
        if (!a->created || etcdmsg_deleterange(a->key, &body) < 0 ||
            etcd_call(a->mc->etcd, "/v3/kv/deleterange", body, request_deadline(0), on_deleted, a, &a->q) < 0)
                ask_free(a);
        free(body);
}

static void refuse_no_leader(struct memcmd *mc, struct control_call *call, const char *why) {
        char line[CONTROL_MSG_MAX];

        snprintf(line, sizeof line, "refused: the cluster has no leader (etcd: %s); only --once --force --local acts "
                 "without it", why);
        control_call_log(call, "error", line);
        control_call_finish(call, EXIT_BUSY);
}

static int on_ask_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void ask_poll_later(struct ask *a) {
        (void) sd_event_source_set_time(a->timer, now_boottime_usec() + MEMCMD_POLL_USEC);
        (void) sd_event_source_set_enabled(a->timer, SD_EVENT_ONESHOT);
}

static void ask_create(struct ask *a);

static void on_created(struct etcd *c, const struct etcd_result *r, void *userdata) {
        struct ask *a = userdata;
        struct etcdmsg_txn_result t;

        a->q = NULL;
        if (!r->ok || etcdmsg_parse_txn(r->body, r->body_len, &t) < 0) {
                refuse_no_leader(a->mc, a->call, r->message[0] ? r->message : "an answer it could not read");
                a->call = NULL;
                ask_free(a);
                return;
        }
        if (!t.succeeded) {
                etcdmsg_txn_result_done(&t);
                if (++a->attempts < CREATE_ATTEMPTS)
                        return ask_create(a);
                return ask_finish(a, EXIT_FAILURE, "error", "cannot create a command key under %s: each name "
                                  "was taken", a->mc->commands_dir);
        }
        etcdmsg_txn_result_done(&t);
        a->created = true;
        char line[CONTROL_MSG_MAX];
        snprintf(line, sizeof line, "forwarded to the leader %s as %s", a->leader, a->key);
        control_call_log(a->call, "info", line);
        ask_poll_later(a);
}

static void ask_create(struct ask *a) {
        struct memcmd *mc = a->mc;
        struct etcdmsg_command cmd = { .from = mc->name, .uid = a->uid, .pid = a->pid, .request = a->request,
                                       .epoch = a->epoch, .state = "queued" };
        char *body = NULL, *value = NULL;
        int r = -ENOMEM;

        free(a->key);
        free(a->id);
        a->key = a->id = NULL;
        if (asprintf(&a->id, "%s-%" PRIu64, mc->name, ++mc->seq) >= 0 && (a->key = joined(mc->commands_dir, a->id))) {
                cmd.id = a->id;
                r = etcdmsg_command_encode(&cmd, &value);
        }
        if (r >= 0)
                r = etcdmsg_create(a->key, value, strlen(value), mc->m.lease, &body);
        if (r >= 0)
                r = etcd_call(mc->etcd, "/v3/kv/txn", body, request_deadline(a->deadline), on_created, a, &a->q);
        free(value);
        free(body);
        if (r < 0)
                ask_finish(a, EXIT_FAILURE, "error", "cannot send the command to etcd: %s", strerror(-r));
}

/* Lines the leader wrote that we have not relayed yet, in order; a gap (we fell behind its last lines) is said. */
static void relay(struct ask *a, const struct etcdmsg_command *cmd) {
        for (size_t i = 0; i < cmd->n_lines; i++) {
                const struct etcdmsg_command_line *l = &cmd->lines[i];
                char gap[128];

                if (l->seq <= a->last_seq)
                        continue;
                if (l->seq > a->last_seq + 1) {
                        snprintf(gap, sizeof gap, "(%" PRId64 " lines of the leader's output not relayed: its journal "
                                 "has them)", l->seq - a->last_seq - 1);
                        control_call_log(a->call, "warning", gap);
                }
                if (l->level)
                        control_call_log(a->call, l->level, l->text);
                else
                        control_call_out(a->call, l->text);
                a->last_seq = l->seq;
        }
}

/* The key as the leader left it: relay, finish on "exit", notice a leader gone mid-command. */
static void ask_read(struct ask *a, const struct etcdmsg_kv *kv) {
        struct etcdmsg_command cmd;
        const char *m_leader = a->mc->leader;

        if (etcdmsg_command_parse(kv->value, kv->value_len, &cmd) < 0)
                return ask_finish(a, EXIT_FAILURE, "error", "the command key %s holds something unreadable; see "
                                  "--status", a->key);
        relay(a, &cmd);
        if (cmd.has_exit) {
                int code = cmd.exit_code;

                etcdmsg_command_done(&cmd);
                return ask_finish(a, code, NULL, NULL);
        }
        if (a->leader_changed && strcmp(cmd.state, "queued") == 0 && m_leader[0]) {
                /* nobody took it yet: the next leader will */
                snprintf(a->leader, sizeof a->leader, "%s", m_leader);
                a->leader_lease = a->mc->m.leader_lease;
                a->leader_changed = false;
        } else if (a->leader_changed) {
                etcdmsg_command_done(&cmd);
                return ask_finish(a, EXIT_FAILURE, "error", "leader %s lost the lease mid-command; the next leader "
                                  "resumes the journal (see --status)", a->leader);
        }
        etcdmsg_command_done(&cmd);
        ask_poll_later(a);
}

static void on_ask_polled(struct etcd *c, const struct etcd_result *r, void *userdata) {
        struct ask *a = userdata;
        struct etcdmsg_range_result res;

        a->q = NULL;
        if (!r->ok || etcdmsg_parse_range(r->body, r->body_len, &res) < 0) {
                if (a->mc->m.unavailable)
                        return ask_finish(a, EXIT_FAILURE, "error", "etcd became unavailable mid-command (%s); the "
                                          "leader %s may still carry it out (see --status)", a->mc->unavailable,
                                          a->leader);
                return ask_poll_later(a);       /* one failed read; the deadline bounds them all */
        }
        if (res.n == 0) {
                etcdmsg_range_result_done(&res);
                a->created = false;
                return ask_finish(a, EXIT_FAILURE, "error", "the command key %s vanished: this member's lease ended "
                                  "mid-command; whether the leader %s finished it, see --status", a->key, a->leader);
        }
        ask_read(a, &res.kvs[0]);
        etcdmsg_range_result_done(&res);
}

static int on_ask_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct ask *a = userdata;
        char *body = NULL;
        int r;

        if (now_boottime_usec() >= a->deadline)
                return ask_finish(a, EXIT_FAILURE, "error", "no result from the leader %s within %" PRIu64 " min; "
                                  "see --status", a->leader, MEMCMD_DEADLINE_USEC / USEC_PER_SEC / 60), 0;
        if (a->q)
                return 0;
        r = etcdmsg_range(a->key, NULL, &body);
        if (r >= 0)
                r = etcd_call(a->mc->etcd, "/v3/kv/range", body, request_deadline(a->deadline), on_ask_polled, a,
                              &a->q);
        free(body);
        if (r < 0)
                ask_poll_later(a);
        return 0;
}

int memcmd_forward(struct memcmd *mc, const struct control_request *req, struct control_call *call) {
        const char *why;
        struct ask *a;
        int r;

        if (!mc || !req || !call)
                return -EINVAL;
        why = mc->m.unavailable ? mc->unavailable : !mc->m.lease ? "this member has no lease yet"
              : !mc->leader[0] ? "no member holds the leader key" : NULL;
        if (why)
                return refuse_no_leader(mc, call, why), 0;
        if (strcmp(mc->leader, mc->name) == 0) {
                control_call_log(call, "error", "refused: this member holds the leader key but may not act yet "
                                 "(it is taking over); try again in a moment");
                return control_call_finish(call, EXIT_BUSY), 0;
        }
        a = calloc(1, sizeof *a);
        if (!a)
                return control_call_finish(call, EXIT_FAILURE), 0;
        *a = (struct ask) { .mc = mc, .call = call, .uid = req->uid, .pid = req->pid, .epoch = mc->m.epoch,
                            .leader_lease = mc->m.leader_lease,
                            .deadline = now_boottime_usec() + MEMCMD_DEADLINE_USEC };
        snprintf(a->leader, sizeof a->leader, "%s", mc->leader);
        LIST_PREPEND(mc->asks, a);
        r = control_request_format(req, a->request, sizeof a->request);
        if (r < 0)
                return ask_finish(a, EXIT_USAGE, "error", "cannot forward this request: %s", strerror(-r)), 0;
        r = sd_event_add_time(mc->event, &a->timer, CLOCK_BOOTTIME, 0, USEC_PER_MSEC, on_ask_timer, a);
        if (r < 0)
                return ask_finish(a, EXIT_FAILURE, "error", "cannot arm a timer: %s", strerror(-r)), 0;
        (void) sd_event_source_set_enabled(a->timer, SD_EVENT_OFF);
        ask_create(a);
        return 0;
}

/* ================================================================ membership */

void memcmd_set_membership(struct memcmd *mc, const struct memcmd_membership *m) {
        mc->m = *m;
        snprintf(mc->leader, sizeof mc->leader, "%s", m->leader ? m->leader : "");
        snprintf(mc->unavailable, sizeof mc->unavailable, "%s", m->unavailable ? m->unavailable : "");
        mc->m.leader = mc->leader;
        mc->m.unavailable = m->unavailable ? mc->unavailable : NULL;
        for (struct ask *a = mc->asks; a; a = a->next)
                if (a->call && a->created && m->leader_lease != a->leader_lease)
                        a->leader_changed = true;       /* the next read of the key decides */
}

/* ================================================================ leader side */

static void job_free(struct job *j) {
        if (j->mc)
                LIST_REMOVE(j->mc->jobs, j);
        etcd_call_cancel(j->q);
        sd_event_source_disable_unref(j->timer);
        etcdmsg_command_done(&j->cmd);
        free(j->key);
        free(j);
}

/* Keeps the last ETCDMSG_COMMAND_LINES_MAX lines: the requester relays what it has not seen, and says a gap. */
static void job_add_line(struct job *j, const char *level, const char *text) {
        struct etcdmsg_command_line l = { .seq = ++j->next_seq, .level = level ? strdup(level) : NULL,
                                          .text = strndup(text, CONTROL_MSG_MAX) };

        if ((level && !l.level) || !l.text) {
                free(l.level);
                free(l.text);
                return;
        }
        if (j->cmd.n_lines == ETCDMSG_COMMAND_LINES_MAX) {
                free(j->cmd.lines[0].level);
                free(j->cmd.lines[0].text);
                memmove(j->cmd.lines, j->cmd.lines + 1, (j->cmd.n_lines - 1) * sizeof *j->cmd.lines);
                j->cmd.n_lines--;
        }
        j->cmd.lines[j->cmd.n_lines++] = l;
}

static void job_write(struct job *j);

/* Something to write back: now, or MEMCMD_FLUSH_USEC after the last write; the end goes at once. */
static void job_dirty(struct job *j) {
        uint64_t now = now_boottime_usec(), at = j->last_write + MEMCMD_FLUSH_USEC;

        j->dirty = true;
        if (j->writing || j->gone || !j->mc)
                return;
        if (now >= at || j->cmd.has_exit)
                return job_write(j);
        (void) sd_event_source_set_time(j->timer, at);
        (void) sd_event_source_set_enabled(j->timer, SD_EVENT_ONESHOT);
}

static void job_log(const char *level_name, const char *text, void *userdata);
static void job_out(const char *text, void *userdata);
static void job_finished(int exit_code, void *userdata);
/* The remote call's three ends: what the manager says goes into the key. */
static const struct control_call_ops job_ops = { job_log, job_out, job_finished };

static void job_start(struct job *j) {
        struct control_call *call;

        j->started = true;
        if (control_call_new_remote(&job_ops, j, &call) < 0) {
                job_add_line(j, "error", "the leader cannot run it: out of memory");
                j->cmd.has_exit = true;
                j->cmd.exit_code = EXIT_FAILURE;
                return job_dirty(j);
        }
        j->running = true;
        log_notice("cluster: running %s from %s (uid %u, pid %d): %s", j->cmd.id, j->cmd.from, (unsigned) j->req.uid,
                   (int) j->req.pid, j->cmd.request);
        j->mc->run(call, &j->req, j->mc->userdata);
}

static void on_job_written(struct etcd *c, const struct etcd_result *r, void *userdata) {
        struct job *j = userdata;
        struct etcdmsg_txn_result t;

        j->q = NULL;
        j->writing = false;
        if (!r->ok || etcdmsg_parse_txn(r->body, r->body_len, &t) < 0) {
                /* unknown whether it landed: the guard makes a repeat safe, with the revision it would have had */
                log_warning("cluster: cannot write %s back (%s); trying again", j->key, r->message);
                j->mod_revision = -1;   /* re-read at the next poll */
                return job_dirty(j);
        }
        if (!t.succeeded) {
                bool deposed = !(t.n > 0 && t.responses[0].n > 0 && t.responses[0].kvs[0].lease == j->mc->m.lease);

                log_notice("cluster: %s: %s; its output is no longer written back", j->key,
                           deposed ? "this member no longer holds the leader key" : "the requester's key changed or "
                           "went (its lease ended)");
                j->gone = true;
                etcdmsg_txn_result_done(&t);
                return;
        }
        j->mod_revision = t.revision;
        j->last_write = now_boottime_usec();
        etcdmsg_txn_result_done(&t);
        if (!j->started && !j->cmd.has_exit)
                job_start(j);           /* taken: "running" is in etcd, nobody else will take it */
        else if (j->dirty)
                job_dirty(j);
}

static void job_write(struct job *j) {
        struct memcmd *mc = j->mc;
        struct etcdmsg_guard g = { mc->leader_key, mc->m.lease, j->key, j->mod_revision };
        struct etcdmsg_put_op put = { .key = j->key, .ignore_lease = true };
        char *value = NULL, *body = NULL;
        int r;

        if (j->mod_revision < 0 || !mc->m.lease)
                return;                 /* the next poll tells the revision (or that we lost the lease) */
        free(j->cmd.state);
        j->cmd.state = strdup(j->cmd.has_exit ? "done" : "running");
        r = j->cmd.state ? etcdmsg_command_encode(&j->cmd, &value) : -ENOMEM;
        if (r >= 0) {
                put.value = value;
                put.value_len = strlen(value);
                r = etcdmsg_guarded(&g, &put, 1, &body);
        }
        if (r >= 0)
                r = etcd_call(mc->etcd, "/v3/kv/txn", body, request_deadline(0), on_job_written, j, &j->q);
        free(value);
        free(body);
        if (r < 0) {
                log_warning("cluster: cannot write %s back: %s", j->key, strerror(-r));
                return;
        }
        j->writing = true;
        j->dirty = false;
}

static int on_job_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct job *j = userdata;

        if (j->dirty)
                job_dirty(j);
        return 0;
}

static void job_log(const char *level_name, const char *text, void *userdata) {
        struct job *j = userdata;

        if (!j->mc)
                return;
        job_add_line(j, level_name, text);
        job_dirty(j);
}

static void job_out(const char *text, void *userdata) {
        struct job *j = userdata;

        if (!j->mc)
                return;
        job_add_line(j, NULL, text);
        job_dirty(j);
}

static void job_finished(int exit_code, void *userdata) {
        struct job *j = userdata;

        j->running = false;
        if (!j->mc)
                return job_free(j);     /* memcmd went first: nobody to write to */
        j->cmd.has_exit = true;
        j->cmd.exit_code = exit_code;
        log_notice("cluster: %s from %s finished, exit %d", j->cmd.id, j->cmd.from, exit_code);
        job_dirty(j);
}

static struct job *job_find(struct memcmd *mc, const struct etcdmsg_kv *kv) {
        for (struct job *j = mc->jobs; j; j = j->next)
                if (j->create_revision == kv->create_revision && strcmp(j->key, kv->key) == 0)
                        return j;
        return NULL;
}

/* What a queued command is answered before it runs: refused at once (exit and a line), or nothing (run it). */
static void job_check(struct memcmd *mc, struct job *j) {
        char line[256];

        if (control_parse_request(j->cmd.request, &j->req) < 0) {
                snprintf(line, sizeof line, "the leader %s does not know the request \"%.64s\" (are the members' "
                         "versions different?)", mc->name, j->cmd.request);
                job_add_line(j, "error", line);
                j->cmd.has_exit = true;
                j->cmd.exit_code = EXIT_USAGE;
        } else if (j->cmd.epoch != mc->m.epoch) {
                snprintf(line, sizeof line, "refused: the roles changed since you asked (epoch %" PRId64 " → %"
                         PRId64 "); check --status and ask again", j->cmd.epoch, mc->m.epoch);
                job_add_line(j, "error", line);
                j->cmd.has_exit = true;
                j->cmd.exit_code = EXIT_BUSY;
        }
        j->req.uid = (uid_t) j->cmd.uid;
        j->req.pid = (pid_t) j->cmd.pid;
}

/* A queued command seen for the first time while acting: take it (the guarded write of "running"), then run it. */
static void job_take(struct memcmd *mc, const struct etcdmsg_kv *kv) {
        struct job *j = calloc(1, sizeof *j);

        if (!j)
                return;
        *j = (struct job) { .mc = mc, .key = strdup(kv->key), .create_revision = kv->create_revision,
                            .mod_revision = kv->mod_revision, .seen = true };
        if (!j->key || etcdmsg_command_parse(kv->value, kv->value_len, &j->cmd) < 0 || j->cmd.n_lines > 0 ||
            !(j->cmd.lines = calloc(ETCDMSG_COMMAND_LINES_MAX, sizeof *j->cmd.lines)) ||
            sd_event_add_time(mc->event, &j->timer, CLOCK_BOOTTIME, 0, USEC_PER_MSEC, on_job_timer, j) < 0) {
                j->mc = NULL;
                return job_free(j);     /* unreadable: not ours to answer; the requester's deadline ends it */
        }
        (void) sd_event_source_set_enabled(j->timer, SD_EVENT_OFF);
        LIST_PREPEND(mc->jobs, j);
        job_check(mc, j);
        job_dirty(j);
}

static bool is_queued(const struct etcdmsg_kv *kv) {
        struct etcdmsg_command cmd;
        bool q;

        if (etcdmsg_command_parse(kv->value, kv->value_len, &cmd) < 0)
                return false;
        q = strcmp(cmd.state, "queued") == 0;
        etcdmsg_command_done(&cmd);
        return q;
}

void memcmd_on_poll(struct memcmd *mc, const struct etcdmsg_range_result *all) {
        size_t n = strlen(mc->commands_dir);
        struct job *next;

        for (struct job *j = mc->jobs; j; j = j->next)
                j->seen = false;
        for (size_t i = 0; i < all->n; i++) {
                const struct etcdmsg_kv *kv = &all->kvs[i];
                struct job *j;

                if (strncmp(kv->key, mc->commands_dir, n) != 0)
                        continue;
                if ((j = job_find(mc, kv))) {
                        j->seen = true;
                        if (j->mod_revision < 0) {      /* after an ambiguous write: go on from what etcd holds */
                                j->mod_revision = kv->mod_revision;
                                if (j->dirty)
                                        job_dirty(j);
                        }
                } else if (mc->m.acting && is_queued(kv))
                        job_take(mc, kv);
        }
        /* a key gone: the requester deleted it (it has the exit) or its lease ended; forget it once not running */
        for (struct job *j = mc->jobs; j; j = next) {
                next = j->next;
                if (j->seen)
                        continue;
                j->gone = true;
                if (!j->running && !j->writing)
                        job_free(j);
        }
}

struct memcmd *memcmd_free(struct memcmd *mc) {
        if (!mc)
                return NULL;
        while (mc->asks) {
                struct ask *a = mc->asks;

                if (a->call) {
                        control_call_log(a->call, "error", "this member is stopping; whether the leader carries the "
                                         "command out, see --status");
                        control_call_finish(a->call, EXIT_FAILURE);
                }
                ask_free(a);
        }
        while (mc->jobs) {
                struct job *j = mc->jobs;

                LIST_REMOVE(mc->jobs, j);
                j->mc = NULL;
                etcd_call_cancel(j->q);
                j->q = NULL;
                j->timer = sd_event_source_disable_unref(j->timer);
                if (!j->running)
                        job_free(j);    /* else the manager's finish frees it */
        }
        sd_event_unref(mc->event);
        free(mc->prefix);
        free(mc->name);
        free(mc->commands_dir);
        free(mc->leader_key);
        free(mc);
        return NULL;
}
