/* Unit tests for Linux_NetworkInterface: the rtnetlink parser (rtnl.c) on
 * crafted messages, well-formed and not, the interface table's change
 * rules (netiftab.c), and the provider against the real kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "mem.h"
#include "netiftab.h"
#include "netifwatch.h"
#include "providers.h"
#include "rtnl.h"

/* ---- building messages ------------------------------------------------------- */

typedef struct Msg {
        uint8_t buf[4096];
        size_t len;   /* of the datagram so far */
        size_t start; /* of the message being built */
} Msg;

static void msg_begin(Msg *m, uint16_t type, uint16_t flags) {
        m->start = m->len;
        struct nlmsghdr h = { .nlmsg_len = sizeof(h), .nlmsg_type = type, .nlmsg_flags = flags };
        memcpy(m->buf + m->len, &h, sizeof(h));
        m->len += sizeof(h);
}

static void msg_put(Msg *m, const void *data, size_t len) {
        memcpy(m->buf + m->len, data, len);
        m->len += len;
        while (m->len % 4)
                m->buf[m->len++] = 0;
}

static void msg_attr(Msg *m, uint16_t type, const void *data, size_t len) {
        struct rtattr a = { .rta_len = (unsigned short)(sizeof(a) + len), .rta_type = type };
        memcpy(m->buf + m->len, &a, sizeof(a));
        m->len += sizeof(a);
        msg_put(m, data, len);
}

static void msg_end(Msg *m) {
        uint32_t len = (uint32_t)(m->len - m->start);
        memcpy(m->buf + m->start, &len, sizeof(len));
}

static void msg_link(Msg *m, uint16_t type, int index, unsigned flags, const char *name,
                     uint32_t mtu, uint8_t operstate) {
        msg_begin(m, type, 0);
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = flags };
        msg_put(m, &ifi, sizeof(ifi));
        if (name)
                msg_attr(m, IFLA_IFNAME, name, strlen(name) + 1);
        uint8_t mac[6] = { 0x02, 0, 0, 0, 0, (uint8_t)index };
        msg_attr(m, IFLA_ADDRESS, mac, sizeof(mac));
        msg_attr(m, IFLA_MTU, &mtu, sizeof(mtu));
        msg_attr(m, IFLA_OPERSTATE, &operstate, 1);
        struct rtnl_link_stats64 st = { .rx_packets = 1,
                                        .tx_packets = 2,
                                        .rx_bytes = 3,
                                        .tx_bytes = 4,
                                        .rx_errors = 5,
                                        .tx_errors = 6,
                                        .rx_dropped = 7,
                                        .tx_dropped = 8 };
        msg_attr(m, IFLA_STATS64, &st, sizeof(st));
        msg_end(m);
}

static void msg_addr(Msg *m, uint16_t type, int family, unsigned index, uint8_t prefix,
                     const char *text) {
        msg_begin(m, type, 0);
        struct ifaddrmsg ifa = { .ifa_family = (uint8_t)family,
                                 .ifa_prefixlen = prefix,
                                 .ifa_index = index };
        msg_put(m, &ifa, sizeof(ifa));
        uint8_t addr[16];
        assert_int_equal(inet_pton(family, text, addr), 1);
        msg_attr(m, family == AF_INET ? IFA_LOCAL : IFA_ADDRESS, addr, family == AF_INET ? 4 : 16);
        msg_end(m);
}

/* ---- collecting what the parser gives --------------------------------------- */

typedef struct Seen {
        RtnlLink links[8];
        size_t n_links;
        RtnlAddr addrs[8];
        size_t n_addrs;
        int fail; /* returned by the callbacks when non-zero */
} Seen;

static int seen_link(void *userdata, const RtnlLink *l) {
        Seen *s = userdata;
        if (s->fail)
                return s->fail;
        s->links[s->n_links++] = *l;
        return 0;
}

