/* How the command-line client shows objects: the text form of a property
 * value, the columns of a query's table, a class definition in MOF-like
 * text, and the caret line under a query error. Pure functions on jansson
 * values, so the unit tests check them without a server. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "table.h"

/* The text of a value in a table cell, as a new string (NULL: out of
 * memory): "" for NULL, strings as they are (64-bit integers arrive as
 * decimal strings), numbers in their shortest exact form, true/false,
 * arrays as {a, b, c}, embedded objects as compact JSON. */
char *format_value(const json_t *v);

/* A member of an object by name, ignoring ASCII case as WMI does. */
json_t *format_object_get(const json_t *obj, const char *name);

/* True for WMI's system properties ("__CLASS", "__PATH", ...). */
bool format_is_system_property(const char *name);

/* A list of names; free with format_names_free(). */
typedef struct Names {
        char **v;
        size_t n;
} Names;
void format_names_free(Names *names);

/* The select list of a data query, in order: "SELECT Name, ProcessId FROM
 * ..." gives {Name, ProcessId}. `*`, and text this simple reader does not
 * follow, give an empty list (then the server's error, if any, tells). */
int format_select_list(const char *wql, Names *ret);

/* The columns for a table of `objects` (a JSON array): the selected names
 * if any (spelled as the first object that has the property spells it),
 * else every non-system property in order of first appearance. */
int format_columns(const json_t *objects, const Names *selected, Names *ret);

/* A table of objects, one row each, with the given columns as header.
 * Columns whose values are all numbers (or decimal strings, the form of
 * 64-bit integers) are aligned right. */
int format_objects_table(const json_t *objects, const Names *columns, Table **ret);

/* lwmi watch: the columns of an event's row. An intrinsic event (one with
 * an embedded TargetInstance) gives "Event", for the event's class, then
 * the target's non-system properties; an extrinsic event gives its own
 * properties, less those every event inherits from __Event (TIME_CREATED,
 * SECURITY_DESCRIPTOR), or "Event" alone when it has no others.
 * *ret_class_column tells whether the first column is the event's class.
 * 0 or -ENOMEM. */
int format_event_columns(const json_t *event, Names *ret, bool *ret_class_column);

/* The cells of one event's row for those columns: columns->n new strings
 * into cells (freed by the caller with mem_free). With class_column, the
 * first cell is the event's class; the others are properties of its
 * TargetInstance if it has one, else of the event. 0 or -ENOMEM (nothing
 * left allocated). */
int format_event_cells(const json_t *event, const Names *columns, bool class_column, char **cells);

/* Whether a value reads as a number in a table: a JSON number, or a
 * decimal string (the form of 64-bit integers). */
bool format_is_numeric(const json_t *v);

/* A two-column table (property, value) of one object: its non-system
 * properties, after __PATH (or __RELPATH) when it has one. */
int format_object_table(const json_t *object, Table **ret);

/* A class definition ({"__CLASS", "__SUPERCLASS", "properties": {...}}) in
 * MOF-like text:
 *
 *     class App_Job : App_Base
 *     {
 *         [key] uint32 Id;
 *         string Tags[];
 *     };
 */
int format_class(const json_t *cls, char **ret);

/* Two lines pointing at a position in a query: the query's `line` (1-based)
 * and a caret under `column` (1-based, counted in bytes as lwmid's WQL
 * lexer counts it), both indented by two spaces. Tabs before the column are kept so the caret
 * lines up. -EINVAL when the text has no such line. */
int format_caret(const char *text, unsigned line, unsigned column, char **ret);
