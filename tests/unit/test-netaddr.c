/* Unit tests for lwmid's TCP addresses (src/daemon/netaddr.c: parsing,
 * the loopback rule, text) and its TCP listener (listener_new_tcp: port 0,
 * the bound name, TCP_NODELAY on accepted connections, the peer text of a
 * session, errors naming the address). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <event2/event.h>

#include "cleanup.h"
#include "error.h"
#include "listener.h"
#include "mem.h"
#include "netaddr.h"

static void test_parse_ipv4(void **state) {
        NetAddr a;
        Error e;
        (void)state;

        assert_int_equal(netaddr_parse("127.0.0.1:7000", "--listen", &a, &e), 0);
        assert_int_equal(a.ss.ss_family, AF_INET);
        assert_int_equal(a.len, sizeof(struct sockaddr_in));
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
        assert_int_equal(ntohs(sin->sin_port), 7000);
        assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);

        /* port 0: any free port; 65535 the last */
        assert_int_equal(netaddr_parse("10.1.2.3:0", "x", &a, &e), 0);
        assert_int_equal(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 0);
        assert_int_equal(netaddr_parse("0.0.0.0:65535", "x", &a, &e), 0);
        assert_int_equal(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 65535);
}

static void test_parse_ipv6(void **state) {
        NetAddr a;
        Error e;
        (void)state;

        assert_int_equal(netaddr_parse("[::1]:7000", "--listen", &a, &e), 0);
        assert_int_equal(a.ss.ss_family, AF_INET6);
        assert_int_equal(a.len, sizeof(struct sockaddr_in6));
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
        assert_int_equal(ntohs(sin6->sin6_port), 7000);
        assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

        assert_int_equal(netaddr_parse("[::]:0", "x", &a, &e), 0);
        assert_int_equal(netaddr_parse("[fd00::1:2]:80", "x", &a, &e), 0);
        assert_int_equal(netaddr_parse("[::ffff:127.0.0.1]:80", "x", &a, &e), 0);
}