static int seen_addr(void *userdata, const RtnlAddr *a) {
        Seen *s = userdata;
        if (s->fail)
                return s->fail;
        s->addrs[s->n_addrs++] = *a;
        return 0;
}

static const RtnlOps seen_ops = { .link = seen_link, .addr = seen_addr };

static void test_parse_link_and_addr(void **state) {
        (void)state;
        Msg m = { 0 };
        msg_link(&m, RTM_NEWLINK, 7, IFF_UP | IFF_RUNNING, "veth7", 1500, 6);
        msg_addr(&m, RTM_NEWADDR, AF_INET, 7, 24, "192.0.2.7");
        msg_addr(&m, RTM_NEWADDR, AF_INET6, 7, 64, "2001:db8::7");
        msg_link(&m, RTM_DELLINK, 8, 0, "gone", 9000, 2);
        Seen s = { 0 };
        bool intr = false;
        assert_int_equal(rtnl_parse(m.buf, m.len, &seen_ops, &s, &intr), 0);
        assert_false(intr);
        assert_int_equal(s.n_links, 2);
        assert_int_equal(s.n_addrs, 2);
        RtnlLink *l = &s.links[0];
        assert_false(l->deleted);
        assert_int_equal(l->index, 7);
        assert_string_equal(l->name, "veth7");
        assert_int_equal(l->flags, IFF_UP | IFF_RUNNING);
        assert_int_equal(l->mtu, 1500);
        assert_true(l->has_operstate);
        assert_string_equal(rtnl_operstate_name(l->operstate), "Up");
        assert_true(l->has_stats);
        assert_int_equal(l->stats.rx_bytes, 3);
        assert_int_equal(l->stats.tx_dropped, 8);
        char mac[3 * RTNL_HWADDR_MAX + 1];
        rtnl_format_hwaddr(l->hwaddr, l->hwaddr_len, mac, sizeof(mac));
        assert_string_equal(mac, "02:00:00:00:00:07");
        assert_true(s.links[1].deleted);
        char text[64];
        rtnl_format_addr(&s.addrs[0], text, sizeof(text));
        assert_string_equal(text, "192.0.2.7/24");
        rtnl_format_addr(&s.addrs[1], text, sizeof(text));
        assert_string_equal(text, "2001:db8::7/64");
        assert_string_equal(rtnl_operstate_name(2), "Down");
        assert_string_equal(rtnl_operstate_name(0), "Unknown");
        assert_string_equal(rtnl_operstate_name(200), "Unknown");
        rtnl_format_hwaddr(NULL, 0, mac, sizeof(mac));
        assert_string_equal(mac, "");

        /* the end of a dump, an interrupted dump, an acknowledgement, an error */
        Msg d = { 0 };
        msg_link(&d, RTM_NEWLINK, 1, 0, "lo", 65536, 0);
        ((struct nlmsghdr *)d.buf)->nlmsg_flags |= NLM_F_DUMP_INTR;
        msg_begin(&d, NLMSG_ERROR, 0);
        int32_t ack = 0;
        msg_put(&d, &ack, sizeof(ack));
        msg_end(&d);
        msg_begin(&d, RTM_NEWROUTE, 0); /* skipped */
        msg_put(&d, "xxxxxxxxxxxx", 12);
        msg_end(&d);
        msg_begin(&d, NLMSG_DONE, 0);
        msg_put(&d, &ack, sizeof(ack));
        msg_end(&d);
        s = (Seen){ 0 };
        assert_int_equal(rtnl_parse(d.buf, d.len, &seen_ops, &s, &intr), 1);
        assert_true(intr);
        assert_int_equal(s.n_links, 1);
        Msg e = { 0 };
        msg_begin(&e, NLMSG_ERROR, 0);
        int32_t error = -EPERM;
        msg_put(&e, &error, sizeof(error));
        msg_end(&e);
        assert_int_equal(rtnl_parse(e.buf, e.len, &seen_ops, &s, NULL), -EPERM);

        /* a callback's error stops the walk */
        s = (Seen){ .fail = -ENOMEM };
        assert_int_equal(rtnl_parse(m.buf, m.len, &seen_ops, &s, NULL), -ENOMEM);
        /* no callbacks: parsed and dropped */
        assert_int_equal(rtnl_parse(m.buf, m.len, &(RtnlOps){ 0 }, NULL, NULL), 0);
        /* other address families are skipped */
        Msg o = { 0 };
        msg_begin(&o, RTM_NEWADDR, 0);
        struct ifaddrmsg ifa = { .ifa_family = AF_PACKET, .ifa_index = 1 };
        msg_put(&o, &ifa, sizeof(ifa));
        msg_end(&o);
        s = (Seen){ 0 };
        assert_int_equal(rtnl_parse(o.buf, o.len, &seen_ops, &s, NULL), 0);
        assert_int_equal(s.n_addrs, 0);
}

