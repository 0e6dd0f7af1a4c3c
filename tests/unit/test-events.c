/* Engine-level tests of events (events.h): subscription errors and their
 * messages; intrinsic events of the repository (TargetInstance,
 * PreviousInstance, TIME_CREATED, comparisons between them); extrinsic
 * events published with filters and the delivered count; WITHIN polling of
 * a provider's class with a fake timer fired by hand while the provider's
 * instance set changes (creation, modification, deletion), the poll task
 * shared by the calls that need it and stopped by the last, its failure
 * ending its calls; deleting a class ending its calls; and allocation
 * failure at every step of a subscription and of raising an event. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "class.h"
#include "cleanup.h"
#include "engine.h"
#include "events.h"
#include "instance.h"
#include "mem.h"
#include "names.h"
#include "provider.h"
#include "repo.h"
#include "wql.h"

#define NS "root/cimv2"

/* ---- a provider whose instances the test changes between polls ------------- */

#define PROC_MAX 16

typedef struct ProcRow {
        bool present;
        uint32_t id;
        const char *name;
        uint64_t size;
} ProcRow;

/* A native source of the provider (ProviderOps.source_*). */
#define SRC_MAX 4

typedef struct ProcSource {
        struct Procs *procs;
        EventSource *src;
        char key[64];
        void *watch, *timer;
        bool running;
} ProcSource;

typedef enum NativeMode {
        NATIVE_UNAVAILABLE, /* source_check: 0 with a reason */
        NATIVE_ON,          /* keyed by TargetInstance.Name = '...', else "" */
        NATIVE_REFUSE,      /* source_check: WBEM_E_INVALID_QUERY */
} NativeMode;

typedef struct Procs {
        ProcRow rows[PROC_MAX];
        int fail_status; /* enumeration fails with it when non-zero */
        unsigned enumerations;
        bool freed;
        NativeMode native;
        int start_status; /* source_start fails with it when non-zero */
        ProcSource sources[SRC_MAX];
        unsigned started, stopped, checks;
} Procs;

typedef struct ProcCursor {
        Procs *procs;
        CimClass *cls;
        size_t next;
} ProcCursor;

static const CimPropertySpec proc_props[] = {
        { "Id", CIM_UINT32, false, true },
        { "Name", CIM_STRING, false, false },
        { "Size", CIM_UINT64, false, false },
};

static int proc_get_classes(Provider *p, CimClass ***ret, size_t *ret_count, Error *err) {
        (void)p;
        CimClass **list = mem_calloc(1, sizeof(CimClass *));
        if (!list)
                return -ENOMEM;
        int r = class_new_from_specs("App_Proc", NULL, false, proc_props, ELEMENTSOF(proc_props),
                                     &list[0], err);
        if (r != 0) {
                mem_free(list);
                return r;
        }
        *ret = list;
        *ret_count = 1;
        return 0;
}

static int proc_enum_begin(Provider *p, const char *ns, CimClass *cls, const WqlQuery *query,
                           ProviderCursor **ret, bool *ret_filtered, Error *err) {
        Procs *procs = p->userdata;
        (void)ns;
        (void)query;
        procs->enumerations++;
        if (procs->fail_status)
                return error_set(err, procs->fail_status, "cannot read the process table");
        ProcCursor *c = mem_calloc(1, sizeof(ProcCursor));
        if (!c)
                return -ENOMEM;
        c->procs = procs;
        c->cls = class_ref(cls);
        *ret = (ProviderCursor *)c;
        *ret_filtered = false;
        return 0;
}

static int proc_enum_next(ProviderCursor *pc, Instance **ret, Error *err) {
        ProcCursor *c = (ProcCursor *)pc;
        while (c->next < PROC_MAX && !c->procs->rows[c->next].present)
                c->next++;
        if (c->next >= PROC_MAX)
                return 0;
        const ProcRow *row = &c->procs->rows[c->next++];
        Instance *i;
        int r = instance_new(c->cls, &i);
        if (r < 0)
                return r;
        Value v = value_uint(CIM_UINT32, row->id);
        r = instance_set(i, "Id", &v, err);
        v = value_uint(CIM_UINT64, row->size);
        if (r == 0)
                r = instance_set(i, "Size", &v, err);
        if (r == 0 && row->name) {
                r = value_string(row->name, &v);
                if (r == 0)
                        r = instance_set_take(i, "Name", &v, err);
                value_clear(&v);
        }
        if (r == 0)
                r = instance_set_namespace(i, NS);
        if (r != 0) {
                instance_unref(i);
                return r;
        }
        *ret = i;
        return 1;
}

static void proc_enum_end(ProviderCursor *pc) {
        ProcCursor *c = (ProcCursor *)pc;
        class_unref(c->cls);
        mem_free(c);
}

static void proc_free(Provider *p) {
        Procs *procs = p->userdata;
        procs->freed = true;
        mem_free(p);
}

static int proc_source_check(Provider *p, const char *ns, CimClass *cls, const WqlQuery *q,
                             char **ret_key, char *why, size_t why_size, Error *err) {
        Procs *procs = p->userdata;
        (void)ns;
        (void)cls;
        procs->checks++;
        if (procs->native == NATIVE_UNAVAILABLE) {
                snprintf(why, why_size, "the proc source needs a miracle");
                return 0;
        }
        if (procs->native == NATIVE_REFUSE)
                return error_set(err, WBEM_E_INVALID_QUERY, "name a process");
        static const char *const name_path[] = { "TargetInstance", "Name" };
        const WqlLiteral *l = wql_find_equality(q->where, name_path, 2);
        if (l && l->kind == WQL_LIT_STRING) {
                *ret_key = mem_strdup(l->s);
                if (!*ret_key)
                        return -ENOMEM;
        }
        return 1;
}

static void proc_source_fd(void *arg) {
        (void)arg;
}

static int proc_source_start(Provider *p, const char *ns, const char *key, EventSource *src,
                             ProviderSource **ret, Error *err) {
        Procs *procs = p->userdata;
        (void)ns;
        if (procs->start_status)
                return error_set(err, procs->start_status, "the proc source cannot start");
        for (size_t k = 0; k < SRC_MAX; k++) {
                ProcSource *ps = &procs->sources[k];
                if (ps->running)
                        continue;
                *ps = (ProcSource){ .procs = procs, .src = src, .running = true };
                snprintf(ps->key, sizeof(ps->key), "%s", key);
                ps->watch = event_source_watch(src, 0, proc_source_fd, ps);
                ps->timer = event_source_timer_start(src, 10000, proc_source_fd, ps);
                assert_non_null(ps->watch);
                assert_non_null(ps->timer);
                procs->started++;
                *ret = (ProviderSource *)ps;
                return 0;
        }
        fail_msg("out of sources");
        return -ENOMEM;
}

static void proc_source_stop(ProviderSource *s) {
        ProcSource *ps = (ProcSource *)s;
        assert_true(ps->running);
        event_source_unwatch(ps->src, ps->watch);
        event_source_timer_stop(ps->src, ps->timer);
        ps->running = false;
        ps->procs->stopped++;
}

static const ProviderOps proc_ops = {
        .get_classes = proc_get_classes,
        .enum_begin = proc_enum_begin,
        .enum_next = proc_enum_next,
        .enum_end = proc_enum_end,
        .free = proc_free,
        .source_check = proc_source_check,
        .source_start = proc_source_start,
        .source_stop = proc_source_stop,
};

