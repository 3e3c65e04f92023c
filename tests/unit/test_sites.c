/* Unit tests of the config's sites form (issue 12): parsing, defaults, every error with its position, the runbook
 * form mapped onto sites, config_apply_roles, the lifecycle capability sentences, and the failover plan that both
 * forms of one pair build. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "plan.h"
#include "sample_text.h"
#include "util.h"

/* lines 1-12 */
#define SITE_A \
        "sites:\n" \
        "  - name: a\n" \
        "    health_url: http://api-a:8080/health\n" \
        "    nginx_server: api-a:8080\n" \
        "    database:\n" \
        "      conninfo: \"host=10.0.0.11 dbname=postgres user=blfailoverd\"\n" \
        "      replication_conninfo: \"host=10.0.0.11 user=replicator\"\n" \
        "      ssh: {host: db-a, user: postgres}\n" \
        "      pgdata: /var/lib/postgresql/15/main\n" \
        "    stack:\n" \
        "      start: {command: [docker, compose, -f, \"/srv/{site}/compose.{role}.yml\", up, -d]}\n" \
        "      stop: {command: [docker, compose, -f, \"/srv/{site}/compose.{role}.yml\", down], timeout: 30s}\n"
/* lines 13-20 */
#define SITE_B \
        "  - name: b\n" \
        "    health_url: http://api-b:8080/health\n" \
        "    nginx_server: api-b:8080\n" \
        "    database:\n" \
        "      conninfo: \"host=10.0.0.12 dbname=postgres user=blfailoverd\"\n" \
        "      replication_conninfo: \"host=10.0.0.12 user=replicator\"\n" \
        "    stack:\n" \
        "      start: {command: [\"/usr/local/bin/start-{site}\", \"{role}\"]}\n"
/* lines 21-23 */
#define TAIL \
        "serves_first: a\n" \
        "failover:\n" \
        "  nginx: {config: /etc/nginx/sites-available/blacklake, upstream: blacklake_backend}\n"
#define SITES SITE_A SITE_B TAIL

struct fixture {
        struct config *config;
        struct config_errors errs;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        config_errors_init(&f->errs, "test.yml");
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        config_free(f->config);
        config_errors_done(&f->errs);
        free(f);
        return 0;
}

static int load(struct fixture *f, const char *yaml) {
        return config_load_buffer("test.yml", yaml, strlen(yaml), &f->config, &f->errs);
}

static void dump_errors_unless(const struct fixture *f, bool ok) {
        if (ok)
                return;
        fprintf(stderr, "reported:\n");
        config_errors_print(&f->errs, stderr);
}

static void assert_loads(struct fixture *f, const char *yaml) {
        int r = load(f, yaml);

        dump_errors_unless(f, r == 0);
        assert_int_equal(r, 0);
}

/* `yaml` is refused, and among the problems is exactly this one. */
static void assert_has_error(struct fixture *f, const char *yaml, unsigned line, unsigned col, const char *message) {
        bool found = false;

        assert_int_equal(load(f, yaml), -EINVAL);
        assert_null(f->config);
        for (size_t i = 0; i < f->errs.n; i++)
                found = found || (f->errs.items[i].line == line && f->errs.items[i].col == col &&
                                  strcmp(f->errs.items[i].message, message) == 0);
        if (!found)
                fprintf(stderr, "expected %u:%u: %s\n", line, col, message);
        dump_errors_unless(f, found);
        assert_true(found);
}

/* Replaces the first `from` in a copy of `yaml` (a test's variation of SITES). */
static char *with(const char *yaml, const char *from, const char *to) {
        const char *at = strstr(yaml, from);
        char *out;

        assert_non_null(at);
        assert_true(asprintf(&out, "%.*s%s%s", (int) (at - yaml), yaml, to, at + strlen(from)) > 0);
        return out;
}

static void assert_varied_error(struct fixture *f, const char *from, const char *to, unsigned line, unsigned col,
                                const char *message) {
        char *yaml = with(SITES, from, to);

        assert_has_error(f, yaml, line, col, message);
        free(yaml);
}

static void assert_argv(char *const *got, const char *const *expected) {
        size_t i;

        assert_non_null(got);
        for (i = 0; expected[i]; i++) {
                assert_non_null(got[i]);
                assert_string_equal(got[i], expected[i]);
        }
        assert_null(got[i]);
}

