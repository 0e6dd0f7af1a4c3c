/* Client connections: connect and Hello, the message loop, the pending-call
 * table and the notification queue; see conn.h. */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "config.h"
#include "cleanup.h"
#include "liberr.h"
#include "mem.h"
#include "tlsconn.h"

/* How much one read may bring in; lines longer than this simply take
 * several reads. */
#define READ_CHUNK 65536

uint64_t conn_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int conn_new(int fd, lwmi_conn **ret, lwmi_error *err) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return liberr_set(err, -errno, LWMI_ERROR_CONNECT, "WBEM_E_TRANSPORT_FAILURE",
                                  "cannot make the socket non-blocking: %s", strerror(errno));
        lwmi_conn *c = mem_calloc(1, sizeof(*c));
        if (!c)
                return liberr_oom(err);
        c->fd = fd;
        c->max_message = CONN_DEFAULT_MAX_MESSAGE;
        c->max_queued = CONN_DEFAULT_MAX_QUEUED;
        c->next_id = 1;
        c->next_sink_id = 1;
        *ret = c;
        return 0;
}

static void pending_unlink(lwmi_conn *c, PendingCall *p) {
        if (p->prev)
                p->prev->next = p->next;
        else
                c->pending_head = p->next;
        if (p->next)
                p->next->prev = p->prev;
        else
                c->pending_tail = p->prev;
        p->prev = p->next = NULL;
        c->n_pending--;
}

static void pending_free(lwmi_conn *c, PendingCall *p) {
        pending_unlink(c, p);
        json_decref(p->response);
        mem_free(p->reg); /* never entered, or handed over and cleared */
        mem_free(p);
}

void conn_notification_free(Notification *n) {
        if (!n)
                return;
        json_decref(n->message);
        mem_free(n);
}

AsyncCall *conn_find_call(lwmi_conn *c, uint64_t id) {
        IdMapNode *n = idmap_get(&c->calls, id);
        return n ? (AsyncCall *)((char *)n - offsetof(AsyncCall, node)) : NULL;
}

lwmi_sink *conn_find_sink(lwmi_conn *c, uint64_t id) {
        IdMapNode *n = idmap_get(&c->sinks, id);
        return n ? (lwmi_sink *)((char *)n - offsetof(lwmi_sink, node)) : NULL;
}

/* Take a call out of the map and its lists, and free it. */
void conn_call_unlink(lwmi_conn *c, AsyncCall *a) {
        idmap_remove(&c->calls, &a->node);
        if (a->conn_prev)
                a->conn_prev->conn_next = a->conn_next;
        else
                c->calls_head = a->conn_next;
        if (a->conn_next)
                a->conn_next->conn_prev = a->conn_prev;
        else
                c->calls_tail = a->conn_prev;
        lwmi_sink *s = a->sink;
        if (s) {
                if (a->sink_prev)
                        a->sink_prev->sink_next = a->sink_next;
                else
                        s->calls_head = a->sink_next;
                if (a->sink_next)
                        a->sink_next->sink_prev = a->sink_prev;
                else
                        s->calls_tail = a->sink_prev;
                s->n_calls--;
        }
        mem_free(a);
}

/* Enter a call whose id the server just named. */
static void conn_call_enter(lwmi_conn *c, AsyncCall *a, uint64_t id, lwmi_sink *s) {
        a->node.key = id;
        a->sink = s;
        idmap_put(&c->calls, &a->node);
        a->conn_prev = c->calls_tail;
        if (c->calls_tail)
                c->calls_tail->conn_next = a;
        else
                c->calls_head = a;
        c->calls_tail = a;
        if (s) {
                a->sink_prev = s->calls_tail;
                if (s->calls_tail)
                        s->calls_tail->sink_next = a;
                else
                        s->calls_head = a;
                s->calls_tail = a;
                s->n_calls++;
        }
}

lwmi_conn *conn_free(lwmi_conn *c) {
        if (!c)
                return NULL;
        c->tls = tlsconn_free(c->tls);
        if (c->fd >= 0)
                close(c->fd);
        while (c->pending_head)
                pending_free(c, c->pending_head);
        Notification *n;
        while ((n = conn_pop_notification(c)))
                conn_notification_free(n);
        while (c->calls_head)
                conn_call_unlink(c, c->calls_head);
        /* Sinks are the application's: detach them. */
        for (lwmi_sink *s = c->sinks_head; s; s = s->next)
                s->conn = NULL;
        idmap_done(&c->calls);
        idmap_done(&c->sinks);
        iobuf_done(&c->in);
        iobuf_done(&c->out);
        mem_free(c->server_name);
        mem_free(c->server_version);
        mem_free(c->session_id);
        mem_free(c);
        return NULL;
}

