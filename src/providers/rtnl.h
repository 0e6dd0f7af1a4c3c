/* rtnetlink messages, parsed by hand (no libnl): the link and address
 * messages of a NETLINK_ROUTE socket, from a dump (RTM_GETLINK,
 * RTM_GETADDR with NLM_F_DUMP) or from the multicast groups RTNLGRP_LINK,
 * RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR.
 *
 * rtnl_parse() walks one datagram of netlink messages and hands each link
 * or address message to a callback as a plain record; everything else
 * (routes, neighbours, NLMSG_NOOP) is skipped. The input is untrusted in
 * the sense that a fuzzer feeds it: every length is checked against what
 * is left, nothing is read unaligned, and a malformed message stops the
 * walk with -EBADMSG.
 *
 * The socket side (rtnl_open, rtnl_dump) is small and blocking: a dump of
 * the kernel's own tables is answered at once. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The counters of IFLA_STATS64 (or IFLA_STATS, widened) that we show. */
typedef struct RtnlStats {
        uint64_t rx_packets, tx_packets;
        uint64_t rx_bytes, tx_bytes;
        uint64_t rx_errors, tx_errors;
        uint64_t rx_dropped, tx_dropped;
} RtnlStats;

#define RTNL_HWADDR_MAX 32

typedef struct RtnlLink {
        bool deleted; /* RTM_DELLINK */
        uint32_t index;
        uint32_t flags; /* IFF_* */
        char name[IF_NAMESIZE];
        bool has_name;
        uint8_t hwaddr[RTNL_HWADDR_MAX];
        size_t hwaddr_len; /* 0: none */
        bool has_mtu;
        uint32_t mtu;
        bool has_operstate;
        uint8_t operstate; /* IF_OPER_* */
        bool has_stats;
        RtnlStats stats;
} RtnlLink;

typedef struct RtnlAddr {
        bool deleted;   /* RTM_DELADDR */
        uint8_t family; /* AF_INET or AF_INET6 (others are skipped) */
        uint8_t prefixlen;
        uint32_t index;
        uint8_t addr[16]; /* 4 or 16 bytes used */
} RtnlAddr;

typedef struct RtnlOps {
        /* Each returns 0 to go on, or an error that stops the walk. */
        int (*link)(void *userdata, const RtnlLink *link);
        int (*addr)(void *userdata, const RtnlAddr *addr);
} RtnlOps;

/* Walk the netlink messages in [buf, buf + len). Returns 0 when the
 * datagram is used up, 1 when it held NLMSG_DONE (the end of a dump),
 * -EBADMSG for a malformed message, the negative errno of an NLMSG_ERROR
 * that carries one (an acknowledgement, error 0, is skipped), or a
 * callback's error. Messages with NLM_F_DUMP_INTR set are parsed as
 * usual; *ret_interrupted (may be NULL) is set when one was seen. */
int rtnl_parse(const void *buf, size_t len, const RtnlOps *ops, void *userdata,
               bool *ret_interrupted);

/* "aa:bb:cc:dd:ee:ff" for a hardware address, into buf (at least
 * 3 * RTNL_HWADDR_MAX bytes); "" for none. */
void rtnl_format_hwaddr(const uint8_t *addr, size_t len, char *buf, size_t size);
/* "192.0.2.1/24" or "2001:db8::1/64" into buf (at least 64 bytes). */
void rtnl_format_addr(const RtnlAddr *a, char *buf, size_t size);
/* "Up", "Down", "LowerLayerDown", "Testing", "Dormant", "NotPresent",
 * "Unknown" for an IF_OPER_* value. */
const char *rtnl_operstate_name(uint8_t operstate);

/* A NETLINK_ROUTE socket (close-on-exec), joined to groups (a bit mask of
 * 1 << (RTNLGRP_x - 1); 0 for none). Non-blocking with nonblock. */
int rtnl_open(unsigned groups, bool nonblock, int *ret_fd);
/* Ask for a dump (RTM_GETLINK or RTM_GETADDR) and feed every message of
 * the answer to ops until NLMSG_DONE. Blocking socket. Returns 0, -EINTR
 * when the kernel says the dump was interrupted by a change (try again),
 * or a negative errno. */
int rtnl_dump(int fd, uint16_t type, uint32_t seq, const RtnlOps *ops, void *userdata);
