/* Unit tests for rights per namespace (src/daemon/rights.c): right names
 * and principals, the method table, matching and inheritance, the
 * defaults, changes, storage in the repository (and a repository that
 * lacks the table gaining it), and the session's check with its
 * log-once rule. */
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
#include <sqlite3.h>

#include "error.h"
#include "log.h"
#include "methods.h"
#include "mem.h"
#include "repo.h"
#include "rights.h"
#include "server.h"
#include "session.h"

static ProviderCaller user(uid_t uid, gid_t gid) {
        return (ProviderCaller){ .uid = uid, .gid = gid };
}

static const ProviderCaller anonymous = { .uid = (uid_t)-1, .gid = (gid_t)-1 };

static void test_parse_rights(void **state) {
        unsigned mask = 0;
        Error e = { 0 };
        (void)state;

        assert_int_equal(rights_parse("read", &mask, &e), 0);
        assert_int_equal(mask, RIGHT_READ);
        assert_int_equal(rights_parse(" read , Subscribe,WRITE ", &mask, &e), 0);
        assert_int_equal(mask, RIGHT_READ | RIGHT_SUBSCRIBE | RIGHT_WRITE);
        assert_int_equal(rights_parse("publish,admin", &mask, &e), 0);
        assert_int_equal(mask, RIGHT_PUBLISH | RIGHT_ADMIN);
        assert_int_equal(rights_parse("all", &mask, &e), 0);
        assert_int_equal(mask, RIGHTS_ALL);
        mask = 77;
        assert_int_equal(rights_parse("read,fly", &mask, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "unknown right 'fly'"));
        assert_int_equal(mask, 77); /* untouched */
        assert_int_equal(rights_parse("", &mask, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(rights_parse("read,", &mask, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(rights_parse(NULL, &mask, &e), WBEM_E_INVALID_PARAMETER);

        assert_string_equal(rights_name(RIGHT_SUBSCRIBE), "subscribe");
        assert_string_equal(rights_name(RIGHT_ADMIN), "admin");
        assert_string_equal(rights_name(RIGHT_READ | RIGHT_WRITE), "?");
        json_t *j = rights_to_json(RIGHT_READ | RIGHT_PUBLISH);
        char *text = json_dumps(j, JSON_COMPACT);
        assert_string_equal(text, "[\"read\",\"publish\"]");
        free(text);
        json_decref(j);
}

static void test_parse_principal(void **state) {
        RightsPrincipal p;
        Error e = { 0 };
        char buf[300];
        (void)state;

        assert_int_equal(rights_principal_parse("everyone", &p, &e), 0);
        assert_int_equal(p.kind, RIGHTS_EVERYONE);
        assert_int_equal(p.id, -1);
        rights_principal_format(&p, buf, sizeof(buf));
        assert_string_equal(buf, "everyone");
        assert_int_equal(rights_principal_parse("anonymous", &p, &e), 0);
        assert_int_equal(p.kind, RIGHTS_ANONYMOUS);

        /* by name and by number; root is uid 0 and gid 0 everywhere */
        assert_int_equal(rights_principal_parse("user:root", &p, &e), 0);
        assert_int_equal(p.kind, RIGHTS_USER);
        assert_int_equal(p.id, 0);
        assert_string_equal(p.name, "root");
        assert_int_equal(rights_principal_parse("user:0", &p, &e), 0);
        assert_int_equal(p.id, 0);
        assert_string_equal(p.name, "root"); /* the system's name */
        assert_int_equal(rights_principal_parse("group:root", &p, &e), 0);
        assert_int_equal(p.kind, RIGHTS_GROUP);
        assert_int_equal(p.id, 0);
        rights_principal_format(&p, buf, sizeof(buf));
        assert_string_equal(buf, "group:root");
        /* a number nobody has: kept as given */
        assert_int_equal(rights_principal_parse("user:3999999", &p, &e), 0);
        assert_int_equal(p.id, 3999999);
        assert_string_equal(p.name, "");
        rights_principal_format(&p, buf, sizeof(buf));
        assert_string_equal(buf, "user:3999999");

        assert_int_equal(rights_principal_parse("user:no-such-user-xyz", &p, &e), WBEM_E_NOT_FOUND);
        assert_non_null(strstr(e.message, "no user named 'no-such-user-xyz'"));
        assert_int_equal(rights_principal_parse("group:no-such-group-xyz", &p, &e),
                         WBEM_E_NOT_FOUND);
        assert_int_equal(rights_principal_parse("user:", &p, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(rights_principal_parse("alice", &p, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "expected user:NAME"));
        assert_int_equal(rights_principal_parse("Everyone", &p, &e), WBEM_E_INVALID_PARAMETER);
        /* uid -1 is no one */
        assert_int_equal(rights_principal_parse("user:4294967295", &p, &e), WBEM_E_NOT_FOUND);
        assert_int_equal(rights_principal_parse(NULL, &p, &e), WBEM_E_INVALID_PARAMETER);
}

static void test_method_table(void **state) {
        static const struct {
                const char *method;
                unsigned right;
                bool on_ns;
        } cases[] = {
                { "Hello", 0, false },
                { "Ping", 0, false },
                { "CancelAsyncCall", 0, false },
                { "GetObject", RIGHT_READ, true },
                { "ExecQuery", RIGHT_READ, true },
                { "ExecQueryAsync", RIGHT_READ, true },
                { "EnumInstances", RIGHT_READ, true },
                { "EnumClasses", RIGHT_READ, true },
                { "ExecNotificationQueryAsync", RIGHT_SUBSCRIBE, true },
                { "PutClass", RIGHT_WRITE, true },
                { "DeleteClass", RIGHT_WRITE, true },
                { "PutInstance", RIGHT_WRITE, true },
                { "DeleteInstance", RIGHT_WRITE, true },
                { "PublishEvent", RIGHT_PUBLISH, true },
                { "ListRights", RIGHT_ADMIN, false },
                { "GrantRights", RIGHT_ADMIN, false },
                { "RevokeRights", RIGHT_ADMIN, false },
                { "AddToken", RIGHT_ADMIN, false },
                { "ListTokens", RIGHT_ADMIN, false },
                { "RevokeToken", RIGHT_ADMIN, false },
                /* not in the table: closed */
                { "SomethingNew", RIGHT_ADMIN, false },
        };
        (void)state;

        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
                bool on_ns = !cases[k].on_ns;
                assert_int_equal(rights_for_method(cases[k].method, &on_ns), cases[k].right);
                assert_int_equal(on_ns, cases[k].on_ns);
        }
        /* every method lwmid serves has an entry of its own */
        static const char *const served[] = {
                "Hello",           "Ping",           "GetObject",      "ExecQuery",
                "EnumInstances",   "EnumClasses",    "PutClass",       "DeleteClass",
                "PutInstance",     "DeleteInstance", "ExecQueryAsync", "ExecNotificationQueryAsync",
                "CancelAsyncCall", "PublishEvent",   "ListRights",     "GrantRights",
                "RevokeRights"
        };
        for (size_t k = 0; k < sizeof(served) / sizeof(served[0]); k++)
                assert_non_null(methods_find(served[k]));

        assert_int_equal(rights_for_subscribe("root/cimv2"), RIGHT_SUBSCRIBE);
        assert_int_equal(rights_for_subscribe("ROOT\\LWMI"), RIGHT_SUBSCRIBE | RIGHT_ADMIN);
        assert_int_equal(rights_for_subscribe("root/lwmi/x"), RIGHT_SUBSCRIBE | RIGHT_ADMIN);
        assert_int_equal(rights_for_subscribe("root/lwmix"), RIGHT_SUBSCRIBE);
}

static void test_defaults(void **state) {
        Rights *r = NULL;
        ProviderCaller alice = user(1000, 1000);
        (void)state;

        assert_int_equal(rights_new(NULL, &r, NULL), 0);
        /* root has all everywhere, and so has the daemon itself */
        ProviderCaller root = user(0, 0);
        assert_int_equal(rights_effective(r, &root, "root"), RIGHTS_ALL);
        assert_int_equal(rights_effective(r, &root, "root/anything/below"), RIGHTS_ALL);
        assert_int_equal(rights_effective(r, NULL, "root/lwmi"), RIGHTS_ALL);
        /* other users and anonymous: read and subscribe on root/cimv2 only */
        assert_int_equal(rights_effective(r, &alice, "root/cimv2"), RIGHT_READ | RIGHT_SUBSCRIBE);
        assert_int_equal(rights_effective(r, &alice, "ROOT\\CimV2"), RIGHT_READ | RIGHT_SUBSCRIBE);
        assert_int_equal(rights_effective(r, &alice, "root/cimv2/sub"),
                         RIGHT_READ | RIGHT_SUBSCRIBE);
        assert_int_equal(rights_effective(r, &alice, "root"), 0);
        assert_int_equal(rights_effective(r, &alice, "root/lwmi"), 0);
        assert_int_equal(rights_effective(r, &alice, "root/cimv2x"), 0);
        assert_int_equal(rights_effective(r, &anonymous, "root/cimv2"),
                         RIGHT_READ | RIGHT_SUBSCRIBE);
        assert_int_equal(rights_effective(r, &anonymous, "root/lwmi"), 0);
        /* an invalid name gets nothing */
        assert_int_equal(rights_effective(r, &alice, "root//cimv2/"), 0);
        assert_int_equal(rights_effective(r, &alice, NULL), 0);
        assert_true(rights_allowed(r, &alice, "root/cimv2", RIGHT_READ | RIGHT_SUBSCRIBE));
        assert_false(rights_allowed(r, &alice, "root/cimv2", RIGHT_READ | RIGHT_WRITE));
        /* no rights object: nothing is guarded (a daemon without repository) */
        assert_true(rights_allowed(NULL, &alice, "root", RIGHT_ADMIN));

        json_t *list = NULL;
        assert_int_equal(rights_list(r, NULL, &list, NULL), 0);
        assert_int_equal(json_array_size(list), 3);
        char *text = json_dumps(json_array_get(list, 0), JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(text, "{\"id\":0,\"kind\":\"user\",\"name\":\"root\",\"namespace\":"
                                  "\"root\",\"principal\":\"user:root\",\"rights\":[\"read\","
                                  "\"subscribe\",\"write\",\"publish\",\"admin\"]}");
        free(text);
        json_decref(list);
        assert_int_equal(rights_list(r, "Root/CIMV2", &list, NULL), 0);
        assert_int_equal(json_array_size(list), 2);
        text = json_dumps(json_array_get(list, 1), JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(text, "{\"kind\":\"anonymous\",\"namespace\":\"root/cimv2\","
                                  "\"principal\":\"anonymous\",\"rights\":[\"read\","
                                  "\"subscribe\"]}");
        free(text);
        json_decref(list);
        Error e = { 0 };
        list = NULL;
        assert_int_equal(rights_list(r, "root//x", &list, &e), WBEM_E_INVALID_NAMESPACE);
        assert_null(list);
        rights_free(r);
}

static void test_users_groups_inheritance(void **state) {
        Rights *r = NULL;
        RightsPrincipal p;
        Error e = { 0 };
        unsigned after = 0;
        gid_t extra[] = { 50, 1234 };
        (void)state;

        assert_int_equal(rights_new(NULL, &r, NULL), 0);
        assert_int_equal(rights_principal_parse("group:1234", &p, &e), 0);
        assert_int_equal(rights_change(r, "root/app", &p, RIGHT_WRITE | RIGHT_READ, 0, &after, &e),
                         0);
        assert_int_equal(after, RIGHT_WRITE | RIGHT_READ);

        ProviderCaller primary = user(1000, 1234);
        ProviderCaller supplementary = { .uid = 1001, .gid = 1001, .groups = extra, .n_groups = 2 };
        ProviderCaller other = user(1002, 1002);
        ProviderCaller anon_with_gid = { .uid = (uid_t)-1, .gid = 1234 };
        assert_int_equal(rights_effective(r, &primary, "root/app"), RIGHT_READ | RIGHT_WRITE);
        assert_int_equal(rights_effective(r, &supplementary, "root/app"), RIGHT_READ | RIGHT_WRITE);
        assert_int_equal(rights_effective(r, &supplementary, "root/App/deep/er"),
                         RIGHT_READ | RIGHT_WRITE);
        assert_int_equal(rights_effective(r, &supplementary, "root/application"), 0);
        assert_int_equal(rights_effective(r, &other, "root/app"), 0);
        assert_int_equal(rights_effective(r, &anon_with_gid, "root/app"), 0);

        /* a user grant on root adds to the group's below it: the union */
        assert_int_equal(rights_principal_parse("user:1002", &p, &e), 0);
        assert_int_equal(rights_change(r, "root", &p, RIGHT_PUBLISH, 0, NULL, &e), 0);
        assert_int_equal(rights_effective(r, &other, "root/app/x"), RIGHT_PUBLISH);
        assert_int_equal(rights_effective(r, &other, "root/cimv2"),
                         RIGHT_READ | RIGHT_SUBSCRIBE | RIGHT_PUBLISH);
        /* revoking part, then the rest: the grant goes */
        assert_int_equal(rights_change(r, "root", &p, 0, RIGHT_READ, &after, &e), 0);
        assert_int_equal(after, RIGHT_PUBLISH);
        assert_int_equal(rights_change(r, "ROOT", &p, 0, RIGHTS_ALL, &after, &e), 0);
        assert_int_equal(after, 0);
        assert_int_equal(rights_effective(r, &other, "root/app/x"), 0);
        assert_int_equal(rights_change(r, "root", &p, 0, RIGHTS_ALL, &after, &e), WBEM_E_NOT_FOUND);
        assert_non_null(strstr(e.message, "user:1002 has no grant on namespace root"));
        assert_int_equal(rights_change(r, "root//x", &p, RIGHT_READ, 0, &after, &e),
                         WBEM_E_INVALID_NAMESPACE);

        /* anonymous and everyone are told apart */
        assert_int_equal(rights_principal_parse("anonymous", &p, &e), 0);
        assert_int_equal(rights_change(r, "root/lwmi", &p, RIGHT_READ, 0, NULL, &e), 0);
        assert_int_equal(rights_effective(r, &anonymous, "root/lwmi"), RIGHT_READ);
        assert_int_equal(rights_effective(r, &other, "root/lwmi"), 0);
        rights_free(r);
}

static void test_storage(void **state) {
        char dir[] = "/tmp/test-rights-XXXXXX";
        char path[64];
        Repo *repo = NULL;
        Rights *r = NULL;
        RepoGrant *rows = NULL;
        size_t n = 0;
        RightsPrincipal p;
        Error e = { 0 };
        ProviderCaller alice = user(1000, 1000);
        (void)state;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/repo.db", dir);
        assert_int_equal(repo_open(path, &repo, &e), 0);
        assert_int_equal(rights_new(repo, &r, &e), 0);
        /* the defaults were written */
        assert_int_equal(repo_grants_load(repo, &rows, &n, &e), 0);
        assert_int_equal(n, 3);
        assert_string_equal(rows[0].ns, "root");
        assert_string_equal(rows[0].kind, "user");
        assert_int_equal(rows[0].id, 0);
        assert_string_equal(rows[0].name, "root");
        assert_int_equal(rows[0].rights, RIGHTS_ALL);
        assert_string_equal(rows[1].kind, "everyone");
        assert_null(rows[1].name);
        repo_grants_free(rows, n);

        /* changes are stored: a fresh load sees them, and no defaults
         * come back for a grant revoked */
        assert_int_equal(rights_principal_parse("user:1000", &p, &e), 0);
        assert_int_equal(rights_change(r, "root/cimv2", &p, RIGHT_WRITE, 0, NULL, &e), 0);
        assert_int_equal(rights_principal_parse("anonymous", &p, &e), 0);
        assert_int_equal(rights_change(r, "root/cimv2", &p, 0, RIGHTS_ALL, NULL, &e), 0);
        rights_free(r);
        repo_close(repo);

        assert_int_equal(repo_open(path, &repo, &e), 0);
        assert_int_equal(rights_new(repo, &r, &e), 0);
        assert_int_equal(rights_effective(r, &alice, "root/cimv2"),
                         RIGHT_READ | RIGHT_SUBSCRIBE | RIGHT_WRITE);
        assert_int_equal(rights_effective(r, &anonymous, "root/cimv2"), 0);
        rights_free(r);
        repo_close(repo);

        /* a repository from before rights (no table) gains the table and
         * the defaults; a row of an unknown kind grants nothing */
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "DROP TABLE rights", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(repo_open(path, &repo, &e), 0);
        assert_int_equal(rights_new(repo, &r, &e), 0);
        assert_int_equal(rights_effective(r, &anonymous, "root/cimv2"),
                         RIGHT_READ | RIGHT_SUBSCRIBE);
        RepoGrant odd = { .ns = "root", .kind = "robot", .id = 1000, .rights = RIGHTS_ALL };
        assert_int_equal(repo_grants_set(repo, &odd, 1, &e), 0);
        rights_free(r);
        log_set_max_level(LOG_LEVEL_ERROR); /* the warning about the odd row */
        assert_int_equal(rights_new(repo, &r, &e), 0);
        assert_int_equal(rights_effective(r, &alice, "root"), 0);
        rights_free(r);
        repo_close(repo);

        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
}

/* The session's check: a fake session on a server holding only rights. */
static void test_check_call_logs_once(void **state) {
        Server server;
        Session s;
        Error e = { 0 };
        (void)state;

        memset(&server, 0, sizeof(server));
        memset(&s, 0, sizeof(s));
        assert_int_equal(rights_new(NULL, &server.rights, NULL), 0);
        s.server = &server;
        s.id = 7;
        s.uid = 1000;
        s.gid = 1000;
        snprintf(s.peer, sizeof(s.peer), "unix pid 1");

        /* the log goes to a file for counting */
        FILE *logf = tmpfile();
        assert_non_null(logf);
        fflush(stderr);
        int saved = dup(2);
        assert_int_equal(dup2(fileno(logf), 2), 2);
        log_set_max_level(LOG_LEVEL_INFO);

        json_t *cimv2 = json_pack("{s:s}", "namespace", "root/cimv2");
        json_t *app = json_pack("{s:s}", "namespace", "Root/App");
        json_t *bad = json_pack("{s:s}", "namespace", "root//x");
        assert_int_equal(rights_check_call(&s, "Hello", NULL, &e), 0);
        assert_int_equal(rights_check_call(&s, "CancelAsyncCall", NULL, &e), 0);
        assert_int_equal(rights_check_call(&s, "ExecQuery", cimv2, &e), 0);
        assert_int_equal(rights_check_call(&s, "ExecNotificationQueryAsync", cimv2, &e), 0);
        for (int k = 0; k < 3; k++) {
                assert_int_equal(rights_check_call(&s, "PutInstance", cimv2, &e),
                                 WBEM_E_ACCESS_DENIED);
                assert_string_equal(e.message, "access denied: PutInstance needs the write right "
                                               "on namespace root/cimv2");
                assert_int_equal(rights_check_call(&s, "DeleteClass", cimv2, &e),
                                 WBEM_E_ACCESS_DENIED);
                assert_int_equal(rights_check_call(&s, "GetObject", app, &e), WBEM_E_ACCESS_DENIED);
                assert_string_equal(e.message, "access denied: GetObject needs the read right on "
                                               "namespace Root/App");
                assert_int_equal(rights_check_call(&s, "ListRights", NULL, &e),
                                 WBEM_E_ACCESS_DENIED);
                assert_string_equal(e.message, "access denied: ListRights needs the admin right "
                                               "on namespace root");
        }
        assert_int_equal(rights_check_call(&s, "GetObject", bad, &e), WBEM_E_INVALID_NAMESPACE);
        /* root/lwmi subscriptions need admin too */
        RightsPrincipal p;
        assert_int_equal(rights_principal_parse("user:1000", &p, &e), 0);
        assert_int_equal(
                rights_change(server.rights, "root/lwmi", &p, RIGHT_SUBSCRIBE, 0, NULL, &e), 0);
        json_t *lwmi = json_pack("{s:s}", "namespace", "root/lwmi");
        assert_int_equal(rights_check_call(&s, "ExecNotificationQueryAsync", lwmi, &e),
                         WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(e.message, "needs the admin right on namespace root/lwmi"));
        /* granted now: effective at once */
        assert_int_equal(rights_change(server.rights, "root", &p, RIGHT_ADMIN, 0, NULL, &e), 0);
        assert_int_equal(rights_check_call(&s, "ExecNotificationQueryAsync", lwmi, &e), 0);
        assert_int_equal(rights_check_call(&s, "ListRights", NULL, &e), 0);
        /* admin is a right of its own: it implies no other */
        assert_int_equal(rights_check_call(&s, "PutInstance", cimv2, &e), WBEM_E_ACCESS_DENIED);
        /* uid 0 passes without a grant */
        s.uid = 0;
        assert_int_equal(rights_check_call(&s, "RevokeRights", NULL, &e), 0);

        /* a peer trying many namespaces logs a bounded number of lines */
        s.uid = 2000;
        for (int k = 0; k < 100; k++) {
                char ns[32];
                snprintf(ns, sizeof(ns), "root/ns%d", k);
                json_t *params = json_pack("{s:s}", "namespace", ns);
                assert_int_equal(rights_check_call(&s, "GetObject", params, &e),
                                 WBEM_E_ACCESS_DENIED);
                json_decref(params);
        }

        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        log_set_max_level(LOG_LEVEL_ERROR);
        size_t lines = 0, denied = 0, write_lines = 0, more = 0;
        char line[1024];
        rewind(logf);
        while (fgets(line, sizeof(line), logf)) {
                lines++;
                denied += strstr(line, "access denied") != NULL;
                write_lines += strstr(line, "right=write namespace=root/cimv2") != NULL;
                more += strstr(line, "logging no more") != NULL;
        }
        fclose(logf);
        /* uid 1000: write on root/cimv2 (PutInstance and DeleteClass),
         * read on Root/App, admin on root, admin on root/lwmi: 4 lines;
         * uid 2000: 64 - 4 more namespaces, then one line saying so */
        assert_int_equal(write_lines, 1);
        assert_int_equal(denied, 64);
        assert_int_equal(more, 1);
        assert_int_equal(lines, 65);

        json_decref(cimv2);
        json_decref(app);
        json_decref(bad);
        json_decref(lwmi);
        rights_seen_free(s.rights_seen);
        rights_free(server.rights);
}

/* Every allocation of loading and changing rights failing in turn: a
 * clean -ENOMEM, nothing leaked (ASan), and memory and repository still
 * agree on what was there before. */
static void test_allocation_failures(void **state) {
        ProviderCaller alice = user(1000, 1000);
        RightsPrincipal p;
        Repo *repo = NULL;
        Rights *r = NULL;
        Error e = { 0 };
        (void)state;

        for (unsigned long n = 1;; n++) {
                Rights *fresh = NULL;
                mem_fail_at(n);
                int k = rights_new(NULL, &fresh, NULL);
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                if (!hit) {
                        assert_int_equal(k, 0);
                        rights_free(fresh);
                        break;
                }
                assert_int_equal(k, -ENOMEM);
                assert_null(fresh);
        }

        assert_int_equal(repo_open(":memory:", &repo, &e), 0);
        assert_int_equal(rights_new(repo, &r, &e), 0);
        assert_int_equal(rights_principal_parse("user:1000", &p, &e), 0);
        for (unsigned long n = 1;; n++) {
                Rights *again = NULL;
                mem_fail_at(n);
                int k = rights_new(repo, &again, &e);
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                rights_free(again);
                if (!hit) {
                        assert_int_equal(k, 0);
                        break;
                }
                assert_int_equal(k, -ENOMEM);
        }
        for (unsigned long n = 1;; n++) {
                unsigned after = 99;
                mem_fail_at(n);
                int k = rights_change(r, "root/cimv2", &p, RIGHT_WRITE, 0, &after, &e);
                bool hit = mem_fail_triggered();
                mem_fail_at(0);
                if (!hit) {
                        assert_int_equal(k, 0);
                        assert_int_equal(after, RIGHT_WRITE);
                        break;
                }
                assert_int_equal(k, -ENOMEM);
                assert_int_equal(after, 99);
                assert_int_equal(rights_effective(r, &alice, "root/cimv2"),
                                 RIGHT_READ | RIGHT_SUBSCRIBE);
                RepoGrant *rows = NULL;
                size_t count = 0;
                assert_int_equal(repo_grants_load(repo, &rows, &count, &e), 0);
                assert_int_equal(count, 3);
                repo_grants_free(rows, count);
        }
        assert_int_equal(rights_effective(r, &alice, "root/cimv2"),
                         RIGHT_READ | RIGHT_SUBSCRIBE | RIGHT_WRITE);
        rights_free(r);
        repo_close(repo);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_rights),
                cmocka_unit_test(test_parse_principal),
                cmocka_unit_test(test_method_table),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_users_groups_inheritance),
                cmocka_unit_test(test_storage),
                cmocka_unit_test(test_check_call_logs_once),
                cmocka_unit_test(test_allocation_failures),
        };
        log_set_max_level(LOG_LEVEL_ERROR);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
