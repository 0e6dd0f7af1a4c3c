/* liblwmi: the client library of lwmi, management instrumentation for Linux
 * in the manner of WMI.
 *
 * A connection (lwmi_conn) talks to the daemon lwmid over a stream socket,
 * one JSON-RPC 2.0 message per line. Objects (instances and classes) are
 * jansson values in the form documented in lwmi's docs/protocol.md:
 * instances carry WMI's system properties (__CLASS, __PATH, ...) beside
 * their own; 64-bit integers travel as decimal strings.
 *
 * Conventions:
 * - Every function that can fail returns 0 on success or a negative errno
 *   and, when `err` is not NULL, fills *err with a code, the WBEM status name
 *   and a message. Results come back through `ret_` pointers that are left
 *   untouched on failure.
 * - The library never logs, never aborts (out of memory is -ENOMEM), starts
 *   no thread and keeps no global state: one connection may be used by one
 *   thread at a time; different connections are independent.
 * - While a call waits for its response, the library answers the server's
 *   `Ping` requests (so a live application keeps its session) and keeps any
 *   notifications for the asynchronous API.
 * - The server pings a connection that has been silent for its keepalive
 *   (lwmi_keepalive_ms(), 10 s by default) and closes it when no answer
 *   comes within half that again. The answer is given only from inside a
 *   call into the library, so that a hung application looks hung: an
 *   application that keeps a connection idle for longer must make a call
 *   (lwmi_ping() will do) or expect the next call to find it lost.
 * - Strings returned to the caller are freed with free(); jansson values
 *   with json_decref(). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define LWMI_EXPORT __attribute__((visibility("default")))
#else
#define LWMI_EXPORT
#endif

typedef struct lwmi_conn lwmi_conn;

/* Codes of errors found by the library itself, in lwmi_error.code. They lie
 * outside the range that JSON-RPC reserves (-32768 .. -32000), so a code
 * tells at once whether the server answered (its JSON-RPC error code) or
 * the library gave up (one of these). */
enum {
        LWMI_ERROR_CONNECT = -33001,         /* could not reach the server */
        LWMI_ERROR_CONNECTION_LOST = -33002, /* closed or reset while in use */
        LWMI_ERROR_PROTOCOL = -33003,        /* the server sent something unusable */
        LWMI_ERROR_NO_MEMORY = -33004,
        LWMI_ERROR_INVALID_ARGUMENT = -33005, /* the caller passed something wrong */
        LWMI_ERROR_NOT_SUPPORTED = -33006,    /* e.g. a tcp: address, not there yet */
        LWMI_ERROR_TIMEOUT = -33007,          /* no response within the timeout */
};

typedef struct lwmi_error {
        /* 0 when no error; the JSON-RPC error code of the server's answer,
         * or one of LWMI_ERROR_*. */
        int code;
        /* WMI's name for the failure: "WBEM_E_NOT_FOUND",
         * "WBEM_E_INVALID_QUERY", "WBEM_E_TRANSPORT_FAILURE", ... */
        char status[64];
        /* For query errors: the 1-based position in the query text (0 when
         * there is none). */
        unsigned line;
        unsigned column;
        /* What went wrong, in one line (truncated if very long). */
        char message[1024];
} lwmi_error;

#define LWMI_ERROR_INIT \
        { 0 }

/* Reset *e to "no error". Accepts NULL. */
LWMI_EXPORT void lwmi_error_clear(lwmi_error *e);

/* The version of the library, "0.1.0". */
LWMI_EXPORT const char *lwmi_version(void);

/* The socket used when no address is given, as a new string: $LWMI_SOCKET
 * if set, else /run/lwmi/lwmid.sock for root and
 * $XDG_RUNTIME_DIR/lwmi/lwmid.sock for others. Returns 0, -ENOMEM, or
 * -ENXIO when neither LWMI_SOCKET nor XDG_RUNTIME_DIR is set for a non-root
 * user. */
LWMI_EXPORT int lwmi_default_address(char **ret, lwmi_error *err);

/* Connect to lwmid and say Hello.
 *
 * address: NULL for lwmi_default_address(); "unix:PATH" or a plain PATH for
 * a Unix socket; "tcp:HOST:PORT" is recognised but not supported yet
 * (-EOPNOTSUPP, LWMI_ERROR_NOT_SUPPORTED).
 *
 * Errors: -EINVAL for a malformed address; the connect() errno (-ENOENT,
 * -ECONNREFUSED, -EACCES, ...) with LWMI_ERROR_CONNECT and a message naming
 * the socket; -ECONNRESET, -EPROTO, -ETIMEDOUT or -EREMOTEIO (the server
 * refused the Hello) as for lwmi_call(). */
LWMI_EXPORT int lwmi_connect(const char *address, lwmi_conn **ret, lwmi_error *err);

