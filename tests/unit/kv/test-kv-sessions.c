/* tests/unit/kv/test-kv-sessions.c: the exactly-once rules (thesis 6.3):
 * cached replies, the request-id window, deterministic session expiry.
 *
 * Must never: read a clock; time is the entries' leader time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/kv/kv-test-util.h"

static void test_retry_returns_first_reply_and_changes_nothing(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied first, retry, a;
        struct kv_item it;

        (void)state;
        apply_cmd(kv, 1, 10, cmd_put("k", "v1", (struct sess){ 7, 1, 1 }), &first);
        assert_int_equal(first.res->put->version, 1);
        apply_cmd(kv, 2, 20, cmd_put("k", "v2", (struct sess){ 8, 1, 1 }), &a); /* another client */
        applied_clear(&a);
        assert_key(kv, "k", "v2", 2);

        /* The retry of (7, 1) arrives later in the log. */
        apply_cmd(kv, 3, 30, cmd_put("k", "v1", (struct sess){ 7, 1, 1 }), &retry);
        assert_int_equal(retry.len, first.len);
        assert_memory_equal(retry.raw, first.raw, first.len);
        assert_int_equal(retry.res->put->header->applied_index, 1); /* the first one's */
        assert_true(kv_get(kv, (const uint8_t *)"k", 1, &it));
        assert_int_equal(it.version, 2);
        assert_int_equal(it.mod_index, 2);
        assert_key(kv, "k", "v2", 2);
        assert_int_equal(kv_count(kv), 1);
        assert_int_equal(kv_session_count(kv), 2);
        applied_clear(&first);
        applied_clear(&retry);
        kv_free(kv);
}

static void test_retry_of_failed_cas_returns_the_failure_not_a_new_compare(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied first, retry, a;

        (void)state;
        apply_cmd(kv, 1, 0, cmd_cas_value("k", "x", "y", (struct sess){ 3, 1, 1 }), &first);
        assert_false(first.res->cas->succeeded);
        apply_cmd(kv, 2, 0, cmd_put("k", "x", NO_SESSION), &a);
        applied_clear(&a);
        apply_cmd(kv, 3, 0, cmd_cas_value("k", "x", "y", (struct sess){ 3, 1, 1 }), &retry);
        assert_memory_equal(retry.raw, first.raw, first.len);
        assert_false(retry.res->cas->succeeded);
        assert_key(kv, "k", "x", 1);
        applied_clear(&first);
        applied_clear(&retry);
        kv_free(kv);
}

static void test_op_session_is_used_when_command_session_is_absent(void **state)
{
        Rafktor__V1__Command c = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__PutRequest put = RAFKTOR__V1__PUT_REQUEST__INIT;
        Rafktor__V1__RequestSession rs = RAFKTOR__V1__REQUEST_SESSION__INIT;
        struct kv *kv = kv_make(NULL);
        struct applied first, retry;
        uint8_t buf[64];
        size_t len;

        (void)state;
        rs.client_id = 11;
        rs.request_id = 1;
        put.key = (ProtobufCBinaryData){ 1, (uint8_t *)"k" };
        put.value = (ProtobufCBinaryData){ 1, (uint8_t *)"v" };
        put.session = &rs;
        c.op_case = RAFKTOR__V1__COMMAND__OP_PUT;
        c.put = &put;
        len = rafktor__v1__command__pack(&c, buf);
        apply_cmd(kv, 1, 0, cmd_raw(buf, len), &first);
        apply_cmd(kv, 2, 0, cmd_raw(buf, len), &retry);
        assert_memory_equal(retry.raw, first.raw, first.len);
        assert_int_equal(kv_session_count(kv), 1);
        assert_key(kv, "k", "v", 1);
        applied_clear(&first);
        applied_clear(&retry);
        kv_free(kv);
}

