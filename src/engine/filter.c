/* Compiled, shared filters and the subscription of an event query.
 *
 * filter_subscribe() parses the query, checks it as events.h says, and finds
 * its place in the dispatcher: the bucket (namespace, FROM class, ISA
 * class, source) and, when the WHERE has a usable top-level `Prop =
 * literal` conjunct, an equality key. Usable means the property's type is
 * known when subscribing (a property of the event class, or
 * TargetInstance.Prop of the ISA class) and the literal is one whose
 * comparison with that type is exact on normalized keys (numbers with
 * numbers, strings with strings or references, booleans, datetimes given as
 * strings): then `=` is TRUE exactly when the keys are equal, so the index
 * can neither miss nor, for a captured filter, over-deliver. Other pairs
 * (a number property against a string literal, which the evaluator converts
 * per event) are left to the scan list.
 *
 * When several equality conjuncts qualify, the one whose index chain is
 * currently shortest is taken, so 100,000 filters `Severity = 3 AND Id = n`
 * spread over Id instead of piling on Severity.
 *
 * Sharing: an existing filter is found before anything is built. A captured
 * filter (SELECT *, WHERE nothing beyond its index position) is found at its
 * index position, which needs only the class lookups, not the canonical
 * text; any other filter by namespace and canonical text. A found filter is
 * not checked again: it was checked when made, and deleting a class ends the
 * filters that use it. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "events_internal.h"
#include "mem.h"
#include "names.h"
#include "wql_lex.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(CimClass *, class_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(WqlQuery *, wql_query_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);

/* Top-level conjuncts looked at for the index; a WHERE with more is never
 * captured, and its later conjuncts are not index candidates. */
#define MAX_CONJUNCTS 16

typedef struct Conjuncts {
        const WqlExpr *items[MAX_CONJUNCTS];
        size_t n;     /* stored */
        size_t total; /* counted, also beyond MAX_CONJUNCTS */
} Conjuncts;

/* The AND chain at the top of e, flattened: recursion on the left terms is
 * bounded by the parser's nesting limit. */
static void conjuncts_collect(const WqlExpr *e, Conjuncts *c) {
        while (e->kind == WQL_EXPR_AND) {
                conjuncts_collect(e->binary.left, c);
                e = e->binary.right;
        }
        if (c->n < MAX_CONJUNCTS)
                c->items[c->n++] = e;
        c->total++;
}

static bool is_target(const char *name) {
        return name_equal(name, "TargetInstance");
}

static bool is_embedded_ref(const char *name) {
        return is_target(name) || name_equal(name, "PreviousInstance");
}

/* ---- positions for messages ------------------------------------------------- */

/* Where the token after the first token of kind `after` is (FROM -> the
 * class name) or, with next false, where that token itself is. The tree
 * keeps no position for these. */
static void token_position(const char *text, size_t len, WqlTokenKind after, bool next,
                           unsigned *ret_line, unsigned *ret_column) {
        WqlLexer lx;
        WqlToken t = { .kind = WQL_TOK_END };
        bool found = false;
        *ret_line = *ret_column = 0;
        wql_lex_init(&lx, text, len);
        for (;;) {
                wql_token_clear(&t);
                if (wql_lex_next(&lx, &t, NULL) != 0 || t.kind == WQL_TOK_END)
                        break;
                if (found || (t.kind == after && !next)) {
                        *ret_line = t.line;
                        *ret_column = t.column;
                        break;
                }
                if (t.kind == after)
                        found = true;
        }
        wql_token_clear(&t);
}

/* ---- checks of TargetInstance.X and PreviousInstance.X ----------------------- */

/* The classes TargetInstance is known to be (the top-level ISA conjuncts):
 * a property of any of them may be used. */
typedef struct IsaSet {
        CimClass *classes[MAX_CONJUNCTS];
        const WqlExpr *exprs[MAX_CONJUNCTS];
        size_t n;
        size_t chosen; /* the bucket's: the most derived */
} IsaSet;

