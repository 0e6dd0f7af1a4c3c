/* Unit tests for liblwmi's asynchronous side: sinks, registrations,
 * lwmi_dispatch() and lwmi_run(), the order of callbacks and of answers to
 * the server's Pings, transport failures, the notification queue's bound,
 * cancelling and publishing. The test plays the server on the other end of
 * a socketpair (fake-peer.h); where the client must be watched while it is
 * blocked in a callback, a forked child plays the server. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "conn.h"
#include "idmap.h"
#include "liberr.h"
#include "lwmi/lwmi.h"
#include "mem.h"
#include "fake-peer.h"

/* What the callbacks saw, as text: "S:Icall.seq*n" for an Indicate of n
 * objects on sink S, "S:Scall=STATUS" for a status, "S:Dfirst-last/count"
 * for dropped events, separated by spaces. */
typedef struct Log {
        char text[16384];
        size_t len;
        char last_message[1024];
        /* What a callback does besides logging (see the tests). */
        lwmi_conn *conn;
        lwmi_sink *free_sink;
        bool stop;
        bool close;
        bool nested_ping;
        const char *nested_send; /* written to peer_fd before the nested Ping */
        int peer_fd;
        int nested_r;
        int block_fd; /* >= 0: the next callback reads one byte from it */
} Log;

static void log_init(Log *l) {
        memset(l, 0, sizeof(*l));
        l->block_fd = -1;
}

static void log_add(Log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_add(Log *l, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        if (l->len > 0 && l->len + 1 < sizeof(l->text))
                l->text[l->len++] = ' ';
        int n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
        va_end(ap);
        assert_true(n > 0 && (size_t)n < sizeof(l->text) - l->len);
        l->len += (size_t)n;
}

static void log_actions(Log *l) {
        if (l->block_fd >= 0) {
                char ch;
                ssize_t k;
                while ((k = read(l->block_fd, &ch, 1)) < 0 && errno == EINTR)
                        ;
                assert_int_equal(k, 1);
                l->block_fd = -1; /* once */
        }
        if (l->nested_ping) {
                if (l->nested_send)
                        peer_send(l->peer_fd, l->nested_send);
                l->nested_r = lwmi_ping(l->conn, NULL);
        }
        if (l->free_sink)
                l->free_sink = lwmi_sink_free(l->free_sink);
        if (l->stop)
                lwmi_stop(l->conn);
        if (l->close) {
                l->close = false;
                lwmi_close(l->conn);
        }
}

static void rec_indicate(lwmi_sink *sink, uint64_t call, uint64_t seq, json_t *objects,
                         void *userdata) {
        Log *l = userdata;
        assert_true(json_is_array(objects));
        log_add(l, "%" PRIu64 ":I%" PRIu64 ".%" PRIu64 "*%zu", lwmi_sink_id(sink), call, seq,
                json_array_size(objects));
        log_actions(l);
}

static void rec_status(lwmi_sink *sink, uint64_t call, const char *status, const char *message,
                       void *userdata) {
        Log *l = userdata;
        assert_non_null(message);
        log_add(l, "%" PRIu64 ":S%" PRIu64 "=%s", lwmi_sink_id(sink), call, status);
        snprintf(l->last_message, sizeof(l->last_message), "%s", message);
        log_actions(l);
}

static void rec_dropped(lwmi_sink *sink, uint64_t first, uint64_t last, uint64_t count,
                        void *userdata) {
        Log *l = userdata;
        log_add(l, "%" PRIu64 ":D%" PRIu64 "-%" PRIu64 "/%" PRIu64, lwmi_sink_id(sink), first, last,
                count);
        log_actions(l);
}

static const lwmi_sink_ops rec_ops = { rec_indicate, rec_status, rec_dropped };

/* Register a notification query on s, the server answering with `call`
 * (JSON text: 7 or "7"); checks the request and returns the call id. */
static uint64_t register_as(Pair *p, lwmi_sink *s, const char *call) {
        char line[256];
        uint64_t id = p->c->next_id;
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"result\":{\"call\":%s}}\n", id, call);
        peer_send(p->peer, line);
        uint64_t ret = 0;
        lwmi_error err;
        int r = lwmi_exec_notification_query_async(p->c, s, "root/app", "SELECT * FROM App_Event",
                                                   &ret, &err);
        if (r < 0)
                fail_msg("register: %s", err.message);
        json_t *m = peer_read_message(p->peer);
        assert_request(m, (json_int_t)id, "ExecNotificationQueryAsync");
        json_t *params = json_object_get(m, "params");
        char sink_text[24];
        snprintf(sink_text, sizeof(sink_text), "%" PRIu64, lwmi_sink_id(s));
        assert_string_equal(json_string_value(json_object_get(params, "sink")), sink_text);
        assert_string_equal(json_string_value(json_object_get(params, "namespace")), "root/app");
        assert_string_equal(json_string_value(json_object_get(params, "query")),
                            "SELECT * FROM App_Event");
        json_decref(m);
        return ret;
}

static void send_indicate(int fd, uint64_t sink, uint64_t call, uint64_t seq, size_t n) {
        char line[4096];
        int len = snprintf(
                line, sizeof(line),
                "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":\"%" PRIu64
                "\",\"call\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"objects\":[",
                sink, call, seq);
        for (size_t i = 0; i < n; i++)
                len += snprintf(line + len, sizeof(line) - (size_t)len, "%s{\"Id\":%zu}",
                                i ? "," : "", i);
        snprintf(line + len, sizeof(line) - (size_t)len, "]}}\n");
        peer_send(fd, line);
}

