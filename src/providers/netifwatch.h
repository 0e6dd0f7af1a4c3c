/* Watching the network interfaces for Linux_NetworkInterface's events: a
 * NETLINK_ROUTE socket joined to RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR and
 * RTNLGRP_IPV6_IFADDR, and a NetifTable (netiftab.h) taken by a dump when
 * the watch starts and kept current by the notifications, which says what
 * each one changed: a link that appears or goes (creation, deletion), a
 * link going up or down or otherwise changed, an address added or removed
 * (modification, with the interface as it was).
 *
 * Lost notifications (the socket's receive queue overflowed: ENOBUFS) are
 * counted and followed by a fresh dump compared with the table, so what
 * changed meanwhile is still reported.
 *
 * The socket is non-blocking: netifwatch_dispatch() reads what is pending
 * when the loop says it is readable, at most NETIFWATCH_MAX_READS
 * datagrams per call. */
#pragma once

#include <stdint.h>

#include "error.h"
#include "netiftab.h"

#define NETIFWATCH_MAX_READS 64

typedef struct NetifWatch NetifWatch;

/* A change: created (before NULL), modified, or deleted (after NULL).
 * Both entries are borrowed for the call. */
typedef void (*NetifWatchFn)(void *userdata, NetifChange change, const NetifEntry *before,
                             const NetifEntry *after);

/* Open the socket and take the first dump. 0, -ENOMEM, or
 * WBEM_E_PROVIDER_FAILURE with a message. */
int netifwatch_new(NetifWatchFn fn, void *userdata, NetifWatch **ret, Error *err);
NetifWatch *netifwatch_free(NetifWatch *w); /* NULL accepted */
int netifwatch_fd(const NetifWatch *w);
/* Read and report what is pending: 0, or a negative errno when the
 * socket failed for good (-ENOMEM: changes may be lost; the next call
 * dumps again). */
int netifwatch_dispatch(NetifWatch *w);
/* ENOBUFS seen, each followed by a fresh dump. */
uint64_t netifwatch_overflows(const NetifWatch *w);
/* The table as known now (for tests). */
const NetifTable *netifwatch_table(const NetifWatch *w);
