/* Unit tests for the quotas per user (src/daemon/quota.c): the
 * configuration ([quota], [quota:USER], the options' precedence, bad
 * values), every limit and its refusal message, release, overrides by
 * name, uid and "anonymous", root unlimited unless overridden, the request
 * token bucket on a given clock, the shared backlog, reconfiguration; then
 * through a real server over socketpairs (the test's own uid, limited by a
 * [quota:UID] section): a session over `sessions` refused at accept with
 * one error line, registrations refused per session and per user and
 * released exactly by cancels and closed sessions, query length, request
 * rate, sinks bounded and not left by failed calls, with the session
 * going on after each refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "async.h"
#include "cleanup.h"
#include "error.h"
#include "log.h"
#include "mem.h"
#include "quota.h"
#include "server.h"
#include "session.h"
#include "settings.h"

#define NS "root/cimv2"

/* ---- the module on its own ------------------------------------------------- */

static int fake_lookup(const char *name, uid_t *ret) {
        if (strcmp(name, "alice") == 0) {
                *ret = 1000;
                return 0;
        }
        if (strcmp(name, "root") == 0) {
                *ret = 0;
                return 0;
        }
        return -ENOENT;
}

static void load(QuotaConfig *c, const char *text) {
        Settings o;
        Error e;
        settings_init(&o);
        int r = settings_load_string(&o, "q.conf", text, &e);
        if (r != 0)
                fail_msg("load failed: %s", e.message);
        quota_config_done(c);
        assert_int_equal(quota_config_copy(&o.quota, c), 0);
        settings_done(&o);
}

static void expect_load_error(const char *text, const char *has) {
        Settings o;
        Error e;
        settings_init(&o);
        int r = settings_load_string(&o, "q.conf", text, &e);
        assert_int_equal(r, WBEM_E_INVALID_PARAMETER);
        if (!strstr(e.message, has))
                fail_msg("message '%s' lacks '%s'", e.message, has);
        settings_done(&o);
}

static Quota *quota_with(const char *text) {
        QuotaConfig c;
        Quota *q;
        quota_config_init(&c);
        load(&c, text);
        assert_int_equal(quota_new(&q), 0);
        /* whoever runs the test: lwmid's own user would be unlimited */
        quota_set_owner(q, 0);
        assert_int_equal(quota_configure(q, &c, fake_lookup), 0);
        quota_config_done(&c);
        return q;
}

static void expect_refusal(int r, const Error *e, const char *quota_key, const char *limit) {
        assert_int_equal(r, WBEM_E_QUOTA_VIOLATION);
        char want[64];
        snprintf(want, sizeof(want), "quota '%s' exceeded", quota_key);
        if (!strstr(e->message, want) || !strstr(e->message, limit) ||
            !strstr(e->message, "[quota]") || !strstr(e->message, "--quota-"))
                fail_msg("refusal '%s' lacks '%s', '%s' or how to raise it", e->message, want,
                         limit);
}

