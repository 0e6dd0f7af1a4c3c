/* JSON-RPC 2.0 line decoding and encoding; see rpc.h and docs/protocol.md.
 *
 * The decoder is strict where a lenient reading could hide a client bug
 * (the "jsonrpc" member, id types, duplicate keys, one message per line)
 * and silent about members it does not know, as JSON-RPC allows. */
#include "rpc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "strbuf.h"

static void rpc_error_set_id(RpcError *err, json_t *id) {
        if (err)
                err->id = id ? json_incref(id) : NULL;
}

static int rpc_fail(RpcError *err, int code, json_t *id, int status, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static int rpc_fail(RpcError *err, int code, json_t *id, int status, const char *fmt, ...) {
        va_list ap;

        if (!err)
                return status;
        err->code = code;
        rpc_error_set_id(err, id);
        error_clear(&err->error);
        err->error.status = status;
        va_start(ap, fmt);
        vsnprintf(err->error.message, sizeof(err->error.message), fmt, ap);
        va_end(ap);
        return status;
}

bool rpc_line_is_blank(const char *line, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
                        return false;
        return true;
}

static bool id_is_valid(const json_t *id) {
        return json_is_string(id) || json_is_integer(id) || json_is_null(id);
}

int rpc_decode(const char *line, size_t len, RpcMessage *ret, RpcError *err) {
        json_error_t jerr;
        json_t *root, *jsonrpc, *id, *method, *params, *result, *error;

        root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!root) {
                if (json_error_code(&jerr) == json_error_out_of_memory)
                        return -ENOMEM;
                return rpc_fail(err, RPC_PARSE_ERROR, NULL, WBEM_E_INVALID_PARAMETER,
                                "parse error at byte %d: %s", jerr.position, jerr.text);
        }
        /* Everything below only borrows from root: one place to release. */
        _cleanup_(json_decrefp) json_t *owned = root;

        if (json_is_array(root))
                return rpc_fail(err, RPC_INVALID_REQUEST, NULL, WBEM_E_INVALID_PARAMETER,
                                "batch requests are not supported: send one message per line");
        if (!json_is_object(root))
                return rpc_fail(err, RPC_INVALID_REQUEST, NULL, WBEM_E_INVALID_PARAMETER,
                                "a message must be a JSON object");

        id = json_object_get(root, "id");
        method = json_object_get(root, "method");
        params = json_object_get(root, "params");
        result = json_object_get(root, "result");
        error = json_object_get(root, "error");
        jsonrpc = json_object_get(root, "jsonrpc");

        if (id && !id_is_valid(id))
                return rpc_fail(err, RPC_INVALID_REQUEST, NULL, WBEM_E_INVALID_PARAMETER,
                                "member 'id' must be a string, an integer or null");
        /* A broken response is answered with id null: the server never
         * answers a response, and echoing a server-chosen id back would
         * look like an answer to it. */
        json_t *reply_id = method ? id : NULL;

        if (!json_is_string(jsonrpc) || strcmp(json_string_value(jsonrpc), "2.0") != 0)
                return rpc_fail(err, RPC_INVALID_REQUEST, reply_id, WBEM_E_INVALID_PARAMETER,
                                "member 'jsonrpc' must be the string \"2.0\"");

        if (method) {
                if (!json_is_string(method))
                        return rpc_fail(err, RPC_INVALID_REQUEST, id, WBEM_E_INVALID_PARAMETER,
                                        "member 'method' must be a string");
                if (result || error)
                        return rpc_fail(err, RPC_INVALID_REQUEST, id, WBEM_E_INVALID_PARAMETER,
                                        "a request cannot also have 'result' or 'error'");
                if (params && !json_is_object(params) && !json_is_array(params))
                        return rpc_fail(err, RPC_INVALID_REQUEST, id, WBEM_E_INVALID_PARAMETER,
                                        "member 'params' must be an object");
                *ret = (RpcMessage){
                        .kind = id ? RPC_KIND_REQUEST : RPC_KIND_NOTIFICATION,
                        .root = TAKE_PTR(owned),
                        .id = id,
                        .method = json_string_value(method),
                        .params = params,
                };
                return 0;
        }

        if (!result && !error)
                return rpc_fail(err, RPC_INVALID_REQUEST, NULL, WBEM_E_INVALID_PARAMETER,
                                "a message needs 'method' (a request) or 'result' or 'error' "
                                "(a response)");
        if (result && error)
                return rpc_fail(err, RPC_INVALID_REQUEST, NULL, WBEM_E_INVALID_PARAMETER,
                                "a response cannot have both 'result' and 'error'");
        if (!id)
                return rpc_fail(err, RPC_INVALID_REQUEST, NULL, WBEM_E_INVALID_PARAMETER,
                                "a response needs member 'id'");
        if (error && (!json_is_object(error) || !json_is_integer(json_object_get(error, "code")) ||
                      !json_is_string(json_object_get(error, "message"))))
                return rpc_fail(err, RPC_INVALID_REQUEST, NULL, WBEM_E_INVALID_PARAMETER,
                                "member 'error' must be an object with an integer 'code' and a "
                                "string 'message'");
        *ret = (RpcMessage){
                .kind = RPC_KIND_RESPONSE,
                .root = TAKE_PTR(owned),
                .id = id,
                .result = result,
                .error = error,
        };
        return 0;
}

