/* fanout-client: the two sides of bench/fanout, small events delivered to
 * many consumers, against mosquitto (MQTT 3.1.1), nats-server (NATS's text
 * protocol) or lwmid (JSON-RPC lines, docs/protocol.md). In C because a
 * Python client would measure itself: nats-server delivers more than a
 * million events a second.
 *
 *   fanout-client consume PROTO ADDR --connections K --events M
 *       K connections, each subscribed to the one stream (MQTT topic
 *       "fan", NATS subject "fan", lwmi `SELECT * FROM Bench_Event WHERE
 *       Id = 1` on sink "fan"); prints {"ready":true} once every
 *       subscription is confirmed, then counts the events each connection
 *       receives until each has M, or none came for --idle-ms, or
 *       --timeout-s passed; prints the counts and the CLOCK_MONOTONIC times
 *       of the first and last event.
 *   fanout-client publish PROTO ADDR --events M [--window W]
 *       one connection; publishes M events as fast as flow control allows
 *       and prints the times of the first byte sent and of the last answer.
 *
 * PROTO is mqtt, nats or lwmi; ADDR tcp:HOST:PORT or unix:PATH. Flow
 * control keeps the publisher at most W events ahead of the server: MQTT
 * QoS 0 and NATS have no acknowledgement, so a PINGREQ / PING follows every
 * 256 events and the server's answer (it handles a connection's packets in
 * order) tells those events were handed to the subscribers; lwmi answers
 * each PublishEvent. Events a server drops (a slow consumer) show up as
 * counts below M, not as errors. MQTT and NATS frames are parsed as far
 * as their framing (the 16-byte payload is opaque to a subscriber); an
 * lwmi Indicate is parsed whole as a real consumer parses it: every byte
 * checked against JSON's grammar by a non-allocating scanner (what a
 * consumer that cares for speed uses; --parser jansson parses with
 * jansson, as liblwmi does, several microseconds per event), seq checked
 * against the last one and EventsDropped, every event's T read. Server
 * Pings are answered.
 *
 *   --parser scan|jansson   how the consumer parses lwmi lines (scan) */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mem.h"
#include "strbuf.h"

/* Events between two flow-control barriers (MQTT, NATS). */
#define FANOUT_BARRIER_EVENTS 256

typedef enum Proto {
        PROTO_MQTT,
        PROTO_NATS,
        PROTO_LWMI,
} Proto;

typedef struct Conn {
        int fd;
        char *in; /* received bytes [in_start, in_len) not yet parsed */
        size_t in_start, in_len, in_cap;
        StrBuf out; /* bytes to send from out_off */
        size_t out_off;
        uint64_t events;  /* events received (consumer) */
        uint64_t lines;   /* Indicate lines (lwmi) */
        uint64_t seq;     /* the last seq seen on the sink (lwmi) */
        uint64_t dropped; /* events reported dropped (lwmi EventsDropped) */
        uint64_t checksum; /* of the events' T values: each one is read */
        uint64_t answers; /* SUBACK/PONG/PINGRESP/responses received */
        uint64_t errors;
        bool jansson;     /* parse Indicates with jansson (else with the scanner below) */
        bool closed;
} Conn;

typedef struct Options {
        Proto proto;
        const char *addr;
        unsigned connections;
        uint64_t events;
        uint64_t window;
        unsigned idle_ms;
        unsigned timeout_s;
        bool jansson;
} Options;

