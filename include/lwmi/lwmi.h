/* liblwmi: the client library of lwmi, management instrumentation for Linux
 * in the manner of WMI.
 *
 * A connection (lwmi_conn) talks to the daemon lwmid over a stream socket
 * (Unix, or TCP to a daemon started with --listen), one JSON-RPC 2.0
 * message per line. Objects (instances and classes) are
 * jansson values in the form documented in lwmi's docs/protocol.md:
 * instances carry WMI's system properties (__CLASS, __PATH, ...) beside
 * their own; 64-bit integers travel as decimal strings. docs/liblwmi.md is
 * the guide; this header is the reference.
 *
 * Conventions:
 * - Every function that can fail returns 0 on success (or a documented
 *   positive value) or a negative errno and, when `err` is not NULL, fills
 *   *err with a code, the WBEM status name and a message. Results come back
 *   through `ret_` pointers that are left untouched on failure.
 * - The library never logs, never aborts (out of memory is -ENOMEM), starts
 *   no thread and keeps no global state: one connection may be used by one
 *   thread at a time; different connections are independent.
 * - Synchronous calls (lwmi_call() and the typed helpers) send a request and
 *   wait for its response. Asynchronous calls deliver their results to a
 *   sink's callbacks, which run only inside lwmi_dispatch() (or lwmi_run()):
 *   never inside a synchronous call, never from another thread. What
 *   arrives during a synchronous call is queued for the next dispatch.
 * - The server pings a connection that has been silent for its keepalive
 *   (lwmi_keepalive_ms(), 10 s by default) and closes it when no answer
 *   comes within half that again. The library answers only from inside a
 *   call of the application's, and only after every callback for what the
 *   server sent before the Ping has returned, so that a hung application
 *   looks hung. An application with registrations must therefore dispatch
 *   (lwmi_run(), or lwmi_dispatch() from its own poll loop); one that only
 *   makes synchronous calls and stays idle for longer than the keepalive
 *   must make a call now and then (lwmi_ping() will do) or expect the next
 *   call to find the connection lost.
 * - Strings returned to the caller are freed with free(); jansson values
 *   with json_decref(). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
        LWMI_ERROR_NOT_SUPPORTED = -33006,    /* something this version cannot do */
        LWMI_ERROR_TIMEOUT = -33007,          /* no response within the timeout */
        LWMI_ERROR_QUEUE_OVERFLOW = -33008,   /* too much waiting for lwmi_dispatch() */
        LWMI_ERROR_BUSY = -33009,             /* not allowed from inside a callback */
        LWMI_ERROR_INTERRUPTED = -33010,      /* a signal interrupted lwmi_run() */
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

/* The address used when none is given, as a new string: $LWMI_SOCKET if
 * set (any address lwmi_connect() takes, tcp:HOST:PORT included), else
 * /run/lwmi/lwmid.sock for root and $XDG_RUNTIME_DIR/lwmi/lwmid.sock for
 * others. Returns 0, -ENOMEM, or
 * -ENXIO when neither LWMI_SOCKET nor XDG_RUNTIME_DIR is set for a non-root
 * user. */
LWMI_EXPORT int lwmi_default_address(char **ret, lwmi_error *err);

/* Connect to lwmid and say Hello.
 *
 * address: NULL for lwmi_default_address(); "unix:PATH" or a plain PATH for
 * a Unix socket; "tcp:HOST:PORT" for TCP, HOST a name, an IPv4 address or
 * an IPv6 one in brackets ("tcp:[::1]:7000"); "tls:HOST:PORT" for TLS,
 * set up from the environment as lwmi_connect_tls() says. A name is looked up with
 * getaddrinfo() (which may block, whatever the timeout) and its addresses
 * are tried in turn. TCP connections get TCP_NODELAY. Plain TCP carries no
 * credentials: lwmid accepts it only on loopback (or in test setups) and
 * knows such a peer by its address alone.
 *
 * Errors, all with LWMI_ERROR_CONNECT and a message naming the address
 * unless said otherwise: -EINVAL for a malformed address
 * (LWMI_ERROR_INVALID_ARGUMENT); the connect() errno (-ENOENT,
 * -ECONNREFUSED, -EACCES, -ENETUNREACH, ...); -ENXIO when the host is not
 * found, -EAGAIN when it cannot be looked up now; -ETIMEDOUT when a TCP
 * connection is not made within lwmi_connect_ex()'s timeout; then
 * -ECONNRESET, -EPROTO, -ETIMEDOUT or -EREMOTEIO (the server refused the
 * Hello) as for lwmi_call(). */
LWMI_EXPORT int lwmi_connect(const char *address, lwmi_conn **ret, lwmi_error *err);

