/* Internals of the event machinery (events.h): the dispatcher and its index
 * (dispatcher.c), compiled shared filters (filter.c), sinks and calls
 * (sink.c), poll tasks (poll.c) and the engine glue (events.c). Not for use
 * outside those files and their unit tests.
 *
 * The shape of the data, from a sink down:
 *
 *   Sink ──calls (intrusive, doubly linked)──▶ Call ──▶ Filter ──▶ Bucket ──▶ EventNs
 *                                               ▲          │           └──▶ PollTask (WITHIN)
 *   Filter ──calls (intrusive, doubly linked)───┘          └──▶ FilterQuery (only when needed)
 *
 * A Bucket is one (namespace, FROM class, ISA class, source) combination:
 * every filter lives in exactly one bucket. Buckets of native events (the
 * repository, published events) sit in the dispatcher's bucket table keyed
 * by (namespace, FROM class, ISA class); buckets of polled classes hang off
 * their poll task, whose events reach only them.
 *
 * Within a bucket a filter is either in the bucket's scan list (evaluated
 * for every event of the bucket) or in the dispatcher's equality table under
 * (bucket, property path, normalized literal) of one top-level `Prop =
 * literal` conjunct, so an event costs one probe per distinct indexed path
 * of the bucket plus the filters that can match.
 *
 * A filter whose WHERE is fully said by its place in the index (no WHERE, or
 * the ISA conjunct and/or one equality conjunct, and SELECT *) is
 * "captured": it keeps no parsed query and is delivered without evaluation.
 * Captured filters are shared by their index position (same bucket, path and
 * key: `Id = 5` and `Id = 5.0` are one filter); the others keep their query
 * and are shared by namespace plus canonical text (wql_query_format). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class.h"
#include "error.h"
#include "events.h"
#include "instance.h"
#include "slab.h"
#include "value.h"
#include "wql.h"
#include "wql_eval.h"

typedef struct Dispatcher Dispatcher;
typedef struct Bucket Bucket;
typedef struct Filter Filter;
typedef struct FilterQuery FilterQuery;
typedef struct PollTask PollTask;
typedef struct EventNs EventNs;

/* ---- equality keys ---------------------------------------------------------- */

/* The domain of a normalized value: WQL's `=` is TRUE between two values
 * exactly when their keys are equal (domain and value), for the type pairs
 * the index accepts (see filter.c). Numbers normalize across integer and
 * real types: an integral value that fits a 64-bit integer is EQ_UINT
 * (>= 0) or EQ_SINT (< 0), any other a real; NaN has no key. */
typedef enum EqDomain {
        EQ_NONE = 0,
        EQ_UINT,
        EQ_SINT,
        EQ_REAL,
        EQ_BOOL,
        EQ_POINT,    /* datetime instant, usec */
        EQ_INTERVAL, /* datetime interval, usec */
        EQ_STRING,   /* compared with like_text_compare */
} EqDomain;

typedef union EqValue {
        uint64_t u;
        int64_t i;
        double r;
        bool b;
        const char *s; /* borrowed */
} EqValue;

typedef struct EqKey {
        EqDomain domain;
        EqValue v;
        uint64_t hash;
} EqKey;

/* The key of a property value as it is in an event (its runtime type):
 * false for NULL, arrays, embedded objects and NaN. */
bool eq_key_from_value(const Value *v, EqKey *ret);
/* The key a literal has when compared with a property of static type t
 * (not an array): false when `=` between them is not one of the exact pairs
 * (e.g. a string property against a number: the evaluator converts per
 * event, so such a filter is scanned instead). */
bool eq_key_from_literal(const WqlLiteral *l, CimType t, EqKey *ret);
bool eq_key_equal(const EqKey *a, EqDomain domain, const EqValue *v);

/* The kinds of property type whose literals key alike: an indexed path
 * keeps the category its property had when indexed, and a class change
 * that moves the property to another one ends the filters keyed on it (the
 * keys would no longer match what `=` says). */
