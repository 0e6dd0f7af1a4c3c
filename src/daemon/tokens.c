/* Access tokens: text, hashing, storage in the repository; see tokens.h. */
#include "tokens.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cleanup.h"
#include "mem.h"

struct Tokens {
        sqlite3 *db;
        unsigned iterations;
};

static const char tokens_schema[] =
        "CREATE TABLE IF NOT EXISTS tokens ("
        " id TEXT PRIMARY KEY NOT NULL," /* 16 hex digits, the token's public part */
        " user TEXT NOT NULL,"
        " name TEXT,"
        " kdf TEXT NOT NULL,"             /* 'pbkdf2-sha256' */
        " iterations INTEGER NOT NULL,"
        " salt BLOB NOT NULL,"
        " hash BLOB NOT NULL,"
        " created INTEGER NOT NULL,"      /* seconds since the epoch */
        " last_used INTEGER"
        ") WITHOUT ROWID";

static int tokens_sqlite_error(sqlite3 *db, int rc, Error *err, const char *what) {
        if ((rc & 0xff) == SQLITE_NOMEM)
                return error_from_errno(err, -ENOMEM);
        return error_set(err, WBEM_E_FAILED, "tokens: %s: %s", what, sqlite3_errmsg(db));
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

static void hex_encode(const unsigned char *in, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 15];
        }
        out[2 * n] = '\0';
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int tokens_parse(const char *text, size_t len, TokenText *ret) {
        TokenText t;

        while (len > 0 && is_space(text[0])) {
                text++;
                len--;
        }
        while (len > 0 && is_space(text[len - 1]))
                len--;
        if (len != TOKENS_TEXT_LEN || memcmp(text, "lwmi_", 5) != 0 ||
            text[5 + TOKENS_ID_HEX] != '_')
                return -EINVAL;
        const char *id = text + 5, *secret = id + TOKENS_ID_HEX + 1;
        for (size_t i = 0; i < TOKENS_ID_HEX; i++) {
                if (hex_value(id[i]) < 0)
                        return -EINVAL;
                t.id[i] = id[i];
        }
        t.id[TOKENS_ID_HEX] = '\0';
        for (size_t i = 0; i < TOKENS_SECRET_BYTES; i++) {
                int hi = hex_value(secret[2 * i]), lo = hex_value(secret[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                t.secret[i] = (unsigned char)(hi << 4 | lo);
        }
        *ret = t;
        OPENSSL_cleanse(&t, sizeof(t));
        return 0;
}

int tokens_hash(const unsigned char *secret, size_t secret_len, const unsigned char *salt,
                size_t salt_len, unsigned iterations, unsigned char *out) {
        if (iterations == 0 || iterations > 100000000 || secret_len > 1024 || salt_len > 1024)
                return -EINVAL;
        if (PKCS5_PBKDF2_HMAC((const char *)secret, (int)secret_len, salt, (int)salt_len,
                              (int)iterations, EVP_sha256(), TOKENS_HASH_BYTES, out) != 1)
                return -ENOMEM;
        return 0;
}

int tokens_new(sqlite3 *db, unsigned iterations, Tokens **ret, Error *err) {
        int rc = sqlite3_exec(db, tokens_schema, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return tokens_sqlite_error(db, rc, err, "creating the table");
        Tokens *t = mem_calloc(1, sizeof(*t));
        if (!t)
                return error_from_errno(err, -ENOMEM);
        t->db = db;
        t->iterations = iterations ? iterations : TOKENS_DEFAULT_ITERATIONS;
        *ret = t;
        return 0;
}

Tokens *tokens_free(Tokens *t) {
        mem_free(t);
        return NULL;
}

static void stmt_finalizep(sqlite3_stmt **st) {
        if (*st)
                sqlite3_finalize(*st);
}

static int tokens_prepare(Tokens *t, const char *sql, sqlite3_stmt **ret, Error *err) {
        int rc = sqlite3_prepare_v2(t->db, sql, -1, ret, NULL);
        if (rc != SQLITE_OK) {
                *ret = NULL;
                return tokens_sqlite_error(t->db, rc, err, "preparing a statement");
        }
        return 0;
}

/* A user or token name as stored: 1..max bytes, printable ASCII (user
 * names may not hold spaces). */
static bool tokens_name_ok(const char *s, size_t max, bool spaces) {
        size_t n = strlen(s);
        if (n == 0 || n > max)
                return false;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p >= 0x7f || (*p == ' ' && !spaces))
                        return false;
        return true;
}

/* A JSON object for a row: id, user, name, created, last_used (columns
 * 0..4 of st). */
static json_t *tokens_row_json(sqlite3_stmt *st) {
        json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:o}", "id",
                              (const char *)sqlite3_column_text(st, 0), "user",
                              (const char *)sqlite3_column_text(st, 1), "name",
                              sqlite3_column_type(st, 2) == SQLITE_NULL
                                      ? json_null()
                                      : json_string((const char *)sqlite3_column_text(st, 2)),
                              "created", (json_int_t)sqlite3_column_int64(st, 3), "last_used",
                              sqlite3_column_type(st, 4) == SQLITE_NULL
                                      ? json_null()
                                      : json_integer(sqlite3_column_int64(st, 4)));
        return o;
}

