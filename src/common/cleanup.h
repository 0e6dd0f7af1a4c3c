/* Scope-bound cleanup for C: a variable declared _cleanup_(fn) has fn(&var)
 * called when it leaves scope, so error paths cannot forget to free.
 * Build objects in guarded locals and hand them over with TAKE_PTR(). */
#pragma once

#include <stdlib.h>

#define _cleanup_(fn) __attribute__((cleanup(fn)))

/* Take ownership of a pointer out of a guarded local: returns the value and
 * leaves NULL behind, so the cleanup at scope exit does nothing. */
#define TAKE_PTR(p)                                                            \
        ({                                                                     \
                __typeof__(p) take_ptr_tmp_ = (p);                             \
                (p) = NULL;                                                    \
                take_ptr_tmp_;                                                 \
        })

/* Declare `name##p(type **)` that calls `func(*p)` when *p is not NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                \
        static inline void func##p(type *p) {                                  \
                if (*p)                                                        \
                        func(*p);                                              \
        }

void mem_free(void *p);

static inline void mem_freep(void *p) {
        mem_free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(mem_freep)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
