/* Quotas per user; see quota.h. */
#include "quota.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "mem.h"
#include "settings.h"

/* ---- the kinds ------------------------------------------------------------- */

static const struct {
        const char *key;
        const char *option;
        bool bytes;       /* takes K, M, G */
        size_t min;       /* smallest finite value */
        size_t fallback;  /* default for every user but root */
        const char *what; /* for messages: "open sessions", ... */
} quota_kinds[QUOTA_N] = {
        [QUOTA_SESSIONS] = { "sessions", "--quota-sessions", false, 0, QUOTA_DEFAULT_SESSIONS,
                             "open sessions" },
        [QUOTA_REGISTRATIONS] = { "registrations", "--quota-registrations", false, 0,
                                  QUOTA_DEFAULT_REGISTRATIONS,
                                  "open asynchronous calls over all the user's sessions" },
        [QUOTA_SESSION_REGISTRATIONS] = { "session_registrations",
                                          "--quota-session-registrations", false, 0,
                                          QUOTA_DEFAULT_SESSION_REGISTRATIONS,
                                          "open asynchronous calls on one session" },
        [QUOTA_BACKLOG_BYTES] = { "backlog_bytes", "--quota-backlog-bytes", true, 0,
                                  QUOTA_DEFAULT_BACKLOG_BYTES,
                                  "bytes of Indicate backlog over all the user's sessions" },
        [QUOTA_QUERY_BYTES] = { "query_bytes", "--quota-query-bytes", true, 0,
                                QUOTA_DEFAULT_QUERY_BYTES, "bytes in one query text" },
        [QUOTA_REQUEST_RATE] = { "request_rate", "--quota-request-rate", false, 1,
                                 QUOTA_DEFAULT_REQUEST_RATE, "requests a second" },
        [QUOTA_REQUEST_BURST] = { "request_burst", "--quota-request-burst", false, 1,
                                  QUOTA_DEFAULT_REQUEST_BURST, "requests in a burst" },
};

const char *quota_kind_key(QuotaKind k) {
        return (unsigned)k < QUOTA_N ? quota_kinds[k].key : "unknown";
}

const char *quota_kind_option(QuotaKind k) {
        return (unsigned)k < QUOTA_N ? quota_kinds[k].option : "unknown";
}

int quota_kind_from_key(const char *key) {
        for (int k = 0; k < QUOTA_N; k++)
                if (strcmp(quota_kinds[k].key, key) == 0)
                        return k;
        return -1;
}

int quota_parse_value(QuotaKind k, const char *text, const char *what, size_t *ret, Error *err) {
        size_t min = quota_kinds[k].min;

        if (strcmp(text, "unlimited") == 0) {
                *ret = QUOTA_UNLIMITED;
                return 0;
        }
        if (quota_kinds[k].bytes) {
                /* settings' sizes, "unlimited" besides */
                Error e;
                if (settings_parse_size_in(text, what, min, QUOTA_MAX_VALUE, ret, &e) == 0)
                        return 0;
                return error_set(err, WBEM_E_INVALID_PARAMETER, "%s, or 'unlimited'", e.message);
        }
        Error e;
        if (settings_parse_count(text, what, min, QUOTA_MAX_VALUE, ret, &e) == 0)
                return 0;
        return error_set(err, WBEM_E_INVALID_PARAMETER, "%s, or 'unlimited'", e.message);
}

/* ---- configuration --------------------------------------------------------- */

static void limits_fill(QuotaLimits *l, size_t value) {
        for (int k = 0; k < QUOTA_N; k++)
                l->v[k] = value;
}

void quota_config_init(QuotaConfig *c) {
        *c = (QuotaConfig){ 0 };
        for (int k = 0; k < QUOTA_N; k++)
                c->defaults.v[k] = quota_kinds[k].fallback;
}

void quota_config_done(QuotaConfig *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_overrides; i++)
                mem_free(c->overrides[i].user);
        mem_free(c->overrides);
        quota_config_init(c);
}

