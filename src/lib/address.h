/* Server addresses as the user writes them: "unix:PATH", a plain PATH,
 * "tcp:HOST:PORT" ("tcp:[V6]:PORT") or "tls:HOST:PORT", and the default
 * socket when none is given. conn.c connects to them. */
#pragma once

#include <stdint.h>

#include "lwmi/lwmi.h"

typedef enum AddressKind {
        ADDRESS_UNIX,
        ADDRESS_TCP,
        ADDRESS_TLS, /* TCP with TLS on top (tlsconn.h) */
} AddressKind;

typedef struct Address {
        AddressKind kind;
        char *path;    /* ADDRESS_UNIX */
        char *host;    /* ADDRESS_TCP, ADDRESS_TLS: without brackets for IPv6 */
        uint16_t port; /* ADDRESS_TCP, ADDRESS_TLS */
} Address;

/* Parse `text` into *ret. Errors: -EINVAL (empty path, bad port, missing
 * host), -ENAMETOOLONG (a path longer than a Unix socket address holds),
 * -ENOMEM; *err says which. */
int address_parse(const char *text, Address *ret, lwmi_error *err);
void address_done(Address *a);

/* The default address (see lwmi_default_address()). Uses secure_getenv()
 * so that a set-uid program is not steered to another socket. */
int address_default(char **ret, lwmi_error *err);