/* ------------------------------------------------------------------ parsing */

static void sites__valid__every_key_and_default(void **state) {
        static const char *const a_stop[] = { "{ssh}", "{bindir}/pg_ctl", "stop", "-D", "{pgdata}", "-m", "fast",
                                              "-w", "-t", "60", "-s", NULL };
        static const char *const a_rewind[] = { "{ssh}", "env", "LC_ALL=C", "{bindir}/pg_rewind", "-D", "{pgdata}",
                                                "--source-server={source}", "-R", "{dry_run}", NULL };
        struct fixture *f = *state;
        const struct config *c;

        assert_loads(f, SITES);
        c = f->config;
        assert_true(c->sites_form);
        assert_string_equal(c->sites[0].name, "a");
        assert_string_equal(c->sites[1].health_url, "http://api-b:8080/health");
        assert_string_equal(c->sites[1].nginx_server, "api-b:8080");
        assert_int_equal(c->serves_first, 0);
        assert_true(c->sites[0].database.present);
        assert_string_equal(c->sites[0].database.application_name, "a");
        assert_string_equal(c->sites[1].database.application_name, "b");
        assert_string_equal(c->sites[0].database.bindir, "/usr/lib/postgresql/15/bin");
        assert_int_equal(c->sites[0].database.ssh.port, 22);
        assert_non_null(c->sites[1].database.ssh.options);
        /* the default commands: with ssh on a, nothing on b (no pgdata) */
        assert_argv(c->sites[0].database.commands.stop.argv, a_stop);
        assert_argv(c->sites[0].database.commands.rewind.argv, a_rewind);
        assert_int_equal(c->sites[0].database.commands.stop.argc, 11);
        assert_int_equal(c->sites[0].database.commands.clone.timeout_usec, 6 * 3600 * USEC_PER_SEC);
        assert_int_equal(c->sites[0].database.commands.status.timeout_usec, 15 * USEC_PER_SEC);
        assert_null(c->sites[1].database.commands.status.argv);
        assert_int_equal(c->sites[1].database.commands.status.timeout_usec, 15 * USEC_PER_SEC);
        assert_int_equal(c->sites[0].stack_stop.timeout_usec, 30 * USEC_PER_SEC);
        assert_int_equal(c->sites[1].stack_start.timeout_usec, 120 * USEC_PER_SEC);
        assert_null(c->sites[1].stack_stop.argv);
        /* shared keys: the sites form's default promotion; switchover and rejoin defaults */
        assert_int_equal(c->promote.method, CONFIG_PROMOTE_PG_PROMOTE);
        assert_int_equal(c->switchover.max_lag_usec, USEC_PER_SEC);
        assert_int_equal(c->switchover.catch_up_timeout_usec, 10 * USEC_PER_SEC);
        assert_true(c->switchover.checkpoint);
        assert_int_equal(c->switchover.stream_timeout_usec, 60 * USEC_PER_SEC);
        assert_false(c->rejoin.reclone);
        assert_int_equal(c->rejoin.max_lag_bytes, 16 * 1024 * 1024);
        assert_int_equal(c->rejoin.stream_timeout_usec, 120 * USEC_PER_SEC);
}

/* The daemon's runtime fields come from the sites: a serves, b is the standby. */
static void sites__valid__runtime_fields_from_serves_first(void **state) {
        static const char *const stack[] = { "/usr/local/bin/start-b", "active", NULL };
        struct fixture *f = *state;
        const struct config *c;

        assert_loads(f, SITES);
        c = f->config;
        assert_string_equal(c->active.name, "a");
        assert_string_equal(c->active.url, "http://api-a:8080/health");
        assert_string_equal(c->standby.name, "b");
        assert_string_equal(c->nginx.active_server, "api-a:8080");
        assert_string_equal(c->nginx.standby_server, "api-b:8080");
        assert_string_equal(c->database.primary, "host=10.0.0.11 dbname=postgres user=blfailoverd");
        assert_string_equal(c->database.standby, "host=10.0.0.12 dbname=postgres user=blfailoverd");
        assert_true(c->database.present);
        assert_null(c->promote.ssh.host);       /* b has no ssh */
        assert_argv(c->standby_stack.argv, stack);
        assert_int_equal(c->standby_stack.argc, 2);
}

