/* WQL: lexer, parser and syntax tree for the WMI Query Language subset in
 * DESIGN.md ("WQL (v1)"):
 *
 *   SELECT * | prop[, prop...] FROM class [WITHIN seconds] [WHERE cond]
 *   cond:    cond AND cond | cond OR cond | NOT cond | ( cond )
 *          | operand op operand            op: = <> != < > <= >=
 *          | prop [NOT] LIKE 'pattern' | prop IS [NOT] NULL | prop ISA 'Class'
 *   operand: prop | prop.prop... | 'string' | "string" | number | TRUE | FALSE | NULL
 *
 * Keywords and names are case-insensitive; CR, LF and TAB are white space;
 * identifiers may contain non-ASCII (UTF-8) letters. Errors carry the 1-based
 * line and column of the offending token and say what was expected:
 * "line 1, column 23: expected FROM, found 'FORM'".
 *
 * The tree keeps literals in their written form (WqlLiteral); the evaluator
 * (wql_eval.h) applies the typed comparison rules of docs/wql.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct WqlLimits {
        size_t max_length;  /* bytes of query text; default 16384 */
        unsigned max_depth; /* nesting of parentheses and NOT; default 64 */
} WqlLimits;

#define WQL_DEFAULT_MAX_LENGTH 16384
#define WQL_DEFAULT_MAX_DEPTH 64

typedef enum WqlLiteralKind {
        WQL_LIT_STRING,
        WQL_LIT_INTEGER, /* fits int64_t: `i`; larger positive values: WQL_LIT_UNSIGNED */
        WQL_LIT_UNSIGNED,
        WQL_LIT_REAL,
        WQL_LIT_BOOLEAN,
        WQL_LIT_NULL,
} WqlLiteralKind;

typedef struct WqlLiteral {
        WqlLiteralKind kind;
        union {
                char *s; /* unescaped, UTF-8 */
                int64_t i;
                uint64_t u;
                double r;
                bool b;
        };
} WqlLiteral;

typedef struct WqlPropertyRef {
        char **parts; /* "TargetInstance", "Name" for TargetInstance.Name */
        size_t n_parts;
} WqlPropertyRef;

typedef struct WqlOperand {
        bool is_property;
        union {
                WqlPropertyRef prop;
                WqlLiteral lit;
        };
        unsigned line, column;
} WqlOperand;

typedef enum WqlExprKind {
        WQL_EXPR_AND,
        WQL_EXPR_OR,
        WQL_EXPR_NOT,
        WQL_EXPR_COMPARE,
        WQL_EXPR_LIKE,    /* prop [NOT] LIKE 'pattern' */
        WQL_EXPR_IS_NULL, /* prop IS [NOT] NULL (also prop = NULL, prop <> NULL) */
        WQL_EXPR_ISA,     /* prop ISA 'Class' */
} WqlExprKind;

typedef enum WqlCompareOp {
        WQL_OP_EQ,
        WQL_OP_NE, /* <> and != */
        WQL_OP_LT,
        WQL_OP_GT,
        WQL_OP_LE,
        WQL_OP_GE,
} WqlCompareOp;

/* The operator that gives the same result with the operands swapped
 * (`5 < X` is `X > 5`). */
WqlCompareOp wql_compare_op_mirror(WqlCompareOp op);

typedef struct WqlExpr WqlExpr;
struct WqlExpr {
        WqlExprKind kind;
        unsigned line, column;
        union {
                struct {
                        WqlExpr *left, *right;
                } binary; /* AND, OR */
                WqlExpr *operand; /* NOT */
                struct {
                        WqlCompareOp op;
                        /* left is always a property: the parser swaps the
                         * operands (and mirrors op) when a literal was
                         * written first; right is a property or a literal. */
                        WqlOperand left, right;
                } compare;
                struct {
                        WqlPropertyRef prop;
                        char *pattern;
                        bool negated;
                } like;
                struct {
                        WqlPropertyRef prop;
                        bool negated; /* IS NOT NULL */
                } is_null;
                struct {
                        WqlPropertyRef prop;
                        char *class_name;
                } isa;
        };
};

typedef struct WqlQuery {
        char *class_name;
        bool select_all;
        char **select; /* property names when !select_all */
        size_t n_select;
        bool has_within;
        double within_seconds; /* > 0 when has_within */
        WqlExpr *where;        /* NULL when there is no WHERE */
        char *text;            /* the query as given */
} WqlQuery;

/* Parse a query of len bytes (need not be NUL-terminated). limits may be
 * NULL for the defaults. Returns 0, -ENOMEM, or WBEM_E_INVALID_QUERY with
 * err->line/column set and a message. */
int wql_parse(const char *text, size_t len, const WqlLimits *limits, WqlQuery **ret, Error *err);
WqlQuery *wql_query_free(WqlQuery *q);

/* The literal of a top-level conjunct `path = literal` of e (joined by AND
 * only, not under OR or NOT), where path is given as its parts, compared
 * ASCII case-insensitively ({"TargetInstance", "Directory"}); NULL when
 * there is none. For providers that derive what to watch from a query
 * (ProviderOps.source_check). */
const WqlLiteral *wql_find_equality(const WqlExpr *e, const char *const *parts, size_t n_parts);

/* Canonical text of a condition or whole query (keywords upper case, strings
 * single-quoted with escapes, minimal parentheses). Equal texts mean equal
 * filters: the dispatcher uses it to share compiled filters. NULL on
 * out-of-memory. */
char *wql_query_format(const WqlQuery *q);
char *wql_expr_format(const WqlExpr *e);
