/* The class cache of a namespace: its flattened classes, system classes
 * first and then the stored ones, parents before children, with a hash index
 * by case-insensitive name. It is built whole from the database on first use
 * and after each committed class change, so that reading a class (the
 * dispatcher's and the evaluator's path) never touches SQLite. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "objjson.h"
#include "repo_internal.h"

ClassCache *repo_cache_free(ClassCache *c) {
        if (!c)
                return NULL;
        for (size_t k = 0; k < c->n_entries; k++) {
                class_unref(c->entries[k].cls);
                class_unref(c->entries[k].def);
        }
        mem_free(c->entries);
        mem_free(c->index);
        mem_free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ClassCache *, repo_cache_free);

ClassEntry *repo_cache_find(const ClassCache *c, const char *name) {
        for (size_t h = name_hash(name) & c->index_mask;; h = (h + 1) & c->index_mask) {
                size_t slot = c->index[h];
                if (slot == 0)
                        return NULL;
                if (name_equal(c->entries[slot - 1].cls->name, name))
                        return &c->entries[slot - 1];
        }
}

ClassEntry *repo_cache_find_id(const ClassCache *c, int64_t id) {
        for (size_t k = 0; k < c->n_entries; k++)
                if (c->entries[k].id == id)
                        return &c->entries[k];
        return NULL;
}

int repo_cache_resolve(void *userdata, const char *name, CimClass **ret, Error *err) {
        ClassEntry *e = repo_cache_find(userdata, name);
        if (!e)
                return error_set(err, WBEM_E_INVALID_CLASS, "class %s does not exist", name);
        *ret = class_ref(e->cls);
        return 0;
}

/* Append a flattened class (the cache is sized for all of them up front). */
static void class_cache_add(ClassCache *c, CimClass *cls, CimClass *def, int64_t id) {
        size_t n = c->n_entries++;
        c->entries[n] = (ClassEntry){ .cls = cls, .def = def, .id = id };
        size_t h = name_hash(cls->name) & c->index_mask;
        while (c->index[h] != 0)
                h = (h + 1) & c->index_mask;
        c->index[h] = n + 1;
}

typedef struct StoredClass {
        int64_t id;
        json_t *json;
} StoredClass;

static void stored_classes_free(StoredClass *rows, size_t n) {
        for (size_t k = 0; k < n; k++)
                if (rows[k].json)
                        json_decref(rows[k].json);
        mem_free(rows);
}

static int stored_classes_read(Repo *r, int64_t ns_id, StoredClass **ret, size_t *ret_count,
                               Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        StoredClass *rows = NULL;
        size_t n = 0, cap = 0;
        int k, rc;

        k = repo_stmt(r, REPO_STMT_CLASS_ALL, &st, err);
        if (k != 0)
                return k;
        sqlite3_bind_int64(st, 1, ns_id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        StoredClass *nrows = mem_reallocarray(rows, ncap, sizeof(*rows));
                        if (!nrows) {
                                stored_classes_free(rows, n);
                                return -ENOMEM;
                        }
                        rows = nrows;
                        cap = ncap;
                }
                const char *text = (const char *)sqlite3_column_text(st, 1);
                if (!text) {
                        stored_classes_free(rows, n);
                        return repo_sqlite_error(r, sqlite3_errcode(r->db), err, "reading classes");
                }
                rows[n].id = sqlite3_column_int64(st, 0);
                rows[n].json = NULL;
                k = repo_json_load(text, &rows[n].json, err);
                if (k != 0) {
                        long long id = (long long)rows[n].id;
                        stored_classes_free(rows, n);
                        return repo_error_prefix(err, k, "stored class %lld: ", id);
                }
                n++;
        }
        if (rc != SQLITE_DONE) {
                stored_classes_free(rows, n);
                return repo_sqlite_error(r, rc, err, "reading classes");
        }
        *ret = rows;
        *ret_count = n;
        return 0;
}

/* Build the cache: system classes first, then the stored classes derived in
 * passes, each once its superclass is in (creation order is already
 * parents-first except after a superclass change). */
static int class_cache_load(Repo *r, NsEntry *nse, ClassCache **ret, Error *err) {
        StoredClass *rows = NULL;
        size_t n_rows = 0;
        int k;

        k = stored_classes_read(r, nse->id, &rows, &n_rows, err);
        if (k != 0)
                return k;

        _cleanup_(repo_cache_freep) ClassCache *c = mem_calloc(1, sizeof(*c));
        size_t total = r->n_system_classes + n_rows;
        size_t size = 16;
        while (size < 2 * total)
                size *= 2;
        if (c) {
                c->entries = mem_calloc(total, sizeof(ClassEntry));
                c->index = mem_calloc(size, sizeof(size_t));
                c->index_mask = size - 1;
        }
        if (!c || !c->entries || !c->index) {
                stored_classes_free(rows, n_rows);
                return -ENOMEM;
        }
        for (size_t s = 0; s < r->n_system_classes; s++)
                class_cache_add(c, class_ref(r->system_classes[s]), NULL, 0);

        size_t pending = n_rows;
        while (pending > 0) {
                bool progress = false;
                for (size_t s = 0; s < n_rows; s++) {
                        if (!rows[s].json)
                                continue;
                        json_t *sj = json_object_get(rows[s].json, "__SUPERCLASS");
                        const ClassEntry *super = NULL;
                        if (json_is_string(sj)) {
                                super = repo_cache_find(c, json_string_value(sj));
                                if (!super)
                                        continue;
                        }
                        CimClass *def = NULL, *flat = NULL;
                        k = objjson_class_from_json(rows[s].json, repo_cache_resolve, c, &def, err);
                        if (k == 0) {
                                k = class_derive(def, super ? super->cls : NULL, &flat, err);
                                if (k != 0)
                                        class_unref(def);
                        }
                        if (k != 0) {
                                long long id = (long long)rows[s].id;
                                stored_classes_free(rows, n_rows);
                                return repo_error_prefix(
                                        err, k, "namespace %s: stored class %lld: ", nse->name, id);
                        }
                        class_cache_add(c, flat, def, rows[s].id);
                        json_decref(rows[s].json);
                        rows[s].json = NULL;
                        pending--;
                        progress = true;
                }
                if (!progress)
                        break;
        }
        if (pending > 0) {
                k = WBEM_E_FAILED;
                for (size_t s = 0; s < n_rows; s++)
                        if (rows[s].json) {
                                json_t *cn = json_object_get(rows[s].json, "__CLASS");
                                json_t *sj = json_object_get(rows[s].json, "__SUPERCLASS");
                                k = error_set(
                                        err, WBEM_E_FAILED,
                                        "namespace %s: stored class %s: superclass %s is missing",
                                        nse->name, json_is_string(cn) ? json_string_value(cn) : "?",
                                        json_is_string(sj) ? json_string_value(sj) : "?");
                                break;
                        }
                stored_classes_free(rows, n_rows);
                return k;
        }
        stored_classes_free(rows, n_rows);
        *ret = TAKE_PTR(c);
        return 0;
}

int repo_ns_classes(Repo *r, NsEntry *nse, ClassCache **ret, Error *err) {
        if (!nse->classes) {
                int k = class_cache_load(r, nse, &nse->classes, err);
                if (k != 0)
                        return k;
        }
        *ret = nse->classes;
        return 0;
}

void repo_ns_classes_refresh(Repo *r, NsEntry *nse) {
        nse->classes = repo_cache_free(nse->classes);
        (void)class_cache_load(r, nse, &nse->classes, NULL);
}
