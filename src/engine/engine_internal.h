/* Internals shared by the parts of the engine: engine.c (lifecycle, the
 * provider registry, GetObject, class and instance writes) and
 * engine_query.c (query and enumeration cursors). Not for use outside
 * src/engine/engine*.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"

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
