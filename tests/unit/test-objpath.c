/* Unit tests for object paths (objpath.c): parsing every form, canonical
 * printing and round trips, escaping, every error with its column, and
 * namespace normalization. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "mem.h"
#include "objpath.h"
#include "strbuf.h"
#include "value.h"

static ObjectPath *parse_ok(const char *text) {
        ObjectPath *p = NULL;
        Error err;
        error_clear(&err);
        if (objpath_parse(text, &p, &err) != 0)
                fail_msg("'%s': %s", text, err.message);
        assert_non_null(p);
        return p;
}

/* format(parse(text)) == expected, and expected is a fixed point. */
static void round_trip(const char *text, const char *expected) {
        ObjectPath *p = parse_ok(text);
        _cleanup_free_ char *f = objpath_format(p);
        assert_non_null(f);
        assert_string_equal(f, expected);
        objpath_free(p);
        p = parse_ok(f);
        _cleanup_free_ char *g = objpath_format(p);
        assert_string_equal(g, f);
        objpath_free(p);
}

static void parse_fail(const char *text, unsigned column, const char *message) {
        ObjectPath *p = (ObjectPath *)(uintptr_t)1;
        Error err;
        error_clear(&err);
        assert_int_equal(objpath_parse(text, &p, &err), WBEM_E_INVALID_OBJECT_PATH);
        assert_ptr_equal(p, (ObjectPath *)(uintptr_t)1); /* untouched */
        assert_int_equal(err.status, WBEM_E_INVALID_OBJECT_PATH);
        assert_int_equal(err.column, column);
        assert_string_equal(err.message, message);
}

static void test_forms(void **state) {
        (void)state;
        ObjectPath *p;

        p = parse_ok("Win32_Process");
        assert_null(p->server);
        assert_null(p->ns);
        assert_string_equal(p->class_name, "Win32_Process");
        assert_false(p->is_singleton);
        assert_int_equal(p->n_keys, 0);
        objpath_free(p);

        p = parse_ok("\\\\server\\ns:Class.K=\"a\\\"b\"");
        assert_string_equal(p->server, "server");
        assert_string_equal(p->ns, "ns");
        assert_string_equal(p->class_name, "Class");
        assert_int_equal(p->n_keys, 1);
        assert_string_equal(p->keys[0].name, "K");
        assert_int_equal(p->keys[0].value.type, CIM_STRING);
        assert_string_equal(p->keys[0].value.s, "a\"b");
        objpath_free(p);

        p = parse_ok("//./root/cimv2:Class=@");
        assert_string_equal(p->server, ".");
        assert_string_equal(p->ns, "root/cimv2");
        assert_true(p->is_singleton);
        assert_int_equal(p->n_keys, 0);
        objpath_free(p);

        p = parse_ok("ROOT\\CimV2:Class=\"x\"");
        assert_null(p->server);
        assert_string_equal(p->ns, "ROOT/CimV2"); /* spelling kept, '/' separators */
        assert_int_equal(p->n_keys, 1);
        assert_null(p->keys[0].name);
        assert_string_equal(p->keys[0].value.s, "x");
        objpath_free(p);

        p = parse_ok("C.a=-5,b=9223372036854775807,c=9223372036854775808,d=18446744073709551615,"
                     "e=-9223372036854775808,f=TRUE,g=false,h=1.5,i=-0,j=+7,k=\"\"");
        assert_int_equal(p->n_keys, 11);
        assert_int_equal(p->keys[0].value.type, CIM_SINT64);
        assert_true(p->keys[0].value.i == -5);
        assert_int_equal(p->keys[1].value.type, CIM_SINT64);
        assert_true(p->keys[1].value.i == INT64_MAX);
        assert_int_equal(p->keys[2].value.type, CIM_UINT64);
        assert_true(p->keys[2].value.u == (uint64_t)INT64_MAX + 1);
        assert_int_equal(p->keys[3].value.type, CIM_UINT64);
        assert_true(p->keys[3].value.u == UINT64_MAX);
        assert_int_equal(p->keys[4].value.type, CIM_SINT64);
        assert_true(p->keys[4].value.i == INT64_MIN);
        assert_int_equal(p->keys[5].value.type, CIM_BOOLEAN);
        assert_true(p->keys[5].value.b);
        assert_int_equal(p->keys[6].value.type, CIM_BOOLEAN);
        assert_false(p->keys[6].value.b);
        assert_int_equal(p->keys[7].value.type, CIM_REAL64);
        assert_true(p->keys[7].value.r == 1.5);
        assert_true(p->keys[8].value.i == 0);
        assert_true(p->keys[9].value.i == 7);
        assert_int_equal(p->keys[10].value.type, CIM_STRING);
        assert_string_equal(p->keys[10].value.s, "");
        objpath_free(p);

        /* quotes protect every special character */
        p = parse_ok("ns:C.K=\"a:b.c,d=e@ \\\\ //x\"");
        assert_string_equal(p->keys[0].value.s, "a:b.c,d=e@ \\ //x");
        objpath_free(p);

        /* non-ASCII names and values */
        p = parse_ok("Caf\xc3\xa9.N\xc3\xa4me=\"\xe2\x82\xac\"");
        assert_string_equal(p->class_name, "Caf\xc3\xa9");
        assert_string_equal(p->keys[0].name, "N\xc3\xa4me");
        assert_string_equal(p->keys[0].value.s, "\xe2\x82\xac");
        objpath_free(p);

        /* mixed separators after the server */
        p = parse_ok("/\\host-1.example.com/root\\lwmi:X");
        assert_string_equal(p->server, "host-1.example.com");
        assert_string_equal(p->ns, "root/lwmi");
        objpath_free(p);

        assert_null(objpath_free(NULL));
}

