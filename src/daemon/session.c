/* One client connection: framing, decoding, dispatch and ordered answers;
 * see session.h. */
#include "session.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "account.h"
#include "async.h"
#include "cleanup.h"
#include "log.h"
#include "mem.h"
#include "methods.h"
#include "netaddr.h"
#include "quota.h"
#include "rights.h"
#include "rpc.h"
#include "server.h"
#include "sockdiag.h"
#include "tls.h"

uint64_t session_now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static unsigned long long session_idu(const Session *s) {
        return (unsigned long long)s->id;
}

const char *session_loss_name(SessionLoss loss) {
        static const char *const names[SESSION_LOSS_N] = {
                [SESSION_LOSS_CLOSED] = "closed",
                [SESSION_LOSS_RESET] = "reset",
                [SESSION_LOSS_STALL] = "stall",
                [SESSION_LOSS_KEEPALIVE] = "keepalive",
        };
        return (unsigned)loss < SESSION_LOSS_N ? names[loss] : "unknown";
}

_Static_assert(sizeof(((Server *)0)->sessions_lost) / sizeof(uint64_t) == SESSION_LOSS_N,
               "Server.sessions_lost has one counter per SessionLoss");

/* ---- liveness -------------------------------------------------------------- */

static uint64_t session_stall_usec(const Session *s) {
        return (uint64_t)s->server->settings.stall_timeout_ms * 1000u;
}

static uint64_t session_keepalive_usec(const Session *s) {
        return (uint64_t)s->keepalive_ms * 1000u;
}

int session_set_tcp_user_timeout(int fd, unsigned keepalive_ms) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof(addr);

        if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
                return -errno;
        if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)
                return 0;
        /* Unacknowledged data fails the connection within the keepalive's
         * bound, even while the Ping itself cannot get through. */
        unsigned timeout = keepalive_ms + keepalive_ms / 2;
        if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout)) < 0)
                return -errno;
        return 0;
}

uint64_t session_output_queued(const Session *s) {
        return s->output.queued;
}

/* Find the Unix peer's socket (once, when a stall check first needs it:
 * the lookup walks the kernel's table of Unix sockets). */
static void session_learn_peer(Session *s) {
        Server *server = s->server;
        struct stat st;
        int diag;

        if (s->peer_ino_tried || s->tcp)
                return;
        s->peer_ino_tried = true;
        diag = server_sockdiag(server);
        if (diag < 0 || fstat(bufferevent_getfd(s->bev), &st) < 0 ||
            sockdiag_unix_peer(diag, ++server->sockdiag_seq, (uint64_t)st.st_ino, &s->peer_ino) < 0)
                s->peer_ino = 0;
}

/* The bytes a Unix peer has not read, exactly (sockdiag.h). 0 or a
 * negative errno: not a Unix socket, no sock_diag, peer not known. */
static int session_unix_unread(const Session *s, uint64_t *ret) {
        if (s->tcp || s->peer_ino == 0 || s->server->sockdiag_fd < 0)
                return -ENOTSUP;
        return sockdiag_unix_unread(s->server->sockdiag_fd, ++s->server->sockdiag_seq, s->peer_ino,
                                    ret);
}

uint64_t session_output_taken(const Session *s) {
        uint64_t written = s->output.queued - evbuffer_get_length(bufferevent_get_output(s->bev));
        uint64_t unsent = 0;
        int outq = 0;

        /* A Unix peer's unread bytes, or SIOCOUTQ: TCP's bytes not yet
         * acknowledged; for a Unix socket the bytes the peer has not read
         * counted with the kernel's per-buffer overhead (more than there
         * are: the oldest byte may look older than it is, never younger). */
        if (session_unix_unread(s, &unsent) < 0) {
                if (ioctl(bufferevent_getfd(s->bev), SIOCOUTQ, &outq) < 0 || outq < 0)
                        outq = 0;
                unsent = (uint64_t)outq;
        }
        return unsent >= written ? 0 : written - unsent;
}

/* Have the liveness timer fire by due (sooner if it already will). */
static void session_liveness_arm(Session *s, uint64_t due) {
        if (s->liveness_due_usec != 0 && s->liveness_due_usec <= due)
                return;
        uint64_t now = session_now_usec();
        uint64_t delay = due > now ? due - now : 0;
        struct timeval tv = { .tv_sec = (time_t)(delay / 1000000u),
                              .tv_usec = (suseconds_t)(delay % 1000000u) };
        if (evtimer_add(s->liveness_event, &tv) == 0)
                s->liveness_due_usec = due ? due : 1;
}

/* Check again on the next loop turn. */
static void session_liveness_recheck(Session *s) {
        s->liveness_due_usec = 0;
        session_liveness_arm(s, session_now_usec());
}

/* Whether lwmid owes the client work: a request in progress, complete
 * requests it has not handled yet (a pipelined batch takes a while), or
 * bytes it left in the kernel because it stopped reading them itself
 * (output over the high-water mark, a full line buffer). A client waiting
 * for that is not silent: the silence is lwmid's. */
static bool session_owes_work(Session *s) {
        struct evbuffer *in = bufferevent_get_input(s->bev);
        size_t have = evbuffer_get_length(in);
        struct evbuffer_ptr start;
        int waiting = 0;

        if (s->job)
                return true;
        if (have > s->scanned && evbuffer_ptr_set(in, &start, s->scanned, EVBUFFER_PTR_SET) == 0 &&
            evbuffer_search(in, "\n", 1, &start).pos >= 0)
                return true;
        if (!s->output_paused && have <= s->max_line_bytes)
                return false;
        /* TLS: a record OpenSSL has read from the kernel and not yet given
         * to the buffer is waiting on us as much as bytes in the kernel. */
        if (s->tls) {
                SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
                if (ssl && SSL_pending(ssl) > 0)
                        return true;
        }
        return ioctl(bufferevent_getfd(s->bev), FIONREAD, &waiting) == 0 && waiting > 0;
}

/* The keepalive's Ping. With every slot taken by Pings the client never
 * answered, the oldest is forgotten: it is the silence that matters. */
static int session_keepalive_ping(Session *s) {
        int r = session_send_ping(s);

        if (r == -EBUSY) {
                size_t oldest = 0;
                for (size_t i = 1; i < SESSION_MAX_PINGS; i++)
                        if (s->pings[i].number < s->pings[oldest].number)
                                oldest = i;
                s->pings[oldest] = (SessionPing){ 0 };
                r = session_send_ping(s);
        }
        return r;
}

