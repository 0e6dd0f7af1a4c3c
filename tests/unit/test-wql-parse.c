/* Unit tests for the WQL lexer, parser and canonical formatter: every
 * grammar rule, every error message with its position, the limits, the
 * canonical text, and allocation failures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "mem.h"
#include "strbuf.h"
#include "wql.h"

/* "SELECT * FROM X WHERE " is 22 bytes: a condition starts at column 23. */
#define P "SELECT * FROM X WHERE "

static WqlQuery *parse_ok_len(const char *text, size_t len, const WqlLimits *limits) {
        WqlQuery *q = NULL;
        Error err = { 0 };
        int r = wql_parse(text, len, limits, &q, &err);
        if (r != 0)
                fail_msg("parse of \"%.200s\" failed (%d): %s", text, r, err.message);
        assert_non_null(q);
        return q;
}

static WqlQuery *parse_ok(const char *text) {
        return parse_ok_len(text, strlen(text), NULL);
}

/* "SELECT * FROM C WHERE <cond>" */
static WqlQuery *parse_where(const char *cond) {
        char *text = mem_printf("SELECT * FROM C WHERE %s", cond);
        assert_non_null(text);
        WqlQuery *q = parse_ok(text);
        mem_free(text);
        assert_non_null(q->where);
        return q;
}

static void assert_error_len(const char *text, size_t len, const WqlLimits *limits, unsigned line,
                             unsigned column, const char *message) {
        WqlQuery *q = (WqlQuery *)0x1;
        Error err = { 0 };
        int r = wql_parse(text, len, limits, &q, &err);
        if (r != WBEM_E_INVALID_QUERY)
                fail_msg("\"%.200s\": expected WBEM_E_INVALID_QUERY, got %d", text, r);
        assert_ptr_equal(q, (WqlQuery *)0x1); /* untouched on failure */
        assert_int_equal(err.status, WBEM_E_INVALID_QUERY);
        char expected[600];
        snprintf(expected, sizeof(expected), "line %u, column %u: %s", line, column, message);
        if (strcmp(err.message, expected) != 0)
                fail_msg("\"%.200s\":\n  got      \"%s\"\n  expected \"%s\"", text, err.message,
                         expected);
        assert_int_equal(err.line, line);
        assert_int_equal(err.column, column);
        /* the error path must also work without an Error */
        assert_int_equal(wql_parse(text, len, limits, &q, NULL), WBEM_E_INVALID_QUERY);
}

static void assert_error(const char *text, unsigned line, unsigned column, const char *message) {
        assert_error_len(text, strlen(text), NULL, line, column, message);
}

/* format(parse(text)) is `canonical`, and canonical is a fixed point. */
static void assert_canonical(const char *text, const char *canonical) {
        WqlQuery *q = parse_ok(text);
        char *f = wql_query_format(q);
        assert_non_null(f);
        if (strcmp(f, canonical) != 0)
                fail_msg("\"%s\":\n  got      \"%s\"\n  expected \"%s\"", text, f, canonical);
        WqlQuery *q2 = parse_ok(f);
        char *f2 = wql_query_format(q2);
        assert_string_equal(f2, canonical);
        mem_free(f2);
        wql_query_free(q2);
        mem_free(f);
        wql_query_free(q);
}

static void assert_where_canonical(const char *cond, const char *canonical) {
        char *text = mem_printf("SELECT * FROM C WHERE %s", cond);
        char *expected = mem_printf("SELECT * FROM c WHERE %s", canonical);
        assert_canonical(text, expected);
        mem_free(text);
        mem_free(expected);
}

static void assert_prop(const WqlPropertyRef *p, const char *a, const char *b) {
        assert_int_equal(p->n_parts, b ? 2 : 1);
        assert_string_equal(p->parts[0], a);
        if (b)
                assert_string_equal(p->parts[1], b);
}

/* No AND is the left child of an AND (nor OR of OR): the tree walkers rely
 * on it to recurse only as deep as the nesting. */
static void assert_chain_shape(const WqlExpr *e) {
        while (e) {
                switch (e->kind) {
                case WQL_EXPR_AND:
                case WQL_EXPR_OR:
                        assert_int_not_equal(e->binary.left->kind, e->kind);
                        assert_chain_shape(e->binary.left);
                        e = e->binary.right;
                        break;
                case WQL_EXPR_NOT:
                        e = e->operand;
                        break;
                default:
                        return;
                }
        }
}

/* ---- grammar ---- */

static void test_select_all(void **state) {
        (void)state;
        WqlQuery *q = parse_ok("SELECT * FROM Linux_Process");
        assert_true(q->select_all);
        assert_int_equal(q->n_select, 0);
        assert_string_equal(q->class_name, "Linux_Process");
        assert_false(q->has_within);
        assert_null(q->where);
        assert_string_equal(q->text, "SELECT * FROM Linux_Process");
        wql_query_free(q);
}

static void test_select_list(void **state) {
        (void)state;
        WqlQuery *q = parse_ok("select Name ,ProcessId,__CLASS,\tGr\xc3\xb6\xc3\x9f"
                               "e FROM Linux_Process");
        assert_false(q->select_all);
        assert_int_equal(q->n_select, 4);
        assert_string_equal(q->select[0], "Name");
        assert_string_equal(q->select[1], "ProcessId");
        assert_string_equal(q->select[2], "__CLASS");
        assert_string_equal(q->select[3], "Gr\xc3\xb6\xc3\x9f"
                                          "e");
        wql_query_free(q);

        q = parse_ok("SeLeCt * fRoM \xc3\x9c"
                     "ber wHeRe A = 1");
        assert_string_equal(q->class_name, "\xc3\x9c"
                                           "ber");
        assert_int_equal(q->where->kind, WQL_EXPR_COMPARE);
        wql_query_free(q);
}

static void test_not_nul_terminated(void **state) {
        (void)state;
        const char buf[] = "SELECT * FROM A garbage that is not part of it";
        WqlQuery *q = parse_ok_len(buf, 15, NULL);
        assert_string_equal(q->class_name, "A");
        assert_string_equal(q->text, "SELECT * FROM A");
        wql_query_free(q);
}

