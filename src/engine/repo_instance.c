/* Instance operations of the repository: put, get and delete by path,
 * enumeration in chunks, and the reshaping of stored instances when their
 * class is changed by force.
 *
 * An instance row is found by its key: the folded name of the topmost class
 * that declares the keys, then the keys sorted by name with their values in
 * a canonical text (docs/repository.md). The row's data is the instance in
 * objjson's storage form. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "objjson.h"
#include "objpath.h"
#include "repo_internal.h"
#include "strbuf.h"

/* Rows read per chunk of an enumeration or a reshape. */
#define REPO_CHUNK 128

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(ObjectPath *, objpath_free);

static const CimClass *cache_lookup(void *userdata, const char *name) {
        ClassEntry *e = repo_cache_find(userdata, name);
        return e ? e->cls : NULL;
}

/* The class whose name identifies the key space of cls: the topmost class
 * that has the same keys (or, for a singleton, is a singleton). Keys can
 * only be declared by a class whose superclass has none, so the ancestors
 * that have keys form an unbroken line up from cls. */
static const char *key_space_class(const CimClass *cls, RepoClassLookup lookup, void *userdata) {
        const char *root = cls->name;
        for (size_t k = 0; k < cls->n_derivation; k++) {
                const CimClass *a = lookup(userdata, cls->derivation[k]);
                if (!a || (cls->is_singleton ? !a->is_singleton : a->n_keys == 0))
                        break;
                root = a->name;
        }
        return root;
}

static void append_folded(StrBuf *b, const char *s) {
        for (; *s; s++)
                strbuf_append_char(b, *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s);
}

/* A key value in canonical text: equal keys give equal text whatever form
 * they were written in. */
static void append_key_value(StrBuf *b, const Value *v) {
        char dt[26];
        switch (v->type) {
        case CIM_STRING:
                objpath_append_quoted(b, v->s);
                return;
        case CIM_REFERENCE: {
                /* A path written with other spacing, key order or quoting
                 * names the same object: compare canonical forms. */
                ObjectPath *p = NULL;
                int k = objpath_parse(v->s, &p, NULL);
                if (k < 0) {
                        b->failed = true;
                        return;
                }
                _cleanup_free_ char *text = k == 0 ? objpath_format(p) : NULL;
                objpath_free(p);
                if (k == 0 && !text) {
                        b->failed = true;
                        return;
                }
                objpath_append_quoted(b, text ? text : v->s);
                return;
        }
        case CIM_BOOLEAN:
                strbuf_append(b, v->b ? "TRUE" : "FALSE");
                return;
        case CIM_SINT8:
        case CIM_SINT16:
        case CIM_SINT32:
        case CIM_SINT64:
                strbuf_printf(b, "%" PRId64, v->i);
                return;
        case CIM_UINT8:
        case CIM_UINT16:
        case CIM_UINT32:
        case CIM_UINT64:
                strbuf_printf(b, "%" PRIu64, v->u);
                return;
        case CIM_DATETIME: {
                /* The same instant written with another UTC offset. */
                CimDatetime d = v->dt;
                if (!d.is_interval)
                        d.utc_offset_min = 0;
                cim_datetime_format(&d, dt);
                objpath_append_quoted(b, dt);
                return;
        }
        default: {
                _cleanup_free_ char *text = value_to_text(v);
                if (!text)
                        b->failed = true;
                else
                        objpath_append_quoted(b, text);
                return;
        }
        }
}

