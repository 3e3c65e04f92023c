/* test_config: unit tests of the config module — keys, defaults, units, every error kind with its position. */
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
#include <unistd.h>

#include "config.h"
#include "util.h"

#define SAMPLE_PATH "conf/blfailoverd.yml"      /* the tests run from the repository root */

/* 6 lines */
#define ENDPOINTS \
        "active:\n" \
        "  name: active_api\n" \
        "  url: http://active_api:8080/health\n" \
        "standby:\n" \
        "  name: standby_api\n" \
        "  url: http://standby_api:8080/health\n"

/* 12 lines */
#define FAILOVER \
        "failover:\n" \
        "  promote:\n" \
        "    ssh:\n" \
        "      host: standby_db\n" \
        "    trigger_file: /tmp/postgresql.trigger\n" \
        "  nginx:\n" \
        "    config: /etc/nginx/sites-available/blacklake\n" \
        "    upstream: blacklake_backend\n" \
        "    active_server: active_api:8080\n" \
        "    standby_server: standby_api:8080\n" \
        "  standby_stack:\n" \
        "    command: [docker, compose, up, -d]\n"

/* Every required key and nothing else: 18 lines. Tests put the section under test before it, so the lines
 * they assert are the first lines of the document. */
#define MINIMAL ENDPOINTS FAILOVER

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

/* What was reported, on stderr, when an assertion about it is about to fail. */
static void dump_errors_unless(const struct fixture *f, bool ok) {
        if (ok)
                return;
        fprintf(stderr, "reported:\n");
        config_errors_print(&f->errs, stderr);
}

static void assert_error_count(const struct fixture *f, size_t n) {
        dump_errors_unless(f, f->errs.n == n);
        assert_int_equal(f->errs.n, n);
}

static void assert_error(const struct fixture *f, size_t i, unsigned line, unsigned col, const char *message) {
        assert_true(i < f->errs.n);
        dump_errors_unless(f, strcmp(f->errs.items[i].message, message) == 0 && f->errs.items[i].line == line &&
                              f->errs.items[i].col == col);
        assert_string_equal(f->errs.items[i].message, message);
        assert_int_equal(f->errs.items[i].line, line);
        assert_int_equal(f->errs.items[i].col, col);
}

static void assert_only_error(struct fixture *f, const char *yaml, unsigned line, unsigned col,
                              const char *message) {
        assert_int_equal(load(f, yaml), -EINVAL);
        assert_null(f->config);
        assert_error_count(f, 1);
        assert_error(f, 0, line, col, message);
}

/* ------------------------------------------------------------------ durations (pure) */

static void config_parse_duration__units__converted(void **state) {
        static const struct { const char *s; uint64_t usec; } cases[] = {
                { "250ms", 250 * USEC_PER_MSEC },
                { "1ms", USEC_PER_MSEC },
                { "10s", 10 * USEC_PER_SEC },
                { "2m", 120 * USEC_PER_SEC },
                { "1h", 3600 * USEC_PER_SEC },
                { "0s", 0 },
                { "0ms", 0 },
                { "120s", 120 * USEC_PER_SEC },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t usec = 12345;

                assert_int_equal(config_parse_duration(cases[i].s, &usec), 0);
                assert_int_equal(usec, cases[i].usec);
        }
}

static void assert_duration_rejected(const char *s) {
        uint64_t usec = 777;

        assert_int_equal(config_parse_duration(s, &usec), -EINVAL);
        assert_int_equal(usec, 777);    /* untouched on failure */
}

static void config_parse_duration__missing_unit__einval(void **state) {
        assert_duration_rejected("10");
        assert_duration_rejected("0");
}

static void config_parse_duration__bad_unit__einval(void **state) {
        assert_duration_rejected("10x");
        assert_duration_rejected("10sec");
        assert_duration_rejected("10S");
        assert_duration_rejected("1d");
        assert_duration_rejected("10us");
        assert_duration_rejected("10 s");
        assert_duration_rejected("10s ");
        assert_duration_rejected("10ms5");
}

static void config_parse_duration__not_a_whole_number__einval(void **state) {
        assert_duration_rejected("1.5s");
        assert_duration_rejected("");
        assert_duration_rejected("s");
        assert_duration_rejected("-1s");
        assert_duration_rejected("+1s");
        assert_duration_rejected(" 1s");
        assert_duration_rejected(NULL);
}

static void config_parse_duration__overflow__einval(void **state) {
        uint64_t usec;

        assert_duration_rejected("18446744073709551616ms");     /* 2^64: the number itself overflows */
        assert_duration_rejected("99999999999999999999999s");
        assert_duration_rejected("18446744073709552h");         /* fits, but not once multiplied */
        assert_duration_rejected("18446744073709552ms");
        assert_int_equal(config_parse_duration("18446744073709551ms", &usec), 0);    /* the largest that fits */
        assert_int_equal(usec, UINT64_C(18446744073709551000));
}

/* ------------------------------------------------------------------ values */

