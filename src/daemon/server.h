/* The Server: everything lwmid runs, hung off one object (no globals but
 * the log level and libevent's signal plumbing): the event loop, the
 * settings, the single-instance lock, the listener and the sessions.
 *
 * Lifecycle: server_new() → server_start() (lock, socket, signals,
 * readiness) → server_run() until SIGTERM/SIGINT → server_free(). Sessions
 * that close are moved to a "doomed" list and freed on a later loop turn,
 * never inside their own callbacks. */
#pragma once

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "settings.h"
#include "error.h"
#include "slab.h"

typedef struct Engine Engine;
typedef struct Provider Provider;
typedef struct Listener Listener;
typedef struct Rights Rights;
typedef struct Session Session;
typedef struct AsyncEventText AsyncEventText;
typedef struct Quota Quota;
typedef struct TlsServer TlsServer;
typedef struct Tokens Tokens;
typedef TAILQ_HEAD(SessionList, Session) SessionList;

/* How long a shutdown waits for sessions to write what they have queued
 * (each open call's SetStatus WBEM_E_SHUTTING_DOWN) before it closes them
 * anyway. */
#define SERVER_SHUTDOWN_FLUSH_MS 1000

/* Freed memory goes back to the system (malloc_trim) this long after
 * sessions released at least SERVER_TRIM_MIN_CALLS calls or
 * SERVER_TRIM_MIN_BYTES of queued output; a burst of closes trims once. */
#define SERVER_TRIM_DELAY_MS 150
#define SERVER_TRIM_MIN_CALLS 1000
#define SERVER_TRIM_MIN_BYTES (1024u * 1024)
/* Blocks this large or larger are mapped on their own and unmapped when
 * freed (mallopt M_MMAP_THRESHOLD, kept from drifting up as glibc would):
 * a stalled consumer's chains (SESSION_BULK_CHAIN) are; the 128 KiB
 * chains a session reads its requests into stay on the heap, which
 * recycles them without a system call or page faults. */
#define SERVER_MMAP_THRESHOLD (192 * 1024)
/* free() gives the top of the heap back past this much (M_TRIM_THRESHOLD). */
#define SERVER_TRIM_THRESHOLD (1024 * 1024)
/* While other events are active it waits SERVER_TRIM_RETRY_MS more, at
 * most SERVER_TRIM_MAX_WAITS times. */
#define SERVER_TRIM_RETRY_MS 20
#define SERVER_TRIM_MAX_WAITS 50
/* The memory of released calls (engine_reclaim) is freed in batches of
 * SERVER_RECLAIM_BATCH, for at most SERVER_RECLAIM_USEC per loop turn. */
#define SERVER_RECLAIM_BATCH 256
/* Closed sessions freed per loop turn. */
#define SERVER_REAP_PER_TURN 64
#define SERVER_RECLAIM_USEC 1000

#define SERVER_REFUSAL_LOG_MS 10000

typedef struct Server {
        struct event_base *base;
        Settings cmdline;  /* as given on the command line: reloads start from it */
        Settings settings; /* in force */

        int lock_fd;
        char *lock_path; /* "<socket>.lock" */
        int repo_lock_fd;
        char *repo_lock_path; /* "<repository>.lock"; NULL for :memory: */
        Listener *listener;
        Listener *tcp_listener; /* --listen; NULL without */
        TlsServer *tls;         /* --listen tls:...: the TLS context; NULL otherwise */
        Tokens *tokens;         /* in the repository; NULL until it is open */

        SessionList sessions; /* open (including those flushing a last error) */
        SessionList doomed;   /* closed, freed by reap_event */
        size_t n_sessions;
        uint64_t next_session_id;
        /* Quotas per user (quota.h), configured from settings.quota at
         * start and on SIGHUP; every accepted session is bound to its
         * user's bucket. */
        Quota *quota;
        SlabPool *slabs; /* the sessions' per-call counts (async.c; slab.h) */
        /* Connections refused for `sessions` are logged at most once per
         * SERVER_REFUSAL_LOG_MS per uid in a row (a client that retries
         * in a loop must not flood the log); the rest at debug. */
        uid_t refused_uid;
        uint64_t refused_logged_usec; /* 0: none yet */
        struct event *reap_event;

        struct event *sigterm_event, *sigint_event, *sighup_event;
        bool shutting_down;
        bool shutdown_done;
        struct event *shutdown_event; /* finishes the shutdown */

        /* The repository, the providers and the data operations; NULL
         * until server_open_repository(). */
        Engine *engine;
        Provider *process; /* the engine's process provider (for the events log line) */
        /* Rights per namespace (rights.h), from the repository; NULL until
         * server_open_repository() (nothing is guarded then). */
        Rights *rights;
        /* Engine sink callbacks running (async.c): calls must not be
         * released meanwhile. */
        unsigned sink_callbacks;
        /* The last event's JSON text, made once for all its deliveries
         * (async.c); NULL until an event is delivered. */
        AsyncEventText *event_text;

        /* for LWMI_Daemon (selfprov.h) */
        uint64_t start_usec;     /* wall clock, since the epoch */
        uint64_t events_dropped; /* Indicates of events not delivered */
        uint64_t events_delivered; /* Indicates of events queued to a session */
        uint64_t sessions_lost[4]; /* by SessionLoss (session.h; checked there) */
        uint64_t registrations_reclaimed; /* calls released by sessions that ended */

        /* Heap trimming: after sessions that released much (calls, queued
         * output) are freed, malloc_trim(0) runs once the loop has been
         * free of them for SERVER_TRIM_DELAY_MS. */
        struct event *trim_event;
        struct event *reclaim_event; /* frees released calls in steps */
        uint64_t reclaim_turns;      /* loop turns spent on it */
        size_t trim_calls;  /* released since the last trim */
        size_t trim_bytes;
        uint64_t trims;     /* malloc_trim calls made */
        unsigned trim_waits; /* turns it waited for the loop to be idle */

        /* sock_diag, for the unread bytes of Unix sessions (sockdiag.h):
         * opened on first use; -1: not yet, -2: unavailable */
        int sockdiag_fd;
        uint32_t sockdiag_seq;
} Server;