static void test_within(void **state) {
        (void)state;
        static const struct {
                const char *text;
                double seconds;
        } cases[] = {
                { "SELECT * FROM __InstanceCreationEvent WITHIN 5", 5 },
                { "SELECT * FROM E within 0.5", 0.5 },
                { "SELECT * FROM E WITHIN 1e1", 10 },
                { "SELECT * FROM E WITHIN +2", 2 },
                { "SELECT * FROM E WITHIN 0x10", 16 },
                { "SELECT * FROM E WITHIN 18446744073709551615", 18446744073709551615.0 },
                { "SELECT * FROM E WITHIN 0.001 WHERE a = 1", 0.001 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                WqlQuery *q = parse_ok(cases[i].text);
                assert_true(q->has_within);
                assert_true(q->within_seconds == cases[i].seconds);
                wql_query_free(q);
        }
}

static void test_precedence(void **state) {
        (void)state;
        /* OR < AND < NOT */
        WqlQuery *q = parse_where("a = 1 OR b = 2 AND NOT c = 3");
        const WqlExpr *e = q->where;
        assert_int_equal(e->kind, WQL_EXPR_OR);
        assert_int_equal(e->binary.left->kind, WQL_EXPR_COMPARE);
        assert_prop(&e->binary.left->compare.left.prop, "a", NULL);
        const WqlExpr *and = e->binary.right;
        assert_int_equal(and->kind, WQL_EXPR_AND);
        assert_int_equal(and->binary.left->kind, WQL_EXPR_COMPARE);
        assert_int_equal(and->binary.right->kind, WQL_EXPR_NOT);
        assert_int_equal(and->binary.right->operand->kind, WQL_EXPR_COMPARE);
        assert_prop(&and->binary.right->operand->compare.left.prop, "c", NULL);
        wql_query_free(q);

        /* parentheses override */
        q = parse_where("(a = 1 OR b = 2) AND c = 3");
        assert_int_equal(q->where->kind, WQL_EXPR_AND);
        assert_int_equal(q->where->binary.left->kind, WQL_EXPR_OR);
        wql_query_free(q);

        /* NOT binds to the predicate only */
        q = parse_where("NOT a = 1 AND b = 2");
        assert_int_equal(q->where->kind, WQL_EXPR_AND);
        assert_int_equal(q->where->binary.left->kind, WQL_EXPR_NOT);
        wql_query_free(q);

        q = parse_where("NOT (a = 1 AND b = 2)");
        assert_int_equal(q->where->kind, WQL_EXPR_NOT);
        assert_int_equal(q->where->operand->kind, WQL_EXPR_AND);
        wql_query_free(q);
}

static void test_chain_shape(void **state) {
        (void)state;
        WqlQuery *q = parse_where("a = 1 AND b = 2 AND c = 3");
        const WqlExpr *e = q->where;
        assert_int_equal(e->kind, WQL_EXPR_AND);
        assert_prop(&e->binary.left->compare.left.prop, "a", NULL);
        assert_int_equal(e->binary.right->kind, WQL_EXPR_AND);
        assert_prop(&e->binary.right->binary.left->compare.left.prop, "b", NULL);
        assert_prop(&e->binary.right->binary.right->compare.left.prop, "c", NULL);
        wql_query_free(q);

        /* parenthesized chains of the same operator are spliced in order */
        q = parse_where("((a = 1 AND b = 2) AND (c = 3 AND d = 4)) AND (e = 5 OR f = 6)");
        assert_chain_shape(q->where);
        const char *names[] = { "a", "b", "c", "d" };
        e = q->where;
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(e->kind, WQL_EXPR_AND);
                assert_prop(&e->binary.left->compare.left.prop, names[i], NULL);
                e = e->binary.right;
        }
        assert_int_equal(e->kind, WQL_EXPR_OR);
        wql_query_free(q);

        q = parse_where("(a = 1 OR (b = 2 OR c = 3)) OR ((d = 4 AND e = 5) OR (f = 6 AND (g = 7 OR "
                        "h = 8)))");
        assert_chain_shape(q->where);
        wql_query_free(q);
}

static void test_positions(void **state) {
        (void)state;
        WqlQuery *q = parse_ok("SELECT * FROM C WHERE\n  a = 1 AND\n\tNOT b LIKE 'x'");
        const WqlExpr *e = q->where;
        assert_int_equal(e->kind, WQL_EXPR_AND);
        assert_int_equal(e->line, 2);
        assert_int_equal(e->column, 3);
        const WqlExpr *cmp = e->binary.left;
        assert_int_equal(cmp->line, 2);
        assert_int_equal(cmp->column, 3);
        assert_int_equal(cmp->compare.left.line, 2);
        assert_int_equal(cmp->compare.left.column, 3);
        assert_int_equal(cmp->compare.right.line, 2);
        assert_int_equal(cmp->compare.right.column, 7);
        const WqlExpr *not = e->binary.right;
        assert_int_equal(not ->kind, WQL_EXPR_NOT);
        assert_int_equal(not ->line, 3);
        assert_int_equal(not ->column, 2);
        assert_int_equal(not ->operand->line, 3);
        assert_int_equal(not ->operand->column, 6);
        wql_query_free(q);
}

static void test_compare_operators(void **state) {
        (void)state;
        static const struct {
                const char *cond;
                WqlCompareOp op;
        } cases[] = {
                /* property first */
                { "X = 5", WQL_OP_EQ },
                { "X <> 5", WQL_OP_NE },
                { "X != 5", WQL_OP_NE },
                { "X < 5", WQL_OP_LT },
                { "X > 5", WQL_OP_GT },
                { "X <= 5", WQL_OP_LE },
                { "X >= 5", WQL_OP_GE },
                { "X=5", WQL_OP_EQ },
                { "X<>5", WQL_OP_NE },
                { "X<=5", WQL_OP_LE },
                /* literal first: mirrored */
                { "5 = X", WQL_OP_EQ },
                { "5 <> X", WQL_OP_NE },
                { "5 != X", WQL_OP_NE },
                { "5 < X", WQL_OP_GT },
                { "5 > X", WQL_OP_LT },
                { "5 <= X", WQL_OP_GE },
                { "5 >= X", WQL_OP_LE },
                { "5>=X", WQL_OP_LE },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                WqlQuery *q = parse_where(cases[i].cond);
                const WqlExpr *e = q->where;
                assert_int_equal(e->kind, WQL_EXPR_COMPARE);
                assert_int_equal(e->compare.op, cases[i].op);
                assert_true(e->compare.left.is_property);
                assert_prop(&e->compare.left.prop, "X", NULL);
                assert_false(e->compare.right.is_property);
                assert_int_equal(e->compare.right.lit.kind, WQL_LIT_INTEGER);
                assert_int_equal(e->compare.right.lit.i, 5);
                wql_query_free(q);
        }

        /* the swapped operands keep their own positions */
        WqlQuery *q = parse_ok(P "5 < X");
        const WqlExpr *e = q->where;
        assert_int_equal(e->column, 23);
        assert_int_equal(e->compare.left.column, 27);
        assert_int_equal(e->compare.right.column, 23);
        wql_query_free(q);

        /* two properties, with paths */
        q = parse_where("A.B >= C");
        e = q->where;
        assert_int_equal(e->compare.op, WQL_OP_GE);
        assert_true(e->compare.left.is_property);
        assert_true(e->compare.right.is_property);
        assert_prop(&e->compare.left.prop, "A", "B");
        assert_prop(&e->compare.right.prop, "C", NULL);
        wql_query_free(q);

        /* booleans with = and <> on either side */
        q = parse_where("TRUE <> X");
        assert_int_equal(q->where->compare.op, WQL_OP_NE);
        assert_int_equal(q->where->compare.right.lit.kind, WQL_LIT_BOOLEAN);
        assert_true(q->where->compare.right.lit.b);
        wql_query_free(q);
}

static void test_null_forms(void **state) {
        (void)state;
        static const struct {
                const char *cond;
                bool negated;
        } cases[] = {
                { "X IS NULL", false },    { "X is null", false }, { "X IS NOT NULL", true },
                { "X iS nOt NuLl", true }, { "X = NULL", false },  { "X <> NULL", true },
                { "X != NULL", true },     { "NULL = X", false },  { "NULL <> X", true },
                { "null != X", true },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                WqlQuery *q = parse_where(cases[i].cond);
                assert_int_equal(q->where->kind, WQL_EXPR_IS_NULL);
                assert_int_equal(q->where->is_null.negated, cases[i].negated);
                assert_prop(&q->where->is_null.prop, "X", NULL);
                wql_query_free(q);
        }
}

