/* Unit tests for the repository: namespaces, the class rules (inheritance,
 * every error, forced updates, cascading deletes), instances (keys and
 * types, update with the previous instance, delete, deep enumeration, paths
 * in any case and key order), a file repository reopened, the schema
 * version refusal, crash consistency under kill -9, and allocation failure
 * through class and instance writes. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "class.h"
#include "cleanup.h"
#include "instance.h"
#include "mem.h"
#include "names.h"
#include "objjson.h"
#include "repo.h"

/* ---- helpers -------------------------------------------------------------- */

static void check_status(int got, int want, const Error *err, const char *msg, int line) {
        if (got != want)
                fail_msg("line %d: got %d (%s), want %d", line, got, got > 0 ? err->message : "",
                         want);
        if (want > 0 && msg && !strstr(err->message, msg))
                fail_msg("line %d: message '%s' lacks '%s'", line, err->message, msg);
}
#define CHECK(call, want, msg)                                      \
        do {                                                        \
                Error err_ = { 0 };                                 \
                Error *err = &err_;                                 \
                check_status((call), (want), err, (msg), __LINE__); \
        } while (0)

typedef struct RepoNs {
        Repo *repo;
        const char *ns;
} RepoNs;

static int repo_resolve(void *userdata, const char *name, CimClass **ret, Error *err) {
        RepoNs *x = userdata;
        return repo_class_get(x->repo, x->ns, name, ret, err);
}

static json_t *parse(const char *text) {
        json_error_t jerr;
        json_t *j = json_loads(text, 0, &jerr);
        if (!j)
                fail_msg("bad test JSON %s: %s", text, jerr.text);
        return j;
}

static CimClass *class_def(const char *text) {
        json_t *j = parse(text);
        CimClass *def = NULL;
        Error err;
        if (objjson_class_from_json(j, NULL, NULL, &def, &err) != 0)
                fail_msg("%s: %s", text, err.message);
        json_decref(j);
        return def;
}

static int put_class(Repo *r, const char *ns, const char *text, unsigned flags, Error *err) {
        CimClass *def = class_def(text);
        int k = repo_class_put(r, ns, def, flags, NULL, err);
        class_unref(def);
        return k;
}

static Instance *make_instance(Repo *r, const char *ns, const char *text) {
        json_t *j = parse(text);
        RepoNs x = { r, ns };
        Instance *i = NULL;
        Error err;
        if (objjson_instance_from_json(j, repo_resolve, &x, &i, &err) != 0)
                fail_msg("%s: %s", text, err.message);
        json_decref(j);
        return i;
}

static int put_instance(Repo *r, const char *ns, const char *text, unsigned flags, Error *err) {
        Instance *i = make_instance(r, ns, text);
        int k = repo_instance_put(r, ns, i, flags, NULL, NULL, err);
        instance_unref(i);
        return k;
}

static bool has_class(Repo *r, const char *ns, const char *name) {
        CimClass *c = NULL;
        int k = repo_class_get(r, ns, name, &c, NULL);
        class_unref(c);
        return k == 0;
}

static bool has_instance(Repo *r, const char *ns, const char *path) {
        Instance *i = NULL;
        int k = repo_instance_get(r, ns, path, &i, NULL);
        instance_unref(i);
        return k == 0;
}