static void test_parse_malformed(void **state) {
        (void)state;
        Seen s = { 0 };
        Msg m = { 0 };
        msg_link(&m, RTM_NEWLINK, 7, 0, "eth7", 1500, 6);

        /* truncated anywhere: never read past the end */
        for (size_t len = 1; len < m.len; len++) {
                uint8_t *copy = malloc(len);
                memcpy(copy, m.buf, len);
                s = (Seen){ 0 };
                assert_int_equal(rtnl_parse(copy, len, &seen_ops, &s, NULL), -EBADMSG);
                assert_int_equal(s.n_links, 0);
                free(copy);
        }
        /* a message length beyond the datagram, below a header */
        Msg b = m;
        uint32_t big = (uint32_t)b.len + 4;
        memcpy(b.buf, &big, 4);
        assert_int_equal(rtnl_parse(b.buf, b.len, &seen_ops, &s, NULL), -EBADMSG);
        uint32_t small = 8;
        memcpy(b.buf, &small, 4);
        assert_int_equal(rtnl_parse(b.buf, b.len, &seen_ops, &s, NULL), -EBADMSG);
        /* an attribute longer than its message */
        Msg a = { 0 };
        msg_begin(&a, RTM_NEWLINK, 0);
        struct ifinfomsg ifi = { .ifi_index = 3 };
        msg_put(&a, &ifi, sizeof(ifi));
        struct rtattr rta = { .rta_len = 200, .rta_type = IFLA_MTU };
        msg_put(&a, &rta, sizeof(rta));
        msg_end(&a);
        assert_int_equal(rtnl_parse(a.buf, a.len, &seen_ops, &s, NULL), -EBADMSG);
        /* a name without its NUL, an empty name, a name too long */
        Msg n = { 0 };
        msg_begin(&n, RTM_NEWLINK, 0);
        msg_put(&n, &ifi, sizeof(ifi));
        msg_attr(&n, IFLA_IFNAME, "abcd", 4);
        msg_end(&n);
        assert_int_equal(rtnl_parse(n.buf, n.len, &seen_ops, &s, NULL), -EBADMSG);
        n = (Msg){ 0 };
        msg_begin(&n, RTM_NEWLINK, 0);
        msg_put(&n, &ifi, sizeof(ifi));
        msg_attr(&n, IFLA_IFNAME, "", 1);
        msg_end(&n);
        assert_int_equal(rtnl_parse(n.buf, n.len, &seen_ops, &s, NULL), -EBADMSG);
        n = (Msg){ 0 };
        msg_begin(&n, RTM_NEWLINK, 0);
        msg_put(&n, &ifi, sizeof(ifi));
        msg_attr(&n, IFLA_IFNAME, "0123456789abcdefghij", 21);
        msg_end(&n);
        assert_int_equal(rtnl_parse(n.buf, n.len, &seen_ops, &s, NULL), -EBADMSG);
        /* a short MTU, a hardware address too long, index 0 */
        n = (Msg){ 0 };
        msg_begin(&n, RTM_NEWLINK, 0);
        msg_put(&n, &ifi, sizeof(ifi));
        msg_attr(&n, IFLA_MTU, "ab", 2);
        msg_end(&n);
        assert_int_equal(rtnl_parse(n.buf, n.len, &seen_ops, &s, NULL), -EBADMSG);
        n = (Msg){ 0 };
        msg_begin(&n, RTM_NEWLINK, 0);
        msg_put(&n, &ifi, sizeof(ifi));
        uint8_t hw[40] = { 0 };
        msg_attr(&n, IFLA_ADDRESS, hw, sizeof(hw));
        msg_end(&n);
        assert_int_equal(rtnl_parse(n.buf, n.len, &seen_ops, &s, NULL), -EBADMSG);
        n = (Msg){ 0 };
        msg_begin(&n, RTM_NEWLINK, 0);
        struct ifinfomsg zero = { .ifi_index = 0 };
        msg_put(&n, &zero, sizeof(zero));
        msg_end(&n);
        assert_int_equal(rtnl_parse(n.buf, n.len, &seen_ops, &s, NULL), -EBADMSG);
        /* addresses: wrong length, prefix too long, none, index 0 */
        Msg ad = { 0 };
        msg_begin(&ad, RTM_NEWADDR, 0);
        struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = 24, .ifa_index = 2 };
        msg_put(&ad, &ifa, sizeof(ifa));
        msg_attr(&ad, IFA_LOCAL, "abcdef", 6);
        msg_end(&ad);
        assert_int_equal(rtnl_parse(ad.buf, ad.len, &seen_ops, &s, NULL), -EBADMSG);
        ad = (Msg){ 0 };
        msg_addr(&ad, RTM_NEWADDR, AF_INET, 2, 33, "10.0.0.1");
        assert_int_equal(rtnl_parse(ad.buf, ad.len, &seen_ops, &s, NULL), -EBADMSG);
        ad = (Msg){ 0 };
        msg_addr(&ad, RTM_NEWADDR, AF_INET, 0, 8, "10.0.0.1");
        assert_int_equal(rtnl_parse(ad.buf, ad.len, &seen_ops, &s, NULL), -EBADMSG);
        ad = (Msg){ 0 };
        msg_begin(&ad, RTM_NEWADDR, 0);
        msg_put(&ad, &ifa, sizeof(ifa));
        msg_end(&ad);
        assert_int_equal(rtnl_parse(ad.buf, ad.len, &seen_ops, &s, NULL), -EBADMSG);
        /* an error message without its code, or with a nonsense one */
        Msg e = { 0 };
        msg_begin(&e, NLMSG_ERROR, 0);
        msg_end(&e);
        assert_int_equal(rtnl_parse(e.buf, e.len, &seen_ops, &s, NULL), -EBADMSG);
        e = (Msg){ 0 };
        msg_begin(&e, NLMSG_ERROR, 0);
        int32_t pos = 5;
        msg_put(&e, &pos, 4);
        msg_end(&e);
        assert_int_equal(rtnl_parse(e.buf, e.len, &seen_ops, &s, NULL), -EBADMSG);
        /* the empty datagram */
        assert_int_equal(rtnl_parse(m.buf, 0, &seen_ops, &s, NULL), 0);
}

