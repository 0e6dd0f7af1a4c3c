/* A configurable provider for the engine's tests: see mock-provider.h. */
#include "mock-provider.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "mem.h"
#include "names.h"
#include "objjson.h"

typedef struct Mock {
        Provider provider;
        MockConfig cfg;
        MockStats *stats;
        MockStats own_stats;
        Instance **kept; /* shared instances handed out */
        size_t n_kept;
} Mock;

typedef struct MockCursor {
        Mock *mock;
        CimClass *cls;
        char *ns;
        size_t row;
} MockCursor;

static int mock_get_classes(Provider *p, CimClass ***ret, size_t *ret_count, Error *err) {
        Mock *m = p->userdata;
        if (m->cfg.get_classes_status)
                return error_set(err, m->cfg.get_classes_status, "mock: no classes today");
        json_error_t jerr;
        json_t *j = json_loads(m->cfg.classes_json, 0, &jerr);
        if (!j || !json_is_array(j)) {
                json_decref(j);
                return error_set(err, WBEM_E_INVALID_PARAMETER, "mock: bad class JSON");
        }
        size_t n = json_array_size(j);
        CimClass **list = mem_calloc(n + 1, sizeof(CimClass *));
        if (!list) {
                json_decref(j);
                return -ENOMEM;
        }
        int r = 0;
        for (size_t k = 0; r == 0 && k < n; k++)
                r = objjson_class_from_json(json_array_get(j, k), NULL, NULL, &list[k], err);
        json_decref(j);
        if (r != 0) {
                for (size_t k = 0; k < n; k++)
                        class_unref(list[k]);
                mem_free(list);
                return r;
        }
        *ret = list;
        *ret_count = n;
        return 0;
}

/* The instance of row for class cls (all of whose rows of that class name
 * are of it). */
static int mock_make(Mock *m, const MockRow *row, CimClass *cls, const char *ns, Instance **ret,
                     Error *err) {
        Instance *inst = NULL;
        int r = instance_new(cls, &inst);
        if (r < 0)
                return r;
        Value v = value_uint(CIM_UINT32, row->id);
        if (class_find_property(cls, "Id") >= 0)
                r = instance_set(inst, "Id", &v, err);
        if (r == 0 && row->name && class_find_property(cls, "Name") >= 0) {
                r = value_string(row->name, &v);
                if (r == 0) {
                        r = instance_set(inst, "Name", &v, err);
                        value_clear(&v);
                }
        }
        v = value_sint(CIM_SINT32, row->value);
        if (r == 0 && class_find_property(cls, "Value") >= 0)
                r = instance_set(inst, "Value", &v, err);
        if (r == 0)
                r = instance_set_namespace(inst, ns);
        if (r == 0 && m->cfg.shared) {
                Instance **kept = mem_reallocarray(m->kept, m->n_kept + 1, sizeof(Instance *));
                if (!kept)
                        r = -ENOMEM;
                else {
                        m->kept = kept;
                        m->kept[m->n_kept++] = instance_ref(inst);
                }
        }
        if (r != 0) {
                instance_unref(inst);
                return r;
        }
        *ret = inst;
        return 0;
}

static void mock_note_caller(MockStats *stats, const ProviderCaller *caller) {
        stats->caller_uid = caller ? (long)caller->uid : -2;
        stats->caller_groups = caller ? caller->n_groups : 0;
        stats->caller_group0 = caller && caller->n_groups ? caller->groups[0] : 0;
}

static int mock_enum_begin(Provider *p, const char *ns, CimClass *cls, const WqlQuery *query,
                           const ProviderCaller *caller, ProviderCursor **ret, bool *ret_filtered,
                           Error *err) {
        Mock *m = p->userdata;
        mock_note_caller(m->stats, caller);
        if (m->stats->begins < 16)
                snprintf(m->stats->begun[m->stats->begins], sizeof(m->stats->begun[0]), "%s",
                         cls->name);
        m->stats->begins++;
        if (query)
                m->stats->begins_with_query++;
        if (m->cfg.begin_status)
                return error_set(err, m->cfg.begin_status, "mock: cannot start");
        MockCursor *c = mem_calloc(1, sizeof(MockCursor));
        if (!c)
                return -ENOMEM;
        c->mock = m;
        c->cls = class_ref(cls);
        c->ns = mem_strdup(ns);
        if (!c->ns) {
                class_unref(c->cls);
                mem_free(c);
                return -ENOMEM;
        }
        m->stats->opened++;
        *ret = (ProviderCursor *)c;
        *ret_filtered = m->cfg.claim_filtered;
        return 0;
}

