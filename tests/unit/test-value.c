/* Unit tests for CIM values (value.c) and datetimes (datetime.c): the type
 * table, constructors, copies, the conversion matrix with every range edge,
 * equality, display text, and DMTF datetime parsing and printing. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "class.h"
#include "cleanup.h"
#include "instance.h"
#include "mem.h"
#include "value.h"

/* Convert and expect success; returns the result. */
static Value conv_ok(const Value *v, CimType t, bool is_array) {
        Value out;
        Error err;
        error_clear(&err);
        int r = value_convert(v, t, is_array, &out, &err);
        if (r != 0)
                fail_msg("conversion to %s failed: %s", cim_type_name(t), err.message);
        assert_int_equal(out.type, t);
        assert_int_equal(out.is_array, is_array);
        return out;
}

/* Convert and expect WBEM_E_TYPE_MISMATCH with exactly this message. */
static void conv_fail(const Value *v, CimType t, bool is_array, const char *message) {
        Value out = value_bool(true);
        Error err;
        error_clear(&err);
        assert_int_equal(value_convert(v, t, is_array, &out, &err), WBEM_E_TYPE_MISMATCH);
        assert_int_equal(err.status, WBEM_E_TYPE_MISMATCH);
        if (message)
                assert_string_equal(err.message, message);
        /* ret untouched on failure */
        assert_int_equal(out.type, CIM_BOOLEAN);
        assert_true(out.b);
}

static Value str(const char *s) {
        Value v;
        assert_int_equal(value_string(s, &v), 0);
        return v;
}

