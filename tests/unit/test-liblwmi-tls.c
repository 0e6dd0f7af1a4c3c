/* Tests of liblwmi's TLS client pieces that need no server: "tls:"
 * addresses, the options taken from the environment, reading the token
 * (file, environment, refusals), TLS options refused for other addresses,
 * CA and certificate files that cannot be loaded, and a handshake with a
 * peer that is not TLS. The handshakes with lwmid are in
 * tests/e2e/test_tls.py. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "address.h"
#include "conn.h"
#include "mem.h"
#include "tlsconn.h"

static void clear_env(void) {
        unsetenv("LWMI_TLS_CA");
        unsetenv("LWMI_TLS_CERT");
        unsetenv("LWMI_TLS_KEY");
        unsetenv("LWMI_TOKEN_FILE");
        unsetenv("LWMI_TOKEN");
}

static void test_address(void **state) {
        Address a;
        lwmi_error err;
        (void)state;

        assert_int_equal(address_parse("tls:lwmi.example.org:7443", &a, &err), 0);
        assert_int_equal(a.kind, ADDRESS_TLS);
        assert_string_equal(a.host, "lwmi.example.org");
        assert_int_equal(a.port, 7443);
        address_done(&a);
        assert_int_equal(address_parse("tls:[::1]:1", &a, &err), 0);
        assert_int_equal(a.kind, ADDRESS_TLS);
        assert_string_equal(a.host, "::1");
        address_done(&a);
        assert_int_equal(address_parse("tcp:127.0.0.1:1", &a, &err), 0);
        assert_int_equal(a.kind, ADDRESS_TCP);
        address_done(&a);
        assert_int_equal(address_parse("tls:host", &a, &err), -EINVAL);
        assert_string_equal(err.message, "bad TLS address 'tls:host': expected tls:HOST:PORT");
        assert_int_equal(address_parse("tls::7443", &a, &err), -EINVAL);
        assert_int_equal(address_parse("tls:h:0", &a, &err), -EINVAL);
}

static void test_options_from_env(void **state) {
        lwmi_tls_options o, given = { .ca_file = "given.pem" };
        (void)state;

        clear_env();
        tlsconn_options(NULL, &o);
        assert_null(o.ca_file);
        assert_null(o.cert_file);
        assert_null(o.token_file);
        setenv("LWMI_TLS_CA", "/ca.pem", 1);
        setenv("LWMI_TLS_CERT", "/c.pem", 1);
        setenv("LWMI_TLS_KEY", "/k.pem", 1);
        setenv("LWMI_TOKEN_FILE", "", 1); /* empty: unset */
        tlsconn_options(NULL, &o);
        assert_string_equal(o.ca_file, "/ca.pem");
        assert_string_equal(o.cert_file, "/c.pem");
        assert_string_equal(o.key_file, "/k.pem");
        assert_null(o.token_file);
        /* options given: the environment is not read */
        tlsconn_options(&given, &o);
        assert_string_equal(o.ca_file, "given.pem");
        assert_null(o.cert_file);
        clear_env();
}

static void test_token(void **state) {
        lwmi_tls_options o = { 0 };
        lwmi_error err;
        char *token = (char *)"untouched";
        char path[] = "/tmp/lwmi-test-token-XXXXXX";
        (void)state;

        clear_env();
        /* none */
        assert_int_equal(tlsconn_token(&o, &token, &err), 0);
        assert_null(token);
        /* the environment; white space trimmed */
        setenv("LWMI_TOKEN", "  lwmi_abc_def \n", 1);
        assert_int_equal(tlsconn_token(&o, &token, &err), 0);
        assert_string_equal(token, "lwmi_abc_def");
        mem_free(token);
        /* ... but not with a certificate */
        o.cert_file = "c.pem";
        assert_int_equal(tlsconn_token(&o, &token, &err), 0);
        assert_null(token);
        o.cert_file = NULL;
        setenv("LWMI_TOKEN", "   ", 1);
        assert_int_equal(tlsconn_token(&o, &token, &err), 0);
        assert_null(token);
        clear_env();

        /* a file: its first line */
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        static const char content[] = "\n lwmi_file_token\r\nsecond line\n";
        assert_int_equal(write(fd, content, sizeof(content) - 1), (ssize_t)sizeof(content) - 1);
        close(fd);
        setenv("LWMI_TOKEN", "lwmi_env_token", 1); /* the file wins */
        o.token_file = path;
        assert_int_equal(tlsconn_token(&o, &token, &err), 0);
        assert_string_equal(token, "lwmi_file_token");
        mem_free(token);
        clear_env();
        /* both a certificate and a token file */
        o.cert_file = "c.pem";
        assert_int_equal(tlsconn_token(&o, &token, &err), -EINVAL);
        assert_int_equal(err.code, LWMI_ERROR_INVALID_ARGUMENT);
        assert_string_equal(err.message, "give a client certificate or a token file, not both");
        o.cert_file = NULL;
        /* an empty file, a missing one */
        fd = open(path, O_WRONLY | O_TRUNC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, " \n\n", 3), 3);
        close(fd);
        assert_int_equal(tlsconn_token(&o, &token, &err), -EINVAL);
        assert_non_null(strstr(err.message, "is empty"));
        unlink(path);
        assert_int_equal(tlsconn_token(&o, &token, &err), -EINVAL);
        assert_non_null(strstr(err.message, "cannot read token file"));
        assert_null(token);
}

