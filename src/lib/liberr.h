/* Filling the public lwmi_error: the library's own failures (connect, lost
 * connection, protocol, memory, arguments) and the server's JSON-RPC error
 * objects. Every function returns the negative errno it is given, so callers
 * write `return liberr_set(err, -ENOMEM, LWMI_ERROR_NO_MEMORY, ...)`. */
#pragma once

#include <jansson.h>

#include "lwmi/lwmi.h"

int liberr_set(lwmi_error *e, int r, int code, const char *status, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* -ENOMEM with LWMI_ERROR_NO_MEMORY. */
int liberr_oom(lwmi_error *e);
/* Map a JSON-RPC error object ({"code", "message", "data": {"status",
 * "line", "column"}}) into *e; returns -EREMOTEIO. A malformed object still
 * gives an error with what could be read. */
int liberr_from_rpc(lwmi_error *e, const json_t *error);
/* Copy *src into *dst (dst may be NULL). */
void liberr_copy(lwmi_error *dst, const lwmi_error *src);
/* Cut s (NUL-terminated, in a buffer of `size`) so that it does not end in
 * the middle of a UTF-8 sequence, after a truncating snprintf. */
void liberr_trim_utf8(char *s, size_t size);
