/* pgwriter: the lifecycle tests' and the bench's client — commits one row per tick and says, per row, whether the
 * server acknowledged it, refused it, or whether nobody can know (commit sent, connection lost before the answer).
 *
 *   pgwriter CONNINFO INTERVAL_MS SECONDS_OR_0 TABLE
 *
 * Every INTERVAL_MS: INSERT INTO TABLE(seq) VALUES (n) RETURNING inet_server_port(), over one connection,
 * reconnected after any error (connect_timeout=1 unless CONNINFO says otherwise; CONNINFO is typically
 * "host=127.0.0.1,127.0.0.1 port=PA,PB target_session_attrs=read-write", so libpq finds the writable one).
 * Every seq gets exactly one line on stdout (line-buffered; USEC = CLOCK_REALTIME microseconds at the outcome):
 *   ack SEQ PORT USEC        the commit was acknowledged by the server listening on PORT
 *   err SEQ USEC MESSAGE     not committed: no connection, or the server answered an error on a live connection
 *   unknown SEQ USEC         the statement was sent and the connection was lost before the answer: neither acked
 *                            nor lost (a FATAL during commit may come after the commit record)
 * Runs until SIGTERM/SIGINT or SECONDS_OR_0 seconds (0: no limit); exits 0 (2: bad command line). Diagnostics
 * (connects) go to stderr. TABLE is pasted into the SQL as given: a test tool, named by the harness.
 * Not part of blfailoverd: it blocks freely (a client, not the daemon). */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUERY_TIMEOUT_US (10 * 1000000LL) /* a hung server: give the row up as unknown, reconnect */
#define STOP_GRACE_US (2 * 1000000LL)     /* after SIGTERM: wait this long for the answer in flight */

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) {
	(void)sig;
	stop_requested = 1;
}

static int64_t now_us(clockid_t clk) {
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One line per message: libpq's messages end in "\n" and may hold several lines. */
static void print_err(uint64_t seq, const char *msg) {
	printf("err %" PRIu64 " %" PRId64 " ", seq, now_us(CLOCK_REALTIME));
	for (const char *p = msg; *p; p++)
		putchar(*p == '\n' || *p == '\r' ? ' ' : *p);
	putchar('\n');
}

static void print_unknown(uint64_t seq) {
	printf("unknown %" PRIu64 " %" PRId64 "\n", seq, now_us(CLOCK_REALTIME));
}

static PGconn *writer_connect(const char *conninfo) {
	/* connect_timeout first, then the expanded conninfo: a connect_timeout in CONNINFO wins. */
	const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *const vals[] = {"1", "pgwriter", conninfo, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (c && PQstatus(c) == CONNECTION_OK)
		fprintf(stderr, "pgwriter: connected to port %s at %" PRId64 "\n", PQport(c), now_us(CLOCK_REALTIME));
	return c;
}

/* A connection the server closed while we were idle (fast shutdown, terminate) is seen here, before anything is
 * sent: its FATAL and EOF are already in the socket. Returns false when the connection is gone. */
static bool still_alive(PGconn *c) {
	if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK)
		return false;
	return true;
}

/* Waits for the answer without blocking signals out: SIGTERM starts a short grace, a hung server ends as unknown.
 * Returns the result (NULL: no answer in time, or the connection failed while waiting). */
static PGresult *wait_result(PGconn *c) {
	int64_t deadline = now_us(CLOCK_MONOTONIC) + QUERY_TIMEOUT_US;
	bool grace = false;

	for (;;) {
		if (PQconsumeInput(c) == 0)
			break;
		if (!PQisBusy(c))
			return PQgetResult(c);
		int64_t now = now_us(CLOCK_MONOTONIC);
		if (stop_requested && !grace) {
			grace = true;
			if (now + STOP_GRACE_US < deadline)
				deadline = now + STOP_GRACE_US;
		}
		if (now >= deadline)
			return NULL;
		struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
		int64_t left_ms = (deadline - now + 999) / 1000;
		if (poll(&pfd, 1, left_ms > 100 ? 100 : (int)left_ms) < 0 && errno != EINTR)
			return NULL;
	}
	return PQgetResult(c);
}

/* Drains the rest of one statement's results so the connection is ready for the next one. */
static void drain(PGconn *c) {
	PGresult *r;

	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
}

/* Sends one row and prints its line. Returns false when the connection must be dropped. */
static bool write_row(PGconn *c, const char *sql, uint64_t seq) {
	char seqtext[24];
	const char *params[1] = {seqtext};

	snprintf(seqtext, sizeof seqtext, "%" PRIu64, seq);
	if (!PQsendQueryParams(c, sql, 1, NULL, params, NULL, NULL, 0)) {
		/* Nothing left our buffer that we know of; a half-written message is never executed (no Sync). */
		print_err(seq, PQerrorMessage(c));
		return false;
	}
	PGresult *r = wait_result(c);
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		printf("ack %" PRIu64 " %s %" PRId64 "\n", seq, PQgetvalue(r, 0, 0), now_us(CLOCK_REALTIME));
		PQclear(r);
		drain(c);
		return true;
	}
	/* An error answered on a connection that stays up: the transaction was rolled back, so the row is not
	 * there. Anything else (EOF, FATAL, a timeout) leaves the commit's fate unknown. */
	bool alive = r && PQresultStatus(r) == PGRES_FATAL_ERROR && PQstatus(c) == CONNECTION_OK;
	if (alive) {
		print_err(seq, PQresultErrorMessage(r));
		PQclear(r);
		drain(c);
		alive = PQstatus(c) == CONNECTION_OK;
		return alive;
	}
	PQclear(r);
	print_unknown(seq);
	return false;
}

