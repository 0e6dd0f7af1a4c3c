/* The engine: the repository, the registered providers and the query
 * limits behind the protocol's data operations (engine.h). This file holds
 * the engine's life, the registry of provider classes, GetObject and the
 * class and instance writes; engine_query.c holds the cursors.
 *
 * The registry answers "which provider serves (namespace, class)?" for
 * every class a query or GetObject touches, so it is a hash table over the
 * folded names rather than a list. Namespaces in it are the repository's
 * stored spellings, so two spellings of one namespace cannot disagree.
 *
 * Writes keep the repository's rules and add the provider's: its classes
 * (and the classes they derive from) are not changed or deleted through the
 * engine, and its instances are not written. A put prepares everything that
 * can fail before it writes, so a failure (out-of-memory included) never
 * leaves a write done that the caller was told failed. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "engine_internal.h"
#include "mem.h"
#include "names.h"
#include "objpath.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(CimClass *, class_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(ObjectPath *, objpath_free);

/* ---- life ------------------------------------------------------------------ */

static int engine_host(const char *given, char **ret) {
        char buf[HOST_NAME_MAX + 1];
        const char *host = given;
        if (!host) {
                /* A host name that cannot be read is not worth failing for:
                 * it only appears in __SERVER and __PATH. */
                if (gethostname(buf, sizeof(buf)) == 0 && buf[0]) {
                        buf[sizeof(buf) - 1] = '\0';
                        host = buf;
                } else
                        host = "localhost";
        }
        char *h = mem_strdup(host);
        if (!h)
                return -ENOMEM;
        *ret = h;
        return 0;
}

static int new_do(const EngineOptions *opts, Engine **ret, Error *err) {
        EngineOptions none = { 0 };
        if (!opts)
                opts = &none;

        Engine *e = mem_calloc(1, sizeof(Engine));
        if (!e)
                return -ENOMEM;
        e->limits.max_length =
                opts->wql_limits.max_length ? opts->wql_limits.max_length : WQL_DEFAULT_MAX_LENGTH;
        e->limits.max_depth =
                opts->wql_limits.max_depth ? opts->wql_limits.max_depth : WQL_DEFAULT_MAX_DEPTH;
        int r = engine_host(opts->host_name, &e->host);
        if (r == 0) {
                _cleanup_free_ char *path = NULL;
                const char *where = opts->repository_path;
                if (!where) {
                        r = repo_default_path(&path);
                        if (r < 0)
                                r = error_set(err, WBEM_E_FAILED,
                                              "no repository path given and no default: %s",
                                              strerror(-r));
                        where = path;
                }
                if (r == 0)
                        r = repo_open(where, &e->repo, err);
        }
        if (r == 0)
                r = engine_events_init(e); /* events */
        if (r != 0) {
                engine_free(e);
                return r;
        }
        *ret = e;
        return 0;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        engine_events_done(e); /* events: sinks, calls and poll tasks go first */
        for (size_t k = 0; k < e->n_served; k++) {
                mem_free(e->served[k].ns);
                mem_free(e->served[k].class_name);
        }
        mem_free(e->served);
        mem_free(e->index);
        for (size_t k = 0; k < e->n_providers; k++)
                e->providers[k]->ops->free(e->providers[k]);
        mem_free(e->providers);
        repo_close(e->repo);
        mem_free(e->host);
        mem_free(e);
        return NULL;
}

Repo *engine_repo(Engine *e) {
        return e->repo;
}

const char *engine_host_name(const Engine *e) {
        return e->host;
}

int engine_namespace(Engine *e, const char *ns, const char **ret, Error *err) {
        return repo_namespace_name(e->repo, ns, ret, err);
}

/* ---- the registry of provider classes -------------------------------------- */

static size_t served_hash(const char *ns, const char *class_name) {
        return name_hash(ns) * 31u + name_hash(class_name);
}