static void test_type_table(void **state) {
        (void)state;
        for (int t = CIM_STRING; t < _CIM_TYPE_MAX; t++)
                assert_int_equal(cim_type_from_name(cim_type_name((CimType)t)), t);
        assert_int_equal(cim_type_from_name("UINT32"), CIM_UINT32);
        assert_int_equal(cim_type_from_name("DateTime"), CIM_DATETIME);
        assert_int_equal(cim_type_from_name("ref"), CIM_REFERENCE);
        assert_int_equal(cim_type_from_name("Reference"), CIM_REFERENCE);
        assert_int_equal(cim_type_from_name("object"), CIM_OBJECT);
        assert_int_equal(cim_type_from_name("int"), CIM_INVALID);
        assert_int_equal(cim_type_from_name(""), CIM_INVALID);
        assert_int_equal(cim_type_from_name(NULL), CIM_INVALID);
        assert_string_equal(cim_type_name(CIM_INVALID), "invalid");
        assert_string_equal(cim_type_name(_CIM_TYPE_MAX), "invalid");
        assert_string_equal(cim_type_name(CIM_REAL32), "real32");

        for (int t = CIM_INVALID; t < _CIM_TYPE_MAX; t++) {
                bool s = t == CIM_SINT8 || t == CIM_SINT16 || t == CIM_SINT32 || t == CIM_SINT64;
                bool u = t == CIM_UINT8 || t == CIM_UINT16 || t == CIM_UINT32 || t == CIM_UINT64;
                bool r = t == CIM_REAL32 || t == CIM_REAL64;
                assert_int_equal(cim_type_is_signed((CimType)t), s);
                assert_int_equal(cim_type_is_unsigned((CimType)t), u);
                assert_int_equal(cim_type_is_integer((CimType)t), s || u);
                assert_int_equal(cim_type_is_real((CimType)t), r);
                assert_int_equal(cim_type_is_numeric((CimType)t), s || u || r);
        }

        static const struct {
                CimType t;
                int64_t min;
                uint64_t max;
        } ranges[] = {
                { CIM_SINT8, INT8_MIN, INT8_MAX },
                { CIM_UINT8, 0, UINT8_MAX },
                { CIM_SINT16, INT16_MIN, INT16_MAX },
                { CIM_UINT16, 0, UINT16_MAX },
                { CIM_SINT32, INT32_MIN, INT32_MAX },
                { CIM_UINT32, 0, UINT32_MAX },
                { CIM_SINT64, INT64_MIN, INT64_MAX },
                { CIM_UINT64, 0, UINT64_MAX },
                { CIM_STRING, 0, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(ranges); i++) {
                int64_t min;
                uint64_t max;
                cim_type_int_range(ranges[i].t, &min, &max);
                assert_true(min == ranges[i].min);
                assert_true(max == ranges[i].max);
        }
        cim_type_int_range(CIM_UINT8, NULL, NULL); /* both optional */
}

static void test_constructors(void **state) {
        (void)state;
        Value v = value_null(CIM_UINT32, true);
        assert_int_equal(v.type, CIM_UINT32);
        assert_true(v.is_array);
        assert_true(v.is_null);

        v = value_bool(true);
        assert_int_equal(v.type, CIM_BOOLEAN);
        assert_false(v.is_null);
        assert_true(v.b);

        static const CimType st[] = { CIM_SINT8, CIM_SINT16, CIM_SINT32, CIM_SINT64 };
        for (size_t i = 0; i < ELEMENTSOF(st); i++) {
                v = value_sint(st[i], -5);
                assert_int_equal(v.type, st[i]);
                assert_false(v.is_null || v.is_array);
                assert_true(v.i == -5);
        }
        static const CimType ut[] = { CIM_UINT8, CIM_UINT16, CIM_UINT32, CIM_UINT64 };
        for (size_t i = 0; i < ELEMENTSOF(ut); i++) {
                v = value_uint(ut[i], 7);
                assert_int_equal(v.type, ut[i]);
                assert_true(v.u == 7);
        }
        v = value_real(CIM_REAL64, 0.1);
        assert_true(v.r == 0.1);
        v = value_real(CIM_REAL32, 0.1);
        assert_true(v.r == (double)0.1f); /* rounded to float precision */

        CimDatetime dt = cim_datetime_from_unix_usec(1234567, -60);
        assert_false(dt.is_interval);
        assert_int_equal(dt.utc_offset_min, -60);
        assert_true(dt.usec == 1234567);
        v = value_datetime(dt);
        assert_int_equal(v.type, CIM_DATETIME);
        assert_true(v.dt.usec == 1234567);

        const char *text = "hello";
        assert_int_equal(value_string(text, &v), 0);
        assert_int_equal(v.type, CIM_STRING);
        assert_string_equal(v.s, "hello");
        assert_ptr_not_equal(v.s, text);
        value_clear(&v);
        assert_true(v.is_null);
        assert_int_equal(v.type, CIM_STRING);
        value_clear(&v); /* clearing NULL is harmless */

        assert_int_equal(value_string(NULL, &v), 0);
        assert_true(v.is_null);

        assert_int_equal(value_reference("Foo.Id=1", &v), 0);
        assert_int_equal(v.type, CIM_REFERENCE);
        assert_string_equal(v.s, "Foo.Id=1");
        value_clear(&v);

        assert_int_equal(value_array_new(CIM_STRING, 3, &v), 0);
        assert_true(v.is_array);
        assert_false(v.is_null);
        assert_int_equal(v.arr->count, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_true(v.arr->items[i].is_null);
                assert_int_equal(v.arr->items[i].type, CIM_STRING);
                assert_false(v.arr->items[i].is_array);
        }
        assert_int_equal(value_string("x", &v.arr->items[1]), 0);
        value_clear(&v);
        assert_true(v.is_null && v.is_array);

        assert_int_equal(value_array_new(CIM_UINT8, 0, &v), 0);
        assert_int_equal(v.arr->count, 0);
        value_clear(&v);
        assert_int_equal(value_array_new(CIM_UINT8, SIZE_MAX / 4, &v), -ENOMEM);

        mem_fail_at(1);
        v = value_bool(true);
        assert_int_equal(value_string("abc", &v), -ENOMEM);
        assert_int_equal(v.type, CIM_BOOLEAN); /* untouched */
        mem_fail_at(1);
        assert_int_equal(value_reference("abc", &v), -ENOMEM);
        mem_fail_at(1);
        assert_int_equal(value_array_new(CIM_STRING, 2, &v), -ENOMEM);
        mem_fail_at(0);
}

static int make_object(Instance **ret) {
        CimClass *def, *cls;
        Value dv = value_uint(CIM_UINT32, 7);
        assert_int_equal(class_new("Obj", NULL, &def, NULL), 0);
        assert_int_equal(class_add_property(def, "N", CIM_UINT32, false, true, &dv, NULL), 0);
        assert_int_equal(class_derive(def, NULL, &cls, NULL), 0);
        class_unref(def);
        int r = instance_new(cls, ret);
        class_unref(cls);
        return r;
}

static void test_copy_and_objects(void **state) {
        (void)state;
        Instance *obj;
        assert_int_equal(make_object(&obj), 0);
        assert_int_equal(obj->refcount, 1);

        Value o = value_object(obj);
        assert_int_equal(obj->refcount, 2);
        Value o2;
        assert_int_equal(value_copy(&o, &o2), 0);
        assert_ptr_equal(o2.obj, obj); /* shared, not copied */
        assert_int_equal(obj->refcount, 3);
        assert_true(value_equal(&o, &o2));
        value_clear(&o2);
        assert_int_equal(obj->refcount, 2);

        Value n = value_object(NULL);
        assert_true(n.is_null);
        assert_int_equal(n.type, CIM_OBJECT);

        Value arr;
        assert_int_equal(value_array_new(CIM_STRING, 2, &arr), 0);
        assert_int_equal(value_string("a", &arr.arr->items[0]), 0);
        Value copy;
        assert_int_equal(value_copy(&arr, &copy), 0);
        assert_ptr_not_equal(copy.arr, arr.arr);
        assert_ptr_not_equal(copy.arr->items[0].s, arr.arr->items[0].s);
        assert_string_equal(copy.arr->items[0].s, "a");
        assert_true(copy.arr->items[1].is_null);
        assert_true(value_equal(&arr, &copy));
        value_clear(&copy);

        Value null_arr = value_null(CIM_STRING, true);
        assert_int_equal(value_copy(&null_arr, &copy), 0);
        assert_true(copy.is_null && copy.is_array);

        Value dt = value_datetime(cim_datetime_from_unix_usec(5, 0));
        assert_int_equal(value_copy(&dt, &copy), 0);
        assert_true(copy.dt.usec == 5);

        Value s = str("text");
        assert_int_equal(value_copy(&s, &copy), 0);
        assert_ptr_not_equal(copy.s, s.s);
        value_clear(&copy);
        value_clear(&s);

        value_clear(&arr);
        value_clear(&o);
        assert_int_equal(obj->refcount, 1);
        instance_unref(obj);
}

/* Integer conversions at every range edge: for each target, its min and
 * max convert from sint64, uint64 and string; one past either end fails
 * with the documented message. */
static void test_convert_integer_edges(void **state) {
        (void)state;
        static const CimType ints[] = { CIM_SINT8,  CIM_UINT8,  CIM_SINT16, CIM_UINT16,
                                        CIM_SINT32, CIM_UINT32, CIM_SINT64, CIM_UINT64 };
        for (size_t k = 0; k < ELEMENTSOF(ints); k++) {
                CimType t = ints[k];
                int64_t min;
                uint64_t max;
                char msg[128], text[32];
                cim_type_int_range(t, &min, &max);

                /* max from uint64, and from sint64 when it fits */
                Value v = value_uint(CIM_UINT64, max);
                Value out = conv_ok(&v, t, false);
                if (cim_type_is_signed(t))
                        assert_true((uint64_t)out.i == max);
                else
                        assert_true(out.u == max);
                if (max <= INT64_MAX) {
                        v = value_sint(CIM_SINT64, (int64_t)max);
                        out = conv_ok(&v, t, false);
                }
                /* max + 1 */
                if (max < UINT64_MAX) {
                        v = value_uint(CIM_UINT64, max + 1);
                        snprintf(msg, sizeof(msg), "value '%llu' out of range for %s",
                                 (unsigned long long)(max + 1), cim_type_name(t));
                        conv_fail(&v, t, false, msg);
                        snprintf(text, sizeof(text), "%llu", (unsigned long long)(max + 1));
                        Value s = str(text);
                        conv_fail(&s, t, false, msg);
                        value_clear(&s);
                }
                /* max as a string */
                snprintf(text, sizeof(text), "%llu", (unsigned long long)max);
                Value s = str(text);
                out = conv_ok(&s, t, false);
                value_clear(&s);

                /* min */
                v = value_sint(CIM_SINT64, min);
                out = conv_ok(&v, t, false);
                if (cim_type_is_signed(t))
                        assert_true(out.i == min);
                else
                        assert_true(out.u == 0);
                snprintf(text, sizeof(text), "%lld", (long long)min);
                s = str(text);
                out = conv_ok(&s, t, false);
                value_clear(&s);
                /* min - 1 */
                if (min > INT64_MIN) {
                        v = value_sint(CIM_SINT64, min - 1);
                        snprintf(msg, sizeof(msg), "value '%lld' out of range for %s",
                                 (long long)(min - 1), cim_type_name(t));
                        conv_fail(&v, t, false, msg);
                        snprintf(text, sizeof(text), "%lld", (long long)(min - 1));
                        s = str(text);
                        conv_fail(&s, t, false, msg);
                        value_clear(&s);
                }
                /* every source integer type converts a small value */
                for (size_t j = 0; j < ELEMENTSOF(ints); j++) {
                        Value src = cim_type_is_signed(ints[j]) ? value_sint(ints[j], 42)
                                                                : value_uint(ints[j], 42);
                        out = conv_ok(&src, t, false);
                        if (cim_type_is_signed(t))
                                assert_true(out.i == 42);
                        else
                                assert_true(out.u == 42);
                }
        }

        Value v = value_uint(CIM_UINT8, 200);
        conv_fail(&v, CIM_SINT8, false, "value '200' out of range for sint8");
        v = value_sint(CIM_SINT32, 300);
        conv_fail(&v, CIM_UINT8, false, "value '300' out of range for uint8");
        v = value_sint(CIM_SINT64, -1);
        conv_fail(&v, CIM_UINT64, false, "value '-1' out of range for uint64");
        v = value_uint(CIM_UINT64, UINT64_MAX);
        conv_fail(&v, CIM_SINT64, false, "value '18446744073709551615' out of range for sint64");
        v = value_sint(CIM_SINT64, INT64_MIN);
        conv_fail(&v, CIM_UINT8, false, "value '-9223372036854775808' out of range for uint8");
}

static void test_convert_string_to_integer(void **state) {
        (void)state;
        static const struct {
                const char *text;
                CimType t;
                int result; /* 0 ok, 1 not valid, 2 out of range */
                int64_t i;
                uint64_t u;
        } cases[] = {
                { "18446744073709551615", CIM_UINT64, 0, 0, UINT64_MAX },
                { "18446744073709551616", CIM_UINT64, 2, 0, 0 },
                { "99999999999999999999999", CIM_UINT64, 2, 0, 0 },
                { "-99999999999999999999999", CIM_SINT64, 2, 0, 0 },
                { "-9223372036854775808", CIM_SINT64, 0, INT64_MIN, 0 },
                { "-9223372036854775809", CIM_SINT64, 2, 0, 0 },
                { "9223372036854775807", CIM_SINT64, 0, INT64_MAX, 0 },
                { "9223372036854775808", CIM_SINT64, 2, 0, 0 },
                { "+5", CIM_UINT8, 0, 0, 5 },
                { "-0", CIM_UINT8, 0, 0, 0 },
                { "007", CIM_SINT16, 0, 7, 0 },
                { "-1", CIM_UINT32, 2, 0, 0 },
                { "", CIM_UINT32, 1, 0, 0 },
                { "+", CIM_UINT32, 1, 0, 0 },
                { "-", CIM_SINT32, 1, 0, 0 },
                { "12a", CIM_UINT32, 1, 0, 0 },
                { " 1", CIM_UINT32, 1, 0, 0 },
                { "1 ", CIM_UINT32, 1, 0, 0 },
                { "0x10", CIM_UINT32, 1, 0, 0 },
                { "1.0", CIM_UINT32, 1, 0, 0 },
                { "1e3", CIM_UINT32, 1, 0, 0 },
                { "--1", CIM_SINT32, 1, 0, 0 },
        };
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                Value s = str(cases[k].text);
                if (cases[k].result == 0) {
                        Value out = conv_ok(&s, cases[k].t, false);
                        if (cim_type_is_signed(cases[k].t))
                                assert_true(out.i == cases[k].i);
                        else
                                assert_true(out.u == cases[k].u);
                } else {
                        char msg[128];
                        snprintf(msg, sizeof(msg),
                                 cases[k].result == 1 ? "value '%s' is not a valid %s"
                                                      : "value '%s' out of range for %s",
                                 cases[k].text, cim_type_name(cases[k].t));
                        conv_fail(&s, cases[k].t, false, msg);
                }
                value_clear(&s);
        }
        /* long strings are cut short in messages */
        char long_text[200];
        memset(long_text, '9', sizeof(long_text) - 1);
        long_text[sizeof(long_text) - 1] = '\0';
        Value s = str(long_text);
        Value out;
        Error err;
        assert_int_equal(value_convert(&s, CIM_UINT8, false, &out, &err), WBEM_E_TYPE_MISMATCH);
        assert_non_null(strstr(err.message, "...' out of range for uint8"));
        assert_true(strlen(err.message) < 120);
        value_clear(&s);
}

