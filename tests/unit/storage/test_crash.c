/* tests/unit/storage/test_crash.c: crash consistency over random schedules.
 *
 * Owns: the property "after a crash at any I/O call, recovery yields exactly
 * a prefix of the appended events, containing every event reported durable,
 * and the recovered log accepts appends again", checked for every crash
 * point of many random schedules (appends, flushes, rotations, snapshots),
 * with unsynced data dropped or kept as a random torn prefix.
 *
 * Must never: sleep or depend on timing for its verdict.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/storage/helpers.h"

#define N_SCHEDULES 200

static uint64_t rnd(uint64_t *x)
{
        uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

struct outcome {
        uint64_t appended;       /* events handed to evlog_append successfully */
        uint64_t durable;        /* highest reported durable */
        uint64_t snapshot;       /* highest snapshot reported written (0: none) */
        bool crashed;
};

/* Runs schedule `seed` on `sim`, crashing at mutating call `crash_at` (0 for
 * none). */
static void run_schedule(struct io_sim *sim, uint64_t seed, uint64_t crash_at,
                         struct outcome *out)
{
        uint64_t rng = seed, seg_size = 256 + rnd(&rng) % 2048, next = 1;
        int steps = 5 + (int)(rnd(&rng) % 20);
        struct storage_error err;
        struct collected c;
        struct evlog *log;

        memset(out, 0, sizeof(*out));
        if (crash_at)
                io_sim_crash_at(sim, crash_at);
        if (test_open(sim, seg_size, &c, &log, &err) < 0) {
                assert_true(io_sim_crashed(sim));
                out->crashed = true;
                return;
        }
        for (int i = 0; i < steps; i++) {
                uint64_t k = 1 + rnd(&rng) % 12, action = rnd(&rng) % 10;
                bool failed = false;
                for (uint64_t j = 0; j < k && !failed; j++) {
                        failed = test_append_range(log, next, next, 0) < 0;
                        if (!failed)
                                out->appended = next++;
                }
                if (failed)
                        break;
                if (action < 4) {
                        if (evlog_flush(log, next - 1) < 0)
                                break;
                } else if (action == 4) {
                        uint64_t d = evlog_durable(log);
                        uint8_t blob[32] = { (uint8_t)d };
                        struct snapshot_meta m = { .seq = d, .index = d, .term = 1 };
                        if (d == 0)
                                continue;
                        if (evlog_snapshot(log, &m, blob, sizeof(blob), &err) < 0)
                                break;
                        out->snapshot = d;
                }
        }
        /* What was reported durable before close (close may add more). */
        out->durable = evlog_durable(log);
        evlog_close(log);
        out->crashed = io_sim_crashed(sim);
}

static void check_recovery(struct io_sim *sim, uint64_t seed, uint64_t crash_at,
                           const struct outcome *o)
{
        struct storage_error err;
        struct collected c;
        struct evlog *log;
        uint64_t last;
        int r;

        r = test_open(sim, 1024, &c, &log, &err);
        if (r != 0)
                fail_msg("seed %llu crash at %llu: recovery refused: %s",
                         (unsigned long long)seed, (unsigned long long)crash_at, err.msg);
        last = c.n ? c.last_seq : (c.has_snapshot ? c.snap_seq : 0);
        if (c.mismatch || (c.n && c.first_seq != (c.has_snapshot ? c.snap_seq + 1 : 1)) ||
            last < o->durable || last > o->appended || (c.has_snapshot && c.snap_seq > last) ||
            (o->snapshot && (!c.has_snapshot || c.snap_seq < o->snapshot)))
                fail_msg("seed %llu crash at %llu: recovered %llu..%llu (snapshot %llu), "
                         "appended %llu, durable %llu, snapshot written %llu, mismatch %d",
                         (unsigned long long)seed, (unsigned long long)crash_at,
                         (unsigned long long)c.first_seq, (unsigned long long)last,
                         (unsigned long long)c.snap_seq, (unsigned long long)o->appended,
                         (unsigned long long)o->durable, (unsigned long long)o->snapshot,
                         c.mismatch);
        /* The repaired log must take appends and keep them. */
        assert_int_equal(evlog_next_seq(log), last + 1);
        assert_int_equal(test_append_range(log, last + 1, last + 5, 0), 0);
        assert_int_equal(evlog_flush(log, last + 5), 0);
        assert_int_equal(evlog_close(log), 0);
        r = test_open(sim, 1024, &c, &log, &err);
        if (r != 0)
                fail_msg("seed %llu crash at %llu: second recovery refused: %s",
                         (unsigned long long)seed, (unsigned long long)crash_at, err.msg);
        assert_false(c.mismatch);
        assert_int_equal(c.n ? c.last_seq : c.snap_seq, last + 5);
        assert_string_equal(evlog_open_warning(log), "");
        assert_int_equal(evlog_close(log), 0);
}

