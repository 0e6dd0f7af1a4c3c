/* A session's sinks and asynchronous calls; see async.h. */
#include "async.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cleanup.h"
#include "log.h"
#include "mem.h"
#include "objjson.h"
#include "objtext.h"
#include "quota.h"
#include "rpc.h"
#include "server.h"
#include "session.h"
#include "slab.h"
#include "strbuf.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Instance *, instance_unref);

typedef struct AsyncSink AsyncSink;
typedef struct AsyncQuery AsyncQuery;

struct AsyncSink {
        Async *a;
        Sink *sink; /* the engine's */
        AsyncSink *hash_next;
        uint64_t hash;
        uint64_t seq; /* the last one used */
        /* seqs used up but not delivered, not yet reported:
         * drop_first .. drop_first + drop_count - 1 */
        uint64_t drop_first, drop_count;
        AsyncSink *drop_next; /* on a->dropped while drop_listed */
        bool drop_listed;
        size_t n_queries; /* running ExecQueryAsync calls */
        char *id_json;    /* the id as JSON text, quotes included */
        char *id;
};

struct AsyncQuery {
        uint64_t id;
        AsyncSink *sink;
        QueryCursor *cursor;
        ObjText text;
        StrBuf batch; /* the objects of the Indicate being made */
        char *ns;
        char *query;
        uint64_t delivered; /* objects written */
        TAILQ_ENTRY(AsyncQuery) link;
};

/* An open call: the engine's Call or (low bit set) an AsyncQuery, whose id
 * is read through it (8 bytes a slot: the table costs about 10 bytes a
 * registration). 0: a free slot. */
typedef struct CallSlot {
        uintptr_t ref;
} CallSlot;

#define CALL_IS_QUERY ((uintptr_t)1)

typedef TAILQ_HEAD(AsyncQueryList, AsyncQuery) AsyncQueryList;

/* Indicate lines in the session's output: bytes [start, end) of its
 * output stream (Session.out_queued counts them). */
typedef struct IndicateSpan {
        uint64_t start, end;
} IndicateSpan;

/* What closes an open Indicate line. */
#define BATCH_TAIL "]}}\n"
#define BATCH_TAIL_LEN (sizeof(BATCH_TAIL) - 1)

struct AsyncEventText {
        Instance *event; /* whose text `text` holds (a reference); NULL: none */
        StrBuf text;
        ObjText whole;      /* writes events whole (calls without a select list) */
        ObjText projecting; /* writes for a call with a select list */
        StrBuf projected;   /* its text */
};

/* An event call's delivered and dropped events (LWMI_Registration), made
 * on its first event: a registration that sees none costs nothing more. */
typedef struct CallCounts CallCounts;
struct CallCounts {
        CallCounts *next;
        uint64_t id;
        uint64_t delivered, dropped;
};

/* Calls made from first_call on (up to the next epoch's) were made at
 * usec, to within ASYNC_EPOCH_USEC: CreatedAt without a time per call. */
typedef struct CallEpoch {
        uint64_t first_call;
        uint64_t usec; /* monotonic */
} CallEpoch;

#define ASYNC_EPOCH_USEC 1000

struct Async {
        Session *session;
        uint64_t last_call_id;

        /* sinks by id: chained hash, buckets a power of two */
        AsyncSink **sinks;
        size_t sinks_mask;
        size_t n_sinks;

        /* open calls by id: linear probing, at most 80% full */
        CallSlot *calls;
        size_t calls_mask;
        size_t n_calls;

        /* per-call figures: counts by call id (chained hash, buckets a
         * power of two) and creation times */
        CallCounts **counts;
        size_t counts_mask, n_counts;
        CallEpoch *epochs;
        size_t n_epochs, epochs_size;

        /* the session's events (LWMI_Session) */
        uint64_t events_delivered, events_dropped;

        /* running ExecQueryAsync calls, served round robin */
        AsyncQueryList queries;
        struct event *query_event;
        bool queries_waiting; /* for the output to drain */

        /* The open Indicate (async.h "Batching"): its line so far, without
         * BATCH_TAIL (for which room is always kept); batch_sink is NULL
         * when none is open. */
        char *batch;
        size_t batch_len, batch_cap;
        AsyncSink *batch_sink;
        uint64_t batch_call, batch_seq;
        struct event *flush_event; /* closes it at the end of the turn */
        bool flush_scheduled;

        /* Indicate lines queued and not yet written, oldest first from
         * spans_head, and their bytes not yet written. */
        IndicateSpan *spans;
        size_t spans_head, spans_n, spans_cap;
        uint64_t backlog_queued;

        bool dropping;      /* over the backlog: events are dropped */
        bool user_dropping; /* ... because the user's backlog is over its quota */
        size_t backlog_charged; /* the backlog charged to the session's quota bucket */
        AsyncSink *dropped; /* sinks with drops to report */
        /* Inside an operation of ours that walks calls or sinks: a
         * session_close() meanwhile (out of memory queueing a line) must
         * not release them under our feet; async_free does it then. */
        unsigned busy;
        bool released;
};

static const SinkOps async_sink_ops;

/* ---- small helpers ---------------------------------------------------------- */

static Server *async_server(const Async *a) {
        return a->session->server;
}

static QuotaUser *async_quota(const Async *a) {
        return a->session->quota;
}

static bool async_open(const Async *a) {
        return !a->released && a->session->state == SESSION_OPEN;
}

static size_t async_output_bytes(const Async *a) {
        return evbuffer_get_length(bufferevent_get_output(a->session->bev));
}

static uint64_t sink_id_hash(const char *id) {
        uint64_t h = 0xcbf29ce484222325u;
        for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
                h ^= *p;
                h *= 0x100000001b3u;
        }
        return h ^ (h >> 31);
}

/* Ids are ours, one after the other: each its own slot, and a run of
 * registrations fills adjacent ones. */
static size_t call_home(const Async *a, uint64_t id) {
        return (size_t)id & a->calls_mask;
}

static uint64_t slot_id(const CallSlot *slot) {
        if (slot->ref & CALL_IS_QUERY)
                return ((const AsyncQuery *)(slot->ref & ~CALL_IS_QUERY))->id;
        return call_id((const Call *)slot->ref);
}

/* ---- per-call figures ------------------------------------------------------- */

static CallCounts **counts_bucket(const Async *a, uint64_t id) {
        return &a->counts[(size_t)((id * 0x9e3779b97f4a7c15u) >> 32) & a->counts_mask];
}

static CallCounts *counts_find(const Async *a, uint64_t id) {
        if (!a->counts)
                return NULL;
        for (CallCounts *c = *counts_bucket(a, id); c; c = c->next)
                if (c->id == id)
                        return c;
        return NULL;
}

