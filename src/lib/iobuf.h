/* A byte queue for socket I/O: bytes are appended at the tail and consumed
 * from the head. Consumed space is reclaimed by moving the live bytes down
 * only when the buffer would otherwise grow, so reading line by line out of
 * a large read costs no copying per line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct IoBuf {
        char *data;
        size_t off; /* first live byte */
        size_t len; /* live bytes, from data + off */
        size_t cap;
} IoBuf;

#define IOBUF_INIT \
        { 0 }

static inline char *iobuf_head(const IoBuf *b) {
        return b->data ? b->data + b->off : NULL;
}

/* Make room for at least `extra` more bytes at the tail; returns a pointer
 * to the free space, or NULL on out-of-memory (the buffer is unchanged). */
char *iobuf_reserve(IoBuf *b, size_t extra);
/* Bytes written into the space returned by iobuf_reserve(). */
void iobuf_commit(IoBuf *b, size_t n);
/* Append n bytes; 0 or -ENOMEM. */
int iobuf_append(IoBuf *b, const void *p, size_t n);
/* Drop n bytes (n <= len) from the head. */
void iobuf_consume(IoBuf *b, size_t n);
void iobuf_done(IoBuf *b);
