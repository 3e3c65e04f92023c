/* fuzz_state: libFuzzer target for the state reader. Invariant: whatever state_parse accepts serializes to text
 * that parses back to the very same record, and serializing that again gives the same text (a record the daemon
 * rewrites after reading it must say what it said). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_step(const struct state_step *a, const struct state_step *b) {
        if (strcmp(a->name, b->name) != 0 || a->status != b->status || a->started_usec != b->started_usec ||
            a->duration_usec != b->duration_usec || a->exit_status != b->exit_status ||
            strcmp(a->detail, b->detail) != 0) {
                fprintf(stderr, "step differs after a round trip: \"%s\" \"%s\" vs \"%s\" \"%s\"\n", a->name,
                        a->detail, b->name, b->detail);
                abort();
        }
}

static void same_state(const struct state *a, const struct state *b) {
        if (a->outcome != b->outcome || strcmp(a->trigger, b->trigger) != 0 || a->started_usec != b->started_usec ||
            a->finished_usec != b->finished_usec || strcmp(a->failed_step, b->failed_step) != 0 ||
            a->n_steps != b->n_steps || a->epoch != b->epoch || strcmp(a->serving, b->serving) != 0 ||
            strcmp(a->standby, b->standby) != 0 || a->latch != b->latch || a->op != b->op ||
            strcmp(a->from, b->from) != 0 || strcmp(a->to, b->to) != 0 || a->n_facts != b->n_facts) {
                fprintf(stderr, "record differs after a round trip\n");
                abort();
        }
        for (size_t i = 0; i < a->n_steps; i++)
                same_step(&a->steps[i], &b->steps[i]);
        for (size_t i = 0; i < a->n_facts; i++)
                if (strcmp(a->facts[i].key, b->facts[i].key) != 0 || strcmp(a->facts[i].value, b->facts[i].value) != 0) {
                        fprintf(stderr, "fact differs after a round trip: %s\n", a->facts[i].key);
                        abort();
                }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct state first, second;
        char *text = NULL, *again = NULL;
        size_t text_size, again_size;
        unsigned line = 0;
        int r;

        r = state_parse((const char *) data, size, &first, &line);
        if (r < 0) {
                if (r != -EBADMSG && r != -ENOMEM)
                        abort();
                if (r == -EBADMSG && line == 0)
                        abort();
                return 0;
        }
        if (state_serialize(&first, &text, &text_size) < 0)
                abort();
        r = state_parse(text, text_size, &second, &line);
        if (r < 0) {
                fprintf(stderr, "serialized record does not parse (line %u):\n%.*s", line, (int) text_size, text);
                abort();
        }
        same_state(&first, &second);
        if (state_serialize(&second, &again, &again_size) < 0)
                abort();
        if (again_size != text_size || memcmp(again, text, text_size) != 0)
                abort();
        free(text);
        free(again);
        return 0;
}