void rpc_message_done(RpcMessage *m) {
        if (!m)
                return;
        json_decref(m->root);
        *m = (RpcMessage){ 0 };
}

void rpc_error_done(RpcError *e) {
        if (!e)
                return;
        json_decref(e->id);
        e->id = NULL;
}

int rpc_code_for_status(int status) {
        switch (status) {
        case WBEM_E_INVALID_PARAMETER:
                return RPC_INVALID_PARAMS;
        case WBEM_E_INVALID_METHOD:
                return RPC_METHOD_NOT_FOUND;
        case WBEM_E_OUT_OF_MEMORY:
        case WBEM_E_FAILED:
                return RPC_INTERNAL_ERROR;
        default:
                return RPC_WBEM_ERROR;
        }
}

static int dump_to_strbuf(const char *buffer, size_t size, void *data) {
        StrBuf *b = data;
        strbuf_append_len(b, buffer, size);
        return strbuf_failed(b) ? -1 : 0;
}

/* Serialize one message as a line. */
static int rpc_encode(json_t *msg, char **ret, size_t *ret_len) {
        StrBuf b = STRBUF_INIT;

        /* jansson fails to dump only when an allocation fails (its own or
         * the buffer's): its values cannot hold invalid UTF-8 or non-finite
         * reals, and we build no cycles. */
        if (json_dump_callback(msg, dump_to_strbuf, &b, JSON_COMPACT) < 0) {
                strbuf_done(&b);
                return -ENOMEM;
        }
        strbuf_append_char(&b, '\n');
        size_t len = b.len;
        char *s = strbuf_steal(&b);
        if (!s)
                return -ENOMEM;
        *ret = s;
        *ret_len = len;
        return 0;
}

/* The envelope every message shares. */
static json_t *rpc_envelope(void) {
        json_t *m = json_object();
        if (m && json_object_set_new(m, "jsonrpc", json_string("2.0")) < 0)
                return json_decref(m), NULL;
        return m;
}

/* json_object_set() with a NULL value meaning JSON null. */
static int set_or_null(json_t *o, const char *key, json_t *value) {
        return value ? json_object_set(o, key, value) : json_object_set_new(o, key, json_null());
}

/* Append j's compact text: through a buffer on the stack when it fits
 * (jansson's callback gets every token on its own, which costs more than
 * the copy), else piece by piece. */
