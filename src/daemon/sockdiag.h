/* Asking the kernel about Unix sockets through sock_diag (NETLINK_SOCK_DIAG,
 * unix_diag), for the stall rule: how many bytes a session's peer has not
 * read yet. SIOCOUTQ on our end of a Unix socket counts the kernel's
 * buffers with their overhead (about 700 bytes more per write), which
 * makes small writes look several times larger than they are; the peer's
 * receive queue, as unix_diag reports it, is the exact number of bytes
 * written and not yet read.
 *
 * A query is one request and one reply, answered by the kernel inside the
 * send: nothing waits. The lookup walks the kernel's table of Unix sockets
 * of the network namespace, so it is made only when a stall check needs
 * it. Every failure (no unix_diag in the kernel, a peer in another
 * namespace) is an error the caller answers by falling back to SIOCOUTQ. */
#pragma once

#include <stdint.h>

/* A sock_diag netlink socket (non-blocking, close-on-exec), or a negative
 * errno. */
int sockdiag_open(void);

/* The inode of the socket connected to the Unix socket with inode ino.
 * 0 or a negative errno (-ENOENT: no such socket or no peer). */
int sockdiag_unix_peer(int diag_fd, uint32_t seq, uint64_t ino, uint64_t *ret_peer);

/* Bytes waiting in the receive queue of the Unix stream socket with inode
 * ino (bytes its peer wrote that it has not read). 0 or a negative errno. */
int sockdiag_unix_unread(int diag_fd, uint32_t seq, uint64_t ino, uint64_t *ret_bytes);
