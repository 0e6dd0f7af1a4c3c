/* The event records that read() returns from an inotify descriptor: a
 * buffer of struct inotify_event, each followed by its name (len bytes,
 * NUL-padded; len 0 for an event on the watched object itself).
 *
 * inotifyev_parse() hands each record to a callback with its name as
 * bytes (padding removed). The buffer is checked as if hostile (a fuzzer
 * feeds it): a record whose header or name runs past the end, or whose
 * name has no NUL within len, stops the walk with -EBADMSG; nothing is
 * read unaligned. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct InotifyEvent {
        int32_t wd; /* -1 with IN_Q_OVERFLOW */
        uint32_t mask;
        uint32_t cookie;  /* pairs IN_MOVED_FROM with IN_MOVED_TO */
        const char *name; /* NULL when the record has none */
        size_t name_len;
} InotifyEvent;

/* Returns 0 when the buffer is used up, -EBADMSG, or fn's error (which
 * stops the walk). */
int inotifyev_parse(const void *buf, size_t len, int (*fn)(void *userdata, const InotifyEvent *ev),
                    void *userdata);
