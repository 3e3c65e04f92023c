/* Unit tests for plan: the failover's steps, their order and their exact argv. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan.h"

static char *test_argv[] = { "nginx", "-t", NULL };
static char *reload_argv[] = { "nginx", "-s", "reload", NULL };
static char *stack_argv[] = { "docker", "compose", "-f", "/srv/x.yml", "up", "-d", NULL };
static char *ssh_options[] = { "StrictHostKeyChecking=yes", "UserKnownHostsFile=/etc/blfailoverd/known_hosts", NULL };

static struct config sample(void) {
        return (struct config) {
                .standby = { .name = "standby_api", .url = "http://standby_api:8080/health" },
                .state_dir = "/var/lib/blfailoverd",
                .promote = {
                        .ssh = { .host = "standby_db", .user = "postgres", .port = 2222,
                                 .identity_file = "/etc/blfailoverd/id_ed25519", .options = ssh_options,
                                 .n_options = 2 },
                        .trigger_file = "/tmp/postgresql.trigger", .timeout_usec = 15000000,
                },
                .nginx = {
                        .config = "/etc/nginx/sites-available/blacklake", .upstream = "blacklake_backend",
                        .active_server = "active_api:8080", .standby_server = "standby_api:8080",
                        .test_command = { .argv = test_argv, .argc = 2, .timeout_usec = 15000000 },
                        .reload_command = { .argv = reload_argv, .argc = 3, .timeout_usec = 15000000 },
                },
                .standby_stack = { .argv = stack_argv, .argc = 6, .timeout_usec = 120000000 },
        };
}

static void assert_argv(char **got, const char *const *expected) {
        size_t i;

        for (i = 0; expected[i]; i++) {
                assert_non_null(got[i]);
                assert_string_equal(got[i], expected[i]);
        }
        assert_null(got[i]);
}

static void plan__order__prepare_promote_switch_stack(void **unused) {
        static const char *const names[] = { "nginx_write", "nginx_test", "ssh_check", "promote", "switch",
                                             "standby_stack", "verify" };
        static const bool restore[] = { true, true, true, true, false, false, false };
        struct config c = sample();
        struct plan *p;

        assert_int_equal(plan_build(&c, NULL, &p), 0);
        assert_int_equal(p->n_steps, 7);
        for (size_t i = 0; i < 7; i++) {
                assert_string_equal(p->steps[i].name, names[i]);
                assert_int_equal(p->steps[i].restore_nginx_on_failure, restore[i]);
        }
        assert_int_equal(p->steps[0].action, PLAN_NGINX_WRITE);
        assert_string_equal(p->nginx_backup, "/etc/nginx/sites-available/blacklake.blfailoverd.bak");
        plan_free(p);
}

/* sites-enabled/x -> ../sites-available/x: the backup goes beside the target, out of the directory nginx includes. */
static void plan__symlinked_site_file__backup_beside_target(void **unused) {
        char root[] = "/tmp/blf-test-plan-XXXXXX", avail[64], enabled[64], target[96], link[96], bak[128];
        struct config c = sample();
        struct plan *p;
        FILE *f;

        assert_non_null(mkdtemp(root));
        snprintf(avail, sizeof avail, "%s/avail", root);
        snprintf(enabled, sizeof enabled, "%s/enabled", root);
        snprintf(target, sizeof target, "%s/site", avail);
        snprintf(link, sizeof link, "%s/site", enabled);
        assert_int_equal(mkdir(avail, 0755), 0);
        assert_int_equal(mkdir(enabled, 0755), 0);
        assert_non_null(f = fopen(target, "w"));
        fclose(f);
        assert_int_equal(symlink("../avail/site", link), 0);
        c.nginx.config = link;
        assert_int_equal(plan_build(&c, NULL, &p), 0);
        snprintf(bak, sizeof bak, "%s.blfailoverd.bak", target);
        assert_string_equal(p->nginx_backup, bak);
        assert_string_equal(p->nginx_config, link);     /* the name stays what the operator configured */
        plan_free(p);
        unlink(link);
        unlink(target);
        rmdir(enabled);
        rmdir(avail);
        rmdir(root);
}

static void plan__fence_and_pg_promote__fence_before_promote(void **unused) {
        static const char *const names[] = { "nginx_write", "nginx_test", "fence", "promote", "switch",
                                             "standby_stack", "verify" };
        static char *fence_argv[] = { "ssh", "active_host", "docker", "compose", "down", NULL };
        static char *urls[] = { "http://lb/health", NULL };
        struct plan_options required = { .fence_required = true };
        struct config c = sample();
        struct plan *p;

        c.fence = (struct config_command) { .argv = fence_argv, .argc = 5, .timeout_usec = 30000000 };
        c.promote.method = CONFIG_PROMOTE_PG_PROMOTE;
        c.database = (struct config_database) { .present = true, .standby = "host=db user=x password=secret",
                                                .connect_timeout_usec = 3000000, .promote_timeout_usec = 60000000 };
        c.verify = (struct config_verify) { .urls = urls, .n_urls = 1, .timeout_usec = 5000000 };
        c.standby.url = "http://standby_api:8080/health";
        assert_int_equal(plan_build(&c, NULL, &p), 0);
        assert_int_equal(p->n_steps, 7);
        for (size_t i = 0; i < 7; i++)
                assert_string_equal(p->steps[i].name, names[i]);
        assert_true(p->steps[2].optional);              /* best effort unless the split-brain guard needs it */
        assert_true(p->steps[2].restore_nginx_on_failure);
        assert_int_equal(p->steps[3].action, PLAN_PG_PROMOTE);
        assert_null(p->steps[3].argv);
        assert_int_equal(p->steps[6].action, PLAN_VERIFY);
        /* the new active's own /health first, then the operator's URLs */
        assert_string_equal(p->verify_urls[0], "http://standby_api:8080/health");
        assert_string_equal(p->verify_urls[1], "http://lb/health");
        assert_null(p->verify_urls[2]);
        assert_int_equal(p->verify_timeout_usec, 5000000);
        plan_free(p);

        assert_int_equal(plan_build(&c, &required, &p), 0);
        assert_false(p->steps[2].optional);
        plan_free(p);
}

