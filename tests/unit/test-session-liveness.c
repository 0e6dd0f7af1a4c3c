/* Unit tests of lwmid's session liveness (src/daemon/session.c, the rules
 * of liveness.h) in real time with short bounds, over a socketpair:
 * keepalive Pings, loss when unanswered, any complete line counting as
 * heard (a partial one not), reloads, the stall of a consumer that reads
 * nothing or trickles while falling behind, a steady reader kept, loss
 * reasons counted, and TCP_USER_TIMEOUT on TCP sockets only. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

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

/* A second session on the fixture's server; its peer in *ret_peer. */
static Session *second_session(Fixture *f, int *ret_peer) {
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds),
                         0);
        server_accept(fds[0], f->server);
        *ret_peer = fds[1];
        return TAILQ_LAST(&f->server->sessions, SessionList);
}

/* Run the loop for ms milliseconds. */
static void run_ms(Fixture *f, unsigned ms) {
        struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };
        event_base_loopexit(f->server->base, &tv);
        event_base_dispatch(f->server->base);
}

static uint64_t elapsed_ms(uint64_t since_usec) {
        return (session_now_usec() - since_usec) / 1000u;
}

/* The next line within timeout_ms of running the loop, or NULL. */
static char *wait_line(Fixture *f, unsigned timeout_ms) {
        static char line[4096];
        uint64_t start = session_now_usec();

        for (;;) {
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
                if (elapsed_ms(start) >= timeout_ms)
                        return NULL;
                run_ms(f, 2);
                ssize_t n = read(f->peer, f->buf + f->have, sizeof(f->buf) - f->have);
                if (n > 0)
                        f->have += (size_t)n;
        }
}

/* Run the loop until the session is gone (closed), within timeout_ms. */
static bool wait_closed(Fixture *f, unsigned timeout_ms) {
        uint64_t start = session_now_usec();
        while (f->server->n_sessions > 0 && elapsed_ms(start) < timeout_ms)
                run_ms(f, 2);
        return f->server->n_sessions == 0;
}

static void hello_keepalive(Fixture *f, unsigned ms) {
        char msg[128], want[64];
        snprintf(msg, sizeof(msg),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"h\",\"method\":\"Hello\",\"params\":"
                 "{\"keepalive_ms\":%u}}\n",
                 ms);
        peer_send(f, msg);
        char *line = peer_line(f);
        assert_non_null(line);
        snprintf(want, sizeof(want), "\"keepalive_ms\":%u}", ms);
        assert_non_null(strstr(line, want));
        assert_int_equal(f->session->keepalive_ms, ms);
}

static void test_keepalive_unanswered_is_lost(void **state) {
        Fixture *f = *state;
        uint64_t start = session_now_usec();

        hello_keepalive(f, 500);
        /* nothing heard for 500 ms: a Ping */
        char *line = wait_line(f, 2000);
        uint64_t ping_ms = elapsed_ms(start);
        assert_string_equal(line, "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"method\":\"Ping\"}");
        assert_true(ping_ms >= 500);
        assert_true(ping_ms < 700);
        /* nothing within 250 ms more: lost, within 1.5 x keepalive */
        assert_true(wait_closed(f, 2000));
        uint64_t lost_ms = elapsed_ms(start);
        assert_true(lost_ms >= 750);
        assert_true(lost_ms < 1000);
        assert_int_equal(f->server->sessions_lost[SESSION_LOSS_KEEPALIVE], 1);
        assert_int_equal(f->server->sessions_lost[SESSION_LOSS_CLOSED], 0);
        assert_true(peer_sees_eof(f));
}

static void test_keepalive_answered_is_kept(void **state) {
        Fixture *f = *state;
        uint64_t start = session_now_usec();
        unsigned pings = 0;

        hello_keepalive(f, 500);
        while (elapsed_ms(start) < 1300) {
                char *line = wait_line(f, 50);
                if (!line)
                        continue;
                char id[32], answer[96];
                assert_int_equal(sscanf(line, "{\"jsonrpc\":\"2.0\",\"id\":\"%31[^\"]\"", id), 1);
                snprintf(answer, sizeof(answer), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{}}\n",
                         id);
                peer_send(f, answer);
                pings++;
        }
        /* a Ping every 500 ms or so of silence, each answered */
        assert_true(pings >= 2);
        assert_true(pings <= 4);
        assert_int_equal(f->server->n_sessions, 1);
        assert_int_equal(session_pings_outstanding(f->session) <= 1, true);
        for (int i = 0; i < SESSION_LOSS_N; i++)
                assert_int_equal(f->server->sessions_lost[i], 0);
}