int conn_break(lwmi_conn *c, int r, const lwmi_error *why) {
        if (c->broken)
                return c->broken_r;
        c->broken = true;
        c->broken_r = r;
        liberr_copy(&c->broken_error, why);
        /* Shut down rather than close: the server sees the end at once,
         * and the descriptor an application's poll loop holds stays valid
         * (and readable) until lwmi_close(). */
        if (c->fd >= 0)
                shutdown(c->fd, SHUT_RDWR);
        /* Nothing more will be sent or read; calls nobody waits for can go
         * now. The others stay for their callers, who see the connection
         * broken. */
        iobuf_done(&c->out);
        iobuf_done(&c->in);
        c->scanned = 0;
        PendingCall *next;
        for (PendingCall *p = c->pending_head; p; p = next) {
                next = p->next;
                if (p->abandoned)
                        pending_free(c, p);
        }
        /* Orphans (calls whose caller gave up) have nobody to tell. */
        AsyncCall *an;
        for (AsyncCall *a = c->calls_head; a; a = an) {
                an = a->conn_next;
                if (!a->sink)
                        conn_call_unlink(c, a);
        }
        return r;
}

int conn_broken_error(lwmi_conn *c, lwmi_error *err) {
        liberr_copy(err, &c->broken_error);
        return -ECONNRESET;
}

static int conn_lost(lwmi_conn *c, const char *why) {
        lwmi_error e;
        liberr_set(&e, -ECONNRESET, LWMI_ERROR_CONNECTION_LOST, "WBEM_E_TRANSPORT_FAILURE",
                   "connection to the server lost: %s", why);
        return conn_break(c, -ECONNRESET, &e);
}

static int conn_protocol_error(lwmi_conn *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int conn_protocol_error(lwmi_conn *c, const char *fmt, ...) {
        char what[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        liberr_trim_utf8(what, sizeof(what));
        lwmi_error e;
        liberr_set(&e, -EPROTO, LWMI_ERROR_PROTOCOL, "WBEM_E_TRANSPORT_FAILURE",
                   "protocol error, connection closed: %s", what);
        return conn_break(c, -EPROTO, &e);
}

static int conn_out_of_memory(lwmi_conn *c) {
        lwmi_error e;
        liberr_set(&e, -ENOMEM, LWMI_ERROR_NO_MEMORY, "WBEM_E_OUT_OF_MEMORY",
                   "out of memory, connection closed");
        return conn_break(c, -ENOMEM, &e);
}

static int dump_to_iobuf(const char *buffer, size_t size, void *data) {
        return iobuf_append(data, buffer, size) < 0 ? -1 : 0;
}

/* Append one message and its '\n' to the output, all or nothing. */
static int conn_queue_message(lwmi_conn *c, const json_t *m) {
        size_t saved = c->out.len;
        if (json_dump_callback(m, dump_to_iobuf, &c->out, JSON_COMPACT) < 0 ||
            iobuf_append(&c->out, "\n", 1) < 0) {
                c->out.len = saved;
                return -ENOMEM;
        }
        return 0;
}

int conn_send_request(lwmi_conn *c, const char *method, json_t *params, PendingCall **ret,
                      lwmi_error *err) {
        _cleanup_(json_decrefp) json_t *owned_params = params;
        if (c->broken)
                return conn_broken_error(c, err);
        PendingCall *p = mem_calloc(1, sizeof(*p));
        if (!p)
                return liberr_oom(err);
        p->id = c->next_id;
        _cleanup_(json_decrefp) json_t *m = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id",
                                                      (json_int_t)p->id, "method", method);
        if (!m || (params && json_object_set_new(m, "params", TAKE_PTR(owned_params)) < 0) ||
            conn_queue_message(c, m) < 0) {
                mem_free(p);
                return liberr_oom(err);
        }
        c->next_id++;
        p->prev = c->pending_tail;
        if (c->pending_tail)
                c->pending_tail->next = p;
        else
                c->pending_head = p;
        c->pending_tail = p;
        c->n_pending++;
        if (ret)
                *ret = p;
        return 0;
}

void conn_pending_release(lwmi_conn *c, PendingCall *p) {
        if (!p)
                return;
        if (!p->done && !c->broken) {
                p->abandoned = true;
                return;
        }
        pending_free(c, p);
}

Notification *conn_pop_notification(lwmi_conn *c) {
        Notification *n = c->notify_head;
        if (!n)
                return NULL;
        c->notify_head = n->next;
        if (!c->notify_head)
                c->notify_tail = NULL;
        c->n_notifications--;
        c->queued_bytes -= n->bytes;
        n->next = NULL;
        return n;
}

/* Queue an entry for lwmi_dispatch(); `message` is borrowed. Over the
 * queue's limit the connection is given up: an application that does not
 * dispatch would otherwise grow without bound. */
static int conn_queue(lwmi_conn *c, NoteKind kind, json_t *message, size_t bytes,
                      Notification **ret) {
        if (bytes > c->max_queued || c->queued_bytes > c->max_queued - bytes) {
                lwmi_error e;
                liberr_set(&e, -ENOBUFS, LWMI_ERROR_QUEUE_OVERFLOW, "WBEM_E_TRANSPORT_FAILURE",
                           "more than %zu bytes of notifications waited for lwmi_dispatch(); "
                           "connection closed (dispatch more often, or raise the limit with "
                           "lwmi_set_max_queued())",
                           c->max_queued);
                return conn_break(c, -ENOBUFS, &e);
        }
        Notification *n = mem_calloc(1, sizeof(*n));
        if (!n)
                return conn_out_of_memory(c);
        n->kind = kind;
        n->message = json_incref(message);
        n->bytes = bytes;
        if (c->notify_tail)
                c->notify_tail->next = n;
        else
                c->notify_head = n;
        c->notify_tail = n;
        c->n_notifications++;
        c->queued_bytes += bytes;
        if (ret)
                *ret = n;
        return 0;
}

/* The answer to a request from the server: Ping gets its empty result;
 * anything else is a method this client does not have. */
int conn_answer_request(lwmi_conn *c, const json_t *message) {
        if (c->broken)
                return 0;
        json_t *id = json_object_get(message, "id");
        const char *method = json_string_value(json_object_get(message, "method"));
        _cleanup_(json_decrefp) json_t *answer = NULL;
        if (method && strcmp(method, "Ping") == 0)
                answer = json_pack("{s:s, s:O, s:{}}", "jsonrpc", "2.0", "id", id, "result");
        else
                answer = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error",
                                   "code", -32601, "message", "method not found");
        if (!answer || conn_queue_message(c, answer) < 0)
                return conn_out_of_memory(c);
        return 0;
}