/* More buckets when the table is full; kept as it is if that fails (the
 * chains only grow longer). */
static void counts_grow(Async *a) {
        size_t buckets = a->counts ? a->counts_mask + 1 : 0;
        if (a->n_counts < buckets)
                return;
        size_t size = buckets ? buckets * 2 : 8;
        CallCounts **fresh = mem_calloc(size, sizeof(CallCounts *));
        if (!fresh)
                return;
        CallCounts **old = a->counts;
        a->counts = fresh;
        a->counts_mask = size - 1;
        for (size_t k = 0; k < buckets; k++)
                while (old[k]) {
                        CallCounts *c = old[k];
                        CallCounts **b = counts_bucket(a, c->id);
                        old[k] = c->next;
                        c->next = *b;
                        *b = c;
                }
        mem_free(old);
}

/* The counts of call id, made on first use; NULL when out of memory (the
 * event is then counted for the session and the server only). */
static CallCounts *counts_get(Async *a, uint64_t id) {
        CallCounts *c = counts_find(a, id);
        if (c)
                return c;
        counts_grow(a);
        if (!a->counts)
                return NULL;
        /* on a slab, like the call it counts: a flood of first events
         * would otherwise raise the heap for as long as the call lives */
        c = slab_alloc(a->session->server->slabs, sizeof(*c));
        if (!c)
                return NULL;
        CallCounts **b = counts_bucket(a, id);
        *c = (CallCounts){ .id = id };
        c->next = *b;
        *b = c;
        a->n_counts++;
        return c;
}

/* Call id ended. */
static void counts_forget(Async *a, uint64_t id) {
        if (a->n_counts == 0)
                return;
        for (CallCounts **pp = counts_bucket(a, id); *pp; pp = &(*pp)->next)
                if ((*pp)->id == id) {
                        CallCounts *c = *pp;
                        *pp = c->next;
                        slab_free(a->session->server->slabs, c);
                        a->n_counts--;
                        return;
                }
}

static void counts_free_all(Async *a) {
        for (size_t k = 0; a->counts && k <= a->counts_mask; k++)
                while (a->counts[k]) {
                        CallCounts *c = a->counts[k];
                        a->counts[k] = c->next;
                        slab_free(a->session->server->slabs, c);
                }
        mem_free(a->counts);
        a->counts = NULL;
        a->counts_mask = a->n_counts = 0;
}

/* One event of call (on its way to the session, or dropped): counted for
 * the call, the session and the server (LWMI_Registration, LWMI_Session,
 * LWMI_Daemon). Drops are counted for the server in sink_drop. */
static void async_count_event(Async *a, const Call *call, bool delivered) {
        CallCounts *c = counts_get(a, call_id(call));
        if (delivered) {
                a->events_delivered++;
                async_server(a)->events_delivered++;
                if (c)
                        c->delivered++;
        } else {
                a->events_dropped++;
                if (c)
                        c->dropped++;
        }
}

/* The epoch call id was made in: the last one from which it is; SIZE_MAX
 * when there is none (never for an open call). */
static size_t epochs_find(const Async *a, uint64_t id) {
        size_t lo = 0, hi = a->n_epochs;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (a->epochs[mid].first_call <= id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo == 0 ? SIZE_MAX : lo - 1;
}

/* Drop the epochs in which no open call was made; the last stays, as the
 * next call may join it. An open call's epoch then still starts at or
 * before it, and the next one after it. */
static void epochs_compact(Async *a) {
        bool *keep = mem_calloc(a->n_epochs, sizeof(bool));
        size_t n = 0;

        if (!keep)
                return;
        keep[a->n_epochs - 1] = true;
        for (size_t k = 0; a->calls && k <= a->calls_mask; k++) {
                size_t at = a->calls[k].ref ? epochs_find(a, slot_id(&a->calls[k])) : SIZE_MAX;
                if (at != SIZE_MAX)
                        keep[at] = true;
        }
        for (size_t k = 0; k < a->n_epochs; k++)
                if (keep[k])
                        a->epochs[n++] = a->epochs[k];
        a->n_epochs = n;
        mem_free(keep);
}

/* Room for one more epoch, so that a call made can always be dated.
 * Compacting scans the call table, so the array is kept at least an
 * eighth of the calls long: that scan comes once per many calls. */
static int epochs_reserve(Async *a) {
        if (a->n_epochs < a->epochs_size)
                return 0;
        if (a->n_epochs > 1)
                epochs_compact(a);
        if (a->epochs_size > 0 && a->n_epochs * 2 <= a->epochs_size &&
            a->epochs_size >= a->n_calls / 8)
                return 0;
        size_t size = a->epochs_size ? a->epochs_size * 2 : 16;
        while (size < a->n_calls / 8)
                size *= 2;
        CallEpoch *fresh = mem_reallocarray(a->epochs, size, sizeof(CallEpoch));
        if (!fresh)
                return a->n_epochs < a->epochs_size ? 0 : -ENOMEM;
        a->epochs = fresh;
        a->epochs_size = size;
        return 0;
}

/* Call id is made now (after epochs_reserve()). */
static void epochs_note(Async *a, uint64_t id) {
        uint64_t now = session_now_usec();
        if (a->n_epochs > 0 && now - a->epochs[a->n_epochs - 1].usec < ASYNC_EPOCH_USEC)
                return;
        a->epochs[a->n_epochs++] = (CallEpoch){ .first_call = id, .usec = now };
}

/* ---- the call table --------------------------------------------------------- */

/* At most 80% full: 100,000 calls fit 131,072 slots. */
static bool calls_fit(size_t n, size_t slots) {
        return n * 5 <= slots * 4;
}

/* Room for one more call, so that a registration made in the engine can
 * always be recorded. */
static int calls_reserve(Async *a) {
        size_t slots = a->calls ? a->calls_mask + 1 : 0;
        if (slots && calls_fit(a->n_calls + 1, slots))
                return 0;
        size_t size = slots ? slots * 2 : 16;
        CallSlot *fresh = mem_calloc(size, sizeof(CallSlot));
        if (!fresh)
                return -ENOMEM;
        CallSlot *old = a->calls;
        a->calls = fresh;
        a->calls_mask = size - 1;
        for (size_t k = 0; k < slots; k++) {
                if (old[k].ref == 0)
                        continue;
                size_t at = call_home(a, slot_id(&old[k]));
                while (fresh[at].ref != 0)
                        at = (at + 1) & a->calls_mask;
                fresh[at] = old[k];
        }
        mem_free(old);
        return 0;
}

/* After calls_reserve(). */
static void calls_put(Async *a, uint64_t id, uintptr_t ref) {
        size_t at = call_home(a, id);
        while (a->calls[at].ref != 0)
                at = (at + 1) & a->calls_mask;
        a->calls[at] = (CallSlot){ .ref = ref };
        a->n_calls++;
        quota_registrations_add(async_quota(a), 1);
}

static CallSlot *calls_find(const Async *a, uint64_t id) {
        if (!a->calls || id == 0)
                return NULL;
        for (size_t at = call_home(a, id);; at = (at + 1) & a->calls_mask) {
                if (a->calls[at].ref == 0)
                        return NULL;
                if (slot_id(&a->calls[at]) == id)
                        return &a->calls[at];
        }
}

/* Remove a slot, moving later entries of its run back so that no search
 * stops early (deletion without tombstones). */
static void calls_remove(Async *a, CallSlot *slot) {
        size_t hole = (size_t)(slot - a->calls);
        size_t at = hole;

        counts_forget(a, slot_id(slot));
        for (;;) {
                at = (at + 1) & a->calls_mask;
                if (a->calls[at].ref == 0)
                        break;
                size_t home = call_home(a, slot_id(&a->calls[at]));
                /* can the entry at `at` move to `hole`? only if its home is
                 * not in (hole, at], cyclically */
                bool between =
                        hole <= at ? (hole < home && home <= at) : (hole < home || home <= at);
                if (!between) {
                        a->calls[hole] = a->calls[at];
                        hole = at;
                }
        }
        a->calls[hole] = (CallSlot){ 0 };
        a->n_calls--;
        quota_registrations_release(async_quota(a), 1);
}

static void calls_remove_id(Async *a, uint64_t id) {
        CallSlot *slot = calls_find(a, id);
        if (slot)
                calls_remove(a, slot);
}

/* ---- sinks ------------------------------------------------------------------ */

int async_check_sink_id(const char *sink_id, Error *err) {
        if (!sink_id || sink_id[0] == '\0')
                return error_set(err, WBEM_E_INVALID_PARAMETER, "param 'sink' must not be empty");
        if (strlen(sink_id) > ASYNC_SINK_ID_MAX)
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "param 'sink' is longer than %d bytes", ASYNC_SINK_ID_MAX);
        return 0;
}