/* ---- fake timers ------------------------------------------------------------ */

#define TIMER_MAX 8

typedef struct FakeTimer {
        bool active;
        uint64_t interval_usec;
        void (*fn)(void *arg);
        void *arg;
} FakeTimer;

typedef struct FakeTimers {
        FakeTimer t[TIMER_MAX];
        unsigned started, stopped;
        bool refuse; /* start fails */
} FakeTimers;

static void *fake_start(void *userdata, uint64_t interval_usec, void (*fn)(void *arg), void *arg) {
        FakeTimers *ft = userdata;
        if (ft->refuse)
                return NULL;
        for (size_t k = 0; k < TIMER_MAX; k++)
                if (!ft->t[k].active) {
                        ft->t[k] = (FakeTimer){ true, interval_usec, fn, arg };
                        ft->started++;
                        return &ft->t[k];
                }
        fail_msg("out of fake timers");
        return NULL;
}

static void fake_stop(void *userdata, void *timer) {
        FakeTimers *ft = userdata;
        FakeTimer *t = timer;
        assert_true(t >= ft->t && t < ft->t + TIMER_MAX);
        assert_true(t->active);
        t->active = false;
        ft->stopped++;
}

/* Watches are fake timers of interval UINT64_MAX (never fired by hand). */
static void *fake_watch(void *userdata, int fd, void (*fn)(void *arg), void *arg) {
        (void)fd;
        return fake_start(userdata, UINT64_MAX, fn, arg);
}

/* Fire every active timer of the interval once (0: all). */
static unsigned fake_fire(FakeTimers *ft, uint64_t interval_usec) {
        unsigned fired = 0;
        for (size_t k = 0; k < TIMER_MAX; k++)
                if (ft->t[k].active && ft->t[k].interval_usec != UINT64_MAX &&
                    (!interval_usec || ft->t[k].interval_usec == interval_usec)) {
                        ft->t[k].fn(ft->t[k].arg);
                        fired++;
                }
        return fired;
}

static unsigned fake_active(const FakeTimers *ft) {
        unsigned n = 0;
        for (size_t k = 0; k < TIMER_MAX; k++)
                n += ft->t[k].active;
        return n;
}

/* ---- a recording sink ----------------------------------------------------------- */

#define SEEN_MAX 64

typedef struct Seen {
        Instance *events[SEEN_MAX];
        uint64_t calls[SEEN_MAX];
        size_t n;
        uint64_t ended[SEEN_MAX];
        int ended_status;
        char ended_message[512];
        size_t n_ended;
} Seen;

static void seen_indicate(Sink *sink, Call *call, Instance *event, void *userdata) {
        Seen *s = userdata;
        (void)sink;
        assert_true(s->n < SEEN_MAX);
        s->events[s->n] = instance_ref(event);
        s->calls[s->n++] = call_id(call);
}

static void seen_ended(Sink *sink, Call *call, int status, const char *message, void *userdata) {
        Seen *s = userdata;
        (void)sink;
        assert_true(s->n_ended < SEEN_MAX);
        s->ended[s->n_ended++] = call_id(call);
        s->ended_status = status;
        snprintf(s->ended_message, sizeof(s->ended_message), "%s", message);
}

static const SinkOps seen_ops = { .indicate = seen_indicate, .call_ended = seen_ended };

static void seen_clear(Seen *s) {
        for (size_t k = 0; k < s->n; k++)
                instance_unref(s->events[k]);
        s->n = 0;
        s->n_ended = 0;
}

static size_t seen_count(const Seen *s, uint64_t call) {
        size_t n = 0;
        for (size_t k = 0; k < s->n; k++)
                n += s->calls[k] == call;
        return n;
}

/* The last event seen by call, or NULL. */
static Instance *seen_last(const Seen *s, uint64_t call) {
        for (size_t k = s->n; k-- > 0;)
                if (s->calls[k] == call)
                        return s->events[k];
        return NULL;
}

/* ---- fixture ------------------------------------------------------------------- */

typedef struct Fixture {
        Engine *e;
        Procs procs;
        FakeTimers timers;
        Seen seen;
        Sink *sink;
} Fixture;

static void put_class_specs(Engine *e, const char *name, const char *super,
                            const CimPropertySpec *specs, size_t n) {
        CimClass *def;
        Error err = { 0 };
        assert_int_equal(class_new_from_specs(name, super, false, specs, n, &def, &err), 0);
        if (engine_put_class(e, NS, def, 0, NULL, &err) != 0)
                fail_msg("put class %s: %s", name, err.message);
        class_unref(def);
}

static const CimPropertySpec item_props[] = {
        { "Id", CIM_UINT32, false, true },
        { "Name", CIM_STRING, false, false },
        { "Size", CIM_UINT64, false, false },
};
static const CimPropertySpec event_props[] = {
        { "Id", CIM_UINT32, false, false },
        { "Severity", CIM_SINT32, false, false },
        { "Message", CIM_STRING, false, false },
};

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        Error err = { 0 };
        EngineOptions opts = { .repository_path = ":memory:", .host_name = "testhost" };
        assert_int_equal(engine_new(&opts, &f->e, &err), 0);
        put_class_specs(f->e, "App_Item", NULL, item_props, ELEMENTSOF(item_props));
        put_class_specs(f->e, "App_BigItem", "App_Item", NULL, 0);
        put_class_specs(f->e, "App_Event", "__ExtrinsicEvent", event_props,
                        ELEMENTSOF(event_props));

        Provider *p = mem_calloc(1, sizeof(Provider));
        *p = (Provider){ .name = "proc", .ns = NS, .ops = &proc_ops, .userdata = &f->procs };
        if (engine_register_provider(f->e, p, &err) != 0)
                fail_msg("register: %s", err.message);
        engine_set_event_hooks(f->e,
                               &(EngineTimerOps){ .start = fake_start,
                                                  .stop = fake_stop,
                                                  .watch = fake_watch,
                                                  .unwatch = fake_stop,
                                                  .userdata = &f->timers },
                               NULL);
        assert_int_equal(sink_new(f->e, &seen_ops, &f->seen, &f->sink), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        seen_clear(&f->seen);
        engine_free(f->e);
        assert_true(f->procs.freed);
        assert_int_equal(f->procs.started, f->procs.stopped);
        assert_int_equal(fake_active(&f->timers), 0);
        free(f);
        return 0;
}

static EngineEventStats stats(Fixture *f) {
        EngineEventStats s;
        engine_event_stats(f->e, &s);
        return s;
}

static void assert_counts_equal(const EngineEventStats *a, const EngineEventStats *b) {
        assert_int_equal(a->sinks, b->sinks);
        assert_int_equal(a->registrations, b->registrations);
        assert_int_equal(a->filters, b->filters);
        assert_int_equal(a->poll_tasks, b->poll_tasks);
        assert_int_equal(a->sources, b->sources);
}

static Call *sub(Fixture *f, uint64_t id, const char *query) {
        Call *c = NULL;
        Error err = { 0 };
        int r = engine_subscribe(f->e, NS, query, strlen(query), f->sink, id, &c, &err);
        if (r != 0)
                fail_msg("subscribe '%s': %d %s", query, r, err.message);
        return c;
}

