/* WQL evaluation: a parsed condition (wql.h) against an instance, with the
 * typed comparison rules and three-valued logic written down in
 * docs/wql.md.
 *
 * Logic is SQL's: a comparison involving NULL, a property the instance's
 * class does not have, an array or an embedded object is UNKNOWN; NOT
 * UNKNOWN is UNKNOWN; FALSE AND x is FALSE, TRUE OR x is TRUE; a WHERE
 * matches only when it is TRUE.
 *
 * Evaluation allocates nothing and changes nothing, except that __PATH and
 * __RELPATH are built when a condition uses them (hence -ENOMEM). It
 * recurses only as deep as the query nests (see wql_parse.c), so it is safe
 * on any tree the parser produced. */
#pragma once

#include <stdbool.h>

#include "class.h"
#include "error.h"
#include "instance.h"
#include "wql.h"

typedef enum WqlTruth {
        WQL_FALSE = 0,
        WQL_TRUE = 1,
        WQL_UNKNOWN = 2,
} WqlTruth;

/* What an instance alone does not say. */
typedef struct WqlEvalContext {
        const char *host; /* __SERVER, and the server in __PATH; NULL: unknown */
} WqlEvalContext;

/* The truth of e for inst: a WqlTruth, or -ENOMEM (only when e uses
 * __PATH or __RELPATH). ctx may be NULL. */
int wql_eval_expr(const WqlExpr *e, const Instance *inst, const WqlEvalContext *ctx);

/* Whether inst satisfies q's WHERE (true when there is none): 1 when it is
 * TRUE, 0 when FALSE or UNKNOWN, or -ENOMEM. The FROM class is not checked
 * here; callers select instances of it (or of its subclasses) first. */
int wql_eval_where(const WqlQuery *q, const Instance *inst, const WqlEvalContext *ctx);

/* A condition prepared for repeated evaluation (the dispatcher's fast
 * path). It remembers, for each step of each property path, the index at
 * which the property was found last time, and tries that index first: one
 * name comparison instead of a scan of the class. A remembered index is
 * always verified by name, so instances of any class may be evaluated (a
 * miss falls back to the scan and remembers the new index). Evaluation
 * updates the hints in place: one filter serves one thread at a time. */
typedef struct WqlFilter WqlFilter;

/* e must outlive the filter (keep the WqlQuery). Returns 0 or -ENOMEM. */
int wql_filter_new(const WqlExpr *e, WqlFilter **ret);
WqlFilter *wql_filter_free(WqlFilter *f); /* accepts NULL, returns NULL */
/* The same result as wql_eval_expr(e, inst, ctx). */
int wql_filter_eval(WqlFilter *f, const Instance *inst, const WqlEvalContext *ctx);

/* Validate q against the class it queries, before running a data query:
 * every selected name and every property path in WHERE must exist in cls
 * (system properties such as __CLASS included; a path through an embedded
 * object is checked up to that object, whose class is only known per
 * instance; __THIS is the instance itself), and each predicate must suit
 * its property's type: LIKE a string or reference, ISA an embedded object,
 * no ordering operator on a boolean, no comparison of an embedded object
 * or an array. Returns 0, or WBEM_E_INVALID_QUERY with the position of the
 * offending name in err ("line 1, column 8: 'Nmae' is not a property of
 * Linux_Process"). */
int wql_check_properties(const WqlQuery *q, const CimClass *cls, Error *err);
