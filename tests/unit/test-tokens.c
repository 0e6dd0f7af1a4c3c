/* Tests of the token store (tokens.c): the text format and its parser,
 * PBKDF2 against a published vector, add/list/revoke/verify on an
 * in-memory SQLite database with every refusal, and the local account
 * lookup (account.c) that turns a token's user into an identity. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "account.h"
#include "cleanup.h"
#include "mem.h"
#include "tokens.h"

static const char good[] = "lwmi_0123456789abcdef_"
                           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void test_parse(void **state) {
        TokenText t;
        (void)state;

        assert_int_equal(strlen(good), TOKENS_TEXT_LEN);
        assert_int_equal(tokens_parse(good, strlen(good), &t), 0);
        assert_string_equal(t.id, "0123456789abcdef");
        assert_int_equal(t.secret[0], 0x00);
        assert_int_equal(t.secret[1], 0x11);
        assert_int_equal(t.secret[15], 0xff);
        assert_int_equal(t.secret[31], 0xff);

        /* white space around it (a file's newline) is fine */
        char padded[200];
        snprintf(padded, sizeof(padded), " \t%s\r\n", good);
        assert_int_equal(tokens_parse(padded, strlen(padded), &t), 0);
        assert_string_equal(t.id, "0123456789abcdef");

        /* everything else is not a token; *ret is untouched */
        char bad[200];
        memset(&t, 0x5a, sizeof(t));
        const char *cases[] = {
                "",
                "lwmi_",
                "lwmi_0123456789abcdef",
                "LWMI_0123456789abcdef_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                "lwmi-0123456789abcdef_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                "lwmi_0123456789abcdef-00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                "lwmi_0123456789ABCDEF_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                "lwmi_0123456789abcdeg_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                "lwmi_0123456789abcdef_00112233445566778899aabbccddeeff00112233445566778899aabbccddeefF",
                "lwmi_0123456789abcdef_00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
                "lwmi_0123456789abcdef_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0",
                "lwmi_0123456789abcdef_00112233445566778899aabb ddeeff00112233445566778899aabbccddeeff0",
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(tokens_parse(cases[i], strlen(cases[i]), &t), -EINVAL);
                assert_int_equal((unsigned char)t.id[0], 0x5a);
        }
        /* a NUL inside, and a length that cuts the text */
        memcpy(bad, good, sizeof(good));
        bad[30] = '\0';
        assert_int_equal(tokens_parse(bad, strlen(good), &t), -EINVAL);
        assert_int_equal(tokens_parse(good, strlen(good) - 1, &t), -EINVAL);
}

static void test_hash(void **state) {
        unsigned char out[TOKENS_HASH_BYTES];
        /* RFC 7914 section 11: PBKDF2-HMAC-SHA256 ("passwd", "salt", 1) */
        static const unsigned char want[] = {
                0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91,
                0xc2, 0x25, 0x44, 0xb6, 0x05, 0xf9, 0x41, 0x85, 0x21, 0x6d, 0xde,
                0x04, 0x65, 0xe6, 0x8b, 0x9d, 0x57, 0xc2, 0x0d, 0xac, 0xbc,
        };
        (void)state;

        assert_int_equal(tokens_hash((const unsigned char *)"passwd", 6,
                                     (const unsigned char *)"salt", 4, 1, out),
                         0);
        assert_memory_equal(out, want, sizeof(want));
        /* the count and the salt matter */
        unsigned char other[TOKENS_HASH_BYTES];
        assert_int_equal(tokens_hash((const unsigned char *)"passwd", 6,
                                     (const unsigned char *)"salt", 4, 2, other),
                         0);
        assert_memory_not_equal(out, other, sizeof(out));
        assert_int_equal(tokens_hash((const unsigned char *)"passwd", 6,
                                     (const unsigned char *)"salT", 4, 1, other),
                         0);
        assert_memory_not_equal(out, other, sizeof(out));
        assert_int_equal(tokens_hash((const unsigned char *)"passwd", 6,
                                     (const unsigned char *)"salt", 4, 0, other),
                         -EINVAL);
}

typedef struct Store {
        sqlite3 *db;
        Tokens *tokens;
} Store;

static int store_setup(void **state) {
        Store *s = mem_calloc(1, sizeof(*s));
        Error e;
        assert_non_null(s);
        assert_int_equal(sqlite3_open(":memory:", &s->db), SQLITE_OK);
        /* few rounds: the tests are about the store, not the KDF's cost */
        assert_int_equal(tokens_new(s->db, 10, &s->tokens, &e), 0);
        *state = s;
        return 0;
}

static int store_teardown(void **state) {
        Store *s = *state;
        tokens_free(s->tokens);
        sqlite3_close(s->db);
        mem_free(s);
        return 0;
}