static void session_liveness_check(Session *s) {
        uint64_t now = session_now_usec(), due = UINT64_MAX, oldest;
        uint64_t stall = session_stall_usec(s);

        if (s->state != SESSION_OPEN)
                return; /* a draining session has its own bound */

        if (s->output.count > 0) {
                session_learn_peer(s);
                uint64_t taken = session_output_taken(s);
                if (liveness_output_oldest(&s->output, taken, &oldest)) {
                        if (now - oldest >= stall) {
                                session_lose(s, SESSION_LOSS_STALL,
                                             "output not taken by the client for %" PRIu64
                                             " ms (%" PRIu64 " bytes pending; stall bound %zu ms)",
                                             (now - oldest) / 1000u, s->output.queued - taken,
                                             s->server->settings.stall_timeout_ms);
                                return;
                        }
                        due = oldest + stall;
                }
        }

        /* A client that shut down its sending side can answer nothing;
         * it waits for its queries, and the stall rule still holds. */
        if (!s->read_eof) {
                uint64_t keepalive = session_keepalive_usec(s), ka_due = 0;
                LivenessKeepalive want = liveness_keepalive_check(
                        now, s->last_heard_usec, keepalive, &s->keepalive_ping_usec, &ka_due);
                if (want != LIVENESS_WAIT && session_owes_work(s)) {
                        /* it waits for us: count from now */
                        s->last_heard_usec = now;
                        s->keepalive_ping_usec = 0;
                        ka_due = now + keepalive;
                        want = LIVENESS_WAIT;
                }
                switch (want) {
                case LIVENESS_WAIT:
                        break;
                case LIVENESS_PING:
                        if (session_keepalive_ping(s) < 0) {
                                if (s->state != SESSION_OPEN)
                                        return;
                                ka_due = now + 100000u; /* out of memory: try again soon */
                                break;
                        }
                        s->keepalive_ping_usec = now;
                        ka_due = now + keepalive / 2;
                        log_debug("session %llu: nothing heard for %" PRIu64 " ms, Ping s:%" PRIu64
                                  " sent",
                                  (unsigned long long)s->id, (now - s->last_heard_usec) / 1000u,
                                  s->next_ping_number);
                        break;
                case LIVENESS_LOST:
                        session_lose(s, SESSION_LOSS_KEEPALIVE,
                                     "nothing heard for %" PRIu64 " ms; Ping s:%" PRIu64
                                     " unanswered for %" PRIu64 " ms (keepalive %u ms)",
                                     (now - s->last_heard_usec) / 1000u, s->next_ping_number,
                                     (now - s->keepalive_ping_usec) / 1000u, s->keepalive_ms);
                        return;
                }
                if (ka_due < due)
                        due = ka_due;
        }
        if (due != UINT64_MAX)
                session_liveness_arm(s, due);
}

static void session_liveness_cb(evutil_socket_t fd, short what, void *userdata) {
        Session *s = userdata;
        (void)fd;
        (void)what;

        s->liveness_due_usec = 0;
        session_liveness_check(s);
}

/* Bytes appended to the output: date them. */
static void session_output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                              void *userdata) {
        Session *s = userdata;
        (void)buf;

        if (info->n_deleted > 0)
                s->output_taken_usec = session_now_usec();
        if (info->n_added == 0)
                return;
        uint64_t now = session_now_usec(), stall = session_stall_usec(s), oldest;
        if (liveness_output_full(&s->output)) {
                session_learn_peer(s);
                (void)liveness_output_oldest(&s->output, session_output_taken(s), &oldest);
        }
        if (liveness_output_queued(&s->output, info->n_added, now,
                                   liveness_granularity_usec(stall)))
                session_liveness_arm(s, now + stall);
}

/* Bytes received: a complete line among them is hearing from the client. */
static void session_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                             void *userdata) {
        Session *s = userdata;
        struct evbuffer_ptr start;

        if (info->n_added == 0)
                return;
        size_t have = evbuffer_get_length(buf);
        size_t from = info->n_added < have ? have - info->n_added : 0;
        if (evbuffer_ptr_set(buf, &start, from, EVBUFFER_PTR_SET) == 0 &&
            evbuffer_search(buf, "\n", 1, &start).pos >= 0)
                s->last_heard_usec = session_now_usec();
}

void session_set_keepalive(Session *s, unsigned keepalive_ms, bool chosen) {
        s->keepalive_chosen = s->keepalive_chosen || chosen;
        if (keepalive_ms == s->keepalive_ms)
                return;
        s->keepalive_ms = keepalive_ms;
        if (s->tcp) {
                int r = session_set_tcp_user_timeout(bufferevent_getfd(s->bev), keepalive_ms);
                if (r < 0)
                        log_warning("session %llu: cannot set TCP_USER_TIMEOUT: %s",
                                    (unsigned long long)s->id, strerror(-r));
        }
        if (s->state == SESSION_OPEN)
                session_liveness_recheck(s);
}

void session_settings_changed(Session *s) {
        if (!s->keepalive_chosen)
                session_set_keepalive(s, (unsigned)s->server->settings.keepalive_ms, false);
        if (s->state == SESSION_OPEN)
                session_liveness_recheck(s);
}

/* ---- framing and dispatch ---------------------------------------------------- */

static void session_schedule(Session *s) {
        static const struct timeval now = { 0, 0 };
        /* A zero timer, not event_active(): it runs after the loop has
         * polled for I/O again, so other clients get their turn first. */
        evtimer_add(s->process_event, &now);
}

static void session_free_line(const void *data, size_t len, void *extra) {
        (void)len;
        (void)extra;
        mem_free((void *)data);
}

/* Append a line to the output. To a consumer that has stalled with
 * SESSION_BULK_AFTER bytes queued, the line starts a chain of
 * SESSION_BULK_CHAIN bytes (session.h), made in a scratch buffer and
 * moved over: libevent sizes each chain it adds like the last one with
 * data, so the chains after it are as large, until the output drains or a
 * referenced line (its own chain) comes between. */
static int session_output_add(Session *s, const void *line, size_t len) {
        struct evbuffer *out = bufferevent_get_output(s->bev);
        size_t queued = evbuffer_get_length(out);

        if (queued == 0)
                s->output_bulk = false;
        if (s->output_bulk || queued < SESSION_BULK_AFTER ||
            session_now_usec() < s->output_taken_usec + SESSION_BULK_STALLED_USEC)
                return evbuffer_add(out, line, len);

        struct evbuffer *seed = evbuffer_new();
        if (!seed)
                return -1;
        /* the chain's header is counted in the allocation libevent rounds
         * up to a power of two: ask a little less than the whole */
        int r = evbuffer_expand(seed, SESSION_BULK_CHAIN - 512);
        if (r == 0)
                r = evbuffer_add(seed, line, len);
        if (r == 0)
                r = evbuffer_add_buffer(out, seed);
        evbuffer_free(seed);
        if (r == 0)
                s->output_bulk = true;
        return r;
}

/* Queue one encoded line (taken over), after any open Indicate batch.
 * Small lines are copied into the buffer's current chunk; large ones are
 * handed over without a copy. */
static void session_queue_line(Session *s, char *line, size_t len) {
        struct evbuffer *out = bufferevent_get_output(s->bev);
        int r;

        async_flush(s->async);
        if (s->state == SESSION_CLOSED) {
                mem_free(line);
                return;
        }
        if (len < 4096) {
                r = session_output_add(s, line, len);
                mem_free(line);
        } else {
                r = evbuffer_add_reference(out, line, len, session_free_line, NULL);
                if (r < 0)
                        mem_free(line);
                s->output_bulk = false; /* the chains after it start small */
        }
        if (r < 0)
                session_close(s, "out of memory queueing output");
        else
                s->out_queued += len;
}

