/* The daemon's self-description in root/lwmi; see selfprov.h. */
#include "selfprov.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "async.h"
#include "cleanup.h"
#include "config.h" /* generated: LWMI_VERSION */
#include "engine.h"
#include "events.h"
#include "mem.h"
#include "names.h"
#include "props.h"
#include "quota.h"
#include "rights.h"
#include "server.h"
#include "session.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);

#define DAEMON_CLASS "LWMI_Daemon"
#define SESSION_CLASS "LWMI_Session"
#define REGISTRATION_CLASS "LWMI_Registration"
#define USER_CLASS "LWMI_User"

/* name, type, is_array, is_key */
static const CimPropertySpec daemon_properties[] = {
        { "Version", CIM_STRING, false, false },
        { "ProcessId", CIM_UINT32, false, false },
        { "StartTime", CIM_DATETIME, false, false },
        { "Sessions", CIM_UINT32, false, false },
        { "Sinks", CIM_UINT32, false, false },
        { "Registrations", CIM_UINT32, false, false },
        { "Filters", CIM_UINT32, false, false },
        { "PollTasks", CIM_UINT32, false, false },
        { "Sources", CIM_UINT32, false, false },
        { "EventsRaised", CIM_UINT64, false, false },
        { "EventsDelivered", CIM_UINT64, false, false },
        { "EventsDropped", CIM_UINT64, false, false },
        { "EventsFailed", CIM_UINT64, false, false },
        { "SourceOverflows", CIM_UINT64, false, false },
        { "SessionsLostClosed", CIM_UINT64, false, false },
        { "SessionsLostReset", CIM_UINT64, false, false },
        { "SessionsLostStall", CIM_UINT64, false, false },
        { "SessionsLostKeepalive", CIM_UINT64, false, false },
        { "RegistrationsReclaimed", CIM_UINT64, false, false },
        { "Watches", CIM_UINT32, false, false },
        { "MemoryRss", CIM_UINT64, false, false },
};

static const CimPropertySpec session_properties[] = {
        { "SessionId", CIM_UINT64, false, true },
        { "UserId", CIM_UINT32, false, false },
        { "ProcessId", CIM_UINT32, false, false },
        { "ClientName", CIM_STRING, false, false },
        { "Peer", CIM_STRING, false, false },
        { "ConnectedSince", CIM_DATETIME, false, false },
        { "LastHeardFrom", CIM_DATETIME, false, false },
        { "Sinks", CIM_UINT32, false, false },
        { "Registrations", CIM_UINT32, false, false },
        { "BacklogBytes", CIM_UINT64, false, false },
        { "EventsDelivered", CIM_UINT64, false, false },
        { "EventsDropped", CIM_UINT64, false, false },
};

static const CimPropertySpec registration_properties[] = {
        { "SessionId", CIM_UINT64, false, true },
        { "Call", CIM_UINT64, false, true },
        { "Sink", CIM_STRING, false, false },
        { "Namespace", CIM_STRING, false, false },
        { "Query", CIM_STRING, false, false },
        { "Method", CIM_STRING, false, false },
        { "EventsDelivered", CIM_UINT64, false, false },
        { "EventsDropped", CIM_UINT64, false, false },
        { "CreatedAt", CIM_DATETIME, false, false },
};

/* One per user with a session open (quota.h): what it holds and its
 * limits (null: unlimited). */
static const CimPropertySpec user_properties[] = {
        { "User", CIM_STRING, false, true }, /* the uid in decimal, or "anonymous" */
        { "UserId", CIM_UINT32, false, false },
        { "Sessions", CIM_UINT32, false, false },
        { "Registrations", CIM_UINT32, false, false },
        { "BacklogBytes", CIM_UINT64, false, false },
        { "QuotaViolations", CIM_UINT64, false, false },
        { "RequestTokens", CIM_UINT64, false, false },
        { "MaxSessions", CIM_UINT64, false, false },
        { "MaxRegistrations", CIM_UINT64, false, false },
        { "MaxSessionRegistrations", CIM_UINT64, false, false },
        { "MaxBacklogBytes", CIM_UINT64, false, false },
        { "MaxQueryBytes", CIM_UINT64, false, false },
        { "RequestRate", CIM_UINT64, false, false },
        { "RequestBurst", CIM_UINT64, false, false },
};