static Instance *new_of(Fixture *f, const char *cls_name) {
        CimClass *cls;
        Instance *i;
        assert_int_equal(repo_class_get(engine_repo(f->e), NS, cls_name, &cls, NULL), 0);
        assert_int_equal(instance_new(cls, &i), 0);
        class_unref(cls);
        return i;
}

static void put_item(Fixture *f, const char *cls, uint32_t id, const char *name, uint64_t size) {
        Instance *i = new_of(f, cls);
        Error err = { 0 };
        Value v = value_uint(CIM_UINT32, id);
        assert_int_equal(instance_set(i, "Id", &v, &err), 0);
        v = value_uint(CIM_UINT64, size);
        assert_int_equal(instance_set(i, "Size", &v, &err), 0);
        assert_int_equal(value_string(name, &v), 0);
        assert_int_equal(instance_set_take(i, "Name", &v, &err), 0);
        if (engine_put_instance(f->e, NS, i, 0, NULL, NULL, &err) != 0)
                fail_msg("put: %s", err.message);
        instance_unref(i);
}

static const Instance *embedded(const Instance *ev, const char *prop) {
        const Value *v = instance_get(ev, prop);
        assert_non_null(v);
        return v->is_null ? NULL : v->obj;
}

static uint64_t uint_of(const Instance *i, const char *prop) {
        const Value *v = instance_get(i, prop);
        assert_non_null(v);
        assert_false(v->is_null);
        return v->u;
}

/* ---- errors ------------------------------------------------------------------ */

static void test_subscribe_errors(void **state) {
        Fixture *f = *state;
        static const struct {
                const char *ns, *query;
                int status;
                const char *message;
        } cases[] = {
                { "root/nowhere", "SELECT * FROM App_Event", WBEM_E_INVALID_NAMESPACE,
                  "root/nowhere" },
                { NS, "SELECT * FROM", WBEM_E_INVALID_QUERY, "line 1, column 14" },
                { NS, "SELECT * FROM App_Item", WBEM_E_INVALID_QUERY_TYPE,
                  "App_Item is not an event class: use ExecQuery" },
                { NS, "SELECT * FROM App_Nope", WBEM_E_INVALID_CLASS,
                  "there is no class 'App_Nope' in namespace root/cimv2" },
                { NS, "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance.Id = 1",
                  WBEM_E_INVALID_QUERY, "needs \"TargetInstance ISA 'Class'\"" },
                { NS, "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Proc'",
                  WBEM_E_INVALID_QUERY,
                  "instances of App_Proc come from the proc provider and the proc source needs a "
                  "miracle: add WITHIN n" },
                { NS,
                  "SELECT * FROM __InstanceDeletionEvent WITHIN 0.2 WHERE TargetInstance ISA "
                  "'App_Proc'",
                  WBEM_E_INVALID_QUERY,
                  "WITHIN 0.2 is below the minimum polling interval of 0.5 seconds" },
                { NS,
                  "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item' AND "
                  "TargetInstance.Sise > 1",
                  WBEM_E_INVALID_QUERY, "'Sise' is not a property of App_Item" },
                { NS, "SELECT * FROM App_Event WHERE Severty = 1", WBEM_E_INVALID_QUERY,
                  "'Severty' is not a property of App_Event" },
        };
        EngineEventStats before = stats(f);
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                Call *c = NULL;
                Error err = { 0 };
                int r = engine_subscribe(f->e, cases[k].ns, cases[k].query, strlen(cases[k].query),
                                         f->sink, 1, &c, &err);
                if (r != cases[k].status || !strstr(err.message, cases[k].message))
                        fail_msg("%s: got %d '%s', want %d '%s'", cases[k].query, r, err.message,
                                 cases[k].status, cases[k].message);
                assert_int_equal(err.status, cases[k].status);
                assert_null(c);
        }
        EngineEventStats after = stats(f);
        assert_counts_equal(&after, &before);
        assert_int_equal(f->procs.enumerations, 0);

        /* a sink of another engine */
        Engine *other;
        Sink *foreign;
        Seen seen = { 0 };
        Error err = { 0 };
        EngineOptions opts = { .repository_path = ":memory:" };
        assert_int_equal(engine_new(&opts, &other, &err), 0);
        assert_int_equal(sink_new(other, &seen_ops, &seen, &foreign), 0);
        Call *c = NULL;
        assert_int_equal(
                engine_subscribe(f->e, NS, "SELECT * FROM App_Event", 23, foreign, 1, &c, &err),
                WBEM_E_INVALID_PARAMETER);
        assert_null(c);
        sink_free(foreign);
        engine_free(other);
        assert_int_equal(sink_new(f->e, &(SinkOps){ 0 }, NULL, &foreign), -EINVAL);

        /* no timers: polling is not available */
        engine_set_event_hooks(f->e, NULL, NULL);
        const char *q = "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
                        "'App_Proc'";
        assert_int_equal(engine_subscribe(f->e, NS, q, strlen(q), f->sink, 1, &c, &err),
                         WBEM_E_NOT_SUPPORTED);
        assert_non_null(strstr(err.message, "no timers"));
        /* a timer that cannot start */
        engine_set_event_hooks(
                f->e,
                &(EngineTimerOps){ .start = fake_start, .stop = fake_stop, .userdata = &f->timers },
                &(EngineEventOptions){ .min_within_usec = 100000 });
        f->timers.refuse = true;
        assert_int_equal(engine_subscribe(f->e, NS, q, strlen(q), f->sink, 1, &c, &err), -ENOMEM);
        assert_int_equal(err.status, WBEM_E_OUT_OF_MEMORY);
        f->timers.refuse = false;
        /* the provider failing at the baseline */
        f->procs.fail_status = WBEM_E_ACCESS_DENIED;
        assert_int_equal(engine_subscribe(f->e, NS, q, strlen(q), f->sink, 1, &c, &err),
                         WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(err.message, "cannot read the process table"));
        f->procs.fail_status = 0;
        /* a lower minimum lets 0.2 through */
        const char *q2 = "SELECT * FROM __InstanceCreationEvent WITHIN 0.2 WHERE TargetInstance "
                         "ISA 'App_Proc'";
        sub(f, 2, q2);
        assert_int_equal(stats(f).poll_tasks, 1);
        assert_int_equal(f->timers.t[0].interval_usec, 200000);
        sink_cancel_all(f->sink, NULL, NULL);
        after = stats(f);
        assert_counts_equal(&after, &before);
        assert_int_equal(fake_active(&f->timers), 0);
}

/* ---- native sources ----------------------------------------------------------------- */

static Instance *proc_instance(Fixture *f, uint32_t id, const char *name, uint64_t size) {
        CimClass *cls;
        Instance *i;
        Error err = { 0 };
        assert_int_equal(event_source_class(f->procs.sources[0].src, "App_Proc", &cls, &err), 0);
        assert_int_equal(instance_new(cls, &i), 0);
        class_unref(cls);
        assert_int_equal(instance_set_namespace(i, NS), 0);
        Value v = value_uint(CIM_UINT32, id);
        assert_int_equal(instance_set(i, "Id", &v, &err), 0);
        v = value_uint(CIM_UINT64, size);
        assert_int_equal(instance_set(i, "Size", &v, &err), 0);
        assert_int_equal(value_string(name, &v), 0);
        assert_int_equal(instance_set_take(i, "Name", &v, &err), 0);
        value_clear(&v);
        return i;
}

