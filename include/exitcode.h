/* exitcode: every process exit code blfailoverd returns, in one place (main returns them; the modes decide them).
 * Stable: scripts and systemd's RestartPreventExitStatus= depend on them. Documented in blfailoverd(8). */
#pragma once

#include <stdlib.h>             /* EXIT_SUCCESS 0, EXIT_FAILURE 1 */

#define EXIT_USAGE 2            /* bad command line */
#define EXIT_PUT_BACK 4          /* --switchover: a step failed before the promotion and everything was put back */
#define EXIT_REFUSED 3          /* --once: a gate said no, or a failover is recorded or running; the drill's "held" */
#define EXIT_BUSY 75            /* EX_TEMPFAIL: another blfailoverd holds the pair's lock and takes no commands */
#define EXIT_NOPERM 77          /* EX_NOPERM: the running daemon takes no commands from this user */
#define EXIT_CONFIG 78          /* EX_CONFIG: bad config, or a state_dir others can write */