static void config__every_key__parsed(void **state) {
        struct fixture *f = *state;
        const struct config *c;

        assert_int_equal(load(f,
                "state_dir: /srv/blf-state\n"
                "health:\n"
                "  interval: 30s\n"
                "  timeout: 250ms\n"
                "  failure_threshold: 5\n"
                "  expect_body: '\"status\":\"healthy\"'\n"
                "active:\n"
                "  name: a1\n"
                "  url: https://a1.example:8443/health\n"
                "standby:\n"
                "  name: s1\n"
                "  url: http://s1:8080/health?deep=1\n"
                "failover:\n"
                "  promote:\n"
                "    ssh:\n"
                "      host: db2\n"
                "      user: postgres\n"
                "      port: 2222\n"
                "      identity_file: /etc/blfailoverd/id_ed25519\n"
                "      options: [StrictHostKeyChecking=yes, ConnectTimeout=5]\n"
                "    trigger_file: /var/lib/postgresql/trigger\n"
                "    timeout: 1m\n"
                "  nginx:\n"
                "    config: /etc/nginx/conf.d/app.conf\n"
                "    upstream: app\n"
                "    active_server: 10.0.0.1:80\n"
                "    standby_server: 10.0.0.2:80\n"
                "    test_command: [/usr/sbin/nginx, -t, -q]\n"
                "    reload_command: [systemctl, reload, nginx]\n"
                "    timeout: 20s\n"
                "  standby_stack:\n"
                "    command: [/usr/local/bin/start-standby]\n"
                "    timeout: 2m\n"), 0);
        c = f->config;
        assert_non_null(c);
        assert_error_count(f, 0);
        assert_string_equal(c->path, "test.yml");
        assert_string_equal(c->state_dir, "/srv/blf-state");
        assert_int_equal(c->health.interval_usec, 30 * USEC_PER_SEC);
        assert_int_equal(c->health.timeout_usec, 250 * USEC_PER_MSEC);
        assert_int_equal(c->health.failure_threshold, 5);
        assert_string_equal(c->health.expect_body, "\"status\":\"healthy\"");
        assert_string_equal(c->active.name, "a1");
        assert_string_equal(c->active.url, "https://a1.example:8443/health");
        assert_string_equal(c->standby.name, "s1");
        assert_string_equal(c->standby.url, "http://s1:8080/health?deep=1");
        assert_string_equal(c->promote.ssh.host, "db2");
        assert_string_equal(c->promote.ssh.user, "postgres");
        assert_int_equal(c->promote.ssh.port, 2222);
        assert_string_equal(c->promote.ssh.identity_file, "/etc/blfailoverd/id_ed25519");
        assert_int_equal(c->promote.ssh.n_options, 2);
        assert_string_equal(c->promote.ssh.options[0], "StrictHostKeyChecking=yes");
        assert_string_equal(c->promote.ssh.options[1], "ConnectTimeout=5");
        assert_null(c->promote.ssh.options[2]);
        assert_string_equal(c->promote.trigger_file, "/var/lib/postgresql/trigger");
        assert_int_equal(c->promote.timeout_usec, 60 * USEC_PER_SEC);
        assert_string_equal(c->nginx.config, "/etc/nginx/conf.d/app.conf");
        assert_string_equal(c->nginx.upstream, "app");
        assert_string_equal(c->nginx.active_server, "10.0.0.1:80");
        assert_string_equal(c->nginx.standby_server, "10.0.0.2:80");
        assert_int_equal(c->nginx.test_command.argc, 3);
        assert_string_equal(c->nginx.test_command.argv[0], "/usr/sbin/nginx");
        assert_string_equal(c->nginx.test_command.argv[2], "-q");
        assert_null(c->nginx.test_command.argv[3]);
        assert_int_equal(c->nginx.reload_command.argc, 3);
        assert_string_equal(c->nginx.reload_command.argv[0], "systemctl");
        assert_null(c->nginx.reload_command.argv[3]);
        assert_int_equal(c->nginx.timeout_usec, 20 * USEC_PER_SEC);
        assert_int_equal(c->nginx.test_command.timeout_usec, 20 * USEC_PER_SEC);
        assert_int_equal(c->nginx.reload_command.timeout_usec, 20 * USEC_PER_SEC);
        assert_int_equal(c->standby_stack.argc, 1);
        assert_string_equal(c->standby_stack.argv[0], "/usr/local/bin/start-standby");
        assert_null(c->standby_stack.argv[1]);
        assert_int_equal(c->standby_stack.timeout_usec, 120 * USEC_PER_SEC);
}

static void config__only_required_keys__defaults_applied(void **state) {
        struct fixture *f = *state;
        const struct config *c;

        assert_int_equal(load(f, MINIMAL), 0);
        assert_error_count(f, 0);
        c = f->config;
        assert_non_null(c);
        assert_string_equal(c->state_dir, "/var/lib/blfailoverd");
        assert_int_equal(c->health.interval_usec, 10 * USEC_PER_SEC);
        assert_int_equal(c->health.timeout_usec, 2 * USEC_PER_SEC);
        assert_int_equal(c->health.failure_threshold, 3);
        assert_null(c->health.expect_body);
        assert_null(c->promote.ssh.user);
        assert_int_equal(c->promote.ssh.port, 22);
        assert_null(c->promote.ssh.identity_file);
        assert_non_null(c->promote.ssh.options);
        assert_null(c->promote.ssh.options[0]);
        assert_int_equal(c->promote.ssh.n_options, 0);
        assert_int_equal(c->promote.timeout_usec, 15 * USEC_PER_SEC);
        assert_int_equal(c->nginx.test_command.argc, 2);
        assert_string_equal(c->nginx.test_command.argv[0], "nginx");
        assert_string_equal(c->nginx.test_command.argv[1], "-t");
        assert_null(c->nginx.test_command.argv[2]);
        assert_int_equal(c->nginx.reload_command.argc, 3);
        assert_string_equal(c->nginx.reload_command.argv[0], "nginx");
        assert_string_equal(c->nginx.reload_command.argv[1], "-s");
        assert_string_equal(c->nginx.reload_command.argv[2], "reload");
        assert_null(c->nginx.reload_command.argv[3]);
        assert_int_equal(c->nginx.timeout_usec, 15 * USEC_PER_SEC);
        assert_int_equal(c->nginx.test_command.timeout_usec, 15 * USEC_PER_SEC);
        assert_int_equal(c->nginx.reload_command.timeout_usec, 15 * USEC_PER_SEC);
        assert_int_equal(c->standby_stack.argc, 4);
        assert_string_equal(c->standby_stack.argv[3], "-d");
        assert_int_equal(c->standby_stack.timeout_usec, 120 * USEC_PER_SEC);
}

static void config__empty_sections__defaults_applied(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "health:\n" MINIMAL), 0);
        assert_int_equal(f->config->health.interval_usec, 10 * USEC_PER_SEC);
        assert_int_equal(f->config->health.failure_threshold, 3);
}

