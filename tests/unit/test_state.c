/* Unit tests for state: the record's text format, torn and corrupt files, atomic save/load/clear. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

static struct state sample(void) {
        struct state s = { .outcome = STATE_FAILED, .started_usec = 1764100000123456, .finished_usec = 1764100003000000 };

        strcpy(s.trigger, "automatic");
        strcpy(s.failed_step, "promote");
        strcpy(s.steps[0].name, "nginx_write");
        s.steps[0].status = STATE_STEP_OK;
        s.steps[0].exit_status = -1;
        strcpy(s.steps[0].detail, "wrote /etc/nginx/x (previous version in /etc/nginx/x.blfailoverd.bak)");
        strcpy(s.steps[1].name, "promote");
        s.steps[1].status = STATE_STEP_FAILED;
        s.steps[1].exit_status = 255;
        s.steps[1].duration_usec = 2500000;
        strcpy(s.steps[1].detail, "ssh said:\n\tpermission \\denied\x01");
        strcpy(s.steps[2].name, "switch");
        s.steps[2].status = STATE_STEP_PENDING;
        s.steps[2].exit_status = -1;
        s.n_steps = 3;
        return s;
}

static void state__serialize_then_parse__round_trips(void **unused) {
        struct state s = sample(), back;
        char *text;
        size_t size;
        unsigned line;

        assert_int_equal(state_serialize(&s, &text, &size), 0);
        assert_int_equal(state_parse(text, size, &back, &line), 0);
        assert_int_equal(back.outcome, STATE_FAILED);
        assert_string_equal(back.trigger, "automatic");
        assert_string_equal(back.failed_step, "promote");
        assert_int_equal(back.started_usec, s.started_usec);
        assert_int_equal(back.n_steps, 3);
        assert_int_equal(back.steps[1].exit_status, 255);
        assert_int_equal(back.steps[1].duration_usec, 2500000);
        assert_string_equal(back.steps[1].detail, s.steps[1].detail);
        assert_int_equal(back.steps[2].status, STATE_STEP_PENDING);
        /* every record is one line: the newline in the detail was escaped */
        assert_null(strstr(text, "said:\n"));
        free(text);
}

static void state__every_truncation__is_rejected_never_empty(void **unused) {
        struct state s = sample(), back;
        char *text;
        size_t size;
        unsigned line;

        assert_int_equal(state_serialize(&s, &text, &size), 0);
        for (size_t cut = 0; cut < size; cut++)
                assert_int_equal(state_parse(text, cut, &back, &line), -EBADMSG);
        free(text);
}

static void state__corrupt_lines__rejected_with_line(void **unused) {
        static const struct {
                const char *text;
                unsigned line;
        } cases[] = {
                { "garbage\n", 1 },
                { "blfailoverd-state 2\noutcome failed\nend\n", 1 },
                { "blfailoverd-state 1\noutcome maybe\nend\n", 2 },
                { "blfailoverd-state 1\noutcome failed\nstarted -5\nend\n", 3 },
                { "blfailoverd-state 1\noutcome failed\nwhat 1\nend\n", 3 },
                { "blfailoverd-state 1\noutcome failed\nstep x ok 1 2\nend\n", 3 },
                { "blfailoverd-state 1\noutcome failed\nstep x ok 1 2 0 bad\\q\nend\n", 3 },
                { "blfailoverd-state 1\noutcome failed\nend\noutcome succeeded\n", 4 },
                { "blfailoverd-state 1\nend\n", 2 },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct state back;
                unsigned line = 0;
                assert_int_equal(state_parse(cases[i].text, strlen(cases[i].text), &back, &line), -EBADMSG);
                assert_int_equal(line, cases[i].line);
        }
}

static void state__nul_byte__rejected(void **unused) {
        static const char text[] = "blfailoverd-state 1\noutcome failed\n\0nd\n";
        struct state back;
        unsigned line;

        assert_int_equal(state_parse(text, sizeof text - 1, &back, &line), -EBADMSG);
}

