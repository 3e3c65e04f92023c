/* Unit tests for pause: the file format (round trip, escapes, anything torn or malformed refused), the reason rule,
 * and save/load/clear in a temporary state_dir. */
#include <errno.h>
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

#include "pause.h"

static void pause__round_trip__keeps_every_field(void **unused) {
        struct pause p = { .paused = true, .since_usec = UINT64_C(1764100000123456), .uid = 1000 }, q;
        char *text;
        size_t size;

        snprintf(p.reason, sizeof p.reason, "kernel upgrade \\ on db1\t(ticket #42)");
        assert_int_equal(pause_serialize(&p, &text, &size), 0);
        assert_int_equal(pause_parse(text, size, &q), 0);
        assert_true(q.paused);
        assert_int_equal(q.since_usec, p.since_usec);
        assert_int_equal(q.uid, 1000);
        assert_string_equal(q.reason, p.reason);
        /* one line per field: the tab and backslash are escaped */
        assert_null(strchr(text, '\t'));
        free(text);
}

static void pause__torn_or_malformed__refused(void **unused) {
        static const char *const bad[] = {
                "",
                "blfailoverd-pause 1\nsince 5\nuid 0\nreason \n",                 /* no "end": torn */
                "blfailoverd-pause 1\nsince 5\nuid 0\nreason \nend",              /* end without its newline */
                "blfailoverd-pause 2\nsince 5\nuid 0\nreason \nend\n",            /* another version */
                "blfailoverd-pause 1\nsince x\nuid 0\nreason \nend\n",
                "blfailoverd-pause 1\nsince 5 6\nuid 0\nreason \nend\n",
                "blfailoverd-pause 1\nsince 5\nuid -1x\nreason \nend\n",
                "blfailoverd-pause 1\nsince 5\nuid 0\nreason \\q\nend\n",         /* unknown escape */
                "blfailoverd-pause 1\nsince 5\nuid 0\nreason \nend\nmore\n",      /* trailing garbage */
        };
        struct pause p;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_int_equal(pause_parse(bad[i], strlen(bad[i]), &p), -EBADMSG);
}

static void pause__reason__one_printable_line(void **unused) {
        char longest[PAUSE_REASON_MAX];

        assert_true(pause_reason_valid(""));
        assert_true(pause_reason_valid("maintenance: kernel 6.1.0-28, back at 14:00 UTC"));
        assert_false(pause_reason_valid("two\nlines"));
        assert_false(pause_reason_valid("bell\a"));
        memset(longest, 'x', sizeof longest - 1);
        longest[sizeof longest - 1] = '\0';
        assert_true(pause_reason_valid(longest));
        char too_long[PAUSE_REASON_MAX + 1];
        memset(too_long, 'x', sizeof too_long - 1);
        too_long[sizeof too_long - 1] = '\0';
        assert_false(pause_reason_valid(too_long));
}

static void pause__save_load_clear__in_state_dir(void **unused) {
        char dir[] = "/tmp/blf-pause-XXXXXX", path[64];
        struct pause p = { .paused = true, .since_usec = 7, .uid = 0 }, q;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(pause_load(dir, &q), -ENOENT);
        snprintf(p.reason, sizeof p.reason, "drill");
        assert_int_equal(pause_save(dir, &p), 0);
        snprintf(path, sizeof path, "%s/" PAUSE_FILE_NAME, dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(pause_load(dir, &q), 0);
        assert_string_equal(q.reason, "drill");
        assert_int_equal(pause_clear(dir), 0);
        assert_int_equal(pause_clear(dir), -ENOENT);
        /* a file nobody can parse is reported, so the caller can treat it as paused */
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("garbage\n", f);
        fclose(f);
        assert_int_equal(pause_load(dir, &q), -EBADMSG);
        unlink(path);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(pause__round_trip__keeps_every_field),
                cmocka_unit_test(pause__torn_or_malformed__refused),
                cmocka_unit_test(pause__reason__one_printable_line),
                cmocka_unit_test(pause__save_load_clear__in_state_dir),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