static int mock_enum_next(ProviderCursor *pc, Instance **ret, Error *err) {
        MockCursor *c = (MockCursor *)pc;
        Mock *m = c->mock;
        m->stats->nexts++;
        if (m->cfg.fail_at && m->stats->nexts == m->cfg.fail_at) {
                if (m->cfg.fail_status < 0)
                        return m->cfg.fail_status;
                return error_set(err, m->cfg.fail_status, "mock: lost the data at call %u",
                                 m->stats->nexts);
        }
        for (; c->row < m->cfg.n_rows; c->row++) {
                const MockRow *row = &m->cfg.rows[c->row];
                if (!m->cfg.wrong_class && !name_equal(row->class_name, c->cls->name))
                        continue;
                c->row++;
                if (m->cfg.wrong_class) {
                        /* An instance of a class made up on the spot. */
                        CimClass *other = NULL;
                        int r = class_new("Mock_Wrong", NULL, &other, err);
                        if (r != 0)
                                return r;
                        r = instance_new(other, ret);
                        class_unref(other);
                        return r < 0 ? r : 1;
                }
                int r = mock_make(m, row, c->cls, c->ns, ret, err);
                return r != 0 ? r : 1;
        }
        return 0;
}

static void mock_enum_end(ProviderCursor *pc) {
        MockCursor *c = (MockCursor *)pc;
        c->mock->stats->ends++;
        class_unref(c->cls);
        mem_free(c->ns);
        mem_free(c);
}

static int mock_get_instance(Provider *p, const char *ns, CimClass *cls, const ObjectPath *path,
                             const ProviderCaller *caller, Instance **ret, Error *err) {
        Mock *m = p->userdata;
        mock_note_caller(m->stats, caller);
        m->stats->gets++;
        for (size_t k = 0; k < m->cfg.n_rows; k++) {
                const MockRow *row = &m->cfg.rows[k];
                if (!name_equal(row->class_name, cls->name))
                        continue;
                bool match = path->is_singleton;
                for (size_t i = 0; !match && i < path->n_keys; i++) {
                        /* The engine converted the keys to the key types. */
                        const Value *v = &path->keys[i].value;
                        match = path->keys[i].name && name_equal(path->keys[i].name, "Id") &&
                                v->type == CIM_UINT32 && v->u == row->id;
                }
                if (match)
                        return mock_make(m, row, cls, ns, ret, err);
        }
        return error_set(err, WBEM_E_NOT_FOUND, "mock: no such instance");
}

static void mock_free(Provider *p) {
        Mock *m = p->userdata;
        m->stats->freed = true;
        for (size_t k = 0; k < m->n_kept; k++)
                instance_unref(m->kept[k]);
        mem_free(m->kept);
        mem_free(m);
}

static const ProviderOps mock_ops = {
        .get_classes = mock_get_classes,
        .enum_begin = mock_enum_begin,
        .enum_next = mock_enum_next,
        .enum_end = mock_enum_end,
        .get_instance = mock_get_instance,
        .free = mock_free,
};

static const ProviderOps mock_ops_no_get = {
        .get_classes = mock_get_classes,
        .enum_begin = mock_enum_begin,
        .enum_next = mock_enum_next,
        .enum_end = mock_enum_end,
        .get_instance = NULL,
        .free = mock_free,
};

int mock_provider_new(const MockConfig *cfg, MockStats *stats, Provider **ret) {
        Mock *m = mem_calloc(1, sizeof(Mock));
        if (!m)
                return -ENOMEM;
        m->cfg = *cfg;
        m->stats = stats ? stats : &m->own_stats;
        *m->stats = (MockStats){ 0 };
        m->provider = (Provider){
                .name = cfg->name ? cfg->name : "mock",
                .ns = cfg->ns ? cfg->ns : "root/cimv2",
                .ops = cfg->with_get ? &mock_ops : &mock_ops_no_get,
                .userdata = m,
        };
        *ret = &m->provider;
        return 0;
}
