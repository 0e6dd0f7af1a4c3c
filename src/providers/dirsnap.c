/* Directory snapshots; see dirsnap.h. */
#include "dirsnap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"

void dirsnap_done(DirSnap *s) {
        for (size_t k = 0; k < s->n_entries; k++)
                mem_free(s->entries[k].name);
        mem_free(s->entries);
        s->entries = NULL;
        s->n_entries = 0;
}

/* The index of name, or where it would go (*ret_found false). */
static size_t dirsnap_search(const DirSnap *s, const char *name, bool *ret_found) {
        size_t lo = 0, hi = s->n_entries;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(s->entries[mid].name, name);
                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

const DirEntry *dirsnap_find(const DirSnap *s, const char *name) {
        bool found;
        size_t k = dirsnap_search(s, name, &found);
        return found ? &s->entries[k] : NULL;
}

static int dirsnap_compare(const void *a, const void *b) {
        return strcmp(((const DirEntry *)a)->name, ((const DirEntry *)b)->name);
}

int dirsnap_scan(int dir_fd, DirSnap *ret) {
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *dir = fdopendir(fd);
        if (!dir) {
                int r = -errno;
                close(fd);
                return r;
        }
        DirSnap s = { 0 };
        size_t cap = 0;
        int r = 0;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(dir);
                if (!de) {
                        r = -errno;
                        break;
                }
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOMEM) {
                                r = -ENOMEM;
                                break;
                        }
                        continue; /* gone since readdir */
                }
                if (s.n_entries == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        DirEntry *e = mem_reallocarray(s.entries, ncap, sizeof(DirEntry));
                        if (!e) {
                                r = -ENOMEM;
                                break;
                        }
                        s.entries = e;
                        cap = ncap;
                }
                char *name = mem_strdup(de->d_name);
                if (!name) {
                        r = -ENOMEM;
                        break;
                }
                s.entries[s.n_entries++] = (DirEntry){ .name = name, .st = st };
        }
        closedir(dir);
        if (r < 0) {
                dirsnap_done(&s);
                return r;
        }
        if (s.n_entries > 1)
                qsort(s.entries, s.n_entries, sizeof(DirEntry), dirsnap_compare);
        *ret = s;
        return 0;
}

static bool dirsnap_time_differs(const struct timespec *a, const struct timespec *b) {
        /* shown to the microsecond */
        return a->tv_sec != b->tv_sec || a->tv_nsec / 1000 != b->tv_nsec / 1000;
}

bool dirsnap_stat_differs(const struct stat *a, const struct stat *b) {
        return a->st_size != b->st_size || a->st_mode != b->st_mode || a->st_uid != b->st_uid ||
               a->st_gid != b->st_gid || dirsnap_time_differs(&a->st_mtim, &b->st_mtim) ||
               dirsnap_time_differs(&a->st_ctim, &b->st_ctim);
}

int dirsnap_update(DirSnap *s, const char *name, const struct stat *st, DirChange *ret_change,
                   struct stat *ret_previous) {
        bool found;
        size_t k = dirsnap_search(s, name, &found);
        if (!st) {
                if (!found) {
                        *ret_change = DIR_UNCHANGED;
                        return 0;
                }
                if (ret_previous)
                        *ret_previous = s->entries[k].st;
                mem_free(s->entries[k].name);
                memmove(&s->entries[k], &s->entries[k + 1],
                        (s->n_entries - k - 1) * sizeof(DirEntry));
                s->n_entries--;
                *ret_change = DIR_DELETED;
                return 0;
        }
        if (found) {
                DirEntry *e = &s->entries[k];
                if (!dirsnap_stat_differs(&e->st, st)) {
                        e->st = *st;
                        *ret_change = DIR_UNCHANGED;
                        return 0;
                }
                if (ret_previous)
                        *ret_previous = e->st;
                e->st = *st;
                *ret_change = DIR_MODIFIED;
                return 0;
        }
        char *copy = mem_strdup(name);
        if (!copy)
                return -ENOMEM;
        DirEntry *entries = mem_reallocarray(s->entries, s->n_entries + 1, sizeof(DirEntry));
        if (!entries) {
                mem_free(copy);
                return -ENOMEM;
        }
        s->entries = entries;
        memmove(&s->entries[k + 1], &s->entries[k], (s->n_entries - k) * sizeof(DirEntry));
        s->entries[k] = (DirEntry){ .name = copy, .st = *st };
        s->n_entries++;
        *ret_change = DIR_CREATED;
        return 0;
}

int dirsnap_diff(const DirSnap *old, const DirSnap *now,
                 int (*fn)(void *userdata, const char *name, DirChange change,
                           const struct stat *before, const struct stat *after),
                 void *userdata) {
        size_t i = 0, j = 0;
        int r = 0;
        while (r == 0 && (i < old->n_entries || j < now->n_entries)) {
                int c = i == old->n_entries   ? 1
                        : j == now->n_entries ? -1
                                              : strcmp(old->entries[i].name, now->entries[j].name);
                if (c < 0) {
                        r = fn(userdata, old->entries[i].name, DIR_DELETED, &old->entries[i].st,
                               NULL);
                        i++;
                } else if (c > 0) {
                        r = fn(userdata, now->entries[j].name, DIR_CREATED, NULL,
                               &now->entries[j].st);
                        j++;
                } else {
                        if (dirsnap_stat_differs(&old->entries[i].st, &now->entries[j].st))
                                r = fn(userdata, now->entries[j].name, DIR_MODIFIED,
                                       &old->entries[i].st, &now->entries[j].st);
                        i++;
                        j++;
                }
        }
        return r;
}