/* This process's user + system CPU time so far, in microseconds. */
static uint64_t cpu_usec(void) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) < 0)
                return 0;
        return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
               (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

static uint64_t now_nsec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
        va_list ap;
        fputs("fanout-client: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

static int connect_tcp(const char *hostport) {
        char host[256];
        const char *colon = strrchr(hostport, ':');

        if (!colon || (size_t)(colon - hostport) >= sizeof(host))
                die("bad address tcp:%s", hostport);
        memcpy(host, hostport, (size_t)(colon - hostport));
        host[colon - hostport] = '\0';
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
        struct addrinfo *ai = NULL;
        int r = getaddrinfo(host, colon + 1, &hints, &ai);
        if (r != 0)
                die("%s: %s", hostport, gai_strerror(r));
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
                die("cannot connect to %s: %s", hostport, strerror(errno));
        freeaddrinfo(ai);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return fd;
}

static int connect_unix(const char *path) {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof(addr.sun_path))
                die("socket path too long: %s", path);
        strcpy(addr.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                die("cannot connect to %s: %s", path, strerror(errno));
        return fd;
}

static void conn_open(Conn *c, const char *addr) {
        *c = (Conn){ .fd = -1 };
        if (strncmp(addr, "tcp:", 4) == 0)
                c->fd = connect_tcp(addr + 4);
        else if (strncmp(addr, "unix:", 5) == 0)
                c->fd = connect_unix(addr + 5);
        else
                die("address must be tcp:HOST:PORT or unix:PATH: %s", addr);
}

static void conn_close(Conn *c) {
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        mem_free(c->in);
        c->in = NULL;
        strbuf_done(&c->out);
}

static void conn_queue(Conn *c, const char *data, size_t len) {
        strbuf_append_len(&c->out, data, len);
        if (strbuf_failed(&c->out))
                die("out of memory");
}

static bool conn_want_write(const Conn *c) {
        return c->out_off < c->out.len;
}

/* Write what the socket takes now (all of it, on a blocking socket). */
static void conn_flush(Conn *c) {
        while (conn_want_write(c)) {
                ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                                 MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        die("send: %s", strerror(errno));
                }
                c->out_off += (size_t)n;
        }
        strbuf_truncate(&c->out, 0);
        c->out_off = 0;
}

/* One recv into the input buffer; false when nothing came (EAGAIN). */
static bool conn_fill(Conn *c) {
        if (c->in_start > 0 && c->in_start >= c->in_len / 2) {
                memmove(c->in, c->in + c->in_start, c->in_len - c->in_start);
                c->in_len -= c->in_start;
                c->in_start = 0;
        }
        if (c->in_cap - c->in_len < 65536) {
                size_t cap = c->in_cap ? c->in_cap * 2 : 1u << 18;
                char *p = mem_realloc(c->in, cap);
                if (!p)
                        die("out of memory");
                c->in = p;
                c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return false;
                die("recv: %s", strerror(errno));
        }
        if (n == 0) {
                c->closed = true;
                return false;
        }
        c->in_len += (size_t)n;
        return true;
}

/* --- parsing: count what arrived, answer the server's pings ------------- */

static void mqtt_parse(Conn *c) {
        while (c->in_len - c->in_start >= 2) {
                const unsigned char *p = (const unsigned char *)c->in + c->in_start;
                size_t have = c->in_len - c->in_start, length = 0, pos = 1, mult = 1;
                bool complete = false;

                while (pos < have && pos <= 4) {
                        length += (size_t)(p[pos] & 0x7F) * mult;
                        mult *= 128;
                        if (!(p[pos++] & 0x80)) {
                                complete = true;
                                break;
                        }
                }
                if (!complete || have - pos < length)
                        return;
                switch (p[0] >> 4) {
                case 3: /* PUBLISH */
                        c->events++;
                        break;
                case 9: /* SUBACK */
                        if (length >= 3 && p[pos + length - 1] == 0x80)
                                c->errors++;
                        c->answers++;
                        break;
                case 2:  /* CONNACK */
                case 13: /* PINGRESP */
                        c->answers++;
                        break;
                default:
                        break;
                }
                c->in_start += pos + length;
        }
}

static void nats_parse(Conn *c) {
        for (;;) {
                char *start = c->in + c->in_start;
                size_t have = c->in_len - c->in_start;
                char *eol = have ? memmem(start, have, "\r\n", 2) : NULL;

                if (!eol)
                        return;
                size_t line = (size_t)(eol - start);
                if (line > 4 && memcmp(start, "MSG ", 4) == 0) {
                        const char *sp = eol;
                        while (sp > start && sp[-1] != ' ')
                                sp--;
                        size_t size = strtoul(sp, NULL, 10);
                        if (have < line + 2 + size + 2)
                                return;
                        c->events++;
                        c->in_start += line + 2 + size + 2;
                        continue;
                }
                if (line == 4 && memcmp(start, "PING", 4) == 0)
                        conn_queue(c, "PONG\r\n", 6);
                else if (line == 4 && memcmp(start, "PONG", 4) == 0)
                        c->answers++;
                else if (line >= 4 && memcmp(start, "-ERR", 4) == 0) {
                        if (!c->errors)
                                fprintf(stderr, "fanout-client: nats-server: %.*s\n", (int)line, start);
                        c->errors++;
                }
                c->in_start += line + 2;
        }
}

static bool contains(const char *s, size_t len, const char *needle) {
        return memmem(s, len, needle, strlen(needle)) != NULL;
}

/* --- a validating JSON scanner for Indicate lines ------------------------
 *
 * What a consumer that cares for speed uses instead of a DOM parser: every
 * byte of the line is checked against JSON's grammar (strings with their
 * escapes, numbers, nesting), nothing is allocated, and the members the
 * consumer needs are taken out on the way: seq, and each event's T. It
 * parses the whole line, so a malformed one is an error, as with jansson
 * (--parser jansson), which costs several microseconds per small object
 * and would make the consumer, not the server, the measured bottleneck. */

typedef struct Scan {
        const char *p, *end;
} Scan;

static void scan_ws(Scan *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
                s->p++;
}

static bool scan_char(Scan *s, char c) {
        scan_ws(s);
        if (s->p < s->end && *s->p == c) {
                s->p++;
                return true;
        }
        return false;
}

/* A string: its raw text (escapes not decoded) in [*ret, *ret + *ret_len). */
static bool scan_string(Scan *s, const char **ret, size_t *ret_len) {
        scan_ws(s);
        if (s->p >= s->end || *s->p != '"')
                return false;
        const char *start = ++s->p;
        while (s->p < s->end) {
                unsigned char c = (unsigned char)*s->p;
                if (c == '"') {
                        *ret = start;
                        *ret_len = (size_t)(s->p - start);
                        s->p++;
                        return true;
                }
                if (c < 0x20)
                        return false;
                if (c == '\\') {
                        if (++s->p >= s->end)
                                return false;
                        if (*s->p == 'u') {
                                for (int k = 0; k < 4; k++)
                                        if (++s->p >= s->end || !strchr("0123456789abcdefABCDEF", *s->p))
                                                return false;
                        } else if (!strchr("\"\\/bfnrt", *s->p)) {
                                return false;
                        }
                }
                s->p++;
        }
        return false;
}

static bool scan_number(Scan *s, int64_t *ret) {
        scan_ws(s);
        const char *start = s->p;
        bool negative = s->p < s->end && *s->p == '-';
        if (negative)
                s->p++;
        int64_t v = 0;
        const char *digits = s->p;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                v = v * 10 + (*s->p++ - '0');
        if (s->p == digits || (*digits == '0' && s->p - digits > 1))
                return false;
        if (s->p < s->end && *s->p == '.') {
                const char *frac = ++s->p;
                while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                        s->p++;
                if (s->p == frac)
                        return false;
        }
        if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
                s->p++;
                if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
                        s->p++;
                const char *exp = s->p;
                while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                        s->p++;
                if (s->p == exp)
                        return false;
        }
        (void)start;
        if (ret)
                *ret = negative ? -v : v;
        return true;
}

