/* Unit tests for WQL evaluation: LIKE matching (edge cases, case folding,
 * UTF-8, a property test against a simple recursive matcher, adversarial
 * patterns) and case-insensitive text comparison. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "like.h"
#include "mem.h"

/* ---- LIKE ---- */

static void assert_like(const char *pattern, const char *text, bool expected) {
        if (like_match(pattern, text) != expected)
                fail_msg("'%s' LIKE '%s': expected %s", text, pattern, expected ? "TRUE" : "FALSE");
}

static void test_like_basics(void **state) {
        (void)state;
        /* empty pattern: only the empty text */
        assert_like("", "", true);
        assert_like("", "a", false);
        /* only % */
        assert_like("%", "", true);
        assert_like("%", "anything at all", true);
        assert_like("%%%", "", true);
        assert_like("%%%", "abc", true);
        /* literal */
        assert_like("abc", "abc", true);
        assert_like("abc", "abcd", false);
        assert_like("abc", "ab", false);
        assert_like("abc", "xabc", false);
        /* % positions */
        assert_like("ssh%", "sshd", true);
        assert_like("ssh%", "ssh", true);
        assert_like("ssh%", "xssh", false);
        assert_like("%sh", "bash", true);
        assert_like("%sh", "bashx", false);
        assert_like("%as%", "bash", true);
        assert_like("a%b%c", "aXXbYYc", true);
        assert_like("a%b%c", "aXXcYYb", false);
        assert_like("a%%b", "ab", true);
        assert_like("%a%", "", false);
        assert_like("%abab", "abababab", true);
        assert_like("%aab", "aaaab", true);
        assert_like("a%aab", "aab", false);
        /* _ is exactly one character */
        assert_like("_", "", false);
        assert_like("_", "a", true);
        assert_like("_", "ab", false);
        assert_like("a_c", "abc", true);
        assert_like("a_c", "ac", false);
        assert_like("___", "abc", true);
        assert_like("_%_", "a", false);
        assert_like("_%_", "ab", true);
        assert_like("%_", "", false);
        assert_like("%_", "x", true);
}

static void test_like_sets(void **state) {
        (void)state;
        assert_like("[abc]", "b", true);
        assert_like("[abc]", "d", false);
        assert_like("[abc]", "", false);
        assert_like("[abc]", "ab", false);
        assert_like("[abc]%", "ax", true);
        assert_like("[a-c]", "b", true);
        assert_like("[a-c]", "d", false);
        assert_like("[a=c]", "b", true); /* WMI's documented range form */
        assert_like("[a=c]", "=", false);
        assert_like("[^a-c]", "d", true);
        assert_like("[^a-c]", "b", false);
        assert_like("[^abc]", "a", false);
        assert_like("[^abc]", "", false);
        assert_like("[0-9][0-9]", "42", true);
        assert_like("[0-9][0-9]", "4x", false);
        assert_like("[a-cx-z]", "y", true);
        assert_like("[a-cx-z]", "m", false);
        /* the usual way to match %, _ and [ themselves */
        assert_like("[%]", "%", true);
        assert_like("[%]", "a", false);
        assert_like("100[%]", "100%", true);
        assert_like("100[%]", "1000", false);
        assert_like("[_]", "_", true);
        assert_like("[_]", "a", false);
        assert_like("a[_]b", "a_b", true);
        assert_like("a[_]b", "axb", false);
        assert_like("[[]", "[", true);
        assert_like("[[]x]", "[x]", true);
        /* ] right after [ or [^ is a member */
        assert_like("[]]", "]", true);
        assert_like("[]a]", "a", true);
        assert_like("[^]]", "]", false);
        assert_like("[^]]", "x", true);
        /* - or = that cannot form a range is a member */
        assert_like("[a-]", "-", true);
        assert_like("[a-]", "a", true);
        assert_like("[-a]", "-", true);
        assert_like("[=]", "=", true);
        /* a reversed range matches nothing */
        assert_like("[z-a]", "m", false);
        assert_like("[z-a]", "z", false);
        assert_like("[^z-a]", "m", true);
        /* ^ not first is a member */
        assert_like("[a^]", "^", true);
        /* [ without ] is an ordinary character */
        assert_like("[a", "[a", true);
        assert_like("[a", "a", false);
        assert_like("a[", "a[", true);
        assert_like("[", "[", true);
        assert_like("[]", "[]", true);
        assert_like("[^", "[^", true);
        /* ranges and sets are case-insensitive too */
        assert_like("[a-c]", "B", true);
        assert_like("[A-C]", "b", true);
        assert_like("[^a-c]", "B", false);
        assert_like("[xyz]", "Y", true);
}

