/* Unit tests for the proc connector's message parser and request builder
 * (src/providers/proc_connector.c), fed crafted netlink datagrams: every
 * event kind the source uses, several messages in one datagram, unaligned
 * buffers, lengths that lie (netlink's, the connector's, too short for the
 * kind), foreign connector ids, netlink noop, error and overrun, more
 * events than room; and the socket on this machine when it may be used. */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_connector.h"

/* Append one netlink message holding a connector message with the
 * proc_event pe, its connector data cut to data_len bytes; returns the
 * new length of buf. */
static size_t put_event(unsigned char *buf, size_t at, const struct proc_event *pe,
                        size_t data_len, uint32_t idx) {
        struct nlmsghdr h = { 0 };
        struct cn_msg cn = { 0 };
        cn.id.idx = idx;
        cn.id.val = CN_VAL_PROC;
        cn.len = (uint16_t)data_len;
        h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + sizeof(cn) + data_len);
        h.nlmsg_type = NLMSG_DONE;
        memcpy(buf + at, &h, sizeof(h));
        memcpy(buf + at + NLMSG_HDRLEN, &cn, sizeof(cn));
        memcpy(buf + at + NLMSG_HDRLEN + sizeof(cn), pe, data_len);
        return at + NLMSG_ALIGN(h.nlmsg_len);
}

static size_t put(unsigned char *buf, size_t at, const struct proc_event *pe) {
        return put_event(buf, at, pe, sizeof(*pe), CN_IDX_PROC);
}

static struct proc_event fork_event(int parent, int child, int child_tgid) {
        struct proc_event pe;
        memset(&pe, 0, sizeof(pe));
        pe.what = PROC_EVENT_FORK;
        pe.timestamp_ns = 1000;
        pe.event_data.fork.parent_pid = parent;
        pe.event_data.fork.parent_tgid = parent;
        pe.event_data.fork.child_pid = child;
        pe.event_data.fork.child_tgid = child_tgid;
        return pe;
}

static void test_each_kind(void **state) {
        (void)state;
        unsigned char buf[4096];
        size_t len = 0;
        struct proc_event pe;

        pe = fork_event(10, 11, 11);
        len = put(buf, len, &pe);

        memset(&pe, 0, sizeof(pe));
        pe.what = PROC_EVENT_EXEC;
        pe.timestamp_ns = 2000;
        pe.event_data.exec.process_pid = 11;
        pe.event_data.exec.process_tgid = 11;
        len = put(buf, len, &pe);

        memset(&pe, 0, sizeof(pe));
        pe.what = PROC_EVENT_COMM;
        pe.event_data.comm.process_pid = 11;
        pe.event_data.comm.process_tgid = 11;
        memcpy(pe.event_data.comm.comm, "0123456789abcdef", 16); /* no NUL */
        len = put(buf, len, &pe);

        memset(&pe, 0, sizeof(pe));
        pe.what = PROC_EVENT_UID;
        pe.event_data.id.process_pid = 11;
        pe.event_data.id.process_tgid = 11;
        pe.event_data.id.r.ruid = 1000;
        pe.event_data.id.e.euid = 0;
        len = put(buf, len, &pe);

        memset(&pe, 0, sizeof(pe));
        pe.what = PROC_EVENT_EXIT;
        pe.timestamp_ns = 3000;
        pe.event_data.exit.process_pid = 11;
        pe.event_data.exit.process_tgid = 11;
        pe.event_data.exit.exit_code = 3 << 8;
        pe.event_data.exit.exit_signal = 17;
        pe.event_data.exit.parent_pid = 10;
        pe.event_data.exit.parent_tgid = 10;
        len = put(buf, len, &pe);

        memset(&pe, 0, sizeof(pe));
        pe.what = PROC_EVENT_NONE;
        pe.event_data.ack.err = EPERM;
        len = put(buf, len, &pe);

        memset(&pe, 0, sizeof(pe));
        pe.what = PROC_EVENT_SID;
        pe.event_data.sid.process_pid = 12;
        pe.event_data.sid.process_tgid = 12;
        len = put(buf, len, &pe);

        ProcCnEvent ev[16];
        size_t n = 99, skipped = 99;
        assert_int_equal(proc_connector_parse(buf, len, ev, 16, &n, &skipped), 0);
        assert_int_equal(n, 7);
        assert_int_equal(skipped, 0);

        assert_int_equal(ev[0].kind, PROC_CN_FORK);
        assert_int_equal(ev[0].pid, 11);
        assert_int_equal(ev[0].tgid, 11);
        assert_int_equal(ev[0].parent_tgid, 10);
        assert_int_equal(ev[0].timestamp_ns, 1000);
        assert_int_equal(ev[1].kind, PROC_CN_EXEC);
        assert_int_equal(ev[1].pid, 11);
        assert_int_equal(ev[1].timestamp_ns, 2000);
        assert_int_equal(ev[2].kind, PROC_CN_COMM);
        assert_string_equal(ev[2].comm, "0123456789abcdef"); /* terminated by us */
        assert_int_equal(ev[3].kind, PROC_CN_UID);
        assert_int_equal(ev[3].ruid, 1000);
        assert_int_equal(ev[3].euid, 0);
        assert_int_equal(ev[4].kind, PROC_CN_EXIT);
        assert_int_equal(ev[4].exit_code, 3 << 8);
        assert_int_equal(ev[4].exit_signal, 17);
        assert_int_equal(ev[4].parent_tgid, 10);
        assert_int_equal(ev[5].kind, PROC_CN_ACK);
        assert_int_equal(ev[5].err, EPERM);
        assert_int_equal(ev[6].kind, PROC_CN_OTHER);
        assert_int_equal(ev[6].pid, 12);
}

