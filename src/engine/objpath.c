/* Object paths: parsing and canonical printing. See objpath.h.
 *
 * Grammar (no white space outside quoted strings):
 *
 *   path      := [ sep sep server sep namespace ':' | namespace ':' ] class [ tail ]
 *   tail      := '=' '@' | '=' value | '.' key ( ',' key )*
 *   key       := name '=' value
 *   value     := '"' ( char | '\"' | '\\' )* '"' | number | TRUE | FALSE
 *   number    := [+-] digits [ '.' digits ] [ ( 'e' | 'E' ) [+-] digits ]
 *   sep       := '/' | '\'
 *   server    := ( letter | digit | '-' | '.' | '_' )+
 *   namespace := segment ( sep segment )*     segment: letters, digits, '_'
 *
 * Integers become sint64, or uint64 above INT64_MAX; numbers with a '.' or
 * an exponent become real64. TRUE and FALSE are case-insensitive. Key names
 * must be unique (case-insensitively), which makes the sorted printed form
 * canonical: parse(format(p)) gives p back and format(parse(s)) is a fixed
 * point. The only escapes are \" and \\; any other backslash sequence is an
 * error rather than a guess. */
#include "objpath.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "strbuf.h"

#define OBJPATH_MAX_LENGTH 16384

static bool is_sep(char c) {
        return c == '/' || c == '\\';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Letters for identifiers: ASCII letters, '_' and any non-ASCII byte. */
static bool is_letter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
               (unsigned char)c >= 0x80;
}

