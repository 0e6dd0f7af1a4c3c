/* Unit tests for classes (class.c), instances (instance.c) and names
 * (names.c): building and deriving classes with every derivation error, the
 * system classes, instances with defaults, set/get with conversion errors,
 * key validation, and relative and full paths. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "class.h"
#include "cleanup.h"
#include "instance.h"
#include "mem.h"
#include "names.h"
#include "objpath.h"
#include "value.h"

static void test_names(void **state) {
        (void)state;
        assert_true(name_equal("Win32_Process", "WIN32_PROCESS"));
        assert_false(name_equal("abc", "abd"));
        assert_false(name_equal("abc", "abcd"));
        assert_true(name_equal("", ""));
        assert_true(name_compare("abc", "ABD") < 0);
        assert_true(name_compare("b", "A") > 0);
        assert_true(name_compare("a", "ab") < 0);
        assert_int_equal(name_compare("Name", "nAME"), 0);
        /* non-ASCII bytes do not fold: "Ä" and "ä" differ */
        assert_false(name_equal("\xc3\x84", "\xc3\xa4"));
        assert_true(name_equal("x\xc3\xa4", "X\xc3\xa4"));
        /* letters fold to lower case, so '_' (0x5f) sorts before every letter */
        assert_true(name_compare("a_", "aa") < 0);

        assert_true(name_is_valid("a"));
        assert_true(name_is_valid("_x1"));
        assert_true(name_is_valid("__Event"));
        assert_true(name_is_valid("Caf\xc3\xa9"));
        assert_true(name_is_valid("\xc3\xa9t\xc3\xa9"));
        assert_false(name_is_valid(""));
        assert_false(name_is_valid(NULL));
        assert_false(name_is_valid("1abc"));
        assert_false(name_is_valid("a-b"));
        assert_false(name_is_valid("a b"));
        assert_false(name_is_valid("a.b"));

        assert_int_equal(name_hash("ProcessId"), name_hash("PROCESSID"));
        assert_int_not_equal(name_hash("ProcessId"), name_hash("ProcessIds"));
}

/* Base: Id (string key), Size (uint64, default 5), Tags (string[]). */
static CimClass *make_base(void) {
        CimClass *def, *cls;
        Value five = value_uint(CIM_UINT8, 5);
        assert_int_equal(class_new("App_Base", NULL, &def, NULL), 0);
        assert_int_equal(class_add_property(def, "Id", CIM_STRING, false, true, NULL, NULL), 0);
        assert_int_equal(class_add_property(def, "Size", CIM_UINT64, false, false, &five, NULL), 0);
        assert_int_equal(class_add_property(def, "Tags", CIM_STRING, true, false, NULL, NULL), 0);
        assert_int_equal(class_derive(def, NULL, &cls, NULL), 0);
        class_unref(def);
        return cls;
}

