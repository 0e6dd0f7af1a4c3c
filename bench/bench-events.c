/* bench-events: asynchronous calls of a running lwmid, over its Unix
 * socket (issue 4's benchmarks b and c).
 *
 * Delivery (--events N): one consumer connection registers
 * `SELECT * FROM Bench_Event` (an __ExtrinsicEvent subclass with an Id and a
 * short Text) on one sink; another connection publishes N small events with
 * PublishEvent, pipelined (at most --window unanswered). The consumer reads
 * as fast as it can and counts the Indicates; seq must go up by one per
 * Indicate, and a gap must be one an EventsDropped reported (dropped events
 * are counted and reported, not lost silently). The figure is events
 * delivered per second, from the first publish sent to the last Indicate
 * read.
 *
 * Registrations (--registrations N, repeatable): N ExecNotificationQueryAsync
 * calls on one sink, each with a distinct equality filter
 * (`SELECT * FROM Bench_Event WHERE Id = <k>`), pipelined; then
 * CancelAsyncCall of the sink (N SetStatus notifications, then the
 * response); then N registrations again and the connection closed, timing
 * how long until LWMI_Daemon shows them released.
 *
 * Lines from lwmid are recognised by their prefix (its encoding is known:
 * compact JSON, members in a fixed order); only EventsDropped and anything
 * unexpected are parsed in full. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "mem.h"

#define NS "root/cimv2"

static const char result_prefix[] = "{\"jsonrpc\":\"2.0\",\"id\":";
static const char indicate_prefix[] = "{\"jsonrpc\":\"2.0\",\"method\":\"Indicate\",";
static const char status_prefix[] = "{\"jsonrpc\":\"2.0\",\"method\":\"SetStatus\",";
static const char dropped_prefix[] = "{\"jsonrpc\":\"2.0\",\"method\":\"EventsDropped\",";

static bool has_prefix(const char *line, size_t len, const char *prefix) {
        size_t n = strlen(prefix);
        return len >= n && memcmp(line, prefix, n) == 0;
}

static void queuef(Conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void queuef(Conn *c, const char *fmt, ...) {
        char text[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(text))
                conn_die("request too long");
        conn_queue(c, text, (size_t)n);
}

/* Answer a server request (a Ping) as a client must. */
static bool answer_server_request(Conn *c, const char *line, size_t len) {
        static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":\"s:";
        if (!has_prefix(line, len, ping))
                return false;
        const char *end = memchr(line + sizeof(ping) - 1, '"', len - (sizeof(ping) - 1));
        if (!end)
                conn_die("odd server request: %.200s", line);
        queuef(c, "{\"jsonrpc\":\"2.0\",\"id\":\"s:%.*s\",\"result\":{}}\n",
               (int)(end - (line + sizeof(ping) - 1)), line + sizeof(ping) - 1);
        return true;
}

/* A response line: true with its id when it is a result; dies on an
 * error answer. */
static bool response_id(const char *line, size_t len, uint64_t *ret_id) {
        const size_t plen = sizeof(result_prefix) - 1;
        if (!has_prefix(line, len, result_prefix) || line[plen] < '0' || line[plen] > '9')
                return false;
        uint64_t id = 0;
        size_t i = plen;
        while (i < len && line[i] >= '0' && line[i] <= '9')
                id = id * 10 + (uint64_t)(line[i++] - '0');
        if (len - i >= 10 && memcmp(line + i, ",\"result\":", 10) == 0) {
                *ret_id = id;
                return true;
        }
        conn_die("error answer: %.500s", line);
}

/* Wait until any of the connections can be read (or written, when it
 * has output), then read and write what they allow. */