static AsyncSink *sinks_find(const Async *a, const char *id, uint64_t hash) {
        if (!a->sinks)
                return NULL;
        for (AsyncSink *s = a->sinks[hash & a->sinks_mask]; s; s = s->hash_next)
                if (s->hash == hash && strcmp(s->id, id) == 0)
                        return s;
        return NULL;
}

static int sinks_grow(Async *a) {
        size_t buckets = a->sinks ? a->sinks_mask + 1 : 0;
        if (a->n_sinks < buckets)
                return 0;
        size_t size = buckets ? buckets * 2 : 8;
        AsyncSink **fresh = mem_calloc(size, sizeof(AsyncSink *));
        if (!fresh)
                return -ENOMEM;
        for (size_t k = 0; k < buckets; k++)
                while (a->sinks[k]) {
                        AsyncSink *s = a->sinks[k];
                        a->sinks[k] = s->hash_next;
                        s->hash_next = fresh[s->hash & (size - 1)];
                        fresh[s->hash & (size - 1)] = s;
                }
        mem_free(a->sinks);
        a->sinks = fresh;
        a->sinks_mask = size - 1;
        return 0;
}

static void sink_destroy(AsyncSink *s) {
        sink_free(s->sink); /* cancels its calls, silently */
        mem_free(s->id_json);
        mem_free(s->id);
        mem_free(s);
}

/* Unlink and free a sink that holds nothing yet (no call, no seq used:
 * the client never saw it), made for a call that failed. */
static void sinks_forget_new(Async *a, AsyncSink *s) {
        for (AsyncSink **p = &a->sinks[s->hash & a->sinks_mask]; *p; p = &(*p)->hash_next)
                if (*p == s) {
                        *p = s->hash_next;
                        a->n_sinks--;
                        sink_destroy(s);
                        return;
                }
}

/* The sink named id, created on first use (*ret_created then; NULL when
 * the caller does not care). A new sink is refused over the session's
 * quota of calls (quota.h): sinks live as long as the session, so sinks
 * made and left would otherwise grow without bound. */
static int sinks_get(Async *a, const char *id, AsyncSink **ret, bool *ret_created, Error *err) {
        Engine *e = async_server(a)->engine;
        uint64_t hash = sink_id_hash(id);
        AsyncSink *s = sinks_find(a, id, hash);
        int r;

        if (ret_created)
                *ret_created = false;
        if (s) {
                *ret = s;
                return 0;
        }
        if (!e)
                return error_set(err, WBEM_E_FAILED, "no repository is open");
        r = quota_check_sinks(async_quota(a), a->n_sinks, err);
        if (r != 0) {
                session_quota_refused(a->session, SESSION_QUOTA_REGISTRATIONS, err);
                return r;
        }
        if (sinks_grow(a) < 0)
                return error_from_errno(err, -ENOMEM);
        s = mem_calloc(1, sizeof(*s));
        if (!s)
                return error_from_errno(err, -ENOMEM);
        s->a = a;
        s->hash = hash;
        s->id = mem_strdup(id);
        json_t *j = json_string(id);
        r = j && s->id ? objjson_dump(j, JSON_COMPACT | JSON_ENCODE_ANY, &s->id_json) : -ENOMEM;
        json_decref(j);
        if (r == 0)
                r = sink_new(e, &async_sink_ops, s, &s->sink);
        if (r < 0) {
                mem_free(s->id_json);
                mem_free(s->id);
                mem_free(s);
                return error_from_errno(err, r);
        }
        size_t at = hash & a->sinks_mask;
        s->hash_next = a->sinks[at];
        a->sinks[at] = s;
        a->n_sinks++;
        if (ret_created)
                *ret_created = true;
        *ret = s;
        return 0;
}

/* ---- notifications ---------------------------------------------------------- */

static void async_send_params(Async *a, const char *method, json_t *params) {
        char *line;
        size_t len;

        if (!params || rpc_encode_notification(method, params, &line, &len) < 0) {
                json_decref(params);
                /* never dropped: a consumer that misses one is lost */
                session_close(a->session, "out of memory encoding %s", method);
                return;
        }
        json_decref(params);
        session_send_line(a->session, line, len);
}

static void async_send_status(Async *a, AsyncSink *s, uint64_t call, int status,
                              const char *message) {
        if (!async_open(a))
                return;
        async_send_params(a, "SetStatus",
                          json_pack("{s:s, s:I, s:s, s:s}", "sink", s->id, "call", (json_int_t)call,
                                    "status", wbem_status_name(status), "message",
                                    message ? message : ""));
}

