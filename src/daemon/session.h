/* A session: one client connection. It owns the socket (through a libevent
 * bufferevent), frames the input into lines, decodes each as a JSON-RPC
 * message, hands requests to the method table (methods.h) and queues the
 * answers in order. It is the only part of lwmid that knows about sockets.
 *
 * Fairness and back-pressure, so one client never delays the others:
 *  - at most SESSION_MAX_MESSAGES_PER_TURN messages,
 *    SESSION_MAX_BYTES_PER_TURN bytes or SESSION_MAX_USEC_PER_TURN of work
 *    are handled per callback; the rest waits for a later loop turn (a zero
 *    timer, behind other clients' I/O);
 *  - a request whose method returns a job (methods.h: a large query) is
 *    worked on one bounded step per loop turn; the session's later
 *    requests wait until it is answered, and closing the session frees
 *    it unfinished (so does a peer that closes its end, as nobody would
 *    read the answer; one that only shuts down its sending side gets it);
 *  - input is read only up to one maximal line ahead (read high-water mark);
 *  - while the output holds more than SESSION_OUTPUT_HIGH_WATER bytes no
 *    request is read or handled; it resumes below SESSION_OUTPUT_LOW_WATER.
 *
 * A line over the limit gets an error, then the session closes once that
 * error is flushed (or after SESSION_DRAIN_TIMEOUT_MS). A session is never
 * freed inside its own callback: session_close() hands it to the server,
 * which frees it on a later loop turn.
 *
 * Asynchronous calls (sinks, Indicate, SetStatus) hang off the session in
 * an Async (async.h); closing the session releases them all at once.
 *
 * Liveness (keepalive pings, stall detection) comes later; the session
 * already records when it last heard from the peer, the keepalive agreed by
 * Hello, and the server Pings it has outstanding (session_send_ping). */
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "error.h"
#include "provider.h"

typedef struct Server Server;
typedef struct MethodJob MethodJob;
typedef struct Async Async;

#define SESSION_MAX_MESSAGES_PER_TURN 64
#define SESSION_MAX_BYTES_PER_TURN (256u * 1024)
#define SESSION_MAX_USEC_PER_TURN 2000
#define SESSION_OUTPUT_HIGH_WATER (1024u * 1024)
#define SESSION_OUTPUT_LOW_WATER (256u * 1024)
#define SESSION_DRAIN_TIMEOUT_MS 5000
#define SESSION_KEEPALIVE_DEFAULT_MS 10000
#define SESSION_KEEPALIVE_MIN_MS 500
#define SESSION_KEEPALIVE_MAX_MS 60000
#define SESSION_CLIENT_NAME_MAX 256
/* Server Pings awaiting an answer; the keepalive needs one at a time. */
#define SESSION_MAX_PINGS 4

typedef enum SessionState {
        SESSION_OPEN,
        SESSION_DRAINING, /* reads nothing more; closes once output is flushed */
        SESSION_CLOSED,   /* on the server's doomed list */
} SessionState;

/* Why a session ended: the log line's reason and LWMI_Daemon's
 * SessionsLost counters (Server.sessions_lost). */
typedef enum SessionLoss {
        SESSION_LOSS_CLOSED,    /* the peer closed, or the server closed it (errors, shutdown) */
        SESSION_LOSS_RESET,     /* a read or write error: ECONNRESET, EPIPE, ETIMEDOUT */
        SESSION_LOSS_STALL,     /* the oldest unread output byte outlived the stall bound */
        SESSION_LOSS_KEEPALIVE, /* silent for 1.5 x keepalive, the server Ping unanswered */
        SESSION_LOSS_N
} SessionLoss;

/* "closed", "reset", "stall", "keepalive". */
const char *session_loss_name(SessionLoss loss);

/* Room for the peer's text: "unix pid 123" or "tcp [addr]:port". */
#define SESSION_PEER_MAX 80

typedef struct SessionPing {
        uint64_t number; /* id "s:<number>"; 0: slot free */
        uint64_t sent_usec;
} SessionPing;

typedef struct Session {
        Server *server;
        TAILQ_ENTRY(Session) link; /* in server->sessions or server->doomed */
        uint64_t id;
        SessionState state;
        struct bufferevent *bev;
        struct event *process_event; /* continue handling input next turn */

        /* the request being answered over several turns, if any */
        MethodJob *job;
        struct event *job_event; /* its next step */
        json_t *job_id;          /* the request's id; NULL: a notification */
        const char *job_method;  /* static: the method table's name */
        uint64_t job_started_usec;

        /* the peer, from SO_PEERCRED; its supplementary groups from
         * SO_PEERGROUPS (none when the kernel cannot tell) */
        pid_t pid;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        char *client_name; /* from Hello; NULL until then */

        /* sinks and asynchronous calls (async.h) */
        Async *async;

        size_t max_line_bytes;
        size_t scanned; /* input bytes known to hold no '\n' */
        bool read_eof;  /* peer shut down its side */
        bool peer_gone; /* ... and closed the connection: it reads nothing more */
        bool output_paused;

        /* liveness */
        unsigned keepalive_ms;
        uint64_t connected_usec;
        uint64_t last_heard_usec;
        uint64_t next_ping_number;
        SessionPing pings[SESSION_MAX_PINGS];

        char peer[SESSION_PEER_MAX];
        SessionLoss loss; /* set when the session closes */
        char close_reason[256];
        /* counters for the closing log line */
        uint64_t requests;
        uint64_t bytes_in;
} Session;

/* A session on a connected socket (owned from now on, also on failure).
 * It is added to server->sessions by the caller. */
int session_new(Server *server, int fd, uint64_t id, Session **ret);
/* Release everything; only the server calls this, from its reaper. */
Session *session_free(Session *s);

/* Close now: output not yet written is discarded. Logs one line with the
 * reason (fmt NULL: the reason given to session_close_after_flush). Safe
 * to call from the session's own callbacks; idempotent. */
void session_close(Session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Stop reading and close once the queued output is written (a final error
 * must reach the client), or after SESSION_DRAIN_TIMEOUT_MS. */
void session_close_after_flush(Session *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Queue one answer. Running out of memory while encoding or queueing it
 * closes the session: the client could not tell which answer was lost. */
void session_send_result(Session *s, json_t *id, json_t *result);
void session_send_error(Session *s, json_t *id, int code, const Error *e);
/* Queue one encoded line, '\n' included (taken over, mem_free; dropped on
 * a closed session). Failing to queue it closes the session. */
void session_send_line(Session *s, char *line, size_t len);

/* Send a Ping request ("s:<n>") and remember it until answered.
 * -EBUSY when SESSION_MAX_PINGS are outstanding, -ENOMEM, -ESHUTDOWN when
 * the session is closing. */
int session_send_ping(Session *s);
/* Outstanding server Pings. */
unsigned session_pings_outstanding(const Session *s);

/* Look at the input again on a later loop turn (the last running
 * ExecQueryAsync of a half-closed session ended: it may close now). */
void session_wake(Session *s);

/* Apply a new line limit (SIGHUP); input already buffered is kept. */
void session_set_max_line(Session *s, size_t max_line_bytes);

/* Monotonic clock in microseconds. */
uint64_t session_now_usec(void);

/* The peer as providers see it (ProviderCaller: whom a request is for),
 * valid while s lives. */
ProviderCaller session_caller(const Session *s);
