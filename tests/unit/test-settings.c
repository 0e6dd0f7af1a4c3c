/* Unit tests for lwmid's settings (src/daemon/settings.c: sizes, the INI
 * file with every error it reports, defaults, resolution), its single-
 * instance lock (lockfile.c) and the log level names (log.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "error.h"
#include "lockfile.h"
#include "log.h"
#include "mem.h"
#include "repo.h"
#include "settings.h"

static void test_parse_size(void **state) {
        size_t v = 7;
        Error e;
        (void)state;

        assert_int_equal(settings_parse_size("4096", "x", &v, &e), 0);
        assert_int_equal(v, 4096);
        assert_int_equal(settings_parse_size("512", "x", &v, &e), 0);
        assert_int_equal(v, 512);
        assert_int_equal(settings_parse_size("1K", "x", &v, &e), 0);
        assert_int_equal(v, 1024);
        assert_int_equal(settings_parse_size("64KiB", "x", &v, &e), 0);
        assert_int_equal(v, 65536);
        assert_int_equal(settings_parse_size("1M", "x", &v, &e), 0);
        assert_int_equal(v, 1048576);
        assert_int_equal(settings_parse_size("3MiB", "x", &v, &e), 0);
        assert_int_equal(v, 3 * 1048576);
        assert_int_equal(settings_parse_size("1G", "x", &v, &e), 0);
        assert_int_equal(v, 1073741824);
        assert_int_equal(settings_parse_size("1GiB", "x", &v, &e), 0);
        assert_int_equal(settings_parse_size("1073741824", "x", &v, &e), 0);

        v = 7;
        assert_int_equal(settings_parse_size("511", "what", &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "what: '511' is out of range"));
        assert_int_equal(v, 7);
        assert_int_equal(settings_parse_size("0K", "x", &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "out of range"));
        assert_int_equal(settings_parse_size("2G", "x", &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "out of range"));
        assert_int_equal(settings_parse_size("1073741825", "x", &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(settings_parse_size("99999999999999999999999", "x", &v, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "out of range"));
        assert_int_equal(settings_parse_size("", "x", &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "not a size"));
        assert_int_equal(settings_parse_size("-1", "x", &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "not a size"));
        assert_int_equal(settings_parse_size(" 1K", "x", &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(settings_parse_size("1T", "x", &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "unknown unit"));
        assert_int_equal(settings_parse_size("1k", "x", &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(settings_parse_size("1K ", "x", &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(settings_parse_size("1.5M", "x", &v, NULL), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(v, 7);
}

static void test_parse_result_limits(void **state) {
        size_t v = 7;
        Error e;
        (void)state;

        assert_int_equal(settings_parse_count("1", "n", 1, 100, &v, &e), 0);
        assert_int_equal(v, 1);
        assert_int_equal(settings_parse_count("100", "n", 1, 100, &v, &e), 0);
        assert_int_equal(v, 100);
        v = 7;
        assert_int_equal(settings_parse_count("0", "n", 1, 100, &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "n: '0' is out of range (1 to 100)"));
        assert_int_equal(settings_parse_count("101", "n", 1, 100, &v, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(settings_parse_count("99999999999999999999999", "n", 1, 100, &v, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(settings_parse_count("1K", "n", 1, 100000, &v, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "not a number"));
        assert_int_equal(settings_parse_count("", "n", 1, 100, &v, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(settings_parse_count("-1", "n", 1, 100, &v, NULL),
                         WBEM_E_INVALID_PARAMETER);
        assert_int_equal(v, 7);

        assert_int_equal(settings_parse_size_in("4K", "b", 4096, 1 << 20, &v, &e), 0);
        assert_int_equal(v, 4096);
        assert_int_equal(settings_parse_size_in("1M", "b", 4096, 1 << 20, &v, &e), 0);
        assert_int_equal(v, 1 << 20);
        assert_int_equal(settings_parse_size_in("4095", "b", 4096, 1 << 20, &v, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "4096 bytes to 1048576 bytes"));
        assert_int_equal(settings_parse_size_in("2M", "b", 4096, 1 << 20, &v, &e),
                         WBEM_E_INVALID_PARAMETER);
}

static void test_load_string(void **state) {
        Settings o;
        Error e;
        (void)state;

        settings_init(&o);
        assert_int_equal(settings_load_string(&o, "f.conf",
                                              "; lwmid\n"
                                              "# also a comment\n"
                                              "\n"
                                              "[daemon]\n"
                                              "socket = /run/x.sock\n"
                                              "repository=:memory:   ; inline comment\n"
                                              "log_level = DEBUG\n"
                                              "max_line_bytes = 2M\n"
                                              "max_result_objects = 500\n"
                                              "max_result_bytes = 8M\n"
                                              "min_within_ms = 250\n"
                                              "keepalive_ms = 500\n"
                                              "stall_timeout_ms = 3600000\n"
                                              "max_backlog_bytes = 64K\n",
                                              &e),
                         0);
        assert_string_equal(o.socket_path, "/run/x.sock");
        assert_string_equal(o.repository, ":memory:");
        assert_int_equal(o.log_level, LOG_LEVEL_DEBUG);
        assert_int_equal(o.max_line_bytes, 2 * 1048576);
        assert_int_equal(o.max_result_objects, 500);
        assert_int_equal(o.max_result_bytes, 8 * 1048576);
        assert_int_equal(o.min_within_ms, 250);
        assert_int_equal(o.keepalive_ms, 500);
        assert_int_equal(o.stall_timeout_ms, 3600000);
        assert_int_equal(o.max_backlog_bytes, 65536);
        assert_int_equal(o.from_file,
                         SETTINGS_SET_SOCKET | SETTINGS_SET_REPOSITORY | SETTINGS_SET_LOG_LEVEL |
                                 SETTINGS_SET_MAX_LINE_BYTES | SETTINGS_SET_MAX_RESULT_OBJECTS |
                                 SETTINGS_SET_MAX_RESULT_BYTES | SETTINGS_SET_MIN_WITHIN_MS |
                                 SETTINGS_SET_KEEPALIVE_MS | SETTINGS_SET_STALL_TIMEOUT_MS |
                                 SETTINGS_SET_MAX_BACKLOG_BYTES);
        settings_done(&o);
        assert_null(o.socket_path);

        /* an empty file changes nothing */
        settings_init(&o);
        assert_int_equal(settings_load_string(&o, "f", "", &e), 0);
        assert_int_equal(o.max_line_bytes, SETTINGS_DEFAULT_MAX_LINE_BYTES);
        assert_int_equal(o.max_result_objects, 100000);
        assert_int_equal(o.max_result_bytes, 64 * 1048576);
        assert_int_equal(o.min_within_ms, 500);
        assert_int_equal(o.keepalive_ms, 10000);
        assert_int_equal(o.stall_timeout_ms, 10000);
        assert_int_equal(o.max_backlog_bytes, 4 * 1048576);
        assert_int_equal(o.log_level, LOG_LEVEL_INFO);
        assert_null(o.socket_path);
        settings_done(&o);
}

