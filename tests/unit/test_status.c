/* Unit tests for status: the live view's file format (round trip, every truncation rejected, escapes), who
 * serves, and the human and JSON renderings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "status.h"

static struct status sample(void) {
        struct status s = { .pid = 4242, .running = true, .started_usec = 1764100000000000,
                            .updated_usec = 1764100005000000, .threshold = 3 };

        strcpy(s.active.name, "active_api");
        strcpy(s.active.url, "http://10.0.0.1:8080/health");
        s.active.health = STATUS_DOWN;
        s.active.checks = 7;
        s.active.checked_usec = 1764100004500000;
        strcpy(s.active.result, "http status");
        s.active.http_code = 503;
        s.active.latency_usec = 12345;
        s.active.failures = 2;
        strcpy(s.standby.name, "standby \"api\"");
        strcpy(s.standby.url, "http://10.0.0.2:8080/health");
        s.standby.health = STATUS_UP;
        s.standby.checks = 7;
        s.standby.checked_usec = 1764100004600000;
        strcpy(s.standby.result, "ok");
        s.standby.http_code = 200;
        strcpy(s.standby.error, "line one\nline\\two\x01");
        s.standby_db = (struct status_db) { .configured = true, .known = true, .reachable = true, .in_recovery = true,
                                            .receiving = true, .lag_bytes = 8192, .lag_seconds = 1.5,
                                            .checked_usec = 1764100004000000 };
        s.primary_db = (struct status_db) { .configured = true, .known = true, .lag_seconds = -1 };
        strcpy(s.primary_db.error, "connection refused");
        strcpy(s.held_gate, "replication_lag");
        strcpy(s.held_detail, "replication lag: 8192 bytes");
        return s;
}

static void status__serialize_then_parse__round_trips(void **unused) {
        struct status s = sample(), back;
        char *text;
        size_t size;

        assert_int_equal(status_serialize(&s, &text, &size), 0);
        assert_int_equal(status_parse(text, size, &back), 0);
        assert_int_equal(back.pid, 4242);
        assert_true(back.running);
        assert_int_equal(back.started_usec, s.started_usec);
        assert_int_equal(back.threshold, 3);
        assert_string_equal(back.active.name, "active_api");
        assert_int_equal(back.active.health, STATUS_DOWN);
        assert_int_equal(back.active.http_code, 503);
        assert_int_equal(back.active.latency_usec, 12345);
        assert_int_equal(back.active.failures, 2);
        assert_int_equal(back.active.checks, 7);
        assert_string_equal(back.standby.name, "standby \"api\"");
        assert_string_equal(back.standby.error, s.standby.error);
        assert_true(back.standby_db.in_recovery);
        assert_int_equal(back.standby_db.lag_bytes, 8192);
        assert_true(back.standby_db.lag_seconds > 1.49 && back.standby_db.lag_seconds < 1.51);
        assert_true(back.primary_db.lag_seconds < 0);
        assert_string_equal(back.primary_db.error, "connection refused");
        assert_string_equal(back.held_gate, "replication_lag");
        /* one value per line: the newline in the error was escaped */
        assert_null(strstr(text, "line one\nline"));
        free(text);
}

static char *render(void (*fn)(const struct status_view *, FILE *), const struct status_view *v);

/* A follower of a three-member cluster: mon-a leads and sees the active failing, mon-c's view is gone. */
static void add_member(struct status_cluster *c, const char *name, const char *active, unsigned failures, double age,
                       bool agrees, bool digest_ok) {
        struct status_cluster_member *m = &c->members[c->n_members++];

        snprintf(m->name, sizeof m->name, "%s", name);
        m->seen = age >= 0;
        m->fresh = m->seen;
        m->agrees = agrees;
        m->digest_ok = digest_ok;
        snprintf(m->active_health, sizeof m->active_health, "%s", active);
        m->active_failures = failures;
        snprintf(m->standby_health, sizeof m->standby_health, "%s", m->seen ? "up" : "");
        m->age_seconds = age;
}

static struct status sample_cluster(void) {
        struct status s = sample();
        struct status_cluster *c = &s.cluster;

