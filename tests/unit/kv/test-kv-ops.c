/* tests/unit/kv/test-kv-ops.c: the rules of put, delete, compare-and-swap,
 * range, invalid commands, apply order and replica determinism.
 *
 * Must never: read a clock or depend on anything but the entries given.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/kv/kv-test-util.h"

static void test_put_creates_version_one(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied a;
        struct kv_item it;

        (void)state;
        apply_cmd(kv, 7, 100, cmd_put("alpha", "one", NO_SESSION), &a);
        assert_int_equal(a.res->error_code, 0);
        assert_int_equal(a.res->result_case, RAFKTOR__V1__COMMAND_RESULT__RESULT_PUT);
        assert_int_equal(a.res->put->version, 1);
        assert_int_equal(a.res->put->index, 7);
        assert_non_null(a.res->put->header);
        assert_int_equal(a.res->put->header->applied_index, 7);
        assert_true(kv_get(kv, (const uint8_t *)"alpha", 5, &it));
        assert_int_equal(it.version, 1);
        assert_int_equal(it.create_index, 7);
        assert_int_equal(it.mod_index, 7);
        assert_int_equal(kv_count(kv), 1);
        applied_clear(&a);
        kv_free(kv);
}

static void test_put_on_existing_key_adds_one_and_keeps_create_index(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied a;
        struct kv_item it;

        (void)state;
        apply_cmd(kv, 1, 0, cmd_put("k", "v1", NO_SESSION), &a);
        applied_clear(&a);
        apply_cmd(kv, 2, 0, cmd_put("k", "v2", NO_SESSION), &a); /* same length: in place */
        applied_clear(&a);
        apply_cmd(kv, 3, 0, cmd_put("k", "a longer value", NO_SESSION), &a);
        assert_int_equal(a.res->put->version, 3);
        applied_clear(&a);
        assert_true(kv_get(kv, (const uint8_t *)"k", 1, &it));
        assert_int_equal(it.version, 3);
        assert_int_equal(it.create_index, 1);
        assert_int_equal(it.mod_index, 3);
        assert_key(kv, "k", "a longer value", 3);
        assert_int_equal(kv_count(kv), 1);
        kv_free(kv);
}

static void test_delete_removes_key_and_recreation_starts_at_version_one(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied a;

        (void)state;
        apply_cmd(kv, 1, 0, cmd_put("k", "v", NO_SESSION), &a);
        applied_clear(&a);
        apply_cmd(kv, 2, 0, cmd_put("k", "w", NO_SESSION), &a);
        applied_clear(&a);
        apply_cmd(kv, 3, 0, cmd_delete("k", NO_SESSION), &a);
        assert_int_equal(a.res->result_case, RAFKTOR__V1__COMMAND_RESULT__RESULT_DELETE);
        assert_true(a.res->delete_->deleted);
        assert_int_equal(a.res->delete_->index, 3);
        applied_clear(&a);
        assert_false(kv_get(kv, (const uint8_t *)"k", 1, NULL));
        assert_int_equal(kv_count(kv), 0);
        apply_cmd(kv, 4, 0, cmd_delete("k", NO_SESSION), &a);
        assert_false(a.res->delete_->deleted);
        applied_clear(&a);
        apply_cmd(kv, 5, 0, cmd_put("k", "again", NO_SESSION), &a);
        assert_int_equal(a.res->put->version, 1);
        applied_clear(&a);
        kv_free(kv);
}

static void test_cas_on_value_swaps_only_when_equal(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied a;

        (void)state;
        apply_cmd(kv, 1, 0, cmd_cas_value("k", "x", "new", NO_SESSION), &a);
        assert_int_equal(a.res->error_code, 0);
        assert_false(a.res->cas->succeeded); /* an absent key equals no value */
        assert_false(a.res->cas->found);
        assert_null(a.res->cas->current);
        applied_clear(&a);
        assert_false(kv_get(kv, (const uint8_t *)"k", 1, NULL));

        apply_cmd(kv, 2, 0, cmd_put("k", "old", NO_SESSION), &a);
        applied_clear(&a);
        apply_cmd(kv, 3, 0, cmd_cas_value("k", "olc", "new", NO_SESSION), &a);
        assert_false(a.res->cas->succeeded);
        assert_true(a.res->cas->found);
        assert_int_equal(a.res->cas->current->version, 1);
        assert_memory_equal(a.res->cas->current->value.data, "old", 3);
        applied_clear(&a);
        assert_key(kv, "k", "old", 1);

        apply_cmd(kv, 4, 0, cmd_cas_value("k", "old", "new", NO_SESSION), &a);
        assert_true(a.res->cas->succeeded);
        assert_int_equal(a.res->cas->current->version, 2);
        assert_int_equal(a.res->cas->current->mod_index, 4);
        assert_int_equal(a.res->cas->current->create_index, 2);
        assert_int_equal(a.res->cas->index, 4);
        applied_clear(&a);
        assert_key(kv, "k", "new", 2);
        kv_free(kv);
}