static bool is_server_char(char c) {
        return is_letter(c) || is_digit(c) || c == '-' || c == '.';
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

ObjectPath *objpath_free(ObjectPath *p) {
        if (!p)
                return NULL;
        mem_free(p->server);
        mem_free(p->ns);
        mem_free(p->class_name);
        for (size_t i = 0; i < p->n_keys; i++) {
                mem_free(p->keys[i].name);
                value_clear(&p->keys[i].value);
        }
        mem_free(p->keys);
        mem_free(p);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(ObjectPath *, objpath_free);

typedef struct Parser {
        const char *text;
        Error *err;
} Parser;

static int parser_fail(const Parser *ps, const char *at, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int parser_fail(const Parser *ps, const char *at, const char *fmt, ...) {
        char what[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        unsigned column = (unsigned)(at - ps->text) + 1;
        return error_set_at(ps->err, WBEM_E_INVALID_OBJECT_PATH, 0, column, "column %u: %s", column,
                            what);
}

/* The error for a character that is not what the grammar wanted there. */
static int parser_unexpected(const Parser *ps, const char *at, const char *expected) {
        if (*at == '\0')
                return parser_fail(ps, at, "expected %s, found end of path", expected);
        if (is_space(*at))
                return parser_fail(ps, at, "white space is not allowed outside quotes");
        unsigned char c = (unsigned char)*at;
        if (c < 0x20 || c >= 0x7f)
                return parser_fail(ps, at, "expected %s, found byte 0x%02x", expected, c);
        return parser_fail(ps, at, "expected %s, found '%c'", expected, c);
}

static const char *scan_name(const char *p) {
        if (!is_letter(*p))
                return p;
        for (p++; is_letter(*p) || is_digit(*p); p++)
                ;
        return p;
}

/* A quoted string starting at *pp (which points at the opening quote). */
static int parse_string(const Parser *ps, const char **pp, Value *ret) {
        const char *open = *pp, *p = open + 1;
        StrBuf buf = STRBUF_INIT;
        for (;;) {
                const char *run = p;
                while (*p && *p != '"' && *p != '\\')
                        p++;
                strbuf_append_len(&buf, run, (size_t)(p - run));
                if (*p == '"')
                        break;
                if (*p == '\0') {
                        strbuf_done(&buf);
                        return parser_fail(ps, open, "unterminated string");
                }
                /* a backslash */
                if (p[1] == '"' || p[1] == '\\') {
                        strbuf_append_char(&buf, p[1]);
                        p += 2;
                        continue;
                }
                strbuf_done(&buf);
                if (p[1] == '\0')
                        return parser_fail(ps, open, "unterminated string");
                if ((unsigned char)p[1] < 0x20 || (unsigned char)p[1] >= 0x7f)
                        return parser_fail(ps, p, "invalid escape: backslash before byte 0x%02x",
                                           (unsigned char)p[1]);
                return parser_fail(ps, p, "invalid escape '\\%c' (only \\\" and \\\\ are allowed)",
                                   p[1]);
        }
        char *s = strbuf_steal(&buf);
        if (!s)
                return -ENOMEM;
        *ret = (Value){ .type = CIM_STRING, .s = s };
        *pp = p + 1;
        return 0;
}

static int parse_number(const Parser *ps, const char **pp, Value *ret) {
        const char *start = *pp, *p = start;
        bool negative = false, is_real = false;

        if (*p == '+' || *p == '-')
                negative = *p++ == '-';
        if (!is_digit(*p))
                return parser_unexpected(ps, p, "a digit");
        uint64_t magnitude = 0;
        bool overflow = false;
        for (; is_digit(*p); p++) {
                unsigned digit = (unsigned)(*p - '0');
                if (magnitude > (UINT64_MAX - digit) / 10)
                        overflow = true;
                else
                        magnitude = magnitude * 10 + digit;
        }
        if (*p == '.') {
                is_real = true;
                p++;
                if (!is_digit(*p))
                        return parser_unexpected(ps, p, "a digit after '.'");
                while (is_digit(*p))
                        p++;
        }
        if (*p == 'e' || *p == 'E') {
                is_real = true;
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                if (!is_digit(*p))
                        return parser_unexpected(ps, p, "a digit in the exponent");
                while (is_digit(*p))
                        p++;
        }

        if (is_real) {
                _cleanup_free_ char *copy = mem_strndup(start, (size_t)(p - start));
                if (!copy)
                        return -ENOMEM;
                double d = strtod(copy, NULL);
                if (isinf(d))
                        return parser_fail(ps, start, "number out of range");
                *ret = value_real(CIM_REAL64, d);
        } else if (overflow || (negative && magnitude > (uint64_t)INT64_MAX + 1)) {
                return parser_fail(ps, start, "number out of range");
        } else if (negative) {
                *ret = value_sint(CIM_SINT64, (int64_t)(0 - magnitude));
        } else if (magnitude > INT64_MAX) {
                *ret = value_uint(CIM_UINT64, magnitude);
        } else {
                *ret = value_sint(CIM_SINT64, (int64_t)magnitude);
        }
        *pp = p;
        return 0;
}

/* ASCII case-insensitive comparison of n bytes, independent of the locale
 * (names fold ASCII letters only, see names.h). */
static bool equal_folded(const char *a, const char *b, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char x = a[i], y = b[i];
                if (x >= 'A' && x <= 'Z')
                        x = (char)(x + ('a' - 'A'));
                if (y >= 'A' && y <= 'Z')
                        y = (char)(y + ('a' - 'A'));
                if (x != y)
                        return false;
        }
        return true;
}

/* `word` (upper case) at p, not followed by more identifier characters. */
static bool match_word(const char *p, const char *word) {
        size_t n = strlen(word);
        return strnlen(p, n) == n && equal_folded(p, word, n) && !is_letter(p[n]) &&
               !is_digit(p[n]);
}

static int parse_value(const Parser *ps, const char **pp, Value *ret) {
        const char *p = *pp;
        if (*p == '"')
                return parse_string(ps, pp, ret);
        if (is_digit(*p) || *p == '-' || *p == '+')
                return parse_number(ps, pp, ret);
        if (match_word(p, "TRUE") || match_word(p, "FALSE")) {
                bool b = (*p == 't' || *p == 'T');
                *ret = value_bool(b);
                *pp = p + (b ? 4 : 5);
                return 0;
        }
        return parser_unexpected(ps, p, "a value (quoted string, number, TRUE or FALSE)");
}

static int add_key(ObjectPath *path, const char *name, size_t name_len, Value *v) {
        ObjectPathKey *keys = mem_reallocarray(path->keys, path->n_keys + 1, sizeof(ObjectPathKey));
        if (!keys)
                return -ENOMEM;
        path->keys = keys;
        char *n = NULL;
        if (name) {
                n = mem_strndup(name, name_len);
                if (!n)
                        return -ENOMEM;
        }
        keys[path->n_keys++] = (ObjectPathKey){ .name = n, .value = *v };
        *v = value_null(CIM_STRING, false);
        return 0;
}

/* Namespace text [start, end) with '/' or '\' separators: check it and copy
 * it with '/' separators. Errors point at the offending character. */
static int parse_namespace(const Parser *ps, const char *start, const char *end, char **ret) {
        if (start == end)
                return parser_fail(ps, start, "expected namespace name");
        for (const char *p = start; p < end; p++) {
                if (is_sep(*p) && (p == start || p + 1 == end || is_sep(p[1])))
                        return parser_fail(ps, p == start || is_sep(p[-1]) ? p : p + 1,
                                           "empty namespace segment");
        }
        char *ns = mem_strndup(start, (size_t)(end - start));
        if (!ns)
                return -ENOMEM;
        for (char *p = ns; *p; p++)
                if (*p == '\\')
                        *p = '/';
        *ret = ns;
        return 0;
}

static const char *scan_namespace(const char *p) {
        while (is_letter(*p) || is_digit(*p) || is_sep(*p))
                p++;
        return p;
}

int objpath_parse(const char *text, ObjectPath **ret, Error *err) {
        Parser ps = { .text = text, .err = err };
        const char *p = text;
        int r;

        size_t len = strnlen(text, OBJPATH_MAX_LENGTH + 1);
        if (len > OBJPATH_MAX_LENGTH)
                return parser_fail(&ps, text + OBJPATH_MAX_LENGTH, "path longer than %d bytes",
                                   OBJPATH_MAX_LENGTH);

        _cleanup_(objpath_freep) ObjectPath *path = mem_calloc(1, sizeof(ObjectPath));
        if (!path)
                return -ENOMEM;

        if (is_sep(p[0]) && is_sep(p[1])) {
                const char *start = p += 2;
                while (is_server_char(*p))
                        p++;
                if (p == start)
                        return parser_unexpected(&ps, p, "server name");
                path->server = mem_strndup(start, (size_t)(p - start));
                if (!path->server)
                        return -ENOMEM;
                if (!is_sep(*p))
                        return parser_unexpected(&ps, p, "'/' or '\\' after server name");
                start = ++p;
                p = scan_namespace(p);
                if (*p != ':')
                        return parser_unexpected(&ps, p, "':' after namespace");
                r = parse_namespace(&ps, start, p, &path->ns);
                if (r != 0)
                        return r;
                p++;
        } else {
                const char *end = scan_namespace(p);
                if (*end == ':') {
                        r = parse_namespace(&ps, p, end, &path->ns);
                        if (r != 0)
                                return r;
                        p = end + 1;
                }
        }

        const char *name_end = scan_name(p);
        if (name_end == p)
                return parser_unexpected(&ps, p, "class name");
        path->class_name = mem_strndup(p, (size_t)(name_end - p));
        if (!path->class_name)
                return -ENOMEM;
        p = name_end;

        if (*p == '=') {
                p++;
                if (*p == '@') {
                        path->is_singleton = true;
                        p++;
                } else {
                        Value v;
                        r = parse_value(&ps, &p, &v);
                        if (r != 0)
                                return r;
                        r = add_key(path, NULL, 0, &v);
                        if (r < 0) {
                                value_clear(&v);
                                return r;
                        }
                }
                if (*p != '\0')
                        return parser_unexpected(&ps, p, "end of path");
        } else if (*p == '.') {
                do {
                        p++;
                        const char *kname = p;
                        p = scan_name(p);
                        if (p == kname)
                                return parser_unexpected(&ps, p, "key name");
                        size_t klen = (size_t)(p - kname);
                        for (size_t i = 0; i < path->n_keys; i++)
                                if (strlen(path->keys[i].name) == klen &&
                                    equal_folded(path->keys[i].name, kname, klen))
                                        return parser_fail(&ps, kname, "duplicate key '%.*s'",
                                                           (int)(klen > 128 ? 128 : klen), kname);
                        if (*p != '=')
                                return parser_unexpected(&ps, p, "'=' after key name");
                        p++;
                        Value v;
                        r = parse_value(&ps, &p, &v);
                        if (r != 0)
                                return r;
                        r = add_key(path, kname, klen, &v);
                        if (r < 0) {
                                value_clear(&v);
                                return r;
                        }
                } while (*p == ',');
                if (*p != '\0')
                        return parser_unexpected(&ps, p, "',' or end of path");
        } else if (*p != '\0') {
                return parser_unexpected(&ps, p, "'.', '=' or end of path after class name");
        }

        *ret = TAKE_PTR(path);
        return 0;
}

void objpath_append_quoted(StrBuf *buf, const char *s) {
        strbuf_append_char(buf, '"');
        for (const char *p = s;;) {
                const char *run = p;
                while (*p && *p != '"' && *p != '\\')
                        p++;
                strbuf_append_len(buf, run, (size_t)(p - run));
                if (!*p)
                        break;
                strbuf_append_char(buf, '\\');
                strbuf_append_char(buf, *p++);
        }
        strbuf_append_char(buf, '"');
}

/* Shortest text that reads back as d, always with a '.' or an exponent so it
 * parses as a real again, and with a compact exponent ("1e5", not "1e+05"). */
static void append_real(StrBuf *buf, double d) {
        char text[40];
        if (!isfinite(d)) { /* never parsed from a path; print something */
                strbuf_append(buf, isnan(d) ? "\"NaN\"" : d < 0 ? "\"-Infinity\"" : "\"Infinity\"");
                return;
        }
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(text, sizeof(text), "%.*g", prec, d);
                if (strtod(text, NULL) == d)
                        break;
        }
        char *e = strchr(text, 'e');
        if (!e) {
                strbuf_append(buf, text);
                if (!strchr(text, '.'))
                        strbuf_append(buf, ".0");
                return;
        }
        strbuf_append_len(buf, text, (size_t)(e - text) + 1);
        const char *x = e + 1;
        if (*x == '+')
                x++;
        else if (*x == '-')
                strbuf_append_char(buf, *x++);
        while (*x == '0' && x[1])
                x++;
        strbuf_append(buf, x);
}

void objpath_append_key_value(StrBuf *buf, const Value *v) {
        if (v->is_null || v->is_array) {
                strbuf_append(buf, "\"\"");
                return;
        }
        switch (v->type) {
        case CIM_STRING:
        case CIM_REFERENCE:
                objpath_append_quoted(buf, v->s);
                return;
        case CIM_DATETIME: {
                char text[26];
                cim_datetime_format(&v->dt, text);
                objpath_append_quoted(buf, text);
                return;
        }
        case CIM_BOOLEAN:
                strbuf_append(buf, v->b ? "TRUE" : "FALSE");
                return;
        case CIM_REAL32:
        case CIM_REAL64:
                append_real(buf, v->r);
                return;
        default:
                if (cim_type_is_signed(v->type))
                        strbuf_printf(buf, "%" PRId64, v->i);
                else if (cim_type_is_unsigned(v->type))
                        strbuf_printf(buf, "%" PRIu64, v->u);
                else
                        strbuf_append(buf, "\"\"");
                return;
        }
}

static int key_compare(const void *a, const void *b) {
        const ObjectPathKey *x = *(const ObjectPathKey *const *)a,
                            *y = *(const ObjectPathKey *const *)b;
        return name_compare(x->name ? x->name : "", y->name ? y->name : "");
}

static void append_relpath(StrBuf *buf, const ObjectPath *p) {
        strbuf_append(buf, p->class_name);
        if (p->is_singleton) {
                strbuf_append(buf, "=@");
                return;
        }
        if (p->n_keys == 0)
                return;
        if (p->n_keys == 1 && !p->keys[0].name) {
                strbuf_append_char(buf, '=');
                objpath_append_key_value(buf, &p->keys[0].value);
                return;
        }
        const ObjectPathKey **sorted = mem_reallocarray(NULL, p->n_keys, sizeof(*sorted));
        if (!sorted) {
                buf->failed = true;
                return;
        }
        for (size_t i = 0; i < p->n_keys; i++)
                sorted[i] = &p->keys[i];
        qsort(sorted, p->n_keys, sizeof(*sorted), key_compare);
        for (size_t i = 0; i < p->n_keys; i++) {
                strbuf_append_char(buf, i == 0 ? '.' : ',');
                strbuf_append(buf, sorted[i]->name ? sorted[i]->name : "");
                strbuf_append_char(buf, '=');
                objpath_append_key_value(buf, &sorted[i]->value);
        }
        mem_free(sorted);
}

char *objpath_format_relpath(const ObjectPath *p) {
        StrBuf buf = STRBUF_INIT;
        append_relpath(&buf, p);
        return strbuf_steal(&buf);
}

char *objpath_format(const ObjectPath *p) {
        StrBuf buf = STRBUF_INIT;
        if (p->ns) {
                if (p->server) {
                        strbuf_append(&buf, "//");
                        strbuf_append(&buf, p->server);
                        strbuf_append_char(&buf, '/');
                }
                strbuf_append(&buf, p->ns);
                strbuf_append_char(&buf, ':');
        }
        append_relpath(&buf, p);
        return strbuf_steal(&buf);
}

/* Leading and trailing separators are dropped ("/root/cimv2/" is
 * "root/cimv2"); an empty segment inside is an error. */
char *namespace_normalize(const char *ns) {
        if (!ns) {
                errno = EINVAL;
                return NULL;
        }
        const char *start = ns, *end = ns + strlen(ns);
        while (start < end && is_sep(*start))
                start++;
        while (end > start && is_sep(end[-1]))
                end--;
        if (start == end) {
                errno = EINVAL;
                return NULL;
        }
        for (const char *p = start; p < end; p++) {
                if (is_sep(*p) ? is_sep(p[1]) : !(is_letter(*p) || is_digit(*p))) {
                        errno = EINVAL;
                        return NULL;
                }
        }
        char *out = mem_strndup(start, (size_t)(end - start));
        if (!out) {
                errno = ENOMEM;
                return NULL;
        }
        for (char *p = out; *p; p++)
                if (*p == '\\')
                        *p = '/';
        return out;
}
