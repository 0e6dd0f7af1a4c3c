/* Unit tests for the engine (engine.h): data queries over a three-level
 * class tree in the repository (deep and shallow, projection, WHERE with
 * comparisons, LIKE, ISA, NULL and dotted paths into embedded objects),
 * every query error with its message and position, providers through a
 * mock (claimed filtering, errors, GetObject without get_instance, mixing
 * with repository classes) and through the real Linux_Process and
 * Linux_OperatingSystem, class and instance writes with the providers'
 * protections, a 10,000-instance enumeration read page by page, and
 * allocation failure through engine_new, an instance put and a query. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "class.h"
#include "cleanup.h"
#include "engine.h"
#include "instance.h"
#include "mem.h"
#include "mock-provider.h"
#include "names.h"
#include "objjson.h"
#include "providers.h"

static int test_argc;
static char **test_argv;

static const char *const NS = "root/cimv2";

/* ---- helpers ---------------------------------------------------------------- */

static void check_status(int got, int want, const Error *err, const char *msg, int line) {
        if (got != want)
                fail_msg("line %d: got %d (%s), want %d", line, got, got != 0 ? err->message : "",
                         want);
        if (want != 0 && msg && !strstr(err->message, msg))
                fail_msg("line %d: message '%s' lacks '%s'", line, err->message, msg);
}
#define CHECK(call, want, msg)                                      \
        do {                                                        \
                Error err_ = { 0 };                                 \
                Error *err = &err_;                                 \
                check_status((call), (want), err, (msg), __LINE__); \
        } while (0)
#define OK(call) CHECK(call, 0, NULL)

static Engine *engine_mem(void) {
        Engine *e = NULL;
        EngineOptions opts = { .repository_path = ":memory:", .host_name = "testhost" };
        OK(engine_new(&opts, &e, err));
        return e;
}

static json_t *parse(const char *text) {
        json_error_t jerr;
        json_t *j = json_loads(text, 0, &jerr);
        if (!j)
                fail_msg("bad test JSON %s: %s", text, jerr.text);
        return j;
}

static int put_class(Engine *e, const char *text, unsigned flags, Error *err) {
        json_t *j = parse(text);
        CimClass *def = NULL;
        int r = objjson_class_from_json(j, NULL, NULL, &def, err);
        json_decref(j);
        if (r == 0)
                r = engine_put_class(e, NS, def, flags, NULL, err);
        class_unref(def);
        return r;
}

static int resolve(void *userdata, const char *name, CimClass **ret, Error *err) {
        return repo_class_get(engine_repo(userdata), NS, name, ret, err);
}

static Instance *make_instance(Engine *e, const char *text) {
        json_t *j = parse(text);
        Instance *i = NULL;
        Error le = { 0 };
        if (objjson_instance_from_json(j, resolve, e, &i, &le) != 0)
                fail_msg("%s: %s", text, le.message);
        json_decref(j);
        return i;
}

static int put_instance(Engine *e, const char *text, Error *err) {
        Instance *i = make_instance(e, text);
        int r = engine_put_instance(e, NS, i, 0, NULL, NULL, err);
        instance_unref(i);
        return r;
}

typedef struct Results {
        Instance **items;
        size_t count;
} Results;

static void results_done(Results *res) {
        for (size_t k = 0; k < res->count; k++)
                instance_unref(res->items[k]);
        free(res->items);
        *res = (Results){ 0 };
}

/* Drain a cursor (ended here). Returns the cursor's final status. */
static int drain(QueryCursor *c, Results *res, Error *err) {
        int r;
        for (;;) {
                Instance *inst = NULL;
                r = engine_query_next(c, &inst, err);
                if (r == -EAGAIN)
                        continue;
                if (r != 0 || !inst)
                        break;
                res->items = realloc(res->items, (res->count + 1) * sizeof(Instance *));
                assert_non_null(res->items);
                res->items[res->count++] = inst;
        }
        /* A finished cursor stays finished. */
        Instance *more = (Instance *)1;
        assert_int_equal(engine_query_next(c, &more, NULL), 0);
        assert_null(more);
        engine_query_end(c);
        return r;
}

static int query(Engine *e, const char *text, Results *res, Error *err) {
        QueryCursor *c = NULL;
        *res = (Results){ 0 };
        int r = engine_query_begin(e, NS, text, strlen(text), &c, err);
        if (r != 0) {
                assert_null(c);
                return r;
        }
        return drain(c, res, err);
}

/* The result's ids, as "1,2,3" in result order. */
static char *ids(const Results *res) {
        static char buf[4096];
        size_t used = 0;
        buf[0] = '\0';
        for (size_t k = 0; k < res->count; k++) {
                const Value *v = instance_get(res->items[k], "Id");
                assert_non_null(v);
                assert_false(v->is_null);
                used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%" PRIu64, k ? "," : "",
                                         v->u);
        }
        return buf;
}

/* The ids a query returns, or fails the test. */
static char *query_ids(Engine *e, const char *text) {
        Results res = { 0 };
        Error le = { 0 };
        int r = query(e, text, &res, &le);
        if (r != 0)
                fail_msg("%s: %d %s", text, r, le.message);
        char *s = ids(&res);
        results_done(&res);
        return s;
}

#define ASSERT_IDS(e, text, want) assert_string_equal(query_ids((e), (text)), (want))

/* A query's error: status, line and column, and a piece of the message. */
static void query_error(Engine *e, const char *text, int status, unsigned line, unsigned column,
                        const char *msg) {
        Results res = { 0 };
        Error le = { 0 };
        int r = query(e, text, &res, &le);
        if (r != status)
                fail_msg("%s: got %d (%s), want %d", text, r, le.message, status);
        assert_int_equal(le.status, status);
        if (le.line != line || le.column != column)
                fail_msg("%s: at %u:%u (%s), want %u:%u", text, le.line, le.column, le.message,
                         line, column);
        if (!strstr(le.message, msg))
                fail_msg("%s: message '%s' lacks '%s'", text, le.message, msg);
}

static const char *str(const Instance *i, const char *name) {
        const Value *v = instance_get(i, name);
        assert_non_null(v);
        return v->is_null ? NULL : v->s;
}

static bool is_null(const Instance *i, const char *name) {
        const Value *v = instance_get(i, name);
        assert_non_null(v);
        return v->is_null;
}

/* The class tree: Test_Base (3 instances) <- Test_Mid (2) <- Test_Leaf (3),
 * Test_Part for embedded objects, and an extrinsic event class. */
static void fill_tree(Engine *e) {
        OK(put_class(e,
                     "{\"__CLASS\": \"Test_Part\", \"properties\": {"
                     "\"Label\": {\"type\": \"string\"}, \"Weight\": {\"type\": \"uint32\"}}}",
                     0, err));
        OK(put_class(
                e,
                "{\"__CLASS\": \"Test_SubPart\", \"__SUPERCLASS\": \"Test_Part\", \"properties\": {"
                "\"Grade\": {\"type\": \"string\"}}}",
                0, err));
        OK(put_class(e,
                     "{\"__CLASS\": \"Test_Base\", \"properties\": {"
                     "\"Id\": {\"type\": \"uint32\", \"key\": true},"
                     "\"Name\": {\"type\": \"string\"}, \"Size\": {\"type\": \"uint64\"},"
                     "\"Flag\": {\"type\": \"boolean\"}, \"When\": {\"type\": \"datetime\"},"
                     "\"Obj\": {\"type\": \"object\"}, \"Tags\": {\"type\": \"string\", \"array\": "
                     "true},"
                     "\"Ratio\": {\"type\": \"real64\"}}}",
                     0, err));
        OK(put_class(
                e,
                "{\"__CLASS\": \"Test_Mid\", \"__SUPERCLASS\": \"Test_Base\", \"properties\": {"
                "\"Color\": {\"type\": \"string\"}}}",
                0, err));
        OK(put_class(
                e,
                "{\"__CLASS\": \"Test_Leaf\", \"__SUPERCLASS\": \"Test_Mid\", \"properties\": {"
                "\"Depth\": {\"type\": \"sint32\"}}}",
                0, err));
        OK(put_class(e,
                     "{\"__CLASS\": \"Test_Alarm\", \"__SUPERCLASS\": \"__ExtrinsicEvent\", "
                     "\"properties\": {"
                     "\"Level\": {\"type\": \"uint32\"}}}",
                     0, err));

        OK(put_instance(
                e,
                "{\"__CLASS\": \"Test_Base\", \"Id\": 1, \"Name\": \"alpha\", \"Size\": \"100\","
                " \"Flag\": true, \"When\": \"20250101000000.000000+000\", \"Ratio\": 0.5,"
                " \"Obj\": {\"__CLASS\": \"Test_Part\", \"Label\": \"bolt\", \"Weight\": 3},"
                " \"Tags\": [\"a\", \"b\"]}",
                err));
        OK(put_instance(
                e,
                "{\"__CLASS\": \"Test_Base\", \"Id\": 2, \"Name\": \"Beta\", \"Size\": "
                "\"18446744073709551615\","
                " \"Flag\": false, \"When\": \"20260601120000.000000+060\","
                " \"Obj\": {\"__CLASS\": \"Test_SubPart\", \"Label\": \"nut\", \"Weight\": 7,"
                " \"Grade\": \"A\"}}",
                err));
        OK(put_instance(e, "{\"__CLASS\": \"Test_Base\", \"Id\": 3}", err));
        OK(put_instance(e,
                        "{\"__CLASS\": \"Test_Mid\", \"Id\": 10, \"Name\": \"gamma\", \"Size\": 50,"
                        " \"Color\": \"red\"}",
                        err));
        OK(put_instance(
                e,
                "{\"__CLASS\": \"Test_Mid\", \"Id\": 11, \"Name\": \"al_pha\", \"Size\": 5000,"
                " \"Color\": \"blue\", \"Flag\": true}",
                err));
        OK(put_instance(e,
                        "{\"__CLASS\": \"Test_Leaf\", \"Id\": 20, \"Name\": \"delta\", \"Size\": 7,"
                        " \"Color\": \"red\", \"Depth\": -3}",
                        err));
        OK(put_instance(
                e,
                "{\"__CLASS\": \"Test_Leaf\", \"Id\": 21, \"Name\": \"[x]\", \"Color\": \"green\","
                " \"Depth\": 4, \"Obj\": {\"__CLASS\": \"Test_Part\", \"Label\": \"bolt\"}}",
                err));
        OK(put_instance(e, "{\"__CLASS\": \"Test_Leaf\", \"Id\": 22, \"Depth\": 0}", err));
}