typedef enum EqCategory {
        EQ_CAT_NONE = 0,
        EQ_CAT_NUMBER,
        EQ_CAT_TEXT, /* string, reference */
        EQ_CAT_BOOL,
        EQ_CAT_DATETIME,
} EqCategory;

EqCategory eq_category(CimType t);

/* ---- namespaces, buckets ---------------------------------------------------- */

/* A namespace that has buckets. Names compare as the repository's do: ASCII
 * case-insensitive, '/' and '\' alike. */
struct EventNs {
        EventNs *next;
        char *name;
        size_t n_buckets;   /* reference count */
        size_t n_intrinsic; /* native buckets of intrinsic events */
};

/* One indexed property path of a bucket ("Id", "TargetInstance.Name"). */
typedef struct EqPath {
        char *parts[2];
        uint32_t uid;       /* unique among the dispatcher's live paths: EqSlot.tag */
        uint32_t n_parts;   /* 1 or 2 */
        uint32_t n_filters; /* 0: a free slot */
        uint32_t hints[2];  /* property indexes found last time */
        /* The text of a captured filter on this path: the others store
         * theirs as what differs from it (FILTER_TEXT_SPLIT). */
        char *tmpl;
        size_t tmpl_len;
        uint8_t category;   /* EqCategory of the property when indexed */
        bool doomed;        /* its filters are being ended */
} EqPath;

#define EQ_PATH_NONE UINT16_MAX

struct Bucket {
        Bucket *next; /* chain of the dispatcher's table, or the poll task's list */
        EventNs *ns;
        PollTask *task;   /* NULL: native events */
        char *class_name; /* FROM */
        char *isa_name;   /* `TargetInstance ISA` class; NULL for extrinsic events */
        uint64_t hash;
        size_t n_filters; /* reference count */
        Filter *scan;     /* filters without an equality key */
        Filter *all;      /* the captured filter without key, if any (also in scan) */
        EqPath *paths;
        uint32_t n_paths;
        bool doomed; /* its classes are gone: its calls are being ended */
        bool held;   /* a reference of dispatcher_end_paths() */
};

/* ---- sinks and calls -------------------------------------------------------- */

struct Sink {
        Sink *next, **pprev; /* the dispatcher's sinks */
        Dispatcher *d;
        uint32_t idx; /* in Dispatcher.sink_at, for EqSlot.sink */
        const SinkOps *ops;
        void *userdata;
        Call *calls;
        size_t n_calls;
};

#define CALL_OWN_TEXT ((uintptr_t)1) /* text[] holds the query */
#define CALL_INLINE ((uintptr_t)2)   /* the call is its filter's `first` */
#define CALL_TAGS (CALL_OWN_TEXT | CALL_INLINE)

/* 56 bytes, what delivery reads first. The first call of a filter lives
 * inside the filter (Filter.first), so a registration on a filter of its own
 * is one heap chunk; other calls are one 64-byte chunk each when their text
 * is the filter's (the text of its first registration). */
struct Call {
        Sink *sink;
        uint64_t id;
        Call *filter_next, **filter_pprev;
        Call *sink_next, **sink_pprev;
        uintptr_t filter; /* Filter *, | CALL_* tags */
        /* with CALL_OWN_TEXT, the query text follows (call_own_text()) */
};

static inline char *call_own_text(const Call *c) {
        return (char *)(c + 1);
}

/* ---- filters ------------------------------------------------------------------ */

/* What a filter that is not captured needs at evaluation time. */
struct FilterQuery {
        Filter *share_next; /* chain of the dispatcher's share table */
        uint64_t share_hash;
        char *canonical; /* wql_query_format() */
        WqlQuery *query;
        WqlFilter *eval;
        bool project; /* a select list: deliver a projected copy */
};

