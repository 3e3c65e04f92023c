/* test_rejoin: the rejoin's words (the refusal, the discarded range, sizes), who it refuses before anything runs,
 * and its plan's exact argv (--rejoin --dry-run). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "exitcode.h"
#include "rejoin.h"
#include "state.h"

static void rejoin_conninfo_host__forms__the_host_or_local_socket(void **state) {
        char buf[64];

        (void) state;
        assert_string_equal(rejoin_conninfo_host("host=10.0.0.11 dbname=postgres user=x", buf, sizeof buf),
                            "10.0.0.11");
        assert_string_equal(rejoin_conninfo_host("dbname=postgres hostaddr=127.0.0.1 port=5432", buf, sizeof buf),
                            "127.0.0.1");
        assert_string_equal(rejoin_conninfo_host("host = 'db a' hostaddr=10.0.0.1", buf, sizeof buf), "db a");
        assert_string_equal(rejoin_conninfo_host("application_name=ahost host=db-a", buf, sizeof buf), "db-a");
        assert_string_equal(rejoin_conninfo_host("postgresql://u:secret@db-a:5432/postgres", buf, sizeof buf),
                            "db-a");
        assert_string_equal(rejoin_conninfo_host("postgres://db-b/postgres?sslmode=off", buf, sizeof buf), "db-b");
        assert_string_equal(rejoin_conninfo_host("dbname=postgres", buf, sizeof buf), "local socket");
        assert_string_equal(rejoin_conninfo_host("host=/run/postgresql dbname=x", buf, sizeof buf), "local socket");
}

static void rejoin_refusal_writable__names_site_host_and_command(void **state) {
        char buf[512];

        (void) state;
        rejoin_refusal_writable("a", 0, "host=10.0.0.11 dbname=postgres password=secret", buf, sizeof buf);
        assert_string_equal(buf, "rejoin refused: a answers as a writable primary (10.0.0.11): fence it first "
                            "(sites[0].database.commands.stop, or your fence), then run --rejoin again; nothing was "
                            "changed");
        assert_null(strstr(buf, "secret"));
}

static void rejoin_discarded_describe__design_example__exact_line(void **state) {
        struct rejoin_discarded d = { .site = "a", .timeline = 3, .fork_lsn = 0x5A000150, .end_lsn = 0x5A0412C8,
                                      .end_exact = true, .commits_known = true, .commits = 37 };
        char buf[512];

        (void) state;
        assert_string_equal(rejoin_discarded_describe(&d, buf, sizeof buf),
                            "rejoin: a's timeline 3 forked at 0/5A000150; discarded 0/5A000150–0/5A0412C8 (266 kB of "
                            "WAL, 37 committed transactions) — the failover lost them");
        d.commits = 1;
        d.fork_lsn = 0x1FFFFFF00;
        d.end_lsn = 0x200000100;
        assert_string_equal(rejoin_discarded_describe(&d, buf, sizeof buf),
                            "rejoin: a's timeline 3 forked at 1/FFFFFF00; discarded 1/FFFFFF00–2/100 (512 bytes of "
                            "WAL, 1 committed transaction) — the failover lost them");
}

static void rejoin_discarded_describe__end_not_read__lower_bound_no_count(void **state) {
        struct rejoin_discarded d = { .site = "b", .timeline = 4, .fork_lsn = 0x3000000, .end_lsn = 0x3100000 };
        char buf[512];

        (void) state;
        assert_string_equal(rejoin_discarded_describe(&d, buf, sizeof buf),
                            "rejoin: b's timeline 4 forked at 0/3000000; discarded 0/3000000–at least 0/3100000 (at "
                            "least 1.0 MB of WAL, committed transactions not counted) — the failover lost them");
        d.end_lsn = 0x2000000;          /* an end before the fork is never a negative size */
        assert_non_null(strstr(rejoin_discarded_describe(&d, buf, sizeof buf), "(at least 0 bytes of WAL"));
}

