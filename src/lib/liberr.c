/* The library's error objects; see liberr.h. */
#include "liberr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

LWMI_EXPORT void lwmi_error_clear(lwmi_error *e) {
        if (!e)
                return;
        memset(e, 0, sizeof(*e));
}

void liberr_trim_utf8(char *s, size_t size) {
        size_t len = strnlen(s, size);
        if (len + 1 < size)
                return; /* not truncated */
        /* Walk back over continuation bytes to the lead byte of the last
         * sequence; drop it if the sequence is incomplete. */
        size_t i = len;
        size_t cont = 0;
        while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
                i--;
                cont++;
        }
        if (i == 0)
                return;
        unsigned char lead = (unsigned char)s[i - 1];
        size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
        if (need != cont)
                s[need == 0 ? i : i - 1] = '\0';
}

static void set_status(lwmi_error *e, const char *status) {
        snprintf(e->status, sizeof(e->status), "%s", status ? status : "WBEM_E_FAILED");
}

int liberr_set(lwmi_error *e, int r, int code, const char *status, const char *fmt, ...) {
        if (!e)
                return r;
        lwmi_error_clear(e);
        e->code = code;
        set_status(e, status);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof(e->message), fmt, ap);
        va_end(ap);
        liberr_trim_utf8(e->message, sizeof(e->message));
        return r;
}

int liberr_oom(lwmi_error *e) {
        return liberr_set(e, -ENOMEM, LWMI_ERROR_NO_MEMORY, "WBEM_E_OUT_OF_MEMORY",
                          "out of memory");
}

/* A status for servers that send none: WMI's names for JSON-RPC's codes. */
static const char *status_for_rpc_code(json_int_t code) {
        switch (code) {
        case -32601:
                return "WBEM_E_INVALID_METHOD";
        case -32602:
                return "WBEM_E_INVALID_PARAMETER";
        case -32600:
        case -32700:
                return "WBEM_E_INVALID_OPERATION";
        default:
                return "WBEM_E_FAILED";
        }
}

static unsigned position_value(const json_t *data, const char *key) {
        json_t *v = json_object_get(data, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > (json_int_t)0x7fffffff)
                return 0;
        return (unsigned)json_integer_value(v);
}

int liberr_from_rpc(lwmi_error *e, const json_t *error) {
        if (!e)
                return -EREMOTEIO;
        lwmi_error_clear(e);
        json_t *code = json_object_get(error, "code");
        json_t *message = json_object_get(error, "message");
        json_t *data = json_object_get(error, "data");
        e->code = json_is_integer(code) && json_integer_value(code) >= -0x7fffffff &&
                                  json_integer_value(code) <= 0x7fffffff
                          ? (int)json_integer_value(code)
                          : -32603;
        const char *status = NULL;
        if (json_is_object(data)) {
                status = json_string_value(json_object_get(data, "status"));
                e->line = position_value(data, "line");
                e->column = position_value(data, "column");
        }
        set_status(e, status ? status : status_for_rpc_code(e->code));
        snprintf(e->message, sizeof(e->message), "%s",
                 json_is_string(message) ? json_string_value(message) : "server error");
        liberr_trim_utf8(e->message, sizeof(e->message));
        return -EREMOTEIO;
}

void liberr_copy(lwmi_error *dst, const lwmi_error *src) {
        if (dst && dst != src)
                *dst = *src;
}
