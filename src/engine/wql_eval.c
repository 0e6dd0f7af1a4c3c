/* WQL evaluation against instances, and validation of a query against a
 * class. The comparison rules are tabled in docs/wql.md; in short:
 *
 *   - numbers compare by value across every integer and real type (a
 *     uint64 above INT64_MAX is greater than any sint64; a real compares
 *     exactly with a 64-bit integer, no rounding through double);
 *   - strings compare case-insensitively (like.h's folding); a string
 *     against a number, boolean or datetime is converted to that type, and
 *     when it does not convert the comparison is FALSE (no match, not an
 *     error);
 *   - booleans support = and <> only; references compare as path text,
 *     case-insensitively; datetimes compare as instants (or as durations,
 *     for intervals; an instant never equals an interval);
 *   - NULL, a missing property, an array or an embedded object make a
 *     comparison UNKNOWN.
 *
 * Operands are resolved into a small tagged struct pointing into the
 * instance, so nothing is copied or allocated, except __PATH and
 * __RELPATH, which are built on demand. */
#include "wql_eval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "like.h"
#include "mem.h"
#include "names.h"
#include "wql_lex.h"

/* A resolved operand. */
typedef enum OperandKind {
        OPND_MISSING, /* the class has no such property */
        OPND_NULL,
        OPND_STRING,
        OPND_REFERENCE,
        OPND_BOOL,
        OPND_SINT,
        OPND_UINT,
        OPND_REAL,
        OPND_DATETIME,
        OPND_OBJECT,
        OPND_ARRAY,
} OperandKind;

typedef struct Operand {
        OperandKind kind;
        union {
                const char *s;
                bool b;
                int64_t i;
                uint64_t u;
                double r;
                CimDatetime dt;
                const Instance *obj;
        };
        char *owned; /* the text of __PATH or __RELPATH, freed after use */
} Operand;

/* ---- system properties ---- */

typedef enum SysProp {
        SYS_NONE,
        SYS_CLASS,
        SYS_SUPERCLASS,
        SYS_DYNASTY,
        SYS_DERIVATION,
        SYS_GENUS,
        SYS_NAMESPACE,
        SYS_SERVER,
        SYS_RELPATH,
        SYS_PATH,
        SYS_PROPERTY_COUNT,
        SYS_THIS,
} SysProp;

static const struct {
        const char *name;
        SysProp id;
        CimType type;
        bool is_array;
} sys_props[] = {
        { "__CLASS", SYS_CLASS, CIM_STRING, false },
        { "__SUPERCLASS", SYS_SUPERCLASS, CIM_STRING, false },
        { "__DYNASTY", SYS_DYNASTY, CIM_STRING, false },
        { "__DERIVATION", SYS_DERIVATION, CIM_STRING, true },
        { "__GENUS", SYS_GENUS, CIM_SINT32, false },
        { "__NAMESPACE", SYS_NAMESPACE, CIM_STRING, false },
        { "__SERVER", SYS_SERVER, CIM_STRING, false },
        { "__RELPATH", SYS_RELPATH, CIM_STRING, false },
        { "__PATH", SYS_PATH, CIM_STRING, false },
        { "__PROPERTY_COUNT", SYS_PROPERTY_COUNT, CIM_SINT32, false },
        { "__THIS", SYS_THIS, CIM_OBJECT, false },
};

/* WMI reserves names starting with "__" for system properties. */
static size_t sys_prop_find(const char *name) {
        if (name[0] != '_' || name[1] != '_')
                return SIZE_MAX;
        for (size_t k = 0; k < sizeof(sys_props) / sizeof(sys_props[0]); k++)
                if (name_equal(name, sys_props[k].name))
                        return k;
        return SIZE_MAX;
}

/* Keyless classes that are not singletons (events, for one) have no path,
 * as in WMI: __RELPATH and __PATH are NULL. */
static bool instance_has_path(const Instance *inst) {
        return inst->cls->is_singleton || inst->cls->n_keys > 0;
}