static void wait_any(Conn **conns, size_t n) {
        struct pollfd p[4];
        for (size_t k = 0; k < n; k++) {
                p[k] = (struct pollfd){ .fd = conns[k]->fd, .events = POLLIN };
                if (conn_want_write(conns[k]))
                        p[k].events |= POLLOUT;
        }
        int r = poll(p, (nfds_t)n, BENCH_STALL_MS);
        if (r < 0 && errno != EINTR)
                conn_die("poll: %s", strerror(errno));
        if (r == 0)
                conn_die("no progress for %d ms", BENCH_STALL_MS);
        for (size_t k = 0; k < n; k++) {
                if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
                        conn_fill(conns[k]);
                if (p[k].revents & POLLOUT)
                        conn_flush(conns[k]);
        }
}

/* Send one request and wait for its result; notifications meanwhile are
 * skipped. Returns the result line's copy (mem_free). */
static char *call(Conn *c, uint64_t id, const char *method, const char *params) {
        queuef(c, "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":\"%s\",\"params\":%s}\n", id,
               method, params);
        conn_flush(c);
        for (;;) {
                char *l;
                size_t len;
                while (conn_next_line(c, &l, &len)) {
                        uint64_t got;
                        if (answer_server_request(c, l, len))
                                continue;
                        if (response_id(l, len, &got) && got == id) {
                                char *copy = mem_strndup(l, len);
                                if (!copy)
                                        conn_die("out of memory");
                                return copy;
                        }
                }
                conn_wait(c);
        }
}

static uint64_t next_id = 1;

static void put_event_class(Conn *c) {
        mem_free(call(c, next_id++, "PutClass",
                      "{\"namespace\":\"" NS "\",\"class\":{\"__CLASS\":\"Bench_Event\","
                      "\"__SUPERCLASS\":\"__ExtrinsicEvent\",\"properties\":{"
                      "\"Id\":{\"type\":\"uint32\"},\"Text\":{\"type\":\"string\"}}}}"));
}

/* The value of "name": in a compact JSON line (an integer), or dies. */
static uint64_t line_number(const char *line, size_t len, const char *name) {
        char key[64];
        snprintf(key, sizeof(key), "\"%s\":", name);
        size_t klen = strlen(key);
        for (size_t i = 0; i + klen < len; i++)
                if (memcmp(line + i, key, klen) == 0)
                        return strtoull(line + i + klen, NULL, 10);
        conn_die("no %s in %.200s", name, line);
}

/* ---- b: events delivered end to end ------------------------------------------ */

static void run_events(const char *path, uint64_t n, unsigned window) {
        Conn pub, con;
        conn_connect(&pub, path);
        conn_connect(&con, path);
        put_event_class(&pub);
        mem_free(call(&con, next_id++, "ExecNotificationQueryAsync",
                      "{\"namespace\":\"" NS "\",\"query\":\"SELECT * FROM Bench_Event\","
                      "\"sink\":\"bench\"}"));

        uint64_t sent = 0, answered = 0, indicated = 0, dropped = 0, reports = 0, next_seq = 1;
        uint64_t first_id = next_id, bytes_before = con.bytes_in;
        uint64_t start = conn_now_nsec();
        Conn *both[2] = { &pub, &con };
        while (indicated + dropped < n || answered < n) {
                while (sent < n && sent - answered < window) {
                        queuef(&pub,
                               "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64
                               ",\"method\":\"PublishEvent\",\"params\":{\"namespace\":\"" NS
                               "\",\"event\":{\"__CLASS\":\"Bench_Event\",\"Id\":%" PRIu64
                               ",\"Text\":\"small\"}}}\n",
                               first_id + sent, sent);
                        sent++;
                }
                conn_flush(&pub);
                bool progress = false;
                char *l;
                size_t len;
                while (conn_next_line(&pub, &l, &len)) {
                        uint64_t id;
                        progress = true;
                        if (answer_server_request(&pub, l, len))
                                continue;
                        if (!response_id(l, len, &id) || id != first_id + answered)
                                conn_die("publisher: unexpected line %.200s", l);
                        answered++;
                }
                while (conn_next_line(&con, &l, &len)) {
                        progress = true;
                        if (has_prefix(l, len, indicate_prefix)) {
                                uint64_t seq = line_number(l, len, "seq");
                                if (seq != next_seq)
                                        conn_die("seq %" PRIu64 " where %" PRIu64
                                                 " was due, with no EventsDropped",
                                                 seq, next_seq);
                                next_seq++;
                                indicated++;
                        } else if (has_prefix(l, len, dropped_prefix)) {
                                uint64_t first = line_number(l, len, "first_seq");
                                uint64_t count = line_number(l, len, "count");
                                if (first != next_seq)
                                        conn_die("EventsDropped from %" PRIu64 " where %" PRIu64
                                                 " was due",
                                                 first, next_seq);
                                next_seq += count;
                                dropped += count;
                                reports++;
                        } else if (!answer_server_request(&con, l, len)) {
                                conn_die("consumer: unexpected line %.200s", l);
                        }
                }
                if (!progress)
                        wait_any(both, 2);
        }
        double secs = (double)(conn_now_nsec() - start) / 1e9;
        double mib = (double)(con.bytes_in - bytes_before) / (1024.0 * 1024.0);
        printf("events: %" PRIu64 " published (window %u), %" PRIu64 " delivered, %" PRIu64
               " dropped (%" PRIu64 " EventsDropped) in %.3f s: %.0f events/s delivered, "
               "%.1f MiB/s, %.0f bytes per Indicate\n",
               n, window, indicated, dropped, reports, secs, (double)indicated / secs, mib / secs,
               indicated ? (double)(con.bytes_in - bytes_before) / (double)indicated : 0.0);
        conn_close(&pub);
        conn_close(&con);
}