static void test_keepalive_any_line_counts(void **state) {
        Fixture *f = *state;
        uint64_t start = session_now_usec();

        hello_keepalive(f, 500);
        /* the client's own requests (and a blank line) are hearing from it:
         * no Ping is needed */
        for (int i = 0; elapsed_ms(start) < 1100; i++) {
                if (i % 2)
                        peer_send(f, "\n");
                else
                        peer_send(f, "{\"jsonrpc\":\"2.0\",\"method\":\"Ping\"}\n");
                assert_null(wait_line(f, 200));
        }
        assert_int_equal(session_pings_outstanding(f->session), 0);
        assert_int_equal(f->session->next_ping_number, 0);
        assert_int_equal(f->server->n_sessions, 1);
}

static void test_keepalive_partial_line_does_not_count(void **state) {
        Fixture *f = *state;
        uint64_t start = session_now_usec();

        hello_keepalive(f, 500);
        /* bytes without a newline are not a message */
        for (int i = 0; i < 10; i++) {
                peer_send(f, " ");
                run_ms(f, 50);
        }
        assert_string_equal(wait_line(f, 500),
                            "{\"jsonrpc\":\"2.0\",\"id\":\"s:1\",\"method\":\"Ping\"}");
        assert_true(wait_closed(f, 2000));
        assert_true(elapsed_ms(start) < 900);
        assert_int_equal(f->server->sessions_lost[SESSION_LOSS_KEEPALIVE], 1);
}

/* A line of n bytes (n - 1 'x' and '\n') queued on the session. */
static void queue_bytes(Session *s, size_t n) {
        char *line = mem_malloc(n);
        assert_non_null(line);
        memset(line, 'x', n - 1);
        line[n - 1] = '\n';
        session_send_line(s, line, n);
}

/* A client whose requests lwmid has not handled yet (here held back while
 * its output is over the high-water mark) waits for lwmid: not silent. */
static void test_keepalive_while_lwmid_owes_work(void **state) {
        Fixture *f = *state;

        hello_keepalive(f, 500);
        queue_bytes(f->session, 2u << 20);
        peer_send(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}\n");
        run_ms(f, 1200);
        assert_true(f->session->output_paused);
        assert_int_equal(f->session->requests, 1); /* the Hello only */
        assert_int_equal(f->server->n_sessions, 1);
        assert_int_equal(f->session->next_ping_number, 0);
        for (int i = 0; i < SESSION_LOSS_N; i++)
                assert_int_equal(f->server->sessions_lost[i], 0);
}

static void test_keepalive_reload(void **state) {
        Fixture *f = *state;
        int peer2;
        Session *other = second_session(f, &peer2);

        assert_int_equal(f->session->keepalive_ms, SETTINGS_DEFAULT_KEEPALIVE_MS);
        hello_keepalive(f, 600);
        /* a reload changes the default: sessions whose Hello chose keep theirs */
        f->server->settings.keepalive_ms = 2000;
        session_settings_changed(f->session);
        session_settings_changed(other);
        assert_int_equal(f->session->keepalive_ms, 600);
        assert_int_equal(other->keepalive_ms, 2000);
        /* out of range in Hello: an error naming the range, nothing changes */
        peer_send(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"Hello\",\"params\":"
                     "{\"keepalive_ms\":499}}\n");
        char *line = peer_line(f);
        assert_non_null(strstr(line, "WBEM_E_INVALID_PARAMETER"));
        assert_non_null(strstr(line, "between 500 and 60000"));
        assert_int_equal(f->session->keepalive_ms, 600);
        close(peer2);
}

static void test_stall_of_a_consumer_that_reads_nothing(void **state) {
        Fixture *f = *state;

        f->server->settings.stall_timeout_ms = 200;
        uint64_t start = session_now_usec();
        queue_bytes(f->session, 1u << 20);
        run_ms(f, 50);
        assert_int_equal(session_output_queued(f->session), 1u << 20);
        assert_int_equal(session_output_taken(f->session), 0);
        assert_true(wait_closed(f, 2000));
        uint64_t lost_ms = elapsed_ms(start);
        assert_true(lost_ms >= 200);
        assert_true(lost_ms < 200 + 13 + 100); /* the bound, its granularity, slack */
        assert_int_equal(f->server->sessions_lost[SESSION_LOSS_STALL], 1);
}

/* Reading a little all the time does not keep a consumer that falls
 * further and further behind: its oldest pending byte still ages. */
