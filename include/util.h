/* util: small helpers shared by every module (cleanup attributes, time, strv). No state. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stddef.h>

#define USEC_PER_SEC  UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p) { free(*(void **) p); }
#define _cleanup_free_ __attribute__((cleanup(freep)))

/* Intrusive doubly linked lists: items have `prev` and `next` members; `head` points at the first. Removing an
 * item that was never added (prev NULL, not the head) is a no-op. */
#define LIST_PREPEND(head, item)                                        \
        do {                                                            \
                (item)->next = (head);                                  \
                if (head)                                               \
                        (head)->prev = (item);                          \
                (head) = (item);                                        \
        } while (0)
#define LIST_REMOVE(head, item)                                         \
        do {                                                            \
                if ((item)->prev)                                       \
                        (item)->prev->next = (item)->next;              \
                else if ((head) == (item))                              \
                        (head) = (item)->next;                          \
                if ((item)->next)                                       \
                        (item)->next->prev = (item)->prev;              \
                (item)->prev = (item)->next = NULL;                     \
        } while (0)

/* CLOCK_MONOTONIC / CLOCK_REALTIME in microseconds */
uint64_t now_monotonic_usec(void);
uint64_t now_realtime_usec(void);
/* CLOCK_BOOTTIME: keeps counting while the host is suspended (the cluster's lease arithmetic, docs/design/cluster.md §5) */
uint64_t now_boottime_usec(void);

/* strv: NULL-terminated arrays of malloc'd strings */
char **strv_copy(char *const *v);
size_t strv_length(char *const *v);
/* Same strings in the same order; NULL equals an empty array. */
bool strv_equal(char *const *a, char *const *b);
void strv_free(char **v);