static void expect_parse_error(const char *text, const char *want) {
        NetAddr a, before;
        Error e;

        memset(&a, 0x5a, sizeof(a));
        before = a;
        assert_int_equal(netaddr_parse(text, "--listen", &a, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(e.status, WBEM_E_INVALID_PARAMETER);
        if (!strstr(e.message, want) || !strstr(e.message, "--listen"))
                fail_msg("'%s': message '%s' lacks '%s'", text, e.message, want);
        assert_memory_equal(&a, &before, sizeof(a)); /* untouched */
}

static void test_parse_errors(void **state) {
        (void)state;

        expect_parse_error("127.0.0.1", "has no port");
        expect_parse_error("", "has no port");
        expect_parse_error("::1:7000", "an IPv6 address goes in brackets");
        expect_parse_error("[::1]7000", "expected [IPV6]:PORT");
        expect_parse_error("[::1", "expected [IPV6]:PORT");
        expect_parse_error(":7000", "no address before the port");
        expect_parse_error("[]:7000", "no address before the port");
        expect_parse_error("127.0.0.1:", "the port must be a number from 0 to 65535");
        expect_parse_error("127.0.0.1:65536", "the port must be a number");
        expect_parse_error("127.0.0.1:123456", "the port must be a number");
        expect_parse_error("127.0.0.1:+80", "the port must be a number");
        expect_parse_error("127.0.0.1:80x", "the port must be a number");
        expect_parse_error("127.0.0.1: 80", "the port must be a number");
        expect_parse_error("localhost:7000", "'localhost' is not a numeric IPv4 address");
        expect_parse_error("127.1:7000x", "the port must be a number");
        expect_parse_error("300.0.0.1:7000", "not a numeric IPv4 address");
        expect_parse_error("[127.0.0.1]:7000", "not a numeric IPv6 address");
        expect_parse_error("[::g]:7000", "not a numeric IPv6 address");
}

static bool loopback(const char *text) {
        NetAddr a;
        assert_int_equal(netaddr_parse(text, "x", &a, NULL), 0);
        return netaddr_is_loopback(&a);
}

static void test_loopback(void **state) {
        (void)state;

        assert_true(loopback("127.0.0.1:1"));
        assert_true(loopback("127.255.0.9:1"));
        assert_true(loopback("[::1]:1"));
        assert_true(loopback("[::ffff:127.0.0.2]:1"));
        assert_false(loopback("0.0.0.0:1"));
        assert_false(loopback("[::]:1"));
        assert_false(loopback("10.0.0.1:1"));
        assert_false(loopback("128.0.0.1:1"));
        assert_false(loopback("126.255.255.255:1"));
        assert_false(loopback("[::2]:1"));
        assert_false(loopback("[::ffff:10.0.0.1]:1"));
        assert_false(loopback("[fe80::1]:1"));

        NetAddr unix_addr = { .ss.ss_family = AF_UNIX, .len = 2 };
        assert_false(netaddr_is_loopback(&unix_addr));
}

static void test_format(void **state) {
        NetAddr a;
        char buf[NETADDR_TEXT_MAX];
        (void)state;

        assert_int_equal(netaddr_parse("127.0.0.1:5555", "x", &a, NULL), 0);
        netaddr_format((struct sockaddr *)&a.ss, a.len, buf, sizeof(buf));
        assert_string_equal(buf, "127.0.0.1:5555");
        assert_int_equal(netaddr_parse("[::1]:5555", "x", &a, NULL), 0);
        netaddr_format((struct sockaddr *)&a.ss, a.len, buf, sizeof(buf));
        assert_string_equal(buf, "[::1]:5555");
        /* the longest address fits */
        assert_int_equal(netaddr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", "x",
                                       &a, NULL),
                         0);
        netaddr_format((struct sockaddr *)&a.ss, a.len, buf, sizeof(buf));
        assert_string_equal(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
        /* cut to fit a small buffer, still terminated */
        char small[6];
        assert_int_equal(netaddr_parse("127.0.0.1:5555", "x", &a, NULL), 0);
        netaddr_format((struct sockaddr *)&a.ss, a.len, small, sizeof(small));
        assert_string_equal(small, "127.0");
        /* another family */
        struct sockaddr sa = { .sa_family = AF_UNIX };
        netaddr_format(&sa, sizeof(sa), buf, sizeof(buf));
        assert_string_equal(buf, "?");
}

/* -- the TCP listener -- */

typedef struct Accepted {
        int fds[4];
        unsigned n;
} Accepted;

static void on_accept(int fd, void *userdata) {
        Accepted *acc = userdata;
        if (acc->n < ELEMENTSOF(acc->fds))
                acc->fds[acc->n++] = fd;
        else
                close(fd);
}

static uint16_t listener_port(const Listener *l) {
        const char *name = listener_name(l);
        const char *colon = strrchr(name, ':');
        assert_non_null(colon);
        return (uint16_t)atoi(colon + 1);
}

/* Connect a blocking client to port on the given loopback, then let the
 * loop accept it. */
static int connect_and_accept(struct event_base *base, int family, uint16_t port, Accepted *acc) {
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        unsigned before = acc->n;
        if (family == AF_INET) {
                struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
                sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
        } else {
                struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
                                             .sin6_port = htons(port),
                                             .sin6_addr = IN6ADDR_LOOPBACK_INIT };
                assert_int_equal(connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
        }
        for (int i = 0; i < 100 && acc->n == before; i++)
                event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
        assert_int_equal(acc->n, before + 1);
        return fd;
}

static void test_listener_tcp(void **state) {
        struct event_base *base = event_base_new();
        Accepted acc = { 0 };
        Listener *l = NULL;
        NetAddr a;
        Error e;
        (void)state;

        assert_non_null(base);
        assert_int_equal(netaddr_parse("127.0.0.1:0", "x", &a, NULL), 0);
        assert_int_equal(listener_new_tcp(base, &a, on_accept, &acc, &l, &e), 0);
        /* the name is the address as bound: the kernel's port */
        assert_int_equal(strncmp(listener_name(l), "tcp 127.0.0.1:", 14), 0);
        uint16_t port = listener_port(l);
        assert_true(port > 0);

        int client = connect_and_accept(base, AF_INET, port, &acc);
        int server_fd = acc.fds[0];
        int nodelay = 0;
        socklen_t len = sizeof(nodelay);
        assert_int_equal(getsockopt(server_fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
        assert_int_equal(nodelay, 1);

        /* the session's peer text is the client's address and port */
        struct sockaddr_in local;
        socklen_t local_len = sizeof(local);
        assert_int_equal(getsockname(client, (struct sockaddr *)&local, &local_len), 0);
        char want[64], peer[80] = "untouched";
        snprintf(want, sizeof(want), "tcp 127.0.0.1:%u", ntohs(local.sin_port));
        assert_true(netaddr_describe_tcp_peer(server_fd, peer, sizeof(peer)));
        assert_string_equal(peer, want);
        /* a Unix socket is no TCP peer: the buffer is left alone */
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        strcpy(peer, "untouched");
        assert_false(netaddr_describe_tcp_peer(sv[0], peer, sizeof(peer)));
        assert_string_equal(peer, "untouched");
        close(sv[0]);
        close(sv[1]);
        /* nor is a socket that is not connected */
        int lone = socket(AF_INET, SOCK_STREAM, 0);
        assert_false(netaddr_describe_tcp_peer(lone, peer, sizeof(peer)));
        close(lone);

        /* the same port again: the error names the address */
        Listener *l2 = (Listener *)0x1;
        char addr_text[64];
        snprintf(addr_text, sizeof(addr_text), "127.0.0.1:%u", port);
        assert_int_equal(netaddr_parse(addr_text, "x", &a, NULL), 0);
        assert_int_equal(listener_new_tcp(base, &a, on_accept, &acc, &l2, &e), -EADDRINUSE);
        assert_ptr_equal(l2, (Listener *)0x1);
        assert_non_null(strstr(e.message, "cannot bind tcp"));
        assert_non_null(strstr(e.message, addr_text));

        close(client);
        close(server_fd);
        /* closing the listener frees the port for a restart at once */
        l = listener_free(l);
        assert_int_equal(listener_new_tcp(base, &a, on_accept, &acc, &l, &e), 0);
        assert_int_equal(listener_port(l), port);
        listener_free(l);
        event_base_free(base);
}

static void test_listener_tcp_ipv6(void **state) {
        struct event_base *base = event_base_new();
        Accepted acc = { 0 };
        Listener *l = NULL;
        NetAddr a;
        Error e;
        (void)state;

        assert_int_equal(netaddr_parse("[::1]:0", "x", &a, NULL), 0);
        int r = listener_new_tcp(base, &a, on_accept, &acc, &l, &e);
        if (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT) {
                event_base_free(base);
                skip(); /* no IPv6 loopback on this machine */
        }
        assert_int_equal(r, 0);
        assert_int_equal(strncmp(listener_name(l), "tcp [::1]:", 10), 0);
        int client = connect_and_accept(base, AF_INET6, listener_port(l), &acc);
        char peer[80];
        assert_true(netaddr_describe_tcp_peer(acc.fds[0], peer, sizeof(peer)));
        assert_int_equal(strncmp(peer, "tcp [::1]:", 10), 0);
        close(client);
        close(acc.fds[0]);
        listener_free(l);
        event_base_free(base);
}

static void test_listener_tcp_errors(void **state) {
        struct event_base *base = event_base_new();
        Listener *l = (Listener *)0x1;
        NetAddr a;
        Error e;
        (void)state;

        /* an address of no local interface (TEST-NET-1) */
        assert_int_equal(netaddr_parse("192.0.2.1:0", "x", &a, NULL), 0);
        assert_int_equal(listener_new_tcp(base, &a, on_accept, NULL, &l, &e), -EADDRNOTAVAIL);
        assert_non_null(strstr(e.message, "192.0.2.1:0"));
        assert_ptr_equal(l, (Listener *)0x1);

        /* out of memory on the way: nothing leaks, nothing is returned */
        assert_int_equal(netaddr_parse("127.0.0.1:0", "x", &a, NULL), 0);
        for (unsigned long n = 1; n <= 3; n++) {
                mem_fail_at(n);
                int r = listener_new_tcp(base, &a, on_accept, NULL, &l, &e);
                mem_fail_at(0);
                if (r == 0) {
                        listener_free(l);
                        l = (Listener *)0x1;
                        continue;
                }
                assert_int_equal(r, -ENOMEM);
                assert_ptr_equal(l, (Listener *)0x1);
        }
        event_base_free(base);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_ipv4),
                cmocka_unit_test(test_parse_ipv6),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_loopback),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_listener_tcp),
                cmocka_unit_test(test_listener_tcp_ipv6),
                cmocka_unit_test(test_listener_tcp_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
