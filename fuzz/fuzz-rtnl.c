/* Fuzz target for the rtnetlink parser (src/providers/rtnl.c) and the
 * interface table it feeds (netiftab.c): the input is one datagram of
 * netlink messages, as a NETLINK_ROUTE socket would deliver it. Every
 * record handed out is checked against rtnl.h's promises (a NUL-terminated
 * name, a bounded hardware address, a known family), applied to a table as
 * the event source would, formatted, and the table is compared with an
 * empty one as a resynchronisation would. */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "netiftab.h"
#include "rtnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_link(void *userdata, const RtnlLink *l) {
        assert(l->index > 0);
        assert(l->hwaddr_len <= RTNL_HWADDR_MAX);
        if (l->has_name)
                assert(strnlen(l->name, sizeof(l->name)) < sizeof(l->name) && l->name[0]);
        char mac[3 * RTNL_HWADDR_MAX + 1];
        rtnl_format_hwaddr(l->hwaddr, l->hwaddr_len, mac, sizeof(mac));
        assert(strlen(mac) <= 3 * l->hwaddr_len);
        (void)rtnl_operstate_name(l->operstate);
        NetifChange ch;
        NetifEntry prev = { 0 };
        int r = netiftab_link(userdata, l, &ch, &prev);
        if (r == 0 && (ch == NETIF_MODIFIED || ch == NETIF_DELETED))
                netif_entry_done(&prev);
        return r;
}

static int fuzz_addr(void *userdata, const RtnlAddr *a) {
        assert(a->family == AF_INET || a->family == AF_INET6);
        assert(a->prefixlen <= (a->family == AF_INET ? 32 : 128));
        char text[64];
        rtnl_format_addr(a, text, sizeof(text));
        NetifChange ch;
        return netiftab_addr(userdata, a, &ch, NULL);
}

static int fuzz_count(void *userdata, NetifChange change, const NetifEntry *before,
                      const NetifEntry *after) {
        (void)before;
        assert(change == NETIF_DELETED && after == NULL);
        (*(size_t *)userdata)++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NetifTable t = { 0 }, empty = { 0 };
        static const RtnlOps ops = { .link = fuzz_link, .addr = fuzz_addr };
        bool interrupted = false;
        int r = rtnl_parse(data, size, &ops, &t, &interrupted);
        assert(r == 0 || r == 1 || r < 0);
        size_t gone = 0;
        assert(netiftab_diff(&t, &empty, fuzz_count, &gone) == 0);
        assert(gone == t.n_entries);
        netiftab_done(&t);
        return 0;
}
