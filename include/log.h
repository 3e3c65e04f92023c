/* log: owns writing log lines — to stderr as "TIMESTAMP LEVEL: message", or to the journal when stderr is
 * connected to it. The only mutable globals in the daemon are these log settings (level, target, and the tee that
 * copies lines to a command's caller); nothing here decides *what* to log. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
        LOG_LEVEL_ERR = 3,
        LOG_LEVEL_WARNING = 4,
        LOG_LEVEL_NOTICE = 5,
        LOG_LEVEL_INFO = 6,
        LOG_LEVEL_DEBUG = 7,
};

/* Picks the target: the journal (structured, via sd_journal_send) when stderr is the journal stream systemd set up
 * (JOURNAL_STREAM names stderr's device:inode), plain lines on stderr otherwise. Call once at start. */
void log_open(void);
bool log_to_journal(void);

void log_set_max_level(enum log_level level);
enum log_level log_get_max_level(void);

/* Returns -abs(error) when error != 0, else 0, so callers can `return log_error_errno(r, "...")`. */
int log_full(enum log_level level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int log_fullv(enum log_level level, int error, const char *fmt, va_list ap);

/* While a command given over the control channel runs, every line logged is also handed to `tee` (the level's name
 * and the message), so the command's caller sees the progress the journal sees. NULL turns it off. The tee must not
 * log itself: a line it would log is dropped. */
typedef void (*log_tee_fn)(const char *level_name, const char *message, void *userdata);
void log_set_tee(log_tee_fn tee, void *userdata);
const char *log_level_name(enum log_level level);

/* One message with extra journal fields ("KEY=value" strings, NULL-terminated). On stderr only the message shows. */
int log_struct(enum log_level level, const char *message, const char *const *fields);

#define log_debug(...)   log_full(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_LEVEL_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full(LOG_LEVEL_ERR, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_full(LOG_LEVEL_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
