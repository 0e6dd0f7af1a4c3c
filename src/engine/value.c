/* CIM values: the type table, constructors, copies, conversions between
 * types, equality and display text. See value.h.
 *
 * Conversion (value_convert) is what stores a value into a typed property,
 * so it accepts what a client or a path may reasonably send and nothing
 * that loses information silently:
 *   - integer <- integer of any width and sign, range-checked;
 *   - integer <- real only when integral and in range (never NaN or inf);
 *   - integer <- string in decimal with an optional sign, the whole string;
 *   - real    <- integer, real (real32 range-checked; NaN and inf kept),
 *                or a decimal string ("1.5e3"; no "nan", "inf" or hex);
 *   - boolean <- boolean, or the strings "true"/"false" in any case;
 *   - string  <- string, reference or datetime (its DMTF text);
 *   - datetime <- datetime or its DMTF text; reference <- reference or any
 *     non-empty string; object <- object.
 * Arrays convert item by item; an array never becomes a scalar or back. */
#include "value.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "instance.h"
#include "mem.h"
#include "names.h"
#include "strbuf.h"

static const char *const type_names[_CIM_TYPE_MAX] = {
        [CIM_INVALID] = "invalid", [CIM_STRING] = "string",     [CIM_BOOLEAN] = "boolean",
        [CIM_SINT8] = "sint8",     [CIM_UINT8] = "uint8",       [CIM_SINT16] = "sint16",
        [CIM_UINT16] = "uint16",   [CIM_SINT32] = "sint32",     [CIM_UINT32] = "uint32",
        [CIM_SINT64] = "sint64",   [CIM_UINT64] = "uint64",     [CIM_REAL32] = "real32",
        [CIM_REAL64] = "real64",   [CIM_DATETIME] = "datetime", [CIM_REFERENCE] = "reference",
        [CIM_OBJECT] = "object",
};

const char *cim_type_name(CimType t) {
        if ((int)t <= CIM_INVALID || t >= _CIM_TYPE_MAX)
                return "invalid";
        return type_names[t];
}

CimType cim_type_from_name(const char *name) {
        if (!name)
                return CIM_INVALID;
        for (int t = CIM_INVALID + 1; t < _CIM_TYPE_MAX; t++)
                if (name_equal(name, type_names[t]))
                        return (CimType)t;
        if (name_equal(name, "ref"))
                return CIM_REFERENCE;
        return CIM_INVALID;
}

bool cim_type_is_signed(CimType t) {
        return t == CIM_SINT8 || t == CIM_SINT16 || t == CIM_SINT32 || t == CIM_SINT64;
}

bool cim_type_is_unsigned(CimType t) {
        return t == CIM_UINT8 || t == CIM_UINT16 || t == CIM_UINT32 || t == CIM_UINT64;
}

bool cim_type_is_integer(CimType t) {
        return cim_type_is_signed(t) || cim_type_is_unsigned(t);
}

bool cim_type_is_real(CimType t) {
        return t == CIM_REAL32 || t == CIM_REAL64;
}

bool cim_type_is_numeric(CimType t) {
        return cim_type_is_integer(t) || cim_type_is_real(t);
}

void cim_type_int_range(CimType t, int64_t *ret_min, uint64_t *ret_max) {
        int64_t min = 0;
        uint64_t max = 0;
        switch (t) {
        case CIM_SINT8:
                min = INT8_MIN;
                max = INT8_MAX;
                break;
        case CIM_UINT8:
                max = UINT8_MAX;
                break;
        case CIM_SINT16:
                min = INT16_MIN;
                max = INT16_MAX;
                break;
        case CIM_UINT16:
                max = UINT16_MAX;
                break;
        case CIM_SINT32:
                min = INT32_MIN;
                max = INT32_MAX;
                break;
        case CIM_UINT32:
                max = UINT32_MAX;
                break;
        case CIM_SINT64:
                min = INT64_MIN;
                max = INT64_MAX;
                break;
        case CIM_UINT64:
                max = UINT64_MAX;
                break;
        default:
                break;
        }
        if (ret_min)
                *ret_min = min;
        if (ret_max)
                *ret_max = max;
}

