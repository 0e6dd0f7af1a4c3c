/* Unit tests for src/common/slab.c: size classes on mapped blocks, blocks
 * unmapped when their last object goes, larger objects through malloc,
 * failure injection. They call the slab path itself (slab_alloc_mapped),
 * which slab_alloc() takes in every build but AddressSanitizer's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"
#include "slab.h"

#define N_OBJECTS 20000

static void test_objects_distinct_aligned_and_kept(void **state) {
        (void)state;
        size_t base = slab_mapped_bytes();
        unsigned char **p = calloc(N_OBJECTS, sizeof(*p));
        assert_non_null(p);
        for (size_t i = 0; i < N_OBJECTS; i++) {
                size_t size = 1 + i % SLAB_MAX_OBJECT;
                p[i] = slab_alloc_mapped(size);
                assert_non_null(p[i]);
                assert_int_equal((uintptr_t)p[i] % 16, 0);
                memset(p[i], (int)(i & 0xff), size);
        }
        assert_true(slab_mapped_bytes() > base);
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
                        slab_free_mapped(p[i]);
        assert_true(slab_mapped_bytes() <= base + SLAB_BLOCK_SIZE);
        free(p);
}

static void test_freed_objects_are_reused(void **state) {
        (void)state;
        void *a = slab_alloc_mapped(100);
        void *b = slab_alloc_mapped(100);
        assert_non_null(a);
        assert_non_null(b);
        size_t mapped = slab_mapped_bytes();
        slab_free_mapped(a);
        void *c = slab_alloc_mapped(100);
        assert_ptr_equal(c, a);
        assert_int_equal(slab_mapped_bytes(), mapped);
        slab_free_mapped(b);
        slab_free_mapped(c);
}

static void test_block_fills_then_another(void **state) {
        (void)state;
        /* 64-byte objects: one block holds under 1024 of them */
        size_t per_block = SLAB_BLOCK_SIZE / 64;
        size_t n = 3 * per_block;
        void **p = calloc(n, sizeof(*p));
        assert_non_null(p);
        size_t base = slab_mapped_bytes();
        for (size_t i = 0; i < n; i++) {
                p[i] = slab_alloc_mapped(64);
                assert_non_null(p[i]);
        }
        assert_true(slab_mapped_bytes() >= base + 3 * SLAB_BLOCK_SIZE);
        /* a full block with one object freed takes the next one */
        slab_free_mapped(p[5]);
        p[5] = slab_alloc_mapped(64);
        assert_non_null(p[5]);
        for (size_t i = 0; i < n; i++)
                slab_free_mapped(p[i]);
        assert_true(slab_mapped_bytes() <= base + SLAB_BLOCK_SIZE);
        free(p);
}

static void test_large_objects_use_malloc(void **state) {
        (void)state;
        size_t mapped = slab_mapped_bytes();
        char *big = slab_alloc_mapped(SLAB_MAX_OBJECT + 1);
        assert_non_null(big);
        memset(big, 'x', SLAB_MAX_OBJECT + 1);
        assert_int_equal(slab_mapped_bytes(), mapped);
        slab_free_mapped(big); /* a leak or a bad free shows under ASan */
        slab_free_mapped(NULL);
        slab_free(NULL);
}

static void test_failure_injection(void **state) {
        (void)state;
        mem_fail_at(1);
        assert_null(slab_alloc_mapped(32));
        assert_true(mem_fail_triggered());
        mem_fail_at(1);
        assert_null(slab_alloc(32));
        mem_fail_at(0);
        void *p = slab_alloc(32);
        assert_non_null(p);
        slab_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_objects_distinct_aligned_and_kept),
                cmocka_unit_test(test_freed_objects_are_reused),
                cmocka_unit_test(test_block_fills_then_another),
                cmocka_unit_test(test_large_objects_use_malloc),
                cmocka_unit_test(test_failure_injection),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
