/* Quotas per user (issue 7, docs/security.md "Quotas"): what one user may
 * hold of lwmid at once, so that no single user exhausts the daemon.
 *
 * A user is a session's uid (session.h); every anonymous peer (plain TCP,
 * uid -1) shares one bucket. Per user lwmid counts its open sessions, its
 * open asynchronous calls (registrations: ExecNotificationQueryAsync
 * registrations and running ExecQueryAsync queries) over all its sessions,
 * and its Indicate backlog over all its sessions (the bytes each session's
 * Async counts against --max-backlog-bytes, summed); it limits besides the
 * calls of one session, the length of a query text, and the rate of
 * requests (a token bucket: `request_rate` tokens a second, at most
 * `request_burst` saved up; a request takes one).
 *
 * Configuration. The limits of every user come from section [quota] of the
 * configuration file (or the lwmid --quota-* options, which win), those of
 * one user from a section [quota:USER], USER a user name, a uid in decimal
 * or "anonymous"; a key it leaves out keeps the [quota] value. root (uid 0)
 * is unlimited unless a [quota:root] or [quota:0] section says otherwise
 * (its keys then apply, the others stay unlimited); so is the user lwmid
 * runs as (a daemon of one's own serves its owner). Every value is a count
 * (sizes take K, M, G) or "unlimited". A name is resolved to its uid when
 * the configuration is applied (at start and on SIGHUP); a name that is no
 * user is logged and ignored.
 *
 * Accounting. A session binds the bucket of its uid when it is accepted
 * (quota_session_open, refused over `sessions`) and keeps the pointer, so
 * everything it charged is released to the same bucket whatever happens
 * to its uid later. The bucket lives while a session is bound to it. A
 * refusal is WBEM_E_QUOTA_VIOLATION with a message naming the quota, the
 * user, the limit and how to raise it; nothing is charged then.
 *
 * Every function taking a QuotaUser accepts NULL: no bucket, no limit
 * (sessions made without the server's accept, in unit tests). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* A limit that does not limit. */
#define QUOTA_UNLIMITED SIZE_MAX

typedef enum QuotaKind {
        QUOTA_SESSIONS,              /* open sessions */
        QUOTA_REGISTRATIONS,         /* open asynchronous calls, all sessions */
        QUOTA_SESSION_REGISTRATIONS, /* open asynchronous calls of one session */
        QUOTA_BACKLOG_BYTES,         /* Indicate backlog, all sessions */
        QUOTA_QUERY_BYTES,           /* length of one query text */
        QUOTA_REQUEST_RATE,          /* requests per second, sustained */
        QUOTA_REQUEST_BURST,         /* requests at once (the bucket's size) */
        QUOTA_N
} QuotaKind;

/* Defaults for every user but root (docs/security.md "Quotas"). */
#define QUOTA_DEFAULT_SESSIONS ((size_t)64)
#define QUOTA_DEFAULT_REGISTRATIONS ((size_t)100000)
#define QUOTA_DEFAULT_SESSION_REGISTRATIONS ((size_t)100000)
#define QUOTA_DEFAULT_BACKLOG_BYTES ((size_t)64 << 20)
#define QUOTA_DEFAULT_QUERY_BYTES ((size_t)4 << 10)
#define QUOTA_DEFAULT_REQUEST_RATE ((size_t)10000)
#define QUOTA_DEFAULT_REQUEST_BURST ((size_t)200000)
/* The largest finite value of any limit. */
#define QUOTA_MAX_VALUE ((size_t)1 << 40)

typedef struct QuotaLimits {
        size_t v[QUOTA_N]; /* by QuotaKind; QUOTA_UNLIMITED: none */
} QuotaLimits;

/* A [quota:USER] section. */
typedef struct QuotaOverride {
        char *user;  /* as written: a name, a uid in decimal, "anonymous" */
        QuotaLimits limits;
        unsigned set; /* 1u << QuotaKind for each key given */
} QuotaOverride;

typedef struct QuotaConfig {
        QuotaLimits defaults;  /* [quota] and the --quota-* options */
        unsigned from_cmdline; /* 1u << QuotaKind given as an option: the file keeps off */
        unsigned from_file;    /* 1u << QuotaKind given in [quota] (repeats are errors) */
        QuotaOverride *overrides;
        size_t n_overrides;
} QuotaConfig;

/* The defaults above, no overrides. */
void quota_config_init(QuotaConfig *c);
void quota_config_done(QuotaConfig *c);
/* Deep copy; -ENOMEM with *dst untouched. */
int quota_config_copy(const QuotaConfig *src, QuotaConfig *dst);

/* The key of a quota in the file ("sessions", "session_registrations",
 * ...) and its option ("--quota-sessions", ...). */
const char *quota_kind_key(QuotaKind k);
const char *quota_kind_option(QuotaKind k);
/* The kind named by a file key, or -1. */
int quota_kind_from_key(const char *key);

