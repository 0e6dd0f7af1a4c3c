/* The interface table and its instances; see netiftab.h. */
#include "netiftab.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem.h"
#include "props.h"

void netif_entry_done(NetifEntry *e) {
        mem_free(e->addrs);
        e->addrs = NULL;
        e->n_addrs = 0;
}

int netif_entry_copy(const NetifEntry *e, NetifEntry *ret) {
        NetifEntry c = *e;
        c.addrs = NULL;
        if (e->n_addrs > 0) {
                c.addrs = mem_reallocarray(NULL, e->n_addrs, sizeof(RtnlAddr));
                if (!c.addrs)
                        return -ENOMEM;
                memcpy(c.addrs, e->addrs, e->n_addrs * sizeof(RtnlAddr));
        }
        *ret = c;
        return 0;
}

static NetifEntry *netiftab_lookup(const NetifTable *t, uint32_t index) {
        for (size_t k = 0; k < t->n_entries; k++)
                if (t->entries[k].index == index)
                        return &t->entries[k];
        return NULL;
}

const NetifEntry *netiftab_find(const NetifTable *t, uint32_t index) {
        return netiftab_lookup(t, index);
}

void netiftab_done(NetifTable *t) {
        for (size_t k = 0; k < t->n_entries; k++)
                netif_entry_done(&t->entries[k]);
        mem_free(t->entries);
        t->entries = NULL;
        t->n_entries = 0;
}

/* Whether l would change e in a way that counts (netiftab.h). */
static bool netiftab_link_differs(const NetifEntry *e, const RtnlLink *l) {
        return (l->has_name && strcmp(e->name, l->name) != 0) || l->hwaddr_len != e->hwaddr_len ||
               memcmp(l->hwaddr, e->hwaddr, l->hwaddr_len) != 0 ||
               (l->has_mtu && l->mtu != e->mtu) || l->flags != e->flags ||
               (l->has_operstate && l->operstate != e->operstate);
}

static void netiftab_link_apply(NetifEntry *e, const RtnlLink *l) {
        e->index = l->index;
        if (l->has_name)
                memcpy(e->name, l->name, sizeof(e->name));
        memcpy(e->hwaddr, l->hwaddr, sizeof(e->hwaddr));
        e->hwaddr_len = l->hwaddr_len;
        if (l->has_mtu)
                e->mtu = l->mtu;
        e->flags = l->flags;
        if (l->has_operstate)
                e->operstate = l->operstate;
        if (l->has_stats) {
                e->has_stats = true;
                e->stats = l->stats;
        }
}

static int netiftab_previous(const NetifEntry *e, NetifEntry *ret_previous) {
        return ret_previous ? netif_entry_copy(e, ret_previous) : 0;
}

int netiftab_link(NetifTable *t, const RtnlLink *l, NetifChange *ret_change,
                  NetifEntry *ret_previous) {
        NetifEntry *e = netiftab_lookup(t, l->index);
        int r;
        if (l->deleted) {
                if (!e) {
                        *ret_change = NETIF_UNCHANGED;
                        return 0;
                }
                r = netiftab_previous(e, ret_previous);
                if (r < 0)
                        return r;
                netif_entry_done(e);
                *e = t->entries[--t->n_entries];
                *ret_change = NETIF_DELETED;
                return 0;
        }
        if (!e) {
                /* A link is only known by its name: one without is not shown. */
                if (!l->has_name) {
                        *ret_change = NETIF_UNCHANGED;
                        return 0;
                }
                NetifEntry *entries =
                        mem_reallocarray(t->entries, t->n_entries + 1, sizeof(NetifEntry));
                if (!entries)
                        return -ENOMEM;
                t->entries = entries;
                e = &t->entries[t->n_entries++];
                *e = (NetifEntry){ 0 };
                netiftab_link_apply(e, l);
                *ret_change = NETIF_CREATED;
                return 0;
        }
        if (!netiftab_link_differs(e, l)) {
                netiftab_link_apply(e, l); /* the counters */
                *ret_change = NETIF_UNCHANGED;
                return 0;
        }
        r = netiftab_previous(e, ret_previous);
        if (r < 0)
                return r;
        netiftab_link_apply(e, l);
        *ret_change = NETIF_MODIFIED;
        return 0;
}

