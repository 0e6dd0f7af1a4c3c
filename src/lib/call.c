/* Synchronous calls: lwmi_call() sends a request and runs the connection's
 * loop until its response arrives; the typed helpers build the params of
 * each method of the protocol and pick the interesting part of its result. */
#include <errno.h>
#include <string.h>

#include "call.h"
#include "cleanup.h"
#include "conn.h"
#include "liberr.h"
#include "mem.h"

int call_invalid(lwmi_error *err, const char *what) {
        return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT, "WBEM_E_INVALID_PARAMETER",
                          "%s", what);
}

int call_invoke(lwmi_conn *conn, const char *method, json_t *params, lwmi_sink *sink,
                json_t **ret_result, uint64_t *ret_call, lwmi_error *err) {
        _cleanup_(json_decrefp) json_t *owned_params = params;
        if (!conn || !method || !*method)
                return call_invalid(err, "lwmi_call needs a connection and a method");
        if (params && !json_is_object(params) && !json_is_array(params))
                return call_invalid(err, "params must be a JSON object or array");

        /* A registration's entry is made now, so that entering the call
         * when its id arrives cannot fail. */
        _cleanup_free_ AsyncCall *reg = NULL;
        if (sink && !(reg = mem_calloc(1, sizeof(*reg))))
                return liberr_oom(err);
        uint64_t deadline = conn->timeout_ms ? conn_now_ms() + conn->timeout_ms : 0;
        PendingCall *p;
        int r = conn_send_request(conn, method, TAKE_PTR(owned_params), &p, err);
        if (r < 0)
                return r;
        p->sink = sink;
        p->reg = TAKE_PTR(reg);
        r = conn_wait(conn, p, deadline, err);
        if (r < 0) {
                if (r == -ETIMEDOUT)
                        liberr_set(err, r, LWMI_ERROR_TIMEOUT, "WBEM_E_TIMED_OUT",
                                   "no response to %s within %u ms", method, conn->timeout_ms);
                conn_pending_release(conn, p);
                return r;
        }
        json_t *error = json_object_get(p->response, "error");
        if (error) {
                r = liberr_from_rpc(err, error);
                conn_pending_release(conn, p);
                return r;
        }
        if (sink && !p->registered) {
                conn_pending_release(conn, p);
                return liberr_set(err, -EPROTO, LWMI_ERROR_PROTOCOL, "WBEM_E_FAILED",
                                  "the server's answer to %s names no call", method);
        }
        if (ret_call)
                *ret_call = p->call_id;
        if (ret_result)
                *ret_result = json_incref(json_object_get(p->response, "result"));
        conn_pending_release(conn, p);
        return 0;
}

LWMI_EXPORT int lwmi_call(lwmi_conn *conn, const char *method, json_t *params, json_t **ret_result,
                          lwmi_error *err) {
        return call_invoke(conn, method, params, NULL, ret_result, NULL, err);
}

/* jansson refuses strings that are not UTF-8; tell that apart from running
 * out of memory so the caller gets the right error. */
static bool utf8_valid(const char *s) {
        const unsigned char *p = (const unsigned char *)s;
        while (*p) {
                unsigned c = *p++;
                size_t more;
                unsigned min;
                if (c < 0x80)
                        continue;
                if (c >= 0xC2 && c <= 0xDF) {
                        more = 1;
                        min = 0x80;
                        c &= 0x1F;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        more = 2;
                        min = 0x800;
                        c &= 0x0F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        more = 3;
                        min = 0x10000;
                        c &= 0x07;
                } else
                        return false;
                for (size_t i = 0; i < more; i++) {
                        if ((*p & 0xC0) != 0x80)
                                return false;
                        c = (c << 6) | (*p++ & 0x3F);
                }
                if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                        return false;
        }
        return true;
}

/* Check the text arguments of a helper: present and UTF-8. */
int call_check_text(lwmi_error *err, const char *what, const char *s) {
        if (!s)
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER", "%s is missing", what);
        if (!utf8_valid(s))
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER", "%s is not valid UTF-8", what);
        return 0;
}

int call_check_conn(lwmi_conn *conn, lwmi_error *err) {
        return conn ? 0 : call_invalid(err, "no connection");
}