/* A thread's fork is reported as is (pid != tgid): the source drops it. */
static void test_thread_fork(void **state) {
        (void)state;
        unsigned char buf[256];
        struct proc_event pe = fork_event(10, 13, 10);
        size_t len = put(buf, 0, &pe);
        ProcCnEvent ev[1];
        size_t n;
        assert_int_equal(proc_connector_parse(buf, len, ev, 1, &n, NULL), 0);
        assert_int_equal(n, 1);
        assert_int_equal(ev[0].pid, 13);
        assert_int_equal(ev[0].tgid, 10);
}

/* The parser copies fields out: a datagram at an odd address parses the
 * same (UBSan would catch a misaligned read). */
static void test_unaligned(void **state) {
        (void)state;
        unsigned char raw[512];
        unsigned char aligned[256];
        struct proc_event pe = fork_event(1, 2, 2);
        size_t len = put(aligned, 0, &pe);
        len = put(aligned, len, &pe);
        memcpy(raw + 1, aligned, len);
        ProcCnEvent ev[4];
        size_t n;
        assert_int_equal(proc_connector_parse(raw + 1, len, ev, 4, &n, NULL), 0);
        assert_int_equal(n, 2);
        assert_int_equal(ev[1].kind, PROC_CN_FORK);
        assert_int_equal(ev[1].pid, 2);
}

/* An exit without the parent fields (older kernels) still parses. */
static void test_short_exit(void **state) {
        (void)state;
        unsigned char buf[256];
        struct proc_event pe;
        memset(&pe, 0, sizeof(pe));
        pe.what = PROC_EVENT_EXIT;
        pe.event_data.exit.process_pid = 5;
        pe.event_data.exit.process_tgid = 5;
        pe.event_data.exit.exit_code = 9;
        pe.event_data.exit.parent_tgid = 77; /* cut off below */
        size_t data = offsetof(struct proc_event, event_data) +
                      offsetof(struct exit_proc_event, parent_pid);
        size_t len = put_event(buf, 0, &pe, data, CN_IDX_PROC);
        ProcCnEvent ev[1];
        size_t n, skipped;
        assert_int_equal(proc_connector_parse(buf, len, ev, 1, &n, &skipped), 0);
        assert_int_equal(n, 1);
        assert_int_equal(ev[0].kind, PROC_CN_EXIT);
        assert_int_equal(ev[0].exit_code, 9);
        assert_int_equal(ev[0].parent_tgid, 0);
        /* one byte less than the exit status: not understood */
        len = put_event(buf, 0, &pe, data - 1, CN_IDX_PROC);
        assert_int_equal(proc_connector_parse(buf, len, ev, 1, &n, &skipped), 0);
        assert_int_equal(n, 0);
        assert_int_equal(skipped, 1);
}