/* ---- queries over the repository ------------------------------------------------ */

static void test_deep_query(void **state) {
        (void)state;
        Engine *e = engine_mem();
        fill_tree(e);

        /* Parents first, each class in creation order. */
        ASSERT_IDS(e, "SELECT * FROM Test_Base", "1,2,3,10,11,20,21,22");
        ASSERT_IDS(e, "select * from test_mid", "10,11,20,21,22");
        ASSERT_IDS(e, "SELECT * FROM Test_Leaf", "20,21,22");
        ASSERT_IDS(e, "SELECT * FROM Test_Part", "");

        Results res = { 0 };
        OK(query(e, "SELECT * FROM Test_Base", &res, err));
        for (size_t k = 0; k < res.count; k++) {
                /* Each comes as its own class, with every property and the
                 * namespace's stored spelling. */
                assert_string_equal(res.items[k]->ns, NS);
                assert_string_equal(res.items[k]->cls->name, k < 3   ? "Test_Base"
                                                             : k < 5 ? "Test_Mid"
                                                                     : "Test_Leaf");
        }
        assert_string_equal(str(res.items[4], "Color"), "blue");
        assert_int_equal(instance_get(res.items[5], "Depth")->i, -3);
        results_done(&res);

        /* Namespaces in any case and with backslashes. */
        QueryCursor *c = NULL;
        const char *q = "SELECT * FROM Test_Leaf";
        OK(engine_query_begin(e, "ROOT\\CIMV2", q, strlen(q), &c, err));
        OK(drain(c, &res, err));
        assert_int_equal(res.count, 3);
        assert_string_equal(res.items[0]->ns, NS);
        results_done(&res);

        /* Abstract classes contribute no instances of their own. */
        OK(query(e, "SELECT * FROM __SystemClass", &res, err));
        assert_int_equal(res.count, 0);
        engine_free(e);
}

static void test_enum_instances(void **state) {
        (void)state;
        Engine *e = engine_mem();
        fill_tree(e);
        Results res = { 0 };
        QueryCursor *c = NULL;

        OK(engine_enum_instances(e, NS, "Test_Base", false, &c, err));
        assert_string_equal(engine_query_parsed(c)->text, "SELECT * FROM Test_Base");
        assert_true(engine_query_parsed(c)->select_all);
        OK(drain(c, &res, err));
        assert_string_equal(ids(&res), "1,2,3");
        results_done(&res);

        OK(engine_enum_instances(e, NS, "test_base", true, &c, err));
        OK(drain(c, &res, err));
        assert_string_equal(ids(&res), "1,2,3,10,11,20,21,22");
        results_done(&res);

        OK(engine_enum_instances(e, NS, "Test_Mid", false, &c, err));
        OK(drain(c, &res, err));
        assert_string_equal(ids(&res), "10,11");
        /* Not projected: every property is there. */
        assert_string_equal(str(res.items[0], "Name"), "gamma");
        results_done(&res);

        c = NULL;
        CHECK(engine_enum_instances(e, NS, "Nope", true, &c, err), WBEM_E_INVALID_CLASS,
              "class Nope does not exist");
        CHECK(engine_enum_instances(e, "root/nope", "Test_Base", true, &c, err),
              WBEM_E_INVALID_NAMESPACE, "root/nope");
        CHECK(engine_enum_instances(e, NS, NULL, true, &c, err), WBEM_E_INVALID_PARAMETER,
              "no class name");
        assert_null(c);
        engine_free(e);
}

static void test_projection(void **state) {
        (void)state;
        Engine *e = engine_mem();
        fill_tree(e);
        Results res = { 0 };

        OK(query(e, "SELECT Name FROM Test_Leaf", &res, err));
        assert_int_equal(res.count, 3);
        Instance *i = res.items[0];
        assert_string_equal(str(i, "Name"), "delta");
        assert_int_equal(instance_get(i, "Id")->u, 20); /* the key stays */
        assert_true(is_null(i, "Color"));
        assert_true(is_null(i, "Depth"));
        assert_true(is_null(i, "Size"));
        char *rp = instance_relpath(i);
        assert_string_equal(rp, "Test_Leaf.Id=20");
        mem_free(rp);
        const WqlQuery *parsed = NULL;
        results_done(&res);

        /* Case-insensitive names; a subclass's instance keeps only what the
         * query on the superclass selected. */
        OK(query(e, "SELECT name, SIZE FROM Test_Base WHERE Id = 20 OR Id = 1", &res, err));
        assert_string_equal(ids(&res), "1,20");
        assert_string_equal(str(res.items[0], "Name"), "alpha");
        assert_int_equal(instance_get(res.items[0], "Size")->u, 100);
        assert_true(is_null(res.items[0], "Flag"));
        assert_true(is_null(res.items[0], "Obj"));
        assert_true(is_null(res.items[0], "Tags"));
        assert_string_equal(res.items[1]->cls->name, "Test_Leaf");
        assert_true(is_null(res.items[1], "Depth"));
        assert_true(is_null(res.items[1], "Color"));
        results_done(&res);

        /* WHERE sees every property, whatever is selected. */
        OK(query(e, "SELECT Id FROM Test_Mid WHERE Color = 'red'", &res, err));
        assert_string_equal(ids(&res), "10,20");
        assert_true(is_null(res.items[0], "Color"));
        assert_true(is_null(res.items[0], "Name"));
        results_done(&res);

        /* System properties in the select list: keys only. */
        OK(query(e, "SELECT __CLASS, __RELPATH FROM Test_Base WHERE Id = 2", &res, err));
        assert_int_equal(res.count, 1);
        assert_true(is_null(res.items[0], "Name"));
        assert_false(is_null(res.items[0], "Id"));
        results_done(&res);

        /* engine_query_parsed gives the select list. */
        QueryCursor *c = NULL;
        const char *q = "SELECT Name, Color FROM Test_Mid";
        OK(engine_query_begin(e, NS, q, strlen(q), &c, err));
        parsed = engine_query_parsed(c);
        assert_false(parsed->select_all);
        assert_int_equal(parsed->n_select, 2);
        assert_string_equal(parsed->select[1], "Color");
        engine_query_end(c);
        engine_free(e);
}

static void test_where(void **state) {
        (void)state;
        Engine *e = engine_mem();
        fill_tree(e);

        /* comparisons of every kind of value */
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Size > 100", "2,11");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Size >= 100", "1,2,11");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE 100 < Size", "2,11");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Size <= '50'", "10,20");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Size = 18446744073709551615", "2");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Id <> 2 AND Id < 11", "1,3,10");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Id != 2 AND Id < 11", "1,3,10");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name = 'BETA'", "2");    /* case-insensitive */
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name < 'b'", "1,11,21"); /* '[' < 'b' */
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Flag = TRUE", "1,11");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Flag <> TRUE", "2");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Ratio = 0.5", "1");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE When < '20260101000000.000000+000'", "1");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE When = '20260601110000.000000+000'", "2");
        ASSERT_IDS(e, "SELECT * FROM Test_Leaf WHERE Depth < 0", "20");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Id = Id AND Size > Id", "1,2,10,11");
        /* logic and NULL */
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE NOT (Size > 100)", "1,10,20");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Size > 1000 OR Name = 'gamma'", "2,10,11");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name IS NULL", "3,22");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name IS NOT NULL AND Size IS NULL", "21");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name = NULL", "3,22");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name <> NULL", "1,2,10,11,20,21");
        /* LIKE */
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name LIKE 'al%'", "1,11");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name LIKE 'al[_]%'", "11");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name LIKE '_e%'", "2,20");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name LIKE '[[]x]'", "21");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name LIKE '[^a-c]%'", "10,20,21");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name NOT LIKE '%a'", "21");
        /* embedded objects: ISA and dotted paths */
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Obj ISA 'Test_Part'", "1,2,21");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Obj ISA 'Test_SubPart'", "2");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Obj.Label = 'bolt'", "1,21");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Obj.Weight >= 5", "2");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Obj.Grade = 'A'", "2");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Obj.Weight IS NULL", "3,10,11,20,21,22");
        /* system properties */
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE __CLASS = 'Test_Mid'", "10,11");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE __RELPATH = 'Test_Leaf.Id=21'", "21");
        ASSERT_IDS(e,
                   "SELECT * FROM Test_Base WHERE __PATH = '//testhost/root/cimv2:Test_Base.Id=3'",
                   "3");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE __THIS ISA 'Test_Mid' AND Id > 10",
                   "11,20,21,22");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE __NAMESPACE = 'ROOT/cimv2' AND Id = 1", "1");
        engine_free(e);
}

