/* Unit tests for objjson: CIM values, instances and classes to and from
 * JSON in the wire format of DESIGN.md — round trips for every type and the
 * 64-bit extremes, arrays, embedded objects and NULLs, the select list, the
 * storage form, every error path, and allocation failure. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "class.h"
#include "cleanup.h"
#include "instance.h"
#include "mem.h"
#include "names.h"
#include "objjson.h"
#include "strbuf.h"

/* ---- helpers -------------------------------------------------------------- */

/* Classes the resolver knows, by name. */
typedef struct Classes {
        CimClass *list[8];
        size_t n;
} Classes;

static int resolve(void *userdata, const char *name, CimClass **ret, Error *err) {
        Classes *cs = userdata;
        for (size_t i = 0; i < cs->n; i++)
                if (name_equal(cs->list[i]->name, name)) {
                        *ret = class_ref(cs->list[i]);
                        return 0;
                }
        return error_set(err, WBEM_E_INVALID_CLASS, "no class %s", name);
}

static void classes_done(Classes *cs) {
        for (size_t i = 0; i < cs->n; i++)
                class_unref(cs->list[i]);
        cs->n = 0;
}

static CimClass *derive(CimClass *def, CimClass *super) {
        CimClass *c = NULL;
        Error err;
        int r = class_derive(def, super, &c, &err);
        if (r != 0)
                fail_msg("class_derive: %s", err.message);
        class_unref(def);
        return c;
}

static void add(CimClass *def, const char *name, CimType t, bool is_array, bool is_key) {
        Error err;
        int r = class_add_property(def, name, t, is_array, is_key, NULL, &err);
        if (r != 0)
                fail_msg("class_add_property %s: %s", name, err.message);
}

/* Test_All: a key and one property of every type, scalar and array. */
static const struct {
        const char *name;
        CimType type;
        bool is_array;
} all_props[] = {
        { "S", CIM_STRING, false },    { "B", CIM_BOOLEAN, false },
        { "I8", CIM_SINT8, false },    { "U8", CIM_UINT8, false },
        { "I16", CIM_SINT16, false },  { "U16", CIM_UINT16, false },
        { "I32", CIM_SINT32, false },  { "U32", CIM_UINT32, false },
        { "I64", CIM_SINT64, false },  { "U64", CIM_UINT64, false },
        { "R32", CIM_REAL32, false },  { "R64", CIM_REAL64, false },
        { "DT", CIM_DATETIME, false }, { "Ref", CIM_REFERENCE, false },
        { "Obj", CIM_OBJECT, false },  { "AS", CIM_STRING, true },
        { "AU64", CIM_UINT64, true },  { "AI64", CIM_SINT64, true },
        { "AR", CIM_REAL64, true },    { "AB", CIM_BOOLEAN, true },
        { "ADT", CIM_DATETIME, true }, { "AObj", CIM_OBJECT, true },
};

/* Test_Inner (Name key, Value uint32) and Test_All (Id key + all_props). */
static void make_classes(Classes *cs) {
        CimClass *def = NULL;
        assert_int_equal(class_new("Test_Inner", NULL, &def, NULL), 0);
        add(def, "Name", CIM_STRING, false, true);
        add(def, "Value", CIM_UINT32, false, false);
        cs->list[cs->n++] = derive(def, NULL);

        assert_int_equal(class_new("Test_Base", NULL, &def, NULL), 0);
        add(def, "Id", CIM_UINT32, false, true);
        CimClass *base = derive(def, NULL);
        cs->list[cs->n++] = base;

        assert_int_equal(class_new("Test_All", "Test_Base", &def, NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(all_props); i++)
                add(def, all_props[i].name, all_props[i].type, all_props[i].is_array, false);
        cs->list[cs->n++] = derive(def, base);
}

static CimClass *find_class(Classes *cs, const char *name) {
        for (size_t i = 0; i < cs->n; i++)
                if (name_equal(cs->list[i]->name, name))
                        return cs->list[i];
        fail_msg("no class %s", name);
        return NULL;
}

static void set_value(Instance *i, const char *name, Value v) {
        Error err;
        int r = instance_set_take(i, name, &v, &err);
        if (r != 0)
                fail_msg("instance_set %s: %s", name, err.message);
}

static Value str(const char *s) {
        Value v;
        assert_int_equal(value_string(s, &v), 0);
        return v;
}

static Value dt(const char *text) {
        CimDatetime d;
        assert_int_equal(cim_datetime_parse(text, &d, NULL), 0);
        return value_datetime(d);
}

static Instance *make_inner(Classes *cs, const char *name, uint32_t value) {
        Instance *i = NULL;
        assert_int_equal(instance_new(find_class(cs, "Test_Inner"), &i), 0);
        set_value(i, "Name", str(name));
        set_value(i, "Value", value_uint(CIM_UINT32, value));
        return i;
}

/* An instance of Test_All with extreme values everywhere. */
static Instance *make_all(Classes *cs) {
        Instance *i = NULL;
        assert_int_equal(instance_new(find_class(cs, "Test_All"), &i), 0);
        set_value(i, "Id", value_uint(CIM_UINT32, 7));
        set_value(i, "S", str("h\xc3\xa9llo \"w\" \\ \n"));
        set_value(i, "B", value_bool(true));
        set_value(i, "I8", value_sint(CIM_SINT8, -128));
        set_value(i, "U8", value_uint(CIM_UINT8, 255));
        set_value(i, "I16", value_sint(CIM_SINT16, -32768));
        set_value(i, "U16", value_uint(CIM_UINT16, 65535));
        set_value(i, "I32", value_sint(CIM_SINT32, INT32_MIN));
        set_value(i, "U32", value_uint(CIM_UINT32, UINT32_MAX));
        set_value(i, "I64", value_sint(CIM_SINT64, INT64_MIN));
        set_value(i, "U64", value_uint(CIM_UINT64, UINT64_MAX));
        set_value(i, "R32", value_real(CIM_REAL32, 0.1f));
        set_value(i, "R64", value_real(CIM_REAL64, 0.1));
        set_value(i, "DT", dt("20261126083000.123456+060"));
        Value ref;
        assert_int_equal(value_reference("Test_Inner.Name=\"x\"", &ref), 0);
        set_value(i, "Ref", ref);
        Instance *inner = make_inner(cs, "in", 42);
        set_value(i, "Obj", value_object(inner));
        instance_unref(inner);

        Value a;
        assert_int_equal(value_array_new(CIM_STRING, 3, &a), 0);
        a.arr->items[0] = str("a");
        a.arr->items[2] = str("");
        set_value(i, "AS", a); /* the middle item stays NULL */
        assert_int_equal(value_array_new(CIM_UINT64, 2, &a), 0);
        a.arr->items[0] = value_uint(CIM_UINT64, 0);
        a.arr->items[1] = value_uint(CIM_UINT64, UINT64_MAX);
        set_value(i, "AU64", a);
        assert_int_equal(value_array_new(CIM_SINT64, 2, &a), 0);
        a.arr->items[0] = value_sint(CIM_SINT64, INT64_MIN);
        a.arr->items[1] = value_sint(CIM_SINT64, INT64_MAX);
        set_value(i, "AI64", a);
        assert_int_equal(value_array_new(CIM_REAL64, 3, &a), 0);
        a.arr->items[0] = value_real(CIM_REAL64, -1e300);
        a.arr->items[1] = value_real(CIM_REAL64, 5e-324);
        a.arr->items[2] = value_real(CIM_REAL64, 1.0);
        set_value(i, "AR", a);
        assert_int_equal(value_array_new(CIM_BOOLEAN, 0, &a), 0);
        set_value(i, "AB", a); /* empty, not NULL */
        assert_int_equal(value_array_new(CIM_DATETIME, 1, &a), 0);
        a.arr->items[0] = dt("00000001020304.000005:000");
        set_value(i, "ADT", a);
        assert_int_equal(value_array_new(CIM_OBJECT, 2, &a), 0);
        inner = make_inner(cs, "one", 1);
        a.arr->items[0] = value_object(inner);
        instance_unref(inner);
        set_value(i, "AObj", a);
        return i;
}

static void assert_instances_equal(const Instance *a, const Instance *b) {
        assert_true(name_equal(a->cls->name, b->cls->name));
        assert_int_equal(a->cls->n_props, b->cls->n_props);
        for (size_t k = 0; k < a->cls->n_props; k++) {
                const Value *va = &a->values[k], *vb = &b->values[k];
                if (va->type == CIM_OBJECT && !va->is_array && !va->is_null) {
                        assert_false(vb->is_null);
                        assert_instances_equal(va->obj, vb->obj);
                        continue;
                }
                if (va->type == CIM_OBJECT && va->is_array && !va->is_null) {
                        assert_int_equal(va->arr->count, vb->arr->count);
                        for (size_t j = 0; j < va->arr->count; j++) {
                                assert_int_equal(va->arr->items[j].is_null,
                                                 vb->arr->items[j].is_null);
                                if (!va->arr->items[j].is_null)
                                        assert_instances_equal(va->arr->items[j].obj,
                                                               vb->arr->items[j].obj);
                        }
                        continue;
                }
                if (!value_equal(va, vb)) {
                        _cleanup_free_ char *ta = value_to_text(va), *tb = value_to_text(vb);
                        fail_msg("property %s: %s != %s", a->cls->props[k].name, ta, tb);
                }
        }
}

static json_t *parse(const char *text) {
        json_error_t jerr;
        json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!j)
                fail_msg("bad test JSON %s: %s", text, jerr.text);
        return j;
}

