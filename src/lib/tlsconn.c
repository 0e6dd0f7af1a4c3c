/* Client TLS: context, handshake, reads and writes; see tlsconn.h. */
#include "tlsconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conn.h"
#include "liberr.h"
#include "mem.h"

/* The longest token file read. */
#define TLSCONN_TOKEN_MAX 1024

struct TlsConn {
        SSL_CTX *ctx;
        SSL *ssl;
        BIO_METHOD *method; /* our socket BIO's (one per connection: no globals) */
        int fd;
        int last_errno; /* of the BIO's last failed send or recv */
};

/* ---- the socket BIO ---------------------------------------------------------- */

static int tlsconn_bio_write(BIO *b, const char *data, int len) {
        TlsConn *t = BIO_get_data(b);
        BIO_clear_retry_flags(b);
        ssize_t n = send(t->fd, data, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
                t->last_errno = errno;
                if (errno == EAGAIN || errno == EINTR)
                        BIO_set_retry_write(b);
                return -1;
        }
        return (int)n;
}

static int tlsconn_bio_read(BIO *b, char *data, int len) {
        TlsConn *t = BIO_get_data(b);
        BIO_clear_retry_flags(b);
        ssize_t n = recv(t->fd, data, (size_t)len, MSG_DONTWAIT);
        if (n < 0) {
                t->last_errno = errno;
                if (errno == EAGAIN || errno == EINTR)
                        BIO_set_retry_read(b);
                return -1;
        }
        return (int)n;
}

static long tlsconn_bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
        (void)b;
        (void)num;
        (void)ptr;
        /* Nothing is buffered here: a flush is done as soon as asked. */
        return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int tlsconn_bio_create(BIO *b) {
        BIO_set_init(b, 1);
        return 1;
}

/* ---- options and token ----------------------------------------------------- */

static const char *env_or_null(const char *name) {
        const char *v = secure_getenv(name);
        return v && *v ? v : NULL;
}

void tlsconn_options(const lwmi_tls_options *tls, lwmi_tls_options *ret) {
        if (tls) {
                *ret = *tls;
                return;
        }
        *ret = (lwmi_tls_options){
                .ca_file = env_or_null("LWMI_TLS_CA"),
                .cert_file = env_or_null("LWMI_TLS_CERT"),
                .key_file = env_or_null("LWMI_TLS_KEY"),
                .token_file = env_or_null("LWMI_TOKEN_FILE"),
        };
}

/* The first line of text, white space around it trimmed, as a new
 * string; NULL with *empty set when there is none, NULL alone when out
 * of memory. */
static char *token_first_line(const char *text, size_t len, bool *empty) {
        size_t start = 0;
        while (start < len && (text[start] == ' ' || text[start] == '\t' || text[start] == '\r' ||
                               text[start] == '\n'))
                start++;
        size_t end = start;
        while (end < len && text[end] != '\n' && text[end] != '\r' && text[end] != '\0')
                end++;
        while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t'))
                end--;
        *empty = end == start;
        return *empty ? NULL : mem_strndup(text + start, end - start);
}

int tlsconn_token(const lwmi_tls_options *o, char **ret, lwmi_error *err) {
        bool empty = false;
        char *token;

        *ret = NULL;
        if (o->token_file && o->cert_file)
                return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                  "WBEM_E_INVALID_PARAMETER",
                                  "give a client certificate or a token file, not both");
        if (o->token_file) {
                char buf[TLSCONN_TOKEN_MAX];
                int fd = open(o->token_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                          "WBEM_E_INVALID_PARAMETER", "cannot read token file %s: %s",
                                          o->token_file, strerror(errno));
                ssize_t n;
                do
                        n = read(fd, buf, sizeof(buf));
                while (n < 0 && errno == EINTR);
                int e = errno;
                close(fd);
                if (n < 0)
                        return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                          "WBEM_E_INVALID_PARAMETER", "cannot read token file %s: %s",
                                          o->token_file, strerror(e));
                token = token_first_line(buf, (size_t)n, &empty);
                memset(buf, 0, sizeof(buf));
                if (empty)
                        return liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                          "WBEM_E_INVALID_PARAMETER", "token file %s is empty",
                                          o->token_file);
        } else {
                const char *env = o->cert_file ? NULL : env_or_null("LWMI_TOKEN");
                if (!env)
                        return 0;
                token = token_first_line(env, strlen(env), &empty);
                if (empty)
                        return 0;
        }
        if (!token)
                return liberr_oom(err);
        *ret = token;
        return 0;
}

