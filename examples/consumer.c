/* A small event consumer built on liblwmi: connect to lwmid, register one
 * event query on a sink, and print each event as it comes, one line of
 * JSON per event, until interrupted or, with -c, after COUNT events.
 *
 *     consumer [-n NAMESPACE] [-c COUNT] [QUERY]
 *
 * The default query reports processes as they start (WITHIN 1: lwmid
 * polls the process list every second). The socket is $LWMI_SOCKET, else
 * lwmid's default. Build it against the installed library with
 *
 *     cc consumer.c $(pkg-config --cflags --libs liblwmi) -o consumer
 *
 * This is the whole pattern of an asynchronous consumer: a sink with
 * callbacks, a registration, and lwmi_run() (or lwmi_fd() and
 * lwmi_dispatch() in a loop of one's own). The callbacks run only inside
 * lwmi_run(), which also answers the server's keepalive Pings: if this
 * program hung, lwmid would see it hung and release its registrations. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lwmi/lwmi.h>

#define DEFAULT_QUERY \
        "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Linux_Process'"

typedef struct Consumer {
        lwmi_conn *conn;
        unsigned long count; /* stop after this many events; 0: never */
        unsigned long seen;
        int status; /* exit status once the call has ended */
        bool ended;
} Consumer;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
        (void)sig;
        interrupted = 1;
}

/* Results: an array of one or more events (the server may batch). */
static void on_indicate(lwmi_sink *sink, uint64_t call_id, uint64_t seq, json_t *objects,
                        void *userdata) {
        (void)sink;
        (void)call_id;
        (void)seq;
        Consumer *c = userdata;
        size_t i;
        json_t *event;
        json_array_foreach(objects, i, event) {
                json_dumpf(event, stdout, JSON_COMPACT);
                putchar('\n');
                if (c->count && ++c->seen >= c->count) {
                        lwmi_stop(c->conn); /* lwmi_run() returns 1 */
                        break;
                }
        }
        fflush(stdout);
}

/* The end of the call: cancelled, refused later by the server, or the
 * connection lost (WBEM_E_TRANSPORT_FAILURE, reported by the library). */
static void on_status(lwmi_sink *sink, uint64_t call_id, const char *status, const char *message,
                      void *userdata) {
        (void)sink;
        Consumer *c = userdata;
        fprintf(stderr, "consumer: call %" PRIu64 " ended: %s%s%s\n", call_id, status,
                *message ? ": " : "", message);
        c->ended = true;
        c->status = strcmp(status, "WBEM_S_NO_ERROR") == 0 ? 0 : 1;
        lwmi_stop(c->conn);
}

static void on_dropped(lwmi_sink *sink, uint64_t first_seq, uint64_t last_seq, uint64_t count,
                       void *userdata) {
        (void)sink;
        (void)userdata;
        fprintf(stderr, "consumer: %" PRIu64 " event messages dropped (%" PRIu64 "..%" PRIu64 ")\n",
                count, first_seq, last_seq);
}

int main(int argc, char **argv) {
        const char *ns = "root/cimv2";
        Consumer c = { 0 };
        int opt;
        while ((opt = getopt(argc, argv, "n:c:h")) != -1) {
                switch (opt) {
                case 'n':
                        ns = optarg;
                        break;
                case 'c':
                        c.count = strtoul(optarg, NULL, 10);
                        break;
                default:
                        fprintf(stderr, "usage: %s [-n NAMESPACE] [-c COUNT] [QUERY]\n", argv[0]);
                        return opt == 'h' ? 0 : 2;
                }
        }
        const char *query = optind < argc ? argv[optind] : DEFAULT_QUERY;

        /* No SA_RESTART: a signal interrupts lwmi_run(), which returns
         * -EINTR, and the loop below looks at the flag. */
        struct sigaction sa = { .sa_handler = on_signal };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);

        lwmi_error err = LWMI_ERROR_INIT;
        if (lwmi_connect(NULL, &c.conn, &err) < 0) {
                fprintf(stderr, "consumer: %s\n", err.message);
                return 3;
        }
        static const lwmi_sink_ops ops = {
                .indicate = on_indicate,
                .set_status = on_status,
                .events_dropped = on_dropped,
        };
        lwmi_sink *sink = lwmi_sink_new(c.conn, &ops, &c);
        uint64_t call;
        if (!sink || lwmi_exec_notification_query_async(c.conn, sink, ns, query, &call, &err) < 0) {
                fprintf(stderr, "consumer: %s (%s)\n", sink ? err.message : "out of memory",
                        err.status);
                lwmi_sink_free(sink);
                lwmi_close(c.conn);
                return 1;
        }
        fprintf(stderr, "consumer: call %" PRIu64 " registered\n", call);

        int status = 0;
        while (!interrupted) {
                /* Up to a second at a time, so a signal that came just
                 * before the wait is seen soon. */
                int r = lwmi_run(c.conn, 1000, &err);
                if (r == 1) { /* lwmi_stop(): enough events, or the call ended */
                        status = c.ended ? c.status : 0;
                        break;
                }
                if (r < 0 && r != -EINTR) {
                        fprintf(stderr, "consumer: %s\n", err.message);
                        status = 1;
                        break;
                }
        }
        if (!c.ended && !lwmi_is_broken(c.conn))
                lwmi_cancel_call(c.conn, call, NULL);
        lwmi_sink_free(sink);
        lwmi_close(c.conn);
        return status;
}
