/* rtnetlink notifications into interface changes; see netifwatch.h. */
#include "netifwatch.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem.h"

/* A receive buffer this large rides out bursts (many veths at once). */
#define NETIFWATCH_RCVBUF (1024 * 1024)

struct NetifWatch {
        int fd;
        NetifTable table;
        NetifWatchFn fn;
        void *userdata;
        bool resync; /* notifications were lost: dump again */
        uint64_t overflows;
};

static unsigned netifwatch_group(unsigned group) {
        return 1u << (group - 1);
}

int netifwatch_new(NetifWatchFn fn, void *userdata, NetifWatch **ret, Error *err) {
        NetifWatch *w = mem_calloc(1, sizeof(NetifWatch));
        if (!w)
                return -ENOMEM;
        w->fn = fn;
        w->userdata = userdata;
        int r = rtnl_open(netifwatch_group(RTNLGRP_LINK) | netifwatch_group(RTNLGRP_IPV4_IFADDR) |
                                  netifwatch_group(RTNLGRP_IPV6_IFADDR),
                          true, &w->fd);
        if (r < 0) {
                mem_free(w);
                return r == -ENOMEM
                               ? r
                               : error_set(err, WBEM_E_PROVIDER_FAILURE,
                                           "cannot open a NETLINK_ROUTE socket: %s", strerror(-r));
        }
        int size = NETIFWATCH_RCVBUF;
        if (setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        /* Joined before the dump: a change in between is seen twice at
         * worst, and the table makes the second a no-op. */
        r = netiftab_snapshot(&w->table);
        if (r < 0) {
                close(w->fd);
                mem_free(w);
                return r == -ENOMEM ? r
                                    : error_set(err, WBEM_E_PROVIDER_FAILURE,
                                                "rtnetlink dump failed: %s", strerror(-r));
        }
        *ret = w;
        return 0;
}

NetifWatch *netifwatch_free(NetifWatch *w) {
        if (!w)
                return NULL;
        close(w->fd);
        netiftab_done(&w->table);
        mem_free(w);
        return NULL;
}

int netifwatch_fd(const NetifWatch *w) {
        return w->fd;
}

uint64_t netifwatch_overflows(const NetifWatch *w) {
        return w->overflows;
}

const NetifTable *netifwatch_table(const NetifWatch *w) {
        return &w->table;
}

static void netifwatch_report(NetifWatch *w, NetifChange change, const NetifEntry *before,
                              uint32_t index) {
        const NetifEntry *after = change == NETIF_DELETED ? NULL : netiftab_find(&w->table, index);
        w->fn(w->userdata, change, change == NETIF_CREATED ? NULL : before, after);
}

static int netifwatch_link(void *userdata, const RtnlLink *l) {
        NetifWatch *w = userdata;
        NetifChange change;
        NetifEntry before = { 0 };
        int r = netiftab_link(&w->table, l, &change, &before);
        if (r < 0)
                return r;
        if (change != NETIF_UNCHANGED)
                netifwatch_report(w, change, &before, l->index);
        netif_entry_done(&before);
        return 0;
}

static int netifwatch_addr(void *userdata, const RtnlAddr *a) {
        NetifWatch *w = userdata;
        NetifChange change;
        NetifEntry before = { 0 };
        int r = netiftab_addr(&w->table, a, &change, &before);
        if (r < 0)
                return r;
        if (change != NETIF_UNCHANGED)
                netifwatch_report(w, change, &before, a->index);
        netif_entry_done(&before);
        return 0;
}

static const RtnlOps netifwatch_ops = {
        .link = netifwatch_link,
        .addr = netifwatch_addr,
};

static int netifwatch_diff_one(void *userdata, NetifChange change, const NetifEntry *before,
                               const NetifEntry *after) {
        NetifWatch *w = userdata;
        w->fn(w->userdata, change, before, after);
        return 0;
}

static int netifwatch_resync(NetifWatch *w) {
        NetifTable now = { 0 };
        int r = netiftab_snapshot(&now);
        if (r < 0)
                return r;
        (void)netiftab_diff(&w->table, &now, netifwatch_diff_one, w);
        netiftab_done(&w->table);
        w->table = now;
        w->resync = false;
        return 0;
}

int netifwatch_dispatch(NetifWatch *w) {
        union {
                struct nlmsghdr h;
                char bytes[32768];
        } buf;
        for (unsigned n = 0; n < NETIFWATCH_MAX_READS; n++) {
                struct sockaddr_nl from;
                socklen_t from_len = sizeof(from);
                ssize_t got = recvfrom(w->fd, buf.bytes, sizeof(buf.bytes), 0,
                                       (struct sockaddr *)&from, &from_len);
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        if (errno == ENOBUFS) {
                                w->overflows++;
                                w->resync = true;
                                continue;
                        }
                        return -errno;
                }
                if (from.nl_pid != 0 || w->resync)
                        continue; /* not the kernel's; or the dump will tell */
                int r = rtnl_parse(buf.bytes, (size_t)got, &netifwatch_ops, w, NULL);
                if (r == -ENOMEM) {
                        w->resync = true;
                        return r;
                }
                /* a malformed datagram (-EBADMSG) is skipped: nothing to do */
        }
        if (w->resync)
                return netifwatch_resync(w);
        return 0;
}