static void config__duration_units__converted_in_file(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "health:\n  interval: 2m\n  timeout: 250ms\n" MINIMAL "    timeout: 1h\n"), 0);
        assert_int_equal(f->config->health.interval_usec, 120 * USEC_PER_SEC);
        assert_int_equal(f->config->health.timeout_usec, 250 * USEC_PER_MSEC);
        assert_int_equal(f->config->standby_stack.timeout_usec, 3600 * USEC_PER_SEC);
}

static void config__empty_optional_list__accepted(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    ssh: {host: db, options: []}\n"
                "    trigger_file: /t\n"
                "  nginx: {config: /n, upstream: u, active_server: a, standby_server: b}\n"
                "  standby_stack: {command: [x]}\n"), 0);
        assert_non_null(f->config->promote.ssh.options);
        assert_int_equal(f->config->promote.ssh.n_options, 0);
}

static void config__sample_file__parses_without_error(void **state) {
        struct fixture *f = *state;
        const struct config *c;

        assert_int_equal(config_load_file(SAMPLE_PATH, &f->config, &f->errs), 0);
        assert_error_count(f, 0);
        c = f->config;
        assert_non_null(c);
        assert_string_equal(c->path, SAMPLE_PATH);
        /* the operators' bash loop: every 10s, 3 strikes */
        assert_int_equal(c->health.interval_usec, 10 * USEC_PER_SEC);
        assert_int_equal(c->health.failure_threshold, 3);
        assert_string_equal(c->health.expect_body, "\"status\":\"healthy\"");
        assert_string_equal(c->active.url, "http://active_api:8080/health");
        assert_string_equal(c->promote.ssh.user, "postgres");
        assert_int_equal(c->promote.ssh.n_options, 2);
        assert_string_equal(c->promote.ssh.options[1], "UserKnownHostsFile=/etc/blfailoverd/known_hosts");
        assert_string_equal(c->nginx.upstream, "blacklake_backend");
        assert_int_equal(c->standby_stack.argc, 6);
        assert_string_equal(c->standby_stack.argv[3], "/srv/blacklake/docker-compose.standby.yml");
        assert_int_equal(c->standby_stack.timeout_usec, 120 * USEC_PER_SEC);
}

static void config__marks__lookup_keys_and_items(void **state) {
        struct fixture *f = *state;
        struct config_mark m;

        assert_int_equal(load(f, MINIMAL), 0);
        m = config_mark_of(f->config, "failover.nginx.upstream");
        assert_int_equal(m.line, 14);
        assert_int_equal(m.col, 5);
        m = config_mark_of(f->config, "active.url");
        assert_int_equal(m.line, 3);
        assert_int_equal(m.col, 3);
        m = config_mark_of(f->config, "failover");
        assert_int_equal(m.line, 7);
        assert_int_equal(m.col, 1);
        m = config_mark_of(f->config, "failover.standby_stack.command[2]");       /* "up" */
        assert_int_equal(m.line, 18);
        assert_int_equal(m.col, 32);
        /* defaults and unknown paths are not in the file */
        m = config_mark_of(f->config, "health.interval");
        assert_int_equal(m.line, 0);
        assert_int_equal(m.col, 0);
        m = config_mark_of(f->config, "failover.standby_stack.command[4]");
        assert_int_equal(m.line, 0);
        m = config_mark_of(NULL, "active.url");
        assert_int_equal(m.line, 0);
        /* file order */
        assert_string_equal(f->config->marks[0].key, "active");
        assert_string_equal(f->config->marks[f->config->n_marks - 1].key, "failover.standby_stack.command[3]");
}

/* ------------------------------------------------------------------ keys */

static void config__unknown_key__error_with_line_and_hint(void **state) {
        assert_only_error(*state,
                "health:\n"
                "  interval: 10s\n"
                "  failure_treshold: 3\n" MINIMAL,
                3, 3, "unknown key \"failure_treshold\" in health (did you mean \"failure_threshold\"?)");
}

static void config__unknown_key_transposed_letters__hint(void **state) {
        assert_only_error(*state, "health:\n  intreval: 10s\n" MINIMAL,
                          2, 3, "unknown key \"intreval\" in health (did you mean \"interval\"?)");
}

static void config__unknown_key_at_top_level__hint(void **state) {
        assert_only_error(*state, "# comment\nstatedir: /x\n" MINIMAL,
                          2, 1, "unknown key \"statedir\" at the top level (did you mean \"state_dir\"?)");
}

static void config__unknown_key_far_from_any__no_hint(void **state) {
        assert_only_error(*state, "health:\n  retries: 3\n" MINIMAL, 2, 3, "unknown key \"retries\" in health");
}

static void config__key_one_level_off__indentation_hint(void **state) {
        assert_only_error(*state, "failure_threshold: 3\n" MINIMAL, 1, 1,
                          "unknown key \"failure_threshold\" at the top level "
                          "(did you mean health.failure_threshold? check the indentation)");
}

static void config__unknown_key_in_deep_section__error(void **state) {
        assert_only_error(*state,
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    ssh:\n"
                "      host: standby_db\n"
                "      identityfile: /k\n"
                "    trigger_file: /tmp/postgresql.trigger\n"
                "  nginx: {config: /n, upstream: u, active_server: a, standby_server: b}\n"
                "  standby_stack: {command: [x]}\n",
                11, 7, "unknown key \"identityfile\" in failover.promote.ssh (did you mean \"identity_file\"?)");
}

static void config__duplicate_key__error_at_second(void **state) {
        assert_only_error(*state,
                "health:\n"
                "  timeout: 1s\n"
                "  interval: 10s\n"
                "  timeout: 2s\n" MINIMAL,
                4, 3, "duplicate key health.timeout (first set at 2:3)");
}

static void config__duplicate_section__error(void **state) {
        assert_only_error(*state, MINIMAL "active:\n  name: x\n", 19, 1, "duplicate key active (first set at 1:1)");
}

static void config__non_scalar_key__error(void **state) {
        assert_only_error(*state, "health:\n  ? [a, b]\n  : 1\n" MINIMAL, 2, 5,
                          "keys in health must be plain words, not a list");
}

