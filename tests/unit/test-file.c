/* Unit tests for Linux_File (src/providers/file.c) and the peer's view of
 * the filesystem it relies on (fsaccess.c): path rules, mode-bit checks,
 * the checked walk (links, denials), and the provider's queries, driven
 * through its ops in a temporary tree. The tests run as any user: the
 * denied peers are made-up ids passed as ProviderCaller. */
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

#include <sys/inotify.h>

#include "cleanup.h"
#include "dirsnap.h"
#include "file.h"
#include "filewatch.h"
#include "inotifyev.h"
#include "fsaccess.h"
#include "mem.h"
#include "providers.h"

/* A peer that owns nothing in the test tree (unless chowned to it). */
#define OTHER_UID 54321
#define OTHER_GID 54321

static char tree[PATH_MAX];

static void make_file(const char *rel, const char *content, mode_t mode) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/%s", tree, rel);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
        close(fd);
        assert_int_equal(chmod(path, mode), 0);
}

static void make_dir(const char *rel, mode_t mode) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/%s", tree, rel);
        assert_int_equal(mkdir(path, mode), 0);
        assert_int_equal(chmod(path, mode), 0);
}

static void make_link(const char *rel, const char *target) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/%s", tree, rel);
        assert_int_equal(symlink(target, path), 0);
}

static void sub(char *buf, size_t size, const char *rel) {
        snprintf(buf, size, "%s%s%s", tree, rel[0] ? "/" : "", rel);
}

/* tree/
 *   a.txt (0644, "hello"), .hidden, noext., archive.tar.gz
 *   open/      0755   with f
 *   closed/    0700   with inner/ (0755) with g
 *   group/     0750, group OTHER_GID+1
 *   link-open  -> open
 *   link-closed-inner -> closed/inner
 *   loop -> loop
 *   many/      300 files */
static int setup(void **state) {
        (void)state;
        snprintf(tree, sizeof(tree), "/tmp/lwmi-test-file-XXXXXX");
        assert_non_null(mkdtemp(tree));
        assert_int_equal(chmod(tree, 0755), 0);
        make_file("a.txt", "hello", 0644);
        make_file(".hidden", "", 0600);
        make_file("noext.", "", 0600);
        make_file("archive.tar.gz", "", 0600);
        make_dir("open", 0755);
        make_file("open/f", "x", 0644);
        make_dir("closed", 0700);
        make_dir("closed/inner", 0755);
        make_file("closed/inner/g", "y", 0644);
        make_dir("group", 0750);
        char path[PATH_MAX + 64];
        sub(path, sizeof(path), "group");
        if (geteuid() == 0)
                assert_int_equal(chown(path, 0, OTHER_GID + 1), 0);
        make_link("link-open", "open");
        make_link("link-closed-inner", "closed/inner");
        make_link("loop", "loop");
        make_dir("many", 0755);
        for (int k = 0; k < 300; k++) {
                char rel[64];
                snprintf(rel, sizeof(rel), "many/f%03d", k);
                make_file(rel, "", 0644);
        }
        return 0;
}

