/* fuzz_config: libFuzzer target for the YAML config loader — arbitrary bytes in, a config or a list of errors out.
 * Invariants: success means a config and no error; failure means at least one error, and every error names its
 * line and column — except the two that are about the whole file and are tested as 0:0 in test_config.c: the
 * file is empty (no node to point at), and the "more than N problems" summary. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PATH "fuzz.yml"

static bool whole_file(const char *message) {
        return strncmp(message, "more than ", 10) == 0 || strncmp(message, "no configuration: ", 18) == 0;
}

static void check_errors(const struct config_errors *errs) {
        for (size_t i = 0; i < errs->n; i++) {
                const struct config_error *e = &errs->items[i];

                if (!e->message || !*e->message)
                        abort();
                if ((e->line == 0 || e->col == 0) && !whole_file(e->message)) {
                        fprintf(stderr, "error without line:col: %u:%u: %s\n", e->line, e->col, e->message);
                        abort();
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config_errors errs;
        struct config *c = NULL;
        int r;

        config_errors_init(&errs, FUZZ_PATH);
        r = config_load_buffer(FUZZ_PATH, (const char *) data, size, &c, &errs);
        if (r == 0) {
                if (!c || errs.n != 0)
                        abort();
                /* what the daemon reads right after loading: the marks and the names */
                (void) config_mark_of(c, "failover.nginx.upstream");
                if (!c->active.url || !c->standby.url || !c->nginx.config || !c->state_dir)
                        abort();
        } else if (r == -EINVAL) {
                if (c || errs.n == 0)
                        abort();
                check_errors(&errs);
        } else if (r != -ENOMEM && r != -EFBIG)
                abort();
        config_free(c);
        config_errors_done(&errs);
        return 0;
}