int repo_instance_key(const CimClass *cls, const Value *values, RepoClassLookup lookup,
                      void *userdata, char **ret) {
        StrBuf b = STRBUF_INIT;

        append_folded(&b, key_space_class(cls, lookup, userdata));
        if (cls->is_singleton)
                strbuf_append(&b, "=@");
        else {
                _cleanup_free_ size_t *keys = mem_calloc(cls->n_keys + 1, sizeof(size_t));
                if (!keys) {
                        strbuf_done(&b);
                        return -ENOMEM;
                }
                size_t n = 0;
                for (size_t k = 0; k < cls->n_props && n < cls->n_keys; k++) {
                        if (!cls->props[k].is_key)
                                continue;
                        /* Insertion sort by name: there are few keys. */
                        size_t at = n++;
                        while (at > 0 && name_compare(cls->props[keys[at - 1]].name,
                                                      cls->props[k].name) > 0) {
                                keys[at] = keys[at - 1];
                                at--;
                        }
                        keys[at] = k;
                }
                for (size_t k = 0; k < n; k++) {
                        strbuf_append_char(&b, k == 0 ? '.' : ',');
                        append_folded(&b, cls->props[keys[k]].name);
                        strbuf_append_char(&b, '=');
                        append_key_value(&b, &values[keys[k]]);
                }
        }
        char *s = strbuf_steal(&b);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int instance_encode(const Instance *i, char **ret, Error *err) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        int k = objjson_instance_to_json(i, &(ObjJsonOptions){ .storage = true }, &j, err);
        if (k != 0)
                return k;
        return repo_json_dump(j, ret);
}

static int instance_decode(NsEntry *nse, ClassCache *c, const char *text, Instance **ret,
                           Error *err) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_(instance_unrefp) Instance *i = NULL;
        int k = repo_json_load(text, &j, err);
        if (k == 0)
                k = objjson_instance_from_stored_json(j, repo_cache_resolve, c, &i, err);
        if (k != 0)
                return repo_error_prefix(err, k, "namespace %s: stored instance: ", nse->name);
        k = instance_set_namespace(i, nse->name);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(i);
        return 0;
}

/* The relative path of i for messages; "?" when it cannot be made. */
static char *relpath_for_message(const Instance *i) {
        if (instance_validate_keys(i, NULL) != 0)
                return NULL;
        return instance_relpath(i);
}

/* inst's values moved onto cls, the repository's version of its class. */
static int instance_rebase(const Instance *inst, CimClass *cls, const char *ns, Instance **ret,
                           Error *err) {
        _cleanup_(instance_unrefp) Instance *n = NULL;
        int k = instance_new(cls, &n);
        if (k < 0)
                return k;
        for (size_t p = 0; p < inst->cls->n_props; p++) {
                const char *name = inst->cls->props[p].name;
                if (class_find_property(cls, name) < 0)
                        return error_set(err, WBEM_E_INVALID_PROPERTY,
                                         "class %s in namespace %s has no property '%s'", cls->name,
                                         ns, name);
                k = instance_set(n, name, &inst->values[p], err);
                if (k != 0)
                        return repo_error_prefix(err, k, "property '%s': ", name);
        }
        *ret = TAKE_PTR(n);
        return 0;
}

typedef struct InstanceRow {
        int64_t id; /* 0: no row */
        int64_t class_id;
        Instance *inst; /* when asked for */
} InstanceRow;

static int row_find(Repo *r, NsEntry *nse, ClassCache *c, const char *key, bool decode,
                    InstanceRow *ret, Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        int k = repo_stmt(r, REPO_STMT_INST_FIND, &st, err);
        if (k != 0)
                return k;
        sqlite3_bind_int64(st, 1, nse->id);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                *ret = (InstanceRow){ 0 };
                return 0;
        }
        if (rc != SQLITE_ROW)
                return repo_sqlite_error(r, rc, err, "looking up an instance");
        InstanceRow row = { .id = sqlite3_column_int64(st, 0),
                            .class_id = sqlite3_column_int64(st, 1) };
        if (decode) {
                const char *text = (const char *)sqlite3_column_text(st, 2);
                if (!text)
                        return repo_sqlite_error(r, sqlite3_errcode(r->db), err,
                                                 "reading an instance");
                k = instance_decode(nse, c, text, &row.inst, err);
                if (k != 0)
                        return k;
        }
        *ret = row;
        return 0;
}

