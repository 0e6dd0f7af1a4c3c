/* Query and enumeration cursors (engine.h): ExecQuery and EnumInstances.
 *
 * A cursor walks a fixed list of classes made when it starts: the FROM
 * class, then (deep) its subclasses, parents first, leaving out abstract
 * classes, which have no instances of their own. For each class it opens
 * one source: the provider's cursor when a provider serves the class,
 * otherwise the repository, read one page (ENGINE_QUERY_PAGE instances) at
 * a time with repo_instance_page(). So a cursor holds at most one page of
 * instances, whatever the size of the result, and the daemon can return to
 * its loop between instances.
 *
 * One engine_query_next() call does a bounded amount of work: it reads at
 * most ENGINE_QUERY_BUDGET_PAGES pages and rejects at most
 * ENGINE_QUERY_BUDGET_REJECTED instances before it returns -EAGAIN, so a
 * selective WHERE over a large class never holds the daemon's loop for
 * long; the next call resumes where this one stopped.
 *
 * A WHERE that pins every (integer or boolean) key of a repository class
 * with top-level equalities (`WHERE Id = 5000`) reads that one instance by
 * its path instead of the whole class; WHERE is still applied to it.
 *
 * Each instance pulled is put in the cursor's namespace, tested against
 * WHERE (a prepared WqlFilter, unless its provider said it applied WHERE),
 * and projected: with a
 * select list, properties neither selected nor keys become NULL. An
 * instance nobody else holds (the normal case: just decoded, or just made by
 * a provider) is changed in place; a shared one is copied first. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cleanup.h"
#include "engine_internal.h"
#include "mem.h"
#include "names.h"
#include "strbuf.h"
#include "wql_eval.h"
#include "wql_lex.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(CimClass *, class_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(WqlQuery *, wql_query_free);

typedef enum CursorSource {
        SOURCE_NONE, /* between classes */
        SOURCE_REPO,
        SOURCE_PROVIDER,
} CursorSource;

struct QueryCursor {
        Engine *engine;
        char *ns;                   /* stored spelling */
        WqlQuery *query;            /* owned; synthesised for an enumeration */
        bool is_query;              /* false: EnumInstances (no hint for providers) */
        ProviderCaller caller_copy; /* its groups: groups_owned */
        gid_t *groups_owned;
        const ProviderCaller *caller; /* &caller_copy, or NULL: the daemon */
        WqlFilter *filter;            /* query->where prepared; NULL without WHERE */
        WqlEvalContext ctx;

        CimClass **classes; /* to visit, in order; one reference each */
        size_t n_classes;
        size_t next_class;
        CimClass *cls; /* the class being read (borrowed from classes) */

        CursorSource source;
        Provider *provider;
        ProviderCursor *pc;
        bool filtered; /* the provider applied WHERE */

        Instance **page; /* ENGINE_QUERY_PAGE slots */
        size_t page_len, page_pos;
        int64_t page_next; /* position for the next page */
        bool page_more;
        size_t pages_read;

        /* Projection mask for keep_cls (properties kept non-NULL). */
        CimClass *keep_cls;
        bool *keep;
        size_t keep_cap;

        /* work done by the current engine_query_next() call, against its
         * budget (ENGINE_QUERY_BUDGET_*) */
        unsigned turn_pages, turn_rejected;

        bool finished;
};

/* ---- sources ------------------------------------------------------------------ */

static void page_clear(QueryCursor *c) {
        for (size_t k = c->page_pos; k < c->page_len; k++)
                c->page[k] = instance_unref(c->page[k]);
        c->page_len = c->page_pos = 0;
}

static void source_close(QueryCursor *c) {
        if (c->pc)
                c->provider->ops->enum_end(c->pc);
        c->pc = NULL;
        c->provider = NULL;
        page_clear(c);
        c->source = SOURCE_NONE;
}

