/* Unit tests for WQL evaluation: three-valued logic, every comparison rule
 * of docs/wql.md, ISA with inheritance, dotted paths into embedded objects,
 * system properties, validation against a class (wql_check_properties), and
 * LIKE matching (edge cases, case folding, UTF-8, a property test against a
 * simple recursive matcher, adversarial patterns). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "class.h"
#include "cleanup.h"
#include "instance.h"
#include "like.h"
#include "mem.h"
#include "value.h"
#include "wql.h"
#include "wql_eval.h"

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
        assert_like("\xc3\x84pfel", "\xc3\xa4pfel", true); /* Äpfel / äpfel */
        assert_like("%\xc3\x9c%",
                    "m\xc3\xbc"
                    "de",
                    true); /* Ü in müde */
        assert_like("\xc5\x81\xc3\xb3"
                    "d\xc5\xba",
                    "\xc5\x82\xc3\x93"
                    "D\xc5\xb9",
                    true);                         /* Łódź / łÓDŹ */
        assert_like("\xc3\xbf", "\xc5\xb8", true); /* ÿ / Ÿ */
        assert_like("\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91",
                    "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1", true); /* ΣΟΦΙΑ */
        assert_like("\xce\x86", "\xce\xac", true);                     /* Ά / ά */
        assert_like("%\xcf\x82", "\xce\xa3", true);                    /* final sigma */
        assert_like("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2",
                    "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", true); /* ПРИВЕТ */
        assert_like("\xd0\x81\xd0\xb6", "\xd1\x91\xd0\xb6", true);             /* Ёж / ёж */
        /* no full case folding: ß is not SS, and the Turkish dotted I is its own */
        assert_like("stra\xc3\x9f"
                    "e",
                    "STRASSE", false);
        assert_like("\xc4\xb0", "i", false);
        /* a range matches either case of a character */
        assert_like("[\xc3\xa0-\xc3\xbe]", "\xc3\x84", true); /* [à-þ] matches Ä */
}

static void test_like_utf8(void **state) {
        (void)state;
        /* _ is one character, whatever its byte length */
        assert_like("_", "\xc3\xa9", true);         /* é */
        assert_like("_", "\xe2\x82\xac", true);     /* € */
        assert_like("_", "\xf0\x9f\x98\x80", true); /* 😀 */
        assert_like("__", "\xc3\xa9", false);
        assert_like("a_c",
                    "a\xe2\x82\xac"
                    "c",
                    true);
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
        assert_like("_", "\xc3", true); /* truncated sequence */
        assert_like("__",
                    "\xc3"
                    "a",
                    true);
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
        assert_true(like_text_compare("Z", "a") > 0);        /* folded: z > a */
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

/* ---- evaluation fixture ---- */

typedef struct Fixture {
        CimClass *base, *child, *note, *creation, *modification;
        CimClass **system;
        size_t n_system;
        Instance *inner; /* App_Base, Name 'inner' */
        Instance *inst;  /* App_Child with every kind of value */
        Instance *nan;   /* App_Base with Ratio NaN */
        Instance *keyless, *no_ns;
        Instance *created;  /* __InstanceCreationEvent, TargetInstance inst */
        Instance *modified; /* __InstanceModificationEvent, PreviousInstance NULL */
} Fixture;

/* Instances of other classes, to check that a prepared filter's remembered
 * indexes never leak from one class to another (set by fixture_setup). */
static const Instance *other_instances[4];

static void add_prop(CimClass *c, const char *name, CimType t, bool array, bool key) {
        Error err;
        if (class_add_property(c, name, t, array, key, NULL, &err) != 0)
                fail_msg("add %s: %s", name, err.message);
}

static CimClass *derive(CimClass *def, CimClass *super) {
        CimClass *c = NULL;
        Error err;
        if (class_derive(def, super, &c, &err) != 0)
                fail_msg("derive %s: %s", def->name, err.message);
        class_unref(def);
        return c;
}

static void set_value(Instance *i, const char *name, Value v) {
        Error err;
        if (instance_set(i, name, &v, &err) != 0)
                fail_msg("set %s: %s", name, err.message);
        value_clear(&v);
}

static void set_string(Instance *i, const char *name, const char *s) {
        Value v;
        assert_int_equal(value_string(s, &v), 0);
        set_value(i, name, v);
}

static CimClass *find_system(Fixture *f, const char *name) {
        for (size_t k = 0; k < f->n_system; k++)
                if (strcmp(f->system[k]->name, name) == 0)
                        return f->system[k];
        fail_msg("no system class %s", name);
        return NULL;
}

static int fixture_setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        CimClass *def;
        assert_int_equal(class_new("App_Base", NULL, &def, NULL), 0);
        add_prop(def, "Id", CIM_UINT32, false, true);
        add_prop(def, "Name", CIM_STRING, false, false);
        add_prop(def, "Label", CIM_STRING, false, false);
        add_prop(def, "Flag", CIM_BOOLEAN, false, false);
        add_prop(def, "Flag2", CIM_BOOLEAN, false, false);
        add_prop(def, "Small", CIM_SINT8, false, false);
        add_prop(def, "Big", CIM_UINT64, false, false);
        add_prop(def, "Neg", CIM_SINT64, false, false);
        add_prop(def, "Exact", CIM_SINT64, false, false);
        add_prop(def, "Code", CIM_UINT32, false, false);
        add_prop(def, "Ratio", CIM_REAL64, false, false);
        add_prop(def, "Single", CIM_REAL32, false, false);
        add_prop(def, "When", CIM_DATETIME, false, false);
        add_prop(def, "Span", CIM_DATETIME, false, false);
        add_prop(def, "Ref", CIM_REFERENCE, false, false);
        add_prop(def, "Tags", CIM_STRING, true, false);
        add_prop(def, "NoTags", CIM_STRING, true, false);
        add_prop(def, "Obj", CIM_OBJECT, false, false);
        add_prop(def, "Nothing", CIM_STRING, false, false);
        add_prop(def, "Num", CIM_STRING, false, false);
        f->base = derive(def, NULL);
        assert_int_equal(class_new("App_Child", "App_Base", &def, NULL), 0);
        add_prop(def, "Extra", CIM_STRING, false, false);
        f->child = derive(def, f->base);
        assert_int_equal(class_new("App_Note", NULL, &def, NULL), 0);
        add_prop(def, "Text", CIM_STRING, false, false);
        f->note = derive(def, NULL);
        assert_int_equal(class_system_classes(&f->system, &f->n_system), 0);
        f->creation = find_system(f, "__InstanceCreationEvent");
        f->modification = find_system(f, "__InstanceModificationEvent");

        assert_int_equal(instance_new(f->base, &f->inner), 0);
        set_value(f->inner, "Id", value_uint(CIM_UINT32, 1));
        set_string(f->inner, "Name", "inner");

        Instance *i;
        assert_int_equal(instance_new(f->child, &i), 0);
        set_value(i, "Id", value_uint(CIM_UINT32, 7));
        set_string(i, "Name", "sshd");
        set_string(i, "Label", "\xc3\x84pfel");
        set_value(i, "Flag", value_bool(true));
        set_value(i, "Flag2", value_bool(false));
        set_value(i, "Small", value_sint(CIM_SINT8, -5));
        set_value(i, "Big", value_uint(CIM_UINT64, UINT64_MAX));
        set_value(i, "Neg", value_sint(CIM_SINT64, -1));
        set_value(i, "Exact", value_sint(CIM_SINT64, 9007199254740993)); /* 2^53 + 1 */
        set_value(i, "Code", value_uint(CIM_UINT32, 80));
        set_value(i, "Ratio", value_real(CIM_REAL64, 2.5));
        set_value(i, "Single", value_real(CIM_REAL32, 0.5));
        set_string(i, "When", "20261126083000.000000+000");
        set_string(i, "Span", "00000001000000.000000:000");
        Value v;
        assert_int_equal(value_reference("App_Base.Id=7", &v), 0);
        set_value(i, "Ref", v);
        assert_int_equal(value_array_new(CIM_STRING, 2, &v), 0);
        assert_int_equal(value_string("a", &v.arr->items[0]), 0);
        assert_int_equal(value_string("b", &v.arr->items[1]), 0);
        set_value(i, "Tags", v);
        set_value(i, "Obj", value_object(f->inner));
        set_string(i, "Num", "42");
        set_string(i, "Extra", "x");
        assert_int_equal(instance_set_namespace(i, "root/cimv2"), 0);
        f->inst = i;

        assert_int_equal(instance_new(f->base, &f->nan), 0);
        set_value(f->nan, "Id", value_uint(CIM_UINT32, 2));
        set_value(f->nan, "Ratio", value_real(CIM_REAL64, NAN));
        assert_int_equal(instance_set_namespace(f->nan, "root/cimv2"), 0);

        assert_int_equal(instance_new(f->note, &f->keyless), 0);
        set_string(f->keyless, "Text", "hello");
        assert_int_equal(instance_set_namespace(f->keyless, "root/cimv2"), 0);

        assert_int_equal(instance_new(f->base, &f->no_ns), 0);
        set_value(f->no_ns, "Id", value_uint(CIM_UINT32, 3));

        assert_int_equal(instance_new(f->creation, &f->created), 0);
        set_value(f->created, "TargetInstance", value_object(f->inst));
        assert_int_equal(instance_new(f->modification, &f->modified), 0);
        set_value(f->modified, "TargetInstance", value_object(f->inst));
        other_instances[0] = f->inner;
        other_instances[1] = f->keyless;
        other_instances[2] = f->created;
        other_instances[3] = f->inst;
        *state = f;
        return 0;
}

