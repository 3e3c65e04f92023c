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
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "sample_text.h"
#include "util.h"

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

/* failover.nginx and failover.standby_stack, for tests that write their own failover.promote: 2 lines */
#define FAILOVER_REST \
        "  nginx: {config: /n, upstream: u, active_server: a, standby_server: b}\n" \
        "  standby_stack: {command: [x]}\n"

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
        /* the keys added later are commented out or at their defaults: today's behaviour */
        assert_int_equal(c->health.fast_interval_usec, 10 * USEC_PER_SEC);
        assert_int_equal(c->health.startup_grace_usec, 0);
        assert_null(c->health.ca_file);
        assert_true(c->health.tls_verify);
        assert_int_equal(c->promote.method, CONFIG_PROMOTE_TRIGGER_FILE);
        assert_string_equal(c->promote.trigger_file, "/tmp/postgresql.trigger");
        assert_false(c->database.present);
        assert_null(c->fence.argv);
        assert_null(c->confirm.argv);
        assert_int_equal(c->verify.n_urls, 0);
        assert_null(c->metrics.listen);
        assert_null(c->alerts.webhook_url);
        assert_null(c->hooks.argv);
}

/* The sample with every commented-out example ("# key: ..." lines; prose never starts with "key:") turned on. */
static char *sample_uncommented(void) {
        return sample_text(true, NULL);
}

static void config__sample_examples_uncommented__parse(void **state) {
        struct fixture *f = *state;
        char *text = sample_uncommented();
        const struct config *c;

        assert_int_equal(config_load_buffer(SAMPLE_PATH, text, strlen(text), &f->config, &f->errs), 0);
        free(text);
        assert_error_count(f, 0);
        c = f->config;
        assert_int_equal(c->health.fast_interval_usec, 2 * USEC_PER_SEC);
        assert_string_equal(c->health.ca_file, "/etc/ssl/certs/internal-ca.pem");
        assert_true(c->database.present);
        assert_int_equal(c->database.max_lag_bytes, UINT64_C(16777216));
        assert_int_equal(c->fence.argc, 7);
        assert_int_equal(c->confirm.argc, 7);
        assert_int_equal(c->verify.n_urls, 2);
        assert_string_equal(c->metrics.listen, "127.0.0.1:9187");
        assert_int_equal(c->alerts.lag_warning_bytes, UINT64_C(67108864));
        assert_int_equal(c->hooks.argc, 1);
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
        assert_only_error(*state, "health:\n  colour: 3\n" MINIMAL, 2, 3, "unknown key \"colour\" in health");
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

/* Issue 11: libyaml says "found character that cannot start any token" (or "a tab character that violates
 * indentation"); the user is told it is a tab, and the fix. */
static void config__tab_indentation__named_as_a_tab(void **state) {
        static const char *const cases[] = {
                "health:\n\tinterval: 10s\n",               /* a tab instead of the indentation */
                "health:\n  interval: 10s\n\ttimeout: 2s\n",  /* under a key indented with spaces */
                "health:\n  interval: 10s\n \ttimeout: 2s\n", /* a tab after a space */
        };
        static const unsigned lines[] = { 2, 3, 3 }, cols[] = { 1, 1, 2 };
        struct fixture *f = *state;

        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                config_errors_done(&f->errs);
                config_errors_init(&f->errs, "test.yml");
                config_free(f->config);
                f->config = NULL;
                assert_only_error(f, cases[i], lines[i], cols[i], "YAML syntax error: a tab at the start of the "
                                  "line: YAML indents with spaces only (replace the tab with spaces)");
        }
}

static void config__tab_inside_a_value__not_called_indentation(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "health:\n  interval: 10s\n  expect_body: \"a\tb\"\n  timeout: [\n" MINIMAL),
                         -EINVAL);
        assert_true(f->errs.n >= 1);
        assert_null(strstr(f->errs.items[0].message, "tab"));
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

/* ------------------------------------------------------------------ keys added with the database gates */

static void config__new_keys__parsed(void **state) {
        struct fixture *f = *state;
        const struct config *c;

        assert_int_equal(load(f,
                "health:\n"
                "  interval: 5s\n"
                "  fast_interval: 200ms\n"
                "  timeout: 1s\n"
                "  startup_grace: 30s\n"
                "  ca_file: /etc/ssl/certs/internal-ca.pem\n"
                "  tls_verify: false\n"
                "database:\n"
                "  standby: \"host=standby_db port=5432 dbname=blacklake user=blfailoverd\"\n"
                "  primary: \"host=primary_db port=5432 dbname=blacklake user=blfailoverd\"\n"
                "  password_file: /etc/blfailoverd/pgpass\n"
                "  connect_timeout: 5s\n"
                "  max_lag_bytes: 1GB\n"
                "  catch_up_timeout: 1m\n"
                "  promote_timeout: 2m\n"
                "metrics:\n"
                "  listen: 127.0.0.1:9187\n"
                "alerts:\n"
                "  webhook_url: http://alert-bridge:9094/alerts\n"
                "  alertmanager_url: [http://am1:9093, \"https://am2.example:9093/prefix/\"]\n"
                "  timeout: 7s\n"
                "  retries: 0\n"
                "  lag_warning: 64MB\n"
                "hooks:\n"
                "  command: [/usr/local/bin/blfailoverd-hook, --verbose]\n"
                "  timeout: 20s\n"
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    method: pg_promote\n"
                FAILOVER_REST
                "  fence:\n"
                "    command: [ssh, active_host, docker, compose, down]\n"
                "    timeout: 45s\n"
                "  confirm:\n"
                "    command: [ssh, standby_api_host, curl, -fsS, --max-time, \"2\", http://active_api:8080/health]\n"
                "    timeout: 3s\n"
                "  verify:\n"
                "    urls: [http://blacklake.example.com/health, https://standby_api:8080/health/database]\n"
                "    timeout: 1m\n"), 0);
        assert_error_count(f, 0);
        c = f->config;
        assert_int_equal(c->health.interval_usec, 5 * USEC_PER_SEC);
        assert_int_equal(c->health.fast_interval_usec, 200 * USEC_PER_MSEC);
        assert_int_equal(c->health.startup_grace_usec, 30 * USEC_PER_SEC);
        assert_string_equal(c->health.ca_file, "/etc/ssl/certs/internal-ca.pem");
        assert_false(c->health.tls_verify);
        assert_true(c->database.present);
        assert_string_equal(c->database.standby, "host=standby_db port=5432 dbname=blacklake user=blfailoverd");
        assert_string_equal(c->database.primary, "host=primary_db port=5432 dbname=blacklake user=blfailoverd");
        assert_string_equal(c->database.password_file, "/etc/blfailoverd/pgpass");
        assert_int_equal(c->database.connect_timeout_usec, 5 * USEC_PER_SEC);
        assert_int_equal(c->database.max_lag_bytes, UINT64_C(1073741824));
        assert_int_equal(c->database.catch_up_timeout_usec, 60 * USEC_PER_SEC);
        assert_int_equal(c->database.promote_timeout_usec, 120 * USEC_PER_SEC);
        assert_string_equal(c->metrics.listen, "127.0.0.1:9187");
        assert_string_equal(c->alerts.webhook_url, "http://alert-bridge:9094/alerts");
        assert_int_equal(c->alerts.n_alertmanager_urls, 2);
        assert_string_equal(c->alerts.alertmanager_urls[0], "http://am1:9093");
        assert_string_equal(c->alerts.alertmanager_urls[1], "https://am2.example:9093/prefix/");
        assert_null(c->alerts.alertmanager_urls[2]);
        assert_int_equal(c->alerts.timeout_usec, 7 * USEC_PER_SEC);
        assert_int_equal(c->alerts.retries, 0);
        assert_int_equal(c->alerts.lag_warning_bytes, UINT64_C(67108864));
        assert_int_equal(c->hooks.argc, 2);
        assert_string_equal(c->hooks.argv[0], "/usr/local/bin/blfailoverd-hook");
        assert_string_equal(c->hooks.argv[1], "--verbose");
        assert_null(c->hooks.argv[2]);
        assert_int_equal(c->hooks.timeout_usec, 20 * USEC_PER_SEC);
        assert_int_equal(c->promote.method, CONFIG_PROMOTE_PG_PROMOTE);
        assert_null(c->promote.ssh.host);
        assert_null(c->promote.trigger_file);
        assert_int_equal(c->fence.argc, 5);
        assert_string_equal(c->fence.argv[4], "down");
        assert_null(c->fence.argv[5]);
        assert_int_equal(c->fence.timeout_usec, 45 * USEC_PER_SEC);
        assert_int_equal(c->confirm.argc, 7);
        assert_string_equal(c->confirm.argv[5], "2");
        assert_string_equal(c->confirm.argv[6], "http://active_api:8080/health");
        assert_int_equal(c->confirm.timeout_usec, 3 * USEC_PER_SEC);
        assert_int_equal(c->verify.n_urls, 2);
        assert_string_equal(c->verify.urls[0], "http://blacklake.example.com/health");
        assert_string_equal(c->verify.urls[1], "https://standby_api:8080/health/database");
        assert_null(c->verify.urls[2]);
        assert_int_equal(c->verify.timeout_usec, 60 * USEC_PER_SEC);
}