static ProcSource *source_keyed(Fixture *f, const char *key) {
        for (size_t k = 0; k < SRC_MAX; k++)
                if (f->procs.sources[k].running && strcmp(f->procs.sources[k].key, key) == 0)
                        return &f->procs.sources[k];
        return NULL;
}

/* A provider that raises its events itself: no WITHIN needed (one given is
 * ignored), one running source per key shared by the calls that need it,
 * started by the first and stopped by the last; its events reach its own
 * calls only, filtered as usual; kinds nobody wants are not wanted. */
static void test_native_source(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        Error err = { 0 };
        f->procs.native = NATIVE_ON;

        sub(f, 1, "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Proc'");
        assert_int_equal(f->procs.started, 1);
        assert_int_equal(stats(f).sources, 1);
        assert_int_equal(stats(f).poll_tasks, 0);
        assert_int_equal(f->procs.enumerations, 0); /* no baseline: nothing is polled */
        ProcSource *all = source_keyed(f, "");
        assert_non_null(all);
        /* WITHIN is ignored, the source shared */
        sub(f, 2,
            "SELECT * FROM __InstanceOperationEvent WITHIN 5 WHERE TargetInstance ISA 'App_Proc' "
            "AND TargetInstance.Size > 10");
        assert_int_equal(f->procs.started, 1);
        assert_int_equal(stats(f).sources, 1);
        assert_int_equal(fake_active(&f->timers), 2); /* the source's watch and timer */
        /* another key: another source */
        sub(f, 3,
            "SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'App_Proc' AND "
            "TargetInstance.Name = 'sshd'");
        assert_int_equal(f->procs.started, 2);
        assert_int_equal(stats(f).sources, 2);
        ProcSource *sshd = source_keyed(f, "sshd");
        assert_non_null(sshd);
        all = source_keyed(f, "");

        assert_true(event_source_wants(all->src, PROVIDER_EVENT_CREATION));
        assert_true(event_source_wants(all->src, PROVIDER_EVENT_MODIFICATION));
        assert_false(event_source_wants(sshd->src, PROVIDER_EVENT_CREATION));
        assert_true(event_source_wants(sshd->src, PROVIDER_EVENT_DELETION));

        Instance *bash = proc_instance(f, 7, "bash", 50);
        event_source_raise(all->src, PROVIDER_EVENT_CREATION, bash, NULL);
        assert_int_equal(seen_count(&f->seen, 1), 1);
        assert_int_equal(seen_count(&f->seen, 2), 1);
        assert_int_equal(f->seen.n, 2);
        Instance *ev = seen_last(&f->seen, 1);
        assert_string_equal(ev->cls->name, "__InstanceCreationEvent");
        assert_int_equal(uint_of(embedded(ev, "TargetInstance"), "Id"), 7);
        assert_false(instance_get(ev, "TIME_CREATED")->is_null);
        seen_clear(&f->seen);

        /* a modification with its previous instance; the filter of 2 applies */
        Instance *bigger = proc_instance(f, 7, "bash", 60);
        event_source_raise(all->src, PROVIDER_EVENT_MODIFICATION, bigger, bash);
        assert_int_equal(f->seen.n, 1);
        ev = seen_last(&f->seen, 2);
        assert_string_equal(ev->cls->name, "__InstanceModificationEvent");
        assert_int_equal(uint_of(embedded(ev, "PreviousInstance"), "Size"), 50);
        assert_int_equal(uint_of(embedded(ev, "TargetInstance"), "Size"), 60);
        seen_clear(&f->seen);
        Instance *small = proc_instance(f, 8, "sshd", 5);
        event_source_raise(all->src, PROVIDER_EVENT_MODIFICATION, small, NULL);
        assert_int_equal(f->seen.n, 0); /* Size > 10 does not hold */

        /* a source's events reach its own calls only */
        event_source_raise(sshd->src, PROVIDER_EVENT_DELETION, small, NULL);
        assert_int_equal(f->seen.n, 1);
        assert_int_equal(seen_count(&f->seen, 3), 1);
        seen_clear(&f->seen);
        event_source_raise(sshd->src, PROVIDER_EVENT_CREATION, small, NULL); /* nobody wants it */
        event_source_raise(sshd->src, PROVIDER_EVENT_DELETION, NULL, NULL);  /* ignored */
        assert_int_equal(f->seen.n, 0);

        /* a class the source's namespace lacks */
        CimClass *cls = NULL;
        assert_int_equal(event_source_class(all->src, "App_Nope", &cls, &err),
                         WBEM_E_INVALID_CLASS);
        assert_non_null(strstr(err.message, "there is no class App_Nope"));

        instance_unref(bash);
        instance_unref(bigger);
        instance_unref(small);

        /* the last call of a source stops it */
        sink_cancel_all(f->sink, NULL, NULL);
        assert_int_equal(f->procs.stopped, 2);
        EngineEventStats after = stats(f);
        assert_counts_equal(&after, &before);
        assert_int_equal(fake_active(&f->timers), 0);
}

/* Without a source, or with one that cannot run now, WITHIN polls and a
 * query without it fails with the provider's reason; a source that fails
 * for good ends its calls; the check's and start's errors fail the
 * subscription. */
static void test_native_source_errors(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        Error err = { 0 };
        Call *c = NULL;
        const char *q = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Proc'";
        const char *qw = "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
                         "'App_Proc'";

        /* unavailable: polled with WITHIN, refused without */
        assert_int_equal(engine_subscribe(f->e, NS, q, strlen(q), f->sink, 1, &c, &err),
                         WBEM_E_INVALID_QUERY);
        assert_non_null(strstr(err.message, "the proc source needs a miracle: add WITHIN"));
        sub(f, 1, qw);
        assert_int_equal(stats(f).poll_tasks, 1);
        assert_int_equal(stats(f).sources, 0);
        sink_cancel_all(f->sink, NULL, NULL);

        /* the check refuses the query */
        f->procs.native = NATIVE_REFUSE;
        assert_int_equal(engine_subscribe(f->e, NS, qw, strlen(qw), f->sink, 1, &c, &err),
                         WBEM_E_INVALID_QUERY);
        assert_non_null(strstr(err.message, "provider proc: name a process"));

        /* the start fails */
        f->procs.native = NATIVE_ON;
        f->procs.start_status = WBEM_E_ACCESS_DENIED;
        assert_int_equal(engine_subscribe(f->e, NS, q, strlen(q), f->sink, 1, &c, &err),
                         WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(err.message, "the proc source cannot start"));
        assert_int_equal(stats(f).sources, 0);
        f->procs.start_status = 0;

        /* no descriptor watches from the host: polled */
        engine_set_event_hooks(
                f->e,
                &(EngineTimerOps){ .start = fake_start, .stop = fake_stop, .userdata = &f->timers },
                NULL);
        assert_int_equal(engine_subscribe(f->e, NS, q, strlen(q), f->sink, 1, &c, &err),
                         WBEM_E_INVALID_QUERY);
        assert_non_null(strstr(err.message, "no descriptor watches"));
        engine_set_event_hooks(f->e,
                               &(EngineTimerOps){ .start = fake_start,
                                                  .stop = fake_stop,
                                                  .watch = fake_watch,
                                                  .unwatch = fake_stop,
                                                  .userdata = &f->timers },
                               NULL);

        /* failing for good ends the source's calls, and stops it */
        sub(f, 1, q);
        sub(f, 2, "SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'App_Proc'");
        sub(f, 3, "SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'App_Proc' AND "
                  "TargetInstance.Name = 'x'");
        assert_int_equal(stats(f).sources, 2);
        event_source_fail(source_keyed(f, "")->src, WBEM_E_PROVIDER_FAILURE, "the kernel said no");
        assert_int_equal(f->seen.n_ended, 2);
        assert_int_equal(f->seen.ended_status, WBEM_E_PROVIDER_FAILURE);
        assert_string_equal(f->seen.ended_message, "the kernel said no");
        assert_int_equal(stats(f).sources, 1);
        assert_int_equal(stats(f).registrations, before.registrations + 1);
        sink_cancel_all(f->sink, NULL, NULL);
        EngineEventStats after = stats(f);
        assert_counts_equal(&after, &before);
        assert_int_equal(fake_active(&f->timers), 0);
        assert_int_equal(f->procs.started, f->procs.stopped);
}