/* Read text as an instance and expect status with msg in the message. */
static void expect_instance_error(Classes *cs, const char *text, int status, const char *msg) {
        json_t *j = parse(text);
        Instance *i = NULL;
        Error err = { 0 };
        int r = objjson_instance_from_json(j, resolve, cs, &i, &err);
        json_decref(j);
        if (r != status)
                fail_msg("%s: got %d (%s), want %d", text, r, err.message, status);
        assert_null(i);
        if (!strstr(err.message, msg))
                fail_msg("%s: message '%s' lacks '%s'", text, err.message, msg);
}

static void expect_class_error(const char *text, int status, const char *msg) {
        json_t *j = parse(text);
        CimClass *c = NULL;
        Error err = { 0 };
        int r = objjson_class_from_json(j, NULL, NULL, &c, &err);
        json_decref(j);
        if (r != status)
                fail_msg("%s: got %d (%s), want %d", text, r, err.message, status);
        assert_null(c);
        if (!strstr(err.message, msg))
                fail_msg("%s: message '%s' lacks '%s'", text, err.message, msg);
}

static char *dump(json_t *j) {
        return json_dumps(j, JSON_COMPACT);
}

/* ---- values ------------------------------------------------------------- */

static void check_value_text(const Value *v, const char *want) {
        json_t *j = NULL;
        Error err;
        int r = objjson_value_to_json(v, &j, &err);
        if (r != 0)
                fail_msg("to_json: %s", err.message);
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (strcmp(s, want) != 0)
                fail_msg("got %s, want %s", s, want);
        Value back;
        r = objjson_value_from_json(j, v->type, v->is_array, NULL, NULL, &back, &err);
        if (r != 0)
                fail_msg("from_json %s: %s", s, err.message);
        if (!(v->type == CIM_REAL64 && !v->is_null && isnan(v->r)))
                assert_true(value_equal(v, &back));
        else
                assert_true(isnan(back.r));
        value_clear(&back);
        free(s);
        json_decref(j);
}

static void test_value_encodings(void **state) {
        (void)state;
        Value v;
        v = value_sint(CIM_SINT32, INT32_MIN);
        check_value_text(&v, "-2147483648");
        v = value_uint(CIM_UINT32, UINT32_MAX);
        check_value_text(&v, "4294967295");
        v = value_sint(CIM_SINT64, INT64_MIN);
        check_value_text(&v, "\"-9223372036854775808\"");
        v = value_sint(CIM_SINT64, INT64_MAX);
        check_value_text(&v, "\"9223372036854775807\"");
        v = value_uint(CIM_UINT64, UINT64_MAX);
        check_value_text(&v, "\"18446744073709551615\"");
        v = value_uint(CIM_UINT8, 0);
        check_value_text(&v, "0");
        v = value_bool(false);
        check_value_text(&v, "false");
        v = value_real(CIM_REAL64, 1.5);
        check_value_text(&v, "1.5");
        v = value_real(CIM_REAL64, NAN);
        check_value_text(&v, "\"NaN\"");
        v = value_real(CIM_REAL64, INFINITY);
        check_value_text(&v, "\"Infinity\"");
        v = value_real(CIM_REAL64, -INFINITY);
        check_value_text(&v, "\"-Infinity\"");
        v = dt("20261126083000.000000+000");
        check_value_text(&v, "\"20261126083000.000000+000\"");
        v = dt("00000010000000.000000:000");
        check_value_text(&v, "\"00000010000000.000000:000\"");
        v = value_null(CIM_UINT64, false);
        check_value_text(&v, "null");
        v = value_null(CIM_STRING, true);
        check_value_text(&v, "null");
        v = str("x\xe2\x82\xac");
        check_value_text(&v, "\"x\xe2\x82\xac\"");
        value_clear(&v);
        assert_int_equal(value_reference("A.B=1", &v), 0);
        check_value_text(&v, "\"A.B=1\"");
        value_clear(&v);
        assert_int_equal(value_array_new(CIM_UINT64, 3, &v), 0);
        v.arr->items[0] = value_uint(CIM_UINT64, 1);
        v.arr->items[2] = value_uint(CIM_UINT64, UINT64_MAX);
        check_value_text(&v, "[\"1\",null,\"18446744073709551615\"]");
        value_clear(&v);
        assert_int_equal(value_array_new(CIM_SINT32, 0, &v), 0);
        check_value_text(&v, "[]");
        value_clear(&v);
}

/* Read text as type t and expect it to equal want. */
static void check_read(const char *text, CimType t, bool is_array, Value want) {
        json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
        assert_non_null(j);
        Value v;
        Error err;
        int r = objjson_value_from_json(j, t, is_array, NULL, NULL, &v, &err);
        if (r != 0)
                fail_msg("%s as %s: %s", text, cim_type_name(t), err.message);
        assert_true(value_equal(&v, &want));
        value_clear(&v);
        value_clear(&want);
        json_decref(j);
}

static void check_read_error(const char *text, CimType t, bool is_array, int status,
                             const char *msg) {
        json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        assert_non_null(j);
        Value v;
        Error err = { 0 };
        int r = objjson_value_from_json(j, t, is_array, NULL, NULL, &v, &err);
        json_decref(j);
        if (r != status)
                fail_msg("%s as %s: got %d (%s), want %d", text, cim_type_name(t), r, err.message,
                         status);
        if (!strstr(err.message, msg))
                fail_msg("%s as %s: message '%s' lacks '%s'", text, cim_type_name(t), err.message,
                         msg);
}

