/* A session's asynchronous calls: its sinks, the calls on them
 * (ExecNotificationQueryAsync registrations and running ExecQueryAsync
 * queries), and the Indicate, SetStatus and EventsDropped notifications
 * they produce. One Async per session; it knows the session only to queue
 * lines on it (session_send_line) and to read its output backlog.
 *
 * Sinks. A sink is a string the consumer chooses (at most
 * ASYNC_SINK_ID_MAX bytes, not empty); it is created on first use and
 * lives, with its seq counter, as long as the session. Each holds one
 * engine Sink (events.h), whose SinkOps land here.
 *
 * Calls. Call ids are integers from 1, increasing per session. A table
 * maps each open call's id to the engine's Call or to the running query,
 * so CancelAsyncCall {call} is O(1); cancelling a sink walks its own calls
 * (sink_cancel_all) and its running queries.
 *
 * seq. Each Indicate on a sink takes the sink's next seq, from 1: an event
 * when it matches (in the engine's indicate callback, one event per
 * Indicate), a query batch when it is written (up to
 * ASYNC_QUERY_BATCH objects). A seq that cannot be delivered is used up
 * and reported (EventsDropped), so every gap a consumer sees is reported
 * exactly once.
 *
 * Ordering, per session (DESIGN.md "Wire protocol"): every line goes
 * straight into the session's output buffer, in the order made, and
 * nothing is queued anywhere else. A call's response is queued when its
 * method returns, before any of its Indicates can be made (an event query
 * takes its first event from a later engine call; a query's first batch
 * is made on a later loop turn). Its SetStatus is made after its last
 * Indicate. Cancelling sends each cancelled call's SetStatus, then the
 * method's response; Indicates already in the output buffer stay there and
 * are read before the SetStatus (none is removed, so none needs to be
 * reported).
 *
 * Backlog. While the session's output holds more than ASYNC_MAX_BACKLOG
 * bytes, events for it are dropped: their seq is used up and counted per
 * sink, and once the output has drained to SESSION_OUTPUT_LOW_WATER one
 * EventsDropped per sink reports the range. Responses and SetStatus are
 * never dropped. Running queries are not dropped but wait: they make no
 * batch while the output is over SESSION_OUTPUT_HIGH_WATER.
 *
 * Figures (LWMI_Session, LWMI_Registration). Each event written or
 * dropped is counted for its call, its session and the server
 * (Server.events_delivered, events_dropped). A call's counts live in a
 * table of their own, made on its first event and freed with the call, so
 * the call table stays small for registrations that see no events. A
 * call's creation time is not kept per call either: the session keeps
 * "epochs", (first call id, time) pairs, one per millisecond in which
 * calls were made, and drops those in which no open call was made.
 *
 * Re-entrancy. Engine callbacks (indicate, call_ended) run inside engine
 * calls that are iterating over calls, so nothing here frees a call or a
 * sink from inside them; a session that must close while one runs keeps
 * its calls until it is freed (async_release runs then). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "error.h"
#include "events.h"

typedef struct Session Session;
typedef struct Async Async;

#define ASYNC_SINK_ID_MAX 256
/* Objects per Indicate of an ExecQueryAsync call. */
#define ASYNC_QUERY_BATCH 64
/* Objects and time per loop turn for a session's running queries. */
#define ASYNC_QUERY_MAX_OBJECTS_PER_TURN 256
#define ASYNC_QUERY_MAX_USEC_PER_TURN 2000
/* Output bytes over which a session's events are dropped. */
#define ASYNC_MAX_BACKLOG (4u * 1024 * 1024)

/* The calls of session s. The engine is the server's (none: every method
 * fails). */
int async_new(Session *s, Async **ret);
/* Release everything (async_release) and free. Accepts NULL. */
Async *async_free(Async *a);

/* Cancel every call and free every sink in one pass, silently (the
 * session is gone: nobody reads a SetStatus). Returns the number of calls
 * released. Deferred to async_free when it would pull calls from under a
 * walk over them (an engine callback, or one of ours, is running). */
size_t async_release(Async *a);

/* The server shuts down: every open call gets SetStatus
 * WBEM_E_SHUTTING_DOWN, then everything is released. Returns the number of
 * calls. */
size_t async_shutdown(Async *a);

/* ExecNotificationQueryAsync: register an event query on sink_id (created
 * if new). 0 with *ret_call, or engine_subscribe's errors. */
int async_subscribe(Async *a, const char *sink_id, const char *ns, const char *query, size_t len,
                    uint64_t *ret_call, Error *err);
/* ExecQueryAsync: start a data query on sink_id; its batches and SetStatus
 * follow on later loop turns. 0 with *ret_call, or engine_query_begin's
 * errors (nothing is registered then). */
int async_query(Async *a, const char *sink_id, const char *ns, const char *query, size_t len,
                uint64_t *ret_call, Error *err);
/* CancelAsyncCall: each call gets SetStatus WBEM_E_CALL_CANCELLED (queued
 * at once) and is released. The number cancelled: 0 for an unknown sink
 * or a call that is not open (any more). */
size_t async_cancel_call(Async *a, uint64_t call_id);
size_t async_cancel_sink(Async *a, const char *sink_id);

/* The session's output drained to its low-water mark: report drops and
 * resume waiting queries. */
void async_output_drained(Async *a);

/* For introspection (LWMI_Session, LWMI_Registration). */
size_t async_sink_count(const Async *a);
size_t async_call_count(const Async *a);
/* Running ExecQueryAsync calls. */
size_t async_query_count(const Async *a);
/* The session's events since it connected: written as Indicates, and
 * dropped (over the backlog, or not writable). */
uint64_t async_events_delivered(const Async *a);
uint64_t async_events_dropped(const Async *a);

typedef struct AsyncCallInfo {
        uint64_t call;
        const char *sink;
        const char *ns;
        const char *query;
        bool is_query; /* ExecQueryAsync; false: an event registration */
        /* An event registration's events written as Indicates and dropped;
         * for ExecQueryAsync, the objects written so far (none dropped).
         * The counts are kept apart from the call table and made on the
         * call's first event, so a call without events costs nothing. */
        uint64_t events_delivered, events_dropped;
        /* When the call was made, on the monotonic clock (session_now_usec),
         * to within a millisecond: calls made within one share a time. */
        uint64_t created_usec;
} AsyncCallInfo;

/* The ids of the open calls, in no order, in a fresh array (mem_free) of
 * *ret_n. 0 or -ENOMEM. */
int async_call_ids(const Async *a, uint64_t **ret, size_t *ret_n);
/* Call id if it is open: 0 with *ret (strings borrowed, valid until the
 * call ends), or -ENOENT. */
int async_call_info(const Async *a, uint64_t id, AsyncCallInfo *ret);

/* The check of a consumer's sink id: not empty, at most ASYNC_SINK_ID_MAX
 * bytes. WBEM_E_INVALID_PARAMETER naming the param. */
int async_check_sink_id(const char *sink_id, Error *err);
