/* A benchmark client's connection to lwmid; see conn.h. */
#include "conn.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"

uint64_t conn_now_nsec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void conn_die(const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "%s: ", program_invocation_short_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

void conn_connect(Conn *c, const char *path) {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof(addr.sun_path))
                conn_die("socket path too long: %s", path);
        strcpy(addr.sun_path, path);
        *c = (Conn){ .fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) };
        if (c->fd < 0)
                conn_die("socket: %s", strerror(errno));
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                conn_die("cannot connect to %s: %s", path, strerror(errno));
}

void conn_close(Conn *c) {
        close(c->fd);
        mem_free(c->in);
        strbuf_done(&c->out);
}

void conn_queue(Conn *c, const char *text, size_t len) {
        strbuf_append_len(&c->out, text, len);
        if (strbuf_failed(&c->out))
                conn_die("out of memory");
}

bool conn_want_write(const Conn *c) {
        return c->out_off < c->out.len;
}

/* Write what the socket takes now. */
void conn_flush(Conn *c) {
        while (conn_want_write(c)) {
                ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                                 MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        conn_die("send: %s", strerror(errno));
                }
                c->out_off += (size_t)n;
        }
        strbuf_truncate(&c->out, 0);
        c->out_off = 0;
}

/* Read what is there now. */
void conn_fill(Conn *c) {
        for (;;) {
                if (c->in_start > 0 && c->in_start >= c->in_len / 2) {
                        memmove(c->in, c->in + c->in_start, c->in_len - c->in_start);
                        c->in_len -= c->in_start;
                        c->in_start = 0;
                }
                if (c->in_cap - c->in_len < 65536) {
                        size_t cap = c->in_cap ? c->in_cap * 2 : 1u << 20;
                        char *p = mem_realloc(c->in, cap);
                        if (!p)
                                conn_die("out of memory");
                        c->in = p;
                        c->in_cap = cap;
                }
                ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        conn_die("recv: %s", strerror(errno));
                }
                if (n == 0)
                        conn_die("lwmid closed the connection");
                c->in_len += (size_t)n;
                c->bytes_in += (uint64_t)n;
        }
}

/* The next complete line (without '\n'), consumed; false if none yet. */
bool conn_next_line(Conn *c, char **ret, size_t *ret_len) {
        if (!c->in)
                return false;
        char *start = c->in + c->in_start;
        size_t have = c->in_len - c->in_start;
        char *eol = memchr(start + c->scanned, '\n', have - c->scanned);

        if (!eol) {
                c->scanned = have;
                return false;
        }
        *ret = start;
        *ret_len = (size_t)(eol - start);
        c->in_start += *ret_len + 1;
        c->scanned = 0;
        return true;
}

/* Wait for the socket, then read and write what it allows. */
void conn_wait(Conn *c) {
        struct pollfd p = { .fd = c->fd, .events = POLLIN };

        if (conn_want_write(c))
                p.events |= POLLOUT;
        int r = poll(&p, 1, BENCH_STALL_MS);
        if (r < 0 && errno != EINTR)
                conn_die("poll: %s", strerror(errno));
        if (r == 0)
                conn_die("no progress for %d ms", BENCH_STALL_MS);
        if (p.revents & (POLLIN | POLLHUP | POLLERR))
                conn_fill(c);
        if (p.revents & POLLOUT)
                conn_flush(c);
}