int conn_parse_id(const json_t *v, uint64_t *ret) {
        if (json_is_integer(v)) {
                if (json_integer_value(v) < 0)
                        return -EINVAL;
                *ret = (uint64_t)json_integer_value(v);
                return 0;
        }
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) > 20)
                return -EINVAL;
        uint64_t x = 0;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                unsigned d = (unsigned)(*s - '0');
                if (x > (UINT64_MAX - d) / 10)
                        return -EINVAL;
                x = x * 10 + d;
        }
        *ret = x;
        return 0;
}

static PendingCall *conn_find_pending(lwmi_conn *c, json_int_t id) {
        for (PendingCall *p = c->pending_head; p; p = p->next)
                if ((json_int_t)p->id == id)
                        return p;
        return NULL;
}

/* Tell the server to end a call nobody wants (its registration's caller
 * gave up waiting, or its sink was freed meanwhile). Best effort: if even
 * this cannot be sent, the call's notifications are simply dropped. */
static void conn_cancel_unwanted(lwmi_conn *c, const json_t *call) {
        json_t *params = json_pack("{s:O}", "call", call);
        PendingCall *p;
        if (params && conn_send_request(c, "CancelAsyncCall", params, &p, NULL) == 0)
                p->abandoned = true;
}

/* The answer to ExecQueryAsync / ExecNotificationQueryAsync: enter the call
 * it names before anything after it is read. */
static int conn_register_call(lwmi_conn *c, PendingCall *p, json_t *m) {
        json_t *call = json_object_get(json_object_get(m, "result"), "call");
        uint64_t id;
        if (conn_parse_id(call, &id) < 0)
                return 0; /* the caller reports a result without a call id */
        if (conn_find_call(c, id))
                return conn_protocol_error(
                        c, "the server named a new call %" PRIu64 " that is already open", id);
        AsyncCall *a = TAKE_PTR(p->reg);
        a->id_is_string = json_is_string(call);
        bool wanted = !p->abandoned && p->sink;
        conn_call_enter(c, a, id, wanted ? p->sink : NULL);
        p->registered = true;
        p->call_id = id;
        if (!wanted)
                conn_cancel_unwanted(c, call);
        return 0;
}

static int conn_handle_response(lwmi_conn *c, json_t *m) {
        json_t *id = json_object_get(m, "id");
        bool has_result = json_object_get(m, "result") != NULL;
        bool has_error = json_object_get(m, "error") != NULL;
        if (has_result == has_error)
                return conn_protocol_error(c, "a response needs exactly one of result and error");
        if (!json_is_integer(id))
                return conn_protocol_error(c, "response with a non-integer id");
        PendingCall *p = conn_find_pending(c, json_integer_value(id));
        if (!p || p->done)
                return conn_protocol_error(c,
                                           "response to unknown request id %" JSON_INTEGER_FORMAT,
                                           json_integer_value(id));
        if (p->reg && has_result) {
                int r = conn_register_call(c, p, m);
                if (r < 0)
                        return r;
        }
        if (p->abandoned) {
                pending_free(c, p);
                return 0;
        }
        p->response = json_incref(m);
        p->done = true;
        return 0;
}