static void test_like_isa(void **state) {
        (void)state;
        WqlQuery *q = parse_where("Name LIKE 'ssh%'");
        assert_int_equal(q->where->kind, WQL_EXPR_LIKE);
        assert_false(q->where->like.negated);
        assert_string_equal(q->where->like.pattern, "ssh%");
        assert_prop(&q->where->like.prop, "Name", NULL);
        wql_query_free(q);

        q = parse_where("TargetInstance.Name not like \"a_[b-c]\"");
        assert_int_equal(q->where->kind, WQL_EXPR_LIKE);
        assert_true(q->where->like.negated);
        assert_string_equal(q->where->like.pattern, "a_[b-c]");
        assert_prop(&q->where->like.prop, "TargetInstance", "Name");
        wql_query_free(q);

        q = parse_where("TargetInstance ISA 'Linux_Process'");
        assert_int_equal(q->where->kind, WQL_EXPR_ISA);
        assert_string_equal(q->where->isa.class_name, "Linux_Process");
        assert_prop(&q->where->isa.prop, "TargetInstance", NULL);
        wql_query_free(q);

        q = parse_where("TargetInstance isa \"__Event\" AND TargetInstance.__CLASS = 'x'");
        assert_string_equal(q->where->binary.left->isa.class_name, "__Event");
        assert_prop(&q->where->binary.right->compare.left.prop, "TargetInstance", "__CLASS");
        wql_query_free(q);

        q = parse_where("a.b.c.d LIKE ''");
        assert_int_equal(q->where->like.prop.n_parts, 4);
        assert_string_equal(q->where->like.prop.parts[3], "d");
        assert_string_equal(q->where->like.pattern, "");
        wql_query_free(q);

        q = parse_where("X ISA '\xc3\x9c"
                        "ber_1'");
        assert_string_equal(q->where->isa.class_name, "\xc3\x9c"
                                                      "ber_1");
        wql_query_free(q);
}

/* The literal of "X = <lit>". */
static WqlQuery *parse_literal(const char *lit, const WqlLiteral **ret) {
        char *cond = mem_printf("X = %s", lit);
        WqlQuery *q = parse_where(cond);
        mem_free(cond);
        assert_int_equal(q->where->kind, WQL_EXPR_COMPARE);
        *ret = &q->where->compare.right.lit;
        return q;
}

static void test_string_literals(void **state) {
        (void)state;
        static const struct {
                const char *written, *value;
        } cases[] = {
                { "'abc'", "abc" },
                { "\"abc\"", "abc" },
                { "''", "" },
                { "\"\"", "" },
                { "'it\\'s'", "it's" },
                { "\"it's\"", "it's" },
                { "'say \"hi\"'", "say \"hi\"" },
                { "\"say \\\"hi\\\"\"", "say \"hi\"" },
                { "'a\\\"b'", "a\"b" },
                { "'a\\\\b'", "a\\b" },
                /* other escapes are kept as written */
                { "'C:\\Temp'", "C:\\Temp" },
                { "'C:\\\\Temp'", "C:\\Temp" },
                { "'\\n\\t'", "\\n\\t" },
                { "'\\\\\\\\'", "\\\\" },
                { "'Gr\xc3\xbc\xc3\x9f"
                  "e \xe2\x82\xac'",
                  "Gr\xc3\xbc\xc3\x9f"
                  "e \xe2\x82\xac" },
                { "'two\nlines\r\n\tand tab'", "two\nlines\r\n\tand tab" },
                { "'AND OR NOT = 5'", "AND OR NOT = 5" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const WqlLiteral *l;
                WqlQuery *q = parse_literal(cases[i].written, &l);
                assert_int_equal(l->kind, WQL_LIT_STRING);
                assert_string_equal(l->s, cases[i].value);
                wql_query_free(q);
        }
}

static void test_number_literals(void **state) {
        (void)state;
        static const struct {
                const char *written;
                WqlLiteralKind kind;
                int64_t i;
                uint64_t u;
                double r;
        } cases[] = {
                { "42", WQL_LIT_INTEGER, 42, 0, 0 },
                { "-42", WQL_LIT_INTEGER, -42, 0, 0 },
                { "+42", WQL_LIT_INTEGER, 42, 0, 0 },
                { "0", WQL_LIT_INTEGER, 0, 0, 0 },
                { "-0", WQL_LIT_INTEGER, 0, 0, 0 },
                { "007", WQL_LIT_INTEGER, 7, 0, 0 },
                { "9223372036854775807", WQL_LIT_INTEGER, INT64_MAX, 0, 0 },
                { "-9223372036854775808", WQL_LIT_INTEGER, INT64_MIN, 0, 0 },
                { "9223372036854775808", WQL_LIT_UNSIGNED, 0, 9223372036854775808u, 0 },
                { "18446744073709551615", WQL_LIT_UNSIGNED, 0, UINT64_MAX, 0 },
                { "0x1F", WQL_LIT_INTEGER, 31, 0, 0 },
                { "0XfF", WQL_LIT_INTEGER, 255, 0, 0 },
                { "-0x10", WQL_LIT_INTEGER, -16, 0, 0 },
                { "0x7FFFFFFFFFFFFFFF", WQL_LIT_INTEGER, INT64_MAX, 0, 0 },
                { "0xFFFFFFFFFFFFFFFF", WQL_LIT_UNSIGNED, 0, UINT64_MAX, 0 },
                { "-0x8000000000000000", WQL_LIT_INTEGER, INT64_MIN, 0, 0 },
                { "0x0000000000000000001", WQL_LIT_INTEGER, 1, 0, 0 },
                { "1.5", WQL_LIT_REAL, 0, 0, 1.5 },
                { "-2.5E-3", WQL_LIT_REAL, 0, 0, -2.5e-3 },
                { "1e3", WQL_LIT_REAL, 0, 0, 1000 },
                { "1E+2", WQL_LIT_REAL, 0, 0, 100 },
                { "+0.25", WQL_LIT_REAL, 0, 0, 0.25 },
                { "1.7976931348623157e308", WQL_LIT_REAL, 0, 0, 1.7976931348623157e308 },
                { "1e-400", WQL_LIT_REAL, 0, 0, 0 }, /* underflow reads as 0 */
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const WqlLiteral *l;
                WqlQuery *q = parse_literal(cases[i].written, &l);
                if (l->kind != cases[i].kind)
                        fail_msg("%s: kind %d", cases[i].written, l->kind);
                if (l->kind == WQL_LIT_INTEGER)
                        assert_true(l->i == cases[i].i);
                else if (l->kind == WQL_LIT_UNSIGNED)
                        assert_true(l->u == cases[i].u);
                else
                        assert_true(l->r == cases[i].r);
                wql_query_free(q);
        }
}

/* A real longer than the lexer's stack copy is read from a heap copy. */
static void test_long_real(void **state) {
        (void)state;
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, P "a = 1.");
        for (int i = 0; i < 300; i++)
                strbuf_append_char(&b, '0');
        strbuf_append(&b, "5e2");
        assert_false(strbuf_failed(&b));
        WqlQuery *q = parse_ok(b.data);
        assert_int_equal(q->where->compare.right.lit.kind, WQL_LIT_REAL);
        assert_true(q->where->compare.right.lit.r == 100.0);
        wql_query_free(q);
        bool completed = false;
        for (unsigned long n = 1; n < 100 && !completed; n++) {
                Error err;
                q = NULL;
                mem_fail_at(n);
                int r = wql_parse(b.data, b.len, NULL, &q, &err);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (r == 0) {
                        assert_false(triggered);
                        completed = true;
                        wql_query_free(q);
                } else
                        assert_int_equal(r, -ENOMEM);
        }
        assert_true(completed);
        strbuf_done(&b);
}