static void test_convert_reals(void **state) {
        (void)state;
        Value v, out;

        /* real -> integer: integral and in range only */
        v = value_real(CIM_REAL64, 255.0);
        out = conv_ok(&v, CIM_UINT8, false);
        assert_true(out.u == 255);
        v = value_real(CIM_REAL64, 256.0);
        conv_fail(&v, CIM_UINT8, false, "value '256' out of range for uint8");
        v = value_real(CIM_REAL64, -1.0);
        conv_fail(&v, CIM_UINT8, false, "value '-1' out of range for uint8");
        v = value_real(CIM_REAL64, -0.0);
        out = conv_ok(&v, CIM_UINT8, false);
        assert_true(out.u == 0);
        v = value_real(CIM_REAL64, 1.5);
        conv_fail(&v, CIM_SINT32, false, "value '1.5' is not a valid sint32");
        v = value_real(CIM_REAL64, -128.0);
        out = conv_ok(&v, CIM_SINT8, false);
        assert_true(out.i == -128);
        v = value_real(CIM_REAL64, -129.0);
        conv_fail(&v, CIM_SINT8, false, "value '-129' out of range for sint8");
        v = value_real(CIM_REAL64, 18446744073709551616.0); /* 2^64 */
        conv_fail(&v, CIM_UINT64, false, "value '1.8446744073709552e+19' out of range for uint64");
        v = value_real(CIM_REAL64, 18446744073709549568.0); /* largest double below 2^64 */
        out = conv_ok(&v, CIM_UINT64, false);
        assert_true(out.u == UINT64_C(18446744073709549568));
        v = value_real(CIM_REAL64, 9223372036854775808.0); /* 2^63 */
        conv_fail(&v, CIM_SINT64, false, "value '9.223372036854776e+18' out of range for sint64");
        v = value_real(CIM_REAL64, -9223372036854775808.0);
        out = conv_ok(&v, CIM_SINT64, false);
        assert_true(out.i == INT64_MIN);
        v = value_real(CIM_REAL64, -1e300);
        conv_fail(&v, CIM_SINT64, false, "value '-1e+300' out of range for sint64");
        v = value_real(CIM_REAL64, NAN);
        conv_fail(&v, CIM_SINT32, false, "value 'NaN' is not a valid sint32");
        v = value_real(CIM_REAL64, INFINITY);
        conv_fail(&v, CIM_UINT64, false, "value 'Infinity' is not a valid uint64");
        v = value_real(CIM_REAL32, -INFINITY);
        conv_fail(&v, CIM_SINT64, false, "value '-Infinity' is not a valid sint64");

        /* integer -> real */
        v = value_uint(CIM_UINT64, UINT64_MAX);
        out = conv_ok(&v, CIM_REAL64, false);
        assert_true(out.r == 18446744073709551616.0);
        out = conv_ok(&v, CIM_REAL32, false);
        assert_true(out.r == (double)18446744073709551616.0f);
        v = value_sint(CIM_SINT8, -3);
        out = conv_ok(&v, CIM_REAL64, false);
        assert_true(out.r == -3.0);

        /* real -> real: real32 range, NaN and inf kept */
        v = value_real(CIM_REAL64, 0.1);
        out = conv_ok(&v, CIM_REAL32, false);
        assert_true(out.r == (double)0.1f);
        v = value_real(CIM_REAL64, (double)FLT_MAX);
        out = conv_ok(&v, CIM_REAL32, false);
        assert_true(out.r == (double)FLT_MAX);
        v = value_real(CIM_REAL64, 1e39);
        conv_fail(&v, CIM_REAL32, false, "value '1e+39' out of range for real32");
        v = value_real(CIM_REAL64, -1e39);
        conv_fail(&v, CIM_REAL32, false, "value '-1e+39' out of range for real32");
        v = value_real(CIM_REAL64, NAN);
        out = conv_ok(&v, CIM_REAL32, false);
        assert_true(isnan(out.r));
        v = value_real(CIM_REAL64, -INFINITY);
        out = conv_ok(&v, CIM_REAL32, false);
        assert_true(isinf(out.r) && out.r < 0);
        v = value_real(CIM_REAL32, 1.5);
        out = conv_ok(&v, CIM_REAL64, false);
        assert_true(out.r == 1.5);
        v = value_real(CIM_REAL64, 1e-300); /* underflows to 0 in float: allowed */
        out = conv_ok(&v, CIM_REAL32, false);
        assert_true(out.r == 0.0);

        /* string -> real */
        static const struct {
                const char *text;
                CimType t;
                int result;
                double d;
        } cases[] = {
                { "1.5", CIM_REAL64, 0, 1.5 },    { "-2e3", CIM_REAL64, 0, -2000.0 },
                { "+.5", CIM_REAL64, 0, 0.5 },    { "7", CIM_REAL32, 0, 7.0 },
                { "1E-2", CIM_REAL64, 0, 0.01 },  { "1e400", CIM_REAL64, 2, 0 },
                { "-1e400", CIM_REAL64, 2, 0 },   { "1e39", CIM_REAL32, 2, 0 },
                { "1e-400", CIM_REAL64, 0, 0.0 }, { "nan", CIM_REAL64, 1, 0 },
                { "NaN", CIM_REAL64, 1, 0 },      { "inf", CIM_REAL64, 1, 0 },
                { "Infinity", CIM_REAL32, 1, 0 }, { "0x1p3", CIM_REAL64, 1, 0 },
                { "1e", CIM_REAL64, 1, 0 },       { "1e+", CIM_REAL64, 1, 0 },
                { "", CIM_REAL64, 1, 0 },         { ".", CIM_REAL64, 1, 0 },
                { "-", CIM_REAL64, 1, 0 },        { "1.5x", CIM_REAL64, 1, 0 },
                { " 1", CIM_REAL64, 1, 0 },       { "1.", CIM_REAL64, 0, 1.0 },
        };
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                Value s = str(cases[k].text);
                if (cases[k].result == 0) {
                        out = conv_ok(&s, cases[k].t, false);
                        assert_true(out.r == (cases[k].t == CIM_REAL32 ? (double)(float)cases[k].d
                                                                       : cases[k].d));
                } else {
                        char msg[128];
                        snprintf(msg, sizeof(msg),
                                 cases[k].result == 1 ? "value '%s' is not a valid %s"
                                                      : "value '%s' out of range for %s",
                                 cases[k].text, cim_type_name(cases[k].t));
                        conv_fail(&s, cases[k].t, false, msg);
                }
                value_clear(&s);
        }
}