/* A server with its loop and settings (cmdline and the resolved options;
 * both copied), nothing started. */
int server_new(const Settings *cmdline, const Settings *resolved, Server **ret, Error *err);
Server *server_free(Server *s);

/* Take the socket's lock, then the repository's (a file repository is
 * locked by "<repository>.lock" next to it, so a second lwmid on the same
 * repository refuses to start even on another socket; :memory: needs
 * none), open the repository, create the socket and the TCP listener (if
 * settings.listen; refused unless loopback or settings.insecure_tcp, as
 * settings_check_listen says; its address as bound, with the port chosen
 * for port 0, is logged as "listening on tcp ADDR:PORT" and given in the
 * sd_notify STATUS), install the signal handlers and tell systemd we are
 * ready. WBEM_E_ALREADY_EXISTS when
 * another lwmid holds either lock (the message names its pid and what it
 * holds); other failures a WbemStatus or a negative errno, with a
 * message. */
int server_start(Server *s, Error *err);

/* Lock the repository (see server_start), open it in an Engine and
 * register the built-in providers (src/providers/providers.h) and the
 * daemon's own (root/lwmi, selfprov.h). server_start
 * calls it; unit tests call it directly to serve data methods without a
 * socket. Errors: WBEM_E_ALREADY_EXISTS (the lock), the engine's and the
 * providers'. */
int server_open_repository(Server *s, Error *err);

/* Run the loop until shutdown. 0, or a negative errno if the loop failed. */
int server_run(Server *s);

/* Stop accepting (the socket is removed at once, the TCP listener
 * closed), send every open call
 * SetStatus WBEM_E_SHUTTING_DOWN, close each session once its output is
 * written (within SERVER_SHUTDOWN_FLUSH_MS in all), then close the
 * engine, release the lock and leave the loop. Calling it again finishes
 * at once. */
void server_shutdown(Server *s, const char *why);

/* Re-read the configuration file (SIGHUP): the log level and the limits
 * take effect at once, also for open sessions; a new socket or repository
 * is logged as needing a restart. A bad file is logged and changes
 * nothing. Returns 0 or the error's status. */
int server_reload(Server *s);

/* Called by the listener for each connection. A session whose user has
 * all its sessions open (quota `sessions`) is answered with one error line
 * (id null, WBEM_E_QUOTA_VIOLATION saying which quota and how to raise
 * it) and closed once that is written. */
void server_accept(int fd, void *userdata);
/* The same for the TLS listener: the session starts with a handshake. */
void server_accept_tls(int fd, void *userdata);

/* A token was revoked: close the open sessions it authenticated (each
 * logs why). Returns how many. */
size_t server_close_token_sessions(Server *s, const char *token_id);

/* The sock_diag socket, opened on first use; a negative errno when the
 * kernel offers none (then never tried again). */
int server_sockdiag(Server *s);

/* Called by a session that closed: move it to the doomed list. */
void server_session_closed(Server *s, Session *session);
