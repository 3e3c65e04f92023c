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
        struct state s = { .outcome = STATE_FAILED, .started_usec = 1764100000123456, .finished_usec = 1764100003000000,
                           .op = STATE_OP_FAILOVER, .latch = STATE_LATCH_FAILOVER, .epoch = 7 };

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
        /* free text where the runbook form allows it: blanks, a backslash, a newline */
        strcpy(s.serving, "site B\\x\n");
        strcpy(s.standby, " a ");
        strcpy(s.from, "a");
        strcpy(s.to, "b");
        assert_int_equal(state_fact_set(&s, "old_checkpoint_lsn", "%s", "0/5A0000D8"), 0);
        assert_int_equal(state_fact_set(&s, "note", "two words\n and a newline"), 0);
        assert_int_equal(state_fact_set(&s, "empty", "%s", ""), 0);
        return s;
}

static void state__serialize_then_parse__round_trips(void **unused) {
        struct state s = sample(), back;
        char *text;
        size_t size;
        unsigned line;

        assert_int_equal(state_serialize(&s, &text, &size), 0);
        assert_int_equal(state_parse(text, size, &back, &line), 0);
        assert_int_equal(back.version, 2);
        assert_int_equal(back.epoch, 7);
        assert_string_equal(back.serving, s.serving);
        assert_string_equal(back.standby, " a ");
        assert_int_equal(back.latch, STATE_LATCH_FAILOVER);
        assert_int_equal(back.op, STATE_OP_FAILOVER);
        assert_string_equal(back.from, "a");
        assert_string_equal(back.to, "b");
        assert_int_equal(back.finished_usec, s.finished_usec);
        assert_int_equal(back.n_facts, 3);
        assert_string_equal(state_fact_get(&back, "old_checkpoint_lsn"), "0/5A0000D8");
        assert_string_equal(state_fact_get(&back, "note"), "two words\n and a newline");
        assert_string_equal(state_fact_get(&back, "empty"), "");
        assert_null(state_fact_get(&back, "missing"));
        assert_int_equal(back.steps[0].status, STATE_STEP_OK);
        assert_int_equal(back.steps[0].exit_status, -1);
        assert_string_equal(back.steps[0].name, "nginx_write");
        assert_string_equal(back.steps[0].detail, s.steps[0].detail);
        assert_int_equal(back.steps[1].started_usec, s.steps[1].started_usec);
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
                { "blfailoverd-state 3\noutcome failed\nend\n", 1 },
                { "blfailoverd-state 2\noutcome failed\nend\n", 2 },
                { "blfailoverd-state 1\noutcome put_back\nend\n", 3 },
                { "blfailoverd-state 1\noutcome failed\nfact k v\nend\n", 3 },
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

/* A valid format-2 header, 13 lines; + "end\n" it is a whole record. */
#define V2_HEAD "blfailoverd-state 2\nepoch 1\nserving b\nstandby a\nlatch failover\nop failover\n" \
        "op_outcome succeeded\nop_trigger automatic\nop_from a\nop_to b\nop_started 1\nop_finished 2\n" \
        "op_failed_step -\n"

/* text with its line n (1-based) replaced by `with`, or removed when with is NULL. Caller frees. */
static char *replace_line(const char *text, unsigned n, const char *with) {
        char *out = malloc(strlen(text) + (with ? strlen(with) : 0) + 2), *o = out;
        unsigned line = 1;

        for (const char *p = text; *p; line++) {
                const char *eol = strchr(p, '\n');
                size_t len = (size_t) (eol - p) + 1;
                if (line != n) {
                        memcpy(o, p, len);
                        o += len;
                } else if (with)
                        o += sprintf(o, "%s\n", with);
                p += len;
        }
        *o = 0;
        return out;
}

static void expect_bad(const char *text, unsigned want_line) {
        struct state back;
        unsigned line = 0;

        assert_int_equal(state_parse(text, strlen(text), &back, &line), -EBADMSG);
        if (line != want_line)
                fail_msg("%s: rejected at line %u, expected %u", text, line, want_line);
}

static void state__v2_corrupt_or_missing_lines__rejected_with_line(void **unused) {
        static const char base[] = V2_HEAD "end\n";
        static const struct {
                unsigned line;
                const char *with;
                unsigned bad_line;
        } cases[] = {
                { 1, "blfailoverd-state 22", 1 }, { 2, "epoch -1", 2 }, { 2, "epoch 1x", 2 }, { 2, "epoch", 2 },
                { 3, "serving bad\\q", 3 }, { 3, "serving 0123456789012345678901234567890123", 3 },
                { 5, "latch maybe", 5 }, { 5, "latch", 5 }, { 6, "op fly", 6 }, { 7, "op_outcome maybe", 7 },
                { 8, "op_trigger two words", 8 }, { 11, "op_started", 11 }, { 12, "op_finished x", 12 },
                { 3, "epoch 2", 3 },                                    /* a key twice */
                { 13, "outcome failed", 13 },                           /* a format-1 key */
                { 6, "op none", 14 }, { 7, "op_outcome none", 14 },     /* an outcome without an op, and back */
                { 14, "fact k\nend", 14 }, { 14, "fact - x\nend", 14 }, { 14, "fact k bad\\q\nend", 14 },
                { 14, "fact k 1\nfact k 2\nend", 15 }, { 14, "fact  x\nend", 14 },
        };
        struct state back;
        unsigned line;

        assert_int_equal(state_parse(base, sizeof base - 1, &back, &line), 0);
        assert_int_equal(back.epoch, 1);
        assert_string_equal(back.serving, "b");
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char *text = replace_line(base, cases[i].line, cases[i].with);
                expect_bad(text, cases[i].bad_line);
                free(text);
        }
        /* every key is required: a record missing one is not "that key at its default" */
        for (unsigned n = 2; n <= 13; n++) {
                char *text = replace_line(base, n, NULL);
                expect_bad(text, 13);
                free(text);
        }
}