Value value_null(CimType t, bool is_array) {
        return (Value){ .type = t, .is_array = is_array, .is_null = true };
}

Value value_bool(bool b) {
        return (Value){ .type = CIM_BOOLEAN, .b = b };
}

Value value_sint(CimType t, int64_t v) {
        assert(cim_type_is_signed(t));
        return (Value){ .type = t, .i = v };
}

Value value_uint(CimType t, uint64_t v) {
        assert(cim_type_is_unsigned(t));
        return (Value){ .type = t, .u = v };
}

/* A real32 holds a double rounded to float precision, so that equality and
 * display agree with what a float can carry. */
Value value_real(CimType t, double v) {
        assert(cim_type_is_real(t));
        return (Value){ .type = t, .r = t == CIM_REAL32 ? (double)(float)v : v };
}

Value value_datetime(CimDatetime dt) {
        return (Value){ .type = CIM_DATETIME, .dt = dt };
}

Value value_object(struct Instance *obj) {
        if (!obj)
                return value_null(CIM_OBJECT, false);
        return (Value){ .type = CIM_OBJECT, .obj = instance_ref(obj) };
}

static int value_text(CimType t, const char *s, Value *ret) {
        if (!s) {
                *ret = value_null(t, false);
                return 0;
        }
        char *copy = mem_strdup(s);
        if (!copy)
                return -ENOMEM;
        *ret = (Value){ .type = t, .s = copy };
        return 0;
}

int value_string(const char *s, Value *ret) {
        return value_text(CIM_STRING, s, ret);
}

int value_reference(const char *path, Value *ret) {
        return value_text(CIM_REFERENCE, path, ret);
}

int value_array_new(CimType t, size_t count, Value *ret) {
        if (count > (SIZE_MAX - sizeof(ValueArray)) / sizeof(Value))
                return -ENOMEM;
        ValueArray *a = mem_malloc(sizeof(ValueArray) + count * sizeof(Value));
        if (!a)
                return -ENOMEM;
        a->count = count;
        for (size_t i = 0; i < count; i++)
                a->items[i] = value_null(t, false);
        *ret = (Value){ .type = t, .is_array = true, .arr = a };
        return 0;
}

void value_clear(Value *v) {
        if (!v->is_null) {
                if (v->is_array) {
                        for (size_t i = 0; i < v->arr->count; i++)
                                value_clear(&v->arr->items[i]);
                        mem_free(v->arr);
                } else if (v->type == CIM_STRING || v->type == CIM_REFERENCE) {
                        mem_free(v->s);
                } else if (v->type == CIM_OBJECT) {
                        instance_unref(v->obj);
                }
        }
        *v = value_null(v->type, v->is_array);
}

int value_copy(const Value *v, Value *ret) {
        if (v->is_null) {
                *ret = *v;
                return 0;
        }
        if (v->is_array) {
                Value a;
                int r = value_array_new(v->type, v->arr->count, &a);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < v->arr->count; i++) {
                        r = value_copy(&v->arr->items[i], &a.arr->items[i]);
                        if (r < 0) {
                                value_clear(&a);
                                return r;
                        }
                }
                *ret = a;
                return 0;
        }
        switch (v->type) {
        case CIM_STRING:
        case CIM_REFERENCE:
                return value_text(v->type, v->s, ret);
        case CIM_OBJECT:
                *ret = value_object(v->obj);
                return 0;
        default:
                *ret = *v;
                return 0;
        }
}

/* Shortest text that reads back as the same real (%.17g would show
 * 0.10000000000000001 for 0.1); real32 values round-trip through float. */
static void format_real(double d, bool is_real32, char buf[static 32]) {
        if (isnan(d)) {
                strcpy(buf, "NaN");
                return;
        }
        if (isinf(d)) {
                strcpy(buf, d < 0 ? "-Infinity" : "Infinity");
                return;
        }
        int max = is_real32 ? 9 : 17;
        for (int prec = 1; prec <= max; prec++) {
                snprintf(buf, 32, "%.*g", prec, d);
                double back = strtod(buf, NULL);
                if (is_real32 ? (float)back == (float)d : back == d)
                        break;
        }
        /* Whole numbers print in full ("100", not "1e+02") while the digits
         * fit the type's precision. */
        const char *e = strchr(buf, 'e');
        if (e && e[1] == '+') {
                int exp = atoi(e + 2);
                if (exp < max)
                        snprintf(buf, 32, "%.*g", exp + 1, d);
        }
}

