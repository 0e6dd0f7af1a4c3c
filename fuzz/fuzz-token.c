/* Fuzz target for the token text a TLS client sends in Hello
 * (tokens_parse, tokens.c): outside input read before any
 * authentication.
 *
 * Any input is parsed. When it parses, the token written back from its
 * id and secret must be the input without its surrounding white space,
 * byte for byte (the parser accepts exactly one spelling), and must parse
 * again to the same id and secret. A mismatch aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TokenText t, again;
        char text[TOKENS_TEXT_LEN + 1];

        if (tokens_parse((const char *)data, size, &t) != 0)
                return 0;
        int n = snprintf(text, sizeof(text), "lwmi_%s_", t.id);
        for (size_t i = 0; i < TOKENS_SECRET_BYTES; i++)
                n += snprintf(text + n, sizeof(text) - (size_t)n, "%02x", t.secret[i]);
        if ((size_t)n != TOKENS_TEXT_LEN)
                abort();
        const char *p = (const char *)data;
        size_t len = size;
        while (len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
                p++;
                len--;
        }
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n' ||
                       p[len - 1] == '\r'))
                len--;
        if (len != TOKENS_TEXT_LEN || memcmp(p, text, len) != 0)
                abort();
        if (tokens_parse(text, strlen(text), &again) != 0 || memcmp(&t, &again, sizeof(t)) != 0)
                abort();
        return 0;
}
