/* Fuzz target for lwmid's frame and message decoder (src/daemon/rpc.c).
 *
 * The input is a byte stream as a client would send it: it is cut into
 * lines at '\n' like a session does, and each non-blank line goes through
 * rpc_decode(). Beyond "no crash, no leak" it checks the properties the
 * protocol relies on: every decode error encodes to exactly one line that
 * decodes back as a response with the same code and id; every request's
 * answer does too; params checks either pass or name a param; a line the
 * flat decoder takes (rpc_decode_flat, with PublishEvent's object of
 * scalars) is read the same by rpc_decode. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "mem.h"
#include "rpc.h"

static const RpcParam hello_params[] = {
        { .name = "client", .type = RPC_PARAM_STRING, .max = 256 },
        { .name = "keepalive_ms", .type = RPC_PARAM_INTEGER, .min = 500, .max = 60000 },
        { .name = NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An encoded line: one '\n', at the end, and it decodes as a response. */
static void check_line(char *line, size_t len, json_t *id, int code) {
        RpcMessage back;
        RpcError e = { 0 };

        if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) || strlen(line) != len)
                abort();
        if (rpc_decode(line, len - 1, &back, &e) != 0)
                abort();
        if (back.kind != RPC_KIND_RESPONSE)
                abort();
        if (id ? !json_equal(id, back.id) : !json_is_null(back.id))
                abort();
        if (code != 0) {
                json_t *c = json_object_get(back.error, "code");
                json_t *status = json_object_get(json_object_get(back.error, "data"), "status");
                if (!back.error || json_integer_value(c) != code || !json_is_string(status) ||
                    wbem_status_from_name(json_string_value(status)) < 0)
                        abort();
        } else if (!back.result) {
                abort();
        }
        rpc_message_done(&back);
        mem_free(line);
}

static bool same(const char *a, size_t a_len, const char *b, size_t b_len) {
        return a_len == b_len && memcmp(a, b, a_len) == 0;
}

/* A line rpc_decode_flat() takes is a request rpc_decode() reads the same:
 * same id, method, string params, and the object param's members (same
 * names, same values, same order). */
static void check_flat(const char *line, size_t len) {
        RpcFlat f;
        RpcMessage m;
        RpcError e = { 0 };

        if (!rpc_decode_flat(line, len, &f))
                return;
        int r = rpc_decode(line, len, &m, &e);
        if (r < 0)
                return;
        if (r > 0 || m.kind != RPC_KIND_REQUEST || !json_is_integer(m.id) ||
            (uint64_t)json_integer_value(m.id) != f.id ||
            !same(m.method, strlen(m.method), f.method.s, f.method.len) ||
            json_object_size(m.params) != f.n_params)
                abort();
        for (size_t k = 0; k < f.n_params; k++) {
                json_t *v = NULL, *pv;
                const char *key;
                size_t key_len;
                json_object_keylen_foreach(m.params, key, key_len, pv)
                        if (same(key, key_len, f.names[k].s, f.names[k].len))
                                v = pv;
                if (!v)
                        abort();
                if (f.values[k].s) {
                        if (!json_is_string(v) || !same(json_string_value(v), json_string_length(v),
                                                        f.values[k].s, f.values[k].len))
                                abort();
                        continue;
                }
                if (!json_is_object(v) ||
                    !same(f.object.s, f.object.len, f.names[k].s, f.names[k].len) ||
                    json_object_size(v) != f.n_members)
                        abort();
                size_t i = 0;
                json_t *mv;
                json_object_keylen_foreach(v, key, key_len, mv) {
                        const ObjJsonScalar *sc = &f.members[i++];
                        bool ok = same(key, key_len, sc->name, sc->name_len);
                        switch (sc->kind) {
                        case OBJJSON_SCALAR_STRING:
                                ok = ok && json_is_string(mv) &&
                                     same(json_string_value(mv), json_string_length(mv), sc->text,
                                          sc->len);
                                break;
                        case OBJJSON_SCALAR_INTEGER:
                                ok = ok && json_is_integer(mv) &&
                                     json_integer_value(mv) == sc->integer;
                                break;
                        case OBJJSON_SCALAR_TRUE:
                                ok = ok && json_is_true(mv);
                                break;
                        case OBJJSON_SCALAR_FALSE:
                                ok = ok && json_is_false(mv);
                                break;
                        case OBJJSON_SCALAR_NULL:
                                ok = ok && json_is_null(mv);
                                break;
                        }
                        if (!ok)
                                abort();
                }
        }
        rpc_message_done(&m);
}

static void one_line(const char *line, size_t len) {
        RpcMessage m;
        RpcError e = { 0 };
        char *out;
        size_t out_len;

        if (rpc_line_is_blank(line, len))
                return;
        check_flat(line, len);
        int r = rpc_decode(line, len, &m, &e);
        if (r < 0)
                return; /* out of memory: nothing to check */
        if (r > 0) {
                if (e.code != RPC_PARSE_ERROR && e.code != RPC_INVALID_REQUEST)
                        abort();
                if (rpc_encode_error(e.id, e.code, &e.error, &out, &out_len) == 0)
                        check_line(out, out_len, e.id, e.code);
                rpc_error_done(&e);
                return;
        }

        if (m.kind == RPC_KIND_REQUEST || m.kind == RPC_KIND_NOTIFICATION) {
                if (!m.method)
                        abort();
                Error pe = { 0 };
                int pr = rpc_params_check(m.params, hello_params, &pe);
                if (pr != 0 && (pr != WBEM_E_INVALID_PARAMETER || !strstr(pe.message, "param")))
                        abort();
                if (m.kind == RPC_KIND_REQUEST) {
                        /* Echo the params back as the result, as a method
                         * might return parts of its input. */
                        json_t *result = m.params ? m.params : json_object();
                        if (result && rpc_encode_result(m.id, result, &out, &out_len) == 0)
                                check_line(out, out_len, m.id, 0);
                        if (result != m.params)
                                json_decref(result);
                        if (pr != 0 &&
                            rpc_encode_error(m.id, RPC_INVALID_PARAMS, &pe, &out, &out_len) == 0)
                                check_line(out, out_len, m.id, RPC_INVALID_PARAMS);
                }
        } else if (!m.id || (!m.result == !m.error)) {
                abort();
        }
        rpc_message_done(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *)data, *end = p + size;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                one_line(p, len);
                p += len + (nl ? 1 : 0);
        }
        return 0;
}
