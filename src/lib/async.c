/* Asynchronous calls and the event loop: sinks (WMI's IWbemObjectSink),
 * registrations, cancelling, publishing, and lwmi_dispatch(), the one
 * place where sink callbacks run and where answers to the server's Pings
 * that had to wait for them are written.
 *
 * The connection (conn.c) reads and checks what the server sends and keeps
 * the queue; this file empties it. Nothing here blocks except lwmi_run()
 * and the calls that wait for their response, as every synchronous call
 * does. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "call.h"
#include "cleanup.h"
#include "conn.h"
#include "tlsconn.h"
#include "liberr.h"
#include "mem.h"

/* How much one lwmi_dispatch() reads before it delivers: enough to batch,
 * small enough that one dispatch never takes long. */
#define DISPATCH_READ_MAX ((size_t)1 << 20)

/* Sinks. */

LWMI_EXPORT lwmi_sink *lwmi_sink_new(lwmi_conn *conn, const lwmi_sink_ops *ops, void *userdata) {
        if (!conn || !ops) {
                errno = EINVAL;
                return NULL;
        }
        lwmi_sink *s = mem_calloc(1, sizeof(*s));
        if (!s) {
                errno = ENOMEM;
                return NULL;
        }
        s->conn = conn;
        s->ops = *ops;
        s->userdata = userdata;
        s->node.key = conn->next_sink_id++;
        idmap_put(&conn->sinks, &s->node);
        s->prev = conn->sinks_tail;
        if (conn->sinks_tail)
                conn->sinks_tail->next = s;
        else
                conn->sinks_head = s;
        conn->sinks_tail = s;
        return s;
}

/* The sink's id as the protocol carries it: a client-chosen string. */
static json_t *sink_id_json(const lwmi_sink *s) {
        char text[24];
        snprintf(text, sizeof(text), "%" PRIu64, s->node.key);
        return json_string(text);
}

LWMI_EXPORT lwmi_sink *lwmi_sink_free(lwmi_sink *s) {
        if (!s)
                return NULL;
        lwmi_conn *c = s->conn;
        if (c) {
                /* Tell the server without waiting: freeing must not block,
                 * and the answer changes nothing here. If even the request
                 * cannot be queued, the calls' notifications are dropped
                 * as those of unknown calls. */
                if (s->n_calls > 0 && !c->broken && !c->close_requested) {
                        json_t *params = json_object();
                        PendingCall *p;
                        if (params && json_object_set_new(params, "sink", sink_id_json(s)) == 0 &&
                            conn_send_request(c, "CancelAsyncCall", TAKE_PTR(params), &p, NULL) ==
                                    0) {
                                p->abandoned = true;
                                conn_flush(c);
                        }
                        json_decref(params);
                }
                while (s->calls_head)
                        conn_call_unlink(c, s->calls_head);
                /* A registration still waiting for its answer (its caller
                 * timed out) becomes an orphan, cancelled when it comes. */
                for (PendingCall *p = c->pending_head; p; p = p->next)
                        if (p->sink == s)
                                p->sink = NULL;
                idmap_remove(&c->sinks, &s->node);
                if (s->prev)
                        s->prev->next = s->next;
                else
                        c->sinks_head = s->next;
                if (s->next)
                        s->next->prev = s->prev;
                else
                        c->sinks_tail = s->prev;
        }
        mem_free(s);
        return NULL;
}

LWMI_EXPORT uint64_t lwmi_sink_id(const lwmi_sink *sink) {
        return sink ? sink->node.key : 0;
}

LWMI_EXPORT size_t lwmi_sink_call_count(const lwmi_sink *sink) {
        return sink ? sink->n_calls : 0;
}

/* Registrations, cancelling, publishing. */

static int check_sink(lwmi_conn *conn, lwmi_sink *sink, lwmi_error *err) {
        int r = call_check_conn(conn, err);
        if (r < 0)
                return r;
        if (!sink)
                return call_invalid(err, "no sink");
        if (sink->conn != conn)
                return call_invalid(err, "the sink belongs to another connection");
        return 0;
}

