/* Unit tests for the daemon's engine timers (src/daemon/timers.c): a timer
 * fires every interval until stopped, may be stopped from inside its own
 * callback (a poll task that ends its calls), and stopping frees it (the
 * ASan build checks for leaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <unistd.h>

#include "timers.h"

typedef struct Count {
        EngineTimerOps ops;
        void *timer;
        unsigned fired;
        unsigned stop_at; /* stop from inside the callback at this count */
} Count;

static void count_fire(void *arg) {
        Count *c = arg;
        c->fired++;
        if (c->fired == c->stop_at) {
                c->ops.stop(c->ops.userdata, c->timer);
                c->timer = NULL;
        }
}

static void run_for_ms(struct event_base *base, long ms) {
        struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
}

static void test_fires_until_stopped(void **state) {
        (void)state;
        struct event_base *base = event_base_new();
        assert_non_null(base);
        Count c = { .ops = timers_ops(base) };

        c.timer = c.ops.start(c.ops.userdata, 10000, count_fire, &c);
        assert_non_null(c.timer);
        run_for_ms(base, 105);
        /* about ten times; timing on a loaded machine is loose */
        assert_true(c.fired >= 3);
        assert_true(c.fired <= 11);
        c.ops.stop(c.ops.userdata, c.timer);
        unsigned fired = c.fired;
        run_for_ms(base, 40);
        assert_int_equal(c.fired, fired);
        event_base_free(base);
}

static void test_stop_inside_callback(void **state) {
        (void)state;
        struct event_base *base = event_base_new();
        assert_non_null(base);
        Count c = { .ops = timers_ops(base), .stop_at = 2 };

        c.timer = c.ops.start(c.ops.userdata, 5000, count_fire, &c);
        assert_non_null(c.timer);
        run_for_ms(base, 80);
        assert_int_equal(c.fired, 2);
        assert_null(c.timer);
        /* a stopped timer leaves nothing pending */
        assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
        event_base_free(base);
}

static void test_long_interval(void **state) {
        (void)state;
        struct event_base *base = event_base_new();
        assert_non_null(base);
        Count c = { .ops = timers_ops(base) };

        /* seconds and microseconds both carried: 1.5 s does not fire in 50 ms */
        c.timer = c.ops.start(c.ops.userdata, 1500000, count_fire, &c);
        assert_non_null(c.timer);
        run_for_ms(base, 50);
        assert_int_equal(c.fired, 0);
        c.ops.stop(c.ops.userdata, c.timer);
        c.ops.stop(c.ops.userdata, NULL); /* accepted */
        event_base_free(base);
}

typedef struct Reader {
        EngineTimerOps ops;
        void *watch;
        int fd;
        unsigned fired;
        unsigned unwatch_at; /* unwatch from inside the callback at this count */
} Reader;

static void reader_fire(void *arg) {
        Reader *r = arg;
        char c;
        r->fired++;
        assert_int_equal(read(r->fd, &c, 1), 1);
        if (r->fired == r->unwatch_at) {
                r->ops.unwatch(r->ops.userdata, r->watch);
                r->watch = NULL;
        }
}

/* A watch runs its function while the descriptor is readable, and
 * unwatching (also from inside the callback) frees it and stops it. */
static void test_watch_readable(void **state) {
        (void)state;
        struct event_base *base = event_base_new();
        assert_non_null(base);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        Reader r = { .ops = timers_ops(base), .fd = fds[0], .unwatch_at = 3 };

        r.watch = r.ops.watch(r.ops.userdata, fds[0], reader_fire, &r);
        assert_non_null(r.watch);
        run_for_ms(base, 20);
        assert_int_equal(r.fired, 0); /* nothing to read */
        assert_int_equal(write(fds[1], "ab", 2), 2);
        run_for_ms(base, 20);
        assert_int_equal(r.fired, 2);
        assert_int_equal(write(fds[1], "cd", 2), 2);
        run_for_ms(base, 20);
        assert_int_equal(r.fired, 3); /* unwatched at the third */
        assert_null(r.watch);
        assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);

        r.watch = r.ops.watch(r.ops.userdata, fds[0], reader_fire, &r);
        assert_non_null(r.watch);
        r.ops.unwatch(r.ops.userdata, r.watch);
        close(fds[0]);
        close(fds[1]);
        event_base_free(base);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fires_until_stopped),
                cmocka_unit_test(test_stop_inside_callback),
                cmocka_unit_test(test_long_interval),
                cmocka_unit_test(test_watch_readable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