/* A member of params that must be an id (see conn_parse_id()). */
static int param_id(lwmi_conn *c, const char *method, const json_t *params, const char *name,
                    uint64_t *ret) {
        if (conn_parse_id(json_object_get(params, name), ret) < 0)
                return conn_protocol_error(c, "%s without a valid \"%s\"", method, name);
        return 0;
}

/* An Indicate, SetStatus or EventsDropped: checked now (a malformed one is
 * a protocol error), queued for the sink when its call or sink is open,
 * dropped otherwise (it was cancelled or freed while the server sent). */
static int conn_handle_notification(lwmi_conn *c, json_t *m, const char *method, size_t bytes) {
        json_t *params = json_object_get(m, "params");
        NoteKind kind;
        if (strcmp(method, "Indicate") == 0)
                kind = NOTE_INDICATE;
        else if (strcmp(method, "SetStatus") == 0)
                kind = NOTE_SET_STATUS;
        else if (strcmp(method, "EventsDropped") == 0)
                kind = NOTE_EVENTS_DROPPED;
        else
                return 0; /* later versions may add some: ignore */
        if (!json_is_object(params))
                return conn_protocol_error(c, "%s without params", method);
        uint64_t sink_id, call_id = 0, a = 0, b = 0, n = 0;
        int r = param_id(c, method, params, "sink", &sink_id);
        if (r < 0)
                return r;
        switch (kind) {
        case NOTE_INDICATE:
                if ((r = param_id(c, method, params, "call", &call_id)) < 0 ||
                    (r = param_id(c, method, params, "seq", &a)) < 0)
                        return r;
                if (!json_is_array(json_object_get(params, "objects")))
                        return conn_protocol_error(c, "Indicate without an \"objects\" array");
                break;
        case NOTE_SET_STATUS: {
                if ((r = param_id(c, method, params, "call", &call_id)) < 0)
                        return r;
                json_t *message = json_object_get(params, "message");
                if (!json_is_string(json_object_get(params, "status")) ||
                    (message && !json_is_string(message) && !json_is_null(message)))
                        return conn_protocol_error(c, "SetStatus without a valid \"status\"");
                break;
        }
        default:
                if ((r = param_id(c, method, params, "first_seq", &a)) < 0 ||
                    (r = param_id(c, method, params, "last_seq", &b)) < 0 ||
                    (r = param_id(c, method, params, "count", &n)) < 0)
                        return r;
                if (!conn_find_sink(c, sink_id))
                        return 0;
                break;
        }
        AsyncCall *call = NULL;
        if (kind != NOTE_EVENTS_DROPPED) {
                call = conn_find_call(c, call_id);
                if (!call)
                        return 0;
                if (call->sink && call->sink->node.key != sink_id)
                        return conn_protocol_error(c,
                                                   "%s for call %" PRIu64 " names sink %" PRIu64
                                                   ", but the call is on sink %" PRIu64,
                                                   method, call_id, sink_id, call->sink->node.key);
                if (!call->sink) {
                        /* An orphan: nobody listens; its end frees it. */
                        if (kind == NOTE_SET_STATUS)
                                conn_call_unlink(c, call);
                        return 0;
                }
        }
        Notification *note;
        r = conn_queue(c, kind, m, bytes, &note);
        if (r < 0)
                return r;
        note->sink = sink_id;
        note->call = call_id;
        note->a = a;
        note->b = b;
        note->c = n;
        /* The call is over once the server says so: a transport failure
         * from now on must not give it a second status. */
        if (kind == NOTE_SET_STATUS)
                conn_call_unlink(c, call);
        return 0;
}

