/* pgtext: reading what pg_controldata, pg_rewind and pg_waldump print, and LSN text (see pgtext.h). The formats are
 * PostgreSQL 15's, checked against the real outputs in tests/unit/data/pgtext/. */
#include "pgtext.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A line of the input, without its '\n' (and a '\r' before it). */
struct line {
        const char *p;
        size_t n;
};

/* The next line from *cur (< end); false at the end of the input. */
static bool line_next(const char **cur, const char *end, struct line *ret) {
        const char *p = *cur, *nl;

        if (p >= end)
                return false;
        nl = memchr(p, '\n', (size_t) (end - p));
        ret->p = p;
        ret->n = (size_t) ((nl ? nl : end) - p);
        *cur = nl ? nl + 1 : end;
        if (ret->n > 0 && p[ret->n - 1] == '\r')
                ret->n--;
        return true;
}

static bool line_is(struct line l, const char *s) {
        return l.n == strlen(s) && memcmp(l.p, s, l.n) == 0;
}

/* Strips prefix from *l when it starts with it. */
static bool line_eat(struct line *l, const char *prefix) {
        size_t k = strlen(prefix);

        if (l->n < k || memcmp(l->p, prefix, k) != 0)
                return false;
        l->p += k;
        l->n -= k;
        return true;
}

static void line_trim(struct line *l) {
        while (l->n > 0 && (l->p[0] == ' ' || l->p[0] == '\t')) {
                l->p++;
                l->n--;
        }
        while (l->n > 0 && (l->p[l->n - 1] == ' ' || l->p[l->n - 1] == '\t'))
                l->n--;
}

/* Decimal digits only (no sign, no spaces), at most max. */
static int parse_uint(const char *p, size_t n, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                unsigned d = (unsigned) (p[i] - '0');
                if (d > 9 || v > (max - d) / 10)
                        return -EINVAL;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* 1 to 8 hex digits: one half of an LSN. */
static int parse_hex32(const char *p, size_t n, uint32_t *ret) {
        uint32_t v = 0;

        if (n == 0 || n > 8)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int d = hex_digit(p[i]);
                if (d < 0)
                        return -EINVAL;
                v = v << 4 | (uint32_t) d;
        }
        *ret = v;
        return 0;
}

int pgtext_parse_lsn(const char *text, size_t len, uint64_t *ret) {
        const char *slash = memchr(text, '/', len);
        uint32_t hi, lo;

        if (!slash || parse_hex32(text, (size_t) (slash - text), &hi) < 0 ||
            parse_hex32(slash + 1, len - (size_t) (slash - text) - 1, &lo) < 0)
                return -EINVAL;
        *ret = (uint64_t) hi << 32 | lo;
        return 0;
}

const char *pgtext_format_lsn(uint64_t lsn, char buf[static PGTEXT_LSN_MAX]) {
        snprintf(buf, PGTEXT_LSN_MAX, "%" PRIX32 "/%" PRIX32, (uint32_t) (lsn >> 32), (uint32_t) lsn);
        return buf;
}

/* ------------------------------------------------------------------------------------------ pg_controldata */

enum cd_field {
        CD_STATE,
        CD_CHECKPOINT,
        CD_REDO,
        CD_TIMELINE,
        CD_MIN_RECOVERY_TLI,
        CD_WAL_LOG_HINTS,
        CD_CHECKSUM,
        CD_WAL_BLOCK,
        CD_WAL_SEGMENT,
        CD_VERSION,             /* recognised (it proves the output is not translated), not stored */
        CD_N_FIELDS,
};

