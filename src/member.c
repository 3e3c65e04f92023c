/* member: this monitor in a monitor cluster on etcd (see member.h, docs/design/cluster.md). */
#include "member.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd.h"
#include "etcdmsg.h"
#include "fileio.h"
#include "json.h"
#include "jsonread.h"
#include "log.h"
#include "pause.h"
#include "state.h"
#include "util.h"

static void *mfree(void *p) {
        free(p);
        return NULL;
}

#define MEMBER_FILE_MAX (1024u * 1024u)
#define MEMBER_INCIDENT_POLL_USEC (200 * USEC_PER_MSEC)
#define MEMBER_SYNC_RETRY_USEC (100 * USEC_PER_MSEC)
#define MEMBER_LOCAL_RETRY_USEC (500 * USEC_PER_MSEC)
#define MEMBER_SYNCED_FILE "record.synced"
#define MEMBER_REVOKE_USEC USEC_PER_SEC
#define MEMBER_NAME_CHECK_POLLS 10      /* how long a start looks for another monitor with our name */

enum { T_GRANT, T_KEEPALIVE, T_POLL, T_CAMPAIGN, T_TICK, T_SYNC, T_MAX };

/* Another member's view, as the last poll found it. */
struct peer {
        char name[CLUSTER_NAME_MAX];
        bool present;                   /* in the last poll */
        struct cluster_seen seen;
        int64_t epoch;
        char active_site[32];
        char active_health[16], standby_health[16];
        unsigned active_failures, standby_failures;
        char digest[16];
        bool record_newer;              /* it keeps a local record newer than etcd's (it holds the leader) */
};

struct waiter {
        member_synced_fn done;
        void *userdata;
};

/* A local file mirrored in etcd: its bytes there ("" = no file) as last read or written. */
struct mirrored {
        const char *file;               /* STATE_FILE_NAME, PAUSE_FILE_NAME */
        char *key;
        char *etcd;                     /* NULL: not known yet */
        size_t etcd_len;
        bool present;                   /* the key exists (even "") */
};

struct member {
        sd_event *event;
        struct event_bus *bus;
        bool unavailable_said;          /* cluster_unavailable went out; cluster_available ends it */
        char followed[CLUSTER_NAME_MAX];        /* the leader a cluster_following named last */
        char previous_leader[CLUSTER_NAME_MAX]; /* another member that led before us: a takeover */
        struct etcd *etcd;
        const struct config *config;
        struct member_callbacks cb;
        void *userdata;
        struct cluster cluster;
        sd_event_source *timers[T_MAX];
        bool busy[T_MAX];
        char *dir_key, *leader_key, *views_dir, *view_key;
        char *state_dir;
        char digest[16];
        struct mirrored files[2];
        int64_t record_rev;             /* mod_revision of <prefix>/record, 0 absent */
        bool adopting;                  /* leader: reading the record before acting */
        bool adopted;                   /* leader: the record is ours to write: may act */
        bool acting_said;
        /* journal writes waiting for etcd: `sent` are in the txn out now, `queued` came after it was sent */
        struct waiter *sent, *queued;
        size_t n_sent, n_queued;
        bool syncing;
        char *sending[2];               /* the bytes of the txn out now: etcd holds them once it succeeds */
        char sending_writer[CLUSTER_NAME_MAX + 64];     /* its last line: "writer NAME LEASE SEQ" */
        struct etcd_call *sync_call;    /* that txn, while out */
        uint64_t write_seq;             /* the record's last line: "writer NAME LEASE SEQ", who wrote it (§4) */
        size_t sending_len[2];
        /* views */
        struct peer peers[CONFIG_CLUSTER_MEMBERS_MAX];
        size_t n_peers;
        struct member_view_input self;  /* strings point into self_text */
        char self_text[6][32];
        bool have_self;
        uint64_t view_seq;
        bool view_dirty, view_busy;
        char view_said[256];            /* what the last put said that counts (see view_worth_putting) */
        uint64_t view_put_at;           /* boottime of the last put */
        char words[512], quorum_words[768];
        bool etcd_up;
        void (*stop_done)(void *userdata);
        void *stop_userdata;
        /* name collision (§8): our view key seen on a lease not ours, at a new revision each time, early on */
        unsigned name_polls, name_changes;
        int64_t name_foreign_rev;
        bool name_taken;
        bool local_newer_said;          /* the local record is newer than etcd's: said once, told in the view */
        bool synced_known;              /* STATE_DIR/record.synced is written */
};

static void feed(struct member *mb, struct cluster_event ev);
static void say_following(struct member *mb);
static const struct peer *mismatched(struct member *mb);
static void send_sync(struct member *mb);

static void arm(struct member *mb, int t, uint64_t at) {
        (void) sd_event_source_set_time(mb->timers[t], at ? at : 1);
        (void) sd_event_source_set_enabled(mb->timers[t], SD_EVENT_ONESHOT);
}

static void request_failed(struct member *mb, enum cluster_op op, const struct etcd_result *r) {
        mb->etcd_up = r->http != 0 && r->error != ETCD_ERROR_UNAVAILABLE && r->error != ETCD_ERROR_NO_LEADER &&
                      r->error != ETCD_ERROR_TIMEOUT;
        log_debug("cluster: etcd request failed (http %ld): %s", r->http, r->message[0] ? r->message : "no answer");
        feed(mb, (struct cluster_event) { .kind = CLUSTER_EV_REQUEST_FAILED, .op = op, .error = r->error,
                                          .reason = r->message[0] ? r->message : "an answer that is not etcd's" });
}

/* ---- the record: local files ↔ <prefix>/record and <prefix>/pause ---------------------------------------- */

static int read_local(struct member *mb, const struct mirrored *f, char **ret, size_t *ret_len) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/%s", mb->state_dir, f->file) < 0)
                return -ENOMEM;
        r = fileio_read(path, MEMBER_FILE_MAX, ret, ret_len);
        if (r == -ENOENT) {
                *ret = strdup("");
                *ret_len = 0;
                return *ret ? 0 : -ENOMEM;
        }
        return r;
}

/* Writes what etcd holds into the local file (removes it for ""): the local copy --status reads. */
static int write_local(struct member *mb, const struct mirrored *f) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", mb->state_dir, f->file) < 0)
                return -ENOMEM;
        if (f->etcd_len == 0)
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        return fileio_write_atomic(path, f->etcd, f->etcd_len, 0600);
}

static bool same(const char *a, size_t alen, const char *b, size_t blen) {
        return a && b && alen == blen && memcmp(a, b, alen) == 0;
}

static bool marked(struct member *mb, const char *name) {
        _cleanup_free_ char *path = NULL;

        return asprintf(&path, "%s/%s", mb->state_dir, name) >= 0 && access(path, F_OK) == 0;
}

static bool unsynced_marked(struct member *mb) {
        return marked(mb, MEMBER_UNSYNCED_FILE);
}

/* STATE_DIR/record.synced: this member's local record has been etcd's (adopted from it, or pushed to it). Until
 * then a local record is the member's own history — a pair that ran with one monitor — and must not be thrown away
 * for whatever the cluster's first leader pushed. */
static void synced_mark(struct member *mb) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (mb->synced_known || asprintf(&path, "%s/%s", mb->state_dir, MEMBER_SYNCED_FILE) < 0)
                return;
        r = fileio_write_atomic(path, "", 0, 0600);
        if (r < 0)
                log_error_errno(r, "cluster: cannot write %s: %s", path, strerror(-r));
        else
                mb->synced_known = true;
}

static void unsynced_clear(struct member *mb) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", mb->state_dir, MEMBER_UNSYNCED_FILE) >= 0 && unlink(path) == 0)
                log_info("cluster: etcd and %s agree on the record again", mb->state_dir);
}

