/* Unit tests for alert: which events fire and resolve which alerts (once, in order), the lag condition, the
 * Alertmanager webhook body and the Alertmanager API body. Also the webhook's backoff and retry policy, the set of
 * alerts kept for Alertmanager, and the hooks' environment (the pure parts of delivery). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "alertmanager.h"
#include "hooks.h"
#include "spawn.h"
#include "util.h"
#include "webhook.h"

#define NOW UINT64_C(1764100000000000)

static struct event ev_of(enum event_kind k, const char *role, const char *message) {
        return (struct event) { .kind = k, .role = role, .exit_status = -1, .message = message };
}

static size_t feed(struct alert_state *s, struct event ev, uint64_t now, struct alert *out) {
        return alert_on_event(s, &ev, now, out, 4);
}

static void alert__threshold__fires_once_resolves_on_recovery(void **unused) {
        struct alert_state s = {};
        struct alert a[4];

        assert_int_equal(feed(&s, ev_of(EVENT_THRESHOLD_REACHED, "active", "threshold"), NOW, a), 1);
        assert_int_equal(a[0].kind, ALERT_ACTIVE_DOWN);
        assert_false(a[0].resolved);
        assert_string_equal(a[0].description, "threshold");
        assert_int_equal(feed(&s, ev_of(EVENT_THRESHOLD_REACHED, "active", "again"), NOW + 1, a), 0);
        assert_int_equal(feed(&s, ev_of(EVENT_ENDPOINT_HEALTHY, "active", "healthy"), NOW + 5, a), 1);
        assert_int_equal(a[0].kind, ALERT_ACTIVE_DOWN);
        assert_true(a[0].resolved);
        assert_int_equal(a[0].starts_usec, NOW);
        assert_int_equal(a[0].ends_usec, NOW + 5);
        /* nothing left to resolve */
        assert_int_equal(feed(&s, ev_of(EVENT_ENDPOINT_HEALTHY, "active", "healthy"), NOW + 6, a), 0);
}

static void alert__failover_sequence__in_order(void **unused) {
        struct alert_state s = {};
        struct alert a[4];
        struct event held = ev_of(EVENT_FAILOVER_HELD, "standby", "held");
        struct event failed = ev_of(EVENT_FAILOVER_FAILED, NULL, "failed at promote");

        held.gate = "standby_unhealthy";
        assert_int_equal(alert_on_event(&s, &held, NOW, a, 4), 1);
        assert_int_equal(a[0].kind, ALERT_FAILOVER_HELD);
        assert_string_equal(a[0].gate, "standby_unhealthy");
        assert_int_equal(alert_on_event(&s, &held, NOW, a, 4), 0);      /* same gate: said once */
        held.gate = "replication_lag";                                  /* another gate: resolve, fire */
        assert_int_equal(alert_on_event(&s, &held, NOW, a, 4), 2);
        assert_true(a[0].resolved);
        assert_string_equal(a[0].gate, "standby_unhealthy");
        assert_false(a[1].resolved);
        assert_string_equal(a[1].gate, "replication_lag");
        assert_int_equal(feed(&s, ev_of(EVENT_FAILOVER_STARTED, NULL, "started"), NOW, a), 2);
        assert_int_equal(a[0].kind, ALERT_FAILOVER_HELD);
        assert_true(a[0].resolved);
        assert_int_equal(a[1].kind, ALERT_FAILOVER_RUNNING);
        failed.step = "promote";
        assert_int_equal(alert_on_event(&s, &failed, NOW, a, 4), 2);
        assert_int_equal(a[0].kind, ALERT_FAILOVER_RUNNING);
        assert_true(a[0].resolved);
        assert_int_equal(a[1].kind, ALERT_FAILOVER_FAILED);
        assert_string_equal(a[1].step, "promote");
}

