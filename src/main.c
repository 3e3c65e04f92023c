/* main: the command line — parse options, load the config, pick the mode, turn results into exit codes. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "control.h"
#include "failover.h"
#include "fileio.h"
#include "health.h"
#include "lock.h"
#include "log.h"
#include "manager.h"
#include "member.h"
#include "pause.h"
#include "roles.h"
#include "state.h"
#include "status.h"
#include "rejoin.h"
#include "switchover.h"
#include "util.h"

#ifndef BLF_VERSION
#define BLF_VERSION "0.0.0"
#endif


enum mode {
        MODE_DAEMON, MODE_CHECK, MODE_ONCE, MODE_DRY_RUN, MODE_DRILL, MODE_STATUS, MODE_CLEAR_STATE, MODE_PAUSE,
        MODE_RESUME, MODE_SWITCHOVER, MODE_SWITCHOVER_DRY_RUN, MODE_REJOIN, MODE_REJOIN_DRY_RUN, MODE_LIFECYCLE_DRILL,
};

struct options {
        const char *config_path;
        enum mode mode;
        bool once, force, dry_run, status, check, clear_state, forget_roles, json, pause, resume, switchover, rejoin,
                reclone, drill, local;
        const char *reason;
        const char *to;
};

static void usage(FILE *out) {
        fprintf(out,
                "Usage: blfailoverd [-c FILE] [-t] [--once [--force [--local]]] [-n|--dry-run] [--status [--json]]\n"
                "                   [--clear-state [--forget-roles]] [--pause [--reason TEXT]] [--resume]\n"
                "                   [--switchover [--to SITE]] [--rejoin [--reclone]] [-v] [--version] [-h]\n"
                "Failover supervisor for an active-standby pair behind nginx.\n\n"
                "  -c, --config FILE   config file (default " CONFIG_DEFAULT_PATH ")\n"
                "  -t, --check-config  validate the config and what it names; print FILE:LINE:COL: message per problem\n"
                "      --once          manual failover: run the failover sequence now, once\n"
                "      --force         with --once: go ahead even when a safety gate says no\n"
                "      --local         with --once --force, in a cluster with no daemon running here: fail over\n"
                "                      without the cluster (etcd down); says what it risks first\n"
                "  -n, --dry-run       print every step that would run and the nginx diff; run none\n"
                "      --once --dry-run  the drill: also run every check that changes nothing (gates, ssh,\n"
                "                      nginx test) and print a verdict line\n"
                "      --status        print the live view (roles, last checks, database, held gate) and the\n"
                "                      persisted failover record; --json: one JSON object\n"
                "      --clear-state   forget the recorded failover (after the pair was rebuilt) and re-arm;\n"
                "                      with sites: in the config, the roles and epoch stay (--forget-roles:\n"
                "                      those go too, and sites' serves_first serves)\n"
                "      --pause         maintenance: no automatic failover (checks, reports and --once go on)\n"
                "                      until --resume; kept across restarts; --reason TEXT says why\n"
                "      --resume        lift the pause\n"
                "      --switchover    planned role change, no committed transaction lost: the standby serves, the\n"
                "                      old primary becomes its standby (sites form); with -n: the plan; --to SITE\n"
                "                      names the site that must end up serving\n"
                "      --drill         with --switchover or --rejoin: every check that changes nothing (the checklist,\n"
                "                      pg_controldata on the databases, the nginx rewrite) and a \"drill verdict:\" line;\n"
                "                      exit 0 would proceed, 3 a check says no, 1 a check could not run\n"
                "      --rejoin        after a failover (or a switchover that failed after its promotion): the old\n"
                "                      primary becomes the serving site's standby (pg_rewind -R); reports the WAL and\n"
                "                      committed transactions the rewind discards; then re-arms. With -n: the plan\n"
                "      --reclone       with --rejoin: when pg_rewind cannot run, copy it anew (pg_basebackup)\n"
                "  -v, --verbose       debug logging\n"
                "      --version       print the version\n"
                "  -h, --help          this help\n\n"
                "Without a mode option it runs as the daemon in the foreground (SIGHUP reloads, SIGTERM stops,\n"
                "SIGUSR1 logs the live view, SIGUSR2 toggles debug logging). One blfailoverd acts per state_dir:\n"
                "while a daemon runs, --once, --switchover, --rejoin, --clear-state, --pause and --resume are carried out\n"
                "by it.\n"
                "Exit codes: 0 ok, 1 failure, 2 usage, 3 refused by a safety gate, 4 switchover failed and put back,\n"
                "75 another blfailoverd is busy\n"
                "with this pair, 77 not allowed to give the daemon commands, 78 bad config.\n");
}

static int pick_mode(struct options *o) {
        int modes = o->check + o->status + o->clear_state + (o->once || (o->dry_run && !o->switchover && !o->rejoin)) +
                    o->pause + o->resume + o->switchover + o->rejoin;

        if (o->forget_roles && !o->clear_state) {
                fprintf(stderr, "blfailoverd: --forget-roles only goes with --clear-state\n");
                return -EINVAL;
        }
        if (o->local && (!o->once || !o->force || o->dry_run)) {
                fprintf(stderr, "blfailoverd: --local only goes with --once --force (a failover without the cluster, "
                        "when etcd cannot be reached)\n");
                return -EINVAL;
        }
        if (o->json && !o->status) {
                fprintf(stderr, "blfailoverd: --json only goes with --status\n");
                return -EINVAL;
        }
        if (o->to && !o->switchover) {
                fprintf(stderr, "blfailoverd: --to only goes with --switchover\n");
                return -EINVAL;
        }
        if (o->drill && (!(o->switchover || o->rejoin) || o->dry_run)) {
                fprintf(stderr, "blfailoverd: --drill goes with --switchover or --rejoin (not with -n: the drill runs "
                        "checks, -n only prints the plan; --once --dry-run is the failover's drill)\n");
                return -EINVAL;
        }
        if (o->reclone && !o->rejoin) {
                fprintf(stderr, "blfailoverd: --reclone only goes with --rejoin\n");
                return -EINVAL;
        }
        if (o->reason && (!o->pause || !pause_reason_valid(o->reason))) {
                fprintf(stderr, "blfailoverd: %s\n", !o->pause ? "--reason only goes with --pause"
                        : "--reason: at most 255 bytes, no control characters (one line)");
                return -EINVAL;
        }
        if (modes > 1 || (o->force && (!o->once || o->dry_run))) {
                fprintf(stderr, "blfailoverd: %s\n", o->force && !o->once ? "--force only goes with --once"
                        : o->force ? "--force does not go with --dry-run: the drill reports every gate as it is"
                        : "-t, --status, --clear-state, --pause, --resume, --switchover, --rejoin and --once/--dry-run "
                          "exclude each other");
                return -EINVAL;
        }
        o->mode = o->drill ? MODE_LIFECYCLE_DRILL
                : o->switchover ? (o->dry_run ? MODE_SWITCHOVER_DRY_RUN : MODE_SWITCHOVER)
                : o->rejoin ? (o->dry_run ? MODE_REJOIN_DRY_RUN : MODE_REJOIN)
                : o->check ? MODE_CHECK : o->status ? MODE_STATUS : o->clear_state ? MODE_CLEAR_STATE
                : o->pause ? MODE_PAUSE : o->resume ? MODE_RESUME
                : o->dry_run && o->once ? MODE_DRILL : o->dry_run ? MODE_DRY_RUN : o->once ? MODE_ONCE : MODE_DAEMON;
        return 0;
}

/* Returns 0 to go on, or an exit code + 1000 to stop right away. */
static int parse_args(int argc, char **argv, struct options *o) {
        enum { OPT_ONCE = 256, OPT_FORCE, OPT_STATUS, OPT_CLEAR, OPT_VERSION, OPT_JSON, OPT_PAUSE, OPT_RESUME,
               OPT_REASON, OPT_SWITCHOVER, OPT_TO, OPT_FORGET_ROLES, OPT_REJOIN, OPT_RECLONE, OPT_DRILL,
               OPT_LOCAL };
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },     { "check-config", no_argument, NULL, 't' },
                { "once", no_argument, NULL, OPT_ONCE },         { "force", no_argument, NULL, OPT_FORCE },
                { "dry-run", no_argument, NULL, 'n' },          { "status", no_argument, NULL, OPT_STATUS },
                { "clear-state", no_argument, NULL, OPT_CLEAR }, { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, OPT_VERSION },  { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, OPT_JSON },        { "pause", no_argument, NULL, OPT_PAUSE },
                { "resume", no_argument, NULL, OPT_RESUME },    { "reason", required_argument, NULL, OPT_REASON },
                { "switchover", no_argument, NULL, OPT_SWITCHOVER }, { "to", required_argument, NULL, OPT_TO },
                { "forget-roles", no_argument, NULL, OPT_FORGET_ROLES },
                { "rejoin", no_argument, NULL, OPT_REJOIN },    { "reclone", no_argument, NULL, OPT_RECLONE },
                { "drill", no_argument, NULL, OPT_DRILL },     { "local", no_argument, NULL, OPT_LOCAL },
                {}
        };
        int c;

        *o = (struct options) { .config_path = CONFIG_DEFAULT_PATH };
        while ((c = getopt_long(argc, argv, "c:tnvh", longopts, NULL)) >= 0) {
                switch (c) {
                case 'c': o->config_path = optarg; break;
                case 't': o->check = true; break;
                case 'n': o->dry_run = true; break;
                case 'v': log_set_max_level(LOG_LEVEL_DEBUG); break;
                case OPT_ONCE: o->once = true; break;
                case OPT_FORCE: o->force = true; break;
                case OPT_STATUS: o->status = true; break;
                case OPT_SWITCHOVER: o->switchover = true; break;
                case OPT_TO: o->to = optarg; break;
                case OPT_REJOIN: o->rejoin = true; break;
                case OPT_RECLONE: o->reclone = true; break;
                case OPT_DRILL: o->drill = true; break;
                case OPT_LOCAL: o->local = true; break;
                case OPT_CLEAR: o->clear_state = true; break;
                case OPT_FORGET_ROLES: o->forget_roles = true; break;
                case OPT_JSON: o->json = true; break;
                case OPT_PAUSE: o->pause = true; break;
                case OPT_RESUME: o->resume = true; break;
                case OPT_REASON: o->reason = optarg; break;
                case OPT_VERSION: printf("blfailoverd %s\n", BLF_VERSION); return 1000 + EXIT_SUCCESS;
                case 'h': usage(stdout); return 1000 + EXIT_SUCCESS;
                default: usage(stderr); return 1000 + EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "blfailoverd: unexpected argument \"%s\"\n", argv[optind]);
                return 1000 + EXIT_USAGE;
        }
        return pick_mode(o) < 0 ? 1000 + EXIT_USAGE : 0;
}

