/* tests/sim/test-simparts.c: cmocka tests of the simulator's building blocks.
 *
 * Owns: the rules of the PRNG (seed decides all), the event queue (time,
 * then insertion order), the disk model (group commit, what survives a
 * crash) and the network model (cuts, one-way links, no duplicated calls).
 * Must never: depend on the core's behaviour; raft.h is used for types and
 * event copies only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/sim/disk.h"
#include "tests/sim/eventq.h"
#include "tests/sim/network.h"
#include "tests/sim/prng.h"

static void test_same_seed_gives_same_draws(void **state)
{
        struct prng a, b, c;
        bool differ = false;
        (void) state;

        prng_init(&a, 42);
        prng_init(&b, 42);
        prng_init(&c, 43);
        for (int i = 0; i < 1000; i++) {
                uint64_t x = prng_next(&a);

                assert_int_equal(x, prng_next(&b));
                differ |= x != prng_next(&c);
        }
        assert_true(differ);
        assert_int_equal(prng_derive(7, 1), prng_derive(7, 1));
        assert_int_not_equal(prng_derive(7, 1), prng_derive(7, 2));
}

static void test_range_stays_within_bounds(void **state)
{
        struct prng p;
        bool lo = false, hi = false;
        (void) state;

        prng_init(&p, 1);
        for (int i = 0; i < 10000; i++) {
                uint64_t x = prng_range(&p, 5, 9);

                assert_in_range(x, 5, 9);
                lo |= x == 5;
                hi |= x == 9;
        }
        assert_true(lo && hi);
        assert_int_equal(prng_range(&p, 3, 3), 3);
        assert_int_equal(prng_below(&p, 0), 0);
}

static void test_events_fire_by_time_then_insertion(void **state)
{
        struct eventq q;
        struct sim_ev ev, out;
        const uint64_t times[] = { 30, 10, 20, 10, 10 };
        const int expect_node[] = { 1, 3, 4, 2, 0 };
        (void) state;

        eventq_init(&q);
        for (int i = 0; i < 5; i++) {
                ev = (struct sim_ev) { .time = times[i], .node = i };
                assert_int_equal(eventq_push(&q, &ev), 0);
        }
        for (int i = 0; i < 5; i++) {
                assert_true(eventq_pop(&q, &out));
                assert_int_equal(out.node, expect_node[i]);
        }
        assert_false(eventq_pop(&q, &out));
        eventq_free(&q);
}

static struct raft_event term_event(raft_seq_t seq)
{
        return (struct raft_event) { .seq = seq, .type = RAFT_EV_TERM, .term.term = seq };
}

static void test_flush_covers_only_events_written_before_it(void **state)
{
        struct disk d;
        struct prng p;
        uint64_t delay;
        (void) state;

        prng_init(&p, 1);
        disk_init(&d, 1, 5);
        for (raft_seq_t s = 1; s <= 3; s++) {
                struct raft_event ev = term_event(s);

                assert_int_equal(disk_write(&d, &ev), 0);
        }
        assert_true(disk_start_flush(&d, &p, &delay));
        assert_in_range(delay, 1, 5);
        assert_false(disk_start_flush(&d, &p, &delay)); /* one flush at a time */
        {
                struct raft_event ev = term_event(4);

                assert_int_equal(disk_write(&d, &ev), 0);
        }
        assert_int_equal(disk_flush_done(&d), 3); /* group commit of 1..3, not 4 */
        assert_true(disk_start_flush(&d, &p, &delay));
        assert_int_equal(disk_flush_done(&d), 4);
        assert_false(disk_start_flush(&d, &p, &delay)); /* nothing left */
        disk_free(&d);
}

static void test_write_refuses_a_sequence_gap(void **state)
{
        struct disk d;
        struct raft_event one = term_event(1), three = term_event(3);
        (void) state;

        disk_init(&d, 1, 1);
        assert_int_equal(disk_write(&d, &one), 0);
        assert_int_equal(disk_write(&d, &three), -EINVAL);
        disk_free(&d);
}

static void test_crash_keeps_durable_prefix_and_maybe_more(void **state)
{
        struct prng p;
        bool kept_more = false, kept_exact = false;
        (void) state;

        prng_init(&p, 9);
        for (int round = 0; round < 200; round++) {
                struct disk d;
                uint64_t delay;
                size_t kept;

                disk_init(&d, 1, 1);
                for (raft_seq_t s = 1; s <= 6; s++) {
                        struct raft_event ev = term_event(s);

                        assert_int_equal(disk_write(&d, &ev), 0);
                        if (s == 2) {
                                assert_true(disk_start_flush(&d, &p, &delay));
                                disk_flush_done(&d);
                        }
                }
                kept = disk_crash(&d, &p, 500);
                assert_in_range(kept, 2, 6);
                /* Survivors are a prefix: seqs 1..kept, all now durable. */
                for (size_t i = 0; i < kept; i++)
                        assert_int_equal(d.events[i].seq, i + 1);
                assert_int_equal(disk_durable_seq(&d), kept);
                kept_more |= kept > 2;
                kept_exact |= kept == 2;
                disk_free(&d);
        }
        assert_true(kept_more && kept_exact);
}

