/* Unit tests for the JSON-RPC layer of lwmid (src/daemon/rpc.c): the line
 * decoder with every error it answers, the encoders, the status-to-code
 * mapping and the named-param checks, including allocation failures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "error.h"
#include "mem.h"
#include "rpc.h"

static int setup_hooks(void **state) {
        (void)state;
        return mem_install_library_hooks();
}

static int decode(const char *text, RpcMessage *m, RpcError *e) {
        *e = (RpcError){ 0 };
        return rpc_decode(text, strlen(text), m, e);
}

/* Decode text, expect failure with code, the given id (NULL: null) and a
 * message containing fragment. */
static void expect_error(const char *text, int code, const char *id_json, const char *fragment) {
        RpcMessage m = { .kind = (RpcKind)99 };
        RpcError e;
        int r = decode(text, &m, &e);

        assert_int_equal(r, WBEM_E_INVALID_PARAMETER);
        assert_int_equal(e.error.status, WBEM_E_INVALID_PARAMETER);
        assert_int_equal(e.code, code);
        assert_int_equal(m.kind, 99); /* untouched */
        assert_null(m.root);
        if (!id_json) {
                assert_null(e.id);
        } else {
                assert_non_null(e.id);
                json_t *want = json_loads(id_json, JSON_DECODE_ANY, NULL);
                assert_non_null(want);
                assert_true(json_equal(want, e.id));
                json_decref(want);
        }
        if (!strstr(e.error.message, fragment))
                fail_msg("message '%s' lacks '%s' (input %s)", e.error.message, fragment, text);
        rpc_error_done(&e);
        assert_null(e.id);
}

static void test_decode_request(void **state) {
        RpcMessage m;
        RpcError e;
        (void)state;

        assert_int_equal(decode("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"Hello\","
                                "\"params\":{\"client\":\"x\"}}",
                                &m, &e),
                         0);
        assert_int_equal(m.kind, RPC_KIND_REQUEST);
        assert_string_equal(m.method, "Hello");
        assert_int_equal(json_integer_value(m.id), 7);
        assert_true(json_is_object(m.params));
        assert_null(m.result);
        assert_null(m.error);
        rpc_message_done(&m);
        assert_null(m.root);

        /* string and null ids; params absent or an array; extra members */
        assert_int_equal(
                decode("{\"id\":\"a\",\"method\":\"Ping\",\"jsonrpc\":\"2.0\",\"x\":1}", &m, &e),
                0);
        assert_string_equal(json_string_value(m.id), "a");
        assert_null(m.params);
        rpc_message_done(&m);
        assert_int_equal(decode("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"Ping\","
                                "\"params\":[1]}",
                                &m, &e),
                         0);
        assert_int_equal(m.kind, RPC_KIND_REQUEST);
        assert_true(json_is_null(m.id));
        assert_true(json_is_array(m.params));
        rpc_message_done(&m);

        /* surrounding white space, CR included */
        assert_int_equal(decode(" \t{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}\r", &m, &e),
                         0);
        rpc_message_done(&m);
}

static void test_decode_not_nul_terminated(void **state) {
        const char text[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}GARBAGE";
        RpcMessage m;
        RpcError e = { 0 };
        (void)state;

        assert_int_equal(rpc_decode(text, strlen(text) - 7, &m, &e), 0);
        assert_string_equal(m.method, "Ping");
        rpc_message_done(&m);
}

static void test_decode_notification(void **state) {
        RpcMessage m;
        RpcError e;
        (void)state;

        assert_int_equal(decode("{\"jsonrpc\":\"2.0\",\"method\":\"Ping\"}", &m, &e), 0);
        assert_int_equal(m.kind, RPC_KIND_NOTIFICATION);
        assert_null(m.id);
        rpc_message_done(&m);
}

