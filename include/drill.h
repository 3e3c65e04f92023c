/* drill: owns the checks of `--once --dry-run` that change nothing the running system sees — ssh reaches the
 * database host (the plan's ssh_check, with the trigger_file method) and nginx's test_command accepts the
 * rewritten site file, on a private copy when the test command names the site file (otherwise the live file is
 * tested and the rewrite is reported as not tested). It runs them one after the other on the loop and prints one
 * line per check. The gates (standby health, database, split-brain guard, confirm) are the manager's; the verdict
 * line is printed by the manager from both. */
#pragma once

#include <stdio.h>
#include <systemd/sd-event.h>

#include "config.h"

struct drill;

/* Called once, from the loop, when every check has run; `failed` counts the checks that failed. */
typedef void (*drill_done_fn)(struct drill *d, unsigned failed, void *userdata);

int drill_start(sd_event *e, const struct config *c, FILE *out, drill_done_fn done, void *userdata,
                struct drill **ret);
struct drill *drill_free(struct drill *d);     /* kills a check still running; NULL is fine */

/* Pure. A copy of test_argv with every word equal to `site` replaced by `copy`; NULL (and *ret_named false) when
 * no word names the site file — the test can then only check the live configuration. NULL on ENOMEM too, with
 * *ret_named true. */
char **drill_argv_on_copy(char *const *test_argv, const char *site, const char *copy, bool *ret_named);
