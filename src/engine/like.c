/* WQL LIKE matching and case-insensitive text comparison; see like.h for the
 * pattern rules.
 *
 * The matcher walks pattern and text once, remembering only where the last
 * '%' was and how much text it has swallowed. When a later character fails
 * to match, the '%' swallows one more character and matching resumes just
 * after it. Earlier '%'s never need revisiting: every other pattern element
 * matches exactly one character, so if the part after the last '%' can
 * match anywhere further right, giving an earlier '%' more text would only
 * shift the same search. Hence O(pattern x text), no recursion and no
 * allocation. */
#include "like.h"

#include <stddef.h>
#include <string.h>

/* Invalid bytes decode to 0xDC00 + byte (as Python's surrogateescape does):
 * a value no valid UTF-8 produces, so an invalid byte equals only itself. */
#define INVALID_BYTE_BASE 0xDC00u

/* Decode the character at s (NUL-terminated); *len gets its byte length. */
static uint32_t decode(const unsigned char *s, size_t *len) {
        unsigned char c = s[0];
        if (c < 0x80) {
                *len = 1;
                return c;
        }
        size_t need;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
                need = 2;
                cp = c & 0x1Fu;
                min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
                need = 3;
                cp = c & 0x0Fu;
                min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
                need = 4;
                cp = c & 0x07u;
                min = 0x10000;
        } else {
                *len = 1;
                return INVALID_BYTE_BASE + c;
        }
        for (size_t i = 1; i < need; i++) {
                if ((s[i] & 0xC0) != 0x80) { /* also stops at the NUL */
                        *len = 1;
                        return INVALID_BYTE_BASE + c;
                }
                cp = (cp << 6) | (s[i] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                *len = 1;
                return INVALID_BYTE_BASE + c;
        }
        *len = need;
        return cp;
}

uint32_t like_fold_lower(uint32_t cp) {
        if (cp < 0x80)
                return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
                return cp + 32;
        if (cp >= 0x100 && cp <= 0x17F) {
                /* Latin Extended-A: pairs upper/lower, aligned even below
                 * U+0138 and from U+014A, odd in between and from U+0179;
                 * U+0130, U+0131 (Turkish I) and U+0138 have no simple pair */
                if (cp == 0x130 || cp == 0x131 || cp == 0x138 || cp == 0x149 || cp == 0x17F)
                        return cp;
                if (cp == 0x178)
                        return 0xFF;
                if ((cp < 0x138 || (cp >= 0x14A && cp < 0x178)) && cp % 2 == 0)
                        return cp + 1;
                if (((cp > 0x138 && cp < 0x149) || cp >= 0x179) && cp % 2 == 1)
                        return cp + 1;
                return cp;
        }
        if ((cp >= 0x391 && cp <= 0x3A1) || (cp >= 0x3A3 && cp <= 0x3AB))
                return cp + 32;
        if (cp == 0x386) /* Greek capitals with tonos */
                return 0x3AC;
        if (cp >= 0x388 && cp <= 0x38A)
                return cp + 37;
        if (cp == 0x38C)
                return 0x3CC;
        if (cp == 0x38E || cp == 0x38F)
                return cp + 63;
        if (cp == 0x3C2) /* final sigma folds with sigma */
                return 0x3C3;
        if (cp >= 0x410 && cp <= 0x42F)
                return cp + 32;
        if (cp >= 0x400 && cp <= 0x40F)
                return cp + 80;
        return cp;
}

uint32_t like_fold_upper(uint32_t cp) {
        if (cp < 0x80)
                return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
        if (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7)
                return cp - 32;
        if (cp == 0xFF)
                return 0x178;
        if (cp >= 0x100 && cp <= 0x17F) {
                uint32_t up = cp - 1;
                if (like_fold_lower(up) == cp && up != cp)
                        return up;
                return cp;
        }
        if ((cp >= 0x3B1 && cp <= 0x3C1) || (cp >= 0x3C3 && cp <= 0x3CB))
                return cp - 32;
        if (cp == 0x3AC)
                return 0x386;
        if (cp >= 0x3AD && cp <= 0x3AF)
                return cp - 37;
        if (cp == 0x3CC)
                return 0x38C;
        if (cp == 0x3CD || cp == 0x3CE)
                return cp - 63;
        if (cp == 0x3C2)
                return 0x3A3;
        if (cp >= 0x430 && cp <= 0x44F)
                return cp - 32;
        if (cp >= 0x450 && cp <= 0x45F)
                return cp - 80;
        return cp;
}

