/* rejoin: owns making the old primary (O) a standby of the serving site (S) after a failover, or finishing a
 * switchover that failed after its promotion — its checklist, its steps in their order, what each runs and how its
 * answer is judged, and the report of what the rewind throws away (the fork, the WAL and the committed
 * transactions the failover lost). It runs on op.h's executor and shares the O-side steps with the switchover
 * (siteop.h); it does not decide whether to run (the operator does) and holds no loop of its own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "event.h"
#include "health.h"
#include "op.h"
#include "state.h"

struct rejoin;

typedef void (*rejoin_done_fn)(struct rejoin *rj, int exit_code, void *userdata);

struct rejoin_params {
        sd_event *event;
        struct event_bus *bus;
        struct health *health;
        const struct config *config;    /* must outlive the rejoin */
        const struct state *record;     /* the record now (no record: a zeroed one) */
        bool reclone;                   /* --reclone: re-clone when a rewind is impossible (or rejoin.reclone) */
        bool drill;                     /* --drill: the checklist only (changes nothing, no record), exit 0/3/1 */
        const char *ssh_control_path[CONFIG_SITES];     /* each site's warm ssh master (sshmux.h), or NULL */
        struct op_sync sync;            /* a monitor cluster: the journal reaches etcd before each step */
        rejoin_done_fn done;
        void *userdata;
};

/* Refuses before anything runs (returns EXIT_REFUSED or EXIT_CONFIG and writes why: nothing to rejoin — the pair is
 * not latched and no switchover/rejoin failed —, an interrupted failover, the config lacks what a rejoin needs),
 * else starts and returns 0; `done` then gets the exit code (EXIT_REFUSED when its checklist says no: O answers as
 * a writable primary, S is not a primary with full_page_writes, O can be neither rewound nor re-cloned).
 * Negative: -errno. */
int rejoin_start(const struct rejoin_params *params, struct rejoin **ret, char *why, size_t why_size);
struct rejoin *rejoin_free(struct rejoin *rj);

/* --rejoin --dry-run: the steps, the exact argv of each, the nginx diff. Nothing runs. */
int rejoin_dry_run(const struct config *c, const struct state *record, bool reclone, FILE *out);

/* ---- pure, for the messages (unit-tested) ---- */

/* The host a conninfo (key=value or postgres:// URI) names — hostaddr= when there is no host= —, for messages;
 * "local socket" when none. Returns buf. */
const char *rejoin_conninfo_host(const char *conninfo, char *buf, size_t size);

/* "rejoin refused: a answers as a writable primary (10.0.0.11): fence it first (sites[0].database.commands.stop,
 * or your fence), then run --rejoin again; nothing was changed" */
void rejoin_refusal_writable(const char *site, unsigned index, const char *conninfo, char *buf, size_t size);

/* What a rewind throws away: O's WAL on its timeline from the fork to the end of its last record. */
struct rejoin_discarded {
        const char *site;
        unsigned timeline;
        uint64_t fork_lsn;
        uint64_t end_lsn;
        bool end_exact;                 /* false: the end of the last record was not read; end_lsn is a lower bound */
        bool commits_known;             /* false: pg_waldump could not count them */
        uint64_t commits;
};

/* "rejoin: a's timeline 3 forked at 0/5A000150; discarded 0/5A000150–0/5A0412C8 (266 kB of WAL, 37 committed
 * transactions) — the failover lost them". Returns buf. */
const char *rejoin_discarded_describe(const struct rejoin_discarded *d, char *buf, size_t size);

/* 999 → "999 bytes", 266616 → "266 kB", 1288490188 → "1.2 GB" (powers of 1000, truncated). Returns buf. */
const char *rejoin_format_size(uint64_t bytes, char *buf, size_t size);
