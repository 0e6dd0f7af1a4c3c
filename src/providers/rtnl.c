/* rtnetlink link and address messages: parsing and dumps; see rtnl.h. */
#include "rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* IF_OPER_* of linux/if.h, which clashes with net/if.h. */
enum {
        RTNL_OPER_UNKNOWN,
        RTNL_OPER_NOTPRESENT,
        RTNL_OPER_DOWN,
        RTNL_OPER_LOWERLAYERDOWN,
        RTNL_OPER_TESTING,
        RTNL_OPER_DORMANT,
        RTNL_OPER_UP,
};

#define RTNL_ALIGN(n) (((n) + 3u) & ~(size_t)3u)

/* A window on the attributes of one message. */
typedef struct RtnlAttr {
        uint16_t type;
        const uint8_t *data;
        size_t len;
} RtnlAttr;

/* The next attribute of [*p, end): 1 with *ret, 0 at the end, -EBADMSG. */
static int rtnl_next_attr(const uint8_t **p, const uint8_t *end, RtnlAttr *ret) {
        size_t left = (size_t)(end - *p);
        if (left < sizeof(struct rtattr))
                return left == 0 ? 0 : -EBADMSG;
        struct rtattr rta;
        memcpy(&rta, *p, sizeof(rta));
        if (rta.rta_len < sizeof(rta) || rta.rta_len > left)
                return -EBADMSG;
        ret->type = rta.rta_type & NLA_TYPE_MASK;
        ret->data = *p + sizeof(rta);
        ret->len = rta.rta_len - sizeof(rta);
        size_t step = RTNL_ALIGN(rta.rta_len);
        *p += step > left ? left : step;
        return 1;
}

static uint32_t rtnl_u32(const RtnlAttr *a) {
        uint32_t v;
        memcpy(&v, a->data, sizeof(v));
        return v;
}

/* The counters of struct rtnl_link_stats64 (or the 32-bit struct
 * rtnl_link_stats) that rtnl.h shows; their order in both is rx_packets,
 * tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped,
 * tx_dropped. A shorter attribute (an older kernel) is read as far as it
 * goes. */
static void rtnl_stats(const RtnlAttr *a, size_t width, RtnlStats *ret) {
        uint64_t v[8] = { 0 };
        for (size_t k = 0; k < 8 && (k + 1) * width <= a->len; k++) {
                if (width == 8) {
                        memcpy(&v[k], a->data + k * 8, 8);
                } else {
                        uint32_t x;
                        memcpy(&x, a->data + k * 4, 4);
                        v[k] = x;
                }
        }
        *ret = (RtnlStats){ .rx_packets = v[0],
                            .tx_packets = v[1],
                            .rx_bytes = v[2],
                            .tx_bytes = v[3],
                            .rx_errors = v[4],
                            .tx_errors = v[5],
                            .rx_dropped = v[6],
                            .tx_dropped = v[7] };
}

