/* CIM values: the typed data that properties, keys and query literals hold.
 *
 * A Value is a small tagged struct passed by value and owned by whoever holds
 * it: value_clear() releases what it points to (strings, arrays, embedded
 * objects), value_copy() makes an independent copy (embedded objects are
 * shared by reference count; instances are immutable once shared).
 *
 * NULL is a state of any type: a property of type uint32 can be NULL, and
 * keeps its type. Arrays hold scalar items of the array's type; an array
 * value can itself be NULL (no array) or empty (zero items). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum CimType {
        CIM_INVALID = 0,
        CIM_STRING,
        CIM_BOOLEAN,
        CIM_SINT8,
        CIM_UINT8,
        CIM_SINT16,
        CIM_UINT16,
        CIM_SINT32,
        CIM_UINT32,
        CIM_SINT64,
        CIM_UINT64,
        CIM_REAL32,
        CIM_REAL64,
        CIM_DATETIME,
        CIM_REFERENCE, /* an object path, kept as its text */
        CIM_OBJECT,    /* an embedded instance */
        _CIM_TYPE_MAX,
} CimType;

/* "uint32", "datetime", ... as written in class definitions and JSON. */
const char *cim_type_name(CimType t);
/* Case-insensitive; also accepts "object" and "ref"/"reference". Returns
 * CIM_INVALID when unknown. */
CimType cim_type_from_name(const char *name);
bool cim_type_is_signed(CimType t);   /* sint8..sint64 */
bool cim_type_is_unsigned(CimType t); /* uint8..uint64 */
bool cim_type_is_integer(CimType t);
bool cim_type_is_real(CimType t);
bool cim_type_is_numeric(CimType t);
/* Inclusive range of an integer type, for range checks on conversion. */
void cim_type_int_range(CimType t, int64_t *ret_min, uint64_t *ret_max);

/* A CIM datetime: either a point in time or an interval (duration).
 * Text forms (DMTF): timestamp "yyyymmddHHMMSS.mmmmmmsUUU" where s is + or -
 * and UUU the offset from UTC in minutes; interval "ddddddddHHMMSS.mmmmmm:000".
 * Points are kept as microseconds since 1970-01-01T00:00:00Z plus the offset
 * they were written with (for display only: comparisons use usec). */
typedef struct CimDatetime {
        bool is_interval;
        int16_t utc_offset_min; /* timestamps only */
        int64_t usec;           /* timestamp: since the epoch, UTC; interval: length */
} CimDatetime;

/* Parse the 25-character DMTF text; returns 0 or WBEM_E_INVALID_PARAMETER
 * (with a message in err saying which field is wrong). */
int cim_datetime_parse(const char *text, CimDatetime *ret, Error *err);
/* Write the DMTF text (25 characters + NUL) into buf. */
void cim_datetime_format(const CimDatetime *dt, char buf[static 26]);
CimDatetime cim_datetime_from_unix_usec(int64_t usec, int16_t utc_offset_min);

struct Instance;
struct ValueArray;

typedef struct Value {
        CimType type;
        bool is_array;
        bool is_null;
        union {
                bool b;
                int64_t i; /* all signed integer types */
                uint64_t u; /* all unsigned integer types */
                double r;  /* real32 and real64 */
                char *s;   /* string and reference; owned, UTF-8 */
                CimDatetime dt;
                struct Instance *obj; /* one reference owned */
                struct ValueArray *arr; /* when is_array and not is_null */
        };
} Value;

typedef struct ValueArray {
        size_t count;
        Value items[]; /* scalar values of the array's type; items may be NULL */
} ValueArray;

/* Constructors for scalars. Those that copy a string return -ENOMEM on
 * failure and leave *ret untouched; the others cannot fail. */
Value value_null(CimType t, bool is_array);
Value value_bool(bool b);
Value value_sint(CimType t, int64_t v);   /* t: sint8..sint64 */
Value value_uint(CimType t, uint64_t v);  /* t: uint8..uint64 */
Value value_real(CimType t, double v);    /* t: real32, real64 */
Value value_datetime(CimDatetime dt);
/* Takes a new reference to obj. */
Value value_object(struct Instance *obj);
int value_string(const char *s, Value *ret);
int value_reference(const char *path, Value *ret);
/* An array of `count` NULL items of type t, to be filled in place. */
int value_array_new(CimType t, size_t count, Value *ret);

void value_clear(Value *v); /* leaves a NULL of the same type */
int value_copy(const Value *v, Value *ret);

/* Convert v to type t (and array-ness is_array) for storing in a property:
 * integers between integer types with range checks, integers to reals,
 * numeric strings to numbers, strings to datetimes, strings to references.
 * Returns 0, -ENOMEM, or WBEM_E_TYPE_MISMATCH with a message saying what
 * could not be converted. NULL converts to NULL of the target type. */
int value_convert(const Value *v, CimType t, bool is_array, Value *ret, Error *err);

/* Equality of two values of the same type and array-ness (strings compared
 * exactly; use value_compare for WQL semantics). NULL equals NULL. */
bool value_equal(const Value *a, const Value *b);

/* Text form for display: numbers in decimal (reals with %.17g, shortest
 * round-trip form), booleans TRUE / FALSE, datetimes in DMTF form, strings
 * and references as they are, NULL as "NULL", arrays as "{a,b}", embedded
 * objects as "instance of Class". Returns a new string or NULL on
 * out-of-memory. */
char *value_to_text(const Value *v);