static void test_decode_response(void **state) {
        RpcMessage m;
        RpcError e;
        (void)state;

        assert_int_equal(decode("{\"jsonrpc\":\"2.0\",\"id\":\"s:17\",\"result\":{}}", &m, &e), 0);
        assert_int_equal(m.kind, RPC_KIND_RESPONSE);
        assert_string_equal(json_string_value(m.id), "s:17");
        assert_true(json_is_object(m.result));
        assert_null(m.error);
        assert_null(m.method);
        rpc_message_done(&m);

        assert_int_equal(decode("{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":null}", &m, &e), 0);
        assert_int_equal(m.kind, RPC_KIND_RESPONSE);
        assert_true(json_is_null(m.result));
        rpc_message_done(&m);

        assert_int_equal(decode("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-1,"
                                "\"message\":\"no\",\"data\":5}}",
                                &m, &e),
                         0);
        assert_int_equal(m.kind, RPC_KIND_RESPONSE);
        assert_non_null(m.error);
        assert_null(m.result);
        rpc_message_done(&m);
}

static void test_decode_parse_errors(void **state) {
        (void)state;
        expect_error("", RPC_PARSE_ERROR, NULL, "parse error");
        expect_error("foo", RPC_PARSE_ERROR, NULL, "parse error at byte");
        expect_error("{", RPC_PARSE_ERROR, NULL, "parse error");
        expect_error("{\"a\":1,}", RPC_PARSE_ERROR, NULL, "parse error");
        expect_error("{\"a\":1} {}", RPC_PARSE_ERROR, NULL, "parse error");
        expect_error("{\"a\":\"\\u0000\"}", RPC_PARSE_ERROR, NULL, "parse error");
        expect_error("{\"a\":\"\xff\"}", RPC_PARSE_ERROR, NULL, "parse error");
        expect_error("{\"a\":1,\"a\":2}", RPC_PARSE_ERROR, NULL, "parse error");
        expect_error("{\"a\":123456789012345678901234567890}", RPC_PARSE_ERROR, NULL,
                     "parse error");

        /* an embedded NUL byte ends nothing: it is an error */
        RpcMessage m;
        RpcError e = { 0 };
        const char nul[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}\0";
        assert_int_equal(rpc_decode(nul, sizeof(nul) - 1, &m, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(e.code, RPC_PARSE_ERROR);
        rpc_error_done(&e);

        /* nesting deeper than jansson allows */
        char deep[5000];
        memset(deep, '[', 4000);
        deep[4000] = '\0';
        expect_error(deep, RPC_PARSE_ERROR, NULL, "parse error");
}

static void test_decode_invalid_requests(void **state) {
        (void)state;
        expect_error("[]", RPC_INVALID_REQUEST, NULL, "batch");
        expect_error("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}]", RPC_INVALID_REQUEST,
                     NULL, "batch");
        expect_error("5", RPC_INVALID_REQUEST, NULL, "JSON object");
        expect_error("\"x\"", RPC_INVALID_REQUEST, NULL, "JSON object");
        expect_error("null", RPC_INVALID_REQUEST, NULL, "JSON object");

        /* the id is answered when it could be read and the message is a request */
        expect_error("{\"id\":1,\"method\":\"Ping\"}", RPC_INVALID_REQUEST, "1", "jsonrpc");
        expect_error("{\"jsonrpc\":\"1.0\",\"id\":\"a\",\"method\":\"Ping\"}", RPC_INVALID_REQUEST,
                     "\"a\"", "jsonrpc");
        expect_error("{\"jsonrpc\":2,\"id\":1,\"method\":\"Ping\"}", RPC_INVALID_REQUEST, "1",
                     "jsonrpc");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"Ping\"}", RPC_INVALID_REQUEST,
                     NULL, "'id'");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"Ping\"}", RPC_INVALID_REQUEST,
                     NULL, "'id'");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"Ping\"}", RPC_INVALID_REQUEST,
                     NULL, "'id'");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", RPC_INVALID_REQUEST, "1",
                     "'method'");
        expect_error("{\"jsonrpc\":\"2.0\",\"method\":null}", RPC_INVALID_REQUEST, NULL,
                     "'method'");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\",\"result\":1}",
                     RPC_INVALID_REQUEST, "1", "'result' or 'error'");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\",\"error\":{}}",
                     RPC_INVALID_REQUEST, "1", "'result' or 'error'");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\",\"params\":5}",
                     RPC_INVALID_REQUEST, "1", "'params'");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\",\"params\":null}",
                     RPC_INVALID_REQUEST, "1", "'params'");

        /* broken responses are answered with id null */
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":1}", RPC_INVALID_REQUEST, NULL, "'method'");
        expect_error("{\"jsonrpc\":\"2.0\"}", RPC_INVALID_REQUEST, NULL, "'method'");
        expect_error("{\"jsonrpc\":\"1.0\",\"id\":\"s:1\",\"result\":{}}", RPC_INVALID_REQUEST,
                     NULL, "jsonrpc");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"result\":1,\"error\":{\"code\":1,"
                     "\"message\":\"m\"}}",
                     RPC_INVALID_REQUEST, NULL, "both");
        expect_error("{\"jsonrpc\":\"2.0\",\"result\":{}}", RPC_INVALID_REQUEST, NULL,
                     "needs member 'id'");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"x\"}", RPC_INVALID_REQUEST, NULL,
                     "'error'");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1.5,\"message\":\"m\"}}",
                     RPC_INVALID_REQUEST, NULL, "'error'");
        expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1}}", RPC_INVALID_REQUEST,
                     NULL, "'error'");
}

