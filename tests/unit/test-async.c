/* Unit tests for a session's asynchronous calls (src/daemon/async.c and
 * methods_events.c), driven over socketpairs as test-session.c does, with
 * an in-memory repository: seq per sink, the order of responses, Indicate
 * and SetStatus, ExecQueryAsync batches over loop turns, cancelling by
 * call and by sink, calls ended by the engine, the backlog (events dropped
 * and reported exactly), the shutdown's SetStatus, and release of every
 * call when a session closes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <jansson.h>

#include "async.h"
#include "engine.h"
#include "error.h"
#include "events.h"
#include "log.h"
#include "mem.h"
#include "rpc.h"
#include "server.h"
#include "session.h"
#include "settings.h"
#include "value.h"

#define NS "root/cimv2"

typedef struct Peer {
        int fd;
        Session *session;
        char buf[1 << 16];
        size_t have;
} Peer;

typedef struct Fixture {
        Server *server;
        Peer a, b; /* two sessions */
} Fixture;

static Session *accept_peer(Fixture *f, Peer *p) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
                return NULL;
        server_accept(fds[0], f->server);
        p->fd = fds[1];
        p->session = TAILQ_LAST(&f->server->sessions, SessionList);
        return p->session;
}

static int setup(void **state) {
        Settings o;
        Error e;
        Fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        log_set_max_level(LOG_LEVEL_ERROR);
        settings_init(&o);
        o.socket_path = mem_strdup("/nonexistent/test.sock");
        o.repository = mem_strdup(":memory:");
        /* not the liveness tests: a slow machine (sanitizers, load) must
         * not bring a keepalive Ping or a stall into them */
        o.keepalive_ms = 60000;
        o.stall_timeout_ms = 600000;
        if (server_new(&o, &o, &f->server, &e) != 0)
                return -1;
        settings_done(&o);
        if (server_open_repository(f->server, &e) != 0)
                return -1;
        if (!accept_peer(f, &f->a) || !accept_peer(f, &f->b))
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        server_free(f->server);
        if (f->a.fd >= 0)
                close(f->a.fd);
        if (f->b.fd >= 0)
                close(f->b.fd);
        free(f);
        return 0;
}

static void turn(Fixture *f) {
        /* EVLOOP_NONBLOCK alone would go on while callbacks are active */
        event_base_loop(f->server->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static void pump(Fixture *f, int turns) {
        for (int i = 0; i < turns; i++)
                turn(f);
}

static void send_text(Peer *p, const char *text) {
        size_t len = strlen(text), done = 0;
        while (done < len) {
                ssize_t n = write(p->fd, text + done, len - done);
                assert_true(n > 0);
                done += (size_t)n;
        }
}

static void sendf(Peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(Peer *p, const char *fmt, ...) {
        char text[8192];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        assert_true(n > 0 && (size_t)n < sizeof(text) - 1);
        strcat(text, "\n");
        send_text(p, text);
}

/* The next message from the session, parsed; NULL if none comes while the
 * loop turns a while. */
static json_t *next_msg(Fixture *f, Peer *p) {
        for (int tries = 0; tries < 400; tries++) {
                char *nl = memchr(p->buf, '\n', p->have);
                if (nl) {
                        size_t len = (size_t)(nl - p->buf);
                        json_error_t je;
                        json_t *m = json_loadb(p->buf, len, 0, &je);
                        if (!m)
                                fail_msg("bad line: %.*s", (int)len, p->buf);
                        memmove(p->buf, nl + 1, p->have - len - 1);
                        p->have -= len + 1;
                        return m;
                }
                if (p->have == sizeof(p->buf)) {
                        /* a line longer than our buffer: grow it */
                        fail_msg("line too long for the test buffer");
                }
                pump(f, 1);
                ssize_t n = read(p->fd, p->buf + p->have, sizeof(p->buf) - p->have);
                if (n > 0)
                        p->have += (size_t)n;
        }
        return NULL;
}

static const char *msg_method(json_t *m) {
        return json_string_value(json_object_get(m, "method"));
}

static json_t *msg_param(json_t *m, const char *name) {
        return json_object_get(json_object_get(m, "params"), name);
}

static json_int_t msg_int(json_t *m, const char *name) {
        json_t *v = msg_param(m, name);
        assert_true(json_is_integer(v));
        return json_integer_value(v);
}

/* The result of the response with id, which must be the next message. */
static json_t *expect_result(Fixture *f, Peer *p, json_int_t id) {
        json_t *m = next_msg(f, p);
        assert_non_null(m);
        if (json_integer_value(json_object_get(m, "id")) != id || !json_object_get(m, "result")) {
                char *text = json_dumps(m, 0);
                fail_msg("expected the result of %lld, got %s", (long long)id, text);
        }
        json_t *r = json_incref(json_object_get(m, "result"));
        json_decref(m);
        return r;
}

static json_int_t expect_result_int(Fixture *f, Peer *p, json_int_t id, const char *member) {
        json_t *r = expect_result(f, p, id);
        json_t *v = json_object_get(r, member);
        assert_true(json_is_integer(v));
        json_int_t n = json_integer_value(v);
        json_decref(r);
        return n;
}

/* The error of the response with id: its data.status, checked. */
static void expect_error(Fixture *f, Peer *p, json_int_t id, const char *status,
                         const char *message_has) {
        json_t *m = next_msg(f, p);
        assert_non_null(m);
        assert_int_equal(json_integer_value(json_object_get(m, "id")), id);
        json_t *e = json_object_get(m, "error");
        assert_non_null(e);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(e, "data"), "status")), status);
        const char *message = json_string_value(json_object_get(e, "message"));
        if (message_has && !strstr(message, message_has))
                fail_msg("message '%s' lacks '%s'", message, message_has);
        json_decref(m);
}

/* An Indicate on sink for call with seq; returns its objects (a new
 * reference). */
static json_t *expect_indicate(Fixture *f, Peer *p, const char *sink, json_int_t call,
                               json_int_t seq) {
        json_t *m = next_msg(f, p);
        assert_non_null(m);
        if (!msg_method(m) || strcmp(msg_method(m), "Indicate") != 0) {
                char *text = json_dumps(m, 0);
                fail_msg("expected an Indicate, got %s", text);
        }
        assert_null(json_object_get(m, "id"));
        assert_string_equal(json_string_value(msg_param(m, "sink")), sink);
        assert_int_equal(msg_int(m, "call"), call);
        assert_int_equal(msg_int(m, "seq"), seq);
        json_t *objects = json_incref(msg_param(m, "objects"));
        assert_true(json_array_size(objects) >= 1);
        json_decref(m);
        return objects;
}

static void expect_status(Fixture *f, Peer *p, const char *sink, json_int_t call,
                          const char *status) {
        json_t *m = next_msg(f, p);
        assert_non_null(m);
        if (!msg_method(m) || strcmp(msg_method(m), "SetStatus") != 0) {
                char *text = json_dumps(m, 0);
                fail_msg("expected a SetStatus, got %s", text);
        }
        assert_string_equal(json_string_value(msg_param(m, "sink")), sink);
        assert_int_equal(msg_int(m, "call"), call);
        assert_string_equal(json_string_value(msg_param(m, "status")), status);
        assert_true(json_is_string(msg_param(m, "message")));
        json_decref(m);
}

static void expect_nothing(Fixture *f, Peer *p) {
        pump(f, 5);
        char c;
        assert_true(recv(p->fd, &c, 1, MSG_PEEK) < 0 && errno == EAGAIN);
        assert_int_equal(p->have, 0);
}

static void put_event_class(Fixture *f, Peer *p) {
        sendf(p, "{\"jsonrpc\":\"2.0\",\"id\":100,\"method\":\"PutClass\",\"params\":{"
                 "\"namespace\":\"" NS "\",\"class\":{\"__CLASS\":\"T_Ev\",\"__SUPERCLASS\":"
                 "\"__ExtrinsicEvent\",\"properties\":{\"Sev\":{\"type\":\"uint32\"},"
                 "\"Text\":{\"type\":\"string\"}}}}}");
        json_decref(expect_result(f, p, 100));
}

static void subscribe(Peer *p, json_int_t id, const char *sink, const char *query) {
        sendf(p,
              "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"ExecNotificationQueryAsync\","
              "\"params\":{\"namespace\":\"" NS "\",\"query\":\"%s\",\"sink\":\"%s\"}}",
              (long long)id, query, sink);
}

static void publish(Peer *p, json_int_t id, unsigned sev) {
        sendf(p,
              "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"PublishEvent\",\"params\":{"
              "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":%u}}}",
              (long long)id, sev);
}