static int sys_prop_value(SysProp id, const Instance *inst, const WqlEvalContext *ctx,
                          Operand *ret) {
        const CimClass *c = inst->cls;
        *ret = (Operand){ .kind = OPND_NULL };
        switch (id) {
        case SYS_CLASS:
                *ret = (Operand){ .kind = OPND_STRING, .s = c->name };
                break;
        case SYS_SUPERCLASS:
                if (c->superclass)
                        *ret = (Operand){ .kind = OPND_STRING, .s = c->superclass };
                break;
        case SYS_DYNASTY:
                *ret = (Operand){ .kind = OPND_STRING,
                                  .s = c->n_derivation ? c->derivation[c->n_derivation - 1]
                                                       : c->name };
                break;
        case SYS_DERIVATION:
                ret->kind = OPND_ARRAY; /* possibly empty, never NULL */
                break;
        case SYS_GENUS:
                *ret = (Operand){ .kind = OPND_SINT, .i = 2 }; /* 2: an instance */
                break;
        case SYS_NAMESPACE:
                if (inst->ns)
                        *ret = (Operand){ .kind = OPND_STRING, .s = inst->ns };
                break;
        case SYS_SERVER:
                if (ctx && ctx->host)
                        *ret = (Operand){ .kind = OPND_STRING, .s = ctx->host };
                break;
        case SYS_RELPATH:
        case SYS_PATH: {
                if (!instance_has_path(inst) || (id == SYS_PATH && !inst->ns))
                        break;
                char *text = id == SYS_PATH ? instance_path(inst, ctx ? ctx->host : NULL)
                                            : instance_relpath(inst);
                if (!text)
                        return -ENOMEM;
                *ret = (Operand){ .kind = OPND_STRING, .s = text, .owned = text };
                break;
        }
        case SYS_PROPERTY_COUNT:
                *ret = (Operand){ .kind = OPND_SINT, .i = (int64_t)c->n_props };
                break;
        case SYS_THIS:
                *ret = (Operand){ .kind = OPND_OBJECT, .obj = inst };
                break;
        case SYS_NONE:
                ret->kind = OPND_MISSING;
                break;
        }
        return 0;
}

static void operand_from_value(const Value *v, Operand *ret) {
        *ret = (Operand){ .kind = OPND_NULL };
        if (v->is_null)
                return;
        if (v->is_array) {
                ret->kind = OPND_ARRAY;
                return;
        }
        switch (v->type) {
        case CIM_STRING:
                *ret = (Operand){ .kind = OPND_STRING, .s = v->s };
                break;
        case CIM_REFERENCE:
                *ret = (Operand){ .kind = OPND_REFERENCE, .s = v->s };
                break;
        case CIM_BOOLEAN:
                *ret = (Operand){ .kind = OPND_BOOL, .b = v->b };
                break;
        case CIM_SINT8:
        case CIM_SINT16:
        case CIM_SINT32:
        case CIM_SINT64:
                *ret = (Operand){ .kind = OPND_SINT, .i = v->i };
                break;
        case CIM_UINT8:
        case CIM_UINT16:
        case CIM_UINT32:
        case CIM_UINT64:
                *ret = (Operand){ .kind = OPND_UINT, .u = v->u };
                break;
        case CIM_REAL32:
        case CIM_REAL64:
                *ret = (Operand){ .kind = OPND_REAL, .r = v->r };
                break;
        case CIM_DATETIME:
                *ret = (Operand){ .kind = OPND_DATETIME, .dt = v->dt };
                break;
        case CIM_OBJECT:
                *ret = v->obj ? (Operand){ .kind = OPND_OBJECT, .obj = v->obj }
                              : (Operand){ .kind = OPND_NULL };
                break;
        default:
                ret->kind = OPND_MISSING;
                break;
        }
}

static void operand_from_literal(const WqlLiteral *l, Operand *ret) {
        switch (l->kind) {
        case WQL_LIT_STRING:
                *ret = (Operand){ .kind = OPND_STRING, .s = l->s };
                break;
        case WQL_LIT_INTEGER:
                *ret = (Operand){ .kind = OPND_SINT, .i = l->i };
                break;
        case WQL_LIT_UNSIGNED:
                *ret = (Operand){ .kind = OPND_UINT, .u = l->u };
                break;
        case WQL_LIT_REAL:
                *ret = (Operand){ .kind = OPND_REAL, .r = l->r };
                break;
        case WQL_LIT_BOOLEAN:
                *ret = (Operand){ .kind = OPND_BOOL, .b = l->b };
                break;
        case WQL_LIT_NULL:
        default:
                *ret = (Operand){ .kind = OPND_NULL };
                break;
        }
}

/* The value of a property path on inst. A property the class lacks gives
 * OPND_MISSING; a NULL embedded object on the way gives OPND_NULL (the
 * property of a missing object is NULL); a path through something that is
 * not an embedded object gives OPND_MISSING. Returns 0 or -ENOMEM. */
/* Index of property `name` in cls, trying *hint first (a remembered index
 * is verified by name, so it can never pick the wrong property). */
