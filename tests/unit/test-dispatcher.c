/* Unit tests for the dispatcher (dispatcher.c, filter.c): the class index
 * with the ISA closure (event classes and TargetInstance classes), the
 * equality index (which filters it holds, key normalization across types,
 * the shortest-chain choice), the subscription errors, ending the calls of
 * deleted classes, and the randomized test: random class trees, random
 * filters from a grammar of =, <>, ordering, LIKE, IS NULL, ISA, AND, OR,
 * NOT over random properties (with cross-type literals), random events; for
 * every event the set of calls the dispatcher delivers to equals the set
 * whose filter a brute-force wql_eval_where says TRUE. */
#include <math.h>

#include "event-fixture.h"
#include "wql_eval.h"

typedef struct Fixture {
        ClassTable table;
        Dispatcher *d;
        Record rec;
        Sink *sink;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        table_init(&f->table);
        table_add(&f->table, "App_Base", NULL, "Id:uint32:key", "Name:string", NULL);
        table_add(&f->table, "App_Item", "App_Base", "Size:uint64", "Ratio:real64", "Flag:boolean",
                  "When:datetime", NULL);
        table_add(&f->table, "App_Special", "App_Item", "Extra:string", NULL);
        table_add(&f->table, "App_Other", NULL, "Id:uint32:key", NULL);
        table_add(&f->table, "App_Event", "__ExtrinsicEvent", "Id:uint32", "Name:string",
                  "Severity:sint32", NULL);
        table_add(&f->table, "App_SubEvent", "App_Event", "Detail:string", NULL);
        table_add(&f->table, "App_Data", NULL, "Id:uint32:key", NULL);
        assert_int_equal(dispatcher_new("testhost", &f->d), 0);
        assert_int_equal(sink_new_in(f->d, &record_ops, &f->rec, &f->sink), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        dispatcher_free(f->d);
        record_reset(&f->rec);
        table_clear(&f->table);
        free(f);
        return 0;
}

static size_t raise_intrinsic(Fixture *f, int sys, Instance *target, Instance *previous) {
        Instance *ev;
        size_t delivered = 0;
        assert_int_equal(dispatcher_intrinsic_event(f->d, sys, FIXTURE_NS, target, previous, &ev),
                         0);
        assert_int_equal(dispatcher_raise(f->d, FIXTURE_NS, ev, &delivered), 0);
        instance_unref(ev);
        return delivered;
}

static size_t raise_event(Fixture *f, Instance *ev) {
        size_t delivered = 0;
        assert_int_equal(dispatcher_raise(f->d, FIXTURE_NS, ev, &delivered), 0);
        return delivered;
}

/* ---- the class index ---------------------------------------------------------- */

static void test_isa_closure(void **state) {
        Fixture *f = *state;
        subscribe_ok(f->d, &f->table, f->sink, 1,
                     "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Base'");
        subscribe_ok(f->d, &f->table, f->sink, 2,
                     "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item'");
        subscribe_ok(
                f->d, &f->table, f->sink, 3,
                "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Special'");
        subscribe_ok(f->d, &f->table, f->sink, 4,
                     "SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'App_Item'");
        subscribe_ok(f->d, &f->table, f->sink, 5,
                     "SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'App_Base'");
        subscribe_ok(
                f->d, &f->table, f->sink, 6,
                "SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'App_Special'");
        subscribe_ok(f->d, &f->table, f->sink, 7,
                     "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Other'");

        Instance *special = new_instance(&f->table, "App_Special");
        Instance *item = new_instance(&f->table, "App_Item");
        Instance *base = new_instance(&f->table, "App_Base");

        record_reset(&f->rec);
        assert_int_equal(raise_intrinsic(f, SYS_CREATION, special, NULL), 4);
        for (uint64_t id = 1; id <= 4; id++)
                assert_true(record_has(&f->rec, id));
        /* TargetInstance is the instance itself, TIME_CREATED is set */
        const Value *t = instance_get(f->rec.last_event, "TargetInstance");
        assert_ptr_equal(t->obj, special);
        assert_false(instance_get(f->rec.last_event, "TIME_CREATED")->is_null);
        assert_string_equal(f->rec.last_event->ns, FIXTURE_NS);

        record_reset(&f->rec);
        assert_int_equal(raise_intrinsic(f, SYS_CREATION, item, NULL), 3);
        assert_false(record_has(&f->rec, 3));
        record_reset(&f->rec);
        assert_int_equal(raise_intrinsic(f, SYS_CREATION, base, NULL), 1);
        assert_true(record_has(&f->rec, 1));

        record_reset(&f->rec);
        assert_int_equal(raise_intrinsic(f, SYS_DELETION, special, NULL), 2);
        assert_true(record_has(&f->rec, 4));
        assert_true(record_has(&f->rec, 5));
        record_reset(&f->rec);
        assert_int_equal(raise_intrinsic(f, SYS_MODIFICATION, special, item), 2);
        assert_true(record_has(&f->rec, 4));
        assert_true(record_has(&f->rec, 6));
        assert_ptr_equal(instance_get(f->rec.last_event, "PreviousInstance")->obj, item);
        record_reset(&f->rec);
        assert_int_equal(raise_intrinsic(f, SYS_DELETION, base, NULL), 1);

        /* another namespace sees none of it */
        Instance *ev;
        size_t delivered = 9;
        assert_int_equal(
                dispatcher_intrinsic_event(f->d, SYS_CREATION, "root/other", special, NULL, &ev),
                0);
        assert_int_equal(dispatcher_raise(f->d, "root/other", ev, &delivered), 0);
        assert_int_equal(delivered, 0);
        instance_unref(ev);
        /* namespaces compare in any case and with either separator */
        assert_int_equal(
                dispatcher_intrinsic_event(f->d, SYS_CREATION, "ROOT\\Test", special, NULL, &ev),
                0);
        assert_int_equal(dispatcher_raise(f->d, "ROOT\\Test", ev, &delivered), 0);
        assert_int_equal(delivered, 4);
        instance_unref(ev);
        assert_true(dispatcher_wants_intrinsic(f->d, "root/TEST"));
        assert_false(dispatcher_wants_intrinsic(f->d, "root/other"));

        instance_unref(special);
        instance_unref(item);
        instance_unref(base);
}

static void test_extrinsic_closure(void **state) {
        Fixture *f = *state;
        subscribe_ok(f->d, &f->table, f->sink, 1, "SELECT * FROM App_Event");
        subscribe_ok(f->d, &f->table, f->sink, 2, "SELECT * FROM App_SubEvent");
        subscribe_ok(f->d, &f->table, f->sink, 3, "SELECT * FROM __ExtrinsicEvent");
        subscribe_ok(f->d, &f->table, f->sink, 4,
                     "SELECT * FROM App_Event WHERE __CLASS = 'App_SubEvent'");
        Instance *sub = new_instance(&f->table, "App_SubEvent");
        Instance *ev = new_instance(&f->table, "App_Event");
        assert_int_equal(raise_event(f, sub), 4);
        assert_int_equal(raise_event(f, ev), 2);
        /* intrinsic filters never see extrinsic events and the reverse */
        subscribe_ok(f->d, &f->table, f->sink, 5,
                     "SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'App_Base'");
        assert_int_equal(raise_event(f, ev), 2);
        Instance *base = new_instance(&f->table, "App_Base");
        assert_int_equal(raise_intrinsic(f, SYS_CREATION, base, NULL), 1);
        instance_unref(base);
        instance_unref(sub);
        instance_unref(ev);
}

/* ---- the equality index ------------------------------------------------------- */

static void test_equality_index(void **state) {
        Fixture *f = *state;
        char text[256];
        for (unsigned k = 0; k < 1000; k++) {
                snprintf(text, sizeof(text), "SELECT * FROM App_Event WHERE Id = %u", k);
                subscribe_ok(f->d, &f->table, f->sink, k, text);
        }
        for (unsigned k = 0; k < 1000; k++) {
                snprintf(text, sizeof(text),
                         "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance.Name = 'n%u' "
                         "AND TargetInstance ISA 'App_Base'",
                         k);
                subscribe_ok(f->d, &f->table, f->sink, 1000 + k, text);
        }
        /* all captured, all in the equality table, no scan */
        assert_int_equal(f->d->n_eq, 2000);
        assert_int_equal(f->d->n_shared, 0);
        Bucket *b = dispatcher_bucket_find(f->d, FIXTURE_NS, "App_Event", NULL, NULL);
        assert_non_null(b);
        assert_null(b->scan);
        assert_int_equal(b->n_paths, 1);
        assert_int_equal(b->n_filters, 1000);

        Instance *ev = new_instance(&f->table, "App_Event");
        set_uint(ev, "Id", 500);
        record_reset(&f->rec);
        assert_int_equal(raise_event(f, ev), 1);
        assert_int_equal(f->rec.call_ids[0], 500);
        set_uint(ev, "Id", 5000);
        assert_int_equal(raise_event(f, ev), 0);
        instance_unref(ev);

        /* an instance of a subclass matches the ISA class's filter; the
         * string key compares case-insensitively */
        Instance *special = new_instance(&f->table, "App_Special");
        set_str(special, "Name", "N777");
        record_reset(&f->rec);
        assert_int_equal(raise_intrinsic(f, SYS_CREATION, special, NULL), 1);
        assert_int_equal(f->rec.call_ids[0], 1777);
        instance_unref(special);

        /* more conjuncts: indexed, but evaluated */
        subscribe_ok(f->d, &f->table, f->sink, 5000,
                     "SELECT * FROM App_Event WHERE Id = 3 AND Severity > 1");
        Filter *fl = call_filter(f->sink->calls);
        assert_non_null(fl->query);
        assert_true(fl->flags & FILTER_INDEXED);
        ev = new_instance(&f->table, "App_Event");
        set_uint(ev, "Id", 3);
        set_sint(ev, "Severity", 1);
        assert_int_equal(raise_event(f, ev), 1);
        set_sint(ev, "Severity", 2);
        assert_int_equal(raise_event(f, ev), 2);
        instance_unref(ev);
}

static void test_key_normalization(void **state) {
        Fixture *f = *state;
        /* numbers across types */
        Call *a = subscribe_ok(f->d, &f->table, f->sink, 1,
                               "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                               "'App_Item' AND TargetInstance.Ratio = 2");
        Call *b = subscribe_ok(f->d, &f->table, f->sink, 2,
                               "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                               "'App_Item' AND TargetInstance.Size = 2.0");
        Call *c = subscribe_ok(f->d, &f->table, f->sink, 3,
                               "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                               "'App_Item' AND TargetInstance.Ratio = 2.5");
        Call *d = subscribe_ok(f->d, &f->table, f->sink, 4,
                               "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                               "'App_Item' AND TargetInstance.Flag = 'true'");
        Call *e = subscribe_ok(f->d, &f->table, f->sink, 5,
                               "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                               "'App_Item' AND TargetInstance.When = '20260101010000.000000+060'");
        /* string property against a number: the evaluator converts, so scan */
        Call *g = subscribe_ok(f->d, &f->table, f->sink, 6,
                               "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                               "'App_Item' AND TargetInstance.Name = 5");
        for (Call *x = a; x; x = NULL) {
                assert_true(call_filter(a)->flags & FILTER_INDEXED);
                assert_true(call_filter(b)->flags & FILTER_INDEXED);
                assert_true(call_filter(c)->flags & FILTER_INDEXED);
                assert_true(call_filter(d)->flags & FILTER_INDEXED);
                assert_true(call_filter(e)->flags & FILTER_INDEXED);
                assert_false(call_filter(g)->flags & FILTER_INDEXED);
                assert_non_null(call_filter(g)->query);
                assert_null(call_filter(a)->query);
        }

        Instance *item = new_instance(&f->table, "App_Item");
        Value v = value_real(CIM_REAL64, 2.0);
        Error err;
        assert_int_equal(instance_set(item, "Ratio", &v, &err), 0);
        set_uint(item, "Size", 2);
        v = value_bool(true);
        assert_int_equal(instance_set(item, "Flag", &v, &err), 0);
        CimDatetime dt;
        assert_int_equal(cim_datetime_parse("20260101000000.000000+000", &dt, NULL), 0);
        v = value_datetime(dt);
        assert_int_equal(instance_set(item, "When", &v, &err), 0);
        set_str(item, "Name", "5.0");
        record_reset(&f->rec);
        assert_int_equal(raise_intrinsic(f, SYS_CREATION, item, NULL), 5);
        assert_false(record_has(&f->rec, 3));

        v = value_real(CIM_REAL64, 2.5);
        assert_int_equal(instance_set(item, "Ratio", &v, &err), 0);
        set_str(item, "Name", "x");
        record_reset(&f->rec);
        assert_int_equal(raise_intrinsic(f, SYS_CREATION, item, NULL), 4);
        assert_true(record_has(&f->rec, 3));
        assert_false(record_has(&f->rec, 1));
        instance_unref(item);
}

static void test_shortest_chain(void **state) {
        Fixture *f = *state;
        char text[256];
        for (unsigned k = 0; k < 200; k++) {
                snprintf(text, sizeof(text),
                         "SELECT * FROM App_Event WHERE Severity = 3 AND Id = %u", k);
                subscribe_ok(f->d, &f->table, f->sink, k, text);
        }
        /* the first went on Severity (no chain yet), the rest on Id */
        size_t on_severity = 0;
        for (Call *c = f->sink->calls; c; c = c->sink_next) {
                Filter *fl = call_filter(c);
                EqPath *p = &fl->bucket->paths[fl->path_id];
                on_severity += name_equal(p->parts[0], "Severity");
        }
        assert_true(on_severity <= 2);
        Instance *ev = new_instance(&f->table, "App_Event");
        set_uint(ev, "Id", 42);
        set_sint(ev, "Severity", 3);
        record_reset(&f->rec);
        assert_int_equal(raise_event(f, ev), 1);
        assert_int_equal(f->rec.call_ids[0], 42);
        instance_unref(ev);
}

/* ---- errors ----------------------------------------------------------------- */

static void test_subscribe_errors(void **state) {
        Fixture *f = *state;
        Error err;
        static const struct {
                const char *query;
                int status;
                const char *message; /* a part of it */
        } cases[] = {
                { "SELECT * FORM App_Event", WBEM_E_INVALID_QUERY, "expected FROM" },
                { "SELECT * FROM App_Nothing", WBEM_E_INVALID_CLASS,
                  "line 1, column 15: there is no class 'App_Nothing'" },
                { "SELECT * FROM App_Data", WBEM_E_INVALID_QUERY_TYPE,
                  "App_Data is not an event class: use ExecQuery" },
                { "SELECT * FROM __Event", WBEM_E_INVALID_QUERY_TYPE, "events are selected from" },
                { "SELECT * FROM __InstanceCreationEvent", WBEM_E_INVALID_QUERY,
                  "needs \"TargetInstance ISA 'Class'\"" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Base' OR "
                  "TargetInstance.Id = 1",
                  WBEM_E_INVALID_QUERY,
                  "line 1, column 39: an event query on __InstanceCreationEvent needs" },
                { "SELECT * FROM __InstanceCreationEvent WHERE NOT TargetInstance ISA 'App_Base'",
                  WBEM_E_INVALID_QUERY, "needs \"TargetInstance ISA" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Gone'",
                  WBEM_E_INVALID_CLASS, "line 1, column 45: there is no class 'App_Gone'" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Base' AND "
                  "TargetInstance.Nmae = 'x'",
                  WBEM_E_INVALID_QUERY, "line 1, column 79: 'Nmae' is not a property of App_Base" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item' AND "
                  "TargetInstance.Name LIKE 'x' AND TargetInstance.Size LIKE 'y'",
                  WBEM_E_INVALID_QUERY,
                  "LIKE needs a string property: 'TargetInstance.Size' is uint64" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item' AND "
                  "TargetInstance.Flag > TRUE",
                  WBEM_E_INVALID_QUERY, "operator '>' cannot compare booleans" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item' AND "
                  "TargetInstance.Flag > 'x'",
                  WBEM_E_INVALID_QUERY,
                  "line 1, column 79: booleans cannot be ordered: 'TargetInstance.Flag' is "
                  "boolean" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item' AND "
                  "TargetInstance.When = TargetInstance",
                  WBEM_E_INVALID_QUERY, "'TargetInstance' is an embedded object" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item' AND "
                  "TargetInstance.Name ISA 'App_Item'",
                  WBEM_E_INVALID_QUERY,
                  "ISA needs an embedded object: 'TargetInstance.Name' is string" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item' AND "
                  "TargetInstance.Name.X = 1",
                  WBEM_E_INVALID_QUERY,
                  "'TargetInstance.Name' is not an embedded object, so it has no property 'X'" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Base' AND "
                  "TargetInstance ISA 'App_Nope'",
                  WBEM_E_INVALID_CLASS, "there is no class 'App_Nope'" },
                { "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item' AND "
                  "PreviousInstance.Id = 1",
                  WBEM_E_INVALID_QUERY,
                  "'PreviousInstance' is not a property of __InstanceCreationEvent" },
                { "SELECT * FROM App_Event WHERE Idd = 1", WBEM_E_INVALID_QUERY,
                  "'Idd' is not a property of App_Event" },
                { "SELECT Nope FROM App_Event", WBEM_E_INVALID_QUERY,
                  "'Nope' is not a property of App_Event" },
                { "SELECT * FROM App_Event WITHIN 0.1", WBEM_E_INVALID_QUERY,
                  "line 1, column 25: WITHIN 0.1 is below the minimum polling interval of 0.5 "
                  "seconds" },
        };
        EngineEventStats before;
        dispatcher_stats(f->d, &before);
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                memset(&err, 0, sizeof(err));
                int r = subscribe_err(f->d, &f->table, f->sink, cases[k].query, &err);
                if (r != cases[k].status || !strstr(err.message, cases[k].message))
                        fail_msg("%s: got %d '%s', want %d '%s'", cases[k].query, r, err.message,
                                 cases[k].status, cases[k].message);
        }
        EngineEventStats after;
        dispatcher_stats(f->d, &after);
        assert_int_equal(after.registrations, before.registrations);
        assert_int_equal(after.filters, before.filters);
        assert_null(f->d->namespaces);
        /* WITHIN at the minimum and on a native class: accepted */
        subscribe_ok(f->d, &f->table, f->sink, 1, "SELECT * FROM App_Event WITHIN 0.5");
}

/* ---- ending the calls of deleted classes -------------------------------------- */

static bool bucket_class_missing(Bucket *b, void *ud) {
        ClassTable *t = ud;
        return !table_find(t, b->class_name) || (b->isa_name && !table_find(t, b->isa_name));
}

static void test_end_buckets(void **state) {
        Fixture *f = *state;
        char text[256];
        for (unsigned k = 0; k < 50; k++) {
                snprintf(text, sizeof(text),
                         "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                         "'App_Special' AND TargetInstance.Id = %u",
                         k);
                subscribe_ok(f->d, &f->table, f->sink, k, text);
        }
        subscribe_ok(f->d, &f->table, f->sink, 100,
                     "SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'App_Special' "
                     "AND TargetInstance.Name LIKE '%'");
        subscribe_ok(f->d, &f->table, f->sink, 101,
                     "SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'App_Item'");
        subscribe_ok(f->d, &f->table, f->sink, 102, "SELECT * FROM App_SubEvent WHERE Id = 1");
        subscribe_ok(f->d, &f->table, f->sink, 103, "SELECT * FROM App_Event WHERE Id = 1");
        assert_int_equal(sink_call_count(f->sink), 54);

        table_remove(&f->table, "App_Special");
        size_t ended =
                dispatcher_end_buckets(f->d, FIXTURE_NS, bucket_class_missing, &f->table,
                                       WBEM_E_INVALID_CLASS, "class App_Special was deleted");
        assert_int_equal(ended, 51);
        assert_int_equal(f->rec.n_ended, 51);
        assert_int_equal(f->rec.last_status, WBEM_E_INVALID_CLASS);
        assert_string_equal(f->rec.last_message, "class App_Special was deleted");
        assert_int_equal(sink_call_count(f->sink), 3);
        EngineEventStats s;
        dispatcher_stats(f->d, &s);
        assert_int_equal(s.filters, 3);
        assert_int_equal(f->d->n_eq, 2);

        table_remove(&f->table, "App_SubEvent");
        assert_int_equal(dispatcher_end_buckets(f->d, FIXTURE_NS, bucket_class_missing, &f->table,
                                                WBEM_E_INVALID_CLASS, "gone"),
                         1);
        assert_int_equal(dispatcher_end_buckets(f->d, "root/other", bucket_class_missing, &f->table,
                                                WBEM_E_INVALID_CLASS, "gone"),
                         0);
        assert_int_equal(sink_call_count(f->sink), 2);
        Instance *ev = new_instance(&f->table, "App_Event");
        set_uint(ev, "Id", 1);
        assert_int_equal(raise_event(f, ev), 1);
        instance_unref(ev);
}

/* ---- randomized: index against brute force -------------------------------------- */

typedef struct Rng {
        uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r) {
        r->s ^= r->s >> 12;
        r->s ^= r->s << 25;
        r->s ^= r->s >> 27;
        return r->s * 0x2545F4914F6CDD1Du;
}

static unsigned rng_below(Rng *r, unsigned n) {
        return (unsigned)(rng_next(r) % n);
}

static bool rng_chance(Rng *r, unsigned percent) {
        return rng_below(r, 100) < percent;
}

/* Property names have one type each, so any subclass can add any of them. */
static const struct {
        const char *name;
        const char *type;
} rand_props[] = {
        { "PU", "uint32" },   { "PS", "sint32" },    { "PStr", "string" },
        { "PB", "boolean" },  { "PR", "real64" },    { "PName", "string" },
        { "PBig", "uint64" }, { "PDt", "datetime" }, { "PRef", "ref" },
};
#define N_RAND_PROPS ELEMENTSOF(rand_props)

static const char *const dt_texts[] = {
        "20260101000000.000000+000", "20260101010000.000000+060", /* the same instant */
        "20260102000000.000000+000", "00000001000000.000000:000", /* an interval */
};

static const char *const str_values[] = { "a", "A",  "b",   "ab",   "AB",      "",
                                          "1", "01", "1.0", "true", "C0.Id=1", "c0.ID=1" };

typedef struct RandWorld {
        ClassTable table;
        char items[8][32];
        size_t n_items;
        char events[5][32];
        size_t n_events;
} RandWorld;

static CimClass *rand_class(RandWorld *w, Rng *r, const char *name, const char *super,
                            bool root_key) {
        CimClass *def, *cls;
        Error err;
        assert_int_equal(class_new(name, super, &def, &err), 0);
        CimClass *parent = super ? table_find(&w->table, super) : NULL;
        if (root_key)
                assert_int_equal(class_add_property(def, "Id", CIM_UINT32, false, true, NULL, &err),
                                 0);
        unsigned n = 1 + rng_below(r, 3);
        for (unsigned k = 0; k < n; k++) {
                size_t p = rng_below(r, N_RAND_PROPS);
                if ((parent && class_find_property(parent, rand_props[p].name) >= 0) ||
                    class_find_property(def, rand_props[p].name) >= 0)
                        continue;
                assert_int_equal(class_add_property(def, rand_props[p].name,
                                                    cim_type_from_name(rand_props[p].type), false,
                                                    false, NULL, &err),
                                 0);
        }
        assert_int_equal(class_derive(def, parent, &cls, &err), 0);
        class_unref(def);
        w->table.classes[w->table.n++] = cls;
        return cls;
}

static void world_build(RandWorld *w, Rng *r) {
        table_init(&w->table);
        w->n_items = 3 + rng_below(r, 6);
        for (size_t k = 0; k < w->n_items; k++) {
                snprintf(w->items[k], sizeof(w->items[k]), "C%zu", k);
                const char *super =
                        k > 0 && rng_chance(r, 70) ? w->items[rng_below(r, (unsigned)k)] : NULL;
                rand_class(w, r, w->items[k], super, super == NULL);
        }
        w->n_events = 2 + rng_below(r, 4);
        for (size_t k = 0; k < w->n_events; k++) {
                snprintf(w->events[k], sizeof(w->events[k]), "E%zu", k);
                const char *super = k > 0 && rng_chance(r, 60)
                                            ? w->events[rng_below(r, (unsigned)k)]
                                            : "__ExtrinsicEvent";
                rand_class(w, r, w->events[k], super, false);
        }
}

typedef struct Buf {
        char s[2048];
        size_t n;
} Buf;

static void buf_add(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(Buf *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
        va_end(ap);
        assert_true(n >= 0 && b->n + (size_t)n < sizeof(b->s));
        b->n += (size_t)n;
}

/* A literal for a property of type t: mostly of its own type, sometimes
 * of another (the evaluator's conversions must be honoured). */
static void rand_literal(Buf *b, Rng *r, CimType t, bool ordering) {
        unsigned pick = rng_below(r, 10);
        if (pick == 0) {
                static const char *const other[] = { "'1'",    "1",   "1.0",
                                                     "'true'", "'x'", "-1",
                                                     "'01'",   "1.5", "'20260101000000.000000+000'",
                                                     "TRUE" };
                /* the parser refuses TRUE with an ordering operator */
                buf_add(b, "%s", other[rng_below(r, ELEMENTSOF(other) - ordering)]);
                return;
        }
        switch (t) {
        case CIM_STRING:
        case CIM_REFERENCE:
                buf_add(b, "'%s'", str_values[rng_below(r, ELEMENTSOF(str_values))]);
                break;
        case CIM_BOOLEAN:
                buf_add(b, "%s", rng_chance(r, 50) ? "TRUE" : "FALSE");
                break;
        case CIM_REAL64: {
                static const char *const reals[] = { "0", "1", "1.5", "2.0", "-0.0", "2" };
                buf_add(b, "%s", reals[rng_below(r, ELEMENTSOF(reals))]);
                break;
        }
        case CIM_DATETIME:
                buf_add(b, "'%s'", dt_texts[rng_below(r, ELEMENTSOF(dt_texts))]);
                break;
        case CIM_SINT32:
                buf_add(b, "%d", (int)rng_below(r, 5) - 2);
                break;
        default:
                buf_add(b, "%u", rng_below(r, 4));
                break;
        }
}

typedef struct Ctx {
        RandWorld *w;
        const CimClass *cls; /* event class for extrinsic; ISA class for intrinsic */
        bool intrinsic, previous;
} Ctx;

/* A random property of the context: its path and type. */
static CimType rand_path(Buf *b, Rng *r, const Ctx *c) {
        const CimClass *cls = c->cls;
        for (;;) {
                size_t k = rng_below(r, (unsigned)cls->n_props);
                const CimProperty *p = &cls->props[k];
                if (class_name_is_system(p->name) || p->is_array || p->type == CIM_OBJECT)
                        continue; /* SECURITY_DESCRIPTOR, TargetInstance */
                if (c->intrinsic)
                        buf_add(b, "%s.",
                                c->previous && rng_chance(r, 30) ? "PreviousInstance"
                                                                 : "TargetInstance");
                buf_add(b, "%s", p->name);
                return p->type;
        }
}

static void rand_leaf(Buf *b, Rng *r, const Ctx *c) {
        unsigned kind = rng_below(r, 100);
        if (c->intrinsic && kind < 8) {
                buf_add(b, "TargetInstance ISA '%s'",
                        c->w->items[rng_below(r, (unsigned)c->w->n_items)]);
                return;
        }
        if (kind < 12) {
                buf_add(b, "%s__CLASS = '%s'", c->intrinsic ? "TargetInstance." : "",
                        c->intrinsic ? c->w->items[rng_below(r, (unsigned)c->w->n_items)]
                                     : c->w->events[rng_below(r, (unsigned)c->w->n_events)]);
                return;
        }
        Buf path = { .n = 0 };
        CimType t = rand_path(&path, r, c);
        if (kind < 20) {
                buf_add(b, "%s IS %sNULL", path.s, rng_chance(r, 50) ? "NOT " : "");
                return;
        }
        if (kind < 30 && (t == CIM_STRING || t == CIM_REFERENCE)) {
                static const char *const pats[] = { "a%", "%b", "_", "A%", "%", "[ab]%", "c0%" };
                buf_add(b, "%s %sLIKE '%s'", path.s, rng_chance(r, 20) ? "NOT " : "",
                        pats[rng_below(r, ELEMENTSOF(pats))]);
                return;
        }
        if (kind < 36 && c->intrinsic && c->previous) {
                /* property against property */
                const char *name = strchr(path.s, '.') + 1;
                buf_add(b, "TargetInstance.%s %s PreviousInstance.%s", name,
                        t == CIM_BOOLEAN || rng_chance(r, 50) ? "<>" : ">", name);
                return;
        }
        static const char *const ops[] = { "=", "=", "=", "<>", "<", ">", "<=", ">=" };
        const char *op = ops[rng_below(r, ELEMENTSOF(ops))];
        if (t == CIM_BOOLEAN && op[0] != '=' && strcmp(op, "<>") != 0)
                op = "=";
        if (rng_chance(r, 10)) { /* literal first */
                Buf lit = { .n = 0 };
                rand_literal(&lit, r, t, op[0] == '<' || op[0] == '>');
                buf_add(b, "%s %s %s", lit.s, op, path.s);
                return;
        }
        buf_add(b, "%s %s ", path.s, op);
        rand_literal(b, r, t, strcmp(op, "=") != 0 && strcmp(op, "<>") != 0);
}

static void rand_cond(Buf *b, Rng *r, const Ctx *c, unsigned depth) {
        unsigned kind = depth >= 2 ? 0 : rng_below(r, 10);
        if (kind < 5) {
                rand_leaf(b, r, c);
        } else if (kind < 7) {
                buf_add(b, "(");
                rand_cond(b, r, c, depth + 1);
                buf_add(b, " OR ");
                rand_cond(b, r, c, depth + 1);
                buf_add(b, ")");
        } else if (kind < 9) {
                buf_add(b, "(");
                rand_cond(b, r, c, depth + 1);
                buf_add(b, " AND ");
                rand_cond(b, r, c, depth + 1);
                buf_add(b, ")");
        } else {
                buf_add(b, "NOT (");
                rand_cond(b, r, c, depth + 1);
                buf_add(b, ")");
        }
}

static const char *const intrinsic_names[] = {
        "__InstanceCreationEvent",
        "__InstanceDeletionEvent",
        "__InstanceModificationEvent",
        "__InstanceOperationEvent",
};

static void rand_query(Buf *b, Rng *r, RandWorld *w) {
        Ctx c = { .w = w };
        bool intrinsic = rng_chance(r, 55);
        const char *from;
        if (intrinsic) {
                from = intrinsic_names[rng_below(r, 4)];
                c.intrinsic = true;
                c.previous = strcmp(from, "__InstanceModificationEvent") == 0;
                c.cls = table_find(&w->table, w->items[rng_below(r, (unsigned)w->n_items)]);
        } else {
                from = w->events[rng_below(r, (unsigned)w->n_events)];
                c.cls = table_find(&w->table, from);
        }
        if (rng_chance(r, 15))
                buf_add(b, "SELECT %s FROM %s", intrinsic ? "TargetInstance" : "TIME_CREATED",
                        from);
        else
                buf_add(b, "SELECT * FROM %s", from);
        unsigned n = rng_below(r, 4); /* conjuncts besides the ISA */
        unsigned total = n + (intrinsic ? 1 : 0);
        unsigned isa_at = intrinsic ? rng_below(r, total) : UINT32_MAX;
        if (total == 0)
                return;
        buf_add(b, " WHERE ");
        for (unsigned k = 0; k < total; k++) {
                if (k > 0)
                        buf_add(b, " AND ");
                if (k == isa_at) {
                        buf_add(b, "TargetInstance ISA '%s'", c.cls->name);
                        continue;
                }
                if (rng_chance(r, 60)) {
                        /* an equality: index candidate */
                        Buf path = { .n = 0 };
                        CimType t = rand_path(&path, r, &c);
                        buf_add(b, "%s = ", path.s);
                        rand_literal(b, r, t, false);
                } else
                        rand_cond(b, r, &c, 0);
        }
}

static void rand_value(Rng *r, Instance *inst, size_t k) {
        const CimProperty *p = &inst->cls->props[k];
        Value *v = &inst->values[k];
        if (class_name_is_system(p->name) || p->is_array || p->type == CIM_OBJECT)
                return;
        if (rng_chance(r, 10))
                return; /* NULL */
        switch (p->type) {
        case CIM_STRING:
        case CIM_REFERENCE: {
                Value s;
                const char *text = str_values[rng_below(r, ELEMENTSOF(str_values))];
                if (p->type == CIM_REFERENCE)
                        assert_int_equal(value_reference(text, &s), 0);
                else
                        assert_int_equal(value_string(text, &s), 0);
                value_clear(v);
                *v = s;
                break;
        }
        case CIM_BOOLEAN:
                *v = value_bool(rng_chance(r, 50));
                break;
        case CIM_REAL64: {
                static const double reals[] = { 0, 1, 1.5, 2, -0.0, 2.5 };
                *v = value_real(CIM_REAL64,
                                rng_chance(r, 3) ? NAN : reals[rng_below(r, ELEMENTSOF(reals))]);
                break;
        }
        case CIM_DATETIME: {
                CimDatetime dt;
                assert_int_equal(
                        cim_datetime_parse(dt_texts[rng_below(r, ELEMENTSOF(dt_texts))], &dt, NULL),
                        0);
                *v = value_datetime(dt);
                break;
        }
        case CIM_SINT32:
                *v = value_sint(CIM_SINT32, (int64_t)rng_below(r, 5) - 2);
                break;
        case CIM_UINT32:
                *v = value_uint(CIM_UINT32, rng_below(r, 4));
                break;
        case CIM_UINT64:
                *v = value_uint(CIM_UINT64, rng_below(r, 4));
                break;
        default:
                break;
        }
}

static Instance *rand_instance(Rng *r, RandWorld *w, const char *cls_name) {
        Instance *i;
        assert_int_equal(instance_new(table_find(&w->table, cls_name), &i), 0);
        assert_int_equal(instance_set_namespace(i, FIXTURE_NS), 0);
        for (size_t k = 0; k < i->cls->n_props; k++)
                rand_value(r, i, k);
        return i;
}

#define RAND_CALLS 300

typedef struct Live {
        Call *call;
        WqlQuery *q;
        char text[2048];
        bool delivered;
} Live;

static Live *live_by_id(Live *live, uint64_t id) {
        return id < RAND_CALLS ? &live[id] : NULL;
}

typedef struct RandSink {
        Live *live;
        size_t delivered;
        bool twice;
} RandSink;

static void rand_indicate(Sink *sink, Call *call, Instance *event, void *userdata) {
        RandSink *rs = userdata;
        (void)sink;
        (void)event;
        Live *l = live_by_id(rs->live, call_id(call));
        assert_non_null(l);
        assert_ptr_equal(l->call, call);
        if (l->delivered)
                rs->twice = true;
        l->delivered = true;
        rs->delivered++;
}

static const SinkOps rand_ops = { .indicate = rand_indicate };

static void live_subscribe(Dispatcher *d, RandWorld *w, Sink *s, Rng *r, Live *l, uint64_t id,
                           Live *all, size_t n_all) {
        Buf b = { .n = 0 };
        /* sometimes the very text of another live call: sharing */
        Live *twin = rng_chance(r, 10) ? &all[rng_below(r, (unsigned)n_all)] : NULL;
        if (twin && twin->call)
                buf_add(&b, "%s", twin->text);
        else
                rand_query(&b, r, w);
        snprintf(l->text, sizeof(l->text), "%s", b.s);
        SubscribeEnv env = table_env(&w->table);
        Error err = { 0 };
        int rc = filter_subscribe(d, &env, FIXTURE_NS, b.s, b.n, s, id, &l->call, &err);
        if (rc != 0)
                fail_msg("subscribe '%s': %d %s", b.s, rc, err.message);
        assert_int_equal(wql_parse(b.s, b.n, NULL, &l->q, &err), 0);
}

static void live_cancel(Live *l) {
        call_cancel(l->call);
        l->call = NULL;
        l->q = wql_query_free(l->q);
}

static void test_random_against_brute_force(void **state) {
        (void)state;
        uint64_t seed = 0x1d5ea5e0u;
        const char *env_seed = getenv("TEST_SEED");
        if (env_seed)
                seed = strtoull(env_seed, NULL, 0);
        print_message("random seed: 0x%llx (TEST_SEED=... to repeat another)\n",
                      (unsigned long long)seed);
        Rng r = { .s = seed | 1 };
        size_t total_events = 0, total_deliveries = 0, total_indexed = 0, total_captured = 0;
        WqlEvalContext ctx = { .host = "testhost" };

        for (unsigned round = 0; round < 6; round++) {
                RandWorld w;
                world_build(&w, &r);
                Dispatcher *d;
                assert_int_equal(dispatcher_new("testhost", &d), 0);
                static Live live[RAND_CALLS];
                memset(live, 0, sizeof(live));
                RandSink rs = { .live = live };
                Sink *s;
                assert_int_equal(sink_new_in(d, &rand_ops, &rs, &s), 0);
                for (uint64_t id = 0; id < RAND_CALLS; id++)
                        live_subscribe(d, &w, s, &r, &live[id], id, live, RAND_CALLS);
                for (uint64_t id = 0; id < RAND_CALLS; id++) {
                        Filter *fl = call_filter(live[id].call);
                        total_indexed += (fl->flags & FILTER_INDEXED) != 0;
                        total_captured += fl->query == NULL;
                }

                for (unsigned ev_no = 0; ev_no < 800; ev_no++) {
                        /* churn: cancel and replace a few calls */
                        if (rng_chance(&r, 20)) {
                                uint64_t id = rng_below(&r, RAND_CALLS);
                                live_cancel(&live[id]);
                                live_subscribe(d, &w, s, &r, &live[id], id, live, RAND_CALLS);
                        }
                        Instance *ev;
                        if (rng_chance(&r, 50)) {
                                ev = rand_instance(&r, &w,
                                                   w.events[rng_below(&r, (unsigned)w.n_events)]);
                        } else {
                                const char *cn = w.items[rng_below(&r, (unsigned)w.n_items)];
                                Instance *target = rand_instance(&r, &w, cn);
                                Instance *prev = rand_instance(&r, &w, cn);
                                int sys = (int)rng_below(&r, 3);
                                assert_int_equal(dispatcher_intrinsic_event(d, sys, FIXTURE_NS,
                                                                            target, prev, &ev),
                                                 0);
                                instance_unref(target);
                                instance_unref(prev);
                        }
                        for (size_t k = 0; k < RAND_CALLS; k++)
                                live[k].delivered = false;
                        rs.delivered = 0;
                        size_t n = 0;
                        assert_int_equal(dispatcher_raise(d, FIXTURE_NS, ev, &n), 0);
                        assert_false(rs.twice);
                        assert_int_equal(n, rs.delivered);
                        for (size_t k = 0; k < RAND_CALLS; k++) {
                                Live *l = &live[k];
                                int want = class_isa(ev->cls, l->q->class_name)
                                                   ? wql_eval_where(l->q, ev, &ctx)
                                                   : 0;
                                assert_true(want >= 0);
                                if ((want == 1) != l->delivered) {
                                        char *et = value_to_text(
                                                &(Value){ .type = CIM_OBJECT, .obj = ev });
                                        fail_msg("seed 0x%llx round %u event %u (%s: %s): call %zu "
                                                 "'%s': brute force %s, dispatcher %s",
                                                 (unsigned long long)seed, round, ev_no,
                                                 ev->cls->name, et, k, l->text,
                                                 want == 1 ? "TRUE" : "not TRUE",
                                                 l->delivered ? "delivered" : "not delivered");
                                        mem_free(et);
                                }
                        }
                        total_events++;
                        total_deliveries += n;
                        instance_unref(ev);
                }
                for (uint64_t id = 0; id < RAND_CALLS; id++)
                        live_cancel(&live[id]);
                EngineEventStats st;
                dispatcher_stats(d, &st);
                assert_int_equal(st.registrations, 0);
                assert_int_equal(st.filters, 0);
                assert_null(d->namespaces);
                dispatcher_free(d);
                table_clear(&w.table);
        }
        print_message("%zu events, %zu deliveries; of the first filters of each round %zu indexed, "
                      "%zu captured\n",
                      total_events, total_deliveries, total_indexed, total_captured);
        assert_true(total_deliveries > total_events / 4);
        assert_true(total_indexed > 100);
        assert_true(total_captured > 20);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_isa_closure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_extrinsic_closure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_equality_index, setup, teardown),
                cmocka_unit_test_setup_teardown(test_key_normalization, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shortest_chain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_subscribe_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_end_buckets, setup, teardown),
                cmocka_unit_test(test_random_against_brute_force),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
