/* The proc connector's socket and message parser; see proc_connector.h.
 *
 * Layout of a datagram: netlink messages (struct nlmsghdr, then payload,
 * each padded to NLMSG_ALIGNTO), each payload a struct cn_msg (connector id
 * CN_IDX_PROC/CN_VAL_PROC, data length) followed by a struct proc_event
 * (what, cpu, timestamp, then a union by kind). Every field is copied out
 * with memcpy (the buffer need not be aligned) after checking that it lies
 * inside both the netlink message and the connector's stated length. */
#include "proc_connector.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The initial namespaces' inode numbers (PROC_USER_INIT_INO and
 * PROC_PID_INIT_INO of the kernel's include/linux/proc_ns.h), fixed. */
#define PROC_CN_INIT_USER_NS "user:[4026531837]"
#define PROC_CN_INIT_PID_NS "pid:[4026531836]"
#define PROC_CN_CAP_NET_ADMIN 12

#define PROC_CN_EVENT_DATA offsetof(struct proc_event, event_data)

/* Whether the union member of `size` bytes fits the event's data. */
static bool proc_connector_fits(size_t data_len, size_t size) {
        return data_len >= PROC_CN_EVENT_DATA + size;
}

/* One connector payload into *ev: true when it is a process event we
 * understood. */
static bool proc_connector_event(const unsigned char *p, size_t len, ProcCnEvent *ev) {
        struct cn_msg cn;
        if (len < sizeof(cn))
                return false;
        memcpy(&cn, p, sizeof(cn));
        if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC)
                return false;
        size_t data_len = cn.len;
        if (data_len > len - sizeof(cn) || data_len < PROC_CN_EVENT_DATA)
                return false;

        /* Copy what there is into a zeroed event: reading a member then
         * never goes past the data, and the size checks below say which
         * members were really there. */
        struct proc_event pe;
        memset(&pe, 0, sizeof(pe));
        memcpy(&pe, p + sizeof(cn), data_len < sizeof(pe) ? data_len : sizeof(pe));

        *ev = (ProcCnEvent){ .timestamp_ns = pe.timestamp_ns };
        switch ((uint32_t)pe.what) {
        case PROC_EVENT_NONE:
                if (!proc_connector_fits(data_len, sizeof(pe.event_data.ack)))
                        return false;
                ev->kind = PROC_CN_ACK;
                ev->err = pe.event_data.ack.err;
                return true;
        case PROC_EVENT_FORK:
                if (!proc_connector_fits(data_len, sizeof(pe.event_data.fork)))
                        return false;
                ev->kind = PROC_CN_FORK;
                ev->pid = (uint32_t)pe.event_data.fork.child_pid;
                ev->tgid = (uint32_t)pe.event_data.fork.child_tgid;
                ev->parent_pid = (uint32_t)pe.event_data.fork.parent_pid;
                ev->parent_tgid = (uint32_t)pe.event_data.fork.parent_tgid;
                return true;
        case PROC_EVENT_EXEC:
                if (!proc_connector_fits(data_len, sizeof(pe.event_data.exec)))
                        return false;
                ev->kind = PROC_CN_EXEC;
                ev->pid = (uint32_t)pe.event_data.exec.process_pid;
                ev->tgid = (uint32_t)pe.event_data.exec.process_tgid;
                return true;
        case PROC_EVENT_UID:
        case PROC_EVENT_GID:
                if (!proc_connector_fits(data_len, sizeof(pe.event_data.id)))
                        return false;
                ev->kind = (uint32_t)pe.what == PROC_EVENT_UID ? PROC_CN_UID : PROC_CN_GID;
                ev->pid = (uint32_t)pe.event_data.id.process_pid;
                ev->tgid = (uint32_t)pe.event_data.id.process_tgid;
                ev->ruid = pe.event_data.id.r.ruid;
                ev->euid = pe.event_data.id.e.euid;
                return true;
        case PROC_EVENT_COMM:
                if (!proc_connector_fits(data_len, sizeof(pe.event_data.comm)))
                        return false;
                ev->kind = PROC_CN_COMM;
                ev->pid = (uint32_t)pe.event_data.comm.process_pid;
                ev->tgid = (uint32_t)pe.event_data.comm.process_tgid;
                memcpy(ev->comm, pe.event_data.comm.comm, sizeof(pe.event_data.comm.comm));
                ev->comm[sizeof(pe.event_data.comm.comm)] = '\0';
                return true;
        case PROC_EVENT_EXIT: {
                /* the parent fields came later (Linux 4.?): optional */
                size_t base = offsetof(struct exit_proc_event, parent_pid);
                if (!proc_connector_fits(data_len, base))
                        return false;
                ev->kind = PROC_CN_EXIT;
                ev->pid = (uint32_t)pe.event_data.exit.process_pid;
                ev->tgid = (uint32_t)pe.event_data.exit.process_tgid;
                ev->exit_code = pe.event_data.exit.exit_code;
                ev->exit_signal = pe.event_data.exit.exit_signal;
                if (proc_connector_fits(data_len, sizeof(pe.event_data.exit))) {
                        ev->parent_pid = (uint32_t)pe.event_data.exit.parent_pid;
                        ev->parent_tgid = (uint32_t)pe.event_data.exit.parent_tgid;
                }
                return true;
        }
        default:
                /* sid, ptrace, coredump, and kinds of later kernels: the
                 * first two fields are the task's in each */
                if (!proc_connector_fits(data_len, 2 * sizeof(uint32_t)))
                        return false;
                ev->kind = PROC_CN_OTHER;
                ev->pid = (uint32_t)pe.event_data.exec.process_pid;
                ev->tgid = (uint32_t)pe.event_data.exec.process_tgid;
                return true;
        }
}