/* ---- repository events ----------------------------------------------------------- */

static void test_repository_events(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        Call *c1 = sub(f, 1,
                       "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item'");
        sub(f, 2,
            "SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'App_Item' AND "
            "TargetInstance.Size > PreviousInstance.Size");
        sub(f, 3,
            "SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'App_Item' AND "
            "TargetInstance.Name = 'disk'");
        sub(f, 4,
            "SELECT * FROM __InstanceOperationEvent WITHIN 5 WHERE TargetInstance ISA "
            "'App_BigItem'");
        Call *c5 = sub(f, 5,
                       "SELECT TargetInstance FROM __InstanceModificationEvent WHERE "
                       "TargetInstance ISA 'App_Item'");
        /* the select list, for writers that leave the other properties out */
        assert_null(call_projection(c1));
        const WqlQuery *projection = call_projection(c5);
        assert_non_null(projection);
        assert_int_equal(projection->n_select, 1);
        assert_string_equal(projection->select[0], "TargetInstance");
        /* WITHIN on a repository class: accepted, ignored */
        assert_int_equal(stats(f).poll_tasks, 0);
        assert_int_equal(f->timers.started, 0);

        uint64_t before_time = ((uint64_t)time(NULL) + 11644473600u) * 10000000u;
        put_item(f, "App_Item", 1, "disk", 10);
        assert_int_equal(f->seen.n, 1);
        assert_int_equal(f->seen.calls[0], 1);
        Instance *ev = f->seen.events[0];
        assert_string_equal(ev->cls->name, "__InstanceCreationEvent");
        assert_string_equal(ev->ns, NS);
        const Instance *target = embedded(ev, "TargetInstance");
        assert_non_null(target);
        assert_string_equal(target->cls->name, "App_Item");
        assert_int_equal(uint_of(target, "Size"), 10);
        assert_string_equal(target->ns, NS);
        uint64_t t = uint_of(ev, "TIME_CREATED");
        assert_true(t >= before_time - 10000000u && t <= before_time + 20000000u);
        seen_clear(&f->seen);

        /* modification: bigger, so 2 (Target > Previous) and 5 (projected) */
        put_item(f, "App_Item", 1, "disk", 20);
        assert_int_equal(f->seen.n, 2);
        ev = seen_last(&f->seen, 2);
        assert_non_null(ev);
        assert_int_equal(uint_of(embedded(ev, "TargetInstance"), "Size"), 20);
        assert_int_equal(uint_of(embedded(ev, "PreviousInstance"), "Size"), 10);
        ev = seen_last(&f->seen, 5);
        assert_non_null(ev);
        assert_non_null(embedded(ev, "TargetInstance"));
        assert_null(embedded(ev, "PreviousInstance"));
        assert_true(instance_get(ev, "TIME_CREATED")->is_null);
        seen_clear(&f->seen);
        /* smaller: only 5 */
        put_item(f, "App_Item", 1, "disk", 5);
        assert_int_equal(f->seen.n, 1);
        assert_int_equal(f->seen.calls[0], 5);
        seen_clear(&f->seen);

        /* a subclass instance: 4 sees its creation too */
        put_item(f, "App_BigItem", 2, "tape", 1);
        assert_int_equal(seen_count(&f->seen, 1), 1);
        assert_int_equal(seen_count(&f->seen, 4), 1);
        assert_int_equal(f->seen.n, 2);
        seen_clear(&f->seen);

        Error err = { 0 };
        Instance *deleted = NULL;
        assert_int_equal(engine_delete_instance(f->e, NS, "App_Item.Id=1", &deleted, &err), 0);
        assert_non_null(deleted);
        assert_int_equal(f->seen.n, 1);
        assert_int_equal(f->seen.calls[0], 3);
        assert_int_equal(uint_of(embedded(f->seen.events[0], "TargetInstance"), "Id"), 1);
        instance_unref(deleted);
        seen_clear(&f->seen);
        assert_int_equal(engine_delete_instance(f->e, NS, "App_BigItem.Id=2", NULL, &err), 0);
        assert_int_equal(f->seen.n, 1);
        assert_int_equal(f->seen.calls[0], 4);
        seen_clear(&f->seen);

        /* other namespaces do not see them */
        assert_int_equal(sink_cancel_all(f->sink, NULL, NULL), 5);
        EngineEventStats after = stats(f);
        assert_counts_equal(&after, &before);
        assert_true(after.events_raised >= 6);
        put_item(f, "App_Item", 3, "x", 1);
        assert_int_equal(f->seen.n, 0);
}

/* ---- extrinsic events ---------------------------------------------------------------- */

static Instance *app_event(Fixture *f, uint32_t id, int32_t severity) {
        Instance *ev = new_of(f, "App_Event");
        Error err;
        Value v = value_uint(CIM_UINT32, id);
        assert_int_equal(instance_set(ev, "Id", &v, &err), 0);
        v = value_sint(CIM_SINT32, severity);
        assert_int_equal(instance_set(ev, "Severity", &v, &err), 0);
        return ev;
}

