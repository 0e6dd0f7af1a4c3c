/* Sinks and calls.
 *
 * A call sits on two intrusive doubly linked lists, its sink's and its
 * filter's, through links inside the Call itself, so cancelling one call
 * unlinks it in O(1) without a search, and cancelling a sink walks its own
 * calls once. Freeing a call drops its filter's reference count; the last
 * call of a filter takes the filter out of the index (O(1) as well: the
 * index chains are doubly linked too), and the last filter of a poll task
 * stops the task.
 *
 * A filter's first call lives inside the filter (Filter.first; the slot is
 * reused by a later call when it is free), so a registration on a filter of
 * its own costs one heap chunk and an event that matches it touches
 * adjacent memory. Other calls are allocated; a call stores its query text
 * only when it differs from its filter's (the text of the filter's first
 * registration): 56 bytes otherwise. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "events_internal.h"
#include "mem.h"

/* Give s an index in d->sink_at (what an equality slot names it by). */
static int sink_index(Dispatcher *d, Sink *s) {
        if (d->sink_free) {
                uint32_t idx = d->sink_free - 1;
                d->sink_free = (uint32_t)((uintptr_t)d->sink_at[idx] >> 1);
                d->sink_at[idx] = s;
                s->idx = idx;
                return 0;
        }
        if (d->n_sink_at == d->cap_sink_at) {
                if (d->cap_sink_at >= UINT32_MAX / 2)
                        return -ENOMEM;
                uint32_t cap = d->cap_sink_at ? d->cap_sink_at * 2 : 8;
                Sink **grown = mem_reallocarray(d->sink_at, cap, sizeof(Sink *));
                if (!grown)
                        return -ENOMEM;
                d->sink_at = grown;
                d->cap_sink_at = cap;
        }
        s->idx = d->n_sink_at++;
        d->sink_at[s->idx] = s;
        return 0;
}

static void sink_unindex(Dispatcher *d, Sink *s) {
        d->sink_at[s->idx] = (Sink *)(((uintptr_t)d->sink_free << 1) | 1);
        d->sink_free = s->idx + 1;
}

int sink_new_in(Dispatcher *d, const SinkOps *ops, void *userdata, Sink **ret) {
        Sink *s = mem_calloc(1, sizeof(Sink));
        if (!s)
                return -ENOMEM;
        if (sink_index(d, s) < 0) {
                mem_free(s);
                return -ENOMEM;
        }
        s->d = d;
        s->ops = ops;
        s->userdata = userdata;
        s->next = d->sinks;
        if (s->next)
                s->next->pprev = &s->next;
        d->sinks = s;
        s->pprev = &d->sinks;
        d->n_sinks++;
        *ret = s;
        return 0;
}

/* Unlink and free c, dropping its filter's reference. With defer, the
 * memory of c (and of its filter, when c was its last call) only goes to
 * the dispatcher's reclaim list: unlinked from everything now, freed by
 * dispatcher_reclaim later. */
static void call_drop(Call *c, bool defer) {
        Sink *s = c->sink;
        Dispatcher *d = s->d;
        Filter *f = call_filter(c);

        *c->sink_pprev = c->sink_next;
        if (c->sink_next)
                c->sink_next->sink_pprev = c->sink_pprev;
        s->n_calls--;
        *c->filter_pprev = c->filter_next;
        if (c->filter_next)
                c->filter_next->filter_pprev = c->filter_pprev;
        d->n_calls--;
        /* While c is still readable (the filter's slot may name it): the
         * slot says how to reach the calls left, or, with the last one, the
         * filter goes (one probe of the table, not two). */
        if (f->n_calls == 2) /* one left: the slot names it (with more, the filter) */
                dispatcher_eq_refresh(d, f);
        if (c->filter & CALL_INLINE) {
                f->flags &= (uint8_t)~FILTER_FIRST_USED;
                if (defer)
                        filter_unref_deferred(d, f); /* may queue f, and so c */
                else
                        filter_unref(d, f); /* may free f, and so c */
        } else if (defer) {
                filter_unref_deferred(d, f);
                dispatcher_reclaim_call_later(d, c);
        } else {
                filter_unref(d, f);
                slab_free(d->slabs, c);
        }
}