static int check_embedded_path(const WqlPropertyRef *p, const IsaSet *set, unsigned line,
                               unsigned column, int use, WqlCompareOp op, Error *err) {
        if (p->n_parts < 2 || !is_embedded_ref(p->parts[0]))
                return 0;
        const char *name = p->parts[1];
        if (class_name_is_system(name))
                return 0; /* system properties: the evaluator knows them */
        const CimClass *isa = set->classes[set->chosen];
        long idx = class_find_property(isa, name);
        for (size_t k = 0; idx < 0 && k < set->n; k++) {
                isa = set->classes[k];
                idx = class_find_property(isa, name);
        }
        if (idx < 0)
                return wql_error_at(err, line, column,
                                    "'%s' is not a property of %s (the class of %s)", name,
                                    set->classes[set->chosen]->name, p->parts[0]);
        const CimProperty *prop = &isa->props[idx];
        if (p->n_parts > 2) {
                if (prop->type != CIM_OBJECT || prop->is_array)
                        return wql_error_at(
                                err, line, column,
                                "'%s.%s' is not an embedded object, so it has no property '%s'",
                                p->parts[0], name, p->parts[2]);
                return 0;
        }
        switch (use) {
        case WQL_EXPR_COMPARE:
                if (prop->is_array)
                        return wql_error_at(err, line, column,
                                            "'%s.%s' is an array: arrays cannot be compared in WQL",
                                            p->parts[0], name);
                if (prop->type == CIM_OBJECT)
                        return wql_error_at(err, line, column,
                                            "'%s.%s' is an embedded object: it cannot be compared "
                                            "(use ISA, or a property of it)",
                                            p->parts[0], name);
                if (prop->type == CIM_BOOLEAN && op != WQL_OP_EQ && op != WQL_OP_NE)
                        return wql_error_at(err, line, column,
                                            "booleans cannot be ordered: '%s.%s' is boolean",
                                            p->parts[0], name);
                return 0;
        case WQL_EXPR_LIKE:
                if ((prop->type == CIM_STRING || prop->type == CIM_REFERENCE) && !prop->is_array)
                        return 0;
                return wql_error_at(err, line, column,
                                    "LIKE needs a string property: '%s.%s' is %s%s", p->parts[0],
                                    name, cim_type_name(prop->type),
                                    prop->is_array ? " array" : "");
        case WQL_EXPR_ISA:
                if (prop->type == CIM_OBJECT && !prop->is_array)
                        return 0;
                return wql_error_at(err, line, column,
                                    "ISA needs an embedded object: '%s.%s' is %s", p->parts[0],
                                    name, cim_type_name(prop->type));
        default:
                return 0;
        }
}

static int check_embedded(const WqlExpr *e, const IsaSet *isa, Error *err) {
        int r;
        while (e->kind == WQL_EXPR_NOT)
                e = e->operand;
        switch (e->kind) {
        case WQL_EXPR_AND:
        case WQL_EXPR_OR: {
                WqlExprKind kind = e->kind;
                for (;;) {
                        r = check_embedded(e->kind == kind ? e->binary.left : e, isa, err);
                        if (r != 0 || e->kind != kind)
                                return r;
                        e = e->binary.right;
                }
        }
        case WQL_EXPR_COMPARE:
                for (int k = 0; k < 2; k++) {
                        const WqlOperand *o = k ? &e->compare.right : &e->compare.left;
                        if (!o->is_property)
                                continue;
                        r = check_embedded_path(&o->prop, isa, o->line, o->column, WQL_EXPR_COMPARE,
                                                e->compare.op, err);
                        if (r != 0)
                                return r;
                }
                return 0;
        case WQL_EXPR_LIKE:
                return check_embedded_path(&e->like.prop, isa, e->line, e->column, WQL_EXPR_LIKE, 0,
                                           err);
        case WQL_EXPR_IS_NULL:
                return check_embedded_path(&e->is_null.prop, isa, e->line, e->column,
                                           WQL_EXPR_IS_NULL, 0, err);
        case WQL_EXPR_ISA:
                return check_embedded_path(&e->isa.prop, isa, e->line, e->column, WQL_EXPR_ISA, 0,
                                           err);
        default:
                return 0;
        }
}

/* ---- the index position of a query -------------------------------------------- */

typedef struct Placement {
        const WqlExpr *isa; /* the `TargetInstance ISA` conjunct, intrinsic only */
        const WqlExpr *eq;  /* the equality conjunct indexed, or NULL */
        const WqlPropertyRef *eq_path; /* its property */
        const CimClass *ec, *isa_class; /* the event class and the ISA class */
        EqKey key;
        EqCategory category; /* of the property of eq */
        bool captured;
} Placement;

/* The static type of an indexable path (parts, n_parts): a property of the
 * event class, or TargetInstance.Prop of the ISA class. */
static bool path_static_type(char *const *parts, size_t n_parts, const CimClass *ec,
                             const CimClass *isa, CimType *ret) {
        const CimClass *cls;
        const char *name;
        if (n_parts == 1) {
                cls = ec;
                name = parts[0];
        } else if (n_parts == 2 && isa && is_target(parts[0])) {
                cls = isa;
                name = parts[1];
        } else
                return false;
        if (class_name_is_system(name))
                return false;
        long idx = class_find_property(cls, name);
        if (idx < 0 || cls->props[idx].is_array || cls->props[idx].type == CIM_OBJECT)
                return false;
        *ret = cls->props[idx].type;
        return true;
}