static void config__new_keys_absent__defaults_and_sections_off(void **state) {
        struct fixture *f = *state;
        const struct config *c;

        assert_int_equal(load(f, MINIMAL), 0);
        assert_error_count(f, 0);
        c = f->config;
        assert_int_equal(c->health.fast_interval_usec, 10 * USEC_PER_SEC);      /* = interval */
        assert_int_equal(c->health.startup_grace_usec, 0);
        assert_null(c->health.ca_file);
        assert_true(c->health.tls_verify);
        assert_int_equal(c->promote.method, CONFIG_PROMOTE_TRIGGER_FILE);
        assert_false(c->database.present);
        assert_null(c->database.standby);
        assert_null(c->database.primary);
        assert_null(c->database.password_file);
        assert_int_equal(c->database.connect_timeout_usec, 3 * USEC_PER_SEC);
        assert_int_equal(c->database.max_lag_bytes, UINT64_C(16777216));
        assert_int_equal(c->database.catch_up_timeout_usec, 30 * USEC_PER_SEC);
        assert_int_equal(c->database.promote_timeout_usec, 60 * USEC_PER_SEC);
        assert_null(c->fence.argv);
        assert_int_equal(c->fence.argc, 0);
        assert_int_equal(c->fence.timeout_usec, 30 * USEC_PER_SEC);
        assert_null(c->confirm.argv);
        assert_int_equal(c->confirm.argc, 0);
        assert_int_equal(c->confirm.timeout_usec, 10 * USEC_PER_SEC);
        assert_non_null(c->verify.urls);        /* never NULL: empty */
        assert_null(c->verify.urls[0]);
        assert_int_equal(c->verify.n_urls, 0);
        assert_int_equal(c->verify.timeout_usec, 30 * USEC_PER_SEC);
        assert_null(c->metrics.listen);
        assert_null(c->alerts.webhook_url);
        assert_int_equal(c->alerts.timeout_usec, 5 * USEC_PER_SEC);
        assert_int_equal(c->alerts.retries, 3);
        assert_int_equal(c->alerts.lag_warning_bytes, 0);
        assert_null(c->hooks.argv);
        assert_int_equal(c->hooks.argc, 0);
        assert_int_equal(c->hooks.timeout_usec, 10 * USEC_PER_SEC);
}

static void config__fast_interval__follows_interval_unless_given(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "health:\n  interval: 30s\n" MINIMAL), 0);
        assert_int_equal(f->config->health.fast_interval_usec, 30 * USEC_PER_SEC);
        config_free(f->config);
        f->config = NULL;
        /* below timeout is allowed: a check still running when the next is due counts as failed */
        assert_int_equal(load(f, "health:\n  interval: 10s\n  timeout: 2s\n  fast_interval: 500ms\n" MINIMAL), 0);
        assert_int_equal(f->config->health.fast_interval_usec, 500 * USEC_PER_MSEC);
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, "health:\n  interval: 2s\n  fast_interval: 2000ms\n" MINIMAL), 0);
        assert_int_equal(f->config->health.fast_interval_usec, 2 * USEC_PER_SEC);
}

static void config__fast_interval_above_interval__error(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, "health:\n  interval: 1s\n  timeout: 1s\n  fast_interval: 2s\n" MINIMAL, 4, 3,
                          "health.fast_interval (2s) must not exceed health.interval (1s)");
        config_errors_done(&f->errs);
        assert_only_error(f, "health:\n  fast_interval: 20s\n" MINIMAL, 2, 3,
                          "health.fast_interval (20s) must not exceed health.interval (10s)");
        config_errors_done(&f->errs);
        assert_only_error(f, "health:\n  fast_interval: 0s\n" MINIMAL, 2, 18,
                          "health.fast_interval must be greater than 0");
        config_errors_done(&f->errs);
        /* a bad interval: no comparison with its default */
        assert_only_error(f, "health:\n  interval: 5\n  fast_interval: 20s\n" MINIMAL, 2, 13,
                          "health.interval needs a unit: 10s, 250ms, 2m");
}

static void config__startup_grace__zero_accepted_day_max(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "health:\n  startup_grace: 0s\n" MINIMAL), 0);
        assert_int_equal(f->config->health.startup_grace_usec, 0);
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, "health:\n  startup_grace: 2m\n" MINIMAL), 0);
        assert_int_equal(f->config->health.startup_grace_usec, 120 * USEC_PER_SEC);
        config_free(f->config);
        f->config = NULL;
        assert_only_error(f, "health:\n  startup_grace: 25h\n" MINIMAL, 2, 18,
                          "health.startup_grace must be at most 24h");
}

/* ------------------------------------------------------------------ sizes */

static void config_parse_size__units__converted(void **state) {
        static const struct { const char *s; uint64_t bytes; } cases[] = {
                { "16MB", UINT64_C(16777216) },
                { "512kB", UINT64_C(524288) },
                { "1GB", UINT64_C(1073741824) },
                { "1TB", UINT64_C(1099511627776) },
                { "1048576", UINT64_C(1048576) },
                { "0", 0 },
                { "0MB", 0 },
                { "10B", 10 },
                { "1KiB", 1024 },
                { "16MiB", UINT64_C(16777216) },
                { "2GiB", UINT64_C(2147483648) },
                { "1TiB", UINT64_C(1099511627776) },
                { "16777215TB", UINT64_C(16777215) << 40 },     /* the largest whole TB that fits */
                { "18446744073709551615", UINT64_MAX },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t bytes = 12345;

                assert_int_equal(config_parse_size(cases[i].s, &bytes), 0);
                assert_int_equal(bytes, cases[i].bytes);
        }
}

