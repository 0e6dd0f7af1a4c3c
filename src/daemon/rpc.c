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

/* ---- the flat form (rpc_decode_flat) ----------------------------------------- */

typedef struct FlatScan {
        const char *p, *end;
} FlatScan;

static void flat_ws(FlatScan *sc) {
        while (sc->p < sc->end &&
               (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\r' || *sc->p == '\n'))
                sc->p++;
}

static bool flat_char(FlatScan *sc, char c) {
        flat_ws(sc);
        if (sc->p >= sc->end || *sc->p != c)
                return false;
        sc->p++;
        return true;
}

/* A string of printable ASCII without escapes. */
static bool flat_string(FlatScan *sc, RpcFlatString *ret) {
        if (!flat_char(sc, '"'))
                return false;
        const char *start = sc->p;
        for (; sc->p < sc->end; sc->p++) {
                unsigned char c = (unsigned char)*sc->p;
                if (c == '"') {
                        *ret = (RpcFlatString){ start, (size_t)(sc->p - start) };
                        sc->p++;
                        return true;
                }
                if (c == '\\' || c < 0x20 || c >= 0x7f)
                        return false;
        }
        return false;
}

static bool flat_is(const RpcFlatString *s, const char *word) {
        return s->len == strlen(word) && memcmp(s->s, word, s->len) == 0;
}

/* An integer as JSON writes it (a '-', no leading zero, no fraction or
 * exponent) within 64 bits; -0 is 0, as jansson reads it. */
static bool flat_integer(FlatScan *sc, int64_t *ret) {
        bool negative = false;
        uint64_t v = 0;
        size_t digits = 0;

        if (sc->p < sc->end && *sc->p == '-') {
                negative = true;
                sc->p++;
        }
        const char *start = sc->p;
        while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9') {
                /* 18 digits always fit; longer ones are left to jansson */
                if (++digits > 18)
                        return false;
                v = v * 10 + (uint64_t)(*sc->p - '0');
                sc->p++;
        }
        if (digits == 0 || (digits > 1 && *start == '0'))
                return false;
        if (sc->p < sc->end && (*sc->p == '.' || *sc->p == 'e' || *sc->p == 'E'))
                return false;
        *ret = negative ? -(int64_t)v : (int64_t)v;
        return true;
}

static bool flat_literal(FlatScan *sc, const char *word) {
        size_t len = strlen(word);
        if ((size_t)(sc->end - sc->p) < len || memcmp(sc->p, word, len) != 0)
                return false;
        sc->p += len;
        return true;
}

/* One scalar member value. */
static bool flat_scalar(FlatScan *sc, ObjJsonScalar *m) {
        RpcFlatString v;

        flat_ws(sc);
        if (sc->p >= sc->end)
                return false;
        switch (*sc->p) {
        case '"':
                if (!flat_string(sc, &v))
                        return false;
                m->kind = OBJJSON_SCALAR_STRING;
                m->text = v.s;
                m->len = v.len;
                return true;
        case 't':
                m->kind = OBJJSON_SCALAR_TRUE;
                return flat_literal(sc, "true");
        case 'f':
                m->kind = OBJJSON_SCALAR_FALSE;
                return flat_literal(sc, "false");
        case 'n':
                m->kind = OBJJSON_SCALAR_NULL;
                return flat_literal(sc, "null");
        default:
                m->kind = OBJJSON_SCALAR_INTEGER;
                return flat_integer(sc, &m->integer);
        }
}

static bool flat_same(const RpcFlatString *a, const RpcFlatString *b) {
        return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* The object param's members, after its '{'. */
static bool flat_object(FlatScan *sc, RpcFlat *m) {
        if (flat_char(sc, '}'))
                return true;
        do {
                RpcFlatString name;
                if (m->n_members == RPC_FLAT_MAX_MEMBERS || !flat_string(sc, &name) ||
                    !flat_char(sc, ':'))
                        return false;
                for (size_t k = 0; k < m->n_members; k++)
                        if (m->members[k].name_len == name.len &&
                            memcmp(m->members[k].name, name.s, name.len) == 0)
                                return false;
                ObjJsonScalar *mem = &m->members[m->n_members];
                *mem = (ObjJsonScalar){ .name = name.s, .name_len = name.len };
                if (!flat_scalar(sc, mem))
                        return false;
                m->n_members++;
        } while (flat_char(sc, ','));
        return flat_char(sc, '}');
}

/* 0 to 2^53, as JSON writes an integer (no sign, no leading zero, no
 * fraction or exponent). */
static bool flat_id(FlatScan *sc, uint64_t *ret) {
        uint64_t v = 0;
        size_t digits = 0;
        flat_ws(sc);
        while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9') {
                if (++digits > 16)
                        return false;
                v = v * 10 + (uint64_t)(*sc->p - '0');
                sc->p++;
        }
        if (digits == 0 || (digits > 1 && sc->p[-(long)digits] == '0') || v > (UINT64_C(1) << 53))
                return false;
        if (sc->p < sc->end && (*sc->p == '.' || *sc->p == 'e' || *sc->p == 'E'))
                return false;
        *ret = v;
        return true;
}

bool rpc_decode_flat(const char *line, size_t len, RpcFlat *ret) {
        FlatScan sc = { line, line + len };
        /* Filled here and copied out only when the whole line is read:
         * *ret stays untouched otherwise. The arrays are written as they
         * come (no need to clear the members' 1 KiB first). */
        RpcFlat flat, *m = &flat;
        bool have_version = false, have_id = false, have_method = false, have_params = false;

        m->n_params = m->n_members = 0;
        m->object = (RpcFlatString){ NULL, 0 };
        if (!flat_char(&sc, '{'))
                return false;
        do {
                RpcFlatString key, v;
                if (!flat_string(&sc, &key) || !flat_char(&sc, ':'))
                        return false;
                if (flat_is(&key, "jsonrpc")) {
                        if (have_version || !flat_string(&sc, &v) || !flat_is(&v, "2.0"))
                                return false;
                        have_version = true;
                } else if (flat_is(&key, "id")) {
                        if (have_id || !flat_id(&sc, &m->id))
                                return false;
                        have_id = true;
                } else if (flat_is(&key, "method")) {
                        if (have_method || !flat_string(&sc, &m->method))
                                return false;
                        have_method = true;
                } else if (flat_is(&key, "params")) {
                        if (have_params || !flat_char(&sc, '{'))
                                return false;
                        have_params = true;
                        if (flat_char(&sc, '}'))
                                continue;
                        do {
                                RpcFlatString *name = &m->names[m->n_params];
                                if (m->n_params == RPC_FLAT_MAX || !flat_string(&sc, name) ||
                                    !flat_char(&sc, ':'))
                                        return false;
                                for (size_t k = 0; k < m->n_params; k++)
                                        if (flat_same(&m->names[k], name))
                                                return false;
                                if (flat_char(&sc, '{')) {
                                        if (m->object.s || !flat_object(&sc, m))
                                                return false;
                                        m->object = *name;
                                        m->values[m->n_params] = (RpcFlatString){ NULL, 0 };
                                } else if (!flat_string(&sc, &m->values[m->n_params])) {
                                        return false;
                                }
                                m->n_params++;
                        } while (flat_char(&sc, ','));
                        if (!flat_char(&sc, '}'))
                                return false;
                } else
                        return false;
        } while (flat_char(&sc, ','));
        if (!flat_char(&sc, '}'))
                return false;
        flat_ws(&sc);
        if (sc.p != sc.end || !have_version || !have_id || !have_method || !have_params)
                return false;
        *ret = flat;
        return true;
}

const RpcFlatString *rpc_flat_param(const RpcFlat *m, const char *name) {
        for (size_t k = 0; k < m->n_params; k++)
                if (flat_is(&m->names[k], name))
                        return m->values[k].s ? &m->values[k] : NULL;
        return NULL;
}

bool rpc_flat_object_is(const RpcFlat *m, const char *name) {
        return m->object.s && flat_is(&m->object, name);
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