static void test_keyword_literals(void **state) {
        (void)state;
        const char *trues[] = { "TRUE", "true", "True" }, *falses[] = { "FALSE", "false", "fAlSe" };
        for (size_t i = 0; i < 3; i++) {
                const WqlLiteral *l;
                WqlQuery *q = parse_literal(trues[i], &l);
                assert_int_equal(l->kind, WQL_LIT_BOOLEAN);
                assert_true(l->b);
                wql_query_free(q);
                q = parse_literal(falses[i], &l);
                assert_int_equal(l->kind, WQL_LIT_BOOLEAN);
                assert_false(l->b);
                wql_query_free(q);
        }
}

static void test_white_space(void **state) {
        (void)state;
        WqlQuery *q = parse_ok("\r\n\tSELECT\t*\r\nFROM\nC\r\nWHERE\ta\t=\t1\r\n");
        assert_string_equal(q->class_name, "C");
        assert_int_equal(q->where->kind, WQL_EXPR_COMPARE);
        wql_query_free(q);
        /* positions count lines at LF; CR is an ordinary column */
        assert_error("SELECT *\nFROM C\nWHERE a = 1 +", 3, 13,
                     "arithmetic is not supported in WQL, found '+'");
        assert_error("SELECT *\r\nFROM C\r\nWHERE a = 1 +", 3, 13,
                     "arithmetic is not supported in WQL, found '+'");
        assert_error("SELECT *\r\n\r\n\tFROM", 3, 6,
                     "expected class name after FROM, found end of query");
        /* a newline inside a string moves the line too */
        assert_error(P "a = 'x\ny' b", 2, 4, "expected AND, OR or end of query, found 'b'");
}

/* ---- errors ---- */

static void test_errors_structure(void **state) {
        (void)state;
        assert_error("", 1, 1, "expected SELECT, found end of query");
        assert_error("   \n  ", 2, 3, "expected SELECT, found end of query");
        assert_error("UPDATE X", 1, 1, "expected SELECT, found 'UPDATE'");
        assert_error("SELECT", 1, 7, "expected property name or '*', found end of query");
        assert_error("SELECT FROM X", 1, 8, "expected property name or '*', found 'FROM'");
        assert_error("SELECT * FORM X", 1, 10, "expected FROM, found 'FORM'");
        assert_error("SELECT Name, ProcessId FORM Linux_Process", 1, 24,
                     "expected ',' or FROM, found 'FORM'");
        assert_error("SELECT a, FROM X", 1, 11, "expected property name after ',', found 'FROM'");
        assert_error("SELECT a.b FROM X", 1, 9,
                     "only plain property names can be selected, found '.'");
        assert_error("SELECT *, a FROM X", 1, 9, "expected FROM, found ','");
        assert_error("SELECT 'a' FROM X", 1, 8, "expected property name or '*', found string 'a'");
        assert_error("SELECT * FROM", 1, 14, "expected class name after FROM, found end of query");
        assert_error("SELECT * FROM 'X'", 1, 15,
                     "expected class name after FROM, found string 'X'");
        assert_error("SELECT * FROM X;", 1, 16,
                     "expected WITHIN, WHERE or end of query, found ';'");
        assert_error("SELECT * FROM X.Y", 1, 16,
                     "expected WITHIN, WHERE or end of query, found '.'");
        assert_error("SELECT * FROM X WITHIN", 1, 23,
                     "expected number of seconds after WITHIN, found end of query");
        assert_error("SELECT * FROM X WITHIN '5'", 1, 24,
                     "expected number of seconds after WITHIN, found string '5'");
        assert_error("SELECT * FROM X WITHIN 0", 1, 24,
                     "WITHIN needs a positive number of seconds, found '0'");
        assert_error("SELECT * FROM X WITHIN -1", 1, 24,
                     "WITHIN needs a positive number of seconds, found '-1'");
        assert_error("SELECT * FROM X WITHIN 0.0", 1, 24,
                     "WITHIN needs a positive number of seconds, found '0.0'");
        assert_error("SELECT * FROM X WITHIN -0.5", 1, 24,
                     "WITHIN needs a positive number of seconds, found '-0.5'");
        assert_error("SELECT * FROM X WITHIN 5 X", 1, 26,
                     "expected WHERE or end of query, found 'X'");
        assert_error("SELECT * FROM X WITHIN 5 WITHIN 5", 1, 26,
                     "expected WHERE or end of query, found 'WITHIN'");
        assert_error(P "a = 1 WITHIN 5", 1, 29, "expected AND, OR or end of query, found 'WITHIN'");
        assert_error("SELECT * FROM X WHERE", 1, 22, "expected a condition, found end of query");
        assert_error(P "AND a = 1", 1, 23, "expected a condition, found 'AND'");
        assert_error(P ")", 1, 23, "expected a condition, found ')'");
        assert_error(P "NOT", 1, 26, "expected a condition, found end of query");
        assert_error(P "a = 1 AND", 1, 32, "expected a condition, found end of query");
        assert_error(P "a = 1 OR OR b = 1", 1, 32, "expected a condition, found 'OR'");
        assert_error(P "()", 1, 24, "expected a condition, found ')'");
        assert_error(P "(a = 1", 1, 29, "expected AND, OR or ')', found end of query");
        assert_error(P "(a = 1 b", 1, 30, "expected AND, OR or ')', found 'b'");
        assert_error(P "a = 1)", 1, 28, "expected AND, OR or end of query, found ')'");
        assert_error(P "a = 1 b", 1, 29, "expected AND, OR or end of query, found 'b'");
        assert_error(P "a = 1 # b", 1, 29, "expected AND, OR or end of query, found '#'");
        assert_error(P "a = 1 'x'", 1, 29, "expected AND, OR or end of query, found string 'x'");
}