static void assert_size_rejected(const char *s) {
        uint64_t bytes = 777;

        assert_int_equal(config_parse_size(s, &bytes), -EINVAL);
        assert_int_equal(bytes, 777);   /* untouched on failure */
}

static void config_parse_size__bad__einval(void **state) {
        static const char *const bad[] = {
                "16KB", "16kb", "16mb", "16M", "16Mb", "16 MB", "16MB ", " 16MB", "16MBs", "1PB",    /* units */
                "1.5GB", "0.5", "1,5MB",                                                        /* fractions */
                "-1", "-1MB", "+1MB",                                                           /* signs */
                "", "MB", "016MB", "0x10",                                                      /* shape */
                "16777216TB", "18446744073709551616", "99999999999999999999999", "17179869184GiB", /* overflow */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_size_rejected(bad[i]);
        assert_size_rejected(NULL);
}

static void config__max_lag_bytes_bad__errors_at_value(void **state) {
        static const struct { const char *value, *message; } cases[] = {
                { "0", "database.max_lag_bytes must be greater than 0" },
                { "16KB", "database.max_lag_bytes has an unknown unit: use B, kB, MB, GB or TB (powers of 1024) "
                  "or KiB, MiB, GiB, TiB" },
                { "16 MB", "database.max_lag_bytes has an unknown unit: use B, kB, MB, GB or TB (powers of 1024) "
                  "or KiB, MiB, GiB, TiB" },
                { "1.5GB", "database.max_lag_bytes must be a whole number: use a smaller unit (1536MB, not 1.5GB)" },
                { "-1MB", "database.max_lag_bytes must be a number of bytes, or a number with a unit: "
                  "512kB, 16MB, 1GB" },
                { "9223372036854775808", "database.max_lag_bytes is too large" },      /* INT64_MAX + 1 */
                { "16777216TB", "database.max_lag_bytes is too large" },
                { "[16MB]", "database.max_lag_bytes must be a single value, not a list" },
        };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char yaml[512];

                snprintf(yaml, sizeof yaml, "database:\n  standby: host=db\n  max_lag_bytes: %s\n" MINIMAL,
                         cases[i].value);
                assert_only_error(f, yaml, 3, 18, cases[i].message);
                config_errors_done(&f->errs);
        }
        assert_int_equal(load(f, "database:\n  standby: host=db\n  max_lag_bytes: 9223372036854775807\n" MINIMAL), 0);
        assert_int_equal(f->config->database.max_lag_bytes, UINT64_C(9223372036854775807));
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, "database:\n  standby: host=db\n  max_lag_bytes: 512kB\n" MINIMAL), 0);
        assert_int_equal(f->config->database.max_lag_bytes, UINT64_C(524288));
}

static void config__lag_warning__zero_is_off(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "alerts:\n  webhook_url: http://am:9093/\n  lag_warning: 0\n" MINIMAL), 0);
        assert_int_equal(f->config->alerts.lag_warning_bytes, 0);
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, "alerts:\n  webhook_url: http://am:9093/\n  lag_warning: 1MiB\n" MINIMAL), 0);
        assert_int_equal(f->config->alerts.lag_warning_bytes, UINT64_C(1048576));
        config_free(f->config);
        f->config = NULL;
        assert_only_error(f, "alerts:\n  webhook_url: http://am:9093/\n  lag_warning: 64mb\n" MINIMAL, 3, 16,
                          "alerts.lag_warning has an unknown unit: use B, kB, MB, GB or TB (powers of 1024) "
                          "or KiB, MiB, GiB, TiB");
}

/* ------------------------------------------------------------------ enums and booleans */

static const char *method_doc(char *buf, size_t size, const char *method) {
        snprintf(buf, size,
                 ENDPOINTS
                 "failover:\n"
                 "  promote:\n"
                 "    method: %s\n"
                 "    ssh: {host: db}\n"
                 "    trigger_file: /t\n"
                 FAILOVER_REST, method);
        return buf;
}

static void config__promote_method__enum_values(void **state) {
        struct fixture *f = *state;
        char buf[1024];

        assert_int_equal(load(f, method_doc(buf, sizeof buf, "trigger_file")), 0);
        assert_int_equal(f->config->promote.method, CONFIG_PROMOTE_TRIGGER_FILE);
        config_free(f->config);
        f->config = NULL;
        assert_only_error(f, method_doc(buf, sizeof buf, "pg-promote"), 9, 13,
                          "failover.promote.method must be one of trigger_file, pg_promote "
                          "(did you mean \"pg_promote\"?)");
        config_errors_done(&f->errs);
        assert_only_error(f, method_doc(buf, sizeof buf, "ssh"), 9, 13,
                          "failover.promote.method must be one of trigger_file, pg_promote");
        config_errors_done(&f->errs);
        assert_only_error(f, method_doc(buf, sizeof buf, "[pg_promote]"), 9, 13,
                          "failover.promote.method must be a single value, not a list");
        assert_string_equal(config_promote_method_to_string(CONFIG_PROMOTE_TRIGGER_FILE), "trigger_file");
        assert_string_equal(config_promote_method_to_string(CONFIG_PROMOTE_PG_PROMOTE), "pg_promote");
        assert_null(config_promote_method_to_string((enum config_promote_method) 7));
}

static void config__bad_method__no_missing_key_errors_on_its_default(void **state) {
        /* the method is wrong: requiring the trigger_file method's keys would add misleading errors */
        assert_only_error(*state,
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    method: bogus\n"
                FAILOVER_REST,
                9, 13, "failover.promote.method must be one of trigger_file, pg_promote");
}

static void config__tls_verify__booleans(void **state) {
        static const struct { const char *value, *message; } bad[] = {
                { "yes", "health.tls_verify must be true or false (write true, not yes)" },
                { "On", "health.tls_verify must be true or false (write true, not on)" },
                { "y", "health.tls_verify must be true or false (write true, not y)" },
                { "off", "health.tls_verify must be true or false (write false, not off)" },
                { "NO", "health.tls_verify must be true or false (write false, not no)" },
                { "True", "health.tls_verify must be true or false, in lower case" },
                { "'false'", "health.tls_verify must be true or false, without quotes" },
                { "1", "health.tls_verify must be true or false" },
                { "~", "health.tls_verify must not be empty" },
                { "{a: 1}", "health.tls_verify must be a single value, not a mapping" },
        };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char yaml[512];

                snprintf(yaml, sizeof yaml, "health:\n  tls_verify: %s\n" MINIMAL, bad[i].value);
                assert_only_error(f, yaml, 2, 15, bad[i].message);
                config_errors_done(&f->errs);
        }
        assert_int_equal(load(f, "health:\n  tls_verify: false\n" MINIMAL), 0);
        assert_false(f->config->health.tls_verify);
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, "health:\n  tls_verify: true\n" MINIMAL), 0);
        assert_true(f->config->health.tls_verify);
}