void session_send_line(Session *s, char *line, size_t len) {
        if (s->state == SESSION_CLOSED) {
                mem_free(line);
                return;
        }
        session_queue_line(s, line, len);
}

bool session_send_indicate(Session *s, const char *line, size_t len) {
        if (s->state == SESSION_CLOSED)
                return false;
        if (session_output_add(s, line, len) < 0) {
                session_close(s, "out of memory queueing output");
                return false;
        }
        s->out_queued += len;
        return true;
}

void session_send_error(Session *s, json_t *id, int code, const Error *e) {
        char *line;
        size_t len;

        if (s->state == SESSION_CLOSED)
                return;
        if (rpc_encode_error(id, code, e, &line, &len) < 0) {
                session_close(s, "out of memory encoding an error");
                return;
        }
        session_queue_line(s, line, len);
}

void session_send_result(Session *s, json_t *id, json_t *result) {
        char *line;
        size_t len;
        int r;

        if (s->state == SESSION_CLOSED)
                return;
        r = rpc_encode_result(id, result, &line, &len);
        if (r < 0) {
                session_close(s, "out of memory encoding a result");
                return;
        }
        session_queue_line(s, line, len);
}

int session_send_ping(Session *s) {
        SessionPing *slot = NULL;
        char id[32];
        char *line;
        size_t len;

        if (s->state != SESSION_OPEN)
                return -ESHUTDOWN;
        for (size_t i = 0; i < SESSION_MAX_PINGS && !slot; i++)
                if (s->pings[i].number == 0)
                        slot = &s->pings[i];
        if (!slot)
                return -EBUSY;
        uint64_t number = s->next_ping_number + 1;
        snprintf(id, sizeof(id), "s:%" PRIu64, number);
        if (rpc_encode_request(id, "Ping", NULL, &line, &len) < 0)
                return -ENOMEM;
        s->next_ping_number = number;
        *slot = (SessionPing){ .number = number, .sent_usec = session_now_usec() };
        session_queue_line(s, line, len);
        return 0;
}

unsigned session_pings_outstanding(const Session *s) {
        unsigned n = 0;
        for (size_t i = 0; i < SESSION_MAX_PINGS; i++)
                n += s->pings[i].number != 0;
        return n;
}

/* The number in a server id "s:<n>", or 0. */
static uint64_t ping_number(const json_t *id) {
        const char *v = json_string_value(id);
        char *end;

        if (!v || v[0] != 's' || v[1] != ':' || v[2] < '1' || v[2] > '9')
                return 0;
        errno = 0;
        unsigned long long n = strtoull(v + 2, &end, 10);
        if (errno || *end)
                return 0;
        return (uint64_t)n;
}

/* A response from the client: today only answers to our Pings. */
static void session_handle_response(Session *s, const RpcMessage *m) {
        uint64_t n = ping_number(m->id);

        for (size_t i = 0; n && i < SESSION_MAX_PINGS; i++) {
                if (s->pings[i].number != n)
                        continue;
                log_debug("session %llu: Ping s:%" PRIu64 " answered%s in %" PRIu64 " us",
                          session_idu(s), n, m->error ? " with an error" : "",
                          session_now_usec() - s->pings[i].sent_usec);
                s->pings[i] = (SessionPing){ 0 };
                return;
        }
        if (log_enabled(LOG_LEVEL_DEBUG)) {
                _cleanup_free_ char *text = json_dumps(m->id, JSON_ENCODE_ANY);
                log_debug("session %llu: ignoring a response with unknown id %s", session_idu(s),
                          text ? text : "?");
        }
}

/* Answer a failed request (or log a failed notification). r is the
 * handler's or job's return: a positive WbemStatus, or a negative errno,
 * with e filled or not. */
static void session_answer_failure(Session *s, json_t *id, bool notification, const char *method,
                                   int code, int r, Error *e) {
        if (r < 0) {
                /* Keep a message the handler gave (an engine failure with
                 * SQLite's words); out-of-memory always reads as such. */
                if (r == -ENOMEM || e->status == 0 || e->message[0] == '\0')
                        error_from_errno(e, r);
                code = rpc_code_for_status(e->status == WBEM_E_OUT_OF_MEMORY ? e->status
                                                                             : WBEM_E_FAILED);
        } else if (code == 0) {
                code = rpc_code_for_status(r);
        }
        if (notification) {
                /* JSON-RPC: a notification is never answered, not even
                 * with an error. */
                log_debug("session %llu: notification %s failed: %s", session_idu(s), method,
                          e->message);
                return;
        }
        log_debug("session %llu: %s failed: %s", session_idu(s), method, e->message);
        session_send_error(s, id, code, e);
}

static void session_schedule_job(Session *s) {
        static const struct timeval now = { 0, 0 };
        evtimer_add(s->job_event, &now);
}

/* Release the job, answered or not. */
static void session_drop_job(Session *s) {
        MethodJob *job = s->job;

        if (!job)
                return;
        s->job = NULL;
        event_del(s->job_event);
        json_decref(s->job_id);
        s->job_id = NULL;
        job->ops->free(job);
}

/* One step of the job; when it is done, answer it and drop it. Returns
 * true when the job is gone (answered, or the session closed). */
static bool session_step_job(Session *s) {
        MethodJob *job = s->job;
        char *line = NULL;
        size_t len = 0;
        Error e = { 0 };
        int r;

        r = job->ops->step(job, &line, &len, &e);
        if (r == 0 && !line) {
                session_schedule_job(s);
                return false;
        }
        /* Detach before answering: queueing may close the session, which
         * drops whatever job it still has. */
        json_t *id = TAKE_PTR(s->job_id);
        bool notification = !id;
        const char *method = s->job_method;
        s->job = NULL;
        event_del(s->job_event);
        job->ops->free(job);
        log_debug("session %llu: %s answered in %" PRIu64 " us", session_idu(s), method,
                  session_now_usec() - s->job_started_usec);
        if (r == 0) {
                if (notification)
                        mem_free(line);
                else
                        session_queue_line(s, line, len);
        } else {
                session_answer_failure(s, id, notification, method, 0, r, &e);
        }
        json_decref(id);
        return true;
}

static void session_job_cb(evutil_socket_t fd, short what, void *userdata) {
        Session *s = userdata;
        (void)fd;
        (void)what;

        if (s->state != SESSION_OPEN || !s->job)
                return;
        /* Requests that waited behind the job go on next turn. */
        if (session_step_job(s) && s->state == SESSION_OPEN)
                session_schedule(s);
}