static void test_convert_other_types(void **state) {
        (void)state;
        Value v, out;

        /* boolean: from boolean, or "true"/"false" in any case */
        v = value_bool(false);
        out = conv_ok(&v, CIM_BOOLEAN, false);
        assert_false(out.b);
        static const char *const trues[] = { "true", "TRUE", "True" };
        for (size_t i = 0; i < ELEMENTSOF(trues); i++) {
                v = str(trues[i]);
                out = conv_ok(&v, CIM_BOOLEAN, false);
                assert_true(out.b);
                value_clear(&v);
        }
        v = str("FaLsE");
        out = conv_ok(&v, CIM_BOOLEAN, false);
        assert_false(out.b);
        value_clear(&v);
        v = str("yes");
        conv_fail(&v, CIM_BOOLEAN, false, "value 'yes' is not a valid boolean");
        value_clear(&v);
        v = str("1");
        conv_fail(&v, CIM_BOOLEAN, false, "value '1' is not a valid boolean");
        value_clear(&v);
        v = value_uint(CIM_UINT8, 1);
        conv_fail(&v, CIM_BOOLEAN, false, "cannot convert uint8 to boolean");
        v = value_real(CIM_REAL64, 0);
        conv_fail(&v, CIM_BOOLEAN, false, "cannot convert real64 to boolean");
        v = value_bool(true);
        conv_fail(&v, CIM_UINT32, false, "cannot convert boolean to uint32");
        conv_fail(&v, CIM_REAL64, false, "cannot convert boolean to real64");
        conv_fail(&v, CIM_STRING, false, "cannot convert boolean to string");

        /* string <- string, reference, datetime */
        v = str("abc");
        out = conv_ok(&v, CIM_STRING, false);
        assert_string_equal(out.s, "abc");
        assert_ptr_not_equal(out.s, v.s);
        value_clear(&out);
        out = conv_ok(&v, CIM_REFERENCE, false);
        assert_string_equal(out.s, "abc");
        Value back = conv_ok(&out, CIM_STRING, false);
        assert_string_equal(back.s, "abc");
        value_clear(&back);
        back = conv_ok(&out, CIM_REFERENCE, false);
        assert_string_equal(back.s, "abc");
        value_clear(&back);
        value_clear(&out);
        value_clear(&v);
        v = str("");
        conv_fail(&v, CIM_REFERENCE, false, "value '' is not a valid reference");
        out = conv_ok(&v, CIM_STRING, false);
        assert_string_equal(out.s, "");
        value_clear(&out);
        value_clear(&v);
        v = value_uint(CIM_UINT32, 5);
        conv_fail(&v, CIM_STRING, false, "cannot convert uint32 to string");
        conv_fail(&v, CIM_REFERENCE, false, "cannot convert uint32 to reference");
        conv_fail(&v, CIM_DATETIME, false, "cannot convert uint32 to datetime");
        conv_fail(&v, CIM_OBJECT, false, "cannot convert uint32 to object");

        /* datetime */
        v = str("20240229123456.123456+060");
        out = conv_ok(&v, CIM_DATETIME, false);
        assert_false(out.dt.is_interval);
        assert_int_equal(out.dt.utc_offset_min, 60);
        value_clear(&v);
        Value dtext = conv_ok(&out, CIM_STRING, false);
        assert_string_equal(dtext.s, "20240229123456.123456+060");
        value_clear(&dtext);
        Value same = conv_ok(&out, CIM_DATETIME, false);
        assert_true(value_equal(&same, &out));
        conv_fail(&out, CIM_REFERENCE, false, "cannot convert datetime to reference");
        conv_fail(&out, CIM_UINT64, false, "cannot convert datetime to uint64");
        v = str("20230229123456.123456+060");
        conv_fail(&v, CIM_DATETIME, false,
                  "value '20230229123456.123456+060' is not a valid datetime (invalid datetime "
                  "'20230229123456.123456+060': day 29 out of range 01-28 for 2023-02)");
        value_clear(&v);

        /* objects */
        Instance *obj;
        assert_int_equal(make_object(&obj), 0);
        v = value_object(obj);
        out = conv_ok(&v, CIM_OBJECT, false);
        assert_ptr_equal(out.obj, obj);
        assert_int_equal(obj->refcount, 3);
        value_clear(&out);
        conv_fail(&v, CIM_STRING, false, "cannot convert object to string");
        value_clear(&v);
        instance_unref(obj);
        v = str("x");
        conv_fail(&v, CIM_OBJECT, false, "cannot convert string to object");
        value_clear(&v);

        /* NULL converts to NULL of the target, whatever its type */
        v = value_null(CIM_STRING, false);
        out = conv_ok(&v, CIM_UINT8, false);
        assert_true(out.is_null);
        out = conv_ok(&v, CIM_UINT8, true);
        assert_true(out.is_null && out.is_array);

        /* invalid target type */
        v = value_bool(true);
        conv_fail(&v, CIM_INVALID, false, "cannot convert boolean to invalid");
        conv_fail(&v, _CIM_TYPE_MAX, false, "cannot convert boolean to invalid");
        v = value_null(CIM_INVALID, false);
        conv_fail(&v, CIM_INVALID, false, NULL);
}

