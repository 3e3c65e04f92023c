/* main: the command line — parse options, load the config, pick the mode, turn results into exit codes. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "failover.h"
#include "fileio.h"
#include "health.h"
#include "log.h"
#include "manager.h"
#include "state.h"
#include "status.h"
#include "util.h"

#ifndef BLF_VERSION
#define BLF_VERSION "0.0.0"
#endif

#define EXIT_USAGE 2

enum mode { MODE_DAEMON, MODE_CHECK, MODE_ONCE, MODE_DRY_RUN, MODE_DRILL, MODE_STATUS, MODE_CLEAR_STATE };

struct options {
        const char *config_path;
        enum mode mode;
        bool once, force, dry_run, status, check, clear_state, json;
};

static void usage(FILE *out) {
        fprintf(out,
                "Usage: blfailoverd [-c FILE] [-t] [--once [--force]] [-n|--dry-run] [--status [--json]] [--clear-state]\n"
                "                   [-v] [--version] [-h]\n"
                "Failover supervisor for an active-standby pair behind nginx.\n\n"
                "  -c, --config FILE   config file (default " CONFIG_DEFAULT_PATH ")\n"
                "  -t, --check-config  validate the config and what it names; print FILE:LINE:COL: message per problem\n"
                "      --once          manual failover: run the failover sequence now, once\n"
                "      --force         with --once: go ahead even when a safety gate says no\n"
                "  -n, --dry-run       print every step that would run and the nginx diff; run none\n"
                "      --once --dry-run  the drill: also run every check that changes nothing (gates, ssh,\n"
                "                      nginx test) and print a verdict line\n"
                "      --status        print the live view (roles, last checks, database, held gate) and the\n"
                "                      persisted failover record; --json: one JSON object\n"
                "      --clear-state   forget the recorded failover (after the pair was rebuilt)\n"
                "  -v, --verbose       debug logging\n"
                "      --version       print the version\n"
                "  -h, --help          this help\n\n"
                "Without a mode option it runs as the daemon in the foreground (SIGHUP reloads, SIGTERM stops).\n"
                "Exit codes: 0 ok, 1 failure, 2 usage, 3 refused by a safety gate, 78 bad config.\n");
}

static int pick_mode(struct options *o) {
        int modes = o->check + o->status + o->clear_state + (o->once || o->dry_run);

        if (o->json && !o->status) {
                fprintf(stderr, "blfailoverd: --json only goes with --status\n");
                return -EINVAL;
        }
        if (modes > 1 || (o->force && (!o->once || o->dry_run))) {
                fprintf(stderr, "blfailoverd: %s\n", o->force && !o->once ? "--force only goes with --once"
                        : o->force ? "--force does not go with --dry-run: the drill reports every gate as it is"
                        : "-t, --status, --clear-state and --once/--dry-run exclude each other");
                return -EINVAL;
        }
        o->mode = o->check ? MODE_CHECK : o->status ? MODE_STATUS : o->clear_state ? MODE_CLEAR_STATE
                : o->dry_run && o->once ? MODE_DRILL : o->dry_run ? MODE_DRY_RUN : o->once ? MODE_ONCE : MODE_DAEMON;
        return 0;
}

/* Returns 0 to go on, or an exit code + 1000 to stop right away. */
static int parse_args(int argc, char **argv, struct options *o) {
        enum { OPT_ONCE = 256, OPT_FORCE, OPT_STATUS, OPT_CLEAR, OPT_VERSION, OPT_JSON };
        static const struct option longopts[] = {
                { "config", required_argument, NULL, 'c' },     { "check-config", no_argument, NULL, 't' },
                { "once", no_argument, NULL, OPT_ONCE },         { "force", no_argument, NULL, OPT_FORCE },
                { "dry-run", no_argument, NULL, 'n' },          { "status", no_argument, NULL, OPT_STATUS },
                { "clear-state", no_argument, NULL, OPT_CLEAR }, { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, OPT_VERSION },  { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, OPT_JSON },
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
                case OPT_CLEAR: o->clear_state = true; break;
                case OPT_JSON: o->json = true; break;
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
        *ret = c;
        return 0;
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

static int show_status(const struct config *c, bool json) {
        struct status live;
        struct state record;
        struct status_view v = { .status = &live };
        int r = status_load(c->state_dir, &live);

        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "status: %s/%s cannot be read (%s); showing the configured endpoints only",
                                  c->state_dir, STATUS_FILE_NAME, r == -EBADMSG ? "corrupt or truncated" : strerror(-r));
        if (r < 0)
                status_from_config(c, &live);
        v.daemon_alive = status_daemon_alive(&live);
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
                if (v.record)
                        printf("no further failover will run until the record is cleared (blfailoverd --clear-state)\n");
        }
        if (v.record_error) {
                log_error_errno(v.record_error, "state: %s/%s cannot be read: %s", c->state_dir, STATE_FILE_NAME,
                                v.record_error == -EBADMSG ? "corrupt or truncated" : strerror(-v.record_error));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

static int clear_state(const struct config *c) {
        int r = state_clear(c->state_dir);

        if (r == -ENOENT) {
                printf("no failover recorded in %s; nothing to clear\n", c->state_dir);
                return EXIT_SUCCESS;
        }
        if (r < 0) {
                log_error_errno(r, "cannot remove %s/%s: %s", c->state_dir, STATE_FILE_NAME, strerror(-r));
                return EXIT_FAILURE;
        }
        printf("cleared the failover record in %s; a running daemon picks this up on reload (SIGHUP)\n", c->state_dir);
        return EXIT_SUCCESS;
}

static int run_manager(struct config *c, const struct options *o) {
        struct manager *m = NULL;
        int r = manager_new(o->config_path, c, &m);

        if (r < 0) {
                log_error_errno(r, "cannot start: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        r = o->mode == MODE_ONCE ? manager_run_once(m, o->force)
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
        r = load_config(o.config_path, o.mode != MODE_STATUS && o.mode != MODE_CLEAR_STATE, &c);
        if (r < 0)
                return EXIT_CONFIG;
        switch (o.mode) {
        case MODE_CHECK:
                printf("configuration OK: %s\n", o.config_path);
                r = EXIT_SUCCESS;
                break;
        case MODE_STATUS:
                r = show_status(c, o.json);
                break;
        case MODE_CLEAR_STATE:
                r = clear_state(c);
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
                return run_manager(c, &o);      /* takes c */
        }
        config_free(c);
        return r;
}