EqCategory filter_path_category(const EqPath *p, const CimClass *ec, const CimClass *isa) {
        CimType t;
        if (!path_static_type(p->parts, p->n_parts, ec, isa, &t))
                return EQ_CAT_NONE;
        return eq_category(t);
}

static bool eq_candidate(const WqlExpr *e, const CimClass *ec, const CimClass *isa, EqKey *ret,
                         EqCategory *ret_category) {
        CimType t;
        if (e->kind != WQL_EXPR_COMPARE || e->compare.op != WQL_OP_EQ ||
            !e->compare.left.is_property || e->compare.right.is_property)
                return false;
        const WqlPropertyRef *p = &e->compare.left.prop;
        if (!path_static_type(p->parts, p->n_parts, ec, isa, &t))
                return false;
        *ret_category = eq_category(t);
        return eq_key_from_literal(&e->compare.right.lit, t, ret);
}

/* Filters of (b, path, key), counted up to limit. */
static size_t chain_length(Dispatcher *d, const Bucket *b, const WqlPropertyRef *path,
                           EqCategory cat, const EqKey *key, size_t limit) {
        long id = bucket_path_find(b, path, cat);
        size_t n = 0;
        EqProbe probe;
        if (id < 0)
                return 0;
        dispatcher_eq_probe_init(d, b, (uint16_t)id, key, &probe);
        while (n < limit && dispatcher_eq_probe_next(d, &probe))
                n++;
        return n;
}

static void place(Dispatcher *d, const WqlQuery *q, const CimClass *ec, const CimClass *isa,
                  const WqlExpr *isa_expr, const Bucket *b, Placement *ret) {
        Conjuncts c = { .n = 0 };
        size_t best_len = SIZE_MAX;
        *ret = (Placement){ .isa = isa_expr, .ec = ec, .isa_class = isa };
        if (q->where)
                conjuncts_collect(q->where, &c);
        for (size_t k = 0; k < c.n; k++) {
                EqKey key;
                EqCategory cat;
                if (c.items[k] == isa_expr || !eq_candidate(c.items[k], ec, isa, &key, &cat))
                        continue;
                size_t len =
                        b ? chain_length(d, b, &c.items[k]->compare.left.prop, cat, &key, 64) : 0;
                if (len < best_len) {
                        best_len = len;
                        ret->eq = c.items[k];
                        ret->eq_path = &c.items[k]->compare.left.prop;
                        ret->key = key;
                        ret->category = cat;
                }
        }
        ret->captured =
                q->select_all && c.total == (size_t)(isa_expr != NULL) + (size_t)(ret->eq != NULL);
}

/* The existing captured filter at p in bucket b, or NULL. */
static Filter *captured_find(Dispatcher *d, Bucket *b, const Placement *p) {
        if (!p->eq_path)
                return b->all;
        long id = bucket_path_find(b, p->eq_path, p->category);
        if (id < 0)
                return NULL;
        EqProbe probe;
        dispatcher_eq_probe_init(d, b, (uint16_t)id, &p->key, &probe);
        for (Filter *f; (f = dispatcher_eq_probe_next(d, &probe));)
                if (!f->query)
                        return f;
        return NULL;
}

/* ---- filters -------------------------------------------------------------------- */

static FilterQuery *filter_query_free(FilterQuery *fq) {
        if (fq) {
                wql_filter_free(fq->eval);
                wql_query_free(fq->query);
                mem_free(fq->canonical);
                mem_free(fq);
        }
        return NULL;
}

const char *filter_namespace(const Filter *f) {
        return f->bucket->ns->name;
}

static void filter_drop(Dispatcher *d, Filter *f, bool defer) {
        if (--f->n_calls > 0)
                return;
        Bucket *b = f->bucket;
        if (defer && d->bulk_unlink && (f->flags & FILTER_INDEXED)) {
                f->flags |= FILTER_DOOMED; /* dispatcher_eq_sweep takes its slot */
                d->n_doomed++;
        } else {
                dispatcher_filter_unlink(d, f);
        }
        if (b->all == f)
                b->all = NULL;
        if (f->path_id != EQ_PATH_NONE)
                bucket_path_unref(d, b, f->path_id);
        if (f->query)
                dispatcher_share_remove(d, f);
        d->n_filters--;
        if (defer) {
                dispatcher_reclaim_filter_later(d, f);
        } else {
                filter_query_free(f->query);
                slab_free(d->slabs, f);
        }
        dispatcher_bucket_unref(d, b);
}

void filter_unref(Dispatcher *d, Filter *f) {
        filter_drop(d, f, false);
}

void filter_unref_deferred(Dispatcher *d, Filter *f) {
        filter_drop(d, f, true);
}

void dispatcher_reclaim_filter_later(Dispatcher *d, Filter *f) {
        f->calls = (Call *)d->reclaim_filters;
        d->reclaim_filters = f;
        d->n_reclaim++;
}

