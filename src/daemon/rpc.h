/* JSON-RPC 2.0 messages, one per line: the decoder that turns a line into
 * a request, a notification or a response (or into the error object to send
 * back), the encoders for what the server sends, and the check of a
 * method's named params against a declared list.
 *
 * This layer knows nothing about sockets or sessions, so the unit tests and
 * the fuzz target drive it directly. Every error it produces carries both a
 * JSON-RPC code and a WBEM status (error.h), as docs/protocol.md specifies:
 * the error object's `data` has `status` and, for query errors, `line` and
 * `column`. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "objjson.h"
#include "strbuf.h"

/* JSON-RPC 2.0 error codes, and lwmi's one server-defined code. */
enum {
        RPC_PARSE_ERROR = -32700,
        RPC_INVALID_REQUEST = -32600,
        RPC_METHOD_NOT_FOUND = -32601,
        RPC_INVALID_PARAMS = -32602,
        RPC_INTERNAL_ERROR = -32603,
        RPC_WBEM_ERROR = -32000, /* any other WBEM status: see data.status */
};

typedef enum RpcKind {
        RPC_KIND_REQUEST,      /* method and id: answered exactly once */
        RPC_KIND_NOTIFICATION, /* method, no id: never answered */
        RPC_KIND_RESPONSE,     /* id and result or error: answers a server request */
} RpcKind;

typedef struct RpcMessage {
        RpcKind kind;
        json_t *root;       /* the parsed line; owns everything below */
        json_t *id;         /* string, integer or null; NULL for a notification */
        const char *method; /* requests and notifications */
        json_t *params;     /* object or array; NULL when absent */
        json_t *result;     /* responses: exactly one of result and error */
        json_t *error;      /* responses: object with integer code, string message */
} RpcMessage;

/* An error to answer: the JSON-RPC code, the id to answer with (NULL means
 * null, e.g. when the id itself could not be read) and the WBEM status and
 * message in `error`. */
typedef struct RpcError {
        int code;
        json_t *id; /* a reference owned by the RpcError, or NULL */
        Error error;
} RpcError;

/* Decode one line (without its '\n'; need not be NUL-terminated). Returns 0
 * with *ret filled (release it with rpc_message_done()), -ENOMEM, or a
 * positive WbemStatus with *err filled with the error object to answer:
 * RPC_PARSE_ERROR for text that is not one JSON value (including invalid
 * UTF-8, duplicate keys and a NUL), RPC_INVALID_REQUEST for a value that is
 * not a valid JSON-RPC 2.0 message (a batch array among them). *ret is
 * untouched on failure; release *err with rpc_error_done(). */
int rpc_decode(const char *line, size_t len, RpcMessage *ret, RpcError *err);
void rpc_message_done(RpcMessage *m);
void rpc_error_done(RpcError *e);

/* The common request in its simplest form, read without building a JSON
 * tree (the hot path of pipelined subscriptions and of PublishEvent): an
 * object with exactly "jsonrpc": "2.0", an integer "id" (0 to 2^53), a
 * "method" and a "params" object of at most RPC_FLAT_MAX members, every
 * one a string except at most one, which may be an object of at most
 * RPC_FLAT_MAX_MEMBERS scalar members (a string, an integer within 64
 * bits written without fraction or exponent, true, false or null);
 * strings (names too) with no escape, no control character and no byte
 * over 0x7E; no member twice in an object. Strings point into the line
 * (not NUL-terminated). Any other line, valid or not, gives false and is
 * left to rpc_decode(), which then answers it exactly as it would have
 * (*ret untouched). */
#define RPC_FLAT_MAX 4
#define RPC_FLAT_MAX_MEMBERS 16

typedef struct RpcFlatString {
        const char *s;
        size_t len;
} RpcFlatString;