static void alert__paused__fires_once_resolves_on_resume(void **unused) {
        struct alert_state s = {};
        struct alert a[4];

        assert_int_equal(feed(&s, ev_of(EVENT_PAUSED, NULL, "paused"), NOW, a), 1);
        assert_int_equal(a[0].kind, ALERT_PAUSED);
        assert_false(a[0].resolved);
        assert_string_equal(alert_kind_name(ALERT_PAUSED), "BlfailoverdPaused");
        assert_int_equal(feed(&s, ev_of(EVENT_PAUSED, NULL, "paused"), NOW + 1, a), 0);
        assert_int_equal(feed(&s, ev_of(EVENT_RESUMED, NULL, "resumed"), NOW + 2, a), 1);
        assert_true(a[0].resolved);
        assert_int_equal(feed(&s, ev_of(EVENT_RESUMED, NULL, "resumed"), NOW + 3, a), 0);
}

/* The failover's own alerts fire once and stay: only clearing the record (the pair was rebuilt) ends them. */
static void alert__record_cleared__resolves_the_failover_alerts(void **unused) {
        struct alert_state s = {};
        struct alert a[4];

        assert_int_equal(feed(&s, ev_of(EVENT_FAILOVER_STARTED, NULL, "started"), NOW, a), 1);
        assert_int_equal(feed(&s, ev_of(EVENT_FAILOVER_SUCCEEDED, NULL, "succeeded"), NOW + 1, a), 2);
        assert_int_equal(a[1].kind, ALERT_FAILOVER_SUCCEEDED);
        assert_int_equal(feed(&s, ev_of(EVENT_RECORD_CLEARED, NULL, "cleared"), NOW + 2, a), 1);
        assert_int_equal(a[0].kind, ALERT_FAILOVER_SUCCEEDED);
        assert_true(a[0].resolved);
        assert_int_equal(a[0].ends_usec, NOW + 2);
        assert_int_equal(feed(&s, ev_of(EVENT_RECORD_CLEARED, NULL, "cleared"), NOW + 3, a), 0);
}

/* A switchover or rejoin that fails (or is put back) fires once per failure with its step; the next that succeeds
 * resolves it, and a successful rejoin also ends the failover's own news (the pair is whole again). */
static void alert__operation_failed__fires_with_step_resolved_by_success(void **unused) {
        struct alert_state s = {};
        struct alert a[4];
        struct event failed = ev_of(EVENT_OPERATION_FAILED, NULL, "switchover: failed at step switch");

        failed.step = "switch";
        assert_int_equal(feed(&s, ev_of(EVENT_FAILOVER_STARTED, NULL, "started"), NOW, a), 1);
        assert_int_equal(feed(&s, ev_of(EVENT_FAILOVER_SUCCEEDED, NULL, "succeeded"), NOW + 1, a), 2);
        assert_int_equal(feed(&s, failed, NOW + 2, a), 1);
        assert_int_equal(a[0].kind, ALERT_OPERATION_FAILED);
        assert_false(a[0].resolved);
        assert_string_equal(a[0].step, "switch");
        assert_string_equal(alert_kind_name(ALERT_OPERATION_FAILED), "BlfailoverdOperationFailed");
        assert_int_equal(feed(&s, ev_of(EVENT_OPERATION_SUCCEEDED, NULL, "rejoin: succeeded"), NOW + 3, a), 2);
        assert_int_equal(a[0].kind, ALERT_FAILOVER_SUCCEEDED);
        assert_true(a[0].resolved);
        assert_int_equal(a[1].kind, ALERT_OPERATION_FAILED);
        assert_true(a[1].resolved);
        assert_int_equal(feed(&s, ev_of(EVENT_OPERATION_SUCCEEDED, NULL, "again"), NOW + 4, a), 0);
        /* a put back is a failure too */
        assert_int_equal(feed(&s, ev_of(EVENT_OPERATION_PUT_BACK, NULL, "put back"), NOW + 5, a), 1);
        assert_int_equal(a[0].kind, ALERT_OPERATION_FAILED);
}