/* ------------------------------------------------------------------ required keys */

static void config__failover_missing__every_required_key_reported_at_1_1(void **state) {
        struct fixture *f = *state;
        static const char *const missing[] = {
                "failover.promote.ssh.host", "failover.promote.trigger_file", "failover.nginx.config",
                "failover.nginx.upstream", "failover.nginx.active_server", "failover.nginx.standby_server",
                "failover.standby_stack.command",
        };

        assert_int_equal(load(f, "# no failover\n" ENDPOINTS), -EINVAL);
        assert_null(f->config);
        assert_error_count(f, ELEMENTSOF(missing));
        for (size_t i = 0; i < ELEMENTSOF(missing); i++) {
                char msg[128];

                snprintf(msg, sizeof msg, "missing required key %s", missing[i]);
                assert_error(f, i, 1, 1, msg);
        }
}

static void config__endpoint_keys_missing__reported_at_mapping(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "active:\n"
                "  url: http://a/\n"
                "standby:\n"
                "    name: s\n" FAILOVER), -EINVAL);
        assert_error_count(f, 2);
        assert_error(f, 0, 2, 3, "missing required key active.name");
        assert_error(f, 1, 4, 5, "missing required key standby.url");
}

static void config__empty_section__required_keys_reported_at_its_key(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    ssh: {host: db}\n"
                "    trigger_file: /t\n"
                "  nginx:\n"
                "  standby_stack: {command: [x]}\n"), -EINVAL);
        assert_error_count(f, 4);
        assert_error(f, 0, 11, 3, "missing required key failover.nginx.config");
        assert_error(f, 1, 11, 3, "missing required key failover.nginx.upstream");
        assert_error(f, 2, 11, 3, "missing required key failover.nginx.active_server");
        assert_error(f, 3, 11, 3, "missing required key failover.nginx.standby_server");
}

static void config__section_absent_inside_present_one__reported_at_parent(void **state) {
        assert_only_error(*state,
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    trigger_file: /t\n"
                "  nginx: {config: /n, upstream: u, active_server: a, standby_server: b}\n"
                "  standby_stack: {command: [x]}\n",
                9, 5, "missing required key failover.promote.ssh.host");
}

static void config__empty_file__error(void **state) {
        assert_only_error(*state, "# nothing here\n", 0, 0, "no configuration: the file is empty or has only comments");
}

static void config__top_level_not_mapping__error(void **state) {
        assert_only_error(*state, "- a\n- b\n", 1, 1,
                          "the top level must be a mapping of keys (state_dir:, health:, ...), not a list");
}

/* ------------------------------------------------------------------ types and values */

static void config__list_where_scalar_expected__error(void **state) {
        assert_only_error(*state, "health:\n  interval: [10s]\n" MINIMAL, 2, 13,
                          "health.interval must be a single value, not a list");
}

static void config__scalar_where_section_expected__error(void **state) {
        assert_only_error(*state, "health: fast\n" MINIMAL, 1, 9, "health must be a section of keys, not a single value");
}

static void config__duplicate_nested_section__error(void **state) {
        assert_only_error(*state, MINIMAL "    timeout: 2m\n" "  nginx:\n", 20, 3, "duplicate key failover.nginx "
                          "(first set at 12:3)");
}

static void config__command_string_not_list__error(void **state) {
        assert_only_error(*state,
                ENDPOINTS
                "failover:\n"
                "  promote: {ssh: {host: db}, trigger_file: /t}\n"
                "  nginx:\n"
                "    config: /n\n"
                "    upstream: u\n"
                "    active_server: a\n"
                "    standby_server: b\n"
                "    reload_command: nginx -s reload\n"
                "  standby_stack: {command: [x]}\n",
                14, 21, "failover.nginx.reload_command must be a list like [nginx, -s, reload], not a single value "
                "(commands never go through a shell)");
}

static void config__command_list_empty_or_bad_items__errors(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                ENDPOINTS
                "failover:\n"
                "  promote: {ssh: {host: db}, trigger_file: /t}\n"
                "  nginx:\n"
                "    config: /n\n"
                "    upstream: u\n"
                "    active_server: a\n"
                "    standby_server: b\n"
                "    test_command: []\n"
                "  standby_stack:\n"
                "    command: [docker, '', [x], ~, up]\n"), -EINVAL);    /* valid items after bad ones: freed */
        assert_error_count(f, 4);
        assert_error(f, 0, 14, 19, "failover.nginx.test_command must not be an empty list");
        assert_error(f, 1, 16, 23, "failover.standby_stack.command[1] must not be empty");
        assert_error(f, 2, 16, 27, "failover.standby_stack.command[2] must be a single value, not a list");
        assert_error(f, 3, 16, 32, "failover.standby_stack.command[3] must not be empty");
}

static void config__required_command_null__error(void **state) {
        assert_only_error(*state,
                ENDPOINTS
                "failover:\n"
                "  promote: {ssh: {host: db}, trigger_file: /t}\n"
                "  nginx: {config: /n, upstream: u, active_server: a, standby_server: b}\n"
                "  standby_stack:\n"
                "    command:\n",
                11, 13, "failover.standby_stack.command must not be an empty list");
}

static void config__empty_string__error(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "active:\n"
                "  name: ''\n"
                "  url:\n"
                "standby:\n"
                "  name: standby_api\n"
                "  url: http://standby_api:8080/health\n" FAILOVER), -EINVAL);
        assert_error_count(f, 2);
        assert_error(f, 0, 2, 9, "active.name must not be empty");
        assert_error(f, 1, 3, 7, "active.url must not be empty");
}

static void config__expect_body_empty__error(void **state) {
        assert_only_error(*state, "health:\n  expect_body: \"\"\n" MINIMAL, 2, 16, "health.expect_body must not be empty");
}

static void config__quoted_null__is_a_string(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "health:\n  expect_body: 'null'\n" MINIMAL), 0);
        assert_string_equal(f->config->health.expect_body, "null");
}