typedef struct RpcFlat {
        uint64_t id;
        RpcFlatString method;
        /* values[k].s is NULL for the object param */
        RpcFlatString names[RPC_FLAT_MAX], values[RPC_FLAT_MAX];
        size_t n_params;
        /* The object param, if any: its name (.s NULL: none) and its
         * members in the order written. */
        RpcFlatString object;
        ObjJsonScalar members[RPC_FLAT_MAX_MEMBERS];
        size_t n_members;
} RpcFlat;

bool rpc_decode_flat(const char *line, size_t len, RpcFlat *ret);
/* The value of string param name, or NULL (absent, or the object). */
const RpcFlatString *rpc_flat_param(const RpcFlat *m, const char *name);
/* Whether the object param is the one named name. */
bool rpc_flat_object_is(const RpcFlat *m, const char *name);

/* True for a line of only JSON white space: such lines are skipped. */
bool rpc_line_is_blank(const char *line, size_t len);

/* The JSON-RPC code for a WBEM status a method failed with:
 * WBEM_E_INVALID_PARAMETER gives RPC_INVALID_PARAMS, WBEM_E_INVALID_METHOD
 * RPC_METHOD_NOT_FOUND, WBEM_E_OUT_OF_MEMORY and WBEM_E_FAILED
 * RPC_INTERNAL_ERROR, anything else RPC_WBEM_ERROR. */
int rpc_code_for_status(int status);

/* Encoders: each returns 0 with *ret a NUL-terminated line ending in '\n'
 * (length in *ret_len, not counting the NUL; free with mem_free()), or
 * -ENOMEM. `id` NULL means null; references passed in are borrowed. */
int rpc_encode_result(json_t *id, json_t *result, char **ret, size_t *ret_len);
/* A result written piece by piece (a large query's objects, as JSON text,
 * without building one tree of them all): _begin appends
 * `{"jsonrpc":"2.0","id":ID,"result":` to b, the caller appends the result
 * value's compact JSON text, and _end appends `}\n`. The line is
 * byte-for-byte what rpc_encode_result() makes of the same result.
 * Out-of-memory marks b failed (strbuf_failed). */
void rpc_encode_result_begin(json_t *id, StrBuf *b);
void rpc_encode_result_end(StrBuf *b);
/* A notification written piece by piece, as a result above: _begin
 * appends `{"jsonrpc":"2.0","method":"<method>","params":` (method is
 * written as given: a name of ours, with nothing to escape), the caller
 * appends the params object's text, and rpc_encode_result_end() closes the
 * line. The same bytes rpc_encode_notification() makes of the params. */
void rpc_encode_notification_begin(const char *method, StrBuf *b);
/* The error object {code, message, data: {status[, line, column]}}; line
 * and column only when e->line is not 0. Messages are truncated to valid
 * UTF-8 if they were cut inside a character. */
int rpc_encode_error(json_t *id, int code, const Error *e, char **ret, size_t *ret_len);
/* A request from the server (string ids, e.g. "s:17"); params NULL: none. */
int rpc_encode_request(const char *id, const char *method, json_t *params, char **ret,
                       size_t *ret_len);
int rpc_encode_notification(const char *method, json_t *params, char **ret, size_t *ret_len);

/* Named params a method accepts; a list ends with a NULL name. */
typedef enum RpcParamType {
        RPC_PARAM_STRING,  /* max: longest accepted length in bytes (0: no limit) */
        RPC_PARAM_INTEGER, /* an integer within [min, max] */
        RPC_PARAM_BOOLEAN,
        RPC_PARAM_OBJECT,
} RpcParamType;

typedef struct RpcParam {
        const char *name;
        RpcParamType type;
        bool required;
        int64_t min, max;
} RpcParam;

/* Check params (an object, NULL for none) against spec: an array of params,
 * a missing required param, an unknown param, a wrong type or a value out
 * of range fail with WBEM_E_INVALID_PARAMETER and a message naming the
 * param. */
int rpc_params_check(const json_t *params, const RpcParam *spec, Error *err);