static void send_status(int fd, uint64_t sink, uint64_t call, const char *status) {
        char line[512];
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"method\":\"SetStatus\",\"params\":{\"sink\":\"%" PRIu64
                 "\",\"call\":%" PRIu64 ",\"status\":\"%s\",\"message\":\"m\"}}\n",
                 sink, call, status);
        peer_send(fd, line);
}

static void send_result(int fd, uint64_t id, const char *result) {
        char line[512];
        snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"result\":%s}\n", id,
                 result);
        peer_send(fd, line);
}

/* Dispatch until nothing is queued; returns the last result. */
static int dispatch_all(lwmi_conn *c, lwmi_error *err) {
        int r;
        while ((r = lwmi_dispatch(c, err)) == 1)
                ;
        return r;
}

/* -- the id map -- */

static void test_idmap(void **state) {
        (void)state;
        IdMap m = IDMAP_INIT;
        assert_null(idmap_get(&m, 1));
        /* Not even the first bucket array: the built-in bucket serves. */
        IdMapNode a = { .key = 5 }, b = { .key = 6 };
        mem_fail_at(1);
        idmap_put(&m, &a);
        mem_fail_at(0);
        assert_null(m.buckets);
        idmap_put(&m, &b);
        assert_ptr_equal(idmap_get(&m, 5), &a);
        assert_ptr_equal(idmap_get(&m, 6), &b);
        idmap_remove(&m, &a);
        idmap_remove(&m, &b);
        assert_int_equal(m.n, 0);
        idmap_done(&m);

        enum {
                N = 5000
        };
        IdMapNode *nodes = calloc(N, sizeof(*nodes));
        assert_non_null(nodes);
        for (size_t i = 0; i < N; i++) {
                nodes[i].key = i * 7919 + (i % 3 ? 0 : UINT64_C(1) << 40);
                if (i == N / 2)
                        mem_fail_at(1); /* one growth fails: chains get longer */
                idmap_put(&m, &nodes[i]);
                mem_fail_at(0);
        }
        assert_int_equal(m.n, N);
        for (size_t i = 0; i < N; i++)
                assert_ptr_equal(idmap_get(&m, nodes[i].key), &nodes[i]);
        assert_null(idmap_get(&m, 3));
        for (size_t i = 0; i < N; i += 2)
                idmap_remove(&m, &nodes[i]);
        for (size_t i = 0; i < N; i++)
                assert_ptr_equal(idmap_get(&m, nodes[i].key), i % 2 ? &nodes[i] : NULL);
        idmap_done(&m);
        free(nodes);
}

/* -- sinks and registrations -- */

static void test_sink_basics(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        errno = 0;
        assert_null(lwmi_sink_new(NULL, &rec_ops, &l));
        assert_int_equal(errno, EINVAL);
        assert_null(lwmi_sink_new(p.c, NULL, &l));
        lwmi_sink *a = lwmi_sink_new(p.c, &rec_ops, &l);
        lwmi_sink *b = lwmi_sink_new(p.c, &rec_ops, &l);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(lwmi_sink_id(a), 1);
        assert_int_equal(lwmi_sink_id(b), 2);
        assert_int_equal(lwmi_sink_call_count(a), 0);
        assert_int_equal(lwmi_sink_id(NULL), 0);
        assert_int_equal(lwmi_sink_call_count(NULL), 0);
        assert_null(lwmi_sink_free(NULL));
        assert_null(lwmi_sink_free(a));
        /* Ids are never reused within a connection. */
        lwmi_sink *c3 = lwmi_sink_new(p.c, &rec_ops, &l);
        assert_int_equal(lwmi_sink_id(c3), 3);
        mem_fail_at(1);
        errno = 0;
        assert_null(lwmi_sink_new(p.c, &rec_ops, &l));
        assert_int_equal(errno, ENOMEM);
        mem_fail_at(0);
        /* Freeing sinks without calls sends nothing. */
        lwmi_sink_free(c3);
        lwmi_sink_free(b);
        assert_int_equal(p.c->out.len, 0);
        pair_done(&p);
}

static void test_deliver_in_order(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
        uint64_t call = register_as(&p, s, "7");
        assert_int_equal(call, 7);
        assert_int_equal(lwmi_sink_call_count(s), 1);
        assert_int_equal(lwmi_poll_timeout(p.c), -1);

        send_indicate(p.peer, 1, 7, 1, 1);
        send_indicate(p.peer, 1, 7, 2, 3);
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"method\":\"EventsDropped\",\"params\":"
                          "{\"sink\":\"1\",\"first_seq\":3,\"last_seq\":4,\"count\":2}}\n");
        /* Numbers may come as decimal strings, as 64-bit values do. */
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":1,"
                          "\"call\":\"7\",\"seq\":\"5\",\"objects\":[{}]}}\n");
        send_status(p.peer, 1, 7, "WBEM_E_CALL_CANCELLED");
        lwmi_error err;
        assert_int_equal(dispatch_all(p.c, &err), 0);
        assert_string_equal(l.text, "1:I7.1*1 1:I7.2*3 1:D3-4/2 1:I7.5*1 "
                                    "1:S7=WBEM_E_CALL_CANCELLED");
        assert_string_equal(l.last_message, "m");
        assert_int_equal(lwmi_sink_call_count(s), 0);
        assert_int_equal(p.c->queued_bytes, 0);

        /* After its status the call is unknown: more for it is dropped. */
        send_indicate(p.peer, 1, 7, 6, 1);
        send_status(p.peer, 1, 7, "WBEM_S_NO_ERROR");
        l.len = 0;
        l.text[0] = '\0';
        assert_int_equal(dispatch_all(p.c, &err), 0);
        assert_string_equal(l.text, "");
        assert_false(lwmi_is_broken(p.c));
        lwmi_sink_free(s);
        pair_done(&p);
}

