/* Whether a file lwmid trusts (its configuration file, its repository) can
 * be changed by someone other than root or lwmid's own user.
 *
 * Refused, each with a message naming the file and the fix:
 *   - the file is world-writable;
 *   - the file is owned by another user (who could make it anything);
 *   - a directory on its (resolved) path is world-writable without the
 *     sticky bit, or owned by another user: either lets that user replace
 *     the file by a rename. A sticky world-writable directory owned by root
 *     or lwmid's user (/tmp) is accepted: there only a file's owner may
 *     rename or remove it, and the file's owner is checked.
 * "Another user" is any uid but 0 and lwmid's effective uid. The path is
 * resolved first (realpath): the checks are on the file and the
 * directories that really hold it. Group write permission is not refused
 * (a group is an administrator's choice). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Check `path` (described as `what` in messages: "configuration file",
 * "repository"), owned and kept by `trusted_uid` (lwmid's effective uid;
 * root is always trusted). With must_exist false a missing file is fine
 * and only its directories are checked (the nearest ones that exist).
 * Returns 0, WBEM_E_ACCESS_DENIED with the message, or WBEM_E_NOT_FOUND
 * (a missing file that must exist). */
int filetrust_check(const char *path, const char *what, uid_t trusted_uid, bool must_exist,
                    Error *err);
