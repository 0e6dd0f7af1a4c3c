/* Error reporting shared by the engine, the daemon and the client library.
 *
 * Convention (see STYLE.md): a function returns 0 on success, a negative
 * errno for a failure the caller only passes up (-ENOMEM, -EIO), or a
 * positive WbemStatus for a condition the caller must handle (not found,
 * invalid query, ...). With a positive status the function also fills the
 * caller's Error, if one was given, with a message that says what was wrong
 * and where; for queries `line` and `column` give the position (1-based,
 * 0 when there is none). */
#pragma once

#include <stdint.h>

/* WBEM statuses, named as in WMI. The numeric values here are lwmi's own
 * small positive codes; wbem_status_hresult() gives WMI's HRESULT. */
typedef enum WbemStatus {
        WBEM_S_NO_ERROR = 0,
        WBEM_E_FAILED = 1,
        WBEM_E_NOT_FOUND,
        WBEM_E_ACCESS_DENIED,
        WBEM_E_OUT_OF_MEMORY,
        WBEM_E_ALREADY_EXISTS,
        WBEM_E_INVALID_PARAMETER,
        WBEM_E_INVALID_CLASS,
        WBEM_E_INVALID_NAMESPACE,
        WBEM_E_INVALID_OBJECT,
        WBEM_E_INVALID_OBJECT_PATH,
        WBEM_E_INVALID_PROPERTY,
        WBEM_E_INVALID_PROPERTY_TYPE,
        WBEM_E_TYPE_MISMATCH,
        WBEM_E_INVALID_QUERY,
        WBEM_E_INVALID_QUERY_TYPE,
        WBEM_E_INVALID_SUPERCLASS,
        WBEM_E_CLASS_HAS_CHILDREN,
        WBEM_E_CLASS_HAS_INSTANCES,
        WBEM_E_ILLEGAL_NULL,
        WBEM_E_READ_ONLY,
        WBEM_E_NOT_SUPPORTED,
        WBEM_E_PROVIDER_FAILURE,
        WBEM_E_QUOTA_VIOLATION,
        WBEM_E_CALL_CANCELLED,
        WBEM_E_SHUTTING_DOWN,
        WBEM_E_TRANSPORT_FAILURE,
        WBEM_E_INVALID_METHOD,
        WBEM_E_UNPARSABLE_QUERY,
        WBEM_E_INVALID_OPERATION,
        WBEM_E_REPOSITORY_VERSION,
        _WBEM_STATUS_MAX,
} WbemStatus;

typedef struct Error {
        int status;
        unsigned line;
        unsigned column;
        char message[512];
} Error;

/* Fill *e (if not NULL) and return status, so callers can write
 * `return error_set(err, WBEM_E_NOT_FOUND, "class %s not found", n);`. */
int error_set(Error *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int error_set_at(Error *e, int status, unsigned line, unsigned column, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* For a negative errno: fill *e with the status it maps to (-ENOMEM gives
 * WBEM_E_OUT_OF_MEMORY, anything else WBEM_E_FAILED) and strerror text.
 * Returns r unchanged. */
int error_from_errno(Error *e, int r);
void error_clear(Error *e);

/* "WBEM_E_NOT_FOUND"; "WBEM_E_FAILED" for an unknown value. */
const char *wbem_status_name(int status);
/* Parse a name back; returns -1 when unknown. */
int wbem_status_from_name(const char *name);
/* WMI's HRESULT for the status (0x80041002 for WBEM_E_NOT_FOUND). */
uint32_t wbem_status_hresult(int status);
