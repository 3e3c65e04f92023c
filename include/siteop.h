/* siteop: owns what the lifecycle modes (switchover.h, rejoin.h) do the same way on a site — a site's command
 * template expanded into the argv a step runs, the nginx site file with given roles, and the steps that turn the old
 * primary (the target) into a standby of the serving site (the source): new_checkpoint, rewind, start, streaming,
 * stack_start. ONE implementation, so a switchover's O side and a rejoin cannot drift apart. It decides nothing
 * about when they run: the modes put these functions in their step tables (op.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "op.h"
#include "pgtext.h"
#include "template.h"

/* The two sides of a rejoin. A mode's step context (op_params.ctx) BEGINS with one of these, so the siteop_step_*
 * functions below can be put in its step table as they are. */
struct siteop_pair {
        const struct config *config;
        unsigned source;                /* the serving site: the new primary */
        unsigned target;                /* the old primary, becoming the source's standby */
        uint64_t stream_timeout_usec;   /* streaming: switchover.stream_timeout or rejoin.stream_timeout */
        bool reclone_fallback;          /* rewind broke the target half-way: re-clone instead of failing */
        char *control_path[CONFIG_SITES];       /* each site's warm ssh master socket (sshmux.h), or NULL: copies,
                                                 * so a master replaced meanwhile cannot pull them away */
        /* filled by the steps */
        bool fork_known;                /* a dry run (or the rewind) named the fork */
        uint64_t fork_lsn;
        unsigned fork_timeline;
        bool reclone;                   /* the target is re-cloned (pg_basebackup) rather than rewound */
};

/* Extra template variables for one command (control_path, dry_run, tli, from, until); NULL: none. */
char **siteop_argv(const struct config *c, unsigned i, const struct config_command *cmd, const char *role,
                   uint64_t epoch, const struct template_vars *extra, char *err, size_t err_size);
/* Runs site i's `cmd` as the step's command (op_run_command); a template that cannot expand fails the step. */
void siteop_run(struct op *op, const struct config *c, unsigned i, const struct config_command *cmd,
                const char *role, const struct template_vars *extra, op_judge_command_fn judge);
/* "      $ argv   (timeout Ns)" for the dry runs, or why it cannot be expanded / is not configured. */
void siteop_print_argv(FILE *out, const struct config *c, unsigned i, const struct config_command *cmd,
                       const char *role, const struct template_vars *extra);

#define SITEOP_NGINX_MAX (16u * 1024u * 1024u)      /* the site file, as the failover's FAILOVER_NGINX_MAX */

/* The nginx site file with `serving` serving and `standby` its backup, and the file as it is now. */
int siteop_nginx_bytes(const struct config *c, unsigned serving, unsigned standby, char **ret_current,
                       size_t *ret_current_len, char **ret_new, size_t *ret_len, char *detail, size_t size);
/* "<site file>.blfailoverd.bak", malloc'd */
char *siteop_nginx_backup_path(const struct config *c);

/* Writes the site file with those roles — its backup first, then the file, each atomically, so a crash in between
 * leaves the old file and a copy of it. Returns 1 and the previous bytes in *ret_original (for a restore), 0 when
 * the file already has them (nothing written), or -errno with `detail` saying what failed. */
int siteop_nginx_write(const struct config *c, unsigned serving, unsigned standby, char **ret_original,
                       size_t *ret_original_len, char *detail, size_t size);
/* Puts `original` back (atomically); -errno with `detail`, which says where the backup is. */
int siteop_nginx_restore(const struct config *c, const char *original, size_t len, char *detail, size_t size);
/* The dry runs' "Change to FILE:" and the unified diff of those roles; -errno with the problem logged. */
int siteop_print_nginx_change(FILE *out, const struct config *c, unsigned serving, unsigned standby,
                              const char *what);

/* Copies each site's master socket path (NULL: none) into the pair; siteop_pair_done frees them. */
int siteop_pair_set_control_paths(struct siteop_pair *p, const char *const paths[CONFIG_SITES]);
void siteop_pair_done(struct siteop_pair *p);

/* The shared steps; ctx begins with a struct siteop_pair. */
void siteop_step_new_checkpoint(struct op *op, void *ctx);     /* CHECKPOINT on the source + its pg_control TLI */
void siteop_step_rewind(struct op *op, void *ctx);             /* pg_rewind -R the target from the source */
void siteop_step_start_target(struct op *op, void *ctx);       /* status; start when not running */
void siteop_step_streaming(struct op *op, void *ctx);          /* the source sees the target streaming, lag bound */
void siteop_step_stack_start_target(struct op *op, void *ctx); /* the target's stack, {role} standby */