int like_text_compare(const char *a, const char *b) {
        const unsigned char *s = (const unsigned char *)a, *t = (const unsigned char *)b;
        for (;;) {
                if (*s == '\0' || *t == '\0')
                        return (*s != '\0') - (*t != '\0');
                size_t ls, lt;
                uint32_t cs = like_fold_lower(decode(s, &ls));
                uint32_t ct = like_fold_lower(decode(t, &lt));
                if (cs != ct)
                        return cs < ct ? -1 : 1;
                s += ls;
                t += lt;
        }
}

uint64_t like_text_hash(const char *s) {
        const unsigned char *p = (const unsigned char *)s;
        uint64_t h = 0xcbf29ce484222325u; /* FNV-1a over 32-bit code points */
        while (*p) {
                size_t len;
                uint32_t cp = like_fold_lower(decode(p, &len));
                for (int k = 0; k < 4; k++) {
                        h ^= (cp >> (8 * k)) & 0xFFu;
                        h *= 0x100000001b3u;
                }
                p += len;
        }
        return h;
}

/* Where the set starting at the '[' at p ends: the index just past its
 * ']', or 0 when it has none (then '[' is an ordinary character). */
static size_t set_end(const unsigned char *p) {
        size_t i = 1;
        if (p[i] == '^')
                i++;
        if (p[i] == ']') /* a leading ']' is a member */
                i++;
        while (p[i] != '\0' && p[i] != ']')
                i++;
        return p[i] == ']' ? i + 1 : 0;
}

static bool in_range(uint32_t c, uint32_t lo, uint32_t hi) {
        return lo <= c && c <= hi;
}

/* Whether c (as decoded, not folded) matches the set p[0..end), p[0] '['. */
static bool set_matches(const unsigned char *p, size_t end, uint32_t c) {
        uint32_t lower = like_fold_lower(c), upper = like_fold_upper(c);
        size_t i = 1, last = end - 1; /* p[last] is the closing ']' */
        bool negated = false, found = false;
        if (p[i] == '^') {
                negated = true;
                i++;
        }
        bool first = true;
        while (i < last) {
                size_t n;
                uint32_t m = decode(p + i, &n);
                /* a range: m '-' hi, where hi is not the closing ']' */
                if (!(first && m == ']') && i + n + 1 < last &&
                    (p[i + n] == '-' || p[i + n] == '=')) {
                        size_t n2;
                        uint32_t hi = decode(p + i + n + 1, &n2);
                        if (in_range(c, m, hi) || in_range(lower, m, hi) || in_range(upper, m, hi))
                                found = true;
                        i += n + 1 + n2;
                } else {
                        if (like_fold_lower(m) == lower)
                                found = true;
                        i += n;
                }
                first = false;
        }
        return found != negated;
}

/* Whether the single-character element at pattern p matches text character
 * c; *plen gets the element's length in bytes. p is not '%' or NUL. */
static bool element_matches(const unsigned char *p, uint32_t c, size_t *plen) {
        if (p[0] == '_') {
                *plen = 1;
                return true;
        }
        if (p[0] == '[') {
                size_t end = set_end(p);
                if (end) {
                        *plen = end;
                        return set_matches(p, end, c);
                }
        }
        uint32_t m = decode(p, plen);
        return like_fold_lower(m) == like_fold_lower(c);
}

bool like_match(const char *pattern, const char *text) {
        const unsigned char *p = (const unsigned char *)pattern;
        const unsigned char *t = (const unsigned char *)text;
        const unsigned char *star_p = NULL; /* just after the last '%' */
        const unsigned char *star_t = NULL; /* where its match ends now */

        while (*t != '\0') {
                if (*p == '%') {
                        while (*p == '%')
                                p++;
                        if (*p == '\0')
                                return true; /* a trailing % takes the rest */
                        star_p = p;
                        star_t = t;
                        continue;
                }
                size_t tlen, plen;
                uint32_t c = decode(t, &tlen);
                if (*p != '\0' && element_matches(p, c, &plen)) {
                        p += plen;
                        t += tlen;
                        continue;
                }
                if (!star_p)
                        return false;
                /* let the last % swallow one more character */
                decode(star_t, &tlen);
                star_t += tlen;
                t = star_t;
                p = star_p;
        }
        while (*p == '%')
                p++;
        return *p == '\0';
}
