/* Unit tests for pgtext: the real outputs of PostgreSQL 15.18's pg_controldata, pg_rewind and pg_waldump
 * (tests/unit/data/pgtext/, captured by its capture.sh), then what they must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtext.h"

/* ------------------------------------------------------------------------------------------ fixtures */

/* The fixture directory: $BLF_PGTEXT_DATA, else from the repo root (make check's cwd), else next to the binary
 * (BUILD/tests/test_pgtext → ../../tests/unit/data/pgtext). */
static const char *data_dir(void) {
        static char dir[PATH_MAX];
        char exe[PATH_MAX];
        ssize_t n;

        if (getenv("BLF_PGTEXT_DATA"))
                return getenv("BLF_PGTEXT_DATA");
        if (access("tests/unit/data/pgtext/README", R_OK) == 0)
                return "tests/unit/data/pgtext";
        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        assert_true(n > 0);
        exe[n] = 0;
        snprintf(dir, sizeof dir, "%s/../../tests/unit/data/pgtext", dirname(exe));
        return dir;
}

/* The whole fixture file NAME (not NUL-terminated for the parsers: *ret_len bytes; a NUL follows for strstr). */
static char *fixture(const char *name, size_t *ret_len) {
        char *path, *buf;
        FILE *f;
        long n;

        assert_true(asprintf(&path, "%s/%s", data_dir(), name) > 0);
        f = fopen(path, "rb");
        if (!f)
                fail_msg("cannot open fixture %s (set BLF_PGTEXT_DATA to tests/unit/data/pgtext)", path);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        rewind(f);
        buf = malloc((size_t) n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
        buf[n] = 0;
        fclose(f);
        free(path);
        *ret_len = (size_t) n;
        return buf;
}

static uint64_t lsn(const char *s) {
        uint64_t v;

        assert_int_equal(pgtext_parse_lsn(s, strlen(s), &v), 0);
        return v;
}

/* ------------------------------------------------------------------------------------------ LSN */

static void lsn__postgres_spellings__parsed(void **unused) {
        uint64_t v;

        assert_int_equal(pgtext_parse_lsn("0/5A0000D8", 10, &v), 0);
        assert_true(v == UINT64_C(0x5A0000D8));
        assert_int_equal(pgtext_parse_lsn("0/03001848", 10, &v), 0);      /* pg_waldump pads the low half */
        assert_true(v == UINT64_C(0x3001848));
        assert_int_equal(pgtext_parse_lsn("1A/ff", 5, &v), 0);
        assert_true(v == UINT64_C(0x1A000000FF));
        assert_int_equal(pgtext_parse_lsn("FFFFFFFF/FFFFFFFF", 17, &v), 0);
        assert_true(v == UINT64_MAX);
        /* len bounds the text: the rest of the line is not read */
        assert_int_equal(pgtext_parse_lsn("0/30018C0, prev", 9, &v), 0);
        assert_true(v == UINT64_C(0x30018C0));
}

static void lsn__overflow_and_junk__einval(void **unused) {
        static const char *const bad[] = {
                "", "0", "/", "0/", "/1", "1FFFFFFFF/0", "0/100000000", "+0/1", "0/-1", " 0/1", "0/1 ", "0/1/2",
                "0x0/1", "G/0", "0/30018C0,", "0 /1",
        };
        uint64_t v = 7;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                if (pgtext_parse_lsn(bad[i], strlen(bad[i]), &v) != -EINVAL)
                        fail_msg("\"%s\" was accepted", bad[i]);
                assert_true(v == 7);
        }
}

static void lsn__format__postgres_spelling_round_trip(void **unused) {
        char buf[PGTEXT_LSN_MAX];

        assert_string_equal(pgtext_format_lsn(UINT64_C(0x5A0000D8), buf), "0/5A0000D8");
        assert_string_equal(pgtext_format_lsn(UINT64_C(0x1A000000FF), buf), "1A/FF");
        assert_string_equal(pgtext_format_lsn(UINT64_MAX, buf), "FFFFFFFF/FFFFFFFF");
        assert_true(lsn(pgtext_format_lsn(UINT64_C(0x123456789ABCDEF0), buf)) == UINT64_C(0x123456789ABCDEF0));
}