/* ---- handshake ------------------------------------------------------------------ */

/* Why OpenSSL failed, into why: a certificate the server's did not pass,
 * else the last queued error's reason, else the socket's errno, else
 * fallback. Clears OpenSSL's queue. */
static void tlsconn_describe(TlsConn *t, int ssl_error, const char *fallback, char *why,
                             size_t size) {
        long verify = t->ssl ? SSL_get_verify_result(t->ssl) : X509_V_OK;
        unsigned long e = ERR_peek_last_error();

        if (verify != X509_V_OK) {
                snprintf(why, size, "server certificate not trusted: %s",
                         X509_verify_cert_error_string(verify));
        } else if (e) {
                const char *reason = ERR_reason_error_string(e);
                bool alert = reason && strstr(reason, "alert");
                snprintf(why, size, "%s%s", alert ? "the server refused us: " : "",
                         reason ? reason : "TLS error");
        } else if (ssl_error == SSL_ERROR_SYSCALL && t->last_errno) {
                snprintf(why, size, "%s", strerror(t->last_errno));
        } else {
                snprintf(why, size, "%s", fallback);
        }
        ERR_clear_error();
}

static bool is_ip_address(const char *host) {
        unsigned char buf[sizeof(struct in6_addr)];
        return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int tlsconn_fail(TlsConn *t, lwmi_error *err, int r, int code, const char *address,
                        const char *what, const char *detail) {
        liberr_set(err, r, code,
                   code == LWMI_ERROR_INVALID_ARGUMENT ? "WBEM_E_INVALID_PARAMETER"
                                                       : "WBEM_E_TRANSPORT_FAILURE",
                   "cannot connect to %s: %s: %s", address, what, detail);
        tlsconn_free(t);
        return r;
}

/* Make the context and the SSL object for host; loads the files. */
static int tlsconn_setup(TlsConn *t, const char *address, const char *host,
                         const lwmi_tls_options *o, lwmi_error *err) {
        char why[256];

        ERR_clear_error();
        t->ctx = SSL_CTX_new(TLS_client_method());
        t->method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lwmi socket");
        if (!t->ctx || !t->method)
                return -ENOMEM;
        (void)SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
        SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                            SSL_OP_IGNORE_UNEXPECTED_EOF);
        /* Writes go out in pieces from an output buffer that may move
         * between tries. */
        SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                         SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        int ok = o->ca_file ? SSL_CTX_load_verify_locations(t->ctx, o->ca_file, NULL)
                            : SSL_CTX_set_default_verify_paths(t->ctx);
        if (ok != 1) {
                tlsconn_describe(t, 0, "cannot load it", why, sizeof(why));
                liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT, "WBEM_E_INVALID_PARAMETER",
                           "cannot connect to %s: CA file %s: %s", address,
                           o->ca_file ? o->ca_file : "(system default)", why);
                return -EINVAL;
        }
        if (o->cert_file || o->key_file) {
                const char *cert = o->cert_file ? o->cert_file : o->key_file;
                const char *key = o->key_file ? o->key_file : o->cert_file;
                if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1 ||
                    SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 ||
                    SSL_CTX_check_private_key(t->ctx) != 1) {
                        tlsconn_describe(t, 0, "cannot load them", why, sizeof(why));
                        liberr_set(err, -EINVAL, LWMI_ERROR_INVALID_ARGUMENT,
                                   "WBEM_E_INVALID_PARAMETER",
                                   "cannot connect to %s: client certificate %s and key %s: %s",
                                   address, cert, key, why);
                        return -EINVAL;
                }
        }
        BIO_meth_set_write(t->method, tlsconn_bio_write);
        BIO_meth_set_read(t->method, tlsconn_bio_read);
        BIO_meth_set_ctrl(t->method, tlsconn_bio_ctrl);
        BIO_meth_set_create(t->method, tlsconn_bio_create);
        t->ssl = SSL_new(t->ctx);
        BIO *bio = BIO_new(t->method);
        if (!t->ssl || !bio) {
                BIO_free(bio);
                return -ENOMEM;
        }
        BIO_set_data(bio, t);
        SSL_set_bio(t->ssl, bio, bio);
        if (is_ip_address(host)) {
                if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1)
                        return -ENOMEM;
        } else if (SSL_set1_host(t->ssl, host) != 1 ||
                   SSL_set_tlsext_host_name(t->ssl, host) != 1) {
                return -ENOMEM;
        }
        return 0;
}

