/* Aligned text tables for the command-line client: columns of cells
 * padded to the widest cell, two spaces apart, as `ps` prints them.
 *
 * Widths are terminal columns, not bytes: UTF-8 text is measured by code
 * point, East Asian wide and fullwidth characters count two, combining
 * marks and zero-width characters nothing. Control characters in a cell are
 * shown escaped (\n, \t, \xNN) so that one row stays one line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum TableAlign {
        TABLE_ALIGN_LEFT,
        TABLE_ALIGN_RIGHT,
} TableAlign;

typedef struct Table Table;

/* A table of n_columns (>= 1) columns; 0 or -ENOMEM / -EINVAL. */
int table_new(size_t n_columns, Table **ret);
Table *table_free(Table *t);

/* A header row is printed when at least one header is set. */
int table_set_header(Table *t, size_t column, const char *text);
void table_set_align(Table *t, size_t column, TableAlign align);

/* Append a row of n_columns cells (copied; a NULL cell is empty). */
int table_add_row(Table *t, const char *const *cells);
size_t table_rows(const Table *t);

/* The whole table as text, each row ending in '\n', with no trailing
 * spaces; "" when there are no rows. 0 or -ENOMEM. */
int table_format(const Table *t, char **ret);

/* Rows printed one at a time, as they come (lwmi watch): the text of one
 * row of n_columns cells, preceded on the first call by the header row when
 * one is set, with each column padded to the widest cell it has had so far
 * (header included). Widths only grow, so rows line up as long as values
 * keep their width. The row is not kept in the table. 0 or -ENOMEM. */
int table_stream_row(Table *t, const char *const *cells, char **ret);

/* Terminal columns taken by UTF-8 text (invalid bytes count one each). */
size_t table_text_width(const char *s);
/* Terminal columns of one code point: 0, 1 or 2. */
unsigned table_codepoint_width(unsigned cp);
/* Decode one UTF-8 sequence at s (NUL-terminated): its code point in *cp and
 * its length in bytes; an invalid byte gives U+FFFD and length 1. */
size_t table_utf8_decode(const char *s, unsigned *cp);