/* pg_controldata.c's labels, in the C locale. */
static const char *const cd_labels[CD_N_FIELDS] = {
        [CD_STATE] = "Database cluster state",
        [CD_CHECKPOINT] = "Latest checkpoint location",
        [CD_REDO] = "Latest checkpoint's REDO location",
        [CD_TIMELINE] = "Latest checkpoint's TimeLineID",
        [CD_MIN_RECOVERY_TLI] = "Min recovery ending loc's timeline",
        [CD_WAL_LOG_HINTS] = "wal_log_hints setting",
        [CD_CHECKSUM] = "Data page checksum version",
        [CD_WAL_BLOCK] = "WAL block size",
        [CD_WAL_SEGMENT] = "Bytes per WAL segment",
        [CD_VERSION] = "pg_control version number",
};

/* dbState() of pg_controldata.c; "unrecognized status code" and anything else are refused. */
static const char *const cd_states[] = {
        "starting up", "shut down", "shut down in recovery", "shutting down", "in crash recovery",
        "in archive recovery", "in production",
};

static int cd_state(struct line v, struct pgtext_controldata *cd) {
        for (size_t i = 0; i < sizeof cd_states / sizeof cd_states[0]; i++)
                if (line_is(v, cd_states[i])) {
                        memcpy(cd->cluster_state, v.p, v.n);
                        cd->cluster_state[v.n] = 0;
                        return 0;
                }
        return -EBADMSG;
}

static int cd_uint(struct line v, uint64_t max, unsigned *ret) {
        uint64_t u;

        if (parse_uint(v.p, v.n, max, &u) < 0)
                return -EBADMSG;
        *ret = (unsigned) u;
        return 0;
}

/* One field's value into cd. */
static int cd_value(enum cd_field f, struct line v, struct pgtext_controldata *cd) {
        switch (f) {
        case CD_STATE:
                return cd_state(v, cd);
        case CD_CHECKPOINT:
                return pgtext_parse_lsn(v.p, v.n, &cd->checkpoint_lsn) < 0 ? -EBADMSG : 0;
        case CD_REDO:
                return pgtext_parse_lsn(v.p, v.n, &cd->redo_lsn) < 0 ? -EBADMSG : 0;
        case CD_TIMELINE:
                return cd_uint(v, UINT32_MAX, &cd->timeline) < 0 || cd->timeline == 0 ? -EBADMSG : 0;
        case CD_MIN_RECOVERY_TLI:
                return cd_uint(v, UINT32_MAX, &cd->min_recovery_timeline);
        case CD_WAL_LOG_HINTS:
                if (!line_is(v, "on") && !line_is(v, "off"))
                        return -EBADMSG;
                cd->wal_log_hints = line_is(v, "on");
                return 0;
        case CD_CHECKSUM:
                return cd_uint(v, UINT32_MAX, &cd->checksum_version);
        case CD_WAL_BLOCK:
                return cd_uint(v, UINT32_MAX, &cd->wal_block_size);
        case CD_WAL_SEGMENT:
                return cd_uint(v, UINT32_MAX, &cd->wal_segment_size);
        default:
                return 0;
        }
}

/* "Label:   value" → the field (CD_N_FIELDS: not one of ours) and the trimmed value; false without a colon. */
static bool cd_split(struct line l, enum cd_field *ret_f, struct line *ret_v) {
        const char *colon = memchr(l.p, ':', l.n);
        size_t k;

        if (!colon)
                return false;
        k = (size_t) (colon - l.p);
        *ret_f = CD_N_FIELDS;
        for (int f = 0; f < CD_N_FIELDS; f++)
                if (strlen(cd_labels[f]) == k && memcmp(l.p, cd_labels[f], k) == 0)
                        *ret_f = (enum cd_field) f;
        *ret_v = (struct line) { colon + 1, l.n - k - 1 };
        line_trim(ret_v);
        return true;
}