/* ---- c: registrations per second on one sink ------------------------------------ */

/* n registrations on sink "reg", pipelined; returns seconds. */
static double register_many(Conn *c, uint64_t n, unsigned window) {
        uint64_t sent = 0, answered = 0, first_id = next_id;
        uint64_t start = conn_now_nsec();
        while (answered < n) {
                while (sent < n && sent - answered < window) {
                        queuef(c,
                               "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64
                               ",\"method\":\"ExecNotificationQueryAsync\",\"params\":{"
                               "\"namespace\":\"" NS "\",\"query\":\"SELECT * FROM Bench_Event "
                               "WHERE Id = %" PRIu64 "\",\"sink\":\"reg\"}}\n",
                               first_id + sent, sent);
                        sent++;
                }
                conn_flush(c);
                bool progress = false;
                char *l;
                size_t len;
                while (conn_next_line(c, &l, &len)) {
                        uint64_t id;
                        progress = true;
                        if (answer_server_request(c, l, len))
                                continue;
                        if (!response_id(l, len, &id) || id != first_id + answered)
                                conn_die("registering: unexpected line %.200s", l);
                        answered++;
                }
                if (!progress)
                        conn_wait(c);
        }
        next_id += n;
        return (double)(conn_now_nsec() - start) / 1e9;
}

/* The daemon's Registrations count. */
static uint64_t daemon_registrations(Conn *c) {
        char *line = call(c, next_id++, "GetObject",
                          "{\"namespace\":\"root/lwmi\",\"path\":\"LWMI_Daemon=@\"}");
        uint64_t n = line_number(line, strlen(line), "Registrations");
        mem_free(line);
        return n;
}