/* The array in a result: the result itself, or its member `key`. A result
 * of another shape is the server's fault, but not a reason to drop the
 * connection. */
static int result_array(json_t *result, const char *key, json_t **ret, lwmi_error *err) {
        json_t *a = json_is_array(result) ? result : json_object_get(result, key);
        if (!json_is_array(a))
                return liberr_set(err, -EPROTO, LWMI_ERROR_PROTOCOL, "WBEM_E_FAILED",
                                  "the server's result has no \"%s\" array", key);
        *ret = json_incref(a);
        return 0;
}

LWMI_EXPORT int lwmi_ping(lwmi_conn *conn, lwmi_error *err) {
        int r = call_check_conn(conn, err);
        if (r < 0)
                return r;
        return lwmi_call(conn, "Ping", NULL, NULL, err);
}

LWMI_EXPORT int lwmi_exec_query(lwmi_conn *conn, const char *ns, const char *wql,
                                json_t **ret_objects, lwmi_error *err) {
        ns = ns ? ns : CALL_DEFAULT_NAMESPACE;
        int r;
        if ((r = call_check_conn(conn, err)) < 0 ||
            (r = call_check_text(err, "namespace", ns)) < 0 ||
            (r = call_check_text(err, "query", wql)) < 0)
                return r;
        json_t *params = json_pack("{s:s, s:s}", "namespace", ns, "query", wql);
        if (!params)
                return liberr_oom(err);
        _cleanup_(json_decrefp) json_t *result = NULL;
        r = lwmi_call(conn, "ExecQuery", params, &result, err);
        if (r < 0)
                return r;
        json_t *objects;
        r = result_array(result, "objects", &objects, err);
        if (r < 0)
                return r;
        if (ret_objects)
                *ret_objects = objects;
        else
                json_decref(objects);
        return 0;
}

LWMI_EXPORT int lwmi_get_object(lwmi_conn *conn, const char *ns, const char *path,
                                json_t **ret_object, lwmi_error *err) {
        ns = ns ? ns : CALL_DEFAULT_NAMESPACE;
        int r;
        if ((r = call_check_conn(conn, err)) < 0 ||
            (r = call_check_text(err, "namespace", ns)) < 0 ||
            (r = call_check_text(err, "path", path)) < 0)
                return r;
        json_t *params = json_pack("{s:s, s:s}", "namespace", ns, "path", path);
        if (!params)
                return liberr_oom(err);
        _cleanup_(json_decrefp) json_t *result = NULL;
        r = lwmi_call(conn, "GetObject", params, &result, err);
        if (r < 0)
                return r;
        if (!json_is_object(result))
                return liberr_set(err, -EPROTO, LWMI_ERROR_PROTOCOL, "WBEM_E_FAILED",
                                  "the server's result for GetObject is not an object");
        if (ret_object)
                *ret_object = TAKE_PTR(result);
        return 0;
}

/* The path a put reports: a string result, or a member of an object. */
static const char *result_path(const json_t *result) {
        if (json_is_string(result))
                return json_string_value(result);
        static const char *const keys[] = { "path", "__RELPATH", "__PATH" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *s = json_string_value(json_object_get(result, keys[i]));
                if (s)
                        return s;
        }
        return NULL;
}

LWMI_EXPORT int lwmi_put_instance(lwmi_conn *conn, const char *ns, const json_t *instance,
                                  char **ret_path, lwmi_error *err) {
        ns = ns ? ns : CALL_DEFAULT_NAMESPACE;
        int r;
        if ((r = call_check_conn(conn, err)) < 0 || (r = call_check_text(err, "namespace", ns)) < 0)
                return r;
        if (!json_is_object(instance))
                return call_invalid(err, "an instance must be a JSON object");
        json_t *params = json_pack("{s:s, s:O}", "namespace", ns, "instance", instance);
        if (!params)
                return liberr_oom(err);
        _cleanup_(json_decrefp) json_t *result = NULL;
        r = lwmi_call(conn, "PutInstance", params, &result, err);
        if (r < 0)
                return r;
        if (ret_path) {
                const char *path = result_path(result);
                char *copy = NULL;
                if (path && !(copy = mem_strdup(path)))
                        return liberr_oom(err);
                *ret_path = copy;
        }
        return 0;
}