static void test_decode_without_error_object(void **state) {
        RpcMessage m;
        (void)state;
        /* err may be NULL: the status still comes back */
        assert_int_equal(rpc_decode("x", 1, &m, NULL), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(rpc_decode("[]", 2, &m, NULL), WBEM_E_INVALID_PARAMETER);
}

static void test_decode_out_of_memory(void **state) {
        const char *inputs[] = {
                ("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"Hello\",\"params\":{\"client\":"
                 "\"some client\",\"keepalive_ms\":1000,\"list\":[1,2,3,{\"x\":null}]}}"),
                "{\"jsonrpc\":\"1.0\",\"id\":\"abc\",\"method\":\"Hello\"}",
                "{\"a\":",
        };
        (void)state;

        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                bool completed = false;
                for (unsigned long n = 1; n < 1000 && !completed; n++) {
                        RpcMessage m;
                        RpcError e = { 0 };
                        mem_fail_at(n);
                        int r = rpc_decode(inputs[i], strlen(inputs[i]), &m, &e);
                        bool failed = mem_fail_triggered();
                        mem_fail_at(0);
                        if (r == 0)
                                rpc_message_done(&m);
                        else
                                rpc_error_done(&e);
                        if (!failed) {
                                completed = true;
                                continue;
                        }
                        /* An allocation failed: either out of memory, or
                         * jansson reported it as a parse failure. */
                        assert_true(r == -ENOMEM || r == WBEM_E_INVALID_PARAMETER || r == 0);
                }
                assert_true(completed);
        }
}

static void test_line_is_blank(void **state) {
        (void)state;
        assert_true(rpc_line_is_blank("", 0));
        assert_true(rpc_line_is_blank(" \t\r\n", 4));
        assert_false(rpc_line_is_blank(" x ", 3));
        assert_false(rpc_line_is_blank("\0", 1));
}

static void test_code_for_status(void **state) {
        (void)state;
        assert_int_equal(rpc_code_for_status(WBEM_E_INVALID_PARAMETER), RPC_INVALID_PARAMS);
        assert_int_equal(rpc_code_for_status(WBEM_E_INVALID_METHOD), RPC_METHOD_NOT_FOUND);
        assert_int_equal(rpc_code_for_status(WBEM_E_OUT_OF_MEMORY), RPC_INTERNAL_ERROR);
        assert_int_equal(rpc_code_for_status(WBEM_E_FAILED), RPC_INTERNAL_ERROR);
        assert_int_equal(rpc_code_for_status(WBEM_E_NOT_FOUND), RPC_WBEM_ERROR);
        assert_int_equal(rpc_code_for_status(WBEM_E_INVALID_QUERY), RPC_WBEM_ERROR);
        assert_int_equal(rpc_code_for_status(WBEM_E_QUOTA_VIOLATION), RPC_WBEM_ERROR);
}

/* The encoded line: ends with exactly one '\n', and is one JSON object. */
static json_t *parse_line(const char *line, size_t len) {
        assert_true(len > 1);
        assert_int_equal(strlen(line), len);
        assert_int_equal(line[len - 1], '\n');
        assert_null(memchr(line, '\n', len - 1));
        json_t *j = json_loadb(line, len, 0, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "jsonrpc")), "2.0");
        return j;
}

