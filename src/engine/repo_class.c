/* Class operations of the repository: put (create, update, forced update
 * with re-derivation of subclasses and reshaping of instances), get, delete
 * and enumerate. The rules are in repo.h and docs/repository.md. Reads come
 * from the namespace's class cache; writes are single transactions after
 * which the cache is rebuilt. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "objjson.h"
#include "repo_internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(CimClass *, class_unref);

int repo_class_get(Repo *r, const char *ns, const char *name, CimClass **ret, Error *err) {
        NsEntry *nse;
        ClassCache *c;
        int k = repo_ns_find(r, ns, &nse, err);
        if (k == 0)
                k = repo_ns_classes(r, nse, &c, err);
        if (k != 0)
                return k;
        if (!name)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no class name given");
        ClassEntry *e = repo_cache_find(c, name);
        if (!e)
                return error_set(err, WBEM_E_NOT_FOUND, "class %s does not exist in namespace %s",
                                 name, nse->name);
        *ret = class_ref(e->cls);
        return 0;
}

static bool enum_match(const CimClass *cls, const char *superclass, bool deep) {
        if (!superclass)
                return deep || !cls->superclass;
        if (!deep)
                return cls->superclass && name_equal(cls->superclass, superclass);
        return class_isa(cls, superclass) && !name_equal(cls->name, superclass);
}

int repo_class_enum(Repo *r, const char *ns, const char *superclass, bool deep, CimClass ***ret,
                    size_t *ret_count, Error *err) {
        NsEntry *nse;
        ClassCache *c;
        int k = repo_ns_find(r, ns, &nse, err);
        if (k == 0)
                k = repo_ns_classes(r, nse, &c, err);
        if (k != 0)
                return k;
        if (superclass && !repo_cache_find(c, superclass))
                return error_set(err, WBEM_E_INVALID_CLASS,
                                 "class %s does not exist in namespace %s", superclass, nse->name);
        CimClass **list = mem_calloc(c->n_entries + 1, sizeof(CimClass *));
        if (!list)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < c->n_entries; i++)
                if (enum_match(c->entries[i].cls, superclass, deep))
                        list[n++] = class_ref(c->entries[i].cls);
        *ret = list;
        *ret_count = n;
        return 0;
}

/* The classes derived from e at any depth, parents first (cache order). */
static int class_subtree(const ClassCache *c, const ClassEntry *e, ClassEntry ***ret,
                         size_t *ret_count) {
        ClassEntry **list = mem_calloc(c->n_entries + 1, sizeof(ClassEntry *));
        if (!list)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < c->n_entries; i++)
                if (&c->entries[i] != e && class_isa(c->entries[i].cls, e->cls->name))
                        list[n++] = &c->entries[i];
        *ret = list;
        *ret_count = n;
        return 0;
}

static int class_has_instances(Repo *r, int64_t id, bool *ret, Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        int k = repo_stmt(r, REPO_STMT_CLASS_HAS_INSTANCES, &st, err);
        if (k != 0)
                return k;
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return repo_sqlite_error(r, rc, err, "looking for instances");
        *ret = rc == SQLITE_ROW;
        return 0;
}

/* Whether the stored definition of class id is exactly text. */
static int class_definition_equal(Repo *r, int64_t id, const char *text, bool *ret, Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        int k = repo_stmt(r, REPO_STMT_CLASS_DEFINITION, &st, err);
        if (k != 0)
                return k;
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return repo_sqlite_error(r, rc, err, "reading a class");
        const char *stored = (const char *)sqlite3_column_text(st, 0);
        if (!stored)
                return repo_sqlite_error(r, sqlite3_errcode(r->db), err, "reading a class");
        *ret = strcmp(stored, text) == 0;
        return 0;
}