static void test_like_no_escape(void **state) {
        (void)state;
        /* a backslash is an ordinary character in a pattern */
        assert_like("a\\%", "a\\", true);
        assert_like("a\\%", "a\\bc", true);
        assert_like("a\\%", "a%", false);
        assert_like("C:\\Temp\\%", "c:\\temp\\x.txt", true);
        assert_like("a\\_", "a\\b", true);
        assert_like("a\\_", "a_", false);
}

static void test_like_case(void **state) {
        (void)state;
        assert_like("SSH%", "sshd", true);
        assert_like("ssh%", "SSHD", true);
        assert_like("MiXeD", "mixed", true);
        /* Latin-1, Latin Extended-A, Greek, Cyrillic */
        assert_like("\xc3\x84pfel", "\xc3\xa4pfel", true);             /* Äpfel / äpfel */
        assert_like("%\xc3\x9c%", "m\xc3\xbc" "de", true);             /* Ü in müde */
        assert_like("\xc5\x81\xc3\xb3" "d\xc5\xba", "\xc5\x82\xc3\x93" "D\xc5\xb9", true); /* Łódź / łÓDŹ */
        assert_like("\xc3\xbf", "\xc5\xb8", true);                    /* ÿ / Ÿ */
        assert_like("\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91", "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1", true); /* ΣΟΦΙΑ */
        assert_like("\xce\x86", "\xce\xac", true);                    /* Ά / ά */
        assert_like("%\xcf\x82", "\xce\xa3", true);                   /* final sigma */
        assert_like("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2", "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", true); /* ПРИВЕТ */
        assert_like("\xd0\x81\xd0\xb6", "\xd1\x91\xd0\xb6", true);   /* Ёж / ёж */
        /* no full case folding: ß is not SS, and the Turkish dotted I is its own */
        assert_like("stra\xc3\x9f" "e", "STRASSE", false);
        assert_like("\xc4\xb0", "i", false);
        /* a range matches either case of a character */
        assert_like("[\xc3\xa0-\xc3\xbe]", "\xc3\x84", true); /* [à-þ] matches Ä */
}

static void test_like_utf8(void **state) {
        (void)state;
        /* _ is one character, whatever its byte length */
        assert_like("_", "\xc3\xa9", true);             /* é */
        assert_like("_", "\xe2\x82\xac", true);         /* € */
        assert_like("_", "\xf0\x9f\x98\x80", true);     /* 😀 */
        assert_like("__", "\xc3\xa9", false);
        assert_like("a_c", "a\xe2\x82\xac" "c", true);
        assert_like("%\xe2\x82\xac", "100 \xe2\x82\xac", true);
        assert_like("[\xc3\xa9\xe2\x82\xac]", "\xe2\x82\xac", true);
        assert_like("[^\xc3\xa9]", "\xc3\xa9", false);
        assert_like("[\xce\xb1-\xcf\x89]", "\xce\xbb", true); /* [α-ω] has λ */
        assert_like("[\xce\xb1-\xcf\x89]", "\xce\x9b", true); /* and Λ */
        assert_like("[\xce\xb1-\xcf\x89]", "l", false);
        /* invalid UTF-8 text: each bad byte is one character equal to itself */
        assert_like("a_", "a\xff", true);
        assert_like("a\xff", "a\xff", true);
        assert_like("a\xfe", "a\xff", false);
        assert_like("_", "\xc3", true);         /* truncated sequence */
        assert_like("__", "\xc3" "a", true);
        assert_like("_", "\xed\xa0\x80", false); /* a surrogate is 3 bad bytes */
        assert_like("___", "\xed\xa0\x80", true);
        assert_like("%", "\xff\xfe", true);
}

/* A slow, obviously right matcher over ASCII: recursion on every '%'. */
static bool ref_element(const char *p, char c, size_t *len) {
        if (*p == '_') {
                *len = 1;
                return true;
        }
        if (*p == '[') {
                size_t j = 1;
                bool neg = false;
                if (p[j] == '^') {
                        neg = true;
                        j++;
                }
                size_t start = j;
                if (p[j] == ']')
                        j++;
                while (p[j] && p[j] != ']')
                        j++;
                if (p[j] == ']') {
                        bool found = false;
                        int lc = tolower((unsigned char)c), uc = toupper((unsigned char)c);
                        for (size_t k = start; k < j;) {
                                if (!(k == start && p[k] == ']') && k + 2 < j &&
                                    (p[k + 1] == '-' || p[k + 1] == '=')) {
                                        int lo = (unsigned char)p[k], hi = (unsigned char)p[k + 2];
                                        if ((c >= lo && c <= hi) || (lc >= lo && lc <= hi) ||
                                            (uc >= lo && uc <= hi))
                                                found = true;
                                        k += 3;
                                } else {
                                        if (tolower((unsigned char)p[k]) == lc)
                                                found = true;
                                        k++;
                                }
                        }
                        *len = j + 1;
                        return found != neg;
                }
        }
        *len = 1;
        return tolower((unsigned char)*p) == tolower((unsigned char)c);
}