static void test_errors_predicates(void **state) {
        (void)state;
        const char *ops = "expected an operator (=, <>, !=, <, >, <=, >=, LIKE, NOT LIKE, IS, ISA)";
        char msg[200];
        snprintf(msg, sizeof(msg), "%s, found end of query", ops);
        assert_error(P "a", 1, 24, msg);
        snprintf(msg, sizeof(msg), "%s, found 'b'", ops);
        assert_error(P "a b", 1, 25, msg);
        snprintf(msg, sizeof(msg), "%s, found '!'", ops);
        assert_error(P "a ! 1", 1, 25, msg);
        snprintf(msg, sizeof(msg), "%s, found 'AND'", ops);
        assert_error(P "a AND b = 1", 1, 25, msg);
        assert_error(P "a. = 1", 1, 26, "expected property name after '.', found '='");
        assert_error(P "a.5 = 1", 1, 25, "expected property name after '.', found '5'");
        assert_error(P "a = ", 1, 27,
                     "expected a property or a value after '=', found end of query");
        assert_error(P "a <> AND", 1, 28, "expected a property or a value after '<>', found 'AND'");
        assert_error(P "a != (1)", 1, 28, "expected a property or a value after '!=', found '('");
        assert_error(P "a == 1", 1, 26, "expected a property or a value after '=', found '='");
        assert_error(P "a = .5", 1, 27, "expected a property or a value after '=', found '.'");
        assert_error(P "a IS 5", 1, 28, "expected NULL or NOT NULL after IS, found '5'");
        assert_error(P "a IS", 1, 27, "expected NULL or NOT NULL after IS, found end of query");
        assert_error(P "a IS NOT 5", 1, 32, "expected NULL after IS NOT, found '5'");
        assert_error(P "a IS TRUE", 1, 28, "expected NULL or NOT NULL after IS, found 'TRUE'");
        assert_error(P "a NOT = 1", 1, 29, "expected LIKE after NOT, found '='");
        assert_error(P "a NOT NULL", 1, 29, "expected LIKE after NOT, found 'NULL'");
        assert_error(P "a LIKE 5", 1, 30, "LIKE needs a string pattern, found '5'");
        assert_error(P "a LIKE b", 1, 30, "LIKE needs a string pattern, found 'b'");
        assert_error(P "a NOT LIKE NULL", 1, 34, "LIKE needs a string pattern, found 'NULL'");
        assert_error(P "a ISA Foo", 1, 29, "ISA needs a class name in quotes, found 'Foo'");
        assert_error(P "a ISA 5", 1, 29, "ISA needs a class name in quotes, found '5'");
        assert_error(P "a ISA 'a b'", 1, 29, "ISA needs a valid class name, found string 'a b'");
        assert_error(P "a ISA ''", 1, 29, "ISA needs a valid class name, found string ''");
        assert_error(P "a ISA \"1abc\"", 1, 29,
                     "ISA needs a valid class name, found string \"1abc\"");
        assert_error(P "a ISA 'A.B'", 1, 29, "ISA needs a valid class name, found string 'A.B'");
        /* literals: booleans and NULL only with = and <> */
        assert_error(P "a < TRUE", 1, 27,
                     "operator '<' cannot compare booleans (only = and <> can)");
        assert_error(P "a >= false", 1, 28,
                     "operator '>=' cannot compare booleans (only = and <> can)");
        assert_error(P "TRUE > a", 1, 23,
                     "operator '>' cannot compare booleans (only = and <> can)");
        assert_error(P "a < NULL", 1, 27,
                     "operator '<' cannot be used with NULL (use IS NULL or IS NOT NULL)");
        assert_error(P "NULL <= a", 1, 23,
                     "operator '<=' cannot be used with NULL (use IS NULL or IS NOT NULL)");
        /* a literal on the left */
        assert_error(P "1 = 2", 1, 23,
                     "comparison of two values with '=': one side must be a property");
        assert_error(P "'a' <> 'b'", 1, 23,
                     "comparison of two values with '<>': one side must be a property");
        assert_error(P "NULL = NULL", 1, 23,
                     "comparison of two values with '=': one side must be a property");
        assert_error(P "TRUE != FALSE", 1, 23,
                     "comparison of two values with '!=': one side must be a property");
        assert_error(P "'a' LIKE b", 1, 27,
                     "expected a comparison operator (=, <>, !=, <, >, <=, >=) after a value, "
                     "found 'LIKE'");
        assert_error(P "5", 1, 24,
                     "expected a comparison operator (=, <>, !=, <, >, <=, >=) after a value, "
                     "found end of query");
        assert_error(P "NULL IS NULL", 1, 28,
                     "expected a comparison operator (=, <>, !=, <, >, <=, >=) after a value, "
                     "found 'IS'");
        assert_error(P "5 = (a)", 1, 27, "expected a property after '=', found '('");
        assert_error(P "5 = ", 1, 27, "expected a property after '=', found end of query");
}

static void test_errors_arithmetic(void **state) {
        (void)state;
        assert_error(P "a + 1 = 2", 1, 25, "arithmetic is not supported in WQL, found '+'");
        assert_error(P "a = 1+2", 1, 28, "arithmetic is not supported in WQL, found '+2'");
        assert_error(P "a = 1 - 2", 1, 29, "arithmetic is not supported in WQL, found '-'");
        assert_error(P "a * 2 = 4", 1, 25, "arithmetic is not supported in WQL, found '*'");
        assert_error(P "a = b / 2", 1, 29, "arithmetic is not supported in WQL, found '/'");
        assert_error(P "a = 5 % 2", 1, 29, "arithmetic is not supported in WQL, found '%'");
        assert_error(P "a -1", 1, 25, "arithmetic is not supported in WQL, found '-1'");
        assert_error(P "1 + a = 2", 1, 25, "arithmetic is not supported in WQL, found '+'");
        assert_error(P "(a = 1) + 2", 1, 31, "arithmetic is not supported in WQL, found '+'");
        assert_error(P "(a = 1 * 2)", 1, 30, "arithmetic is not supported in WQL, found '*'");
        assert_error(P "a LIKE 'x' + 'y'", 1, 34, "arithmetic is not supported in WQL, found '+'");
}

static void test_errors_lexical(void **state) {
        (void)state;
        assert_error(P "a = 'abc", 1, 27, "unterminated string");
        assert_error(P "a = \"abc", 1, 27, "unterminated string");
        assert_error(P "a = 'abc\"", 1, 27, "unterminated string");
        assert_error(P "a = \"abc\\\"", 1, 27, "unterminated string");
        assert_error(P "a = 'abc\\", 1, 27, "unterminated string");
        assert_error(P "a = 'x' AND b = '\n\n", 1, 39, "unterminated string");
        assert_error(P "a = 12abc", 1, 27, "invalid number '12abc'");
        assert_error(P "a = 1.", 1, 27, "invalid number '1.'");
        assert_error(P "a = 1e", 1, 27, "invalid number '1e'");
        assert_error(P "a = 1e+", 1, 27, "invalid number '1e+'");
        assert_error(P "a = 1.2.3", 1, 27, "invalid number '1.2.3'");
        assert_error(P "a = 1.e5", 1, 27, "invalid number '1.e5'");
        assert_error(P "a = 0x", 1, 27, "invalid number '0x'");
        assert_error(P "a = 0xg", 1, 27, "invalid number '0xg'");
        assert_error(P "a = 0x1.5", 1, 27, "invalid number '0x1.5'");
        assert_error(P "a = 1_000", 1, 27, "invalid number '1_000'");
        assert_error(P "a = -5x", 1, 27, "invalid number '-5x'");
        assert_error(P "a = 5\xc3\xa9", 1, 27, "invalid number '5\xc3\xa9'");
        assert_error(P "a = 99999999999999999999", 1, 27,
                     "number out of range: '99999999999999999999'");
        assert_error(P "a = 18446744073709551616", 1, 27,
                     "number out of range: '18446744073709551616'");
        assert_error(P "a = -9223372036854775809", 1, 27,
                     "number out of range: '-9223372036854775809'");
        assert_error(P "a = 0x10000000000000000", 1, 27,
                     "number out of range: '0x10000000000000000'");
        assert_error(P "a = -0x8000000000000001", 1, 27,
                     "number out of range: '-0x8000000000000001'");
        assert_error(P "a = 1e999", 1, 27, "number out of range: '1e999'");
        assert_error(P "a = -1e999", 1, 27, "number out of range: '-1e999'");
        assert_error(P "a = 1\x01", 1, 28, "unexpected control character 0x01");
        assert_error(P "a = 1\x7f", 1, 28, "unexpected control character 0x7f");
        assert_error(P "a\x0b= 1", 1, 24, "unexpected control character 0x0b");
        assert_error_len("SELECT * FROM X\0", 16, NULL, 1, 16, "NUL byte in query");
        assert_error_len(P "a = '\0'", 29, NULL, 1, 28, "NUL byte in query");
}