static void test_convert_arrays(void **state) {
        (void)state;
        Value a, out;
        assert_int_equal(value_array_new(CIM_STRING, 3, &a), 0);
        assert_int_equal(value_string("1", &a.arr->items[0]), 0);
        assert_int_equal(value_string("255", &a.arr->items[2]), 0);
        out = conv_ok(&a, CIM_UINT8, true);
        assert_int_equal(out.arr->count, 3);
        assert_true(out.arr->items[0].u == 1);
        assert_true(out.arr->items[1].is_null);
        assert_int_equal(out.arr->items[1].type, CIM_UINT8);
        assert_true(out.arr->items[2].u == 255);
        value_clear(&out);

        conv_fail(&a, CIM_SINT8, true, "item 2: value '255' out of range for sint8");
        conv_fail(&a, CIM_UINT8, false, "cannot convert string[] to uint8");
        Value s = str("1");
        conv_fail(&s, CIM_UINT8, true, "cannot convert string to uint8[]");
        value_clear(&s);

        out = conv_ok(&a, CIM_STRING, true);
        assert_true(value_equal(&out, &a));
        value_clear(&out);
        value_clear(&a);

        assert_int_equal(value_array_new(CIM_SINT32, 0, &a), 0);
        out = conv_ok(&a, CIM_REAL64, true);
        assert_int_equal(out.arr->count, 0);
        value_clear(&out);
        value_clear(&a);
}