        c->enabled = true;
        strcpy(c->name, "mon-b");
        strcpy(c->role, "follower");
        strcpy(c->leader, "mon-a");
        c->etcd_up = true;
        c->lease_seconds_left = -1;
        strcpy(c->endpoint, "http://127.0.0.1:25440");
        c->record_revision = 9000000000;
        c->agreeing = 2, c->needed = 2;
        add_member(c, "mon-a", "down", 3, 1.25, true, true);
        add_member(c, "mon-b", "down", 3, 0, true, true);
        add_member(c, "mon-c \"x\"", "", 0, -1, false, false);
        return s;
}

static void status__cluster__round_trips(void **unused) {
        struct status s = sample_cluster(), back;
        char *text;
        size_t size;

        assert_int_equal(status_serialize(&s, &text, &size), 0);
        assert_int_equal(status_parse(text, size, &back), 0);
        assert_true(back.cluster.enabled);
        assert_string_equal(back.cluster.name, "mon-b");
        assert_string_equal(back.cluster.role, "follower");
        assert_string_equal(back.cluster.leader, "mon-a");
        assert_false(back.cluster.acting);
        assert_true(back.cluster.etcd_up);
        assert_true(back.cluster.lease_seconds_left < 0);
        assert_string_equal(back.cluster.endpoint, "http://127.0.0.1:25440");
        assert_true(back.cluster.record_revision == 9000000000);
        assert_int_equal(back.cluster.agreeing, 2);
        assert_int_equal(back.cluster.needed, 2);
        assert_int_equal(back.cluster.n_members, 3);
        assert_string_equal(back.cluster.members[0].name, "mon-a");
        assert_true(back.cluster.members[0].seen && back.cluster.members[0].fresh && back.cluster.members[0].agrees);
        assert_true(back.cluster.members[0].digest_ok);
        assert_string_equal(back.cluster.members[0].active_health, "down");
        assert_int_equal(back.cluster.members[0].active_failures, 3);
        assert_string_equal(back.cluster.members[0].standby_health, "up");
        assert_true(back.cluster.members[0].age_seconds > 1.24 && back.cluster.members[0].age_seconds < 1.26);
        assert_string_equal(back.cluster.members[2].name, "mon-c \"x\"");
        assert_false(back.cluster.members[2].seen);
        assert_false(back.cluster.members[2].digest_ok);
        assert_true(back.cluster.members[2].age_seconds < 0);
        free(text);
        /* a torn file is refused with the cluster block too */
        assert_int_equal(status_serialize(&s, &text, &size), 0);
        for (size_t cut = 0; cut < size; cut++)
                assert_int_equal(status_parse(text, cut, &back), -EBADMSG);
        free(text);
}

/* Standalone: not one byte more than before in the file, the JSON or the text; old files parse as standalone. */
static void status__standalone__no_cluster_anywhere(void **unused) {
        struct status s = sample(), back;
        struct status_view v = { .status = &s, .daemon_alive = true };
        static const char old[] = "blfailoverd-status 1\npid 7\nend\n";
        char *text, *h, *j;
        size_t size;

        strcpy(s.cluster.name, "ignored");      /* filled but not enabled: still standalone */
        s.cluster.n_members = 1;
        assert_int_equal(status_serialize(&s, &text, &size), 0);
        assert_null(strstr(text, "cluster"));
        free(text);
        h = render(status_print_human, &v);
        assert_null(strstr(h, "cluster"));
        assert_null(strstr(h, "quorum"));
        free(h);
        j = render(status_print_json, &v);
        assert_null(strstr(j, "cluster"));
        free(j);
        assert_int_equal(status_parse(old, strlen(old), &back), 0);
        assert_false(back.cluster.enabled);
        assert_int_equal(back.cluster.n_members, 0);
}