static EngineEventStats stats(Fixture *f) {
        EngineEventStats st;
        engine_event_stats(f->server->engine, &st);
        return st;
}

/* ---- tests ------------------------------------------------------------------- */

static json_t *self_query(Fixture *f, Peer *p, json_int_t id, const char *query);
static uint64_t self_u64(json_t *obj, const char *name);

static void test_seq_per_sink(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;

        put_event_class(f, a);
        subscribe(a, 1, "s1", "SELECT * FROM T_Ev WHERE Sev = 1");
        assert_int_equal(expect_result_int(f, a, 1, "call"), 1);
        subscribe(a, 2, "s1", "SELECT * FROM T_Ev WHERE Sev = 2");
        assert_int_equal(expect_result_int(f, a, 2, "call"), 2);
        subscribe(a, 3, "s2", "SELECT * FROM T_Ev");
        assert_int_equal(expect_result_int(f, a, 3, "call"), 3);
        assert_int_equal(async_sink_count(a->session->async), 2);
        assert_int_equal(async_call_count(a->session->async), 3);

        /* published by the other session: Indicates only here */
        publish(&f->b, 10, 1);
        assert_int_equal(expect_result_int(f, &f->b, 10, "delivered"), 2);
        publish(&f->b, 11, 2);
        assert_int_equal(expect_result_int(f, &f->b, 11, "delivered"), 2);
        publish(&f->b, 12, 7);
        assert_int_equal(expect_result_int(f, &f->b, 12, "delivered"), 1);

        /* s1's seq counts its own Indicates, s2's its own; the order of the
         * two calls of one event is the engine's */
        json_t *objs[6];
        json_t *m;
        json_int_t s1 = 0, s2 = 0;
        for (int k = 0; k < 5; k++) {
                m = next_msg(f, a);
                assert_non_null(m);
                assert_string_equal(msg_method(m), "Indicate");
                const char *sink = json_string_value(msg_param(m, "sink"));
                json_int_t seq = msg_int(m, "seq");
                if (strcmp(sink, "s1") == 0)
                        assert_int_equal(seq, ++s1);
                else
                        assert_int_equal(seq, ++s2);
                objs[k] = json_incref(msg_param(m, "objects"));
                json_t *ev = json_array_get(objs[k], 0);
                assert_string_equal(json_string_value(json_object_get(ev, "__CLASS")), "T_Ev");
                json_decref(m);
        }
        assert_int_equal(s1, 2);
        assert_int_equal(s2, 3);
        for (int k = 0; k < 5; k++)
                json_decref(objs[k]);
        expect_nothing(f, a);
}

static void test_cancel_call_and_sink(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        EngineEventStats before = stats(f);

        put_event_class(f, a);
        subscribe(a, 1, "s", "SELECT * FROM T_Ev WHERE Sev = 1");
        json_int_t c1 = expect_result_int(f, a, 1, "call");
        subscribe(a, 2, "s", "SELECT * FROM T_Ev WHERE Sev = 2");
        json_int_t c2 = expect_result_int(f, a, 2, "call");
        subscribe(a, 3, "s", "SELECT * FROM T_Ev WHERE Sev = 3");
        json_int_t c3 = expect_result_int(f, a, 3, "call");
        assert_int_equal(stats(f).registrations, before.registrations + 3);

        /* one call: its SetStatus, then the response */
        sendf(a,
              "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"CancelAsyncCall\",\"params\":{"
              "\"call\":%lld}}",
              (long long)c2);
        expect_status(f, a, "s", c2, "WBEM_E_CALL_CANCELLED");
        assert_int_equal(expect_result_int(f, a, 4, "cancelled"), 1);
        assert_int_equal(stats(f).registrations, before.registrations + 2);
        /* again: no longer open */
        sendf(a,
              "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"CancelAsyncCall\",\"params\":{"
              "\"call\":%lld}}",
              (long long)c2);
        assert_int_equal(expect_result_int(f, a, 5, "cancelled"), 0);
        /* an unknown sink */
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"CancelAsyncCall\",\"params\":{"
                 "\"sink\":\"nope\"}}");
        assert_int_equal(expect_result_int(f, a, 6, "cancelled"), 0);

        /* the sink: each call's SetStatus, then the count */
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"CancelAsyncCall\",\"params\":{"
                 "\"sink\":\"s\"}}");
        bool seen1 = false, seen3 = false;
        for (int k = 0; k < 2; k++) {
                json_t *m = next_msg(f, a);
                assert_string_equal(msg_method(m), "SetStatus");
                assert_string_equal(json_string_value(msg_param(m, "status")),
                                    "WBEM_E_CALL_CANCELLED");
                json_int_t call = msg_int(m, "call");
                seen1 |= call == c1;
                seen3 |= call == c3;
                json_decref(m);
        }
        assert_true(seen1 && seen3);
        assert_int_equal(expect_result_int(f, a, 7, "cancelled"), 2);
        EngineEventStats after = stats(f);
        assert_int_equal(after.registrations, before.registrations);
        assert_int_equal(after.filters, before.filters);

        /* the sink lives on, and so does its seq */
        subscribe(a, 8, "s", "SELECT * FROM T_Ev");
        json_int_t c4 = expect_result_int(f, a, 8, "call");
        assert_true(c4 > c3);
        publish(a, 9, 5);
        json_decref(expect_indicate(f, a, "s", c4, 1));
        assert_int_equal(expect_result_int(f, a, 9, "delivered"), 1);
        publish(a, 10, 5);
        json_decref(expect_indicate(f, a, "s", c4, 2));
        assert_int_equal(expect_result_int(f, a, 10, "delivered"), 1);
}

static void test_param_errors(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        char long_sink[ASYNC_SINK_ID_MAX + 2];

        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"CancelAsyncCall\",\"params\":{}}");
        expect_error(f, a, 1, "WBEM_E_INVALID_PARAMETER", "not neither");
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"CancelAsyncCall\",\"params\":{"
                 "\"sink\":\"s\",\"call\":1}}");
        expect_error(f, a, 2, "WBEM_E_INVALID_PARAMETER", "not both");
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"CancelAsyncCall\",\"params\":{"
                 "\"call\":0}}");
        expect_error(f, a, 3, "WBEM_E_INVALID_PARAMETER", "call");
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"CancelAsyncCall\",\"params\":{"
                 "\"sink\":\"\"}}");
        expect_error(f, a, 4, "WBEM_E_INVALID_PARAMETER", "must not be empty");
        subscribe(a, 5, "",
                  "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                  "'__Namespace'");
        expect_error(f, a, 5, "WBEM_E_INVALID_PARAMETER", "must not be empty");
        memset(long_sink, 'x', sizeof(long_sink) - 1);
        long_sink[sizeof(long_sink) - 1] = '\0';
        subscribe(a, 6, long_sink, "SELECT * FROM T_Ev");
        expect_error(f, a, 6, "WBEM_E_INVALID_PARAMETER", "sink");
        /* a data class in an event query, an event class in a data query */
        subscribe(a, 7, "s", "SELECT * FROM Linux_Process");
        expect_error(f, a, 7, "WBEM_E_INVALID_QUERY_TYPE", "ExecQuery");
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ExecQueryAsync\",\"params\":{"
                 "\"namespace\":\"" NS "\",\"query\":\"SELECT * FROM __InstanceCreationEvent\","
                 "\"sink\":\"s\"}}");
        expect_error(f, a, 8, "WBEM_E_INVALID_QUERY_TYPE", NULL);
        /* no call was made, and no call id used up */
        assert_int_equal(async_call_count(a->session->async), 0);
        put_event_class(f, a);
        subscribe(a, 9, "s", "SELECT * FROM T_Ev");
        assert_int_equal(expect_result_int(f, a, 9, "call"), 1);
        /* PublishEvent of something that is no extrinsic event */
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"PublishEvent\",\"params\":{"
                 "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":"
                 "\"Linux_OperatingSystem\"}}}");
        expect_error(f, a, 10, "WBEM_E_INVALID_CLASS", "not an extrinsic event class");
        expect_nothing(f, a);
}

/* All the events b receives until it gets nothing more: the objects of
 * its Indicates, in order (a new array). */
static json_t *drain_events(Fixture *f, Peer *p) {
        json_t *all = json_array();
        json_t *m;
        while (p->have > 0 || (pump(f, 3), recv(p->fd, &(char){ 0 }, 1, MSG_PEEK) > 0)) {
                m = next_msg(f, p);
                assert_non_null(m);
                assert_string_equal(msg_method(m), "Indicate");
                assert_int_equal(json_array_extend(all, msg_param(m, "objects")), 0);
                /* the one member that differs from event to event */
                size_t i;
                json_t *o;
                json_array_foreach(all, i, o)
                        json_object_del(o, "TIME_CREATED");
                json_decref(m);
        }
        return all;
}