static int row_write(Repo *r, RepoStmt which, int64_t first, int64_t class_id, const char *key,
                     const char *data, Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        int k = repo_stmt(r, which, &st, err);
        if (k != 0)
                return k;
        sqlite3_bind_int64(st, 1, first);
        sqlite3_bind_int64(st, 2, class_id);
        sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, data, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT_UNIQUE)
                return error_set(err, WBEM_E_ALREADY_EXISTS, "another instance has the same keys");
        if (rc != SQLITE_DONE)
                return repo_sqlite_error(r, rc, err, "storing an instance");
        return 0;
}

static int row_delete(Repo *r, int64_t id, Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        int k = repo_stmt(r, REPO_STMT_INST_DELETE, &st, err);
        if (k != 0)
                return k;
        sqlite3_bind_int64(st, 1, id);
        return repo_step_done(r, st, err, "deleting an instance");
}

static bool class_is_storable(const ClassEntry *e) {
        return e->def && !class_isa(e->cls, "__Event");
}

int repo_instance_put(Repo *r, const char *ns, const Instance *inst, unsigned flags,
                      Instance **ret_previous, bool *ret_created, Error *err) {
        NsEntry *nse;
        ClassCache *c;
        int k = repo_ns_find(r, ns, &nse, err);
        if (k == 0)
                k = repo_ns_classes(r, nse, &c, err);
        if (k != 0)
                return k;
        if (!inst)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no instance given");
        if ((flags & REPO_CREATE_ONLY) && (flags & REPO_UPDATE_ONLY))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "create-only and update-only exclude each other");
        ClassEntry *e = repo_cache_find(c, inst->cls->name);
        if (!e)
                return error_set(err, WBEM_E_INVALID_CLASS,
                                 "class %s does not exist in namespace %s", inst->cls->name,
                                 nse->name);
        if (!class_is_storable(e))
                return error_set(err, WBEM_E_INVALID_CLASS,
                                 "class %s: instances of system and event classes are not stored",
                                 e->cls->name);

        /* An instance built against another copy of the class (another
         * namespace, an older version) is moved onto ours by name. */
        _cleanup_(instance_unrefp) Instance *rebased = NULL;
        const Instance *x = inst;
        if (inst->cls != e->cls) {
                k = instance_rebase(inst, e->cls, nse->name, &rebased, err);
                if (k != 0)
                        return k;
                x = rebased;
        }
        k = instance_validate_keys(x, err);
        if (k != 0)
                return k;
        _cleanup_free_ char *key = NULL, *data = NULL, *relpath = NULL;
        k = repo_instance_key(e->cls, x->values, cache_lookup, c, &key);
        if (k == 0)
                k = instance_encode(x, &data, err);
        if (k != 0)
                return k;
        relpath = instance_relpath(x);
        if (!relpath)
                return -ENOMEM;

        InstanceRow row = { 0 };
        k = repo_tx_begin(r, err);
        if (k != 0)
                return k;
        k = row_find(r, nse, c, key, ret_previous != NULL, &row, err);
        if (k == 0 && row.id != 0) {
                ClassEntry *other = repo_cache_find_id(c, row.class_id);
                if (flags & REPO_CREATE_ONLY)
                        k = error_set(err, WBEM_E_ALREADY_EXISTS,
                                      "instance %s already exists in namespace %s", relpath,
                                      nse->name);
                else if (row.class_id != e->id)
                        k = error_set(
                                err, WBEM_E_ALREADY_EXISTS,
                                "instance %s: an instance of class %s with the same keys exists",
                                relpath, other ? other->cls->name : "?");
                else
                        k = row_write(r, REPO_STMT_INST_UPDATE, row.id, e->id, key, data, err);
        } else if (k == 0) {
                if (flags & REPO_UPDATE_ONLY)
                        k = error_set(err, WBEM_E_NOT_FOUND,
                                      "instance %s does not exist in namespace %s", relpath,
                                      nse->name);
                else
                        k = row_write(r, REPO_STMT_INST_INSERT, nse->id, e->id, key, data, err);
        }
        if (k == 0)
                k = repo_tx_commit(r, err);
        if (k != 0) {
                repo_tx_rollback(r);
                instance_unref(row.inst);
                return k;
        }
        if (ret_previous)
                *ret_previous = row.inst;
        if (ret_created)
                *ret_created = row.id == 0;
        return 0;
}