/* ------------------------------------------------------------------------------------------ pg_controldata */

static int controldata_of(const char *name, struct pgtext_controldata *cd, unsigned *line) {
        size_t len;
        char *text = fixture(name, &len);
        int r = pgtext_controldata(text, len, cd, line);

        free(text);
        return r;
}

static void controldata__clean_primary__fields_clean_rewindable(void **unused) {
        struct pgtext_controldata cd;
        unsigned line = 99;

        assert_int_equal(controldata_of("controldata_clean_primary.txt", &cd, &line), 0);
        assert_int_equal(line, 0);
        assert_string_equal(cd.cluster_state, "shut down");
        assert_true(cd.checkpoint_lsn == lsn("0/3001848"));
        assert_true(cd.redo_lsn == lsn("0/3001848"));
        assert_int_equal(cd.timeline, 1);
        assert_int_equal(cd.min_recovery_timeline, 0);
        assert_true(cd.wal_log_hints);
        assert_int_equal(cd.checksum_version, 0);
        assert_int_equal(cd.wal_block_size, 8192);
        assert_int_equal(cd.wal_segment_size, 16777216);
        assert_true(pgtext_controldata_clean_primary(&cd));
        assert_true(pgtext_controldata_rewindable(&cd));
}

/* Every state a switchover or rejoin meets, as PostgreSQL 15 printed it: only the first is a clean primary. */
static void controldata__other_states__not_a_clean_primary(void **unused) {
        static const struct {
                const char *file, *state, *checkpoint;
                unsigned tli, min_tli;
        } cases[] = {
                { "controldata_stopped_standby.txt", "shut down in recovery", "0/2000060", 1, 1 },
                { "controldata_running_standby.txt", "in archive recovery", "0/2000060", 1, 1 },
                { "controldata_running_primary.txt", "in production", "0/2000060", 1, 0 },
                { "controldata_crashed_primary.txt", "in production", "0/30019D8", 2, 0 },
                { "controldata_after_rewind_diverged.txt", "in archive recovery", "0/3003330", 3, 3 },
                { "controldata_after_rewind_crashed.txt", "in archive recovery", "0/30034C0", 4, 4 },
        };
        struct pgtext_controldata cd;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                assert_int_equal(controldata_of(cases[i].file, &cd, NULL), 0);
                assert_string_equal(cd.cluster_state, cases[i].state);
                assert_true(cd.checkpoint_lsn == lsn(cases[i].checkpoint));
                assert_int_equal(cd.timeline, cases[i].tli);
                assert_int_equal(cd.min_recovery_timeline, cases[i].min_tli);
                if (pgtext_controldata_clean_primary(&cd))
                        fail_msg("%s (%s) taken for a clean primary", cases[i].file, cd.cluster_state);
        }
        /* a crashed primary recovered in single-user mode is clean, at its new shutdown checkpoint */
        assert_int_equal(controldata_of("controldata_recovered_primary.txt", &cd, NULL), 0);
        assert_true(pgtext_controldata_clean_primary(&cd));
        assert_true(cd.checkpoint_lsn == lsn("0/3007368"));
}

static void controldata__hints_and_checksums__rewindable_iff_either(void **unused) {
        struct pgtext_controldata cd;

        assert_int_equal(controldata_of("controldata_no_hints.txt", &cd, NULL), 0);
        assert_false(cd.wal_log_hints);
        assert_int_equal(cd.checksum_version, 0);
        assert_false(pgtext_controldata_rewindable(&cd));
        assert_int_equal(controldata_of("controldata_checksums.txt", &cd, NULL), 0);
        assert_false(cd.wal_log_hints);
        assert_int_equal(cd.checksum_version, 1);
        assert_true(pgtext_controldata_rewindable(&cd));
}

