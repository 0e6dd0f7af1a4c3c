/* The repository's file and its in-memory picture: opening and creating the
 * SQLite database (schema, version rule), statements and transactions, the
 * namespaces. The per-namespace cache of flattened classes is in
 * repo_cache.c, class and instance operations in repo_class.c and
 * repo_instance.c. The on-disk format is described in docs/repository.md. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "objjson.h"
#include "objpath.h"
#include "repo_internal.h"

/* PRAGMA application_id: "LWMI", so that an unrelated SQLite file is told
 * apart from a repository. */
#define REPO_APPLICATION_ID 0x4c574d49
#define REPO_BUSY_TIMEOUT_MS 250

static const char *const stmt_sql[_REPO_STMT_MAX] = {
        [REPO_STMT_BEGIN] = "BEGIN IMMEDIATE",
        [REPO_STMT_COMMIT] = "COMMIT",
        [REPO_STMT_ROLLBACK] = "ROLLBACK",
        [REPO_STMT_NS_ALL] = "SELECT id, name FROM namespaces ORDER BY id",
        [REPO_STMT_NS_INSERT] = "INSERT INTO namespaces(name, parent_id) VALUES(?1, ?2)",
        [REPO_STMT_NS_DELETE] = "DELETE FROM namespaces WHERE id = ?1",
        [REPO_STMT_CLASS_ALL] = "SELECT id, definition FROM classes WHERE ns_id = ?1 ORDER BY id",
        [REPO_STMT_CLASS_DEFINITION] = "SELECT definition FROM classes WHERE id = ?1",
        [REPO_STMT_CLASS_INSERT] = "INSERT INTO classes(ns_id, name, superclass, definition) "
                                   "VALUES(?1, ?2, ?3, ?4)",
        [REPO_STMT_CLASS_UPDATE] = "UPDATE classes SET name = ?2, superclass = ?3, definition = ?4 "
                                   "WHERE id = ?1",
        [REPO_STMT_CLASS_DELETE] = "DELETE FROM classes WHERE id = ?1",
        [REPO_STMT_CLASS_HAS_INSTANCES] = "SELECT 1 FROM instances WHERE class_id = ?1 LIMIT 1",
        [REPO_STMT_INST_FIND] =
                "SELECT id, class_id, data FROM instances WHERE ns_id = ?1 AND path_key = ?2",
        [REPO_STMT_INST_INSERT] = "INSERT INTO instances(ns_id, class_id, path_key, data) "
                                  "VALUES(?1, ?2, ?3, ?4)",
        [REPO_STMT_INST_UPDATE] =
                "UPDATE instances SET class_id = ?2, path_key = ?3, data = ?4 WHERE id = ?1",
        [REPO_STMT_INST_DELETE] = "DELETE FROM instances WHERE id = ?1",
        [REPO_STMT_INST_CHUNK] = "SELECT id, data FROM instances WHERE class_id = ?1 AND id > ?2 "
                                 "ORDER BY id LIMIT ?3",
        /* A temporary key no real one can equal (those start with a name). */
        [REPO_STMT_INST_UNKEY] = "UPDATE instances SET path_key = '#' || id WHERE class_id = ?1",
};

/* Schema version 1. Names compare with NOCASE, which folds ASCII letters
 * only, exactly as name_equal() does. */
static const char schema_v1[] =
        "CREATE TABLE namespaces (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
        "  parent_id INTEGER REFERENCES namespaces(id) ON DELETE CASCADE\n"
        ");\n"
        "CREATE INDEX namespaces_parent ON namespaces(parent_id);\n"
        "CREATE TABLE classes (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  ns_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,\n"
        "  name TEXT NOT NULL COLLATE NOCASE,\n"
        "  superclass TEXT COLLATE NOCASE,\n"
        "  definition TEXT NOT NULL,\n"
        "  UNIQUE (ns_id, name)\n"
        ");\n"
        "CREATE INDEX classes_superclass ON classes(ns_id, superclass);\n"
        "CREATE TABLE instances (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  ns_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,\n"
        "  class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,\n"
        "  path_key TEXT NOT NULL,\n"
        "  data TEXT NOT NULL,\n"
        "  UNIQUE (ns_id, path_key)\n"
        ");\n"
        "CREATE INDEX instances_class ON instances(class_id, id);\n";

