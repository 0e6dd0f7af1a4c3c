/* A growable byte buffer that stays NUL-terminated, for building text
 * (object paths, JSON, error messages). After the first failed append the
 * buffer is marked failed and later appends do nothing, so callers can append
 * a whole sequence and check once with strbuf_failed(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct StrBuf {
        char *data; /* NUL-terminated when not NULL */
        size_t len;
        size_t cap;
        bool failed;
} StrBuf;

#define STRBUF_INIT {0}

void strbuf_append(StrBuf *b, const char *s);
void strbuf_append_len(StrBuf *b, const char *s, size_t n);
void strbuf_append_char(StrBuf *b, char c);
void strbuf_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_truncate(StrBuf *b, size_t len);
static inline bool strbuf_failed(const StrBuf *b) {
        return b->failed;
}
/* Hand the text over (never NULL on success: "" for an empty buffer) and
 * reset the buffer. Returns NULL if an append failed (and frees the text). */
char *strbuf_steal(StrBuf *b);
void strbuf_done(StrBuf *b);