static void alert__standby__fires_and_resolves_other_events_nothing(void **unused) {
        struct alert_state s = {};
        struct alert a[4];

        assert_int_equal(feed(&s, ev_of(EVENT_ENDPOINT_HEALTHY, "standby", "up"), NOW, a), 0);
        assert_int_equal(feed(&s, ev_of(EVENT_ENDPOINT_FAILING, "standby", "down"), NOW, a), 1);
        assert_int_equal(a[0].kind, ALERT_STANDBY_DOWN);
        assert_int_equal(feed(&s, ev_of(EVENT_ENDPOINT_FAILING, "active", "1/3"), NOW, a), 0);
        assert_int_equal(feed(&s, ev_of(EVENT_STEP_SUCCEEDED, NULL, "step"), NOW, a), 0);
        assert_int_equal(feed(&s, ev_of(EVENT_ENDPOINT_HEALTHY, "standby", "up"), NOW, a), 1);
        assert_true(a[0].resolved);
        assert_string_equal(a[0].description, "resolved: up");
}

static void alert__lag__above_warning_fires_below_resolves_off_is_silent(void **unused) {
        struct alert_state s = {};
        struct alert a[4];

        assert_int_equal(alert_on_lag(&s, true, 100, 0, NOW, a, 4), 0);         /* off */
        assert_int_equal(alert_on_lag(&s, true, 100, 100, NOW, a, 4), 0);       /* not above */
        assert_int_equal(alert_on_lag(&s, true, 101, 100, NOW, a, 4), 1);
        assert_int_equal(a[0].kind, ALERT_REPLICATION_LAG);
        assert_non_null(strstr(a[0].description, "101 bytes"));
        assert_int_equal(alert_on_lag(&s, true, 500, 100, NOW, a, 4), 0);
        assert_int_equal(alert_on_lag(&s, false, 0, 100, NOW, a, 4), 0);       /* unknown changes nothing */
        assert_int_equal(alert_on_lag(&s, true, 0, 100, NOW, a, 4), 1);
        assert_true(a[0].resolved);
}

static void alert__render__alertmanager_webhook_shape(void **unused) {
        struct alert a = { .kind = ALERT_FAILOVER_HELD, .starts_usec = NOW };
        char *t;
        size_t size;

        strcpy(a.gate, "split_brain");
        strcpy(a.description, "held: \"primary\" answers\n");
        assert_int_equal(alert_render(&a, "mon1", "active_api", "standby_api", &t, &size), 0);
        assert_non_null(strstr(t, "{\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"BlfailoverdFailoverHeld\\\"}\""));
        assert_non_null(strstr(t, "\"status\":\"firing\",\"receiver\":\"blfailoverd\""));
        assert_non_null(strstr(t, "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"BlfailoverdFailoverHeld\","
                                  "\"severity\":\"critical\",\"instance\":\"mon1\",\"service\":\"blfailoverd\","
                                  "\"active\":\"active_api\",\"standby\":\"standby_api\",\"pair\":\"active_api/standby_api\","
                                  "\"gate\":\"split_brain\"}"));
        assert_non_null(strstr(t, "\"description\":\"held: \\\"primary\\\" answers\\n\""));
        assert_non_null(strstr(t, "\"startsAt\":\"2025-11-25T19:46:40.000Z\",\"endsAt\":\"0001-01-01T00:00:00Z\""));
        assert_non_null(strstr(t, "\"fingerprint\":\""));
        free(t);
        a.resolved = true;
        a.ends_usec = NOW + 2 * USEC_PER_SEC;
        assert_int_equal(alert_render(&a, "mon1", "active_api", "standby_api", &t, &size), 0);
        assert_non_null(strstr(t, "\"alerts\":[{\"status\":\"resolved\""));
        assert_non_null(strstr(t, "\"endsAt\":\"2025-11-25T19:46:42.000Z\""));
        free(t);
}