static void test_value_reading(void **state) {
        (void)state;
        /* 64-bit integers as numbers or strings. */
        check_read("5", CIM_UINT64, false, value_uint(CIM_UINT64, 5));
        check_read("\"5\"", CIM_UINT64, false, value_uint(CIM_UINT64, 5));
        check_read("-9223372036854775808", CIM_SINT64, false, value_sint(CIM_SINT64, INT64_MIN));
        check_read("9223372036854775807", CIM_UINT64, false, value_uint(CIM_UINT64, INT64_MAX));
        check_read("\"18446744073709551615\"", CIM_UINT64, false,
                   value_uint(CIM_UINT64, UINT64_MAX));
        /* Integral reals are integers; 2^63 fits a uint64. */
        check_read("5.0", CIM_UINT32, false, value_uint(CIM_UINT32, 5));
        check_read("-3e2", CIM_SINT16, false, value_sint(CIM_SINT16, -300));
        check_read("9.2233720368547758e18", CIM_UINT64, false,
                   value_uint(CIM_UINT64, 9223372036854775808u));
        /* Numbers for reals, and the special strings. */
        check_read("3", CIM_REAL64, false, value_real(CIM_REAL64, 3.0));
        check_read("\"2.5\"", CIM_REAL64, false, value_real(CIM_REAL64, 2.5));
        check_read("\"-Infinity\"", CIM_REAL32, false, value_real(CIM_REAL32, -INFINITY));
        check_read("true", CIM_BOOLEAN, false, value_bool(true));
        check_read("null", CIM_SINT8, false, value_null(CIM_SINT8, false));
        check_read("null", CIM_SINT8, true, value_null(CIM_SINT8, true));
        check_read("\"20261126083000.000000+000\"", CIM_DATETIME, false,
                   dt("20261126083000.000000+000"));
        Value want;
        assert_int_equal(value_array_new(CIM_UINT8, 2, &want), 0);
        want.arr->items[1] = value_uint(CIM_UINT8, 200);
        check_read("[null, 200]", CIM_UINT8, true, want);

        /* Errors: each says what was wrong. */
        check_read_error("5.5", CIM_UINT32, false, WBEM_E_TYPE_MISMATCH, "not an integer");
        check_read_error("1e30", CIM_SINT64, false, WBEM_E_TYPE_MISMATCH, "beyond the 64-bit");
        check_read_error("1.8446744073709552e19", CIM_UINT64, false, WBEM_E_TYPE_MISMATCH,
                         "beyond the 64-bit");
        check_read_error("-1", CIM_UINT32, false, WBEM_E_TYPE_MISMATCH, "");
        check_read_error("256", CIM_UINT8, false, WBEM_E_TYPE_MISMATCH, "");
        check_read_error("\"18446744073709551616\"", CIM_UINT64, false, WBEM_E_TYPE_MISMATCH, "");
        check_read_error("\"abc\"", CIM_UINT32, false, WBEM_E_TYPE_MISMATCH, "abc");
        check_read_error("\"NaN\"", CIM_UINT32, false, WBEM_E_TYPE_MISMATCH, "NaN");
        check_read_error("{}", CIM_STRING, false, WBEM_E_TYPE_MISMATCH,
                         "an object is not a value of type string");
        check_read_error("[1]", CIM_UINT32, false, WBEM_E_TYPE_MISMATCH, "an array is not");
        check_read_error("1", CIM_UINT32, true, WBEM_E_TYPE_MISMATCH,
                         "expected an array of uint32, found a number");
        check_read_error("[1, [2]]", CIM_UINT32, true, WBEM_E_TYPE_MISMATCH,
                         "item 1: arrays cannot nest");
        check_read_error("[1, \"x\"]", CIM_UINT32, true, WBEM_E_TYPE_MISMATCH, "item 1: ");
        check_read_error("\"a\\u0000b\"", CIM_STRING, false, WBEM_E_TYPE_MISMATCH, "NUL");
        check_read_error("\"2026\"", CIM_DATETIME, false, WBEM_E_TYPE_MISMATCH, "datetime");
        check_read_error("1", CIM_BOOLEAN, false, WBEM_E_TYPE_MISMATCH, "");
        check_read_error("{}", CIM_OBJECT, false, WBEM_E_INVALID_OBJECT, "no __CLASS");
        check_read_error("{\"__CLASS\": \"X\"}", CIM_OBJECT, false, WBEM_E_INVALID_CLASS,
                         "no class resolver");
        check_read_error("1", CIM_INVALID, false, WBEM_E_INVALID_PROPERTY_TYPE,
                         "invalid property type");
}

static void test_value_invalid_utf8(void **state) {
        (void)state;
        static const char *bad[] = { "\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                     "a\xe2\x82" };
        for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                Value v = str(bad[k]);
                json_t *j = NULL;
                Error err = { 0 };
                assert_int_equal(objjson_value_to_json(&v, &j, &err), WBEM_E_INVALID_PARAMETER);
                assert_non_null(strstr(err.message, "UTF-8"));
                assert_null(j);
                value_clear(&v);
        }
        /* An array item names its index. */
        Value a;
        assert_int_equal(value_array_new(CIM_STRING, 2, &a), 0);
        a.arr->items[1] = str("\xff");
        json_t *j = NULL;
        Error err = { 0 };
        assert_int_equal(objjson_value_to_json(&a, &j, &err), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(err.message, "item 1: "));
        value_clear(&a);
}

static void test_writing_errors(void **state) {
        (void)state;
        /* A value of no valid type. */
        Value bogus = { .type = _CIM_TYPE_MAX };
        json_t *j = NULL;
        Error err = { 0 };
        assert_int_equal(objjson_value_to_json(&bogus, &j, &err), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(err.message, "invalid type"));

        /* Names, host and namespace must be UTF-8 to be written. */
        CimClass *def = NULL;
        assert_int_equal(class_new("App_\xff", NULL, &def, NULL), 0);
        add(def, "Id", CIM_UINT32, false, true);
        assert_int_equal(objjson_class_to_json(def, NULL, &j, &err), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(err.message, "class name is not valid UTF-8"));
        CimClass *bad_class = derive(def, NULL);
        Instance *i = NULL;
        assert_int_equal(instance_new(bad_class, &i), 0);
        assert_int_equal(objjson_instance_to_json(i, NULL, &j, &err), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(err.message, "class name"));
        instance_unref(i);
        class_unref(bad_class);

        assert_int_equal(class_new("App_Ok", NULL, &def, NULL), 0);
        add(def, "P\xc3", CIM_UINT32, false, false);
        CimClass *ok = derive(def, NULL);
        assert_int_equal(objjson_class_to_json(ok, NULL, &j, &err), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(err.message, "property name"));
        assert_int_equal(instance_new(ok, &i), 0);
        assert_int_equal(objjson_instance_to_json(i, NULL, &j, &err), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(err.message, "property name"));
        /* The bad property left out by a select list: fine. */
        char *none[] = { "Other" };
        assert_int_equal(objjson_instance_to_json(
                                 i, &(ObjJsonOptions){ .select = none, .n_select = 1 }, &j, &err),
                         0);
        json_decref(j);
        assert_int_equal(
                objjson_instance_to_json(
                        i, &(ObjJsonOptions){ .host = "h\xff", .select = none, .n_select = 1 }, &j,
                        &err),
                WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(err.message, "host name"));
        if (instance_set_namespace(i, "root/\xff") == 0) {
                assert_int_equal(
                        objjson_instance_to_json(
                                i, &(ObjJsonOptions){ .select = none, .n_select = 1 }, &j, &err),
                        WBEM_E_INVALID_PARAMETER);
                assert_non_null(strstr(err.message, "namespace name"));
        }
        instance_unref(i);
        class_unref(ok);
}

/* ---- instances ------------------------------------------------------------ */