/* ------------------------------------------------------------------ promote method and the keys it needs */

static void config__pg_promote_without_database__error_at_method(void **state) {
        assert_only_error(*state,
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    method: pg_promote\n"
                FAILOVER_REST,
                9, 5, "failover.promote.method pg_promote needs database.standby "
                "(add a database: section with the standby's conninfo)");
}

static void config__pg_promote_with_broken_database__only_that_error(void **state) {
        assert_only_error(*state,
                "database: host=db\n"
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    method: pg_promote\n"
                FAILOVER_REST,
                1, 11, "database must be a section of keys, not a single value");
}

static void config__pg_promote_without_ssh__accepted(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "database:\n"
                "  standby: host=standby_db\n"
                ENDPOINTS
                "failover:\n"
                "  promote: {method: pg_promote}\n"
                FAILOVER_REST), 0);
        assert_error_count(f, 0);
        assert_int_equal(f->config->promote.method, CONFIG_PROMOTE_PG_PROMOTE);
        assert_true(f->config->database.present);
        assert_null(f->config->promote.ssh.host);
        assert_null(f->config->promote.trigger_file);
        assert_non_null(f->config->promote.ssh.options);
}

static void config__pg_promote_with_ssh__accepted(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "database:\n"
                "  standby: host=standby_db\n"
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    method: pg_promote\n"
                "    ssh: {user: postgres}\n"       /* no host: only the trigger_file method needs it */
                FAILOVER_REST), 0);
        assert_string_equal(f->config->promote.ssh.user, "postgres");
        assert_null(f->config->promote.ssh.host);
}

static void config__trigger_file_method_without_ssh_host__error(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    method: trigger_file\n"
                "    timeout: 5s\n"
                FAILOVER_REST), -EINVAL);
        assert_error_count(f, 2);
        assert_error(f, 0, 9, 5, "missing required key failover.promote.ssh.host "
                     "(failover.promote.method is trigger_file)");
        assert_error(f, 1, 9, 5, "missing required key failover.promote.trigger_file "
                     "(failover.promote.method is trigger_file)");
        config_errors_done(&f->errs);
        assert_only_error(f,
                ENDPOINTS
                "failover:\n"
                "  promote:\n"
                "    method: trigger_file\n"
                "    ssh: {user: postgres}\n"
                "    trigger_file: /t\n"
                FAILOVER_REST,
                10, 10, "missing required key failover.promote.ssh.host (failover.promote.method is trigger_file)");
}

/* ------------------------------------------------------------------ optional sections */

static void config__optional_sections_without_required_key__error_at_section(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "database:\n"
                "  primary: host=p\n"
                "metrics:\n"
                "alerts: {timeout: 1s}\n"
                "hooks:\n"
                "  timeout: 5s\n"
                ENDPOINTS
                "failover:\n"
                "  promote: {ssh: {host: db}, trigger_file: /t}\n"
                FAILOVER_REST
                "  fence:\n"
                "    timeout: 5s\n"
                "  confirm: {}\n"
                "  verify:\n"
                "    timeout: 5s\n"), -EINVAL);
        assert_error_count(f, 7);
        assert_error(f, 0, 2, 3, "missing required key database.standby");
        assert_error(f, 1, 3, 1, "missing required key metrics.listen");
        assert_error(f, 2, 4, 9, "missing required key alerts.webhook_url (or alerts.alertmanager_url)");
        assert_error(f, 3, 6, 3, "missing required key hooks.command");
        assert_error(f, 4, 18, 5, "missing required key failover.fence.command");
        assert_error(f, 5, 19, 12, "missing required key failover.confirm.command");
        assert_error(f, 6, 21, 5, "missing required key failover.verify.urls");
}

static void config__empty_database_section__standby_required(void **state) {
        assert_only_error(*state, "database:\n" MINIMAL, 1, 1, "missing required key database.standby");
}

static void config__new_sections__unknown_keys_and_hints(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, "database:\n  standby: host=db\n  max_lag_byte: 1MB\n" MINIMAL, 3, 3,
                          "unknown key \"max_lag_byte\" in database (did you mean \"max_lag_bytes\"?)");
        config_errors_done(&f->errs);
        assert_only_error(f, "health:\n  fast_intervall: 1s\n" MINIMAL, 2, 3,
                          "unknown key \"fast_intervall\" in health (did you mean \"fast_interval\"?)");
        config_errors_done(&f->errs);
        assert_only_error(f, "tls_verify: true\n" MINIMAL, 1, 1, "unknown key \"tls_verify\" at the top level "
                          "(did you mean health.tls_verify? check the indentation)");
        config_errors_done(&f->errs);
        assert_only_error(f, "metrics:\n  listen: 127.0.0.1:9187\n  path: /metrics\n" MINIMAL, 3, 3,
                          "unknown key \"path\" in metrics");
        config_errors_done(&f->errs);
        assert_int_equal(load(f, MINIMAL "  fence:\n    comand: [x]\n"), -EINVAL);
        assert_error_count(f, 2);
        assert_error(f, 0, 20, 5, "unknown key \"comand\" in failover.fence (did you mean \"command\"?)");
        assert_error(f, 1, 20, 5, "missing required key failover.fence.command");
        config_errors_done(&f->errs);
        assert_only_error(f, "databse:\n  standby: host=db\n" MINIMAL, 1, 1,
                          "unknown key \"databse\" at the top level (did you mean \"database\"?)");
}

static void config__alerts_values__checked(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, "alerts:\n  webhook_url: alertmanager:9093\n" MINIMAL, 2, 16,
                          "alerts.webhook_url must start with http:// or https://");
        config_errors_done(&f->errs);
        assert_only_error(f, "alerts:\n  webhook_url: http://am/\n  retries: 11\n" MINIMAL, 3, 12,
                          "alerts.retries must be between 0 and 10");
        config_errors_done(&f->errs);
        assert_int_equal(load(f, "alerts:\n  webhook_url: http://am/\n  retries: 10\n" MINIMAL), 0);
        assert_int_equal(f->config->alerts.retries, 10);
}

/* What issue 11 saw: webhook_url pointed at Alertmanager's API, refused with a 400 on every event. */
static void config__webhook_url_at_alertmanager_api__error_names_alertmanager_url(void **state) {
        assert_only_error(*state, "alerts:\n  webhook_url: http://am:9093/api/v2/alerts\n" MINIMAL, 2, 16,
                          "alerts.webhook_url is Alertmanager's own API, which does not take webhook bodies: set "
                          "alerts.alertmanager_url to its base URL (http://HOST:9093) instead");
}

static void config__alertmanager_url__one_or_a_list(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "alerts:\n  alertmanager_url: http://user:pw@am:9093\n" MINIMAL), 0);
        assert_null(f->config->alerts.webhook_url);
        assert_int_equal(f->config->alerts.n_alertmanager_urls, 1);
        assert_string_equal(f->config->alerts.alertmanager_urls[0], "http://user:pw@am:9093");
        assert_null(f->config->alerts.alertmanager_urls[1]);
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, "alerts:\n  alertmanager_url:\n    - http://am1:9093\n    - http://am2:9093\n"
                                 MINIMAL), 0);
        assert_int_equal(f->config->alerts.n_alertmanager_urls, 2);
        assert_string_equal(f->config->alerts.alertmanager_urls[1], "http://am2:9093");
}