static long find_property(const CimClass *cls, const char *name, uint32_t *hint) {
        if (hint && *hint < cls->n_props && name_equal(cls->props[*hint].name, name))
                return (long)*hint;
        long idx = class_find_property(cls, name);
        if (hint && idx >= 0)
                *hint = (uint32_t)idx;
        return idx;
}

/* hints: NULL, or one per part of p (see WqlFilter). */
static int resolve(const WqlPropertyRef *p, uint32_t *hints, const Instance *inst,
                   const WqlEvalContext *ctx, Operand *ret) {
        const Instance *cur = inst;
        *ret = (Operand){ .kind = OPND_MISSING };
        for (size_t k = 0; k < p->n_parts; k++) {
                const char *name = p->parts[k];
                bool last = k + 1 == p->n_parts;
                size_t sp = sys_prop_find(name);
                if (sp != SIZE_MAX) {
                        if (sys_props[sp].id == SYS_THIS) {
                                if (last)
                                        *ret = (Operand){ .kind = OPND_OBJECT, .obj = cur };
                                continue;
                        }
                        if (!last)
                                return 0; /* not an object: missing */
                        return sys_prop_value(sys_props[sp].id, cur, ctx, ret);
                }
                long idx = find_property(cur->cls, name, hints ? &hints[k] : NULL);
                if (idx < 0)
                        return 0;
                const Value *v = &cur->values[idx];
                if (last) {
                        operand_from_value(v, ret);
                        return 0;
                }
                if (v->type != CIM_OBJECT || v->is_array)
                        return 0;
                if (v->is_null || !v->obj) {
                        ret->kind = OPND_NULL;
                        return 0;
                }
                cur = v->obj;
        }
        return 0;
}

/* ---- comparison ---- */

#define CMP_UNORDERED 2 /* a NaN was involved */

static int sign_of(int c) {
        return (c > 0) - (c < 0);
}

static int cmp_sint_uint(int64_t i, uint64_t u) {
        if (i < 0)
                return -1;
        return (uint64_t)i < u ? -1 : (uint64_t)i > u;
}

/* Exact: compare with the real's integral part first, then its fraction,
 * never converting the 64-bit integer to a double (which would round). */
static int cmp_sint_real(int64_t i, double r) {
        if (isnan(r))
                return CMP_UNORDERED;
        if (r >= 9223372036854775808.0)
                return -1;
        if (r < -9223372036854775808.0)
                return 1;
        double t = trunc(r);
        int64_t ti = (int64_t)t;
        if (i != ti)
                return i < ti ? -1 : 1;
        return t < r ? -1 : (t > r ? 1 : 0);
}

static int cmp_uint_real(uint64_t u, double r) {
        if (isnan(r))
                return CMP_UNORDERED;
        if (r < 0)
                return 1;
        if (r >= 18446744073709551616.0)
                return -1;
        double t = trunc(r);
        uint64_t tu = (uint64_t)t;
        if (u != tu)
                return u < tu ? -1 : 1;
        return t < r ? -1 : (t > r ? 1 : 0);
}

static int flip(int c) {
        return c == CMP_UNORDERED ? c : -c;
}

static bool is_number(const Operand *o) {
        return o->kind == OPND_SINT || o->kind == OPND_UINT || o->kind == OPND_REAL;
}

static bool is_text(const Operand *o) {
        return o->kind == OPND_STRING || o->kind == OPND_REFERENCE;
}

static int cmp_numbers(const Operand *a, const Operand *b) {
        switch (a->kind) {
        case OPND_SINT:
                if (b->kind == OPND_SINT)
                        return a->i < b->i ? -1 : a->i > b->i;
                if (b->kind == OPND_UINT)
                        return cmp_sint_uint(a->i, b->u);
                return cmp_sint_real(a->i, b->r);
        case OPND_UINT:
                if (b->kind == OPND_SINT)
                        return flip(cmp_sint_uint(b->i, a->u));
                if (b->kind == OPND_UINT)
                        return a->u < b->u ? -1 : a->u > b->u;
                return cmp_uint_real(a->u, b->r);
        default:
                if (b->kind == OPND_SINT)
                        return flip(cmp_sint_real(b->i, a->r));
                if (b->kind == OPND_UINT)
                        return flip(cmp_uint_real(b->u, a->r));
                if (isnan(a->r) || isnan(b->r))
                        return CMP_UNORDERED;
                return a->r < b->r ? -1 : a->r > b->r;
        }
}

static WqlTruth truth(bool b) {
        return b ? WQL_TRUE : WQL_FALSE;
}

