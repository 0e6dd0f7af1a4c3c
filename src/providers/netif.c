/* Linux_NetworkInterface: one instance per network interface of the
 * daemon's network namespace, from rtnetlink dumps (RTM_GETLINK, then
 * RTM_GETADDR) on a NETLINK_ROUTE socket, parsed by rtnl.c into a
 * NetifTable (netiftab.c).
 *
 * An enumeration takes the two dumps when it starts (the kernel answers
 * them at once; a dump interrupted by a concurrent change is taken again)
 * and then yields one interface per enum_next(), in index order. Nothing
 * here needs privileges: every process may dump links and addresses.
 *
 * Events are native (netifwatch.h: rtnetlink notifications): one source
 * per namespace (key ""), started by the first subscription on the class
 * and stopped by the last, raises creation and deletion of links and
 * modification for a link that changes (up, down, MTU, name, ...) or gains
 * or loses an address. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"
#include "names.h"
#include "netiftab.h"
#include "netifwatch.h"
#include "props.h"
#include "providers.h"

/* name, type, is_array, is_key */
static const CimPropertySpec netif_properties[] = {
        /* clang-format off */
        { "Name", CIM_STRING, false, true },
        { "Index", CIM_UINT32, false, false },
        { "MACAddress", CIM_STRING, false, false },
        { "MTU", CIM_UINT32, false, false },
        { "OperState", CIM_STRING, false, false },
        { "Flags", CIM_UINT32, false, false },
        { "IPv4Addresses", CIM_STRING, true, false },
        { "IPv6Addresses", CIM_STRING, true, false },
        { "BytesReceived", CIM_UINT64, false, false },
        { "BytesSent", CIM_UINT64, false, false },
        { "PacketsReceived", CIM_UINT64, false, false },
        { "PacketsSent", CIM_UINT64, false, false },
        { "ReceiveErrors", CIM_UINT64, false, false },
        { "SendErrors", CIM_UINT64, false, false },
        { "ReceiveDrops", CIM_UINT64, false, false },
        { "SendDrops", CIM_UINT64, false, false },
        /* clang-format on */
};

typedef struct NetifCursor {
        CimClass *cls;
        char *ns;
        NetifTable table;
        size_t next;
} NetifCursor;

static int netif_check_class(const CimClass *cls, Error *err) {
        if (!cls || !cls->name || !name_equal(cls->name, NETIF_CLASS))
                return error_set(err, WBEM_E_INVALID_CLASS, "the netif provider serves %s, not %s",
                                 NETIF_CLASS, cls && cls->name ? cls->name : "(none)");
        return 0;
}

static int netif_get_classes(Provider *p, CimClass ***ret, size_t *ret_count, Error *err) {
        (void)p;
        return props_one_class(NETIF_CLASS, false, netif_properties, ELEMENTSOF(netif_properties),
                               ret, ret_count, err);
}

/* The interfaces now, into a fresh table sorted by index. */
static int netif_snapshot(NetifTable *ret, Error *err) {
        int r = netiftab_snapshot(ret);
        if (r == 0 || r == -ENOMEM)
                return r;
        return error_set(err, WBEM_E_PROVIDER_FAILURE, "%s: rtnetlink dump failed: %s", NETIF_CLASS,
                         strerror(-r));
}

static void netif_cursor_free(NetifCursor *c) {
        if (!c)
                return;
        netiftab_done(&c->table);
        if (c->cls)
                class_unref(c->cls);
        mem_free(c->ns);
        mem_free(c);
}

static int netif_enum_begin(Provider *p, const char *ns, CimClass *cls, const WqlQuery *query,
                            const ProviderCaller *caller, ProviderCursor **ret, bool *ret_filtered,
                            Error *err) {
        (void)caller; /* every process may see the interfaces */
        int r = netif_check_class(cls, err);
        if (r != 0)
                return r;
        NetifCursor *c = mem_calloc(1, sizeof(NetifCursor));
        if (!c)
                return -ENOMEM;
        c->ns = mem_strdup(ns ? ns : p->ns);
        if (!c->ns) {
                netif_cursor_free(c);
                return -ENOMEM;
        }
        c->cls = class_ref(cls);
        r = netif_snapshot(&c->table, err);
        if (r != 0) {
                netif_cursor_free(c);
                return r;
        }
        *ret = (ProviderCursor *)c;
        *ret_filtered = !query || !query->where;
        return 0;
}

static int netif_enum_next(ProviderCursor *pc, Instance **ret, Error *err) {
        NetifCursor *c = (NetifCursor *)pc;
        if (c->next >= c->table.n_entries)
                return 0;
        int r = netif_instance_new(c->cls, c->ns, &c->table.entries[c->next], ret, err);
        if (r != 0)
                return r;
        c->next++;
        return 1;
}

static void netif_enum_end(ProviderCursor *pc) {
        netif_cursor_free((NetifCursor *)pc);
}