static void config__alertmanager_url__checked_at_the_value(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, "alerts:\n  alertmanager_url: am:9093\n" MINIMAL, 2, 21,
                          "alerts.alertmanager_url must start with http:// or https://");
        config_errors_done(&f->errs);
        assert_only_error(f, "alerts:\n  alertmanager_url: [http://am1:9093, http://am2:9093/api/v2/alerts]\n"
                          MINIMAL, 2, 39, "alerts.alertmanager_url[1] is a base URL: leave out /api/v2/alerts (it "
                          "is added)");
        config_errors_done(&f->errs);
        assert_only_error(f, "alerts:\n  alertmanager_url: http://am:9093/?x=1\n" MINIMAL, 2, 21,
                          "alerts.alertmanager_url must be a base URL without a query or fragment (http://HOST:9093)");
        config_errors_done(&f->errs);
        assert_only_error(f, "alerts:\n  alertmanager_url: []\n" MINIMAL, 2, 21,
                          "alerts.alertmanager_url must not be an empty list");
        config_errors_done(&f->errs);
        assert_only_error(f, "alerts:\n  alertmanager_url: {a: b}\n" MINIMAL, 2, 21,
                          "alerts.alertmanager_url must be a URL or a list like [http://am1:9093, http://am2:9093], "
                          "not a mapping");
        config_errors_done(&f->errs);
        /* a bad alertmanager_url is the only complaint: webhook_url is not also "missing" */
        assert_only_error(f, "alerts:\n  alertmanager_url: ftp://am\n" MINIMAL, 2, 21,
                          "alerts.alertmanager_url must start with http:// or https://");
}

static void config__new_paths_relative__errors(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f,
                "health:\n"
                "  ca_file: ca.pem\n"
                "database:\n"
                "  standby: host=db\n"
                "  password_file: pgpass\n" MINIMAL), -EINVAL);
        assert_error_count(f, 2);
        assert_error(f, 0, 2, 12, "health.ca_file must be an absolute path (starting with /)");
        assert_error(f, 1, 5, 18, "database.password_file must be an absolute path (starting with /)");
}

static void config__verify_urls__each_checked_at_its_position(void **state) {
        struct fixture *f = *state;
        struct config_mark m;

        assert_int_equal(load(f,
                MINIMAL
                "  verify:\n"
                "    urls: [http://ok/health, ftp://x/, 'http://a b/']\n"), -EINVAL);
        assert_error_count(f, 2);
        assert_error(f, 0, 20, 30, "failover.verify.urls[1] must start with http:// or https://");
        assert_error(f, 1, 20, 40, "failover.verify.urls[2] must not contain whitespace or control characters");
        config_errors_done(&f->errs);
        assert_only_error(f, MINIMAL "  verify:\n    urls:\n      - http://ok/health\n"
                          "      - standby_api:8080/health\n",
                          22, 9, "failover.verify.urls[1] must start with http:// or https://");
        config_errors_done(&f->errs);
        assert_only_error(f, MINIMAL "  verify:\n    urls: []\n", 20, 11,
                          "failover.verify.urls must not be an empty list");
        config_errors_done(&f->errs);
        assert_only_error(f, MINIMAL "  verify:\n    urls: http://x/\n", 20, 11,
                          "failover.verify.urls must be a list like [http://host/health, ...], not a single value");
        config_errors_done(&f->errs);
        assert_int_equal(load(f, MINIMAL "  verify:\n    urls:\n      - http://a/\n      - https://b/x\n"), 0);
        assert_int_equal(f->config->verify.n_urls, 2);
        m = config_mark_of(f->config, "failover.verify.urls[1]");
        assert_int_equal(m.line, 22);
        assert_int_equal(m.col, 9);
}

static void config__metrics_listen__host_and_port(void **state) {
        static const char *const good[] = {
                "127.0.0.1:9187", "'[::1]:9187'", "0.0.0.0:1", "metrics.internal:65535", "standby_api:9187",
                "'[::ffff:10.0.0.1]:9187'",
        };
        static const struct { const char *value, *message; } bad[] = {
                { "127.0.0.1:0", "metrics.listen must end in a port from 1 to 65535" },
                { "127.0.0.1:65536", "metrics.listen must end in a port from 1 to 65535" },
                { "'127.0.0.1:'", "metrics.listen must end in a port from 1 to 65535" },
                { "localhost:http", "metrics.listen must end in a port from 1 to 65535" },
                { "127.0.0.1:09187", "metrics.listen must end in a port from 1 to 65535" },
                { "127.0.0.1", "metrics.listen must be HOST:PORT, like 127.0.0.1:9187, [::1]:9187 or 0.0.0.0:9187 "
                  "(every interface)" },
                { "':9187'", "metrics.listen must be HOST:PORT, like 127.0.0.1:9187, [::1]:9187 or 0.0.0.0:9187 "
                  "(every interface)" },
                { "'[::1]'", "metrics.listen must be HOST:PORT, like 127.0.0.1:9187, [::1]:9187 or 0.0.0.0:9187 "
                  "(every interface)" },
                { "'::1:9187'", "metrics.listen must put an IPv6 address in brackets, like [::1]:9187" },
                { "'[zz::1]:9187'", "metrics.listen has an invalid IPv6 address" },
                { "999.0.0.1:9187", "metrics.listen has an invalid IPv4 address" },
                { "'bad host:9187'",
                  "metrics.listen has an invalid host name (letters, digits, '.', '-' and '_' only)" },
                { "-x:9187", "metrics.listen has an invalid host name (letters, digits, '.', '-' and '_' only)" },
        };
        struct fixture *f = *state;
        char yaml[512];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(yaml, sizeof yaml, "metrics:\n  listen: %s\n" MINIMAL, bad[i].value);
                assert_only_error(f, yaml, 2, 11, bad[i].message);
                config_errors_done(&f->errs);
        }
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                snprintf(yaml, sizeof yaml, "metrics:\n  listen: %s\n" MINIMAL, good[i]);
                assert_int_equal(load(f, yaml), 0);
                assert_non_null(f->config->metrics.listen);
                config_free(f->config);
                f->config = NULL;
        }
}

static void config__conninfo_password__never_in_messages(void **state) {
        static const char *const docs[] = {
                "database:\n  standby: [host=db password=hunter2]\n",
                "database:\n  standby: {host: db, password: hunter2}\n",
                "database: host=db password=hunter2\n",
                "database: {host=db password=hunter2}\n",
                "database:\n  standby: host=db password=hunter2\n  primary: host=db password=hunter2\n",
                "database:\n  standby: \"host=db password=hunter2\\0\"\n",
                "database:\n  standby: host=db password=hunter2\n  password_file: hunter2\n",
        };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
                char yaml[512];

                snprintf(yaml, sizeof yaml, "%s" MINIMAL, docs[i]);
                assert_int_equal(load(f, yaml), -EINVAL);
                assert_true(f->errs.n > 0);
                dump_errors_unless(f, !errors_mention(&f->errs, "hunter2"));
                assert_false(errors_mention(&f->errs, "hunter2"));
                config_errors_done(&f->errs);
        }
        assert_only_error(f, "database:\n  standby: [host=db password=hunter2]\n" MINIMAL, 2, 12,
                          "database.standby must be a single value, not a list");
        config_errors_done(&f->errs);
        assert_only_error(f, "database:\n  standby: host=db password=x\n  primary: host=db password=x\n" MINIMAL,
                          3, 3, "database.primary must differ from database.standby");
}