static void controldata__german__eproto(void **unused) {
        struct pgtext_controldata cd;
        unsigned line = 99;

        assert_int_equal(controldata_of("controldata_de.txt", &cd, &line), -EPROTO);
        assert_int_equal(line, 0);
}

/* text with the line starting with `label` replaced by `with` (NULL: removed) */
static char *edited(const char *text, const char *label, const char *with, size_t *ret_len) {
        const char *at = strstr(text, label), *eol;
        char *out;

        assert_non_null(at);
        eol = strchr(at, '\n');
        assert_non_null(eol);
        assert_true(asprintf(&out, "%.*s%s%s", (int) (at - text), text, with ? with : "", with ? eol : eol + 1) > 0);
        *ret_len = strlen(out);
        return out;
}

static void controldata__missing_duplicate_or_malformed__ebadmsg_with_line(void **unused) {
        static const struct {
                const char *label, *with;
                unsigned line;
        } cases[] = {
                { "wal_log_hints setting:", NULL, 0 },
                { "Latest checkpoint location:", NULL, 0 },
                { "Bytes per WAL segment:", NULL, 0 },
                { "pg_control version number:", NULL, 0 },
                { "Latest checkpoint location:", "Latest checkpoint location:           0/ZZ", 6 },
                { "Latest checkpoint location:", "Latest checkpoint location:           1FFFFFFFF/0", 6 },
                { "Latest checkpoint location:", "Latest checkpoint location:", 6 },
                { "Database cluster state:", "Database cluster state:               unrecognized status code", 4 },
                { "Database cluster state:", "Database cluster state:               shut down (sort of)", 4 },
                { "Latest checkpoint's TimeLineID:", "Latest checkpoint's TimeLineID:       -1", 9 },
                { "Latest checkpoint's TimeLineID:", "Latest checkpoint's TimeLineID:       0", 9 },
                { "Latest checkpoint's TimeLineID:", "Latest checkpoint's TimeLineID:       4294967296", 9 },
                { "wal_log_hints setting:", "wal_log_hints setting:                yes", 31 },
                { "Data page checksum version:", "Data page checksum version:           1a", 49 },
                { "Latest checkpoint's PrevTimeLineID:",
                  "Latest checkpoint's TimeLineID:       1\nLatest checkpoint's TimeLineID:       2", 10 },
        };
        struct pgtext_controldata cd;
        size_t len, elen;
        char *text = fixture("controldata_clean_primary.txt", &len);

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char *e = edited(text, cases[i].label, cases[i].with, &elen);
                unsigned line = 99;
                if (pgtext_controldata(e, elen, &cd, &line) != -EBADMSG)
                        fail_msg("case %zu (%s → %s) not refused", i, cases[i].label, cases[i].with);
                assert_int_equal(line, cases[i].line);
                free(e);
        }
        free(text);
}

/* Cut anywhere before the last field's value: never parsed as a whole answer. */
static void controldata__truncated__ebadmsg(void **unused) {
        struct pgtext_controldata cd;
        size_t len;
        char *text = fixture("controldata_clean_primary.txt", &len);
        size_t last = (size_t) (strstr(text, "Data page checksum version:           ") - text) +
                      strlen("Data page checksum version:           ");

        for (size_t n = 0; n <= last; n++)
                if (pgtext_controldata(text, n, &cd, NULL) != -EBADMSG)
                        fail_msg("cut at %zu of %zu was accepted", n, len);
        free(text);
}

static void controldata__tool_error__ebadmsg_not_eproto(void **unused) {
        static const char err[] = "pg_controldata: error: could not open file \"/x/global/pg_control\" for reading: "
                                  "No such file or directory\n";
        struct pgtext_controldata cd;

        assert_int_equal(pgtext_controldata(err, sizeof err - 1, &cd, NULL), -EBADMSG);
        assert_int_equal(pgtext_controldata("", 0, &cd, NULL), -EBADMSG);
}

