/* tests/sim/test-lincheck.c: cmocka tests of the linearizability checker.
 *
 * Owns: histories whose verdict is known by hand, linearizable and not.
 * Must never: depend on the simulator; each test asserts the verdict.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/sim/lincheck.h"

static struct lc_op put(uint64_t key, uint64_t v, uint64_t ver, uint64_t t0, uint64_t t1)
{
        return (struct lc_op) { .key = key, .type = LC_PUT, .status = LC_OK, .invoke = t0,
                                .complete = t1, .value = v, .out_version = ver };
}

static struct lc_op get(uint64_t key, uint64_t v, uint64_t ver, uint64_t t0, uint64_t t1)
{
        return (struct lc_op) { .key = key, .type = LC_GET, .status = LC_OK, .invoke = t0,
                                .complete = t1, .found = v != 0, .out_value = v,
                                .out_version = ver };
}

static struct lc_op cas(uint64_t key, uint64_t expect, uint64_t v, bool ok, uint64_t cur,
                        uint64_t ver, uint64_t t0, uint64_t t1)
{
        return (struct lc_op) { .key = key, .type = LC_CAS, .status = LC_OK, .invoke = t0,
                                .complete = t1, .value = v, .expect = expect,
                                .succeeded = ok, .found = cur != 0, .out_value = cur,
                                .out_version = ver };
}

static struct lc_op with_status(struct lc_op op, enum lc_status st)
{
        op.status = st;
        return op;
}

static bool verdict(const struct lc_op *ops, size_t n)
{
        struct lc_result res;

        assert_int_equal(lc_check(ops, n, 0, &res), 0);
        assert_false(res.gave_up);
        return res.linearizable;
}

static void test_empty_history_is_linearizable(void **state)
{
        (void) state;
        assert_true(verdict(NULL, 0));
}

static void test_sequential_puts_and_gets_are_linearizable(void **state)
{
        struct lc_op h[] = { get(1, 0, 0, 1, 2), put(1, 10, 1, 3, 4), get(1, 10, 1, 5, 6),
                             put(1, 11, 2, 7, 8), get(1, 11, 2, 9, 10) };
        (void) state;
        assert_true(verdict(h, 5));
}

static void test_concurrent_read_may_see_either_value(void **state)
{
        struct lc_op before[] = { put(1, 10, 1, 1, 2), put(1, 11, 2, 3, 10),
                                  get(1, 10, 1, 4, 5) };
        struct lc_op after[] = { put(1, 10, 1, 1, 2), put(1, 11, 2, 3, 10),
                                 get(1, 11, 2, 4, 5) };
        (void) state;
        assert_true(verdict(before, 3));
        assert_true(verdict(after, 3));
}

static void test_stale_read_after_completed_write_is_rejected(void **state)
{
        struct lc_op h[] = { put(1, 10, 1, 1, 2), put(1, 11, 2, 3, 4), get(1, 10, 1, 5, 6) };
        (void) state;
        assert_false(verdict(h, 3));
}

static void test_read_going_back_in_time_is_rejected(void **state)
{
        /* Two reads concurrent with the write, but the second starts after the
         * first returned the new value and sees the old one. */
        struct lc_op h[] = { put(1, 10, 1, 1, 2), put(1, 11, 2, 3, 20), get(1, 11, 2, 4, 5),
                             get(1, 10, 1, 6, 7) };
        (void) state;
        assert_false(verdict(h, 4));
}

static void test_acknowledged_write_lost_is_rejected(void **state)
{
        struct lc_op h[] = { put(1, 10, 1, 1, 2), get(1, 0, 0, 3, 4) };
        (void) state;
        assert_false(verdict(h, 2));
}

static void test_put_returning_wrong_version_is_rejected(void **state)
{
        struct lc_op h[] = { put(1, 10, 1, 1, 2), put(1, 11, 3, 3, 4) };
        (void) state;
        assert_false(verdict(h, 2));
}