static int teardown(void **state) {
        (void)state;
        char cmd[PATH_MAX + 32];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static CimClass *file_class(Provider *p) {
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

typedef struct Run {
        int status; /* of enum_begin, or of the first failing enum_next */
        Error err;
        bool filtered;
        size_t count;
        Instance *items[512];
} Run;

static void run_done(Run *r) {
        for (size_t k = 0; k < r->count; k++)
                instance_unref(r->items[k]);
        r->count = 0;
}

static void run_query(Provider *p, CimClass *cls, const char *text, const ProviderCaller *caller,
                      Run *res) {
        *res = (Run){ 0 };
        WqlQuery *q = NULL;
        Error err = { 0 };
        if (text)
                assert_int_equal(wql_parse(text, strlen(text), NULL, &q, &err), 0);
        ProviderCursor *c = NULL;
        res->status =
                p->ops->enum_begin(p, "root/cimv2", cls, q, caller, &c, &res->filtered, &res->err);
        if (res->status == 0) {
                for (;;) {
                        Instance *inst = NULL;
                        int r = p->ops->enum_next(c, &inst, &res->err);
                        if (r == 0)
                                break;
                        if (r != 1) {
                                res->status = r;
                                break;
                        }
                        assert_true(res->count < ELEMENTSOF(res->items));
                        res->items[res->count++] = inst;
                }
                p->ops->enum_end(c);
        }
        wql_query_free(q);
}

static const Instance *find_name(const Run *res, const char *name) {
        for (size_t k = 0; k < res->count; k++)
                if (strcmp(instance_get(res->items[k], "Name")->s, name) == 0)
                        return res->items[k];
        return NULL;
}

static const ProviderCaller other = { .uid = OTHER_UID, .gid = OTHER_GID };

/* ---- fsaccess -------------------------------------------------------------- */

static void test_path_is_normal(void **state) {
        (void)state;
        assert_true(fsaccess_path_is_normal("/"));
        assert_true(fsaccess_path_is_normal("/var/log"));
        assert_true(fsaccess_path_is_normal("/a/.b/c..d/..."));
        assert_false(fsaccess_path_is_normal(NULL));
        assert_false(fsaccess_path_is_normal(""));
        assert_false(fsaccess_path_is_normal("var/log"));
        assert_false(fsaccess_path_is_normal("/var/log/"));
        assert_false(fsaccess_path_is_normal("//var"));
        assert_false(fsaccess_path_is_normal("/var//log"));
        assert_false(fsaccess_path_is_normal("/var/./log"));
        assert_false(fsaccess_path_is_normal("/var/.."));
        assert_false(fsaccess_path_is_normal("/."));
        char longp[PATH_MAX + 2];
        memset(longp, 'a', sizeof(longp) - 1);
        longp[0] = '/';
        longp[sizeof(longp) - 1] = '\0';
        assert_false(fsaccess_path_is_normal(longp));
}

static void test_may(void **state) {
        (void)state;
        struct stat st = { .st_uid = 100, .st_gid = 200, .st_mode = S_IFDIR | 0750 };
        gid_t groups[] = { 7, 200 };
        ProviderCaller owner = { .uid = 100, .gid = 1 };
        ProviderCaller member = { .uid = 101, .gid = 200 };
        ProviderCaller supp = { .uid = 102, .gid = 1, .groups = groups, .n_groups = 2 };
        ProviderCaller stranger = { .uid = 103, .gid = 1 };
        ProviderCaller root = { .uid = 0, .gid = 0 };
        ProviderCaller unknown = { .uid = (uid_t)-1, .gid = (gid_t)-1 };

        assert_true(fsaccess_may(&st, -1, NULL, FSACCESS_READ | FSACCESS_SEARCH));
        assert_true(fsaccess_may(&st, -1, &root, FSACCESS_READ | FSACCESS_SEARCH));
        assert_false(fsaccess_may(&st, -1, &unknown, FSACCESS_SEARCH));
        assert_true(fsaccess_may(&st, -1, &owner, FSACCESS_READ | FSACCESS_SEARCH));
        assert_true(fsaccess_may(&st, -1, &member, FSACCESS_READ | FSACCESS_SEARCH));
        assert_true(fsaccess_may(&st, -1, &supp, FSACCESS_READ | FSACCESS_SEARCH));
        assert_false(fsaccess_may(&st, -1, &stranger, FSACCESS_SEARCH));

        /* The owner's bits decide for the owner, even when others may more. */
        st.st_mode = S_IFDIR | 0077;
        assert_false(fsaccess_may(&st, -1, &owner, FSACCESS_SEARCH));
        assert_true(fsaccess_may(&st, -1, &stranger, FSACCESS_SEARCH));
        /* Search without read: may walk through, may not list. */
        st.st_mode = S_IFDIR | 0711;
        assert_true(fsaccess_may(&st, -1, &member, FSACCESS_SEARCH));
        assert_false(fsaccess_may(&st, -1, &member, FSACCESS_READ | FSACCESS_SEARCH));
        assert_false(fsaccess_may(&st, -1, &stranger, FSACCESS_READ));
}

static void test_open_dir(void **state) {
        (void)state;
        char path[PATH_MAX + 64];
        int fd = -1;
        Error err = { 0 };

        sub(path, sizeof(path), "open");
        assert_int_equal(fsaccess_open_dir(path, &other, true, &fd, &err), 0);
        close(fd);
        /* through a link, which is followed */
        sub(path, sizeof(path), "link-open");
        assert_int_equal(fsaccess_open_dir(path, &other, true, &fd, &err), 0);
        close(fd);
        /* a 0700 directory: not listed, not walked through (not even by a
         * link that points inside it) */
        sub(path, sizeof(path), "closed");
        assert_int_equal(fsaccess_open_dir(path, &other, true, &fd, &err), WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(err.message, "uid 54321 may not list directory"));
        assert_non_null(strstr(err.message, path));
        sub(path, sizeof(path), "closed/inner");
        assert_int_equal(fsaccess_open_dir(path, &other, true, &fd, &err), WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(err.message, "may not search the path to"));
        sub(path, sizeof(path), "link-closed-inner");
        assert_int_equal(fsaccess_open_dir(path, &other, true, &fd, &err), WBEM_E_ACCESS_DENIED);
        /* the message names the path as asked, never the link's target */
        assert_null(strstr(err.message, "closed/inner"));
        /* ... which the daemon itself may open */
        assert_int_equal(fsaccess_open_dir(path, NULL, true, &fd, &err), 0);
        close(fd);
        /* a supplementary group lets the peer in */
        if (geteuid() == 0) {
                gid_t g = OTHER_GID + 1;
                ProviderCaller member = {
                        .uid = OTHER_UID, .gid = OTHER_GID, .groups = &g, .n_groups = 1
                };
                sub(path, sizeof(path), "group");
                assert_int_equal(fsaccess_open_dir(path, &member, true, &fd, &err), 0);
                close(fd);
                assert_int_equal(fsaccess_open_dir(path, &other, true, &fd, &err),
                                 WBEM_E_ACCESS_DENIED);
        }
        /* nothing there, not a directory, a loop, not normal */
        sub(path, sizeof(path), "nope");
        assert_int_equal(fsaccess_open_dir(path, &other, true, &fd, &err), -ENOENT);
        sub(path, sizeof(path), "a.txt");
        assert_int_equal(fsaccess_open_dir(path, &other, true, &fd, &err), -ENOTDIR);
        sub(path, sizeof(path), "loop");
        assert_int_equal(fsaccess_open_dir(path, &other, true, &fd, &err), -ELOOP);
        assert_int_equal(fsaccess_open_dir("relative", &other, true, &fd, &err), -EINVAL);
        /* "/" itself, searching only */
        assert_int_equal(fsaccess_open_dir("/", &other, false, &fd, &err), 0);
        close(fd);
}

/* ---- the provider ---------------------------------------------------------- */

static void test_list_directory(void **state) {
        (void)state;
        Provider *p = NULL;
        assert_int_equal(file_provider_new(&p), 0);
        CimClass *cls = file_class(p);
        char q[PATH_MAX + 128];
        Run res;

        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Directory = '%s'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, 0);
        assert_true(res.filtered);
        /* a.txt .hidden noext. archive.tar.gz open closed group 3 links many */
        assert_int_equal(res.count, 11);
        const Instance *a = find_name(&res, "a.txt");
        assert_non_null(a);
        char path[PATH_MAX + 64];
        sub(path, sizeof(path), "a.txt");
        assert_string_equal(instance_get(a, "Path")->s, path);
        assert_string_equal(instance_get(a, "Directory")->s, tree);
        assert_string_equal(instance_get(a, "Extension")->s, "txt");
        assert_int_equal(instance_get(a, "Size")->u, 5);
        assert_int_equal(instance_get(a, "Mode")->u, 0644);
        assert_int_equal(instance_get(a, "UserId")->u, geteuid());
        assert_string_equal(instance_get(a, "Type")->s, "File");
        assert_false(instance_get(a, "ModifiedTime")->is_null);
        assert_false(instance_get(a, "ChangedTime")->is_null);
        assert_string_equal(instance_get(find_name(&res, ".hidden"), "Extension")->s, "");
        assert_string_equal(instance_get(find_name(&res, "noext."), "Extension")->s, "");
        assert_string_equal(instance_get(find_name(&res, "archive.tar.gz"), "Extension")->s, "gz");
        assert_string_equal(instance_get(find_name(&res, "open"), "Type")->s, "Directory");
        assert_int_equal(instance_get(find_name(&res, "closed"), "Mode")->u, 0700);
        const Instance *l = find_name(&res, "link-open");
        assert_string_equal(instance_get(l, "Type")->s, "SymbolicLink");
        assert_int_equal(instance_get(l, "Size")->u, strlen("open"));
        run_done(&res);

        /* another AND term: the engine filters */
        snprintf(q, sizeof(q),
                 "SELECT * FROM Linux_File WHERE Type = 'File' AND Directory = '%s/open'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, 0);
        assert_false(res.filtered);
        assert_int_equal(res.count, 1);
        snprintf(path, sizeof(path), "%s/open/f", tree);
        assert_string_equal(instance_get(res.items[0], "Path")->s, path);
        run_done(&res);

        /* a directory through a link keeps the name as written */
        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Directory = '%s/link-open'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, 0);
        assert_int_equal(res.count, 1);
        snprintf(path, sizeof(path), "%s/link-open/f", tree);
        assert_string_equal(instance_get(res.items[0], "Path")->s, path);
        run_done(&res);

        /* nothing there: no instances */
        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Directory = '%s/nope'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, 0);
        assert_int_equal(res.count, 0);
        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Directory = '%s/a.txt'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, 0);
        assert_int_equal(res.count, 0);

        class_unref(cls);
        p->ops->free(p);
}