static void config__nul_in_value__error(void **state) {
        assert_only_error(*state, "health:\n  expect_body: \"ok\\0evil\"\n" MINIMAL, 2, 16,
                          "health.expect_body must not contain NUL characters");
}

static void config__duration_without_unit__needs_unit_message(void **state) {
        assert_only_error(*state, "health:\n  interval: 10\n" MINIMAL, 2, 13,
                          "health.interval needs a unit: 10s, 250ms, 2m");
}

static void config__duration_bad_values__errors(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "health:\n"
                "  interval: 10x\n"
                "  timeout: 0s\n"
                "failover:\n"
                "  promote:\n"
                "    ssh: {host: db}\n"
                "    trigger_file: /t\n"
                "    timeout: 1.5s\n"
                "  nginx:\n"
                "    config: /n\n"
                "    upstream: u\n"
                "    active_server: a\n"
                "    standby_server: b\n"
                "    timeout: 25h\n"
                "  standby_stack:\n"
                "    command: [x]\n"
                "    timeout: 99999999999999999999999s\n" ENDPOINTS), -EINVAL);
        assert_error_count(f, 5);
        assert_error(f, 0, 2, 13, "health.interval has an unknown unit: use ms, s, m or h (10s, 250ms, 2m, 1h)");
        assert_error(f, 1, 3, 12, "health.timeout must be greater than 0");
        assert_error(f, 2, 8, 14, "failover.promote.timeout must be a whole number: use a smaller unit "
                     "(1500ms, not 1.5s)");
        assert_error(f, 3, 14, 14, "failover.nginx.timeout must be at most 24h");
        assert_error(f, 4, 17, 14, "failover.standby_stack.timeout is too large");
}

static void config__negative_duration__error(void **state) {
        assert_only_error(*state, "health:\n  interval: -5s\n" MINIMAL, 2, 13,
                          "health.interval must be a number with a unit: 10s, 250ms, 2m");
}

static void config__timeout_exceeds_interval__error(void **state) {
        assert_only_error(*state, "health:\n  interval: 2s\n  timeout: 3s\n" MINIMAL, 3, 3,
                          "health.timeout (3s) must not exceed health.interval (2s)");
}

static void config__timeout_exceeds_default_interval__error_at_timeout(void **state) {
        assert_only_error(*state, "health:\n  timeout: 1m\n" MINIMAL, 2, 3,
                          "health.timeout (1m) must not exceed health.interval (10s)");
}

static void config__interval_below_default_timeout__error_at_interval(void **state) {
        assert_only_error(*state, "health:\n  interval: 500ms\n" MINIMAL, 2, 3,
                          "health.timeout (2s) must not exceed health.interval (500ms)");
}

static void config__timeout_equal_interval__accepted(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "health:\n  interval: 2s\n  timeout: 2000ms\n" MINIMAL), 0);
}

static void config__bad_interval__no_cross_check_on_its_default(void **state) {
        /* interval is wrong; comparing timeout with the default 10s would add a second, misleading error */
        assert_only_error(*state, "health:\n  interval: 5\n  timeout: 20s\n" MINIMAL, 2, 13,
                          "health.interval needs a unit: 10s, 250ms, 2m");
}

static void config__failure_threshold_range__errors(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, "health:\n  failure_threshold: 0\n" MINIMAL, 2, 22,
                          "health.failure_threshold must be between 1 and 1000");
        config_errors_done(&f->errs);
        assert_only_error(f, "health:\n  failure_threshold: 1001\n" MINIMAL, 2, 22,
                          "health.failure_threshold must be between 1 and 1000");
        config_errors_done(&f->errs);
        assert_int_equal(load(f, "health:\n  failure_threshold: 1000\n" MINIMAL), 0);
        assert_int_equal(f->config->health.failure_threshold, 1000);
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, "health:\n  failure_threshold: 1\n" MINIMAL), 0);
        assert_int_equal(f->config->health.failure_threshold, 1);
}

static void config__integer_not_plain_decimal__errors(void **state) {
        static const char *const bad[] = { "3x", "-1", "0x10", "+3", "03", "1e3", "3.0", "'3 '" };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char yaml[512];

                snprintf(yaml, sizeof yaml, "health:\n  failure_threshold: %s\n" MINIMAL, bad[i]);
                assert_only_error(f, yaml, 2, 22, "health.failure_threshold must be a plain decimal integer, like 3");
                config_errors_done(&f->errs);
        }
}

static void config__integer_overflow__error(void **state) {
        assert_only_error(*state, "health:\n  failure_threshold: 99999999999999999999999\n" MINIMAL, 2, 22,
                          "health.failure_threshold is too large");
}

static const char *ssh_doc(char *buf, size_t size, const char *ssh_line) {
        snprintf(buf, size,
                 ENDPOINTS
                 "failover:\n"
                 "  promote:\n"
                 "    ssh: {host: db, %s}\n"
                 "    trigger_file: /t\n"
                 "  nginx: {config: /n, upstream: u, active_server: a, standby_server: b}\n"
                 "  standby_stack: {command: [x]}\n", ssh_line);
        return buf;
}

static void config__port_range__errors(void **state) {
        struct fixture *f = *state;
        char buf[1024];

        assert_only_error(f, ssh_doc(buf, sizeof buf, "port: 0"), 9, 27,
                          "failover.promote.ssh.port must be between 1 and 65535");
        config_errors_done(&f->errs);
        assert_only_error(f, ssh_doc(buf, sizeof buf, "port: 65536"), 9, 27,
                          "failover.promote.ssh.port must be between 1 and 65535");
        config_errors_done(&f->errs);
        assert_int_equal(load(f, ssh_doc(buf, sizeof buf, "port: 65535")), 0);
        assert_int_equal(f->config->promote.ssh.port, 65535);
}