/* ---- the table's change rules ----------------------------------------------- */

static RtnlLink link_of(int index, const char *name, unsigned flags, uint8_t operstate) {
        Msg m = { 0 };
        msg_link(&m, RTM_NEWLINK, index, flags, name, 1500, operstate);
        Seen s = { 0 };
        assert_int_equal(rtnl_parse(m.buf, m.len, &seen_ops, &s, NULL), 0);
        return s.links[0];
}

static RtnlAddr addr_of(bool deleted, int family, unsigned index, uint8_t prefix,
                        const char *text) {
        Msg m = { 0 };
        msg_addr(&m, deleted ? RTM_DELADDR : RTM_NEWADDR, family, index, prefix, text);
        Seen s = { 0 };
        assert_int_equal(rtnl_parse(m.buf, m.len, &seen_ops, &s, NULL), 0);
        return s.addrs[0];
}

static void test_table_changes(void **state) {
        (void)state;
        NetifTable t = { 0 };
        NetifChange ch;
        NetifEntry prev = { 0 };

        RtnlLink l = link_of(5, "dummy5", 0, 2);
        assert_int_equal(netiftab_link(&t, &l, &ch, &prev), 0);
        assert_int_equal(ch, NETIF_CREATED);
        assert_int_equal(t.n_entries, 1);
        /* the same again, with other counters: no change */
        l.stats.rx_bytes = 999;
        assert_int_equal(netiftab_link(&t, &l, &ch, &prev), 0);
        assert_int_equal(ch, NETIF_UNCHANGED);
        assert_int_equal(netiftab_find(&t, 5)->stats.rx_bytes, 999);
        /* up: a modification, with the previous state */
        l = link_of(5, "dummy5", IFF_UP | IFF_RUNNING, 6);
        assert_int_equal(netiftab_link(&t, &l, &ch, &prev), 0);
        assert_int_equal(ch, NETIF_MODIFIED);
        assert_int_equal(prev.flags, 0);
        assert_int_equal(prev.operstate, 2);
        assert_int_equal(netiftab_find(&t, 5)->operstate, 6);
        netif_entry_done(&prev);

        /* addresses: added, added again (no change), removed */
        RtnlAddr a = addr_of(false, AF_INET, 5, 24, "198.51.100.5");
        assert_int_equal(netiftab_addr(&t, &a, &ch, &prev), 0);
        assert_int_equal(ch, NETIF_MODIFIED);
        assert_int_equal(prev.n_addrs, 0);
        netif_entry_done(&prev);
        assert_int_equal(netiftab_addr(&t, &a, &ch, &prev), 0);
        assert_int_equal(ch, NETIF_UNCHANGED);
        RtnlAddr a6 = addr_of(false, AF_INET6, 5, 64, "2001:db8::5");
        assert_int_equal(netiftab_addr(&t, &a6, &ch, NULL), 0);
        assert_int_equal(ch, NETIF_MODIFIED);
        assert_int_equal(netiftab_find(&t, 5)->n_addrs, 2);
        /* another prefix length is another address */
        RtnlAddr a2 = addr_of(false, AF_INET, 5, 16, "198.51.100.5");
        assert_int_equal(netiftab_addr(&t, &a2, &ch, NULL), 0);
        assert_int_equal(ch, NETIF_MODIFIED);
        RtnlAddr d = addr_of(true, AF_INET, 5, 24, "198.51.100.5");
        assert_int_equal(netiftab_addr(&t, &d, &ch, &prev), 0);
        assert_int_equal(ch, NETIF_MODIFIED);
        assert_int_equal(prev.n_addrs, 3);
        netif_entry_done(&prev);
        assert_int_equal(netiftab_find(&t, 5)->n_addrs, 2);
        assert_int_equal(netiftab_addr(&t, &d, &ch, &prev), 0);
        assert_int_equal(ch, NETIF_UNCHANGED);
        /* an address of an unknown link */
        RtnlAddr u = addr_of(false, AF_INET, 77, 8, "10.0.0.1");
        assert_int_equal(netiftab_addr(&t, &u, &ch, &prev), 0);
        assert_int_equal(ch, NETIF_UNCHANGED);

        /* the instance */
        CimClass **defs = NULL;
        size_t n = 0;
        Error err = { 0 };
        Provider *p = NULL;
        assert_int_equal(netif_provider_new(&p), 0);
        assert_int_equal(p->ops->get_classes(p, &defs, &n, &err), 0);
        CimClass *cls = NULL;
        assert_int_equal(class_derive(defs[0], NULL, &cls, &err), 0);
        class_unref(defs[0]);
        mem_free(defs);
        Instance *inst = NULL;
        assert_int_equal(netif_instance_new(cls, "root/cimv2", netiftab_find(&t, 5), &inst, &err),
                         0);
        assert_string_equal(instance_get(inst, "Name")->s, "dummy5");
        assert_string_equal(instance_get(inst, "OperState")->s, "Up");
        assert_string_equal(instance_get(inst, "MACAddress")->s, "02:00:00:00:00:05");
        const Value *v4 = instance_get(inst, "IPv4Addresses");
        assert_true(v4->is_array);
        assert_int_equal(v4->arr->count, 1);
        assert_string_equal(v4->arr->items[0].s, "198.51.100.5/16");
        const Value *v6 = instance_get(inst, "IPv6Addresses");
        assert_int_equal(v6->arr->count, 1);
        assert_string_equal(v6->arr->items[0].s, "2001:db8::5/64");
        assert_int_equal(instance_get(inst, "BytesReceived")->u, 3);
        assert_int_equal(instance_get(inst, "SendDrops")->u, 8);
        instance_unref(inst);

        /* allocation failures give -ENOMEM and no instance */
        unsigned long k;
        for (k = 1; k < 200; k++) {
                inst = NULL;
                mem_fail_at(k);
                int r = netif_instance_new(cls, "root/cimv2", netiftab_find(&t, 5), &inst, &err);
                bool triggered = mem_fail_triggered();
                mem_fail_at(0);
                if (!triggered) {
                        assert_int_equal(r, 0);
                        instance_unref(inst);
                        break;
                }
                assert_int_equal(r, -ENOMEM);
                assert_null(inst);
        }
        assert_true(k < 200);

        /* deletion: the last state comes back */
        RtnlLink del = l;
        del.deleted = true;
        assert_int_equal(netiftab_link(&t, &del, &ch, &prev), 0);
        assert_int_equal(ch, NETIF_DELETED);
        assert_string_equal(prev.name, "dummy5");
        assert_int_equal(prev.n_addrs, 2);
        netif_entry_done(&prev);
        assert_null(netiftab_find(&t, 5));
        assert_int_equal(netiftab_link(&t, &del, &ch, &prev), 0);
        assert_int_equal(ch, NETIF_UNCHANGED);
        /* a link without a name is not taken in */
        RtnlLink nameless = { .index = 9 };
        assert_int_equal(netiftab_link(&t, &nameless, &ch, NULL), 0);
        assert_int_equal(ch, NETIF_UNCHANGED);

        class_unref(cls);
        p->ops->free(p);
        netiftab_done(&t);
}

