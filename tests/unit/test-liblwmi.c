/* Unit tests for liblwmi against a fake server: most tests write the
 * server's side of the conversation into the other end of a socketpair
 * before the call (ids are predictable: 1, 2, ...), then read back what the
 * client sent. Where timing matters (a line split across reads, a server
 * that hangs up after reading the request, connect + Hello) a forked child
 * plays the server. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "address.h"
#include "cleanup.h"
#include "config.h"
#include "conn.h"
#include "iobuf.h"
#include "liberr.h"
#include "lwmi/lwmi.h"
#include "mem.h"
#include "fake-peer.h"

/* A forked server that answers each request in turn with the next of
 * `bodies` ("\"result\":..." or "\"error\":..."), using the request's id,
 * and copies every request line it reads into `log_fd` for the test to
 * check. It runs until the client closes. */
typedef struct Script {
        pid_t pid;
        int log_fd;
} Script;

static Script script_start(Pair *p, const char *const *bodies, size_t n) {
        int log[2];
        assert_int_equal(pipe(log), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(log[0]);
                lwmi_close(p->c);
                for (size_t i = 0;; i++) {
                        char *line = read_line(p->peer);
                        if (!line)
                                _exit(i == n ? 0 : 20);
                        if (i == n)
                                _exit(21);
                        write_all(log[1], line, strlen(line));
                        write_all(log[1], "\n", 1);
                        json_t *m = json_loads(line, 0, NULL);
                        char *id = json_dumps(json_object_get(m, "id"), JSON_ENCODE_ANY);
                        if (!id)
                                _exit(22);
                        char out[4096];
                        snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":%s,%s}\n", id,
                                 bodies[i]);
                        write_all(p->peer, out, strlen(out));
                        free(id);
                        json_decref(m);
                }
        }
        close(log[1]);
        close(p->peer);
        p->peer = -1;
        return (Script){ .pid = pid, .log_fd = log[0] };
}

/* Close the client and check the server saw exactly what it expected. */
static void script_finish(Script *s, Pair *p) {
        lwmi_close(p->c);
        p->c = NULL;
        int status;
        assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        close(s->log_fd);
}

/* -- request and response -- */

static void test_call_result(void **state) {
        (void)state;
        Pair p = pair_new();
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"x\":1}}\n");
        json_t *result = NULL;
        lwmi_error err = LWMI_ERROR_INIT;
        assert_int_equal(lwmi_call(p.c, "Foo", json_pack("{s:i}", "a", 7), &result, &err), 0);
        assert_int_equal(err.code, 0);
        assert_int_equal(json_integer_value(json_object_get(result, "x")), 1);
        json_decref(result);

        json_t *m = peer_read_message(p.peer);
        assert_request(m, 1, "Foo");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "params"), "a")), 7);
        json_decref(m);
        assert_int_equal(p.c->n_pending, 0);
        pair_done(&p);
}

static void test_call_without_params_and_result_null(void **state) {
        (void)state;
        Pair p = pair_new();
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}\n");
        json_t *result = NULL;
        assert_int_equal(lwmi_call(p.c, "Ping", NULL, &result, NULL), 0);
        assert_true(json_is_null(result));
        json_decref(result);
        json_t *m = peer_read_message(p.peer);
        assert_null(json_object_get(m, "params"));
        json_decref(m);
        pair_done(&p);
}

static void test_call_bad_arguments(void **state) {
        (void)state;
        Pair p = pair_new();
        lwmi_error err;
        assert_int_equal(lwmi_call(NULL, "Ping", json_object(), NULL, &err), -EINVAL);
        assert_int_equal(err.code, LWMI_ERROR_INVALID_ARGUMENT);
        assert_int_equal(lwmi_call(p.c, NULL, NULL, NULL, &err), -EINVAL);
        assert_int_equal(lwmi_call(p.c, "X", json_integer(3), NULL, &err), -EINVAL);
        assert_string_equal(err.status, "WBEM_E_INVALID_PARAMETER");
        assert_int_equal(p.c->next_id, 1); /* nothing was sent */
        pair_done(&p);
}

static void test_matching_out_of_order(void **state) {
        (void)state;
        Pair p = pair_new();
        PendingCall *a, *b, *c3;
        assert_int_equal(conn_send_request(p.c, "A", NULL, &a, NULL), 0);
        assert_int_equal(conn_send_request(p.c, "B", NULL, &b, NULL), 0);
        assert_int_equal(conn_send_request(p.c, "C", NULL, &c3, NULL), 0);
        assert_int_equal(p.c->n_pending, 3);
        /* Answers in another order than asked; each lands on its own call. */
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":\"c\"}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"a\"}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"b\"}\n");
        assert_int_equal(conn_wait(p.c, b, 0, NULL), 0);
        assert_int_equal(conn_wait(p.c, a, 0, NULL), 0);
        assert_int_equal(conn_wait(p.c, c3, 0, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(a->response, "result")), "a");
        assert_string_equal(json_string_value(json_object_get(b->response, "result")), "b");
        assert_string_equal(json_string_value(json_object_get(c3->response, "result")), "c");
        conn_pending_release(p.c, a);
        conn_pending_release(p.c, b);
        conn_pending_release(p.c, c3);
        assert_int_equal(p.c->n_pending, 0);

        /* The requests went out in order with ids 1, 2, 3. */
        const char *methods[] = { "A", "B", "C" };
        for (int i = 0; i < 3; i++) {
                json_t *m = peer_read_message(p.peer);
                assert_request(m, i + 1, methods[i]);
                json_decref(m);
        }
        pair_done(&p);
}

