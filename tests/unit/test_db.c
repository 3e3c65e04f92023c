/* test_db: db_* — the pure helpers, and queries against a throwaway PostgreSQL 15 this driver starts itself. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "util.h"

#define PG_BIN          "/usr/lib/postgresql/15/bin"
#define RUNUSER         "/usr/sbin/runuser"
#define PG_PORT         "25650"
#define HANGUP_PORT     25657           /* accepts and closes at once */
#define MUTE_PORT       25658           /* completes the TCP handshake (backlog), never answers */
#define DEAD_PORT       "25659"         /* nothing listens */
#define PW_USER         "pwuser"
#define PW_SECRET       "S3cret-pw-4711"
#define WRONG_SECRET    "Wr0ng-pw-0815"
#define QUERY_TIMEOUT   (5 * USEC_PER_SEC)
#define SAFETY_USEC     (10 * USEC_PER_SEC)

/* ================================================================ pure helpers */

static void db__lsn__parses_high_and_low(void **state) {
        static const struct { const char *text; uint64_t want; } cases[] = {
                { "16/B374D848", UINT64_C(0x16B374D848) },
                { "0/0", 0 },
                { "0/1", 1 },
                { "1/0", UINT64_C(1) << 32 },
                { "a/bc", UINT64_C(0xA000000BC) },
                { "FFFFFFFF/FFFFFFFF", UINT64_MAX },
                { "00000001/00000002", UINT64_C(0x100000002) },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 42;

                assert_int_equal(db_parse_lsn(cases[i].text, &v), 0);
                assert_true(v == cases[i].want);
        }
}

static void db__lsn__rejects_malformed(void **state) {
        static const char *const bad[] = {
                "", "/", "0/", "/0", "16B374D848", "123456789/0", "0/123456789", "G/0", "0/x", "1/2/3",
                " 0/0", "0/0 ", "+1/0", "-1/0", "0x1/0", "0/0x1", "1//2",
        };
        uint64_t v = 42;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(db_parse_lsn(bad[i], &v), -EINVAL);
                assert_true(v == 42);   /* untouched on failure */
        }
        assert_int_equal(db_parse_lsn(NULL, &v), -EINVAL);
        assert_int_equal(db_parse_lsn("0/0", NULL), -EINVAL);
}

static void db__bool__parses_t_and_f(void **state) {
        bool b = false;

        assert_int_equal(db_parse_bool("t", &b), 0);
        assert_true(b);
        assert_int_equal(db_parse_bool("f", &b), 0);
        assert_false(b);
}

static void db__bool__rejects_everything_else(void **state) {
        static const char *const bad[] = { "", "T", "F", "true", "false", "1", "0", "t ", " f", "yes" };
        bool b = true;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(db_parse_bool(bad[i], &b), -EINVAL);
                assert_true(b);
        }
        assert_int_equal(db_parse_bool(NULL, &b), -EINVAL);
        assert_int_equal(db_parse_bool("t", NULL), -EINVAL);
}