static Repo *open_memory(void) {
        Repo *r = NULL;
        Error err;
        if (repo_open(":memory:", &r, &err) != 0)
                fail_msg("repo_open: %s", err.message);
        return r;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static char *make_temp_dir(void) {
        char *dir = strdup("/tmp/lwmi-test-repo-XXXXXX");
        assert_non_null(mkdtemp(dir));
        return dir;
}

static void remove_temp_dir(char *dir) {
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
}

static const char *base_class = "{\"__CLASS\": \"App_Base\", \"properties\": {"
                                "\"Id\": {\"type\": \"uint32\", \"key\": true},"
                                "\"Name\": {\"type\": \"string\", \"default\": \"none\"}}}";
static const char *derived_class =
        "{\"__CLASS\": \"App_Derived\", \"__SUPERCLASS\": \"App_Base\", \"properties\": {"
        "\"Size\": {\"type\": \"uint64\"}}}";
static const char *leaf_class =
        "{\"__CLASS\": \"App_Leaf\", \"__SUPERCLASS\": \"App_Derived\", \"properties\": {"
        "\"Color\": {\"type\": \"string\"}}}";

static void setup_hierarchy(Repo *r, const char *ns) {
        CHECK(put_class(r, ns, base_class, 0, err), 0, NULL);
        CHECK(put_class(r, ns, derived_class, 0, err), 0, NULL);
        CHECK(put_class(r, ns, leaf_class, 0, err), 0, NULL);
}

/* ---- namespaces ----------------------------------------------------------- */

static void test_open_defaults(void **state) {
        (void)state;
        Repo *r = open_memory();
        assert_true(repo_namespace_exists(r, "root"));
        assert_true(repo_namespace_exists(r, "root/cimv2"));
        assert_true(repo_namespace_exists(r, "ROOT\\CIMV2"));
        assert_true(repo_namespace_exists(r, "root/lwmi"));
        assert_false(repo_namespace_exists(r, "root/other"));
        assert_false(repo_namespace_exists(r, "root//x"));

        char **list = NULL;
        size_t n = 0;
        CHECK(repo_namespace_list(r, "root", &list, &n, err), 0, NULL);
        assert_int_equal(n, 2);
        assert_string_equal(list[0], "root/cimv2");
        assert_string_equal(list[1], "root/lwmi");
        assert_null(list[2]);
        for (size_t k = 0; k < n; k++)
                free(list[k]);
        free(list);

        /* Every namespace has the system classes. */
        static const char *system[] = { "__SystemClass",
                                        "__Event",
                                        "__InstanceOperationEvent",
                                        "__InstanceCreationEvent",
                                        "__InstanceDeletionEvent",
                                        "__InstanceModificationEvent",
                                        "__ExtrinsicEvent" };
        for (size_t k = 0; k < ELEMENTSOF(system); k++) {
                assert_true(has_class(r, "root/lwmi", system[k]));
                assert_true(has_class(r, "root", system[k]));
        }
        CimClass **classes = NULL;
        CHECK(repo_class_enum(r, "root/cimv2", NULL, true, &classes, &n, err), 0, NULL);
        assert_int_equal(n, ELEMENTSOF(system));
        for (size_t k = 0; k < n; k++)
                class_unref(classes[k]);
        free(classes);
        CimClass *c = NULL;
        CHECK(repo_class_get(r, "root/cimv2", "__instancecreationevent", &c, err), 0, NULL);
        assert_string_equal(c->name, "__InstanceCreationEvent");
        assert_true(class_find_property(c, "TargetInstance") >= 0);
        class_unref(c);
        repo_close(r);
}

static void test_namespaces(void **state) {
        (void)state;
        Repo *r = open_memory();
        CHECK(repo_namespace_create(r, "root/apps", err), 0, NULL);
        CHECK(repo_namespace_create(r, "ROOT\\Apps\\Web", err), 0, NULL);
        CHECK(repo_namespace_create(r, "root/APPS", err), WBEM_E_ALREADY_EXISTS, "already exists");
        CHECK(repo_namespace_create(r, "root", err), WBEM_E_ALREADY_EXISTS, "already exists");
        CHECK(repo_namespace_create(r, "root/none/x", err), WBEM_E_INVALID_NAMESPACE,
              "parent namespace root/none does not exist");
        CHECK(repo_namespace_create(r, "other", err), WBEM_E_INVALID_NAMESPACE, "below root");
        CHECK(repo_namespace_create(r, "root//x", err), WBEM_E_INVALID_NAMESPACE,
              "invalid namespace name");
        CHECK(repo_namespace_create(r, "root/a b", err), WBEM_E_INVALID_NAMESPACE,
              "invalid namespace name");
        CHECK(repo_namespace_create(r, NULL, err), WBEM_E_INVALID_NAMESPACE, "no namespace");
        assert_true(repo_namespace_exists(r, "root/apps/web"));

        /* The parent keeps its spelling; the new leaf has the one given. */
        char **list = NULL;
        size_t n = 0;
        CHECK(repo_namespace_list(r, "Root/Apps", &list, &n, err), 0, NULL);
        assert_int_equal(n, 1);
        assert_string_equal(list[0], "root/apps/Web");
        free(list[0]);
        free(list);
        CHECK(repo_namespace_list(r, "root/nope", &list, NULL, err), WBEM_E_INVALID_NAMESPACE,
              "does not exist");

        /* Deleting takes children, classes and instances along. */
        setup_hierarchy(r, "root/apps/web");
        CHECK(put_instance(r, "root/apps/web", "{\"__CLASS\": \"App_Base\", \"Id\": 1}", 0, err), 0,
              NULL);
        CHECK(repo_namespace_delete(r, "root\\apps", err), 0, NULL);
        assert_false(repo_namespace_exists(r, "root/apps"));
        assert_false(repo_namespace_exists(r, "root/apps/web"));
        CHECK(repo_class_get(r, "root/apps/web", "App_Base", &(CimClass *){ NULL }, err),
              WBEM_E_INVALID_NAMESPACE, "root/apps/web does not exist");
        CHECK(repo_namespace_create(r, "root/apps", err), 0, NULL);
        CHECK(repo_namespace_create(r, "root/apps/web", err), 0, NULL);
        assert_false(has_class(r, "root/apps/web", "App_Base"));
        CHECK(repo_namespace_delete(r, "root", err), WBEM_E_INVALID_OPERATION,
              "root cannot be deleted");
        CHECK(repo_namespace_delete(r, "root/gone", err), WBEM_E_INVALID_NAMESPACE,
              "does not exist");
        /* A sibling whose name starts the same survives. */
        CHECK(repo_namespace_create(r, "root/appsx", err), 0, NULL);
        CHECK(repo_namespace_delete(r, "root/apps", err), 0, NULL);
        assert_true(repo_namespace_exists(r, "root/appsx"));
        repo_close(r);
}

/* ---- classes -------------------------------------------------------------- */

static void test_class_rules(void **state) {
        (void)state;
        Repo *r = open_memory();
        const char *ns = "root/cimv2";
        setup_hierarchy(r, ns);

        CimClass *c = NULL;
        CHECK(repo_class_get(r, ns, "APP_LEAF", &c, err), 0, NULL);
        assert_string_equal(c->name, "App_Leaf");
        assert_int_equal(c->n_props, 4);
        assert_string_equal(c->props[0].name, "Id");
        assert_true(c->props[0].is_key);
        assert_string_equal(c->props[3].name, "Color");
        assert_int_equal(c->n_derivation, 2);
        assert_string_equal(c->derivation[0], "App_Derived");
        assert_string_equal(c->derivation[1], "App_Base");
        class_unref(c);
        CHECK(repo_class_get(r, ns, "App_None", &c, err), WBEM_E_NOT_FOUND,
              "App_None does not exist");
        CHECK(repo_class_get(r, "root/none", "App_Base", &c, err), WBEM_E_INVALID_NAMESPACE,
              "does not exist");

        /* Superclass rules. */
        CHECK(put_class(r, ns, "{\"__CLASS\": \"App_X\", \"__SUPERCLASS\": \"App_Missing\"}", 0,
                        err),
              WBEM_E_INVALID_SUPERCLASS, "superclass App_Missing does not exist");
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_X\", \"__SUPERCLASS\": \"__InstanceCreationEvent\"}",
                        0, err),
              WBEM_E_INVALID_SUPERCLASS,
              "system class __InstanceCreationEvent cannot be a superclass");
        CHECK(put_class(r, ns, "{\"__CLASS\": \"App_X\", \"__SUPERCLASS\": \"__SystemClass\"}", 0,
                        err),
              WBEM_E_INVALID_SUPERCLASS, "cannot be a superclass");
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Done\", \"__SUPERCLASS\": \"__ExtrinsicEvent\", "
                        "\"properties\": "
                        "{\"Job\": {\"type\": \"uint32\"}}}",
                        0, err),
              0, NULL);
        CHECK(put_class(r, ns, "{\"__CLASS\": \"App_Done2\", \"__SUPERCLASS\": \"app_done\"}", 0,
                        err),
              0, NULL);
        CHECK(repo_class_get(r, ns, "App_Done2", &c, err), 0, NULL);
        assert_true(class_isa(c, "__Event"));
        assert_true(class_find_property(c, "TIME_CREATED") >= 0);
        class_unref(c);
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Base\", \"__SUPERCLASS\": \"App_Leaf\", "
                        "\"properties\": {"
                        "\"Id\": {\"type\": \"uint32\", \"key\": true}}}",
                        REPO_FORCE, err),
              WBEM_E_INVALID_SUPERCLASS, "derives from it");
        CHECK(put_class(r, ns, "{\"__CLASS\": \"App_Self\", \"__SUPERCLASS\": \"App_Self\"}", 0,
                        err),
              WBEM_E_INVALID_SUPERCLASS, "does not exist");

        /* System classes are not to be touched. */
        CHECK(put_class(r, ns, "{\"__CLASS\": \"__SystemClass\"}", 0, err),
              WBEM_E_INVALID_OPERATION, "system class __SystemClass cannot be changed");
        CHECK(put_class(r, ns, "{\"__CLASS\": \"__MyOwn\"}", 0, err), WBEM_E_INVALID_OPERATION,
              "system class");
        CHECK(repo_class_delete(r, ns, "__ExtrinsicEvent", REPO_DELETE_CASCADE, err),
              WBEM_E_INVALID_OPERATION, "cannot be deleted");

        /* Inheritance: no retyping, no key change, keys only on a keyless base. */
        CHECK(put_class(
                      r, ns,
                      "{\"__CLASS\": \"App_Bad\", \"__SUPERCLASS\": \"App_Base\", \"properties\": {"
                      "\"Name\": {\"type\": \"uint32\"}}}",
                      0, err),
              WBEM_E_INVALID_PROPERTY_TYPE, "Name");
        CHECK(put_class(
                      r, ns,
                      "{\"__CLASS\": \"App_Bad\", \"__SUPERCLASS\": \"App_Base\", \"properties\": {"
                      "\"Name\": {\"type\": \"string\", \"array\": true}}}",
                      0, err),
              WBEM_E_INVALID_PROPERTY_TYPE, "Name");
        CHECK(put_class(
                      r, ns,
                      "{\"__CLASS\": \"App_Bad\", \"__SUPERCLASS\": \"App_Base\", \"properties\": {"
                      "\"Name\": {\"type\": \"string\", \"key\": true}}}",
                      0, err),
              WBEM_E_INVALID_PROPERTY, "Name");
        CHECK(put_class(
                      r, ns,
                      "{\"__CLASS\": \"App_Bad\", \"__SUPERCLASS\": \"App_Base\", \"properties\": {"
                      "\"Id\": {\"type\": \"uint32\"}}}",
                      0, err),
              WBEM_E_INVALID_PROPERTY, "Id");
        CHECK(put_class(
                      r, ns,
                      "{\"__CLASS\": \"App_Bad\", \"__SUPERCLASS\": \"App_Base\", \"properties\": {"
                      "\"Id2\": {\"type\": \"uint32\", \"key\": true}}}",
                      0, err),
              WBEM_E_INVALID_PROPERTY, "Id2");
        assert_false(has_class(r, ns, "App_Bad"));
        /* Restating an inherited property to change its default is fine. */
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Good\", \"__SUPERCLASS\": \"App_Base\", "
                        "\"properties\": {"
                        "\"Name\": {\"type\": \"string\", \"default\": \"good\"}}}",
                        0, err),
              0, NULL);

        /* Create-only and update-only. */
        CHECK(put_class(r, ns, leaf_class, REPO_CREATE_ONLY, err), WBEM_E_ALREADY_EXISTS,
              "App_Leaf already exists");
        CHECK(put_class(r, ns, "{\"__CLASS\": \"App_New\"}", REPO_UPDATE_ONLY, err),
              WBEM_E_NOT_FOUND, "App_New does not exist");
        CHECK(put_class(r, ns, "{\"__CLASS\": \"App_New\"}", REPO_UPDATE_ONLY | REPO_CREATE_ONLY,
                        err),
              WBEM_E_INVALID_PARAMETER, "exclude each other");
        CHECK(repo_class_put(r, ns, NULL, 0, NULL, err), WBEM_E_INVALID_PARAMETER, "no class");

        /* Updating: identical is a no-op even with subclasses; a change to a
         * class with subclasses or instances needs force. */
        CHECK(put_class(r, ns, base_class, REPO_UPDATE_ONLY, err), 0, NULL);
        const char *base_v2 = "{\"__CLASS\": \"App_Base\", \"properties\": {"
                              "\"Id\": {\"type\": \"uint32\", \"key\": true},"
                              "\"Name\": {\"type\": \"string\", \"default\": \"none\"},"
                              "\"Note\": {\"type\": \"string\"}}}";
        CHECK(put_class(r, ns, base_v2, 0, err), WBEM_E_CLASS_HAS_CHILDREN,
              "App_Base has subclasses");
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Leaf\", \"__SUPERCLASS\": \"App_Derived\", "
                        "\"properties\": {"
                        "\"Color\": {\"type\": \"string\", \"default\": \"red\"}}}",
                        0, err),
              0, NULL); /* no subclasses, no instances */
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Leaf\", \"Id\": 1}", 0, err), 0, NULL);
        CHECK(put_class(r, ns, "{\"__CLASS\": \"App_Leaf\", \"__SUPERCLASS\": \"App_Derived\"}", 0,
                        err),
              WBEM_E_CLASS_HAS_INSTANCES, "App_Leaf has instances");

        /* A changed superclass that a subclass no longer derives from: the
         * whole forced put is refused and nothing changes. */
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Base\", \"properties\": {"
                        "\"Id\": {\"type\": \"uint32\", \"key\": true},"
                        "\"Color\": {\"type\": \"uint8\"}}}",
                        REPO_FORCE, err),
              WBEM_E_INVALID_PROPERTY_TYPE, "subclass App_Leaf: ");
        CHECK(repo_class_get(r, ns, "App_Base", &c, err), 0, NULL);
        assert_int_equal(c->n_props, 2);
        assert_string_equal(c->props[1].name, "Name");
        class_unref(c);
        assert_true(has_instance(r, ns, "App_Leaf.Id=1"));
        repo_close(r);
}