static void test_encode_result(void **state) {
        char *line;
        size_t len;
        json_t *id = json_integer(5);
        json_t *result = json_pack("{s:s}", "text", "a\nb");
        (void)state;

        assert_int_equal(rpc_encode_result(id, result, &line, &len), 0);
        assert_string_equal(line,
                            "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"text\":\"a\\nb\"}}\n");
        json_decref(parse_line(line, len));
        mem_free(line);

        assert_int_equal(rpc_encode_result(NULL, result, &line, &len), 0);
        json_t *j = parse_line(line, len);
        assert_true(json_is_null(json_object_get(j, "id")));
        json_decref(j);
        mem_free(line);

        /* a missing result is refused, *ret untouched */
        line = (char *)"untouched";
        assert_int_equal(rpc_encode_result(id, NULL, &line, &len), -ENOMEM);
        assert_string_equal(line, "untouched");

        /* written piece by piece: the same bytes, for every kind of id */
        json_t *ids[] = { id, json_string("s\"x"), json_null(), NULL };
        for (size_t i = 0; i < 4; i++) {
                StrBuf b = STRBUF_INIT;
                rpc_encode_result_begin(ids[i], &b);
                strbuf_append(&b, "{\"text\":\"a\\nb\"}");
                rpc_encode_result_end(&b);
                assert_false(strbuf_failed(&b));
                assert_int_equal(rpc_encode_result(ids[i], result, &line, &len), 0);
                assert_int_equal(b.len, len);
                assert_string_equal(b.data, line);
                mem_free(line);
                strbuf_done(&b);
        }
        json_decref(ids[1]);
        json_decref(ids[2]);

        /* a notification likewise */
        StrBuf b = STRBUF_INIT;
        rpc_encode_notification_begin("Indicate", &b);
        strbuf_append(&b, "{\"text\":\"a\\nb\"}");
        rpc_encode_result_end(&b);
        assert_false(strbuf_failed(&b));
        assert_int_equal(rpc_encode_notification("Indicate", result, &line, &len), 0);
        assert_int_equal(b.len, len);
        assert_string_equal(b.data, line);
        mem_free(line);
        strbuf_done(&b);

        json_decref(id);
        json_decref(result);
}

static void test_encode_error(void **state) {
        char *line;
        size_t len;
        Error e;
        json_t *id = json_string("x");
        (void)state;

        error_set(&e, WBEM_E_NOT_FOUND, "no such thing");
        assert_int_equal(rpc_encode_error(id, RPC_WBEM_ERROR, &e, &line, &len), 0);
        assert_string_equal(line, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"error\":{\"code\":-32000,"
                                  "\"message\":\"no such thing\",\"data\":{\"status\":"
                                  "\"WBEM_E_NOT_FOUND\"}}}\n");
        mem_free(line);

        /* a query error carries its position */
        error_set_at(&e, WBEM_E_INVALID_QUERY, 2, 14, "unexpected token");
        assert_int_equal(rpc_encode_error(NULL, RPC_WBEM_ERROR, &e, &line, &len), 0);
        json_t *j = parse_line(line, len);
        json_t *data = json_object_get(json_object_get(j, "error"), "data");
        assert_string_equal(json_string_value(json_object_get(data, "status")),
                            "WBEM_E_INVALID_QUERY");
        assert_int_equal(json_integer_value(json_object_get(data, "line")), 2);
        assert_int_equal(json_integer_value(json_object_get(data, "column")), 14);
        assert_true(json_is_null(json_object_get(j, "id")));
        json_decref(j);
        mem_free(line);

        /* a message cut inside a UTF-8 sequence loses the partial character */
        error_set(&e, WBEM_E_FAILED, "caf\xc3");
        assert_int_equal(rpc_encode_error(id, RPC_INTERNAL_ERROR, &e, &line, &len), 0);
        j = parse_line(line, len);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(j, "error"), "message")), "caf");
        json_decref(j);
        mem_free(line);

        /* bytes that are not UTF-8 at all become '?' */
        error_set(&e, WBEM_E_FAILED, "a\xff\xfe\xfd\xfc b");
        assert_int_equal(rpc_encode_error(id, RPC_INTERNAL_ERROR, &e, &line, &len), 0);
        j = parse_line(line, len);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(j, "error"), "message")),
                "a???? b");
        json_decref(j);
        mem_free(line);

        /* an unknown status is named WBEM_E_FAILED */
        error_set(&e, 9999, "odd");
        assert_int_equal(rpc_encode_error(id, RPC_INTERNAL_ERROR, &e, &line, &len), 0);
        assert_non_null(strstr(line, "\"WBEM_E_FAILED\""));
        mem_free(line);

        json_decref(id);
}

static void test_encode_request_and_notification(void **state) {
        char *line;
        size_t len;
        json_t *params = json_pack("{s:i}", "seq", 1);
        (void)state;

        assert_int_equal(rpc_encode_request("s:17", "Ping", NULL, &line, &len), 0);
        assert_string_equal(line, "{\"jsonrpc\":\"2.0\",\"id\":\"s:17\",\"method\":\"Ping\"}\n");
        mem_free(line);
        assert_int_equal(rpc_encode_request("s:1", "X", params, &line, &len), 0);
        assert_string_equal(line, "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"method\":\"X\",\"params\":"
                                  "{\"seq\":1}}\n");
        mem_free(line);
        assert_int_equal(rpc_encode_notification("Indicate", params, &line, &len), 0);
        assert_string_equal(
                line, "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"seq\":1}}\n");
        mem_free(line);
        assert_int_equal(rpc_encode_notification("SetStatus", NULL, &line, &len), 0);
        assert_string_equal(line, "{\"jsonrpc\":\"2.0\",\"method\":\"SetStatus\"}\n");
        mem_free(line);
        json_decref(params);
}