static bool scan_literal(Scan *s, const char *word) {
        size_t n = strlen(word);
        if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
                return false;
        s->p += n;
        return true;
}

/* Any value, checked and skipped. */
static bool scan_value(Scan *s, unsigned depth) {
        const char *str;
        size_t len;

        if (depth > 64)
                return false;
        scan_ws(s);
        if (s->p >= s->end)
                return false;
        switch (*s->p) {
        case '"':
                return scan_string(s, &str, &len);
        case '{':
                s->p++;
                if (scan_char(s, '}'))
                        return true;
                do {
                        if (!scan_string(s, &str, &len) || !scan_char(s, ':') ||
                            !scan_value(s, depth + 1))
                                return false;
                } while (scan_char(s, ','));
                return scan_char(s, '}');
        case '[':
                s->p++;
                if (scan_char(s, ']'))
                        return true;
                do {
                        if (!scan_value(s, depth + 1))
                                return false;
                } while (scan_char(s, ','));
                return scan_char(s, ']');
        case 't':
                return scan_literal(s, "true");
        case 'f':
                return scan_literal(s, "false");
        case 'n':
                return scan_literal(s, "null");
        default:
                return scan_number(s, NULL);
        }
}

static bool key_is(const char *key, size_t len, const char *want) {
        return strlen(want) == len && memcmp(key, want, len) == 0;
}