/* A record etcd never saw — a failover run without the cluster (--once --force --local, §9: the unsynced mark), or
 * the history of a pair that ran with one monitor (no synced mark yet) — newer than etcd's: a higher epoch, or the
 * same epoch with an operation where etcd's has none (or etcd has none at all). Kept, not overwritten: this member
 * pushes it with its takeover write when it leads, and its view says so meanwhile, which holds the leader (gate
 * cluster). Once synced, etcd's record always wins (a --clear-state --forget-roles empties it on purpose). */
static bool local_newer(struct member *mb, const char *local, size_t len, const struct mirrored *f) {
        struct state *mine = calloc(1, sizeof *mine), *theirs = calloc(1, sizeof *theirs);
        unsigned line;
        bool newer = false, unsynced = unsynced_marked(mb);

        if (mine && theirs && len > 0 && (unsynced || !marked(mb, MEMBER_SYNCED_FILE)) &&
            state_parse(local, len, mine, &line) >= 0 &&
            (f->etcd_len == 0 || state_parse(f->etcd, f->etcd_len, theirs, &line) >= 0))
                newer = mine->epoch > theirs->epoch ||
                        (mine->epoch == theirs->epoch && mine->op != STATE_OP_NONE && theirs->op == STATE_OP_NONE);
        if (newer && !mb->local_newer_said)
                log_error("cluster: the local record %s/%s (epoch %" PRIu64 ", %s) is newer than etcd's (epoch %"
                          PRIu64 "%s): kept, and the leader holds until it is in etcd. This member pushes it when it "
                          "leads: stop blfailoverd on the other members until it does — or, if it is stale, move it "
                          "aside here", mb->state_dir, f->file, mine->epoch, unsynced ? "written without the cluster: "
                          "--once --force --local" : "never synced with etcd: from before this member joined",
                          theirs->epoch, f->etcd_len ? "" : ", none in etcd");
        mb->local_newer_said = newer;
        free(mine);
        free(theirs);
        return newer;
}

/* Brings the local files to what etcd holds; true when one changed. */
static bool adopt_files(struct member *mb) {
        bool changed = false;

        for (size_t i = 0; i < ELEMENTSOF(mb->files); i++) {
                struct mirrored *f = &mb->files[i];
                _cleanup_free_ char *local = NULL;
                size_t len;
                int r;

                if (!f->present || !f->etcd)
                        continue;
                r = read_local(mb, f, &local, &len);
                if (r >= 0 && same(local, len, f->etcd, f->etcd_len))
                        continue;
                if (r >= 0 && i == 0 && local_newer(mb, local, len, f))
                        continue;
                if (i == 0) {
                        if (unsynced_marked(mb) && r >= 0 && len > 0)
                                log_error("cluster: the local record %s/%s, written without the cluster, is replaced "
                                          "by etcd's newer one (epoch and operation above ours)", mb->state_dir,
                                          f->file);
                        unsynced_clear(mb);     /* etcd's record is the newer one: ours is replaced */
                }
                r = write_local(mb, f);
                if (r < 0)
                        log_error_errno(r, "cluster: cannot write the local copy of the record %s/%s: %s",
                                        mb->state_dir, f->file, strerror(-r));
                changed = true;
        }
        return changed;
}

static void set_mirror(struct mirrored *f, const char *value, size_t len) {
        char *copy = malloc(len + 1);

        if (!copy)
                return;
        memcpy(copy, value, len);
        copy[len] = '\0';
        free(f->etcd);
        f->etcd = copy;
        f->etcd_len = len;
        f->present = true;
}

static void finish_waiters(struct waiter **list, size_t *n, int r) {
        struct waiter *w = *list;
        size_t k = *n;

        *list = NULL;
        *n = 0;
        for (size_t i = 0; i < k; i++)
                if (w[i].done)
                        w[i].done(w[i].userdata, r);
        free(w);
}

static void sync_done(struct member *mb, int r) {
        mb->syncing = false;
        finish_waiters(&mb->sent, &mb->n_sent, r);
        if (r < 0)
                finish_waiters(&mb->queued, &mb->n_queued, r);
        else if (mb->n_queued > 0)
                arm(mb, T_SYNC, 0);
}

static bool may_write(const struct member *mb) {
        return cluster_may_act(&mb->cluster, now_boottime_usec());
}

static void on_synced(struct etcd *e, const struct etcd_result *r, void *ud);

/* The waiters of the write just sent wait for the next one, in front of those who came after. */
static void requeue_sent(struct member *mb) {
        struct waiter *w;

        if (mb->n_sent == 0)
                return;
        w = reallocarray(mb->sent, mb->n_sent + mb->n_queued, sizeof *w);
        if (!w) {
                finish_waiters(&mb->sent, &mb->n_sent, -ENOMEM);
                return;
        }
        if (mb->n_queued)
                memcpy(w + mb->n_sent, mb->queued, mb->n_queued * sizeof *w);
        free(mb->queued);
        mb->queued = w;
        mb->n_queued += mb->n_sent;
        mb->sent = NULL;
        mb->n_sent = 0;
}

/* Whether a record value ends with the writer line we sent: our write landed (design §6, ambiguous outcomes). */
static bool ours(const struct member *mb, const struct etcdmsg_kv *kv) {
        size_t n = strlen(mb->sending_writer);

        return mb->sending_writer[0] && kv->value_len > n && kv->value[kv->value_len - 1] == '\n' &&
               memcmp(kv->value + kv->value_len - 1 - n, mb->sending_writer, n) == 0 &&
               (kv->value_len - 1 - n == 0 || kv->value[kv->value_len - 2 - n] == '\n');
}

/* The guarded write of both files: only while our lease owns the leader key and the record is the one we saw. */
static void send_sync(struct member *mb) {
        _cleanup_free_ char *body = NULL;
        struct etcdmsg_put_op puts[2];
        struct etcdmsg_guard g = { mb->leader_key, mb->cluster.lease, mb->files[0].key, mb->record_rev };
        bool all_same = true;
        int r = 0;

        if (mb->syncing)
                return;
        if (!may_write(mb) || (!mb->adopted && !mb->adopting)) {
                finish_waiters(&mb->queued, &mb->n_queued, -EPERM);
                return;
        }
        for (size_t i = 0; i < 2; i++) {
                mb->sending[i] = mfree(mb->sending[i]);
                if (r >= 0)
                        r = read_local(mb, &mb->files[i], &mb->sending[i], &mb->sending_len[i]);
                if (r < 0)
                        continue;
                puts[i] = (struct etcdmsg_put_op) { .key = mb->files[i].key, .value = mb->sending[i],
                                                    .value_len = mb->sending_len[i] };
                all_same = all_same && mb->files[i].present &&
                           same(mb->sending[i], mb->sending_len[i], mb->files[i].etcd, mb->files[i].etcd_len);
        }
        mb->sent = mb->queued;
        mb->n_sent = mb->n_queued;
        mb->queued = NULL;
        mb->n_queued = 0;
        mb->syncing = true;
        /* the takeover write always goes: it proves the lease still owns the leader key */
        if (r >= 0 && all_same && !mb->adopting) {
                sync_done(mb, 0);
                return;
        }
        _cleanup_free_ char *record = NULL;
        snprintf(mb->sending_writer, sizeof mb->sending_writer, "writer %s %" PRIx64 " %" PRIu64, mb->cluster.name,
                 (uint64_t) mb->cluster.lease, ++mb->write_seq);
        int n = r >= 0 ? asprintf(&record, "%.*s%s\n", (int) mb->sending_len[0], mb->sending[0],
                                  mb->sending_writer) : 0;
        if (n < 0) {
                record = NULL;
                r = -ENOMEM;
        } else if (r >= 0) {
                puts[0].value = record;
                puts[0].value_len = (size_t) n;
        }
        if (r >= 0)
                r = etcdmsg_guarded(&g, puts, 2, &body);
        if (r >= 0)
                r = etcd_call(mb->etcd, "/v3/kv/txn", body, cluster_deadline(&mb->cluster), on_synced, mb,
                              &mb->sync_call);
        if (r < 0) {
                /* Our side failed (reading STATE_DIR, memory): nothing reached etcd. Tried again shortly; the steps
                 * waiting for it wait, and the acting rule still stops everything if this lasts. */
                log_error_errno(r, "cluster: cannot send the record %s/%s to etcd (%s): trying again in %.1fs",
                                mb->state_dir, STATE_FILE_NAME, strerror(-r), (double) MEMBER_LOCAL_RETRY_USEC / 1e6);
                mb->syncing = false;
                requeue_sent(mb);
                arm(mb, T_SYNC, now_boottime_usec() + MEMBER_LOCAL_RETRY_USEC);
        }
}