static void db__redact__hides_every_password_form(void **state) {
        static const struct { const char *in, *want, *secret; } cases[] = {
                { "host=h password='se cr\\'et' user=u", "host=h password=*** user=u", "cr" },
                { "host=h password=secret user=u", "host=h password=*** user=u", "secret" },
                { "password = 'x y' port=5", "password = *** port=5", "x y" },
                { "password= hidden", "password= ***", "hidden" },       /* libpq: the value is "hidden" */
                { "password=sec\\ ret host=h", "password=*** host=h", "ret" },
                { "password='unterminated secret", "password=***", "secret" },
                { "password=", "password=***", NULL },
                { "a='x'password=secret", "a='x'password=***", "secret" },
                { "PassWord=secret", "PassWord=***", "secret" },
                { "sslpassword=keypw sslkey=/k", "sslpassword=*** sslkey=/k", "keypw" },
                { "postgresql://user:secret@host/db", "postgresql://user:***@host/db", "secret" },
                { "postgres://u:p?w:x@h1:5432,h2:5433/db", "postgres://u:***@h1:5432,h2:5433/db", "p?w" },
                { "postgresql://u:pa@ss@host/db", "postgresql://u:***@host/db", "pa@ss" },
                { "postgresql://h/db?sslmode=require&password=se cret&x=1",
                  "postgresql://h/db?sslmode=require&password=***&x=1", "se cret" },
                { "postgresql://user@host:5432/db", "postgresql://user@host:5432/db", NULL },
                { "postgresql://[::1]:5432/db", "postgresql://[::1]:5432/db", NULL },
                { "host=h port=5432 dbname=postgres user=u", "host=h port=5432 dbname=postgres user=u", NULL },
                /* Not the password key: kept literally. */
                { "passwordx=abc mypassword=def", "passwordx=abc mypassword=def", NULL },
                { "dbname=password user=password", "dbname=password user=password", NULL },
                { "passfile=/etc/pgpass", "passfile=/etc/pgpass", NULL },
                /* libpq's messages can quote a conninfo. */
                { "invalid URI: \"postgresql://u:S3cretZ@[::1\"", "invalid URI: \"postgresql://u:***@[::1\"",
                  "S3cretZ" },
                { "", "", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *out = db_conninfo_redact(cases[i].in);

                assert_non_null(out);
                assert_string_equal(out, cases[i].want);
                if (cases[i].secret)
                        assert_null(strstr(out, cases[i].secret));
                free(out);
        }
        errno = 0;
        assert_null(db_conninfo_redact(NULL));
        assert_int_equal(errno, EINVAL);
}

/* ================================================================ the loop */

struct outcome {
        int calls;
        struct db_query *seen;
        bool free_in_callback;
        int error;
        char message[256];
        size_t n_columns;
        bool is_null[DB_COLUMNS_MAX];
        char values[DB_COLUMNS_MAX][128];
        uint64_t duration_usec;
};

static void on_done(struct db_query *q, const struct db_result *r, void *userdata) {
        struct outcome *o = userdata;

        o->calls++;
        o->seen = q;
        /* Free first, read afterwards: the row must stay valid until the callback returns. */
        if (o->free_in_callback)
                assert_null(db_query_free(q));
        o->error = r->error;
        snprintf(o->message, sizeof(o->message), "%s", r->message);
        o->n_columns = r->n_columns;
        o->duration_usec = r->duration_usec;
        assert_true(r->n_columns <= DB_COLUMNS_MAX);
        for (size_t i = 0; i < r->n_columns; i++) {
                o->is_null[i] = !r->values[i];
                snprintf(o->values[i], sizeof(o->values[i]), "%s", r->values[i] ? r->values[i] : "");
        }
}

/* Runs one query to its callback on `e`, then checks that no second callback follows. */
static void query_on(sd_event *e, const char *conninfo, const char *passfile, uint64_t timeout, const char *sql,
                     struct outcome *o) {
        uint64_t end = now_monotonic_usec() + SAFETY_USEC;
        struct db_query *q = NULL;

        assert_int_equal(db_query_start(e, conninfo, passfile, timeout, sql, on_done, o, &q), 0);
        assert_non_null(q);
        assert_int_equal(o->calls, 0);          /* never from inside db_query_start */
        while (o->calls == 0 && now_monotonic_usec() < end)
                assert_true(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
        assert_int_equal(o->calls, 1);
        assert_ptr_equal(o->seen, q);
        (void) sd_event_run(e, 10 * USEC_PER_MSEC);
        assert_int_equal(o->calls, 1);
        if (!o->free_in_callback)
                assert_null(db_query_free(q));
}

static void query(const char *conninfo, const char *passfile, uint64_t timeout, const char *sql,
                  struct outcome *o) {
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        query_on(e, conninfo, passfile, timeout, sql, o);
        sd_event_unref(e);
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static void db__start__rejects_bad_arguments(void **state) {
        struct db_query *q = (struct db_query *) state;        /* any non-NULL marker */
        struct outcome o = {};
        sd_event *e = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(db_query_start(NULL, "", NULL, 1, "SELECT 1", on_done, &o, &q), -EINVAL);
        assert_int_equal(db_query_start(e, NULL, NULL, 1, "SELECT 1", on_done, &o, &q), -EINVAL);
        assert_int_equal(db_query_start(e, "", NULL, 0, "SELECT 1", on_done, &o, &q), -EINVAL);
        assert_int_equal(db_query_start(e, "", NULL, 1, NULL, on_done, &o, &q), -EINVAL);
        assert_int_equal(db_query_start(e, "", NULL, 1, "", on_done, &o, &q), -EINVAL);
        assert_int_equal(db_query_start(e, "", NULL, 1, "SELECT 1", NULL, &o, &q), -EINVAL);
        assert_int_equal(db_query_start(e, "", NULL, 1, "SELECT 1", on_done, &o, NULL), -EINVAL);
        assert_ptr_equal(q, (struct db_query *) state);
        assert_null(db_query_free(NULL));
        assert_int_equal(o.calls, 0);
        sd_event_unref(e);
}

/* libpq rejects the conninfo at once; that is still an outcome for the callback, with the secret hidden. */
static void db__start__unparseable_conninfo_is_einval_via_callback(void **state) {
        struct outcome o = {}, u = {};

        query("host=127.0.0.1 password='S3cretQ", NULL, QUERY_TIMEOUT, "SELECT 1", &o);
        assert_int_equal(o.error, -EINVAL);
        assert_non_null(strstr(o.message, "unterminated quoted string"));
        assert_null(strstr(o.message, "S3cretQ"));

        query("postgresql://u:S3cretZ@[::1", NULL, QUERY_TIMEOUT, "SELECT 1", &u);
        assert_int_equal(u.error, -EINVAL);
        assert_non_null(strstr(u.message, "u:***@"));
        assert_null(strstr(u.message, "S3cretZ"));
}

/* ================================================================ the throwaway cluster */

struct cluster {
        char dir[64];           /* mkdtemp; also the unix socket directory */
        char data[96];
        char log[96];           /* output of the setup commands, shown when setup fails */
        char passfile[96];
        char tcp[192];          /* as postgres over TCP (trust) */
        char sock[192];         /* as postgres over the unix socket (trust) */
        char pw[192];           /* as PW_USER over TCP (scram), no password in it */
        pid_t guardian;
        int guardian_fd;        /* write end: its closing (or our death) makes the guardian clean up */
};

/* Runs as a child that outlives a crash of this driver: when its stdin reaches EOF it stops the cluster (only
 * ours: by data directory, or by the postmaster's pid) and removes the directory. */
static const char guardian_script[] =
        "cat >/dev/null\n"
        "if [ -f \"$1/postmaster.pid\" ]; then\n"
        "  " RUNUSER " -u postgres -- " PG_BIN "/pg_ctl -D \"$1\" -m fast -w -t 20 stop >/dev/null 2>&1 ||\n"
        "    kill -KILL \"$(head -n 1 \"$1/postmaster.pid\")\" 2>/dev/null\n"
        "fi\n"
        "rm -rf -- \"$2\"\n";

static int guardian_start(struct cluster *c) {
        char *const argv[] = { "/bin/sh", "-c", (char *) guardian_script, "guardian", c->data, c->dir, NULL };
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        c->guardian = fork();
        if (c->guardian == 0) {
                (void) setpgid(0, 0);   /* a ^C to the test must not stop the cleanup */
                if (dup2(p[0], 0) < 0)
                        _exit(127);
                execv(argv[0], argv);
                _exit(127);
        }
        close(p[0]);
        if (c->guardian < 0) {
                close(p[1]);
                return -errno;
        }
        c->guardian_fd = p[1];
        return 0;
}

/* Returns the exit status, or -1. Output goes to the setup log. */
static int run(char *const argv[], const char *log) {
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

                if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
                        _exit(127);
                execv(argv[0], argv);
                _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) != pid)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int write_file(const char *path, const char *text, mode_t mode, uid_t uid, gid_t gid) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, text, strlen(text));
        if (n != (ssize_t) strlen(text) || fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0) {
                close(fd);
                return -EIO;
        }
        return close(fd) < 0 ? -errno : 0;
}

