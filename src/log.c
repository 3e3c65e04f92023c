/* log: one line per message on stderr, "TIMESTAMP LEVEL: message". The level is the daemon's only global. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum log_level max_level = LOG_LEVEL_INFO;

void log_set_max_level(enum log_level level) {
        max_level = level;
}

enum log_level log_get_max_level(void) {
        return max_level;
}

static const char *level_name(enum log_level level) {
        switch (level) {
        case LOG_LEVEL_ERR:     return "error";
        case LOG_LEVEL_WARNING: return "warning";
        case LOG_LEVEL_NOTICE:  return "notice";
        case LOG_LEVEL_INFO:    return "info";
        case LOG_LEVEL_DEBUG:   return "debug";
        }
        return "?";
}

int log_fullv(enum log_level level, int error, const char *fmt, va_list ap) {
        int saved_errno = errno;
        char msg[4096], stamp[32];
        struct timeval tv;
        struct tm tm;

        if (error < 0)
                error = -error;
        if (level > max_level)
                return -error;

        vsnprintf(msg, sizeof msg, fmt, ap);
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        /* One fprintf per line so concurrent writers (children share stderr only via captured pipes) never interleave. */
        fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, (long) tv.tv_usec / 1000, level_name(level), msg);
        errno = saved_errno;
        return -error;
}

int log_full(enum log_level level, int error, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_fullv(level, error, fmt, ap);
        va_end(ap);
        return r;
}