static void test_instance_round_trip(void **state) {
        (void)state;
        Classes cs = { 0 };
        make_classes(&cs);
        Instance *i = make_all(&cs);
        assert_int_equal(instance_set_namespace(i, "root/cimv2"), 0);

        json_t *j = NULL;
        Error err;
        int r = objjson_instance_to_json(i, &(ObjJsonOptions){ .host = "box" }, &j, &err);
        if (r != 0)
                fail_msg("%s", err.message);

        /* System properties first, in WMI's order, then the class's. */
        static const char *order[] = { "__GENUS",
                                       "__CLASS",
                                       "__SUPERCLASS",
                                       "__DERIVATION",
                                       "__SERVER",
                                       "__NAMESPACE",
                                       "__RELPATH",
                                       "__PATH",
                                       "Id",
                                       "S",
                                       "B" };
        const char *key;
        json_t *v;
        size_t n = 0;
        json_object_foreach(j, key, v) {
                if (n < ELEMENTSOF(order))
                        assert_string_equal(key, order[n]);
                n++;
        }
        assert_int_equal(n, 8 + 1 + ELEMENTSOF(all_props));
        assert_int_equal(json_integer_value(json_object_get(j, "__GENUS")), 2);
        assert_string_equal(json_string_value(json_object_get(j, "__CLASS")), "Test_All");
        assert_string_equal(json_string_value(json_object_get(j, "__SUPERCLASS")), "Test_Base");
        assert_string_equal(
                json_string_value(json_array_get(json_object_get(j, "__DERIVATION"), 0)),
                "Test_Base");
        assert_string_equal(json_string_value(json_object_get(j, "__SERVER")), "box");
        assert_string_equal(json_string_value(json_object_get(j, "__NAMESPACE")), "root/cimv2");
        assert_string_equal(json_string_value(json_object_get(j, "__RELPATH")), "Test_All.Id=7");
        assert_string_equal(json_string_value(json_object_get(j, "__PATH")),
                            "//box/root/cimv2:Test_All.Id=7");
        assert_true(json_is_integer(json_object_get(j, "U32")));
        assert_string_equal(json_string_value(json_object_get(j, "U64")), "18446744073709551615");
        assert_string_equal(json_string_value(json_object_get(j, "I64")), "-9223372036854775808");
        assert_string_equal(json_string_value(json_object_get(j, "DT")),
                            "20261126083000.123456+060");
        assert_string_equal(json_string_value(json_object_get(j, "Ref")), "Test_Inner.Name=\"x\"");
        json_t *obj = json_object_get(j, "Obj");
        assert_true(json_is_object(obj));
        assert_string_equal(json_string_value(json_object_get(obj, "__CLASS")), "Test_Inner");
        assert_true(json_is_null(json_object_get(obj, "__NAMESPACE")));
        assert_null(json_object_get(obj, "__PATH"));
        assert_int_equal(json_integer_value(json_object_get(obj, "Value")), 42);
        assert_true(json_is_null(json_array_get(json_object_get(j, "AS"), 1)));
        assert_int_equal(json_array_size(json_object_get(j, "AB")), 0);
        assert_true(json_is_null(json_object_get(j, "AObj")) == false);

        /* Through text and back: identical. */
        char *text = dump(j);
        json_decref(j);
        j = parse(text);
        free(text);
        Instance *back = NULL;
        r = objjson_instance_from_json(j, resolve, &cs, &back, &err);
        if (r != 0)
                fail_msg("%s", err.message);
        assert_null(back->ns); /* system properties are ignored on input */
        assert_instances_equal(i, back);
        json_decref(j);
        instance_unref(back);

        /* The storage form: __CLASS and properties only, reads back the same. */
        r = objjson_instance_to_json(i, &(ObjJsonOptions){ .storage = true, .host = "box" }, &j,
                                     &err);
        assert_int_equal(r, 0);
        json_object_foreach(j, key, v) {
                assert_string_equal(key, "__CLASS");
                break;
        }
        assert_null(json_object_get(j, "__GENUS"));
        assert_null(json_object_get(j, "__PATH"));
        assert_null(json_object_get(json_object_get(j, "Obj"), "__GENUS"));
        r = objjson_instance_from_json(j, resolve, &cs, &back, &err);
        assert_int_equal(r, 0);
        assert_instances_equal(i, back);
        json_decref(j);
        instance_unref(back);

        instance_unref(i);
        classes_done(&cs);
}

static void test_instance_paths_and_nulls(void **state) {
        (void)state;
        Classes cs = { 0 };
        make_classes(&cs);
        Instance *i = NULL;
        assert_int_equal(instance_new(find_class(&cs, "Test_All"), &i), 0);

        /* Key NULL: no relpath, no path; all values null. */
        json_t *j = NULL;
        assert_int_equal(objjson_instance_to_json(i, &(ObjJsonOptions){ .host = "h" }, &j, NULL),
                         0);
        assert_true(json_is_null(json_object_get(j, "__RELPATH")));
        assert_true(json_is_null(json_object_get(j, "__NAMESPACE")));
        assert_null(json_object_get(j, "__PATH"));
        assert_true(json_is_null(json_object_get(j, "U64")));
        assert_true(json_is_null(json_object_get(j, "AS")));
        assert_true(json_is_null(json_object_get(j, "Obj")));
        Instance *back = NULL;
        assert_int_equal(objjson_instance_from_json(j, resolve, &cs, &back, NULL), 0);
        assert_instances_equal(i, back);
        instance_unref(back);
        json_decref(j);

        /* Keys set but no namespace: relpath, no path; no host: no path. */
        set_value(i, "Id", value_uint(CIM_UINT32, 1));
        assert_int_equal(objjson_instance_to_json(i, &(ObjJsonOptions){ .host = "h" }, &j, NULL),
                         0);
        assert_string_equal(json_string_value(json_object_get(j, "__RELPATH")), "Test_All.Id=1");
        assert_null(json_object_get(j, "__PATH"));
        json_decref(j);
        assert_int_equal(instance_set_namespace(i, "root"), 0);
        assert_int_equal(objjson_instance_to_json(i, NULL, &j, NULL), 0);
        assert_null(json_object_get(j, "__PATH"));
        assert_null(json_object_get(j, "__SERVER"));
        json_decref(j);
        instance_unref(i);
        classes_done(&cs);
}

static void test_instance_select(void **state) {
        (void)state;
        Classes cs = { 0 };
        make_classes(&cs);
        Instance *i = make_all(&cs);
        char *sel[] = { "u64", "NoSuchProperty", "S" };
        json_t *j = NULL;
        assert_int_equal(objjson_instance_to_json(
                                 i, &(ObjJsonOptions){ .select = sel, .n_select = 3 }, &j, NULL),
                         0);
        const char *key;
        json_t *v;
        size_t own = 0;
        json_object_foreach(j, key, v) {
                if (key[0] != '_')
                        own++;
        }
        assert_int_equal(own, 2);
        assert_non_null(json_object_get(j, "U64"));
        assert_non_null(json_object_get(j, "S"));
        assert_null(json_object_get(j, "Id"));
        assert_non_null(json_object_get(j, "__RELPATH")); /* system properties always */
        /* Embedded objects are not cut by the select list. */
        json_decref(j);
        char *sel2[] = { "Obj" };
        assert_int_equal(objjson_instance_to_json(
                                 i, &(ObjJsonOptions){ .select = sel2, .n_select = 1 }, &j, NULL),
                         0);
        assert_non_null(json_object_get(json_object_get(j, "Obj"), "Value"));
        json_decref(j);
        /* An empty select list gives system properties only. */
        assert_int_equal(objjson_instance_to_json(
                                 i, &(ObjJsonOptions){ .select = sel, .n_select = 0 }, &j, NULL),
                         0);
        assert_null(json_object_get(j, "S"));
        json_decref(j);
        instance_unref(i);
        classes_done(&cs);
}

static void test_instance_reading_errors(void **state) {
        (void)state;
        Classes cs = { 0 };
        make_classes(&cs);
        expect_instance_error(&cs, "[]", WBEM_E_INVALID_OBJECT, "must be a JSON object");
        expect_instance_error(&cs, "{\"Id\": 1}", WBEM_E_INVALID_OBJECT, "no __CLASS");
        expect_instance_error(&cs, "{\"__CLASS\": 5}", WBEM_E_INVALID_OBJECT,
                              "__CLASS must be a string");
        expect_instance_error(&cs, "{\"__GENUS\": 1, \"__CLASS\": \"Test_All\"}",
                              WBEM_E_INVALID_OBJECT, "is a class");
        expect_instance_error(&cs, "{\"__CLASS\": \"Nope\"}", WBEM_E_INVALID_CLASS, "Nope");
        expect_instance_error(&cs, "{\"__CLASS\": \"Test_All\", \"Bogus\": 1}",
                              WBEM_E_INVALID_PROPERTY, "has no property 'Bogus'");
        expect_instance_error(&cs, "{\"__CLASS\": \"Test_All\", \"U8\": 1, \"u8\": 2}",
                              WBEM_E_INVALID_PROPERTY, "'u8' is given twice");
        expect_instance_error(&cs, "{\"__CLASS\": \"Test_All\", \"U8\": 300}", WBEM_E_TYPE_MISMATCH,
                              "property 'U8': ");
        expect_instance_error(&cs, "{\"__CLASS\": \"Test_All\", \"U32\": 1.5}",
                              WBEM_E_TYPE_MISMATCH, "property 'U32': 1.5 is not an integer");
        expect_instance_error(&cs, "{\"__CLASS\": \"Test_All\", \"AU64\": [\"1\", \"x\"]}",
                              WBEM_E_TYPE_MISMATCH, "property 'AU64': item 1: ");
        expect_instance_error(&cs,
                              "{\"__CLASS\": \"Test_All\", \"Obj\": {\"__CLASS\": \"Test_Inner\", "
                              "\"Value\": -1}}",
                              WBEM_E_TYPE_MISMATCH, "property 'Obj': property 'Value': ");
        expect_instance_error(&cs, "{\"__CLASS\": \"Test_All\", \"Obj\": {\"__CLASS\": \"Nope\"}}",
                              WBEM_E_INVALID_CLASS, "property 'Obj': ");
        expect_instance_error(&cs, "{\"__CLASS\": \"Test_All\", \"AObj\": [{\"Name\": \"x\"}]}",
                              WBEM_E_INVALID_OBJECT,
                              "property 'AObj': item 0: the instance has no __CLASS");
        /* jansson's parser refuses NUL in keys, but a json_t can hold one. */
        json_t *nj = json_pack("{s:s}", "__CLASS", "Test_All");
        assert_int_equal(json_object_setn_new(nj, "U8\0x", 4, json_integer(1)), 0);
        Instance *ni = NULL;
        Error nerr = { 0 };
        assert_int_equal(objjson_instance_from_json(nj, resolve, &cs, &ni, &nerr),
                         WBEM_E_INVALID_PROPERTY);
        assert_non_null(strstr(nerr.message, "NUL"));
        json_decref(nj);

        /* System properties other than __CLASS are ignored, whatever they say;
         * names are case-insensitive. */
        expect_instance_error(&cs, "{\"__CLASS\": \"Test_All\", \"U64\": 18446744073709551616.0}",
                              WBEM_E_TYPE_MISMATCH,
                              "property 'U64': 18446744073709551616 is beyond the 64-bit");
        Instance *i = NULL;
        Error err;
        json_t *j;
        j = parse(
                "{\"__CLASS\": \"test_all\", \"__PATH\": 5, \"__NAMESPACE\": [], \"__Whatever\": 1,"
                " \"id\": \"9\"}");
        assert_int_equal(objjson_instance_from_json(j, resolve, &cs, &i, &err), 0);
        assert_int_equal(instance_get(i, "Id")->u, 9);
        instance_unref(i);
        json_decref(j);

        /* No resolver at all. */
        j = parse("{\"__CLASS\": \"Test_All\"}");
        assert_int_equal(objjson_instance_from_json(j, NULL, NULL, &i, &err), WBEM_E_INVALID_CLASS);
        json_decref(j);
        classes_done(&cs);
}