/* Loads the config; with `deep`, also checks what it names. Problems go to stderr as FILE:LINE:COL: message. */
static int load_config(const char *path, bool deep, struct config **ret) {
        struct config_errors errs;
        struct config *c = NULL;
        int r;

        config_errors_init(&errs, path);
        r = config_load_file(path, &c, &errs);
        if (r == 0 && deep)
                r = roles_apply_from_record(c, &errs);
        else if (r == 0 && roles_apply_from_record(c, &errs) < 0) {
                /* --status and the record commands still work: they are how the operator gets out of it */
                config_errors_print(&errs, stderr);
                config_errors_done(&errs);
                config_errors_init(&errs, path);
        }
        if (r == 0 && deep)
                r = check_environment(c, &errs);
        else if (r == 0)
                /* --status and --clear-state skip the environment, not the trust: a config others may write names
                 * the state_dir that --clear-state deletes from. */
                r = check_trust(c, geteuid(), &errs);
        config_errors_print(&errs, stderr);
        config_errors_done(&errs);
        if (r < 0) {
                config_free(c);
                return r;
        }
        config_warnings_print(c, stderr);
        *ret = c;
        return 0;
}

/* -t's word on the lifecycle commands: what the config can run, and the key it lacks for the rest. */
static void print_lifecycle(const struct config *c, const char *path) {
        const char *why;

        if (!c->sites_form) {
                printf("%s: note: runbook form (active/standby): failover only; --switchover and --rejoin need the "
                       "sites form (blfailoverd.yml(5) \"Sites\")\n", path);
                return;
        }
        why = config_switchover_missing(c);
        printf("lifecycle: --switchover %s", why ? why : "ok");
        for (unsigned i = 0; i < CONFIG_SITES; i++) {
                why = config_rejoin_missing(c, i);
                printf("; --rejoin %s: %s", c->sites[i].name, why ? why : "ok");
        }
        printf("\n");
}

