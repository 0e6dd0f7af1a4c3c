/* The daemon's side of TLS (OpenSSL 3): one server context made at start
 * from --tls-cert, --tls-key and --tls-ca, an SSL object per accepted
 * connection (the session wraps it in a bufferevent_openssl), and what the
 * session asks of a finished handshake: the local account a verified
 * client certificate names, and why a handshake failed.
 *
 * Policy (docs/security.md, "TLS and tokens"):
 *  - TLS 1.2 at least; renegotiation off (a client could make us redo the
 *    expensive part at will);
 *  - with a CA file, a client certificate is asked for (not required:
 *    a client may authenticate with a token instead); one that is sent
 *    must verify against that CA only (dates, chain, purpose), or the
 *    handshake fails. Without a CA file no certificate is asked for and
 *    tokens are the only way in;
 *  - the account is the certificate subject's single CommonName, a local
 *    user name (getpwnam): no mapping table, nothing else in the
 *    certificate is read. */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef struct TlsServer TlsServer;

/* The longest account name accepted from a certificate's CN. */
#define TLS_ACCOUNT_MAX 64

/* Load the certificate chain and key (PEM) and, if ca_file is not NULL,
 * the CA that client certificates must chain to. WBEM_E_INVALID_PARAMETER
 * with a message naming the file and OpenSSL's reason (unreadable, not
 * PEM, key does not match the certificate); -ENOMEM. */
int tls_server_new(const char *cert_file, const char *key_file, const char *ca_file,
                   TlsServer **ret, Error *err);
TlsServer *tls_server_free(TlsServer *t); /* accepts NULL, returns NULL */

/* Whether client certificates are asked for (a CA file was given). */
bool tls_server_wants_certificates(const TlsServer *t);

/* A fresh SSL object for one accepted connection; NULL when out of
 * memory. */
SSL *tls_server_new_ssl(TlsServer *t);

/* After a completed handshake: the account the peer's certificate names.
 * 0 with the name in buf (size >= TLS_ACCOUNT_MAX + 1); -ENOENT when the
 * peer sent no certificate; WBEM_E_ACCESS_DENIED with a reason in err when
 * the certificate did not verify (cannot happen after a completed
 * handshake, checked anyway) or its subject has no single, printable
 * CommonName of at most TLS_ACCOUNT_MAX bytes. */
int tls_peer_account(SSL *ssl, char *buf, size_t size, Error *err);

/* Why a handshake or a TLS read/write failed, for the log: the
 * certificate verification error if there is one, else the queued OpenSSL
 * errors (errs: those bufferevent_get_openssl_error() returned, n of
 * them), else "unknown". Into buf, cut to fit. */
void tls_describe_failure(SSL *ssl, const unsigned long *errs, size_t n, char *buf, size_t size);