/* Parse a path and make the row key it names. *ret_class is the path's
 * class. */
static int path_key(NsEntry *nse, ClassCache *c, const char *path, ClassEntry **ret_class,
                    char **ret_key, Error *err) {
        _cleanup_(objpath_freep) ObjectPath *p = NULL;
        int k;

        if (!path)
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "no path given");
        k = objpath_parse(path, &p, err);
        if (k != 0)
                return k;
        if (p->ns) {
                _cleanup_free_ char *n = namespace_normalize(p->ns);
                if (!n && errno == ENOMEM)
                        return -ENOMEM;
                if (!n || !name_equal(n, nse->name))
                        return error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                         "the path names namespace %s, not %s", p->ns, nse->name);
        }
        ClassEntry *e = repo_cache_find(c, p->class_name);
        if (!e)
                return error_set(err, WBEM_E_INVALID_CLASS,
                                 "class %s does not exist in namespace %s", p->class_name,
                                 nse->name);
        const CimClass *cls = e->cls;
        if (p->is_singleton != cls->is_singleton)
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                 p->is_singleton ? "class %s is not a singleton"
                                                 : "class %s is a singleton: its path is %s=@",
                                 cls->name, cls->name);
        if (!p->is_singleton && p->n_keys == 0)
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                 "the path names class %s, not an instance", cls->name);

        Value *values = mem_calloc(cls->n_props + 1, sizeof(Value));
        if (!values)
                return -ENOMEM;
        for (size_t i = 0; i < cls->n_props; i++)
                values[i] = value_null(cls->props[i].type, cls->props[i].is_array);
        for (size_t i = 0; k == 0 && i < p->n_keys; i++) {
                const ObjectPathKey *pk = &p->keys[i];
                long idx = -1;
                if (!pk->name) {
                        for (size_t j = 0; j < cls->n_props && cls->n_keys == 1 && p->n_keys == 1;
                             j++)
                                if (cls->props[j].is_key)
                                        idx = (long)j;
                        if (idx < 0)
                                k = error_set(
                                        err, WBEM_E_INVALID_OBJECT_PATH,
                                        "a key without a name needs a class with exactly one key, "
                                        "and class %s has %zu",
                                        cls->name, cls->n_keys);
                } else {
                        idx = class_find_property(cls, pk->name);
                        if (idx < 0 || !cls->props[idx].is_key)
                                k = error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                              "%s is not a key of class %s", pk->name, cls->name);
                }
                if (k == 0 && !values[idx].is_null)
                        k = error_set(err, WBEM_E_INVALID_OBJECT_PATH, "key %s is given twice",
                                      cls->props[idx].name);
                if (k == 0) {
                        k = value_convert(&pk->value, cls->props[idx].type, false, &values[idx],
                                          err);
                        if (k > 0) {
                                /* The path is what is wrong, whatever the conversion said. */
                                if (err)
                                        err->status = WBEM_E_INVALID_OBJECT_PATH;
                                k = repo_error_prefix(err, WBEM_E_INVALID_OBJECT_PATH,
                                                      "key %s: ", cls->props[idx].name);
                        } else if (k == 0 && values[idx].is_null)
                                k = error_set(err, WBEM_E_INVALID_OBJECT_PATH, "key %s is NULL",
                                              cls->props[idx].name);
                }
        }
        for (size_t i = 0; k == 0 && i < cls->n_props; i++)
                if (cls->props[i].is_key && values[i].is_null)
                        k = error_set(err, WBEM_E_INVALID_OBJECT_PATH,
                                      "the path lacks key %s of class %s", cls->props[i].name,
                                      cls->name);
        if (k == 0)
                k = repo_instance_key(cls, values, cache_lookup, c, ret_key);
        for (size_t i = 0; i < cls->n_props; i++)
                value_clear(&values[i]);
        mem_free(values);
        if (k != 0)
                return k;
        *ret_class = e;
        return 0;
}