/* Report s's pending drops. */
static void sink_report_drops(AsyncSink *s) {
        Async *a = s->a;
        if (s->drop_count == 0 || !async_open(a))
                return;
        uint64_t first = s->drop_first, count = s->drop_count;
        s->drop_count = 0;
        async_send_params(a, "EventsDropped",
                          json_pack("{s:s, s:I, s:I, s:I}", "sink", s->id, "first_seq",
                                    (json_int_t)first, "last_seq", (json_int_t)(first + count - 1),
                                    "count", (json_int_t)count));
}

static void async_report_drops(Async *a) {
        while (a->dropped) {
                AsyncSink *s = a->dropped;
                a->dropped = s->drop_next;
                s->drop_next = NULL;
                s->drop_listed = false;
                sink_report_drops(s);
        }
}

/* seq of s could not be delivered. Drops are reported in contiguous
 * ranges: one that does not continue the pending range reports it first.
 * Outside an overflow (out of memory) the report goes at once. */
static void sink_drop(AsyncSink *s, uint64_t seq) {
        Async *a = s->a;
        if (s->drop_count > 0 && s->drop_first + s->drop_count != seq)
                sink_report_drops(s);
        if (s->drop_count == 0) {
                s->drop_first = seq;
                if (!s->drop_listed) {
                        s->drop_next = a->dropped;
                        a->dropped = s;
                        s->drop_listed = true;
                }
        }
        s->drop_count++;
        async_server(a)->events_dropped++;
        if (!a->dropping)
                async_report_drops(a);
}

/* The Indicate line for seq on s with objects (JSON text, comma-separated)
 * into a fresh line. */
static int indicate_line(AsyncSink *s, uint64_t call, uint64_t seq, const char *objects,
                         size_t objects_len, char **ret, size_t *ret_len) {
        StrBuf b = STRBUF_INIT;
        rpc_encode_notification_begin("Indicate", &b);
        strbuf_printf(&b, "{\"sink\":%s,\"call\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"objects\":[",
                      s->id_json, call, seq);
        strbuf_append_len(&b, objects, objects_len);
        strbuf_append(&b, "]}");
        rpc_encode_result_end(&b);
        if (strbuf_failed(&b)) {
                strbuf_done(&b);
                return -ENOMEM;
        }
        size_t len = b.len;
        char *line = strbuf_steal(&b);
        if (!line)
                return -ENOMEM;
        *ret = line;
        *ret_len = len;
        return 0;
}

/* ---- the backlog and the open Indicate ------------------------------------ */

/* Credit the Indicate bytes the socket has taken since last time. */
static void backlog_settle(Async *a) {
        uint64_t written = a->session->out_queued - async_output_bytes(a);

        while (a->spans_head < a->spans_n) {
                IndicateSpan *sp = &a->spans[a->spans_head];
                if (sp->start >= written)
                        break;
                uint64_t upto = sp->end < written ? sp->end : written;
                a->backlog_queued -= upto - sp->start;
                sp->start = upto;
                if (sp->start < sp->end)
                        break;
                a->spans_head++;
        }
        if (a->spans_head == a->spans_n)
                a->spans_head = a->spans_n = 0;
}

size_t async_backlog_bytes(Async *a) {
        if (!a || a->released)
                return 0;
        backlog_settle(a);
        return (size_t)a->backlog_queued + (a->batch_sink ? a->batch_len + BATCH_TAIL_LEN : 0);
}

/* Room to record one more span, so that queueing a line made for it
 * never fails over its bookkeeping. */
static int spans_reserve(Async *a) {
        if (a->spans_n < a->spans_cap)
                return 0;
        if (a->spans_head > 0) {
                a->spans_n -= a->spans_head;
                memmove(a->spans, a->spans + a->spans_head, a->spans_n * sizeof(IndicateSpan));
                a->spans_head = 0;
                return 0;
        }
        size_t cap = a->spans_cap ? a->spans_cap * 2 : 8;
        IndicateSpan *p = mem_reallocarray(a->spans, cap, sizeof(IndicateSpan));
        if (!p)
                return -ENOMEM;
        a->spans = p;
        a->spans_cap = cap;
        return 0;
}

/* An Indicate line of len bytes was just queued (after spans_reserve). */
static void spans_add(Async *a, size_t len) {
        uint64_t end = a->session->out_queued, start = end - len;

        if (a->spans_n > a->spans_head && a->spans[a->spans_n - 1].end == start)
                a->spans[a->spans_n - 1].end = end;
        else
                a->spans[a->spans_n++] = (IndicateSpan){ .start = start, .end = end };
        a->backlog_queued += len;
}

/* Queue a finished Indicate line (copied). 0, or -ENOMEM with nothing
 * queued. On a session that is closing it is dropped (0): nobody reads it. */
static int async_queue_indicate(Async *a, const char *line, size_t len) {
        if (spans_reserve(a) < 0)
                return -ENOMEM;
        if (session_send_indicate(a->session, line, len)) {
                spans_add(a, len);
                quota_backlog_set(async_quota(a), &a->backlog_charged, async_backlog_bytes(a));
        }
        return 0;
}

/* Room for extra more bytes in the open line, and its tail. */
static int batch_reserve(Async *a, size_t extra) {
        size_t need = a->batch_len + extra + BATCH_TAIL_LEN;
        if (need <= a->batch_cap)
                return 0;
        size_t cap = a->batch_cap ? a->batch_cap : 1024;
        while (cap < need)
                cap *= 2;
        char *p = mem_realloc(a->batch, cap);
        if (!p)
                return -ENOMEM;
        a->batch = p;
        a->batch_cap = cap;
        return 0;
}

void async_flush(Async *a) {
        if (!a || !a->batch_sink)
                return;
        a->batch_sink = NULL;
        size_t len = a->batch_len + BATCH_TAIL_LEN;
        a->batch_len = 0;
        /* a session flushing its last output (draining) still sends it */
        if (!a->released && a->session->state != SESSION_CLOSED) {
                memcpy(a->batch + len - BATCH_TAIL_LEN, BATCH_TAIL, BATCH_TAIL_LEN);
                /* its span was reserved when it was opened */
                if (session_send_indicate(a->session, a->batch, len))
                        spans_add(a, len);
        }
        /* A large buffer is not kept for an idle session. */
        if (a->batch_cap > 4 * ASYNC_BATCH_BYTES) {
                mem_free(a->batch);
                a->batch = NULL;
                a->batch_cap = 0;
        }
}

