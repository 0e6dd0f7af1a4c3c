/* Unit tests for src/common/slab.c: size classes on mapped blocks, blocks
 * unmapped when their last object goes, larger objects through malloc,
 * failure injection. They call the slab path itself (slab_alloc_mapped),
 * which slab_alloc() takes in every build but AddressSanitizer's. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "mem.h"
#include "slab.h"

#define N_OBJECTS 20000

static void test_objects_distinct_aligned_and_kept(void **state) {
        SlabPool *pool = *state;
        size_t base = slab_mapped_bytes(pool);
        unsigned char **p = calloc(N_OBJECTS, sizeof(*p));
        assert_non_null(p);
        for (size_t i = 0; i < N_OBJECTS; i++) {
                size_t size = 1 + i % SLAB_MAX_OBJECT;
                p[i] = slab_alloc_mapped(pool, size);
                assert_non_null(p[i]);
                assert_int_equal((uintptr_t)p[i] % 16, 0);
                memset(p[i], (int)(i & 0xff), size);
        }
        assert_true(slab_mapped_bytes(pool) > base);
        /* no object overlapped another: each still holds its own byte */
        for (size_t i = 0; i < N_OBJECTS; i++) {
                size_t size = 1 + i % SLAB_MAX_OBJECT;
                assert_int_equal(p[i][0], i & 0xff);
                assert_int_equal(p[i][size - 1], i & 0xff);
        }
        /* freed in a scattered order, every block goes: at most the one
         * kept for reuse stays mapped */
        for (size_t step = 0; step < 7; step++)
                for (size_t i = step; i < N_OBJECTS; i += 7)
                        slab_free_mapped(pool, p[i]);
        assert_true(slab_mapped_bytes(pool) <= base + SLAB_BLOCK_SIZE);
        free(p);
}

static void test_freed_objects_are_reused(void **state) {
        SlabPool *pool = *state;
        void *a = slab_alloc_mapped(pool, 100);
        void *b = slab_alloc_mapped(pool, 100);
        assert_non_null(a);
        assert_non_null(b);
        size_t mapped = slab_mapped_bytes(pool);
        slab_free_mapped(pool, a);
        void *c = slab_alloc_mapped(pool, 100);
        assert_ptr_equal(c, a);
        assert_int_equal(slab_mapped_bytes(pool), mapped);
        slab_free_mapped(pool, b);
        slab_free_mapped(pool, c);
}

static void test_block_fills_then_another(void **state) {
        SlabPool *pool = *state;
        /* 64-byte objects: one block holds under 1024 of them */
        size_t per_block = SLAB_BLOCK_SIZE / 64;
        size_t n = 3 * per_block;
        void **p = calloc(n, sizeof(*p));
        assert_non_null(p);
        size_t base = slab_mapped_bytes(pool);
        for (size_t i = 0; i < n; i++) {
                p[i] = slab_alloc_mapped(pool, 64);
                assert_non_null(p[i]);
        }
        assert_true(slab_mapped_bytes(pool) >= base + 3 * SLAB_BLOCK_SIZE);
        /* a full block with one object freed takes the next one */
        slab_free_mapped(pool, p[5]);
        p[5] = slab_alloc_mapped(pool, 64);
        assert_non_null(p[5]);
        for (size_t i = 0; i < n; i++)
                slab_free_mapped(pool, p[i]);
        assert_true(slab_mapped_bytes(pool) <= base + SLAB_BLOCK_SIZE);
        free(p);
}

static void test_large_objects_use_malloc(void **state) {
        SlabPool *pool = *state;
        size_t mapped = slab_mapped_bytes(pool);
        char *big = slab_alloc_mapped(pool, SLAB_MAX_OBJECT + 1);
        assert_non_null(big);
        memset(big, 'x', SLAB_MAX_OBJECT + 1);
        assert_int_equal(slab_mapped_bytes(pool), mapped);
        slab_free_mapped(pool, big); /* a leak or a bad free shows under ASan */
        slab_free_mapped(pool, NULL);
        slab_free(pool, NULL);
}

static void test_failure_injection(void **state) {
        SlabPool *pool = *state;
        mem_fail_at(1);
        assert_null(slab_alloc_mapped(pool, 32));
        assert_true(mem_fail_triggered());
        mem_fail_at(1);
        assert_null(slab_alloc(pool, 32));
        mem_fail_at(0);
        void *p = slab_alloc(pool, 32);
        assert_non_null(p);
        slab_free(pool, p);
}

static int setup(void **state) {
        SlabPool *pool;
        if (slab_pool_new(&pool) < 0)
                return -1;
        *state = pool;
        return 0;
}

static int teardown(void **state) {
        slab_pool_free(*state);
        return 0;
}

/* A pool freed with objects still in it unmaps their blocks (mincore()
 * fails with ENOMEM on an address that is not mapped). */
static bool mapped(const void *addr) {
        unsigned char vec;
        void *page = (void *)((uintptr_t)addr & ~(uintptr_t)4095);
        return mincore(page, 4096, &vec) == 0 || errno != ENOMEM;
}

static void test_pool_free_unmaps(void **state) {
        (void)state;
        SlabPool *other;
        void *o[3000];
        assert_int_equal(slab_pool_new(&other), 0);
        for (int i = 0; i < 3000; i++) {
                o[i] = slab_alloc_mapped(other, 100);
                assert_non_null(o[i]);
        }
        assert_true(slab_mapped_bytes(other) >= 3 * SLAB_BLOCK_SIZE);
        assert_true(mapped(o[0]) && mapped(o[2999]));
        slab_pool_free(other);
        assert_false(mapped(o[0]));
        assert_false(mapped(o[2999]));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_objects_distinct_aligned_and_kept, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_freed_objects_are_reused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_block_fills_then_another, setup, teardown),
                cmocka_unit_test_setup_teardown(test_large_objects_use_malloc, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failure_injection, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_free_unmaps, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
