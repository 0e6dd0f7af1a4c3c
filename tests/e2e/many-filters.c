/* End-to-end check of one sink with many registrations, through liblwmi
 * against a real lwmid ($LWMI_SOCKET), run by test_events.py.
 *
 * It defines App_Event (an __ExtrinsicEvent), registers on ONE sink 1,000
 * equality filters (Id = 0 .. 999) and a few others (LIKE, a range, AND, OR,
 * a duplicate of an equality filter), publishes a set of events, and checks
 * that:
 * - each PublishEvent reports as delivered exactly the number of filters
 *   that match, computed here by evaluating every filter in C;
 * - each call received exactly the matching events, in publish order;
 * - the sink's seq increased by exactly one per Indicate, with no drops;
 * - cancelling some calls one by one, then the rest by sink, gives each
 *   exactly one set_status WBEM_E_CALL_CANCELLED, and nothing is delivered
 *   afterwards;
 * - the daemon's own counts (LWMI_Daemon in root/lwmi: Registrations,
 *   Filters, PollTasks, Sources), when it offers them, are back where they
 *   were before the registrations.
 * Prints "ok" and exits 0, or says what differed and exits 1. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lwmi/lwmi.h>

#define NS "root/cimv2"
#define N_EQUALITY 1000
#define N_EVENTS 300
#define N_CANCEL_ONE_BY_ONE 10

typedef enum Kind {
        EQUALS,     /* Id = a */
        LIKE_ALPHA, /* Name LIKE 'alpha%' */
        RANGE,      /* Id >= 990 */
        AND,        /* Id < 5 AND Level > 2 */
        OR,         /* Level = 7 OR Name = 'beta-42' */
} Kind;

typedef struct Filter {
        Kind kind;
        unsigned a;
        char query[160];
        uint64_t call;
        /* Serials of the events expected and received, in order. */
        unsigned expected[N_EVENTS], n_expected;
        unsigned received[N_EVENTS], n_received;
        unsigned statuses;
        char status[64];
} Filter;

typedef struct Event {
        unsigned serial, id, level;
        char name[32];
} Event;

typedef struct State {
        lwmi_conn *conn;
        Filter *filters;
        size_t n_filters;
        uint64_t last_seq;
        unsigned indicates;
        unsigned dropped;
        unsigned unknown;
        unsigned total_received;
        unsigned total_statuses;
        int errors;
} State;