typedef enum SelfClass {
        SELF_DAEMON,
        SELF_SESSION,
        SELF_REGISTRATION,
        SELF_USER,
} SelfClass;

static const struct {
        const char *name;
        bool is_singleton;
        const CimPropertySpec *specs;
        size_t n;
} self_classes[] = {
        [SELF_DAEMON] = { DAEMON_CLASS, true, daemon_properties, ELEMENTSOF(daemon_properties) },
        [SELF_SESSION] = { SESSION_CLASS, false, session_properties,
                           ELEMENTSOF(session_properties) },
        [SELF_REGISTRATION] = { REGISTRATION_CLASS, false, registration_properties,
                                ELEMENTSOF(registration_properties) },
        [SELF_USER] = { USER_CLASS, false, user_properties, ELEMENTSOF(user_properties) },
};

/* The provider and what it keeps (Provider first: freed as one). */
typedef struct SelfProvider {
        Provider p;
        int64_t mono_to_wall; /* wall-clock minus monotonic usec */
} SelfProvider;

typedef struct SelfCursor {
        Server *server;
        int64_t mono_to_wall;
        SelfClass which;
        CimClass *cls;
        char *ns;
        bool done;
        /* sessions and registrations: the session being read */
        uint64_t session_id; /* 0 before the first */
        uint64_t *calls;     /* its call ids when it was reached */
        size_t n_calls, next_call;
        /* users: the last one read */
        bool user_started;
        uid_t user_after;
        /* whom it is for: sessions of others are skipped unless admin */
        bool see_all;
        uid_t uid;
        uint64_t own_session;
} SelfCursor;

/* Whether a caller that is not admin on root/lwmi may see session s: its
 * own session, and the other sessions of its uid. An anonymous peer (uid
 * -1) sees its own session only: two TCP peers are not one user. */
static bool self_own(uid_t uid, uint64_t own_session, const Session *s) {
        return s->id == own_session || (uid != (uid_t)-1 && s->uid == uid);
}

/* Whether caller (NULL: the daemon) sees every session: the admin right
 * on the namespace asked (root/lwmi, or a grant above it). */
static bool self_sees_all(const Server *server, const ProviderCaller *caller, const char *ns) {
        return !caller || rights_allowed(server->rights, caller, ns, RIGHT_ADMIN);
}

static uint64_t now_realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A time on the monotonic clock (session_now_usec) as wall-clock time,
 * for datetime properties. The clocks' difference is taken once, when the
 * provider is made: taken afresh at each read it would wobble by a
 * microsecond or so, and every WITHIN poll would see each instance
 * modified. (A wall clock set later shifts these times by as much.) */
static int64_t self_wall_usec(int64_t mono_to_wall, uint64_t mono_usec) {
        return (int64_t)mono_usec + mono_to_wall;
}

/* lwmid's resident memory in bytes, from /proc/self/statm (its second
 * field, in pages); 0 when it cannot be read. */
static uint64_t self_memory_rss(void) {
        FILE *f = fopen("/proc/self/statm", "re");
        uint64_t size = 0, resident = 0;
        long page = sysconf(_SC_PAGESIZE);

        if (!f)
                return 0;
        if (fscanf(f, "%" SCNu64 " %" SCNu64, &size, &resident) != 2)
                resident = 0;
        fclose(f);
        return page > 0 ? resident * (uint64_t)page : 0;
}

/* Bytes queued for the peer and not yet taken by it: the session's
 * output buffer plus the kernel's send queue, as the stall rule counts
 * them (session_output_taken, which caches what it looks up: not const). */
static uint64_t self_backlog_bytes(Session *s) {
        uint64_t queued, taken;

        if (!s->bev)
                return 0;
        queued = session_output_queued(s);
        taken = session_output_taken(s);
        return queued > taken ? queued - taken : 0;
}

static int self_class(const CimClass *cls, SelfClass *ret, Error *err) {
        for (size_t k = 0; cls && k < ELEMENTSOF(self_classes); k++)
                if (name_equal(cls->name, self_classes[k].name)) {
                        *ret = (SelfClass)k;
                        return 0;
                }
        return error_set(err, WBEM_E_INVALID_CLASS, "the lwmi provider does not serve %s",
                         cls && cls->name ? cls->name : "(none)");
}