static void test_class_force_update(void **state) {
        (void)state;
        Repo *r = open_memory();
        const char *ns = "root/cimv2";
        setup_hierarchy(r, ns);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Base\", \"Id\": 1, \"Name\": \"one\"}", 0,
                           err),
              0, NULL);
        CHECK(put_instance(
                      r, ns,
                      "{\"__CLASS\": \"App_Leaf\", \"Id\": 2, \"Name\": \"two\", \"Size\": \"7\","
                      " \"Color\": \"blue\"}",
                      0, err),
              0, NULL);

        /* Name changes type to uint32 ("one" does not convert): refused. */
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Base\", \"properties\": {"
                        "\"Id\": {\"type\": \"uint32\", \"key\": true}, \"Name\": {\"type\": "
                        "\"uint32\"}}}",
                        REPO_FORCE, err),
              WBEM_E_TYPE_MISMATCH, "instance App_Base.Id=1: property 'Name': ");
        assert_true(has_instance(r, ns, "App_Base.Id=1"));

        /* Name dropped, Id widened to uint64, Note added: instances of the
         * class and its subclasses follow. */
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Base\", \"properties\": {"
                        "\"Id\": {\"type\": \"uint64\", \"key\": true},"
                        "\"Note\": {\"type\": \"string\", \"default\": \"n\"}}}",
                        REPO_FORCE, err),
              0, NULL);
        CimClass *c = NULL;
        CHECK(repo_class_get(r, ns, "App_Leaf", &c, err), 0, NULL);
        assert_int_equal(c->n_props, 4);
        assert_string_equal(c->props[0].name, "Id");
        assert_int_equal(c->props[0].type, CIM_UINT64);
        assert_string_equal(c->props[1].name, "Note");
        assert_string_equal(c->props[2].name, "Size");
        class_unref(c);
        Instance *i = NULL;
        CHECK(repo_instance_get(r, ns, "App_Leaf.Id=2", &i, err), 0, NULL);
        assert_int_equal(i->cls->n_props, 4);
        assert_int_equal(instance_get(i, "Id")->type, CIM_UINT64);
        assert_int_equal(instance_get(i, "Id")->u, 2);
        assert_string_equal(instance_get(i, "Note")->s, "n");
        assert_int_equal(instance_get(i, "Size")->u, 7);
        assert_string_equal(instance_get(i, "Color")->s, "blue");
        assert_null(instance_get(i, "Name"));
        instance_unref(i);
        assert_true(has_instance(r, ns, "App_Base.Id=1"));

        /* Keys that would collide after the change: refused. Two instances
         * keyed by Id get a new key K that they both default to 0. */
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_K\", \"properties\": {"
                        "\"Id\": {\"type\": \"uint32\", \"key\": true}}}",
                        0, err),
              0, NULL);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_K\", \"Id\": 1}", 0, err), 0, NULL);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_K\", \"Id\": 2}", 0, err), 0, NULL);
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_K\", \"properties\": {"
                        "\"Id\": {\"type\": \"uint32\"}, \"K\": {\"type\": \"uint32\", \"key\": "
                        "true, \"default\": 0}}}",
                        REPO_FORCE, err),
              WBEM_E_ALREADY_EXISTS, "same keys");
        /* A key left NULL: refused. */
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_K\", \"properties\": {"
                        "\"Id\": {\"type\": \"uint32\"}, \"K\": {\"type\": \"uint32\", \"key\": "
                        "true}}}",
                        REPO_FORCE, err),
              WBEM_E_ILLEGAL_NULL, "instance App_K.Id=1: ");
        /* Keys that change places: fine. Id becomes the non-key Old and the
         * new key Id2 ... is given by default for one instance only, so
         * delete one and rekey the other. */
        CHECK(repo_instance_delete(r, ns, "App_K.Id=2", NULL, err), 0, NULL);
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_K\", \"properties\": {"
                        "\"Id\": {\"type\": \"uint32\"}, \"K\": {\"type\": \"uint32\", \"key\": "
                        "true, \"default\": 5}}}",
                        REPO_FORCE, err),
              0, NULL);
        assert_true(has_instance(r, ns, "App_K.K=5"));
        assert_false(has_instance(r, ns, "App_K.K=1"));
        repo_close(r);
}

static void free_classes(CimClass **list, size_t n) {
        for (size_t k = 0; k < n; k++)
                class_unref(list[k]);
        free(list);
}

static void test_class_enum(void **state) {
        (void)state;
        Repo *r = open_memory();
        const char *ns = "root/cimv2";
        setup_hierarchy(r, ns);
        CHECK(put_class(r, ns, "{\"__CLASS\": \"App_Other\", \"__SUPERCLASS\": \"App_Base\"}", 0,
                        err),
              0, NULL);
        CimClass **list = NULL;
        size_t n = 0;

        CHECK(repo_class_enum(r, ns, "app_base", false, &list, &n, err), 0, NULL);
        assert_int_equal(n, 2);
        assert_string_equal(list[0]->name, "App_Derived");
        assert_string_equal(list[1]->name, "App_Other");
        free_classes(list, n);

        CHECK(repo_class_enum(r, ns, "App_Base", true, &list, &n, err), 0, NULL);
        assert_int_equal(n, 3);
        assert_string_equal(list[0]->name, "App_Derived");
        assert_string_equal(list[1]->name, "App_Leaf");
        assert_string_equal(list[2]->name, "App_Other");
        free_classes(list, n);

        CHECK(repo_class_enum(r, ns, "App_Leaf", true, &list, &n, err), 0, NULL);
        assert_int_equal(n, 0);
        free_classes(list, n);

        /* Top level: the root classes, system and user. */
        CHECK(repo_class_enum(r, ns, NULL, false, &list, &n, err), 0, NULL);
        assert_int_equal(n, 2);
        assert_string_equal(list[0]->name, "__SystemClass");
        assert_string_equal(list[1]->name, "App_Base");
        free_classes(list, n);

        CHECK(repo_class_enum(r, ns, NULL, true, &list, &n, err), 0, NULL);
        assert_int_equal(n, 7 + 4);
        free_classes(list, n);

        CHECK(repo_class_enum(r, ns, "App_Nope", false, &list, &n, err), WBEM_E_INVALID_CLASS,
              "App_Nope");
        CHECK(repo_class_enum(r, "root/nope", NULL, false, &list, &n, err),
              WBEM_E_INVALID_NAMESPACE, NULL);
        repo_close(r);
}

static void test_class_delete(void **state) {
        (void)state;
        Repo *r = open_memory();
        const char *ns = "root/cimv2";
        setup_hierarchy(r, ns);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Derived\", \"Id\": 1}", 0, err), 0, NULL);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Leaf\", \"Id\": 2}", 0, err), 0, NULL);

        CHECK(repo_class_delete(r, ns, "App_Base", 0, err), WBEM_E_CLASS_HAS_CHILDREN,
              "App_Base has subclasses");
        CHECK(repo_class_delete(r, ns, "App_Leaf", 0, err), WBEM_E_CLASS_HAS_INSTANCES,
              "App_Leaf has instances");
        CHECK(repo_class_delete(r, ns, "App_Nope", 0, err), WBEM_E_NOT_FOUND,
              "App_Nope does not exist");
        CHECK(repo_class_delete(r, ns, NULL, 0, err), WBEM_E_INVALID_PARAMETER, NULL);
        CHECK(repo_class_delete(r, "root/x", "App_Base", 0, err), WBEM_E_INVALID_NAMESPACE, NULL);
        assert_true(has_class(r, ns, "App_Leaf"));

        CHECK(repo_class_delete(r, ns, "app_derived", REPO_DELETE_CASCADE, err), 0, NULL);
        assert_false(has_class(r, ns, "App_Derived"));
        assert_false(has_class(r, ns, "App_Leaf"));
        assert_true(has_class(r, ns, "App_Base"));
        CHECK(repo_instance_get(r, ns, "App_Leaf.Id=2", &(Instance *){ NULL }, err),
              WBEM_E_INVALID_CLASS, "App_Leaf does not exist");
        /* The instances are gone for good: the same keys can be used again. */
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Base\", \"Id\": 1}", REPO_CREATE_ONLY, err),
              0, NULL);
        CHECK(put_class(r, ns, derived_class, 0, err), 0, NULL);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Derived\", \"Id\": 2}", REPO_CREATE_ONLY,
                           err),
              0, NULL);
        CHECK(repo_class_delete(r, ns, "App_Derived", 0, err), WBEM_E_CLASS_HAS_INSTANCES, NULL);
        CHECK(repo_instance_delete(r, ns, "App_Derived.Id=2", NULL, err), 0, NULL);
        CHECK(repo_class_delete(r, ns, "App_Derived", 0, err), 0, NULL);
        repo_close(r);
}

/* ---- instances ------------------------------------------------------------ */