static void test_response_to_unknown_id(void **state) {
        (void)state;
        Pair p = pair_new();
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}\n");
        lwmi_error err;
        assert_int_equal(lwmi_call(p.c, "Ping", NULL, NULL, &err), -EPROTO);
        assert_int_equal(err.code, LWMI_ERROR_PROTOCOL);
        assert_non_null(strstr(err.message, "unknown request id 99"));
        assert_true(lwmi_is_broken(p.c));
        pair_done(&p);
}

/* -- what the server sends unasked -- */

static void test_server_ping_answered_while_waiting(void **state) {
        (void)state;
        Pair p = pair_new();
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":\"s:17\",\"method\":\"Ping\"}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"Frobnicate\",\"params\":{}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n");
        assert_int_equal(lwmi_ping(p.c, NULL), 0);

        json_t *m = peer_read_message(p.peer);
        assert_request(m, 1, "Ping");
        json_decref(m);
        m = peer_read_message(p.peer);
        assert_string_equal(json_string_value(json_object_get(m, "jsonrpc")), "2.0");
        assert_string_equal(json_string_value(json_object_get(m, "id")), "s:17");
        assert_true(json_is_object(json_object_get(m, "result")));
        assert_int_equal(json_object_size(json_object_get(m, "result")), 0);
        assert_null(json_object_get(m, "method"));
        json_decref(m);
        /* A request the client does not know gets "method not found". */
        m = peer_read_message(p.peer);
        assert_int_equal(json_integer_value(json_object_get(m, "id")), 5);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "error"), "code")),
                         -32601);
        json_decref(m);
        pair_done(&p);
}

static void test_notifications_queued(void **state) {
        (void)state;
        Pair p = pair_new();
        lwmi_sink_ops ops = { 0 };
        lwmi_sink *sink = lwmi_sink_new(p.c, &ops, NULL);
        assert_non_null(sink);
        /* A registration, then what the server sends for it before the
         * answer to the next call: all queued, in order, nothing
         * delivered inside the synchronous call. */
        peer_send(p.peer,
                  "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"call\":2}}\n"
                  "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":\"1\","
                  "\"call\":2,"
                  "\"seq\":1,\"objects\":[{\"a\":1}]}}\n"
                  "{\"jsonrpc\":\"2.0\",\"method\":\"EventsDropped\",\"params\":{\"sink\":1,"
                  "\"first_seq\":2,\"last_seq\":3,\"count\":2}}\n"
                  "{\"jsonrpc\":\"2.0\",\"method\":\"SetStatus\",\"params\":{\"sink\":\"1\","
                  "\"call\":\"2\","
                  "\"status\":\"WBEM_S_NO_ERROR\"}}\n"
                  "{\"jsonrpc\":\"2.0\",\"method\":\"Frobnicate\",\"params\":{}}\n");
        uint64_t call = 0;
        assert_int_equal(
                lwmi_exec_notification_query_async(p.c, sink, NULL, "SELECT * FROM E", &call, NULL),
                0);
        assert_int_equal(call, 2);
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n");
        lwmi_error err;
        if (lwmi_ping(p.c, &err) < 0)
                fail_msg("%s", err.message);
        assert_int_equal(p.c->n_notifications, 3); /* the unknown method is ignored */
        const NoteKind expect[] = { NOTE_INDICATE, NOTE_EVENTS_DROPPED, NOTE_SET_STATUS };
        for (size_t i = 0; i < 3; i++) {
                Notification *n = conn_pop_notification(p.c);
                assert_non_null(n);
                assert_int_equal(n->kind, expect[i]);
                assert_int_equal(n->sink, 1);
                conn_notification_free(n);
        }
        assert_null(conn_pop_notification(p.c));
        assert_int_equal(p.c->n_notifications, 0);
        assert_int_equal(p.c->queued_bytes, 0);
        /* SetStatus ended the call as it was read. */
        assert_int_equal(lwmi_sink_call_count(sink), 0);

        /* Left in the queue at close: freed with the connection. */
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"method\":\"Ping\"}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n");
        assert_int_equal(lwmi_ping(p.c, NULL), 0);
        lwmi_sink_free(sink);
        pair_done(&p);
}

/* -- errors from the server -- */

static void test_error_with_position(void **state) {
        (void)state;
        Pair p = pair_new();
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,"
                          "\"message\":\"expected FROM, found 'FORM'\",\"data\":{\"status\":"
                          "\"WBEM_E_INVALID_QUERY\",\"line\":2,\"column\":10}}}\n");
        json_t *objects = NULL;
        lwmi_error err;
        assert_int_equal(lwmi_exec_query(p.c, "root/cimv2", "SELECT *\nFORM x", &objects, &err),
                         -EREMOTEIO);
        assert_null(objects);
        assert_int_equal(err.code, -32000);
        assert_string_equal(err.status, "WBEM_E_INVALID_QUERY");
        assert_int_equal(err.line, 2);
        assert_int_equal(err.column, 10);
        assert_string_equal(err.message, "expected FROM, found 'FORM'");
        assert_false(lwmi_is_broken(p.c)); /* an error answer is a normal answer */

        json_t *m = peer_read_message(p.peer);
        assert_request(m, 1, "ExecQuery");
        json_t *params = json_object_get(m, "params");
        assert_string_equal(json_string_value(json_object_get(params, "namespace")), "root/cimv2");
        assert_string_equal(json_string_value(json_object_get(params, "query")),
                            "SELECT *\nFORM x");
        json_decref(m);
        pair_done(&p);
}

