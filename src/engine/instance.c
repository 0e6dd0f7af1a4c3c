/* Instances: a class and one value per property. See instance.h.
 *
 * The relative path is printed with the same key-value rules as object
 * paths (objpath_append_key_value), so a path printed from an instance and
 * one printed from a parsed path with the same keys are the same text. */
#include "instance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "objpath.h"
#include "strbuf.h"

static Instance *instance_free(Instance *i) {
        if (!i)
                return NULL;
        if (i->values)
                for (size_t k = 0; k < i->cls->n_props; k++)
                        value_clear(&i->values[k]);
        mem_free(i->values);
        mem_free(i->ns);
        class_unref(i->cls);
        mem_free(i);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);

/* An instance of cls whose values are all NULL of their property's type. */
static int instance_alloc(CimClass *cls, Instance **ret) {
        _cleanup_(instance_unrefp) Instance *i = mem_calloc(1, sizeof(Instance));
        if (!i)
                return -ENOMEM;
        i->refcount = 1;
        i->cls = class_ref(cls);
        i->values = mem_calloc(cls->n_props, sizeof(Value));
        if (!i->values)
                return -ENOMEM;
        for (size_t k = 0; k < cls->n_props; k++)
                i->values[k] = value_null(cls->props[k].type, cls->props[k].is_array);
        *ret = TAKE_PTR(i);
        return 0;
}

int instance_new(CimClass *cls, Instance **ret) {
        _cleanup_(instance_unrefp) Instance *i = NULL;
        int r = instance_alloc(cls, &i);
        if (r < 0)
                return r;
        for (size_t k = 0; k < cls->n_props; k++) {
                r = value_copy(&cls->props[k].default_value, &i->values[k]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(i);
        return 0;
}

Instance *instance_ref(Instance *i) {
        if (i)
                i->refcount++;
        return i;
}

Instance *instance_unref(Instance *i) {
        if (i && --i->refcount == 0)
                instance_free(i);
        return NULL;
}

int instance_clone(const Instance *src, Instance **ret) {
        _cleanup_(instance_unrefp) Instance *i = NULL;
        int r = instance_alloc(src->cls, &i);
        if (r < 0)
                return r;
        if (src->ns) {
                i->ns = mem_strdup(src->ns);
                if (!i->ns)
                        return -ENOMEM;
        }
        for (size_t k = 0; k < src->cls->n_props; k++) {
                r = value_copy(&src->values[k], &i->values[k]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(i);
        return 0;
}

static long instance_index(const Instance *i, const char *name, Error *err) {
        long idx = class_find_property(i->cls, name);
        if (idx < 0)
                error_set(err, WBEM_E_INVALID_PROPERTY, "class %s has no property '%.128s'",
                          i->cls->name, name);
        return idx;
}

/* Convert v for property idx into *ret, naming the property in errors. */
static int instance_convert(const Instance *i, long idx, const Value *v, Value *ret, Error *err) {
        const CimProperty *p = &i->cls->props[idx];
        Error detail;
        int r = value_convert(v, p->type, p->is_array, ret, &detail);
        if (r > 0)
                return error_set(err, r, "property %s.%s: %s", i->cls->name, p->name,
                                 detail.message);
        return r;
}

int instance_set(Instance *i, const char *name, const Value *v, Error *err) {
        long idx = instance_index(i, name, err);
        if (idx < 0)
                return WBEM_E_INVALID_PROPERTY;
        Value converted;
        int r = instance_convert(i, idx, v, &converted, err);
        if (r != 0)
                return r;
        value_clear(&i->values[idx]);
        i->values[idx] = converted;
        return 0;
}

int instance_set_take(Instance *i, const char *name, Value *v, Error *err) {
        long idx = instance_index(i, name, err);
        if (idx < 0)
                return WBEM_E_INVALID_PROPERTY;
        const CimProperty *p = &i->cls->props[idx];
        Value converted;
        if (v->type == p->type && v->is_array == p->is_array && !cim_type_is_real(p->type)) {
                /* Already of the property's type: move it, no copy needed.
                 * (Reals still go through conversion for real32 rounding.) */
                converted = *v;
                *v = value_null(v->type, v->is_array);
        } else {
                int r = instance_convert(i, idx, v, &converted, err);
                if (r != 0)
                        return r;
                value_clear(v);
        }
        value_clear(&i->values[idx]);
        i->values[idx] = converted;
        return 0;
}

const Value *instance_get(const Instance *i, const char *name) {
        long idx = class_find_property(i->cls, name);
        return idx < 0 ? NULL : &i->values[idx];
}

int instance_set_namespace(Instance *i, const char *ns) {
        char *copy = NULL;
        if (ns) {
                copy = mem_strdup(ns);
                if (!copy)
                        return -ENOMEM;
        }
        mem_free(i->ns);
        i->ns = copy;
        return 0;
}

int instance_validate_keys(const Instance *i, Error *err) {
        const CimClass *c = i->cls;
        if (c->is_abstract)
                return error_set(err, WBEM_E_INVALID_CLASS,
                                 "class %s is abstract and cannot have instances", c->name);
        if (c->is_singleton)
                return 0;
        if (c->n_keys == 0)
                return error_set(err, WBEM_E_INVALID_OBJECT,
                                 "class %s has no key properties and is not a singleton", c->name);
        for (size_t k = 0; k < c->n_props; k++)
                if (c->props[k].is_key && i->values[k].is_null)
                        return error_set(err, WBEM_E_ILLEGAL_NULL, "key property %s.%s is NULL",
                                         c->name, c->props[k].name);
        return 0;
}

typedef struct KeyRef {
        const char *name;
        size_t index;
} KeyRef;

static int key_ref_compare(const void *a, const void *b) {
        const KeyRef *x = a, *y = b;
        return name_compare(x->name, y->name);
}

static void instance_append_relpath(StrBuf *buf, const Instance *i) {
        const CimClass *c = i->cls;
        strbuf_append(buf, c->name);
        if (c->is_singleton) {
                strbuf_append(buf, "=@");
                return;
        }
        if (c->n_keys == 0)
                return;
        KeyRef *keys = mem_reallocarray(NULL, c->n_keys, sizeof(KeyRef));
        if (!keys) {
                buf->failed = true;
                return;
        }
        size_t n = 0;
        for (size_t k = 0; k < c->n_props && n < c->n_keys; k++)
                if (c->props[k].is_key)
                        keys[n++] = (KeyRef){ c->props[k].name, k };
        qsort(keys, n, sizeof(KeyRef), key_ref_compare);
        for (size_t k = 0; k < n; k++) {
                strbuf_append_char(buf, k == 0 ? '.' : ',');
                strbuf_append(buf, keys[k].name);
                strbuf_append_char(buf, '=');
                objpath_append_key_value(buf, &i->values[keys[k].index]);
        }
        mem_free(keys);
}

char *instance_relpath(const Instance *i) {
        StrBuf buf = STRBUF_INIT;
        instance_append_relpath(&buf, i);
        return strbuf_steal(&buf);
}

char *instance_path(const Instance *i, const char *host) {
        StrBuf buf = STRBUF_INIT;
        if (i->ns) {
                if (host)
                        strbuf_printf(&buf, "//%s/", host);
                strbuf_append(&buf, i->ns);
                strbuf_append_char(&buf, ':');
        }
        instance_append_relpath(&buf, i);
        return strbuf_steal(&buf);
}