static void config__ssh_options_not_key_value__error(void **state) {
        struct fixture *f = *state;
        char buf[1024];

        assert_int_equal(load(f, ssh_doc(buf, sizeof buf, "options: [BatchMode=yes, NoEquals, =v, K=]")), -EINVAL);
        assert_error_count(f, 3);
        assert_error(f, 0, 9, 46, "failover.promote.ssh.options[1] must look like Key=Value "
                     "(e.g. StrictHostKeyChecking=yes)");
        assert_error(f, 1, 9, 56, "failover.promote.ssh.options[2] must look like Key=Value "
                     "(e.g. StrictHostKeyChecking=yes)");
        assert_error(f, 2, 9, 60, "failover.promote.ssh.options[3] must look like Key=Value "
                     "(e.g. StrictHostKeyChecking=yes)");
}

static void config__ssh_options_as_string__error(void **state) {
        struct fixture *f = *state;
        char buf[1024];

        assert_only_error(f, ssh_doc(buf, sizeof buf, "options: BatchMode=yes"), 9, 30,
                          "failover.promote.ssh.options must be a list like [Key=Value, ...], not a single value");
}

static void config__ssh_host_or_user_like_an_option__error(void **state) {
        struct fixture *f = *state;
        char buf[1024];

        assert_only_error(f, ssh_doc(buf, sizeof buf, "user: -oProxyCommand=evil"), 9, 27,
                          "failover.promote.ssh.user must not start with '-' (ssh would take it for an option)");
        config_errors_done(&f->errs);
        assert_only_error(f, ssh_doc(buf, sizeof buf, "user: 'post gres'"), 9, 27,
                          "failover.promote.ssh.user must not contain whitespace");
}

static void config__relative_paths__errors(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "state_dir: var/lib/blf\n"
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    ssh: {host: db, identity_file: id_ed25519}\n"
                "    trigger_file: postgresql.trigger\n"
                "  nginx: {config: sites/blacklake, upstream: u, active_server: a, standby_server: b}\n"
                "  standby_stack: {command: [x]}\n"), -EINVAL);
        assert_error_count(f, 4);
        assert_error(f, 0, 1, 12, "state_dir must be an absolute path (starting with /)");
        assert_error(f, 1, 10, 36, "failover.promote.ssh.identity_file must be an absolute path (starting with /)");
        assert_error(f, 2, 11, 19, "failover.promote.trigger_file must be an absolute path (starting with /)");
        assert_error(f, 3, 12, 19, "failover.nginx.config must be an absolute path (starting with /)");
}

static void config__url_without_http__error(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "active:\n"
                "  name: a\n"
                "  url: active_api:8080/health\n"
                "standby:\n"
                "  name: s\n"
                "  url: http:///health\n" FAILOVER), -EINVAL);
        assert_error_count(f, 2);
        assert_error(f, 0, 3, 8, "active.url must start with http:// or https://");
        assert_error(f, 1, 6, 8, "standby.url has no host after the scheme");
}

static void config__same_names_servers_urls__errors(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "active:\n"
                "  name: api\n"
                "  url: http://api:8080/health\n"
                "standby:\n"
                "  name: api\n"
                "  url: http://api:8080/health\n"
                "failover:\n"
                "  promote: {ssh: {host: db}, trigger_file: /t}\n"
                "  nginx:\n"
                "    config: /n\n"
                "    upstream: u\n"
                "    active_server: api:8080\n"
                "    standby_server: api:8080\n"
                "  standby_stack: {command: [x]}\n"), -EINVAL);
        assert_error_count(f, 3);
        assert_error(f, 0, 5, 3, "standby.name must differ from active.name");
        assert_error(f, 1, 6, 3, "standby.url must differ from active.url (both would check the same server)");
        assert_error(f, 2, 13, 5, "failover.nginx.standby_server must differ from failover.nginx.active_server");
}

static void config__nginx_word_with_space__error(void **state) {
        assert_only_error(*state,
                ENDPOINTS
                "failover:\n"
                "  promote: {ssh: {host: db}, trigger_file: /t}\n"
                "  nginx: {config: /n, upstream: 'my backend', active_server: a, standby_server: b}\n"
                "  standby_stack: {command: [x]}\n",
                9, 33, "failover.nginx.upstream must be one nginx word (no whitespace, quotes, ';', '{', '}' or '#')");
}

/* ------------------------------------------------------------------ credentials */

static bool errors_mention(const struct config_errors *errs, const char *needle) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        bool found;

        assert_non_null(out);
        config_errors_print(errs, out);
        fclose(out);
        found = strstr(text, needle) != NULL;
        free(text);
        return found;
}

static void config__url_credentials__never_in_messages(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "active:\n"
                "  name: a\n"
                "  url: ftp://bob:hunter2@active_api/health\n"
                "  https://bob:hunter2@active_api/health: 1\n"
                "standby:\n"
                "  name: s\n"
                "  url: 'https://bob:hunter2@standby_api/ health'\n"
                "health:\n"
                "  interval: http://bob:hunter2@x/\n" FAILOVER), -EINVAL);
        assert_error_count(f, 4);
        assert_error(f, 0, 3, 8, "active.url must start with http:// or https://");
        assert_error(f, 1, 4, 3, "unknown key \"https://active_api/health\" in active");
        assert_error(f, 2, 7, 8, "standby.url must not contain whitespace or control characters");
        assert_error(f, 3, 9, 13, "health.interval must be a number with a unit: 10s, 250ms, 2m");
        assert_false(errors_mention(&f->errs, "hunter2"));
        assert_false(errors_mention(&f->errs, "bob"));
}

static void config__same_url_with_credentials__message_names_keys_only(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "active:\n"
                "  name: a\n"
                "  url: https://bob:hunter2@api/health\n"
                "standby:\n"
                "  name: s\n"
                "  url: https://bob:hunter2@api/health\n" FAILOVER), -EINVAL);
        assert_error_count(f, 1);
        assert_false(errors_mention(&f->errs, "hunter2"));
}

static void config__long_key__cut_in_message(void **state) {
        assert_only_error(*state, "health:\n  " "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz: 1\n" MINIMAL, 2, 3,
                          "unknown key \"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv...\" in health");
}