/* lwmi_connect() with choices:
 * client: the name sent in Hello (NULL: the program's name; lwmid takes
 *   up to 256 bytes);
 * keepalive_ms: asked of the server (0: its default; it may clamp);
 * timeout_ms: how long any synchronous call, the Hello included, may wait
 * for its response (0: for ever); see lwmi_set_timeout(). */
LWMI_EXPORT int lwmi_connect_ex(const char *address, const char *client, unsigned keepalive_ms,
                                unsigned timeout_ms, lwmi_conn **ret, lwmi_error *err);

/* Close the connection and free it. Accepts NULL; returns NULL. */
LWMI_EXPORT lwmi_conn *lwmi_close(lwmi_conn *conn);

/* What the server said in its Hello answer (NULL / 0 if it did not say). */
LWMI_EXPORT const char *lwmi_server_name(const lwmi_conn *conn);
LWMI_EXPORT const char *lwmi_server_version(const lwmi_conn *conn);
LWMI_EXPORT const char *lwmi_session_id(const lwmi_conn *conn);
LWMI_EXPORT unsigned lwmi_keepalive_ms(const lwmi_conn *conn);

/* Time limit for each synchronous call; 0 waits for ever. A call that times
 * out fails with -ETIMEDOUT (LWMI_ERROR_TIMEOUT); the connection stays
 * usable and its late response is discarded when it comes. */
LWMI_EXPORT void lwmi_set_timeout(lwmi_conn *conn, unsigned timeout_ms);

/* Largest message accepted from the server, in bytes (default 64 MiB). A
 * longer line is a protocol error and closes the connection. */
LWMI_EXPORT void lwmi_set_max_message(lwmi_conn *conn, size_t bytes);

/* Whether the connection has been lost (or closed after a protocol error);
 * every later call then fails at once with the error that broke it. */
LWMI_EXPORT bool lwmi_is_broken(const lwmi_conn *conn);

/* Call `method` with `params` and wait for its response.
 *
 * params: a JSON object or NULL; the reference is stolen, even on failure.
 * ret_result: receives a new reference to the result (may be NULL to drop it).
 *
 * Errors: -EREMOTEIO when the server answered with an error (code, status,
 * message, line and column from its error object); -ECONNRESET when the
 * connection is or gets lost (status WBEM_E_TRANSPORT_FAILURE); -EPROTO when
 * the server sent something that is not protocol (the connection is closed);
 * -ETIMEDOUT; -ENOMEM; -EINVAL for a bad argument. */
LWMI_EXPORT int lwmi_call(lwmi_conn *conn, const char *method, json_t *params, json_t **ret_result,
                          lwmi_error *err);

/* Typed helpers. `ns` is a namespace such as "root/cimv2"; objects passed in
 * are borrowed (not stolen); objects returned are new references. Errors as
 * for lwmi_call(). */

/* A round trip that does nothing. */
LWMI_EXPORT int lwmi_ping(lwmi_conn *conn, lwmi_error *err);

/* Run a data query; *ret_objects is a JSON array of instances. */
LWMI_EXPORT int lwmi_exec_query(lwmi_conn *conn, const char *ns, const char *wql,
                                json_t **ret_objects, lwmi_error *err);

/* Fetch one instance (path with keys: "Linux_Process.ProcessId=1") or one
 * class (a class name). */
LWMI_EXPORT int lwmi_get_object(lwmi_conn *conn, const char *ns, const char *path,
                                json_t **ret_object, lwmi_error *err);

/* Create or replace an instance; *ret_path (may be NULL) receives its
 * relative path as the server reports it, or NULL if it reports none. */
LWMI_EXPORT int lwmi_put_instance(lwmi_conn *conn, const char *ns, const json_t *instance,
                                  char **ret_path, lwmi_error *err);
LWMI_EXPORT int lwmi_delete_instance(lwmi_conn *conn, const char *ns, const char *path,
                                     lwmi_error *err);

/* Create or replace a class definition ({"__CLASS": ..., "__SUPERCLASS": ...,
 * "properties": {...}}). */
LWMI_EXPORT int lwmi_put_class(lwmi_conn *conn, const char *ns, const json_t *cls, lwmi_error *err);
LWMI_EXPORT int lwmi_delete_class(lwmi_conn *conn, const char *ns, const char *name,
                                  lwmi_error *err);

/* Classes derived from `superclass` (NULL: from the root), only the direct
 * children unless `deep`; *ret_classes is a JSON array of class objects. */
LWMI_EXPORT int lwmi_enum_classes(lwmi_conn *conn, const char *ns, const char *superclass,
                                  bool deep, json_t **ret_classes, lwmi_error *err);

/* Instances of `cls`, and of its subclasses when `deep`; *ret_instances is a
 * JSON array. */
LWMI_EXPORT int lwmi_enum_instances(lwmi_conn *conn, const char *ns, const char *cls, bool deep,
                                    json_t **ret_instances, lwmi_error *err);

#ifdef __cplusplus
}
#endif