static void test_errors_utf8(void **state) {
        (void)state;
        assert_error(P "a = '\xff'", 1, 28, "invalid UTF-8 sequence (byte 0xff)");
        assert_error(P "a = '\x80'", 1, 28, "invalid UTF-8 sequence (byte 0x80)");
        assert_error(P "a = '\xc0\xaf'", 1, 28,
                     "invalid UTF-8 sequence (byte 0xc0)"); /* overlong */
        assert_error(P "a = '\xe0\x80\xaf'", 1, 28, "invalid UTF-8 sequence (byte 0xe0)");
        assert_error(P "a = '\xed\xa0\x80'", 1, 28,
                     "invalid UTF-8 sequence (byte 0xed)"); /* surrogate */
        assert_error(P "a = '\xf4\x90\x80\x80'", 1, 28, "invalid UTF-8 sequence (byte 0xf4)");
        assert_error(P "a = '\xf5\x80\x80\x80'", 1, 28, "invalid UTF-8 sequence (byte 0xf5)");
        assert_error(P "a = '\xf0\x80\x80\x80'", 1, 28, "invalid UTF-8 sequence (byte 0xf0)");
        assert_error(P "a = 'x\xe2\x82", 1, 29,
                     "invalid UTF-8 sequence (byte 0xe2)"); /* truncated */
        assert_error("SELECT *\nFROM \xc3(", 2, 6, "invalid UTF-8 sequence (byte 0xc3)");
        /* columns count bytes: the bad byte after a 3-byte character */
        assert_error(P "a = '\xe2\x82\xac\xff'", 1, 31, "invalid UTF-8 sequence (byte 0xff)");
        /* valid: 2, 3 and 4 byte characters, the extremes */
        WqlQuery *q = parse_ok(P "a = "
                                 "'\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80"
                                 "\x80\xf4\x8f\xbf\xbf'");
        wql_query_free(q);
}

static void test_error_token_display(void **state) {
        (void)state;
        /* long tokens are cut at 40 bytes */
        char text[200], msg[200];
        snprintf(text, sizeof(text), P "a = 1 %s",
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        assert_error(text, 1, 29,
                     "expected AND, OR or end of query, found "
                     "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");
        /* ... on a character boundary: x then 30 two-byte characters */
        StrBuf b = STRBUF_INIT, m = STRBUF_INIT;
        strbuf_append(&b, P "a = 1 x");
        strbuf_append(&m, "expected AND, OR or end of query, found 'x");
        for (int i = 0; i < 30; i++) {
                strbuf_append(&b, "\xc3\xa9");
                if (i < 19)
                        strbuf_append(&m, "\xc3\xa9");
        }
        strbuf_append(&m, "...'");
        assert_false(strbuf_failed(&b) || strbuf_failed(&m));
        assert_error(b.data, 1, 29, m.data);
        strbuf_done(&b);
        strbuf_done(&m);
        /* strings are shown with their own quotes */
        snprintf(msg, sizeof(msg), "expected AND, OR or end of query, found string \"q\"");
        assert_error(P "a = 1 \"q\"", 1, 29, msg);
}

/* ---- limits ---- */

static char *query_of_length(size_t len) {
        /* SELECT * FROM C WHERE a = 'xxx...' */
        const char *head = "SELECT * FROM C WHERE a = '";
        size_t hl = strlen(head);
        assert_true(len >= hl + 1);
        char *t = mem_malloc(len + 1);
        assert_non_null(t);
        memcpy(t, head, hl);
        memset(t + hl, 'x', len - hl - 1);
        t[len - 1] = '\'';
        t[len] = '\0';
        return t;
}

static void test_limit_length(void **state) {
        (void)state;
        char *t = query_of_length(WQL_DEFAULT_MAX_LENGTH);
        WqlQuery *q = parse_ok(t);
        wql_query_free(q);
        mem_free(t);
        t = query_of_length(WQL_DEFAULT_MAX_LENGTH + 1);
        assert_error(t, 1, WQL_DEFAULT_MAX_LENGTH + 1, "query longer than 16384 bytes");
        mem_free(t);

        WqlLimits small = { .max_length = 20 };
        q = parse_ok_len("SELECT * FROM Abcdef", 20, &small);
        wql_query_free(q);
        assert_error_len("SELECT * FROM Abcdefg", 21, &small, 1, 21, "query longer than 20 bytes");
        WqlLimits smaller = { .max_length = 15 };
        assert_error_len("SELECT *\nFROM Abcdefghijk", 24, &smaller, 2, 7,
                         "query longer than 15 bytes");

        /* a larger limit admits a larger query */
        t = query_of_length(100000);
        WqlLimits big = { .max_length = 100000 };
        q = parse_ok_len(t, 100000, &big);
        wql_query_free(q);
        assert_error_len(t, 100000, NULL, 1, WQL_DEFAULT_MAX_LENGTH + 1,
                         "query longer than 16384 bytes");
        mem_free(t);
}

/* P followed by n opening parentheses / NOTs around a = 1 */
static char *nested(const char *open, const char *close, size_t n) {
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, P);
        for (size_t i = 0; i < n; i++)
                strbuf_append(&b, open);
        strbuf_append(&b, "a = 1");
        for (size_t i = 0; i < n; i++)
                strbuf_append(&b, close);
        assert_false(strbuf_failed(&b));
        return strbuf_steal(&b);
}

static void test_limit_depth(void **state) {
        (void)state;
        char *t = nested("(", ")", 64);
        WqlQuery *q = parse_ok(t);
        wql_query_free(q);
        mem_free(t);
        t = nested("(", ")", 65);
        assert_error(t, 1, 23 + 64, "nesting deeper than 64");
        mem_free(t);

        t = nested("NOT ", "", 64);
        q = parse_ok(t);
        wql_query_free(q);
        mem_free(t);
        t = nested("NOT ", "", 65);
        assert_error(t, 1, 23 + 64 * 4, "nesting deeper than 64");
        mem_free(t);

        t = nested("NOT (", ")", 32); /* 64 levels */
        q = parse_ok(t);
        wql_query_free(q);
        mem_free(t);
        t = nested("(NOT ", ")", 33);
        assert_error(t, 1, 23 + 32 * 5, "nesting deeper than 64");
        mem_free(t);

        /* depth is nesting, not count */
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, P "(a = 0)");
        for (int i = 0; i < 200; i++)
                strbuf_append(&b, " AND (NOT a = 1)");
        WqlLimits two = { .max_depth = 2 };
        q = parse_ok_len(b.data, b.len, &two);
        wql_query_free(q);
        strbuf_done(&b);

        q = parse_ok_len(P "(NOT a = 1)", strlen(P "(NOT a = 1)"), &two);
        wql_query_free(q);
        assert_error_len(P "((NOT a = 1))", strlen(P "((NOT a = 1))"), &two, 1, 25,
                         "nesting deeper than 2");

        /* a limit above the ceiling is capped, so the parser's recursion
         * stays bounded whatever the configuration */
        WqlLimits huge = { .max_length = 1 << 20, .max_depth = 1000000 };
        t = nested("NOT ", "", 1024);
        q = parse_ok_len(t, strlen(t), &huge);
        char *f = wql_query_format(q);
        assert_string_equal(f, "SELECT * FROM x WHERE a = 1"); /* an even run of NOTs */
        mem_free(f);
        wql_query_free(q);
        mem_free(t);
        t = nested("(", ")", 1025);
        assert_error_len(t, strlen(t), &huge, 1, 23 + 1024, "nesting deeper than 1024");
        mem_free(t);
}