int pgtext_controldata(const char *text, size_t len, struct pgtext_controldata *ret, unsigned *ret_line) {
        struct pgtext_controldata cd = { 0 };
        const char *cur = text, *end = text + len;
        unsigned lineno = 0, labelled = 0, seen = 0;
        struct line l, v;
        enum cd_field f;

        if (ret_line)
                *ret_line = 0;
        while (line_next(&cur, end, &l)) {
                lineno++;
                if (!cd_split(l, &f, &v))
                        continue;
                labelled++;
                if (f == CD_N_FIELDS)
                        continue;
                if ((seen & (1u << f)) || cd_value(f, v, &cd) < 0) {
                        if (ret_line)
                                *ret_line = lineno;
                        return -EBADMSG;
                }
                seen |= 1u << f;
        }
        /* Many "label: value" lines, none of them ours: pg_controldata speaks another language. */
        if (seen == 0 && labelled >= 5)
                return -EPROTO;
        if (seen != (1u << CD_N_FIELDS) - 1)
                return -EBADMSG;
        *ret = cd;
        return 0;
}

bool pgtext_controldata_clean_primary(const struct pgtext_controldata *cd) {
        return strcmp(cd->cluster_state, "shut down") == 0;
}

bool pgtext_controldata_rewindable(const struct pgtext_controldata *cd) {
        return cd->wal_log_hints || cd->checksum_version != 0;
}

/* ------------------------------------------------------------------------------------------ pg_rewind */

/* "X/Y on timeline N" (the tail of two pg_rewind lines). */
static int rewind_lsn_tli(struct line l, uint64_t *ret_lsn, unsigned *ret_tli) {
        static const char mid[] = " on timeline ";
        uint64_t tli;

        for (size_t i = 0; i + sizeof mid - 1 <= l.n; i++)
                if (memcmp(l.p + i, mid, sizeof mid - 1) == 0) {
                        size_t t = i + sizeof mid - 1;
                        if (pgtext_parse_lsn(l.p, i, ret_lsn) < 0 ||
                            parse_uint(l.p + t, l.n - t, UINT32_MAX, &tli) < 0)
                                return -EBADMSG;
                        *ret_tli = (unsigned) tli;
                        return 0;
                }
        return -EBADMSG;
}

struct rewind_lines {
        bool diverged, not_required, same_timeline;
};

/* One line of pg_rewind's output into r/seen; lines it does not know (errors, the single-user server's log) pass. */
static int rewind_line(struct line l, struct pgtext_rewind *r, struct rewind_lines *seen) {
        uint64_t lsn;
        unsigned tli;

        line_eat(&l, "pg_rewind: ");
        if (line_eat(&l, "servers diverged at WAL location ")) {
                if (rewind_lsn_tli(l, &lsn, &tli) < 0 ||
                    (seen->diverged && (lsn != r->fork_lsn || tli != r->fork_timeline)))
                        return -EBADMSG;
                r->fork_lsn = lsn;
                r->fork_timeline = tli;
                seen->diverged = true;
        } else if (line_eat(&l, "rewinding from last common checkpoint at ")) {
                if (rewind_lsn_tli(l, &lsn, &tli) < 0)
                        return -EBADMSG;
                r->rewinding_started = true;
        } else if (line_is(l, "no rewind required"))
                seen->not_required = true;
        else if (line_is(l, "source and target cluster are on the same timeline"))
                seen->same_timeline = true;
        else if (line_is(l, "Done!"))
                r->done = true;
        return 0;
}

/* The lines pg_rewind 15 prints together (pg_rewind.c main()); any other combination is UNKNOWN. */
static enum pgtext_rewind_verdict rewind_verdict(const struct pgtext_rewind *r, const struct rewind_lines *s) {
        if (s->same_timeline)
                return s->not_required && !s->diverged && !r->rewinding_started ? PGTEXT_REWIND_SAME_TIMELINE
                                                                                 : PGTEXT_REWIND_UNKNOWN;
        if (s->not_required)
                return r->rewinding_started ? PGTEXT_REWIND_UNKNOWN : PGTEXT_REWIND_NOT_REQUIRED;
        return s->diverged ? PGTEXT_REWIND_DIVERGED : PGTEXT_REWIND_UNKNOWN;
}

