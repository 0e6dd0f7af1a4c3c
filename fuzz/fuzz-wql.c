/* Fuzz target for the WQL parser, canonical formatter and evaluator.
 *
 * Any input must either parse or fail with WBEM_E_INVALID_QUERY and a
 * positioned message (never crash, leak or hang). When it parses:
 *   - the canonical text must parse again (with room for its extra length)
 *     and format to the identical text;
 *   - the condition alone must format as the text after " WHERE ";
 *   - evaluating it against a few fixed instances must give the same truth
 *     for the original tree, for the re-parsed canonical tree (so
 *     canonicalization never changes meaning), and for a prepared filter;
 *   - validation against the instances' classes must not crash.
 * Otherwise abort(), so libFuzzer keeps the input. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "class.h"
#include "instance.h"
#include "mem.h"
#include "value.h"
#include "wql.h"
#include "wql_eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Instances the conditions are evaluated against, built once. */
static struct {
        CimClass *cls;
        CimClass **system;
        size_t n_system;
        Instance *instances[3]; /* a Fz_Item, one with NULLs, an event */
} fixture;

static void must(int r) {
        if (r != 0)
                abort();
}

static void set(Instance *i, const char *name, Value v) {
        must(instance_set(i, name, &v, NULL));
        value_clear(&v);
}

static void set_string(Instance *i, const char *name, const char *s) {
        Value v;
        must(value_string(s, &v));
        set(i, name, v);
}

static void fixture_build(void) {
        CimClass *def;
        must(class_new("Fz_Item", NULL, &def, NULL));
        must(class_add_property(def, "Id", CIM_UINT32, false, true, NULL, NULL));
        must(class_add_property(def, "Name", CIM_STRING, false, false, NULL, NULL));
        must(class_add_property(def, "Num", CIM_STRING, false, false, NULL, NULL));
        must(class_add_property(def, "Big", CIM_UINT64, false, false, NULL, NULL));
        must(class_add_property(def, "Neg", CIM_SINT64, false, false, NULL, NULL));
        must(class_add_property(def, "R", CIM_REAL64, false, false, NULL, NULL));
        must(class_add_property(def, "Flag", CIM_BOOLEAN, false, false, NULL, NULL));
        must(class_add_property(def, "When", CIM_DATETIME, false, false, NULL, NULL));
        must(class_add_property(def, "Ref", CIM_REFERENCE, false, false, NULL, NULL));
        must(class_add_property(def, "Tags", CIM_STRING, true, false, NULL, NULL));
        must(class_add_property(def, "Obj", CIM_OBJECT, false, false, NULL, NULL));
        must(class_derive(def, NULL, &fixture.cls, NULL));
        class_unref(def);

        Instance *empty, *item, *event;
        must(instance_new(fixture.cls, &empty));
        set(empty, "Id", value_uint(CIM_UINT32, 0));
        set(empty, "R", value_real(CIM_REAL64, NAN));

        must(instance_new(fixture.cls, &item));
        set(item, "Id", value_uint(CIM_UINT32, 100));
        set_string(item, "Name", "sshd");
        set_string(item, "Num", "42");
        set(item, "Big", value_uint(CIM_UINT64, UINT64_MAX));
        set(item, "Neg", value_sint(CIM_SINT64, -1));
        set(item, "R", value_real(CIM_REAL64, 2.5));
        set(item, "Flag", value_bool(true));
        set_string(item, "When", "20261126083000.000000+000");
        Value v;
        must(value_reference("Fz_Item.Id=0", &v));
        set(item, "Ref", v);
        must(value_array_new(CIM_STRING, 1, &v));
        must(value_string("a", &v.arr->items[0]));
        set(item, "Tags", v);
        set(item, "Obj", value_object(empty));
        must(instance_set_namespace(item, "root/cimv2"));

        must(class_system_classes(&fixture.system, &fixture.n_system));
        CimClass *creation = NULL;
        for (size_t k = 0; k < fixture.n_system; k++)
                if (strcmp(fixture.system[k]->name, "__InstanceCreationEvent") == 0)
                        creation = fixture.system[k];
        if (!creation)
                abort();
        must(instance_new(creation, &event));
        set(event, "TargetInstance", value_object(item));

        fixture.instances[0] = item;
        fixture.instances[1] = empty;
        fixture.instances[2] = event;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void)argc;
        (void)argv;
        fixture_build();
        return 0;
}

static void check_evaluation(const WqlQuery *q, const WqlQuery *q2) {
        static const WqlEvalContext ctx = { .host = "fuzzhost" };
        WqlFilter *filter;
        if (wql_filter_new(q->where, &filter) != 0)
                abort();
        for (int round = 0; round < 2; round++)
                for (size_t k = 0; k < 3; k++) {
                        const Instance *inst = fixture.instances[k];
                        int a = wql_eval_expr(q->where, inst, &ctx);
                        int b = wql_eval_expr(q2->where, inst, &ctx);
                        int c = wql_filter_eval(filter, inst, &ctx);
                        if (a < 0 || a != b || a != c)
                                abort();
                }
        wql_filter_free(filter);
        Error err;
        (void)wql_check_properties(q, fixture.cls, &err);
        (void)wql_check_properties(q, fixture.instances[2]->cls, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!fixture.cls)
                fixture_build();
        WqlQuery *q = NULL;
        Error err = { 0 };
        int r = wql_parse((const char *)data, size, NULL, &q, &err);
        if (r != 0) {
                if (r != WBEM_E_INVALID_QUERY && r != -ENOMEM)
                        abort();
                if (r == WBEM_E_INVALID_QUERY &&
                    (strncmp(err.message, "line ", 5) != 0 || err.line == 0 || err.column == 0))
                        abort();
                return 0;
        }
        char *f1 = wql_query_format(q);
        if (!f1)
                abort();
        WqlLimits big = { .max_length = SIZE_MAX };
        WqlQuery *q2 = NULL;
        if (wql_parse(f1, strlen(f1), &big, &q2, &err) != 0)
                abort();
        char *f2 = wql_query_format(q2);
        if (!f2 || strcmp(f1, f2) != 0)
                abort();
        /* the condition alone formats as the text after " WHERE " */
        if (q->where) {
                char *w = wql_expr_format(q->where);
                const char *at = strstr(f1, " WHERE ");
                if (!w || !at || strcmp(at + 7, w) != 0)
                        abort();
                mem_free(w);
        }
        check_evaluation(q, q2);
        mem_free(f1);
        mem_free(f2);
        wql_query_free(q2);
        wql_query_free(q);
        return 0;
}
