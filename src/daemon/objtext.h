/* Instances as JSON text appended to a line being built: what ExecQuery's
 * answer, ExecQueryAsync's Indicate batches and event Indicates are made
 * of. An object is written by objjson_instance_to_text (the wire form
 * DESIGN.md gives, the same as objjson_instance_to_json's) straight into
 * the line: no jansson tree is built and dumped, which cost more than
 * everything else an event takes on its way to a consumer.
 *
 * With a query that has a select list, each object is written with the
 * selected properties and the key properties of its class (the engine kept
 * those so that __RELPATH and __PATH stay valid): the same objects for
 * ExecQuery and ExecQueryAsync. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "instance.h"
#include "strbuf.h"
#include "wql.h"

typedef struct ObjText {
        const char *host;      /* for __SERVER and __PATH; borrowed */
        const WqlQuery *query; /* its select list; NULL: every property; borrowed */
        const char **select;   /* the names written for the last class */
        size_t select_cap;
} ObjText;

/* host and query are borrowed and must outlive the writer. */
void objtext_init(ObjText *w, const char *host, const WqlQuery *query);
void objtext_done(ObjText *w);
/* Write for another query from now on (its buffers are kept). */
void objtext_set_query(ObjText *w, const WqlQuery *query);

/* Append inst's compact JSON text to b. 0, -ENOMEM (b may then hold part
 * of it: the caller drops the line), or objjson's WBEM_E_INVALID_PARAMETER
 * (a string that is not UTF-8, objects nested too deep) with err. */
int objtext_append(ObjText *w, const Instance *inst, StrBuf *b, Error *err);
