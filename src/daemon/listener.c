/* The listening sockets (Unix, TCP) with their EMFILE back-off; see
 * listener.h. */
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "mem.h"

struct Listener {
        struct event_base *base;
        char *path; /* Unix: the socket file; NULL for TCP */
        char *name; /* for messages: the path, or "tcp ADDR:PORT" as bound */
        int fd;
        struct event *accept_event;
        struct event *resume_event; /* back-off timer */
        ListenerAcceptFn accept_fn;
        void *userdata;
        /* the current burst of accept failures, logged at its start and end */
        bool paused;
        unsigned pauses;
        int burst_errno;
};

int listener_check_path(const char *path, Error *err) {
        struct sockaddr_un sa;
        size_t len = strlen(path);

        if (len >= sizeof(sa.sun_path))
                return error_set(err, WBEM_E_INVALID_PARAMETER,
                                 "socket path %s is too long (%zu bytes, at most %zu)", path, len,
                                 sizeof(sa.sun_path) - 1);
        return 0;
}

int listener_mkdir_socket_dir(const char *path, Error *err) {
        _cleanup_free_ char *dir = mem_strdup(path);

        if (!dir)
                return error_from_errno(err, -ENOMEM);
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        /* /run/lwmi is where every user finds the system daemon; any other
         * directory is private to its owner. */
        return listener_mkdir_parents(dir, strcmp(dir, "/run/lwmi") == 0 ? 0755 : 0700, err);
}

int listener_mkdir_parents(const char *dir, unsigned mode, Error *err) {
        _cleanup_free_ char *copy = mem_strdup(dir);

        if (!copy)
                return error_from_errno(err, -ENOMEM);
        /* Create each missing component from the top down. */
        for (char *p = copy + 1;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char saved = *p;
                *p = '\0';
                if (mkdir(copy, (mode_t)mode) == 0) {
                        /* mkdir() applies the umask; the mode must be exact
                         * (a 0755 /run/lwmi under umask 077 would lock
                         * every other user out). */
                        if (chmod(copy, (mode_t)mode) < 0) {
                                int e = errno;
                                error_set(err, WBEM_E_FAILED, "cannot chmod %s: %s", copy,
                                          strerror(e));
                                return -e;
                        }
                } else if (errno != EEXIST) {
                        int e = errno;
                        error_set(err, WBEM_E_FAILED, "cannot create directory %s: %s", copy,
                                  strerror(e));
                        return -e;
                }
                *p = saved;
                if (!saved)
                        break;
        }
        return 0;
}

static void listener_pause(Listener *l, int e) {
        static const struct timeval backoff = { 0, LISTENER_BACKOFF_MS * 1000 };

        if (!l->paused && l->pauses == 0) {
                struct rlimit rl = { 0 };
                (void)getrlimit(RLIMIT_NOFILE, &rl);
                log_warning("cannot accept connections on %s: %s (descriptor limit %llu); "
                            "pausing accepts for %d ms at a time until this clears, open "
                            "sessions are not affected",
                            l->name, strerror(e), (unsigned long long)rl.rlim_cur,
                            LISTENER_BACKOFF_MS);
                l->burst_errno = e;
        }
        l->paused = true;
        l->pauses++;
        event_del(l->accept_event);
        evtimer_add(l->resume_event, &backoff);
}

/* The burst is over: accept() worked or had nothing to give. */
static void listener_burst_end(Listener *l) {
        if (l->pauses == 0)
                return;
        log_info("accepting connections on %s again after %u pause%s of %d ms (%s)", l->name,
                 l->pauses, l->pauses == 1 ? "" : "s", LISTENER_BACKOFF_MS,
                 strerror(l->burst_errno));
        l->pauses = 0;
        l->burst_errno = 0;
}

