/* Unit tests for src/providers: the /proc parsers, and the Linux_Process and
 * Linux_OperatingSystem providers driven through their ops directly (no
 * engine), against the real /proc and against a fake /proc tree. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "mem.h"
#include "osrelease.h"
#include "process.h"
#include "procfs.h"
#include "props.h"
#include "providers.h"

/* The test's own argv, for comparing CommandLine. */
static int test_argc;
static char **test_argv;

/* ---- helpers ---------------------------------------------------------- */

/* The flattened class a provider serves (it returns one definition). */
static CimClass *provider_class(Provider *p) {
        CimClass **defs = NULL;
        size_t n = 0;
        Error err = { 0 };
        assert_int_equal(p->ops->get_classes(p, &defs, &n, &err), 0);
        assert_int_equal(n, 1);
        CimClass *cls = NULL;
        assert_int_equal(class_derive(defs[0], NULL, &cls, &err), 0);
        class_unref(defs[0]);
        mem_free(defs);
        return cls;
}

typedef struct EnumResult {
        Instance **items;
        size_t count;
        size_t entries_read;
        bool filtered;
} EnumResult;

static void enum_result_done(EnumResult *res) {
        for (size_t k = 0; k < res->count; k++)
                instance_unref(res->items[k]);
        free(res->items);
        *res = (EnumResult){ 0 };
}

static EnumResult enum_all(Provider *p, CimClass *cls, const WqlQuery *query, bool is_process) {
        EnumResult res = { 0 };
        ProviderCursor *c = NULL;
        Error err = { 0 };
        assert_int_equal(
                p->ops->enum_begin(p, "root/cimv2", cls, query, NULL, &c, &res.filtered, &err), 0);
        for (;;) {
                Instance *inst = NULL;
                int r = p->ops->enum_next(c, &inst, &err);
                assert_true(r == 0 || r == 1);
                if (r == 0)
                        break;
                res.items = realloc(res.items, (res.count + 1) * sizeof(Instance *));
                assert_non_null(res.items);
                res.items[res.count++] = inst;
        }
        if (is_process)
                res.entries_read = process_cursor_entries_read(c);
        p->ops->enum_end(c);
        return res;
}

static uint64_t get_u(const Instance *i, const char *name) {
        const Value *v = instance_get(i, name);
        assert_non_null(v);
        assert_false(v->is_null);
        return v->u;
}

static int64_t get_i(const Instance *i, const char *name) {
        const Value *v = instance_get(i, name);
        assert_non_null(v);
        assert_false(v->is_null);
        return v->i;
}

/* The string value, or NULL for a NULL property. */
static const char *get_s(const Instance *i, const char *name) {
        const Value *v = instance_get(i, name);
        assert_non_null(v);
        assert_int_equal(v->type, CIM_STRING);
        return v->is_null ? NULL : v->s;
}

static const CimDatetime *get_dt(const Instance *i, const char *name) {
        const Value *v = instance_get(i, name);
        assert_non_null(v);
        assert_int_equal(v->type, CIM_DATETIME);
        assert_false(v->is_null);
        return &v->dt;
}

static Instance *find_pid(const EnumResult *res, uint32_t pid) {
        Instance *found = NULL;
        for (size_t k = 0; k < res->count; k++)
                if (get_u(res->items[k], "ProcessId") == pid) {
                        assert_null(found); /* one instance per process */
                        found = res->items[k];
                }
        return found;
}

static int64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A WHERE tree `ProcessId = n`, built by hand (the provider only reads it). */
typedef struct PidQuery {
        char *parts[1];
        WqlExpr eq;
        WqlQuery query;
} PidQuery;

static void pid_query_init(PidQuery *q, int64_t pid) {
        *q = (PidQuery){ .parts = { (char *)"ProcessId" } };
        q->eq = (WqlExpr){
                .kind = WQL_EXPR_COMPARE,
                .compare = {
                        .op = WQL_OP_EQ,
                        .left = { .is_property = true, .prop = { .parts = q->parts, .n_parts = 1 } },
                        .right = { .is_property = false,
                                   .lit = { .kind = WQL_LIT_INTEGER, .i = pid } },
                },
        };
        q->query = (WqlQuery){
                .class_name = (char *)"Linux_Process",
                .select_all = true,
                .where = &q->eq,
        };
}

static int get_process(Provider *p, CimClass *cls, uint32_t pid, Instance **ret, Error *err) {
        ObjectPathKey key = { .name = (char *)"ProcessId", .value = value_uint(CIM_UINT32, pid) };
        ObjectPath path = { .class_name = (char *)"Linux_Process", .keys = &key, .n_keys = 1 };
        return p->ops->get_instance(p, "root/cimv2", cls, &path, NULL, ret, err);
}

/* ---- parsers ---------------------------------------------------------- */

static const char stat_line[] =
        "4242 (my prog) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 3 0 "
        "123456 10485760 512 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 2 0 0 0 0 0\n";

static void test_stat_parse(void **state) {
        (void)state;
        ProcStat st;
        assert_int_equal(procfs_stat_parse(stat_line, strlen(stat_line), &st), 0);
        assert_int_equal(st.pid, 4242);
        assert_int_equal(st.comm_len, 7);
        assert_memory_equal(st.comm, "my prog", 7);
        assert_int_equal(st.state, 'S');
        assert_int_equal(st.ppid, 1);
        assert_int_equal(st.session, 4242);
        assert_int_equal(st.flags, 4194560);
        assert_int_equal(st.utime, 250);
        assert_int_equal(st.stime, 130);
        assert_int_equal(st.priority, 20);
        assert_int_equal(st.num_threads, 3);
        assert_int_equal(st.starttime, 123456);
        assert_int_equal(st.vsize, 10485760);
        assert_int_equal(st.rss, 512);

        /* A command name with spaces and parentheses: up to the last ')'. */
        static const char tricky[] = "7 (a) b (c) R 2 7 7 0 -1 0 0 0 0 0 1 2 0 0 -51 0 1 0 9 0 0\n";
        assert_int_equal(procfs_stat_parse(tricky, strlen(tricky), &st), 0);
        assert_int_equal(st.comm_len, 7);
        assert_memory_equal(st.comm, "a) b (c", 7);
        assert_int_equal(st.state, 'R');
        assert_int_equal(st.ppid, 2);
        assert_int_equal(st.priority, -51);
        assert_int_equal(st.starttime, 9);

        /* Empty name, and ")" as the whole name. */
        static const char empty[] = "8 () S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0";
        assert_int_equal(procfs_stat_parse(empty, strlen(empty), &st), 0);
        assert_int_equal(st.comm_len, 0);
        static const char paren[] = "8 ()) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0";
        assert_int_equal(procfs_stat_parse(paren, strlen(paren), &st), 0);
        assert_int_equal(st.comm_len, 1);
        assert_memory_equal(st.comm, ")", 1);

        /* Text that is cut, malformed or out of range. */
        static const char *const bad[] = {
                "",
                "42",
                "42 (x",
                "x (y) S 1",
                "42 (x) S 1 2 3",                                        /* short */
                "42 (x)S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",   /* no space */
                "42 (x)  1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",   /* no state */
                "42 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 -1 0", /* vsize < 0 */
                "42 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 0 0 0 20 0 1 0 5 0 0", /* utime < 0 */
                "42 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0x", /* trailing */
                "42 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999 0 0",
                "4294967296 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0", /* pid */
                "42 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 --1",
        };
        for (size_t k = 0; k < ELEMENTSOF(bad); k++)
                assert_int_equal(procfs_stat_parse(bad[k], strlen(bad[k]), &st), -EBADMSG);

        /* Bytes beyond len are not looked at. */
        assert_int_equal(procfs_stat_parse(stat_line, 20, &st), -EBADMSG);
}

