/* How the command-line client shows objects; see format.h. */
#include "format.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "mem.h"
#include "strbuf.h"

static void append_value(StrBuf *b, const json_t *v, bool quote_strings);

static void append_real(StrBuf *b, double d) {
        if (!isfinite(d)) {
                strbuf_append(b, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                return;
        }
        /* The shortest of %.15g and %.17g that reads back exactly. */
        char text[64];
        snprintf(text, sizeof(text), "%.15g", d);
        if (strtod(text, NULL) != d)
                snprintf(text, sizeof(text), "%.17g", d);
        strbuf_append(b, text);
}

static void append_quoted(StrBuf *b, const char *s) {
        strbuf_append_char(b, '"');
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        strbuf_append_char(b, '\\');
                strbuf_append_char(b, *s);
        }
        strbuf_append_char(b, '"');
}

static int dump_to_strbuf(const char *buffer, size_t size, void *data) {
        StrBuf *b = data;
        strbuf_append_len(b, buffer, size);
        return strbuf_failed(b) ? -1 : 0;
}

static void append_value(StrBuf *b, const json_t *v, bool quote_strings) {
        switch (json_typeof(v)) {
        case JSON_NULL:
                break;
        case JSON_STRING:
                if (quote_strings)
                        append_quoted(b, json_string_value(v));
                else
                        strbuf_append(b, json_string_value(v));
                break;
        case JSON_INTEGER:
                strbuf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                break;
        case JSON_REAL:
                append_real(b, json_real_value(v));
                break;
        case JSON_TRUE:
                strbuf_append(b, "true");
                break;
        case JSON_FALSE:
                strbuf_append(b, "false");
                break;
        case JSON_ARRAY: {
                strbuf_append_char(b, '{');
                size_t i;
                json_t *item;
                json_array_foreach(v, i, item) {
                        if (i > 0)
                                strbuf_append(b, ", ");
                        if (json_is_null(item))
                                strbuf_append(b, "NULL");
                        else
                                append_value(b, item, quote_strings);
                }
                strbuf_append_char(b, '}');
                break;
        }
        case JSON_OBJECT:
                if (json_dump_callback(v, dump_to_strbuf, b, JSON_COMPACT) < 0)
                        b->failed = true;
                break;
        }
}

char *format_value(const json_t *v) {
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, "");
        if (v)
                append_value(&b, v, false);
        return strbuf_steal(&b);
}

/* The key of obj that matches name ignoring case, or NULL. */
static const char *object_key(const json_t *obj, const char *name) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)obj, key, v) {
                if (strcasecmp(key, name) == 0)
                        return key;
        }
        return NULL;
}

json_t *format_object_get(const json_t *obj, const char *name) {
        json_t *v = json_object_get(obj, name);
        if (v || !json_is_object(obj))
                return v;
        const char *key = object_key(obj, name);
        return key ? json_object_get(obj, key) : NULL;
}

bool format_is_system_property(const char *name) {
        return strncmp(name, "__", 2) == 0;
}

void format_names_free(Names *names) {
        for (size_t i = 0; i < names->n; i++)
                mem_free(names->v[i]);
        mem_free(names->v);
        names->v = NULL;
        names->n = 0;
}

static int names_add(Names *names, const char *s, size_t len) {
        char **v = mem_reallocarray(names->v, names->n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        names->v = v;
        v[names->n] = mem_strndup(s, len);
        if (!v[names->n])
                return -ENOMEM;
        names->n++;
        return 0;
}

static bool names_contain(const Names *names, const char *s) {
        for (size_t i = 0; i < names->n; i++)
                if (strcasecmp(names->v[i], s) == 0)
                        return true;
        return false;
}

static const char *skip_space(const char *s) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
                s++;
        return s;
}

static bool is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || (unsigned char)c >= 0x80;
}

/* The keyword `kw` at s, followed by a non-name character. */
static bool at_keyword(const char *s, const char *kw) {
        size_t n = strlen(kw);
        return strncasecmp(s, kw, n) == 0 && !is_name_char(s[n]);
}

int format_select_list(const char *wql, Names *ret) {
        Names names = { 0 };
        const char *s = skip_space(wql);
        if (!at_keyword(s, "SELECT"))
                goto unknown;
        s = skip_space(s + 6);
        if (*s == '*')
                goto unknown;
        for (;;) {
                const char *start = s;
                /* prop or prop.prop... */
                while (is_name_char(*s) || (*s == '.' && s > start && is_name_char(s[1])))
                        s++;
                if (s == start)
                        goto unknown;
                if (names_add(&names, start, (size_t)(s - start)) < 0) {
                        format_names_free(&names);
                        return -ENOMEM;
                }
                s = skip_space(s);
                if (*s == ',') {
                        s = skip_space(s + 1);
                        continue;
                }
                if (at_keyword(s, "FROM"))
                        break;
                goto unknown;
        }
        *ret = names;
        return 0;
unknown:
        format_names_free(&names);
        *ret = (Names){ 0 };
        return 0;
}

