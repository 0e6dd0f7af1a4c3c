/* Helpers shared by the synchronous calls (call.c) and the asynchronous
 * API (async.c): argument checks and the request-and-wait at the heart of
 * every method. */
#pragma once

#include <stdint.h>

#include <jansson.h>

#include "lwmi/lwmi.h"

#define CALL_DEFAULT_NAMESPACE "root/cimv2"

/* Send `method` with `params` (stolen) and wait for the response. With a
 * sink, the method registers an asynchronous call: its result must name
 * the call ({"call": id}), which is entered on the sink as the response is
 * read and returned in *ret_call. */
int call_invoke(lwmi_conn *conn, const char *method, json_t *params, lwmi_sink *sink,
                json_t **ret_result, uint64_t *ret_call, lwmi_error *err);

/* -EINVAL with LWMI_ERROR_INVALID_ARGUMENT and `what` as the message. */
int call_invalid(lwmi_error *err, const char *what);
/* A text argument: present and valid UTF-8. */
int call_check_text(lwmi_error *err, const char *what, const char *s);
int call_check_conn(lwmi_conn *conn, lwmi_error *err);