static void rejoin_format_size__boundaries__truncated_decimal_units(void **state) {
        char buf[32];

        (void) state;
        assert_string_equal(rejoin_format_size(0, buf, sizeof buf), "0 bytes");
        assert_string_equal(rejoin_format_size(999, buf, sizeof buf), "999 bytes");
        assert_string_equal(rejoin_format_size(1000, buf, sizeof buf), "1 kB");
        assert_string_equal(rejoin_format_size(266616, buf, sizeof buf), "266 kB");
        assert_string_equal(rejoin_format_size(999999, buf, sizeof buf), "999 kB");
        assert_string_equal(rejoin_format_size(1000000, buf, sizeof buf), "1.0 MB");
        assert_string_equal(rejoin_format_size(1288490188, buf, sizeof buf), "1.2 GB");
        assert_string_equal(rejoin_format_size(UINT64_MAX, buf, sizeof buf), "18446744.0 TB");
}

/* ---- the plan and the refusals before anything runs --------------------------------------------------------- */

#define Q "'\\''"
#define NGINX "upstream blacklake_backend {\n    server api-a:8080 down;\n    server api-b:8080;\n}\n"

struct fixture {
        char dir[64];
        struct config *config;
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof *f);
        char path[128], *yaml = NULL;
        FILE *out;

        assert_non_null(f);
        snprintf(f->dir, sizeof f->dir, "/tmp/test_rejoin.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(path, sizeof path, "%s/site", f->dir);
        out = fopen(path, "we");
        assert_non_null(out);
        fputs(NGINX, out);
        fclose(out);
        assert_true(asprintf(&yaml,
                "state_dir: %s\n"
                "sites:\n"
                "  - name: a\n"
                "    health_url: http://api-a:8080/health\n"
                "    nginx_server: api-a:8080\n"
                "    database:\n"
                "      conninfo: \"host=10.0.0.11 dbname=postgres user=blfailoverd\"\n"
                "      replication_conninfo: \"host=10.0.0.11 user=replicator\"\n"
                "      ssh: {host: db-a, user: postgres}\n"
                "      pgdata: /var/lib/postgresql/15/main\n"
                "    stack: {start: {command: [start-a, \"{role}\"]}}\n"
                "  - name: b\n"
                "    health_url: http://api-b:8080/health\n"
                "    nginx_server: api-b:8080\n"
                "    database:\n"
                "      conninfo: \"host=10.0.0.12 dbname=postgres user=blfailoverd\"\n"
                "      replication_conninfo: \"host=10.0.0.12 user=replicator\"\n"
                "      ssh: {host: db-b, user: postgres}\n"
                "      pgdata: /var/lib/postgresql/15/main\n"
                "    stack: {start: {command: [start-b, \"{role}\"]}}\n"
                "serves_first: a\n"
                "failover:\n"
                "  nginx: {config: %s, upstream: blacklake_backend}\n", f->dir, path) > 0);
        struct config_errors errs;
        config_errors_init(&errs, "test.yml");
        if (config_load_buffer("test.yml", yaml, strlen(yaml), &f->config, &errs) < 0)
                config_errors_print(&errs, stderr);
        assert_int_equal(errs.n, 0);
        config_errors_done(&errs);
        free(yaml);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char path[128];

        config_free(f->config);
        snprintf(path, sizeof path, "%s/site", f->dir);
        unlink(path);
        rmdir(f->dir);
        free(f);
        return 0;
}

static int dry_run(const struct config *c, const struct state *record, bool reclone, char **ret_text) {
        size_t len = 0;
        FILE *out = open_memstream(ret_text, &len);
        int r;

        assert_non_null(out);
        r = rejoin_dry_run(c, record, reclone, out);
        fclose(out);
        return r;
}