/* Each encoder, failing its Nth allocation for every N, returns -ENOMEM
 * and leaks nothing (the ASan build checks the leaks). */
static void test_encode_out_of_memory(void **state) {
        json_t *id = json_string("abc");
        json_t *params = json_pack("{s:s, s:[i,i]}", "a", "b", "c", 1, 2);
        Error e;
        (void)state;

        error_set_at(&e, WBEM_E_INVALID_QUERY, 1, 2, "bad");
        for (int which = 0; which < 4; which++) {
                bool completed = false;
                for (unsigned long n = 1; n < 1000 && !completed; n++) {
                        char *line = NULL;
                        size_t len;
                        int r;
                        mem_fail_at(n);
                        switch (which) {
                        case 0:
                                r = rpc_encode_result(id, params, &line, &len);
                                break;
                        case 1:
                                r = rpc_encode_error(id, RPC_WBEM_ERROR, &e, &line, &len);
                                break;
                        case 2:
                                r = rpc_encode_request("s:1", "Ping", params, &line, &len);
                                break;
                        default:
                                r = rpc_encode_notification("Indicate", params, &line, &len);
                                break;
                        }
                        bool failed = mem_fail_triggered();
                        mem_fail_at(0);
                        if (!failed) {
                                assert_int_equal(r, 0);
                                completed = true;
                        } else if (r == 0) {
                                /* the failure hit something recoverable */
                                assert_non_null(line);
                        } else {
                                assert_int_equal(r, -ENOMEM);
                                assert_null(line);
                        }
                        mem_free(line);
                }
                assert_true(completed);
        }
        json_decref(id);
        json_decref(params);
}

static const RpcParam spec[] = {
        { .name = "name", .type = RPC_PARAM_STRING, .required = true, .max = 5 },
        { .name = "count", .type = RPC_PARAM_INTEGER, .min = 1, .max = 10 },
        { .name = "flag", .type = RPC_PARAM_BOOLEAN },
        { .name = "object", .type = RPC_PARAM_OBJECT },
        { .name = "text", .type = RPC_PARAM_STRING },
        { .name = NULL },
};

static void expect_params(const char *json, int want, const char *fragment) {
        json_t *params = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
        Error e = { 0 };

        if (json)
                assert_non_null(params);
        int r = rpc_params_check(params, spec, &e);
        assert_int_equal(r, want);
        if (want) {
                assert_int_equal(e.status, WBEM_E_INVALID_PARAMETER);
                if (!strstr(e.message, fragment))
                        fail_msg("message '%s' lacks '%s' (params %s)", e.message, fragment, json);
        }
        json_decref(params);
}