static void listener_accept_cb(evutil_socket_t fd, short what, void *userdata) {
        Listener *l = userdata;
        (void)what;

        for (unsigned i = 0; i < LISTENER_ACCEPT_BATCH; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        int e = errno;
                        switch (e) {
                        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
                        case EWOULDBLOCK:
#endif
                                listener_burst_end(l);
                                return;
                        case EINTR:
                        case ECONNABORTED:
                        case EPROTO:
                                /* That connection is gone; try the next. */
                                continue;
                        case EMFILE:
                        case ENFILE:
                        case ENOBUFS:
                        case ENOMEM:
                                listener_pause(l, e);
                                return;
                        default:
                                /* Unknown and possibly persistent: back off
                                 * too rather than risk a busy loop. */
                                log_error("accept on %s: %s", l->name, strerror(e));
                                listener_pause(l, e);
                                return;
                        }
                }
                listener_burst_end(l);
                if (!l->path) {
                        /* Requests and answers are small lines, each
                         * wanted at once: no Nagle delay. */
                        int one = 1;
                        if (setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
                                log_debug("TCP_NODELAY on a connection from %s: %s", l->name,
                                          strerror(errno));
                }
                l->accept_fn(cfd, l->userdata);
        }
}

static void listener_resume_cb(evutil_socket_t fd, short what, void *userdata) {
        Listener *l = userdata;
        (void)fd;
        (void)what;

        l->paused = false;
        event_add(l->accept_event, NULL);
        /* Do not wait for a new edge: connections are likely queued. */
        event_active(l->accept_event, EV_READ, 0);
}

bool listener_is_paused(const Listener *l) {
        return l->paused;
}

/* Make the socket file at path, replacing a stale socket (the caller holds
 * the lock, so nobody else serves it). */
static int listener_bind(Listener *l, Error *err) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len = strlen(l->path);
        struct stat st;
        int r;

        r = listener_check_path(l->path, err);
        if (r != 0)
                return r;
        memcpy(sa.sun_path, l->path, len + 1);

        if (lstat(l->path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return error_set(err, WBEM_E_INVALID_PARAMETER,
                                         "%s exists and is not a socket; not replacing it",
                                         l->path);
                if (unlink(l->path) < 0 && errno != ENOENT) {
                        int e = errno;
                        error_set(err, WBEM_E_FAILED, "cannot remove stale socket %s: %s", l->path,
                                  strerror(e));
                        return -e;
                }
                log_info("replaced stale socket %s", l->path);
        }

        l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l->fd < 0) {
                int e = errno;
                error_set(err, WBEM_E_FAILED, "cannot create a socket: %s", strerror(e));
                return -e;
        }
        /* The umask decides the mode bind() gives the file: 0666, every
         * local user may connect, and the rights per namespace (rights.h)
         * decide what each may do. */
        mode_t old_umask = umask(0111);
        r = bind(l->fd, (struct sockaddr *)&sa, (socklen_t)sizeof(sa));
        int e = errno;
        umask(old_umask);
        if (r < 0) {
                error_set(err, WBEM_E_FAILED, "cannot bind %s: %s", l->path, strerror(e));
                return -e;
        }
        if (listen(l->fd, SOMAXCONN) < 0) {
                e = errno;
                (void)unlink(l->path);
                error_set(err, WBEM_E_FAILED, "cannot listen on %s: %s", l->path, strerror(e));
                return -e;
        }
        return 0;
}

/* Free a listener whose socket never got as far as listening: nothing
 * to unlink (a failed bind() left no file of ours). */
static void listener_discard(Listener *l) {
        if (l->fd >= 0)
                close(l->fd);
        mem_free(l->path);
        mem_free(l->name);
        mem_free(l);
}

/* Watch the listening socket; on failure the listener is freed. */
static int listener_start(Listener *l, Listener **ret, Error *err) {
        l->accept_event = event_new(l->base, l->fd, EV_READ | EV_PERSIST, listener_accept_cb, l);
        l->resume_event = evtimer_new(l->base, listener_resume_cb, l);
        if (!l->accept_event || !l->resume_event || event_add(l->accept_event, NULL) < 0) {
                listener_free(l);
                return error_from_errno(err, -ENOMEM);
        }
        *ret = l;
        return 0;
}

