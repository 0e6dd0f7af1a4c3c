/* The method table: what a client may call, by name, with the named params
 * each method accepts. The session checks params against the table
 * (rpc_params_check) before calling the handler, so a handler reads only
 * params of the declared types.
 *
 * Adding a method is one entry in the table plus its handler and param
 * list. Only implemented methods are listed: an unlisted name gets
 * "method not found". The engine methods of DESIGN.md (GetObject,
 * ExecQuery, PutClass, ...) join the table when the engine is wired. */
#pragma once

#include <jansson.h>

#include "error.h"
#include "rpc.h"

typedef struct Session Session;

typedef struct MethodCall {
        Session *session;
        const char *method;
        json_t *id;     /* NULL for a notification (the result is dropped) */
        json_t *params; /* checked against the method's params; NULL when none */
} MethodCall;

/* 0 with *ret_result (a new reference), a positive WbemStatus with err
 * (answered as a JSON-RPC error, see rpc_code_for_status), or a negative
 * errno (answered as an internal error). */
typedef int (*MethodHandler)(const MethodCall *call, json_t **ret_result, Error *err);

typedef struct Method {
        const char *name; /* case-sensitive, as JSON-RPC method names are */
        const RpcParam *params;
        MethodHandler handler;
} Method;

/* The method named `name`, or NULL. */
const Method *methods_find(const char *name);