/* -t's word on the cluster: who this member is, among whom, and the quorum. It never contacts etcd. */
static void print_cluster(const struct config *c) {
        const struct config_cluster *k = &c->cluster;

        if (!k->enabled)
                return;
        printf("cluster: member %s of %zu (", k->name, k->n_members);
        for (size_t i = 0; i < k->n_members; i++)
                printf("%s%s", i > 0 ? ", " : "", k->members[i]);
        printf("), etcd %zu endpoint%s, prefix %s, lease_ttl %llus; quorum %zu\n", k->n_endpoints,
               k->n_endpoints == 1 ? "" : "s", k->prefix, (unsigned long long) (k->lease_ttl_usec / USEC_PER_SEC),
               k->n_members / 2 + 1);
}

/* The live view when no daemon ever wrote one: the configured endpoints, nothing checked yet. */
static void status_from_config(const struct config *c, struct status *s) {
        _cleanup_free_ char *active = health_url_redact(c->active.url), *standby = health_url_redact(c->standby.url);

        *s = (struct status) { .threshold = c->health.failure_threshold, .standby_db.lag_seconds = -1,
                               .primary_db.lag_seconds = -1 };
        snprintf(s->active.name, sizeof s->active.name, "%s", c->active.name);
        snprintf(s->active.url, sizeof s->active.url, "%s", active ? active : "?");
        snprintf(s->standby.name, sizeof s->standby.name, "%s", c->standby.name);
        snprintf(s->standby.url, sizeof s->standby.url, "%s", standby ? standby : "?");
        s->standby_db.configured = c->database.present;
        s->primary_db.configured = c->database.present && c->database.primary;
}

