/* Unit tests for sinks and calls (sink.c) and filter sharing (filter.c),
 * below the engine: cancelling one call unlinks only it, cancelling a sink
 * reaches each call once with its callback, counts and the dispatcher's
 * statistics return to their earlier values after every cancel, identical
 * filters are compiled once and freed with their last call, a call keeps the
 * query text it was given, and out-of-memory at every allocation of a
 * subscription fails cleanly. */
#include "event-fixture.h"

#include <malloc.h>

#include "slab.h"

typedef struct Fixture {
        ClassTable table;
        Dispatcher *d;
        Record rec;
        Sink *sink;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        table_init(&f->table);
        table_add(&f->table, "App_Event", "__ExtrinsicEvent", "Id:uint32", "Name:string",
                  "Severity:sint32", NULL);
        table_add(&f->table, "App_Item", NULL, "Id:uint32:key", "Name:string", NULL);
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

static EngineEventStats stats(Fixture *f) {
        EngineEventStats s;
        dispatcher_stats(f->d, &s);
        return s;
}

static void assert_stats_equal(const EngineEventStats *a, const EngineEventStats *b) {
        assert_int_equal(a->sinks, b->sinks);
        assert_int_equal(a->registrations, b->registrations);
        assert_int_equal(a->filters, b->filters);
        assert_int_equal(a->poll_tasks, b->poll_tasks);
}

static size_t publish(Fixture *f, unsigned id, const char *name) {
        Instance *ev = new_instance(&f->table, "App_Event");
        size_t delivered = 0;
        set_uint(ev, "Id", id);
        set_str(ev, "Name", name);
        assert_int_equal(dispatcher_raise(f->d, FIXTURE_NS, ev, &delivered), 0);
        instance_unref(ev);
        return delivered;
}

static void test_counts_and_accessors(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        assert_int_equal(before.sinks, 1);
        assert_int_equal(before.registrations, 0);
        assert_ptr_equal(sink_userdata(f->sink), &f->rec);

        const char *q1 = "SELECT * FROM App_Event WHERE Id = 1";
        const char *q2 = "select * from app_event where Name like 'a%'";
        Call *c1 = subscribe_ok(f->d, &f->table, f->sink, 11, q1);
        Call *c2 = subscribe_ok(f->d, &f->table, f->sink, 12, q2);
        assert_int_equal(sink_call_count(f->sink), 2);
        assert_int_equal(call_id(c1), 11);
        assert_int_equal(call_id(c2), 12);
        assert_ptr_equal(call_sink(c1), f->sink);
        assert_string_equal(call_query(c1), q1);
        assert_string_equal(call_query(c2), q2);
        assert_string_equal(call_namespace(c1), FIXTURE_NS);
        EngineEventStats s = stats(f);
        assert_int_equal(s.registrations, 2);
        assert_int_equal(s.filters, 2);

        assert_int_equal(publish(f, 1, "abc"), 2);
        assert_int_equal(publish(f, 2, "abc"), 1);
        assert_int_equal(publish(f, 1, "xyz"), 1);
        assert_int_equal(publish(f, 3, "xyz"), 0);
        s = stats(f);
        assert_int_equal(s.events_raised, 4);
        assert_int_equal(s.events_delivered, 4);
        assert_int_equal(f->rec.n_indicated, 4);

        /* a second sink counts */
        Sink *other;
        Record rec2 = { 0 };
        assert_int_equal(sink_new_in(f->d, &record_ops, &rec2, &other), 0);
        assert_int_equal(stats(f).sinks, 2);
        sink_free(other);
        assert_int_equal(stats(f).sinks, 1);
        assert_null(sink_free(NULL));
        call_cancel(NULL);
}

static void test_cancel_one(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        Call *c[5];
        char text[128];
        for (unsigned k = 0; k < 5; k++) {
                snprintf(text, sizeof(text), "SELECT * FROM App_Event WHERE Id = %u", k);
                c[k] = subscribe_ok(f->d, &f->table, f->sink, 100 + k, text);
        }
        EngineEventStats full = stats(f);
        assert_int_equal(full.registrations, before.registrations + 5);
        assert_int_equal(full.filters, before.filters + 5);

        /* middle, then head (the most recent), then tail */
        call_cancel(c[2]);
        assert_int_equal(sink_call_count(f->sink), 4);
        assert_int_equal(stats(f).registrations, before.registrations + 4);
        assert_int_equal(stats(f).filters, before.filters + 4);
        assert_int_equal(publish(f, 2, ""), 0);
        for (unsigned k = 0; k < 5; k++)
                if (k != 2)
                        assert_int_equal(publish(f, k, ""), 1);
        call_cancel(c[4]);
        call_cancel(c[0]);
        assert_int_equal(sink_call_count(f->sink), 2);
        record_reset(&f->rec);
        assert_int_equal(publish(f, 1, ""), 1);
        assert_int_equal(publish(f, 3, ""), 1);
        assert_true(record_has(&f->rec, 101));
        assert_true(record_has(&f->rec, 103));
        call_cancel(c[1]);
        call_cancel(c[3]);
        assert_int_equal(sink_call_count(f->sink), 0);
        EngineEventStats after = stats(f);
        assert_stats_equal(&after, &before);
        assert_int_equal(f->rec.n_ended, 0); /* cancel is silent */
}

typedef struct EachState {
        size_t n;
        uint64_t ids[16];
        Sink *sink;
} EachState;

static void each_call(Call *c, void *ud) {
        EachState *e = ud;
        assert_ptr_equal(call_sink(c), e->sink);
        e->ids[e->n++] = call_id(c);
}

static void test_cancel_all(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        subscribe_ok(f->d, &f->table, f->sink, 1, "SELECT * FROM App_Event WHERE Id = 1");
        subscribe_ok(f->d, &f->table, f->sink, 2, "SELECT * FROM App_Event WHERE Id = 1");
        subscribe_ok(f->d, &f->table, f->sink, 3, "SELECT * FROM App_Event WHERE Id > 1");
        subscribe_ok(f->d, &f->table, f->sink, 4, "SELECT Name FROM App_Event");
        EachState e = { .sink = f->sink };
        assert_int_equal(sink_cancel_all(f->sink, each_call, &e), 4);
        assert_int_equal(e.n, 4);
        uint64_t seen = 0;
        for (size_t k = 0; k < e.n; k++)
                seen |= 1u << e.ids[k];
        assert_int_equal(seen, 0x1e);
        assert_int_equal(sink_call_count(f->sink), 0);
        EngineEventStats after = stats(f);
        assert_stats_equal(&after, &before);
        assert_int_equal(publish(f, 1, "x"), 0);

        /* without a callback, and on an empty sink */
        subscribe_ok(f->d, &f->table, f->sink, 5, "SELECT * FROM App_Event");
        assert_int_equal(sink_cancel_all(f->sink, NULL, NULL), 1);
        assert_int_equal(sink_cancel_all(f->sink, NULL, NULL), 0);
        assert_int_equal(sink_cancel_all(NULL, NULL, NULL), 0);
        after = stats(f);
        assert_stats_equal(&after, &before);
}

static void test_sink_free_releases(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        Sink *s;
        Record rec = { 0 };
        assert_int_equal(sink_new_in(f->d, &record_ops, &rec, &s), 0);
        for (unsigned k = 0; k < 100; k++) {
                char text[128];
                snprintf(text, sizeof(text),
                         "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                         "'App_Item' AND TargetInstance.Id = %u",
                         k % 10);
                subscribe_ok(f->d, &f->table, s, k, text);
        }
        assert_int_equal(stats(f).filters, before.filters + 10);
        assert_int_equal(stats(f).registrations, before.registrations + 100);
        sink_free(s);
        assert_int_equal(rec.n_ended, 0);
        EngineEventStats after = stats(f);
        assert_stats_equal(&after, &before);
        assert_int_equal(f->d->n_eq, 0);
        assert_null(f->d->namespaces);
        record_reset(&rec);
}

/* Registrations' filters and calls are on slabs (slab.h), not malloc's
 * heap, where a lost consumer's would leave pages resident after their
 * release (docs/liveness.md); the slabs are unmapped again when the calls
 * are cancelled. Builds with AddressSanitizer allocate them with malloc:
 * nothing to check there. */
static void test_registrations_live_on_slabs(void **state) {
        Fixture *f = *state;
        if (SLAB_USES_MALLOC) {
                skip();
                return;
        }
        enum { N = 20000 };
        /* the dispatcher's tables, as large as they get here, are mapped
         * on their own as in lwmid (SERVER_MMAP_THRESHOLD) */
        (void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        size_t slabs_before = slab_mapped_bytes(f->d->slabs);
        struct mallinfo2 heap_before = mallinfo2();
        char text[128];
        for (unsigned k = 0; k < N; k++) {
                /* half with a filter of their own, half sharing one */
                snprintf(text, sizeof(text), "SELECT * FROM App_Event WHERE Id = %u",
                         k % 2 ? k : 1);
                subscribe_ok(f->d, &f->table, f->sink, k + 1, text);
        }
        struct mallinfo2 heap_during = mallinfo2();
        assert_true(slab_mapped_bytes(f->d->slabs) >= slabs_before + N * sizeof(Call));
        /* the heap holds no more than a few bytes a registration */
        assert_true(heap_during.uordblks < heap_before.uordblks + N * 8);
        assert_int_equal(sink_cancel_all(f->sink, NULL, NULL), N);
        assert_true(slab_mapped_bytes(f->d->slabs) <= slabs_before + SLAB_BLOCK_SIZE);
}

static void test_filter_sharing(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);

        /* captured filters: shared by index position, whatever the spelling */
        const char *a = "SELECT * FROM App_Event WHERE Id = 5";
        const char *b = "select * from APP_EVENT where 5 = id";
        const char *c = "SELECT * FROM App_Event WHERE Id = 5.0";
        Call *ca = subscribe_ok(f->d, &f->table, f->sink, 1, a);
        Call *ca2 = subscribe_ok(f->d, &f->table, f->sink, 2, a);
        Call *cb = subscribe_ok(f->d, &f->table, f->sink, 3, b);
        Call *cc = subscribe_ok(f->d, &f->table, f->sink, 4, c);
        assert_int_equal(stats(f).filters, before.filters + 1);
        assert_ptr_equal(call_filter(ca), call_filter(cb));
        assert_ptr_equal(call_filter(ca), call_filter(cc));
        assert_int_equal(call_filter(ca)->n_calls, 4);
        assert_null(call_filter(ca)->query); /* captured */
        /* each call keeps its own text; the first one's is not copied */
        assert_string_equal(call_query(ca), a);
        assert_string_equal(call_query(ca2), a);
        assert_string_equal(call_query(cb), b);
        assert_string_equal(call_query(cc), c);
        assert_false(ca->filter & CALL_OWN_TEXT);
        assert_false(ca2->filter & CALL_OWN_TEXT);
        assert_true(cb->filter & CALL_OWN_TEXT);
        assert_int_equal(publish(f, 5, ""), 4);

        /* filters with a query: shared by canonical text */
        Call *d1 =
                subscribe_ok(f->d, &f->table, f->sink, 5, "SELECT * FROM App_Event WHERE Id > 5");
        Call *d2 =
                subscribe_ok(f->d, &f->table, f->sink, 6, "select * FROM app_event WHERE (5 < ID)");
        Call *d3 =
                subscribe_ok(f->d, &f->table, f->sink, 7, "SELECT * FROM App_Event WHERE Id >= 5");
        assert_ptr_equal(call_filter(d1), call_filter(d2));
        assert_ptr_not_equal(call_filter(d1), call_filter(d3));
        assert_non_null(call_filter(d1)->query);
        assert_int_equal(stats(f).filters, before.filters + 3);
        assert_int_equal(f->d->n_shared, 2);

        /* a select list is not captured even with an equality */
        Call *e1 = subscribe_ok(f->d, &f->table, f->sink, 8,
                                "SELECT Name FROM App_Event WHERE Id = 5");
        assert_non_null(call_filter(e1)->query);
        assert_ptr_not_equal(call_filter(e1), call_filter(ca));
        assert_int_equal(stats(f).filters, before.filters + 4);

        /* refcounts back to zero, one at a time */
        call_cancel(ca);
        call_cancel(cb);
        call_cancel(cc);
        assert_int_equal(stats(f).filters, before.filters + 4);
        assert_int_equal(call_filter(ca2)->n_calls, 1);
        call_cancel(ca2);
        assert_int_equal(stats(f).filters, before.filters + 3);
        call_cancel(d2);
        assert_int_equal(stats(f).filters, before.filters + 3);
        call_cancel(d1);
        assert_int_equal(stats(f).filters, before.filters + 2);
        call_cancel(d3);
        call_cancel(e1);
        EngineEventStats after = stats(f);
        assert_stats_equal(&after, &before);
        assert_int_equal(f->d->n_shared, 0);
        assert_int_equal(f->d->n_eq, 0);
        assert_int_equal(f->d->n_buckets, 0);
}

/* The equality slot of a captured filter delivers to its one call by itself
 * and through the filter when it has several: every change of the call set
 * (another call, on another sink; the first one cancelled; the sink freed)
 * is delivered to exactly the calls there are, on their own sinks, and a
 * sink index is reused. */
static void test_slot_delivery_modes(void **state) {
        Fixture *f = *state;
        Record rec2 = { 0 };
        Sink *s2;
        const char *q = "SELECT * FROM App_Event WHERE Id = 9";
        const char *qs = "SELECT * FROM App_Event WHERE Name = 'Abc'";

        Call *c1 = subscribe_ok(f->d, &f->table, f->sink, 1, q);
        Call *t1 = subscribe_ok(f->d, &f->table, f->sink, 10, qs);
        EqProbe probe;
        EqKey key = { .domain = EQ_UINT, .v.u = 9 };
        uint16_t id = call_filter(c1)->path_id;
        assert_int_equal(publish(f, 9, ""), 1);
        assert_int_equal(f->rec.call_ids[0], 1);
        assert_int_equal(publish(f, 8, "aBC"), 1); /* the string key, case folded */
        assert_int_equal(f->rec.call_ids[1], 10);
        assert_int_equal(publish(f, 8, "abd"), 0);

        assert_int_equal(sink_new_in(f->d, &record_ops, &rec2, &s2), 0);
        assert_int_equal(s2->idx, 1);
        Call *c2 = subscribe_ok(f->d, &f->table, s2, 2, q);
        assert_ptr_equal(call_filter(c1), call_filter(c2));
        assert_int_equal(publish(f, 9, ""), 2);
        assert_int_equal(f->rec.n_indicated, 3);
        assert_int_equal(rec2.n_indicated, 1);

        /* the first call goes: the slot names the second one, on s2 */
        call_cancel(c1);
        assert_int_equal(publish(f, 9, ""), 1);
        assert_int_equal(f->rec.n_indicated, 3);
        assert_int_equal(rec2.n_indicated, 2);
        assert_int_equal(rec2.call_ids[1], 2);
        dispatcher_eq_probe_init(f->d, call_filter(c2)->bucket, id, &key, &probe);
        assert_ptr_equal(dispatcher_eq_probe_next(f->d, &probe), call_filter(c2));
        assert_null(dispatcher_eq_probe_next(f->d, &probe));

        /* s2 freed with its call: its index is the next sink's */
        sink_free(s2);
        assert_int_equal(publish(f, 9, ""), 0);
        assert_int_equal(sink_new_in(f->d, &record_ops, &rec2, &s2), 0);
        assert_int_equal(s2->idx, 1);
        Call *c3 = subscribe_ok(f->d, &f->table, s2, 3, q);
        assert_int_equal(publish(f, 9, ""), 1);
        assert_int_equal(rec2.call_ids[2], 3);
        call_cancel(c3);
        call_cancel(t1);
        sink_free(s2);
        record_reset(&rec2);
        assert_int_equal(f->d->n_eq, 0);
        assert_int_equal(f->d->n_free_uids, f->d->next_uid); /* every path uid back */
}

/* Distinct equality filters on one path keep only what their text has of
 * its own against the path's first text; each call still reads its text
 * as given, also after the first filter is gone. */
static void test_split_texts(void **state) {
        Fixture *f = *state;
        static const char *const texts[] = {
                "SELECT * FROM App_Event WHERE Id = 5",
                "SELECT * FROM App_Event WHERE Id = 12345",
                "SELECT * FROM App_Event WHERE Id = 6",
                "SELECT * FROM App_Event WHERE Id = 5 ", /* shares filter 0, not its text */
                "SELECT * FROM App_Event WHERE  Id = 7",
                "select * from App_Event where Id = 8",
        };
        Call *c[6];
        for (size_t k = 0; k < 6; k++)
                c[k] = subscribe_ok(f->d, &f->table, f->sink, k + 1, texts[k]);
        assert_false(call_filter(c[0])->flags & FILTER_TEXT_SPLIT);
        assert_true(call_filter(c[1])->flags & FILTER_TEXT_SPLIT);
        assert_true(call_filter(c[2])->flags & FILTER_TEXT_SPLIT);
        assert_ptr_equal(call_filter(c[3]), call_filter(c[0]));
        assert_true(call_filter(c[4])->flags & FILTER_TEXT_SPLIT);
        for (size_t k = 0; k < 6; k++)
                assert_string_equal(call_query(c[k]), texts[k]);
        /* the same text as a split filter's: no copy of its own */
        Call *again = subscribe_ok(f->d, &f->table, f->sink, 9, texts[1]);
        assert_false(again->filter & CALL_OWN_TEXT);
        assert_string_equal(call_query(again), texts[1]);
        Call *other = subscribe_ok(f->d, &f->table, f->sink, 10, "SELECT * FROM App_Event WHERE Id = 12345.0");
        assert_true(other->filter & CALL_OWN_TEXT);
        assert_string_equal(call_query(other), "SELECT * FROM App_Event WHERE Id = 12345.0");
        assert_int_equal(publish(f, 12345, ""), 3);

        call_cancel(c[0]);
        call_cancel(c[3]);
        for (size_t k = 1; k < 6; k++)
                if (k != 3)
                        assert_string_equal(call_query(c[k]), texts[k]);
        sink_cancel_all(f->sink, NULL, NULL);
        assert_int_equal(stats(f).filters, 0);
}

/* A run of registrations that differ only in the integer of `Id = n` is
 * made without parsing once two of them set the shape; anything else, or
 * anything after a change (epoch), goes through the parser and means the
 * same. */
static void test_subscribe_memo(void **state) {
        Fixture *f = *state;
        char text[128];
        Call *c[8];
        for (unsigned k = 0; k < 4; k++) {
                snprintf(text, sizeof(text), "SELECT * FROM App_Event WHERE Id = %u", k * 100 + 1);
                c[k] = subscribe_ok(f->d, &f->table, f->sink, k + 1, text);
                assert_string_equal(call_query(c[k]), text);
        }
        assert_int_equal(f->d->memo_hits, 2); /* the third and the fourth */
        assert_int_equal(publish(f, 301, ""), 1);
        assert_int_equal(f->rec.call_ids[0], 4);
        assert_int_equal(publish(f, 300, ""), 0);

        /* not a plain integer there: parsed, and meaning what it says */
        c[4] = subscribe_ok(f->d, &f->table, f->sink, 5, "SELECT * FROM App_Event WHERE Id = 7.5");
        c[5] = subscribe_ok(f->d, &f->table, f->sink, 6, "SELECT * FROM App_Event WHERE Id = 007");
        assert_int_equal(f->d->memo_hits, 2);
        assert_int_equal(publish(f, 7, ""), 1);
        assert_int_equal(f->rec.call_ids[1], 6);
        Error err;
        SubscribeEnv env = table_env(&f->table);
        Call *bad = NULL;
        const char *b = "SELECT * FROM App_Event WHERE Id = 5 AND";
        assert_int_equal(filter_subscribe(f->d, &env, FIXTURE_NS, b, strlen(b), f->sink, 99, &bad,
                                          &err),
                         WBEM_E_INVALID_QUERY);

        /* a change of classes or options: the shape is learnt again */
        f->d->memo_epoch++;
        c[6] = subscribe_ok(f->d, &f->table, f->sink, 7, "SELECT * FROM App_Event WHERE Id = 8");
        c[7] = subscribe_ok(f->d, &f->table, f->sink, 8, "SELECT * FROM App_Event WHERE Id = 9");
        assert_int_equal(f->d->memo_hits, 2);
        Call *last = subscribe_ok(f->d, &f->table, f->sink, 9, "SELECT * FROM App_Event WHERE Id = 10");
        assert_int_equal(f->d->memo_hits, 3);
        assert_string_equal(call_query(last), "SELECT * FROM App_Event WHERE Id = 10");
        /* a bigger integer than the property holds is a key like any */
        Call *huge = subscribe_ok(f->d, &f->table, f->sink, 10,
                                  "SELECT * FROM App_Event WHERE Id = 123456789012345678");
        assert_int_equal(f->d->memo_hits, 4);
        assert_int_equal(call_filter(huge)->key.u, UINT64_C(123456789012345678));
        sink_cancel_all(f->sink, NULL, NULL);
        assert_int_equal(stats(f).filters, 0);
}

static void test_call_end(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        Call *c1 = subscribe_ok(f->d, &f->table, f->sink, 41, "SELECT * FROM App_Event");
        subscribe_ok(f->d, &f->table, f->sink, 42, "SELECT * FROM App_Event");
        call_end(c1, WBEM_E_INVALID_CLASS, "class App_Event was deleted");
        assert_int_equal(f->rec.n_ended, 1);
        assert_int_equal(f->rec.ended_ids[0], 41);
        assert_int_equal(f->rec.last_status, WBEM_E_INVALID_CLASS);
        assert_string_equal(f->rec.last_message, "class App_Event was deleted");
        assert_int_equal(sink_call_count(f->sink), 1);
        sink_cancel_all(f->sink, NULL, NULL);
        EngineEventStats after = stats(f);
        assert_stats_equal(&after, &before);
}

static void test_projection(void **state) {
        Fixture *f = *state;
        subscribe_ok(f->d, &f->table, f->sink, 1, "SELECT Name FROM App_Event WHERE Id = 3");
        assert_int_equal(publish(f, 3, "kept"), 1);
        Instance *ev = f->rec.last_event;
        assert_non_null(ev);
        assert_string_equal(instance_get(ev, "Name")->s, "kept");
        assert_true(instance_get(ev, "Id")->is_null);
        assert_true(instance_get(ev, "TIME_CREATED")->is_null);

        /* a projection that runs out of memory: the others still get it */
        subscribe_ok(f->d, &f->table, f->sink, 2, "SELECT * FROM App_Event WHERE Id = 3");
        Instance *pub = new_instance(&f->table, "App_Event");
        set_uint(pub, "Id", 3);
        record_reset(&f->rec);
        uint64_t failed = f->d->events_failed;
        size_t delivered = 99;
        mem_fail_at(1);
        assert_int_equal(dispatcher_raise(f->d, FIXTURE_NS, pub, &delivered), -ENOMEM);
        mem_fail_at(0);
        assert_int_equal(delivered, 1);
        assert_int_equal(f->rec.n_indicated, 1);
        assert_int_equal(f->rec.call_ids[0], 2);
        assert_int_equal(f->d->events_failed, failed + 1);
        instance_unref(pub);
}

/* Every allocation of a subscription may fail: the result is -ENOMEM and
 * nothing changes, until it succeeds. Over the three ways a subscription
 * goes: a new captured filter, a shared one, a new filter with a query. */
static void test_subscribe_enomem(void **state) {
        Fixture *f = *state;
        static const char *const queries[] = {
                "SELECT * FROM App_Event WHERE Id = 7",
                "SELECT * FROM App_Event WHERE Id = 7",
                "select * from app_event where Id = 7", /* shared, own text */
                "SELECT * FROM App_Event WHERE Name LIKE 'x%' AND Severity = 2",
                "SELECT Name FROM App_Event WHERE Name = 'q'",
                ("SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'App_Item' "
                 "AND "
                 "TargetInstance.Name <> PreviousInstance.Name"),
        };
        for (size_t q = 0; q < ELEMENTSOF(queries); q++) {
                EngineEventStats before = stats(f);
                bool done = false;
                for (unsigned long n = 1; !done && n < 1000; n++) {
                        SubscribeEnv env = table_env(&f->table);
                        Call *c = NULL;
                        Error err;
                        mem_fail_at(n);
                        int r = filter_subscribe(f->d, &env, FIXTURE_NS, queries[q],
                                                 strlen(queries[q]), f->sink, q, &c, &err);
                        bool fired = mem_fail_triggered();
                        mem_fail_at(0);
                        if (r == 0) {
                                assert_false(fired);
                                assert_non_null(c);
                                done = true;
                                continue;
                        }
                        assert_true(fired);
                        assert_int_equal(r, -ENOMEM);
                        assert_null(c);
                        EngineEventStats now = stats(f);
                        assert_stats_equal(&now, &before);
                }
                assert_true(done);
                assert_int_equal(stats(f).registrations, q + 1);
        }
        assert_int_equal(publish(f, 7, "q"), 3 + 1);
        sink_cancel_all(f->sink, NULL, NULL);
        assert_int_equal(stats(f).filters, 0);
}

static void test_many_calls_one_pass(void **state) {
        Fixture *f = *state;
        /* 20,000 calls of distinct filters and 20,000 of one shared filter */
        char text[128];
        for (unsigned k = 0; k < 20000; k++) {
                snprintf(text, sizeof(text), "SELECT * FROM App_Event WHERE Id = %u", k);
                subscribe_ok(f->d, &f->table, f->sink, k, text);
        }
        for (unsigned k = 0; k < 20000; k++)
                subscribe_ok(f->d, &f->table, f->sink, 20000 + k,
                             "SELECT * FROM App_Event WHERE Name = 'shared'");
        assert_int_equal(stats(f).filters, 20001);
        assert_int_equal(publish(f, 12345, "shared"), 20001);
        assert_int_equal(sink_cancel_all(f->sink, NULL, NULL), 40000);
        assert_int_equal(stats(f).filters, 0);
        assert_null(f->d->eq); /* the table shrank away */
}

/* sink_free() of many calls (a lost session): on return nothing in the
 * dispatcher refers to them (counts, the equality table, delivery), the
 * other sink's filters are intact (the sweep of the table removes only
 * the slots of filters that went), and their memory is freed by
 * dispatcher_reclaim in steps of the size asked, the table shrinking once
 * at the end. */
static void test_sink_free_reclaims_in_steps(void **state) {
        Fixture *f = *state;
        char text[128];
        Sink *s;
        Record rec = { 0 };

        /* the other sink: 10 filters among the doomed ones, and one call
         * on the filter the doomed sink shares */
        for (unsigned k = 0; k < 10; k++) {
                snprintf(text, sizeof(text), "SELECT * FROM App_Event WHERE Id = %u", 500 * k + 1);
                subscribe_ok(f->d, &f->table, f->sink, k, text);
        }
        subscribe_ok(f->d, &f->table, f->sink, 10, "SELECT * FROM App_Event WHERE Name = 'shared'");
        EngineEventStats before = stats(f);
        size_t eq_before = f->d->n_eq;

        assert_int_equal(sink_new_in(f->d, &record_ops, &rec, &s), 0);
        for (unsigned k = 0; k < 5000; k++) {
                snprintf(text, sizeof(text), "SELECT * FROM App_Event WHERE Id = %u", 500 * k);
                subscribe_ok(f->d, &f->table, s, k, text);
        }
        for (unsigned k = 0; k < 3000; k++)
                subscribe_ok(f->d, &f->table, s, 5000 + k,
                             "SELECT * FROM App_Event WHERE Name = 'shared'");
        size_t table_big = f->d->eq_mask + 1;
        assert_int_equal(publish(f, 1000, "x"), 1);
        assert_int_equal(publish(f, 1001, "shared"), 1 + 3000 + 1);

        sink_free(s);
        EngineEventStats after = stats(f);
        assert_stats_equal(&after, &before);
        assert_int_equal(f->d->n_eq, eq_before);
        assert_int_equal(f->d->n_doomed, 0);
        assert_int_equal(publish(f, 1000, "x"), 0);
        assert_int_equal(publish(f, 1001, "shared"), 1 + 1); /* 1001 is the other sink's */
        for (unsigned k = 0; k < 10; k++)
                assert_int_equal(publish(f, 500 * k + 1, "y"), 1);
        assert_int_equal(rec.n_ended, 0);

        /* 5000 filters (each with its call inside) and 3000 calls (the
         * shared filter's inline call is the other sink's) wait; the
         * table keeps its size meanwhile */
        assert_int_equal(dispatcher_reclaim(f->d, 0), 8000);
        assert_int_equal(f->d->eq_mask + 1, table_big);
        size_t left = 8000;
        while (left > 0) {
                size_t step = left < 1000 ? left : 1000;
                assert_int_equal(dispatcher_reclaim(f->d, 1000), left - step);
                left -= step;
        }
        assert_true(f->d->eq_mask + 1 < table_big);
        assert_true(eq_before * 5 <= (f->d->eq_mask + 1) * 4);
        assert_int_equal(dispatcher_reclaim(f->d, 1000), 0);
        for (unsigned k = 0; k < 10; k++)
                assert_int_equal(publish(f, 500 * k + 1, "y"), 1);
        record_reset(&rec);
}

/* A sink of few calls among many unlinks each by lookup; freed in steps
 * all the same. */
static void test_sink_free_small_sink(void **state) {
        Fixture *f = *state;
        char text[128];
        Sink *s;
        Record rec = { 0 };

        for (unsigned k = 0; k < 2000; k++) {
                snprintf(text, sizeof(text), "SELECT * FROM App_Event WHERE Id = %u", k);
                subscribe_ok(f->d, &f->table, f->sink, k, text);
        }
        assert_int_equal(sink_new_in(f->d, &record_ops, &rec, &s), 0);
        for (unsigned k = 0; k < 3; k++) {
                snprintf(text, sizeof(text), "SELECT * FROM App_Event WHERE Id = %u", 10000 + k);
                subscribe_ok(f->d, &f->table, s, k, text);
        }
        sink_free(s);
        assert_int_equal(f->d->n_eq, 2000);
        assert_int_equal(publish(f, 10001, "x"), 0);
        assert_int_equal(publish(f, 1999, "x"), 1);
        assert_int_equal(dispatcher_reclaim(f->d, 2), 1);
        assert_int_equal(dispatcher_reclaim(f->d, 2), 0);
        record_reset(&rec);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_counts_and_accessors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_one, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_all, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sink_free_releases, setup, teardown),
                cmocka_unit_test_setup_teardown(test_filter_sharing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_slot_delivery_modes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_split_texts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_subscribe_memo, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_end, setup, teardown),
                cmocka_unit_test_setup_teardown(test_projection, setup, teardown),
                cmocka_unit_test_setup_teardown(test_subscribe_enomem, setup, teardown),
                cmocka_unit_test_setup_teardown(test_many_calls_one_pass, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sink_free_reclaims_in_steps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sink_free_small_sink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_registrations_live_on_slabs, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
