/* Allocation for everything in lwmi that must survive out-of-memory: the
 * engine, the client library and the codecs allocate only through these
 * functions, which return NULL (never abort) on failure.
 *
 * The functions also carry the hook for allocation-failure injection used by
 * the unit tests (after SQLite's test_malloc.c): mem_fail_at(N) makes the Nth
 * allocation from now fail, so a test can walk N = 1, 2, ... through an
 * operation and check each failure gives a clean error and no leak.
 * mem_install_library_hooks() routes SQLite's and jansson's allocations
 * through the same functions so the injection reaches them too. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

void *mem_malloc(size_t size);
void *mem_calloc(size_t count, size_t size);
/* Like realloc(); on failure the old block is untouched and NULL returned. */
void *mem_realloc(void *p, size_t size);
/* realloc of an array with overflow check on count * size. */
void *mem_reallocarray(void *p, size_t count, size_t size);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);
/* Copy of [p, p+n). */
void *mem_memdup(const void *p, size_t n);
/* Accepts NULL. */
void mem_free(void *p);

/* Printf into a fresh allocation; NULL on failure. */
char *mem_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Failure injection (tests only). mem_fail_at(n) with n >= 1: the nth
 * allocation counted from this call fails, and every one after it succeeds
 * again. n = 0 disables. mem_fail_triggered() tells whether it fired. */
void mem_fail_at(unsigned long n);
bool mem_fail_triggered(void);

/* For allocators of their own (slab.h): counts one allocation as the
 * functions above do and tells whether failure injection makes it fail. */
bool mem_fail_next(void);

/* Number of allocations made since process start (for tests sizing N). */
unsigned long mem_alloc_count(void);

/* Route SQLite's and jansson's allocators through mem_*(). Call once, before
 * any SQLite or jansson use. Returns 0 or a negative errno. */
int mem_install_library_hooks(void);