static void test_cas_on_version_zero_requires_absence(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied a;

        (void)state;
        apply_cmd(kv, 1, 0, cmd_cas_version("lock", 0, "me", NO_SESSION), &a);
        assert_true(a.res->cas->succeeded);
        assert_true(a.res->cas->found);
        assert_int_equal(a.res->cas->current->version, 1);
        assert_int_equal(a.res->cas->current->create_index, 1);
        applied_clear(&a);
        assert_key(kv, "lock", "me", 1);

        apply_cmd(kv, 2, 0, cmd_cas_version("lock", 0, "you", NO_SESSION), &a);
        assert_int_equal(a.res->error_code, 0); /* a failed compare is applied */
        assert_false(a.res->cas->succeeded);
        assert_memory_equal(a.res->cas->current->value.data, "me", 2);
        applied_clear(&a);
        assert_key(kv, "lock", "me", 1);
        kv_free(kv);
}

static void test_cas_on_version_swaps_only_at_that_version(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct applied a;

        (void)state;
        apply_cmd(kv, 1, 0, cmd_put("k", "a", NO_SESSION), &a);
        applied_clear(&a);
        apply_cmd(kv, 2, 0, cmd_put("k", "b", NO_SESSION), &a);
        applied_clear(&a);
        apply_cmd(kv, 3, 0, cmd_cas_version("k", 1, "c", NO_SESSION), &a);
        assert_false(a.res->cas->succeeded);
        assert_int_equal(a.res->cas->current->version, 2);
        applied_clear(&a);
        apply_cmd(kv, 4, 0, cmd_cas_version("k", 2, "c", NO_SESSION), &a);
        assert_true(a.res->cas->succeeded);
        applied_clear(&a);
        assert_key(kv, "k", "c", 3);
        apply_cmd(kv, 5, 0, cmd_cas_version("absent", 1, "c", NO_SESSION), &a);
        assert_false(a.res->cas->succeeded);
        assert_false(a.res->cas->found);
        applied_clear(&a);
        assert_int_equal(kv_count(kv), 1);
        kv_free(kv);
}

static void expect_invalid(struct kv *kv, uint64_t index, struct cmd c, const char *needle)
{
        uint32_t before = kv_hash(kv);
        size_t keys = kv_count(kv), sessions = kv_session_count(kv);
        struct applied a;

        apply_cmd(kv, index, 0, c, &a);
        assert_int_equal(a.res->error_code, KV_ERR_INVALID_ARGUMENT);
        assert_int_equal(a.res->result_case, RAFKTOR__V1__COMMAND_RESULT__RESULT__NOT_SET);
        if (!strstr(a.res->error_message, needle))
                fail_msg("error \"%s\" does not mention \"%s\"", a.res->error_message, needle);
        applied_clear(&a);
        assert_int_equal(kv_count(kv), keys);
        assert_int_equal(kv_session_count(kv), sessions);
        assert_int_not_equal(kv_hash(kv), before); /* only the applied index moved */
}

static void test_undecodable_command_is_answered_invalid(void **state)
{
        static const uint8_t garbage[] = { 0x12, 0x7f, 0x01 }; /* length past the end */
        struct kv *kv = kv_make(NULL);
        struct kv *other = kv_make(NULL);
        struct applied a, b;

        (void)state;
        expect_invalid(kv, 1, cmd_raw(garbage, sizeof(garbage)), "not a valid");
        /* The same bytes give the same answer, byte for byte, on a replica. */
        apply_cmd(kv, 2, 0, cmd_raw(garbage, sizeof(garbage)), &a);
        apply_cmd(other, 2, 0, cmd_raw(garbage, sizeof(garbage)), &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.raw, b.raw, a.len);
        applied_clear(&a);
        applied_clear(&b);
        kv_free(other);
        kv_free(kv);
}