static void test_extrinsic(void **state) {
        Fixture *f = *state;
        Error err = { 0 };
        size_t delivered = 99;
        sub(f, 1, "SELECT * FROM App_Event WHERE Severity >= 3");
        sub(f, 2, "SELECT * FROM App_Event WHERE Id = 7");
        sub(f, 3, "SELECT * FROM __ExtrinsicEvent");

        Instance *ev = app_event(f, 7, 1);
        assert_int_equal(engine_publish_event(f->e, NS, ev, &delivered, &err), 0);
        assert_int_equal(delivered, 2);
        assert_int_equal(seen_count(&f->seen, 2), 1);
        assert_int_equal(seen_count(&f->seen, 3), 1);
        /* TIME_CREATED set, namespace set (the instance was ours alone) */
        Instance *got = seen_last(&f->seen, 2);
        assert_false(instance_get(got, "TIME_CREATED")->is_null);
        assert_string_equal(got->ns, NS);
        instance_unref(ev);
        seen_clear(&f->seen);

        /* a shared instance is not changed: a copy goes out */
        ev = app_event(f, 8, 5);
        Instance *keep = instance_ref(ev);
        assert_int_equal(engine_publish_event(f->e, "ROOT\\CIMV2", ev, &delivered, &err), 0);
        assert_int_equal(delivered, 2);
        assert_true(instance_get(ev, "TIME_CREATED")->is_null);
        assert_false(instance_get(seen_last(&f->seen, 1), "TIME_CREATED")->is_null);
        assert_string_equal(seen_last(&f->seen, 1)->ns, NS);
        instance_unref(keep);
        instance_unref(ev);
        seen_clear(&f->seen);

        /* a given TIME_CREATED stays */
        ev = app_event(f, 9, 0);
        Value v = value_uint(CIM_UINT64, 42);
        assert_int_equal(instance_set(ev, "TIME_CREATED", &v, &err), 0);
        assert_int_equal(engine_publish_event(f->e, NS, ev, NULL, &err), 0);
        assert_int_equal(uint_of(seen_last(&f->seen, 3), "TIME_CREATED"), 42);
        instance_unref(ev);
        seen_clear(&f->seen);

        /* errors */
        Instance *item = new_of(f, "App_Item");
        delivered = 99;
        assert_int_equal(engine_publish_event(f->e, NS, item, &delivered, &err),
                         WBEM_E_INVALID_CLASS);
        assert_non_null(strstr(err.message, "App_Item is not an extrinsic event class"));
        assert_int_equal(delivered, 99);
        instance_unref(item);
        ev = app_event(f, 1, 1);
        assert_int_equal(engine_publish_event(f->e, "root/nowhere", ev, &delivered, &err),
                         WBEM_E_INVALID_NAMESPACE);
        assert_int_equal(engine_publish_event(f->e, "root", ev, &delivered, &err),
                         WBEM_E_INVALID_CLASS);
        assert_non_null(strstr(err.message, "there is no class App_Event in namespace root"));
        assert_int_equal(engine_publish_event(f->e, NS, NULL, &delivered, &err),
                         WBEM_E_INVALID_PARAMETER);
        instance_unref(ev);
        assert_int_equal(f->seen.n, 0);
}

/* ---- polling ------------------------------------------------------------------------ */

static void proc_set(Fixture *f, size_t slot, uint32_t id, const char *name, uint64_t size) {
        f->procs.rows[slot] = (ProcRow){ true, id, name, size };
}

static void test_within_polling(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        proc_set(f, 0, 1, "init", 100);
        proc_set(f, 1, 2, "sshd", 200);

        sub(f, 1,
            "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'App_Proc'");
        assert_int_equal(stats(f).poll_tasks, 1);
        assert_int_equal(f->timers.started, 1);
        assert_int_equal(f->timers.t[0].interval_usec, 1000000);
        assert_int_equal(f->procs.enumerations, 1); /* the baseline */
        sub(f, 2,
            "SELECT * FROM __InstanceDeletionEvent WITHIN 1 WHERE TargetInstance ISA 'App_Proc' "
            "AND TargetInstance.Name = 'sshd'");
        sub(f, 3,
            "SELECT * FROM __InstanceModificationEvent WITHIN 1 WHERE TargetInstance ISA "
            "'App_Proc' AND TargetInstance.Size > PreviousInstance.Size");
        sub(f, 4,
            "SELECT * FROM __InstanceOperationEvent WITHIN 1 WHERE TargetInstance ISA 'App_Proc'");
        /* one task for all of them */
        assert_int_equal(stats(f).poll_tasks, 1);
        assert_int_equal(f->timers.started, 1);
        assert_int_equal(f->procs.enumerations, 1);

        /* nothing changed: nothing raised */
        assert_int_equal(fake_fire(&f->timers, 0), 1);
        assert_int_equal(f->procs.enumerations, 2);
        assert_int_equal(f->seen.n, 0);

        /* a creation */
        proc_set(f, 2, 3, "bash", 50);
        fake_fire(&f->timers, 0);
        assert_int_equal(f->seen.n, 2);
        assert_int_equal(seen_count(&f->seen, 1), 1);
        assert_int_equal(seen_count(&f->seen, 4), 1);
        const Instance *target = embedded(seen_last(&f->seen, 1), "TargetInstance");
        assert_int_equal(uint_of(target, "Id"), 3);
        assert_string_equal(target->ns, NS);
        assert_string_equal(seen_last(&f->seen, 1)->cls->name, "__InstanceCreationEvent");
        assert_false(instance_get(seen_last(&f->seen, 1), "TIME_CREATED")->is_null);
        seen_clear(&f->seen);

        /* modifications: one grows (3 and 4), one shrinks (4 only) */
        proc_set(f, 0, 1, "init", 150);
        proc_set(f, 2, 3, "bash", 10);
        fake_fire(&f->timers, 0);
        assert_int_equal(seen_count(&f->seen, 3), 1);
        assert_int_equal(seen_count(&f->seen, 4), 2);
        assert_int_equal(f->seen.n, 3);
        Instance *mod = seen_last(&f->seen, 3);
        assert_string_equal(mod->cls->name, "__InstanceModificationEvent");
        assert_int_equal(uint_of(embedded(mod, "TargetInstance"), "Size"), 150);
        assert_int_equal(uint_of(embedded(mod, "PreviousInstance"), "Size"), 100);
        seen_clear(&f->seen);

        /* deletions: sshd (2 and 4), bash (4) */
        f->procs.rows[1].present = false;
        f->procs.rows[2].present = false;
        fake_fire(&f->timers, 0);
        assert_int_equal(seen_count(&f->seen, 2), 1);
        assert_int_equal(seen_count(&f->seen, 4), 2);
        assert_int_equal(f->seen.n, 3);
        assert_string_equal(seen_last(&f->seen, 2)->cls->name, "__InstanceDeletionEvent");
        assert_int_equal(uint_of(embedded(seen_last(&f->seen, 2), "TargetInstance"), "Id"), 2);
        seen_clear(&f->seen);

        /* another interval: its own task, and neither sees the other's events */
        Call *c5 = sub(f, 5,
                       "SELECT * FROM __InstanceCreationEvent WITHIN 2 WHERE TargetInstance ISA "
                       "'App_Proc'");
        assert_int_equal(stats(f).poll_tasks, 2);
        assert_int_equal(fake_active(&f->timers), 2);
        proc_set(f, 3, 9, "cron", 1);
        fake_fire(&f->timers, 1000000);
        assert_int_equal(seen_count(&f->seen, 1), 1);
        assert_int_equal(seen_count(&f->seen, 5), 0);
        fake_fire(&f->timers, 2000000);
        assert_int_equal(seen_count(&f->seen, 1), 1);
        assert_int_equal(seen_count(&f->seen, 5), 1);
        seen_clear(&f->seen);
        call_cancel(c5);
        assert_int_equal(stats(f).poll_tasks, 1);
        assert_int_equal(fake_active(&f->timers), 1);
        assert_int_equal(f->timers.stopped, 1);

        /* the last call stops the task */
        sink_cancel_all(f->sink, NULL, NULL);
        EngineEventStats after = stats(f);
        assert_counts_equal(&after, &before);
        assert_int_equal(fake_active(&f->timers), 0);
        assert_int_equal(f->timers.stopped, 2);
}

