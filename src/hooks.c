/* hooks: hooks.command per event, one at a time, bounded, environment BLF_*. */
#include "hooks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "spawn.h"
#include "util.h"

struct hooks_item {
        char **env;                     /* the full environment (minimal + BLF_*) */
        char event[40];
};

struct hooks {
        sd_event *event;
        char **argv;
        char *argv_shown;
        uint64_t timeout_usec;
        struct hooks_item queue[HOOKS_QUEUE_MAX];       /* a ring; the head runs */
        size_t head, n;
        struct spawn *running;
};

bool hooks_wants(enum event_kind k) {
        return k != EVENT_STEP_OUTPUT && k != EVENT_STOPPING && k < _EVENT_KIND_MAX;
}

static const char *result_word(const struct event *ev) {
        switch (ev->kind) {
        case EVENT_STEP_SUCCEEDED:
        case EVENT_FAILOVER_SUCCEEDED:
        case EVENT_OPERATION_SUCCEEDED:
                return "ok";
        case EVENT_STEP_FAILED:
        case EVENT_FAILOVER_FAILED:
        case EVENT_OPERATION_FAILED:
        case EVENT_OPERATION_PUT_BACK:
                return "failed";
        case EVENT_OPERATION_REFUSED:
                return "refused";
        case EVENT_FAILOVER_HELD:
                return "held";
        case EVENT_ENDPOINT_HEALTHY:
                return "healthy";
        case EVENT_ENDPOINT_FAILING:
                return "failing";
        case EVENT_THRESHOLD_REACHED:
                return "reached";
        case EVENT_FAILOVER_STARTED:
        case EVENT_OPERATION_STARTED:
        case EVENT_STEP_STARTED:
                return "started";
        case EVENT_CLUSTER_UNAVAILABLE:
                return "unavailable";
        case EVENT_CLUSTER_AVAILABLE:
                return "available";
        default:
                return "";
        }
}

static int push(char **v, size_t *n, const char *key, const char *value) {
        if (asprintf(&v[*n], "%s=%s", key, value ? value : "") < 0) {
                v[*n] = NULL;
                return -ENOMEM;
        }
        (*n)++;
        return 0;
}

/* Only a cluster member's events carry these: a standalone daemon's hooks see the environment they always did. */
static int push_cluster(char **v, size_t *n, const struct event *ev) {
        int r;

        if (!ev->member)
                return 0;
        if ((r = push(v, n, "BLF_MEMBER", ev->member)) < 0 || (r = push(v, n, "BLF_PEER", ev->peer)) < 0)
                return r;
        return push(v, n, "BLF_REASON", ev->reason);
}