static void acting_now(struct member *mb, bool acting) {
        if (mb->acting_said == acting)
                return;
        mb->acting_said = acting;
        if (mb->cb.acting_changed)
                mb->cb.acting_changed(mb, acting, mb->userdata);
}

static void emit(struct member *mb, enum event_kind kind, const char *peer, const char *reason, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));
static void emit(struct member *mb, enum event_kind kind, const char *peer, const char *reason, const char *fmt,
                 ...) {
        struct event ev = { .kind = kind, .exit_status = -1, .member = mb->cluster.name, .peer = peer,
                            .reason = reason };
        char text[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        event_emit(mb->bus, &ev, "%s", text);
}

static void say_leading(struct member *mb) {
        mb->followed[0] = '\0';
        emit(mb, EVENT_CLUSTER_LEADING, NULL, NULL, "cluster: leading (lease %" PRIx64 ", ttl %" PRIu64 "s, record "
             "revision %" PRId64 "): this member acts for the pair", (uint64_t) mb->cluster.lease,
             mb->cluster.ttl_usec / USEC_PER_SEC, mb->record_rev);
        if (mb->previous_leader[0] && strcmp(mb->previous_leader, mb->cluster.name) != 0)
                emit(mb, EVENT_CLUSTER_TAKEOVER, mb->previous_leader, NULL, "cluster: took over from %s; what its "
                     "journal left unfinished is resumed here", mb->previous_leader);
        snprintf(mb->previous_leader, sizeof mb->previous_leader, "%s", mb->cluster.name);
}

static void landed(struct member *mb, int64_t revision) {
        mb->record_rev = revision;
        for (size_t i = 0; i < 2; i++)
                set_mirror(&mb->files[i], mb->sending[i], mb->sending_len[i]);
        unsynced_clear(mb);     /* etcd holds the local record now */
        synced_mark(mb);
        mb->local_newer_said = false;
        if (mb->adopting) {
                mb->adopting = false;
                mb->adopted = true;
                say_leading(mb);
                acting_now(mb, true);
        }
        sync_done(mb, 0);
}

static void on_synced(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct member *mb = ud;
        struct etcdmsg_txn_result t;
        bool deposed;

        mb->sync_call = NULL;
        if (!r->ok || etcdmsg_parse_txn(r->body, r->body_len, &t) < 0) {
                /* Ambiguous: etcd may still apply it. The next poll reads what etcd holds; a retry then sees whether
                 * the files are there already (design §6). */
                log_warning("cluster: the write of %s got no clear answer (%s); reading etcd again", mb->files[0].key,
                            r->message[0] ? r->message : "unparseable answer");
                mb->record_rev = -1;
                if (!may_write(mb)) {
                        sync_done(mb, -ETIMEDOUT);
                        return;
                }
                mb->syncing = false;
                requeue_sent(mb);
                arm(mb, T_POLL, 0);
                arm(mb, T_SYNC, now_boottime_usec() + MEMBER_SYNC_RETRY_USEC);
                return;
        }
        /* An answer read late (a stall, a suspend) says nothing about now: past the acting deadline nothing starts
         * from it, whatever it says. */
        if (!may_write(mb)) {
                etcdmsg_txn_result_done(&t);
                log_warning("cluster: the answer to the write of %s came after this member's acting deadline; "
                            "nothing starts from it", mb->files[0].key);
                sync_done(mb, -ETIMEDOUT);
                return;
        }
        if (t.succeeded) {
                int64_t rev = t.revision;

                etcdmsg_txn_result_done(&t);
                landed(mb, rev);
                return;
        }
        deposed = !(t.n > 0 && t.responses[0].n > 0 && t.responses[0].kvs[0].lease == mb->cluster.lease);
        /* "moved" by our own earlier attempt: the client retried a txn that had been applied after all */
        if (!deposed && t.n > 1 && t.responses[1].n > 0 && ours(mb, &t.responses[1].kvs[0])) {
                int64_t rev = t.responses[1].kvs[0].mod_revision;

                etcdmsg_txn_result_done(&t);
                landed(mb, rev);
                return;
        }
        if (!deposed && t.n > 1)
                mb->record_rev = t.responses[1].n > 0 ? t.responses[1].kvs[0].mod_revision : 0;
        log_warning("cluster: the write of %s was refused: %s", mb->files[0].key,
                    deposed ? "this member no longer holds the leader key"
                    : "the record changed in etcd since it was read; reading it again");
        etcdmsg_txn_result_done(&t);
        sync_done(mb, -EPERM);
        if (deposed)
                feed(mb, (struct cluster_event) { .kind = CLUSTER_EV_GUARD_FAILED, .deposed = true });
        else {
                /* someone else wrote (a --local reconciliation): stop, adopt again on the next poll */
                mb->adopted = false;
                mb->adopting = true;
                acting_now(mb, false);
                arm(mb, T_POLL, 0);
        }
}

int member_sync(struct member *mb, member_synced_fn done, void *userdata) {
        struct waiter *w;

        if (!mb->adopted)
                return -EPERM;
        w = reallocarray(mb->queued, mb->n_queued + 1, sizeof *w);
        if (!w)
                return -ENOMEM;
        mb->queued = w;
        mb->queued[mb->n_queued++] = (struct waiter) { done, userdata };
        if (!mb->syncing)
                arm(mb, T_SYNC, 0);     /* on the next loop turn: done never runs inside this call */
        return 0;
}

void member_sync_cancel(struct member *mb, void *userdata) {
        for (size_t i = 0; i < mb->n_sent; i++)
                if (mb->sent[i].userdata == userdata)
                        mb->sent[i].done = NULL;
        for (size_t i = 0; i < mb->n_queued; i++)
                if (mb->queued[i].userdata == userdata)
                        mb->queued[i].done = NULL;
}

/* ---- views -------------------------------------------------------------------------------------------- */

/* Our view key as it was before our put replaced it (prev_kv), during our first polls. Written on a lease not ours
 * it is a dead predecessor's (once: our put replaces it), our own before a lease was lost (once), or another live
 * monitor's with our name (again and again, at a new revision each time): the third such sighting means the
 * latter, and this member gives up — two monitors with one name would be counted as one view. A poll is no use
 * for this: both write every check, and each tends to poll right after its own write. */
static void own_view(struct member *mb, const struct etcdmsg_kv *kv) {
        if (mb->name_polls > MEMBER_NAME_CHECK_POLLS || kv->lease == mb->cluster.lease || mb->name_taken)
                return;
        if (mb->name_foreign_rev && kv->mod_revision != mb->name_foreign_rev)
                mb->name_changes++;
        mb->name_foreign_rev = kv->mod_revision;
        if (mb->name_changes < 2)
                return;
        mb->name_taken = true;
        log_error("cluster: another live monitor publishes as %s: %s keeps changing on lease %" PRIx64 ", not this "
                  "member's (%" PRIx64 "). Two monitors with one name count as one view: give each its own "
                  "cluster.name (listed in cluster.members); this one stops", mb->cluster.name, mb->view_key,
                  (uint64_t) kv->lease, (uint64_t) mb->cluster.lease);
}

static struct peer *peer_find(struct member *mb, const char *name, bool add) {
        for (size_t i = 0; i < mb->n_peers; i++)
                if (strcmp(mb->peers[i].name, name) == 0)
                        return &mb->peers[i];
        if (!add || mb->n_peers == ELEMENTSOF(mb->peers))
                return NULL;
        struct peer *p = &mb->peers[mb->n_peers++];
        *p = (struct peer) {};
        snprintf(p->name, sizeof p->name, "%s", name);
        return p;
}

static bool is_member(const struct member *mb, const char *name) {
        for (size_t i = 0; i < mb->config->cluster.n_members; i++)
                if (strcmp(mb->config->cluster.members[i], name) == 0)
                        return true;
        return false;
}

/* What every member must share for their views to be counted together (not the URLs: each member's path to a
 * site is its own). FNV-1a over the words. */
static void compute_digest(const struct config *c, char out[16]) {
        char text[2048];
        size_t n = 0;
        uint32_t h = 2166136261u;

        for (size_t i = 0; i < c->cluster.n_members && n < sizeof text; i++)
                n += (size_t) snprintf(text + n, sizeof text - n, "%s,", c->cluster.members[i]);
        if (n < sizeof text)
                n += (size_t) snprintf(text + n, sizeof text - n, "|%u|%" PRIu64 "|%" PRIu64 "|%s|%s",
                                       c->health.failure_threshold, c->health.interval_usec,
                                       c->health.fast_interval_usec, c->sites[0].name, c->sites[1].name);
        if (n > sizeof text - 1)
                n = sizeof text - 1;
        for (size_t i = 0; i < n; i++)
                h = (h ^ (uint8_t) text[i]) * 16777619u;
        snprintf(out, 16, "%08x", h);
}

static void read_view(struct member *mb, const struct etcdmsg_kv *kv, uint64_t now) {
        const char *name = kv->key + strlen(mb->views_dir);
        struct jsonread j = {};
        struct peer *p;
        char *s = NULL;
        int64_t v;

        /* names not in members are not counted and take no slot (a stray or misnamed monitor) */
        if (strcmp(name, mb->cluster.name) == 0 || !is_member(mb, name) || !(p = peer_find(mb, name, true)))
                return;
        p->present = true;
        cluster_seen_update(&p->seen, kv->mod_revision, now);
        if (jsonread_parse(&j, kv->value, kv->value_len) < 0)
                return;
        if (jsonread_get_i64(&j, 0, "epoch", 0, &v) >= 0)
                p->epoch = v;
        (void) jsonread_get_bool(&j, 0, "record_newer", false, &p->record_newer);
        if (jsonread_get_i64(&j, 0, "active.failures", 0, &v) >= 0)
                p->active_failures = v < 0 ? 0 : v > 1000000 ? 1000000 : (unsigned) v;
        if (jsonread_get_i64(&j, 0, "standby.failures", 0, &v) >= 0)
                p->standby_failures = v < 0 ? 0 : v > 1000000 ? 1000000 : (unsigned) v;
#define COPY(path, field) \
        if (jsonread_get_string(&j, 0, path, &s) >= 0) { snprintf(p->field, sizeof p->field, "%s", s); s = mfree(s); }
        COPY("active.site", active_site);
        COPY("active.health", active_health);
        COPY("standby.health", standby_health);
        COPY("digest", digest);
#undef COPY
        jsonread_done(&j);
}

static void on_view_put(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct member *mb = ud;
        struct etcdmsg_kv prev;

        mb->view_busy = false;
        if (!r->ok && r->error == ETCD_ERROR_LEASE_NOT_FOUND)
                feed(mb, (struct cluster_event) { .kind = CLUSTER_EV_LEASE_LOST });
        else if (!r->ok)
                log_debug("cluster: publishing the view failed: %s", r->message);
        else if (etcdmsg_parse_prev_kv(r->body, r->body_len, &prev) > 0) {
                own_view(mb, &prev);
                etcdmsg_kv_done(&prev);
        }
        if (mb->name_taken) {
                if (mb->cb.name_taken)
                        mb->cb.name_taken(mb, mb->userdata);
                return;
        }
        if (mb->view_dirty)
                member_publish_view(mb, &mb->self);
}

static int view_json(struct member *mb, char **ret, size_t *ret_len) {
        const struct member_view_input *v = &mb->self;
        FILE *f = open_memstream(ret, ret_len);
        struct json j;

        if (!f)
                return -ENOMEM;
        json_init(&j, f);
        json_object_begin(&j);
        json_key(&j, "v"), json_u64(&j, 1);
        json_key(&j, "member"), json_string(&j, mb->cluster.name);
        json_key(&j, "epoch"), json_i64(&j, v->epoch);
        json_key(&j, "seq"), json_u64(&j, ++mb->view_seq);
        json_key(&j, "at"), json_time(&j, now_realtime_usec());
        json_key(&j, "digest"), json_string(&j, mb->digest);
        json_key(&j, "record_newer"), json_bool(&j, mb->local_newer_said);
        json_key(&j, "active");
        json_object_begin(&j);
        json_key(&j, "site"), json_string(&j, v->active_site);
        json_key(&j, "health"), json_string(&j, v->active_health);
        json_key(&j, "failures"), json_u64(&j, v->active_failures);
        json_key(&j, "result"), json_string(&j, v->active_result);
        json_object_end(&j);
        json_key(&j, "standby");
        json_object_begin(&j);
        json_key(&j, "site"), json_string(&j, v->standby_site);
        json_key(&j, "health"), json_string(&j, v->standby_health);
        json_key(&j, "failures"), json_u64(&j, v->standby_failures);
        json_key(&j, "result"), json_string(&j, v->standby_result);
        json_object_end(&j);
        json_object_end(&j);
        return fclose(f) == 0 ? 0 : -ENOMEM;
}

/* A view is put when what the quorum reads in it changed — epoch, sites, health, failures up to the threshold (past
 * it they all count the same) — or half an interval after the last put, so that it stays fresh (§7) on the
 * leader's clock. Not after every check: during an incident three members checking every fast_interval would be a
 * raft write (and fsyncs on every etcd member) each time, competing with the failover's own steps for the disk. */
static bool view_worth_putting(struct member *mb) {
        const struct member_view_input *v = &mb->self;
        unsigned t = mb->config->health.failure_threshold;
        char said[sizeof mb->view_said];

        snprintf(said, sizeof said, "%" PRId64 "|%s|%s|%s|%s|%u|%u|%d", v->epoch, v->active_site, v->standby_site,
                 v->active_health, v->standby_health, v->active_failures < t ? v->active_failures : t,
                 v->standby_failures < t ? v->standby_failures : t, mb->local_newer_said);
        if (strcmp(said, mb->view_said) == 0 &&
            now_boottime_usec() - mb->view_put_at < mb->config->health.interval_usec / 2)
                return false;
        snprintf(mb->view_said, sizeof mb->view_said, "%s", said);
        return true;
}

void member_publish_view(struct member *mb, const struct member_view_input *v) {
        _cleanup_free_ char *text = NULL, *body = NULL;
        const char *src[6] = { v->active_site, v->standby_site, v->active_health, v->standby_health,
                               v->active_result, v->standby_result };
        size_t len = 0;

        if (v != &mb->self) {
                mb->self = *v;
                for (size_t i = 0; i < 6; i++)
                        snprintf(mb->self_text[i], sizeof mb->self_text[i], "%s", src[i] ? src[i] : "");
                mb->self.active_site = mb->self_text[0], mb->self.standby_site = mb->self_text[1];
                mb->self.active_health = mb->self_text[2], mb->self.standby_health = mb->self_text[3];
                mb->self.active_result = mb->self_text[4], mb->self.standby_result = mb->self_text[5];
                mb->have_self = true;
        }
        if (!mb->view_dirty && !view_worth_putting(mb))
                return;
        mb->view_dirty = true;
        if (mb->view_busy || !mb->cluster.lease || mb->name_taken)
                return;
        mb->view_put_at = now_boottime_usec();
        if (view_json(mb, &text, &len) < 0 ||
            etcdmsg_put_prev(mb->view_key, text, len, mb->cluster.lease, &body) < 0)
                return;
        mb->view_dirty = false;
        mb->view_busy = etcd_call(mb->etcd, "/v3/kv/put", body, 0, on_view_put, mb, NULL) >= 0;
}

void member_quorum(struct member *mb, struct cluster_quorum *ret) {
        struct cluster_view views[CONFIG_CLUSTER_MEMBERS_MAX];
        size_t n = 0;
        uint64_t now = now_boottime_usec();

        for (size_t i = 0; i < mb->n_peers; i++) {
                const struct peer *p = &mb->peers[i];

                if (!p->present)
                        continue;
                views[n++] = (struct cluster_view) {
                        .member = p->name, .changed_at = p->seen.changed_at, .epoch = p->epoch,
                        .active_site = p->active_site, .failures = p->active_failures,
                        .digest_ok = strcmp(p->digest, mb->digest) == 0,
                };
        }
        cluster_quorum(&(struct cluster_quorum_input) {
                .members = (const char *const *) mb->config->cluster.members,
                .n_members = mb->config->cluster.n_members, .self = mb->cluster.name,
                .self_failures = mb->have_self ? mb->self.active_failures : 0, .views = views, .n_views = n,
                .epoch = mb->self.epoch, .active_site = mb->self.active_site,
                .threshold = mb->config->health.failure_threshold,
                .fresh_usec = 2 * mb->config->health.interval_usec, .now = now,
        }, ret);
}

static bool peer_fresh(const struct member *mb, const struct peer *p, uint64_t now) {
        return p->present && p->seen.mod_revision && now - p->seen.changed_at <= 2 * mb->config->health.interval_usec;
}

static bool peer_agrees(const struct member *mb, const struct peer *p, uint64_t now) {
        return peer_fresh(mb, p, now) && p->epoch == mb->self.epoch && strcmp(p->active_site, mb->self.active_site) == 0 &&
               p->active_failures >= mb->config->health.failure_threshold;
}

const char *member_gate_words(struct member *mb, bool quorum_hold) {
        struct cluster_quorum q;
        uint64_t now = now_boottime_usec();
        size_t n;

        if (!quorum_hold) {
                const struct peer *p = member_may_act(mb) ? mismatched(mb) : NULL;

                if (p && p->record_newer)
                        snprintf(mb->words, sizeof mb->words, "%s keeps a record newer than etcd's (never synced, or "
                                 "written by --once --force --local): no member acts until it is in etcd — stop "
                                 "blfailoverd on the other members until %s leads and pushes it, or move it aside "
                                 "there if it is stale", p->name, p->name);
                else if (p)
                        snprintf(mb->words, sizeof mb->words, "%s runs with another config (members, threshold, "
                                 "intervals or site names differ): no member acts until they agree", p->name);
                else
                        snprintf(mb->words, sizeof mb->words, "%s", member_why_not(mb));
                return mb->words;
        }
        member_quorum(mb, &q);
        char *w = mb->quorum_words;
        size_t size = sizeof mb->quorum_words;
        n = (size_t) snprintf(w, size, "quorum: %zu of %zu members see the active failing (%s %u/%u",
                              q.agreeing, mb->config->cluster.n_members, mb->cluster.name,
                              mb->self.active_failures, mb->config->health.failure_threshold);
        for (size_t i = 0; i < mb->config->cluster.n_members && n < size; i++) {
                const char *name = mb->config->cluster.members[i];
                const struct peer *p = peer_find(mb, name, false);

                if (strcmp(name, mb->cluster.name) == 0)
                        continue;
                if (!p || !peer_fresh(mb, p, now))
                        n += (size_t) snprintf(w + n, size - n, "; %s no fresh view", name);
                else
                        n += (size_t) snprintf(w + n, size - n, "; %s %s%s", name,
                                               peer_agrees(mb, p, now) ? "sees it failing" : "sees it up",
                                               strcmp(p->digest, mb->digest) ? " (config differs)" : "");
        }
        if (n < size)
                snprintf(w + n, size - n, "), %zu needed", q.needed);
        return w;
}

/* ---- requests ------------------------------------------------------------------------------------------ */

static void on_grant(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct member *mb = ud;
        int64_t id, ttl;

        mb->busy[T_GRANT] = false;
        if (!r->ok || etcdmsg_parse_grant(r->body, r->body_len, &id, &ttl) < 0)
                return request_failed(mb, CLUSTER_OP_GRANT, r);
        mb->etcd_up = true;
        log_info("cluster: lease %" PRIx64 " granted, ttl %" PRId64 "s", (uint64_t) id, ttl);
        feed(mb, (struct cluster_event) { .kind = CLUSTER_EV_GRANTED, .lease = id, .ttl_sec = ttl,
                                          .send = r->send_usec });
        if (mb->have_self)
                member_publish_view(mb, &mb->self);
}

static void on_keepalive(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct member *mb = ud;
        int64_t ttl;

        mb->busy[T_KEEPALIVE] = false;
        if (!r->ok || etcdmsg_parse_keepalive(r->body, r->body_len, &ttl) < 0)
                return request_failed(mb, CLUSTER_OP_KEEPALIVE, r);
        mb->etcd_up = true;
        feed(mb, (struct cluster_event) { .kind = CLUSTER_EV_KEPT, .ttl_sec = ttl, .send = r->send_usec });
}

static void on_timetolive(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct member *mb = ud;
        int64_t ttl;

        if (!r->ok || etcdmsg_parse_timetolive(r->body, r->body_len, &ttl) < 0)
                return;
        feed(mb, (struct cluster_event) { .kind = CLUSTER_EV_LEADER_TTL, .ttl_sec = ttl });
}

static void ask_leader_ttl(struct member *mb, int64_t lease) {
        _cleanup_free_ char *body = NULL;

        if (etcdmsg_lease(lease, &body) >= 0)
                (void) etcd_call(mb->etcd, "/v3/lease/timetolive", body, 0, on_timetolive, mb, NULL);
}

/* The record as etcd holds it now. A leader that is adopting makes it its own: adopt the files, then the takeover
 * write proves the lease still owns the leader key. */
/* The record's bytes without its last line "writer …": the state file as the leader had it. */
static size_t without_writer(const char *value, size_t len) {
        size_t end = len;

        if (end > 0 && value[end - 1] == '\n')
                end--;
        while (end > 0 && value[end - 1] != '\n')
                end--;
        return strncmp(value + end, "writer ", 7) == 0 ? end : len;
}

static void take_record(struct member *mb, const struct etcdmsg_range_result *res) {
        const struct etcdmsg_kv *kv[2] = { NULL, NULL };
        int64_t rev;

        for (size_t i = 0; i < res->n; i++)
                for (size_t k = 0; k < 2; k++)
                        if (strcmp(res->kvs[i].key, mb->files[k].key) == 0)
                                kv[k] = &res->kvs[i];
        rev = kv[0] ? kv[0]->mod_revision : 0;
        if (mb->adopted && mb->record_rev >= 0) {
                if (!mb->syncing && rev != mb->record_rev)
                        log_warning("cluster: the record in etcd moved under the leader (revision %" PRId64 " → %"
                                    PRId64 "); the next write is refused and the record read again",
                                    mb->record_rev, rev);
                return;
        }
        for (size_t k = 0; k < 2; k++) {
                if (kv[k])
                        set_mirror(&mb->files[k], kv[k]->value, k == 0 ? without_writer(kv[k]->value,
                                   kv[k]->value_len) : kv[k]->value_len);
                else {
                        mb->files[k].present = false;
                        mb->files[k].etcd = mfree(mb->files[k].etcd);
                }
        }
        mb->record_rev = rev;
        if (mb->adopted)
                return;         /* an ambiguous write resolved: the retry compares */
        /* etcd's record wins over any local copy; a record never written to etcd is the first leader's files (a
         * pair that ran with one monitor keeps its record) */
        if (kv[0] && adopt_files(mb) && mb->cb.record_changed)
                mb->cb.record_changed(mb, mb->userdata);
        if (kv[0] && !mb->local_newer_said)
                synced_mark(mb);
        if (mb->adopting && !mb->syncing)
                send_sync(mb);
}

static void on_poll(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct member *mb = ud;
        struct etcdmsg_range_result res;
        struct cluster_event ev = { .kind = CLUSTER_EV_POLLED };
        uint64_t now = now_boottime_usec();
        char old_leader[CLUSTER_NAME_MAX];

        mb->busy[T_POLL] = false;
        if (!r->ok || etcdmsg_parse_range(r->body, r->body_len, &res) < 0)
                return request_failed(mb, CLUSTER_OP_POLL, r);
        mb->etcd_up = true;
        for (size_t i = 0; i < mb->n_peers; i++)
                mb->peers[i].present = false;
        for (size_t i = 0; i < res.n; i++) {
                const struct etcdmsg_kv *kv = &res.kvs[i];

                if (strcmp(kv->key, mb->leader_key) == 0) {
                        ev.leader_present = true;
                        ev.leader_name = kv->value;
                        ev.leader_lease = kv->lease;
                } else if (strncmp(kv->key, mb->views_dir, strlen(mb->views_dir)) == 0)
                        read_view(mb, kv, now);
        }
        mb->name_polls++;
        snprintf(old_leader, sizeof old_leader, "%s", mb->cluster.leader);
        take_record(mb, &res);
        feed(mb, ev);
        if (strcmp(old_leader, mb->cluster.leader) != 0)
                say_following(mb);
        if (ev.leader_present && ev.leader_lease != mb->cluster.lease)
                ask_leader_ttl(mb, ev.leader_lease);
        if (mb->syncing == false && mb->n_queued > 0 && mb->adopted)
                arm(mb, T_SYNC, 0);
        if (mb->cb.polled)
                mb->cb.polled(mb, &res, mb->userdata);
        if (mb->cb.views_changed)
                mb->cb.views_changed(mb, mb->userdata);
        /* during an incident the leader looks more often, so a majority is seen within one fast interval */
        if (mb->cluster.state == CLUSTER_LEADER) {
                bool incident = mb->self.active_failures > 0;
                for (size_t i = 0; i < mb->n_peers && !incident; i++)
                        incident = peer_fresh(mb, &mb->peers[i], now) && mb->peers[i].active_failures > 0;
                if (incident)
                        arm(mb, T_POLL, now + MEMBER_INCIDENT_POLL_USEC);
        }
        etcdmsg_range_result_done(&res);
}

static void on_campaign(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct member *mb = ud;
        struct etcdmsg_txn_result t;
        struct cluster_event ev = { .kind = CLUSTER_EV_CAMPAIGN_LOST };

        mb->busy[T_CAMPAIGN] = false;
        if (!r->ok || etcdmsg_parse_txn(r->body, r->body_len, &t) < 0)
                return request_failed(mb, CLUSTER_OP_CAMPAIGN, r);
        if (t.succeeded)
                ev.kind = CLUSTER_EV_CAMPAIGN_WON;
        else if (t.n > 0 && t.responses[0].n > 0) {
                ev.leader_present = true;
                ev.leader_name = t.responses[0].kvs[0].value;
                ev.leader_lease = t.responses[0].kvs[0].lease;
        }
        feed(mb, ev);
        /* Lost to the lease we were waiting out: etcd revokes expired leases on its own beat (~0.5 s). Look again
         * soon instead of at the next regular poll (TTL/3), which would add up to a second to the takeover. */
        if (!t.succeeded && ev.leader_present && ev.leader_lease != mb->cluster.lease)
                arm(mb, T_POLL, now_boottime_usec() + CLUSTER_FAST_POLL_USEC);
        etcdmsg_txn_result_done(&t);
}

static void start(struct member *mb, int t, const char *path, char *body, etcd_fn fn, uint64_t deadline) {
        if (body && !mb->busy[t])
                mb->busy[t] = etcd_call(mb->etcd, path, body, deadline, fn, mb, NULL) >= 0;
        free(body);
}

static void run_timer(struct member *mb, int t) {
        char *body = NULL;

        switch (t) {
        case T_GRANT:
                if (etcdmsg_grant((int64_t) (mb->cluster.requested_ttl_usec / USEC_PER_SEC), &body) >= 0)
                        start(mb, t, "/v3/lease/grant", body, on_grant, 0);
                break;
        case T_KEEPALIVE:
                if (mb->cluster.lease && etcdmsg_lease(mb->cluster.lease, &body) >= 0)
                        start(mb, t, "/v3/lease/keepalive", body, on_keepalive,
                              mb->cluster.state == CLUSTER_LEADER ? cluster_deadline(&mb->cluster) : 0);
                break;
        case T_POLL:
                if (etcdmsg_range_prefix(mb->dir_key, &body) >= 0)
                        start(mb, t, "/v3/kv/range", body, on_poll, 0);
                break;
        case T_CAMPAIGN:
                if (mb->cluster.lease && etcdmsg_create(mb->leader_key, mb->cluster.name, strlen(mb->cluster.name),
                                                        mb->cluster.lease, &body) >= 0)
                        start(mb, t, "/v3/kv/txn", body, on_campaign, cluster_deadline(&mb->cluster));
                break;
        case T_TICK:
                feed(mb, (struct cluster_event) { .kind = CLUSTER_EV_TICK });
                break;
        case T_SYNC:
                if (mb->record_rev < 0 && mb->adopted)
                        arm(mb, T_SYNC, now_boottime_usec() + MEMBER_SYNC_RETRY_USEC);  /* a poll resolves it */
                else if (mb->record_rev < 0)
                        finish_waiters(&mb->queued, &mb->n_queued, -EPERM);
                else
                        send_sync(mb);
                break;
        }
}

/* ---- the machine's actions ---------------------------------------------------------------------------- */

static void on_revoked(struct etcd *e, const struct etcd_result *r, void *ud) {
        struct member *mb = ud;

        log_info("cluster: lease revoked%s%s", r->ok ? "" : ": ", r->ok ? "" : r->message);
        if (mb->stop_done)
                mb->stop_done(mb->stop_userdata);
        mb->stop_done = NULL;
}

static void stop_acting(struct member *mb) {
        if (mb->acting_said && mb->cluster.state != CLUSTER_STOPPING)
                emit(mb, EVENT_CLUSTER_DEPOSED, NULL, mb->cluster.reason[0] ? mb->cluster.reason :
                     "the acting deadline passed", "cluster: deposed: %s; this member stops acting (the running step "
                     "is stopped; the next leader resumes the journal)", mb->cluster.reason[0] ? mb->cluster.reason :
                     "no keep-alive answered in time");
        mb->adopted = mb->adopting = false;
        if (mb->sync_call) {    /* its answer belongs to a term that is over */
                etcd_call_cancel(mb->sync_call);
                mb->sync_call = NULL;
                mb->syncing = false;
        }
        finish_waiters(&mb->sent, &mb->n_sent, -EPERM);
        finish_waiters(&mb->queued, &mb->n_queued, -EPERM);
        acting_now(mb, false);
}

static void say_following(struct member *mb) {
        const char *leader = mb->cluster.leader;

        if (mb->cluster.state != CLUSTER_FOLLOWER || !leader[0] || strcmp(leader, mb->followed) == 0)
                return;
        snprintf(mb->followed, sizeof mb->followed, "%s", leader);
        if (strcmp(leader, mb->cluster.name) != 0)
                snprintf(mb->previous_leader, sizeof mb->previous_leader, "%s", leader);
        emit(mb, EVENT_CLUSTER_FOLLOWING, leader, NULL, "cluster: following %s", leader);
}

static void say(struct member *mb, enum cluster_state s) {
        if (s != CLUSTER_UNAVAILABLE && mb->unavailable_said) {
                mb->unavailable_said = false;
                emit(mb, EVENT_CLUSTER_AVAILABLE, NULL, NULL, "cluster: etcd answers again");
        }
        switch (s) {
        case CLUSTER_LEADER:
                log_info("cluster: won the leader key (lease %" PRIx64 "); reading the record before acting",
                         (uint64_t) mb->cluster.lease);
                break;
        case CLUSTER_FOLLOWER:
                mb->followed[0] = '\0';
                say_following(mb);
                break;
        case CLUSTER_UNAVAILABLE:
                mb->unavailable_said = true;
                emit(mb, EVENT_CLUSTER_UNAVAILABLE, NULL, mb->cluster.reason, "cluster: unavailable: %s; no automatic "
                     "action until etcd answers (checks go on)", mb->cluster.reason);
                break;
        case CLUSTER_CONNECTING:
                log_info("cluster: connecting to etcd%s%s", mb->cluster.reason[0] ? " (" : "",
                         mb->cluster.reason[0] ? mb->cluster.reason : "");
                break;
        default:
                break;
        }
}

static void execute(struct member *mb, const struct cluster_actions *a) {
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
                        arm(mb, timer_of[a->a[i].kind], a->a[i].at);
                        break;
                case CLUSTER_DO_START_ACTING:
                        /* not yet: the record is read and the takeover write lands first */
                        mb->adopting = true;
                        mb->adopted = false;
                        arm(mb, T_POLL, 0);
                        break;
                case CLUSTER_DO_STOP_ACTING:
                        stop_acting(mb);
                        break;
                case CLUSTER_DO_REVOKE:
                        if (etcdmsg_lease(a->a[i].lease, &body) >= 0 &&
                            etcd_call(mb->etcd, "/v3/lease/revoke", body, now_boottime_usec() + MEMBER_REVOKE_USEC,
                                      on_revoked, mb, NULL) >= 0) {
                                body = mfree(body);
                                break;
                        }
                        body = mfree(body);
                        if (mb->stop_done)
                                mb->stop_done(mb->stop_userdata);
                        mb->stop_done = NULL;
                        break;
                case CLUSTER_DO_SAY:
                        say(mb, a->a[i].state);
                        break;
                }
}

