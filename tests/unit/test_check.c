/* test_check: the checks past the YAML that need no server — who may change the config or read the ssh key, the
 * nginx file's size cap — and that a planted database password shows in none of -t's or --dry-run's output. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "failover.h"

#define SECRET "Pl4ntedS3cret"

struct fixture {
        char dir[64];
        char conf[96], key[96], site[96];
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        strcpy(f->dir, "/tmp/blf-test-check-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->conf, sizeof f->conf, "%s/blfailoverd.yml", f->dir);
        snprintf(f->key, sizeof f->key, "%s/id_ed25519", f->dir);
        snprintf(f->site, sizeof f->site, "%s/site.conf", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;

        unlink(f->conf);
        unlink(f->key);
        unlink(f->site);
        rmdir(f->dir);
        free(f);
        return 0;
}

static void write_file(const char *path, const char *text, mode_t mode) {
        FILE *out = fopen(path, "w");

        assert_non_null(out);
        fputs(text, out);
        assert_int_equal(fclose(out), 0);
        assert_int_equal(chmod(path, mode), 0);
}

/* Runs check_trust with stderr (where log lines go outside the journal) captured into a malloc'd string. */
static int trust_capturing(const struct config *c, uid_t euid, struct config_errors *errs, char **ret_log) {
        FILE *tmp = tmpfile();
        int saved, r;
        long n;

        assert_non_null(tmp);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
        r = check_trust(c, euid, errs);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        n = ftell(tmp);
        assert_true(n >= 0);
        *ret_log = calloc(1, (size_t) n + 1);
        assert_non_null(*ret_log);
        rewind(tmp);
        assert_int_equal(fread(*ret_log, 1, (size_t) n, tmp), (size_t) n);
        fclose(tmp);
        return r;
}

/* ------------------------------------------------------------------ pure verdicts */

