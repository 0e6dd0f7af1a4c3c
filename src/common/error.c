/* Error objects and the WBEM status table; see error.h. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"

static const struct {
        const char *name;
        uint32_t hresult;
} status_table[_WBEM_STATUS_MAX] = {
        [WBEM_S_NO_ERROR] = { "WBEM_S_NO_ERROR", 0x00000000 },
        [WBEM_E_FAILED] = { "WBEM_E_FAILED", 0x80041001 },
        [WBEM_E_NOT_FOUND] = { "WBEM_E_NOT_FOUND", 0x80041002 },
        [WBEM_E_ACCESS_DENIED] = { "WBEM_E_ACCESS_DENIED", 0x80041003 },
        [WBEM_E_OUT_OF_MEMORY] = { "WBEM_E_OUT_OF_MEMORY", 0x80041006 },
        [WBEM_E_ALREADY_EXISTS] = { "WBEM_E_ALREADY_EXISTS", 0x80041019 },
        [WBEM_E_INVALID_PARAMETER] = { "WBEM_E_INVALID_PARAMETER", 0x80041008 },
        [WBEM_E_INVALID_CLASS] = { "WBEM_E_INVALID_CLASS", 0x80041010 },
        [WBEM_E_INVALID_NAMESPACE] = { "WBEM_E_INVALID_NAMESPACE", 0x8004100E },
        [WBEM_E_INVALID_OBJECT] = { "WBEM_E_INVALID_OBJECT", 0x8004100F },
        [WBEM_E_INVALID_OBJECT_PATH] = { "WBEM_E_INVALID_OBJECT_PATH", 0x8004103A },
        [WBEM_E_INVALID_PROPERTY] = { "WBEM_E_INVALID_PROPERTY", 0x80041011 },
        [WBEM_E_INVALID_PROPERTY_TYPE] = { "WBEM_E_INVALID_PROPERTY_TYPE", 0x8004102A },
        [WBEM_E_TYPE_MISMATCH] = { "WBEM_E_TYPE_MISMATCH", 0x80041005 },
        [WBEM_E_INVALID_QUERY] = { "WBEM_E_INVALID_QUERY", 0x80041017 },
        [WBEM_E_INVALID_QUERY_TYPE] = { "WBEM_E_INVALID_QUERY_TYPE", 0x80041018 },
        [WBEM_E_INVALID_SUPERCLASS] = { "WBEM_E_INVALID_SUPERCLASS", 0x8004100D },
        [WBEM_E_CLASS_HAS_CHILDREN] = { "WBEM_E_CLASS_HAS_CHILDREN", 0x80041025 },
        [WBEM_E_CLASS_HAS_INSTANCES] = { "WBEM_E_CLASS_HAS_INSTANCES", 0x80041026 },
        [WBEM_E_ILLEGAL_NULL] = { "WBEM_E_ILLEGAL_NULL", 0x80041028 },
        [WBEM_E_READ_ONLY] = { "WBEM_E_READ_ONLY", 0x80041031 },
        [WBEM_E_NOT_SUPPORTED] = { "WBEM_E_NOT_SUPPORTED", 0x8004100C },
        [WBEM_E_PROVIDER_FAILURE] = { "WBEM_E_PROVIDER_FAILURE", 0x80041004 },
        [WBEM_E_QUOTA_VIOLATION] = { "WBEM_E_QUOTA_VIOLATION", 0x8004106C },
        [WBEM_E_CALL_CANCELLED] = { "WBEM_E_CALL_CANCELLED", 0x80041032 },
        [WBEM_E_SHUTTING_DOWN] = { "WBEM_E_SHUTTING_DOWN", 0x80041033 },
        [WBEM_E_TRANSPORT_FAILURE] = { "WBEM_E_TRANSPORT_FAILURE", 0x80041015 },
        [WBEM_E_INVALID_METHOD] = { "WBEM_E_INVALID_METHOD", 0x8004102E },
        [WBEM_E_UNPARSABLE_QUERY] = { "WBEM_E_UNPARSABLE_QUERY", 0x80041058 },
        [WBEM_E_INVALID_OPERATION] = { "WBEM_E_INVALID_OPERATION", 0x80041016 },
        [WBEM_E_REPOSITORY_VERSION] = { "WBEM_E_REPOSITORY_VERSION", 0x80041001 },
};

const char *wbem_status_name(int status) {
        if (status < 0 || status >= _WBEM_STATUS_MAX || !status_table[status].name)
                return "WBEM_E_FAILED";
        return status_table[status].name;
}

int wbem_status_from_name(const char *name) {
        for (int i = 0; i < _WBEM_STATUS_MAX; i++)
                if (status_table[i].name && strcasecmp(status_table[i].name, name) == 0)
                        return i;
        return -1;
}

uint32_t wbem_status_hresult(int status) {
        if (status < 0 || status >= _WBEM_STATUS_MAX || !status_table[status].name)
                return 0x80041001;
        return status_table[status].hresult;
}

void error_clear(Error *e) {
        if (!e)
                return;
        e->status = 0;
        e->line = e->column = 0;
        e->message[0] = '\0';
}

/* A printf-style wrapper: the attribute lets the compiler check the format it
 * is handed (clang's -Wformat-nonliteral, from -Wformat=2, requires it). */
static void error_vset(Error *e, int status, unsigned line, unsigned column, const char *fmt,
                       va_list ap) __attribute__((format(printf, 5, 0)));

static void error_vset(Error *e, int status, unsigned line, unsigned column, const char *fmt,
                       va_list ap) {
        e->status = status;
        e->line = line;
        e->column = column;
        vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

int error_set(Error *e, int status, const char *fmt, ...) {
        if (e) {
                va_list ap;
                va_start(ap, fmt);
                error_vset(e, status, 0, 0, fmt, ap);
                va_end(ap);
        }
        return status;
}

int error_set_at(Error *e, int status, unsigned line, unsigned column, const char *fmt, ...) {
        if (e) {
                va_list ap;
                va_start(ap, fmt);
                error_vset(e, status, line, column, fmt, ap);
                va_end(ap);
        }
        return status;
}

int error_from_errno(Error *e, int r) {
        if (e && r < 0) {
                e->status = r == -ENOMEM ? WBEM_E_OUT_OF_MEMORY : WBEM_E_FAILED;
                e->line = e->column = 0;
                snprintf(e->message, sizeof(e->message), "%s", strerror(-r));
        }
        return r;
}
