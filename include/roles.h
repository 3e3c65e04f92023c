/* roles: owns deciding who serves from the record, not from the config's order — the record's `serving` names a
 * site; no record (or one that names none: format 1, or never a role change) means the config's serves_first.
 * Then config_apply_roles points the daemon's active/standby at them, so nothing is edited by hand after a role
 * change. */
#pragma once

#include "config.h"
#include "state.h"

/* Pure: the index of the serving site for `record` (NULL: no record). -ENOENT when the record names a site the
 * config lacks (why is written). */
int roles_serving_index(const struct config *c, const struct state *record, char *why, size_t why_size);

/* The sites form: reads c->state_dir's record (an unreadable or absent one leaves serves_first) and applies the
 * roles; a record naming a site the config lacks is a config error added to errs (line 0), -EINVAL. The runbook
 * form is left as its file says (its operator edits the file after a role change): 0. */
int roles_apply_from_record(struct config *c, struct config_errors *errs);