/* PublishEvent on its flat path (rpc_decode_flat, no JSON tree) and on the
 * general one (the same request with its method name escaped, which the
 * flat decoder never reads) answers the same, error messages and all, and
 * delivers the same event. */
static void test_publish_flat_equivalence(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a, *b = &f->b;
        static const char *const params[] = {
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":1,\"Text\":\"x\"}",
                "\"event\":{\"Text\":null,\"Sev\":\"7\",\"__CLASS\":\"t_ev\",\"__PATH\":1},"
                "\"namespace\":\"" NS "\"",
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":null,\"Text\":true}",
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\"}",
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":-1}",
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":4294967296}",
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":false}",
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Bogus\":1}",
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":1,\"sev\":2}",
                "\"namespace\":\"" NS "\",\"event\":{\"Sev\":1}",
                "\"namespace\":\"" NS "\",\"event\":{}",
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":5}",
                "\"namespace\":\"" NS "\",\"event\":{\"__GENUS\":1,\"__CLASS\":\"T_Ev\"}",
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"Nope\"}",
                "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"Linux_OperatingSystem\"}",
                "\"namespace\":\"root/nope\",\"event\":{\"__CLASS\":\"T_Ev\"}",
                "\"namespace\":\"\",\"event\":{\"__CLASS\":\"T_Ev\"}",
        };

        put_event_class(f, a);
        subscribe(b, 1, "s", "SELECT * FROM T_Ev");
        assert_int_equal(expect_result_int(f, b, 1, "call"), 1);
        for (size_t k = 0; k < sizeof(params) / sizeof(params[0]); k++) {
                char flat[1024], general[1024];
                RpcFlat fm;
                snprintf(flat, sizeof(flat),
                         "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"PublishEvent\",\"params\":{%s}}",
                         k + 10, params[k]);
                snprintf(general, sizeof(general),
                         "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"Publish\\u0045vent\","
                         "\"params\":{%s}}",
                         k + 10, params[k]);
                assert_true(rpc_decode_flat(flat, strlen(flat), &fm));
                assert_false(rpc_decode_flat(general, strlen(general), &fm));

                uint64_t requests = a->session->requests;
                sendf(a, "%s", flat);
                json_t *m1 = next_msg(f, a);
                json_t *e1 = drain_events(f, b);
                sendf(a, "%s", general);
                json_t *m2 = next_msg(f, a);
                json_t *e2 = drain_events(f, b);
                assert_int_equal(a->session->requests, requests + 2);
                assert_non_null(m1);
                assert_non_null(m2);
                if (!json_equal(m1, m2) || !json_equal(e1, e2)) {
                        char *t1 = json_dumps(m1, 0), *t2 = json_dumps(m2, 0);
                        fail_msg("%s: flat %s, general %s", params[k], t1, t2);
                }
                json_t *delivered = json_object_get(json_object_get(m1, "result"), "delivered");
                assert_int_equal(json_array_size(e1), delivered ? json_integer_value(delivered) : 0);
                json_decref(m1);
                json_decref(m2);
                json_decref(e1);
                json_decref(e2);
        }
        expect_nothing(f, a);
        expect_nothing(f, b);
}

/* T_Item with instances Id 0..count-1. */
static void fill_items(Fixture *f, Peer *p, int count) {
        sendf(p, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"PutClass\",\"params\":"
                 "{\"namespace\":\"" NS "\",\"class\":{\"__CLASS\":\"T_Item\","
                 "\"properties\":{\"Id\":{\"type\":\"uint32\",\"key\":true},"
                 "\"Name\":{\"type\":\"string\"}}}}}");
        json_decref(expect_result(f, p, 0));
        for (int i = 0; i < count; i++) {
                sendf(p,
                      "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"PutInstance\",\"params\":"
                      "{\"namespace\":\"" NS "\",\"instance\":{\"__CLASS\":\"T_Item\","
                      "\"Id\":%d,\"Name\":\"n%d\"}}}",
                      i + 1, i, i);
                json_decref(expect_result(f, p, i + 1));
        }
}

static void exec_query_async(Peer *p, json_int_t id, const char *sink, const char *query) {
        sendf(p,
              "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"ExecQueryAsync\",\"params\":{"
              "\"namespace\":\"" NS "\",\"query\":\"%s\",\"sink\":\"%s\"}}",
              (long long)id, query, sink);
}

static void test_query_async(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        const int count = 300;

        fill_items(f, a, count);
        /* the response comes first, even though the first batch could be
         * made at once; other requests are answered while it runs (the
         * Ping's answer may come before or between the batches: when the
         * turn's budget runs out after the first request, a batch is made
         * before the Ping is read) */
        exec_query_async(a, 1000, "q", "SELECT Name FROM T_Item");
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":1001,\"method\":\"Ping\"}");
        json_int_t call = expect_result_int(f, a, 1000, "call");
        bool ping_answered = false;
        int seen = 0;
        json_int_t seq = 0;
        while (seen < count) {
                json_t *m = next_msg(f, a);
                assert_non_null(m);
                if (!ping_answered && msg_method(m) == NULL) {
                        assert_int_equal(json_integer_value(json_object_get(m, "id")), 1001);
                        assert_non_null(json_object_get(m, "result"));
                        ping_answered = true;
                        json_decref(m);
                        continue;
                }
                assert_string_equal(msg_method(m), "Indicate");
                assert_int_equal(msg_int(m, "call"), call);
                assert_int_equal(msg_int(m, "seq"), ++seq);
                json_t *objects = json_incref(msg_param(m, "objects"));
                json_decref(m);
                size_t n = json_array_size(objects);
                assert_true(n <= ASYNC_QUERY_BATCH);
                for (size_t k = 0; k < n; k++) {
                        json_t *o = json_array_get(objects, k);
                        /* the select list as ExecQuery: Name and the key */
                        assert_non_null(json_object_get(o, "Name"));
                        assert_non_null(json_object_get(o, "Id"));
                        assert_string_equal(json_string_value(json_object_get(o, "__RELPATH")),
                                            json_string_value(json_object_get(o, "__RELPATH")));
                }
                seen += (int)n;
                json_decref(objects);
        }
        assert_int_equal(seen, count);
        assert_int_equal(seq, (count + ASYNC_QUERY_BATCH - 1) / ASYNC_QUERY_BATCH);
        if (!ping_answered)
                json_decref(expect_result(f, a, 1001));
        expect_status(f, a, "q", call, "WBEM_S_NO_ERROR");
        assert_int_equal(async_call_count(a->session->async), 0);

        /* a query with no match: just the SetStatus */
        exec_query_async(a, 1002, "q", "SELECT * FROM T_Item WHERE Id > 100000");
        call = expect_result_int(f, a, 1002, "call");
        expect_status(f, a, "q", call, "WBEM_S_NO_ERROR");

        /* cancelled before it is done: the SetStatus follows whatever
         * Indicates were made, then the response */
        exec_query_async(a, 1003, "q", "SELECT * FROM T_Item");
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":1004,\"method\":\"CancelAsyncCall\",\"params\":{"
                 "\"sink\":\"q\"}}");
        call = expect_result_int(f, a, 1003, "call");
        /* a batch may be made before the cancel is read (the two requests
         * may come in separate reads): any such Indicates come first, in
         * seq order */
        json_t *m;
        while ((m = next_msg(f, a)) && msg_method(m) && strcmp(msg_method(m), "Indicate") == 0) {
                assert_int_equal(msg_int(m, "call"), call);
                assert_int_equal(msg_int(m, "seq"), ++seq);
                json_decref(m);
        }
        assert_non_null(m);
        assert_string_equal(msg_method(m), "SetStatus");
        assert_int_equal(msg_int(m, "call"), call);
        assert_string_equal(json_string_value(msg_param(m, "status")), "WBEM_E_CALL_CANCELLED");
        json_decref(m);
        assert_int_equal(expect_result_int(f, a, 1004, "cancelled"), 1);
        expect_nothing(f, a);

        /* the seq goes on: the next batch on q */
        exec_query_async(a, 1005, "q", "SELECT * FROM T_Item WHERE Id = 7");
        call = expect_result_int(f, a, 1005, "call");
        json_t *objects = expect_indicate(f, a, "q", call, seq + 1);
        assert_int_equal(json_array_size(objects), 1);
        json_decref(objects);
        expect_status(f, a, "q", call, "WBEM_S_NO_ERROR");
}