static bool netiftab_same_addr(const RtnlAddr *a, const RtnlAddr *b) {
        size_t len = a->family == AF_INET ? 4 : 16;
        return a->family == b->family && a->prefixlen == b->prefixlen &&
               memcmp(a->addr, b->addr, len) == 0;
}

int netiftab_addr(NetifTable *t, const RtnlAddr *a, NetifChange *ret_change,
                  NetifEntry *ret_previous) {
        NetifEntry *e = netiftab_lookup(t, a->index);
        *ret_change = NETIF_UNCHANGED;
        if (!e)
                return 0;
        size_t k;
        for (k = 0; k < e->n_addrs && !netiftab_same_addr(&e->addrs[k], a); k++)
                ;
        bool known = k < e->n_addrs;
        if (known == !a->deleted)
                return 0; /* added again, or removed when not there */
        int r = netiftab_previous(e, ret_previous);
        if (r < 0)
                return r;
        if (a->deleted) {
                memmove(&e->addrs[k], &e->addrs[k + 1], (e->n_addrs - k - 1) * sizeof(RtnlAddr));
                e->n_addrs--;
        } else {
                RtnlAddr *addrs = mem_reallocarray(e->addrs, e->n_addrs + 1, sizeof(RtnlAddr));
                if (!addrs) {
                        if (ret_previous)
                                netif_entry_done(ret_previous);
                        return -ENOMEM;
                }
                e->addrs = addrs;
                e->addrs[e->n_addrs] = *a;
                e->addrs[e->n_addrs].deleted = false;
                e->n_addrs++;
        }
        *ret_change = NETIF_MODIFIED;
        return 0;
}

static bool netiftab_has_addr(const NetifEntry *e, const RtnlAddr *a) {
        for (size_t k = 0; k < e->n_addrs; k++)
                if (netiftab_same_addr(&e->addrs[k], a))
                        return true;
        return false;
}

static bool netiftab_entry_differs(const NetifEntry *a, const NetifEntry *b) {
        if (strcmp(a->name, b->name) != 0 || a->hwaddr_len != b->hwaddr_len ||
            memcmp(a->hwaddr, b->hwaddr, a->hwaddr_len) != 0 || a->mtu != b->mtu ||
            a->flags != b->flags || a->operstate != b->operstate || a->n_addrs != b->n_addrs)
                return true;
        for (size_t k = 0; k < a->n_addrs; k++)
                if (!netiftab_has_addr(b, &a->addrs[k]))
                        return true;
        return false;
}

int netiftab_diff(const NetifTable *old, const NetifTable *now,
                  int (*fn)(void *userdata, NetifChange change, const NetifEntry *before,
                            const NetifEntry *after),
                  void *userdata) {
        int r = 0;
        for (size_t k = 0; r == 0 && k < old->n_entries; k++) {
                const NetifEntry *after = netiftab_find(now, old->entries[k].index);
                if (!after)
                        r = fn(userdata, NETIF_DELETED, &old->entries[k], NULL);
                else if (netiftab_entry_differs(&old->entries[k], after))
                        r = fn(userdata, NETIF_MODIFIED, &old->entries[k], after);
        }
        for (size_t k = 0; r == 0 && k < now->n_entries; k++)
                if (!netiftab_find(old, now->entries[k].index))
                        r = fn(userdata, NETIF_CREATED, NULL, &now->entries[k]);
        return r;
}

static int netiftab_ops_link(void *userdata, const RtnlLink *l) {
        NetifChange change;
        return netiftab_link(userdata, l, &change, NULL);
}

static int netiftab_ops_addr(void *userdata, const RtnlAddr *a) {
        NetifChange change;
        return netiftab_addr(userdata, a, &change, NULL);
}

const RtnlOps netiftab_rtnl_ops = {
        .link = netiftab_ops_link,
        .addr = netiftab_ops_addr,
};

/* The addresses of one family as a string array. */
static int netif_set_addrs(Instance *inst, const char *prop, const NetifEntry *e, uint8_t family,
                           Error *err) {
        size_t n = 0;
        for (size_t k = 0; k < e->n_addrs; k++)
                n += e->addrs[k].family == family;
        Value v;
        int r = value_array_new(CIM_STRING, n, &v);
        if (r < 0)
                return r;
        size_t i = 0;
        for (size_t k = 0; k < e->n_addrs; k++) {
                if (e->addrs[k].family != family)
                        continue;
                char text[64];
                rtnl_format_addr(&e->addrs[k], text, sizeof(text));
                r = value_string(text, &v.arr->items[i++]);
                if (r < 0) {
                        value_clear(&v);
                        return r;
                }
        }
        r = instance_set_take(inst, prop, &v, err);
        if (r != 0)
                value_clear(&v);
        return r;
}