static void test_poll_failure_ends_calls(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        proc_set(f, 0, 1, "init", 100);
        sub(f, 1,
            "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'App_Proc'");
        sub(f, 2,
            "SELECT * FROM __InstanceDeletionEvent WITHIN 1 WHERE TargetInstance ISA 'App_Proc'");
        sub(f, 3, "SELECT * FROM App_Event");
        f->procs.fail_status = WBEM_E_ACCESS_DENIED;
        fake_fire(&f->timers, 0);
        fake_fire(&f->timers, 0);
        assert_int_equal(f->seen.n_ended, 0);
        /* a success in between resets the count */
        f->procs.fail_status = 0;
        fake_fire(&f->timers, 0);
        f->procs.fail_status = WBEM_E_ACCESS_DENIED;
        fake_fire(&f->timers, 0);
        fake_fire(&f->timers, 0);
        assert_int_equal(f->seen.n_ended, 0);
        fake_fire(&f->timers, 0);
        assert_int_equal(f->seen.n_ended, 2);
        assert_int_equal(f->seen.ended_status, WBEM_E_PROVIDER_FAILURE);
        if (!strstr(f->seen.ended_message, "polling App_Proc failed 3 times in a row: ") ||
            !strstr(f->seen.ended_message, "cannot read the process table"))
                fail_msg("%s", f->seen.ended_message);
        assert_int_equal(stats(f).poll_tasks, 0);
        assert_int_equal(fake_active(&f->timers), 0);
        assert_int_equal(sink_call_count(f->sink), 1);
        sink_cancel_all(f->sink, NULL, NULL);
        EngineEventStats after = stats(f);
        assert_counts_equal(&after, &before);
}

/* ---- deleting a class ---------------------------------------------------------------- */

static void test_class_delete_ends_calls(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        Error err = { 0 };
        sub(f, 1, "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_BigItem'");
        sub(f, 2,
            "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Item' AND "
            "TargetInstance.Id = 4");
        sub(f, 3, "SELECT * FROM App_Event WHERE Id = 1");
        assert_int_equal(engine_delete_class(f->e, NS, "App_BigItem", 0, &err), 0);
        assert_int_equal(f->seen.n_ended, 1);
        assert_int_equal(f->seen.ended[0], 1);
        assert_int_equal(f->seen.ended_status, WBEM_E_INVALID_CLASS);
        assert_non_null(strstr(f->seen.ended_message,
                               "class App_BigItem was deleted from namespace root/cimv2"));
        assert_int_equal(sink_call_count(f->sink), 2);
        assert_int_equal(engine_delete_class(f->e, NS, "App_Event", 0, &err), 0);
        assert_int_equal(f->seen.n_ended, 2);
        assert_int_equal(f->seen.ended[1], 3);
        assert_int_equal(sink_call_count(f->sink), 1);
        put_item(f, "App_Item", 4, "x", 1);
        assert_int_equal(seen_count(&f->seen, 2), 1);
        sink_cancel_all(f->sink, NULL, NULL);
        EngineEventStats after = stats(f);
        assert_counts_equal(&after, &before);
}

static void test_class_change_ends_stale_keys(void **state) {
        Fixture *f = *state;
        EngineEventStats before = stats(f);
        sub(f, 1, "SELECT * FROM App_Event WHERE Id = 7");
        sub(f, 2, "SELECT * FROM App_Event WHERE Severity = 1");
        sub(f, 3, "SELECT * FROM App_Event WHERE Id > 3");
        sub(f, 4,
            "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_BigItem' AND "
            "TargetInstance.Size = 4");
        /* a new property: nothing changes */
        static const CimPropertySpec more[] = {
                { "Id", CIM_UINT32, false, false },
                { "Severity", CIM_SINT32, false, false },
                { "Message", CIM_STRING, false, false },
                { "Extra", CIM_STRING, false, false },
        };
        CimClass *def;
        Error err = { 0 };
        assert_int_equal(
                class_new_from_specs("App_Event", "__ExtrinsicEvent", false, more, 4, &def, &err),
                0);
        assert_int_equal(engine_put_class(f->e, NS, def, REPO_FORCE, NULL, &err), 0);
        class_unref(def);
        assert_int_equal(f->seen.n_ended, 0);
        /* Id becomes a string: the filter keyed on Id = 7 goes, the others stay */
        static const CimPropertySpec retyped[] = {
                { "Id", CIM_STRING, false, false },
                { "Severity", CIM_SINT64, false, false },
                { "Message", CIM_STRING, false, false },
        };
        assert_int_equal(class_new_from_specs("App_Event", "__ExtrinsicEvent", false, retyped, 3,
                                              &def, &err),
                         0);
        if (engine_put_class(f->e, NS, def, REPO_FORCE, NULL, &err) != 0)
                fail_msg("%s", err.message);
        class_unref(def);
        assert_int_equal(f->seen.n_ended, 1);
        assert_int_equal(f->seen.ended[0], 1);
        assert_int_equal(f->seen.ended_status, WBEM_E_INVALID_CLASS);
        assert_non_null(strstr(f->seen.ended_message, "class App_Event was changed"));
        assert_int_equal(sink_call_count(f->sink), 3);
        /* a superclass change reaches the subclass's filters: Size goes away */
        static const CimPropertySpec fewer[] = {
                { "Id", CIM_UINT32, false, true },
                { "Name", CIM_STRING, false, false },
        };
        assert_int_equal(class_new_from_specs("App_Item", NULL, false, fewer, 2, &def, &err), 0);
        if (engine_put_class(f->e, NS, def, REPO_FORCE, NULL, &err) != 0)
                fail_msg("%s", err.message);
        class_unref(def);
        assert_int_equal(f->seen.n_ended, 2);
        assert_int_equal(f->seen.ended[1], 4);
        /* the survivors still work */
        Instance *ev = new_of(f, "App_Event");
        Value v = value_sint(CIM_SINT64, 1);
        assert_int_equal(instance_set(ev, "Severity", &v, &err), 0);
        assert_int_equal(value_string("9", &v), 0);
        assert_int_equal(instance_set_take(ev, "Id", &v, &err), 0);
        size_t delivered = 0;
        assert_int_equal(engine_publish_event(f->e, NS, ev, &delivered, &err), 0);
        assert_int_equal(delivered, 2);
        instance_unref(ev);
        sink_cancel_all(f->sink, NULL, NULL);
        EngineEventStats after = stats(f);
        assert_counts_equal(&after, &before);
}

/* ---- out of memory ----------------------------------------------------------------- */

/* Allocation failure at every step of a subscription on a native source:
 * -ENOMEM, nothing kept, a source started for it stopped again. */
static void test_native_enomem(void **state) {
        Fixture *f = *state;
        static const char *const queries[] = {
                "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'App_Proc'",
                ("SELECT * FROM __InstanceDeletionEvent WHERE TargetInstance ISA 'App_Proc' AND "
                 "TargetInstance.Name = 'x'"),
                ("SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'App_Proc' AND "
                 "TargetInstance.Size > 3"),
        };
        f->procs.native = NATIVE_ON;
        for (size_t q = 0; q < ELEMENTSOF(queries); q++) {
                EngineEventStats before = stats(f);
                bool done = false;
                for (unsigned long n = 1; !done && n < 5000; n++) {
                        Call *c = NULL;
                        Error err = { 0 };
                        mem_fail_at(n);
                        int r = engine_subscribe(f->e, NS, queries[q], strlen(queries[q]), f->sink,
                                                 q, &c, &err);
                        bool fired = mem_fail_triggered();
                        mem_fail_at(0);
                        if (r == 0) {
                                done = true;
                                continue;
                        }
                        assert_true(fired);
                        assert_int_equal(r, -ENOMEM);
                        assert_null(c);
                        EngineEventStats now = stats(f);
                        assert_counts_equal(&now, &before);
                        assert_int_equal(f->procs.started - f->procs.stopped, before.sources);
                }
                assert_true(done);
        }
        assert_int_equal(stats(f).sources, 2);
        sink_cancel_all(f->sink, NULL, NULL);
        assert_int_equal(stats(f).sources, 0);
}

