/* notify: sd_notify messages to the service manager. */
#include "notify.h"

#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "util.h"

void notify_ready(struct notify *n) {
        (void) sd_notify(0, "READY=1");
}

void notify_reloading(struct notify *n) {
        /* MONOTONIC_USEC lets Type=notify-reload (systemd 253+) match this reload to its request. */
        (void) sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long) now_monotonic_usec());
}

void notify_stopping(struct notify *n) {
        (void) sd_notify(0, "STOPPING=1");
}

void notify_status(struct notify *n, const char *status) {
        char *copy;

        if (n->last_status && strcmp(n->last_status, status) == 0)
                return;
        copy = strdup(status);
        if (!copy)
                return;
        free(n->last_status);
        n->last_status = copy;
        if (sd_notifyf(0, "STATUS=%s", status) < 0)
                log_debug("sd_notify STATUS failed");
}

void notify_done(struct notify *n) {
        free(n->last_status);
        n->last_status = NULL;
}
