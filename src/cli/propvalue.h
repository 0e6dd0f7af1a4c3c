/* Property values typed on the command line (lwmi publish CLASS
 * Prop=value ...), converted to their JSON wire form by the property's
 * type in the class definition: numbers for integers of up to 32 bits and
 * reals, decimal strings for sint64/uint64, true/false for booleans, text
 * for strings, datetimes and references, JSON for embedded objects, and
 * arrays written {a,b,c}. Pure functions, so the unit tests check them. */
#pragma once

#include <jansson.h>

/* Split "Name=value" at the first '='. *ret_name is a new string; *ret_value
 * points into arg. -EINVAL when there is no '=' or no name. */
int propvalue_split(const char *arg, char **ret_name, const char **ret_value);

/* Convert `text` for the property `def` (its definition in a class object:
 * {"type": "uint32", "array": true, ...}). An empty text is null, except
 * for a string, which it leaves empty; "NULL" is null for any type but
 * string. An array's text is {a,b,c} (the braces may be left out), items
 * trimmed of spaces around them; {} is empty.
 *
 * Returns 0 with *ret a new value, -ENOMEM, or -EINVAL with *ret_error (a
 * new string) saying what is wrong with the text. */
int propvalue_parse(const json_t *def, const char *text, json_t **ret, char **ret_error);
