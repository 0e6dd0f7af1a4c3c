/* Unit tests for privdrop.c: the names of capabilities, and the drop
 * itself in a forked child (the test program keeps its own privileges):
 * the sets, the bounding set, no_new_privs and the securebits afterwards;
 * a capability not held to begin with is not kept. The drop tests need
 * root with CAP_SETPCAP (they skip otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <linux/securebits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "privdrop.h"

static void test_format(void **state) {
        char buf[256];
        (void)state;

        assert_string_equal(privdrop_format(0, buf, sizeof(buf)), "none");
        assert_string_equal(privdrop_format(PRIVDROP_KEEP, buf, sizeof(buf)),
                            "cap_dac_read_search,cap_net_admin,cap_sys_ptrace");
        assert_string_equal(privdrop_format(PRIVDROP_CAP(0) | PRIVDROP_CAP(40), buf, sizeof(buf)),
                            "cap_chown,cap_checkpoint_restore");
        assert_string_equal(privdrop_format(PRIVDROP_CAP(63), buf, sizeof(buf)), "cap_63");
        /* cut at a name that does not fit */
        assert_string_equal(privdrop_format(PRIVDROP_KEEP, buf, 24), "cap_dac_read_search");
        assert_string_equal(privdrop_format(PRIVDROP_KEEP, buf, 4), "");
}

static bool can_drop(void) {
        uint64_t eff, prm, inh;
        return geteuid() == 0 && privdrop_get(&eff, &prm, &inh) == 0 &&
               (prm & PRIVDROP_CAP(PRIVDROP_CAP_SETPCAP));
}

/* Run fn in a child; its exit status is the test's verdict (0: pass), a
 * number saying which check failed. */
static int in_child(int (*fn)(void)) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(fn());
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int child_drop(void) {
        uint64_t before_eff, before_prm, inh, eff, prm;
        PrivdropResult res;
        Error e;

        if (privdrop_get(&before_eff, &before_prm, &inh) < 0)
                return 1;
        if (privdrop_apply(PRIVDROP_KEEP, &res, &e) != 0)
                return 2;
        uint64_t want = PRIVDROP_KEEP & before_prm;
        if (res.kept != want || !res.bounding_cleared || res.bounding != want)
                return 3;
        if (privdrop_get(&eff, &prm, &inh) < 0 || eff != want || prm != want || inh != 0)
                return 4;
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                return 5;
        for (unsigned cap = 0; cap < 64; cap++) {
                int r = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);
                if (r < 0)
                        break;
                if (r != ((want & PRIVDROP_CAP(cap)) != 0))
                        return 6;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)cap, 0, 0) > 0)
                        return 7;
        }
        int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
        if (!res.securebits_locked || !(bits & SECBIT_NOROOT) || !(bits & SECBIT_NOROOT_LOCKED))
                return 8;
        /* gone for good: neither raised again nor regained */
        if (privdrop_apply(PRIVDROP_CAP(PRIVDROP_CAP_SETPCAP) | PRIVDROP_KEEP, &res, &e) != 0 ||
            res.kept != want)
                return 9;
        if (setuid(0) != 0 || privdrop_get(&eff, &prm, &inh) < 0 || eff != want)
                return 10;
        return 0;
}

static void test_drop(void **state) {
        (void)state;
        if (!can_drop())
                skip();
        assert_int_equal(in_child(child_drop), 0);
}

/* A file of another user's, mode 0600, for the child to fail to read
 * (test_drop_all makes it). */
static char other_file[64];

/* Keeping nothing leaves nothing. */
static int child_drop_all(void) {
        uint64_t eff, prm, inh;
        PrivdropResult res;
        Error e;

        if (open(other_file, O_RDONLY | O_CLOEXEC) < 0)
                return 1; /* root could, before */
        if (privdrop_apply(0, &res, &e) != 0 || res.kept != 0 || res.bounding != 0)
                return 2;
        if (privdrop_get(&eff, &prm, &inh) < 0 || eff || prm || inh)
                return 3;
        /* uid 0 without CAP_DAC_OVERRIDE: others' private files are closed */
        if (open(other_file, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
                return 4;
        return 0;
}

static void test_drop_all(void **state) {
        (void)state;
        if (!can_drop())
                skip();
        snprintf(other_file, sizeof(other_file), "/tmp/lwmi-test-privdrop-XXXXXX");
        int fd = mkstemp(other_file);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(chown(other_file, 65534, 65534), 0);
        assert_int_equal(chmod(other_file, 0600), 0);
        int verdict = in_child(child_drop_all);
        unlink(other_file);
        assert_int_equal(verdict, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_drop),
                cmocka_unit_test(test_drop_all),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