int format_columns(const json_t *objects, const Names *selected, Names *ret) {
        Names cols = { 0 };
        size_t i;
        json_t *obj;
        if (selected && selected->n > 0) {
                for (size_t k = 0; k < selected->n; k++) {
                        const char *name = selected->v[k];
                        /* Spell it as the server does. */
                        json_array_foreach(objects, i, obj) {
                                const char *key = object_key(obj, name);
                                if (key) {
                                        name = key;
                                        break;
                                }
                        }
                        if (names_add(&cols, name, strlen(name)) < 0)
                                goto oom;
                }
        } else {
                json_array_foreach(objects, i, obj) {
                        const char *key;
                        json_t *v;
                        json_object_foreach(obj, key, v) {
                                if (format_is_system_property(key) || names_contain(&cols, key))
                                        continue;
                                if (names_add(&cols, key, strlen(key)) < 0)
                                        goto oom;
                        }
                }
        }
        *ret = cols;
        return 0;
oom:
        format_names_free(&cols);
        return -ENOMEM;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);

static void free_cells(char **cells, size_t n) {
        for (size_t i = 0; i < n; i++)
                mem_free(cells[i]);
}

/* 64-bit integers travel as decimal strings: they line up like numbers. */
static bool is_decimal_string(const json_t *v);

bool format_is_numeric(const json_t *v) {
        return json_is_number(v) || is_decimal_string(v);
}