static void sites__serves_first_b__roles_swapped(void **state) {
        static const char *const stack[] = { "docker", "compose", "-f", "/srv/a/compose.active.yml", "up", "-d", NULL };
        struct fixture *f = *state;
        char *yaml = with(SITES, "serves_first: a", "serves_first: b");

        assert_loads(f, yaml);
        free(yaml);
        assert_int_equal(f->config->serves_first, 1);
        assert_string_equal(f->config->active.name, "b");
        assert_string_equal(f->config->standby.name, "a");
        assert_string_equal(f->config->promote.ssh.host, "db-a");
        assert_argv(f->config->standby_stack.argv, stack);
}

/* A site's own promote command (a database in a compose stack) replaces failover.promote.method in the failover
 * plan when that site is the standby, expanded like its other commands; the other direction keeps pg_promote. */
static void sites__commands_promote__the_failover_promotes_with_it(void **state) {
        static const char *const promote[] = { "ssh", "-o", "BatchMode=yes", NULL };
        struct fixture *f = *state;
        char *yaml = with(SITES, "      ssh: {host: db-a, user: postgres}\n      pgdata: /var/lib/postgresql/15/main\n",
                          "      ssh: {host: db-a, user: postgres}\n      pgdata: /var/lib/postgresql/15/main\n"
                          "      commands:\n        promote: {command: [\"{ssh}\", \"{bindir}/pg_ctl\", promote, -D, "
                          "\"{pgdata}\"], timeout: 20s}\n");
        struct plan *p = NULL;
        const struct plan_step *step = NULL;

        assert_loads(f, yaml);
        free(yaml);
        /* a serves: b is promoted, and b has no promote command: pg_promote */
        assert_null(f->config->promote_command.argv);
        assert_int_equal(plan_build(f->config, &(struct plan_options) {}, &p), 0);
        for (size_t i = 0; i < p->n_steps; i++)
                if (strcmp(p->steps[i].name, "promote") == 0)
                        step = &p->steps[i];
        assert_non_null(step);
        assert_int_equal(step->action, PLAN_PG_PROMOTE);
        p = plan_free(p);
        /* b serves: a is promoted with its own command, over its ssh */
        assert_int_equal(config_apply_roles(f->config, 1), 0);
        assert_non_null(f->config->promote_command.argv);
        assert_int_equal(f->config->promote_command.timeout_usec, 20 * USEC_PER_SEC);
        assert_int_equal(plan_build(f->config, &(struct plan_options) {}, &p), 0);
        step = NULL;
        for (size_t i = 0; i < p->n_steps; i++)
                if (strcmp(p->steps[i].name, "promote") == 0)
                        step = &p->steps[i];
        assert_non_null(step);
        assert_int_equal(step->action, PLAN_COMMAND);
        for (size_t i = 0; promote[i]; i++)
                assert_string_equal(step->argv[i], promote[i]);
        {
                bool found = false;
                for (size_t i = 0; step->argv[i]; i++)
                        found |= strstr(step->argv[i], "pg_ctl' 'promote' '-D' '/var/lib/postgresql/15/main'") != NULL;
                assert_true(found);
        }
        plan_free(p);
}

/* ------------------------------------------------------------------ errors, each at its line:col */

static void sites__one_entry__refused(void **state) {
        assert_has_error(*state, SITE_A TAIL, 2, 3,
                         "sites must have exactly 2 entries, the two sites of the pair (it has 1)");
}

static void sites__not_a_list__refused(void **state) {
        assert_has_error(*state, "sites: {name: a}\n" TAIL, 1, 8,
                         "sites must be a list of the 2 sites (- name: a ...), not a mapping");
}

static void sites__bad_name__refused(void **state) {
        assert_varied_error(*state, "name: b", "name: Site B", 13, 11,
                            "sites[1].name must be 1 to 31 of a-z, 0-9, '_' and '-' (it goes into logs, the record "
                            "and SQL)");
}

static void sites__long_name__refused(void **state) {
        assert_varied_error(*state, "name: b", "name: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 13, 11,
                            "sites[1].name must be 1 to 31 of a-z, 0-9, '_' and '-' (it goes into logs, the record "
                            "and SQL)");
}