static int fixture_teardown(void **state) {
        Fixture *f = *state;
        instance_unref(f->created);
        instance_unref(f->modified);
        instance_unref(f->no_ns);
        instance_unref(f->keyless);
        instance_unref(f->nan);
        instance_unref(f->inst);
        instance_unref(f->inner);
        class_unref(f->base);
        class_unref(f->child);
        class_unref(f->note);
        for (size_t k = 0; k < f->n_system; k++)
                class_unref(f->system[k]);
        mem_free(f->system);
        free(f);
        return 0;
}

static WqlQuery *parse_cond(const char *cond) {
        char *text = mem_printf("SELECT * FROM C WHERE %s", cond);
        assert_non_null(text);
        WqlQuery *q = NULL;
        Error err;
        if (wql_parse(text, strlen(text), NULL, &q, &err) != 0)
                fail_msg("parse %s: %s", text, err.message);
        mem_free(text);
        return q;
}

static const char *truth_name(int t) {
        return t == WQL_TRUE      ? "TRUE"
               : t == WQL_FALSE   ? "FALSE"
               : t == WQL_UNKNOWN ? "UNKNOWN"
                                  : "error";
}

static void assert_eval_ctx(const Instance *inst, const WqlEvalContext *ctx, const char *cond,
                            WqlTruth expected) {
        WqlQuery *q = parse_cond(cond);
        int t = wql_eval_expr(q->where, inst, ctx);
        if (t != (int)expected)
                fail_msg("%s: got %s, expected %s", cond, truth_name(t), truth_name(expected));
        /* WHERE matches exactly when the condition is TRUE */
        assert_int_equal(wql_eval_where(q, inst, ctx), expected == WQL_TRUE);
        /* a prepared filter agrees, before and after it has seen other
         * classes */
        WqlFilter *filter;
        assert_int_equal(wql_filter_new(q->where, &filter), 0);
        for (int round = 0; round < 2; round++) {
                if (wql_filter_eval(filter, inst, ctx) != (int)expected)
                        fail_msg("%s: filter disagrees (round %d)", cond, round);
                for (size_t k = 0; k < ELEMENTSOF(other_instances); k++)
                        if (other_instances[k])
                                assert_int_equal(wql_filter_eval(filter, other_instances[k], ctx),
                                                 wql_eval_expr(q->where, other_instances[k], ctx));
        }
        wql_filter_free(filter);
        wql_query_free(q);
}