static bool is_decimal_string(const json_t *v) {
        const char *s = json_string_value(v);
        if (!s)
                return false;
        if (*s == '-')
                s++;
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

int format_objects_table(const json_t *objects, const Names *columns, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        int r = table_new(columns->n ? columns->n : 1, &t);
        if (r < 0)
                return r;
        for (size_t c = 0; c < columns->n; c++) {
                if ((r = table_set_header(t, c, columns->v[c])) < 0)
                        return r;
                /* Numbers line up on the right when the whole column is. */
                bool numeric = false, other = false;
                size_t i;
                json_t *obj;
                json_array_foreach(objects, i, obj) {
                        json_t *v = format_object_get(obj, columns->v[c]);
                        if (json_is_number(v) || is_decimal_string(v))
                                numeric = true;
                        else if (v && !json_is_null(v))
                                other = true;
                }
                table_set_align(t, c, numeric && !other ? TABLE_ALIGN_RIGHT : TABLE_ALIGN_LEFT);
        }
        _cleanup_free_ char **cells = mem_calloc(columns->n ? columns->n : 1, sizeof(char *));
        if (!cells)
                return -ENOMEM;
        size_t i;
        json_t *obj;
        json_array_foreach(objects, i, obj) {
                for (size_t c = 0; c < columns->n; c++) {
                        cells[c] = format_value(format_object_get(obj, columns->v[c]));
                        if (!cells[c]) {
                                free_cells(cells, c);
                                return -ENOMEM;
                        }
                }
                r = table_add_row(t, (const char *const *)cells);
                free_cells(cells, columns->n);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

static int add_pair(Table *t, const char *name, const json_t *v) {
        _cleanup_free_ char *text = format_value(v);
        if (!text)
                return -ENOMEM;
        const char *cells[] = { name, text };
        return table_add_row(t, cells);
}

int format_object_table(const json_t *object, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        int r = table_new(2, &t);
        if (r < 0)
                return r;
        json_t *path = json_object_get(object, "__PATH");
        const char *path_name = "__PATH";
        if (!path) {
                path = json_object_get(object, "__RELPATH");
                path_name = "__RELPATH";
        }
        if (path && (r = add_pair(t, path_name, path)) < 0)
                return r;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)object, key, v) {
                if (format_is_system_property(key))
                        continue;
                if ((r = add_pair(t, key, v)) < 0)
                        return r;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

/* Members of a property definition shown in other ways than qualifiers
 * ("origin", the declaring class lwmid adds to every property, is not
 * shown: the MOF-like text is the class's definition). */
static bool is_structural_member(const char *key) {
        return strcmp(key, "type") == 0 || strcmp(key, "array") == 0 || strcmp(key, "name") == 0 ||
               strcmp(key, "default") == 0 || strcmp(key, "origin") == 0;
}

static void append_property(StrBuf *b, const char *name, const json_t *def) {
        /* Qualifiers: flags that are true, and valued ones as name(value). */
        bool first = true;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)def, key, v) {
                if (is_structural_member(key) || json_is_false(v) || json_is_null(v))
                        continue;
                strbuf_append(b, first ? "[" : ", ");
                first = false;
                strbuf_append(b, key);
                if (!json_is_true(v)) {
                        strbuf_append_char(b, '(');
                        append_value(b, v, true);
                        strbuf_append_char(b, ')');
                }
        }
        if (!first)
                strbuf_append(b, "] ");
        const char *type = json_string_value(json_object_get(def, "type"));
        strbuf_append(b, type ? type : "unknown");
        strbuf_append_char(b, ' ');
        strbuf_append(b, name);
        if (json_is_true(json_object_get(def, "array")))
                strbuf_append(b, "[]");
        json_t *dflt = json_object_get(def, "default");
        if (dflt && !json_is_null(dflt)) {
                strbuf_append(b, " = ");
                append_value(b, dflt, true);
        }
        strbuf_append(b, ";\n");
}

int format_class(const json_t *cls, char **ret) {
        const char *name = json_string_value(json_object_get(cls, "__CLASS"));
        const char *super = json_string_value(json_object_get(cls, "__SUPERCLASS"));
        if (!name)
                return -EINVAL;
        StrBuf b = STRBUF_INIT;
        strbuf_printf(&b, "class %s", name);
        if (super && *super)
                strbuf_printf(&b, " : %s", super);
        strbuf_append(&b, "\n{\n");
        json_t *props = json_object_get(cls, "properties");
        if (json_is_object(props)) {
                const char *key;
                json_t *def;
                json_object_foreach(props, key, def) {
                        strbuf_append(&b, "    ");
                        append_property(&b, key, def);
                }
        } else if (json_is_array(props)) {
                size_t i;
                json_t *def;
                json_array_foreach(props, i, def) {
                        const char *pname = json_string_value(json_object_get(def, "name"));
                        strbuf_append(&b, "    ");
                        append_property(&b, pname ? pname : "?", def);
                }
        }
        strbuf_append(&b, "};\n");
        char *s = strbuf_steal(&b);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int format_caret(const char *text, unsigned line, unsigned column, char **ret) {
        if (line == 0)
                return -EINVAL;
        const char *s = text;
        for (unsigned l = 1; l < line; l++) {
                s = strchr(s, '\n');
                if (!s)
                        return -EINVAL;
                s++;
        }
        size_t len = strcspn(s, "\n");
        if (len > 0 && s[len - 1] == '\r')
                len--;
        _cleanup_free_ char *copy = mem_strndup(s, len);
        if (!copy)
                return -ENOMEM;
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, "  ");
        strbuf_append(&b, copy);
        strbuf_append(&b, "\n  ");
        /* The column counts bytes (as lwmid's WQL lexer does). Under each
         * character before it: a tab for a tab, else as many spaces as the
         * character is wide. */
        const char *p = copy;
        size_t before = column > 0 ? column - 1 : 0;
        size_t done = 0;
        while (done < before) {
                if (*p == '\t') {
                        strbuf_append_char(&b, '\t');
                        p++;
                        done++;
                } else if (*p) {
                        unsigned cp;
                        size_t n = table_utf8_decode(p, &cp);
                        for (unsigned w = table_codepoint_width(cp); w > 0; w--)
                                strbuf_append_char(&b, ' ');
                        p += n;
                        done += n;
                } else {
                        strbuf_append_char(&b, ' '); /* past the end: one column each */
                        done++;
                }
        }
        strbuf_append(&b, "^\n");
        char *out = strbuf_steal(&b);
        if (!out)
                return -ENOMEM;
        *ret = out;
        return 0;
}

/* Properties every event has from __Event: not worth a column. */
static bool is_event_base_property(const char *name) {
        return strcasecmp(name, "TIME_CREATED") == 0 ||
               strcasecmp(name, "SECURITY_DESCRIPTOR") == 0;
}

static const json_t *event_target(const json_t *event) {
        json_t *target = format_object_get(event, "TargetInstance");
        return json_is_object(target) ? target : NULL;
}

int format_event_columns(const json_t *event, Names *ret, bool *ret_class_column) {
        const json_t *target = event_target(event);
        const json_t *source = target ? target : event;
        Names names = { 0 };
        if (target && names_add(&names, "Event", 5) < 0) {
                format_names_free(&names);
                return -ENOMEM;
        }
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)source, key, v) {
                if (format_is_system_property(key) || (!target && is_event_base_property(key)))
                        continue;
                if (names_add(&names, key, strlen(key)) < 0) {
                        format_names_free(&names);
                        return -ENOMEM;
                }
        }
        bool class_column = target != NULL;
        if (names.n == 0) {
                /* An event with nothing of its own still shows its class. */
                if (names_add(&names, "Event", 5) < 0) {
                        format_names_free(&names);
                        return -ENOMEM;
                }
                class_column = true;
        }
        *ret = names;
        *ret_class_column = class_column;
        return 0;
}

int format_event_cells(const json_t *event, const Names *columns, bool class_column, char **cells) {
        const json_t *target = event_target(event);
        for (size_t c = 0; c < columns->n; c++) {
                const json_t *v;
                if (class_column && c == 0)
                        v = json_object_get(event, "__CLASS");
                else
                        v = format_object_get(target ? target : event, columns->v[c]);
                cells[c] = format_value(v);
                if (!cells[c]) {
                        free_cells(cells, c);
                        return -ENOMEM;
                }
        }
        return 0;
}
