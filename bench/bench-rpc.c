/* bench-rpc: requests per second and round-trip latency of one JSON-RPC
 * method against a running lwmid, over its Unix socket.
 *
 * Two measurements, both on one connection:
 *  - throughput: --requests requests pipelined, at most --window of them
 *    unanswered at any time (the client writes while it reads, as
 *    docs/protocol.md asks, so the server's back-pressure never stalls it);
 *  - latency: --latency requests one at a time (send, wait for the answer),
 *    reported as p50, p99 and max.
 *
 * Every answer is checked: it must be a result (not an error) for the id
 * sent, in order. The server's encoding is known (compact JSON, members in
 * the order jsonrpc, id, result), so a response is recognised by its
 * prefix without parsing the rest: parsing a multi-megabyte ExecQuery
 * result on the client would measure the client, not the server. The first
 * answer of the throughput run is parsed in full and summarised (the size
 * of its "objects" or "classes" array). Anything unexpected (a server Ping
 * request, an odd layout) falls back to a full parse.
 *
 * --prepare FILE sends FILE's request lines first (pipelined) and fails if
 * any answer is an error: how run-bench.sh fills a class with instances. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "mem.h"
#include "strbuf.h"

/* No progress for this long fails the benchmark (a hung daemon). */
#define BENCH_STALL_MS 60000

typedef struct Conn {
        int fd;
        char *in; /* received bytes [in_start, in_len) not yet consumed */
        size_t in_start, in_len, in_cap;
        size_t scanned; /* bytes after in_start known to hold no '\n' */
        StrBuf out;     /* bytes to send from out_off */
        size_t out_off;
        uint64_t bytes_in;
} Conn;

typedef enum LineKind {
        LINE_RESULT,
        LINE_ERROR,
        LINE_OTHER, /* a server request (answered) or notification */
} LineKind;

static uint64_t now_nsec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
        va_list ap;
        fputs("bench-rpc: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

static void conn_connect(Conn *c, const char *path) {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof(addr.sun_path))
                die("socket path too long: %s", path);
        strcpy(addr.sun_path, path);
        *c = (Conn){ .fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) };
        if (c->fd < 0)
                die("socket: %s", strerror(errno));
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                die("cannot connect to %s: %s", path, strerror(errno));
}

static void conn_close(Conn *c) {
        close(c->fd);
        mem_free(c->in);
        strbuf_done(&c->out);
}

static void conn_queue(Conn *c, const char *text, size_t len) {
        strbuf_append_len(&c->out, text, len);
        if (strbuf_failed(&c->out))
                die("out of memory");
}

static bool conn_want_write(const Conn *c) {
        return c->out_off < c->out.len;
}

/* Write what the socket takes now. */
static void conn_flush(Conn *c) {
        while (conn_want_write(c)) {
                ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                                 MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        die("send: %s", strerror(errno));
                }
                c->out_off += (size_t)n;
        }
        strbuf_truncate(&c->out, 0);
        c->out_off = 0;
}

/* Read what is there now. */
static void conn_fill(Conn *c) {
        for (;;) {
                if (c->in_start > 0 && c->in_start >= c->in_len / 2) {
                        memmove(c->in, c->in + c->in_start, c->in_len - c->in_start);
                        c->in_len -= c->in_start;
                        c->in_start = 0;
                }
                if (c->in_cap - c->in_len < 65536) {
                        size_t cap = c->in_cap ? c->in_cap * 2 : 1u << 20;
                        char *p = mem_realloc(c->in, cap);
                        if (!p)
                                die("out of memory");
                        c->in = p;
                        c->in_cap = cap;
                }
                ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        die("recv: %s", strerror(errno));
                }
                if (n == 0)
                        die("lwmid closed the connection");
                c->in_len += (size_t)n;
                c->bytes_in += (uint64_t)n;
        }
}

