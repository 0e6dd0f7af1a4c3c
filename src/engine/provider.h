/* The provider interface: how a module (Linux_Process from /proc,
 * Linux_OperatingSystem, ...) supplies instances of the classes it owns.
 *
 * A provider declares its classes when registered; the engine stores the
 * definitions in the namespace and from then on asks the provider, not the
 * repository, for instances of those classes. Enumeration is a cursor so a
 * large set (a /proc scan) is produced a piece at a time and the daemon can
 * return to its loop between pieces.
 *
 * The engine applies the query's WHERE itself unless the provider says it
 * already did (ret_filtered): a provider may use the query as a hint, e.g.
 * `WHERE ProcessId = 42` reads one /proc entry. Providers never log and never
 * block for long; they return -errno or a WbemStatus with an Error.
 *
 * Events: the engine polls a provider's class (WITHIN n: snapshot and diff)
 * unless the provider has a native event source for it (the source_* ops
 * below, and the event_source_*() calls at the end that a running source
 * makes); docs/events.md, "Native sources", describes both sides. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "class.h"
#include "error.h"
#include "instance.h"
#include "objpath.h"
#include "wql.h"

typedef struct Provider Provider;
typedef struct ProviderCursor ProviderCursor;
/* A running native event source: the provider's state (opaque to the
 * engine) and the engine's side, handed to the provider (source.c). */
typedef struct ProviderSource ProviderSource;
typedef struct EventSource EventSource;

/* Whom a request is made for: the peer's credentials (SO_PEERCRED and
 * SO_PEERGROUPS, taken when it connected), so that a provider never shows a
 * peer what the peer could not read itself (DESIGN.md, "Security"): a
 * directory listing is checked against these ids, never against the
 * daemon's. A NULL caller is the daemon itself (its own snapshots, tests):
 * no restriction. uid (uid_t)-1 is a peer whose credentials are unknown;
 * providers that check access refuse it. */
typedef struct ProviderCaller {
        uid_t uid; /* effective ids of the peer */
        gid_t gid;
        const gid_t *groups; /* supplementary groups; may include gid */
        size_t n_groups;
        uint64_t session; /* the daemon's session id; 0: none (the engine ignores it) */
} ProviderCaller;

typedef struct ProviderOps {
        /* Class definitions this provider serves in namespace `ns`: returned
         * as definitions (own properties only; superclass by name), parents
         * before children. */
        int (*get_classes)(Provider *p, CimClass ***ret, size_t *ret_count, Error *err);

        /* Start an enumeration of the instances of exactly class `cls`
         * (not subclasses: the engine asks for each class of a deep query).
         * `query` may be NULL (enumerate all) or the parsed query, as a hint.
         * `caller` (NULL: the daemon) is whom the instances are for; a
         * provider that would show more than the caller may see answers
         * WBEM_E_ACCESS_DENIED. It is valid during this call only.
         * On success *ret_filtered tells whether every instance the cursor
         * yields already satisfies query->where. */
        int (*enum_begin)(Provider *p, const char *ns, CimClass *cls, const WqlQuery *query,
                          const ProviderCaller *caller, ProviderCursor **ret, bool *ret_filtered,
                          Error *err);
        /* Next instance: 1 with *ret set (a new reference), 0 at the end,
         * or an error. */
        int (*enum_next)(ProviderCursor *c, Instance **ret, Error *err);
        void (*enum_end)(ProviderCursor *c);

        /* One instance by path (keys already converted to the key types).
         * WBEM_E_NOT_FOUND when absent. May be NULL: the engine then
         * enumerates and compares keys. `caller` as for enum_begin. */
        int (*get_instance)(Provider *p, const char *ns, CimClass *cls, const ObjectPath *path,
                            const ProviderCaller *caller, Instance **ret, Error *err);

        void (*free)(Provider *p);

        /* ---- native events (optional: all three NULL means none) ----
         *
         * A provider that learns of changes by itself (a kernel
         * notification, a watch) raises the instance events of its classes
         * natively: no WITHIN is needed, and a WITHIN given is accepted and
         * ignored. The engine runs one *source* per (namespace, provider,
         * key): the key, chosen by the provider from the query, says what
         * a running source watches, e.g. "" for "every process" or the
         * directory of `TargetInstance.Directory = '/var/log'`. The first
         * registration that needs a source starts it, the last one to go
         * stops it (refcounted, like a poll task); its events go to the
         * registrations of that source only, each filter evaluated as
         * usual (so a source may raise more than its registrations want).
         *
         * source_check: whether events of `cls` (the query's `TargetInstance
         * ISA` class: one this provider serves, or an ancestor of one) that
         * query `q` can match are raised natively. Returns
         *   1  native: *ret_key is a new mem_*() string (NULL means "");
         *   0  not native now: `why` tells the user, e.g. "the process
         *      source needs CAP_NET_ADMIN in the initial user and pid
         *      namespaces"; WITHIN then polls, and without WITHIN the
         *      subscription fails with a message that includes `why`;
         *   a WbemStatus with err filled when the query cannot be
         *      watched at all (e.g. no directory named), or -errno.
         * It must be cheap: it runs for every event subscription on the
         * provider's classes. `caller` (NULL: the daemon) is the subscriber,
         * as for enum_begin: a source shared by several subscriptions is
         * checked for each of them here (e.g. Linux_File: may this peer
         * list the directory?), and refuses with WBEM_E_ACCESS_DENIED. */
        int (*source_check)(Provider *p, const char *ns, CimClass *cls, const WqlQuery *q,
                            const ProviderCaller *caller, char **ret_key, char *why,
                            size_t why_size, Error *err);
        /* Start the source for (ns, key): from now on raise its events
         * with event_source_raise(src, ...) until source_stop. src stays
         * valid until source_stop returns. *ret is the provider's state.
         * A failure fails the subscription that asked (its error, prefixed
         * with the provider's name). */
        int (*source_start)(Provider *p, const char *ns, const char *key, EventSource *src,
                            ProviderSource **ret, Error *err);
        /* Stop it: release every watch and timer, free the state. Raises
         * nothing. */
        void (*source_stop)(ProviderSource *s);
        /* Optional: the kernel watches the provider's sources hold now
         * (Linux_File: one inotify watch per directory watched), summed
         * into EngineEventStats.watches (LWMI_Daemon.Watches). */
        size_t (*source_watches)(Provider *p);
} ProviderOps;

