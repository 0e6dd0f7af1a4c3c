/* Refusing files that others could change; see filetrust.h. */
#include "filetrust.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "mem.h"

static bool filetrust_owner_ok(uid_t owner, uid_t trusted_uid) {
        return owner == 0 || owner == trusted_uid;
}

/* Check one directory of the chain (dir is a resolved absolute path). */
static int filetrust_dir(const char *dir, const char *path, const char *what, uid_t trusted_uid,
                         Error *err) {
        struct stat st;

        if (stat(dir, &st) < 0)
                return error_set(err, WBEM_E_ACCESS_DENIED,
                                 "refusing the %s %s: cannot check its directory %s: %s", what,
                                 path, dir, strerror(errno));
        if (!filetrust_owner_ok(st.st_uid, trusted_uid))
                return error_set(err, WBEM_E_ACCESS_DENIED,
                                 "refusing the %s %s: its directory %s is owned by uid %lu, who "
                                 "could replace it; fix: chown root %s, or move the %s into a "
                                 "directory owned by root",
                                 what, path, dir, (unsigned long)st.st_uid, dir, what);
        if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
                return error_set(err, WBEM_E_ACCESS_DENIED,
                                 "refusing the %s %s: its directory %s is world-writable (mode "
                                 "%04o) without the sticky bit, so any user could replace it; "
                                 "fix: chmod o-w %s",
                                 what, path, dir, (unsigned)(st.st_mode & 07777), dir);
        return 0;
}

/* Check every directory from `real` (a resolved absolute path of a file
 * or of the nearest existing directory) up to "/". */
static int filetrust_chain(char *real, bool is_dir, const char *path, const char *what,
                           uid_t trusted_uid, Error *err) {
        int r;

        if (is_dir) {
                r = filetrust_dir(real, path, what, trusted_uid, err);
                if (r != 0)
                        return r;
        }
        for (;;) {
                char *slash = strrchr(real, '/');
                if (!slash)
                        return 0;
                if (slash == real) {
                        if (real[1] == '\0')
                                return 0; /* "/" itself, done above */
                        real[1] = '\0';
                } else
                        *slash = '\0';
                r = filetrust_dir(real, path, what, trusted_uid, err);
                if (r != 0)
                        return r;
        }
}

int filetrust_check(const char *path, const char *what, uid_t trusted_uid, bool must_exist,
                    Error *err) {
        char real[PATH_MAX];
        struct stat st;

        if (realpath(path, real)) {
                if (stat(real, &st) < 0)
                        return error_set(err, WBEM_E_ACCESS_DENIED, "refusing the %s %s: %s", what,
                                         path, strerror(errno));
                if (!filetrust_owner_ok(st.st_uid, trusted_uid))
                        return error_set(err, WBEM_E_ACCESS_DENIED,
                                         "refusing the %s %s: it is owned by uid %lu, who could "
                                         "change it; fix: chown root %s",
                                         what, path, (unsigned long)st.st_uid, real);
                if (st.st_mode & S_IWOTH)
                        return error_set(err, WBEM_E_ACCESS_DENIED,
                                         "refusing the %s %s: it is world-writable (mode %04o), "
                                         "so any user could change it; fix: chmod o-w %s",
                                         what, path, (unsigned)(st.st_mode & 07777), real);
                return filetrust_chain(real, false, path, what, trusted_uid, err);
        }
        if (errno != ENOENT || must_exist)
                return error_set(err, errno == ENOENT ? WBEM_E_NOT_FOUND : WBEM_E_ACCESS_DENIED,
                                 "refusing the %s %s: %s", what, path, strerror(errno));

        /* Not there yet: check the nearest directory above it that is. */
        _cleanup_free_ char *dir = mem_strdup(path);
        if (!dir)
                return error_from_errno(err, -ENOMEM);
        for (;;) {
                char *slash = strrchr(dir, '/');
                if (!slash)
                        /* relative without a slash: the working directory */
                        return realpath(".", real)
                                       ? filetrust_chain(real, true, path, what, trusted_uid, err)
                                       : error_set(err, WBEM_E_ACCESS_DENIED,
                                                   "refusing the %s %s: %s", what, path,
                                                   strerror(errno));
                if (slash == dir)
                        slash[1] = '\0';
                else
                        *slash = '\0';
                if (realpath(dir, real))
                        return filetrust_chain(real, true, path, what, trusted_uid, err);
                if (errno != ENOENT)
                        return error_set(err, WBEM_E_ACCESS_DENIED,
                                         "refusing the %s %s: cannot check %s: %s", what, path, dir,
                                         strerror(errno));
                if (dir[1] == '\0')
                        return 0;
        }
}
