/* The network interfaces as rtnetlink describes them: a table keyed by
 * interface index, filled from a dump and kept current by the link and
 * address notifications, which says what each message changed. Both the
 * Linux_NetworkInterface data provider (a dump into a fresh table) and its
 * event source (a table kept while subscriptions last) use it.
 *
 * What counts as a change: a link that appears (creation), goes
 * (deletion), or changes name, hardware address, MTU, flags (IFF_UP,
 * IFF_RUNNING, ...) or operational state (modification), and an IPv4 or
 * IPv6 address added to or removed from a link (modification). Counters
 * move all the time and are updated without counting as a change; a
 * repeated notification of an address already known (IPv6 sends one when
 * an address's flags change) is none either. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class.h"
#include "error.h"
#include "instance.h"
#include "rtnl.h"

#define NETIF_CLASS "Linux_NetworkInterface"
#define NETIF_NAMESPACE "root/cimv2"

typedef struct NetifEntry {
        uint32_t index;
        char name[IF_NAMESIZE];
        uint8_t hwaddr[RTNL_HWADDR_MAX];
        size_t hwaddr_len;
        uint32_t mtu;
        uint32_t flags;
        uint8_t operstate;
        bool has_stats;
        RtnlStats stats;
        RtnlAddr *addrs; /* IPv4 and IPv6, in the order they came */
        size_t n_addrs;
} NetifEntry;

typedef struct NetifTable {
        NetifEntry *entries;
        size_t n_entries;
} NetifTable;

typedef enum NetifChange {
        NETIF_UNCHANGED,
        NETIF_CREATED,
        NETIF_MODIFIED,
        NETIF_DELETED,
} NetifChange;

/* Apply one message. *ret_change says what it did; for NETIF_MODIFIED and
 * NETIF_DELETED, *ret_previous (may be NULL) receives the entry as it was
 * (the caller releases it with netif_entry_done()). An address of an
 * unknown link, or a deletion of an unknown one, changes nothing.
 * 0 or -ENOMEM (the table is then as before). */
int netiftab_link(NetifTable *t, const RtnlLink *l, NetifChange *ret_change,
                  NetifEntry *ret_previous);
int netiftab_addr(NetifTable *t, const RtnlAddr *a, NetifChange *ret_change,
                  NetifEntry *ret_previous);
/* The entry of an index, or NULL. Valid until the table changes. */
const NetifEntry *netiftab_find(const NetifTable *t, uint32_t index);
void netiftab_done(NetifTable *t);

int netif_entry_copy(const NetifEntry *e, NetifEntry *ret);
void netif_entry_done(NetifEntry *e);

/* Call fn for every difference from old to now (after lost messages: a
 * fresh dump compared with what was known): deleted (after NULL), created
 * (before NULL), modified (a change as above, addresses compared as
 * sets). fn's error stops the walk and is returned. */
int netiftab_diff(const NetifTable *old, const NetifTable *now,
                  int (*fn)(void *userdata, NetifChange change, const NetifEntry *before,
                            const NetifEntry *after),
                  void *userdata);

/* Dumps interrupted by changes are taken again this many times. */
#define NETIFTAB_DUMP_ATTEMPTS 5

/* The interfaces now (RTM_GETLINK then RTM_GETADDR dumps on a socket of
 * its own) into a fresh table sorted by index. 0 or a negative errno. */
int netiftab_snapshot(NetifTable *ret);

/* RtnlOps that apply every message to a NetifTable (userdata), for a dump. */
extern const RtnlOps netiftab_rtnl_ops;

/* A Linux_NetworkInterface instance of cls in ns for an entry. */
int netif_instance_new(CimClass *cls, const char *ns, const NetifEntry *e, Instance **ret,
                       Error *err);