static void session_handle_request(Session *s, const RpcMessage *m) {
        const Method *method = methods_find(m->method);
        json_t *result = NULL;
        MethodJob *job = NULL;
        Error e = { 0 };
        int code = 0, r;

        s->requests++;
        if ((r = quota_take_request(s->quota, session_now_usec(), &e)) != 0) {
                session_quota_refused(s, SESSION_QUOTA_REQUESTS, &e);
        } else if (!method) {
                r = error_set(&e, WBEM_E_INVALID_METHOD, "method not found: %s", m->method);
                code = RPC_METHOD_NOT_FOUND;
        } else if (!session_may_call(s) && strcmp(method->name, "Hello") != 0 &&
                   strcmp(method->name, "Ping") != 0) {
                /* Nothing about the server beyond who it is before the
                 * peer says who it is. */
                r = error_set(&e, WBEM_E_ACCESS_DENIED,
                              "not authenticated: %s%sonly Hello and Ping are allowed until a "
                              "client certificate or a token in Hello authenticates the session",
                              s->auth_problem, s->auth_problem[0] ? "; " : "");
        } else if ((r = rpc_params_check(m->params, method->params, &e)) != 0) {
                code = RPC_INVALID_PARAMS;
        } else if ((r = rights_check_call(s, method->name, m->params, &e)) != 0) {
                /* refused before the method runs (rights.h) */
        } else {
                MethodCall call = {
                        .session = s,
                        .method = m->method,
                        .id = m->id,
                        .params = m->params,
                };
                r = method->handler(&call, &result, &job, &e);
        }

        if (r != 0) {
                session_answer_failure(s, m->id, m->kind == RPC_KIND_NOTIFICATION,
                                       method ? method->name : m->method, code, r, &e);
        } else if (job && s->peer_gone) {
                /* Queries have no effect but their answer, which no one
                 * would read. */
                log_debug("session %llu: peer closed the connection, not running %s",
                          session_idu(s), method->name);
                job->ops->free(job);
        } else if (job) {
                /* The caller steps it once at once, then on later turns. */
                s->job = job;
                s->job_id = m->kind == RPC_KIND_NOTIFICATION ? NULL : json_incref(m->id);
                s->job_method = method->name;
                s->job_started_usec = session_now_usec();
        } else if (m->kind != RPC_KIND_NOTIFICATION) {
                session_send_result(s, m->id, result);
        }
        json_decref(result);
        if (s->close_after_answer)
                session_close_after_flush(s, "%s", s->auth_problem[0] ? s->auth_problem
                                                                     : "authentication refused");
}

static bool flat_copy(const RpcFlatString *v, char *buf, size_t size) {
        if (!v || v->len == 0 || v->len >= size)
                return false;
        memcpy(buf, v->s, v->len);
        buf[v->len] = '\0';
        return true;
}

/* The result {"<member>": value} of a flat request (integer id), written
 * here: byte for byte what rpc_encode_result() makes of it, queued as
 * session_queue_line() queues a line (after the open Indicate). */
static size_t flat_put(char *at, const char *text) {
        size_t n = strlen(text);
        memcpy(at, text, n);
        return n;
}