static void test_status_parse(void **state) {
        (void)state;
        static const char status[] = "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\n"
                                     "Tgid:\t1234\nNgid:\t0\nPid:\t1235\nPPid:\t1\n"
                                     "Uid:\t1000\t1001\t1002\t1003\nGid:\t100\t100\t100\t100\n";
        ProcStatus ps;
        assert_int_equal(procfs_status_parse(status, strlen(status), &ps), 0);
        assert_int_equal(ps.tgid, 1234);
        assert_int_equal(ps.uid_real, 1000);

        static const char *const bad[] = {
                "",
                "Tgid:\t1\n",                   /* no Uid */
                "Uid:\t1\t1\t1\t1\n",           /* no Tgid */
                "Tgid:\tx\nUid:\t0\n",          /* not a number */
                "Tgid:\t1\nUid:\t4294967296\n", /* too large */
                "Tgid: 99999999999999999999999\nUid:\t0\n",
        };
        for (size_t k = 0; k < ELEMENTSOF(bad); k++)
                assert_int_equal(procfs_status_parse(bad[k], strlen(bad[k]), &ps), -EBADMSG);
        /* A Name line cannot fake a Tgid: only line starts count. */
        static const char fake[] = "Name:\tx Tgid:\t5\nTgid:\t6\nUid:\t7\n";
        assert_int_equal(procfs_status_parse(fake, strlen(fake), &ps), 0);
        assert_int_equal(ps.tgid, 6);
}

static void test_cgroup_meminfo_loadavg_uptime(void **state) {
        (void)state;
        const char *path;
        size_t len;
        static const char v1v2[] = "12:cpu,cpuacct:/a\n1:name=systemd:/b\n0::/user.slice/x.scope\n";
        assert_int_equal(procfs_cgroup_unified(v1v2, strlen(v1v2), &path, &len), 0);
        assert_int_equal(len, strlen("/user.slice/x.scope"));
        assert_memory_equal(path, "/user.slice/x.scope", len);
        static const char v2[] = "0::/";
        assert_int_equal(procfs_cgroup_unified(v2, strlen(v2), &path, &len), 0);
        assert_int_equal(len, 1);
        static const char v1[] = "3:memory:/x\n10::/not-zero\n";
        assert_int_equal(procfs_cgroup_unified(v1, strlen(v1), &path, &len), -ENOENT);
        assert_int_equal(procfs_cgroup_unified("", 0, &path, &len), -ENOENT);

        ProcMeminfo mi;
        static const char meminfo[] = "MemTotal:       16318712 kB\nMemFree:         1000 kB\n"
                                      "MemAvailable:    8000000 kB\nBuffers: 5 kB\n";
        assert_int_equal(procfs_meminfo_parse(meminfo, strlen(meminfo), &mi), 0);
        assert_int_equal(mi.total_kib, 16318712);
        assert_int_equal(mi.available_kib, 8000000);
        static const char old[] = "MemTotal: 100 kB\nMemFree: 40 kB\n";
        assert_int_equal(procfs_meminfo_parse(old, strlen(old), &mi), 0);
        assert_int_equal(mi.available_kib, 40);
        static const char no_total[] = "MemFree: 40 kB\n";
        assert_int_equal(procfs_meminfo_parse(no_total, strlen(no_total), &mi), -EBADMSG);
        assert_int_equal(procfs_meminfo_parse("", 0, &mi), -EBADMSG);

        double load[3];
        static const char loadavg[] = "0.52 1.05 12.00 2/1234 5678\n";
        assert_int_equal(procfs_loadavg_parse(loadavg, strlen(loadavg), load), 0);
        assert_true(load[0] > 0.519 && load[0] < 0.521);
        assert_true(load[1] > 1.049 && load[1] < 1.051);
        assert_true(load[2] > 11.99 && load[2] < 12.01);
        static const char *const bad_load[] = { "", "0.5 0.5", "a b c", "0.5 0.5 0.5x", "1. 2 3" };
        for (size_t k = 0; k < ELEMENTSOF(bad_load); k++)
                assert_int_equal(procfs_loadavg_parse(bad_load[k], strlen(bad_load[k]), load),
                                 -EBADMSG);

        uint64_t up;
        assert_int_equal(procfs_uptime_parse("12345.67 999.00\n", 16, &up), 0);
        assert_int_equal(up, 12345);
        assert_int_equal(procfs_uptime_parse("x", 1, &up), -EBADMSG);
        assert_int_equal(procfs_uptime_parse("12a", 3, &up), -EBADMSG);
}

static void test_pid_from_name(void **state) {
        (void)state;
        uint32_t pid;
        assert_true(procfs_pid_from_name("1", &pid));
        assert_int_equal(pid, 1);
        assert_true(procfs_pid_from_name("4294967295", &pid));
        assert_int_equal(pid, UINT32_MAX);
        assert_false(procfs_pid_from_name("4294967296", &pid));
        assert_false(procfs_pid_from_name("0", &pid));
        assert_false(procfs_pid_from_name("012", &pid));
        assert_false(procfs_pid_from_name("self", &pid));
        assert_false(procfs_pid_from_name("12a", &pid));
        assert_false(procfs_pid_from_name("", &pid));
}