Provider *engine_provider_lookup(const Engine *e, const char *ns, const char *class_name) {
        if (!e->index || !ns || !class_name)
                return NULL;
        for (size_t slot = served_hash(ns, class_name) & e->index_mask;;
             slot = (slot + 1) & e->index_mask) {
                size_t at = e->index[slot];
                if (at == 0)
                        return NULL;
                const ProviderClass *pc = &e->served[at - 1];
                if (name_equal(pc->class_name, class_name) && name_equal(pc->ns, ns))
                        return pc->provider;
        }
}

Provider *engine_class_provider(Engine *e, const char *ns, const char *class_name) {
        const char *name;
        if (engine_namespace(e, ns, &name, NULL) != 0)
                return NULL;
        return engine_provider_lookup(e, name, class_name);
}

/* Make room for `more` served entries (array and index, load at most one
 * half), so that the insertions that follow cannot fail. */
static int served_reserve(Engine *e, size_t more) {
        size_t want = e->n_served + more;
        ProviderClass *s = mem_reallocarray(e->served, want + 1, sizeof(ProviderClass));
        if (!s)
                return -ENOMEM;
        e->served = s;

        size_t size = e->index ? e->index_mask + 1 : 0;
        if (size >= 2 * want && size > 0)
                return 0;
        size_t new_size = 16;
        while (new_size < 2 * want)
                new_size *= 2;
        size_t *index = mem_calloc(new_size, sizeof(size_t));
        if (!index)
                return -ENOMEM;
        for (size_t k = 0; k < e->n_served; k++) {
                size_t slot =
                        served_hash(e->served[k].ns, e->served[k].class_name) & (new_size - 1);
                while (index[slot] != 0)
                        slot = (slot + 1) & (new_size - 1);
                index[slot] = k + 1;
        }
        mem_free(e->index);
        e->index = index;
        e->index_mask = new_size - 1;
        return 0;
}

/* Add an entry (room reserved; ns and class_name taken over). */
static void served_add(Engine *e, char *ns, char *class_name, Provider *p) {
        size_t k = e->n_served++;
        e->served[k] = (ProviderClass){ .ns = ns, .class_name = class_name, .provider = p };
        size_t slot = served_hash(ns, class_name) & e->index_mask;
        while (e->index[slot] != 0)
                slot = (slot + 1) & e->index_mask;
        e->index[slot] = k + 1;
}

typedef struct ClassList {
        CimClass **items;
        size_t count;
} ClassList;

static void class_list_done(ClassList *l) {
        for (size_t k = 0; k < l->count; k++)
                class_unref(l->items[k]);
        mem_free(l->items);
        *l = (ClassList){ 0 };
}