static const char *const initial_namespaces[] = { "root", "root/cimv2", "root/lwmi" };

int repo_error_prefix(Error *err, int r, const char *fmt, ...) {
        if (r <= 0 || !err)
                return r;
        char prefix[sizeof(err->message)];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        if (n <= 0)
                return r;
        size_t cap = sizeof(err->message) - 1;
        size_t plen = (size_t)n < cap ? (size_t)n : cap;
        size_t olen = strnlen(err->message, cap);
        if (plen + olen > cap) {
                /* The innermost part says what is wrong: keep it whole and
                 * mark the outer context as cut, once. */
                if (strncmp(err->message, "...: ", 5) == 0 || olen + 5 > cap)
                        return r;
                memcpy(prefix, "...: ", 5);
                plen = 5;
        }
        memmove(err->message + plen, err->message, olen);
        memcpy(err->message, prefix, plen);
        err->message[plen + olen] = '\0';
        return r;
}

int repo_sqlite_error(Repo *r, int rc, Error *err, const char *what) {
        if ((rc & 0xff) == SQLITE_NOMEM || rc == SQLITE_IOERR_NOMEM)
                return -ENOMEM;
        const char *msg = r && r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc);
        return error_set(err, WBEM_E_FAILED, "repository %s: %s: %s", r && r->path ? r->path : "",
                         what, msg);
}

int repo_stmt(Repo *r, RepoStmt which, sqlite3_stmt **ret, Error *err) {
        if (!r->stmts[which]) {
                int rc = sqlite3_prepare_v3(r->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                            &r->stmts[which], NULL);
                if (rc != SQLITE_OK) {
                        r->stmts[which] = NULL;
                        return repo_sqlite_error(r, rc, err, "preparing a statement");
                }
        }
        *ret = r->stmts[which];
        return 0;
}

void repo_stmt_resetp(sqlite3_stmt **st) {
        if (*st) {
                sqlite3_reset(*st);
                sqlite3_clear_bindings(*st);
        }
}

int repo_step_done(Repo *r, sqlite3_stmt *st, Error *err, const char *what) {
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
                return repo_sqlite_error(r, rc, err, what);
        return 0;
}

static int tx_step(Repo *r, RepoStmt which, Error *err, const char *what) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        int k = repo_stmt(r, which, &st, err);
        if (k != 0)
                return k;
        return repo_step_done(r, st, err, what);
}

void repo_tx_rollback(Repo *r) {
        /* SQLite may already have rolled back by itself (after out-of-memory
         * or I/O errors); otherwise retry a few times, since a single failed
         * allocation must not leave a transaction open. */
        for (int k = 0; k < 4 && !sqlite3_get_autocommit(r->db); k++)
                (void)tx_step(r, REPO_STMT_ROLLBACK, NULL, "rollback");
}

int repo_tx_begin(Repo *r, Error *err) {
        if (!sqlite3_get_autocommit(r->db))
                repo_tx_rollback(r);
        return tx_step(r, REPO_STMT_BEGIN, err, "beginning a transaction");
}

int repo_tx_commit(Repo *r, Error *err) {
        int k = tx_step(r, REPO_STMT_COMMIT, err, "committing");
        if (k != 0)
                repo_tx_rollback(r);
        return k;
}

