/* The listening sockets and their accept loop.
 *
 * listener_new() creates the Unix socket file (mode 0666: rights per
 * namespace decide what a peer may do, rights.h) replacing a
 * stale one, and hands each accepted connection (a non-blocking,
 * close-on-exec fd) to a callback. The caller must hold the
 * single-instance lock first: that is what makes an existing socket file
 * stale. listener_new_tcp() does the same on a TCP address (netaddr.h;
 * which addresses are allowed is the caller's policy,
 * settings_check_listen), and sets TCP_NODELAY on each connection before
 * handing it over: the protocol's lines are small and each is wanted at
 * once.
 *
 * Running out of file descriptors (EMFILE, ENFILE) or kernel memory on
 * accept() must not spin the loop: the pending connection stays in the
 * kernel's backlog and the socket would stay readable forever. So the
 * listener stops watching the socket and looks again after a short back-off
 * (LISTENER_BACKOFF_MS), logging once per burst; sessions already open are
 * not touched, and connections waiting in the backlog are accepted as soon
 * as descriptors are free again. */
#pragma once

#include <event2/event.h>
#include <stdbool.h>

#include "error.h"
#include "netaddr.h"

#define LISTENER_BACKOFF_MS 100
/* Connections accepted per callback before the loop serves others. */
#define LISTENER_ACCEPT_BATCH 32

typedef struct Listener Listener;

/* Called with each accepted connection; the callee owns fd. */
typedef void (*ListenerAcceptFn)(int fd, void *userdata);

/* Create the socket at path and start accepting. A path that exists and is
 * not a socket is left alone (WBEM_E_INVALID_PARAMETER). Errors: a positive
 * WbemStatus or a negative errno, with a message naming the path. */
int listener_new(struct event_base *base, const char *path, ListenerAcceptFn accept_fn,
                 void *userdata, Listener **ret, Error *err);
/* Listen on a TCP address (port 0: one the kernel picks; listener_name
 * tells which). SO_REUSEADDR is set, so a restart does not wait for
 * TIME_WAIT. Errors: a negative errno with a message naming the address
 * (EADDRINUSE, EADDRNOTAVAIL for an address of no local interface). */
int listener_new_tcp(struct event_base *base, const NetAddr *addr, ListenerAcceptFn accept_fn,
                     void *userdata, Listener **ret, Error *err);

/* Name a TCP listener's connections another way in messages: "tls
 * 127.0.0.1:7443" instead of "tcp ...". 0 or -ENOMEM. */
int listener_set_kind(Listener *l, const char *kind);

/* For messages: the socket path, or "tcp 127.0.0.1:45123" / "tcp
 * [::1]:7000" as actually bound. */
const char *listener_name(const Listener *l);

/* Stop accepting, close the socket and remove its file (Unix). Accepts
 * NULL. */
Listener *listener_free(Listener *l);

/* Whether accepts are paused by the back-off (for tests and stats). */
bool listener_is_paused(const Listener *l);

/* WBEM_E_INVALID_PARAMETER when path does not fit a Unix socket address. */
int listener_check_path(const char *path, Error *err);

/* Create the directory of the socket path (and its missing parents): 0755
 * for /run/lwmi, 0700 for any other. */
int listener_mkdir_socket_dir(const char *path, Error *err);

/* Create dir and its missing parents; the new ones get mode (exactly,
 * whatever the umask). Existing directories are left as they are. */
int listener_mkdir_parents(const char *dir, unsigned mode, Error *err);
