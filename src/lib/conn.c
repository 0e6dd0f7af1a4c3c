/* Client connections: connect and Hello, the message loop, the pending-call
 * table and the notification queue; see conn.h. */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
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
        c->next_id = 1;
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
        mem_free(p);
}

lwmi_conn *conn_free(lwmi_conn *c) {
        if (!c)
                return NULL;
        if (c->fd >= 0)
                close(c->fd);
        while (c->pending_head)
                pending_free(c, c->pending_head);
        json_t *n;
        while ((n = conn_pop_notification(c)))
                json_decref(n);
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
        if (c->fd >= 0) {
                close(c->fd);
                c->fd = -1;
        }
        /* Nothing more will be sent; calls nobody waits for can go now. The
         * others stay for their callers, who see the connection broken. */
        iobuf_done(&c->out);
        PendingCall *next;
        for (PendingCall *p = c->pending_head; p; p = next) {
                next = p->next;
                if (p->abandoned)
                        pending_free(c, p);
        }
        return r;
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
        if (c->broken) {
                liberr_copy(err, &c->broken_error);
                return c->broken_r;
        }
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

json_t *conn_pop_notification(lwmi_conn *c) {
        Notification *n = c->notify_head;
        if (!n)
                return NULL;
        c->notify_head = n->next;
        if (!c->notify_head)
                c->notify_tail = NULL;
        c->n_notifications--;
        json_t *m = n->message;
        mem_free(n);
        return m;
}

static int conn_queue_notification(lwmi_conn *c, json_t *m) {
        Notification *n = mem_calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->message = json_incref(m);
        if (c->notify_tail)
                c->notify_tail->next = n;
        else
                c->notify_head = n;
        c->notify_tail = n;
        c->n_notifications++;
        return 0;
}

/* A request from the server: Ping gets its empty result; anything else is
 * a method this client does not have. */
static int conn_answer_request(lwmi_conn *c, const char *method, json_t *id) {
        _cleanup_(json_decrefp) json_t *answer = NULL;
        if (strcmp(method, "Ping") == 0)
                answer = json_pack("{s:s, s:O, s:{}}", "jsonrpc", "2.0", "id", id, "result");
        else
                answer = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error",
                                   "code", -32601, "message", "method not found");
        if (!answer || conn_queue_message(c, answer) < 0)
                return -ENOMEM;
        return 0;
}

static PendingCall *conn_find_pending(lwmi_conn *c, json_int_t id) {
        for (PendingCall *p = c->pending_head; p; p = p->next)
                if ((json_int_t)p->id == id)
                        return p;
        return NULL;
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
        if (p->abandoned) {
                pending_free(c, p);
                return 0;
        }
        p->response = json_incref(m);
        p->done = true;
        return 0;
}

/* Handle one complete line (without its '\n'). */
static int conn_handle_line(lwmi_conn *c, const char *line, size_t len) {
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
                if (json_error_code(&je) == json_error_out_of_memory || !je.text[0]) {
                        lwmi_error e;
                        return conn_break(c, liberr_oom(&e), &e);
                }
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
        int r;
        if (id && !json_is_null(id)) {
                if (!json_is_string(id) && !json_is_integer(id))
                        return conn_protocol_error(c, "request id must be a string or integer");
                r = conn_answer_request(c, json_string_value(method), id);
        } else
                r = conn_queue_notification(c, m);
        if (r < 0) {
                lwmi_error e;
                return conn_break(c, liberr_oom(&e), &e);
        }
        return 0;
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
        if (c->broken) {
                liberr_copy(err, &c->broken_error);
                return c->broken_r;
        }
        if (iobuf_append(&c->in, data, n) < 0)
                return liberr_oom(err);
        int r = conn_process_input(c);
        if (r < 0)
                liberr_copy(err, &c->broken_error);
        return r;
}

static int conn_read(lwmi_conn *c) {
        char *dst = iobuf_reserve(&c->in, READ_CHUNK);
        if (!dst) {
                lwmi_error e;
                return conn_break(c, liberr_oom(&e), &e);
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
        return conn_process_input(c);
}

static int conn_flush(lwmi_conn *c) {
        while (c->out.len > 0) {
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
        return 0;
}

int conn_run_once(lwmi_conn *c, int timeout_ms, lwmi_error *err) {
        int r = 0;
        if (!c->broken) {
                /* Send first: most of the time the socket takes it all and
                 * the poll below only has to wait for the answer. */
                r = conn_flush(c);
        }
        if (!c->broken) {
                struct pollfd pfd = {
                        .fd = c->fd,
                        .events = (short)(POLLIN | (c->out.len > 0 ? POLLOUT : 0)),
                };
                int n = poll(&pfd, 1, timeout_ms);
                if (n < 0 && errno != EINTR)
                        return liberr_set(err, -errno, LWMI_ERROR_CONNECTION_LOST,
                                          "WBEM_E_TRANSPORT_FAILURE", "poll: %s", strerror(errno));
                if (n > 0 && (pfd.revents & POLLOUT))
                        r = conn_flush(c);
                if (n > 0 && !c->broken && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
                        r = conn_read(c);
                /* Answers to Pings just read go out without another turn. */
                if (!c->broken && c->out.len > 0)
                        r = conn_flush(c);
        }
        if (c->broken) {
                liberr_copy(err, &c->broken_error);
                return c->broken_r;
        }
        return r;
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

static char *text_of(const json_t *v) {
        if (json_is_string(v))
                return mem_strdup(json_string_value(v));
        if (json_is_integer(v))
                return mem_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return NULL;
}

static int conn_hello(lwmi_conn *c, const char *client, unsigned keepalive_ms, lwmi_error *err) {
        json_t *params = json_pack("{s:s}", "client", client);
        if (!params)
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER",
                                  "client name is not valid UTF-8 (or out of memory)");
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

LWMI_EXPORT int lwmi_connect_ex(const char *address, const char *client, unsigned keepalive_ms,
                                unsigned timeout_ms, lwmi_conn **ret, lwmi_error *err) {
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
        if (a.kind == ADDRESS_TCP)
                return liberr_set(
                        err, -EOPNOTSUPP, LWMI_ERROR_NOT_SUPPORTED, "WBEM_E_NOT_SUPPORTED",
                        "cannot connect to %s: TCP is not supported yet, use a Unix socket",
                        address);
        int fd = -1;
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
        /* The default name is the program's, cut well below the server's
         * limit on names so that it can never make Hello fail. */
        char program[65];
        snprintf(program, sizeof(program), "%s", program_invocation_short_name);
        liberr_trim_utf8(program, sizeof(program));
        r = conn_hello(c, client ? client : program, keepalive_ms, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

LWMI_EXPORT int lwmi_connect(const char *address, lwmi_conn **ret, lwmi_error *err) {
        return lwmi_connect_ex(address, NULL, 0, 0, ret, err);
}

LWMI_EXPORT lwmi_conn *lwmi_close(lwmi_conn *conn) {
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