/* ------------------------------------------------------------------------------------------ pg_rewind */

static void rewind_of(const char *name, struct pgtext_rewind *r) {
        size_t len;
        char *text = fixture(name, &len);

        assert_int_equal(pgtext_rewind(text, len, r), 0);
        free(text);
}

/* After a clean switchover pg_rewind 15 prints the fork (= the end of the old primary's shutdown checkpoint, = the
 * standby's replay position when promoted) and "no rewind required", dry run or not. */
static void rewind__clean_switchover__not_required_at_checkpoint_end(void **unused) {
        static const char *const files[] = { "rewind_dry_not_required.txt", "rewind_not_required.txt" };
        struct pgtext_rewind r;
        uint64_t end;
        size_t len;
        char *dump = fixture("waldump_shutdown_checkpoint.txt", &len), *replay;

        assert_int_equal(pgtext_waldump_first_end(dump, len, &end), 0);
        replay = fixture("switchover_b_replay_lsn.txt", &len);
        replay[strcspn(replay, "\n")] = 0;
        for (size_t i = 0; i < 2; i++) {
                rewind_of(files[i], &r);
                assert_int_equal(r.verdict, PGTEXT_REWIND_NOT_REQUIRED);
                assert_true(r.fork_lsn == lsn("0/30018C0"));
                assert_int_equal(r.fork_timeline, 1);
                assert_false(r.rewinding_started);
                assert_false(r.done);
                assert_true(r.fork_lsn == end);
                assert_true(r.fork_lsn == lsn(replay));
        }
        free(dump);
        free(replay);
}

static void rewind__diverged__fork_and_progress(void **unused) {
        struct pgtext_rewind r;

        /* the dry run prints the same three lines as the real run */
        rewind_of("rewind_dry_diverged.txt", &r);
        assert_int_equal(r.verdict, PGTEXT_REWIND_DIVERGED);
        assert_true(r.fork_lsn == lsn("0/3003218"));
        assert_int_equal(r.fork_timeline, 2);
        assert_true(r.rewinding_started);
        assert_true(r.done);
        rewind_of("rewind_diverged.txt", &r);
        assert_int_equal(r.verdict, PGTEXT_REWIND_DIVERGED);
        assert_true(r.fork_lsn == lsn("0/3003218"));
        /* a crashed target: the single-user server's log comes first, between pg_rewind's lines */
        rewind_of("rewind_crashed_target.txt", &r);
        assert_int_equal(r.verdict, PGTEXT_REWIND_DIVERGED);
        assert_true(r.fork_lsn == lsn("0/30033A8"));
        assert_int_equal(r.fork_timeline, 3);
        assert_true(r.done);
}

static void rewind__same_timeline__its_own_verdict(void **unused) {
        struct pgtext_rewind r;

        rewind_of("rewind_dry_same_timeline.txt", &r);
        assert_int_equal(r.verdict, PGTEXT_REWIND_SAME_TIMELINE);
        assert_true(r.fork_lsn == 0);
}

static void rewind__refusals_and_translations__unknown(void **unused) {
        static const char *const files[] = {
                "rewind_dry_crashed_target.txt", "rewind_again_after_rewind.txt", "rewind_dry_no_hints.txt",
                "rewind_de.txt",
        };
        struct pgtext_rewind r;

        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
                rewind_of(files[i], &r);
                if (r.verdict != PGTEXT_REWIND_UNKNOWN)
                        fail_msg("%s: verdict %d", files[i], r.verdict);
                assert_false(r.done);
        }
}

