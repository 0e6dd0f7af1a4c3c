/* The Server: loop, lock, listener, signals, sessions; see server.h. */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "engine.h"
#include "filetrust.h"
#include "listener.h"
#include "lockfile.h"
#include "log.h"
#include "mem.h"
#include "netaddr.h"
#include "async.h"
#include "privdrop.h"
#include "providers.h"
#include "quota.h"
#include "rpc.h"
#include "rights.h"
#include "selfprov.h"
#include "session.h"
#include "sockdiag.h"
#include "timers.h"
#include "tls.h"
#include "tokens.h"

static void server_shutdown_cb(evutil_socket_t fd, short what, void *userdata);

/* Give freed memory back to the system: free() only returns the top of
 * the heap, and a released session leaves its registrations' memory
 * spread through it. */
static void server_trim_cb(evutil_socket_t fd, short what, void *userdata) {
        Server *s = userdata;
        (void)fd;
        (void)what;

        /* It takes a while (the kernel frees every page: some 20-50 ms
         * after 100,000 registrations), so it waits for a turn with
         * nothing else to do, up to SERVER_TRIM_MAX_WAITS times. */
        if (event_base_get_num_events(s->base, EVENT_BASE_COUNT_ACTIVE) > 0 &&
            s->trim_waits < SERVER_TRIM_MAX_WAITS) {
                static const struct timeval retry = { 0, SERVER_TRIM_RETRY_MS * 1000 };
                s->trim_waits++;
                evtimer_add(s->trim_event, &retry);
                return;
        }
        s->trim_waits = 0;
        uint64_t start = session_now_usec();
        int released = malloc_trim(0);
        s->trims++;
        log_debug("malloc_trim after releasing %zu calls and %zu bytes of output: %s in %" PRIu64
                  " us",
                  s->trim_calls, s->trim_bytes, released ? "memory returned" : "nothing returned",
                  session_now_usec() - start);
        s->trim_calls = 0;
        s->trim_bytes = 0;
}

/* Trim once what sessions released is all freed. */
static void server_schedule_trim(Server *s) {
        if ((s->trim_calls >= SERVER_TRIM_MIN_CALLS || s->trim_bytes >= SERVER_TRIM_MIN_BYTES) &&
            s->trim_event && !evtimer_pending(s->trim_event, NULL)) {
                static const struct timeval delay = { 0, SERVER_TRIM_DELAY_MS * 1000 };
                evtimer_add(s->trim_event, &delay);
        }
}

/* Free the memory of released calls in bounded steps: a lost session's
 * registrations were unlinked from the engine in one pass (session.c),
 * their free()s spread over turns so no other client waits for them all. */
static void server_reclaim_cb(evutil_socket_t fd, short what, void *userdata) {
        Server *s = userdata;
        uint64_t start = session_now_usec();
        size_t left;
        (void)fd;
        (void)what;

        s->reclaim_turns++;
        do
                left = s->engine ? engine_reclaim(s->engine, SERVER_RECLAIM_BATCH) : 0;
        while (left > 0 && session_now_usec() - start < SERVER_RECLAIM_USEC);
        if (left > 0) {
                static const struct timeval next_turn = { 0, 0 };
                evtimer_add(s->reclaim_event, &next_turn);
                return;
        }
        server_schedule_trim(s);
}

static void server_reap_cb(evutil_socket_t fd, short what, void *userdata) {
        Server *s = userdata;
        Session *session;
        (void)fd;
        (void)what;

        /* A burst of closes (1,000 sessions dropped at once) is freed
         * over several turns, SERVER_REAP_PER_TURN at a time. */
        for (unsigned n = 0; (session = TAILQ_FIRST(&s->doomed)); n++) {
                if (n == SERVER_REAP_PER_TURN) {
                        static const struct timeval next_turn = { 0, 0 };
                        evtimer_add(s->reap_event, &next_turn);
                        return;
                }
                TAILQ_REMOVE(&s->doomed, session, link);
                s->trim_calls += session->released_calls;
                s->trim_bytes += session->discarded_bytes;
                session_free(session);
        }
        if (s->engine && engine_reclaim(s->engine, 0) > 0) {
                if (!evtimer_pending(s->reclaim_event, NULL)) {
                        static const struct timeval next_turn = { 0, 0 };
                        evtimer_add(s->reclaim_event, &next_turn);
                }
                return;
        }
        server_schedule_trim(s);
}