/* lwmi_connect() with choices:
 * client: the name sent in Hello (NULL: the program's name; lwmid takes
 *   up to 256 bytes);
 * keepalive_ms: asked of the server (0: its default; it may clamp);
 * timeout_ms: how long making a TCP connection may take, and then how long
 * any synchronous call, the Hello included, may wait for its response (0:
 * for ever, or the kernel's own limit for a TCP connection); see
 * lwmi_set_timeout(). */
LWMI_EXPORT int lwmi_connect_ex(const char *address, const char *client, unsigned keepalive_ms,
                                unsigned timeout_ms, lwmi_conn **ret, lwmi_error *err);

/* How to reach a TLS listener ("tls:HOST:PORT"); zero-initialise it and
 * set what applies. Files are PEM. */
typedef struct lwmi_tls_options {
        /* The CA that signed the server's certificate; NULL: the system's
         * trusted CAs. The server's certificate must also name HOST (its
         * subjectAltName: a DNS name, or the IP address written). */
        const char *ca_file;
        /* A client certificate and its key: the server then knows the
         * client as the local user its subject CN names. NULL: none. */
        const char *cert_file;
        const char *key_file;
        /* A file holding a token (lwmi token add) sent in Hello instead
         * of a certificate; the first line counts, white space around it
         * is ignored. NULL: $LWMI_TOKEN, if set and no certificate is
         * given. Never taken from a command line. */
        const char *token_file;
} lwmi_tls_options;

/* lwmi_connect_ex() for a "tls:HOST:PORT" address (any other address is
 * refused with -EINVAL when tls sets anything): a TCP connection, a TLS
 * handshake (TLS 1.2 or later) that verifies the server's certificate
 * against ca_file and HOST, then Hello, with the token if there is one.
 * tls NULL takes every choice from the environment: LWMI_TLS_CA,
 * LWMI_TLS_CERT, LWMI_TLS_KEY, LWMI_TOKEN_FILE, LWMI_TOKEN (lwmi_connect()
 * and lwmi_connect_ex() do the same for a tls: address). The handshake
 * and the Hello together take at most timeout_ms (0: no limit of ours).
 *
 * Errors, besides lwmi_connect_ex()'s: -EPROTO (LWMI_ERROR_CONNECT) when
 * the handshake fails, the message saying why ("server certificate not
 * trusted: certificate has expired", "the server refused our
 * certificate: ..."); -EINVAL (LWMI_ERROR_INVALID_ARGUMENT) for a file
 * that cannot be read or loaded, or both a certificate and a token file;
 * -EREMOTEIO with WBEM_E_ACCESS_DENIED when the server refused the
 * token. */
LWMI_EXPORT int lwmi_connect_tls(const char *address, const lwmi_tls_options *tls,
                                 const char *client, unsigned keepalive_ms, unsigned timeout_ms,
                                 lwmi_conn **ret, lwmi_error *err);

/* Close the connection and free it. Accepts NULL; returns NULL.
 *
 * No callback runs: calls still open get no status. Sinks of the
 * connection stay valid (they are the application's) but are detached:
 * free them with lwmi_sink_free(), before or after. From inside a callback
 * the connection is freed when the dispatch returns (it then returns
 * -ECANCELED, and the connection must not be used again). */
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

/* Whether the connection has been lost (or closed after a protocol error
 * or a notification queue overflow); every later call then fails at once
 * with -ECONNRESET and the message of what broke it. */
LWMI_EXPORT bool lwmi_is_broken(const lwmi_conn *conn);

/* Call `method` with `params` and wait for its response.
 *
 * params: a JSON object or NULL; the reference is stolen, even on failure.
 * ret_result: receives a new reference to the result (may be NULL to drop it).
 *
 * Errors: -EREMOTEIO when the server answered with an error (code, status,
 * message, line and column from its error object); -ECONNRESET when the
 * connection is or gets lost (status WBEM_E_TRANSPORT_FAILURE); -EPROTO when
 * the server sent something that is not protocol, -ENOBUFS when the
 * notification queue overflowed during the call (both close the
 * connection); -ETIMEDOUT; -ENOMEM; -EINVAL for a bad argument.
 *
 * Synchronous calls may be made from inside a sink's callback; what
 * arrives meanwhile is queued, as always. */
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