static void test_options_refused_elsewhere(void **state) {
        lwmi_tls_options o = { .ca_file = "ca.pem" };
        lwmi_conn *c = NULL;
        lwmi_error err;
        (void)state;

        assert_int_equal(lwmi_connect_tls("unix:/nonexistent/sock", &o, NULL, 0, 0, &c, &err),
                         -EINVAL);
        assert_int_equal(err.code, LWMI_ERROR_INVALID_ARGUMENT);
        assert_non_null(strstr(err.message, "not a tls: address"));
        assert_int_equal(lwmi_connect_tls("tcp:127.0.0.1:1", &o, NULL, 0, 0, &c, &err),
                         -EINVAL);
        assert_null(c);
        /* empty options are fine anywhere (the socket is not there) */
        lwmi_tls_options none = { 0 };
        assert_int_equal(lwmi_connect_tls("unix:/nonexistent/sock", &none, NULL, 0, 0, &c, &err),
                         -ENOENT);
}

/* A listening TCP socket on 127.0.0.1; its port in *port. */
static int listen_local(uint16_t *port) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
        socklen_t len = sizeof(sa);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 4), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        *port = ntohs(sa.sin_port);
        return fd;
}

/* A peer that is no TLS server: accepts, writes a line of JSON, closes. */
static void *plain_peer(void *arg) {
        int lfd = *(int *)arg;
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0) {
                static const char line[] = "{\"jsonrpc\":\"2.0\",\"method\":\"Ping\",\"id\":1}\n";
                (void)!write(fd, line, sizeof(line) - 1);
                usleep(100000);
                close(fd);
        }
        return NULL;
}

static void test_handshake_failures(void **state) {
        lwmi_conn *c = NULL;
        lwmi_error err;
        char address[64];
        uint16_t port;
        (void)state;

        clear_env();
        int lfd = listen_local(&port);
        snprintf(address, sizeof(address), "tls:127.0.0.1:%u", port);

        /* files that cannot be loaded: refused before any byte is sent */
        lwmi_tls_options o = { .ca_file = "/nonexistent/ca.pem" };
        assert_int_equal(lwmi_connect_tls(address, &o, NULL, 0, 2000, &c, &err), -EINVAL);
        assert_int_equal(err.code, LWMI_ERROR_INVALID_ARGUMENT);
        assert_non_null(strstr(err.message, "CA file /nonexistent/ca.pem"));
        o = (lwmi_tls_options){ .cert_file = "/nonexistent/c.pem",
                                .key_file = "/nonexistent/k.pem" };
        assert_int_equal(lwmi_connect_tls(address, &o, NULL, 0, 2000, &c, &err), -EINVAL);
        assert_non_null(strstr(err.message, "client certificate /nonexistent/c.pem"));
        /* (the refused attempts connected: take them off the backlog) */
        for (int i = 0; i < 2; i++)
                close(accept(lfd, NULL, NULL));

        /* a peer that speaks plain JSON, not TLS */
        pthread_t thread;
        assert_int_equal(pthread_create(&thread, NULL, plain_peer, &lfd), 0);
        o = (lwmi_tls_options){ 0 };
        assert_int_equal(lwmi_connect_tls(address, &o, NULL, 0, 5000, &c, &err), -EPROTO);
        assert_int_equal(err.code, LWMI_ERROR_CONNECT);
        assert_non_null(strstr(err.message, "TLS handshake failed"));
        assert_null(c);
        pthread_join(thread, NULL);

        /* a peer that never answers: the timeout */
        assert_int_equal(lwmi_connect_tls(address, &o, NULL, 0, 300, &c, &err), -ETIMEDOUT);
        assert_non_null(strstr(err.message, "TLS handshake"));
        close(lfd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_address),
                cmocka_unit_test(test_options_from_env),
                cmocka_unit_test(test_token),
                cmocka_unit_test(test_options_refused_elsewhere),
                cmocka_unit_test(test_handshake_failures),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