/* The next complete line (without '\n'), consumed; false if none yet. */
static bool conn_next_line(Conn *c, char **ret, size_t *ret_len) {
        if (!c->in)
                return false;
        char *start = c->in + c->in_start;
        size_t have = c->in_len - c->in_start;
        char *eol = memchr(start + c->scanned, '\n', have - c->scanned);

        if (!eol) {
                c->scanned = have;
                return false;
        }
        *ret = start;
        *ret_len = (size_t)(eol - start);
        c->in_start += *ret_len + 1;
        c->scanned = 0;
        return true;
}

/* Wait for the socket, then read and write what it allows. */
static void conn_wait(Conn *c) {
        struct pollfd p = { .fd = c->fd, .events = POLLIN };

        if (conn_want_write(c))
                p.events |= POLLOUT;
        int r = poll(&p, 1, BENCH_STALL_MS);
        if (r < 0 && errno != EINTR)
                die("poll: %s", strerror(errno));
        if (r == 0)
                die("no progress for %d ms", BENCH_STALL_MS);
        if (p.revents & (POLLIN | POLLHUP | POLLERR))
                conn_fill(c);
        if (p.revents & POLLOUT)
                conn_flush(c);
}

/* The full parse: for lines the prefix check does not cover. */
static LineKind line_parse(Conn *c, const char *line, size_t len, json_int_t *ret_id,
                           json_t **ret_root) {
        json_error_t jerr;
        json_t *root = json_loadb(line, len, 0, &jerr);

        if (!root)
                die("unparsable line from lwmid: %s: %.200s", jerr.text, line);
        json_t *id = json_object_get(root, "id");
        json_t *method = json_object_get(root, "method");
        if (method) {
                /* A server request: answer its Ping as a client must. */
                if (json_is_string(id)) {
                        char *reply =
                                mem_printf("{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{}}\n",
                                           json_string_value(id));
                        if (!reply)
                                die("out of memory");
                        conn_queue(c, reply, strlen(reply));
                        mem_free(reply);
                }
                json_decref(root);
                return LINE_OTHER;
        }
        if (!json_is_integer(id))
                die("answer without an integer id: %.300s", line);
        *ret_id = json_integer_value(id);
        LineKind kind = json_object_get(root, "error") ? LINE_ERROR : LINE_RESULT;
        if (ret_root)
                *ret_root = root;
        else
                json_decref(root);
        return kind;
}

/* Classify one line: fast path on the server's own layout. */
static LineKind line_classify(Conn *c, const char *line, size_t len, json_int_t *ret_id) {
        static const char prefix[] = "{\"jsonrpc\":\"2.0\",\"id\":";
        const size_t plen = sizeof(prefix) - 1;

        if (len > plen + 12 && memcmp(line, prefix, plen) == 0 && line[plen] >= '0' &&
            line[plen] <= '9') {
                json_int_t id = 0;
                size_t i = plen;
                while (i < len && line[i] >= '0' && line[i] <= '9' && i < plen + 18)
                        id = id * 10 + (line[i++] - '0');
                if (len - i >= 10 && memcmp(line + i, ",\"result\":", 10) == 0) {
                        *ret_id = id;
                        return LINE_RESULT;
                }
        }
        return line_parse(c, line, len, ret_id, NULL);
}

static void print_error_and_die(const char *what, const char *line, size_t len) {
        die("%s: error answer: %.*s", what, (int)(len > 500 ? 500 : len), line);
}

/* Describe a result: the size of its "objects" or "classes" array. */
static void describe_first(json_t *root, const char *label) {
        json_t *result = json_object_get(root, "result");
        json_t *objects = json_object_get(result, "objects");
        json_t *classes = json_object_get(result, "classes");

        if (json_is_array(objects))
                printf("%s: each answer holds %zu objects\n", label, json_array_size(objects));
        else if (json_is_array(classes))
                printf("%s: each answer holds %zu classes\n", label, json_array_size(classes));
}

static char *request_text(json_int_t id, const char *method, const char *params, size_t *len) {
        char *t;

        if (params)
                t = mem_printf("{\"jsonrpc\":\"2.0\",\"id\":%" JSON_INTEGER_FORMAT
                               ",\"method\":\"%s\",\"params\":%s}\n",
                               id, method, params);
        else
                t = mem_printf("{\"jsonrpc\":\"2.0\",\"id\":%" JSON_INTEGER_FORMAT
                               ",\"method\":\"%s\"}\n",
                               id, method);
        if (!t)
                die("out of memory");
        *len = strlen(t);
        return t;
}