static void test_errors(void **state) {
        (void)state;
        Engine *e = engine_mem();
        fill_tree(e);

        query_error(e, "SELECT * FORM Test_Base", WBEM_E_INVALID_QUERY, 1, 10,
                    "expected FROM, found 'FORM'");
        query_error(e, "SELECT * FROM Nope_Class", WBEM_E_INVALID_CLASS, 1, 15,
                    "class Nope_Class does not exist in namespace root/cimv2");
        query_error(e, "SELECT *\n  FROM\n    Nope", WBEM_E_INVALID_CLASS, 3, 5,
                    "line 3, column 5: class Nope");
        query_error(e, "SELECT * FROM __InstanceCreationEvent", WBEM_E_INVALID_QUERY_TYPE, 1, 15,
                    "__InstanceCreationEvent is an event class: use ExecNotificationQuery");
        query_error(e, "SELECT * FROM Test_Alarm WHERE Level > 1", WBEM_E_INVALID_QUERY_TYPE, 1, 15,
                    "Test_Alarm is an event class");
        query_error(e, "SELECT * FROM __Event", WBEM_E_INVALID_QUERY_TYPE, 1, 15,
                    "__Event is an event class");
        query_error(e, "SELECT * FROM Test_Base WITHIN 5 WHERE Id = 1", WBEM_E_INVALID_QUERY, 1, 25,
                    "WITHIN belongs to event queries");
        query_error(e, "SELECT Id, Nmae FROM Test_Base", WBEM_E_INVALID_QUERY, 1, 12,
                    "'Nmae' is not a property of Test_Base");
        query_error(e, "SELECT * FROM Test_Base WHERE Colr = 'red'", WBEM_E_INVALID_QUERY, 1, 31,
                    "'Colr' is not a property of Test_Base");
        /* A subclass's property is not visible in a query on the superclass. */
        query_error(e, "SELECT * FROM Test_Base WHERE Id > 1 AND Color = 'red'",
                    WBEM_E_INVALID_QUERY, 1, 42, "'Color' is not a property of Test_Base");
        query_error(e, "SELECT Depth FROM Test_Mid", WBEM_E_INVALID_QUERY, 1, 8,
                    "'Depth' is not a property of Test_Mid");
        query_error(e, "SELECT * FROM Test_Base WHERE Name.Label = 'x'", WBEM_E_INVALID_QUERY, 1,
                    31, "not an embedded object");
        query_error(e, "SELECT * FROM Test_Base WHERE Size LIKE '1%'", WBEM_E_INVALID_QUERY, 1, 31,
                    "LIKE needs a string property");
        query_error(e, "SELECT * FROM Test_Base WHERE Flag > TRUE", WBEM_E_INVALID_QUERY, 1, 38,
                    "booleans");
        query_error(e, "SELECT * FROM Test_Base WHERE Name ISA 'Test_Part'", WBEM_E_INVALID_QUERY,
                    1, 31, "ISA needs an embedded object");
        query_error(e, "SELECT * FROM Test_Base WHERE Tags = 'a'", WBEM_E_INVALID_QUERY, 1, 31,
                    "arrays");

        /* namespaces */
        Results res = { 0 };
        QueryCursor *c = NULL;
        const char *q = "SELECT * FROM Test_Base";
        CHECK(engine_query_begin(e, "root/nope", q, strlen(q), &c, err), WBEM_E_INVALID_NAMESPACE,
              "namespace root/nope does not exist");
        CHECK(engine_query_begin(e, NULL, q, strlen(q), &c, err), WBEM_E_INVALID_NAMESPACE,
              "no namespace");
        CHECK(engine_query_begin(e, "root//x", q, strlen(q), &c, err), WBEM_E_INVALID_NAMESPACE,
              "invalid");
        assert_null(c);
        /* The length of the text is what counts, not a NUL. */
        OK(engine_query_begin(e, NS, "SELECT * FROM Test_Leaf WHERE Id = 2", 23, &c, err));
        OK(drain(c, &res, err));
        assert_string_equal(ids(&res), "20,21,22");
        results_done(&res);
        engine_free(e);

        /* The engine's WQL limits. */
        Engine *small = NULL;
        EngineOptions opts = { .repository_path = ":memory:",
                               .wql_limits = { .max_length = 40, .max_depth = 2 } };
        OK(engine_new(&opts, &small, err));
        Error le = { 0 };
        const char *long_q = "SELECT * FROM __SystemClass WHERE __CLASS = 'x'";
        assert_int_equal(engine_query_begin(small, NS, long_q, strlen(long_q), &c, &le),
                         WBEM_E_INVALID_QUERY);
        assert_non_null(strstr(le.message, "longer than 40 bytes"));
        const char *deep_q = "SELECT * FROM A WHERE (((Id=1)))";
        assert_int_equal(engine_query_begin(small, NS, deep_q, strlen(deep_q), &c, &le),
                         WBEM_E_INVALID_QUERY);
        assert_non_null(strstr(le.message, "deep"));
        engine_free(small);
}

/* ---- writes -------------------------------------------------------------------- */

static void test_instance_writes(void **state) {
        (void)state;
        Engine *e = engine_mem();
        fill_tree(e);

        Instance *stored = NULL, *previous = NULL;
        Instance *i =
                make_instance(e, "{\"__CLASS\": \"Test_Mid\", \"Id\": 12, \"Color\": \"pink\"}");
        OK(engine_put_instance(e, "ROOT/CIMV2", i, REPO_CREATE_ONLY, &stored, &previous, err));
        assert_null(previous);
        assert_non_null(stored);
        assert_string_equal(stored->ns, NS);
        char *path = instance_path(stored, engine_host_name(e));
        assert_string_equal(path, "//testhost/root/cimv2:Test_Mid.Id=12");
        mem_free(path);
        stored = instance_unref(stored);
        CHECK(engine_put_instance(e, NS, i, REPO_CREATE_ONLY, NULL, NULL, err),
              WBEM_E_ALREADY_EXISTS, "already exists");
        instance_unref(i);

        /* An update gives the previous version. */
        i = make_instance(e, "{\"__CLASS\": \"Test_Mid\", \"Id\": 12, \"Color\": \"teal\"}");
        OK(engine_put_instance(e, NS, i, REPO_UPDATE_ONLY, &stored, &previous, err));
        assert_string_equal(str(previous, "Color"), "pink");
        assert_string_equal(str(stored, "Color"), "teal");
        assert_string_equal(previous->ns, NS);
        previous = instance_unref(previous);
        stored = instance_unref(stored);
        instance_unref(i);

        /* An instance built on another copy of its class: matched by name. */
        CimClass *copy = NULL;
        OK(class_new("Test_Base", NULL, &copy, err));
        OK(class_add_property(copy, "id", CIM_SINT64, false, true, NULL, err));
        OK(class_add_property(copy, "NAME", CIM_STRING, false, false, NULL, err));
        Instance *foreign = NULL;
        assert_int_equal(instance_new(copy, &foreign), 0);
        Value v = value_sint(CIM_SINT64, 4);
        OK(instance_set(foreign, "id", &v, err));
        OK(engine_put_instance(e, NS, foreign, 0, &stored, NULL, err));
        assert_string_equal(stored->cls->name, "Test_Base");
        assert_int_equal(instance_get(stored, "Id")->u, 4);
        stored = instance_unref(stored);
        instance_unref(foreign);
        OK(class_add_property(copy, "Extra", CIM_STRING, false, false, NULL, err));
        assert_int_equal(instance_new(copy, &foreign), 0);
        OK(instance_set(foreign, "id", &v, err));
        CHECK(engine_put_instance(e, NS, foreign, 0, NULL, NULL, err), WBEM_E_INVALID_PROPERTY,
              "Extra");
        instance_unref(foreign);
        class_unref(copy);

        ASSERT_IDS(e, "SELECT * FROM Test_Mid", "10,11,12,20,21,22");

        /* delete */
        Instance *deleted = NULL;
        OK(engine_delete_instance(e, NS, "Test_Mid.Id=12", &deleted, err));
        assert_string_equal(str(deleted, "Color"), "teal");
        instance_unref(deleted);
        OK(engine_delete_instance(e, NS, "Test_Base.Id=4", NULL, err));
        CHECK(engine_delete_instance(e, NS, "Test_Mid.Id=12", NULL, err), WBEM_E_NOT_FOUND,
              "does not exist");
        CHECK(engine_delete_instance(e, NS, "Test_Mid.Id=", NULL, err), WBEM_E_INVALID_OBJECT_PATH,
              NULL);
        CHECK(engine_delete_instance(e, NS, "Nope.Id=1", NULL, err), WBEM_E_INVALID_CLASS, "Nope");
        CHECK(engine_delete_instance(e, NS, NULL, NULL, err), WBEM_E_INVALID_OBJECT_PATH,
              "no path");
        CHECK(engine_delete_instance(e, "root/x", "Test_Mid.Id=1", NULL, err),
              WBEM_E_INVALID_NAMESPACE, NULL);
        ASSERT_IDS(e, "SELECT * FROM Test_Mid", "10,11,20,21,22");

        /* put errors */
        CHECK(engine_put_instance(e, NS, NULL, 0, NULL, NULL, err), WBEM_E_INVALID_PARAMETER,
              "no instance");
        CHECK(put_instance(e, "{\"__CLASS\": \"Test_Base\"}", err), WBEM_E_ILLEGAL_NULL, "Id");
        i = make_instance(e, "{\"__CLASS\": \"Test_Base\", \"Id\": 9}");
        CHECK(engine_put_instance(e, "root/x", i, 0, NULL, NULL, err), WBEM_E_INVALID_NAMESPACE,
              NULL);
        CHECK(engine_put_instance(e, "root/lwmi", i, 0, NULL, NULL, err), WBEM_E_INVALID_CLASS,
              "class Test_Base does not exist in namespace root/lwmi");
        instance_unref(i);
        engine_free(e);
}

static void test_class_ops(void **state) {
        (void)state;
        Engine *e = engine_mem();
        fill_tree(e);
        CimClass **list = NULL;
        size_t n = 0;

        OK(engine_enum_classes(e, NS, "Test_Base", true, &list, &n, err));
        assert_int_equal(n, 2);
        assert_string_equal(list[0]->name, "Test_Mid");
        assert_string_equal(list[1]->name, "Test_Leaf");
        for (size_t k = 0; k < n; k++)
                class_unref(list[k]);
        free(list);
        CHECK(engine_enum_classes(e, NS, "Nope", true, &list, &n, err), WBEM_E_INVALID_CLASS,
              "Nope");

        CimClass *got = NULL;
        json_t *j = parse("{\"__CLASS\": \"Test_Other\", \"properties\": {\"K\": {\"type\": "
                          "\"string\", \"key\": true}}}");
        CimClass *def = NULL;
        OK(objjson_class_from_json(j, NULL, NULL, &def, err));
        json_decref(j);
        OK(engine_put_class(e, "ROOT\\cimv2", def, REPO_CREATE_ONLY, &got, err));
        assert_string_equal(got->name, "Test_Other");
        class_unref(got);
        CHECK(engine_put_class(e, NS, def, REPO_CREATE_ONLY, NULL, err), WBEM_E_ALREADY_EXISTS,
              NULL);
        CHECK(engine_put_class(e, "root/x", def, 0, NULL, err), WBEM_E_INVALID_NAMESPACE, NULL);
        CHECK(engine_put_class(e, NS, NULL, 0, NULL, err), WBEM_E_INVALID_PARAMETER, "no class");
        class_unref(def);

        CHECK(engine_delete_class(e, NS, "Test_Mid", 0, err), WBEM_E_CLASS_HAS_CHILDREN, NULL);
        OK(engine_delete_class(e, NS, "Test_Mid", REPO_DELETE_CASCADE, err));
        ASSERT_IDS(e, "SELECT * FROM Test_Base", "1,2,3");
        CHECK(engine_delete_class(e, NS, "Test_Leaf", 0, err), WBEM_E_NOT_FOUND, NULL);
        CHECK(engine_delete_class(e, NS, NULL, 0, err), WBEM_E_INVALID_PARAMETER, NULL);
        CHECK(engine_delete_class(e, "root/x", "Test_Base", 0, err), WBEM_E_INVALID_NAMESPACE,
              NULL);
        engine_free(e);
}