/* ---- Asynchronous calls and events -------------------------------------
 *
 * A sink receives the results of asynchronous calls through callbacks, in
 * the shape of WMI's IWbemObjectSink. Any number of calls may share one
 * sink: each callback names the call. Callbacks run only inside
 * lwmi_dispatch() / lwmi_run(), one at a time, in the order the server
 * sent what they report. From a callback the application may make
 * synchronous calls, register or cancel calls, free sinks (the callback's
 * own included), call lwmi_stop() and even lwmi_close(); it may not call
 * lwmi_dispatch() or lwmi_run() (-EBUSY).
 *
 * Per call, the callbacks come in this order: indicate (zero or more
 * times), then set_status exactly once, after which the call is over and
 * its id unknown. set_status comes from the server (WBEM_S_NO_ERROR at the
 * end of an ExecQueryAsync, WBEM_E_CALL_CANCELLED after a cancel, another
 * status when the server ends the call) or, when the connection is lost,
 * from the library: "WBEM_E_TRANSPORT_FAILURE" with the reason as message,
 * once for every call still open, after the callbacks for everything read
 * before the loss. A call whose sink is freed gets no more callbacks. */

typedef struct lwmi_sink lwmi_sink;

typedef struct lwmi_sink_ops {
        /* Results or events of call `call_id`: `objects` is a JSON array of
         * one or more objects (the server may batch), borrowed: take a
         * reference to keep it. `seq` numbers the sink's Indicate messages
         * from 1; a gap is always reported by events_dropped. */
        void (*indicate)(lwmi_sink *sink, uint64_t call_id, uint64_t seq, json_t *objects,
                         void *userdata);
        /* The end of call `call_id`: `status` is a WBEM status name
         * ("WBEM_S_NO_ERROR", "WBEM_E_CALL_CANCELLED",
         * "WBEM_E_TRANSPORT_FAILURE", ...), `message` says why ("" when the
         * server said nothing). */
        void (*set_status)(lwmi_sink *sink, uint64_t call_id, const char *status,
                           const char *message, void *userdata);
        /* The server dropped `count` Indicate messages of this sink, numbered
         * first_seq to last_seq, because the connection fell behind (its
         * backlog was full); the calls themselves go on. */
        void (*events_dropped)(lwmi_sink *sink, uint64_t first_seq, uint64_t last_seq,
                               uint64_t count, void *userdata);
} lwmi_sink_ops;

/* A new sink on `conn`. `ops` is copied; any callback may be NULL (what it
 * would report is then dropped). The library chooses the sink's id, unique
 * in the connection. Returns NULL with errno ENOMEM, or EINVAL for a NULL
 * conn or ops. */
LWMI_EXPORT lwmi_sink *lwmi_sink_new(lwmi_conn *conn, const lwmi_sink_ops *ops, void *userdata);

/* Free a sink. Its open calls are cancelled at the server without waiting
 * for the answer (no callback runs for them any more). Works after
 * lwmi_close() of its connection too. Accepts NULL; returns NULL. */
LWMI_EXPORT lwmi_sink *lwmi_sink_free(lwmi_sink *sink);

/* The sink's id, as sent to the server (for logs; the server's
 * LWMI_Registration instances show it). */
LWMI_EXPORT uint64_t lwmi_sink_id(const lwmi_sink *sink);

/* How many calls of the sink are open: registered, and their set_status
 * not yet read from the server. */
LWMI_EXPORT size_t lwmi_sink_call_count(const lwmi_sink *sink);

/* Register an event query (`SELECT * FROM __InstanceCreationEvent WITHIN 1
 * WHERE TargetInstance ISA 'Linux_Process'`, or an __ExtrinsicEvent
 * subclass) on `sink`: every matching event comes to its indicate callback
 * until the call is cancelled. This waits for the server's answer (as a
 * synchronous call does); *ret_call (may be NULL) receives the call's id.
 *
 * Errors as for lwmi_call(): -EREMOTEIO for a query the server refuses
 * (WBEM_E_INVALID_QUERY with a position, WBEM_E_INVALID_CLASS, ...);
 * -EINVAL for a sink of another connection. */
LWMI_EXPORT int lwmi_exec_notification_query_async(lwmi_conn *conn, lwmi_sink *sink, const char *ns,
                                                   const char *wql, uint64_t *ret_call,
                                                   lwmi_error *err);

/* Run a data query whose results stream to `sink`: indicate with batches
 * of instances, then set_status "WBEM_S_NO_ERROR" (or an error status).
 * Otherwise as lwmi_exec_notification_query_async(). */
LWMI_EXPORT int lwmi_exec_query_async(lwmi_conn *conn, lwmi_sink *sink, const char *ns,
                                      const char *wql, uint64_t *ret_call, lwmi_error *err);

/* Cancel one call. The server ends it with set_status
 * "WBEM_E_CALL_CANCELLED", delivered by the next dispatch. Returns 0, or
 * -ENOENT (WBEM_E_NOT_FOUND) when the call is not open any more (it ended
 * on its own, or never existed), or an error as for lwmi_call(). */