int hooks_event_env(const struct event *ev, const char *active, const char *standby, char ***ret) {
        char **v = calloc(16, sizeof(char *)), status[16];
        size_t n = 0;
        int r = 0;

        if (!v)
                return -ENOMEM;
        snprintf(status, sizeof status, "%d", ev->exit_status);
        if ((r = push(v, &n, "BLF_EVENT", event_kind_to_string(ev->kind))) < 0 ||
            (r = push(v, &n, "BLF_ACTIVE", active)) < 0 || (r = push(v, &n, "BLF_STANDBY", standby)) < 0 ||
            (r = push(v, &n, "BLF_STEP", ev->step)) < 0 || (r = push(v, &n, "BLF_RESULT", result_word(ev))) < 0 ||
            (r = push(v, &n, "BLF_DETAIL", ev->message)) < 0 || (r = push(v, &n, "BLF_ROLE", ev->role)) < 0 ||
            (r = push(v, &n, "BLF_ENDPOINT", ev->endpoint)) < 0 || (r = push(v, &n, "BLF_GATE", ev->gate)) < 0 ||
            (r = push(v, &n, "BLF_EXIT_STATUS", ev->exit_status >= 0 ? status : "")) < 0 ||
            (r = push_cluster(v, &n, ev)) < 0) {
                strv_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

static void pop(struct hooks *h) {
        strv_free(h->queue[h->head].env);
        h->queue[h->head] = (struct hooks_item) {};
        h->head = (h->head + 1) % HOOKS_QUEUE_MAX;
        h->n--;
}

static void start_next(struct hooks *h);

/* Output goes to the log line by line, like a failover step's. */
static void log_output(const struct hooks_item *it, const struct spawn_result *res) {
        const char *p = res->output, *end = res->output + res->output_len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                int len = (int) ((nl ? nl : end) - p);
                if (len > 0)
                        log_info("hook %s: output: %.*s", it->event, len, p);
                p = nl ? nl + 1 : end;
        }
        if (res->output_truncated)
                log_info("hook %s: output was cut at %u bytes", it->event, SPAWN_OUTPUT_MAX);
}

static void on_done(struct spawn *s, const struct spawn_result *res, void *userdata) {
        struct hooks *h = userdata;
        struct hooks_item *it = &h->queue[h->head];
        char outcome[128];

        spawn_outcome_describe(res, outcome, sizeof outcome);
        log_output(it, res);
        if (spawn_result_ok(res))
                log_info("hook %s: %s: %s (%.3fs)", it->event, h->argv_shown, outcome, (double) res->duration_usec / 1e6);
        else if (res->outcome == SPAWN_TIMED_OUT)       /* the outcome already says how long */
                log_warning("hook %s: %s: %s, killed; the daemon carries on", it->event, h->argv_shown, outcome);
        else
                log_warning("hook %s: %s: %s (%.3fs); the daemon carries on", it->event, h->argv_shown, outcome,
                            (double) res->duration_usec / 1e6);
        h->running = spawn_free(h->running);
        pop(h);
        start_next(h);
}

static void start_next(struct hooks *h) {
        while (h->n > 0 && !h->running) {
                struct hooks_item *it = &h->queue[h->head];
                int r = spawn_start(h->event, h->argv, it->env, h->timeout_usec, on_done, h, &h->running);
                if (r >= 0)
                        return;
                log_error_errno(r, "hook %s: cannot run %s: %s", it->event, h->argv_shown, strerror(-r));
                h->running = NULL;
                pop(h);
        }
}

int hooks_run(struct hooks *h, char **env_extra, const char *event_name) {
        char **env = spawn_env_minimal_with(env_extra);
        struct hooks_item *it;

        strv_free(env_extra);
        if (!env)
                return -ENOMEM;
        if (h->n == HOOKS_QUEUE_MAX) {
                /* The head is running: drop the oldest one waiting behind it. */
                size_t victim = (h->head + 1) % HOOKS_QUEUE_MAX;
                log_warning("hooks: %u runs queued behind a slow hook: dropping the oldest waiting one (%s)",
                            HOOKS_QUEUE_MAX, h->queue[victim].event);
                strv_free(h->queue[victim].env);
                for (size_t i = victim; i != (h->head + h->n - 1) % HOOKS_QUEUE_MAX; i = (i + 1) % HOOKS_QUEUE_MAX)
                        h->queue[i] = h->queue[(i + 1) % HOOKS_QUEUE_MAX];
                h->n--;
        }
        it = &h->queue[(h->head + h->n) % HOOKS_QUEUE_MAX];
        *it = (struct hooks_item) { .env = env };
        snprintf(it->event, sizeof it->event, "%s", event_name);
        h->n++;
        start_next(h);
        return 0;
}

int hooks_new(sd_event *e, char *const argv[], uint64_t timeout_usec, struct hooks **ret) {
        struct hooks *h = calloc(1, sizeof *h);

        if (!h)
                return -ENOMEM;
        *h = (struct hooks) { .event = sd_event_ref(e), .timeout_usec = timeout_usec };
        h->argv = strv_copy(argv);
        h->argv_shown = h->argv ? spawn_argv_to_string(h->argv) : NULL;
        if (!h->argv_shown) {
                hooks_free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

struct hooks *hooks_free(struct hooks *h) {
        if (!h)
                return NULL;
        if (h->n > (h->running ? 1u : 0u))
                log_warning("hooks: %zu queued hook run(s) not started (stopping or reconfigured)",
                            h->n - (h->running ? 1u : 0u));
        spawn_free(h->running);
        while (h->n > 0)
                pop(h);
        sd_event_unref(h->event);
        strv_free(h->argv);
        free(h->argv_shown);
        free(h);
        return NULL;
}