static int self_get_classes(Provider *p, CimClass ***ret, size_t *ret_count, Error *err) {
        CimClass **classes = mem_calloc(ELEMENTSOF(self_classes), sizeof(CimClass *));
        int r = 0;
        (void)p;

        if (!classes)
                return -ENOMEM;
        for (size_t k = 0; r == 0 && k < ELEMENTSOF(self_classes); k++)
                r = class_new_from_specs(self_classes[k].name, NULL, self_classes[k].is_singleton,
                                         self_classes[k].specs, self_classes[k].n, &classes[k],
                                         err);
        if (r != 0) {
                for (size_t k = 0; k < ELEMENTSOF(self_classes); k++)
                        if (classes[k])
                                class_unref(classes[k]);
                mem_free(classes);
                return r;
        }
        *ret = classes;
        *ret_count = ELEMENTSOF(self_classes);
        return 0;
}

static int self_new_instance(CimClass *cls, const char *ns, Instance **ret) {
        Instance *inst = NULL;
        int r = instance_new(cls, &inst);
        if (r == 0)
                r = instance_set_namespace(inst, ns);
        if (r != 0) {
                instance_unref(inst);
                return r;
        }
        *ret = inst;
        return 0;
}

static int self_daemon(Server *server, CimClass *cls, const char *ns, Instance **ret, Error *err) {
        _cleanup_(instance_unrefp) Instance *inst = NULL;
        EngineEventStats st = { 0 };
        int r;

        if (server->engine)
                engine_event_stats(server->engine, &st);
        r = self_new_instance(cls, ns, &inst);
        if (r == 0)
                r = props_set_string(inst, "Version", LWMI_VERSION, err);
        if (r == 0)
                r = props_set_uint(inst, "ProcessId", CIM_UINT32, (uint64_t)getpid(), err);
        if (r == 0)
                r = props_set_local_datetime(inst, "StartTime", (int64_t)server->start_usec, err);
        const struct {
                const char *name;
                CimType type;
                uint64_t value;
        } counts[] = {
                { "Sessions", CIM_UINT32, server->n_sessions },
                { "Sinks", CIM_UINT32, st.sinks },
                { "Registrations", CIM_UINT32, st.registrations },
                { "Filters", CIM_UINT32, st.filters },
                { "PollTasks", CIM_UINT32, st.poll_tasks },
                { "Sources", CIM_UINT32, st.sources },
                { "EventsRaised", CIM_UINT64, st.events_raised },
                { "EventsDelivered", CIM_UINT64, server->events_delivered },
                { "EventsDropped", CIM_UINT64, server->events_dropped },
                { "EventsFailed", CIM_UINT64, st.events_failed },
                { "SourceOverflows", CIM_UINT64, st.source_overflows },
                { "SessionsLostClosed", CIM_UINT64, server->sessions_lost[SESSION_LOSS_CLOSED] },
                { "SessionsLostReset", CIM_UINT64, server->sessions_lost[SESSION_LOSS_RESET] },
                { "SessionsLostStall", CIM_UINT64, server->sessions_lost[SESSION_LOSS_STALL] },
                { "SessionsLostKeepalive", CIM_UINT64,
                  server->sessions_lost[SESSION_LOSS_KEEPALIVE] },
                { "RegistrationsReclaimed", CIM_UINT64, server->registrations_reclaimed },
                { "Watches", CIM_UINT32, st.watches },
                { "MemoryRss", CIM_UINT64, self_memory_rss() },
        };
        for (size_t k = 0; r == 0 && k < ELEMENTSOF(counts); k++) {
                uint64_t v = counts[k].value;
                if (counts[k].type == CIM_UINT32 && v > UINT32_MAX)
                        v = UINT32_MAX;
                r = props_set_uint(inst, counts[k].name, counts[k].type, v, err);
        }
        if (r != 0)
                return r;
        *ret = TAKE_PTR(inst);
        return 0;
}

/* The first open session with an id above after that the cursor may
 * show, or NULL: sessions are listed in the order they came, so in
 * increasing id order. */
static Session *self_session_after(const SelfCursor *c, uint64_t after) {
        Session *s;
        TAILQ_FOREACH(s, &c->server->sessions, link)
        if (s->id > after && s->state == SESSION_OPEN &&
            (c->see_all || self_own(c->uid, c->own_session, s)))
                return s;
        return NULL;
}