static void config__control_characters_in_key__not_printed(void **state) {
        assert_only_error(*state, "health:\n  \"a\\e[31mb\": 1\n" MINIMAL, 2, 3, "unknown key \"a?[31mb\" in health");
}

/* ------------------------------------------------------------------ YAML syntax, collection, files */

static void config__yaml_syntax_error__position_and_libyaml_text(void **state) {
        /* nothing else is reported, though "active" and the rest are missing: parsing stopped */
        assert_only_error(*state, "health:\n  interval: 10s\n   timeout: 2s\n", 3, 11,
                          "YAML syntax error: mapping values are not allowed in this context");
}

static void config__yaml_unclosed_flow__context_in_message(void **state) {
        assert_only_error(*state, MINIMAL "health: {interval: 10s\n", 20, 1,
                          "YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping at 19:9)");
}

static void config__invalid_utf8__position(void **state) {
        assert_only_error(*state, "health:\n  expect_body: ok\xff\n", 2, 18, "invalid input: invalid leading UTF-8 octet");
}

static void config__second_document__error(void **state) {
        assert_only_error(*state, MINIMAL "---\nactive: {name: x}\n", 20, 1, "only one YAML document is allowed per file");
}

static void config__several_errors__all_collected_in_order(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "health:\n"
                "  interval: 10\n"
                "  failure_treshold: 3\n"
                "active:\n"
                "  url: http://active_api:8080/health\n"
                "standby:\n"
                "  name: standby_api\n"
                "  url: http://standby_api:8080/health\n"
                "failover:\n"
                "  promote:\n"
                "    ssh: {host: db, port: 99999}\n"
                "    trigger_file: /t\n"
                "  nginx: {config: /n, upstream: u, active_server: a, standby_server: b, test_comand: [nginx]}\n"
                "  standby_stack:\n"
                "    command: []\n"), -EINVAL);
        assert_null(f->config);
        assert_error_count(f, 6);
        assert_error(f, 0, 2, 13, "health.interval needs a unit: 10s, 250ms, 2m");
        assert_error(f, 1, 3, 3, "unknown key \"failure_treshold\" in health (did you mean \"failure_threshold\"?)");
        assert_error(f, 2, 5, 3, "missing required key active.name");
        assert_error(f, 3, 11, 27, "failover.promote.ssh.port must be between 1 and 65535");
        assert_error(f, 4, 13, 73, "unknown key \"test_comand\" in failover.nginx (did you mean \"test_command\"?)");
        assert_error(f, 5, 15, 14, "failover.standby_stack.command must not be an empty list");
}

static void config__too_many_errors__capped(void **state) {
        struct fixture *f = *state;
        size_t size = 200 * 16 + sizeof(MINIMAL);
        char *yaml = malloc(size), *p = yaml;

        assert_non_null(yaml);
        p += sprintf(p, "%s", MINIMAL);
        for (int i = 0; i < 200; i++)
                p += sprintf(p, "unknown%03d: 1\n", i);
        assert_int_equal(config_load_buffer("test.yml", yaml, strlen(yaml), &f->config, &f->errs), -EINVAL);
        free(yaml);
        assert_error_count(f, 101);
        assert_error(f, 0, 0, 0, "more than 100 problems; showing the first 100");
        assert_error(f, 1, 19, 1, "unknown key \"unknown000\" at the top level");
        assert_error(f, 100, 118, 1, "unknown key \"unknown099\" at the top level");
}

static void config__buffer_over_1mib__efbig(void **state) {
        struct fixture *f = *state;
        size_t size = CONFIG_FILE_SIZE_MAX + 1;
        char *big = malloc(size);

        assert_non_null(big);
        memset(big, '#', size);
        assert_int_equal(config_load_buffer("test.yml", big, size, &f->config, &f->errs), -EFBIG);
        free(big);
        assert_null(f->config);
        assert_error_count(f, 1);
        assert_error(f, 0, 0, 0, "file is too large (1048577 bytes; the limit is 1048576 bytes)");
}

static void config__buffer_of_exactly_1mib__accepted(void **state) {
        struct fixture *f = *state;
        size_t size = CONFIG_FILE_SIZE_MAX;
        char *buf = malloc(size);

        assert_non_null(buf);
        memset(buf, ' ', size);
        memcpy(buf, MINIMAL, strlen(MINIMAL));
        buf[size - 1] = '\n';
        assert_int_equal(config_load_buffer("test.yml", buf, size, &f->config, &f->errs), 0);
        free(buf);
        assert_non_null(f->config);
}

static void config__file_over_1mib__efbig(void **state) {
        struct fixture *f = *state;
        char path[] = "/tmp/test_config.XXXXXX";
        int fd = mkstemp(path);
        char block[4096];

        assert_true(fd >= 0);
        memset(block, '#', sizeof block);
        for (size_t i = 0; i <= CONFIG_FILE_SIZE_MAX / sizeof block; i++)
                assert_int_equal(write(fd, block, sizeof block), sizeof block);
        close(fd);
        assert_int_equal(config_load_file(path, &f->config, &f->errs), -EFBIG);
        unlink(path);
        assert_null(f->config);
        assert_error_count(f, 1);
        assert_int_equal(f->errs.items[0].line, 0);
}

static void config__file_missing__enoent_without_position(void **state) {
        struct fixture *f = *state;
        struct config_errors errs = {};
        struct config *c = (struct config *) 0x1;       /* ret_* untouched on failure */

        assert_int_equal(config_load_file("/nonexistent/blfailoverd.yml", &c, &errs), -ENOENT);
        assert_ptr_equal(c, (struct config *) 0x1);
        assert_string_equal(errs.file, "/nonexistent/blfailoverd.yml");        /* filled in when not set */
        assert_int_equal(errs.n, 1);
        assert_int_equal(errs.items[0].line, 0);
        assert_string_equal(errs.items[0].message, "cannot open: No such file or directory");
        config_errors_done(&errs);
        (void) f;
}