static void test_write_applied_twice_is_rejected(void **state)
{
        /* One put, but the version moved by two: a retried request applied twice. */
        struct lc_op h[] = { put(1, 10, 1, 1, 2), put(1, 11, 2, 3, 4), get(1, 11, 3, 5, 6) };
        (void) state;
        assert_false(verdict(h, 3));
}

static void test_unknown_write_may_take_effect_or_not(void **state)
{
        struct lc_op seen[] = { put(1, 10, 1, 1, 2), with_status(put(1, 11, 0, 3, 0), LC_UNKNOWN),
                                get(1, 11, 2, 50, 51) };
        struct lc_op unseen[] = { put(1, 10, 1, 1, 2),
                                  with_status(put(1, 11, 0, 3, 0), LC_UNKNOWN),
                                  get(1, 10, 1, 50, 51) };
        struct lc_op late[] = { put(1, 10, 1, 1, 2), with_status(put(1, 11, 0, 3, 0), LC_UNKNOWN),
                                get(1, 10, 1, 50, 51), get(1, 11, 2, 60, 61) };
        (void) state;
        assert_true(verdict(seen, 3));
        assert_true(verdict(unseen, 3));
        assert_true(verdict(late, 4));
}

static void test_unknown_write_visible_before_invoke_is_rejected(void **state)
{
        struct lc_op h[] = { get(1, 11, 1, 1, 2), with_status(put(1, 11, 0, 3, 0), LC_UNKNOWN) };
        (void) state;
        assert_false(verdict(h, 2));
}

static void test_unknown_write_cannot_take_effect_twice(void **state)
{
        struct lc_op h[] = { with_status(put(1, 11, 0, 1, 0), LC_UNKNOWN), get(1, 11, 1, 5, 6),
                             get(1, 11, 2, 7, 8) };
        (void) state;
        assert_false(verdict(h, 3));
}

static void test_failed_write_visible_is_rejected(void **state)
{
        struct lc_op h[] = { with_status(put(1, 11, 0, 1, 2), LC_FAIL), get(1, 11, 1, 5, 6) };
        (void) state;
        assert_false(verdict(h, 2));
}

static void test_cas_succeeds_on_equal_value_only(void **state)
{
        struct lc_op good[] = { put(1, 10, 1, 1, 2), cas(1, 10, 12, true, 12, 2, 3, 4),
                                cas(1, 10, 13, false, 12, 2, 5, 6), get(1, 12, 2, 7, 8) };
        struct lc_op bad[] = { put(1, 10, 1, 1, 2), cas(1, 9, 12, true, 12, 2, 3, 4) };
        struct lc_op absent[] = { cas(1, 10, 12, false, 0, 0, 1, 2) };
        (void) state;
        assert_true(verdict(good, 4));
        assert_false(verdict(bad, 2));
        assert_true(verdict(absent, 1));
}

static void test_two_cas_on_same_value_cannot_both_succeed(void **state)
{
        struct lc_op h[] = { put(1, 10, 1, 1, 2), cas(1, 10, 12, true, 12, 2, 3, 9),
                             cas(1, 10, 13, true, 13, 2, 4, 8) };
        (void) state;
        assert_false(verdict(h, 3));
}

static void test_keys_are_checked_independently(void **state)
{
        struct lc_op good[] = { put(1, 10, 1, 1, 2), put(2, 20, 1, 3, 4), get(1, 10, 1, 5, 6),
                                get(2, 20, 1, 5, 6) };
        struct lc_op bad[] = { put(1, 10, 1, 1, 2), put(2, 20, 1, 3, 4), get(1, 20, 1, 5, 6) };
        struct lc_result res;
        (void) state;
        assert_true(verdict(good, 4));
        assert_int_equal(lc_check(bad, 3, 0, &res), 0);
        assert_false(res.linearizable);
        assert_int_equal(res.bad_key, 1);
        assert_int_equal(res.stuck_op, 2);
}

