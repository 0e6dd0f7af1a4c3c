/* The data methods of docs/protocol.md (IWbemServices' names): GetObject,
 * ExecQuery, EnumInstances, EnumClasses, PutClass, DeleteClass,
 * PutInstance, DeleteInstance. Each converts its params with objjson (JSON
 * to classes and instances, resolving class names in the request's
 * namespace), calls the engine, and writes the objects back as JSON with
 * __SERVER and __PATH naming this host.
 *
 * ExecQuery and EnumInstances answer through a QueryJob: the engine's
 * cursor is read a bounded number of objects per loop turn
 * (METHOD_JOB_MAX_OBJECTS_PER_TURN, METHOD_JOB_MAX_USEC_PER_TURN) and each
 * object is written straight into the response line as JSON text, so a
 * large result never exists as one JSON tree. A result over the server's
 * limits (max_result_objects, max_result_bytes) is abandoned at the first
 * object past them and answered with WBEM_E_QUOTA_VIOLATION: such results
 * are for ExecQueryAsync. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "engine.h"
#include "log.h"
#include "mem.h"
#include "methods.h"
#include "objjson.h"
#include "objtext.h"
#include "quota.h"
#include "repo.h"
#include "server.h"
#include "session.h"
#include "strbuf.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(CimClass *, class_unref);

/* The engine behind a call; NULL (with err) when the server has none: a
 * server whose repository is not open (unit tests of sessions). */
static Engine *data_engine(const MethodCall *call, Error *err) {
        Engine *e = call->session->server->engine;
        if (!e)
                error_set(err, WBEM_E_FAILED, "%s: no repository is open", call->method);
        return e;
}

/* A string param (checked by the table), or NULL when not given. */
static const char *param_string(const MethodCall *call, const char *name) {
        return call->params ? json_string_value(json_object_get(call->params, name)) : NULL;
}

static bool param_bool(const MethodCall *call, const char *name, bool fallback) {
        json_t *v = call->params ? json_object_get(call->params, name) : NULL;
        return json_is_boolean(v) ? json_is_true(v) : fallback;
}

static json_t *param_object(const MethodCall *call, const char *name) {
        return call->params ? json_object_get(call->params, name) : NULL;
}

int methods_resolve_class(void *userdata, const char *class_name, CimClass **ret, Error *err) {
        MethodsResolver *res = userdata;
        int r = repo_class_get(engine_repo(res->engine), res->ns, class_name, ret, err);
        if (r == WBEM_E_NOT_FOUND)
                return error_set(err, WBEM_E_INVALID_CLASS, "no class %s in namespace %s",
                                 class_name, res->ns);
        return r;
}

/* {"<member>": "<text>"}, text taken over. */
static int data_result_string(const char *member, char *text, json_t **ret) {
        _cleanup_free_ char *owned = text;
        json_t *r;

        if (!owned)
                return -ENOMEM;
        r = json_object();
        if (!r)
                return -ENOMEM;
        if (json_object_set_new(r, member, json_string(owned)) < 0) {
                json_decref(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

static int data_empty_result(json_t **ret) {
        json_t *r = json_object();
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

/* ---- GetObject --------------------------------------------------------- */

static const RpcParam get_object_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true },
        { .name = "path", .type = RPC_PARAM_STRING, .required = true },
        { .name = NULL },
};

static int method_get_object(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                             Error *err) {
        _cleanup_(instance_unrefp) Instance *inst = NULL;
        _cleanup_(class_unrefp) CimClass *cls = NULL;
        Engine *e = data_engine(call, err);
        int r;
        (void)ret_job;

        if (!e)
                return WBEM_E_FAILED;
        ProviderCaller caller = session_caller(call->session);
        r = engine_get_object_as(e, &caller, param_string(call, "namespace"),
                                 param_string(call, "path"), &inst, &cls, err);
        if (r != 0)
                return r;
        ObjJsonOptions opts = { .host = engine_host_name(e) };
        if (inst)
                return objjson_instance_to_json(inst, &opts, ret_result, err);
        return objjson_class_to_json(cls, &opts, ret_result, err);
}

/* ---- PutClass, DeleteClass, EnumClasses -------------------------------- */

static const RpcParam put_class_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true },
        { .name = "class", .type = RPC_PARAM_OBJECT, .required = true },
        { .name = NULL },
};

static int method_put_class(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                            Error *err) {
        _cleanup_(class_unrefp) CimClass *def = NULL;
        _cleanup_(class_unrefp) CimClass *stored = NULL;
        Engine *e = data_engine(call, err);
        const char *ns = param_string(call, "namespace");
        int r;
        (void)ret_job;

        if (!e)
                return WBEM_E_FAILED;
        MethodsResolver res = { .engine = e, .ns = ns };
        r = objjson_class_from_json(param_object(call, "class"), methods_resolve_class, &res, &def,
                                    err);
        if (r != 0)
                return r;
        r = engine_put_class(e, ns, def, 0, &stored, err);
        if (r != 0)
                return r;
        log_debug("session %llu: PutClass %s in %s", (unsigned long long)call->session->id,
                  stored->name, ns);
        return data_result_string("path", mem_strdup(stored->name), ret_result);
}

