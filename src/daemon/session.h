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
 * Liveness (DESIGN.md "Liveness"; the arithmetic in liveness.h), with one
 * timer per session that fires only when something is due:
 *  - keepalive: any complete line received from the client (request,
 *    response or notification) counts as hearing from it. Nothing heard
 *    for keepalive_ms → a Ping; nothing heard within keepalive_ms / 2 of
 *    it → the session is lost (reason keepalive). Outbound traffic does
 *    not count. A session whose client shut down its sending side (it can
 *    answer nothing) is exempt while it waits for its queries; and while
 *    lwmid owes the client work (a request in progress, complete requests
 *    not handled yet, bytes it stopped reading itself) the silence is
 *    lwmid's: the keepalive counts from when that work is done;
 *  - stall: the output bytes are dated as they are queued; the consumer
 *    has taken those handed to the kernel minus the kernel's send queue
 *    (SIOCOUTQ). When the oldest byte not yet taken is older than the
 *    server's stall_timeout_ms, the session is lost (reason stall);
 *  - on TCP, TCP_USER_TIMEOUT is 1.5 x keepalive, so unacknowledged data
 *    fails the connection (ETIMEDOUT: reason reset) within the same bound.
 * The session's closing log line is one line of key=value pairs (see
 * session_close).
 *
 * TLS sessions (session_new_tls; tls.h) wrap the socket in a
 * bufferevent_openssl: the output buffer holds plaintext not yet handed
 * to OpenSSL, and SIOCOUTQ counts the ciphertext in the kernel, which is
 * never less than the plaintext it carries, so the stall rule sees the
 * consumer at most a record's overhead further behind than it is, never
 * ahead. Such a session has no identity (uid -1) until it authenticates:
 * a verified client certificate at the end of the handshake, or a token
 * in Hello (session_authenticate). Before that it may call only Hello and
 * Ping (anything else: WBEM_E_ACCESS_DENIED), and it is closed when the
 * server's tls_auth_timeout_ms passes. A failed handshake is logged once,
 * at warning level, with the peer and the reason. */
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "error.h"
#include "liveness.h"
#include "provider.h"

typedef struct Server Server;
typedef struct MethodJob MethodJob;
typedef struct Async Async;
typedef struct QuotaUser QuotaUser;
typedef struct RightsSeen RightsSeen;

#define SESSION_MAX_MESSAGES_PER_TURN 256
#define SESSION_MAX_BYTES_PER_TURN (256u * 1024)
#define SESSION_MAX_USEC_PER_TURN 2000
/* read straight from the socket per step once the input is used up */
#define SESSION_READ_AHEAD_BYTES (64u * 1024)
/* most bytes written to a session's socket per loop turn: libevent's
 * default is 16 KiB, less than what one turn of another session's
 * requests (SESSION_MAX_BYTES_PER_TURN, read ahead) can raise in events
 * for it, so a consumer's backlog would grow by the difference every turn
 * however fast it reads */
#define SESSION_MAX_WRITE_PER_TURN (256u * 1024)
/* A consumer that takes nothing for SESSION_BULK_STALLED_USEC while
 * SESSION_BULK_AFTER bytes or more are queued for it gets its further
 * output in chains of SESSION_BULK_CHAIN bytes, each mapped on its own
 * (above SERVER_MMAP_THRESHOLD): a stalled consumer's backlog then never
 * raises the heap, where it would leave the pages that small objects
 * allocated meanwhile sit on resident once it is released, and goes back
 * to the system the moment it is freed. A consumer that keeps taking its
 * output, however much is queued, stays on ordinary chains, which the
 * heap recycles without a system call or a page fault. */
#define SESSION_BULK_AFTER (256u * 1024)
#define SESSION_BULK_STALLED_USEC 50000
#define SESSION_BULK_CHAIN (256u * 1024)
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

/* Account names (tls.h TLS_ACCOUNT_MAX) and token ids (tokens.h). */
#define SESSION_ACCOUNT_MAX 64
#define SESSION_TOKEN_ID_MAX 16