static void test_config_defaults_and_keys(void **state) {
        QuotaConfig c;
        (void)state;

        quota_config_init(&c);
        assert_int_equal(c.defaults.v[QUOTA_SESSIONS], 64);
        assert_int_equal(c.defaults.v[QUOTA_REGISTRATIONS], 100000);
        assert_int_equal(c.defaults.v[QUOTA_SESSION_REGISTRATIONS], 100000);
        assert_int_equal(c.defaults.v[QUOTA_BACKLOG_BYTES], 64u << 20);
        assert_int_equal(c.defaults.v[QUOTA_QUERY_BYTES], 4096);
        assert_int_equal(c.defaults.v[QUOTA_REQUEST_RATE], 10000);
        assert_int_equal(c.defaults.v[QUOTA_REQUEST_BURST], 200000);
        load(&c, "[daemon]\nlog_level = debug\n[quota]\nsessions = 3\nregistrations = unlimited\n"
                 "session_registrations = 7\nbacklog_bytes = 1M\nquery_bytes = 2K\n"
                 "request_rate = 5\nrequest_burst = 9\n"
                 "[quota:alice]\nsessions = 1\n[quota:42]\nquery_bytes = unlimited\n"
                 "[quota:anonymous]\nrequest_rate = 1\n");
        assert_int_equal(c.defaults.v[QUOTA_SESSIONS], 3);
        assert_true(c.defaults.v[QUOTA_REGISTRATIONS] == QUOTA_UNLIMITED);
        assert_int_equal(c.defaults.v[QUOTA_SESSION_REGISTRATIONS], 7);
        assert_int_equal(c.defaults.v[QUOTA_BACKLOG_BYTES], 1u << 20);
        assert_int_equal(c.defaults.v[QUOTA_QUERY_BYTES], 2048);
        assert_int_equal(c.defaults.v[QUOTA_REQUEST_RATE], 5);
        assert_int_equal(c.defaults.v[QUOTA_REQUEST_BURST], 9);
        assert_int_equal(c.n_overrides, 3);
        assert_string_equal(c.overrides[0].user, "alice");
        assert_int_equal(c.overrides[0].set, 1u << QUOTA_SESSIONS);
        assert_int_equal(c.overrides[0].limits.v[QUOTA_SESSIONS], 1);
        assert_string_equal(c.overrides[1].user, "42");
        assert_true(c.overrides[1].limits.v[QUOTA_QUERY_BYTES] == QUOTA_UNLIMITED);
        assert_string_equal(c.overrides[2].user, "anonymous");

        /* a deep copy */
        QuotaConfig d;
        assert_int_equal(quota_config_copy(&c, &d), 0);
        assert_ptr_not_equal(d.overrides, c.overrides);
        assert_ptr_not_equal(d.overrides[0].user, c.overrides[0].user);
        assert_string_equal(d.overrides[0].user, "alice");
        quota_config_done(&d);
        quota_config_done(&c);

        assert_int_equal(quota_kind_from_key("request_burst"), QUOTA_REQUEST_BURST);
        assert_int_equal(quota_kind_from_key("nope"), -1);
        assert_string_equal(quota_kind_option(QUOTA_SESSION_REGISTRATIONS),
                            "--quota-session-registrations");
        assert_true(quota_config_section("quota"));
        assert_true(quota_config_section("quota:bob"));
        assert_false(quota_config_section("quotas"));
        assert_false(quota_config_section("daemon"));
}

