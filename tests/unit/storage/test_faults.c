/* tests/unit/storage/test_faults.c: EIO and ENOSPC injected into the log.
 *
 * Owns: the rules that a failed write, fdatasync, rename or open is never
 * retried as if nothing happened: EIO is sticky (appends refused with it),
 * ENOSPC is told apart and retriable (appends kept, nothing new durable until
 * a retry succeeds; tests/unit/storage/test_evlog_resume.c has the rest),
 * both are reported through the callback and the getter, nothing unsynced is
 * reported durable, and the directory recovers to a prefix holding every
 * durable event.
 *
 * Must never: pass when the injected fault was never reached (counted).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/storage/helpers.h"

struct seen_error {
        pthread_mutex_t mu;
        int code;
        int calls;
        char msg[1200];
};

static void on_error(void *ud, int code, const char *msg)
{
        struct seen_error *s = ud;
        pthread_mutex_lock(&s->mu);
        s->code = code;
        s->calls++;
        snprintf(s->msg, sizeof(s->msg), "%s", msg);
        pthread_mutex_unlock(&s->mu);
}

/* One scenario: fault `code` on the nth call of `op`. Returns true if the
 * fault was reached after the log was open (and checked). */
static bool run_fault(enum io_sim_op op, int code, unsigned nth)
{
        struct io_sim *sim = io_sim_new();
        struct seen_error seen = { .code = 0 };
        struct evlog_options o = { .dir = TEST_DIR, .node_id = TEST_NODE,
                                   .io = io_sim_io(sim), .segment_size = 512,
                                   .userdata = &seen, .on_error = on_error,
                                   .enospc_retry_min_ms = -1 };
        struct recovery_callbacks cb;
        struct storage_error err;
        struct collected c;
        struct evlog *log;
        uint64_t next = 1, durable;
        char msg[1200];
        int r = 0;

        pthread_mutex_init(&seen.mu, NULL);
        io_sim_fail(sim, op, nth, code);
        cb = test_collector(&c, 0);
        r = evlog_open(&o, &cb, &log, &err);
        if (r < 0) {
                /* The fault hit start-up: it must be reported as such. */
                assert_int_equal(r, code);
                assert_true(err.msg[0] != 0);
                goto out_false;
        }
        while (next <= 200 && r == 0) {
                /* The storage thread writes while we append: an append may be
                 * the first to see the failure. */
                for (int i = 0; i < 5 && r == 0; i++) {
                        r = test_append_range(log, next, next, 0);
                        if (r == 0)
                                next++;
                }
                if (r == 0)
                        r = evlog_flush(log, next - 1);
        }
        if (r == 0) {
                assert_int_equal(evlog_close(log), 0);
                goto out_false;
        }
        assert_int_equal(r, code);
        /* Wait until the failure has been reported (flush returns after the
         * callback ran), then check every channel. */
        assert_int_equal(evlog_flush(log, next - 1), code);
        assert_int_equal(evlog_error(log, msg, sizeof(msg)), code);
        assert_non_null(strstr(msg, TEST_DIR "/"));
        if (code == -ENOSPC)
                assert_non_null(strstr(msg, "disk full"));
        else
                assert_null(strstr(msg, "disk full"));
        pthread_mutex_lock(&seen.mu);
        assert_int_equal(seen.code, code);
        assert_int_equal(seen.calls, 1);
        pthread_mutex_unlock(&seen.mu);
        durable = evlog_durable(log);
        assert_true(durable < next - 1);
        if (code == -ENOSPC) {
                /* Retriable: appends are kept, nothing becomes durable until a
                 * retry; the injected fault was one call, so the retry works. */
                assert_int_equal(test_append_range(log, next, next, 0), 0);
                next++;
                assert_int_equal(evlog_durable(log), durable);
                assert_int_equal(evlog_resume(log), 0);
                assert_int_equal(evlog_flush(log, next - 1), 0);
                assert_int_equal(evlog_error(log, NULL, 0), 0);
                durable = next - 1;
                assert_int_equal(evlog_close(log), 0);
        } else {
                /* Sticky: no append is accepted any more, the durable point stays. */
                assert_int_equal(test_append_range(log, next, next, 0), code);
                assert_int_equal(evlog_durable(log), durable);
                assert_int_equal(evlog_close(log), code);
        }

        /* Whatever was not synced is lost; the durable prefix is not. */
        io_sim_reboot(sim, nth, false);
        assert_int_equal(test_open(sim, 512, &c, &log, &err), 0);
        assert_false(c.mismatch);
        assert_true(c.n >= durable);
        assert_true(c.n <= next - 1);
        assert_int_equal(evlog_close(log), 0);
        pthread_mutex_destroy(&seen.mu);
        io_sim_free(sim);
        return true;
out_false:
        pthread_mutex_destroy(&seen.mu);
        io_sim_free(sim);
        return false;
}