static int rtnl_parse_link(const struct nlmsghdr *h, const uint8_t *body, size_t len,
                           const RtnlOps *ops, void *userdata) {
        struct ifinfomsg ifi;
        if (len < sizeof(ifi))
                return -EBADMSG;
        memcpy(&ifi, body, sizeof(ifi));
        RtnlLink l = {
                .deleted = h->nlmsg_type == RTM_DELLINK,
                .index = (uint32_t)ifi.ifi_index,
                .flags = ifi.ifi_flags,
        };
        bool have64 = false;
        const uint8_t *p = body + RTNL_ALIGN(sizeof(ifi)), *end = body + len;
        if (p > end)
                p = end;
        RtnlAttr a;
        int r;
        while ((r = rtnl_next_attr(&p, end, &a)) == 1) {
                switch (a.type) {
                case IFLA_IFNAME: {
                        /* NUL-terminated; an unterminated or empty name is malformed */
                        const void *nul = memchr(a.data, '\0', a.len);
                        size_t n = nul ? (size_t)((const uint8_t *)nul - a.data) : a.len;
                        if (!nul || n == 0 || n >= sizeof(l.name))
                                return -EBADMSG;
                        memcpy(l.name, a.data, n);
                        l.name[n] = '\0';
                        l.has_name = true;
                        break;
                }
                case IFLA_ADDRESS:
                        if (a.len > RTNL_HWADDR_MAX)
                                return -EBADMSG;
                        memcpy(l.hwaddr, a.data, a.len);
                        l.hwaddr_len = a.len;
                        break;
                case IFLA_MTU:
                        if (a.len < 4)
                                return -EBADMSG;
                        l.mtu = rtnl_u32(&a);
                        l.has_mtu = true;
                        break;
                case IFLA_OPERSTATE:
                        if (a.len < 1)
                                return -EBADMSG;
                        l.operstate = a.data[0];
                        l.has_operstate = true;
                        break;
                case IFLA_STATS64:
                        rtnl_stats(&a, 8, &l.stats);
                        l.has_stats = have64 = true;
                        break;
                case IFLA_STATS:
                        if (!have64) {
                                rtnl_stats(&a, 4, &l.stats);
                                l.has_stats = true;
                        }
                        break;
                default:
                        break;
                }
        }
        if (r < 0)
                return r;
        if (ifi.ifi_index <= 0)
                return -EBADMSG;
        return ops->link ? ops->link(userdata, &l) : 0;
}

static int rtnl_parse_addr(const struct nlmsghdr *h, const uint8_t *body, size_t len,
                           const RtnlOps *ops, void *userdata) {
        struct ifaddrmsg ifa;
        if (len < sizeof(ifa))
                return -EBADMSG;
        memcpy(&ifa, body, sizeof(ifa));
        if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
                return 0;
        size_t alen = ifa.ifa_family == AF_INET ? 4 : 16;
        if (ifa.ifa_prefixlen > alen * 8 || ifa.ifa_index == 0)
                return -EBADMSG;
        RtnlAddr out = {
                .deleted = h->nlmsg_type == RTM_DELADDR,
                .family = ifa.ifa_family,
                .prefixlen = ifa.ifa_prefixlen,
                .index = ifa.ifa_index,
        };
        /* IFA_LOCAL is the interface's own address (IFA_ADDRESS is the
         * peer's on a point-to-point link); IPv6 gives IFA_ADDRESS only. */
        bool have_local = false, have_address = false;
        uint8_t local[16], address[16];
        const uint8_t *p = body + RTNL_ALIGN(sizeof(ifa)), *end = body + len;
        if (p > end)
                p = end;
        RtnlAttr a;
        int r;
        while ((r = rtnl_next_attr(&p, end, &a)) == 1) {
                if (a.type != IFA_LOCAL && a.type != IFA_ADDRESS)
                        continue;
                if (a.len != alen)
                        return -EBADMSG;
                if (a.type == IFA_LOCAL) {
                        memcpy(local, a.data, alen);
                        have_local = true;
                } else {
                        memcpy(address, a.data, alen);
                        have_address = true;
                }
        }
        if (r < 0)
                return r;
        if (!have_local && !have_address)
                return -EBADMSG;
        memcpy(out.addr, have_local ? local : address, alen);
        return ops->addr ? ops->addr(userdata, &out) : 0;
}