static int register_call(lwmi_conn *conn, lwmi_sink *sink, const char *method, const char *ns,
                         const char *wql, uint64_t *ret_call, lwmi_error *err) {
        ns = ns ? ns : CALL_DEFAULT_NAMESPACE;
        int r;
        if ((r = check_sink(conn, sink, err)) < 0 ||
            (r = call_check_text(err, "namespace", ns)) < 0 ||
            (r = call_check_text(err, "query", wql)) < 0)
                return r;
        json_t *params = json_pack("{s:s, s:s, s:o}", "namespace", ns, "query", wql, "sink",
                                   sink_id_json(sink));
        if (!params)
                return liberr_oom(err);
        return call_invoke(conn, method, params, sink, NULL, ret_call, err);
}

LWMI_EXPORT int lwmi_exec_notification_query_async(lwmi_conn *conn, lwmi_sink *sink, const char *ns,
                                                   const char *wql, uint64_t *ret_call,
                                                   lwmi_error *err) {
        return register_call(conn, sink, "ExecNotificationQueryAsync", ns, wql, ret_call, err);
}

LWMI_EXPORT int lwmi_exec_query_async(lwmi_conn *conn, lwmi_sink *sink, const char *ns,
                                      const char *wql, uint64_t *ret_call, lwmi_error *err) {
        return register_call(conn, sink, "ExecQueryAsync", ns, wql, ret_call, err);
}

/* A count in a result: an integer, or a decimal string. */
static int result_count(const json_t *result, const char *key, const char *method, uint64_t *ret,
                        lwmi_error *err) {
        if (conn_parse_id(json_object_get(result, key), ret) < 0)
                return liberr_set(err, -EPROTO, LWMI_ERROR_PROTOCOL, "WBEM_E_FAILED",
                                  "the server's answer to %s has no \"%s\" count", method, key);
        return 0;
}

LWMI_EXPORT int lwmi_cancel_call(lwmi_conn *conn, uint64_t call_id, lwmi_error *err) {
        int r = call_check_conn(conn, err);
        if (r < 0)
                return r;
        if (conn->broken)
                return conn_broken_error(conn, err);
        AsyncCall *a = conn_find_call(conn, call_id);
        if (!a || !a->sink)
                return liberr_set(err, -ENOENT, LWMI_ERROR_INVALID_ARGUMENT, "WBEM_E_NOT_FOUND",
                                  "no open call %" PRIu64, call_id);
        json_t *id;
        if (a->id_is_string) {
                char text[24];
                snprintf(text, sizeof(text), "%" PRIu64, call_id);
                id = json_string(text);
        } else
                id = json_integer((json_int_t)call_id);
        json_t *params = json_pack("{s:o}", "call", id);
        if (!params)
                return liberr_oom(err);
        _cleanup_(json_decrefp) json_t *result = NULL;
        r = call_invoke(conn, "CancelAsyncCall", params, NULL, &result, NULL, err);
        if (r < 0)
                return r;
        uint64_t cancelled;
        r = result_count(result, "cancelled", "CancelAsyncCall", &cancelled, err);
        if (r < 0)
                return r;
        if (cancelled == 0)
                return liberr_set(err, -ENOENT, LWMI_ERROR_INVALID_ARGUMENT, "WBEM_E_NOT_FOUND",
                                  "call %" PRIu64 " had already ended", call_id);
        return 0;
}