static void test_invalid_commands_are_answered_invalid_and_change_nothing(void **state)
{
        /* Command{put{key "a"}, delete{key "b"}}: two members of the oneof. */
        static const uint8_t two_ops[] = { 0x12, 0x03, 0x0a, 0x01, 'a',
                                           0x1a, 0x03, 0x0a, 0x01, 'b' };
        /* Command{cas{key "a", compare_value "x", compare_version 1}}. */
        static const uint8_t both_compares[] = { 0x22, 0x08, 0x0a, 0x01, 'a', 0x12,
                                                 0x01, 'x',  0x18, 0x01 };
        /* Command{cas{key "a"}}. */
        static const uint8_t no_compare[] = { 0x22, 0x03, 0x0a, 0x01, 'a' };
        struct kv *kv = kv_make(NULL);
        struct applied a;

        (void)state;
        apply_cmd(kv, 1, 0, cmd_put("keep", "me", (struct sess){ 5, 1, 1 }), &a);
        applied_clear(&a);
        expect_invalid(kv, 2, cmd_raw(NULL, 0), "no operation");
        expect_invalid(kv, 3, cmd_put("", "v", NO_SESSION), "key must not be empty");
        expect_invalid(kv, 4, cmd_delete("", NO_SESSION), "key must not be empty");
        expect_invalid(kv, 5, cmd_raw(two_ops, sizeof(two_ops)), "more than one operation");
        expect_invalid(kv, 6, cmd_raw(both_compares, sizeof(both_compares)), "both");
        expect_invalid(kv, 7, cmd_raw(no_compare, sizeof(no_compare)), "neither");
        expect_invalid(kv, 8, cmd_put("k", "v", (struct sess){ 5, 0, 0 }), "request_id");
        expect_invalid(kv, 9, cmd_put("k", "v", (struct sess){ 5, 3, 4 }), "first_outstanding");
        assert_key(kv, "keep", "me", 1);
        kv_free(kv);
}

static void test_noop_and_config_only_advance_applied_index(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct raft_entry e = { .index = 2, .term = 1, .type = RAFT_ENTRY_CONFIG };
        uint8_t cfg[] = { 1, 2, 3 };
        uint8_t *reply = NULL;
        size_t len = 0;
        struct applied a;

        (void)state;
        apply_cmd(kv, 1, 0, cmd_put("k", "v", NO_SESSION), &a);
        applied_clear(&a);
        e.data = cfg;
        e.len = sizeof(cfg);
        assert_int_equal(kv_apply(kv, &e, &reply, &len), 0);
        assert_null(reply);
        assert_int_equal(kv_applied_index(kv), 2);
        apply_noop(kv, 3, 0);
        assert_int_equal(kv_count(kv), 1);
        assert_key(kv, "k", "v", 1);
        kv_free(kv);
}

static void test_entry_at_or_below_applied_index_is_refused(void **state)
{
        struct kv *kv = kv_make(NULL);
        struct cmd c = cmd_put("k", "again", NO_SESSION);
        struct raft_entry e = { .index = 1, .term = 1, .type = RAFT_ENTRY_COMMAND };
        uint8_t *reply = NULL;
        size_t len = 0;
        struct applied a;
        uint32_t before;

        (void)state;
        e.data = c.buf;
        e.len = c.len;
        /* Index 0 is never a log index. */
        e.index = 0;
        assert_int_equal(kv_apply(kv, &e, &reply, &len), -EINVAL);
        apply_cmd(kv, 5, 0, cmd_put("k", "v", NO_SESSION), &a);
        applied_clear(&a);
        before = kv_hash(kv);
        e.index = 5;
        assert_int_equal(kv_apply(kv, &e, &reply, &len), -EINVAL);
        e.index = 4;
        assert_int_equal(kv_apply(kv, &e, &reply, &len), -EINVAL);
        assert_null(reply);
        assert_int_equal(kv_hash(kv), before);
        assert_int_equal(kv_applied_index(kv), 5);
        assert_key(kv, "k", "v", 1);
        /* Gaps are allowed (a snapshot may cover them): index 9 applies. */
        e.index = 9;
        assert_int_equal(kv_apply(kv, &e, &reply, &len), 0);
        free(reply);
        assert_key(kv, "k", "again", 2);
        cmd_free(&c);
        kv_free(kv);
}

struct collected {
        char keys[16][16];
        size_t n;
};

static bool collect(const struct kv_item *item, void *ctx)
{
        struct collected *c = ctx;

        assert_true(c->n < 16 && item->key_len < 16);
        memcpy(c->keys[c->n], item->key, item->key_len);
        c->keys[c->n][item->key_len] = '\0';
        c->n++;
        return true;
}

static bool stop_after_one(const struct kv_item *item, void *ctx)
{
        (void)item;
        (*(size_t *)ctx)++;
        return false;
}