static int cluster_init(struct cluster *c, const struct passwd *pg) {
        char *const initdb[] = { RUNUSER, "-u", "postgres", "--", PG_BIN "/initdb", "-D", c->data, "-A", "trust",
                                 "-U", "postgres", "-N", "-E", "UTF8", "--locale=C", "--no-instructions", NULL };
        char hba[256], path[128];

        if (run(initdb, c->log) != 0)
                return -EIO;
        /* First match wins: the password user must meet scram before any trust line could take it. */
        snprintf(hba, sizeof(hba), "local all postgres trust\n"
                                   "host all " PW_USER " 127.0.0.1/32 scram-sha-256\n"
                                   "host all postgres 127.0.0.1/32 trust\n");
        snprintf(path, sizeof(path), "%s/pg_hba.conf", c->data);
        return write_file(path, hba, 0600, pg->pw_uid, pg->pw_gid);
}

static int cluster_run(struct cluster *c) {
        char opts[256], server_log[96];
        char *const start[] = { RUNUSER, "-u", "postgres", "--", PG_BIN "/pg_ctl", "-D", c->data, "-l", server_log,
                                "-w", "-t", "20", "-o", opts, "start", NULL };
        char *const role[] = { PG_BIN "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                               PG_PORT, "-U", "postgres", "-d", "postgres", "-c",
                               "CREATE ROLE " PW_USER " LOGIN PASSWORD '" PW_SECRET "'", NULL };

        snprintf(server_log, sizeof(server_log), "%s/server.log", c->dir);
        /* client_connection_check_interval: a backend notices within 100 ms that we hung up on it, which is
         * what the abandon tests observe. */
        snprintf(opts, sizeof(opts), "-c listen_addresses=127.0.0.1 -c port=" PG_PORT
                 " -c unix_socket_directories=%s -c fsync=off -c client_connection_check_interval=100ms", c->dir);
        if (run(start, c->log) != 0 || run(role, c->log) != 0)
                return -EIO;
        snprintf(c->passfile, sizeof(c->passfile), "%s/pgpass", c->dir);
        return write_file(c->passfile, "127.0.0.1:" PG_PORT ":*:" PW_USER ":" PW_SECRET "\n", 0600, 0, 0);
}