static int register_provider_do(Engine *e, Provider *p, Error *err) {
        _cleanup_(class_list_done) ClassList defs = { 0 };
        const char *ns = NULL;
        int r = 0;

        if (!p || !p->ops || !p->ns)
                r = error_set(err, WBEM_E_INVALID_PARAMETER,
                              "provider without operations or namespace");
        if (r == 0)
                r = p->ops->get_classes(p, &defs.items, &defs.count, err);
        if (r == 0 && !repo_namespace_exists(e->repo, p->ns))
                r = repo_namespace_create(e->repo, p->ns, err);
        if (r == 0)
                r = engine_namespace(e, p->ns, &ns, err);
        for (size_t k = 0; r == 0 && k < defs.count; k++) {
                Provider *other = engine_provider_lookup(e, ns, defs.items[k]->name);
                if (other)
                        r = error_set(
                                err, WBEM_E_ALREADY_EXISTS,
                                "class %s in namespace %s is already served by the %s provider",
                                defs.items[k]->name, ns, other->name);
        }
        /* Everything the registration needs is allocated before the first
         * class is written. */
        _cleanup_free_ char **names = NULL, **nss = NULL;
        if (r == 0) {
                names = mem_calloc(defs.count + 1, sizeof(char *));
                nss = mem_calloc(defs.count + 1, sizeof(char *));
                Provider **list =
                        mem_reallocarray(e->providers, e->n_providers + 1, sizeof(Provider *));
                if (list)
                        e->providers = list;
                if (!names || !nss || !list)
                        r = -ENOMEM;
        }
        for (size_t k = 0; r == 0 && k < defs.count; k++) {
                names[k] = mem_strdup(defs.items[k]->name);
                nss[k] = mem_strdup(ns);
                if (!names[k] || !nss[k])
                        r = -ENOMEM;
        }
        if (r == 0)
                r = served_reserve(e, defs.count);
        for (size_t k = 0; r == 0 && k < defs.count; k++) {
                r = repo_class_put(e->repo, ns, defs.items[k], REPO_FORCE, NULL, err);
                if (r > 0 && err) {
                        char detail[sizeof(err->message)];
                        memcpy(detail, err->message, sizeof(detail));
                        error_set(err, r, "provider %s: class %s: %s", p->name, defs.items[k]->name,
                                  detail);
                }
        }
        if (r != 0) {
                for (size_t k = 0; k < defs.count; k++) {
                        if (names)
                                mem_free(names[k]);
                        if (nss)
                                mem_free(nss[k]);
                }
                if (p && p->ops && p->ops->free)
                        p->ops->free(p);
                return r;
        }
        for (size_t k = 0; k < defs.count; k++)
                served_add(e, nss[k], names[k], p);
        e->providers[e->n_providers++] = p;
        return 0;
}

/* A served class of namespace ns (stored spelling) that derives from
 * class_name (not the class itself), or NULL. *ret_name is its name. */
static Provider *served_subclass(Engine *e, const char *ns, const char *class_name,
                                 const char **ret_name) {
        for (size_t k = 0; k < e->n_served; k++) {
                const ProviderClass *pc = &e->served[k];
                if (!name_equal(pc->ns, ns) || name_equal(pc->class_name, class_name))
                        continue;
                _cleanup_(class_unrefp) CimClass *cls = NULL;
                if (repo_class_get(e->repo, ns, pc->class_name, &cls, NULL) == 0 &&
                    class_isa(cls, class_name)) {
                        *ret_name = pc->class_name;
                        return pc->provider;
                }
        }
        return NULL;
}

/* ---- classes ----------------------------------------------------------------- */

/* WBEM_E_READ_ONLY when name is a provider's class or a superclass of one. */
static int class_check_writable(Engine *e, const char *ns, const char *name, const char *doing,
                                Error *err) {
        Provider *p = engine_provider_lookup(e, ns, name);
        if (p)
                return error_set(err, WBEM_E_READ_ONLY,
                                 "class %s belongs to the %s provider and cannot be %s", name,
                                 p->name, doing);
        const char *sub = NULL;
        p = served_subclass(e, ns, name, &sub);
        if (p)
                return error_set(err, WBEM_E_READ_ONLY,
                                 "class %s is a superclass of %s, which belongs to the %s "
                                 "provider, and cannot be %s",
                                 name, sub, p->name, doing);
        return 0;
}

static int put_class_do(Engine *e, const char *ns, const CimClass *def, unsigned flags,
                        CimClass **ret, Error *err) {
        const char *name;
        int r = engine_namespace(e, ns, &name, err);
        if (r != 0)
                return r;
        if (!def || !def->name)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no class given");
        r = class_check_writable(e, name, def->name, "changed", err);
        if (r != 0)
                return r;
        r = repo_class_put(e->repo, name, def, flags, ret, err);
        if (r == 0)
                engine_events_class_changed(e, name, def->name); /* events */
        return r;
}