static void test_error_without_data(void **state) {
        (void)state;
        Pair p = pair_new();
        static const char *const bodies[] = {
                "\"error\":{\"code\":-32601,\"message\":\"method not found\"}",
                "\"error\":{\"code\":\"x\",\"data\":{\"line\":-4,\"column\":\"y\"}}",
                "\"error\":7",
        };
        Script sc = script_start(&p, bodies, ELEMENTSOF(bodies));
        lwmi_error err;
        assert_int_equal(lwmi_call(p.c, "Nope", NULL, NULL, &err), -EREMOTEIO);
        assert_int_equal(err.code, -32601);
        assert_string_equal(err.status, "WBEM_E_INVALID_METHOD");
        assert_string_equal(err.message, "method not found");
        /* Malformed error objects still give an error, with what is there. */
        assert_int_equal(lwmi_call(p.c, "Nope", NULL, NULL, &err), -EREMOTEIO);
        assert_int_equal(err.code, -32603);
        assert_string_equal(err.status, "WBEM_E_FAILED");
        assert_string_equal(err.message, "server error");
        assert_int_equal(err.line, 0);
        assert_int_equal(err.column, 0);
        assert_int_equal(lwmi_call(p.c, "Nope", NULL, NULL, &err), -EREMOTEIO);
        assert_int_equal(err.code, -32603);
        script_finish(&sc, &p);
        pair_done(&p);
}

/* -- a lost connection -- */

static void child_read_then_close(int fd) {
        char *line = read_line(fd);
        _exit(line ? 0 : 1);
}

static void test_connection_lost_mid_call(void **state) {
        (void)state;
        Pair p = pair_new();
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                lwmi_close(p.c); /* the child's copy: closes its fd only */
                child_read_then_close(p.peer);
        }
        close(p.peer);
        p.peer = -1;
        lwmi_error err;
        json_t *objects = NULL;
        assert_int_equal(lwmi_exec_query(p.c, NULL, "SELECT * FROM X", &objects, &err),
                         -ECONNRESET);
        assert_null(objects);
        assert_int_equal(err.code, LWMI_ERROR_CONNECTION_LOST);
        assert_string_equal(err.status, "WBEM_E_TRANSPORT_FAILURE");
        assert_non_null(strstr(err.message, "lost"));
        assert_true(lwmi_is_broken(p.c));
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        /* Later calls fail at once, the same way. */
        lwmi_error again;
        assert_int_equal(lwmi_ping(p.c, &again), -ECONNRESET);
        assert_int_equal(again.code, LWMI_ERROR_CONNECTION_LOST);
        assert_string_equal(again.message, err.message);
        pair_done(&p);
}

static void test_connection_closed_before_call(void **state) {
        (void)state;
        Pair p = pair_new();
        close(p.peer);
        p.peer = -1;
        lwmi_error err;
        /* Sending to a closed peer must not raise SIGPIPE. */
        assert_int_equal(lwmi_ping(p.c, &err), -ECONNRESET);
        assert_string_equal(err.status, "WBEM_E_TRANSPORT_FAILURE");
        pair_done(&p);
}

/* -- framing -- */

static void child_send_in_pieces(int fd) {
        if (!read_line(fd))
                _exit(1);
        /* Split in the middle of a UTF-8 character and of the framing. */
        const char *msg =
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"name\":\"gr\xc3\xbc\xc3\x9f\"}}\n";
        size_t len = strlen(msg);
        const char *cut = strchr(msg, '\xc3') + 1;
        size_t first = (size_t)(cut - msg);
        write_all(fd, msg, first);
        usleep(30 * 1000);
        write_all(fd, cut, len - first - 1);
        usleep(30 * 1000);
        write_all(fd, "\n", 1);
        _exit(0);
}

static void test_partial_line_across_reads(void **state) {
        (void)state;
        Pair p = pair_new();
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                lwmi_close(p.c);
                child_send_in_pieces(p.peer);
        }
        json_t *result = NULL;
        assert_int_equal(lwmi_call(p.c, "Get", NULL, &result, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(result, "name")),
                            "gr\xc3\xbc\xc3\x9f");
        json_decref(result);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        pair_done(&p);
}

static void test_feed_byte_by_byte(void **state) {
        (void)state;
        Pair p = pair_new();
        PendingCall *call;
        assert_int_equal(conn_send_request(p.c, "X", NULL, &call, NULL), 0);
        const char *msg = "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"method\":\"Ping\"}\r\n\n  \n"
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[1,2]}\n";
        for (const char *s = msg; *s; s++) {
                assert_int_equal(conn_feed(p.c, s, 1, NULL), 0);
                if (s[1])
                        assert_false(call->done);
        }
        assert_true(call->done);
        assert_int_equal(p.c->n_notifications, 0); /* the Ping was answered at once */
        assert_true(p.c->out.len > 0);
        assert_int_equal(json_array_size(json_object_get(call->response, "result")), 2);
        conn_pending_release(p.c, call);
        pair_done(&p);
}