enum {
        FILTER_INDEXED = 1 << 0,    /* in the equality table, else in the bucket's scan list */
        FILTER_CAPTURED = 1 << 1,   /* no query: delivered without evaluation */
        FILTER_FIRST_USED = 1 << 2, /* `first` is a live call */
        FILTER_TEXT_SPLIT = 1 << 3, /* text is the path's tmpl with a middle of its own */
        FILTER_DOOMED = 1 << 4,     /* gone, its slot left for dispatcher_eq_sweep */
};

/* A filter is what its calls share. An indexed filter is found through its
 * EqSlot, which says everything a match needs for the common case (a
 * captured filter with one call), so delivery usually reads no filter at
 * all; the filter is read for the others (several calls, an evaluation, a
 * string key to confirm). 104 bytes before the text: a registration on an
 * equality filter of its own whose text is up to 47 bytes is one 160-byte
 * heap chunk. */
struct Filter {
        uint16_t path_id; /* index into bucket->paths, EQ_PATH_NONE in the scan list */
        uint8_t domain;   /* EqDomain of key */
        uint8_t flags;
        uint32_t n_calls; /* reference count */
        Bucket *bucket;
        union {
                struct {
                        Filter *next, **pprev; /* the bucket's scan list (not indexed) */
                };
                EqValue key; /* indexed; key.s points into text or the query */
        };
        Call *calls;        /* intrusive list through Call.filter_next */
        FilterQuery *query; /* NULL: captured */
        Call first;         /* with FILTER_FIRST_USED */
        /* The query text of the first registration, NUL, then for a
         * captured string key its literal, NUL. With FILTER_TEXT_SPLIT
         * (captured, a key that is not a string): two uint16_t, the
         * lengths of the path's tmpl that come before and after, then the
         * middle, NUL: distinct equality filters whose texts differ only
         * in their literal cost a few bytes of text each. */
        char text[];
};

/* One entry of the equality table: open addressing, linear probing, at
 * most 80% full, Robin Hood order, no tombstones. An entry
 * is found by (tag, key) alone; the home slot is a hash of them, so the
 * table is resized and entries are moved without reading any filter. With
 * EQ_REF_CALL, ref is the filter's only call and sink its Sink.idx: a
 * matching event is delivered from the slot alone. 24 bytes. */
typedef struct EqSlot {
        uint32_t tag;  /* EqPath.uid << 3 | EqDomain; 0: a free slot */
        uint32_t sink; /* with EQ_REF_CALL */
        uint64_t key;  /* eq_slot_bits(): the value's bits, a string's hash */
        uintptr_t ref; /* Filter *, or Call * | EQ_REF_CALL */
} EqSlot;

#define EQ_REF_CALL ((uintptr_t)1)
#define EQ_UID_MAX ((UINT32_C(1) << 29) - 1)

static inline Filter *call_filter(const Call *c) {
        return (Filter *)(c->filter & ~CALL_TAGS);
}

/* ---- poll tasks ------------------------------------------------------------- */

/* How poll tasks read the instances of a class (the engine enumerates its
 * providers; tests fake it). enumerate calls add(add_ud, inst) for every
 * instance of class_name in ns, subclasses included (inst borrowed); a
 * non-zero return of add stops it and is returned. */
typedef struct PollOps {
        int (*enumerate)(void *userdata, const char *ns, const char *class_name,
                         int (*add)(void *add_ud, Instance *inst), void *add_ud, Error *err);
        void *userdata;
} PollOps;

typedef struct SnapEntry {
        char *relpath;
        uint64_t hash;
        Instance *inst;
        bool seen;
} SnapEntry;

typedef struct Snapshot {
        SnapEntry *entries;
        size_t n, cap;
        size_t *index; /* entry + 1, 0 free; index_mask + 1 slots */
        size_t index_mask;
} Snapshot;

/* Consecutive failed polls after which a task ends its calls. */
#define POLL_MAX_FAILURES 3

