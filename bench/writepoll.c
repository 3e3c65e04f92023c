/* writepoll: bench helper, not part of the daemon — keeps one libpq connection to a PostgreSQL server and tries
 * one INSERT every INTERVAL_MS until one commits, then prints the CLOCK_REALTIME microsecond it committed at.
 *
 *   writepoll CONNINFO INTERVAL_MS TIMEOUT_S SQL
 *
 * stdout: "ready USEC" once the first attempt has an answer (a read-only error on a standby, typically), then
 * "ok USEC ATTEMPTS" (exit 0) or "timeout" (exit 1). A dropped connection is reopened on the next attempt. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void sleep_usec(uint64_t usec) {
        struct timespec ts = { .tv_sec = (time_t) (usec / 1000000u), .tv_nsec = (long) (usec % 1000000u) * 1000 };

        nanosleep(&ts, NULL);
}

/* 1: committed, 0: answered with an error (or could not connect), the connection reset when it broke. */
static int attempt(PGconn **conn, const char *conninfo, const char *sql, bool *answered) {
        PGresult *res;
        int ok;

        if (!*conn || PQstatus(*conn) != CONNECTION_OK) {
                PQfinish(*conn);
                *conn = PQconnectdb(conninfo);
                if (PQstatus(*conn) != CONNECTION_OK)
                        return 0;
        }
        res = PQexec(*conn, sql);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        *answered = *answered || ok || PQresultStatus(res) == PGRES_FATAL_ERROR;
        PQclear(res);
        if (PQstatus(*conn) != CONNECTION_OK) {
                PQfinish(*conn);
                *conn = NULL;
        }
        return ok;
}

int main(int argc, char **argv) {
        PGconn *conn = NULL;
        bool answered = false, said_ready = false;
        uint64_t interval, deadline;
        unsigned long attempts = 0;

        if (argc != 5) {
                fprintf(stderr, "usage: writepoll CONNINFO INTERVAL_MS TIMEOUT_S SQL\n");
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        interval = strtoull(argv[2], NULL, 10) * 1000u;
        deadline = now_usec(CLOCK_MONOTONIC) + strtoull(argv[3], NULL, 10) * 1000000u;
        while (now_usec(CLOCK_MONOTONIC) < deadline) {
                uint64_t start = now_usec(CLOCK_MONOTONIC);

                attempts++;
                if (attempt(&conn, argv[1], argv[4], &answered)) {
                        printf("ok %llu %lu\n", (unsigned long long) now_usec(CLOCK_REALTIME), attempts);
                        PQfinish(conn);
                        return 0;
                }
                if (answered && !said_ready) {
                        printf("ready %llu\n", (unsigned long long) now_usec(CLOCK_REALTIME));
                        said_ready = true;
                }
                uint64_t spent = now_usec(CLOCK_MONOTONIC) - start;
                if (spent < interval)
                        sleep_usec(interval - spent);
        }
        printf("timeout\n");
        PQfinish(conn);
        return 1;
}