static const RpcParam delete_class_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true },
        { .name = "class", .type = RPC_PARAM_STRING, .required = true },
        { .name = NULL },
};

static int method_delete_class(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                               Error *err) {
        Engine *e = data_engine(call, err);
        int r;
        (void)ret_job;

        if (!e)
                return WBEM_E_FAILED;
        r = engine_delete_class(e, param_string(call, "namespace"), param_string(call, "class"), 0,
                                err);
        if (r != 0)
                return r;
        return data_empty_result(ret_result);
}

static const RpcParam enum_classes_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true },
        { .name = "superclass", .type = RPC_PARAM_STRING },
        { .name = "deep", .type = RPC_PARAM_BOOLEAN },
        { .name = NULL },
};

static int method_enum_classes(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                               Error *err) {
        CimClass **classes = NULL;
        size_t n = 0;
        Engine *e = data_engine(call, err);
        int r;
        (void)ret_job;

        if (!e)
                return WBEM_E_FAILED;
        r = engine_enum_classes(e, param_string(call, "namespace"),
                                param_string(call, "superclass"), param_bool(call, "deep", false),
                                &classes, &n, err);
        if (r != 0)
                return r;

        ObjJsonOptions opts = { .host = engine_host_name(e) };
        _cleanup_(json_decrefp) json_t *result = json_object();
        json_t *array = json_array();
        if (!result || !array || json_object_set_new(result, "classes", array) < 0)
                r = -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *j;
                if (r == 0) {
                        r = objjson_class_to_json(classes[i], &opts, &j, err);
                        if (r == 0 && json_array_append_new(array, j) < 0)
                                r = -ENOMEM;
                }
                class_unref(classes[i]);
        }
        mem_free(classes);
        if (r != 0)
                return r;
        *ret_result = TAKE_PTR(result);
        return 0;
}

/* ---- PutInstance, DeleteInstance ------------------------------------- */

static const RpcParam put_instance_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true },
        { .name = "instance", .type = RPC_PARAM_OBJECT, .required = true },
        { .name = NULL },
};

static int method_put_instance(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                               Error *err) {
        _cleanup_(instance_unrefp) Instance *inst = NULL;
        _cleanup_(instance_unrefp) Instance *stored = NULL;
        Engine *e = data_engine(call, err);
        const char *ns = param_string(call, "namespace");
        int r;
        (void)ret_job;

        if (!e)
                return WBEM_E_FAILED;
        MethodsResolver res = { .engine = e, .ns = ns };
        r = objjson_instance_from_json(param_object(call, "instance"), methods_resolve_class, &res,
                                       &inst, err);
        if (r != 0)
                return r;
        r = engine_put_instance(e, ns, inst, 0, &stored, NULL, err);
        if (r != 0)
                return r;
        return data_result_string("path", instance_relpath(stored), ret_result);
}

static const RpcParam delete_instance_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true },
        { .name = "path", .type = RPC_PARAM_STRING, .required = true },
        { .name = NULL },
};

static int method_delete_instance(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                                  Error *err) {
        Engine *e = data_engine(call, err);
        int r;
        (void)ret_job;

        if (!e)
                return WBEM_E_FAILED;
        r = engine_delete_instance(e, param_string(call, "namespace"), param_string(call, "path"),
                                   NULL, err);
        if (r != 0)
                return r;
        return data_empty_result(ret_result);
}

/* ---- ExecQuery, EnumInstances: the query job -------------------------- */

typedef struct QueryJob {
        MethodJob job; /* first: the session holds &job */
        QueryCursor *cursor;
        const char *method; /* static */
        StrBuf line;        /* the response line so far */
        ObjText text;       /* writes each object (select list as the query's) */
        size_t objects_at;  /* where the objects' JSON starts in line */
        size_t n_objects;
        size_t max_objects, max_bytes;
} QueryJob;

static void query_job_free(MethodJob *job) {
        QueryJob *q = (QueryJob *)job;

        engine_query_end(q->cursor);
        strbuf_done(&q->line);
        objtext_done(&q->text);
        mem_free(q);
}

static int query_job_quota(QueryJob *q, Error *err, const char *what) {
        return error_set(err, WBEM_E_QUOTA_VIOLATION,
                         "%s: the result is larger than the server's limit of %s; use "
                         "ExecQueryAsync for large results, or narrow the query",
                         q->method, what);
}

