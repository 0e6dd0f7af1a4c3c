/* The asynchronous methods of docs/protocol.md (IWbemServices' names):
 * ExecQueryAsync, ExecNotificationQueryAsync, CancelAsyncCall, and
 * PublishEvent. Each checks its params and hands the work to the
 * session's Async (async.h), which owns the sinks and calls and writes the
 * Indicate and SetStatus notifications; the handler's result is the
 * method's response, which the session queues as soon as the handler
 * returns, so it comes before the call's first Indicate.
 *
 * Errors found before a call exists (a bad param, a query that does not
 * parse or names no class, WITHIN missing or too short) are answered as
 * JSON-RPC errors, and no call is made: a call, once answered, ends only
 * with a SetStatus. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "async.h"
#include "cleanup.h"
#include "engine.h"
#include "events.h"
#include "log.h"
#include "mem.h"
#include "methods.h"
#include "objjson.h"
#include "rights.h"
#include "server.h"
#include "session.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);

static const char *param_string(const MethodCall *call, const char *name) {
        return call->params ? json_string_value(json_object_get(call->params, name)) : NULL;
}

/* {"<member>": n} */
static int events_result_count(const char *member, uint64_t n, json_t **ret) {
        json_t *r = json_pack("{s:I}", member, (json_int_t)n);
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

/* ---- ExecQueryAsync, ExecNotificationQueryAsync --------------------------- */

static const RpcParam async_query_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true },
        { .name = "query", .type = RPC_PARAM_STRING, .required = true },
        { .name = "sink", .type = RPC_PARAM_STRING, .required = true, .max = ASYNC_SINK_ID_MAX },
        { .name = NULL },
};

static int method_exec_notification_query_async(const MethodCall *call, json_t **ret_result,
                                                MethodJob **ret_job, Error *err) {
        json_t *query = json_object_get(call->params, "query");
        Session *s = call->session;
        uint64_t id;
        int r;
        (void)ret_job;

        r = async_subscribe(s->async, param_string(call, "sink"), param_string(call, "namespace"),
                            json_string_value(query), json_string_length(query), &id, err);
        if (r != 0)
                return r;
        log_debug("session %llu: call %" PRIu64 " on sink '%s': %s", (unsigned long long)s->id, id,
                  param_string(call, "sink"), json_string_value(query));
        r = events_result_count("call", id, ret_result);
        if (r < 0)
                /* the call exists but cannot be named: take it back */
                async_cancel_call(s->async, id);
        return r;
}

static int method_exec_query_async(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                                   Error *err) {
        json_t *query = json_object_get(call->params, "query");
        Session *s = call->session;
        uint64_t id;
        int r;
        (void)ret_job;

        r = async_query(s->async, param_string(call, "sink"), param_string(call, "namespace"),
                        json_string_value(query), json_string_length(query), &id, err);
        if (r != 0)
                return r;
        r = events_result_count("call", id, ret_result);
        if (r < 0)
                async_cancel_call(s->async, id);
        return r;
}

/* ---- CancelAsyncCall ---------------------------------------------------------- */

static const RpcParam cancel_params[] = {
        { .name = "sink", .type = RPC_PARAM_STRING, .max = ASYNC_SINK_ID_MAX },
        { .name = "call", .type = RPC_PARAM_INTEGER, .min = 1, .max = INT64_MAX },
        { .name = NULL },
};

static int method_cancel_async_call(const MethodCall *call, json_t **ret_result,
                                    MethodJob **ret_job, Error *err) {
        json_t *call_param = call->params ? json_object_get(call->params, "call") : NULL;
        const char *sink = param_string(call, "sink");
        Session *s = call->session;
        size_t n;
        (void)ret_job;

        if (json_is_integer(call_param) == !!sink)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "give either param 'sink' (cancel all its calls) or param "
                                 "'call' (cancel one), not %s",
                                 sink ? "both" : "neither");
        if (sink) {
                int r = async_check_sink_id(sink, err);
                if (r != 0)
                        return r;
                n = async_cancel_sink(s->async, sink);
        } else {
                n = async_cancel_call(s->async, (uint64_t)json_integer_value(call_param));
        }
        /* The SetStatus of each call is queued; the response follows. */
        return events_result_count("cancelled", n, ret_result);
}

/* ---- PublishEvent ------------------------------------------------------------- */

static const RpcParam publish_params[] = {
        { .name = "namespace", .type = RPC_PARAM_STRING, .required = true },
        { .name = "event", .type = RPC_PARAM_OBJECT, .required = true },
        { .name = NULL },
};

static int method_publish_event(const MethodCall *call, json_t **ret_result, MethodJob **ret_job,
                                Error *err) {
        _cleanup_(instance_unrefp) Instance *event = NULL;
        Engine *e = call->session->server->engine;
        const char *ns = param_string(call, "namespace");
        size_t delivered = 0;
        int r;
        (void)ret_job;

        if (!e)
                return error_set(err, WBEM_E_FAILED, "PublishEvent: no repository is open");
        MethodsResolver res = { .engine = e, .ns = ns };
        r = objjson_instance_from_json(json_object_get(call->params, "event"),
                                       methods_resolve_class, &res, &event, err);
        if (r != 0)
                return r;
        r = engine_publish_event(e, ns, event, &delivered, err);
        if (r != 0)
                return r;
        return events_result_count("delivered", delivered, ret_result);
}

bool methods_publish_event_flat(Session *s, const RpcFlat *m, int *ret_r, uint64_t *ret_delivered,
                                Error *err) {
        static const char method[] = "PublishEvent";
        Engine *e = s->server->engine;
        const RpcFlatString *ns_param = rpc_flat_param(m, "namespace");
        _cleanup_(instance_unrefp) Instance *event = NULL;
        char ns[256];
        size_t delivered = 0;
        int r;

        /* the general path's param check would pass: both params, nothing
         * else; a namespace that needs no more room than this */
        if (m->method.len != sizeof(method) - 1 || memcmp(m->method.s, method, m->method.len) != 0 ||
            m->n_params != 2 || !ns_param || ns_param->len >= sizeof(ns) ||
            !rpc_flat_object_is(m, "event") || !e)
                return false;
        memcpy(ns, ns_param->s, ns_param->len);
        ns[ns_param->len] = '\0';
        /* The rights check the general path makes first (rights.h); a
         * refusal (or an invalid namespace name) takes the general path,
         * which answers and logs it. */
        bool on_namespace;
        unsigned right = rights_for_method(method, &on_namespace);
        ProviderCaller who = session_caller(s);
        if (right != 0 && who.uid != 0 &&
            !rights_allowed(s->server->rights, &who, on_namespace ? ns : "root", right))
                return false;
        MethodsResolver res = { .engine = e, .ns = ns };
        r = objjson_instance_from_scalars(m->members, m->n_members, methods_resolve_class, &res,
                                          &event, err);
        if (r == 0)
                r = engine_publish_event(e, ns, event, &delivered, err);
        *ret_r = r;
        *ret_delivered = delivered;
        return true;
}

const Method methods_events[] = {
        { "ExecQueryAsync", async_query_params, method_exec_query_async },
        { "ExecNotificationQueryAsync", async_query_params, method_exec_notification_query_async },
        { "CancelAsyncCall", cancel_params, method_cancel_async_call },
        { "PublishEvent", publish_params, method_publish_event },
        { .name = NULL },
};
