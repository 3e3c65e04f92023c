/* event: the funnel from producers to listeners, and the log listener. */
#include "event.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const struct {
        const char *name;
        int priority;
        const char *message_id;         /* journald MESSAGE_ID: fixed forever, documented in blfailoverd(8) */
} kinds[_EVENT_KIND_MAX] = {
        [EVENT_DAEMON_STARTED]          = { "daemon_started", LOG_LEVEL_INFO, "2122c32652794d07b1608cf2b3978a4e" },
        [EVENT_ENDPOINT_HEALTHY]        = { "endpoint_healthy", LOG_LEVEL_INFO, "4264d49cd2ef47beb665b3b3ad9abc50" },
        [EVENT_ENDPOINT_FAILING]        = { "endpoint_failing", LOG_LEVEL_WARNING, "d8c50ac635184c43b9d0392057b2dec6" },
        [EVENT_THRESHOLD_REACHED]       = { "threshold_reached", LOG_LEVEL_ERR, "bed87dfb43d8483f806a40b4b24c95b3" },
        [EVENT_FAILOVER_HELD]           = { "failover_held", LOG_LEVEL_ERR, "9026768f22df45b39aa7551efe97247b" },
        [EVENT_FAILOVER_ALREADY_DONE]   = { "failover_already_done", LOG_LEVEL_WARNING, "90f89c7c448a40629af61dd15b3e2577" },
        [EVENT_FAILOVER_STARTED]        = { "failover_started", LOG_LEVEL_NOTICE, "8a4ba3a480b045899bfa94f8a2d3302f" },
        [EVENT_STEP_STARTED]            = { "step_started", LOG_LEVEL_INFO, "576ae5b08d274486bff7f590cac92f52" },
        [EVENT_STEP_OUTPUT]             = { "step_output", LOG_LEVEL_INFO, "db95079ad8c94357b2445d275692e160" },
        [EVENT_STEP_SUCCEEDED]          = { "step_succeeded", LOG_LEVEL_INFO, "0175880bbd624bcab7798143cb79ac38" },
        [EVENT_STEP_FAILED]             = { "step_failed", LOG_LEVEL_ERR, "43d61b13b2fe449a89be2d2e201595dc" },
        [EVENT_FAILOVER_SUCCEEDED]      = { "failover_succeeded", LOG_LEVEL_NOTICE, "6985f4aa17184ee0853aeef2d636f2b9" },
        [EVENT_FAILOVER_FAILED]         = { "failover_failed", LOG_LEVEL_ERR, "1edff13807ee42dba5ca730bde5ac902" },
        [EVENT_CONFIG_RELOADED]         = { "config_reloaded", LOG_LEVEL_INFO, "cedc8705f6ae4cb380209187e06e9edb" },
        [EVENT_CONFIG_REJECTED]         = { "config_rejected", LOG_LEVEL_ERR, "1434fdf1eb32495e8eb1fb6dd3a9a810" },
        [EVENT_STOPPING]                = { "stopping", LOG_LEVEL_INFO, "1c370783899f4128a1d3607ef61c04bb" },
        [EVENT_RECORD_CLEARED]          = { "record_cleared", LOG_LEVEL_NOTICE, "f6ec10841dce4ed4b1b449014f2a83bd" },
        [EVENT_PAUSED]                  = { "paused", LOG_LEVEL_WARNING, "44f1a04a0bee4b5eb7c0ee1d15f14ace" },
        [EVENT_RESUMED]                 = { "resumed", LOG_LEVEL_NOTICE, "30561a5e349c48e882c1a9af3c802271" },
        [EVENT_OPERATION_STARTED]       = { "operation_started", LOG_LEVEL_NOTICE, "5bf21ffc710a4e8bb242a26d60caec1f" },
        [EVENT_OPERATION_SUCCEEDED]     = { "operation_succeeded", LOG_LEVEL_NOTICE, "14411ec9f1724cedab143c150223e73c" },
        [EVENT_OPERATION_REFUSED]       = { "operation_refused", LOG_LEVEL_ERR, "c084520c42864daa921ddbe69dd05478" },
        [EVENT_OPERATION_PUT_BACK]      = { "operation_put_back", LOG_LEVEL_ERR, "ddbe8f90c6d740908caa0b970f3511fd" },
        [EVENT_OPERATION_FAILED]        = { "operation_failed", LOG_LEVEL_ERR, "b40da7b38d0e43ffafcf6fcc04d58dc0" },
        [EVENT_CLUSTER_LEADING]         = { "cluster_leading", LOG_LEVEL_NOTICE, "c95af36d5f3d48699260f27d91ff490a" },
        [EVENT_CLUSTER_FOLLOWING]       = { "cluster_following", LOG_LEVEL_INFO, "f18173c5c71948b5b0b7e9efac5a5215" },
        [EVENT_CLUSTER_UNAVAILABLE]     = { "cluster_unavailable", LOG_LEVEL_ERR, "7a4152f9ec6c41829568fa629e08a462" },
        [EVENT_CLUSTER_AVAILABLE]       = { "cluster_available", LOG_LEVEL_NOTICE, "d64621b54216478b9b3c2c3ce975e6ea" },
        [EVENT_CLUSTER_DEPOSED]         = { "cluster_deposed", LOG_LEVEL_WARNING, "3b69300ae33f4d7bb4dcc730f89c190f" },
        [EVENT_CLUSTER_TAKEOVER]        = { "cluster_takeover", LOG_LEVEL_NOTICE, "2eb0bc1ecd4b4167876b58e9b7f488c0" },
};