static void assert_eval(const Instance *inst, const char *cond, WqlTruth expected) {
        assert_eval_ctx(inst, NULL, cond, expected);
}

#define T WQL_TRUE
#define F WQL_FALSE
#define U WQL_UNKNOWN

static void test_null_logic(void **state) {
        Fixture *f = *state;
        /* predicates of each truth value */
        const char *pred[3] = {
                [WQL_FALSE] = "Id = 8", [WQL_TRUE] = "Id = 7", [WQL_UNKNOWN] = "Nothing = 'x'"
        };
        static const WqlTruth and_table[3][3] = {
                [F] = { [F] = F, [T] = F, [U] = F },
                [T] = { [F] = F, [T] = T, [U] = U },
                [U] = { [F] = F, [T] = U, [U] = U },
        };
        static const WqlTruth or_table[3][3] = {
                [F] = { [F] = F, [T] = T, [U] = U },
                [T] = { [F] = T, [T] = T, [U] = T },
                [U] = { [F] = U, [T] = T, [U] = U },
        };
        static const WqlTruth not_table[3] = { [F] = T, [T] = F, [U] = U };
        char cond[200];
        for (int a = 0; a < 3; a++) {
                assert_eval(f->inst, pred[a], (WqlTruth)a);
                snprintf(cond, sizeof(cond), "NOT %s", pred[a]);
                assert_eval(f->inst, cond, not_table[a]);
                snprintf(cond, sizeof(cond), "NOT NOT %s", pred[a]);
                assert_eval(f->inst, cond, (WqlTruth)a);
                for (int b = 0; b < 3; b++) {
                        snprintf(cond, sizeof(cond), "%s AND %s", pred[a], pred[b]);
                        assert_eval(f->inst, cond, and_table[a][b]);
                        snprintf(cond, sizeof(cond), "%s OR %s", pred[a], pred[b]);
                        assert_eval(f->inst, cond, or_table[a][b]);
                        snprintf(cond, sizeof(cond), "NOT (%s AND %s)", pred[a], pred[b]);
                        assert_eval(f->inst, cond, not_table[and_table[a][b]]);
                        snprintf(cond, sizeof(cond), "NOT (%s OR %s)", pred[a], pred[b]);
                        assert_eval(f->inst, cond, not_table[or_table[a][b]]);
                }
        }
        /* longer chains: FALSE dominates AND, TRUE dominates OR, wherever */
        assert_eval(f->inst, "Id = 7 AND Nothing = 'x' AND Id = 8", F);
        assert_eval(f->inst, "Id = 7 AND Nothing = 'x' AND Id = 7", U);
        assert_eval(f->inst, "Id = 8 OR Nothing = 'x' OR Id = 7", T);
        assert_eval(f->inst, "Id = 8 OR Nothing = 'x' OR Id = 8", U);
        assert_eval(f->inst, "(Id = 8 OR Nothing = 'x') AND (Id = 7 OR Nothing = 'y')", U);
        /* every comparison with NULL is UNKNOWN, whatever the operator */
        const char *ops[] = { "=", "<>", "<", ">", "<=", ">=" };
        for (size_t k = 0; k < 6; k++) {
                snprintf(cond, sizeof(cond), "Nothing %s 'x'", ops[k]);
                assert_eval(f->inst, cond, U);
                snprintf(cond, sizeof(cond), "Nothing %s Name", ops[k]);
                assert_eval(f->inst, cond, U);
                snprintf(cond, sizeof(cond), "Name %s Nothing", ops[k]);
                assert_eval(f->inst, cond, U);
        }
}

static void test_is_null(void **state) {
        Fixture *f = *state;
        assert_eval(f->inst, "Nothing IS NULL", T);
        assert_eval(f->inst, "Nothing IS NOT NULL", F);
        assert_eval(f->inst, "Name IS NULL", F);
        assert_eval(f->inst, "Name IS NOT NULL", T);
        assert_eval(f->inst, "Nothing = NULL", T);
        assert_eval(f->inst, "NULL <> Name", T);
        assert_eval(f->inst, "Tags IS NULL", F);   /* an array that is set */
        assert_eval(f->inst, "NoTags IS NULL", T); /* an array that is not */
        assert_eval(f->inst, "Obj IS NOT NULL", T);
        assert_eval(f->inst, "Missing IS NULL", U);
        assert_eval(f->inst, "Missing IS NOT NULL", U);
        assert_eval(f->inst, "NOT Missing IS NULL", U);
}