/* Test_Node: an embedded Next of the same class, to nest to any depth. */
static CimClass *make_node_class(void) {
        CimClass *def = NULL;
        assert_int_equal(class_new("Test_Node", NULL, &def, NULL), 0);
        add(def, "Next", CIM_OBJECT, false, false);
        add(def, "Level", CIM_UINT32, false, false);
        return derive(def, NULL);
}

static json_t *nested_json(unsigned levels) {
        json_t *j = json_pack("{s:s, s:i}", "__CLASS", "Test_Node", "Level", (int)levels);
        for (unsigned k = levels; k-- > 0;)
                j = json_pack("{s:s, s:o, s:i}", "__CLASS", "Test_Node", "Next", j, "Level",
                              (int)k);
        return j;
}

static void test_nesting_depth(void **state) {
        (void)state;
        Classes cs = { .list = { make_node_class() }, .n = 1 };

        /* 32 levels of embedding read and write back; 33 do not. */
        json_t *j = nested_json(OBJJSON_MAX_DEPTH);
        Instance *i = NULL;
        Error err;
        assert_int_equal(objjson_instance_from_json(j, resolve, &cs, &i, &err), 0);
        json_decref(j);
        assert_int_equal(objjson_instance_to_json(i, NULL, &j, &err), 0);
        json_decref(j);

        Instance *deeper = NULL;
        assert_int_equal(instance_new(cs.list[0], &deeper), 0);
        set_value(deeper, "Next", value_object(i));
        instance_unref(i);
        j = NULL;
        assert_int_equal(objjson_instance_to_json(deeper, NULL, &j, &err),
                         WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(err.message, "deeper than 32"));
        assert_null(j);
        instance_unref(deeper);

        j = nested_json(OBJJSON_MAX_DEPTH + 1);
        assert_int_equal(objjson_instance_from_json(j, resolve, &cs, &i, &err),
                         WBEM_E_INVALID_OBJECT);
        assert_non_null(strstr(err.message, "deeper than 32"));
        assert_non_null(strstr(err.message, "...: property 'Next': property 'Next': "));
        json_decref(j);
        classes_done(&cs);
}

/* ---- the text writer -------------------------------------------------------- */

/* objjson_instance_to_text(i, opts) must give what objjson_instance_to_json
 * gives: equal when parsed, members in the same order. */
static void check_text(const Instance *i, const ObjJsonOptions *opts) {
        json_t *want = NULL;
        Error err = { 0 };
        assert_int_equal(objjson_instance_to_json(i, opts, &want, &err), 0);
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, "x"); /* appended after what is there */
        assert_int_equal(objjson_instance_to_text(i, opts, &b, &err), 0);
        assert_int_equal(b.data[0], 'x');
        json_error_t je;
        json_t *got = json_loadb(b.data + 1, b.len - 1, JSON_REJECT_DUPLICATES, &je);
        if (!got)
                fail_msg("text does not parse (%s): %s", je.text, b.data + 1);
        if (!json_equal(want, got)) {
                char *w = json_dumps(want, JSON_COMPACT);
                fail_msg("text %s, want %s", b.data + 1, w);
        }
        void *wi = json_object_iter(want), *gi = json_object_iter(got);
        for (; wi && gi; wi = json_object_iter_next(want, wi), gi = json_object_iter_next(got, gi))
                assert_string_equal(json_object_iter_key(wi), json_object_iter_key(gi));
        assert_null(wi);
        assert_null(gi);
        json_decref(want);
        json_decref(got);
        strbuf_done(&b);
}

/* Both writers fail alike. */
static void check_text_error(const Instance *i, const ObjJsonOptions *opts, int status,
                             const char *message_has) {
        json_t *j = NULL;
        Error e1 = { 0 }, e2 = { 0 };
        StrBuf b = STRBUF_INIT;
        assert_int_equal(objjson_instance_to_json(i, opts, &j, &e1), status);
        assert_int_equal(objjson_instance_to_text(i, opts, &b, &e2), status);
        assert_string_equal(e1.message, e2.message);
        assert_non_null(strstr(e2.message, message_has));
        strbuf_done(&b);
}

static void test_instance_text(void **state) {
        (void)state;
        Classes cs = { 0 };
        make_classes(&cs);
        Instance *i = make_all(&cs);

        check_text(i, NULL);
        check_text(i, &(ObjJsonOptions){ .host = "h\"ost" });
        assert_int_equal(instance_set_namespace(i, "root/cimv2"), 0);
        check_text(i, &(ObjJsonOptions){ .host = "host" });
        check_text(i, &(ObjJsonOptions){ .host = "host", .storage = true });
        char *sel[] = { "u64", "NoSuchProperty", "S", "Obj" };
        check_text(i, &(ObjJsonOptions){ .host = "host", .select = sel, .n_select = 4 });
        check_text(i, &(ObjJsonOptions){ .host = "host", .select = sel, .n_select = 0 });

        /* every escape, reals JSON cannot carry, integers at their ends */
        set_value(i, "S", str("\x01\x1f\b\f\n\r\t\"\\/ \xe2\x82\xac \x7f"));
        set_value(i, "R64", value_real(CIM_REAL64, NAN));
        set_value(i, "R32", value_real(CIM_REAL32, -INFINITY));
        set_value(i, "I32", value_sint(CIM_SINT32, INT32_MAX));
        set_value(i, "I64", value_sint(CIM_SINT64, INT64_MAX));
        set_value(i, "U64", value_uint(CIM_UINT64, 0));
        check_text(i, &(ObjJsonOptions){ .host = "host" });
        set_value(i, "R64", value_real(CIM_REAL64, INFINITY));
        set_value(i, "R32", value_real(CIM_REAL32, 1e20));
        set_value(i, "I8", value_sint(CIM_SINT8, 0));
        check_text(i, &(ObjJsonOptions){ .host = "host" });

        /* errors as objjson_instance_to_json's */
        set_value(i, "S", str("bad \xff"));
        check_text_error(i, NULL, WBEM_E_INVALID_PARAMETER,
                         "property 'S': the string is not valid UTF-8");
        check_text_error(i, &(ObjJsonOptions){ .host = "h\xff" }, WBEM_E_INVALID_PARAMETER,
                         "host name");
        instance_unref(i);

        /* nulls: no relpath, no path */
        assert_int_equal(instance_new(find_class(&cs, "Test_All"), &i), 0);
        check_text(i, &(ObjJsonOptions){ .host = "host" });
        instance_unref(i);
        classes_done(&cs);

        /* 32 levels of embedding write, 33 do not */
        Classes nodes = { .list = { make_node_class() }, .n = 1 };
        json_t *j = nested_json(OBJJSON_MAX_DEPTH);
        assert_int_equal(objjson_instance_from_json(j, resolve, &nodes, &i, NULL), 0);
        json_decref(j);
        check_text(i, NULL);
        Instance *deeper = NULL;
        assert_int_equal(instance_new(nodes.list[0], &deeper), 0);
        set_value(deeper, "Next", value_object(i));
        instance_unref(i);
        check_text_error(deeper, NULL, WBEM_E_INVALID_PARAMETER, "deeper than 32");
        instance_unref(deeper);
        classes_done(&nodes);
}