static void test_command_line_wins(void **state) {
        Settings o;
        Error e;
        (void)state;

        settings_init(&o);
        o.socket_path = mem_strdup("/cmd.sock");
        o.log_level = LOG_LEVEL_ERROR;
        o.from_cmdline = SETTINGS_SET_SOCKET | SETTINGS_SET_LOG_LEVEL;
        assert_int_equal(settings_load_string(&o, "f",
                                              "[daemon]\nsocket=/file.sock\nlog_level=debug\n"
                                              "max_line_bytes=4K\n",
                                              &e),
                         0);
        assert_string_equal(o.socket_path, "/cmd.sock");
        assert_int_equal(o.log_level, LOG_LEVEL_ERROR);
        assert_int_equal(o.max_line_bytes, 4096);
        settings_done(&o);

        settings_init(&o);
        o.max_result_objects = 10;
        o.from_cmdline = SETTINGS_SET_MAX_RESULT_OBJECTS;
        assert_int_equal(settings_load_string(&o, "f",
                                              "[daemon]\nmax_result_objects=20\n"
                                              "max_result_bytes=16K\n",
                                              &e),
                         0);
        assert_int_equal(o.max_result_objects, 10);
        assert_int_equal(o.max_result_bytes, 16384);
        settings_done(&o);
}