LWMI_EXPORT int lwmi_cancel_sink(lwmi_conn *conn, lwmi_sink *sink, size_t *ret_cancelled,
                                 lwmi_error *err) {
        int r = check_sink(conn, sink, err);
        if (r < 0)
                return r;
        json_t *params = json_pack("{s:o}", "sink", sink_id_json(sink));
        if (!params)
                return liberr_oom(err);
        _cleanup_(json_decrefp) json_t *result = NULL;
        r = call_invoke(conn, "CancelAsyncCall", params, NULL, &result, NULL, err);
        if (r < 0)
                return r;
        uint64_t cancelled;
        r = result_count(result, "cancelled", "CancelAsyncCall", &cancelled, err);
        if (r < 0)
                return r;
        if (ret_cancelled)
                *ret_cancelled = (size_t)cancelled;
        return 0;
}

LWMI_EXPORT int lwmi_publish_event(lwmi_conn *conn, const char *ns, const json_t *event,
                                   size_t *ret_delivered, lwmi_error *err) {
        ns = ns ? ns : CALL_DEFAULT_NAMESPACE;
        int r;
        if ((r = call_check_conn(conn, err)) < 0 || (r = call_check_text(err, "namespace", ns)) < 0)
                return r;
        if (!json_is_object(event))
                return call_invalid(err, "an event must be a JSON object");
        json_t *params = json_pack("{s:s, s:O}", "namespace", ns, "event", event);
        if (!params)
                return liberr_oom(err);
        _cleanup_(json_decrefp) json_t *result = NULL;
        r = call_invoke(conn, "PublishEvent", params, NULL, &result, NULL, err);
        if (r < 0)
                return r;
        uint64_t delivered;
        r = result_count(result, "delivered", "PublishEvent", &delivered, err);
        if (r < 0)
                return r;
        if (ret_delivered)
                *ret_delivered = (size_t)delivered;
        return 0;
}

/* The event loop. */

LWMI_EXPORT int lwmi_fd(const lwmi_conn *conn) {
        return conn ? conn->fd : -1;
}

LWMI_EXPORT int lwmi_events(const lwmi_conn *conn) {
        if (!conn)
                return 0;
        return POLLIN |
               (!conn->broken && (conn->out.len > 0 || conn->tls_want_write) ? POLLOUT : 0);
}

LWMI_EXPORT int lwmi_poll_timeout(const lwmi_conn *conn) {
        /* TLS: bytes OpenSSL has decrypted do not make the socket
         * readable. */
        return conn && (conn->notify_head || conn->broken || tlsconn_pending(conn->tls)) ? 0 : -1;
}

LWMI_EXPORT void lwmi_stop(lwmi_conn *conn) {
        if (conn)
                conn->stop = true;
}

LWMI_EXPORT void lwmi_set_max_queued(lwmi_conn *conn, size_t bytes) {
        if (conn)
                conn->max_queued = bytes ? bytes : CONN_DEFAULT_MAX_QUEUED;
}

/* Deliver one queued entry: answer a server request, or call a callback
 * of the sink it is for, if the sink still exists. */
static void deliver(lwmi_conn *c, const Notification *n) {
        if (n->kind == NOTE_REQUEST) {
                /* Every callback for what came before has returned: now the
                 * server may hear that the application lives. */
                if (conn_answer_request(c, n->message) == 0)
                        conn_flush(c);
                return;
        }
        lwmi_sink *s = conn_find_sink(c, n->sink);
        if (!s)
                return;
        json_t *params = json_object_get(n->message, "params");
        c->in_callback = true;
        switch (n->kind) {
        case NOTE_INDICATE:
                if (s->ops.indicate)
                        s->ops.indicate(s, n->call, n->a, json_object_get(params, "objects"),
                                        s->userdata);
                break;
        case NOTE_SET_STATUS:
                if (s->ops.set_status) {
                        const char *message = json_string_value(json_object_get(params, "message"));
                        s->ops.set_status(s, n->call,
                                          json_string_value(json_object_get(params, "status")),
                                          message ? message : "", s->userdata);
                }
                break;
        case NOTE_EVENTS_DROPPED:
                if (s->ops.events_dropped)
                        s->ops.events_dropped(s, n->a, n->b, n->c, s->userdata);
                break;
        case NOTE_REQUEST:
                break;
        }
        c->in_callback = false;
}