static void rewind__shapes__verdicts(void **unused) {
        static const struct {
                const char *text;
                enum pgtext_rewind_verdict verdict;
        } cases[] = {
                /* stderr before stdout, no prefix, CRLF */
                { "Done!\r\nrewinding from last common checkpoint at 0/1 on timeline 1\r\n"
                  "servers diverged at WAL location 0/2 on timeline 1\r\n", PGTEXT_REWIND_DIVERGED },
                { "pg_rewind: no rewind required\n", PGTEXT_REWIND_NOT_REQUIRED },
                /* contradictions */
                { "pg_rewind: servers diverged at WAL location 0/2 on timeline 1\npg_rewind: no rewind required\n"
                  "pg_rewind: rewinding from last common checkpoint at 0/1 on timeline 1\n", PGTEXT_REWIND_UNKNOWN },
                { "pg_rewind: source and target cluster are on the same timeline\n", PGTEXT_REWIND_UNKNOWN },
                { "pg_rewind: source and target cluster are on the same timeline\n"
                  "pg_rewind: servers diverged at WAL location 0/2 on timeline 1\npg_rewind: no rewind required\n",
                  PGTEXT_REWIND_UNKNOWN },
                /* near misses */
                { "pg_rewind: no rewind required yet\n", PGTEXT_REWIND_UNKNOWN },
                { "LOG:  pg_rewind: no rewind required\n", PGTEXT_REWIND_UNKNOWN },
                { "", PGTEXT_REWIND_UNKNOWN },
        };
        struct pgtext_rewind r;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                assert_int_equal(pgtext_rewind(cases[i].text, strlen(cases[i].text), &r), 0);
                if (r.verdict != cases[i].verdict)
                        fail_msg("case %zu: verdict %d, expected %d", i, r.verdict, cases[i].verdict);
        }
}

static void rewind__malformed_recognised_line__ebadmsg(void **unused) {
        static const char *const bad[] = {
                "pg_rewind: servers diverged at WAL location 0/ZZ on timeline 2\n",
                "pg_rewind: servers diverged at WAL location 100000000/0 on timeline 2\n",
                "pg_rewind: servers diverged at WAL location 0/3003218 on timeline\n",
                "pg_rewind: servers diverged at WAL location 0/3003218\n",
                "pg_rewind: rewinding from last common checkpoint at 0/30019D8 on timeline x\n",
                /* two different forks */
                "pg_rewind: servers diverged at WAL location 0/1 on timeline 2\n"
                "pg_rewind: servers diverged at WAL location 0/2 on timeline 2\n",
        };
        struct pgtext_rewind r = { .verdict = 42 };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (pgtext_rewind(bad[i], strlen(bad[i]), &r) != -EBADMSG)
                        fail_msg("accepted: %s", bad[i]);
        assert_int_equal(r.verdict, 42);
}

/* ------------------------------------------------------------------------------------------ pg_waldump */

static void waldump__checkpoints__end_is_what_postgres_says(void **unused) {
        uint64_t end;
        size_t len;
        char *text = fixture("waldump_shutdown_checkpoint.txt", &len), *all;

        /* 114 bytes at 0/3001848 end at 0/30018C0 (+120): MAXALIGN */
        assert_int_equal(pgtext_waldump_first_end(text, len, &end), 0);
        assert_true(end == lsn("0/30018C0"));
        free(text);
        /* pg_waldump without -n stops at the end of WAL and names it: the same position */
        all = fixture("waldump_shutdown_checkpoint_all.txt", &len);
        assert_non_null(strstr(all, "invalid record length at 0/30018C0: wanted 24, got 0"));
        assert_int_equal(pgtext_waldump_first_end(all, len, &end), 0);
        assert_true(end == lsn("0/30018C0"));
        free(all);
        text = fixture("waldump_recovered_checkpoint.txt", &len);
        assert_int_equal(pgtext_waldump_first_end(text, len, &end), 0);
        assert_true(end == lsn("0/30073E0"));
        free(text);
}