void dispatcher_reclaim_call_later(Dispatcher *d, Call *c) {
        c->sink_next = d->reclaim_calls;
        d->reclaim_calls = c;
        d->n_reclaim++;
}

size_t dispatcher_reclaim(Dispatcher *d, size_t max) {
        size_t i;
        for (i = 0; i < max && d->reclaim_calls; i++) {
                Call *c = d->reclaim_calls;
                d->reclaim_calls = c->sink_next;
                d->n_reclaim--;
                slab_free(d->slabs, c);
        }
        for (; i < max && d->reclaim_filters; i++) {
                Filter *f = d->reclaim_filters;
                d->reclaim_filters = (Filter *)f->calls;
                d->n_reclaim--;
                filter_query_free(f->query);
                slab_free(d->slabs, f);
        }
        if (i > 0 && d->n_reclaim == 0)
                dispatcher_eq_compact(d);
        return d->n_reclaim;
}

/* A copy of event with only the selected properties set (WMI projects
 * event queries as data queries: the others are NULL). */
static int project(const WqlQuery *q, const Instance *event, Instance **ret) {
        _cleanup_(instance_unrefp) Instance *copy = NULL;
        int r = instance_clone(event, &copy);
        if (r < 0)
                return r;
        for (size_t k = 0; k < copy->cls->n_props; k++) {
                bool keep = false;
                for (size_t j = 0; j < q->n_select && !keep; j++)
                        keep = name_equal(q->select[j], copy->cls->props[k].name);
                if (!keep)
                        value_clear(&copy->values[k]);
        }
        *ret = TAKE_PTR(copy);
        return 0;
}

void filter_deliver(Dispatcher *d, Filter *f, Instance *event, size_t *delivered, int *error) {
        _cleanup_(instance_unrefp) Instance *projected = NULL;
        if (!(f->flags & FILTER_CAPTURED) && f->query->project) {
                int r = project(f->query->query, event, &projected);
                if (r < 0) {
                        *error = r;
                        return;
                }
                event = projected;
        }
        for (Call *c = f->calls; c; c = c->filter_next) {
                Sink *s = c->sink;
                s->ops->indicate(s, c, event, s->userdata);
                (*delivered)++;
                d->events_delivered++;
        }
}

void filter_offer(Dispatcher *d, Filter *f, Instance *event, size_t *delivered, int *error) {
        if (!(f->flags & FILTER_CAPTURED)) {
                int r = wql_filter_eval(f->query->eval, event, &d->ctx);
                if (r < 0) {
                        *error = r;
                        return;
                }
                if (r != WQL_TRUE)
                        return;
        }
        filter_deliver(d, f, event, delivered, error);
}

/* A new filter in bucket b (whose reference it takes) at placement p, with
 * one reference (the caller's call). q is taken when the filter is not
 * captured (then canonical and share_hash too). */
/* The split of text against the path's template: its first pre and last
 * suf bytes are the template's. False when splitting saves nothing. */
static bool text_split(const EqPath *path, const char *text, size_t len, size_t *ret_pre,
                       size_t *ret_suf) {
        if (!path || !path->tmpl)
                return false;
        size_t most = len < path->tmpl_len ? len : path->tmpl_len;
        size_t pre = 0, suf = 0;
        while (pre < most && text[pre] == path->tmpl[pre])
                pre++;
        while (suf < most - pre && text[len - 1 - suf] == path->tmpl[path->tmpl_len - 1 - suf])
                suf++;
        if (pre > UINT16_MAX || suf > UINT16_MAX || pre + suf <= 2 * sizeof(uint16_t))
                return false;
        *ret_pre = pre;
        *ret_suf = suf;
        return true;
}

static const EqPath *split_path(const Filter *f) {
        return &f->bucket->paths[f->path_id];
}

static void split_lengths(const Filter *f, size_t *pre, size_t *suf) {
        uint16_t v[2];
        memcpy(v, f->text, sizeof(v));
        *pre = v[0];
        *suf = v[1];
}

bool filter_text_is(const Filter *f, const char *text, size_t len) {
        /* f's text holds no NUL and neither does text (the parser refuses
         * it), so strncmp stops within both */
        if (!(f->flags & FILTER_TEXT_SPLIT))
                return strncmp(f->text, text, len) == 0 && f->text[len] == '\0';
        size_t pre, suf;
        split_lengths(f, &pre, &suf);
        const EqPath *path = split_path(f);
        const char *mid = f->text + 2 * sizeof(uint16_t);
        size_t mid_len = strlen(mid);
        return len == pre + mid_len + suf && memcmp(text, path->tmpl, pre) == 0 &&
               memcmp(text + pre, mid, mid_len) == 0 &&
               memcmp(text + pre + mid_len, path->tmpl + path->tmpl_len - suf, suf) == 0;
}

