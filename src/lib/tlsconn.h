/* The client side of TLS (OpenSSL 3) for "tls:HOST:PORT" connections: a
 * context per connection, the handshake (done at connect time, within the
 * connection's timeout), then reads and writes on the non-blocking socket
 * in place of recv() and send().
 *
 * The socket is reached through a small BIO of our own that uses send()
 * with MSG_NOSIGNAL, as the plain transport does: OpenSSL's socket BIO
 * writes with write(), which would raise SIGPIPE in the application when
 * the server has gone.
 *
 * The server's certificate must chain to the CA file (or, without one,
 * the system's trusted CAs) and name HOST: a DNS subjectAltName for a
 * name, an IP one for an address. TLS 1.2 at least. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwmi/lwmi.h"

typedef struct TlsConn TlsConn;

/* The options in force: tls as given, or (NULL) from the environment
 * (LWMI_TLS_CA, LWMI_TLS_CERT, LWMI_TLS_KEY, LWMI_TOKEN_FILE). Strings are
 * borrowed from tls or the environment. */
void tlsconn_options(const lwmi_tls_options *tls, lwmi_tls_options *ret);

/* The token to send in Hello, or *ret NULL for none: read from
 * o->token_file, else $LWMI_TOKEN when no certificate is given. The
 * first line, white space trimmed, at most 1 KiB. -EINVAL
 * (LWMI_ERROR_INVALID_ARGUMENT) for a file that cannot be read or holds
 * no token, or both a certificate and a token file; -ENOMEM. */
int tlsconn_token(const lwmi_tls_options *o, char **ret, lwmi_error *err);

/* Set up TLS on the connected socket fd (borrowed; it stays open on
 * failure) and run the handshake until deadline_ms (conn_now_ms(); 0:
 * none). address and host are for messages and verification. Errors:
 * -EINVAL for files that cannot be loaded, -EPROTO for a failed
 * handshake, -ETIMEDOUT, -ENOMEM; all with a message. */
int tlsconn_start(int fd, const char *address, const char *host, const lwmi_tls_options *o,
                  uint64_t deadline_ms, TlsConn **ret, lwmi_error *err);

/* Send close_notify if the socket takes it at once, and free. The socket
 * is not closed. Accepts NULL, returns NULL. */
TlsConn *tlsconn_free(TlsConn *t);

/* Read or write up to n bytes. Returns the bytes moved, 0 when the socket
 * must become ready first (*want_write: for writing, else for reading),
 * or a negative errno with the reason in why: -ECONNRESET when the
 * server closed the connection ("closed by the server") or reset it,
 * -EPROTO for a TLS failure (an alert from the server, a bad record). */
long tlsconn_read(TlsConn *t, void *buf, size_t n, bool *want_write, char *why, size_t why_size);
long tlsconn_write(TlsConn *t, const void *buf, size_t n, bool *want_write, char *why,
                   size_t why_size);

/* Whether decrypted bytes wait inside OpenSSL (the socket may not show
 * them as readable). */
bool tlsconn_pending(const TlsConn *t);
