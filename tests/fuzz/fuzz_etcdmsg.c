/* fuzz_etcdmsg: libFuzzer target for what etcd (or whatever answers on its port) sends us — jsonread and every
 * etcdmsg parser on arbitrary bytes. Invariants: no crash or leak; a parsed document's tokens lie inside the text
 * and nest properly; every string token unescapes; a parser that succeeds leaves consistent results. Seeds: the
 * real etcd 3.4.23 answers (tests/unit/data/etcd/). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcdmsg.h"
#include "jsonread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tokens(const char *text, size_t len) {
        struct jsonread j;
        int r = jsonread_parse(&j, text, len);

        if (r == 0) {
                for (size_t i = 0; i < j.n; i++) {
                        char *s;

                        if (j.tok[i].start > j.tok[i].end || j.tok[i].end > len || j.tok[i].next <= i ||
                            j.tok[i].next > j.n)
                                abort();
                        if (j.tok[i].type == JSONREAD_STRING) {
                                if (jsonread_string(&j, i, &s, NULL) < 0)
                                        abort();
                                free(s);
                        }
                }
        } else if (r != -EINVAL && r != -E2BIG && r != -ENOMEM)
                abort();
        jsonread_done(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        struct etcdmsg_range_result rr;
        struct etcdmsg_txn_result t;
        char msg[64], *s = NULL, *s2 = NULL;
        int64_t a, b;

        check_tokens(text, size);
        (void) etcdmsg_parse_error(200, text, size, msg, sizeof msg);
        (void) etcdmsg_parse_error(503, text, size, msg, sizeof msg);
        if (etcdmsg_parse_grant(text, size, &a, &b) == 0 && (a == 0 || b <= 0))
                abort();
        if (etcdmsg_parse_keepalive(text, size, &a) == 0 && a < 0)
                abort();
        (void) etcdmsg_parse_timetolive(text, size, &a);
        (void) etcdmsg_parse_revision(text, size, &a);
        if (etcdmsg_parse_authenticate(text, size, &s) == 0)
                free(s);
        s = NULL;
        /* the versions are handed over on success and on -ENOTSUP (too old: the caller says which) */
        if (etcdmsg_parse_version(text, size, &s, &s2) >= 0 || s) {
                if (!s || !s2)
                        abort();
                free(s);
                free(s2);
        }
        if (etcdmsg_parse_range(text, size, &rr) == 0) {
                for (size_t i = 0; i < rr.n; i++)
                        if (!rr.kvs[i].key || !rr.kvs[i].value || strlen(rr.kvs[i].value) > rr.kvs[i].value_len)
                                abort();
                etcdmsg_range_result_done(&rr);
        }
        if (etcdmsg_parse_txn(text, size, &t) == 0)
                etcdmsg_txn_result_done(&t);
        return 0;
}