/* A short text of a scalar for error messages, without allocating (errors
 * must be reportable when memory is short). */
static const char *brief(const Value *v, char buf[static 96]) {
        if (v->is_null)
                return "NULL";
        switch (v->type) {
        case CIM_STRING:
        case CIM_REFERENCE: {
                size_t len = strlen(v->s);
                if (len > 64)
                        snprintf(buf, 96, "%.64s...", v->s);
                else
                        snprintf(buf, 96, "%s", v->s);
                return buf;
        }
        case CIM_BOOLEAN:
                return v->b ? "TRUE" : "FALSE";
        case CIM_REAL32:
        case CIM_REAL64:
                format_real(v->r, v->type == CIM_REAL32, buf);
                return buf;
        case CIM_DATETIME:
                cim_datetime_format(&v->dt, buf);
                return buf;
        case CIM_OBJECT:
                return "(object)";
        default:
                if (cim_type_is_signed(v->type))
                        snprintf(buf, 96, "%" PRId64, v->i);
                else if (cim_type_is_unsigned(v->type))
                        snprintf(buf, 96, "%" PRIu64, v->u);
                else
                        return "?";
                return buf;
        }
}

static int mismatch(Error *err, const Value *v, CimType t, bool is_array) {
        return error_set(err, WBEM_E_TYPE_MISMATCH, "cannot convert %s%s to %s%s",
                         cim_type_name(v->type), v->is_array ? "[]" : "", cim_type_name(t),
                         is_array ? "[]" : "");
}

static int out_of_range(Error *err, const Value *v, CimType t) {
        char buf[96];
        return error_set(err, WBEM_E_TYPE_MISMATCH, "value '%s' out of range for %s", brief(v, buf),
                         cim_type_name(t));
}

static int not_valid(Error *err, const Value *v, CimType t) {
        char buf[96];
        return error_set(err, WBEM_E_TYPE_MISMATCH, "value '%s' is not a valid %s", brief(v, buf),
                         cim_type_name(t));
}

static Value make_int(CimType t, bool negative, uint64_t magnitude) {
        if (cim_type_is_unsigned(t))
                return value_uint(t, magnitude);
        /* -(INT64_MIN) is not an int64, so negate in unsigned arithmetic. */
        return value_sint(t, negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude);
}

/* Does the integer (negative, magnitude) fit in t? */
static bool int_fits(CimType t, bool negative, uint64_t magnitude) {
        int64_t min;
        uint64_t max;
        cim_type_int_range(t, &min, &max);
        if (!negative)
                return magnitude <= max;
        if (magnitude == 0)
                return true;
        return min < 0 && magnitude <= (uint64_t)0 - (uint64_t)min;
}

static int convert_to_integer(const Value *v, CimType t, Value *ret, Error *err) {
        bool negative = false;
        uint64_t magnitude;

        if (cim_type_is_signed(v->type)) {
                negative = v->i < 0;
                magnitude = negative ? (uint64_t)0 - (uint64_t)v->i : (uint64_t)v->i;
        } else if (cim_type_is_unsigned(v->type)) {
                magnitude = v->u;
        } else if (cim_type_is_real(v->type)) {
                double d = v->r;
                if (!isfinite(d))
                        return not_valid(err, v, t);
                if (d != trunc(d))
                        return not_valid(err, v, t);
                /* 2^64 and -2^63 are exact doubles; compare before casting so
                 * the cast is always defined. */
                if (d >= 18446744073709551616.0 || d < -9223372036854775808.0)
                        return out_of_range(err, v, t);
                negative = d < 0;
                magnitude = negative ? (uint64_t)0 - (uint64_t)(int64_t)d : (uint64_t)d;
        } else if (v->type == CIM_STRING) {
                const char *p = v->s;
                if (*p == '+' || *p == '-')
                        negative = *p++ == '-';
                if (!*p)
                        return not_valid(err, v, t);
                magnitude = 0;
                bool overflow = false;
                for (; *p; p++) {
                        if (*p < '0' || *p > '9')
                                return not_valid(err, v, t);
                        unsigned digit = (unsigned)(*p - '0');
                        if (magnitude > (UINT64_MAX - digit) / 10)
                                overflow = true;
                        else
                                magnitude = magnitude * 10 + digit;
                }
                if (overflow)
                        return out_of_range(err, v, t);
        } else {
                return mismatch(err, v, t, false);
        }
        if (!int_fits(t, negative, magnitude))
                return out_of_range(err, v, t);
        *ret = make_int(t, negative, magnitude);
        return 0;
}

