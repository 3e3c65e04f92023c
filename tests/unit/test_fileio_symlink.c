/* Unit tests for fileio: atomic writes through symbolic links (Debian's sites-enabled/x -> ../sites-available/x). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

struct tree {
        char root[64], avail[96], enabled[96], target[160], link[160];
};

/* root/sites-available/site (mode 0640, "old\n") and root/sites-enabled/site -> ../sites-available/site */
static int tree_setup(void **state) {
        struct tree *t = calloc(1, sizeof *t);
        FILE *f;

        assert_non_null(t);
        strcpy(t->root, "/tmp/blf-test-fileio-XXXXXX");
        assert_non_null(mkdtemp(t->root));
        snprintf(t->avail, sizeof t->avail, "%s/sites-available", t->root);
        snprintf(t->enabled, sizeof t->enabled, "%s/sites-enabled", t->root);
        snprintf(t->target, sizeof t->target, "%s/site", t->avail);
        snprintf(t->link, sizeof t->link, "%s/site", t->enabled);
        assert_int_equal(mkdir(t->avail, 0755), 0);
        assert_int_equal(mkdir(t->enabled, 0755), 0);
        assert_non_null(f = fopen(t->target, "w"));
        fputs("old\n", f);
        fclose(f);
        assert_int_equal(chmod(t->target, 0640), 0);
        assert_int_equal(symlink("../sites-available/site", t->link), 0);
        *state = t;
        return 0;
}

static void remove_all(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *e;
        char p[512];

        if (!d)
                return;
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                        if (unlink(p) < 0)
                                remove_all(p);
                }
        closedir(d);
        rmdir(dir);
}

static int tree_teardown(void **state) {
        struct tree *t = *state;

        remove_all(t->root);
        free(t);
        return 0;
}

static char *slurp(const char *path) {
        char *data = NULL;
        size_t size;

        return fileio_read(path, 4096, &data, &size) == 0 ? data : NULL;
}

static size_t entries(const char *dir) {
        DIR *d = opendir(dir);
        size_t n = 0;

        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n - 2;
}

static void fileio__write_through_symlink__target_written_link_kept(void **state) {
        struct tree *t = *state;
        struct stat st;
        char *text;

        assert_int_equal(fileio_write_atomic(t->link, "new\n", 4, 0644), 0);
        assert_int_equal(lstat(t->link, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_non_null(text = slurp(t->target));
        assert_string_equal(text, "new\n");
        free(text);
        assert_int_equal(stat(t->target, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);     /* the target's mode, not the 0644 for new files */
        assert_int_equal(entries(t->enabled), 1);       /* no temp file left beside the link */
        assert_int_equal(entries(t->avail), 1);
}

static void fileio__resolve__link_target_or_path_itself(void **state) {
        struct tree *t = *state;
        char *r = NULL, missing[200];

        assert_int_equal(fileio_resolve(t->link, &r), 0);
        assert_non_null(strstr(r, "/sites-available/site"));
        assert_null(strstr(r, ".."));
        free(r);
        assert_int_equal(fileio_resolve(t->target, &r), 0);
        assert_string_equal(r, t->target);
        free(r);
        snprintf(missing, sizeof missing, "%s/not-yet", t->root);
        assert_int_equal(fileio_resolve(missing, &r), 0);
        assert_string_equal(r, missing);
        free(r);
}

/* A link to nothing is not silently replaced by a regular file. */
static void fileio__dangling_symlink__enoent_link_untouched(void **state) {
        struct tree *t = *state;
        struct stat st;
        char dangling[200];

        snprintf(dangling, sizeof dangling, "%s/dangling", t->enabled);
        assert_int_equal(symlink("../sites-available/gone", dangling), 0);
        assert_int_equal(fileio_write_atomic(dangling, "x", 1, 0644), -ENOENT);
        assert_int_equal(lstat(dangling, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
}

static void fileio__plain_file__replaced_in_place(void **state) {
        struct tree *t = *state;
        char *text;

        assert_int_equal(fileio_write_atomic(t->target, "plain\n", 6, 0644), 0);
        assert_non_null(text = slurp(t->link));
        assert_string_equal(text, "plain\n");
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(fileio__write_through_symlink__target_written_link_kept, tree_setup,
                                                tree_teardown),
                cmocka_unit_test_setup_teardown(fileio__resolve__link_target_or_path_itself, tree_setup,
                                                tree_teardown),
                cmocka_unit_test_setup_teardown(fileio__dangling_symlink__enoent_link_untouched, tree_setup,
                                                tree_teardown),
                cmocka_unit_test_setup_teardown(fileio__plain_file__replaced_in_place, tree_setup, tree_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