static void state__facts_full_or_too_long__refused(void **unused) {
        struct state s = {};
        char key[40], big[200];

        for (unsigned i = 0; i < STATE_FACTS_MAX; i++) {
                snprintf(key, sizeof key, "k%u", i);
                assert_int_equal(state_fact_set(&s, key, "%u", i), 0);
        }
        assert_int_equal(state_fact_set(&s, "one_more", "x"), -E2BIG);
        assert_int_equal(state_fact_set(&s, "k3", "replaced"), 0);     /* full, but a known key is replaced */
        assert_string_equal(state_fact_get(&s, "k3"), "replaced");
        assert_int_equal(s.n_facts, STATE_FACTS_MAX);

        s = (struct state) {};
        memset(big, 'v', sizeof big);
        big[sizeof s.facts[0].value - 1] = 0;                           /* 159 bytes: fits */
        assert_int_equal(state_fact_set(&s, "v", "%s", big), 0);
        big[sizeof s.facts[0].value - 1] = 'v';
        big[sizeof s.facts[0].value] = 0;                               /* 160 bytes: does not */
        assert_int_equal(state_fact_set(&s, "w", "%s", big), -E2BIG);
        assert_null(state_fact_get(&s, "w"));
        memset(key, 'k', sizeof key);
        key[31] = 0;
        assert_int_equal(state_fact_set(&s, key, "x"), 0);
        key[31] = 'k';
        key[32] = 0;
        assert_int_equal(state_fact_set(&s, key, "x"), -E2BIG);
        assert_int_equal(state_fact_set(&s, "two words", "x"), -EINVAL);
        assert_int_equal(state_fact_set(&s, "", "x"), -EINVAL);
}

static void state__facts_in_file_beyond_limits__ebadmsg(void **unused) {
        char text[8192], *o = text;

        o += sprintf(o, V2_HEAD);
        for (unsigned i = 0; i < STATE_FACTS_MAX + 1; i++)
                o += sprintf(o, "fact k%u %u\n", i, i);
        sprintf(o, "end\n");
        expect_bad(text, 14 + STATE_FACTS_MAX);

        o = text + sprintf(text, V2_HEAD "fact long ");
        memset(o, 'v', 160);
        sprintf(o + 160, "\nend\n");
        expect_bad(text, 14);
}

static void state__32_steps__round_trip_and_33_rejected(void **unused) {
        struct state s = sample(), back;
        char *out, *text;
        size_t size;
        unsigned line;

        for (size_t i = 0; i < STATE_STEPS_MAX; i++) {
                snprintf(s.steps[i].name, sizeof s.steps[i].name, "step%zu", i);
                s.steps[i].status = STATE_STEP_OK;
                snprintf(s.steps[i].detail, sizeof s.steps[i].detail, "detail %zu", i);
        }
        s.n_steps = STATE_STEPS_MAX;
        assert_int_equal(STATE_STEPS_MAX, 32);
        assert_int_equal(state_serialize(&s, &out, &size), 0);
        assert_int_equal(state_parse(out, size, &back, &line), 0);
        assert_int_equal(back.n_steps, 32);
        assert_string_equal(back.steps[31].name, "step31");
        assert_string_equal(back.steps[31].detail, "detail 31");
        /* one more step line before "end" */
        text = malloc(size + 64);
        memcpy(text, out, size - 4);
        strcpy(text + size - 4, "step x ok 1 1 0 y\nend\n");
        line = 0;
        for (size_t i = 0; i < size; i++)
                line += out[i] == '\n';
        expect_bad(text, line);                 /* where "end" was */
        free(text);
        free(out);
}