/* ------------------------------------------------------------------ cluster: */

/* cluster: with name and members: 3 lines; tests add lease_ttl/timeout/etcd lines below it */
#define CLUSTER_HEAD \
        "cluster:\n" \
        "  name: mon-a\n" \
        "  members: [mon-a, mon-b, mon-c]\n"
#define CLUSTER_ETCD_HTTP "  etcd: {endpoints: [http://127.0.0.1:2379]}\n"

/* A file holding `text`, its path in buf (PATH_MAX); removed by the caller. */
static void write_temp(char *buf, size_t size, const char *text, mode_t mode) {
        int fd;

        snprintf(buf, size, "/tmp/test_config_cluster.XXXXXX");
        fd = mkstemp(buf);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static void config__cluster_absent__disabled(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, MINIMAL), 0);
        assert_false(f->config->cluster.enabled);
        assert_null(f->config->cluster.name);
        assert_null(f->config->cluster.prefix);
        assert_int_equal(f->config->warnings.n, 0);
}

static void config__cluster_defaults__host_name_sorted_sites_timeout_rule(void **state) {
        struct fixture *f = *state;
        char host[256] = "", yaml[1024];
        const struct config_cluster *k;

        assert_int_equal(gethostname(host, sizeof host), 0);
        host[strcspn(host, ".")] = '\0';
        /* the active's name sorts after the standby's: the prefix is the same whichever site serves */
        snprintf(yaml, sizeof yaml, "cluster:\n  members: [%s, mon-b, mon-c]\n" CLUSTER_ETCD_HTTP
                 "active: {name: zeta, url: http://z:8080/health}\nstandby: {name: alpha, url: http://a:8080/health}\n"
                 FAILOVER, host);
        assert_int_equal(load(f, yaml), 0);
        k = &f->config->cluster;
        assert_true(k->enabled);
        assert_string_equal(k->name, host);
        assert_string_equal(k->prefix, "/blfailoverd/alpha+zeta");
        assert_int_equal(k->lease_ttl_usec, 10 * USEC_PER_SEC);
        assert_int_equal(k->timeout_usec, 2 * USEC_PER_SEC);           /* min(2s, 10s/4) */
        assert_int_equal(k->n_members, 3);
        assert_int_equal(k->n_endpoints, 1);
        assert_string_equal(k->endpoints[0], "http://127.0.0.1:2379");
        assert_null(k->user);
        assert_null(k->password);
        assert_int_equal(f->config->warnings.n, 0);
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, CLUSTER_HEAD "  lease_ttl: 6s\n" CLUSTER_ETCD_HTTP MINIMAL), 0);
        assert_int_equal(f->config->cluster.timeout_usec, 1500 * USEC_PER_MSEC);  /* min(2s, 6s/4) */
        assert_string_equal(f->config->cluster.prefix, "/blfailoverd/active_api+standby_api");
}

static void config__cluster_in_sites_form__prefix_from_site_names(void **state) {
        struct fixture *f = *state;
        char *text = sample_text(true, "#| ");

        drop_runbook_keys(text);
        drop_block(text, 2, "prefix");
        assert_int_equal(load(f, text), 0);
        free(text);
        assert_true(f->config->sites_form);
        assert_true(f->config->cluster.enabled);
        assert_string_equal(f->config->cluster.prefix, "/blfailoverd/a+b");
        assert_string_equal(f->config->cluster.name, "mon-a");
        assert_int_equal(f->config->cluster.n_endpoints, 3);
        assert_string_equal(f->config->cluster.user, "blfailoverd");
        assert_string_equal(f->config->cluster.password, "not-a-real-password");
}

static void config__cluster_name_not_in_members__error(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, "cluster:\n  name: mon-x\n  members: [mon-a, mon-b, mon-c]\n" CLUSTER_ETCD_HTTP MINIMAL,
                          2, 3, "cluster.name mon-x is not in cluster.members: add it there, or set cluster.name to "
                          "this monitor's name");
        config_errors_done(&f->errs);
        assert_only_error(f, "cluster:\n  name: -mon\n  members: [mon-a]\n" CLUSTER_ETCD_HTTP MINIMAL, 2, 9,
                          "cluster.name must be 1 to 63 of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or "
                          "a digit");
}

static void config__cluster_duplicate_member__error_at_the_second(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, "cluster:\n  name: mon-a\n  members: [mon-a, mon-b, mon-a]\n" CLUSTER_ETCD_HTTP MINIMAL,
                          3, 27, "cluster.members[2] repeats mon-a (cluster.members[0]): each monitor is listed once");
        config_errors_done(&f->errs);
        assert_only_error(f, "cluster:\n  name: mon-a\n  members: mon-a\n" CLUSTER_ETCD_HTTP MINIMAL, 3, 12,
                          "cluster.members must be a list like [mon-a, mon-b, mon-c], not a single value");
}

static void config__cluster_too_many_members__error(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, "cluster:\n  name: a\n  members: [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p]\n"
                          CLUSTER_ETCD_HTTP MINIMAL, 3, 3, "cluster.members has 16 names; at most 15");
}

static void config__cluster_endpoint_with_userinfo__error_without_it(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, CLUSTER_HEAD "  etcd: {endpoints: [http://root:s3cret@e1:2379]}\n" MINIMAL, 4, 22,
                          "cluster.etcd.endpoints[0] must not contain user:password@: use cluster.etcd.user and "
                          "cluster.etcd.password_file");
        assert_null(strstr(f->errs.items[0].message, "s3cret"));
}

static void config__cluster_endpoint_shapes__checked(void **state) {
        static const struct { const char *url, *why; } cases[] = {
                { "http://e1:2379/v3", "must have no path, query or fragment, like https://10.0.0.1:2379 (the /v3/ "
                                       "paths are added)" },
                { "http://e1:2379?x=1", "must have no path, query or fragment, like https://10.0.0.1:2379 (the /v3/ "
                                        "paths are added)" },
                { "http://e1", "must have a host and a port from 1 to 65535, like https://10.0.0.1:2379" },
                { "http://e1:65536", "must have a host and a port from 1 to 65535, like https://10.0.0.1:2379" },
                { "http://:2379", "must have a host and a port from 1 to 65535, like https://10.0.0.1:2379" },
                { "unix:///run/etcd", "must start with http:// or https://" },
        };
        struct fixture *f = *state;
        char yaml[1024], want[256];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  etcd: {endpoints: [\"%s\"]}\n" MINIMAL, cases[i].url);
                snprintf(want, sizeof want, "cluster.etcd.endpoints[0] %s", cases[i].why);
                assert_only_error(f, yaml, 4, 22, want);
                config_errors_done(&f->errs);
        }
        assert_int_equal(load(f, CLUSTER_HEAD "  etcd: {endpoints: [\"https://[::1]:2379/\", http://E1:1]}\n" MINIMAL), 0);
}

