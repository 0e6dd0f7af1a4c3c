/* Single-instance lock file; see lockfile.h. */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pid written in a held lock file, or 0. */
static pid_t lockfile_read_pid(int fd) {
        char buf[32];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        long pid = strtol(buf, NULL, 10);
        return pid > 0 ? (pid_t)pid : 0;
}

int lockfile_acquire(const char *path, int *ret_fd, pid_t *ret_holder, Error *err) {
        /* An owner shutting down unlinks the file before unlocking it. We
         * may have opened the old file just before that and then locked it
         * after: the lock would be on a file no one else can see. So after
         * locking, check that the path still names the file we locked, and
         * start over when it does not. */
        for (unsigned attempt = 0; attempt < 16; attempt++) {
                struct stat st_fd, st_path;
                int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0) {
                        int e = errno;
                        error_set(err, WBEM_E_FAILED, "cannot open lock file %s: %s", path,
                                  strerror(e));
                        return -e;
                }
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        int e = errno;
                        if (e == EWOULDBLOCK) {
                                pid_t holder = lockfile_read_pid(fd);
                                close(fd);
                                if (ret_holder)
                                        *ret_holder = holder;
                                if (holder > 0)
                                        return error_set(err, WBEM_E_ALREADY_EXISTS,
                                                         "another lwmid (pid %ld) holds %s",
                                                         (long)holder, path);
                                return error_set(err, WBEM_E_ALREADY_EXISTS,
                                                 "another lwmid (pid unknown) holds %s", path);
                        }
                        close(fd);
                        error_set(err, WBEM_E_FAILED, "cannot lock %s: %s", path, strerror(e));
                        return -e;
                }
                if (fstat(fd, &st_fd) < 0 || stat(path, &st_path) < 0 ||
                    st_fd.st_dev != st_path.st_dev || st_fd.st_ino != st_path.st_ino) {
                        close(fd);
                        continue;
                }
                char pid[32];
                int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
                if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
                        int e = errno ? errno : EIO;
                        lockfile_release(path, fd);
                        error_set(err, WBEM_E_FAILED, "cannot write %s: %s", path, strerror(e));
                        return -e;
                }
                *ret_fd = fd;
                return 0;
        }
        error_set(err, WBEM_E_FAILED, "cannot lock %s: it keeps being replaced", path);
        return -EAGAIN;
}

void lockfile_release(const char *path, int fd) {
        if (fd < 0)
                return;
        (void)unlink(path);
        close(fd);
}