typedef struct NetDiffs {
        char text[256];
} NetDiffs;

static int netdiffs_add(void *userdata, NetifChange change, const NetifEntry *before,
                        const NetifEntry *after) {
        NetDiffs *d = userdata;
        static const char *const kinds[] = { "=", "+", "~", "-" };
        assert_true((change == NETIF_CREATED) == (before == NULL));
        assert_true((change == NETIF_DELETED) == (after == NULL));
        size_t len = strlen(d->text);
        snprintf(d->text + len, sizeof(d->text) - len, "%s%s ", kinds[change],
                 (after ? after : before)->name);
        return 0;
}

static int netdiffs_fail(void *userdata, NetifChange change, const NetifEntry *before,
                         const NetifEntry *after) {
        (void)userdata, (void)change, (void)before, (void)after;
        return -EIO;
}

/* After lost messages: a fresh dump compared with what was known. */
static void test_table_diff(void **state) {
        (void)state;
        NetifTable old = { 0 }, now = { 0 };
        NetifChange ch;
        RtnlLink l;
        l = link_of(1, "lo", IFF_UP, 0);
        assert_int_equal(netiftab_link(&old, &l, &ch, NULL), 0);
        assert_int_equal(netiftab_link(&now, &l, &ch, NULL), 0);
        l = link_of(2, "gone0", 0, 2);
        assert_int_equal(netiftab_link(&old, &l, &ch, NULL), 0);
        l = link_of(3, "eth0", 0, 2);
        assert_int_equal(netiftab_link(&old, &l, &ch, NULL), 0);
        l = link_of(3, "eth0", IFF_UP, 6);
        assert_int_equal(netiftab_link(&now, &l, &ch, NULL), 0);
        l = link_of(4, "new0", 0, 2);
        assert_int_equal(netiftab_link(&now, &l, &ch, NULL), 0);
        /* an address only on one side is a modification */
        l = link_of(5, "addr0", 0, 2);
        assert_int_equal(netiftab_link(&old, &l, &ch, NULL), 0);
        assert_int_equal(netiftab_link(&now, &l, &ch, NULL), 0);
        RtnlAddr a = addr_of(false, AF_INET, 5, 8, "10.1.2.3");
        assert_int_equal(netiftab_addr(&now, &a, &ch, NULL), 0);

        NetDiffs d = { { 0 } };
        assert_int_equal(netiftab_diff(&old, &now, netdiffs_add, &d), 0);
        assert_string_equal(d.text, "-gone0 ~eth0 ~addr0 +new0 ");
        d = (NetDiffs){ { 0 } };
        assert_int_equal(netiftab_diff(&now, &now, netdiffs_add, &d), 0);
        assert_string_equal(d.text, "");
        assert_int_equal(netiftab_diff(&old, &now, netdiffs_fail, NULL), -EIO);
        netiftab_done(&old);
        netiftab_done(&now);
}

