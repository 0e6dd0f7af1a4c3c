/* Access tokens for TLS clients: a secret that stands for a local user,
 * sent in Hello (docs/protocol.md) instead of a client certificate.
 *
 * The token text is "lwmi_" ID "_" SECRET: ID 16 lowercase hex digits (8
 * random bytes; it names the token in ListTokens and RevokeToken and is
 * how the stored hash is found, one indexed lookup rather than a scan
 * over every hash), SECRET 64 lowercase hex digits (32 random bytes from
 * OpenSSL's RAND_bytes). Only AddToken ever sees the secret; it is
 * returned once and not kept.
 *
 * Storage: the table `tokens` in the repository (created at open with
 * CREATE TABLE IF NOT EXISTS, so an older repository gains it): id, user,
 * name, created, last_used, and the secret's PBKDF2-HMAC-SHA256 with a
 * per-token 16-byte random salt and the iteration count it was made with
 * (so the count can grow without invalidating tokens). Checking compares
 * the derived hash in constant time (CRYPTO_memcmp). The secret has 256
 * bits, so the KDF is a second line of defence for a stolen repository;
 * its cost is paid on the daemon's loop, once per connection and only for
 * an id that exists, so it is kept small: TOKENS_DEFAULT_ITERATIONS rounds
 * take 1-2 ms on an idle core (about 6 ms on a loaded 2-CPU test VM;
 * 20,000 rounds took 25 ms there, which a client knowing a token's id
 * could have made the loop pay once per TLS handshake).
 *
 * Revoking deletes the row: new sessions are refused at once; open
 * sessions authenticated by the token are closed by the caller
 * (server_close_token_sessions). */
#pragma once

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define TOKENS_ID_HEX 16
#define TOKENS_SECRET_BYTES 32
#define TOKENS_SALT_BYTES 16
#define TOKENS_HASH_BYTES 32
/* "lwmi_" + id + "_" + 2 * secret */
#define TOKENS_TEXT_LEN (5 + TOKENS_ID_HEX + 1 + 2 * TOKENS_SECRET_BYTES)
#define TOKENS_DEFAULT_ITERATIONS 5000
/* Names given to tokens (AddToken's "name") and user names. */
#define TOKENS_NAME_MAX 128
#define TOKENS_USER_MAX 64

typedef struct Tokens Tokens;

/* A token's text, parsed: its id (NUL-terminated) and secret. */
typedef struct TokenText {
        char id[TOKENS_ID_HEX + 1];
        unsigned char secret[TOKENS_SECRET_BYTES];
} TokenText;

/* Parse token text (len bytes, not NUL-terminated; surrounding white
 * space, as a token file ends with a newline, is allowed). 0 with *ret,
 * or -EINVAL for anything else: wrong prefix, length, separator, or a
 * character that is not a lowercase hex digit. */
int tokens_parse(const char *text, size_t len, TokenText *ret);

/* PBKDF2-HMAC-SHA256 of secret with salt, iterations rounds, into out
 * (TOKENS_HASH_BYTES). 0, or -ENOMEM / -EINVAL from OpenSSL. */
int tokens_hash(const unsigned char *secret, size_t secret_len, const unsigned char *salt,
                size_t salt_len, unsigned iterations, unsigned char *out);

/* The token store on db (borrowed: it must outlive the store), creating
 * its table if needed; new tokens are hashed with `iterations` rounds (0:
 * TOKENS_DEFAULT_ITERATIONS; tests use fewer). WBEM_E_FAILED with
 * SQLite's message, -ENOMEM. */
int tokens_new(sqlite3 *db, unsigned iterations, Tokens **ret, Error *err);
Tokens *tokens_free(Tokens *t); /* accepts NULL, returns NULL */

/* Make a token for user (a name, checked by the caller) with an optional
 * name. 0 with *ret_text (the token text, mem_free; shown once) and
 * *ret_info (a JSON object as ListTokens lists it; may be NULL).
 * WBEM_E_INVALID_PARAMETER for a user or name that is empty, too long or
 * not printable; WBEM_E_FAILED (SQLite, no randomness); -ENOMEM. */
int tokens_add(Tokens *t, const char *user, const char *name, char **ret_text, json_t **ret_info,
               Error *err);

/* Every token, oldest first, as a JSON array of objects {id, user, name
 * (or null), created, last_used (or null)}: times in seconds since the
 * epoch. Never the secret or its hash. */
int tokens_list(Tokens *t, json_t **ret, Error *err);

/* Delete the token with this id. WBEM_E_NOT_FOUND when there is none. On
 * success *ret_user (may be NULL) is the user it stood for (mem_free). */
int tokens_revoke(Tokens *t, const char *id, char **ret_user, Error *err);

/* Check token text. 0 with *ret_user (mem_free) and the token's id in
 * ret_id (TOKENS_ID_HEX + 1 bytes), and its last_used updated;
 * WBEM_E_ACCESS_DENIED with the reason in err for the log (malformed,
 * unknown id, wrong secret) — the peer must be told no more than "token
 * refused"; WBEM_E_FAILED, -ENOMEM. */
int tokens_verify(Tokens *t, const char *text, size_t len, char **ret_user, char *ret_id,
                  Error *err);