static void expect_load_error(const char *text, const char *want) {
        Settings o;
        Error e;

        settings_init(&o);
        assert_int_equal(settings_load_string(&o, "f.conf", text, &e), WBEM_E_INVALID_PARAMETER);
        assert_int_equal(e.status, WBEM_E_INVALID_PARAMETER);
        if (!strstr(e.message, want))
                fail_msg("message '%s' lacks '%s'", e.message, want);
        settings_done(&o);
}

static void test_load_errors(void **state) {
        char long_line[400];
        (void)state;

        expect_load_error("[daemon]\nsockett = /x\n",
                          "f.conf:2: unknown key 'sockett' in [daemon]");
        expect_load_error("socket = /x\n", "f.conf:1: key 'socket' outside a section");
        expect_load_error("[server]\nsocket = /x\n", "f.conf:2: unknown section [server]");
        expect_load_error("[daemon]\nsocket = /a\nsocket = /b\n",
                          "f.conf:3: key 'socket' set more than once");
        expect_load_error("[daemon]\nsocket = /a\n  continued\n",
                          "f.conf:3: key 'socket' set more than once");
        expect_load_error("[daemon]\nlog_level = verbose\n",
                          "f.conf:2: key 'log_level': 'verbose' is not one of");
        expect_load_error("[daemon]\nmax_line_bytes = 10\n",
                          "f.conf:2: key max_line_bytes: '10' is out of range");
        expect_load_error("[daemon]\nmax_line_bytes = lots\n", "f.conf:2: key max_line_bytes");
        expect_load_error("[daemon]\nmax_result_objects = 0\n",
                          "f.conf:2: key max_result_objects: '0' is out of range");
        expect_load_error("[daemon]\nmax_result_objects = 1K\n",
                          "f.conf:2: key max_result_objects: '1K' is not a number");
        expect_load_error("[daemon]\nmin_within_ms = 5\n",
                          "f.conf:2: key min_within_ms: '5' is out of range (10 to 3600000)");
        expect_load_error("[daemon]\nmin_within_ms = 0.5\n",
                          "f.conf:2: key min_within_ms: '0.5' is not a number");
        expect_load_error("[daemon]\nkeepalive_ms = 499\n",
                          "f.conf:2: key keepalive_ms: '499' is out of range (500 to 60000)");
        expect_load_error("[daemon]\nkeepalive_ms = 60001\n",
                          "f.conf:2: key keepalive_ms: '60001' is out of range (500 to 60000)");
        expect_load_error("[daemon]\nkeepalive_ms = 1s\n",
                          "f.conf:2: key keepalive_ms: '1s' is not a number");
        expect_load_error("[daemon]\nstall_timeout_ms = 99\n",
                          "f.conf:2: key stall_timeout_ms: '99' is out of range (100 to 3600000)");
        expect_load_error("[daemon]\nstall_timeout_ms = 3600001\n",
                          "f.conf:2: key stall_timeout_ms: '3600001' is out of range");
        expect_load_error("[daemon]\nmax_backlog_bytes = 1K\n",
                          "f.conf:2: key max_backlog_bytes: '1K' is out of range");
        expect_load_error("[daemon]\nmax_backlog_bytes = 2G\n",
                          "f.conf:2: key max_backlog_bytes: '2G' is out of range");
        expect_load_error("[daemon]\nmax_result_bytes = 2G\n",
                          "f.conf:2: key max_result_bytes: '2G' is out of range");
        expect_load_error("[daemon]\nsocket =\n", "f.conf:2: key 'socket': empty path");
        expect_load_error("[daemon]\nrepository =\n", "f.conf:2: key 'repository': empty path");
        expect_load_error("[daemon]\njust words\n", "f.conf:2: syntax error");
        expect_load_error("[daemon\n", "f.conf:1: syntax error");

        /* the earliest error is the one reported, whoever found it */
        expect_load_error("[daemon]\nbogus = 1\nalso bad\n", "f.conf:2: unknown key 'bogus'");
        expect_load_error("[daemon]\nalso bad\nbogus = 1\n", "f.conf:2: syntax error");

        /* an over-long line is reported, and its tail is not read as a line */
        snprintf(long_line, sizeof(long_line), "[daemon]\nsocket = /%0300d\nlog_level = loud\n", 0);
        expect_load_error(long_line, "f.conf:2: line longer than");
        snprintf(long_line, sizeof(long_line), "[daemon]\nlog_level = loud\nsocket = /%0300d\n", 0);
        expect_load_error(long_line, "f.conf:2: key 'log_level'");
}

