/* The repository: namespaces, class definitions and static instances, kept
 * in one SQLite 3 database (docs/repository.md describes the file).
 *
 * Every write is one transaction (BEGIN IMMEDIATE .. COMMIT, rolled back on
 * any error), and the database runs in WAL mode with synchronous=NORMAL, so
 * a process killed in the middle of a write leaves the repository as it was
 * before or after, never in between. The repository never calls anyone back
 * while a transaction or a statement is open: enumeration callbacks run
 * between chunks, with no statement active, and may write.
 *
 * Classes are served from an in-memory cache of flattened classes per
 * namespace, filled on first use and refreshed after every class change, so
 * repo_class_get() (the dispatcher's and the evaluator's path) does not touch
 * SQLite once a namespace is loaded. The cache assumes this process is the
 * only writer (lwmid holds a lock for that).
 *
 * Names of namespaces, classes and properties are case-insensitive and keep
 * the spelling they were created with. Namespace separators may be '/' or
 * '\'. Each namespace holds the system classes (class_system_classes()),
 * served from memory; they cannot be changed. Users may derive classes from
 * __ExtrinsicEvent (their event classes) but from no other system class.
 *
 * Errors: every function returns 0, -ENOMEM, or a positive WbemStatus with
 * err filled; a namespace that does not exist gives WBEM_E_INVALID_NAMESPACE;
 * SQLite failures other than out-of-memory give WBEM_E_FAILED with SQLite's
 * message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class.h"
#include "error.h"
#include "instance.h"

typedef struct Repo Repo;

/* The schema version this code writes and understands (PRAGMA user_version). */
#define REPO_SCHEMA_VERSION 1

/* Flags of the put and delete functions. */
enum {
        REPO_CREATE_ONLY = 1 << 0,    /* put: fail with WBEM_E_ALREADY_EXISTS if present */
        REPO_UPDATE_ONLY = 1 << 1,    /* put: fail with WBEM_E_NOT_FOUND if absent */
        REPO_FORCE = 1 << 2,          /* class put: update even with subclasses or instances */
        REPO_DELETE_CASCADE = 1 << 3, /* class delete: subclasses and instances go too */
};

/* Open (creating if needed) the repository at path; ":memory:" gives a
 * private in-memory one for tests. For a file, missing parent directories
 * are created with mode 0700. A new repository gets the namespaces root,
 * root/cimv2 and root/lwmi. Errors: WBEM_E_REPOSITORY_VERSION for a file of a
 * newer schema version (the message names both versions), WBEM_E_FAILED for a
 * file that is not a SQLite database or not an lwmi repository, or that
 * cannot be opened (with the reason), -ENOMEM. */
int repo_open(const char *path, Repo **ret, Error *err);
Repo *repo_close(Repo *r); /* accepts NULL, returns NULL */

/* The repository's SQLite connection, for tables the daemon keeps in the
 * same file beside the engine's (tokens: src/daemon/tokens.h). Their
 * owners create them with CREATE TABLE IF NOT EXISTS and must not touch
 * the engine's tables, nor use the connection while a repository call is
 * running. */
struct sqlite3 *repo_sqlite(Repo *r);

/* Copy what the write-ahead log holds into the database file, as far as no
 * reader prevents it (a passive checkpoint), so the log does not grow. For
 * the daemon to call when its loop is idle; SQLite also checkpoints by
 * itself after a commit once the log passes 1000 pages. Returns 0 or
 * WBEM_E_FAILED. */
int repo_checkpoint(Repo *r, Error *err);

/* The default file: /var/lib/lwmi/repository.db for root, otherwise
 * $XDG_STATE_HOME/lwmi/repository.db, with ~/.local/state when
 * XDG_STATE_HOME is unset or not absolute. Returns 0, -ENOMEM, or -ENOENT
 * when there is no home directory to use. */
int repo_default_path(char **ret);

/* Namespaces. A name is a '/'- or '\'-separated path under "root". */
/* Create ns; its parent must exist (WBEM_E_INVALID_NAMESPACE otherwise, or
 * for a bad name or a top level other than root); WBEM_E_ALREADY_EXISTS. */