static void test_crash_at_every_io_call_recovers_durable_prefix(void **state)
{
        uint64_t runs = 0, crashes = 0;

        for (uint64_t seed = 1; seed <= N_SCHEDULES; seed++) {
                for (uint64_t at = 1;; at++) {
                        struct io_sim *sim = io_sim_new();
                        struct outcome o;

                        run_schedule(sim, seed, at, &o);
                        runs++;
                        if (!o.crashed) {
                                io_sim_free(sim);
                                break; /* the schedule made fewer calls: all points done */
                        }
                        crashes++;
                        io_sim_reboot(sim, seed * 1000003 + at, at % 3 != 0);
                        check_recovery(sim, seed, at, &o);
                        io_sim_free(sim);
                }
        }
        print_message("%llu runs, %llu crash points\n", (unsigned long long)runs,
                      (unsigned long long)crashes);
        assert_true(crashes > N_SCHEDULES * 10);
}

/* Start-up after a crash (torn-tail truncation, temp file removal,
 * compaction) then 5 appends, crashed at each of its I/O calls. */
static void run_recovery_phase(struct io_sim *sim, uint64_t crash_at, struct outcome *o)
{
        struct storage_error err;
        struct collected c;
        struct evlog *log;
        uint64_t last;

        io_sim_crash_at(sim, crash_at);
        if (test_open(sim, 1024, &c, &log, &err) < 0) {
                assert_true(io_sim_crashed(sim));
                o->crashed = true;
                return;
        }
        last = c.n ? c.last_seq : (c.has_snapshot ? c.snap_seq : 0);
        for (uint64_t s = last + 1; s <= last + 5; s++) {
                if (test_append_range(log, s, s, 0) < 0)
                        break;
                if (s > o->appended)
                        o->appended = s;
        }
        evlog_flush(log, evlog_next_seq(log) - 1);
        if (evlog_durable(log) > o->durable)
                o->durable = evlog_durable(log);
        evlog_close(log);
        o->crashed = io_sim_crashed(sim);
}

static void test_crash_during_recovery_recovers_durable_prefix(void **state)
{
        uint64_t crashes = 0;

        for (uint64_t seed = 1; seed <= 25; seed++) {
                for (uint64_t at = 1;; at++) {
                        struct io_sim *sim = io_sim_new();
                        struct outcome o;

                        run_schedule(sim, seed, at, &o);
                        if (!o.crashed) {
                                io_sim_free(sim);
                                break;
                        }
                        io_sim_reboot(sim, seed * 7919 + at, true);
                        for (uint64_t at2 = 1;; at2++) {
                                struct io_sim *again = io_sim_clone(sim);
                                struct outcome o2 = o;

                                run_recovery_phase(again, at2, &o2);
                                if (!o2.crashed) {
                                        io_sim_free(again);
                                        break;
                                }
                                crashes++;
                                io_sim_reboot(again, at * 31 + at2, at2 % 2 == 0);
                                check_recovery(again, seed, at * 1000 + at2, &o2);
                                io_sim_free(again);
                        }
                        io_sim_free(sim);
                }
        }
        print_message("%llu crash points during recovery\n", (unsigned long long)crashes);
        assert_true(crashes > 25 * 10);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_crash_at_every_io_call_recovers_durable_prefix),
                cmocka_unit_test(test_crash_during_recovery_recovers_durable_prefix),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