static void test_round_trips(void **state) {
        (void)state;
        round_trip("Class", "Class");
        round_trip("root:Class", "root:Class");
        round_trip("root\\cimv2:Class", "root/cimv2:Class");
        round_trip("\\\\server\\ns:Class.K=\"a\\\"b\"", "//server/ns:Class.K=\"a\\\"b\"");
        round_trip("//./root/cimv2:Class=@", "//./root/cimv2:Class=@");
        round_trip("Class=\"x\"", "Class=\"x\"");
        round_trip("Class=-3", "Class=-3");
        round_trip("Class=true", "Class=TRUE");
        round_trip("C.K=\"\\\\\"", "C.K=\"\\\\\"");
        round_trip("C.K=\"\"", "C.K=\"\"");
        /* canonical key order: case-insensitive by name, spelling kept */
        round_trip("C.b=1,A=2,c=3", "C.A=2,b=1,c=3");
        round_trip("C.Zeta=1,alpha=2,Beta=3,_u=4", "C._u=4,alpha=2,Beta=3,Zeta=1");
        /* numbers in canonical form */
        round_trip("C.K=+5", "C.K=5");
        round_trip("C.K=007", "C.K=7");
        round_trip("C.K=-0", "C.K=0");
        round_trip("C.K=18446744073709551615", "C.K=18446744073709551615");
        round_trip("C.K=-9223372036854775808", "C.K=-9223372036854775808");
        round_trip("C.K=1.5", "C.K=1.5");
        round_trip("C.K=1.0", "C.K=1.0");
        round_trip("C.K=1e0", "C.K=1.0");
        round_trip("C.K=100000.0", "C.K=1e5");
        round_trip("C.K=12e1", "C.K=1.2e2");
        round_trip("C.K=1E-7", "C.K=1e-7");
        round_trip("C.K=-0.0", "C.K=-0.0");
        round_trip("C.K=0.1", "C.K=0.1");
        round_trip("C.K=1e-400", "C.K=0.0");
        round_trip("C.K=1.7976931348623157e308", "C.K=1.7976931348623157e308");
        round_trip("C.K=FALSE", "C.K=FALSE");
        /* any byte but '"' and '\' passes through a string unescaped */
        round_trip("C.K=\"\x01\t\xff\"", "C.K=\"\x01\t\xff\"");
}

