/* CIM classes: a name, an optional superclass, and properties.
 *
 * A class is immutable once built and shared by reference count. Its property
 * array is flattened: inherited properties first, in the superclass's order,
 * then the class's own, so an instance stores one Value per entry and a
 * property's index is the same in a class and all its subclasses. The
 * derivation (ancestors, nearest first) travels with the class so that ISA
 * can be answered from an instance alone.
 *
 * Building: class_new() makes an empty, unshared definition; add properties
 * with class_add_property(); class_derive() checks it against its superclass
 * and produces the flattened class. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "value.h"

typedef struct CimProperty {
        char *name;
        CimType type;
        bool is_array;
        bool is_key;
        Value default_value; /* is_null when the class gives no default */
        char *origin;        /* the class that declared it (WMI __CLASS origin) */
} CimProperty;

typedef struct CimClass {
        unsigned refcount;
        char *name;
        char *superclass;  /* NULL for a root class */
        char **derivation; /* ancestors, nearest first; n_derivation entries */
        size_t n_derivation;
        bool is_abstract;  /* no instances (qualifier "abstract") */
        bool is_singleton; /* one instance, path Class=@ */
        CimProperty *props;
        size_t n_props;
        size_t n_keys; /* properties with is_key */
} CimClass;

/* An empty class definition (no superclass applied yet). superclass may be
 * NULL. Returns 0, -ENOMEM, or WBEM_E_INVALID_PARAMETER for an invalid name. */
int class_new(const char *name, const char *superclass, CimClass **ret, Error *err);
CimClass *class_ref(CimClass *c);
CimClass *class_unref(CimClass *c); /* returns NULL */

/* Add a property declared by this class. default_value may be NULL; it is
 * converted to the property's type. Fails with WBEM_E_INVALID_PROPERTY for a
 * bad or duplicate name, WBEM_E_TYPE_MISMATCH for a default of the wrong
 * type, WBEM_E_INVALID_PARAMETER for a key that is an array, a real or an
 * embedded object. */
int class_add_property(CimClass *c, const char *name, CimType type, bool is_array, bool is_key,
                       const Value *default_value, Error *err);

/* Build the full class from a definition holding only its own properties and
 * its flattened superclass (NULL for a root class; must match
 * def->superclass). Inherited properties keep type, array-ness and key; the
 * definition may restate one (same type and array-ness, e.g. to change the
 * default) but not retype it (WBEM_E_INVALID_PROPERTY_TYPE) or change its key
 * qualifier (WBEM_E_INVALID_PROPERTY). A class may add keys only if its
 * superclass has none. */
int class_derive(const CimClass *def, const CimClass *super, CimClass **ret, Error *err);

/* One property of a class declared as a table, as providers do. */
typedef struct CimPropertySpec {
        const char *name;
        CimType type;
        bool is_array;
        bool is_key;
} CimPropertySpec;

/* A class definition with the properties of specs[0..n) (no defaults):
 * class_new() plus class_add_property() for each. is_singleton marks a
 * keyless singleton (path Class=@). */
int class_new_from_specs(const char *name, const char *superclass, bool is_singleton,
                         const CimPropertySpec *specs, size_t n, CimClass **ret, Error *err);

/* Index of a property by case-insensitive name, or -1. */
long class_find_property(const CimClass *c, const char *name);
/* Whether c is the class `name` or derives from it. */
bool class_isa(const CimClass *c, const char *name);

/* The system classes every namespace has (WMI's names and shapes):
 * __SystemClass; __Event (abstract) and, under it, __InstanceOperationEvent
 * (TargetInstance: object), __InstanceCreationEvent, __InstanceDeletionEvent,
 * __InstanceModificationEvent (PreviousInstance: object), and
 * __ExtrinsicEvent. Each __Event has TIME_CREATED (uint64) and SECURITY_DESCRIPTOR
 * (uint8 array). __SystemClass and __InstanceOperationEvent are abstract too,
 * as in WMI: events are raised as one of its three concrete children (or
 * __ExtrinsicEvent and its subclasses), and queries may still name it.
 * Returns them flattened, parents before children, in *ret
 * (an array of *ret_count references the caller unrefs and frees). */
int class_system_classes(CimClass ***ret, size_t *ret_count);
bool class_name_is_system(const char *name); /* starts with "__" */
