/* unix_diag queries over NETLINK_SOCK_DIAG; see sockdiag.h. */
#include "sockdiag.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sockdiag_open(void) {
        int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        return fd < 0 ? -errno : fd;
}

typedef struct SockdiagAnswer {
        uint64_t peer;
        uint64_t unread;
        unsigned found; /* UDIAG_SHOW_* whose attribute came back */
} SockdiagAnswer;

/* Ask about socket ino (show: UDIAG_SHOW_*) and parse the reply. */
static int sockdiag_query(int diag_fd, uint32_t seq, uint64_t ino, unsigned show,
                          SockdiagAnswer *ret) {
        struct {
                struct nlmsghdr header;
                struct unix_diag_req req;
        } request = {
                .header = { .nlmsg_len = sizeof(request),
                            .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                            .nlmsg_flags = NLM_F_REQUEST,
                            .nlmsg_seq = seq },
                .req = { .sdiag_family = AF_UNIX,
                         .udiag_states = ~0u,
                         .udiag_ino = (uint32_t)ino,
                         .udiag_show = show,
                         .udiag_cookie = { ~0u, ~0u } },
        };
        /* the reply: a header, unix_diag_msg and a few small attributes */
        union {
                struct nlmsghdr header;
                char bytes[1024];
        } reply;

        if (diag_fd < 0 || ino == 0 || ino > UINT32_MAX)
                return -EINVAL;
        if (send(diag_fd, &request, sizeof(request), MSG_DONTWAIT) < 0)
                return -errno;
        for (;;) {
                ssize_t n = recv(diag_fd, &reply, sizeof(reply), MSG_DONTWAIT);
                if (n < 0)
                        return errno == EINTR ? -EAGAIN : -errno;
                struct nlmsghdr *h = &reply.header;
                if (!NLMSG_OK(h, (size_t)n))
                        return -EBADMSG;
                if (h->nlmsg_seq != seq)
                        continue; /* left over from an earlier query */
                if (h->nlmsg_type == NLMSG_ERROR) {
                        const struct nlmsgerr *e = NLMSG_DATA(h);
                        return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0 ? e->error
                                                                                        : -EBADMSG;
                }
                if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
                    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
                        return -EBADMSG;
                const struct unix_diag_msg *msg = NLMSG_DATA(h);
                if (msg->udiag_ino != (uint32_t)ino)
                        return -EBADMSG;
                struct rtattr *a = (struct rtattr *)(void *)((char *)NLMSG_DATA(h) +
                                                             NLMSG_ALIGN(sizeof(*msg)));
                int len = (int)(h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*msg))));
                *ret = (SockdiagAnswer){ 0 };
                for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                        if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
                                uint32_t peer;
                                memcpy(&peer, RTA_DATA(a), sizeof(peer));
                                ret->peer = peer;
                                ret->found |= UDIAG_SHOW_PEER;
                        } else if (a->rta_type == UNIX_DIAG_RQLEN &&
                                   RTA_PAYLOAD(a) >= sizeof(struct unix_diag_rqlen)) {
                                struct unix_diag_rqlen rq;
                                memcpy(&rq, RTA_DATA(a), sizeof(rq));
                                ret->unread = rq.udiag_rqueue;
                                ret->found |= UDIAG_SHOW_RQLEN;
                        }
                }
                return 0;
        }
}

int sockdiag_unix_peer(int diag_fd, uint32_t seq, uint64_t ino, uint64_t *ret_peer) {
        SockdiagAnswer a;
        int r = sockdiag_query(diag_fd, seq, ino, UDIAG_SHOW_PEER, &a);
        if (r < 0)
                return r;
        if (!(a.found & UDIAG_SHOW_PEER) || a.peer == 0)
                return -ENOENT;
        *ret_peer = a.peer;
        return 0;
}

int sockdiag_unix_unread(int diag_fd, uint32_t seq, uint64_t ino, uint64_t *ret_bytes) {
        SockdiagAnswer a;
        int r = sockdiag_query(diag_fd, seq, ino, UDIAG_SHOW_RQLEN, &a);
        if (r < 0)
                return r;
        if (!(a.found & UDIAG_SHOW_RQLEN))
                return -ENOENT;
        *ret_bytes = a.unread;
        return 0;
}
