/* WQL lexer (private to the WQL parser): turns query text into tokens with
 * their 1-based line and column (columns count bytes; a line ends at LF, CR
 * and TAB are plain white space).
 *
 * The text must have passed wql_lex_check_text() (valid UTF-8, no NUL), so
 * an identifier never splits a multi-byte character and every string the
 * lexer hands out is valid UTF-8.
 *
 * String literals: single or double quotes; a backslash escapes \, ' and ";
 * a backslash before any other character is kept as written, so 'C:\Temp'
 * is the 7 characters C:\Temp (WMI users usually write 'C:\\Temp', which
 * gives the same value). Numbers: decimal integers with an optional sign,
 * hexadecimal 0x..., reals 1.5 / 1e3 / -2.5E-3. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "wql.h"

typedef enum WqlTokenKind {
        WQL_TOK_END,
        WQL_TOK_IDENT,
        WQL_TOK_STRING,
        WQL_TOK_NUMBER,
        /* keywords (any case) */
        WQL_TOK_SELECT,
        WQL_TOK_FROM,
        WQL_TOK_WHERE,
        WQL_TOK_WITHIN,
        WQL_TOK_AND,
        WQL_TOK_OR,
        WQL_TOK_NOT,
        WQL_TOK_LIKE,
        WQL_TOK_IS,
        WQL_TOK_ISA,
        WQL_TOK_NULL,
        WQL_TOK_TRUE,
        WQL_TOK_FALSE,
        /* punctuation */
        WQL_TOK_STAR,
        WQL_TOK_COMMA,
        WQL_TOK_DOT,
        WQL_TOK_LPAREN,
        WQL_TOK_RPAREN,
        WQL_TOK_EQ,
        WQL_TOK_NE, /* <> and != */
        WQL_TOK_LT,
        WQL_TOK_GT,
        WQL_TOK_LE,
        WQL_TOK_GE,
        /* + - / %: WQL has no arithmetic, but a token of its own lets the
         * parser say so instead of a vaguer "expected ..." */
        WQL_TOK_ARITH,
        WQL_TOK_OTHER, /* any other single ASCII punctuation character */
} WqlTokenKind;

typedef struct WqlToken {
        WqlTokenKind kind;
        size_t offset, length; /* the raw text of the token */
        unsigned line, column;
        bool has_sign;  /* NUMBER written with a leading + or - */
        WqlLiteral num; /* NUMBER: WQL_LIT_INTEGER, _UNSIGNED or _REAL */
        char *str;      /* STRING: the unescaped value, owned by the token */
} WqlToken;

typedef struct WqlLexer {
        const char *text;
        size_t len;
        size_t pos;
        unsigned line, column;
} WqlLexer;

/* Reject text that is not valid UTF-8 or contains a NUL byte, with the
 * position of the first bad byte. Returns 0 or WBEM_E_INVALID_QUERY. */
int wql_lex_check_text(const char *text, size_t len, Error *err);

void wql_lex_init(WqlLexer *lx, const char *text, size_t len);
/* The next token into *ret (which must hold no string: clear it first).
 * Returns 0, -ENOMEM, or WBEM_E_INVALID_QUERY (unterminated string, invalid
 * number, control character) with err filled. */
int wql_lex_next(WqlLexer *lx, WqlToken *ret, Error *err);
void wql_token_clear(WqlToken *t);

/* How an error message names a token: "end of query", "string 'abc'" or
 * "'FORM'" (the raw text, cut at 40 bytes on a character boundary). */
void wql_token_describe(const WqlLexer *lx, const WqlToken *t, char *buf, size_t size);

/* Fill err with WBEM_E_INVALID_QUERY, the position, and the message
 * "line L, column C: <fmt...>"; returns WBEM_E_INVALID_QUERY. */
int wql_error_at(Error *err, unsigned line, unsigned column, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* strtod() in the C locale over a NUL-terminated string; false when no
 * number could be read or the C locale is unavailable. Allocates nothing. */
bool wql_strtod_c(const char *s, double *ret);

/* ASCII-only case-insensitive comparison of [s, s+n) with the NUL-terminated
 * word (locale-independent, as names.h folds). */
bool wql_ascii_equal_n(const char *s, size_t n, const char *word);