static size_t flat_put_u64(char *at, uint64_t v) {
        char digits[20];
        size_t n = 0;
        do {
                digits[n++] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        for (size_t k = 0; k < n; k++)
                at[k] = digits[n - 1 - k];
        return n;
}

static void session_answer_flat(Session *s, uint64_t id, const char *member, uint64_t value) {
        /* member is one of ours ("call", "delivered"): no escaping, short;
         * written without printf, a PublishEvent answer per event */
        char line[128];
        size_t n = 0;

        n += flat_put(line + n, "{\"jsonrpc\":\"2.0\",\"id\":");
        n += flat_put_u64(line + n, id);
        n += flat_put(line + n, ",\"result\":{\"");
        n += flat_put(line + n, member);
        n += flat_put(line + n, "\":");
        n += flat_put_u64(line + n, value);
        n += flat_put(line + n, "}}\n");

        async_flush(s->async);
        if (s->state == SESSION_CLOSED)
                return;
        if (session_output_add(s, line, n) < 0)
                session_close(s, "out of memory queueing output");
        else
                s->out_queued += n;
}

/* A flat request's handler failed: answered as the general path does. */
static void session_answer_flat_failure(Session *s, uint64_t id, const char *method, int r,
                                        Error *e) {
        json_t *jid = json_integer((json_int_t)id);

        if (!jid) {
                session_close(s, "out of memory answering a request");
                return;
        }
        session_answer_failure(s, jid, false, method, 0, r, e);
        json_decref(jid);
}

/* ExecNotificationQueryAsync in its flat form (rpc_decode_flat): the hot
 * request of a consumer that registers many filters, handled without a
 * JSON tree and answered with a line written here, byte for byte what the
 * general path writes. Only when its params are exactly the three it
 * takes, within bounds that make the general path's checks pass; false
 * leaves the line to the general path. */
static bool session_handle_flat(Session *s, const RpcFlat *m) {
        static const char method[] = "ExecNotificationQueryAsync";
        const RpcFlatString *query = rpc_flat_param(m, "query");
        char ns[256], sink[ASYNC_SINK_ID_MAX + 1];
        uint64_t call;
        Error e = { 0 };

        if (!session_may_call(s) || m->method.len != sizeof(method) - 1 ||
            memcmp(m->method.s, method, m->method.len) != 0 ||
            m->n_params != 3 || !query || !flat_copy(rpc_flat_param(m, "namespace"), ns, sizeof(ns)) ||
            !flat_copy(rpc_flat_param(m, "sink"), sink, sizeof(sink)))
                return false;
        /* A refusal takes the general path, which answers and logs it. */
        ProviderCaller who = session_caller(s);
        if (who.uid != 0 &&
            !rights_allowed(s->server->rights, &who, ns, rights_for_subscribe(ns)))
                return false;
        s->requests++;
        int r = quota_take_request(s->quota, session_now_usec(), &e);
        if (r != 0)
                session_quota_refused(s, SESSION_QUOTA_REQUESTS, &e);
        else
                r = async_subscribe(s->async, sink, ns, query->s, query->len, &call, &e);
        if (r != 0) {
                session_answer_flat_failure(s, m->id, method, r, &e);
                return true;
        }
        log_debug("session %llu: call %" PRIu64 " on sink '%s': %.*s", session_idu(s), call, sink,
                  (int)query->len, query->s);
        session_answer_flat(s, m->id, "call", call);
        return true;
}

/* PublishEvent in its flat form (methods_publish_event_flat): answered as
 * the general path answers it, without a JSON tree either way. */
static bool session_handle_flat_publish(Session *s, const RpcFlat *m) {
        uint64_t delivered = 0;
        Error e = { 0 };
        int r;

        if (!methods_publish_event_flat(s, m, &r, &delivered, &e))
                return false;
        s->requests++;
        if (r != 0)
                session_answer_flat_failure(s, m->id, "PublishEvent", r, &e);
        else
                session_answer_flat(s, m->id, "delivered", delivered);
        return true;
}

static void session_handle_line(Session *s, const char *line, size_t len) {
        RpcMessage m;
        RpcError e = { 0 };
        RpcFlat flat;
        int r;

        if (rpc_line_is_blank(line, len))
                return;
        if (rpc_decode_flat(line, len, &flat) &&
            (session_handle_flat(s, &flat) || session_handle_flat_publish(s, &flat)))
                return;
        r = rpc_decode(line, len, &m, &e);
        if (r < 0) {
                session_close(s, "out of memory decoding a message");
                return;
        }
        if (r > 0) {
                log_debug("session %llu: rejected a message: %s", session_idu(s), e.error.message);
                session_send_error(s, e.id, e.code, &e.error);
                rpc_error_done(&e);
                return;
        }
        if (m.kind == RPC_KIND_RESPONSE)
                session_handle_response(s, &m);
        else
                session_handle_request(s, &m);
        rpc_message_done(&m);
}

static void session_line_too_long(Session *s) {
        Error e;

        error_set(&e, WBEM_E_QUOTA_VIOLATION,
                  "message line longer than the limit of %zu bytes; closing the connection",
                  s->max_line_bytes);
        session_send_error(s, NULL, RPC_INVALID_REQUEST, &e);
        session_close_after_flush(s, "sent a line longer than %zu bytes", s->max_line_bytes);
}

/* One readv() of up to want bytes into in's free space; whether bytes
 * were added. */
static bool session_read_into(Session *s, struct evbuffer *in, size_t want) {
        struct evbuffer_iovec vec[2];
        int n = evbuffer_reserve_space(in, (ev_ssize_t)want, vec, 2);
        if (n <= 0)
                return false;
        struct iovec iov[2];
        size_t room = 0;
        for (int i = 0; i < n; i++) {
                size_t len = vec[i].iov_len;
                if (len > want - room)
                        len = want - room;
                iov[i] = (struct iovec){ .iov_base = vec[i].iov_base, .iov_len = len };
                room += len;
        }
        ssize_t got = readv(bufferevent_getfd(s->bev), iov, n);
        if (got <= 0) {
                (void)evbuffer_commit_space(in, vec, 0);
                return false;
        }
        size_t left = (size_t)got;
        for (int i = 0; i < n; i++) {
                vec[i].iov_len = left < iov[i].iov_len ? left : iov[i].iov_len;
                left -= vec[i].iov_len;
        }
        return evbuffer_commit_space(in, vec, n) == 0;
}

/* Read more of the client's requests straight from the socket when every
 * complete line in the input is handled and the turn has budget left.
 * libevent reads at most 4 KiB per callback (EVBUFFER_MAX_READ), so a
 * client that pipelines thousands of small requests would otherwise cost
 * a loop turn (poll, read, write of the answers) per 4 KiB. Stays within
 * the read high-water mark (one maximal line ahead). EOF and errors are
 * left to the bufferevent, which sees them on its next read. Not for TLS.
 * Returns whether bytes were added. */
static bool session_read_more(Session *s, size_t have) {
        struct evbuffer *in = bufferevent_get_input(s->bev);
        size_t limit = s->max_line_bytes + 1, want = SESSION_READ_AHEAD_BYTES;

        /* A TLS session's socket carries records only its OpenSSL
         * bufferevent may read and decrypt. */
        if (s->tls || s->read_eof || s->output_paused || have >= limit ||
            !(bufferevent_get_enabled(s->bev) & EV_READ))
                return false;
        if (want > limit - have)
                want = limit - have;
        /* The bufferevent keeps its input's end frozen but while it
         * reads; so do we. */
        evbuffer_unfreeze(in, 0);
        bool added = session_read_into(s, in, want);
        evbuffer_freeze(in, 0);
        return added;
}


/* Handle the complete lines in the input, within this turn's budget. */
static void session_process(Session *s) {
        struct evbuffer *in = bufferevent_get_input(s->bev);
        struct evbuffer *out = bufferevent_get_output(s->bev);
        unsigned messages = 0;
        size_t bytes = 0;
        uint64_t start_usec = session_now_usec();

        while (s->state == SESSION_OPEN) {
                /* A job in progress holds the session's later requests;
                 * it schedules us again when it is answered. */
                if (s->job)
                        return;
                if (evbuffer_get_length(out) > SESSION_OUTPUT_HIGH_WATER) {
                        /* The client is not reading its answers: read no
                         * more of its requests until it does (the write
                         * callback resumes us). */
                        if (!s->output_paused)
                                log_debug("session %llu: output over %u bytes, pausing input",
                                          session_idu(s), SESSION_OUTPUT_HIGH_WATER);
                        s->output_paused = true;
                        bufferevent_disable(s->bev, EV_READ);
                        return;
                }
                if (messages >= SESSION_MAX_MESSAGES_PER_TURN ||
                    bytes >= SESSION_MAX_BYTES_PER_TURN ||
                    (messages > 0 &&
                     session_now_usec() - start_usec >= SESSION_MAX_USEC_PER_TURN)) {
                        session_schedule(s);
                        return;
                }

                size_t have = evbuffer_get_length(in);
                if (have <= s->scanned) {
                        if (session_read_more(s, have))
                                continue;
                        break;
                }
                struct evbuffer_ptr start, eol;
                if (evbuffer_ptr_set(in, &start, s->scanned, EVBUFFER_PTR_SET) < 0)
                        break;
                eol = evbuffer_search(in, "\n", 1, &start);
                if (eol.pos < 0) {
                        /* Remember how far we looked, so a long line that
                         * trickles in is scanned once, not once per read. */
                        s->scanned = have;
                        if (have > s->max_line_bytes) {
                                session_line_too_long(s);
                                break;
                        }
                        if (session_read_more(s, have))
                                continue;
                        break;
                }
                size_t len = (size_t)eol.pos;
                s->scanned = 0;
                if (len > s->max_line_bytes) {
                        session_line_too_long(s);
                        return;
                }
                const char *line = (const char *)evbuffer_pullup(in, (ev_ssize_t)len + 1);
                if (!line) {
                        session_close(s, "out of memory reading a message");
                        return;
                }
                session_handle_line(s, line, len);
                evbuffer_drain(in, len + 1);
                s->bytes_in += len + 1;
                bytes += len + 1;
                messages++;
                /* A job's first step runs now: a small query is answered
                 * in this turn like any other request. */
                if (s->job && !session_step_job(s))
                        return;
        }

        /* A client that shut down its sending side still gets what it
         * asked for: its running ExecQueryAsync calls finish first (they
         * wake us when the last one ends). */
        if (s->state == SESSION_OPEN && s->read_eof &&
            (s->peer_gone || async_query_count(s->async) == 0)) {
                size_t rest = evbuffer_get_length(in);
                if (rest > 0)
                        session_close_after_flush(s,
                                                  "peer closed the connection in the middle of a "
                                                  "message (%zu bytes without a newline)",
                                                  rest);
                else
                        session_close_after_flush(s, "peer closed the connection");
        }
}

void session_wake(Session *s) {
        if (s->state == SESSION_OPEN)
                session_schedule(s);
}

static void session_process_cb(evutil_socket_t fd, short what, void *userdata) {
        (void)fd;
        (void)what;
        session_process(userdata);
}

static void session_read_cb(struct bufferevent *bev, void *userdata) {
        Session *s = userdata;
        (void)bev;

        session_process(s);
}

static void session_write_cb(struct bufferevent *bev, void *userdata) {
        Session *s = userdata;
        size_t queued = evbuffer_get_length(bufferevent_get_output(bev));

        if (s->state == SESSION_DRAINING) {
                if (queued == 0)
                        session_close(s, NULL);
                return;
        }
        if (queued > SESSION_OUTPUT_LOW_WATER)
                return;
        if (s->output_paused) {
                log_debug("session %llu: output drained, resuming input", session_idu(s));
                s->output_paused = false;
                if (!s->read_eof)
                        bufferevent_enable(bev, EV_READ);
                /* Complete lines may be waiting and no read will come. */
                session_schedule(s);
        }
        /* Dropped events to report, queries waiting to go on. */
        async_output_drained(s->async);
}

/* Whether the peer closed its end entirely, not just shut down its
 * sending side (which still reads the answers): a Unix stream socket
 * whose peer is closed polls as POLLHUP. (Over TCP a close and a
 * shutdown look alike; the answers are then made and fail to be sent.) */
static bool session_peer_hung_up(Session *s) {
        struct pollfd p = { .fd = bufferevent_getfd(s->bev), .events = 0 };

        return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* Why OpenSSL failed (a handshake, a read, a write), from the errors
 * libevent collected for this bufferevent. */
static void session_tls_failure(Session *s, char *buf, size_t size) {
        unsigned long errs[8];
        size_t n = 0;
        unsigned long e;

        while ((e = bufferevent_get_openssl_error(s->bev)) != 0)
                if (n < ELEMENTSOF(errs))
                        errs[n++] = e;
        tls_describe_failure(bufferevent_openssl_get_ssl(s->bev), errs, n, buf, size);
}

/* The handshake completed: a verified client certificate authenticates
 * the session now; without one, a token in Hello may. */
static void session_tls_connected(Session *s) {
        SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
        char account[TLS_ACCOUNT_MAX + 1];
        Error e = { 0 };
        int r;

        s->tls_connected = true;
        log_debug("session %llu: TLS handshake with %s done: %s, %s", session_idu(s), s->peer,
                  SSL_get_version(ssl), SSL_get_cipher_name(ssl));
        r = tls_peer_account(ssl, account, sizeof(account), &e);
        if (r == -ENOENT)
                return; /* no certificate: a token, or the bound closes it */
        if (r == 0)
                r = session_authenticate(s, account, NULL, &e);
        if (r == -ENOMEM) {
                session_close(s, "out of memory authenticating the peer");
                return;
        }
        if (r == WBEM_E_QUOTA_VIOLATION) {
                /* one clear line, then the connection closes */
                log_info("session %llu refused: %s", session_idu(s), e.message);
                session_send_error(s, NULL, rpc_code_for_status(r), &e);
                session_close_after_flush(s, "refused: quota 'sessions' exceeded");
                return;
        }
        if (r != 0) {
                snprintf(s->auth_problem, sizeof(s->auth_problem), "%.150s", e.message);
                log_warning("session %llu: %s not authenticated by its certificate: %s",
                            session_idu(s), s->peer, e.message);
        }
}

static void session_event_cb(struct bufferevent *bev, short what, void *userdata) {
        Session *s = userdata;
        (void)bev;

        if (s->tls && !s->tls_connected && (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))) {
                /* One line for a failed handshake, with who and why. */
                char why[300];
                if (what & BEV_EVENT_ERROR) {
                        session_tls_failure(s, why, sizeof(why));
                        int e = EVUTIL_SOCKET_ERROR();
                        if (strcmp(why, "unknown reason") == 0 && e)
                                snprintf(why, sizeof(why), "%s", strerror(e));
                } else {
                        snprintf(why, sizeof(why), "the peer closed the connection");
                }
                log_warning("session %llu: TLS handshake with %s failed: %s", session_idu(s),
                            s->peer, why);
                session_lose(s, SESSION_LOSS_RESET, "TLS handshake failed: %s", why);
                return;
        }
        if (what & BEV_EVENT_CONNECTED) {
                if (s->tls)
                        session_tls_connected(s);
                return;
        }
        if (what & BEV_EVENT_ERROR) {
                /* ECONNRESET, EPIPE, ETIMEDOUT (TCP_USER_TIMEOUT) or any
                 * other failure to read or write; over TLS also a bad
                 * record or an alert */
                int e = EVUTIL_SOCKET_ERROR();
                char why[300] = "";
                if (s->tls)
                        session_tls_failure(s, why, sizeof(why));
                if (e || !why[0] || strcmp(why, "unknown reason") == 0)
                        snprintf(why, sizeof(why), "%s", e ? strerror(e) : "unknown");
                session_lose(s, SESSION_LOSS_RESET, "%s error: %s",
                             what & BEV_EVENT_WRITING ? "write" : "read", why);
        } else if (what & BEV_EVENT_TIMEOUT) {
                char reason[sizeof(s->close_reason)];
                memcpy(reason, s->close_reason, sizeof(reason));
                session_close(s, "%s; output not flushed within %d ms", reason,
                              SESSION_DRAIN_TIMEOUT_MS);
        } else if (what & BEV_EVENT_EOF) {
                s->read_eof = true;
                s->peer_gone = session_peer_hung_up(s);
                if (s->peer_gone && s->job) {
                        /* No one will read its answer. */
                        log_debug("session %llu: peer closed the connection, abandoning %s in "
                                  "progress",
                                  session_idu(s), s->job_method);
                        session_drop_job(s);
                }
                session_process(s);
        }
}

void session_set_max_line(Session *s, size_t max_line_bytes) {
        s->max_line_bytes = max_line_bytes;
        /* Read at most one maximal line (and its '\n') ahead. */
        bufferevent_setwatermark(s->bev, EV_READ, 0, max_line_bytes + 1);
        if (s->state == SESSION_OPEN)
                session_schedule(s);
}

/* The peer's supplementary groups (SO_PEERGROUPS, Linux 4.13): the kernel
 * says how much room they need when the first guess is short. A kernel
 * that cannot tell leaves the peer with none: it then sees less, never
 * more. 0 or -ENOMEM. */
static int session_read_groups(Session *s, int fd) {
#ifdef SO_PEERGROUPS
        socklen_t len = 32 * sizeof(gid_t);
        for (int attempt = 0; attempt < 3; attempt++) {
                gid_t *groups = mem_malloc(len ? len : sizeof(gid_t));
                if (!groups)
                        return -ENOMEM;
                socklen_t got = len;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &got) == 0) {
                        s->groups = groups;
                        s->n_groups = got / sizeof(gid_t);
                        return 0;
                }
                mem_free(groups);
                if (errno != ERANGE || got <= len)
                        return 0;
                len = got;
        }