static void status__cluster_bad_lines__rejected(void **unused) {
        static const char *const bad[] = {
                "blfailoverd-status 1\ncluster.member.15.name x\nend\n",     /* past STATUS_CLUSTER_MEMBERS_MAX */
                "blfailoverd-status 1\ncluster.member.-1.name x\nend\n",
                "blfailoverd-status 1\ncluster.member.1name x\nend\n",
                "blfailoverd-status 1\ncluster.member.1.nope x\nend\n",
                "blfailoverd-status 1\ncluster.member..name x\nend\n",
                "blfailoverd-status 1\ncluster.n_members 16\nend\n",
                "blfailoverd-status 1\ncluster.nope 1\nend\n",
                "blfailoverd-status 1\ncluster.record_revision x\nend\n",
                "blfailoverd-status 1\ncluster.acting maybe\nend\n",
        };
        static const char good[] = "blfailoverd-status 1\ncluster.n_members 15\ncluster.member.14.name x\n"
                                   "cluster.record_revision -1\nend\n";
        struct status back;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_int_equal(status_parse(bad[i], strlen(bad[i]), &back), -EBADMSG);
        assert_int_equal(status_parse(good, strlen(good), &back), 0);
        assert_string_equal(back.cluster.members[14].name, "x");
        assert_true(back.cluster.record_revision == -1);
}

static void status__every_truncation__is_rejected(void **unused) {
        struct status s = sample(), back;
        char *text;
        size_t size;

        assert_int_equal(status_serialize(&s, &text, &size), 0);
        for (size_t cut = 0; cut < size; cut++)
                assert_int_equal(status_parse(text, cut, &back), -EBADMSG);
        free(text);
}

static void status__bad_lines__rejected(void **unused) {
        static const char *const bad[] = {
                "blfailoverd-status 1\nnope 1\nend\n",                  /* unknown key */
                "blfailoverd-status 1\nactive.health sideways\nend\n",  /* unknown word */
                "blfailoverd-status 1\nthreshold -3\nend\n",            /* no sign */
                "blfailoverd-status 1\nrunning maybe\nend\n",
                "blfailoverd-status 1\nactive.error a\\qb\nend\n",      /* unknown escape */
                "blfailoverd-status 2\nend\n",                          /* another format */
                "blfailoverd-status 1\nend\npid 3\n",                   /* after the end */
                "blfailoverd-status 1\nactive.nope 3\nend\n",
                "blfailoverd-status 1\npid  3\nend\n",                  /* blanks strtol would skip */
                "blfailoverd-status 1\nactive.checks +3\nend\n",
                "blfailoverd-status 1\nstandby_db.lag_seconds nan\nend\n",
        };
        struct status back;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_int_equal(status_parse(bad[i], strlen(bad[i]), &back), -EBADMSG);
}

static void status__save_then_load__in_a_fresh_dir(void **unused) {
        char dir[] = "/tmp/blf-test-status-XXXXXX", sub[64], path[96];
        struct status s = sample(), back;

        assert_non_null(mkdtemp(dir));
        snprintf(sub, sizeof sub, "%s/state", dir);
        assert_int_equal(status_load(sub, &back), -ENOENT);
        assert_int_equal(status_save(sub, &s), 0);
        assert_int_equal(status_load(sub, &back), 0);
        assert_int_equal(back.pid, 4242);
        snprintf(path, sizeof path, "%s/%s.tmp", sub, STATUS_FILE_NAME);
        assert_int_equal(access(path, F_OK), -1);       /* renamed, not left behind */
        snprintf(path, sizeof path, "%s/%s", sub, STATUS_FILE_NAME);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(sub), 0);
        assert_int_equal(rmdir(dir), 0);
}

static struct state switched_record(void) {
        struct state r = { .outcome = STATE_SUCCEEDED, .started_usec = 1764100001000000,
                           .finished_usec = 1764100003000000, .n_steps = 2, .version = 2, .op = STATE_OP_FAILOVER,
                           .latch = STATE_LATCH_FAILOVER, .epoch = 1 };

        /* as failover.c records it once the promote step is ok */
        strcpy(r.serving, "standby \"api\"");
        strcpy(r.standby, "active_api");
        strcpy(r.trigger, "automatic");
        strcpy(r.steps[0].name, "promote");
        r.steps[0].status = STATE_STEP_OK;
        r.steps[0].duration_usec = 250000;
        r.steps[0].exit_status = 0;
        strcpy(r.steps[1].name, "switch");
        r.steps[1].status = STATE_STEP_OK;
        r.steps[1].exit_status = -1;
        strcpy(r.steps[1].detail, "nginx -s \"reload\"");
        return r;
}