static void test_oversize_line(void **state) {
        (void)state;
        Pair p = pair_new();
        lwmi_set_max_message(p.c, 64);
        char big[200];
        memset(big, 'x', sizeof(big));
        write_all(p.peer, big, sizeof(big)); /* no newline: can never fit */
        lwmi_error err;
        assert_int_equal(lwmi_ping(p.c, &err), -EPROTO);
        assert_int_equal(err.code, LWMI_ERROR_PROTOCOL);
        assert_non_null(strstr(err.message, "longer than the limit of 64 bytes"));
        pair_done(&p);

        /* A complete line over the limit, arriving in one read. */
        p = pair_new();
        lwmi_set_max_message(p.c, 64);
        char line[120];
        snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"%070d\"}\n", 0);
        peer_send(p.peer, line);
        assert_int_equal(lwmi_ping(p.c, &err), -EPROTO);
        assert_non_null(strstr(err.message, "longer than the limit"));
        pair_done(&p);
}

static void test_garbage(void **state) {
        (void)state;
        static const struct {
                const char *line;
                const char *expect;
        } cases[] = {
                { "this is not json\n", "invalid JSON" },
                { "[1,2,3]\n", "must be a JSON object" },
                { "{\"id\":1,\"result\":{}}\n", "jsonrpc" },
                { "{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":{}}\n", "jsonrpc" },
                { "{\"jsonrpc\":\"2.0\",\"id\":1}\n", "exactly one of result and error" },
                { "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}\n", "exactly one" },
                { "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":{}}\n", "non-integer id" },
                { "{\"jsonrpc\":\"2.0\",\"method\":7}\n", "must be a string" },
                { "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"Ping\"}\n", "string or integer" },
                { "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"\xff\xfe\"}\n", "invalid JSON" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Pair p = pair_new();
                peer_send(p.peer, cases[i].line);
                lwmi_error err;
                assert_int_equal(lwmi_ping(p.c, &err), -EPROTO);
                assert_int_equal(err.code, LWMI_ERROR_PROTOCOL);
                assert_string_equal(err.status, "WBEM_E_TRANSPORT_FAILURE");
                if (!strstr(err.message, cases[i].expect))
                        fail_msg("case %zu: '%s' does not say '%s'", i, err.message,
                                 cases[i].expect);
                assert_true(lwmi_is_broken(p.c));
                /* The socket is closed: the peer sees EOF after the request. */
                json_t *m = peer_read_message(p.peer);
                json_decref(m);
                assert_null(read_line(p.peer));
                pair_done(&p);
        }
}

/* -- timeouts -- */

static void test_timeout_and_late_response(void **state) {
        (void)state;
        Pair p = pair_new();
        lwmi_set_timeout(p.c, 50);
        lwmi_error err;
        uint64_t t0 = conn_now_ms();
        assert_int_equal(lwmi_ping(p.c, &err), -ETIMEDOUT);
        assert_true(conn_now_ms() - t0 >= 50);
        assert_int_equal(err.code, LWMI_ERROR_TIMEOUT);
        assert_non_null(strstr(err.message, "Ping"));
        assert_false(lwmi_is_broken(p.c));
        assert_int_equal(p.c->n_pending, 1); /* kept to swallow the late answer */

        /* The late response is dropped; the next call gets its own. */
        peer_send(p.peer, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"late\"}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"mine\"}\n");
        json_t *result = NULL;
        assert_int_equal(lwmi_call(p.c, "Echo", NULL, &result, NULL), 0);
        assert_string_equal(json_string_value(result), "mine");
        json_decref(result);
        assert_int_equal(p.c->n_pending, 0);
        pair_done(&p);
}

/* -- typed helpers -- */

static json_t *params_of_next_request(int fd, const char *method) {
        json_t *m = peer_read_message(fd);
        assert_string_equal(json_string_value(json_object_get(m, "method")), method);
        json_t *params = json_incref(json_object_get(m, "params"));
        json_decref(m);
        return params;
}

static void test_typed_helpers(void **state) {
        (void)state;
        Pair p = pair_new();
        static const char *const bodies[] = {
                "\"result\":{\"objects\":[{\"__CLASS\":\"A\"}]}",
                "\"result\":{\"__CLASS\":\"A\",\"Id\":1}",
                "\"result\":{\"path\":\"A.Id=1\"}",
                "\"result\":{}",
                "\"result\":{}",
                "\"result\":{}",
                "\"result\":{\"classes\":[{},{}]}",
                "\"result\":[{},{},{}]",
                "\"result\":\"B.Id=2\"",
        };
        Script sc = script_start(&p, bodies, ELEMENTSOF(bodies));
        json_t *v = NULL;
        assert_int_equal(lwmi_exec_query(p.c, "root/x", "SELECT * FROM A", &v, NULL), 0);
        assert_int_equal(json_array_size(v), 1);
        json_decref(v);
        assert_int_equal(lwmi_get_object(p.c, NULL, "A.Id=1", &v, NULL), 0);
        assert_int_equal(json_integer_value(json_object_get(v, "Id")), 1);
        json_decref(v);
        json_t *inst = json_pack("{s:s, s:i}", "__CLASS", "A", "Id", 1);
        char *path = NULL;
        assert_int_equal(lwmi_put_instance(p.c, NULL, inst, &path, NULL), 0);
        assert_string_equal(path, "A.Id=1");
        free(path);
        assert_int_equal(lwmi_delete_instance(p.c, NULL, "A.Id=1", NULL), 0);
        json_t *cls = json_pack("{s:s, s:{}}", "__CLASS", "A", "properties");
        assert_int_equal(lwmi_put_class(p.c, NULL, cls, NULL), 0);
        assert_int_equal(lwmi_delete_class(p.c, NULL, "A", NULL), 0);
        json_t *list = NULL;
        assert_int_equal(lwmi_enum_classes(p.c, NULL, "Base", true, &list, NULL), 0);
        assert_int_equal(json_array_size(list), 2);
        json_decref(list);
        assert_int_equal(lwmi_enum_instances(p.c, NULL, "A", false, &list, NULL), 0);
        assert_int_equal(json_array_size(list), 3);
        json_decref(list);
        assert_int_equal(lwmi_put_instance(p.c, NULL, inst, &path, NULL), 0);
        assert_string_equal(path, "B.Id=2");
        free(path);

        /* And what went over the wire. */
        json_t *params = params_of_next_request(sc.log_fd, "ExecQuery");
        assert_string_equal(json_string_value(json_object_get(params, "namespace")), "root/x");
        assert_string_equal(json_string_value(json_object_get(params, "query")), "SELECT * FROM A");
        json_decref(params);
        params = params_of_next_request(sc.log_fd, "GetObject");
        assert_string_equal(json_string_value(json_object_get(params, "namespace")), "root/cimv2");
        assert_string_equal(json_string_value(json_object_get(params, "path")), "A.Id=1");
        json_decref(params);
        params = params_of_next_request(sc.log_fd, "PutInstance");
        assert_true(json_equal(json_object_get(params, "instance"), inst));
        json_decref(params);
        params = params_of_next_request(sc.log_fd, "DeleteInstance");
        assert_string_equal(json_string_value(json_object_get(params, "path")), "A.Id=1");
        json_decref(params);
        params = params_of_next_request(sc.log_fd, "PutClass");
        assert_true(json_equal(json_object_get(params, "class"), cls));
        json_decref(params);
        params = params_of_next_request(sc.log_fd, "DeleteClass");
        assert_string_equal(json_string_value(json_object_get(params, "class")), "A");
        json_decref(params);
        params = params_of_next_request(sc.log_fd, "EnumClasses");
        assert_string_equal(json_string_value(json_object_get(params, "superclass")), "Base");
        assert_true(json_is_true(json_object_get(params, "deep")));
        json_decref(params);
        params = params_of_next_request(sc.log_fd, "EnumInstances");
        assert_string_equal(json_string_value(json_object_get(params, "class")), "A");
        assert_true(json_is_false(json_object_get(params, "deep")));
        json_decref(params);
        json_decref(inst);
        json_decref(cls);
        script_finish(&sc, &p);
        pair_done(&p);
}

static void test_typed_helpers_bad_input(void **state) {
        (void)state;
        Pair p = pair_new();
        lwmi_error err;
        json_t *v = NULL;
        assert_int_equal(lwmi_exec_query(p.c, NULL, "SELECT \xff", &v, &err), -EINVAL);
        assert_non_null(strstr(err.message, "UTF-8"));
        assert_int_equal(lwmi_exec_query(p.c, NULL, NULL, &v, &err), -EINVAL);
        assert_int_equal(lwmi_get_object(NULL, NULL, "A", &v, &err), -EINVAL);
        assert_int_equal(lwmi_put_instance(p.c, NULL, NULL, NULL, &err), -EINVAL);
        json_t *arr = json_array();
        assert_int_equal(lwmi_put_class(p.c, NULL, arr, &err), -EINVAL);
        json_decref(arr);
        assert_int_equal(lwmi_enum_classes(p.c, "root/\xc0\x80", NULL, false, &v, &err), -EINVAL);
        assert_null(v);
        assert_int_equal(p.c->next_id, 1);

        /* A result of the wrong shape: an error, but the connection lives. */
        static const char *const bodies[] = {
                "\"result\":{\"rows\":[]}",
                "\"result\":[]",
                "\"result\":{}",
        };
        Script sc = script_start(&p, bodies, ELEMENTSOF(bodies));
        assert_int_equal(lwmi_exec_query(p.c, NULL, "SELECT * FROM A", &v, &err), -EPROTO);
        assert_int_equal(err.code, LWMI_ERROR_PROTOCOL);
        assert_false(lwmi_is_broken(p.c));
        assert_int_equal(lwmi_get_object(p.c, NULL, "A", &v, &err), -EPROTO);
        assert_null(v);
        char *path = (char *)"untouched";
        json_t *inst = json_object();
        assert_int_equal(lwmi_put_instance(p.c, NULL, inst, &path, &err), 0);
        assert_null(path); /* the server reported none */
        json_decref(inst);
        script_finish(&sc, &p);
        pair_done(&p);
}

/* -- addresses and connecting -- */

static void test_address_parse(void **state) {
        (void)state;
        Address a;
        lwmi_error err;
        assert_int_equal(address_parse("unix:/run/x.sock", &a, &err), 0);
        assert_int_equal(a.kind, ADDRESS_UNIX);
        assert_string_equal(a.path, "/run/x.sock");
        address_done(&a);
        assert_int_equal(address_parse("/tmp/a:b", &a, &err), 0);
        assert_string_equal(a.path, "/tmp/a:b");
        address_done(&a);
        assert_int_equal(address_parse("tcp:example.org:5988", &a, &err), 0);
        assert_int_equal(a.kind, ADDRESS_TCP);
        assert_string_equal(a.host, "example.org");
        assert_int_equal(a.port, 5988);
        address_done(&a);
        assert_int_equal(address_parse("tcp:[::1]:80", &a, &err), 0);
        assert_string_equal(a.host, "::1");
        assert_int_equal(a.port, 80);
        address_done(&a);

        const char *bad[] = {
                "tcp:host",    "tcp::80",   "tcp:h:0", "tcp:h:65536", "tcp:h:8x",
                "tcp:[::1]80", "tcp:[]:80", "",        "unix:",       "tcp:h:123456"
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(address_parse(bad[i], &a, &err), -EINVAL);
                assert_int_equal(err.code, LWMI_ERROR_INVALID_ARGUMENT);
        }
        char long_path[200];
        memset(long_path, 'a', sizeof(long_path) - 1);
        long_path[sizeof(long_path) - 1] = '\0';
        assert_int_equal(address_parse(long_path, &a, &err), -ENAMETOOLONG);
        assert_int_equal(address_parse(NULL, &a, &err), -EINVAL);
}

static void test_default_address(void **state) {
        (void)state;
        char *s = NULL;
        lwmi_error err;
        setenv("LWMI_SOCKET", "/tmp/override.sock", 1);
        assert_int_equal(lwmi_default_address(&s, &err), 0);
        assert_string_equal(s, "/tmp/override.sock");
        free(s);
        unsetenv("LWMI_SOCKET");
        setenv("XDG_RUNTIME_DIR", "/run/user/1234", 1);
        assert_int_equal(lwmi_default_address(&s, &err), 0);
        assert_string_equal(s, geteuid() == 0 ? "/run/lwmi/lwmid.sock"
                                              : "/run/user/1234/lwmi/lwmid.sock");
        free(s);
        if (geteuid() != 0) {
                unsetenv("XDG_RUNTIME_DIR");
                assert_int_equal(lwmi_default_address(&s, &err), -ENXIO);
        }
        assert_int_equal(lwmi_default_address(NULL, &err), -EINVAL);
}

static void test_connect_errors(void **state) {
        (void)state;
        lwmi_conn *c = (lwmi_conn *)0x1;
        lwmi_error err;
        assert_int_equal(lwmi_connect("/nonexistent/lwmi/test.sock", &c, &err), -ENOENT);
        assert_int_equal(err.code, LWMI_ERROR_CONNECT);
        assert_string_equal(err.status, "WBEM_E_TRANSPORT_FAILURE");
        assert_non_null(strstr(err.message, "/nonexistent/lwmi/test.sock"));
        assert_non_null(strstr(err.message, "No such file"));
        assert_ptr_equal(c, (lwmi_conn *)0x1); /* untouched */

        assert_int_equal(lwmi_connect("tcp:nope", &c, &err), -EINVAL);
        assert_int_equal(lwmi_connect("x", NULL, &err), -EINVAL);

        /* A socket file with no one listening. */
        char dir[] = "/tmp/lwmi-test-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[128];
        snprintf(path, sizeof(path), "%s/s.sock", dir);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, path);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(fd);
        assert_int_equal(lwmi_connect(path, &c, &err), -ECONNREFUSED);
        assert_int_equal(err.code, LWMI_ERROR_CONNECT);
        unlink(path);
        rmdir(dir);
}