/* ---- GetObject ------------------------------------------------------------------ */

static void test_get_object(void **state) {
        (void)state;
        Engine *e = engine_mem();
        fill_tree(e);
        Instance *i = NULL;
        CimClass *c = NULL;

        OK(engine_get_object(e, NS, "Test_Leaf.Id=20", &i, &c, err));
        assert_null(c);
        assert_string_equal(str(i, "Name"), "delta");
        assert_string_equal(i->ns, NS);
        i = instance_unref(i);
        /* through the superclass, in any case, with the namespace in the path */
        OK(engine_get_object(e, "Root/CIMV2", "\\\\.\\root\\cimv2:test_base.ID=20", &i, &c, err));
        assert_string_equal(i->cls->name, "Test_Leaf");
        i = instance_unref(i);
        /* a class */
        OK(engine_get_object(e, NS, "Test_Mid", &i, &c, err));
        assert_null(i);
        assert_string_equal(c->name, "Test_Mid");
        c = class_unref(c);
        OK(engine_get_object(e, NS, "__InstanceCreationEvent", &i, &c, err));
        c = class_unref(c);

        CHECK(engine_get_object(e, NS, "Test_Nope", &i, &c, err), WBEM_E_NOT_FOUND, "Test_Nope");
        CHECK(engine_get_object(e, NS, "Test_Nope.Id=1", &i, &c, err), WBEM_E_INVALID_CLASS,
              "Test_Nope");
        CHECK(engine_get_object(e, NS, "Test_Leaf.Id=99", &i, &c, err), WBEM_E_NOT_FOUND,
              "instance Test_Leaf.Id=99 does not exist");
        CHECK(engine_get_object(e, NS, "Test_Leaf.Id=10", &i, &c, err), WBEM_E_NOT_FOUND, NULL);
        CHECK(engine_get_object(e, NS, "Test_Leaf.Id=", &i, &c, err), WBEM_E_INVALID_OBJECT_PATH,
              NULL);
        CHECK(engine_get_object(e, NS, "Test_Leaf.Nope=1", &i, &c, err), WBEM_E_INVALID_OBJECT_PATH,
              "Nope");
        CHECK(engine_get_object(e, NS, "Test_Leaf=@", &i, &c, err), WBEM_E_INVALID_OBJECT_PATH,
              "not a singleton");
        CHECK(engine_get_object(e, NS, "root/lwmi:Test_Leaf.Id=20", &i, &c, err),
              WBEM_E_INVALID_OBJECT_PATH, "names namespace");
        CHECK(engine_get_object(e, NS, NULL, &i, &c, err), WBEM_E_INVALID_OBJECT_PATH, "no path");
        CHECK(engine_get_object(e, "root/x", "Test_Leaf", &i, &c, err), WBEM_E_INVALID_NAMESPACE,
              NULL);
        assert_null(i);
        assert_null(c);

        /* A singleton in the repository. */
        OK(put_class(e,
                     "{\"__CLASS\": \"Test_Config\", \"singleton\": true, \"properties\": {"
                     "\"Level\": {\"type\": \"uint32\"}}}",
                     0, err));
        OK(put_instance(e, "{\"__CLASS\": \"Test_Config\", \"Level\": 7}", err));
        OK(engine_get_object(e, NS, "Test_Config=@", &i, &c, err));
        assert_int_equal(instance_get(i, "Level")->u, 7);
        i = instance_unref(i);
        CHECK(engine_get_object(e, NS, "Test_Config.Level=7", &i, &c, err),
              WBEM_E_INVALID_OBJECT_PATH, "singleton");
        engine_free(e);
}

/* ---- providers ---------------------------------------------------------------- */

static const char *const mock_classes =
        "[{\"__CLASS\": \"Mock_Base\", \"abstract\": true, \"properties\": {"
        "  \"Id\": {\"type\": \"uint32\", \"key\": true}, \"Name\": {\"type\": \"string\"}}},"
        " {\"__CLASS\": \"Mock_Item\", \"__SUPERCLASS\": \"Mock_Base\", \"properties\": {"
        "  \"Value\": {\"type\": \"sint32\"}}},"
        " {\"__CLASS\": \"Mock_Single\", \"singleton\": true, \"properties\": {"
        "  \"Value\": {\"type\": \"sint32\"}}}]";

static const MockRow mock_rows[] = {
        { "Mock_Item", 1, "one", 10 },   { "Mock_Item", 2, "two", 20 },
        { "Mock_Base", 99, "never", 0 }, /* abstract: never asked for */
        { "Mock_Item", 3, NULL, 30 },    { "Mock_Single", 0, NULL, 42 },
};

static Engine *engine_with_mock(MockConfig *cfg, MockStats *stats) {
        Engine *e = engine_mem();
        Provider *p = NULL;
        if (!cfg->classes_json)
                cfg->classes_json = mock_classes;
        if (!cfg->rows) {
                cfg->rows = mock_rows;
                cfg->n_rows = ELEMENTSOF(mock_rows);
        }
        assert_int_equal(mock_provider_new(cfg, stats, &p), 0);
        OK(engine_register_provider(e, p, err));
        return e;
}

static void test_provider_unfiltered(void **state) {
        (void)state;
        MockStats stats;
        MockConfig cfg = { .with_get = true };
        Engine *e = engine_with_mock(&cfg, &stats);
        assert_non_null(engine_class_provider(e, "ROOT/CIMV2", "mock_item"));
        assert_null(engine_class_provider(e, NS, "Test_Base"));
        assert_null(engine_class_provider(e, "root/x", "Mock_Item"));

        /* The abstract class is never asked for; WHERE is applied by the
         * engine; the query goes to the provider as a hint. */
        ASSERT_IDS(e, "SELECT * FROM Mock_Base", "1,2,3");
        assert_int_equal(stats.begins, 1);
        assert_string_equal(stats.begun[0], "Mock_Item");
        assert_int_equal(stats.begins_with_query, 1);
        assert_int_equal(stats.ends, 1);
        ASSERT_IDS(e, "SELECT * FROM Mock_Item WHERE Value > 15", "2,3");
        ASSERT_IDS(e, "SELECT * FROM Mock_Base WHERE Name IS NULL", "3");

        Results res = { 0 };
        OK(query(e, "SELECT Name FROM Mock_Item WHERE Id = 2", &res, err));
        assert_int_equal(res.count, 1);
        assert_string_equal(str(res.items[0], "Name"), "two");
        assert_true(is_null(res.items[0], "Value"));
        assert_string_equal(res.items[0]->ns, NS);
        results_done(&res);

        /* Enumeration gives the provider no query. */
        unsigned with_query = stats.begins_with_query;
        QueryCursor *c = NULL;
        OK(engine_enum_instances(e, NS, "Mock_Item", false, &c, err));
        OK(drain(c, &res, err));
        assert_string_equal(ids(&res), "1,2,3");
        results_done(&res);
        assert_int_equal(stats.begins_with_query, with_query);

        /* Ending a cursor in the middle ends the provider's cursor. */
        unsigned ends = stats.ends;
        const char *q = "SELECT * FROM Mock_Item";
        OK(engine_query_begin(e, NS, q, strlen(q), &c, err));
        Instance *i = NULL;
        assert_int_equal(engine_query_next(c, &i, NULL), 0);
        assert_non_null(i);
        instance_unref(i);
        engine_query_end(c);
        assert_int_equal(stats.ends, ends + 1);
        assert_int_equal(stats.opened, stats.ends);

        engine_free(e);
        assert_true(stats.freed);
}

/* The peer's identity reaches the provider, copied into the cursor (the
 * caller's struct need not outlive engine_query_begin_as()); the
 * functions without _as give it none (the daemon itself). */