static void test_long_chains(void **state) {
        (void)state;
        /* thousands of terms: parse, format and free without deep recursion */
        StrBuf b = STRBUF_INIT, c = STRBUF_INIT;
        strbuf_append(&b, "SELECT * FROM C WHERE a = 0");
        strbuf_append(&c, "SELECT * FROM c WHERE a = 0");
        for (int i = 1; i < 20000; i++) {
                strbuf_printf(&b, i % 2 ? " OR (a = %d AND b = 1)" : " OR a = %d", i);
                strbuf_printf(&c, i % 2 ? " OR a = %d AND b = 1" : " OR a = %d", i);
        }
        assert_false(strbuf_failed(&b) || strbuf_failed(&c));
        WqlLimits big = { .max_length = 1 << 20 };
        WqlQuery *q = parse_ok_len(b.data, b.len, &big);
        assert_chain_shape(q->where);
        char *f = wql_query_format(q);
        assert_string_equal(f, c.data);
        mem_free(f);
        wql_query_free(q);
        strbuf_done(&b);
        strbuf_done(&c);
}

static void test_long_lists(void **state) {
        (void)state;
        /* many selected names and a long property path */
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, "SELECT p0");
        for (int i = 1; i < 3000; i++)
                strbuf_printf(&b, ", p%d", i);
        strbuf_append(&b, " FROM c WHERE a0");
        for (int i = 1; i < 1000; i++)
                strbuf_printf(&b, ".a%d", i);
        strbuf_append(&b, " = 1");
        assert_false(strbuf_failed(&b));
        WqlLimits big = { .max_length = 1 << 20 };
        WqlQuery *q = parse_ok_len(b.data, b.len, &big);
        assert_int_equal(q->n_select, 3000);
        assert_string_equal(q->select[2999], "p2999");
        assert_int_equal(q->where->compare.left.prop.n_parts, 1000);
        assert_string_equal(q->where->compare.left.prop.parts[999], "a999");
        char *f = wql_query_format(q);
        assert_string_equal(f, b.data);
        mem_free(f);
        wql_query_free(q);
        strbuf_done(&b);
}

/* ---- canonical text ---- */

static void test_canonical_query(void **state) {
        (void)state;
        const char *canon = "SELECT * FROM linux_process WHERE name = 'sshd'";
        assert_canonical("select * from Linux_Process where name = 'sshd'", canon);
        assert_canonical("SELECT  *  FROM  LINUX_PROCESS\tWHERE\r\nNAME=\"sshd\"", canon);
        assert_canonical("SELECT * FROM Linux_Process WHERE ((Name = 'sshd'))", canon);
        assert_canonical("SELECT * FROM Linux_Process WHERE 'sshd' = Name", canon);
        assert_canonical("select Name,PID ,  __CLASS from X", "SELECT name, pid, __class FROM x");
        assert_canonical("SELECT * FROM E WITHIN 5.0", "SELECT * FROM e WITHIN 5");
        assert_canonical("SELECT * FROM E WITHIN 0x05", "SELECT * FROM e WITHIN 5");
        assert_canonical("SELECT * FROM E WITHIN 0.5", "SELECT * FROM e WITHIN 0.5");
        assert_canonical("SELECT * FROM E WITHIN 1e1", "SELECT * FROM e WITHIN 10");
        assert_canonical("SELECT * FROM E WITHIN 1e-7", "SELECT * FROM e WITHIN 1e-07");
        assert_canonical("SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA "
                         "'Linux_Process' AND TargetInstance.Name LIKE 'ssh%' AND "
                         "TargetInstance.ProcessId > 100",
                         "SELECT * FROM __instancecreationevent WITHIN 1 WHERE targetinstance ISA "
                         "'linux_process' AND targetinstance.name LIKE 'ssh%' AND "
                         "targetinstance.processid > 100");
        assert_canonical("select * from __instancecreationevent within 1 where 100 < "
                         "targetinstance.processid and targetinstance.name like \"ssh%\" and "
                         "\"Linux_Process\" = targetinstance.__class",
                         "SELECT * FROM __instancecreationevent WITHIN 1 WHERE "
                         "targetinstance.processid > 100 AND targetinstance.name LIKE 'ssh%' AND "
                         "targetinstance.__class = 'Linux_Process'");
        /* non-ASCII names keep their bytes (only ASCII folds) */
        assert_canonical("SELECT \xc3\x84pfel FROM \xc3\x9c"
                         "ber",
                         "SELECT \xc3\x84pfel FROM \xc3\x9c"
                         "ber");
}

static void test_canonical_conditions(void **state) {
        (void)state;
        /* operators and operand order */
        assert_where_canonical("5 < X", "x > 5");
        assert_where_canonical("X > 5", "x > 5");
        assert_where_canonical("5 >= X", "x <= 5");
        assert_where_canonical("a != 1", "a <> 1");
        assert_where_canonical("a=1", "a = 1");
        assert_where_canonical("A.B = C.D", "a.b = c.d");
        /* NULL forms */
        assert_where_canonical("a = NULL", "a IS NULL");
        assert_where_canonical("NULL <> a", "a IS NOT NULL");
        assert_where_canonical("a is not null", "a IS NOT NULL");
        /* literals */
        assert_where_canonical("a = \"it's\"", "a = 'it\\'s'");
        assert_where_canonical("a = 'it\\'s'", "a = 'it\\'s'");
        assert_where_canonical("a = 'C:\\Temp'", "a = 'C:\\\\Temp'");
        assert_where_canonical("a = 'C:\\\\Temp'", "a = 'C:\\\\Temp'");
        assert_where_canonical("a = \"\\\"\"", "a = '\"'");
        assert_where_canonical("a = 'MiXeD'", "a = 'MiXeD'");
        assert_where_canonical("a = 0x10", "a = 16");
        assert_where_canonical("a = +5", "a = 5");
        assert_where_canonical("a = -0", "a = 0");
        assert_where_canonical("a = 1e3", "a = 1000.0");
        assert_where_canonical("a = 1.50", "a = 1.5");
        assert_where_canonical("a = -0.0", "a = -0.0");
        assert_where_canonical("a = 0.1", "a = 0.1");
        assert_where_canonical("a = 1e17", "a = 1e+17");
        assert_where_canonical("a = 2.5e-10", "a = 2.5e-10");
        assert_where_canonical("a = 18446744073709551615", "a = 18446744073709551615");
        assert_where_canonical("a = -9223372036854775808", "a = -9223372036854775808");
        assert_where_canonical("a = true AND b <> False", "a = TRUE AND b <> FALSE");
        /* LIKE, ISA */
        assert_where_canonical("a not like \"x%\"", "a NOT LIKE 'x%'");
        assert_where_canonical("a LIKE '[%]\\\\'", "a LIKE '[%]\\\\'");
        assert_where_canonical("TargetInstance isa \"Linux_Process\"",
                               "targetinstance ISA 'linux_process'");
        /* parentheses: only where precedence needs them */
        assert_where_canonical("((a = 1))", "a = 1");
        assert_where_canonical("a = 1 AND (b = 2 AND c = 3)", "a = 1 AND b = 2 AND c = 3");
        assert_where_canonical("(a = 1 AND b = 2) AND c = 3", "a = 1 AND b = 2 AND c = 3");
        assert_where_canonical("(a = 1 OR b = 2) AND c = 3", "(a = 1 OR b = 2) AND c = 3");
        assert_where_canonical("a = 1 OR (b = 2 AND c = 3)", "a = 1 OR b = 2 AND c = 3");
        assert_where_canonical("(a = 1 OR b = 2) OR (c = 3 OR d = 4)",
                               "a = 1 OR b = 2 OR c = 3 OR d = 4");
        assert_where_canonical("((a = 1 OR b = 2) AND (c = 3 OR d = 4)) OR e = 5",
                               "(a = 1 OR b = 2) AND (c = 3 OR d = 4) OR e = 5");
        /* NOT */
        assert_where_canonical("NOT (a = 1)", "NOT a = 1");
        assert_where_canonical("not (a = 1 and b = 2)", "NOT (a = 1 AND b = 2)");
        assert_where_canonical("(NOT a = 1) AND b = 2", "NOT a = 1 AND b = 2");
        assert_where_canonical("NOT NOT a = 1", "a = 1");
        assert_where_canonical("NOT NOT NOT a = 1", "NOT a = 1");
        assert_where_canonical("NOT (NOT (a = 1 OR b = 2))", "a = 1 OR b = 2");
        assert_where_canonical("x = 1 AND NOT NOT (a = 1 OR b = 2)", "x = 1 AND (a = 1 OR b = 2)");
        assert_where_canonical("x = 1 AND NOT NOT (a = 1 AND b = 2)", "x = 1 AND a = 1 AND b = 2");
        assert_where_canonical("NOT (NOT a = 1 OR NOT (b = 2 AND c = 3))",
                               "NOT (NOT a = 1 OR NOT (b = 2 AND c = 3))");
}