static void call_free(Call *c) {
        call_drop(c, false);
}

size_t sink_cancel_all(Sink *s, void (*each)(Call *c, void *ud), void *ud) {
        size_t n = 0;
        if (!s)
                return 0;
        while (s->calls) {
                Call *c = s->calls;
                if (each)
                        each(c, ud);
                call_free(c);
                n++;
        }
        return n;
}

Sink *sink_free(Sink *s) {
        if (!s)
                return NULL;
        /* Unlinked now, freed in steps (engine_reclaim), the equality
         * table shrunk once at the end of those. */
        Dispatcher *d = s->d;
        d->no_shrink++;
        /* Many calls: their filters' equality slots go in one sequential
         * sweep of the table rather than a random lookup each. */
        d->bulk_unlink = s->n_calls >= 64 && d->eq && s->n_calls * 32 >= d->eq_mask + 1;
        while (s->calls)
                call_drop(s->calls, true);
        if (d->n_doomed > 0)
                dispatcher_eq_sweep(d);
        d->bulk_unlink = false;
        d->no_shrink--;
        *s->pprev = s->next;
        if (s->next)
                s->next->pprev = s->pprev;
        s->d->n_sinks--;
        sink_unindex(s->d, s);
        mem_free(s);
        return NULL;
}

size_t sink_call_count(const Sink *s) {
        return s->n_calls;
}

void *sink_userdata(const Sink *s) {
        return s->userdata;
}

int call_new(Sink *sink, Filter *f, uint64_t id, const char *text, size_t len, Call **ret) {
        bool own = !filter_text_is(f, text, len);
        bool inline_call = !own && !(f->flags & FILTER_FIRST_USED);
        Call *c = inline_call ? &f->first
                              : slab_alloc(sink->d->slabs, sizeof(Call) + (own ? len + 1 : 0));
        if (!c)
                return -ENOMEM;
        if (inline_call)
                f->flags |= FILTER_FIRST_USED;
        c->id = id;
        c->sink = sink;
        c->filter = (uintptr_t)f | (own ? CALL_OWN_TEXT : 0) | (inline_call ? CALL_INLINE : 0);
        if (own) {
                memcpy(call_own_text(c), text, len);
                call_own_text(c)[len] = '\0';
        }
        c->sink_next = sink->calls;
        if (c->sink_next)
                c->sink_next->sink_pprev = &c->sink_next;
        sink->calls = c;
        c->sink_pprev = &sink->calls;
        sink->n_calls++;
        c->filter_next = f->calls;
        if (c->filter_next)
                c->filter_next->filter_pprev = &c->filter_next;
        f->calls = c;
        c->filter_pprev = &f->calls;
        sink->d->n_calls++;
        if (f->n_calls <= 2) /* the slot names this call, or from now the filter */
                dispatcher_eq_refresh(sink->d, f);
        *ret = c;
        return 0;
}

void call_cancel(Call *c) {
        if (c)
                call_free(c);
}

void call_end(Call *c, int status, const char *message) {
        Sink *s = c->sink;
        if (s->ops->call_ended)
                s->ops->call_ended(s, c, status, message, s->userdata);
        call_free(c);
}

uint64_t call_id(const Call *c) {
        return c->id;
}

Sink *call_sink(const Call *c) {
        return c->sink;
}

const char *call_query(const Call *c) {
        return (c->filter & CALL_OWN_TEXT) ? call_own_text(c)
                                           : filter_text(c->sink->d, call_filter(c));
}

const WqlQuery *call_projection(const Call *c) {
        const Filter *f = call_filter(c);
        if ((f->flags & FILTER_CAPTURED) || !f->query->project)
                return NULL;
        return f->query->query;
}

const char *call_namespace(const Call *c) {
        return filter_namespace(call_filter(c));
}