#else
        (void)s;
        (void)fd;
#endif
        return 0;
}

void session_quota_refused(Session *s, SessionQuotaReason reason, const Error *e) {
        if (s->quota_logged & reason)
                return;
        s->quota_logged |= reason;
        log_info("session %llu: %s (further refusals of this kind on this session are not "
                 "logged)",
                 session_idu(s), e->message);
}

int session_quota_bind(Session *s, Error *e) {
        QuotaUser *u = NULL;
        int r;

        r = quota_session_open(s->server->quota, s->uid, session_now_usec(), &u, e);
        if (r != 0)
                return r;
        if (s->quota) {
                /* what the session holds moves to its new bucket */
                async_quota_move(s->async, s->quota, u);
                quota_session_close(s->quota);
                quota_user_unref(s->quota);
        }
        s->quota = u;
        return 0;
}

ProviderCaller session_caller(const Session *s) {
        return (ProviderCaller){
                .uid = s->uid,
                .gid = s->gid,
                .groups = s->groups,
                .n_groups = s->n_groups,
                .session = s->id,
        };
}

bool session_may_call(const Session *s) {
        return !s->tls || s->authenticated;
}

int session_authenticate(Session *s, const char *name, const char *token_id, Error *err) {
        Account a;
        Error e = { 0 };
        int r;

        if (!s->tls)
                return error_set(err, WBEM_E_INVALID_OPERATION,
                                 "only TLS sessions authenticate; this one is known by its "
                                 "socket");
        if (s->authenticated)
                return error_set(err, WBEM_E_INVALID_OPERATION, "already authenticated as %s",
                                 s->account);
        if (strlen(name) > SESSION_ACCOUNT_MAX ||
            (token_id && strlen(token_id) > SESSION_TOKEN_ID_MAX))
                return error_set(err, WBEM_E_ACCESS_DENIED, "user name '%.64s...' too long",
                                 name);
        r = account_lookup(name, &a, &e);
        if (r == -ENOMEM)
                return error_from_errno(err, r);
        if (r != 0)
                return error_set(err, WBEM_E_ACCESS_DENIED, "%s", e.message);
        /* The session moves to its user's quota bucket (from the
         * anonymous one it was accepted in): refused when that user has
         * all its sessions open. */
        uid_t before = s->uid;
        s->uid = a.uid;
        r = session_quota_bind(s, err);
        if (r != 0) {
                s->uid = before;
                account_done(&a);
                return r;
        }
        mem_free(s->groups);
        s->uid = a.uid;
        s->gid = a.gid;
        s->groups = a.groups;
        s->n_groups = a.n_groups;
        snprintf(s->account, sizeof(s->account), "%s", name);
        snprintf(s->token_id, sizeof(s->token_id), "%s", token_id ? token_id : "");
        s->authenticated = true;
        s->auth_problem[0] = '\0';
        event_del(s->auth_event);
        log_info("session %llu: %s authenticated as %s (uid %ld) by %s%s", session_idu(s),
                 s->peer, name, (long)s->uid, token_id ? "token " : "client certificate",
                 token_id ? token_id : "");
        return 0;
}