static void status__serving__standby_once_switched(void **unused) {
        struct status s = sample();
        struct state r = switched_record();

        assert_string_equal(status_serving(&s, NULL), "active_api");
        assert_string_equal(status_serving(&s, &r), "standby \"api\"");
        r.steps[1].status = STATE_STEP_FAILED;
        assert_string_equal(status_serving(&s, &r), "active_api");
}

static char *render(void (*fn)(const struct status_view *, FILE *), const struct status_view *v) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        fn(v, f);
        fclose(f);
        return text;
}

static void status__failover_running__the_record_decides(void **unused) {
        struct status live = { .failover_running = true };
        struct state running = { .outcome = STATE_RUNNING }, done = { .outcome = STATE_SUCCEEDED };

        assert_true(status_failover_running(&live, true, &running));
        /* A live view written before the last step finished, read after it: the record says it is over. */
        assert_false(status_failover_running(&live, true, &done));
        /* The daemon died mid-failover: nothing runs it any more (the record says "interrupted"). */
        assert_false(status_failover_running(&live, false, &running));
        assert_false(status_failover_running(&live, true, NULL));
        live.failover_running = false;
        assert_false(status_failover_running(&live, true, &running));
}

static void status__json__has_live_view_and_record(void **unused) {
        struct status s = sample();
        struct state r = switched_record();
        struct status_view v = { .status = &s, .record = &r, .daemon_alive = true };
        char *j = render(status_print_json, &v);

        /* The schema's version comes first, so a reader can refuse a document it does not know (issue 11). */
        assert_true(strncmp(j, "{\"version\":1,\"daemon\":{", 22) == 0);
        assert_non_null(strstr(j, "\"daemon\":{\"running\":true,\"pid\":4242,"));
        assert_non_null(strstr(j, "\"serving\":\"standby \\\"api\\\"\""));
        assert_non_null(strstr(j, "\"roles\":{\"serving\":\"standby \\\"api\\\"\",\"standby\":\"active_api\","
                                  "\"epoch\":1,\"latch\":\"failover\"}"));
        assert_non_null(strstr(j, "\"status\":\"down\",\"consecutive_failures\":2,\"threshold\":3"));
        assert_non_null(strstr(j, "\"http_status\":503"));
        assert_non_null(strstr(j, "\"error\":\"line one\\nline\\\\two\\u0001\""));
        assert_non_null(strstr(j, "\"lag_bytes\":8192,\"replay_lag_seconds\":1.5"));
        assert_non_null(strstr(j, "\"held\":{\"gate\":\"replication_lag\""));
        assert_non_null(strstr(j, "\"outcome\":\"succeeded\",\"trigger\":\"automatic\""));
        assert_non_null(strstr(j, "{\"name\":\"promote\",\"result\":\"ok\",\"started\":null,\"duration_seconds\":0.25,"
                                  "\"exit_status\":0,"));
        assert_non_null(strstr(j, "\"detail\":\"nginx -s \\\"reload\\\"\""));
        assert_string_equal(j + strlen(j) - 2, "}\n");
        free(j);
}

static void status__json__no_record_is_null_unreadable_is_said(void **unused) {
        struct status s = sample();
        struct status_view v = { .status = &s };
        char *j = render(status_print_json, &v);

        assert_non_null(strstr(j, "\"failover\":null}"));
        assert_non_null(strstr(j, "\"running\":false"));
        /* before any record: the config's active serves, epoch 0, armed */
        assert_non_null(strstr(j, "\"roles\":{\"serving\":\"active_api\",\"standby\":\"standby \\\"api\\\"\","
                                  "\"epoch\":0,\"latch\":\"none\"}"));
        free(j);
        v.first_serving = "cfg_a", v.first_standby = "cfg_b";
        j = render(status_print_json, &v);
        assert_non_null(strstr(j, "\"roles\":{\"serving\":\"cfg_a\",\"standby\":\"cfg_b\",\"epoch\":0,"));
        free(j);
        v.record_error = -EBADMSG;
        j = render(status_print_json, &v);
        assert_non_null(strstr(j, "\"failover\":{\"outcome\":\"unreadable\""));
        assert_non_null(strstr(j, "\"roles\":{\"serving\":null,\"standby\":null,\"epoch\":null,"
                                  "\"latch\":\"unreadable\"}"));
        free(j);
}