/* Send every request line of path, at most window unanswered; fail on an
 * error answer. */
static void run_prepare(Conn *c, const char *path, unsigned window) {
        FILE *f = fopen(path, "re");
        char *line = NULL;
        size_t cap = 0, n_sent = 0, n_answered = 0;
        ssize_t len;
        bool eof = false;

        if (!f)
                die("cannot open %s: %s", path, strerror(errno));
        while (!eof || n_answered < n_sent) {
                while (!eof && n_sent - n_answered < window) {
                        len = getline(&line, &cap, f);
                        if (len < 0) {
                                eof = true;
                                break;
                        }
                        if (len <= 1)
                                continue;
                        conn_queue(c, line, (size_t)len);
                        if (line[len - 1] != '\n')
                                conn_queue(c, "\n", 1);
                        n_sent++;
                }
                conn_flush(c);
                char *l;
                size_t ll;
                bool progress = false;
                while (conn_next_line(c, &l, &ll)) {
                        json_int_t id;
                        LineKind k = line_parse(c, l, ll, &id, NULL);
                        if (k == LINE_ERROR)
                                print_error_and_die(path, l, ll);
                        if (k == LINE_RESULT)
                                n_answered++;
                        progress = true;
                }
                /* Answers make room in the window: send before waiting. */
                if (!progress && (!eof || n_answered < n_sent))
                        conn_wait(c);
        }
        free(line); /* getline's */
        fclose(f);
        printf("prepare: %zu requests from %s answered\n", n_sent, path);
}

