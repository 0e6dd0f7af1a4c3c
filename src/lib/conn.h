/* The state of one client connection, and its message loop.
 *
 * The connection is a non-blocking socket with an input buffer (bytes read,
 * split into lines as they complete) and an output buffer (requests and
 * answers to the server's requests, sent as the socket takes them). Each
 * request the application sends has a PendingCall in a list in the order
 * they were sent, which is also the order a server answers in, so finding
 * one is O(1) in practice.
 *
 * Everything the server sends unasked goes through one queue, in arrival
 * order: notifications (Indicate, SetStatus, EventsDropped) for the sinks,
 * and the server's own requests (Ping). Only lwmi_dispatch() empties it,
 * calling the sinks' callbacks, so no callback ever runs inside a
 * synchronous call. A server request is answered when the queue reaches it,
 * that is after every callback for what came before it has returned; one
 * that finds the queue empty while no callback runs is answered at once
 * (the application is then demonstrably inside a call of its own). This is
 * what makes a hung application look hung to the server.
 *
 * Asynchronous calls (registrations) are AsyncCalls in an id map and on two
 * lists, the connection's (in registration order) and their sink's: a
 * notification finds its call in O(1), cancelling a sink costs O(its
 * calls). The call is entered as soon as the response that names it is
 * read, so the notifications that follow it in the same read find it. A
 * call leaves the map when its final SetStatus is read (delivery looks the
 * sink up again by id: the application may free a sink at any time), when
 * its sink is freed, or, once the connection is lost, when its local
 * WBEM_E_TRANSPORT_FAILURE status is delivered. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "idmap.h"
#include "iobuf.h"
#include "lwmi/lwmi.h"

#define CONN_DEFAULT_MAX_MESSAGE ((size_t)64 << 20)
#define CONN_DEFAULT_MAX_QUEUED ((size_t)64 << 20)

typedef struct AsyncCall AsyncCall;
typedef struct TlsConn TlsConn;

typedef struct PendingCall PendingCall;
struct PendingCall {
        uint64_t id;
        bool done;        /* response (or failure) recorded */
        bool abandoned;   /* the caller stopped waiting: drop the response */
        json_t *response; /* the whole response message, once done */
        /* For ExecQueryAsync / ExecNotificationQueryAsync: the sink the
         * call goes to (NULL once the sink is freed) and the call's entry,
         * allocated with the request so that entering it cannot fail.
         * `registered` is set once it is entered; call_id then names it. */
        lwmi_sink *sink;
        AsyncCall *reg;
        bool registered;
        uint64_t call_id;
        PendingCall *prev, *next;
};

struct AsyncCall {
        IdMapNode node;    /* key: the server's call id */
        lwmi_sink *sink;   /* NULL: an orphan, whose caller gave up waiting */
        bool id_is_string; /* the server named it with a string */
        AsyncCall *conn_prev, *conn_next;
        AsyncCall *sink_prev, *sink_next;
};

struct lwmi_sink {
        IdMapNode node;  /* key: the sink id, unique in the connection */
        lwmi_conn *conn; /* NULL once the connection is closed */
        lwmi_sink_ops ops;
        void *userdata;
        AsyncCall *calls_head, *calls_tail;
        size_t n_calls;
        lwmi_sink *prev, *next;
};

typedef enum NoteKind {
        NOTE_INDICATE,
        NOTE_SET_STATUS,
        NOTE_EVENTS_DROPPED,
        NOTE_REQUEST, /* a request from the server, answered when reached */
} NoteKind;

typedef struct Notification Notification;
struct Notification {
        NoteKind kind;
        uint64_t sink;
        uint64_t call;
        /* Indicate: a = seq; EventsDropped: a, b, c = first, last, count. */
        uint64_t a, b, c;
        json_t *message; /* the whole message; the rest is borrowed from it */
        size_t bytes;    /* counted against max_queued */
        Notification *next;
};

struct lwmi_conn {
        int fd;
        /* tls:HOST:PORT (tlsconn.h): reads and writes go through it; NULL
         * for plain sockets */
        TlsConn *tls;
        bool tls_want_write; /* OpenSSL needs the socket writable to go on */
        unsigned timeout_ms;
        size_t max_message;