int quota_config_copy(const QuotaConfig *src, QuotaConfig *dst) {
        QuotaConfig c = *src;

        c.overrides = NULL;
        c.n_overrides = 0;
        if (src->n_overrides > 0) {
                c.overrides = mem_calloc(src->n_overrides, sizeof(QuotaOverride));
                if (!c.overrides)
                        return -ENOMEM;
                for (size_t i = 0; i < src->n_overrides; i++) {
                        c.overrides[i] = src->overrides[i];
                        c.overrides[i].user = mem_strdup(src->overrides[i].user);
                        if (!c.overrides[i].user) {
                                c.n_overrides = i;
                                quota_config_done(&c);
                                return -ENOMEM;
                        }
                }
                c.n_overrides = src->n_overrides;
        }
        *dst = c;
        return 0;
}

#define QUOTA_SECTION "quota"

bool quota_config_section(const char *section) {
        size_t n = strlen(QUOTA_SECTION);
        return strncmp(section, QUOTA_SECTION, n) == 0 && (section[n] == '\0' || section[n] == ':');
}

/* The override for user (as written), made on first use. */
static int config_override(QuotaConfig *c, const char *user, QuotaOverride **ret) {
        for (size_t i = 0; i < c->n_overrides; i++)
                if (strcmp(c->overrides[i].user, user) == 0) {
                        *ret = &c->overrides[i];
                        return 0;
                }
        QuotaOverride *p = mem_reallocarray(c->overrides, c->n_overrides + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        c->overrides = p;
        QuotaOverride *o = &p[c->n_overrides];
        *o = (QuotaOverride){ .user = mem_strdup(user) };
        if (!o->user)
                return -ENOMEM;
        c->n_overrides++;
        *ret = o;
        return 0;
}

int quota_config_set(QuotaConfig *c, const char *section, const char *key, const char *value,
                     Error *err) {
        int kind = quota_kind_from_key(key);
        size_t v;
        int r;

        if (!quota_config_section(section))
                return error_set(err, WBEM_E_INVALID_PARAMETER, "[%s] is not a quota section",
                                 section);
        if (kind < 0)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "unknown key '%s' in [%s] (known: sessions, registrations, "
                                 "session_registrations, backlog_bytes, query_bytes, "
                                 "request_rate, request_burst)",
                                 key, section);
        r = quota_parse_value((QuotaKind)kind, value, key, &v, err);
        if (r != 0)
                return r;
        unsigned bit = 1u << kind;
        const char *user = section + strlen(QUOTA_SECTION);
        if (*user == '\0') {
                if (c->from_file & bit)
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "key '%s' set more than once in [%s]", key, section);
                c->from_file |= bit;
                if (!(c->from_cmdline & bit))
                        c->defaults.v[kind] = v;
                return 0;
        }
        user++;
        if (*user == '\0')
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "[%s] names no user (write [quota:NAME], [quota:UID] or "
                                 "[quota:anonymous])",
                                 section);
        QuotaOverride *o;
        r = config_override(c, user, &o);
        if (r < 0)
                return error_from_errno(err, r);
        if (o->set & bit)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "key '%s' set more than once in [%s]", key, section);
        o->set |= bit;
        o->limits.v[kind] = v;
        return 0;
}

/* ---- the buckets ------------------------------------------------------------- */

/* A resolved [quota:USER] section. */
typedef struct QuotaRule {
        uid_t uid;
        QuotaLimits limits;
        unsigned set;
} QuotaRule;

struct QuotaUser {
        Quota *q;
        QuotaUser *next;
        uid_t uid;
        size_t refs;     /* sessions bound (open or closing) */
        size_t sessions; /* open */
        size_t registrations;
        size_t backlog;
        QuotaLimits limits;
        /* the request bucket, in millionths of a request */
        uint64_t tokens;
        uint64_t refilled_usec;
        uint64_t violations;
};

struct Quota {
        uid_t owner; /* lwmid's own user: unlimited like root */
        QuotaUser *users;
        size_t n_users;
        QuotaLimits defaults;
        QuotaRule *rules;
        size_t n_rules;
};

#define TOKEN_UNIT UINT64_C(1000000)

int quota_new(Quota **ret) {
        Quota *q = mem_calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        for (int k = 0; k < QUOTA_N; k++)
                q->defaults.v[k] = quota_kinds[k].fallback;
        q->owner = geteuid();
        *ret = q;
        return 0;
}