static void test_instance_put_get(void **state) {
        (void)state;
        Repo *r = open_memory();
        const char *ns = "root/cimv2";
        setup_hierarchy(r, ns);

        Instance *i =
                make_instance(r, ns, "{\"__CLASS\": \"App_Base\", \"Id\": 1, \"Name\": \"first\"}");
        Instance *prev = (Instance *)1;
        bool created = false;
        CHECK(repo_instance_put(r, ns, i, 0, &prev, &created, err), 0, NULL);
        assert_null(prev);
        assert_true(created);
        instance_unref(i);

        i = make_instance(r, ns, "{\"__CLASS\": \"App_Base\", \"Id\": 1, \"Name\": \"second\"}");
        CHECK(repo_instance_put(r, ns, i, REPO_UPDATE_ONLY, &prev, &created, err), 0, NULL);
        assert_false(created);
        assert_non_null(prev);
        assert_string_equal(instance_get(prev, "Name")->s, "first");
        assert_string_equal(prev->ns, "root/cimv2");
        instance_unref(prev);
        CHECK(repo_instance_put(r, ns, i, REPO_CREATE_ONLY, NULL, NULL, err), WBEM_E_ALREADY_EXISTS,
              "App_Base.Id=1 already exists");
        CHECK(repo_instance_put(r, ns, i, REPO_CREATE_ONLY | REPO_UPDATE_ONLY, NULL, NULL, err),
              WBEM_E_INVALID_PARAMETER, NULL);
        instance_unref(i);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Base\", \"Id\": 9}", REPO_UPDATE_ONLY, err),
              WBEM_E_NOT_FOUND, "App_Base.Id=9 does not exist");

        Instance *got = NULL;
        CHECK(repo_instance_get(r, ns, "App_Base.Id=1", &got, err), 0, NULL);
        assert_string_equal(instance_get(got, "Name")->s, "second");
        assert_string_equal(got->ns, "root/cimv2");
        /* What get returns can be put back as it is. */
        CHECK(repo_instance_put(r, ns, got, REPO_UPDATE_ONLY, NULL, NULL, err), 0, NULL);
        instance_unref(got);

        /* Keys complete, classes that may have instances. */
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Base\", \"Name\": \"x\"}", 0, err),
              WBEM_E_ILLEGAL_NULL, "Id");
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Abstract\", \"abstract\": true, \"properties\": {"
                        "\"Id\": {\"type\": \"uint32\", \"key\": true}}}",
                        0, err),
              0, NULL);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Abstract\", \"Id\": 1}", 0, err),
              WBEM_E_INVALID_CLASS, "abstract");
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Keyless\", \"properties\": {\"V\": {\"type\": "
                        "\"uint32\"}}}",
                        0, err),
              0, NULL);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Keyless\", \"V\": 1}", 0, err),
              WBEM_E_INVALID_OBJECT, "no key");
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Event\", \"__SUPERCLASS\": \"__ExtrinsicEvent\"}", 0,
                        err),
              0, NULL);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Event\"}", 0, err), WBEM_E_INVALID_CLASS,
              "event classes are not stored");
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"__InstanceCreationEvent\"}", 0, err),
              WBEM_E_INVALID_CLASS, "system");
        CHECK(repo_instance_put(r, ns, NULL, 0, NULL, NULL, err), WBEM_E_INVALID_PARAMETER, NULL);

        /* An instance of a class of another namespace: moved onto ours by
         * name, or refused if the class here differs or is missing. */
        CHECK(put_class(r, "root/lwmi",
                        "{\"__CLASS\": \"App_Base\", \"properties\": {"
                        "\"Id\": {\"type\": \"uint32\", \"key\": true}}}",
                        0, err),
              0, NULL);
        i = make_instance(r, "root/lwmi", "{\"__CLASS\": \"App_Base\", \"Id\": 5}");
        CHECK(repo_instance_put(r, ns, i, 0, NULL, NULL, err), 0, NULL);
        instance_unref(i);
        assert_true(has_instance(r, ns, "App_Base.Id=5"));
        i = make_instance(r, ns, "{\"__CLASS\": \"App_Leaf\", \"Id\": 6}");
        CHECK(repo_instance_put(r, "root/lwmi", i, 0, NULL, NULL, err), WBEM_E_INVALID_CLASS,
              "App_Leaf does not exist in namespace root/lwmi");
        instance_unref(i);
        i = make_instance(r, ns, "{\"__CLASS\": \"App_Base\", \"Id\": 6}");
        CHECK(repo_instance_put(r, "root/lwmi", i, 0, NULL, NULL, err), WBEM_E_INVALID_PROPERTY,
              "has no property 'Name'");
        CHECK(repo_instance_put(r, "root/x", i, 0, NULL, NULL, err), WBEM_E_INVALID_NAMESPACE,
              NULL);
        instance_unref(i);

        /* Delete returns what was deleted. */
        Instance *gone = NULL;
        CHECK(repo_instance_delete(r, ns, "app_base.ID=1", &gone, err), 0, NULL);
        assert_string_equal(instance_get(gone, "Name")->s, "second");
        instance_unref(gone);
        CHECK(repo_instance_delete(r, ns, "App_Base.Id=1", &gone, err), WBEM_E_NOT_FOUND,
              "does not exist");
        CHECK(repo_instance_get(r, ns, "App_Base.Id=1", &got, err), WBEM_E_NOT_FOUND, NULL);
        CHECK(repo_instance_delete(r, ns, "App_Base.Id=", NULL, err), WBEM_E_INVALID_OBJECT_PATH,
              NULL);
        repo_close(r);
}

static void test_instance_paths(void **state) {
        (void)state;
        Repo *r = open_memory();
        const char *ns = "root/cimv2";
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Two\", \"properties\": {"
                        "\"Host\": {\"type\": \"string\", \"key\": true},"
                        "\"Port\": {\"type\": \"uint16\", \"key\": true},"
                        "\"Up\": {\"type\": \"boolean\"}}}",
                        0, err),
              0, NULL);
        CHECK(put_instance(r, ns,
                           "{\"__CLASS\": \"App_Two\", \"Host\": \"a\\\"b\", \"Port\": 80, \"Up\": "
                           "true}",
                           0, err),
              0, NULL);
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Cfg\", \"singleton\": true, \"properties\": {"
                        "\"Level\": {\"type\": \"uint8\"}}}",
                        0, err),
              0, NULL);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Cfg\", \"Level\": 3}", 0, err), 0, NULL);
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_One\", \"properties\": {"
                        "\"When\": {\"type\": \"datetime\", \"key\": true}}}",
                        0, err),
              0, NULL);
        CHECK(put_instance(r, ns,
                           "{\"__CLASS\": \"App_One\", \"When\": \"20260101120000.000000+060\"}", 0,
                           err),
              0, NULL);

        /* Any case, any key order, namespaces in either spelling, numbers
         * as written. */
        static const char *found[] = {
                "App_Two.Host=\"a\\\"b\",Port=80",
                "app_two.port=80,HOST=\"a\\\"b\"",
                "APP_TWO.Port=\"80\",Host=\"a\\\"b\"",
                "root/cimv2:App_Two.Port=80,Host=\"a\\\"b\"",
                "\\\\.\\ROOT\\CIMV2:App_Two.Port=80,Host=\"a\\\"b\"",
                "//server/root/cimv2:App_Two.Port=80,Host=\"a\\\"b\"",
                "App_Cfg=@",
                "app_cfg=@",
                "App_One=\"20260101110000.000000+000\"", /* the same instant */
                "App_One.When=\"20260101120000.000000+060\"",
        };
        for (size_t k = 0; k < ELEMENTSOF(found); k++)
                if (!has_instance(r, ns, found[k]))
                        fail_msg("not found: %s", found[k]);

        Instance *i = NULL;
        CHECK(repo_instance_get(r, ns, "App_Two.Host=\"a\",Port=80", &i, err), WBEM_E_NOT_FOUND,
              "does not exist");
        CHECK(repo_instance_get(r, ns, "App_Two.Host=\"A\\\"B\",Port=80", &i, err),
              WBEM_E_NOT_FOUND, NULL);
        CHECK(repo_instance_get(r, ns, "App_Two.Host=\"a\\\"b\"", &i, err),
              WBEM_E_INVALID_OBJECT_PATH, "lacks key Port");
        CHECK(repo_instance_get(r, ns, "App_Two.Host=\"x\",Port=80,Up=TRUE", &i, err),
              WBEM_E_INVALID_OBJECT_PATH, "Up is not a key of class App_Two");
        CHECK(repo_instance_get(r, ns, "App_Two.Host=\"x\",Port=80,Nope=1", &i, err),
              WBEM_E_INVALID_OBJECT_PATH, "Nope is not a key");
        CHECK(repo_instance_get(r, ns, "App_Two.Host=\"x\",Port=80,port=81", &i, err),
              WBEM_E_INVALID_OBJECT_PATH, "duplicate key");
        CHECK(repo_instance_get(r, ns, "App_Two.Host=\"x\",Port=70000", &i, err),
              WBEM_E_INVALID_OBJECT_PATH, "key Port: ");
        CHECK(repo_instance_get(r, ns, "App_Two.Host=\"x\",Port=\"http\"", &i, err),
              WBEM_E_INVALID_OBJECT_PATH, "key Port: ");
        CHECK(repo_instance_get(r, ns, "App_Two=\"x\"", &i, err), WBEM_E_INVALID_OBJECT_PATH,
              "exactly one key");
        CHECK(repo_instance_get(r, ns, "App_Two", &i, err), WBEM_E_INVALID_OBJECT_PATH,
              "names class App_Two, not an instance");
        CHECK(repo_instance_get(r, ns, "App_Two.", &i, err), WBEM_E_INVALID_OBJECT_PATH, NULL);
        CHECK(repo_instance_get(r, ns, "App_Two=@", &i, err), WBEM_E_INVALID_OBJECT_PATH,
              "not a singleton");
        CHECK(repo_instance_get(r, ns, "App_Cfg.Level=3", &i, err), WBEM_E_INVALID_OBJECT_PATH,
              "App_Cfg is a singleton");
        CHECK(repo_instance_get(r, ns, "root/lwmi:App_Cfg=@", &i, err), WBEM_E_INVALID_OBJECT_PATH,
              "names namespace root/lwmi, not root/cimv2");
        CHECK(repo_instance_get(r, ns, "App_Nope.X=1", &i, err), WBEM_E_INVALID_CLASS,
              "App_Nope does not exist");
        CHECK(repo_instance_get(r, ns, NULL, &i, err), WBEM_E_INVALID_OBJECT_PATH, NULL);
        CHECK(repo_instance_get(r, "root/none", "App_Cfg=@", &i, err), WBEM_E_INVALID_NAMESPACE,
              NULL);
        CHECK(repo_instance_get(r, ns, "App_One=\"2026\"", &i, err), WBEM_E_INVALID_OBJECT_PATH,
              "key When: ");

        /* The singleton updates in place. */
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Cfg\", \"Level\": 4}", REPO_UPDATE_ONLY,
                           err),
              0, NULL);
        CHECK(repo_instance_get(r, ns, "App_Cfg=@", &i, err), 0, NULL);
        assert_int_equal(instance_get(i, "Level")->u, 4);
        instance_unref(i);
        repo_close(r);
}

static void test_instance_key_space(void **state) {
        (void)state;
        Repo *r = open_memory();
        const char *ns = "root/cimv2";
        setup_hierarchy(r, ns);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Base\", \"Id\": 1}", 0, err), 0, NULL);
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Leaf\", \"Id\": 2, \"Color\": \"red\"}", 0,
                           err),
              0, NULL);

        /* A subclass instance is found through its superclasses' paths. */
        Instance *i = NULL;
        CHECK(repo_instance_get(r, ns, "App_Base.Id=2", &i, err), 0, NULL);
        assert_string_equal(i->cls->name, "App_Leaf");
        assert_string_equal(instance_get(i, "Color")->s, "red");
        instance_unref(i);
        assert_true(has_instance(r, ns, "App_Derived.Id=2"));
        /* But a superclass instance is not one of the subclass. */
        CHECK(repo_instance_get(r, ns, "App_Derived.Id=1", &i, err), WBEM_E_NOT_FOUND, NULL);
        CHECK(repo_instance_delete(r, ns, "App_Leaf.Id=1", NULL, err), WBEM_E_NOT_FOUND, NULL);
        /* The keys are one space: another class cannot take them over. */
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Derived\", \"Id\": 1}", 0, err),
              WBEM_E_ALREADY_EXISTS, "an instance of class App_Base with the same keys exists");
        CHECK(put_instance(r, ns, "{\"__CLASS\": \"App_Base\", \"Id\": 2}", 0, err),
              WBEM_E_ALREADY_EXISTS, "App_Leaf");
        /* Deleting through the superclass path. */
        CHECK(repo_instance_delete(r, ns, "App_Base.Id=2", NULL, err), 0, NULL);
        assert_false(has_instance(r, ns, "App_Leaf.Id=2"));
        repo_close(r);
}