static void test_osrelease(void **state) {
        (void)state;
        static const char text[] = "NAME=\"Debian GNU/Linux\"\n"
                                   "# PRETTY_NAME=commented\n"
                                   "ID=debian\n"
                                   "PRETTY_NAME=\"Debian \\\"12\\\" \\\\ \\$x \\n (bookworm)\"\n"
                                   "SINGLE='it''s'\n"
                                   "BARE=a\\ b c\n"
                                   "EMPTY=\n"
                                   "TWICE=1\nTWICE=2";
        char *v = NULL;
        assert_int_equal(osrelease_get(text, strlen(text), "PRETTY_NAME", &v), 0);
        assert_string_equal(v, "Debian \"12\" \\ $x \\n (bookworm)");
        mem_free(v);
        assert_int_equal(osrelease_get(text, strlen(text), "ID", &v), 0);
        assert_string_equal(v, "debian");
        mem_free(v);
        assert_int_equal(osrelease_get(text, strlen(text), "SINGLE", &v), 0);
        assert_string_equal(v, "its");
        mem_free(v);
        assert_int_equal(osrelease_get(text, strlen(text), "BARE", &v), 0);
        assert_string_equal(v, "a b");
        mem_free(v);
        assert_int_equal(osrelease_get(text, strlen(text), "EMPTY", &v), 0);
        assert_string_equal(v, "");
        mem_free(v);
        assert_int_equal(osrelease_get(text, strlen(text), "TWICE", &v), 0);
        assert_string_equal(v, "2");
        mem_free(v);
        assert_int_equal(osrelease_get(text, strlen(text), "NAM", &v), -ENOENT);
        assert_int_equal(osrelease_get(text, strlen(text), "VERSION", &v), -ENOENT);
        assert_int_equal(osrelease_get("", 0, "X", &v), -ENOENT);

        static const char open_dq[] = "X=\"abc\n";
        assert_int_equal(osrelease_get(open_dq, strlen(open_dq), "X", &v), -EBADMSG);
        static const char open_sq[] = "X='abc";
        assert_int_equal(osrelease_get(open_sq, strlen(open_sq), "X", &v), -EBADMSG);

        mem_fail_at(1);
        assert_int_equal(osrelease_get(text, strlen(text), "ID", &v), -ENOMEM);
        mem_fail_at(0);
}

static void test_utf8_dup(void **state) {
        (void)state;
        _cleanup_free_ char *ascii = props_utf8_dup("abc", 3);
        assert_string_equal(ascii, "abc");
        _cleanup_free_ char *valid = props_utf8_dup("\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80", 9);
        assert_string_equal(valid, "\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80");
        /* Invalid byte, overlong, surrogate, above U+10FFFF, cut sequence, NUL. */
        static const char bad[] = "a\xff"
                                  "b\xc0\xaf"
                                  "c\xed\xa0\x80"
                                  "d\xf4\x90\x80\x80"
                                  "e\x00"
                                  "f\xe2\x82";
        _cleanup_free_ char *fixed = props_utf8_dup(bad, sizeof(bad) - 1);
        assert_string_equal(fixed, "a\xef\xbf\xbd"
                                   "b\xef\xbf\xbd\xef\xbf\xbd"
                                   "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                   "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                   "e\xef\xbf\xbd"
                                   "f\xef\xbf\xbd\xef\xbf\xbd");
        _cleanup_free_ char *empty = props_utf8_dup("", 0);
        assert_string_equal(empty, "");
        mem_fail_at(1);
        assert_null(props_utf8_dup("abc", 3));
        mem_fail_at(0);
}

/* ---- a fake /proc tree ----------------------------------------------- */

static void write_file(int dirfd, const char *name, const void *data, size_t len) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
}

static void write_text(int dirfd, const char *name, const char *text) {
        write_file(dirfd, name, text, strlen(text));
}

static void remove_tree(const char *path) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
        assert_int_equal(system(cmd), 0);
}

static void test_read_bounds(void **state) {
        (void)state;
        char dir[] = "/tmp/lwmi-test-providers-XXXXXX";
        assert_non_null(mkdtemp(dir));
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);

        char big[5000];
        for (size_t k = 0; k < sizeof(big); k++)
                big[k] = (char)('a' + k % 26);
        write_file(dfd, "big", big, sizeof(big));

        char *text = NULL;
        size_t len = 0;
        bool truncated = true;
        assert_int_equal(procfs_read_at(dfd, "big", 10, &text, &len, &truncated), 0);
        assert_int_equal(len, 10);
        assert_true(truncated);
        assert_string_equal(text, "abcdefghij");
        mem_free(text);
        assert_int_equal(procfs_read_at(dfd, "big", sizeof(big), &text, &len, &truncated), 0);
        assert_int_equal(len, sizeof(big));
        assert_false(truncated);
        assert_memory_equal(text, big, sizeof(big));
        mem_free(text);
        assert_int_equal(procfs_read_at(dfd, "big", 1 << 20, &text, &len, &truncated), 0);
        assert_int_equal(len, sizeof(big));
        assert_false(truncated);
        mem_free(text);

        /* Growing the buffer past its first size can fail too. */
        mem_fail_at(2);
        assert_int_equal(procfs_read_at(dfd, "big", 1 << 20, &text, &len, NULL), -ENOMEM);
        mem_fail_at(1);
        assert_int_equal(procfs_read_at(dfd, "big", 1 << 20, &text, &len, NULL), -ENOMEM);
        mem_fail_at(0);

        char small[8];
        assert_int_equal(procfs_read_small_at(dfd, "big", small, sizeof(small), &len), 0);
        assert_int_equal(len, 7);
        assert_string_equal(small, "abcdefg");

        /* No symlink is followed, and missing files say so. */
        assert_int_equal(symlinkat("big", dfd, "link"), 0);
        assert_int_equal(procfs_read_at(dfd, "link", 100, &text, &len, NULL), -ELOOP);
        assert_int_equal(procfs_read_small_at(dfd, "link", small, sizeof(small), &len), -ELOOP);
        assert_int_equal(procfs_read_at(dfd, "none", 100, &text, &len, NULL), -ENOENT);
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/link", dir);
        assert_int_equal(procfs_read_path(path, 100, &text, &len, NULL), 0); /* this one follows */
        assert_int_equal(len, 100);
        mem_free(text);

        /* btime after lines longer than the scan buffer, and without one. */
        char stat[20000];
        size_t n = 0;
        n += (size_t)snprintf(stat + n, sizeof(stat) - n, "cpu  1 2 3\nintr");
        while (n < 12000)
                n += (size_t)snprintf(stat + n, sizeof(stat) - n, " 12345");
        n += (size_t)snprintf(stat + n, sizeof(stat) - n, "\nctxt 5\n btime 6\nbtime 1700000000");
        write_file(dfd, "stat", stat, n);
        int64_t btime;
        assert_int_equal(procfs_boot_time(dfd, &btime), 0);
        assert_int_equal(btime, 1700000000);
        write_text(dfd, "stat", "cpu 1\nbtimex 5\n btime 6\n");
        assert_int_equal(procfs_boot_time(dfd, &btime), -EBADMSG);
        write_text(dfd, "stat", "cpu 1\nbtime 42");
        assert_int_equal(procfs_boot_time(dfd, &btime), 0);
        assert_int_equal(btime, 42);

        close(dfd);
        remove_tree(dir);
}

