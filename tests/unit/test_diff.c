/* Unit tests for diff: the unified diff --dry-run prints. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static char *render(const char *a, const char *b, int *ret) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        *ret = diff_unified(a, strlen(a), b, strlen(b), "old", "new", f);
        fclose(f);
        return text;
}

static void diff__equal_texts__print_nothing(void **unused) {
        int r;
        char *out = render("a\nb\n", "a\nb\n", &r);

        assert_int_equal(r, 0);
        assert_string_equal(out, "");
        free(out);
}

static void diff__one_changed_line__hunk_with_context(void **unused) {
        int r;
        char *out = render("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n", &r);

        assert_int_equal(r, 2);
        assert_string_equal(out, "--- old\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n");
        free(out);
}

static void diff__change_at_start_and_end__context_clipped(void **unused) {
        int r;
        char *out = render("a\nb\n", "A\nb\n", &r);

        assert_string_equal(out, "--- old\n+++ new\n@@ -1,2 +1,2 @@\n-a\n+A\n b\n");
        free(out);
        out = render("a\nb\n", "a\nB\n", &r);
        assert_string_equal(out, "--- old\n+++ new\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n");
        free(out);
}

static void diff__two_changed_lines__one_hunk(void **unused) {
        int r;
        char *out = render("u {\n  s a;\n  s b backup;\n}\n", "u {\n  s a down;\n  s b;\n}\n", &r);

        assert_int_equal(r, 4);
        assert_string_equal(out, "--- old\n+++ new\n@@ -1,4 +1,4 @@\n u {\n-  s a;\n-  s b backup;\n+  s a down;\n"
                            "+  s b;\n }\n");
        free(out);
}

/* Issue 14: a blank line and a comment between the two server lines are context, not removed and re-added. */
static void diff__blank_and_comment_between_changes__shown_as_context(void **unused) {
        int r;
        char *out = render("u {\n  s a;\n\n  # standby\n  s b backup;\n}\n",
                           "u {\n  s a down;\n\n  # standby\n  s b;\n}\n", &r);

        assert_int_equal(r, 4);
        assert_string_equal(out, "--- old\n+++ new\n@@ -1,6 +1,6 @@\n u {\n-  s a;\n+  s a down;\n \n   # standby\n"
                            "-  s b backup;\n+  s b;\n }\n");
        free(out);
}

/* A line the rewrite joins to the one before (a `backup` on its own line dropped) is one change, not a block. */
static void diff__line_count_changes__only_the_changed_lines(void **unused) {
        int r;
        char *out = render("a\ns x\n  backup;\nb\nc\n", "a\ns x;\nb\nc\n", &r);

        assert_int_equal(r, 3);
        assert_string_equal(out, "--- old\n+++ new\n@@ -1,5 +1,4 @@\n a\n-s x\n-  backup;\n+s x;\n b\n c\n");
        free(out);
}

/* Changes more than 6 common lines apart get a hunk each, with their own line numbers. */
static void diff__far_apart_changes__two_hunks(void **unused) {
        int r;
        char *out = render("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "ONE\n2\n3\n4\n5\n6\n7\n8\n9\nTEN\n", &r);

        assert_int_equal(r, 4);
        assert_string_equal(out, "--- old\n+++ new\n@@ -1,4 +1,4 @@\n-1\n+ONE\n 2\n 3\n 4\n"
                            "@@ -7,4 +7,4 @@\n 7\n 8\n 9\n-10\n+TEN\n");
        free(out);
}

static void diff__no_final_newline__marked(void **unused) {
        int r;
        char *out = render("x", "y", &r);

        assert_non_null(strstr(out, "-x\n\\ No newline at end of file\n+y\n\\ No newline at end of file\n"));
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(diff__equal_texts__print_nothing),
                cmocka_unit_test(diff__one_changed_line__hunk_with_context),
                cmocka_unit_test(diff__change_at_start_and_end__context_clipped),
                cmocka_unit_test(diff__two_changed_lines__one_hunk),
                cmocka_unit_test(diff__no_final_newline__marked),
                cmocka_unit_test(diff__blank_and_comment_between_changes__shown_as_context),
                cmocka_unit_test(diff__line_count_changes__only_the_changed_lines),
                cmocka_unit_test(diff__far_apart_changes__two_hunks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