static void test_query_async_spans_turns(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        const int count = 2000;

        fill_items(f, a, count);
        exec_query_async(a, 5000, "q", "SELECT * FROM T_Item");
        json_int_t call = expect_result_int(f, a, 5000, "call");
        /* one turn makes at most ASYNC_QUERY_MAX_OBJECTS_PER_TURN objects:
         * the other session is served meanwhile */
        sendf(&f->b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}");
        json_decref(expect_result(f, &f->b, 1));
        assert_int_equal(async_call_count(a->session->async), 1);
        int seen = 0;
        json_int_t seq = 0;
        while (seen < count) {
                json_t *objects = expect_indicate(f, a, "q", call, ++seq);
                seen += (int)json_array_size(objects);
                json_decref(objects);
        }
        expect_status(f, a, "q", call, "WBEM_S_NO_ERROR");
}

static void test_engine_ends_call(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;

        put_event_class(f, a);
        subscribe(a, 1, "s", "SELECT * FROM T_Ev");
        json_int_t call = expect_result_int(f, a, 1, "call");
        sendf(&f->b, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"DeleteClass\",\"params\":{"
                     "\"namespace\":\"" NS "\",\"class\":\"T_Ev\"}}");
        json_decref(expect_result(f, &f->b, 2));
        expect_status(f, a, "s", call, "WBEM_E_INVALID_CLASS");
        assert_int_equal(async_call_count(a->session->async), 0);
        /* cancelling it now finds nothing */
        sendf(a,
              "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"CancelAsyncCall\",\"params\":{"
              "\"call\":%lld}}",
              (long long)call);
        assert_int_equal(expect_result_int(f, a, 3, "cancelled"), 0);
}

static void test_intrinsic_events(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;

        fill_items(f, a, 1);
        subscribe(a, 10, "s",
                  "SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'T_Item'");
        json_int_t call = expect_result_int(f, a, 10, "call");
        sendf(&f->b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"PutInstance\",\"params\":"
                     "{\"namespace\":\"" NS "\",\"instance\":{\"__CLASS\":\"T_Item\","
                     "\"Id\":0,\"Name\":\"changed\"}}}");
        json_decref(expect_result(f, &f->b, 1));
        json_t *objects = expect_indicate(f, a, "s", call, 1);
        json_t *ev = json_array_get(objects, 0);
        assert_string_equal(json_string_value(json_object_get(ev, "__CLASS")),
                            "__InstanceModificationEvent");
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(ev, "TargetInstance"), "Name")),
                "changed");
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(ev, "PreviousInstance"), "Name")),
                "n0");
        json_decref(objects);
}

/* A consumer that does not read: events over the backlog are dropped,
 * their seq used up, and one EventsDropped per sink reports exactly the
 * gap once the output has drained; events flow again after it. */
static void test_backlog_drops(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        /* about 16 KiB per event */
        char text[16000];
        memset(text, 'x', sizeof(text) - 1);
        text[sizeof(text) - 1] = '\0';

        put_event_class(f, a);
        subscribe(a, 1, "s", "SELECT * FROM T_Ev");
        json_int_t call = expect_result_int(f, a, 1, "call");

        const int events = (int)(2 * f->server->settings.max_backlog_bytes / sizeof(text));
        char *msg = malloc(sizeof(text) + 256);
        for (int k = 0; k < events; k++) {
                snprintf(msg, sizeof(text) + 256,
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"PublishEvent\",\"params\":{"
                         "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":%d,"
                         "\"Text\":\"%s\"}}}\n",
                         k, k, text);
                send_text(&f->b, msg);
                json_decref(expect_result(f, &f->b, k));
        }
        free(msg);

        /* now read it all: seq 1.. without gaps up to the first drop, then
         * EventsDropped for the rest of the range, once */
        json_int_t next_seq = 1, dropped = 0;
        bool reported = false;
        for (;;) {
                json_t *m = next_msg(f, a);
                if (!m)
                        break;
                const char *method = msg_method(m);
                if (strcmp(method, "Indicate") == 0) {
                        assert_int_equal(msg_int(m, "seq"), next_seq);
                        next_seq++;
                } else {
                        assert_string_equal(method, "EventsDropped");
                        assert_false(reported);
                        reported = true;
                        assert_string_equal(json_string_value(msg_param(m, "sink")), "s");
                        assert_int_equal(msg_int(m, "first_seq"), next_seq);
                        dropped = msg_int(m, "count");
                        assert_int_equal(msg_int(m, "last_seq"), next_seq + dropped - 1);
                        next_seq += dropped;
                }
                json_decref(m);
        }
        assert_true(reported);
        assert_true(dropped > 0);
        assert_int_equal(next_seq - 1, events);

        /* delivered again */
        publish(&f->b, 99999, 1);
        json_decref(expect_result(f, &f->b, 99999));
        json_decref(expect_indicate(f, a, "s", call, next_seq));

        /* counted for the call, the session and the daemon */
        json_t *regs = self_query(f, &f->b, 100000, "SELECT * FROM LWMI_Registration");
        assert_int_equal(json_array_size(regs), 1);
        json_t *o = json_array_get(regs, 0);
        assert_int_equal(self_u64(o, "EventsDropped"), dropped);
        assert_int_equal(self_u64(o, "EventsDelivered"), next_seq - dropped);
        json_decref(regs);
        json_t *sessions =
                self_query(f, &f->b, 100001, "SELECT * FROM LWMI_Session WHERE EventsDropped > 0");
        assert_int_equal(json_array_size(sessions), 1);
        o = json_array_get(sessions, 0);
        assert_int_equal(self_u64(o, "SessionId"), a->session->id);
        assert_int_equal(self_u64(o, "EventsDropped"), dropped);
        assert_int_equal(self_u64(o, "EventsDelivered"), next_seq - dropped);
        json_decref(sessions);
        json_t *d = self_query(f, &f->b, 100002, "SELECT * FROM LWMI_Daemon");
        assert_int_equal(self_u64(json_array_get(d, 0), "EventsDropped"), dropped);
        json_decref(d);
}

/* Events published in one turn for one call go out as one Indicate with
 * several objects and one seq; the next turn's take the next seq. */
static void test_batching(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        char text[8192] = "";

        put_event_class(f, a);
        subscribe(a, 1, "s", "SELECT * FROM T_Ev");
        json_int_t call = expect_result_int(f, a, 1, "call");
        for (int k = 0; k < 10; k++)
                snprintf(text + strlen(text), sizeof(text) - strlen(text),
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"PublishEvent\",\"params\":{"
                         "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":%d}}}\n",
                         10 + k, k);
        send_text(&f->b, text);
        for (int k = 0; k < 10; k++)
                assert_int_equal(expect_result_int(f, &f->b, 10 + k, "delivered"), 1);

        /* every event, in order, seq counting the Indicates */
        int events = 0, indicates = 0;
        while (events < 10) {
                json_t *objs = expect_indicate(f, a, "s", call, ++indicates);
                for (size_t k = 0; k < json_array_size(objs); k++) {
                        json_t *o = json_array_get(objs, k);
                        assert_int_equal(json_integer_value(json_object_get(o, "Sev")), events);
                        events++;
                }
                json_decref(objs);
        }
        assert_int_equal(events, 10);
        /* handled in one turn (two at worst, on a very slow machine) */
        assert_true(indicates <= 2);
        expect_nothing(f, a);
        publish(&f->b, 30, 99);
        assert_int_equal(expect_result_int(f, &f->b, 30, "delivered"), 1);
        json_t *objs = expect_indicate(f, a, "s", call, indicates + 1);
        assert_int_equal(json_array_size(objs), 1);
        json_decref(objs);
        expect_nothing(f, a);
}

/* Batching changes no order: events for two sinks stay interleaved as
 * they were made, and on the session that publishes, each Indicate comes
 * before the response that made it; a cancelled call's Indicates come
 * before its SetStatus. */