static void test_config_errors(void **state) {
        (void)state;
        expect_load_error("[quota]\nsesions = 3\n", "q.conf:2: unknown key 'sesions' in [quota]");
        expect_load_error("[quota]\nsessions = many\n", "q.conf:2: sessions: 'many' is not a number");
        expect_load_error("[quota]\nbacklog_bytes = 3T\n", "unknown unit");
        expect_load_error("[quota]\nrequest_rate = 0\n", "out of range");
        expect_load_error("[quota]\nsessions = 99999999999999\n", "out of range");
        expect_load_error("[quota]\nsessions = 1\nsessions = 2\n",
                          "q.conf:3: key 'sessions' set more than once");
        expect_load_error("[quota:bob]\nsessions = 1\n[quota:bob]\nsessions = 2\n",
                          "q.conf:4: key 'sessions' set more than once in [quota:bob]");
        expect_load_error("[quota:]\nsessions = 1\n", "names no user");
        expect_load_error("[quotas]\nsessions = 1\n", "unknown section [quotas]");

        /* the command line wins over [quota], and is still checked */
        Settings o;
        Error e;
        settings_init(&o);
        o.quota.defaults.v[QUOTA_SESSIONS] = 5;
        o.quota.from_cmdline = 1u << QUOTA_SESSIONS;
        assert_int_equal(settings_load_string(&o, "q.conf", "[quota]\nsessions = 9\n"
                                                           "registrations = 11\n",
                                              &e),
                         0);
        assert_int_equal(o.quota.defaults.v[QUOTA_SESSIONS], 5);
        assert_int_equal(o.quota.defaults.v[QUOTA_REGISTRATIONS], 11);
        assert_int_equal(settings_load_string(&o, "q.conf", "[quota]\nsessions = x\n", &e),
                         WBEM_E_INVALID_PARAMETER);
        settings_done(&o);

        size_t v;
        assert_int_equal(quota_parse_value(QUOTA_QUERY_BYTES, "unlimited", "x", &v, &e), 0);
        assert_true(v == QUOTA_UNLIMITED);
        assert_int_equal(quota_parse_value(QUOTA_QUERY_BYTES, "", "x", &v, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(quota_parse_value(QUOTA_SESSIONS, "0", "x", &v, &e), 0);
        assert_int_equal(v, 0);
}

static void test_sessions(void **state) {
        Quota *q = quota_with("[quota]\nsessions = 2\n");
        QuotaUser *u1, *u2, *u3 = NULL;
        Error e;
        (void)state;

        assert_int_equal(quota_session_open(q, 1000, 0, &u1, &e), 0);
        assert_int_equal(quota_session_open(q, 1000, 0, &u2, &e), 0);
        assert_ptr_equal(u1, u2);
        assert_int_equal(quota_user_count(q), 1);
        int r = quota_session_open(q, 1000, 0, &u3, &e);
        expect_refusal(r, &e, "sessions", "the limit is 2 open sessions");
        assert_non_null(strstr(e.message, "uid 1000"));
        assert_non_null(strstr(e.message, "[quota:1000]"));
        assert_null(u3);
        /* another user is not affected */
        QuotaUser *other;
        assert_int_equal(quota_session_open(q, 1001, 0, &other, &e), 0);
        assert_int_equal(quota_user_count(q), 2);

        /* a closed session frees its place; the bucket stays while bound */
        quota_session_close(u1);
        assert_int_equal(quota_session_open(q, 1000, 0, &u3, &e), 0);
        QuotaUsage use;
        quota_user_usage(u3, &use);
        assert_int_equal(use.sessions, 2);
        assert_int_equal(use.violations, 1);
        quota_user_unref(u1);
        quota_session_close(u2);
        quota_user_unref(u2);
        quota_session_close(u3);
        quota_user_unref(u3);
        assert_null(quota_user_find(q, 1000));
        quota_session_close(other);
        quota_user_unref(other);
        assert_int_equal(quota_user_count(q), 0);

        /* refused on a fresh bucket (sessions = 0): nothing is left behind */
        quota_free(q);
        q = quota_with("[quota]\nsessions = 0\n");
        r = quota_session_open(q, 7, 0, &u1, &e);
        expect_refusal(r, &e, "sessions", "the limit is 0");
        assert_int_equal(quota_user_count(q), 0);
        quota_free(q);

        /* NULL: no quotas */
        assert_int_equal(quota_session_open(NULL, 7, 0, &u1, &e), 0);
        assert_null(u1);
        assert_int_equal(quota_check_registration(NULL, 1000000, &e), 0);
        assert_int_equal(quota_check_query(NULL, 1000000, &e), 0);
        assert_int_equal(quota_take_request(NULL, 0, &e), 0);
        quota_session_close(NULL);
        quota_user_unref(NULL);
}

static void test_registrations(void **state) {
        Quota *q = quota_with("[quota]\nregistrations = 5\nsession_registrations = 3\n");
        QuotaUser *u;
        Error e;
        (void)state;

        assert_int_equal(quota_session_open(q, 1000, 0, &u, &e), 0);
        assert_int_equal(quota_session_open(q, 1000, 0, &u, &e), 0);
        /* session 1: 3 */
        for (size_t n = 0; n < 3; n++) {
                assert_int_equal(quota_check_registration(u, n, &e), 0);
                quota_registrations_add(u, 1);
        }
        int r = quota_check_registration(u, 3, &e);
        expect_refusal(r, &e, "session_registrations", "the limit is 3 open asynchronous calls "
                                                       "on one session");
        /* session 2: 2 more, then the user's total */
        for (size_t n = 0; n < 2; n++) {
                assert_int_equal(quota_check_registration(u, n, &e), 0);
                quota_registrations_add(u, 1);
        }
        r = quota_check_registration(u, 2, &e);
        expect_refusal(r, &e, "registrations", "the limit is 5 open asynchronous calls over all");
        /* released: room again */
        quota_registrations_release(u, 2);
        assert_int_equal(quota_check_registration(u, 2, &e), 0);
        QuotaUsage use;
        quota_user_usage(u, &use);
        assert_int_equal(use.registrations, 3);
        assert_int_equal(use.violations, 2);
        /* releasing more than held is logged and clamped, never wraps */
        quota_registrations_release(u, 10);
        quota_user_usage(u, &use);
        assert_int_equal(use.registrations, 0);
        quota_session_close(u);
        quota_session_close(u);
        quota_user_unref(u);
        quota_user_unref(u);
        quota_free(q);
}

static void test_query_bytes(void **state) {
        Quota *q = quota_with("[quota]\nquery_bytes = 100\n");
        QuotaUser *u;
        Error e;
        (void)state;

        assert_int_equal(quota_session_open(q, 1000, 0, &u, &e), 0);
        assert_int_equal(quota_check_query(u, 100, &e), 0);
        int r = quota_check_query(u, 101, &e);
        expect_refusal(r, &e, "query_bytes", "the limit is 100 bytes in one query text");
        assert_non_null(strstr(e.message, "101 bytes long"));
        quota_session_close(u);
        quota_user_unref(u);
        quota_free(q);
}

static void test_request_rate(void **state) {
        Quota *q = quota_with("[quota]\nrequest_rate = 10\nrequest_burst = 3\n");
        QuotaUser *u;
        Error e;
        uint64_t t = 5000000;
        (void)state;

        assert_int_equal(quota_session_open(q, 1000, t, &u, &e), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(quota_take_request(u, t, &e), 0);
        int r = quota_take_request(u, t, &e);
        expect_refusal(r, &e, "request_rate", "the limit is 10 requests a second");
        /* 10 a second: one token every 100 ms, not before */
        assert_int_equal(quota_take_request(u, t + 99999, &e), WBEM_E_QUOTA_VIOLATION);
        assert_int_equal(quota_take_request(u, t + 100000, &e), 0);
        assert_int_equal(quota_take_request(u, t + 100000, &e), WBEM_E_QUOTA_VIOLATION);
        /* a long pause fills the bucket to the burst, no more */
        t += 3600u * 1000000u;
        for (int i = 0; i < 3; i++)
                assert_int_equal(quota_take_request(u, t, &e), 0);
        assert_int_equal(quota_take_request(u, t, &e), WBEM_E_QUOTA_VIOLATION);
        /* a clock that does not move forward gives nothing */
        assert_int_equal(quota_take_request(u, t - 1000000, &e), WBEM_E_QUOTA_VIOLATION);
        quota_session_close(u);
        quota_user_unref(u);
        quota_free(q);
}

static void test_backlog(void **state) {
        Quota *q = quota_with("[quota]\nbacklog_bytes = 1000\n");
        QuotaUser *u;
        Error e;
        size_t a = 0, b = 0;
        (void)state;

        assert_int_equal(quota_session_open(q, 1000, 0, &u, &e), 0);
        quota_backlog_set(u, &a, 600);
        assert_false(quota_backlog_full(u));
        quota_backlog_set(u, &b, 400);
        assert_true(quota_backlog_full(u));
        assert_false(quota_backlog_drained(u));
        quota_backlog_set(u, &a, 100); /* a drained */
        assert_false(quota_backlog_full(u));
        assert_true(quota_backlog_drained(u)); /* 500 <= 1000 / 2 */
        QuotaUsage use;
        quota_user_usage(u, &use);
        assert_int_equal(use.backlog_bytes, 500);
        quota_backlog_set(u, &a, 0);
        quota_backlog_set(u, &b, 0);
        quota_user_usage(u, &use);
        assert_int_equal(use.backlog_bytes, 0);
        assert_int_equal(a, 0);
        quota_session_close(u);
        quota_user_unref(u);

        /* no bucket: the charge is only remembered */
        quota_backlog_set(NULL, &a, 77);
        assert_int_equal(a, 77);
        assert_false(quota_backlog_full(NULL));
        assert_true(quota_backlog_drained(NULL));
        quota_free(q);
}

static void test_root_and_overrides(void **state) {
        Quota *q = quota_with("[quota]\nsessions = 1\nquery_bytes = 10\n"
                              "[quota:alice]\nsessions = 3\n"
                              "[quota:anonymous]\nsessions = 2\n"
                              "[quota:nosuchuser]\nsessions = 9\n"
                              "[quota:4000000000000]\nsessions = 9\n");
        QuotaUser *u, *v;
        QuotaUsage use;
        Error e;
        (void)state;

        /* root: unlimited */
        assert_int_equal(quota_session_open(q, 0, 0, &u, &e), 0);
        quota_user_usage(u, &use);
        for (int k = 0; k < QUOTA_N; k++)
                assert_true(use.limits.v[k] == QUOTA_UNLIMITED);
        for (int i = 0; i < 100; i++)
                assert_int_equal(quota_session_open(q, 0, 0, &v, &e), 0);
        assert_int_equal(quota_check_query(u, 1 << 20, &e), 0);
        assert_int_equal(quota_take_request(u, 0, &e), 0);
        for (int i = 0; i <= 100; i++) {
                quota_session_close(u);
                quota_user_unref(u);
        }
        assert_int_equal(quota_user_count(q), 0);

        /* alice (uid 1000 by name): her sessions, the default query_bytes */
        for (int i = 0; i < 3; i++)
                assert_int_equal(quota_session_open(q, 1000, 0, &u, &e), 0);
        assert_int_equal(quota_session_open(q, 1000, 0, &v, &e), WBEM_E_QUOTA_VIOLATION);
        quota_user_usage(u, &use);
        assert_int_equal(use.limits.v[QUOTA_QUERY_BYTES], 10);
        assert_int_equal(use.limits.v[QUOTA_SESSIONS], 3);

        /* anonymous: one bucket for every peer without credentials */
        QuotaUser *anon;
        assert_int_equal(quota_session_open(q, (uid_t)-1, 0, &anon, &e), 0);
        assert_int_equal(quota_session_open(q, (uid_t)-1, 0, &anon, &e), 0);
        int r = quota_session_open(q, (uid_t)-1, 0, &v, &e);
        expect_refusal(r, &e, "sessions", "the limit is 2");
        assert_non_null(strstr(e.message, "anonymous peers"));
        assert_non_null(strstr(e.message, "[quota:anonymous]"));

        /* anyone else: the defaults */
        assert_int_equal(quota_session_open(q, 2000, 0, &v, &e), 0);
        assert_int_equal(quota_session_open(q, 2000, 0, &v, &e), WBEM_E_QUOTA_VIOLATION);

        /* iteration by uid, the anonymous bucket last */
        QuotaUser *it = quota_user_next(q, true, 0);
        quota_user_usage(it, &use);
        assert_int_equal(use.uid, 1000);
        it = quota_user_next(q, false, use.uid);
        quota_user_usage(it, &use);
        assert_int_equal(use.uid, 2000);
        it = quota_user_next(q, false, use.uid);
        quota_user_usage(it, &use);
        assert_true(use.uid == (uid_t)-1);
        assert_null(quota_user_next(q, false, use.uid));

        /* reconfigured: limits change for users with sessions open, what
         * they hold stays */
        QuotaConfig c;
        quota_config_init(&c);
        load(&c, "[quota]\nsessions = 5\n[quota:root]\nsessions = 1\n");
        assert_int_equal(quota_configure(q, &c, fake_lookup), 0);
        quota_config_done(&c);
        quota_user_usage(u, &use);
        assert_int_equal(use.limits.v[QUOTA_SESSIONS], 5);
        assert_int_equal(use.sessions, 3);
        assert_int_equal(quota_session_open(q, 1000, 0, &v, &e), 0);
        quota_session_close(v);
        quota_user_unref(v);
        /* root by name: its own section applies, the rest stays unlimited */
        QuotaUser *root;
        assert_int_equal(quota_session_open(q, 0, 0, &root, &e), 0);
        assert_int_equal(quota_session_open(q, 0, 0, &v, &e), WBEM_E_QUOTA_VIOLATION);
        quota_user_usage(root, &use);
        assert_true(use.limits.v[QUOTA_REGISTRATIONS] == QUOTA_UNLIMITED);
        quota_free(q); /* buckets still bound are forgotten */

        /* lwmid's own user: unlimited like root, its own section applies */
        q = quota_with("[quota]\nsessions = 1\n[quota:alice]\nregistrations = 2\n");
        assert_int_equal(quota_session_open(q, 1000, 0, &u, &e), 0);
        assert_int_equal(quota_session_open(q, 1000, 0, &v, &e), WBEM_E_QUOTA_VIOLATION);
        quota_set_owner(q, 1000);
        assert_int_equal(quota_session_open(q, 1000, 0, &v, &e), 0);
        quota_user_usage(u, &use);
        assert_true(use.limits.v[QUOTA_SESSIONS] == QUOTA_UNLIMITED);
        assert_int_equal(use.limits.v[QUOTA_REGISTRATIONS], 2);
        quota_free(q);
}

/* ---- through a server --------------------------------------------------------- */

typedef struct Peer {
        int fd;
        Session *session;
        char buf[1 << 16];
        size_t have;
} Peer;

typedef struct Fixture {
        Server *server;
        Peer p[4];
} Fixture;

static Fixture *fixture_new(const char *quota_text) {
        Settings o;
        Error e;
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        log_set_max_level(LOG_LEVEL_ERROR);
        settings_init(&o);
        o.socket_path = mem_strdup("/nonexistent/test.sock");
        o.repository = mem_strdup(":memory:");
        o.keepalive_ms = 60000;
        o.stall_timeout_ms = 600000;
        /* the test's own uid: [quota:UID] limits it even as root */
        char text[1024];
        snprintf(text, sizeof(text), "[quota:%lu]\n%s", (unsigned long)getuid(), quota_text);
        if (settings_load_string(&o, "q.conf", text, &e) != 0)
                fail_msg("%s", e.message);
        assert_int_equal(server_new(&o, &o, &f->server, &e), 0);
        settings_done(&o);
        assert_int_equal(server_open_repository(f->server, &e), 0);
        for (size_t i = 0; i < ELEMENTSOF(f->p); i++)
                f->p[i].fd = -1;
        return f;
}

static void fixture_free(Fixture *f) {
        server_free(f->server);
        for (size_t i = 0; i < ELEMENTSOF(f->p); i++)
                if (f->p[i].fd >= 0)
                        close(f->p[i].fd);
        free(f);
}

static void turn(Fixture *f) {
        event_base_loop(f->server->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static void pump(Fixture *f, int turns) {
        for (int i = 0; i < turns; i++)
                turn(f);
}

static void connect_peer(Fixture *f, Peer *p) {
        int fds[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds),
                         0);
        server_accept(fds[0], f->server);
        p->fd = fds[1];
        p->have = 0;
        p->session = TAILQ_LAST(&f->server->sessions, SessionList);
}

static void sendf(Peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(Peer *p, const char *fmt, ...) {
        char text[16384];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        assert_true(n > 0 && (size_t)n < sizeof(text) - 1);
        text[n++] = '\n';
        assert_int_equal(write(p->fd, text, (size_t)n), n);
}

/* The next message, or NULL at EOF or when none comes. */
static json_t *next_msg(Fixture *f, Peer *p) {
        for (int tries = 0; tries < 400; tries++) {
                char *nl = memchr(p->buf, '\n', p->have);
                if (nl) {
                        size_t len = (size_t)(nl - p->buf);
                        json_t *m = json_loadb(p->buf, len, 0, NULL);
                        assert_non_null(m);
                        memmove(p->buf, nl + 1, p->have - len - 1);
                        p->have -= len + 1;
                        return m;
                }
                pump(f, 1);
                ssize_t n = read(p->fd, p->buf + p->have, sizeof(p->buf) - p->have);
                if (n == 0)
                        return NULL;
                if (n > 0)
                        p->have += (size_t)n;
        }
        return NULL;
}

static void expect_ok(Fixture *f, Peer *p, json_int_t id) {
        json_t *m = next_msg(f, p);
        assert_non_null(m);
        if (json_integer_value(json_object_get(m, "id")) != id || !json_object_get(m, "result")) {
                char *text = json_dumps(m, 0);
                fail_msg("expected the result of %lld, got %s", (long long)id, text);
        }
        json_decref(m);
}

/* An error with WBEM_E_QUOTA_VIOLATION naming quota_key. id < 0: null. */
static void expect_quota_error(Fixture *f, Peer *p, json_int_t id, const char *quota_key) {
        json_t *m = next_msg(f, p);
        assert_non_null(m);
        json_t *jid = json_object_get(m, "id");
        if (id < 0)
                assert_true(json_is_null(jid));
        else
                assert_int_equal(json_integer_value(jid), id);
        json_t *e = json_object_get(m, "error");
        assert_non_null(e);
        assert_int_equal(json_integer_value(json_object_get(e, "code")), -32000);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(e, "data"), "status")),
                "WBEM_E_QUOTA_VIOLATION");
        char want[64];
        snprintf(want, sizeof(want), "quota '%s' exceeded", quota_key);
        const char *message = json_string_value(json_object_get(e, "message"));
        if (!strstr(message, want))
                fail_msg("message '%s' lacks '%s'", message, want);
        json_decref(m);
}

static void ping(Fixture *f, Peer *p, json_int_t id) {
        sendf(p, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"Ping\"}", (long long)id);
        expect_ok(f, p, id);
}

static void put_event_class(Fixture *f, Peer *p) {
        sendf(p, "{\"jsonrpc\":\"2.0\",\"id\":100,\"method\":\"PutClass\",\"params\":{"
                 "\"namespace\":\"" NS "\",\"class\":{\"__CLASS\":\"Q_Ev\",\"__SUPERCLASS\":"
                 "\"__ExtrinsicEvent\",\"properties\":{\"Sev\":{\"type\":\"uint32\"}}}}}");
        expect_ok(f, p, 100);
}

static void subscribe(Peer *p, json_int_t id, const char *sink) {
        sendf(p,
              "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"ExecNotificationQueryAsync\","
              "\"params\":{\"namespace\":\"" NS "\",\"query\":\"SELECT * FROM Q_Ev WHERE Sev = "
              "%lld\",\"sink\":\"%s\"}}",
              (long long)id, (long long)id, sink);
}

static QuotaUsage usage(Fixture *f) {
        QuotaUsage use = { 0 };
        QuotaUser *u = quota_user_find(f->server->quota, getuid());
        if (u)
                quota_user_usage(u, &use);
        return use;
}

static void test_server_sessions(void **state) {
        Fixture *f = fixture_new("sessions = 2\n");
        (void)state;

        connect_peer(f, &f->p[0]);
        connect_peer(f, &f->p[1]);
        ping(f, &f->p[0], 1);
        ping(f, &f->p[1], 1);
        assert_int_equal(usage(f).sessions, 2);
        /* the third: one error line (id null), then the connection closes */
        connect_peer(f, &f->p[2]);
        expect_quota_error(f, &f->p[2], -1, "sessions");
        assert_null(next_msg(f, &f->p[2]));
        close(f->p[2].fd);
        f->p[2].fd = -1;
        /* the others went on */
        ping(f, &f->p[0], 2);
        assert_int_equal(usage(f).sessions, 2);
        /* one closes: a new one is accepted */
        close(f->p[1].fd);
        f->p[1].fd = -1;
        pump(f, 5);
        assert_int_equal(usage(f).sessions, 1);
        connect_peer(f, &f->p[3]);
        ping(f, &f->p[3], 1);
        assert_int_equal(usage(f).sessions, 2);
        assert_int_equal(usage(f).violations, 1);
        fixture_free(f);
}

static void test_server_registrations(void **state) {
        Fixture *f = fixture_new("registrations = 5\nsession_registrations = 3\n");
        Peer *a = &f->p[0], *b = &f->p[1];
        (void)state;

        connect_peer(f, a);
        connect_peer(f, b);
        put_event_class(f, a);
        for (json_int_t id = 1; id <= 3; id++) {
                subscribe(a, id, "s");
                expect_ok(f, a, id);
        }
        subscribe(a, 4, "s");
        expect_quota_error(f, a, 4, "session_registrations");
        for (json_int_t id = 1; id <= 2; id++) {
                subscribe(b, id, "t");
                expect_ok(f, b, id);
        }
        subscribe(b, 3, "t");
        expect_quota_error(f, b, 3, "registrations");
        assert_int_equal(usage(f).registrations, 5);
        /* ExecQueryAsync is a call too */
        sendf(b, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ExecQueryAsync\",\"params\":{"
                 "\"namespace\":\"" NS "\",\"query\":\"SELECT * FROM Q_Ev\",\"sink\":\"t\"}}");
        expect_quota_error(f, b, 4, "registrations");
        /* cancel one on a: b may register again */
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"CancelAsyncCall\",\"params\":"
                 "{\"call\":1}}");
        json_decref(next_msg(f, a)); /* SetStatus */
        expect_ok(f, a, 5);
        assert_int_equal(usage(f).registrations, 4);
        subscribe(b, 6, "t");
        expect_ok(f, b, 6);
        assert_int_equal(usage(f).registrations, 5);
        /* cancelling a sink releases all its calls */
        sendf(b, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"CancelAsyncCall\",\"params\":"
                 "{\"sink\":\"t\"}}");
        for (int i = 0; i < 3; i++)
                json_decref(next_msg(f, b));
        expect_ok(f, b, 7);
        assert_int_equal(usage(f).registrations, 2);
        /* a session that goes releases everything it held */
        close(a->fd);
        a->fd = -1;
        pump(f, 5);
        assert_int_equal(usage(f).registrations, 0);
        assert_int_equal(usage(f).sessions, 1);
        ping(f, b, 8);
        close(b->fd);
        b->fd = -1;
        pump(f, 5);
        assert_null(quota_user_find(f->server->quota, getuid()));
        fixture_free(f);
}

static void test_server_query_and_rate(void **state) {
        Fixture *f = fixture_new("query_bytes = 30\nrequest_rate = 1\nrequest_burst = 6\n");
        Peer *a = &f->p[0];
        (void)state;

        connect_peer(f, a);
        put_event_class(f, a); /* 1 */
        /* 39 bytes: over */
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ExecQuery\",\"params\":{"
                 "\"namespace\":\"" NS "\",\"query\":\"SELECT * FROM Q_Ev WHERE Sev = 12345678\"}}");
        expect_quota_error(f, a, 1, "query_bytes");
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ExecNotificationQueryAsync\","
                 "\"params\":{\"namespace\":\"" NS "\",\"query\":\"SELECT * FROM Q_Ev WHERE Sev "
                 "= 12345678\",\"sink\":\"s\"}}");
        expect_quota_error(f, a, 2, "query_bytes");
        assert_int_equal(usage(f).registrations, 0);
        /* 18 bytes: fine */
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ExecNotificationQueryAsync\","
                 "\"params\":{\"namespace\":\"" NS "\",\"query\":\"SELECT * FROM Q_Ev\","
                 "\"sink\":\"s\"}}");
        expect_ok(f, a, 3);
        /* 4 requests so far, 6 in the burst: 2 more, then refused */
        ping(f, a, 4);
        ping(f, a, 5);
        sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"Ping\"}");
        expect_quota_error(f, a, 6, "request_rate");
        /* also on the flat path of ExecNotificationQueryAsync */
        subscribe(a, 7, "s");
        expect_quota_error(f, a, 7, "request_rate");
        /* the session goes on: its registration is still there */
        assert_int_equal(usage(f).registrations, 1);
        assert_int_equal(usage(f).sessions, 1);
        fixture_free(f);
}