/* A decimal real: [sign] digits [. digits] [e [sign] digits], with at least
 * one digit in the mantissa. strtod alone would also take "nan", "inf" and
 * hexadecimal, which are not numbers a client writes in decimal. */
static bool is_decimal_real(const char *s) {
        const char *p = s;
        size_t digits = 0;
        if (*p == '+' || *p == '-')
                p++;
        for (; *p >= '0' && *p <= '9'; p++)
                digits++;
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9'; p++)
                        digits++;
        if (digits == 0)
                return false;
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                if (!(*p >= '0' && *p <= '9'))
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        return *p == '\0';
}

static int convert_to_real(const Value *v, CimType t, Value *ret, Error *err) {
        double d;
        if (cim_type_is_signed(v->type))
                d = (double)v->i;
        else if (cim_type_is_unsigned(v->type))
                d = (double)v->u;
        else if (cim_type_is_real(v->type))
                d = v->r;
        else if (v->type == CIM_STRING) {
                if (!is_decimal_real(v->s))
                        return not_valid(err, v, t);
                errno = 0;
                d = strtod(v->s, NULL);
                if (isinf(d))
                        return out_of_range(err, v, t);
        } else
                return mismatch(err, v, t, false);

        if (t == CIM_REAL32 && isfinite(d) && isinf((float)d))
                return out_of_range(err, v, t);
        *ret = value_real(t, d);
        return 0;
}

static int convert_scalar(const Value *v, CimType t, Value *ret, Error *err) {
        if (cim_type_is_integer(t))
                return convert_to_integer(v, t, ret, err);
        if (cim_type_is_real(t))
                return convert_to_real(v, t, ret, err);

        switch (t) {
        case CIM_BOOLEAN:
                if (v->type == CIM_BOOLEAN) {
                        *ret = *v;
                        return 0;
                }
                if (v->type == CIM_STRING) {
                        if (name_equal(v->s, "true") || name_equal(v->s, "false")) {
                                *ret = value_bool(name_equal(v->s, "true"));
                                return 0;
                        }
                        return not_valid(err, v, t);
                }
                return mismatch(err, v, t, false);
        case CIM_STRING:
                if (v->type == CIM_STRING || v->type == CIM_REFERENCE)
                        return value_string(v->s, ret);
                if (v->type == CIM_DATETIME) {
                        char buf[26];
                        cim_datetime_format(&v->dt, buf);
                        return value_string(buf, ret);
                }
                return mismatch(err, v, t, false);
        case CIM_DATETIME:
                if (v->type == CIM_DATETIME) {
                        *ret = *v;
                        return 0;
                }
                if (v->type == CIM_STRING) {
                        CimDatetime dt;
                        Error detail;
                        if (cim_datetime_parse(v->s, &dt, &detail) != 0) {
                                char buf[96];
                                return error_set(err, WBEM_E_TYPE_MISMATCH,
                                                 "value '%s' is not a valid datetime (%s)",
                                                 brief(v, buf), detail.message);
                        }
                        *ret = value_datetime(dt);
                        return 0;
                }
                return mismatch(err, v, t, false);
        case CIM_REFERENCE:
                if (v->type == CIM_STRING || v->type == CIM_REFERENCE) {
                        if (!*v->s)
                                return not_valid(err, v, t);
                        return value_reference(v->s, ret);
                }
                return mismatch(err, v, t, false);
        case CIM_OBJECT:
                if (v->type == CIM_OBJECT) {
                        *ret = value_object(v->obj);
                        return 0;
                }
                return mismatch(err, v, t, false);
        default:
                return mismatch(err, v, t, false);
        }
}

