/* pause: owns the maintenance pause of a pair — STATE_DIR/pause, which says since when, by whom and why no automatic
 * action may run (checks, reports and manual commands go on). Its text format (parse/serialize are pure) and atomic
 * saves. The file's presence is the pause: it survives restarts. No logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PAUSE_FILE_NAME "pause"
#define PAUSE_REASON_MAX 256

struct pause {
        bool paused;
        uint64_t since_usec;            /* CLOCK_REALTIME */
        uid_t uid;                      /* who paused it (SO_PEERCRED, or the CLI's own uid) */
        char reason[PAUSE_REASON_MAX];  /* free text, "" when none was given */
};

/* Pure. -EBADMSG on anything malformed or torn. */
int pause_parse(const char *data, size_t size, struct pause *ret);
int pause_serialize(const struct pause *p, char **ret_text, size_t *ret_size);

/* A reason fit for one line of the log and the record: printable, at most PAUSE_REASON_MAX - 1 bytes. */
bool pause_reason_valid(const char *reason);

/* -ENOENT: not paused. -EBADMSG: the file is corrupt — callers treat that as paused (the safe side). */
int pause_load(const char *state_dir, struct pause *ret);
int pause_save(const char *state_dir, const struct pause *p);  /* atomic, 0600 */
int pause_clear(const char *state_dir);                         /* -ENOENT when not paused */
