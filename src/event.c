/* event: the funnel from producers to listeners, and the log listener. */
#include "event.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "util.h"

static const struct {
        const char *name;
        int priority;
} kinds[_EVENT_KIND_MAX] = {
        [EVENT_DAEMON_STARTED]          = { "daemon_started", LOG_LEVEL_INFO },
        [EVENT_ENDPOINT_HEALTHY]        = { "endpoint_healthy", LOG_LEVEL_INFO },
        [EVENT_ENDPOINT_FAILING]        = { "endpoint_failing", LOG_LEVEL_WARNING },
        [EVENT_THRESHOLD_REACHED]       = { "threshold_reached", LOG_LEVEL_ERR },
        [EVENT_FAILOVER_HELD]           = { "failover_held", LOG_LEVEL_ERR },
        [EVENT_FAILOVER_ALREADY_DONE]   = { "failover_already_done", LOG_LEVEL_WARNING },
        [EVENT_FAILOVER_STARTED]        = { "failover_started", LOG_LEVEL_NOTICE },
        [EVENT_STEP_STARTED]            = { "step_started", LOG_LEVEL_INFO },
        [EVENT_STEP_OUTPUT]             = { "step_output", LOG_LEVEL_INFO },
        [EVENT_STEP_SUCCEEDED]          = { "step_succeeded", LOG_LEVEL_INFO },
        [EVENT_STEP_FAILED]             = { "step_failed", LOG_LEVEL_ERR },
        [EVENT_FAILOVER_SUCCEEDED]      = { "failover_succeeded", LOG_LEVEL_NOTICE },
        [EVENT_FAILOVER_FAILED]         = { "failover_failed", LOG_LEVEL_ERR },
        [EVENT_CONFIG_RELOADED]         = { "config_reloaded", LOG_LEVEL_INFO },
        [EVENT_CONFIG_REJECTED]         = { "config_rejected", LOG_LEVEL_ERR },
        [EVENT_STOPPING]                = { "stopping", LOG_LEVEL_INFO },
};

const char *event_kind_to_string(enum event_kind k) {
        return k < _EVENT_KIND_MAX ? kinds[k].name : "unknown";
}

int event_kind_priority(enum event_kind k) {
        return k < _EVENT_KIND_MAX ? kinds[k].priority : LOG_LEVEL_INFO;
}

int event_subscribe(struct event_bus *bus, event_listener_fn fn, void *userdata) {
        if (bus->n_listeners >= EVENT_LISTENERS_MAX)
                return -ENOSPC;
        bus->listeners[bus->n_listeners].fn = fn;
        bus->listeners[bus->n_listeners].userdata = userdata;
        bus->n_listeners++;
        return 0;
}

void event_emit(struct event_bus *bus, struct event *ev, const char *fmt, ...) {
        char message[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
        ev->message = message;
        for (unsigned i = 0; i < bus->n_listeners; i++)
                bus->listeners[i].fn(ev, bus->listeners[i].userdata);
        ev->message = NULL;
}

void event_log_listener(const struct event *ev, void *userdata) {
        log_full((enum log_level) event_kind_priority(ev->kind), 0, "%s", ev->message);
}