/* Compaction after a snapshot file is published: only durable events at
 * or below its seq go; the durable seq, a crash and later writes carry on
 * from them. */
static void test_compaction_drops_only_durable_covered_events(void **state)
{
        struct disk d;
        struct prng p;
        uint64_t delay;
        (void) state;

        prng_init(&p, 1);
        disk_init(&d, 1, 1);
        for (raft_seq_t s = 1; s <= 5; s++) {
                struct raft_event ev = term_event(s);

                assert_int_equal(disk_write(&d, &ev), 0);
                if (s == 3) {
                        assert_true(disk_start_flush(&d, &p, &delay));
                        disk_flush_done(&d);
                }
        }
        assert_int_equal(disk_compact(&d, 4), 3); /* 4 is not durable yet */
        assert_int_equal(d.n, 2);
        assert_int_equal(d.events[0].seq, 4);
        assert_int_equal(disk_durable_seq(&d), 3);
        assert_int_equal(disk_compact(&d, 2), 0);
        assert_int_equal(disk_crash(&d, &p, 0), 0);
        assert_int_equal(disk_durable_seq(&d), 3);
        {
                struct raft_event four = term_event(4), six = term_event(6);

                assert_int_equal(disk_write(&d, &six), -EINVAL);
                assert_int_equal(disk_write(&d, &four), 0);
        }
        disk_free(&d);
}

static void test_broken_disk_makes_nothing_durable_until_repaired(void **state)
{
        struct disk d;
        struct prng p;
        uint64_t delay;
        struct raft_event one = term_event(1), two = term_event(2), three = term_event(3);
        struct raft_event again = term_event(1);
        (void) state;

        prng_init(&p, 2);
        disk_init(&d, 1, 1);
        assert_int_equal(disk_write(&d, &one), 0);
        assert_true(disk_start_flush(&d, &p, &delay));
        d.broken = true;
        assert_int_equal(disk_flush_done(&d), 0); /* the sync in flight fails */
        assert_int_equal(disk_write(&d, &two), 0);
        assert_int_equal(disk_write(&d, &three), 0); /* order still checked */
        assert_false(disk_start_flush(&d, &p, &delay));
        assert_int_equal(disk_crash(&d, &p, 0), 0); /* nothing was ever durable */
        assert_false(d.broken);
        assert_int_equal(disk_durable_seq(&d), 0);
        assert_int_equal(disk_write(&d, &again), 0); /* the restarted node starts over */
        disk_free(&d);
}

static void test_cut_links_lose_every_message(void **state)
{
        struct network net;
        struct prng p;
        uint64_t delays[2];
        (void) state;

        prng_init(&p, 3);
        net_init(&net, 3);
        net_split(&net, 1u << 0); /* n1 alone */
        for (int i = 0; i < 100; i++) {
                assert_int_equal(net_send(&net, &p, 0, 1, true, delays), NET_CUT);
                assert_int_equal(net_send(&net, &p, 2, 0, true, delays), NET_CUT);
                assert_int_not_equal(net_send(&net, &p, 1, 2, true, delays), NET_CUT);
        }
        net_heal(&net);
        assert_false(net_is_cut(&net, 0, 1));
        net_cut_oneway(&net, 1u << 0, 1u << 1);
        assert_true(net_is_cut(&net, 0, 1));
        assert_false(net_is_cut(&net, 1, 0));
}

static void test_calls_are_never_duplicated(void **state)
{
        struct network net;
        struct prng p;
        uint64_t delays[2];
        int twice = 0;
        (void) state;

        prng_init(&p, 5);
        net_init(&net, 2);
        net.dup_pm = 1000;
        for (int i = 0; i < 100; i++) {
                assert_int_equal(net_send(&net, &p, 0, 1, false, delays), NET_ONCE);
                twice += net_send(&net, &p, 0, 1, true, delays) == NET_TWICE;
        }
        assert_int_equal(twice, 100);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_seed_gives_same_draws),
                cmocka_unit_test(test_range_stays_within_bounds),
                cmocka_unit_test(test_events_fire_by_time_then_insertion),
                cmocka_unit_test(test_flush_covers_only_events_written_before_it),
                cmocka_unit_test(test_write_refuses_a_sequence_gap),
                cmocka_unit_test(test_crash_keeps_durable_prefix_and_maybe_more),
                cmocka_unit_test(test_broken_disk_makes_nothing_durable_until_repaired),
                cmocka_unit_test(test_compaction_drops_only_durable_covered_events),
                cmocka_unit_test(test_cut_links_lose_every_message),
                cmocka_unit_test(test_calls_are_never_duplicated),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
