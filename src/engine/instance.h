/* Instances: a class plus one Value per property of the (flattened) class.
 *
 * An instance is built unshared, filled with instance_set(), and then shared
 * by reference count; a shared instance is never changed (copy it with
 * instance_clone() to make a changed version). Values not set hold the
 * property's default, or NULL. The namespace is carried for __NAMESPACE and
 * __PATH; it may be NULL until the instance is stored or produced by a
 * provider. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "class.h"
#include "error.h"
#include "value.h"

typedef struct Instance {
        unsigned refcount;
        CimClass *cls;   /* one reference owned */
        char *ns;        /* namespace ("root/cimv2") or NULL */
        Value *values;   /* cls->n_props entries */
} Instance;

/* A new instance of cls with every property at its default. */
int instance_new(CimClass *cls, Instance **ret);
Instance *instance_ref(Instance *i);
Instance *instance_unref(Instance *i); /* returns NULL */
/* A deep-enough copy: values copied, embedded objects shared. */
int instance_clone(const Instance *i, Instance **ret);

/* Set a property by name, converting v to the property's type
 * (value_convert). WBEM_E_INVALID_PROPERTY when the class has no such
 * property, WBEM_E_TYPE_MISMATCH when v does not convert. */
int instance_set(Instance *i, const char *name, const Value *v, Error *err);
/* Same with v taken over (cleared in the caller's copy on success). */
int instance_set_take(Instance *i, const char *name, Value *v, Error *err);
/* The value of a property by name, or NULL when the class has none. */
const Value *instance_get(const Instance *i, const char *name);
int instance_set_namespace(Instance *i, const char *ns);

/* Check that every key property is non-NULL (WBEM_E_ILLEGAL_NULL naming the
 * first missing key) and that the class may have instances
 * (WBEM_E_INVALID_CLASS for an abstract class; WBEM_E_INVALID_OBJECT for a
 * class with no key that is not a singleton). */
int instance_validate_keys(const Instance *i, Error *err);

/* The relative path, "Class.Key=\"v\",Key2=5" with keys in name order, or
 * "Class=@" for a singleton; NULL on out-of-memory. Keys must be set (call
 * instance_validate_keys first); a NULL key prints as an empty string. */
char *instance_relpath(const Instance *i);
/* "//host/ns:relpath"; host is the local host name passed in. */
char *instance_path(const Instance *i, const char *host);
