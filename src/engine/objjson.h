/* CIM objects as JSON (jansson json_t), in the wire format of DESIGN.md:
 * the form the daemon puts on the wire and the repository stores.
 *
 * An instance is a JSON object with WMI's system properties, then its own
 * properties in class order:
 *
 *   {"__GENUS": 2, "__CLASS": "App_Job", "__SUPERCLASS": null,
 *    "__DERIVATION": [], "__SERVER": "host", "__NAMESPACE": "root/cimv2",
 *    "__RELPATH": "App_Job.Id=1", "__PATH": "//host/root/cimv2:App_Job.Id=1",
 *    "Id": 1, "Size": "18446744073709551615", ...}
 *
 * Values: integers of up to 32 bits and reals are JSON numbers; sint64 and
 * uint64 are decimal strings (so no client loses precision); booleans are
 * true/false; datetimes are DMTF strings; a reference is its path text; an
 * embedded object is a nested instance object; arrays are JSON arrays; NULL
 * is null. Reals that JSON cannot carry (NaN, infinities) are the strings
 * "NaN", "Infinity" and "-Infinity", as in protobuf's JSON mapping.
 *
 * A class is
 *
 *   {"__GENUS": 1, "__CLASS": "App_Job", "__SUPERCLASS": null, "__DERIVATION": [],
 *    "abstract": true, "singleton": true,
 *    "properties": {"Id": {"type": "uint32", "key": true, "array": true,
 *                          "default": 5, "origin": "App_Job"}}}
 *
 * where "abstract", "singleton", "key" and "array" appear only when true and
 * "default" only when the class gives one.
 *
 * Reading accepts what a client may reasonably send: 64-bit integers as
 * strings or numbers, integral reals for integers ("5.0"), numeric strings
 * for numbers (value_convert decides the rest). Every error names the
 * property (and array item, and embedding property) and says what was wrong.
 * Embedded objects nest at most OBJJSON_MAX_DEPTH levels, in both
 * directions. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class.h"
#include "error.h"
#include "instance.h"
#include "value.h"

/* Levels of embedded objects (an instance inside an instance ...) accepted
 * when reading or writing. */
#define OBJJSON_MAX_DEPTH 32

/* How to write an object. A NULL options pointer means all defaults. */
typedef struct ObjJsonOptions {
        /* Host name for __SERVER and __PATH. NULL: neither is written. */
        const char *host;
        /* Own properties to write, by case-insensitive name (a WQL select
         * list); names the class lacks are skipped. NULL: all properties.
         * System properties are always written. Applies to the top-level
         * object only, not to embedded objects. */
        char *const *select;
        size_t n_select;
        /* The storage form used by the repository: of the system properties
         * only __CLASS (and, for a class, __SUPERCLASS) is written, and
         * property origins are left out. Reading accepts both forms. Host
         * and form apply to embedded objects too. */
        bool storage;
} ObjJsonOptions;

/* Finds the flattened class `class_name` for an embedded object or an
 * instance being read. Returns 0 with *ret a new reference, -ENOMEM, or a
 * positive WbemStatus (normally WBEM_E_INVALID_CLASS) with err filled. */
typedef int (*ObjJsonResolveFunc)(void *userdata, const char *class_name, CimClass **ret,
                                  Error *err);

/* JSON text of j (json_dumps flags), safe under out-of-memory: jansson's
 * own json_dumps() can drop a failed piece (an object key) and return the
 * rest as if nothing happened. Returns 0 or -ENOMEM; *ret is freed with
 * mem_free(). */
int objjson_dump(const json_t *j, size_t flags, char **ret);

/* One value as JSON. Returns 0, -ENOMEM, or WBEM_E_INVALID_PARAMETER (a
 * string that is not UTF-8, embedded objects nested too deep). */
int objjson_value_to_json(const Value *v, json_t **ret, Error *err);

/* A JSON value read as a value of type t (array when is_array). Embedded
 * objects are resolved through resolve (may be NULL when t is not
 * CIM_OBJECT). Returns 0, -ENOMEM, WBEM_E_TYPE_MISMATCH (wrong JSON type, a
 * value that does not convert, a fractional number for an integer, a number
 * beyond the 64-bit range), or an error of an embedded object. */
int objjson_value_from_json(json_t *j, CimType t, bool is_array, ObjJsonResolveFunc resolve,
                            void *userdata, Value *ret, Error *err);

