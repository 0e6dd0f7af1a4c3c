/* Internals shared by the parts of the repository: repo.c (file, schema,
 * statements, transactions, namespaces), repo_cache.c (the class cache of a
 * namespace), repo_class.c (class operations) and repo_instance.c (instance
 * operations). Not for use outside src/engine/repo*.c. */
#pragma once

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "class.h"
#include "error.h"
#include "instance.h"
#include "repo.h"

/* The prepared statements, made on first use and kept until close. */
typedef enum RepoStmt {
        REPO_STMT_BEGIN,
        REPO_STMT_COMMIT,
        REPO_STMT_ROLLBACK,
        REPO_STMT_NS_ALL,
        REPO_STMT_NS_INSERT,
        REPO_STMT_NS_DELETE,
        REPO_STMT_CLASS_ALL,
        REPO_STMT_CLASS_DEFINITION,
        REPO_STMT_CLASS_INSERT,
        REPO_STMT_CLASS_UPDATE,
        REPO_STMT_CLASS_DELETE,
        REPO_STMT_CLASS_HAS_INSTANCES,
        REPO_STMT_INST_FIND,
        REPO_STMT_INST_INSERT,
        REPO_STMT_INST_UPDATE,
        REPO_STMT_INST_DELETE,
        REPO_STMT_INST_CHUNK,
        REPO_STMT_INST_UNKEY,
        _REPO_STMT_MAX,
} RepoStmt;

/* One class of a namespace, flattened. */
typedef struct ClassEntry {
        CimClass *cls; /* flattened; one reference */
        CimClass *def; /* the stored definition; NULL for system classes */
        int64_t id;    /* classes.id; 0 for a system class */
} ClassEntry;

/* The classes of one namespace, parents before children (system classes
 * first), with a hash index by case-insensitive name. Built whole from the
 * database and thrown away whole on change: never modified in place. */
typedef struct ClassCache {
        ClassEntry *entries;
        size_t n_entries;
        size_t *index;     /* entry number + 1; 0 = free slot */
        size_t index_mask; /* index size - 1 (a power of two) */
} ClassCache;

typedef struct NsEntry {
        int64_t id;
        char *name;          /* normalized, spelled as created */
        ClassCache *classes; /* NULL until first needed */
} NsEntry;

struct Repo {
        sqlite3 *db;
        char *path;
        sqlite3_stmt *stmts[_REPO_STMT_MAX];
        NsEntry **ns; /* every namespace, in creation order */
        size_t n_ns;
        CimClass **system_classes;
        size_t n_system_classes;
};

/* Statements: repo_stmt() gives the prepared statement, reset and unbound;
 * declare the local with _cleanup_(repo_stmt_resetp) so it is reset (and
 * its read snapshot released) on every path. */
int repo_stmt(Repo *r, RepoStmt which, sqlite3_stmt **ret, Error *err);
void repo_stmt_resetp(sqlite3_stmt **st);
/* Map a SQLite result code: -ENOMEM for out-of-memory, otherwise
 * WBEM_E_FAILED with what was being done and SQLite's message. */
int repo_sqlite_error(Repo *r, int rc, Error *err, const char *what);
/* Step a statement that returns no rows (SQLITE_DONE expected). */
int repo_step_done(Repo *r, sqlite3_stmt *st, Error *err, const char *what);

int repo_tx_begin(Repo *r, Error *err);
/* CREATE TABLE IF NOT EXISTS rights (repo_rights.c), at every open. */
int repo_grants_init(Repo *r, Error *err);
/* Commits; on failure rolls back and returns the error. */
int repo_tx_commit(Repo *r, Error *err);
void repo_tx_rollback(Repo *r);

/* The namespace by name (any separators, any case): WBEM_E_INVALID_NAMESPACE
 * when invalid or absent. */
int repo_ns_find(Repo *r, const char *ns, NsEntry **ret, Error *err);
/* The namespace's class cache (repo_cache.c), loaded if needed. */
int repo_ns_classes(Repo *r, NsEntry *nse, ClassCache **ret, Error *err);
/* After a committed class change: drop the cache and try to load it again
 * (a failure only leaves it to be loaded on next use). */
void repo_ns_classes_refresh(Repo *r, NsEntry *nse);

ClassCache *repo_cache_free(ClassCache *c); /* returns NULL */
ClassEntry *repo_cache_find(const ClassCache *c, const char *name);
ClassEntry *repo_cache_find_id(const ClassCache *c, int64_t id);
/* ObjJsonResolveFunc over a ClassCache (userdata). */
int repo_cache_resolve(void *userdata, const char *name, CimClass **ret, Error *err);

/* JSON text in and out of the database. */
int repo_json_load(const char *text, json_t **ret, Error *err);
int repo_json_dump(json_t *j, char **ret);

/* Prepend "prefix" to err's message for a positive status. */
int repo_error_prefix(Error *err, int r, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* A class lookup for computing key spaces while classes change. */
typedef const CimClass *(*RepoClassLookup)(void *userdata, const char *name);

/* The identity of an instance: canonical text of its key values under the
 * topmost class that declares the keys (see repo.h). values are indexed like
 * cls->props; only the keys are read and must be non-NULL. */
int repo_instance_key(const CimClass *cls, const Value *values, RepoClassLookup lookup,
                      void *userdata, char **ret);
/* Class put with REPO_FORCE: give every instance of the classes in
 * `classes` (ids and new flattened classes, n of them) the new shape, within
 * the open transaction. cache is the namespace's cache (old classes). */
typedef struct RepoReshape {
        int64_t id;
        const CimClass *new_cls;
} RepoReshape;
int repo_instance_reshape(Repo *r, NsEntry *nse, ClassCache *cache, const RepoReshape *classes,
                          size_t n, Error *err);