/* Handle one complete line (without its '\n'). */
static int conn_handle_line(lwmi_conn *c, const char *line, size_t len) {
        size_t bytes = len + 1;
        if (len > 0 && line[len - 1] == '\r')
                len--;
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
                i++;
        if (i == len)
                return 0; /* blank lines carry nothing */

        json_error_t je;
        _cleanup_(json_decrefp) json_t *m = json_loadb(line, len, 0, &je);
        if (!m) {
                /* jansson's lexer reports a failed allocation as a syntax
                 * error, so a line that parses on a second try was one. */
                m = json_loadb(line, len, 0, &je);
        }
        if (!m) {
                /* It leaves the text empty when its own set-up allocation
                 * fails, and says so when the parser's does. */
                if (json_error_code(&je) == json_error_out_of_memory || !je.text[0])
                        return conn_out_of_memory(c);
                return conn_protocol_error(c, "invalid JSON from the server at column %d: %s",
                                           je.column, je.text);
        }
        if (!json_is_object(m))
                return conn_protocol_error(c, "a message must be a JSON object");
        const char *version = json_string_value(json_object_get(m, "jsonrpc"));
        if (!version || strcmp(version, "2.0") != 0)
                return conn_protocol_error(c, "message without \"jsonrpc\": \"2.0\"");

        json_t *method = json_object_get(m, "method");
        if (!method)
                return conn_handle_response(c, m);
        if (!json_is_string(method))
                return conn_protocol_error(c, "\"method\" must be a string");
        json_t *id = json_object_get(m, "id");
        if (!id || json_is_null(id))
                return conn_handle_notification(c, m, json_string_value(method), bytes);
        if (!json_is_string(id) && !json_is_integer(id))
                return conn_protocol_error(c, "request id must be a string or integer");
        /* A request from the server (Ping): answered after the callbacks for
         * everything before it, so behind them in the queue if there are
         * any, or a callback runs now; otherwise at once. */
        if (c->notify_head || c->in_callback)
                return conn_queue(c, NOTE_REQUEST, m, bytes, NULL);
        return conn_answer_request(c, m);
}

/* Split the input into lines and handle each complete one. */
static int conn_process_input(lwmi_conn *c) {
        while (!c->broken && c->in.len > 0) {
                const char *head = iobuf_head(&c->in);
                const char *nl = memchr(head + c->scanned, '\n', c->in.len - c->scanned);
                if (!nl) {
                        c->scanned = c->in.len;
                        if (c->in.len > c->max_message)
                                return conn_protocol_error(
                                        c, "message longer than the limit of %zu bytes",
                                        c->max_message);
                        return 0;
                }
                size_t len = (size_t)(nl - head);
                if (len > c->max_message)
                        return conn_protocol_error(c, "message longer than the limit of %zu bytes",
                                                   c->max_message);
                int r = conn_handle_line(c, head, len);
                if (r < 0)
                        return r;
                iobuf_consume(&c->in, len + 1);
                c->scanned = 0;
        }
        return c->broken ? c->broken_r : 0;
}

int conn_feed(lwmi_conn *c, const void *data, size_t n, lwmi_error *err) {
        if (c->broken)
                return conn_broken_error(c, err);
        if (iobuf_append(&c->in, data, n) < 0)
                return liberr_oom(err);
        int r = conn_process_input(c);
        if (r < 0)
                liberr_copy(err, &c->broken_error);
        return r;
}

/* One read: the number of bytes handled, 0 when there was nothing to read,
 * or the error that broke the connection. */
static long conn_read(lwmi_conn *c) {
        char *dst = iobuf_reserve(&c->in, READ_CHUNK);
        if (!dst)
                return conn_out_of_memory(c);
        if (c->tls) {
                char why[300];
                long k = tlsconn_read(c->tls, dst, READ_CHUNK, &c->tls_want_write, why,
                                      sizeof(why));
                if (k < 0)
                        return conn_lost(c, why);
                if (k == 0)
                        return 0;
                iobuf_commit(&c->in, (size_t)k);
                int r = conn_process_input(c);
                return r < 0 ? r : k;
        }
        ssize_t n = recv(c->fd, dst, READ_CHUNK, MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                return conn_lost(c, strerror(errno));
        }
        if (n == 0)
                return conn_lost(c, "closed by the server");
        iobuf_commit(&c->in, (size_t)n);
        int r = conn_process_input(c);
        return r < 0 ? r : (long)n;
}

int conn_flush(lwmi_conn *c) {
        while (!c->broken && c->out.len > 0) {
                if (c->tls) {
                        char why[300];
                        long k = tlsconn_write(c->tls, iobuf_head(&c->out), c->out.len,
                                               &c->tls_want_write, why, sizeof(why));
                        if (k < 0)
                                return conn_lost(c, why);
                        if (k == 0)
                                return 0;
                        iobuf_consume(&c->out, (size_t)k);
                        continue;
                }
                ssize_t n =
                        send(c->fd, iobuf_head(&c->out), c->out.len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return conn_lost(c, strerror(errno));
                }
                iobuf_consume(&c->out, (size_t)n);
        }
        return c->broken ? c->broken_r : 0;
}

int conn_pump(lwmi_conn *c, size_t max_bytes) {
        int r = conn_flush(c);
        if (r < 0)
                return r;
        size_t total = 0;
        while (total < max_bytes) {
                long n = conn_read(c);
                if (n < 0)
                        return (int)n;
                if (n == 0)
                        break;
                total += (size_t)n;
        }
        /* Answers to Pings just read go out at once. */
        return conn_flush(c);
}

