/* WQL lexer: query text to tokens with positions; see wql_lex.h for the
 * lexical rules (strings, escapes, numbers, white space). */
#include "wql_lex.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"

static const struct {
        const char *word;
        WqlTokenKind kind;
} keywords[] = {
        { "SELECT", WQL_TOK_SELECT }, { "FROM", WQL_TOK_FROM }, { "WHERE", WQL_TOK_WHERE },
        { "WITHIN", WQL_TOK_WITHIN }, { "AND", WQL_TOK_AND },   { "OR", WQL_TOK_OR },
        { "NOT", WQL_TOK_NOT },       { "LIKE", WQL_TOK_LIKE }, { "IS", WQL_TOK_IS },
        { "ISA", WQL_TOK_ISA },       { "NULL", WQL_TOK_NULL }, { "TRUE", WQL_TOK_TRUE },
        { "FALSE", WQL_TOK_FALSE },
};

int wql_error_at(Error *err, unsigned line, unsigned column, const char *fmt, ...) {
        if (err) {
                char msg[sizeof(err->message)];
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(msg, sizeof(msg), fmt, ap);
                va_end(ap);
                error_set_at(err, WBEM_E_INVALID_QUERY, line, column, "line %u, column %u: %s",
                             line, column, msg);
        }
        return WBEM_E_INVALID_QUERY;
}

