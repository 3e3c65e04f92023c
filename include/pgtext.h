/* pgtext: owns reading what PostgreSQL's command-line tools print — pg_controldata, pg_rewind, pg_waldump — and
 * LSN text. Pure functions from bytes to values: no I/O, no allocation. Every parser refuses what it does not
 * recognise (-EBADMSG) rather than guess; a translated (non-C locale) pg_controldata is -EPROTO, so the message
 * can say "run it with LC_ALL=C". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGTEXT_LSN_MAX 24       /* "FFFFFFFF/FFFFFFFF" + NUL, with room */

/* "0/5A0000D8" → 0x5A0000D8. -EINVAL on anything else (no sign, no spaces, at most 8 hex digits each side). */
int pgtext_parse_lsn(const char *text, size_t len, uint64_t *ret);
/* 0x5A0000D8 → "0/5A0000D8" (PostgreSQL's own %X/%X spelling). Returns buf. */
const char *pgtext_format_lsn(uint64_t lsn, char buf[static PGTEXT_LSN_MAX]);

struct pgtext_controldata {
        char cluster_state[48];         /* "shut down", "shut down in recovery", "in production", "in archive
                                         * recovery", "in crash recovery", "shutting down", ... verbatim */
        uint64_t checkpoint_lsn;        /* "Latest checkpoint location" */
        uint64_t redo_lsn;              /* "Latest checkpoint's REDO location" */
        unsigned timeline;              /* "Latest checkpoint's TimeLineID" */
        unsigned min_recovery_timeline; /* "Min recovery ending loc's timeline" (0: none) */
        bool wal_log_hints;             /* "wal_log_hints setting: on" */
        unsigned checksum_version;      /* "Data page checksum version" (0: no checksums) */
        unsigned wal_block_size;        /* "WAL block size" (8192 unless built otherwise) */
        unsigned wal_segment_size;      /* "Bytes per WAL segment" (16 MB unless initdb --wal-segsize) */
};

/* The fields above from `pg_controldata -D PGDATA` output. -EBADMSG when one is missing or malformed (names the
 * line through *ret_line, 1-based, or 0 for a missing field); -EPROTO when the output is translated. */
int pgtext_controldata(const char *text, size_t len, struct pgtext_controldata *ret, unsigned *ret_line);
/* "shut down" exactly (a clean stop of a primary; "shut down in recovery" is a standby's) */
bool pgtext_controldata_clean_primary(const struct pgtext_controldata *cd);
/* pg_rewind can run on it: wal_log_hints or data checksums */
bool pgtext_controldata_rewindable(const struct pgtext_controldata *cd);

enum pgtext_rewind_verdict {
        PGTEXT_REWIND_UNKNOWN,          /* none of the lines below: the caller refuses */
        PGTEXT_REWIND_NOT_REQUIRED,     /* "no rewind required" */
        PGTEXT_REWIND_DIVERGED,         /* "servers diverged at WAL location X/Y on timeline N" */
        PGTEXT_REWIND_SAME_TIMELINE,    /* "source and target cluster are on the same timeline" */
};

struct pgtext_rewind {
        enum pgtext_rewind_verdict verdict;
        uint64_t fork_lsn;              /* DIVERGED (and NOT_REQUIRED when pg_rewind printed the fork) */
        unsigned fork_timeline;
        bool rewinding_started;         /* "rewinding from last common checkpoint at": past the point of no return */
        bool done;                      /* "Done!" */
};

/* pg_rewind's output (stdout+stderr, any order, `pg_rewind: ` prefixes or not). Returns 0 (the verdict may be
 * UNKNOWN) or -EBADMSG on a malformed LSN in a recognised line. */
int pgtext_rewind(const char *text, size_t len, struct pgtext_rewind *ret);

#define PGTEXT_WAL_BLOCK_SIZE   8192u                   /* PostgreSQL's defaults (XLOG_BLCKSZ, --wal-segsize) */
#define PGTEXT_WAL_SEGMENT_SIZE (UINT64_C(16) << 20)

/* Where a WAL record of tot_len bytes starting at lsn ends: what pg_last_wal_replay_lsn() and pg_rewind's fork point
 * call its end. lsn + tot_len, plus the page headers it crosses (24 bytes, 40 on a segment's first page), rounded up
 * to MAXALIGN (8). -EINVAL for a start no record can have or odd sizes, -ERANGE past the end of the LSN space. */
int pgtext_wal_record_end(uint64_t lsn, uint32_t tot_len, uint32_t wal_block_size, uint64_t wal_segment_size,
                          uint64_t *ret_end);
/* `pg_waldump ... -n 1` on a record: the end of the first record (from its "lsn:" and the tot of
 * "len (rec/tot): R/ T", by pgtext_wal_record_end), which after a clean stop is the end of the old primary's WAL.
 * -EBADMSG when the first line is not a record. The sizes are pg_controldata's (struct pgtext_controldata). */
int pgtext_waldump_record_end(const char *text, size_t len, uint32_t wal_block_size, uint64_t wal_segment_size,
                              uint64_t *ret_end);
/* The same with PostgreSQL's default page and segment sizes. */
int pgtext_waldump_first_end(const char *text, size_t len, uint64_t *ret_end);

struct pgtext_waldump_stats {
        uint64_t commits;               /* Transaction/COMMIT (and COMMIT_PREPARED) records */
        uint64_t aborts;                /* Transaction/ABORT (and ABORT_PREPARED) */
        uint64_t records;               /* "Total" count */
        uint64_t bytes;                 /* "Total" combined size */
};

/* `pg_waldump ... --stats=record` output. -EBADMSG without a Total line. */
int pgtext_waldump_stats(const char *text, size_t len, struct pgtext_waldump_stats *ret);
