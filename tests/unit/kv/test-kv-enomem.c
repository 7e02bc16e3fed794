/* tests/unit/kv/test-kv-enomem.c: an allocation failure at any point of an
 * apply returns -ENOMEM without a half-applied command, and applying the
 * same entry again then gives exactly what a replica that never failed has.
 * Linked with -Wl,--wrap=malloc,--wrap=calloc to fail one chosen allocation.
 *
 * Must never: fail allocations outside the kv_apply call under test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/kv/kv-test-util.h"

/* Test-only switch: the allocation number (0 = the next one) to fail, or
 * -1 for none. */
static long fail_at = -1;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);

static bool should_fail(void)
{
        if (fail_at < 0)
                return false;
        return fail_at-- == 0;
}

void *__wrap_malloc(size_t n)
{
        return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
        return should_fail() ? NULL : __real_calloc(n, size);
}

/* Applies `c` at `index` to `kv`, failing allocation 0, 1, 2, ... in turn
 * until the apply succeeds; `ref` gets the entry once, without failures.
 * Returns the number of failed attempts. */
static int apply_through_failures(struct kv *kv, struct kv *ref, uint64_t index,
                                  uint64_t time_ms, struct cmd c)
{
        struct raft_entry e = { .index = index, .term = 1, .type = RAFT_ENTRY_COMMAND,
                                .leader_time_ms = time_ms, .len = c.len, .data = c.buf };
        uint8_t *reply = NULL, *ref_reply = NULL;
        size_t len = 0, ref_len = 0;
        int failures = 0, r;

        assert_int_equal(kv_apply(ref, &e, &ref_reply, &ref_len), 0);
        for (long n = 0;; n++) {
                size_t keys = kv_count(kv);
                uint64_t applied = kv_applied_index(kv);

                fail_at = n;
                r = kv_apply(kv, &e, &reply, &len);
                fail_at = -1;
                if (r == 0)
                        break;
                assert_int_equal(r, -ENOMEM);
                assert_null(reply);
                assert_int_equal(kv_applied_index(kv), applied);
                assert_int_equal(kv_count(kv), keys);
                failures++;
        }
        assert_int_equal(len, ref_len);
        assert_memory_equal(reply, ref_reply, len);
        assert_int_equal(kv_hash(kv), kv_hash(ref));
        free(reply);
        free(ref_reply);
        cmd_free(&c);
        return failures;
}

static void test_allocation_failure_leaves_no_half_applied_command(void **state)
{
        struct kv_options o;
        struct kv *kv, *ref;
        uint64_t i = 1;

        (void)state;
        kv_options_default(&o);
        o.max_sessions = 2;
        o.max_replies_per_session = 2;
        kv = kv_make(&o);
        ref = kv_make(&o);
        /* New key in a new session; same-length overwrite; longer value. */
        assert_true(apply_through_failures(kv, ref, i++, 10,
                                           cmd_put("a", "1", (struct sess){ 1, 1, 1 })) > 0);
        assert_true(apply_through_failures(kv, ref, i++, 20,
                                           cmd_put("a", "2", (struct sess){ 1, 2, 1 })) > 0);
        assert_true(apply_through_failures(kv, ref, i++, 30,
                                           cmd_put("a", "333", (struct sess){ 1, 3, 2 })) > 0);
        /* A retry (cached reply), a refused id, without a session. */
        assert_true(apply_through_failures(kv, ref, i++, 40,
                                           cmd_put("a", "2", (struct sess){ 1, 2, 2 })) > 0);
        assert_true(apply_through_failures(kv, ref, i++, 50,
                                           cmd_put("a", "x", (struct sess){ 1, 1, 1 })) > 0);
        assert_true(apply_through_failures(kv, ref, i++, 60, cmd_put("b", "b", NO_SESSION)) > 0);
        /* Compare-and-swap both ways, delete, and a session evicting another. */
        assert_true(apply_through_failures(kv, ref, i++, 70,
                                           cmd_cas_version("c", 0, "c", (struct sess){ 2, 1, 1 }))
                    > 0);
        assert_true(apply_through_failures(kv, ref, i++, 80,
                                           cmd_cas_value("c", "no", "d", (struct sess){ 2, 2, 1 }))
                    > 0);
        assert_true(apply_through_failures(kv, ref, i++, 90,
                                           cmd_delete("b", (struct sess){ 3, 1, 1 })) > 0);
        assert_int_equal(kv_session_count(kv), 2);
        /* An invalid command is answered after its own failures too. */
        assert_true(apply_through_failures(kv, ref, i++, 100, cmd_put("", "v", NO_SESSION)) > 0);
        assert_key(kv, "a", "333", 3);
        assert_key(kv, "c", "c", 1);
        assert_false(kv_get(kv, (const uint8_t *)"b", 1, NULL));
        kv_free(kv);
        kv_free(ref);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_allocation_failure_leaves_no_half_applied_command),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
