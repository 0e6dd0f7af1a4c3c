/* CIM objects as JSON: the codec between the object model and jansson, used
 * on the wire and in the repository. See objjson.h for the format.
 *
 * Every jansson constructor returns NULL on failure. To be able to read a
 * NULL as out-of-memory (and not as "invalid UTF-8"), text is checked here
 * first and then handed to the *_nocheck variants. */
#include "objjson.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "strbuf.h"

/* Prepend "prefix: " to the message of a positive status so that an error
 * deep in a nested value names where it happened ("property 'Tags': item 2:
 * ..."). Negative errnos carry no message and pass through. */
static int error_prefix(Error *err, int r, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int error_prefix(Error *err, int r, const char *fmt, ...) {
        if (r <= 0 || !err)
                return r;
        char prefix[sizeof(err->message)];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        if (n <= 0)
                return r;
        size_t cap = sizeof(err->message) - 1;
        size_t plen = (size_t)n < cap ? (size_t)n : cap;
        size_t olen = strnlen(err->message, cap);
        if (plen + olen > cap) {
                /* The innermost part says what is wrong: keep it whole and
                 * mark the outer context as cut, once. */
                if (strncmp(err->message, "...: ", 5) == 0 || olen + 5 > cap)
                        return r;
                memcpy(prefix, "...: ", 5);
                plen = 5;
        }
        memmove(err->message + plen, err->message, olen);
        memcpy(err->message, prefix, plen);
        err->message[plen + olen] = '\0';
        return r;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const char *s) {
        const unsigned char *p = (const unsigned char *)s;
        while (*p) {
                unsigned c = *p;
                size_t n;
                uint32_t cp;
                if (c < 0x80) {
                        p++;
                        continue;
                } else if (c >= 0xc2 && c <= 0xdf) {
                        n = 1;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 2;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 3;
                        cp = c & 0x07;
                } else
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((p[k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[k] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                p += n + 1;
        }
        return true;
}

#define _cleanup_json_ _cleanup_(json_decrefp)

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);
DEFINE_TRIVIAL_CLEANUP_FUNC(CimClass *, class_unref);

/* Set a member; the value is taken over even on failure (jansson's rule), so
 * a NULL value (a failed constructor) or a failed insert is out-of-memory. */
static int object_set(json_t *o, const char *key, json_t *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_set_new_nocheck(o, key, v) < 0)
                return -ENOMEM;
        return 0;
}

static json_t *string_or_null(const char *s) {
        return s ? json_string_nocheck(s) : json_null();
}

/* Output goes to a StrBuf, whose failure sticks: a piece whose failure
 * jansson ignores still fails the whole. */
static int dump_append(const char *buffer, size_t size, void *data) {
        StrBuf *b = data;
        strbuf_append_len(b, buffer, size);
        return strbuf_failed(b) ? -1 : 0;
}

int objjson_dump(const json_t *j, size_t flags, char **ret) {
        StrBuf b = STRBUF_INIT;
        int r = json_dump_callback(j, dump_append, &b, flags);
        if (r < 0 || strbuf_failed(&b)) {
                strbuf_done(&b);
                return -ENOMEM;
        }
        char *s = strbuf_steal(&b);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int instance_to_json_depth(const Instance *i, const ObjJsonOptions *opts, unsigned depth,
                                  json_t **ret, Error *err);
/* How values are read: the class resolver, and whether embedded objects are
 * read leniently (stored data whose embedded classes may have changed). */
typedef struct JsonReader {
        ObjJsonResolveFunc resolve;
        void *userdata;
        bool lenient_embedded;
} JsonReader;

static int instance_from_json_depth(json_t *j, const JsonReader *rd, unsigned depth, Instance **ret,
                                    Error *err);

/* nested: the options for embedded objects (the caller's host and form,
 * no select list); NULL for the defaults. */
static int scalar_to_json(const Value *v, const ObjJsonOptions *nested, unsigned depth,
                          json_t **ret, Error *err) {
        char buf[32];
        json_t *j;

        if (v->is_null) {
                *ret = json_null();
                return 0;
        }
        switch (v->type) {
        case CIM_STRING:
        case CIM_REFERENCE:
                if (!utf8_valid(v->s))
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "the string is not valid UTF-8");
                j = json_string_nocheck(v->s);
                break;
        case CIM_BOOLEAN:
                j = json_boolean(v->b);
                break;
        case CIM_SINT8:
        case CIM_SINT16:
        case CIM_SINT32:
                j = json_integer((json_int_t)v->i);
                break;
        case CIM_UINT8:
        case CIM_UINT16:
        case CIM_UINT32:
                j = json_integer((json_int_t)v->u);
                break;
        case CIM_SINT64:
                snprintf(buf, sizeof(buf), "%" PRId64, v->i);
                j = json_string_nocheck(buf);
                break;
        case CIM_UINT64:
                snprintf(buf, sizeof(buf), "%" PRIu64, v->u);
                j = json_string_nocheck(buf);
                break;
        case CIM_REAL32:
        case CIM_REAL64:
                if (isnan(v->r))
                        j = json_string_nocheck("NaN");
                else if (isinf(v->r))
                        j = json_string_nocheck(v->r > 0 ? "Infinity" : "-Infinity");
                else
                        j = json_real(v->r);
                break;
        case CIM_DATETIME:
                cim_datetime_format(&v->dt, buf);
                j = json_string_nocheck(buf);
                break;
        case CIM_OBJECT:
                if (!v->obj) {
                        *ret = json_null();
                        return 0;
                }
                return instance_to_json_depth(v->obj, nested, depth + 1, ret, err);
        default:
                return error_set(err, WBEM_E_INVALID_PARAMETER, "a value of invalid type %d",
                                 (int)v->type);
        }
        if (!j)
                return -ENOMEM;
        *ret = j;
        return 0;
}

static int value_to_json_depth(const Value *v, const ObjJsonOptions *nested, unsigned depth,
                               json_t **ret, Error *err) {
        if (!v->is_array)
                return scalar_to_json(v, nested, depth, ret, err);
        if (v->is_null || !v->arr) {
                *ret = json_null();
                return 0;
        }
        _cleanup_json_ json_t *a = json_array();
        if (!a)
                return -ENOMEM;
        for (size_t k = 0; k < v->arr->count; k++) {
                /* Items are scalars of the array's type; say so explicitly
                 * so a sloppily built array cannot recurse. */
                Value item = v->arr->items[k];
                item.type = v->type;
                item.is_array = false;
                json_t *ij = NULL;
                int r = scalar_to_json(&item, nested, depth, &ij, err);
                if (r != 0)
                        return error_prefix(err, r, "item %zu: ", k);
                if (json_array_append_new(a, ij) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

int objjson_value_to_json(const Value *v, json_t **ret, Error *err) {
        return value_to_json_depth(v, NULL, 0, ret, err);
}

static bool select_has(const ObjJsonOptions *opts, const char *name) {
        if (!opts || !opts->select)
                return true;
        for (size_t k = 0; k < opts->n_select; k++)
                if (name_equal(opts->select[k], name))
                        return true;
        return false;
}

static int name_check(const char *what, const char *name, Error *err) {
        if (!name || !utf8_valid(name))
                return error_set(err, WBEM_E_INVALID_PARAMETER, "%s name is not valid UTF-8", what);
        return 0;
}

/* The system properties of an instance, in WMI's order. */
static int instance_system_properties(const Instance *i, const ObjJsonOptions *opts, json_t *o) {
        const CimClass *c = i->cls;
        const char *host = opts ? opts->host : NULL;
        int r;

        r = object_set(o, "__GENUS", json_integer(2));
        if (r < 0)
                return r;
        r = object_set(o, "__CLASS", json_string_nocheck(c->name));
        if (r < 0)
                return r;
        r = object_set(o, "__SUPERCLASS", string_or_null(c->superclass));
        if (r < 0)
                return r;
        json_t *d = json_array();
        r = object_set(o, "__DERIVATION", d);
        if (r < 0)
                return r;
        for (size_t k = 0; k < c->n_derivation; k++)
                if (json_array_append_new(d, json_string_nocheck(c->derivation[k])) < 0)
                        return -ENOMEM;
        if (host) {
                r = object_set(o, "__SERVER", json_string_nocheck(host));
                if (r < 0)
                        return r;
        }
        r = object_set(o, "__NAMESPACE", string_or_null(i->ns));
        if (r < 0)
                return r;

        _cleanup_free_ char *relpath = NULL;
        r = instance_validate_keys(i, NULL);
        if (r < 0)
                return r;
        if (r == 0) {
                relpath = instance_relpath(i);
                if (!relpath)
                        return -ENOMEM;
        }
        r = object_set(o, "__RELPATH", string_or_null(relpath));
        if (r < 0)
                return r;
        if (relpath && i->ns && host) {
                _cleanup_free_ char *path = instance_path(i, host);
                if (!path)
                        return -ENOMEM;
                r = object_set(o, "__PATH", json_string_nocheck(path));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What both writers check before writing an instance: the nesting depth,
 * and that the names going out (class, host, namespace) are well formed.
 * 0 or an error (err set). */
static int instance_check(const Instance *i, const ObjJsonOptions *opts, unsigned depth,
                          Error *err) {
        if (depth > OBJJSON_MAX_DEPTH)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "embedded objects nest deeper than %d levels", OBJJSON_MAX_DEPTH);
        int r = name_check("class", i->cls->name, err);
        if (r != 0)
                return r;
        r = name_check("host", opts && opts->host ? opts->host : "", err);
        if (r != 0)
                return r;
        return name_check("namespace", i->ns ? i->ns : "", err);
}

static int instance_to_json_depth(const Instance *i, const ObjJsonOptions *opts, unsigned depth,
                                  json_t **ret, Error *err) {
        const CimClass *c = i->cls;
        int r;

        r = instance_check(i, opts, depth, err);
        if (r != 0)
                return r;

        ObjJsonOptions nested = {
                .host = opts ? opts->host : NULL,
                .storage = opts && opts->storage,
        };
        _cleanup_json_ json_t *o = json_object();
        if (!o)
                return -ENOMEM;
        if (opts && opts->storage)
                r = object_set(o, "__CLASS", json_string_nocheck(c->name));
        else
                r = instance_system_properties(i, opts, o);
        if (r < 0)
                return r;

        for (size_t k = 0; k < c->n_props; k++) {
                const CimProperty *p = &c->props[k];
                if (!select_has(opts, p->name))
                        continue;
                r = name_check("property", p->name, err);
                if (r != 0)
                        return r;
                json_t *v = NULL;
                r = value_to_json_depth(&i->values[k], &nested, depth, &v, err);
                if (r != 0)
                        return error_prefix(err, r, "property '%s': ", p->name);
                r = object_set(o, p->name, v);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int objjson_instance_to_json(const Instance *i, const ObjJsonOptions *opts, json_t **ret,
                             Error *err) {
        return instance_to_json_depth(i, opts, 0, ret, err);
}

/* ---- the same, written straight as text ------------------------------------ */

/* A JSON string: '"', '\\' and control characters escaped, the rest (valid
 * UTF-8, checked by the caller) as it is, as jansson writes it. */
/* strbuf_append_len() with its common case inline: the text writer
 * appends many short pieces per object (a hot path: every event). */
static inline void text_append(StrBuf *b, const char *s, size_t n) {
        if (!b->failed && b->len + n < b->cap) {
                memcpy(b->data + b->len, s, n);
                b->len += n;
                b->data[b->len] = '\0';
                return;
        }
        strbuf_append_len(b, s, n);
}

static inline void text_char(StrBuf *b, char c) {
        if (!b->failed && b->len + 1 < b->cap) {
                b->data[b->len++] = c;
                b->data[b->len] = '\0';
                return;
        }
        strbuf_append_len(b, &c, 1);
}

static void text_string(StrBuf *b, const char *s) {
        static const char hex[] = "0123456789abcdef";
        const char *run = s;
        const char *p = s;

        text_char(b, '"');
        for (; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                text_append(b, run, (size_t)(p - run));
                run = p + 1;
                switch (c) {
                case '"':
                        text_append(b, "\\\"", 2);
                        break;
                case '\\':
                        text_append(b, "\\\\", 2);
                        break;
                case '\b':
                        text_append(b, "\\b", 2);
                        break;
                case '\f':
                        text_append(b, "\\f", 2);
                        break;
                case '\n':
                        text_append(b, "\\n", 2);
                        break;
                case '\r':
                        text_append(b, "\\r", 2);
                        break;
                case '\t':
                        text_append(b, "\\t", 2);
                        break;
                default: {
                        char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                        text_append(b, u, sizeof(u));
                        break;
                }
                }
        }
        text_append(b, run, (size_t)(p - run));
        text_char(b, '"');
}

static void text_string_or_null(StrBuf *b, const char *s) {
        if (s)
                text_string(b, s);
        else
                text_append(b, "null", 4);
}

/* Decimal digits of v, without printf (a hot path). */
static void text_u64(StrBuf *b, uint64_t v, bool negative) {
        char buf[24];
        size_t at = sizeof(buf);
        do {
                buf[--at] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        if (negative)
                buf[--at] = '-';
        text_append(b, buf + at, sizeof(buf) - at);
}

static void text_i64(StrBuf *b, int64_t v) {
        /* the magnitude of INT64_MIN does not fit an int64_t */
        text_u64(b, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

/* "name": */
static void text_key(StrBuf *b, const char *name, bool *first) {
        if (!*first)
                text_char(b, ',');
        *first = false;
        text_string(b, name);
        text_char(b, ':');
}

static int instance_to_text_depth(const Instance *i, const ObjJsonOptions *opts, unsigned depth,
                                  StrBuf *b, Error *err);

/* As scalar_to_json. */
static int scalar_to_text(const Value *v, const ObjJsonOptions *nested, unsigned depth, StrBuf *b,
                          Error *err) {
        char buf[40];

        if (v->is_null) {
                text_append(b, "null", 4);
                return 0;
        }
        switch (v->type) {
        case CIM_STRING:
        case CIM_REFERENCE:
                if (!utf8_valid(v->s))
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "the string is not valid UTF-8");
                text_string(b, v->s);
                return 0;
        case CIM_BOOLEAN:
                if (v->b)
                        text_append(b, "true", 4);
                else
                        text_append(b, "false", 5);
                return 0;
        case CIM_SINT8:
        case CIM_SINT16:
        case CIM_SINT32:
                text_i64(b, v->i);
                return 0;
        case CIM_UINT8:
        case CIM_UINT16:
        case CIM_UINT32:
                text_u64(b, v->u, false);
                return 0;
        case CIM_SINT64:
                text_char(b, '"');
                text_i64(b, v->i);
                text_char(b, '"');
                return 0;
        case CIM_UINT64:
                text_char(b, '"');
                text_u64(b, v->u, false);
                text_char(b, '"');
                return 0;
        case CIM_REAL32:
        case CIM_REAL64:
                if (isnan(v->r)) {
                        strbuf_append(b, "\"NaN\"");
                } else if (isinf(v->r)) {
                        strbuf_append(b, v->r > 0 ? "\"Infinity\"" : "\"-Infinity\"");
                } else {
                        /* jansson's form: 17 digits, always a real */
                        int n = snprintf(buf, sizeof(buf), "%.17g", v->r);
                        if (n <= 0 || (size_t)n >= sizeof(buf))
                                return -ENOMEM;
                        text_append(b, buf, (size_t)n);
                        if (!strpbrk(buf, ".eEn"))
                                text_append(b, ".0", 2);
                }
                return 0;
        case CIM_DATETIME:
                cim_datetime_format(&v->dt, buf);
                text_string(b, buf);
                return 0;
        case CIM_OBJECT:
                if (!v->obj) {
                        text_append(b, "null", 4);
                        return 0;
                }
                return instance_to_text_depth(v->obj, nested, depth + 1, b, err);
        default:
                return error_set(err, WBEM_E_INVALID_PARAMETER, "a value of invalid type %d",
                                 (int)v->type);
        }
}

/* As value_to_json_depth. */
static int value_to_text_depth(const Value *v, const ObjJsonOptions *nested, unsigned depth,
                               StrBuf *b, Error *err) {
        if (!v->is_array)
                return scalar_to_text(v, nested, depth, b, err);
        if (v->is_null || !v->arr) {
                text_append(b, "null", 4);
                return 0;
        }
        text_char(b, '[');
        for (size_t k = 0; k < v->arr->count; k++) {
                Value item = v->arr->items[k];
                item.type = v->type;
                item.is_array = false;
                if (k > 0)
                        text_char(b, ',');
                int r = scalar_to_text(&item, nested, depth, b, err);
                if (r != 0)
                        return error_prefix(err, r, "item %zu: ", k);
        }
        text_char(b, ']');
        return 0;
}

/* As instance_system_properties. */
static int instance_system_properties_text(const Instance *i, const ObjJsonOptions *opts,
                                           StrBuf *b, bool *first) {
        const CimClass *c = i->cls;
        const char *host = opts ? opts->host : NULL;

        /* always the first members: their keys written as one piece */
        static const char head[] = "\"__GENUS\":2,\"__CLASS\":";
        text_append(b, head, sizeof(head) - 1);
        *first = false;
        text_string(b, c->name);
        static const char super[] = ",\"__SUPERCLASS\":";
        text_append(b, super, sizeof(super) - 1);
        text_string_or_null(b, c->superclass);
        static const char derivation[] = ",\"__DERIVATION\":[";
        text_append(b, derivation, sizeof(derivation) - 1);
        for (size_t k = 0; k < c->n_derivation; k++) {
                if (k > 0)
                        text_char(b, ',');
                text_string(b, c->derivation[k]);
        }
        text_char(b, ']');
        if (host) {
                text_key(b, "__SERVER", first);
                text_string(b, host);
        }
        text_key(b, "__NAMESPACE", first);
        text_string_or_null(b, i->ns);

        _cleanup_free_ char *relpath = NULL;
        int r = instance_validate_keys(i, NULL);
        if (r < 0)
                return r;
        if (r == 0) {
                relpath = instance_relpath(i);
                if (!relpath)
                        return -ENOMEM;
        }
        text_key(b, "__RELPATH", first);
        text_string_or_null(b, relpath);
        if (relpath && i->ns && host) {
                _cleanup_free_ char *path = instance_path(i, host);
                if (!path)
                        return -ENOMEM;
                text_key(b, "__PATH", first);
                text_string(b, path);
        }
        return 0;
}

/* As instance_to_json_depth. */
static int instance_to_text_depth(const Instance *i, const ObjJsonOptions *opts, unsigned depth,
                                  StrBuf *b, Error *err) {
        const CimClass *c = i->cls;
        bool first = true;
        int r;

        r = instance_check(i, opts, depth, err);
        if (r != 0)
                return r;

        ObjJsonOptions nested = {
                .host = opts ? opts->host : NULL,
                .storage = opts && opts->storage,
        };
        text_char(b, '{');
        if (opts && opts->storage) {
                text_key(b, "__CLASS", &first);
                text_string(b, c->name);
        } else {
                r = instance_system_properties_text(i, opts, b, &first);
                if (r < 0)
                        return r;
        }
        for (size_t k = 0; k < c->n_props; k++) {
                const CimProperty *p = &c->props[k];
                if (!select_has(opts, p->name))
                        continue;
                r = name_check("property", p->name, err);
                if (r != 0)
                        return r;
                text_key(b, p->name, &first);
                r = value_to_text_depth(&i->values[k], &nested, depth, b, err);
                if (r != 0)
                        return error_prefix(err, r, "property '%s': ", p->name);
        }
        text_char(b, '}');
        return strbuf_failed(b) ? -ENOMEM : 0;
}

int objjson_instance_to_text(const Instance *i, const ObjJsonOptions *opts, StrBuf *b,
                             Error *err) {
        int r = instance_to_text_depth(i, opts, 0, b, err);
        if (r == 0 && strbuf_failed(b))
                r = -ENOMEM;
        return r;
}

static const char *json_type_text(const json_t *j) {
        switch (json_typeof(j)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
                return "null";
        }
        return "something unknown";
}

/* 2^63 and 2^64 exactly, as doubles. */
#define TWO_POW_63 9223372036854775808.0
#define TWO_POW_64 18446744073709551616.0

/* A JSON number that is not an integer in jansson's sense (1.0, 1e3, 2^63)
 * read for an integer property: integral values within 64 bits are taken as
 * an integer of the right sign for value_convert's range check. */
static int real_as_integer(double x, CimType t, Value *ret, Error *err) {
        if (!isfinite(x) || x != floor(x))
                return error_set(err, WBEM_E_TYPE_MISMATCH,
                                 "%.17g is not an integer (property type %s)", x, cim_type_name(t));
        if (x >= -TWO_POW_63 && x < TWO_POW_63)
                *ret = value_sint(CIM_SINT64, (int64_t)x);
        else if (x >= 0 && x < TWO_POW_64)
                *ret = value_uint(CIM_UINT64, (uint64_t)x);
        else
                return fabs(x) < 1e20 ? error_set(err, WBEM_E_TYPE_MISMATCH,
                                                  "%.0f is beyond the 64-bit integer range", x)
                                      : error_set(err, WBEM_E_TYPE_MISMATCH,
                                                  "%.17g is beyond the 64-bit integer range", x);
        return 0;
}

static bool real_special(const char *s, double *ret) {
        if (strcmp(s, "NaN") == 0)
                *ret = NAN;
        else if (strcmp(s, "Infinity") == 0)
                *ret = INFINITY;
        else if (strcmp(s, "-Infinity") == 0)
                *ret = -INFINITY;
        else
                return false;
        return true;
}

/* A JSON string (s NUL-terminated, len its JSON length) as the value to
 * convert for a property of type t. */
static int string_value(const char *s, size_t len, CimType t, Value *ret, Error *err) {
        double special;

        if (strlen(s) != len)
                return error_set(err, WBEM_E_TYPE_MISMATCH, "the string contains a NUL character");
        if (cim_type_is_real(t) && real_special(s, &special)) {
                *ret = value_real(CIM_REAL64, special);
                return 0;
        }
        return value_string(s, ret);
}

static int scalar_from_json(json_t *j, CimType t, const JsonReader *rd, unsigned depth, Value *ret,
                            Error *err) {
        Value tmp;
        int r;

        switch (json_typeof(j)) {
        case JSON_NULL:
                *ret = value_null(t, false);
                return 0;
        case JSON_TRUE:
        case JSON_FALSE:
                tmp = value_bool(json_is_true(j));
                break;
        case JSON_INTEGER:
                tmp = value_sint(CIM_SINT64, (int64_t)json_integer_value(j));
                break;
        case JSON_REAL:
                if (cim_type_is_integer(t)) {
                        r = real_as_integer(json_real_value(j), t, &tmp, err);
                        if (r != 0)
                                return r;
                } else
                        tmp = value_real(CIM_REAL64, json_real_value(j));
                break;
        case JSON_STRING:
                r = string_value(json_string_value(j), json_string_length(j), t, &tmp, err);
                if (r != 0)
                        return r;
                break;
        case JSON_OBJECT: {
                if (t != CIM_OBJECT)
                        return error_set(err, WBEM_E_TYPE_MISMATCH,
                                         "an object is not a value of type %s", cim_type_name(t));
                Instance *obj = NULL;
                r = instance_from_json_depth(j, rd, depth + 1, &obj, err);
                if (r > 0 && rd->lenient_embedded) {
                        /* its class is gone or no longer fits: NULL */
                        *ret = value_null(CIM_OBJECT, false);
                        return 0;
                }
                if (r != 0)
                        return r;
                *ret = value_object(obj);
                instance_unref(obj);
                return 0;
        }
        case JSON_ARRAY:
        default:
                return error_set(err, WBEM_E_TYPE_MISMATCH, "%s is not a value of type %s",
                                 json_type_text(j), cim_type_name(t));
        }
        r = value_convert(&tmp, t, false, ret, err);
        value_clear(&tmp);
        return r;
}

static int value_from_json_depth(json_t *j, CimType t, bool is_array, const JsonReader *rd,
                                 unsigned depth, Value *ret, Error *err) {
        if (t <= CIM_INVALID || t >= _CIM_TYPE_MAX)
                return error_set(err, WBEM_E_INVALID_PROPERTY_TYPE, "invalid property type %d",
                                 (int)t);
        if (!is_array) {
                if (json_is_array(j))
                        return error_set(err, WBEM_E_TYPE_MISMATCH,
                                         "an array is not a value of scalar type %s",
                                         cim_type_name(t));
                return scalar_from_json(j, t, rd, depth, ret, err);
        }
        if (json_is_null(j)) {
                *ret = value_null(t, true);
                return 0;
        }
        if (!json_is_array(j))
                return error_set(err, WBEM_E_TYPE_MISMATCH, "expected an array of %s, found %s",
                                 cim_type_name(t), json_type_text(j));

        size_t n = json_array_size(j);
        Value a;
        int r = value_array_new(t, n, &a);
        if (r < 0)
                return r;
        for (size_t k = 0; k < n; k++) {
                json_t *item = json_array_get(j, k);
                if (json_is_array(item))
                        r = error_set(err, WBEM_E_TYPE_MISMATCH, "arrays cannot nest");
                else
                        r = scalar_from_json(item, t, rd, depth, &a.arr->items[k], err);
                if (r != 0) {
                        value_clear(&a);
                        return error_prefix(err, r, "item %zu: ", k);
                }
        }
        *ret = a;
        return 0;
}

int objjson_value_from_json(json_t *j, CimType t, bool is_array, ObjJsonResolveFunc resolve,
                            void *userdata, Value *ret, Error *err) {
        const JsonReader rd = { .resolve = resolve, .userdata = userdata };
        return value_from_json_depth(j, t, is_array, &rd, 0, ret, err);
}

static bool is_system_name(const char *name) {
        return name[0] == '_' && name[1] == '_';
}

static int instance_from_json_depth(json_t *j, const JsonReader *rd, unsigned depth, Instance **ret,
                                    Error *err) {
        int r;
        /* an embedded object of stored data is read as far as its class
         * still fits it */
        bool lenient = rd->lenient_embedded && depth > 0;

        if (depth > OBJJSON_MAX_DEPTH)
                return error_set(err, WBEM_E_INVALID_OBJECT,
                                 "embedded objects nest deeper than %d levels", OBJJSON_MAX_DEPTH);
        if (!json_is_object(j))
                return error_set(err, WBEM_E_INVALID_OBJECT,
                                 "an instance must be a JSON object, not %s", json_type_text(j));
        json_t *genus = json_object_get(j, "__GENUS");
        if (genus && json_is_integer(genus) && json_integer_value(genus) == 1)
                return error_set(err, WBEM_E_INVALID_OBJECT,
                                 "this is a class (__GENUS 1), not an instance");
        json_t *cn = json_object_get(j, "__CLASS");
        if (!cn)
                return error_set(err, WBEM_E_INVALID_OBJECT, "the instance has no __CLASS");
        if (!json_is_string(cn))
                return error_set(err, WBEM_E_INVALID_OBJECT, "__CLASS must be a string, not %s",
                                 json_type_text(cn));
        if (!rd->resolve)
                return error_set(err, WBEM_E_INVALID_CLASS, "class %s: no class resolver given",
                                 json_string_value(cn));

        _cleanup_(class_unrefp) CimClass *cls = NULL;
        r = rd->resolve(rd->userdata, json_string_value(cn), &cls, err);
        if (r != 0)
                return r;
        _cleanup_(instance_unrefp) Instance *inst = NULL;
        r = instance_new(cls, &inst);
        if (r < 0)
                return r;
        _cleanup_free_ bool *seen = mem_calloc(cls->n_props, sizeof(bool));
        if (!seen)
                return -ENOMEM;

        const char *key;
        size_t key_len;
        json_t *pj;
        json_object_keylen_foreach(j, key, key_len, pj) {
                if (strlen(key) != key_len)
                        return error_set(err, WBEM_E_INVALID_PROPERTY,
                                         "a property name contains a NUL character");
                if (is_system_name(key))
                        continue;
                long idx = class_find_property(cls, key);
                if (idx < 0 && lenient)
                        continue;
                if (idx < 0)
                        return error_set(err, WBEM_E_INVALID_PROPERTY,
                                         "class %s has no property '%s'", cls->name, key);
                if (seen[idx])
                        return error_set(err, WBEM_E_INVALID_PROPERTY,
                                         "property '%s' is given twice", key);
                seen[idx] = true;

                const CimProperty *p = &cls->props[idx];
                Value v;
                r = value_from_json_depth(pj, p->type, p->is_array, rd, depth, &v, err);
                if (r > 0 && lenient)
                        continue; /* no longer converts: stays at its default */
                if (r != 0)
                        return error_prefix(err, r, "property '%s': ", p->name);
                r = instance_set_take(inst, p->name, &v, err);
                if (r != 0) {
                        value_clear(&v);
                        return error_prefix(err, r, "property '%s': ", p->name);
                }
        }
        *ret = TAKE_PTR(inst);
        return 0;
}

int objjson_instance_from_json(json_t *j, ObjJsonResolveFunc resolve, void *userdata,
                               Instance **ret, Error *err) {
        const JsonReader rd = { .resolve = resolve, .userdata = userdata };
        return instance_from_json_depth(j, &rd, 0, ret, err);
}

/* ---- an instance from scalar members (objjson_instance_from_scalars) --------- */

/* s[0..len) NUL-terminated: in buf when it fits, else in a new allocation
 * (*heap, freed by the caller). NULL: out of memory. */
static const char *scalar_cstr(const char *s, size_t len, char *buf, size_t size, char **heap) {
        char *p = buf;

        *heap = NULL;
        if (len >= size) {
                p = mem_malloc(len + 1);
                if (!p)
                        return NULL;
                *heap = p;
        }
        memcpy(p, s, len);
        p[len] = '\0';
        return p;
}

static const char *scalar_type_text(const ObjJsonScalar *m) {
        switch (m->kind) {
        case OBJJSON_SCALAR_STRING:
                return "a string";
        case OBJJSON_SCALAR_INTEGER:
                return "a number";
        case OBJJSON_SCALAR_TRUE:
        case OBJJSON_SCALAR_FALSE:
                return "a boolean";
        case OBJJSON_SCALAR_NULL:
                return "null";
        }
        return "something unknown";
}

static const ObjJsonScalar *scalar_find(const ObjJsonScalar *m, size_t n, const char *name) {
        size_t len = strlen(name);
        for (size_t k = 0; k < n; k++)
                if (m[k].name_len == len && memcmp(m[k].name, name, len) == 0)
                        return &m[k];
        return NULL;
}

/* value_from_json_depth for a scalar member (never an array, never an
 * object). */
static int value_from_scalar(const ObjJsonScalar *m, CimType t, bool is_array, Value *ret,
                             Error *err) {
        Value tmp;
        int r;

        if (t <= CIM_INVALID || t >= _CIM_TYPE_MAX)
                return error_set(err, WBEM_E_INVALID_PROPERTY_TYPE, "invalid property type %d",
                                 (int)t);
        if (m->kind == OBJJSON_SCALAR_NULL) {
                *ret = value_null(t, is_array);
                return 0;
        }
        if (is_array)
                return error_set(err, WBEM_E_TYPE_MISMATCH, "expected an array of %s, found %s",
                                 cim_type_name(t), scalar_type_text(m));
        switch (m->kind) {
        case OBJJSON_SCALAR_TRUE:
        case OBJJSON_SCALAR_FALSE:
                tmp = value_bool(m->kind == OBJJSON_SCALAR_TRUE);
                break;
        case OBJJSON_SCALAR_INTEGER:
                tmp = value_sint(CIM_SINT64, m->integer);
                break;
        case OBJJSON_SCALAR_STRING:
        default: {
                char buf[128], *heap;
                const char *s = scalar_cstr(m->text, m->len, buf, sizeof(buf), &heap);
                if (!s)
                        return -ENOMEM;
                r = string_value(s, m->len, t, &tmp, err);
                mem_free(heap);
                if (r != 0)
                        return r;
                break;
        }
        }
        r = value_convert(&tmp, t, false, ret, err);
        value_clear(&tmp);
        return r;
}

/* One member into inst: instance_from_json_depth's loop body, strictly. */
static int instance_set_scalar(Instance *inst, const CimClass *cls, bool *seen,
                               const ObjJsonScalar *m, Error *err) {
        _cleanup_free_ char *heap = NULL;
        char buf[128];
        int r;

        if (memchr(m->name, '\0', m->name_len))
                return error_set(err, WBEM_E_INVALID_PROPERTY,
                                 "a property name contains a NUL character");
        if (m->name_len >= 2 && m->name[0] == '_' && m->name[1] == '_')
                return 0;
        const char *key = scalar_cstr(m->name, m->name_len, buf, sizeof(buf), &heap);
        if (!key)
                return -ENOMEM;
        long idx = class_find_property(cls, key);
        if (idx < 0)
                return error_set(err, WBEM_E_INVALID_PROPERTY, "class %s has no property '%s'",
                                 cls->name, key);
        if (seen[idx])
                return error_set(err, WBEM_E_INVALID_PROPERTY, "property '%s' is given twice",
                                 key);
        seen[idx] = true;

        const CimProperty *p = &cls->props[idx];
        Value v;
        r = value_from_scalar(m, p->type, p->is_array, &v, err);
        if (r != 0)
                return error_prefix(err, r, "property '%s': ", p->name);
        r = instance_set_take(inst, p->name, &v, err);
        if (r != 0) {
                value_clear(&v);
                return error_prefix(err, r, "property '%s': ", p->name);
        }
        return 0;
}

int objjson_instance_from_scalars(const ObjJsonScalar *members, size_t n,
                                  ObjJsonResolveFunc resolve, void *userdata, Instance **ret,
                                  Error *err) {
        const ObjJsonScalar *genus = scalar_find(members, n, "__GENUS");
        const ObjJsonScalar *cn = scalar_find(members, n, "__CLASS");
        _cleanup_free_ char *heap = NULL;
        char buf[128];
        int r;

        if (genus && genus->kind == OBJJSON_SCALAR_INTEGER && genus->integer == 1)
                return error_set(err, WBEM_E_INVALID_OBJECT,
                                 "this is a class (__GENUS 1), not an instance");
        if (!cn)
                return error_set(err, WBEM_E_INVALID_OBJECT, "the instance has no __CLASS");
        if (cn->kind != OBJJSON_SCALAR_STRING)
                return error_set(err, WBEM_E_INVALID_OBJECT, "__CLASS must be a string, not %s",
                                 scalar_type_text(cn));
        /* as jansson's json_string_value(): the name up to a NUL */
        const char *class_name = scalar_cstr(cn->text, cn->len, buf, sizeof(buf), &heap);
        if (!class_name)
                return -ENOMEM;
        if (!resolve)
                return error_set(err, WBEM_E_INVALID_CLASS, "class %s: no class resolver given",
                                 class_name);

        _cleanup_(class_unrefp) CimClass *cls = NULL;
        r = resolve(userdata, class_name, &cls, err);
        if (r != 0)
                return r;
        _cleanup_(instance_unrefp) Instance *inst = NULL;
        r = instance_new(cls, &inst);
        if (r < 0)
                return r;
        bool seen_small[32];
        _cleanup_free_ bool *seen_heap = NULL;
        bool *seen = seen_small;
        if (cls->n_props > sizeof(seen_small) / sizeof(seen_small[0])) {
                seen = seen_heap = mem_calloc(cls->n_props, sizeof(bool));
                if (!seen)
                        return -ENOMEM;
        } else {
                memset(seen_small, 0, sizeof(seen_small));
        }
        for (size_t k = 0; k < n; k++) {
                r = instance_set_scalar(inst, cls, seen, &members[k], err);
                if (r != 0)
                        return r;
        }
        *ret = TAKE_PTR(inst);
        return 0;
}

int objjson_instance_from_stored_json(json_t *j, ObjJsonResolveFunc resolve, void *userdata,
                                      Instance **ret, Error *err) {
        const JsonReader rd = { .resolve = resolve,
                                .userdata = userdata,
                                .lenient_embedded = true };
        return instance_from_json_depth(j, &rd, 0, ret, err);
}

static int property_to_json(const CimProperty *p, bool storage, json_t **ret, Error *err) {
        int r;

        _cleanup_json_ json_t *o = json_object();
        if (!o)
                return -ENOMEM;
        r = object_set(o, "type", json_string_nocheck(cim_type_name(p->type)));
        if (r < 0)
                return r;
        if (p->is_key) {
                r = object_set(o, "key", json_true());
                if (r < 0)
                        return r;
        }
        if (p->is_array) {
                r = object_set(o, "array", json_true());
                if (r < 0)
                        return r;
        }
        if (!p->default_value.is_null) {
                json_t *d = NULL;
                r = value_to_json_depth(&p->default_value, &(ObjJsonOptions){ .storage = storage },
                                        0, &d, err);
                if (r != 0)
                        return error_prefix(err, r, "default: ");
                r = object_set(o, "default", d);
                if (r < 0)
                        return r;
        }
        if (!storage && p->origin) {
                r = name_check("origin class", p->origin, err);
                if (r != 0)
                        return r;
                r = object_set(o, "origin", json_string_nocheck(p->origin));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int objjson_class_to_json(const CimClass *c, const ObjJsonOptions *opts, json_t **ret, Error *err) {
        bool storage = opts && opts->storage;
        int r;

        r = name_check("class", c->name, err);
        if (r == 0 && c->superclass)
                r = name_check("superclass", c->superclass, err);
        for (size_t k = 0; r == 0 && k < c->n_derivation; k++)
                r = name_check("class", c->derivation[k], err);
        if (r != 0)
                return r;

        _cleanup_json_ json_t *o = json_object();
        if (!o)
                return -ENOMEM;
        if (!storage) {
                r = object_set(o, "__GENUS", json_integer(1));
                if (r < 0)
                        return r;
        }
        r = object_set(o, "__CLASS", json_string_nocheck(c->name));
        if (r < 0)
                return r;
        r = object_set(o, "__SUPERCLASS", string_or_null(c->superclass));
        if (r < 0)
                return r;
        if (!storage) {
                json_t *d = json_array();
                r = object_set(o, "__DERIVATION", d);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < c->n_derivation; k++)
                        if (json_array_append_new(d, json_string_nocheck(c->derivation[k])) < 0)
                                return -ENOMEM;
        }
        if (c->is_abstract) {
                r = object_set(o, "abstract", json_true());
                if (r < 0)
                        return r;
        }
        if (c->is_singleton) {
                r = object_set(o, "singleton", json_true());
                if (r < 0)
                        return r;
        }
        json_t *props = json_object();
        r = object_set(o, "properties", props);
        if (r < 0)
                return r;
        for (size_t k = 0; k < c->n_props; k++) {
                const CimProperty *p = &c->props[k];
                r = name_check("property", p->name, err);
                if (r != 0)
                        return r;
                json_t *pj = NULL;
                r = property_to_json(p, storage, &pj, err);
                if (r != 0)
                        return error_prefix(err, r, "property '%s': ", p->name);
                r = object_set(props, p->name, pj);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static int optional_bool(json_t *j, const char *what, bool *ret, Error *err) {
        if (!json_is_boolean(j))
                return error_set(err, WBEM_E_INVALID_OBJECT, "%s must be true or false, not %s",
                                 what, json_type_text(j));
        *ret = json_is_true(j);
        return 0;
}

static int property_from_json(CimClass *def, const char *name, json_t *pj,
                              ObjJsonResolveFunc resolve, void *userdata, Error *err) {
        CimType type = CIM_INVALID;
        bool is_key = false, is_array = false;
        json_t *dj = NULL;
        int r;

        if (!json_is_object(pj))
                return error_set(err, WBEM_E_INVALID_OBJECT,
                                 "the definition must be an object, not %s", json_type_text(pj));
        const char *attr;
        json_t *aj;
        json_object_foreach(pj, attr, aj) {
                if (strcmp(attr, "type") == 0) {
                        if (!json_is_string(aj))
                                return error_set(err, WBEM_E_INVALID_PROPERTY_TYPE,
                                                 "type must be a string, not %s",
                                                 json_type_text(aj));
                        type = cim_type_from_name(json_string_value(aj));
                        if (type == CIM_INVALID)
                                return error_set(err, WBEM_E_INVALID_PROPERTY_TYPE,
                                                 "unknown type '%s'", json_string_value(aj));
                } else if (strcmp(attr, "key") == 0) {
                        r = optional_bool(aj, "key", &is_key, err);
                        if (r != 0)
                                return r;
                } else if (strcmp(attr, "array") == 0) {
                        r = optional_bool(aj, "array", &is_array, err);
                        if (r != 0)
                                return r;
                } else if (strcmp(attr, "default") == 0)
                        dj = aj;
                else if (strcmp(attr, "origin") == 0)
                        continue;
                else
                        return error_set(err, WBEM_E_INVALID_OBJECT, "unknown attribute '%s'",
                                         attr);
        }
        if (type == CIM_INVALID)
                return error_set(err, WBEM_E_INVALID_PROPERTY_TYPE, "no type given");

        Value dv = value_null(type, is_array);
        if (dj) {
                const JsonReader rd = { .resolve = resolve, .userdata = userdata };
                r = value_from_json_depth(dj, type, is_array, &rd, 0, &dv, err);
                if (r != 0)
                        return error_prefix(err, r, "default: ");
        }
        r = class_add_property(def, name, type, is_array, is_key, dv.is_null ? NULL : &dv, err);
        value_clear(&dv);
        return r;
}

int objjson_class_from_json(json_t *j, ObjJsonResolveFunc resolve, void *userdata, CimClass **ret,
                            Error *err) {
        int r;

        if (!json_is_object(j))
                return error_set(err, WBEM_E_INVALID_OBJECT,
                                 "a class must be a JSON object, not %s", json_type_text(j));
        json_t *genus = json_object_get(j, "__GENUS");
        if (genus && json_is_integer(genus) && json_integer_value(genus) == 2)
                return error_set(err, WBEM_E_INVALID_OBJECT,
                                 "this is an instance (__GENUS 2), not a class");
        json_t *cn = json_object_get(j, "__CLASS");
        if (!cn)
                return error_set(err, WBEM_E_INVALID_OBJECT, "the class has no __CLASS");
        if (!json_is_string(cn))
                return error_set(err, WBEM_E_INVALID_OBJECT, "__CLASS must be a string, not %s",
                                 json_type_text(cn));
        const char *name = json_string_value(cn);
        json_t *sj = json_object_get(j, "__SUPERCLASS");
        const char *super = NULL;
        if (sj && json_is_string(sj))
                super = json_string_value(sj);
        else if (sj && !json_is_null(sj))
                return error_set(err, WBEM_E_INVALID_OBJECT,
                                 "class %s: __SUPERCLASS must be a string or null, not %s", name,
                                 json_type_text(sj));

        _cleanup_(class_unrefp) CimClass *def = NULL;
        r = class_new(name, super, &def, err);
        if (r != 0)
                return r;

        const char *key;
        json_t *mj;
        json_t *props = NULL;
        json_object_foreach(j, key, mj) {
                if (is_system_name(key))
                        continue;
                if (strcmp(key, "abstract") == 0)
                        r = optional_bool(mj, "abstract", &def->is_abstract, err);
                else if (strcmp(key, "singleton") == 0)
                        r = optional_bool(mj, "singleton", &def->is_singleton, err);
                else if (strcmp(key, "properties") == 0) {
                        if (!json_is_object(mj) && !json_is_null(mj))
                                r = error_set(err, WBEM_E_INVALID_OBJECT,
                                              "properties must be an object, not %s",
                                              json_type_text(mj));
                        props = mj;
                } else
                        r = error_set(err, WBEM_E_INVALID_OBJECT, "unknown member '%s'", key);
                if (r != 0)
                        return error_prefix(err, r, "class %s: ", name);
        }

        size_t key_len;
        json_t *pj;
        if (props && json_is_object(props))
                json_object_keylen_foreach(props, key, key_len, pj) {
                        if (strlen(key) != key_len)
                                return error_set(
                                        err, WBEM_E_INVALID_PROPERTY,
                                        "class %s: a property name contains a NUL character", name);
                        r = property_from_json(def, key, pj, resolve, userdata, err);
                        if (r != 0)
                                return error_prefix(err, r, "class %s: property '%s': ", name, key);
                }
        *ret = TAKE_PTR(def);
        return 0;
}
