/* alert: events → firing/resolved alerts, the webhook receivers' payload and Alertmanager's v2 API body. */
#include "alert.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

static const struct {
        const char *name;
        const char *severity;
        const char *summary;
} kinds[_ALERT_KIND_MAX] = {
        [ALERT_ACTIVE_DOWN]        = { "BlfailoverdActiveDown", "critical", "The active API failed its health checks up to the failover threshold" },
        [ALERT_FAILOVER_HELD]      = { "BlfailoverdFailoverHeld", "critical", "A failover is due but a safety gate holds it" },
        [ALERT_FAILOVER_RUNNING]   = { "BlfailoverdFailoverStarted", "warning", "A failover to the standby is running" },
        [ALERT_FAILOVER_SUCCEEDED] = { "BlfailoverdFailoverSucceeded", "warning", "The failover to the standby succeeded; rebuild the pair, then clear the record" },
        [ALERT_FAILOVER_FAILED]    = { "BlfailoverdFailoverFailed", "critical", "The failover failed; finish it by hand (blfailoverd --status lists the steps)" },
        [ALERT_STANDBY_DOWN]       = { "BlfailoverdStandbyDown", "warning", "The standby API fails its health checks; no failover can run" },
        [ALERT_REPLICATION_LAG]    = { "BlfailoverdReplicationLag", "warning", "The standby database lags behind in replaying WAL" },
        [ALERT_PAUSED]             = { "BlfailoverdPaused", "warning", "The pair is paused for maintenance: no automatic failover until blfailoverd --resume" },
        [ALERT_OPERATION_FAILED]   = { "BlfailoverdOperationFailed", "critical", "A switchover or rejoin failed; blfailoverd --status says what is left (a latched pair: finish with blfailoverd --rejoin)" },
        [ALERT_CLUSTER_UNAVAILABLE] = { "BlfailoverdClusterUnavailable", "critical", "This monitor cannot use etcd: it takes no automatic action and refuses commands until etcd answers again" },
};

const char *alert_kind_name(enum alert_kind k) {
        return k < _ALERT_KIND_MAX ? kinds[k].name : "BlfailoverdUnknown";
}

const char *alert_kind_severity(enum alert_kind k) {
        return k < _ALERT_KIND_MAX ? kinds[k].severity : "warning";
}

/* ---- transitions ---------------------------------------------------------------------------------------- */

static size_t fire(struct alert_state *s, enum alert_kind k, const char *why, uint64_t now, struct alert *out,
                   size_t n, size_t max) {
        if (n >= max)
                return n;
        s->firing[k] = true;
        s->starts_usec[k] = now;
        out[n] = (struct alert) { .kind = k, .starts_usec = now };
        snprintf(out[n].description, sizeof out[n].description, "%s", why ? why : "");
        return n + 1;
}

/* Resolves k if it is firing; a condition that never fired sends nothing. */
static size_t resolve(struct alert_state *s, enum alert_kind k, const char *why, uint64_t now, struct alert *out,
                      size_t n, size_t max) {
        if (!s->firing[k] || n >= max)
                return n;
        s->firing[k] = false;
        out[n] = (struct alert) { .kind = k, .resolved = true, .starts_usec = s->starts_usec[k], .ends_usec = now };
        snprintf(out[n].description, sizeof out[n].description, "resolved: %s", why ? why : "");
        if (k == ALERT_FAILOVER_HELD)
                snprintf(out[n].gate, sizeof out[n].gate, "%s", s->gate);
        if (k == ALERT_CLUSTER_UNAVAILABLE)
                snprintf(out[n].member, sizeof out[n].member, "%s", s->member);
        return n + 1;
}

static size_t on_held(struct alert_state *s, const struct event *ev, uint64_t now, struct alert *out, size_t max) {
        const char *gate = ev->gate ? ev->gate : "";
        size_t n = 0;

        if (s->firing[ALERT_FAILOVER_HELD] && strcmp(s->gate, gate) == 0)
                return 0;
        n = resolve(s, ALERT_FAILOVER_HELD, ev->message, now, out, n, max);     /* another gate holds it now */
        n = fire(s, ALERT_FAILOVER_HELD, ev->message, now, out, n, max);
        snprintf(s->gate, sizeof s->gate, "%s", gate);
        if (n > 0)
                snprintf(out[n - 1].gate, sizeof out[n - 1].gate, "%s", gate);
        return n;
}