static int page_collect(Instance *inst, void *userdata) {
        QueryCursor *c = userdata;
        c->page[c->page_len++] = instance_ref(inst);
        return 0;
}

static int page_read(QueryCursor *c, Error *err) {
        Error local = { 0 };
        int64_t next = 0;
        page_clear(c);
        int r = repo_instance_page(c->engine->repo, c->ns, c->cls->name, c->page_next,
                                   ENGINE_QUERY_PAGE, page_collect, c, &next, &local);
        if (r == WBEM_E_INVALID_CLASS || r == WBEM_E_INVALID_NAMESPACE) {
                /* Deleted since the cursor started: nothing more here. */
                c->page_more = false;
                return 0;
        }
        if (r != 0) {
                page_clear(c);
                if (err)
                        *err = local;
                return r;
        }
        c->pages_read++;
        c->page_next = next;
        c->page_more = next != 0;
        return 0;
}

/* The integer literal a top-level AND conjunct of e sets key property
 * `name` equal to, if any. */
static const WqlLiteral *key_equality(const WqlExpr *e, const char *name) {
        if (!e)
                return NULL;
        if (e->kind == WQL_EXPR_AND) {
                const WqlLiteral *l = key_equality(e->binary.left, name);
                return l ? l : key_equality(e->binary.right, name);
        }
        if (e->kind != WQL_EXPR_COMPARE || e->compare.op != WQL_OP_EQ ||
            e->compare.right.is_property || e->compare.left.prop.n_parts != 1 ||
            !name_equal(e->compare.left.prop.parts[0], name))
                return NULL;
        const WqlLiteral *l = &e->compare.right.lit;
        return l->kind == WQL_LIT_INTEGER || l->kind == WQL_LIT_UNSIGNED ||
                               l->kind == WQL_LIT_BOOLEAN
                       ? l
                       : NULL;
}

/* When WHERE pins every key of cls to a literal with top-level equalities,
 * the path of the one instance it can match ("Class.Id=5"), so the
 * repository is asked for that instance instead of read in full. Only
 * integer and boolean keys qualify: for those the repository's exact key
 * comparison agrees with WQL's (strings compare case-insensitively in WQL,
 * exactly as keys). 0 with *ret NULL when the lookup does not apply. */
static int key_lookup_path(const QueryCursor *c, char **ret) {
        *ret = NULL;
        if (!c->is_query || !c->query->where || c->cls->n_keys == 0)
                return 0;
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, c->cls->name);
        char sep = '.';
        for (size_t k = 0; k < c->cls->n_props; k++) {
                const CimProperty *p = &c->cls->props[k];
                if (!p->is_key)
                        continue;
                const WqlLiteral *l = cim_type_is_integer(p->type) || p->type == CIM_BOOLEAN
                                              ? key_equality(c->query->where, p->name)
                                              : NULL;
                if (!l) {
                        strbuf_done(&b);
                        return 0;
                }
                strbuf_printf(&b, "%c%s=", sep, p->name);
                sep = ',';
                if (l->kind == WQL_LIT_INTEGER)
                        strbuf_printf(&b, "%" PRId64, l->i);
                else if (l->kind == WQL_LIT_UNSIGNED)
                        strbuf_printf(&b, "%" PRIu64, l->u);
                else
                        strbuf_append(&b, l->b ? "TRUE" : "FALSE");
        }
        *ret = strbuf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

/* The repository source for a WHERE that pins the keys: the one instance
 * with those keys, if it is of exactly this class (subclasses share the key
 * space and are visited as classes of their own). */
static int key_lookup_read(QueryCursor *c, const char *path, Error *err) {
        Instance *inst = NULL;
        Error local = { 0 };
        int r = repo_instance_get(c->engine->repo, c->ns, path, &inst, &local);
        c->page_more = false;
        c->pages_read++;
        if (r == WBEM_E_NOT_FOUND || r == WBEM_E_INVALID_OBJECT_PATH || r == WBEM_E_INVALID_CLASS ||
            r == WBEM_E_INVALID_NAMESPACE)
                return 0; /* no such instance (or a key literal out of range) */
        if (r != 0) {
                if (err)
                        *err = local;
                return r;
        }
        if (name_equal(inst->cls->name, c->cls->name))
                c->page[c->page_len++] = inst;
        else
                instance_unref(inst);
        return 0;
}

