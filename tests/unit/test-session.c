/* Unit tests for lwmid's sessions (src/daemon/session.c) driven over a
 * socketpair, with no listening socket: routing of the client's answers to
 * server Pings, the per-turn work bound, closing after a final error,
 * freeing only on a later loop turn, and query jobs (an in-memory
 * repository) answered over several turns while other sessions are
 * served, and freed when their session closes. (Liveness:
 * test-session-liveness.c.) */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "error.h"
#include "log.h"
#include "methods.h"
#include "mem.h"
#include "server.h"
#include "session.h"
#include "settings.h"

typedef struct Fixture {
        Server *server;
        Session *session;
        int peer;
        char buf[1 << 20];
        size_t have;
} Fixture;

static int setup(void **state) {
        Settings o;
        Error e;
        int fds[2];
        Fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        log_set_max_level(LOG_LEVEL_ERROR); /* keep test output quiet */
        settings_init(&o);
        o.socket_path = mem_strdup("/nonexistent/test.sock");
        o.repository = mem_strdup(":memory:");
        o.max_line_bytes = 1024;
        if (server_new(&o, &o, &f->server, &e) != 0)
                return -1;
        settings_done(&o);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
                return -1;
        server_accept(fds[0], f->server);
        f->session = TAILQ_FIRST(&f->server->sessions);
        f->peer = fds[1];
        *state = f;
        return f->session ? 0 : -1;
}

/* The same with the repository open: the data methods answer. */
static int setup_engine(void **state) {
        Fixture *f;
        Error e;

        if (setup(state) != 0)
                return -1;
        f = *state;
        return server_open_repository(f->server, &e) == 0 ? 0 : -1;
}

static int teardown(void **state) {
        Fixture *f = *state;
        server_free(f->server);
        if (f->peer >= 0)
                close(f->peer);
        free(f);
        return 0;
}

static void pump(Fixture *f, int turns) {
        for (int i = 0; i < turns; i++)
                event_base_loop(f->server->base, EVLOOP_NONBLOCK);
}

static void peer_send(Fixture *f, const char *text) {
        size_t len = strlen(text);
        assert_int_equal(write(f->peer, text, len), (ssize_t)len);
}

/* The next line from the session (without '\n'), pumping the loop while
 * waiting; NULL if none comes. Valid until the next call. */
static char *peer_line(Fixture *f) {
        static char line[1 << 20];

        for (int tries = 0; tries < 200; tries++) {
                char *nl = memchr(f->buf, '\n', f->have);
                if (nl) {
                        size_t len = (size_t)(nl - f->buf);
                        assert_true(len < sizeof(line));
                        memcpy(line, f->buf, len);
                        line[len] = '\0';
                        memmove(f->buf, nl + 1, f->have - len - 1);
                        f->have -= len + 1;
                        return line;
                }
                pump(f, 1);
                ssize_t n = read(f->peer, f->buf + f->have, sizeof(f->buf) - f->have);
                if (n > 0)
                        f->have += (size_t)n;
        }
        return NULL;
}

/* True once the session has closed its end: EOF on the peer, or a reset
 * when the session closed with input it never read (an over-long line). */
static bool peer_sees_eof(Fixture *f) {
        for (int tries = 0; tries < 200; tries++) {
                pump(f, 1);
                char c;
                ssize_t n = read(f->peer, &c, 1);
                if (n == 0 || (n < 0 && errno == ECONNRESET))
                        return true;
                assert_true(n < 0 && errno == EAGAIN);
        }
        return false;
}

static void test_ping_roundtrip(void **state) {
        Fixture *f = *state;

        assert_int_equal(session_send_ping(f->session), 0);
        assert_int_equal(session_pings_outstanding(f->session), 1);
        assert_string_equal(peer_line(f),
                            "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"method\":\"Ping\"}");

        peer_send(f, "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"result\":{}}\n");
        pump(f, 3);
        assert_int_equal(session_pings_outstanding(f->session), 0);

        /* the next Ping has the next id; an error answer also counts */
        assert_int_equal(session_send_ping(f->session), 0);
        assert_string_equal(peer_line(f),
                            "{\"jsonrpc\":\"2.0\",\"id\":\"s:2\",\"method\":\"Ping\"}");
        peer_send(
                f,
                "{\"jsonrpc\":\"2.0\",\"id\":\"s:2\",\"error\":{\"code\":1,\"message\":\"m\"}}\n");
        pump(f, 3);
        assert_int_equal(session_pings_outstanding(f->session), 0);
}