int tokens_add(Tokens *t, const char *user, const char *name, char **ret_text, json_t **ret_info,
               Error *err) {
        unsigned char id_bytes[TOKENS_ID_HEX / 2], secret[TOKENS_SECRET_BYTES];
        unsigned char salt[TOKENS_SALT_BYTES], hash[TOKENS_HASH_BYTES];
        char id[TOKENS_ID_HEX + 1], secret_hex[2 * TOKENS_SECRET_BYTES + 1];
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        time_t now = time(NULL);
        int r;

        if (!tokens_name_ok(user, TOKENS_USER_MAX, false))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "user: not a user name (printable ASCII without spaces, 1 to %d "
                                 "bytes)",
                                 TOKENS_USER_MAX);
        if (name && !tokens_name_ok(name, TOKENS_NAME_MAX, true))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "name: printable ASCII, 1 to %d bytes", TOKENS_NAME_MAX);
        if (RAND_bytes(id_bytes, sizeof(id_bytes)) != 1 ||
            RAND_bytes(secret, sizeof(secret)) != 1 || RAND_bytes(salt, sizeof(salt)) != 1)
                return error_set(err, WBEM_E_FAILED, "tokens: no random bytes from OpenSSL");
        hex_encode(id_bytes, sizeof(id_bytes), id);
        r = tokens_hash(secret, sizeof(secret), salt, sizeof(salt), t->iterations, hash);
        if (r < 0)
                goto out;

        r = tokens_prepare(t, "INSERT INTO tokens (id, user, name, kdf, iterations, salt, hash, "
                              "created) VALUES (?, ?, ?, 'pbkdf2-sha256', ?, ?, ?, ?)",
                           &st, err);
        if (r != 0)
                goto out;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        if (name)
                sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, t->iterations);
        sqlite3_bind_blob(st, 5, salt, sizeof(salt), SQLITE_STATIC);
        sqlite3_bind_blob(st, 6, hash, sizeof(hash), SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)now);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
                /* 64 random bits colliding is not worth a retry loop */
                r = tokens_sqlite_error(t->db, rc, err, "storing a token");
                goto out;
        }
        hex_encode(secret, sizeof(secret), secret_hex);
        char *text = mem_printf("lwmi_%s_%s", id, secret_hex);
        OPENSSL_cleanse(secret_hex, sizeof(secret_hex));
        if (!text) {
                r = error_from_errno(err, -ENOMEM);
                goto out;
        }
        if (ret_info) {
                json_t *info = json_pack("{s:s, s:s, s:o, s:I, s:n}", "id", id, "user", user,
                                         "name", name ? json_string(name) : json_null(), "created",
                                         (json_int_t)now,
                                         "last_used");
                if (!info) {
                        OPENSSL_cleanse(text, strlen(text));
                        mem_free(text);
                        r = error_from_errno(err, -ENOMEM);
                        goto out;
                }
                *ret_info = info;
        }
        *ret_text = text;
        r = 0;
out:
        OPENSSL_cleanse(secret, sizeof(secret));
        if (r < 0 && err && err->status == 0)
                error_from_errno(err, r);
        return r;
}