int listener_new(struct event_base *base, const char *path, ListenerAcceptFn accept_fn,
                 void *userdata, Listener **ret, Error *err) {
        Listener *l;
        int r;

        l = mem_calloc(1, sizeof(*l));
        if (!l)
                return error_from_errno(err, -ENOMEM);
        l->base = base;
        l->fd = -1;
        l->accept_fn = accept_fn;
        l->userdata = userdata;
        l->path = mem_strdup(path);
        l->name = mem_strdup(path);
        if (!l->path || !l->name) {
                listener_discard(l);
                return error_from_errno(err, -ENOMEM);
        }
        r = listener_bind(l, err);
        if (r != 0) {
                listener_discard(l);
                return r;
        }
        return listener_start(l, ret, err);
}

/* Bind and listen on a TCP address; on success l->name is the address as
 * bound (the port the kernel chose for port 0). */
static int listener_bind_tcp(Listener *l, const NetAddr *addr, Error *err) {
        char text[NETADDR_TEXT_MAX];
        int one = 1;

        netaddr_format((const struct sockaddr *)&addr->ss, addr->len, text, sizeof(text));
        l->fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l->fd < 0) {
                int e = errno;
                error_set(err, WBEM_E_FAILED, "cannot create a TCP socket for %s: %s", text,
                          strerror(e));
                return -e;
        }
        /* A restart must not wait for the last run's connections to leave
         * TIME_WAIT. */
        (void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(l->fd, (const struct sockaddr *)&addr->ss, addr->len) < 0) {
                int e = errno;
                error_set(err, WBEM_E_FAILED, "cannot bind tcp %s: %s", text, strerror(e));
                return -e;
        }
        if (listen(l->fd, SOMAXCONN) < 0) {
                int e = errno;
                error_set(err, WBEM_E_FAILED, "cannot listen on tcp %s: %s", text, strerror(e));
                return -e;
        }
        struct sockaddr_storage bound;
        socklen_t len = sizeof(bound);
        if (getsockname(l->fd, (struct sockaddr *)&bound, &len) == 0)
                netaddr_format((struct sockaddr *)&bound, len, text, sizeof(text));
        l->name = mem_printf("tcp %s", text);
        if (!l->name)
                return error_from_errno(err, -ENOMEM);
        return 0;
}

int listener_new_tcp(struct event_base *base, const NetAddr *addr, ListenerAcceptFn accept_fn,
                     void *userdata, Listener **ret, Error *err) {
        Listener *l;
        int r;

        l = mem_calloc(1, sizeof(*l));
        if (!l)
                return error_from_errno(err, -ENOMEM);
        l->base = base;
        l->fd = -1;
        l->accept_fn = accept_fn;
        l->userdata = userdata;
        r = listener_bind_tcp(l, addr, err);
        if (r != 0) {
                listener_discard(l);
                return r;
        }
        return listener_start(l, ret, err);
}

int listener_set_kind(Listener *l, const char *kind) {
        const char *space = strchr(l->name, ' ');
        char *name = mem_printf("%s %s", kind, space ? space + 1 : l->name);
        if (!name)
                return -ENOMEM;
        mem_free(l->name);
        l->name = name;
        return 0;
}

const char *listener_name(const Listener *l) {
        return l->name;
}

Listener *listener_free(Listener *l) {
        if (!l)
                return NULL;
        if (l->accept_event)
                event_free(l->accept_event);
        if (l->resume_event)
                event_free(l->resume_event);
        if (l->fd >= 0) {
                close(l->fd);
                if (l->path)
                        (void)unlink(l->path);
        }
        mem_free(l->path);
        mem_free(l->name);
        mem_free(l);
        return NULL;
}