static void test_refused(void **state) {
        (void)state;
        Provider *p = NULL;
        assert_int_equal(file_provider_new(&p), 0);
        CimClass *cls = file_class(p);
        char q[PATH_MAX + 128];
        Run res;

        /* no directory named: the whole filesystem, refused */
        run_query(p, cls, NULL, NULL, &res);
        assert_int_equal(res.status, WBEM_E_NOT_SUPPORTED);
        assert_non_null(strstr(res.err.message, "must name a directory"));
        run_query(p, cls, "SELECT * FROM Linux_File", NULL, &res);
        assert_int_equal(res.status, WBEM_E_NOT_SUPPORTED);
        run_query(p, cls, "SELECT * FROM Linux_File WHERE Name = 'passwd'", NULL, &res);
        assert_int_equal(res.status, WBEM_E_NOT_SUPPORTED);
        run_query(p, cls, "SELECT * FROM Linux_File WHERE Directory = '/etc' OR Directory = '/var'",
                  NULL, &res);
        assert_int_equal(res.status, WBEM_E_NOT_SUPPORTED);
        run_query(p, cls, "SELECT * FROM Linux_File WHERE Directory <> '/etc'", NULL, &res);
        assert_int_equal(res.status, WBEM_E_NOT_SUPPORTED);
        run_query(p, cls, "SELECT * FROM Linux_File WHERE Directory LIKE '/etc%'", NULL, &res);
        assert_int_equal(res.status, WBEM_E_NOT_SUPPORTED);
        /* not a normal path */
        run_query(p, cls, "SELECT * FROM Linux_File WHERE Directory = '/etc/'", NULL, &res);
        assert_int_equal(res.status, WBEM_E_INVALID_QUERY);
        assert_non_null(strstr(res.err.message, "'/etc/'"));
        run_query(p, cls, "SELECT * FROM Linux_File WHERE Path = 'etc/passwd'", NULL, &res);
        assert_int_equal(res.status, WBEM_E_INVALID_QUERY);
        run_query(p, cls, "SELECT * FROM Linux_File WHERE Directory = '/etc/../root'", NULL, &res);
        assert_int_equal(res.status, WBEM_E_INVALID_QUERY);
        /* the peer may not list */
        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Directory = '%s/closed'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, WBEM_E_ACCESS_DENIED);
        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Path = '%s/closed/inner/g'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, WBEM_E_ACCESS_DENIED);
        /* ... but may look at the directory's own entry in its parent */
        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Path = '%s/closed'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, 0);
        assert_int_equal(res.count, 1);
        run_done(&res);
        /* a loop is the provider's failure */
        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Directory = '%s/loop'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, WBEM_E_PROVIDER_FAILURE);
        /* another class */
        CimClass *wrong = NULL;
        Error err = { 0 };
        assert_int_equal(class_new_from_specs("Other", NULL, false, NULL, 0, &wrong, &err), 0);
        ProviderCursor *c = NULL;
        bool filtered;
        assert_int_equal(
                p->ops->enum_begin(p, "root/cimv2", wrong, NULL, NULL, &c, &filtered, &err),
                WBEM_E_INVALID_CLASS);
        class_unref(wrong);

        class_unref(cls);
        p->ops->free(p);
}