static void test_unknown_answers_ignored(void **state) {
        Fixture *f = *state;

        assert_int_equal(session_send_ping(f->session), 0);
        assert_non_null(peer_line(f));
        peer_send(f, "{\"jsonrpc\":\"2.0\",\"id\":\"s:2\",\"result\":{}}\n"
                     "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"
                     "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}\n"
                     "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{}}\n"
                     "{\"jsonrpc\":\"2.0\",\"id\":\"s:01\",\"result\":{}}\n"
                     "{\"jsonrpc\":\"2.0\",\"id\":\"s:1x\",\"result\":{}}\n"
                     "{\"jsonrpc\":\"2.0\",\"id\":\"s:\",\"result\":{}}\n"
                     "{\"jsonrpc\":\"2.0\",\"id\":\"s:99999999999999999999999\",\"result\":{}}\n"
                     "{\"jsonrpc\":\"2.0\",\"id\":\"after\",\"method\":\"Ping\"}\n");
        /* responses are never answered: the first line back is the Ping's */
        assert_string_equal(peer_line(f), "{\"jsonrpc\":\"2.0\",\"id\":\"after\",\"result\":{}}");
        assert_int_equal(session_pings_outstanding(f->session), 1);
        assert_int_equal(f->session->requests, 1);
}

static void test_ping_limit(void **state) {
        Fixture *f = *state;

        for (int i = 0; i < SESSION_MAX_PINGS; i++)
                assert_int_equal(session_send_ping(f->session), 0);
        assert_int_equal(session_send_ping(f->session), -EBUSY);
        assert_int_equal(session_pings_outstanding(f->session), SESSION_MAX_PINGS);
        peer_send(f, "{\"jsonrpc\":\"2.0\",\"id\":\"s:3\",\"result\":{}}\n");
        pump(f, 3);
        assert_int_equal(session_pings_outstanding(f->session), SESSION_MAX_PINGS - 1);
        assert_int_equal(session_send_ping(f->session), 0);
        for (int i = 1; i <= SESSION_MAX_PINGS + 1; i++) {
                char want[64];
                snprintf(want, sizeof(want),
                         "{\"jsonrpc\":\"2.0\",\"id\":\"s:%d\",\"method\":\"Ping\"}", i);
                assert_string_equal(peer_line(f), want);
        }
}