int repo_json_load(const char *text, json_t **ret, Error *err) {
        json_error_t jerr;
        json_t *j = json_loads(text, 0, &jerr);
        if (!j && json_error_code(&jerr) != json_error_out_of_memory) {
                /* jansson reports some allocation failures as syntax errors
                 * (a string its lexer could not copy) or with no error at
                 * all. The text is ours and was valid when written: try once
                 * more, and take a second failure as damage. */
                j = json_loads(text, 0, &jerr);
        }
        if (!j) {
                if (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0')
                        return -ENOMEM;
                return error_set(err, WBEM_E_FAILED, "stored data is not valid JSON: %s",
                                 jerr.text);
        }
        *ret = j;
        return 0;
}

int repo_json_dump(json_t *j, char **ret) {
        return objjson_dump(j, JSON_COMPACT, ret);
}

/* ---- namespaces ----------------------------------------------------------- */

static NsEntry *ns_entry_free(NsEntry *e) {
        if (e) {
                repo_cache_free(e->classes);
                mem_free(e->name);
                mem_free(e);
        }
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(NsEntry *, ns_entry_free);

static int ns_entry_new(int64_t id, const char *name, NsEntry **ret) {
        NsEntry *e = mem_calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->id = id;
        e->name = mem_strdup(name);
        if (!e->name) {
                mem_free(e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

/* A normalized copy of ns, or WBEM_E_INVALID_NAMESPACE. */
static int ns_normalize(const char *ns, char **ret, Error *err) {
        if (!ns)
                return error_set(err, WBEM_E_INVALID_NAMESPACE, "no namespace given");
        errno = 0;
        char *n = namespace_normalize(ns);
        if (!n) {
                if (errno == ENOMEM)
                        return -ENOMEM;
                return error_set(err, WBEM_E_INVALID_NAMESPACE, "invalid namespace name '%s'", ns);
        }
        *ret = n;
        return 0;
}

static NsEntry *ns_lookup(Repo *r, const char *normalized, size_t *ret_index) {
        for (size_t k = 0; k < r->n_ns; k++)
                if (name_equal(r->ns[k]->name, normalized)) {
                        if (ret_index)
                                *ret_index = k;
                        return r->ns[k];
                }
        return NULL;
}

int repo_ns_find(Repo *r, const char *ns, NsEntry **ret, Error *err) {
        _cleanup_free_ char *n = NULL;
        int k = ns_normalize(ns, &n, err);
        if (k != 0)
                return k;
        NsEntry *e = ns_lookup(r, n, NULL);
        if (!e)
                return error_set(err, WBEM_E_INVALID_NAMESPACE, "namespace %s does not exist", n);
        *ret = e;
        return 0;
}

bool repo_namespace_exists(Repo *r, const char *ns) {
        NsEntry *e;
        return repo_ns_find(r, ns, &e, NULL) == 0;
}

int repo_namespace_name(Repo *r, const char *ns, const char **ret, Error *err) {
        NsEntry *e;
        int k = repo_ns_find(r, ns, &e, err);
        if (k != 0)
                return k;
        *ret = e->name;
        return 0;
}

/* Whether ns is a (strict) descendant of parent, both normalized; ASCII
 * case folded as name_equal() does. */
static bool ns_is_below(const char *ns, const char *parent) {
        size_t n = strlen(parent);
        if (strlen(ns) <= n + 1 || ns[n] != '/')
                return false;
        for (size_t k = 0; k < n; k++) {
                unsigned char a = (unsigned char)ns[k], b = (unsigned char)parent[k];
                if (a >= 'A' && a <= 'Z')
                        a = (unsigned char)(a - 'A' + 'a');
                if (b >= 'A' && b <= 'Z')
                        b = (unsigned char)(b - 'A' + 'a');
                if (a != b)
                        return false;
        }
        return true;
}

static int ns_insert_row(Repo *r, const char *name, int64_t parent_id, int64_t *ret_id,
                         Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        int k = repo_stmt(r, REPO_STMT_NS_INSERT, &st, err);
        if (k != 0)
                return k;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (parent_id > 0)
                sqlite3_bind_int64(st, 2, parent_id);
        k = repo_step_done(r, st, err, "creating a namespace");
        if (k != 0)
                return k;
        *ret_id = sqlite3_last_insert_rowid(r->db);
        return 0;
}

int repo_namespace_create(Repo *r, const char *ns, Error *err) {
        _cleanup_free_ char *n = NULL;
        int k = ns_normalize(ns, &n, err);
        if (k != 0)
                return k;
        if (ns_lookup(r, n, NULL))
                return error_set(err, WBEM_E_ALREADY_EXISTS, "namespace %s already exists", n);
        char *slash = strrchr(n, '/');
        if (!slash)
                return error_set(err, WBEM_E_INVALID_NAMESPACE,
                                 "namespace %s: every namespace is below root", n);
        _cleanup_free_ char *parent_name = mem_strndup(n, (size_t)(slash - n));
        if (!parent_name)
                return -ENOMEM;
        NsEntry *parent = ns_lookup(r, parent_name, NULL);
        if (!parent)
                return error_set(err, WBEM_E_INVALID_NAMESPACE,
                                 "namespace %s: parent namespace %s does not exist", n,
                                 parent_name);

        /* The parent keeps its stored spelling ("Root/x" is created as
         * "root/x"). Everything that can fail in memory is done before the
         * commit, so the picture in memory always matches the file. */
        _cleanup_free_ char *full = mem_printf("%s/%s", parent->name, slash + 1);
        if (!full)
                return -ENOMEM;
        _cleanup_(ns_entry_freep) NsEntry *e = NULL;
        k = ns_entry_new(0, full, &e);
        if (k < 0)
                return k;
        NsEntry **list = mem_reallocarray(r->ns, r->n_ns + 1, sizeof(NsEntry *));
        if (!list)
                return -ENOMEM;
        r->ns = list;

        k = repo_tx_begin(r, err);
        if (k != 0)
                return k;
        k = ns_insert_row(r, full, parent->id, &e->id, err);
        if (k == 0)
                k = repo_tx_commit(r, err);
        if (k != 0) {
                repo_tx_rollback(r);
                return k;
        }
        r->ns[r->n_ns++] = TAKE_PTR(e);
        return 0;
}

int repo_namespace_delete(Repo *r, const char *ns, Error *err) {
        NsEntry *e;
        int k = repo_ns_find(r, ns, &e, err);
        if (k != 0)
                return k;
        if (name_equal(e->name, "root"))
                return error_set(err, WBEM_E_INVALID_OPERATION, "namespace root cannot be deleted");

        /* Mark first (the only allocation), so that after the commit the
         * picture in memory can follow without anything failing. */
        _cleanup_free_ bool *doomed = mem_calloc(r->n_ns, sizeof(bool));
        if (!doomed)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_ns; i++)
                doomed[i] = r->ns[i] == e || ns_is_below(r->ns[i]->name, e->name);

        k = repo_tx_begin(r, err);
        if (k != 0)
                return k;
        /* Descendants explicitly, newest (so deepest) first; their classes
         * and instances go with them through the foreign keys. */
        for (size_t i = r->n_ns; k == 0 && i-- > 0;) {
                if (!doomed[i])
                        continue;
                _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
                k = repo_stmt(r, REPO_STMT_NS_DELETE, &st, err);
                if (k == 0) {
                        sqlite3_bind_int64(st, 1, r->ns[i]->id);
                        k = repo_step_done(r, st, err, "deleting a namespace");
                }
        }
        if (k == 0)
                k = repo_tx_commit(r, err);
        if (k != 0) {
                repo_tx_rollback(r);
                return k;
        }

        size_t kept = 0;
        for (size_t i = 0; i < r->n_ns; i++) {
                if (doomed[i])
                        ns_entry_free(r->ns[i]);
                else
                        r->ns[kept++] = r->ns[i];
        }
        r->n_ns = kept;
        return 0;
}

static int name_comparep(const void *a, const void *b) {
        return name_compare(*(char *const *)a, *(char *const *)b);
}

int repo_namespace_list(Repo *r, const char *parent, char ***ret, size_t *ret_count, Error *err) {
        NsEntry *p;
        int k = repo_ns_find(r, parent, &p, err);
        if (k != 0)
                return k;
        size_t plen = strlen(p->name), n = 0;
        char **list = mem_calloc(r->n_ns + 1, sizeof(char *));
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_ns; i++) {
                const char *name = r->ns[i]->name;
                if (!ns_is_below(name, p->name) || strchr(name + plen + 1, '/'))
                        continue;
                list[n] = mem_strdup(name);
                if (!list[n]) {
                        for (size_t j = 0; j < n; j++)
                                mem_free(list[j]);
                        mem_free(list);
                        return -ENOMEM;
                }
                n++;
        }
        qsort(list, n, sizeof(char *), name_comparep);
        *ret = list;
        if (ret_count)
                *ret_count = n;
        return 0;
}

/* ---- opening -------------------------------------------------------------- */

static int pragma_int(Repo *r, const char *sql, int *ret, Error *err) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
        if (rc == SQLITE_OK) {
                rc = sqlite3_step(st);
                if (rc == SQLITE_ROW) {
                        *ret = sqlite3_column_int(st, 0);
                        rc = SQLITE_OK;
                }
        }
        sqlite3_finalize(st);
        if (rc == SQLITE_OK)
                return 0;
        if ((rc & 0xff) == SQLITE_NOTADB)
                return error_set(err, WBEM_E_FAILED,
                                 "%s is not an lwmi repository: not a SQLite database", r->path);
        return repo_sqlite_error(r, rc, err, "reading the schema version");
}

static int exec(Repo *r, const char *sql, Error *err, const char *what) {
        int rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return repo_sqlite_error(r, rc, err, what);
        return 0;
}

static int repo_create_schema(Repo *r, Error *err) {
        char sql[128];
        int k = repo_tx_begin(r, err);
        if (k != 0)
                return k;
        k = exec(r, schema_v1, err, "creating the schema");
        if (k == 0) {
                snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
                         REPO_APPLICATION_ID, REPO_SCHEMA_VERSION);
                k = exec(r, sql, err, "setting the schema version");
        }
        int64_t ids[ELEMENTSOF(initial_namespaces)] = { 0 };
        for (size_t i = 0; k == 0 && i < ELEMENTSOF(initial_namespaces); i++)
                k = ns_insert_row(r, initial_namespaces[i], i == 0 ? 0 : ids[0], &ids[i], err);
        if (k == 0)
                k = repo_tx_commit(r, err);
        if (k != 0)
                repo_tx_rollback(r);
        return k;
}

/* Check (and on a new file, create) the schema; refuse what is not ours. */
static int repo_check_schema(Repo *r, Error *err) {
        int version = 0, app_id = 0, n_objects = 0;
        int k = pragma_int(r, "PRAGMA user_version", &version, err);
        if (k == 0)
                k = pragma_int(r, "PRAGMA application_id", &app_id, err);
        if (k != 0)
                return k;
        if (version > REPO_SCHEMA_VERSION)
                return error_set(err, WBEM_E_REPOSITORY_VERSION,
                                 "repository %s has schema version %d, but this lwmi knows "
                                 "versions up to %d: "
                                 "use a newer lwmi",
                                 r->path, version, REPO_SCHEMA_VERSION);
        if (version == 0) {
                k = pragma_int(r, "SELECT count(*) FROM sqlite_master", &n_objects, err);
                if (k != 0)
                        return k;
                if (n_objects > 0 || app_id != 0)
                        return error_set(
                                err, WBEM_E_FAILED,
                                "%s is not an lwmi repository: a SQLite database of another kind",
                                r->path);
        } else if (app_id != REPO_APPLICATION_ID || version < 1)
                return error_set(err, WBEM_E_FAILED,
                                 "%s is not an lwmi repository: a SQLite database of another kind",
                                 r->path);

        /* WAL with synchronous=NORMAL: a commit is atomic under kill -9 (the
         * WAL is checksummed and replayed or ignored as a whole). */
        k = exec(r, "PRAGMA journal_mode = WAL", err, "switching to WAL mode");
        if (k == 0)
                k = exec(r, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", err,
                         "setting pragmas");
        if (k == 0 && version == 0)
                k = repo_create_schema(r, err);
        return k;
}

static int repo_load_namespaces(Repo *r, Error *err) {
        _cleanup_(repo_stmt_resetp) sqlite3_stmt *st = NULL;
        int k = repo_stmt(r, REPO_STMT_NS_ALL, &st, err);
        if (k != 0)
                return k;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *name = (const char *)sqlite3_column_text(st, 1);
                if (!name)
                        return repo_sqlite_error(r, sqlite3_errcode(r->db), err,
                                                 "reading namespaces");
                NsEntry **list = mem_reallocarray(r->ns, r->n_ns + 1, sizeof(NsEntry *));
                if (!list)
                        return -ENOMEM;
                r->ns = list;
                k = ns_entry_new(sqlite3_column_int64(st, 0), name, &r->ns[r->n_ns]);
                if (k < 0)
                        return k;
                r->n_ns++;
        }
        if (rc != SQLITE_DONE)
                return repo_sqlite_error(r, rc, err, "reading namespaces");
        if (!ns_lookup(r, "root", NULL))
                return error_set(err, WBEM_E_FAILED, "repository %s has no root namespace",
                                 r->path);
        return 0;
}