/* Every record of a real range ends where the next one starts: 8-byte alignment and the page headers crossed
 * (0/3003FD8 crosses into 0/3004000; an 8181-byte full-page image crosses 0/3006000). */
static void waldump__every_record__ends_at_the_next_ones_lsn(void **unused) {
        size_t len, crossed = 0, records = 0;
        char *text = fixture("waldump_diverged_records.txt", &len), *line = text, *next;

        for (; (next = strchr(line, '\n')) && next[1]; line = next + 1, records++) {
                uint64_t start, end, following;
                const char *at = strstr(next + 1, "lsn: ");
                assert_non_null(at);
                assert_int_equal(pgtext_parse_lsn(at + 5, strcspn(at + 5, ","), &following), 0);
                at = strstr(line, "lsn: ");
                assert_int_equal(pgtext_parse_lsn(at + 5, strcspn(at + 5, ","), &start), 0);
                assert_int_equal(pgtext_waldump_first_end(line, (size_t) (next - line), &end), 0);
                if (end != following)
                        fail_msg("record %zu: end %" PRIX64 ", next record at %" PRIX64, records, end, following);
                crossed += start / 8192 != (end - 1) / 8192;
        }
        assert_true(crossed >= 2);
        assert_int_equal(records, 115);
        free(text);
}

static void waldump__segment_and_page_edges__long_header_exact_end(void **unused) {
        uint64_t end;

        /* crosses into a new 16 MB segment: its first page has the 40-byte long header */
        assert_int_equal(pgtext_wal_record_end(UINT64_C(0x10FFFFC8), 114, 8192, 16 << 20, &end), 0);
        assert_true(end == UINT64_C(0x11000068));
        /* with 64 MB segments the same boundary is an ordinary page: 24 bytes */
        assert_int_equal(pgtext_wal_record_end(UINT64_C(0x10FFFFC8), 114, 8192, 64 << 20, &end), 0);
        assert_true(end == UINT64_C(0x11000058));
        /* ends exactly on a page boundary: the end is the boundary, not after the next header */
        assert_int_equal(pgtext_wal_record_end(UINT64_C(0x3001FB8), 72, 8192, 16 << 20, &end), 0);
        assert_true(end == UINT64_C(0x3002000));
        /* spans several pages */
        assert_int_equal(pgtext_wal_record_end(UINT64_C(0x3001FF8), 8 + 8168 + 8168 + 5, 8192, 16 << 20, &end), 0);
        assert_true(end == UINT64_C(0x3006020));
        /* the end of the LSN space */
        assert_int_equal(pgtext_wal_record_end(UINT64_C(0xFFFFFFFFFFFFFF88), 114, 8192, 16 << 20, &end), -ERANGE);
        assert_int_equal(pgtext_wal_record_end(UINT64_C(0xFFFFFFFFFFFFE028), 114, 8192, 16 << 20, &end), 0);
        assert_true(end == UINT64_C(0xFFFFFFFFFFFFE0A0));
        /* starts no record can have */
        assert_int_equal(pgtext_wal_record_end(UINT64_C(0x3001849), 114, 8192, 16 << 20, &end), -EINVAL);
        assert_int_equal(pgtext_wal_record_end(UINT64_C(0x3002000), 114, 8192, 16 << 20, &end), -EINVAL);
        assert_int_equal(pgtext_wal_record_end(UINT64_C(0x3001848), 23, 8192, 16 << 20, &end), -EINVAL);
        assert_int_equal(pgtext_wal_record_end(UINT64_C(0x3001848), 114, 8000, 16 << 20, &end), -EINVAL);
}

/* the sizes pg_controldata reports drive the same math */
static void waldump__controldata_sizes__same_end(void **unused) {
        struct pgtext_controldata cd;
        uint64_t end;
        size_t len;
        char *text = fixture("waldump_shutdown_checkpoint.txt", &len);

        assert_int_equal(controldata_of("controldata_clean_primary.txt", &cd, NULL), 0);
        assert_int_equal(pgtext_waldump_record_end(text, len, cd.wal_block_size, cd.wal_segment_size, &end), 0);
        assert_true(end == lsn("0/30018C0"));
        assert_true(cd.checkpoint_lsn + 120 == end);
        free(text);
}