/* Room for the peer's text: "unix pid 123", "tcp [addr]:port" or "tls
 * [addr]:port". */
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

        /* the peer, from SO_PEERCRED (Unix); over TCP unknown: pid 0,
         * uid and gid -1, which providers that check access refuse
         * (ProviderCaller). Its supplementary groups from SO_PEERGROUPS
         * (none when the kernel cannot tell, or over TCP). */
        pid_t pid;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        char *client_name; /* from Hello; NULL until then */
        RightsSeen *rights_seen; /* refusals logged (rights.h); NULL: none yet */

        /* TLS: the handshake, then who the peer authenticated as */
        bool tls;
        bool tls_connected;  /* handshake completed */
        bool authenticated;  /* uid, gid, groups are the account's */
        bool close_after_answer; /* a refused token: close once the error is out */
        char account[SESSION_ACCOUNT_MAX + 1]; /* the local user; "" until authenticated */
        char token_id[SESSION_TOKEN_ID_MAX + 1]; /* the token that authenticated it, or "" */
        char auth_problem[160]; /* why a certificate did not authenticate it, or "" */
        struct event *auth_event; /* the authentication bound */

        /* sinks and asynchronous calls (async.h) */
        Async *async;

        /* The quota bucket of the uid the session was accepted with
         * (quota.h): what it charges goes back there, whatever happens to
         * uid later. NULL: no quotas (a session made without
         * server_accept, or refused at accept). */
        QuotaUser *quota;
        unsigned quota_logged; /* SessionQuotaReason bits already logged */

        size_t max_line_bytes;
        size_t scanned; /* input bytes known to hold no '\n' */
        bool read_eof;  /* peer shut down its side */
        bool peer_gone; /* ... and closed the connection: it reads nothing more */
        bool output_paused;
        bool output_bulk; /* output goes into SESSION_BULK_CHAIN chains */
        uint64_t output_taken_usec; /* when bytes last left the output buffer */
        /* Bytes ever queued to the output; with the buffer's length it
         * tells how many have been written (async.c counts its Indicate
         * backlog so). */
        uint64_t out_queued;

        /* liveness */
        unsigned keepalive_ms;
        bool keepalive_chosen; /* by Hello: a reload leaves it alone */
        bool tcp;              /* AF_INET or AF_INET6: TCP_USER_TIMEOUT applies */
        uint64_t connected_usec;
        uint64_t last_heard_usec;     /* the last complete line received */
        uint64_t keepalive_ping_usec; /* the keepalive's Ping sent then; 0: none */
        uint64_t next_ping_number;
        SessionPing pings[SESSION_MAX_PINGS];
        struct event *liveness_event;
        uint64_t liveness_due_usec; /* when liveness_event fires; 0: not armed */
        LivenessOutput output;      /* the output's dates, for the stall rule */
        struct evbuffer_cb_entry *input_cb, *output_cb;
        uint64_t peer_ino;   /* a Unix peer's socket inode (sockdiag.h); 0: unknown */
        bool peer_ino_tried; /* looked up once */

        char peer[SESSION_PEER_MAX];
        SessionLoss loss; /* set when the session closes */
        char close_reason[256];
        /* counters for the closing log line */
        uint64_t requests;
        uint64_t bytes_in;
        /* what closing released (the server trims the heap after much) */
        size_t released_calls;
        size_t discarded_bytes;
} Session;

/* A session on a connected socket (owned from now on, also on failure).
 * It is added to server->sessions by the caller. */
int session_new(Server *server, int fd, uint64_t id, Session **ret);
/* The same on a TLS connection: ssl (fresh, for this fd) is taken over
 * too; the handshake runs as the peer sends. */
int session_new_tls(Server *server, int fd, SSL *ssl, uint64_t id, Session **ret);
/* Release everything; only the server calls this, from its reaper. */
Session *session_free(Session *s);

/* Close now: output not yet written is discarded, every call released
 * (counted in the server's registrations_reclaimed; the session's loss in
 * sessions_lost). Logs one line at info level, key=value pairs with
 * quoted strings escaped as in C:
 *   session 12 lost: reason=stall uid=1000 pid=123 peer="unix pid 123"
 *   client="app/1" registrations=10000 released_in_us=8123 requests=4
 *   connected_ms=15234 detail="..."
 * ("closed" instead of "lost" for reason closed). fmt is the detail
 * (NULL: the one given to session_close_after_flush). The reason is
 * s->loss, SESSION_LOSS_CLOSED unless set before. Safe to call from the
 * session's own callbacks; idempotent. */