static void async_flush_cb(evutil_socket_t fd, short what, void *userdata) {
        Async *a = userdata;
        (void)fd;
        (void)what;

        a->flush_scheduled = false;
        async_flush(a);
}

/* Add an event's text (a JSON object) for call on s: into the open
 * Indicate when it is this call's and still the sink's latest, else into
 * a new one, which takes the sink's next seq. 0 or -ENOMEM (nothing
 * changed: the caller drops the event). */
static int batch_add(Async *a, AsyncSink *s, uint64_t call, const char *text, size_t len) {
        static const struct timeval now = { 0, 0 };

        if (a->batch_sink == s && a->batch_call == call && a->batch_seq == s->seq &&
            a->batch_len < ASYNC_BATCH_BYTES) {
                if (batch_reserve(a, len + 1) < 0)
                        return -ENOMEM;
                a->batch[a->batch_len++] = ',';
                memcpy(a->batch + a->batch_len, text, len);
                a->batch_len += len;
                return 0;
        }
        async_flush(a);
        if (!async_open(a))
                return 0; /* the session closed queueing it: nobody reads */
        /* the head: the envelope, sink id (JSON), two numbers */
        size_t head = 96 + strlen(s->id_json);
        if (spans_reserve(a) < 0 || batch_reserve(a, head + len) < 0)
                return -ENOMEM;
        uint64_t seq = s->seq + 1;
        int n = snprintf(a->batch, a->batch_cap,
                         "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",\"params\":{\"sink\":%s,"
                         "\"call\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"objects\":[",
                         s->id_json, call, seq);
        if (n < 0 || (size_t)n > head)
                return -ENOMEM; /* cannot be: head has room for two uint64 */
        memcpy(a->batch + n, text, len);
        a->batch_len = (size_t)n + len;
        s->seq = seq;
        a->batch_sink = s;
        a->batch_call = call;
        a->batch_seq = seq;
        if (!a->flush_scheduled) {
                /* a zero timer: after this turn's other callbacks */
                if (evtimer_add(a->flush_event, &now) == 0)
                        a->flush_scheduled = true;
                else
                        async_flush(a); /* no batching then */
        }
        return 0;
}

/* ---- an event's text ---------------------------------------------------------- */

AsyncEventText *async_event_text_free(AsyncEventText *t) {
        if (!t)
                return NULL;
        instance_unref(t->event);
        strbuf_done(&t->text);
        strbuf_done(&t->projected);
        objtext_done(&t->whole);
        objtext_done(&t->projecting);
        mem_free(t);
        return NULL;
}

static void strbuf_reset(StrBuf *b) {
        if (strbuf_failed(b))
                strbuf_done(b);
        else
                strbuf_truncate(b, 0);
}

/* The JSON text of event as call's Indicate carries it (borrowed, valid
 * until the next event). An event written whole is written once, however
 * many calls it goes to: the engine delivers one event to all its calls
 * before the next, and the text is kept with a reference to the event, so
 * the pointer cannot name another event meanwhile (a shared instance
 * never changes: instance.h). A call with a select list gets its own. 0,
 * or objtext_append's errors. */
static int event_text(Server *server, const Call *call, Instance *event, const char **ret,
                      size_t *ret_len, Error *err) {
        AsyncEventText *t = server->event_text;
        const WqlQuery *projection = call_projection(call);
        int r;

        if (!t) {
                t = mem_calloc(1, sizeof(*t));
                if (!t)
                        return -ENOMEM;
                const char *host = engine_host_name(server->engine);
                objtext_init(&t->whole, host, NULL);
                objtext_init(&t->projecting, host, NULL);
                server->event_text = t;
        }
        if (projection) {
                objtext_set_query(&t->projecting, projection);
                strbuf_reset(&t->projected);
                r = objtext_append(&t->projecting, event, &t->projected, err);
                if (r != 0)
                        return r;
                *ret = t->projected.data;
                *ret_len = t->projected.len;
                return 0;
        }
        if (t->event != event) {
                t->event = instance_unref(t->event);
                strbuf_reset(&t->text);
                r = objtext_append(&t->whole, event, &t->text, err);
                if (r != 0)
                        return r;
                t->event = instance_ref(event);
        }
        *ret = t->text.data;
        *ret_len = t->text.len;
        return 0;
}

/* ---- the engine's callbacks ----------------------------------------------- */

/* Write one event for call into the session's Indicates (or drop it); see
 * async.h. */
static void indicate_event(AsyncSink *s, Call *call, Instance *event) {
        Async *a = s->a;
        Server *server = async_server(a);
        size_t budget = server->settings.max_backlog_bytes;
        QuotaUser *quota = async_quota(a);
        size_t backlog = async_backlog_bytes(a);

        quota_backlog_set(quota, &a->backlog_charged, backlog);
        if (!a->dropping && backlog >= budget) {
                log_debug("session %llu: Indicate backlog at its budget of %zu bytes, dropping "
                          "events",
                          (unsigned long long)a->session->id, budget);
                a->dropping = true;
        } else if (!a->dropping && quota_backlog_full(quota)) {
                Error e;
                error_set(&e, WBEM_E_QUOTA_VIOLATION,
                          "quota 'backlog_bytes' of the session's user reached: its sessions' "
                          "Indicate backlog is over its budget; dropping events for this "
                          "session (reported with EventsDropped) until it has drained to half");
                session_quota_refused(a->session, SESSION_QUOTA_BACKLOG, &e);
                a->dropping = true;
                a->user_dropping = true;
        } else if (a->dropping && a->user_dropping && backlog <= budget / 2 &&
                   quota_backlog_drained(quota)) {
                /* The user's other sessions drained (the session's own
                 * write callback may never come: its output is empty). */
                a->dropping = false;
                a->user_dropping = false;
                async_report_drops(a);
        }
        if (a->dropping) {
                async_count_event(a, call, false);
                sink_drop(s, ++s->seq);
                return;
        }

        const char *text = NULL;
        size_t len = 0;
        Error err = { 0 };
        int r = event_text(server, call, event, &text, &len, &err);
        if (r == 0)
                r = batch_add(a, s, call_id(call), text, len);
        if (r == 0) {
                async_count_event(a, call, true);
                if (quota)
                        quota_backlog_set(quota, &a->backlog_charged, async_backlog_bytes(a));
                return;
        }
        /* an event we cannot write (out of memory, a string that is not
         * UTF-8): a seq of its own, reported as dropped */
        log_debug("session %llu: event for call %" PRIu64 " dropped: %s",
                  (unsigned long long)a->session->id, call_id(call),
                  r < 0 ? strerror(-r) : err.message);
        async_count_event(a, call, false);
        sink_drop(s, ++s->seq);
}