LWMI_EXPORT int lwmi_cancel_call(lwmi_conn *conn, uint64_t call_id, lwmi_error *err);

/* Cancel every call of `sink` (each gets set_status
 * "WBEM_E_CALL_CANCELLED" at the next dispatch); the sink stays usable.
 * *ret_cancelled (may be NULL) receives how many the server cancelled. */
LWMI_EXPORT int lwmi_cancel_sink(lwmi_conn *conn, lwmi_sink *sink, size_t *ret_cancelled,
                                 lwmi_error *err);

/* Publish an extrinsic event: `event` is an instance of a class derived
 * from __ExtrinsicEvent ({"__CLASS": "App_Alert", "Severity": 3}), borrowed.
 * *ret_delivered (may be NULL) receives the number of registrations, over
 * all sessions, it was delivered to. */
LWMI_EXPORT int lwmi_publish_event(lwmi_conn *conn, const char *ns, const json_t *event,
                                   size_t *ret_delivered, lwmi_error *err);

/* ---- Event loop integration --------------------------------------------
 *
 * For an application's own poll loop (poll, epoll, libevent, GLib, ...):
 *
 *     struct pollfd pfd = { lwmi_fd(c), lwmi_events(c) };
 *     poll(&pfd, 1, lwmi_poll_timeout(c));   (or the loop's own timeout,
 *                                              whichever is smaller)
 *     if (lwmi_dispatch(c, &err) < 0) ...    (the connection is gone)
 *
 * lwmi_events() and lwmi_poll_timeout() must be asked again before each
 * wait: after a synchronous call, notifications may be queued that the
 * socket no longer shows (lwmi_poll_timeout() is then 0). lwmi_run() does
 * all of this. */

/* The connection's socket. It stays open (and the same number) until
 * lwmi_close(), even once the connection is lost. */
LWMI_EXPORT int lwmi_fd(const lwmi_conn *conn);

/* The poll events to wait for: POLLIN, plus POLLOUT while output is
 * waiting for the socket to take it. */
LWMI_EXPORT int lwmi_events(const lwmi_conn *conn);

/* How long a poll may wait before lwmi_dispatch() must be called: 0 when
 * something is already queued (or the connection is lost and the
 * application has not been told yet), else -1 (as long as it likes). */
LWMI_EXPORT int lwmi_poll_timeout(const lwmi_conn *conn);

/* Without blocking: send pending output, read what the socket has (up to
 * about 1 MiB per call), then deliver what is queued, in arrival order:
 * sink callbacks, and answers to the server's Pings, each written only
 * after the callbacks for everything before it have returned. Entries
 * that arrive during this dispatch's callbacks (through synchronous calls
 * made from them) wait for the next dispatch, so one dispatch is bounded.
 *
 * Returns 0 when nothing is left queued; 1 when something is (lwmi_stop()
 * was called, or more arrived meanwhile): dispatch again without waiting;
 * -ECONNRESET once the connection is lost and every open call has had its
 * WBEM_E_TRANSPORT_FAILURE status (*err says why it was lost); -ECANCELED
 * when a callback closed the connection (it is freed now); -EBUSY when
 * called from a callback; -EINVAL for a NULL conn. */
LWMI_EXPORT int lwmi_dispatch(lwmi_conn *conn, lwmi_error *err);

/* Poll and dispatch until timeout_ms passes (-1: for ever; 0: one
 * non-blocking round), a callback calls lwmi_stop(), or the connection is
 * lost. Returns 0 at the timeout, 1 when stopped, -EINTR when a signal
 * interrupted the wait (check your flags and call again), or an error of
 * lwmi_dispatch(). */
LWMI_EXPORT int lwmi_run(lwmi_conn *conn, int timeout_ms, lwmi_error *err);

/* From a callback: make the current lwmi_dispatch() return after this
 * callback (what is still queued stays for the next one) and lwmi_run()
 * return 1. */
LWMI_EXPORT void lwmi_stop(lwmi_conn *conn);

/* The most notification text (bytes of the server's messages) that may
 * wait for lwmi_dispatch(); default 64 MiB, 0 restores it. Notifications
 * pile up when the application does not dispatch, or makes a long
 * synchronous call while events flow. Going over the limit is treated as
 * losing the connection: it is closed (the server then releases its
 * registrations), the call in progress, if any, fails with -ENOBUFS
 * (LWMI_ERROR_QUEUE_OVERFLOW), and every open call gets
 * WBEM_E_TRANSPORT_FAILURE with a message that names the limit. */
LWMI_EXPORT void lwmi_set_max_queued(lwmi_conn *conn, size_t bytes);

#ifdef __cplusplus
}
#endif