/* An instance as JSON (see above). __NAMESPACE is null when the instance has
 * no namespace; __RELPATH is null (and __PATH absent) when its keys are
 * incomplete. Returns 0, -ENOMEM, or WBEM_E_INVALID_PARAMETER as
 * objjson_value_to_json. */
int objjson_instance_to_json(const Instance *i, const ObjJsonOptions *opts, json_t **ret,
                             Error *err);
/* The same object written straight as compact JSON text, appended to b
 * (struct StrBuf, strbuf.h): the same members in the same order, parsed
 * back equal to objjson_instance_to_json's, without building a jansson
 * tree (the wire's hot path: every event and query result). Returns 0,
 * -ENOMEM (b failed), or the same WBEM_E_INVALID_PARAMETER errors; on any
 * error b may hold part of the object. */
struct StrBuf;
int objjson_instance_to_text(const Instance *i, const ObjJsonOptions *opts, struct StrBuf *b,
                             Error *err);

/* An instance from JSON: "__CLASS" names its class (found with resolve); the
 * other members are property values. System properties ("__" names) other
 * than __CLASS are ignored; the namespace is not set. Errors:
 * WBEM_E_INVALID_OBJECT (not an object, no __CLASS, a class object, nesting
 * too deep), WBEM_E_INVALID_PROPERTY (a property the class lacks, or one
 * given twice in different case), WBEM_E_TYPE_MISMATCH, the resolver's error,
 * -ENOMEM. */
int objjson_instance_from_json(json_t *j, ObjJsonResolveFunc resolve, void *userdata,
                               Instance **ret, Error *err);

/* An instance given as a flat list of members, each a scalar JSON value
 * (the members of a JSON object with no nested object or array and no
 * real number), as a decoder that builds no jansson tree reads it (the
 * daemon's PublishEvent fast path). Names and strings are as JSON decodes
 * them (escapes resolved, valid UTF-8), not NUL-terminated; names are
 * distinct (JSON with a duplicate key is rejected before). */
typedef enum ObjJsonScalarKind {
        OBJJSON_SCALAR_STRING,
        OBJJSON_SCALAR_INTEGER,
        OBJJSON_SCALAR_TRUE,
        OBJJSON_SCALAR_FALSE,
        OBJJSON_SCALAR_NULL,
} ObjJsonScalarKind;

typedef struct ObjJsonScalar {
        const char *name;
        size_t name_len;
        ObjJsonScalarKind kind;
        const char *text; /* OBJJSON_SCALAR_STRING: the string's bytes */
        size_t len;
        int64_t integer; /* OBJJSON_SCALAR_INTEGER */
} ObjJsonScalar;

/* The instance objjson_instance_from_json() reads from the JSON object
 * with these members in this order: the same result, or the same error
 * with the same message. */
int objjson_instance_from_scalars(const ObjJsonScalar *members, size_t n,
                                  ObjJsonResolveFunc resolve, void *userdata, Instance **ret,
                                  Error *err);

/* The same for the repository's own data, where an embedded object may
 * have been stored under an older definition of its class: embedded objects
 * are read as far as their class still fits them (a property the class no
 * longer has is dropped, a value that no longer converts keeps the
 * property's default, an object whose class is gone reads as NULL), so a
 * class change never makes a stored instance unreadable. The top-level
 * instance is read strictly (the repository reshapes those itself). */
int objjson_instance_from_stored_json(json_t *j, ObjJsonResolveFunc resolve, void *userdata,
                                      Instance **ret, Error *err);

/* A class (flattened or a definition) as JSON (see above). */
int objjson_class_to_json(const CimClass *c, const ObjJsonOptions *opts, json_t **ret, Error *err);

/* A class definition from JSON: "__CLASS", optional "__SUPERCLASS" (null or
 * a name), "abstract", "singleton", and "properties", an object whose
 * members give each property's "type", "key", "array" and "default";
 * "origin" and the system properties are ignored. The result is a
 * definition for class_derive() (own properties; a restated inherited one is
 * checked there). resolve is needed only for embedded-object defaults and
 * may be NULL. Errors: WBEM_E_INVALID_OBJECT (shape, unknown member),
 * WBEM_E_INVALID_PROPERTY_TYPE (unknown type name), the errors of class_new
 * and class_add_property, -ENOMEM. */
int objjson_class_from_json(json_t *j, ObjJsonResolveFunc resolve, void *userdata, CimClass **ret,
                            Error *err);
