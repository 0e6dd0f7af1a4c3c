/* Fuzz target for the object-path parser (objpath.c).
 *
 * Any input is parsed (as a NUL-terminated copy). When it parses, the
 * canonical form must be a fixed point: parsing the printed path gives the
 * same path (same server, namespace, class and keys with equal values) and
 * prints the same text again. A mismatch aborts, so the fuzzer reports it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "names.h"
#include "objpath.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_text(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_same(const ObjectPath *a, const ObjectPath *b) {
        if (!same_text(a->server, b->server) || !same_text(a->ns, b->ns) ||
            strcmp(a->class_name, b->class_name) != 0 || a->is_singleton != b->is_singleton ||
            a->n_keys != b->n_keys)
                abort();
        for (size_t i = 0; i < a->n_keys; i++) {
                const ObjectPathKey *k = &a->keys[i];
                size_t j;
                for (j = 0; j < b->n_keys; j++)
                        if (k->name ? b->keys[j].name && strcmp(k->name, b->keys[j].name) == 0
                                    : !b->keys[j].name)
                                break;
                if (j == b->n_keys || !value_equal(&k->value, &b->keys[j].value))
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = mem_strndup((const char *)data, size);
        if (!text)
                return 0;
        ObjectPath *p1 = NULL, *p2 = NULL;
        char *f1 = NULL, *f2 = NULL;
        Error err;

        if (objpath_parse(text, &p1, &err) != 0)
                goto done;
        f1 = objpath_format(p1);
        if (!f1)
                goto done;
        /* Printing a real may take more bytes than it was written with
         * ("12e1" prints as "1.2e2"), so a path near the length limit can
         * print longer than the parser accepts. */
        if (strlen(f1) > 16384)
                goto done;
        if (objpath_parse(f1, &p2, &err) != 0)
                abort();
        check_same(p1, p2);
        f2 = objpath_format(p2);
        if (!f2)
                goto done;
        if (strcmp(f1, f2) != 0)
                abort();
        /* the relative path is the full path's tail */
        char *rel = objpath_format_relpath(p1);
        if (rel) {
                size_t lf = strlen(f1), lr = strlen(rel);
                if (lr > lf || strcmp(f1 + lf - lr, rel) != 0)
                        abort();
                mem_free(rel);
        }
done:
        mem_free(f1);
        mem_free(f2);
        objpath_free(p1);
        objpath_free(p2);
        mem_free(text);
        return 0;
}