static int cluster_start(struct cluster *c) {
        const struct passwd *pg = getpwnam("postgres");
        int r;

        if (!pg || !mkdtemp(c->dir))
                return -ENOENT;
        /* postgres must reach and write it: mkdtemp makes 0700 root. */
        if (chmod(c->dir, 0755) < 0 || chown(c->dir, pg->pw_uid, pg->pw_gid) < 0)
                return -errno;
        snprintf(c->data, sizeof(c->data), "%s/data", c->dir);
        snprintf(c->log, sizeof(c->log), "%s/setup.log", c->dir);
        r = guardian_start(c);
        if (r < 0)
                return r;
        r = cluster_init(c, pg);
        return r < 0 ? r : cluster_run(c);
}

/* Hands the cleanup to the guardian (the one code path, also taken when we crash) and waits for it. */
static int cluster_teardown(void **state) {
        struct cluster *c = *state;
        struct stat st;

        if (c->guardian_fd >= 0)
                close(c->guardian_fd);
        c->guardian_fd = -1;
        if (c->guardian > 0)
                (void) waitpid(c->guardian, NULL, 0);
        c->guardian = 0;
        if (c->dir[0] && !strstr(c->dir, "XXXXXX") && lstat(c->dir, &st) == 0) {
                fprintf(stderr, "test_db: %s was not removed\n", c->dir);
                return -1;
        }
        return 0;
}

static void dump_log(const char *path) {
        char buf[4096];
        FILE *f = fopen(path, "re");
        size_t n;

        if (!f)
                return;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                fwrite(buf, 1, n, stderr);
        fclose(f);
}

static int cluster_setup(void **state) {
        static struct cluster c;

        c = (struct cluster) { .dir = "/tmp/test_db.XXXXXX", .guardian_fd = -1 };
        *state = &c;
        if (cluster_start(&c) < 0) {
                fprintf(stderr, "test_db: could not start PostgreSQL in %s:\n", c.dir);
                dump_log(c.log);
                (void) cluster_teardown(state);         /* cmocka skips the group teardown after this */
                return -1;
        }
        snprintf(c.tcp, sizeof(c.tcp), "host=127.0.0.1 port=" PG_PORT " dbname=postgres user=postgres");
        snprintf(c.sock, sizeof(c.sock), "host=%s port=" PG_PORT " dbname=postgres user=postgres", c.dir);
        snprintf(c.pw, sizeof(c.pw), "host=127.0.0.1 port=" PG_PORT " dbname=postgres user=" PW_USER);
        return 0;
}

/* ================================================================ host names: what is looked up, what libpq gets */