static void test_instance_values(void **state) {
        (void)state;
        Repo *r = open_memory();
        const char *ns = "root/cimv2";
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_Inner\", \"properties\": {"
                        "\"Name\": {\"type\": \"string\", \"key\": true}, \"V\": {\"type\": "
                        "\"real32\"}}}",
                        0, err),
              0, NULL);
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"App_All\", \"properties\": {"
                        "\"Id\": {\"type\": \"sint64\", \"key\": true},"
                        "\"S\": {\"type\": \"string\"}, \"B\": {\"type\": \"boolean\"},"
                        "\"I8\": {\"type\": \"sint8\"}, \"U8\": {\"type\": \"uint8\"},"
                        "\"I16\": {\"type\": \"sint16\"}, \"U16\": {\"type\": \"uint16\"},"
                        "\"I32\": {\"type\": \"sint32\"}, \"U32\": {\"type\": \"uint32\"},"
                        "\"I64\": {\"type\": \"sint64\"}, \"U64\": {\"type\": \"uint64\"},"
                        "\"R32\": {\"type\": \"real32\"}, \"R64\": {\"type\": \"real64\"},"
                        "\"DT\": {\"type\": \"datetime\"}, \"Iv\": {\"type\": \"datetime\"},"
                        "\"Ref\": {\"type\": \"reference\"}, \"Obj\": {\"type\": \"object\"},"
                        "\"AU64\": {\"type\": \"uint64\", \"array\": true},"
                        "\"AS\": {\"type\": \"string\", \"array\": true},"
                        "\"AE\": {\"type\": \"sint8\", \"array\": true},"
                        "\"AN\": {\"type\": \"sint8\", \"array\": true},"
                        "\"Nul\": {\"type\": \"uint32\", \"default\": 5}}}",
                        0, err),
              0, NULL);
        const char *text =
                "{\"__CLASS\": \"App_All\", \"Id\": \"-9223372036854775808\", \"S\": "
                "\"\\u00e9\\\"\\\\\\n\","
                " \"B\": false, \"I8\": -128, \"U8\": 255, \"I16\": -32768, \"U16\": 65535,"
                " \"I32\": -2147483648, \"U32\": 4294967295, \"I64\": \"9223372036854775807\","
                " \"U64\": \"18446744073709551615\", \"R32\": 0.1, \"R64\": "
                "-1.7976931348623157e308,"
                " \"DT\": \"20261126083000.123456-300\", \"Iv\": \"99999999235959.999999:000\","
                " \"Ref\": \"App_Inner.Name=\\\"x\\\"\","
                " \"Obj\": {\"__CLASS\": \"App_Inner\", \"Name\": \"in\", \"V\": 2.5},"
                " \"AU64\": [\"0\", null, \"18446744073709551615\"], \"AS\": [\"\", \"x\"], "
                "\"AE\": [],"
                " \"AN\": null, \"Nul\": null}";
        Instance *in = make_instance(r, ns, text);
        CHECK(repo_instance_put(r, ns, in, 0, NULL, NULL, err), 0, NULL);
        Instance *out = NULL;
        CHECK(repo_instance_get(r, ns, "App_All.Id=-9223372036854775808", &out, err), 0, NULL);
        assert_int_equal(in->cls->n_props, out->cls->n_props);
        for (size_t k = 0; k < in->cls->n_props; k++) {
                const Value *a = &in->values[k], *b = &out->values[k];
                if (a->type == CIM_OBJECT) {
                        assert_true(value_equal(&a->obj->values[0], &b->obj->values[0]));
                        assert_true(value_equal(&a->obj->values[1], &b->obj->values[1]));
                        continue;
                }
                if (!value_equal(a, b))
                        fail_msg("property %s differs", in->cls->props[k].name);
        }
        assert_true(instance_get(out, "Nul")->is_null);
        assert_false(instance_get(out, "AE")->is_null);
        assert_true(instance_get(out, "AN")->is_null);
        instance_unref(in);
        instance_unref(out);
        repo_close(r);
}

typedef struct EnumState {
        size_t count;
        size_t stop_at;
        Repo *repo;
        bool write;
        uint64_t id_sum;
} EnumState;

/* A stored instance embeds an object whose class later changes or goes:
 * the instance stays readable and deletable (the embedded object is read as
 * far as its class still fits it). */
static void test_embedded_class_changes(void **state) {
        (void)state;
        Repo *r = open_memory();
        const char *ns = "root/cimv2";
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"Emb_Inner\", \"properties\": {"
                        "\"A\": {\"type\": \"uint32\"}, \"B\": {\"type\": \"string\"},"
                        "\"C\": {\"type\": \"string\"}}}",
                        0, err),
              0, NULL);
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"Emb_Outer\", \"properties\": {"
                        "\"Id\": {\"type\": \"uint32\", \"key\": true},"
                        "\"Obj\": {\"type\": \"object\"}}}",
                        0, err),
              0, NULL);
        CHECK(put_instance(r, ns,
                           "{\"__CLASS\": \"Emb_Outer\", \"Id\": 1, \"Obj\": {\"__CLASS\": "
                           "\"Emb_Inner\", \"A\": 7, \"B\": \"gone soon\", \"C\": \"kept\"}}",
                           0, err),
              0, NULL);
        CHECK(put_instance(r, ns,
                           "{\"__CLASS\": \"Emb_Outer\", \"Id\": 2, \"Obj\": {\"__CLASS\": "
                           "\"Emb_Inner\", \"C\": \"x\"}}",
                           0, err),
              0, NULL);

        /* B removed, A retyped to a type its stored value does not convert to */
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"Emb_Inner\", \"properties\": {"
                        "\"A\": {\"type\": \"datetime\"}, \"C\": {\"type\": \"string\"}}}",
                        0, err),
              0, NULL);
        Instance *i = NULL;
        CHECK(repo_instance_get(r, ns, "Emb_Outer.Id=1", &i, err), 0, NULL);
        const Value *obj = instance_get(i, "Obj");
        assert_non_null(obj);
        assert_false(obj->is_null);
        assert_null(instance_get(obj->obj, "B"));
        assert_true(instance_get(obj->obj, "A")->is_null);
        assert_string_equal(instance_get(obj->obj, "C")->s, "kept");
        instance_unref(i);

        /* the embedded class deleted: the object reads as NULL */
        CHECK(repo_class_delete(r, ns, "Emb_Inner", 0, err), 0, NULL);
        CHECK(repo_instance_get(r, ns, "Emb_Outer.Id=1", &i, err), 0, NULL);
        assert_true(instance_get(i, "Obj")->is_null);
        instance_unref(i);
        CHECK(repo_instance_delete(r, ns, "Emb_Outer.Id=2", NULL, err), 0, NULL);
        assert_false(has_instance(r, ns, "Emb_Outer.Id=2"));

        /* values given by a client are still read strictly */
        CHECK(put_class(r, ns,
                        "{\"__CLASS\": \"Emb_Inner\", \"properties\": {"
                        "\"A\": {\"type\": \"uint32\"}}}",
                        0, err),
              0, NULL);
        json_t *j = parse("{\"__CLASS\": \"Emb_Outer\", \"Id\": 3, \"Obj\": {\"__CLASS\": "
                          "\"Emb_Inner\", \"Nope\": 1}}");
        RepoNs x = { r, ns };
        CHECK(objjson_instance_from_json(j, repo_resolve, &x, &i, err), WBEM_E_INVALID_PROPERTY,
              "no property 'Nope'");
        json_decref(j);
        repo_close(r);
}

static int enum_count(Instance *i, void *userdata) {
        EnumState *s = userdata;
        s->count++;
        s->id_sum += instance_get(i, "Id")->u;
        if (s->write) {
                /* Writing from the callback: no transaction is open. */
                char text[128];
                snprintf(text, sizeof(text), "{\"__CLASS\": \"App_Base\", \"Id\": %zu}",
                         100000 + s->count);
                Error err;
                if (put_instance(s->repo, "root/cimv2", text, 0, &err) != 0)
                        return -EIO;
        }
        if (s->stop_at && s->count == s->stop_at)
                return 42;
        return 0;
}