int conn_run_once(lwmi_conn *c, int timeout_ms, lwmi_error *err) {
        if (!c->broken) {
                /* Send first: most of the time the socket takes it all and
                 * the poll below only has to wait for the answer. */
                conn_flush(c);
        }
        if (!c->broken) {
                struct pollfd pfd = {
                        .fd = c->fd,
                        .events = (short)(POLLIN |
                                          (c->out.len > 0 || c->tls_want_write ? POLLOUT : 0)),
                };
                /* Bytes OpenSSL decrypted already do not show on the
                 * socket. */
                int n = tlsconn_pending(c->tls) ? 0 : poll(&pfd, 1, timeout_ms);
                if (n < 0 && errno != EINTR)
                        return liberr_set(err, -errno, LWMI_ERROR_CONNECTION_LOST,
                                          "WBEM_E_TRANSPORT_FAILURE", "poll: %s", strerror(errno));
                if (n > 0 && (pfd.revents & POLLOUT))
                        conn_flush(c);
                if (n > 0 && !c->broken && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
                        conn_read(c);
                else if (c->tls && !c->broken && (n > 0 || tlsconn_pending(c->tls)))
                        conn_read(c); /* OpenSSL may want to read after a write */
                while (!c->broken && tlsconn_pending(c->tls) && conn_read(c) > 0)
                        ;
                /* Answers to Pings just read go out without another turn. */
                conn_flush(c);
        }
        if (c->broken) {
                liberr_copy(err, &c->broken_error);
                return c->broken_r;
        }
        return 0;
}

int conn_wait(lwmi_conn *c, PendingCall *p, uint64_t deadline_ms, lwmi_error *err) {
        for (;;) {
                if (p->done)
                        return 0;
                if (c->broken) {
                        liberr_copy(err, &c->broken_error);
                        return c->broken_r;
                }
                int timeout = -1;
                if (deadline_ms) {
                        uint64_t now = conn_now_ms();
                        if (now >= deadline_ms)
                                return liberr_set(err, -ETIMEDOUT, LWMI_ERROR_TIMEOUT,
                                                  "WBEM_E_TIMED_OUT",
                                                  "no response from the server in time");
                        uint64_t left = deadline_ms - now;
                        timeout = left > 60000 ? 60000 : (int)left;
                }
                int r = conn_run_once(c, timeout, err);
                if (r < 0 && !c->broken)
                        return r;
        }
}

/* Connecting and Hello. */

static int connect_unix(const char *path, int *ret_fd, lwmi_error *err) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        /* address_parse() checked the length. */
        memcpy(sa.sun_path, path, strlen(path) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return liberr_set(err, -errno, LWMI_ERROR_CONNECT, "WBEM_E_TRANSPORT_FAILURE",
                                  "cannot connect to %s: socket: %s", path, strerror(errno));
        int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        if (r < 0 && errno == EINTR) {
                /* The connection goes on in the background; wait for it. */
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                int so_error = 0;
                socklen_t len = sizeof(so_error);
                while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
                        ;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
                        so_error = errno;
                errno = so_error;
                r = so_error ? -1 : 0;
        }
        if (r < 0) {
                int e = errno;
                close(fd);
                return liberr_set(err, -e, LWMI_ERROR_CONNECT, "WBEM_E_TRANSPORT_FAILURE",
                                  "cannot connect to %s: %s", path, strerror(e));
        }
        *ret_fd = fd;
        return 0;
}

/* Wait for a non-blocking connect() to finish, until deadline_ms
 * (conn_now_ms(); 0: no deadline of ours, the kernel's SYN retries end
 * it). 0, or a positive errno: the connection's error, ETIMEDOUT. */
static int connect_wait(int fd, uint64_t deadline_ms) {
        for (;;) {
                int timeout = -1;
                if (deadline_ms) {
                        uint64_t now = conn_now_ms();
                        if (now >= deadline_ms)
                                return ETIMEDOUT;
                        uint64_t left = deadline_ms - now;
                        timeout = left > 60000 ? 60000 : (int)left;
                }
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                int n = poll(&pfd, 1, timeout);
                if (n < 0 && errno != EINTR)
                        return errno;
                if (n > 0)
                        break;
        }
        int so_error = 0;
        socklen_t len = sizeof(so_error);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
                return errno;
        return so_error;
}

/* Try one address of a TCP host. 0 with *ret_fd, or a positive errno. */
static int connect_tcp_one(const struct addrinfo *ai, uint64_t deadline_ms, int *ret_fd) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0)
                return errno;
        int e = 0;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                e = errno;
                if (e == EINPROGRESS || e == EINTR)
                        e = connect_wait(fd, deadline_ms);
        }
        if (e) {
                close(fd);
                return e;
        }
        /* Requests are small lines, each wanted at once: no Nagle delay
         * (a failure only costs latency). */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        *ret_fd = fd;
        return 0;
}