static void test_numbers(void **state) {
        Fixture *f = *state;
        const Instance *i = f->inst;
        assert_eval(i, "Id = 7", T);
        assert_eval(i, "Id <> 7", F);
        assert_eval(i, "Id != 8", T);
        assert_eval(i, "Id > 6", T);
        assert_eval(i, "Id >= 7", T);
        assert_eval(i, "Id < 7", F);
        assert_eval(i, "Id <= 7", T);
        assert_eval(i, "7 = Id", T);
        assert_eval(i, "8 > Id", T);
        assert_eval(i, "6 >= Id", F);
        assert_eval(i, "Code = 0x50", T);
        /* signed against unsigned: -1 is not UINT64_MAX */
        assert_eval(i, "Big = 18446744073709551615", T);
        assert_eval(i, "Big > 9223372036854775807", T);
        assert_eval(i, "Big > -1", T);
        assert_eval(i, "Big = -1", F);
        assert_eval(i, "Big <> -1", T);
        assert_eval(i, "Neg < Big", T);
        assert_eval(i, "Big > Neg", T);
        assert_eval(i, "Neg = Big", F);
        assert_eval(i, "Neg = -1", T);
        assert_eval(i, "Neg < 0", T);
        assert_eval(i, "Neg < 18446744073709551615", T);
        assert_eval(i, "Id > -9223372036854775808", T);
        /* integers against reals, exactly */
        assert_eval(i, "Small = -5.0", T);
        assert_eval(i, "Small > -5.5", T);
        assert_eval(i, "Small < -4.5", T);
        assert_eval(i, "Small < -4.99999", T);
        assert_eval(i, "Id < 7.000001", T);
        assert_eval(i, "Id > 6.999999", T);
        assert_eval(i, "Exact = 9007199254740992.0", F); /* 2^53 + 1 is not 2^53 */
        assert_eval(i, "Exact > 9007199254740992.0", T);
        assert_eval(i, "Exact < 9007199254740994.0", T);
        assert_eval(i, "Big < 1.8446744073709552e19", T); /* UINT64_MAX < 2^64 */
        assert_eval(i, "Big > 1.8446744073709550e19", T);
        assert_eval(i, "Neg > -1e300", T);
        assert_eval(i, "Big < 1e300", T);
        assert_eval(i, "Big > -0.5", T);
        assert_eval(i, "Neg < -0.5", T);
        assert_eval(i, "Ratio > 2", T);
        assert_eval(i, "Ratio < 3", T);
        assert_eval(i, "Ratio = 2.5", T);
        assert_eval(i, "Ratio = 2", F);
        assert_eval(i, "Ratio >= 2.5", T);
        assert_eval(i, "Single = 0.5", T);
        assert_eval(i, "Single < Ratio", T);
        assert_eval(i, "Ratio > Id", F);
        assert_eval(i, "Ratio < Id", T);
        assert_eval(i, "Small < Big", T);
        /* NaN: unequal to everything, ordered with nothing */
        assert_eval(f->nan, "Ratio = 1", F);
        assert_eval(f->nan, "Ratio <> 1", T);
        assert_eval(f->nan, "Ratio < 1", F);
        assert_eval(f->nan, "Ratio >= 1", F);
        assert_eval(f->nan, "Ratio = 1.5", F);
        assert_eval(f->nan, "Ratio > 1.5", F);
        assert_eval(f->nan, "Ratio <> Id", T);
        assert_eval(f->nan, "Id < Ratio", F);
        /* a string literal against a number property is converted... */
        assert_eval(i, "Id = '7'", T);
        assert_eval(i, "Id = '07'", T);
        assert_eval(i, "Id = '+7'", T);
        assert_eval(i, "Id = '7.0'", T);
        assert_eval(i, "Id = '0x7'", T);
        assert_eval(i, "Id > '6'", T);
        assert_eval(i, "Id < '1e3'", T);
        assert_eval(i, "Big = '18446744073709551615'", T);
        assert_eval(i, "Big < '99999999999999999999'", T); /* past 64 bits: a real */
        assert_eval(i, "Neg = '-1'", T);
        assert_eval(i, "Neg = '-0x1'", T);
        assert_eval(i, "Ratio = '2.5'", T);
        /* ... and one that is not a number matches nothing, not even <> */
        assert_eval(i, "Id = 'seven'", F);
        assert_eval(i, "Id <> 'seven'", F);
        assert_eval(i, "Id = ' 7'", F);
        assert_eval(i, "Id = '7 '", F);
        assert_eval(i, "Id = ''", F);
        assert_eval(i, "Id = '7.'", F);
        assert_eval(i, "Id = '0x'", F);
        assert_eval(i, "Id = '1e'", F);
        assert_eval(i, "NOT Id = 'seven'", T);
        /* a string property against a number: the string is converted */
        assert_eval(i, "Num = 42", T);
        assert_eval(i, "Num > 41.5", T);
        assert_eval(i, "Num = Id", F);
        assert_eval(i, "Num > Id", T);
        assert_eval(i, "Name = 5", F);
        assert_eval(i, "Name <> 5", F);
}

static void test_strings(void **state) {
        Fixture *f = *state;
        const Instance *i = f->inst;
        assert_eval(i, "Name = 'sshd'", T);
        assert_eval(i, "Name = 'SSHD'", T);
        assert_eval(i, "Name = \"SsHd\"", T);
        assert_eval(i, "'SSHD' = Name", T);
        assert_eval(i, "Name <> 'sshd'", F);
        assert_eval(i, "Name <> 'ssh'", T);
        assert_eval(i, "Name < 'tt'", T);
        assert_eval(i, "Name < 'TT'", T);
        assert_eval(i, "Name > 'SSH'", T);
        assert_eval(i, "Name >= 'SSHD'", T);
        assert_eval(i, "Name <= 'sshd'", T);
        assert_eval(i, "Name > 'sshd'", F);
        assert_eval(i, "'a' < Name", T);
        assert_eval(i, "Label = '\xc3\xa4PFEL'", T);
        assert_eval(i, "Label > 'z'", T); /* by code point */
        assert_eval(i, "Name = Extra", F);
        assert_eval(i, "Name > Extra", F);
        assert_eval(i, "Extra = 'X'", T);
        assert_eval(i, "Name = ''", F);
}

static void test_booleans(void **state) {
        Fixture *f = *state;
        const Instance *i = f->inst;
        assert_eval(i, "Flag = TRUE", T);
        assert_eval(i, "Flag = true", T);
        assert_eval(i, "TRUE = Flag", T);
        assert_eval(i, "Flag <> FALSE", T);
        assert_eval(i, "Flag = FALSE", F);
        assert_eval(i, "Flag2 = FALSE", T);
        assert_eval(i, "Flag = 'true'", T);
        assert_eval(i, "Flag = 'TRUE'", T);
        assert_eval(i, "Flag2 = 'False'", T);
        assert_eval(i, "Flag = 'yes'", F);
        assert_eval(i, "Flag <> 'yes'", F);
        assert_eval(i, "Flag = 1", F); /* numbers are not booleans */
        assert_eval(i, "Flag <> 0", F);
        assert_eval(i, "Flag = Flag2", F);
        assert_eval(i, "Flag <> Flag2", T);
        assert_eval(i, "Name = TRUE", F);
        /* ordering of booleans: rejected by the parser for literals,
         * UNKNOWN between properties */
        assert_eval(i, "Flag < Flag2", U);
        assert_eval(i, "Flag >= Flag2", U);
        assert_eval(i, "Flag > 'false'", U);
}