static void test_provider_caller(void **state) {
        (void)state;
        MockStats stats;
        MockConfig cfg = { .with_get = true };
        Engine *e = engine_with_mock(&cfg, &stats);
        Results res = { 0 };
        QueryCursor *c = NULL;
        Instance *i = NULL;
        CimClass *cls = NULL;
        const char *q = "SELECT * FROM Mock_Base";

        gid_t *groups = mem_malloc(2 * sizeof(gid_t));
        assert_non_null(groups);
        groups[0] = 77;
        groups[1] = 78;
        ProviderCaller *caller = mem_malloc(sizeof(ProviderCaller));
        assert_non_null(caller);
        *caller = (ProviderCaller){ .uid = 1234, .gid = 99, .groups = groups, .n_groups = 2 };
        OK(engine_query_begin_as(e, caller, NS, q, strlen(q), &c, err));
        groups[0] = 0;
        mem_free(groups);
        mem_free(caller);
        OK(drain(c, &res, err)); /* enum_begin runs at the first pull */
        assert_string_equal(ids(&res), "1,2,3");
        results_done(&res);
        assert_int_equal(stats.caller_uid, 1234);
        assert_int_equal(stats.caller_groups, 2);
        assert_int_equal(stats.caller_group0, 77);

        ProviderCaller nobody = { .uid = 65534, .gid = 65534 };
        OK(engine_enum_instances_as(e, &nobody, NS, "Mock_Item", false, &c, err));
        OK(drain(c, &res, err));
        results_done(&res);
        assert_int_equal(stats.caller_uid, 65534);
        assert_int_equal(stats.caller_groups, 0);

        OK(engine_get_object_as(e, &nobody, NS, "Mock_Item.Id=2", &i, &cls, err));
        i = instance_unref(i);
        assert_int_equal(stats.caller_uid, 65534);

        OK(engine_get_object(e, NS, "Mock_Item.Id=2", &i, &cls, err));
        i = instance_unref(i);
        assert_int_equal(stats.caller_uid, -2);
        OK(engine_query_begin(e, NS, q, strlen(q), &c, err));
        OK(drain(c, &res, err));
        results_done(&res);
        assert_int_equal(stats.caller_uid, -2);

        /* a failure to copy the groups is a clean -ENOMEM */
        ProviderCaller two = { .uid = 5, .gid = 5, .groups = (gid_t[]){ 1, 2 }, .n_groups = 2 };
        unsigned long n;
        for (n = 1; n < 200; n++) {
                c = NULL;
                mem_fail_at(n);
                int r = engine_query_begin_as(e, &two, NS, q, strlen(q), &c, NULL);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 0);
                        engine_query_end(c);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
                assert_null(c);
        }
        assert_true(n < 200);
        engine_free(e);
}

static void test_provider_filtered(void **state) {
        (void)state;
        MockStats stats;
        /* The mock claims to have applied WHERE and does not: the engine
         * trusts the claim. Its instances are shared (copied before
         * projection). */
        MockConfig cfg = { .claim_filtered = true, .shared = true };
        Engine *e = engine_with_mock(&cfg, &stats);
        ASSERT_IDS(e, "SELECT * FROM Mock_Item WHERE Value > 15", "1,2,3");

        Results res = { 0 };
        OK(query(e, "SELECT Name FROM Mock_Item WHERE Value > 1000", &res, err));
        assert_int_equal(res.count, 3);
        assert_string_equal(str(res.items[0], "Name"), "one");
        assert_true(is_null(res.items[0], "Value"));
        results_done(&res);
        /* The provider's own (shared) instances were not changed. */
        OK(query(e, "SELECT * FROM Mock_Item", &res, err));
        assert_int_equal(instance_get(res.items[0], "Value")->i, 10);
        results_done(&res);
        engine_free(e);
}

static void test_provider_errors(void **state) {
        (void)state;
        MockStats stats;
        Results res = { 0 };

        /* A provider's status, with its name in the message; the cursor is
         * then finished and the provider's cursor ended. */
        MockConfig cfg = { .fail_at = 2, .fail_status = WBEM_E_PROVIDER_FAILURE };
        Engine *e = engine_with_mock(&cfg, &stats);
        CHECK(query(e, "SELECT * FROM Mock_Item", &res, err), WBEM_E_PROVIDER_FAILURE,
              "provider mock: mock: lost the data at call 2");
        assert_int_equal(res.count, 1);
        results_done(&res);
        assert_int_equal(stats.opened, stats.ends);
        engine_free(e);

        /* WBEM_E_FAILED (1) comes back as itself: an instance is 0 with
         * *ret set, so nothing can mistake it. */
        cfg = (MockConfig){ .fail_at = 1, .fail_status = WBEM_E_FAILED };
        e = engine_with_mock(&cfg, &stats);
        Error le = { 0 };
        assert_int_equal(query(e, "SELECT * FROM Mock_Item", &res, &le), WBEM_E_FAILED);
        assert_int_equal(le.status, WBEM_E_FAILED);
        assert_non_null(strstr(le.message, "lost the data"));
        assert_int_equal(res.count, 0);
        engine_free(e);

        /* A negative errno. */
        cfg = (MockConfig){ .fail_at = 3, .fail_status = -EIO };
        e = engine_with_mock(&cfg, &stats);
        le = (Error){ 0 };
        assert_int_equal(query(e, "SELECT * FROM Mock_Item", &res, &le), -EIO);
        assert_int_equal(res.count, 2);
        assert_int_equal(le.status, WBEM_E_FAILED);
        results_done(&res);
        engine_free(e);

        /* enum_begin fails. */
        cfg = (MockConfig){ .begin_status = WBEM_E_ACCESS_DENIED };
        e = engine_with_mock(&cfg, &stats);
        CHECK(query(e, "SELECT * FROM Mock_Item", &res, err), WBEM_E_ACCESS_DENIED,
              "provider mock: mock: cannot start");
        assert_int_equal(stats.ends, 0);
        engine_free(e);

        /* An instance of another class. */
        cfg = (MockConfig){ .wrong_class = true };
        e = engine_with_mock(&cfg, &stats);
        CHECK(query(e, "SELECT * FROM Mock_Item", &res, err), WBEM_E_PROVIDER_FAILURE,
              "gave an instance of Mock_Wrong for class Mock_Item");
        assert_int_equal(stats.opened, stats.ends);
        engine_free(e);

        /* Registration failures free the provider. */
        e = engine_mem();
        Provider *p = NULL;
        cfg = (MockConfig){ .classes_json = mock_classes,
                            .get_classes_status = WBEM_E_PROVIDER_FAILURE };
        assert_int_equal(mock_provider_new(&cfg, &stats, &p), 0);
        CHECK(engine_register_provider(e, p, err), WBEM_E_PROVIDER_FAILURE, "no classes today");
        assert_true(stats.freed);
        cfg = (MockConfig){ .classes_json = mock_classes };
        assert_int_equal(mock_provider_new(&cfg, NULL, &p), 0);
        OK(engine_register_provider(e, p, err));
        cfg.name = "second";
        assert_int_equal(mock_provider_new(&cfg, &stats, &p), 0);
        CHECK(engine_register_provider(e, p, err), WBEM_E_ALREADY_EXISTS,
              "class Mock_Base in namespace root/cimv2 is already served by the mock provider");
        assert_true(stats.freed);
        /* A class the repository refuses (a bad superclass). */
        cfg = (MockConfig){ .name = "bad",
                            .classes_json =
                                    "[{\"__CLASS\": \"Bad_One\", \"__SUPERCLASS\": \"Nope\"}]" };
        assert_int_equal(mock_provider_new(&cfg, &stats, &p), 0);
        CHECK(engine_register_provider(e, p, err), WBEM_E_INVALID_SUPERCLASS,
              "provider bad: class Bad_One:");
        assert_true(stats.freed);
        CHECK(engine_register_provider(e, NULL, err), WBEM_E_INVALID_PARAMETER, NULL);
        /* A namespace of its own is created. */
        cfg = (MockConfig){ .name = "elsewhere", .ns = "root/mock", .classes_json = mock_classes };
        assert_int_equal(mock_provider_new(&cfg, &stats, &p), 0);
        OK(engine_register_provider(e, p, err));
        assert_non_null(engine_class_provider(e, "root/mock", "Mock_Item"));
        cfg = (MockConfig){ .name = "orphan",
                            .ns = "root/no/parent",
                            .classes_json = mock_classes };
        assert_int_equal(mock_provider_new(&cfg, &stats, &p), 0);
        CHECK(engine_register_provider(e, p, err), WBEM_E_INVALID_NAMESPACE, NULL);
        assert_true(stats.freed);
        engine_free(e);
}

static void test_provider_get(void **state) {
        (void)state;
        MockStats stats;
        Instance *i = NULL;
        CimClass *c = NULL;

        /* with get_instance: the keys arrive converted (uint32) */
        MockConfig cfg = { .with_get = true };
        Engine *e = engine_with_mock(&cfg, &stats);
        OK(engine_get_object(e, NS, "Mock_Item.Id=2", &i, &c, err));
        assert_string_equal(str(i, "Name"), "two");
        assert_string_equal(i->ns, NS);
        i = instance_unref(i);
        OK(engine_get_object(e, NS, "Mock_Item=\"3\"", &i, &c, err)); /* unnamed key, as a string */
        assert_int_equal(instance_get(i, "Value")->i, 30);
        i = instance_unref(i);
        assert_int_equal(stats.gets, 2);
        assert_int_equal(stats.begins, 0);
        CHECK(engine_get_object(e, NS, "Mock_Item.Id=7", &i, &c, err), WBEM_E_NOT_FOUND,
              "instance Mock_Item.Id=7 does not exist in namespace root/cimv2");
        CHECK(engine_get_object(e, NS, "Mock_Item.Id=\"x\"", &i, &c, err),
              WBEM_E_INVALID_OBJECT_PATH, "key Id");
        CHECK(engine_get_object(e, NS, "Mock_Item.Id=-1", &i, &c, err), WBEM_E_INVALID_OBJECT_PATH,
              "key Id");
        CHECK(engine_get_object(e, NS, "Mock_Item.Name=\"x\"", &i, &c, err),
              WBEM_E_INVALID_OBJECT_PATH, "Name is not a key");
        CHECK(engine_get_object(e, NS, "Mock_Item.Id=1,Id=2", &i, &c, err),
              WBEM_E_INVALID_OBJECT_PATH, "duplicate key");
        CHECK(engine_get_object(e, NS, "Mock_Item=@", &i, &c, err), WBEM_E_INVALID_OBJECT_PATH,
              "not a singleton");
        CHECK(engine_get_object(e, NS, "Mock_Single.Value=1", &i, &c, err),
              WBEM_E_INVALID_OBJECT_PATH, "its path is Mock_Single=@");
        assert_int_equal(stats.gets, 3);
        engine_free(e);

        /* without get_instance: the engine enumerates and compares keys */
        cfg = (MockConfig){ 0 };
        e = engine_with_mock(&cfg, &stats);
        OK(engine_get_object(e, NS, "Mock_Item.Id=3", &i, &c, err));
        assert_int_equal(instance_get(i, "Value")->i, 30);
        i = instance_unref(i);
        assert_int_equal(stats.begins, 1);
        assert_int_equal(stats.ends, 1);
        assert_int_equal(stats.begins_with_query, 0);
        CHECK(engine_get_object(e, NS, "Mock_Item.Id=4", &i, &c, err), WBEM_E_NOT_FOUND,
              "Mock_Item.Id=4");
        assert_int_equal(stats.ends, 2);
        /* a singleton */
        OK(engine_get_object(e, NS, "Mock_Single=@", &i, &c, err));
        assert_int_equal(instance_get(i, "Value")->i, 42);
        i = instance_unref(i);
        /* The abstract class's path finds the instance of its subclass
         * (the abstract class itself is never asked). */
        unsigned begins = stats.begins;
        OK(engine_get_object(e, NS, "Mock_Base.Id=1", &i, &c, err));
        assert_string_equal(i->cls->name, "Mock_Item");
        i = instance_unref(i);
        assert_int_equal(stats.begins, begins + 1);
        assert_string_equal(stats.begun[begins], "Mock_Item");
        CHECK(engine_get_object(e, NS, "Mock_Base.Id=99", &i, &c, err), WBEM_E_NOT_FOUND, NULL);
        engine_free(e);

        /* errors while enumerating for a get */
        cfg = (MockConfig){ .fail_at = 1, .fail_status = WBEM_E_PROVIDER_FAILURE };
        e = engine_with_mock(&cfg, &stats);
        CHECK(engine_get_object(e, NS, "Mock_Item.Id=3", &i, &c, err), WBEM_E_PROVIDER_FAILURE,
              "provider mock: mock: lost the data");
        assert_int_equal(stats.opened, stats.ends);
        engine_free(e);
        cfg = (MockConfig){ .begin_status = WBEM_E_ACCESS_DENIED };
        e = engine_with_mock(&cfg, &stats);
        CHECK(engine_get_object(e, NS, "Mock_Item.Id=3", &i, &c, err), WBEM_E_ACCESS_DENIED,
              "cannot start");
        engine_free(e);
}

