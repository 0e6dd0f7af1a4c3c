/* inotify watches with directory snapshots; see filewatch.h. */
#include "filewatch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "fsaccess.h"
#include "inotifyev.h"
#include "mem.h"

#define FILEWATCH_MASK                                                                 \
        (IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | \
         IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

struct FileWatchDir {
        FileWatchDir *next;
        char *directory;
        /* The directory is opened for the length of one dispatch only: an
         * open descriptor would keep a deleted directory's inode alive and
         * hold back its IN_DELETE_SELF. It must be the one first opened
         * (dev, ino), else it counts as gone. */
        int dir_fd; /* O_PATH, or -1 between dispatches */
        dev_t dev;
        ino_t ino;
        int wd; /* -1 once the kernel dropped it */
        void *userdata;
        DirSnap snap;
        bool gone;
};

struct FileWatch {
        const FileWatchOps *ops;
        int fd;
        FileWatchDir *dirs;
        bool rescan; /* events were lost: rescan before anything else */
        uint64_t overflows, changes;
};

int filewatch_new(const FileWatchOps *ops, FileWatch **ret, Error *err) {
        FileWatch *fw = mem_calloc(1, sizeof(FileWatch));
        if (!fw)
                return -ENOMEM;
        fw->ops = ops;
        fw->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fw->fd < 0) {
                int e = errno;
                mem_free(fw);
                if (e == ENOMEM)
                        return -ENOMEM;
                return error_set(err, WBEM_E_PROVIDER_FAILURE,
                                 "cannot create an inotify instance: %s%s", strerror(e),
                                 e == EMFILE ? " (see fs.inotify.max_user_instances)" : "");
        }
        *ret = fw;
        return 0;
}

int filewatch_fd(const FileWatch *fw) {
        return fw->fd;
}

static void filewatch_dir_free(FileWatchDir *d) {
        if (d->dir_fd >= 0)
                close(d->dir_fd);
        dirsnap_done(&d->snap);
        mem_free(d->directory);
        mem_free(d);
}

static bool filewatch_wd_used(const FileWatch *fw, int wd) {
        for (const FileWatchDir *d = fw->dirs; d; d = d->next)
                if (d->wd == wd)
                        return true;
        return false;
}

void filewatch_remove(FileWatch *fw, FileWatchDir *d) {
        if (!d)
                return;
        for (FileWatchDir **p = &fw->dirs; *p; p = &(*p)->next)
                if (*p == d) {
                        *p = d->next;
                        break;
                }
        if (d->wd >= 0 && !filewatch_wd_used(fw, d->wd))
                (void)inotify_rm_watch(fw->fd, d->wd);
        filewatch_dir_free(d);
}

FileWatch *filewatch_free(FileWatch *fw) {
        if (!fw)
                return NULL;
        while (fw->dirs)
                filewatch_remove(fw, fw->dirs);
        close(fw->fd);
        mem_free(fw);
        return NULL;
}