static void run_registrations(const char *path, uint64_t n, unsigned window) {
        Conn c, watcher;
        conn_connect(&c, path);
        conn_connect(&watcher, path);
        put_event_class(&c);
        uint64_t before = daemon_registrations(&watcher);

        double secs = register_many(&c, n, window);
        if (daemon_registrations(&watcher) != before + n)
                conn_die("LWMI_Daemon does not show the %" PRIu64 " registrations", n);
        printf("registrations: %" PRIu64 " on one sink (window %u): %.3f s, %.0f/s\n", n, window,
               secs, (double)n / secs);

        /* CancelAsyncCall of the sink: n SetStatus, then the response */
        uint64_t cancel_id = next_id++, statuses = 0;
        queuef(&c,
               "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64
               ",\"method\":\"CancelAsyncCall\",\"params\":{\"sink\":\"reg\"}}\n",
               cancel_id);
        uint64_t start = conn_now_nsec();
        conn_flush(&c);
        for (bool done = false; !done;) {
                char *l;
                size_t len;
                while (!done && conn_next_line(&c, &l, &len)) {
                        uint64_t id;
                        if (has_prefix(l, len, status_prefix))
                                statuses++;
                        else if (response_id(l, len, &id) && id == cancel_id) {
                                if (line_number(l, len, "cancelled") != n)
                                        conn_die("cancelled: %.200s", l);
                                done = true;
                        } else if (!answer_server_request(&c, l, len))
                                conn_die("cancelling: unexpected line %.200s", l);
                }
                if (!done)
                        conn_wait(&c);
        }
        secs = (double)(conn_now_nsec() - start) / 1e9;
        if (statuses != n)
                conn_die("%" PRIu64 " SetStatus for %" PRIu64 " calls", statuses, n);
        printf("registrations: CancelAsyncCall of the sink with %" PRIu64
               " calls, SetStatus each: %.3f s, %.0f calls/s\n",
               n, secs, (double)n / secs);

        /* again, then the connection goes: released in one pass */
        register_many(&c, n, window);
        start = conn_now_nsec();
        conn_close(&c);
        while (daemon_registrations(&watcher) != before)
                if (conn_now_nsec() - start > (uint64_t)BENCH_STALL_MS * 1000000u)
                        conn_die("registrations not released after the disconnect");
        secs = (double)(conn_now_nsec() - start) / 1e9;
        printf("registrations: %" PRIu64 " released by a disconnect, seen by another "
               "connection after %.3f s\n",
               n, secs);
        conn_close(&watcher);
}

static void usage(FILE *f) {
        fprintf(f, "Usage: bench-events --socket PATH [OPTION...]\n"
                   "Measure lwmid's asynchronous calls: events delivered end to end to one\n"
                   "consumer, and registrations per second on one sink.\n"
                   "\n"
                   "  --socket PATH        lwmid's socket (required)\n"
                   "  --events N           publish N small events to one consumer (0: skip;\n"
                   "                       default 200000)\n"
                   "  --registrations N    register N distinct equality filters on one sink,\n"
                   "                       pipelined, then cancel them (repeatable; default\n"
                   "                       10000 and 100000)\n"
                   "  --window N           most requests unanswered at a time (default 1000)\n"
                   "  -h, --help           this help\n");
}

static uint64_t parse_count(const char *text, const char *option) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || *end || text[0] == '\0' || text[0] == '-')
                conn_die("%s: '%s' is not a count", option, text);
        return v;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "events", required_argument, NULL, 'e' },
                { "registrations", required_argument, NULL, 'r' },
                { "window", required_argument, NULL, 'w' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        const char *socket_path = NULL;
        uint64_t events = 200000, window = 1000, regs[8];
        size_t n_regs = 0;
        int opt;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (opt) {
                case 's':
                        socket_path = optarg;
                        break;
                case 'e':
                        events = parse_count(optarg, "--events");
                        break;
                case 'r':
                        if (n_regs == sizeof(regs) / sizeof(regs[0]))
                                conn_die("--registrations: at most 8 times");
                        regs[n_regs++] = parse_count(optarg, "--registrations");
                        break;
                case 'w':
                        window = parse_count(optarg, "--window");
                        if (window == 0 || window > 1000000)
                                conn_die("--window: from 1 to 1000000");
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (!socket_path || optind < argc) {
                usage(stderr);
                return 2;
        }
        if (n_regs == 0) {
                regs[n_regs++] = 10000;
                regs[n_regs++] = 100000;
        }
        if (events > 0)
                run_events(socket_path, events, (unsigned)window);
        for (size_t k = 0; k < n_regs; k++)
                if (regs[k] > 0)
                        run_registrations(socket_path, regs[k], (unsigned)window);
        fflush(stdout);
        return 0;
}