static Session *self_session_find(Server *server, uint64_t id) {
        Session *s;
        TAILQ_FOREACH(s, &server->sessions, link)
        if (s->id == id)
                return s->state == SESSION_OPEN ? s : NULL;
        return NULL;
}

static int self_session(Session *s, int64_t mono_to_wall, CimClass *cls, const char *ns,
                        Instance **ret, Error *err) {
        _cleanup_(instance_unrefp) Instance *inst = NULL;
        int r = self_new_instance(cls, ns, &inst);

        if (r == 0)
                r = props_set_uint(inst, "SessionId", CIM_UINT64, s->id, err);
        if (r == 0 && s->uid != (uid_t)-1)
                r = props_set_uint(inst, "UserId", CIM_UINT32, s->uid, err);
        if (r == 0 && s->pid > 0)
                r = props_set_uint(inst, "ProcessId", CIM_UINT32, (uint64_t)s->pid, err);
        if (r == 0 && s->client_name)
                r = props_set_string(inst, "ClientName", s->client_name, err);
        if (r == 0 && s->peer[0])
                r = props_set_string(inst, "Peer", s->peer, err);
        /* connected_usec and last_heard_usec are on the monotonic clock */
        if (r == 0)
                r = props_set_local_datetime(inst, "ConnectedSince",
                                             self_wall_usec(mono_to_wall, s->connected_usec), err);
        if (r == 0)
                r = props_set_local_datetime(inst, "LastHeardFrom",
                                             self_wall_usec(mono_to_wall, s->last_heard_usec), err);
        if (r == 0)
                r = props_set_uint(inst, "Sinks", CIM_UINT32, async_sink_count(s->async), err);
        if (r == 0)
                r = props_set_uint(inst, "Registrations", CIM_UINT32, async_call_count(s->async),
                                   err);
        if (r == 0)
                r = props_set_uint(inst, "BacklogBytes", CIM_UINT64, self_backlog_bytes(s), err);
        if (r == 0)
                r = props_set_uint(inst, "EventsDelivered", CIM_UINT64,
                                   async_events_delivered(s->async), err);
        if (r == 0)
                r = props_set_uint(inst, "EventsDropped", CIM_UINT64,
                                   async_events_dropped(s->async), err);
        if (r != 0)
                return r;
        *ret = TAKE_PTR(inst);
        return 0;
}

static int self_registration(Session *s, const AsyncCallInfo *info, int64_t mono_to_wall,
                             CimClass *cls, const char *ns, Instance **ret, Error *err) {
        _cleanup_(instance_unrefp) Instance *inst = NULL;
        int r = self_new_instance(cls, ns, &inst);

        if (r == 0)
                r = props_set_uint(inst, "SessionId", CIM_UINT64, s->id, err);
        if (r == 0)
                r = props_set_uint(inst, "Call", CIM_UINT64, info->call, err);
        if (r == 0)
                r = props_set_string(inst, "Sink", info->sink, err);
        if (r == 0)
                r = props_set_string(inst, "Namespace", info->ns, err);
        if (r == 0)
                r = props_set_string(inst, "Query", info->query, err);
        if (r == 0)
                r = props_set_string(
                        inst, "Method",
                        info->is_query ? "ExecQueryAsync" : "ExecNotificationQueryAsync", err);
        if (r == 0)
                r = props_set_uint(inst, "EventsDelivered", CIM_UINT64, info->events_delivered,
                                   err);
        if (r == 0)
                r = props_set_uint(inst, "EventsDropped", CIM_UINT64, info->events_dropped, err);
        if (r == 0 && info->created_usec)
                r = props_set_local_datetime(inst, "CreatedAt",
                                             self_wall_usec(mono_to_wall, info->created_usec),
                                             err);
        if (r != 0)
                return r;
        *ret = TAKE_PTR(inst);
        return 0;
}