/* The file says "running" until a clean stop; a daemon killed outright leaves it so: ask the kernel too. */
static bool status_daemon_alive(const struct status *s) {
        return s->running && s->pid > 0 && (kill(s->pid, 0) == 0 || errno == EPERM);
}

/* The pause file is the truth, daemon or not (the live view may be old). Unreadable counts as paused. */
static void status_set_pause(const struct config *c, struct status *s) {
        struct pause p;
        int r = pause_load(c->state_dir, &p);

        s->paused = r == 0 || r == -EBADMSG;
        s->paused_since_usec = r == 0 ? p.since_usec : 0;
        s->paused_uid = r == 0 ? (unsigned) p.uid : 0;
        snprintf(s->paused_reason, sizeof s->paused_reason, "%s", r == 0 ? p.reason
                 : r == -EBADMSG ? "the pause file cannot be read" : "");
}

static int show_status(const struct config *c, bool json) {
        struct status live;
        struct state record;
        struct status_view v = { .status = &live, .first_serving = c->sites[c->serves_first].name,
                                 .first_standby = c->sites[!c->serves_first].name };
        int r = status_load(c->state_dir, &live);

        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "status: %s/%s cannot be read (%s); showing the configured endpoints only",
                                  c->state_dir, STATUS_FILE_NAME, r == -EBADMSG ? "corrupt or truncated" : strerror(-r));
        if (r < 0)
                status_from_config(c, &live);
        v.daemon_alive = status_daemon_alive(&live);
        status_set_pause(c, &live);
        r = state_load(c->state_dir, &record);
        if (r >= 0)
                v.record = &record;
        else if (r != -ENOENT)
                v.record_error = r;
        live.failover_running = status_failover_running(&live, v.daemon_alive, v.record);
        /* The daemon cannot say so itself when the directory takes no file: its live view is in there too. A
         * directory not created yet is fine (the daemon creates it). */
        v.state_dir = c->state_dir;
        r = fileio_probe_dir(c->state_dir);
        v.state_dir_error = r == -ENOENT ? 0 : r;
        if (json)
                status_print_json(&v, stdout);
        else {
                status_print_human(&v, stdout);
                if (state_latched(v.record, false))
                        printf("no further failover will run until the record is cleared (blfailoverd --clear-state)\n");
        }
        if (v.record_error) {
                log_error_errno(v.record_error, "state: %s/%s cannot be read: %s", c->state_dir, STATE_FILE_NAME,
                                v.record_error == -EBADMSG ? "corrupt or truncated" : strerror(-v.record_error));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* Under the lock, with no daemon running (one that runs does this itself, see command_clear_state). The runbook
 * form removes the record (its operator swaps the config by hand); the sites form keeps who serves and the epoch
 * unless --forget-roles. */
static int clear_state(const struct config *c, bool forget_roles) {
        struct state kept;
        int r = state_clear_latch(c->state_dir, c->sites_form && !forget_roles, c->sites[c->serves_first].name,
                                   c->sites[!c->serves_first].name,
                                  &kept);

        if (r == -ENOENT) {
                printf("no failover recorded in %s; nothing to clear\n", c->state_dir);
                return EXIT_SUCCESS;
        }
        if (r == -EBADMSG) {
                log_error("the record %s/%s cannot be read, so its roles cannot be kept; nothing cleared. Inspect it; "
                          "blfailoverd --clear-state --forget-roles removes it (then serves_first serves)",
                          c->state_dir, STATE_FILE_NAME);
                return EXIT_FAILURE;
        }
        if (r < 0) {
                log_error_errno(r, "cannot clear %s/%s: %s", c->state_dir, STATE_FILE_NAME, strerror(-r));
                return EXIT_FAILURE;
        }
        if (r == 1)
                printf("cleared the latch and the journal in %s; the roles stay: %s serves, %s standby, epoch %llu "
                       "(--forget-roles drops them too); no daemon runs on it: the next one started watches the pair "
                       "again\n", c->state_dir, kept.serving, kept.standby, (unsigned long long) kept.epoch);
        else
                printf("cleared the failover record in %s; no daemon runs on it: the next one started watches the "
                       "pair again\n", c->state_dir);
        return EXIT_SUCCESS;
}

static int run_manager(struct config *c, const struct options *o);

/* The record for a dry run: none is a zeroed one; an unreadable one refuses. */
static int dry_run_record(const struct config *c, const char *what, struct state *record) {
        int r = state_load(c->state_dir, record);

        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "%s: the record in %s/%s cannot be read (%s): inspect it with --status", what,
                                c->state_dir, STATE_FILE_NAME, strerror(-r));
                return EXIT_REFUSED;
        }
        if (r == -ENOENT)
                *record = (struct state) {};
        return 0;
}

