/* Byte queue for socket I/O; see iobuf.h. */
#include "iobuf.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "mem.h"

char *iobuf_reserve(IoBuf *b, size_t extra) {
        if (b->cap - b->off - b->len >= extra && b->data)
                return b->data + b->off + b->len;
        /* Reclaim consumed space first: often that is room enough. */
        if (b->off > 0) {
                memmove(b->data, b->data + b->off, b->len);
                b->off = 0;
                if (b->cap - b->len >= extra)
                        return b->data + b->len;
        }
        if (extra > SIZE_MAX / 2 - b->len)
                return NULL;
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < extra)
                cap *= 2;
        char *d = mem_realloc(b->data, cap);
        if (!d)
                return NULL;
        b->data = d;
        b->cap = cap;
        return b->data + b->len;
}

void iobuf_commit(IoBuf *b, size_t n) {
        b->len += n;
}

int iobuf_append(IoBuf *b, const void *p, size_t n) {
        char *dst = iobuf_reserve(b, n);
        if (!dst)
                return -ENOMEM;
        if (n)
                memcpy(dst, p, n);
        iobuf_commit(b, n);
        return 0;
}

void iobuf_consume(IoBuf *b, size_t n) {
        if (n >= b->len) {
                b->off = b->len = 0;
                return;
        }
        b->off += n;
        b->len -= n;
}

void iobuf_done(IoBuf *b) {
        mem_free(b->data);
        *b = (IoBuf)IOBUF_INIT;
}