static void async_indicate(Sink *sink, Call *call, Instance *event, void *userdata) {
        AsyncSink *s = userdata;
        Server *server = async_server(s->a);
        (void)sink;

        if (!async_open(s->a))
                return;
        /* Nothing below may free a call or a sink (the engine is walking
         * them): a failure to queue closes the session, whose calls are
         * then released when it is freed. */
        server->sink_callbacks++;
        indicate_event(s, call, event);
        server->sink_callbacks--;
}

static void async_call_ended(Sink *sink, Call *call, int status, const char *message,
                             void *userdata) {
        AsyncSink *s = userdata;
        Async *a = s->a;
        Server *server = async_server(a);
        (void)sink;

        server->sink_callbacks++;
        calls_remove_id(a, call_id(call));
        log_debug("session %llu: call %" PRIu64 " ended: %s", (unsigned long long)a->session->id,
                  call_id(call), message);
        async_send_status(a, s, call_id(call), status, message);
        server->sink_callbacks--;
}

static const SinkOps async_sink_ops = {
        .indicate = async_indicate,
        .call_ended = async_call_ended,
};

/* ---- quotas ---------------------------------------------------------------- */

/* A new call with a query of len bytes: within the user's quotas? Checked
 * before anything is made, so a refusal costs nothing. */
static int async_quota_check(Async *a, size_t len, Error *err) {
        QuotaUser *quota = async_quota(a);
        int r;

        r = quota_check_query(quota, len, err);
        if (r != 0) {
                session_quota_refused(a->session, SESSION_QUOTA_QUERY, err);
                return r;
        }
        r = quota_check_registration(quota, a->n_calls, err);
        if (r != 0)
                session_quota_refused(a->session, SESSION_QUOTA_REGISTRATIONS, err);
        return r;
}

void async_quota_move(Async *a, QuotaUser *from, QuotaUser *to) {
        size_t backlog = a->backlog_charged;

        if (a->released)
                return;
        quota_registrations_release(from, a->n_calls);
        quota_registrations_add(to, a->n_calls);
        quota_backlog_set(from, &a->backlog_charged, 0);
        quota_backlog_set(to, &a->backlog_charged, backlog);
}

/* ---- ExecQueryAsync ---------------------------------------------------------- */

static void query_free(Async *a, AsyncQuery *q) {
        TAILQ_REMOVE(&a->queries, q, link);
        q->sink->n_queries--;
        engine_query_end(q->cursor);
        objtext_done(&q->text);
        strbuf_done(&q->batch);
        mem_free(q->ns);
        mem_free(q->query);
        mem_free(q);
}

/* End q: its SetStatus, then it is gone. */
static void query_end(Async *a, AsyncQuery *q, int status, const char *message) {
        calls_remove_id(a, q->id);
        async_send_status(a, q->sink, q->id, status, message);
        query_free(a, q);
}

static void query_schedule(Async *a) {
        static const struct timeval now = { 0, 0 };
        /* a zero timer: after the loop has polled for I/O again */
        evtimer_add(a->query_event, &now);
}

/* Send the batch q holds, if any, as one Indicate (after the open event
 * Indicate, if any). */
static int query_flush(Async *a, AsyncQuery *q) {
        char *line;
        size_t len;

        if (q->batch.len == 0)
                return 0;
        if (strbuf_failed(&q->batch))
                return -ENOMEM;
        int r = indicate_line(q->sink, q->id, q->sink->seq + 1, q->batch.data, q->batch.len, &line,
                              &len);
        strbuf_truncate(&q->batch, 0);
        if (r < 0)
                return r;
        async_flush(a);
        r = async_queue_indicate(a, line, len);
        mem_free(line);
        if (r < 0)
                return r;
        q->sink->seq++;
        return 0;
}

/* One batch of q: up to ASYNC_QUERY_BATCH objects, reading on through the
 * cursor's work budget (-EAGAIN) until the turn's deadline. Returns the
 * objects written; q may be gone (ended) after it. */
static unsigned query_step(Async *a, AsyncQuery *q, uint64_t deadline, bool *ret_gone) {
        unsigned n = 0;
        Error err = { 0 };
        bool end = false;
        int r = 0;

        *ret_gone = false;
        while (n < ASYNC_QUERY_BATCH) {
                _cleanup_(instance_unrefp) Instance *inst = NULL;
                r = engine_query_next(q->cursor, &inst, &err);
                if (r == -EAGAIN) {
                        r = 0;
                        if (session_now_usec() < deadline)
                                continue;
                        break; /* a selective query: on with the others */
                }
                if (r != 0)
                        break;
                if (!inst) {
                        end = true;
                        break;
                }
                size_t at = q->batch.len;
                if (at > 0)
                        strbuf_append_char(&q->batch, ',');
                r = objtext_append(&q->text, inst, &q->batch, &err);
                if (r != 0) {
                        /* the objects before it still go out (unless the
                         * batch itself could not grow: then none) */
                        if (!strbuf_failed(&q->batch))
                                strbuf_truncate(&q->batch, at);
                        break;
                }
                n++;
        }
        /* What was made goes out first: SetStatus comes after the last
         * Indicate. */
        int flushed = query_flush(a, q);
        if (flushed == 0)
                q->delivered += n;
        if (r == 0 && flushed < 0)
                r = flushed;
        if (r == 0 && !end)
                return n;
        if (r == 0) {
                query_end(a, q, WBEM_S_NO_ERROR, "");
        } else {
                if (r < 0)
                        error_from_errno(&err, r);
                query_end(a, q, r < 0 ? err.status : r, err.message);
        }
        *ret_gone = true;
        return n;
}

static bool async_output_full(const Async *a) {
        return a->dropping || async_output_bytes(a) > SESSION_OUTPUT_HIGH_WATER;
}

