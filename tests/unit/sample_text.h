/* sample_text: the sample config as the unit tests read it — whole, with its commented examples turned on, and
 * with the runbook form's keys cut out so that a sites: block can take their place. Test helper, header only. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#define SAMPLE_PATH "conf/blfailoverd.yml"      /* the tests run from the repository root */
#define SAMPLE_ETCD_FILES "/etc/blfailoverd/etcd"

/* A line of the sample. The cluster example's files (/etc/blfailoverd/etcd*) are read at load: they are pointed
 * at stand-ins in tests/unit/data/cluster/, by absolute path from the repository root. */
static inline void sample_put(FILE *out, const char *line) {
        const char *hit = strstr(line, SAMPLE_ETCD_FILES);
        char cwd[PATH_MAX];

        if (!hit) {
                fputs(line, out);
                return;
        }
        if (!getcwd(cwd, sizeof cwd))
                abort();
        fprintf(out, "%.*s%s/tests/unit/data/cluster/etcd%s", (int) (hit - line), line, cwd,
                hit + strlen(SAMPLE_ETCD_FILES));
}

/* The sample's lines; with `examples`, every "# key: ..." example turned on; with `sites_marker`, the lines
 * starting with that marker (the sites example) turned on too. */
static inline char *sample_text(bool examples, const char *sites_marker) {
        FILE *in = fopen(SAMPLE_PATH, "re");
        char *text = NULL, line[512], out_line[512];
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);

        if (!in || !out)
                abort();
        while (fgets(line, sizeof line, in)) {
                size_t indent = strspn(line, " ");
                bool example = false;

                if (sites_marker && strncmp(line, sites_marker, strlen(sites_marker)) == 0) {
                        sample_put(out, line + strlen(sites_marker));
                        continue;
                }
                if (examples && line[indent] == '#' && line[indent + 1] == ' ') {
                        const char *key = line + indent + 1 + strspn(line + indent + 1, " ");
                        size_t n = strspn(key, "abcdefghijklmnopqrstuvwxyz_");

                        example = n > 0 && key[n] == ':';
                }
                snprintf(out_line, sizeof out_line, "%.*s%s", (int) indent, line, line + indent + (example ? 2 : 0));
                sample_put(out, out_line);
        }
        fclose(in);
        fclose(out);
        return text;
}

/* Drops the line "<indent spaces>key:" and what belongs to it (deeper lines, blank lines, comments). */
static inline void drop_block(char *text, unsigned indent, const char *key) {
        char *p = text;

        while (*p) {
                char *eol = strchr(p, '\n'), *end;
                size_t klen = strlen(key);

                eol = eol ? eol + 1 : p + strlen(p);
                if (strspn(p, " ") != indent || strncmp(p + indent, key, klen) != 0 || p[indent + klen] != ':') {
                        p = eol;
                        continue;
                }
                for (end = eol; *end;) {
                        char *next = strchr(end, '\n');
                        size_t sp = strspn(end, " ");

                        next = next ? next + 1 : end + strlen(end);
                        if (end[sp] != '\n' && end[sp] != '#' && sp <= indent)
                                break;
                        end = next;
                }
                memmove(p, end, strlen(end) + 1);
        }
}

/* The sample without the runbook form's keys (design §1.2's left column). */
static inline void drop_runbook_keys(char *text) {
        drop_block(text, 0, "active");
        drop_block(text, 0, "standby");
        drop_block(text, 2, "standby");         /* database.standby */
        drop_block(text, 2, "primary");
        drop_block(text, 4, "ssh");             /* failover.promote.ssh */
        drop_block(text, 4, "trigger_file");
        drop_block(text, 4, "active_server");
        drop_block(text, 4, "standby_server");
        drop_block(text, 2, "standby_stack");
}
