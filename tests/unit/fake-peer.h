/* Helpers for liblwmi's unit tests: a connection on one end of a
 * socketpair and the test playing the server on the other, writing lines
 * and reading back what the client sent. Static inline, so each test
 * program takes what it uses. Include after cmocka.h. */
#pragma once

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "conn.h"
#include "lwmi/lwmi.h"

typedef struct Pair {
        lwmi_conn *c;
        int peer;
} Pair;

static inline Pair pair_new(void) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        Pair p = { .peer = sv[1] };
        assert_int_equal(conn_new(sv[0], &p.c, NULL), 0);
        return p;
}

static inline void pair_done(Pair *p) {
        lwmi_close(p->c);
        if (p->peer >= 0)
                close(p->peer);
}

static inline void write_all(int fd, const char *s, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, s, n);
                if (k < 0 && errno == EINTR)
                        continue;
                assert_true(k > 0);
                s += k;
                n -= (size_t)k;
        }
}

static inline void peer_send(int fd, const char *s) {
        write_all(fd, s, strlen(s));
}

/* One line from fd, blocking; NULL at EOF. */
static inline char *read_line(int fd) {
        static char buf[1 << 16];
        size_t n = 0;
        for (;;) {
                char ch;
                ssize_t k = read(fd, &ch, 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return NULL;
                if (ch == '\n')
                        break;
                if (n + 1 < sizeof(buf))
                        buf[n++] = ch;
        }
        buf[n] = '\0';
        return buf;
}

static inline json_t *peer_read_message(int fd) {
        char *line = read_line(fd);
        assert_non_null(line);
        json_t *m = json_loads(line, 0, NULL);
        assert_non_null(m);
        return m;
}

static inline void assert_request(json_t *m, json_int_t id, const char *method) {
        assert_string_equal(json_string_value(json_object_get(m, "jsonrpc")), "2.0");
        assert_int_equal(json_integer_value(json_object_get(m, "id")), id);
        assert_string_equal(json_string_value(json_object_get(m, "method")), method);
}

/* Whether fd has anything to read within timeout_ms. */
static inline bool peer_readable(int fd, int timeout_ms) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int n;
        while ((n = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
                ;
        return n > 0;
}

/* Read the next message and check that it answers the server request
 * `id` (a string such as "s:1") with an empty result. */
static inline void peer_expect_ping_answer(int fd, const char *id) {
        json_t *m = peer_read_message(fd);
        assert_string_equal(json_string_value(json_object_get(m, "id")), id);
        assert_true(json_is_object(json_object_get(m, "result")));
        assert_null(json_object_get(m, "method"));
        json_decref(m);
}