/* Open the source of the next class. */
static int source_open(QueryCursor *c, Error *err) {
        c->cls = c->classes[c->next_class++];
        Provider *p = engine_provider_lookup(c->engine, c->ns, c->cls->name);
        if (!p) {
                c->source = SOURCE_REPO;
                c->page_next = 0;
                c->page_more = true;
                _cleanup_free_ char *path = NULL;
                int r = key_lookup_path(c, &path);
                if (r == 0 && path)
                        r = key_lookup_read(c, path, err);
                return r;
        }
        bool filtered = false;
        ProviderCursor *pc = NULL;
        int r = p->ops->enum_begin(p, c->ns, c->cls, c->is_query ? c->query : NULL, c->caller, &pc,
                                   &filtered, err);
        if (r != 0)
                return engine_provider_error(p, r, err);
        c->source = SOURCE_PROVIDER;
        c->provider = p;
        c->pc = pc;
        c->filtered = filtered;
        return 0;
}

/* A pull returns 0 with *ret set (an instance) or NULL (the end), or an
 * error. ProviderOps.enum_next still says "1: an instance", so a provider's
 * WBEM_E_FAILED (also 1) is told apart by the missing instance. */
static int provider_next(QueryCursor *c, Instance **ret, Error *err) {
        Instance *inst = NULL;
        int r = c->provider->ops->enum_next(c->pc, &inst, err);
        if (r == 1 && inst) {
                if (!name_equal(inst->cls->name, c->cls->name)) {
                        r = error_set(err, WBEM_E_PROVIDER_FAILURE,
                                      "the %s provider gave an instance of %s for class %s",
                                      c->provider->name, inst->cls->name, c->cls->name);
                        instance_unref(inst);
                        return r;
                }
                *ret = inst;
                return 0;
        }
        if (r == 0) {
                *ret = NULL;
                return 0;
        }
        /* 1 without an instance: the provider's WBEM_E_FAILED. */
        if (r == 1 && err && err->status != WBEM_E_FAILED)
                error_set(err, WBEM_E_FAILED, "the %s provider gave no instance",
                          c->provider->name);
        return engine_provider_error(c->provider, r, err);
}

/* The next instance of any class: 0 with *ret (NULL at the end) and
 * *ret_filtered (WHERE already applied), or an error. */
static int cursor_pull(QueryCursor *c, Instance **ret, bool *ret_filtered, Error *err) {
        for (;;) {
                int r;
                switch (c->source) {
                case SOURCE_PROVIDER:
                        r = provider_next(c, ret, err);
                        if (r != 0)
                                return r;
                        if (*ret) {
                                *ret_filtered = c->filtered;
                                return 0;
                        }
                        source_close(c);
                        break;
                case SOURCE_REPO:
                        if (c->page_pos < c->page_len) {
                                *ret = TAKE_PTR(c->page[c->page_pos]);
                                c->page_pos++;
                                *ret_filtered = false;
                                return 0;
                        }
                        if (!c->page_more) {
                                source_close(c);
                                break;
                        }
                        if (c->turn_pages >= ENGINE_QUERY_BUDGET_PAGES)
                                return -EAGAIN;
                        c->turn_pages++;
                        r = page_read(c, err);
                        if (r != 0)
                                return r;
                        break;
                case SOURCE_NONE:
                        if (c->next_class >= c->n_classes) {
                                *ret = NULL;
                                return 0;
                        }
                        r = source_open(c, err);
                        if (r != 0)
                                return r;
                        break;
                }
        }
}

