/* A benchmark client's connection to lwmid over its Unix socket: a
 * non-blocking socket with an input buffer split into lines and an output
 * buffer written as the socket takes it, so a client can pipeline requests
 * while it reads (docs/protocol.md asks it to). Shared by bench-rpc and
 * bench-events. Failures end the program (conn_die). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* No progress for this long fails the benchmark (a hung daemon). */
#define BENCH_STALL_MS 60000

typedef struct Conn {
        int fd;
        char *in; /* received bytes [in_start, in_len) not yet consumed */
        size_t in_start, in_len, in_cap;
        size_t scanned; /* bytes after in_start known to hold no '\n' */
        StrBuf out;     /* bytes to send from out_off */
        size_t out_off;
        uint64_t bytes_in;
} Conn;

/* Monotonic clock in nanoseconds. */
uint64_t conn_now_nsec(void);
/* Print "<program>: <message>" and exit 1. */
void conn_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

void conn_connect(Conn *c, const char *path);
void conn_close(Conn *c);
/* Append to the output (sent by conn_flush / conn_wait). */
void conn_queue(Conn *c, const char *text, size_t len);
bool conn_want_write(const Conn *c);
/* Write what the socket takes now. */
void conn_flush(Conn *c);
/* Read what is there now. */
void conn_fill(Conn *c);
/* The next complete line (without '\n'), consumed; false if none yet. The
 * text is valid until the next conn_fill. */
bool conn_next_line(Conn *c, char **ret, size_t *ret_len);
/* Wait for the socket, then read and write what it allows. */
void conn_wait(Conn *c);