static void state__save_load_clear__in_a_fresh_dir(void **unused) {
        char dir[] = "/tmp/blf-test-state-XXXXXX", sub[64], path[96];
        struct state s = sample(), back;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        snprintf(sub, sizeof sub, "%s/deeper", dir);
        assert_int_equal(state_load(sub, &back), -ENOENT);
        assert_int_equal(state_save(sub, &s), 0);
        assert_int_equal(stat(sub, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        snprintf(path, sizeof path, "%s/%s", sub, STATE_FILE_NAME);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(state_load(sub, &back), 0);
        assert_int_equal(back.n_steps, 3);
        assert_int_equal(state_clear(sub), 0);
        assert_int_equal(state_clear(sub), -ENOENT);
        assert_int_equal(rmdir(sub), 0);
        assert_int_equal(rmdir(dir), 0);
}

/* Found by fuzz_state: a step named "-" parses to an empty name, which was written back as an empty word and
 * shifted every field after it, so the daemon could not read its own record. */
static void state__empty_step_name__round_trips(void **unused) {
        static const char text[] = "blfailoverd-state 1\noutcome failed\nstep - ok 2 2 0 x\nend\n";
        struct state s, back;
        char *out;
        size_t size;
        unsigned line;

        assert_int_equal(state_parse(text, sizeof text - 1, &s, &line), 0);
        assert_string_equal(s.steps[0].name, "");
        assert_int_equal(state_serialize(&s, &out, &size), 0);
        assert_int_equal(state_parse(out, size, &back, &line), 0);
        assert_string_equal(back.steps[0].name, "");
        assert_int_equal(back.steps[0].status, STATE_STEP_OK);
        assert_string_equal(back.steps[0].detail, "x");
        free(out);
}

/* Found by fuzz_state: the blank after the exit status is a separator, one byte; a detail's own leading blanks
 * were eaten with it, so a saved record read back differently. */
static void state__detail_with_leading_blanks__round_trips(void **unused) {
        struct state s = sample(), back;
        char *out;
        size_t size;
        unsigned line;

        strcpy(s.steps[0].detail, "  indented output");
        assert_int_equal(state_serialize(&s, &out, &size), 0);
        assert_int_equal(state_parse(out, size, &back, &line), 0);
        assert_string_equal(back.steps[0].detail, "  indented output");
        free(out);
}

/* A record someone left readable (an old install, a hand copy) is ours alone again after the next save. */
static void state__save_over_0644_record__becomes_0600(void **unused) {
        char dir[] = "/tmp/blf-test-state-XXXXXX", path[96];
        struct state s = sample();
        struct stat st;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/%s", dir, STATE_FILE_NAME);
        f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(state_save(dir, &s), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(state_clear(dir), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void state__torn_file_on_disk__is_ebadmsg(void **unused) {
        char dir[] = "/tmp/blf-test-state-XXXXXX", path[96];
        struct state back;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/%s", dir, STATE_FILE_NAME);
        f = fopen(path, "w");
        fputs("blfailoverd-state 1\noutcome running\nstep nginx_write ok 1 2 -1 wrote", f);
        fclose(f);
        assert_int_equal(state_load(dir, &back), -EBADMSG);
        unlink(path);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(state__serialize_then_parse__round_trips),
                cmocka_unit_test(state__every_truncation__is_rejected_never_empty),
                cmocka_unit_test(state__corrupt_lines__rejected_with_line),
                cmocka_unit_test(state__nul_byte__rejected),
                cmocka_unit_test(state__save_load_clear__in_a_fresh_dir),
                cmocka_unit_test(state__torn_file_on_disk__is_ebadmsg),
                cmocka_unit_test(state__save_over_0644_record__becomes_0600),
                cmocka_unit_test(state__empty_step_name__round_trips),
                cmocka_unit_test(state__detail_with_leading_blanks__round_trips),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