/* ---- projection ---------------------------------------------------------------- */

static int keep_compute(QueryCursor *c, CimClass *cls) {
        if (cls->n_props > c->keep_cap) {
                bool *keep = mem_reallocarray(c->keep, cls->n_props, sizeof(bool));
                if (!keep)
                        return -ENOMEM;
                c->keep = keep;
                c->keep_cap = cls->n_props;
        }
        for (size_t k = 0; k < cls->n_props; k++) {
                bool keep = cls->props[k].is_key;
                for (size_t s = 0; !keep && s < c->query->n_select; s++)
                        keep = name_equal(c->query->select[s], cls->props[k].name);
                c->keep[k] = keep;
        }
        class_unref(c->keep_cls);
        c->keep_cls = class_ref(cls);
        return 0;
}

/* Project *inst to the select list (see engine.h). Takes *inst over also on
 * failure. */
static int cursor_project(QueryCursor *c, Instance **inst) {
        Instance *x = *inst;
        int r = 0;
        if (x->cls != c->keep_cls)
                r = keep_compute(c, x->cls);
        bool any = false;
        for (size_t k = 0; r == 0 && !any && k < x->cls->n_props; k++)
                any = !c->keep[k] && !x->values[k].is_null;
        if (r == 0 && any && x->refcount > 1) {
                Instance *copy = NULL;
                r = instance_clone(x, &copy);
                instance_unref(x);
                x = copy;
        }
        if (r != 0) {
                instance_unref(x);
                *inst = NULL;
                return r;
        }
        for (size_t k = 0; any && k < x->cls->n_props; k++)
                if (!c->keep[k])
                        value_clear(&x->values[k]);
        *inst = x;
        return 0;
}

/* ---- the cursor -------------------------------------------------------------- */

/* End the cursor on an error r; a negative errno fills err too. */
static int cursor_fail(QueryCursor *c, int r, Error *err) {
        c->finished = true;
        source_close(c);
        return r < 0 ? error_from_errno(err, r) : r;
}

int engine_query_next(QueryCursor *c, Instance **ret, Error *err) {
        if (!c || c->finished) {
                *ret = NULL;
                return 0;
        }
        c->turn_pages = c->turn_rejected = 0;
        for (;;) {
                Instance *inst = NULL;
                bool filtered = false;
                /* A selective WHERE may reject page after page: give the
                 * caller its turn back now and then (-EAGAIN), so one call
                 * never takes long. Nothing is lost: the cursor resumes where
                 * it stopped. */
                if (c->turn_rejected >= ENGINE_QUERY_BUDGET_REJECTED)
                        return -EAGAIN;
                int r = cursor_pull(c, &inst, &filtered, err);
                if (r == -EAGAIN)
                        return r;
                if (r == 0 && !inst) {
                        c->finished = true;
                        source_close(c);
                        *ret = NULL;
                        return 0;
                }
                if (r == 0)
                        r = engine_instance_in_namespace(inst, c->ns, &inst);
                if (r == 0 && c->filter && !filtered) {
                        /* Only TRUE matches: FALSE and UNKNOWN do not. */
                        int t = wql_filter_eval(c->filter, inst, &c->ctx);
                        if (t != WQL_TRUE)
                                instance_unref(inst);
                        if (t < 0)
                                r = t;
                        else if (t != WQL_TRUE) {
                                c->turn_rejected++;
                                continue;
                        }
                }
                if (r == 0 && !c->query->select_all)
                        r = cursor_project(c, &inst);
                if (r != 0)
                        return cursor_fail(c, r, err);
                *ret = inst;
                return 0;
        }
}

const WqlQuery *engine_query_parsed(const QueryCursor *c) {
        return c->query;
}

size_t engine_query_pages_read(const QueryCursor *c) {
        return c->pages_read;
}

