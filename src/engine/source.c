/* Native event sources of providers: the engine's side of the source_*
 * operations of ProviderOps and of the event_source_*() calls a running
 * source makes (provider.h).
 *
 * A running source is a task (events_internal.h) whose `source` is set: it
 * carries the buckets of the registrations that use it, exactly as a poll
 * task does, so sharing, reference counting and ending calls are the
 * dispatcher's existing machinery. One task per (namespace, provider,
 * key); the first registration starts the provider's source, the last
 * reference stops it (poll_task_unref -> event_source_free). Events raised
 * reach only the task's buckets, never the native index: a class polled
 * at some interval and watched natively never sees an event twice.
 *
 * The host loop's services (timers and fd watches, EngineTimerOps) are
 * passed through unchanged: the engine knows no event library. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "engine_internal.h"
#include "events_internal.h"
#include "mem.h"
#include "names.h"
#include "repo.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);

static int sys_of(ProviderEvent kind) {
        switch (kind) {
        case PROVIDER_EVENT_CREATION:
                return SYS_CREATION;
        case PROVIDER_EVENT_MODIFICATION:
                return SYS_MODIFICATION;
        case PROVIDER_EVENT_DELETION:
                return SYS_DELETION;
        }
        return -1;
}

void event_source_raise(EventSource *src, ProviderEvent kind, Instance *target,
                        Instance *previous) {
        PollTask *t = src->task;
        Dispatcher *d = t->d;
        int sys = sys_of(kind);
        _cleanup_(instance_unrefp) Instance *ev = NULL;
        if (sys < 0 || !target || !poll_task_wants(t, sys))
                return;
        if (dispatcher_intrinsic_event(d, sys, t->ns, target,
                                       sys == SYS_MODIFICATION ? previous : NULL, &ev) < 0) {
                d->events_raised++;
                d->events_failed++;
                return;
        }
        /* Delivery cannot end calls (SinkOps rules), so t outlives this. */
        (void)dispatcher_raise_buckets(d, t->buckets, ev, NULL); /* failures are counted */
}

bool event_source_wants(const EventSource *src, ProviderEvent kind) {
        int sys = sys_of(kind);
        return sys >= 0 && poll_task_wants(src->task, sys);
}

int event_source_class(EventSource *src, const char *name, CimClass **ret, Error *err) {
        Engine *e = src->engine;
        int r = repo_class_get(e->repo, src->task->ns, name, ret, err);
        if (r == WBEM_E_NOT_FOUND)
                return error_set(err, WBEM_E_INVALID_CLASS, "there is no class %s in namespace %s",
                                 name, src->task->ns);
        return engine_errno(r, err);
}

void *event_source_watch(EventSource *src, int fd, void (*fn)(void *arg), void *arg) {
        Dispatcher *d = src->task->d;
        if (!d->have_watch || fd < 0 || !fn)
                return NULL;
        return d->timers.watch(d->timers.userdata, fd, fn, arg);
}

void event_source_unwatch(EventSource *src, void *watch) {
        Dispatcher *d = src->task->d;
        if (watch)
                d->timers.unwatch(d->timers.userdata, watch);
}

void *event_source_timer_start(EventSource *src, uint64_t interval_usec, void (*fn)(void *arg),
                               void *arg) {
        Dispatcher *d = src->task->d;
        if (!d->have_timers || !fn)
                return NULL;
        return d->timers.start(d->timers.userdata, interval_usec, fn, arg);
}

void event_source_timer_stop(EventSource *src, void *timer) {
        Dispatcher *d = src->task->d;
        if (timer)
                d->timers.stop(d->timers.userdata, timer);
}

void event_source_overflowed(EventSource *src) {
        src->task->d->source_overflows++;
}

void event_source_fail(EventSource *src, int status, const char *message) {
        PollTask *t = src->task;
        /* Ending the calls releases the buckets, and with the last the task
         * and this source: hold it until every call is ended. */
        t->refs++;
        dispatcher_end_bucket_list(t->d, t->buckets, status, message);
        poll_task_unref(t);
}

void event_source_free(EventSource *src) {
        if (!src)
                return;
        if (src->state)
                src->provider->ops->source_stop(src->state);
        mem_free(src->key);
        mem_free(src);
}

/* ---- starting (events.c asks) ------------------------------------------------ */

int engine_source_check(Engine *e, Provider *p, const char *ns, CimClass *cls, const WqlQuery *q,
                        char **ret_key, char *why, size_t why_size, Error *err) {
        const ProviderOps *ops = p->ops;
        if (!ops->source_check || !ops->source_start || !ops->source_stop) {
                snprintf(why, why_size, "the %s provider has no event source", p->name);
                return 0;
        }
        if (!e->events->have_watch) {
                snprintf(why, why_size,
                         "native events are not available: the engine was given no descriptor "
                         "watches");
                return 0;
        }
        why[0] = '\0';
        char *key = NULL;
        int r = ops->source_check(p, ns, cls, q, &key, why, why_size, err);
        if (r < 0 || r > 1) {
                mem_free(key);
                return engine_provider_error(p, r, err);
        }
        if (r == 0) {
                mem_free(key);
                if (!why[0])
                        snprintf(why, why_size, "the %s provider has no event source for %s",
                                 p->name, cls->name);
                return 0;
        }
        if (!key) {
                key = mem_strdup("");
                if (!key)
                        return -ENOMEM;
        }
        *ret_key = key;
        return 1;
}

int engine_source_get(Engine *e, Provider *p, const char *ns, const char *key, PollTask **ret,
                      Error *err) {
        Dispatcher *d = e->events;
        for (PollTask *t = d->tasks; t; t = t->next)
                if (t->source && t->source->provider == p && strcmp(t->source->key, key) == 0 &&
                    ns_equal(t->ns, ns)) {
                        t->refs++;
                        *ret = t;
                        return 0;
                }

        PollTask *t = mem_calloc(1, sizeof(PollTask));
        EventSource *src = mem_calloc(1, sizeof(EventSource));
        int r = -ENOMEM;
        if (!t || !src)
                goto fail;
        t->d = d;
        t->ns = mem_strdup(ns);
        src->key = mem_strdup(key);
        if (!t->ns || !src->key)
                goto fail;
        src->task = t;
        src->engine = e;
        src->provider = p;
        t->source = src;
        r = p->ops->source_start(p, t->ns, src->key, src, &src->state, err);
        if (r != 0) {
                src->state = NULL; /* nothing to stop */
                r = engine_provider_error(p, r, err);
                goto fail;
        }
        t->refs = 1;
        t->next = d->tasks;
        if (t->next)
                t->next->pprev = &t->next;
        d->tasks = t;
        t->pprev = &d->tasks;
        d->n_sources++;
        *ret = t;
        return 0;
fail:
        if (src) {
                mem_free(src->key);
                mem_free(src);
        }
        if (t) {
                mem_free(t->ns);
                mem_free(t);
        }
        return r;
}