static void test_format(void **state) {
        (void)state;
        /* a path built by hand prints the same way */
        ObjectPathKey keys[] = {
                { .name = "Name", .value = value_null(CIM_STRING, false) },
                { .name = "id", .value = value_uint(CIM_UINT32, 7) },
                { .name = "When", .value = value_datetime(cim_datetime_from_unix_usec(0, 0)) },
                { .name = "R", .value = value_real(CIM_REAL64, 2.0) },
                { .name = "S", .value = value_sint(CIM_SINT8, -1) },
        };
        ObjectPath p = {
                .server = "srv",
                .class_name = "C",
                .keys = keys,
                .n_keys = ELEMENTSOF(keys),
        };
        _cleanup_free_ char *f1 = objpath_format(&p); /* server without namespace: dropped */
        assert_string_equal(f1, "C.id=7,Name=\"\",R=2.0,S=-1,When=\"19700101000000.000000+000\"");
        p.ns = "root";
        _cleanup_free_ char *f2 = objpath_format(&p);
        assert_string_equal(f2, "//srv/root:C.id=7,Name=\"\",R=2.0,S=-1,"
                                "When=\"19700101000000.000000+000\"");
        _cleanup_free_ char *f3 = objpath_format_relpath(&p);
        assert_string_equal(f3, "C.id=7,Name=\"\",R=2.0,S=-1,When=\"19700101000000.000000+000\"");
        p.server = NULL;
        _cleanup_free_ char *f4 = objpath_format(&p);
        assert_string_equal(f4,
                            "root:C.id=7,Name=\"\",R=2.0,S=-1,When=\"19700101000000.000000+000\"");

        /* key values that cannot come from a path still print safely */
        StrBuf b = STRBUF_INIT;
        Value v = value_real(CIM_REAL64, NAN);
        objpath_append_key_value(&b, &v);
        v = value_real(CIM_REAL64, -INFINITY);
        objpath_append_key_value(&b, &v);
        v = value_null(CIM_UINT8, true);
        objpath_append_key_value(&b, &v);
        v = value_null(CIM_OBJECT, false);
        objpath_append_key_value(&b, &v);
        v = value_bool(false);
        objpath_append_key_value(&b, &v);
        assert_int_equal(value_reference("A.B=\"c\"", &v), 0);
        objpath_append_key_value(&b, &v);
        value_clear(&v);
        objpath_append_quoted(&b, "\\\"");
        _cleanup_free_ char *s = strbuf_steal(&b);
        assert_string_equal(s, "\"NaN\"\"-Infinity\"\"\"\"\"FALSE\"A.B=\\\"c\\\"\"\"\\\\\\\"\"");

        mem_fail_at(1);
        assert_null(objpath_format(&p));
        mem_fail_at(2); /* the sorting array */
        assert_null(objpath_format_relpath(&p));
        mem_fail_at(0);
}