/* Look the host up and connect to its addresses in turn (all within
 * timeout_ms, 0: no limit of ours), as "tcp:HOST:PORT" names it. */
static int connect_tcp(const char *address, const char *host, uint16_t port, unsigned timeout_ms,
                       int *ret_fd, lwmi_error *err) {
        struct addrinfo hints = {
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
                .ai_flags = AI_NUMERICSERV,
        };
        struct addrinfo *list = NULL;
        char port_text[8];
        uint64_t deadline_ms = timeout_ms ? conn_now_ms() + timeout_ms : 0;

        snprintf(port_text, sizeof(port_text), "%u", (unsigned)port);
        int r = getaddrinfo(host, port_text, &hints, &list);
        if (r != 0) {
                int e = r == EAI_MEMORY   ? ENOMEM
                        : r == EAI_AGAIN  ? EAGAIN
                        : r == EAI_SYSTEM ? errno
                                          : ENXIO;
                if (e == ENOMEM)
                        return liberr_oom(err);
                if (r == EAI_NONAME || r == EAI_NODATA || r == EAI_FAMILY)
                        return liberr_set(err, -ENXIO, LWMI_ERROR_CONNECT,
                                          "WBEM_E_TRANSPORT_FAILURE",
                                          "cannot connect to %s: host %s not found", address, host);
                return liberr_set(err, -(e ? e : ENXIO), LWMI_ERROR_CONNECT,
                                  "WBEM_E_TRANSPORT_FAILURE",
                                  "cannot connect to %s: cannot look up host %s: %s", address, host,
                                  r == EAI_SYSTEM ? strerror(e) : gai_strerror(r));
        }
        int e = ENXIO;
        for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
                e = connect_tcp_one(ai, deadline_ms, ret_fd);
                if (e == 0 || e == ETIMEDOUT)
                        break;
        }
        freeaddrinfo(list);
        if (e == ETIMEDOUT)
                return liberr_set(err, -ETIMEDOUT, LWMI_ERROR_CONNECT, "WBEM_E_TRANSPORT_FAILURE",
                                  "cannot connect to %s: no answer within %u ms", address,
                                  timeout_ms);
        if (e)
                return liberr_set(err, -e, LWMI_ERROR_CONNECT, "WBEM_E_TRANSPORT_FAILURE",
                                  "cannot connect to %s: %s", address, strerror(e));
        return 0;
}

static char *text_of(const json_t *v) {
        if (json_is_string(v))
                return mem_strdup(json_string_value(v));
        if (json_is_integer(v))
                return mem_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return NULL;
}

static int conn_hello(lwmi_conn *c, const char *client, unsigned keepalive_ms, const char *token,
                      lwmi_error *err) {
        json_t *params = json_pack("{s:s}", "client", client);
        if (!params)
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER",
                                  "client name is not valid UTF-8 (or out of memory)");
        if (token && json_object_set_new(params, "token", json_string(token)) < 0) {
                json_decref(params);
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER",
                                  "the token is not valid UTF-8 (or out of memory)");
        }
        if (keepalive_ms > 0 &&
            json_object_set_new(params, "keepalive_ms", json_integer(keepalive_ms)) < 0) {
                json_decref(params);
                return liberr_oom(err);
        }
        _cleanup_(json_decrefp) json_t *result = NULL;
        int r = lwmi_call(c, "Hello", params, &result, err);
        if (r < 0)
                return r;
        if (!json_is_object(result))
                return liberr_set(err, -EPROTO, LWMI_ERROR_PROTOCOL, "WBEM_E_TRANSPORT_FAILURE",
                                  "the answer to Hello is not an object");
        json_t *v;
        if ((v = json_object_get(result, "server")) && !(c->server_name = text_of(v)))
                return liberr_oom(err);
        if ((v = json_object_get(result, "version")) && !(c->server_version = text_of(v)))
                return liberr_oom(err);
        if ((v = json_object_get(result, "session")) && !(c->session_id = text_of(v)))
                return liberr_oom(err);
        v = json_object_get(result, "keepalive_ms");
        if (json_is_integer(v) && json_integer_value(v) > 0 &&
            json_integer_value(v) <= (json_int_t)0x7fffffff)
                c->keepalive_ms = (unsigned)json_integer_value(v);
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(lwmi_conn *, conn_free);

static void token_freep(char **token) {
        if (*token) {
                memset(*token, 0, strlen(*token));
                mem_free(*token);
        }
}

