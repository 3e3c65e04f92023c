/* notify: owns telling the service manager what the daemon does, through sd_notify: READY, STATUS (sent only
 * when it changes), RELOADING (with MONOTONIC_USEC, for Type=notify-reload), STOPPING. The watchdog ping is
 * sd-event's own (sd_event_set_watchdog), so a stalled loop stops pinging. Outside systemd (no NOTIFY_SOCKET)
 * every call is a no-op. */
#pragma once

struct notify {
        char *last_status;
};

void notify_ready(struct notify *n);
void notify_reloading(struct notify *n);
void notify_stopping(struct notify *n);
void notify_status(struct notify *n, const char *status);
void notify_done(struct notify *n);
