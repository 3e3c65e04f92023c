/* pause: the maintenance pause, one small line-based file in state_dir. */
#include "pause.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "textesc.h"
#include "util.h"

#define PAUSE_MAGIC "blfailoverd-pause 1"
#define PAUSE_FILE_MAX 4096u

bool pause_reason_valid(const char *reason) {
        size_t n = strlen(reason);

        if (n >= PAUSE_REASON_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) reason[i] < 0x20 || reason[i] == 0x7f)
                        return false;
        return true;
}

int pause_serialize(const struct pause *p, char **ret_text, size_t *ret_size) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        fprintf(f, PAUSE_MAGIC "\nsince %" PRIu64 "\nuid %u\nreason ", p->since_usec, (unsigned) p->uid);
        textesc_write(f, p->reason);
        fputs("\nend\n", f);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_size = size;
        return 0;
}

/* The next line of data (without its newline) into line; NULL at the end or when a line is too long. */
static const char *next_line(const char *p, const char *end, char *line, size_t size) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t n;

        if (!nl || (n = (size_t) (nl - p)) >= size)
                return NULL;
        memcpy(line, p, n);
        line[n] = '\0';
        return nl + 1;
}

int pause_parse(const char *data, size_t size, struct pause *ret) {
        const char *p = data, *end = data + size;
        char line[PAUSE_FILE_MAX];
        struct pause out = { .paused = true };
        unsigned long long since;
        unsigned uid;
        int n = -1;

        if (!(p = next_line(p, end, line, sizeof line)) || strcmp(line, PAUSE_MAGIC) != 0)
                return -EBADMSG;
        if (!(p = next_line(p, end, line, sizeof line)) || sscanf(line, "since %llu%n", &since, &n) != 1 ||
            line[n] != '\0')
                return -EBADMSG;
        n = -1;
        if (!(p = next_line(p, end, line, sizeof line)) || sscanf(line, "uid %u%n", &uid, &n) != 1 || line[n] != '\0')
                return -EBADMSG;
        if (!(p = next_line(p, end, line, sizeof line)) || strncmp(line, "reason ", 7) != 0 ||
            textesc_read(line + 7, out.reason, sizeof out.reason) < 0)
                return -EBADMSG;
        if (!(p = next_line(p, end, line, sizeof line)) || strcmp(line, "end") != 0 || p != end)
                return -EBADMSG;
        out.since_usec = since;
        out.uid = (uid_t) uid;
        *ret = out;
        return 0;
}

static char *pause_path(const char *state_dir) {
        char *path = NULL;

        return asprintf(&path, "%s/%s", state_dir, PAUSE_FILE_NAME) < 0 ? NULL : path;
}

int pause_load(const char *state_dir, struct pause *ret) {
        _cleanup_free_ char *path = pause_path(state_dir), *data = NULL;
        size_t size;
        int r;

        if (!path)
                return -ENOMEM;
        r = fileio_read(path, PAUSE_FILE_MAX, &data, &size);
        if (r == -EFBIG)
                return -EBADMSG;
        return r < 0 ? r : pause_parse(data, size, ret);
}

int pause_save(const char *state_dir, const struct pause *p) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r = pause_serialize(p, &text, &size);

        return r < 0 ? r : fileio_write_private(state_dir, PAUSE_FILE_NAME, text, size);
}

int pause_clear(const char *state_dir) {
        _cleanup_free_ char *path = pause_path(state_dir);
        int fd;

        if (!path)
                return -ENOMEM;
        if (unlink(path) < 0)
                return -errno;
        /* The removal must outlive a crash as the pause did: a resume that comes undone holds failovers again. */
        fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        close(fd);
        return 0;
}