/* A provider's class under a repository class: both in one deep query. */
static void test_provider_mixed(void **state) {
        (void)state;
        Engine *e = engine_mem();
        fill_tree(e);
        MockStats stats;
        static const MockRow rows[] = {
                { "Mock_Leaf", 30, "zeta", 5 },
                { "Mock_Leaf", 31, "alpine", 6 },
        };
        MockConfig cfg = {
                .classes_json = "[{\"__CLASS\": \"Mock_Leaf\", \"__SUPERCLASS\": \"Test_Mid\", "
                                "\"properties\": {"
                                "\"Value\": {\"type\": \"sint32\"}}}]",
                .rows = rows,
                .n_rows = ELEMENTSOF(rows),
        };
        Provider *p = NULL;
        assert_int_equal(mock_provider_new(&cfg, &stats, &p), 0);
        OK(engine_register_provider(e, p, err));

        ASSERT_IDS(e, "SELECT * FROM Test_Base", "1,2,3,10,11,20,21,22,30,31");
        ASSERT_IDS(e, "SELECT * FROM Test_Base WHERE Name LIKE 'al%'", "1,11,31");
        ASSERT_IDS(e, "SELECT * FROM Test_Mid WHERE __CLASS = 'Mock_Leaf'", "30,31");
        ASSERT_IDS(e, "SELECT * FROM Mock_Leaf WHERE Value = 5", "30");
        /* The subclass's property is not visible on the superclass. */
        query_error(e, "SELECT * FROM Test_Mid WHERE Value = 5", WBEM_E_INVALID_QUERY, 1, 30,
                    "'Value' is not a property of Test_Mid");
        Results res = { 0 };
        OK(query(e, "SELECT Name FROM Test_Mid WHERE Id = 31", &res, err));
        assert_int_equal(res.count, 1);
        assert_string_equal(str(res.items[0], "Name"), "alpine");
        assert_true(is_null(res.items[0], "Value"));
        results_done(&res);

        /* GetObject through the repository's superclass finds the provider's
         * instance (keys are shared). */
        Instance *i = NULL;
        CimClass *c = NULL;
        OK(engine_get_object(e, NS, "Test_Base.Id=31", &i, &c, err));
        assert_string_equal(i->cls->name, "Mock_Leaf");
        i = instance_unref(i);
        CHECK(engine_get_object(e, NS, "Test_Base.Id=32", &i, &c, err), WBEM_E_NOT_FOUND,
              "Test_Base.Id=32");

        /* The provider's class, and the classes it derives from, are read-only. */
        CHECK(put_class(e, "{\"__CLASS\": \"Mock_Leaf\", \"__SUPERCLASS\": \"Test_Mid\"}", 0, err),
              WBEM_E_READ_ONLY,
              "class Mock_Leaf belongs to the mock provider and cannot be changed");
        CHECK(put_class(e, "{\"__CLASS\": \"Test_Mid\", \"__SUPERCLASS\": \"Test_Base\"}",
                        REPO_FORCE, err),
              WBEM_E_READ_ONLY,
              "class Test_Mid is a superclass of Mock_Leaf, which belongs to the mock provider");
        CHECK(engine_delete_class(e, NS, "mock_leaf", 0, err), WBEM_E_READ_ONLY,
              "cannot be deleted");
        CHECK(engine_delete_class(e, NS, "Test_Base", REPO_DELETE_CASCADE, err), WBEM_E_READ_ONLY,
              "superclass of Mock_Leaf");
        CHECK(put_instance(e, "{\"__CLASS\": \"Mock_Leaf\", \"Id\": 40}", err),
              WBEM_E_NOT_SUPPORTED,
              "instances of Mock_Leaf come from the mock provider and cannot be written");
        CHECK(engine_delete_instance(e, NS, "Mock_Leaf.Id=30", NULL, err), WBEM_E_NOT_SUPPORTED,
              "instances of Mock_Leaf come from the mock provider");

        /* A subclass of the provider's class lives in the repository. */
        OK(put_class(e, "{\"__CLASS\": \"Test_Deeper\", \"__SUPERCLASS\": \"Mock_Leaf\"}", 0, err));
        OK(put_instance(e, "{\"__CLASS\": \"Test_Deeper\", \"Id\": 50, \"Value\": 9}", err));
        ASSERT_IDS(e, "SELECT * FROM Mock_Leaf WHERE Value > 5", "31,50");
        /* GetObject on the provider's class finds the repository's
         * subclass instance too. */
        OK(engine_get_object(e, NS, "Mock_Leaf.Id=50", &i, &c, err));
        assert_string_equal(i->cls->name, "Test_Deeper");
        i = instance_unref(i);
        OK(engine_get_object(e, NS, "Mock_Leaf.Id=30", &i, &c, err));
        assert_string_equal(i->cls->name, "Mock_Leaf");
        i = instance_unref(i);
        CHECK(engine_get_object(e, NS, "Mock_Leaf.Id=1", &i, &c, err), WBEM_E_NOT_FOUND, NULL);
        CHECK(engine_get_object(e, NS, "Mock_Leaf.Id=\"x\"", &i, &c, err),
              WBEM_E_INVALID_OBJECT_PATH, NULL);
        engine_free(e);
}

/* A provider registered for a class the repository already had instances
 * of: from then on the provider alone answers. */
static void test_provider_takes_over(void **state) {
        (void)state;
        Engine *e = engine_mem();
        OK(put_class(
                e,
                "{\"__CLASS\": \"Mock_Base\", \"properties\": {"
                "\"Id\": {\"type\": \"uint32\", \"key\": true}, \"Name\": {\"type\": \"string\"}}}",
                0, err));
        OK(put_class(
                e,
                "{\"__CLASS\": \"Mock_Item\", \"__SUPERCLASS\": \"Mock_Base\", \"properties\": {"
                "\"Value\": {\"type\": \"sint32\"}}}",
                0, err));
        OK(put_instance(e, "{\"__CLASS\": \"Mock_Item\", \"Id\": 5, \"Value\": 1}", err));
        ASSERT_IDS(e, "SELECT * FROM Mock_Item", "5");

        MockStats stats;
        MockConfig cfg = { .classes_json = mock_classes,
                           .rows = mock_rows,
                           .n_rows = ELEMENTSOF(mock_rows) };
        Provider *p = NULL;
        assert_int_equal(mock_provider_new(&cfg, &stats, &p), 0);
        OK(engine_register_provider(e, p, err));
        ASSERT_IDS(e, "SELECT * FROM Mock_Base", "1,2,3");
        Instance *i = NULL;
        CimClass *c = NULL;
        CHECK(engine_get_object(e, NS, "Mock_Item.Id=5", &i, &c, err), WBEM_E_NOT_FOUND, NULL);
        OK(engine_get_object(e, NS, "Mock_Item.Id=2", &i, &c, err));
        instance_unref(i);
        /* The class is now the provider's: abstract, as it declared. */
        OK(engine_get_object(e, NS, "Mock_Base", &i, &c, err));
        assert_true(c->is_abstract);
        class_unref(c);
        engine_free(e);
}

/* ---- the real providers -------------------------------------------------------- */

static void read_line(const char *path, char *buf, size_t size) {
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        assert_non_null(fgets(buf, (int)size, f));
        fclose(f);
        buf[strcspn(buf, "\n")] = '\0';
}