/* ---- every field of --status --json is in the README's table (issue 11) -------------------------------- */

#define README_PATH "README.md"         /* the tests run from the repository root */
#define PATHS_MAX 128
#define PATH_LEN 96

struct key_paths {
        char p[PATHS_MAX][PATH_LEN];
        size_t n;
};

static void add_path(struct key_paths *kp, const char *path) {
        for (size_t i = 0; i < kp->n; i++)
                if (strcmp(kp->p[i], path) == 0)
                        return;
        assert_true(kp->n < PATHS_MAX);
        snprintf(kp->p[kp->n++], PATH_LEN, "%s", path);
}

/* Every key of a JSON text as a dotted path ("daemon.pid", "failover.steps[].name"), each once. Enough JSON for
 * what json.c writes: strings with escapes, objects, arrays. */
static void json_key_paths(const char *t, struct key_paths *kp) {
        struct { bool object; size_t len; } st[16];
        size_t depth = 0;
        char path[PATH_LEN] = "";
        bool want_key = false;

        for (const char *c = t; *c; c++) {
                if (*c == '"') {
                        const char *s = ++c;
                        while (*c && *c != '"')
                                c += c[0] == '\\' && c[1] ? 2 : 1;
                        if (want_key) {
                                size_t len = st[depth - 1].len;
                                snprintf(path + len, sizeof path - len, "%s%.*s", len ? "." : "", (int) (c - s), s);
                                add_path(kp, path);
                                want_key = false;
                        }
                } else if (*c == '{' || *c == '[') {
                        assert_true(depth < 16);
                        if (*c == '[')
                                strcat(path, "[]");
                        st[depth].object = *c == '{';
                        st[depth++].len = strlen(path);
                        want_key = *c == '{';
                } else if (*c == '}' || *c == ']') {
                        assert_true(depth > 0);
                        depth--;
                } else if (*c == ',' && depth > 0) {
                        want_key = st[depth - 1].object;
                        path[st[depth - 1].len] = '\0';
                }
        }
}

static char *read_readme(void) {
        FILE *f = fopen(README_PATH, "r");
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);
        char buf[4096];
        size_t n;

        assert_non_null(f);
        assert_non_null(out);
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
                fwrite(buf, 1, n, out);
        fclose(f);
        assert_int_equal(fclose(out), 0);
        return text;
}

static void status__json__every_field_documented_in_readme(void **unused) {
        struct status s = sample();
        struct state r = switched_record();
        struct status_view v = { .status = &s, .record = &r, .daemon_alive = true };
        struct key_paths kp = {};
        char *readme = read_readme(), *j;

        j = render(status_print_json, &v);
        json_key_paths(j, &kp);
        free(j);
        v.record = NULL, v.record_error = -EBADMSG;     /* "unreadable" has fields of its own */
        j = render(status_print_json, &v);
        json_key_paths(j, &kp);
        free(j);
        s = sample_cluster();                           /* and a member's "cluster" object */
        j = render(status_print_json, &v);
        json_key_paths(j, &kp);
        free(j);
        assert_true(kp.n > 40);         /* the walk found the nested fields */
        for (size_t i = 0; i < kp.n; i++) {
                char row[PATH_LEN + 8];
                const char *p = kp.p[i];

                /* The table lists standby's fields under active, primary_db's under standby_db. */
                if (strncmp(p, "standby.", 8) == 0 || strcmp(p, "standby") == 0)
                        snprintf(row, sizeof row, "| `active%s` |", p + 7);
                else if (strncmp(p, "primary_db", 10) == 0)
                        snprintf(row, sizeof row, "| `standby_db%s` |", p + 10);
                else
                        snprintf(row, sizeof row, "| `%s` |", p);
                if (!strstr(readme, row))
                        fail_msg("--status --json field \"%s\" has no row %s in " README_PATH, p, row);
        }
        free(readme);
}