static void check__config_trust__table(void **state) {
        static const struct { mode_t mode; uid_t owner, euid; enum check_trust want; } cases[] = {
                { 0640, 0, 0, CHECK_TRUST_OK },
                { 0600, 0, 0, CHECK_TRUST_OK },
                { 0644, 0, 0, CHECK_TRUST_OK },                 /* readable is fine: no secret in it by design */
                { 0660, 0, 0, CHECK_TRUST_REFUSE },             /* group-writable, running as root */
                { 0646, 0, 0, CHECK_TRUST_REFUSE },             /* world-writable, running as root */
                { 0600, 1000, 0, CHECK_TRUST_REFUSE },          /* another user's file, running as root */
                { 0644, 1000, 1000, CHECK_TRUST_OK },
                { 0664, 1000, 1000, CHECK_TRUST_WARN },         /* not root: warn, never refuse */
                { 0666, 0, 1000, CHECK_TRUST_WARN },
                { 02620, 1000, 1000, CHECK_TRUST_WARN },        /* set-gid and friends change nothing */
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                assert_int_equal(check_config_trust(cases[i].mode, cases[i].owner, cases[i].euid), cases[i].want);
}

static void check__key_trust__table(void **state) {
        assert_int_equal(check_key_trust(0600), CHECK_TRUST_OK);
        assert_int_equal(check_key_trust(0400), CHECK_TRUST_OK);
        assert_int_equal(check_key_trust(0640), CHECK_TRUST_WARN);
        assert_int_equal(check_key_trust(0604), CHECK_TRUST_WARN);
        assert_int_equal(check_key_trust(0644), CHECK_TRUST_WARN);
        assert_int_equal(check_key_trust(0620), CHECK_TRUST_OK);       /* writable but not readable: no leak */
}

/* ------------------------------------------------------------------ on real files */

static void check__root_and_group_writable_config__refused_naming_the_file(void **state) {
        struct fixture *f = *state;
        struct config c = { .path = f->conf };
        struct config_errors errs;

        write_file(f->conf, "state_dir: /x\n", 0664);
        config_errors_init(&errs, f->conf);
        assert_int_equal(check_trust(&c, 0, &errs), -EPERM);
        assert_int_equal(errs.n, 1);
        assert_non_null(strstr(errs.items[0].message, "refusing to run as root"));
        assert_non_null(strstr(errs.items[0].message, "mode 0664"));
        assert_non_null(strstr(errs.items[0].message, f->conf));
        config_errors_done(&errs);
}

static void check__writable_config_not_root__warning_only(void **state) {
        struct fixture *f = *state;
        struct config c = { .path = f->conf };
        struct config_errors errs;

        char *logged = NULL;

        write_file(f->conf, "state_dir: /x\n", 0666);
        config_errors_init(&errs, f->conf);
        assert_int_equal(trust_capturing(&c, 1000, &errs, &logged), 0);
        assert_int_equal(errs.n, 0);
        assert_non_null(strstr(logged, "writable by group or others (mode 0666)"));
        assert_non_null(strstr(logged, f->conf));
        free(logged);
        config_errors_done(&errs);
}

static void check__root_owned_0640_config__accepted(void **state) {
        struct fixture *f = *state;
        struct config c = { .path = f->conf };
        struct config_errors errs;

        if (geteuid() != 0)
                skip();         /* the file must be root's */
        write_file(f->conf, "state_dir: /x\n", 0640);
        config_errors_init(&errs, f->conf);
        assert_int_equal(check_trust(&c, 0, &errs), 0);
        assert_int_equal(errs.n, 0);
        config_errors_done(&errs);
}

static void check__config_of_another_user_as_root__refused(void **state) {
        struct fixture *f = *state;
        struct config c = { .path = f->conf };
        struct config_errors errs;

        if (geteuid() != 0)
                skip();         /* only root can give a file away */
        write_file(f->conf, "state_dir: /x\n", 0600);
        assert_int_equal(chown(f->conf, 65534, 65534), 0);
        config_errors_init(&errs, f->conf);
        assert_int_equal(check_trust(&c, 0, &errs), -EPERM);
        assert_int_equal(errs.n, 1);
        assert_non_null(strstr(errs.items[0].message, "owner uid 65534"));
        config_errors_done(&errs);
}

/* A readable key is worth a warning, not a refusal: -t and a reload must still pass. */
static void check__world_readable_key__no_error(void **state) {
        struct fixture *f = *state;
        struct config c = { .path = f->conf };
        struct config_errors errs;

        if (geteuid() != 0)
                skip();
        write_file(f->conf, "state_dir: /x\n", 0600);
        write_file(f->key, "not really a key\n", 0644);
        char *logged = NULL;

        c.promote.ssh.identity_file = f->key;
        config_errors_init(&errs, f->conf);
        assert_int_equal(trust_capturing(&c, 0, &errs, &logged), 0);
        assert_int_equal(errs.n, 0);
        assert_non_null(strstr(logged, "ssh identity file"));
        assert_non_null(strstr(logged, "(mode 0644)"));
        free(logged);
        config_errors_done(&errs);
}

/* A config for the tests below: commands that exist, the nginx file and state under the fixture's dir. */
static struct config *load_config(struct fixture *f, const char *extra) {
        struct config_errors errs;
        struct config *c = NULL;
        char *yaml = NULL;

        assert_true(asprintf(&yaml,
                             "state_dir: %s/state\n"
                             "active: {name: a, url: http://127.0.0.1:1/health}\n"
                             "standby: {name: b, url: http://127.0.0.1:2/health}\n"
                             "failover:\n"
                             "  promote: {ssh: {host: standby_db}, trigger_file: /tmp/t}\n"
                             "  nginx:\n"
                             "    config: %s\n"
                             "    upstream: blacklake_backend\n"
                             "    active_server: active_api:8080\n"
                             "    standby_server: standby_api:8080\n"
                             "    test_command: [true]\n"
                             "    reload_command: [true]\n"
                             "  standby_stack: {command: [true]}\n"
                             "%s", f->dir, f->site, extra) > 0);
        config_errors_init(&errs, f->conf);
        assert_int_equal(config_load_buffer(f->conf, yaml, strlen(yaml), &c, &errs), 0);
        config_errors_done(&errs);
        free(yaml);
        return c;
}

static void check__nginx_file_over_cap__error_names_file_and_cap(void **state) {
        struct fixture *f = *state;
        struct config *c = load_config(f, "");
        struct config_errors errs;
        int fd;

        fd = open(f->site, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, FAILOVER_NGINX_MAX + 1), 0);    /* sparse: no 16 MiB written */
        close(fd);
        config_errors_init(&errs, f->conf);
        assert_int_equal(check_environment(c, &errs), -EINVAL);
        assert_true(errs.n >= 1);
        assert_non_null(strstr(errs.items[0].message, "is larger than 16 MiB"));
        assert_non_null(strstr(errs.items[0].message, f->site));
        assert_int_equal(errs.items[0].line, 7);        /* at failover.nginx.config's value */
        config_errors_done(&errs);
        config_free(c);
}