static void dump_append(const json_t *j, StrBuf *b) {
        char buf[512];
        size_t n = json_dumpb(j, buf, sizeof(buf), JSON_COMPACT | JSON_ENCODE_ANY);
        if (n == 0)
                b->failed = true; /* it always writes something: out of memory */
        else if (n <= sizeof(buf))
                strbuf_append_len(b, buf, n);
        else if (json_dump_callback(j, dump_to_strbuf, b, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
                b->failed = true;
}

/* The envelope is written as text, not built as a jansson object and
 * dumped: a response per request is on every hot path. */
int rpc_encode_result(json_t *id, json_t *result, char **ret, size_t *ret_len) {
        StrBuf b = STRBUF_INIT;

        if (!result)
                return -ENOMEM;
        rpc_encode_result_begin(id, &b);
        dump_append(result, &b);
        rpc_encode_result_end(&b);
        size_t len = b.len;
        char *s = strbuf_steal(&b);
        if (!s)
                return -ENOMEM;
        *ret = s;
        *ret_len = len;
        return 0;
}

void rpc_encode_result_begin(json_t *id, StrBuf *b) {
        strbuf_append(b, "{\"jsonrpc\":\"2.0\",\"id\":");
        if (!id)
                strbuf_append(b, "null");
        else if (json_is_integer(id))
                strbuf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        else
                dump_append(id, b);
        strbuf_append(b, ",\"result\":");
}

void rpc_encode_notification_begin(const char *method, StrBuf *b) {
        strbuf_append(b, "{\"jsonrpc\":\"2.0\",\"method\":\"");
        strbuf_append(b, method);
        strbuf_append(b, "\",\"params\":");
}

void rpc_encode_result_end(StrBuf *b) {
        strbuf_append(b, "}\n");
}

/* A JSON string for a message that may have been cut inside a UTF-8
 * sequence (Error.message is a fixed buffer), or that carries bytes from
 * somewhere unchecked: drop a cut tail, else replace non-ASCII bytes. */
static json_t *string_lossy(const char *s) {
        size_t len = strlen(s);
        json_t *j = json_stringn(s, len);

        for (size_t cut = 1; !j && cut <= 3 && cut <= len; cut++)
                j = json_stringn(s, len - cut);
        if (!j) {
                _cleanup_free_ char *ascii = mem_strdup(s);
                if (!ascii)
                        return NULL;
                for (char *p = ascii; *p; p++)
                        if ((unsigned char)*p >= 0x80)
                                *p = '?';
                j = json_string(ascii);
        }
        return j;
}

int rpc_encode_error(json_t *id, int code, const Error *e, char **ret, size_t *ret_len) {
        _cleanup_(json_decrefp) json_t *m = rpc_envelope();
        json_t *error, *data;

        if (!m || set_or_null(m, "id", id) < 0)
                return -ENOMEM;
        error = json_object();
        if (!error || json_object_set_new(m, "error", error) < 0)
                return -ENOMEM;
        if (json_object_set_new(error, "code", json_integer(code)) < 0 ||
            json_object_set_new(error, "message", string_lossy(e->message)) < 0)
                return -ENOMEM;
        /* Attached at once, so the envelope's cleanup frees it too. */
        data = json_object();
        if (!data || json_object_set_new(error, "data", data) < 0 ||
            json_object_set_new(data, "status", json_string(wbem_status_name(e->status))) < 0)
                return -ENOMEM;
        if (e->line != 0 && (json_object_set_new(data, "line", json_integer(e->line)) < 0 ||
                             json_object_set_new(data, "column", json_integer(e->column)) < 0))
                return -ENOMEM;
        return rpc_encode(m, ret, ret_len);
}

int rpc_encode_request(const char *id, const char *method, json_t *params, char **ret,
                       size_t *ret_len) {
        _cleanup_(json_decrefp) json_t *m = rpc_envelope();

        if (!m || json_object_set_new(m, "id", json_string(id)) < 0 ||
            json_object_set_new(m, "method", json_string(method)) < 0)
                return -ENOMEM;
        if (params && json_object_set(m, "params", params) < 0)
                return -ENOMEM;
        return rpc_encode(m, ret, ret_len);
}

int rpc_encode_notification(const char *method, json_t *params, char **ret, size_t *ret_len) {
        _cleanup_(json_decrefp) json_t *m = rpc_envelope();

        if (!m || json_object_set_new(m, "method", json_string(method)) < 0)
                return -ENOMEM;
        if (params && json_object_set(m, "params", params) < 0)
                return -ENOMEM;
        return rpc_encode(m, ret, ret_len);
}

static const char *json_type_name(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a real number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
                return "null";
        }
        return "a value";
}

static const char *param_type_name(RpcParamType t) {
        switch (t) {
        case RPC_PARAM_STRING:
                return "a string";
        case RPC_PARAM_INTEGER:
                return "an integer";
        case RPC_PARAM_BOOLEAN:
                return "a boolean";
        case RPC_PARAM_OBJECT:
                return "an object";
        }
        return "a value";
}

static int param_check(const json_t *v, const RpcParam *p, Error *err) {
        bool ok = false;

        switch (p->type) {
        case RPC_PARAM_STRING:
                ok = json_is_string(v);
                break;
        case RPC_PARAM_INTEGER:
                ok = json_is_integer(v);
                break;
        case RPC_PARAM_BOOLEAN:
                ok = json_is_boolean(v);
                break;
        case RPC_PARAM_OBJECT:
                ok = json_is_object(v);
                break;
        }
        if (!ok)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "param '%s' must be %s, not %s",
                                 p->name, param_type_name(p->type), json_type_name(v));
        if (p->type == RPC_PARAM_INTEGER) {
                json_int_t n = json_integer_value(v);
                if (n < p->min || n > p->max)
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "param '%s' must be between %" PRId64 " and %" PRId64
                                         " (got %" JSON_INTEGER_FORMAT ")",
                                         p->name, p->min, p->max, n);
        }
        if (p->type == RPC_PARAM_STRING && p->max > 0 && json_string_length(v) > (size_t)p->max)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "param '%s' is longer than %" PRId64 " bytes", p->name, p->max);
        return 0;
}

int rpc_params_check(const json_t *params, const RpcParam *spec, Error *err) {
        const char *key;
        json_t *value;

        if (params && !json_is_object(params))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "params must be an object: lwmi methods take named params");

        for (const RpcParam *p = spec; p->name; p++) {
                value = params ? json_object_get(params, p->name) : NULL;
                /* null stands for "not given", so clients that serialize an
                 * unset optional field as null need no special case. */
                if (!value || json_is_null(value)) {
                        if (p->required)
                                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                                 "missing param '%s'", p->name);
                        continue;
                }
                int r = param_check(value, p, err);
                if (r != 0)
                        return r;
        }

        if (params)
                json_object_foreach((json_t *)params, key, value) {
                        const RpcParam *p = spec;
                        while (p->name && strcmp(p->name, key) != 0)
                                p++;
                        if (!p->name)
                                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                                 "unknown param '%s'", key);
                }
        return 0;
}