/* Regression (found by test_adversarial.py): a subscription that failed
 * left the sink it named behind, for the session's life, so bad queries
 * under ever new sink ids grew the session without bound. And sinks are
 * bounded by session_registrations: made and cancelled, they stay. */
static void test_server_sinks(void **state) {
        Fixture *f = fixture_new("session_registrations = 3\n");
        Peer *a = &f->p[0];
        (void)state;

        connect_peer(f, a);
        put_event_class(f, a);
        for (int i = 0; i < 50; i++) {
                sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
                         "\"ExecNotificationQueryAsync\",\"params\":{\"namespace\":\"" NS "\","
                         "\"query\":\"SELECT * FROM NoSuchClass\",\"sink\":\"bad%d\"}}",
                      i, i);
                json_t *m = next_msg(f, a);
                assert_non_null(json_object_get(m, "error"));
                json_decref(m);
        }
        assert_int_equal(async_sink_count(a->session->async), 0);
        /* three sinks, each made by a call then cancelled: they stay */
        for (int i = 1; i <= 3; i++) {
                sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
                         "\"ExecNotificationQueryAsync\",\"params\":{\"namespace\":\"" NS "\","
                         "\"query\":\"SELECT * FROM Q_Ev\",\"sink\":\"s%d\"}}",
                      i, i);
                expect_ok(f, a, i);
                sendf(a, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"CancelAsyncCall\","
                         "\"params\":{\"sink\":\"s%d\"}}",
                      10 + i, i);
                json_decref(next_msg(f, a)); /* SetStatus */
                expect_ok(f, a, 10 + i);
        }
        assert_int_equal(async_sink_count(a->session->async), 3);
        assert_int_equal(usage(f).registrations, 0);
        /* a fourth sink is refused; the existing ones still work */
        subscribe(a, 20, "s4");
        expect_quota_error(f, a, 20, "session_registrations");
        subscribe(a, 21, "s1");
        expect_ok(f, a, 21);
        assert_int_equal(async_sink_count(a->session->async), 3);
        fixture_free(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config_defaults_and_keys),
                cmocka_unit_test(test_config_errors),
                cmocka_unit_test(test_sessions),
                cmocka_unit_test(test_registrations),
                cmocka_unit_test(test_query_bytes),
                cmocka_unit_test(test_request_rate),
                cmocka_unit_test(test_backlog),
                cmocka_unit_test(test_root_and_overrides),
                cmocka_unit_test(test_server_sessions),
                cmocka_unit_test(test_server_registrations),
                cmocka_unit_test(test_server_query_and_rate),
                cmocka_unit_test(test_server_sinks),
        };
        log_set_max_level(LOG_LEVEL_ERROR);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
