/* os-release parsing; see osrelease.h. */
#include "osrelease.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "mem.h"

/* Unquote the value [p, end) (one line, without its newline) into out,
 * which has room for end - p + 1 bytes. */
static int osrelease_unquote(const char *p, const char *end, char *out) {
        size_t o = 0;
        while (p < end) {
                char c = *p++;
                if (c == '"') {
                        bool closed = false;
                        while (p < end) {
                                c = *p++;
                                if (c == '"') {
                                        closed = true;
                                        break;
                                }
                                /* In double quotes a backslash escapes only
                                 * these, as in the shell. */
                                if (c == '\\' && p < end && *p != '\0' && strchr("$\"\\`", *p))
                                        c = *p++;
                                out[o++] = c;
                        }
                        if (!closed)
                                return -EBADMSG;
                } else if (c == '\'') {
                        const char *q = memchr(p, '\'', (size_t)(end - p));
                        if (!q)
                                return -EBADMSG;
                        memcpy(out + o, p, (size_t)(q - p));
                        o += (size_t)(q - p);
                        p = q + 1;
                } else if (c == '\\' && p < end) {
                        out[o++] = *p++;
                } else if (c == ' ' || c == '\t') {
                        /* Unquoted white space ends the value (a trailing
                         * comment or stray text is ignored). */
                        break;
                } else {
                        out[o++] = c;
                }
        }
        out[o] = '\0';
        return 0;
}

int osrelease_get(const char *text, size_t len, const char *key, char **ret) {
        size_t key_len = strlen(key);
        const char *end = text + len;
        const char *found = NULL, *found_end = NULL;

        for (const char *line = text; line < end;) {
                const char *nl = memchr(line, '\n', (size_t)(end - line));
                const char *line_end = nl ? nl : end;
                if ((size_t)(line_end - line) > key_len && memcmp(line, key, key_len) == 0 &&
                    line[key_len] == '=') {
                        found = line + key_len + 1;
                        found_end = line_end;
                }
                line = nl ? nl + 1 : end;
        }
        if (!found)
                return -ENOENT;

        char *out = mem_malloc((size_t)(found_end - found) + 1);
        if (!out)
                return -ENOMEM;
        int r = osrelease_unquote(found, found_end, out);
        if (r < 0) {
                mem_free(out);
                return r;
        }
        *ret = out;
        return 0;
}