int tlsconn_start(int fd, const char *address, const char *host, const lwmi_tls_options *o,
                  uint64_t deadline_ms, TlsConn **ret, lwmi_error *err) {
        char why[300];
        int r;

        TlsConn *t = mem_calloc(1, sizeof(*t));
        if (!t)
                return liberr_oom(err);
        t->fd = fd;
        r = tlsconn_setup(t, address, host, o, err);
        if (r == -ENOMEM) {
                tlsconn_free(t);
                return liberr_oom(err);
        }
        if (r < 0) {
                tlsconn_free(t);
                return r;
        }
        for (;;) {
                ERR_clear_error();
                int k = SSL_connect(t->ssl);
                if (k == 1)
                        break;
                int e = SSL_get_error(t->ssl, k);
                short events = e == SSL_ERROR_WANT_READ    ? POLLIN
                               : e == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                           : 0;
                if (!events) {
                        tlsconn_describe(t, e, "the server closed the connection", why,
                                         sizeof(why));
                        return tlsconn_fail(t, err, -EPROTO, LWMI_ERROR_CONNECT, address,
                                            "TLS handshake failed", why);
                }
                int timeout = -1;
                if (deadline_ms) {
                        uint64_t now = conn_now_ms();
                        if (now >= deadline_ms)
                                return tlsconn_fail(t, err, -ETIMEDOUT, LWMI_ERROR_CONNECT,
                                                    address, "TLS handshake",
                                                    "no answer in time");
                        uint64_t left = deadline_ms - now;
                        timeout = left > 60000 ? 60000 : (int)left;
                }
                struct pollfd pfd = { .fd = fd, .events = events };
                if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
                        return tlsconn_fail(t, err, -errno, LWMI_ERROR_CONNECT, address,
                                            "TLS handshake", strerror(errno));
        }
        *ret = t;
        return 0;
}

TlsConn *tlsconn_free(TlsConn *t) {
        if (!t)
                return NULL;
        if (t->ssl) {
                /* One try: a close_notify the socket takes at once. */
                ERR_clear_error();
                (void)SSL_shutdown(t->ssl);
                ERR_clear_error();
                SSL_free(t->ssl);
        }
        SSL_CTX_free(t->ctx);
        BIO_meth_free(t->method);
        mem_free(t);
        return NULL;
}

/* A failed SSL_read or SSL_write: 0 to wait (and for what), or the
 * error. */
static long tlsconn_failed(TlsConn *t, int k, bool *want_write, char *why, size_t why_size) {
        int e = SSL_get_error(t->ssl, k);
        switch (e) {
        case SSL_ERROR_WANT_READ:
                *want_write = false;
                return 0;
        case SSL_ERROR_WANT_WRITE:
                *want_write = true;
                return 0;
        case SSL_ERROR_ZERO_RETURN:
                snprintf(why, why_size, "closed by the server");
                return -ECONNRESET;
        case SSL_ERROR_SYSCALL:
                if (!ERR_peek_last_error()) {
                        snprintf(why, why_size, "%s",
                                 t->last_errno ? strerror(t->last_errno) : "closed by the server");
                        return -ECONNRESET;
                }
                /* fall through */
        default:
                tlsconn_describe(t, e, "TLS error", why, why_size);
                return -EPROTO;
        }
}

long tlsconn_read(TlsConn *t, void *buf, size_t n, bool *want_write, char *why, size_t why_size) {
        ERR_clear_error();
        t->last_errno = 0;
        int k = SSL_read(t->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
        if (k > 0) {
                *want_write = false;
                return k;
        }
        return tlsconn_failed(t, k, want_write, why, why_size);
}

long tlsconn_write(TlsConn *t, const void *buf, size_t n, bool *want_write, char *why,
                   size_t why_size) {
        ERR_clear_error();
        t->last_errno = 0;
        int k = SSL_write(t->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
        if (k > 0) {
                *want_write = false;
                return k;
        }
        return tlsconn_failed(t, k, want_write, why, why_size);
}

bool tlsconn_pending(const TlsConn *t) {
        return t && SSL_pending(t->ssl) > 0;
}
