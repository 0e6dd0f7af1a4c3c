/* Unit tests for the daemon's engine timers (src/daemon/timers.c): a timer
 * fires every interval until stopped, may be stopped from inside its own
 * callback (a poll task that ends its calls), and stopping frees it (the
 * ASan build checks for leaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fires_until_stopped),
                cmocka_unit_test(test_stop_inside_callback),
                cmocka_unit_test(test_long_interval),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