static void db__lookup_host__only_names_in_host(void **state) {
        static const struct { const char *conninfo; const char *want; int r; } cases[] = {
                { "host=standby-db.example port=5432", "standby-db.example", 0 },
                { "postgresql://u:pw@standby_db:5432/app", "standby_db", 0 },
                { "host=localhost", "localhost", 0 },
                { "host=127.0.0.1 port=5432", NULL, 0 },
                { "postgresql://[::1]:5432/app", NULL, 0 },
                { "host=/run/postgresql", NULL, 0 },
                { "host=@abstract", NULL, 0 },
                { "dbname=app", NULL, 0 },                      /* no host: the default socket */
                { "app", NULL, 0 },                             /* a bare database name */
                { "host=db.example hostaddr=10.0.0.5", NULL, 0 }, /* libpq never looks host= up then */
                { "host=10.0.0.5,10.0.0.6,/tmp", NULL, 0 },
                { "host=10.0.0.5,db2.example", NULL, -ENOTSUP },
                { "host=db1.example,db2.example", NULL, -ENOTSUP },
                { "host='unterminated", NULL, -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *host = (char *) "untouched";
                int r = db_conninfo_lookup_host(cases[i].conninfo, &host);

                if (r != cases[i].r)
                        fail_msg("%s: got %d, want %d", cases[i].conninfo, r, cases[i].r);
                if (r < 0) {
                        assert_string_equal(host, "untouched");
                        continue;
                }
                if (cases[i].want)
                        assert_string_equal(host, cases[i].want);
                else
                        assert_null(host);
                free(host);
        }
}

static const char *param(const struct db_params *p, const char *key) {
        const char *found = NULL;

        for (size_t i = 0; p->keys[i]; i++)
                if (strcmp(p->keys[i], key) == 0) {
                        if (found)
                                fail_msg("%s given twice", key);
                        found = p->values[i];
                }
        return found;
}

static void db__params__host_kept_hostaddr_added(void **state) {
        const char *addrs[] = { "::1", "127.0.0.1" };
        struct db_params *p = NULL;

        assert_int_equal(db_params_build("host=db.example port=5433 user=u password='a b\\'c' sslmode=verify-full "
                                         "connect_timeout=30 passfile=/etc/theirs dbname='host=x'",
                                         "/etc/ours", 2500 * USEC_PER_MSEC, addrs, 2, &p), 0);
        assert_string_equal(param(p, "host"), "db.example,db.example");         /* TLS and passfile see the name */
        assert_string_equal(param(p, "hostaddr"), "::1,127.0.0.1");
        assert_string_equal(param(p, "port"), "5433");
        assert_string_equal(param(p, "password"), "a b'c");     /* values unquoted once, never re-quoted */
        assert_string_equal(param(p, "sslmode"), "verify-full");
        assert_string_equal(param(p, "dbname"), "host=x");      /* taken literally (expand_dbname 0) */
        assert_string_equal(param(p, "connect_timeout"), "3");  /* ours, rounded up */
        assert_string_equal(param(p, "passfile"), "/etc/ours");
        assert_string_equal(param(p, "application_name"), "blfailoverd");
        assert_string_equal(param(p, "fallback_application_name"), "blfailoverd");
        assert_null(db_params_free(p));

        assert_int_equal(db_params_build("postgresql://u@db.example/app?application_name=mine&passfile=/x", NULL,
                                         USEC_PER_SEC, addrs + 1, 1, &p), 0);
        assert_string_equal(param(p, "host"), "db.example");
        assert_string_equal(param(p, "hostaddr"), "127.0.0.1");
        assert_string_equal(param(p, "application_name"), "mine");
        assert_string_equal(param(p, "passfile"), "/x");        /* no file of ours: theirs stays */
        assert_string_equal(param(p, "dbname"), "app");
        assert_null(db_params_free(p));

        assert_int_equal(db_params_build("host=a,b", NULL, USEC_PER_SEC, addrs, 1, &p), -EINVAL);
        assert_int_equal(db_params_build("port=1", NULL, USEC_PER_SEC, addrs, 1, &p), -EINVAL);
        assert_int_equal(db_params_build("host=a", NULL, USEC_PER_SEC, addrs, 0, &p), -EINVAL);
        assert_int_equal(db_params_build("host='a", NULL, USEC_PER_SEC, addrs, 1, &p), -EINVAL);
}

/* A list with a name in it is refused through the callback, with a message that says what to do. */
static void db__start__several_hosts_with_a_name_is_einval(void **state) {
        struct outcome o = {};

        query("host=127.0.0.1,db2.example port=" DEAD_PORT, NULL, QUERY_TIMEOUT, "SELECT 1", &o);
        assert_int_equal(o.error, -EINVAL);
        assert_non_null(strstr(o.message, "several hosts"));
}

/* ================================================================ behaviour against the cluster */

static void db__query__returns_columns_and_null(void **state) {
        const struct cluster *c = *state;
        struct outcome o = {};
        int fds = count_fds();

        query(c->tcp, NULL, QUERY_TIMEOUT, "SELECT 1, NULL::text", &o);
        assert_int_equal(o.error, 0);
        assert_string_equal(o.message, "");
        assert_int_equal(o.n_columns, 2);
        assert_false(o.is_null[0]);
        assert_string_equal(o.values[0], "1");
        assert_true(o.is_null[1]);
        assert_true(o.duration_usec > 0 && o.duration_usec < QUERY_TIMEOUT);
        assert_int_equal(count_fds(), fds);
}

static void db__query__works_over_the_unix_socket(void **state) {
        const struct cluster *c = *state;
        struct outcome o = {};

        query(c->sock, NULL, QUERY_TIMEOUT, "SELECT 'a' || 'b'", &o);
        assert_int_equal(o.error, 0);
        assert_string_equal(o.values[0], "ab");
}

static void db__query__primary_is_not_in_recovery(void **state) {
        const struct cluster *c = *state;
        struct outcome o = {}, s = {};
        bool b = true;
        uint64_t lsn;

        query(c->tcp, NULL, QUERY_TIMEOUT, DB_SQL_IN_RECOVERY, &o);
        assert_int_equal(o.error, 0);
        assert_string_equal(o.values[0], "f");
        assert_int_equal(db_parse_bool(o.values[0], &b), 0);
        assert_false(b);

        /* The standby query runs on a primary too: six columns, no receiver, so the LSNs are NULL. */
        query(c->tcp, NULL, QUERY_TIMEOUT, DB_SQL_STANDBY_STATUS, &s);
        assert_int_equal(s.error, 0);
        assert_int_equal(s.n_columns, 6);
        assert_string_equal(s.values[0], "f");
        assert_true(s.is_null[1] && s.is_null[2] && s.is_null[4]);
        assert_int_equal(db_parse_lsn(NULL, &lsn), -EINVAL);
}

static void db__query__application_name_is_ours_unless_conninfo_says(void **state) {
        const struct cluster *c = *state;
        struct outcome o = {}, p = {};
        char conninfo[256];

        query(c->tcp, NULL, QUERY_TIMEOUT, "SELECT current_setting('application_name')", &o);
        assert_int_equal(o.error, 0);
        assert_string_equal(o.values[0], "blfailoverd");

        snprintf(conninfo, sizeof(conninfo), "%s application_name=custom", c->tcp);
        query(conninfo, NULL, QUERY_TIMEOUT, "SELECT current_setting('application_name')", &p);
        assert_int_equal(p.error, 0);
        assert_string_equal(p.values[0], "custom");
}

static void db__query__bad_sql_is_eio_with_one_line_message(void **state) {
        const struct cluster *c = *state;
        struct outcome o = {};

        query(c->tcp, NULL, QUERY_TIMEOUT, "SELEC 1", &o);
        assert_int_equal(o.error, -EIO);
        assert_non_null(strstr(o.message, "syntax error"));
        assert_null(strchr(o.message, '\n'));
        assert_int_equal(o.n_columns, 0);
}

static void db__query__not_one_row_is_eproto(void **state) {
        static const char *const sqls[] = { "SELECT 1 WHERE false", "SELECT generate_series(1, 2)",
                                            "SELECT 1; SELECT 2" };
        const struct cluster *c = *state;

        for (size_t i = 0; i < ELEMENTSOF(sqls); i++) {
                struct outcome o = {};

                query(c->tcp, NULL, QUERY_TIMEOUT, sqls[i], &o);
                assert_int_equal(o.error, -EPROTO);
                assert_int_equal(o.n_columns, 0);
                assert_string_not_equal(o.message, "");
        }
}

/* A utility statement (CHECKPOINT before a switchover) has no row set: done, with no column. */
static void db__query__utility_statement_has_no_columns(void **state) {
        const struct cluster *c = *state;
        struct outcome o = { .n_columns = 99 };

        query(c->tcp, NULL, QUERY_TIMEOUT, "CHECKPOINT", &o);
        assert_int_equal(o.error, 0);
        assert_int_equal(o.n_columns, 0);
}

static void db__query__nothing_listening_fails_fast(void **state) {
        struct outcome o = {};
        uint64_t t0 = now_monotonic_usec();

        query("host=127.0.0.1 port=" DEAD_PORT " dbname=postgres user=postgres", NULL, QUERY_TIMEOUT, "SELECT 1",
              &o);
        assert_int_equal(o.error, -ECONNREFUSED);
        assert_non_null(strstr(o.message, DEAD_PORT));
        assert_null(strchr(o.message, '\n'));
        assert_true(now_monotonic_usec() - t0 < USEC_PER_SEC);
}

static int listener(uint16_t port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

        assert_true(fd >= 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 8), 0);
        return fd;
}

