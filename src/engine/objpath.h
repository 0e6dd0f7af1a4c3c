/* Object paths, as WMI writes them:
 *
 *   [\\server\namespace:]Class.Key1="text",Key2=5       keyed instance
 *   [//server/namespace:]Class=@                        singleton
 *   [namespace:]Class                                   a class (no keys)
 *   Class="text"                                        one unnamed key
 *
 * Strings are in double quotes with backslash escapes (\" and \\); numbers
 * are bare (decimal, optionally signed); TRUE and FALSE are booleans.
 * Namespace separators may be '/' or '\'. The printed form is canonical: keys
 * sorted by case-insensitive name, strings quoted, namespace with '/'. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "value.h"

typedef struct ObjectPathKey {
        char *name;   /* NULL for the unnamed form Class="x" */
        Value value;  /* CIM_STRING, CIM_SINT64, CIM_UINT64 (values over
                         INT64_MAX), CIM_REAL64 or CIM_BOOLEAN as written */
} ObjectPathKey;

typedef struct ObjectPath {
        char *server;     /* NULL when absent; "." is kept as written */
        char *ns;         /* NULL when absent; separators normalized to '/' */
        char *class_name;
        bool is_singleton;
        ObjectPathKey *keys;
        size_t n_keys;
} ObjectPath;

/* Parse text (NUL-terminated, at most 16 KiB). Returns 0, -ENOMEM, or
 * WBEM_E_INVALID_OBJECT_PATH with the 1-based column of the problem in
 * err->column and a message ("column 12: expected '=' after key name"). */
int objpath_parse(const char *text, ObjectPath **ret, Error *err);
ObjectPath *objpath_free(ObjectPath *p);

/* Canonical relative path (no server or namespace). NULL on out-of-memory. */
char *objpath_format_relpath(const ObjectPath *p);
/* Full path, with "//server/ns:" when those are set. */
char *objpath_format(const ObjectPath *p);

/* Append a string in path quoting ("a\"b") to buf; shared with instance.c. */
struct StrBuf;
void objpath_append_quoted(struct StrBuf *buf, const char *s);
/* Append a key value as a path prints it: integers in decimal, booleans
 * TRUE / FALSE, reals in shortest round-trip form with a '.' or exponent,
 * strings, references and datetimes quoted; NULL (and types that cannot be
 * keys) as "". Shared with instance.c so both print the same text. */
void objpath_append_key_value(struct StrBuf *buf, const Value *v);

/* Namespace names: "root/cimv2", "ROOT\\CIMV2" -> "root/cimv2" keeping the
 * given spelling but with '/' separators and no leading/trailing or double
 * separators. Returns a new string, or NULL for an invalid name (empty
 * segment, bad character) or out-of-memory (then errno is ENOMEM). */
char *namespace_normalize(const char *ns);
