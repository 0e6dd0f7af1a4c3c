/* WQL parser: recursive descent over the tokens of wql_lex.c, building the
 * tree of wql.h.
 *
 * Precedence, loosest first: OR, AND, NOT, then predicates and parentheses.
 * The parser normalizes as it goes, so that later stages see one form:
 * a literal written on the left is moved to the right (mirroring the
 * operator: `5 < X` is `X > 5`), `X = NULL` becomes IS NULL and `X <> NULL`
 * IS NOT NULL, and chains of AND (or OR) are built leaning right with no
 * AND as the left child of an AND (parenthesized chains are spliced in).
 * That last rule bounds recursion: code that walks the tree loops along the
 * right spine of a chain and recurses only into left children and NOT
 * operands, which are nested no deeper than the query's parentheses and
 * NOTs, i.e. the depth limit.
 *
 * The parser itself recurses once per parenthesis or NOT and counts them
 * against max_depth; the limit a caller may set is capped at
 * WQL_DEPTH_CEILING so that no configuration can exhaust the stack. */
#include "wql.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "wql_lex.h"

#define WQL_DEPTH_CEILING 1024u

typedef struct Parser {
        WqlLexer lx;
        WqlToken tok; /* the current (lookahead) token */
        unsigned depth, max_depth;
        Error *err;
} Parser;

static void expr_free(WqlExpr *e);

static void property_clear(WqlPropertyRef *p) {
        for (size_t i = 0; i < p->n_parts; i++)
                mem_free(p->parts[i]);
        mem_free(p->parts);
        p->parts = NULL;
        p->n_parts = 0;
}

static void literal_clear(WqlLiteral *l) {
        if (l->kind == WQL_LIT_STRING)
                mem_free(l->s);
        *l = (WqlLiteral){ .kind = WQL_LIT_NULL };
}

static void operand_clear(WqlOperand *o) {
        if (o->is_property)
                property_clear(&o->prop);
        else
                literal_clear(&o->lit);
        *o = (WqlOperand){ .is_property = false, .lit = { .kind = WQL_LIT_NULL } };
}

/* Loops along right spines and NOT chains; recurses only into left
 * children (see the top of the file). */
static void expr_free(WqlExpr *e) {
        while (e) {
                WqlExpr *next = NULL;
                switch (e->kind) {
                case WQL_EXPR_AND:
                case WQL_EXPR_OR:
                        expr_free(e->binary.left);
                        next = e->binary.right;
                        break;
                case WQL_EXPR_NOT:
                        next = e->operand;
                        break;
                case WQL_EXPR_COMPARE:
                        operand_clear(&e->compare.left);
                        operand_clear(&e->compare.right);
                        break;
                case WQL_EXPR_LIKE:
                        property_clear(&e->like.prop);
                        mem_free(e->like.pattern);
                        break;
                case WQL_EXPR_IS_NULL:
                        property_clear(&e->is_null.prop);
                        break;
                case WQL_EXPR_ISA:
                        property_clear(&e->isa.prop);
                        mem_free(e->isa.class_name);
                        break;
                }
                mem_free(e);
                e = next;
        }
}

static void expr_freep(WqlExpr **e) {
        expr_free(*e);
}

WqlQuery *wql_query_free(WqlQuery *q) {
        if (!q)
                return NULL;
        mem_free(q->class_name);
        for (size_t i = 0; i < q->n_select; i++)
                mem_free(q->select[i]);
        mem_free(q->select);
        expr_free(q->where);
        mem_free(q->text);
        mem_free(q);
        return NULL;
}

static void wql_query_freep(WqlQuery **q) {
        wql_query_free(*q);
}

static int parser_advance(Parser *p) {
        wql_token_clear(&p->tok);
        return wql_lex_next(&p->lx, &p->tok, p->err);
}

