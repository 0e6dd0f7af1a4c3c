/* The arithmetic of a session's liveness (DESIGN.md "Liveness"), kept
 * apart from sockets and timers so it can be tested on its own: how old
 * the oldest byte of output not yet taken by the consumer is (the stall
 * rule), and what the keepalive asks for next.
 *
 * Stall. Output bytes are numbered from 0 in the order they are queued.
 * Every append records a mark (end offset, time); appends closer together
 * than a granularity are coalesced into the last mark, so a session keeps
 * at most LIVENESS_MARKS of them whatever it writes. The consumer has
 * taken the bytes below some offset (the session computes it: bytes
 * handed to the kernel minus the kernel's send queue); the oldest byte not
 * taken lies in the first mark ending beyond that offset, and is dated by
 * the time of that mark's LAST append: a byte is never taken for older
 * than it is, so a stall is never declared early, and at most one
 * granularity late. A trickle of writes does not make the oldest byte any
 * younger: only the consumer taking it does.
 *
 * Keepalive. Nothing heard for keepalive → Ping; nothing heard within
 * keepalive / 2 of the Ping → lost. Anything heard after the Ping
 * settles it, whether or not it is the Ping's answer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Marks kept per session (16 bytes each). */
#define LIVENESS_MARKS 64

typedef struct LivenessMark {
        uint64_t end;       /* offset just past the mark's last byte */
        uint64_t last_usec; /* its last append (its bytes' date) */
} LivenessMark;

typedef struct LivenessOutput {
        uint64_t queued;          /* bytes ever queued */
        uint64_t tail_first_usec; /* the newest mark's first append (for coalescing) */
        unsigned head;            /* index of the oldest mark */
        unsigned count;           /* marks in use */
        LivenessMark marks[LIVENESS_MARKS];
} LivenessOutput;

/* The coalescing granularity for a stall bound: 1/LIVENESS_MARKS of it,
 * at least 1 ms (so a stall is declared at most about 1.6% late, and a
 * full ring covers the bound). */
uint64_t liveness_granularity_usec(uint64_t stall_usec);

/* bytes were queued at now_usec. Returns true when this append started the
 * oldest pending mark (the output was empty as far as the marks know):
 * the caller makes sure a check is due by now_usec + stall bound. When
 * the ring is full the last mark grows instead (its bytes only get
 * younger, never older). */
bool liveness_output_queued(LivenessOutput *o, size_t bytes, uint64_t now_usec,
                            uint64_t granularity_usec);

/* Whether the ring is full (the caller may prune it with a fresh taken
 * offset before appending). */
bool liveness_output_full(const LivenessOutput *o);

/* The consumer has taken every byte below offset taken: drop the marks it
 * covers. Returns true with *ret_usec, the date of the oldest byte not yet
 * taken, when some are pending; false when all output was taken. */
bool liveness_output_oldest(LivenessOutput *o, uint64_t taken, uint64_t *ret_usec);

typedef enum LivenessKeepalive {
        LIVENESS_WAIT, /* nothing to do before *ret_due_usec */
        LIVENESS_PING, /* send a Ping now (then call liveness_keepalive_pinged) */
        LIVENESS_LOST, /* the Ping went unanswered for keepalive / 2 */
} LivenessKeepalive;

/* What the keepalive asks for at now_usec. *ping_usec is when the
 * outstanding keepalive Ping was sent (0: none); it is cleared when
 * something was heard since. On LIVENESS_WAIT, *ret_due_usec is when to
 * ask again. */
LivenessKeepalive liveness_keepalive_check(uint64_t now_usec, uint64_t last_heard_usec,
                                           uint64_t keepalive_usec, uint64_t *ping_usec,
                                           uint64_t *ret_due_usec);
