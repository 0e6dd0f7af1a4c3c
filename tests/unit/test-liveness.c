/* Unit tests for the liveness arithmetic (src/daemon/liveness.c): dating
 * output bytes with coalesced marks (a trickle does not rejuvenate the
 * oldest byte, a byte is never dated older than it is, the ring stays
 * bounded) and the keepalive's Ping / lost decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "liveness.h"

#define MS 1000u

static void test_granularity(void **state) {
        (void)state;
        assert_int_equal(liveness_granularity_usec(10000 * MS), 156250);
        assert_int_equal(liveness_granularity_usec(100 * MS), 1562);
        /* at least 1 ms */
        assert_int_equal(liveness_granularity_usec(10 * MS), 1000);
        assert_int_equal(liveness_granularity_usec(0), 1000);
}

static void test_empty_output_has_nothing_pending(void **state) {
        LivenessOutput o = { 0 };
        uint64_t when = 42;
        (void)state;

        assert_false(liveness_output_oldest(&o, 0, &when));
        assert_int_equal(when, 42); /* untouched */
        assert_false(liveness_output_queued(&o, 0, 5, 1000));
        assert_int_equal(o.count, 0);
}

static void test_dates_the_oldest_pending_byte(void **state) {
        LivenessOutput o = { 0 };
        uint64_t when = 0;
        (void)state;

        /* the first append starts the oldest mark: the caller arms a check */
        assert_true(liveness_output_queued(&o, 100, 1000 * MS, 10 * MS));
        assert_false(liveness_output_queued(&o, 50, 1100 * MS, 10 * MS));
        assert_false(liveness_output_queued(&o, 25, 1200 * MS, 10 * MS));
        assert_int_equal(o.queued, 175);
        assert_int_equal(o.count, 3);

        assert_true(liveness_output_oldest(&o, 0, &when));
        assert_int_equal(when, 1000 * MS);
        /* part of the first append taken: still its date */
        assert_true(liveness_output_oldest(&o, 99, &when));
        assert_int_equal(when, 1000 * MS);
        /* all of it taken: the second's */
        assert_true(liveness_output_oldest(&o, 100, &when));
        assert_int_equal(when, 1100 * MS);
        assert_int_equal(o.count, 2);
        assert_true(liveness_output_oldest(&o, 160, &when));
        assert_int_equal(when, 1200 * MS);
        /* everything taken: nothing pending, and the next append is the
         * oldest again */
        assert_false(liveness_output_oldest(&o, 175, &when));
        assert_int_equal(o.count, 0);
        assert_true(liveness_output_queued(&o, 10, 1300 * MS, 10 * MS));
        assert_true(liveness_output_oldest(&o, 175, &when));
        assert_int_equal(when, 1300 * MS);
}

static void test_coalesced_bytes_are_never_dated_older(void **state) {
        LivenessOutput o = { 0 };
        uint64_t when = 0;
        (void)state;

        /* appends within the granularity share a mark dated by the last */
        assert_true(liveness_output_queued(&o, 10, 1000 * MS, 10 * MS));
        assert_false(liveness_output_queued(&o, 10, 1004 * MS, 10 * MS));
        assert_false(liveness_output_queued(&o, 10, 1009 * MS, 10 * MS));
        assert_int_equal(o.count, 1);
        assert_true(liveness_output_oldest(&o, 0, &when));
        assert_int_equal(when, 1009 * MS);
        /* the granularity counts from the mark's first append */
        assert_false(liveness_output_queued(&o, 10, 1010 * MS, 10 * MS));
        assert_int_equal(o.count, 2);
}

/* The bound on lateness: whatever offset the consumer stopped at, the
 * oldest byte not taken is dated no earlier than it was queued (never
 * early) and at most one granularity (stall / LIVENESS_MARKS) after it,
 * however the appends were spread: here one every 7 ms for 2 s with a 2 s
 * bound (granularity 31.25 ms), the consumer stopping anywhere. */
static void test_dated_within_one_granularity(void **state) {
        const uint64_t stall = 2000 * MS, g = liveness_granularity_usec(stall);
        uint64_t queued_at[300];
        (void)state;

        assert_true(g <= stall / 50); /* within 2% of the bound */
        for (uint64_t stop = 0; stop < 300 * 10; stop += 13) {
                LivenessOutput o = { 0 };
                uint64_t when = 0;
                for (unsigned i = 0; i < 300; i++) {
                        queued_at[i] = (5000 + 7 * i) * MS;
                        (void)liveness_output_queued(&o, 10, queued_at[i], g);
                        /* the consumer takes everything up to stop at once */
                        if (o.count == LIVENESS_MARKS)
                                (void)liveness_output_oldest(&o, stop, &when);
                }
                assert_true(liveness_output_oldest(&o, stop, &when));
                uint64_t truth = queued_at[stop / 10];
                assert_true(when >= truth);
                assert_true(when - truth <= g);
        }
}

