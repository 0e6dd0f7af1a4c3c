/* Unit tests for src/common: allocation with failure injection, text
 * buffers, error objects and the WBEM status table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "error.h"
#include "mem.h"
#include "strbuf.h"

static void test_mem_fail_at(void **state) {
        (void)state;
        mem_fail_at(2);
        void *a = mem_malloc(10);
        assert_non_null(a);
        assert_false(mem_fail_triggered());
        void *b = mem_malloc(10);
        assert_null(b);
        assert_true(mem_fail_triggered());
        void *c = mem_malloc(10);
        assert_non_null(c);
        mem_free(a);
        mem_free(c);
        mem_fail_at(0);
}

static void test_mem_reallocarray_overflow(void **state) {
        (void)state;
        assert_null(mem_reallocarray(NULL, SIZE_MAX / 2, 4));
}

static void test_mem_strndup_printf(void **state) {
        (void)state;
        _cleanup_free_ char *s = mem_strndup("abcdef", 3);
        assert_string_equal(s, "abc");
        _cleanup_free_ char *p = mem_printf("%s-%d", "x", 42);
        assert_string_equal(p, "x-42");
}

static void test_strbuf(void **state) {
        (void)state;
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, "hello");
        strbuf_append_char(&b, ' ');
        strbuf_printf(&b, "%d", 12345);
        for (int i = 0; i < 100; i++)
                strbuf_append(&b, "x");
        assert_false(strbuf_failed(&b));
        assert_int_equal(b.len, 11 + 100);
        assert_memory_equal(b.data, "hello 12345x", 12);
        strbuf_truncate(&b, 5);
        _cleanup_free_ char *s = strbuf_steal(&b);
        assert_string_equal(s, "hello");
        assert_null(b.data);

        StrBuf empty = STRBUF_INIT;
        _cleanup_free_ char *e = strbuf_steal(&empty);
        assert_string_equal(e, "");
}

static void test_strbuf_failure_sticks(void **state) {
        (void)state;
        StrBuf b = STRBUF_INIT;
        mem_fail_at(1);
        strbuf_append(&b, "abc");
        assert_true(strbuf_failed(&b));
        strbuf_append(&b, "def"); /* ignored after a failure */
        assert_null(strbuf_steal(&b));
        mem_fail_at(0);
}

static void test_error_set(void **state) {
        (void)state;
        Error e;
        error_clear(&e);
        assert_int_equal(error_set(&e, WBEM_E_NOT_FOUND, "class %s", "Foo"), WBEM_E_NOT_FOUND);
        assert_string_equal(e.message, "class Foo");
        assert_int_equal(error_set_at(&e, WBEM_E_INVALID_QUERY, 1, 23, "bad"), WBEM_E_INVALID_QUERY);
        assert_int_equal(e.line, 1);
        assert_int_equal(e.column, 23);
        assert_int_equal(error_from_errno(&e, -ENOMEM), -ENOMEM);
        assert_int_equal(e.status, WBEM_E_OUT_OF_MEMORY);
        assert_int_equal(error_set(NULL, WBEM_E_FAILED, "ignored"), WBEM_E_FAILED);
}

static void test_wbem_names(void **state) {
        (void)state;
        assert_string_equal(wbem_status_name(WBEM_E_NOT_FOUND), "WBEM_E_NOT_FOUND");
        assert_int_equal(wbem_status_hresult(WBEM_E_NOT_FOUND), 0x80041002);
        assert_int_equal(wbem_status_from_name("wbem_e_invalid_query"), WBEM_E_INVALID_QUERY);
        assert_int_equal(wbem_status_from_name("nonsense"), -1);
        assert_string_equal(wbem_status_name(9999), "WBEM_E_FAILED");
        /* every status has a name that maps back to it */
        for (int s = 0; s < _WBEM_STATUS_MAX; s++)
                assert_int_equal(wbem_status_from_name(wbem_status_name(s)), s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mem_fail_at),
                cmocka_unit_test(test_mem_reallocarray_overflow),
                cmocka_unit_test(test_mem_strndup_printf),
                cmocka_unit_test(test_strbuf),
                cmocka_unit_test(test_strbuf_failure_sticks),
                cmocka_unit_test(test_error_set),
                cmocka_unit_test(test_wbem_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
