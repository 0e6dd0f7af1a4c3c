/* The engine: one object that owns the repository, the registered providers
 * and the query limits, and answers the data operations of the protocol
 * (GetObject, ExecQuery, Put/Delete/Enum of classes and instances). The
 * daemon holds one Engine; tests create their own on ":memory:".
 *
 * Data queries run as cursors: engine_query_begin() parses and checks the
 * query and returns a cursor; engine_query_next() yields one matching,
 * projected instance at a time, so the daemon can send a large result in
 * chunks and return to its loop between them. Deep semantics as in WMI:
 * instances of subclasses of the FROM class are included. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "class.h"
#include "error.h"
#include "instance.h"
#include "provider.h"
#include "wql.h"

typedef struct Engine Engine;
typedef struct Repo Repo;
typedef struct QueryCursor QueryCursor;

typedef struct EngineOptions {
        const char *repository_path; /* ":memory:" for tests */
        const char *host_name;       /* for __SERVER and __PATH; NULL: gethostname() */
        WqlLimits wql_limits;        /* zeros: the defaults */
} EngineOptions;

int engine_new(const EngineOptions *opts, Engine **ret, Error *err);
Engine *engine_free(Engine *e);
Repo *engine_repo(Engine *e);
const char *engine_host_name(const Engine *e);

/* Register a provider: its classes are put into its namespace (replacing
 * earlier definitions of the same names) and the engine takes ownership. */
int engine_register_provider(Engine *e, Provider *p, Error *err);

/* Start a data query (SELECT ... FROM class [WHERE ...]) in namespace ns.
 * Errors: WBEM_E_INVALID_QUERY (syntax, with position; a property not in the
 * class), WBEM_E_INVALID_CLASS (no such class), WBEM_E_INVALID_NAMESPACE,
 * WBEM_E_INVALID_QUERY_TYPE (an event class in a data query). */
int engine_query_begin(Engine *e, const char *ns, const char *text, size_t len,
                       QueryCursor **ret, Error *err);
/* 1 with *ret (a new reference: the instance, projected to the select list
 * when the query has one; system properties stay), 0 at the end, or an
 * error (the cursor is then finished). */
int engine_query_next(QueryCursor *c, Instance **ret, Error *err);
/* The parsed query (for its select list). */
const WqlQuery *engine_query_parsed(const QueryCursor *c);
QueryCursor *engine_query_end(QueryCursor *c); /* returns NULL */

/* GetObject: a path to an instance, or a class name, in namespace ns.
 * Exactly one of *ret_instance / *ret_class is set on success. */
int engine_get_object(Engine *e, const char *ns, const char *path, Instance **ret_instance,
                      CimClass **ret_class, Error *err);
