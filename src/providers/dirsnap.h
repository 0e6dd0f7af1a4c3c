/* What a directory held when last looked at: its entries by name, each
 * with its lstat(), kept sorted by name (bytes). The Linux_File event
 * source keeps one per watched directory: inotify says which name to look
 * at again, the snapshot says whether that is a creation, a modification
 * (with the instance as it was) or a deletion (with the last one known),
 * and after an inotify queue overflow a fresh scan is compared with it to
 * raise what was missed.
 *
 * A modification is a change of what Linux_File shows: size, mode (type
 * included), owner, group, modification or change time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

typedef struct DirEntry {
        char *name;
        struct stat st;
} DirEntry;

typedef struct DirSnap {
        DirEntry *entries; /* sorted by strcmp of name */
        size_t n_entries;
} DirSnap;

typedef enum DirChange {
        DIR_UNCHANGED,
        DIR_CREATED,
        DIR_MODIFIED,
        DIR_DELETED,
} DirChange;

/* Every entry of directory dir_fd (an open directory; read from its start
 * through a duplicate, the caller keeps it) but "." and "..", into a fresh
 * snapshot. Entries that vanish while being read are left out. 0, -ENOMEM
 * or the negative errno of reading the directory. */
int dirsnap_scan(int dir_fd, DirSnap *ret);
void dirsnap_done(DirSnap *s);
const DirEntry *dirsnap_find(const DirSnap *s, const char *name);

/* Whether two lstat() results differ in what Linux_File shows. */
bool dirsnap_stat_differs(const struct stat *a, const struct stat *b);

/* Entry name now has st (NULL: it is gone). *ret_change says what that is;
 * for DIR_MODIFIED and DIR_DELETED *ret_previous (may be NULL) receives the
 * stat that was known. 0 or -ENOMEM (the snapshot is then unchanged). */
int dirsnap_update(DirSnap *s, const char *name, const struct stat *st, DirChange *ret_change,
                   struct stat *ret_previous);

/* Call fn for every difference from old to now, in name order: created
 * (before NULL), modified, deleted (after NULL). fn's error stops the
 * walk and is returned. */
int dirsnap_diff(const DirSnap *old, const DirSnap *now,
                 int (*fn)(void *userdata, const char *name, DirChange change,
                           const struct stat *before, const struct stat *after),
                 void *userdata);