static WqlTruth apply_op(int c, WqlCompareOp op) {
        if (c == CMP_UNORDERED) /* NaN: unequal to everything, not ordered */
                return truth(op == WQL_OP_NE);
        switch (op) {
        case WQL_OP_EQ:
                return truth(c == 0);
        case WQL_OP_NE:
                return truth(c != 0);
        case WQL_OP_LT:
                return truth(c < 0);
        case WQL_OP_GT:
                return truth(c > 0);
        case WQL_OP_LE:
                return truth(c <= 0);
        case WQL_OP_GE:
                return truth(c >= 0);
        }
        return WQL_UNKNOWN;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* A string that holds a number, in the forms WQL literals use: decimal
 * integer with optional sign, 0x hex, or a real (1.5, -2e3). No white
 * space. Integers beyond 64 bits read as reals. */
static bool text_to_number(const char *s, Operand *ret) {
        const char *p = s;
        bool negative = false;
        if (*p == '+' || *p == '-')
                negative = *p++ == '-';
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
                p += 2;
                if (!*p)
                        return false;
                uint64_t mag = 0;
                for (; *p; p++) {
                        unsigned d;
                        if (is_digit(*p))
                                d = (unsigned)(*p - '0');
                        else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
                                d = (unsigned)((*p | 0x20) - 'a' + 10);
                        else
                                return false;
                        if (mag > (UINT64_MAX >> 4))
                                return false;
                        mag = (mag << 4) | d;
                }
                if (!negative && mag > (uint64_t)INT64_MAX)
                        *ret = (Operand){ .kind = OPND_UINT, .u = mag };
                else if (negative && mag > (uint64_t)INT64_MAX + 1)
                        return false;
                else
                        *ret = (Operand){ .kind = OPND_SINT,
                                          .i = negative ? (mag == (uint64_t)INT64_MAX + 1
                                                                   ? INT64_MIN
                                                                   : -(int64_t)mag)
                                                        : (int64_t)mag };
                return true;
        }
        const char *digits = p;
        while (is_digit(*p))
                p++;
        if (p == digits)
                return false;
        bool real = false;
        if (*p == '.') {
                real = true;
                const char *frac = ++p;
                while (is_digit(*p))
                        p++;
                if (p == frac)
                        return false;
        }
        if (*p == 'e' || *p == 'E') {
                real = true;
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                const char *exp = p;
                while (is_digit(*p))
                        p++;
                if (p == exp)
                        return false;
        }
        if (*p)
                return false;
        if (!real) {
                uint64_t mag = 0;
                bool overflow = false;
                for (p = digits; is_digit(*p) && !overflow; p++) {
                        unsigned d = (unsigned)(*p - '0');
                        if (mag > (UINT64_MAX - d) / 10)
                                overflow = true;
                        else
                                mag = mag * 10 + d;
                }
                if (!overflow && !negative && mag > (uint64_t)INT64_MAX) {
                        *ret = (Operand){ .kind = OPND_UINT, .u = mag };
                        return true;
                }
                if (!overflow && (!negative || mag <= (uint64_t)INT64_MAX + 1)) {
                        *ret = (Operand){ .kind = OPND_SINT,
                                          .i = !negative                        ? (int64_t)mag
                                               : mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN
                                                                                : -(int64_t)mag };
                        return true;
                }
        }
        double r;
        if (!wql_strtod_c(s, &r))
                return false;
        *ret = (Operand){ .kind = OPND_REAL, .r = r };
        return true;
}

static bool operand_as_bool(const Operand *o, bool *ret) {
        if (o->kind == OPND_BOOL) {
                *ret = o->b;
                return true;
        }
        if (o->kind == OPND_STRING) {
                size_t n = strlen(o->s);
                if (wql_ascii_equal_n(o->s, n, "TRUE") || wql_ascii_equal_n(o->s, n, "FALSE")) {
                        *ret = wql_ascii_equal_n(o->s, n, "TRUE");
                        return true;
                }
        }
        return false;
}

static bool operand_as_datetime(const Operand *o, CimDatetime *ret) {
        if (o->kind == OPND_DATETIME) {
                *ret = o->dt;
                return true;
        }
        return o->kind == OPND_STRING && cim_datetime_parse(o->s, ret, NULL) == 0;
}

static bool operand_comparable(const Operand *o) {
        return o->kind != OPND_MISSING && o->kind != OPND_NULL && o->kind != OPND_ARRAY &&
               o->kind != OPND_OBJECT;
}

static bool op_is_ordering(WqlCompareOp op) {
        return op != WQL_OP_EQ && op != WQL_OP_NE;
}