static void test_one_path(void **state) {
        (void)state;
        Provider *p = NULL;
        assert_int_equal(file_provider_new(&p), 0);
        CimClass *cls = file_class(p);
        char q[PATH_MAX + 128];
        Run res;

        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Path = '%s/open/f'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, 0);
        assert_true(res.filtered);
        assert_int_equal(res.count, 1);
        assert_string_equal(instance_get(res.items[0], "Name")->s, "f");
        run_done(&res);
        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Path = '%s/open/none'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, 0);
        assert_int_equal(res.count, 0);
        run_query(p, cls, "SELECT * FROM Linux_File WHERE Path = '/'", &other, &res);
        assert_int_equal(res.status, 0);
        assert_int_equal(res.count, 0);
        run_query(p, cls, "SELECT * FROM Linux_File WHERE Path = '/etc'", &other, &res);
        assert_int_equal(res.status, 0);
        assert_int_equal(res.count, 1);
        assert_string_equal(instance_get(res.items[0], "Directory")->s, "/");
        assert_string_equal(instance_get(res.items[0], "Path")->s, "/etc");
        run_done(&res);

        /* GetObject */
        ObjectPath path = { .class_name = (char *)"Linux_File", .n_keys = 1 };
        ObjectPathKey key = { .name = (char *)"Path" };
        path.keys = &key;
        char file[PATH_MAX + 64];
        Instance *got = NULL;
        Error err = { 0 };
        snprintf(file, sizeof(file), "%s/a.txt", tree);
        key.value = (Value){ .type = CIM_STRING, .s = file };
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, &other, &got, &err), 0);
        assert_int_equal(instance_get(got, "Size")->u, 5);
        instance_unref(got);
        snprintf(file, sizeof(file), "%s/nope", tree);
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, &other, &got, &err),
                         WBEM_E_NOT_FOUND);
        snprintf(file, sizeof(file), "%s/closed/inner/g", tree);
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, &other, &got, &err),
                         WBEM_E_ACCESS_DENIED);
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, NULL, &got, &err), 0);
        instance_unref(got);
        snprintf(file, sizeof(file), "%s/", tree);
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, &other, &got, &err),
                         WBEM_E_INVALID_OBJECT_PATH);
        key.value = (Value){ .type = CIM_STRING, .s = (char *)"/" };
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, &other, &got, &err),
                         WBEM_E_NOT_FOUND);
        key.value = (Value){ .type = CIM_UINT32, .u = 5 };
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, &other, &got, &err),
                         WBEM_E_INVALID_OBJECT_PATH);
        key.name = (char *)"Name";
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, &other, &got, &err),
                         WBEM_E_INVALID_OBJECT_PATH);

        class_unref(cls);
        p->ops->free(p);
}

/* A large directory comes one instance per enum_next(), not in one go. */
static void test_piecewise(void **state) {
        (void)state;
        Provider *p = NULL;
        assert_int_equal(file_provider_new(&p), 0);
        CimClass *cls = file_class(p);
        char q[PATH_MAX + 128];
        Run res;
        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Directory = '%s/many'", tree);
        run_query(p, cls, q, &other, &res);
        assert_int_equal(res.status, 0);
        assert_int_equal(res.count, 300);
        for (int k = 0; k < 300; k++) {
                char name[16];
                snprintf(name, sizeof(name), "f%03d", k);
                assert_non_null(find_name(&res, name));
        }
        run_done(&res);

        /* entries deleted between two pulls are skipped */
        WqlQuery *wq = NULL;
        Error err = { 0 };
        assert_int_equal(wql_parse(q, strlen(q), NULL, &wq, &err), 0);
        ProviderCursor *c = NULL;
        bool filtered;
        assert_int_equal(p->ops->enum_begin(p, NULL, cls, wq, &other, &c, &filtered, &err), 0);
        Instance *inst = NULL;
        assert_int_equal(p->ops->enum_next(c, &inst, &err), 1);
        instance_unref(inst);
        size_t n = 1;
        for (int k = 0; k < 300; k++) {
                char rel[64], path[PATH_MAX + 64];
                snprintf(rel, sizeof(rel), "many/f%03d", k);
                sub(path, sizeof(path), rel);
                if (k % 2 == 0)
                        (void)unlink(path);
        }
        while (p->ops->enum_next(c, &inst, &err) == 1) {
                instance_unref(inst);
                n++;
        }
        assert_true(n <= 300);
        p->ops->enum_end(c);
        wql_query_free(wq);
        class_unref(cls);
        p->ops->free(p);
}