/* The child accepts one client, checks its Hello and answers it, then
 * answers one Ping. Exit status 0 when everything the client sent was
 * right. */
static void child_hello_server(int listen_fd) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
                _exit(10);
        json_t *m = json_loads(read_line(fd) ?: "", 0, NULL);
        json_t *params = json_object_get(m, "params");
        if (!m || strcmp(json_string_value(json_object_get(m, "method")) ?: "", "Hello") != 0)
                _exit(11);
        if (strcmp(json_string_value(json_object_get(params, "client")) ?: "", "unit-test") != 0)
                _exit(12);
        if (json_integer_value(json_object_get(params, "keepalive_ms")) != 2500)
                _exit(13);
        peer_send(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"server\":\"lwmid\","
                      "\"version\":\"0.1.0\",\"session\":42,\"keepalive_ms\":2500}}\n");
        json_decref(m);
        m = json_loads(read_line(fd) ?: "", 0, NULL);
        if (!m || strcmp(json_string_value(json_object_get(m, "method")) ?: "", "Ping") != 0)
                _exit(14);
        peer_send(fd, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n");
        json_decref(m);
        if (read_line(fd)) /* then the client closes */
                _exit(15);
        _exit(0);
}

static void test_connect_and_hello(void **state) {
        (void)state;
        char dir[] = "/tmp/lwmi-test-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[128];
        snprintf(path, sizeof(path), "unix:%s/s.sock", dir);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, path + 5);
        assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(lfd, 4), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                child_hello_server(lfd);
        close(lfd);

        lwmi_conn *c = NULL;
        lwmi_error err = LWMI_ERROR_INIT;
        int r = lwmi_connect_ex(path, "unit-test", 2500, 5000, &c, &err);
        if (r < 0)
                fail_msg("connect: %s", err.message);
        assert_string_equal(lwmi_server_name(c), "lwmid");
        assert_string_equal(lwmi_server_version(c), "0.1.0");
        assert_string_equal(lwmi_session_id(c), "42");
        assert_int_equal(lwmi_keepalive_ms(c), 2500);
        assert_int_equal(lwmi_ping(c, &err), 0);
        lwmi_close(c);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        unlink(path + 5);
        rmdir(dir);
        assert_null(lwmi_close(NULL));
        assert_null(lwmi_server_name(NULL));
        assert_true(lwmi_is_broken(NULL));
}