int value_convert(const Value *v, CimType t, bool is_array, Value *ret, Error *err) {
        if ((int)t <= CIM_INVALID || t >= _CIM_TYPE_MAX)
                return mismatch(err, v, t, is_array);
        if (v->is_null) {
                *ret = value_null(t, is_array);
                return 0;
        }
        if (v->is_array != is_array)
                return mismatch(err, v, t, is_array);
        if (!is_array) {
                /* Scalar items of an array are never marked is_array, but an
                 * item might be NULL: handled above. */
                return convert_scalar(v, t, ret, err);
        }

        Value a;
        int r = value_array_new(t, v->arr->count, &a);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->arr->count; i++) {
                const Value *item = &v->arr->items[i];
                if (item->is_null)
                        continue;
                r = convert_scalar(item, t, &a.arr->items[i], err);
                if (r != 0) {
                        if (r > 0 && err) {
                                char msg[sizeof(err->message)];
                                snprintf(msg, sizeof(msg), "%s", err->message);
                                error_set(err, r, "item %zu: %s", i, msg);
                        }
                        value_clear(&a);
                        return r;
                }
        }
        *ret = a;
        return 0;
}

static bool instance_equal(const Instance *a, const Instance *b) {
        if (a == b)
                return true;
        if (!name_equal(a->cls->name, b->cls->name) || a->cls->n_props != b->cls->n_props)
                return false;
        for (size_t i = 0; i < a->cls->n_props; i++)
                if (!value_equal(&a->values[i], &b->values[i]))
                        return false;
        return true;
}

/* Reals compare with ==, except that NaN equals NaN so that an unchanged
 * value compares equal to itself (modification events rely on it). */
bool value_equal(const Value *a, const Value *b) {
        if (a->type != b->type || a->is_array != b->is_array)
                return false;
        if (a->is_null || b->is_null)
                return a->is_null && b->is_null;
        if (a->is_array) {
                if (a->arr->count != b->arr->count)
                        return false;
                for (size_t i = 0; i < a->arr->count; i++)
                        if (!value_equal(&a->arr->items[i], &b->arr->items[i]))
                                return false;
                return true;
        }
        switch (a->type) {
        case CIM_STRING:
        case CIM_REFERENCE:
                return strcmp(a->s, b->s) == 0;
        case CIM_BOOLEAN:
                return a->b == b->b;
        case CIM_REAL32:
        case CIM_REAL64:
                return a->r == b->r || (isnan(a->r) && isnan(b->r));
        case CIM_DATETIME:
                return a->dt.is_interval == b->dt.is_interval && a->dt.usec == b->dt.usec;
        case CIM_OBJECT:
                return instance_equal(a->obj, b->obj);
        default:
                if (cim_type_is_signed(a->type))
                        return a->i == b->i;
                if (cim_type_is_unsigned(a->type))
                        return a->u == b->u;
                return false;
        }
}

static void append_scalar_text(StrBuf *buf, const Value *v) {
        char tmp[96];
        if (v->is_null) {
                strbuf_append(buf, "NULL");
                return;
        }
        switch (v->type) {
        case CIM_STRING:
        case CIM_REFERENCE:
                strbuf_append(buf, v->s);
                return;
        case CIM_OBJECT:
                strbuf_printf(buf, "instance of %s", v->obj->cls->name);
                return;
        default:
                strbuf_append(buf, brief(v, tmp));
                return;
        }
}

char *value_to_text(const Value *v) {
        StrBuf buf = STRBUF_INIT;
        if (v->is_array && !v->is_null) {
                strbuf_append_char(&buf, '{');
                for (size_t i = 0; i < v->arr->count; i++) {
                        if (i > 0)
                                strbuf_append_char(&buf, ',');
                        append_scalar_text(&buf, &v->arr->items[i]);
                }
                strbuf_append_char(&buf, '}');
        } else
                append_scalar_text(&buf, v);
        return strbuf_steal(&buf);
}