/* Sleeps until the absolute monotonic time `at` (µs) or a signal. */
static void sleep_until(int64_t at) {
	struct timespec ts = {.tv_sec = at / 1000000, .tv_nsec = (at % 1000000) * 1000};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static int parse_nonneg(const char *s, long max, long *ret) {
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static void install_handlers(void) {
	struct sigaction sa = {.sa_handler = on_stop};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv) {
	long interval_ms, seconds;

	if (argc != 5 || parse_nonneg(argv[2], 3600000, &interval_ms) < 0 || interval_ms == 0 ||
	    parse_nonneg(argv[3], 86400 * 365, &seconds) < 0) {
		fprintf(stderr, "usage: pgwriter CONNINFO INTERVAL_MS(>0) SECONDS_OR_0 TABLE\n");
		return 2;
	}
	char sql[512];
	if ((size_t)snprintf(sql, sizeof sql, "INSERT INTO %s(seq) VALUES ($1) RETURNING inet_server_port()",
			     argv[4]) >= sizeof sql) {
		fprintf(stderr, "pgwriter: table name too long\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	install_handlers();

	int64_t start = now_us(CLOCK_MONOTONIC);
	int64_t end = seconds ? start + (int64_t)seconds * 1000000 : INT64_MAX;
	int64_t step = (int64_t)interval_ms * 1000, next = start;
	PGconn *c = NULL;
	uint64_t seq = 0;

	while (!stop_requested && now_us(CLOCK_MONOTONIC) < end) {
		seq++;
		if (c && !still_alive(c)) {
			PQfinish(c);
			c = NULL;
		}
		if (!c) {
			c = writer_connect(argv[1]);
			if (!c || PQstatus(c) != CONNECTION_OK) {
				print_err(seq, c ? PQerrorMessage(c) : "out of memory");
				PQfinish(c);
				c = NULL;
			}
		}
		if (c && !write_row(c, sql, seq)) {
			PQfinish(c);
			c = NULL;
		}
		/* A fixed cadence; after a slow tick (a reconnect) the next one starts a full interval later, no burst. */
		next += step;
		int64_t now = now_us(CLOCK_MONOTONIC);
		if (next < now)
			next = now + step;
		if (!stop_requested)
			sleep_until(next < end ? next : end);
	}
	PQfinish(c);
	fprintf(stderr, "pgwriter: stopped after seq %" PRIu64 "\n", seq);
	return 0;
}