/* One event object: every member checked, T (a sint64: a decimal string)
 * read. */
static bool scan_event(Conn *c, Scan *s) {
        const char *key, *t;
        size_t len, tlen;
        bool have_t = false;

        if (!scan_char(s, '{'))
                return false;
        if (!scan_char(s, '}')) {
                do {
                        if (!scan_string(s, &key, &len) || !scan_char(s, ':'))
                                return false;
                        if (key_is(key, len, "T")) {
                                if (!scan_string(s, &t, &tlen))
                                        return false;
                                have_t = true;
                        } else if (!scan_value(s, 1)) {
                                return false;
                        }
                } while (scan_char(s, ','));
                if (!scan_char(s, '}'))
                        return false;
        }
        if (!have_t)
                die("an event without T");
        c->checksum += strtoull(t, NULL, 10);
        c->events++;
        return true;
}

/* An Indicate or EventsDropped line, scanned whole; false for another
 * notification. */
static bool scan_notification(Conn *c, const char *line, size_t len) {
        Scan s = { .p = line, .end = line + len };
        const char *key, *method = NULL;
        size_t klen, mlen = 0;
        int64_t seq = -1, first = -1, last = -1, count = -1;
        uint64_t events = c->events;
        bool have_objects = false;

        if (!scan_char(&s, '{'))
                die("lwmid sent a line that does not parse: %.*s", (int)len, line);
        do {
                if (!scan_string(&s, &key, &klen) || !scan_char(&s, ':'))
                        goto bad;
                if (key_is(key, klen, "method")) {
                        if (!scan_string(&s, &method, &mlen))
                                goto bad;
                } else if (key_is(key, klen, "params")) {
                        if (!scan_char(&s, '{'))
                                goto bad;
                        do {
                                if (!scan_string(&s, &key, &klen) || !scan_char(&s, ':'))
                                        goto bad;
                                bool ok;
                                if (key_is(key, klen, "seq"))
                                        ok = scan_number(&s, &seq);
                                else if (key_is(key, klen, "first_seq"))
                                        ok = scan_number(&s, &first);
                                else if (key_is(key, klen, "last_seq"))
                                        ok = scan_number(&s, &last);
                                else if (key_is(key, klen, "count"))
                                        ok = scan_number(&s, &count);
                                else if (key_is(key, klen, "objects")) {
                                        ok = scan_char(&s, '[');
                                        have_objects = true;
                                        if (ok && !scan_char(&s, ']')) {
                                                do
                                                        ok = scan_event(c, &s);
                                                while (ok && scan_char(&s, ','));
                                                ok = ok && scan_char(&s, ']');
                                        }
                                } else
                                        ok = scan_value(&s, 1);
                                if (!ok)
                                        goto bad;
                        } while (scan_char(&s, ','));
                        if (!scan_char(&s, '}'))
                                goto bad;
                } else if (!scan_value(&s, 1)) {
                        goto bad;
                }
        } while (scan_char(&s, ','));
        if (!scan_char(&s, '}'))
                goto bad;
        scan_ws(&s);
        if (s.p != s.end)
                goto bad;
        if (method && key_is(method, mlen, "Indicate")) {
                if (!have_objects || seq != (int64_t)c->seq + 1)
                        die("Indicate with seq %" PRId64 " after %" PRIu64, seq, c->seq);
                c->seq = (uint64_t)seq;
                c->lines++;
                return true;
        }
        c->events = events; /* objects of something else are no events */
        if (method && key_is(method, mlen, "EventsDropped")) {
                if (first != (int64_t)c->seq + 1 || last < first || count != last - first + 1)
                        die("EventsDropped %" PRId64 "-%" PRId64 " after seq %" PRIu64, first, last,
                            c->seq);
                c->seq = (uint64_t)last;
                c->dropped += (uint64_t)count;
                return true;
        }
        return false;
bad:
        die("lwmid sent a line that does not parse at byte %zu: %.*s", (size_t)(s.p - line),
            (int)len, line);
}