static void test_subscribe_enomem(void **state) {
        Fixture *f = *state;
        static const char *const queries[] = {
                "SELECT * FROM App_Event WHERE Id = 3",
                "SELECT * FROM App_Event WHERE Id = 3",
                "SELECT * FROM App_Event WHERE Severity > 3 OR Message LIKE 'x%'",
                ("SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'App_Item' "
                 "AND TargetInstance.Size > PreviousInstance.Size"),
                ("SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
                 "'App_Proc' AND TargetInstance.Name = 'init'"),
                ("SELECT TargetInstance FROM __InstanceDeletionEvent WITHIN 1 WHERE TargetInstance "
                 "ISA 'App_Proc'"),
        };
        proc_set(f, 0, 1, "init", 100);
        for (size_t q = 0; q < ELEMENTSOF(queries); q++) {
                EngineEventStats before = stats(f);
                unsigned started = f->timers.started, stopped = f->timers.stopped;
                bool done = false;
                for (unsigned long n = 1; !done && n < 5000; n++) {
                        Call *c = NULL;
                        Error err = { 0 };
                        mem_fail_at(n);
                        int r = engine_subscribe(f->e, NS, queries[q], strlen(queries[q]), f->sink,
                                                 q, &c, &err);
                        bool fired = mem_fail_triggered();
                        mem_fail_at(0);
                        if (r == 0) {
                                if (fired)
                                        print_message("query %zu: allocation %lu failed and was "
                                                      "tolerated\n",
                                                      q, n);
                                done = true;
                                continue;
                        }
                        assert_true(fired);
                        assert_int_equal(r, -ENOMEM);
                        assert_int_equal(err.status, WBEM_E_OUT_OF_MEMORY);
                        assert_null(c);
                        EngineEventStats now = stats(f);
                        assert_counts_equal(&now, &before);
                        /* a task that was started for it was stopped again */
                        assert_int_equal(f->timers.started - started, f->timers.stopped - stopped);
                }
                assert_true(done);
        }
        assert_int_equal(stats(f).registrations, ELEMENTSOF(queries));
        assert_int_equal(stats(f).poll_tasks, 1);
        proc_set(f, 1, 2, "init", 1);
        f->procs.rows[0].present = false;
        fake_fire(&f->timers, 0);
        assert_int_equal(seen_count(&f->seen, 4), 1);
        assert_int_equal(seen_count(&f->seen, 5), 1);
        sink_cancel_all(f->sink, NULL, NULL);
        assert_int_equal(stats(f).filters, 0);
        assert_int_equal(fake_active(&f->timers), 0);
}

static void test_raise_enomem(void **state) {
        Fixture *f = *state;
        sub(f, 1, "SELECT * FROM App_Event WHERE Id = 5");
        sub(f, 2, "SELECT Id FROM App_Event WHERE Severity > 0");
        sub(f, 3, "SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'App_Item'");
        sub(f, 4,
            "SELECT * FROM __InstanceModificationEvent WITHIN 1 WHERE TargetInstance ISA "
            "'App_Proc'");
        EngineEventStats base = stats(f);

        /* publishing: -ENOMEM cleanly, or delivered to both */
        bool done = false;
        for (unsigned long n = 1; !done && n < 1000; n++) {
                Instance *ev = app_event(f, 5, 2);
                size_t delivered = 99;
                Error err = { 0 };
                seen_clear(&f->seen);
                mem_fail_at(n);
                int r = engine_publish_event(f->e, NS, ev, &delivered, &err);
                bool fired = mem_fail_triggered();
                mem_fail_at(0);
                instance_unref(ev);
                if (r == 0) {
                        assert_false(fired);
                        assert_int_equal(delivered, 2);
                        done = true;
                        continue;
                }
                assert_int_equal(r, -ENOMEM);
                assert_int_equal(delivered, 99);
                assert_true(f->seen.n <= 1);
                EngineEventStats now = stats(f);
                assert_counts_equal(&now, &base);
        }
        assert_true(done);

        /* repository writes: the write succeeds or fails; an event that could
         * not be built after COMMIT is counted */
        done = false;
        for (unsigned long n = 1; !done && n < 5000; n++) {
                Instance *i = new_of(f, "App_Item");
                Error err = { 0 };
                Value v = value_uint(CIM_UINT32, 1);
                assert_int_equal(instance_set(i, "Id", &v, &err), 0);
                v = value_uint(CIM_UINT64, n);
                assert_int_equal(instance_set(i, "Size", &v, &err), 0);
                seen_clear(&f->seen);
                EngineEventStats pre = stats(f);
                mem_fail_at(n);
                int r = engine_put_instance(f->e, NS, i, 0, NULL, NULL, &err);
                bool fired = mem_fail_triggered();
                mem_fail_at(0);
                instance_unref(i);
                EngineEventStats post = stats(f);
                assert_counts_equal(&post, &base);
                if (r != 0) {
                        assert_int_equal(r, -ENOMEM);
                        assert_int_equal(f->seen.n, 0);
                        continue;
                }
                if (!fired)
                        done = true;
                /* committed: either delivered or counted as failed */
                assert_true(f->seen.n == 1 || post.events_failed == pre.events_failed + 1);
        }
        assert_true(done);

        /* a poll tick: a failed snapshot keeps the old one, so nothing is lost */
        proc_set(f, 0, 1, "init", 1);
        fake_fire(&f->timers, 0); /* baseline had none: a creation nobody wants */
        done = false;
        uint64_t size = 1;
        for (unsigned long n = 1; !done && n < 1000; n++) {
                seen_clear(&f->seen);
                proc_set(f, 0, 1, "init", ++size);
                EngineEventStats pre = stats(f);
                mem_fail_at(n);
                fake_fire(&f->timers, 0);
                bool fired = mem_fail_triggered();
                mem_fail_at(0);
                EngineEventStats post = stats(f);
                assert_counts_equal(&post, &base);
                if (!fired) {
                        assert_int_equal(seen_count(&f->seen, 4), 1);
                        done = true;
                } else
                        assert_true(f->seen.n == 0 || post.events_failed > pre.events_failed ||
                                    seen_count(&f->seen, 4) == 1);
        }
        assert_true(done);
        sink_cancel_all(f->sink, NULL, NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_subscribe_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_repository_events, setup, teardown),
                cmocka_unit_test_setup_teardown(test_extrinsic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_within_polling, setup, teardown),
                cmocka_unit_test_setup_teardown(test_poll_failure_ends_calls, setup, teardown),
                cmocka_unit_test_setup_teardown(test_native_source, setup, teardown),
                cmocka_unit_test_setup_teardown(test_native_source_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_class_delete_ends_calls, setup, teardown),
                cmocka_unit_test_setup_teardown(test_class_change_ends_stale_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_subscribe_enomem, setup, teardown),
                cmocka_unit_test_setup_teardown(test_native_enomem, setup, teardown),
                cmocka_unit_test_setup_teardown(test_raise_enomem, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