/* A format-1 record (today's binary wrote it): a failover, latched; promote ok → the standby serves, epoch 1. */
static void state__v1_record__maps_to_a_latched_failover(void **unused) {
        static const char promoted[] = "blfailoverd-state 1\noutcome succeeded\ntrigger automatic\nstarted 5\n"
                "finished 9\nfailed_step -\nstep nginx_write ok 5 1 -1 wrote\nstep promote ok 6 1 0 ssh\nend\n";
        static const char unpromoted[] = "blfailoverd-state 1\noutcome failed\ntrigger manual\nstarted 5\n"
                "finished 9\nfailed_step fence\nstep fence failed 5 1 1 no\nstep promote pending 0 0 -1 \nend\n";
        struct state s, back;
        struct state_roles roles;
        char *out;
        size_t size;
        unsigned line;

        assert_int_equal(state_parse(promoted, sizeof promoted - 1, &s, &line), 0);
        assert_int_equal(s.version, 1);
        assert_int_equal(s.op, STATE_OP_FAILOVER);
        assert_int_equal(s.latch, STATE_LATCH_FAILOVER);
        assert_int_equal(s.outcome, STATE_SUCCEEDED);
        assert_int_equal(s.epoch, 1);
        assert_string_equal(s.serving, "");
        assert_true(state_latched(&s, false));
        state_roles_resolve(&s, false, "A", "B", &roles);
        assert_string_equal(roles.serving, "B");
        assert_string_equal(roles.standby, "A");
        assert_int_equal(roles.epoch, 1);
        assert_string_equal(roles.latch, "failover");
        /* reading never writes; the next save writes format 2, with the same meaning */
        assert_int_equal(state_serialize(&s, &out, &size), 0);
        assert_non_null(strstr(out, "blfailoverd-state 2\n"));
        assert_int_equal(state_parse(out, size, &back, &line), 0);
        assert_int_equal(back.version, 2);
        assert_true(state_latched(&back, false));
        state_roles_resolve(&back, false, "A", "B", &roles);
        assert_string_equal(roles.serving, "B");
        free(out);

        assert_int_equal(state_parse(unpromoted, sizeof unpromoted - 1, &s, &line), 0);
        assert_int_equal(s.epoch, 0);
        assert_int_equal(s.latch, STATE_LATCH_FAILOVER);
        state_roles_resolve(&s, false, "A", "B", &roles);
        assert_string_equal(roles.serving, "A");
        assert_true(roles.latched);
}

static void state__roles__none_unreadable_named_and_indexed(void **unused) {
        struct state s = { .version = 2, .epoch = 4, .latch = STATE_LATCH_NONE };
        struct state_roles roles;
        char long_name[64];

        state_roles_resolve(NULL, false, "A", "B", &roles);
        assert_string_equal(roles.serving, "A");
        assert_int_equal(roles.epoch, 0);
        assert_string_equal(roles.latch, "none");
        assert_false(roles.latched);
        assert_false(state_latched(NULL, false));

        state_roles_resolve(NULL, true, "A", "B", &roles);
        assert_null(roles.serving);
        assert_string_equal(roles.latch, "unreadable");
        assert_true(roles.latched);
        assert_true(state_latched(NULL, true));

        /* latch none after a role change: armed, in the new direction */
        strcpy(s.serving, "b");
        strcpy(s.standby, "a");
        state_roles_resolve(&s, false, "a", "b", &roles);
        assert_string_equal(roles.serving, "b");
        assert_int_equal(roles.epoch, 4);
        assert_false(roles.latched);
        assert_false(state_latched(&s, false));

        memset(long_name, 'x', sizeof long_name);
        long_name[sizeof long_name - 1] = 0;
        assert_int_equal(state_set_site(s.serving, long_name, 1), 1);
        assert_string_equal(s.serving, "#1");
        assert_int_equal(state_set_site(s.standby, "a", 0), 0);
        state_roles_resolve(&s, false, "first", long_name, &roles);
        assert_string_equal(roles.serving, long_name);
        assert_string_equal(roles.standby, "a");
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
                cmocka_unit_test(state__v2_corrupt_or_missing_lines__rejected_with_line),
                cmocka_unit_test(state__facts_full_or_too_long__refused),
                cmocka_unit_test(state__facts_in_file_beyond_limits__ebadmsg),
                cmocka_unit_test(state__32_steps__round_trip_and_33_rejected),
                cmocka_unit_test(state__v1_record__maps_to_a_latched_failover),
                cmocka_unit_test(state__roles__none_unreadable_named_and_indexed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