static void test_exec_query_async(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
        /* The results may follow the response in the same read. */
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"call\":\"12\"}}\n");
        send_indicate(p.peer, 1, 12, 1, 2);
        send_indicate(p.peer, 1, 12, 2, 1);
        peer_send(p.peer,
                  "{\"jsonrpc\":\"2.0\",\"method\":\"SetStatus\",\"params\":{\"sink\":\"1\","
                  "\"call\":12,\"status\":\"WBEM_S_NO_ERROR\"}}\n");
        uint64_t call = 0;
        assert_int_equal(lwmi_exec_query_async(p.c, s, NULL, "SELECT * FROM A", &call, NULL), 0);
        assert_int_equal(call, 12);
        /* Nothing is delivered inside the synchronous part. */
        assert_string_equal(l.text, "");
        assert_int_equal(lwmi_poll_timeout(p.c), 0);
        /* The status was read already: the call is over for the library. */
        assert_int_equal(lwmi_sink_call_count(s), 0);
        json_t *m = peer_read_message(p.peer);
        assert_request(m, 1, "ExecQueryAsync");
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(m, "params"), "namespace")),
                "root/cimv2");
        json_decref(m);
        assert_int_equal(dispatch_all(p.c, NULL), 0);
        assert_string_equal(l.text, "1:I12.1*2 1:I12.2*1 1:S12=WBEM_S_NO_ERROR");
        assert_string_equal(l.last_message, ""); /* the server said none */
        lwmi_sink_free(s);
        pair_done(&p);
}

static void test_registration_errors(void **state) {
        (void)state;
        Pair p = pair_new();
        Pair q = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
        lwmi_sink *other = lwmi_sink_new(q.c, &rec_ops, &l);
        lwmi_error err;
        uint64_t call = 99;
        assert_int_equal(
                lwmi_exec_notification_query_async(p.c, other, NULL, "SELECT", &call, &err),
                -EINVAL);
        assert_non_null(strstr(err.message, "another connection"));
        assert_int_equal(lwmi_exec_notification_query_async(p.c, NULL, NULL, "x", &call, &err),
                         -EINVAL);
        assert_int_equal(lwmi_exec_query_async(NULL, s, NULL, "x", &call, &err), -EINVAL);
        assert_int_equal(lwmi_exec_query_async(p.c, s, NULL, "\xff", &call, &err), -EINVAL);
        assert_int_equal(p.c->next_id, 1);

        /* The server refuses the query: no call is entered. */
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":"
                          "\"expected FROM\",\"data\":{\"status\":\"WBEM_E_INVALID_QUERY\","
                          "\"line\":1,\"column\":10}}}\n");
        assert_int_equal(
                lwmi_exec_notification_query_async(p.c, s, NULL, "SELECT * FORM x", &call, &err),
                -EREMOTEIO);
        assert_string_equal(err.status, "WBEM_E_INVALID_QUERY");
        assert_int_equal(err.column, 10);
        assert_int_equal(lwmi_sink_call_count(s), 0);
        assert_int_equal(call, 99);
        /* A result that names no call: an error, the connection lives. */
        send_result(p.peer, 2, "{\"calls\":1}");
        assert_int_equal(lwmi_exec_notification_query_async(p.c, s, NULL, "SELECT", &call, &err),
                         -EPROTO);
        assert_non_null(strstr(err.message, "names no call"));
        assert_false(lwmi_is_broken(p.c));
        /* A call id the server already gave to an open call breaks it. */
        json_decref(peer_read_message(p.peer)); /* the failed ones' requests */
        json_decref(peer_read_message(p.peer));
        register_as(&p, s, "5");
        send_result(p.peer, 4, "{\"call\":5}");
        assert_int_equal(lwmi_exec_notification_query_async(p.c, s, NULL, "SELECT", &call, &err),
                         -EPROTO);
        assert_non_null(strstr(err.message, "already open"));
        assert_true(lwmi_is_broken(p.c));
        assert_int_equal(call, 99);
        lwmi_sink_free(s);
        lwmi_sink_free(other);
        pair_done(&p);
        pair_done(&q);
}

/* A registration whose caller gave up: the late answer enters an orphan
 * that is cancelled at once and whose notifications nobody sees. */
static void test_registration_timeout_orphan(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
        lwmi_set_timeout(p.c, 30);
        lwmi_error err;
        assert_int_equal(lwmi_exec_notification_query_async(p.c, s, NULL, "SELECT", NULL, &err),
                         -ETIMEDOUT);
        assert_non_null(strstr(err.message, "ExecNotificationQueryAsync"));
        lwmi_set_timeout(p.c, 0);
        json_decref(peer_read_message(p.peer));

        send_result(p.peer, 1, "{\"call\":40}");
        send_indicate(p.peer, 1, 40, 1, 1);
        send_result(p.peer, 2, "{}");
        assert_int_equal(lwmi_ping(p.c, NULL), 0);
        assert_int_equal(lwmi_sink_call_count(s), 0);
        assert_non_null(conn_find_call(p.c, 40));
        /* The library cancelled it on its own, as the answer came. */
        json_t *m = peer_read_message(p.peer);
        assert_request(m, 2, "Ping");
        json_decref(m);
        m = peer_read_message(p.peer);
        assert_request(m, 3, "CancelAsyncCall");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "params"), "call")),
                         40);
        json_decref(m);
        /* An app can neither see nor cancel it. */
        assert_int_equal(lwmi_cancel_call(p.c, 40, &err), -ENOENT);
        send_status(p.peer, 1, 40, "WBEM_E_CALL_CANCELLED");
        send_result(p.peer, 3, "{\"cancelled\":1}");
        send_result(p.peer, 4, "{}");
        assert_int_equal(lwmi_ping(p.c, NULL), 0);
        assert_null(conn_find_call(p.c, 40));
        assert_int_equal(p.c->n_pending, 0);
        assert_int_equal(dispatch_all(p.c, NULL), 0);
        assert_string_equal(l.text, "");
        lwmi_sink_free(s);
        pair_done(&p);
}