static WqlTruth compare_operands(const Operand *a, const Operand *b, WqlCompareOp op) {
        if (!operand_comparable(a) || !operand_comparable(b))
                return WQL_UNKNOWN;
        if (is_number(a) && is_number(b))
                return apply_op(cmp_numbers(a, b), op);
        if (is_text(a) && is_text(b))
                return apply_op(sign_of(like_text_compare(a->s, b->s)), op);
        if (a->kind == OPND_BOOL || b->kind == OPND_BOOL) {
                bool x, y;
                if (op_is_ordering(op))
                        return WQL_UNKNOWN;
                if (!operand_as_bool(a, &x) || !operand_as_bool(b, &y))
                        return WQL_FALSE;
                return apply_op(x == y ? 0 : 1, op);
        }
        if (a->kind == OPND_DATETIME || b->kind == OPND_DATETIME) {
                CimDatetime x, y;
                if (!operand_as_datetime(a, &x) || !operand_as_datetime(b, &y) ||
                    x.is_interval != y.is_interval)
                        return WQL_FALSE;
                return apply_op(x.usec < y.usec ? -1 : x.usec > y.usec, op);
        }
        if (is_number(a) && b->kind == OPND_STRING) {
                Operand n;
                return text_to_number(b->s, &n) ? apply_op(cmp_numbers(a, &n), op) : WQL_FALSE;
        }
        if (a->kind == OPND_STRING && is_number(b)) {
                Operand n;
                return text_to_number(a->s, &n) ? apply_op(cmp_numbers(&n, b), op) : WQL_FALSE;
        }
        return WQL_FALSE; /* e.g. a number against a reference */
}

/* ---- predicates and logic ---- */

static WqlTruth negate(WqlTruth t) {
        return t == WQL_UNKNOWN ? t : truth(t == WQL_FALSE);
}

/* Hints for the property paths of one predicate: [0] its (left) property,
 * [1] the right-hand property of a comparison. */
typedef struct PredicateHints {
        const WqlExpr *pred;
        uint32_t *hints[2];
} PredicateHints;

static int eval_compare(const WqlExpr *e, const PredicateHints *h, const Instance *inst,
                        const WqlEvalContext *ctx) {
        Operand a, b;
        int r;
        if (e->compare.left.is_property) {
                r = resolve(&e->compare.left.prop, h ? h->hints[0] : NULL, inst, ctx, &a);
                if (r < 0)
                        return r;
        } else /* only in trees built by hand */
                operand_from_literal(&e->compare.left.lit, &a);
        if (e->compare.right.is_property) {
                r = resolve(&e->compare.right.prop, h ? h->hints[1] : NULL, inst, ctx, &b);
                if (r < 0) {
                        mem_free(a.owned);
                        return r;
                }
        } else
                operand_from_literal(&e->compare.right.lit, &b);
        WqlTruth t = compare_operands(&a, &b, e->compare.op);
        mem_free(a.owned);
        mem_free(b.owned);
        return t;
}

static int eval_predicate(const WqlExpr *e, const PredicateHints *h, const Instance *inst,
                          const WqlEvalContext *ctx) {
        uint32_t *hints = h ? h->hints[0] : NULL;
        Operand o;
        WqlTruth t;
        int r;
        switch (e->kind) {
        case WQL_EXPR_COMPARE:
                return eval_compare(e, h, inst, ctx);
        case WQL_EXPR_LIKE:
                r = resolve(&e->like.prop, hints, inst, ctx, &o);
                if (r < 0)
                        return r;
                t = is_text(&o) ? truth(like_match(e->like.pattern, o.s)) : WQL_UNKNOWN;
                mem_free(o.owned);
                return e->like.negated ? negate(t) : t;
        case WQL_EXPR_IS_NULL:
                r = resolve(&e->is_null.prop, hints, inst, ctx, &o);
                if (r < 0)
                        return r;
                mem_free(o.owned);
                t = o.kind == OPND_MISSING ? WQL_UNKNOWN : truth(o.kind == OPND_NULL);
                return e->is_null.negated ? negate(t) : t;
        case WQL_EXPR_ISA:
                r = resolve(&e->isa.prop, hints, inst, ctx, &o);
                if (r < 0)
                        return r;
                mem_free(o.owned);
                if (o.kind != OPND_OBJECT)
                        return WQL_UNKNOWN;
                return truth(class_isa(o.obj->cls, e->isa.class_name));
        default:
                return WQL_UNKNOWN;
        }
}

struct WqlFilter {
        const WqlExpr *root;
        PredicateHints *preds; /* sorted by address of pred */
        size_t n_preds;
        uint32_t *slots; /* the storage the hints point into */
};

