/* Aligned text tables; see table.h. */
#include "table.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "strbuf.h"

struct Table {
        size_t n_columns;
        char **headers;    /* n_columns, NULL when unset */
        TableAlign *align; /* n_columns */
        char **cells;      /* n_rows * n_columns, escaped */
        size_t n_rows;
        size_t cap_rows;
        size_t *stream_widths; /* table_stream_row(): widest cell so far */
        bool stream_started;
};

int table_new(size_t n_columns, Table **ret) {
        if (n_columns == 0)
                return -EINVAL;
        Table *t = mem_calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->n_columns = n_columns;
        t->headers = mem_calloc(n_columns, sizeof(char *));
        t->align = mem_calloc(n_columns, sizeof(TableAlign));
        if (!t->headers || !t->align) {
                table_free(t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; t->headers && i < t->n_columns; i++)
                mem_free(t->headers[i]);
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                mem_free(t->cells[i]);
        mem_free(t->headers);
        mem_free(t->align);
        mem_free(t->cells);
        mem_free(t->stream_widths);
        mem_free(t);
        return NULL;
}

size_t table_utf8_decode(const char *s, unsigned *cp) {
        const unsigned char *p = (const unsigned char *)s;
        unsigned c = p[0];
        size_t len;
        unsigned min;
        if (c < 0x80) {
                *cp = c;
                return 1;
        }
        if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
                min = 0x80;
                c &= 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                min = 0x800;
                c &= 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                min = 0x10000;
                c &= 0x07;
        } else
                goto invalid;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        goto invalid;
                c = (c << 6) | (p[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                goto invalid;
        *cp = c;
        return len;
invalid:
        *cp = 0xFFFD;
        return 1;
}

/* Ranges from Unicode's East Asian Width (W and F) and the general
 * categories Mn/Me/Cf, condensed to the blocks that matter in practice. */
static const struct {
        unsigned first, last;
} zero_width[] = {
        { 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x0610, 0x061A },
        { 0x064B, 0x065F }, { 0x0E31, 0x0E31 }, { 0x0E34, 0x0E3A }, { 0x0E47, 0x0E4E },
        { 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF }, { 0x200B, 0x200F }, { 0x202A, 0x202E },
        { 0x2060, 0x2064 }, { 0x20D0, 0x20FF }, { 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F },
        { 0xFEFF, 0xFEFF }, { 0xE0100, 0xE01EF },
}, wide[] = {
        { 0x1100, 0x115F }, { 0x231A, 0x231B }, { 0x2329, 0x232A }, { 0x23E9, 0x23EC },
        { 0x2E80, 0x303E }, { 0x3041, 0x33FF }, { 0x3400, 0x4DBF }, { 0x4E00, 0x9FFF },
        { 0xA000, 0xA4CF }, { 0xA960, 0xA97F }, { 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF },
        { 0xFE10, 0xFE19 }, { 0xFE30, 0xFE6F }, { 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 },
        { 0x1F300, 0x1F64F }, { 0x1F900, 0x1F9FF }, { 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD },
};

static bool in_ranges(unsigned cp, const void *ranges, size_t n) {
        const struct { unsigned first, last; } *r = ranges;
        for (size_t i = 0; i < n; i++)
                if (cp >= r[i].first && cp <= r[i].last)
                        return true;
        return false;
}

unsigned table_codepoint_width(unsigned cp) {
        if (in_ranges(cp, zero_width, ELEMENTSOF(zero_width)))
                return 0;
        if (in_ranges(cp, wide, ELEMENTSOF(wide)))
                return 2;
        return 1;
}

size_t table_text_width(const char *s) {
        size_t width = 0;
        while (*s) {
                unsigned cp;
                s += table_utf8_decode(s, &cp);
                width += table_codepoint_width(cp);
        }
        return width;
}

/* A copy with control characters escaped and invalid UTF-8 replaced, so
 * that widths are right and one cell stays on one line. */
static char *escape_cell(const char *s) {
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, ""); /* an empty cell is "" */
        while (*s) {
                unsigned cp;
                size_t n = table_utf8_decode(s, &cp);
                if (cp == '\n')
                        strbuf_append(&b, "\\n");
                else if (cp == '\t')
                        strbuf_append(&b, "\\t");
                else if (cp == '\r')
                        strbuf_append(&b, "\\r");
                else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
                        strbuf_printf(&b, "\\x%02x", cp);
                else if (cp == 0xFFFD && n == 1)
                        strbuf_append(&b, "\xEF\xBF\xBD"); /* an invalid byte */
                else
                        strbuf_append_len(&b, s, n);
                s += n;
        }
        return strbuf_steal(&b);
}

int table_set_header(Table *t, size_t column, const char *text) {
        if (column >= t->n_columns)
                return -EINVAL;
        char *copy = escape_cell(text ? text : "");
        if (!copy)
                return -ENOMEM;
        mem_free(t->headers[column]);
        t->headers[column] = copy;
        return 0;
}

void table_set_align(Table *t, size_t column, TableAlign align) {
        if (column < t->n_columns)
                t->align[column] = align;
}

size_t table_rows(const Table *t) {
        return t->n_rows;
}

int table_add_row(Table *t, const char *const *cells) {
        if (t->n_rows == t->cap_rows) {
                size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
                if (cap > ((size_t)-1) / sizeof(char *) / t->n_columns)
                        return -ENOMEM;
                char **c = mem_reallocarray(t->cells, cap * t->n_columns, sizeof(char *));
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->cap_rows = cap;
        }
        char **row = t->cells + t->n_rows * t->n_columns;
        for (size_t i = 0; i < t->n_columns; i++) {
                row[i] = escape_cell(cells[i] ? cells[i] : "");
                if (!row[i]) {
                        while (i > 0)
                                mem_free(row[--i]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

static void append_spaces(StrBuf *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                strbuf_append_char(b, ' ');
}

static void format_row(StrBuf *b, const Table *t, char *const *row, const size_t *widths) {
        /* The last column that has text: nothing (not even padding) after. */
        size_t last = t->n_columns;
        while (last > 0 && !*row[last - 1])
                last--;
        for (size_t i = 0; i < last; i++) {
                size_t pad = widths[i] - table_text_width(row[i]);
                if (i > 0)
                        strbuf_append(b, "  ");
                if (t->align[i] == TABLE_ALIGN_RIGHT)
                        append_spaces(b, pad);
                strbuf_append(b, row[i]);
                if (t->align[i] == TABLE_ALIGN_LEFT && i + 1 < last)
                        append_spaces(b, pad);
        }
        strbuf_append_char(b, '\n');
}

int table_format(const Table *t, char **ret) {
        bool has_header = false;
        for (size_t i = 0; i < t->n_columns; i++)
                has_header = has_header || t->headers[i];
        _cleanup_free_ size_t *widths = mem_calloc(t->n_columns, sizeof(size_t));
        _cleanup_free_ char **header_row = mem_calloc(t->n_columns, sizeof(char *));
        if (!widths || !header_row)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_columns; i++) {
                header_row[i] = t->headers[i] ? t->headers[i] : (char *)"";
                if (has_header)
                        widths[i] = table_text_width(header_row[i]);
        }
        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t i = 0; i < t->n_columns; i++) {
                        size_t w = table_text_width(t->cells[r * t->n_columns + i]);
                        if (w > widths[i])
                                widths[i] = w;
                }
        StrBuf b = STRBUF_INIT;
        strbuf_append(&b, "");
        if (t->n_rows > 0 && has_header)
                format_row(&b, t, header_row, widths);
        for (size_t r = 0; r < t->n_rows; r++)
                format_row(&b, t, t->cells + r * t->n_columns, widths);
        char *s = strbuf_steal(&b);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int table_stream_row(Table *t, const char *const *cells, char **ret) {
        if (!t->stream_widths) {
                t->stream_widths = mem_calloc(t->n_columns, sizeof(size_t));
                if (!t->stream_widths)
                        return -ENOMEM;
        }
        _cleanup_free_ char **row = mem_calloc(t->n_columns, sizeof(char *));
        if (!row)
                return -ENOMEM;
        int r = 0;
        for (size_t i = 0; i < t->n_columns; i++)
                if (!(row[i] = escape_cell(cells[i] ? cells[i] : "")))
                        r = -ENOMEM;
        bool has_header = false;
        for (size_t i = 0; i < t->n_columns; i++)
                has_header = has_header || t->headers[i];
        StrBuf b = STRBUF_INIT;
        if (r == 0) {
                /* Widths only grow: a row never needs less room than the
                 * rows before it were given. */
                size_t *widths = t->stream_widths;
                for (size_t i = 0; i < t->n_columns; i++) {
                        size_t w = table_text_width(row[i]);
                        if (!t->stream_started && has_header && t->headers[i] &&
                            table_text_width(t->headers[i]) > w)
                                w = table_text_width(t->headers[i]);
                        if (w > widths[i])
                                widths[i] = w;
                }
                strbuf_append(&b, "");
                if (!t->stream_started && has_header) {
                        char **header_row = mem_calloc(t->n_columns, sizeof(char *));
                        if (!header_row)
                                r = -ENOMEM;
                        else {
                                for (size_t i = 0; i < t->n_columns; i++)
                                        header_row[i] = t->headers[i] ? t->headers[i] : (char *)"";
                                format_row(&b, t, header_row, widths);
                                mem_free(header_row);
                        }
                }
                format_row(&b, t, row, widths);
        }
        for (size_t i = 0; i < t->n_columns; i++)
                mem_free(row[i]);
        char *text = strbuf_steal(&b);
        if (r < 0 || !text) {
                mem_free(text);
                return -ENOMEM;
        }
        t->stream_started = true;
        *ret = text;
        return 0;
}