/* Lengths that lie, foreign ids, netlink's own message types. */
static void test_malformed(void **state) {
        (void)state;
        unsigned char buf[1024] = { 0 };
        ProcCnEvent ev[8];
        size_t n, skipped;
        struct proc_event pe = fork_event(1, 2, 2);

        /* shorter than a netlink header; or a header claiming less than
         * itself or more than the datagram */
        assert_int_equal(proc_connector_parse(buf, 0, ev, 8, &n, &skipped), -EBADMSG);
        assert_int_equal(proc_connector_parse(buf, 15, ev, 8, &n, &skipped), -EBADMSG);
        size_t len = put(buf, 0, &pe);
        struct nlmsghdr h;
        memcpy(&h, buf, sizeof(h));
        h.nlmsg_len = 8;
        memcpy(buf, &h, sizeof(h));
        assert_int_equal(proc_connector_parse(buf, len, ev, 8, &n, &skipped), -EBADMSG);
        h.nlmsg_len = (uint32_t)len + 1;
        memcpy(buf, &h, sizeof(h));
        assert_int_equal(proc_connector_parse(buf, len, ev, 8, &n, &skipped), -EBADMSG);

        /* a good message, then one running past the end: the first counts */
        len = put(buf, 0, &pe);
        size_t second = len;
        len = put(buf, len, &pe);
        assert_int_equal(proc_connector_parse(buf, len - 4, ev, 8, &n, &skipped), 0);
        assert_int_equal(n, 1);

        /* the connector's length beyond the netlink message */
        len = put(buf, 0, &pe);
        struct cn_msg cn;
        memcpy(&cn, buf + NLMSG_HDRLEN, sizeof(cn));
        cn.len = (uint16_t)(sizeof(pe) + 8);
        memcpy(buf + NLMSG_HDRLEN, &cn, sizeof(cn));
        assert_int_equal(proc_connector_parse(buf, len, ev, 8, &n, &skipped), 0);
        assert_int_equal(n, 0);
        assert_int_equal(skipped, 1);

        /* data too short for a fork; shorter than the event header */
        len = put_event(buf, 0, &pe, offsetof(struct proc_event, event_data) + 8, CN_IDX_PROC);
        len = put_event(buf, len, &pe, 12, CN_IDX_PROC);
        assert_int_equal(proc_connector_parse(buf, len, ev, 8, &n, &skipped), 0);
        assert_int_equal(n, 0);
        assert_int_equal(skipped, 2);

        /* another connector (not process events) */
        len = put_event(buf, 0, &pe, sizeof(pe), CN_IDX_PROC + 1);
        assert_int_equal(proc_connector_parse(buf, len, ev, 8, &n, &skipped), 0);
        assert_int_equal(n, 0);
        assert_int_equal(skipped, 1);

        /* a payload shorter than a connector header */
        struct nlmsghdr small = { .nlmsg_len = NLMSG_HDRLEN + 4, .nlmsg_type = NLMSG_DONE };
        memset(buf, 0, sizeof(buf));
        memcpy(buf, &small, sizeof(small));
        assert_int_equal(proc_connector_parse(buf, NLMSG_HDRLEN + 4, ev, 8, &n, &skipped), 0);
        assert_int_equal(skipped, 1);

        /* noop and error are skipped; overrun is reported */
        len = put(buf, 0, &pe);
        memcpy(&h, buf, sizeof(h));
        h.nlmsg_type = NLMSG_NOOP;
        memcpy(buf, &h, sizeof(h));
        len = put(buf, len, &pe);
        memcpy(&h, buf + second, sizeof(h));
        h.nlmsg_type = NLMSG_ERROR;
        memcpy(buf + second, &h, sizeof(h));
        size_t third = len;
        len = put(buf, len, &pe);
        memcpy(&h, buf + third, sizeof(h));
        h.nlmsg_type = NLMSG_OVERRUN;
        memcpy(buf + third, &h, sizeof(h));
        assert_int_equal(proc_connector_parse(buf, len, ev, 8, &n, &skipped), 0);
        assert_int_equal(n, 1);
        assert_int_equal(ev[0].kind, PROC_CN_OVERRUN);
        assert_int_equal(skipped, 2);
}

