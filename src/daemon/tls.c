/* The daemon's TLS context and certificate identity; see tls.h. */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mem.h"

struct TlsServer {
        SSL_CTX *ctx;
        bool wants_certificates;
};

/* OpenSSL's reason for the last failure, and clear its queue. */
static const char *tls_last_error(char *buf, size_t size) {
        unsigned long e = ERR_peek_last_error();
        if (!e) {
                snprintf(buf, size, "unknown reason");
        } else {
                ERR_error_string_n(e, buf, size);
        }
        ERR_clear_error();
        return buf;
}

int tls_server_new(const char *cert_file, const char *key_file, const char *ca_file,
                   TlsServer **ret, Error *err) {
        char why[256];
        TlsServer *t;

        t = mem_calloc(1, sizeof(*t));
        if (!t)
                return error_from_errno(err, -ENOMEM);
        ERR_clear_error();
        t->ctx = SSL_CTX_new(TLS_server_method());
        if (!t->ctx) {
                mem_free(t);
                return error_from_errno(err, -ENOMEM);
        }
        (void)SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
        /* Renegotiation would let a client make us redo a handshake at
         * will; compression leaks secrets (CRIME). A peer that closes
         * without close_notify has closed, as over plain TCP (OpenSSL 3
         * would call it an error, which libevent 2.1 does not know as
         * the dirty shutdown it allows): our protocol's lines carry their
         * own framing, so a cut cannot pass for a complete message. */
        SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                            SSL_OP_CIPHER_SERVER_PREFERENCE |
                                            SSL_OP_IGNORE_UNEXPECTED_EOF);
        /* libevent hands SSL_write the same bytes again from a buffer that
         * may have moved. */
        SSL_CTX_set_mode(t->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1) {
                error_set(err, WBEM_E_INVALID_PARAMETER, "--tls-cert %s: cannot load it: %s",
                          cert_file, tls_last_error(why, sizeof(why)));
                goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(t->ctx, key_file, SSL_FILETYPE_PEM) != 1) {
                error_set(err, WBEM_E_INVALID_PARAMETER, "--tls-key %s: cannot load it: %s",
                          key_file, tls_last_error(why, sizeof(why)));
                goto fail;
        }
        if (SSL_CTX_check_private_key(t->ctx) != 1) {
                error_set(err, WBEM_E_INVALID_PARAMETER,
                          "--tls-key %s does not match the certificate in %s: %s", key_file,
                          cert_file, tls_last_error(why, sizeof(why)));
                goto fail;
        }
        if (ca_file) {
                /* Only this CA: not the system's store, which would let
                 * any public CA name a local account. */
                STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
                if (!names || SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1) {
                        if (names)
                                sk_X509_NAME_pop_free(names, X509_NAME_free);
                        error_set(err, WBEM_E_INVALID_PARAMETER,
                                  "--tls-ca %s: cannot load a CA certificate from it: %s",
                                  ca_file, tls_last_error(why, sizeof(why)));
                        goto fail;
                }
                SSL_CTX_set_client_CA_list(t->ctx, names);
                /* Asked for, not required: a token in Hello is the other
                 * way in. A certificate that is sent must verify. */
                SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
                t->wants_certificates = true;
        } else {
                SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
        }
        *ret = t;
        return 0;
fail:
        tls_server_free(t);
        return WBEM_E_INVALID_PARAMETER;
}

TlsServer *tls_server_free(TlsServer *t) {
        if (!t)
                return NULL;
        SSL_CTX_free(t->ctx);
        mem_free(t);
        return NULL;
}

bool tls_server_wants_certificates(const TlsServer *t) {
        return t->wants_certificates;
}

SSL *tls_server_new_ssl(TlsServer *t) {
        return SSL_new(t->ctx);
}

int tls_peer_account(SSL *ssl, char *buf, size_t size, Error *err) {
        X509 *cert = SSL_get0_peer_certificate(ssl);
        if (!cert)
                return -ENOENT;
        long verify = SSL_get_verify_result(ssl);
        if (verify != X509_V_OK)
                return error_set(err, WBEM_E_ACCESS_DENIED, "client certificate not verified: %s",
                                 X509_verify_cert_error_string(verify));

        X509_NAME *subject = X509_get_subject_name(cert);
        int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (at < 0)
                return error_set(err, WBEM_E_ACCESS_DENIED,
                                 "client certificate has no CommonName in its subject");
        if (X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0)
                return error_set(err, WBEM_E_ACCESS_DENIED,
                                 "client certificate has more than one CommonName");
        const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, cn);
        if (len < 0)
                return error_set(err, WBEM_E_ACCESS_DENIED,
                                 "client certificate's CommonName cannot be read");
        /* A user name: printable ASCII, no NUL hidden inside, short. */
        bool ok = len > 0 && len <= TLS_ACCOUNT_MAX && (size_t)len < size;
        for (int i = 0; ok && i < len; i++)
                ok = utf8[i] > 0x20 && utf8[i] < 0x7f && utf8[i] != ':' && utf8[i] != '/';
        if (ok) {
                memcpy(buf, utf8, (size_t)len);
                buf[len] = '\0';
        }
        OPENSSL_free(utf8);
        if (!ok)
                return error_set(err, WBEM_E_ACCESS_DENIED,
                                 "client certificate's CommonName is not a user name (printable "
                                 "ASCII without spaces, 1 to %d bytes)",
                                 TLS_ACCOUNT_MAX);
        return 0;
}

void tls_describe_failure(SSL *ssl, const unsigned long *errs, size_t n, char *buf, size_t size) {
        size_t used = 0;

        if (size == 0)
                return;
        buf[0] = '\0';
        long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
        if (verify != X509_V_OK) {
                snprintf(buf, size, "client certificate refused: %s",
                         X509_verify_cert_error_string(verify));
                return;
        }
        for (size_t i = 0; i < n && used + 1 < size; i++) {
                /* "tlsv1 alert unknown ca": the reason is what an operator
                 * reads; libevent adds codes of its own that have none */
                const char *reason = ERR_reason_error_string(errs[i]);
                if (!reason)
                        continue;
                int k = snprintf(buf + used, size - used, "%s%s", used ? "; " : "", reason);
                if (k < 0)
                        break;
                used += (size_t)k;
        }
        if (!buf[0])
                snprintf(buf, size, "unknown reason");
}