static int self_user(const QuotaUser *u, CimClass *cls, const char *ns, Instance **ret,
                     Error *err) {
        _cleanup_(instance_unrefp) Instance *inst = NULL;
        static const char *const limit_names[QUOTA_N] = {
                [QUOTA_SESSIONS] = "MaxSessions",
                [QUOTA_REGISTRATIONS] = "MaxRegistrations",
                [QUOTA_SESSION_REGISTRATIONS] = "MaxSessionRegistrations",
                [QUOTA_BACKLOG_BYTES] = "MaxBacklogBytes",
                [QUOTA_QUERY_BYTES] = "MaxQueryBytes",
                [QUOTA_REQUEST_RATE] = "RequestRate",
                [QUOTA_REQUEST_BURST] = "RequestBurst",
        };
        QuotaUsage use;
        char key[32];
        int r = self_new_instance(cls, ns, &inst);

        quota_user_usage(u, &use);
        if (use.uid == (uid_t)-1)
                snprintf(key, sizeof(key), "anonymous");
        else
                snprintf(key, sizeof(key), "%lu", (unsigned long)use.uid);
        if (r == 0)
                r = props_set_string(inst, "User", key, err);
        if (r == 0 && use.uid != (uid_t)-1)
                r = props_set_uint(inst, "UserId", CIM_UINT32, use.uid, err);
        if (r == 0)
                r = props_set_uint(inst, "Sessions", CIM_UINT32, use.sessions, err);
        if (r == 0)
                r = props_set_uint(inst, "Registrations", CIM_UINT32, use.registrations, err);
        if (r == 0)
                r = props_set_uint(inst, "BacklogBytes", CIM_UINT64, use.backlog_bytes, err);
        if (r == 0)
                r = props_set_uint(inst, "QuotaViolations", CIM_UINT64, use.violations, err);
        if (r == 0 && use.request_tokens != UINT64_MAX)
                r = props_set_uint(inst, "RequestTokens", CIM_UINT64, use.request_tokens, err);
        for (int k = 0; r == 0 && k < QUOTA_N; k++)
                if (use.limits.v[k] != QUOTA_UNLIMITED)
                        r = props_set_uint(inst, limit_names[k], CIM_UINT64, use.limits.v[k], err);
        if (r != 0)
                return r;
        *ret = TAKE_PTR(inst);
        return 0;
}

/* The next registration: the remaining calls of the current session, then
 * those of the sessions after it. */
static int self_next_registration(SelfCursor *c, Instance **ret, Error *err) {
        for (;;) {
                Session *s = c->session_id ? self_session_find(c->server, c->session_id) : NULL;
                while (s && c->next_call < c->n_calls) {
                        AsyncCallInfo info;
                        if (async_call_info(s->async, c->calls[c->next_call++], &info) < 0)
                                continue; /* ended meanwhile */
                        return self_registration(s, &info, c->mono_to_wall, c->cls, c->ns, ret,
                                                 err);
                }
                s = self_session_after(c, c->session_id);
                mem_free(c->calls);
                c->calls = NULL;
                c->n_calls = c->next_call = 0;
                if (!s) {
                        *ret = NULL;
                        return 0;
                }
                c->session_id = s->id;
                int r = async_call_ids(s->async, &c->calls, &c->n_calls);
                if (r < 0)
                        return r;
        }
}

static void self_cursor_free(SelfCursor *c) {
        if (!c)
                return;
        if (c->cls)
                class_unref(c->cls);
        mem_free(c->calls);
        mem_free(c->ns);
        mem_free(c);
}

static int self_enum_begin(Provider *p, const char *ns, CimClass *cls, const WqlQuery *query,
                           const ProviderCaller *caller, ProviderCursor **ret, bool *ret_filtered,
                           Error *err) {
        SelfClass which = SELF_DAEMON;
        int r = self_class(cls, &which, err);
        (void)query;

        if (r != 0)
                return r;
        SelfCursor *c = mem_calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->server = p->userdata;
        c->mono_to_wall = ((SelfProvider *)p)->mono_to_wall;
        c->which = which;
        c->see_all = self_sees_all(c->server, caller, ns ? ns : p->ns);
        c->uid = caller ? caller->uid : (uid_t)-1;
        c->own_session = caller ? caller->session : 0;
        c->ns = mem_strdup(ns ? ns : p->ns);
        if (!c->ns) {
                self_cursor_free(c);
                return -ENOMEM;
        }
        c->cls = class_ref(cls);
        *ret = (ProviderCursor *)c;
        *ret_filtered = false; /* the engine applies WHERE */
        return 0;
}

