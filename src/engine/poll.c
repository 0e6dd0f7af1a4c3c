/* Poll tasks: intrinsic events for classes whose provider has no native
 * event source (WITHIN n), by snapshot and diff.
 *
 * One task per (namespace, class, interval), shared by every bucket (and so
 * every filter and call) that polls the class at that interval. The first
 * subscription creates it: it takes the baseline snapshot at once, so a
 * change right after the subscription returns is already seen, and starts
 * a periodic timer through EngineTimerOps; the last bucket to go stops the
 * timer and frees it.
 *
 * Each tick enumerates the class (subclasses included) into a fresh
 * snapshot keyed by relative path, then diffs it against the previous one:
 * a path only in the new one is a creation, only in the old one a deletion,
 * in both with a different instance a modification (PreviousInstance: the
 * old one). The events go to the task's own buckets only, never through
 * the native index, so two tasks on one class with different intervals do
 * not deliver each other's events. A failed enumeration keeps the old
 * snapshot (nothing is reported twice or lost for good: the next success
 * diffs against it); after POLL_MAX_FAILURES provider failures in a row the
 * task ends its calls with WBEM_E_PROVIDER_FAILURE. Running out of memory
 * is never "for good": the tick is retried. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "events_internal.h"
#include "mem.h"
#include "names.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);

/* ---- snapshots ------------------------------------------------------------ */

static uint64_t text_hash(const char *s) {
        uint64_t h = 0xcbf29ce484222325u;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                h ^= *p;
                h *= 0x100000001b3u;
        }
        return h ^ (h >> 29);
}

void snapshot_clear(Snapshot *s) {
        for (size_t k = 0; k < s->n; k++) {
                mem_free(s->entries[k].relpath);
                instance_unref(s->entries[k].inst);
        }
        mem_free(s->entries);
        mem_free(s->index);
        *s = (Snapshot){ 0 };
}

static SnapEntry *snapshot_find(const Snapshot *s, const char *relpath, uint64_t hash) {
        if (!s->index)
                return NULL;
        for (size_t slot = hash & s->index_mask;; slot = (slot + 1) & s->index_mask) {
                size_t at = s->index[slot];
                if (at == 0)
                        return NULL;
                SnapEntry *e = &s->entries[at - 1];
                if (e->hash == hash && strcmp(e->relpath, relpath) == 0)
                        return e;
        }
}

static void index_put(size_t *index, size_t mask, uint64_t hash, size_t entry) {
        size_t slot = hash & mask;
        while (index[slot] != 0)
                slot = (slot + 1) & mask;
        index[slot] = entry + 1;
}

/* Room for one more entry, the index at most half full. */
static int snapshot_reserve(Snapshot *s) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                SnapEntry *e = mem_reallocarray(s->entries, cap, sizeof(SnapEntry));
                if (!e)
                        return -ENOMEM;
                s->entries = e;
                s->cap = cap;
        }
        size_t slots = s->index ? s->index_mask + 1 : 0;
        if ((s->n + 1) * 2 > slots) {
                size_t size = slots ? slots * 2 : 32;
                size_t *index = mem_calloc(size, sizeof(size_t));
                if (!index)
                        return -ENOMEM;
                for (size_t k = 0; k < s->n; k++)
                        index_put(index, size - 1, s->entries[k].hash, k);
                mem_free(s->index);
                s->index = index;
                s->index_mask = size - 1;
        }
        return 0;
}

static int snapshot_add(void *userdata, Instance *inst) {
        Snapshot *s = userdata;
        char *relpath = instance_relpath(inst);
        if (!relpath)
                return -ENOMEM;
        uint64_t hash = text_hash(relpath);
        if (snapshot_find(s, relpath, hash)) {
                /* the same instance twice (a provider's subclass seen twice):
                 * the first stands */
                mem_free(relpath);
                return 0;
        }
        if (snapshot_reserve(s) < 0) {
                mem_free(relpath);
                return -ENOMEM;
        }
        s->entries[s->n] =
                (SnapEntry){ .relpath = relpath, .hash = hash, .inst = instance_ref(inst) };
        index_put(s->index, s->index_mask, hash, s->n);
        s->n++;
        return 0;
}