static int on_accept_hangup(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        if (conn >= 0)
                close(conn);
        return 0;
}

/* The failure arrives during PQconnectPoll (libpq may even retry on a new socket, e.g. without SSL). */
static void db__query__server_hanging_up_during_startup_is_connection_error(void **state) {
        struct outcome o = {};
        sd_event_source *acceptor = NULL;
        sd_event *e = NULL;
        int fds = count_fds(), fd = listener(HANGUP_PORT);

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(sd_event_add_io(e, &acceptor, fd, EPOLLIN, on_accept_hangup, NULL), 0);
        query_on(e, "host=127.0.0.1 port=25657 dbname=postgres user=postgres", NULL, QUERY_TIMEOUT, "SELECT 1", &o);
        assert_int_equal(o.error, -ECONNREFUSED);
        assert_non_null(strstr(o.message, "closed the connection"));
        sd_event_source_disable_unref(acceptor);
        sd_event_unref(e);
        close(fd);
        assert_int_equal(count_fds(), fds);
}

static void db__query__deadline_while_connecting_is_etimedout(void **state) {
        struct outcome o = {};
        int fd = listener(MUTE_PORT);

        query("host=127.0.0.1 port=25658 dbname=postgres user=postgres", NULL, 300 * USEC_PER_MSEC, "SELECT 1",
              &o);
        assert_int_equal(o.error, -ETIMEDOUT);
        assert_non_null(strstr(o.message, "connecting"));
        assert_true(o.duration_usec >= 300 * USEC_PER_MSEC && o.duration_usec < 800 * USEC_PER_MSEC);
        close(fd);
}