static void status__not_started__kept_in_the_file_and_shown_with_the_state_dir(void **unused) {
        struct status s = sample(), back;
        struct status_view v = { .status = &s, .state_dir = "/var/lib/blfailoverd", .state_dir_error = -EROFS };
        char *text, *h, *j;
        size_t size;

        s.held_gate[0] = 0;
        strcpy(s.not_started, "cannot record it in /var/lib/blfailoverd/state: No space left on device");
        assert_int_equal(status_serialize(&s, &text, &size), 0);
        assert_int_equal(status_parse(text, size, &back), 0);
        assert_string_equal(back.not_started, s.not_started);
        free(text);
        h = render(status_print_human, &v);
        assert_non_null(strstr(h, "failover: NOT STARTED: cannot record it in /var/lib/blfailoverd/state: No space"));
        assert_non_null(strstr(h, "state dir: /var/lib/blfailoverd takes no new file (Read-only file system)"));
        free(h);
        j = render(status_print_json, &v);
        assert_non_null(strstr(j, "\"not_started\":\"cannot record it in /var/lib/blfailoverd/state: No space"));
        assert_non_null(strstr(j, "\"state_dir\":{\"path\":\"/var/lib/blfailoverd\",\"writable\":false,"
                                  "\"error\":\"Read-only file system\"}"));
        free(j);
        s.not_started[0] = 0;
        v.state_dir_error = 0;
        j = render(status_print_json, &v);
        assert_non_null(strstr(j, "\"not_started\":null,\"state_dir\":{\"path\":\"/var/lib/blfailoverd\","
                                  "\"writable\":true,\"error\":null}"));
        free(j);
}

static void status__cluster__json_object_with_members(void **unused) {
        struct status s = sample_cluster();
        struct status_view v = { .status = &s, .daemon_alive = true };
        char *j = render(status_print_json, &v);

        assert_true(strncmp(j, "{\"version\":1,", 12) == 0);   /* a new key: the schema's version stays */
        assert_non_null(strstr(j, "\"cluster\":{\"name\":\"mon-b\",\"role\":\"follower\",\"leader\":\"mon-a\","
                                  "\"acting\":false,\"etcd_up\":true,\"endpoint\":\"http://127.0.0.1:25440\","
                                  "\"lease_seconds_left\":null,\"reason\":null,\"record_revision\":9000000000,"
                                  "\"agreeing\":2,\"needed\":2,\"members\":[{\"name\":\"mon-a\","));
        assert_non_null(strstr(j, "{\"name\":\"mon-a\",\"seen\":true,\"fresh\":true,\"agrees\":true,"
                                  "\"digest_ok\":true,\"active_health\":\"down\",\"active_failures\":3,"
                                  "\"standby_health\":\"up\",\"standby_failures\":0,\"age_seconds\":1.25}"));
        assert_non_null(strstr(j, "{\"name\":\"mon-c \\\"x\\\"\",\"seen\":false,\"fresh\":false,\"agrees\":false,"
                                  "\"digest_ok\":false,\"active_health\":null,\"active_failures\":0,"
                                  "\"standby_health\":null,\"standby_failures\":0,\"age_seconds\":null}]}"));
        free(j);
        strcpy(s.cluster.role, "leader");
        s.cluster.leader[0] = 0, s.cluster.acting = true, s.cluster.lease_seconds_left = 2.5;
        j = render(status_print_json, &v);
        assert_non_null(strstr(j, "\"leader\":null,\"acting\":true,"));
        assert_non_null(strstr(j, "\"lease_seconds_left\":2.5,"));
        free(j);
}

