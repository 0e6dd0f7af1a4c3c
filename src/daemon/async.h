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
 * seq. Each Indicate on a sink takes the sink's next seq, from 1: seq
 * numbers a sink's Indicate messages, not events. An event takes a seq
 * when it matches, unless it joins the Indicate its call already has open
 * (below); a query batch takes one when it is written (up to
 * ASYNC_QUERY_BATCH objects). An event that cannot be delivered (over the
 * backlog, out of memory) is never batched: it takes a seq of its own,
 * used up and reported (EventsDropped), so every gap a consumer sees is
 * reported exactly once, and EventsDropped's count is the number of
 * events lost.
 *
 * Batching. Events for a session are written as Indicate lines with one
 * or more objects. The session has at most one Indicate open, the last
 * thing made for it; an event for the same sink and call joins it while
 * it is the sink's latest seq and under ASYNC_BATCH_BYTES. Anything else
 * queued on the session (a response, SetStatus, EventsDropped, a query
 * batch, an Indicate of another call) first closes and queues the open
 * one (async_flush, called by session.c), and so does a zero timer at the
 * end of the loop turn that opened it. So batching changes no order: the
 * lines leave as if each event had been written at once, only fewer and
 * larger. An event's JSON text is made once however many calls it is
 * delivered to (a call with a select list writes its own).
 *
 * Ordering, per session (DESIGN.md "Wire protocol"): every line goes
 * into the session's output buffer in the order made (an open Indicate is
 * closed before anything else is queued). A call's response is queued
 * when its method returns, before any of its Indicates can be made (an
 * event query takes its first event from a later engine call; a query's
 * first batch is made on a later loop turn). Its SetStatus is made after
 * its last Indicate. Cancelling sends each cancelled call's SetStatus,
 * then the method's response; Indicates already made (queued or open)
 * go out before the SetStatus (none is removed, so none needs to be
 * reported).
 *
 * Backlog. One budget per session (Settings.max_backlog_bytes, 4 MiB by
 * default, applied on SIGHUP), counting Indicate messages only: the bytes
 * of the open Indicate plus those of Indicate lines queued in the
 * session's output and not yet written to its socket (tracked as spans of
 * the output stream, settled against Session.out_queued and the buffer's
 * length). Responses, SetStatus and EventsDropped are never counted and
 * never dropped. Once the backlog reaches the budget, events for the
 * session are dropped: their seq is used up and counted per sink. When
 * the backlog has drained to half the budget (checked as the output
 * drains: the session's write callback) one EventsDropped per sink
 * reports the range. Running queries are not dropped but wait: they make
 * no batch while events are dropped or the output is over
 * SESSION_OUTPUT_HIGH_WATER.
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
/* An open Indicate takes no more events once its line is this long. */
#define ASYNC_BATCH_BYTES (64u * 1024)

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

/* The session's output drained to its low-water mark: report drops (if
 * the backlog is down to half the budget) and resume waiting queries. */
void async_output_drained(Async *a);

/* Close the open Indicate, if any, and queue it on the session. Called by
 * session.c before it queues any other line. Accepts NULL. */
void async_flush(Async *a);

/* Bytes of Indicate messages made for the session and not yet written to
 * its socket (the open one included): what the budget counts. */
size_t async_backlog_bytes(Async *a);

/* Quotas (quota.h): each call in the call table is one registration
 * charged to the session's bucket (Session.quota) when it is put there
 * and released when it leaves it (cancelled, ended, or the session
 * released), so the bucket always holds the sum of its sessions' open
 * calls. The session's Indicate backlog is charged as it is measured (at
 * each event, each query batch, each drain of the output) and released
 * with the session. An event registration or ExecQueryAsync over the
 * user's registrations, the session's, or query_bytes is refused with
 * WBEM_E_QUOTA_VIOLATION; events for a session whose user's backlog is
 * over its budget are dropped and reported as over the session's own.
 *
 * Move what a's session holds from one bucket to another (the session's
 * uid changed: session_quota_bind). */
typedef struct QuotaUser QuotaUser;
void async_quota_move(Async *a, QuotaUser *from, QuotaUser *to);

/* The server's shared state for writing events (the last event's JSON
 * text, made once for all its deliveries): created on first use, freed
 * with the server (server_free calls this). Accepts NULL. */
typedef struct AsyncEventText AsyncEventText;
AsyncEventText *async_event_text_free(AsyncEventText *t);

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
