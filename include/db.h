/* db: owns talking to PostgreSQL through libpq, asynchronously on the sd-event loop — PQconnectStartParams /
 * PQconnectPoll, PQsendQuery, PQsocket() re-read after every poll, one deadline over the whole exchange, the
 * host name looked up first off the loop (resolve module) and handed to libpq as hostaddr=.
 * The only module that includes libpq-fe.h. One short-lived connection per query (a failover supervisor asks
 * rarely and must see a fresh answer). Results are data; it does not log; messages never carry a password. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#define DB_COLUMNS_MAX 16

struct db_result {
        int error;                      /* 0, or -errno: -ETIMEDOUT (deadline), -ECONNREFUSED/-EHOSTUNREACH
                                         * (could not connect, authentication failures included), -EIO (query
                                         * failed), -EPROTO (not one row, or several statements), -EINVAL
                                         * (libpq could not parse conninfo, or host= lists several hosts with
                                         * a name among them), -ENXIO (the host name did not resolve; a
                                         * deadline passed during the lookup is -ETIMEDOUT); rarely -ENOMEM. */
        char message[256];              /* libpq's words when error != 0, passwords redacted, one line;
                                         * names the host when its lookup failed or timed out */
        size_t n_columns;
        const char *values[DB_COLUMNS_MAX];     /* first row as text; NULL for SQL NULL; valid during callback */
        uint64_t duration_usec;
};

struct db_query;
typedef void (*db_done_fn)(struct db_query *q, const struct db_result *r, void *userdata);

/* Connects with `conninfo` (a libpq conninfo string or URI; `password_file`, when not NULL, is passed as
 * passfile), runs `sql` (one statement: one row expected, or
 * none from a utility statement such as CHECKPOINT: n_columns 0), calls `done` once from the loop. `timeout_usec`
 * bounds everything (connect included). Returns 0 and *ret (owned by the caller) or -errno.
 * Returns an error only for bad arguments (-EINVAL), out of memory, sd-event failures or a lookup thread that
 * could not be started (-EAGAIN); everything libpq or
 * the server says — even when libpq knows it at once (unparseable conninfo, loopback refusal) — arrives
 * through `done`, never from inside this call. The deadline is armed first: a host name in host= is looked
 * up off the loop within it (libpq would look it up synchronously), then libpq gets hostaddr= with host= kept
 * for TLS and the password file. Not looked up by us: a host that comes from a service file or PGHOST. */
int db_query_start(sd_event *e, const char *conninfo, const char *password_file, uint64_t timeout_usec,
                   const char *sql, db_done_fn done, void *userdata, struct db_query **ret);

/* Cancels (closes the connection, no callback) and frees. NULL is fine. Safe from inside the callback. */
struct db_query *db_query_free(struct db_query *q);

/* Pure helpers. NULL text (an SQL NULL) is -EINVAL; *ret is written only on success. */
int db_parse_lsn(const char *text, uint64_t *ret);      /* "16/B374D848" → 0x16B374D848; -EINVAL */
/* password=… / sslpassword=… (any case, quoted or not) and URI passwords (user:***@, ?password=***) replaced
 * by "***"; also safe on arbitrary text such as libpq's messages. Malloc'd; NULL with errno on failure. */
char *db_conninfo_redact(const char *conninfo);
int db_parse_bool(const char *text, bool *ret);         /* "t"/"f" exactly */

/* The host name libpq would look up for `conninfo`: 0 and *ret_host NULL when none (a bare database name, no
 * host=, hostaddr= given, IP addresses, unix socket directories); 0 and *ret_host (malloc'd) when one must be
 * looked up; -EINVAL when libpq cannot parse it; -ENOTSUP when host= lists several hosts with a name among them
 * (not supported: list IP addresses, or one host name). */
int db_conninfo_lookup_host(const char *conninfo, char **ret_host);

/* Keywords and values for PQconnectStartParams (expand_dbname 0): everything `conninfo` sets, host= repeated
 * once per address with hostaddr= the addresses (libpq tries them in order, as it would have after its own
 * lookup), connect_timeout from timeout_usec (seconds, rounded up), passfile = password_file when not NULL,
 * application_name unless the conninfo names one. */
struct db_params {
        const char **keys, **values;    /* NULL-terminated */
        void *options, *strings;        /* what they point into */
};
int db_params_build(const char *conninfo, const char *password_file, uint64_t timeout_usec,
                    const char *const *addrs, size_t n_addrs, struct db_params **ret);
struct db_params *db_params_free(struct db_params *p);

/* What blfailoverd asks a standby, in one round trip. Column order is part of the contract:
 * 0 pg_is_in_recovery, 1 receive lsn, 2 replay lsn, 3 receive-minus-replay bytes, 4 wal receiver status
 * ('streaming' etc., NULL when no receiver), 5 seconds since the last replayed transaction — 0 when everything
 * received is replayed (an idle primary must not look like lag), NULL before any replay with WAL left to replay. */
#define DB_SQL_STANDBY_STATUS \
        "SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text, " \
        "pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint, " \
        "(SELECT status FROM pg_stat_wal_receiver LIMIT 1), " \
        "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 " \
        "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8"
#define DB_SQL_IN_RECOVERY "SELECT pg_is_in_recovery()"
#define DB_SQL_PROMOTE "SELECT pg_promote(false)"