int proc_connector_parse(const void *buf, size_t len, ProcCnEvent *events, size_t max,
                         size_t *ret_n, size_t *ret_skipped) {
        const unsigned char *p = buf;
        size_t n = 0, skipped = 0, messages = 0;

        while (len >= sizeof(struct nlmsghdr)) {
                struct nlmsghdr h;
                memcpy(&h, p, sizeof(h));
                if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
                        break; /* does not fit: the rest is garbage */
                messages++;
                const unsigned char *payload = p + NLMSG_HDRLEN;
                size_t payload_len = h.nlmsg_len - NLMSG_HDRLEN;
                ProcCnEvent ev;
                bool ok;
                if (h.nlmsg_type == NLMSG_OVERRUN) {
                        ev = (ProcCnEvent){ .kind = PROC_CN_OVERRUN };
                        ok = true;
                } else if (h.nlmsg_type == NLMSG_NOOP || h.nlmsg_type == NLMSG_ERROR)
                        ok = false;
                else
                        ok = proc_connector_event(payload, payload_len, &ev);
                if (ok && n < max)
                        events[n++] = ev;
                else
                        skipped++;
                size_t step = NLMSG_ALIGN(h.nlmsg_len);
                if (step >= len)
                        break;
                p += step;
                len -= step;
        }
        if (messages == 0)
                return -EBADMSG;
        *ret_n = n;
        if (ret_skipped)
                *ret_skipped = skipped;
        return 0;
}

size_t proc_connector_request(void *buf, bool listen, uint32_t seq) {
        unsigned char *p = buf;
        struct nlmsghdr h = { 0 };
        struct cn_msg cn = { 0 };
        uint32_t op = listen ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE;
        size_t total = NLMSG_HDRLEN + sizeof(cn) + sizeof(op);

        memset(buf, 0, PROC_CN_REQUEST_SIZE);
        h.nlmsg_len = (uint32_t)total;
        h.nlmsg_type = NLMSG_DONE;
        h.nlmsg_pid = 0; /* the kernel fills in our port id */
        h.nlmsg_seq = seq;
        cn.id.idx = CN_IDX_PROC;
        cn.id.val = CN_VAL_PROC;
        cn.seq = seq;
        cn.len = sizeof(op);
        memcpy(p, &h, sizeof(h));
        memcpy(p + NLMSG_HDRLEN, &cn, sizeof(cn));
        memcpy(p + NLMSG_HDRLEN + sizeof(cn), &op, sizeof(op));
        return total;
}

int proc_connector_open(size_t rcvbuf, int *ret) {
        int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
        if (fd < 0)
                return -errno;
        int size = rcvbuf > (size_t)INT32_MAX ? INT32_MAX : (int)rcvbuf;
        /* beyond net.core.rmem_max needs CAP_NET_ADMIN, which we have when
         * listening works at all; fall back to what is allowed */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        struct sockaddr_nl addr = {
                .nl_family = AF_NETLINK,
                .nl_groups = CN_IDX_PROC,
                .nl_pid = 0, /* the kernel assigns a port id */
        };
        if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret = fd;
        return 0;
}

int proc_connector_send(int fd, bool listen) {
        unsigned char buf[PROC_CN_REQUEST_SIZE];
        size_t len = proc_connector_request(buf, listen, 1);
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        for (;;) {
                ssize_t n = sendto(fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
                if (n == (ssize_t)len)
                        return 0;
                if (n >= 0)
                        return -EIO;
                if (errno != EINTR)
                        return -errno;
        }
}

long proc_connector_recv(int fd, void *buf, size_t size) {
        for (;;) {
                struct sockaddr_nl from;
                socklen_t from_len = sizeof(from);
                ssize_t n = recvfrom(fd, buf, size, 0, (struct sockaddr *)&from, &from_len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        return -errno;
                }
                /* only the kernel (port 0) speaks for the process events */
                if (from_len < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
                        return 0;
                return (long)n;
        }
}

/* Whether the symlink at path reads exactly `expected`. */
static bool proc_connector_link_is(const char *path, const char *expected) {
        char buf[64];
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);
        if (n < 0)
                return false;
        buf[n] = '\0';
        return strcmp(buf, expected) == 0;
}

/* The effective capability set from /proc/self/status. */
static bool proc_connector_cap_eff(uint64_t *ret) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        bool found = false;
        if (!f)
                return false;
        while (!found && fgets(line, sizeof(line), f)) {
                unsigned long long v;
                if (sscanf(line, "CapEff: %llx", &v) == 1) {
                        *ret = v;
                        found = true;
                }
        }
        fclose(f);
        return found;
}

bool proc_connector_allowed(char *why, size_t why_size) {
        uint64_t caps = 0;
        bool in_init = proc_connector_link_is("/proc/self/ns/user", PROC_CN_INIT_USER_NS) &&
                       proc_connector_link_is("/proc/self/ns/pid", PROC_CN_INIT_PID_NS);
        bool has_cap = proc_connector_cap_eff(&caps) && (caps >> PROC_CN_CAP_NET_ADMIN) & 1;
        if (in_init && has_cap)
                return true;
        snprintf(why, why_size,
                 "the process event source (the kernel's proc connector) needs CAP_NET_ADMIN in "
                 "the initial user and pid namespaces (lwmid %s)",
                 !in_init ? "runs in another user or pid namespace"
                          : "lacks CAP_NET_ADMIN");
        return false;
}