int rtnl_parse(const void *buf, size_t len, const RtnlOps *ops, void *userdata,
               bool *ret_interrupted) {
        const uint8_t *p = buf, *end = p + len;
        while (p < end) {
                size_t left = (size_t)(end - p);
                struct nlmsghdr h;
                if (left < sizeof(h))
                        return -EBADMSG;
                memcpy(&h, p, sizeof(h));
                if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > left)
                        return -EBADMSG;
                const uint8_t *body = p + sizeof(h);
                size_t body_len = h.nlmsg_len - sizeof(h);
                size_t step = NLMSG_ALIGN(h.nlmsg_len);
                p += step > left ? left : step;
                if ((h.nlmsg_flags & NLM_F_DUMP_INTR) && ret_interrupted)
                        *ret_interrupted = true;

                int r = 0;
                switch (h.nlmsg_type) {
                case NLMSG_DONE:
                        return 1;
                case NLMSG_ERROR: {
                        int32_t error;
                        if (body_len < sizeof(error))
                                return -EBADMSG;
                        memcpy(&error, body, sizeof(error));
                        if (error > 0 || error < -4095)
                                return -EBADMSG;
                        if (error < 0)
                                return error;
                        break;
                }
                case RTM_NEWLINK:
                case RTM_DELLINK:
                        r = rtnl_parse_link(&h, body, body_len, ops, userdata);
                        break;
                case RTM_NEWADDR:
                case RTM_DELADDR:
                        r = rtnl_parse_addr(&h, body, body_len, ops, userdata);
                        break;
                default:
                        break;
                }
                if (r != 0)
                        return r;
        }
        return 0;
}

void rtnl_format_hwaddr(const uint8_t *addr, size_t len, char *buf, size_t size) {
        size_t o = 0;
        if (size == 0)
                return;
        buf[0] = '\0';
        for (size_t k = 0; k < len && o + 4 <= size; k++)
                o += (size_t)snprintf(buf + o, size - o, k ? ":%02x" : "%02x", addr[k]);
}

void rtnl_format_addr(const RtnlAddr *a, char *buf, size_t size) {
        char text[INET6_ADDRSTRLEN];
        if (!inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->addr, text, sizeof(text)))
                text[0] = '\0';
        snprintf(buf, size, "%s/%u", text, a->prefixlen);
}

const char *rtnl_operstate_name(uint8_t operstate) {
        switch (operstate) {
        case RTNL_OPER_NOTPRESENT:
                return "NotPresent";
        case RTNL_OPER_DOWN:
                return "Down";
        case RTNL_OPER_LOWERLAYERDOWN:
                return "LowerLayerDown";
        case RTNL_OPER_TESTING:
                return "Testing";
        case RTNL_OPER_DORMANT:
                return "Dormant";
        case RTNL_OPER_UP:
                return "Up";
        default:
                return "Unknown";
        }
}

int rtnl_open(unsigned groups, bool nonblock, int *ret_fd) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
                        NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

int rtnl_dump(int fd, uint16_t type, uint32_t seq, const RtnlOps *ops, void *userdata) {
        struct {
                struct nlmsghdr h;
                union {
                        struct ifinfomsg ifi;
                        struct ifaddrmsg ifa;
                };
        } req;
        memset(&req, 0, sizeof(req));
        req.h.nlmsg_len = NLMSG_LENGTH(type == RTM_GETLINK ? sizeof(req.ifi) : sizeof(req.ifa));
        req.h.nlmsg_type = type;
        req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        req.h.nlmsg_seq = seq;
        if (type == RTM_GETLINK)
                req.ifi.ifi_family = AF_UNSPEC;
        else
                req.ifa.ifa_family = AF_UNSPEC;
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
                return -errno;

        /* 32 KiB holds any one datagram the kernel sends for a dump. */
        static const size_t buf_size = 32768;
        uint8_t buf[32768];
        bool interrupted = false;
        for (;;) {
                struct sockaddr_nl from;
                socklen_t from_len = sizeof(from);
                ssize_t n = recvfrom(fd, buf, buf_size, 0, (struct sockaddr *)&from, &from_len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (from.nl_pid != 0)
                        continue; /* not the kernel */
                int r = rtnl_parse(buf, (size_t)n, ops, userdata, &interrupted);
                if (r < 0)
                        return r;
                if (r == 1)
                        return interrupted ? -EINTR : 0;
        }
}
