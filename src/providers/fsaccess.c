/* A peer's view of the filesystem: mode-bit checks and a checked path walk;
 * see fsaccess.h. */
#include "fsaccess.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"

/* The pending part of a walk may grow by a link's target each time. */
#define FSACCESS_PENDING_MAX (2 * PATH_MAX)

static void fsaccess_closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}

/* Whether the object behind fd has an extended POSIX ACL. An O_PATH
 * descriptor takes no fgetxattr(), its /proc/self/fd link does. Errors
 * other than "none" (ENODATA) or "not supported" count as present: the
 * caller then sees less. */
static bool fsaccess_has_acl(int fd) {
        char link[64];
        if (fd < 0)
                return false;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = getxattr(link, "system.posix_acl_access", NULL, 0);
        if (n >= 0)
                return true;
        return !(errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP);
}

static bool fsaccess_in_groups(gid_t gid, const ProviderCaller *caller) {
        if (caller->gid == gid)
                return true;
        for (size_t k = 0; k < caller->n_groups; k++)
                if (caller->groups[k] == gid)
                        return true;
        return false;
}

bool fsaccess_may(const struct stat *st, int fd, const ProviderCaller *caller, unsigned want) {
        if (!caller)
                return true;
        if (caller->uid == (uid_t)-1)
                return false;
        if (caller->uid == 0)
                return true;
        unsigned mode = (unsigned)st->st_mode;
        if (st->st_uid == caller->uid)
                return ((mode >> 6) & want) == want;
        /* With an extended ACL the group bits are its mask and named
         * entries decide: not evaluated here, so refused (fsaccess.h). */
        if (fsaccess_has_acl(fd))
                return false;
        if (fsaccess_in_groups(st->st_gid, caller))
                return ((mode >> 3) & want) == want;
        return (mode & want) == want;
}

bool fsaccess_path_is_normal(const char *path) {
        if (!path || path[0] != '/')
                return false;
        size_t len = strlen(path);
        if (len >= PATH_MAX)
                return false;
        if (len == 1)
                return true;
        if (path[len - 1] == '/')
                return false;
        for (const char *p = path; *p;) {
                /* p is at a '/': look at the component after it */
                const char *c = p + 1;
                const char *end = strchrnul(c, '/');
                size_t n = (size_t)(end - c);
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                p = end;
        }
        return true;
}

static int fsaccess_denied(const char *path, bool list, const ProviderCaller *caller, Error *err) {
        const char *what = list ? "list" : "search the path to";
        if (!caller)
                return error_set(err, WBEM_E_ACCESS_DENIED, "lwmid itself may not %s directory %s",
                                 what, path);
        return error_set(err, WBEM_E_ACCESS_DENIED, "uid %ld may not %s directory %s",
                         (long)caller->uid, what, path);
}

/* Replace the pending walk with target + "/" + rest. */
static int fsaccess_splice(char **pending, const char *target, size_t target_len,
                           const char *rest) {
        size_t rest_len = strlen(rest);
        if (target_len + 1 + rest_len + 1 > FSACCESS_PENDING_MAX)
                return -ENAMETOOLONG;
        char *n = mem_malloc(target_len + 1 + rest_len + 1);
        if (!n)
                return -ENOMEM;
        memcpy(n, target, target_len);
        n[target_len] = '/';
        memcpy(n + target_len + 1, rest, rest_len + 1);
        mem_free(*pending);
        *pending = n;
        return 0;
}

static int fsaccess_open_root(const char *path, const ProviderCaller *caller, int *ret_fd,
                              Error *err) {
        int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (!fsaccess_may(&st, fd, caller, FSACCESS_SEARCH)) {
                close(fd);
                return fsaccess_denied(path, false, caller, err);
        }
        *ret_fd = fd;
        return 0;
}

int fsaccess_open_dir(const char *path, const ProviderCaller *caller, bool list, int *ret_fd,
                      Error *err) {
        if (!fsaccess_path_is_normal(path))
                return -EINVAL;
        _cleanup_(fsaccess_closep) int cur = -1;
        int r = fsaccess_open_root(path, caller, &cur, err);
        if (r != 0)
                return r;
        _cleanup_free_ char *pending = mem_strdup(path + 1);
        if (!pending)
                return -ENOMEM;
        unsigned links = 0;
        struct stat cur_st;
        if (fstat(cur, &cur_st) < 0)
                return -errno;

        size_t pos = 0;
        for (;;) {
                /* the next component of pending, from pos */
                while (pending[pos] == '/')
                        pos++;
                if (pending[pos] == '\0')
                        break;
                char *comp = pending + pos;
                size_t n = strcspn(comp, "/");
                char saved = comp[n];
                comp[n] = '\0';
                const char *rest = saved ? comp + n + 1 : "";
                if (n == 1 && comp[0] == '.') {
                        pos += n + (saved ? 1 : 0);
                        continue;
                }

                _cleanup_(fsaccess_closep) int fd =
                        openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        r = -errno;
                        return r == -EACCES || r == -EPERM ? fsaccess_denied(path, list, NULL, err)
                                                           : r;
                }
                struct stat st;
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (S_ISLNK(st.st_mode)) {
                        if (++links > FSACCESS_MAX_LINKS)
                                return -ELOOP;
                        char target[PATH_MAX];
                        ssize_t len = readlinkat(fd, "", target, sizeof(target));
                        if (len < 0)
                                return -errno;
                        if ((size_t)len >= sizeof(target) || len == 0)
                                return len == 0 ? -ENOENT : -ENAMETOOLONG;
                        if (target[0] == '/') {
                                close(cur);
                                cur = -1;
                                r = fsaccess_open_root(path, caller, &cur, err);
                                if (r != 0)
                                        return r;
                        }
                        r = fsaccess_splice(&pending, target, (size_t)len, rest);
                        if (r < 0)
                                return r;
                        pos = 0;
                        continue;
                }
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                bool last = rest[strspn(rest, "/")] == '\0';
                unsigned want = FSACCESS_SEARCH | (last && list ? FSACCESS_READ : 0);
                if (!fsaccess_may(&st, fd, caller, want))
                        return fsaccess_denied(path, last && list, caller, err);
                close(cur);
                cur = fd;
                fd = -1;
                cur_st = st;
                if (!saved)
                        break;
                comp[n] = saved;
                pos += n + 1;
        }
        /* "/" itself, or a walk that ended on a link to "/" or through
         * "..": the last directory still needs read for a listing. */
        if (list && !fsaccess_may(&cur_st, cur, caller, FSACCESS_SEARCH | FSACCESS_READ))
                return fsaccess_denied(path, list, caller, err);
        if (list) {
                int dfd = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0) {
                        r = -errno;
                        return r == -EACCES || r == -EPERM ? fsaccess_denied(path, list, NULL, err)
                                                           : r;
                }
                *ret_fd = dfd;
                return 0;
        }
        *ret_fd = cur;
        cur = -1;
        return 0;
}