static void test_datetimes(void **state) {
        Fixture *f = *state;
        const Instance *i = f->inst;
        assert_eval(i, "When = '20261126083000.000000+000'", T);
        assert_eval(i, "When = '20261126093000.000000+060'", T); /* same instant */
        assert_eval(i, "When = '20261126083000.000001+000'", F);
        assert_eval(i, "When < '20261126083000.000001+000'", T);
        assert_eval(i, "When > '20200101000000.000000+000'", T);
        assert_eval(i, "When <= '20261126083000.000000+000'", T);
        assert_eval(i, "'20300101000000.000000+000' > When", T);
        assert_eval(i, "When = 'garbage'", F);
        assert_eval(i, "When <> 'garbage'", F);
        assert_eval(i, "When = '2026112608300*.000000+000'", F); /* no wildcards */
        assert_eval(i, "When = 5", F);
        assert_eval(i, "When = TRUE", F);
        assert_eval(i, "Span = '00000001000000.000000:000'", T);
        assert_eval(i, "Span > '00000000235959.000000:000'", T);
        assert_eval(i, "Span < '00000001000000.000001:000'", T);
        /* an instant never equals an interval, nor orders with one */
        assert_eval(i, "When = '00000001000000.000000:000'", F);
        assert_eval(i, "When <> '00000001000000.000000:000'", F);
        assert_eval(i, "Span = When", F);
        assert_eval(i, "When = When", T);
        assert_eval(i, "When = Name", F);
}

static void test_references(void **state) {
        Fixture *f = *state;
        const Instance *i = f->inst;
        assert_eval(i, "Ref = 'App_Base.Id=7'", T);
        assert_eval(i, "Ref = 'app_base.ID=7'", T);
        assert_eval(i, "Ref = 'App_Base.Id=8'", F);
        assert_eval(i, "Ref <> 'App_Base.Id=8'", T);
        assert_eval(i, "Ref LIKE 'app_base.%'", T);
        assert_eval(i, "Ref = 7", F);
        assert_eval(i, "Ref = Name", F);
        assert_eval(i, "Ref = __RELPATH", F);
}

static void test_arrays_objects(void **state) {
        Fixture *f = *state;
        const Instance *i = f->inst;
        assert_eval(i, "Tags = 'a'", U);
        assert_eval(i, "Tags <> 'a'", U);
        assert_eval(i, "NOT Tags = 'a'", U);
        assert_eval(i, "Tags = Tags", U);
        assert_eval(i, "Name = Tags", U);
        assert_eval(i, "Tags LIKE 'a'", U);
        assert_eval(i, "NoTags = 'a'", U);
        assert_eval(i, "Obj = 'x'", U);
        assert_eval(i, "Obj = Obj", U);
        assert_eval(i, "Obj LIKE '%'", U);
        assert_eval(i, "Obj ISA 'App_Base'", T);
        assert_eval(i, "Obj ISA 'App_Child'", F);
        assert_eval(i, "Obj.Name = 'inner'", T);
        assert_eval(i, "Obj.Missing = 1", U);
        assert_eval(i, "Obj.Obj IS NULL", T);
        assert_eval(i, "Obj.Obj.Name IS NULL", T); /* through a NULL object */
        assert_eval(i, "Obj.Obj.Name = 'x'", U);
        /* a path through something that is not an object is missing */
        assert_eval(i, "Name.Length = 4", U);
        assert_eval(i, "Tags.Length IS NULL", U);
        /* ISA on what is not an object */
        assert_eval(i, "Name ISA 'App_Base'", U);
        assert_eval(i, "Nothing ISA 'App_Base'", U);
        assert_eval(i, "Missing ISA 'App_Base'", U);
}

static void test_missing_property(void **state) {
        Fixture *f = *state;
        assert_eval(f->inst, "Missing = 1", U);
        assert_eval(f->inst, "Missing <> 1", U);
        assert_eval(f->inst, "NOT Missing = 1", U);
        assert_eval(f->inst, "Missing = Name", U);
        assert_eval(f->inst, "Missing LIKE '%'", U);
        assert_eval(f->inst, "Missing NOT LIKE '%'", U);
        assert_eval(f->inst, "Missing = 1 OR Id = 7", T);
        assert_eval(f->inst, "Missing = 1 AND Id = 8", F);
        /* a property of the subclass, on a base-class instance */
        assert_eval(f->inner, "Extra = 'x'", U);
        assert_eval(f->inst, "Extra = 'x'", T);
        /* unknown system property */
        assert_eval(f->inst, "__FOO = 1", U);
}

static void test_isa(void **state) {
        Fixture *f = *state;
        const Instance *e = f->created;
        assert_eval(e, "TargetInstance ISA 'App_Child'", T);
        assert_eval(e, "TargetInstance ISA 'App_Base'", T); /* inherited */
        assert_eval(e, "TargetInstance ISA 'app_base'", T);
        assert_eval(e, "TargetInstance ISA \"APP_CHILD\"", T);
        assert_eval(e, "TargetInstance ISA 'App_Other'", F);
        assert_eval(e, "TargetInstance ISA '__Event'", F);
        assert_eval(e, "NOT TargetInstance ISA 'App_Other'", T);
        assert_eval(e, "TargetInstance.Obj ISA 'App_Base'", T);
        assert_eval(e, "TargetInstance.Obj ISA 'App_Child'", F); /* not downward */
        /* __THIS: the instance itself */
        assert_eval(f->inst, "__THIS ISA 'App_Base'", T);
        assert_eval(f->inner, "__THIS ISA 'App_Child'", F);
        assert_eval(e, "__THIS ISA '__InstanceCreationEvent'", T);
        assert_eval(e, "__THIS ISA '__InstanceOperationEvent'", T);
        assert_eval(e, "__THIS ISA '__Event'", T);
        assert_eval(e, "__THIS ISA '__InstanceDeletionEvent'", F);
        /* a NULL object: UNKNOWN */
        assert_eval(f->modified, "PreviousInstance ISA 'App_Base'", U);
        assert_eval(f->modified, "NOT PreviousInstance ISA 'App_Base'", U);
}