/* The row at path, decoded; WBEM_E_NOT_FOUND when absent or of a class that
 * is not the path's class or derived from it. */
static int instance_locate(Repo *r, NsEntry *nse, ClassCache *c, const char *path, InstanceRow *ret,
                           Error *err) {
        ClassEntry *e = NULL;
        _cleanup_free_ char *key = NULL;
        int k = path_key(nse, c, path, &e, &key, err);
        if (k != 0)
                return k;
        InstanceRow row;
        k = row_find(r, nse, c, key, true, &row, err);
        if (k != 0)
                return k;
        if (row.id == 0 || !class_isa(row.inst->cls, e->cls->name)) {
                instance_unref(row.inst);
                return error_set(err, WBEM_E_NOT_FOUND,
                                 "instance %s does not exist in namespace %s", path, nse->name);
        }
        *ret = row;
        return 0;
}

int repo_instance_get(Repo *r, const char *ns, const char *path, Instance **ret, Error *err) {
        NsEntry *nse;
        ClassCache *c;
        int k = repo_ns_find(r, ns, &nse, err);
        if (k == 0)
                k = repo_ns_classes(r, nse, &c, err);
        if (k != 0)
                return k;
        InstanceRow row;
        k = instance_locate(r, nse, c, path, &row, err);
        if (k != 0)
                return k;
        *ret = row.inst;
        return 0;
}

int repo_instance_delete(Repo *r, const char *ns, const char *path, Instance **ret_deleted,
                         Error *err) {
        NsEntry *nse;
        ClassCache *c;
        int k = repo_ns_find(r, ns, &nse, err);
        if (k == 0)
                k = repo_ns_classes(r, nse, &c, err);
        if (k != 0)
                return k;
        k = repo_tx_begin(r, err);
        if (k != 0)
                return k;
        InstanceRow row = { 0 };
        k = instance_locate(r, nse, c, path, &row, err);
        if (k == 0)
                k = row_delete(r, row.id, err);
        if (k == 0)
                k = repo_tx_commit(r, err);
        if (k != 0) {
                repo_tx_rollback(r);
                instance_unref(row.inst);
                return k;
        }
        if (ret_deleted)
                *ret_deleted = row.inst;
        else
                instance_unref(row.inst);
        return 0;
}

/* Read up to limit rows of class_id after id *last, decoded, into
 * rows/ids; *ret_count of them. */
static int chunk_read(Repo *r, NsEntry *nse, ClassCache *c, int64_t class_id, int64_t *last,
                      size_t limit, Instance **rows, int64_t *ids, size_t *ret_count, Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        size_t n = 0;
        int k = repo_stmt(r, REPO_STMT_INST_CHUNK, &st, err);
        if (k != 0)
                return k;
        sqlite3_bind_int64(st, 1, class_id);
        sqlite3_bind_int64(st, 2, *last);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *text = (const char *)sqlite3_column_text(st, 1);
                if (!text)
                        k = repo_sqlite_error(r, sqlite3_errcode(r->db), err,
                                              "reading an instance");
                else
                        k = instance_decode(nse, c, text, &rows[n], err);
                if (k != 0)
                        break;
                ids[n++] = sqlite3_column_int64(st, 0);
        }
        if (k == 0 && rc != SQLITE_DONE)
                k = repo_sqlite_error(r, rc, err, "reading instances");
        if (k != 0) {
                for (size_t i = 0; i < n; i++)
                        rows[i] = instance_unref(rows[i]);
                return k;
        }
        if (n > 0)
                *last = ids[n - 1];
        *ret_count = n;
        return 0;
}