static void test_alloc_failure(void **state) {
        (void)state;
        Provider *p = NULL;
        assert_int_equal(file_provider_new(&p), 0);
        CimClass *cls = file_class(p);
        char q[PATH_MAX + 128];
        snprintf(q, sizeof(q), "SELECT * FROM Linux_File WHERE Directory = '%s/link-open'", tree);
        WqlQuery *wq = NULL;
        Error err = { 0 };
        assert_int_equal(wql_parse(q, strlen(q), NULL, &wq, &err), 0);
        unsigned long n;
        for (n = 1; n < 1000; n++) {
                ProviderCursor *c = NULL;
                bool filtered;
                Instance *got = NULL;
                mem_fail_at(n);
                int r = p->ops->enum_begin(p, NULL, cls, wq, &other, &c, &filtered, &err);
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
        assert_true(n > 3 && n < 1000);
        wql_query_free(wq);
        class_unref(cls);
        p->ops->free(p);
}

/* ---- the inotify read buffer ------------------------------------------------- */

typedef struct Events {
        InotifyEvent ev[8];
        char names[8][32];
        size_t n;
        int fail;
} Events;

static int events_add(void *userdata, const InotifyEvent *ev) {
        Events *e = userdata;
        if (e->fail)
                return e->fail;
        e->ev[e->n] = *ev;
        if (ev->name) {
                memcpy(e->names[e->n], ev->name, ev->name_len);
                e->names[e->n][ev->name_len] = '\0';
        }
        e->n++;
        return 0;
}

/* Append a record with a name padded to pad bytes (0: no name). */
static size_t put_event(uint8_t *buf, size_t at, int wd, uint32_t mask, uint32_t cookie,
                        const char *name, uint32_t pad) {
        struct inotify_event h = { .wd = wd, .mask = mask, .cookie = cookie, .len = pad };
        memcpy(buf + at, &h, sizeof(h));
        memset(buf + at + sizeof(h), 0, pad);
        if (name)
                memcpy(buf + at + sizeof(h), name, strlen(name));
        return at + sizeof(h) + pad;
}

static void test_inotify_parse(void **state) {
        (void)state;
        uint8_t buf[512];
        size_t len = 0;
        len = put_event(buf, len, 1, IN_CREATE, 0, "new.txt", 16);
        len = put_event(buf, len, 1, IN_MOVED_FROM, 42, "a", 16);
        len = put_event(buf, len, 1, IN_MOVED_TO, 42, "b", 4);
        len = put_event(buf, len, 1, IN_DELETE_SELF, 0, NULL, 0);
        len = put_event(buf, len, -1, IN_Q_OVERFLOW, 0, NULL, 0);
        Events e = { 0 };
        assert_int_equal(inotifyev_parse(buf, len, events_add, &e), 0);
        assert_int_equal(e.n, 5);
        assert_string_equal(e.names[0], "new.txt");
        assert_int_equal(e.ev[0].name_len, 7);
        assert_int_equal(e.ev[1].cookie, 42);
        assert_string_equal(e.names[2], "b");
        assert_null(e.ev[3].name);
        assert_int_equal(e.ev[4].wd, -1);
        assert_true(e.ev[4].mask & IN_Q_OVERFLOW);

        /* every truncation is refused, and nothing past it is reported */
        for (size_t cut = 1; cut < len; cut++) {
                Events t = { 0 };
                int r = inotifyev_parse(buf, cut, events_add, &t);
                assert_true(r == 0 || r == -EBADMSG);
                assert_true(t.n <= 5);
        }
        Events t = { 0 };
        assert_int_equal(inotifyev_parse(buf, 10, events_add, &t), -EBADMSG);
        assert_int_equal(inotifyev_parse(buf, sizeof(struct inotify_event) + 3, events_add, &t),
                         -EBADMSG);
        /* a name without a NUL in its len */
        uint8_t bad[64];
        size_t blen = put_event(bad, 0, 1, IN_CREATE, 0, NULL, 4);
        memcpy(bad + sizeof(struct inotify_event), "abcd", 4);
        assert_int_equal(inotifyev_parse(bad, blen, events_add, &t), -EBADMSG);
        /* an all-NUL name is the object itself */
        blen = put_event(bad, 0, 1, IN_ATTRIB, 0, NULL, 8);
        t = (Events){ 0 };
        assert_int_equal(inotifyev_parse(bad, blen, events_add, &t), 0);
        assert_null(t.ev[0].name);
        /* the callback's error stops the walk */
        t = (Events){ .fail = -ENOMEM };
        assert_int_equal(inotifyev_parse(buf, len, events_add, &t), -ENOMEM);
        assert_int_equal(inotifyev_parse(buf, 0, events_add, &t), 0);
}

/* ---- directory snapshots ------------------------------------------------------- */

typedef struct Diffs {
        char text[1024];
} Diffs;

static int diffs_add(void *userdata, const char *name, DirChange change, const struct stat *before,
                     const struct stat *after) {
        Diffs *d = userdata;
        static const char *const kinds[] = { "=", "+", "~", "-" };
        assert_true((change == DIR_CREATED) == (before == NULL));
        assert_true((change == DIR_DELETED) == (after == NULL));
        size_t len = strlen(d->text);
        snprintf(d->text + len, sizeof(d->text) - len, "%s%s ", kinds[change], name);
        return 0;
}

static int diffs_fail(void *userdata, const char *name, DirChange change, const struct stat *before,
                      const struct stat *after) {
        (void)userdata, (void)name, (void)change, (void)before, (void)after;
        return -EIO;
}

static void test_dirsnap(void **state) {
        (void)state;
        char path[PATH_MAX + 64];
        sub(path, sizeof(path), "open");
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        DirSnap s = { 0 };
        assert_int_equal(dirsnap_scan(fd, &s), 0);
        assert_int_equal(s.n_entries, 1);
        assert_non_null(dirsnap_find(&s, "f"));
        assert_null(dirsnap_find(&s, "g"));

        struct stat st = s.entries[0].st, prev;
        DirChange ch;
        /* the same stat: unchanged; another size: modified with the old one */
        assert_int_equal(dirsnap_update(&s, "f", &st, &ch, &prev), 0);
        assert_int_equal(ch, DIR_UNCHANGED);
        struct stat bigger = st;
        bigger.st_size = 100;
        assert_int_equal(dirsnap_update(&s, "f", &bigger, &ch, &prev), 0);
        assert_int_equal(ch, DIR_MODIFIED);
        assert_int_equal(prev.st_size, st.st_size);
        /* a time that differs below the microsecond is no change */
        struct stat ns = bigger;
        ns.st_mtim.tv_nsec = (ns.st_mtim.tv_nsec / 1000) * 1000 + (ns.st_mtim.tv_nsec % 1000 == 0);
        assert_false(dirsnap_stat_differs(&bigger, &ns));
        ns.st_ctim.tv_sec++;
        assert_true(dirsnap_stat_differs(&bigger, &ns));
        /* new names keep the order */
        assert_int_equal(dirsnap_update(&s, "c", &st, &ch, NULL), 0);
        assert_int_equal(ch, DIR_CREATED);
        assert_int_equal(dirsnap_update(&s, "a", &st, &ch, NULL), 0);
        assert_int_equal(dirsnap_update(&s, "z", &st, &ch, NULL), 0);
        assert_string_equal(s.entries[0].name, "a");
        assert_string_equal(s.entries[1].name, "c");
        assert_string_equal(s.entries[2].name, "f");
        assert_string_equal(s.entries[3].name, "z");
        /* gone: deleted with the last stat; gone again: unchanged */
        assert_int_equal(dirsnap_update(&s, "f", NULL, &ch, &prev), 0);
        assert_int_equal(ch, DIR_DELETED);
        assert_int_equal(prev.st_size, 100);
        assert_int_equal(dirsnap_update(&s, "f", NULL, &ch, &prev), 0);
        assert_int_equal(ch, DIR_UNCHANGED);
        /* a failed insertion leaves the snapshot as it was */
        mem_fail_at(1);
        assert_int_equal(dirsnap_update(&s, "b", &st, &ch, NULL), -ENOMEM);
        mem_fail_at(0);
        assert_int_equal(s.n_entries, 3);

        /* the scan after an overflow, compared with what was known */
        DirSnap now = { 0 };
        assert_int_equal(dirsnap_scan(fd, &now), 0);
        Diffs d = { { 0 } };
        assert_int_equal(dirsnap_diff(&s, &now, diffs_add, &d), 0);
        assert_string_equal(d.text, "-a -c +f -z ");
        d = (Diffs){ { 0 } };
        assert_int_equal(dirsnap_diff(&now, &now, diffs_add, &d), 0);
        assert_string_equal(d.text, "");
        now.entries[0].st.st_uid++;
        assert_int_equal(dirsnap_diff(&s, &now, diffs_fail, NULL), -EIO);
        d = (Diffs){ { 0 } };
        DirSnap one = { 0 };
        assert_int_equal(dirsnap_update(&one, "f", &st, &ch, NULL), 0);
        assert_int_equal(dirsnap_diff(&one, &now, diffs_add, &d), 0);
        assert_string_equal(d.text, "~f ");
        dirsnap_done(&one);
        dirsnap_done(&now);
        dirsnap_done(&s);

        /* a scan's failures */
        sub(path, sizeof(path), "many");
        int many = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        unsigned long n;
        for (n = 1; n < 1000; n++) {
                DirSnap m = { 0 };
                mem_fail_at(n);
                int r = dirsnap_scan(many, &m);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 0);
                        dirsnap_done(&m);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
        }
        assert_true(n < 1000);
        close(many);
        assert_int_equal(dirsnap_scan(-1, &s), -EBADF);
        close(fd);
}

