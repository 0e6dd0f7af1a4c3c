/* Benchmark of the event dispatcher and of registrations (issue 4 bench a
 * and c at engine level, issue 5's memory and subscribe goals).
 *
 * Dispatch: N = 1, 1,000 and 100,000 registrations on one sink, each on a
 * distinct equality filter, every event matching exactly one registration
 * (a random one: the event's Id is drawn from [0, N)) and delivered:
 *   extrinsic  SELECT * FROM App_Event WHERE Id = <n>
 *              (App_Event derived from __ExtrinsicEvent), raised through
 *              engine_publish_event (namespace and class lookup included)
 *   intrinsic  SELECT * FROM __InstanceCreationEvent WHERE TargetInstance
 *              ISA 'App_Item' AND TargetInstance.Id = <n>, raised through
 *              the dispatcher with an __InstanceCreationEvent of an
 *              instance of App_Special, a subclass of App_Item (so the ISA
 *              closure is walked)
 * It prints events per second, nanoseconds per event and the ratio of the
 * cost at 100,000 to the cost at 1 (goal: at most 2).
 *
 * Registrations: 100,000 engine_subscribe() calls on one sink, distinct
 * filters and then one shared filter, timed; heap bytes per registration
 * (mallinfo2().uordblks after minus before, divided by N; query texts are
 * built beforehand and not counted); the time of sink_cancel_all() over
 * them; and the heap after release against before.
 *
 * Usage: bench-dispatch [seconds per dispatch measurement, default 1]. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "class.h"
#include "engine.h"
#include "events.h"
#include "events_internal.h"
#include "instance.h"
#include "mem.h"
#include "repo.h"

#define NS "root/cimv2"
#define MAX_N 100000

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const Error *err) {
        fprintf(stderr, "bench-dispatch: %s: %s\n", what, err ? err->message : "failed");
        exit(1);
}

static size_t heap_used(void) {
        struct mallinfo2 mi = mallinfo2();
        return mi.uordblks;
}

static uint64_t delivered;

static void count_indicate(Sink *sink, Call *call, Instance *event, void *userdata) {
        (void)sink;
        (void)call;
        (void)event;
        (void)userdata;
        delivered++;
}

static const SinkOps count_ops = { .indicate = count_indicate };

static void put_class(Engine *e, const char *name, const char *super, const CimPropertySpec *specs,
                      size_t n) {
        CimClass *def;
        Error err = { 0 };
        if (class_new_from_specs(name, super, false, specs, n, &def, &err) != 0 ||
            engine_put_class(e, NS, def, 0, NULL, &err) != 0)
                die(name, &err);
        class_unref(def);
}

static Instance *new_of(Engine *e, const char *name) {
        CimClass *cls;
        Instance *i = NULL;
        if (repo_class_get(engine_repo(e), NS, name, &cls, NULL) != 0 || instance_new(cls, &i) != 0)
                die("instance", NULL);
        class_unref(cls);
        if (instance_set_namespace(i, NS) != 0)
                die("namespace", NULL);
        return i;
}

/* prefix followed by 0, 1, ... n-1 */
static char **make_texts(const char *prefix, size_t n) {
        char **texts = malloc(n * sizeof(char *));
        if (!texts)
                die("texts", NULL);
        for (size_t k = 0; k < n; k++) {
                char buf[256];
                snprintf(buf, sizeof(buf), "%s%u", prefix, (unsigned)k);
                texts[k] = strdup(buf);
                if (!texts[k])
                        die("texts", NULL);
        }
        return texts;
}

static void free_texts(char **texts, size_t n) {
        for (size_t k = 0; k < n; k++)
                free(texts[k]);
        free(texts);
}

/* Subscribe texts[0..n) (or texts[0] n times with shared), timed. */
static double subscribe_all(Engine *e, Sink *s, char **texts, size_t n, bool shared) {
        double t0 = now();
        for (size_t k = 0; k < n; k++) {
                const char *text = texts[shared ? 0 : k];
                Call *c;
                Error err = { 0 };
                if (engine_subscribe(e, NS, text, strlen(text), s, k, &c, &err) != 0)
                        die(text, &err);
        }
        return now() - t0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng_below(uint32_t n) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du >> 32) % n);
}

