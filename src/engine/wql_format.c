/* Canonical text of a WQL query or condition.
 *
 * The text is an identity: two filters that differ only in how they were
 * written (keyword and name case, white space, quote style, escapes,
 * redundant parentheses, literal-first comparisons, != for <>, = NULL for
 * IS NULL, a double NOT) get the same text, so the dispatcher can share one
 * compiled filter between them. Rules:
 *
 *   - keywords upper case; property and class names folded to ASCII lower
 *     case (names are case-insensitive and fold ASCII only, see names.h);
 *   - string literals single-quoted, with \ and ' escaped, content as written
 *     (string comparisons are case-insensitive but their case is kept);
 *   - integers in decimal; reals in the shortest form that reads back to
 *     the same double, always with a '.' or an exponent so they stay reals;
 *   - one space around operators and keywords, ", " in the select list;
 *   - parentheses only where precedence needs them (OR < AND < NOT), and
 *     chains of the same operator flattened;
 *   - an even run of NOTs is dropped (NOT NOT x is x in three-valued logic).
 *
 * Parsing the canonical text gives a query with the same canonical text. The
 * text may be longer than the original (spaces, decimal for hex), so re-parse
 * it with a length limit that allows for that. */
#include "wql.h"

#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

enum {
        PREC_OR = 1,
        PREC_AND = 2,
        PREC_NOT = 3,
        PREC_PREDICATE = 4,
};

