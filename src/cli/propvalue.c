/* Command-line property values to JSON; see propvalue.h. */
#include "propvalue.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "mem.h"
#include "table.h"

int propvalue_split(const char *arg, char **ret_name, const char **ret_value) {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg)
                return -EINVAL;
        char *name = mem_strndup(arg, (size_t)(eq - arg));
        if (!name)
                return -ENOMEM;
        *ret_name = name;
        *ret_value = eq + 1;
        return 0;
}

typedef struct IntRange {
        const char *type;
        bool is_signed;
        int64_t min;
        uint64_t max;
        bool as_string; /* 64-bit: a decimal string on the wire */
} IntRange;

static const IntRange int_types[] = {
        { "sint8", true, INT8_MIN, INT8_MAX, false },    { "uint8", false, 0, UINT8_MAX, false },
        { "sint16", true, INT16_MIN, INT16_MAX, false }, { "uint16", false, 0, UINT16_MAX, false },
        { "sint32", true, INT32_MIN, INT32_MAX, false }, { "uint32", false, 0, UINT32_MAX, false },
        { "sint64", true, INT64_MIN, INT64_MAX, true },  { "uint64", false, 0, UINT64_MAX, true },
};

static int fail(char **ret_error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **ret_error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *msg = NULL;
        int n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        /* Hand over memory from mem_*() as the header promises. */
        char *copy = mem_strdup(msg);
        free(msg);
        if (!copy)
                return -ENOMEM;
        *ret_error = copy;
        return -EINVAL;
}

static bool utf8_valid(const char *s) {
        while (*s) {
                unsigned cp;
                size_t n = table_utf8_decode(s, &cp);
                if (cp == 0xFFFD && n == 1)
                        return false;
                s += n;
        }
        return true;
}

static json_t *oom_null(json_t *v, int *r) {
        if (!v)
                *r = -ENOMEM;
        return v;
}

static int parse_integer(const IntRange *t, const char *text, json_t **ret, char **ret_error) {
        errno = 0;
        char *end;
        bool negative = text[0] == '-';
        if (!*text || (!t->is_signed && negative) || text[0] == '+' || text[0] == ' ')
                return fail(ret_error, "'%s' is not a %s", text, t->type);
        int64_t sv = 0;
        uint64_t uv = 0;
        if (t->is_signed) {
                long long v = strtoll(text, &end, 10);
                if (*end || errno || v < t->min || (v > 0 && (uint64_t)v > t->max))
                        return fail(ret_error, "'%s' is not a %s (or out of its range)", text,
                                    t->type);
                sv = v;
        } else {
                unsigned long long v = strtoull(text, &end, 10);
                if (*end || errno || v > t->max)
                        return fail(ret_error, "'%s' is not a %s (or out of its range)", text,
                                    t->type);
                uv = v;
        }
        int r = 0;
        if (t->as_string) {
                char buf[32];
                if (t->is_signed)
                        snprintf(buf, sizeof(buf), "%lld", (long long)sv);
                else
                        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)uv);
                *ret = oom_null(json_string(buf), &r);
        } else
                *ret = oom_null(json_integer(t->is_signed ? (json_int_t)sv : (json_int_t)uv), &r);
        return r;
}

static int parse_scalar(const char *type, const char *text, json_t **ret, char **ret_error) {
        int r = 0;
        if (strcasecmp(type, "string") == 0 || strcasecmp(type, "datetime") == 0 ||
            strcasecmp(type, "reference") == 0) {
                if (!utf8_valid(text))
                        return fail(ret_error, "the value is not valid UTF-8");
                *ret = oom_null(json_string(text), &r);
                return r;
        }
        if (!*text || strcmp(text, "NULL") == 0) {
                *ret = oom_null(json_null(), &r);
                return r;
        }
        if (strcasecmp(type, "boolean") == 0) {
                if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0 ||
                    strcasecmp(text, "yes") == 0)
                        *ret = json_true();
                else if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0 ||
                         strcasecmp(text, "no") == 0)
                        *ret = json_false();
                else
                        return fail(ret_error, "'%s' is not a boolean (true or false)", text);
                return 0;
        }
        for (size_t i = 0; i < sizeof(int_types) / sizeof(int_types[0]); i++)
                if (strcasecmp(type, int_types[i].type) == 0)
                        return parse_integer(&int_types[i], text, ret, ret_error);
        if (strcasecmp(type, "real32") == 0 || strcasecmp(type, "real64") == 0) {
                errno = 0;
                char *end;
                double d = strtod(text, &end);
                if (*end || errno || !isfinite(d) || text[0] == ' ')
                        return fail(ret_error, "'%s' is not a %s", text, type);
                *ret = oom_null(json_real(d), &r);
                return r;
        }
        if (strcasecmp(type, "object") == 0) {
                json_error_t je;
                json_t *v = json_loads(text, 0, &je);
                if (!json_is_object(v)) {
                        json_decref(v);
                        return fail(ret_error, "'%s' is not a JSON object (an embedded instance)",
                                    text);
                }
                *ret = v;
                return 0;
        }
        return fail(ret_error, "the property's type '%s' is unknown to lwmi", type);
}

static char *trimmed(const char *s, size_t n) {
        while (n > 0 && (*s == ' ' || *s == '\t')) {
                s++;
                n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        return mem_strndup(s, n);
}

int propvalue_parse(const json_t *def, const char *text, json_t **ret, char **ret_error) {
        const char *type = json_string_value(json_object_get(def, "type"));
        if (!type)
                return fail(ret_error, "the class gives the property no type");
        if (!json_is_true(json_object_get(def, "array")))
                return parse_scalar(type, text, ret, ret_error);

        size_t len = strlen(text);
        if (strcmp(text, "NULL") == 0 || len == 0) {
                int r = 0;
                *ret = oom_null(json_null(), &r);
                return r;
        }
        if (text[0] == '{') {
                if (text[len - 1] != '}')
                        return fail(ret_error, "'%s' is not an array: write {a,b,c}", text);
                text++;
                len -= 2;
        }
        _cleanup_(json_decrefp) json_t *array = json_array();
        if (!array)
                return -ENOMEM;
        const char *p = text, *end = text + len;
        _cleanup_free_ char *whole = trimmed(text, len);
        if (!whole)
                return -ENOMEM;
        if (*whole) {
                for (;;) {
                        const char *comma = memchr(p, ',', (size_t)(end - p));
                        const char *stop = comma ? comma : end;
                        _cleanup_free_ char *item = trimmed(p, (size_t)(stop - p));
                        if (!item)
                                return -ENOMEM;
                        json_t *v;
                        int r = parse_scalar(type, item, &v, ret_error);
                        if (r < 0)
                                return r;
                        if (json_array_append_new(array, v) < 0)
                                return -ENOMEM;
                        if (!comma)
                                break;
                        p = comma + 1;
                }
        }
        *ret = TAKE_PTR(array);
        return 0;
}