int pgtext_rewind(const char *text, size_t len, struct pgtext_rewind *ret) {
        struct pgtext_rewind r = { .verdict = PGTEXT_REWIND_UNKNOWN };
        struct rewind_lines seen = { 0 };
        const char *cur = text, *end = text + len;
        struct line l;

        while (line_next(&cur, end, &l))
                if (rewind_line(l, &r, &seen) < 0)
                        return -EBADMSG;
        r.verdict = rewind_verdict(&r, &seen);
        *ret = r;
        return 0;
}

/* ------------------------------------------------------------------------------------------ pg_waldump */

#define WAL_MAXALIGN(x) (((x) + 7) & ~(uint64_t) 7)
#define WAL_SHORT_PHD   24      /* SizeOfXLogShortPHD: MAXALIGN(sizeof(XLogPageHeaderData)) */
#define WAL_LONG_PHD    40      /* SizeOfXLogLongPHD, on the first page of a segment */
#define WAL_RECORD_MIN  24      /* SizeOfXLogRecord: no record is shorter */

int pgtext_wal_record_end(uint64_t lsn, uint32_t tot_len, uint32_t wal_block_size, uint64_t wal_segment_size,
                          uint64_t *ret_end) {
        uint64_t pos = lsn, left = tot_len;

        if (wal_block_size < 1024 || (wal_block_size & (wal_block_size - 1)) || wal_segment_size < wal_block_size ||
            (wal_segment_size & (wal_segment_size - 1)))
                return -EINVAL;
        /* A record starts MAXALIGNed, after the page header, never at a page boundary. */
        if (lsn % 8 != 0 || lsn % wal_block_size == 0 || tot_len < WAL_RECORD_MIN)
                return -EINVAL;
        for (;;) {
                uint64_t page_end = (pos | (wal_block_size - 1)) + 1;      /* 0: the last page of the space */
                if (left <= page_end - pos)
                        break;
                if (page_end == 0)
                        return -ERANGE;
                left -= page_end - pos;
                pos = page_end + (page_end % wal_segment_size == 0 ? WAL_LONG_PHD : WAL_SHORT_PHD);
        }
        /* ends at pos + left, padded to MAXALIGN (a record ending on a page boundary ends there) */
        if (pos + left < pos || WAL_MAXALIGN(pos + left) < pos)
                return -ERANGE;
        *ret_end = WAL_MAXALIGN(pos + left);
        return 0;
}

/* "rmgr: XLOG        len (rec/tot):    114/   114, tx: 0, lsn: 0/03001848, prev 0/030017D0, desc: ..." */
static int waldump_record(struct line l, uint64_t *ret_lsn, uint32_t *ret_tot) {
        static const char len_label[] = "len (rec/tot):", lsn_label[] = ", lsn: ";
        const char *p, *e = l.p + l.n, *q;
        uint64_t rec, tot;

        if (!line_eat(&l, "rmgr: ") || !(p = memmem(l.p, l.n, len_label, sizeof len_label - 1)))
                return -EBADMSG;
        p += sizeof len_label - 1;
        while (p < e && *p == ' ')
                p++;
        if (!(q = memchr(p, '/', (size_t) (e - p))) || parse_uint(p, (size_t) (q - p), UINT32_MAX, &rec) < 0)
                return -EBADMSG;
        for (p = q + 1; p < e && *p == ' '; p++)
                ;
        if (!(q = memchr(p, ',', (size_t) (e - p))) || parse_uint(p, (size_t) (q - p), UINT32_MAX, &tot) < 0)
                return -EBADMSG;
        if (!(p = memmem(q, (size_t) (e - q), lsn_label, sizeof lsn_label - 1)))
                return -EBADMSG;
        p += sizeof lsn_label - 1;
        if (!(q = memchr(p, ',', (size_t) (e - p))) || pgtext_parse_lsn(p, (size_t) (q - p), ret_lsn) < 0)
                return -EBADMSG;
        if (rec > tot)
                return -EBADMSG;
        *ret_tot = (uint32_t) tot;
        return 0;
}

