/* shellquote: owns quoting one word for a POSIX shell (what sshd hands the remote command to). Pure. */
#pragma once

/* Returns a malloc'd string that a POSIX sh reads back as exactly `word` (single-quoted, with ' as '\'').
 * NULL on ENOMEM. */
char *shell_quote(const char *word);