static void test_params_check(void **state) {
        const RpcParam none[] = { { .name = NULL } };
        (void)state;

        expect_params("{\"name\":\"abc\"}", 0, NULL);
        expect_params("{\"name\":\"abcde\",\"count\":1,\"flag\":false,\"object\":{},\"text\":\"\"}",
                      0, NULL);
        expect_params("{\"name\":\"a\",\"count\":10,\"text\":null}", 0, NULL);
        expect_params("{\"name\":\"a\",\"count\":null,\"flag\":null,\"object\":null}", 0, NULL);

        expect_params(NULL, WBEM_E_INVALID_PARAMETER, "missing param 'name'");
        expect_params("{}", WBEM_E_INVALID_PARAMETER, "missing param 'name'");
        expect_params("{\"name\":null}", WBEM_E_INVALID_PARAMETER, "missing param 'name'");
        expect_params("[\"a\"]", WBEM_E_INVALID_PARAMETER, "params must be an object");
        expect_params("{\"name\":\"a\",\"nope\":1}", WBEM_E_INVALID_PARAMETER,
                      "unknown param 'nope'");
        expect_params("{\"name\":5}", WBEM_E_INVALID_PARAMETER,
                      "param 'name' must be a string, not an integer");
        expect_params("{\"name\":\"abcdef\"}", WBEM_E_INVALID_PARAMETER,
                      "param 'name' is longer than 5 bytes");
        expect_params("{\"name\":\"a\",\"count\":\"3\"}", WBEM_E_INVALID_PARAMETER,
                      "param 'count' must be an integer, not a string");
        expect_params("{\"name\":\"a\",\"count\":3.0}", WBEM_E_INVALID_PARAMETER,
                      "param 'count' must be an integer, not a real number");
        expect_params("{\"name\":\"a\",\"count\":0}", WBEM_E_INVALID_PARAMETER,
                      "param 'count' must be between 1 and 10 (got 0)");
        expect_params("{\"name\":\"a\",\"count\":11}", WBEM_E_INVALID_PARAMETER,
                      "param 'count' must be between 1 and 10 (got 11)");
        expect_params("{\"name\":\"a\",\"flag\":1}", WBEM_E_INVALID_PARAMETER,
                      "param 'flag' must be a boolean, not an integer");
        expect_params("{\"name\":\"a\",\"flag\":\"true\"}", WBEM_E_INVALID_PARAMETER,
                      "param 'flag' must be a boolean, not a string");
        expect_params("{\"name\":\"a\",\"object\":[]}", WBEM_E_INVALID_PARAMETER,
                      "param 'object' must be an object, not an array");
        expect_params("{\"name\":\"a\",\"object\":true}", WBEM_E_INVALID_PARAMETER,
                      "not a boolean");
        expect_params("{\"name\":{}}", WBEM_E_INVALID_PARAMETER, "not an object");

        /* a method without params */
        json_t *empty = json_object(), *one = json_pack("{s:i}", "x", 1);
        Error e;
        assert_int_equal(rpc_params_check(NULL, none, &e), 0);
        assert_int_equal(rpc_params_check(empty, none, &e), 0);
        assert_int_equal(rpc_params_check(one, none, &e), WBEM_E_INVALID_PARAMETER);
        assert_string_equal(e.message, "unknown param 'x'");
        assert_int_equal(rpc_params_check(one, none, NULL), WBEM_E_INVALID_PARAMETER);
        json_decref(empty);
        json_decref(one);
}

/* The flat form: read without a tree when the line is exactly the simple
 * shape; every other line, valid JSON-RPC or not, is refused (and goes to
 * rpc_decode). */
static void test_decode_flat(void **state) {
        (void)state;
        RpcFlat m;
        const char *ok = " {\"jsonrpc\": \"2.0\", \"id\": 42, \"method\": \"M\", "
                         "\"params\": {\"query\": \"SELECT * FROM X WHERE Id = 5\", \"sink\": \"s\"}}\r";
        assert_true(rpc_decode_flat(ok, strlen(ok), &m));
        assert_int_equal(m.id, 42);
        assert_int_equal(m.method.len, 1);
        assert_memory_equal(m.method.s, "M", 1);
        assert_int_equal(m.n_params, 2);
        const RpcFlatString *q = rpc_flat_param(&m, "query");
        assert_non_null(q);
        assert_int_equal(q->len, strlen("SELECT * FROM X WHERE Id = 5"));
        assert_memory_equal(q->s, "SELECT * FROM X WHERE Id = 5", q->len);
        assert_null(rpc_flat_param(&m, "namespace"));
        /* members in any order, empty params, id 0 and 2^53 */
        const char *order = "{\"params\":{},\"method\":\"M\",\"id\":0,\"jsonrpc\":\"2.0\"}";
        assert_true(rpc_decode_flat(order, strlen(order), &m));
        assert_int_equal(m.id, 0);
        assert_int_equal(m.n_params, 0);
        const char *big = "{\"jsonrpc\":\"2.0\",\"id\":9007199254740992,\"method\":\"M\",\"params\":{}}";
        assert_true(rpc_decode_flat(big, strlen(big), &m));
        assert_int_equal(m.id, UINT64_C(9007199254740992));
        /* not flat: left to rpc_decode */
        static const char *const refused[] = {
                "",
                "[]",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\"}",               /* no params */
                "{\"jsonrpc\":\"2.0\",\"method\":\"M\",\"params\":{}}",          /* notification */
                "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"M\",\"params\":{}}", /* string id */
                "{\"jsonrpc\":\"2.0\",\"id\":-1,\"method\":\"M\",\"params\":{}}",
                "{\"jsonrpc\":\"2.0\",\"id\":01,\"method\":\"M\",\"params\":{}}",
                "{\"jsonrpc\":\"2.0\",\"id\":1.0,\"method\":\"M\",\"params\":{}}",
                "{\"jsonrpc\":\"2.0\",\"id\":1e3,\"method\":\"M\",\"params\":{}}",
                "{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":\"M\",\"params\":{}}",
                "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"M\",\"params\":{}}",
                "{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{}}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"a\":\"1\",\"a\":\"2\"}}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"a\":1}}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"a\":\"\\n\"}}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"a\":\"\xc3\xa9\"}}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"a\":\"\t\"}}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":[]}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{},\"x\":\"y\"}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{}} x",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\"}}",
        };
        for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
                m.id = 77;
                assert_false(rpc_decode_flat(refused[k], strlen(refused[k]), &m));
                assert_int_equal(m.id, 77); /* untouched */
        }
        /* the line's length bounds it, not a NUL */
        assert_false(rpc_decode_flat(ok, strlen(ok) - 3, &m));
}