/* -- Ping answers wait for the callbacks before them -- */

static void test_ping_queued_behind_notifications(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
        register_as(&p, s, "3");
        /* During a synchronous call: an Indicate, then a Ping. The Ping
         * must wait for the Indicate's callback, so the call may not
         * answer it. */
        send_indicate(p.peer, 1, 3, 1, 1);
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"method\":\"Ping\"}\n");
        send_result(p.peer, 2, "{}");
        assert_int_equal(lwmi_ping(p.c, NULL), 0);
        json_decref(peer_read_message(p.peer)); /* the Ping request */
        assert_false(peer_readable(p.peer, 50));
        assert_int_equal(lwmi_poll_timeout(p.c), 0);
        assert_int_equal(dispatch_all(p.c, NULL), 0);
        assert_string_equal(l.text, "1:I3.1*1");
        peer_expect_ping_answer(p.peer, "s:1");

        /* A Ping that finds nothing queued is answered at once, even
         * inside a synchronous call. */
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":\"s:2\",\"method\":\"Ping\"}\n");
        send_result(p.peer, 3, "{}");
        assert_int_equal(lwmi_ping(p.c, NULL), 0);
        json_decref(peer_read_message(p.peer));
        peer_expect_ping_answer(p.peer, "s:2");

        /* A synchronous call made from a callback: a Ping that comes in
         * meanwhile waits until the callback has returned, and for the
         * next dispatch (this one delivers only what it found queued). */
        send_indicate(p.peer, 1, 3, 2, 1);
        l.conn = p.c;
        l.nested_ping = true;
        l.peer_fd = p.peer;
        l.nested_send = "{\"jsonrpc\":\"2.0\",\"id\":\"s:3\",\"method\":\"Ping\"}\n"
                        "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}\n";
        assert_true(peer_readable(p.c->fd, 1000));
        assert_int_equal(lwmi_dispatch(p.c, NULL), 1);
        l.nested_ping = false;
        assert_int_equal(l.nested_r, 0);
        json_decref(peer_read_message(p.peer)); /* the nested Ping */
        assert_false(peer_readable(p.peer, 50));
        assert_int_equal(lwmi_dispatch(p.c, NULL), 0);
        peer_expect_ping_answer(p.peer, "s:3");
        lwmi_sink_free(s);
        pair_done(&p);
}

/* The server's side of test_ping_waits_for_blocked_callback: answer the
 * registration, send an Indicate and a Ping, check that no answer comes
 * while the client's callback is blocked, release it, then expect the
 * answer. Exits with the number of the check that failed. */
static void child_ping_server(int fd, int release_fd) {
        json_t *m = json_loads(read_line(fd) ?: "", 0, NULL);
        if (!m)
                _exit(10);
        json_decref(m);
        peer_send(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"call\":1}}\n"
                      "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":\"1\","
                      "\"call\":1,\"seq\":1,\"objects\":[{}]}}\n"
                      "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"method\":\"Ping\"}\n");
        /* The callback is blocked now (or soon): for 300 ms, silence. */
        if (peer_readable(fd, 300))
                _exit(11);
        if (write(release_fd, "x", 1) != 1)
                _exit(12);
        if (!peer_readable(fd, 5000))
                _exit(13);
        m = json_loads(read_line(fd) ?: "", 0, NULL);
        if (!m || strcmp(json_string_value(json_object_get(m, "id")) ?: "", "s:1") != 0 ||
            !json_is_object(json_object_get(m, "result")))
                _exit(14);
        json_decref(m);
        _exit(0);
}

static void test_ping_waits_for_blocked_callback(void **state) {
        (void)state;
        Pair p = pair_new();
        int release[2];
        assert_int_equal(pipe(release), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(release[0]);
                lwmi_close(p.c);
                child_ping_server(p.peer, release[1]);
        }
        close(release[1]);
        close(p.peer);
        p.peer = -1;
        Log l;
        log_init(&l);
        l.block_fd = release[0];
        lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
        assert_int_equal(lwmi_exec_notification_query_async(p.c, s, NULL, "SELECT", NULL, NULL), 0);
        /* Run until the child is satisfied and hangs up. */
        lwmi_error err;
        int r = lwmi_run(p.c, 10000, &err);
        assert_int_equal(r, -ECONNRESET);
        assert_non_null(strstr(err.message, "closed by the server"));
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_string_equal(l.text, "1:I1.1*1 1:S1=WBEM_E_TRANSPORT_FAILURE");
        close(release[0]);
        lwmi_sink_free(s);
        pair_done(&p);
}

/* -- losing the connection -- */