static void problem(State *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(State *s, const char *fmt, ...) {
        if (s->errors++ >= 20)
                return; /* enough said */
        va_list ap;
        va_start(ap, fmt);
        fputs("many-filters: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

static bool matches(const Filter *f, const Event *e) {
        switch (f->kind) {
        case EQUALS:
                return e->id == f->a;
        case LIKE_ALPHA:
                return strncmp(e->name, "alpha", 5) == 0;
        case RANGE:
                return e->id >= 990;
        case AND:
                return e->id < 5 && e->level > 2;
        case OR:
                return e->level == 7 || strcmp(e->name, "beta-42") == 0;
        }
        return false;
}

/* Calls are few enough to find by a scan from a hint: ids come in order. */
static Filter *filter_of(State *s, uint64_t call) {
        for (size_t i = 0; i < s->n_filters; i++)
                if (s->filters[i].call == call)
                        return &s->filters[i];
        return NULL;
}

static void on_indicate(lwmi_sink *sink, uint64_t call, uint64_t seq, json_t *objects,
                        void *userdata) {
        (void)sink;
        State *s = userdata;
        if (seq != s->last_seq + 1)
                problem(s, "seq %" PRIu64 " after %" PRIu64, seq, s->last_seq);
        s->last_seq = seq;
        s->indicates++;
        Filter *f = filter_of(s, call);
        if (!f) {
                s->unknown++;
                problem(s, "Indicate for unknown call %" PRIu64, call);
                return;
        }
        size_t i;
        json_t *event;
        json_array_foreach(objects, i, event) {
                json_t *serial = json_object_get(event, "Serial");
                if (!json_is_integer(serial) || f->n_received >= N_EVENTS) {
                        problem(s, "call %" PRIu64 ": an event without Serial, or too many", call);
                        continue;
                }
                f->received[f->n_received++] = (unsigned)json_integer_value(serial);
                s->total_received++;
        }
}

static void on_status(lwmi_sink *sink, uint64_t call, const char *status, const char *message,
                      void *userdata) {
        (void)sink;
        State *s = userdata;
        Filter *f = filter_of(s, call);
        if (!f) {
                problem(s, "status %s for unknown call %" PRIu64 ": %s", status, call, message);
                return;
        }
        f->statuses++;
        s->total_statuses++;
        snprintf(f->status, sizeof(f->status), "%s", status);
}

static void on_dropped(lwmi_sink *sink, uint64_t first, uint64_t last, uint64_t count,
                       void *userdata) {
        (void)sink;
        State *s = userdata;
        s->dropped += (unsigned)count;
        /* The gap is accounted for: seq goes on after it. */
        if (first != s->last_seq + 1)
                problem(s, "EventsDropped from %" PRIu64 " after seq %" PRIu64, first, s->last_seq);
        s->last_seq = last;
}

static int die(const char *what, const lwmi_error *err) {
        fprintf(stderr, "many-filters: %s: %s (%s)\n", what, err->message, err->status);
        return 1;
}

/* The daemon's counters, or NULL when it does not describe itself. */
static json_t *daemon_counts(lwmi_conn *c) {
        json_t *objects = NULL;
        lwmi_error err;
        if (lwmi_exec_query(c, "root/lwmi", "SELECT * FROM LWMI_Daemon", &objects, &err) < 0)
                return NULL;
        json_t *counts = json_object();
        static const char *const names[] = { "Registrations", "Filters", "PollTasks", "Sources" };
        json_t *daemon = json_array_get(objects, 0);
        for (size_t i = 0; daemon && counts && i < sizeof(names) / sizeof(names[0]); i++) {
                json_t *v = json_object_get(daemon, names[i]);
                if (v)
                        json_object_set(counts, names[i], v);
        }
        json_decref(objects);
        return counts;
}

/* Dispatch until `done` says so or 60 s pass. */
static bool run_until(State *s, bool (*done)(const State *, unsigned), unsigned arg) {
        lwmi_error err;
        for (int i = 0; i < 600 && !done(s, arg); i++) {
                int r = lwmi_run(s->conn, 100, &err);
                if (r < 0 && r != -EINTR) {
                        die("dispatch", &err);
                        return false;
                }
        }
        return done(s, arg);
}

static bool received_all(const State *s, unsigned want) {
        return s->total_received >= want;
}

static bool statuses_all(const State *s, unsigned want) {
        return s->total_statuses >= want;
}

int main(void) {
        State s = { 0 };
        lwmi_error err = LWMI_ERROR_INIT;
        if (lwmi_connect_ex(NULL, "many-filters", 0, 30000, &s.conn, &err) < 0)
                return die("connect", &err);
        json_t *cls = json_pack("{s:s, s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}", "__CLASS",
                                "App_Event", "__SUPERCLASS", "__ExtrinsicEvent", "properties", "Id",
                                "type", "uint32", "Serial", "type", "uint32", "Level", "type",
                                "uint32", "Name", "type", "string");
        if (lwmi_put_class(s.conn, NS, cls, &err) < 0)
                return die("PutClass App_Event", &err);
        json_decref(cls);
        json_t *before = daemon_counts(s.conn);
        if (!before)
                printf("note: no LWMI_Daemon in root/lwmi; its counts are not checked\n");

        s.n_filters = N_EQUALITY + 5;
        s.filters = calloc(s.n_filters, sizeof(Filter));
        if (!s.filters)
                return 1;
        for (size_t i = 0; i < s.n_filters; i++) {
                Filter *f = &s.filters[i];
                if (i < N_EQUALITY) {
                        f->kind = EQUALS;
                        f->a = (unsigned)i;
                        snprintf(f->query, sizeof(f->query),
                                 "SELECT * FROM App_Event WHERE Id = %zu", i);
                        continue;
                }
                static const struct {
                        Kind kind;
                        unsigned a;
                        const char *query;
                } extra[] = {
                        { LIKE_ALPHA, 0, "SELECT * FROM App_Event WHERE Name LIKE 'alpha%'" },
                        { RANGE, 0, "SELECT * FROM App_Event WHERE Id >= 990" },
                        { AND, 0, "SELECT * FROM App_Event WHERE Id < 5 AND Level > 2" },
                        { OR, 0, "SELECT * FROM App_Event WHERE Level = 7 OR Name = 'beta-42'" },
                        { EQUALS, 3, "SELECT * FROM App_Event WHERE Id = 3" }, /* twice */
                };
                f->kind = extra[i - N_EQUALITY].kind;
                f->a = extra[i - N_EQUALITY].a;
                snprintf(f->query, sizeof(f->query), "%s", extra[i - N_EQUALITY].query);
        }

        static const lwmi_sink_ops ops = { on_indicate, on_status, on_dropped };
        lwmi_sink *sink = lwmi_sink_new(s.conn, &ops, &s);
        if (!sink)
                return 1;
        for (size_t i = 0; i < s.n_filters; i++)
                if (lwmi_exec_notification_query_async(s.conn, sink, NS, s.filters[i].query,
                                                       &s.filters[i].call, &err) < 0)
                        return die(s.filters[i].query, &err);
        if (lwmi_sink_call_count(sink) != s.n_filters)
                problem(&s, "%zu calls open on the sink, not %zu", lwmi_sink_call_count(sink),
                        s.n_filters);

        /* Publish; each event's expected receivers are computed here. */
        unsigned total_expected = 0;
        for (unsigned serial = 0; serial < N_EVENTS; serial++) {
                Event e = { .serial = serial, .id = (serial * 37) % 1100, .level = serial % 9 };
                snprintf(e.name, sizeof(e.name), "%s-%u", serial % 5 == 0 ? "alpha" : "beta",
                         serial);
                unsigned expected = 0;
                for (size_t i = 0; i < s.n_filters; i++)
                        if (matches(&s.filters[i], &e)) {
                                Filter *f = &s.filters[i];
                                f->expected[f->n_expected++] = serial;
                                expected++;
                        }
                total_expected += expected;
                json_t *event = json_pack("{s:s, s:i, s:i, s:i, s:s}", "__CLASS", "App_Event", "Id",
                                          (int)e.id, "Serial", (int)serial, "Level", (int)e.level,
                                          "Name", e.name);
                size_t delivered = 0;
                if (lwmi_publish_event(s.conn, NS, event, &delivered, &err) < 0)
                        return die("PublishEvent", &err);
                json_decref(event);
                if (delivered != expected)
                        problem(&s, "event %u (Id %u, Level %u, %s): delivered %zu, expected %u",
                                serial, e.id, e.level, e.name, delivered, expected);
        }
        if (!run_until(&s, received_all, total_expected))
                problem(&s, "received %u events of %u", s.total_received, total_expected);
        /* A moment more: nothing beyond the expected may come. */
        lwmi_run(s.conn, 200, NULL);
        for (size_t i = 0; i < s.n_filters; i++) {
                Filter *f = &s.filters[i];
                if (f->n_received != f->n_expected ||
                    memcmp(f->received, f->expected, f->n_expected * sizeof(unsigned)) != 0)
                        problem(&s, "%s: received %u events, expected %u (or in another order)",
                                f->query, f->n_received, f->n_expected);
        }
        if (s.dropped)
                problem(&s, "%u Indicates dropped", s.dropped);
        if (s.last_seq != s.indicates)
                problem(&s, "last seq %" PRIu64 " after %u Indicates", s.last_seq, s.indicates);

        /* Cancel some calls one by one, then the rest through the sink. */
        for (size_t i = 0; i < N_CANCEL_ONE_BY_ONE; i++)
                if (lwmi_cancel_call(s.conn, s.filters[i].call, &err) < 0)
                        return die("CancelAsyncCall (call)", &err);
        if (!run_until(&s, statuses_all, N_CANCEL_ONE_BY_ONE))
                problem(&s, "%u statuses after cancelling %d calls", s.total_statuses,
                        N_CANCEL_ONE_BY_ONE);
        size_t cancelled = 0;
        if (lwmi_cancel_sink(s.conn, sink, &cancelled, &err) < 0)
                return die("CancelAsyncCall (sink)", &err);
        if (cancelled != s.n_filters - N_CANCEL_ONE_BY_ONE)
                problem(&s, "cancelling the sink cancelled %zu calls, not %zu", cancelled,
                        s.n_filters - N_CANCEL_ONE_BY_ONE);
        if (!run_until(&s, statuses_all, (unsigned)s.n_filters))
                problem(&s, "%u statuses after cancelling everything", s.total_statuses);
        for (size_t i = 0; i < s.n_filters; i++)
                if (s.filters[i].statuses != 1 ||
                    strcmp(s.filters[i].status, "WBEM_E_CALL_CANCELLED") != 0)
                        problem(&s, "%s: %u statuses, the last %s", s.filters[i].query,
                                s.filters[i].statuses, s.filters[i].status);
        if (lwmi_sink_call_count(sink) != 0)
                problem(&s, "%zu calls still open", lwmi_sink_call_count(sink));

        /* Nothing is delivered any more. */
        json_t *event = json_pack("{s:s, s:i, s:i, s:i, s:s}", "__CLASS", "App_Event", "Id", 3,
                                  "Serial", 9999, "Level", 7, "Name", "alpha");
        size_t delivered = 1;
        if (lwmi_publish_event(s.conn, NS, event, &delivered, &err) < 0)
                return die("PublishEvent", &err);
        json_decref(event);
        if (delivered != 0)
                problem(&s, "delivered to %zu after every call was cancelled", delivered);
        unsigned received = s.total_received;
        lwmi_run(s.conn, 200, NULL);
        if (s.total_received != received)
                problem(&s, "events after the cancel");

        if (before) {
                json_t *after = daemon_counts(s.conn);
                if (!after || !json_equal(before, after)) {
                        char *a = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);
                        char *b = after ? json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                        problem(&s, "LWMI_Daemon counts %s before, %s after", a ? a : "?",
                                b ? b : "(none)");
                        free(a);
                        free(b);
                }
                json_decref(after);
                json_decref(before);
        }
        lwmi_sink_free(sink);
        lwmi_close(s.conn);
        free(s.filters);
        if (s.errors) {
                fprintf(stderr, "many-filters: %d problem(s)\n", s.errors);
                return 1;
        }
        printf("ok: %zu calls on one sink, %u events, %u deliveries in %u Indicates\n", s.n_filters,
               N_EVENTS, total_expected, s.indicates);
        return 0;
}