static void test_stall_of_a_trickling_consumer(void **state) {
        Fixture *f = *state;
        char buf[1024];
        size_t got = 0, lines = 0;
        uint64_t queued_at[1000];

        f->server->settings.stall_timeout_ms = 300;
        uint64_t start = session_now_usec();
        while (f->server->n_sessions > 0 && elapsed_ms(start) < 3000) {
                assert_true(lines < 1000);
                queued_at[lines++] = session_now_usec();
                queue_bytes(f->session, 2048);
                run_ms(f, 10);
                if (f->server->n_sessions == 0)
                        break;
                ssize_t n = read(f->peer, buf, sizeof(buf));
                if (n > 0)
                        got += (size_t)n;
        }
        uint64_t lost = session_now_usec();
        assert_int_equal(f->server->n_sessions, 0);
        assert_int_equal(f->server->sessions_lost[SESSION_LOSS_STALL], 1);
        /* it read all along (half the rate: its oldest byte passes 300 ms
         * at about 600 ms) */
        assert_true(got >= 10 * 1024);
        assert_true(elapsed_ms(start) >= 450);
        /* the oldest byte it had not read, byte `got`, was queued by line
         * got / 2048: lost once that was 300 ms old, not before, and
         * within the granularity (300 / 64 ms) and some slack after */
        uint64_t age_ms = (lost - queued_at[got / 2048]) / 1000u;
        assert_true(age_ms >= 300);
        assert_true(age_ms < 300 + 5 + 40);
}

static void test_steady_reader_is_kept(void **state) {
        Fixture *f = *state;
        char buf[65536];
        size_t got = 0;

        f->server->settings.stall_timeout_ms = 150;
        uint64_t start = session_now_usec();
        while (elapsed_ms(start) < 700) {
                queue_bytes(f->session, 4096);
                run_ms(f, 5);
                ssize_t n;
                while ((n = read(f->peer, buf, sizeof(buf))) > 0)
                        got += (size_t)n;
        }
        assert_int_equal(f->server->n_sessions, 1);
        assert_true(got > 0);
        assert_int_equal(f->session->output.count <= LIVENESS_MARKS, true);
        for (int i = 0; i < SESSION_LOSS_N; i++)
                assert_int_equal(f->server->sessions_lost[i], 0);
}

static void test_loss_reasons_counted(void **state) {
        Fixture *f = *state;
        static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Ping\"}\n";
        int peer2, peer3;
        (void)second_session(f, &peer2);
        Session *third = second_session(f, &peer3);

        /* the peer closes: closed */
        close(f->peer);
        f->peer = -1;
        /* one that closes with an answer unread: the server reads a reset */
        assert_int_equal(write(peer2, ping, strlen(ping)), (ssize_t)strlen(ping));
        run_ms(f, 20);
        char c;
        assert_int_equal(recv(peer2, &c, 1, MSG_PEEK), 1);
        close(peer2);
        /* and one the server gives up on */
        session_lose(third, SESSION_LOSS_STALL, "test %d", 3);
        assert_int_equal(third->loss, SESSION_LOSS_STALL);
        assert_string_equal(third->close_reason, "test 3");
        assert_true(wait_closed(f, 1000));
        close(peer3);
        assert_int_equal(f->server->sessions_lost[SESSION_LOSS_CLOSED], 1);
        assert_int_equal(f->server->sessions_lost[SESSION_LOSS_RESET], 1);
        assert_int_equal(f->server->sessions_lost[SESSION_LOSS_STALL], 1);
        assert_int_equal(f->server->sessions_lost[SESSION_LOSS_KEEPALIVE], 0);
        assert_string_equal(session_loss_name(SESSION_LOSS_KEEPALIVE), "keepalive");
        assert_string_equal(session_loss_name(SESSION_LOSS_N), "unknown");
}

static void test_tcp_user_timeout(void **state) {
        int fds[2];
        unsigned value = 0;
        socklen_t len = sizeof(value);
        (void)state;

        int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(tcp >= 0);
        assert_int_equal(session_set_tcp_user_timeout(tcp, 1000), 0);
        assert_int_equal(getsockopt(tcp, IPPROTO_TCP, TCP_USER_TIMEOUT, &value, &len), 0);
        assert_int_equal(value, 1500);
        close(tcp);
        /* a Unix socket gets nothing (and no error) */
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(session_set_tcp_user_timeout(fds[0], 1000), 0);
        close(fds[0]);
        close(fds[1]);
        assert_int_equal(session_set_tcp_user_timeout(-1, 1000), -EBADF);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_keepalive_unanswered_is_lost, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_keepalive_answered_is_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keepalive_any_line_counts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keepalive_partial_line_does_not_count, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_keepalive_while_lwmid_owes_work, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_keepalive_reload, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stall_of_a_consumer_that_reads_nothing, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_stall_of_a_trickling_consumer, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_steady_reader_is_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_loss_reasons_counted, setup, teardown),
                cmocka_unit_test(test_tcp_user_timeout),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