int repo_namespace_create(Repo *r, const char *ns, Error *err);
/* Delete ns with its child namespaces, classes and instances. root cannot be
 * deleted (WBEM_E_INVALID_OPERATION). */
int repo_namespace_delete(Repo *r, const char *ns, Error *err);
bool repo_namespace_exists(Repo *r, const char *ns);
/* The stored spelling of ns (as created, '/' separators) for a name in any
 * case and with either separator: a borrowed string, valid until the
 * namespace is deleted. WBEM_E_INVALID_NAMESPACE, -ENOMEM. */
int repo_namespace_name(Repo *r, const char *ns, const char **ret, Error *err);
/* The direct children of parent, full names in their stored spelling,
 * sorted; a NULL-terminated array the caller frees (each string and the
 * array). *ret_count may be NULL. */
int repo_namespace_list(Repo *r, const char *parent, char ***ret, size_t *ret_count, Error *err);

/* Classes. */
/* Create or update a class from its definition (own properties, superclass
 * by name; a flattened class is accepted too: restated inherited properties
 * are checked by class_derive). Rules (docs/repository.md):
 *  - the superclass must exist and must not be the class or one of its
 *    subclasses (WBEM_E_INVALID_SUPERCLASS); system classes cannot be put
 *    (WBEM_E_INVALID_OPERATION) and only __ExtrinsicEvent among them may be a
 *    superclass (WBEM_E_INVALID_SUPERCLASS);
 *  - the class is derived with class_derive (a subclass cannot drop or
 *    retype inherited properties);
 *  - REPO_CREATE_ONLY / REPO_UPDATE_ONLY: WBEM_E_ALREADY_EXISTS /
 *    WBEM_E_NOT_FOUND;
 *  - putting a definition identical to the stored one changes nothing and
 *    succeeds; any other update of a class that has subclasses fails with
 *    WBEM_E_CLASS_HAS_CHILDREN, of one that has instances with
 *    WBEM_E_CLASS_HAS_INSTANCES, unless REPO_FORCE is given: then subclasses
 *    are derived again (a failure aborts the whole put) and the instances of
 *    the class and its subclasses are kept: values of properties that remain
 *    are converted to the new types (a value that does not convert aborts
 *    the put), properties that are gone are dropped, new ones take their
 *    default, and keys must stay complete and unique.
 * On success *ret (may be NULL) is a new reference to the flattened class. */
int repo_class_put(Repo *r, const char *ns, const CimClass *def, unsigned flags, CimClass **ret,
                   Error *err);
/* The flattened class by case-insensitive name (a new reference), from the
 * cache. WBEM_E_NOT_FOUND when the namespace has no such class. */
int repo_class_get(Repo *r, const char *ns, const char *name, CimClass **ret, Error *err);
/* Delete a class. WBEM_E_CLASS_HAS_CHILDREN / WBEM_E_CLASS_HAS_INSTANCES when
 * it has subclasses / instances, unless REPO_DELETE_CASCADE: then its
 * subclasses and all their instances go too. WBEM_E_NOT_FOUND;
 * WBEM_E_INVALID_OPERATION for a system class. */
int repo_class_delete(Repo *r, const char *ns, const char *name, unsigned flags, Error *err);
/* The classes derived from superclass (NULL: the classes without a
 * superclass), directly or, with deep, at any depth; superclasses before
 * their subclasses. With superclass NULL and deep, every class. Returns an
 * array of *ret_count new references that the caller unrefs and frees.
 * WBEM_E_INVALID_CLASS when superclass does not exist. */
int repo_class_enum(Repo *r, const char *ns, const char *superclass, bool deep, CimClass ***ret,
                    size_t *ret_count, Error *err);

/* Instances. An instance is identified by its keys: the canonical form of
 * its key values under the topmost class that declares them, so instances
 * of a class and of its subclasses share one key space, as in WMI. */