static void status__cluster__human_block(void **unused) {
        struct status s = sample_cluster();
        struct status_view v = { .status = &s, .daemon_alive = true };
        char *h = render(status_print_human, &v);

        assert_non_null(strstr(h, "cluster: member mon-b, follower (leader mon-a), etcd up via http://127.0.0.1:25440\n"
                                  "  mon-a: active down (3 failures), standby up (0 failures), 1.2s ago, agrees\n"
                                  "  mon-b: active down (3 failures), standby up (0 failures), 0.0s ago, agrees\n"
                                  "  mon-c \"x\": no view\n"
                                  "quorum: 2 of 3 members see the active failing, 2 needed\n"));
        free(h);
        s.cluster.members[0].digest_ok = false, s.cluster.members[0].agrees = false;
        s.cluster.members[0].fresh = false;
        s.cluster.agreeing = 1;
        h = render(status_print_human, &v);
        assert_non_null(strstr(h, "  mon-a: active down (3 failures), standby up (0 failures), 1.2s ago, stale, "
                                  "CONFIG DIFFERS\n"));
        assert_non_null(strstr(h, "quorum: 1 of 3 members see the active failing, 2 needed\n"));
        free(h);
        strcpy(s.cluster.name, "mon-a"), strcpy(s.cluster.role, "leader"), strcpy(s.cluster.leader, "mon-a");
        s.cluster.acting = true, s.cluster.lease_seconds_left = 2.44;
        h = render(status_print_human, &v);
        assert_non_null(strstr(h, "cluster: member mon-a, LEADER, acting, lease 2.4s left\n"));
        free(h);
        strcpy(s.cluster.role, "unavailable"), s.cluster.acting = false, s.cluster.etcd_up = false;
        strcpy(s.cluster.reason, "every endpoint failed: 127.0.0.1:25440 connection refused");
        h = render(status_print_human, &v);
        assert_non_null(strstr(h, "cluster: member mon-a, UNAVAILABLE: every endpoint failed: 127.0.0.1:25440 "
                                  "connection refused\n"));
        free(h);
}

static void status__human__names_everything(void **unused) {
        struct status s = sample();
        struct state r = switched_record();
        struct status_view v = { .status = &s, .record = &r, .daemon_alive = true };
        char *h = render(status_print_human, &v);

        assert_non_null(strstr(h, "daemon:  running (pid 4242"));
        assert_non_null(strstr(h, "active:  active_api (http://10.0.0.1:8080/health): down, 2/3 consecutive failures"));
        assert_non_null(strstr(h, "http status, HTTP 503, 12.3 ms"));
        assert_non_null(strstr(h, "standby database: in recovery, receiving WAL, lag 8192 bytes, replay lag 1.500s"));
        assert_non_null(strstr(h, "primary database: unreachable: connection refused"));
        assert_non_null(strstr(h, "failover: held by gate replication_lag"));
        assert_non_null(strstr(h, "last failover: succeeded (automatic)"));
        assert_non_null(strstr(h, "roles: standby \"api\" serves, active_api standby · epoch 1 · latch failover\n"));
        free(h);
        /* a format-1 record names no site: promote ok means the standby serves */
        r.serving[0] = r.standby[0] = 0;
        h = render(status_print_human, &v);
        assert_non_null(strstr(h, "roles: standby \"api\" serves, active_api standby · epoch 1 · latch failover\n"));
        free(h);
        v.record = NULL;
        h = render(status_print_human, &v);
        assert_non_null(strstr(h, "roles: active_api serves, standby \"api\" standby · epoch 0 · latch none\n"));
        free(h);
        v.record_error = -EBADMSG;
        h = render(status_print_human, &v);
        assert_non_null(strstr(h, "roles: unknown (the record cannot be read) · latch unreadable\n"));
        free(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(status__serialize_then_parse__round_trips),
                cmocka_unit_test(status__json__every_field_documented_in_readme),
                cmocka_unit_test(status__not_started__kept_in_the_file_and_shown_with_the_state_dir),
                cmocka_unit_test(status__every_truncation__is_rejected),
                cmocka_unit_test(status__bad_lines__rejected),
                cmocka_unit_test(status__save_then_load__in_a_fresh_dir),
                cmocka_unit_test(status__serving__standby_once_switched),
                cmocka_unit_test(status__failover_running__the_record_decides),
                cmocka_unit_test(status__json__has_live_view_and_record),
                cmocka_unit_test(status__json__no_record_is_null_unreadable_is_said),
                cmocka_unit_test(status__human__names_everything),
                cmocka_unit_test(status__cluster__round_trips),
                cmocka_unit_test(status__standalone__no_cluster_anywhere),
                cmocka_unit_test(status__cluster_bad_lines__rejected),
                cmocka_unit_test(status__cluster__json_object_with_members),
                cmocka_unit_test(status__cluster__human_block),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