/* The point of the rule: a consumer that takes a little now and then while
 * output keeps coming does not make its oldest pending byte young. */
static void test_trickle_does_not_rejuvenate(void **state) {
        LivenessOutput o = { 0 };
        uint64_t when = 0, taken = 0;
        (void)state;

        /* 1000 bytes every 100 ms; the consumer takes 100 every 100 ms */
        for (uint64_t t = 0; t <= 3000; t += 100) {
                (void)liveness_output_queued(&o, 1000, t * MS, 50 * MS);
                taken += 100;
                assert_true(liveness_output_oldest(&o, taken, &when));
                /* byte `taken` was queued at (taken / 1000) * 100 ms */
                assert_int_equal(when, (taken / 1000) * 100 * MS);
        }
        assert_true(3000 * MS - when >= 2500 * MS);
}

static void test_ring_is_bounded(void **state) {
        LivenessOutput o = { 0 };
        uint64_t when = 0;
        (void)state;

        for (unsigned i = 0; i < 3 * LIVENESS_MARKS; i++)
                (void)liveness_output_queued(&o, 1, (1000 + 100 * i) * MS, 10 * MS);
        assert_true(liveness_output_full(&o));
        assert_int_equal(o.count, LIVENESS_MARKS);
        assert_int_equal(o.queued, 3 * LIVENESS_MARKS);
        /* the oldest byte keeps its date; the last mark took the rest, dated
         * by the latest append (younger, never older, than they are) */
        assert_true(liveness_output_oldest(&o, 0, &when));
        assert_int_equal(when, 1000 * MS);
        assert_true(liveness_output_oldest(&o, LIVENESS_MARKS - 1, &when));
        assert_int_equal(when, (1000 + 100 * (3 * LIVENESS_MARKS - 1)) * MS);
        /* taking it all empties the ring, which wraps around cleanly */
        assert_false(liveness_output_oldest(&o, 3 * LIVENESS_MARKS, &when));
        assert_false(liveness_output_full(&o));
        for (unsigned i = 0; i < LIVENESS_MARKS + 3; i++)
                (void)liveness_output_queued(&o, 2, (9000 + 100 * i) * MS, 10 * MS);
        assert_true(liveness_output_oldest(&o, 3 * LIVENESS_MARKS + 2, &when));
        assert_int_equal(when, 9100 * MS);
}

static void test_keepalive_ping_then_lost(void **state) {
        uint64_t ping = 0, due = 0;
        const uint64_t ka = 1000 * MS;
        (void)state;

        /* heard at 10 s: nothing due before 11 s */
        assert_int_equal(liveness_keepalive_check(10500 * MS, 10000 * MS, ka, &ping, &due),
                         LIVENESS_WAIT);
        assert_int_equal(due, 11000 * MS);
        assert_int_equal(liveness_keepalive_check(11000 * MS, 10000 * MS, ka, &ping, &due),
                         LIVENESS_PING);
        ping = 11000 * MS; /* the caller sent it */
        assert_int_equal(liveness_keepalive_check(11200 * MS, 10000 * MS, ka, &ping, &due),
                         LIVENESS_WAIT);
        assert_int_equal(due, 11500 * MS);
        /* nothing heard within keepalive / 2 of the Ping: lost at 1.5 x */
        assert_int_equal(liveness_keepalive_check(11500 * MS, 10000 * MS, ka, &ping, &due),
                         LIVENESS_LOST);
}

static void test_keepalive_anything_heard_settles_the_ping(void **state) {
        uint64_t ping = 11000 * MS, due = 0;
        const uint64_t ka = 1000 * MS;
        (void)state;

        /* heard at 11.3 s (the answer or any other line): the Ping is
         * settled and the next is due a keepalive after that */
        assert_int_equal(liveness_keepalive_check(11600 * MS, 11300 * MS, ka, &ping, &due),
                         LIVENESS_WAIT);
        assert_int_equal(ping, 0);
        assert_int_equal(due, 12300 * MS);
        /* heard before the Ping does not settle it */
        ping = 13300 * MS;
        assert_int_equal(liveness_keepalive_check(13400 * MS, 12300 * MS, ka, &ping, &due),
                         LIVENESS_WAIT);
        assert_int_equal(ping, 13300 * MS);
        assert_int_equal(due, 13800 * MS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_granularity),
                cmocka_unit_test(test_dated_within_one_granularity),
                cmocka_unit_test(test_empty_output_has_nothing_pending),
                cmocka_unit_test(test_dates_the_oldest_pending_byte),
                cmocka_unit_test(test_coalesced_bytes_are_never_dated_older),
                cmocka_unit_test(test_trickle_does_not_rejuvenate),
                cmocka_unit_test(test_ring_is_bounded),
                cmocka_unit_test(test_keepalive_ping_then_lost),
                cmocka_unit_test(test_keepalive_anything_heard_settles_the_ping),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