static void test_equal(void **state) {
        (void)state;
        Value a, b;
        a = value_null(CIM_UINT8, false);
        b = value_null(CIM_UINT8, false);
        assert_true(value_equal(&a, &b));
        b = value_uint(CIM_UINT8, 0);
        assert_false(value_equal(&a, &b));
        assert_false(value_equal(&b, &a));
        a = value_uint(CIM_UINT8, 0);
        assert_true(value_equal(&a, &b));
        a = value_uint(CIM_UINT16, 0);
        assert_false(value_equal(&a, &b)); /* different types */
        a = value_null(CIM_UINT8, true);
        b = value_null(CIM_UINT8, false);
        assert_false(value_equal(&a, &b));

        a = value_sint(CIM_SINT64, -1);
        b = value_sint(CIM_SINT64, -1);
        assert_true(value_equal(&a, &b));
        b = value_sint(CIM_SINT64, 1);
        assert_false(value_equal(&a, &b));
        a = value_bool(true);
        b = value_bool(false);
        assert_false(value_equal(&a, &b));
        b = value_bool(true);
        assert_true(value_equal(&a, &b));

        a = value_real(CIM_REAL64, NAN);
        b = value_real(CIM_REAL64, NAN);
        assert_true(value_equal(&a, &b));
        b = value_real(CIM_REAL64, 1.0);
        assert_false(value_equal(&a, &b));
        a = value_real(CIM_REAL64, 0.0);
        b = value_real(CIM_REAL64, -0.0);
        assert_true(value_equal(&a, &b));

        a = str("abc");
        b = str("ABC");
        assert_false(value_equal(&a, &b)); /* exact */
        value_clear(&b);
        b = str("abc");
        assert_true(value_equal(&a, &b));
        value_clear(&a);
        value_clear(&b);

        /* datetimes compare the instant, not the offset it was written with */
        Error err;
        CimDatetime x, y;
        assert_int_equal(cim_datetime_parse("20240101120000.000000+000", &x, &err), 0);
        assert_int_equal(cim_datetime_parse("20240101130000.000000+060", &y, &err), 0);
        a = value_datetime(x);
        b = value_datetime(y);
        assert_true(value_equal(&a, &b));
        y.is_interval = true;
        b = value_datetime(y);
        assert_false(value_equal(&a, &b));

        Value arr1, arr2;
        assert_int_equal(value_array_new(CIM_UINT32, 2, &arr1), 0);
        assert_int_equal(value_array_new(CIM_UINT32, 2, &arr2), 0);
        arr1.arr->items[0] = value_uint(CIM_UINT32, 1);
        arr2.arr->items[0] = value_uint(CIM_UINT32, 1);
        assert_true(value_equal(&arr1, &arr2));
        arr2.arr->items[1] = value_uint(CIM_UINT32, 2);
        assert_false(value_equal(&arr1, &arr2));
        value_clear(&arr2);
        assert_int_equal(value_array_new(CIM_UINT32, 1, &arr2), 0);
        assert_false(value_equal(&arr1, &arr2));
        value_clear(&arr1);
        value_clear(&arr2);

        /* objects compare deeply */
        Instance *o1, *o2;
        assert_int_equal(make_object(&o1), 0);
        assert_int_equal(make_object(&o2), 0);
        a = value_object(o1);
        b = value_object(o2);
        assert_true(value_equal(&a, &b));
        Value n = value_uint(CIM_UINT32, 8);
        assert_int_equal(instance_set(o2, "N", &n, NULL), 0);
        assert_false(value_equal(&a, &b));
        value_clear(&a);
        value_clear(&b);
        instance_unref(o1);
        instance_unref(o2);
}

static void check_text(const Value *v, const char *expected) {
        _cleanup_free_ char *t = value_to_text(v);
        assert_non_null(t);
        assert_string_equal(t, expected);
}

static void test_to_text(void **state) {
        (void)state;
        Value v = value_null(CIM_STRING, false);
        check_text(&v, "NULL");
        v = value_null(CIM_STRING, true);
        check_text(&v, "NULL");
        v = value_bool(true);
        check_text(&v, "TRUE");
        v = value_bool(false);
        check_text(&v, "FALSE");
        v = value_sint(CIM_SINT64, INT64_MIN);
        check_text(&v, "-9223372036854775808");
        v = value_sint(CIM_SINT8, -5);
        check_text(&v, "-5");
        v = value_uint(CIM_UINT64, UINT64_MAX);
        check_text(&v, "18446744073709551615");
        v = value_uint(CIM_UINT16, 42);
        check_text(&v, "42");
        v = value_real(CIM_REAL64, 0.1);
        check_text(&v, "0.1");
        v = value_real(CIM_REAL32, 0.1);
        check_text(&v, "0.1");
        v = value_real(CIM_REAL64, (double)0.1f);
        check_text(&v, "0.10000000149011612");
        v = value_real(CIM_REAL64, 1.0 / 3.0);
        check_text(&v, "0.3333333333333333");
        v = value_real(CIM_REAL64, 1e300);
        check_text(&v, "1e+300");
        v = value_real(CIM_REAL64, -2.5);
        check_text(&v, "-2.5");
        v = value_real(CIM_REAL64, 100);
        check_text(&v, "100");
        v = value_real(CIM_REAL64, NAN);
        check_text(&v, "NaN");
        v = value_real(CIM_REAL64, INFINITY);
        check_text(&v, "Infinity");
        v = value_real(CIM_REAL32, -INFINITY);
        check_text(&v, "-Infinity");
        v = value_datetime(cim_datetime_from_unix_usec(0, 0));
        check_text(&v, "19700101000000.000000+000");
        v = str("a \"b\"");
        check_text(&v, "a \"b\"");
        value_clear(&v);
        assert_int_equal(value_reference("X.Id=1", &v), 0);
        check_text(&v, "X.Id=1");
        value_clear(&v);

        assert_int_equal(value_array_new(CIM_STRING, 3, &v), 0);
        check_text(&v, "{NULL,NULL,NULL}");
        assert_int_equal(value_string("a", &v.arr->items[0]), 0);
        assert_int_equal(value_string("b", &v.arr->items[2]), 0);
        check_text(&v, "{a,NULL,b}");
        value_clear(&v);
        assert_int_equal(value_array_new(CIM_UINT8, 0, &v), 0);
        check_text(&v, "{}");
        value_clear(&v);

        Instance *obj;
        assert_int_equal(make_object(&obj), 0);
        v = value_object(obj);
        check_text(&v, "instance of Obj");
        value_clear(&v);
        instance_unref(obj);

        v = value_uint(CIM_UINT8, 1);
        mem_fail_at(1);
        assert_null(value_to_text(&v));
        mem_fail_at(0);
}