static int delete_class_do(Engine *e, const char *ns, const char *class_name, unsigned flags,
                           Error *err) {
        const char *name;
        int r = engine_namespace(e, ns, &name, err);
        if (r != 0)
                return r;
        if (!class_name)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no class name given");
        r = class_check_writable(e, name, class_name, "deleted", err);
        if (r != 0)
                return r;
        r = repo_class_delete(e->repo, name, class_name, flags, err);
        if (r == 0)
                engine_events_class_deleted(e, name, class_name); /* events */
        return r;
}

static int enum_classes_do(Engine *e, const char *ns, const char *superclass, bool deep,
                           CimClass ***ret, size_t *ret_count, Error *err) {
        return repo_class_enum(e->repo, ns, superclass, deep, ret, ret_count, err);
}

/* ---- instances ----------------------------------------------------------- */

static int instance_not_writable(const Provider *p, const char *class_name, Error *err) {
        return error_set(err, WBEM_E_NOT_SUPPORTED,
                         "instances of %s come from the %s provider and cannot be written",
                         class_name, p->name);
}

/* inst's values on cls (the repository's copy of its class), by name. */
static int instance_rebuild(const Instance *inst, CimClass *cls, Instance **ret, Error *err) {
        _cleanup_(instance_unrefp) Instance *n = NULL;
        int r = inst->cls == cls ? instance_clone(inst, &n) : instance_new(cls, &n);
        if (r < 0 || inst->cls == cls) {
                if (r == 0)
                        *ret = TAKE_PTR(n);
                return r;
        }
        for (size_t k = 0; k < inst->cls->n_props; k++) {
                r = instance_set(n, inst->cls->props[k].name, &inst->values[k], err);
                if (r != 0)
                        return r;
        }
        *ret = TAKE_PTR(n);
        return 0;
}

static int put_instance_do(Engine *e, const char *ns, const Instance *inst, unsigned flags,
                           Instance **ret_stored, Instance **ret_previous, Error *err) {
        const char *name;
        int r = engine_namespace(e, ns, &name, err);
        if (r != 0)
                return r;
        if (!inst)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no instance given");
        _cleanup_(class_unrefp) CimClass *cls = NULL;
        r = repo_class_get(e->repo, name, inst->cls->name, &cls, err);
        if (r == WBEM_E_NOT_FOUND)
                return error_set(err, WBEM_E_INVALID_CLASS,
                                 "class %s does not exist in namespace %s", inst->cls->name, name);
        if (r != 0)
                return r;
        Provider *p = engine_provider_lookup(e, name, cls->name);
        if (p)
                return instance_not_writable(p, cls->name, err);

        _cleanup_(instance_unrefp) Instance *stored = NULL;
        r = instance_rebuild(inst, cls, &stored, err);
        if (r == 0)
                r = instance_set_namespace(stored, name);
        if (r != 0)
                return r;
        /* events: the previous instance is asked for a modification event too */
        _cleanup_(instance_unrefp) Instance *previous = NULL;
        bool want_previous = ret_previous || engine_events_wanted(e, name);
        r = repo_instance_put(e->repo, name, stored, flags, want_previous ? &previous : NULL, NULL,
                              err);
        if (r != 0)
                return r;
        engine_events_instance_put(e, name, stored, previous); /* events */
        if (ret_previous)
                *ret_previous = TAKE_PTR(previous);
        if (ret_stored)
                *ret_stored = TAKE_PTR(stored);
        return 0;
}

