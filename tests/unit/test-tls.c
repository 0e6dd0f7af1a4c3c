/* Tests of the daemon's TLS pieces: the listen setting with "tls:"
 * (netaddr_parse_listen, settings_check_listen, the tls_* keys), the
 * server context (tls_server_new: loading, refusals) and the account a
 * client certificate names (tls_peer_account), with certificates made
 * here through OpenSSL's API and real handshakes over an in-memory BIO
 * pair. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cleanup.h"
#include "mem.h"
#include "netaddr.h"
#include "settings.h"
#include "tls.h"

/* ---- the listen setting ------------------------------------------------------ */

static void test_parse_listen(void **state) {
        NetAddr a;
        bool tls = true;
        Error e;
        (void)state;

        assert_int_equal(netaddr_parse_listen("127.0.0.1:7000", "listen", &a, &tls, &e), 0);
        assert_false(tls);
        assert_int_equal(netaddr_parse_listen("tls:0.0.0.0:7443", "listen", &a, &tls, &e), 0);
        assert_true(tls);
        assert_int_equal(netaddr_parse_listen("tls:[::1]:0", "listen", &a, &tls, &e), 0);
        assert_true(tls);
        tls = false;
        assert_int_equal(netaddr_parse_listen("tls:", "listen", &a, &tls, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(netaddr_parse_listen("tls:localhost:1", "listen", &a, &tls, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(netaddr_parse_listen("TLS:127.0.0.1:1", "listen", &a, &tls, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_false(tls);
}

static void test_check_listen(void **state) {
        Settings o;
        Error e;
        (void)state;

        settings_init(&o);
        assert_int_equal(o.tls_auth_timeout_ms, SETTINGS_DEFAULT_TLS_AUTH_TIMEOUT_MS);
        o.listen = "tls:0.0.0.0:7443";
        /* TLS needs a certificate and key ... */
        assert_int_equal(settings_check_listen(&o, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "--tls-cert and --tls-key"));
        o.tls_cert = "c.pem";
        assert_int_equal(settings_check_listen(&o, &e), WBEM_E_INVALID_PARAMETER);
        o.tls_key = "k.pem";
        /* ... and may then listen anywhere */
        assert_int_equal(settings_check_listen(&o, &e), 0);
        /* plain TCP stays on loopback, and the refusal points to tls: */
        o.listen = "0.0.0.0:7000";
        assert_int_equal(settings_check_listen(&o, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "use tls:0.0.0.0:7000 for remote clients"));
        o.insecure_tcp = true;
        assert_int_equal(settings_check_listen(&o, &e), 0);
}

static void test_config_keys(void **state) {
        Settings o;
        Error e;
        (void)state;

        settings_init(&o);
        assert_int_equal(settings_load_string(&o, "t.conf",
                                              "[daemon]\nlisten = tls:127.0.0.1:0\n"
                                              "tls_cert = /etc/lwmi/c.pem\n"
                                              "tls_key = /etc/lwmi/k.pem\n"
                                              "tls_ca = /etc/lwmi/ca.pem\n"
                                              "tls_auth_timeout_ms = 2500\n",
                                              &e),
                         0);
        assert_string_equal(o.listen, "tls:127.0.0.1:0");
        assert_string_equal(o.tls_cert, "/etc/lwmi/c.pem");
        assert_string_equal(o.tls_key, "/etc/lwmi/k.pem");
        assert_string_equal(o.tls_ca, "/etc/lwmi/ca.pem");
        assert_int_equal(o.tls_auth_timeout_ms, 2500);
        assert_int_equal(settings_check_listen(&o, &e), 0);
        Settings copy;
        assert_int_equal(settings_copy(&o, &copy), 0);
        assert_string_equal(copy.tls_ca, "/etc/lwmi/ca.pem");
        assert_ptr_not_equal(copy.tls_ca, o.tls_ca);
        settings_done(&copy);
        settings_done(&o);

        /* the command line wins */
        settings_init(&o);
        o.tls_ca = mem_strdup("/cmdline/ca.pem");
        o.from_cmdline |= SETTINGS_SET_TLS_CA;
        assert_int_equal(settings_load_string(&o, "t.conf", "[daemon]\ntls_ca = /file/ca.pem\n",
                                              &e),
                         0);
        assert_string_equal(o.tls_ca, "/cmdline/ca.pem");
        settings_done(&o);

        static const struct {
                const char *text, *want;
        } bad[] = {
                { "[daemon]\ntls_cert =\n", "key 'tls_cert': empty path" },
                { "[daemon]\ntls_auth_timeout_ms = 99\n", "out of range" },
                { "[daemon]\ntls_auth_timeout_ms = soon\n", "is not a number" },
                { "[daemon]\nlisten = tls:host:1\n", "is not a numeric IPv4 address" },
                { "[daemon]\ntls_pin = x\n", "unknown key 'tls_pin'" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                settings_init(&o);
                assert_int_equal(settings_load_string(&o, "t.conf", bad[i].text, &e),
                                 WBEM_E_INVALID_PARAMETER);
                if (!strstr(e.message, bad[i].want))
                        fail_msg("%s: got '%s'", bad[i].text, e.message);
                settings_done(&o);
        }
}

/* ---- certificates ------------------------------------------------------------ */

typedef struct Pki {
        char dir[64];
        EVP_PKEY *ca_key;
        X509 *ca;
        char ca_path[128], other_ca_path[128], cert_path[128], key_path[128];
} Pki;

static X509 *make_cert(EVP_PKEY *key, const char *const *cns, size_t n_cns, X509 *issuer,
                       EVP_PKEY *issuer_key, long days_from, long days_to) {
        X509 *x = X509_new();
        assert_non_null(x);
        assert_int_equal(X509_set_version(x, 2), 1);
        ASN1_INTEGER_set(X509_get_serialNumber(x), (long)random());
        X509_gmtime_adj(X509_getm_notBefore(x), days_from * 86400);
        X509_gmtime_adj(X509_getm_notAfter(x), days_to * 86400);
        X509_set_pubkey(x, key);
        X509_NAME *name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"lwmi test",
                                   -1, -1, 0);
        for (size_t i = 0; i < n_cns; i++)
                X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                           (const unsigned char *)cns[i], -1, -1, 0);
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
        if (!issuer) {
                /* a CA (the other self-signed ones are never trusted) */
                X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
                                                          "critical,CA:TRUE");
                assert_non_null(ext);
                assert_int_equal(X509_add_ext(x, ext, -1), 1);
                X509_EXTENSION_free(ext);
        }
        assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
        return x;
}

static void write_pem(const char *path, X509 *x, EVP_PKEY *key) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        if (x)
                assert_int_equal(PEM_write_X509(f, x), 1);
        if (key)
                assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
        fclose(f);
}

static int pki_setup(void **state) {
        Pki *p = calloc(1, sizeof(*p));
        assert_non_null(p);
        snprintf(p->dir, sizeof(p->dir), "/tmp/lwmi-test-tls-XXXXXX");
        assert_non_null(mkdtemp(p->dir));
        p->ca_key = EVP_EC_gen("P-256");
        assert_non_null(p->ca_key);
        static const char *const ca_cn[] = { "test ca" };
        p->ca = make_cert(p->ca_key, ca_cn, 1, NULL, NULL, -1, 2);
        snprintf(p->ca_path, sizeof(p->ca_path), "%s/ca.pem", p->dir);
        write_pem(p->ca_path, p->ca, NULL);

        EVP_PKEY *other_key = EVP_EC_gen("P-256");
        X509 *other = make_cert(other_key, ca_cn, 1, NULL, NULL, -1, 2);
        snprintf(p->other_ca_path, sizeof(p->other_ca_path), "%s/other.pem", p->dir);
        write_pem(p->other_ca_path, other, NULL);
        X509_free(other);
        EVP_PKEY_free(other_key);

        EVP_PKEY *key = EVP_EC_gen("P-256");
        static const char *const server_cn[] = { "localhost" };
        X509 *cert = make_cert(key, server_cn, 1, p->ca, p->ca_key, -1, 2);
        snprintf(p->cert_path, sizeof(p->cert_path), "%s/server.pem", p->dir);
        snprintf(p->key_path, sizeof(p->key_path), "%s/server.key", p->dir);
        write_pem(p->cert_path, cert, NULL);
        write_pem(p->key_path, NULL, key);
        X509_free(cert);
        EVP_PKEY_free(key);
        *state = p;
        return 0;
}

static int pki_teardown(void **state) {
        Pki *p = *state;
        char cmd[128];
        X509_free(p->ca);
        EVP_PKEY_free(p->ca_key);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
        assert_int_equal(system(cmd), 0);
        free(p);
        return 0;
}

static void test_server_new(void **state) {
        Pki *p = *state;
        TlsServer *t = NULL;
        Error e;
        char missing[160];

        assert_int_equal(tls_server_new(p->cert_path, p->key_path, p->ca_path, &t, &e), 0);
        assert_true(tls_server_wants_certificates(t));
        SSL *ssl = tls_server_new_ssl(t);
        assert_non_null(ssl);
        SSL_free(ssl);
        t = tls_server_free(t);
        assert_int_equal(tls_server_new(p->cert_path, p->key_path, NULL, &t, &e), 0);
        assert_false(tls_server_wants_certificates(t));
        t = tls_server_free(t);

        snprintf(missing, sizeof(missing), "%s/missing.pem", p->dir);
        assert_int_equal(tls_server_new(missing, p->key_path, NULL, &t, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "--tls-cert"));
        assert_non_null(strstr(e.message, "missing.pem"));
        assert_int_equal(tls_server_new(p->cert_path, missing, NULL, &t, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "--tls-key"));
        /* a key that is not the certificate's: the CA's own certificate */
        assert_int_equal(tls_server_new(p->ca_path, p->key_path, NULL, &t, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(tls_server_new(p->cert_path, p->key_path, missing, &t, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "--tls-ca"));
        /* a key file is no CA */
        assert_int_equal(tls_server_new(p->cert_path, p->key_path, p->key_path, &t, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_null(t);
}

/* A handshake between tls_server_new_ssl() and a client presenting a
 * certificate with these CNs, signed by the test CA (or self-signed),
 * valid from..to days from now, over a BIO pair. Returns whether it
 * completed; *ret_server is the server's SSL (the caller frees it). */
static bool handshake(Pki *p, TlsServer *t, const char *const *cns, size_t n_cns, bool by_ca,
                      long from, long to, SSL **ret_server) {
        SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
        assert_non_null(cctx);
        SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
        if (cns) {
                EVP_PKEY *key = EVP_EC_gen("P-256");
                X509 *cert = make_cert(key, cns, n_cns, by_ca ? p->ca : NULL,
                                       by_ca ? p->ca_key : NULL, from, to);
                assert_int_equal(SSL_CTX_use_certificate(cctx, cert), 1);
                assert_int_equal(SSL_CTX_use_PrivateKey(cctx, key), 1);
                X509_free(cert);
                EVP_PKEY_free(key);
        }
        SSL *client = SSL_new(cctx);
        SSL *server = tls_server_new_ssl(t);
        BIO *cb, *sb;
        assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
        SSL_set_bio(client, cb, cb);
        SSL_set_bio(server, sb, sb);
        SSL_set_connect_state(client);
        SSL_set_accept_state(server);
        bool client_done = false, server_done = false, failed = false;
        for (int i = 0; i < 100 && !(client_done && server_done) && !failed; i++) {
                if (!client_done) {
                        int r = SSL_do_handshake(client);
                        client_done = r == 1;
                        failed |= r <= 0 && SSL_get_error(client, r) != SSL_ERROR_WANT_READ;
                }
                if (!server_done) {
                        int r = SSL_do_handshake(server);
                        server_done = r == 1;
                        failed |= r <= 0 && SSL_get_error(server, r) != SSL_ERROR_WANT_READ;
                }
        }
        ERR_clear_error();
        SSL_free(client);
        SSL_CTX_free(cctx);
        *ret_server = server;
        return server_done && !failed;
}

static void test_peer_account(void **state) {
        Pki *p = *state;
        TlsServer *t = NULL;
        char account[TLS_ACCOUNT_MAX + 1];
        SSL *server;
        Error e;

        assert_int_equal(tls_server_new(p->cert_path, p->key_path, p->ca_path, &t, &e), 0);

        static const char *const nobody[] = { "nobody" };
        assert_true(handshake(p, t, nobody, 1, true, -1, 1, &server));
        assert_int_equal(tls_peer_account(server, account, sizeof(account), &e), 0);
        assert_string_equal(account, "nobody");
        SSL_free(server);

        /* no certificate: the handshake completes, a token may follow */
        assert_true(handshake(p, t, NULL, 0, true, 0, 0, &server));
        assert_int_equal(tls_peer_account(server, account, sizeof(account), &e), -ENOENT);
        SSL_free(server);

        /* certificates that verify but name no usable account */
        static const char *const two[] = { "nobody", "root" };
        static const char *const spaced[] = { "no body" };
        static const char *const colon[] = { "a:b" };
        /* (a CN over 64 bytes cannot even be made: X.509's own bound) */
        static const char *const accented[] = { "jos\xc3\xa9" };
        const struct {
                const char *const *cns;
                size_t n;
                const char *want;
        } refused[] = {
                { two, 2, "more than one CommonName" },
                { spaced, 1, "is not a user name" },
                { colon, 1, "is not a user name" },
                { accented, 1, "is not a user name" },
                { NULL, 0, "no CommonName" },
        };
        static const char *const none[] = { NULL };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                assert_true(handshake(p, t, refused[i].cns ? refused[i].cns : none,
                                      refused[i].n, true, -1, 1, &server));
                assert_int_equal(tls_peer_account(server, account, sizeof(account), &e),
                                 WBEM_E_ACCESS_DENIED);
                if (!strstr(e.message, refused[i].want))
                        fail_msg("case %zu: got '%s'", i, e.message);
                SSL_free(server);
        }

        /* another CA, or expired: the handshake fails, and says why */
        assert_false(handshake(p, t, nobody, 1, false, -1, 1, &server));
        char why[200];
        unsigned long errs[1] = { 0 };
        tls_describe_failure(server, errs, 0, why, sizeof(why));
        assert_non_null(strstr(why, "client certificate refused"));
        SSL_free(server);
        assert_false(handshake(p, t, nobody, 1, true, -3, -1, &server));
        tls_describe_failure(server, errs, 0, why, sizeof(why));
        assert_non_null(strstr(why, "certificate has expired"));
        SSL_free(server);

        tls_server_free(t);
}

static void test_describe_failure(void **state) {
        char why[200];
        (void)state;

        tls_describe_failure(NULL, NULL, 0, why, sizeof(why));
        assert_string_equal(why, "unknown reason");
        unsigned long errs[2] = { ERR_PACK(ERR_LIB_SSL, 0, SSL_R_TLSV1_ALERT_UNKNOWN_CA),
                                  ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER) };
        tls_describe_failure(NULL, errs, 2, why, sizeof(why));
        assert_string_equal(why, "tlsv1 alert unknown ca; wrong version number");
        /* cut to fit, still a string */
        tls_describe_failure(NULL, errs, 2, why, 10);
        assert_int_equal(strlen(why), 9);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_listen),
                cmocka_unit_test(test_check_listen),
                cmocka_unit_test(test_config_keys),
                cmocka_unit_test_setup_teardown(test_server_new, pki_setup, pki_teardown),
                cmocka_unit_test_setup_teardown(test_peer_account, pki_setup, pki_teardown),
                cmocka_unit_test(test_describe_failure),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