/* A TCP socket bound to a free port of the loopback of `family`; listening
 * with `backlog` unless it is negative. -1 when the machine has no such
 * loopback (IPv6 may be off). */
static int tcp_socket(int family, int backlog, uint16_t *ret_port) {
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_storage ss = { 0 };
        socklen_t len;
        if (family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
                sin->sin_family = AF_INET;
                sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                len = sizeof(*sin);
        } else {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_addr = in6addr_loopback;
                len = sizeof(*sin6);
        }
        if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
        *ret_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
        if (backlog >= 0)
                assert_int_equal(listen(fd, backlog), 0);
        return fd;
}

/* Hello and a Ping over TCP to a stand-in server, with TCP_NODELAY set on
 * the client's socket. */
static void connect_tcp_to(int family, const char *host) {
        uint16_t port;
        int lfd = tcp_socket(family, 4, &port);
        if (lfd < 0) {
                print_message("no %s loopback here: not testing %s\n",
                              family == AF_INET ? "IPv4" : "IPv6", host);
                return;
        }
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                child_hello_server(lfd);
        close(lfd);

        char address[128];
        snprintf(address, sizeof(address), "tcp:%s:%u", host, port);
        lwmi_conn *c = NULL;
        lwmi_error err = LWMI_ERROR_INIT;
        int r = lwmi_connect_ex(address, "unit-test", 2500, 5000, &c, &err);
        if (r < 0)
                fail_msg("connect to %s: %s", address, err.message);
        assert_string_equal(lwmi_session_id(c), "42");
        int nodelay = 0;
        socklen_t len = sizeof(nodelay);
        assert_int_equal(getsockopt(lwmi_fd(c), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
        assert_int_equal(nodelay, 1);
        assert_true(fcntl(lwmi_fd(c), F_GETFL) & O_NONBLOCK);
        assert_true(fcntl(lwmi_fd(c), F_GETFD) & FD_CLOEXEC);
        assert_int_equal(lwmi_ping(c, &err), 0);
        lwmi_close(c);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_connect_tcp(void **state) {
        (void)state;
        connect_tcp_to(AF_INET, "127.0.0.1");
        connect_tcp_to(AF_INET6, "[::1]");
        /* a name with several addresses (::1 and 127.0.0.1 in /etc/hosts on
         * most machines): one that refuses is followed by the next */
        connect_tcp_to(AF_INET, "localhost");
}

static void test_connect_tcp_errors(void **state) {
        (void)state;
        lwmi_conn *c = (lwmi_conn *)0x1;
        lwmi_error err;
        char address[128];
        uint16_t port;

        /* nobody listening: refused, the message names the address */
        int fd = tcp_socket(AF_INET, -1, &port);
        assert_true(fd >= 0);
        snprintf(address, sizeof(address), "tcp:127.0.0.1:%u", port);
        assert_int_equal(lwmi_connect(address, &c, &err), -ECONNREFUSED);
        assert_int_equal(err.code, LWMI_ERROR_CONNECT);
        assert_string_equal(err.status, "WBEM_E_TRANSPORT_FAILURE");
        char want[192];
        snprintf(want, sizeof(want), "cannot connect to %s: Connection refused", address);
        assert_string_equal(err.message, want);
        assert_ptr_equal(c, (lwmi_conn *)0x1);
        close(fd);

        /* a host that does not exist (.invalid never does); a resolver
         * that cannot be reached says so instead */
        setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
        int r = lwmi_connect("tcp:no-such-host.invalid:7000", &c, &err);
        unsetenv("RES_OPTIONS");
        if (r != -ENXIO && r != -EAGAIN)
                fail_msg("unexpected %d: %s", r, err.message);
        assert_int_equal(err.code, LWMI_ERROR_CONNECT);
        assert_non_null(strstr(err.message, "cannot connect to tcp:no-such-host.invalid:7000"));
        if (r == -ENXIO)
                assert_non_null(strstr(err.message, "host no-such-host.invalid not found"));
        assert_ptr_equal(c, (lwmi_conn *)0x1);

        /* a server whose backlog is full drops the SYN: the connect gives
         * up at the timeout */
        fd = tcp_socket(AF_INET, 0, &port);
        assert_true(fd >= 0);
        snprintf(address, sizeof(address), "tcp:127.0.0.1:%u", port);
        int fillers[4];
        for (unsigned i = 0; i < 4; i++) {
                fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
                sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                (void)connect(fillers[i], (struct sockaddr *)&sin, sizeof(sin));
        }
        uint64_t t0 = conn_now_ms();
        r = lwmi_connect_ex(address, NULL, 0, 300, &c, &err);
        uint64_t took = conn_now_ms() - t0;
        assert_int_equal(r, -ETIMEDOUT);
        assert_int_equal(err.code, LWMI_ERROR_CONNECT);
        snprintf(want, sizeof(want), "cannot connect to %s: no answer within 300 ms", address);
        assert_string_equal(err.message, want);
        assert_true(took >= 290 && took < 3000);
        for (unsigned i = 0; i < 4; i++)
                close(fillers[i]);
        close(fd);
}

/* -- error objects -- */

/* What a truncating snprintf leaves, without the compiler's complaint. */
static void truncate_into(char *buf, size_t size, const char *s) {
        size_t n = strlen(s) < size - 1 ? strlen(s) : size - 1;
        memcpy(buf, s, n);
        buf[n] = '\0';
}

static void test_error_text_trimmed_to_utf8(void **state) {
        (void)state;
        char buf[7];
        truncate_into(buf, sizeof(buf), "abc\xc3\xbc\xc3\xbc"); /* cut inside the 2nd ü */
        liberr_trim_utf8(buf, sizeof(buf));
        assert_string_equal(buf, "abc\xc3\xbc");
        truncate_into(buf, sizeof(buf), "abcd\xe2\x82\xac"); /* cut inside the euro sign */
        liberr_trim_utf8(buf, sizeof(buf));
        assert_string_equal(buf, "abcd");
        truncate_into(buf, sizeof(buf), "abcde\xc3\xbc"); /* cut after the lead byte */
        liberr_trim_utf8(buf, sizeof(buf));
        assert_string_equal(buf, "abcde");
        truncate_into(buf, sizeof(buf), "ab");
        liberr_trim_utf8(buf, sizeof(buf));
        assert_string_equal(buf, "ab");

        lwmi_error e;
        char longmsg[3000];
        memset(longmsg, 'x', sizeof(longmsg));
        longmsg[sizeof(longmsg) - 1] = '\0';
        assert_int_equal(liberr_set(&e, -EIO, 1, NULL, "%s", longmsg), -EIO);
        assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
        assert_string_equal(e.status, "WBEM_E_FAILED");
        lwmi_error_clear(&e);
        assert_int_equal(e.code, 0);
        assert_string_equal(e.message, "");
        lwmi_error_clear(NULL);
        assert_int_equal(liberr_set(NULL, -EIO, 1, NULL, "x"), -EIO);
        assert_int_equal(liberr_from_rpc(NULL, NULL), -EREMOTEIO);
        assert_string_equal(lwmi_version(), LWMI_VERSION);
}

/* -- allocation failures -- */

static void test_iobuf(void **state) {
        (void)state;
        IoBuf b = IOBUF_INIT;
        assert_int_equal(iobuf_append(&b, "hello world", 11), 0);
        iobuf_consume(&b, 6);
        assert_memory_equal(iobuf_head(&b), "world", 5);
        /* Room reclaimed from the consumed head before growing. */
        size_t cap = b.cap;
        assert_non_null(iobuf_reserve(&b, cap - 5));
        assert_int_equal(b.cap, cap);
        assert_int_equal(b.off, 0);
        mem_fail_at(1);
        assert_null(iobuf_reserve(&b, cap * 4));
        mem_fail_at(0);
        assert_memory_equal(iobuf_head(&b), "world", 5);
        iobuf_consume(&b, 100);
        assert_int_equal(b.len, 0);
        iobuf_done(&b);
}

static void test_call_out_of_memory(void **state) {
        (void)state;
        /* Fail each allocation of a whole call in turn (jansson's included):
         * every failure is a clean -ENOMEM, never a crash or a leak. */
        bool finished = false;
        for (unsigned long n = 1; !finished && n < 500; n++) {
                Pair p = pair_new();
                peer_send(p.peer,
                          "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"method\":\"Ping\"}\n"
                          "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":1,"
                          "\"call\":1,\"seq\":1,\"objects\":[]}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"objects\":[{\"a\":1}]}}\n");
                lwmi_error err;
                json_t *objects = NULL;
                mem_fail_at(n);
                int r = lwmi_exec_query(p.c, "root/cimv2", "SELECT * FROM A", &objects, &err);
                bool failed = mem_fail_triggered();
                mem_fail_at(0);
                if (!failed) {
                        assert_int_equal(r, 0);
                        assert_int_equal(json_array_size(objects), 1);
                        finished = true;
                } else if (r < 0) {
                        if (r != -ENOMEM)
                                fail_msg("n=%lu: %d %s", n, r, err.message);
                        assert_int_equal(err.code, LWMI_ERROR_NO_MEMORY);
                        assert_null(objects);
                } else {
                        /* The failure hit something that could be done
                         * without (a notification's queue entry). */
                        assert_int_equal(json_array_size(objects), 1);
                }
                json_decref(objects);
                pair_done(&p);
        }
        assert_true(finished);
}

int main(void) {
        /* Count jansson's allocations too, for the failure injection. */
        assert_int_equal(mem_install_library_hooks(), 0);
        signal(SIGPIPE, SIG_DFL); /* a send without MSG_NOSIGNAL would kill us */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_call_result),
                cmocka_unit_test(test_call_without_params_and_result_null),
                cmocka_unit_test(test_call_bad_arguments),
                cmocka_unit_test(test_matching_out_of_order),
                cmocka_unit_test(test_response_to_unknown_id),
                cmocka_unit_test(test_server_ping_answered_while_waiting),
                cmocka_unit_test(test_notifications_queued),
                cmocka_unit_test(test_error_with_position),
                cmocka_unit_test(test_error_without_data),
                cmocka_unit_test(test_connection_lost_mid_call),
                cmocka_unit_test(test_connection_closed_before_call),
                cmocka_unit_test(test_partial_line_across_reads),
                cmocka_unit_test(test_feed_byte_by_byte),
                cmocka_unit_test(test_oversize_line),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_timeout_and_late_response),
                cmocka_unit_test(test_typed_helpers),
                cmocka_unit_test(test_typed_helpers_bad_input),
                cmocka_unit_test(test_address_parse),
                cmocka_unit_test(test_default_address),
                cmocka_unit_test(test_connect_tcp),
                cmocka_unit_test(test_connect_tcp_errors),
                cmocka_unit_test(test_connect_errors),
                cmocka_unit_test(test_connect_and_hello),
                cmocka_unit_test(test_error_text_trimmed_to_utf8),
                cmocka_unit_test(test_iobuf),
                cmocka_unit_test(test_call_out_of_memory),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
