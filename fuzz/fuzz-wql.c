/* Fuzz target for the WQL parser and canonical formatter.
 *
 * Any input must either parse or fail with WBEM_E_INVALID_QUERY and a
 * positioned message (never crash, leak or hang). When it parses, the
 * canonical text must parse again (with room for its extra length) and
 * format to the identical text; otherwise abort() so libFuzzer keeps the
 * input. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "wql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
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
        mem_free(f1);
        mem_free(f2);
        wql_query_free(q2);
        wql_query_free(q);
        return 0;
}