static int rejoin_dry_run_from(const struct config *c, bool reclone) {
        struct state record = {};
        int r = dry_run_record(c, "rejoin", &record);

        return r ? r : rejoin_dry_run(c, &record, reclone, stdout);
}

static int switchover_dry_run_from(const struct config *c) {
        struct state record = {};
        int r = state_load(c->state_dir, &record);

        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "switchover: the record in %s/%s cannot be read (%s): inspect it with --status",
                                c->state_dir, STATE_FILE_NAME, strerror(-r));
                return EXIT_REFUSED;
        }
        if (r == -ENOENT)
                record = (struct state) {};
        return switchover_dry_run(c, &record, stdout);
}

/* Under the lock, with no daemon running (one that runs does this itself, see command_pause). */
static int pause_local(const struct config *c, const char *reason) {
        struct pause p = { .paused = true, .since_usec = now_realtime_usec(), .uid = geteuid() };
        int r = pause_load(c->state_dir, &p);

        if (r == 0 || r == -EBADMSG) {
                printf("already paused (%s/%s); blfailoverd --resume lifts it\n", c->state_dir, PAUSE_FILE_NAME);
                return EXIT_SUCCESS;
        }
        p = (struct pause) { .paused = true, .since_usec = now_realtime_usec(), .uid = geteuid() };
        snprintf(p.reason, sizeof p.reason, "%s", reason ? reason : "");
        r = pause_save(c->state_dir, &p);
        if (r < 0) {
                log_error_errno(r, "cannot record the pause in %s/%s: %s; NOT paused", c->state_dir, PAUSE_FILE_NAME,
                                strerror(-r));
                return EXIT_FAILURE;
        }
        printf("paused: no daemon runs on %s now; the next one started holds every automatic failover until "
               "blfailoverd --resume\n", c->state_dir);
        return EXIT_SUCCESS;
}