/* After a loss, the oldest open call learns of it. The call leaves the map
 * first, so that whatever the callback does sees it over. */
static void deliver_failure(lwmi_conn *c) {
        AsyncCall *a = c->calls_head;
        lwmi_sink *s = a->sink;
        uint64_t id = a->node.key;
        conn_call_unlink(c, a);
        if (!s || !s->ops.set_status)
                return;
        c->in_callback = true;
        s->ops.set_status(s, id, "WBEM_E_TRANSPORT_FAILURE", c->broken_error.message, s->userdata);
        c->in_callback = false;
}

LWMI_EXPORT int lwmi_dispatch(lwmi_conn *c, lwmi_error *err) {
        if (!c)
                return call_invalid(err, "no connection");
        if (c->dispatching)
                return liberr_set(err, -EBUSY, LWMI_ERROR_BUSY, "WBEM_E_INVALID_OPERATION",
                                  "lwmi_dispatch() and lwmi_run() cannot be called from a "
                                  "callback");
        c->dispatching = true;
        c->stop = false;
        if (!c->broken)
                conn_pump(c, DISPATCH_READ_MAX);
        /* Only what is queued now: what callbacks' own calls bring in
         * waits for the next dispatch, so this one ends. */
        size_t budget = c->n_notifications;
        while (budget > 0 && !c->stop) {
                Notification *n = conn_pop_notification(c);
                if (!n)
                        break;
                budget--;
                deliver(c, n);
                conn_notification_free(n);
        }
        if (c->broken && !c->notify_head)
                while (c->calls_head && !c->stop)
                        deliver_failure(c);
        if (!c->broken)
                conn_flush(c);
        c->dispatching = false;
        if (c->close_requested) {
                conn_free(c);
                return liberr_set(err, -ECANCELED, LWMI_ERROR_CONNECTION_LOST,
                                  "WBEM_E_TRANSPORT_FAILURE",
                                  "the connection was closed from a callback");
        }
        if (c->notify_head || (c->broken && c->calls_head))
                return 1;
        if (c->broken)
                return conn_broken_error(c, err);
        return 0;
}

LWMI_EXPORT int lwmi_run(lwmi_conn *c, int timeout_ms, lwmi_error *err) {
        if (!c)
                return call_invalid(err, "no connection");
        if (c->dispatching)
                return liberr_set(err, -EBUSY, LWMI_ERROR_BUSY, "WBEM_E_INVALID_OPERATION",
                                  "lwmi_dispatch() and lwmi_run() cannot be called from a "
                                  "callback");
        uint64_t deadline = timeout_ms >= 0 ? conn_now_ms() + (uint64_t)timeout_ms : 0;
        for (;;) {
                int wait = lwmi_poll_timeout(c);
                if (wait != 0 && timeout_ms >= 0) {
                        uint64_t now = conn_now_ms();
                        uint64_t left = now >= deadline ? 0 : deadline - now;
                        wait = left > INT_MAX ? INT_MAX : (int)left;
                }
                if (!c->broken) {
                        struct pollfd pfd = { .fd = c->fd, .events = (short)lwmi_events(c) };
                        if (poll(&pfd, 1, wait) < 0) {
                                int e = errno;
                                if (e == EINTR)
                                        return liberr_set(err, -EINTR, LWMI_ERROR_INTERRUPTED,
                                                          "WBEM_E_CALL_CANCELLED",
                                                          "interrupted by a signal");
                                return liberr_set(err, -e, LWMI_ERROR_CONNECTION_LOST,
                                                  "WBEM_E_TRANSPORT_FAILURE", "poll: %s",
                                                  strerror(e));
                        }
                }
                int r = lwmi_dispatch(c, err);
                if (r < 0)
                        return r;
                if (c->stop)
                        return 1;
                if (timeout_ms >= 0 && conn_now_ms() >= deadline)
                        return 0;
        }
}
