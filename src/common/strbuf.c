/* Growable text buffer; see strbuf.h. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

static bool strbuf_reserve(StrBuf *b, size_t extra) {
        if (b->failed)
                return false;
        if (b->len + extra + 1 <= b->cap)
                return true;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + extra + 1) {
                if (cap > ((size_t)-1) / 2) {
                        b->failed = true;
                        return false;
                }
                cap *= 2;
        }
        char *d = mem_realloc(b->data, cap);
        if (!d) {
                b->failed = true;
                return false;
        }
        d[b->len] = '\0';
        b->data = d;
        b->cap = cap;
        return true;
}

void strbuf_append_len(StrBuf *b, const char *s, size_t n) {
        if (!strbuf_reserve(b, n))
                return;
        if (n)
                memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void strbuf_append(StrBuf *b, const char *s) {
        strbuf_append_len(b, s, strlen(s));
}

void strbuf_append_char(StrBuf *b, char c) {
        strbuf_append_len(b, &c, 1);
}

void strbuf_printf(StrBuf *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->failed = true;
                return;
        }
        if (!strbuf_reserve(b, (size_t)n))
                return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

void strbuf_truncate(StrBuf *b, size_t len) {
        if (b->data && len < b->len) {
                b->len = len;
                b->data[len] = '\0';
        }
}

char *strbuf_steal(StrBuf *b) {
        if (b->failed) {
                strbuf_done(b);
                return NULL;
        }
        if (!b->data && !strbuf_reserve(b, 0)) { /* an empty buffer still yields "" */
                strbuf_done(b);
                return NULL;
        }
        char *s = b->data;
        b->data = NULL;
        b->len = b->cap = 0;
        return s;
}

void strbuf_done(StrBuf *b) {
        mem_free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
        b->failed = false;
}