int filewatch_add(FileWatch *fw, const char *directory, void *userdata, FileWatchDir **ret,
                  Error *err) {
        FileWatchDir *d = mem_calloc(1, sizeof(FileWatchDir));
        if (!d)
                return -ENOMEM;
        d->dir_fd = -1;
        d->wd = -1;
        d->userdata = userdata;
        d->directory = mem_strdup(directory);
        if (!d->directory) {
                filewatch_dir_free(d);
                return -ENOMEM;
        }
        int r = fsaccess_open_dir(directory, NULL, false, &d->dir_fd, err);
        if (r != 0) {
                filewatch_dir_free(d);
                return r;
        }
        /* the directory just opened, not whatever the path names by now */
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", d->dir_fd);
        d->wd = inotify_add_watch(fw->fd, link, FILEWATCH_MASK);
        if (d->wd < 0) {
                int e = errno;
                filewatch_dir_free(d);
                if (e == ENOMEM)
                        return -ENOMEM;
                return error_set(err, WBEM_E_PROVIDER_FAILURE, "cannot watch %s: %s%s", directory,
                                 strerror(e),
                                 e == ENOSPC ? " (see fs.inotify.max_user_watches)" : "");
        }
        /* The watch is in place before the scan: a change in between is
         * seen twice at worst, and the snapshot makes the second a no-op. */
        struct stat st;
        r = fstat(d->dir_fd, &st) < 0 ? -errno : dirsnap_scan(d->dir_fd, &d->snap);
        d->dev = st.st_dev;
        d->ino = st.st_ino;
        if (r < 0) {
                if (!filewatch_wd_used(fw, d->wd))
                        (void)inotify_rm_watch(fw->fd, d->wd);
                filewatch_dir_free(d);
                return r == -ENOMEM ? r
                                    : error_set(err, WBEM_E_PROVIDER_FAILURE, "cannot read %s: %s",
                                                directory, strerror(-r));
        }
        close(d->dir_fd);
        d->dir_fd = -1;
        d->next = fw->dirs;
        fw->dirs = d;
        *ret = d;
        return 0;
}

/* d's directory for this dispatch: 0, or -ENOENT when it is no longer
 * there (or another directory is), -ENOMEM. */
static int filewatch_dir_open(FileWatchDir *d) {
        if (d->dir_fd >= 0)
                return 0;
        int fd = -1;
        int r = fsaccess_open_dir(d->directory, NULL, false, &fd, NULL);
        if (r == -ENOMEM)
                return r;
        if (r != 0)
                return -ENOENT;
        struct stat st;
        if (fstat(fd, &st) < 0 || st.st_dev != d->dev || st.st_ino != d->ino) {
                close(fd);
                return -ENOENT;
        }
        d->dir_fd = fd;
        return 0;
}

static void filewatch_dirs_close(FileWatch *fw) {
        for (FileWatchDir *d = fw->dirs; d; d = d->next)
                if (d->dir_fd >= 0) {
                        close(d->dir_fd);
                        d->dir_fd = -1;
                }
}

/* d is gone: say so once. */
static void filewatch_gone(FileWatch *fw, FileWatchDir *d) {
        if (d->gone)
                return;
        d->gone = true;
        fw->ops->gone(d->userdata, d->directory);
}

static void filewatch_report(FileWatch *fw, FileWatchDir *d, const char *name, DirChange change,
                             const struct stat *before, const struct stat *after) {
        /* The same name for another file: the old one went, a new one came. */
        if (change == DIR_MODIFIED && before->st_ino != after->st_ino) {
                fw->changes += 2;
                fw->ops->change(d->userdata, d->directory, name, DIR_DELETED, before, NULL);
                fw->ops->change(d->userdata, d->directory, name, DIR_CREATED, NULL, after);
                return;
        }
        fw->changes++;
        fw->ops->change(d->userdata, d->directory, name, change, before, after);
}

typedef struct Resync {
        FileWatch *fw;
        FileWatchDir *d;
} Resync;

static int filewatch_resync_one(void *userdata, const char *name, DirChange change,
                                const struct stat *before, const struct stat *after) {
        Resync *rs = userdata;
        filewatch_report(rs->fw, rs->d, name, change, before, after);
        return 0;
}

/* After lost events: compare a fresh scan of every directory with its
 * snapshot and report the differences. */
static int filewatch_resync(FileWatch *fw) {
        for (FileWatchDir *d = fw->dirs; d; d = d->next) {
                if (d->gone)
                        continue;
                int r = filewatch_dir_open(d);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        filewatch_gone(fw, d);
                        continue;
                }
                DirSnap now = { 0 };
                r = dirsnap_scan(d->dir_fd, &now);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue; /* unreadable now: its IN_DELETE_SELF will come */
                Resync rs = { .fw = fw, .d = d };
                (void)dirsnap_diff(&d->snap, &now, filewatch_resync_one, &rs);
                dirsnap_done(&d->snap);
                d->snap = now;
        }
        fw->rescan = false;
        return 0;
}

