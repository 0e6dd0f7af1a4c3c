/* Rights per namespace: grants in memory, backed by the repository, and
 * the check every request passes; see rights.h. */
#include "rights.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "mem.h"
#include "names.h"
#include "objpath.h"
#include "server.h"
#include "session.h"

typedef struct RightsGrant {
        char *ns; /* normalized */
        RightsPrincipal who;
        unsigned rights;
} RightsGrant;

struct Rights {
        Repo *repo; /* NULL: in memory only */
        RightsGrant *grants;
        size_t n_grants, cap;
};

/* Refusals a session has logged; past RIGHTS_SEEN_MAX distinct ones no
 * more are logged (a peer trying every namespace cannot flood the log). */
#define RIGHTS_SEEN_MAX 64
struct RightsSeen {
        size_t n;
        struct {
                unsigned right;
                char *ns;
        } seen[RIGHTS_SEEN_MAX];
        bool full_logged;
};

static const char *const right_names[] = { "read", "subscribe", "write", "publish", "admin" };
_Static_assert(sizeof(right_names) / sizeof(right_names[0]) == 5, "one name per Right");

static const char *const kind_names[] = {
        [RIGHTS_USER] = "user",
        [RIGHTS_GROUP] = "group",
        [RIGHTS_EVERYONE] = "everyone",
        [RIGHTS_ANONYMOUS] = "anonymous",
};

/* ---- names ------------------------------------------------------------------- */

const char *rights_name(unsigned right) {
        for (size_t k = 0; k < ELEMENTSOF(right_names); k++)
                if (right == 1u << k)
                        return right_names[k];
        return "?";
}

int rights_parse(const char *text, unsigned *ret, Error *err) {
        unsigned mask = 0;
        const char *p = text;

        if (!text)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no rights given");
        for (;;) {
                while (*p == ' ' || *p == '\t')
                        p++;
                size_t len = strcspn(p, ",");
                size_t end = len;
                while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t'))
                        end--;
                bool found = false;
                if (end == 3 && strncasecmp(p, "all", 3) == 0) {
                        mask |= RIGHTS_ALL;
                        found = true;
                }
                for (size_t k = 0; !found && k < ELEMENTSOF(right_names); k++)
                        if (strlen(right_names[k]) == end &&
                            strncasecmp(p, right_names[k], end) == 0) {
                                mask |= 1u << k;
                                found = true;
                        }
                if (!found)
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "unknown right '%.*s': rights are read, subscribe, write, "
                                         "publish, admin or all, separated by commas",
                                         (int)(end > 64 ? 64 : end), p);
                if (p[len] == '\0')
                        break;
                p += len + 1;
        }
        *ret = mask;
        return 0;
}