static int class_write_row(Repo *r, RepoStmt which, int64_t first, const CimClass *def,
                           const char *text, int64_t *ret_id, Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        int k = repo_stmt(r, which, &st, err);
        if (k != 0)
                return k;
        sqlite3_bind_int64(st, 1, first);
        sqlite3_bind_text(st, 2, def->name, -1, SQLITE_STATIC);
        if (def->superclass)
                sqlite3_bind_text(st, 3, def->superclass, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
        k = repo_step_done(r, st, err, "storing a class");
        if (k != 0)
                return k;
        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(r->db);
        return 0;
}

static int class_delete_row(Repo *r, int64_t id, Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        int k = repo_stmt(r, REPO_STMT_CLASS_DELETE, &st, err);
        if (k != 0)
                return k;
        sqlite3_bind_int64(st, 1, id);
        return repo_step_done(r, st, err, "deleting a class");
}

static void reshape_free(RepoReshape *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                class_unref((CimClass *)list[i].new_cls);
        mem_free(list);
}

/* REPO_FORCE: derive the subclasses again under the new class (any failure
 * aborts the put) and give all their instances the new shapes. Runs inside
 * the transaction. */
static int class_update_subtree(Repo *r, NsEntry *nse, ClassCache *c, const ClassEntry *old,
                                CimClass *flat, ClassEntry **sub, size_t n_sub, Error *err) {
        RepoReshape *list = mem_calloc(n_sub + 1, sizeof(RepoReshape));
        if (!list)
                return -ENOMEM;
        list[0] = (RepoReshape){ .id = old->id, .new_cls = class_ref(flat) };
        size_t n = 1;
        int k = 0;
        for (size_t i = 0; i < n_sub; i++) {
                const CimClass *def = sub[i]->def;
                const CimClass *parent = NULL;
                for (size_t j = 0; j < n && !parent; j++)
                        if (name_equal(list[j].new_cls->name, def->superclass))
                                parent = list[j].new_cls;
                if (!parent) {
                        ClassEntry *pe = repo_cache_find(c, def->superclass);
                        parent = pe ? pe->cls : NULL;
                }
                CimClass *nc = NULL;
                k = class_derive(def, parent, &nc, err);
                if (k != 0) {
                        k = repo_error_prefix(err, k, "subclass %s: ", def->name);
                        break;
                }
                list[n++] = (RepoReshape){ .id = sub[i]->id, .new_cls = nc };
        }
        if (k == 0)
                k = repo_instance_reshape(r, nse, c, list, n, err);
        reshape_free(list, n);
        return k;
}

int repo_class_put(Repo *r, const char *ns, const CimClass *def, unsigned flags, CimClass **ret,
                   Error *err) {
        NsEntry *nse;
        ClassCache *c;
        int k = repo_ns_find(r, ns, &nse, err);
        if (k == 0)
                k = repo_ns_classes(r, nse, &c, err);
        if (k != 0)
                return k;
        if (!def || !def->name)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no class given");
        if ((flags & REPO_CREATE_ONLY) && (flags & REPO_UPDATE_ONLY))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "create-only and update-only exclude each other");
        if (class_name_is_system(def->name))
                return error_set(err, WBEM_E_INVALID_OPERATION, "system class %s cannot be changed",
                                 def->name);

        ClassEntry *super = NULL;
        if (def->superclass) {
                super = repo_cache_find(c, def->superclass);
                if (!super)
                        return error_set(err, WBEM_E_INVALID_SUPERCLASS,
                                         "class %s: superclass %s does not exist in namespace %s",
                                         def->name, def->superclass, nse->name);
                if (!super->def && !name_equal(super->cls->name, "__ExtrinsicEvent"))
                        return error_set(err, WBEM_E_INVALID_SUPERCLASS,
                                         "class %s: system class %s cannot be a superclass "
                                         "(event classes derive from __ExtrinsicEvent)",
                                         def->name, super->cls->name);
        }
        ClassEntry *old = repo_cache_find(c, def->name);
        if (old && (flags & REPO_CREATE_ONLY))
                return error_set(err, WBEM_E_ALREADY_EXISTS,
                                 "class %s already exists in namespace %s", old->cls->name,
                                 nse->name);
        if (!old && (flags & REPO_UPDATE_ONLY))
                return error_set(err, WBEM_E_NOT_FOUND, "class %s does not exist in namespace %s",
                                 def->name, nse->name);
        if (old && super && class_isa(super->cls, def->name))
                return error_set(err, WBEM_E_INVALID_SUPERCLASS,
                                 "class %s cannot derive from %s, which derives from it", def->name,
                                 super->cls->name);

        _cleanup_(class_unrefp) CimClass *flat = NULL;
        k = class_derive(def, super ? super->cls : NULL, &flat, err);
        if (k != 0)
                return k;
        _cleanup_free_ char *text = NULL;
        {
                _cleanup_(json_decrefp) json_t *j = NULL;
                k = objjson_class_to_json(def, &(ObjJsonOptions){ .storage = true }, &j, err);
                if (k != 0)
                        return repo_error_prefix(err, k, "class %s: ", def->name);
                k = repo_json_dump(j, &text);
                if (k != 0)
                        return k;
        }

        _cleanup_free_ ClassEntry **sub = NULL;
        size_t n_sub = 0;
        if (old) {
                bool same = false;
                k = class_definition_equal(r, old->id, text, &same, err);
                if (k != 0)
                        return k;
                if (same) {
                        if (ret)
                                *ret = class_ref(old->cls);
                        return 0;
                }
                k = class_subtree(c, old, &sub, &n_sub);
                if (k != 0)
                        return k;
        }

        k = repo_tx_begin(r, err);
        if (k != 0)
                return k;
        if (old) {
                bool has_instances = false;
                k = class_has_instances(r, old->id, &has_instances, err);
                if (k == 0 && !(flags & REPO_FORCE)) {
                        if (n_sub > 0)
                                k = error_set(
                                        err, WBEM_E_CLASS_HAS_CHILDREN,
                                        "class %s has subclasses (%s%s): changing it needs force",
                                        old->cls->name, sub[0]->cls->name,
                                        n_sub > 1 ? ", ..." : "");
                        else if (has_instances)
                                k = error_set(err, WBEM_E_CLASS_HAS_INSTANCES,
                                              "class %s has instances: changing it needs force",
                                              old->cls->name);
                }
                if (k == 0)
                        k = class_write_row(r, REPO_STMT_CLASS_UPDATE, old->id, def, text, NULL,
                                            err);
                if (k == 0 && (n_sub > 0 || has_instances))
                        k = class_update_subtree(r, nse, c, old, flat, sub, n_sub, err);
        } else
                k = class_write_row(r, REPO_STMT_CLASS_INSERT, nse->id, def, text, NULL, err);
        if (k == 0)
                k = repo_tx_commit(r, err);
        if (k != 0) {
                repo_tx_rollback(r);
                return k;
        }

        repo_ns_classes_refresh(r, nse);
        if (ret) {
                ClassEntry *e = nse->classes ? repo_cache_find(nse->classes, def->name) : NULL;
                *ret = class_ref(e ? e->cls : flat);
        }
        return 0;
}

