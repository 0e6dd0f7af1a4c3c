/* Event registrations: sinks, calls, and the raising of events.
 *
 * A Sink is one consumer-chosen callback target (IWbemObjectSink); the
 * daemon keeps one per (session, sink id) and the engine delivers to it
 * through SinkOps. A Call is one registration of an event query
 * (ExecNotificationQueryAsync) on a sink; any number of calls may share a
 * sink, and identical filters (same namespace and canonical query text) are
 * compiled once and shared by reference count.
 *
 * Costs (DESIGN.md "sinks and calls"): calls hang on intrusive lists of
 * their sink and their filter, so call_cancel() is O(1) and sink_free() is
 * O(calls of the sink). The dispatcher indexes filters by event class (with
 * the ISA closure) and by top-level equality predicates, so raising an event
 * costs in proportion to the filters that can match it, not to all filters.
 *
 * Sources: events of repository classes are raised by engine_put_instance /
 * engine_delete_instance after COMMIT; extrinsic events by
 * engine_publish_event; a provider with a native source for a class
 * raises its events itself (provider.h: one source per (namespace,
 * provider, key), started by the first call that needs it and stopped by
 * the last); other classes served by a provider are polled (WITHIN n): one poll task per (namespace, class,
 * interval), shared by the calls that need it, started by the first and
 * stopped by the last, diffing snapshots into creation, modification and
 * deletion events. Timers come from the host loop through EngineTimerOps so
 * the engine stays free of any event library.
 *
 * Re-entrancy: SinkOps callbacks run inside the engine call that raised the
 * event; they must not cancel calls, free sinks, or raise events (defer such
 * work to the loop). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "error.h"
#include "instance.h"
#include "wql.h"

typedef struct Sink Sink;
typedef struct Call Call;

typedef struct SinkOps {
        /* An event matched `call`. event is borrowed: take a reference to
         * keep it. The receiver assigns the sink's seq. */
        void (*indicate)(Sink *sink, Call *call, Instance *event, void *userdata);
        /* The engine ends `call` on its own (its class was deleted, its poll
         * source failed for good): status and message say why; the call is
         * freed right after this returns. */
        void (*call_ended)(Sink *sink, Call *call, int status, const char *message, void *userdata);
} SinkOps;

/* A sink delivering through ops with userdata (the daemon's per-sink state).
 * -EINVAL without ops->indicate. Sinks still open when the engine is freed
 * are freed with it, silently. */
int sink_new(Engine *e, const SinkOps *ops, void *userdata, Sink **ret);
/* Cancel every call of the sink, silently, and free it. Accepts NULL.
 * Its calls (and filters no other call uses) are unlinked from every index
 * at once, so nothing in the engine refers to them on return, but their
 * memory is freed by engine_reclaim() (or with the engine). */
Sink *sink_free(Sink *s);
/* Free up to max chunks of memory sink_free() left (a few hundred
 * nanoseconds each); returns how many are left, so a host frees a large
 * release over several loop turns. engine_reclaim(e, 0) only counts. */
size_t engine_reclaim(Engine *e, size_t max);
/* Cancel every call of the sink; each(call, ud) runs for every call just
 * before it is freed (may be NULL). Returns the number cancelled. */
size_t sink_cancel_all(Sink *s, void (*each)(Call *c, void *ud), void *ud);
size_t sink_call_count(const Sink *s);
void *sink_userdata(const Sink *s);

/* Register an event query on sink with the caller's call id. Event queries
 * select from __InstanceCreationEvent, __InstanceDeletionEvent,
 * __InstanceModificationEvent, __InstanceOperationEvent (the three) or a
 * class derived from __ExtrinsicEvent. Errors (WBEM_E_INVALID_QUERY with
 * position unless said otherwise):
 *  - syntax errors; a data class in FROM (WBEM_E_INVALID_QUERY_TYPE, "use
 *    ExecQuery"); an unknown class (WBEM_E_INVALID_CLASS);
 *  - an intrinsic query without `TargetInstance ISA 'Class'` as a top-level
 *    conjunct naming an existing class (as WMI requires);
 *  - a class whose instances come from a provider without a native event
 *    source (or whose source is not available: no privilege, no watch
 *    hooks) and no WITHIN: the message says that WITHIN is needed and why;
 *  - WITHIN below the minimum (EngineEventOptions.min_within_usec);
 *  - properties that do not exist on the event class (or on the ISA class
 *    for TargetInstance.X / PreviousInstance.X).
 * WITHIN is accepted and ignored when the class has a native source
 * (repository classes do, and provider classes with a source_check that
 * says so). A native source that fails to start fails the subscription
 * with its provider's error. */