static void feed(struct member *mb, struct cluster_event ev) {
        struct cluster_actions a;
        uint64_t now = now_boottime_usec();

        cluster_step(&mb->cluster, &ev, now, &a);
        execute(mb, &a);
        /* the acting rule holds whatever the machine said: past the deadline nothing acts */
        if (mb->acting_said && !cluster_may_act(&mb->cluster, now))
                stop_acting(mb);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *ud) {
        struct member *mb = ud;

        for (int t = 0; t < T_MAX; t++)
                if (mb->timers[t] == s)
                        run_timer(mb, t);
        return 0;
}

/* ---- lifetime and accessors --------------------------------------------------------------------------- */

static char *joined(const char *a, const char *b) {
        char *s;

        return asprintf(&s, "%s%s", a, b) < 0 ? NULL : s;
}

static int etcd_open(struct member *mb, struct health *h, const struct config *c, struct etcd **ret) {
        const struct config_cluster *cc = &c->cluster;
        struct etcd_opts o = {
                .endpoints = (const char *const *) cc->endpoints, .n_endpoints = cc->n_endpoints,
                .timeout_usec = cc->timeout_usec, .ca_file = cc->ca_file, .cert_file = cc->cert_file,
                .key_file = cc->key_file, .user = cc->user, .password = cc->password,
        };

        return etcd_new(h, &o, ret);
}