static char fold(char c) {
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* 'text' with \ and ' escaped; fold_case for class names (ISA). */
static void append_quoted(StrBuf *b, const char *s, bool fold_case) {
        strbuf_append_char(b, '\'');
        for (; *s; s++) {
                if (*s == '\\' || *s == '\'')
                        strbuf_append_char(b, '\\');
                strbuf_append_char(b, fold_case ? fold(*s) : *s);
        }
        strbuf_append_char(b, '\'');
}

static void append_string(StrBuf *b, const char *s) {
        append_quoted(b, s, false);
}

/* Shortest %g text that reads back as v, in the C locale; positional
 * rather than exponent form for whole values below 1e17 ("1000", not
 * "1e+03"). */
static void format_double(double v, char *buf, size_t size) {
        locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        locale_t old = c ? uselocale(c) : (locale_t)0;
        int prec;
        for (prec = 1; prec < 17; prec++) {
                snprintf(buf, size, "%.*g", prec, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        snprintf(buf, size, "%.*g", prec, v);
        const char *e = strchr(buf, 'e');
        if (e) {
                int exp10 = atoi(e + 1);
                if (exp10 >= prec && exp10 < 17)
                        snprintf(buf, size, "%.*g", exp10 + 1, v);
        }
        if (c) {
                uselocale(old);
                freelocale(c);
        }
}

static void append_literal(StrBuf *b, const WqlLiteral *l) {
        char buf[64];
        switch (l->kind) {
        case WQL_LIT_STRING:
                append_string(b, l->s);
                break;
        case WQL_LIT_INTEGER:
                strbuf_printf(b, "%" PRId64, l->i);
                break;
        case WQL_LIT_UNSIGNED:
                strbuf_printf(b, "%" PRIu64, l->u);
                break;
        case WQL_LIT_REAL:
                format_double(l->r, buf, sizeof(buf));
                strbuf_append(b, buf);
                if (!strpbrk(buf, ".eEn")) /* n: inf, nan */
                        strbuf_append(b, ".0");
                break;
        case WQL_LIT_BOOLEAN:
                strbuf_append(b, l->b ? "TRUE" : "FALSE");
                break;
        case WQL_LIT_NULL:
                strbuf_append(b, "NULL");
                break;
        }
}

static void append_name(StrBuf *b, const char *s) {
        for (; *s; s++)
                strbuf_append_char(b, fold(*s));
}

static void append_property(StrBuf *b, const WqlPropertyRef *p) {
        for (size_t i = 0; i < p->n_parts; i++) {
                if (i > 0)
                        strbuf_append_char(b, '.');
                append_name(b, p->parts[i]);
        }
}

static void append_operand(StrBuf *b, const WqlOperand *o) {
        if (o->is_property)
                append_property(b, &o->prop);
        else
                append_literal(b, &o->lit);
}

static const char *op_text(WqlCompareOp op) {
        static const char *const text[] = {
                [WQL_OP_EQ] = "=", [WQL_OP_NE] = "<>", [WQL_OP_LT] = "<",
                [WQL_OP_GT] = ">", [WQL_OP_LE] = "<=", [WQL_OP_GE] = ">=",
        };
        return op <= WQL_OP_GE ? text[op] : "?";
}

/* The parser already puts the property on the left and turns = NULL into
 * IS NULL; a tree built by hand gets the same treatment here so that its
 * text is canonical too. */
static void append_compare(StrBuf *b, const WqlExpr *e) {
        const WqlOperand *left = &e->compare.left, *right = &e->compare.right;
        WqlCompareOp op = e->compare.op;
        if (!left->is_property && right->is_property) {
                const WqlOperand *t = left;
                left = right;
                right = t;
                op = wql_compare_op_mirror(op);
        }
        if (left->is_property && !right->is_property && right->lit.kind == WQL_LIT_NULL &&
            (op == WQL_OP_EQ || op == WQL_OP_NE)) {
                append_property(b, &left->prop);
                strbuf_append(b, op == WQL_OP_EQ ? " IS NULL" : " IS NOT NULL");
                return;
        }
        append_operand(b, left);
        strbuf_append_char(b, ' ');
        strbuf_append(b, op_text(op));
        strbuf_append_char(b, ' ');
        append_operand(b, right);
}

static int expr_precedence(const WqlExpr *e) {
        switch (e->kind) {
        case WQL_EXPR_OR:
                return PREC_OR;
        case WQL_EXPR_AND:
                return PREC_AND;
        case WQL_EXPR_NOT:
                return PREC_NOT;
        default:
                return PREC_PREDICATE;
        }
}

/* e in a context that binds at least min_prec. Loops along AND/OR right
 * spines and NOT runs; recurses only into chain terms and NOT operands,
 * whose depth the parser's nesting limit bounds. */
static void append_expr(StrBuf *b, const WqlExpr *e, int min_prec) {
        /* drop NOT pairs */
        for (;;) {
                size_t nots = 0;
                const WqlExpr *inner = e;
                while (inner->kind == WQL_EXPR_NOT) {
                        inner = inner->operand;
                        nots++;
                }
                if (nots == 0)
                        break;
                if (nots % 2 == 0) {
                        e = inner;
                        continue;
                }
                if (PREC_NOT < min_prec)
                        strbuf_append_char(b, '(');
                strbuf_append(b, "NOT ");
                append_expr(b, inner, PREC_NOT);
                if (PREC_NOT < min_prec)
                        strbuf_append_char(b, ')');
                return;
        }

        int prec = expr_precedence(e);
        bool paren = prec < min_prec;
        if (paren)
                strbuf_append_char(b, '(');
        switch (e->kind) {
        case WQL_EXPR_AND:
        case WQL_EXPR_OR: {
                WqlExprKind kind = e->kind;
                const char *sep = kind == WQL_EXPR_AND ? " AND " : " OR ";
                while (e->kind == kind) {
                        append_expr(b, e->binary.left, prec);
                        strbuf_append(b, sep);
                        e = e->binary.right;
                }
                append_expr(b, e, prec);
                break;
        }
        case WQL_EXPR_COMPARE:
                append_compare(b, e);
                break;
        case WQL_EXPR_LIKE:
                append_property(b, &e->like.prop);
                strbuf_append(b, e->like.negated ? " NOT LIKE " : " LIKE ");
                append_string(b, e->like.pattern);
                break;
        case WQL_EXPR_IS_NULL:
                append_property(b, &e->is_null.prop);
                strbuf_append(b, e->is_null.negated ? " IS NOT NULL" : " IS NULL");
                break;
        case WQL_EXPR_ISA:
                append_property(b, &e->isa.prop);
                strbuf_append(b, " ISA ");
                append_quoted(b, e->isa.class_name, true);
                break;
        case WQL_EXPR_NOT:
                break; /* handled above */
        }
        if (paren)
                strbuf_append_char(b, ')');
}

char *wql_expr_format(const WqlExpr *e) {
        StrBuf b = STRBUF_INIT;
        if (e)
                append_expr(&b, e, PREC_OR);
        return strbuf_steal(&b);
}

char *wql_query_format(const WqlQuery *q) {
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, "SELECT ");
        if (q->select_all)
                strbuf_append_char(&b, '*');
        for (size_t i = 0; !q->select_all && i < q->n_select; i++) {
                if (i > 0)
                        strbuf_append(&b, ", ");
                append_name(&b, q->select[i]);
        }
        strbuf_append(&b, " FROM ");
        append_name(&b, q->class_name);
        if (q->has_within) {
                char buf[64];
                format_double(q->within_seconds, buf, sizeof(buf));
                strbuf_append(&b, " WITHIN ");
                strbuf_append(&b, buf);
        }
        if (q->where) {
                strbuf_append(&b, " WHERE ");
                append_expr(&b, q->where, PREC_OR);
        }
        return strbuf_steal(&b);
}