static void test_delete_makes_key_absent_and_resets_version(void **state)
{
        struct lc_op del = { .key = 1, .type = LC_DELETE, .status = LC_OK, .invoke = 3,
                             .complete = 4, .found = true };
        struct lc_op h[] = { put(1, 10, 1, 1, 2), del, get(1, 0, 0, 5, 6), put(1, 11, 1, 7, 8) };
        (void) state;
        assert_true(verdict(h, 4));
        h[3].out_version = 2;
        assert_false(verdict(h, 4));
}

static void test_equal_times_count_as_concurrent(void **state)
{
        struct lc_op h[] = { put(1, 10, 1, 1, 2), put(1, 11, 2, 3, 5), get(1, 10, 1, 5, 6) };
        (void) state;
        assert_true(verdict(h, 3));
}

static void test_invalid_histories_are_refused(void **state)
{
        struct lc_op backwards[] = { put(1, 10, 1, 5, 2) };
        struct lc_op zero_value[] = { put(1, 0, 1, 1, 2) };
        struct lc_op bad_type[] = { put(1, 10, 1, 1, 2) };
        struct lc_result res;
        (void) state;
        bad_type[0].type = 99;
        assert_int_equal(lc_check(backwards, 1, 0, &res), -EINVAL);
        assert_int_equal(lc_check(zero_value, 1, 0, &res), -EINVAL);
        assert_int_equal(lc_check(bad_type, 1, 0, &res), -EINVAL);
}

/* Many overlapping writers and readers: linearizable by construction
 * (each op's effect happens at its midpoint), and the search must finish. */
static void test_large_concurrent_history_finishes(void **state)
{
        enum { N = 300 };
        struct lc_op h[N];
        uint64_t version = 0, value = 0;
        struct lc_result res;
        (void) state;

        for (size_t i = 0; i < N; i++) {
                uint64_t mid = 10 * (i + 3);

                if (i % 3 == 2) {
                        h[i] = get(7, value, version, mid - 25, mid + 25);
                } else {
                        value = 1000 + i;
                        version++;
                        h[i] = put(7, value, version, mid - 25, mid + 25);
                }
                h[i].client = i % 6;
        }
        assert_int_equal(lc_check(h, N, 2000000, &res), 0);
        assert_false(res.gave_up);
        assert_true(res.linearizable);
        /* Corrupt one read far in: it must be rejected, not given up on. */
        h[N - 3].out_version = 1;
        assert_int_equal(lc_check(h, N, 2000000, &res), 0);
        assert_false(res.gave_up);
        assert_false(res.linearizable);
}

static void test_state_bound_gives_up_without_verdict(void **state)
{
        enum { N = 20 };
        struct lc_op h[2 * N];
        struct lc_result res;
        (void) state;

        /* Concurrent unknown writes, each read by an impossible read: every
         * subset and order of the writes is worth trying. */
        for (size_t i = 0; i < N; i++) {
                h[i] = with_status(put(3, 100 + i, 0, 1, 0), LC_UNKNOWN);
                h[N + i] = get(3, 100 + i, 50, 2, 1000);
        }
        assert_int_equal(lc_check(h, 2 * N, 1000, &res), 0);
        assert_true(res.gave_up);
        assert_false(res.linearizable);
}

/* Hundreds of timed-out writes nobody read: the version a later read sees
 * may count any number of them, but not more than were invoked. */
