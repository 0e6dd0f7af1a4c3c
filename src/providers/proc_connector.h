/* The kernel's process events connector (netlink NETLINK_CONNECTOR,
 * group CN_IDX_PROC): the socket, and a parser for what it delivers.
 *
 * The kernel multicasts one message per process event (fork, exec, exit,
 * comm and id changes, ...) to the sockets bound to the group once one of
 * them has sent PROC_CN_MCAST_LISTEN, which needs CAP_NET_ADMIN in the
 * initial user namespace, from the initial user and pid namespaces (the
 * kernel silently ignores the request from any other namespace). Events
 * name tasks: a thread's events carry pid != tgid.
 *
 * The parser takes the bytes of one datagram (any number of netlink
 * messages) with an explicit length, trusts nothing in them (lengths,
 * types, alignment) and allocates nothing, so it can be fuzzed
 * (fuzz/fuzz-proccn.c). The socket functions return 0 or a negative errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ProcCnKind {
        PROC_CN_ACK = 1, /* the answer to LISTEN / IGNORE: err */
        PROC_CN_FORK,    /* pid/tgid: the child; parent_*: the parent */
        PROC_CN_EXEC,
        PROC_CN_EXIT,    /* exit_code: the wait status; exit_signal */
        PROC_CN_UID,     /* ruid, euid */
        PROC_CN_GID,     /* ruid, euid hold rgid, egid */
        PROC_CN_COMM,    /* comm (NUL-terminated here) */
        PROC_CN_OTHER,   /* sid, ptrace, coredump, ...: pid/tgid only */
        PROC_CN_OVERRUN, /* an NLMSG_OVERRUN: messages were lost */
} ProcCnKind;

typedef struct ProcCnEvent {
        ProcCnKind kind;
        uint32_t pid, tgid;               /* the task the event is about */
        uint32_t parent_pid, parent_tgid; /* FORK; EXIT (0 on old kernels) */
        uint64_t timestamp_ns;            /* CLOCK_MONOTONIC of the event */
        uint32_t exit_code, exit_signal;  /* EXIT */
        uint32_t ruid, euid;              /* UID, GID */
        uint32_t err;                     /* ACK */
        char comm[17];                    /* COMM */
} ProcCnEvent;

/* Parse the datagram [buf, buf + len) into events[0 .. max): *ret_n gets the
 * count, *ret_skipped (may be NULL) the messages not understood (a foreign
 * connector id, a kind too short for its fields, a netlink error or noop).
 * A message that does not fit the datagram ends it. Returns 0, or
 * -EBADMSG when the datagram holds no valid netlink message at all (e.g.
 * shorter than a header); more than max events: the rest are skipped and
 * counted. */
int proc_connector_parse(const void *buf, size_t len, ProcCnEvent *events, size_t max,
                         size_t *ret_n, size_t *ret_skipped);

/* The datagram of a LISTEN (listen true) or IGNORE request, into buf
 * (size >= PROC_CN_REQUEST_SIZE). Returns its length. */
#define PROC_CN_REQUEST_SIZE 64
size_t proc_connector_request(void *buf, bool listen, uint32_t seq);

/* A non-blocking, close-on-exec netlink connector socket bound to the
 * process events group, with a receive buffer of rcvbuf bytes (forced
 * beyond rmem_max when privileged). *ret: the descriptor. */
int proc_connector_open(size_t rcvbuf, int *ret);
/* Send LISTEN or IGNORE on fd. */
int proc_connector_send(int fd, bool listen);
/* Receive one datagram from the kernel into buf: its length, 0 when there
 * is nothing (EAGAIN), -ENOBUFS when the kernel dropped messages for want
 * of room (the socket stays usable), another negative errno. Datagrams
 * that do not come from the kernel are dropped (0). */
long proc_connector_recv(int fd, void *buf, size_t size);

/* Whether this process may listen: CAP_NET_ADMIN effective, and the
 * initial user and pid namespaces. false with why filled ("needs
 * CAP_NET_ADMIN in the initial user and pid namespaces ...") otherwise. */
bool proc_connector_allowed(char *why, size_t why_size);
