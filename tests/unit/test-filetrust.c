/* Unit tests for filetrust.c: a file another user could change is refused
 * (world-writable, owned by another user, in a directory others may write
 * without the sticky bit or owned by another user), with the file and the
 * fix named; sticky directories, missing files and their nearest existing
 * directories. Tests with another owner need root (they check the
 * ownership rule only then). */
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

#include "filetrust.h"

typedef struct Fixture {
        char dir[64];
        char sub[PATH_MAX];
        char file[PATH_MAX];
        uid_t me;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));
        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/lwmi-test-filetrust-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->sub, sizeof(f->sub), "%s/sub", f->dir);
        snprintf(f->file, sizeof(f->file), "%s/sub/file", f->dir);
        if (mkdir(f->sub, 0755) < 0)
                return -1;
        int fd = open(f->file, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
                return -1;
        close(fd);
        f->me = geteuid();
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        char link[PATH_MAX + 8];
        snprintf(link, sizeof(link), "%s/link", f->dir);
        (void)unlink(link);
        (void)unlink(f->file);
        (void)rmdir(f->sub);
        (void)rmdir(f->dir);
        free(f);
        return 0;
}

static void expect_refused(const char *path, bool must_exist, uid_t me, const char *part) {
        Error e;
        assert_int_equal(filetrust_check(path, "widget", me, must_exist, &e), WBEM_E_ACCESS_DENIED);
        assert_non_null(strstr(e.message, "refusing the widget "));
        assert_non_null(strstr(e.message, path));
        if (!strstr(e.message, part))
                fail_msg("'%s' not in '%s'", part, e.message);
}

static void test_trusted(void **state) {
        Fixture *f = *state;
        Error e;

        assert_int_equal(filetrust_check(f->file, "widget", f->me, true, &e), 0);
        /* group-writable is an administrator's choice */
        assert_int_equal(chmod(f->file, 0664), 0);
        assert_int_equal(filetrust_check(f->file, "widget", f->me, true, &e), 0);
        /* the sticky /tmp above is fine, and so is one of our own */
        assert_int_equal(chmod(f->sub, 01777), 0);
        assert_int_equal(filetrust_check(f->file, "widget", f->me, true, &e), 0);
}

static void test_world_writable_file(void **state) {
        Fixture *f = *state;

        assert_int_equal(chmod(f->file, 0646), 0);
        expect_refused(f->file, true, f->me,
                       "it is world-writable (mode 0646), so any user could "
                       "change it; fix: chmod o-w ");
        /* also through a symbolic link: the file it names is checked */
        char link[PATH_MAX + 8];
        snprintf(link, sizeof(link), "%s/link", f->dir);
        assert_int_equal(symlink(f->file, link), 0);
        expect_refused(link, true, f->me, f->file);
}

static void test_world_writable_directory(void **state) {
        Fixture *f = *state;

        assert_int_equal(chmod(f->sub, 0777), 0);
        expect_refused(f->file, true, f->me,
                       "is world-writable (mode 0777) without the sticky bit");
        expect_refused(f->file, true, f->me, f->sub);
        /* a missing file in it: the same directory is refused */
        char missing[PATH_MAX + 16];
        snprintf(missing, sizeof(missing), "%s/new.db", f->sub);
        expect_refused(missing, false, f->me, "without the sticky bit");
        /* and one some levels down, not created yet */
        snprintf(missing, sizeof(missing), "%s/a/b/new.db", f->sub);
        expect_refused(missing, false, f->me, "without the sticky bit");
        /* the parent above it, too */
        assert_int_equal(chmod(f->sub, 0755), 0);
        assert_int_equal(chmod(f->dir, 0757), 0);
        expect_refused(f->file, true, f->me, f->dir);
        assert_int_equal(chmod(f->dir, 0700), 0);
}

static void test_missing(void **state) {
        Fixture *f = *state;
        char missing[PATH_MAX + 16];
        Error e;

        snprintf(missing, sizeof(missing), "%s/x/y/new.db", f->sub);
        assert_int_equal(filetrust_check(missing, "widget", f->me, false, &e), 0);
        assert_int_equal(filetrust_check(missing, "widget", f->me, true, &e), WBEM_E_NOT_FOUND);
        assert_non_null(strstr(e.message, missing));
        /* a relative name without a directory: the working directory */
        assert_int_equal(filetrust_check("no-such-file.db", "widget", f->me, false, &e), 0);
}

static void test_other_owner(void **state) {
        Fixture *f = *state;

        if (geteuid() != 0)
                skip();
        assert_int_equal(chown(f->file, 65534, 65534), 0);
        expect_refused(f->file, true, 0,
                       "it is owned by uid 65534, who could change it; fix: "
                       "chown root ");
        /* lwmid's own user is trusted like root */
        Error e;
        assert_int_equal(filetrust_check(f->file, "widget", 65534, true, &e), 0);
        assert_int_equal(chown(f->file, 0, 0), 0);
        assert_int_equal(chown(f->sub, 65534, 65534), 0);
        expect_refused(f->file, true, 0, "its directory");
        expect_refused(f->file, true, 0, "is owned by uid 65534, who could replace it");
        assert_int_equal(chown(f->sub, 0, 0), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_trusted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_world_writable_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_world_writable_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_other_owner, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