Quota *quota_free(Quota *q) {
        if (!q)
                return NULL;
        while (q->users) {
                QuotaUser *u = q->users;
                q->users = u->next;
                mem_free(u);
        }
        mem_free(q->rules);
        mem_free(q);
        return NULL;
}

static int lookup_getpwnam(const char *name, uid_t *ret) {
        struct passwd *pw = getpwnam(name);
        if (!pw)
                return -ENOENT;
        *ret = pw->pw_uid;
        return 0;
}

/* The uid a [quota:USER] names: digits are a uid, "anonymous" the
 * anonymous bucket, anything else a user name. */
static int rule_uid(const char *user, QuotaLookupUser lookup, uid_t *ret) {
        if (strcmp(user, "anonymous") == 0) {
                *ret = (uid_t)-1;
                return 0;
        }
        if (user[0] >= '0' && user[0] <= '9') {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(user, &end, 10);
                if (errno || *end || v >= (unsigned long long)(uid_t)-1)
                        return -EINVAL;
                *ret = (uid_t)v;
                return 0;
        }
        return lookup(user, ret);
}

static void user_limits(const Quota *q, uid_t uid, QuotaLimits *ret) {
        /* root, and the user lwmid runs as (a daemon of one's own serves
         * its owner, who could stop it anyway), are unlimited unless a
         * section of their own says otherwise */
        if (uid == 0 || uid == q->owner)
                limits_fill(ret, QUOTA_UNLIMITED);
        else
                *ret = q->defaults;
        for (size_t i = 0; i < q->n_rules; i++) {
                if (q->rules[i].uid != uid)
                        continue;
                for (int k = 0; k < QUOTA_N; k++)
                        if (q->rules[i].set & (1u << k))
                                ret->v[k] = q->rules[i].limits.v[k];
        }
}

void quota_set_owner(Quota *q, uid_t uid) {
        q->owner = uid;
        for (QuotaUser *u = q->users; u; u = u->next)
                user_limits(q, u->uid, &u->limits);
}

static uint64_t burst_tokens(const QuotaUser *u) {
        size_t burst = u->limits.v[QUOTA_REQUEST_BURST];
        return burst == QUOTA_UNLIMITED ? UINT64_MAX : (uint64_t)burst * TOKEN_UNIT;
}

int quota_configure(Quota *q, const QuotaConfig *c, QuotaLookupUser lookup) {
        QuotaRule *rules = NULL;
        size_t n = 0;

        if (!lookup)
                lookup = lookup_getpwnam;
        if (c->n_overrides > 0) {
                rules = mem_calloc(c->n_overrides, sizeof(QuotaRule));
                if (!rules)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_overrides; i++) {
                const QuotaOverride *o = &c->overrides[i];
                uid_t uid;
                int r = rule_uid(o->user, lookup, &uid);
                if (r < 0) {
                        log_warning("quota: section [quota:%s] ignored: %s", o->user,
                                    r == -ENOENT ? "no such user" : "not a valid uid");
                        continue;
                }
                rules[n++] = (QuotaRule){ .uid = uid, .limits = o->limits, .set = o->set };
        }
        mem_free(q->rules);
        q->rules = rules;
        q->n_rules = n;
        q->defaults = c->defaults;
        for (QuotaUser *u = q->users; u; u = u->next) {
                user_limits(q, u->uid, &u->limits);
                if (u->tokens > burst_tokens(u))
                        u->tokens = burst_tokens(u);
        }
        return 0;
}

QuotaUser *quota_user_find(const Quota *q, uid_t uid) {
        for (QuotaUser *u = q ? q->users : NULL; u; u = u->next)
                if (u->uid == uid)
                        return u;
        return NULL;
}

size_t quota_user_count(const Quota *q) {
        return q ? q->n_users : 0;
}

QuotaUser *quota_user_next(const Quota *q, bool first_call, uid_t after) {
        QuotaUser *best = NULL;
        for (QuotaUser *u = q ? q->users : NULL; u; u = u->next)
                if ((first_call || u->uid > after) && (!best || u->uid < best->uid))
                        best = u;
        return best;
}

