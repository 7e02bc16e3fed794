/* tests/unit/kv/test-kv-noreply.c: kv_apply without a reply (ret_reply and ret_len NULL,
 * the replay and catch-up path) changes the state exactly as with one: same keys, versions,
 * sessions and cached replies (kv_hash covers them all), so a retried request after a
 * replay still gets the first reply byte for byte.
 *
 * Owns: the no-reply contract of kv.h only. Must never: compare anything but observable
 * state (kv_get, kv_hash, replies).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/kv/kv-test-util.h"

static int apply_quiet(struct kv *kv, uint64_t index, uint64_t time_ms, struct cmd c)
{
        struct raft_entry e = {
                .index = index, .term = 1, .type = RAFT_ENTRY_COMMAND,
                .leader_time_ms = time_ms, .len = c.len, .data = c.buf,
        };
        int r = kv_apply(kv, &e, NULL, NULL);

        cmd_free(&c);
        return r;
}

static void test_apply_without_reply_reaches_the_same_state_as_with_one(void **state)
{
        uint64_t seed_a = 7, seed_b = 7, rid_a[4] = { 1, 1, 1, 1 }, rid_b[4] = { 1, 1, 1, 1 };
        struct kv *with = kv_make(NULL), *without = kv_make(NULL);

        (void)state;
        for (uint64_t i = 1; i <= 3000; i++) {
                struct applied a;

                apply_cmd(with, i, i * 10, random_cmd(&seed_a, rid_a), &a);
                applied_clear(&a);
                assert_int_equal(apply_quiet(without, i, i * 10, random_cmd(&seed_b, rid_b)), 0);
                if (i % 500 == 0)
                        assert_int_equal(kv_hash(with), kv_hash(without));
        }
        assert_int_equal(kv_applied_index(without), 3000);
        assert_int_equal(kv_count(with), kv_count(without));
        assert_int_equal(kv_session_count(with), kv_session_count(without));
        assert_int_equal(kv_hash(with), kv_hash(without));
        kv_free(with);
        kv_free(without);
}

static void test_a_retry_after_a_quiet_apply_gets_the_first_reply(void **state)
{
        struct sess s = { .client_id = 9, .request_id = 1, .first_outstanding = 1 };
        struct kv *with = kv_make(NULL), *without = kv_make(NULL);
        struct applied first, retry;

        (void)state;
        apply_cmd(with, 1, 10, cmd_put("k", "v1", s), &first);
        assert_int_equal(apply_quiet(without, 1, 10, cmd_put("k", "v1", s)), 0);
        /* The retry (same request id, different value) is answered from the cache. */
        apply_cmd(without, 2, 20, cmd_put("k", "v2", s), &retry);
        assert_int_equal(retry.len, first.len);
        assert_memory_equal(retry.raw, first.raw, first.len);
        assert_key(without, "k", "v1", 1);
        applied_clear(&first);
        applied_clear(&retry);
        kv_free(with);
        kv_free(without);
}

static void test_half_a_reply_pair_is_refused(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct raft_entry e = { .index = 1, .term = 1, .type = RAFT_ENTRY_NOOP };
        uint8_t *reply = NULL;
        size_t len = 0;

        (void)state;
        assert_int_equal(kv_apply(kv, &e, &reply, NULL), -EINVAL);
        assert_int_equal(kv_apply(kv, &e, NULL, &len), -EINVAL);
        assert_int_equal(kv_applied_index(kv), 0);
        assert_int_equal(kv_apply(kv, &e, NULL, NULL), 0);
        assert_int_equal(kv_applied_index(kv), 1);
        kv_free(kv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_apply_without_reply_reaches_the_same_state_as_with_one),
                cmocka_unit_test(test_a_retry_after_a_quiet_apply_gets_the_first_reply),
                cmocka_unit_test(test_half_a_reply_pair_is_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