static void test_class_build(void **state) {
        (void)state;
        CimClass *c;
        Error err;

        assert_int_equal(class_new("1bad", NULL, &c, &err), WBEM_E_INVALID_PARAMETER);
        assert_string_equal(err.message, "invalid class name '1bad'");
        assert_int_equal(class_new(NULL, NULL, &c, &err), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(class_new("Good", "bad name", &c, &err), WBEM_E_INVALID_PARAMETER);
        assert_string_equal(err.message, "invalid superclass name 'bad name'");

        assert_int_equal(class_new("App_Job", NULL, &c, &err), 0);
        assert_int_equal(c->refcount, 1);
        assert_string_equal(c->name, "App_Job");
        assert_null(c->superclass);
        assert_int_equal(c->n_props, 0);

        Value v = value_uint(CIM_UINT32, 3);
        assert_int_equal(class_add_property(c, "Id", CIM_UINT32, false, true, NULL, &err), 0);
        assert_int_equal(class_add_property(c, "Retries", CIM_UINT8, false, false, &v, &err), 0);
        assert_int_equal(c->props[1].default_value.type, CIM_UINT8);
        assert_true(c->props[1].default_value.u == 3);
        assert_string_equal(c->props[1].origin, "App_Job");
        assert_int_equal(c->n_keys, 1);

        assert_int_equal(class_add_property(c, "id", CIM_STRING, false, false, NULL, &err),
                         WBEM_E_INVALID_PROPERTY);
        assert_string_equal(err.message, "duplicate property 'id' in class App_Job");
        assert_int_equal(class_add_property(c, "9x", CIM_STRING, false, false, NULL, &err),
                         WBEM_E_INVALID_PROPERTY);
        assert_string_equal(err.message, "invalid property name '9x' in class App_Job");
        assert_int_equal(class_add_property(c, "__PATH", CIM_STRING, false, false, NULL, &err),
                         WBEM_E_INVALID_PROPERTY);
        assert_string_equal(err.message,
                            "property name '__PATH' in class App_Job is reserved (starts with __)");
        assert_int_equal(class_add_property(c, "T", CIM_INVALID, false, false, NULL, &err),
                         WBEM_E_INVALID_PROPERTY_TYPE);
        assert_int_equal(class_add_property(c, "T", _CIM_TYPE_MAX, false, false, NULL, &err),
                         WBEM_E_INVALID_PROPERTY_TYPE);
        assert_string_equal(err.message, "property App_Job.T has an invalid type");
        assert_int_equal(class_add_property(c, "K1", CIM_STRING, true, true, NULL, &err),
                         WBEM_E_INVALID_PARAMETER);
        assert_string_equal(err.message, "property App_Job.K1 cannot be a key: keys must be "
                                         "scalars that are not real or object");
        assert_int_equal(class_add_property(c, "K2", CIM_REAL64, false, true, NULL, &err),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(class_add_property(c, "K3", CIM_OBJECT, false, true, NULL, &err),
                         WBEM_E_INVALID_PARAMETER);
        v = value_uint(CIM_UINT32, 300);
        assert_int_equal(class_add_property(c, "Small", CIM_UINT8, false, false, &v, &err),
                         WBEM_E_TYPE_MISMATCH);
        assert_string_equal(
                err.message,
                "default of property App_Job.Small: value '300' out of range for uint8");
        v = value_bool(true);
        assert_int_equal(class_add_property(c, "Flags", CIM_BOOLEAN, true, false, &v, &err),
                         WBEM_E_TYPE_MISMATCH);
        assert_int_equal(c->n_props, 2); /* nothing was added by the failures */

        /* keys may be strings, integers, booleans, datetimes, references */
        assert_int_equal(class_add_property(c, "K4", CIM_DATETIME, false, true, NULL, &err), 0);
        assert_int_equal(class_add_property(c, "K5", CIM_REFERENCE, false, true, NULL, &err), 0);
        assert_int_equal(class_add_property(c, "K6", CIM_BOOLEAN, false, true, NULL, &err), 0);
        assert_int_equal(c->n_keys, 4);

        assert_int_equal(class_find_property(c, "RETRIES"), 1);
        assert_int_equal(class_find_property(c, "nope"), -1);

        assert_ptr_equal(class_ref(c), c);
        assert_int_equal(c->refcount, 2);
        assert_null(class_unref(c));
        assert_int_equal(c->refcount, 1);
        assert_null(class_unref(c));
        assert_null(class_unref(NULL));
        assert_null(class_ref(NULL));
}

static void test_class_derive(void **state) {
        (void)state;
        Error err;
        CimClass *base = make_base();
        assert_int_equal(base->n_derivation, 0);
        assert_int_equal(base->n_keys, 1);
        assert_true(class_isa(base, "app_base"));
        assert_false(class_isa(base, "Other"));

        CimClass *def, *child, *grandchild;
        Value v = value_uint(CIM_UINT64, 9);
        assert_int_equal(class_new("App_Child", "APP_BASE", &def, NULL), 0);
        assert_int_equal(class_add_property(def, "Extra", CIM_SINT32, false, false, NULL, NULL), 0);
        assert_int_equal(class_add_property(def, "size", CIM_UINT64, false, false, &v, NULL), 0);
        assert_int_equal(class_add_property(def, "Tags", CIM_STRING, true, false, NULL, NULL), 0);
        assert_int_equal(class_derive(def, base, &child, &err), 0);
        class_unref(def);

        assert_string_equal(child->name, "App_Child");
        assert_string_equal(child->superclass, "App_Base");
        assert_int_equal(child->n_derivation, 1);
        assert_string_equal(child->derivation[0], "App_Base");
        assert_int_equal(child->n_props, 4);
        assert_string_equal(child->props[0].name, "Id");
        assert_string_equal(child->props[1].name, "Size"); /* inherited spelling kept */
        assert_string_equal(child->props[2].name, "Tags");
        assert_string_equal(child->props[3].name, "Extra");
        assert_true(child->props[1].default_value.u == 9); /* new default */
        assert_string_equal(child->props[1].origin, "App_Base");
        assert_string_equal(child->props[3].origin, "App_Child");
        assert_int_equal(child->n_keys, 1);
        assert_true(child->props[0].is_key);
        assert_true(class_isa(child, "App_Base"));
        assert_true(class_isa(child, "app_child"));
        /* base unchanged */
        assert_true(base->props[1].default_value.u == 5);

        /* a restatement without a default keeps the inherited default */
        assert_int_equal(class_new("App_Grand", "App_Child", &def, NULL), 0);
        assert_int_equal(class_add_property(def, "Size", CIM_UINT64, false, false, NULL, NULL), 0);
        def->is_abstract = true;
        assert_int_equal(class_derive(def, child, &grandchild, &err), 0);
        class_unref(def);
        assert_int_equal(grandchild->n_derivation, 2);
        assert_string_equal(grandchild->derivation[0], "App_Child");
        assert_string_equal(grandchild->derivation[1], "App_Base");
        assert_true(grandchild->props[1].default_value.u == 9);
        assert_true(grandchild->is_abstract);
        assert_true(class_isa(grandchild, "APP_BASE"));

        /* abstract does not propagate */
        assert_int_equal(class_new("App_Great", "App_Grand", &def, NULL), 0);
        CimClass *great;
        assert_int_equal(class_derive(def, grandchild, &great, &err), 0);
        class_unref(def);
        assert_false(great->is_abstract);
        assert_int_equal(great->n_derivation, 3);
        class_unref(great);

        /* errors */
        assert_int_equal(class_new("Bad", "App_Base", &def, NULL), 0);
        assert_int_equal(class_add_property(def, "Size", CIM_UINT32, false, false, NULL, NULL), 0);
        assert_int_equal(class_derive(def, base, &great, &err), WBEM_E_INVALID_PROPERTY_TYPE);
        assert_string_equal(err.message, "class Bad cannot change the type of inherited property "
                                         "Size from uint64 to uint32");
        class_unref(def);

        assert_int_equal(class_new("Bad", "App_Base", &def, NULL), 0);
        assert_int_equal(class_add_property(def, "Tags", CIM_STRING, false, false, NULL, NULL), 0);
        assert_int_equal(class_derive(def, base, &great, &err), WBEM_E_INVALID_PROPERTY_TYPE);
        assert_string_equal(err.message, "class Bad cannot change the type of inherited property "
                                         "Tags from string[] to string");
        class_unref(def);

        assert_int_equal(class_new("Bad", "App_Base", &def, NULL), 0);
        assert_int_equal(class_add_property(def, "Id", CIM_STRING, false, false, NULL, NULL), 0);
        assert_int_equal(class_derive(def, base, &great, &err), WBEM_E_INVALID_PROPERTY);
        assert_string_equal(err.message,
                            "class Bad cannot remove the key qualifier of inherited property Id");
        class_unref(def);

        assert_int_equal(class_new("Bad", "App_Base", &def, NULL), 0);
        assert_int_equal(class_add_property(def, "Size", CIM_UINT64, false, true, NULL, NULL), 0);
        assert_int_equal(class_derive(def, base, &great, &err), WBEM_E_INVALID_PROPERTY);
        assert_string_equal(err.message,
                            "class Bad cannot add the key qualifier of inherited property Size");
        class_unref(def);

        assert_int_equal(class_new("Bad", "App_Base", &def, NULL), 0);
        assert_int_equal(class_add_property(def, "Other", CIM_UINT32, false, true, NULL, NULL), 0);
        assert_int_equal(class_derive(def, base, &great, &err), WBEM_E_INVALID_PROPERTY);
        assert_string_equal(err.message,
                            "class Bad cannot add key Other: superclass App_Base already has keys");
        class_unref(def);

        assert_int_equal(class_new("Bad", "Elsewhere", &def, NULL), 0);
        assert_int_equal(class_derive(def, base, &great, &err), WBEM_E_INVALID_SUPERCLASS);
        assert_string_equal(err.message,
                            "class Bad: superclass given is App_Base, definition names Elsewhere");
        assert_int_equal(class_derive(def, NULL, &great, &err), WBEM_E_INVALID_SUPERCLASS);
        assert_string_equal(err.message,
                            "class Bad: superclass given is none, definition names Elsewhere");
        class_unref(def);
        assert_int_equal(class_new("Bad", NULL, &def, NULL), 0);
        assert_int_equal(class_derive(def, base, &great, &err), WBEM_E_INVALID_SUPERCLASS);
        assert_string_equal(err.message,
                            "class Bad: superclass given is App_Base, definition names none");
        class_unref(def);

        /* a class cannot derive from itself or a descendant */
        assert_int_equal(class_new("App_Base", "App_Grand", &def, NULL), 0);
        assert_int_equal(class_derive(def, grandchild, &great, &err), WBEM_E_INVALID_SUPERCLASS);
        assert_string_equal(err.message,
                            "class App_Base cannot derive from App_Grand: it would be its own "
                            "ancestor");
        class_unref(def);
        assert_int_equal(class_new("app_base", "App_Base", &def, NULL), 0);
        assert_int_equal(class_derive(def, base, &great, &err), WBEM_E_INVALID_SUPERCLASS);
        class_unref(def);

        /* a keyless superclass lets a subclass add keys */
        CimClass *root, *keyed;
        assert_int_equal(class_new("App_Root", NULL, &def, NULL), 0);
        assert_int_equal(class_add_property(def, "Note", CIM_STRING, false, false, NULL, NULL), 0);
        assert_int_equal(class_derive(def, NULL, &root, NULL), 0);
        class_unref(def);
        assert_int_equal(class_new("App_Keyed", "App_Root", &def, NULL), 0);
        assert_int_equal(class_add_property(def, "K", CIM_SINT64, false, true, NULL, NULL), 0);
        assert_int_equal(class_derive(def, root, &keyed, &err), 0);
        class_unref(def);
        assert_int_equal(keyed->n_keys, 1);
        class_unref(keyed);

        /* singletons: inherited, and never with keys */
        CimClass *single, *single_child;
        assert_int_equal(class_new("App_Config", NULL, &def, NULL), 0);
        def->is_singleton = true;
        assert_int_equal(class_add_property(def, "Level", CIM_UINT32, false, false, NULL, NULL), 0);
        assert_int_equal(class_derive(def, NULL, &single, NULL), 0);
        class_unref(def);
        assert_true(single->is_singleton);
        assert_int_equal(class_new("App_Config2", "App_Config", &def, NULL), 0);
        assert_int_equal(class_derive(def, single, &single_child, NULL), 0);
        assert_true(single_child->is_singleton);
        class_unref(single_child);
        assert_int_equal(class_add_property(def, "K", CIM_STRING, false, true, NULL, NULL), 0);
        assert_int_equal(class_derive(def, single, &single_child, &err), WBEM_E_INVALID_PROPERTY);
        assert_string_equal(err.message, "singleton class App_Config2 cannot have key properties");
        class_unref(def);
        assert_int_equal(class_new("Bad", "App_Base", &def, NULL), 0);
        def->is_singleton = true;
        assert_int_equal(class_derive(def, base, &great, &err), WBEM_E_INVALID_PROPERTY);
        assert_string_equal(err.message, "singleton class Bad cannot have key properties");
        class_unref(def);
        class_unref(single);

        class_unref(root);
        class_unref(grandchild);
        class_unref(child);
        class_unref(base);
}

static void test_system_classes(void **state) {
        (void)state;
        CimClass **classes;
        size_t n;
        assert_int_equal(class_system_classes(&classes, &n), 0);
        assert_int_equal(n, 7);
        static const struct {
                const char *name;
                const char *super;
                bool abstract;
                size_t n_props;
        } expect[] = {
                { "__SystemClass", NULL, true, 0 },
                { "__Event", "__SystemClass", true, 2 },
                { "__InstanceOperationEvent", "__Event", true, 3 },
                { "__InstanceCreationEvent", "__InstanceOperationEvent", false, 3 },
                { "__InstanceDeletionEvent", "__InstanceOperationEvent", false, 3 },
                { "__InstanceModificationEvent", "__InstanceOperationEvent", false, 4 },
                { "__ExtrinsicEvent", "__Event", false, 2 },
        };
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(classes[i]->name, expect[i].name);
                if (expect[i].super)
                        assert_string_equal(classes[i]->superclass, expect[i].super);
                else
                        assert_null(classes[i]->superclass);
                assert_int_equal(classes[i]->is_abstract, expect[i].abstract);
                assert_int_equal(classes[i]->n_props, expect[i].n_props);
                assert_int_equal(classes[i]->n_keys, 0);
                assert_true(class_isa(classes[i], "__SystemClass"));
                assert_true(class_name_is_system(classes[i]->name));
        }
        const CimClass *mod = classes[5];
        assert_int_equal(mod->n_derivation, 3);
        assert_string_equal(mod->derivation[0], "__InstanceOperationEvent");
        assert_string_equal(mod->derivation[1], "__Event");
        assert_string_equal(mod->derivation[2], "__SystemClass");
        long i;
        assert_true((i = class_find_property(mod, "TIME_CREATED")) >= 0);
        assert_int_equal(mod->props[i].type, CIM_UINT64);
        assert_false(mod->props[i].is_array);
        assert_string_equal(mod->props[i].origin, "__Event");
        assert_true((i = class_find_property(mod, "security_descriptor")) >= 0);
        assert_int_equal(mod->props[i].type, CIM_UINT8);
        assert_true(mod->props[i].is_array);
        assert_true((i = class_find_property(mod, "TargetInstance")) >= 0);
        assert_int_equal(mod->props[i].type, CIM_OBJECT);
        assert_string_equal(mod->props[i].origin, "__InstanceOperationEvent");
        assert_true((i = class_find_property(mod, "PreviousInstance")) >= 0);
        assert_int_equal(mod->props[i].type, CIM_OBJECT);
        assert_true(class_isa(classes[3], "__instanceoperationevent"));
        assert_false(class_isa(classes[6], "__InstanceOperationEvent"));
        assert_int_equal(class_find_property(classes[6], "TargetInstance"), -1);

        for (size_t k = 0; k < n; k++)
                class_unref(classes[k]);
        mem_free(classes);

        assert_false(class_name_is_system("_Single"));
        assert_false(class_name_is_system("App"));
        assert_false(class_name_is_system(NULL));
}

static void test_instances(void **state) {
        (void)state;
        Error err;
        CimClass *base = make_base();
        Instance *i;
        assert_int_equal(instance_new(base, &i), 0);
        assert_int_equal(base->refcount, 2);
        assert_int_equal(i->refcount, 1);
        assert_null(i->ns);

        /* defaults */
        const Value *v = instance_get(i, "size");
        assert_non_null(v);
        assert_int_equal(v->type, CIM_UINT64);
        assert_true(v->u == 5);
        v = instance_get(i, "Id");
        assert_true(v->is_null);
        assert_int_equal(v->type, CIM_STRING);
        v = instance_get(i, "Tags");
        assert_true(v->is_null && v->is_array);
        assert_null(instance_get(i, "Nope"));

        /* set with conversion */
        Value s;
        assert_int_equal(value_string("18446744073709551615", &s), 0);
        assert_int_equal(instance_set(i, "SIZE", &s, &err), 0);
        assert_true(instance_get(i, "Size")->u == UINT64_MAX);
        assert_string_equal(s.s, "18446744073709551615"); /* caller keeps its value */
        value_clear(&s);
        assert_int_equal(value_string("-1", &s), 0);
        assert_int_equal(instance_set(i, "Size", &s, &err), WBEM_E_TYPE_MISMATCH);
        assert_string_equal(err.message,
                            "property App_Base.Size: value '-1' out of range for uint64");
        assert_true(instance_get(i, "Size")->u == UINT64_MAX); /* unchanged */
        assert_int_equal(instance_set(i, "Missing", &s, &err), WBEM_E_INVALID_PROPERTY);
        assert_string_equal(err.message, "class App_Base has no property 'Missing'");
        assert_int_equal(instance_set(i, "Tags", &s, &err), WBEM_E_TYPE_MISMATCH);
        assert_string_equal(err.message,
                            "property App_Base.Tags: cannot convert string to string[]");
        value_clear(&s);
        Value n = value_null(CIM_UINT32, false);
        assert_int_equal(instance_set(i, "Size", &n, &err), 0);
        assert_true(instance_get(i, "Size")->is_null);
        assert_int_equal(instance_get(i, "Size")->type, CIM_UINT64);

        /* set_take moves a value of the right type, converts others */
        Value tags;
        assert_int_equal(value_array_new(CIM_STRING, 2, &tags), 0);
        assert_int_equal(value_string("a", &tags.arr->items[0]), 0);
        ValueArray *arr = tags.arr;
        assert_int_equal(instance_set_take(i, "Tags", &tags, &err), 0);
        assert_true(tags.is_null);
        assert_ptr_equal(instance_get(i, "Tags")->arr, arr);
        Value num = value_sint(CIM_SINT8, 7);
        assert_int_equal(instance_set_take(i, "Size", &num, &err), 0);
        assert_true(instance_get(i, "Size")->u == 7);
        assert_true(num.is_null);
        assert_int_equal(value_string("x", &s), 0);
        assert_int_equal(instance_set_take(i, "Size", &s, &err), WBEM_E_TYPE_MISMATCH);
        assert_string_equal(err.message, "property App_Base.Size: value 'x' is not a valid uint64");
        assert_string_equal(s.s, "x"); /* not taken on failure */
        assert_int_equal(instance_set_take(i, "Nope", &s, &err), WBEM_E_INVALID_PROPERTY);
        assert_int_equal(instance_set_take(i, "Id", &s, &err), 0);
        assert_true(s.is_null);
        assert_string_equal(instance_get(i, "Id")->s, "x");

        assert_int_equal(instance_set_namespace(i, "root/cimv2"), 0);
        assert_string_equal(i->ns, "root/cimv2");
        assert_int_equal(instance_set_namespace(i, NULL), 0);
        assert_null(i->ns);
        assert_int_equal(instance_set_namespace(i, "root/lwmi"), 0);
        mem_fail_at(1);
        assert_int_equal(instance_set_namespace(i, "root/x"), -ENOMEM);
        mem_fail_at(0);
        assert_string_equal(i->ns, "root/lwmi");

        /* clone: independent values, shared embedded objects */
        Instance *c;
        assert_int_equal(instance_clone(i, &c), 0);
        assert_ptr_equal(c->cls, base);
        assert_string_equal(c->ns, "root/lwmi");
        assert_ptr_not_equal(c->ns, i->ns);
        assert_ptr_not_equal(instance_get(c, "Tags")->arr, arr);
        Value ci = value_object(i);
        Value cv = value_object(c);
        assert_true(value_equal(&ci, &cv));
        value_clear(&ci);
        value_clear(&cv);
        assert_int_equal(value_string("changed", &s), 0);
        assert_int_equal(instance_set(c, "Id", &s, NULL), 0);
        value_clear(&s);
        assert_string_equal(instance_get(i, "Id")->s, "x");

        assert_ptr_equal(instance_ref(c), c);
        assert_int_equal(c->refcount, 2);
        assert_null(instance_unref(c));
        assert_null(instance_unref(c));
        assert_null(instance_unref(NULL));
        assert_null(instance_ref(NULL));
        instance_unref(i);
        assert_int_equal(base->refcount, 1);
        class_unref(base);
}

static void test_embedded_objects(void **state) {
        (void)state;
        CimClass **sys;
        size_t n;
        assert_int_equal(class_system_classes(&sys, &n), 0);
        CimClass *base = make_base();
        Instance *target, *event;
        assert_int_equal(instance_new(base, &target), 0);
        assert_int_equal(instance_new(sys[3], &event), 0); /* __InstanceCreationEvent */
        Value o = value_object(target);
        assert_int_equal(instance_set(event, "TargetInstance", &o, NULL), 0);
        assert_int_equal(target->refcount, 3);
        Value t = value_uint(CIM_UINT64, 1234);
        assert_int_equal(instance_set(event, "TIME_CREATED", &t, NULL), 0);
        Instance *clone;
        assert_int_equal(instance_clone(event, &clone), 0);
        assert_ptr_equal(instance_get(clone, "TargetInstance")->obj, target);
        assert_int_equal(target->refcount, 4);
        Error err;
        assert_int_equal(instance_set(event, "TIME_CREATED", &o, &err), WBEM_E_TYPE_MISMATCH);
        assert_string_equal(err.message,
                            "property __InstanceCreationEvent.TIME_CREATED: cannot convert object "
                            "to uint64");
        value_clear(&o);
        instance_unref(clone);
        instance_unref(event);
        assert_int_equal(target->refcount, 1);
        instance_unref(target);
        class_unref(base);
        for (size_t k = 0; k < n; k++)
                class_unref(sys[k]);
        mem_free(sys);
}

static CimClass *make_class(const char *name, bool abstract, bool singleton, size_t n_keys) {
        CimClass *def, *cls;
        static const char *const keys[] = { "Zeta", "alpha", "Mid", "Beta" };
        static const CimType types[] = { CIM_STRING, CIM_SINT32, CIM_BOOLEAN, CIM_UINT64 };
        assert_int_equal(class_new(name, NULL, &def, NULL), 0);
        def->is_abstract = abstract;
        def->is_singleton = singleton;
        assert_int_equal(class_add_property(def, "Data", CIM_STRING, false, false, NULL, NULL), 0);
        for (size_t k = 0; k < n_keys; k++)
                assert_int_equal(
                        class_add_property(def, keys[k], types[k], false, true, NULL, NULL), 0);
        assert_int_equal(class_derive(def, NULL, &cls, NULL), 0);
        class_unref(def);
        return cls;
}

static void check_path(const Instance *i, const char *host, const char *expected) {
        _cleanup_free_ char *p = host ? instance_path(i, host) : instance_relpath(i);
        assert_non_null(p);
        assert_string_equal(p, expected);
}

static void test_keys_and_paths(void **state) {
        (void)state;
        Error err;
        CimClass *abstract = make_class("App_Abstract", true, false, 1);
        CimClass *keyless = make_class("App_Keyless", false, false, 0);
        CimClass *single = make_class("App_Single", false, true, 0);
        CimClass *keyed = make_class("App_Keyed", false, false, 4);
        Instance *i;

        assert_int_equal(instance_new(abstract, &i), 0);
        assert_int_equal(instance_validate_keys(i, &err), WBEM_E_INVALID_CLASS);
        assert_string_equal(err.message,
                            "class App_Abstract is abstract and cannot have instances");
        instance_unref(i);

        assert_int_equal(instance_new(keyless, &i), 0);
        assert_int_equal(instance_validate_keys(i, &err), WBEM_E_INVALID_OBJECT);
        assert_string_equal(err.message,
                            "class App_Keyless has no key properties and is not a singleton");
        check_path(i, NULL, "App_Keyless");
        instance_unref(i);

        assert_int_equal(instance_new(single, &i), 0);
        assert_int_equal(instance_validate_keys(i, &err), 0);
        check_path(i, NULL, "App_Single=@");
        check_path(i, "host", "App_Single=@"); /* no namespace yet */
        assert_int_equal(instance_set_namespace(i, "root/lwmi"), 0);
        check_path(i, "myhost", "//myhost/root/lwmi:App_Single=@");
        instance_unref(i);

        assert_int_equal(instance_new(keyed, &i), 0);
        assert_int_equal(instance_validate_keys(i, &err), WBEM_E_ILLEGAL_NULL);
        assert_string_equal(err.message, "key property App_Keyed.Zeta is NULL");
        check_path(i, NULL, "App_Keyed.alpha=\"\",Beta=\"\",Mid=\"\",Zeta=\"\"");
        Value v;
        assert_int_equal(value_string("a \"q\" \\ b", &v), 0);
        assert_int_equal(instance_set_take(i, "Zeta", &v, NULL), 0);
        assert_int_equal(instance_validate_keys(i, &err), WBEM_E_ILLEGAL_NULL);
        assert_string_equal(err.message, "key property App_Keyed.alpha is NULL");
        v = value_sint(CIM_SINT32, -42);
        assert_int_equal(instance_set(i, "ALPHA", &v, NULL), 0);
        v = value_bool(true);
        assert_int_equal(instance_set(i, "Mid", &v, NULL), 0);
        v = value_uint(CIM_UINT64, UINT64_MAX);
        assert_int_equal(instance_set(i, "Beta", &v, NULL), 0);
        assert_int_equal(instance_validate_keys(i, &err), 0);
        check_path(i, NULL,
                   "App_Keyed.alpha=-42,Beta=18446744073709551615,Mid=TRUE,Zeta=\"a \\\"q\\\" \\\\ "
                   "b\"");
        assert_int_equal(instance_set_namespace(i, "root/cimv2"), 0);
        check_path(i, ".",
                   "//./root/cimv2:App_Keyed.alpha=-42,Beta=18446744073709551615,Mid=TRUE,"
                   "Zeta=\"a \\\"q\\\" \\\\ b\"");

        /* the relative path is what objpath prints for the same keys */
        _cleanup_free_ char *rel = instance_relpath(i);
        ObjectPath *p;
        assert_int_equal(objpath_parse(rel, &p, &err), 0);
        _cleanup_free_ char *again = objpath_format_relpath(p);
        assert_string_equal(again, rel);
        objpath_free(p);

        mem_fail_at(1);
        assert_null(instance_relpath(i));
        mem_fail_at(2);
        assert_null(instance_path(i, "h"));
        mem_fail_at(0);
        instance_unref(i);

        /* datetime and reference keys print quoted */
        CimClass *def, *dk;
        assert_int_equal(class_new("App_DT", NULL, &def, NULL), 0);
        assert_int_equal(class_add_property(def, "When", CIM_DATETIME, false, true, NULL, NULL), 0);
        assert_int_equal(class_add_property(def, "Ref", CIM_REFERENCE, false, true, NULL, NULL), 0);
        assert_int_equal(class_derive(def, NULL, &dk, NULL), 0);
        class_unref(def);
        assert_int_equal(instance_new(dk, &i), 0);
        assert_int_equal(value_string("20240101000000.000000+000", &v), 0);
        assert_int_equal(instance_set_take(i, "When", &v, NULL), 0);
        assert_int_equal(value_string("A.K=\"1\"", &v), 0);
        assert_int_equal(instance_set_take(i, "Ref", &v, NULL), 0);
        check_path(i, NULL, "App_DT.Ref=\"A.K=\\\"1\\\"\",When=\"20240101000000.000000+000\"");
        instance_unref(i);
        class_unref(dk);

        class_unref(abstract);
        class_unref(keyless);
        class_unref(single);
        class_unref(keyed);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CimClass *, class_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);

/* Allocation failure through the heavy operations: deriving a class with
 * defaults and arrays from a superclass, building an instance with an array
 * and an embedded object, cloning it and printing its path. */
static int alloc_operation(CimClass *base, Instance *embedded) {
        _cleanup_(class_unrefp) CimClass *def = NULL, *cls = NULL;
        _cleanup_(instance_unrefp) Instance *i = NULL, *c = NULL;
        Value d;
        int r;

        r = class_new("App_Derived", "App_Base", &def, NULL);
        if (r != 0)
                return r;
        r = value_string("def", &d);
        if (r != 0)
                return r;
        r = class_add_property(def, "Label", CIM_STRING, false, false, &d, NULL);
        value_clear(&d);
        if (r != 0)
                return r;
        r = class_add_property(def, "Tags", CIM_STRING, true, false, NULL, NULL);
        if (r != 0)
                return r;
        r = class_add_property(def, "Inner", CIM_OBJECT, false, false, NULL, NULL);
        if (r != 0)
                return r;
        r = class_derive(def, base, &cls, NULL);
        if (r != 0)
                return r;
        r = instance_new(cls, &i);
        if (r != 0)
                return r;
        Value tags;
        r = value_array_new(CIM_STRING, 2, &tags);
        if (r != 0)
                return r;
        r = value_string("t1", &tags.arr->items[0]);
        if (r == 0)
                r = instance_set_take(i, "Tags", &tags, NULL);
        value_clear(&tags);
        if (r != 0)
                return r;
        Value o = value_object(embedded);
        r = instance_set_take(i, "Inner", &o, NULL);
        if (r != 0)
                return r;
        r = value_string("k1", &d);
        if (r != 0)
                return r;
        r = instance_set(i, "Id", &d, NULL);
        value_clear(&d);
        if (r != 0)
                return r;
        r = instance_set_namespace(i, "root/x");
        if (r != 0)
                return r;
        r = instance_clone(i, &c);
        if (r != 0)
                return r;
        _cleanup_free_ char *path = instance_path(c, "h");
        if (!path)
                return -ENOMEM;
        assert_string_equal(path, "//h/root/x:App_Derived.Id=\"k1\"");
        assert_string_equal(instance_get(c, "Label")->s, "def");
        CimClass **sys;
        size_t n;
        r = class_system_classes(&sys, &n);
        if (r != 0)
                return r;
        for (size_t k = 0; k < n; k++)
                class_unref(sys[k]);
        mem_free(sys);
        return 0;
}

static void test_alloc_failures(void **state) {
        (void)state;
        CimClass *base = make_base();
        Instance *embedded;
        assert_int_equal(instance_new(base, &embedded), 0);
        unsigned long n;
        for (n = 1;; n++) {
                mem_fail_at(n);
                int r = alloc_operation(base, embedded);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 0);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
                assert_int_equal(embedded->refcount, 1);
                assert_int_equal(base->refcount, 2);
        }
        assert_true(n > 30);
        instance_unref(embedded);
        class_unref(base);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),          cmocka_unit_test(test_class_build),
                cmocka_unit_test(test_class_derive),   cmocka_unit_test(test_system_classes),
                cmocka_unit_test(test_instances),      cmocka_unit_test(test_embedded_objects),
                cmocka_unit_test(test_keys_and_paths), cmocka_unit_test(test_alloc_failures),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