LWMI_EXPORT int lwmi_delete_instance(lwmi_conn *conn, const char *ns, const char *path,
                                     lwmi_error *err) {
        ns = ns ? ns : CALL_DEFAULT_NAMESPACE;
        int r;
        if ((r = call_check_conn(conn, err)) < 0 ||
            (r = call_check_text(err, "namespace", ns)) < 0 ||
            (r = call_check_text(err, "path", path)) < 0)
                return r;
        json_t *params = json_pack("{s:s, s:s}", "namespace", ns, "path", path);
        if (!params)
                return liberr_oom(err);
        return lwmi_call(conn, "DeleteInstance", params, NULL, err);
}

LWMI_EXPORT int lwmi_put_class(lwmi_conn *conn, const char *ns, const json_t *cls,
                               lwmi_error *err) {
        ns = ns ? ns : CALL_DEFAULT_NAMESPACE;
        int r;
        if ((r = call_check_conn(conn, err)) < 0 || (r = call_check_text(err, "namespace", ns)) < 0)
                return r;
        if (!json_is_object(cls))
                return call_invalid(err, "a class must be a JSON object");
        json_t *params = json_pack("{s:s, s:O}", "namespace", ns, "class", cls);
        if (!params)
                return liberr_oom(err);
        return lwmi_call(conn, "PutClass", params, NULL, err);
}

LWMI_EXPORT int lwmi_delete_class(lwmi_conn *conn, const char *ns, const char *name,
                                  lwmi_error *err) {
        ns = ns ? ns : CALL_DEFAULT_NAMESPACE;
        int r;
        if ((r = call_check_conn(conn, err)) < 0 ||
            (r = call_check_text(err, "namespace", ns)) < 0 ||
            (r = call_check_text(err, "class name", name)) < 0)
                return r;
        json_t *params = json_pack("{s:s, s:s}", "namespace", ns, "class", name);
        if (!params)
                return liberr_oom(err);
        return lwmi_call(conn, "DeleteClass", params, NULL, err);
}

LWMI_EXPORT int lwmi_enum_classes(lwmi_conn *conn, const char *ns, const char *superclass,
                                  bool deep, json_t **ret_classes, lwmi_error *err) {
        ns = ns ? ns : CALL_DEFAULT_NAMESPACE;
        int r;
        if ((r = call_check_conn(conn, err)) < 0 ||
            (r = call_check_text(err, "namespace", ns)) < 0 ||
            (superclass && (r = call_check_text(err, "superclass", superclass)) < 0))
                return r;
        json_t *params = json_pack("{s:s, s:b}", "namespace", ns, "deep", deep);
        if (!params || (superclass &&
                        json_object_set_new(params, "superclass", json_string(superclass)) < 0)) {
                json_decref(params);
                return liberr_oom(err);
        }
        _cleanup_(json_decrefp) json_t *result = NULL;
        r = lwmi_call(conn, "EnumClasses", params, &result, err);
        if (r < 0)
                return r;
        json_t *classes;
        r = result_array(result, json_object_get(result, "classes") ? "classes" : "objects",
                         &classes, err);
        if (r < 0)
                return r;
        if (ret_classes)
                *ret_classes = classes;
        else
                json_decref(classes);
        return 0;
}

LWMI_EXPORT int lwmi_enum_instances(lwmi_conn *conn, const char *ns, const char *cls, bool deep,
                                    json_t **ret_instances, lwmi_error *err) {
        ns = ns ? ns : CALL_DEFAULT_NAMESPACE;
        int r;
        if ((r = call_check_conn(conn, err)) < 0 ||
            (r = call_check_text(err, "namespace", ns)) < 0 ||
            (r = call_check_text(err, "class name", cls)) < 0)
                return r;
        json_t *params = json_pack("{s:s, s:s, s:b}", "namespace", ns, "class", cls, "deep", deep);
        if (!params)
                return liberr_oom(err);
        _cleanup_(json_decrefp) json_t *result = NULL;
        r = lwmi_call(conn, "EnumInstances", params, &result, err);
        if (r < 0)
                return r;
        json_t *instances;
        r = result_array(result, json_object_get(result, "instances") ? "instances" : "objects",
                         &instances, err);
        if (r < 0)
                return r;
        if (ret_instances)
                *ret_instances = instances;
        else
                json_decref(instances);
        return 0;
}