static int resume_local(const struct config *c) {
        int r = pause_clear(c->state_dir);

        if (r == -ENOENT) {
                printf("not paused; nothing to resume\n");
                return EXIT_SUCCESS;
        }
        if (r < 0) {
                log_error_errno(r, "cannot remove %s/%s: %s; still paused", c->state_dir, PAUSE_FILE_NAME,
                                strerror(-r));
                return EXIT_FAILURE;
        }
        printf("resumed: no daemon runs on %s now; the next one started watches and fails over as configured\n",
               c->state_dir);
        return EXIT_SUCCESS;
}

/* The commands that change the pair, run here under its lock (no daemon runs). Takes c. */
static int run_locally(struct config *c, const struct options *o) {
        int r;

        switch (o->mode) {
        case MODE_ONCE:
        case MODE_SWITCHOVER:
        case MODE_REJOIN:
                return run_manager(c, o);
        case MODE_CLEAR_STATE:
                r = clear_state(c, o->forget_roles);
                break;
        case MODE_PAUSE:
                r = pause_local(c, o->reason);
                break;
        default:
                r = resume_local(c);
                break;
        }
        config_free(c);
        return r;
}

static int lock_failed(const struct config *c, int r) {
        if (r == -EPERM) {
                log_error("state_dir %s (or its %s file) is not this user's alone: it must be owned by uid %u and not "
                          "writable by group or others, and %s/%s a plain file; whoever can write there could hold the "
                          "pair's lock or make root write elsewhere. Fix the owner and mode (chmod 0700)", c->state_dir,
                          LOCK_FILE_NAME, (unsigned) geteuid(), c->state_dir, LOCK_FILE_NAME);
                return EXIT_CONFIG;
        }
        log_error_errno(r, "cannot take the lock %s/%s: %s", c->state_dir, LOCK_FILE_NAME, strerror(-r));
        return EXIT_FAILURE;
}

/* The daemon holds the lock for its whole life; a second one on the same state_dir would be a second actor. */
static int run_daemon(struct config *c, const struct options *o) {
        pid_t holder = 0;
        int fd = -1, r = lock_take(c->state_dir, &fd, &holder);

        if (r == -EBUSY) {
                log_error("not starting: another blfailoverd (pid %d: a daemon, or a command in progress) holds this "
                          "pair's lock %s/%s. One daemon per state_dir; give a running one commands (--once, "
                          "--clear-state, --pause, --resume), see it with --status", (int) holder, c->state_dir,
                          LOCK_FILE_NAME);
                config_free(c);
                return EXIT_BUSY;
        }
        if (r < 0) {
                r = lock_failed(c, r);
                config_free(c);
                return r;
        }
        r = run_manager(c, o);          /* takes c */
        lock_release(fd);
        return r;
}

/* The request the daemon is asked (control.c formats it: one copy of the protocol's words). */
static int control_words(const struct options *o, char *buf, size_t size) {
        struct control_request req = { .command = o->mode == MODE_SWITCHOVER ? CONTROL_SWITCHOVER
                                                  : o->mode == MODE_REJOIN ? CONTROL_REJOIN
                                                  : o->mode == MODE_PAUSE ? CONTROL_PAUSE
                                                  : o->mode == MODE_CLEAR_STATE ? CONTROL_CLEAR_STATE
                                                  : o->mode == MODE_RESUME ? CONTROL_RESUME : CONTROL_ONCE,
                                       .force = o->force, .reclone = o->reclone, .forget_roles = o->forget_roles };

        if (o->to && snprintf(req.site, sizeof req.site, "%s", o->to) >= (int) sizeof req.site)
                return -EINVAL;
        if (o->mode == MODE_PAUSE && o->reason &&
            snprintf(req.reason, sizeof req.reason, "%s", o->reason) >= (int) sizeof req.reason)
                return -EINVAL;
        return control_request_format(&req, buf, size);
}