/* mkdir -p of the directory part of path, new directories mode 0700. */
static int make_parent_dirs(const char *path, Error *err) {
        _cleanup_free_ char *dir = mem_strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        for (char *p = dir + 1;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char c = *p;
                *p = '\0';
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return error_set(err, WBEM_E_FAILED, "cannot create directory %s: %s", dir,
                                         strerror(errno));
                *p = c;
                if (c == '\0')
                        break;
        }
        return 0;
}

Repo *repo_close(Repo *r) {
        if (!r)
                return NULL;
        for (size_t k = 0; k < _REPO_STMT_MAX; k++)
                sqlite3_finalize(r->stmts[k]);
        if (r->db)
                sqlite3_close_v2(r->db);
        for (size_t k = 0; k < r->n_ns; k++)
                ns_entry_free(r->ns[k]);
        mem_free(r->ns);
        for (size_t k = 0; k < r->n_system_classes; k++)
                class_unref(r->system_classes[k]);
        mem_free(r->system_classes);
        mem_free(r->path);
        mem_free(r);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Repo *, repo_close);

sqlite3 *repo_sqlite(Repo *r) {
        return r->db;
}

int repo_open(const char *path, Repo **ret, Error *err) {
        int k;

        if (!path || !*path)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no repository path given");
        _cleanup_(repo_closep) Repo *r = mem_calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->path = mem_strdup(path);
        if (!r->path)
                return -ENOMEM;
        bool memory = strcmp(path, ":memory:") == 0;
        if (!memory) {
                k = make_parent_dirs(path, err);
                if (k != 0)
                        return k;
        }
        int rc = sqlite3_open_v2(path, &r->db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 NULL);
        if (rc != SQLITE_OK) {
                if ((rc & 0xff) == SQLITE_NOMEM)
                        return -ENOMEM;
                return error_set(err, WBEM_E_FAILED, "cannot open repository %s: %s", path,
                                 r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
        }
        sqlite3_extended_result_codes(r->db, 1);
        sqlite3_busy_timeout(r->db, REPO_BUSY_TIMEOUT_MS);

        k = repo_check_schema(r, err);
        if (k == 0)
                k = repo_grants_init(r, err);
        if (k != 0)
                return k;
        k = repo_load_namespaces(r, err);
        if (k != 0)
                return k;
        k = class_system_classes(&r->system_classes, &r->n_system_classes);
        if (k != 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

int repo_checkpoint(Repo *r, Error *err) {
        int rc = sqlite3_wal_checkpoint_v2(r->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK)
                return repo_sqlite_error(r, rc, err, "checkpointing");
        return 0;
}

int repo_default_path(char **ret) {
        char *p;
        if (geteuid() == 0)
                p = mem_strdup("/var/lib/lwmi/repository.db");
        else {
                const char *state = getenv("XDG_STATE_HOME");
                const char *home = getenv("HOME");
                if (state && state[0] == '/')
                        p = mem_printf("%s/lwmi/repository.db", state);
                else if (home && home[0] == '/')
                        p = mem_printf("%s/.local/state/lwmi/repository.db", home);
                else
                        return -ENOENT;
        }
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}