/* Issue 11: -t printed the checks' problems in the order the checks ran (nginx, ssh, TLS), not in file order. */
static void check__problems__in_file_order(void **state) {
        struct fixture *f = *state;
        struct config *c = NULL;
        struct config_errors errs;
        char *yaml = NULL;

        assert_true(asprintf(&yaml,
                             "state_dir: %s/state\n"
                             "health: {ca_file: %s/no-ca.pem}\n"
                             "active: {name: a, url: http://127.0.0.1:1/health}\n"
                             "standby: {name: b, url: http://127.0.0.1:2/health}\n"
                             "failover:\n"
                             "  promote: {ssh: {host: h, identity_file: %s/no-key}, trigger_file: /tmp/t}\n"
                             "  nginx:\n"
                             "    config: %s\n"
                             "    upstream: blacklake_backend\n"
                             "    active_server: active_api:8080\n"
                             "    standby_server: standby_api:8080\n"
                             "    test_command: [true]\n"
                             "    reload_command: [true]\n"
                             "  standby_stack: {command: [/nonexistent/compose]}\n",
                             f->dir, f->dir, f->dir, f->site) > 0);
        config_errors_init(&errs, f->conf);
        assert_int_equal(config_load_buffer(f->conf, yaml, strlen(yaml), &c, &errs), 0);
        assert_int_equal(check_environment(c, &errs), -EINVAL);
        assert_int_equal(errs.n, 4);    /* CA file, ssh key, nginx site file (not written), the stack command */
        assert_int_equal(errs.items[0].line, 2);
        assert_non_null(strstr(errs.items[0].message, "CA file"));
        assert_int_equal(errs.items[1].line, 6);
        assert_non_null(strstr(errs.items[1].message, "identity file"));
        assert_int_equal(errs.items[2].line, 8);
        assert_int_equal(errs.items[3].line, 14);
        for (size_t i = 1; i < errs.n; i++)
                assert_true(errs.items[i - 1].line < errs.items[i].line ||
                            (errs.items[i - 1].line == errs.items[i].line && errs.items[i - 1].col <= errs.items[i].col));
        config_errors_done(&errs);
        config_free(c);
        free(yaml);
}

#define RUNBOOK_SITE \
        "upstream blacklake_backend {\n" \
        "    server active_api:8080 max_fails=3 fail_timeout=30s;\n" \
        "    server standby_api:8080 backup;\n" \
        "}\n"

/* What -t and --dry-run print, with a database password planted in both conninfo strings. */
static void check__planted_conninfo_password__in_no_output(void **state) {
        struct fixture *f = *state;
        struct config *c = load_config(f, "database:\n"
                                          "  standby: \"host=127.0.0.1 port=1 password=" SECRET "\"\n"
                                          "  primary: postgresql://u:" SECRET "@127.0.0.1:2/db\n");
        struct config_errors errs;
        char *text = NULL;
        size_t size = 0;
        FILE *out;

        write_file(f->site, RUNBOOK_SITE, 0644);
        write_file(f->conf, "state_dir: /x\n", 0600);
        out = open_memstream(&text, &size);
        assert_non_null(out);
        config_errors_init(&errs, f->conf);
        (void) check_environment(c, &errs);
        config_errors_print(&errs, out);
        config_errors_done(&errs);
        assert_int_equal(failover_dry_run(c, out), 0);
        assert_int_equal(fclose(out), 0);
        assert_non_null(strstr(text, "Dry run"));      /* the output under test is really there */
        assert_null(strstr(text, SECRET));
        free(text);
        config_free(c);
}

/* Host names are looked up off the loop one per conninfo: a host list with a name in it is refused at -t, at the
 * key's line; the same list of IP addresses is fine. */
static void check__multi_host_conninfo_with_a_name__refused_at_its_key(void **state) {
        struct fixture *f = *state;
        struct config *c = load_config(f, "database:\n"
                                          "  standby: \"host=127.0.0.1 port=1\"\n"
                                          "  primary: \"host=10.0.0.1,db2.example port=2\"\n");
        struct config *ok = load_config(f, "database:\n"
                                           "  standby: \"host=db.example port=1\"\n"
                                           "  primary: \"host=10.0.0.1,10.0.0.2 port=2\"\n");
        struct config_errors errs;

        write_file(f->site, RUNBOOK_SITE, 0644);
        write_file(f->conf, "state_dir: /x\n", 0600);
        config_errors_init(&errs, f->conf);
        assert_int_equal(check_environment(c, &errs), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_non_null(strstr(errs.items[0].message, "database.primary: host= lists several hosts"));
        assert_int_equal(errs.items[0].line, 16);
        config_errors_done(&errs);

        config_errors_init(&errs, f->conf);
        assert_int_equal(check_environment(ok, &errs), 0);
        config_errors_done(&errs);
        config_free(c);
        config_free(ok);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(check__config_trust__table),
                cmocka_unit_test(check__key_trust__table),
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
                T(check__root_and_group_writable_config__refused_naming_the_file),
                T(check__writable_config_not_root__warning_only),
                T(check__root_owned_0640_config__accepted),
                T(check__config_of_another_user_as_root__refused),
                T(check__world_readable_key__no_error),
                T(check__nginx_file_over_cap__error_names_file_and_cap),
                T(check__problems__in_file_order),
                T(check__planted_conninfo_password__in_no_output),
                T(check__multi_host_conninfo_with_a_name__refused_at_its_key),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