static void sites__same_name__refused(void **state) {
        assert_varied_error(*state, "name: b", "name: a", 13, 5, "sites[1].name must differ from sites[0].name");
}

static void sites__same_nginx_server__refused(void **state) {
        assert_varied_error(*state, "nginx_server: api-b:8080", "nginx_server: api-a:8080", 15, 5,
                            "sites[1].nginx_server must differ from sites[0].nginx_server");
}

static void sites__database_on_one_site__refused(void **state) {
        struct fixture *f = *state;
        char *yaml = with(SITES,
                          "    database:\n"
                          "      conninfo: \"host=10.0.0.12 dbname=postgres user=blfailoverd\"\n"
                          "      replication_conninfo: \"host=10.0.0.12 user=replicator\"\n", "");

        assert_has_error(f, yaml, 5, 5, "sites[0].database is given but sites[1].database is not: both sites have a "
                         "database, or neither (add sites[1].database, or remove this one)");
        free(yaml);
}

static void sites__missing_required__named(void **state) {
        assert_varied_error(*state, "    health_url: http://api-b:8080/health\n", "", 13, 5,
                            "missing required key sites[1].health_url");
}

static void sites__missing_stack_start__named(void **state) {
        assert_varied_error(*state, "      start: {command: [\"/usr/local/bin/start-{site}\", \"{role}\"]}\n",
                            "      stop: {command: [x]}\n", 20, 7, "missing required key sites[1].stack.start.command");
}

static void sites__unknown_key__hint(void **state) {
        assert_varied_error(*state, "    nginx_server: api-b:8080\n", "    nginx_server: api-b:8080\n    helth_url: x\n",
                            16, 5, "unknown key \"helth_url\" in sites[1] (did you mean \"health_url\"?)");
}

static void sites__serves_first_unknown__refused(void **state) {
        assert_varied_error(*state, "serves_first: a", "serves_first: c", 21, 1,
                            "serves_first \"c\" names no site: use a or b");
}

static void sites__serves_first_missing__refused(void **state) {
        assert_varied_error(*state, "serves_first: a\n", "", 1, 1,
                            "missing required key serves_first (with sites:, the name of the site that serves first)");
}

static void sites__runbook_keys__refused_with_the_sites_key(void **state) {
        struct fixture *f = *state;
        char *yaml = with(SITES, "failover:\n",
                          "active: {name: x, url: http://x/}\n"
                          "failover:\n"
                          "  standby_stack: {command: [x]}\n");

        assert_has_error(f, yaml, 22, 1, "active is the runbook form's key and does not go with sites:: write "
                         "sites[N].name and sites[N].health_url (and serves_first) instead (blfailoverd.yml(5) "
                         "\"Sites\")");
        config_free(f->config);
        f->config = NULL;
        assert_has_error(f, yaml, 24, 3, "failover.standby_stack is the runbook form's key and does not go with "
                         "sites:: write sites[N].stack.start instead (blfailoverd.yml(5) \"Sites\")");
        free(yaml);
}

static void sites__database_primary__refused(void **state) {
        struct fixture *f = *state;
        char *yaml = with(SITES, "failover:\n", "database: {primary: x, connect_timeout: 2s}\nfailover:\n");

        assert_has_error(f, yaml, 22, 12, "database.primary is the runbook form's key and does not go with sites:: "
                         "write sites[N].database.conninfo instead (blfailoverd.yml(5) \"Sites\")");
        free(yaml);
}

static void sites__switchover_without_sites__refused(void **state) {
        assert_has_error(*state,
                         "switchover: {max_lag: 2s}\n"
                         "active: {name: a, url: http://a/}\n"
                         "standby: {name: b, url: http://b/}\n"
                         "failover:\n"
                         "  promote: {method: trigger_file, ssh: {host: h}, trigger_file: /t}\n"
                         "  nginx: {config: /n, upstream: u, active_server: a, standby_server: b}\n"
                         "  standby_stack: {command: [x]}\n",
                         1, 1, "switchover goes with the sites form: describe the pair under sites: "
                         "(blfailoverd.yml(5) \"Sites\"), or remove switchover");
}

