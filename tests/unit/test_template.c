/* Unit tests for template: checking site command templates and expanding them into the argv a step runs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util.h"

static char *no_options[] = { NULL };

static struct template_vars vars(void) {
        static struct config_ssh ssh = { .host = "db-a", .user = "postgres", .port = 22, .options = no_options };

        return (struct template_vars) {
                .ssh = &ssh, .ssh_timeout_usec = 15 * USEC_PER_SEC, .pgdata = "/var/lib/postgresql/15/main",
                .bindir = "/usr/lib/postgresql/15/bin", .site = "a", .role = "standby", .epoch = 4,
                .source = "host=10.0.0.12 user=replicator application_name=a", .tli = 3, .from = "0/5A000150",
        };
}

static void assert_argv(char **got, const char *const *expected) {
        size_t i;

        assert_non_null(got);
        for (i = 0; expected[i]; i++) {
                assert_non_null(got[i]);
                assert_string_equal(got[i], expected[i]);
        }
        assert_null(got[i]);
}

static void assert_check_fails(char *const *words, size_t word, const char *message_part) {
        char err[256] = "";
        size_t at = 99;

        assert_int_equal(template_check(words, NULL, &at, err, sizeof err), -EINVAL);
        assert_int_equal(at, word);
        assert_non_null(strstr(err, message_part));
}

static void template__check__needs_of_the_default_rewind(void **unused) {
        char *words[] = { "{ssh}", "{bindir}/pg_rewind", "-D", "{pgdata}", "--source-server={source}", "-R",
                          "{dry_run}", NULL };
        struct template_needs n;
        char err[256];

        assert_int_equal(template_check(words, &n, NULL, err, sizeof err), 0);
        assert_true(n.ssh);
        assert_true(n.pgdata);
        assert_true(n.source);
        assert_false(n.tli);
        assert_false(n.from);
        assert_false(n.epoch);
}

static void template__check__unknown_placeholder_names_word(void **unused) {
        char *words[] = { "pg_ctl", "-D", "{pgdta}", NULL };

        assert_check_fails(words, 2, "unknown placeholder {pgdta}: known are {pgdata}");
}

static void template__check__ssh_not_first(void **unused) {
        char *words[] = { "env", "{ssh}", "pg_ctl", NULL };

        assert_check_fails(words, 1, "{ssh} as word 2: it must be the first word");
}

static void template__check__ssh_alone(void **unused) {
        char *words[] = { "{ssh}", NULL };

        assert_check_fails(words, 0, "no command after it");
}

static void template__check__whole_word_inside_a_word(void **unused) {
        char *words[] = { "pg_rewind", "x{dry_run}", NULL };

        assert_check_fails(words, 1, "{dry_run} inside a word");
}

static void template__check__unbalanced_braces(void **unused) {
        char *open[] = { "a", "{pgdata", NULL };
        char *close[] = { "a}", NULL };
        char *empty[] = { "a{}", NULL };

        assert_check_fails(open, 1, "'{' without its '}'");
        assert_check_fails(close, 0, "'}' without its '{'");
        assert_check_fails(empty, 0, "starts no placeholder");
}

static void template__expand__local_inline_and_literal_braces(void **unused) {
        char *words[] = { "docker", "compose", "-f", "/srv/{site}/compose.{role}.yml", "--format", "{{json .}}",
                          "{pgdata}.blfailoverd-{epoch}", NULL };
        static const char *const expected[] = { "docker", "compose", "-f", "/srv/a/compose.standby.yml", "--format",
                                                "{json .}", "/var/lib/postgresql/15/main.blfailoverd-4", NULL };
        struct template_vars v = vars();
        char **argv = NULL, err[256];

        assert_int_equal(template_expand(words, &v, &argv, err, sizeof err), 0);
        assert_argv(argv, expected);
        strv_free(argv);
}

static void template__expand__ssh_quotes_remote_words(void **unused) {
        char *words[] = { "{ssh}", "{bindir}/pg_rewind", "-D", "{pgdata}", "--source-server={source}", "-R",
                          "{dry_run}", NULL };
        static const char *const expected[] = {
                "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "postgres@db-a",
                "'/usr/lib/postgresql/15/bin/pg_rewind' '-D' '/var/lib/postgresql/15/main' "
                "'--source-server=host=10.0.0.12 user=replicator application_name=a' '-R' '--dry-run'", NULL };
        struct template_vars v = vars();
        char **argv = NULL, err[256];

        v.dry_run = true;
        assert_int_equal(template_expand(words, &v, &argv, err, sizeof err), 0);
        assert_argv(argv, expected);
        strv_free(argv);
}

static void template__expand__dry_run_vanishes(void **unused) {
        char *words[] = { "pg_rewind", "{dry_run}", "-R", NULL };
        static const char *const expected[] = { "pg_rewind", "-R", NULL };
        struct template_vars v = vars();
        char **argv = NULL, err[256];

        assert_int_equal(template_expand(words, &v, &argv, err, sizeof err), 0);
        assert_argv(argv, expected);
        strv_free(argv);
}

static void template__expand__until_forms(void **unused) {
        char *words[] = { "pg_waldump", "-t", "{tli}", "-s", "{from}", "{until}", NULL };
        static const char *const one[] = { "pg_waldump", "-t", "3", "-s", "0/5A000150", "-n", "1", NULL };
        static const char *const range[] = { "pg_waldump", "-t", "3", "-s", "0/5A000150", "-e", "0/5A0412C8",
                                             "--stats=record", NULL };
        struct template_vars v = vars();
        char **argv = NULL, err[256];

        assert_int_equal(template_expand(words, &v, &argv, err, sizeof err), 0);
        assert_argv(argv, one);
        strv_free(argv);
        v.until = "0/5A0412C8";
        assert_int_equal(template_expand(words, &v, &argv, err, sizeof err), 0);
        assert_argv(argv, range);
        strv_free(argv);
}

static void template__expand__missing_values_refused(void **unused) {
        char *pgdata[] = { "pg_ctl", "-D", "{pgdata}", NULL };
        char *ssh[] = { "{ssh}", "true", NULL };
        struct template_vars v = vars();
        char **argv = NULL, err[256];

        v.pgdata = NULL;
        assert_int_equal(template_expand(pgdata, &v, &argv, err, sizeof err), -EINVAL);
        assert_null(argv);
        assert_string_equal(err, "{pgdata} has no value for this command");
        v.ssh = NULL;
        assert_int_equal(template_expand(ssh, &v, &argv, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "no database.ssh.host"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(template__check__needs_of_the_default_rewind),
                cmocka_unit_test(template__check__unknown_placeholder_names_word),
                cmocka_unit_test(template__check__ssh_not_first),
                cmocka_unit_test(template__check__ssh_alone),
                cmocka_unit_test(template__check__whole_word_inside_a_word),
                cmocka_unit_test(template__check__unbalanced_braces),
                cmocka_unit_test(template__expand__local_inline_and_literal_braces),
                cmocka_unit_test(template__expand__ssh_quotes_remote_words),
                cmocka_unit_test(template__expand__dry_run_vanishes),
                cmocka_unit_test(template__expand__until_forms),
                cmocka_unit_test(template__expand__missing_values_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