static char ascii_upper(char c) {
        return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

bool wql_ascii_equal_n(const char *s, size_t n, const char *word) {
        for (size_t i = 0; i < n; i++)
                if (word[i] == '\0' || ascii_upper(s[i]) != ascii_upper(word[i]))
                        return false;
        return word[n] == '\0';
}

static bool is_digit(unsigned char c) {
        return c >= '0' && c <= '9';
}

static bool is_hex_digit(unsigned char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Bytes >= 0x80 are parts of non-ASCII characters (the text is valid
 * UTF-8), which WMI allows in names. */
static bool is_ident_start(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident_char(unsigned char c) {
        return is_ident_start(c) || is_digit(c);
}

static unsigned saturating_inc(unsigned v) {
        return v == UINT32_MAX ? v : v + 1;
}

/* Length of the UTF-8 sequence at s (n bytes available), or 0 when it is
 * invalid: overlong forms, surrogates and values past U+10FFFF are refused. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                need = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
                need = 3;
                if (c == 0xE0)
                        lo = 0xA0;
                else if (c == 0xED)
                        hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
                need = 4;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;
        } else
                return 0;
        if (n < need)
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < need; i++)
                if (s[i] < 0x80 || s[i] > 0xBF)
                        return 0;
        return need;
}

int wql_lex_check_text(const char *text, size_t len, Error *err) {
        const unsigned char *s = (const unsigned char *)text;
        unsigned line = 1, column = 1;
        size_t i = 0;
        while (i < len) {
                if (s[i] == '\0')
                        return wql_error_at(err, line, column, "NUL byte in query");
                size_t n = utf8_sequence_length(s + i, len - i);
                if (n == 0)
                        return wql_error_at(err, line, column,
                                            "invalid UTF-8 sequence (byte 0x%02x)", s[i]);
                if (s[i] == '\n') {
                        line = saturating_inc(line);
                        column = 1;
                } else {
                        for (size_t k = 0; k < n; k++)
                                column = saturating_inc(column);
                }
                i += n;
        }
        return 0;
}

void wql_lex_init(WqlLexer *lx, const char *text, size_t len) {
        *lx = (WqlLexer){ .text = text, .len = len, .pos = 0, .line = 1, .column = 1 };
}

void wql_token_clear(WqlToken *t) {
        mem_free(t->str);
        *t = (WqlToken){ .kind = WQL_TOK_END };
}

/* Move over n bytes, keeping line and column. */
static void lexer_advance(WqlLexer *lx, size_t n) {
        for (size_t i = 0; i < n && lx->pos < lx->len; i++, lx->pos++) {
                if (lx->text[lx->pos] == '\n') {
                        lx->line = saturating_inc(lx->line);
                        lx->column = 1;
                } else
                        lx->column = saturating_inc(lx->column);
        }
}

void wql_token_describe(const WqlLexer *lx, const WqlToken *t, char *buf, size_t size) {
        if (t->kind == WQL_TOK_END) {
                snprintf(buf, size, "end of query");
                return;
        }
        const size_t max = 40;
        size_t n = t->length;
        bool cut = false;
        if (n > max) {
                n = max;
                /* back up to the start of a character */
                while (n > 0 && ((unsigned char)lx->text[t->offset + n] & 0xC0) == 0x80)
                        n--;
                cut = true;
        }
        const char *raw = lx->text + t->offset;
        if (t->kind == WQL_TOK_STRING)
                snprintf(buf, size, "string %.*s%s", (int)n, raw, cut ? "..." : "");
        else
                snprintf(buf, size, "'%.*s%s'", (int)n, raw, cut ? "..." : "");
}

static int lex_error_token(WqlLexer *lx, const WqlToken *t, Error *err, const char *what) {
        char desc[64];
        wql_token_describe(lx, t, desc, sizeof(desc));
        return wql_error_at(err, t->line, t->column, "%s %s", what, desc);
}

bool wql_strtod_c(const char *s, double *ret) {
        /* The C locale, so that "1.5" reads the same whatever LC_NUMERIC the
         * program runs with; glibc returns a static object for "C". */
        locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (!c)
                return false;
        char *end;
        *ret = strtod_l(s, &end, c);
        freelocale(c);
        return end != s;
}

/* A real written in s[0..n) (already checked against the grammar). Short
 * texts are copied to the stack; only absurdly long ones allocate. */
static int parse_real(const char *s, size_t n, double *ret) {
        char small[128];
        char *copy = small;
        if (n >= sizeof(small)) {
                copy = mem_strndup(s, n);
                if (!copy)
                        return -ENOMEM;
        } else {
                memcpy(small, s, n);
                small[n] = '\0';
        }
        bool ok = wql_strtod_c(copy, ret);
        if (copy != small)
                mem_free(copy);
        return ok ? 0 : -ENOMEM;
}

/* Store magnitude mag with its sign as the smallest fitting literal kind:
 * INTEGER for what fits int64_t, UNSIGNED for larger positive values. False
 * when a negative value is below INT64_MIN. */
static bool set_integer(WqlToken *t, uint64_t mag, bool negative) {
        if (negative) {
                if (mag > (uint64_t)INT64_MAX + 1)
                        return false;
                t->num.kind = WQL_LIT_INTEGER;
                t->num.i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        } else if (mag > (uint64_t)INT64_MAX) {
                t->num.kind = WQL_LIT_UNSIGNED;
                t->num.u = mag;
        } else {
                t->num.kind = WQL_LIT_INTEGER;
                t->num.i = (int64_t)mag;
        }
        return true;
}

static int lex_number(WqlLexer *lx, WqlToken *t, Error *err) {
        const unsigned char *s = (const unsigned char *)lx->text;
        size_t i = lx->pos, len = lx->len;
        bool negative = false;
        if (s[i] == '+' || s[i] == '-') {
                t->has_sign = true;
                negative = s[i] == '-';
                i++;
        }
        size_t body = i;
        bool hex = i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
        /* Take everything that could belong to the number, so that "12abc"
         * is one invalid number rather than 12 followed by a name. */
        while (i < len) {
                if (is_ident_char(s[i]) || s[i] == '.')
                        i++;
                else if ((s[i] == '+' || s[i] == '-') && !hex && i > body &&
                         (s[i - 1] == 'e' || s[i - 1] == 'E'))
                        i++;
                else
                        break;
        }
        t->kind = WQL_TOK_NUMBER;
        t->length = i - lx->pos;

        size_t p = body, end = i;
        if (hex) {
                p += 2;
                if (p == end)
                        return lex_error_token(lx, t, err, "invalid number");
                uint64_t mag = 0;
                for (; p < end; p++) {
                        if (!is_hex_digit(s[p]))
                                return lex_error_token(lx, t, err, "invalid number");
                        unsigned d = is_digit(s[p]) ? (unsigned)(s[p] - '0')
                                                    : (unsigned)((s[p] | 0x20) - 'a' + 10);
                        if (mag > (UINT64_MAX >> 4))
                                return lex_error_token(lx, t, err, "number out of range:");
                        mag = (mag << 4) | d;
                }
                if (!set_integer(t, mag, negative))
                        return lex_error_token(lx, t, err, "number out of range:");
                lexer_advance(lx, t->length);
                return 0;
        }

        size_t int_digits = 0, frac_digits = 0, exp_digits = 0;
        bool is_real = false;
        while (p < end && is_digit(s[p]))
                p++, int_digits++;
        if (p < end && s[p] == '.') {
                is_real = true;
                p++;
                while (p < end && is_digit(s[p]))
                        p++, frac_digits++;
                if (frac_digits == 0)
                        return lex_error_token(lx, t, err, "invalid number");
        }
        if (p < end && (s[p] == 'e' || s[p] == 'E')) {
                is_real = true;
                p++;
                if (p < end && (s[p] == '+' || s[p] == '-'))
                        p++;
                while (p < end && is_digit(s[p]))
                        p++, exp_digits++;
                if (exp_digits == 0)
                        return lex_error_token(lx, t, err, "invalid number");
        }
        if (p != end || int_digits == 0)
                return lex_error_token(lx, t, err, "invalid number");

        if (is_real) {
                double v;
                int r = parse_real(lx->text + lx->pos, t->length, &v);
                if (r < 0)
                        return r;
                if (!isfinite(v))
                        return lex_error_token(lx, t, err, "number out of range:");
                t->num.kind = WQL_LIT_REAL;
                t->num.r = v;
                lexer_advance(lx, t->length);
                return 0;
        }

        uint64_t mag = 0;
        for (p = body; p < end; p++) {
                unsigned d = (unsigned)(s[p] - '0');
                if (mag > (UINT64_MAX - d) / 10)
                        return lex_error_token(lx, t, err, "number out of range:");
                mag = mag * 10 + d;
        }
        if (!set_integer(t, mag, negative))
                return lex_error_token(lx, t, err, "number out of range:");
        lexer_advance(lx, t->length);
        return 0;
}

static bool is_escapable(char c) {
        return c == '\\' || c == '\'' || c == '"';
}

static int lex_string(WqlLexer *lx, WqlToken *t, Error *err) {
        const char *s = lx->text;
        char quote = s[lx->pos];
        size_t i = lx->pos + 1;
        /* First find the closing quote, so the value can be allocated once
         * at its raw size. */
        for (;;) {
                if (i >= lx->len)
                        return wql_error_at(err, t->line, t->column, "unterminated string");
                if (s[i] == quote)
                        break;
                if (s[i] == '\\' && i + 1 < lx->len && is_escapable(s[i + 1]))
                        i += 2;
                else
                        i++;
        }
        size_t close = i;
        char *value = mem_malloc(close - lx->pos);
        if (!value)
                return -ENOMEM;
        size_t k = 0;
        for (i = lx->pos + 1; i < close; i++) {
                if (s[i] == '\\' && is_escapable(s[i + 1]))
                        i++;
                value[k++] = s[i];
        }
        value[k] = '\0';
        t->kind = WQL_TOK_STRING;
        t->str = value;
        t->length = close + 1 - lx->pos;
        lexer_advance(lx, t->length);
        return 0;
}

int wql_lex_next(WqlLexer *lx, WqlToken *ret, Error *err) {
        const unsigned char *s = (const unsigned char *)lx->text;
        while (lx->pos < lx->len && (s[lx->pos] == ' ' || s[lx->pos] == '\t' ||
                                     s[lx->pos] == '\r' || s[lx->pos] == '\n'))
                lexer_advance(lx, 1);

        WqlToken t = {
                .kind = WQL_TOK_END, .offset = lx->pos, .line = lx->line, .column = lx->column
        };
        if (lx->pos >= lx->len) {
                *ret = t;
                return 0;
        }

        unsigned char c = s[lx->pos];
        unsigned char next = lx->pos + 1 < lx->len ? s[lx->pos + 1] : 0;
        if (is_ident_start(c)) {
                size_t i = lx->pos;
                while (i < lx->len && is_ident_char(s[i]))
                        i++;
                t.kind = WQL_TOK_IDENT;
                t.length = i - lx->pos;
                for (size_t k = 0; k < ELEMENTSOF(keywords); k++)
                        if (wql_ascii_equal_n(lx->text + lx->pos, t.length, keywords[k].word)) {
                                t.kind = keywords[k].kind;
                                break;
                        }
                lexer_advance(lx, t.length);
                *ret = t;
                return 0;
        }
        if (is_digit(c) || ((c == '+' || c == '-') && is_digit(next))) {
                int r = lex_number(lx, &t, err);
                if (r != 0)
                        return r;
                *ret = t;
                return 0;
        }
        if (c == '\'' || c == '"') {
                int r = lex_string(lx, &t, err);
                if (r != 0)
                        return r;
                *ret = t;
                return 0;
        }

        t.length = 1;
        switch (c) {
        case '*':
                t.kind = WQL_TOK_STAR;
                break;
        case ',':
                t.kind = WQL_TOK_COMMA;
                break;
        case '.':
                t.kind = WQL_TOK_DOT;
                break;
        case '(':
                t.kind = WQL_TOK_LPAREN;
                break;
        case ')':
                t.kind = WQL_TOK_RPAREN;
                break;
        case '=':
                t.kind = WQL_TOK_EQ;
                break;
        case '<':
                if (next == '=') {
                        t.kind = WQL_TOK_LE;
                        t.length = 2;
                } else if (next == '>') {
                        t.kind = WQL_TOK_NE;
                        t.length = 2;
                } else
                        t.kind = WQL_TOK_LT;
                break;
        case '>':
                if (next == '=') {
                        t.kind = WQL_TOK_GE;
                        t.length = 2;
                } else
                        t.kind = WQL_TOK_GT;
                break;
        case '!':
                if (next == '=') {
                        t.kind = WQL_TOK_NE;
                        t.length = 2;
                } else
                        t.kind = WQL_TOK_OTHER;
                break;
        case '+':
        case '-':
        case '/':
        case '%':
                t.kind = WQL_TOK_ARITH;
                break;
        default:
                if (c < 0x20 || c == 0x7F)
                        return wql_error_at(err, t.line, t.column,
                                            "unexpected control character 0x%02x", c);
                t.kind = WQL_TOK_OTHER;
                break;
        }
        lexer_advance(lx, t.length);
        *ret = t;
        return 0;
}