/* Build a process directory in a fake /proc. */
static void fake_process(int root_fd, const char *pid, const char *stat, const char *status,
                         const void *cmdline, size_t cmdline_len, const char *cgroup) {
        assert_int_equal(mkdirat(root_fd, pid, 0755), 0);
        int fd = openat(root_fd, pid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        if (stat)
                write_text(fd, "stat", stat);
        if (status)
                write_text(fd, "status", status);
        if (cmdline)
                write_file(fd, "cmdline", cmdline, cmdline_len);
        if (cgroup)
                write_text(fd, "cgroup", cgroup);
        close(fd);
}

static void test_process_fake_proc(void **state) {
        (void)state;
        char root[] = "/tmp/lwmi-test-proc-XXXXXX";
        assert_non_null(mkdtemp(root));
        int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(rfd >= 0);
        write_text(rfd, "stat", "cpu 1 2 3\nbtime 1700000000\n");

        long hz = sysconf(_SC_CLK_TCK);
        long page = sysconf(_SC_PAGESIZE);
        char stat[512];
        /* utime 3 s, stime 1.5 s, started 10 s after boot, 100 pages. */
        snprintf(stat, sizeof(stat),
                 "100 (na\xffme) Z 7 100 55 0 -1 0 0 0 0 0 %ld %ld 0 0 -2 0 2 0 %ld 8192 100 0 0\n",
                 3 * hz, 3 * hz / 2, 10 * hz);
        static const char cmdline[] = "prog\0-x\0a b\0\xc3\0\0";
        fake_process(rfd, "100", stat, "Name:\tx\nTgid:\t100\nUid:\t4294967\t0\t0\t0\n", cmdline,
                     sizeof(cmdline) - 1, "1:name=systemd:/v1\n0::/fake.slice\n");
        int pfd = openat(rfd, "100", O_RDONLY | O_DIRECTORY);
        assert_int_equal(symlinkat("/usr/bin/fake prog", pfd, "exe"), 0);
        close(pfd);

        /* Skipped in a scan: bad stat, a thread, a file, no status, a
         * directory for another pid, a symlink. */
        fake_process(rfd, "101", "101 (x) S garbage\n", "Tgid:\t101\nUid:\t0\n", NULL, 0, NULL);
        fake_process(rfd, "102", "102 (t) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n",
                     "Tgid:\t100\nUid:\t0\n", NULL, 0, NULL);
        write_text(rfd, "103", "not a directory");
        fake_process(rfd, "104", "104 (s) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n", NULL,
                     NULL, 0, NULL);
        fake_process(rfd, "105", "999 (s) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n",
                     "Tgid:\t105\nUid:\t0\n", NULL, 0, NULL);
        assert_int_equal(symlinkat("100", rfd, "106"), 0);
        assert_int_equal(symlinkat("100", rfd, "self"), 0);
        assert_int_equal(mkdirat(rfd, "0100", 0755), 0);

        /* A kernel thread (PF_KTHREAD): no command line even when the file has one. */
        char kstat[256];
        snprintf(kstat, sizeof(kstat),
                 "107 (kworker/0:1) I 2 0 0 0 -1 %u 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n",
                 PROCFS_PF_KTHREAD);
        fake_process(rfd, "107", kstat, "Tgid:\t107\nUid:\t0\n", "x", 1, NULL);

        /* A command line beyond the bound is cut at PROCFS_CMDLINE_MAX. */
        size_t huge_len = PROCFS_CMDLINE_MAX * 3;
        char *huge = malloc(huge_len);
        assert_non_null(huge);
        memset(huge, 'y', huge_len);
        huge[huge_len - 1] = '\0';
        fake_process(rfd, "108", "108 (h) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n",
                     "Tgid:\t108\nUid:\t0\n", huge, huge_len, NULL);
        free(huge);

        Provider *p = NULL;
        assert_int_equal(process_provider_new_at(root, &p), 0);
        CimClass *cls = provider_class(p);

        EnumResult res = enum_all(p, cls, NULL, true);
        assert_true(res.filtered);
        assert_int_equal(res.count, 3);
        assert_true(res.entries_read >= 13);
        Instance *i = find_pid(&res, 100);
        assert_non_null(i);
        assert_string_equal(get_s(i, "Name"), "na\xef\xbf\xbdme");
        assert_string_equal(get_s(i, "CommandLine"), "prog -x a b \xef\xbf\xbd");
        assert_string_equal(get_s(i, "ExecutablePath"), "/usr/bin/fake prog");
        assert_string_equal(get_s(i, "State"), "Zombie");
        assert_string_equal(get_s(i, "Cgroup"), "/fake.slice");
        assert_int_equal(get_u(i, "ParentProcessId"), 7);
        assert_int_equal(get_u(i, "SessionId"), 55);
        assert_int_equal(get_u(i, "UserId"), 4294967);
        assert_int_equal(get_u(i, "ThreadCount"), 2);
        assert_int_equal(get_i(i, "Priority"), -2);
        assert_int_equal(get_u(i, "VirtualSize"), 8192);
        assert_int_equal(get_u(i, "WorkingSetSize"), 100 * (uint64_t)page);
        assert_int_equal(get_u(i, "UserModeTime"), 30000000);
        assert_int_equal(get_u(i, "KernelModeTime"), 15000000);
        const CimDatetime *created = get_dt(i, "CreationDate");
        assert_false(created->is_interval);
        assert_int_equal(created->usec, (1700000000LL + 10) * 1000000);
        assert_int_equal(created->utc_offset_min, props_utc_offset_min(1700000010));

        Instance *k = find_pid(&res, 107);
        assert_non_null(k);
        assert_null(get_s(k, "CommandLine"));
        assert_null(get_s(k, "ExecutablePath"));
        assert_null(get_s(k, "Cgroup"));
        assert_string_equal(get_s(k, "Name"), "kworker/0:1");
        assert_string_equal(get_s(k, "State"), "Idle");

        Instance *h = find_pid(&res, 108);
        assert_non_null(h);
        assert_int_equal(strlen(get_s(h, "CommandLine")), PROCFS_CMDLINE_MAX);
        enum_result_done(&res);

        /* get_instance tells the cases apart. */
        Instance *got = NULL;
        Error err = { 0 };
        assert_int_equal(get_process(p, cls, 100, &got, &err), 0);
        assert_int_equal(get_u(got, "ProcessId"), 100);
        instance_unref(got);
        got = NULL;
        assert_int_equal(get_process(p, cls, 101, &got, &err), WBEM_E_PROVIDER_FAILURE);
        assert_non_null(strstr(err.message, "/proc/101"));
        assert_int_equal(get_process(p, cls, 102, &got, &err), WBEM_E_NOT_FOUND);
        assert_int_equal(get_process(p, cls, 103, &got, &err), WBEM_E_NOT_FOUND);
        assert_int_equal(get_process(p, cls, 104, &got, &err), WBEM_E_NOT_FOUND);
        assert_int_equal(get_process(p, cls, 105, &got, &err), WBEM_E_PROVIDER_FAILURE);
        assert_int_equal(get_process(p, cls, 106, &got, &err), WBEM_E_NOT_FOUND);
        assert_int_equal(get_process(p, cls, 109, &got, &err), WBEM_E_NOT_FOUND);
        assert_null(got);

        /* Without a boot time, CreationDate is NULL and the rest is there. */
        write_text(rfd, "stat", "cpu 1\n");
        assert_int_equal(get_process(p, cls, 100, &got, &err), 0);
        assert_true(instance_get(got, "CreationDate")->is_null);
        assert_int_equal(get_u(got, "ParentProcessId"), 7);
        instance_unref(got);

        /* A look at a process's stat alone (the fork grace's): state and
         * flags; what cannot be read or parsed says so. */
        ProcessReader *reader = NULL;
        assert_int_equal(process_reader_new(p->userdata, &reader, &err), 0);
        ProcessPeek peek = { 0 };
        assert_int_equal(process_reader_peek(reader, 100, &peek), 0);
        assert_int_equal(peek.state, 'Z');
        assert_int_equal(peek.flags, 0);
        assert_int_equal(process_reader_peek(reader, 107, &peek), 0);
        assert_int_equal(peek.state, 'I');
        assert_int_equal(peek.flags, PROCFS_PF_KTHREAD);
        assert_int_equal(process_reader_peek(reader, 108, &peek), 0);
        assert_int_equal(peek.state, 'R');
        assert_int_equal(process_reader_peek(reader, 101, &peek), -EBADMSG); /* garbage */
        assert_int_equal(process_reader_peek(reader, 105, &peek), -EBADMSG); /* another pid */
        assert_int_equal(process_reader_peek(reader, 103, &peek), -ENOTDIR);
        assert_int_equal(process_reader_peek(reader, 109, &peek), -ENOENT);
        assert_true(process_error_is_absent(-EBADMSG) && process_error_is_absent(-ENOTDIR) &&
                    process_error_is_absent(-ENOENT));
        assert_int_equal(peek.state, 'R'); /* untouched on failure */
        process_reader_free(reader);

        class_unref(cls);
        p->ops->free(p);
        close(rfd);
        remove_tree(root);

        /* A root that does not exist. */
        assert_int_equal(process_provider_new_at("/nonexistent-lwmi-proc", &p), 0);
        cls = provider_class(p);
        ProviderCursor *c = NULL;
        bool filtered;
        assert_int_equal(p->ops->enum_begin(p, "root/cimv2", cls, NULL, NULL, &c, &filtered, &err),
                         WBEM_E_PROVIDER_FAILURE);
        assert_non_null(strstr(err.message, "/nonexistent-lwmi-proc"));
        assert_int_equal(get_process(p, cls, 1, &got, &err), WBEM_E_PROVIDER_FAILURE);
        class_unref(cls);
        p->ops->free(p);
}

/* ---- Linux_Process on the real /proc ---------------------------------- */

static Provider *process_provider(CimClass **ret_cls) {
        Provider *p = NULL;
        assert_int_equal(process_provider_new(&p), 0);
        assert_string_equal(p->ns, "root/cimv2");
        *ret_cls = provider_class(p);
        return p;
}

static void test_process_class(void **state) {
        (void)state;
        CimClass *cls;
        Provider *p = process_provider(&cls);
        assert_string_equal(cls->name, "Linux_Process");
        assert_null(cls->superclass);
        assert_false(cls->is_singleton);
        assert_int_equal(cls->n_props, 18);
        assert_int_equal(cls->props[class_find_property(cls, "ExitCode")].type, CIM_UINT32);
        assert_int_equal(cls->n_keys, 1);
        long k = class_find_property(cls, "processid");
        assert_true(k >= 0);
        assert_true(cls->props[k].is_key);
        assert_int_equal(cls->props[k].type, CIM_UINT32);
        assert_int_equal(cls->props[class_find_property(cls, "CreationDate")].type, CIM_DATETIME);
        assert_int_equal(cls->props[class_find_property(cls, "Priority")].type, CIM_SINT32);
        assert_int_equal(cls->props[class_find_property(cls, "WorkingSetSize")].type, CIM_UINT64);

        /* A class it does not serve. */
        CimClass *other = NULL;
        Error err = { 0 };
        assert_int_equal(class_new("Other", NULL, &other, &err), 0);
        ProviderCursor *c = NULL;
        bool filtered;
        assert_int_equal(
                p->ops->enum_begin(p, "root/cimv2", other, NULL, NULL, &c, &filtered, &err),
                WBEM_E_INVALID_CLASS);
        Instance *got = NULL;
        assert_int_equal(get_process(p, other, 1, &got, &err), WBEM_E_INVALID_CLASS);
        class_unref(other);

        /* Paths that do not name a ProcessId. */
        ObjectPathKey key = { .name = (char *)"Handle", .value = value_uint(CIM_UINT32, 1) };
        ObjectPath path = { .class_name = (char *)"Linux_Process", .keys = &key, .n_keys = 1 };
        assert_int_equal(p->ops->get_instance(p, "root/cimv2", cls, &path, NULL, &got, &err),
                         WBEM_E_INVALID_OBJECT_PATH);
        path.n_keys = 0;
        assert_int_equal(p->ops->get_instance(p, "root/cimv2", cls, &path, NULL, &got, &err),
                         WBEM_E_INVALID_OBJECT_PATH);
        key = (ObjectPathKey){ .name = NULL, .value = value_bool(true) };
        path.n_keys = 1;
        assert_int_equal(p->ops->get_instance(p, "root/cimv2", cls, &path, NULL, &got, &err),
                         WBEM_E_INVALID_OBJECT_PATH);
        /* The unnamed form, and a signed key, work; a negative one is absent. */
        key = (ObjectPathKey){ .name = NULL, .value = value_sint(CIM_SINT64, getpid()) };
        assert_int_equal(p->ops->get_instance(p, "root/cimv2", cls, &path, NULL, &got, &err), 0);
        assert_int_equal(get_u(got, "ProcessId"), (uint64_t)getpid());
        instance_unref(got);
        got = NULL;
        key.value = value_sint(CIM_SINT64, -5);
        assert_int_equal(p->ops->get_instance(p, "root/cimv2", cls, &path, NULL, &got, &err),
                         WBEM_E_NOT_FOUND);
        assert_null(got);

        class_unref(cls);
        p->ops->free(p);
}

static char *read_self(const char *name, size_t *ret_len) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/%s", name);
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        char *buf = calloc(1, 65536);
        assert_non_null(buf);
        size_t n = fread(buf, 1, 65535, f);
        fclose(f);
        *ret_len = n;
        return buf;
}

