/* log: one line per message on stderr, "TIMESTAMP LEVEL: message". The level is the daemon's only global. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#define LOG_FIELDS_MAX 16

static enum log_level max_level = LOG_LEVEL_INFO;
static bool journal = false;
static log_tee_fn tee;
static void *tee_userdata;
static bool in_tee;

void log_open(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                  (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

bool log_to_journal(void) {
        return journal;
}

void log_set_max_level(enum log_level level) {
        max_level = level;
}

enum log_level log_get_max_level(void) {
        return max_level;
}

void log_set_tee(log_tee_fn fn, void *userdata) {
        tee = fn;
        tee_userdata = userdata;
}

const char *log_level_name(enum log_level level) {
        switch (level) {
        case LOG_LEVEL_ERR:     return "error";
        case LOG_LEVEL_WARNING: return "warning";
        case LOG_LEVEL_NOTICE:  return "notice";
        case LOG_LEVEL_INFO:    return "info";
        case LOG_LEVEL_DEBUG:   return "debug";
        }
        return "?";
}

static void tee_line(enum log_level level, const char *msg) {
        if (!tee || in_tee)
                return;
        in_tee = true;
        tee(log_level_name(level), msg, tee_userdata);
        in_tee = false;
}

static void write_plain(enum log_level level, const char *msg) {
        char stamp[32];
        struct timeval tv;
        struct tm tm;

        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        /* One fprintf per line so concurrent writers (children share stderr only via captured pipes) never interleave. */
        fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, (long) tv.tv_usec / 1000, log_level_name(level), msg);
}

int log_fullv(enum log_level level, int error, const char *fmt, va_list ap) {
        int saved_errno = errno;
        char msg[4096];

        if (error < 0)
                error = -error;
        if (level > max_level)
                return -error;

        vsnprintf(msg, sizeof msg, fmt, ap);
        /* A journal that refuses the entry (socket gone, full) must not swallow the line: stderr still reaches it. */
        if (!journal ||
            sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", (int) level, "SYSLOG_IDENTIFIER=blfailoverd", NULL) < 0)
                write_plain(level, msg);
        tee_line(level, msg);
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

static int journal_sendv(enum log_level level, const char *message, const char *const *fields) {
        struct iovec iov[LOG_FIELDS_MAX + 3];
        char *msg = NULL, prio[16];
        size_t n = 0;
        int r;

        if (asprintf(&msg, "MESSAGE=%s", message) < 0)
                return -ENOMEM;
        snprintf(prio, sizeof prio, "PRIORITY=%d", (int) level);
        iov[n++] = (struct iovec) { .iov_base = msg, .iov_len = strlen(msg) };
        iov[n++] = (struct iovec) { .iov_base = prio, .iov_len = strlen(prio) };
        iov[n++] = (struct iovec) { .iov_base = (char *) "SYSLOG_IDENTIFIER=blfailoverd", .iov_len = 29 };
        for (size_t i = 0; fields && fields[i] && i < LOG_FIELDS_MAX; i++)
                iov[n++] = (struct iovec) { .iov_base = (char *) fields[i], .iov_len = strlen(fields[i]) };
        r = sd_journal_sendv(iov, (int) n);
        free(msg);
        return r;
}

int log_struct(enum log_level level, const char *message, const char *const *fields) {
        if (level > max_level)
                return 0;
        tee_line(level, message);
        if (journal && journal_sendv(level, message, fields) >= 0)
                return 0;
        /* Not the journal (or it refused): the plain line still says everything a human needs. */
        write_plain(level, message);
        return 0;
}