/* ---- inotify watches ---------------------------------------------------------- */

typedef struct Changes {
        char text[4096];
        unsigned gone;
        size_t n;
} Changes;

static void changes_change(void *userdata, const char *directory, const char *name,
                           DirChange change, const struct stat *before, const struct stat *after) {
        Changes *c = userdata;
        static const char *const kinds[] = { "=", "+", "~", "-" };
        (void)directory;
        assert_true(change != DIR_UNCHANGED);
        if (change == DIR_CREATED)
                assert_null(before);
        if (change == DIR_DELETED)
                assert_null(after);
        if (change == DIR_MODIFIED)
                assert_true(before && after);
        size_t len = strlen(c->text);
        snprintf(c->text + len, sizeof(c->text) - len, "%s%s%s ", kinds[change], name,
                 before || after ? "" : "!");
        c->n++;
}

static void changes_gone(void *userdata, const char *directory) {
        Changes *c = userdata;
        (void)directory;
        c->gone++;
}

static const FileWatchOps changes_ops = { .change = changes_change, .gone = changes_gone };

static void wpath(char *buf, size_t size, const char *dir, const char *name) {
        int n = snprintf(buf, size, "%s/%s", dir, name);
        assert_true(n > 0 && (size_t)n < size);
}

static void touch(const char *dir, const char *name, const char *content) {
        char p[PATH_MAX + 64];
        wpath(p, sizeof(p), dir, name);
        FILE *f = fopen(p, "a");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static void test_filewatch(void **state) {
        (void)state;
        char dir[PATH_MAX + 64], elsewhere[PATH_MAX + 64], link[PATH_MAX + 64], p[PATH_MAX + 64],
                q[PATH_MAX + 64];
        sub(dir, sizeof(dir), "watched");
        sub(elsewhere, sizeof(elsewhere), "elsewhere");
        sub(link, sizeof(link), "watched-link");
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(mkdir(elsewhere, 0755), 0);
        assert_int_equal(symlink("watched", link), 0);
        touch(dir, "old", "x");

        FileWatch *fw = NULL;
        Error err = { 0 };
        assert_int_equal(filewatch_new(&changes_ops, &fw, &err), 0);
        assert_true(filewatch_fd(fw) >= 0);
        Changes c = { .n = 0 }, c2 = { .n = 0 };
        FileWatchDir *d = NULL, *d2 = NULL;
        assert_int_equal(filewatch_add(fw, dir, &c, &d, &err), 0);
        /* the same directory by anelsewhere path shares the kernel's watch */
        assert_int_equal(filewatch_add(fw, link, &c2, &d2, &err), 0);
        FileWatchStats st;
        filewatch_stats(fw, &st);
        assert_int_equal(st.directories, 2);
        assert_int_equal(st.watches, 1);
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, ""); /* what was there is no news */

        /* create, modify (content), modify (attributes), delete */
        touch(dir, "a.txt", "");
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, "+a.txt ");
        assert_string_equal(c2.text, "+a.txt ");
        c = (Changes){ .n = 0 };
        touch(dir, "a.txt", "more");
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, "~a.txt ");
        c = (Changes){ .n = 0 };
        wpath(p, sizeof(p), dir, "a.txt");
        assert_int_equal(chmod(p, 0600), 0);
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, "~a.txt ");
        c = (Changes){ .n = 0 };
        /* a rename inside, a move out, a move in, a rename over a name */
        wpath(q, sizeof(q), dir, "b.txt");
        assert_int_equal(rename(p, q), 0);
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, "-a.txt +b.txt ");
        c = (Changes){ .n = 0 };
        wpath(p, sizeof(p), elsewhere, "b.txt");
        assert_int_equal(rename(q, p), 0);
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, "-b.txt ");
        c = (Changes){ .n = 0 };
        wpath(q, sizeof(q), dir, "in.txt");
        assert_int_equal(rename(p, q), 0);
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, "+in.txt ");
        c = (Changes){ .n = 0 };
        wpath(p, sizeof(p), dir, "old");
        assert_int_equal(rename(q, p), 0);
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, "-in.txt -old +old ");
        c = (Changes){ .n = 0 };
        assert_int_equal(unlink(p), 0);
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, "-old ");
        c = (Changes){ .n = 0 };
        /* created and removed before we look: both, without a stat */
        touch(dir, "brief", "");
        wpath(p, sizeof(p), dir, "brief");
        assert_int_equal(unlink(p), 0);
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, "+brief! -brief! ");
        c = (Changes){ .n = 0 };

        /* lost events: an overflow, then a rescan that finds the changes */
        touch(dir, "x", "");
        touch(dir, "y", "");
        assert_int_equal(filewatch_dispatch(fw), 0);
        c = (Changes){ .n = 0 };
        char px[PATH_MAX + 64], py[PATH_MAX + 64];
        wpath(px, sizeof(px), dir, "x");
        wpath(py, sizeof(py), dir, "y");
        for (int k = 0; k < 20000; k++) {
                struct timespec ts[2] = { { .tv_sec = 1000 + k }, { .tv_sec = 1000 + k } };
                assert_int_equal(utimensat(AT_FDCWD, k % 2 ? px : py, ts, 0), 0);
        }
        touch(dir, "z", "");
        /* each call reads a bounded amount: call until the queue is empty */
        for (int k = 0; k < 20; k++)
                assert_int_equal(filewatch_dispatch(fw), 0);
        filewatch_stats(fw, &st);
        assert_true(st.overflows >= 1);
        assert_non_null(strstr(c.text, "~x "));
        assert_non_null(strstr(c.text, "~y "));
        assert_non_null(strstr(c.text, "+z "));
        c = (Changes){ .n = 0 };

        /* one registration goes: the watch stays for the elsewhere */
        filewatch_remove(fw, d2);
        filewatch_stats(fw, &st);
        assert_int_equal(st.directories, 1);
        assert_int_equal(st.watches, 1);
        touch(dir, "w", "");
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_string_equal(c.text, "+w ");

        /* the directory goes: reported gone once, then quiet */
        char cmd[2 * PATH_MAX];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_int_equal(c.gone, 1);
        assert_int_equal(filewatch_dispatch(fw), 0);
        assert_int_equal(c.gone, 1);
        filewatch_remove(fw, d);
        filewatch_stats(fw, &st);
        assert_int_equal(st.directories, 0);
        assert_int_equal(st.watches, 0);

        /* nothing to watch */
        wpath(p, sizeof(p), tree, "no-such-dir");
        assert_int_equal(filewatch_add(fw, p, &c, &d, &err), -ENOENT);
        unsigned long n;
        for (n = 1; n < 1000; n++) {
                mem_fail_at(n);
                d = NULL;
                int r = filewatch_add(fw, elsewhere, &c, &d, &err);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 0);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
                filewatch_stats(fw, &st);
                assert_int_equal(st.watches, 0);
        }
        assert_true(n < 1000);
        fw = filewatch_free(fw);
        assert_null(filewatch_free(NULL));
        unlink(link);
}