static void sites__template_unknown_placeholder__at_the_word(void **state) {
        assert_varied_error(*state, "[\"/usr/local/bin/start-{site}\", \"{role}\"]", "[\"/usr/local/bin/start-{site}\", \"{rol}\"]",
                            20, 56, "sites[1].stack.start.command[1] has an unknown placeholder {rol}: known are "
                            "{pgdata} {bindir} {site} {role} {epoch} {source} {tli} {from}, and as whole words {ssh} "
                            "(first) {dry_run} {until} (see blfailoverd.yml(5) \"Sites\" for the placeholders)");
}

static void sites__ssh_without_host__refused(void **state) {
        assert_varied_error(*state, "[\"/usr/local/bin/start-{site}\", \"{role}\"]", "[\"{ssh}\", /usr/local/bin/start]",
                            20, 25, "sites[1].stack.start.command uses {ssh}, but sites[1].database.ssh.host is not "
                            "set: add it, or run the command here (without {ssh})");
}

static void sites__pgdata_placeholder_without_pgdata__refused(void **state) {
        assert_varied_error(*state, "      replication_conninfo: \"host=10.0.0.12 user=replicator\"\n",
                            "      replication_conninfo: \"host=10.0.0.12 user=replicator\"\n"
                            "      commands: {start: {command: [pg_ctl, start, -D, \"{pgdata}\"]}}\n",
                            19, 55, "sites[1].database.commands.start.command uses {pgdata}: set "
                            "sites[1].database.pgdata");
}

static void sites__stack_with_database_placeholder__refused(void **state) {
        assert_varied_error(*state, "[\"/usr/local/bin/start-{site}\", \"{role}\"]",
                            "[\"/usr/local/bin/start-{site}\", \"{epoch}\"]", 20, 56,
                            "sites[1].stack.start.command uses {epoch}, which only database commands have: stack "
                            "commands take {site} {role} {pgdata} {bindir} and {ssh}");
}

static void sites__trigger_file_method__needs_site_ssh(void **state) {
        assert_varied_error(*state, "failover:\n", "failover:\n  promote: {method: trigger_file}\n", 13, 5,
                            "failover.promote.method trigger_file needs sites[1].database.ssh.host (the host the "
                            "trigger file is created on)");
}

static void sites__pg_promote_without_conninfo__refused(void **state) {
        struct fixture *f = *state;
        char *a = with(SITES, "      conninfo: \"host=10.0.0.11 dbname=postgres user=blfailoverd\"\n", "");
        char *yaml = with(a, "      conninfo: \"host=10.0.0.12 dbname=postgres user=blfailoverd\"\n", "");

        assert_has_error(f, yaml, 1, 1, "failover.promote.method pg_promote (the default with sites:) needs each "
                         "site's database: add sites[0].database.conninfo and sites[1].database.conninfo");
        free(a);
        free(yaml);
}

static void sites__conninfo_on_one_site__refused(void **state) {
        assert_varied_error(*state, "      conninfo: \"host=10.0.0.12 dbname=postgres user=blfailoverd\"\n", "", 16, 5,
                            "missing key sites[1].database.conninfo: sites[0].database.conninfo is set, and both "
                            "sites have one or neither");
}

/* ------------------------------------------------------------------ the runbook form, mapped */

#define RUNBOOK \
        "active: {name: active_api, url: http://active_api:8080/health}\n" \
        "standby: {name: standby_api, url: http://standby_api:8080/health}\n" \
        "database: {standby: \"host=s\", primary: \"host=p\"}\n" \
        "failover:\n" \
        "  promote: {ssh: {host: standby_db, user: postgres, port: 2222, options: [A=b]}, trigger_file: /tmp/t}\n" \
        "  nginx: {config: /n, upstream: u, active_server: \"a:80\", standby_server: \"b:80\"}\n" \
        "  standby_stack: {command: [docker, compose, --format, \"{{json .}}\"], timeout: 7s}\n"