static void test_load_file(void **state) {
        char path[] = "/tmp/lwmi-test-settings-XXXXXX";
        Settings o;
        Error e;
        (void)state;

        int fd = mkstemp(path);
        assert_true(fd >= 0);
        const char text[] = "[daemon]\nrepository = /var/x.db\nmax_line_bytes = 8K\n";
        assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
        close(fd);

        settings_init(&o);
        o.config_path = mem_strdup(path);
        assert_int_equal(settings_load(&o, &e), 0);
        assert_string_equal(o.repository, "/var/x.db");
        assert_int_equal(o.max_line_bytes, 8192);
        settings_done(&o);

        /* a bad file names itself and the line */
        fd = open(path, O_WRONLY | O_TRUNC);
        assert_true(fd >= 0);
        const char bad[] = "[daemon]\n\nnope = 1\n";
        assert_int_equal(write(fd, bad, sizeof(bad) - 1), sizeof(bad) - 1);
        close(fd);
        settings_init(&o);
        o.config_path = mem_strdup(path);
        assert_int_equal(settings_load(&o, &e), WBEM_E_INVALID_PARAMETER);
        char want[128];
        snprintf(want, sizeof(want), "%s:3: unknown key 'nope'", path);
        assert_non_null(strstr(e.message, want));
        settings_done(&o);

        unlink(path);
        settings_init(&o);
        o.config_path = mem_strdup(path);
        assert_int_equal(settings_load(&o, &e), WBEM_E_NOT_FOUND);
        assert_non_null(strstr(e.message, "cannot open"));
        assert_non_null(strstr(e.message, path));
        settings_done(&o);
}

static void test_defaults(void **state) {
        char *p = NULL;
        Error e;
        (void)state;

        assert_int_equal(settings_default_socket(true, NULL, &p, &e), 0);
        assert_string_equal(p, "/run/lwmi/lwmid.sock");
        mem_free(p);
        assert_int_equal(settings_default_socket(true, "/run/user/1000", &p, &e), 0);
        assert_string_equal(p, "/run/lwmi/lwmid.sock");
        mem_free(p);
        assert_int_equal(settings_default_socket(false, "/run/user/1000", &p, &e), 0);
        assert_string_equal(p, "/run/user/1000/lwmi/lwmid.sock");
        mem_free(p);
        p = NULL;
        assert_int_equal(settings_default_socket(false, NULL, &p, &e), WBEM_E_NOT_FOUND);
        assert_non_null(strstr(e.message, "XDG_RUNTIME_DIR is not set"));
        assert_non_null(strstr(e.message, "--socket"));
        assert_null(p);
        assert_int_equal(settings_default_socket(false, "relative", &p, &e), WBEM_E_NOT_FOUND);
        assert_non_null(strstr(e.message, "not an absolute path"));
}