void server_session_closed(Server *s, Session *session) {
        TAILQ_REMOVE(&s->sessions, session, link);
        TAILQ_INSERT_TAIL(&s->doomed, session, link);
        s->n_sessions--;
        if (s->shutting_down && !s->shutdown_done && TAILQ_EMPTY(&s->sessions)) {
                /* the last one flushed: finish on the next turn */
                static const struct timeval now = { 0, 0 };
                evtimer_add(s->shutdown_event, &now);
        }
        /* Freed on a later loop turn (a zero timer runs only after the loop
         * has polled again): the session may be deep inside one of its own
         * callbacks right now. */
        static const struct timeval next_turn = { 0, 0 };
        evtimer_add(s->reap_event, &next_turn);
}

int server_sockdiag(Server *s) {
        if (s->sockdiag_fd == -1) {
                int fd = sockdiag_open();
                if (fd < 0)
                        log_info("no sock_diag (%s): Unix sessions' unread output is measured "
                                 "with SIOCOUTQ",
                                 strerror(-fd));
                s->sockdiag_fd = fd < 0 ? -2 : fd;
        }
        return s->sockdiag_fd >= 0 ? s->sockdiag_fd : -ENOTSUP;
}

void server_accept(int fd, void *userdata) {
        Server *s = userdata;
        Session *session;
        int r;

        r = session_new(s, fd, ++s->next_session_id, &session);
        if (r < 0) {
                log_error("cannot set up a session for a new connection: %s", strerror(-r));
                return;
        }
        TAILQ_INSERT_TAIL(&s->sessions, session, link);
        s->n_sessions++;

        Error e = { 0 };
        r = session_quota_bind(session, &e);
        if (r == 0)
                return;
        if (r < 0) {
                session_close(session, "out of memory binding its quota");
                return;
        }
        /* Refused: one clear line, then the connection closes. */
        uint64_t now = session_now_usec();
        if (s->refused_logged_usec == 0 || s->refused_uid != session->uid ||
            now - s->refused_logged_usec >= (uint64_t)SERVER_REFUSAL_LOG_MS * 1000u) {
                log_info("session %llu refused: %s (further refusals of this uid within %d s "
                         "are logged at debug level)",
                         (unsigned long long)session->id, e.message,
                         SERVER_REFUSAL_LOG_MS / 1000);
                s->refused_uid = session->uid;
                s->refused_logged_usec = now;
        } else {
                log_debug("session %llu refused: %s", (unsigned long long)session->id, e.message);
        }
        session_send_error(session, NULL, rpc_code_for_status(r), &e);
        session_close_after_flush(session, "refused: quota 'sessions' exceeded");
}

void server_accept_tls(int fd, void *userdata) {
        Server *s = userdata;
        Session *session;
        int r;

        SSL *ssl = tls_server_new_ssl(s->tls);
        if (!ssl) {
                close(fd);
                log_error("cannot set up TLS for a new connection: out of memory");
                return;
        }
        r = session_new_tls(s, fd, ssl, ++s->next_session_id, &session);
        if (r < 0) {
                log_error("cannot set up a session for a new connection: %s", strerror(-r));
                return;
        }
        TAILQ_INSERT_TAIL(&s->sessions, session, link);
        s->n_sessions++;
}