/* A task carries the buckets of one source of provider events: a poll
 * (timer, snapshot) or, with `source` set, a provider's native source
 * (source.c: no timer, no snapshot, interval 0, class_name NULL). Both are
 * shared and refcounted alike, and their events reach their own buckets
 * only. */
struct PollTask {
        PollTask *next, **pprev; /* the dispatcher's tasks */
        Dispatcher *d;
        char *ns;
        char *class_name;
        EventSource *source; /* a native source; NULL for a poll */
        uint64_t interval_usec;
        size_t refs;     /* buckets, plus subscriptions under way */
        Bucket *buckets; /* through Bucket.next */
        void *timer;     /* from EngineTimerOps.start */
        Snapshot snapshot;
        unsigned failures; /* consecutive */
        uint64_t polls;    /* for tests */
};

/* ---- the dispatcher --------------------------------------------------------- */

enum {
        SYS_CREATION,
        SYS_DELETION,
        SYS_MODIFICATION,
        _SYS_EVENT_MAX,
};

/* The native buckets an event visits depend only on its namespace, its
 * class and its TargetInstance's class: remembered per such triple (class
 * pointers, with references held so that a pointer cannot be reused) until
 * a native bucket comes or goes (generation). Saves hashing every class
 * name of both derivations per event. */
#define ROUTE_CACHE 64
#define ROUTE_MAX 6

typedef struct Route {
        CimClass *event_class;  /* a reference, or NULL: empty slot */
        CimClass *target_class; /* a reference, or NULL for extrinsic events */
        EventNs *ns;
        uint64_t generation;
        uint32_t n; /* buckets; ROUTE_MAX + 1: too many to remember, walk */
        Bucket *buckets[ROUTE_MAX];
} Route;

/* The shape of the last subscriptions of one kind, so that the next of a
 * long run needs no parsing (filter.c, subscribe_memo_*): an extrinsic
 * query whose WHERE is one `Prop = <integer>` (captured), as in a consumer
 * registering one filter per id. Two such texts that differ only in a run
 * of digits after `=` (and whose keys are those digits) set the fixed text
 * around the digits; a later text with the same fixed parts, in the same
 * namespace, while nothing changed (epoch), is that query with another
 * integer. */
typedef struct SubscribeMemo {
        /* ns, class name, property and the last such text, each NUL-
         * terminated, in buf (no allocation: a cache that cannot fail);
         * longer ones are not remembered */
        char buf[512];
        const char *ns, *class_name, *prop, *text; /* NULL: nothing remembered */
        size_t len;
        CimType type; /* of prop */
        size_t pre, suf; /* ready: text[0, pre) and the last suf bytes are fixed */
        bool ready;
        uint64_t epoch;
} SubscribeMemo;

struct Dispatcher {
        SlabPool *slabs; /* the filters' and calls' memory (slab.h) */
        EventNs *namespaces;
        Sink *sinks;
        PollTask *tasks;

        Bucket **buckets; /* native buckets: chained hash table */
        size_t buckets_mask, n_buckets;
        EqSlot *eq; /* equality table (EqSlot) */
        size_t eq_mask, n_eq;
        uint32_t *free_uids; /* EqPath uids given back; room for every uid given */
        uint32_t n_free_uids, next_uid;
        Sink **sink_at; /* sinks by Sink.idx; a free entry is (next free + 1) << 1 | 1 */
        uint32_t n_sink_at, cap_sink_at;
        uint32_t sink_free; /* first free idx + 1, or 0 */
        Filter **shared; /* filters with a query, by namespace + canonical text */
        size_t shared_mask, n_shared;

        CimClass *sys[_SYS_EVENT_MAX]; /* the intrinsic event classes */
        size_t prop_time, prop_target, prop_previous;

        char *host;
        SubscribeMemo memo;
        uint64_t memo_epoch; /* classes and options changed */
        uint64_t memo_hits;  /* subscriptions made by the memo (for tests) */
        char *text_buf; /* call_query() of a split text; text_cap bytes */
        size_t text_cap;
        WqlEvalContext ctx;
        EngineTimerOps timers;
        bool have_timers;
        bool have_watch; /* timers.watch and unwatch: native sources may run */
        PollOps poll_ops;
        uint64_t min_within_usec;