static long backends_running(const struct cluster *c, const char *tag) {
        char sql[256];
        struct outcome o = {};

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity "
                 "WHERE query LIKE '%%%s%%' AND pid <> pg_backend_pid()", tag);
        query(c->tcp, NULL, QUERY_TIMEOUT, sql, &o);
        assert_int_equal(o.error, 0);
        return atol(o.values[0]);
}

/* Polls the server until `want` backends run a query tagged `tag`, driving `e` (if any) meanwhile. */
static bool await_backends(const struct cluster *c, const char *tag, long want, sd_event *e) {
        uint64_t end = now_monotonic_usec() + 3 * USEC_PER_SEC;

        do {
                if (e)
                        assert_true(sd_event_run(e, 20 * USEC_PER_MSEC) >= 0);
                else
                        usleep(20 * 1000);
                if (backends_running(c, tag) == want)
                        return true;
        } while (now_monotonic_usec() < end);
        return false;
}

static void db__query__deadline_abandons_the_backend(void **state) {
        const struct cluster *c = *state;
        struct outcome o = {};
        int fds = count_fds();

        query(c->tcp, NULL, 500 * USEC_PER_MSEC, "SELECT pg_sleep(5), 'deadline-tag'", &o);
        assert_int_equal(o.error, -ETIMEDOUT);
        assert_non_null(strstr(o.message, "waiting for the result"));
        assert_true(o.duration_usec >= 500 * USEC_PER_MSEC && o.duration_usec < USEC_PER_SEC);
        assert_int_equal(count_fds(), fds);
        /* We hung up, so the backend stops long before its 5 s (it would not, were the socket still open). */
        assert_true(await_backends(c, "deadline-tag", 0, NULL));
}

static void db__query__free_before_completion_no_callback(void **state) {
        const struct cluster *c = *state;
        struct outcome o = {}, p = {};
        struct db_query *q = NULL;
        sd_event *e = NULL;
        int fds = count_fds();

        assert_int_equal(sd_event_new(&e), 0);
        /* Freed while connecting, before the loop ever ran. */
        assert_int_equal(db_query_start(e, c->tcp, NULL, QUERY_TIMEOUT, "SELECT 1", on_done, &p, &q), 0);
        assert_null(db_query_free(q));

        /* Freed with the query running on the server. */
        assert_int_equal(db_query_start(e, c->tcp, NULL, QUERY_TIMEOUT, "SELECT pg_sleep(5), 'free-tag'", on_done,
                                        &o, &q), 0);
        assert_true(await_backends(c, "free-tag", 1, e));
        assert_null(db_query_free(q));
        assert_true(await_backends(c, "free-tag", 0, e));
        assert_int_equal(o.calls + p.calls, 0);
        sd_event_unref(e);
        assert_int_equal(count_fds(), fds);
}

static void db__query__free_inside_callback_is_safe(void **state) {
        const struct cluster *c = *state;
        struct outcome o = { .free_in_callback = true }, f = { .free_in_callback = true };

        query(c->tcp, NULL, QUERY_TIMEOUT, "SELECT 'still here', 42", &o);
        assert_int_equal(o.error, 0);
        assert_string_equal(o.values[0], "still here");   /* read after db_query_free, inside the callback */
        assert_string_equal(o.values[1], "42");

        query(c->tcp, NULL, QUERY_TIMEOUT, "SELEC", &f);
        assert_int_equal(f.error, -EIO);
}

static void db__query__passfile_authenticates(void **state) {
        const struct cluster *c = *state;
        struct outcome o = {}, n = {};

        query(c->pw, c->passfile, QUERY_TIMEOUT, "SELECT current_user", &o);
        assert_int_equal(o.error, 0);
        assert_string_equal(o.values[0], PW_USER);

        /* Control: the same conninfo without the file does not get in. */
        query(c->pw, NULL, QUERY_TIMEOUT, "SELECT current_user", &n);
        assert_int_equal(n.error, -ECONNREFUSED);
        assert_non_null(strstr(n.message, "password"));
}

