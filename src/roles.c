/* roles: who serves, from the record. */
#include "roles.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int roles_serving_index(const struct config *c, const struct state *record, char *why, size_t why_size) {
        int i;

        /* Format 1 named nobody: the config's order holds (the runbook form's operator swaps the file). */
        if (!record || !record->serving[0])
                return (int) c->serves_first;
        if (strcmp(record->serving, "#0") == 0 || strcmp(record->serving, "#1") == 0)
                return record->serving[1] - '0';       /* a name too long for the record: its place in sites */
        i = config_site_index(c, record->serving);
        if (i < 0 && why)
                snprintf(why, why_size, "the record in %s/%s says site \"%s\" serves; the config has sites \"%s\" "
                         "and \"%s\": restore the name in the config, or forget the roles with blfailoverd "
                         "--clear-state --forget-roles", c->state_dir, STATE_FILE_NAME, record->serving,
                         c->sites[0].name, c->sites[1].name);
        return i < 0 ? -ENOENT : i;
}

int roles_apply_from_record(struct config *c, struct config_errors *errs) {
        struct state record;
        char why[768];
        int r, serving;

        /* The runbook form keeps its meaning: its file says who is active (its operator swaps it after a
         * failover), and the record's roles are only shown. */
        if (!c->sites_form)
                return 0;
        r = state_load(c->state_dir, &record);
        serving = roles_serving_index(c, r == 0 ? &record : NULL, why, sizeof why);
        if (serving < 0) {
                config_errors_add(errs, 0, 0, "%s", why);
                return -EINVAL;
        }
        r = config_apply_roles(c, (unsigned) serving);
        if (r < 0)
                config_errors_add(errs, 0, 0, "cannot apply the roles: %s", strerror(-r));
        return r < 0 ? -EINVAL : 0;
}