        Route routes[ROUTE_CACHE];
        uint64_t generation; /* of the native buckets and namespaces */

        size_t n_sinks, n_calls, n_filters, n_tasks, n_sources;
        /* Chunks of calls and filters a sink_free() unlinked, freed later in
         * bounded steps (dispatcher_reclaim): losing a session with 100,000
         * registrations unlinks them all in one pass, but the free()s do not
         * all land on that loop turn. */
        Filter *reclaim_filters; /* linked through Filter.calls */
        Call *reclaim_calls;     /* linked through Call.sink_next */
        size_t n_reclaim;
        /* sink_free() of many calls: filters that go leave their equality
         * slots to one sweep of the table (dispatcher_eq_sweep) instead
         * of a lookup each */
        bool bulk_unlink;
        size_t n_doomed;
        uint64_t events_raised, events_delivered, events_failed;
        uint64_t source_overflows; /* event_source_overflowed() */
        unsigned no_shrink; /* tables keep their size while > 0 (walks under way) */
};

/* dispatcher.c */
int dispatcher_new(const char *host, Dispatcher **ret);
/* Frees remaining sinks and their calls silently. */
Dispatcher *dispatcher_free(Dispatcher *d);
void dispatcher_set_hooks(Dispatcher *d, const EngineTimerOps *timers,
                          const EngineEventOptions *opts);
void dispatcher_set_poll_ops(Dispatcher *d, const PollOps *ops);
void dispatcher_stats(const Dispatcher *d, EngineEventStats *ret);

bool ns_equal(const char *a, const char *b);
EventNs *dispatcher_ns_find(Dispatcher *d, const char *ns);
/* The native bucket or the task's bucket for (ns, class, isa, task), or NULL. */
Bucket *dispatcher_bucket_find(Dispatcher *d, const char *ns, const char *class_name,
                               const char *isa_name, PollTask *task);
/* Find or create it, with a reference for the caller. */
int dispatcher_bucket_get(Dispatcher *d, const char *ns, const char *class_name,
                          const char *isa_name, PollTask *task, Bucket **ret);
void dispatcher_bucket_unref(Dispatcher *d, Bucket *b);
/* The path slot of bucket b for path (1 or 2 parts) of category cat, with
 * a reference for the caller: *ret_id. -ENOMEM. */
int bucket_path_get(Dispatcher *d, Bucket *b, const WqlPropertyRef *path, EqCategory cat,
                    uint16_t *ret_id);
/* Its id, or -1. */
long bucket_path_find(const Bucket *b, const WqlPropertyRef *path, EqCategory cat);
void bucket_path_unref(Dispatcher *d, Bucket *b, uint16_t id);

/* Room for one more entry in the equality / share table (so that the
 * insertion that follows cannot fail). */
int dispatcher_eq_reserve(Dispatcher *d);
/* f (FILTER_INDEXED from now) into the equality table at f->bucket,
 * f->path_id, f->domain, f->key. */
void dispatcher_eq_insert(Dispatcher *d, Filter *f);
/* f's calls changed (one more, or one unlinked from f->calls and not yet
 * freed): its slot says again how to deliver to them. */
void dispatcher_eq_refresh(Dispatcher *d, Filter *f);
void dispatcher_scan_insert(Bucket *b, Filter *f);
/* Unlink f from the equality table or its scan list. */
void dispatcher_filter_unlink(Dispatcher *d, Filter *f);

/* The indexed filters of bucket b at (path_id, key), one by one:
 * dispatcher_eq_probe_init, then dispatcher_eq_probe_next until NULL. The
 * table must not change meanwhile. */