static void test_add_verify_list_revoke(void **state) {
        Store *s = *state;
        _cleanup_free_ char *text = NULL, *text2 = NULL, *user = NULL, *revoked = NULL;
        json_t *info = NULL, *list = NULL;
        char id[TOKENS_ID_HEX + 1];
        TokenText parsed;
        Error e;

        assert_int_equal(tokens_add(s->tokens, "nobody", "ci", &text, &info, &e), 0);
        assert_int_equal(tokens_parse(text, strlen(text), &parsed), 0);
        assert_string_equal(json_string_value(json_object_get(info, "id")), parsed.id);
        assert_string_equal(json_string_value(json_object_get(info, "user")), "nobody");
        assert_string_equal(json_string_value(json_object_get(info, "name")), "ci");
        assert_true(json_is_integer(json_object_get(info, "created")));
        assert_true(json_is_null(json_object_get(info, "last_used")));
        assert_null(json_object_get(info, "token"));
        json_decref(info);
        /* a second one, without a name; no info asked */
        assert_int_equal(tokens_add(s->tokens, "root", NULL, &text2, NULL, &e), 0);
        assert_string_not_equal(text, text2);

        /* the database holds neither secret */
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(s->db, "SELECT hash, salt, iterations FROM tokens "
                                                   "WHERE id = ?",
                                            -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(st, 1, parsed.id, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_bytes(st, 0), TOKENS_HASH_BYTES);
        assert_int_equal(sqlite3_column_bytes(st, 1), TOKENS_SALT_BYTES);
        assert_int_equal(sqlite3_column_int(st, 2), 10);
        assert_memory_not_equal(sqlite3_column_blob(st, 0), parsed.secret, TOKENS_HASH_BYTES);
        sqlite3_finalize(st);

        /* verify */
        assert_int_equal(tokens_verify(s->tokens, text, strlen(text), &user, id, &e), 0);
        assert_string_equal(user, "nobody");
        assert_string_equal(id, parsed.id);

        /* list: oldest first, no secret, last_used set by the verify */
        assert_int_equal(tokens_list(s->tokens, &list, &e), 0);
        assert_int_equal(json_array_size(list), 2);
        json_t *first = json_array_get(list, 0);
        size_t n_fields = json_object_size(first);
        assert_int_equal(n_fields, 5);
        assert_true(json_is_integer(json_object_get(first, "last_used")) ||
                    json_is_integer(json_object_get(json_array_get(list, 1), "last_used")));
        char *dump = json_dumps(list, 0);
        assert_non_null(dump);
        assert_null(strstr(dump, text + 22));
        free(dump);
        json_decref(list);

        /* revoke: gone for good */
        assert_int_equal(tokens_revoke(s->tokens, parsed.id, &revoked, &e), 0);
        assert_string_equal(revoked, "nobody");
        assert_int_equal(tokens_revoke(s->tokens, parsed.id, NULL, &e), WBEM_E_NOT_FOUND);
        assert_non_null(strstr(e.message, parsed.id));
        mem_free(user);
        user = NULL;
        assert_int_equal(tokens_verify(s->tokens, text, strlen(text), &user, id, &e),
                         WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(e.message, "unknown token id"));
        assert_null(user);
        /* the other one still works */
        assert_int_equal(tokens_verify(s->tokens, text2, strlen(text2), &user, id, &e), 0);
        assert_string_equal(user, "root");
}

static void test_verify_refusals(void **state) {
        Store *s = *state;
        _cleanup_free_ char *text = NULL;
        char *user = NULL;
        char id[TOKENS_ID_HEX + 1];
        Error e;

        assert_int_equal(tokens_add(s->tokens, "nobody", NULL, &text, NULL, &e), 0);
        /* malformed */
        assert_int_equal(tokens_verify(s->tokens, "lwmi_x", 6, &user, id, &e),
                         WBEM_E_ACCESS_DENIED);
        assert_string_equal(e.message, "malformed token");
        /* unknown id, well formed */
        assert_int_equal(tokens_verify(s->tokens, good, strlen(good), &user, id, &e),
                         WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(e.message, "unknown token id 0123456789abcdef"));
        /* right id, one digit of the secret changed */
        char wrong[TOKENS_TEXT_LEN + 1];
        memcpy(wrong, text, sizeof(wrong));
        wrong[TOKENS_TEXT_LEN - 1] = wrong[TOKENS_TEXT_LEN - 1] == '0' ? '1' : '0';
        assert_int_equal(tokens_verify(s->tokens, wrong, strlen(wrong), &user, id, &e),
                         WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(e.message, "wrong secret"));
        assert_null(user);
        /* a stored row that makes no sense is refused, not trusted */
        char sql[200];
        snprintf(sql, sizeof(sql), "UPDATE tokens SET kdf = 'md5' WHERE id = '%.16s'", text + 5);
        assert_int_equal(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(tokens_verify(s->tokens, text, strlen(text), &user, id, &e),
                         WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(e.message, "stored hash unusable"));
        snprintf(sql, sizeof(sql), "UPDATE tokens SET kdf = 'pbkdf2-sha256', hash = x'00' "
                                   "WHERE id = '%.16s'",
                 text + 5);
        assert_int_equal(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(tokens_verify(s->tokens, text, strlen(text), &user, id, &e),
                         WBEM_E_ACCESS_DENIED);
}

static void test_add_refusals(void **state) {
        Store *s = *state;
        char *text = NULL;
        Error e;
        char longname[TOKENS_NAME_MAX + 2];

        assert_int_equal(tokens_add(s->tokens, "", NULL, &text, NULL, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(tokens_add(s->tokens, "two words", NULL, &text, NULL, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(tokens_add(s->tokens, "nl\n", NULL, &text, NULL, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(tokens_add(s->tokens, "nobody", "", &text, NULL, &e),
                         WBEM_E_INVALID_PARAMETER);
        memset(longname, 'n', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_int_equal(tokens_add(s->tokens, "nobody", longname, &text, NULL, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_null(text);
        json_t *list;
        assert_int_equal(tokens_list(s->tokens, &list, &e), 0);
        assert_int_equal(json_array_size(list), 0);
        json_decref(list);
}

static void test_broken_database(void **state) {
        Store *s = *state;
        char *text = NULL, *user = NULL;
        char id[TOKENS_ID_HEX + 1];
        json_t *list = NULL;
        Error e;

        assert_int_equal(sqlite3_exec(s->db, "DROP TABLE tokens", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(tokens_add(s->tokens, "nobody", NULL, &text, NULL, &e), WBEM_E_FAILED);
        assert_non_null(strstr(e.message, "no such table"));
        assert_int_equal(tokens_list(s->tokens, &list, &e), WBEM_E_FAILED);
        assert_int_equal(tokens_revoke(s->tokens, "0123456789abcdef", NULL, &e), WBEM_E_FAILED);
        assert_int_equal(tokens_verify(s->tokens, good, strlen(good), &user, id, &e),
                         WBEM_E_FAILED);
        assert_null(text);
        assert_null(list);
        assert_null(user);
        /* a new store creates the table again (an old repository gains it) */
        Tokens *t2;
        assert_int_equal(tokens_new(s->db, 0, &t2, &e), 0);
        assert_int_equal(tokens_list(t2, &list, &e), 0);
        json_decref(list);
        tokens_free(t2);
}

static void test_out_of_memory(void **state) {
        Store *s = *state;
        Error e;
        /* each allocation of an add fails in turn: a clean error, nothing
         * half-made */
        for (unsigned long n = 1; n < 200; n++) {
                char *text = NULL;
                json_t *info = NULL;
                mem_fail_at(n);
                int r = tokens_add(s->tokens, "nobody", "x", &text, &info, &e);
                bool failed = mem_fail_triggered();
                mem_fail_at(0);
                if (!failed) {
                        assert_int_equal(r, 0);
                        mem_free(text);
                        json_decref(info);
                        break;
                }
                if (r == 0) {
                        /* a failure SQLite or jansson absorbed */
                        mem_free(text);
                        json_decref(info);
                        continue;
                }
                assert_true(r == -ENOMEM || r == WBEM_E_FAILED);
                assert_null(text);
        }
}

static void test_account_lookup(void **state) {
        Account a;
        Error e;
        (void)state;

        assert_int_equal(account_lookup("root", &a, &e), 0);
        assert_int_equal(a.uid, 0);
        assert_int_equal(a.gid, 0);
        bool has_primary = false;
        for (size_t i = 0; i < a.n_groups; i++)
                has_primary |= a.groups[i] == 0;
        assert_true(has_primary);
        account_done(&a);
        assert_null(a.groups);

        assert_int_equal(account_lookup("no-such-user-lwmi", &a, &e), WBEM_E_NOT_FOUND);
        assert_string_equal(e.message, "no local user 'no-such-user-lwmi'");
}

int main(void) {
        mem_install_library_hooks();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_hash),
                cmocka_unit_test_setup_teardown(test_add_verify_list_revoke, store_setup,
                                                store_teardown),
                cmocka_unit_test_setup_teardown(test_verify_refusals, store_setup,
                                                store_teardown),
                cmocka_unit_test_setup_teardown(test_add_refusals, store_setup, store_teardown),
                cmocka_unit_test_setup_teardown(test_broken_database, store_setup,
                                                store_teardown),
                cmocka_unit_test_setup_teardown(test_out_of_memory, store_setup, store_teardown),
                cmocka_unit_test(test_account_lookup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