static void test_client_id_zero_has_no_session_and_applies_every_time(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied a;

        (void)state;
        for (uint64_t i = 1; i <= 3; i++) {
                apply_cmd(kv, i, 0, cmd_put("k", "v", (struct sess){ 0, 1, 1 }), &a);
                assert_int_equal(a.res->put->version, i);
                applied_clear(&a);
        }
        assert_int_equal(kv_session_count(kv), 0);
        kv_free(kv);
}

static void test_request_below_window_is_refused_and_not_applied(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied a;

        (void)state;
        apply_cmd(kv, 1, 0, cmd_put("k", "1", (struct sess){ 9, 1, 1 }), &a);
        applied_clear(&a);
        apply_cmd(kv, 2, 0, cmd_put("k", "2", (struct sess){ 9, 2, 1 }), &a);
        applied_clear(&a);
        /* The client got reply 1 and 2: it now awaits 3 and up. */
        apply_cmd(kv, 3, 0, cmd_put("k", "3", (struct sess){ 9, 3, 3 }), &a);
        applied_clear(&a);
        assert_key(kv, "k", "3", 3);

        apply_cmd(kv, 4, 0, cmd_put("k", "1", (struct sess){ 9, 1, 1 }), &a);
        assert_int_equal(a.res->error_code, KV_ERR_FAILED_PRECONDITION);
        assert_int_equal(a.res->result_case, RAFKTOR__V1__COMMAND_RESULT__RESULT__NOT_SET);
        assert_non_null(strstr(a.res->error_message,
                               "request id 1 of client 9 is older than the session's window"));
        applied_clear(&a);
        assert_key(kv, "k", "3", 3); /* not re-applied */

        /* Request 3 is still in the window: its retry gets the cached reply. */
        apply_cmd(kv, 5, 0, cmd_put("k", "3", (struct sess){ 9, 3, 3 }), &a);
        assert_int_equal(a.res->error_code, 0);
        assert_int_equal(a.res->put->index, 3);
        applied_clear(&a);
        assert_key(kv, "k", "3", 3);
        kv_free(kv);
}

static void test_reply_cache_is_bounded_and_moves_the_window(void **state)
{
        struct kv_options o;
        struct kv *kv;
        struct applied a;

        (void)state;
        kv_options_default(&o);
        o.max_replies_per_session = 2;
        kv = kv_make(&o);
        /* A client that never raises first_outstanding. */
        for (uint64_t i = 1; i <= 3; i++) {
                apply_cmd(kv, i, 0, cmd_put("k", "v", (struct sess){ 4, i, 0 }), &a);
                applied_clear(&a);
        }
        apply_cmd(kv, 4, 0, cmd_put("k", "v", (struct sess){ 4, 1, 0 }), &a);
        assert_int_equal(a.res->error_code, KV_ERR_FAILED_PRECONDITION);
        applied_clear(&a);
        apply_cmd(kv, 5, 0, cmd_put("k", "v", (struct sess){ 4, 2, 0 }), &a);
        assert_int_equal(a.res->error_code, 0);
        assert_int_equal(a.res->put->index, 2);
        applied_clear(&a);
        assert_key(kv, "k", "v", 3);
        kv_free(kv);
}

static void test_session_expires_by_leader_time_not_by_apply_count(void **state)
{
        struct kv_options o;
        struct kv *kv;
        struct applied a;
        uint64_t index = 1;

        (void)state;
        kv_options_default(&o);
        o.session_ttl_ms = 1000;
        kv = kv_make(&o);
        apply_cmd(kv, index++, 5000, cmd_put("k", "v", (struct sess){ 1, 1, 1 }), &a);
        applied_clear(&a);
        /* Many entries, little leader time: the session stays. */
        for (int i = 0; i < 500; i++)
                apply_noop(kv, index++, 5000 + (uint64_t)i);
        apply_noop(kv, index++, 6000); /* idle exactly the ttl: not more */
        assert_int_equal(kv_session_count(kv), 1);
        /* One entry, much leader time: it goes. */
        apply_noop(kv, index++, 6001);
        assert_int_equal(kv_session_count(kv), 0);
        kv_free(kv);
}

