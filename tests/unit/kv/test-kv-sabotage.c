/* tests/unit/kv/test-kv-sabotage.c: proof that the sabotage build
 * (-DKV_SABOTAGE_NO_SESSIONS) really breaks exactly-once, so a simulator
 * run against it has something to catch. Linked with the KV sources
 * compiled again with that macro; the normal build's behaviour is checked
 * by test-kv-sessions.
 *
 * Must never: be linked against the normal libkv.a.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tests/unit/kv/kv-test-util.h"

#ifndef KV_SABOTAGE_NO_SESSIONS
#error "test-kv-sabotage must be compiled with -DKV_SABOTAGE_NO_SESSIONS"
#endif

static void test_sabotage_build_applies_a_retry_twice(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied first, retry;

        (void)state;
        apply_cmd(kv, 1, 0, cmd_put("k", "v", (struct sess){ 7, 1, 1 }), &first);
        apply_cmd(kv, 2, 0, cmd_put("k", "v", (struct sess){ 7, 1, 1 }), &retry);
        assert_int_equal(first.res->put->version, 1);
        assert_int_equal(retry.res->put->version, 2); /* re-applied: the state changed */
        assert_key(kv, "k", "v", 2);
        assert_int_equal(kv_session_count(kv), 0);
        applied_clear(&first);
        applied_clear(&retry);
        kv_free(kv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sabotage_build_applies_a_retry_twice),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