/* Alertmanager's POST /api/v2/alerts takes an array of postableAlerts: what issue 11 saw refused was an object. */
static void alert__render_alertmanager__postable_alerts_array(void **unused) {
        struct alert a[2] = {
                { .kind = ALERT_ACTIVE_DOWN, .starts_usec = NOW },
                { .kind = ALERT_FAILOVER_HELD, .resolved = true, .starts_usec = NOW - 60 * USEC_PER_SEC,
                  .ends_usec = NOW + 500 * USEC_PER_MSEC },
        };
        struct alert_source src = { "mon1", "active_api", "standby_api", "http://mon1:9187/health" };
        char *t;
        size_t size;

        strcpy(a[0].description, "3 failures");
        strcpy(a[1].gate, "standby_unhealthy");
        strcpy(a[1].description, "resolved: \"ok\"");
        assert_int_equal(alert_render_alertmanager(a, 2, &src, NOW + USEC_PER_SEC, 240 * USEC_PER_SEC, &t, &size), 0);
        assert_int_equal(size, strlen(t));
        assert_string_equal(t,
                "[{\"labels\":{\"alertname\":\"BlfailoverdActiveDown\",\"severity\":\"critical\",\"instance\":\"mon1\","
                "\"service\":\"blfailoverd\",\"active\":\"active_api\",\"standby\":\"standby_api\","
                "\"pair\":\"active_api/standby_api\"},"
                "\"annotations\":{\"summary\":\"The active API failed its health checks up to the failover threshold\","
                "\"description\":\"3 failures\"},"
                "\"startsAt\":\"2025-11-25T19:46:40.000Z\",\"endsAt\":\"2025-11-25T19:50:41.000Z\","
                "\"generatorURL\":\"http://mon1:9187/health\"},"
                "{\"labels\":{\"alertname\":\"BlfailoverdFailoverHeld\",\"severity\":\"critical\",\"instance\":\"mon1\","
                "\"service\":\"blfailoverd\",\"active\":\"active_api\",\"standby\":\"standby_api\","
                "\"pair\":\"active_api/standby_api\",\"gate\":\"standby_unhealthy\"},"
                "\"annotations\":{\"summary\":\"A failover is due but a safety gate holds it\","
                "\"description\":\"resolved: \\\"ok\\\"\"},"
                "\"startsAt\":\"2025-11-25T19:45:40.000Z\",\"endsAt\":\"2025-11-25T19:46:40.500Z\","
                "\"generatorURL\":\"http://mon1:9187/health\"}]\n");
        free(t);
        src.generator_url = NULL;                               /* no metrics.listen: no link */
        assert_int_equal(alert_render_alertmanager(a, 1, &src, NOW, 240 * USEC_PER_SEC, &t, &size), 0);
        assert_null(strstr(t, "generatorURL"));
        assert_null(strstr(t, "\"status\""));                   /* Alertmanager derives it from endsAt */
        free(t);
        assert_int_equal(alert_render_alertmanager(a, 0, &src, NOW, 240 * USEC_PER_SEC, &t, &size), 0);
        assert_string_equal(t, "[]\n");
        free(t);
}

