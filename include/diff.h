/* diff: owns rendering the change between two texts as a unified diff (for --dry-run). Pure apart from the
 * FILE it writes to. Only lines that differ are shown (blank lines and comments
 * between two changed lines are context, not removed and re-added); hunks with 3 lines of context. */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* Writes "--- label_a / +++ label_b / @@ ... @@" and the lines; nothing when the texts are equal.
 * Returns the number of changed lines (0 when equal), or -ENOMEM. */
int diff_unified(const char *a, size_t a_len, const char *b, size_t b_len, const char *label_a,
                 const char *label_b, FILE *out);