static void test_copy_and_resolve(void **state) {
        Settings cmd, copy, resolved;
        Error e;
        (void)state;

        settings_init(&cmd);
        cmd.socket_path = mem_strdup("/s.sock");
        cmd.repository = mem_strdup(":memory:");
        cmd.from_cmdline = SETTINGS_SET_SOCKET | SETTINGS_SET_REPOSITORY;
        assert_int_equal(settings_copy(&cmd, &copy), 0);
        assert_string_equal(copy.socket_path, "/s.sock");
        assert_ptr_not_equal(copy.socket_path, cmd.socket_path);
        assert_null(copy.config_path);
        settings_done(&copy);

        /* two strings to copy: either allocation failing fails the copy */
        for (unsigned long n = 1; n <= 2; n++) {
                copy.socket_path = (char *)"untouched";
                mem_fail_at(n);
                assert_int_equal(settings_copy(&cmd, &copy), -ENOMEM);
                mem_fail_at(0);
                assert_string_equal(copy.socket_path, "untouched");
        }

        /* no file: only defaults fill in */
        assert_int_equal(settings_resolve(&cmd, &resolved, &e), 0);
        assert_string_equal(resolved.socket_path, "/s.sock");
        assert_string_equal(resolved.repository, ":memory:");
        settings_done(&resolved);

        /* a missing file fails the whole resolution */
        cmd.config_path = mem_strdup("/nonexistent/lwmid.conf");
        assert_int_equal(settings_resolve(&cmd, &resolved, &e), WBEM_E_NOT_FOUND);

        /* defaults for what the command line left out */
        mem_free(cmd.config_path);
        cmd.config_path = NULL;
        mem_free(cmd.socket_path);
        cmd.socket_path = NULL;
        cmd.from_cmdline = SETTINGS_SET_REPOSITORY;
        setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
        assert_int_equal(settings_resolve(&cmd, &resolved, &e), 0);
        if (geteuid() == 0)
                assert_string_equal(resolved.socket_path, "/run/lwmi/lwmid.sock");
        else
                assert_string_equal(resolved.socket_path, "/run/user/4242/lwmi/lwmid.sock");
        settings_done(&resolved);

        /* the default repository is the engine's (repo_default_path) */
        cmd.from_cmdline = SETTINGS_SET_SOCKET;
        mem_free(cmd.repository);
        cmd.repository = NULL;
        cmd.socket_path = mem_strdup("/s.sock");
        setenv("XDG_STATE_HOME", "/state", 1);
        char *want = NULL;
        assert_int_equal(repo_default_path(&want), 0);
        assert_int_equal(settings_resolve(&cmd, &resolved, &e), 0);
        assert_string_equal(resolved.repository, want);
        if (geteuid() != 0)
                assert_string_equal(resolved.repository, "/state/lwmi/repository.db");
        mem_free(want);
        settings_done(&resolved);
        if (geteuid() != 0) {
                char *home = getenv("HOME") ? mem_strdup(getenv("HOME")) : NULL;
                unsetenv("XDG_STATE_HOME");
                unsetenv("HOME");
                assert_int_equal(settings_resolve(&cmd, &resolved, &e), WBEM_E_NOT_FOUND);
                assert_non_null(strstr(e.message, "--repository"));
                if (home)
                        setenv("HOME", home, 1);
                mem_free(home);
        }
        unsetenv("XDG_STATE_HOME");
        settings_done(&cmd);
}