int repo_instance_enum(Repo *r, const char *ns, const char *class_name, bool deep,
                       RepoInstanceFunc fn, void *userdata, Error *err) {
        NsEntry *nse;
        ClassCache *c;
        int k = repo_ns_find(r, ns, &nse, err);
        if (k == 0)
                k = repo_ns_classes(r, nse, &c, err);
        if (k != 0)
                return k;
        if (!class_name)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no class name given");
        ClassEntry *e = repo_cache_find(c, class_name);
        if (!e)
                return error_set(err, WBEM_E_INVALID_CLASS,
                                 "class %s does not exist in namespace %s", class_name, nse->name);

        /* The callback may change classes (the cache is rebuilt) or delete
         * the namespace: keep ids and names, and look things up again for
         * every chunk. */
        _cleanup_free_ char *ns_name = mem_strdup(nse->name);
        _cleanup_free_ int64_t *class_ids = mem_calloc(c->n_entries + 1, sizeof(int64_t));
        _cleanup_free_ Instance **rows = mem_calloc(REPO_CHUNK, sizeof(Instance *));
        _cleanup_free_ int64_t *ids = mem_calloc(REPO_CHUNK, sizeof(int64_t));
        if (!ns_name || !class_ids || !rows || !ids)
                return -ENOMEM;
        size_t n_classes = 0;
        for (size_t i = 0; i < c->n_entries; i++) {
                const ClassEntry *x = &c->entries[i];
                if (x->id != 0 && (x == e || (deep && class_isa(x->cls, e->cls->name))))
                        class_ids[n_classes++] = x->id;
        }

        for (size_t i = 0; i < n_classes; i++) {
                int64_t last = 0;
                for (;;) {
                        size_t n = 0;
                        if (repo_ns_find(r, ns_name, &nse, NULL) != 0)
                                return 0; /* deleted by the callback */
                        k = repo_ns_classes(r, nse, &c, err);
                        if (k == 0)
                                k = chunk_read(r, nse, c, class_ids[i], &last, REPO_CHUNK, rows, ids, &n, err);
                        if (k != 0)
                                return k;
                        for (size_t j = 0; j < n; j++) {
                                if (k == 0)
                                        k = fn(rows[j], userdata);
                                rows[j] = instance_unref(rows[j]);
                        }
                        if (k != 0)
                                return k;
                        if (n < REPO_CHUNK)
                                break;
                }
        }
        return 0;
}

int repo_instance_page(Repo *r, const char *ns, const char *class_name, int64_t after, size_t limit,
                       RepoInstanceFunc fn, void *userdata, int64_t *ret_next, Error *err) {
        NsEntry *nse;
        ClassCache *c;
        int k = repo_ns_find(r, ns, &nse, err);
        if (k == 0)
                k = repo_ns_classes(r, nse, &c, err);
        if (k != 0)
                return k;
        if (!class_name)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no class name given");
        if (limit == 0 || limit > INT32_MAX)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "page size %zu is out of range", limit);
        ClassEntry *e = repo_cache_find(c, class_name);
        if (!e)
                return error_set(err, WBEM_E_INVALID_CLASS, "class %s does not exist in namespace %s", class_name,
                                 nse->name);
        if (e->id == 0) {
                /* A system class: never has stored instances. */
                *ret_next = 0;
                return 0;
        }
        _cleanup_free_ Instance **rows = mem_calloc(limit, sizeof(Instance *));
        _cleanup_free_ int64_t *ids = mem_calloc(limit, sizeof(int64_t));
        if (!rows || !ids)
                return -ENOMEM;
        size_t n = 0;
        int64_t last = after;
        k = chunk_read(r, nse, c, e->id, &last, limit, rows, ids, &n, err);
        if (k != 0)
                return k;
        for (size_t j = 0; j < n; j++) {
                if (k == 0)
                        k = fn(rows[j], userdata);
                rows[j] = instance_unref(rows[j]);
        }
        if (k != 0)
                return k;
        *ret_next = n < limit ? 0 : last;
        return 0;
}