static void test_instance_enum(void **state) {
        (void)state;
        Repo *r = open_memory();
        const char *ns = "root/cimv2";
        setup_hierarchy(r, ns);
        char text[128];
        /* More than one chunk of each. */
        for (unsigned k = 1; k <= 300; k++) {
                const char *cls = k % 3 == 0 ? "App_Base" : k % 3 == 1 ? "App_Derived" : "App_Leaf";
                snprintf(text, sizeof(text), "{\"__CLASS\": \"%s\", \"Id\": %u}", cls, k);
                CHECK(put_instance(r, ns, text, 0, err), 0, NULL);
        }
        EnumState s = { 0 };
        CHECK(repo_instance_enum(r, ns, "App_Base", false, enum_count, &s, err), 0, NULL);
        assert_int_equal(s.count, 100);
        s = (EnumState){ 0 };
        CHECK(repo_instance_enum(r, ns, "app_base", true, enum_count, &s, err), 0, NULL);
        assert_int_equal(s.count, 300);
        assert_int_equal(s.id_sum, 300 * 301 / 2);
        s = (EnumState){ 0 };
        CHECK(repo_instance_enum(r, ns, "App_Derived", true, enum_count, &s, err), 0, NULL);
        assert_int_equal(s.count, 200);
        s = (EnumState){ 0 };
        CHECK(repo_instance_enum(r, ns, "App_Leaf", false, enum_count, &s, err), 0, NULL);
        assert_int_equal(s.count, 100);
        s = (EnumState){ 0 };
        CHECK(repo_instance_enum(r, ns, "__SystemClass", true, enum_count, &s, err), 0, NULL);
        assert_int_equal(s.count, 0);

        /* The callback stops it and its value comes back. */
        s = (EnumState){ .stop_at = 150 };
        CHECK(repo_instance_enum(r, ns, "App_Base", true, enum_count, &s, err), 42, NULL);
        assert_int_equal(s.count, 150);

        /* The callback may write. */
        s = (EnumState){ .repo = r, .write = true };
        CHECK(repo_instance_enum(r, ns, "App_Leaf", false, enum_count, &s, err), 0, NULL);
        assert_int_equal(s.count, 100);
        s = (EnumState){ 0 };
        CHECK(repo_instance_enum(r, ns, "App_Base", false, enum_count, &s, err), 0, NULL);
        assert_int_equal(s.count, 200);

        CHECK(repo_instance_enum(r, ns, "App_Nope", true, enum_count, &s, err),
              WBEM_E_INVALID_CLASS, "App_Nope");
        CHECK(repo_instance_enum(r, ns, NULL, true, enum_count, &s, err), WBEM_E_INVALID_PARAMETER,
              NULL);
        CHECK(repo_instance_enum(r, "root/none", "App_Base", true, enum_count, &s, err),
              WBEM_E_INVALID_NAMESPACE, NULL);
        repo_close(r);
}

/* ---- files ---------------------------------------------------------------- */

static int sql_exec(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        int rc = sqlite3_open(path, &db);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_close(db);
        return rc;
}

static char *integrity_check(const char *path) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        char *result = NULL;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
                         SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
                result = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return result;
}

static void test_reopen(void **state) {
        (void)state;
        char *dir = make_temp_dir();
        char path[512];
        snprintf(path, sizeof(path), "%s/state/lwmi/repository.db", dir);
        Repo *r = NULL;
        CHECK(repo_open(path, &r, err), 0, NULL);
        struct stat st;
        char parent[512];
        snprintf(parent, sizeof(parent), "%s/state/lwmi", dir);
        assert_int_equal(stat(parent, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);

        CHECK(repo_namespace_create(r, "root/Apps", err), 0, NULL);
        setup_hierarchy(r, "root/apps");
        CHECK(put_instance(r, "root/apps",
                           "{\"__CLASS\": \"App_Leaf\", \"Id\": 4, \"Color\": \"red\","
                           " \"Size\": \"18446744073709551615\"}",
                           0, err),
              0, NULL);
        /* The log is copied into the file on request. */
        char wal[600];
        snprintf(wal, sizeof(wal), "%s-wal", path);
        assert_int_equal(stat(wal, &st), 0);
        assert_true(st.st_size > 0);
        CHECK(repo_checkpoint(r, err), 0, NULL);
        CHECK(repo_checkpoint(r, err), 0, NULL);
        repo_close(r);

        CHECK(repo_open(path, &r, err), 0, NULL);
        CHECK(repo_checkpoint(r, err), 0, NULL);
        assert_true(repo_namespace_exists(r, "ROOT/APPS"));
        assert_true(repo_namespace_exists(r, "root/lwmi"));
        CimClass *c = NULL;
        CHECK(repo_class_get(r, "root/apps", "App_Leaf", &c, err), 0, NULL);
        assert_int_equal(c->n_props, 4);
        class_unref(c);
        Instance *i = NULL;
        CHECK(repo_instance_get(r, "root/apps", "App_Base.Id=4", &i, err), 0, NULL);
        assert_string_equal(instance_get(i, "Color")->s, "red");
        assert_int_equal(instance_get(i, "Size")->u, UINT64_MAX);
        assert_string_equal(instance_get(i, "Name")->s, "none");
        instance_unref(i);
        repo_close(r);

        char *ok = integrity_check(path);
        assert_string_equal(ok, "ok");
        free(ok);
        remove_temp_dir(dir);
}

static void test_refusals(void **state) {
        (void)state;
        char *dir = make_temp_dir();
        char path[512];
        snprintf(path, sizeof(path), "%s/repository.db", dir);
        Repo *r = NULL;
        CHECK(repo_open(path, &r, err), 0, NULL);
        r = repo_close(r);

        /* A newer schema version: refused, naming both versions. */
        assert_int_equal(sql_exec(path, "PRAGMA user_version = 99"), SQLITE_OK);
        CHECK(repo_open(path, &r, err), WBEM_E_REPOSITORY_VERSION, "schema version 99");
        CHECK(repo_open(path, &r, err), WBEM_E_REPOSITORY_VERSION, "versions up to 1");
        assert_null(r);

        /* Not a database at all. */
        snprintf(path, sizeof(path), "%s/garbage.db", dir);
        FILE *f = fopen(path, "w");
        for (int k = 0; k < 200; k++)
                fputs("this is not a database file\n", f);
        fclose(f);
        CHECK(repo_open(path, &r, err), WBEM_E_FAILED, "not a SQLite database");

        /* A database of something else. */
        snprintf(path, sizeof(path), "%s/other.db", dir);
        assert_int_equal(sql_exec(path, "CREATE TABLE t (x)"), SQLITE_OK);
        CHECK(repo_open(path, &r, err), WBEM_E_FAILED, "another kind");
        snprintf(path, sizeof(path), "%s/other2.db", dir);
        assert_int_equal(sql_exec(path, "PRAGMA user_version = 1"), SQLITE_OK);
        CHECK(repo_open(path, &r, err), WBEM_E_FAILED, "another kind");

        /* A directory that cannot be made. */
        snprintf(path, sizeof(path), "%s/garbage.db/sub/repository.db", dir);
        CHECK(repo_open(path, &r, err), WBEM_E_FAILED, "cannot create directory");
        CHECK(repo_open("", &r, err), WBEM_E_INVALID_PARAMETER, NULL);
        CHECK(repo_open(NULL, &r, err), WBEM_E_INVALID_PARAMETER, NULL);
        remove_temp_dir(dir);
}

/* The rules for a user other than root; 0 when all hold, else the number
 * of the one that failed (run in a child, so no cmocka asserts). */
static int default_path_user_rules(void) {
        char *p = NULL;
        setenv("XDG_STATE_HOME", "/x/state", 1);
        if (repo_default_path(&p) != 0 || strcmp(p, "/x/state/lwmi/repository.db") != 0)
                return 1;
        free(p);
        setenv("XDG_STATE_HOME", "relative", 1);
        setenv("HOME", "/home/u", 1);
        if (repo_default_path(&p) != 0 || strcmp(p, "/home/u/.local/state/lwmi/repository.db") != 0)
                return 2;
        free(p);
        unsetenv("XDG_STATE_HOME");
        if (repo_default_path(&p) != 0 || strcmp(p, "/home/u/.local/state/lwmi/repository.db") != 0)
                return 3;
        free(p);
        unsetenv("HOME");
        p = NULL;
        if (repo_default_path(&p) != -ENOENT || p)
                return 4;
        return 0;
}

static void test_default_path(void **state) {
        (void)state;
        if (geteuid() != 0) {
                /* In a child: the environment is changed on the way. */
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0)
                        _exit(default_path_user_rules());
                int status = 0;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
                return;
        }
        char *p = NULL;
        assert_int_equal(repo_default_path(&p), 0);
        assert_string_equal(p, "/var/lib/lwmi/repository.db");
        free(p);
        /* And as another user, in a child that drops root. */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (setgid(65534) != 0 || setuid(65534) != 0)
                        _exit(99);
                _exit(default_path_user_rules());
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != 99) /* 99: could not drop root here */
                assert_int_equal(WEXITSTATUS(status), 0);
}

/* Damage the file behind the repository's back: each kind is reported, the
 * namespace that holds it says so, and nothing crashes. */
static void test_damaged_file(void **state) {
        (void)state;
        char *dir = make_temp_dir();
        char path[512];
        snprintf(path, sizeof(path), "%s/repository.db", dir);
        Repo *r = NULL;
        CHECK(repo_open(path, &r, err), 0, NULL);
        CHECK(repo_namespace_create(r, "root/a", err), 0, NULL);
        CHECK(repo_namespace_create(r, "root/b", err), 0, NULL);
        CHECK(repo_namespace_create(r, "root/c", err), 0, NULL);
        setup_hierarchy(r, "root/a");
        setup_hierarchy(r, "root/b");
        setup_hierarchy(r, "root/c");
        CHECK(put_instance(r, "root/c", "{\"__CLASS\": \"App_Base\", \"Id\": 1}", 0, err), 0, NULL);
        CHECK(put_instance(r, "root/c", "{\"__CLASS\": \"App_Base\", \"Id\": 2}", 0, err), 0, NULL);
        r = repo_close(r);

        /* root/a: a definition that is not JSON; root/b: a class whose
         * superclass row is gone; root/c: instances that are not JSON or do
         * not fit their class. */
        assert_int_equal(
                sql_exec(
                        path,
                        "UPDATE classes SET definition = '{bad' WHERE name = 'App_Leaf' AND ns_id ="
                        " (SELECT id FROM namespaces WHERE name = 'root/a');"
                        "DELETE FROM classes WHERE name = 'App_Derived' AND ns_id ="
                        " (SELECT id FROM namespaces WHERE name = 'root/b');"
                        "UPDATE instances SET data = 'nope' WHERE path_key = 'app_base.id=1';"
                        "UPDATE instances SET data = '{\"__CLASS\": \"App_Base\", \"Id\": 2,"
                        " \"Gone\": 1}' WHERE path_key = 'app_base.id=2';"),
                SQLITE_OK);
        CHECK(repo_open(path, &r, err), 0, NULL);
        CimClass *c = NULL;
        CHECK(repo_class_get(r, "root/a", "App_Base", &c, err), WBEM_E_FAILED, "not valid JSON");
        CHECK(repo_class_get(r, "root/b", "App_Base", &c, err), WBEM_E_FAILED,
              "stored class App_Leaf: superclass App_Derived is missing");
        CHECK(repo_class_get(r, "root/c", "App_Base", &c, err), 0, NULL);
        class_unref(c);
        Instance *i = NULL;
        CHECK(repo_instance_get(r, "root/c", "App_Base.Id=1", &i, err), WBEM_E_FAILED,
              "root/c: stored instance: stored data is not valid JSON");
        CHECK(repo_instance_get(r, "root/c", "App_Base.Id=2", &i, err), WBEM_E_INVALID_PROPERTY,
              "stored instance: class App_Base has no property 'Gone'");
        EnumState s = { 0 };
        CHECK(repo_instance_enum(r, "root/c", "App_Base", true, enum_count, &s, err), WBEM_E_FAILED,
              "not valid JSON");
        r = repo_close(r);

        /* No root namespace at all. */
        assert_int_equal(sql_exec(path, "DELETE FROM namespaces WHERE name = 'root'"), SQLITE_OK);
        CHECK(repo_open(path, &r, err), WBEM_E_FAILED, "has no root namespace");
        remove_temp_dir(dir);
}