/* --- datetimes --- */

static void dt_ok(const char *text, bool is_interval, int16_t offset, int64_t usec) {
        CimDatetime dt;
        Error err;
        error_clear(&err);
        if (cim_datetime_parse(text, &dt, &err) != 0)
                fail_msg("%s: %s", text, err.message);
        assert_int_equal(dt.is_interval, is_interval);
        assert_int_equal(dt.utc_offset_min, offset);
        assert_true(dt.usec == usec);
        char buf[26];
        cim_datetime_format(&dt, buf);
        assert_string_equal(buf, text);
}

static void dt_fail(const char *text, const char *message) {
        CimDatetime dt = { .usec = 77 };
        Error err;
        error_clear(&err);
        assert_int_equal(cim_datetime_parse(text, &dt, &err), WBEM_E_INVALID_PARAMETER);
        assert_string_equal(err.message, message);
        assert_true(dt.usec == 77);
}

static void test_datetime_parse_format(void **state) {
        (void)state;
        const int64_t S = 1000000, D = 86400 * S;
        dt_ok("19700101000000.000000+000", false, 0, 0);
        dt_ok("19700101000000.000001+000", false, 0, 1);
        dt_ok("19700101010000.000000+060", false, 60, 0);
        dt_ok("19691231170000.000000-420", false, -420, 0);
        dt_ok("19691231235959.999999+000", false, 0, -1);
        dt_ok("20000229000000.000000+000", false, 0, 11016 * D);
        dt_ok("20240229123456.654321+000", false, 0,
              19782 * D + (12 * 3600 + 34 * 60 + 56) * S + 654321);
        CimDatetime minus_zero; /* "-000" is UTC too, printed "+000" */
        assert_int_equal(cim_datetime_parse("20240229123456.654321-000", &minus_zero, NULL), 0);
        assert_int_equal(minus_zero.utc_offset_min, 0);
        dt_ok("00010101000000.000000+000", false, 0, -719162 * D);
        dt_ok("99991231235959.999999+000", false, 0, 2932897 * D - 1);
        dt_ok("20261126083000.000000+840", false, 840,
              20783 * D + (8 * 3600 + 1800 - 840 * 60) * S);
        dt_ok("20261126083000.000000-840", false, -840,
              20783 * D + (8 * 3600 + 1800 + 840 * 60) * S);
        /* leap years: divisible by 4, not by 100 unless by 400 */
        dt_ok("19960229000000.000000+000", false, 0, 9555 * D);
        dt_ok("24000229000000.000000+000", false, 0, 157113 * D);
        /* intervals */
        dt_ok("00000000000000.000000:000", true, 0, 0);
        dt_ok("00000001020304.000005:000", true, 0, D + (2 * 3600 + 3 * 60 + 4) * S + 5);
        dt_ok("99999999235959.999999:000", true, 0, 100000000 * D - 1);

        /* every field out of range, or not digits */
        dt_fail("2024010112000.000000+000",
                "invalid datetime '2024010112000.000000+000': expected 25 characters, got 24");
        dt_fail("", "invalid datetime '': expected 25 characters, got 0");
        dt_fail("202401011200000.000000+000",
                "invalid datetime '202401011200000.000000+000': expected 25 characters, got 26");
        dt_fail("2024****120000.000000+000",
                "invalid datetime '2024****120000.000000+000': wildcards ('*') are not supported");
        dt_fail("20240101120000,000000+000",
                "invalid datetime '20240101120000,000000+000': expected '.' at position 15");
        dt_fail("00000101000000.000000+000",
                "invalid datetime '00000101000000.000000+000': year 0000 out of range 0001-9999");
        dt_fail("2a240101000000.000000+000",
                "invalid datetime '2a240101000000.000000+000': year must be 4 digits");
        dt_fail("20240001000000.000000+000",
                "invalid datetime '20240001000000.000000+000': month 00 out of range 01-12");
        dt_fail("20241301000000.000000+000",
                "invalid datetime '20241301000000.000000+000': month 13 out of range 01-12");
        dt_fail("2024-101000000.000000+000",
                "invalid datetime '2024-101000000.000000+000': month must be 2 digits");
        dt_fail("20240100000000.000000+000", "invalid datetime '20240100000000.000000+000': day 00 "
                                             "out of range 01-31 for 2024-01");
        dt_fail("20240132000000.000000+000", "invalid datetime '20240132000000.000000+000': day 32 "
                                             "out of range 01-31 for 2024-01");
        dt_fail("20240431000000.000000+000", "invalid datetime '20240431000000.000000+000': day 31 "
                                             "out of range 01-30 for 2024-04");
        dt_fail("20230229000000.000000+000", "invalid datetime '20230229000000.000000+000': day 29 "
                                             "out of range 01-28 for 2023-02");
        dt_fail("19000229000000.000000+000", "invalid datetime '19000229000000.000000+000': day 29 "
                                             "out of range 01-28 for 1900-02");
        dt_fail("20240230000000.000000+000", "invalid datetime '20240230000000.000000+000': day 30 "
                                             "out of range 01-29 for 2024-02");
        dt_fail("202401x1000000.000000+000",
                "invalid datetime '202401x1000000.000000+000': day must be 2 digits");
        dt_fail("20240101240000.000000+000",
                "invalid datetime '20240101240000.000000+000': hours 24 out of range 00-23");
        dt_fail("20240101006000.000000+000",
                "invalid datetime '20240101006000.000000+000': minutes 60 out of range 00-59");
        dt_fail("20240101000060.000000+000",
                "invalid datetime '20240101000060.000000+000': seconds 60 out of range 00-59");
        dt_fail("20240101 10000.000000+000",
                "invalid datetime '20240101 10000.000000+000': hours must be 2 digits");
        dt_fail("20240101000a00.000000+000",
                "invalid datetime '20240101000a00.000000+000': minutes must be 2 digits");
        dt_fail("2024010100000a.000000+000",
                "invalid datetime '2024010100000a.000000+000': seconds must be 2 digits");
        dt_fail("20240101000000.00000a+000",
                "invalid datetime '20240101000000.00000a+000': microseconds must be 6 digits");
        dt_fail("20240101000000.000000+841", "invalid datetime '20240101000000.000000+841': UTC "
                                             "offset 841 out of range 000-840");
        dt_fail("20240101000000.000000-999", "invalid datetime '20240101000000.000000-999': UTC "
                                             "offset 999 out of range 000-840");
        dt_fail("20240101000000.000000+0a0",
                "invalid datetime '20240101000000.000000+0a0': UTC offset must be 3 digits");
        dt_fail("20240101000000.000000 000",
                "invalid datetime '20240101000000.000000 000': expected '+', '-' or ':' at "
                "position 22");
        dt_fail("0000000a000000.000000:000",
                "invalid datetime '0000000a000000.000000:000': days must be 8 digits");
        dt_fail("00000000240000.000000:000",
                "invalid datetime '00000000240000.000000:000': hours 24 out of range 00-23");
        dt_fail("00000000000000.000000:001",
                "invalid datetime '00000000000000.000000:001': an interval must end in ':000'");
        dt_fail("00000000000000.000000:+00",
                "invalid datetime '00000000000000.000000:+00': an interval must end in ':000'");
        dt_fail("00000000000000.000000+000", /* a timestamp needs a valid year */
                "invalid datetime '00000000000000.000000+000': year 0000 out of range 0001-9999");
}