static void db__query__wrong_password_is_not_in_message(void **state) {
        const struct cluster *c = *state;
        struct outcome o = {}, u = {};
        char conninfo[256];

        snprintf(conninfo, sizeof(conninfo), "%s password=" WRONG_SECRET, c->pw);
        query(conninfo, NULL, QUERY_TIMEOUT, "SELECT 1", &o);
        assert_int_equal(o.error, -ECONNREFUSED);
        assert_non_null(strstr(o.message, "password authentication failed"));
        assert_null(strstr(o.message, WRONG_SECRET));

        query("postgresql://" PW_USER ":" WRONG_SECRET "@127.0.0.1:" PG_PORT "/postgres", NULL, QUERY_TIMEOUT,
              "SELECT 1", &u);
        assert_int_equal(u.error, -ECONNREFUSED);
        assert_non_null(strstr(u.message, "password authentication failed"));
        assert_null(strstr(u.message, WRONG_SECRET));
}

/* A name: looked up off the loop, connected by address, and the password file still matched on the name. */
static void db__query__host_name_resolves_and_passfile_matches_name(void **state) {
        char passfile[] = "/tmp/test_db.pgpass.XXXXXX";
        struct outcome o = {}, n = {};
        int fd = mkstemp(passfile);
        const char *line = "localhost:" PG_PORT ":*:" PW_USER ":" PW_SECRET "\n";

        assert_true(fd >= 0);
        assert_int_equal(write(fd, line, strlen(line)), (ssize_t) strlen(line));
        close(fd);
        query("host=localhost port=" PG_PORT " dbname=postgres user=" PW_USER, passfile, QUERY_TIMEOUT,
              "SELECT current_user, inet_server_addr()::text", &o);
        /* Control: the file names another host, so nothing matches when the name is lost. */
        query("host=127.0.0.1 port=" PG_PORT " dbname=postgres user=" PW_USER, passfile, QUERY_TIMEOUT,
              "SELECT current_user", &n);
        unlink(passfile);
        assert_int_equal(o.error, 0);
        assert_string_equal(o.values[0], PW_USER);
        assert_string_equal(o.values[1], "127.0.0.1/32");
        assert_int_equal(n.error, -ECONNREFUSED);
}

int main(void) {
        const struct CMUnitTest pure[] = {
                cmocka_unit_test(db__lsn__parses_high_and_low),
                cmocka_unit_test(db__lsn__rejects_malformed),
                cmocka_unit_test(db__bool__parses_t_and_f),
                cmocka_unit_test(db__bool__rejects_everything_else),
                cmocka_unit_test(db__redact__hides_every_password_form),
                cmocka_unit_test(db__start__rejects_bad_arguments),
                cmocka_unit_test(db__start__unparseable_conninfo_is_einval_via_callback),
                cmocka_unit_test(db__lookup_host__only_names_in_host),
                cmocka_unit_test(db__params__host_kept_hostaddr_added),
                cmocka_unit_test(db__start__several_hosts_with_a_name_is_einval),
                cmocka_unit_test(db__query__nothing_listening_fails_fast),
                cmocka_unit_test(db__query__server_hanging_up_during_startup_is_connection_error),
                cmocka_unit_test(db__query__deadline_while_connecting_is_etimedout),
        };
        const struct CMUnitTest live[] = {
                cmocka_unit_test(db__query__returns_columns_and_null),
                cmocka_unit_test(db__query__works_over_the_unix_socket),
                cmocka_unit_test(db__query__primary_is_not_in_recovery),
                cmocka_unit_test(db__query__application_name_is_ours_unless_conninfo_says),
                cmocka_unit_test(db__query__bad_sql_is_eio_with_one_line_message),
                cmocka_unit_test(db__query__not_one_row_is_eproto),
                cmocka_unit_test(db__query__utility_statement_has_no_columns),
                cmocka_unit_test(db__query__deadline_abandons_the_backend),
                cmocka_unit_test(db__query__free_before_completion_no_callback),
                cmocka_unit_test(db__query__free_inside_callback_is_safe),
                cmocka_unit_test(db__query__passfile_authenticates),
                cmocka_unit_test(db__query__host_name_resolves_and_passfile_matches_name),
                cmocka_unit_test(db__query__wrong_password_is_not_in_message),
        };
        int failed = cmocka_run_group_tests_name("db (no server)", pure, NULL, NULL);

        return failed + cmocka_run_group_tests_name("db (PostgreSQL 15)", live, cluster_setup, cluster_teardown);
}