int engine_subscribe(Engine *e, const char *ns, const char *text, size_t len, Sink *sink,
                     uint64_t call_id, Call **ret, Error *err);
/* engine_subscribe() for a peer: a native source checks the subscriber
 * (caller, valid during this call only; NULL: the daemon) as a data query
 * would (provider.h, ProviderCaller). The daemon passes the peer's
 * identity on every subscription a peer makes. */
int engine_subscribe_as(Engine *e, const ProviderCaller *caller, const char *ns, const char *text,
                        size_t len, Sink *sink, uint64_t call_id, Call **ret, Error *err);
/* Unlink and free one call, silently. O(1) apart from the filter or poll
 * task it may release. */
void call_cancel(Call *c);
uint64_t call_id(const Call *c);
Sink *call_sink(const Call *c);
/* The query as given, and its namespace (for introspection). */
const char *call_query(const Call *c);
const char *call_namespace(const Call *c);
/* The call's parsed query when it has a select list (its events are
 * projected: the other properties are NULL), so that a writer can leave
 * them out as for a data query; NULL for SELECT *. Valid while the call
 * is. */
const WqlQuery *call_projection(const Call *c);

/* Publish an extrinsic event (an instance of a class derived from
 * __ExtrinsicEvent, in ns) to every matching call; TIME_CREATED is set when
 * NULL. *ret_delivered (may be NULL) counts the calls it was delivered to.
 * WBEM_E_INVALID_CLASS when the class is not an extrinsic event class. */
int engine_publish_event(Engine *e, const char *ns, Instance *event, size_t *ret_delivered,
                         Error *err);

/* The host loop's services for poll tasks and native sources. start()
 * returns a handle that fires fn(arg) every interval_usec until
 * stop(handle) (fn may stop its own timer). watch() returns a handle that
 * runs fn(arg) whenever fd is readable until unwatch(handle) (fn may
 * unwatch its own watch); both NULL for lack of memory. Without watch and
 * unwatch no native source runs: every provider class is polled. */
typedef struct EngineTimerOps {
        void *(*start)(void *userdata, uint64_t interval_usec, void (*fn)(void *arg), void *arg);
        void (*stop)(void *userdata, void *timer);
        void *(*watch)(void *userdata, int fd, void (*fn)(void *arg), void *arg);
        void (*unwatch)(void *userdata, void *watch);
        void *userdata;
} EngineTimerOps;

typedef struct EngineEventOptions {
        uint64_t min_within_usec; /* default 500000 (0.5 s) */
} EngineEventOptions;

/* Install the timer operations (needed before any WITHIN query on a
 * provider class; without them such a query fails with
 * WBEM_E_NOT_SUPPORTED) and event options (NULL: defaults). */
void engine_set_event_hooks(Engine *e, const EngineTimerOps *timers,
                            const EngineEventOptions *opts);

typedef struct EngineEventStats {
        size_t sinks;
        size_t registrations; /* calls */
        size_t filters;       /* distinct compiled filters */
        size_t poll_tasks;
        size_t sources;       /* native sources running (provider.h) */
        size_t watches;       /* native source watches (inotify); 0 until such a source exists */
        uint64_t events_raised;
        uint64_t events_delivered; /* indicate callbacks */
        uint64_t events_failed;    /* events not (fully) delivered for lack of memory */
        uint64_t source_overflows; /* native sources that lost notifications and rescanned */
} EngineEventStats;

void engine_event_stats(const Engine *e, EngineEventStats *ret);