/* ---- classes -------------------------------------------------------------- */

static void test_class_round_trip(void **state) {
        (void)state;
        CimClass *def = NULL;
        Error err;
        assert_int_equal(class_new("App_Job", NULL, &def, NULL), 0);
        def->is_abstract = false;
        def->is_singleton = false;
        add(def, "Id", CIM_UINT32, false, true);
        add(def, "Tags", CIM_STRING, true, false);
        Value dv = value_uint(CIM_UINT64, UINT64_MAX);
        assert_int_equal(class_add_property(def, "Limit", CIM_UINT64, false, false, &dv, NULL), 0);
        Value da;
        assert_int_equal(value_array_new(CIM_SINT32, 2, &da), 0);
        da.arr->items[0] = value_sint(CIM_SINT32, -1);
        assert_int_equal(class_add_property(def, "Levels", CIM_SINT32, true, false, &da, NULL), 0);
        value_clear(&da);
        CimClass *base = derive(def, NULL);

        assert_int_equal(class_new("App_Special", "App_Job", &def, NULL), 0);
        def->is_abstract = true;
        add(def, "Extra", CIM_DATETIME, false, false);
        CimClass *special = derive(def, base);

        json_t *j = NULL;
        assert_int_equal(objjson_class_to_json(special, NULL, &j, &err), 0);
        char *text = dump(j);
        assert_string_equal(
                text, "{\"__GENUS\":1,\"__CLASS\":\"App_Special\",\"__SUPERCLASS\":\"App_Job\","
                      "\"__DERIVATION\":[\"App_Job\"],\"abstract\":true,\"properties\":{"
                      "\"Id\":{\"type\":\"uint32\",\"key\":true,\"origin\":\"App_Job\"},"
                      "\"Tags\":{\"type\":\"string\",\"array\":true,\"origin\":\"App_Job\"},"
                      "\"Limit\":{\"type\":\"uint64\",\"default\":\"18446744073709551615\","
                      "\"origin\":\"App_Job\"},"
                      "\"Levels\":{\"type\":\"sint32\",\"array\":true,\"default\":[-1,null],"
                      "\"origin\":\"App_Job\"},"
                      "\"Extra\":{\"type\":\"datetime\",\"origin\":\"App_Special\"}}}");
        free(text);

        /* The flattened form reads back as a definition restating the
         * inherited properties, which class_derive accepts. */
        CimClass *def2 = NULL;
        assert_int_equal(objjson_class_from_json(j, NULL, NULL, &def2, &err), 0);
        json_decref(j);
        assert_string_equal(def2->superclass, "App_Job");
        assert_true(def2->is_abstract);
        CimClass *again = NULL;
        if (class_derive(def2, base, &again, &err) != 0)
                fail_msg("%s", err.message);
        class_unref(def2);
        assert_int_equal(again->n_props, special->n_props);
        for (size_t k = 0; k < again->n_props; k++) {
                assert_string_equal(again->props[k].name, special->props[k].name);
                assert_int_equal(again->props[k].type, special->props[k].type);
                assert_int_equal(again->props[k].is_array, special->props[k].is_array);
                assert_int_equal(again->props[k].is_key, special->props[k].is_key);
                assert_true(value_equal(&again->props[k].default_value,
                                        &special->props[k].default_value));
        }
        class_unref(again);

        /* Storage form: no __GENUS, __DERIVATION or origin. */
        assert_int_equal(
                objjson_class_to_json(base, &(ObjJsonOptions){ .storage = true }, &j, &err), 0);
        text = dump(j);
        assert_null(strstr(text, "__GENUS"));
        assert_null(strstr(text, "origin"));
        assert_non_null(strstr(text, "\"__SUPERCLASS\":null"));
        free(text);
        json_decref(j);

        /* A definition as a client writes it. */
        j = parse("{\"__CLASS\": \"App_Cfg\", \"singleton\": true, \"properties\": {"
                  "\"When\": {\"type\": \"datetime\", \"default\": \"20260101000000.000000+000\"},"
                  "\"Peer\": {\"type\": \"ref\", \"origin\": \"ignored\"}}}");
        assert_int_equal(objjson_class_from_json(j, NULL, NULL, &def2, &err), 0);
        json_decref(j);
        assert_true(def2->is_singleton);
        assert_null(def2->superclass);
        assert_int_equal(def2->n_props, 2);
        assert_int_equal(def2->props[0].type, CIM_DATETIME);
        assert_false(def2->props[0].default_value.is_null);
        assert_int_equal(def2->props[1].type, CIM_REFERENCE);
        class_unref(def2);

        class_unref(special);
        class_unref(base);
}

static void test_class_reading_errors(void **state) {
        (void)state;
        expect_class_error("5", WBEM_E_INVALID_OBJECT, "must be a JSON object");
        expect_class_error("{\"__GENUS\": 2, \"__CLASS\": \"A\"}", WBEM_E_INVALID_OBJECT,
                           "is an instance");
        expect_class_error("{}", WBEM_E_INVALID_OBJECT, "no __CLASS");
        expect_class_error("{\"__CLASS\": []}", WBEM_E_INVALID_OBJECT, "__CLASS must be a string");
        expect_class_error("{\"__CLASS\": \"A\", \"__SUPERCLASS\": 1}", WBEM_E_INVALID_OBJECT,
                           "__SUPERCLASS must be a string or null");
        expect_class_error("{\"__CLASS\": \"1bad\"}", WBEM_E_INVALID_PARAMETER, "");
        expect_class_error("{\"__CLASS\": \"A\", \"propertes\": {}}", WBEM_E_INVALID_OBJECT,
                           "class A: unknown member 'propertes'");
        expect_class_error("{\"__CLASS\": \"A\", \"abstract\": 1}", WBEM_E_INVALID_OBJECT,
                           "abstract must be true or false");
        expect_class_error("{\"__CLASS\": \"A\", \"singleton\": \"yes\"}", WBEM_E_INVALID_OBJECT,
                           "singleton must be true or false");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": []}", WBEM_E_INVALID_OBJECT,
                           "properties must be an object");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": {\"P\": 1}}",
                           WBEM_E_INVALID_OBJECT, "property 'P': the definition must be an object");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": {\"P\": {}}}",
                           WBEM_E_INVALID_PROPERTY_TYPE, "property 'P': no type given");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": {\"P\": {\"type\": \"int\"}}}",
                           WBEM_E_INVALID_PROPERTY_TYPE, "property 'P': unknown type 'int'");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": {\"P\": {\"type\": 5}}}",
                           WBEM_E_INVALID_PROPERTY_TYPE, "type must be a string");
        expect_class_error(
                "{\"__CLASS\": \"A\", \"properties\": {\"P\": {\"type\": \"uint8\", \"key\": 1}}}",
                WBEM_E_INVALID_OBJECT, "property 'P': key must be true or false");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": {\"P\": {\"type\": \"uint8\", "
                           "\"array\": 0}}}",
                           WBEM_E_INVALID_OBJECT, "property 'P': array must be true or false");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": {\"P\": {\"type\": \"uint8\", "
                           "\"kee\": true}}}",
                           WBEM_E_INVALID_OBJECT, "property 'P': unknown attribute 'kee'");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": {\"P\": {\"type\": \"uint8\", "
                           "\"default\": 256}}}",
                           WBEM_E_TYPE_MISMATCH, "property 'P': default: ");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": {\"P\": {\"type\": \"object\", "
                           "\"default\": {\"__CLASS\": \"X\"}}}}",
                           WBEM_E_INVALID_CLASS, "property 'P': default: ");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": {\"P\": {\"type\": \"uint8\"}, "
                           "\"p\": {\"type\": \"uint8\"}}}",
                           WBEM_E_INVALID_PROPERTY, "property 'p': ");
        expect_class_error("{\"__CLASS\": \"A\", \"properties\": {\"P\": {\"type\": \"real64\", "
                           "\"key\": true}}}",
                           WBEM_E_INVALID_PARAMETER, "property 'P': ");
        json_t *j = json_pack("{s:s, s:{}}", "__CLASS", "A", "properties");
        assert_int_equal(json_object_setn_new(json_object_get(j, "properties"), "P\0x", 3,
                                              json_pack("{s:s}", "type", "uint8")),
                         0);
        CimClass *c = NULL;
        Error err = { 0 };
        assert_int_equal(objjson_class_from_json(j, NULL, NULL, &c, &err), WBEM_E_INVALID_PROPERTY);
        assert_non_null(strstr(err.message, "NUL"));
        json_decref(j);
}