static int netif_get_instance(Provider *p, const char *ns, CimClass *cls, const ObjectPath *path,
                              const ProviderCaller *caller, Instance **ret, Error *err) {
        (void)caller;
        int r = netif_check_class(cls, err);
        if (r != 0)
                return r;
        if (!path || path->n_keys != 1 ||
            (path->keys[0].name && !name_equal(path->keys[0].name, "Name")))
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "a %s path has one key, Name",
                                 NETIF_CLASS);
        const Value *v = &path->keys[0].value;
        if (v->is_array || v->is_null || v->type != CIM_STRING)
                return error_set(err, WBEM_E_INVALID_OBJECT_PATH, "%s.Name must be a string",
                                 NETIF_CLASS);
        NetifTable t = { 0 };
        r = netif_snapshot(&t, err);
        if (r != 0)
                return r;
        size_t k;
        for (k = 0; k < t.n_entries && strcmp(t.entries[k].name, v->s) != 0; k++)
                ;
        if (k < t.n_entries)
                r = netif_instance_new(cls, ns ? ns : p->ns, &t.entries[k], ret, err);
        else
                r = error_set(err, WBEM_E_NOT_FOUND, "%s: no interface %s", NETIF_CLASS, v->s);
        netiftab_done(&t);
        return r;
}

/* ---- events ------------------------------------------------------------------ */

typedef struct NetifSource {
        EventSource *src;
        CimClass *cls;
        char *ns;
        NetifWatch *w;
        void *fd_watch;
} NetifSource;

static void netif_source_change(void *userdata, NetifChange change, const NetifEntry *before,
                                const NetifEntry *after) {
        NetifSource *ns = userdata;
        ProviderEvent kind = change == NETIF_CREATED   ? PROVIDER_EVENT_CREATION
                             : change == NETIF_DELETED ? PROVIDER_EVENT_DELETION
                                                       : PROVIDER_EVENT_MODIFICATION;
        if (!event_source_wants(ns->src, kind))
                return;
        Instance *target = NULL, *previous = NULL;
        /* lack of memory drops the event (the engine counts its own) */
        if (netif_instance_new(ns->cls, ns->ns, after ? after : before, &target, NULL) != 0)
                return;
        if (change == NETIF_MODIFIED &&
            netif_instance_new(ns->cls, ns->ns, before, &previous, NULL) != 0) {
                instance_unref(target);
                return;
        }
        event_source_raise(ns->src, kind, target, previous);
        instance_unref(target);
        if (previous)
                instance_unref(previous);
}

static void netif_watch_ready(void *arg) {
        NetifSource *ns = arg;
        uint64_t lost = netifwatch_overflows(ns->w);
        int r = netifwatch_dispatch(ns->w);
        /* lost notifications (each followed by a dump): LWMI_Daemon.SourceOverflows */
        for (; lost < netifwatch_overflows(ns->w); lost++)
                event_source_overflowed(ns->src);
        if (r < 0 && r != -ENOMEM) {
                char message[256];
                snprintf(message, sizeof(message), "%s: rtnetlink notifications failed: %s",
                         NETIF_CLASS, strerror(-r));
                event_source_fail(ns->src, WBEM_E_PROVIDER_FAILURE, message);
        }
}

static int netif_source_check(Provider *p, const char *ns, CimClass *cls, const WqlQuery *q,
                              const ProviderCaller *caller, char **ret_key, char *why,
                              size_t why_size, Error *err) {
        (void)p, (void)ns, (void)q, (void)caller, (void)why, (void)why_size;
        int r = netif_check_class(cls, err);
        if (r != 0)
                return r;
        *ret_key = NULL; /* one source: every interface */
        return 1;
}

static void netif_source_free(NetifSource *ns) {
        netifwatch_free(ns->w);
        if (ns->cls)
                class_unref(ns->cls);
        mem_free(ns->ns);
        mem_free(ns);
}

static int netif_source_start(Provider *p, const char *ns_name, const char *key, EventSource *src,
                              ProviderSource **ret, Error *err) {
        (void)key;
        NetifSource *ns = mem_calloc(1, sizeof(NetifSource));
        if (!ns)
                return -ENOMEM;
        ns->src = src;
        ns->ns = mem_strdup(ns_name ? ns_name : p->ns);
        int r = ns->ns ? event_source_class(src, NETIF_CLASS, &ns->cls, err) : -ENOMEM;
        if (r == 0)
                r = netifwatch_new(netif_source_change, ns, &ns->w, err);
        if (r == 0) {
                ns->fd_watch = event_source_watch(src, netifwatch_fd(ns->w), netif_watch_ready, ns);
                if (!ns->fd_watch)
                        r = -ENOMEM;
        }
        if (r != 0) {
                netif_source_free(ns);
                return r;
        }
        *ret = (ProviderSource *)ns;
        return 0;
}

static void netif_source_stop(ProviderSource *s) {
        NetifSource *ns = (NetifSource *)s;
        event_source_unwatch(ns->src, ns->fd_watch);
        netif_source_free(ns);
}

static void netif_free(Provider *p) {
        mem_free(p);
}

static const ProviderOps netif_ops = {
        .get_classes = netif_get_classes,
        .enum_begin = netif_enum_begin,
        .enum_next = netif_enum_next,
        .enum_end = netif_enum_end,
        .get_instance = netif_get_instance,
        .free = netif_free,
        .source_check = netif_source_check,
        .source_start = netif_source_start,
        .source_stop = netif_source_stop,
};

int netif_provider_new(Provider **ret) {
        Provider *p = mem_calloc(1, sizeof(Provider));
        if (!p)
                return -ENOMEM;
        *p = (Provider){
                .name = "netif",
                .ns = NETIF_NAMESPACE,
                .ops = &netif_ops,
        };
        *ret = p;
        return 0;
}