static void config__invalid_buffer__ret_config_untouched(void **state) {
        struct config_errors errs;
        struct config *c = (struct config *) 0x1;

        config_errors_init(&errs, "x.yml");
        assert_int_equal(config_load_buffer("x.yml", "health: [\n", 10, &c, &errs), -EINVAL);
        assert_ptr_equal(c, (struct config *) 0x1);
        config_errors_done(&errs);
        assert_int_equal(errs.n, 0);
        assert_null(errs.items);
}

static void config__null_errs_or_ret__validates_only(void **state) {
        struct fixture *f = *state;
        struct config *c = NULL;

        assert_int_equal(config_load_buffer("x.yml", "bogus: 1\n", 9, &c, NULL), -EINVAL);
        assert_null(c);
        assert_int_equal(config_load_buffer("x.yml", MINIMAL, strlen(MINIMAL), &c, NULL), 0);
        assert_non_null(c);
        config_free(c);
        config_free(NULL);
        assert_int_equal(config_load_buffer("x.yml", MINIMAL, strlen(MINIMAL), NULL, &f->errs), 0);
        assert_int_equal(config_load_buffer("x.yml", MINIMAL "bogus: 1\n", strlen(MINIMAL) + 9, NULL, &f->errs),
                         -EINVAL);
        assert_error_count(f, 1);
        config_errors_done(&f->errs);
        assert_int_equal(load(f, MINIMAL "bogus: 1\n"), -EINVAL);
        assert_null(f->config);
        assert_error_count(f, 1);
        assert_error(f, 0, 19, 1, "unknown key \"bogus\" at the top level");
}

static void config_errors__print__file_line_col_or_file_only(void **state) {
        struct config_errors errs;
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);

        assert_non_null(out);
        config_errors_init(&errs, "/etc/blfailoverd/blfailoverd.yml");
        config_errors_add(&errs, 0, 0, "cannot open: %s", "Permission denied");
        config_errors_add(&errs, 12, 5, "health.timeout (%s) must not exceed health.interval (%s)", "3s", "2s");
        config_errors_print(&errs, out);
        fclose(out);
        assert_string_equal(text,
                "/etc/blfailoverd/blfailoverd.yml: cannot open: Permission denied\n"
                "/etc/blfailoverd/blfailoverd.yml:12:5: health.timeout (3s) must not exceed health.interval (2s)\n");
        free(text);
        config_errors_done(&errs);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(config_parse_duration__units__converted),
                T(config_parse_duration__missing_unit__einval),
                T(config_parse_duration__bad_unit__einval),
                T(config_parse_duration__not_a_whole_number__einval),
                T(config_parse_duration__overflow__einval),
                T(config__every_key__parsed),
                T(config__only_required_keys__defaults_applied),
                T(config__empty_sections__defaults_applied),
                T(config__duration_units__converted_in_file),
                T(config__empty_optional_list__accepted),
                T(config__sample_file__parses_without_error),
                T(config__marks__lookup_keys_and_items),
                T(config__unknown_key__error_with_line_and_hint),
                T(config__unknown_key_transposed_letters__hint),
                T(config__unknown_key_at_top_level__hint),
                T(config__unknown_key_far_from_any__no_hint),
                T(config__key_one_level_off__indentation_hint),
                T(config__unknown_key_in_deep_section__error),
                T(config__duplicate_key__error_at_second),
                T(config__duplicate_section__error),
                T(config__non_scalar_key__error),
                T(config__failover_missing__every_required_key_reported_at_1_1),
                T(config__endpoint_keys_missing__reported_at_mapping),
                T(config__empty_section__required_keys_reported_at_its_key),
                T(config__section_absent_inside_present_one__reported_at_parent),
                T(config__empty_file__error),
                T(config__top_level_not_mapping__error),
                T(config__list_where_scalar_expected__error),
                T(config__scalar_where_section_expected__error),
                T(config__duplicate_nested_section__error),
                T(config__command_string_not_list__error),
                T(config__command_list_empty_or_bad_items__errors),
                T(config__required_command_null__error),
                T(config__empty_string__error),
                T(config__expect_body_empty__error),
                T(config__quoted_null__is_a_string),
                T(config__nul_in_value__error),
                T(config__duration_without_unit__needs_unit_message),
                T(config__duration_bad_values__errors),
                T(config__negative_duration__error),
                T(config__timeout_exceeds_interval__error),
                T(config__timeout_exceeds_default_interval__error_at_timeout),
                T(config__interval_below_default_timeout__error_at_interval),
                T(config__timeout_equal_interval__accepted),
                T(config__bad_interval__no_cross_check_on_its_default),
                T(config__failure_threshold_range__errors),
                T(config__integer_not_plain_decimal__errors),
                T(config__integer_overflow__error),
                T(config__port_range__errors),
                T(config__ssh_options_not_key_value__error),
                T(config__ssh_options_as_string__error),
                T(config__ssh_host_or_user_like_an_option__error),
                T(config__relative_paths__errors),
                T(config__url_without_http__error),
                T(config__same_names_servers_urls__errors),
                T(config__nginx_word_with_space__error),
                T(config__url_credentials__never_in_messages),
                T(config__same_url_with_credentials__message_names_keys_only),
                T(config__long_key__cut_in_message),
                T(config__control_characters_in_key__not_printed),
                T(config__yaml_syntax_error__position_and_libyaml_text),
                T(config__yaml_unclosed_flow__context_in_message),
                T(config__invalid_utf8__position),
                T(config__second_document__error),
                T(config__several_errors__all_collected_in_order),
                T(config__too_many_errors__capped),
                T(config__buffer_over_1mib__efbig),
                T(config__buffer_of_exactly_1mib__accepted),
                T(config__file_over_1mib__efbig),
                T(config__file_missing__enoent_without_position),
                T(config__invalid_buffer__ret_config_untouched),
                T(config__null_errs_or_ret__validates_only),
                T(config_errors__print__file_line_col_or_file_only),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