static void test_class_invalid_utf8(void **state) {
        (void)state;
        CimClass *def = NULL;
        assert_int_equal(class_new("App_X", NULL, &def, NULL), 0);
        Value dv = str("\xfe");
        assert_int_equal(class_add_property(def, "P", CIM_STRING, false, false, &dv, NULL), 0);
        value_clear(&dv);
        json_t *j = NULL;
        Error err = { 0 };
        assert_int_equal(objjson_class_to_json(def, NULL, &j, &err), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(err.message, "property 'P': default: "));
        class_unref(def);
}

/* ---- allocation failure --------------------------------------------------- */

/* Run op with the Nth allocation failing, N = 1, 2, ... until it succeeds:
 * each failure must be -ENOMEM (and leak nothing: ASan checks). */
#define ALLOC_LOOP(call)                                                      \
        for (unsigned long n_ = 1;; n_++) {                                   \
                mem_fail_at(n_);                                              \
                int r_ = (call);                                              \
                bool hit_ = mem_fail_triggered();                             \
                mem_fail_at(0);                                               \
                if (!hit_) {                                                  \
                        assert_int_equal(r_, 0);                              \
                        break;                                                \
                }                                                             \
                if (r_ != -ENOMEM)                                            \
                        fail_msg("allocation %lu: %d, want -ENOMEM", n_, r_); \
                assert_true(n_ < 100000);                                     \
        }

static int op_instance_to_json(Instance *i, json_t **ret) {
        *ret = NULL;
        int r = objjson_instance_to_json(i, &(ObjJsonOptions){ .host = "h" }, ret, NULL);
        if (r == 0 && !ret[0])
                return -EINVAL;
        return r;
}

static int op_instance_from_json(json_t *j, Classes *cs, Instance **ret) {
        *ret = NULL;
        return objjson_instance_from_json(j, resolve, cs, ret, NULL);
}

static int op_class_from_json(json_t *j, CimClass **ret) {
        *ret = NULL;
        return objjson_class_from_json(j, NULL, NULL, ret, NULL);
}

static int op_instance_to_text(Instance *i, StrBuf *b) {
        strbuf_done(b);
        return objjson_instance_to_text(i, &(ObjJsonOptions){ .host = "h" }, b, NULL);
}

static void test_allocation_failures(void **state) {
        (void)state;
        Classes cs = { 0 };
        make_classes(&cs);
        Instance *i = make_all(&cs);
        assert_int_equal(instance_set_namespace(i, "root/cimv2"), 0);

        json_t *j = NULL;
        ALLOC_LOOP(op_instance_to_json(i, &j));
        Instance *back = NULL;
        ALLOC_LOOP(op_instance_from_json(j, &cs, &back));
        assert_instances_equal(i, back);
        instance_unref(back);
        /* the text writer: every failure reported */
        StrBuf b = STRBUF_INIT;
        ALLOC_LOOP(op_instance_to_text(i, &b));
        json_t *tj = json_loadb(b.data, b.len, 0, NULL);
        assert_true(json_equal(tj, j));
        json_decref(tj);
        strbuf_done(&b);
        json_decref(j);

        /* Text: every failure reported, never a text with a piece missing. */
        json_t *sj = NULL;
        assert_int_equal(
                objjson_instance_to_json(i, &(ObjJsonOptions){ .storage = true }, &sj, NULL), 0);
        char *want = json_dumps(sj, JSON_COMPACT);
        char *text = NULL;
        ALLOC_LOOP(objjson_dump(sj, JSON_COMPACT, &text));
        assert_string_equal(text, want);
        mem_free(text);
        free(want);
        json_decref(sj);

        json_t *cj = NULL;
        ALLOC_LOOP(objjson_class_to_json(find_class(&cs, "Test_All"), NULL, &cj, NULL));
        CimClass *def = NULL;
        ALLOC_LOOP(op_class_from_json(cj, &def));
        assert_int_equal(def->n_props, find_class(&cs, "Test_All")->n_props);
        class_unref(def);
        json_decref(cj);

        instance_unref(i);
        classes_done(&cs);
}

/* ---- an instance from scalar members ------------------------------------ */

/* The members of object j as objjson_instance_from_scalars() takes them
 * (every member a scalar, no real). */
static size_t scalars_of(json_t *j, ObjJsonScalar *out, size_t max) {
        const char *key;
        size_t key_len, n = 0;
        json_t *v;

        json_object_keylen_foreach(j, key, key_len, v) {
                assert_true(n < max);
                ObjJsonScalar *m = &out[n++];
                *m = (ObjJsonScalar){ .name = key, .name_len = key_len };
                switch (json_typeof(v)) {
                case JSON_STRING:
                        m->kind = OBJJSON_SCALAR_STRING;
                        m->text = json_string_value(v);
                        m->len = json_string_length(v);
                        break;
                case JSON_INTEGER:
                        m->kind = OBJJSON_SCALAR_INTEGER;
                        m->integer = (int64_t)json_integer_value(v);
                        break;
                case JSON_TRUE:
                        m->kind = OBJJSON_SCALAR_TRUE;
                        break;
                case JSON_FALSE:
                        m->kind = OBJJSON_SCALAR_FALSE;
                        break;
                case JSON_NULL:
                        m->kind = OBJJSON_SCALAR_NULL;
                        break;
                default:
                        fail_msg("member %s is not a scalar", key);
                }
        }
        return n;
}

/* Both readers on object j: the same status and message, or equal
 * instances. Returns the status. */
static int check_scalars_same(json_t *j, ObjJsonResolveFunc res, Classes *cs) {
        ObjJsonScalar m[64];
        size_t n = scalars_of(j, m, ELEMENTSOF(m));
        Instance *a = NULL, *b = NULL;
        Error ea = { 0 }, eb = { 0 };

        int ra = objjson_instance_from_json(j, res, cs, &a, &ea);
        int rb = objjson_instance_from_scalars(m, n, res, cs, &b, &eb);
        if (ra != rb || strcmp(ea.message, eb.message) != 0) {
                char *text = json_dumps(j, JSON_ENCODE_ANY);
                fail_msg("%s: json %d '%s', scalars %d '%s'", text, ra, ea.message, rb, eb.message);
        }
        assert_int_equal(ea.status, eb.status);
        if (ra == 0) {
                assert_instances_equal(a, b);
                instance_unref(a);
                instance_unref(b);
        } else {
                assert_null(b);
        }
        return ra;
}

static int check_scalars_text(Classes *cs, const char *text) {
        json_t *j = parse(text);
        int r = check_scalars_same(j, resolve, cs);
        json_decref(j);
        return r;
}

static int op_instance_from_scalars(const ObjJsonScalar *m, size_t n, Classes *cs,
                                    Instance **ret) {
        *ret = NULL;
        return objjson_instance_from_scalars(m, n, resolve, cs, ret, NULL);
}