static void test_batching_keeps_order(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        char text[8192] = "";

        put_event_class(f, a);
        subscribe(a, 1, "s1", "SELECT * FROM T_Ev");
        json_int_t c1 = expect_result_int(f, a, 1, "call");
        subscribe(a, 2, "s2", "SELECT * FROM T_Ev");
        json_int_t c2 = expect_result_int(f, a, 2, "call");
        for (int k = 0; k < 3; k++)
                snprintf(text + strlen(text), sizeof(text) - strlen(text),
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"PublishEvent\",\"params\":{"
                         "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":%d}}}\n",
                         10 + k, k);
        send_text(&f->b, text);
        for (int k = 0; k < 3; k++)
                assert_int_equal(expect_result_int(f, &f->b, 10 + k, "delivered"), 2);
        json_int_t seq1 = 0, seq2 = 0, last_sev = -1;
        for (int k = 0; k < 6; k++) {
                json_t *m = next_msg(f, a);
                assert_non_null(m);
                assert_string_equal(msg_method(m), "Indicate");
                bool one = strcmp(json_string_value(msg_param(m, "sink")), "s1") == 0;
                assert_int_equal(msg_int(m, "call"), one ? c1 : c2);
                assert_int_equal(msg_int(m, "seq"), one ? ++seq1 : ++seq2);
                json_t *objs = msg_param(m, "objects");
                assert_int_equal(json_array_size(objs), 1);
                json_int_t sev = json_integer_value(json_object_get(json_array_get(objs, 0), "Sev"));
                assert_true(sev >= last_sev);
                last_sev = sev;
                json_decref(m);
        }
        assert_int_equal(seq1, 3);
        assert_int_equal(seq2, 3);

        /* publishing on the consumer's own session, then cancelling */
        text[0] = '\0';
        for (int k = 0; k < 3; k++)
                snprintf(text + strlen(text), sizeof(text) - strlen(text),
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"PublishEvent\",\"params\":{"
                         "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":%d}}}\n",
                         20 + k, k);
        snprintf(text + strlen(text), sizeof(text) - strlen(text),
                 "{\"jsonrpc\":\"2.0\",\"id\":23,\"method\":\"CancelAsyncCall\",\"params\":{"
                 "\"sink\":\"s1\"}}\n");
        send_text(a, text);
        for (int k = 0; k < 3; k++) {
                /* s1's and s2's Indicate (in the engine's order), then the response */
                bool seen1 = false, seen2 = false;
                for (int n = 0; n < 2; n++) {
                        json_t *m = next_msg(f, a);
                        assert_non_null(m);
                        assert_string_equal(msg_method(m), "Indicate");
                        bool one = strcmp(json_string_value(msg_param(m, "sink")), "s1") == 0;
                        assert_int_equal(msg_int(m, "seq"), one ? ++seq1 : ++seq2);
                        seen1 |= one;
                        seen2 |= !one;
                        json_decref(m);
                }
                assert_true(seen1 && seen2);
                assert_int_equal(expect_result_int(f, a, 20 + k, "delivered"), 2);
        }
        expect_status(f, a, "s1", c1, "WBEM_E_CALL_CANCELLED");
        assert_int_equal(expect_result_int(f, a, 23, "cancelled"), 1);
        expect_nothing(f, a);
}

/* Make the kernel hold little of what a session writes to p, so that
 * what p does not read stays in lwmid's output buffer. */
static void small_socket_buffers(Peer *p) {
        int size = 4096;
        int fd = bufferevent_getfd(p->session->bev);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
        assert_int_equal(setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);
}

/* The budget counts Indicates only: a consumer whose output holds far
 * more than the budget in responses still gets its events. */
static void test_backlog_counts_indicates_only(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        Async *as = a->session->async;
        const size_t id_len = 50000;

        f->server->settings.max_backlog_bytes = 16384;
        put_event_class(f, a);
        subscribe(a, 1, "s", "SELECT * FROM T_Ev");
        json_int_t call = expect_result_int(f, a, 1, "call");
        small_socket_buffers(a);

        /* four Pings whose string ids make 200 KB of responses, not read */
        char *line = malloc(id_len + 128);
        assert_non_null(line);
        for (int k = 0; k < 4; k++) {
                int n = snprintf(line, id_len + 128, "{\"jsonrpc\":\"2.0\",\"id\":\"%d", k);
                memset(line + n, 'p', id_len);
                strcpy(line + n + id_len, "\",\"method\":\"Ping\"}\n");
                        send_text(a, line);
        }
        free(line);
        uint64_t requests = a->session->requests;
        for (int k = 0; k < 2000 && a->session->requests < requests + 4; k++)
                pump(f, 1);
        assert_int_equal(a->session->requests, requests + 4);
        struct evbuffer *out = bufferevent_get_output(a->session->bev);
        assert_true(evbuffer_get_length(out) > 4 * f->server->settings.max_backlog_bytes);
        assert_int_equal(async_backlog_bytes(as), 0);

        publish(&f->b, 10, 1);
        assert_int_equal(expect_result_int(f, &f->b, 10, "delivered"), 1);
        pump(f, 3);
        size_t backlog = async_backlog_bytes(as);
        assert_true(backlog > 100 && backlog < 1000); /* one Indicate line */
        assert_int_equal(f->server->events_dropped, 0);

        /* read it all: the four responses, then the event, nothing dropped */
        for (int k = 0; k < 4; k++) {
                json_t *m = next_msg(f, a);
                assert_non_null(m);
                char id[16];
                snprintf(id, sizeof(id), "%d", k);
                assert_true(strncmp(json_string_value(json_object_get(m, "id")), id, strlen(id)) ==
                            0);
                json_decref(m);
        }
        json_decref(expect_indicate(f, a, "s", call, 1));
        expect_nothing(f, a);
        assert_int_equal(async_backlog_bytes(as), 0);
}

/* Over the budget every new event is dropped, its seq used up; the
 * backlog never grows past the budget by more than one Indicate; once it
 * drains the sink gets exactly the missing range, and the events
 * delivered plus the count reported make every event published.
 * Responses are never dropped. */
static void test_backlog_exact_drops(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        Async *as = a->session->async;
        const size_t budget = 16384;
        const int events = 200;
        char text[1001];
        char msg[1300];

        memset(text, 't', sizeof(text) - 1);
        text[sizeof(text) - 1] = '\0';
        f->server->settings.max_backlog_bytes = budget;
        put_event_class(f, a);
        subscribe(a, 1, "s", "SELECT * FROM T_Ev");
        json_int_t call = expect_result_int(f, a, 1, "call");
        small_socket_buffers(a);
        uint64_t dropped_before = f->server->events_dropped;

        for (int k = 0; k < events; k++) {
                snprintf(msg, sizeof(msg),
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"PublishEvent\",\"params\":{"
                         "\"namespace\":\"" NS "\",\"event\":{\"__CLASS\":\"T_Ev\",\"Sev\":%d,"
                         "\"Text\":\"%s\"}}}\n",
                         k + 10, k, text);
                send_text(&f->b, msg);
                assert_int_equal(expect_result_int(f, &f->b, k + 10, "delivered"), 1);
                /* an Indicate is about 1.3 KB */
                assert_true(async_backlog_bytes(as) < budget + 2000);
        }
        assert_true(async_backlog_bytes(as) >= budget);
        uint64_t dropped = f->server->events_dropped - dropped_before;
        assert_true(dropped > 0 && dropped < (uint64_t)events);
        /* a request meanwhile is answered all the same */
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"Ping\"}");

        json_int_t next_seq = 1, next_sev = 0, reported = 0;
        bool answered = false;
        for (;;) {
                json_t *m = next_msg(f, a);
                if (!m)
                        break;
                const char *method = msg_method(m);
                if (!method) {
                        assert_int_equal(json_integer_value(json_object_get(m, "id")), 7);
                        answered = true;
                } else if (strcmp(method, "Indicate") == 0) {
                        assert_int_equal(msg_int(m, "call"), call);
                        assert_int_equal(msg_int(m, "seq"), next_seq);
                        next_seq++;
                        json_t *objs = msg_param(m, "objects");
                        for (size_t k = 0; k < json_array_size(objs); k++)
                                assert_int_equal(json_integer_value(json_object_get(
                                                         json_array_get(objs, k), "Sev")),
                                                 next_sev++);
                } else {
                        /* the one report, once the backlog drained */
                        assert_string_equal(method, "EventsDropped");
                        assert_int_equal(reported, 0);
                        assert_string_equal(json_string_value(msg_param(m, "sink")), "s");
                        assert_int_equal(msg_int(m, "first_seq"), next_seq);
                        reported = msg_int(m, "count");
                        assert_int_equal(msg_int(m, "last_seq"), next_seq + reported - 1);
                        next_seq += reported;
                        assert_true(async_backlog_bytes(as) <= budget / 2);
                }
                json_decref(m);
        }
        assert_true(answered);
        assert_int_equal(reported, (json_int_t)dropped);
        /* the dropped ones were the last ones: all after the budget filled */
        assert_int_equal(next_sev + reported, events);

        publish(&f->b, 999, 1);
        assert_int_equal(expect_result_int(f, &f->b, 999, "delivered"), 1);
        json_decref(expect_indicate(f, a, "s", call, next_seq));
        expect_nothing(f, a);
}