static const size_t sizes[3] = { 1, 1000, MAX_N };

typedef enum Form {
        FORM_EXTRINSIC, /* engine_publish_event of a prepared instance */
        FORM_INTRINSIC, /* an __InstanceCreationEvent built and raised per event */
        FORM_INDEX,     /* the dispatcher alone, one prepared intrinsic event */
} Form;

static const char *const form_names[] = { "extrinsic", "intrinsic", "index only" };

/* Which registration each event matches. */
typedef enum Ids {
        IDS_RANDOM,   /* a random one of the N: the goal's measurement */
        IDS_IN_ORDER, /* 0, 1, 2, ...: the same work, memory touched in order */
        IDS_SAME,     /* always the same one: the N - 1 others are unrelated */
} Ids;

static const char *const ids_names[] = { "", " (ids in order)", " (one id, N-1 unrelated)" };

/* Dispatch measurement for one form, for each N. Returns the ratio of the
 * cost at 100,000 to the cost at 1. */
static double bench_dispatch(Engine *e, Form form, Ids ids, double seconds) {
        bool intrinsic = form != FORM_EXTRINSIC;
        const char *prefix = intrinsic ? "SELECT * FROM __InstanceCreationEvent WHERE "
                                         "TargetInstance ISA 'App_Item' AND TargetInstance.Id = "
                                       : "SELECT * FROM App_Event WHERE Id = ";
        char **texts = make_texts(prefix, MAX_N);
        double ns_per_event[3];
        for (int si = 0; si < 3; si++) {
                size_t n = sizes[si];
                Sink *s;
                if (sink_new(e, &count_ops, NULL, &s) != 0)
                        die("sink", NULL);
                subscribe_all(e, s, texts, n, false);
                Dispatcher *d = s->d;

                Instance *ev = NULL, *target = NULL;
                Value *id_value;
                if (intrinsic) {
                        target = new_of(e, "App_Special");
                        id_value = &target->values[class_find_property(target->cls, "Id")];
                        if (form == FORM_INDEX &&
                            dispatcher_intrinsic_event(d, SYS_CREATION, NS, target, NULL, &ev) != 0)
                                die("event", NULL);
                } else {
                        ev = new_of(e, "App_Event");
                        id_value = &ev->values[class_find_property(ev->cls, "Id")];
                        /* TIME_CREATED set once, so publishing changes nothing */
                        ev->values[class_find_property(ev->cls, "TIME_CREATED")] =
                                value_uint(CIM_UINT64, event_time_now());
                }
                *id_value = value_uint(CIM_UINT32, 0);

                uint64_t events = 0;
                delivered = 0;
                double t0 = now(), t1;
                do {
                        for (int k = 0; k < 1000; k++) {
                                if (ids == IDS_RANDOM)
                                        id_value->u = rng_below((uint32_t)n);
                                else if (ids == IDS_IN_ORDER)
                                        id_value->u = (id_value->u + 1) % n;
                                size_t got = 0;
                                Error err;
                                int r;
                                if (form == FORM_EXTRINSIC)
                                        r = engine_publish_event(e, NS, ev, &got, &err);
                                else if (form == FORM_INDEX)
                                        r = dispatcher_raise(d, NS, ev, &got);
                                else {
                                        Instance *built;
                                        r = dispatcher_intrinsic_event(d, SYS_CREATION, NS, target,
                                                                       NULL, &built);
                                        if (r == 0)
                                                r = dispatcher_raise(d, NS, built, &got);
                                        instance_unref(built);
                                }
                                if (r != 0 || got != 1)
                                        die("dispatch", NULL);
                        }
                        events += 1000;
                        t1 = now();
                } while (t1 - t0 < seconds);
                if (delivered != events)
                        die("delivery count", NULL);
                ns_per_event[si] = (t1 - t0) * 1e9 / (double)events;
                printf("  %-10s%s N = %6zu: %10.0f events/s  %7.1f ns/event\n", form_names[form],
                       ids_names[ids], n, (double)events / (t1 - t0), ns_per_event[si]);
                instance_unref(ev);
                instance_unref(target);
                sink_free(s);
        }
        double ratio = ns_per_event[2] / ns_per_event[0];
        printf("  %-10s%s cost at N = 100,000 / cost at N = 1: %.2f\n\n", form_names[form],
               ids_names[ids], ratio);
        free_texts(texts, MAX_N);
        return ratio;
}

