/* Routing of SQLite's and jansson's allocators through mem_*(); see mem.h.
 * Kept apart from mem.c so that liblwmi, which links mem.c but must leave
 * the application's jansson allocator alone, does not depend on SQLite. */
#include "mem.h"

#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <sqlite3.h>
#include <stdbool.h>

/* SQLite wants the size of a live allocation; glibc can tell it. */
static void *sqlite_malloc(int n) {
        return n > 0 ? mem_malloc((size_t)n) : NULL;
}
static void sqlite_free(void *p) {
        mem_free(p);
}
static void *sqlite_realloc(void *p, int n) {
        return n > 0 ? mem_realloc(p, (size_t)n) : NULL;
}
static int sqlite_size(void *p) {
        return p ? (int)malloc_usable_size(p) : 0;
}
static int sqlite_roundup(int n) {
        return (n + 7) & ~7;
}
static int sqlite_init(void *unused) {
        (void)unused;
        return SQLITE_OK;
}
static void sqlite_shutdown(void *unused) {
        (void)unused;
}

static void *jansson_malloc(size_t n) {
        return mem_malloc(n);
}

int mem_install_library_hooks(void) {
        static const sqlite3_mem_methods methods = {
                .xMalloc = sqlite_malloc,
                .xFree = sqlite_free,
                .xRealloc = sqlite_realloc,
                .xSize = sqlite_size,
                .xRoundup = sqlite_roundup,
                .xInit = sqlite_init,
                .xShutdown = sqlite_shutdown,
        };
        static bool installed;
        if (installed)
                return 0;
        int r = sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
        if (r != SQLITE_OK && r != SQLITE_MISUSE)
                return -EINVAL;
        json_set_alloc_funcs(jansson_malloc, mem_free);
        installed = true;
        return 0;
}