static int snapshot_take(PollTask *t, Snapshot *ret, Error *err) {
        Dispatcher *d = t->d;
        Snapshot s = { 0 };
        int r = d->poll_ops.enumerate(d->poll_ops.userdata, t->ns, t->class_name, snapshot_add, &s,
                                      err);
        if (r != 0) {
                snapshot_clear(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* value_equal() compares embedded objects property by property; wrap the
 * two instances as such values to reuse it. */
static bool instances_equal(Instance *a, Instance *b) {
        Value va = { .type = CIM_OBJECT, .obj = a }, vb = { .type = CIM_OBJECT, .obj = b };
        return value_equal(&va, &vb);
}

/* ---- tasks --------------------------------------------------------------------- */

int poll_task_get(Dispatcher *d, const char *ns, const char *class_name, uint64_t interval_usec,
                  PollTask **ret, Error *err) {
        for (PollTask *t = d->tasks; t; t = t->next)
                if (!t->source && t->interval_usec == interval_usec &&
                    name_equal(t->class_name, class_name) &&
                    ns_equal(t->ns, ns)) {
                        t->refs++;
                        *ret = t;
                        return 0;
                }
        if (!d->have_timers || !d->poll_ops.enumerate)
                return error_set(
                        err, WBEM_E_NOT_SUPPORTED,
                        "polling %s (WITHIN) is not available: the engine was given no timers",
                        class_name);

        PollTask *t = mem_calloc(1, sizeof(PollTask));
        if (!t)
                return -ENOMEM;
        t->d = d;
        t->interval_usec = interval_usec;
        t->ns = mem_strdup(ns);
        t->class_name = mem_strdup(class_name);
        int r = -ENOMEM;
        if (!t->ns || !t->class_name)
                goto fail;
        r = snapshot_take(t, &t->snapshot, err);
        if (r != 0)
                goto fail;
        t->timer = d->timers.start(d->timers.userdata, interval_usec, poll_task_tick, t);
        if (!t->timer) {
                r = -ENOMEM;
                goto fail;
        }
        t->refs = 1;
        t->next = d->tasks;
        if (t->next)
                t->next->pprev = &t->next;
        d->tasks = t;
        t->pprev = &d->tasks;
        d->n_tasks++;
        *ret = t;
        return 0;
fail:
        snapshot_clear(&t->snapshot);
        mem_free(t->ns);
        mem_free(t->class_name);
        mem_free(t);
        return r;
}

void poll_task_unref(PollTask *t) {
        if (--t->refs > 0)
                return;
        Dispatcher *d = t->d;
        *t->pprev = t->next;
        if (t->next)
                t->next->pprev = t->pprev;
        if (t->source) {
                d->n_sources--;
                event_source_free(t->source);
        } else {
                d->timers.stop(d->timers.userdata, t->timer);
                d->n_tasks--;
        }
        snapshot_clear(&t->snapshot);
        mem_free(t->ns);
        mem_free(t->class_name);
        mem_free(t);
}

bool poll_task_wants(const PollTask *t, int sys) {
        for (Bucket *b = t->buckets; b; b = b->next)
                if (class_isa(t->d->sys[sys], b->class_name))
                        return true;
        return false;
}

static void task_raise(PollTask *t, int sys, Instance *target, Instance *previous) {
        Dispatcher *d = t->d;
        _cleanup_(instance_unrefp) Instance *ev = NULL;
        if (dispatcher_intrinsic_event(d, sys, t->ns, target, previous, &ev) < 0) {
                d->events_raised++;
                d->events_failed++;
                return;
        }
        (void)dispatcher_raise_buckets(d, t->buckets, ev, NULL);
}

void poll_task_tick(void *arg) {
        PollTask *t = arg;
        Dispatcher *d = t->d;
        Snapshot fresh;
        Error err = { 0 };

        t->polls++;
        int r = snapshot_take(t, &fresh, &err);
        if (r != 0) {
                if (r < 0 || ++t->failures < POLL_MAX_FAILURES)
                        return;
                char message[sizeof(err.message) + 128];
                snprintf(message, sizeof(message), "polling %s failed %u times in a row: %s",
                         t->class_name, t->failures, err.message);
                /* ending the calls may free the task (and stop this timer) */
                t->refs++;
                dispatcher_end_bucket_list(d, t->buckets, WBEM_E_PROVIDER_FAILURE, message);
                poll_task_unref(t);
                return;
        }
        t->failures = 0;

        bool creation = poll_task_wants(t, SYS_CREATION), deletion = poll_task_wants(t, SYS_DELETION),
             modification = poll_task_wants(t, SYS_MODIFICATION);
        for (size_t k = 0; k < fresh.n; k++) {
                SnapEntry *now = &fresh.entries[k];
                SnapEntry *before = snapshot_find(&t->snapshot, now->relpath, now->hash);
                if (!before) {
                        if (creation)
                                task_raise(t, SYS_CREATION, now->inst, NULL);
                        continue;
                }
                before->seen = true;
                if (modification && !instances_equal(before->inst, now->inst))
                        task_raise(t, SYS_MODIFICATION, now->inst, before->inst);
        }
        for (size_t k = 0; k < t->snapshot.n; k++)
                if (!t->snapshot.entries[k].seen && deletion)
                        task_raise(t, SYS_DELETION, t->snapshot.entries[k].inst, NULL);
        snapshot_clear(&t->snapshot);
        t->snapshot = fresh;
}
