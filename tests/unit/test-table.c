/* Unit tests for the command-line client's output: aligned tables with
 * UTF-8 widths (whole, or streamed a row at a time), the text form of
 * values, query and event columns, class definitions, the caret under a
 * query error, and the typed values of lwmi publish. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "format.h"
#include "mem.h"
#include "propvalue.h"
#include "table.h"

static char *render(Table *t) {
        char *s = NULL;
        assert_int_equal(table_format(t, &s), 0);
        return s;
}

static void test_alignment(void **state) {
        (void)state;
        Table *t;
        assert_int_equal(table_new(3, &t), 0);
        assert_int_equal(table_set_header(t, 0, "Name"), 0);
        assert_int_equal(table_set_header(t, 1, "Pid"), 0);
        assert_int_equal(table_set_header(t, 2, "State"), 0);
        table_set_align(t, 1, TABLE_ALIGN_RIGHT);
        const char *r1[] = { "systemd", "1", "S" };
        const char *r2[] = { "sshd", "12345", NULL };
        assert_int_equal(table_add_row(t, r1), 0);
        assert_int_equal(table_add_row(t, r2), 0);
        assert_int_equal(table_rows(t), 2);
        _cleanup_free_ char *s = render(t);
        assert_string_equal(s, "Name       Pid  State\n"
                               "systemd      1  S\n"
                               "sshd     12345\n"); /* no trailing spaces */
        table_free(t);
}