/* An Indicate or EventsDropped, parsed as a consumer would (liblwmi does
 * the same: the whole line through jansson): every object is read, and
 * seq is checked, so that a gap not reported is an error. Returns false
 * for another notification. */
static bool lwmi_notification(Conn *c, const char *line, size_t len) {
        if (!c->jansson)
                return scan_notification(c, line, len);
        json_error_t je;
        json_t *m = json_loadb(line, len, 0, &je);
        if (!m)
                die("lwmid sent a line that does not parse: %s", je.text);
        const char *method = json_string_value(json_object_get(m, "method"));
        json_t *params = json_object_get(m, "params");
        bool handled = true;
        if (method && strcmp(method, "Indicate") == 0) {
                uint64_t seq = (uint64_t)json_integer_value(json_object_get(params, "seq"));
                json_t *objects = json_object_get(params, "objects");
                if (seq != c->seq + 1 || !json_is_array(objects))
                        die("Indicate with seq %" PRIu64 " after %" PRIu64, seq, c->seq);
                c->seq = seq;
                c->lines++;
                size_t k;
                json_t *o;
                json_array_foreach(objects, k, o) {
                        /* the event's own property (a sint64: a string) */
                        const char *t = json_string_value(json_object_get(o, "T"));
                        if (!t)
                                die("an event without T");
                        c->checksum += strtoull(t, NULL, 10);
                        c->events++;
                }
        } else if (method && strcmp(method, "EventsDropped") == 0) {
                uint64_t first = (uint64_t)json_integer_value(json_object_get(params, "first_seq"));
                uint64_t last = (uint64_t)json_integer_value(json_object_get(params, "last_seq"));
                if (first != c->seq + 1 || last < first)
                        die("EventsDropped %" PRIu64 "-%" PRIu64 " after seq %" PRIu64, first, last,
                            c->seq);
                c->seq = last;
                c->dropped += (uint64_t)json_integer_value(json_object_get(params, "count"));
        } else {
                handled = false;
        }
        json_decref(m);
        return handled;
}

static void lwmi_parse(Conn *c) {
        static const char notification[] = "{\"jsonrpc\":\"2.0\",\"method\":\"";

        for (;;) {
                char *start = c->in + c->in_start;
                size_t have = c->in_len - c->in_start;
                char *eol = have ? memchr(start, '\n', have) : NULL;

                if (!eol)
                        return;
                size_t len = (size_t)(eol - start);
                c->in_start += len + 1;
                if (len >= sizeof(notification) - 1 &&
                    memcmp(start, notification, sizeof(notification) - 1) == 0 &&
                    lwmi_notification(c, start, len))
                        continue;
                if (contains(start, len, "\"method\":")) {
                        /* A server request: answer a Ping with its id
                         * ("s:<n>", no escapes), ignore notifications. */
                        char *id = memmem(start, len, "\"id\":\"", 6);
                        if (id && contains(start, len, "\"method\":\"Ping\"")) {
                                id += 6;
                                char *q = memchr(id, '"', (size_t)(eol - id));
                                if (q) {
                                        StrBuf *o = &c->out;
                                        strbuf_printf(o, "{\"jsonrpc\":\"2.0\",\"id\":\"%.*s\",\"result\":{}}\n",
                                                      (int)(q - id), id);
                                        if (strbuf_failed(o))
                                                die("out of memory");
                                }
                        }
                        continue;
                }
                if (contains(start, len, "\"error\":")) {
                        if (!c->errors)
                                fprintf(stderr, "fanout-client: lwmid: %.*s\n", (int)len, start);
                        c->errors++;
                }
                c->answers++;
        }
}

static void conn_parse(Conn *c, Proto proto) {
        switch (proto) {
        case PROTO_MQTT:
                mqtt_parse(c);
                break;
        case PROTO_NATS:
                nats_parse(c);
                break;
        case PROTO_LWMI:
                lwmi_parse(c);
                break;
        }
}