static int query_job_step(MethodJob *job, char **ret_line, size_t *ret_len, Error *err) {
        QueryJob *q = (QueryJob *)job;
        uint64_t start = session_now_usec();
        int r;

        for (unsigned n = 0; n < METHOD_JOB_MAX_OBJECTS_PER_TURN;) {
                _cleanup_(instance_unrefp) Instance *inst = NULL;

                if (n > 0 && session_now_usec() - start >= METHOD_JOB_MAX_USEC_PER_TURN)
                        return 0;
                r = engine_query_next(q->cursor, &inst, err);
                if (r == -EAGAIN) {
                        /* a selective query: on while this turn's time
                         * lasts, else on the next turn */
                        if (session_now_usec() - start >= METHOD_JOB_MAX_USEC_PER_TURN)
                                return 0;
                        continue;
                }
                if (r != 0)
                        return r;
                if (!inst) {
                        strbuf_append(&q->line, "]}");
                        rpc_encode_result_end(&q->line);
                        if (strbuf_failed(&q->line))
                                return -ENOMEM;
                        size_t len = q->line.len;
                        char *text = strbuf_steal(&q->line);
                        if (!text)
                                return -ENOMEM;
                        *ret_line = text;
                        *ret_len = len;
                        return 0;
                }

                if (q->n_objects == q->max_objects) {
                        char what[64];
                        snprintf(what, sizeof(what), "%zu objects (max_result_objects)",
                                 q->max_objects);
                        return query_job_quota(q, err, what);
                }
                if (q->n_objects > 0)
                        strbuf_append_char(&q->line, ',');
                r = objtext_append(&q->text, inst, &q->line, err);
                if (r != 0)
                        return r;
                q->n_objects++;
                n++;
                if (q->line.len - q->objects_at > q->max_bytes) {
                        char what[64];
                        snprintf(what, sizeof(what), "%zu bytes of JSON (max_result_bytes)",
                                 q->max_bytes);
                        return query_job_quota(q, err, what);
                }
        }
        return 0;
}

static const MethodJobOps query_job_ops = {
        .step = query_job_step,
        .free = query_job_free,
};

/* Wrap a started cursor (taken over) into the job that answers call. */
static int query_job_new(const MethodCall *call, const char *method, Engine *e, QueryCursor *cursor,
                         MethodJob **ret_job) {
        const Settings *settings = &call->session->server->settings;
        QueryJob *q = mem_calloc(1, sizeof(*q));

        if (!q) {
                engine_query_end(cursor);
                return -ENOMEM;
        }
        q->job.ops = &query_job_ops;
        q->cursor = cursor;
        q->method = method;
        objtext_init(&q->text, engine_host_name(e), engine_query_parsed(cursor));
        q->max_objects = settings->max_result_objects;
        q->max_bytes = settings->max_result_bytes;
        rpc_encode_result_begin(call->id, &q->line);
        strbuf_append(&q->line, "{\"objects\":[");
        if (strbuf_failed(&q->line)) {
                query_job_free(&q->job);
                return -ENOMEM;
        }
        q->objects_at = q->line.len;
        *ret_job = &q->job;
        return 0;
}

static const RpcParam exec_query_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true },
        { .name = "query", .type = RPC_PARAM_STRING, .required = true },
        { .name = NULL },
};

static int method_exec_query(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                             Error *err) {
        json_t *query = json_object_get(call->params, "query");
        QueryCursor *cursor;
        Engine *e = data_engine(call, err);
        int r;
        (void)ret_result;

        if (!e)
                return WBEM_E_FAILED;
        r = quota_check_query(call->session->quota, json_string_length(query), err);
        if (r != 0) {
                session_quota_refused(call->session, SESSION_QUOTA_QUERY, err);
                return r;
        }
        ProviderCaller caller = session_caller(call->session);
        r = engine_query_begin_as(e, &caller, param_string(call, "namespace"),
                                  json_string_value(query), json_string_length(query), &cursor,
                                  err);
        if (r != 0)
                return r;
        return query_job_new(call, "ExecQuery", e, cursor, ret_job);
}

static const RpcParam enum_instances_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true },
        { .name = "class", .type = RPC_PARAM_STRING, .required = true },
        { .name = "deep", .type = RPC_PARAM_BOOLEAN },
        { .name = NULL },
};

static int method_enum_instances(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                                 Error *err) {
        QueryCursor *cursor;
        Engine *e = data_engine(call, err);
        int r;
        (void)ret_result;

        if (!e)
                return WBEM_E_FAILED;
        ProviderCaller caller = session_caller(call->session);
        r = engine_enum_instances_as(e, &caller, param_string(call, "namespace"),
                                     param_string(call, "class"), param_bool(call, "deep", true),
                                     &cursor, err);
        if (r != 0)
                return r;
        return query_job_new(call, "EnumInstances", e, cursor, ret_job);
}

const Method methods_data[] = {
        { "GetObject", get_object_params, method_get_object },
        { "ExecQuery", exec_query_params, method_exec_query },
        { "EnumInstances", enum_instances_params, method_enum_instances },
        { "EnumClasses", enum_classes_params, method_enum_classes },
        { "PutClass", put_class_params, method_put_class },
        { "DeleteClass", delete_class_params, method_delete_class },
        { "PutInstance", put_instance_params, method_put_instance },
        { "DeleteInstance", delete_instance_params, method_delete_instance },
        { .name = NULL },
};