static void rejoin_dry_run__after_failover__exact_argv_on_the_old_primary(void **state) {
        struct fixture *f = *state;
        struct state record = { .version = 2, .epoch = 1, .serving = "b", .standby = "a",
                                .latch = STATE_LATCH_FAILOVER, .op = STATE_OP_FAILOVER,
                                .outcome = STATE_SUCCEEDED };
        char *text = NULL;

        assert_int_equal(dry_run(f->config, &record, false, &text), 0);
        assert_non_null(strstr(text, "the rejoin of a as b's standby"));
        assert_non_null(strstr(text, "a re-clone is not allowed"));
        /* pg_rewind runs on a (over a's ssh) with b as its source, once as a dry run */
        assert_non_null(strstr(text, "rewind_dry"));
        assert_non_null(strstr(text, "db-a"));
        /* The remote command line is one word of ssh's argv, so the dry run shows it quoted once more: Q is what
         * one quote inside it looks like. */
        assert_non_null(strstr(text, "postgres@db-a '" Q "env" Q " " Q "LC_ALL=C" Q " " Q "/usr/lib/postgresql/15/bin/pg_rewind" Q " " Q "-D" Q " " Q
                               "/var/lib/postgresql/15/main" Q " " Q "--source-server=host=10.0.0.12 user=replicator "
                               "application_name=a" Q " " Q "-R" Q " " Q "--dry-run" Q "'"));
        assert_non_null(strstr(text, "application_name=a" Q " " Q "-R" Q "'   (timeout"));
        /* the report's two pg_waldump runs: the last record at L, then the stats from F to E */
        assert_non_null(strstr(text, Q "-s" Q " " Q "L" Q " " Q "-n" Q " " Q "1" Q "'"));
        assert_non_null(strstr(text, Q "-s" Q " " Q "F" Q " " Q "-e" Q " " Q "E" Q " " Q "--stats=record" Q "'"));
        assert_null(strstr(text, "db-b"));
        /* nginx: a leaves `down` for `backup` */
        assert_non_null(strstr(text, "+    server api-a:8080 backup;"));
        free(text);
}

static void rejoin_dry_run__armed_pair__refused(void **state) {
        struct fixture *f = *state;
        struct state armed = { .version = 2, .epoch = 2, .serving = "b", .standby = "a", .op = STATE_OP_REJOIN,
                               .outcome = STATE_SUCCEEDED };
        struct state none = {};
        struct state failed_switchover = { .version = 2, .epoch = 2, .serving = "b", .standby = "a",
                                           .latch = STATE_LATCH_SWITCHOVER, .op = STATE_OP_SWITCHOVER,
                                           .outcome = STATE_FAILED };
        struct state interrupted_failover = { .version = 2, .serving = "a", .standby = "b",
                                              .latch = STATE_LATCH_FAILOVER, .op = STATE_OP_FAILOVER,
                                              .outcome = STATE_RUNNING };
        char *text = NULL;

        assert_int_equal(dry_run(f->config, &armed, false, &text), EXIT_REFUSED);
        free(text);
        assert_int_equal(dry_run(f->config, &none, false, &text), EXIT_REFUSED);
        free(text);
        assert_int_equal(dry_run(f->config, &interrupted_failover, false, &text), EXIT_REFUSED);
        free(text);
        assert_int_equal(dry_run(f->config, &failed_switchover, true, &text), 0);
        assert_non_null(strstr(text, "the rejoin of a as b's standby"));
        assert_non_null(strstr(text, "a re-clone is allowed"));
        assert_non_null(strstr(text, "pg_basebackup" Q " " Q "-D" Q " " Q "/var/lib/postgresql/15/main" Q " " Q
                               "--dbname=host=10.0.0.12 user=replicator application_name=a" Q " " Q "-R"));
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(rejoin_conninfo_host__forms__the_host_or_local_socket),
                cmocka_unit_test(rejoin_refusal_writable__names_site_host_and_command),
                cmocka_unit_test(rejoin_discarded_describe__design_example__exact_line),
                cmocka_unit_test(rejoin_discarded_describe__end_not_read__lower_bound_no_count),
                cmocka_unit_test(rejoin_format_size__boundaries__truncated_decimal_units),
                cmocka_unit_test_setup_teardown(rejoin_dry_run__after_failover__exact_argv_on_the_old_primary, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(rejoin_dry_run__armed_pair__refused, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