size_t server_close_token_sessions(Server *s, const char *token_id) {
        Session *session, *next;
        size_t n = 0;

        for (session = TAILQ_FIRST(&s->sessions); session; session = next) {
                next = TAILQ_NEXT(session, link);
                if (session->state == SESSION_CLOSED || !session->tls ||
                    strcmp(session->token_id, token_id) != 0)
                        continue;
                session_close(session, "its token %s was revoked", token_id);
                n++;
        }
        return n;
}

static void server_signal_cb(evutil_socket_t sig, short what, void *userdata) {
        Server *s = userdata;
        (void)what;

        if (sig == SIGHUP) {
                (void)server_reload(s);
                return;
        }
        server_shutdown(s, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static bool streq_ptr(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool server_repository_in_memory(const Server *s) {
        return strcmp(s->settings.repository, ":memory:") == 0;
}

int server_new(const Settings *cmdline, const Settings *resolved, Server **ret, Error *err) {
        Server *s;

        s = mem_calloc(1, sizeof(*s));
        if (!s)
                return error_from_errno(err, -ENOMEM);
        if (slab_pool_new(&s->slabs) < 0) {
                mem_free(s);
                return error_from_errno(err, -ENOMEM);
        }
        s->lock_fd = -1;
        s->repo_lock_fd = -1;
        s->sockdiag_fd = -1;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        s->start_usec = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
        TAILQ_INIT(&s->sessions);
        TAILQ_INIT(&s->doomed);
        settings_init(&s->cmdline);
        settings_init(&s->settings);
        if (settings_copy(cmdline, &s->cmdline) < 0 || settings_copy(resolved, &s->settings) < 0)
                goto oom;
        if (quota_new(&s->quota) < 0 || quota_configure(s->quota, &s->settings.quota, NULL) < 0)
                goto oom;
        s->lock_path = mem_printf("%s.lock", s->settings.socket_path);
        if (!s->lock_path)
                goto oom;
        if (!server_repository_in_memory(s)) {
                s->repo_lock_path = mem_printf("%s.lock", s->settings.repository);
                if (!s->repo_lock_path)
                        goto oom;
        }
        s->base = event_base_new();
        if (!s->base) {
                server_free(s);
                return error_set(err, WBEM_E_FAILED, "cannot create the event loop");
        }
        s->reap_event = evtimer_new(s->base, server_reap_cb, s);
        s->shutdown_event = evtimer_new(s->base, server_shutdown_cb, s);
        s->trim_event = evtimer_new(s->base, server_trim_cb, s);
        s->reclaim_event = evtimer_new(s->base, server_reclaim_cb, s);
        if (!s->reap_event || !s->shutdown_event || !s->trim_event || !s->reclaim_event)
                goto oom;
        *ret = s;
        return 0;
oom:
        server_free(s);
        return error_from_errno(err, -ENOMEM);
}

/* The repository is locked with a file of its own, next to it: the
 * repository's cache assumes a single writer (repo.h), and two daemons on
 * different sockets would otherwise share one file. The lock is taken
 * before the repository is opened (so a refused daemon never touches it)
 * and held until the daemon exits. Its directory is created first, as
 * repo_open() would: mode 0700, the repository is private. */
static int server_lock_repository(Server *s, Error *err) {
        pid_t holder = 0;
        int r;

        if (!s->repo_lock_path)
                return 0;
        _cleanup_free_ char *dir = mem_strdup(s->settings.repository);
        if (!dir)
                return error_from_errno(err, -ENOMEM);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                r = listener_mkdir_parents(dir, 0700, err);
                if (r != 0)
                        return r;
        }
        /* Whoever can replace the repository decides every class, every
         * static instance and every right lwmid serves. */
        r = filetrust_check(s->settings.repository, "repository", geteuid(), false, err);
        if (r != 0)
                return r;
        r = lockfile_acquire(s->repo_lock_path, &s->repo_lock_fd, &holder, err);
        if (r == WBEM_E_ALREADY_EXISTS) {
                if (holder > 0)
                        return error_set(err, r,
                                         "another lwmid (pid %ld) is already using the "
                                         "repository %s (it holds the lock %s)",
                                         (long)holder, s->settings.repository, s->repo_lock_path);
                return error_set(err, r,
                                 "another lwmid is already using the repository %s (it holds "
                                 "the lock %s)",
                                 s->settings.repository, s->repo_lock_path);
        }
        return r;
}

/* Poll timers on our loop, and the event options in force. */
static void server_set_event_hooks(Server *s) {
        EngineTimerOps timers = timers_ops(s->base);
        EngineEventOptions opts = { .min_within_usec =
                                            (uint64_t)s->settings.min_within_ms * 1000u };
        engine_set_event_hooks(s->engine, &timers, &opts);
}

/* Lock the repository, then open it with the providers. server_start
 * runs this after the socket lock and before the socket exists, so
 * clients never see a half-started daemon. */
int server_open_repository(Server *s, Error *err) {
        static int (*const provider_new[])(Provider **) = {
                os_provider_new,
                file_provider_new,
                netif_provider_new,
        };
        EngineOptions opts = { .repository_path = s->settings.repository };
        ProcessOptions process_opts = {
                .proc_connector = s->settings.proc_connector,
                .fork_grace_ms = (unsigned)s->settings.fork_grace_ms,
        };
        Provider *process = NULL;
        int r;

        r = server_lock_repository(s, err);
        if (r != 0)
                return r;
        r = engine_new(&opts, &s->engine, err);
        if (r == 0)
                r = rights_new(engine_repo(s->engine), &s->rights, err);
        if (r != 0)
                return r;
        r = tokens_new(repo_sqlite(engine_repo(s->engine)), 0, &s->tokens, err);
        if (r != 0)
                return r;
        server_set_event_hooks(s);
        for (size_t i = 0; i <= ELEMENTSOF(provider_new) + 1; i++) {
                Provider *p;
                /* the process provider, the other built-in ones, then the
                 * daemon's self-description */
                if (i == 0)
                        r = process_provider_new_with("/proc", &process_opts, &p);
                else if (i <= ELEMENTSOF(provider_new))
                        r = provider_new[i - 1](&p);
                else
                        r = selfprov_new(s, &p);
                if (r < 0)
                        return error_from_errno(err, r);
                if (i == 0)
                        process = p;
                /* The engine takes p over, also when this fails. */
                r = engine_register_provider(s->engine, p, err);
                if (r != 0)
                        return r;
        }
        s->process = process;
        log_debug("repository %s open (host name %s)", s->settings.repository,
                  engine_host_name(s->engine));
        return 0;
}

/* Close the engine (sessions, and the cursors their queries held, are
 * gone by now), then drop the repository's lock. */
static void server_close_repository(Server *s) {
        /* it holds an event of the engine's */
        s->event_text = async_event_text_free(s->event_text);
        s->tokens = tokens_free(s->tokens);
        s->rights = rights_free(s->rights);
        s->engine = engine_free(s->engine);
        lockfile_release(s->repo_lock_path, s->repo_lock_fd);
        s->repo_lock_fd = -1;
}

/* The TCP listener, if the settings ask for one. Sessions on plain TCP
 * start exactly like those on the Unix socket (server_accept), without
 * peer credentials: there is no SO_PEERCRED over TCP. On TLS they start
 * with the handshake and get the identity they authenticate as. */
static int server_listen_tcp(Server *s, Error *err) {
        NetAddr addr;
        bool tls = false;
        int r;

        if (!s->settings.listen)
                return 0;
        /* settings_resolve checked this already; server_start does not rely
         * on its callers for a security rule. */
        r = settings_check_listen(&s->settings, err);
        if (r != 0)
                return r;
        r = netaddr_parse_listen(s->settings.listen, "listen", &addr, &tls, err);
        if (r != 0)
                return r;
        if (tls) {
                r = tls_server_new(s->settings.tls_cert, s->settings.tls_key, s->settings.tls_ca,
                                   &s->tls, err);
                if (r != 0)
                        return r;
        }
        r = listener_new_tcp(s->base, &addr, tls ? server_accept_tls : server_accept, s,
                             &s->tcp_listener, err);
        if (r != 0)
                return r;
        if (tls) {
                r = listener_set_kind(s->tcp_listener, "tls");
                if (r < 0)
                        return error_from_errno(err, r);
                if (!s->settings.tls_ca)
                        log_info("%s: no --tls-ca, so no client certificates are asked for: "
                                 "clients authenticate with tokens",
                                 listener_name(s->tcp_listener));
        } else if (!netaddr_is_loopback(&addr))
                log_warning("--insecure-tcp: listening on %s, which is not loopback, without "
                            "authentication; anyone who can reach it can use lwmid as any "
                            "local user could (meant for tests in private network namespaces)",
                            listener_name(s->tcp_listener));
        return 0;
}

/* Everything that needed root is done (socket bound, repository open,
 * directories made): keep only what the providers use (privdrop.h). Before
 * readiness, so nobody ever talks to a privileged lwmid. */
static int server_drop_privileges(Server *s, Error *err) {
        PrivdropResult res;
        char kept[256];
        int r;

        if (!s->settings.drop_privileges) {
                log_info("privileges not dropped (drop_privileges = false)");
                return 0;
        }
        r = privdrop_apply(PRIVDROP_KEEP, &res, err);
        if (r != 0)
                return r;
        privdrop_format(res.kept, kept, sizeof(kept));
        if (res.kept == 0 && !res.bounding_cleared)
                log_info("privileges: lwmid holds no capabilities, nothing to drop; "
                         "no_new_privs set");
        else if (res.bounding == res.kept)
                log_info("privileges dropped: capabilities kept %s (bounding set the same), "
                         "no_new_privs set%s",
                         kept,
                         res.securebits_locked ? ", securebits locked"
                                               : " (securebits not locked: no CAP_SETPCAP)");
        else {
                char bounding[512];
                log_info("privileges dropped: capabilities kept %s, no_new_privs set; the "
                         "bounding set stays %s (no CAP_SETPCAP to shrink it; no_new_privs "
                         "keeps it unusable)",
                         kept, privdrop_format(res.bounding, bounding, sizeof(bounding)));
        }
        return 0;
}

int server_start(Server *s, Error *err) {
        pid_t holder = 0;
        int r;

        /* The lock file lives next to the socket. */
        r = listener_check_path(s->settings.socket_path, err);
        if (r != 0)
                return r;
        r = listener_mkdir_socket_dir(s->settings.socket_path, err);
        if (r != 0)
                return r;
        r = lockfile_acquire(s->lock_path, &s->lock_fd, &holder, err);
        if (r == WBEM_E_ALREADY_EXISTS) {
                if (holder > 0)
                        return error_set(err, r,
                                         "another lwmid (pid %ld) is already serving %s (it holds "
                                         "the lock %s)",
                                         (long)holder, s->settings.socket_path, s->lock_path);
                return error_set(err, r,
                                 "another lwmid is already serving %s (it holds the lock %s)",
                                 s->settings.socket_path, s->lock_path);
        }
        if (r != 0)
                return r;

        /* A fixed mmap threshold: glibc raises it each time a mapped block
         * is freed (up to 32 MiB), after which a stalled consumer's
         * backlog (session.c, SESSION_BULK_CHAIN) would come from the heap
         * again and leave it fragmented once released. Fixing it also
         * fixes the trim threshold, which glibc would have raised along:
         * set it too, or free() would shrink the heap and the next read
         * grow it again (a system call and page faults per request
         * chain). What is freed in bulk is trimmed anyway (server_trim_cb). */
        (void)mallopt(M_MMAP_THRESHOLD, SERVER_MMAP_THRESHOLD);
        (void)mallopt(M_TRIM_THRESHOLD, SERVER_TRIM_THRESHOLD);

        r = server_open_repository(s, err);
        if (r != 0)
                return r;

        r = listener_new(s->base, s->settings.socket_path, server_accept, s, &s->listener, err);
        if (r != 0)
                return r;
        r = server_listen_tcp(s, err);
        if (r != 0)
                return r;

        s->sigterm_event = evsignal_new(s->base, SIGTERM, server_signal_cb, s);
        s->sigint_event = evsignal_new(s->base, SIGINT, server_signal_cb, s);
        s->sighup_event = evsignal_new(s->base, SIGHUP, server_signal_cb, s);
        if (!s->sigterm_event || !s->sigint_event || !s->sighup_event ||
            event_add(s->sigterm_event, NULL) < 0 || event_add(s->sigint_event, NULL) < 0 ||
            event_add(s->sighup_event, NULL) < 0)
                return error_set(err, WBEM_E_FAILED, "cannot install signal handlers");

        log_info("listening on %s (pid %ld, repository %s, max line %zu bytes, keepalive %zu ms, "
                 "stall bound %zu ms)",
                 s->settings.socket_path, (long)getpid(), s->settings.repository,
                 s->settings.max_line_bytes, s->settings.keepalive_ms,
                 s->settings.stall_timeout_ms);
        if (s->tcp_listener)
                log_info("listening on %s", listener_name(s->tcp_listener));
        /* Which way process events come, once: the first event query would
         * find out anyway, but an operator wants to know at start. */
        char why[256];
        if (process_provider_native_events(s->process, why, sizeof(why)))
                log_info("Linux_Process events are native, from the kernel's proc connector "
                         "(fork grace %zu ms)",
                         s->settings.fork_grace_ms);
        else
                log_info("Linux_Process events are polled only (event queries need WITHIN): %s",
                         why);
        r = server_drop_privileges(s, err);
        if (r != 0)
                return r;
        /* Not running under systemd is fine: sd_notify() then does nothing. */
        (void)sd_notifyf(0, "READY=1\nSTATUS=Listening on %s%s%s\nMAINPID=%ld",
                         s->settings.socket_path, s->tcp_listener ? " and " : "",
                         s->tcp_listener ? listener_name(s->tcp_listener) : "", (long)getpid());
        return 0;
}

int server_run(Server *s) {
        if (event_base_dispatch(s->base) < 0)
                return -EIO;
        return 0;
}

/* The last step of a shutdown: every session is closed (those still
 * flushing lose what they have not written), then the engine, the lock and
 * the loop go. Runs from its own timer, never inside a session's or the
 * engine's callback. */
static void server_finish_shutdown(Server *s) {
        Session *session;

        if (!s->shutting_down || s->shutdown_done)
                return;
        s->shutdown_done = true;
        event_del(s->shutdown_event);
        while ((session = TAILQ_FIRST(&s->sessions)))
                session_close(session, "server shutting down; output not flushed within %d ms",
                              SERVER_SHUTDOWN_FLUSH_MS);
        /* Freed before the engine: a session closed inside an engine
         * callback still holds its sinks until it is freed. */
        server_reap_cb(-1, 0, s);
        server_close_repository(s);
        lockfile_release(s->lock_path, s->lock_fd);
        s->lock_fd = -1;
        event_base_loopexit(s->base, NULL);
}

static void server_shutdown_cb(evutil_socket_t fd, short what, void *userdata) {
        (void)fd;
        (void)what;
        server_finish_shutdown(userdata);
}

void server_shutdown(Server *s, const char *why) {
        Session *session, *next;
        size_t n = s->n_sessions, calls = 0;

        if (s->shutting_down) {
                /* asked again (main after the loop): finish now */
                server_finish_shutdown(s);
                return;
        }
        s->shutting_down = true;
        (void)sd_notify(0, "STOPPING=1\nSTATUS=Shutting down");

        s->listener = listener_free(s->listener); /* also removes the socket */
        s->tcp_listener = listener_free(s->tcp_listener);
        /* Every open call learns why it ends (SetStatus
         * WBEM_E_SHUTTING_DOWN), then each session closes once its output
         * is written, within SERVER_SHUTDOWN_FLUSH_MS in all. */
        for (session = TAILQ_FIRST(&s->sessions); session; session = next) {
                next = TAILQ_NEXT(session, link);
                if (session->state != SESSION_OPEN)
                        continue;
                calls += async_shutdown(session->async);
                session_close_after_flush(session, "server shutting down");
        }
        log_info("shutting down (%s): closing %zu session%s, ending %zu call%s", why, n,
                 n == 1 ? "" : "s", calls, calls == 1 ? "" : "s");
        struct timeval bound = { 0, 0 };
        if (!TAILQ_EMPTY(&s->sessions))
                bound = (struct timeval){ SERVER_SHUTDOWN_FLUSH_MS / 1000,
                                          (SERVER_SHUTDOWN_FLUSH_MS % 1000) * 1000 };
        if (!s->shutdown_event || evtimer_add(s->shutdown_event, &bound) < 0)
                server_finish_shutdown(s);
}

int server_reload(Server *s) {
        Settings fresh;
        Error e;
        int r;

        if (!s->cmdline.config_path) {
                log_info("SIGHUP: no configuration file to re-read");
                return 0;
        }
        (void)sd_notify(0, "RELOADING=1");
        r = settings_resolve(&s->cmdline, &fresh, &e);
        if (r != 0) {
                log_error("SIGHUP: configuration not reloaded, keeping the current one: %s",
                          e.message);
                (void)sd_notify(0, "READY=1");
                return r;
        }

        if (strcmp(fresh.socket_path, s->settings.socket_path) != 0)
                log_warning("SIGHUP: socket changed to %s in %s; still serving %s until a "
                            "restart",
                            fresh.socket_path, s->cmdline.config_path, s->settings.socket_path);
        if (strcmp(fresh.repository, s->settings.repository) != 0)
                log_warning("SIGHUP: repository changed to %s in %s; still using %s until a "
                            "restart",
                            fresh.repository, s->cmdline.config_path, s->settings.repository);
        if (fresh.proc_connector != s->settings.proc_connector ||
            fresh.fork_grace_ms != s->settings.fork_grace_ms)
                log_warning("SIGHUP: proc_connector or fork_grace_ms changed in %s; the process "
                            "events keep the current setting until a restart",
                            s->cmdline.config_path);
        if (fresh.drop_privileges != s->settings.drop_privileges)
                log_warning("SIGHUP: drop_privileges changed in %s; takes effect at a restart",
                            s->cmdline.config_path);
        if (!streq_ptr(fresh.listen, s->settings.listen) ||
            fresh.insecure_tcp != s->settings.insecure_tcp ||
            !streq_ptr(fresh.tls_cert, s->settings.tls_cert) ||
            !streq_ptr(fresh.tls_key, s->settings.tls_key) ||
            !streq_ptr(fresh.tls_ca, s->settings.tls_ca))
                log_warning("SIGHUP: listen, insecure_tcp or tls_* changed in %s; still "
                            "listening on %s as before until a restart",
                            s->cmdline.config_path,
                            s->tcp_listener ? listener_name(s->tcp_listener) : "no TCP address");
        if (fresh.log_level != s->settings.log_level) {
                s->settings.log_level = fresh.log_level;
                log_set_max_level(fresh.log_level);
        }
        if (fresh.max_line_bytes != s->settings.max_line_bytes) {
                Session *session;
                s->settings.max_line_bytes = fresh.max_line_bytes;
                TAILQ_FOREACH(session, &s->sessions, link)
                if (session->state == SESSION_OPEN)
                        session_set_max_line(session, fresh.max_line_bytes);
        }
        /* For sessions that connect from now on. */
        s->settings.tls_auth_timeout_ms = fresh.tls_auth_timeout_ms;
        /* Read by each query as it starts. */
        s->settings.max_result_objects = fresh.max_result_objects;
        s->settings.max_result_bytes = fresh.max_result_bytes;
        /* Read by every session at each event. */
        s->settings.max_backlog_bytes = fresh.max_backlog_bytes;
        /* Quotas: every user's limits, also for what open sessions ask
         * next (what they hold stays). */
        if (quota_configure(s->quota, &fresh.quota, NULL) < 0) {
                log_error("SIGHUP: out of memory applying the quotas; the old ones stay");
        } else {
                QuotaConfig tmp = s->settings.quota;
                s->settings.quota = fresh.quota;
                fresh.quota = tmp;
        }
        /* For new subscriptions; registered ones keep their interval. */
        s->settings.min_within_ms = fresh.min_within_ms;
        /* Liveness: open sessions too (a keepalive chosen by Hello stays). */
        if (fresh.keepalive_ms != s->settings.keepalive_ms ||
            fresh.stall_timeout_ms != s->settings.stall_timeout_ms) {
                Session *session;
                s->settings.keepalive_ms = fresh.keepalive_ms;
                s->settings.stall_timeout_ms = fresh.stall_timeout_ms;
                TAILQ_FOREACH(session, &s->sessions, link)
                session_settings_changed(session);
        }
        if (s->engine)
                server_set_event_hooks(s);
        log_info("SIGHUP: reloaded %s (log level %s, max line %zu bytes, results up to %zu "
                 "objects and %zu bytes, WITHIN at least %zu ms, keepalive %zu ms, stall "
                 "bound %zu ms, backlog up to %zu bytes)",
                 s->cmdline.config_path, log_level_name(s->settings.log_level),
                 s->settings.max_line_bytes, s->settings.max_result_objects,
                 s->settings.max_result_bytes, s->settings.min_within_ms,
                 s->settings.keepalive_ms, s->settings.stall_timeout_ms,
                 s->settings.max_backlog_bytes);
        settings_done(&fresh);
        (void)sd_notify(0, "READY=1");
        return 0;
}

Server *server_free(Server *s) {
        Session *session;

        if (!s)
                return NULL;
        while ((session = TAILQ_FIRST(&s->sessions)))
                session_close(session, "server shutting down");
        while ((session = TAILQ_FIRST(&s->doomed))) {
                TAILQ_REMOVE(&s->doomed, session, link);
                session_free(session);
        }
        listener_free(s->listener);
        listener_free(s->tcp_listener);
        server_close_repository(s);
        tls_server_free(s->tls);
        if (s->lock_fd >= 0)
                lockfile_release(s->lock_path, s->lock_fd);
        if (s->sigterm_event)
                event_free(s->sigterm_event);
        if (s->sigint_event)
                event_free(s->sigint_event);
        if (s->sighup_event)
                event_free(s->sighup_event);
        if (s->reap_event)
                event_free(s->reap_event);
        if (s->shutdown_event)
                event_free(s->shutdown_event);
        if (s->trim_event)
                event_free(s->trim_event);
        if (s->reclaim_event)
                event_free(s->reclaim_event);
        if (s->sockdiag_fd >= 0)
                close(s->sockdiag_fd);
        if (s->base)
                event_base_free(s->base);
        s->quota = quota_free(s->quota);
        slab_pool_free(s->slabs);
        settings_done(&s->cmdline);
        settings_done(&s->settings);
        mem_free(s->lock_path);
        mem_free(s->repo_lock_path);
        mem_free(s);
        return NULL;
}