static void check_op(enum io_sim_op op, const char *name)
{
        const int codes[2] = { -EIO, -ENOSPC };

        for (int k = 0; k < 2; k++) {
                unsigned reached = 0;
                for (unsigned nth = 1; nth <= 40; nth++)
                        reached += run_fault(op, codes[k], nth);
                if (reached == 0)
                        fail_msg("%s fault %d never reached a running log", name, codes[k]);
        }
}

static void test_failed_pwrite_is_sticky_and_never_durable(void **state)
{
        check_op(IO_SIM_PWRITE, "pwrite");
}

static void test_failed_fdatasync_is_sticky_and_never_durable(void **state)
{
        check_op(IO_SIM_FDATASYNC, "fdatasync");
}

static void test_failed_rename_of_new_segment_is_sticky(void **state)
{
        check_op(IO_SIM_RENAME, "rename");
}

static void test_failed_open_of_new_segment_is_sticky(void **state)
{
        check_op(IO_SIM_OPEN, "open");
}

static void test_failed_snapshot_rename_keeps_segments(void **state)
{
        struct io_sim *sim = io_sim_new();
        uint8_t blob[8] = { 0 };
        struct snapshot_meta m = { .seq = 30, .index = 3, .term = 1 };
        struct storage_error err;
        struct collected c;
        struct evlog *log;

        assert_int_equal(test_open(sim, 512, &c, &log, &err), 0);
        assert_int_equal(test_append_range(log, 1, 40, 0), 0);
        assert_int_equal(evlog_flush(log, 40), 0);
        io_sim_fail(sim, IO_SIM_RENAME, 1, -EIO);
        assert_int_equal(evlog_snapshot(log, &m, blob, sizeof(blob), &err), -EIO);
        /* The message names the writer's temp file and the name it wanted. */
        assert_non_null(strstr(err.msg, TEST_DIR "/" SNAPSHOT_TMP_PREFIX));
        assert_non_null(strstr(err.msg, "000000000000001e.snap"));
        /* The log itself is unaffected and nothing was deleted. */
        assert_int_equal(test_append_range(log, 41, 41, 0), 0);
        assert_int_equal(evlog_flush(log, 41), 0);
        assert_int_equal(evlog_close(log), 0);
        assert_int_equal(test_open(sim, 512, &c, &log, &err), 0);
        assert_false(c.has_snapshot);
        assert_int_equal(c.n, 41);
        assert_false(c.mismatch);
        assert_int_equal(evlog_close(log), 0);
        io_sim_free(sim);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_failed_pwrite_is_sticky_and_never_durable),
                cmocka_unit_test(test_failed_fdatasync_is_sticky_and_never_durable),
                cmocka_unit_test(test_failed_rename_of_new_segment_is_sticky),
                cmocka_unit_test(test_failed_open_of_new_segment_is_sticky),
                cmocka_unit_test(test_failed_snapshot_rename_keeps_segments),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