static void sites__runbook__mapped_onto_sites(void **state) {
        static const char *const stack[] = { "docker", "compose", "--format", "{{json .}}", NULL };
        struct fixture *f = *state;
        const struct config *c;

        assert_loads(f, RUNBOOK);
        c = f->config;
        assert_false(c->sites_form);
        assert_int_equal(c->serves_first, 0);
        assert_string_equal(c->sites[0].name, "active_api");
        assert_string_equal(c->sites[0].health_url, "http://active_api:8080/health");
        assert_string_equal(c->sites[0].nginx_server, "a:80");
        assert_string_equal(c->sites[0].database.conninfo, "host=p");
        assert_null(c->sites[0].database.ssh.host);
        assert_null(c->sites[0].stack_start.argv);
        assert_string_equal(c->sites[1].name, "standby_api");
        assert_string_equal(c->sites[1].nginx_server, "b:80");
        assert_string_equal(c->sites[1].database.conninfo, "host=s");
        assert_string_equal(c->sites[1].database.ssh.host, "standby_db");
        assert_int_equal(c->sites[1].database.ssh.port, 2222);
        assert_string_equal(c->sites[1].database.ssh.options[0], "A=b");
        assert_string_equal(c->sites[1].database.trigger_file, "/tmp/t");
        assert_argv(c->sites[1].stack_start.argv, stack);       /* braces kept: never a template */
        assert_int_equal(c->sites[1].stack_start.timeout_usec, 7 * USEC_PER_SEC);
        assert_null(c->sites[0].database.pgdata);
        assert_null(c->sites[1].database.commands.rewind.argv);
        /* and the fields the daemon reads are the file's */
        assert_argv(c->standby_stack.argv, stack);
        assert_string_equal(c->promote.trigger_file, "/tmp/t");
        assert_int_equal(c->promote.method, CONFIG_PROMOTE_TRIGGER_FILE);
}

/* ------------------------------------------------------------------ config_apply_roles */

static void sites__apply_roles__both_directions_and_back(void **state) {
        struct fixture *f = *state;
        struct config *c;

        assert_loads(f, SITES);
        c = f->config;
        assert_int_equal(config_apply_roles(c, 1), 0);
        assert_string_equal(c->active.name, "b");
        assert_string_equal(c->standby.url, "http://api-a:8080/health");
        assert_string_equal(c->nginx.active_server, "api-b:8080");
        assert_string_equal(c->nginx.standby_server, "api-a:8080");
        assert_string_equal(c->database.primary, "host=10.0.0.12 dbname=postgres user=blfailoverd");
        assert_string_equal(c->database.standby, "host=10.0.0.11 dbname=postgres user=blfailoverd");
        assert_string_equal(c->promote.ssh.host, "db-a");
        assert_string_equal(c->promote.ssh.user, "postgres");
        assert_string_equal(c->standby_stack.argv[3], "/srv/a/compose.active.yml");
        assert_int_equal(config_apply_roles(c, 0), 0);
        assert_string_equal(c->active.name, "a");
        assert_string_equal(c->nginx.standby_server, "api-b:8080");
        assert_null(c->promote.ssh.host);
        assert_string_equal(c->standby_stack.argv[0], "/usr/local/bin/start-b");
        assert_int_equal(config_apply_roles(c, 2), -EINVAL);
        assert_string_equal(c->active.name, "a");
}

static void sites__apply_roles__runbook_serving_0_is_the_file(void **state) {
        struct fixture *f = *state;
        struct config *c;

        assert_loads(f, RUNBOOK);
        c = f->config;
        assert_int_equal(config_apply_roles(c, 1), 0);
        assert_string_equal(c->active.name, "standby_api");
        assert_string_equal(c->database.standby, "host=p");
        assert_int_equal(config_apply_roles(c, 0), 0);
        assert_string_equal(c->active.name, "active_api");
        assert_string_equal(c->active.url, "http://active_api:8080/health");
        assert_string_equal(c->standby.name, "standby_api");
        assert_string_equal(c->nginx.active_server, "a:80");
        assert_string_equal(c->nginx.standby_server, "b:80");
        assert_string_equal(c->database.primary, "host=p");
        assert_string_equal(c->database.standby, "host=s");
        assert_true(c->database.present);
        assert_string_equal(c->promote.ssh.host, "standby_db");
        assert_int_equal(c->promote.ssh.port, 2222);
        assert_int_equal(c->promote.ssh.n_options, 1);
        assert_string_equal(c->promote.trigger_file, "/tmp/t");
        assert_int_equal(c->standby_stack.argc, 4);
        assert_string_equal(c->standby_stack.argv[3], "{{json .}}");
        assert_int_equal(c->standby_stack.timeout_usec, 7 * USEC_PER_SEC);
}