static void waldump__not_a_record__ebadmsg(void **unused) {
        static const char *const bad[] = {
                "",
                "\n",
                "pg_waldump: error: could not find file \"000000020000000000000003\": No such file or directory\n",
                "rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: FFFFFFFF/FFFFFF88, prev 0/0\n",
                "rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 1FFFFFFFF/0001848, prev 0/0\n",
                "rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/03001849, prev 0/0\n",
                "rmgr: XLOG        len (rec/tot):     14/    14, tx:          0, lsn: 0/03001848, prev 0/0\n",
                "rmgr: XLOG        len (rec/tot):    114/   -114, tx:          0, lsn: 0/03001848, prev 0/0\n",
                "rmgr: XLOG        len (rec/tot):    200/   114, tx:          0, lsn: 0/03001848, prev 0/0\n",
                "rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/03001848\n",
                "rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/03001848",
                "rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, prev 0/030017D0\n",
                "rmgr: XLOG        len (rec/tot):    114/   114",
                "XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/03001848, prev 0/0\n",
        };
        uint64_t end = 7;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (pgtext_waldump_first_end(bad[i], strlen(bad[i]), &end) != -EBADMSG)
                        fail_msg("accepted: %s", bad[i]);
        assert_true(end == 7);
}

/* Cut anywhere before the lsn is complete: refused. */
static void waldump__truncated__ebadmsg(void **unused) {
        uint64_t end;
        size_t len;
        char *text = fixture("waldump_shutdown_checkpoint.txt", &len);
        size_t last = (size_t) (strstr(text, ", prev") - text);

        for (size_t n = 0; n < last; n++)
                if (pgtext_waldump_first_end(text, n, &end) != -EBADMSG)
                        fail_msg("cut at %zu accepted", n);
        free(text);
}

static void waldump_stats__37_commits__counted(void **unused) {
        struct pgtext_waldump_stats s;
        size_t len;
        char *text = fixture("waldump_stats_diverged.txt", &len);

        assert_int_equal(pgtext_waldump_stats(text, len, &s), 0);
        assert_true(s.commits == 37);
        assert_true(s.aborts == 0);
        assert_true(s.records == 116);
        assert_true(s.bytes == 16353);
        free(text);
}

static void waldump_stats__prepared_and_aborts__counted(void **unused) {
        static const char text[] =
                "WAL statistics between 0/1000000 and 0/2000000:\n"
                "Type                                           N      (%)          Record size      (%)             "
                "FPI size      (%)        Combined size      (%)\n"
                "Transaction/COMMIT                            10 ( 10.00)                  340 (  3.50)             "
                "       0 (  0.00)                  340 (  1.39)\n"
                "Transaction/COMMIT_PREPARED                    2 (  2.00)                   68 (  1.00)             "
                "       0 (  0.00)                   68 (  1.00)\n"
                "Transaction/ABORT                              3 (  3.00)                   99 (  1.00)             "
                "       0 (  0.00)                   99 (  1.00)\n"
                "Transaction/ABORT_PREPARED                     1 (  1.00)                   33 (  1.00)             "
                "       0 (  0.00)                   33 (  1.00)\n"
                "Transaction/PREPARE                            3 (  3.00)                   99 (  1.00)             "
                "       0 (  0.00)                   99 (  1.00)\n"
                "                                        --------                      --------                      "
                "--------                      --------\n"
                "Total                                        100                          9700 [97.00%]             "
                "    300 [3.00%]                 10000 [100%]\n";
        struct pgtext_waldump_stats s;

        assert_int_equal(pgtext_waldump_stats(text, sizeof text - 1, &s), 0);
        assert_true(s.commits == 12);
        assert_true(s.aborts == 4);
        assert_true(s.records == 100);
        assert_true(s.bytes == 10000);
}