/* Blocking: read until the connection has `answers` answers. */
static void conn_await(Conn *c, Proto proto, uint64_t answers) {
        conn_flush(c);
        while (c->answers < answers) {
                if (!conn_fill(c) && c->closed)
                        die("the server closed the connection during the handshake");
                conn_parse(c, proto);
                conn_flush(c);
        }
}

/* --- handshakes --------------------------------------------------------- */

static void mqtt_queue_length(Conn *c, size_t n) {
        do {
                char byte = (char)(n % 128);
                n /= 128;
                if (n)
                        byte = (char)(byte | 0x80);
                conn_queue(c, &byte, 1);
        } while (n);
}

static void mqtt_queue_string(Conn *c, const char *s) {
        size_t len = strlen(s);
        char head[2] = { (char)(len >> 8), (char)(len & 0xFF) };
        conn_queue(c, head, 2);
        conn_queue(c, s, len);
}

/* CONNECT with clean session and no keepalive (runs are short). */
static void mqtt_connect(Conn *c, const char *client_id) {
        conn_queue(c, "\x10", 1);
        mqtt_queue_length(c, 10 + 2 + strlen(client_id));
        mqtt_queue_string(c, "MQTT");
        conn_queue(c, "\x04\x02\x00\x00", 4);
        mqtt_queue_string(c, client_id);
        conn_await(c, PROTO_MQTT, 1);
}

static void conn_handshake(Conn *c, Proto proto, const char *name, bool subscribe) {
        switch (proto) {
        case PROTO_MQTT:
                mqtt_connect(c, name);
                if (subscribe) {
                        conn_queue(c, "\x82\x08\x00\x01", 4);
                        mqtt_queue_string(c, "fan");
                        conn_queue(c, "\x00", 1);
                        conn_await(c, PROTO_MQTT, 2);
                }
                break;
        case PROTO_NATS: {
                StrBuf *o = &c->out;
                strbuf_printf(o, "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"%s\","
                                 "\"lang\":\"c\",\"version\":\"0\",\"protocol\":1}\r\n%sPING\r\n",
                              name, subscribe ? "SUB fan 1\r\n" : "");
                if (strbuf_failed(o))
                        die("out of memory");
                conn_await(c, PROTO_NATS, 1);
                break;
        }
        case PROTO_LWMI: {
                StrBuf *o = &c->out;
                strbuf_printf(o, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Hello\",\"params\":"
                                 "{\"client\":\"%s\"}}\n",
                              name);
                if (subscribe)
                        strbuf_append(o, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
                                         "\"ExecNotificationQueryAsync\",\"params\":{\"namespace\":"
                                         "\"root/cimv2\",\"query\":\"SELECT * FROM Bench_Event WHERE "
                                         "Id = 1\",\"sink\":\"fan\"}}\n");
                if (strbuf_failed(o))
                        die("out of memory");
                conn_await(c, PROTO_LWMI, subscribe ? 2 : 1);
                break;
        }
        }
        if (c->errors) {
                printf("{\"ready\":false}\n");
                fflush(stdout);
                exit(1);
        }
        int flags = fcntl(c->fd, F_GETFL);
        if (flags < 0 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) < 0)
                die("fcntl: %s", strerror(errno));
}

/* --- the two sides ------------------------------------------------------ */