int member_new(sd_event *e, struct health *h, struct event_bus *bus, const struct config *c,
               const struct member_callbacks *cb, void *userdata, struct member **ret) {
        const struct config_cluster *cc = &c->cluster;
        struct member *mb = calloc(1, sizeof *mb);
        int r;

        if (!mb)
                return -ENOMEM;
        *mb = (struct member) { .event = sd_event_ref(e), .bus = bus, .config = c, .cb = *cb, .userdata = userdata };
        mb->files[0].file = STATE_FILE_NAME;
        mb->files[1].file = PAUSE_FILE_NAME;
        mb->dir_key = joined(cc->prefix, "/");
        mb->leader_key = joined(cc->prefix, "/leader");
        mb->views_dir = joined(cc->prefix, "/views/");
        mb->files[0].key = joined(cc->prefix, "/record");
        mb->files[1].key = joined(cc->prefix, "/pause");
        mb->state_dir = strdup(c->state_dir);
        if (!mb->dir_key || !mb->leader_key || !mb->views_dir || !mb->files[0].key || !mb->files[1].key ||
            !mb->state_dir || !(mb->view_key = joined(mb->views_dir, cc->name))) {
                member_free(mb);
                return -ENOMEM;
        }
        compute_digest(c, mb->digest);
        r = etcd_open(mb, h, c, &mb->etcd);
        for (int t = 0; r >= 0 && t < T_MAX; t++) {
                r = sd_event_add_time(e, &mb->timers[t], CLOCK_BOOTTIME, 0, USEC_PER_MSEC, on_timer, mb);
                if (r >= 0)
                        (void) sd_event_source_set_enabled(mb->timers[t], SD_EVENT_OFF);
        }
        if (r < 0) {
                member_free(mb);
                return r;
        }
        /* who ran a step: the steps' and hooks' environment (spawn.c passes it on) */
        (void) setenv("BLFAILOVERD_MEMBER", cc->name, 1);
        cluster_init(&mb->cluster, cc->name, cc->lease_ttl_usec, now_boottime_usec());
        snprintf(mb->words, sizeof mb->words, "connecting to etcd");
        log_info("cluster: member %s of %zu, etcd %s, prefix %s, lease_ttl %" PRIu64 "s", cc->name, cc->n_members,
                 cc->endpoints[0], cc->prefix, cc->lease_ttl_usec / USEC_PER_SEC);
        feed(mb, (struct cluster_event) { .kind = CLUSTER_EV_START });
        *ret = mb;
        return 0;
}

