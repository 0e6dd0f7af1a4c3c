/* Instances as JSON text; see objtext.h. */
#include "objtext.h"

#include <errno.h>
#include <jansson.h>

#include "cleanup.h"
#include "mem.h"
#include "objjson.h"

void objtext_init(ObjText *w, const char *host, const WqlQuery *query) {
        *w = (ObjText){ .host = host, .query = query && !query->select_all ? query : NULL };
}

void objtext_set_query(ObjText *w, const WqlQuery *query) {
        w->query = query && !query->select_all ? query : NULL;
}

void objtext_done(ObjText *w) {
        mem_free(w->select);
        *w = (ObjText){ 0 };
}

/* The names to write for an instance of cls: the query's and the keys. */
static int objtext_select(ObjText *w, const CimClass *cls, ObjJsonOptions *opts) {
        const WqlQuery *query = w->query;
        size_t n = query->n_select + cls->n_keys, k = 0;

        if (n > w->select_cap) {
                const char **a = mem_reallocarray(w->select, n, sizeof(*a));
                if (!a)
                        return -ENOMEM;
                w->select = a;
                w->select_cap = n;
        }
        for (size_t i = 0; i < query->n_select; i++)
                w->select[k++] = query->select[i];
        for (size_t i = 0; i < cls->n_props; i++)
                if (cls->props[i].is_key)
                        w->select[k++] = cls->props[i].name;
        /* objjson's list is of mutable pointers to names it only reads */
        opts->select = (char *const *)w->select;
        opts->n_select = k;
        return 0;
}

int objtext_append(ObjText *w, const Instance *inst, StrBuf *b, Error *err) {
        ObjJsonOptions opts = { .host = w->host };
        int r;

        if (w->query) {
                r = objtext_select(w, inst->cls, &opts);
                if (r < 0)
                        return r;
        }
        return objjson_instance_to_text(inst, &opts, b, err);
}