static void test_expr_format(void **state) {
        (void)state;
        WqlQuery *q = parse_where("(A = 1 OR b = 2) AND NOT c LIKE 'x'");
        char *f = wql_expr_format(q->where);
        assert_string_equal(f, "(a = 1 OR b = 2) AND NOT c LIKE 'x'");
        mem_free(f);
        /* a sub-expression on its own needs no outer parentheses */
        f = wql_expr_format(q->where->binary.left);
        assert_string_equal(f, "a = 1 OR b = 2");
        mem_free(f);
        wql_query_free(q);
        f = wql_expr_format(NULL);
        assert_string_equal(f, "");
        mem_free(f);
}

/* Trees built by hand get the same canonical text as parsed ones. */
static void test_format_hand_built(void **state) {
        (void)state;
        char *x = mem_strdup("X");
        WqlExpr cmp = { .kind = WQL_EXPR_COMPARE };
        cmp.compare.op = WQL_OP_LT;
        cmp.compare.left.is_property = false;
        cmp.compare.left.lit = (WqlLiteral){ .kind = WQL_LIT_INTEGER, .i = 5 };
        cmp.compare.right.is_property = true;
        cmp.compare.right.prop = (WqlPropertyRef){ .parts = &x, .n_parts = 1 };
        char *f = wql_expr_format(&cmp);
        assert_string_equal(f, "x > 5");
        mem_free(f);

        cmp.compare.op = WQL_OP_NE;
        cmp.compare.left.lit = (WqlLiteral){ .kind = WQL_LIT_NULL };
        f = wql_expr_format(&cmp);
        assert_string_equal(f, "x IS NOT NULL");
        mem_free(f);

        /* an AND as the left child of an AND, and an OR under NOT */
        WqlExpr a = cmp, b = cmp;
        a.compare.op = WQL_OP_EQ;
        WqlExpr inner = { .kind = WQL_EXPR_AND, .binary = { &a, &b } };
        WqlExpr outer = { .kind = WQL_EXPR_AND, .binary = { &inner, &cmp } };
        f = wql_expr_format(&outer);
        assert_string_equal(f, "x IS NULL AND x IS NOT NULL AND x IS NOT NULL");
        mem_free(f);
        WqlExpr or = { .kind = WQL_EXPR_OR, .binary = { &a, &b } };
        WqlExpr not = { .kind = WQL_EXPR_NOT, .operand = & or };
        f = wql_expr_format(&not );
        assert_string_equal(f, "NOT (x IS NULL OR x IS NOT NULL)");
        mem_free(f);
        mem_free(x);
}

/* ---- allocation failures ---- */

static const char *const complex_query =
        "select Name, ProcessId from __InstanceModificationEvent within 2.5 where "
        "TargetInstance isa 'Linux_Process' and (5 < TargetInstance.ProcessId or "
        "NOT TargetInstance.Name like \"ssh%\") and (a = 1 and (b = 'x' and c = NULL)) "
        "and PreviousInstance.Name <> TargetInstance.Name and d is not null";

static void test_alloc_failure_parse(void **state) {
        (void)state;
        size_t len = strlen(complex_query);
        bool completed = false;
        for (unsigned long n = 1; n < 1000 && !completed; n++) {
                WqlQuery *q = NULL;
                Error err = { 0 };
                mem_fail_at(n);
                int r = wql_parse(complex_query, len, NULL, &q, &err);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (r == 0) {
                        assert_false(triggered);
                        completed = true;
                        wql_query_free(q);
                } else {
                        assert_true(triggered);
                        assert_int_equal(r, -ENOMEM);
                        assert_int_equal(err.status, WBEM_E_OUT_OF_MEMORY);
                        assert_null(q);
                }
        }
        assert_true(completed);
}

static void test_alloc_failure_format(void **state) {
        (void)state;
        WqlQuery *q = parse_ok(complex_query);
        bool completed = false;
        for (unsigned long n = 1; n < 1000 && !completed; n++) {
                mem_fail_at(n);
                char *f = wql_query_format(q);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (f) {
                        assert_false(triggered);
                        completed = true;
                        assert_string_equal(f, "SELECT name, processid FROM "
                                               "__instancemodificationevent WITHIN 2.5 WHERE "
                                               "targetinstance ISA 'linux_process' AND "
                                               "(targetinstance.processid > 5 OR "
                                               "NOT targetinstance.name LIKE 'ssh%') AND a = 1 AND "
                                               "b = 'x' AND c IS NULL "
                                               "AND previousinstance.name <> targetinstance.name "
                                               "AND d IS NOT NULL");
                        mem_free(f);
                } else
                        assert_true(triggered);
        }
        assert_true(completed);
        wql_query_free(q);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_select_all),
                cmocka_unit_test(test_select_list),
                cmocka_unit_test(test_not_nul_terminated),
                cmocka_unit_test(test_within),
                cmocka_unit_test(test_precedence),
                cmocka_unit_test(test_chain_shape),
                cmocka_unit_test(test_positions),
                cmocka_unit_test(test_compare_operators),
                cmocka_unit_test(test_null_forms),
                cmocka_unit_test(test_like_isa),
                cmocka_unit_test(test_string_literals),
                cmocka_unit_test(test_number_literals),
                cmocka_unit_test(test_long_real),
                cmocka_unit_test(test_keyword_literals),
                cmocka_unit_test(test_white_space),
                cmocka_unit_test(test_errors_structure),
                cmocka_unit_test(test_errors_predicates),
                cmocka_unit_test(test_errors_arithmetic),
                cmocka_unit_test(test_errors_lexical),
                cmocka_unit_test(test_errors_utf8),
                cmocka_unit_test(test_error_token_display),
                cmocka_unit_test(test_limit_length),
                cmocka_unit_test(test_limit_depth),
                cmocka_unit_test(test_long_chains),
                cmocka_unit_test(test_long_lists),
                cmocka_unit_test(test_canonical_query),
                cmocka_unit_test(test_canonical_conditions),
                cmocka_unit_test(test_expr_format),
                cmocka_unit_test(test_format_hand_built),
                cmocka_unit_test(test_alloc_failure_parse),
                cmocka_unit_test(test_alloc_failure_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