static void alertmanager__set__same_labels_replace_resolved_expire(void **unused) {
        struct alertmanager_set s = {};
        struct alert down = { .kind = ALERT_ACTIVE_DOWN, .starts_usec = NOW };
        struct alert held_a = { .kind = ALERT_FAILOVER_HELD, .starts_usec = NOW }, held_b = held_a;

        strcpy(held_a.gate, "split_brain");
        strcpy(held_b.gate, "confirm");
        assert_int_equal(alertmanager_set_apply(&s, &down), 0);
        assert_int_equal(alertmanager_set_apply(&s, &held_a), 0);
        assert_int_equal(alertmanager_set_apply(&s, &held_b), 0);       /* another gate: another alert */
        assert_int_equal(s.n, 3);
        down.resolved = true;
        down.ends_usec = NOW + 10 * USEC_PER_SEC;
        assert_int_equal(alertmanager_set_apply(&s, &down), 0);         /* the resolve replaces the firing one */
        assert_int_equal(s.n, 3);
        assert_true(s.alerts[0].resolved);
        /* kept (and re-sent) for a while after it resolved, then dropped */
        assert_int_equal(alertmanager_set_expire(&s, down.ends_usec + ALERTMANAGER_RESOLVED_KEEP_USEC - 1), 0);
        assert_int_equal(alertmanager_set_expire(&s, down.ends_usec + ALERTMANAGER_RESOLVED_KEEP_USEC), 1);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.alerts[0].gate, "split_brain");
        assert_string_equal(s.alerts[1].gate, "confirm");
        /* full of firing alerts: refused; a resolved one makes room */
        for (size_t i = s.n; i < ALERTMANAGER_SET_MAX; i++) {
                struct alert x = { .kind = ALERT_FAILOVER_FAILED };

                snprintf(x.step, sizeof x.step, "s%zu", i);
                assert_int_equal(alertmanager_set_apply(&s, &x), 0);
        }
        assert_int_equal(alertmanager_set_apply(&s, &down), -ENOSPC);
        held_a.resolved = true;
        assert_int_equal(alertmanager_set_apply(&s, &held_a), 0);
        assert_int_equal(alertmanager_set_apply(&s, &down), 0);
        assert_int_equal(s.alerts[0].kind, ALERT_ACTIVE_DOWN);
        assert_int_equal(s.n, ALERTMANAGER_SET_MAX);
}