static void test_listen(void **state) {
        Settings o, copy, resolved;
        Error e;
        bool b = true;
        (void)state;

        assert_int_equal(settings_parse_bool("true", "x", &b, &e), 0);
        assert_true(b);
        assert_int_equal(settings_parse_bool("false", "x", &b, &e), 0);
        assert_false(b);
        assert_int_equal(settings_parse_bool("yes", "insecure_tcp", &b, &e),
                         WBEM_E_INVALID_PARAMETER);
        assert_false(b); /* untouched */
        assert_string_equal(e.message, "insecure_tcp: 'yes' is not true or false");
        assert_int_equal(settings_parse_bool("", "x", &b, &e), WBEM_E_INVALID_PARAMETER);

        /* from the file; the default is no TCP listener */
        settings_init(&o);
        assert_null(o.listen);
        assert_false(o.insecure_tcp);
        assert_int_equal(settings_load_string(&o, "f",
                                              "[daemon]\nlisten = 10.0.0.1:7000\n"
                                              "insecure_tcp = true\n",
                                              &e),
                         0);
        assert_string_equal(o.listen, "10.0.0.1:7000");
        assert_true(o.insecure_tcp);
        assert_int_equal(o.from_file, SETTINGS_SET_LISTEN | SETTINGS_SET_INSECURE_TCP);
        assert_int_equal(settings_check_listen(&o, &e), 0);
        /* a deep copy */
        assert_int_equal(settings_copy(&o, &copy), 0);
        assert_string_equal(copy.listen, "10.0.0.1:7000");
        assert_ptr_not_equal(copy.listen, o.listen);
        assert_true(copy.insecure_tcp);
        settings_done(&copy);
        /* not loopback without insecure_tcp: refused, saying why */
        o.insecure_tcp = false;
        assert_int_equal(settings_check_listen(&o, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "10.0.0.1:7000 is not loopback"));
        assert_non_null(strstr(e.message, "--insecure-tcp"));
        settings_done(&o);

        /* the command line wins over the file */
        settings_init(&o);
        o.listen = mem_strdup("127.0.0.1:1");
        o.from_cmdline = SETTINGS_SET_LISTEN | SETTINGS_SET_INSECURE_TCP;
        assert_int_equal(settings_load_string(
                                 &o, "f", "[daemon]\nlisten = [::1]:2\ninsecure_tcp = true\n", &e),
                         0);
        assert_string_equal(o.listen, "127.0.0.1:1");
        assert_false(o.insecure_tcp);
        settings_done(&o);

        /* bad values in the file */
        expect_load_error("[daemon]\nlisten = 127.0.0.1\n",
                          "f.conf:2: key listen: '127.0.0.1' has no port");
        expect_load_error("[daemon]\nlisten = localhost:7000\n",
                          "f.conf:2: key listen: 'localhost:7000': 'localhost' is not a numeric");
        expect_load_error("[daemon]\ninsecure_tcp = 1\n",
                          "f.conf:2: key insecure_tcp: '1' is not true or false");
        expect_load_error("[daemon]\nlisten = [::1]:1\nlisten = [::1]:2\n",
                          "f.conf:3: key 'listen' set more than once");

        /* loopback is fine without insecure_tcp, IPv4 and IPv6 */
        settings_init(&o);
        o.listen = mem_strdup("[::1]:0");
        assert_int_equal(settings_check_listen(&o, &e), 0);
        mem_free(o.listen);
        o.listen = mem_strdup("127.3.2.1:7000");
        assert_int_equal(settings_check_listen(&o, &e), 0);
        mem_free(o.listen);
        o.listen = mem_strdup("0.0.0.0:7000"); /* every address: not loopback */
        assert_int_equal(settings_check_listen(&o, &e), WBEM_E_INVALID_PARAMETER);
        mem_free(o.listen);
        o.listen = mem_strdup("nonsense");
        assert_int_equal(settings_check_listen(&o, &e), WBEM_E_INVALID_PARAMETER);
        assert_non_null(strstr(e.message, "has no port"));
        settings_done(&o);

        /* settings_resolve applies the rule */
        settings_init(&o);
        o.socket_path = mem_strdup("/s.sock");
        o.repository = mem_strdup(":memory:");
        o.listen = mem_strdup("[fd00::1]:7000");
        o.from_cmdline = SETTINGS_SET_SOCKET | SETTINGS_SET_REPOSITORY | SETTINGS_SET_LISTEN;
        resolved.listen = (char *)"untouched";
        assert_int_equal(settings_resolve(&o, &resolved, &e), WBEM_E_INVALID_PARAMETER);
        assert_string_equal(resolved.listen, "untouched");
        assert_non_null(strstr(e.message, "[fd00::1]:7000 is not loopback"));
        o.insecure_tcp = true;
        assert_int_equal(settings_resolve(&o, &resolved, &e), 0);
        assert_string_equal(resolved.listen, "[fd00::1]:7000");
        assert_true(resolved.insecure_tcp);
        settings_done(&resolved);
        settings_done(&o);
}

/* The process events' keys: proc_connector (a boolean) and fork_grace_ms
 * (0 to 10000), with their defaults, errors, and the command line
 * winning. */