static int netif_set_properties(Instance *inst, const NetifEntry *e, Error *err) {
        char mac[3 * RTNL_HWADDR_MAX + 1];
        rtnl_format_hwaddr(e->hwaddr, e->hwaddr_len, mac, sizeof(mac));
        int r;
        if ((r = props_set_bytes(inst, "Name", e->name, strnlen(e->name, sizeof(e->name)), err)) !=
                    0 ||
            (r = props_set_uint(inst, "Index", CIM_UINT32, e->index, err)) != 0 ||
            (r = props_set_string(inst, "MACAddress", e->hwaddr_len ? mac : NULL, err)) != 0 ||
            (r = props_set_uint(inst, "MTU", CIM_UINT32, e->mtu, err)) != 0 ||
            (r = props_set_string(inst, "OperState", rtnl_operstate_name(e->operstate), err)) !=
                    0 ||
            (r = props_set_uint(inst, "Flags", CIM_UINT32, e->flags, err)) != 0 ||
            (r = netif_set_addrs(inst, "IPv4Addresses", e, AF_INET, err)) != 0 ||
            (r = netif_set_addrs(inst, "IPv6Addresses", e, AF_INET6, err)) != 0)
                return r;
        if (!e->has_stats)
                return 0;
        const RtnlStats *s = &e->stats;
        if ((r = props_set_uint(inst, "BytesReceived", CIM_UINT64, s->rx_bytes, err)) != 0 ||
            (r = props_set_uint(inst, "BytesSent", CIM_UINT64, s->tx_bytes, err)) != 0 ||
            (r = props_set_uint(inst, "PacketsReceived", CIM_UINT64, s->rx_packets, err)) != 0 ||
            (r = props_set_uint(inst, "PacketsSent", CIM_UINT64, s->tx_packets, err)) != 0 ||
            (r = props_set_uint(inst, "ReceiveErrors", CIM_UINT64, s->rx_errors, err)) != 0 ||
            (r = props_set_uint(inst, "SendErrors", CIM_UINT64, s->tx_errors, err)) != 0 ||
            (r = props_set_uint(inst, "ReceiveDrops", CIM_UINT64, s->rx_dropped, err)) != 0)
                return r;
        return props_set_uint(inst, "SendDrops", CIM_UINT64, s->tx_dropped, err);
}

int netif_instance_new(CimClass *cls, const char *ns, const NetifEntry *e, Instance **ret,
                       Error *err) {
        Instance *inst = NULL;
        int r = instance_new(cls, &inst);
        if (r != 0)
                return r;
        r = instance_set_namespace(inst, ns);
        if (r == 0)
                r = netif_set_properties(inst, e, err);
        if (r != 0) {
                instance_unref(inst);
                return r;
        }
        *ret = inst;
        return 0;
}

static int netiftab_compare_index(const void *a, const void *b) {
        uint32_t x = ((const NetifEntry *)a)->index, y = ((const NetifEntry *)b)->index;
        return x < y ? -1 : x > y;
}

int netiftab_snapshot(NetifTable *ret) {
        int fd = -1;
        int r = rtnl_open(0, false, &fd);
        if (r < 0)
                return r;
        for (unsigned attempt = 0; attempt < NETIFTAB_DUMP_ATTEMPTS; attempt++) {
                NetifTable t = { 0 };
                r = rtnl_dump(fd, RTM_GETLINK, 2 * attempt + 1, &netiftab_rtnl_ops, &t);
                if (r == 0)
                        r = rtnl_dump(fd, RTM_GETADDR, 2 * attempt + 2, &netiftab_rtnl_ops, &t);
                if (r == 0) {
                        if (t.n_entries > 1)
                                qsort(t.entries, t.n_entries, sizeof(NetifEntry),
                                      netiftab_compare_index);
                        *ret = t;
                        break;
                }
                netiftab_done(&t);
                if (r != -EINTR)
                        break;
        }
        close(fd);
        return r;
}