static bool ref_match(const char *p, const char *t) {
        if (*p == '\0')
                return *t == '\0';
        if (*p == '%')
                return ref_match(p + 1, t) || (*t && ref_match(p, t + 1));
        if (*t == '\0')
                return false;
        size_t len;
        return ref_element(p, *t, &len) && ref_match(p + len, t + 1);
}

static void test_like_property(void **state) {
        (void)state;
        static const char pattern_chars[] = "aAbB%%%__[[]]^-=c";
        static const char text_chars[] = "aAbBc%_[]^-=";
        srand(12345);
        for (int iter = 0; iter < 200000; iter++) {
                char p[12], t[12];
                size_t pl = (size_t)rand() % 10, tl = (size_t)rand() % 10;
                for (size_t i = 0; i < pl; i++)
                        p[i] = pattern_chars[(size_t)rand() % (sizeof(pattern_chars) - 1)];
                for (size_t i = 0; i < tl; i++)
                        t[i] = text_chars[(size_t)rand() % (sizeof(text_chars) - 1)];
                p[pl] = t[tl] = '\0';
                bool want = ref_match(p, t);
                if (like_match(p, t) != want)
                        fail_msg("'%s' LIKE '%s': reference says %d", t, p, want);
        }
}

static double seconds_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_like_adversarial(void **state) {
        (void)state;
        /* patterns that make a backtracking matcher exponential */
        size_t n = 200000;
        char *text = mem_malloc(n + 2);
        assert_non_null(text);
        memset(text, 'a', n);
        text[n] = '\0';
        double start = seconds_now();
        assert_false(like_match("%a%a%a%a%a%a%a%a%a%a%a%a%b", text));
        assert_false(like_match("%aaaaaaaaaaaaaaaaaaaaaaab", text));
        assert_false(like_match("%_%_%_%_%_%_%_%_%_%_%_%_%b", text));
        assert_false(like_match("%[a]%[a]%[a]%[a]%[a]%[a]%[^a]", text));
        assert_true(like_match("%a%a%a%a%a%a%a%a%a%a%a%a%", text));
        text[n] = 'b';
        text[n + 1] = '\0';
        assert_true(like_match("%a%a%a%a%a%a%a%a%a%a%a%a%b", text));
        assert_true(like_match("%aaaaaaaaaaaaaaaaaaaaaaab", text));
        double elapsed = seconds_now() - start;
        /* linear: a few million steps; generous for sanitizer builds */
        if (elapsed > 3.0)
                fail_msg("adversarial patterns took %.2f s", elapsed);
        mem_free(text);
}

static void test_text_compare(void **state) {
        (void)state;
        assert_int_equal(like_text_compare("", ""), 0);
        assert_int_equal(like_text_compare("abc", "ABC"), 0);
        assert_true(like_text_compare("abc", "abd") < 0);
        assert_true(like_text_compare("ABD", "abc") > 0);
        assert_true(like_text_compare("ab", "abc") < 0);
        assert_true(like_text_compare("abc", "ab") > 0);
        assert_true(like_text_compare("", "a") < 0);
        assert_int_equal(like_text_compare("\xc3\x84pfel", "\xc3\xa4PFEL"), 0);
        assert_true(like_text_compare("a", "\xc3\xa4") < 0); /* by code point */
        assert_true(like_text_compare("Z", "a") > 0);       /* folded: z > a */
        assert_true(like_text_compare("\xff", "\xfe") > 0);
        assert_int_equal(like_fold_lower('A'), 'a');
        assert_int_equal(like_fold_upper('a'), 'A');
        assert_int_equal(like_fold_lower(0x100), 0x101);
        assert_int_equal(like_fold_upper(0x101), 0x100);
        assert_int_equal(like_fold_lower(0x139), 0x13A);
        assert_int_equal(like_fold_upper(0x13A), 0x139);
        assert_int_equal(like_fold_upper(0x100), 0x100);
        assert_int_equal(like_fold_lower('1'), '1');
        assert_int_equal(like_fold_lower(0xD7), 0xD7); /* × has no case */
        /* every fold has its inverse */
        for (uint32_t cp = 0; cp < 0x500; cp++) {
                uint32_t lo = like_fold_lower(cp);
                if (lo != cp && cp != 0x3C2)
                        assert_int_equal(like_fold_upper(lo), cp);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_like_basics),
                cmocka_unit_test(test_like_sets),
                cmocka_unit_test(test_like_no_escape),
                cmocka_unit_test(test_like_case),
                cmocka_unit_test(test_like_utf8),
                cmocka_unit_test(test_like_property),
                cmocka_unit_test(test_like_adversarial),
                cmocka_unit_test(test_text_compare),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