static void config__cluster_cert_without_key__error(void **state) {
        struct fixture *f = *state;
        char pem[64], yaml[1024];

        write_temp(pem, sizeof pem, "pem\n", 0600);
        snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  etcd:\n    endpoints: [https://e1:2379]\n    cert_file: %s\n"
                 MINIMAL, pem);
        assert_only_error(f, yaml, 6, 5, "cluster.etcd.cert_file needs cluster.etcd.key_file (both or neither)");
        config_errors_done(&f->errs);
        /* TLS files need https endpoints */
        snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  etcd:\n    endpoints: [https://e1:2379, http://e2:2379]\n"
                 "    ca_file: %s\n" MINIMAL, pem);
        assert_only_error(f, yaml, 5, 34, "cluster.etcd.endpoints[1] is http://, but cluster.etcd.ca_file is set: "
                          "TLS files need https:// endpoints");
        config_errors_done(&f->errs);
        assert_only_error(f, CLUSTER_HEAD "  etcd:\n    endpoints: [https://e1:2379]\n    ca_file: /nonexistent/ca.pem\n"
                          MINIMAL, 6, 5, "cluster.etcd.ca_file: cannot read /nonexistent/ca.pem: No such file or "
                          "directory");
        unlink(pem);
}

static void config__cluster_timeout_over_a_quarter_of_ttl__error(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, CLUSTER_HEAD "  lease_ttl: 10s\n  timeout: 3s\n" CLUSTER_ETCD_HTTP MINIMAL, 5, 3,
                          "cluster.timeout (3s) must be at most a quarter of cluster.lease_ttl (10s): 2500ms");
        config_errors_done(&f->errs);
        assert_int_equal(load(f, CLUSTER_HEAD "  lease_ttl: 10s\n  timeout: 2500ms\n" CLUSTER_ETCD_HTTP MINIMAL), 0);
}

static void config__cluster_lease_ttl_range__errors(void **state) {
        static const char *const bad[] = { "1s", "301s", "1h" };
        struct fixture *f = *state;
        char yaml[1024];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  lease_ttl: %s\n" CLUSTER_ETCD_HTTP MINIMAL, bad[i]);
                assert_only_error(f, yaml, 4, 14, "cluster.lease_ttl must be between 2s and 5m");
                config_errors_done(&f->errs);
        }
        assert_only_error(f, CLUSTER_HEAD "  lease_ttl: 2500ms\n" CLUSTER_ETCD_HTTP MINIMAL, 4, 3,
                          "cluster.lease_ttl must be whole seconds (etcd grants leases in seconds): write 10s, not "
                          "2500ms");
        config_errors_done(&f->errs);
        assert_int_equal(load(f, CLUSTER_HEAD "  lease_ttl: 2s\n" CLUSTER_ETCD_HTTP MINIMAL), 0);
        assert_int_equal(f->config->cluster.timeout_usec, 500 * USEC_PER_MSEC);
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, CLUSTER_HEAD "  lease_ttl: 5m\n" CLUSTER_ETCD_HTTP MINIMAL), 0);
}

static void config__cluster_prefix__checked(void **state) {
        static const struct { const char *prefix, *why; } cases[] = {
                { "/blfailoverd/a+b/", "must not end with / (the keys are PREFIX/leader, PREFIX/record, ...)" },
                { "blfailoverd/a+b", "must start with /" },
                { "\"/blf ailoverd\"", "must be printable ASCII without spaces" },
        };
        struct fixture *f = *state;
        char yaml[1024], want[256], longp[256];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  prefix: %s\n" CLUSTER_ETCD_HTTP MINIMAL, cases[i].prefix);
                snprintf(want, sizeof want, "cluster.prefix %s", cases[i].why);
                assert_only_error(f, yaml, 4, 11, want);
                config_errors_done(&f->errs);
        }
        memset(longp, 'p', 201);
        longp[0] = '/';
        longp[201] = '\0';
        snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  prefix: %s\n" CLUSTER_ETCD_HTTP MINIMAL, longp);
        assert_only_error(f, yaml, 4, 11, "cluster.prefix must be at most 200 bytes");
        config_errors_done(&f->errs);
        longp[200] = '\0';
        snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  prefix: %s\n" CLUSTER_ETCD_HTTP MINIMAL, longp);
        assert_int_equal(load(f, yaml), 0);
        assert_string_equal(f->config->cluster.prefix, longp);
}

static void config__cluster_password_file__read_or_error(void **state) {
        struct fixture *f = *state;
        char path[64], yaml[1024], want[512], big[300];

        write_temp(path, sizeof path, "pa ss\nsecond line\n", 0600);
        snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  etcd:\n    endpoints: [https://e1:2379]\n    user: blf\n"
                 "    password_file: %s\n" MINIMAL, path);
        assert_int_equal(load(f, yaml), 0);
        assert_string_equal(f->config->cluster.password, "pa ss");
        assert_int_equal(f->config->warnings.n, 0);
        config_free(f->config);
        f->config = NULL;
        unlink(path);
        /* unreadable (gone) */
        snprintf(want, sizeof want, "cluster.etcd.password_file: cannot read %s: No such file or directory", path);
        assert_only_error(f, yaml, 7, 5, want);
        config_errors_done(&f->errs);
        /* empty first line */
        write_temp(path, sizeof path, "\nsecond\n", 0600);
        snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  etcd:\n    endpoints: [https://e1:2379]\n    user: blf\n"
                 "    password_file: %s\n" MINIMAL, path);
        snprintf(want, sizeof want, "cluster.etcd.password_file %s is empty (the password is its first line)", path);
        assert_only_error(f, yaml, 7, 5, want);
        config_errors_done(&f->errs);
        unlink(path);
        /* 257 bytes */
        memset(big, 'x', 257);
        big[257] = '\0';
        write_temp(path, sizeof path, big, 0600);
        snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  etcd:\n    endpoints: [https://e1:2379]\n    user: blf\n"
                 "    password_file: %s\n" MINIMAL, path);
        snprintf(want, sizeof want, "cluster.etcd.password_file %s has a first line longer than 256 bytes (the "
                 "password)", path);
        assert_only_error(f, yaml, 7, 5, want);
        config_errors_done(&f->errs);
        unlink(path);
        /* 256 bytes, no newline: taken */
        big[256] = '\0';
        write_temp(path, sizeof path, big, 0644);
        snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  etcd:\n    endpoints: [https://e1:2379]\n    user: blf\n"
                 "    password_file: %s\n" MINIMAL, path);
        assert_int_equal(load(f, yaml), 0);
        assert_string_equal(f->config->cluster.password, big);
        assert_int_equal(f->config->warnings.n, 1);    /* mode 0644 */
        snprintf(want, sizeof want, "cluster.etcd.password_file %s is readable by group or others (mode 0644): "
                 "chmod 600 %s", path, path);
        assert_string_equal(f->config->warnings.items[0].message, want);
        unlink(path);
}

static void config__cluster_user_without_password_file__error(void **state) {
        struct fixture *f = *state;

        assert_only_error(f, CLUSTER_HEAD "  etcd:\n    endpoints: [https://e1:2379]\n    user: blf\n" MINIMAL, 6, 5,
                          "cluster.etcd.user needs cluster.etcd.password_file (both or neither)");
}