static void run_throughput(Conn *c, const char *label, const char *method, const char *params,
                           uint64_t n, unsigned window, json_int_t first_id) {
        uint64_t sent = 0, answered = 0, bytes_before = c->bytes_in;
        uint64_t start = now_nsec();

        while (answered < n) {
                while (sent < n && sent - answered < window) {
                        size_t len;
                        _cleanup_free_ char *t =
                                request_text(first_id + (json_int_t)sent, method, params, &len);
                        conn_queue(c, t, len);
                        sent++;
                }
                conn_flush(c);
                char *l;
                size_t ll;
                bool progress = false;
                while (answered < n && conn_next_line(c, &l, &ll)) {
                        progress = true;
                        json_int_t id = 0;
                        json_t *root = NULL;
                        LineKind k = answered == 0 ? line_parse(c, l, ll, &id, &root)
                                                   : line_classify(c, l, ll, &id);
                        if (k == LINE_OTHER)
                                continue;
                        if (k == LINE_ERROR)
                                print_error_and_die(label, l, ll);
                        if (id != first_id + (json_int_t)answered)
                                die("%s: answer for id %" JSON_INTEGER_FORMAT
                                    " where %" JSON_INTEGER_FORMAT " was due",
                                    label, id, first_id + (json_int_t)answered);
                        if (root) {
                                describe_first(root, label);
                                json_decref(root);
                        }
                        answered++;
                }
                /* Answers make room in the window: send before waiting. */
                if (!progress && answered < n)
                        conn_wait(c);
        }
        double secs = (double)(now_nsec() - start) / 1e9;
        double mb = (double)(c->bytes_in - bytes_before) / (1024.0 * 1024.0);
        printf("%s: throughput: %" PRIu64 " requests, window %u: %.3f s, %.1f requests/s, "
               "%.1f MiB/s received\n",
               label, n, window, secs, (double)n / secs, mb / secs);
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static void run_latency(Conn *c, const char *label, const char *method, const char *params,
                        uint64_t n, json_int_t first_id) {
        uint64_t *samples = mem_reallocarray(NULL, n, sizeof(*samples));

        if (!samples)
                die("out of memory");
        for (uint64_t i = 0; i < n; i++) {
                size_t len;
                json_int_t want = first_id + (json_int_t)i;
                _cleanup_free_ char *t = request_text(want, method, params, &len);
                uint64_t start = now_nsec();
                bool done = false;

                conn_queue(c, t, len);
                conn_flush(c);
                while (!done) {
                        char *l;
                        size_t ll;
                        while (!done && conn_next_line(c, &l, &ll)) {
                                json_int_t id = 0;
                                LineKind k = line_classify(c, l, ll, &id);
                                if (k == LINE_OTHER)
                                        continue;
                                if (k == LINE_ERROR)
                                        print_error_and_die(label, l, ll);
                                if (id != want)
                                        die("%s: answer for id %" JSON_INTEGER_FORMAT
                                            " where %" JSON_INTEGER_FORMAT " was due",
                                            label, id, want);
                                done = true;
                        }
                        if (!done)
                                conn_wait(c);
                }
                samples[i] = now_nsec() - start;
        }
        qsort(samples, n, sizeof(*samples), compare_u64);
        printf("%s: latency: %" PRIu64 " round trips one at a time: p50 %.1f us, p99 %.1f us, "
               "max %.1f us\n",
               label, n, (double)samples[n / 2] / 1e3, (double)samples[(n * 99) / 100] / 1e3,
               (double)samples[n - 1] / 1e3);
        mem_free(samples);
}

static void usage(FILE *f) {
        fprintf(f, "Usage: bench-rpc --socket PATH [OPTION...]\n"
                   "Measure a JSON-RPC method of a running lwmid: pipelined requests per second,\n"
                   "then one-at-a-time round-trip latency.\n"
                   "\n"
                   "  --socket PATH      lwmid's socket (required)\n"
                   "  --method NAME      the method to call (default Ping)\n"
                   "  --params JSON      its params object (default: none)\n"
                   "  --label TEXT       name of this measurement in the output (default: method)\n"
                   "  --requests N       pipelined requests (default 100000; 0: skip)\n"
                   "  --window N         most requests unanswered at a time (default 1000)\n"
                   "  --latency N        round trips for the latency figures (default 10000; 0: "
                   "skip)\n"
                   "  --prepare FILE     first send FILE's request lines, one per line; any error\n"
                   "                     answer fails the run\n"
                   "  -h, --help         this help\n");
}

static uint64_t parse_count(const char *text, const char *option) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || *end || text[0] == '\0' || text[0] == '-')
                die("%s: '%s' is not a count", option, text);
        return v;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "method", required_argument, NULL, 'm' },
                { "params", required_argument, NULL, 'p' },
                { "label", required_argument, NULL, 'l' },
                { "requests", required_argument, NULL, 'n' },
                { "window", required_argument, NULL, 'w' },
                { "latency", required_argument, NULL, 'L' },
                { "prepare", required_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        const char *socket_path = NULL, *method = "Ping", *params = NULL, *label = NULL;
        const char *prepare = NULL;
        uint64_t requests = 100000, latency = 10000, window = 1000;
        Conn c;
        int opt;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (opt) {
                case 's':
                        socket_path = optarg;
                        break;
                case 'm':
                        method = optarg;
                        break;
                case 'p':
                        params = optarg;
                        break;
                case 'l':
                        label = optarg;
                        break;
                case 'n':
                        requests = parse_count(optarg, "--requests");
                        break;
                case 'w':
                        window = parse_count(optarg, "--window");
                        if (window == 0 || window > 1000000)
                                die("--window: from 1 to 1000000");
                        break;
                case 'L':
                        latency = parse_count(optarg, "--latency");
                        break;
                case 'P':
                        prepare = optarg;
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
        if (params) {
                json_error_t jerr;
                json_t *p = json_loads(params, 0, &jerr);
                if (!json_is_object(p))
                        die("--params: not a JSON object: %s", p ? "other value" : jerr.text);
                json_decref(p);
        }
        if (!label)
                label = method;

        conn_connect(&c, socket_path);
        if (prepare)
                run_prepare(&c, prepare, (unsigned)window);
        if (requests > 0)
                run_throughput(&c, label, method, params, requests, (unsigned)window, 1);
        if (latency > 0)
                run_latency(&c, label, method, params, latency, (json_int_t)requests + 1);
        fflush(stdout);
        conn_close(&c);
        return 0;
}
