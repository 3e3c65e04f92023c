/* monitor: failure counting and the failover decision, as pure functions. */
#include "monitor.h"

enum monitor_change monitor_record(struct monitor_endpoint *e, bool ok, unsigned threshold) {
        if (ok) {
                bool was_up = e->health == MONITOR_UP;

                e->health = MONITOR_UP;
                e->consecutive_failures = 0;
                return was_up ? MONITOR_UNCHANGED : MONITOR_BECAME_UP;
        }
        e->health = MONITOR_DOWN;
        if (e->consecutive_failures < 1000000u)
                e->consecutive_failures++;
        return e->consecutive_failures <= threshold ? MONITOR_FAILING : MONITOR_UNCHANGED;
}

enum monitor_decision monitor_decide(const struct monitor_view *v) {
        if (v->active->consecutive_failures < v->threshold)
                return MONITOR_WAIT;
        if (v->failover_running)
                return MONITOR_BUSY;
        if (v->failed_over)
                return MONITOR_HOLD_ALREADY_DONE;
        if (v->standby->health != MONITOR_UP)
                return MONITOR_HOLD_STANDBY_UNHEALTHY;
        return MONITOR_FAILOVER;
}

const char *monitor_decision_to_string(enum monitor_decision d) {
        switch (d) {
        case MONITOR_WAIT:                      return "wait";
        case MONITOR_FAILOVER:                  return "failover";
        case MONITOR_HOLD_STANDBY_UNHEALTHY:    return "standby_unhealthy";
        case MONITOR_HOLD_ALREADY_DONE:         return "already_done";
        case MONITOR_BUSY:                      return "busy";
        }
        return "unknown";
}