/* The authentication bound passed. */
static void session_auth_cb(evutil_socket_t fd, short what, void *userdata) {
        Session *s = userdata;
        (void)fd;
        (void)what;

        if (s->state != SESSION_OPEN || s->authenticated)
                return;
        session_close(s, "%s within %zu ms%s%s",
                      s->tls_connected ? "not authenticated" : "TLS handshake not completed",
                      s->server->settings.tls_auth_timeout_ms, s->auth_problem[0] ? ": " : "",
                      s->auth_problem);
}

static int session_new_on(Server *server, int fd, SSL *ssl, uint64_t id, Session **ret) {
        struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
        socklen_t cred_len = sizeof(cred);
        Session *s;
        int r;

        s = mem_calloc(1, sizeof(*s));
        if (!s) {
                if (ssl)
                        SSL_free(ssl);
                close(fd);
                return -ENOMEM;
        }
        s->server = server;
        s->id = id;
        s->keepalive_ms = (unsigned)server->settings.keepalive_ms;
        s->connected_usec = s->last_heard_usec = session_now_usec();
        if (netaddr_describe_tcp_peer(fd, s->peer, sizeof(s->peer))) {
                /* TCP: no credentials (SO_PEERCRED would report pid 0 and
                 * uid -1 anyway); a TLS peer gets the account it
                 * authenticates as. */
                s->uid = (uid_t)-1;
                s->gid = (gid_t)-1;
                if (ssl)
                        memcpy(s->peer, "tls", 3);
        } else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == 0) {
                s->pid = cred.pid;
                s->uid = cred.uid;
                s->gid = cred.gid;
                snprintf(s->peer, sizeof(s->peer), "unix pid %ld", (long)cred.pid);
                if (session_read_groups(s, fd) < 0) {
                        if (ssl)
                                SSL_free(ssl);
                        close(fd);
                        mem_free(s);
                        return -ENOMEM;
                }
        } else {
                s->uid = (uid_t)-1;
                s->gid = (gid_t)-1;
        }

        if (ssl) {
                s->tls = true;
                /* The SSL object and (through its BIO) fd now belong to
                 * the bufferevent, also when making it fails. */
                s->bev = bufferevent_openssl_socket_new(server->base, fd, ssl,
                                                        BUFFEREVENT_SSL_ACCEPTING,
                                                        BEV_OPT_CLOSE_ON_FREE);
                if (s->bev)
                        /* A peer that closes without close_notify has
                         * closed, like any TCP peer, not failed. */
                        bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
        } else {
                s->bev = bufferevent_socket_new(server->base, fd, BEV_OPT_CLOSE_ON_FREE);
                if (!s->bev)
                        close(fd);
        }
        if (!s->bev) {
                mem_free(s->groups);
                mem_free(s);
                return -ENOMEM;
        }
        bufferevent_set_max_single_write(s->bev, SESSION_MAX_WRITE_PER_TURN);
        s->process_event = evtimer_new(server->base, session_process_cb, s);
        s->job_event = evtimer_new(server->base, session_job_cb, s);
        s->liveness_event = evtimer_new(server->base, session_liveness_cb, s);
        s->auth_event = evtimer_new(server->base, session_auth_cb, s);
        if (!s->process_event || !s->job_event || !s->liveness_event || !s->auth_event ||
            async_new(s, &s->async) < 0) {
                session_free(s);
                return -ENOMEM;
        }
        s->input_cb = evbuffer_add_cb(bufferevent_get_input(s->bev), session_input_cb, s);
        s->output_cb = evbuffer_add_cb(bufferevent_get_output(s->bev), session_output_cb, s);
        if (!s->input_cb || !s->output_cb) {
                session_free(s);
                return -ENOMEM;
        }
        struct sockaddr_storage addr;
        socklen_t addr_len = sizeof(addr);
        s->tcp = getsockname(fd, (struct sockaddr *)&addr, &addr_len) == 0 &&
                 (addr.ss_family == AF_INET || addr.ss_family == AF_INET6);
        if (s->tcp) {
                r = session_set_tcp_user_timeout(fd, s->keepalive_ms);
                if (r < 0)
                        log_warning("session %llu: cannot set TCP_USER_TIMEOUT: %s",
                                    session_idu(s), strerror(-r));
        }
        bufferevent_setcb(s->bev, session_read_cb, session_write_cb, session_event_cb, s);
        s->max_line_bytes = server->settings.max_line_bytes;
        bufferevent_setwatermark(s->bev, EV_READ, 0, s->max_line_bytes + 1);
        bufferevent_setwatermark(s->bev, EV_WRITE, SESSION_OUTPUT_LOW_WATER, 0);
        if (bufferevent_enable(s->bev, EV_READ | EV_WRITE) < 0) {
                session_free(s);
                return -ENOMEM;
        }
        session_liveness_arm(s, s->last_heard_usec + session_keepalive_usec(s));
        if (s->tls) {
                size_t ms = server->settings.tls_auth_timeout_ms;
                struct timeval bound = { .tv_sec = (time_t)(ms / 1000),
                                         .tv_usec = (suseconds_t)(ms % 1000 * 1000) };
                if (evtimer_add(s->auth_event, &bound) < 0) {
                        session_free(s);
                        return -ENOMEM;
                }
        }
        log_debug("session %llu connected: %s, uid %ld, gid %ld", session_idu(s),
                  s->peer[0] ? s->peer : "unknown peer", (long)s->uid, (long)s->gid);
        *ret = s;
        return 0;
}