static const PredicateHints *filter_find(const WqlFilter *f, const WqlExpr *pred) {
        size_t lo = 0, hi = f->n_preds;
        uintptr_t key = (uintptr_t)pred;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                uintptr_t at = (uintptr_t)f->preds[mid].pred;
                if (at == key)
                        return &f->preds[mid];
                if (at < key)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* Loops along AND/OR chains and NOT runs, recursing only into chain terms:
 * as deep as the query nests. Chains stop at the first dominant term
 * (FALSE for AND, TRUE for OR). filter may be NULL. */
static int eval(const WqlExpr *e, const WqlFilter *filter, const Instance *inst,
                const WqlEvalContext *ctx) {
        bool negated = false;
        while (e->kind == WQL_EXPR_NOT) {
                negated = !negated;
                e = e->operand;
        }
        int result;
        if (e->kind == WQL_EXPR_AND || e->kind == WQL_EXPR_OR) {
                WqlExprKind kind = e->kind;
                WqlTruth dominant = kind == WQL_EXPR_AND ? WQL_FALSE : WQL_TRUE;
                result = negate(dominant);
                for (;;) {
                        const WqlExpr *term = e->kind == kind ? e->binary.left : e;
                        int t = eval(term, filter, inst, ctx);
                        if (t < 0)
                                return t;
                        if (t == (int)dominant) {
                                result = dominant;
                                break;
                        }
                        if (t == WQL_UNKNOWN)
                                result = WQL_UNKNOWN;
                        if (e->kind != kind)
                                break;
                        e = e->binary.right;
                }
        } else {
                result = eval_predicate(e, filter ? filter_find(filter, e) : NULL, inst, ctx);
                if (result < 0)
                        return result;
        }
        return negated ? (int)negate((WqlTruth)result) : result;
}

int wql_eval_expr(const WqlExpr *e, const Instance *inst, const WqlEvalContext *ctx) {
        if (!e)
                return WQL_TRUE;
        return eval(e, NULL, inst, ctx);
}

int wql_eval_where(const WqlQuery *q, const Instance *inst, const WqlEvalContext *ctx) {
        if (!q->where)
                return 1;
        int r = eval(q->where, NULL, inst, ctx);
        if (r < 0)
                return r;
        return r == WQL_TRUE;
}

/* ---- prepared filters ---- */

/* Call visit(pred, data) for every predicate of e, in the same walk as
 * eval(). */
static void for_each_predicate(const WqlExpr *e, void (*visit)(const WqlExpr *, void *),
                               void *data) {
        while (e->kind == WQL_EXPR_NOT)
                e = e->operand;
        if (e->kind != WQL_EXPR_AND && e->kind != WQL_EXPR_OR) {
                visit(e, data);
                return;
        }
        WqlExprKind kind = e->kind;
        for (;;) {
                for_each_predicate(e->kind == kind ? e->binary.left : e, visit, data);
                if (e->kind != kind)
                        return;
                e = e->binary.right;
        }
}

/* The property paths of a predicate: [0] left, [1] right (or NULL). */
static void predicate_paths(const WqlExpr *e, const WqlPropertyRef *paths[2]) {
        paths[0] = paths[1] = NULL;
        switch (e->kind) {
        case WQL_EXPR_COMPARE:
                if (e->compare.left.is_property)
                        paths[0] = &e->compare.left.prop;
                if (e->compare.right.is_property)
                        paths[1] = &e->compare.right.prop;
                break;
        case WQL_EXPR_LIKE:
                paths[0] = &e->like.prop;
                break;
        case WQL_EXPR_IS_NULL:
                paths[0] = &e->is_null.prop;
                break;
        case WQL_EXPR_ISA:
                paths[0] = &e->isa.prop;
                break;
        default:
                break;
        }
}

typedef struct FilterBuild {
        WqlFilter *f;
        size_t n_slots;
        bool counting;
} FilterBuild;

static void filter_visit(const WqlExpr *e, void *data) {
        FilterBuild *b = data;
        const WqlPropertyRef *paths[2];
        predicate_paths(e, paths);
        if (b->counting) {
                b->f->n_preds++;
                for (int k = 0; k < 2; k++)
                        b->n_slots += paths[k] ? paths[k]->n_parts : 0;
                return;
        }
        PredicateHints *h = &b->f->preds[b->f->n_preds++];
        h->pred = e;
        for (int k = 0; k < 2; k++) {
                h->hints[k] = NULL;
                if (paths[k]) {
                        h->hints[k] = b->f->slots + b->n_slots;
                        b->n_slots += paths[k]->n_parts;
                }
        }
}

static int predicate_hints_compare(const void *a, const void *b) {
        uintptr_t x = (uintptr_t)((const PredicateHints *)a)->pred;
        uintptr_t y = (uintptr_t)((const PredicateHints *)b)->pred;
        return (x > y) - (x < y);
}

int wql_filter_new(const WqlExpr *e, WqlFilter **ret) {
        WqlFilter *f = mem_calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->root = e;
        if (e) {
                FilterBuild b = { .f = f, .counting = true };
                for_each_predicate(e, filter_visit, &b);
                f->preds = mem_reallocarray(NULL, f->n_preds, sizeof(PredicateHints));
                f->slots = mem_reallocarray(NULL, b.n_slots, sizeof(uint32_t));
                if (!f->preds || !f->slots) {
                        wql_filter_free(f);
                        return -ENOMEM;
                }
                for (size_t k = 0; k < b.n_slots; k++)
                        f->slots[k] = UINT32_MAX; /* no hint yet */
                b = (FilterBuild){ .f = f, .counting = false };
                f->n_preds = 0;
                for_each_predicate(e, filter_visit, &b);
                qsort(f->preds, f->n_preds, sizeof(PredicateHints), predicate_hints_compare);
        }
        *ret = f;
        return 0;
}

WqlFilter *wql_filter_free(WqlFilter *f) {
        if (f) {
                mem_free(f->preds);
                mem_free(f->slots);
                mem_free(f);
        }
        return NULL;
}

int wql_filter_eval(WqlFilter *f, const Instance *inst, const WqlEvalContext *ctx) {
        if (!f->root)
                return WQL_TRUE;
        return eval(f->root, f, inst, ctx);
}

/* ---- validation against a class ---- */

typedef struct StaticType {
        bool known; /* false past an embedded object: its class varies */
        CimType type;
        bool is_array;
} StaticType;

static void path_text(const WqlPropertyRef *p, char *buf, size_t size) {
        size_t used = 0;
        buf[0] = '\0';
        for (size_t k = 0; k < p->n_parts && used + 1 < size; k++) {
                int n = snprintf(buf + used, size - used, "%s%s", k ? "." : "", p->parts[k]);
                if (n < 0)
                        break;
                used += (size_t)n;
        }
}

static void type_text(const StaticType *t, char *buf, size_t size) {
        snprintf(buf, size, "%s%s",
                 t->type == CIM_OBJECT ? "an embedded object" : cim_type_name(t->type),
                 t->is_array ? " array" : "");
}

static int check_path(const WqlPropertyRef *p, const CimClass *cls, unsigned line, unsigned column,
                      StaticType *ret, Error *err) {
        const CimClass *cur = cls;
        for (size_t k = 0; k < p->n_parts; k++) {
                const char *name = p->parts[k];
                bool last = k + 1 == p->n_parts;
                size_t sp = sys_prop_find(name);
                StaticType t;
                if (sp != SIZE_MAX) {
                        if (sys_props[sp].id == SYS_THIS && !last)
                                continue; /* __THIS.X is X of the same instance */
                        t = (StaticType){ true, sys_props[sp].type, sys_props[sp].is_array };
                } else {
                        long idx = class_find_property(cur, name);
                        if (idx < 0)
                                return wql_error_at(err, line, column,
                                                    "'%s' is not a property of %s", name,
                                                    cur->name);
                        t = (StaticType){ true, cur->props[idx].type, cur->props[idx].is_array };
                }
                if (last) {
                        *ret = t;
                        return 0;
                }
                if (t.type != CIM_OBJECT || t.is_array) {
                        char tt[64];
                        type_text(&t, tt, sizeof(tt));
                        return wql_error_at(
                                err, line, column,
                                "'%s' is %s, not an embedded object, so it has no property '%s'",
                                name, tt, p->parts[k + 1]);
                }
                /* the embedded object's class is known only per instance */
                *ret = (StaticType){ .known = false };
                return 0;
        }
        *ret = (StaticType){ .known = false };
        return 0;
}

static const char *op_text(WqlCompareOp op) {
        static const char *const text[] = { "=", "<>", "<", ">", "<=", ">=" };
        return op <= WQL_OP_GE ? text[op] : "?";
}

static int check_compare_side(const WqlOperand *o, WqlCompareOp op, const CimClass *cls,
                              Error *err) {
        if (!o->is_property)
                return 0;
        StaticType t;
        int r = check_path(&o->prop, cls, o->line, o->column, &t, err);
        if (r != 0 || !t.known)
                return r;
        char path[128], tt[64];
        path_text(&o->prop, path, sizeof(path));
        type_text(&t, tt, sizeof(tt));
        if (t.is_array)
                return wql_error_at(err, o->line, o->column,
                                    "'%s' is %s: arrays cannot be compared in WQL", path, tt);
        if (t.type == CIM_OBJECT)
                return wql_error_at(err, o->line, o->column,
                                    "'%s' is an embedded object: it cannot be compared (use ISA, "
                                    "or a property of it)",
                                    path);
        if (t.type == CIM_BOOLEAN && op_is_ordering(op))
                return wql_error_at(err, o->line, o->column,
                                    "operator '%s' cannot compare booleans: '%s' is boolean",
                                    op_text(op), path);
        return 0;
}

static int check_predicate(const WqlExpr *e, const CimClass *cls, Error *err) {
        StaticType t;
        char path[128], tt[64];
        int r;
        switch (e->kind) {
        case WQL_EXPR_COMPARE:
                r = check_compare_side(&e->compare.left, e->compare.op, cls, err);
                if (r != 0)
                        return r;
                return check_compare_side(&e->compare.right, e->compare.op, cls, err);
        case WQL_EXPR_LIKE:
                r = check_path(&e->like.prop, cls, e->line, e->column, &t, err);
                if (r != 0 || !t.known)
                        return r;
                if ((t.type == CIM_STRING || t.type == CIM_REFERENCE) && !t.is_array)
                        return 0;
                path_text(&e->like.prop, path, sizeof(path));
                type_text(&t, tt, sizeof(tt));
                return wql_error_at(err, e->line, e->column,
                                    "LIKE needs a string property: '%s' is %s", path, tt);
        case WQL_EXPR_IS_NULL:
                return check_path(&e->is_null.prop, cls, e->line, e->column, &t, err);
        case WQL_EXPR_ISA:
                r = check_path(&e->isa.prop, cls, e->line, e->column, &t, err);
                if (r != 0 || !t.known)
                        return r;
                if (t.type == CIM_OBJECT && !t.is_array)
                        return 0;
                path_text(&e->isa.prop, path, sizeof(path));
                type_text(&t, tt, sizeof(tt));
                return wql_error_at(err, e->line, e->column,
                                    "ISA needs an embedded object: '%s' is %s", path, tt);
        default:
                return 0;
        }
}

/* Same walk as eval(): loops on chains and NOTs, recurses into terms. */
static int check_expr(const WqlExpr *e, const CimClass *cls, Error *err) {
        while (e->kind == WQL_EXPR_NOT)
                e = e->operand;
        if (e->kind != WQL_EXPR_AND && e->kind != WQL_EXPR_OR)
                return check_predicate(e, cls, err);
        WqlExprKind kind = e->kind;
        for (;;) {
                const WqlExpr *term = e->kind == kind ? e->binary.left : e;
                int r = check_expr(term, cls, err);
                if (r != 0)
                        return r;
                if (e->kind != kind)
                        return 0;
                e = e->binary.right;
        }
}

/* Where the index-th selected name is written: the tree keeps no positions
 * for the select list, so read them again from the query text. */
static void select_position(const WqlQuery *q, size_t index, unsigned *ret_line,
                            unsigned *ret_column) {
        *ret_line = *ret_column = 0;
        if (!q->text)
                return;
        WqlLexer lx;
        WqlToken t = { .kind = WQL_TOK_END };
        size_t seen = 0;
        wql_lex_init(&lx, q->text, strlen(q->text));
        for (;;) {
                wql_token_clear(&t);
                if (wql_lex_next(&lx, &t, NULL) != 0 || t.kind == WQL_TOK_END ||
                    t.kind == WQL_TOK_FROM)
                        break;
                if (t.kind == WQL_TOK_IDENT && seen++ == index) {
                        *ret_line = t.line;
                        *ret_column = t.column;
                        break;
                }
        }
        wql_token_clear(&t);
}

int wql_check_properties(const WqlQuery *q, const CimClass *cls, Error *err) {
        for (size_t k = 0; !q->select_all && k < q->n_select; k++) {
                const char *name = q->select[k];
                if (sys_prop_find(name) != SIZE_MAX || class_find_property(cls, name) >= 0)
                        continue;
                unsigned line, column;
                select_position(q, k, &line, &column);
                return wql_error_at(err, line, column, "'%s' is not a property of %s", name,
                                    cls->name);
        }
        return q->where ? check_expr(q->where, cls, err) : 0;
}