static void test_close_releases_everything(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        EngineEventStats before = stats(f);

        put_event_class(f, a);
        fill_items(f, a, 300);
        /* many calls on a few sinks, some cancelled, so the call table grows
         * and loses entries in the middle */
        char query[128];
        for (int k = 0; k < 500; k++) {
                snprintf(query, sizeof(query), "SELECT * FROM T_Ev WHERE Sev = %d", k);
                subscribe(a, k + 1000, k % 3 ? "odd" : "even", query);
                assert_int_equal(expect_result_int(f, a, k + 1000, "call"), k + 1);
        }
        for (int k = 1; k <= 500; k += 7) {
                sendf(a,
                      "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"CancelAsyncCall\","
                      "\"params\":{\"call\":%d}}",
                      k + 2000, k);
                expect_status(f, a, k % 3 == 1 ? "even" : "odd", k, "WBEM_E_CALL_CANCELLED");
                assert_int_equal(expect_result_int(f, a, k + 2000, "cancelled"), 1);
        }
        size_t open = 500 - (500 + 6) / 7;
        assert_int_equal(async_call_count(a->session->async), open);
        /* each remaining call is still found by its id: publish to one */
        publish(a, 3000, 2); /* call 3 */
        json_decref(expect_indicate(f, a, "odd", 3, 1));
        assert_int_equal(expect_result_int(f, a, 3000, "delivered"), 1);
        exec_query_async(a, 3001, "even", "SELECT * FROM T_Item");
        json_decref(expect_result(f, a, 3001));
        assert_int_equal(stats(f).registrations, before.registrations + open);

        /* the peer goes: all calls go at once */
        close(a->fd);
        a->fd = -1;
        pump(f, 5);
        EngineEventStats after = stats(f);
        assert_int_equal(after.registrations, before.registrations);
        assert_int_equal(after.filters, before.filters);
        assert_int_equal(after.sinks, before.sinks);
        assert_int_equal(f->server->n_sessions, 1);
}

static void test_shutdown_status(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;

        put_event_class(f, a);
        subscribe(a, 1, "s", "SELECT * FROM T_Ev");
        json_int_t c1 = expect_result_int(f, a, 1, "call");
        subscribe(a, 2, "t", "SELECT * FROM T_Ev WHERE Sev = 4");
        json_int_t c2 = expect_result_int(f, a, 2, "call");
        server_shutdown(f->server, "test");
        bool s = false, t = false;
        for (int k = 0; k < 2; k++) {
                json_t *m = next_msg(f, a);
                assert_non_null(m);
                assert_string_equal(msg_method(m), "SetStatus");
                assert_string_equal(json_string_value(msg_param(m, "status")),
                                    "WBEM_E_SHUTTING_DOWN");
                json_int_t call = msg_int(m, "call");
                s |= call == c1;
                t |= call == c2;
                json_decref(m);
        }
        assert_true(s && t);
        /* then the session closes */
        char c;
        for (int k = 0; k < 100 && recv(a->fd, &c, 1, 0) < 0; k++)
                pump(f, 1);
        assert_int_equal(recv(a->fd, &c, 1, 0), 0);
        assert_null(f->server->engine);
}

/* The objects of an ExecQuery in root/lwmi. */
static json_t *self_query(Fixture *f, Peer *p, json_int_t id, const char *query) {
        sendf(p,
              "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"ExecQuery\",\"params\":{"
              "\"namespace\":\"root/lwmi\",\"query\":\"%s\"}}",
              (long long)id, query);
        json_t *r = expect_result(f, p, id);
        json_t *objects = json_incref(json_object_get(r, "objects"));
        json_decref(r);
        assert_non_null(objects);
        return objects;
}

static json_int_t self_count(json_t *obj, const char *name) {
        json_t *v = json_object_get(obj, name);
        assert_true(json_is_integer(v));
        return json_integer_value(v);
}

static void test_self_description(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;

        put_event_class(f, a);
        fill_items(f, a, 200);
        subscribe(a, 1, "s", "SELECT * FROM T_Ev WHERE Sev = 1");
        json_int_t c1 = expect_result_int(f, a, 1, "call");
        subscribe(a, 2, "t", "SELECT * FROM T_Ev WHERE Sev = 1");
        json_int_t c2 = expect_result_int(f, a, 2, "call");
        exec_query_async(a, 3, "t", "SELECT * FROM T_Item");
        json_int_t c3 = expect_result_int(f, a, 3, "call");

        /* the registrations, from the other session while a's query runs */
        json_t *regs = self_query(f, &f->b, 10, "SELECT * FROM LWMI_Registration");
        assert_true(json_array_size(regs) == 3 || json_array_size(regs) == 2);
        for (size_t k = 0; k < json_array_size(regs); k++) {
                json_t *o = json_array_get(regs, k);
                json_int_t call = atoll(json_string_value(json_object_get(o, "Call")));
                assert_true(call == c1 || call == c2 || call == c3);
                assert_int_equal(atoll(json_string_value(json_object_get(o, "SessionId"))),
                                 (long long)a->session->id);
                const char *method = json_string_value(json_object_get(o, "Method"));
                assert_string_equal(method,
                                    call == c3 ? "ExecQueryAsync" : "ExecNotificationQueryAsync");
                assert_string_equal(json_string_value(json_object_get(o, "Sink")),
                                    call == c1 ? "s" : "t");
                assert_string_equal(json_string_value(json_object_get(o, "Namespace")), NS);
        }
        json_decref(regs);

        /* the query ends, its registration with it */
        for (json_int_t seq = 1; seq <= 4; seq++)
                json_decref(expect_indicate(f, a, "t", c3, seq));
        expect_status(f, a, "t", c3, "WBEM_S_NO_ERROR");
        regs = self_query(f, &f->b, 11, "SELECT Query FROM LWMI_Registration WHERE Sink = 't'");
        assert_int_equal(json_array_size(regs), 1);
        json_decref(regs);

        json_t *d = self_query(f, &f->b, 12, "SELECT * FROM LWMI_Daemon");
        assert_int_equal(json_array_size(d), 1);
        json_t *o = json_array_get(d, 0);
        assert_int_equal(self_count(o, "Sessions"), 2);
        assert_int_equal(self_count(o, "Sinks"), 2);
        assert_int_equal(self_count(o, "Registrations"), 2);
        /* one filter: the same query twice */
        assert_int_equal(self_count(o, "Filters"), 1);
        assert_int_equal(self_count(o, "PollTasks"), 0);
        assert_int_equal(self_count(o, "ProcessId"), getpid());
        json_decref(d);

        json_t *sessions = self_query(f, &f->b, 13, "SELECT * FROM LWMI_Session");
        assert_int_equal(json_array_size(sessions), 2);
        for (size_t k = 0; k < 2; k++) {
                o = json_array_get(sessions, k);
                bool is_a = atoll(json_string_value(json_object_get(o, "SessionId"))) ==
                            (long long)a->session->id;
                assert_int_equal(self_count(o, "Registrations"), is_a ? 2 : 0);
                assert_int_equal(self_count(o, "Sinks"), is_a ? 2 : 0);
                assert_int_equal(self_count(o, "UserId"), getuid());
                assert_int_equal(self_count(o, "ProcessId"), getpid());
        }
        json_decref(sessions);
}

/* A uint64 property (a decimal string on the wire) or a uint32 one. */
static uint64_t self_u64(json_t *obj, const char *name) {
        json_t *v = json_object_get(obj, name);
        if (json_is_integer(v))
                return (uint64_t)json_integer_value(v);
        assert_true(json_is_string(v));
        return strtoull(json_string_value(v), NULL, 10);
}

/* A datetime property, as microseconds since the epoch. */
static int64_t self_time(json_t *obj, const char *name) {
        CimDatetime dt;
        json_t *v = json_object_get(obj, name);
        assert_true(json_is_string(v));
        assert_int_equal(cim_datetime_parse(json_string_value(v), &dt, NULL), 0);
        assert_false(dt.is_interval);
        return dt.usec;
}

static int64_t wall_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The registration of call in regs (NULL when it is not there). */
static json_t *find_call(json_t *regs, json_int_t call) {
        for (size_t k = 0; k < json_array_size(regs); k++) {
                json_t *o = json_array_get(regs, k);
                if ((json_int_t)self_u64(o, "Call") == call)
                        return o;
        }
        return NULL;
}