static size_t on_endpoint(struct alert_state *s, const struct event *ev, bool healthy, uint64_t now, struct alert *out,
                          size_t max) {
        bool standby = ev->role && strcmp(ev->role, "standby") == 0;
        size_t n = 0;

        if (standby && !healthy)
                return s->firing[ALERT_STANDBY_DOWN] ? 0 : fire(s, ALERT_STANDBY_DOWN, ev->message, now, out, 0, max);
        if (standby)
                return resolve(s, ALERT_STANDBY_DOWN, ev->message, now, out, 0, max);
        if (healthy) {
                n = resolve(s, ALERT_ACTIVE_DOWN, ev->message, now, out, n, max);
                n = resolve(s, ALERT_FAILOVER_HELD, ev->message, now, out, n, max);
        }
        return n;
}

/* Fires once per outage (the first reason stays: a later one is in the log); the member label tells the members
 * of one cluster apart, which share the pair's labels. The description carries the reason even if the message
 * does not. */
static size_t on_cluster_unavailable(struct alert_state *s, const struct event *ev, uint64_t now, struct alert *out,
                                     size_t max) {
        char why[ALERT_TEXT_MAX];
        const char *msg = ev->message ? ev->message : "";
        size_t n;

        if (s->firing[ALERT_CLUSTER_UNAVAILABLE])
                return 0;
        if (ev->reason && ev->reason[0] && !strstr(msg, ev->reason))
                snprintf(why, sizeof why, "%s%s%s", msg, msg[0] ? ": " : "", ev->reason);
        else
                snprintf(why, sizeof why, "%s", msg);
        n = fire(s, ALERT_CLUSTER_UNAVAILABLE, why, now, out, 0, max);
        snprintf(s->member, sizeof s->member, "%s", ev->member ? ev->member : "");
        if (n > 0)
                snprintf(out[0].member, sizeof out[0].member, "%s", s->member);
        return n;
}

size_t alert_on_event(struct alert_state *s, const struct event *ev, uint64_t now, struct alert *out, size_t max) {
        size_t n = 0;

        switch (ev->kind) {
        case EVENT_THRESHOLD_REACHED:
                return s->firing[ALERT_ACTIVE_DOWN] ? 0 : fire(s, ALERT_ACTIVE_DOWN, ev->message, now, out, 0, max);
        case EVENT_FAILOVER_HELD:
                return on_held(s, ev, now, out, max);
        case EVENT_FAILOVER_STARTED:
                n = resolve(s, ALERT_FAILOVER_HELD, ev->message, now, out, n, max);
                return fire(s, ALERT_FAILOVER_RUNNING, ev->message, now, out, n, max);
        case EVENT_FAILOVER_SUCCEEDED:
        case EVENT_FAILOVER_FAILED:
                n = resolve(s, ALERT_FAILOVER_RUNNING, ev->message, now, out, n, max);
                n = fire(s, ev->kind == EVENT_FAILOVER_SUCCEEDED ? ALERT_FAILOVER_SUCCEEDED : ALERT_FAILOVER_FAILED,
                         ev->message, now, out, n, max);
                if (ev->kind == EVENT_FAILOVER_FAILED && n > 0 && ev->step)
                        snprintf(out[n - 1].step, sizeof out[n - 1].step, "%s", ev->step);
                return n;
        case EVENT_PAUSED:
                return s->firing[ALERT_PAUSED] ? 0 : fire(s, ALERT_PAUSED, ev->message, now, out, 0, max);
        case EVENT_RESUMED:
                return resolve(s, ALERT_PAUSED, ev->message, now, out, 0, max);
        case EVENT_RECORD_CLEARED:     /* the pair was rebuilt: the last failover's news is over */
        case EVENT_OPERATION_SUCCEEDED: /* a rejoin or switchover made the pair whole again: so is it */
                n = resolve(s, ALERT_FAILOVER_SUCCEEDED, ev->message, now, out, n, max);
                n = resolve(s, ALERT_FAILOVER_FAILED, ev->message, now, out, n, max);
                return resolve(s, ALERT_OPERATION_FAILED, ev->message, now, out, n, max);
        case EVENT_OPERATION_FAILED:
        case EVENT_OPERATION_PUT_BACK:
                n = resolve(s, ALERT_OPERATION_FAILED, ev->message, now, out, n, max);  /* the newest one says */
                n = fire(s, ALERT_OPERATION_FAILED, ev->message, now, out, n, max);
                if (n > 0 && ev->step)
                        snprintf(out[n - 1].step, sizeof out[n - 1].step, "%s", ev->step);
                return n;
        case EVENT_ENDPOINT_FAILING:
                return on_endpoint(s, ev, false, now, out, max);
        case EVENT_ENDPOINT_HEALTHY:
                return on_endpoint(s, ev, true, now, out, max);
        case EVENT_CLUSTER_UNAVAILABLE:
                return on_cluster_unavailable(s, ev, now, out, max);
        case EVENT_CLUSTER_AVAILABLE:
                return resolve(s, ALERT_CLUSTER_UNAVAILABLE, ev->message, now, out, 0, max);
        default:
                return 0;
        }
}