/* Store inst (create, update, or either; REPO_CREATE_ONLY and
 * REPO_UPDATE_ONLY as for classes). The class must exist in ns (by name) and
 * have the properties inst has; keys must be complete (instance_validate_keys).
 * Instances of event classes and system classes are refused
 * (WBEM_E_INVALID_CLASS). An update that would change the class of the
 * instance with these keys fails with WBEM_E_ALREADY_EXISTS. On success
 * *ret_previous (may be NULL) is the instance replaced, or NULL when it was
 * created, and *ret_created (may be NULL) tells which. */
int repo_instance_put(Repo *r, const char *ns, const Instance *inst, unsigned flags,
                      Instance **ret_previous, bool *ret_created, Error *err);
/* The instance at path ("Class.Key=value,..."; class and key names in any
 * case and keys in any order; a namespace in the path must be ns). The key
 * values are converted to the key types. WBEM_E_INVALID_OBJECT_PATH for a
 * path that does not parse, names a class only, or has missing, extra or
 * mistyped keys; WBEM_E_INVALID_CLASS for an unknown class; WBEM_E_NOT_FOUND
 * when there is no such instance (also when the instance with these keys is
 * not of the path's class or a subclass of it). The instance has its
 * namespace set. */
int repo_instance_get(Repo *r, const char *ns, const char *path, Instance **ret, Error *err);
/* Delete the instance at path (errors as repo_instance_get); *ret_deleted
 * (may be NULL) is the instance deleted. */
int repo_instance_delete(Repo *r, const char *ns, const char *path, Instance **ret_deleted,
                         Error *err);

/* Called once per instance (borrowed: take a reference to keep it). A
 * non-zero return stops the enumeration, and repo_instance_enum returns it. */
typedef int (*RepoInstanceFunc)(Instance *inst, void *userdata);
/* Call fn for each instance of class_name and, with deep, of its
 * subclasses: class by class, superclasses first, each in creation order.
 * Instances are read in chunks and fn runs between them with no statement
 * open, so fn may write to the repository (what it changes may or may not
 * be seen by the rest of the enumeration). WBEM_E_INVALID_CLASS for an
 * unknown class. */
int repo_instance_enum(Repo *r, const char *ns, const char *class_name, bool deep,
                       RepoInstanceFunc fn, void *userdata, Error *err);
/* One page of the instances of exactly class_name (not its subclasses), for
 * a caller that must stop between pages (the engine's query cursor): up to
 * limit instances (limit >= 1), in creation order, that follow the position
 * `after` (0: from the start), each passed to fn as repo_instance_enum
 * does, after the page was read and with no statement open. *ret_next is
 * the position to pass for the next page, or 0 when this page was the last
 * (fewer than limit instances were left). Like repo_instance_enum, what
 * changes between pages may or may not be seen; nothing is seen twice.
 * WBEM_E_INVALID_CLASS for an unknown class; a non-zero return of fn stops
 * the page and is returned (*ret_next is then untouched). */
int repo_instance_page(Repo *r, const char *ns, const char *class_name, int64_t after, size_t limit,
                       RepoInstanceFunc fn, void *userdata, int64_t *ret_next, Error *err);

/* Rights grants: rows of the table `rights` (made at open when missing).
 * The repository only stores them; their meaning is the daemon's
 * (src/daemon/rights.h). A grant is keyed by (ns, kind, id). */
typedef struct RepoGrant {
        char *ns;        /* the namespace, normalized spelling */
        char *kind;      /* "user", "group", "everyone", "anonymous" */
        int64_t id;      /* the uid or gid; -1 for everyone and anonymous */
        char *name;      /* the name given when granted; may be NULL */
        unsigned rights; /* a bit mask (rights.h) */
} RepoGrant;
/* Every grant, in the order they were first made: an array of
 * *ret_count that the caller releases with repo_grants_free. */
int repo_grants_load(Repo *r, RepoGrant **ret, size_t *ret_count, Error *err);
void repo_grants_free(RepoGrant *g, size_t n); /* accepts NULL */
/* Store n grants in one transaction: each replaces the stored grant with
 * its key (name and rights), or deletes it when its rights are 0. */
int repo_grants_set(Repo *r, const RepoGrant *g, size_t n, Error *err);