struct member *member_free(struct member *mb) {
        if (!mb)
                return NULL;
        for (int t = 0; t < T_MAX; t++)
                sd_event_source_disable_unref(mb->timers[t]);
        etcd_free(mb->etcd);
        free(mb->sent);
        free(mb->queued);
        free(mb->sending[0]);
        free(mb->sending[1]);
        for (size_t i = 0; i < ELEMENTSOF(mb->files); i++) {
                free(mb->files[i].key);
                free(mb->files[i].etcd);
        }
        free(mb->dir_key);
        free(mb->leader_key);
        free(mb->views_dir);
        free(mb->view_key);
        free(mb->state_dir);
        sd_event_unref(mb->event);
        free(mb);
        return NULL;
}

void member_stop(struct member *mb, void (*done)(void *userdata), void *userdata) {
        mb->stop_done = done;
        mb->stop_userdata = userdata;
        mb->acting_said = false;        /* stopping is not being deposed: no cluster_deposed */
        mb->adopted = mb->adopting = false;
        finish_waiters(&mb->sent, &mb->n_sent, -EPERM);
        finish_waiters(&mb->queued, &mb->n_queued, -EPERM);
        feed(mb, (struct cluster_event) { .kind = CLUSTER_EV_STOP });
        /* no lease to revoke: done at once (REVOKE calls it otherwise) */
        if (mb->stop_done && !mb->cluster.lease) {
                mb->stop_done = NULL;
                done(userdata);
        }
}