size_t alert_on_lag(struct alert_state *s, bool known, uint64_t lag_bytes, uint64_t warning_bytes, uint64_t now,
                    struct alert *out, size_t max) {
        char why[160];

        if (!known || warning_bytes == 0)
                return 0;
        snprintf(why, sizeof why, "the standby database has %" PRIu64 " bytes of WAL received but not replayed "
                 "(alerts.lag_warning %" PRIu64 ")", lag_bytes, warning_bytes);
        if (lag_bytes > warning_bytes)
                return s->firing[ALERT_REPLICATION_LAG] ? 0 : fire(s, ALERT_REPLICATION_LAG, why, now, out, 0, max);
        return resolve(s, ALERT_REPLICATION_LAG, why, now, out, 0, max);
}

/* ---- the payload ---------------------------------------------------------------------------------------- */

/* Alertmanager's fingerprint is a hash of the label set; any stable 64-bit hash does for receivers that group or
 * deduplicate by it. FNV-1a over "name=value\n" pairs in the order we write them. */
static uint64_t fnv1a(uint64_t h, const char *s) {
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

struct label {
        const char *name, *value;
};

#define LABELS_MAX 10

static size_t alert_labels(const struct alert *a, const char *instance, const char *active, const char *standby,
                           char *pair, size_t pair_size, struct label l[LABELS_MAX]) {
        size_t n = 0;

        snprintf(pair, pair_size, "%s/%s", active, standby);

        l[n++] = (struct label) { "alertname", alert_kind_name(a->kind) };
        l[n++] = (struct label) { "severity", alert_kind_severity(a->kind) };
        l[n++] = (struct label) { "instance", instance };
        l[n++] = (struct label) { "service", "blfailoverd" };
        l[n++] = (struct label) { "active", active };
        l[n++] = (struct label) { "standby", standby };
        l[n++] = (struct label) { "pair", pair };       /* one value that tells pairs apart in a shared Alertmanager */
        if (a->gate[0])
                l[n++] = (struct label) { "gate", a->gate };
        if (a->step[0])
                l[n++] = (struct label) { "step", a->step };
        if (a->member[0])
                l[n++] = (struct label) { "member", a->member };
        return n;
}

static void write_labels(struct json *j, const struct label *l, size_t n) {
        json_object_begin(j);
        for (size_t i = 0; i < n; i++)
                json_key(j, l[i].name), json_string(j, l[i].value);
        json_object_end(j);
}

static void write_annotations(struct json *j, const struct alert *a) {
        json_object_begin(j);
        json_key(j, "summary"), json_string(j, kinds[a->kind].summary);
        json_key(j, "description"), json_string(j, a->description);
        json_object_end(j);
}

static void write_alert(struct json *j, const struct alert *a, const struct label *l, size_t n) {
        uint64_t fp = UINT64_C(0xcbf29ce484222325);
        char fingerprint[17];

        for (size_t i = 0; i < n; i++)
                fp = fnv1a(fnv1a(fnv1a(fnv1a(fp, l[i].name), "="), l[i].value), "\n");
        snprintf(fingerprint, sizeof fingerprint, "%016" PRIx64, fp);
        json_object_begin(j);
        json_key(j, "status"), json_string(j, a->resolved ? "resolved" : "firing");
        json_key(j, "labels"), write_labels(j, l, n);
        json_key(j, "annotations"), write_annotations(j, a);
        json_key(j, "startsAt"), json_time(j, a->starts_usec);
        /* Alertmanager's "no end known yet" is the zero time, not null. */
        json_key(j, "endsAt");
        if (a->resolved)
                json_time(j, a->ends_usec);
        else
                json_string(j, "0001-01-01T00:00:00Z");
        json_key(j, "generatorURL"), json_string(j, "");
        json_key(j, "fingerprint"), json_string(j, fingerprint);
        json_object_end(j);
}

int alert_render(const struct alert *a, const char *instance, const char *active, const char *standby,
                 char **ret_text, size_t *ret_size) {
        struct label l[LABELS_MAX];
        char pair[ALERT_PAIR_MAX];
        size_t n = alert_labels(a, instance, active, standby, pair, sizeof pair, l), size = 0;
        char *text = NULL, group_key[128];
        FILE *f = open_memstream(&text, &size);
        struct json j;

        if (!f)
                return -ENOMEM;
        snprintf(group_key, sizeof group_key, "{}:{alertname=\"%s\"}", alert_kind_name(a->kind));
        json_init(&j, f);
        json_object_begin(&j);
        json_key(&j, "version"), json_string(&j, "4");
        json_key(&j, "groupKey"), json_string(&j, group_key);
        json_key(&j, "truncatedAlerts"), json_u64(&j, 0);
        json_key(&j, "status"), json_string(&j, a->resolved ? "resolved" : "firing");
        json_key(&j, "receiver"), json_string(&j, "blfailoverd");
        json_key(&j, "groupLabels"), write_labels(&j, l, 1);
        json_key(&j, "commonLabels"), write_labels(&j, l, n);
        json_key(&j, "commonAnnotations"), write_annotations(&j, a);
        json_key(&j, "externalURL"), json_string(&j, "");
        json_key(&j, "alerts");
        json_array_begin(&j);
        write_alert(&j, a, l, n);
        json_array_end(&j);
        json_object_end(&j);
        fputc('\n', f);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_size = size;
        return 0;
}

/* ---- Alertmanager's API body ------------------------------------------------------------------------------- */

/* One postableAlert: no status or fingerprint (Alertmanager derives both), endsAt always set — in the future
 * while firing, so that an alert we stop re-sending (we died) resolves by itself. */
static void write_postable(struct json *j, const struct alert *a, const struct alert_source *src, uint64_t now,
                           uint64_t valid_usec) {
        struct label l[LABELS_MAX];
        char pair[ALERT_PAIR_MAX];
        size_t n = alert_labels(a, src->instance, src->active, src->standby, pair, sizeof pair, l);

        json_object_begin(j);
        json_key(j, "labels"), write_labels(j, l, n);
        json_key(j, "annotations"), write_annotations(j, a);
        json_key(j, "startsAt"), json_time(j, a->starts_usec);
        json_key(j, "endsAt"), json_time(j, a->resolved ? a->ends_usec : now + valid_usec);
        if (src->generator_url && src->generator_url[0])
                json_key(j, "generatorURL"), json_string(j, src->generator_url);
        json_object_end(j);
}

int alert_render_alertmanager(const struct alert *a, size_t n, const struct alert_source *src, uint64_t now_usec,
                              uint64_t valid_usec, char **ret_text, size_t *ret_size) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        struct json j;

        if (!f)
                return -ENOMEM;
        json_init(&j, f);
        json_array_begin(&j);
        for (size_t i = 0; i < n; i++)
                write_postable(&j, &a[i], src, now_usec, valid_usec);
        json_array_end(&j);
        fputc('\n', f);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_size = size;
        return 0;
}