typedef struct EqProbe {
        uint32_t tag;
        uint64_t bits;
        const char *s; /* a string key */
        size_t at, dist;
        bool done;
} EqProbe;
void dispatcher_eq_probe_init(Dispatcher *d, const Bucket *b, uint16_t path_id, const EqKey *key,
                              EqProbe *p);
Filter *dispatcher_eq_probe_next(Dispatcher *d, EqProbe *p);
int dispatcher_share_reserve(Dispatcher *d);
void dispatcher_share_insert(Dispatcher *d, Filter *f);
void dispatcher_share_remove(Dispatcher *d, Filter *f);
Filter *dispatcher_share_find(Dispatcher *d, const char *ns, const char *canonical, uint64_t hash);
uint64_t dispatcher_share_hash(const char *ns, const char *canonical);

/* Deliver event (an instance of an event class, namespace ns) to every
 * matching call on native buckets: those of the event's class and its
 * ancestors and, for intrinsic events, of TargetInstance's class and its
 * ancestors. *ret_delivered (may be NULL) counts the calls. Returns 0, or
 * -ENOMEM when some delivery needed memory it did not get (the others
 * happened). */
int dispatcher_raise(Dispatcher *d, const char *ns, Instance *event, size_t *ret_delivered);
/* The same over a list of buckets (a poll task's). */
int dispatcher_raise_buckets(Dispatcher *d, Bucket *list, Instance *event, size_t *ret_delivered);
/* Whether some native bucket of ns takes intrinsic events (so that a put
 * need not build events nobody wants). */
bool dispatcher_wants_intrinsic(Dispatcher *d, const char *ns);
/* A new intrinsic event of class sys (SYS_*) for target (and previous, for
 * a modification), with TIME_CREATED now, in namespace ns. */
int dispatcher_intrinsic_event(Dispatcher *d, int sys, const char *ns, Instance *target,
                               Instance *previous, Instance **ret);
/* TIME_CREATED for now: 100-ns intervals since 1601-01-01 UTC, as WMI. */
uint64_t event_time_now(void);

/* End every call of every bucket of ns for which doomed(b, ud) says so:
 * call_ended(status, message) and free. Returns the number ended. */
size_t dispatcher_end_buckets(Dispatcher *d, const char *ns, bool (*doomed)(Bucket *b, void *ud),
                              void *ud, int status, const char *message);
/* End every call of the indexed filters whose path mark(b, ud) marks
 * (sets EqPath.doomed) in the buckets of ns. Returns the number ended. */
size_t dispatcher_end_paths(Dispatcher *d, const char *ns, void (*mark)(Bucket *b, void *ud),
                            void *ud, int status, const char *message);
/* End every call of the filters in list (all buckets of a poll task). */
size_t dispatcher_end_bucket_list(Dispatcher *d, Bucket *list, int status, const char *message);

/* filter.c */

/* What the subscription of a query needs from its surroundings: classes,
 * and the source of intrinsic events of a class. */
typedef struct SubscribeEnv {
        /* A class of ns by name, a new reference; WBEM_E_NOT_FOUND,
         * WBEM_E_INVALID_NAMESPACE (err filled). */
        int (*class_get)(void *userdata, const char *ns, const char *name, CimClass **ret,
                         Error *err);
        /* How instance events of cls (the ISA class) arise: 0 with *ret_task
         * NULL when they are raised natively; 0 with a new reference to a
         * poll task; or an error (no WITHIN where one is needed, ...).
         * May be NULL: every class is native. */
        int (*source)(void *userdata, const ProviderCaller *caller, const char *ns, CimClass *cls,
                      const WqlQuery *q, PollTask **ret_task, Error *err);
        void *userdata;
        const ProviderCaller *caller; /* the subscriber; NULL: the daemon */
        const WqlLimits *limits;      /* NULL: defaults */
} SubscribeEnv;

/* engine_subscribe() without the engine: see events.h for the errors. */
int filter_subscribe(Dispatcher *d, const SubscribeEnv *env, const char *ns, const char *text,
                     size_t len, Sink *sink, uint64_t call_id, Call **ret, Error *err);