static void test_instance_from_scalars(void **state) {
        (void)state;
        Classes cs = { 0 };
        make_classes(&cs);
        /* Test_Wide: more properties than the reader tracks on its stack */
        CimClass *def = NULL;
        assert_int_equal(class_new("Test_Wide", NULL, &def, NULL), 0);
        for (int k = 0; k < 40; k++) {
                char name[16];
                snprintf(name, sizeof(name), "P%d", k);
                add(def, name, CIM_UINT32, false, false);
        }
        cs.list[cs.n++] = derive(def, NULL);

        char long_string[300], long_name[300], long_json[1024];
        memset(long_string, 'x', sizeof(long_string) - 1);
        long_string[sizeof(long_string) - 1] = '\0';
        memset(long_name, 'N', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';

        static const struct {
                const char *text;
                int status;
        } cases[] = {
                /* what each scalar kind becomes, every conversion */
                { "{\"__CLASS\": \"Test_All\", \"Id\": 1, \"S\": \"x\", \"B\": true, \"I8\": -128,"
                  " \"U8\": 255, \"I16\": -5, \"U16\": \"7\", \"I32\": 2147483647, \"U32\": 0,"
                  " \"I64\": \"-9223372036854775808\", \"U64\": \"18446744073709551615\","
                  " \"R32\": 1, \"R64\": \"NaN\", \"DT\": \"20260101000000.000000+000\","
                  " \"Ref\": \"Test_Inner.Name=\\\"a\\\"\", \"Obj\": null, \"AS\": null,"
                  " \"AU64\": null, \"AObj\": null, \"__PATH\": 5, \"__GENUS\": 2}",
                  0 },
                { "{\"__CLASS\": \"test_all\", \"b\": false, \"R64\": \"-Infinity\","
                  " \"R32\": \"Infinity\", \"I64\": -9223372036854775807, \"U8\": \"9\"}",
                  0 },
                { "{\"__CLASS\": \"Test_All\", \"S\": 5}", -1 },
                { "{\"__CLASS\": \"Test_All\", \"S\": true}", -1 },
                { "{\"__CLASS\": \"Test_All\", \"B\": 1}", -1 },
                { "{\"__CLASS\": \"Test_All\", \"B\": \"true\"}", -1 },
                { "{\"__CLASS\": \"Test_All\", \"S\": null, \"B\": null}", 0 },
                { "{\"__CLASS\": \"Test_Inner\"}", 0 },
                { "{\"__GENUS\": 1, \"__CLASS\": \"Test_All\"}", WBEM_E_INVALID_OBJECT },
                { "{\"__GENUS\": \"1\", \"__CLASS\": \"Test_All\"}", 0 },
                { "{\"Id\": 1}", WBEM_E_INVALID_OBJECT },
                { "{}", WBEM_E_INVALID_OBJECT },
                { "{\"__CLASS\": 5}", WBEM_E_INVALID_OBJECT },
                { "{\"__CLASS\": null}", WBEM_E_INVALID_OBJECT },
                { "{\"__CLASS\": true}", WBEM_E_INVALID_OBJECT },
                { "{\"__CLASS\": false}", WBEM_E_INVALID_OBJECT },
                { "{\"__CLASS\": \"Nope\"}", WBEM_E_INVALID_CLASS },
                { "{\"__CLASS\": \"Test_All\", \"Bogus\": 1}", WBEM_E_INVALID_PROPERTY },
                { "{\"__CLASS\": \"Test_All\", \"U8\": 1, \"u8\": 2}", WBEM_E_INVALID_PROPERTY },
                { "{\"__CLASS\": \"Test_All\", \"U8\": 300}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"U32\": -1}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"U32\": \"abc\"}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"R64\": \"x\"}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"DT\": \"yesterday\"}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"Obj\": \"x\"}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"Obj\": 5}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"AS\": \"x\"}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"AU64\": 5}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"AB\": true}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"AB\": false}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"S\": \"a\\u0000b\"}", WBEM_E_TYPE_MISMATCH },
                { "{\"__CLASS\": \"Test_All\", \"_\": 1}", WBEM_E_INVALID_PROPERTY },
                { "{\"__CLASS\": \"Test_Wide\", \"P0\": 1, \"P39\": 2, \"p39\": 3}",
                  WBEM_E_INVALID_PROPERTY },
                { "{\"__CLASS\": \"Test_Wide\", \"P0\": 1, \"P39\": 2, \"P20\": null}", 0 },
        };
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                int r = check_scalars_text(&cs, cases[k].text);
                if (cases[k].status >= 0 && r != cases[k].status)
                        fail_msg("%s: %d, want %d", cases[k].text, r, cases[k].status);
        }

        /* strings and names longer than the reader's stack buffers */
        snprintf(long_json, sizeof(long_json), "{\"__CLASS\": \"Test_All\", \"S\": \"%s\"}",
                 long_string);
        assert_int_equal(check_scalars_text(&cs, long_json), 0);
        snprintf(long_json, sizeof(long_json), "{\"__CLASS\": \"Test_All\", \"%s\": 1}",
                 long_name);
        assert_int_equal(check_scalars_text(&cs, long_json), WBEM_E_INVALID_PROPERTY);
        snprintf(long_json, sizeof(long_json), "{\"__CLASS\": \"%s\"}", long_name);
        assert_int_equal(check_scalars_text(&cs, long_json), WBEM_E_INVALID_CLASS);

        /* a NUL in a name (jansson's parser refuses it, a json_t can hold
         * it), and in the class name (read up to the NUL by both) */
        json_t *nj = json_pack("{s:s}", "__CLASS", "Test_All");
        assert_int_equal(json_object_setn_new(nj, "U8\0x", 4, json_integer(1)), 0);
        assert_int_equal(check_scalars_same(nj, resolve, &cs), WBEM_E_INVALID_PROPERTY);
        json_decref(nj);
        nj = parse("{\"__CLASS\": \"Test_All\\u0000x\", \"U8\": 1}");
        assert_int_equal(check_scalars_same(nj, resolve, &cs), 0);
        json_decref(nj);

        /* no resolver */
        nj = parse("{\"__CLASS\": \"Test_All\"}");
        assert_int_equal(check_scalars_same(nj, NULL, NULL), WBEM_E_INVALID_CLASS);
        json_decref(nj);

        /* allocation failure at each step, the long paths included */
        nj = parse("{\"__CLASS\": \"Test_Wide\", \"P0\": 1, \"P1\": \"2\", \"P2\": null}");
        ObjJsonScalar m[8];
        size_t n = scalars_of(nj, m, ELEMENTSOF(m));
        Instance *i = NULL;
        ALLOC_LOOP(op_instance_from_scalars(m, n, &cs, &i));
        assert_int_equal(instance_get(i, "P1")->u, 2);
        instance_unref(i);
        json_decref(nj);
        snprintf(long_json, sizeof(long_json), "{\"__CLASS\": \"Test_All\", \"S\": \"%s\"}",
                 long_string);
        nj = parse(long_json);
        n = scalars_of(nj, m, ELEMENTSOF(m));
        ALLOC_LOOP(op_instance_from_scalars(m, n, &cs, &i));
        assert_string_equal(instance_get(i, "S")->s, long_string);
        instance_unref(i);
        json_decref(nj);
        classes_done(&cs);
}

int main(void) {
        /* jansson's allocations go through mem_*() too, so that failure
         * injection reaches them. */
        if (mem_install_library_hooks() < 0)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_value_encodings),
                cmocka_unit_test(test_value_reading),
                cmocka_unit_test(test_value_invalid_utf8),
                cmocka_unit_test(test_writing_errors),
                cmocka_unit_test(test_instance_round_trip),
                cmocka_unit_test(test_instance_paths_and_nulls),
                cmocka_unit_test(test_instance_select),
                cmocka_unit_test(test_instance_reading_errors),
                cmocka_unit_test(test_nesting_depth),
                cmocka_unit_test(test_instance_text),
                cmocka_unit_test(test_class_round_trip),
                cmocka_unit_test(test_class_reading_errors),
                cmocka_unit_test(test_class_invalid_utf8),
                cmocka_unit_test(test_allocation_failures),
                cmocka_unit_test(test_instance_from_scalars),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