static void test_datetime_format_clamps(void **state) {
        (void)state;
        char buf[26];
        CimDatetime dt = cim_datetime_from_unix_usec(INT64_MAX, 0);
        cim_datetime_format(&dt, buf);
        assert_string_equal(buf, "99991231235959.999999+000");
        dt = cim_datetime_from_unix_usec(INT64_MIN, -840);
        cim_datetime_format(&dt, buf);
        assert_string_equal(buf, "00010101000000.000000-840");
        dt = cim_datetime_from_unix_usec(0, 1200);
        cim_datetime_format(&dt, buf);
        assert_string_equal(buf, "19700101163900.000000+999");
        dt = cim_datetime_from_unix_usec(0, -1200);
        cim_datetime_format(&dt, buf);
        assert_string_equal(buf, "19691231072100.000000-999");
        dt = (CimDatetime){ .is_interval = true, .usec = -5 };
        cim_datetime_format(&dt, buf);
        assert_string_equal(buf, "00000000000000.000000:000");
        dt = (CimDatetime){ .is_interval = true, .usec = INT64_MAX };
        cim_datetime_format(&dt, buf);
        assert_string_equal(buf, "99999999235959.999999:000");

        /* round trips over a spread of instants and offsets */
        static const int16_t offsets[] = { 0, 60, -300, 330, 840, -840, -1 };
        int64_t lo = INT64_C(-62135596800000000), hi = INT64_C(253402300799999999);
        for (int k = 0; k <= 1000; k++) {
                int64_t usec = lo + (hi - lo) / 1000 * k + k * 7919;
                for (size_t j = 0; j < ELEMENTSOF(offsets); j++) {
                        int64_t local = usec + offsets[j] * INT64_C(60000000);
                        if (local < lo || local > hi)
                                continue;
                        dt = cim_datetime_from_unix_usec(usec, offsets[j]);
                        cim_datetime_format(&dt, buf);
                        CimDatetime back;
                        assert_int_equal(cim_datetime_parse(buf, &back, NULL), 0);
                        assert_true(back.usec == usec);
                        assert_int_equal(back.utc_offset_min, offsets[j]);
                }
        }
}

/* Allocation failure: converting and copying an array of strings and
 * printing it. Every failing N must give -ENOMEM (or NULL) and leak
 * nothing; the loop ends when the operation completes untouched. */
static int alloc_operation(void) {
        Value a, conv, copy;
        int r = value_array_new(CIM_STRING, 4, &a);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 3 && r == 0; i++)
                r = value_string(i == 1 ? "Foo.Id=1" : "Bar=@", &a.arr->items[i]);
        if (r == 0)
                r = value_convert(&a, CIM_REFERENCE, true, &conv, NULL);
        if (r == 0) {
                r = value_copy(&conv, &copy);
                if (r == 0) {
                        char *t = value_to_text(&copy);
                        if (!t)
                                r = -ENOMEM;
                        else
                                assert_string_equal(t, "{Bar=@,Foo.Id=1,Bar=@,NULL}");
                        mem_free(t);
                        value_clear(&copy);
                }
                value_clear(&conv);
        }
        value_clear(&a);
        return r;
}

static void test_alloc_failures(void **state) {
        (void)state;
        for (unsigned long n = 1;; n++) {
                mem_fail_at(n);
                int r = alloc_operation();
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 0);
                        assert_true(n > 5);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_type_table),
                cmocka_unit_test(test_constructors),
                cmocka_unit_test(test_copy_and_objects),
                cmocka_unit_test(test_convert_integer_edges),
                cmocka_unit_test(test_convert_string_to_integer),
                cmocka_unit_test(test_convert_reals),
                cmocka_unit_test(test_convert_other_types),
                cmocka_unit_test(test_convert_arrays),
                cmocka_unit_test(test_equal),
                cmocka_unit_test(test_to_text),
                cmocka_unit_test(test_datetime_parse_format),
                cmocka_unit_test(test_datetime_format_clamps),
                cmocka_unit_test(test_alloc_failures),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