/* The category of an indexable path (a property of the event class ec, or
 * TargetInstance.Prop of isa), EQ_CAT_NONE when it is not one. */
EqCategory filter_path_category(const EqPath *p, const CimClass *ec, const CimClass *isa);
/* Whether the text of f's first registration is [text, text+len). */
bool filter_text_is(const Filter *f, const char *text, size_t len);
/* That text, NUL-terminated: f->text, or for a split text a copy in the
 * dispatcher's buffer, valid until the next call. */
const char *filter_text(Dispatcher *d, const Filter *f);
void subscribe_memo_clear(SubscribeMemo *m);
/* Drop one reference (a call); frees the filter at zero. */
void filter_unref(Dispatcher *d, Filter *f);
/* The same, but a filter that goes is only unlinked from every index; its
 * memory goes to the reclaim list (dispatcher_reclaim_later). */
void filter_unref_deferred(Dispatcher *d, Filter *f);
/* Queue f (unlinked from every index; with its query) or c (unlinked) to
 * be freed by dispatcher_reclaim. Only the link field is overwritten. */
void dispatcher_reclaim_filter_later(Dispatcher *d, Filter *f);
void dispatcher_reclaim_call_later(Dispatcher *d, Call *c);
/* Remove the slots of every FILTER_DOOMED filter in one pass over the
 * equality table. */
void dispatcher_eq_sweep(Dispatcher *d);
/* Free up to max queued chunks; returns how many are left. The last one
 * freed also shrinks the equality table once (dispatcher_eq_compact). */
size_t dispatcher_reclaim(Dispatcher *d, size_t max);
/* Shrink the equality table in one resize to what its entries need (a
 * sink_free() unlinks with no_shrink set: halving the table again and
 * again while 100,000 entries go would rehash as many). */
void dispatcher_eq_compact(Dispatcher *d);
/* Deliver event to f's calls if f matches it (evaluated unless captured). */
void filter_offer(Dispatcher *d, Filter *f, Instance *event, size_t *delivered, int *error);
/* Deliver event to all of f's calls (f known to match). */
void filter_deliver(Dispatcher *d, Filter *f, Instance *event, size_t *delivered, int *error);
const char *filter_namespace(const Filter *f);

/* sink.c */
int sink_new_in(Dispatcher *d, const SinkOps *ops, void *userdata, Sink **ret);
/* A call of f on sink: the caller's reference on f (counted in
 * f->n_calls) passes to the call; on failure it stays the caller's. text
 * and len: the query as given. */
int call_new(Sink *sink, Filter *f, uint64_t id, const char *text, size_t len, Call **ret);
/* call_ended(status, message), then free. */
void call_end(Call *c, int status, const char *message);

/* poll.c */
/* The task for (ns, class, interval), started if new (baseline snapshot,
 * then a timer), with a new reference. WBEM_E_NOT_SUPPORTED without timer
 * operations; the enumeration's errors. */
int poll_task_get(Dispatcher *d, const char *ns, const char *class_name, uint64_t interval_usec,
                  PollTask **ret, Error *err);
void poll_task_unref(PollTask *t);
/* Whether some bucket of t takes events of class sys (SYS_*). */
bool poll_task_wants(const PollTask *t, int sys);
/* One poll: snapshot, diff, raise. The timer calls it; tests too. */
void poll_task_tick(void *task);
void snapshot_clear(Snapshot *s);

/* source.c: native sources of providers (provider.h) */

/* The engine's side of a running source. */
struct EventSource {
        PollTask *task; /* carries its buckets; the task owns it */
        void *engine;   /* Engine *, for event_source_class() */
        Provider *provider;
        char *key;
        ProviderSource *state; /* the provider's */
};

/* Stop and free a task's source (poll_task_unref() calls it when the last
 * reference goes). */
void event_source_free(EventSource *src);