/* The daemon holds the lock: it carries the command out, we relay its progress and exit code. Returns an exit code,
 * or -1 when nobody listens (the holder is not a daemon, or one still starting). */
static int forward_to_daemon(const struct config *c, const struct options *o, pid_t holder) {
        char words[CONTROL_MSG_MAX];
        int code = EXIT_FAILURE, r;

        if (control_words(o, words, sizeof words) < 0) {
                log_error("--to %s: not a site name (the sites form's names: a-z, 0-9, '_' and '-', at most 31)",
                          o->to ? o->to : "");
                return EXIT_USAGE;
        }
        r = control_request(c->state_dir, words, stdout, stderr, &code);

        if (r == -ECONNREFUSED || r == -ENOENT)
                return -1;
        if (r == -ECONNRESET || r == -ETIMEDOUT) {
                log_error("the daemon (pid %d) %s before the command finished; it may have been interrupted: see "
                          "blfailoverd --status and the daemon's journal", (int) holder,
                          r == -ETIMEDOUT ? "stopped answering" : "closed the connection");
                return EXIT_FAILURE;
        }
        if (r < 0) {
                log_error_errno(r, "cannot talk to the daemon (pid %d) on %s/%s: %s", (int) holder, c->state_dir,
                                CONTROL_SOCKET_NAME, strerror(-r));
                return r == -EACCES ? EXIT_NOPERM : EXIT_FAILURE;
        }
        return code;
}

/* The mark that tells this member's next daemon that its record may hold a failover etcd never saw (member.h). */
static int unsynced_mark(const struct config *c) {
        static const char text[] = "the record here was written by blfailoverd --once --force --local\n";
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", c->state_dir, MEMBER_UNSYNCED_FILE) < 0)
                return -ENOMEM;
        return fileio_write_atomic(path, text, sizeof text - 1, 0600);
}

/* In a cluster the leader acts, reached through a running member (its memcmd); with none running here, a command
 * done locally would bypass the cluster. --once --force --local is the operator's way out when etcd is gone: it says
 * what it risks, then acts like a standalone --once --force (the lock, held by us, keeps a daemon off this host).
 * Returns 0 to go on, or the exit code. */
static int cluster_refuses(const struct config *c, const struct options *o) {
        int r;

        if (!c->cluster.enabled)
                return 0;
        if (!o->local) {
                log_error("refused: in a cluster, commands go through a running member: start blfailoverd here, or "
                          "run the command on another member (only --once --force --local acts without the cluster, "
                          "when etcd cannot be reached)");
                return EXIT_BUSY;
        }
        printf("acting without the cluster: a monitor that can still reach etcd may act too; the other monitors will "
               "not see this failover until this member's record reaches etcd\n");
        fflush(stdout);
        r = unsynced_mark(c);
        if (r < 0) {
                log_error_errno(r, "cannot write %s/%s: %s; not acting (without it this member's daemon would replace "
                                "the failover's record with etcd's older one)", c->state_dir, MEMBER_UNSYNCED_FILE,
                                strerror(-r));
                return EXIT_FAILURE;
        }
        /* the steps and hooks say who ran them, as a member's do (member.c sets it in the daemon) */
        (void) setenv("BLFAILOVERD_MEMBER", c->cluster.name, 1);
        return 0;
}

/* --once and --clear-state: done here under the lock when no daemon runs, by the daemon when one does. A lock held
 * with nobody listening is another command (or a daemon starting): wait a little, then say who is in the way. */