static int run_consume(const Options *o) {
        Conn *conns = mem_calloc(o->connections, sizeof(Conn));
        struct pollfd *pfds = mem_calloc(o->connections, sizeof(struct pollfd));
        char name[64];

        if (!conns || !pfds)
                die("out of memory");
        for (unsigned i = 0; i < o->connections; i++) {
                snprintf(name, sizeof(name), "fanout-consumer-%d-%u", (int)getpid(), i);
                conn_open(&conns[i], o->addr);
                conns[i].jansson = o->jansson;
                conn_handshake(&conns[i], o->proto, name, true);
                conns[i].events = 0;
        }
        printf("{\"ready\":true}\n");
        fflush(stdout);

        uint64_t first = 0, last = 0, start = now_nsec();
        unsigned done = 0;
        while (done < o->connections) {
                uint64_t now = now_nsec();
                if (now - start > (uint64_t)o->timeout_s * 1000000000u)
                        break;
                if (first && now - last > (uint64_t)o->idle_ms * 1000000u)
                        break;
                for (unsigned i = 0; i < o->connections; i++) {
                        pfds[i] = (struct pollfd){ .fd = conns[i].closed ? -1 : conns[i].fd,
                                                   .events = POLLIN };
                        if (conn_want_write(&conns[i]))
                                pfds[i].events |= POLLOUT;
                }
                int r = poll(pfds, o->connections, 100);
                if (r < 0 && errno != EINTR)
                        die("poll: %s", strerror(errno));
                for (unsigned i = 0; r > 0 && i < o->connections; i++) {
                        Conn *c = &conns[i];
                        if (!pfds[i].revents)
                                continue;
                        uint64_t before = c->events;
                        bool was_done = c->events >= o->events || c->closed;
                        if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                                while (conn_fill(c))
                                        conn_parse(c, o->proto);
                        }
                        conn_flush(c);
                        if (c->events != before) {
                                last = now_nsec();
                                if (!first)
                                        first = last;
                        }
                        if (!was_done && (c->events >= o->events || c->closed))
                                done++;
                }
        }

        uint64_t total = 0, min = UINT64_MAX, max = 0, errors = 0, lines = 0, dropped = 0;
        unsigned closed = 0;
        for (unsigned i = 0; i < o->connections; i++) {
                total += conns[i].events;
                min = conns[i].events < min ? conns[i].events : min;
                max = conns[i].events > max ? conns[i].events : max;
                errors += conns[i].errors;
                lines += conns[i].lines;
                dropped += conns[i].dropped;
                closed += conns[i].closed;
                conn_close(&conns[i]);
        }
        printf("{\"received\":%" PRIu64 ",\"min_per_connection\":%" PRIu64 ",\"max_per_connection\":%" PRIu64
               ",\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64 ",\"closed\":%u,\"errors\":%" PRIu64
               ",\"lines\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"cpu_us\":%" PRIu64 "}\n",
               total, min, max, first, last, closed, errors, lines, dropped, cpu_usec());
        mem_free(conns);
        mem_free(pfds);
        return 0;
}

static void publish_queue_event(Conn *c, Proto proto, uint64_t seq) {
        StrBuf *o = &c->out;

        switch (proto) {
        case PROTO_MQTT: {
                char payload[17];
                snprintf(payload, sizeof(payload), "%016" PRIx64, seq);
                conn_queue(c, "\x30\x15\x00\x03" "fan", 7);
                conn_queue(c, payload, 16);
                break;
        }
        case PROTO_NATS:
                strbuf_printf(o, "PUB fan 16\r\n%016" PRIx64 "\r\n", seq);
                break;
        case PROTO_LWMI:
                strbuf_printf(o, "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":\"PublishEvent\","
                                 "\"params\":{\"namespace\":\"root/cimv2\",\"event\":{\"__CLASS\":"
                                 "\"Bench_Event\",\"Id\":1,\"T\":\"%" PRIu64 "\"}}}\n",
                              seq + 10, seq);
                break;
        }
        if (strbuf_failed(o))
                die("out of memory");
}

static void publish_queue_barrier(Conn *c, Proto proto) {
        if (proto == PROTO_MQTT)
                conn_queue(c, "\xc0\x00", 2);
        else if (proto == PROTO_NATS)
                conn_queue(c, "PING\r\n", 6);
}