int repo_class_delete(Repo *r, const char *ns, const char *name, unsigned flags, Error *err) {
        NsEntry *nse;
        ClassCache *c;
        int k = repo_ns_find(r, ns, &nse, err);
        if (k == 0)
                k = repo_ns_classes(r, nse, &c, err);
        if (k != 0)
                return k;
        if (!name)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no class name given");
        ClassEntry *e = repo_cache_find(c, name);
        if (!e)
                return error_set(err, WBEM_E_NOT_FOUND, "class %s does not exist in namespace %s",
                                 name, nse->name);
        if (!e->def)
                return error_set(err, WBEM_E_INVALID_OPERATION, "system class %s cannot be deleted",
                                 e->cls->name);
        _cleanup_free_ ClassEntry **sub = NULL;
        size_t n_sub = 0;
        k = class_subtree(c, e, &sub, &n_sub);
        if (k != 0)
                return k;

        k = repo_tx_begin(r, err);
        if (k != 0)
                return k;
        if (!(flags & REPO_DELETE_CASCADE)) {
                bool has_instances = false;
                if (n_sub > 0)
                        k = error_set(err, WBEM_E_CLASS_HAS_CHILDREN,
                                      "class %s has subclasses (%s%s): deleting it needs cascade",
                                      e->cls->name, sub[0]->cls->name, n_sub > 1 ? ", ..." : "");
                else
                        k = class_has_instances(r, e->id, &has_instances, err);
                if (k == 0 && has_instances)
                        k = error_set(err, WBEM_E_CLASS_HAS_INSTANCES,
                                      "class %s has instances: deleting it needs cascade",
                                      e->cls->name);
        }
        /* Subclasses first; instances follow their class by foreign key. */
        for (size_t i = n_sub; k == 0 && i-- > 0;)
                k = class_delete_row(r, sub[i]->id, err);
        if (k == 0)
                k = class_delete_row(r, e->id, err);
        if (k == 0)
                k = repo_tx_commit(r, err);
        if (k != 0) {
                repo_tx_rollback(r);
                return k;
        }
        repo_ns_classes_refresh(r, nse);
        return 0;
}