json_t *rights_to_json(unsigned mask) {
        json_t *a = json_array();
        for (size_t k = 0; a && k < ELEMENTSOF(right_names); k++)
                if ((mask & (1u << k)) &&
                    json_array_append_new(a, json_string(right_names[k])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static bool parse_id(const char *text, int64_t *ret) {
        char *end;
        if (!isdigit((unsigned char)text[0]))
                return false;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        /* (uid_t)-1 is no one: it cannot be granted anything */
        if (errno || *end || v >= UINT32_MAX)
                return false;
        *ret = (int64_t)v;
        return true;
}

int rights_principal_parse(const char *text, RightsPrincipal *ret, Error *err) {
        RightsPrincipal p = { .id = -1 };
        const char *rest;

        if (!text)
                return error_set(err, WBEM_E_INVALID_PARAMETER, "no principal given");
        if (strcmp(text, "everyone") == 0)
                p.kind = RIGHTS_EVERYONE;
        else if (strcmp(text, "anonymous") == 0)
                p.kind = RIGHTS_ANONYMOUS;
        else if (strncmp(text, "user:", 5) == 0 || strncmp(text, "group:", 6) == 0) {
                bool user = text[0] == 'u';
                p.kind = user ? RIGHTS_USER : RIGHTS_GROUP;
                rest = text + (user ? 5 : 6);
                if (!*rest || strlen(rest) >= sizeof(p.name))
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "principal '%.300s': a %s name or number is needed after "
                                         "'%s:'",
                                         text, user ? "user" : "group", user ? "user" : "group");
                /* The lookup may ask NSS (files, LDAP): admin calls are
                 * rare, and a stall here is the admin's own. */
                if (parse_id(rest, &p.id)) {
                        const char *name = NULL;
                        if (user) {
                                struct passwd *pw = getpwuid((uid_t)p.id);
                                name = pw ? pw->pw_name : NULL;
                        } else {
                                struct group *gr = getgrgid((gid_t)p.id);
                                name = gr ? gr->gr_name : NULL;
                        }
                        if (name && strlen(name) < sizeof(p.name))
                                strcpy(p.name, name);
                } else if (user) {
                        struct passwd *pw = getpwnam(rest);
                        if (!pw)
                                return error_set(err, WBEM_E_NOT_FOUND, "no user named '%s'", rest);
                        p.id = pw->pw_uid;
                        strcpy(p.name, rest);
                } else {
                        struct group *gr = getgrnam(rest);
                        if (!gr)
                                return error_set(err, WBEM_E_NOT_FOUND, "no group named '%s'",
                                                 rest);
                        p.id = gr->gr_gid;
                        strcpy(p.name, rest);
                }
        } else
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "principal '%.300s': expected user:NAME, user:UID, group:NAME, "
                                 "group:GID, everyone or anonymous",
                                 text);
        *ret = p;
        return 0;
}

void rights_principal_format(const RightsPrincipal *p, char *buf, size_t size) {
        if (p->kind == RIGHTS_EVERYONE || p->kind == RIGHTS_ANONYMOUS)
                snprintf(buf, size, "%s", kind_names[p->kind]);
        else if (p->name[0])
                snprintf(buf, size, "%s:%s", kind_names[p->kind], p->name);
        else
                snprintf(buf, size, "%s:%" PRId64, kind_names[p->kind], p->id);
}

static bool kind_parse(const char *text, RightsKind *ret) {
        for (size_t k = 0; k < ELEMENTSOF(kind_names); k++)
                if (strcmp(text, kind_names[k]) == 0) {
                        *ret = (RightsKind)k;
                        return true;
                }
        return false;
}

/* ---- the grants in memory ------------------------------------------------------ */

static void grants_free(RightsGrant *g, size_t n) {
        for (size_t k = 0; g && k < n; k++)
                mem_free(g[k].ns);
        mem_free(g);
}

Rights *rights_free(Rights *r) {
        if (!r)
                return NULL;
        grants_free(r->grants, r->n_grants);
        mem_free(r);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Rights *, rights_free);

static bool principal_same(const RightsPrincipal *a, const RightsPrincipal *b) {
        return a->kind == b->kind && a->id == b->id;
}

static RightsGrant *grant_find(const Rights *r, const char *ns, const RightsPrincipal *p) {
        for (size_t k = 0; k < r->n_grants; k++)
                if (principal_same(&r->grants[k].who, p) && name_equal(r->grants[k].ns, ns))
                        return &r->grants[k];
        return NULL;
}

/* Room for one more grant. */
static int grants_reserve(Rights *r) {
        if (r->n_grants < r->cap)
                return 0;
        size_t cap = r->cap ? 2 * r->cap : 8;
        RightsGrant *list = mem_reallocarray(r->grants, cap, sizeof(*list));
        if (!list)
                return -ENOMEM;
        r->grants = list;
        r->cap = cap;
        return 0;
}

/* Set the grant of p on ns (normalized) to mask in memory; 0 removes it.
 * Fails (-ENOMEM) only when adding a grant. */
static int grant_put(Rights *r, const char *ns, const RightsPrincipal *p, unsigned mask) {
        RightsGrant *g = grant_find(r, ns, p);

        if (g && mask) {
                g->rights = mask;
                g->who = *p;
                return 0;
        }
        if (g) {
                size_t k = (size_t)(g - r->grants);
                mem_free(g->ns);
                memmove(g, g + 1, (r->n_grants - k - 1) * sizeof(*g));
                r->n_grants--;
                return 0;
        }
        if (!mask)
                return 0;
        int k = grants_reserve(r);
        if (k < 0)
                return k;
        char *copy = mem_strdup(ns);
        if (!copy)
                return -ENOMEM;
        r->grants[r->n_grants++] = (RightsGrant){ .ns = copy, .who = *p, .rights = mask };
        return 0;
}

/* Write the grant of p on ns to the repository (if any), then memory. */
static int grant_store(Rights *r, const char *ns, const RightsPrincipal *p, unsigned mask,
                       Error *err) {
        /* Everything that can fail in memory first: after the commit
         * nothing may, or memory and the repository would differ. */
        bool adding = mask && !grant_find(r, ns, p);
        int k = adding ? grants_reserve(r) : 0;
        if (k < 0)
                return k;
        _cleanup_free_ char *ns_copy = mem_strdup(ns);
        if (!ns_copy)
                return -ENOMEM;
        if (r->repo) {
                RepoGrant row = {
                        .ns = ns_copy,
                        .kind = (char *)kind_names[p->kind],
                        .id = p->id,
                        .name = p->name[0] ? (char *)p->name : NULL,
                        .rights = mask,
                };
                k = repo_grants_set(r->repo, &row, 1, err);
                if (k != 0)
                        return k;
        }
        if (adding) {
                r->grants[r->n_grants++] =
                        (RightsGrant){ .ns = TAKE_PTR(ns_copy), .who = *p, .rights = mask };
                return 0;
        }
        return grant_put(r, ns_copy, p, mask); /* changes or removes: cannot fail */
}

static const struct {
        const char *ns;
        RightsKind kind;
        int64_t id;
        const char *name;
        unsigned rights;
} default_grants[] = {
        { "root", RIGHTS_USER, 0, "root", RIGHTS_ALL },
        { "root/cimv2", RIGHTS_EVERYONE, -1, NULL, RIGHT_READ | RIGHT_SUBSCRIBE },
        { "root/cimv2", RIGHTS_ANONYMOUS, -1, NULL, RIGHT_READ | RIGHT_SUBSCRIBE },
};

static int rights_seed(Rights *r, Error *err) {
        RepoGrant rows[ELEMENTSOF(default_grants)];

        for (size_t k = 0; k < ELEMENTSOF(default_grants); k++) {
                RightsPrincipal p = { .kind = default_grants[k].kind, .id = default_grants[k].id };
                if (default_grants[k].name)
                        snprintf(p.name, sizeof(p.name), "%s", default_grants[k].name);
                int e = grant_put(r, default_grants[k].ns, &p, default_grants[k].rights);
                if (e < 0)
                        return e;
                rows[k] = (RepoGrant){
                        .ns = (char *)default_grants[k].ns,
                        .kind = (char *)kind_names[default_grants[k].kind],
                        .id = default_grants[k].id,
                        .name = (char *)default_grants[k].name,
                        .rights = default_grants[k].rights,
                };
        }
        return r->repo ? repo_grants_set(r->repo, rows, ELEMENTSOF(rows), err) : 0;
}

int rights_new(Repo *repo, Rights **ret, Error *err) {
        _cleanup_(rights_freep) Rights *r = mem_calloc(1, sizeof(*r));
        RepoGrant *rows = NULL;
        size_t n = 0;
        int k;

        if (!r)
                return -ENOMEM;
        r->repo = repo;
        if (repo) {
                k = repo_grants_load(repo, &rows, &n, err);
                if (k != 0)
                        return k;
        }
        for (size_t i = 0; i < n; i++) {
                RightsPrincipal p = { .id = rows[i].id };
                errno = 0;
                _cleanup_free_ char *ns = namespace_normalize(rows[i].ns);
                if (!ns && errno == ENOMEM) {
                        repo_grants_free(rows, n);
                        return -ENOMEM;
                }
                if (!kind_parse(rows[i].kind, &p.kind) || !ns) {
                        /* a row this version does not understand grants
                         * nothing (a newer lwmid's, or damage) */
                        log_warning("repository: ignoring a rights grant of unknown kind '%s' on "
                                    "'%s'",
                                    rows[i].kind, rows[i].ns);
                        continue;
                }
                if (rows[i].name)
                        snprintf(p.name, sizeof(p.name), "%s", rows[i].name);
                k = grant_put(r, ns, &p, rows[i].rights & RIGHTS_ALL);
                if (k < 0) {
                        repo_grants_free(rows, n);
                        return k;
                }
        }
        repo_grants_free(rows, n);
        if (n == 0) {
                k = rights_seed(r, err);
                if (k != 0)
                        return k;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

/* ---- checking ------------------------------------------------------------------ */

/* Whether ns equals base or lies below it; both normalized, ASCII case
 * folded as name_equal() does. */
static bool ns_within(const char *ns, const char *base) {
        size_t n = strlen(base);
        if (strncasecmp(ns, base, n) != 0)
                return false;
        return ns[n] == '\0' || ns[n] == '/';
}

static bool principal_matches(const RightsPrincipal *p, const ProviderCaller *who) {
        bool anonymous = who->uid == (uid_t)-1;

        switch (p->kind) {
        case RIGHTS_ANONYMOUS:
                return anonymous;
        case RIGHTS_EVERYONE:
                return !anonymous;
        case RIGHTS_USER:
                return !anonymous && p->id == (int64_t)who->uid;
        case RIGHTS_GROUP:
                if (anonymous)
                        return false;
                if (p->id == (int64_t)who->gid)
                        return true;
                for (size_t k = 0; k < who->n_groups; k++)
                        if (p->id == (int64_t)who->groups[k])
                                return true;
                return false;
        }
        return false;
}

unsigned rights_effective(const Rights *r, const ProviderCaller *who, const char *ns) {
        unsigned mask = 0;

        if (!who || who->uid == 0)
                return RIGHTS_ALL;
        _cleanup_free_ char *n = ns ? namespace_normalize(ns) : NULL;
        if (!n)
                return 0;
        for (size_t k = 0; r && k < r->n_grants; k++)
                if (ns_within(n, r->grants[k].ns) && principal_matches(&r->grants[k].who, who))
                        mask |= r->grants[k].rights;
        return mask;
}

bool rights_allowed(const Rights *r, const ProviderCaller *who, const char *ns, unsigned mask) {
        if (!r)
                return true;
        return (rights_effective(r, who, ns) & mask) == mask;
}

static const struct {
        const char *method;
        unsigned right; /* 0: none */
        bool on_namespace;
} method_rights[] = {
        { "Hello", 0, false },
        { "Ping", 0, false },
        { "CancelAsyncCall", 0, false },
        { "GetObject", RIGHT_READ, true },
        { "ExecQuery", RIGHT_READ, true },
        { "ExecQueryAsync", RIGHT_READ, true },
        { "EnumInstances", RIGHT_READ, true },
        { "EnumClasses", RIGHT_READ, true },
        { "ExecNotificationQueryAsync", RIGHT_SUBSCRIBE, true },
        { "PutClass", RIGHT_WRITE, true },
        { "DeleteClass", RIGHT_WRITE, true },
        { "PutInstance", RIGHT_WRITE, true },
        { "DeleteInstance", RIGHT_WRITE, true },
        { "PublishEvent", RIGHT_PUBLISH, true },
        { "ListRights", RIGHT_ADMIN, false },
        { "GrantRights", RIGHT_ADMIN, false },
        { "RevokeRights", RIGHT_ADMIN, false },
        { "AddToken", RIGHT_ADMIN, false },
        { "ListTokens", RIGHT_ADMIN, false },
        { "RevokeToken", RIGHT_ADMIN, false },
};

unsigned rights_for_method(const char *method, bool *ret_on_namespace) {
        for (size_t k = 0; k < ELEMENTSOF(method_rights); k++)
                if (strcmp(method_rights[k].method, method) == 0) {
                        *ret_on_namespace = method_rights[k].on_namespace;
                        return method_rights[k].right;
                }
        *ret_on_namespace = false;
        return RIGHT_ADMIN;
}

unsigned rights_for_subscribe(const char *ns) {
        errno = 0;
        _cleanup_free_ char *n = ns ? namespace_normalize(ns) : NULL;
        /* out of memory: ask for the most (a refusal, not a hole) */
        if ((n && ns_within(n, "root/lwmi")) || (!n && errno == ENOMEM))
                return RIGHT_SUBSCRIBE | RIGHT_ADMIN;
        return RIGHT_SUBSCRIBE;
}

RightsSeen *rights_seen_free(RightsSeen *seen) {
        if (!seen)
                return NULL;
        for (size_t k = 0; k < seen->n; k++)
                mem_free(seen->seen[k].ns);
        mem_free(seen);
        return NULL;
}

/* Whether this refusal is the session's first of (right, ns); remembers
 * it. Out of memory: log it (twice is better than never). */
static bool seen_first(Session *s, unsigned right, const char *ns) {
        RightsSeen *seen = s->rights_seen;

        if (!seen) {
                seen = s->rights_seen = mem_calloc(1, sizeof(*seen));
                if (!seen)
                        return true;
        }
        for (size_t k = 0; k < seen->n; k++)
                if (seen->seen[k].right == right && name_equal(seen->seen[k].ns, ns))
                        return false;
        if (seen->n == RIGHTS_SEEN_MAX) {
                if (seen->full_logged)
                        return false;
                seen->full_logged = true;
                log_info("session %llu: more than %d refusals of distinct rights and namespaces; "
                         "logging no more of them",
                         (unsigned long long)s->id, RIGHTS_SEEN_MAX);
                return false;
        }
        char *copy = mem_strdup(ns);
        if (copy) {
                seen->seen[seen->n].right = right;
                seen->seen[seen->n].ns = copy;
                seen->n++;
        }
        return true;
}

int rights_check_call(Session *s, const char *method, const json_t *params, Error *err) {
        Rights *rights = s->server->rights;
        bool on_namespace;
        unsigned right = rights_for_method(method, &on_namespace);

        if (right == 0 || !rights)
                return 0;
        const char *given = on_namespace && params
                                    ? json_string_value(json_object_get(params, "namespace"))
                                    : NULL;
        if (!on_namespace || !given)
                given = "root";
        ProviderCaller who = session_caller(s);
        if (who.uid == 0)
                return 0;
        _cleanup_free_ char *ns = namespace_normalize(given);
        if (!ns)
                return errno == ENOMEM ? -ENOMEM
                                       : error_set(err, WBEM_E_INVALID_NAMESPACE,
                                                   "invalid namespace name '%.200s'", given);
        unsigned have = rights_effective(rights, &who, ns);
        if (right == RIGHT_SUBSCRIBE && (have & right) && rights_for_subscribe(ns) != right)
                right = RIGHT_ADMIN; /* root/lwmi: see rights_for_subscribe */
        if (have & right)
                return 0;
        if (seen_first(s, right, ns))
                log_info("session %llu: access denied: uid=%ld peer=\"%s\" method=%s right=%s "
                         "namespace=%s",
                         (unsigned long long)s->id, who.uid == (uid_t)-1 ? -1L : (long)who.uid,
                         s->peer, method, rights_name(right), ns);
        return error_set(err, WBEM_E_ACCESS_DENIED,
                         "access denied: %s needs the %s right on namespace %s", method,
                         rights_name(right), ns);
}

/* ---- changing and listing ------------------------------------------------------ */

int rights_change(Rights *r, const char *ns, const RightsPrincipal *p, unsigned add,
                  unsigned remove, unsigned *ret_after, Error *err) {
        char who[RIGHTS_NAME_MAX + 16];
        _cleanup_free_ char *n = namespace_normalize(ns);

        if (!n)
                return errno == ENOMEM ? -ENOMEM
                                       : error_set(err, WBEM_E_INVALID_NAMESPACE,
                                                   "invalid namespace name '%.200s'", ns);
        RightsGrant *g = grant_find(r, n, p);
        unsigned before = g ? g->rights : 0;
        if (!g && !add) {
                rights_principal_format(p, who, sizeof(who));
                return error_set(err, WBEM_E_NOT_FOUND, "%s has no grant on namespace %s", who, n);
        }
        unsigned after = ((before | add) & ~remove) & RIGHTS_ALL;
        if (after != before || (g && p->name[0] && strcmp(g->who.name, p->name) != 0) || !g) {
                int k = grant_store(r, n, p, after, err);
                if (k != 0)
                        return k;
        }
        if (ret_after)
                *ret_after = after;
        return 0;
}

json_t *rights_grant_to_json(const char *ns, const RightsPrincipal *p, unsigned mask) {
        char text[RIGHTS_NAME_MAX + 16];
        json_t *o = json_object();
        json_t *list = rights_to_json(mask);

        rights_principal_format(p, text, sizeof(text));
        if (!o || !list || json_object_set_new(o, "namespace", json_string(ns)) < 0 ||
            json_object_set_new(o, "principal", json_string(text)) < 0 ||
            json_object_set_new(o, "kind", json_string(kind_names[p->kind])) < 0 ||
            ((p->kind == RIGHTS_USER || p->kind == RIGHTS_GROUP) &&
             json_object_set_new(o, "id", json_integer((json_int_t)p->id)) < 0) ||
            (p->name[0] && json_object_set_new(o, "name", json_string(p->name)) < 0)) {
                json_decref(o);
                json_decref(list);
                return NULL;
        }
        if (json_object_set_new(o, "rights", list) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

int rights_list(const Rights *r, const char *ns, json_t **ret, Error *err) {
        _cleanup_free_ char *n = NULL;
        json_t *a;

        if (ns && !(n = namespace_normalize(ns)))
                return errno == ENOMEM ? -ENOMEM
                                       : error_set(err, WBEM_E_INVALID_NAMESPACE,
                                                   "invalid namespace name '%.200s'", ns);
        a = json_array();
        if (!a)
                return -ENOMEM;
        for (size_t k = 0; k < r->n_grants; k++) {
                const RightsGrant *g = &r->grants[k];
                if (n && !name_equal(g->ns, n))
                        continue;
                json_t *o = rights_grant_to_json(g->ns, &g->who, g->rights);
                if (!o || json_array_append_new(a, o) < 0) {
                        json_decref(a);
                        return -ENOMEM;
                }
        }
        *ret = a;
        return 0;
}
