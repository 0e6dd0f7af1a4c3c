/* Test fixture for the event machinery below the engine (test-sink,
 * test-dispatcher): a table of flattened classes standing in for the
 * repository, the SubscribeEnv that reads it, and a recording sink. */
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "class.h"
#include "cleanup.h"
#include "events_internal.h"
#include "instance.h"
#include "mem.h"
#include "names.h"
#include "value.h"

#define FIXTURE_NS "root/test"
#define FIXTURE_MAX_CLASSES 256

typedef struct ClassTable {
        CimClass *classes[FIXTURE_MAX_CLASSES];
        size_t n;
        unsigned lookups;
} ClassTable;

static inline CimClass *table_find(ClassTable *t, const char *name) {
        for (size_t k = 0; k < t->n; k++)
                if (name_equal(t->classes[k]->name, name))
                        return t->classes[k];
        return NULL;
}

static inline void table_init(ClassTable *t) {
        CimClass **sys;
        size_t n;
        memset(t, 0, sizeof(*t));
        assert_int_equal(class_system_classes(&sys, &n), 0);
        for (size_t k = 0; k < n; k++)
                t->classes[t->n++] = sys[k];
        mem_free(sys);
}

static inline void table_clear(ClassTable *t) {
        for (size_t k = 0; k < t->n; k++)
                class_unref(t->classes[k]);
        t->n = 0;
}

/* Props: "name:type[:key]" strings, NULL-terminated. Returns the flattened
 * class (owned by the table). */
static inline CimClass *table_add(ClassTable *t, const char *name, const char *super, ...) {
        CimClass *def, *cls;
        Error err;
        va_list ap;
        assert_int_equal(class_new(name, super, &def, &err), 0);
        va_start(ap, super);
        for (const char *spec; (spec = va_arg(ap, const char *));) {
                char buf[128];
                snprintf(buf, sizeof(buf), "%s", spec);
                char *type = strchr(buf, ':');
                assert_non_null(type);
                *type++ = '\0';
                char *key = strchr(type, ':');
                if (key)
                        *key++ = '\0';
                bool is_array = false;
                size_t tl = strlen(type);
                if (tl > 2 && strcmp(type + tl - 2, "[]") == 0) {
                        type[tl - 2] = '\0';
                        is_array = true;
                }
                CimType ct = cim_type_from_name(type);
                assert_int_not_equal(ct, CIM_INVALID);
                assert_int_equal(
                        class_add_property(def, buf, ct, is_array, key != NULL, NULL, &err), 0);
        }
        va_end(ap);
        CimClass *parent = super ? table_find(t, super) : NULL;
        if (super)
                assert_non_null(parent);
        if (class_derive(def, parent, &cls, &err) != 0)
                fail_msg("class_derive %s: %s", name, err.message);
        class_unref(def);
        assert_true(t->n < FIXTURE_MAX_CLASSES);
        t->classes[t->n++] = cls;
        return cls;
}

/* Remove a class from the table (as if deleted from the repository). */
static inline void table_remove(ClassTable *t, const char *name) {
        for (size_t k = 0; k < t->n; k++)
                if (name_equal(t->classes[k]->name, name)) {
                        class_unref(t->classes[k]);
                        t->classes[k] = t->classes[--t->n];
                        return;
                }
        fail_msg("no class %s", name);
}

static inline int table_class_get(void *userdata, const char *ns, const char *name, CimClass **ret,
                                  Error *err) {
        ClassTable *t = userdata;
        t->lookups++;
        if (!ns_equal(ns, FIXTURE_NS) && !ns_equal(ns, "root/other"))
                return error_set(err, WBEM_E_INVALID_NAMESPACE, "no namespace %s", ns);
        CimClass *c = table_find(t, name);
        if (!c)
                return error_set(err, WBEM_E_NOT_FOUND, "no class %s", name);
        *ret = class_ref(c);
        return 0;
}

static inline SubscribeEnv table_env(ClassTable *t) {
        return (SubscribeEnv){ .class_get = table_class_get, .userdata = t };
}

/* A sink that records what it gets. */
#define RECORD_MAX 4096

typedef struct Record {
        size_t n_indicated;
        uint64_t call_ids[RECORD_MAX];
        Instance *last_event; /* a reference */
        size_t n_ended;
        int last_status;
        char last_message[512];
        uint64_t ended_ids[RECORD_MAX];
} Record;

static inline void record_indicate(Sink *sink, Call *call, Instance *event, void *userdata) {
        Record *r = userdata;
        (void)sink;
        if (r->n_indicated < RECORD_MAX)
                r->call_ids[r->n_indicated] = call_id(call);
        r->n_indicated++;
        instance_unref(r->last_event);
        r->last_event = instance_ref(event);
}

static inline void record_ended(Sink *sink, Call *call, int status, const char *message,
                                void *userdata) {
        Record *r = userdata;
        (void)sink;
        if (r->n_ended < RECORD_MAX)
                r->ended_ids[r->n_ended] = call_id(call);
        r->n_ended++;
        r->last_status = status;
        snprintf(r->last_message, sizeof(r->last_message), "%s", message);
}

static const SinkOps record_ops = { .indicate = record_indicate, .call_ended = record_ended };

static inline void record_reset(Record *r) {
        instance_unref(r->last_event);
        memset(r, 0, sizeof(*r));
}

static inline bool record_has(const Record *r, uint64_t id) {
        for (size_t k = 0; k < r->n_indicated && k < RECORD_MAX; k++)
                if (r->call_ids[k] == id)
                        return true;
        return false;
}

/* Instance helpers */
static inline void set_uint(Instance *i, const char *name, uint64_t v) {
        Value val = value_uint(CIM_UINT64, v);
        Error err;
        if (instance_set(i, name, &val, &err) != 0)
                fail_msg("set %s: %s", name, err.message);
}

static inline void set_sint(Instance *i, const char *name, int64_t v) {
        Value val = value_sint(CIM_SINT64, v);
        Error err;
        if (instance_set(i, name, &val, &err) != 0)
                fail_msg("set %s: %s", name, err.message);
}

static inline void set_str(Instance *i, const char *name, const char *s) {
        Value val;
        Error err;
        assert_int_equal(value_string(s, &val), 0);
        if (instance_set_take(i, name, &val, &err) != 0)
                fail_msg("set %s: %s", name, err.message);
        value_clear(&val);
}

static inline Instance *new_instance(ClassTable *t, const char *cls) {
        Instance *i;
        CimClass *c = table_find(t, cls);
        assert_non_null(c);
        assert_int_equal(instance_new(c, &i), 0);
        assert_int_equal(instance_set_namespace(i, FIXTURE_NS), 0);
        return i;
}

static inline Call *subscribe_ok(Dispatcher *d, ClassTable *t, Sink *s, uint64_t id,
                                 const char *text) {
        SubscribeEnv env = table_env(t);
        Call *c = NULL;
        Error err = { 0 };
        int r = filter_subscribe(d, &env, FIXTURE_NS, text, strlen(text), s, id, &c, &err);
        if (r != 0)
                fail_msg("subscribe '%s': %d %s", text, r, err.message);
        assert_non_null(c);
        return c;
}

static inline int subscribe_err(Dispatcher *d, ClassTable *t, Sink *s, const char *text,
                                Error *err) {
        SubscribeEnv env = table_env(t);
        Call *c = NULL;
        int r = filter_subscribe(d, &env, FIXTURE_NS, text, strlen(text), s, 1, &c, err);
        assert_int_not_equal(r, 0);
        assert_null(c);
        return r;
}
