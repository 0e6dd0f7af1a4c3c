/* The engine's side of events.h: sinks and subscriptions bound to an
 * Engine, publishing extrinsic events, and the intrinsic events of the
 * repository's writes. The machinery itself lives below (dispatcher.c,
 * filter.c, sink.c, poll.c); this file supplies what it needs from the
 * engine: classes from the repository, the source of a class's events
 * (native or polled), enumeration for poll tasks.
 *
 * Sources. A class has native instance events when neither it nor any
 * subclass is served by a provider: all its instances live in the
 * repository, whose writes raise events after COMMIT. Otherwise its
 * instances come (at least partly) from providers: when the provider says
 * it raises them natively (ProviderOps.source_check, source.c) the call
 * goes on that provider's running source; if not, an intrinsic query needs
 * WITHIN and gets a poll task; the poll enumerates the class deeply,
 * repository subclasses included. Either way a task's events reach only the
 * calls of that task, so nothing is delivered twice.
 *
 * TIME_CREATED is WMI's: 100-nanosecond intervals since 1601-01-01 UTC
 * (a FILETIME), as uint64.
 *
 * Deleting a class ends the calls that name it (FROM or ISA) or a subclass
 * deleted with it: call_ended with WBEM_E_INVALID_CLASS and a message that
 * names the class, since such a query could never be registered again as
 * written. Changing a class (PutClass) ends, with the same status, only the
 * calls whose filter is indexed on `Prop = literal` where Prop's type moved
 * to another kind (number, text, boolean, datetime) or went away: their key
 * was made for the old type. Other calls are unaffected: evaluation reads
 * types per event. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "engine_internal.h"
#include "events_internal.h"
#include "mem.h"
#include "names.h"
#include "repo.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(CimClass *, class_unref);

/* ---- what the machinery needs from the engine ------------------------------ */

static int events_class_get(void *userdata, const char *ns, const char *name, CimClass **ret,
                            Error *err) {
        Engine *e = userdata;
        return repo_class_get(e->repo, ns, name, ret, err);
}

/* The provider serving cls or one of its subclasses in ns into *ret (NULL
 * when none): the served classes are few, so look at each. 0 or -ENOMEM. */
static int class_provider(Engine *e, const char *ns, const CimClass *cls, Provider **ret) {
        Provider *p = engine_provider_lookup(e, ns, cls->name);
        for (size_t k = 0; !p && k < e->n_served; k++) {
                const ProviderClass *pc = &e->served[k];
                CimClass *sc;
                if (!name_equal(pc->ns, ns))
                        continue;
                int r = repo_class_get(e->repo, ns, pc->class_name, &sc, NULL);
                if (r < 0)
                        return r;
                if (r != 0)
                        continue; /* not there (any more) */
                if (class_isa(sc, cls->name))
                        p = pc->provider;
                class_unref(sc);
        }
        *ret = p;
        return 0;
}

static int events_source(void *userdata, const ProviderCaller *caller, const char *ns,
                         CimClass *cls, const WqlQuery *q, PollTask **ret_task, Error *err) {
        Engine *e = userdata;
        char why[256];
        Provider *p;
        int r = class_provider(e, ns, cls, &p);
        if (r < 0)
                return r;
        if (!p) {
                *ret_task = NULL;
                return 0;
        }
        _cleanup_free_ char *key = NULL;
        r = engine_source_check(e, p, ns, cls, q, caller, &key, why, sizeof(why), err);
        if (r < 0 || r > 1)
                return r;
        if (r == 1) /* native: WITHIN, if any, is ignored */
                return engine_source_get(e, p, ns, key, ret_task, err);
        if (!q->has_within)
                return error_set(err, WBEM_E_INVALID_QUERY,
                                 "instances of %s come from the %s provider and %s: add WITHIN n "
                                 "to poll for changes every n seconds (at least %g)",
                                 cls->name, p->name, why, (double)e->events->min_within_usec / 1e6);
        double usec = round(q->within_seconds * 1e6);
        if (usec > 86400e6 * 365)
                return error_set(err, WBEM_E_INVALID_QUERY, "WITHIN %g is too long",
                                 q->within_seconds);
        return poll_task_get(e->events, ns, cls->name, (uint64_t)usec, ret_task, err);
}

static int events_enumerate(void *userdata, const char *ns, const char *class_name,
                            int (*add)(void *add_ud, Instance *inst), void *add_ud, Error *err) {
        Engine *e = userdata;
        QueryCursor *c = NULL;
        int r = engine_enum_instances(e, ns, class_name, true, &c, err);
        while (r == 0) {
                Instance *inst = NULL;
                /* A snapshot is taken in one go for now (docs/events.md,
                 * "Known limits"): the cursor's work budget just means
                 * calling again. */
                r = engine_query_next(c, &inst, err);
                if (r == -EAGAIN) {
                        r = 0;
                        continue;
                }
                if (r != 0 || !inst)
                        break;
                r = add(add_ud, inst);
                instance_unref(inst);
        }
        engine_query_end(c);
        return r;
}