static void test_utf8_widths(void **state) {
        (void)state;
        assert_int_equal(table_text_width(""), 0);
        assert_int_equal(table_text_width("abc"), 3);
        assert_int_equal(table_text_width("gr\xc3\xbc\xc3\x9f"), 4);       /* grüß */
        assert_int_equal(table_text_width("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* 日本: wide */
        assert_int_equal(table_text_width("e\xcc\x81"), 1);                /* e + combining acute */
        assert_int_equal(table_text_width("\xf0\x9f\x98\x80"), 2);         /* emoji */
        assert_int_equal(table_text_width("a\377b"), 3);                   /* invalid byte: 1 */
        assert_int_equal(table_text_width("\xc3"), 1);                     /* truncated sequence */
        assert_int_equal(table_text_width("\xe0\x80\x80"), 3);             /* overlong: 3 bytes */

        Table *t;
        assert_int_equal(table_new(2, &t), 0);
        const char *r1[] = { "gr\xc3\xbc\xc3\x9f", "x" };
        const char *r2[] = { "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "y" }; /* 日本語: 6 columns */
        const char *r3[] = { "ab", "z" };
        assert_int_equal(table_add_row(t, r1), 0);
        assert_int_equal(table_add_row(t, r2), 0);
        assert_int_equal(table_add_row(t, r3), 0);
        _cleanup_free_ char *s = render(t);
        assert_string_equal(s, "gr\xc3\xbc\xc3\x9f    x\n"
                               "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e  y\n"
                               "ab      z\n");
        table_free(t);
}

static void test_escapes_and_empty(void **state) {
        (void)state;
        Table *t;
        assert_int_equal(table_new(2, &t), 0);
        _cleanup_free_ char *empty = render(t);
        assert_string_equal(empty, ""); /* no rows: not even the header */
        const char *r1[] = { "two\nlines\tand\x01", "b" };
        const char *r2[] = { "bad\xff", "c" };
        assert_int_equal(table_add_row(t, r1), 0);
        assert_int_equal(table_add_row(t, r2), 0);
        _cleanup_free_ char *s = render(t);
        assert_string_equal(s, "two\\nlines\\tand\\x01  b\n"
                               "bad\xef\xbf\xbd                 c\n");
        table_free(t);
        assert_int_equal(table_new(0, &t), -EINVAL);
        assert_null(table_free(NULL));
}

static void test_table_out_of_memory(void **state) {
        (void)state;
        for (unsigned long n = 1;; n++) {
                Table *t = NULL;
                char *s = NULL;
                mem_fail_at(n);
                int r = table_new(2, &t);
                if (r == 0)
                        r = table_set_header(t, 0, "H");
                const char *row[] = { "a", "b" };
                if (r == 0)
                        r = table_add_row(t, row);
                if (r == 0)
                        r = table_format(t, &s);
                bool failed = mem_fail_triggered();
                mem_fail_at(0);
                table_free(t);
                if (!failed) {
                        assert_int_equal(r, 0);
                        assert_string_equal(s, "H\na  b\n");
                        mem_free(s);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
                assert_null(s);
        }
}

static void assert_value_text(const char *json, const char *expect) {
        json_error_t je;
        json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
        assert_non_null(v);
        _cleanup_free_ char *s = format_value(v);
        assert_string_equal(s, expect);
        json_decref(v);
}

static void test_value_text(void **state) {
        (void)state;
        assert_value_text("null", "");
        assert_value_text("\"text\"", "text");
        assert_value_text("\"18446744073709551615\"", "18446744073709551615");
        assert_value_text("-42", "-42");
        assert_value_text("0.1", "0.1");
        assert_value_text("1e300", "1e+300");
        assert_value_text("0.30000000000000004", "0.30000000000000004");
        assert_value_text("2.5", "2.5");
        assert_value_text("true", "true");
        assert_value_text("false", "false");
        assert_value_text("[1, 2, null]", "{1, 2, NULL}");
        assert_value_text("[\"a\", \"b\"]", "{a, b}");
        assert_value_text("[]", "{}");
        assert_value_text("{\"__CLASS\": \"X\", \"A\": 1}", "{\"__CLASS\":\"X\",\"A\":1}");
        _cleanup_free_ char *s = format_value(NULL);
        assert_string_equal(s, "");
}

static void assert_select(const char *wql, const char *const *expect, size_t n) {
        Names names;
        assert_int_equal(format_select_list(wql, &names), 0);
        assert_int_equal(names.n, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(names.v[i], expect[i]);
        format_names_free(&names);
}

static void test_select_list(void **state) {
        (void)state;
        const char *const two[] = { "Name", "ProcessId" };
        assert_select("SELECT Name, ProcessId FROM Linux_Process", two, 2);
        assert_select("  select\tName ,\r\nProcessId\nfrom X where a = 1", two, 2);
        const char *const dotted[] = { "TargetInstance.Name" };
        assert_select("SELECT TargetInstance.Name FROM __InstanceCreationEvent", dotted, 1);
        const char *const utf8[] = { "Gr\xc3\xb6\xc3\x9f\x65" }; /* Größe */
        assert_select("SELECT Gr\xc3\xb6\xc3\x9f\x65 FROM X", utf8, 1);
        assert_select("SELECT * FROM X", NULL, 0);
        assert_select("SELECTName FROM X", NULL, 0);
        assert_select("SELECT Name X FROM Y", NULL, 0);
        assert_select("SELECT Name, FROM Y", NULL, 0);
        assert_select("SELECT Name", NULL, 0);
        assert_select("", NULL, 0);
        assert_select("SELECT Name FROMX", NULL, 0);
}

static json_t *load(const char *text) {
        json_t *v = json_loads(text, 0, NULL);
        assert_non_null(v);
        return v;
}

static void test_columns_and_objects_table(void **state) {
        (void)state;
        json_t *objects =
                load("[{\"__CLASS\":\"P\",\"__PATH\":\"p\",\"Name\":\"init\",\"Pid\":1,"
                     "\"Size\":\"18446744073709551615\",\"Note\":null},"
                     "{\"__CLASS\":\"Q\",\"Name\":\"kthreadd\",\"Pid\":2,\"Extra\":true}]");
        Names cols;
        assert_int_equal(format_columns(objects, NULL, &cols), 0);
        assert_int_equal(cols.n, 5);
        const char *expect[] = { "Name", "Pid", "Size", "Note", "Extra" };
        for (size_t i = 0; i < 5; i++)
                assert_string_equal(cols.v[i], expect[i]);
        Table *t;
        assert_int_equal(format_objects_table(objects, &cols, &t), 0);
        _cleanup_free_ char *s = render(t);
        assert_string_equal(s, "Name      Pid                  Size  Note  Extra\n"
                               "init        1  18446744073709551615\n"
                               "kthreadd    2                              true\n");
        table_free(t);
        format_names_free(&cols);

        /* Selected, in query order, case as the server spells it. */
        Names selected;
        assert_int_equal(format_select_list("SELECT pid, NAME, Missing FROM P", &selected), 0);
        assert_int_equal(format_columns(objects, &selected, &cols), 0);
        assert_string_equal(cols.v[0], "Pid");
        assert_string_equal(cols.v[1], "Name");
        assert_string_equal(cols.v[2], "Missing");
        assert_int_equal(format_objects_table(objects, &cols, &t), 0);
        _cleanup_free_ char *s2 = render(t);
        assert_string_equal(s2, "Pid  Name      Missing\n"
                                "  1  init\n"
                                "  2  kthreadd\n");
        table_free(t);
        format_names_free(&cols);
        format_names_free(&selected);
        assert_ptr_equal(format_object_get(json_array_get(objects, 0), "name"),
                         json_object_get(json_array_get(objects, 0), "Name"));
        assert_null(format_object_get(json_array_get(objects, 0), "nope"));
        json_decref(objects);
}

static void assert_objects_table(const char *json, const char *expect) {
        json_t *objects = load(json);
        Names cols;
        assert_int_equal(format_columns(objects, NULL, &cols), 0);
        Table *t;
        assert_int_equal(format_objects_table(objects, &cols, &t), 0);
        _cleanup_free_ char *s = render(t);
        assert_string_equal(s, expect);
        table_free(t);
        format_names_free(&cols);
        json_decref(objects);
}

static void test_alignment_of_decimal_strings(void **state) {
        (void)state;
        /* 64-bit integers as decimal strings align right like numbers... */
        assert_objects_table("[{\"A\":\"-3\"},{\"A\":\"40\"},{\"A\":7},{\"A\":null}]",
                             " A\n-3\n40\n 7\n\n"); /* the NULL row is empty */
        /* ...unless one value of the column is other text. */
        assert_objects_table("[{\"A\":\"12\"},{\"A\":\"x\"},{\"A\":\"-\"}]", "A\n12\nx\n-\n");
        assert_objects_table("[{\"A\":\"12\"},{\"A\":true}]", "A\n12\ntrue\n");
}

static void test_object_table(void **state) {
        (void)state;
        json_t *obj = load("{\"__GENUS\":2,\"__CLASS\":\"P\",\"__PATH\":\"//h/root/cimv2:P.Id=1\","
                           "\"Id\":1,\"Tags\":[\"a\",\"b\"]}");
        Table *t;
        assert_int_equal(format_object_table(obj, &t), 0);
        _cleanup_free_ char *s = render(t);
        assert_string_equal(s, "__PATH  //h/root/cimv2:P.Id=1\n"
                               "Id      1\n"
                               "Tags    {a, b}\n");
        table_free(t);
        json_decref(obj);
}

static void test_class_text(void **state) {
        (void)state;
        json_t *cls = load("{\"__GENUS\":1,\"__CLASS\":\"App_Job\",\"__SUPERCLASS\":\"App_Base\","
                           "\"properties\":{\"Id\":{\"type\":\"uint32\",\"key\":true},"
                           "\"Tags\":{\"type\":\"string\",\"array\":true},"
                           "\"Level\":{\"type\":\"sint32\",\"default\":3,\"required\":true,"
                           "\"description\":\"how \\\"bad\\\"\"},"
                           "\"Name\":{\"type\":\"string\",\"key\":false,\"default\":\"x\"}}}");
        _cleanup_free_ char *s = NULL;
        assert_int_equal(format_class(cls, &s), 0);
        assert_string_equal(s,
                            "class App_Job : App_Base\n"
                            "{\n"
                            "    [key] uint32 Id;\n"
                            "    string Tags[];\n"
                            "    [required, description(\"how \\\"bad\\\"\")] sint32 Level = 3;\n"
                            "    string Name = \"x\";\n"
                            "};\n");
        json_decref(cls);

        cls = load("{\"__CLASS\":\"Root\",\"__SUPERCLASS\":null,"
                   "\"properties\":[{\"name\":\"A\",\"type\":\"boolean\"}]}");
        _cleanup_free_ char *s2 = NULL;
        assert_int_equal(format_class(cls, &s2), 0);
        assert_string_equal(s2, "class Root\n{\n    boolean A;\n};\n");
        json_decref(cls);

        cls = load("{\"properties\":{}}");
        char *s3 = NULL;
        assert_int_equal(format_class(cls, &s3), -EINVAL);
        json_decref(cls);
}

static void test_caret(void **state) {
        (void)state;
        _cleanup_free_ char *a = NULL;
        assert_int_equal(format_caret("SELECT * FORM X", 1, 10, &a), 0);
        assert_string_equal(a, "  SELECT * FORM X\n"
                               "           ^\n");
        _cleanup_free_ char *b = NULL;
        assert_int_equal(format_caret("SELECT *\r\nFROM\tX WHERE", 2, 7, &b), 0);
        assert_string_equal(b, "  FROM\tX WHERE\n"
                               "      \t ^\n");
        /* Columns count bytes; a wide character takes two cells. */
        _cleanup_free_ char *c = NULL;
        assert_int_equal(format_caret("SELECT \xe6\x97\xa5 x", 1, 12, &c), 0);
        assert_string_equal(c, "  SELECT \xe6\x97\xa5 x\n"
                               "            ^\n");
        /* Past the end of the line (e.g. "unexpected end of query"). */
        _cleanup_free_ char *d = NULL;
        assert_int_equal(format_caret("SELECT", 1, 7, &d), 0);
        assert_string_equal(d, "  SELECT\n        ^\n");
        char *e = NULL;
        assert_int_equal(format_caret("one line", 2, 1, &e), -EINVAL);
        assert_int_equal(format_caret("one line", 0, 1, &e), -EINVAL);
        assert_null(e);
}

static void test_stream_rows(void **state) {
        (void)state;
        Table *t;
        assert_int_equal(table_new(3, &t), 0);
        assert_int_equal(table_set_header(t, 0, "Event"), 0);
        assert_int_equal(table_set_header(t, 1, "Pid"), 0);
        assert_int_equal(table_set_header(t, 2, "Name"), 0);
        table_set_align(t, 1, TABLE_ALIGN_RIGHT);
        const char *r1[] = { "Creation", "1", "sys\ntemd" };
        const char *r2[] = { "Deletion", "12345", "sshd" };
        const char *r3[] = { "C", "7", NULL };
        char *a = NULL, *b = NULL, *c = NULL;
        assert_int_equal(table_stream_row(t, r1, &a), 0);
        assert_int_equal(table_stream_row(t, r2, &b), 0);
        assert_int_equal(table_stream_row(t, r3, &c), 0);
        /* The header comes with the first row; widths only grow. */
        assert_string_equal(a, "Event     Pid  Name\n"
                               "Creation    1  sys\\ntemd\n");
        assert_string_equal(b, "Deletion  12345  sshd\n");
        assert_string_equal(c, "C             7\n");
        assert_int_equal(table_rows(t), 0); /* streamed rows are not kept */
        free(a);
        free(b);
        free(c);
        mem_fail_at(1);
        assert_int_equal(table_stream_row(t, r1, &a), -ENOMEM);
        mem_fail_at(0);
        table_free(t);
}

static void test_event_columns(void **state) {
        (void)state;
        json_t *intrinsic = json_loads(
                "{\"__CLASS\":\"__InstanceModificationEvent\",\"TIME_CREATED\":\"1\","
                "\"TargetInstance\":{\"__CLASS\":\"P\",\"__PATH\":\"x\",\"Pid\":4,\"Name\":\"a\"},"
                "\"PreviousInstance\":{\"__CLASS\":\"P\",\"Pid\":4,\"Name\":\"b\"}}",
                0, NULL);
        assert_non_null(intrinsic);
        Names cols;
        bool class_column = false;
        assert_int_equal(format_event_columns(intrinsic, &cols, &class_column), 0);
        assert_true(class_column);
        assert_int_equal(cols.n, 3);
        assert_string_equal(cols.v[0], "Event");
        assert_string_equal(cols.v[1], "Pid");
        assert_string_equal(cols.v[2], "Name");
        char *cells[3];
        assert_int_equal(format_event_cells(intrinsic, &cols, class_column, cells), 0);
        assert_string_equal(cells[0], "__InstanceModificationEvent");
        assert_string_equal(cells[1], "4");
        assert_string_equal(cells[2], "a");
        for (size_t i = 0; i < 3; i++)
                mem_free(cells[i]);
        mem_fail_at(2);
        assert_int_equal(format_event_cells(intrinsic, &cols, class_column, cells), -ENOMEM);
        mem_fail_at(0);
        format_names_free(&cols);

        json_t *extrinsic = json_loads("{\"__CLASS\":\"App_Alert\",\"SECURITY_DESCRIPTOR\":null,"
                                       "\"TIME_CREATED\":\"5\",\"Severity\":3,\"Text\":\"t\"}",
                                       0, NULL);
        assert_int_equal(format_event_columns(extrinsic, &cols, &class_column), 0);
        assert_false(class_column);
        assert_int_equal(cols.n, 2);
        assert_string_equal(cols.v[0], "Severity");
        assert_string_equal(cols.v[1], "Text");
        /* A later event of another shape: missing cells are empty, case
         * is ignored. */
        json_t *other = json_loads("{\"__CLASS\":\"App_Alert\",\"severity\":4}", 0, NULL);
        assert_int_equal(format_event_cells(other, &cols, class_column, cells), 0);
        assert_string_equal(cells[0], "4");
        assert_string_equal(cells[1], "");
        mem_free(cells[0]);
        mem_free(cells[1]);
        format_names_free(&cols);

        /* Nothing of its own: the class alone. */
        json_t *bare = json_loads("{\"__CLASS\":\"App_Tick\",\"TIME_CREATED\":\"5\"}", 0, NULL);
        assert_int_equal(format_event_columns(bare, &cols, &class_column), 0);
        assert_true(class_column);
        assert_int_equal(cols.n, 1);
        assert_int_equal(format_event_cells(bare, &cols, class_column, cells), 0);
        assert_string_equal(cells[0], "App_Tick");
        mem_free(cells[0]);
        format_names_free(&cols);
        for (unsigned long n = 1; n < 4; n++) {
                mem_fail_at(n);
                int r = format_event_columns(intrinsic, &cols, &class_column);
                mem_fail_at(0);
                if (r == 0)
                        format_names_free(&cols);
                else
                        assert_int_equal(r, -ENOMEM);
        }
        assert_true(format_is_numeric(json_object_get(extrinsic, "TIME_CREATED")));
        assert_true(format_is_numeric(json_object_get(extrinsic, "Severity")));
        assert_false(format_is_numeric(json_object_get(extrinsic, "Text")));
        json_decref(intrinsic);
        json_decref(extrinsic);
        json_decref(other);
        json_decref(bare);
}

static void check_value(const char *type, bool array, const char *text, const char *expect) {
        json_t *def = json_pack("{s:s, s:b}", "type", type, "array", array);
        json_t *v = NULL;
        char *why = NULL;
        int r = propvalue_parse(def, text, &v, &why);
        if (r < 0)
                fail_msg("%s '%s': %s", type, text, why ? why : "failed");
        char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *want = json_loads(expect, JSON_DECODE_ANY, NULL);
        assert_non_null(want);
        /* Types matter: 2000.0 is a real, "1" a string. */
        if (!json_equal(v, want) || json_typeof(v) != json_typeof(want))
                fail_msg("%s '%s': got %s, expected %s", type, text, got, expect);
        free(got);
        json_decref(want);
        json_decref(v);
        json_decref(def);
}

static void check_refused(const char *type, bool array, const char *text, const char *says) {
        json_t *def = json_pack("{s:s, s:b}", "type", type, "array", array);
        json_t *v = NULL;
        char *why = NULL;
        assert_int_equal(propvalue_parse(def, text, &v, &why), -EINVAL);
        assert_null(v);
        if (!strstr(why, says))
                fail_msg("%s '%s': '%s' does not say '%s'", type, text, why, says);
        mem_free(why);
        json_decref(def);
}

static void test_property_values(void **state) {
        (void)state;
        check_value("uint8", false, "255", "255");
        check_value("sint8", false, "-128", "-128");
        check_value("uint16", false, "65535", "65535");
        check_value("sint16", false, "-32768", "-32768");
        check_value("uint32", false, "4294967295", "4294967295");
        check_value("sint32", false, "-2147483648", "-2147483648");
        check_value("uint64", false, "18446744073709551615", "\"18446744073709551615\"");
        check_value("sint64", false, "-9223372036854775808", "\"-9223372036854775808\"");
        check_value("real64", false, "0.5", "0.5");
        check_value("real32", false, "-2e3", "-2000.0");
        check_value("boolean", false, "TRUE", "true");
        check_value("boolean", false, "0", "false");
        check_value("boolean", false, "no", "false");
        check_value("string", false, "a b=c", "\"a b=c\"");
        check_value("string", false, "", "\"\"");
        check_value("string", false, "NULL", "\"NULL\"");
        check_value("datetime", false, "20261126083000.000000+000",
                    "\"20261126083000.000000+000\"");
        check_value("reference", false, "A.Id=1", "\"A.Id=1\"");
        check_value("object", false, "{\"__CLASS\":\"X\"}", "{\"__CLASS\": \"X\"}");
        check_value("uint32", false, "", "null");
        check_value("uint32", false, "NULL", "null");
        check_value("string", true, "{a, b ,c}", "[\"a\", \"b\", \"c\"]");
        check_value("string", true, "a,b", "[\"a\", \"b\"]");
        check_value("sint32", true, "{1,-2}", "[1, -2]");
        check_value("uint64", true, "{1}", "[\"1\"]");
        check_value("string", true, "{}", "[]");
        check_value("string", true, "{ }", "[]");
        check_value("string", true, "", "null");
        check_value("string", true, "{,}", "[\"\", \"\"]");

        check_refused("uint8", false, "256", "out of its range");
        check_refused("uint32", false, "-1", "not a uint32");
        check_refused("uint32", false, "+1", "not a uint32");
        check_refused("uint32", false, " 1", "not a uint32");
        check_refused("uint32", false, "1x", "not a uint32");
        check_refused("sint8", false, "-129", "out of its range");
        check_refused("uint64", false, "18446744073709551616", "out of its range");
        check_refused("sint64", false, "9223372036854775808", "out of its range");
        check_refused("real64", false, "x", "not a real64");
        check_refused("real64", false, "inf", "not a real64");
        check_refused("boolean", false, "maybe", "not a boolean");
        check_refused("object", false, "[1]", "not a JSON object");
        check_refused("string", false, "\xff", "not valid UTF-8");
        check_refused("frob", false, "1", "unknown to lwmi");
        check_refused("uint32", true, "{1,x}", "'x' is not a uint32");
        check_refused("uint32", true, "{1", "write {a,b,c}");
        json_t *def = json_object();
        json_t *v = NULL;
        char *why = NULL;
        assert_int_equal(propvalue_parse(def, "1", &v, &why), -EINVAL);
        assert_non_null(strstr(why, "no type"));
        mem_free(why);
        json_decref(def);

        char *name = NULL;
        const char *value = NULL;
        assert_int_equal(propvalue_split("Text=a=b", &name, &value), 0);
        assert_string_equal(name, "Text");
        assert_string_equal(value, "a=b");
        mem_free(name);
        assert_int_equal(propvalue_split("NoEquals", &name, &value), -EINVAL);
        assert_int_equal(propvalue_split("=x", &name, &value), -EINVAL);
        mem_fail_at(1);
        assert_int_equal(propvalue_split("A=1", &name, &value), -ENOMEM);
        mem_fail_at(0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_alignment),
                cmocka_unit_test(test_utf8_widths),
                cmocka_unit_test(test_escapes_and_empty),
                cmocka_unit_test(test_table_out_of_memory),
                cmocka_unit_test(test_value_text),
                cmocka_unit_test(test_select_list),
                cmocka_unit_test(test_columns_and_objects_table),
                cmocka_unit_test(test_alignment_of_decimal_strings),
                cmocka_unit_test(test_object_table),
                cmocka_unit_test(test_class_text),
                cmocka_unit_test(test_caret),
                cmocka_unit_test(test_stream_rows),
                cmocka_unit_test(test_event_columns),
                cmocka_unit_test(test_property_values),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
