/* test_config_keys: a key the parser accepts cannot go undocumented — every path of the key table is in
 * blfailoverd.yml(5) and set somewhere in the sample config (the runbook form with its examples on, or the
 * sites example), and the sample with either form turned on parses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sample_text.h"
#include "util.h"

#define MAN_PATH "man/blfailoverd.yml.5"
#define SITES_MARKER "#| "

static char *read_all(const char *path) {
        FILE *f = fopen(path, "re");
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        char buf[4096];
        size_t n;

        assert_non_null(f);
        assert_non_null(out);
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
                fwrite(buf, 1, n, out);
        fclose(f);
        fclose(out);
        return text;
}

static struct config *load_text(const char *text) {
        struct config_errors errs;
        struct config *c = NULL;

        config_errors_init(&errs, SAMPLE_PATH);
        if (config_load_buffer(SAMPLE_PATH, text, strlen(text), &c, &errs) != 0)
                config_errors_print(&errs, stderr);
        config_errors_done(&errs);
        assert_non_null(c);
        return c;
}

/* "sites[1].database.ssh.host" is the key "sites[].database.ssh.host". */
static bool config_sets(const struct config *c, const char *path) {
        for (size_t i = 0; i < c->n_marks; i++) {
                const char *k = c->marks[i].key;
                char normal[256];

                if (strncmp(k, "sites[", 6) == 0 && k[6] && k[7] == ']')
                        snprintf(normal, sizeof normal, "sites[]%s", k + 8);
                else
                        snprintf(normal, sizeof normal, "%s", k);
                if (strcmp(normal, path) == 0)
                        return true;
        }
        return false;
}

static void config_keys__every_key__in_the_man_page(void **unused) {
        char **keys = config_key_paths(), *man = read_all(MAN_PATH);
        size_t missing = 0;

        assert_non_null(keys);
        assert_true(strv_length(keys) > 90);   /* the table, walked: not an empty list that passes */
        for (size_t i = 0; keys[i]; i++)
                if (!strstr(man, keys[i])) {
                        fprintf(stderr, "%s: key %s is not documented\n", MAN_PATH, keys[i]);
                        missing++;
                }
        assert_int_equal(missing, 0);
        strv_free(keys);
        free(man);
}

static void config_keys__every_key__set_in_the_sample(void **unused) {
        char **keys = config_key_paths(), *runbook = sample_text(true, NULL), *sites = sample_text(true, SITES_MARKER);
        struct config *r, *s;
        size_t missing = 0;

        drop_runbook_keys(sites);
        r = load_text(runbook);
        s = load_text(sites);
        assert_false(r->sites_form);
        assert_true(s->sites_form);
        for (size_t i = 0; keys && keys[i]; i++)
                if (!config_sets(r, keys[i]) && !config_sets(s, keys[i])) {
                        fprintf(stderr, "%s: key %s is in no example\n", SAMPLE_PATH, keys[i]);
                        missing++;
                }
        assert_int_equal(missing, 0);
        config_free(r);
        config_free(s);
        strv_free(keys);
        free(runbook);
        free(sites);
}

/* The sites example's commands are the defaults, written out: the sample says what an empty commands: does. */
static void config_keys__sample_site_commands__are_the_defaults(void **unused) {
        char *sites = sample_text(true, SITES_MARKER), *bare;
        struct config *s, *d;

        drop_runbook_keys(sites);
        s = load_text(sites);
        bare = strdup(sites);
        assert_non_null(bare);
        drop_block(bare, 6, "commands");
        d = load_text(bare);
        assert_non_null(d->sites[0].database.commands.status.argv);
        assert_true(strv_equal(s->sites[0].database.commands.status.argv, d->sites[0].database.commands.status.argv));
        assert_true(strv_equal(s->sites[0].database.commands.start.argv, d->sites[0].database.commands.start.argv));
        assert_true(strv_equal(s->sites[0].database.commands.stop.argv, d->sites[0].database.commands.stop.argv));
        assert_true(strv_equal(s->sites[0].database.commands.controldata.argv,
                               d->sites[0].database.commands.controldata.argv));
        assert_true(strv_equal(s->sites[0].database.commands.waldump.argv, d->sites[0].database.commands.waldump.argv));
        assert_true(strv_equal(s->sites[0].database.commands.recover.argv, d->sites[0].database.commands.recover.argv));
        assert_true(strv_equal(s->sites[0].database.commands.rewind.argv, d->sites[0].database.commands.rewind.argv));
        assert_true(strv_equal(s->sites[0].database.commands.clone_prepare.argv,
                               d->sites[0].database.commands.clone_prepare.argv));
        assert_true(strv_equal(s->sites[0].database.commands.clone.argv, d->sites[0].database.commands.clone.argv));
        assert_int_equal(s->sites[0].database.commands.clone.timeout_usec, d->sites[0].database.commands.clone.timeout_usec);
        config_free(s);
        config_free(d);
        free(sites);
        free(bare);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(config_keys__every_key__in_the_man_page),
                cmocka_unit_test(config_keys__every_key__set_in_the_sample),
                cmocka_unit_test(config_keys__sample_site_commands__are_the_defaults),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