/* ---- life cycle (engine.c calls these) -------------------------------------- */

int engine_events_init(Engine *e) {
        int r = dispatcher_new(e->host, &e->events);
        if (r < 0)
                return r;
        dispatcher_set_poll_ops(e->events,
                                &(PollOps){ .enumerate = events_enumerate, .userdata = e });
        return 0;
}

void engine_events_done(Engine *e) {
        e->events = dispatcher_free(e->events);
}

/* ---- the interface ------------------------------------------------------------- */

void engine_set_event_hooks(Engine *e, const EngineTimerOps *timers,
                            const EngineEventOptions *opts) {
        dispatcher_set_hooks(e->events, timers, opts);
}

void engine_event_stats(const Engine *e, EngineEventStats *ret) {
        dispatcher_stats(e->events, ret);
        for (size_t k = 0; k < e->n_providers; k++) {
                const ProviderOps *ops = e->providers[k]->ops;
                if (ops->source_watches)
                        ret->watches += ops->source_watches(e->providers[k]);
        }
}

size_t engine_reclaim(Engine *e, size_t max) {
        return dispatcher_reclaim(e->events, max);
}

int sink_new(Engine *e, const SinkOps *ops, void *userdata, Sink **ret) {
        if (!ops || !ops->indicate)
                return -EINVAL;
        return sink_new_in(e->events, ops, userdata, ret);
}

int engine_subscribe(Engine *e, const char *ns, const char *text, size_t len, Sink *sink,
                     uint64_t call_id, Call **ret, Error *err) {
        return engine_subscribe_as(e, NULL, ns, text, len, sink, call_id, ret, err);
}

int engine_subscribe_as(Engine *e, const ProviderCaller *caller, const char *ns, const char *text,
                        size_t len, Sink *sink, uint64_t call_id, Call **ret, Error *err) {
        const char *name;
        int r;
        if (!sink || sink->d != e->events)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "the sink is not one of this engine's");
        if (!text)
                return error_set(err, WBEM_E_INVALID_QUERY, "no query given");
        r = engine_namespace(e, ns, &name, err);
        if (r == 0) {
                SubscribeEnv env = {
                        .class_get = events_class_get,
                        .source = events_source,
                        .userdata = e,
                        .caller = caller,
                        .limits = &e->limits,
                };
                r = filter_subscribe(e->events, &env, name, text, len, sink, call_id, ret, err);
        }
        return engine_errno(r, err);
}

/* event as an instance of cls (the repository's copy of its class) in ns
 * with TIME_CREATED set: event itself when it already is, or when it is
 * ours alone to change; otherwise a copy. */
static int publishable(Instance *event, CimClass *cls, const char *ns, Instance **ret, Error *err) {
        _cleanup_(instance_unrefp) Instance *ev = NULL;
        long time_idx = class_find_property(cls, "TIME_CREATED");
        bool same_class = event->cls == cls;
        bool ns_ok = event->ns && strcmp(event->ns, ns) == 0;
        bool time_ok = same_class && time_idx >= 0 && !event->values[time_idx].is_null;
        int r;
        if (same_class && ns_ok && time_ok) {
                *ret = instance_ref(event);
                return 0;
        }
        if (same_class && event->refcount == 1)
                ev = instance_ref(event);
        else if (same_class) {
                r = instance_clone(event, &ev);
                if (r < 0)
                        return r;
        } else {
                r = instance_new(cls, &ev);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < event->cls->n_props; k++) {
                        r = instance_set(ev, event->cls->props[k].name, &event->values[k], err);
                        if (r != 0)
                                return r;
                }
        }
        if (!ns_ok) {
                r = instance_set_namespace(ev, ns);
                if (r < 0)
                        return r;
        }
        if (time_idx >= 0 && ev->values[time_idx].is_null)
                ev->values[time_idx] = value_uint(CIM_UINT64, event_time_now());
        *ret = TAKE_PTR(ev);
        return 0;
}