/* One hint about `name` in d: look at it now and report the change. */
static int filewatch_look(FileWatch *fw, FileWatchDir *d, const char *name, uint32_t mask) {
        struct stat st, before;
        int r = filewatch_dir_open(d);
        if (r == -ENOENT) {
                filewatch_gone(fw, d);
                return 0;
        }
        if (r < 0)
                return r;
        bool exists = fstatat(d->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (!exists && errno == ENOMEM)
                return -ENOMEM;
        DirChange change;
        r = dirsnap_update(&d->snap, name, exists ? &st : NULL, &change, &before);
        if (r < 0)
                return r;
        if (change != DIR_UNCHANGED) {
                filewatch_report(fw, d, name, change, change == DIR_CREATED ? NULL : &before,
                                 change == DIR_DELETED ? NULL : &st);
                return 0;
        }
        /* Created and gone before we looked: say so, with what is known. */
        if (!exists && (mask & (IN_CREATE | IN_MOVED_TO))) {
                fw->changes += 2;
                fw->ops->change(d->userdata, d->directory, name, DIR_CREATED, NULL, NULL);
                fw->ops->change(d->userdata, d->directory, name, DIR_DELETED, NULL, NULL);
        }
        return 0;
}

static int filewatch_event(void *userdata, const InotifyEvent *ev) {
        FileWatch *fw = userdata;
        if (ev->mask & IN_Q_OVERFLOW) {
                fw->overflows++;
                fw->rescan = true;
                return 0;
        }
        if (fw->rescan)
                return 0; /* the rescan will see it */
        char name[256];
        if (ev->name) {
                if (ev->name_len >= sizeof(name))
                        return 0; /* longer than NAME_MAX: not a name */
                memcpy(name, ev->name, ev->name_len);
                name[ev->name_len] = '\0';
        }
        for (FileWatchDir *d = fw->dirs; d; d = d->next) {
                if (d->wd != ev->wd || d->gone)
                        continue;
                if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED)) {
                        filewatch_gone(fw, d);
                        continue;
                }
                if (!ev->name)
                        continue;
                int r = filewatch_look(fw, d, name, ev->mask);
                if (r < 0)
                        return r;
        }
        /* IN_IGNORED after gone: forget the wd for every registration */
        if (ev->mask & IN_IGNORED)
                for (FileWatchDir *d = fw->dirs; d; d = d->next)
                        if (d->wd == ev->wd)
                                d->wd = -1;
        return 0;
}

int filewatch_dispatch(FileWatch *fw) {
        /* aligned for struct inotify_event, room for many */
        union {
                struct inotify_event ev;
                char bytes[16384];
        } buf;
        int r = 0;
        for (unsigned n = 0; n < FILEWATCH_MAX_READS; n++) {
                ssize_t got = read(fw->fd, buf.bytes, sizeof(buf.bytes));
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                r = inotifyev_parse(buf.bytes, (size_t)got, filewatch_event, fw);
                if (r == -ENOMEM) {
                        fw->rescan = true;
                        filewatch_dirs_close(fw);
                        return r;
                }
                /* the kernel's records are well formed: -EBADMSG cannot be */
        }
        if (fw->rescan)
                r = filewatch_resync(fw);
        filewatch_dirs_close(fw);
        return r < 0 ? r : 0;
}

void filewatch_stats(const FileWatch *fw, FileWatchStats *ret) {
        FileWatchStats s = { .overflows = fw->overflows, .changes = fw->changes };
        for (const FileWatchDir *d = fw->dirs; d; d = d->next) {
                s.directories++;
                bool first = d->wd >= 0;
                for (const FileWatchDir *e = fw->dirs; first && e != d; e = e->next)
                        if (e->wd == d->wd)
                                first = false;
                if (first)
                        s.watches++;
        }
        *ret = s;
}

const char *filewatch_dir_name(const FileWatchDir *d) {
        return d->directory;
}