static int delete_instance_do(Engine *e, const char *ns, const char *path, Instance **ret_deleted,
                              Error *err) {
        const char *name;
        int r = engine_namespace(e, ns, &name, err);
        if (r != 0)
                return r;
        if (!path)
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "no path given");
        _cleanup_(objpath_freep) ObjectPath *p = NULL;
        r = objpath_parse(path, &p, err);
        if (r != 0)
                return r;
        _cleanup_(class_unrefp) CimClass *cls = NULL;
        if (repo_class_get(e->repo, name, p->class_name, &cls, NULL) == 0) {
                Provider *pv = engine_provider_lookup(e, name, cls->name);
                if (pv)
                        return instance_not_writable(pv, cls->name, err);
        }
        /* Anything else wrong with the path the repository says. */
        _cleanup_(instance_unrefp) Instance *deleted = NULL; /* events: asked for too */
        bool want_deleted = ret_deleted || engine_events_wanted(e, name);
        r = repo_instance_delete(e->repo, name, path, want_deleted ? &deleted : NULL, err);
        if (r != 0)
                return r;
        if (deleted)
                engine_events_instance_deleted(e, name, deleted); /* events */
        if (ret_deleted)
                *ret_deleted = TAKE_PTR(deleted);
        return 0;
}

/* ---- GetObject --------------------------------------------------------------- */

/* Give the keys of p the types of cls's key properties and a name each, as
 * a provider's get_instance expects. WBEM_E_INVALID_OBJECT_PATH for a path
 * that does not fit the class. */
static int path_convert_keys(const CimClass *cls, ObjectPath *p, Error *err) {
        if (p->is_singleton != cls->is_singleton)
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                 p->is_singleton ? "class %s is not a singleton"
                                                 : "class %s is a singleton: its path is %s=@",
                                 cls->name, cls->name);
        _cleanup_free_ bool *seen = mem_calloc(cls->n_props + 1, sizeof(bool));
        if (!seen)
                return -ENOMEM;
        for (size_t k = 0; k < p->n_keys; k++) {
                ObjectPathKey *pk = &p->keys[k];
                long idx = -1;
                if (!pk->name) {
                        for (size_t j = 0; j < cls->n_props && cls->n_keys == 1 && p->n_keys == 1;
                             j++)
                                if (cls->props[j].is_key)
                                        idx = (long)j;
                        if (idx < 0)
                                return error_set(
                                        err, WBEM_E_INVALID_OBJECT_PATH,
                                        "a key without a name needs a class with exactly one key, "
                                        "and class %s has %zu",
                                        cls->name, cls->n_keys);
                        pk->name = mem_strdup(cls->props[idx].name);
                        if (!pk->name)
                                return -ENOMEM;
                } else {
                        idx = class_find_property(cls, pk->name);
                        if (idx < 0 || !cls->props[idx].is_key)
                                return error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                                 "%s is not a key of class %s", pk->name,
                                                 cls->name);
                }
                const CimProperty *prop = &cls->props[idx];
                if (seen[idx])
                        return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "key %s is given twice",
                                         prop->name);
                seen[idx] = true;
                Value v;
                Error detail = { 0 };
                int r = value_convert(&pk->value, prop->type, false, &v, &detail);
                if (r < 0)
                        return r;
                if (r > 0)
                        return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "key %s: %s", prop->name,
                                         detail.message);
                if (v.is_null)
                        return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "key %s is NULL",
                                         prop->name);
                value_clear(&pk->value);
                pk->value = v;
        }
        for (size_t k = 0; k < cls->n_props; k++)
                if (cls->props[k].is_key && !seen[k])
                        return error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                         "the path lacks key %s of class %s", cls->props[k].name,
                                         cls->name);
        return 0;
}

static bool instance_has_keys(const Instance *inst, const ObjectPath *p) {
        if (p->is_singleton)
                return true;
        for (size_t k = 0; k < p->n_keys; k++) {
                const Value *v = instance_get(inst, p->keys[k].name);
                if (!v || !value_equal(v, &p->keys[k].value))
                        return false;
        }
        return true;
}

int engine_provider_error(const Provider *p, int r, Error *err) {
        if (r > 0 && err) {
                char detail[sizeof(err->message)];
                memcpy(detail, err->message, sizeof(detail));
                error_set(err, r, "provider %s: %s", p->name, detail);
        }
        return r;
}

