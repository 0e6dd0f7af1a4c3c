/* CIM classes: definitions, derivation into flattened classes, and the
 * system classes. See class.h.
 *
 * Qualifier inheritance follows CIM's default flavors: `abstract` is
 * restricted (a subclass of an abstract class is concrete unless it says
 * otherwise), `singleton` propagates to subclasses. Since a singleton has
 * exactly one instance, named Class=@, it can have no keys.
 *
 * Property names starting with "__" are reserved for WMI's system
 * properties (__CLASS, __PATH, ...), which are computed, never stored. */
#include "class.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"

static void property_done(CimProperty *p) {
        mem_free(p->name);
        mem_free(p->origin);
        value_clear(&p->default_value);
}

static CimClass *class_free(CimClass *c) {
        if (!c)
                return NULL;
        mem_free(c->name);
        mem_free(c->superclass);
        for (size_t i = 0; i < c->n_derivation; i++)
                mem_free(c->derivation[i]);
        mem_free(c->derivation);
        for (size_t i = 0; i < c->n_props; i++)
                property_done(&c->props[i]);
        mem_free(c->props);
        mem_free(c);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CimClass *, class_unref);

int class_new(const char *name, const char *superclass, CimClass **ret, Error *err) {
        if (!name_is_valid(name))
                return error_set(err, WBEM_E_INVALID_PARAMETER, "invalid class name '%.128s'",
                                 name ? name : "");
        if (superclass && !name_is_valid(superclass))
                return error_set(err, WBEM_E_INVALID_PARAMETER, "invalid superclass name '%.128s'",
                                 superclass);
        _cleanup_(class_unrefp) CimClass *c = mem_calloc(1, sizeof(CimClass));
        if (!c)
                return -ENOMEM;
        c->refcount = 1;
        c->name = mem_strdup(name);
        if (!c->name)
                return -ENOMEM;
        if (superclass) {
                c->superclass = mem_strdup(superclass);
                if (!c->superclass)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

CimClass *class_ref(CimClass *c) {
        if (c)
                c->refcount++;
        return c;
}

CimClass *class_unref(CimClass *c) {
        if (c && --c->refcount == 0)
                class_free(c);
        return NULL;
}

/* Append a copy of p (name, origin, default) to c's properties. */
static int class_append_property(CimClass *c, const CimProperty *p) {
        CimProperty copy = {
                .type = p->type,
                .is_array = p->is_array,
                .is_key = p->is_key,
                .default_value = value_null(p->type, p->is_array),
        };
        CimProperty *props = mem_reallocarray(c->props, c->n_props + 1, sizeof(CimProperty));
        if (!props)
                return -ENOMEM;
        c->props = props;
        copy.name = mem_strdup(p->name);
        copy.origin = mem_strdup(p->origin);
        int r = copy.name && copy.origin ? value_copy(&p->default_value, &copy.default_value)
                                         : -ENOMEM;
        if (r < 0) {
                property_done(&copy);
                return r;
        }
        c->props[c->n_props++] = copy;
        if (copy.is_key)
                c->n_keys++;
        return 0;
}

int class_add_property(CimClass *c, const char *name, CimType type, bool is_array, bool is_key,
                       const Value *default_value, Error *err) {
        if (!name_is_valid(name))
                return error_set(err, WBEM_E_INVALID_PROPERTY,
                                 "invalid property name '%.128s' in class %s", name ? name : "",
                                 c->name);
        if (name[0] == '_' && name[1] == '_')
                return error_set(err, WBEM_E_INVALID_PROPERTY,
                                 "property name '%.128s' in class %s is reserved (starts with __)",
                                 name, c->name);
        if (class_find_property(c, name) >= 0)
                return error_set(err, WBEM_E_INVALID_PROPERTY,
                                 "duplicate property '%.128s' in class %s", name, c->name);
        if ((int)type <= CIM_INVALID || type >= _CIM_TYPE_MAX)
                return error_set(err, WBEM_E_INVALID_PROPERTY_TYPE,
                                 "property %s.%.128s has an invalid type", c->name, name);
        if (is_key && (is_array || cim_type_is_real(type) || type == CIM_OBJECT))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "property %s.%.128s cannot be a key: keys must be scalars that "
                                 "are not real or object",
                                 c->name, name);

        CimProperty p = {
                .name = (char *)name,
                .type = type,
                .is_array = is_array,
                .is_key = is_key,
                .default_value = value_null(type, is_array),
                .origin = c->name,
        };
        if (default_value) {
                Error detail;
                int r = value_convert(default_value, type, is_array, &p.default_value, &detail);
                if (r < 0)
                        return r;
                if (r > 0)
                        return error_set(err, r, "default of property %s.%.128s: %s", c->name, name,
                                         detail.message);
        }
        /* class_append_property copies; the converted default is ours to clear. */
        int r = class_append_property(c, &p);
        value_clear(&p.default_value);
        return r;
}

static bool class_has_ancestor(const CimClass *c, const char *name) {
        for (size_t i = 0; i < c->n_derivation; i++)
                if (name_equal(c->derivation[i], name))
                        return true;
        return false;
}

int class_derive(const CimClass *def, const CimClass *super, CimClass **ret, Error *err) {
        int r;

        if (!def->superclass != !super || (super && !name_equal(def->superclass, super->name)))
                return error_set(err, WBEM_E_INVALID_SUPERCLASS,
                                 "class %s: superclass given is %s, definition names %s", def->name,
                                 super ? super->name : "none",
                                 def->superclass ? def->superclass : "none");
        if (super && (name_equal(super->name, def->name) || class_has_ancestor(super, def->name)))
                return error_set(err, WBEM_E_INVALID_SUPERCLASS,
                                 "class %s cannot derive from %s: it would be its own ancestor",
                                 def->name, super->name);

        _cleanup_(class_unrefp) CimClass *c = NULL;
        r = class_new(def->name, super ? super->name : NULL, &c, err);
        if (r != 0)
                return r;
        c->is_abstract = def->is_abstract;
        c->is_singleton = def->is_singleton || (super && super->is_singleton);

        if (super) {
                c->derivation = mem_calloc(super->n_derivation + 1, sizeof(char *));
                if (!c->derivation)
                        return -ENOMEM;
                c->derivation[c->n_derivation] = mem_strdup(super->name);
                if (!c->derivation[c->n_derivation])
                        return -ENOMEM;
                c->n_derivation++;
                for (size_t i = 0; i < super->n_derivation; i++) {
                        c->derivation[c->n_derivation] = mem_strdup(super->derivation[i]);
                        if (!c->derivation[c->n_derivation])
                                return -ENOMEM;
                        c->n_derivation++;
                }
                for (size_t i = 0; i < super->n_props; i++) {
                        r = class_append_property(c, &super->props[i]);
                        if (r < 0)
                                return r;
                }
        }

        size_t inherited_keys = c->n_keys;
        for (size_t i = 0; i < def->n_props; i++) {
                const CimProperty *p = &def->props[i];
                long idx = class_find_property(c, p->name);
                if (idx < 0) {
                        if (p->is_key && inherited_keys > 0)
                                return error_set(err, WBEM_E_INVALID_PROPERTY,
                                                 "class %s cannot add key %s: superclass %s "
                                                 "already has keys",
                                                 def->name, p->name, super->name);
                        r = class_append_property(c, p);
                        if (r < 0)
                                return r;
                        continue;
                }
                CimProperty *inherited = &c->props[idx];
                if (inherited->type != p->type || inherited->is_array != p->is_array)
                        return error_set(err, WBEM_E_INVALID_PROPERTY_TYPE,
                                         "class %s cannot change the type of inherited property "
                                         "%s from %s%s to %s%s",
                                         def->name, inherited->name, cim_type_name(inherited->type),
                                         inherited->is_array ? "[]" : "", cim_type_name(p->type),
                                         p->is_array ? "[]" : "");
                if (inherited->is_key != p->is_key)
                        return error_set(err, WBEM_E_INVALID_PROPERTY,
                                         "class %s cannot %s the key qualifier of inherited "
                                         "property %s",
                                         def->name, p->is_key ? "add" : "remove", inherited->name);
                /* A restatement without a default keeps the inherited one. */
                if (!p->default_value.is_null) {
                        Value v;
                        r = value_copy(&p->default_value, &v);
                        if (r < 0)
                                return r;
                        value_clear(&inherited->default_value);
                        inherited->default_value = v;
                }
        }

        if (c->is_singleton && c->n_keys > 0)
                return error_set(err, WBEM_E_INVALID_PROPERTY,
                                 "singleton class %s cannot have key properties", def->name);
        *ret = TAKE_PTR(c);
        return 0;
}

long class_find_property(const CimClass *c, const char *name) {
        for (size_t i = 0; i < c->n_props; i++)
                if (name_equal(c->props[i].name, name))
                        return (long)i;
        return -1;
}

bool class_isa(const CimClass *c, const char *name) {
        return name_equal(c->name, name) || class_has_ancestor(c, name);
}

bool class_name_is_system(const char *name) {
        return name && name[0] == '_' && name[1] == '_';
}

/* One system class: its name, superclass, abstractness and own properties. */
typedef struct SystemProp {
        const char *name;
        CimType type;
        bool is_array;
} SystemProp;

typedef struct SystemClassDef {
        const char *name;
        const char *superclass; /* earlier in the table */
        bool is_abstract;
        SystemProp props[2];
} SystemClassDef;

/* As in WMI, __Event and __InstanceOperationEvent are abstract: queries name
 * them, but the engine raises only the concrete classes under them
 * (instance_new does not refuse abstract classes; only stored instances are
 * checked). __ExtrinsicEvent stays concrete so an extrinsic event can be
 * raised without a provider-specific subclass. WMI's __IndicationRelated
 * level between __SystemClass and __Event is left out. */
static const SystemClassDef system_classes[] = {
        { "__SystemClass", NULL, true, { { 0 } } },
        { "__Event",
          "__SystemClass",
          true,
          { { "SECURITY_DESCRIPTOR", CIM_UINT8, true }, { "TIME_CREATED", CIM_UINT64, false } } },
        { "__InstanceOperationEvent",
          "__Event",
          true,
          { { "TargetInstance", CIM_OBJECT, false } } },
        { "__InstanceCreationEvent", "__InstanceOperationEvent", false, { { 0 } } },
        { "__InstanceDeletionEvent", "__InstanceOperationEvent", false, { { 0 } } },
        { "__InstanceModificationEvent",
          "__InstanceOperationEvent",
          false,
          { { "PreviousInstance", CIM_OBJECT, false } } },
        { "__ExtrinsicEvent", "__Event", false, { { 0 } } },
};

static void class_array_free(CimClass **a, size_t n) {
        for (size_t i = 0; i < n; i++)
                class_unref(a[i]);
        mem_free(a);
}

int class_system_classes(CimClass ***ret, size_t *ret_count) {
        size_t n = ELEMENTSOF(system_classes), done = 0;
        CimClass **a = mem_calloc(n, sizeof(CimClass *));
        int r = 0;

        if (!a)
                return -ENOMEM;
        for (; done < n; done++) {
                const SystemClassDef *d = &system_classes[done];
                _cleanup_(class_unrefp) CimClass *def = NULL;
                CimClass *super = NULL;

                r = class_new(d->name, d->superclass, &def, NULL);
                if (r != 0)
                        break;
                def->is_abstract = d->is_abstract;
                for (size_t j = 0; j < ELEMENTSOF(d->props) && d->props[j].name && r == 0; j++)
                        r = class_add_property(def, d->props[j].name, d->props[j].type,
                                               d->props[j].is_array, false, NULL, NULL);
                if (r != 0)
                        break;
                for (size_t j = 0; j < done && d->superclass; j++)
                        if (name_equal(a[j]->name, d->superclass))
                                super = a[j];
                r = class_derive(def, super, &a[done], NULL);
                if (r != 0)
                        break;
        }
        if (r != 0) {
                class_array_free(a, done);
                /* The table is fixed and valid: only memory can run out. */
                return r < 0 ? r : -EINVAL;
        }
        *ret = a;
        *ret_count = n;
        return 0;
}

int class_new_from_specs(const char *name, const char *superclass, bool is_singleton,
                         const CimPropertySpec *specs, size_t n, CimClass **ret, Error *err) {
        _cleanup_(class_unrefp) CimClass *c = NULL;
        int r = class_new(name, superclass, &c, err);
        if (r != 0)
                return r;
        c->is_singleton = is_singleton;
        for (size_t k = 0; k < n; k++) {
                r = class_add_property(c, specs[k].name, specs[k].type, specs[k].is_array,
                                       specs[k].is_key, NULL, err);
                if (r != 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}