/* A value of quota k: "unlimited", or a count from 0 (from 1 for the
 * request rate and burst) to QUOTA_MAX_VALUE; the byte quotas take a K, M
 * or G suffix as settings_parse_size does. WBEM_E_INVALID_PARAMETER with a
 * message naming `what`. */
int quota_parse_value(QuotaKind k, const char *text, const char *what, size_t *ret, Error *err);

/* Whether an INI section is one of ours: "quota" or "quota:USER". */
bool quota_config_section(const char *section);
/* One key = value of section "quota" or "quota:USER" from the file.
 * [quota] keys given on the command line are checked and skipped. 0, or
 * WBEM_E_INVALID_PARAMETER (unknown key, bad value, key repeated, empty
 * USER) with a message without file and line, or -ENOMEM. */
int quota_config_set(QuotaConfig *c, const char *section, const char *key, const char *value,
                     Error *err);

/* The accounting: one bucket per user with a session. */
typedef struct Quota Quota;
typedef struct QuotaUser QuotaUser;

/* Resolve a user name to its uid: 0, or -ENOENT (no such user). */
typedef int (*QuotaLookupUser)(const char *name, uid_t *ret);

/* lwmid's own user is its effective uid (geteuid) unless set. */
int quota_new(Quota **ret);
/* The user treated as lwmid's own (tests). */
void quota_set_owner(Quota *q, uid_t uid);
/* Accepts NULL. Users still bound are forgotten (their sessions must be
 * freed first). */
Quota *quota_free(Quota *q);

/* Apply c: every user's limits, also those of users with sessions open
 * (what they hold stays; a new charge over a lowered limit is refused).
 * lookup resolves names (NULL: getpwnam); a name that is no user is
 * logged as a warning and ignored. 0 or -ENOMEM (the old limits stay). */
int quota_configure(Quota *q, const QuotaConfig *c, QuotaLookupUser lookup);

/* A new session of uid: its bucket (created on first use) with the
 * session counted, or WBEM_E_QUOTA_VIOLATION over `sessions` (nothing
 * counted), or -ENOMEM. q NULL: 0 with *ret NULL. */
int quota_session_open(Quota *q, uid_t uid, uint64_t now_usec, QuotaUser **ret, Error *err);
/* The session ended: it no longer counts against `sessions`. Its
 * registrations and backlog are released as its Async lets them go. */
void quota_session_close(QuotaUser *u);
/* The session is freed: the bucket goes with its last session. */
void quota_user_unref(QuotaUser *u);

/* Room for one more registration on a session that holds session_calls:
 * 0, or WBEM_E_QUOTA_VIOLATION (registrations or session_registrations). */
int quota_check_registration(QuotaUser *u, size_t session_calls, Error *err);
/* Room for one more sink on a session that has session_sinks: sinks live
 * as long as their session, so they are bounded too, by the same
 * session_registrations limit. 0 or WBEM_E_QUOTA_VIOLATION. */
int quota_check_sinks(QuotaUser *u, size_t session_sinks, Error *err);
/* Registrations made (after the check) and released. */
void quota_registrations_add(QuotaUser *u, size_t n);
void quota_registrations_release(QuotaUser *u, size_t n);

/* A query text of len bytes: 0 or WBEM_E_QUOTA_VIOLATION (query_bytes). */
int quota_check_query(QuotaUser *u, size_t len, Error *err);

/* One request at now_usec (monotonic): takes a token, or
 * WBEM_E_QUOTA_VIOLATION (request_rate / request_burst) taking none. */
int quota_take_request(QuotaUser *u, uint64_t now_usec, Error *err);

/* A session's Indicate backlog is now `bytes`; *charged is what it had
 * charged to u before (kept by the session, 0 at first) and becomes
 * bytes. */
void quota_backlog_set(QuotaUser *u, size_t *charged, size_t bytes);
/* The user's backlog has reached its budget: events for its sessions are
 * dropped. */
bool quota_backlog_full(const QuotaUser *u);
/* ... and has drained to half of it: they flow again. */
bool quota_backlog_drained(const QuotaUser *u);

/* For introspection (LWMI_User) and tests. */
typedef struct QuotaUsage {
        uid_t uid; /* (uid_t)-1: the anonymous bucket */
        size_t sessions, registrations, backlog_bytes;
        QuotaLimits limits;
        uint64_t violations; /* refusals (every check that failed) since the bucket was made */
        /* tokens left in the request bucket, whole */
        uint64_t request_tokens;
} QuotaUsage;
void quota_user_usage(const QuotaUser *u, QuotaUsage *ret);
/* The bucket of uid, or NULL when it has no session bound. */
QuotaUser *quota_user_find(const Quota *q, uid_t uid);
/* The bucket with the smallest uid above after (as unsigned: the
 * anonymous one comes last), or NULL; first_call true starts from the
 * smallest. Users come and go between calls: resume by uid. */
QuotaUser *quota_user_next(const Quota *q, bool first_call, uid_t after);
/* Buckets in use. */
size_t quota_user_count(const Quota *q);