static int enum_delete_namespace(Instance *i, void *userdata) {
        (void)i;
        EnumState *s = userdata;
        if (s->count++ == 0 && repo_namespace_delete(s->repo, "root/gone", NULL) != 0)
                return -EIO;
        return 0;
}

static void test_enum_namespace_deleted(void **state) {
        (void)state;
        Repo *r = open_memory();
        CHECK(repo_namespace_create(r, "root/gone", err), 0, NULL);
        setup_hierarchy(r, "root/gone");
        for (unsigned k = 1; k <= 300; k++) {
                char text[96];
                snprintf(text, sizeof(text), "{\"__CLASS\": \"App_Base\", \"Id\": %u}", k);
                CHECK(put_instance(r, "root/gone", text, 0, err), 0, NULL);
        }
        /* The callback deletes the namespace under the enumeration: the
         * chunk in hand is delivered, then it ends. */
        EnumState s = { .repo = r };
        CHECK(repo_instance_enum(r, "root/gone", "App_Base", true, enum_delete_namespace, &s, err),
              0, NULL);
        assert_int_equal(s.count, 128);
        assert_false(repo_namespace_exists(r, "root/gone"));
        repo_close(r);
}

/* ---- crash consistency ---------------------------------------------------- */

#define CRASH_ITEMS 1000
#define CRASH_ROUNDS 6

static uint64_t crash_sum(uint32_t id, const char *payload, uint64_t counter) {
        char buf[512];
        snprintf(buf, sizeof(buf), "%" PRIu32 "|%s|%" PRIu64, id, payload, counter);
        uint64_t h = 14695981039346656037u;
        for (const char *p = buf; *p; p++)
                h = (h ^ (unsigned char)*p) * 1099511628211u;
        return h;
}

static int crash_put(Repo *r, const char *cls_name, uint32_t id, uint64_t counter, unsigned *seed) {
        CimClass *cls = NULL;
        Instance *i = NULL;
        char payload[201];
        size_t len = (size_t)(rand_r(seed) % 200);
        for (size_t k = 0; k < len; k++)
                payload[k] = (char)('a' + rand_r(seed) % 26);
        payload[len] = '\0';
        int k = repo_class_get(r, "root/cimv2", cls_name, &cls, NULL);
        if (k == 0)
                k = instance_new(cls, &i);
        Value v;
        if (k == 0) {
                v = value_uint(CIM_UINT32, id);
                k = instance_set(i, "Id", &v, NULL);
        }
        if (k == 0 && (k = value_string(payload, &v)) == 0)
                k = instance_set_take(i, "Payload", &v, NULL);
        if (k == 0) {
                v = value_uint(CIM_UINT64, counter);
                k = instance_set(i, "Counter", &v, NULL);
        }
        if (k == 0) {
                v = value_uint(CIM_UINT64, crash_sum(id, payload, counter));
                k = instance_set(i, "Sum", &v, NULL);
        }
        if (k == 0)
                k = repo_instance_put(r, "root/cimv2", i, 0, NULL, NULL, NULL);
        instance_unref(i);
        class_unref(cls);
        return k;
}

static const char *crash_class_v1 = "{\"__CLASS\": \"Crash_Item\", \"properties\": {"
                                    "\"Id\": {\"type\": \"uint32\", \"key\": true},"
                                    "\"Payload\": {\"type\": \"string\"},"
                                    "\"Counter\": {\"type\": \"uint64\"},"
                                    "\"Sum\": {\"type\": \"uint64\"}}}";
static const char *crash_class_v2 = "{\"__CLASS\": \"Crash_Item\", \"properties\": {"
                                    "\"Id\": {\"type\": \"uint32\", \"key\": true},"
                                    "\"Extra\": {\"type\": \"string\", \"default\": \"e\"},"
                                    "\"Payload\": {\"type\": \"string\"},"
                                    "\"Counter\": {\"type\": \"uint64\"},"
                                    "\"Sum\": {\"type\": \"uint64\"}}}";
static const char *crash_sub = "{\"__CLASS\": \"Crash_Sub\", \"__SUPERCLASS\": \"Crash_Item\"}";

/* The child: writes until killed. Never returns. */
/* The writer: puts, reshapes and deletes until killed. After its first
 * committed write it writes a byte to ready_fd, so the parent's random
 * delay starts from a writer known to be writing (a loaded machine may take
 * long to start it). */
static void crash_child(const char *path, unsigned round, int ready_fd) {
        unsigned seed = (unsigned)getpid() * 7919u + round;
        Repo *r = NULL;
        if (repo_open(path, &r, NULL) != 0)
                _exit(3);
        for (uint64_t it = 1;; it++) {
                uint64_t counter = (uint64_t)(round + 1) * 1000000000u + it;
                if (crash_put(r, "Crash_Item", (uint32_t)(rand_r(&seed) % CRASH_ITEMS), counter,
                              &seed) != 0)
                        _exit(4);
                if (it == 1 && (write(ready_fd, "w", 1) != 1 || close(ready_fd) != 0))
                        _exit(9);
                if (it % 150 == 0) {
                        /* One big transaction: every instance reshaped. */
                        CimClass *def = class_def(it % 300 == 0 ? crash_class_v1 : crash_class_v2);
                        int k = repo_class_put(r, "root/cimv2", def, REPO_FORCE, NULL, NULL);
                        class_unref(def);
                        if (k != 0)
                                _exit(5);
                }
                if (it % 40 == 0) {
                        /* Another: a subclass and its instances, deleted at once. */
                        int d = repo_class_delete(r, "root/cimv2", "Crash_Sub", REPO_DELETE_CASCADE,
                                                  NULL);
                        if (d != 0 && d != WBEM_E_NOT_FOUND) /* a kill between delete and put */
                                _exit(6);
                        CimClass *def = class_def(crash_sub);
                        int k = repo_class_put(r, "root/cimv2", def, 0, NULL, NULL);
                        class_unref(def);
                        for (uint32_t s = 0; k == 0 && s < 20; s++)
                                k = crash_put(r, "Crash_Sub", CRASH_ITEMS + s, counter, &seed);
                        if (k != 0)
                                _exit(7);
                }
                if (it % 7 == 0) {
                        char p[64];
                        snprintf(p, sizeof(p), "Crash_Item.Id=%u", rand_r(&seed) % CRASH_ITEMS);
                        int k = repo_instance_delete(r, "root/cimv2", p, NULL, NULL);
                        if (k != 0 && k != WBEM_E_NOT_FOUND)
                                _exit(8);
                }
        }
}

typedef struct CrashCheck {
        size_t count;
        uint64_t max_counter;
        bool bad;
} CrashCheck;

static int crash_verify_one(Instance *i, void *userdata) {
        CrashCheck *c = userdata;
        const Value *id = instance_get(i, "Id"), *payload = instance_get(i, "Payload"),
                    *counter = instance_get(i, "Counter"), *sum = instance_get(i, "Sum");
        if (!id || !payload || !counter || !sum || id->is_null || payload->is_null ||
            counter->is_null || sum->is_null ||
            crash_sum((uint32_t)id->u, payload->s, counter->u) != sum->u) {
                c->bad = true;
                return 1;
        }
        c->count++;
        if (counter->u > c->max_counter)
                c->max_counter = counter->u;
        return 0;
}

static void test_crash_consistency(void **state) {
        (void)state;
        char *dir = make_temp_dir();
        char path[512];
        snprintf(path, sizeof(path), "%s/repository.db", dir);
        Repo *r = NULL;
        CHECK(repo_open(path, &r, err), 0, NULL);
        CHECK(put_class(r, "root/cimv2", crash_class_v1, 0, err), 0, NULL);
        CHECK(put_class(r, "root/cimv2", crash_sub, 0, err), 0, NULL);
        unsigned seed = 1;
        for (uint32_t id = 0; id < CRASH_ITEMS; id++)
                CHECK(crash_put(r, "Crash_Item", id, 0, &seed), 0, NULL);
        repo_close(r);

        unsigned rounds_with_writes = 0;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        srand((unsigned)now.tv_nsec);
        for (unsigned round = 0; round < CRASH_ROUNDS; round++) {
                int ready[2];
                assert_int_equal(pipe(ready), 0);
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        close(ready[0]);
                        crash_child(path, round, ready[1]);
                }
                close(ready[1]);
                struct pollfd pfd = { .fd = ready[0], .events = POLLIN };
                char byte;
                assert_int_equal(poll(&pfd, 1, 30000), 1);
                assert_int_equal(read(ready[0], &byte, 1), 1);
                close(ready[0]);
                /* Let it write for a random while, then kill it mid-stride. */
                struct timespec delay = { 0, (long)(30 + rand() % 150) * 1000000L };
                nanosleep(&delay, NULL);
                int status = 0;
                if (waitpid(pid, &status, WNOHANG) != 0)
                        fail_msg("the writer stopped by itself (status %d)", status);
                kill(pid, SIGKILL);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

                char *ok = integrity_check(path);
                assert_string_equal(ok, "ok");
                free(ok);
                CHECK(repo_open(path, &r, err), 0, NULL);
                CrashCheck c = { 0 };
                CHECK(repo_instance_enum(r, "root/cimv2", "Crash_Item", true, crash_verify_one, &c,
                                         err),
                      0, NULL);
                assert_false(c.bad);
                assert_true(c.count > CRASH_ITEMS / 2);
                if (c.max_counter > (uint64_t)(round + 1) * 1000000000u)
                        rounds_with_writes++;
                /* Every instance has the shape of its class as stored. */
                CimClass *cls = NULL;
                CHECK(repo_class_get(r, "root/cimv2", "Crash_Item", &cls, err), 0, NULL);
                assert_true(cls->n_props == 4 || cls->n_props == 5);
                class_unref(cls);
                repo_close(r);
        }
        /* every writer committed before it was killed */
        assert_int_equal(rounds_with_writes, CRASH_ROUNDS);
        remove_temp_dir(dir);
}