static void test_use_keeps_a_session_alive(void **state)
{
        struct kv_options o;
        struct kv *kv;
        struct applied a;

        (void)state;
        kv_options_default(&o);
        o.session_ttl_ms = 100;
        kv = kv_make(&o);
        for (uint64_t i = 1; i <= 10; i++) {
                apply_cmd(kv, i, i * 90, cmd_put("k", "v", (struct sess){ 1, i, i }), &a);
                applied_clear(&a);
        }
        assert_int_equal(kv_session_count(kv), 1);
        kv_free(kv);
}

static void test_leader_time_going_backwards_does_not_rewind_expiry(void **state)
{
        struct kv_options o;
        struct kv *kv;
        struct applied a;

        (void)state;
        kv_options_default(&o);
        o.session_ttl_ms = 100;
        kv = kv_make(&o);
        apply_cmd(kv, 1, 1000, cmd_put("k", "v", (struct sess){ 1, 1, 1 }), &a);
        applied_clear(&a);
        /* A new leader whose clock is behind uses the session "at 10". */
        apply_cmd(kv, 2, 10, cmd_put("k", "v", (struct sess){ 1, 2, 1 }), &a);
        applied_clear(&a);
        apply_noop(kv, 3, 1100); /* 100 after the last use at 1000: stays */
        assert_int_equal(kv_session_count(kv), 1);
        apply_noop(kv, 4, 1101);
        assert_int_equal(kv_session_count(kv), 0);
        kv_free(kv);
}

static void test_least_recently_used_session_expires_beyond_max_sessions(void **state)
{
        struct kv_options o;
        struct kv *kv;
        struct applied a, retry;

        (void)state;
        kv_options_default(&o);
        o.max_sessions = 2;
        kv = kv_make(&o);
        /* Clients 20 and 10 are used at the same leader time: the tie goes
         * by client_id, so 10 is the least recently used. */
        apply_cmd(kv, 1, 50, cmd_put("a", "v", (struct sess){ 20, 1, 1 }), &a);
        applied_clear(&a);
        apply_cmd(kv, 2, 50, cmd_put("b", "v", (struct sess){ 10, 1, 1 }), &a);
        applied_clear(&a);
        apply_cmd(kv, 3, 60, cmd_put("c", "v", (struct sess){ 30, 1, 1 }), &a);
        applied_clear(&a);
        assert_int_equal(kv_session_count(kv), 2);
        /* 20 survived: its retry is answered from the cache. */
        apply_cmd(kv, 4, 70, cmd_put("a", "v", (struct sess){ 20, 1, 1 }), &retry);
        assert_int_equal(retry.res->put->index, 1);
        applied_clear(&retry);
        assert_key(kv, "a", "v", 1);
        /* 10 expired: its retry is applied again (a known limit of sessions). */
        apply_cmd(kv, 5, 80, cmd_put("b", "v", (struct sess){ 10, 1, 1 }), &retry);
        assert_int_equal(retry.res->put->index, 5);
        applied_clear(&retry);
        assert_key(kv, "b", "v", 2);
        assert_int_equal(kv_session_count(kv), 2);
        kv_free(kv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_retry_returns_first_reply_and_changes_nothing),
                cmocka_unit_test(test_retry_of_failed_cas_returns_the_failure_not_a_new_compare),
                cmocka_unit_test(test_op_session_is_used_when_command_session_is_absent),
                cmocka_unit_test(test_client_id_zero_has_no_session_and_applies_every_time),
                cmocka_unit_test(test_request_below_window_is_refused_and_not_applied),
                cmocka_unit_test(test_reply_cache_is_bounded_and_moves_the_window),
                cmocka_unit_test(test_session_expires_by_leader_time_not_by_apply_count),
                cmocka_unit_test(test_use_keeps_a_session_alive),
                cmocka_unit_test(test_leader_time_going_backwards_does_not_rewind_expiry),
                cmocka_unit_test(test_least_recently_used_session_expires_beyond_max_sessions),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
