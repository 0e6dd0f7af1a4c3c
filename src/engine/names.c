/* CIM names: case-insensitive identifiers that keep their spelling.
 *
 * Only ASCII letters fold; every other byte (including each byte of a
 * non-ASCII UTF-8 character) compares as itself. See names.h. */
#include "names.h"

#include <stdint.h>

static inline unsigned char name_fold(unsigned char c) {
        return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static inline bool name_is_letter(unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

bool name_equal(const char *a, const char *b) {
        return name_compare(a, b) == 0;
}

int name_compare(const char *a, const char *b) {
        const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
        for (;; p++, q++) {
                unsigned char x = name_fold(*p), y = name_fold(*q);
                if (x != y)
                        return x < y ? -1 : 1;
                if (x == '\0')
                        return 0;
        }
}

bool name_is_valid(const char *s) {
        const unsigned char *p = (const unsigned char *)s;
        if (!p || !name_is_letter(*p))
                return false;
        for (p++; *p; p++)
                if (!name_is_letter(*p) && !(*p >= '0' && *p <= '9'))
                        return false;
        return true;
}

size_t name_hash(const char *s) {
        uint64_t h = UINT64_C(14695981039346656037);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                h ^= name_fold(*p);
                h *= UINT64_C(1099511628211);
        }
        return (size_t)h;
}