static void test_process_events(void **state) {
        Settings o;
        Error e;
        (void)state;

        settings_init(&o);
        assert_true(o.proc_connector);
        assert_int_equal(o.fork_grace_ms, SETTINGS_DEFAULT_FORK_GRACE_MS);
        assert_int_equal(settings_load_string(&o, "f.conf",
                                              "[daemon]\nproc_connector = false\n"
                                              "fork_grace_ms = 0\n",
                                              &e),
                         0);
        assert_false(o.proc_connector);
        assert_int_equal(o.fork_grace_ms, 0);
        settings_done(&o);

        settings_init(&o);
        o.fork_grace_ms = 250;
        o.from_cmdline = SETTINGS_SET_FORK_GRACE_MS;
        assert_int_equal(settings_load_string(&o, "f.conf",
                                              "[daemon]\nfork_grace_ms = 10000\n"
                                              "proc_connector = true\n",
                                              &e),
                         0);
        assert_int_equal(o.fork_grace_ms, 250);
        assert_true(o.proc_connector);
        settings_done(&o);

        expect_load_error("[daemon]\nfork_grace_ms = 10001\n",
                          "f.conf:2: key fork_grace_ms: '10001' is out of range (0 to 10000)");
        expect_load_error("[daemon]\nfork_grace_ms = -1\n", "f.conf:2: key fork_grace_ms");
        expect_load_error("[daemon]\nproc_connector = maybe\n",
                          "f.conf:2: key proc_connector: 'maybe' is not true or false");
        expect_load_error("[daemon]\nproc_conector = false\n", "proc_connector, fork_grace_ms");
}

/* drop_privileges: on by default, a boolean key, the command line wins. */
static void test_drop_privileges(void **state) {
        Settings o;
        Error e;
        (void)state;

        settings_init(&o);
        assert_true(o.drop_privileges);
        assert_int_equal(settings_load_string(&o, "f.conf", "[daemon]\ndrop_privileges = false\n",
                                              &e),
                         0);
        assert_false(o.drop_privileges);
        assert_true(o.from_file & SETTINGS_SET_DROP_PRIVILEGES);
        settings_done(&o);

        settings_init(&o);
        o.from_cmdline = SETTINGS_SET_DROP_PRIVILEGES;
        assert_int_equal(settings_load_string(&o, "f.conf", "[daemon]\ndrop_privileges = false\n",
                                              &e),
                         0);
        assert_true(o.drop_privileges);
        settings_done(&o);

        expect_load_error("[daemon]\ndrop_privileges = yes\n",
                          "f.conf:2: key drop_privileges: 'yes' is not true or false");
        expect_load_error("[daemon]\ndrop_privilege = true\n", "tls_auth_timeout_ms, drop_privileges)");
}

/* A configuration file another user could change is refused, naming it
 * and the fix; a private one in a sticky directory is fine. */
static void test_load_file_untrusted(void **state) {
        char dir[] = "/tmp/lwmi-test-settings-XXXXXX";
        char path[PATH_MAX];
        Settings o;
        Error e;
        (void)state;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/lwmid.conf", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        assert_true(fd >= 0);
        const char text[] = "[daemon]\nlog_level = debug\n";
        assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
        close(fd);

        settings_init(&o);
        o.config_path = mem_strdup(path);
        assert_int_equal(settings_load(&o, &e), 0);
        assert_int_equal(o.log_level, LOG_LEVEL_DEBUG);
        settings_done(&o);

        assert_int_equal(chmod(path, 0666), 0);
        settings_init(&o);
        o.config_path = mem_strdup(path);
        assert_int_equal(settings_load(&o, &e), WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(e.message, "refusing the configuration file"));
        assert_non_null(strstr(e.message, path));
        assert_non_null(strstr(e.message, "world-writable (mode 0666)"));
        assert_non_null(strstr(e.message, "fix: chmod o-w"));
        /* nothing was read */
        assert_int_equal(o.log_level, LOG_LEVEL_INFO);
        settings_done(&o);

        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(chmod(dir, 0777), 0);
        settings_init(&o);
        o.config_path = mem_strdup(path);
        assert_int_equal(settings_load(&o, &e), WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(e.message, "without the sticky bit"));
        settings_done(&o);

        assert_int_equal(chmod(dir, 01777), 0);
        settings_init(&o);
        o.config_path = mem_strdup(path);
        assert_int_equal(settings_load(&o, &e), 0);
        settings_done(&o);

        unlink(path);
        rmdir(dir);
}

