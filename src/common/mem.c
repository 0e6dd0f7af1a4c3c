/* Checked allocation with a failure-injection hook; see mem.h. */
#include "mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Test plumbing: which allocation (counted from mem_fail_at) must fail. Plain
 * globals because the engine is single-threaded and only tests set them. */
static unsigned long fail_countdown;
static bool fail_triggered;
static unsigned long alloc_count;

static bool should_fail(void) {
        alloc_count++;
        if (fail_countdown == 0)
                return false;
        if (--fail_countdown > 0)
                return false;
        fail_triggered = true;
        return true;
}

void mem_fail_at(unsigned long n) {
        fail_countdown = n;
        fail_triggered = false;
}

bool mem_fail_triggered(void) {
        return fail_triggered;
}

bool mem_fail_next(void) {
        return should_fail();
}

unsigned long mem_alloc_count(void) {
        return alloc_count;
}

void *mem_malloc(size_t size) {
        if (should_fail())
                return NULL;
        return malloc(size ? size : 1);
}

void *mem_calloc(size_t count, size_t size) {
        if (should_fail())
                return NULL;
        return calloc(count ? count : 1, size ? size : 1);
}

void *mem_realloc(void *p, size_t size) {
        if (should_fail())
                return NULL;
        return realloc(p, size ? size : 1);
}

void *mem_reallocarray(void *p, size_t count, size_t size) {
        if (size && count > SIZE_MAX / size) {
                errno = ENOMEM;
                return NULL;
        }
        return mem_realloc(p, count * size);
}

void *mem_memdup(const void *p, size_t n) {
        void *q = mem_malloc(n);
        if (q && n)
                memcpy(q, p, n);
        return q;
}

char *mem_strndup(const char *s, size_t n) {
        size_t len = strnlen(s, n);
        char *q = mem_malloc(len + 1);
        if (!q)
                return NULL;
        memcpy(q, s, len);
        q[len] = '\0';
        return q;
}

char *mem_strdup(const char *s) {
        return mem_strndup(s, SIZE_MAX);
}

void mem_free(void *p) {
        free(p);
}

char *mem_printf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int len = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (len < 0)
                return NULL;
        char *s = mem_malloc((size_t)len + 1);
        if (!s)
                return NULL;
        va_start(ap, fmt);
        vsnprintf(s, (size_t)len + 1, fmt, ap);
        va_end(ap);
        return s;
}