/* More events than room: the rest are counted as skipped. */
static void test_no_room(void **state) {
        (void)state;
        unsigned char buf[2048];
        size_t len = 0;
        struct proc_event pe = fork_event(1, 2, 2);
        for (int k = 0; k < 5; k++)
                len = put(buf, len, &pe);
        ProcCnEvent ev[3];
        size_t n, skipped;
        assert_int_equal(proc_connector_parse(buf, len, ev, 3, &n, &skipped), 0);
        assert_int_equal(n, 3);
        assert_int_equal(skipped, 2);
}

/* The LISTEN / IGNORE request: a connector message to the process
 * connector carrying the operation. */
static void test_request(void **state) {
        (void)state;
        unsigned char buf[PROC_CN_REQUEST_SIZE];
        for (int listen = 0; listen < 2; listen++) {
                size_t len = proc_connector_request(buf, listen, 42);
                struct nlmsghdr h;
                struct cn_msg cn;
                uint32_t op;
                assert_int_equal(len, NLMSG_HDRLEN + sizeof(cn) + sizeof(op));
                memcpy(&h, buf, sizeof(h));
                memcpy(&cn, buf + NLMSG_HDRLEN, sizeof(cn));
                memcpy(&op, buf + NLMSG_HDRLEN + sizeof(cn), sizeof(op));
                assert_int_equal(h.nlmsg_len, len);
                assert_int_equal(h.nlmsg_type, NLMSG_DONE);
                assert_int_equal(h.nlmsg_seq, 42);
                assert_int_equal(cn.id.idx, CN_IDX_PROC);
                assert_int_equal(cn.id.val, CN_VAL_PROC);
                assert_int_equal(cn.len, sizeof(op));
                assert_int_equal(op, listen ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE);
                /* its 4 bytes of data are no proc_event: not understood */
                ProcCnEvent ev[1];
                size_t n, skipped;
                assert_int_equal(proc_connector_parse(buf, len, ev, 1, &n, &skipped), 0);
                assert_int_equal(n, 0);
                assert_int_equal(skipped, 1);
        }
}

/* On this machine: allowed or not, with a reason; when allowed, LISTEN is
 * answered and a fork of ours is seen. */
static void test_socket(void **state) {
        (void)state;
        char why[256] = "";
        if (!proc_connector_allowed(why, sizeof(why))) {
                assert_non_null(strstr(why, "CAP_NET_ADMIN"));
                skip();
        }
        int fd;
        assert_int_equal(proc_connector_open(1 << 20, &fd), 0);
        unsigned char buf[8192];
        assert_int_equal(proc_connector_recv(fd, buf, sizeof(buf)), 0); /* nothing yet */
        assert_int_equal(proc_connector_send(fd, true), 0);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0)
                _exit(0);
        bool acked = false, forked = false;
        for (int tries = 0; tries < 2000 && !(acked && forked); tries++) {
                long len = proc_connector_recv(fd, buf, sizeof(buf));
                if (len == 0) {
                        usleep(1000);
                        continue;
                }
                assert_true(len > 0 || len == -ENOBUFS);
                ProcCnEvent ev[64];
                size_t n;
                if (len < 0 || proc_connector_parse(buf, (size_t)len, ev, 64, &n, NULL) != 0)
                        continue;
                for (size_t k = 0; k < n; k++) {
                        if (ev[k].kind == PROC_CN_ACK && ev[k].err == 0)
                                acked = true;
                        if (ev[k].kind == PROC_CN_FORK && ev[k].pid == (uint32_t)child)
                                forked = true;
                }
        }
        assert_true(acked);
        assert_true(forked);
        assert_int_equal(proc_connector_send(fd, false), 0);
        close(fd);
        int status;
        (void)waitpid(child, &status, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_each_kind),  cmocka_unit_test(test_thread_fork),
                cmocka_unit_test(test_unaligned),  cmocka_unit_test(test_short_exit),
                cmocka_unit_test(test_malformed),  cmocka_unit_test(test_no_room),
                cmocka_unit_test(test_request),    cmocka_unit_test(test_socket),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