static void test_transport_failure_once_per_call(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *a = lwmi_sink_new(p.c, &rec_ops, &l);
        lwmi_sink *b = lwmi_sink_new(p.c, &rec_ops, &l);
        register_as(&p, a, "1");
        register_as(&p, b, "2");
        register_as(&p, a, "3");
        register_as(&p, b, "4");
        send_status(p.peer, 2, 4, "WBEM_S_NO_ERROR"); /* ended before the loss */
        send_indicate(p.peer, 1, 3, 1, 2);
        int fd = lwmi_fd(p.c);
        close(p.peer);
        p.peer = -1;
        lwmi_error err;
        assert_int_equal(dispatch_all(p.c, &err), -ECONNRESET);
        assert_int_equal(err.code, LWMI_ERROR_CONNECTION_LOST);
        assert_string_equal(l.text, "2:S4=WBEM_S_NO_ERROR 1:I3.1*2 "
                                    "1:S1=WBEM_E_TRANSPORT_FAILURE 2:S2=WBEM_E_TRANSPORT_FAILURE "
                                    "1:S3=WBEM_E_TRANSPORT_FAILURE");
        assert_non_null(strstr(l.last_message, "connection to the server lost"));
        assert_int_equal(lwmi_sink_call_count(a), 0);
        assert_int_equal(lwmi_sink_call_count(b), 0);
        /* Exactly once: more dispatches tell nothing more. */
        size_t len = l.len;
        assert_int_equal(lwmi_dispatch(p.c, &err), -ECONNRESET);
        assert_int_equal(lwmi_run(p.c, 10, &err), -ECONNRESET);
        assert_int_equal(l.len, len);
        /* Later calls fail at once; the descriptor stays until close. */
        assert_int_equal(lwmi_ping(p.c, &err), -ECONNRESET);
        assert_string_equal(err.status, "WBEM_E_TRANSPORT_FAILURE");
        assert_int_equal(lwmi_cancel_call(p.c, 1, &err), -ECONNRESET);
        assert_int_equal(lwmi_exec_notification_query_async(p.c, a, NULL, "SELECT", NULL, &err),
                         -ECONNRESET);
        assert_int_equal(lwmi_fd(p.c), fd);
        assert_true(fcntl(fd, F_GETFD) >= 0);
        assert_int_equal(lwmi_poll_timeout(p.c), 0);
        assert_int_equal(lwmi_events(p.c), POLLIN);
        lwmi_sink_free(a);
        lwmi_sink_free(b);
        pair_done(&p);
}

static void test_lost_during_sync_call(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
        register_as(&p, s, "8");
        send_indicate(p.peer, 1, 8, 1, 1);
        shutdown(p.peer, SHUT_WR);
        lwmi_error err;
        assert_int_equal(lwmi_ping(p.c, &err), -ECONNRESET);
        assert_string_equal(l.text, ""); /* never from inside a call */
        assert_int_equal(lwmi_poll_timeout(p.c), 0);
        assert_int_equal(dispatch_all(p.c, &err), -ECONNRESET);
        assert_string_equal(l.text, "1:I8.1*1 1:S8=WBEM_E_TRANSPORT_FAILURE");
        lwmi_sink_free(s);
        pair_done(&p);
}