const char *filter_text(Dispatcher *d, const Filter *f) {
        if (!(f->flags & FILTER_TEXT_SPLIT))
                return f->text;
        size_t pre, suf;
        split_lengths(f, &pre, &suf);
        const EqPath *path = split_path(f);
        const char *mid = f->text + 2 * sizeof(uint16_t);
        size_t mid_len = strlen(mid);
        /* text_cap was made large enough when f was made */
        memcpy(d->text_buf, path->tmpl, pre);
        memcpy(d->text_buf + pre, mid, mid_len);
        memcpy(d->text_buf + pre + mid_len, path->tmpl + path->tmpl_len - suf, suf);
        d->text_buf[pre + mid_len + suf] = '\0';
        return d->text_buf;
}

/* Room in d->text_buf for a text of len bytes. */
static int text_buf_reserve(Dispatcher *d, size_t len) {
        if (len + 1 <= d->text_cap)
                return 0;
        char *grown = mem_realloc(d->text_buf, len + 1);
        if (!grown)
                return -ENOMEM;
        d->text_buf = grown;
        d->text_cap = len + 1;
        return 0;
}

static int filter_new(Dispatcher *d, Bucket *b, const Placement *p, WqlQuery **q, char **canonical,
                      uint64_t share_hash, const char *text, size_t len, Filter **ret) {
        size_t lit_len = 0, pre = 0, suf = 0;
        bool split = false;
        if (p->eq_path && p->captured && p->key.domain == EQ_STRING)
                lit_len = strlen(p->key.v.s) + 1;
        else if (p->eq_path && p->captured) {
                long id = bucket_path_find(b, p->eq_path, p->category);
                split = id >= 0 && text_split(&b->paths[id], text, len, &pre, &suf) &&
                        text_buf_reserve(d, len) == 0;
        }
        size_t stored = split ? 2 * sizeof(uint16_t) + (len - pre - suf) : len;
        Filter *f = slab_alloc(d->slabs, offsetof(Filter, text) + stored + 1 + lit_len);
        if (!f)
                return -ENOMEM;
        *f = (Filter){ .bucket = b,
                       .n_calls = 1,
                       .path_id = EQ_PATH_NONE,
                       .flags = p->captured ? FILTER_CAPTURED : 0 };
        if (split) {
                uint16_t v[2] = { (uint16_t)pre, (uint16_t)suf };
                memcpy(f->text, v, sizeof(v));
                memcpy(f->text + sizeof(v), text + pre, len - pre - suf);
                f->flags |= FILTER_TEXT_SPLIT;
        } else
                memcpy(f->text, text, len);
        f->text[stored] = '\0';

        FilterQuery *fq = NULL;
        int r;
        if (!p->captured) {
                fq = mem_calloc(1, sizeof(FilterQuery));
                if (!fq)
                        goto nomem;
                if (wql_filter_new((*q)->where, &fq->eval) < 0)
                        goto nomem;
                if (dispatcher_share_reserve(d) < 0)
                        goto nomem;
        }
        if (p->eq_path) {
                uint16_t id;
                r = bucket_path_get(d, b, p->eq_path, p->category, &id);
                if (r < 0)
                        goto nomem;
                EqPath *path = &b->paths[id];
                if (p->captured && p->key.domain != EQ_STRING && !path->tmpl) {
                        /* the template of the path's later texts */
                        path->tmpl = mem_strndup(text, len);
                        if (!path->tmpl) {
                                bucket_path_unref(d, b, id);
                                goto nomem;
                        }
                        path->tmpl_len = len;
                }
                if (dispatcher_eq_reserve(d) < 0) {
                        bucket_path_unref(d, b, id);
                        goto nomem;
                }
                f->path_id = id;
                f->domain = (uint8_t)p->key.domain;
                f->key = p->key.v;
                if (lit_len) {
                        char *lit = f->text + stored + 1;
                        memcpy(lit, p->key.v.s, lit_len);
                        f->key.s = lit;
                }
        }

        /* nothing fails from here */
        if (fq) {
                fq->query = TAKE_PTR(*q);
                fq->canonical = TAKE_PTR(*canonical);
                fq->share_hash = share_hash;
                fq->project = !fq->query->select_all;
                f->query = fq;
                dispatcher_share_insert(d, f);
        }
        if (p->eq_path)
                dispatcher_eq_insert(d, f);
        else {
                dispatcher_scan_insert(b, f);
                if (p->captured)
                        b->all = f;
        }
        d->n_filters++;
        *ret = f;
        return 0;
nomem:
        if (fq) {
                wql_filter_free(fq->eval);
                mem_free(fq);
        }
        slab_free(d->slabs, f);
        return -ENOMEM;
}