static void alertmanager__api_url__appended_once(void **unused) {
        static const struct { const char *base, *url; } cases[] = {
                { "http://am:9093", "http://am:9093/api/v2/alerts" },
                { "http://am:9093/", "http://am:9093/api/v2/alerts" },
                { "https://u:p@am.example/prefix//", "https://u:p@am.example/prefix/api/v2/alerts" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *url = alertmanager_api_url(cases[i].base);

                assert_string_equal(url, cases[i].url);
                free(url);
        }
}

/* Issue 11: a 400 was retried on every event. A 4xx is the receiver saying the body is wrong: never again. */
static void webhook__verdict__4xx_never_retried_others_until_exhausted(void **unused) {
        assert_int_equal(webhook_verdict(HEALTH_OK, 200, 1, 3), WEBHOOK_DELIVERED);
        assert_int_equal(webhook_verdict(HEALTH_OK, 204, 4, 3), WEBHOOK_DELIVERED);
        assert_int_equal(webhook_verdict(HEALTH_HTTP_STATUS, 400, 1, 3), WEBHOOK_REFUSED);
        assert_int_equal(webhook_verdict(HEALTH_HTTP_STATUS, 404, 1, 10), WEBHOOK_REFUSED);
        assert_int_equal(webhook_verdict(HEALTH_HTTP_STATUS, 499, 1, 3), WEBHOOK_REFUSED);
        assert_int_equal(webhook_verdict(HEALTH_HTTP_STATUS, 408, 1, 3), WEBHOOK_RETRY);      /* "later", not "wrong" */
        assert_int_equal(webhook_verdict(HEALTH_HTTP_STATUS, 429, 1, 3), WEBHOOK_RETRY);
        assert_int_equal(webhook_verdict(HEALTH_HTTP_STATUS, 500, 1, 3), WEBHOOK_RETRY);
        assert_int_equal(webhook_verdict(HEALTH_HTTP_STATUS, 503, 3, 3), WEBHOOK_RETRY);
        assert_int_equal(webhook_verdict(HEALTH_HTTP_STATUS, 503, 4, 3), WEBHOOK_GIVE_UP);
        assert_int_equal(webhook_verdict(HEALTH_HTTP_STATUS, 302, 1, 3), WEBHOOK_RETRY);  /* redirects not followed */
        assert_int_equal(webhook_verdict(HEALTH_TIMEOUT, 0, 1, 3), WEBHOOK_RETRY);
        assert_int_equal(webhook_verdict(HEALTH_CONNECT_ERROR, 0, 1, 0), WEBHOOK_GIVE_UP);
        assert_int_equal(webhook_verdict(HEALTH_PROTOCOL_ERROR, 0, 2, 3), WEBHOOK_RETRY);
}

static void webhook__backoff__doubles_and_caps(void **unused) {
        assert_int_equal(webhook_backoff_usec(1), 1 * USEC_PER_SEC);
        assert_int_equal(webhook_backoff_usec(2), 2 * USEC_PER_SEC);
        assert_int_equal(webhook_backoff_usec(3), 4 * USEC_PER_SEC);
        assert_int_equal(webhook_backoff_usec(6), WEBHOOK_BACKOFF_MAX_USEC);
        assert_int_equal(webhook_backoff_usec(1000), WEBHOOK_BACKOFF_MAX_USEC);
}

static void hooks__env__documented_variables(void **unused) {
        struct event ev = { .kind = EVENT_STEP_FAILED, .step = "promote", .exit_status = 255,
                            .message = "failover: step promote failed" };
        char **env;

        assert_int_equal(hooks_event_env(&ev, "active_api", "standby_api", &env), 0);
        assert_string_equal(env[0], "BLF_EVENT=step_failed");
        assert_string_equal(env[1], "BLF_ACTIVE=active_api");
        assert_string_equal(env[2], "BLF_STANDBY=standby_api");
        assert_string_equal(env[3], "BLF_STEP=promote");
        assert_string_equal(env[4], "BLF_RESULT=failed");
        assert_string_equal(env[5], "BLF_DETAIL=failover: step promote failed");
        assert_string_equal(env[6], "BLF_ROLE=");
        assert_string_equal(env[9], "BLF_EXIT_STATUS=255");
        assert_null(env[10]);
        strv_free(env);
        ev = (struct event) { .kind = EVENT_FAILOVER_HELD, .gate = "confirm", .exit_status = -1, .message = "held" };
        assert_int_equal(hooks_event_env(&ev, "a", "b", &env), 0);
        assert_string_equal(env[4], "BLF_RESULT=held");
        assert_string_equal(env[8], "BLF_GATE=confirm");
        assert_string_equal(env[9], "BLF_EXIT_STATUS=");
        strv_free(env);
        /* the lifecycle operations say how they ended too */
        ev = (struct event) { .kind = EVENT_OPERATION_PUT_BACK, .step = "stop_old_primary", .exit_status = 4,
                              .message = "switchover: failed at step stop_old_primary; put back" };
        assert_int_equal(hooks_event_env(&ev, "a", "b", &env), 0);
        assert_string_equal(env[0], "BLF_EVENT=operation_put_back");
        assert_string_equal(env[4], "BLF_RESULT=failed");
        strv_free(env);
        ev = (struct event) { .kind = EVENT_OPERATION_REFUSED, .step = "check_replication", .exit_status = 3,
                              .message = "switchover: refused" };
        assert_int_equal(hooks_event_env(&ev, "a", "b", &env), 0);
        assert_string_equal(env[4], "BLF_RESULT=refused");
        strv_free(env);
}

static void hooks__full_env__minimal_then_blf(void **unused) {
        char *extra[] = { "BLF_EVENT=x", "BLF_STEP=", NULL };
        char **env = spawn_env_minimal_with(extra);
        size_t n = strv_length(env);

        assert_non_null(env);
        assert_true(n >= 4);
        assert_int_equal(strncmp(env[0], "PATH=", 5), 0);
        assert_string_equal(env[1], "LANG=C.UTF-8");
        assert_string_equal(env[n - 2], "BLF_EVENT=x");
        assert_string_equal(env[n - 1], "BLF_STEP=");
        strv_free(env);
}

static struct event cluster_ev(enum event_kind k, const char *message, const char *reason) {
        return (struct event) { .kind = k, .exit_status = -1, .member = "mon-b", .reason = reason, .message = message };
}

/* One alert per outage with the member as a label and the reason in the description; cluster_available resolves
 * it; other events leave it alone. */
static void alert__cluster_unavailable__fires_once_with_member_and_reason(void **unused) {
        struct alert_state s = {};
        struct alert a[4];
        struct event down = cluster_ev(EVENT_CLUSTER_UNAVAILABLE, "cluster: mon-b cannot use etcd",
                                       "every endpoint failed: 127.0.0.1:25440 connection refused");
        struct alert_source src = { "mon2", "active_api", "standby_api", NULL };
        char *t;
        size_t size;

        assert_int_equal(alert_on_event(&s, &down, NOW, a, 4), 1);
        assert_int_equal(a[0].kind, ALERT_CLUSTER_UNAVAILABLE);
        assert_false(a[0].resolved);
        assert_string_equal(a[0].member, "mon-b");
        assert_string_equal(a[0].description, "cluster: mon-b cannot use etcd: every endpoint failed: "
                                              "127.0.0.1:25440 connection refused");
        assert_string_equal(alert_kind_name(ALERT_CLUSTER_UNAVAILABLE), "BlfailoverdClusterUnavailable");
        assert_int_equal(alert_render_alertmanager(a, 1, &src, NOW, 240 * USEC_PER_SEC, &t, &size), 0);
        assert_non_null(strstr(t, "\"alertname\":\"BlfailoverdClusterUnavailable\",\"severity\":\"critical\""));
        assert_non_null(strstr(t, "\"pair\":\"active_api/standby_api\",\"member\":\"mon-b\"}"));
        assert_non_null(strstr(t, "127.0.0.1:25440 connection refused\"}"));
        free(t);
        /* a second reason during the same outage: said in the log, not a new alert */
        down.reason = "etcd has no quorum";
        assert_int_equal(alert_on_event(&s, &down, NOW + 1, a, 4), 0);
        assert_int_equal(feed(&s, ev_of(EVENT_CLUSTER_LEADING, NULL, "leading"), NOW + 2, a), 0);
        assert_int_equal(feed(&s, ev_of(EVENT_ENDPOINT_HEALTHY, "active", "healthy"), NOW + 2, a), 0);
        assert_int_equal(feed(&s, cluster_ev(EVENT_CLUSTER_AVAILABLE, "cluster: etcd answers again", NULL),
                              NOW + 5, a), 1);
        assert_int_equal(a[0].kind, ALERT_CLUSTER_UNAVAILABLE);
        assert_true(a[0].resolved);
        assert_string_equal(a[0].member, "mon-b");
        assert_int_equal(a[0].starts_usec, NOW);
        assert_int_equal(a[0].ends_usec, NOW + 5);
        assert_int_equal(feed(&s, cluster_ev(EVENT_CLUSTER_AVAILABLE, "again", NULL), NOW + 6, a), 0);
        /* a message that already says the reason is not repeated */
        down.reason = "etcd has no quorum";
        down.message = "cluster: unavailable: etcd has no quorum";
        assert_int_equal(alert_on_event(&s, &down, NOW + 7, a, 4), 1);
        assert_string_equal(a[0].description, "cluster: unavailable: etcd has no quorum");
}

/* Two members' alerts in one Alertmanager set are two alerts: the member label tells them apart. */
static void alertmanager__set__member_is_part_of_the_labels(void **unused) {
        struct alertmanager_set s = {};
        struct alert a = { .kind = ALERT_CLUSTER_UNAVAILABLE, .starts_usec = NOW }, b = a;

        strcpy(a.member, "mon-a");
        strcpy(b.member, "mon-b");
        assert_int_equal(alertmanager_set_apply(&s, &a), 0);
        assert_int_equal(alertmanager_set_apply(&s, &b), 0);
        assert_int_equal(s.n, 2);
        b.resolved = true;
        assert_int_equal(alertmanager_set_apply(&s, &b), 0);
        assert_int_equal(s.n, 2);
        assert_false(s.alerts[0].resolved);
        assert_true(s.alerts[1].resolved);
}

static void hooks__env__cluster_events_carry_member_peer_reason(void **unused) {
        struct event ev = { .kind = EVENT_CLUSTER_TAKEOVER, .exit_status = -1, .member = "mon-b", .peer = "mon-a",
                            .message = "cluster: mon-b took over from mon-a" };
        char **env;

        assert_int_equal(hooks_event_env(&ev, "a", "b", &env), 0);
        assert_string_equal(env[0], "BLF_EVENT=cluster_takeover");
        assert_string_equal(env[4], "BLF_RESULT=");
        assert_string_equal(env[10], "BLF_MEMBER=mon-b");
        assert_string_equal(env[11], "BLF_PEER=mon-a");
        assert_string_equal(env[12], "BLF_REASON=");
        assert_null(env[13]);
        strv_free(env);
        ev = (struct event) { .kind = EVENT_CLUSTER_UNAVAILABLE, .exit_status = -1, .member = "mon-b",
                              .reason = "etcd has no quorum", .message = "cluster: unavailable" };
        assert_int_equal(hooks_event_env(&ev, "a", "b", &env), 0);
        assert_string_equal(env[0], "BLF_EVENT=cluster_unavailable");
        assert_string_equal(env[4], "BLF_RESULT=unavailable");
        assert_string_equal(env[12], "BLF_REASON=etcd has no quorum");
        strv_free(env);
        ev.kind = EVENT_CLUSTER_AVAILABLE;
        assert_int_equal(hooks_event_env(&ev, "a", "b", &env), 0);
        assert_string_equal(env[4], "BLF_RESULT=available");
        strv_free(env);
        assert_true(hooks_wants(EVENT_CLUSTER_DEPOSED));
}

static void hooks__wants__everything_but_output_and_stop(void **unused) {
        assert_true(hooks_wants(EVENT_FAILOVER_STARTED));
        assert_true(hooks_wants(EVENT_THRESHOLD_REACHED));
        assert_false(hooks_wants(EVENT_STEP_OUTPUT));
        assert_false(hooks_wants(EVENT_STOPPING));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(alert__threshold__fires_once_resolves_on_recovery),
                cmocka_unit_test(alert__failover_sequence__in_order),
                cmocka_unit_test(alert__record_cleared__resolves_the_failover_alerts),
                cmocka_unit_test(alert__operation_failed__fires_with_step_resolved_by_success),
                cmocka_unit_test(alert__paused__fires_once_resolves_on_resume),
                cmocka_unit_test(alert__standby__fires_and_resolves_other_events_nothing),
                cmocka_unit_test(alert__lag__above_warning_fires_below_resolves_off_is_silent),
                cmocka_unit_test(alert__render__alertmanager_webhook_shape),
                cmocka_unit_test(alert__render_alertmanager__postable_alerts_array),
                cmocka_unit_test(alertmanager__set__same_labels_replace_resolved_expire),
                cmocka_unit_test(alertmanager__api_url__appended_once),
                cmocka_unit_test(webhook__verdict__4xx_never_retried_others_until_exhausted),
                cmocka_unit_test(webhook__backoff__doubles_and_caps),
                cmocka_unit_test(hooks__env__documented_variables),
                cmocka_unit_test(hooks__full_env__minimal_then_blf),
                cmocka_unit_test(hooks__wants__everything_but_output_and_stop),
                cmocka_unit_test(alert__cluster_unavailable__fires_once_with_member_and_reason),
                cmocka_unit_test(alertmanager__set__member_is_part_of_the_labels),
                cmocka_unit_test(hooks__env__cluster_events_carry_member_peer_reason),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
