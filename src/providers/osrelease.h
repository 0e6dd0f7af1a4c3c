/* os-release(5): the distribution's identification, KEY=VALUE lines with
 * shell-style quoting, read from /etc/os-release or /usr/lib/os-release. */
#pragma once

#include <stddef.h>

/* The value of `key` in os-release text of len bytes, unquoted (double
 * quotes with backslash escapes, single quotes, or bare), as a new
 * mem_malloc() string of bytes (not yet checked for UTF-8). When the key is
 * assigned more than once the last assignment counts, as in the shell.
 * Returns 0, -ENOENT when the key is absent, -EBADMSG for an unterminated
 * quote, or -ENOMEM. */
int osrelease_get(const char *text, size_t len, const char *key, char **ret);