int engine_publish_event(Engine *e, const char *ns, Instance *event, size_t *ret_delivered,
                         Error *err) {
        _cleanup_(class_unrefp) CimClass *cls = NULL;
        _cleanup_(instance_unrefp) Instance *ev = NULL;
        const char *name;
        int r;

        if (!event)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no event given");
        r = engine_namespace(e, ns, &name, err);
        if (r != 0)
                return engine_errno(r, err);
        r = repo_class_get(e->repo, name, event->cls->name, &cls, err);
        if (r == WBEM_E_NOT_FOUND)
                return error_set(err, WBEM_E_INVALID_CLASS, "there is no class %s in namespace %s",
                                 event->cls->name, name);
        if (r != 0)
                return engine_errno(r, err);
        if (!class_isa(cls, "__ExtrinsicEvent"))
                return error_set(
                        err, WBEM_E_INVALID_CLASS,
                        "%s is not an extrinsic event class (one derived from __ExtrinsicEvent)",
                        cls->name);
        r = publishable(event, cls, name, &ev, err);
        if (r != 0)
                return engine_errno(r, err);
        size_t delivered = 0;
        r = dispatcher_raise(e->events, name, ev, &delivered);
        if (r < 0)
                return engine_errno(r, err);
        if (ret_delivered)
                *ret_delivered = delivered;
        return 0;
}

/* ---- intrinsic events of the repository (engine.c calls these) ---------------- */

static void raise_intrinsic(Engine *e, int sys, const char *ns, Instance *target,
                            Instance *previous) {
        Dispatcher *d = e->events;
        Instance *ev = NULL;
        if (!dispatcher_wants_intrinsic(d, ns))
                return;
        if (dispatcher_intrinsic_event(d, sys, ns, target, previous, &ev) < 0) {
                d->events_raised++;
                d->events_failed++;
                return;
        }
        (void)dispatcher_raise(d, ns, ev, NULL); /* failures are counted */
        instance_unref(ev);
}

bool engine_events_wanted(Engine *e, const char *ns) {
        return dispatcher_wants_intrinsic(e->events, ns);
}

void engine_events_instance_put(Engine *e, const char *ns, Instance *stored, Instance *previous) {
        raise_intrinsic(e, previous ? SYS_MODIFICATION : SYS_CREATION, ns, stored, previous);
}

void engine_events_instance_deleted(Engine *e, const char *ns, Instance *deleted) {
        raise_intrinsic(e, SYS_DELETION, ns, deleted, NULL);
}

static bool class_gone(Engine *e, const char *ns, const char *name) {
        CimClass *c;
        if (repo_class_get(e->repo, ns, name, &c, NULL) != 0)
                return true;
        class_unref(c);
        return false;
}

typedef struct Gone {
        Engine *e;
        const char *ns;
} Gone;

static bool bucket_gone(Bucket *b, void *userdata) {
        Gone *g = userdata;
        return class_gone(g->e, g->ns, b->class_name) ||
               (b->isa_name && class_gone(g->e, g->ns, b->isa_name));
}

void engine_events_class_deleted(Engine *e, const char *ns, const char *class_name) {
        char message[512];
        Gone g = { .e = e, .ns = ns };
        e->events->memo_epoch++;
        snprintf(message, sizeof(message),
                 "class %s was deleted from namespace %s: the query names it or a subclass",
                 class_name, ns);
        dispatcher_end_buckets(e->events, ns, bucket_gone, &g, WBEM_E_INVALID_CLASS, message);
}

typedef struct Changed {
        Engine *e;
        const char *ns;
        const char *class_name;
} Changed;

/* Mark the indexed paths of b whose property changed category with the
 * change of class_name (b's classes are it or below it). */
static void mark_changed_paths(Bucket *b, void *userdata) {
        Changed *c = userdata;
        CimClass *ec = NULL, *isa = NULL;
        if (b->n_paths == 0 || repo_class_get(c->e->repo, c->ns, b->class_name, &ec, NULL) != 0)
                return;
        if (!b->isa_name || repo_class_get(c->e->repo, c->ns, b->isa_name, &isa, NULL) == 0) {
                if (class_isa(ec, c->class_name) || (isa && class_isa(isa, c->class_name)))
                        for (uint32_t k = 0; k < b->n_paths; k++)
                                if (b->paths[k].n_filters > 0 &&
                                    filter_path_category(&b->paths[k], ec, isa) !=
                                            b->paths[k].category)
                                        b->paths[k].doomed = true;
        }
        class_unref(isa);
        class_unref(ec);
}

void engine_events_class_changed(Engine *e, const char *ns, const char *class_name) {
        char message[512];
        Changed c = { .e = e, .ns = ns, .class_name = class_name };
        e->events->memo_epoch++;
        if (!dispatcher_ns_find(e->events, ns))
                return;
        snprintf(message, sizeof(message),
                 "class %s was changed in namespace %s: a property the query compares with = has "
                 "another type now; register the query again",
                 class_name, ns);
        dispatcher_end_paths(e->events, ns, mark_changed_paths, &c, WBEM_E_INVALID_CLASS, message);
}
