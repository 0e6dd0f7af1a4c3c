/* The client side of the fault tests (tests/e2e/test_liveness.py): real
 * processes, built on liblwmi, that the tests kill, stop and slow down
 * while lwmid serves them. One program, three roles:
 *
 *   fault-client consume  [--socket PATH] [--keepalive-ms N] [--equality N]
 *                         [--all] [--read-rate R]
 *       Connects (Hello with the keepalive asked for, if any), registers on
 *       ONE sink N equality filters on the extrinsic class Fault_Event
 *       ("... WHERE Id = 0" .. "Id = N-1") and, with --all, one filter that
 *       takes every Fault_Event; prints "ready session=S keepalive=K
 *       calls=C ms=T" and dispatches for ever. Each Indicate prints
 *       "I <seq> <call> <Serial>[,<Serial>...]", each EventsDropped
 *       "D <first_seq> <last_seq> <count>", each status "S <call> <status>
 *       <message>". With --read-rate R it takes 1/R s over each event it
 *       receives (a slow consumer, as the application's callback would be).
 *       Exits 3 with "lost <message>" when the connection is lost.
 *
 *   fault-client publish  [--socket PATH] --rate R [--count N]
 *                         [--payload BYTES] [--id N] [--ids K]
 *                         [--keepalive-ms N]
 *       Publishes Fault_Event {Id, Serial = 0, 1, ..., Payload} with
 *       PublishEvent at R per second (absolute deadlines, so the rate holds
 *       on average) until N are published (0: no limit) or standard input
 *       becomes readable (a line, or EOF); then prints "published N
 *       delivered D" and exits 0. Id is N, or with --ids K goes round
 *       N, N+1, ..., N+K-1 (one event for each of a consumer's equality
 *       filters in turn).
 *
 *   fault-client sessions [--socket PATH] --count N [--register]
 *                         [--keepalive-ms N]
 *       Raises its RLIMIT_NOFILE, opens N connections (each with one sink
 *       and one registration "... WHERE Id = i" with --register), printing
 *       "session S" for each, then "ready N"; it does not dispatch (ask for
 *       a keepalive longer than the test, or lwmid will rightly find these
 *       sessions hung). When standard input becomes readable exits at once
 *       without closing anything: the kernel drops every connection
 *       together, as when a client with many sessions dies.
 *
 * The class Fault_Event (Id uint32, Serial uint32, Payload string, derived
 * from __ExtrinsicEvent) is defined in root/cimv2 by the test. Standard
 * output is line-buffered; errors go to standard error with exit status 1
 * (2 for usage). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <lwmi/lwmi.h>

#define NS "root/cimv2"
#define CLASS "Fault_Event"

typedef struct Options {
        const char *socket;
        unsigned keepalive_ms;
        unsigned long equality;
        bool all;
        double read_rate;
        double rate;
        unsigned long count;
        unsigned long payload;
        unsigned long id;
        unsigned long ids; /* 0 or 1: every event has Id id */
        bool reg;
} Options;