void session_close(Session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with the reason given. */
void session_lose(Session *s, SessionLoss loss, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Stop reading and close once the queued output is written (a final error
 * must reach the client), or after SESSION_DRAIN_TIMEOUT_MS. */
void session_close_after_flush(Session *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Queue one answer. Running out of memory while encoding or queueing it
 * closes the session: the client could not tell which answer was lost. */
void session_send_result(Session *s, json_t *id, json_t *result);
void session_send_error(Session *s, json_t *id, int code, const Error *e);
/* Queue one encoded line, '\n' included (taken over, mem_free; dropped on
 * a closed session). Failing to queue it closes the session. Every line
 * but an Indicate first flushes the Indicate batch the session's Async may
 * hold open (async_flush), so lines leave in the order they were made. */
void session_send_line(Session *s, char *line, size_t len);
/* The same for an Indicate line made by async.c (no flush: it is the
 * batch, or comes after it). len bytes are added to out_queued. Returns
 * false when the line was not queued (the session is closed, or closes
 * for lack of memory). */
bool session_send_indicate(Session *s, const char *line, size_t len);

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

/* Set the keepalive (500..60000 ms; Hello: chosen, kept over reloads),
 * also TCP_USER_TIMEOUT on TCP; the liveness timer is re-checked on the
 * next loop turn. */
void session_set_keepalive(Session *s, unsigned keepalive_ms, bool chosen);
/* The server's settings changed (SIGHUP): take its keepalive unless Hello
 * chose one, and re-check against its stall bound. */
void session_settings_changed(Session *s);

/* Output bytes queued so far, and those the consumer has taken (handed to
 * the kernel and no longer in its send queue: for a Unix peer found by a
 * stall check, its exact unread bytes; else SIOCOUTQ). */
uint64_t session_output_queued(const Session *s);
uint64_t session_output_taken(const Session *s);

/* Set TCP_USER_TIMEOUT to 1.5 x keepalive_ms on a TCP socket (AF_INET,
 * AF_INET6); nothing for other sockets. 0 or a negative errno. */
int session_set_tcp_user_timeout(int fd, unsigned keepalive_ms);

/* Monotonic clock in microseconds. */
uint64_t session_now_usec(void);

/* Why a request was refused for a quota (quota.h), each logged once per
 * session. */
typedef enum SessionQuotaReason {
        SESSION_QUOTA_REGISTRATIONS = 1u << 0,
        SESSION_QUOTA_QUERY = 1u << 1,
        SESSION_QUOTA_REQUESTS = 1u << 2,
        SESSION_QUOTA_BACKLOG = 1u << 3,
} SessionQuotaReason;

/* A quota refused something of s: log e's message (at info) the first
 * time for this reason on this session. */
void session_quota_refused(Session *s, SessionQuotaReason reason, const Error *e);

/* Bind s to the quota bucket of its uid as it is now (the server's
 * accept does this; the TLS code calls it again once authentication has
 * set the session's uid: what the session holds moves with it). 0, or
 * WBEM_E_QUOTA_VIOLATION (the user has all its sessions open: s keeps its
 * old bucket) with e, or -ENOMEM. */
int session_quota_bind(Session *s, Error *e);
/* Whether requests other than Hello and Ping may be handled: always for
 * Unix and plain TCP sessions, after authentication for TLS. */
bool session_may_call(const Session *s);

/* Make a TLS session act as the local account `name` (account.h: uid,
 * primary gid, groups), authenticated by a certificate (token_id NULL) or
 * by the token token_id. WBEM_E_INVALID_OPERATION when it already is
 * authenticated or is not a TLS session; WBEM_E_ACCESS_DENIED when there
 * is no such account; -ENOMEM. Logs the success at info level. */
int session_authenticate(Session *s, const char *name, const char *token_id, Error *err);

/* The peer as providers see it (ProviderCaller: whom a request is for),
 * valid while s lives. */
ProviderCaller session_caller(const Session *s);