/* Check an instance of the test's own process against what we know. */
static void check_self(const Instance *i) {
        assert_int_equal(get_u(i, "ProcessId"), (uint64_t)getpid());
        assert_int_equal(get_u(i, "ParentProcessId"), (uint64_t)getppid());
        assert_int_equal(get_u(i, "UserId"), (uint64_t)getuid());

        size_t len;
        char *comm = read_self("comm", &len);
        if (len > 0 && comm[len - 1] == '\n')
                comm[len - 1] = '\0';
        assert_string_equal(get_s(i, "Name"), comm);
        free(comm);

        /* CommandLine is argv joined by spaces. */
        char joined[65536] = "";
        for (int k = 0; k < test_argc; k++) {
                if (k > 0)
                        strcat(joined, " ");
                strcat(joined, test_argv[k]);
        }
        assert_string_equal(get_s(i, "CommandLine"), joined);

        char exe[PATH_MAX + 1];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        assert_true(n > 0);
        exe[n] = '\0';
        assert_string_equal(get_s(i, "ExecutablePath"), exe);

        struct passwd *pw = getpwuid(getuid());
        if (pw)
                assert_string_equal(get_s(i, "UserName"), pw->pw_name);
        else
                assert_null(get_s(i, "UserName"));

        assert_string_equal(get_s(i, "State"), "Running");
        assert_true(get_u(i, "ThreadCount") >= 1);
        assert_true(get_u(i, "WorkingSetSize") > 0);
        assert_true(get_u(i, "VirtualSize") >= get_u(i, "WorkingSetSize"));
        assert_int_equal(get_u(i, "SessionId"), (uint64_t)getsid(0));
        (void)get_u(i, "UserModeTime");
        (void)get_u(i, "KernelModeTime");
        (void)get_i(i, "Priority");

        const CimDatetime *created = get_dt(i, "CreationDate");
        assert_true(created->usec <= now_usec());
        assert_true(created->usec > now_usec() - 3600LL * 1000000);

        char *cgroup = read_self("cgroup", &len);
        const char *path;
        size_t path_len;
        if (procfs_cgroup_unified(cgroup, len, &path, &path_len) == 0) {
                assert_int_equal(strlen(get_s(i, "Cgroup")), path_len);
                assert_memory_equal(get_s(i, "Cgroup"), path, path_len);
        } else
                assert_null(get_s(i, "Cgroup"));
        free(cgroup);

        assert_string_equal(i->ns, "root/cimv2");
}