struct Provider {
        const char *name; /* "process", "os": for messages */
        const char *ns;   /* namespace it serves, e.g. "root/cimv2" */
        const ProviderOps *ops;
        void *userdata;
};

/* ---- what a running source may ask of the engine (source.c) ----
 *
 * These are for a provider's source between source_start and source_stop;
 * they run on the daemon's loop (in the provider's watch and timer
 * callbacks, or inside source_start). */

typedef enum ProviderEvent {
        PROVIDER_EVENT_CREATION,     /* __InstanceCreationEvent */
        PROVIDER_EVENT_MODIFICATION, /* __InstanceModificationEvent, with PreviousInstance */
        PROVIDER_EVENT_DELETION,     /* __InstanceDeletionEvent: the last known instance */
} ProviderEvent;

/* Raise an intrinsic event of kind on the registrations of src:
 * TargetInstance `target` (an instance of a class the provider serves, of
 * the engine's copy: event_source_class()), PreviousInstance `previous`
 * for a modification (may be NULL; ignored otherwise). Both borrowed. Never
 * fails: an event that cannot be built or delivered for lack of memory is
 * counted (EngineEventStats.events_failed). Delivery callbacks run inside;
 * they cannot stop src. */
void event_source_raise(EventSource *src, ProviderEvent kind, Instance *target,
                        Instance *previous);
/* Whether some registration of src takes events of kind (a source may skip
 * the work of an event nobody wants). */
bool event_source_wants(const EventSource *src, ProviderEvent kind);
/* The engine's copy of class `name` of the source's namespace (a new
 * reference): instances raised are built on it. WBEM_E_INVALID_CLASS when
 * there is none. */
int event_source_class(EventSource *src, const char *name, CimClass **ret, Error *err);

/* The host's loop (EngineTimerOps, events.h): fn(arg) runs whenever fd is
 * readable, until event_source_unwatch; NULL for lack of memory. */
void *event_source_watch(EventSource *src, int fd, void (*fn)(void *arg), void *arg);
void event_source_unwatch(EventSource *src, void *watch);
/* fn(arg) every interval_usec until event_source_timer_stop (which fn may
 * call on its own timer); NULL for lack of memory. */
void *event_source_timer_start(EventSource *src, uint64_t interval_usec, void (*fn)(void *arg),
                               void *arg);
void event_source_timer_stop(EventSource *src, void *timer);

/* The source lost notifications (a kernel queue overflowed: ENOBUFS on a
 * netlink socket, IN_Q_OVERFLOW) and resynchronises (a scan): counted in
 * EngineEventStats.source_overflows (LWMI_Daemon.SourceOverflows), so that
 * a loss is never silent. */
void event_source_overflowed(EventSource *src);

/* The source failed for good: end every registration of src with status
 * and message (call_ended). The last one going stops the source, from
 * inside this call: the provider must not touch its state after it
 * returns, and must not call it from source_start or source_stop. */
void event_source_fail(EventSource *src, int status, const char *message);