static void waldump_stats__rmgr_level_or_truncated__ebadmsg(void **unused) {
        static const char *const bad[] = {
                "",
                "Transaction/COMMIT                            37 ( 31.90)                 1258 ( 19.29)\n",
                /* --stats (per rmgr): commits and aborts cannot be told apart */
                "Transaction                                   40 ( 34.48)                 1360 ( 20.86)        "
                "            0 (  0.00)                 1360 (  8.32)\n"
                "Total                                        116                          6521 [39.88%]        "
                "         9832 [60.12%]                16353 [100%]\n",
                "Total                                        116                          6521 [39.88%]\n",
                "Total                                        11x                          6521 [39.88%]        "
                "         9832 [60.12%]                16353 [100%]\n",
                "Transaction/COMMIT                            3x ( 31.90)                 1258 ( 19.29)\n"
                "Total                                        116                          6521 [39.88%]        "
                "         9832 [60.12%]                16353 [100%]\n",
                "Total   1   2 [1%]   3 [1%]   5 [100%]\nTotal   1   2 [1%]   3 [1%]   5 [100%]\n",
                "Total   1   2 [1%]   3 [1%]   5 [100%] extra\n",
        };
        struct pgtext_waldump_stats s = { .commits = 7 };
        size_t len;
        char *text = fixture("waldump_stats_diverged.txt", &len);
        size_t last = (size_t) (strstr(text, "[100%]") - text);

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (pgtext_waldump_stats(bad[i], strlen(bad[i]), &s) != -EBADMSG)
                        fail_msg("accepted: %s", bad[i]);
        assert_true(s.commits == 7);
        for (size_t n = 0; n < last; n++)
                if (pgtext_waldump_stats(text, n, &s) != -EBADMSG)
                        fail_msg("cut at %zu accepted", n);
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(lsn__postgres_spellings__parsed),
                cmocka_unit_test(lsn__overflow_and_junk__einval),
                cmocka_unit_test(lsn__format__postgres_spelling_round_trip),
                cmocka_unit_test(controldata__clean_primary__fields_clean_rewindable),
                cmocka_unit_test(controldata__other_states__not_a_clean_primary),
                cmocka_unit_test(controldata__hints_and_checksums__rewindable_iff_either),
                cmocka_unit_test(controldata__german__eproto),
                cmocka_unit_test(controldata__missing_duplicate_or_malformed__ebadmsg_with_line),
                cmocka_unit_test(controldata__truncated__ebadmsg),
                cmocka_unit_test(controldata__tool_error__ebadmsg_not_eproto),
                cmocka_unit_test(rewind__clean_switchover__not_required_at_checkpoint_end),
                cmocka_unit_test(rewind__diverged__fork_and_progress),
                cmocka_unit_test(rewind__same_timeline__its_own_verdict),
                cmocka_unit_test(rewind__refusals_and_translations__unknown),
                cmocka_unit_test(rewind__shapes__verdicts),
                cmocka_unit_test(rewind__malformed_recognised_line__ebadmsg),
                cmocka_unit_test(waldump__checkpoints__end_is_what_postgres_says),
                cmocka_unit_test(waldump__every_record__ends_at_the_next_ones_lsn),
                cmocka_unit_test(waldump__segment_and_page_edges__long_header_exact_end),
                cmocka_unit_test(waldump__controldata_sizes__same_end),
                cmocka_unit_test(waldump__not_a_record__ebadmsg),
                cmocka_unit_test(waldump__truncated__ebadmsg),
                cmocka_unit_test(waldump_stats__37_commits__counted),
                cmocka_unit_test(waldump_stats__prepared_and_aborts__counted),
                cmocka_unit_test(waldump_stats__rmgr_level_or_truncated__ebadmsg),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