/* Without get_instance: enumerate the class and compare keys. */
static int provider_find(Provider *p, const char *ns, CimClass *cls, const ObjectPath *path,
                         const ProviderCaller *caller, Instance **ret, Error *err) {
        ProviderCursor *pc = NULL;
        bool filtered = false;
        int r = p->ops->enum_begin(p, ns, cls, NULL, caller, &pc, &filtered, err);
        if (r != 0)
                return engine_provider_error(p, r, err);
        for (;;) {
                Instance *inst = NULL;
                r = p->ops->enum_next(pc, &inst, err);
                if (r == 1 && inst) {
                        if (instance_has_keys(inst, path)) {
                                *ret = inst;
                                r = 0;
                                break;
                        }
                        instance_unref(inst);
                        continue;
                }
                instance_unref(inst);
                if (r == 0)
                        r = WBEM_E_NOT_FOUND;
                else
                        r = engine_provider_error(p, r, err);
                break;
        }
        p->ops->enum_end(pc);
        return r;
}

/* The instance at path (keys converted for cls) from provider p:
 * WBEM_E_NOT_FOUND, without a message, when it has none. */
static int provider_get(Provider *p, const char *ns, CimClass *cls, const ObjectPath *path,
                        const ProviderCaller *caller, Instance **ret, Error *err) {
        if (!p->ops->get_instance)
                return provider_find(p, ns, cls, path, caller, ret, err);
        Instance *inst = NULL;
        int r = p->ops->get_instance(p, ns, cls, path, caller, &inst, err);
        if (r == 0 && !inst)
                r = error_set(err, WBEM_E_PROVIDER_FAILURE, "the %s provider returned no instance",
                              p->name);
        if (r != 0)
                return r == WBEM_E_NOT_FOUND ? r : engine_provider_error(p, r, err);
        *ret = inst;
        return 0;
}

int engine_instance_in_namespace(Instance *inst, const char *ns, Instance **ret) {
        if (inst->ns && strcmp(inst->ns, ns) == 0) {
                *ret = inst;
                return 0;
        }
        Instance *x = inst;
        int r = 0;
        if (inst->refcount > 1) {
                r = instance_clone(inst, &x);
                instance_unref(inst);
        }
        if (r == 0) {
                r = instance_set_namespace(x, ns);
                if (r < 0)
                        instance_unref(x);
        }
        if (r == 0)
                *ret = x;
        return r;
}