/* Per-call, per-session and daemon counts of delivered events, the new
 * LWMI_Daemon and LWMI_Session figures, CreatedAt. */
static void test_registration_counts(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        /* datetimes carry microseconds; the conversion from the monotonic
         * clock may be off by a little */
        const int64_t slack = 2000;

        put_event_class(f, a);
        int64_t before = wall_usec();
        subscribe(a, 1, "s", "SELECT * FROM T_Ev WHERE Sev = 1");
        json_int_t c1 = expect_result_int(f, a, 1, "call");
        subscribe(a, 2, "s", "SELECT * FROM T_Ev WHERE Sev = 2");
        json_int_t c2 = expect_result_int(f, a, 2, "call");
        subscribe(a, 3, "t", "SELECT Sev FROM T_Ev");
        json_int_t c3 = expect_result_int(f, a, 3, "call");
        int64_t after = wall_usec();

        publish(&f->b, 20, 1);
        publish(&f->b, 21, 1);
        publish(&f->b, 22, 1);
        publish(&f->b, 23, 2);
        publish(&f->b, 24, 7);
        for (json_int_t id = 20; id <= 24; id++)
                json_decref(expect_result(f, &f->b, id));
        for (int k = 0; k < 3 * 2 + 2 + 1; k++) {
                json_t *m = next_msg(f, a);
                assert_non_null(m);
                assert_string_equal(msg_method(m), "Indicate");
                json_decref(m);
        }

        json_t *regs = self_query(f, &f->b, 30, "SELECT * FROM LWMI_Registration");
        assert_int_equal(json_array_size(regs), 3);
        const struct {
                json_int_t call;
                const char *sink;
                uint64_t delivered;
        } want[] = { { c1, "s", 3 }, { c2, "s", 1 }, { c3, "t", 5 } };
        for (size_t k = 0; k < 3; k++) {
                json_t *o = find_call(regs, want[k].call);
                assert_non_null(o);
                assert_string_equal(json_string_value(json_object_get(o, "Sink")), want[k].sink);
                assert_int_equal(self_u64(o, "EventsDelivered"), want[k].delivered);
                assert_int_equal(self_u64(o, "EventsDropped"), 0);
                int64_t created = self_time(o, "CreatedAt");
                assert_true(created >= before - slack && created <= after + slack);
        }
        json_decref(regs);

        /* read again, the times are the same to the microsecond (a WITHIN
         * poll would see a change otherwise) */
        json_t *again = self_query(f, &f->b, 34, "SELECT * FROM LWMI_Registration");
        regs = self_query(f, &f->b, 35, "SELECT * FROM LWMI_Registration");
        for (size_t k = 0; k < 3; k++)
                assert_int_equal(self_time(find_call(regs, want[k].call), "CreatedAt"),
                                 self_time(find_call(again, want[k].call), "CreatedAt"));
        json_decref(again);
        json_decref(regs);
        again = self_query(f, &f->b, 36, "SELECT * FROM LWMI_Session");

        json_t *sessions = self_query(f, &f->b, 31, "SELECT * FROM LWMI_Session");
        assert_int_equal(json_array_size(sessions), 2);
        for (size_t k = 0; k < 2; k++)
                assert_int_equal(self_time(json_array_get(sessions, k), "ConnectedSince"),
                                 self_time(json_array_get(again, k), "ConnectedSince"));
        json_decref(again);
        for (size_t k = 0; k < 2; k++) {
                json_t *o = json_array_get(sessions, k);
                bool is_a = self_u64(o, "SessionId") == a->session->id;
                assert_int_equal(self_u64(o, "EventsDelivered"), is_a ? 9 : 0);
                assert_int_equal(self_u64(o, "EventsDropped"), 0);
                /* everything written was read */
                assert_int_equal(self_u64(o, "BacklogBytes"), 0);
                char peer[64];
                snprintf(peer, sizeof(peer), "unix pid %ld", (long)getpid());
                assert_string_equal(json_string_value(json_object_get(o, "Peer")), peer);
                int64_t since = self_time(o, "ConnectedSince");
                int64_t heard = self_time(o, "LastHeardFrom");
                assert_true(since <= heard + slack);
                assert_true(heard <= wall_usec() + slack);
                /* a sent its last request before the events were read */
                if (is_a)
                        assert_true(heard <= after + slack);
        }
        json_decref(sessions);

        json_t *d = self_query(f, &f->b, 32, "SELECT * FROM LWMI_Daemon");
        json_t *o = json_array_get(d, 0);
        assert_int_equal(self_u64(o, "EventsDelivered"), 9);
        assert_int_equal(self_u64(o, "EventsDropped"), 0);
        assert_int_equal(self_u64(o, "Watches"), 0);
        assert_true(self_u64(o, "MemoryRss") > 0);
        f->server->sessions_lost[SESSION_LOSS_STALL] = 4;
        f->server->registrations_reclaimed = 17;
        json_decref(d);
        d = self_query(f, &f->b, 33, "SELECT * FROM LWMI_Daemon");
        o = json_array_get(d, 0);
        assert_int_equal(self_u64(o, "SessionsLostClosed"), 0);
        assert_int_equal(self_u64(o, "SessionsLostReset"), 0);
        assert_int_equal(self_u64(o, "SessionsLostStall"), 4);
        assert_int_equal(self_u64(o, "SessionsLostKeepalive"), 0);
        assert_int_equal(self_u64(o, "RegistrationsReclaimed"), 17);
        json_decref(d);

        /* a cancelled call's counts go with it; the others stay */
        sendf(a,
              "{\"jsonrpc\":\"2.0\",\"id\":40,\"method\":\"CancelAsyncCall\",\"params\":{"
              "\"call\":%lld}}",
              (long long)c1);
        expect_status(f, a, "s", c1, "WBEM_E_CALL_CANCELLED");
        assert_int_equal(expect_result_int(f, a, 40, "cancelled"), 1);
        regs = self_query(f, &f->b, 41,
                          "SELECT Call, EventsDelivered FROM LWMI_Registration "
                          "WHERE EventsDelivered > 0");
        assert_int_equal(json_array_size(regs), 2);
        assert_null(find_call(regs, c1));
        assert_int_equal(self_u64(find_call(regs, c3), "EventsDelivered"), 5);
        json_decref(regs);
}

/* CreatedAt stays right while calls come and go over many milliseconds
 * (its epochs are compacted many times), and for calls made in one go. */
static void test_created_at(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        enum {
                CALLS = 120,
                KEEP_EVERY = 10,
                BURST = 100
        };
        int64_t before[CALLS], after[CALLS];
        json_int_t calls[CALLS];
        const int64_t slack = 2000;

        put_event_class(f, a);
        for (int k = 0; k < CALLS; k++) {
                before[k] = wall_usec();
                subscribe(a, k + 1, "s", "SELECT * FROM T_Ev");
                calls[k] = expect_result_int(f, a, k + 1, "call");
                after[k] = wall_usec();
                if (k % KEEP_EVERY != 0) {
                        sendf(a,
                              "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"CancelAsyncCall\","
                              "\"params\":{\"call\":%lld}}",
                              1000 + k, (long long)calls[k]);
                        expect_status(f, a, "s", calls[k], "WBEM_E_CALL_CANCELLED");
                        assert_int_equal(expect_result_int(f, a, 1000 + k, "cancelled"), 1);
                }
                struct timespec pause = { 0, 1500 * 1000 };
                nanosleep(&pause, NULL);
        }
        /* a burst: written at once, answered within a few milliseconds */
        int64_t burst_before = wall_usec();
        char *text = malloc(BURST * 256);
        assert_non_null(text);
        size_t len = 0;
        for (int k = 0; k < BURST; k++)
                len += (size_t)snprintf(text + len, BURST * 256 - len,
                                        "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
                                        "\"ExecNotificationQueryAsync\",\"params\":{"
                                        "\"namespace\":\"" NS "\",\"query\":\"SELECT * FROM "
                                        "T_Ev WHERE Sev = %d\",\"sink\":\"b\"}}\n",
                                        5000 + k, k);
        send_text(a, text);
        free(text);
        for (int k = 0; k < BURST; k++)
                expect_result_int(f, a, 5000 + k, "call");
        int64_t burst_after = wall_usec();

        json_t *regs = self_query(f, &f->b, 9000, "SELECT * FROM LWMI_Registration");
        assert_int_equal(json_array_size(regs), CALLS / KEEP_EVERY + BURST);
        for (int k = 0; k < CALLS; k += KEEP_EVERY) {
                json_t *o = find_call(regs, calls[k]);
                assert_non_null(o);
                int64_t created = self_time(o, "CreatedAt");
                assert_true(created >= before[k] - slack);
                assert_true(created <= after[k] + slack);
        }
        size_t burst_seen = 0;
        for (size_t k = 0; k < json_array_size(regs); k++) {
                json_t *o = json_array_get(regs, k);
                if (strcmp(json_string_value(json_object_get(o, "Sink")), "b") != 0)
                        continue;
                burst_seen++;
                int64_t created = self_time(o, "CreatedAt");
                assert_true(created >= burst_before - slack && created <= burst_after + slack);
        }
        assert_int_equal(burst_seen, BURST);
        json_decref(regs);
}