/* "uid 1000" or "anonymous peers", and the section that raises it. */
static void user_names(const QuotaUser *u, char *who, size_t who_size, char *section,
                       size_t section_size) {
        if (u->uid == (uid_t)-1) {
                snprintf(who, who_size, "anonymous peers");
                snprintf(section, section_size, "[quota:anonymous]");
        } else {
                snprintf(who, who_size, "uid %lu", (unsigned long)u->uid);
                snprintf(section, section_size, "[quota:%lu]", (unsigned long)u->uid);
        }
}

/* The refusal: WBEM_E_QUOTA_VIOLATION naming the quota, the user, the
 * limit and how to raise it (counted for LWMI_User). */
static int quota_refuse(QuotaUser *u, QuotaKind k, const char *detail, Error *err) {
        char who[64], section[64];

        u->violations++;
        user_names(u, who, sizeof(who), section, sizeof(section));
        return error_set(err, WBEM_E_QUOTA_VIOLATION,
                         "quota '%s' exceeded for %s: %s; the limit is %zu %s. To raise it, set "
                         "%s = N (or unlimited) in section %s (this user) or [quota] (every "
                         "user) of lwmid's configuration file and send lwmid SIGHUP, or start "
                         "lwmid with %s N",
                         quota_kinds[k].key, who, detail, u->limits.v[k], quota_kinds[k].what,
                         quota_kinds[k].key, section, quota_kinds[k].option);
}

int quota_session_open(Quota *q, uid_t uid, uint64_t now_usec, QuotaUser **ret, Error *err) {
        if (!q) {
                *ret = NULL;
                return 0;
        }
        QuotaUser *u = quota_user_find(q, uid);
        if (!u) {
                u = mem_calloc(1, sizeof(*u));
                if (!u)
                        return error_from_errno(err, -ENOMEM);
                u->q = q;
                u->uid = uid;
                user_limits(q, uid, &u->limits);
                u->tokens = burst_tokens(u);
                u->refilled_usec = now_usec;
                u->next = q->users;
                q->users = u;
                q->n_users++;
        }
        if (u->limits.v[QUOTA_SESSIONS] != QUOTA_UNLIMITED &&
            u->sessions >= u->limits.v[QUOTA_SESSIONS]) {
                char detail[96];
                snprintf(detail, sizeof(detail), "%zu sessions are open already", u->sessions);
                int r = quota_refuse(u, QUOTA_SESSIONS, detail, err);
                if (u->refs == 0) {
                        /* made for this refusal: nothing holds it */
                        u->refs = 1;
                        quota_user_unref(u);
                }
                return r;
        }
        u->refs++;
        u->sessions++;
        *ret = u;
        return 0;
}

void quota_session_close(QuotaUser *u) {
        if (u && u->sessions > 0)
                u->sessions--;
}

void quota_user_unref(QuotaUser *u) {
        if (!u || --u->refs > 0)
                return;
        Quota *q = u->q;
        if (u->registrations || u->backlog || u->sessions)
                log_error("quota: uid %ld released with %zu registrations, %zu backlog bytes and "
                          "%zu sessions still counted",
                          u->uid == (uid_t)-1 ? -1L : (long)u->uid, u->registrations, u->backlog,
                          u->sessions);
        for (QuotaUser **p = &q->users; *p; p = &(*p)->next)
                if (*p == u) {
                        *p = u->next;
                        break;
                }
        q->n_users--;
        mem_free(u);
}

int quota_check_registration(QuotaUser *u, size_t session_calls, Error *err) {
        char detail[96];

        if (!u)
                return 0;
        size_t total = u->limits.v[QUOTA_REGISTRATIONS];
        size_t per = u->limits.v[QUOTA_SESSION_REGISTRATIONS];
        if (total != QUOTA_UNLIMITED && u->registrations >= total) {
                snprintf(detail, sizeof(detail), "its sessions hold %zu asynchronous calls",
                         u->registrations);
                return quota_refuse(u, QUOTA_REGISTRATIONS, detail, err);
        }
        if (per != QUOTA_UNLIMITED && session_calls >= per) {
                snprintf(detail, sizeof(detail), "this session holds %zu asynchronous calls",
                         session_calls);
                return quota_refuse(u, QUOTA_SESSION_REGISTRATIONS, detail, err);
        }
        return 0;
}