/* ---- subscribe ------------------------------------------------------------------- */

static int class_lookup(const SubscribeEnv *env, const char *ns, const char *name, unsigned line,
                        unsigned column, CimClass **ret, Error *err) {
        int r = env->class_get(env->userdata, ns, name, ret, err);
        if (r == WBEM_E_NOT_FOUND || r == WBEM_E_INVALID_CLASS)
                return error_set_at(err, WBEM_E_INVALID_CLASS, line, column,
                                    "line %u, column %u: there is no class '%s' in namespace %s",
                                    line, column, name, ns);
        return r;
}

static bool within_too_short(const WqlQuery *q, uint64_t min_usec) {
        return q->has_within && q->within_seconds * 1e6 < (double)min_usec;
}

static void isa_set_clear(IsaSet *s) {
        for (size_t k = 0; k < s->n; k++)
                class_unref(s->classes[k]);
        s->n = 0;
}

/* The classes of the top-level `TargetInstance ISA` conjuncts (each must
 * exist); the bucket's is the most derived, when one is. */
static int isa_collect(const SubscribeEnv *env, const char *ns, const WqlQuery *q, IsaSet *set,
                       Error *err) {
        Conjuncts c = { .n = 0 };
        if (q->where)
                conjuncts_collect(q->where, &c);
        for (size_t k = 0; k < c.n; k++) {
                const WqlExpr *e = c.items[k];
                if (e->kind != WQL_EXPR_ISA || e->isa.prop.n_parts != 1 ||
                    !is_target(e->isa.prop.parts[0]))
                        continue;
                int r = class_lookup(env, ns, e->isa.class_name, e->line, e->column,
                                     &set->classes[set->n], err);
                if (r != 0)
                        return r;
                set->exprs[set->n++] = e;
        }
        set->chosen = 0;
        for (size_t k = 0; k < set->n; k++) {
                bool below_all = true;
                for (size_t j = 0; j < set->n && below_all; j++)
                        below_all = class_isa(set->classes[k], set->classes[j]->name);
                if (below_all) {
                        set->chosen = k;
                        break;
                }
        }
        return 0;
}

static void unref_task(PollTask *t) {
        if (t)
                poll_task_unref(t);
}

/* ---- the subscription memo (SubscribeMemo) ------------------------------------- */

static int subscribe_placed(Dispatcher *d, const char *ns, const char *class_name,
                            const char *isa_name, PollTask *task, const WqlQuery *query,
                            Placement *pl, WqlQuery **q, const char *text, size_t len, Sink *sink,
                            uint64_t call_id, Call **ret);

void subscribe_memo_clear(SubscribeMemo *m) {
        m->ns = m->class_name = m->prop = m->text = NULL;
        m->ready = false;
}