static void test_protocol_violations(void **state) {
        (void)state;
        static const struct {
                const char *line;
                const char *expect;
        } cases[] = {
                { "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\"}\n", "Indicate without params" },
                { "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":\"1\","
                  "\"call\":1,\"seq\":1}}\n",
                  "\"objects\" array" },
                { "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":\"x\","
                  "\"call\":1,\"seq\":1,\"objects\":[]}}\n",
                  "valid \"sink\"" },
                { "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":1,"
                  "\"call\":-1,\"seq\":1,\"objects\":[]}}\n",
                  "valid \"call\"" },
                { "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":1,"
                  "\"call\":1,\"seq\":\"99999999999999999999999\",\"objects\":[]}}\n",
                  "valid \"seq\"" },
                { "{\"jsonrpc\":\"2.0\",\"method\":\"SetStatus\",\"params\":{\"sink\":1,"
                  "\"call\":1}}\n",
                  "valid \"status\"" },
                { "{\"jsonrpc\":\"2.0\",\"method\":\"SetStatus\",\"params\":{\"sink\":1,"
                  "\"call\":1,\"status\":\"X\",\"message\":5}}\n",
                  "valid \"status\"" },
                { "{\"jsonrpc\":\"2.0\",\"method\":\"EventsDropped\",\"params\":{\"sink\":1,"
                  "\"first_seq\":1,\"last_seq\":2}}\n",
                  "valid \"count\"" },
                { "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":2,"
                  "\"call\":1,\"seq\":1,\"objects\":[]}}\n",
                  "names sink 2, but the call is on sink 1" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Pair p = pair_new();
                Log l;
                log_init(&l);
                lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
                register_as(&p, s, "1");
                peer_send(p.peer, cases[i].line);
                lwmi_error err;
                assert_int_equal(dispatch_all(p.c, &err), -ECONNRESET);
                assert_int_equal(err.code, LWMI_ERROR_PROTOCOL);
                if (!strstr(err.message, cases[i].expect))
                        fail_msg("case %zu: '%s' does not say '%s'", i, err.message,
                                 cases[i].expect);
                assert_string_equal(l.text, "1:S1=WBEM_E_TRANSPORT_FAILURE");
                assert_string_equal(l.last_message, err.message);
                assert_null(read_line(p.peer)); /* closed */
                lwmi_sink_free(s);
                pair_done(&p);
        }
}

/* -- the notification queue's bound -- */

static void test_queue_bound(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
        register_as(&p, s, "1");
        lwmi_set_max_queued(p.c, 1000);
        /* Each Indicate is about 100 bytes: the tenth or so goes over
         * while a synchronous call waits. */
        for (uint64_t seq = 1; seq <= 30; seq++)
                send_indicate(p.peer, 1, 1, seq, 1);
        send_result(p.peer, 2, "{}");
        lwmi_error err;
        assert_int_equal(lwmi_ping(p.c, &err), -ENOBUFS);
        assert_int_equal(err.code, LWMI_ERROR_QUEUE_OVERFLOW);
        assert_string_equal(err.status, "WBEM_E_TRANSPORT_FAILURE");
        assert_non_null(strstr(err.message, "more than 1000 bytes"));
        assert_true(lwmi_is_broken(p.c));
        assert_true(p.c->queued_bytes <= 1000);
        size_t queued = p.c->n_notifications;
        assert_true(queued >= 5 && queued < 30);
        /* What was queued is still delivered, then the failure. */
        assert_int_equal(dispatch_all(p.c, &err), -ECONNRESET);
        char expect[64];
        snprintf(expect, sizeof(expect), "1:I1.%zu*1 1:S1=WBEM_E_TRANSPORT_FAILURE", queued);
        assert_non_null(strstr(l.text, expect));
        assert_non_null(strstr(l.last_message, "lwmi_set_max_queued"));
        json_decref(peer_read_message(p.peer)); /* the Ping request */
        assert_null(read_line(p.peer));         /* then the end */
        lwmi_sink_free(s);
        pair_done(&p);

        /* The default is 64 MiB; 0 restores it. */
        p = pair_new();
        assert_int_equal(p.c->max_queued, (size_t)64 << 20);
        lwmi_set_max_queued(p.c, 10);
        lwmi_set_max_queued(p.c, 0);
        assert_int_equal(p.c->max_queued, (size_t)64 << 20);
        lwmi_set_max_queued(NULL, 10);
        pair_done(&p);
}

/* -- cancelling -- */

static void test_cancel_call_and_sink(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *a = lwmi_sink_new(p.c, &rec_ops, &l);
        lwmi_sink *b = lwmi_sink_new(p.c, &rec_ops, &l);
        register_as(&p, a, "10");
        register_as(&p, a, "\"11\"");
        register_as(&p, a, "12");
        register_as(&p, b, "20");
        assert_int_equal(lwmi_sink_call_count(a), 3);

        /* One call: the server's SetStatus comes before its response. */
        send_status(p.peer, 1, 10, "WBEM_E_CALL_CANCELLED");
        send_result(p.peer, 5, "{\"cancelled\":1}");
        lwmi_error err;
        assert_int_equal(lwmi_cancel_call(p.c, 10, &err), 0);
        json_t *m = peer_read_message(p.peer);
        assert_request(m, 5, "CancelAsyncCall");
        json_t *params = json_object_get(m, "params");
        assert_int_equal(json_integer_value(json_object_get(params, "call")), 10);
        assert_null(json_object_get(params, "sink"));
        json_decref(m);
        assert_int_equal(lwmi_sink_call_count(a), 2);
        /* A call the server named with a string is cancelled the same way. */
        send_status(p.peer, 1, 11, "WBEM_E_CALL_CANCELLED");
        send_result(p.peer, 6, "{\"cancelled\":\"1\"}");
        assert_int_equal(lwmi_cancel_call(p.c, 11, &err), 0);
        m = peer_read_message(p.peer);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(m, "params"), "call")), "11");
        json_decref(m);

        /* Not open: refused here without asking the server. */
        assert_int_equal(lwmi_cancel_call(p.c, 10, &err), -ENOENT);
        assert_string_equal(err.status, "WBEM_E_NOT_FOUND");
        assert_int_equal(lwmi_cancel_call(p.c, 999, &err), -ENOENT);
        assert_int_equal(lwmi_cancel_call(NULL, 1, &err), -EINVAL);
        assert_int_equal(p.c->next_id, 7);
        /* Open here but already over at the server. */
        send_result(p.peer, 7, "{\"cancelled\":0}");
        assert_int_equal(lwmi_cancel_call(p.c, 20, &err), -ENOENT);
        assert_non_null(strstr(err.message, "already ended"));
        json_decref(peer_read_message(p.peer));
        send_status(p.peer, 2, 20, "WBEM_S_NO_ERROR");

        /* A whole sink. */
        send_status(p.peer, 1, 12, "WBEM_E_CALL_CANCELLED");
        send_result(p.peer, 8, "{\"cancelled\":1}");
        size_t cancelled = 0;
        assert_int_equal(lwmi_cancel_sink(p.c, a, &cancelled, &err), 0);
        assert_int_equal(cancelled, 1);
        m = peer_read_message(p.peer);
        assert_request(m, 8, "CancelAsyncCall");
        params = json_object_get(m, "params");
        assert_string_equal(json_string_value(json_object_get(params, "sink")), "1");
        assert_null(json_object_get(params, "call"));
        json_decref(m);
        assert_int_equal(lwmi_sink_call_count(a), 0);
        /* The sink stays usable; a count the server does not give is an
         * error. */
        send_result(p.peer, 9, "{}");
        assert_int_equal(lwmi_cancel_sink(p.c, a, NULL, &err), -EPROTO);
        json_decref(peer_read_message(p.peer));
        assert_int_equal(lwmi_cancel_sink(p.c, NULL, NULL, &err), -EINVAL);
        register_as(&p, a, "13");
        assert_int_equal(lwmi_sink_call_count(a), 1);

        assert_int_equal(dispatch_all(p.c, NULL), 0);
        assert_string_equal(l.text, "1:S10=WBEM_E_CALL_CANCELLED 1:S11=WBEM_E_CALL_CANCELLED "
                                    "2:S20=WBEM_S_NO_ERROR 1:S12=WBEM_E_CALL_CANCELLED");
        lwmi_sink_free(a);
        lwmi_sink_free(b);
        pair_done(&p);
}