static int fail(const char *what, const lwmi_error *err) {
        fprintf(stderr, "fault-client: %s: %s (%s)\n", what, err->message, err->status);
        return 1;
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
        if (s <= 0)
                return;
        struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* ---- consume ---------------------------------------------------------- */

typedef struct Consumer {
        double read_rate;
} Consumer;

static void on_indicate(lwmi_sink *sink, uint64_t call, uint64_t seq, json_t *objects,
                        void *userdata) {
        (void)sink;
        Consumer *c = userdata;
        size_t i;
        json_t *event;
        printf("I %" PRIu64 " %" PRIu64 " ", seq, call);
        json_array_foreach(objects, i, event) {
                json_t *serial = json_object_get(event, "Serial");
                printf("%s%" JSON_INTEGER_FORMAT, i ? "," : "",
                       json_is_integer(serial) ? json_integer_value(serial) : (json_int_t)-1);
        }
        putchar('\n');
        if (c->read_rate > 0)
                sleep_s((double)json_array_size(objects) / c->read_rate);
}

static void on_status(lwmi_sink *sink, uint64_t call, const char *status, const char *message,
                      void *userdata) {
        (void)sink;
        (void)userdata;
        printf("S %" PRIu64 " %s %s\n", call, status, message);
}

static void on_dropped(lwmi_sink *sink, uint64_t first, uint64_t last, uint64_t count,
                       void *userdata) {
        (void)sink;
        (void)userdata;
        printf("D %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", first, last, count);
}

static int consume(const Options *o) {
        lwmi_error err = LWMI_ERROR_INIT;
        lwmi_conn *conn = NULL;
        Consumer c = { .read_rate = o->read_rate };
        double t0 = now_s();

        if (lwmi_connect_ex(o->socket, "fault-consumer", o->keepalive_ms, 60000, &conn, &err) < 0)
                return fail("connect", &err);
        static const lwmi_sink_ops ops = { on_indicate, on_status, on_dropped };
        lwmi_sink *sink = lwmi_sink_new(conn, &ops, &c);
        if (!sink) {
                fprintf(stderr, "fault-client: out of memory\n");
                return 1;
        }
        for (unsigned long i = 0; i < o->equality; i++) {
                char wql[96];
                snprintf(wql, sizeof(wql), "SELECT * FROM " CLASS " WHERE Id = %lu", i);
                if (lwmi_exec_notification_query_async(conn, sink, NS, wql, NULL, &err) < 0)
                        return fail(wql, &err);
        }
        if (o->all &&
            lwmi_exec_notification_query_async(conn, sink, NS, "SELECT * FROM " CLASS, NULL, &err) < 0)
                return fail("SELECT * FROM " CLASS, &err);
        printf("ready session=%s keepalive=%u calls=%zu ms=%.1f\n",
               lwmi_session_id(conn) ? lwmi_session_id(conn) : "?", lwmi_keepalive_ms(conn),
               lwmi_sink_call_count(sink), (now_s() - t0) * 1000);

        int r;
        do
                r = lwmi_run(conn, -1, &err);
        while (r >= 0 || r == -EINTR);
        printf("lost %s\n", err.message);
        lwmi_sink_free(sink);
        lwmi_close(conn);
        return 3;
}

/* ---- publish ---------------------------------------------------------- */

/* Wait until `deadline` (monotonic seconds); true when standard input
 * became readable meanwhile (the order to stop). */
static bool wait_or_stop(double deadline) {
        struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
        for (;;) {
                double left = deadline - now_s();
                if (left < 0)
                        left = 0;
                struct timespec ts = { .tv_sec = (time_t)left,
                                       .tv_nsec = (long)((left - (double)(time_t)left) * 1e9) };
                int n = ppoll(&pfd, 1, &ts, NULL);
                if (n > 0)
                        return true;
                if (n == 0 || errno != EINTR)
                        return false;
        }
}

static int publish(const Options *o) {
        lwmi_error err = LWMI_ERROR_INIT;
        lwmi_conn *conn = NULL;

        if (o->rate <= 0) {
                fprintf(stderr, "fault-client: publish needs --rate\n");
                return 2;
        }
        if (lwmi_connect_ex(o->socket, "fault-publisher", o->keepalive_ms, 60000, &conn, &err) < 0)
                return fail("connect", &err);
        char *payload = malloc(o->payload + 1);
        json_t *event = json_object();
        if (!payload || !event) {
                fprintf(stderr, "fault-client: out of memory\n");
                return 1;
        }
        memset(payload, 'x', o->payload);
        payload[o->payload] = '\0';
        if (json_object_set_new(event, "__CLASS", json_string(CLASS)) < 0 ||
            json_object_set_new(event, "Id", json_integer((json_int_t)o->id)) < 0 ||
            json_object_set_new(event, "Payload", json_string(payload)) < 0) {
                fprintf(stderr, "fault-client: out of memory\n");
                return 1;
        }
        free(payload);
        printf("ready\n");

        unsigned long n = 0;
        uint64_t delivered_total = 0;
        double start = now_s();
        int status = 0;
        while (o->count == 0 || n < o->count) {
                if (wait_or_stop(start + (double)n / o->rate))
                        break;
                size_t delivered = 0;
                unsigned long id = o->id + (o->ids > 1 ? n % o->ids : 0);
                if (json_object_set_new(event, "Serial", json_integer((json_int_t)n)) < 0 ||
                    json_object_set_new(event, "Id", json_integer((json_int_t)id)) < 0) {
                        fprintf(stderr, "fault-client: out of memory\n");
                        status = 1;
                        break;
                }
                if (lwmi_publish_event(conn, NS, event, &delivered, &err) < 0) {
                        status = fail("PublishEvent", &err);
                        break;
                }
                delivered_total += delivered;
                n++;
        }
        printf("published %lu delivered %" PRIu64 "\n", n, delivered_total);
        json_decref(event);
        lwmi_close(conn);
        return status;
}

/* ---- sessions --------------------------------------------------------- */

static int sessions(const Options *o) {
        lwmi_error err = LWMI_ERROR_INIT;
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
        /* Never freed: the point is to leave it all to the kernel. */
        for (unsigned long i = 0; i < o->count; i++) {
                lwmi_conn *conn = NULL;
                if (lwmi_connect_ex(o->socket, "fault-sessions", o->keepalive_ms, 60000, &conn,
                                    &err) < 0)
                        return fail("connect", &err);
                printf("session %s\n", lwmi_session_id(conn) ? lwmi_session_id(conn) : "?");
                if (!o->reg)
                        continue;
                static const lwmi_sink_ops ops = { NULL, NULL, NULL };
                lwmi_sink *sink = lwmi_sink_new(conn, &ops, NULL);
                char wql[96];
                snprintf(wql, sizeof(wql), "SELECT * FROM " CLASS " WHERE Id = %lu", i);
                if (!sink || lwmi_exec_notification_query_async(conn, sink, NS, wql, NULL, &err) < 0)
                        return fail(wql, &err);
        }
        printf("ready %lu\n", o->count);
        struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
        while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
                ;
        _exit(0); /* no atexit: nothing closed by hand, no leak report */
}

/* ---- main ------------------------------------------------------------- */

static bool number(const char *s, double *ret) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || v < 0)
                return false;
        *ret = v;
        return true;
}

