/* Rights per namespace (docs/security.md, "Rights per namespace"): which
 * peer may read, subscribe, write, publish or administer in which
 * namespace.
 *
 * A grant gives a set of rights on one namespace to one principal: a user
 * (uid), a group (gid), `everyone` (every peer with a user identity: Unix
 * socket peers and authenticated TLS peers) or `anonymous` (plain TCP
 * peers, uid -1). A grant on a namespace also holds in every namespace
 * below it (root/x covers root/x/y). There are grants only, no denials: a
 * peer's rights in a namespace are the union of the grants that match it
 * there. uid 0 always has every right everywhere (it owns the repository
 * file anyway, and cannot lock itself out).
 *
 * Grants live in the repository (repo.h, RepoGrant) and in memory, where
 * every check reads them: a change is written first, then takes effect at
 * once for every session's next call. A repository with no grants at all
 * gets the defaults when rights are loaded: root (uid 0) all rights on
 * root; everyone and anonymous read and subscribe on root/cimv2.
 *
 * Every protocol method needs one right (rights_for_method), checked once
 * by the session before the method runs (rights_check_call). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "provider.h"
#include "repo.h"

typedef struct Session Session;

typedef enum Right {
        RIGHT_READ = 1u << 0,      /* GetObject, ExecQuery(Async), EnumInstances, EnumClasses */
        RIGHT_SUBSCRIBE = 1u << 1, /* ExecNotificationQueryAsync */
        RIGHT_WRITE = 1u << 2,     /* PutClass, DeleteClass, PutInstance, DeleteInstance */
        RIGHT_PUBLISH = 1u << 3,   /* PublishEvent */
        RIGHT_ADMIN = 1u << 4,     /* rights, tokens, other users' sessions */
        RIGHTS_ALL = (1u << 5) - 1,
} Right;

typedef enum RightsKind {
        RIGHTS_USER,
        RIGHTS_GROUP,
        RIGHTS_EVERYONE,
        RIGHTS_ANONYMOUS,
} RightsKind;

/* Whom a grant is for. name: the name given (a user or group name), or
 * the one the system knows for a numeric id; "" when none. */
#define RIGHTS_NAME_MAX 256
typedef struct RightsPrincipal {
        RightsKind kind;
        int64_t id; /* uid or gid; -1 for everyone and anonymous */
        char name[RIGHTS_NAME_MAX];
} RightsPrincipal;

typedef struct Rights Rights;

/* Load the grants of repo (NULL: none, in memory only), seeding the
 * defaults when it has none. Errors: the repository's, -ENOMEM. */
int rights_new(Repo *repo, Rights **ret, Error *err);
Rights *rights_free(Rights *r); /* accepts NULL, returns NULL */

/* The rights `who` has in namespace ns (any case, '/' or '\'): a mask of
 * Right. who NULL is the daemon itself: all. An invalid namespace name
 * gets none. */
unsigned rights_effective(const Rights *r, const ProviderCaller *who, const char *ns);
/* Whether who has every right of mask in ns. r NULL: a daemon without a
 * repository, where nothing is guarded: true. */
bool rights_allowed(const Rights *r, const ProviderCaller *who, const char *ns, unsigned mask);

/* The right a protocol method needs, and whether it is checked on the
 * request's `namespace` param (else on root). Hello, Ping and
 * CancelAsyncCall need none (0). A method not in the table needs admin on
 * root: a method added without a thought for rights is closed, not open. */
unsigned rights_for_method(const char *method, bool *ret_on_namespace);

/* What an event subscription in ns (normalized or not) needs: subscribe,
 * and in root/lwmi (and below) admin as well, since the polls that serve
 * events there run as the daemon and see every user's sessions. */
unsigned rights_for_subscribe(const char *ns);

/* "read", "subscribe", "write", "publish", "admin" for one right. */
const char *rights_name(unsigned right);
/* A comma-separated list of right names, or "all" (white space around
 * names ignored): WBEM_E_INVALID_PARAMETER naming the bad word. */
int rights_parse(const char *text, unsigned *ret, Error *err);
/* mask as a JSON array of names, in the order of Right. */
json_t *rights_to_json(unsigned mask);

/* "user:NAME", "user:UID", "group:NAME", "group:GID", "everyone",
 * "anonymous". Names are looked up in the system's user and group
 * databases (getpwnam, getgrnam); numeric ids are taken as given, with the
 * system's name when it knows one. WBEM_E_INVALID_PARAMETER for a bad
 * form, WBEM_E_NOT_FOUND for an unknown name. */
int rights_principal_parse(const char *text, RightsPrincipal *ret, Error *err);
/* The principal as text: "user:alice", "user:1000" (no name),
 * "group:adm", "everyone", "anonymous". */
void rights_principal_format(const RightsPrincipal *p, char *buf, size_t size);

/* Add the rights `add` to and then take `remove` from the grant of p on ns
 * (the namespace's stored spelling), written to the repository before it
 * takes effect. A grant left with no rights is deleted. *ret_after (may
 * be NULL) is what the grant holds afterwards. WBEM_E_NOT_FOUND when only
 * removing and there is no such grant; the repository's errors. */
int rights_change(Rights *r, const char *ns, const RightsPrincipal *p, unsigned add,
                  unsigned remove, unsigned *ret_after, Error *err);

/* The grants, for ListRights: ns NULL for all, else those on ns exactly
 * (any case), as JSON objects {namespace, principal, kind, id (users and
 * groups), name (when known), rights}. WBEM_E_INVALID_NAMESPACE for an
 * invalid name. */
int rights_list(const Rights *r, const char *ns, json_t **ret, Error *err);
/* One grant as ListRights shows it. */
json_t *rights_grant_to_json(const char *ns, const RightsPrincipal *p, unsigned mask);

/* Refusals a session has logged: each (right, namespace) once. */
typedef struct RightsSeen RightsSeen;
RightsSeen *rights_seen_free(RightsSeen *seen); /* accepts NULL, returns NULL */

/* The session's check before a method runs: 0 when the session's peer has
 * the right the method needs on its namespace (or the method needs none),
 * else WBEM_E_ACCESS_DENIED with a message naming the method, the right
 * and the namespace (nothing about the object asked for), logged once per
 * session and (right, namespace); WBEM_E_INVALID_NAMESPACE for a namespace
 * name that is not valid. params: the request's, checked already. */
int rights_check_call(Session *s, const char *method, const json_t *params, Error *err);
