/* Watching directories with inotify for Linux_File's events: one inotify
 * descriptor for the provider, one registration per watched directory
 * (the engine runs one source per directory and shares it between the
 * subscriptions that name it), and a snapshot of each directory
 * (dirsnap.h) that turns inotify's hints into changes:
 *
 *   IN_CREATE, IN_MOVED_TO          creation (a move into the directory)
 *   IN_MODIFY, IN_ATTRIB            modification, when what Linux_File
 *                                   shows changed (content or attributes)
 *   IN_DELETE, IN_MOVED_FROM        deletion (a move out of it)
 *
 * A rename inside the directory is a deletion of the old name and a
 * creation of the new one; a name that now belongs to another file (a
 * rename over it) is a deletion and a creation too. Each hint is checked
 * with lstat(), so what is reported is the state now: a file created and
 * removed before its hint is read is reported created and deleted with
 * its names only (no stat).
 *
 * Two paths to one directory (a link) share the kernel's watch: the
 * watch is added for the first registration and removed with the last.
 * IN_Q_OVERFLOW (events lost) is counted and followed by a fresh scan of
 * every directory, compared with its snapshot, so nothing changed is left
 * unreported. A directory that is deleted, moved or unmounted is reported
 * gone once; its registration then stays quiet until removed.
 *
 * The descriptor is non-blocking: filewatch_dispatch() reads what is
 * pending when the loop says it is readable, and reads at most
 * FILEWATCH_MAX_READS buffers per call so one busy directory cannot hold
 * the loop (the descriptor stays readable: the loop calls again). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "dirsnap.h"
#include "error.h"

#define FILEWATCH_MAX_READS 16

typedef struct FileWatch FileWatch;
typedef struct FileWatchDir FileWatchDir;

typedef struct FileWatchOps {
        /* A change of entry `name` in a registration's directory: created
         * (before NULL), modified, or deleted (after NULL); both NULL for a
         * creation or deletion of a file gone before it could be looked at
         * (see above). */
        void (*change)(void *dir_userdata, const char *directory, const char *name,
                       DirChange change, const struct stat *before, const struct stat *after);
        /* The directory itself went away (deleted, moved, unmounted). */
        void (*gone)(void *dir_userdata, const char *directory);
} FileWatchOps;

typedef struct FileWatchStats {
        size_t directories; /* registrations */
        size_t watches;     /* inotify watches (distinct directories) */
        uint64_t overflows; /* IN_Q_OVERFLOW seen (each followed by a rescan) */
        uint64_t changes;   /* changes reported */
} FileWatchStats;

/* A watcher with its inotify descriptor (non-blocking, close-on-exec).
 * 0, -ENOMEM, or WBEM_E_PROVIDER_FAILURE when inotify is not available
 * (e.g. the instance limit, fs.inotify.max_user_instances). */
int filewatch_new(const FileWatchOps *ops, FileWatch **ret, Error *err);
/* Removes every registration and closes the descriptor. NULL accepted. */
FileWatch *filewatch_free(FileWatch *fw);
int filewatch_fd(const FileWatch *fw);

/* Register `directory` (normal, fsaccess.h; opened with the daemon's
 * rights: the subscriber's were checked before) with userdata for the
 * callbacks: adds or shares the inotify watch and takes the first
 * snapshot. Errors: -ENOENT / -ENOTDIR, WBEM_E_PROVIDER_FAILURE (the
 * watch limit, fs.inotify.max_user_watches), -ENOMEM. */
int filewatch_add(FileWatch *fw, const char *directory, void *userdata, FileWatchDir **ret,
                  Error *err);
/* Unregister; the watch goes with the last registration of its directory. */
void filewatch_remove(FileWatch *fw, FileWatchDir *d);

/* Read and report what is pending. 0, or a negative errno of reading
 * (the watcher is then unusable) or -ENOMEM (changes may be lost: the
 * next call rescans, as after an overflow). Callbacks may not add or
 * remove registrations. */
int filewatch_dispatch(FileWatch *fw);

void filewatch_stats(const FileWatch *fw, FileWatchStats *ret);
/* The directory of a registration, as given to filewatch_add(). */
const char *filewatch_dir_name(const FileWatchDir *d);
