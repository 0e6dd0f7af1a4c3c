/* EngineTimerOps on libevent; see timers.h. */
#include "timers.h"

#include <stdint.h>

#include "mem.h"

typedef struct Timer {
        struct event *event;
        void (*fn)(void *arg);
        void *arg;
} Timer;

static void timers_fire(evutil_socket_t fd, short what, void *userdata) {
        Timer *t = userdata;
        (void)fd;
        (void)what;
        /* fn may stop (free) t: nothing of t is used after it. */
        t->fn(t->arg);
}

static void *timers_start(void *userdata, uint64_t interval_usec, void (*fn)(void *arg),
                          void *arg) {
        struct event_base *base = userdata;
        Timer *t = mem_calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->fn = fn;
        t->arg = arg;
        t->event = event_new(base, -1, EV_PERSIST, timers_fire, t);
        struct timeval tv = {
                .tv_sec = (time_t)(interval_usec / 1000000u),
                .tv_usec = (suseconds_t)(interval_usec % 1000000u),
        };
        if (!t->event || event_add(t->event, &tv) < 0) {
                if (t->event)
                        event_free(t->event);
                mem_free(t);
                return NULL;
        }
        return t;
}

static void timers_stop(void *userdata, void *timer) {
        Timer *t = timer;
        (void)userdata;

        if (!t)
                return;
        event_free(t->event);
        mem_free(t);
}

static void timers_readable(evutil_socket_t fd, short what, void *userdata) {
        Timer *t = userdata;
        (void)fd;
        (void)what;
        /* fn may unwatch (free) t, as for a timer. */
        t->fn(t->arg);
}

static void *timers_watch(void *userdata, int fd, void (*fn)(void *arg), void *arg) {
        struct event_base *base = userdata;
        Timer *t = mem_calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->fn = fn;
        t->arg = arg;
        t->event = event_new(base, fd, EV_READ | EV_PERSIST, timers_readable, t);
        if (!t->event || event_add(t->event, NULL) < 0) {
                if (t->event)
                        event_free(t->event);
                mem_free(t);
                return NULL;
        }
        return t;
}

EngineTimerOps timers_ops(struct event_base *base) {
        return (EngineTimerOps){
                .start = timers_start,
                .stop = timers_stop,
                .watch = timers_watch,
                .unwatch = timers_stop,
                .userdata = base,
        };
}