/* ------------------------------------------------------------------ what the lifecycle commands lack */

static void sites__missing__named_per_site(void **state) {
        struct fixture *f = *state;
        char *yaml;

        assert_loads(f, SITES);
        assert_string_equal(config_switchover_missing(f->config), "needs sites[1].database.pgdata");
        assert_null(config_rejoin_missing(f->config, 0));
        assert_string_equal(config_rejoin_missing(f->config, 1), "needs sites[1].database.pgdata");
        config_free(f->config);
        f->config = NULL;
        yaml = with(SITES, "    stack:\n      start: {command: [\"/usr",
                    "      pgdata: /pg\n    stack:\n      start: {command: [\"/usr");
        assert_loads(f, yaml);
        free(yaml);
        assert_string_equal(config_switchover_missing(f->config), "needs sites[1].stack.stop");
        assert_null(config_rejoin_missing(f->config, 1));
        f->config->rejoin.reclone = true;
        assert_null(config_rejoin_missing(f->config, 1));
        config_free(f->config);
        f->config = NULL;
        assert_loads(f, RUNBOOK);
        assert_string_equal(config_switchover_missing(f->config), "needs the sites form (sites:)");
        assert_string_equal(config_rejoin_missing(f->config, 1), "needs the sites form (sites:)");
}

static void sites__missing__replication_conninfo_of_the_source(void **state) {
        struct fixture *f = *state;
        char *yaml = with(SITES, "      replication_conninfo: \"host=10.0.0.12 user=replicator\"\n", "");

        assert_loads(f, yaml);
        free(yaml);
        assert_string_equal(config_rejoin_missing(f->config, 0), "needs sites[1].database.replication_conninfo");
}

/* ------------------------------------------------------------------ one pair, two forms, one failover plan */

/* The sample's pair in the sites form: what design §1.2 maps it onto, plus what the sites form asks more. */
#define SAMPLE_SITES \
        "sites:\n" \
        "  - name: active_api\n" \
        "    health_url: http://active_api:8080/health\n" \
        "    nginx_server: active_api:8080\n" \
        "    database:\n" \
        "      %s\n" \
        "      ssh: {host: primary_db}\n" \
        "      trigger_file: /tmp/postgresql.trigger\n" \
        "    stack:\n" \
        "      start: {command: [docker, compose, -f, /srv/blacklake/docker-compose.active.yml, up, -d]}\n" \
        "  - name: standby_api\n" \
        "    health_url: http://standby_api:8080/health\n" \
        "    nginx_server: standby_api:8080\n" \
        "    database:\n" \
        "      %s\n" \
        "      ssh:\n" \
        "        host: standby_db\n" \
        "        user: postgres\n" \
        "        identity_file: /etc/blfailoverd/id_ed25519\n" \
        "        options: [StrictHostKeyChecking=yes, UserKnownHostsFile=/etc/blfailoverd/known_hosts]\n" \
        "      trigger_file: /tmp/postgresql.trigger\n" \
        "    stack:\n" \
        "      start: {command: [docker, compose, -f, /srv/blacklake/docker-compose.standby.yml, up, -d]}\n" \
        "serves_first: active_api\n"

static char *plan_text(const struct config *c, const struct plan_options *opts, struct plan **ret) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);

        assert_int_equal(plan_build(c, opts, ret), 0);
        plan_print(*ret, out);
        fclose(out);
        return text;
}