QueryCursor *engine_query_end(QueryCursor *c) {
        if (!c)
                return NULL;
        source_close(c);
        for (size_t k = 0; k < c->n_classes; k++)
                class_unref(c->classes[k]);
        mem_free(c->classes);
        mem_free(c->page);
        mem_free(c->keep);
        class_unref(c->keep_cls);
        wql_filter_free(c->filter);
        wql_query_free(c->query);
        mem_free(c->ns);
        mem_free(c->groups_owned);
        mem_free(c);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(QueryCursor *, engine_query_end);

/* A cursor over cls (and, with deep, its subclasses) in ns (stored
 * spelling), taking q over. */
static int cursor_new(Engine *e, const ProviderCaller *caller, const char *ns, WqlQuery *q,
                      CimClass *cls, bool deep, bool is_query, QueryCursor **ret, Error *err) {
        _cleanup_(wql_query_freep) WqlQuery *query = q;
        _cleanup_(engine_query_endp) QueryCursor *c = mem_calloc(1, sizeof(QueryCursor));
        if (!c)
                return -ENOMEM;
        if (caller) {
                c->caller_copy = *caller;
                c->caller_copy.groups = NULL;
                c->caller_copy.n_groups = 0;
                if (caller->n_groups > 0) {
                        gid_t *groups = mem_reallocarray(NULL, caller->n_groups, sizeof(gid_t));
                        if (!groups)
                                return -ENOMEM;
                        memcpy(groups, caller->groups, caller->n_groups * sizeof(gid_t));
                        c->groups_owned = groups;
                        c->caller_copy.groups = groups;
                        c->caller_copy.n_groups = caller->n_groups;
                }
                c->caller = &c->caller_copy;
        }
        c->engine = e;
        c->query = TAKE_PTR(query);
        c->is_query = is_query;
        c->ctx.host = e->host;
        c->ns = mem_strdup(ns);
        c->page = mem_calloc(ENGINE_QUERY_PAGE, sizeof(Instance *));
        if (!c->ns || !c->page)
                return -ENOMEM;
        /* The WHERE is prepared once: it runs on every instance. */
        if (c->query->where) {
                int r = wql_filter_new(c->query->where, &c->filter);
                if (r < 0)
                        return r;
        }

        CimClass **subs = NULL;
        size_t n_subs = 0;
        if (deep) {
                int r = repo_class_enum(e->repo, ns, cls->name, true, &subs, &n_subs, err);
                if (r != 0)
                        return r;
        }
        c->classes = mem_calloc(n_subs + 1, sizeof(CimClass *));
        if (c->classes) {
                if (!cls->is_abstract)
                        c->classes[c->n_classes++] = class_ref(cls);
                for (size_t k = 0; k < n_subs; k++)
                        if (!subs[k]->is_abstract)
                                c->classes[c->n_classes++] = TAKE_PTR(subs[k]);
        }
        for (size_t k = 0; k < n_subs; k++)
                class_unref(subs[k]);
        mem_free(subs);
        if (!c->classes)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Where a token is written in the query: the first token of `kind`, or with
 * after the token that follows it. 0, 0 when it cannot be found. */
static void query_position(const WqlQuery *q, WqlTokenKind kind, bool after, unsigned *ret_line,
                           unsigned *ret_column) {
        WqlLexer lx;
        WqlToken t = { .kind = WQL_TOK_END };
        bool seen = false;
        *ret_line = *ret_column = 0;
        if (!q->text)
                return;
        wql_lex_init(&lx, q->text, strlen(q->text));
        for (;;) {
                wql_token_clear(&t);
                if (wql_lex_next(&lx, &t, NULL) != 0 || t.kind == WQL_TOK_END)
                        break;
                if (seen || (t.kind == kind && !after)) {
                        *ret_line = t.line;
                        *ret_column = t.column;
                        break;
                }
                seen = t.kind == kind;
        }
        wql_token_clear(&t);
}

static int query_begin_do(Engine *e, const ProviderCaller *caller, const char *ns, const char *text,
                          size_t len, QueryCursor **ret, Error *err) {
        _cleanup_(wql_query_freep) WqlQuery *q = NULL;
        int r = wql_parse(text, len, &e->limits, &q, err);
        if (r != 0)
                return r;
        const char *name;
        r = engine_namespace(e, ns, &name, err);
        if (r != 0)
                return r;

        unsigned line, column;
        _cleanup_(class_unrefp) CimClass *cls = NULL;
        r = repo_class_get(e->repo, name, q->class_name, &cls, err);
        if (r == WBEM_E_NOT_FOUND) {
                query_position(q, WQL_TOK_FROM, true, &line, &column);
                return error_set_at(err, WBEM_E_INVALID_CLASS, line, column,
                                    "line %u, column %u: class %s does not exist in namespace %s",
                                    line, column, q->class_name, name);
        }
        if (r != 0)
                return r;
        if (class_isa(cls, "__Event")) {
                query_position(q, WQL_TOK_FROM, true, &line, &column);
                return error_set_at(
                        err, WBEM_E_INVALID_QUERY_TYPE, line, column,
                        "line %u, column %u: %s is an event class: use ExecNotificationQuery", line,
                        column, cls->name);
        }
        if (q->has_within) {
                query_position(q, WQL_TOK_WITHIN, false, &line, &column);
                return wql_error_at(err, line, column,
                                    "WITHIN belongs to event queries (ExecNotificationQuery), not "
                                    "to a data query");
        }
        r = wql_check_properties(q, cls, err);
        if (r != 0)
                return r;
        return cursor_new(e, caller, name, TAKE_PTR(q), cls, true, true, ret, err);
}

static int enum_instances_do(Engine *e, const ProviderCaller *caller, const char *ns,
                             const char *class_name, bool deep, QueryCursor **ret, Error *err) {
        const char *name;
        int r = engine_namespace(e, ns, &name, err);
        if (r != 0)
                return r;
        if (!class_name)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no class name given");
        _cleanup_(class_unrefp) CimClass *cls = NULL;
        r = repo_class_get(e->repo, name, class_name, &cls, err);
        if (r == WBEM_E_NOT_FOUND)
                return error_set(err, WBEM_E_INVALID_CLASS,
                                 "class %s does not exist in namespace %s", class_name, name);
        if (r != 0)
                return r;

        /* The query the cursor stands for, for engine_query_parsed(). */
        _cleanup_(wql_query_freep) WqlQuery *q = mem_calloc(1, sizeof(WqlQuery));
        if (!q)
                return -ENOMEM;
        q->select_all = true;
        q->class_name = mem_strdup(cls->name);
        q->text = mem_printf("SELECT * FROM %s", cls->name);
        if (!q->class_name || !q->text)
                return -ENOMEM;
        return cursor_new(e, caller, name, TAKE_PTR(q), cls, deep, false, ret, err);
}

/* ---- the interface: a negative errno comes with err filled too ---- */

int engine_query_begin(Engine *e, const char *ns, const char *text, size_t len, QueryCursor **ret,
                       Error *err) {
        return engine_errno(query_begin_do(e, NULL, ns, text, len, ret, err), err);
}

int engine_query_begin_as(Engine *e, const ProviderCaller *caller, const char *ns, const char *text,
                          size_t len, QueryCursor **ret, Error *err) {
        return engine_errno(query_begin_do(e, caller, ns, text, len, ret, err), err);
}

int engine_enum_instances(Engine *e, const char *ns, const char *class_name, bool deep,
                          QueryCursor **ret, Error *err) {
        return engine_errno(enum_instances_do(e, NULL, ns, class_name, deep, ret, err), err);
}

int engine_enum_instances_as(Engine *e, const ProviderCaller *caller, const char *ns,
                             const char *class_name, bool deep, QueryCursor **ret, Error *err) {
        return engine_errno(enum_instances_do(e, caller, ns, class_name, deep, ret, err), err);
}