static void async_query_cb(evutil_socket_t fd, short what, void *userdata) {
        Async *a = userdata;
        uint64_t start = session_now_usec();
        unsigned objects = 0;
        (void)fd;
        (void)what;

        if (!async_open(a))
                return;
        a->busy++;
        while (!TAILQ_EMPTY(&a->queries)) {
                if (async_output_full(a)) {
                        /* the session's write callback brings us back */
                        a->queries_waiting = true;
                        break;
                }
                if (objects >= ASYNC_QUERY_MAX_OBJECTS_PER_TURN ||
                    (objects > 0 && session_now_usec() - start >= ASYNC_QUERY_MAX_USEC_PER_TURN))
                        break;
                AsyncQuery *q = TAILQ_FIRST(&a->queries);
                /* round robin: the next one goes first next time */
                TAILQ_REMOVE(&a->queries, q, link);
                TAILQ_INSERT_TAIL(&a->queries, q, link);
                bool gone;
                unsigned n = query_step(a, q, start + ASYNC_QUERY_MAX_USEC_PER_TURN, &gone);
                objects += n;
                if (!async_open(a))
                        break;
                if (n == 0 && !gone) {
                        /* used up its work budget without a match: count
                         * the work as a batch's */
                        objects += ASYNC_QUERY_BATCH;
                }
        }
        a->busy--;
        if (async_open(a) && !a->queries_waiting && !TAILQ_EMPTY(&a->queries))
                query_schedule(a);
        if (async_open(a) && TAILQ_EMPTY(&a->queries) && a->session->read_eof)
                session_wake(a->session); /* a half-closed session may close now */
}

int async_query(Async *a, const char *sink_id, const char *ns, const char *query, size_t len,
                uint64_t *ret_call, Error *err) {
        Engine *e = async_server(a)->engine;
        QueryCursor *cursor = NULL;
        AsyncSink *s;
        int r;

        if (!e)
                return error_set(err, WBEM_E_FAILED, "ExecQueryAsync: no repository is open");
        r = async_check_sink_id(sink_id, err);
        if (r == 0)
                r = async_quota_check(a, len, err);
        if (r != 0)
                return r;
        ProviderCaller caller = session_caller(a->session);
        r = engine_query_begin_as(e, &caller, ns, query, len, &cursor, err);
        if (r != 0)
                return r;
        AsyncQuery *q = mem_calloc(1, sizeof(*q));
        if (!q || calls_reserve(a) < 0 || epochs_reserve(a) < 0 || !(q->ns = mem_strdup(ns)) ||
            !(q->query = mem_strndup(query, len))) {
                r = error_from_errno(err, -ENOMEM);
                goto fail;
        }
        r = sinks_get(a, sink_id, &s, NULL, err);
        if (r != 0)
                goto fail;
        q->id = ++a->last_call_id;
        epochs_note(a, q->id);
        q->sink = s;
        q->cursor = cursor;
        objtext_init(&q->text, engine_host_name(e), engine_query_parsed(cursor));
        s->n_queries++;
        TAILQ_INSERT_TAIL(&a->queries, q, link);
        calls_put(a, q->id, (uintptr_t)q | CALL_IS_QUERY);
        /* The first batch comes on a later turn, after the response. */
        if (!a->queries_waiting)
                query_schedule(a);
        *ret_call = q->id;
        return 0;
fail:
        if (q) {
                mem_free(q->ns);
                mem_free(q->query);
                mem_free(q);
        }
        engine_query_end(cursor);
        return r;
}

/* ---- ExecNotificationQueryAsync ---------------------------------------------- */

int async_subscribe(Async *a, const char *sink_id, const char *ns, const char *query, size_t len,
                    uint64_t *ret_call, Error *err) {
        Engine *e = async_server(a)->engine;
        AsyncSink *s;
        Call *call;
        int r;

        if (!e)
                return error_set(err, WBEM_E_FAILED,
                                 "ExecNotificationQueryAsync: no repository is open");
        r = async_check_sink_id(sink_id, err);
        if (r == 0)
                r = async_quota_check(a, len, err);
        if (r != 0)
                return r;
        bool created;
        r = sinks_get(a, sink_id, &s, &created, err);
        if (r != 0)
                return r;
        if (calls_reserve(a) < 0 || epochs_reserve(a) < 0)
                r = error_from_errno(err, -ENOMEM);
        uint64_t id = a->last_call_id + 1;
        ProviderCaller caller = session_caller(a->session);
        if (r == 0)
                r = engine_subscribe_as(e, &caller, ns, query, len, s->sink, id, &call, err);
        if (r != 0) {
                /* A sink made for a call that failed goes with it: a
                 * client sending bad queries under ever new sink ids
                 * would otherwise pile them up for the session's life. */
                if (created)
                        sinks_forget_new(a, s);
                return r;
        }
        a->last_call_id = id;
        epochs_note(a, id);
        calls_put(a, id, (uintptr_t)call);
        *ret_call = id;
        return 0;
}

/* ---- cancelling -------------------------------------------------------------- */

static void cancel_one(Async *a, CallSlot *slot, int status, const char *message) {
        uint64_t id = slot_id(slot);
        uintptr_t ref = slot->ref;

        calls_remove(a, slot);
        if (ref & CALL_IS_QUERY) {
                AsyncQuery *q = (AsyncQuery *)(ref & ~CALL_IS_QUERY);
                async_send_status(a, q->sink, id, status, message);
                query_free(a, q);
        } else {
                Call *c = (Call *)ref;
                AsyncSink *s = sink_userdata(call_sink(c));
                async_send_status(a, s, id, status, message);
                call_cancel(c);
        }
}

size_t async_cancel_call(Async *a, uint64_t call_id) {
        CallSlot *slot = a->released ? NULL : calls_find(a, call_id);
        if (!slot)
                return 0;
        a->busy++;
        cancel_one(a, slot, WBEM_E_CALL_CANCELLED, "the call was cancelled");
        a->busy--;
        return 1;
}

typedef struct CancelEach {
        Async *a;
        AsyncSink *s;
} CancelEach;

static void cancel_each(Call *c, void *userdata) {
        CancelEach *ce = userdata;
        calls_remove_id(ce->a, call_id(c));
        async_send_status(ce->a, ce->s, call_id(c), WBEM_E_CALL_CANCELLED,
                          "the call was cancelled");
}

size_t async_cancel_sink(Async *a, const char *sink_id) {
        AsyncSink *s = a->released ? NULL : sinks_find(a, sink_id, sink_id_hash(sink_id));
        size_t n = 0;

        if (!s)
                return 0;
        a->busy++;
        if (s->n_queries > 0) {
                AsyncQuery *q, *next;
                for (q = TAILQ_FIRST(&a->queries); q; q = next) {
                        next = TAILQ_NEXT(q, link);
                        if (q->sink != s)
                                continue;
                        calls_remove_id(a, q->id);
                        async_send_status(a, s, q->id, WBEM_E_CALL_CANCELLED,
                                          "the call was cancelled");
                        query_free(a, q);
                        n++;
                }
        }
        CancelEach ce = { .a = a, .s = s };
        n += sink_cancel_all(s->sink, cancel_each, &ce);
        a->busy--;
        return n;
}

/* ---- life cycle ----------------------------------------------------------------- */