static void test_many_unobserved_unknown_writes_stay_cheap(void **state)
{
        enum { N = 400 };
        struct lc_op h[N + 2];
        struct lc_result res;
        (void) state;

        h[0] = put(5, 1, 1, 1, 2);
        for (size_t i = 1; i <= N; i++)
                h[i] = with_status(put(5, 10 + i, 0, 2 + i, 0), LC_UNKNOWN);
        h[N + 1] = get(5, 1, 1, 10000, 10001);
        /* The read sees the first value: the only order is "none applied yet". */
        assert_int_equal(lc_check(h, N + 2, 100000, &res), 0);
        assert_false(res.gave_up);
        assert_true(res.linearizable);
        /* A read of an unknown write's value at version 1 + 150: 149 others first. */
        h[N + 1] = get(5, 10 + 300, 151, 10000, 10001);
        assert_int_equal(lc_check(h, N + 2, 1000000, &res), 0);
        assert_false(res.gave_up);
        assert_true(res.linearizable);
        /* Its value at version 2 + N is impossible: only N - 1 others exist. */
        h[N + 1] = get(5, 10 + 300, 2 + N, 10000, 10001);
        assert_int_equal(lc_check(h, N + 2, 1000000, &res), 0);
        assert_false(res.gave_up);
        assert_false(res.linearizable);
        /* A version bump invoked before the write it must follow is not enough. */
        h[N + 1] = get(5, 1, 3, 3, 4);
        assert_int_equal(lc_check(h, N + 2, 1000000, &res), 0);
        assert_false(res.gave_up);
        assert_false(res.linearizable);
}

/* Timed-out CAS ops that would fail change nothing: placing them or not is
 * the same, so they must not multiply the search. */
static void test_many_unknown_failing_cas_stay_cheap(void **state)
{
        enum { N = 200 };
        struct lc_op h[N + 3];
        struct lc_result res;
        (void) state;

        h[0] = put(6, 1, 1, 1, 2);
        for (size_t i = 1; i <= N; i++)
                h[i] = with_status(cas(6, 999, 1000 + i, false, 0, 0, 2 + i, 0), LC_UNKNOWN);
        h[N + 1] = put(6, 2, 2, 5000, 5001);
        h[N + 2] = get(6, 2, 2, 6000, 6001);
        assert_int_equal(lc_check(h, N + 3, 100000, &res), 0);
        assert_false(res.gave_up);
        assert_true(res.linearizable);
        h[N + 2] = get(6, 1, 1, 6000, 6001);
        assert_int_equal(lc_check(h, N + 3, 100000, &res), 0);
        assert_false(res.gave_up);
        assert_false(res.linearizable);
}

static void test_op_format_names_the_operation(void **state)
{
        char buf[128];
        struct lc_op op = put(2, 17, 4, 100, 130);
        (void) state;

        op.client = 3;
        lc_op_format(&op, buf, sizeof(buf));
        assert_string_equal(buf, "c3 put k2 v17 -> ver 4 ok [100, 130]");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_history_is_linearizable),
                cmocka_unit_test(test_sequential_puts_and_gets_are_linearizable),
                cmocka_unit_test(test_concurrent_read_may_see_either_value),
                cmocka_unit_test(test_stale_read_after_completed_write_is_rejected),
                cmocka_unit_test(test_read_going_back_in_time_is_rejected),
                cmocka_unit_test(test_acknowledged_write_lost_is_rejected),
                cmocka_unit_test(test_put_returning_wrong_version_is_rejected),
                cmocka_unit_test(test_write_applied_twice_is_rejected),
                cmocka_unit_test(test_unknown_write_may_take_effect_or_not),
                cmocka_unit_test(test_unknown_write_visible_before_invoke_is_rejected),
                cmocka_unit_test(test_unknown_write_cannot_take_effect_twice),
                cmocka_unit_test(test_failed_write_visible_is_rejected),
                cmocka_unit_test(test_cas_succeeds_on_equal_value_only),
                cmocka_unit_test(test_two_cas_on_same_value_cannot_both_succeed),
                cmocka_unit_test(test_keys_are_checked_independently),
                cmocka_unit_test(test_delete_makes_key_absent_and_resets_version),
                cmocka_unit_test(test_equal_times_count_as_concurrent),
                cmocka_unit_test(test_invalid_histories_are_refused),
                cmocka_unit_test(test_large_concurrent_history_finishes),
                cmocka_unit_test(test_state_bound_gives_up_without_verdict),
                cmocka_unit_test(test_many_unobserved_unknown_writes_stay_cheap),
                cmocka_unit_test(test_many_unknown_failing_cas_stay_cheap),
                cmocka_unit_test(test_op_format_names_the_operation),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