int tokens_list(Tokens *t, json_t **ret, Error *err) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int r = tokens_prepare(t, "SELECT id, user, name, created, last_used FROM tokens "
                                  "ORDER BY created, id",
                               &st, err);
        if (r != 0)
                return r;
        json_t *list = json_array();
        if (!list)
                return error_from_errno(err, -ENOMEM);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (json_array_append_new(list, tokens_row_json(st)) < 0) {
                        json_decref(list);
                        return error_from_errno(err, -ENOMEM);
                }
        }
        if (rc != SQLITE_DONE) {
                json_decref(list);
                return tokens_sqlite_error(t->db, rc, err, "listing tokens");
        }
        *ret = list;
        return 0;
}

int tokens_revoke(Tokens *t, const char *id, char **ret_user, Error *err) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        int r = tokens_prepare(t, "DELETE FROM tokens WHERE id = ? RETURNING user", &st, err);
        if (r != 0)
                return r;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return error_set(err, WBEM_E_NOT_FOUND, "no token with id '%s'", id);
        if (rc != SQLITE_ROW)
                return tokens_sqlite_error(t->db, rc, err, "revoking a token");
        char *user = mem_strdup((const char *)sqlite3_column_text(st, 0));
        if (!user)
                return error_from_errno(err, -ENOMEM);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
                mem_free(user);
                return tokens_sqlite_error(t->db, rc, err, "revoking a token");
        }
        if (ret_user)
                *ret_user = user;
        else
                mem_free(user);
        return 0;
}

int tokens_verify(Tokens *t, const char *text, size_t len, char **ret_user, char *ret_id,
                  Error *err) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
        unsigned char hash[TOKENS_HASH_BYTES];
        TokenText tt;
        int r;

        if (tokens_parse(text, len, &tt) < 0)
                return error_set(err, WBEM_E_ACCESS_DENIED, "malformed token");
        r = tokens_prepare(t, "SELECT user, kdf, iterations, salt, hash FROM tokens WHERE id = ?",
                           &st, err);
        if (r != 0)
                goto out;
        sqlite3_bind_text(st, 1, tt.id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                r = error_set(err, WBEM_E_ACCESS_DENIED, "unknown token id %s", tt.id);
                goto out;
        }
        if (rc != SQLITE_ROW) {
                r = tokens_sqlite_error(t->db, rc, err, "looking up a token");
                goto out;
        }
        const char *kdf = (const char *)sqlite3_column_text(st, 1);
        sqlite3_int64 iterations = sqlite3_column_int64(st, 2);
        const void *salt = sqlite3_column_blob(st, 3);
        int salt_len = sqlite3_column_bytes(st, 3);
        const void *stored = sqlite3_column_blob(st, 4);
        int stored_len = sqlite3_column_bytes(st, 4);
        if (!kdf || strcmp(kdf, "pbkdf2-sha256") != 0 || iterations <= 0 ||
            iterations > 100000000 || !salt || salt_len <= 0 || !stored ||
            stored_len != TOKENS_HASH_BYTES) {
                r = error_set(err, WBEM_E_ACCESS_DENIED, "token %s: stored hash unusable", tt.id);
                goto out;
        }
        r = tokens_hash(tt.secret, sizeof(tt.secret), salt, (size_t)salt_len, (unsigned)iterations,
                        hash);
        if (r < 0) {
                error_from_errno(err, r);
                goto out;
        }
        if (CRYPTO_memcmp(hash, stored, TOKENS_HASH_BYTES) != 0) {
                r = error_set(err, WBEM_E_ACCESS_DENIED, "wrong secret for token %s", tt.id);
                goto out;
        }
        char *user = mem_strdup((const char *)sqlite3_column_text(st, 0));
        if (!user) {
                r = error_from_errno(err, -ENOMEM);
                goto out;
        }
        sqlite3_finalize(TAKE_PTR(st));
        /* Best effort: a token that works must not fail for this. */
        if (tokens_prepare(t, "UPDATE tokens SET last_used = ? WHERE id = ?", &st, NULL) == 0) {
                sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
                sqlite3_bind_text(st, 2, tt.id, -1, SQLITE_STATIC);
                (void)sqlite3_step(st);
        }
        memcpy(ret_id, tt.id, sizeof(tt.id));
        *ret_user = user;
        r = 0;
out:
        OPENSSL_cleanse(&tt, sizeof(tt));
        OPENSSL_cleanse(hash, sizeof(hash));
        return r;
}