static void bench_registrations(Engine *e, const char *label, const char *fmt, bool shared) {
        char **texts = make_texts(fmt, shared ? 1 : MAX_N);
        Sink *s;
        if (sink_new(e, &count_ops, NULL, &s) != 0)
                die("sink", NULL);
        malloc_trim(0);
        size_t before = heap_used();
        double t = subscribe_all(e, s, texts, MAX_N, shared);
        size_t after = heap_used();
        EngineEventStats st;
        engine_event_stats(e, &st);
        double t0 = now();
        size_t cancelled = sink_cancel_all(s, NULL, NULL);
        double t_cancel = now() - t0;
        size_t released = heap_used();
        sink_free(s);
        if (cancelled != MAX_N)
                die("cancel count", NULL);
        printf("  %-24s subscribe %.3f s (%.0f/s, %.2f us each), %zu filters\n", label, t,
               MAX_N / t, t * 1e6 / MAX_N, st.filters);
        printf("  %-24s heap %.1f bytes per registration; sink_cancel_all %.1f ms (%.0f ns per "
               "call); heap after release %+ld bytes\n",
               "", (double)(after - before) / MAX_N, t_cancel * 1e3, t_cancel * 1e9 / MAX_N,
               (long)released - (long)before);
        free_texts(texts, shared ? 1 : MAX_N);
}

int main(int argc, char **argv) {
        double seconds = argc > 1 ? atof(argv[1]) : 1.0;
        Engine *e;
        Error err = { 0 };
        EngineOptions opts = { .repository_path = ":memory:", .host_name = "bench" };
        if (engine_new(&opts, &e, &err) != 0)
                die("engine_new", &err);
        static const CimPropertySpec item[] = {
                { "Id", CIM_UINT32, false, true },
                { "Name", CIM_STRING, false, false },
        };
        static const CimPropertySpec event[] = {
                { "Id", CIM_UINT32, false, false },
                { "Severity", CIM_SINT32, false, false },
                { "Message", CIM_STRING, false, false },
        };
        put_class(e, "App_Item", NULL, item, 2);
        put_class(e, "App_Special", "App_Item", NULL, 0);
        put_class(e, "App_Event", "__ExtrinsicEvent", event, 3);

        printf("dispatch: one sink, N registrations on distinct equality filters, each event "
               "matches one\n");
        double r_ext = bench_dispatch(e, FORM_EXTRINSIC, IDS_RANDOM, seconds);
        double r_int = bench_dispatch(e, FORM_INTRINSIC, IDS_RANDOM, seconds);
        double r_idx = bench_dispatch(e, FORM_INDEX, IDS_RANDOM, seconds);
        double r_seq = bench_dispatch(e, FORM_INDEX, IDS_IN_ORDER, seconds);
        double r_same = bench_dispatch(e, FORM_INDEX, IDS_SAME, seconds);
        printf("ratios (goal: <= 2): extrinsic %.2f, intrinsic %.2f, index only %.2f "
               "(ids in order %.2f, one id %.2f)\n\n",
               r_ext, r_int, r_idx, r_seq, r_same);

        printf("registrations: %d on one sink\n", MAX_N);
        bench_registrations(e, "distinct (extrinsic)",
                            "SELECT * FROM App_Event WHERE Id = ", false);
        bench_registrations(e, "distinct (intrinsic)",
                            "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                            "'App_Item' AND TargetInstance.Id = ",
                            false);
        bench_registrations(e, "distinct (with a query)",
                            "SELECT * FROM App_Event WHERE Severity > 2 AND Id = ", false);
        bench_registrations(e, "shared", "SELECT * FROM App_Event WHERE Severity > ", true);
        bench_registrations(e, "shared (captured)", "SELECT * FROM App_Event WHERE Id = ", true);

        engine_free(e);
        return 0;
}