int async_new(Session *session, Async **ret) {
        Async *a = mem_calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->session = session;
        TAILQ_INIT(&a->queries);
        a->query_event = evtimer_new(session->server->base, async_query_cb, a);
        a->flush_event = evtimer_new(session->server->base, async_flush_cb, a);
        if (!a->query_event || !a->flush_event) {
                if (a->query_event)
                        event_free(a->query_event);
                if (a->flush_event)
                        event_free(a->flush_event);
                mem_free(a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

static size_t async_release_now(Async *a) {
        size_t n = a->n_calls;
        AsyncQuery *q;

        a->released = true;
        event_del(a->query_event);
        event_del(a->flush_event);
        a->flush_scheduled = false;
        /* an open Indicate is dropped with the rest: nobody reads it */
        a->batch_sink = NULL;
        mem_free(a->batch);
        a->batch = NULL;
        a->batch_len = a->batch_cap = 0;
        mem_free(a->spans);
        a->spans = NULL;
        a->spans_head = a->spans_n = a->spans_cap = 0;
        a->backlog_queued = 0;
        while ((q = TAILQ_FIRST(&a->queries)))
                query_free(a, q);
        /* every sink (and so every call) in one pass */
        for (size_t k = 0; a->sinks && k <= a->sinks_mask; k++)
                while (a->sinks[k]) {
                        AsyncSink *s = a->sinks[k];
                        a->sinks[k] = s->hash_next;
                        sink_destroy(s);
                }
        mem_free(a->sinks);
        a->sinks = NULL;
        a->n_sinks = 0;
        mem_free(a->calls);
        a->calls = NULL;
        a->n_calls = 0;
        /* the calls and the backlog go back to the user's bucket */
        quota_registrations_release(async_quota(a), n);
        quota_backlog_set(async_quota(a), &a->backlog_charged, 0);
        counts_free_all(a);
        mem_free(a->epochs);
        a->epochs = NULL;
        a->n_epochs = a->epochs_size = 0;
        a->dropped = NULL;
        return n;
}

size_t async_release(Async *a) {
        if (!a || a->released)
                return 0;
        if (a->busy > 0 || async_server(a)->sink_callbacks > 0)
                return a->n_calls; /* inside a walk of calls: async_free does it */
        return async_release_now(a);
}

size_t async_shutdown(Async *a) {
        if (!a || a->released)
                return 0;
        size_t n = a->n_calls;
        a->busy++;
        for (size_t k = 0; a->calls && k <= a->calls_mask; k++) {
                if (a->calls[k].ref == 0)
                        continue;
                uintptr_t ref = a->calls[k].ref;
                AsyncSink *s = ref & CALL_IS_QUERY ? ((AsyncQuery *)(ref & ~CALL_IS_QUERY))->sink
                                                   : sink_userdata(call_sink((Call *)ref));
                async_send_status(a, s, slot_id(&a->calls[k]), WBEM_E_SHUTTING_DOWN,
                                  "the server is shutting down");
        }
        a->busy--;
        async_release(a);
        return n;
}

Async *async_free(Async *a) {
        if (!a)
                return NULL;
        if (!a->released)
                async_release_now(a);
        event_free(a->query_event);
        event_free(a->flush_event);
        mem_free(a);
        return NULL;
}

void async_output_drained(Async *a) {
        if (!async_open(a))
                return;
        size_t backlog = async_backlog_bytes(a);
        quota_backlog_set(async_quota(a), &a->backlog_charged, backlog);
        if (a->dropping && backlog <= async_server(a)->settings.max_backlog_bytes / 2) {
                if (!quota_backlog_drained(async_quota(a))) {
                        /* Its own backlog drained, its user's not: the
                         * next event checks again (this callback may not
                         * come back: the output may stay empty). */
                        a->user_dropping = true;
                } else {
                        log_debug("session %llu: Indicate backlog drained, delivering events "
                                  "again",
                                  (unsigned long long)a->session->id);
                        a->dropping = false;
                        a->user_dropping = false;
                        async_report_drops(a);
                }
        }
        if (a->queries_waiting) {
                a->queries_waiting = false;
                if (!TAILQ_EMPTY(&a->queries))
                        query_schedule(a);
        }
}

/* ---- introspection ---------------------------------------------------------- */

size_t async_sink_count(const Async *a) {
        return a && !a->released ? a->n_sinks : 0;
}

size_t async_query_count(const Async *a) {
        size_t n = 0;
        const AsyncQuery *q;
        if (!a || a->released)
                return 0;
        TAILQ_FOREACH(q, &a->queries, link)
        n++;
        return n;
}

size_t async_call_count(const Async *a) {
        return a && !a->released ? a->n_calls : 0;
}

uint64_t async_events_delivered(const Async *a) {
        return a ? a->events_delivered : 0;
}

uint64_t async_events_dropped(const Async *a) {
        return a ? a->events_dropped : 0;
}

static void call_info(const Async *a, const CallSlot *slot, AsyncCallInfo *info) {
        uint64_t id = slot_id(slot);
        size_t epoch = epochs_find(a, id);

        *info = (AsyncCallInfo){ .call = id };
        if (epoch != SIZE_MAX)
                info->created_usec = a->epochs[epoch].usec;
        if (slot->ref & CALL_IS_QUERY) {
                const AsyncQuery *q = (const AsyncQuery *)(slot->ref & ~CALL_IS_QUERY);
                info->sink = q->sink->id;
                info->ns = q->ns;
                info->query = q->query;
                info->is_query = true;
                info->events_delivered = q->delivered;
        } else {
                const Call *c = (const Call *)slot->ref;
                const AsyncSink *s = sink_userdata(call_sink(c));
                const CallCounts *counts = counts_find(a, info->call);
                info->sink = s->id;
                info->ns = call_namespace(c);
                info->query = call_query(c);
                if (counts) {
                        info->events_delivered = counts->delivered;
                        info->events_dropped = counts->dropped;
                }
        }
}

int async_call_ids(const Async *a, uint64_t **ret, size_t *ret_n) {
        size_t n = async_call_count(a), k = 0;
        uint64_t *ids = mem_malloc((n ? n : 1) * sizeof(uint64_t));
        if (!ids)
                return -ENOMEM;
        for (size_t at = 0; n > 0 && at <= a->calls_mask; at++)
                if (a->calls[at].ref != 0)
                        ids[k++] = slot_id(&a->calls[at]);
        *ret = ids;
        *ret_n = k;
        return 0;
}

int async_call_info(const Async *a, uint64_t id, AsyncCallInfo *ret) {
        const CallSlot *slot = a && !a->released ? calls_find(a, id) : NULL;
        if (!slot)
                return -ENOENT;
        call_info(a, slot, ret);
        return 0;
}