static int get_object_do(Engine *e, const ProviderCaller *caller, const char *ns, const char *path,
                         Instance **ret_instance, CimClass **ret_class, Error *err) {
        const char *name;
        int r = engine_namespace(e, ns, &name, err);
        if (r != 0)
                return r;
        if (!path)
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "no path given");
        _cleanup_(objpath_freep) ObjectPath *p = NULL;
        r = objpath_parse(path, &p, err);
        if (r != 0)
                return r;
        if (p->ns) {
                errno = 0;
                _cleanup_free_ char *n = namespace_normalize(p->ns);
                if (!n && errno == ENOMEM)
                        return -ENOMEM;
                if (!n || !name_equal(n, name))
                        return error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                         "the path names namespace %s, not %s", p->ns, name);
        }

        _cleanup_(class_unrefp) CimClass *cls = NULL;
        r = repo_class_get(e->repo, name, p->class_name, &cls, err);
        bool is_class = !p->is_singleton && p->n_keys == 0;
        if (r == WBEM_E_NOT_FOUND && !is_class)
                return error_set(err, WBEM_E_INVALID_CLASS,
                                 "class %s does not exist in namespace %s", p->class_name, name);
        if (r != 0)
                return r;
        if (is_class) {
                *ret_class = TAKE_PTR(cls);
                return 0;
        }

        /* Where an instance at this path may be, in order: the class's
         * provider (unless the class is abstract), the repository (which
         * also finds its subclasses' instances: they share the key space),
         * and the providers of its subclasses. */
        Instance *inst = NULL;
        Provider *pv = engine_provider_lookup(e, name, cls->name);
        const char *sub_name = NULL;
        bool provider_subclasses = served_subclass(e, name, cls->name, &sub_name) != NULL;
        if (pv || provider_subclasses) {
                r = path_convert_keys(cls, p, err);
                if (r != 0)
                        return r;
        }
        r = WBEM_E_NOT_FOUND;
        if (pv && !cls->is_abstract)
                r = provider_get(pv, name, cls, p, caller, &inst, err);
        if (r == WBEM_E_NOT_FOUND) {
                r = repo_instance_get(e->repo, name, path, &inst, err);
                /* Stored before a provider took the class over: queries do
                 * not see it, so neither does GetObject. */
                if (r == 0 && engine_provider_lookup(e, name, inst->cls->name)) {
                        inst = instance_unref(inst);
                        r = WBEM_E_NOT_FOUND;
                }
        }
        for (size_t s = 0; r == WBEM_E_NOT_FOUND && provider_subclasses && s < e->n_served; s++) {
                const ProviderClass *pc = &e->served[s];
                _cleanup_(class_unrefp) CimClass *sub = NULL;
                if (!name_equal(pc->ns, name) || name_equal(pc->class_name, cls->name) ||
                    repo_class_get(e->repo, name, pc->class_name, &sub, NULL) != 0 ||
                    sub->is_abstract || !class_isa(sub, cls->name))
                        continue;
                r = provider_get(pc->provider, name, sub, p, caller, &inst, err);
        }
        if (r == WBEM_E_NOT_FOUND)
                return error_set(err, WBEM_E_NOT_FOUND,
                                 "instance %s does not exist in namespace %s", path, name);
        if (r != 0)
                return r;
        r = engine_instance_in_namespace(inst, name, &inst);
        if (r != 0)
                return r;
        *ret_instance = inst;
        return 0;
}

/* ---- the interface: a negative errno comes with err filled too ---- */

int engine_new(const EngineOptions *opts, Engine **ret, Error *err) {
        return engine_errno(new_do(opts, ret, err), err);
}

int engine_register_provider(Engine *e, Provider *p, Error *err) {
        return engine_errno(register_provider_do(e, p, err), err);
}

int engine_put_class(Engine *e, const char *ns, const CimClass *def, unsigned flags, CimClass **ret,
                     Error *err) {
        return engine_errno(put_class_do(e, ns, def, flags, ret, err), err);
}

int engine_delete_class(Engine *e, const char *ns, const char *class_name, unsigned flags,
                        Error *err) {
        return engine_errno(delete_class_do(e, ns, class_name, flags, err), err);
}

int engine_enum_classes(Engine *e, const char *ns, const char *superclass, bool deep,
                        CimClass ***ret, size_t *ret_count, Error *err) {
        return engine_errno(enum_classes_do(e, ns, superclass, deep, ret, ret_count, err), err);
}

int engine_put_instance(Engine *e, const char *ns, const Instance *inst, unsigned flags,
                        Instance **ret_stored, Instance **ret_previous, Error *err) {
        return engine_errno(put_instance_do(e, ns, inst, flags, ret_stored, ret_previous, err),
                            err);
}

int engine_delete_instance(Engine *e, const char *ns, const char *path, Instance **ret_deleted,
                           Error *err) {
        return engine_errno(delete_instance_do(e, ns, path, ret_deleted, err), err);
}

int engine_get_object(Engine *e, const char *ns, const char *path, Instance **ret_instance,
                      CimClass **ret_class, Error *err) {
        return engine_errno(get_object_do(e, NULL, ns, path, ret_instance, ret_class, err), err);
}

int engine_get_object_as(Engine *e, const ProviderCaller *caller, const char *ns, const char *path,
                         Instance **ret_instance, CimClass **ret_class, Error *err) {
        return engine_errno(get_object_do(e, caller, ns, path, ret_instance, ret_class, err), err);
}