/* ---- allocation failure --------------------------------------------------- */

/* Run call with the Nth allocation failing for N = 1, 2, ... until it runs
 * with no failure. A failure must give -ENOMEM or a clean error, and after
 * it `still` must hold (the write did not happen). A call may also succeed
 * although an allocation failed: SQLite tolerates some failures (its
 * "benign" allocations) and the class cache is rebuilt after a commit on a
 * best-effort basis; then `undo` reverts the write and N goes on. */
#define ALLOC_LOOP(call, still, undo)                                                            \
        for (unsigned long n_ = 1;; n_++) {                                                      \
                Error e_ = { 0 };                                                                \
                Error *err = &e_;                                                                \
                (void)err;                                                                       \
                mem_fail_at(n_);                                                                 \
                int r_ = (call);                                                                 \
                bool hit_ = mem_fail_triggered();                                                \
                mem_fail_at(0);                                                                  \
                if (!hit_) {                                                                     \
                        if (r_ != 0)                                                             \
                                fail_msg("line %d: %d (%s)", __LINE__, r_, e_.message);          \
                        break;                                                                   \
                }                                                                                \
                if (r_ == 0) {                                                                   \
                        if ((undo) != 0)                                                         \
                                fail_msg("line %d: undo failed", __LINE__);                      \
                        continue;                                                                \
                }                                                                                \
                if (r_ != -ENOMEM && r_ <= 0)                                                    \
                        fail_msg("line %d: allocation %lu: %d", __LINE__, n_, r_);               \
                if (!(still))                                                                    \
                        fail_msg("line %d: allocation %lu: the write happened anyway", __LINE__, \
                                 n_);                                                            \
                assert_true(n_ < 200000);                                                        \
        }

static int open_close(const char *path) {
        Repo *r = NULL;
        int k = repo_open(path, &r, NULL);
        repo_close(r);
        return k;
}

static const char *ns_cimv2 = "root/cimv2";

static int put_class_def(Repo *r, CimClass *def, unsigned flags, Error *err) {
        return repo_class_put(r, ns_cimv2, def, flags, NULL, err);
}

static int put_inst(Repo *r, Instance *i, Error *err) {
        Instance *prev = NULL;
        int k = repo_instance_put(r, ns_cimv2, i, 0, &prev, NULL, err);
        instance_unref(prev);
        return k;
}

static size_t count_instances(Repo *r, const char *cls) {
        EnumState s = { 0 };
        if (repo_instance_enum(r, ns_cimv2, cls, true, enum_count, &s, NULL) != 0)
                fail_msg("enumeration failed");
        return s.count;
}

static int enum_all(Repo *r, EnumState *s) {
        *s = (EnumState){ 0 };
        return repo_instance_enum(r, ns_cimv2, "App_Base", true, enum_count, s, NULL);
}

static size_t class_props(Repo *r, const char *name) {
        CimClass *c = NULL;
        size_t n = repo_class_get(r, ns_cimv2, name, &c, NULL) == 0 ? c->n_props : 0;
        class_unref(c);
        return n;
}

static uint64_t size_of_77(Repo *r) {
        Instance *i = NULL;
        uint64_t size = repo_instance_get(r, ns_cimv2, "App_Derived.Id=77", &i, NULL) == 0
                                ? instance_get(i, "Size")->u
                                : 0;
        instance_unref(i);
        return size;
}

/* App_Base, App_Derived and its instances 1..5 as at the start. */
static int restore_hierarchy(Repo *r) {
        int k = put_class(r, ns_cimv2, base_class, REPO_FORCE, NULL);
        if (k == 0)
                k = put_class(r, ns_cimv2, derived_class, REPO_FORCE, NULL);
        for (unsigned id = 1; k == 0 && id <= 5; id++) {
                char text[96];
                snprintf(text, sizeof(text),
                         "{\"__CLASS\": \"App_Derived\", \"Id\": %u, \"Size\": %u}", id, id);
                k = put_instance(r, ns_cimv2, text, 0, NULL);
        }
        return k;
}

static void test_allocation_failures(void **state) {
        (void)state;
        char *dir = make_temp_dir();
        char path[512];
        snprintf(path, sizeof(path), "%s/repository.db", dir);

        /* (":memory:" goes the same way, with 3 times the allocations:
         * its pages live in the heap.) */
        ALLOC_LOOP(open_close(path), true, 0); /* creates the file at last */
        ALLOC_LOOP(open_close(path), true, 0); /* opens it */

        Repo *r = NULL;
        CHECK(repo_open(path, &r, err), 0, NULL);
        CHECK(put_class(r, ns_cimv2, base_class, 0, err), 0, NULL);

        /* Class put: a new class, then a forced update with instances. */
        CimClass *def = class_def(derived_class);
        ALLOC_LOOP(put_class_def(r, def, 0, err), !has_class(r, ns_cimv2, "App_Derived"),
                   repo_class_delete(r, ns_cimv2, "App_Derived", 0, NULL));
        class_unref(def);
        CHECK(restore_hierarchy(r), 0, NULL);
        def = class_def("{\"__CLASS\": \"App_Base\", \"properties\": {"
                        "\"Id\": {\"type\": \"uint32\", \"key\": true}, \"Extra\": {\"type\": "
                        "\"uint8\"}}}");
        size_t n_before = class_props(r, "App_Derived");
        ALLOC_LOOP(put_class_def(r, def, REPO_FORCE, err),
                   class_props(r, "App_Derived") == n_before &&
                           count_instances(r, "App_Derived") == 5,
                   restore_hierarchy(r));
        class_unref(def);
        assert_int_equal(count_instances(r, "App_Derived"), 5);

        /* Instance put: create, then update. */
        Instance *i = make_instance(r, ns_cimv2,
                                    "{\"__CLASS\": \"App_Derived\", \"Id\": 77, \"Size\": 1}");
        ALLOC_LOOP(put_inst(r, i, err), !has_instance(r, ns_cimv2, "App_Derived.Id=77"),
                   repo_instance_delete(r, ns_cimv2, "App_Derived.Id=77", NULL, NULL));
        Instance *i2 = make_instance(r, ns_cimv2,
                                     "{\"__CLASS\": \"App_Derived\", \"Id\": 77, \"Size\": 2}");
        ALLOC_LOOP(put_inst(r, i2, err), size_of_77(r) == 1, put_inst(r, i, NULL));
        instance_unref(i2);

        /* Get and enumerate: nothing to undo. */
        Instance *got = NULL;
        ALLOC_LOOP(repo_instance_get(r, ns_cimv2, "app_derived.ID=77", &got, err), true,
                   (got = instance_unref(got), 0));
        instance_unref(got);
        EnumState es;
        ALLOC_LOOP(enum_all(r, &es), true, 0);
        assert_int_equal(es.count, 6);

        /* Delete, namespaces, cascade delete. */
        ALLOC_LOOP(repo_instance_delete(r, ns_cimv2, "App_Base.Id=77", NULL, err),
                   has_instance(r, ns_cimv2, "App_Derived.Id=77"), put_inst(r, i, NULL));
        instance_unref(i);
        ALLOC_LOOP(repo_namespace_create(r, "root/cimv2/sub", err),
                   !repo_namespace_exists(r, "root/cimv2/sub"),
                   repo_namespace_delete(r, "root/cimv2/sub", NULL));
        ALLOC_LOOP(repo_class_delete(r, ns_cimv2, "App_Base", REPO_DELETE_CASCADE, err),
                   has_class(r, ns_cimv2, "App_Derived") && count_instances(r, "App_Base") == 5,
                   restore_hierarchy(r));
        ALLOC_LOOP(repo_namespace_delete(r, "root/cimv2/sub", err),
                   repo_namespace_exists(r, "root/cimv2/sub"),
                   repo_namespace_create(r, "root/cimv2/sub", NULL));
        repo_close(r);

        char *ok = integrity_check(path);
        assert_string_equal(ok, "ok");
        free(ok);
        remove_temp_dir(dir);
}

int main(void) {
        /* SQLite's and jansson's allocations go through mem_*(), so that
         * failure injection reaches them. */
        if (mem_install_library_hooks() < 0)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_defaults),
                cmocka_unit_test(test_namespaces),
                cmocka_unit_test(test_class_rules),
                cmocka_unit_test(test_class_force_update),
                cmocka_unit_test(test_class_enum),
                cmocka_unit_test(test_class_delete),
                cmocka_unit_test(test_instance_put_get),
                cmocka_unit_test(test_instance_paths),
                cmocka_unit_test(test_instance_key_space),
                cmocka_unit_test(test_instance_values),
                cmocka_unit_test(test_embedded_class_changes),
                cmocka_unit_test(test_instance_enum),
                cmocka_unit_test(test_reopen),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_default_path),
                cmocka_unit_test(test_damaged_file),
                cmocka_unit_test(test_enum_namespace_deleted),
                cmocka_unit_test(test_crash_consistency),
                cmocka_unit_test(test_allocation_failures),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