/* What rpc_decode() reads of the same line: a request with the same id,
 * method and params, each string param the same string and the object
 * param's members the same values in the same order. */
static void assert_flat_matches_tree(const char *line, const RpcFlat *f) {
        RpcMessage m;
        RpcError e = { 0 };

        assert_int_equal(rpc_decode(line, strlen(line), &m, &e), 0);
        assert_int_equal(m.kind, RPC_KIND_REQUEST);
        assert_true(json_is_integer(m.id));
        assert_int_equal((uint64_t)json_integer_value(m.id), f->id);
        assert_int_equal(strlen(m.method), f->method.len);
        assert_memory_equal(m.method, f->method.s, f->method.len);
        assert_int_equal(json_object_size(m.params), f->n_params);
        for (size_t k = 0; k < f->n_params; k++) {
                char name[256];
                memcpy(name, f->names[k].s, f->names[k].len);
                name[f->names[k].len] = '\0';
                json_t *v = json_object_get(m.params, name);
                assert_non_null(v);
                if (f->values[k].s) {
                        assert_true(json_is_string(v));
                        assert_int_equal(json_string_length(v), f->values[k].len);
                        assert_memory_equal(json_string_value(v), f->values[k].s, f->values[k].len);
                        assert_true(rpc_flat_param(f, name) == &f->values[k]);
                        assert_false(rpc_flat_object_is(f, name));
                        continue;
                }
                assert_true(rpc_flat_object_is(f, name));
                assert_null(rpc_flat_param(f, name));
                assert_true(json_is_object(v));
                assert_int_equal(json_object_size(v), f->n_members);
                size_t i = 0;
                const char *key;
                json_t *mv;
                json_object_foreach(v, key, mv) {
                        const ObjJsonScalar *sc = &f->members[i++];
                        assert_int_equal(strlen(key), sc->name_len);
                        assert_memory_equal(key, sc->name, sc->name_len);
                        switch (sc->kind) {
                        case OBJJSON_SCALAR_STRING:
                                assert_true(json_is_string(mv));
                                assert_int_equal(json_string_length(mv), sc->len);
                                assert_memory_equal(json_string_value(mv), sc->text, sc->len);
                                break;
                        case OBJJSON_SCALAR_INTEGER:
                                assert_true(json_is_integer(mv));
                                assert_true(json_integer_value(mv) == sc->integer);
                                break;
                        case OBJJSON_SCALAR_TRUE:
                                assert_true(json_is_true(mv));
                                break;
                        case OBJJSON_SCALAR_FALSE:
                                assert_true(json_is_false(mv));
                                break;
                        case OBJJSON_SCALAR_NULL:
                                assert_true(json_is_null(mv));
                                break;
                        }
                }
        }
        rpc_message_done(&m);
}

/* The flat form's one object param (PublishEvent's event): scalar members
 * read without a tree, exactly as jansson reads them; anything else in it
 * refused. */