const char *event_kind_to_string(enum event_kind k) {
        return k < _EVENT_KIND_MAX ? kinds[k].name : "unknown";
}

int event_kind_priority(enum event_kind k) {
        return k < _EVENT_KIND_MAX ? kinds[k].priority : LOG_LEVEL_INFO;
}

const char *event_kind_message_id(enum event_kind k) {
        return k < _EVENT_KIND_MAX ? kinds[k].message_id : NULL;
}

int event_subscribe(struct event_bus *bus, event_listener_fn fn, void *userdata) {
        if (bus->n_listeners >= EVENT_LISTENERS_MAX)
                return -ENOSPC;
        bus->listeners[bus->n_listeners].fn = fn;
        bus->listeners[bus->n_listeners].userdata = userdata;
        bus->n_listeners++;
        return 0;
}

void event_emit_output(struct event_bus *bus, const char *what, const char *step, const char *output, size_t len,
                       unsigned cut_at) {
        unsigned lines = 0;

        for (const char *p = output, *end = output + len; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                int n = (int) ((nl ? nl : end) - p);
                struct event ev = { .kind = EVENT_STEP_OUTPUT, .step = step, .exit_status = -1 };

                if (lines == EVENT_OUTPUT_LINES_MAX) {
                        event_emit(bus, &ev, "%s: step %s output: [more lines not logged]", what, step);
                        break;
                }
                if (n > 0) {
                        event_emit(bus, &ev, "%s: step %s output: %.*s", what, step, n, p);
                        lines++;
                }
                p = nl ? nl + 1 : end;
        }
        if (cut_at) {
                struct event ev = { .kind = EVENT_STEP_OUTPUT, .step = step, .exit_status = -1 };
                event_emit(bus, &ev, "%s: step %s output was cut at %u bytes", what, step, cut_at);
        }
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

static void add_field(char buf[EVENT_FIELDS_MAX][EVENT_FIELD_MAX], size_t *n, const char *key, const char *value) {
        if (!value || *n >= EVENT_FIELDS_MAX)
                return;
        snprintf(buf[(*n)++], EVENT_FIELD_MAX, "%s=%s", key, value);
}

size_t event_journal_fields(const struct event *ev, char buf[EVENT_FIELDS_MAX][EVENT_FIELD_MAX]) {
        char number[32];
        size_t n = 0;

        add_field(buf, &n, "MESSAGE_ID", event_kind_message_id(ev->kind));
        add_field(buf, &n, "BLF_EVENT", event_kind_to_string(ev->kind));
        add_field(buf, &n, "BLF_ROLE", ev->role);
        add_field(buf, &n, "BLF_ENDPOINT", ev->endpoint);
        add_field(buf, &n, "BLF_STEP", ev->step);
        add_field(buf, &n, "BLF_GATE", ev->gate);
        add_field(buf, &n, "BLF_ARGV", ev->argv);
        add_field(buf, &n, "BLF_MEMBER", ev->member);
        add_field(buf, &n, "BLF_PEER", ev->peer);
        add_field(buf, &n, "BLF_REASON", ev->reason);
        if (ev->exit_status >= 0) {
                snprintf(number, sizeof number, "%d", ev->exit_status);
                add_field(buf, &n, "BLF_EXIT_STATUS", number);
        }
        if (ev->duration_usec > 0) {
                snprintf(number, sizeof number, "%llu", (unsigned long long) ev->duration_usec);
                add_field(buf, &n, "BLF_DURATION_USEC", number);
        }
        if (ev->threshold > 0) {
                snprintf(number, sizeof number, "%u/%u", ev->failures, ev->threshold);
                add_field(buf, &n, "BLF_FAILURES", number);
        }
        return n;
}

void event_log_listener(const struct event *ev, void *userdata) {
        char buf[EVENT_FIELDS_MAX][EVENT_FIELD_MAX];
        const char *fields[EVENT_FIELDS_MAX + 1];
        size_t n;

        if (!log_to_journal()) {
                log_full((enum log_level) event_kind_priority(ev->kind), 0, "%s", ev->message);
                return;
        }
        n = event_journal_fields(ev, buf);
        for (size_t i = 0; i < n; i++)
                fields[i] = buf[i];
        fields[n] = NULL;
        log_struct((enum log_level) event_kind_priority(ev->kind), ev->message, fields);
}