static void test_linux_providers(void **state) {
        (void)state;
        Engine *e = engine_mem();
        Provider *p = NULL;
        assert_int_equal(process_provider_new(&p), 0);
        OK(engine_register_provider(e, p, err));
        assert_int_equal(os_provider_new(&p), 0);
        OK(engine_register_provider(e, p, err));

        char q[128], comm[64], cmdline[4096] = "";
        snprintf(q, sizeof(q),
                 "SELECT Name, CommandLine, UserId FROM Linux_Process WHERE ProcessId = %d",
                 (int)getpid());
        read_line("/proc/self/comm", comm, sizeof(comm));
        for (int k = 0; k < test_argc; k++)
                snprintf(cmdline + strlen(cmdline), sizeof(cmdline) - strlen(cmdline), "%s%s",
                         k ? " " : "", test_argv[k]);

        Results res = { 0 };
        OK(query(e, q, &res, err));
        assert_int_equal(res.count, 1);
        Instance *i = res.items[0];
        assert_int_equal(instance_get(i, "ProcessId")->u, (uint64_t)getpid());
        assert_string_equal(str(i, "Name"), comm);
        assert_string_equal(str(i, "CommandLine"), cmdline);
        assert_int_equal(instance_get(i, "UserId")->u, (uint64_t)getuid());
        assert_true(is_null(i, "ParentProcessId"));
        assert_true(is_null(i, "ThreadCount"));
        assert_string_equal(i->ns, NS);
        char *path = instance_path(i, engine_host_name(e));
        char want[128];
        snprintf(want, sizeof(want), "//testhost/root/cimv2:Linux_Process.ProcessId=%d",
                 (int)getpid());
        assert_string_equal(path, want);
        mem_free(path);
        results_done(&res);

        /* A WHERE the provider does not apply itself: the engine filters. */
        snprintf(q, sizeof(q),
                 "SELECT ProcessId FROM Linux_Process WHERE ProcessId = %d OR ProcessId = %d",
                 (int)getpid(), (int)getppid());
        OK(query(e, q, &res, err));
        assert_int_equal(res.count, 2);
        results_done(&res);
        snprintf(q, sizeof(q),
                 "SELECT * FROM Linux_Process WHERE ProcessId = %d AND Name = 'no such name'",
                 (int)getpid());
        OK(query(e, q, &res, err));
        assert_int_equal(res.count, 0);
        results_done(&res);
        query_error(e, "SELECT Nmae FROM Linux_Process", WBEM_E_INVALID_QUERY, 1, 8,
                    "'Nmae' is not a property of Linux_Process");

        /* GetObject */
        CimClass *c = NULL;
        snprintf(q, sizeof(q), "Linux_Process.ProcessId=%d", (int)getpid());
        OK(engine_get_object(e, NS, q, &i, &c, err));
        assert_string_equal(str(i, "Name"), comm);
        assert_int_equal(instance_get(i, "ParentProcessId")->u, (uint64_t)getppid());
        i = instance_unref(i);
        CHECK(engine_get_object(e, NS, "Linux_Process.ProcessId=4294967295", &i, &c, err),
              WBEM_E_NOT_FOUND, NULL);

        struct utsname u;
        assert_int_equal(uname(&u), 0);
        OK(engine_get_object(e, NS, "Linux_OperatingSystem=@", &i, &c, err));
        assert_string_equal(str(i, "Name"), "Linux");
        assert_string_equal(str(i, "Version"), u.release);
        assert_string_equal(str(i, "CSName"), u.nodename);
        assert_string_equal(i->ns, NS);
        char *rp = instance_relpath(i);
        assert_string_equal(rp, "Linux_OperatingSystem=@");
        mem_free(rp);
        i = instance_unref(i);
        OK(query(e, "SELECT Name FROM Linux_OperatingSystem WHERE Name = 'Linux'", &res, err));
        assert_int_equal(res.count, 1);
        assert_true(is_null(res.items[0], "Version"));
        results_done(&res);

        /* read-only */
        CHECK(engine_delete_class(e, NS, "Linux_Process", 0, err), WBEM_E_READ_ONLY,
              "process provider");
        snprintf(q, sizeof(q), "Linux_Process.ProcessId=%d", (int)getpid());
        CHECK(engine_delete_instance(e, NS, q, NULL, err), WBEM_E_NOT_SUPPORTED,
              "instances of Linux_Process come from the process provider and cannot be written");
        engine_free(e);
}

/* ---- a large class, read page by page ------------------------------------------ */

static void put_items(Engine *e, unsigned n) {
        OK(put_class(
                e,
                "{\"__CLASS\": \"Big_Item\", \"properties\": {"
                "\"Id\": {\"type\": \"uint32\", \"key\": true}, \"Value\": {\"type\": \"uint32\"},"
                "\"Label\": {\"type\": \"string\"}}}",
                0, err));
        CimClass *cls = NULL;
        OK(repo_class_get(engine_repo(e), NS, "Big_Item", &cls, err));
        for (unsigned k = 1; k <= n; k++) {
                Instance *i = NULL;
                assert_int_equal(instance_new(cls, &i), 0);
                Value v = value_uint(CIM_UINT32, k);
                OK(instance_set(i, "Id", &v, err));
                v = value_uint(CIM_UINT32, k);
                OK(instance_set(i, "Value", &v, err));
                OK(engine_put_instance(e, NS, i, REPO_CREATE_ONLY, NULL, NULL, err));
                instance_unref(i);
        }
        class_unref(cls);
}

/* The next instance, calling again through -EAGAIN (counted in *again,
 * may be NULL); NULL at the end. */
static Instance *next_waiting(QueryCursor *c, unsigned *again) {
        for (;;) {
                Instance *i = NULL;
                int r = engine_query_next(c, &i, NULL);
                if (r == -EAGAIN) {
                        if (again)
                                (*again)++;
                        continue;
                }
                assert_int_equal(r, 0);
                return i;
        }
}

/* The pages a query reads (one per class for a key lookup) and its ids. */
static size_t query_pages(Engine *e, const char *text, char **ret_ids) {
        QueryCursor *c = NULL;
        OK(engine_query_begin(e, NS, text, strlen(text), &c, err));
        Results res = { 0 };
        Instance *i;
        while ((i = next_waiting(c, NULL))) {
                res.items = realloc(res.items, (res.count + 1) * sizeof(Instance *));
                assert_non_null(res.items);
                res.items[res.count++] = i;
        }
        size_t pages = engine_query_pages_read(c);
        engine_query_end(c);
        *ret_ids = ids(&res);
        results_done(&res);
        return pages;
}

/* WHERE pinning every integer key reads one instance by path, not the
 * class; subclasses sharing the key space give no duplicate; the rest of
 * WHERE still applies; string keys and non-top-level equalities scan. */
static void test_key_lookup(void **state) {
        (void)state;
        Engine *e = engine_mem();
        put_items(e, 1000);
        OK(put_class(e, "{\"__CLASS\": \"Big_Sub\", \"__SUPERCLASS\": \"Big_Item\"}", 0, err));
        OK(put_instance(e, "{\"__CLASS\": \"Big_Sub\", \"Id\": 2000, \"Value\": 7}", err));
        char *got;

        assert_int_equal(query_pages(e, "SELECT * FROM Big_Item WHERE Id = 700", &got), 2);
        assert_string_equal(got, "700");
        /* the subclass's instance is found once, under its own class */
        assert_int_equal(query_pages(e, "SELECT * FROM Big_Item WHERE Id = 2000", &got), 2);
        assert_string_equal(got, "2000");
        assert_int_equal(
                query_pages(e, "SELECT * FROM Big_Item WHERE 700 = Id AND Value = 700", &got), 2);
        assert_string_equal(got, "700");
        assert_int_equal(
                query_pages(e, "SELECT * FROM Big_Item WHERE Id = 700 AND Value = 1", &got), 2);
        assert_string_equal(got, "");
        assert_int_equal(query_pages(e, "SELECT * FROM Big_Item WHERE Id = -1", &got), 2);
        assert_string_equal(got, "");
        assert_int_equal(query_pages(e, "SELECT * FROM Big_Item WHERE Id = 99999", &got), 2);
        assert_string_equal(got, "");
        /* not a pinning equality: the class is read */
        assert_true(query_pages(e, "SELECT * FROM Big_Item WHERE Id = 700 OR Id = 701", &got) > 2);
        assert_string_equal(got, "700,701");
        assert_true(query_pages(e, "SELECT * FROM Big_Item WHERE Id = '700'", &got) > 2);
        assert_string_equal(got, "700");
        assert_true(query_pages(e, "SELECT * FROM Big_Item WHERE Value = 700", &got) > 2);
        assert_string_equal(got, "700");

        /* a string key compares case-insensitively in WQL, so no lookup */
        OK(put_class(e,
                     "{\"__CLASS\": \"Str_Item\", \"properties\": {"
                     "\"Name\": {\"type\": \"string\", \"key\": true}}}",
                     0, err));
        OK(put_instance(e, "{\"__CLASS\": \"Str_Item\", \"Name\": \"abc\"}", err));
        Results res = { 0 };
        OK(query(e, "SELECT * FROM Str_Item WHERE Name = 'ABC'", &res, err));
        assert_int_equal(res.count, 1);
        results_done(&res);
        engine_free(e);
}

static void test_large_class(void **state) {
        (void)state;
        const unsigned n = 10000;
        Engine *e = engine_mem();
        put_items(e, n);

        QueryCursor *c = NULL;
        OK(engine_enum_instances(e, NS, "Big_Item", true, &c, err));
        assert_int_equal(engine_query_pages_read(c), 0);
        unsigned count = 0;
        for (;;) {
                Instance *i = NULL;
                int r = engine_query_next(c, &i, NULL);
                assert_int_equal(r, 0);
                if (!i)
                        break;
                count++;
                assert_int_equal(instance_get(i, "Id")->u, count);
                instance_unref(i);
                /* Pages are read as they are needed, never ahead: the
                 * cursor holds at most one page of instances. */
                assert_int_equal(engine_query_pages_read(c), (count - 1) / ENGINE_QUERY_PAGE + 1);
        }
        assert_int_equal(count, n);
        assert_int_equal(engine_query_pages_read(c),
                         (n + ENGINE_QUERY_PAGE - 1) / ENGINE_QUERY_PAGE);
        engine_query_end(c);

        /* A query that skips half: still page by page, and never more
         * than the work budget per call. */
        const char *q = "SELECT Id FROM Big_Item WHERE Value > 5000";
        OK(engine_query_begin(e, NS, q, strlen(q), &c, err));
        Instance *i = NULL;
        unsigned again = 0;
        i = next_waiting(c, &again);
        assert_non_null(i);
        assert_int_equal(instance_get(i, "Id")->u, 5001);
        instance_unref(i);
        assert_int_equal(engine_query_pages_read(c), 5000 / ENGINE_QUERY_PAGE + 1);
        assert_int_equal(again, 5000 / ENGINE_QUERY_BUDGET_REJECTED);
        count = 1;
        while ((i = next_waiting(c, &again))) {
                count++;
                instance_unref(i);
        }
        assert_int_equal(count, 5000);
        engine_query_end(c);

        /* Writes between pages: deleted instances are not seen, the cursor
         * carries on; a class deleted meanwhile just ends. */
        OK(engine_enum_instances(e, NS, "Big_Item", false, &c, err));
        i = next_waiting(c, NULL);
        instance_unref(i);
        OK(engine_delete_instance(e, NS, "Big_Item.Id=500", NULL, err));
        count = 1;
        while ((i = next_waiting(c, NULL))) {
                assert_int_not_equal(instance_get(i, "Id")->u, 500);
                count++;
                instance_unref(i);
        }
        assert_int_equal(count, n - 1);
        engine_query_end(c);

        OK(engine_enum_instances(e, NS, "Big_Item", false, &c, err));
        i = next_waiting(c, NULL);
        instance_unref(i);
        OK(engine_delete_class(e, NS, "Big_Item", REPO_DELETE_CASCADE, err));
        count = 1;
        while ((i = next_waiting(c, NULL))) {
                count++;
                instance_unref(i);
        }
        assert_int_equal(count, ENGINE_QUERY_PAGE); /* the page in hand */
        engine_query_end(c);
        engine_free(e);
}

