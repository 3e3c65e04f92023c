/* fuzz_pgtext: libFuzzer target for the PostgreSQL tool-output readers. Invariants: no parser reads past len (ASan),
 * an accepted LSN prints back to text that parses to the same value, an accepted pg_controldata names a state with
 * a NUL inside its buffer, and an accepted record end lies past the record's start. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lsn_round_trip(const char *text, size_t size) {
        char buf[PGTEXT_LSN_MAX];
        uint64_t lsn, again;

        if (pgtext_parse_lsn(text, size, &lsn) < 0)
                return;
        pgtext_format_lsn(lsn, buf);
        if (pgtext_parse_lsn(buf, strlen(buf), &again) < 0 || again != lsn) {
                fprintf(stderr, "LSN %s does not parse back\n", buf);
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* a private copy of exactly size bytes: a read past it is ASan's to see */
        char *text = malloc(size ? size : 1);
        struct pgtext_controldata cd;
        struct pgtext_waldump_stats stats;
        struct pgtext_rewind rw;
        unsigned line;
        uint64_t end;

        if (!text)
                return 0;
        memcpy(text, data, size);
        lsn_round_trip(text, size);
        if (pgtext_controldata(text, size, &cd, &line) == 0 && !memchr(cd.cluster_state, 0, sizeof cd.cluster_state))
                abort();
        if (pgtext_rewind(text, size, &rw) == 0 && rw.verdict > PGTEXT_REWIND_SAME_TIMELINE)
                abort();
        if (pgtext_waldump_first_end(text, size, &end) == 0 && end == 0)
                abort();
        (void) pgtext_waldump_stats(text, size, &stats);
        free(text);
        return 0;
}