static int run_publish(const Options *o) {
        Conn c;
        char name[64];

        snprintf(name, sizeof(name), "fanout-publisher-%d", (int)getpid());
        conn_open(&c, o->addr);
        conn_handshake(&c, o->proto, name, false);
        uint64_t base = c.answers; /* the handshake's answers */
        bool lwmi = o->proto == PROTO_LWMI;
        uint64_t sent = 0, barriers = 0;
        uint64_t start = now_nsec(), deadline = start + (uint64_t)o->timeout_s * 1000000000u;

        for (;;) {
                /* Answered so far, in events. */
                uint64_t acked = lwmi ? c.answers - base : (c.answers - base) * FANOUT_BARRIER_EVENTS;
                if (sent == o->events && (lwmi ? acked >= sent : c.answers - base == barriers))
                        break;
                while (sent < o->events && sent - (acked < sent ? acked : sent) < o->window) {
                        publish_queue_event(&c, o->proto, sent);
                        sent++;
                        if (!lwmi && (sent % FANOUT_BARRIER_EVENTS == 0 || sent == o->events)) {
                                publish_queue_barrier(&c, o->proto);
                                barriers++;
                        }
                }
                conn_flush(&c);
                struct pollfd p = { .fd = c.fd, .events = POLLIN };
                if (conn_want_write(&c))
                        p.events |= POLLOUT;
                int r = poll(&p, 1, 1000);
                if (r < 0 && errno != EINTR)
                        die("poll: %s", strerror(errno));
                if (now_nsec() > deadline)
                        die("publishing took longer than %u s (%" PRIu64 " of %" PRIu64 " sent)", o->timeout_s,
                            sent, o->events);
                if (r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
                        while (conn_fill(&c))
                                conn_parse(&c, o->proto);
                        if (c.closed)
                                die("the server closed the publisher's connection");
                }
        }
        uint64_t end = now_nsec();
        printf("{\"sent\":%" PRIu64 ",\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ",\"errors\":%" PRIu64
               ",\"cpu_us\":%" PRIu64 "}\n",
               sent, start, end, c.errors, cpu_usec());
        conn_close(&c);
        return c.errors ? 1 : 0;
}

static uint64_t parse_count(const char *arg, const char *what, uint64_t min, uint64_t max) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 10);
        if (errno || *end || end == arg || v < min || v > max)
                die("%s must be a number from %" PRIu64 " to %" PRIu64 ": %s", what, min, max, arg);
        return (uint64_t)v;
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                { "connections", required_argument, NULL, 'c' },
                { "events", required_argument, NULL, 'e' },
                { "window", required_argument, NULL, 'w' },
                { "idle-ms", required_argument, NULL, 'i' },
                { "timeout-s", required_argument, NULL, 't' },
                { "tag", required_argument, NULL, 'g' },
                { "parser", required_argument, NULL, 'p' },
                { NULL, 0, NULL, 0 },
        };
        Options o = { .connections = 1, .events = 100000, .window = 4096, .idle_ms = 3000, .timeout_s = 300 };
        int opt;

        while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (opt) {
                case 'c':
                        o.connections = (unsigned)parse_count(optarg, "--connections", 1, 10000);
                        break;
                case 'e':
                        o.events = parse_count(optarg, "--events", 1, UINT64_MAX / 2);
                        break;
                case 'w':
                        o.window = parse_count(optarg, "--window", 1, 1u << 30);
                        break;
                case 'i':
                        o.idle_ms = (unsigned)parse_count(optarg, "--idle-ms", 1, 600000);
                        break;
                case 't':
                        o.timeout_s = (unsigned)parse_count(optarg, "--timeout-s", 1, 86400);
                        break;
                case 'g': /* marks the process as the benchmark's own */
                        break;
                case 'p':
                        if (strcmp(optarg, "jansson") == 0)
                                o.jansson = true;
                        else if (strcmp(optarg, "scan") != 0)
                                die("--parser must be scan or jansson");
                        break;
                default:
                        return 2;
                }
        }
        if (argc - optind != 3)
                die("usage: fanout-client consume|publish mqtt|nats|lwmi ADDR [OPTIONS]");
        const char *role = argv[optind], *proto = argv[optind + 1];
        o.addr = argv[optind + 2];
        if (strcmp(proto, "mqtt") == 0)
                o.proto = PROTO_MQTT;
        else if (strcmp(proto, "nats") == 0)
                o.proto = PROTO_NATS;
        else if (strcmp(proto, "lwmi") == 0)
                o.proto = PROTO_LWMI;
        else
                die("unknown protocol %s", proto);
        if (strcmp(role, "consume") == 0)
                return run_consume(&o);
        if (strcmp(role, "publish") == 0)
                return run_publish(&o);
        die("unknown role %s", role);
}