static int self_enum_next(ProviderCursor *pc, Instance **ret, Error *err) {
        SelfCursor *c = (SelfCursor *)pc;
        Instance *inst = NULL;
        int r;

        if (c->done)
                return 0;
        switch (c->which) {
        case SELF_DAEMON:
                c->done = true;
                r = self_daemon(c->server, c->cls, c->ns, &inst, err);
                break;
        case SELF_SESSION: {
                Session *s = self_session_after(c, c->session_id);
                if (!s) {
                        c->done = true;
                        return 0;
                }
                c->session_id = s->id;
                r = self_session(s, c->mono_to_wall, c->cls, c->ns, &inst, err);
                break;
        }
        case SELF_USER: {
                /* A caller that is not admin sees its own user only (an
                 * anonymous one none: its bucket is every TCP peer's). */
                QuotaUser *u;
                QuotaUsage use;
                do {
                        u = quota_user_next(c->server->quota, !c->user_started, c->user_after);
                        if (!u) {
                                c->done = true;
                                return 0;
                        }
                        quota_user_usage(u, &use);
                        c->user_started = true;
                        c->user_after = use.uid;
                } while (!c->see_all && (c->uid == (uid_t)-1 || use.uid != c->uid));
                r = self_user(u, c->cls, c->ns, &inst, err);
                break;
        }
        case SELF_REGISTRATION:
        default:
                r = self_next_registration(c, &inst, err);
                if (r == 0 && !inst) {
                        c->done = true;
                        return 0;
                }
                break;
        }
        if (r != 0)
                return r;
        *ret = inst;
        return 1;
}

static void self_enum_end(ProviderCursor *pc) {
        self_cursor_free((SelfCursor *)pc);
}

/* The key named name (or the only, unnamed one) of path, as a uint64. */
static bool self_path_key(const ObjectPath *path, const char *name, uint64_t *ret) {
        for (size_t k = 0; k < path->n_keys; k++) {
                const ObjectPathKey *key = &path->keys[k];
                if ((key->name ? name_equal(key->name, name) : path->n_keys == 1) &&
                    !key->value.is_null && key->value.type == CIM_UINT64) {
                        *ret = key->value.u;
                        return true;
                }
        }
        return false;
}

/* One instance by path. A session (or registration) of another user is
 * refused, not reported missing: the caller asked for it by its number. */
static int self_get_instance(Provider *p, const char *ns, CimClass *cls, const ObjectPath *path,
                             const ProviderCaller *caller, Instance **ret, Error *err) {
        Server *server = p->userdata;
        int64_t mono_to_wall = ((SelfProvider *)p)->mono_to_wall;
        SelfClass which = SELF_DAEMON;
        uint64_t id = 0, call = 0;
        int r = self_class(cls, &which, err);

        if (r != 0)
                return r;
        if (which == SELF_DAEMON)
                return self_daemon(server, cls, ns, ret, err);
        if (!self_path_key(path, "SessionId", &id) ||
            (which == SELF_REGISTRATION && !self_path_key(path, "Call", &call)))
                return WBEM_E_NOT_FOUND;
        Session *s = self_session_find(server, id);
        if (!s)
                return WBEM_E_NOT_FOUND;
        if (caller && !self_own(caller->uid, caller->session, s) &&
            !self_sees_all(server, caller, ns))
                return error_set(err, WBEM_E_ACCESS_DENIED,
                                 "session %" PRIu64 " is not yours: other users' sessions need "
                                 "the admin right on %s",
                                 id, ns);
        if (which == SELF_SESSION)
                return self_session(s, mono_to_wall, cls, ns, ret, err);
        AsyncCallInfo info;
        if (async_call_info(s->async, call, &info) < 0)
                return WBEM_E_NOT_FOUND;
        return self_registration(s, &info, mono_to_wall, cls, ns, ret, err);
}

static void self_free(Provider *p) {
        mem_free((SelfProvider *)p);
}

static const ProviderOps self_ops = {
        .get_classes = self_get_classes,
        .enum_begin = self_enum_begin,
        .enum_next = self_enum_next,
        .enum_end = self_enum_end,
        .get_instance = self_get_instance,
        .free = self_free,
};

int selfprov_new(Server *server, Provider **ret) {
        SelfProvider *sp = mem_calloc(1, sizeof(SelfProvider));
        if (!sp)
                return -ENOMEM;
        sp->p = (Provider){
                .name = "lwmi",
                .ns = SELFPROV_NAMESPACE,
                .ops = &self_ops,
                .userdata = server,
        };
        sp->mono_to_wall = (int64_t)now_realtime_usec() - (int64_t)session_now_usec();
        *ret = &sp->p;
        return 0;
}