int session_new(Server *server, int fd, uint64_t id, Session **ret) {
        return session_new_on(server, fd, NULL, id, ret);
}

int session_new_tls(Server *server, int fd, SSL *ssl, uint64_t id, Session **ret) {
        return session_new_on(server, fd, ssl, id, ret);
}

static void session_remove_buffer_cbs(Session *s) {
        if (s->input_cb)
                evbuffer_remove_cb_entry(bufferevent_get_input(s->bev), s->input_cb);
        if (s->output_cb)
                evbuffer_remove_cb_entry(bufferevent_get_output(s->bev), s->output_cb);
        s->input_cb = s->output_cb = NULL;
}

Session *session_free(Session *s) {
        if (!s)
                return NULL;
        session_drop_job(s);
        s->async = async_free(s->async);
        if (s->state != SESSION_CLOSED)
                quota_session_close(s->quota); /* freed without closing (errors in session_new) */
        quota_user_unref(s->quota);
        s->quota = NULL;
        if (s->process_event)
                event_free(s->process_event);
        if (s->job_event)
                event_free(s->job_event);
        if (s->liveness_event)
                event_free(s->liveness_event);
        if (s->auth_event)
                event_free(s->auth_event);
        session_remove_buffer_cbs(s);
        if (s->bev)
                bufferevent_free(s->bev);
        mem_free(s->client_name);
        mem_free(s->groups);
        rights_seen_free(s->rights_seen);
        mem_free(s);
        return NULL;
}

static void session_vset_reason(Session *s, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
static void session_vset_reason(Session *s, const char *fmt, va_list ap) {
        vsnprintf(s->close_reason, sizeof(s->close_reason), fmt, ap);
}

void session_close_after_flush(Session *s, const char *fmt, ...) {
        static const struct timeval drain_timeout = { SESSION_DRAIN_TIMEOUT_MS / 1000,
                                                      (SESSION_DRAIN_TIMEOUT_MS % 1000) * 1000 };
        va_list ap;

        if (s->state != SESSION_OPEN)
                return;
        va_start(ap, fmt);
        session_vset_reason(s, fmt, ap);
        va_end(ap);
        /* an Indicate still open is part of what must be flushed */
        async_flush(s->async);
        if (s->state != SESSION_OPEN)
                return; /* out of memory queueing it: closed */
        s->state = SESSION_DRAINING;
        bufferevent_disable(s->bev, EV_READ);
        event_del(s->process_event);
        session_drop_job(s);
        if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
                session_close(s, NULL);
                return;
        }
        /* The write callback now fires only once everything is written; a
         * peer that never reads gets the drain timeout instead. */
        bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
        bufferevent_set_timeouts(s->bev, NULL, &drain_timeout);
        bufferevent_enable(s->bev, EV_WRITE);
}

/* text as the inside of a C string literal, cut to fit out (size >= 5). */
static const char *session_quote(const char *text, char *out, size_t size) {
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
                char piece[5];
                if (*p == '"' || *p == '\\')
                        snprintf(piece, sizeof(piece), "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        snprintf(piece, sizeof(piece), "\\x%02x", *p);
                else
                        snprintf(piece, sizeof(piece), "%c", *p);
                size_t len = strlen(piece);
                if (n + len >= size)
                        break;
                memcpy(out + n, piece, len);
                n += len;
        }
        out[n] = '\0';
        return out;
}

static void session_vclose(Session *s, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
static void session_vclose(Session *s, const char *fmt, va_list ap) {
        if (s->state == SESSION_CLOSED)
                return;
        if (fmt)
                session_vset_reason(s, fmt, ap);
        s->state = SESSION_CLOSED;
        bufferevent_disable(s->bev, EV_READ | EV_WRITE);
        bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
        event_del(s->process_event);
        event_del(s->liveness_event);
        if (s->auth_event)
                event_del(s->auth_event);
        s->liveness_due_usec = 0;
        session_remove_buffer_cbs(s);
        s->discarded_bytes = evbuffer_get_length(bufferevent_get_output(s->bev));
        if (s->job) {
                /* Whatever the job holds (an engine cursor) goes now, not
                 * when the session is freed. */
                log_debug("session %llu: abandoning %s in progress", session_idu(s), s->job_method);
                session_drop_job(s);
        }

        /* Every sink and call of the session goes in one pass, before the
         * log line: from then on nothing in the engine refers to it. */
        uint64_t release_start = session_now_usec();
        size_t calls = async_release(s->async);
        uint64_t release_usec = session_now_usec() - release_start;
        s->released_calls = calls;
        /* It no longer counts against its user's sessions; what async
         * released went back to the bucket (a release deferred to
         * async_free goes back then, before the bucket is let go). */
        quota_session_close(s->quota);

        Server *server = s->server;
        server->sessions_lost[s->loss < SESSION_LOSS_N ? s->loss : SESSION_LOSS_CLOSED]++;
        server->registrations_reclaimed += calls;

        char peer[4 * SESSION_PEER_MAX], client[4 * SESSION_CLIENT_NAME_MAX + 4];
        char detail[4 * sizeof(s->close_reason)];
        uint64_t usec = session_now_usec() - s->connected_usec;
        log_info("session %llu %s: reason=%s uid=%ld pid=%ld peer=\"%s\" client=\"%s\" "
                 "registrations=%zu released_in_us=%" PRIu64 " requests=%" PRIu64
                 " connected_ms=%" PRIu64 " detail=\"%s\"",
                 session_idu(s), s->loss == SESSION_LOSS_CLOSED ? "closed" : "lost",
                 session_loss_name(s->loss),
                 /* -1: unknown (a TCP peer has no credentials) */
                 s->uid == (uid_t)-1 ? -1L : (long)s->uid, (long)s->pid,
                 session_quote(s->peer[0] ? s->peer : "-", peer, sizeof(peer)),
                 session_quote(s->client_name ? s->client_name : "-", client, sizeof(client)),
                 calls, release_usec, s->requests, usec / 1000u,
                 session_quote(s->close_reason, detail, sizeof(detail)));
        server_session_closed(server, s);
}

void session_close(Session *s, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        session_vclose(s, fmt, ap);
        va_end(ap);
}

void session_lose(Session *s, SessionLoss loss, const char *fmt, ...) {
        va_list ap;

        if (s->state == SESSION_CLOSED)
                return;
        s->loss = loss;
        va_start(ap, fmt);
        session_vclose(s, fmt, ap);
        va_end(ap);
}
