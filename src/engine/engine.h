/* The engine: one object that owns the repository, the registered providers
 * and the query limits, and answers the data operations of the protocol
 * (GetObject, ExecQuery, Put/Delete/Enum of classes and instances). The
 * daemon holds one Engine; tests create their own on ":memory:".
 *
 * Data queries run as cursors: engine_query_begin() parses and checks the
 * query and returns a cursor; engine_query_next() yields one matching,
 * projected instance at a time, so the daemon can send a large result in
 * chunks and return to its loop between them. Deep semantics as in WMI:
 * instances of subclasses of the FROM class are included.
 *
 * Every function returns 0, a negative errno (-ENOMEM; err is filled too,
 * as error_from_errno() does), or a positive WbemStatus with err filled
 * (engine_query_next() also -EAGAIN: call again later). Namespaces are
 * accepted in any case and with '/' or '\' separators; objects the engine
 * hands out carry the namespace's stored spelling. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "class.h"
#include "error.h"
#include "instance.h"
#include "provider.h"
#include "repo.h"
#include "wql.h"

typedef struct Engine Engine;
typedef struct QueryCursor QueryCursor;

/* Instances a cursor reads from the repository at a time (one page). */
#define ENGINE_QUERY_PAGE 128
/* The work one engine_query_next() call may do before it gives up with
 * -EAGAIN: pages read, and instances examined that did not match. */
#define ENGINE_QUERY_BUDGET_PAGES 4
#define ENGINE_QUERY_BUDGET_REJECTED 512

typedef struct EngineOptions {
        const char *repository_path; /* ":memory:" for tests */
        const char *host_name;       /* for __SERVER and __PATH; NULL: gethostname() */
        WqlLimits wql_limits;        /* zeros: the defaults */
} EngineOptions;

/* Open the repository at opts->repository_path (NULL: repo_default_path())
 * and make an engine without providers. Errors: those of repo_open. */
int engine_new(const EngineOptions *opts, Engine **ret, Error *err);
/* Frees the registered providers too. Accepts NULL, returns NULL. Cursors
 * must be ended first. */
Engine *engine_free(Engine *e);
Repo *engine_repo(Engine *e);
const char *engine_host_name(const Engine *e);

/* Register a provider: its classes are put into p->ns (created if missing;
 * its parent must exist), replacing earlier definitions of the same names
 * (REPO_FORCE), and from then on instances of those classes come from p.
 * The engine takes ownership of p in every case: on failure p is freed.
 * Errors: those of get_classes and repo_class_put; WBEM_E_ALREADY_EXISTS
 * when another provider already serves one of the classes. A failure after
 * some classes were put leaves them in the repository. */
int engine_register_provider(Engine *e, Provider *p, Error *err);
/* The provider serving class_name in ns, or NULL (also for an unknown
 * namespace). */
Provider *engine_class_provider(Engine *e, const char *ns, const char *class_name);

/* Start a data query (SELECT ... FROM class [WHERE ...]) in namespace ns.
 * Errors: WBEM_E_INVALID_QUERY (syntax, with position; a property not in the
 * class, with the position of the name: properties of subclasses are not
 * visible in a query on the superclass, as in WMI; WITHIN, which only event
 * queries take), WBEM_E_INVALID_CLASS (no such class; position of the name),
 * WBEM_E_INVALID_NAMESPACE, WBEM_E_INVALID_QUERY_TYPE (an event class in a
 * data query).
 *
 * The cursor visits the FROM class and then its subclasses, parents first;
 * abstract classes contribute no instances of their own. A provider's class
 * is enumerated through the provider (given the query as a hint; the engine
 * applies WHERE unless the provider says it did), any other class is read
 * from the repository ENGINE_QUERY_PAGE instances at a time, so the cursor
 * never holds more than one page. A page may hold no match: a selective
 * WHERE would make one engine_query_next() read many pages, so each call
 * has a work budget (ENGINE_QUERY_BUDGET_*) and returns -EAGAIN when it is
 * used up. The daemon may
 * write to the repository between calls; what changes may or may not be
 * seen, and a class deleted meanwhile contributes nothing more. */
int engine_query_begin(Engine *e, const char *ns, const char *text, size_t len, QueryCursor **ret,
                       Error *err);
/* engine_query_begin() for a peer: providers get `caller` (copied into the
 * cursor; may be NULL: the daemon itself) and show only what it may see
 * (provider.h, ProviderCaller). The daemon passes the peer's identity on
 * every request a peer makes; the functions without _as are for the
 * daemon's own work and tests. */
int engine_query_begin_as(Engine *e, const ProviderCaller *caller, const char *ns, const char *text,
                          size_t len, QueryCursor **ret, Error *err);