static int usage(void) {
        fprintf(stderr, "usage: fault-client consume|publish|sessions [options] "
                        "(see tests/e2e/fault-client.c)\n");
        return 2;
}

int main(int argc, char **argv) {
        Options o = { .payload = 16 };

        if (argc < 2)
                return usage();
        setvbuf(stdout, NULL, _IOLBF, 0);
        signal(SIGPIPE, SIG_IGN);
        for (int i = 2; i < argc; i++) {
                const char *a = argv[i];
                double v = 0;
                if (strcmp(a, "--all") == 0) {
                        o.all = true;
                        continue;
                }
                if (strcmp(a, "--register") == 0) {
                        o.reg = true;
                        continue;
                }
                if (i + 1 >= argc)
                        return usage();
                const char *arg = argv[++i];
                if (strcmp(a, "--socket") == 0) {
                        o.socket = arg;
                        continue;
                }
                if (!number(arg, &v))
                        return usage();
                if (strcmp(a, "--keepalive-ms") == 0)
                        o.keepalive_ms = (unsigned)v;
                else if (strcmp(a, "--equality") == 0)
                        o.equality = (unsigned long)v;
                else if (strcmp(a, "--read-rate") == 0)
                        o.read_rate = v;
                else if (strcmp(a, "--rate") == 0)
                        o.rate = v;
                else if (strcmp(a, "--count") == 0)
                        o.count = (unsigned long)v;
                else if (strcmp(a, "--payload") == 0)
                        o.payload = (unsigned long)v;
                else if (strcmp(a, "--id") == 0)
                        o.id = (unsigned long)v;
                else if (strcmp(a, "--ids") == 0)
                        o.ids = (unsigned long)v;
                else
                        return usage();
        }
        if (strcmp(argv[1], "consume") == 0)
                return consume(&o);
        if (strcmp(argv[1], "publish") == 0)
                return publish(&o);
        if (strcmp(argv[1], "sessions") == 0)
                return sessions(&o);
        return usage();
}