int member_reconfigure(struct member *mb, const struct config *c) {
        /* members and intervals follow at once; the etcd client keeps the endpoints and credentials it started with
         * (a restart takes new ones: said by the caller) */
        mb->config = c;
        compute_digest(c, mb->digest);
        return 0;
}

bool member_may_act(const struct member *mb) {
        return mb && mb->adopted && cluster_may_act(&mb->cluster, now_boottime_usec());
}

const char *member_why_not(const struct member *mb) {
        static char buf[CLUSTER_REASON_MAX + 160];

        if (member_may_act(mb))
                return "";
        switch (mb->cluster.state) {
        case CLUSTER_UNAVAILABLE:
                snprintf(buf, sizeof buf, "etcd unavailable: %s; no automatic action (only --once --force --local "
                         "acts without the cluster)", mb->cluster.reason);
                break;
        case CLUSTER_LEADER:
                snprintf(buf, sizeof buf, "leading, reading the record before acting");
                break;
        case CLUSTER_CONNECTING:
                snprintf(buf, sizeof buf, "connecting to etcd%s%s", mb->cluster.reason[0] ? ": " : "",
                         mb->cluster.reason);
                break;
        default:
                snprintf(buf, sizeof buf, "following %s: the leader acts", mb->cluster.leader[0] ? mb->cluster.leader
                         : "(no leader yet)");
        }
        return buf;
}