/* ---- the provider on the real kernel ---------------------------------------- */

static void test_provider_lo(void **state) {
        (void)state;
        Provider *p = NULL;
        assert_int_equal(netif_provider_new(&p), 0);
        CimClass **defs = NULL;
        size_t n = 0;
        Error err = { 0 };
        assert_int_equal(p->ops->get_classes(p, &defs, &n, &err), 0);
        CimClass *cls = NULL;
        assert_int_equal(class_derive(defs[0], NULL, &cls, &err), 0);
        class_unref(defs[0]);
        mem_free(defs);

        ProviderCursor *c = NULL;
        bool filtered = false;
        assert_int_equal(p->ops->enum_begin(p, NULL, cls, NULL, NULL, &c, &filtered, &err), 0);
        assert_true(filtered);
        bool saw_lo = false;
        uint32_t last_index = 0;
        Instance *inst = NULL;
        while (p->ops->enum_next(c, &inst, &err) == 1) {
                uint32_t index = (uint32_t)instance_get(inst, "Index")->u;
                assert_true(index > last_index);
                last_index = index;
                if (strcmp(instance_get(inst, "Name")->s, "lo") == 0) {
                        saw_lo = true;
                        assert_true(instance_get(inst, "Flags")->u & IFF_LOOPBACK);
                }
                instance_unref(inst);
        }
        p->ops->enum_end(c);
        assert_true(saw_lo);

        ObjectPath path = { .class_name = (char *)"Linux_NetworkInterface", .n_keys = 1 };
        ObjectPathKey key = { .name = (char *)"Name",
                              .value = { .type = CIM_STRING, .s = (char *)"lo" } };
        path.keys = &key;
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, NULL, &inst, &err), 0);
        assert_int_equal(instance_get(inst, "MTU")->u > 0, 1);
        instance_unref(inst);
        key.value.s = (char *)"no-such-if0";
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, NULL, &inst, &err),
                         WBEM_E_NOT_FOUND);
        key.value = (Value){ .type = CIM_UINT32, .u = 1 };
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, NULL, &inst, &err),
                         WBEM_E_INVALID_OBJECT_PATH);
        key.name = (char *)"Index";
        assert_int_equal(p->ops->get_instance(p, NULL, cls, &path, NULL, &inst, &err),
                         WBEM_E_INVALID_OBJECT_PATH);

        class_unref(cls);
        p->ops->free(p);
}