        /* Set when the connection is unusable: the socket is shut down
         * (closed only by conn_free, so that the descriptor a poll loop
         * holds stays valid), and every later call fails with -ECONNRESET
         * and broken_error. */
        bool broken;
        int broken_r;
        lwmi_error broken_error;

        IoBuf in;
        IoBuf out;
        size_t scanned; /* bytes of `in` already searched for '\n' */

        uint64_t next_id;
        PendingCall *pending_head, *pending_tail;
        size_t n_pending;

        Notification *notify_head, *notify_tail;
        size_t n_notifications;
        size_t queued_bytes;
        size_t max_queued;

        /* Sinks, in creation order, and by id. */
        uint64_t next_sink_id;
        lwmi_sink *sinks_head, *sinks_tail;
        IdMap sinks;
        /* Open asynchronous calls, in registration order, and by id. */
        AsyncCall *calls_head, *calls_tail;
        IdMap calls;

        bool dispatching;     /* inside lwmi_dispatch() */
        bool in_callback;     /* inside a sink's callback */
        bool stop;            /* lwmi_stop() was called */
        bool close_requested; /* lwmi_close() from a callback */

        /* What the server said in answer to Hello. */
        char *server_name;
        char *server_version;
        char *session_id;
        unsigned keepalive_ms;
};

/* A connection on an already connected socket (taken over: closed by
 * conn_free). No Hello is sent: lwmi_connect_ex() does that. */
int conn_new(int fd, lwmi_conn **ret, lwmi_error *err);
lwmi_conn *conn_free(lwmi_conn *c);

/* Queue a request: `params` is stolen (NULL sends none). *ret (may be NULL)
 * receives the call's entry, owned by the connection until
 * conn_pending_release(). Nothing is written until the loop runs. On a
 * broken connection: -ECONNRESET. */
int conn_send_request(lwmi_conn *c, const char *method, json_t *params, PendingCall **ret,
                      lwmi_error *err);

/* Run the loop until p is done or the deadline (CLOCK_MONOTONIC, in ms; 0:
 * none) passes. Returns 0 when p is done, -ETIMEDOUT, or the error that
 * broke the connection. */
int conn_wait(lwmi_conn *c, PendingCall *p, uint64_t deadline_ms, lwmi_error *err);

/* One turn of the loop: wait up to timeout_ms (-1: for ever) for the socket,
 * then send what it takes and handle what it brought. Returns 0, or the
 * error that broke the connection. */
int conn_run_once(lwmi_conn *c, int timeout_ms, lwmi_error *err);

/* Without waiting: send what the socket takes, then read and handle what
 * is there, at most about max_bytes. Returns 0 or the error that broke the
 * connection. */
int conn_pump(lwmi_conn *c, size_t max_bytes);

/* Send what the socket takes of the output now. */
int conn_flush(lwmi_conn *c);

/* Forget p. A call that is not done yet is marked abandoned instead and
 * freed when its response arrives (or with the connection). */
void conn_pending_release(lwmi_conn *c, PendingCall *p);

/* Take the oldest queued entry (NULL when none); the caller frees it with
 * conn_notification_free(). */
Notification *conn_pop_notification(lwmi_conn *c);
void conn_notification_free(Notification *n);

/* Queue the answer to a server request (`message` is the request). */
int conn_answer_request(lwmi_conn *c, const json_t *message);

/* Enter / remove asynchronous calls and sinks (async.c uses them). */
void conn_call_unlink(lwmi_conn *c, AsyncCall *a);
AsyncCall *conn_find_call(lwmi_conn *c, uint64_t id);
lwmi_sink *conn_find_sink(lwmi_conn *c, uint64_t id);

/* Mark the connection lost: shut the socket down and record the reason.
 * Queued notifications stay for lwmi_dispatch(), which then tells every
 * open call. Returns r. */
int conn_break(lwmi_conn *c, int r, const lwmi_error *why);

/* The error for a call on a broken connection: -ECONNRESET, with the
 * message of what broke it. */
int conn_broken_error(lwmi_conn *c, lwmi_error *err);

/* Feed bytes as if read from the socket (tests, and the loop itself). */
int conn_feed(lwmi_conn *c, const void *data, size_t n, lwmi_error *err);

/* A call id or sink id as the server writes it: a non-negative integer or
 * a string of decimal digits. */
int conn_parse_id(const json_t *v, uint64_t *ret);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t conn_now_ms(void);