static void test_decode_flat_object(void **state) {
        (void)state;
        RpcFlat m;
        static const char *const accepted[] = {
                "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"PublishEvent\",\"params\":{\"namespace\":"
                "\"root/cimv2\",\"event\":{\"__CLASS\":\"Bench_Event\",\"Id\":1,\"T\":\"123\"}}}",
                /* every kind, spaces everywhere, the object first */
                " { \"params\" : { \"event\" : { \"s\" : \"\" , \"i\" : -42 , \"z\" : -0 , \"t\" : true ,"
                " \"f\" : false , \"n\" : null , \"big\" : 999999999999999999 , \"neg\" :"
                " -999999999999999999 } , \"namespace\" : \"n\" } , \"id\" : 1 , \"method\" : \"M\" ,"
                " \"jsonrpc\" : \"2.0\" } ",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"e\":{}}}",
                /* sixteen members */
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"e\":{\"a\":1,\"b\":2,"
                "\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"l\":12,"
                "\"m\":13,\"n\":14,\"o\":15,\"p\":16}}}",
                /* a member may share a param's name */
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"e\":{\"e\":\"e\"},"
                "\"a\":\"b\",\"c\":\"d\",\"f\":\"g\"}}",
        };
        for (size_t k = 0; k < sizeof(accepted) / sizeof(accepted[0]); k++) {
                if (!rpc_decode_flat(accepted[k], strlen(accepted[k]), &m))
                        fail_msg("refused: %s", accepted[k]);
                assert_non_null(m.object.s);
                assert_flat_matches_tree(accepted[k], &m);
        }
        assert_true(rpc_decode_flat(accepted[1], strlen(accepted[1]), &m));
        assert_int_equal(m.n_members, 8);
        assert_int_equal(m.members[1].kind, OBJJSON_SCALAR_INTEGER);
        assert_true(m.members[1].integer == -42);
        assert_true(m.members[2].integer == 0);
        assert_true(m.members[6].integer == INT64_C(999999999999999999));
        assert_true(m.members[7].integer == -INT64_C(999999999999999999));
        assert_int_equal(m.members[5].kind, OBJJSON_SCALAR_NULL);
        assert_true(rpc_flat_object_is(&m, "event"));
        assert_false(rpc_flat_object_is(&m, "namespace"));
        assert_int_equal(rpc_flat_param(&m, "namespace")->len, 1);

        /* string params only: no object */
        const char *plain = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"a\":\"b\"}}";
        assert_true(rpc_decode_flat(plain, strlen(plain), &m));
        assert_null(m.object.s);
        assert_int_equal(m.n_members, 0);
        assert_false(rpc_flat_object_is(&m, "a"));

#define EV(members) "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"e\":" members "}}"
        static const char *const refused[] = {
                EV("{\"a\":{}}"),           /* nested object */
                EV("{\"a\":[]}"),           /* array */
                EV("{\"a\":1.5}"),          /* real */
                EV("{\"a\":1e3}"),          /* exponent */
                EV("{\"a\":1E3}"),
                EV("{\"a\":01}"),           /* leading zero */
                EV("{\"a\":-01}"),
                EV("{\"a\":-}"),
                EV("{\"a\":+1}"),
                EV("{\"a\":1234567890123456789}"), /* 19 digits: left to jansson */
                EV("{\"a\":tru}"),
                EV("{\"a\":nul}"),
                EV("{\"a\":falsy}"),
                EV("{\"a\":}"),
                EV("{\"a\"}"),
                EV("{\"a\":1,}"),
                EV("{,}"),
                EV("{\"a\":1"),
                EV("{\"a\":1,\"a\":2}"),    /* duplicate member */
                EV("{\"a\\n\":1}"),         /* escape in a name */
                EV("{\"a\":\"\\u0041\"}"),  /* escape in a value */
                EV("{\"a\":\"\xc3\xa9\"}"), /* beyond ASCII */
                EV("{\"a\":\"\x7f\"}"),
                EV("{\"a\":\"x}"),
                EV("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,"
                   "\"k\":11,\"l\":12,\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17}"), /* 17 */
                /* two object params */
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"e\":{},\"f\":{}}}",
                /* an object param twice */
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"e\":{},\"e\":\"x\"}}",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"M\",\"params\":{\"e\":\"x\",\"e\":{}}}",
        };
#undef EV
        for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
                m.id = 77;
                m.n_members = 99;
                if (rpc_decode_flat(refused[k], strlen(refused[k]), &m))
                        fail_msg("accepted: %s", refused[k]);
                assert_int_equal(m.id, 77); /* untouched */
                assert_int_equal(m.n_members, 99);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode_request),
                cmocka_unit_test(test_decode_not_nul_terminated),
                cmocka_unit_test(test_decode_notification),
                cmocka_unit_test(test_decode_response),
                cmocka_unit_test(test_decode_parse_errors),
                cmocka_unit_test(test_decode_invalid_requests),
                cmocka_unit_test(test_decode_without_error_object),
                cmocka_unit_test(test_decode_out_of_memory),
                cmocka_unit_test(test_line_is_blank),
                cmocka_unit_test(test_code_for_status),
                cmocka_unit_test(test_encode_result),
                cmocka_unit_test(test_encode_error),
                cmocka_unit_test(test_encode_request_and_notification),
                cmocka_unit_test(test_encode_out_of_memory),
                cmocka_unit_test(test_params_check),
                cmocka_unit_test(test_decode_flat),
                cmocka_unit_test(test_decode_flat_object),
        };
        return cmocka_run_group_tests(tests, setup_hooks, NULL);
}