static void test_sink_free_cancels_and_drops(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *a = lwmi_sink_new(p.c, &rec_ops, &l);
        lwmi_sink *b = lwmi_sink_new(p.c, &rec_ops, &l);
        register_as(&p, a, "1");
        register_as(&p, a, "2");
        register_as(&p, b, "3");
        /* Queued for a, then a is freed before the dispatch. */
        send_indicate(p.peer, 1, 1, 1, 1);
        send_indicate(p.peer, 2, 3, 1, 1);
        send_result(p.peer, 4, "{}");
        assert_int_equal(lwmi_ping(p.c, NULL), 0);
        json_decref(peer_read_message(p.peer));
        lwmi_sink_free(a);
        /* It told the server, without waiting. */
        json_t *m = peer_read_message(p.peer);
        assert_request(m, 5, "CancelAsyncCall");
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(m, "params"), "sink")), "1");
        json_decref(m);
        assert_null(conn_find_call(p.c, 1));
        assert_null(conn_find_call(p.c, 2));
        /* What the server still sends for a's calls is dropped; the
         * response to the cancel is swallowed. */
        send_indicate(p.peer, 1, 2, 2, 1);
        send_status(p.peer, 1, 1, "WBEM_E_CALL_CANCELLED");
        send_status(p.peer, 1, 2, "WBEM_E_CALL_CANCELLED");
        send_result(p.peer, 5, "{\"cancelled\":2}");
        send_indicate(p.peer, 2, 3, 2, 1);
        assert_true(peer_readable(p.c->fd, 1000));
        assert_int_equal(dispatch_all(p.c, NULL), 0);
        assert_string_equal(l.text, "2:I3.1*1 2:I3.2*1");
        assert_int_equal(p.c->n_pending, 0);

        /* A sink freed from its own callback, with more queued for it. */
        l.conn = p.c;
        l.free_sink = b;
        send_indicate(p.peer, 2, 3, 3, 1);
        send_indicate(p.peer, 2, 3, 4, 1);
        send_status(p.peer, 2, 3, "WBEM_S_NO_ERROR");
        assert_true(peer_readable(p.c->fd, 1000));
        assert_int_equal(dispatch_all(p.c, NULL), 0);
        assert_null(l.free_sink);
        assert_string_equal(l.text, "2:I3.1*1 2:I3.2*1 2:I3.3*1");
        pair_done(&p);
}

/* -- the loop: stop, run, close from a callback, busy -- */

static void on_alarm(int sig) {
        (void)sig;
}

static void test_stop_and_run(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
        register_as(&p, s, "1");
        l.conn = p.c;
        l.stop = true;
        for (uint64_t seq = 1; seq <= 3; seq++)
                send_indicate(p.peer, 1, 1, seq, 1);
        assert_int_equal(lwmi_run(p.c, 5000, NULL), 1);
        assert_string_equal(l.text, "1:I1.1*1");
        assert_int_equal(lwmi_poll_timeout(p.c), 0);
        assert_int_equal(lwmi_dispatch(p.c, NULL), 1);
        assert_string_equal(l.text, "1:I1.1*1 1:I1.2*1");
        l.stop = false;
        assert_int_equal(lwmi_dispatch(p.c, NULL), 0);
        assert_string_equal(l.text, "1:I1.1*1 1:I1.2*1 1:I1.3*1");

        /* A timeout with nothing to do. */
        uint64_t t0 = conn_now_ms();
        assert_int_equal(lwmi_run(p.c, 60, NULL), 0);
        assert_true(conn_now_ms() - t0 >= 60);
        assert_int_equal(lwmi_run(p.c, 0, NULL), 0);

        /* Dispatching from a callback is refused. */
        p.c->dispatching = true;
        lwmi_error err;
        assert_int_equal(lwmi_dispatch(p.c, &err), -EBUSY);
        assert_int_equal(err.code, LWMI_ERROR_BUSY);
        assert_int_equal(lwmi_run(p.c, 0, &err), -EBUSY);
        p.c->dispatching = false;
        assert_int_equal(lwmi_dispatch(NULL, &err), -EINVAL);
        assert_int_equal(lwmi_run(NULL, 0, &err), -EINVAL);
        lwmi_stop(NULL);

        /* A signal interrupts the wait. */
        struct sigaction sa = { .sa_handler = on_alarm }, old;
        sigemptyset(&sa.sa_mask);
        assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
        ualarm(20000, 0);
        assert_int_equal(lwmi_run(p.c, 2000, &err), -EINTR);
        assert_int_equal(err.code, LWMI_ERROR_INTERRUPTED);
        sigaction(SIGALRM, &old, NULL);
        lwmi_sink_free(s);
        pair_done(&p);
}

static void test_close_from_callback(void **state) {
        (void)state;
        Pair p = pair_new();
        Log l;
        log_init(&l);
        lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
        register_as(&p, s, "1");
        l.conn = p.c;
        l.close = true;
        send_indicate(p.peer, 1, 1, 1, 1);
        send_indicate(p.peer, 1, 1, 2, 1);
        lwmi_error err;
        assert_int_equal(lwmi_run(p.c, 5000, &err), -ECANCELED);
        assert_string_equal(l.text, "1:I1.1*1");
        p.c = NULL;
        /* The sink was detached: it can still be freed. */
        assert_int_equal(lwmi_sink_call_count(s), 0);
        lwmi_sink_free(s);
        assert_null(read_line(p.peer)); /* the socket is closed */
        pair_done(&p);

        /* A sink freed after its connection. */
        p = pair_new();
        s = lwmi_sink_new(p.c, &rec_ops, &l);
        register_as(&p, s, "1");
        lwmi_close(p.c);
        p.c = NULL;
        lwmi_sink_free(s);
        pair_done(&p);
}

/* -- publishing, events, fd -- */

