/* The method table: what a client may call, by name, with the named params
 * each method accepts. The session checks params against the table
 * (rpc_params_check) before calling the handler, so a handler reads only
 * params of the declared types.
 *
 * Adding a method is one entry in the table plus its handler and param
 * list. Only implemented methods are listed: an unlisted name gets
 * "method not found". Hello and Ping are in methods.c, the data methods
 * (GetObject, ExecQuery, PutClass, ...) in methods_data.c, the
 * asynchronous ones (ExecQueryAsync, ExecNotificationQueryAsync,
 * CancelAsyncCall, PublishEvent) in methods_events.c.
 *
 * Most handlers answer at once. One whose work could hold the loop for
 * long (ExecQuery, EnumInstances: a large result) returns a MethodJob
 * instead: the session runs it a bounded piece per loop turn (other
 * sessions are served in between), handles none of its own later requests
 * until the job is done (so answers stay in order), and frees it
 * unfinished if the session closes. */
#pragma once

#include <jansson.h>

#include "class.h"
#include "engine.h"
#include "error.h"
#include "rpc.h"

typedef struct Session Session;

/* The work of one job per loop turn: at most this many objects, and it
 * stops at the first object after this much time. */
#define METHOD_JOB_MAX_OBJECTS_PER_TURN 256
#define METHOD_JOB_MAX_USEC_PER_TURN 2000

typedef struct MethodJob MethodJob;

typedef struct MethodJobOps {
        /* One turn's work (within the budget above). 0 with *ret_line
         * NULL: more to do, call again on a later turn; 0 with *ret_line:
         * done, *ret_line the complete response line, '\n' included, of
         * *ret_len bytes (taken over, mem_free); or a positive WbemStatus
         * or negative errno with err, answered as for a handler. After
         * it is done or failed step is not called again. */
        int (*step)(MethodJob *job, char **ret_line, size_t *ret_len, Error *err);
        /* Release the job, finished or not (the session closed). */
        void (*free)(MethodJob *job);
} MethodJobOps;

struct MethodJob {
        const MethodJobOps *ops;
};

typedef struct MethodCall {
        Session *session;
        const char *method;
        json_t *id;     /* NULL for a notification (the result is dropped) */
        json_t *params; /* checked against the method's params; NULL when none */
} MethodCall;

/* 0 with *ret_result (a new reference), or 0 with *ret_job (a job that
 * makes the answer over later turns; *ret_result stays NULL), a positive
 * WbemStatus with err (answered as a JSON-RPC error, see
 * rpc_code_for_status), or a negative errno (answered as an internal error;
 * a message in err, when the handler filled it, is kept). */
typedef int (*MethodHandler)(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                             Error *err);

typedef struct Method {
        const char *name; /* case-sensitive, as JSON-RPC method names are */
        const RpcParam *params;
        MethodHandler handler;
} Method;

/* The data methods (methods_data.c), ending with a NULL name. */
extern const Method methods_data[];
/* The asynchronous methods and events (methods_events.c): ExecQueryAsync,
 * ExecNotificationQueryAsync, CancelAsyncCall, PublishEvent. */
extern const Method methods_events[];
/* The token methods (methods_tokens.c): AddToken, ListTokens,
 * RevokeToken. */
extern const Method methods_tokens[];
/* The rights methods (methods_rights.c): ListRights, GrantRights,
 * RevokeRights. */
extern const Method methods_rights[];

/* Class names inside objects read from a client are resolved in the
 * request's namespace: an ObjJsonResolveFunc with a MethodsResolver. */
typedef struct MethodsResolver {
        Engine *engine;
        const char *ns;
} MethodsResolver;
int methods_resolve_class(void *userdata, const char *class_name, CimClass **ret, Error *err);

/* The method named `name`, or NULL. */
const Method *methods_find(const char *name);