void member_fill_status(const struct member *mb, struct status_cluster *s) {
        static const char *const roles[] = { [CLUSTER_CONNECTING] = "connecting", [CLUSTER_FOLLOWER] = "follower",
                                             [CLUSTER_CAMPAIGNING] = "campaigning", [CLUSTER_LEADER] = "leader",
                                             [CLUSTER_UNAVAILABLE] = "unavailable", [CLUSTER_STOPPING] = "stopping" };
        uint64_t now = now_boottime_usec(), deadline = cluster_deadline(&mb->cluster);
        struct cluster_quorum q;
        struct etcd_counters k;
        const struct config_cluster *cc = &mb->config->cluster;

        *s = (struct status_cluster) { .enabled = true, .acting = member_may_act(mb), .etcd_up = mb->etcd_up,
                                       .record_revision = mb->record_rev > 0 ? mb->record_rev : 0,
                                       .lease_seconds_left = -1 };
        snprintf(s->name, sizeof s->name, "%s", mb->cluster.name);
        snprintf(s->role, sizeof s->role, "%s", roles[mb->cluster.state]);
        snprintf(s->leader, sizeof s->leader, "%s", mb->cluster.leader);
        snprintf(s->reason, sizeof s->reason, "%s", member_why_not(mb));
        snprintf(s->endpoint, sizeof s->endpoint, "%s", etcd_current_endpoint(mb->etcd));
        etcd_get_counters(mb->etcd, &k);
        s->etcd_requests = k.requests, s->etcd_bytes_sent = k.bytes_sent, s->etcd_bytes_received = k.bytes_received;
        if (mb->cluster.state == CLUSTER_LEADER && deadline > now)
                s->lease_seconds_left = (double) (deadline - now) / 1e6;
        member_quorum((struct member *) mb, &q);
        s->agreeing = (unsigned) q.agreeing;
        s->needed = (unsigned) q.needed;
        for (size_t i = 0; i < cc->n_members && i < STATUS_CLUSTER_MEMBERS_MAX; i++) {
                struct status_cluster_member *sm = &s->members[s->n_members++];
                const char *name = cc->members[i];
                const struct peer *p = peer_find((struct member *) mb, name, false);

                snprintf(sm->name, sizeof sm->name, "%s", name);
                sm->age_seconds = -1;
                if (strcmp(name, mb->cluster.name) == 0) {
                        sm->seen = sm->fresh = sm->digest_ok = mb->have_self;
                        sm->agrees = mb->have_self && mb->self.active_failures >= mb->config->health.failure_threshold;
                        snprintf(sm->active_health, sizeof sm->active_health, "%s", mb->self.active_health ?
                                 mb->self.active_health : "unknown");
                        snprintf(sm->standby_health, sizeof sm->standby_health, "%s", mb->self.standby_health ?
                                 mb->self.standby_health : "unknown");
                        sm->active_failures = mb->self.active_failures;
                        sm->standby_failures = mb->self.standby_failures;
                        sm->age_seconds = mb->have_self ? 0 : -1;
                        continue;
                }
                if (!p || !p->present)
                        continue;
                sm->seen = true;
                sm->fresh = peer_fresh(mb, p, now);
                sm->agrees = peer_agrees(mb, p, now);
                sm->digest_ok = strcmp(p->digest, mb->digest) == 0;
                snprintf(sm->active_health, sizeof sm->active_health, "%s", p->active_health);
                snprintf(sm->standby_health, sizeof sm->standby_health, "%s", p->standby_health);
                sm->active_failures = p->active_failures;
                sm->standby_failures = p->standby_failures;
                sm->age_seconds = (double) (now - p->seen.changed_at) / 1e6;
        }
}

bool member_unavailable(const struct member *mb) {
        return mb->cluster.state == CLUSTER_UNAVAILABLE || mb->cluster.state == CLUSTER_CONNECTING;
}

/* The first fresh member view that forbids acting: another config, or a record newer than etcd's. */
static const struct peer *mismatched(struct member *mb) {
        uint64_t now = now_boottime_usec();

        for (size_t i = 0; i < mb->n_peers; i++)
                if (peer_fresh(mb, &mb->peers[i], now) && is_member(mb, mb->peers[i].name) &&
                    (strcmp(mb->peers[i].digest, mb->digest) != 0 || mb->peers[i].record_newer))
                        return &mb->peers[i];
        return NULL;
}

bool member_mismatch(struct member *mb) {
        return mismatched(mb) != NULL;
}

struct etcd *member_etcd(struct member *mb) {
        return mb->etcd;
}
int64_t member_lease(const struct member *mb) {
        return mb->cluster.lease;
}
int64_t member_leader_lease(const struct member *mb) {
        return mb->cluster.leader_lease;
}
const char *member_leader(const struct member *mb) {
        return mb->cluster.leader;
}
const char *member_prefix(const struct member *mb) {
        return mb->config->cluster.prefix;
}
const char *member_name(const struct member *mb) {
        return mb->cluster.name;
}
