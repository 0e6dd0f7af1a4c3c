/* TCP listening addresses as lwmid's --listen option and `listen` key write
 * them: "IPV4:PORT" or "[IPV6]:PORT", numeric only (no name is looked up
 * at startup, and what is bound is exactly what the user wrote), port 0
 * meaning "any free port" (the one chosen is logged).
 *
 * "tls:" before the address asks for TLS (tls.h) on it.
 *
 * Plain TCP has no authentication, so lwmid listens on loopback only
 * unless --insecure-tcp says otherwise: netaddr_is_loopback() is that
 * policy's test. TLS may listen on any address. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "error.h"

/* Room for "[IPV6%SCOPE]:PORT" and its NUL. */
#define NETADDR_TEXT_MAX (INET6_ADDRSTRLEN + 16 + 8 + 1)

typedef struct NetAddr {
        struct sockaddr_storage ss;
        socklen_t len;
} NetAddr;

/* Parse text into *ret. WBEM_E_INVALID_PARAMETER with a message naming
 * `what` (the option or key) and text: no port, a port that is not a
 * number from 0 to 65535, a host that is not a numeric IPv4 or a bracketed
 * IPv6 address (an unbracketed IPv6 address gets a hint). *ret is left
 * untouched on failure. */
int netaddr_parse(const char *text, const char *what, NetAddr *ret, Error *err);

/* A listen setting: "ADDR:PORT" for plain TCP, or "tls:ADDR:PORT" for
 * TLS (*ret_tls set); the address as for netaddr_parse. */
int netaddr_parse_listen(const char *text, const char *what, NetAddr *ret, bool *ret_tls,
                         Error *err);

/* Whether the address is loopback: 127.0.0.0/8, ::1, or an IPv4-mapped
 * ::ffff:127.x.y.z. The unspecified addresses (0.0.0.0, ::) are not: they
 * accept connections from everywhere. */
bool netaddr_is_loopback(const NetAddr *a);

/* "127.0.0.1:5555" or "[::1]:5555" into buf (at least NETADDR_TEXT_MAX
 * bytes for any address; cut to fit otherwise); "?" for an address of
 * another family. */
void netaddr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);

/* For a connected TCP socket, its peer as "tcp 127.0.0.1:5555" or
 * "tcp [::1]:5555" in buf, and true; false (buf untouched) for any other
 * socket (a Unix one). */
bool netaddr_describe_tcp_peer(int fd, char *buf, size_t size);
