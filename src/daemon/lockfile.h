/* The single-instance lock: an flock(2)ed file next to the socket
 * ("lwmid.sock.lock") holding the owner's pid. The kernel drops the lock
 * when the process dies however it dies, so a lock file left behind by a
 * crash is never mistaken for a live daemon, and a socket file whose lock is
 * free is stale and may be replaced. */
#pragma once

#include <sys/types.h>

#include "error.h"

/* Take the lock at path (created mode 0600 if missing) and write our pid
 * into it. Returns 0 with *ret_fd (keep it open to hold the lock);
 * WBEM_E_ALREADY_EXISTS when another process holds it, with *ret_holder
 * set to its pid (0 if it could not be read) and a message naming it; a
 * negative errno for other failures (message in err). */
int lockfile_acquire(const char *path, int *ret_fd, pid_t *ret_holder, Error *err);

/* Remove the file and drop the lock (in that order, so a starting
 * instance never locks a file that is about to disappear unnoticed: see
 * lockfile_acquire). Accepts fd < 0. */
void lockfile_release(const char *path, int fd);