static void test_work_per_turn_is_bounded(void **state) {
        Fixture *f = *state;
        char msg[96];
        const int count = 2 * SESSION_MAX_MESSAGES_PER_TURN;

        /* one write: many small ones would fill the socket's buffer */
        static char all[2 * SESSION_MAX_MESSAGES_PER_TURN * 64];
        size_t used = 0;
        for (int i = 0; i < count; i++) {
                snprintf(msg, sizeof(msg), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"Ping\"}\n",
                         i);
                memcpy(all + used, msg, strlen(msg));
                used += strlen(msg);
        }
        all[used] = '\0';
        peer_send(f, all);
        /* EVLOOP_NONBLOCK alone would go on while callbacks are active */
        event_base_loop(f->server->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        /* one turn handles at most SESSION_MAX_MESSAGES_PER_TURN messages */
        assert_true(f->session->requests > 0);
        assert_true(f->session->requests <= SESSION_MAX_MESSAGES_PER_TURN);
        assert_true(f->session->requests < (uint64_t)count);
        for (int i = 0; i < count; i++) {
                snprintf(msg, sizeof(msg), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":{}}", i);
                assert_string_equal(peer_line(f), msg);
        }
        assert_int_equal(f->session->requests, count);
}

static void test_oversize_line_closes_after_error(void **state) {
        Fixture *f = *state;
        char big[1100];

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        peer_send(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}\n");
        peer_send(f, big);
        assert_string_equal(peer_line(f), "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
        char *line = peer_line(f);
        assert_non_null(line);
        assert_non_null(strstr(line, "\"code\":-32600"));
        assert_non_null(strstr(line, "WBEM_E_QUOTA_VIOLATION"));
        assert_non_null(strstr(line, "limit of 1024 bytes"));
        assert_true(peer_sees_eof(f));
        /* closed, then freed on a later turn */
        assert_int_equal(f->server->n_sessions, 0);
        assert_true(TAILQ_EMPTY(&f->server->sessions));
        pump(f, 2);
        assert_true(TAILQ_EMPTY(&f->server->doomed));
}

static void test_close_is_deferred(void **state) {
        Fixture *f = *state;
        Session *s = f->session;

        session_close(s, "test %d", 1);
        assert_int_equal(s->state, SESSION_CLOSED);
        assert_string_equal(s->close_reason, "test 1");
        assert_int_equal(f->server->n_sessions, 0);
        /* still allocated: on the doomed list until the loop turns */
        assert_ptr_equal(TAILQ_FIRST(&f->server->doomed), s);
        assert_int_equal(session_send_ping(s), -ESHUTDOWN);
        session_close(s, "again"); /* idempotent */
        assert_string_equal(s->close_reason, "test 1");
        pump(f, 1);
        assert_true(TAILQ_EMPTY(&f->server->doomed));
        assert_true(peer_sees_eof(f));
}

static void test_half_line_then_eof(void **state) {
        Fixture *f = *state;

        peer_send(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}\n{\"jsonrpc\":");
        assert_int_equal(shutdown(f->peer, SHUT_WR), 0);
        assert_string_equal(peer_line(f), "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
        assert_true(peer_sees_eof(f));
        assert_int_equal(f->server->n_sessions, 0);
}

static void test_reload_line_limit(void **state) {
        Fixture *f = *state;
        char line[800];

        /* a longer limit applies to the open session at once */
        session_set_max_line(f->session, 512);
        memset(line, ' ', sizeof(line));
        memcpy(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}", 40);
        line[sizeof(line) - 2] = '\n';
        line[sizeof(line) - 1] = '\0';
        peer_send(f, line);
        assert_non_null(strstr(peer_line(f), "WBEM_E_QUOTA_VIOLATION"));
        assert_true(peer_sees_eof(f));
}

/* A second session on the fixture's server; its peer in *ret_peer. */
static Session *second_session(Fixture *f, int *ret_peer) {
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds),
                         0);
        server_accept(fds[0], f->server);
        *ret_peer = fds[1];
        return TAILQ_LAST(&f->server->sessions, SessionList);
}

static size_t count_text(const char *s, const char *what) {
        size_t n = 0;
        for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
                n++;
        return n;
}

/* Class T_Item with instances Id 0..count-1, through the session. */
static void fill_items(Fixture *f, int count) {
        char msg[256];

        peer_send(f, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"PutClass\",\"params\":"
                     "{\"namespace\":\"root/cimv2\",\"class\":{\"__CLASS\":\"T_Item\","
                     "\"properties\":{\"Id\":{\"type\":\"uint32\",\"key\":true}}}}}\n");
        assert_string_equal(peer_line(f),
                            "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"path\":\"T_Item\"}}");
        for (int i = 0; i < count; i++) {
                snprintf(msg, sizeof(msg),
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"PutInstance\",\"params\":"
                         "{\"namespace\":\"root/cimv2\",\"instance\":{\"__CLASS\":\"T_Item\","
                         "\"Id\":%d}}}\n",
                         i, i);
                peer_send(f, msg);
                char *line = peer_line(f);
                assert_non_null(line);
                assert_non_null(strstr(line, "\"result\":{\"path\":\"T_Item.Id="));
        }
}

static const char query_all[] = "{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"method\":\"ExecQuery\","
                                "\"params\":{\"namespace\":\"root/cimv2\",\"query\":"
                                "\"SELECT * FROM T_Item\"}}\n";

static void turn(Fixture *f) {
        /* EVLOOP_NONBLOCK alone would go on while callbacks are active */
        event_base_loop(f->server->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static bool readable(int fd) {
        char c;
        return recv(fd, &c, 1, MSG_PEEK) > 0;
}

static void test_query_job_spans_turns(void **state) {
        Fixture *f = *state;
        /* more steps than the turns below take */
        const int count = 6 * METHOD_JOB_MAX_OBJECTS_PER_TURN;
        int peer2;

        fill_items(f, count);
        Session *other = second_session(f, &peer2);
        peer_send(f, query_all);
        peer_send(f, "{\"jsonrpc\":\"2.0\",\"id\":\"after\",\"method\":\"Ping\"}\n");
        turn(f);
        /* the first step is done, the rest waits; so does the Ping */
        assert_non_null(f->session->job);
        assert_false(readable(f->peer));

        /* the other session is served while the query goes on */
        static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}\n";
        assert_int_equal(write(peer2, ping, strlen(ping)), (ssize_t)strlen(ping));
        turn(f); /* answered */
        turn(f); /* written */
        assert_true(readable(peer2));
        assert_int_equal(other->requests, 1);
        assert_non_null(f->session->job);
        assert_int_equal(f->session->requests, count + 2);

        /* the answer, whole and in order, then the Ping behind it */
        char *line = peer_line(f);
        assert_non_null(line);
        assert_true(strncmp(line, "{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"result\":{\"objects\":[",
                            46) == 0);
        assert_int_equal(count_text(line, "\"__GENUS\":2"), count);
        assert_null(f->session->job);
        assert_string_equal(peer_line(f), "{\"jsonrpc\":\"2.0\",\"id\":\"after\",\"result\":{}}");
        assert_int_equal(f->session->requests, count + 3);
        close(peer2);
}

static void test_query_job_freed_on_close(void **state) {
        Fixture *f = *state;

        fill_items(f, 3 * METHOD_JOB_MAX_OBJECTS_PER_TURN);
        peer_send(f, query_all);
        turn(f);
        assert_non_null(f->session->job);
        /* the peer goes away: nobody will read the answer */
        close(f->peer);
        f->peer = -1;
        pump(f, 3);
        assert_int_equal(f->server->n_sessions, 0);
        assert_true(TAILQ_EMPTY(&f->server->doomed));
}

static void test_query_result_limit(void **state) {
        Fixture *f = *state;

        fill_items(f, 20);
        f->server->settings.max_result_objects = 19;
        peer_send(f, query_all);
        char *line = peer_line(f);
        assert_non_null(strstr(line, "\"id\":\"q\",\"error\":{\"code\":-32000"));
        assert_non_null(strstr(line, "WBEM_E_QUOTA_VIOLATION"));
        assert_non_null(strstr(line, "19 objects"));
        assert_null(f->session->job);

        f->server->settings.max_result_objects = 20;
        peer_send(f, query_all);
        assert_int_equal(count_text(peer_line(f), "\"__GENUS\":2"), 20);
}

static void test_data_methods_without_repository(void **state) {
        Fixture *f = *state;

        peer_send(f, query_all);
        char *line = peer_line(f);
        assert_non_null(strstr(line, "\"code\":-32603"));
        assert_non_null(strstr(line, "no repository is open"));
}

/* Queue LINES lines of LEN bytes ("<i>   ...\n") on the session; the
 * number of its output's chains of about SESSION_BULK_CHAIN bytes among
 * those after the first SESSION_BULK_AFTER bytes, the last one left out
 * (partly filled); fails if some of them are neither large nor small. */
enum { LINES = 20000, LEN = 100 };
static size_t queue_lines(Fixture *f, bool *all_small) {
        struct evbuffer *out = bufferevent_get_output(f->session->bev);
        char line[LEN + 1];

        for (unsigned i = 0; i < LINES; i++) {
                snprintf(line, sizeof(line), "%-*u", LEN - 1, i);
                line[LEN - 1] = '\n';
                assert_true(session_send_indicate(f->session, line, LEN));
        }
        assert_int_equal(evbuffer_get_length(out), (size_t)LINES * LEN);
        struct evbuffer_iovec v[1024];
        int n = evbuffer_peek(out, -1, NULL, v, 1024);
        assert_true(n > 0 && n <= 1024);
        size_t at = 0, large = 0;
        *all_small = true;
        for (int k = 0; k < n; k++) {
                if (at >= SESSION_BULK_AFTER && k < n - 1 && v[k].iov_len > SESSION_BULK_CHAIN - 1024)
                        large++;
                if (v[k].iov_len > 64 * 1024)
                        *all_small = false;
                at += v[k].iov_len;
        }
        return large;
}

/* The peer reads every line back, in order; the output is then empty. */
static void read_lines(Fixture *f) {
        for (unsigned i = 0; i < LINES; i++) {
                char *got = peer_line(f);
                assert_non_null(got);
                assert_int_equal(strtoul(got, NULL, 10), i);
        }
        pump(f, 2);
        assert_int_equal(evbuffer_get_length(bufferevent_get_output(f->session->bev)), 0);
}

/* A consumer that has taken nothing for SESSION_BULK_STALLED_USEC: past
 * SESSION_BULK_AFTER its output goes into chains of SESSION_BULK_CHAIN
 * bytes, which malloc maps on their own (above SERVER_MMAP_THRESHOLD)
 * rather than raise the heap; one that is taking its output stays on
 * ordinary chains. Either way it arrives whole and in order. */
static void test_stalled_backlog_in_large_chains(void **state) {
        Fixture *f = *state;
        bool all_small;

        assert_true(SESSION_BULK_CHAIN >= SERVER_MMAP_THRESHOLD);
        /* twice: once drained, a second backlog is made the same way */
        for (int round = 0; round < 2; round++) {
                usleep(SESSION_BULK_STALLED_USEC + 10000);
                size_t large = queue_lines(f, &all_small);
                assert_true(large >= (LINES * LEN - SESSION_BULK_AFTER) / SESSION_BULK_CHAIN - 1);
                read_lines(f);
        }
        /* the consumer took bytes just now (and, for this test, goes on
         * doing so for 10 s, however slow the build): ordinary chains */
        f->session->output_taken_usec = session_now_usec() + 10000000;
        assert_int_equal(queue_lines(f, &all_small), 0);
        assert_true(all_small);
        read_lines(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ping_roundtrip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_answers_ignored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ping_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_work_per_turn_is_bounded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversize_line_closes_after_error, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_close_is_deferred, setup, teardown),
                cmocka_unit_test_setup_teardown(test_half_line_then_eof, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reload_line_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_query_job_spans_turns, setup_engine, teardown),
                cmocka_unit_test_setup_teardown(test_query_job_freed_on_close, setup_engine,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_query_result_limit, setup_engine, teardown),
                cmocka_unit_test_setup_teardown(test_stalled_backlog_in_large_chains, setup, teardown),
                cmocka_unit_test_setup_teardown(test_data_methods_without_repository, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
