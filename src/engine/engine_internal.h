/* Internals shared by the parts of the engine: engine.c (lifecycle, the
 * provider registry, GetObject, class and instance writes) and
 * engine_query.c (query and enumeration cursors). Not for use outside
 * src/engine/engine*.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"

typedef struct Dispatcher Dispatcher;
typedef struct PollTask PollTask;

/* One (namespace, class) a provider serves. */
typedef struct ProviderClass {
        char *ns;         /* the namespace's stored spelling */
        char *class_name; /* as the provider spelled it */
        Provider *provider;
} ProviderClass;

struct Engine {
        Repo *repo;
        char *host;
        WqlLimits limits; /* defaults filled in */

        Provider **providers; /* owned; freed with p->ops->free */
        size_t n_providers;

        /* The classes providers serve, with an open-addressing hash index
         * over (folded namespace, folded class name): the lookup runs for
         * every class a query or GetObject touches. */
        ProviderClass *served;
        size_t n_served;
        size_t *index;     /* served entry + 1; 0 = free slot */
        size_t index_mask; /* index size - 1 (a power of two); index NULL when empty */

        Dispatcher *events; /* sinks, calls, filters, poll tasks: events.c */
};

/* The provider serving class_name in namespace ns, where ns is the stored
 * spelling (repo_namespace_name), or NULL. Allocates nothing. */
Provider *engine_provider_lookup(const Engine *e, const char *ns, const char *class_name);

/* The stored spelling of ns; WBEM_E_INVALID_NAMESPACE also for ns NULL. */
int engine_namespace(Engine *e, const char *ns, const char **ret, Error *err);

/* inst with its namespace set to ns: inst itself when it is, or when it is
 * unshared (changed in place), otherwise a copy. Takes inst over, also on
 * failure (-ENOMEM). */
int engine_instance_in_namespace(Instance *inst, const char *ns, Instance **ret);

/* Prefix err's message (for a positive r) with "provider NAME: ". Returns r. */
int engine_provider_error(const Provider *p, int r, Error *err);

/* r, with err filled for a negative errno (the interface's promise). */
static inline int engine_errno(int r, Error *err) {
        return r < 0 ? error_from_errno(err, r) : r;
}

/* ---- events (events.c) ---- */

/* Make and free e->events. */
int engine_events_init(Engine *e);
void engine_events_done(Engine *e);
/* Whether some subscription in ns takes the repository's instance events
 * (a write need not read the previous instance otherwise). */
bool engine_events_wanted(Engine *e, const char *ns);
/* Raise the intrinsic event of a committed repository write in ns (the
 * stored spelling): creation, or modification when previous is set. Never
 * fails: an event that cannot be built for lack of memory is counted in
 * EngineEventStats.events_failed. */
void engine_events_instance_put(Engine *e, const char *ns, Instance *stored, Instance *previous);
void engine_events_instance_deleted(Engine *e, const char *ns, Instance *deleted);
/* source.c: whether provider p raises the events of cls that q can match
 * natively: 1 with *ret_key (a new string, never NULL), 0 with why filled
 * (no source op, no fd watches, the provider's reason), or an error
 * (prefixed with the provider's name). */
int engine_source_check(Engine *e, Provider *p, const char *ns, CimClass *cls, const WqlQuery *q,
                        char **ret_key, char *why, size_t why_size, Error *err);
/* The running source (ns, p, key), started if new, as a task with a new
 * reference. The provider's start errors. */
int engine_source_get(Engine *e, Provider *p, const char *ns, const char *key, PollTask **ret,
                      Error *err);
/* After class_name (and, with a cascade, its subclasses) was deleted from
 * ns: end the calls whose query names a class that is gone. */
void engine_events_class_deleted(Engine *e, const char *ns, const char *class_name);
/* After class_name was put (created or changed) in ns: end the calls whose
 * equality key no longer fits the type of its property. */
void engine_events_class_changed(Engine *e, const char *ns, const char *class_name);