static void test_dotted_paths(void **state) {
        Fixture *f = *state;
        const Instance *e = f->created;
        assert_eval(e, "TargetInstance.Name = 'sshd'", T);
        assert_eval(e, "TargetInstance.name LIKE 'SSH%'", T);
        assert_eval(e, "targetinstance.Id > 5 AND TargetInstance.Id < 10", T);
        assert_eval(e, "TargetInstance.Extra = 'x'", T);
        assert_eval(e, "TargetInstance.Obj.Name = 'inner'", T);
        assert_eval(e, "TargetInstance.Nothing IS NULL", T);
        assert_eval(e, "TargetInstance.Missing = 1", U);
        assert_eval(e, "TargetInstance.__CLASS = 'App_Child'", T);
        assert_eval(e, "TargetInstance.__THIS.Name = 'sshd'", T);
        assert_eval(e, "TargetInstance.Name = TargetInstance.Obj.Name", F);
        assert_eval(e, "TargetInstance.Id > TargetInstance.Obj.Id", T);
        assert_eval(e, "PreviousInstance.Name IS NULL", U); /* a creation has none */
        /* a modification whose PreviousInstance is NULL */
        assert_eval(f->modified, "PreviousInstance.Name IS NULL", T);
        assert_eval(f->modified, "PreviousInstance.Name = 'x'", U);
        assert_eval(f->modified, "PreviousInstance.Name <> TargetInstance.Name", U);
        assert_eval(f->inst, "__THIS.Name = 'sshd'", T);
        assert_eval(f->inst, "__THIS.__THIS.Id = 7", T);
}

static void test_system_properties(void **state) {
        Fixture *f = *state;
        const Instance *i = f->inst;
        WqlEvalContext ctx = { .host = "myhost" };
        assert_eval(i, "__CLASS = 'App_Child'", T);
        assert_eval(i, "__class = 'APP_CHILD'", T);
        assert_eval(i, "__CLASS LIKE 'App%'", T);
        assert_eval(i, "__SUPERCLASS = 'App_Base'", T);
        assert_eval(f->inner, "__SUPERCLASS IS NULL", T);
        assert_eval(i, "__DYNASTY = 'App_Base'", T);
        assert_eval(f->inner, "__DYNASTY = 'App_Base'", T);
        assert_eval(f->created, "__DYNASTY = '__SystemClass'", T);
        assert_eval(i, "__GENUS = 2", T);
        assert_eval(i, "__NAMESPACE = 'root/cimv2'", T);
        assert_eval(f->no_ns, "__NAMESPACE IS NULL", T);
        assert_eval_ctx(i, &ctx, "__SERVER = 'myhost'", T);
        assert_eval(i, "__SERVER IS NULL", T);
        assert_eval(i, "__RELPATH = 'App_Child.Id=7'", T);
        assert_eval(i, "__RELPATH = 'app_child.id=7'", T);
        assert_eval_ctx(i, &ctx, "__PATH = '//myhost/root/cimv2:App_Child.Id=7'", T);
        assert_eval(i, "__PATH = 'root/cimv2:App_Child.Id=7'", T);
        assert_eval(f->no_ns, "__PATH IS NULL", T);
        assert_eval(f->no_ns, "__RELPATH = 'App_Base.Id=3'", T);
        assert_eval(f->keyless, "__RELPATH IS NULL", T);
        assert_eval(f->keyless, "__PATH IS NULL", T);
        assert_eval(f->created, "__PATH IS NULL", T);
        assert_eval(f->created, "TargetInstance.__RELPATH = 'App_Child.Id=7'", T);
        char cond[64];
        snprintf(cond, sizeof(cond), "__PROPERTY_COUNT = %zu", f->child->n_props);
        assert_eval(i, cond, T);
        assert_eval(i, "__DERIVATION = 'App_Base'", U); /* an array */
        assert_eval(i, "__DERIVATION IS NULL", F);
        assert_eval(f->created, "__CLASS = '__InstanceCreationEvent'", T);
        assert_eval(f->created, "__SUPERCLASS = '__InstanceOperationEvent'", T);
}

static void test_eval_out_of_memory(void **state) {
        Fixture *f = *state;
        const char *conds[] = { "__RELPATH = 'x'",    "__PATH LIKE '%'",
                                "__PATH IS NULL",     "Id = 7 AND __RELPATH <> 'x'",
                                "__RELPATH = __PATH", "Name = __PATH" };
        for (size_t k = 0; k < ELEMENTSOF(conds); k++) {
                WqlQuery *q = parse_cond(conds[k]);
                for (unsigned long n = 1; n <= 2; n++) {
                        mem_fail_at(n);
                        int r = wql_eval_where(q, f->inst, NULL);
                        bool triggered = mem_fail_triggered();
                        mem_fail_at(0);
                        if (triggered)
                                assert_int_equal(r, -ENOMEM);
                        else
                                assert_true(r == 0 || r == 1);
                }
                wql_query_free(q);
        }
}

static void test_eval_allocation_free(void **state) {
        Fixture *f = *state;
        WqlQuery *q =
                parse_cond("TargetInstance ISA 'App_Base' AND TargetInstance.Name LIKE 'ssh%' "
                           "AND TargetInstance.Id > 5 AND TargetInstance.Ratio < '3' "
                           "AND TargetInstance.When > '20200101000000.000000+000' "
                           "AND NOT TargetInstance.Nothing IS NOT NULL AND __CLASS <> 'x'");
        unsigned long before = mem_alloc_count();
        for (int k = 0; k < 100; k++)
                assert_int_equal(wql_eval_where(q, f->created, NULL), 1);
        assert_int_equal(mem_alloc_count(), before);
        wql_query_free(q);
}