/* ---- source_check: what a subscription may watch ------------------------------- */

static int check_source(Provider *p, CimClass *cls, const char *text, const ProviderCaller *caller,
                        char **ret_key, Error *err) {
        WqlQuery *q = NULL;
        Error perr = { 0 };
        assert_int_equal(wql_parse(text, strlen(text), NULL, &q, &perr), 0);
        char why[128] = "";
        int r = p->ops->source_check(p, "root/cimv2", cls, q, caller, ret_key, why, sizeof(why),
                                     err);
        wql_query_free(q);
        return r;
}

static void test_source_check(void **state) {
        (void)state;
        Provider *p = NULL;
        assert_int_equal(file_provider_new(&p), 0);
        CimClass *cls = file_class(p);
        char q[PATH_MAX + 200];
        char *key = NULL;
        Error err = { 0 };
        const char *head = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA "
                           "'Linux_File'";

        snprintf(q, sizeof(q), "%s AND TargetInstance.Directory = '%s/open'", head, tree);
        assert_int_equal(check_source(p, cls, q, &other, &key, &err), 1);
        char want[PATH_MAX + 64];
        sub(want, sizeof(want), "open");
        assert_string_equal(key, want);
        mem_free(key);
        key = NULL;
        assert_int_equal(check_source(p, cls, head, &other, &key, &err), WBEM_E_NOT_SUPPORTED);
        assert_non_null(strstr(err.message, "TargetInstance.Directory"));
        snprintf(q, sizeof(q), "%s AND TargetInstance.Directory = '%s/open/'", head, tree);
        assert_int_equal(check_source(p, cls, q, &other, &key, &err), WBEM_E_INVALID_QUERY);
        snprintf(q, sizeof(q), "%s AND TargetInstance.Directory = '%s/nope'", head, tree);
        assert_int_equal(check_source(p, cls, q, &other, &key, &err), WBEM_E_NOT_FOUND);
        snprintf(q, sizeof(q), "%s AND TargetInstance.Directory = '%s/closed'", head, tree);
        assert_int_equal(check_source(p, cls, q, &other, &key, &err), WBEM_E_ACCESS_DENIED);
        assert_int_equal(check_source(p, cls, q, NULL, &key, &err), 1);
        mem_free(key);
        key = NULL;
        snprintf(q, sizeof(q), "%s OR TargetInstance.Directory = '%s/open'", head, tree);
        assert_int_equal(check_source(p, cls, q, &other, &key, &err), WBEM_E_NOT_SUPPORTED);
        assert_null(key);
        assert_int_equal(p->ops->source_watches(p), 0);
        class_unref(cls);
        p->ops->free(p);
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_is_normal),
                cmocka_unit_test(test_may),
                cmocka_unit_test(test_open_dir),
                cmocka_unit_test(test_list_directory),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_one_path),
                cmocka_unit_test(test_alloc_failure),
                cmocka_unit_test(test_inotify_parse),
                cmocka_unit_test(test_dirsnap),
                cmocka_unit_test(test_filewatch),
                cmocka_unit_test(test_source_check),
                cmocka_unit_test(test_piecewise),
        };
        /* clang-format on */
        return cmocka_run_group_tests(tests, setup, teardown);
}