/* Remember strings in m->buf; false when they do not fit. */
static bool memo_store(SubscribeMemo *m, const char *ns, const char *class_name, const char *prop,
                       const char *text, size_t len) {
        size_t a = strlen(ns) + 1, b = strlen(class_name) + 1, c = strlen(prop) + 1;
        if (a + b + c + len + 1 > sizeof(m->buf))
                return false;
        char *at = m->buf;
        m->ns = memcpy(at, ns, a);
        m->class_name = memcpy(at += a, class_name, b);
        m->prop = memcpy(at += b, prop, c);
        char *t = memcpy(at += c, text, len);
        t[len] = '\0';
        m->text = t;
        m->len = len;
        return true;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* The integer of digits [s, s+n): 1 to 18 digits, no leading zero. */
static bool memo_digits(const char *s, size_t n, int64_t *ret) {
        int64_t v = 0;
        if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
                return false;
        for (size_t k = 0; k < n; k++) {
                if (!is_digit(s[k]))
                        return false;
                v = v * 10 + (s[k] - '0');
        }
        *ret = v;
        return true;
}

/* Whether the fixed parts around [pre, len - suf) of text make the digits
 * there the right side of `=`, a whole token: `= ` or `=` before (not
 * `<=`, `>=`, `!=`), the end or a space or `)` after. */
static bool memo_fits(const char *text, size_t len, size_t pre, size_t suf) {
        size_t k = pre;
        while (k > 0 && text[k - 1] == ' ')
                k--;
        if (k < 2 || text[k - 1] != '=' || text[k - 2] == '<' || text[k - 2] == '>' ||
            text[k - 2] == '!')
                return false;
        return suf == 0 || text[len - suf] == ' ' || text[len - suf] == ')';
}

/* After a subscription placed as p (extrinsic): remember its text and,
 * when it and the one before differ only in the integer of the equality,
 * the fixed parts around it. */
static void subscribe_memo_note(Dispatcher *d, const char *ns, const char *text, size_t len,
                                const CimClass *ec, const Placement *p) {
        SubscribeMemo *m = &d->memo;
        int64_t v;
        if (!p->captured || !p->eq || p->eq_path->n_parts != 1 ||
            p->eq->compare.right.lit.kind != WQL_LIT_INTEGER || p->key.domain != EQ_UINT)
                return;
        bool same = m->text && m->epoch == d->memo_epoch && strcmp(m->ns, ns) == 0 &&
                    strcmp(m->class_name, ec->name) == 0 && strcmp(m->prop, p->eq_path->parts[0]) == 0;
        if (same && !m->ready) {
                size_t most = len < m->len ? len : m->len, pre = 0, suf = 0;
                while (pre < most && text[pre] == m->text[pre])
                        pre++;
                while (suf < most - pre && text[len - 1 - suf] == m->text[m->len - 1 - suf])
                        suf++;
                while (pre > 0 && is_digit(text[pre - 1]))
                        pre--;
                while (suf > 0 && is_digit(text[len - suf]))
                        suf--;
                int64_t mine;
                if (memo_fits(text, len, pre, suf) && memo_fits(m->text, m->len, pre, suf) &&
                    memo_digits(text + pre, len - pre - suf, &mine) && (uint64_t)mine == p->key.v.u &&
                    memo_digits(m->text + pre, m->len - pre - suf, &v)) {
                        m->pre = pre;
                        m->suf = suf;
                        m->ready = true;
                        return;
                }
        } else if (same)
                return;
        /* another kind of query: it becomes the candidate */
        long idx = class_find_property(ec, p->eq_path->parts[0]);
        if (idx < 0)
                return;
        subscribe_memo_clear(m);
        if (!memo_store(m, ns, ec->name, p->eq_path->parts[0], text, len))
                return;
        m->type = ec->props[idx].type;
        m->epoch = d->memo_epoch;
}

/* The subscription of text by the memo, or -EAGAIN when the memo does not
 * say what text is. */
static int subscribe_memo_try(Dispatcher *d, const SubscribeEnv *env, const char *ns,
                              const char *text, size_t len, Sink *sink, uint64_t call_id,
                              Call **ret) {
        SubscribeMemo *m = &d->memo;
        size_t max_length = env->limits ? env->limits->max_length : 16384;
        int64_t v;
        if (!m->ready || m->epoch != d->memo_epoch || len > max_length ||
            len <= m->pre + m->suf || memcmp(text, m->text, m->pre) != 0 ||
            memcmp(text + len - m->suf, m->text + m->len - m->suf, m->suf) != 0 ||
            !memo_digits(text + m->pre, len - m->pre - m->suf, &v) || strcmp(m->ns, ns) != 0)
                return -EAGAIN;
        WqlLiteral lit = { .kind = WQL_LIT_INTEGER, .i = v };
        char *parts[1] = { (char *)m->prop };
        WqlPropertyRef path = { .parts = parts, .n_parts = 1 };
        Placement p = { .eq_path = &path, .captured = true };
        if (!eq_key_from_literal(&lit, m->type, &p.key))
                return -EAGAIN;
        p.category = eq_category(m->type);
        d->memo_hits++;
        return subscribe_placed(d, ns, m->class_name, NULL, NULL, NULL, &p, NULL, text, len, sink,
                                call_id, ret);
}

int filter_subscribe(Dispatcher *d, const SubscribeEnv *env, const char *ns, const char *text,
                     size_t len, Sink *sink, uint64_t call_id, Call **ret, Error *err) {
        _cleanup_(wql_query_freep) WqlQuery *q = NULL;
        _cleanup_(class_unrefp) CimClass *ec = NULL;
        _cleanup_(isa_set_clear) IsaSet isas = { .n = 0 };
        CimClass *isa = NULL; /* the bucket's, in isas */
        PollTask *task = NULL;
        const WqlExpr *isa_expr = NULL;
        unsigned line, column;
        int r;

        /* a long run of registrations that differ only in an integer */
        r = subscribe_memo_try(d, env, ns, text, len, sink, call_id, ret);
        if (r != -EAGAIN)
                return r;

        r = wql_parse(text, len, env->limits, &q, err);
        if (r != 0)
                return r;

        /* the position of the class name, for messages only */
        r = env->class_get(env->userdata, ns, q->class_name, &ec, err);
        if (r != 0)
                token_position(text, len, WQL_TOK_FROM, true, &line, &column);
        if (r == WBEM_E_NOT_FOUND || r == WBEM_E_INVALID_CLASS)
                return error_set_at(err, WBEM_E_INVALID_CLASS, line, column,
                                    "line %u, column %u: there is no class '%s' in namespace %s",
                                    line, column, q->class_name, ns);
        if (r != 0)
                return r;
        bool intrinsic = class_isa(ec, "__InstanceOperationEvent");
        if (!intrinsic && !class_isa(ec, "__ExtrinsicEvent")) {
                token_position(text, len, WQL_TOK_FROM, true, &line, &column);
                if (!class_isa(ec, "__Event"))
                        return error_set_at(err, WBEM_E_INVALID_QUERY_TYPE, line, column,
                                            "line %u, column %u: %s is not an event class: use "
                                            "ExecQuery for a data query",
                                            line, column, ec->name);
                return error_set_at(
                        err, WBEM_E_INVALID_QUERY_TYPE, line, column,
                        "line %u, column %u: events are selected from __InstanceCreationEvent, "
                        "__InstanceDeletionEvent, __InstanceModificationEvent, "
                        "__InstanceOperationEvent or a class derived from __ExtrinsicEvent, not %s",
                        line, column, ec->name);
        }
        if (within_too_short(q, d->min_within_usec)) {
                token_position(text, len, WQL_TOK_WITHIN, false, &line, &column);
                return wql_error_at(err, line, column,
                                    "WITHIN %g is below the minimum polling interval of %g seconds",
                                    q->within_seconds, (double)d->min_within_usec / 1e6);
        }

        if (intrinsic) {
                r = isa_collect(env, ns, q, &isas, err);
                if (r != 0)
                        return r;
                if (isas.n == 0) {
                        token_position(text, len, WQL_TOK_WHERE, false, &line, &column);
                        if (line == 0)
                                token_position(text, len, WQL_TOK_FROM, true, &line, &column);
                        return wql_error_at(err, line, column,
                                            "an event query on %s needs \"TargetInstance ISA "
                                            "'Class'\" in its WHERE, joined to the rest with AND, "
                                            "to say which instances it watches",
                                            ec->name);
                }
                isa = isas.classes[isas.chosen];
                isa_expr = isas.exprs[isas.chosen];
        }

        /* Where the filter goes; a captured filter is valid by construction
         * (its one equality names a property of a known type), any other is
         * checked before a poll source may be started for it. */
        Placement p;
        place(d, q, ec, isa, isa_expr, NULL, &p);
        if (!p.captured) {
                r = wql_check_properties(q, ec, err);
                if (r == 0 && isa && q->where)
                        r = check_embedded(q->where, &isas, err);
                if (r != 0)
                        return r;
        }

        if (intrinsic && env->source) {
                r = env->source(env->userdata, env->caller, ns, isa, q, &task, err);
                if (r != 0)
                        return r;
        }

        if (!intrinsic)
                subscribe_memo_note(d, ns, text, len, ec, &p);
        return subscribe_placed(d, ns, ec->name, isa ? isa->name : NULL, task, q, &p, &q, text,
                                len, sink, call_id, ret);
}

/* The rest of a subscription, once its placement p is known: the filter
 * shared or made, then the call. The reference on task is taken. */
static int subscribe_placed(Dispatcher *d, const char *ns, const char *class_name,
                            const char *isa_name, PollTask *task, const WqlQuery *query,
                            Placement *pl, WqlQuery **q, const char *text, size_t len, Sink *sink,
                            uint64_t call_id, Call **ret) {
        _cleanup_free_ char *canonical = NULL;
        Bucket *b = NULL;
        Filter *f = NULL;
        Placement p = *pl;
        int r;

        Bucket *existing = dispatcher_bucket_find(d, ns, class_name, isa_name, task);
        uint64_t share_hash = 0;
        if (existing && !p.captured)
                place(d, query, pl->ec, pl->isa_class, p.isa, existing, &p); /* the shortest chain */

        /* an existing filter? */
        if (existing && p.captured)
                f = captured_find(d, existing, &p);
        if (!p.captured) {
                canonical = wql_query_format(query);
                if (!canonical) {
                        unref_task(task);
                        return -ENOMEM;
                }
                share_hash = dispatcher_share_hash(ns, canonical);
                f = dispatcher_share_find(d, ns, canonical, share_hash);
                if (f && f->bucket->task != task)
                        f = NULL; /* cannot happen: the canonical text holds WITHIN */
        }
        if (f) {
                unref_task(task);
                f->n_calls++;
                r = call_new(sink, f, call_id, text, len, ret);
                if (r < 0)
                        filter_unref(d, f);
                return r;
        }

        r = dispatcher_bucket_get(d, ns, class_name, isa_name, task, &b);
        unref_task(task); /* the bucket holds the task now */
        if (r < 0)
                return r;
        r = filter_new(d, b, &p, q, &canonical, share_hash, text, len, &f);
        if (r < 0) {
                dispatcher_bucket_unref(d, b);
                return r;
        }
        r = call_new(sink, f, call_id, text, len, ret);
        if (r < 0)
                filter_unref(d, f);
        return r;
}