static void test_publish_event(void **state) {
        (void)state;
        Pair p = pair_new();
        json_t *event = json_pack("{s:s, s:i}", "__CLASS", "App_Alert", "Severity", 3);
        send_result(p.peer, 1, "{\"delivered\":4}");
        size_t delivered = 0;
        lwmi_error err;
        assert_int_equal(lwmi_publish_event(p.c, "root/app", event, &delivered, &err), 0);
        assert_int_equal(delivered, 4);
        json_t *m = peer_read_message(p.peer);
        assert_request(m, 1, "PublishEvent");
        json_t *params = json_object_get(m, "params");
        assert_string_equal(json_string_value(json_object_get(params, "namespace")), "root/app");
        assert_true(json_equal(json_object_get(params, "event"), event));
        json_decref(m);
        send_result(p.peer, 2, "{\"delivered\":\"0\"}");
        assert_int_equal(lwmi_publish_event(p.c, NULL, event, NULL, &err), 0);
        json_decref(peer_read_message(p.peer));
        send_result(p.peer, 3, "{}");
        assert_int_equal(lwmi_publish_event(p.c, NULL, event, &delivered, &err), -EPROTO);
        assert_non_null(strstr(err.message, "\"delivered\""));
        json_decref(peer_read_message(p.peer));
        json_t *array = json_array();
        assert_int_equal(lwmi_publish_event(p.c, NULL, array, NULL, &err), -EINVAL);
        assert_int_equal(lwmi_publish_event(NULL, NULL, event, NULL, &err), -EINVAL);
        assert_int_equal(lwmi_publish_event(p.c, "\xff", event, NULL, &err), -EINVAL);
        json_decref(array);
        json_decref(event);
        pair_done(&p);
}

static void test_fd_and_events(void **state) {
        (void)state;
        Pair p = pair_new();
        assert_int_equal(lwmi_fd(p.c), p.c->fd);
        assert_int_equal(lwmi_fd(NULL), -1);
        assert_int_equal(lwmi_events(NULL), 0);
        assert_int_equal(lwmi_poll_timeout(NULL), -1);
        assert_int_equal(lwmi_events(p.c), POLLIN);
        /* A request queued but not yet sent: POLLOUT too; dispatch sends. */
        assert_int_equal(conn_send_request(p.c, "Ping", NULL, NULL, NULL), 0);
        assert_int_equal(lwmi_events(p.c), POLLIN | POLLOUT);
        assert_int_equal(lwmi_dispatch(p.c, NULL), 0);
        assert_int_equal(lwmi_events(p.c), POLLIN);
        json_t *m = peer_read_message(p.peer);
        assert_request(m, 1, "Ping");
        json_decref(m);
        /* A server Ping read by a dispatch with nothing queued is answered
         * in that dispatch. */
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":\"s:9\",\"method\":\"Ping\"}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"Other\"}\n");
        assert_true(peer_readable(p.c->fd, 1000));
        assert_int_equal(lwmi_dispatch(p.c, NULL), 0);
        peer_expect_ping_answer(p.peer, "s:9");
        m = peer_read_message(p.peer);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "error"), "code")),
                         -32601);
        json_decref(m);
        pair_done(&p);
}

/* -- allocation failures -- */

static void test_async_out_of_memory(void **state) {
        (void)state;
        /* Register, receive, dispatch with each allocation failing in
         * turn: a clean error or a lost connection, never a crash, a leak
         * or a status delivered twice. */
        bool finished = false;
        for (unsigned long n = 1; !finished && n < 2000; n++) {
                Pair p = pair_new();
                Log l;
                log_init(&l);
                lwmi_sink *s = lwmi_sink_new(p.c, &rec_ops, &l);
                assert_non_null(s);
                peer_send(p.peer,
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"call\":5}}\n"
                          "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":\"1\","
                          "\"call\":5,\"seq\":1,\"objects\":[{\"a\":1}]}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"method\":\"Ping\"}\n");
                mem_fail_at(n);
                uint64_t call = 0;
                lwmi_error err;
                int r = lwmi_exec_notification_query_async(p.c, s, NULL, "SELECT", &call, &err);
                int d = r < 0 ? 0 : dispatch_all(p.c, &err);
                bool failed = mem_fail_triggered();
                mem_fail_at(0);
                if (!failed) {
                        assert_int_equal(r, 0);
                        assert_int_equal(d, 0);
                        assert_string_equal(l.text, "1:I5.1*1");
                        finished = true;
                } else if (r < 0) {
                        assert_int_equal(r, -ENOMEM);
                        assert_int_equal(err.code, LWMI_ERROR_NO_MEMORY);
                } else if (d < 0) {
                        /* Lost while reading what followed: the call got
                         * its failure, once, after what was queued. */
                        assert_int_equal(d, -ECONNRESET);
                        const char *failure = strstr(l.text, "1:S5=WBEM_E_TRANSPORT_FAILURE");
                        assert_non_null(failure);
                        assert_null(strstr(failure + 1, "1:S5"));
                }
                lwmi_sink_free(s);
                pair_done(&p);
        }
        assert_true(finished);
}

int main(void) {
        assert_int_equal(mem_install_library_hooks(), 0);
        signal(SIGPIPE, SIG_DFL); /* a send without MSG_NOSIGNAL would kill us */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_idmap),
                cmocka_unit_test(test_sink_basics),
                cmocka_unit_test(test_deliver_in_order),
                cmocka_unit_test(test_exec_query_async),
                cmocka_unit_test(test_registration_errors),
                cmocka_unit_test(test_registration_timeout_orphan),
                cmocka_unit_test(test_ping_queued_behind_notifications),
                cmocka_unit_test(test_ping_waits_for_blocked_callback),
                cmocka_unit_test(test_transport_failure_once_per_call),
                cmocka_unit_test(test_lost_during_sync_call),
                cmocka_unit_test(test_protocol_violations),
                cmocka_unit_test(test_queue_bound),
                cmocka_unit_test(test_cancel_call_and_sink),
                cmocka_unit_test(test_sink_free_cancels_and_drops),
                cmocka_unit_test(test_stop_and_run),
                cmocka_unit_test(test_close_from_callback),
                cmocka_unit_test(test_publish_event),
                cmocka_unit_test(test_fd_and_events),
                cmocka_unit_test(test_async_out_of_memory),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