static void config__cluster_user_over_http__warning(void **state) {
        struct fixture *f = *state;
        char path[64], yaml[1024];

        write_temp(path, sizeof path, "pw\n", 0600);
        snprintf(yaml, sizeof yaml, CLUSTER_HEAD "  etcd:\n    endpoints: [https://e1:2379, http://e2:2379]\n"
                 "    user: blf\n    password_file: %s\n" MINIMAL, path);
        assert_int_equal(load(f, yaml), 0);
        unlink(path);
        assert_int_equal(f->config->warnings.n, 1);
        assert_string_equal(f->config->warnings.items[0].message, "cluster.etcd.endpoints[1] is http:// and "
                            "cluster.etcd.user is set: the password travels in clear; use https://");
        assert_int_equal(f->config->warnings.items[0].line, 5);
        assert_int_equal(f->config->warnings.items[0].col, 34);
}

static void config__cluster_even_members__warning(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "cluster:\n  name: mon-a\n  members: [mon-a, mon-b]\n" CLUSTER_ETCD_HTTP MINIMAL), 0);
        assert_int_equal(f->config->warnings.n, 1);
        assert_string_equal(f->config->warnings.items[0].message, "2 members: both must agree; the loss of one "
                            "monitor stops automatic failover");
        assert_int_equal(f->config->warnings.items[0].line, 3);
        assert_int_equal(f->config->warnings.items[0].col, 3);
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, "cluster:\n  name: mon-a\n  members: [mon-a]\n" CLUSTER_ETCD_HTTP MINIMAL), 0);
        assert_int_equal(f->config->warnings.n, 0);
        config_free(f->config);
        f->config = NULL;
        assert_int_equal(load(f, CLUSTER_HEAD CLUSTER_ETCD_HTTP MINIMAL), 0);
        assert_int_equal(f->config->warnings.n, 0);
}

static void config__cluster_missing_keys__reported_at_the_section(void **state) {
        struct fixture *f = *state;

        assert_int_equal(load(f, "cluster:\n  name: mon-a\n" MINIMAL), -EINVAL);
        assert_error_count(f, 2);
        assert_error(f, 0, 2, 3, "missing required key cluster.members");
        assert_error(f, 1, 2, 3, "missing required key cluster.etcd.endpoints");
}

static struct config *load_ok(const char *yaml) {
        struct config *c = NULL;

        assert_int_equal(config_load_buffer("test.yml", yaml, strlen(yaml), &c, NULL), 0);
        return c;
}

static void config_cluster_restart_needed__identity_changes_only(void **state) {
        static const struct { const char *yaml, *why; } cases[] = {
                { "cluster:\n  name: mon-b\n  members: [mon-a, mon-b, mon-c]\n" CLUSTER_ETCD_HTTP,
                  "cluster.name changed from mon-a to mon-b" },
                { CLUSTER_HEAD "  prefix: /other\n" CLUSTER_ETCD_HTTP,
                  "cluster.prefix changed from /blfailoverd/active_api+standby_api to /other" },
                { CLUSTER_HEAD "  lease_ttl: 20s\n" CLUSTER_ETCD_HTTP, "cluster.lease_ttl changed from 10s to 20s" },
                { "", "cluster: was removed" },
                /* what a reload may change */
                { CLUSTER_HEAD "  timeout: 1s\n  etcd: {endpoints: [http://127.0.0.1:2379, http://127.0.0.2:2379]}\n",
                  NULL },
                { "cluster:\n  name: mon-a\n  members: [mon-a, mon-b, mon-c, mon-d, mon-e]\n" CLUSTER_ETCD_HTTP, NULL },
        };
        struct config *old = load_ok(CLUSTER_HEAD CLUSTER_ETCD_HTTP MINIMAL), *plain = load_ok(MINIMAL);
        char why[256], yaml[1024];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct config *fresh;

                snprintf(yaml, sizeof yaml, "%s" MINIMAL, cases[i].yaml);
                fresh = load_ok(yaml);
                strcpy(why, "untouched");
                assert_int_equal(config_cluster_restart_needed(old, fresh, why, sizeof why), cases[i].why != NULL);
                assert_string_equal(why, cases[i].why ? cases[i].why : "untouched");
                config_free(fresh);
        }
        assert_int_equal(config_cluster_restart_needed(plain, old, why, sizeof why), 1);
        assert_string_equal(why, "cluster: was added");
        assert_int_equal(config_cluster_restart_needed(plain, plain, why, sizeof why), 0);
        config_free(old);
        config_free(plain);
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
                T(config__sample_examples_uncommented__parse),
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
                T(config__tab_indentation__named_as_a_tab),
                T(config__tab_inside_a_value__not_called_indentation),
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
                T(config__new_keys__parsed),
                T(config__new_keys_absent__defaults_and_sections_off),
                T(config__fast_interval__follows_interval_unless_given),
                T(config__fast_interval_above_interval__error),
                T(config__startup_grace__zero_accepted_day_max),
                T(config_parse_size__units__converted),
                T(config_parse_size__bad__einval),
                T(config__max_lag_bytes_bad__errors_at_value),
                T(config__lag_warning__zero_is_off),
                T(config__promote_method__enum_values),
                T(config__bad_method__no_missing_key_errors_on_its_default),
                T(config__tls_verify__booleans),
                T(config__pg_promote_without_database__error_at_method),
                T(config__pg_promote_with_broken_database__only_that_error),
                T(config__pg_promote_without_ssh__accepted),
                T(config__pg_promote_with_ssh__accepted),
                T(config__trigger_file_method_without_ssh_host__error),
                T(config__optional_sections_without_required_key__error_at_section),
                T(config__empty_database_section__standby_required),
                T(config__new_sections__unknown_keys_and_hints),
                T(config__alerts_values__checked),
                T(config__webhook_url_at_alertmanager_api__error_names_alertmanager_url),
                T(config__alertmanager_url__one_or_a_list),
                T(config__alertmanager_url__checked_at_the_value),
                T(config__new_paths_relative__errors),
                T(config__verify_urls__each_checked_at_its_position),
                T(config__metrics_listen__host_and_port),
                T(config__conninfo_password__never_in_messages),
                T(config__cluster_absent__disabled),
                T(config__cluster_defaults__host_name_sorted_sites_timeout_rule),
                T(config__cluster_in_sites_form__prefix_from_site_names),
                T(config__cluster_name_not_in_members__error),
                T(config__cluster_duplicate_member__error_at_the_second),
                T(config__cluster_too_many_members__error),
                T(config__cluster_endpoint_with_userinfo__error_without_it),
                T(config__cluster_endpoint_shapes__checked),
                T(config__cluster_cert_without_key__error),
                T(config__cluster_timeout_over_a_quarter_of_ttl__error),
                T(config__cluster_lease_ttl_range__errors),
                T(config__cluster_prefix__checked),
                T(config__cluster_password_file__read_or_error),
                T(config__cluster_user_without_password_file__error),
                T(config__cluster_user_over_http__warning),
                T(config__cluster_even_members__warning),
                T(config__cluster_missing_keys__reported_at_the_section),
                T(config_cluster_restart_needed__identity_changes_only),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