int pgtext_waldump_record_end(const char *text, size_t len, uint32_t wal_block_size, uint64_t wal_segment_size,
                              uint64_t *ret_end) {
        const char *cur = text, *end = text + len;
        struct line l;
        uint64_t lsn;
        uint32_t tot;

        if (!line_next(&cur, end, &l) || waldump_record(l, &lsn, &tot) < 0 ||
            pgtext_wal_record_end(lsn, tot, wal_block_size, wal_segment_size, ret_end) < 0)
                return -EBADMSG;
        return 0;
}

int pgtext_waldump_first_end(const char *text, size_t len, uint64_t *ret_end) {
        return pgtext_waldump_record_end(text, len, PGTEXT_WAL_BLOCK_SIZE, PGTEXT_WAL_SEGMENT_SIZE, ret_end);
}

/* Splits l at blanks into up to max words; returns how many (max + 1: more than max). */
static size_t words(struct line l, struct line *w, size_t max) {
        size_t n = 0, i = 0;

        while (i < l.n) {
                size_t s;
                while (i < l.n && (l.p[i] == ' ' || l.p[i] == '\t'))
                        i++;
                if (i == l.n)
                        break;
                for (s = i; i < l.n && l.p[i] != ' ' && l.p[i] != '\t'; i++)
                        ;
                if (n == max)
                        return max + 1;
                w[n++] = (struct line) { l.p + s, i - s };
        }
        return n;
}

/* "Total   116   6521 [39.88%]   9832 [60.12%]   16353 [100%]": N, record size, FPI size, combined size. */
static int waldump_total(const struct line *w, size_t n, struct pgtext_waldump_stats *s) {
        if (n != 8 || w[3].p[0] != '[' || w[5].p[0] != '[' || w[7].p[0] != '[' ||
            parse_uint(w[1].p, w[1].n, UINT64_MAX, &s->records) < 0 ||
            parse_uint(w[6].p, w[6].n, UINT64_MAX, &s->bytes) < 0)
                return -EBADMSG;
        return 0;
}

/* Adds a "Transaction/COMMIT   37 (31.90) ..." line's N to *counter. */
static int waldump_count(const struct line *w, size_t n, uint64_t *counter) {
        uint64_t v;

        if (n < 2 || parse_uint(w[1].p, w[1].n, UINT64_MAX, &v) < 0 || *counter > UINT64_MAX - v)
                return -EBADMSG;
        *counter += v;
        return 0;
}

static int waldump_stats_line(struct line l, struct pgtext_waldump_stats *s, bool *total) {
        struct line w[9];
        size_t n = words(l, w, 8);

        if (n == 0)
                return 0;
        if (line_is(w[0], "Total")) {
                if (*total)
                        return -EBADMSG;
                *total = true;
                return waldump_total(w, n, s);
        }
        /* --stats without =record: one "Transaction" line, commits and aborts together */
        if (line_is(w[0], "Transaction"))
                return -EBADMSG;
        if (line_is(w[0], "Transaction/COMMIT") || line_is(w[0], "Transaction/COMMIT_PREPARED"))
                return waldump_count(w, n, &s->commits);
        if (line_is(w[0], "Transaction/ABORT") || line_is(w[0], "Transaction/ABORT_PREPARED"))
                return waldump_count(w, n, &s->aborts);
        return 0;
}

int pgtext_waldump_stats(const char *text, size_t len, struct pgtext_waldump_stats *ret) {
        struct pgtext_waldump_stats s = { 0 };
        const char *cur = text, *end = text + len;
        bool total = false;
        struct line l;

        while (line_next(&cur, end, &l))
                if (waldump_stats_line(l, &s, &total) < 0)
                        return -EBADMSG;
        if (!total)
                return -EBADMSG;
        *ret = s;
        return 0;
}