static void plan__promote__exact_ssh_argv(void **unused) {
        static const char *const expected[] = {
                "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-p", "2222", "-i",
                "/etc/blfailoverd/id_ed25519", "-o", "StrictHostKeyChecking=yes", "-o",
                "UserKnownHostsFile=/etc/blfailoverd/known_hosts", "postgres@standby_db",
                "touch -- '/tmp/postgresql.trigger'", NULL,
        };
        struct config c = sample();
        struct plan *p;

        assert_int_equal(plan_build(&c, NULL, &p), 0);
        assert_argv(p->steps[3].argv, expected);
        assert_string_equal(p->steps[2].argv[14], "true");
        assert_int_equal(p->steps[3].timeout_usec, 15000000);
        plan_free(p);
}

static void plan__hostile_trigger_path__one_quoted_word(void **unused) {
        struct config c = sample();
        struct plan *p;

        c.promote.trigger_file = "/tmp/it's a; touch /tmp/pwned";
        assert_int_equal(plan_build(&c, NULL, &p), 0);
        assert_string_equal(p->steps[3].argv[14], "touch -- '/tmp/it'\\''s a; touch /tmp/pwned'");
        plan_free(p);
}

static void plan__defaults__no_port_user_or_identity(void **unused) {
        static const char *const expected[] = { "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=1", "db", "true",
                                                NULL };
        struct config_ssh ssh = { .host = "db", .port = 22, .options = (char *[]) { NULL } };
        char **argv = plan_ssh_argv(&ssh, 250000, NULL, "true");

        assert_non_null(argv);
        assert_argv(argv, expected);
        for (size_t i = 0; argv[i]; i++)
                free(argv[i]);
        free(argv);
}

static void plan__commands__copied_not_borrowed(void **unused) {
        struct config c = sample();
        struct plan *p;

        assert_int_equal(plan_build(&c, NULL, &p), 0);
        assert_ptr_not_equal(p->steps[4].argv, reload_argv);
        assert_argv(p->steps[4].argv, (const char *const[]) { "nginx", "-s", "reload", NULL });
        assert_argv(p->steps[5].argv, (const char *const *) stack_argv);
        assert_int_equal(p->steps[5].timeout_usec, 120000000);
        plan_free(p);
}

static void plan__control_path__steps_ride_on_the_master(void **unused) {
        static const char *const expected[] = {
                "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-p", "2222", "-i",
                "/etc/blfailoverd/id_ed25519", "-o", "ControlMaster=no", "-o", "ControlPath=/run/blfailoverd/ssh/master",
                "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/etc/blfailoverd/known_hosts",
                "postgres@standby_db", "touch -- '/tmp/postgresql.trigger'", NULL,
        };
        struct plan_options opts = { .ssh_control_path = "/run/blfailoverd/ssh/master" };
        struct config c = sample();
        struct plan *p;

        assert_int_equal(plan_build(&c, &opts, &p), 0);
        assert_string_equal(p->steps[2].name, "ssh_check");
        assert_string_equal(p->steps[2].argv[12], "ControlPath=/run/blfailoverd/ssh/master");
        assert_string_equal(p->steps[2].argv[10], "ControlMaster=no");
        assert_argv(p->steps[3].argv, expected);
        plan_free(p);
}

static void plan__master_argv__foreground_master_no_command(void **unused) {
        static const char *const expected[] = {
                "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-p", "2222", "-i",
                "/etc/blfailoverd/id_ed25519", "-M", "-N", "-o", "ControlPath=/s/ssh/master", "-o", "ControlPersist=no",
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3", "-o", "StrictHostKeyChecking=yes", "-o",
                "UserKnownHostsFile=/etc/blfailoverd/known_hosts", "postgres@standby_db", NULL,
        };
        struct config c = sample();
        char **argv = plan_ssh_master_argv(&c.promote.ssh, c.promote.timeout_usec, "/s/ssh/master");

        assert_non_null(argv);
        assert_argv(argv, expected);
        for (size_t i = 0; argv[i]; i++)
                free(argv[i]);
        free(argv);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(plan__order__prepare_promote_switch_stack),
                cmocka_unit_test(plan__symlinked_site_file__backup_beside_target),
                cmocka_unit_test(plan__promote__exact_ssh_argv),
                cmocka_unit_test(plan__control_path__steps_ride_on_the_master),
                cmocka_unit_test(plan__master_argv__foreground_master_no_command),
                cmocka_unit_test(plan__fence_and_pg_promote__fence_before_promote),
                cmocka_unit_test(plan__hostile_trigger_path__one_quoted_word),
                cmocka_unit_test(plan__defaults__no_port_user_or_identity),
                cmocka_unit_test(plan__commands__copied_not_borrowed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
