/* Local accounts by name; see account.h. */
#include "account.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"

int account_lookup(const char *name, Account *ret, Error *err) {
        struct passwd pw, *found = NULL;
        size_t size = 1024;
        _cleanup_free_ char *buf = NULL;
        int r;

        /* getpwnam_r says ERANGE until the buffer is big enough. */
        for (;;) {
                mem_free(buf);
                buf = mem_malloc(size);
                if (!buf)
                        return error_from_errno(err, -ENOMEM);
                r = getpwnam_r(name, &pw, buf, size, &found);
                if (r != ERANGE || size >= 1024 * 1024)
                        break;
                size *= 4;
        }
        if (r != 0 && r != ENOENT && r != ESRCH && r != EBADF && r != EPERM) {
                error_set(err, WBEM_E_FAILED, "cannot look up user '%s': %s", name, strerror(r));
                return -r;
        }
        if (!found)
                return error_set(err, WBEM_E_NOT_FOUND, "no local user '%s'", name);

        int n = 16;
        gid_t *groups = NULL;
        for (int attempt = 0; attempt < 4; attempt++) {
                gid_t *bigger = mem_reallocarray(groups, (size_t)n, sizeof(gid_t));
                if (!bigger) {
                        mem_free(groups);
                        return error_from_errno(err, -ENOMEM);
                }
                groups = bigger;
                int want = n;
                if (getgrouplist(name, pw.pw_gid, groups, &want) >= 0) {
                        n = want;
                        break;
                }
                /* too small: want says how many there are */
                n = want > n ? want : n * 2;
                if (attempt == 3) {
                        mem_free(groups);
                        return error_set(err, WBEM_E_FAILED,
                                         "cannot read the groups of user '%s'", name);
                }
        }
        *ret = (Account){ .uid = pw.pw_uid, .gid = pw.pw_gid, .groups = groups,
                          .n_groups = (size_t)n };
        return 0;
}

void account_done(Account *a) {
        mem_free(a->groups);
        *a = (Account){ 0 };
}
