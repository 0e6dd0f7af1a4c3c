/* The arithmetic of the stall and keepalive rules; see liveness.h. */
#include "liveness.h"

uint64_t liveness_granularity_usec(uint64_t stall_usec) {
        uint64_t g = stall_usec / LIVENESS_MARKS;
        return g < 1000 ? 1000 : g;
}

bool liveness_output_full(const LivenessOutput *o) {
        return o->count == LIVENESS_MARKS;
}

static LivenessMark *last_mark(LivenessOutput *o) {
        return &o->marks[(o->head + o->count - 1) % LIVENESS_MARKS];
}

bool liveness_output_queued(LivenessOutput *o, size_t bytes, uint64_t now_usec,
                            uint64_t granularity_usec) {
        if (bytes == 0)
                return false;
        o->queued += bytes;
        if (o->count > 0) {
                LivenessMark *m = last_mark(o);
                if (now_usec - o->tail_first_usec < granularity_usec || o->count == LIVENESS_MARKS) {
                        m->end = o->queued;
                        m->last_usec = now_usec;
                        return false;
                }
        }
        o->marks[(o->head + o->count) % LIVENESS_MARKS] = (LivenessMark){
                .end = o->queued,
                .last_usec = now_usec,
        };
        o->tail_first_usec = now_usec;
        o->count++;
        return o->count == 1;
}

bool liveness_output_oldest(LivenessOutput *o, uint64_t taken, uint64_t *ret_usec) {
        while (o->count > 0 && o->marks[o->head].end <= taken) {
                o->head = (o->head + 1) % LIVENESS_MARKS;
                o->count--;
        }
        if (o->count == 0) {
                o->head = 0;
                return false;
        }
        *ret_usec = o->marks[o->head].last_usec;
        return true;
}

LivenessKeepalive liveness_keepalive_check(uint64_t now_usec, uint64_t last_heard_usec,
                                           uint64_t keepalive_usec, uint64_t *ping_usec,
                                           uint64_t *ret_due_usec) {
        if (*ping_usec != 0 && last_heard_usec >= *ping_usec)
                *ping_usec = 0; /* heard from since: the Ping is settled */
        if (*ping_usec == 0) {
                uint64_t due = last_heard_usec + keepalive_usec;
                if (now_usec >= due)
                        return LIVENESS_PING;
                *ret_due_usec = due;
                return LIVENESS_WAIT;
        }
        uint64_t due = *ping_usec + keepalive_usec / 2;
        if (now_usec >= due)
                return LIVENESS_LOST;
        *ret_due_usec = due;
        return LIVENESS_WAIT;
}