static void test_errors(void **state) {
        (void)state;
        parse_fail("", 1, "column 1: expected class name, found end of path");
        parse_fail("1Class", 1, "column 1: expected class name, found '1'");
        parse_fail(" Class", 1, "column 1: white space is not allowed outside quotes");
        parse_fail("Class ", 6, "column 6: white space is not allowed outside quotes");
        parse_fail("Class.K = 1", 8, "column 8: white space is not allowed outside quotes");
        parse_fail("Class.K= 1", 9, "column 9: white space is not allowed outside quotes");
        parse_fail("Class.K=1, L=2", 11, "column 11: white space is not allowed outside quotes");
        parse_fail("Class.K=\"abc", 9, "column 9: unterminated string");
        parse_fail("Win32_Service.Name=\"abc", 20, "column 20: unterminated string");
        parse_fail("Class.K=\"ab\\", 9, "column 9: unterminated string");
        parse_fail("Class.K=\"a\\nb\"", 11,
                   "column 11: invalid escape '\\n' (only \\\" and \\\\ are allowed)");
        parse_fail("Class.K=\"a\\\x01\"", 11,
                   "column 11: invalid escape: backslash before byte 0x01");
        parse_fail("Class.", 7, "column 7: expected key name, found end of path");
        parse_fail("Class.1=2", 7, "column 7: expected key name, found '1'");
        parse_fail("Class.K", 8, "column 8: expected '=' after key name, found end of path");
        parse_fail("Class.K:1", 8, "column 8: expected '=' after key name, found ':'");
        parse_fail("Class.K=", 9,
                   "column 9: expected a value (quoted string, number, TRUE or FALSE), found end "
                   "of path");
        parse_fail("Class.K=abc", 9,
                   "column 9: expected a value (quoted string, number, TRUE or FALSE), found 'a'");
        parse_fail("Class.K=TRUEX", 9,
                   "column 9: expected a value (quoted string, number, TRUE or FALSE), found 'T'");
        parse_fail("Class.K='a'", 9,
                   "column 9: expected a value (quoted string, number, TRUE or FALSE), found '''");
        parse_fail("Class.K=@", 9,
                   "column 9: expected a value (quoted string, number, TRUE or FALSE), found '@'");
        parse_fail("Class.K=1,", 11, "column 11: expected key name, found end of path");
        parse_fail("Class.K=1;", 10, "column 10: expected ',' or end of path, found ';'");
        parse_fail("Class.K=\"a\"b", 12, "column 12: expected ',' or end of path, found 'b'");
        parse_fail("Class.K=1,k=2", 11, "column 11: duplicate key 'k'");
        parse_fail("Class.Name=1,B=2,NAME=3", 18, "column 18: duplicate key 'NAME'");
        parse_fail("Class=@x", 8, "column 8: expected end of path, found 'x'");
        parse_fail("Class=1,K=2", 8, "column 8: expected end of path, found ','");
        parse_fail("Class=", 7,
                   "column 7: expected a value (quoted string, number, TRUE or FALSE), found end "
                   "of path");
        parse_fail("Class#", 6,
                   "column 6: expected '.', '=' or end of path after class name, found '#'");
        parse_fail("Class\x7f", 6,
                   "column 6: expected '.', '=' or end of path after class name, found byte 0x7f");
        parse_fail("Class.K=1.", 11, "column 11: expected a digit after '.', found end of path");
        parse_fail("Class.K=1.e5", 11, "column 11: expected a digit after '.', found 'e'");
        parse_fail("Class.K=1e", 11,
                   "column 11: expected a digit in the exponent, found end of path");
        parse_fail("Class.K=1e+x", 12, "column 12: expected a digit in the exponent, found 'x'");
        parse_fail("Class.K=-", 10, "column 10: expected a digit, found end of path");
        parse_fail("Class.K=-a", 10, "column 10: expected a digit, found 'a'");
        parse_fail("Class.K=.5", 9,
                   "column 9: expected a value (quoted string, number, TRUE or FALSE), found '.'");
        parse_fail("Class.K=18446744073709551616", 9, "column 9: number out of range");
        parse_fail("Class.K=99999999999999999999999", 9, "column 9: number out of range");
        parse_fail("Class.K=-9223372036854775809", 9, "column 9: number out of range");
        parse_fail("Class.K=1e999", 9, "column 9: number out of range");
        parse_fail("Class.K=-1.5e400", 9, "column 9: number out of range");
        parse_fail("Class.K=0x10", 10, "column 10: expected ',' or end of path, found 'x'");
        parse_fail("\\\\", 3, "column 3: expected server name, found end of path");
        parse_fail("//:ns:C", 3, "column 3: expected server name, found ':'");
        parse_fail("//server", 9,
                   "column 9: expected '/' or '\\' after server name, found end of path");
        parse_fail("//ser ver/ns:C", 6, "column 6: white space is not allowed outside quotes");
        parse_fail("//server:C", 9, "column 9: expected '/' or '\\' after server name, found ':'");
        parse_fail("//server/:C", 10, "column 10: expected namespace name");
        parse_fail("//server/root", 14,
                   "column 14: expected ':' after namespace, found end of path");
        parse_fail("//server/ro-ot:C", 12, "column 12: expected ':' after namespace, found '-'");
        parse_fail("//server/root/:C", 15, "column 15: empty namespace segment");
        parse_fail("//server//root:C", 10, "column 10: empty namespace segment");
        parse_fail("//server/ns:", 13, "column 13: expected class name, found end of path");
        parse_fail("root//cimv2:C", 6, "column 6: empty namespace segment");
        parse_fail("/root:C", 1, "column 1: empty namespace segment");
        parse_fail(":C", 1, "column 1: expected namespace name");
        parse_fail("root:cimv2:C", 11,
                   "column 11: expected '.', '=' or end of path after class name, found ':'");
        parse_fail("root/cimv2", 5,
                   "column 5: expected '.', '=' or end of path after class name, found '/'");
        parse_fail("C.K=\x01", 5,
                   "column 5: expected a value (quoted string, number, TRUE or FALSE), found "
                   "byte 0x01");
}