int quota_check_sinks(QuotaUser *u, size_t session_sinks, Error *err) {
        char detail[128];
        size_t per = u ? u->limits.v[QUOTA_SESSION_REGISTRATIONS] : QUOTA_UNLIMITED;

        if (per == QUOTA_UNLIMITED || session_sinks < per)
                return 0;
        snprintf(detail, sizeof(detail),
                 "this session has %zu sinks (a sink lives as long as its session: reuse sink "
                 "ids)",
                 session_sinks);
        return quota_refuse(u, QUOTA_SESSION_REGISTRATIONS, detail, err);
}

void quota_registrations_add(QuotaUser *u, size_t n) {
        if (u)
                u->registrations += n;
}

void quota_registrations_release(QuotaUser *u, size_t n) {
        if (!u)
                return;
        if (n > u->registrations) {
                log_error("quota: uid %ld releases %zu registrations but holds %zu",
                          u->uid == (uid_t)-1 ? -1L : (long)u->uid, n, u->registrations);
                n = u->registrations;
        }
        u->registrations -= n;
}

int quota_check_query(QuotaUser *u, size_t len, Error *err) {
        char detail[96];

        if (!u || u->limits.v[QUOTA_QUERY_BYTES] == QUOTA_UNLIMITED ||
            len <= u->limits.v[QUOTA_QUERY_BYTES])
                return 0;
        snprintf(detail, sizeof(detail), "the query is %zu bytes long", len);
        return quota_refuse(u, QUOTA_QUERY_BYTES, detail, err);
}

int quota_take_request(QuotaUser *u, uint64_t now_usec, Error *err) {
        if (!u)
                return 0;
        size_t rate = u->limits.v[QUOTA_REQUEST_RATE];
        uint64_t full = burst_tokens(u);
        if (rate == QUOTA_UNLIMITED || full == UINT64_MAX)
                return 0;
        if (now_usec > u->refilled_usec) {
                uint64_t elapsed = now_usec - u->refilled_usec;
                /* tokens in millionths: rate per second is rate per usec */
                if (elapsed >= (full - u->tokens) / rate + 1)
                        u->tokens = full;
                else
                        u->tokens += elapsed * rate;
                u->refilled_usec = now_usec;
        }
        if (u->tokens >= TOKEN_UNIT) {
                u->tokens -= TOKEN_UNIT;
                return 0;
        }
        char detail[128];
        snprintf(detail, sizeof(detail),
                 "its sessions sent more than %zu requests at once and the bucket refills at "
                 "%zu a second",
                 u->limits.v[QUOTA_REQUEST_BURST], rate);
        return quota_refuse(u, QUOTA_REQUEST_RATE, detail, err);
}

void quota_backlog_set(QuotaUser *u, size_t *charged, size_t bytes) {
        if (!u) {
                *charged = bytes;
                return;
        }
        if (*charged > u->backlog) {
                log_error("quota: uid %ld backlog %zu below a session's charge of %zu",
                          u->uid == (uid_t)-1 ? -1L : (long)u->uid, u->backlog, *charged);
                u->backlog = *charged;
        }
        u->backlog = u->backlog - *charged + bytes;
        *charged = bytes;
}

bool quota_backlog_full(const QuotaUser *u) {
        return u && u->limits.v[QUOTA_BACKLOG_BYTES] != QUOTA_UNLIMITED &&
               u->backlog >= u->limits.v[QUOTA_BACKLOG_BYTES];
}

bool quota_backlog_drained(const QuotaUser *u) {
        return !u || u->limits.v[QUOTA_BACKLOG_BYTES] == QUOTA_UNLIMITED ||
               u->backlog <= u->limits.v[QUOTA_BACKLOG_BYTES] / 2;
}

void quota_user_usage(const QuotaUser *u, QuotaUsage *ret) {
        *ret = (QuotaUsage){
                .uid = u->uid,
                .sessions = u->sessions,
                .registrations = u->registrations,
                .backlog_bytes = u->backlog,
                .limits = u->limits,
                .violations = u->violations,
                .request_tokens = u->tokens == UINT64_MAX ? UINT64_MAX : u->tokens / TOKEN_UNIT,
        };
}