static void test_eval_where(void **state) {
        Fixture *f = *state;
        WqlQuery *q = NULL;
        assert_int_equal(wql_parse("SELECT * FROM C", 15, NULL, &q, NULL), 0);
        assert_int_equal(wql_eval_where(q, f->inst, NULL), 1);
        assert_int_equal(wql_eval_expr(NULL, f->inst, NULL), WQL_TRUE);
        wql_query_free(q);
}

/* Trees built by hand may hold what the parser would not produce. */
static void test_eval_hand_built(void **state) {
        Fixture *f = *state;
        WqlQuery *q = parse_cond("Flag = TRUE");
        WqlExpr *e = q->where;
        e->compare.op = WQL_OP_LT; /* ordering a boolean */
        assert_int_equal(wql_eval_expr(e, f->inst, NULL), WQL_UNKNOWN);
        e->compare.op = WQL_OP_EQ;
        e->compare.right.lit.kind = WQL_LIT_NULL; /* = NULL kept as a comparison */
        assert_int_equal(wql_eval_expr(e, f->inst, NULL), WQL_UNKNOWN);
        wql_query_free(q);
        /* a literal on the left */
        char *name = mem_strdup("Id");
        WqlExpr cmp = { .kind = WQL_EXPR_COMPARE };
        cmp.compare.op = WQL_OP_LT;
        cmp.compare.left.lit = (WqlLiteral){ .kind = WQL_LIT_INTEGER, .i = 5 };
        cmp.compare.right.is_property = true;
        cmp.compare.right.prop = (WqlPropertyRef){ .parts = &name, .n_parts = 1 };
        assert_int_equal(wql_eval_expr(&cmp, f->inst, NULL), WQL_TRUE);
        mem_free(name);
}

static void test_filter(void **state) {
        Fixture *f = *state;
        /* a class where Name sits at another index than in App_Base */
        CimClass *def, *other;
        assert_int_equal(class_new("App_Other", NULL, &def, NULL), 0);
        add_prop(def, "X", CIM_STRING, false, false);
        add_prop(def, "Y", CIM_STRING, false, false);
        add_prop(def, "Name", CIM_STRING, false, false);
        add_prop(def, "Obj", CIM_OBJECT, false, false);
        other = derive(def, NULL);
        Instance *o;
        assert_int_equal(instance_new(other, &o), 0);
        set_string(o, "X", "sshd");
        set_string(o, "Name", "bash");
        set_value(o, "Obj", value_object(f->inst)); /* Obj.Name is 'sshd' */
        long base_idx = class_find_property(f->base, "Name");
        long other_idx = class_find_property(other, "Name");
        assert_true(base_idx != other_idx);

        WqlQuery *q = parse_cond("Name = 'sshd' OR Obj.Name = 'sshd' AND NOT Obj.Name LIKE 'x%'");
        WqlFilter *filter;
        assert_int_equal(wql_filter_new(q->where, &filter), 0);
        for (int round = 0; round < 3; round++) {
                assert_int_equal(wql_filter_eval(filter, f->inst, NULL), WQL_TRUE);
                assert_int_equal(wql_filter_eval(filter, o, NULL), WQL_TRUE); /* via Obj */
                assert_int_equal(wql_filter_eval(filter, f->inner, NULL), WQL_UNKNOWN);
                assert_int_equal(wql_filter_eval(filter, f->keyless, NULL), WQL_UNKNOWN);
        }
        /* evaluation allocates nothing */
        unsigned long before = mem_alloc_count();
        for (int k = 0; k < 100; k++)
                assert_int_equal(wql_filter_eval(filter, f->inst, NULL), WQL_TRUE);
        assert_int_equal(mem_alloc_count(), before);
        wql_filter_free(filter);

        /* no condition: always TRUE */
        assert_int_equal(wql_filter_new(NULL, &filter), 0);
        assert_int_equal(wql_filter_eval(filter, f->inst, NULL), WQL_TRUE);
        wql_filter_free(filter);
        assert_null(wql_filter_free(NULL));

        /* out of memory while preparing */
        bool completed = false;
        for (unsigned long n = 1; n < 20 && !completed; n++) {
                filter = NULL;
                mem_fail_at(n);
                int r = wql_filter_new(q->where, &filter);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (r == 0) {
                        assert_false(triggered);
                        completed = true;
                        wql_filter_free(filter);
                } else {
                        assert_true(triggered);
                        assert_int_equal(r, -ENOMEM);
                        assert_null(filter);
                }
        }
        assert_true(completed);
        wql_query_free(q);
        instance_unref(o);
        class_unref(other);
}

/* ---- validation against a class ---- */

static void assert_check(const CimClass *cls, const char *text, unsigned line, unsigned column,
                         const char *message) {
        WqlQuery *q = NULL;
        Error err = { 0 };
        if (wql_parse(text, strlen(text), NULL, &q, &err) != 0)
                fail_msg("parse %s: %s", text, err.message);
        int r = wql_check_properties(q, cls, &err);
        if (!message) {
                if (r != 0)
                        fail_msg("%s: %s", text, err.message);
        } else {
                char expected[600];
                snprintf(expected, sizeof(expected), "line %u, column %u: %s", line, column,
                         message);
                if (r != WBEM_E_INVALID_QUERY || strcmp(err.message, expected) != 0)
                        fail_msg("%s:\n  got      %d \"%s\"\n  expected \"%s\"", text, r,
                                 err.message, expected);
                assert_int_equal(err.line, line);
                assert_int_equal(err.column, column);
                assert_int_equal(wql_check_properties(q, cls, NULL), WBEM_E_INVALID_QUERY);
        }
        wql_query_free(q);
}