static void test_process_enum_self(void **state) {
        (void)state;
        CimClass *cls;
        Provider *p = process_provider(&cls);
        EnumResult res = enum_all(p, cls, NULL, true);
        assert_true(res.filtered);
        assert_true(res.count > 1);
        assert_true(res.entries_read >= res.count);
        Instance *self = find_pid(&res, (uint32_t)getpid());
        assert_non_null(self);
        check_self(self);
        /* pid 1 is always there, and every pid once. */
        assert_non_null(find_pid(&res, 1));
        for (size_t k = 0; k < res.count; k++)
                (void)find_pid(&res, (uint32_t)get_u(res.items[k], "ProcessId"));
        enum_result_done(&res);

        Instance *got = NULL;
        Error err = { 0 };
        assert_int_equal(get_process(p, cls, (uint32_t)getpid(), &got, &err), 0);
        check_self(got);
        instance_unref(got);

        class_unref(cls);
        p->ops->free(p);
}

/* A child that has said it is ready may not have blocked yet. */
static bool is_running_or_sleeping(const char *state) {
        return strcmp(state, "Running") == 0 || strcmp(state, "Sleeping") == 0;
}

/* Fork a child that waits until its pipe closes; returns its pid. */
static pid_t spawn_waiting_child(const char *name, int *ret_release_fd) {
        int ready[2], release[2];
        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        assert_int_equal(pipe2(release, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(ready[0]);
                close(release[1]);
                if (name)
                        prctl(PR_SET_NAME, name, 0, 0, 0);
                char c = 'r';
                if (write(ready[1], &c, 1) != 1)
                        _exit(1);
                while (read(release[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        close(ready[1]);
        close(release[0]);
        char c;
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        *ret_release_fd = release[1];
        return pid;
}

static void reap_child(pid_t pid, int release_fd) {
        close(release_fd);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_process_child_comes_and_goes(void **state) {
        (void)state;
        CimClass *cls;
        Provider *p = process_provider(&cls);
        int release;
        pid_t child = spawn_waiting_child(NULL, &release);

        EnumResult res = enum_all(p, cls, NULL, true);
        Instance *i = find_pid(&res, (uint32_t)child);
        assert_non_null(i);
        assert_int_equal(get_u(i, "ParentProcessId"), (uint64_t)getpid());
        assert_true(is_running_or_sleeping(get_s(i, "State")));
        enum_result_done(&res);

        reap_child(child, release);
        res = enum_all(p, cls, NULL, true);
        assert_null(find_pid(&res, (uint32_t)child));
        assert_non_null(find_pid(&res, (uint32_t)getpid()));
        enum_result_done(&res);

        Instance *got = NULL;
        Error err = { 0 };
        assert_int_equal(get_process(p, cls, (uint32_t)child, &got, &err), WBEM_E_NOT_FOUND);
        assert_null(got);

        class_unref(cls);
        p->ops->free(p);
}

static void test_process_comm_with_parens(void **state) {
        (void)state;
        CimClass *cls;
        Provider *p = process_provider(&cls);
        int release;
        pid_t child = spawn_waiting_child("a) b (c", &release);

        Instance *got = NULL;
        Error err = { 0 };
        assert_int_equal(get_process(p, cls, (uint32_t)child, &got, &err), 0);
        assert_string_equal(get_s(got, "Name"), "a) b (c");
        /* The fields after the name are read from the right place. */
        assert_int_equal(get_u(got, "ParentProcessId"), (uint64_t)getpid());
        assert_true(is_running_or_sleeping(get_s(got, "State")));
        assert_int_equal(get_u(got, "UserId"), (uint64_t)getuid());
        instance_unref(got);

        EnumResult res = enum_all(p, cls, NULL, true);
        Instance *i = find_pid(&res, (uint32_t)child);
        assert_non_null(i);
        assert_string_equal(get_s(i, "Name"), "a) b (c");
        enum_result_done(&res);

        reap_child(child, release);
        class_unref(cls);
        p->ops->free(p);
}

static void *thread_wait(void *arg) {
        int fd = *(int *)arg;
        char c;
        while (read(fd, &c, 1) < 0 && errno == EINTR)
                ;
        return NULL;
}

static void test_process_pid_hint(void **state) {
        (void)state;
        CimClass *cls;
        Provider *p = process_provider(&cls);
        PidQuery q;

        /* WHERE ProcessId = <own pid>: one instance, no scan, fully filtered. */
        pid_query_init(&q, getpid());
        EnumResult res = enum_all(p, cls, &q.query, true);
        assert_int_equal(res.count, 1);
        assert_int_equal(res.entries_read, 0);
        assert_true(res.filtered);
        check_self(res.items[0]);
        enum_result_done(&res);

        /* No such process, and values that can be no pid: nothing, no scan. */
        static const int64_t absent[] = { 0x7ffffff0, 0, -1, (int64_t)UINT32_MAX + 1 };
        for (size_t k = 0; k < ELEMENTSOF(absent); k++) {
                pid_query_init(&q, absent[k]);
                res = enum_all(p, cls, &q.query, true);
                assert_int_equal(res.count, 0);
                assert_int_equal(res.entries_read, 0);
                enum_result_done(&res);
        }
        pid_query_init(&q, 0);
        q.eq.compare.right.lit = (WqlLiteral){ .kind = WQL_LIT_UNSIGNED, .u = UINT64_MAX };
        res = enum_all(p, cls, &q.query, true);
        assert_int_equal(res.count, 0);
        assert_int_equal(res.entries_read, 0);
        enum_result_done(&res);

        /* As a conjunct of a longer AND (either side): still one entry, and
         * the engine applies the rest. */
        pid_query_init(&q, getpid());
        char *name_parts[] = { (char *)"Name" };
        WqlExpr other = {
                .kind = WQL_EXPR_IS_NULL,
                .is_null = { .prop = { .parts = name_parts, .n_parts = 1 }, .negated = true },
        };
        WqlExpr and_inner = { .kind = WQL_EXPR_AND, .binary = { .left = &other, .right = &q.eq } };
        WqlExpr and_outer = { .kind = WQL_EXPR_AND,
                              .binary = { .left = &and_inner, .right = &other } };
        q.query.where = &and_outer;
        res = enum_all(p, cls, &q.query, true);
        assert_int_equal(res.count, 1);
        assert_int_equal(res.entries_read, 0);
        assert_false(res.filtered);
        enum_result_done(&res);

        /* Under OR or NOT, or with another operator or literal type, it
         * is no hint: a scan, filtered by the engine. */
        WqlExpr or_expr = { .kind = WQL_EXPR_OR, .binary = { .left = &q.eq, .right = &other } };
        WqlExpr not_expr = { .kind = WQL_EXPR_NOT, .operand = &q.eq };
        WqlExpr *scans[] = { &or_expr, &not_expr };
        for (size_t k = 0; k < ELEMENTSOF(scans); k++) {
                q.query.where = scans[k];
                res = enum_all(p, cls, &q.query, true);
                assert_true(res.count > 1);
                assert_true(res.entries_read > 0);
                assert_false(res.filtered);
                enum_result_done(&res);
        }
        pid_query_init(&q, getpid());
        q.eq.compare.op = WQL_OP_GE;
        res = enum_all(p, cls, &q.query, true);
        assert_true(res.entries_read > 0);
        assert_false(res.filtered);
        enum_result_done(&res);
        pid_query_init(&q, getpid());
        q.eq.compare.right.lit = (WqlLiteral){ .kind = WQL_LIT_STRING, .s = (char *)"1" };
        res = enum_all(p, cls, &q.query, true);
        assert_true(res.entries_read > 0);
        enum_result_done(&res);
        pid_query_init(&q, getpid());
        q.parts[0] = (char *)"ParentProcessId";
        res = enum_all(p, cls, &q.query, true);
        assert_true(res.entries_read > 0);
        enum_result_done(&res);

        /* A thread's id opens /proc/TID, but it is not a process. */
        pthread_t t;
        int release[2];
        assert_int_equal(pipe2(release, O_CLOEXEC), 0);
        assert_int_equal(pthread_create(&t, NULL, thread_wait, &release[0]), 0);
        /* Find the thread's id in our task directory. */
        char task_path[64];
        snprintf(task_path, sizeof(task_path), "/proc/%d/task", getpid());
        DIR *tasks = opendir(task_path);
        assert_non_null(tasks);
        pid_t live_tid = 0;
        struct dirent *de;
        while ((de = readdir(tasks)))
                if (atoi(de->d_name) > 0 && atoi(de->d_name) != getpid())
                        live_tid = atoi(de->d_name);
        closedir(tasks);
        assert_true(live_tid > 0);
        pid_query_init(&q, live_tid);
        res = enum_all(p, cls, &q.query, true);
        assert_int_equal(res.count, 0);
        enum_result_done(&res);
        Instance *got = NULL;
        Error err = { 0 };
        assert_int_equal(get_process(p, cls, (uint32_t)live_tid, &got, &err), WBEM_E_NOT_FOUND);
        /* Our own process sees its threads in ThreadCount. */
        assert_int_equal(get_process(p, cls, (uint32_t)getpid(), &got, &err), 0);
        assert_true(get_u(got, "ThreadCount") >= 2);
        instance_unref(got);
        close(release[1]);
        assert_int_equal(pthread_join(t, NULL), 0);
        close(release[0]);

        class_unref(cls);
        p->ops->free(p);
}

/* The hint on queries as the WQL parser builds them. */
static void test_process_pid_hint_parsed(void **state) {
        (void)state;
        CimClass *cls;
        Provider *p = process_provider(&cls);
        static const struct {
                const char *where;
                bool single; /* no scan */
                bool filtered;
        } cases[] = {
                { "ProcessId = PID", true, true },
                { "PID = processid", true, true }, /* literal first: swapped by the parser */
                { "Name <> 'x' AND ProcessId = PID", true, false },
                { "(ProcessId = PID AND Name IS NOT NULL) AND ThreadCount > 0", true, false },
                { "ProcessId = PID OR Name = 'x'", false, false },
                { "NOT ProcessId <> PID", false, false },
                { "ProcessId >= PID", false, false },
        };
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                /* "PID" in the condition stands for our pid. */
                const char *at = strstr(cases[k].where, "PID");
                assert_non_null(at);
                char text[512];
                snprintf(text, sizeof(text), "SELECT * FROM Linux_Process WHERE %.*s%d%s",
                         (int)(at - cases[k].where), cases[k].where, getpid(), at + 3);
                WqlQuery *q = NULL;
                Error err = { 0 };
                assert_int_equal(wql_parse(text, strlen(text), NULL, &q, &err), 0);
                EnumResult res = enum_all(p, cls, q, true);
                assert_int_equal(res.filtered, cases[k].filtered);
                if (cases[k].single) {
                        assert_int_equal(res.entries_read, 0);
                        assert_int_equal(res.count, 1);
                } else {
                        assert_true(res.entries_read > 0);
                        assert_non_null(find_pid(&res, (uint32_t)getpid()));
                }
                enum_result_done(&res);
                wql_query_free(q);
        }
        class_unref(cls);
        p->ops->free(p);
}

static void test_process_alloc_failure(void **state) {
        (void)state;
        CimClass *cls;
        Provider *p = process_provider(&cls);
        unsigned long n;
        for (n = 1; n < 10000; n++) {
                Instance *got = NULL;
                Error err = { 0 };
                mem_fail_at(n);
                int r = get_process(p, cls, (uint32_t)getpid(), &got, &err);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 0);
                        check_self(got);
                        instance_unref(got);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
                assert_null(got);
        }
        assert_true(n > 5);
        assert_true(n < 10000);

        /* The same through a scan cursor (with its user cache) and the hint. */
        PidQuery q;
        pid_query_init(&q, getpid());
        for (n = 1; n < 10000; n++) {
                ProviderCursor *c = NULL;
                bool filtered;
                Error err = { 0 };
                Instance *got = NULL;
                mem_fail_at(n);
                int r = p->ops->enum_begin(p, "root/cimv2", cls, &q.query, NULL, &c, &filtered,
                                           &err);
                if (r == 0) {
                        r = p->ops->enum_next(c, &got, &err);
                        p->ops->enum_end(c);
                }
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 1);
                        instance_unref(got);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
                assert_null(got);
        }
        assert_true(n < 10000);

        for (n = 1; n < 10000; n++) {
                CimClass **defs = NULL;
                size_t count = 0;
                Error err = { 0 };
                mem_fail_at(n);
                int r = p->ops->get_classes(p, &defs, &count, &err);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 0);
                        class_unref(defs[0]);
                        mem_free(defs);
                        break;
                }
                assert_true(r == -ENOMEM);
        }
        assert_true(n < 10000);

        class_unref(cls);
        p->ops->free(p);

        mem_fail_at(1);
        assert_int_equal(process_provider_new(&p), -ENOMEM);
        mem_fail_at(2);
        assert_int_equal(process_provider_new(&p), -ENOMEM);
        mem_fail_at(1);
        assert_int_equal(os_provider_new(&p), -ENOMEM);
        mem_fail_at(0);
}

/* ---- Linux_OperatingSystem -------------------------------------------- */

static void check_os(const Instance *i) {
        struct utsname u;
        assert_int_equal(uname(&u), 0);
        assert_string_equal(get_s(i, "Name"), "Linux");
        assert_string_equal(get_s(i, "Version"), u.release);
        assert_string_equal(get_s(i, "CSName"), u.nodename);
        assert_string_equal(get_s(i, "OSArchitecture"), u.machine);
        if (access("/etc/os-release", R_OK) == 0 || access("/usr/lib/os-release", R_OK) == 0)
                assert_non_null(get_s(i, "Caption"));

        int64_t now = now_usec();
        const CimDatetime *boot = get_dt(i, "LastBootUpTime");
        const CimDatetime *local = get_dt(i, "LocalDateTime");
        assert_true(boot->usec < now);
        assert_true(local->usec <= now && local->usec > now - 60LL * 1000000);
        assert_int_equal(local->utc_offset_min, props_utc_offset_min(now / 1000000));
        uint64_t uptime = get_u(i, "Uptime");
        assert_true(uptime > 0);
        /* Boot time plus uptime is about now (btime has whole seconds). */
        int64_t drift = boot->usec / 1000000 + (int64_t)uptime - now / 1000000;
        assert_true(drift >= -5 && drift <= 5);

        assert_true(get_u(i, "NumberOfProcesses") > 1);
        uint64_t total = get_u(i, "TotalVisibleMemorySize");
        assert_true(total > 0);
        assert_true(get_u(i, "FreePhysicalMemory") <= total);
        static const char *const loads[] = { "LoadAverage1", "LoadAverage5", "LoadAverage15" };
        for (size_t k = 0; k < 3; k++) {
                const Value *v = instance_get(i, loads[k]);
                assert_non_null(v);
                assert_false(v->is_null);
                assert_true(v->r >= 0);
        }
        const char *boot_id = get_s(i, "BootId");
        assert_non_null(boot_id);
        assert_int_equal(strlen(boot_id), 36);
        assert_string_equal(i->ns, "root/cimv2");
}

static void test_os_singleton(void **state) {
        (void)state;
        Provider *p = NULL;
        assert_int_equal(os_provider_new(&p), 0);
        CimClass *cls = provider_class(p);
        assert_string_equal(cls->name, "Linux_OperatingSystem");
        assert_true(cls->is_singleton);
        assert_int_equal(cls->n_keys, 0);
        assert_int_equal(cls->n_props, 15);

        EnumResult res = enum_all(p, cls, NULL, false);
        assert_int_equal(res.count, 1);
        assert_true(res.filtered);
        check_os(res.items[0]);
        enum_result_done(&res);

        /* A WHERE is left to the engine. */
        PidQuery q;
        pid_query_init(&q, 1);
        res = enum_all(p, cls, &q.query, false);
        assert_int_equal(res.count, 1);
        assert_false(res.filtered);
        enum_result_done(&res);

        ObjectPath path = { .class_name = (char *)"Linux_OperatingSystem", .is_singleton = true };
        Instance *got = NULL;
        Error err = { 0 };
        assert_int_equal(p->ops->get_instance(p, "root/cimv2", cls, &path, NULL, &got, &err), 0);
        check_os(got);
        instance_unref(got);
        got = NULL;

        ObjectPathKey key = { .name = (char *)"Name", .value = value_uint(CIM_UINT32, 1) };
        path = (ObjectPath){ .class_name = (char *)"Linux_OperatingSystem",
                             .keys = &key,
                             .n_keys = 1 };
        assert_int_equal(p->ops->get_instance(p, "root/cimv2", cls, &path, NULL, &got, &err),
                         WBEM_E_INVALID_OBJECT_PATH);
        assert_null(got);

        CimClass *other = NULL;
        assert_int_equal(class_new("Other", NULL, &other, &err), 0);
        ProviderCursor *c = NULL;
        bool filtered;
        assert_int_equal(
                p->ops->enum_begin(p, "root/cimv2", other, NULL, NULL, &c, &filtered, &err),
                WBEM_E_INVALID_CLASS);
        class_unref(other);

        /* Allocation failures through one instance. */
        path = (ObjectPath){ .class_name = (char *)"Linux_OperatingSystem", .is_singleton = true };
        unsigned long n;
        for (n = 1; n < 10000; n++) {
                got = NULL;
                mem_fail_at(n);
                int r = p->ops->get_instance(p, "root/cimv2", cls, &path, NULL, &got, &err);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 0);
                        check_os(got);
                        instance_unref(got);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
                assert_null(got);
        }
        assert_true(n < 10000);

        class_unref(cls);
        p->ops->free(p);
}

int main(int argc, char **argv) {
        test_argc = argc;
        test_argv = argv;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stat_parse),
                cmocka_unit_test(test_status_parse),
                cmocka_unit_test(test_cgroup_meminfo_loadavg_uptime),
                cmocka_unit_test(test_pid_from_name),
                cmocka_unit_test(test_osrelease),
                cmocka_unit_test(test_utf8_dup),
                cmocka_unit_test(test_read_bounds),
                cmocka_unit_test(test_process_fake_proc),
                cmocka_unit_test(test_process_class),
                cmocka_unit_test(test_process_enum_self),
                cmocka_unit_test(test_process_child_comes_and_goes),
                cmocka_unit_test(test_process_comm_with_parens),
                cmocka_unit_test(test_process_pid_hint),
                cmocka_unit_test(test_process_pid_hint_parsed),
                cmocka_unit_test(test_process_alloc_failure),
                cmocka_unit_test(test_os_singleton),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