static int run_command(struct config *c, const struct options *o) {
        const struct timespec retry_after = { .tv_nsec = 100 * 1000 * 1000 };
        uint64_t deadline = now_monotonic_usec() + 2 * USEC_PER_SEC;
        pid_t holder = 0;
        int fd = -1, r;

        for (;;) {
                r = lock_take(c->state_dir, &fd, &holder);
                if (r == 0) {
                        r = cluster_refuses(c, o);
                        if (r == 0)
                                r = run_locally(c, o);
                        else
                                config_free(c);
                        lock_release(fd);
                        return r;
                }
                if (r != -EBUSY)
                        break;
                if (o->local) {
                        log_error("--local acts only where no blfailoverd runs, and one does here (pid %d holds "
                                  "%s/%s): give it the command without --local (blfailoverd --once), or stop it "
                                  "first", (int) holder, c->state_dir, LOCK_FILE_NAME);
                        config_free(c);
                        return EXIT_BUSY;
                }
                r = forward_to_daemon(c, o, holder);
                if (r >= 0) {
                        config_free(c);
                        return r;
                }
                if (now_monotonic_usec() >= deadline) {
                        log_error("another blfailoverd (pid %d) is changing this pair (it holds %s/%s) and takes no "
                                  "commands; try again when it is done", (int) holder, c->state_dir, LOCK_FILE_NAME);
                        config_free(c);
                        return EXIT_BUSY;
                }
                /* The command line's own wait, bounded by the 2 s deadline above: no event loop runs in this
                 * process (the daemon never gets here: run_daemon refuses at once). */
                nanosleep(&retry_after, NULL);
        }
        r = lock_failed(c, r);
        config_free(c);
        return r;
}

static int run_manager(struct config *c, const struct options *o) {
        struct manager *m = NULL;
        int r = manager_new(o->config_path, c, &m);

        if (r < 0) {
                log_error_errno(r, "cannot start: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        r = o->mode == MODE_ONCE ? manager_run_once(m, o->force)
            : o->mode == MODE_SWITCHOVER ? manager_run_switchover(m, o->to, false)
            : o->mode == MODE_REJOIN ? manager_run_rejoin(m, o->reclone, false)
            : o->mode == MODE_LIFECYCLE_DRILL && o->switchover ? manager_run_switchover(m, o->to, true)
            : o->mode == MODE_LIFECYCLE_DRILL ? manager_run_rejoin(m, o->reclone, true)
            : o->mode == MODE_DRILL ? manager_run_drill(m) : manager_run_daemon(m);
        manager_free(m);
        return r;
}

int main(int argc, char **argv) {
        struct config *c = NULL;
        struct options o;
        int r;

        log_open();
        r = parse_args(argc, argv, &o);
        if (r >= 1000)
                return r - 1000;
        /* --status and the record/pause commands must work while what the config names is broken (mid-rebuild). */
        r = load_config(o.config_path, o.mode != MODE_STATUS && o.mode != MODE_CLEAR_STATE && o.mode != MODE_PAUSE &&
                        o.mode != MODE_RESUME, &c);
        if (r < 0)
                return EXIT_CONFIG;
        if (o.local && !c->cluster.enabled) {
                fprintf(stderr, "blfailoverd: --local only goes with a cluster: section in %s (without one, "
                        "--once --force acts alone already)\n", o.config_path);
                config_free(c);
                return EXIT_USAGE;
        }
        switch (o.mode) {
        case MODE_CHECK:
                printf("configuration OK: %s\n", o.config_path);
                print_lifecycle(c, o.config_path);
                print_cluster(c);
                r = EXIT_SUCCESS;
                break;
        case MODE_STATUS:
                r = show_status(c, o.json);
                break;
        case MODE_CLEAR_STATE:
        case MODE_ONCE:
        case MODE_PAUSE:
        case MODE_RESUME:
        case MODE_SWITCHOVER:
        case MODE_REJOIN:
                return run_command(c, &o);      /* takes c */
        case MODE_SWITCHOVER_DRY_RUN:
                r = switchover_dry_run_from(c);
                break;
        case MODE_LIFECYCLE_DRILL:
                /* read-only: no lock, like --once --dry-run; a daemon may run beside it */
                return run_manager(c, &o);      /* takes c */
        case MODE_REJOIN_DRY_RUN:
                r = rejoin_dry_run_from(c, o.reclone);
                break;
        case MODE_DRY_RUN:
                r = failover_dry_run(c, stdout) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
                break;
        case MODE_DRILL:
                /* The plan and the diff first: the drill's checks below are about that exact sequence. */
                if (failover_dry_run(c, stdout) < 0) {
                        config_free(c);
                        return EXIT_FAILURE;
                }
                fflush(stdout);
                return run_manager(c, &o);      /* takes c */
        default:
                return run_daemon(c, &o);       /* takes c */
        }
        config_free(c);
        return r;
}