static void test_range_is_in_key_order_and_respects_limit(void **state)
{
        static const char *const inserted[] = { "b/2", "a", "b/10", "b", "b/1", "c", "b/" };
        struct kv *kv = kv_make(NULL);
        struct collected c = { .n = 0 };
        struct applied a;
        size_t calls = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(inserted) / sizeof(inserted[0]); i++) {
                apply_cmd(kv, i + 1, 0, cmd_put(inserted[i], "v", NO_SESSION), &a);
                applied_clear(&a);
        }
        assert_false(kv_range(kv, NULL, 0, 0, collect, &c));
        assert_int_equal(c.n, 7);
        assert_string_equal(c.keys[0], "a");
        assert_string_equal(c.keys[1], "b");
        assert_string_equal(c.keys[2], "b/");
        assert_string_equal(c.keys[3], "b/1");
        assert_string_equal(c.keys[4], "b/10");
        assert_string_equal(c.keys[5], "b/2");
        assert_string_equal(c.keys[6], "c");

        c.n = 0;
        assert_false(kv_range(kv, (const uint8_t *)"b/", 2, 0, collect, &c));
        assert_int_equal(c.n, 4);
        assert_string_equal(c.keys[0], "b/");
        assert_string_equal(c.keys[3], "b/2");

        c.n = 0;
        assert_true(kv_range(kv, (const uint8_t *)"b/", 2, 2, collect, &c)); /* cut: more */
        assert_int_equal(c.n, 2);
        assert_string_equal(c.keys[1], "b/1");

        c.n = 0;
        assert_false(kv_range(kv, (const uint8_t *)"b/", 2, 4, collect, &c)); /* exact: no more */
        assert_int_equal(c.n, 4);

        c.n = 0;
        assert_false(kv_range(kv, (const uint8_t *)"zz", 2, 0, collect, &c));
        assert_int_equal(c.n, 0);

        assert_false(kv_range(kv, NULL, 0, 0, stop_after_one, &calls));
        assert_int_equal(calls, 1);
        kv_free(kv);
}

static void test_two_replicas_same_log_same_hash(void **state)
{
        struct kv_options o;
        struct kv *r1, *r2;
        uint64_t seed = 42, rid[4] = { 1, 1, 1, 1 };

        (void)state;
        kv_options_default(&o);
        o.session_ttl_ms = 500;
        o.max_sessions = 2;
        o.max_replies_per_session = 3;
        r1 = kv_make(&o);
        r2 = kv_make(&o);
        for (uint64_t i = 1; i <= 2000; i++) {
                struct cmd c = random_cmd(&seed, rid);
                struct cmd copy = cmd_raw(c.buf, c.len);
                struct applied a, b;

                apply_cmd(r1, i, i * 7, c, &a);
                apply_cmd(r2, i, i * 7, copy, &b);
                assert_int_equal(a.len, b.len);
                assert_memory_equal(a.raw, b.raw, a.len);
                applied_clear(&a);
                applied_clear(&b);
                if (i % 100 == 0)
                        assert_int_equal(kv_hash(r1), kv_hash(r2));
        }
        assert_int_equal(kv_hash(r1), kv_hash(r2));
        assert_true(kv_count(r1) > 0);
        assert_true(kv_session_count(r1) > 0);
        kv_free(r1);
        kv_free(r2);
}

static void test_hash_differs_when_state_differs(void **state)
{
        struct kv *r1 = kv_make(NULL), *r2 = kv_make(NULL);
        struct applied a;

        (void)state;
        apply_cmd(r1, 1, 0, cmd_put("k", "v1", NO_SESSION), &a);
        applied_clear(&a);
        apply_cmd(r2, 1, 0, cmd_put("k", "v2", NO_SESSION), &a);
        applied_clear(&a);
        assert_int_not_equal(kv_hash(r1), kv_hash(r2));
        kv_free(r1);
        kv_free(r2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_put_creates_version_one),
                cmocka_unit_test(test_put_on_existing_key_adds_one_and_keeps_create_index),
                cmocka_unit_test(test_delete_removes_key_and_recreation_starts_at_version_one),
                cmocka_unit_test(test_cas_on_value_swaps_only_when_equal),
                cmocka_unit_test(test_cas_on_version_zero_requires_absence),
                cmocka_unit_test(test_cas_on_version_swaps_only_at_that_version),
                cmocka_unit_test(test_undecodable_command_is_answered_invalid),
                cmocka_unit_test(test_invalid_commands_are_answered_invalid_and_change_nothing),
                cmocka_unit_test(test_noop_and_config_only_advance_applied_index),
                cmocka_unit_test(test_entry_at_or_below_applied_index_is_refused),
                cmocka_unit_test(test_range_is_in_key_order_and_respects_limit),
                cmocka_unit_test(test_two_replicas_same_log_same_hash),
                cmocka_unit_test(test_hash_differs_when_state_differs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