/* A selective query over many pages gives the caller its turn back
 * (-EAGAIN) within the budget, before the end, and still yields exactly
 * the matches, in order. */
static void test_query_budget(void **state) {
        (void)state;
        const unsigned n = 3000;
        Engine *e = engine_mem();
        put_items(e, n);

        /* Two matches far apart, and one at the very end. */
        const char *q = "SELECT * FROM Big_Item WHERE Value = 7 OR Value = 2500 OR Value = 3000";
        QueryCursor *c = NULL;
        OK(engine_query_begin(e, NS, q, strlen(q), &c, err));
        Instance *i = NULL;
        assert_int_equal(engine_query_next(c, &i, NULL), 0);
        assert_int_equal(instance_get(i, "Id")->u, 7);
        instance_unref(i);

        unsigned eagain = 0, found = 0;
        uint64_t ids[2] = { 0 };
        for (;;) {
                size_t pages = engine_query_pages_read(c);
                i = (Instance *)1;
                int r = engine_query_next(c, &i, NULL);
                /* No call reads more than the page budget. */
                assert_true(engine_query_pages_read(c) - pages <= ENGINE_QUERY_BUDGET_PAGES);
                if (r == -EAGAIN) {
                        assert_ptr_equal(i, (Instance *)1); /* untouched */
                        /* before the end: matches are still to come */
                        assert_true(found < 2);
                        eagain++;
                        continue;
                }
                assert_int_equal(r, 0);
                if (!i)
                        break;
                assert_true(found < 2);
                ids[found++] = instance_get(i, "Id")->u;
                instance_unref(i);
        }
        assert_int_equal(found, 2);
        assert_int_equal(ids[0], 2500);
        assert_int_equal(ids[1], 3000);
        /* 2492 rejected between 7 and 2500, 499 between 2500 and 3000. */
        assert_int_equal(eagain, 2492 / ENGINE_QUERY_BUDGET_REJECTED);
        /* A finished cursor stays finished. */
        i = (Instance *)1;
        assert_int_equal(engine_query_next(c, &i, NULL), 0);
        assert_null(i);
        engine_query_end(c);

        /* The page budget: with a provider-free class and no WHERE nothing
         * is rejected, so the budget never stops a plain enumeration. */
        OK(engine_enum_instances(e, NS, "Big_Item", false, &c, err));
        unsigned count = 0;
        for (;;) {
                int r = engine_query_next(c, &i, NULL);
                assert_int_equal(r, 0);
                if (!i)
                        break;
                count++;
                instance_unref(i);
        }
        assert_int_equal(count, n);
        engine_query_end(c);
        engine_free(e);
}

/* ---- allocation failure -------------------------------------------------------- */

static void test_alloc_engine_new(void **state) {
        (void)state;
        for (unsigned long n = 1;; n++) {
                Engine *e = NULL;
                Error le = { 0 };
                EngineOptions opts = { .repository_path = ":memory:" };
                mem_fail_at(n);
                int r = engine_new(&opts, &e, &le);
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                if (r == 0) {
                        /* Whether or not SQLite tolerated the failure, the
                         * engine works. */
                        Results res = { 0 };
                        OK(query(e, "SELECT * FROM __SystemClass", &res, err));
                        results_done(&res);
                        engine_free(e);
                        if (!hit)
                                break;
                        continue;
                }
                assert_null(e);
                if (!hit || (r != -ENOMEM && r <= 0))
                        fail_msg("allocation %lu: %d", n, r);
                assert_true(n < 100000);
        }
}

static void test_alloc_put(void **state) {
        (void)state;
        Engine *e = engine_mem();
        fill_tree(e);
        Instance *i = make_instance(
                e, "{\"__CLASS\": \"Test_Leaf\", \"Id\": 77, \"Name\": \"new\", \"Depth\": 1,"
                   " \"Obj\": {\"__CLASS\": \"Test_Part\", \"Label\": \"x\"}}");
        for (unsigned long n = 1;; n++) {
                Error le = { 0 };
                Instance *stored = NULL, *previous = NULL;
                mem_fail_at(n);
                int r = engine_put_instance(e, NS, i, 0, &stored, &previous, &le);
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                if (r == 0) {
                        assert_null(previous);
                        assert_string_equal(stored->ns, NS);
                        instance_unref(stored);
                        ASSERT_IDS(e, "SELECT * FROM Test_Leaf", "20,21,22,77");
                        if (!hit)
                                break;
                        OK(engine_delete_instance(e, NS, "Test_Leaf.Id=77", NULL, err));
                        continue;
                }
                if (!hit || (r != -ENOMEM && r <= 0))
                        fail_msg("allocation %lu: %d", n, r);
                assert_null(stored);
                /* Not written, and the engine still works. */
                ASSERT_IDS(e, "SELECT * FROM Test_Leaf", "20,21,22");
                assert_true(n < 100000);
        }
        instance_unref(i);
        engine_free(e);
}

static void test_alloc_query(void **state) {
        (void)state;
        MockStats stats;
        MockConfig cfg = { .with_get = true };
        Engine *e = engine_with_mock(&cfg, &stats);
        fill_tree(e);
        const char *q =
                "SELECT Name, Size FROM Test_Base WHERE Name LIKE '%a%' OR Obj.Label = 'bolt' "
                "OR __RELPATH = 'Test_Base.Id=3'";
        for (unsigned long n = 1;; n++) {
                Results res = { 0 };
                Error le = { 0 };
                mem_fail_at(n);
                int r = query(e, q, &res, &le);
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                if (r == 0) {
                        assert_string_equal(ids(&res), "1,2,3,10,11,20,21");
                        results_done(&res);
                        if (!hit)
                                break;
                        continue;
                }
                results_done(&res);
                if (!hit || (r != -ENOMEM && r <= 0))
                        fail_msg("allocation %lu: %d (%s)", n, r, le.message);
                if (r == -ENOMEM)
                        assert_int_equal(le.status, WBEM_E_OUT_OF_MEMORY);
                assert_true(n < 100000);
        }
        /* The same through a provider's classes. */
        q = "SELECT Name FROM Mock_Item WHERE Value > 10";
        for (unsigned long n = 1;; n++) {
                Results res = { 0 };
                Error le = { 0 };
                mem_fail_at(n);
                int r = query(e, q, &res, &le);
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                if (r == 0) {
                        assert_string_equal(ids(&res), "2,3");
                        results_done(&res);
                        if (!hit)
                                break;
                        continue;
                }
                results_done(&res);
                if (!hit || (r != -ENOMEM && r <= 0))
                        fail_msg("allocation %lu: %d (%s)", n, r, le.message);
                assert_true(n < 100000);
        }
        assert_int_equal(stats.opened, stats.ends);
        ASSERT_IDS(e, q, "2,3");
        engine_free(e);
}

static void test_alloc_register(void **state) {
        (void)state;
        Engine *e = engine_mem();
        MockStats stats;
        MockConfig cfg = { .classes_json = mock_classes,
                           .rows = mock_rows,
                           .n_rows = ELEMENTSOF(mock_rows) };
        for (unsigned long n = 1;; n++) {
                Provider *p = NULL;
                Error le = { 0 };
                assert_int_equal(mock_provider_new(&cfg, &stats, &p), 0);
                mem_fail_at(n);
                int r = engine_register_provider(e, p, &le);
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                if (r == 0) {
                        if (!hit)
                                break;
                        /* Tolerated: start over on a fresh engine. */
                        engine_free(e);
                        e = engine_mem();
                        continue;
                }
                assert_true(stats.freed);
                if (!hit || (r != -ENOMEM && r <= 0))
                        fail_msg("allocation %lu: %d", n, r);
                assert_null(engine_class_provider(e, NS, "Mock_Item"));
                assert_true(n < 100000);
        }
        ASSERT_IDS(e, "SELECT * FROM Mock_Item", "1,2,3");
        engine_free(e);
}

int main(int argc, char **argv) {
        test_argc = argc;
        test_argv = argv;
        if (mem_install_library_hooks() < 0)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_deep_query),
                cmocka_unit_test(test_enum_instances),
                cmocka_unit_test(test_projection),
                cmocka_unit_test(test_where),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_instance_writes),
                cmocka_unit_test(test_class_ops),
                cmocka_unit_test(test_get_object),
                cmocka_unit_test(test_provider_unfiltered),
                cmocka_unit_test(test_provider_caller),
                cmocka_unit_test(test_provider_filtered),
                cmocka_unit_test(test_provider_errors),
                cmocka_unit_test(test_provider_get),
                cmocka_unit_test(test_provider_mixed),
                cmocka_unit_test(test_provider_takes_over),
                cmocka_unit_test(test_linux_providers),
                cmocka_unit_test(test_large_class),
                cmocka_unit_test(test_key_lookup),
                cmocka_unit_test(test_query_budget),
                cmocka_unit_test(test_alloc_engine_new),
                cmocka_unit_test(test_alloc_put),
                cmocka_unit_test(test_alloc_query),
                cmocka_unit_test(test_alloc_register),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