/* The next message, or NULL once the session closed the connection. */
static json_t *next_msg_or_eof(Fixture *f, Peer *p) {
        for (int tries = 0; tries < 400; tries++) {
                if (memchr(p->buf, '\n', p->have))
                        return next_msg(f, p);
                pump(f, 1);
                ssize_t n = read(p->fd, p->buf + p->have, sizeof(p->buf) - p->have);
                if (n > 0)
                        p->have += (size_t)n;
                else if (n == 0 || (n < 0 && errno == ECONNRESET))
                        return NULL;
        }
        fail_msg("neither a message nor the end");
        return NULL;
}

static void close_peer(Fixture *f, Peer *p) {
        close(p->fd);
        p->fd = -1;
        p->have = 0;
        pump(f, 3);
}

/* Out of memory at each allocation of a registration in turn: the client
 * gets the call, an out-of-memory error, or (an answer that cannot be
 * encoded) the end of its session; nothing is kept either way once the
 * session is gone. */
static void test_alloc_subscribe(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);

        put_event_class(f, &f->a);
        for (unsigned long n = 1;; n++) {
                Peer p = { .fd = -1 };
                assert_non_null(accept_peer(f, &p));
                mem_fail_at(n);
                subscribe(&p, 1, "fresh", "SELECT * FROM T_Ev WHERE Sev = 9 AND Text = 'x'");
                json_t *m = next_msg_or_eof(f, &p);
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                if (m && json_object_get(m, "error")) {
                        json_t *e = json_object_get(m, "error");
                        assert_string_equal(json_string_value(json_object_get(
                                                    json_object_get(e, "data"), "status")),
                                            "WBEM_E_OUT_OF_MEMORY");
                        assert_true(hit);
                } else if (m) {
                        assert_int_equal(json_integer_value(json_object_get(
                                                 json_object_get(m, "result"), "call")),
                                         1);
                }
                json_decref(m);
                close_peer(f, &p);
                EngineEventStats after = stats(f);
                assert_int_equal(after.registrations, before.registrations);
                assert_int_equal(after.sinks, before.sinks);
                assert_int_equal(after.filters, before.filters);
                if (!hit)
                        break;
        }
}

/* Out of memory while an event is written for a consumer: the event is
 * reported dropped (or, when even that cannot be written, the consumer's
 * session ends); the seq stays exact. */
static void test_alloc_indicate(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;

        put_event_class(f, a);
        subscribe(a, 1, "s", "SELECT Sev FROM T_Ev");
        json_int_t call = expect_result_int(f, a, 1, "call");
        json_int_t next_seq = 1, drops = 0;
        for (unsigned long n = 1;; n++) {
                mem_fail_at(n);
                publish(&f->b, (json_int_t)n + 10, 1);
                json_t *r = next_msg_or_eof(f, &f->b);
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                /* delivered: 1 means an Indicate or an EventsDropped must
                 * come; an error, nothing; a closed publisher, either */
                bool must = r && json_integer_value(json_object_get(json_object_get(r, "result"),
                                                                    "delivered")) == 1;
                bool may = must || !r;
                if (!r) {
                        close_peer(f, &f->b);
                        assert_non_null(accept_peer(f, &f->b));
                }
                json_decref(r);
                pump(f, 3);
                json_t *m = NULL;
                if (may) {
                        m = next_msg_or_eof(f, a);
                        if (!m && a->fd >= 0 && must) {
                                /* the EventsDropped could not be encoded:
                                 * the consumer's session ended */
                                break;
                        }
                }
                if (!m) {
                        assert_false(must);
                        expect_nothing(f, a);
                        if (!hit)
                                fail_msg("nothing delivered without a failure");
                        continue;
                }
                const char *method = msg_method(m);
                if (strcmp(method, "Indicate") == 0) {
                        assert_int_equal(msg_int(m, "call"), call);
                        assert_int_equal(msg_int(m, "seq"), next_seq);
                } else {
                        assert_string_equal(method, "EventsDropped");
                        assert_int_equal(msg_int(m, "first_seq"), next_seq);
                        assert_int_equal(msg_int(m, "count"), 1);
                        assert_true(f->server->events_dropped > 0);
                        drops++;
                }
                next_seq++;
                json_decref(m);
                if (!hit)
                        break;
        }
        assert_true(next_seq > 2);
        assert_true(drops > 0);
}

/* Out of memory at each allocation of an ExecQueryAsync in turn: an
 * error answer, or the call with its batches (seq in order) and a
 * SetStatus that says whether it ran out of memory; or the session ends. */
static void test_alloc_query_async(void **state) {
        Fixture *f = *state;
        Peer *a = &f->a;
        const int count = 150;

        fill_items(f, a, count);
        for (unsigned long n = 1;; n++) {
                char sink[32];
                snprintf(sink, sizeof(sink), "q%lu", n);
                mem_fail_at(n);
                exec_query_async(a, 1000, sink, "SELECT * FROM T_Item");
                json_t *m = next_msg_or_eof(f, a);
                json_int_t call = 0, seq = 0;
                int objects = 0;
                const char *status = NULL;
                char status_text[64] = "";
                bool closed = !m;
                if (m && json_object_get(m, "error")) {
                        json_t *e = json_object_get(m, "error");
                        assert_string_equal(json_string_value(json_object_get(
                                                    json_object_get(e, "data"), "status")),
                                            "WBEM_E_OUT_OF_MEMORY");
                } else if (m) {
                        call = json_integer_value(
                                json_object_get(json_object_get(m, "result"), "call"));
                        assert_true(call > 0);
                }
                json_decref(m);
                while (call && !status) {
                        m = next_msg_or_eof(f, a);
                        if (!m) {
                                closed = true;
                                break;
                        }
                        if (strcmp(msg_method(m), "Indicate") == 0) {
                                assert_int_equal(msg_int(m, "seq"), ++seq);
                                objects += (int)json_array_size(msg_param(m, "objects"));
                        } else {
                                assert_string_equal(msg_method(m), "SetStatus");
                                snprintf(status_text, sizeof(status_text), "%s",
                                         json_string_value(msg_param(m, "status")));
                                status = status_text;
                        }
                        json_decref(m);
                }
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                if (status && strcmp(status, "WBEM_S_NO_ERROR") == 0)
                        assert_int_equal(objects, count);
                else if (status)
                        assert_string_equal(status, "WBEM_E_OUT_OF_MEMORY");
                if (closed) {
                        close_peer(f, a);
                        assert_non_null(accept_peer(f, a));
                }
                assert_int_equal(async_call_count(a->session->async), 0);
                if (!hit) {
                        assert_string_equal(status, "WBEM_S_NO_ERROR");
                        break;
                }
        }
}

int main(void) {
        /* as lwmid does: a peer that is gone gives EPIPE */
        signal(SIGPIPE, SIG_IGN);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_seq_per_sink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_publish_flat_equivalence, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_call_and_sink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_param_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_query_async, setup, teardown),
                cmocka_unit_test_setup_teardown(test_query_async_spans_turns, setup, teardown),
                cmocka_unit_test_setup_teardown(test_engine_ends_call, setup, teardown),
                cmocka_unit_test_setup_teardown(test_intrinsic_events, setup, teardown),
                cmocka_unit_test_setup_teardown(test_backlog_drops, setup, teardown),
                cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
                cmocka_unit_test_setup_teardown(test_batching_keeps_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_backlog_counts_indicates_only, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_backlog_exact_drops, setup, teardown),
                cmocka_unit_test_setup_teardown(test_close_releases_everything, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shutdown_status, setup, teardown),
                cmocka_unit_test_setup_teardown(test_self_description, setup, teardown),
                cmocka_unit_test_setup_teardown(test_registration_counts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_created_at, setup, teardown),
                cmocka_unit_test_setup_teardown(test_alloc_subscribe, setup, teardown),
                cmocka_unit_test_setup_teardown(test_alloc_indicate, setup, teardown),
                cmocka_unit_test_setup_teardown(test_alloc_query_async, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
