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
 * block for long; they return -errno or a WbemStatus with an Error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "class.h"
#include "error.h"
#include "instance.h"
#include "objpath.h"
#include "wql.h"

typedef struct Provider Provider;
typedef struct ProviderCursor ProviderCursor;

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

        /* Native events: the extension point for issue 6, not yet in the
         * interface. Until a provider can say that it raises the instance
         * events of a class by itself (and start and stop that source for
         * the engine, refcounted like poll tasks), every intrinsic query on
         * a provider's class needs WITHIN and is polled by the engine
         * (events.c: event_source() is the one place that decides, and the
         * one to extend along with the operations added here). */
} ProviderOps;

struct Provider {
        const char *name; /* "process", "os": for messages */
        const char *ns;   /* namespace it serves, e.g. "root/cimv2" */
        const ProviderOps *ops;
        void *userdata;
};
