/* Opening a directory on behalf of a peer: the daemon (often root) must not
 * lend its sight to a peer, so a path is walked one component at a time,
 * as the kernel would walk it for the peer, and every directory on the way
 * is checked against the peer's ids (ProviderCaller) with the classic
 * mode-bit rules: search (x) on each directory traversed, read (r) too on a
 * directory to be listed. Symbolic links are followed (at most
 * FSACCESS_MAX_LINKS), their targets walked with the same checks. The
 * walk holds a file descriptor at each step, so what is checked is what
 * is opened.
 *
 * Not handled: capabilities other than root's (a peer with
 * CAP_DAC_READ_SEARCH but uid != 0 is treated as unprivileged) and POSIX
 * ACLs, which are not evaluated: a directory that carries an extended ACL
 * is searchable and listable by its owner and root only (a peer that the
 * ACL would admit is refused: less is shown, never more). */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "error.h"
#include "provider.h"

#define FSACCESS_MAX_LINKS 40

/* r, w, x as in a mode's "other" bits */
#define FSACCESS_READ 4u
#define FSACCESS_SEARCH 1u

/* Whether caller may access an object with the given stat in the ways of
 * want (FSACCESS_* bits). fd (an O_PATH descriptor of it, or -1) is used
 * to look for an extended ACL. caller NULL: the daemon itself, always. */
bool fsaccess_may(const struct stat *st, int fd, const ProviderCaller *caller, unsigned want);

/* Whether path is absolute and normal: no empty, "." or ".." component,
 * no trailing '/' (except "/" itself), shorter than PATH_MAX. */
bool fsaccess_path_is_normal(const char *path);

/* Open directory `path` (normal, see above) for caller: 0 with *ret_fd an
 * O_PATH descriptor of it (list: an O_RDONLY | O_DIRECTORY one, ready for
 * fdopendir), after checking search permission on every directory walked
 * and, with list, read permission on the last one. Errors, err filled with
 * a message that names `path` as given, never a link's target:
 *   WBEM_E_ACCESS_DENIED  the caller may not (or the daemon cannot)
 *   -ENOENT, -ENOTDIR     no such directory (the caller could see that much)
 *   -ELOOP, -ENAMETOOLONG, -ENOMEM, other negative errnos. */
int fsaccess_open_dir(const char *path, const ProviderCaller *caller, bool list, int *ret_fd,
                      Error *err);