/* "SELECT * FROM App_Child WHERE " is 30 bytes: a condition starts at 31. */
#define W "SELECT * FROM App_Child WHERE "

static void test_check_properties(void **state) {
        Fixture *f = *state;
        const CimClass *c = f->child;
        assert_check(c, "SELECT * FROM App_Child", 0, 0, NULL);
        assert_check(c, "SELECT Name, Id, Extra, __CLASS, __PATH FROM App_Child", 0, 0, NULL);
        assert_check(c, "SELECT name, ID FROM App_Child", 0, 0, NULL);
        assert_check(c, "SELECT Name, Nmae FROM App_Child", 1, 14,
                     "'Nmae' is not a property of App_Child");
        assert_check(c, "SELECT\n  Name,\n  Idd\nFROM App_Child", 3, 3,
                     "'Idd' is not a property of App_Child");
        assert_check(f->base, "SELECT Extra FROM App_Base", 1, 8,
                     "'Extra' is not a property of App_Base");
        assert_check(c,
                     W "Name = 'x' AND Obj ISA 'App_Base' AND Ref LIKE 'x%' AND Tags IS NULL "
                       "AND __THIS.Name = 'x' AND __THIS ISA 'App_Base' AND Obj.Anything = 1 "
                       "AND Flag = TRUE AND Flag <> Flag2 AND __CLASS LIKE 'A%' AND Id < Big",
                     0, 0, NULL);
        assert_check(c, W "Nmae = 'x'", 1, 31, "'Nmae' is not a property of App_Child");
        assert_check(c, W "'x' = Nmae", 1, 37, "'Nmae' is not a property of App_Child");
        assert_check(c, W "Name = Nmae", 1, 38, "'Nmae' is not a property of App_Child");
        assert_check(c, W "Id = 1 AND (Name = 'x' OR NOT Missing IS NULL)", 1, 61,
                     "'Missing' is not a property of App_Child");
        assert_check(c, W "Nmae LIKE 'x'", 1, 31, "'Nmae' is not a property of App_Child");
        assert_check(c, W "Nmae ISA 'x'", 1, 31, "'Nmae' is not a property of App_Child");
        assert_check(c, W "__THIS.Nmae = 1", 1, 31, "'Nmae' is not a property of App_Child");
        assert_check(c, W "Name.Length = 1", 1, 31,
                     "'Name' is string, not an embedded object, so it has no property 'Length'");
        assert_check(c, W "__CLASS.X = 1", 1, 31,
                     "'__CLASS' is string, not an embedded object, so it has no property 'X'");
        assert_check(c, W "Tags.X IS NULL", 1, 31,
                     "'Tags' is string array, not an embedded object, so it has no property 'X'");
        assert_check(c, W "Obj = 'x'", 1, 31,
                     "'Obj' is an embedded object: it cannot be compared (use ISA, or a property "
                     "of it)");
        assert_check(c, W "__THIS = 'x'", 1, 31,
                     "'__THIS' is an embedded object: it cannot be compared (use ISA, or a "
                     "property of it)");
        assert_check(c, W "Tags = 'a'", 1, 31,
                     "'Tags' is string array: arrays cannot be compared in WQL");
        assert_check(c, W "Name = __DERIVATION", 1, 38,
                     "'__DERIVATION' is string array: arrays cannot be compared in WQL");
        assert_check(c, W "Flag < Flag2", 1, 31,
                     "operator '<' cannot compare booleans: 'Flag' is boolean");
        assert_check(c, W "Id >= Flag2", 1, 37,
                     "operator '>=' cannot compare booleans: 'Flag2' is boolean");
        assert_check(c, W "Id LIKE '7'", 1, 31, "LIKE needs a string property: 'Id' is uint32");
        assert_check(c, W "Tags NOT LIKE 'a'", 1, 31,
                     "LIKE needs a string property: 'Tags' is string array");
        assert_check(c, W "When LIKE '2026%'", 1, 31,
                     "LIKE needs a string property: 'When' is datetime");
        assert_check(c, W "Name ISA 'X'", 1, 31, "ISA needs an embedded object: 'Name' is string");
        assert_check(c, W "Id = 1 OR\n  NOT Name ISA 'X'", 2, 7,
                     "ISA needs an embedded object: 'Name' is string");
        /* event classes: paths into TargetInstance are checked up to it */
        assert_check(f->creation,
                     "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE "
                     "TargetInstance ISA 'X' AND TargetInstance.Whatever = 1 AND TIME_CREATED > 0",
                     0, 0, NULL);
        assert_check(f->creation,
                     "SELECT * FROM __InstanceCreationEvent WHERE TargetInstnce.Name = 1", 1, 45,
                     "'TargetInstnce' is not a property of __InstanceCreationEvent");
        assert_check(f->creation,
                     "SELECT * FROM __InstanceCreationEvent WHERE PreviousInstance IS NULL", 1, 45,
                     "'PreviousInstance' is not a property of __InstanceCreationEvent");
        assert_check(f->modification,
                     "SELECT * FROM __InstanceModificationEvent WHERE PreviousInstance.X <> "
                     "TargetInstance.X",
                     0, 0, NULL);
}

#undef T
#undef F
#undef U

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
                cmocka_unit_test(test_null_logic),
                cmocka_unit_test(test_is_null),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_booleans),
                cmocka_unit_test(test_datetimes),
                cmocka_unit_test(test_references),
                cmocka_unit_test(test_arrays_objects),
                cmocka_unit_test(test_missing_property),
                cmocka_unit_test(test_isa),
                cmocka_unit_test(test_dotted_paths),
                cmocka_unit_test(test_system_properties),
                cmocka_unit_test(test_eval_out_of_memory),
                cmocka_unit_test(test_eval_allocation_free),
                cmocka_unit_test(test_eval_where),
                cmocka_unit_test(test_eval_hand_built),
                cmocka_unit_test(test_filter),
                cmocka_unit_test(test_check_properties),
        };
        return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