static void test_lockfile(void **state) {
        char dir[] = "/tmp/lwmi-test-lock-XXXXXX";
        char path[128];
        int fd = -1, fd2 = -1;
        pid_t holder = 0;
        Error e;
        (void)state;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/lwmid.sock.lock", dir);

        assert_int_equal(lockfile_acquire(path, &fd, &holder, &e), 0);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        char buf[32] = { 0 };
        assert_true(pread(fd, buf, sizeof(buf) - 1, 0) > 0);
        assert_int_equal(atol(buf), getpid());

        /* flock() locks belong to the open file: a second open in this
         * process conflicts like another process would */
        assert_int_equal(lockfile_acquire(path, &fd2, &holder, &e), WBEM_E_ALREADY_EXISTS);
        assert_int_equal(fd2, -1);
        assert_int_equal(holder, getpid());
        char want[64];
        snprintf(want, sizeof(want), "another lwmid (pid %ld) holds", (long)getpid());
        assert_non_null(strstr(e.message, want));

        lockfile_release(path, fd);
        assert_int_equal(access(path, F_OK), -1);

        /* a file left by a dead owner is simply taken over */
        int stale = open(path, O_CREAT | O_WRONLY, 0600);
        assert_true(stale >= 0);
        assert_int_equal(write(stale, "999999\n", 7), 7);
        close(stale);
        assert_int_equal(lockfile_acquire(path, &fd, NULL, &e), 0);
        memset(buf, 0, sizeof(buf));
        assert_true(pread(fd, buf, sizeof(buf) - 1, 0) > 0);
        assert_int_equal(atol(buf), getpid());
        lockfile_release(path, fd);
        lockfile_release(path, -1); /* nothing */

        /* a directory that does not exist */
        snprintf(path, sizeof(path), "%s/missing/lwmid.sock.lock", dir);
        assert_int_equal(lockfile_acquire(path, &fd, NULL, &e), -ENOENT);
        assert_non_null(strstr(e.message, "cannot open lock file"));
        rmdir(dir);
}

static void test_log_levels(void **state) {
        (void)state;
        assert_int_equal(log_level_from_name("error"), LOG_LEVEL_ERROR);
        assert_int_equal(log_level_from_name("WARNING"), LOG_LEVEL_WARNING);
        assert_int_equal(log_level_from_name("Info"), LOG_LEVEL_INFO);
        assert_int_equal(log_level_from_name("debug"), LOG_LEVEL_DEBUG);
        assert_int_equal(log_level_from_name("notice"), -1);
        assert_int_equal(log_level_from_name(""), -1);
        assert_string_equal(log_level_name(LOG_LEVEL_WARNING), "warning");
        assert_string_equal(log_level_name((LogLevel)5), "unknown");

        LogLevel old = log_get_max_level();
        log_set_max_level(LOG_LEVEL_WARNING);
        assert_true(log_enabled(LOG_LEVEL_ERROR));
        assert_true(log_enabled(LOG_LEVEL_WARNING));
        assert_false(log_enabled(LOG_LEVEL_INFO));
        log_set_max_level(old);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_size),  cmocka_unit_test(test_parse_result_limits),
                cmocka_unit_test(test_load_string), cmocka_unit_test(test_command_line_wins),
                cmocka_unit_test(test_load_errors), cmocka_unit_test(test_load_file),
                cmocka_unit_test(test_defaults),    cmocka_unit_test(test_copy_and_resolve),
                cmocka_unit_test(test_lockfile),    cmocka_unit_test(test_log_levels),
                cmocka_unit_test(test_listen),      cmocka_unit_test(test_process_events),
                cmocka_unit_test(test_drop_privileges),
                cmocka_unit_test(test_load_file_untrusted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