/* "<message>, found <token>" at the current token. */
static int parser_fail_found(Parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int parser_fail_found(Parser *p, const char *fmt, ...) {
        char what[256], desc[64];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        wql_token_describe(&p->lx, &p->tok, desc, sizeof(desc));
        return wql_error_at(p->err, p->tok.line, p->tok.column, "%s, found %s", what, desc);
}

static bool token_is_compare_op(WqlTokenKind k) {
        return k == WQL_TOK_EQ || k == WQL_TOK_NE || k == WQL_TOK_LT || k == WQL_TOK_GT ||
               k == WQL_TOK_LE || k == WQL_TOK_GE;
}

static bool token_is_literal(WqlTokenKind k) {
        return k == WQL_TOK_STRING || k == WQL_TOK_NUMBER || k == WQL_TOK_TRUE ||
               k == WQL_TOK_FALSE || k == WQL_TOK_NULL;
}

/* Tokens that can only mean the writer tried arithmetic: `X + 1`, `X * 2`,
 * and `X -1` (a signed number where an operator belongs). */
static bool token_is_arithmetic(const WqlToken *t) {
        return t->kind == WQL_TOK_ARITH || t->kind == WQL_TOK_STAR ||
               (t->kind == WQL_TOK_NUMBER && t->has_sign);
}

static int parser_fail_arithmetic(Parser *p) {
        return parser_fail_found(p, "arithmetic is not supported in WQL");
}

static WqlCompareOp compare_op_from_token(WqlTokenKind k) {
        switch (k) {
        case WQL_TOK_NE:
                return WQL_OP_NE;
        case WQL_TOK_LT:
                return WQL_OP_LT;
        case WQL_TOK_GT:
                return WQL_OP_GT;
        case WQL_TOK_LE:
                return WQL_OP_LE;
        case WQL_TOK_GE:
                return WQL_OP_GE;
        default:
                return WQL_OP_EQ;
        }
}

WqlCompareOp wql_compare_op_mirror(WqlCompareOp op) {
        switch (op) {
        case WQL_OP_LT:
                return WQL_OP_GT;
        case WQL_OP_GT:
                return WQL_OP_LT;
        case WQL_OP_LE:
                return WQL_OP_GE;
        case WQL_OP_GE:
                return WQL_OP_LE;
        default:
                return op;
        }
}

static bool compare_op_is_ordering(WqlCompareOp op) {
        return op != WQL_OP_EQ && op != WQL_OP_NE;
}

/* The identifier token's text, as written. */
static char *token_text(const Parser *p) {
        return mem_strndup(p->lx.text + p->tok.offset, p->tok.length);
}

/* A class name in an ISA string: the identifier rule of names.h. */
static bool class_name_is_valid(const char *s) {
        const unsigned char *u = (const unsigned char *)s;
        if (!(*u == '_' || (*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') || *u >= 0x80))
                return false;
        for (u++; *u; u++)
                if (!(*u == '_' || (*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
                      (*u >= '0' && *u <= '9') || *u >= 0x80))
                        return false;
        return true;
}

/* Make room for item n of a string array that holds n items, doubling the
 * capacity when n reaches a power of two (the arrays in wql.h carry no
 * capacity, so it follows from n): linear, not quadratic, for long lists. */
static int string_array_reserve(char ***arr, size_t n) {
        size_t cap;
        if (n == 0)
                cap = 4;
        else if (n >= 4 && (n & (n - 1)) == 0)
                cap = n * 2;
        else
                return 0; /* room left: capacity is 4, or the power of two above n */
        char **a = mem_reallocarray(*arr, cap, sizeof(char *));
        if (!a)
                return -ENOMEM;
        *arr = a;
        return 0;
}

/* prop ('.' prop)*, at an IDENT token. */
static int parse_property(Parser *p, WqlPropertyRef *ret) {
        WqlPropertyRef prop = { 0 };
        int r;
        for (;;) {
                r = string_array_reserve(&prop.parts, prop.n_parts);
                if (r < 0)
                        goto fail;
                prop.parts[prop.n_parts] = token_text(p);
                if (!prop.parts[prop.n_parts]) {
                        r = -ENOMEM;
                        goto fail;
                }
                prop.n_parts++;
                r = parser_advance(p);
                if (r != 0)
                        goto fail;
                if (p->tok.kind != WQL_TOK_DOT)
                        break;
                r = parser_advance(p);
                if (r != 0)
                        goto fail;
                if (p->tok.kind != WQL_TOK_IDENT) {
                        r = parser_fail_found(p, "expected property name after '.'");
                        goto fail;
                }
        }
        *ret = prop;
        return 0;
fail:
        property_clear(&prop);
        return r;
}

static WqlPropertyRef take_property(WqlPropertyRef *p) {
        WqlPropertyRef r = *p;
        *p = (WqlPropertyRef){ 0 };
        return r;
}

/* The literal of the current token (STRING, NUMBER, TRUE, FALSE, NULL);
 * a string is taken over from the token. */
static WqlLiteral take_literal(Parser *p) {
        WqlLiteral l = { .kind = WQL_LIT_NULL };
        switch (p->tok.kind) {
        case WQL_TOK_STRING:
                l.kind = WQL_LIT_STRING;
                l.s = TAKE_PTR(p->tok.str);
                break;
        case WQL_TOK_NUMBER:
                l = p->tok.num;
                break;
        case WQL_TOK_TRUE:
        case WQL_TOK_FALSE:
                l.kind = WQL_LIT_BOOLEAN;
                l.b = p->tok.kind == WQL_TOK_TRUE;
                break;
        default:
                break;
        }
        return l;
}

static int new_expr(WqlExprKind kind, unsigned line, unsigned column, WqlExpr **ret) {
        WqlExpr *e = mem_calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->kind = kind;
        e->line = line;
        e->column = column;
        *ret = e;
        return 0;
}

/* The operator token as written ("<>" or "!="), for messages. */
static void op_describe(const Parser *p, const WqlToken *op, char *buf, size_t size) {
        snprintf(buf, size, "%.*s", (int)op->length, p->lx.text + op->offset);
}

/* Checks shared by both operand orders once the operator and the literal
 * side are known: booleans only with = and <>, NULL only with = and <>. */
static int check_literal_with_op(Parser *p, const WqlToken *lit_tok, const WqlToken *op_tok,
                                 WqlCompareOp op) {
        char opbuf[8];
        if (!compare_op_is_ordering(op))
                return 0;
        op_describe(p, op_tok, opbuf, sizeof(opbuf));
        if (lit_tok->kind == WQL_TOK_TRUE || lit_tok->kind == WQL_TOK_FALSE)
                return wql_error_at(p->err, lit_tok->line, lit_tok->column,
                                    "operator '%s' cannot compare booleans (only = and <> can)",
                                    opbuf);
        if (lit_tok->kind == WQL_TOK_NULL)
                return wql_error_at(
                        p->err, lit_tok->line, lit_tok->column,
                        "operator '%s' cannot be used with NULL (use IS NULL or IS NOT NULL)",
                        opbuf);
        return 0;
}

/* Build prop OP literal-or-NULL (NULL gives IS [NOT] NULL). */
static int build_compare_literal(WqlPropertyRef *prop, unsigned pline, unsigned pcol,
                                 WqlCompareOp op, WqlLiteral *lit, unsigned lline, unsigned lcol,
                                 unsigned eline, unsigned ecol, WqlExpr **ret) {
        WqlExpr *e;
        int r;
        if (lit->kind == WQL_LIT_NULL) {
                r = new_expr(WQL_EXPR_IS_NULL, eline, ecol, &e);
                if (r < 0)
                        return r;
                e->is_null.prop = *prop;
                e->is_null.negated = op == WQL_OP_NE;
        } else {
                r = new_expr(WQL_EXPR_COMPARE, eline, ecol, &e);
                if (r < 0)
                        return r;
                e->compare.op = op;
                e->compare.left = (WqlOperand){
                        .is_property = true, .prop = *prop, .line = pline, .column = pcol
                };
                e->compare.right = (WqlOperand){
                        .is_property = false, .lit = *lit, .line = lline, .column = lcol
                };
        }
        *prop = (WqlPropertyRef){ 0 };
        *lit = (WqlLiteral){ .kind = WQL_LIT_NULL };
        *ret = e;
        return 0;
}

/* A predicate starting with a property: comparison, [NOT] LIKE, IS [NOT]
 * NULL or ISA. */
static int parse_property_predicate(Parser *p, WqlExpr **ret) {
        unsigned line = p->tok.line, column = p->tok.column;
        WqlPropertyRef prop = { 0 };
        WqlExpr *e = NULL;
        int r = parse_property(p, &prop);
        if (r != 0)
                return r;

        if (token_is_compare_op(p->tok.kind)) {
                WqlToken op_tok = p->tok; /* holds no string */
                WqlCompareOp op = compare_op_from_token(op_tok.kind);
                r = parser_advance(p);
                if (r != 0)
                        goto fail;
                if (p->tok.kind == WQL_TOK_IDENT) {
                        unsigned rline = p->tok.line, rcol = p->tok.column;
                        WqlPropertyRef right;
                        r = parse_property(p, &right);
                        if (r != 0)
                                goto fail;
                        r = new_expr(WQL_EXPR_COMPARE, line, column, &e);
                        if (r < 0) {
                                property_clear(&right);
                                goto fail;
                        }
                        e->compare.op = op;
                        e->compare.left = (WqlOperand){
                                .is_property = true, .prop = prop, .line = line, .column = column
                        };
                        e->compare.right = (WqlOperand){
                                .is_property = true, .prop = right, .line = rline, .column = rcol
                        };
                        *ret = e;
                        return 0;
                }
                if (!token_is_literal(p->tok.kind)) {
                        char opbuf[8];
                        op_describe(p, &op_tok, opbuf, sizeof(opbuf));
                        r = parser_fail_found(p, "expected a property or a value after '%s'",
                                              opbuf);
                        goto fail;
                }
                r = check_literal_with_op(p, &p->tok, &op_tok, op);
                if (r != 0)
                        goto fail;
                unsigned lline = p->tok.line, lcol = p->tok.column;
                WqlLiteral lit = take_literal(p);
                r = build_compare_literal(&prop, line, column, op, &lit, lline, lcol, line, column,
                                          &e);
                if (r < 0) {
                        literal_clear(&lit);
                        goto fail;
                }
                r = parser_advance(p);
                if (r != 0)
                        goto fail_expr;
                *ret = e;
                return 0;
        }

        switch (p->tok.kind) {
        case WQL_TOK_NOT:
        case WQL_TOK_LIKE: {
                bool negated = p->tok.kind == WQL_TOK_NOT;
                if (negated) {
                        r = parser_advance(p);
                        if (r != 0)
                                goto fail;
                        if (p->tok.kind != WQL_TOK_LIKE) {
                                r = parser_fail_found(p, "expected LIKE after NOT");
                                goto fail;
                        }
                }
                r = parser_advance(p);
                if (r != 0)
                        goto fail;
                if (p->tok.kind != WQL_TOK_STRING) {
                        r = parser_fail_found(p, "LIKE needs a string pattern");
                        goto fail;
                }
                r = new_expr(WQL_EXPR_LIKE, line, column, &e);
                if (r < 0)
                        goto fail;
                e->like.prop = take_property(&prop);
                e->like.pattern = TAKE_PTR(p->tok.str);
                e->like.negated = negated;
                break;
        }
        case WQL_TOK_IS: {
                bool negated = false;
                r = parser_advance(p);
                if (r != 0)
                        goto fail;
                if (p->tok.kind == WQL_TOK_NOT) {
                        negated = true;
                        r = parser_advance(p);
                        if (r != 0)
                                goto fail;
                        if (p->tok.kind != WQL_TOK_NULL) {
                                r = parser_fail_found(p, "expected NULL after IS NOT");
                                goto fail;
                        }
                } else if (p->tok.kind != WQL_TOK_NULL) {
                        r = parser_fail_found(p, "expected NULL or NOT NULL after IS");
                        goto fail;
                }
                r = new_expr(WQL_EXPR_IS_NULL, line, column, &e);
                if (r < 0)
                        goto fail;
                e->is_null.prop = take_property(&prop);
                e->is_null.negated = negated;
                break;
        }
        case WQL_TOK_ISA:
                r = parser_advance(p);
                if (r != 0)
                        goto fail;
                if (p->tok.kind != WQL_TOK_STRING) {
                        r = parser_fail_found(p, "ISA needs a class name in quotes");
                        goto fail;
                }
                if (!class_name_is_valid(p->tok.str)) {
                        r = parser_fail_found(p, "ISA needs a valid class name");
                        goto fail;
                }
                r = new_expr(WQL_EXPR_ISA, line, column, &e);
                if (r < 0)
                        goto fail;
                e->isa.prop = take_property(&prop);
                e->isa.class_name = TAKE_PTR(p->tok.str);
                break;
        default:
                if (token_is_arithmetic(&p->tok))
                        r = parser_fail_arithmetic(p);
                else
                        r = parser_fail_found(p, "expected an operator (=, <>, !=, <, >, <=, >=, "
                                                 "LIKE, NOT LIKE, IS, ISA)");
                goto fail;
        }
        r = parser_advance(p);
        if (r != 0)
                goto fail_expr;
        *ret = e;
        return 0;

fail_expr:
        expr_free(e);
fail:
        property_clear(&prop);
        return r;
}

/* A predicate starting with a literal: only `literal OP property` is
 * valid, stored as `property MIRROR(OP) literal`. */
static int parse_literal_predicate(Parser *p, WqlExpr **ret) {
        WqlToken lit_tok = p->tok;
        lit_tok.str = NULL; /* the string stays with p->tok until taken */
        WqlLiteral lit = take_literal(p);
        WqlPropertyRef prop = { 0 };
        WqlExpr *e = NULL;
        int r = parser_advance(p);
        if (r != 0)
                goto fail;
        if (!token_is_compare_op(p->tok.kind)) {
                if (token_is_arithmetic(&p->tok))
                        r = parser_fail_arithmetic(p);
                else
                        r = parser_fail_found(p, "expected a comparison operator (=, <>, !=, <, >, "
                                                 "<=, >=) after a value");
                goto fail;
        }
        WqlToken op_tok = p->tok;
        WqlCompareOp op = compare_op_from_token(op_tok.kind);
        r = parser_advance(p);
        if (r != 0)
                goto fail;
        if (token_is_literal(p->tok.kind)) {
                char opbuf[8];
                op_describe(p, &op_tok, opbuf, sizeof(opbuf));
                r = wql_error_at(p->err, lit_tok.line, lit_tok.column,
                                 "comparison of two values with '%s': one side must be a property",
                                 opbuf);
                goto fail;
        }
        if (p->tok.kind != WQL_TOK_IDENT) {
                char opbuf[8];
                op_describe(p, &op_tok, opbuf, sizeof(opbuf));
                r = parser_fail_found(p, "expected a property after '%s'", opbuf);
                goto fail;
        }
        r = check_literal_with_op(p, &lit_tok, &op_tok, op);
        if (r != 0)
                goto fail;
        unsigned pline = p->tok.line, pcol = p->tok.column;
        r = parse_property(p, &prop);
        if (r != 0)
                goto fail;
        r = build_compare_literal(&prop, pline, pcol, wql_compare_op_mirror(op), &lit, lit_tok.line,
                                  lit_tok.column, lit_tok.line, lit_tok.column, &e);
        if (r < 0)
                goto fail;
        *ret = e;
        return 0;
fail:
        literal_clear(&lit);
        property_clear(&prop);
        return r;
}

static int parse_or(Parser *p, WqlExpr **ret);

static int depth_enter(Parser *p) {
        if (p->depth >= p->max_depth)
                return wql_error_at(p->err, p->tok.line, p->tok.column, "nesting deeper than %u",
                                    p->max_depth);
        p->depth++;
        return 0;
}

/* '(' cond ')' | predicate */
static int parse_primary(Parser *p, WqlExpr **ret) {
        int r;
        if (p->tok.kind == WQL_TOK_LPAREN) {
                r = depth_enter(p);
                if (r != 0)
                        return r;
                r = parser_advance(p);
                if (r != 0)
                        return r;
                _cleanup_(expr_freep) WqlExpr *e = NULL;
                r = parse_or(p, &e);
                if (r != 0)
                        return r;
                if (p->tok.kind != WQL_TOK_RPAREN) {
                        if (token_is_arithmetic(&p->tok))
                                return parser_fail_arithmetic(p);
                        return parser_fail_found(p, "expected AND, OR or ')'");
                }
                r = parser_advance(p);
                if (r != 0)
                        return r;
                p->depth--;
                *ret = TAKE_PTR(e);
        } else if (p->tok.kind == WQL_TOK_IDENT) {
                r = parse_property_predicate(p, ret);
                if (r != 0)
                        return r;
        } else if (token_is_literal(p->tok.kind)) {
                r = parse_literal_predicate(p, ret);
                if (r != 0)
                        return r;
        } else
                return parser_fail_found(p, "expected a condition");
        /* `X = 1 + 2`: say arithmetic rather than "expected AND, OR" */
        if (token_is_arithmetic(&p->tok)) {
                expr_free(TAKE_PTR(*ret));
                return parser_fail_arithmetic(p);
        }
        return 0;
}

/* NOT* primary */
static int parse_not(Parser *p, WqlExpr **ret) {
        if (p->tok.kind != WQL_TOK_NOT)
                return parse_primary(p, ret);
        unsigned line = p->tok.line, column = p->tok.column;
        int r = depth_enter(p);
        if (r != 0)
                return r;
        r = parser_advance(p);
        if (r != 0)
                return r;
        _cleanup_(expr_freep) WqlExpr *operand = NULL;
        r = parse_not(p, &operand);
        if (r != 0)
                return r;
        p->depth--;
        WqlExpr *e;
        r = new_expr(WQL_EXPR_NOT, line, column, &e);
        if (r < 0)
                return r;
        e->operand = TAKE_PTR(operand);
        *ret = e;
        return 0;
}

/* Terms of one AND (or OR) chain, collected before the chain is built. */
typedef struct TermList {
        WqlExpr **items;
        size_t n, cap;
} TermList;

static void term_list_done(TermList *l) {
        for (size_t i = 0; i < l->n; i++)
                expr_free(l->items[i]);
        mem_free(l->items);
        *l = (TermList){ 0 };
}

/* Append e (taken over, freed on failure); a term that is itself a chain
 * of the same kind is spliced in term by term. */
static int term_list_push(TermList *l, WqlExprKind kind, WqlExpr *e) {
        while (e) {
                WqlExpr *term = e, *rest = NULL;
                if (e->kind == kind) {
                        term = e->binary.left;
                        rest = e->binary.right;
                        mem_free(e);
                }
                if (l->n == l->cap) {
                        /* geometric growth: a chain may have thousands of terms */
                        size_t cap = l->cap ? l->cap * 2 : 8;
                        WqlExpr **items = mem_reallocarray(l->items, cap, sizeof(WqlExpr *));
                        if (!items) {
                                expr_free(term);
                                expr_free(rest);
                                return -ENOMEM;
                        }
                        l->items = items;
                        l->cap = cap;
                }
                l->items[l->n++] = term;
                e = rest;
        }
        return 0;
}

/* term1 KIND (term2 KIND (... termN)), leaning right. */
static int term_list_build(TermList *l, WqlExprKind kind, WqlExpr **ret) {
        WqlExpr *acc = l->items[l->n - 1];
        l->n--;
        while (l->n > 0) {
                WqlExpr *left = l->items[l->n - 1], *node;
                int r = new_expr(kind, left->line, left->column, &node);
                if (r < 0) {
                        expr_free(acc);
                        return r;
                }
                node->binary.left = left;
                node->binary.right = acc;
                acc = node;
                l->n--;
        }
        *ret = acc;
        return 0;
}

/* One level of the chain grammar: sub (OP sub)*, OP being AND or OR. */
static int parse_chain(Parser *p, WqlTokenKind op, WqlExprKind kind,
                       int (*sub)(Parser *, WqlExpr **), WqlExpr **ret) {
        WqlExpr *first;
        int r = sub(p, &first);
        if (r != 0)
                return r;
        if (p->tok.kind != op) {
                *ret = first;
                return 0;
        }
        _cleanup_(term_list_done) TermList terms = { 0 };
        r = term_list_push(&terms, kind, first);
        if (r < 0)
                return r;
        while (p->tok.kind == op) {
                r = parser_advance(p);
                if (r != 0)
                        return r;
                WqlExpr *next;
                r = sub(p, &next);
                if (r != 0)
                        return r;
                r = term_list_push(&terms, kind, next);
                if (r < 0)
                        return r;
        }
        return term_list_build(&terms, kind, ret);
}

static int parse_and(Parser *p, WqlExpr **ret) {
        return parse_chain(p, WQL_TOK_AND, WQL_EXPR_AND, parse_not, ret);
}

static int parse_or(Parser *p, WqlExpr **ret) {
        return parse_chain(p, WQL_TOK_OR, WQL_EXPR_OR, parse_and, ret);
}

static double number_as_double(const WqlLiteral *l) {
        switch (l->kind) {
        case WQL_LIT_INTEGER:
                return (double)l->i;
        case WQL_LIT_UNSIGNED:
                return (double)l->u;
        default:
                return l->r;
        }
}

static int parse_select_list(Parser *p, WqlQuery *q) {
        int r;
        if (p->tok.kind == WQL_TOK_STAR) {
                q->select_all = true;
                return parser_advance(p);
        }
        if (p->tok.kind != WQL_TOK_IDENT)
                return parser_fail_found(p, "expected property name or '*'");
        for (;;) {
                r = string_array_reserve(&q->select, q->n_select);
                if (r < 0)
                        return r;
                q->select[q->n_select] = token_text(p);
                if (!q->select[q->n_select])
                        return -ENOMEM;
                q->n_select++;
                r = parser_advance(p);
                if (r != 0)
                        return r;
                if (p->tok.kind != WQL_TOK_COMMA)
                        return 0;
                r = parser_advance(p);
                if (r != 0)
                        return r;
                if (p->tok.kind != WQL_TOK_IDENT)
                        return parser_fail_found(p, "expected property name after ','");
        }
}

static int parse_query(Parser *p, WqlQuery *q) {
        int r = parser_advance(p);
        if (r != 0)
                return r;
        if (p->tok.kind != WQL_TOK_SELECT)
                return parser_fail_found(p, "expected SELECT");
        r = parser_advance(p);
        if (r != 0)
                return r;
        r = parse_select_list(p, q);
        if (r != 0)
                return r;
        if (p->tok.kind != WQL_TOK_FROM) {
                if (p->tok.kind == WQL_TOK_DOT && !q->select_all)
                        return parser_fail_found(p, "only plain property names can be selected");
                return parser_fail_found(p,
                                         q->select_all ? "expected FROM" : "expected ',' or FROM");
        }
        r = parser_advance(p);
        if (r != 0)
                return r;
        if (p->tok.kind != WQL_TOK_IDENT)
                return parser_fail_found(p, "expected class name after FROM");
        q->class_name = token_text(p);
        if (!q->class_name)
                return -ENOMEM;
        r = parser_advance(p);
        if (r != 0)
                return r;

        if (p->tok.kind == WQL_TOK_WITHIN) {
                r = parser_advance(p);
                if (r != 0)
                        return r;
                if (p->tok.kind != WQL_TOK_NUMBER)
                        return parser_fail_found(p, "expected number of seconds after WITHIN");
                double seconds = number_as_double(&p->tok.num);
                if (!(seconds > 0))
                        return parser_fail_found(p, "WITHIN needs a positive number of seconds");
                q->has_within = true;
                q->within_seconds = seconds;
                r = parser_advance(p);
                if (r != 0)
                        return r;
        }

        if (p->tok.kind == WQL_TOK_WHERE) {
                r = parser_advance(p);
                if (r != 0)
                        return r;
                r = parse_or(p, &q->where);
                if (r != 0)
                        return r;
        }

        if (p->tok.kind != WQL_TOK_END) {
                if (q->where)
                        return parser_fail_found(p, "expected AND, OR or end of query");
                if (q->has_within)
                        return parser_fail_found(p, "expected WHERE or end of query");
                return parser_fail_found(p, "expected WITHIN, WHERE or end of query");
        }
        return 0;
}

/* Position of byte `offset`, for the length error. */
static void position_of(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_column) {
        unsigned line = 1, column = 1;
        for (size_t i = 0; i < offset; i++) {
                if (text[i] == '\n') {
                        line += line < UINT32_MAX;
                        column = 1;
                } else
                        column += column < UINT32_MAX;
        }
        *ret_line = line;
        *ret_column = column;
}

int wql_parse(const char *text, size_t len, const WqlLimits *limits, WqlQuery **ret, Error *err) {
        size_t max_length =
                limits && limits->max_length ? limits->max_length : WQL_DEFAULT_MAX_LENGTH;
        unsigned max_depth =
                limits && limits->max_depth ? limits->max_depth : WQL_DEFAULT_MAX_DEPTH;
        if (max_depth > WQL_DEPTH_CEILING)
                max_depth = WQL_DEPTH_CEILING;
        if (!text)
                len = 0;

        if (len > max_length) {
                unsigned line, column;
                position_of(text, max_length, &line, &column);
                return wql_error_at(err, line, column, "query longer than %zu bytes", max_length);
        }
        int r = wql_lex_check_text(text, len, err);
        if (r != 0)
                return r;

        _cleanup_(wql_query_freep) WqlQuery *q = mem_calloc(1, sizeof(*q));
        if (!q)
                return error_from_errno(err, -ENOMEM);
        q->text = mem_malloc(len + 1);
        if (!q->text)
                return error_from_errno(err, -ENOMEM);
        if (len)
                memcpy(q->text, text, len);
        q->text[len] = '\0';

        Parser p = { .max_depth = max_depth, .err = err };
        wql_lex_init(&p.lx, q->text, len);
        r = parse_query(&p, q);
        wql_token_clear(&p.tok);
        if (r < 0)
                return error_from_errno(err, r);
        if (r > 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

static bool wql_path_is(const WqlPropertyRef *ref, const char *const *parts, size_t n_parts) {
        if (ref->n_parts != n_parts)
                return false;
        for (size_t k = 0; k < n_parts; k++)
                if (!name_equal(ref->parts[k], parts[k]))
                        return false;
        return true;
}

const WqlLiteral *wql_find_equality(const WqlExpr *e, const char *const *parts, size_t n_parts) {
        /* a long AND chain nests to the left: walk that spine in a loop */
        while (e && e->kind == WQL_EXPR_AND) {
                const WqlLiteral *l = wql_find_equality(e->binary.right, parts, n_parts);
                if (l)
                        return l;
                e = e->binary.left;
        }
        if (!e || e->kind != WQL_EXPR_COMPARE || e->compare.op != WQL_OP_EQ ||
            e->compare.right.is_property || !wql_path_is(&e->compare.left.prop, parts, n_parts))
                return NULL;
        return &e->compare.right.lit;
}