static void test_length_limit(void **state) {
        (void)state;
        static char text[16386];
        /* 16384 bytes: accepted */
        memset(text, 'a', 16384);
        text[0] = 'C';
        memcpy(text + 1, ".K=\"", 4);
        text[16383] = '"';
        text[16384] = '\0';
        ObjectPath *p = parse_ok(text);
        assert_int_equal(strlen(p->keys[0].value.s), 16384 - 6);
        objpath_free(p);
        /* one more: refused at the first byte past the limit */
        text[16383] = 'a';
        text[16384] = '"';
        text[16385] = '\0';
        parse_fail(text, 16385, "column 16385: path longer than 16384 bytes");
}

static void test_namespace_normalize(void **state) {
        (void)state;
        static const struct {
                const char *in;
                const char *out;
        } cases[] = {
                { "root/cimv2", "root/cimv2" },
                { "ROOT\\CIMV2", "ROOT/CIMV2" },
                { "root", "root" },
                { "/root/cimv2/", "root/cimv2" },
                { "\\\\root\\", "root" },
                { "a_1/\xc3\xa9t\xc3\xa9", "a_1/\xc3\xa9t\xc3\xa9" },
                { "root//cimv2", NULL },
                { "", NULL },
                { "/", NULL },
                { "\\/", NULL },
                { "root/ci mv2", NULL },
                { "root:cimv2", NULL },
                { "root/cim-v2", NULL },
                { "root/./x", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                errno = 0;
                _cleanup_free_ char *n = namespace_normalize(cases[i].in);
                if (cases[i].out) {
                        assert_non_null(n);
                        assert_string_equal(n, cases[i].out);
                } else {
                        assert_null(n);
                        assert_int_equal(errno, EINVAL);
                }
        }
        errno = 0;
        assert_null(namespace_normalize(NULL));
        assert_int_equal(errno, EINVAL);
        mem_fail_at(1);
        errno = 0;
        assert_null(namespace_normalize("root"));
        assert_int_equal(errno, ENOMEM);
        mem_fail_at(0);
}

/* Allocation failure: parsing a long path with a server, a namespace and
 * keys of every kind, then printing it. */
static int alloc_operation(const char *text) {
        ObjectPath *p;
        int r = objpath_parse(text, &p, NULL);
        if (r != 0)
                return r;
        char *f = objpath_format(p);
        char *rel = objpath_format_relpath(p);
        objpath_free(p);
        if (!f || !rel) {
                mem_free(f);
                mem_free(rel);
                return -ENOMEM;
        }
        assert_string_equal(
                f, "//host/root/cimv2:Linux_Thing.a=1.5,B=\"x\\\"y\",c=-3,D=TRUE,"
                   "e=18446744073709551615,F="
                   "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
        mem_free(f);
        mem_free(rel);
        return 0;
}

static void test_alloc_failures(void **state) {
        (void)state;
        const char *text =
                "\\\\host\\root\\cimv2:Linux_Thing.F=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaa\","
                "e=18446744073709551615,D=true,c=-3,B=\"x\\\"y\",a=1.5";
        unsigned long n;
        for (n = 1;; n++) {
                mem_fail_at(n);
                int r = alloc_operation(text);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 0);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
        }
        assert_true(n > 15);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_forms),          cmocka_unit_test(test_round_trips),
                cmocka_unit_test(test_format),         cmocka_unit_test(test_errors),
                cmocka_unit_test(test_length_limit),   cmocka_unit_test(test_namespace_normalize),
                cmocka_unit_test(test_alloc_failures),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
