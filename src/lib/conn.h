/* The state of one client connection, and its message loop.
 *
 * The connection is a non-blocking socket with an input buffer (bytes read,
 * split into lines as they complete) and an output buffer (requests and
 * answers to the server's Ping, sent as the socket takes them). Each request
 * the application sends has a PendingCall in a table keyed by its id: the
 * response fills it in. Calls are kept in the order they were sent, which is
 * also the order a server answers in, so finding one is O(1) in practice.
 *
 * Everything else the server sends is handled as it is read: a `Ping`
 * request gets its answer queued; notifications (Indicate, SetStatus,
 * EventsDropped) are queued for the application in arrival order.
 *
 * The synchronous calls run the loop (conn_run_once) until their own entry
 * completes; the asynchronous API of the next step will run the same loop
 * from lwmi_dispatch() and add a sink and callbacks to PendingCall. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "iobuf.h"
#include "lwmi/lwmi.h"

#define CONN_DEFAULT_MAX_MESSAGE ((size_t)64 << 20)

typedef struct PendingCall PendingCall;
struct PendingCall {
        uint64_t id;
        bool done;        /* response (or failure) recorded */
        bool abandoned;   /* the caller stopped waiting: drop the response */
        json_t *response; /* the whole response message, once done */
        PendingCall *prev, *next;
};

typedef struct Notification Notification;
struct Notification {
        json_t *message;
        Notification *next;
};

struct lwmi_conn {
        int fd;
        unsigned timeout_ms;
        size_t max_message;

        /* Set when the connection is unusable; every later call fails
         * with broken_r and broken_error. */
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
 * conn_pending_release(). Nothing is written until the loop runs. */
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

/* Forget p. A call that is not done yet is marked abandoned instead and
 * freed when its response arrives (or with the connection). */
void conn_pending_release(lwmi_conn *c, PendingCall *p);

/* Take the oldest queued notification (NULL when none); the caller owns
 * the reference. */
json_t *conn_pop_notification(lwmi_conn *c);

/* Mark the connection lost: close the socket, record the reason, and fail
 * every open call. Returns r. */
int conn_break(lwmi_conn *c, int r, const lwmi_error *why);

/* Feed bytes as if read from the socket (tests, and the loop itself). */
int conn_feed(lwmi_conn *c, const void *data, size_t n, lwmi_error *err);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t conn_now_ms(void);