static void assert_same_plan(const struct config *runbook, const struct config *sites, bool fence_required) {
        struct plan_options opts = { .fence_required = fence_required, .ssh_control_path = "/run/blf/ssh" };
        struct plan *p, *q;
        char *a = plan_text(runbook, &opts, &p), *b = plan_text(sites, &opts, &q);

        assert_string_equal(a, b);
        assert_int_equal(p->n_steps, q->n_steps);
        for (size_t i = 0; i < p->n_steps; i++) {
                assert_string_equal(p->steps[i].name, q->steps[i].name);
                assert_int_equal(p->steps[i].action, q->steps[i].action);
                assert_true(strv_equal(p->steps[i].argv, q->steps[i].argv));
                assert_int_equal(p->steps[i].timeout_usec, q->steps[i].timeout_usec);
                assert_int_equal(p->steps[i].restore_nginx_on_failure, q->steps[i].restore_nginx_on_failure);
                assert_int_equal(p->steps[i].optional, q->steps[i].optional);
        }
        assert_string_equal(p->active_server, q->active_server);
        assert_string_equal(p->standby_server, q->standby_server);
        assert_true((p->db_standby == NULL) == (q->db_standby == NULL));
        if (p->db_standby)
                assert_string_equal(p->db_standby, q->db_standby);
        assert_true(strv_equal(p->verify_urls, q->verify_urls));
        assert_int_equal(p->promote_timeout_usec, q->promote_timeout_usec);
        plan_free(p);
        plan_free(q);
        free(a);
        free(b);
}

static void both_forms_same_plan(bool examples, const char *conninfo_a, const char *conninfo_b) {
        struct config_errors errs;
        struct config *runbook = NULL, *sites = NULL;
        char *text = sample_text(examples, NULL), *sites_text = NULL, *block = NULL;

        config_errors_init(&errs, SAMPLE_PATH);
        assert_int_equal(config_load_buffer(SAMPLE_PATH, text, strlen(text), &runbook, &errs), 0);
        drop_runbook_keys(text);
        assert_true(asprintf(&block, SAMPLE_SITES, conninfo_a, conninfo_b) > 0);
        assert_true(asprintf(&sites_text, "%s%s", text, block) > 0);
        if (config_load_buffer(SAMPLE_PATH, sites_text, strlen(sites_text), &sites, &errs) != 0)
                config_errors_print(&errs, stderr);
        assert_non_null(sites);
        assert_true(sites->sites_form);
        assert_same_plan(runbook, sites, false);
        assert_same_plan(runbook, sites, true);
        config_free(runbook);
        config_free(sites);
        config_errors_done(&errs);
        free(text);
        free(sites_text);
        free(block);
}

static void sites__sample_and_its_sites_form__same_failover_plan(void **unused) {
        both_forms_same_plan(false, "application_name: active_api", "application_name: standby_api");
}

static void sites__sample_with_examples_and_its_sites_form__same_failover_plan(void **unused) {
        both_forms_same_plan(true, "conninfo: \"host=primary_db port=5432 dbname=blacklake user=blfailoverd\"",
                             "conninfo: \"host=standby_db port=5432 dbname=blacklake user=blfailoverd\"");
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
                T(sites__valid__every_key_and_default),
                T(sites__valid__runtime_fields_from_serves_first),
                T(sites__serves_first_b__roles_swapped),
                T(sites__commands_promote__the_failover_promotes_with_it),
                T(sites__one_entry__refused),
                T(sites__not_a_list__refused),
                T(sites__bad_name__refused),
                T(sites__long_name__refused),
                T(sites__same_name__refused),
                T(sites__same_nginx_server__refused),
                T(sites__database_on_one_site__refused),
                T(sites__missing_required__named),
                T(sites__missing_stack_start__named),
                T(sites__unknown_key__hint),
                T(sites__serves_first_unknown__refused),
                T(sites__serves_first_missing__refused),
                T(sites__runbook_keys__refused_with_the_sites_key),
                T(sites__database_primary__refused),
                T(sites__switchover_without_sites__refused),
                T(sites__template_unknown_placeholder__at_the_word),
                T(sites__ssh_without_host__refused),
                T(sites__pgdata_placeholder_without_pgdata__refused),
                T(sites__stack_with_database_placeholder__refused),
                T(sites__trigger_file_method__needs_site_ssh),
                T(sites__pg_promote_without_conninfo__refused),
                T(sites__conninfo_on_one_site__refused),
                T(sites__runbook__mapped_onto_sites),
                T(sites__apply_roles__both_directions_and_back),
                T(sites__apply_roles__runbook_serving_0_is_the_file),
                T(sites__missing__named_per_site),
                T(sites__missing__replication_conninfo_of_the_source),
                cmocka_unit_test(sites__sample_and_its_sites_form__same_failover_plan),
                cmocka_unit_test(sites__sample_with_examples_and_its_sites_form__same_failover_plan),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