/* ---- reshaping after a forced class change --------------------------------- */

typedef struct ReshapeLookup {
        const RepoReshape *classes;
        size_t n;
        ClassCache *cache;
} ReshapeLookup;

static const CimClass *reshape_lookup(void *userdata, const char *name) {
        ReshapeLookup *l = userdata;
        for (size_t i = 0; i < l->n; i++)
                if (name_equal(l->classes[i].new_cls->name, name))
                        return l->classes[i].new_cls;
        return cache_lookup(l->cache, name);
}

static int reshape_one(Repo *r, const Instance *old, int64_t id, const RepoReshape *to,
                       ReshapeLookup *lookup, Error *err) {
        _cleanup_(instance_unrefp) Instance *n = NULL;
        const CimClass *cls = to->new_cls;
        int k = instance_new((CimClass *)cls, &n);
        if (k < 0)
                return k;
        for (size_t p = 0; k == 0 && p < cls->n_props; p++) {
                const Value *v = instance_get(old, cls->props[p].name);
                if (v)
                        k = instance_set(n, cls->props[p].name, v, err);
                if (k != 0)
                        k = repo_error_prefix(err, k, "property '%s': ", cls->props[p].name);
        }
        if (k == 0)
                k = instance_validate_keys(n, err);
        _cleanup_free_ char *key = NULL, *data = NULL;
        if (k == 0)
                k = repo_instance_key(cls, n->values, reshape_lookup, lookup, &key);
        if (k == 0)
                k = instance_encode(n, &data, err);
        if (k == 0)
                k = row_write(r, REPO_STMT_INST_UPDATE, id, to->id, key, data, err);
        return k;
}

int repo_instance_reshape(Repo *r, NsEntry *nse, ClassCache *cache, const RepoReshape *classes,
                          size_t n, Error *err) {
        ReshapeLookup lookup = { .classes = classes, .n = n, .cache = cache };
        _cleanup_free_ Instance **rows = mem_calloc(REPO_CHUNK, sizeof(Instance *));
        _cleanup_free_ int64_t *ids = mem_calloc(REPO_CHUNK, sizeof(int64_t));
        if (!rows || !ids)
                return -ENOMEM;
        int k = 0;

        /* First move every affected row out of the key space, so that keys
         * that trade places under the new definitions do not collide on the
         * way; what collides afterwards really has the same keys. */
        for (size_t i = 0; k == 0 && i < n; i++) {
                _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
                k = repo_stmt(r, REPO_STMT_INST_UNKEY, &st, err);
                if (k == 0) {
                        sqlite3_bind_int64(st, 1, classes[i].id);
                        k = repo_step_done(r, st, err, "reshaping instances");
                }
        }
        for (size_t i = 0; k == 0 && i < n; i++) {
                int64_t last = 0;
                for (;;) {
                        size_t got = 0;
                        k = chunk_read(r, nse, cache, classes[i].id, &last, REPO_CHUNK, rows, ids, &got, err);
                        if (k != 0)
                                break;
                        for (size_t j = 0; j < got; j++) {
                                if (k == 0) {
                                        k = reshape_one(r, rows[j], ids[j], &classes[i], &lookup,
                                                        err);
                                        if (k > 0) {
                                                _cleanup_free_ char *rp =
                                                        relpath_for_message(rows[j]);
                                                k = repo_error_prefix(
                                                        err, k, "instance %s: ", rp ? rp : "?");
                                        }
                                }
                                rows[j] = instance_unref(rows[j]);
                        }
                        if (k != 0 || got < REPO_CHUNK)
                                break;
                }
        }
        return k;
}