/* Connect to address; tls: the options given to lwmi_connect_tls(), or
 * NULL for those of the environment. */
static int conn_connect(const char *address, const lwmi_tls_options *tls, const char *client,
                        unsigned keepalive_ms, unsigned timeout_ms, lwmi_conn **ret,
                        lwmi_error *err) {
        if (!ret)
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER", "ret is NULL");
        _cleanup_free_ char *default_address = NULL;
        if (!address) {
                int r = address_default(&default_address, err);
                if (r < 0)
                        return r;
                address = default_address;
        }
        _cleanup_(address_done) Address a = { 0 };
        int r = address_parse(address, &a, err);
        if (r < 0)
                return r;
        if (tls && a.kind != ADDRESS_TLS &&
            (tls->ca_file || tls->cert_file || tls->key_file || tls->token_file))
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER",
                                  "TLS options given for %s, which is not a tls: address",
                                  address);
        lwmi_tls_options options;
        _cleanup_(token_freep) char *token = NULL;
        if (a.kind == ADDRESS_TLS) {
                tlsconn_options(tls, &options);
                r = tlsconn_token(&options, &token, err);
                if (r < 0)
                        return r;
        }
        uint64_t deadline_ms = timeout_ms ? conn_now_ms() + timeout_ms : 0;
        int fd = -1;
        if (a.kind == ADDRESS_TCP || a.kind == ADDRESS_TLS)
                r = connect_tcp(address, a.host, a.port, timeout_ms, &fd, err);
        else
                r = connect_unix(a.path, &fd, err);
        if (r < 0)
                return r;
        _cleanup_(conn_freep) lwmi_conn *c = NULL;
        r = conn_new(fd, &c, err);
        if (r < 0) {
                close(fd);
                return r;
        }
        c->timeout_ms = timeout_ms;
        if (a.kind == ADDRESS_TLS) {
                r = tlsconn_start(fd, address, a.host, &options, deadline_ms, &c->tls, err);
                if (r < 0)
                        return r;
        }
        /* The default name is the program's, cut well below the server's
         * limit on names so that it can never make Hello fail. */
        char program[65];
        snprintf(program, sizeof(program), "%s", program_invocation_short_name);
        liberr_trim_utf8(program, sizeof(program));
        r = conn_hello(c, client ? client : program, keepalive_ms, token, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

LWMI_EXPORT int lwmi_connect_ex(const char *address, const char *client, unsigned keepalive_ms,
                                unsigned timeout_ms, lwmi_conn **ret, lwmi_error *err) {
        return conn_connect(address, NULL, client, keepalive_ms, timeout_ms, ret, err);
}

LWMI_EXPORT int lwmi_connect_tls(const char *address, const lwmi_tls_options *tls,
                                 const char *client, unsigned keepalive_ms, unsigned timeout_ms,
                                 lwmi_conn **ret, lwmi_error *err) {
        return conn_connect(address, tls, client, keepalive_ms, timeout_ms, ret, err);
}

LWMI_EXPORT int lwmi_connect(const char *address, lwmi_conn **ret, lwmi_error *err) {
        return lwmi_connect_ex(address, NULL, 0, 0, ret, err);
}

LWMI_EXPORT lwmi_conn *lwmi_close(lwmi_conn *conn) {
        if (conn && conn->dispatching) {
                /* From a callback: the dispatch loop still holds the
                 * connection; it frees it on the way out. */
                conn->close_requested = true;
                conn->stop = true;
                return NULL;
        }
        return conn_free(conn);
}

LWMI_EXPORT const char *lwmi_server_name(const lwmi_conn *conn) {
        return conn ? conn->server_name : NULL;
}

LWMI_EXPORT const char *lwmi_server_version(const lwmi_conn *conn) {
        return conn ? conn->server_version : NULL;
}

LWMI_EXPORT const char *lwmi_session_id(const lwmi_conn *conn) {
        return conn ? conn->session_id : NULL;
}

LWMI_EXPORT unsigned lwmi_keepalive_ms(const lwmi_conn *conn) {
        return conn ? conn->keepalive_ms : 0;
}

LWMI_EXPORT void lwmi_set_timeout(lwmi_conn *conn, unsigned timeout_ms) {
        if (conn)
                conn->timeout_ms = timeout_ms;
}

LWMI_EXPORT void lwmi_set_max_message(lwmi_conn *conn, size_t bytes) {
        if (conn)
                conn->max_message = bytes ? bytes : CONN_DEFAULT_MAX_MESSAGE;
}

LWMI_EXPORT bool lwmi_is_broken(const lwmi_conn *conn) {
        return !conn || conn->broken;
}

LWMI_EXPORT const char *lwmi_version(void) {
        return LWMI_VERSION;
}