/* 0 with *ret an instance; 0 with *ret NULL at the end (and on every call
 * after it); -EAGAIN when this call's work budget (ENGINE_QUERY_BUDGET_*)
 * was used up before a match: nothing is lost, call again (the daemon on
 * its next loop turn), *ret and err untouched; otherwise an error, a
 * negative errno or a positive WbemStatus (e.g. WBEM_E_FAILED for
 * SQLite's failures) with err filled, and the cursor is then finished.
 * *ret is a new reference, with its namespace set. With a select list it is
 * projected as in WMI: the selected properties and the key properties (so
 * that __RELPATH and __PATH stay valid) hold their values, every other
 * property is NULL; system properties are computed as usual. A provider
 * error keeps its status, prefixed in the message with the provider. */
int engine_query_next(QueryCursor *c, Instance **ret, Error *err);
/* The parsed query (for its select list); for engine_enum_instances() a
 * query "SELECT * FROM class". */
const WqlQuery *engine_query_parsed(const QueryCursor *c);
QueryCursor *engine_query_end(QueryCursor *c); /* accepts NULL, returns NULL */
/* For tests: the repository pages this cursor has read so far. */
size_t engine_query_pages_read(const QueryCursor *c);

/* EnumInstances: a cursor over the instances of class_name and, with deep,
 * of its subclasses (abstract classes contribute none of their own), from
 * providers and the repository as for a query, without WHERE or
 * projection. WBEM_E_INVALID_NAMESPACE, WBEM_E_INVALID_CLASS. */
int engine_enum_instances(Engine *e, const char *ns, const char *class_name, bool deep,
                          QueryCursor **ret, Error *err);
int engine_enum_instances_as(Engine *e, const ProviderCaller *caller, const char *ns,
                             const char *class_name, bool deep, QueryCursor **ret, Error *err);

/* GetObject: a path to an instance (keys, or Class=@ for a singleton), or a
 * class name, in namespace ns (a namespace written in the path must be ns).
 * Exactly one of *ret_instance / *ret_class is set on success (new
 * references). An instance of a provider's class comes from the provider's
 * get_instance, or, when it has none, from enumerating the class and
 * comparing keys; other instances from the repository (also those of a
 * subclass, whose keys are the same; a provider's subclass is asked too).
 * Errors: WBEM_E_INVALID_OBJECT_PATH (does not parse, keys missing, extra or
 * mistyped, singleton form on a class that is none or the reverse),
 * WBEM_E_INVALID_CLASS (an instance path of an unknown class),
 * WBEM_E_NOT_FOUND (no such class for a class path, no such instance),
 * WBEM_E_INVALID_NAMESPACE, a provider's error. */
int engine_get_object(Engine *e, const char *ns, const char *path, Instance **ret_instance,
                      CimClass **ret_class, Error *err);
/* engine_get_object() for a peer (see engine_query_begin_as()). */
int engine_get_object_as(Engine *e, const ProviderCaller *caller, const char *ns, const char *path,
                         Instance **ret_instance, CimClass **ret_class, Error *err);

/* Classes, with repo.h's rules and flags, plus one: a provider's class, and
 * a class that a provider's class derives from, belong to the provider and
 * cannot be changed or deleted through the engine (WBEM_E_READ_ONLY, naming
 * the provider): only registering the provider again replaces them. A new
 * subclass of a provider's class may be created; its instances are stored
 * in the repository. *ret (may be NULL) is the flattened class stored. */
int engine_put_class(Engine *e, const char *ns, const CimClass *def, unsigned flags, CimClass **ret,
                     Error *err);
int engine_delete_class(Engine *e, const char *ns, const char *name, unsigned flags, Error *err);
/* EnumClasses: as repo_class_enum (superclass NULL: the root classes, or
 * with deep every class). */
int engine_enum_classes(Engine *e, const char *ns, const char *superclass, bool deep,
                        CimClass ***ret, size_t *ret_count, Error *err);

/* PutInstance: store inst (flags REPO_CREATE_ONLY / REPO_UPDATE_ONLY) in
 * the repository. Its class is looked up by name in ns; inst may be built on
 * another copy of it (properties are matched by name). On success
 * *ret_stored (may be NULL) is the instance as stored, with its namespace
 * set (for the response's path and a creation or modification event), and
 * *ret_previous (may be NULL) the instance it replaced, NULL when it was
 * created. Errors: those of repo_instance_put; WBEM_E_NOT_SUPPORTED for a
 * provider's class ("instances of X come from the process provider and
 * cannot be written"). */
int engine_put_instance(Engine *e, const char *ns, const Instance *inst, unsigned flags,
                        Instance **ret_stored, Instance **ret_previous, Error *err);
/* DeleteInstance: *ret_deleted (may be NULL) is the instance deleted (for a
 * deletion event). Errors: those of repo_instance_delete;
 * WBEM_E_NOT_SUPPORTED for a provider's class. */
int engine_delete_instance(Engine *e, const char *ns, const char *path, Instance **ret_deleted,
                           Error *err);