/* ---- notifications, in a network namespace of the test's own ---------------- */

typedef struct Watched {
        char text[1024];
} Watched;

static void watched_change(void *userdata, NetifChange change, const NetifEntry *before,
                           const NetifEntry *after) {
        Watched *w = userdata;
        static const char *const kinds[] = { "=", "+", "~", "-" };
        assert_true((change == NETIF_CREATED) == (before == NULL));
        assert_true((change == NETIF_DELETED) == (after == NULL));
        const NetifEntry *e = after ? after : before;
        size_t len = strlen(w->text);
        snprintf(w->text + len, sizeof(w->text) - len, "%s%s%s ", kinds[change], e->name,
                 change == NETIF_MODIFIED && before->n_addrs != after->n_addrs ? "(addr)" : "");
}

static int run(const char *cmd) {
        char full[512];
        snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
        return system(full);
}

static void test_watch_in_netns(void **state) {
        (void)state;
        if (unshare(CLONE_NEWNET) < 0 || run("ip link set lo up") != 0) {
                skip();
                return;
        }
        Watched w = { { 0 } };
        NetifWatch *nw = NULL;
        Error err = { 0 };
        assert_int_equal(netifwatch_new(watched_change, &w, &nw, &err), 0);
        assert_true(netifwatch_fd(nw) >= 0);
        assert_int_equal(netifwatch_table(nw)->n_entries, 1); /* lo */
        assert_int_equal(netifwatch_dispatch(nw), 0);
        w.text[0] = '\0';

        const char *peer = "lwt0p";
        if (run("ip link add lwt0 type dummy") != 0) {
                assert_int_equal(run("ip link add lwt0 type veth peer name lwt0p"), 0);
        } else
                peer = NULL;
        assert_int_equal(netifwatch_dispatch(nw), 0);
        assert_non_null(strstr(w.text, "+lwt0 "));
        w.text[0] = '\0';
        assert_int_equal(run("ip link set lwt0 up"), 0);
        assert_int_equal(netifwatch_dispatch(nw), 0);
        assert_non_null(strstr(w.text, "~lwt0 "));
        w.text[0] = '\0';
        assert_int_equal(run("ip addr add 192.0.2.9/24 dev lwt0"), 0);
        assert_int_equal(netifwatch_dispatch(nw), 0);
        assert_non_null(strstr(w.text, "~lwt0(addr) "));
        w.text[0] = '\0';
        assert_int_equal(run("ip addr del 192.0.2.9/24 dev lwt0"), 0);
        assert_int_equal(netifwatch_dispatch(nw), 0);
        assert_non_null(strstr(w.text, "~lwt0(addr) "));
        w.text[0] = '\0';
        assert_int_equal(run("ip link del lwt0"), 0);
        assert_int_equal(netifwatch_dispatch(nw), 0);
        assert_non_null(strstr(w.text, "-lwt0 "));
        if (peer)
                assert_non_null(strstr(w.text, "-lwt0p "));
        assert_null(netiftab_find(netifwatch_table(nw), 0));
        assert_int_equal(netifwatch_table(nw)->n_entries, 1);
        assert_int_equal(netifwatch_overflows(nw), 0);
        netifwatch_free(nw);
        assert_null(netifwatch_free(NULL));
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_link_and_addr),
                cmocka_unit_test(test_parse_malformed),
                cmocka_unit_test(test_table_changes),
                cmocka_unit_test(test_table_diff),
                cmocka_unit_test(test_provider_lo),
                cmocka_unit_test(test_watch_in_netns),
        };
        /* clang-format on */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
