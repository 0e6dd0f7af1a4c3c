/* Unit tests for sock_diag queries (src/daemon/sockdiag.c): a Unix
 * socket's peer, and the exact count of bytes the peer has not read
 * (where SIOCOUTQ counts the kernel's buffers with their overhead). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockdiag.h"

static uint64_t inode_of(int fd) {
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        return (uint64_t)st.st_ino;
}

static void test_peer_and_unread(void **state) {
        int fds[2];
        char buf[4096] = { 0 };
        uint64_t peer = 0, unread = 99;
        (void)state;

        int diag = sockdiag_open();
        if (diag < 0) {
                /* no unix_diag in this kernel: lwmid falls back to SIOCOUTQ */
                skip();
        }
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sockdiag_unix_peer(diag, 1, inode_of(fds[0]), &peer), 0);
        assert_int_equal(peer, inode_of(fds[1]));

        assert_int_equal(sockdiag_unix_unread(diag, 2, peer, &unread), 0);
        assert_int_equal(unread, 0);
        /* ten small writes, part of them read: exactly what is left */
        for (int i = 0; i < 10; i++)
                assert_int_equal(write(fds[0], buf, 100), 100);
        assert_int_equal(read(fds[1], buf, 150), 150);
        assert_int_equal(sockdiag_unix_unread(diag, 3, peer, &unread), 0);
        assert_int_equal(unread, 850);

        /* errors: no such socket, bad arguments */
        assert_int_equal(sockdiag_unix_unread(diag, 4, 0, &unread), -EINVAL);
        assert_int_equal(sockdiag_unix_unread(-1, 5, peer, &unread), -EINVAL);
        close(fds[0]);
        close(fds[1]);
        int r = sockdiag_unix_unread(diag, 6, peer, &unread);
        assert_true(r == -ENOENT);
        /* an unconnected socket has no peer */
        int lone = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(lone >= 0);
        assert_int_equal(sockdiag_unix_peer(diag, 7, inode_of(lone), &peer), -ENOENT);
        close(lone);
        close(diag);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_peer_and_unread),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
