/* tests/unit/kv/test-kv-snapshot.c: the snapshot encoding: a round trip
 * keeps the state (same kv_hash, same behaviour) and the decoder rejects
 * every malformed input with a reason.
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

#include "daemon/kv/kv-internal.h"
#include "tests/unit/kv/kv-test-util.h"

/* A state with keys, an overwritten and a deleted key, two sessions with
 * cached replies, and a clock. */
static struct kv *populated(void)
{
        struct kv *kv = kv_make(NULL);
        struct applied a;

        apply_cmd(kv, 1, 100, cmd_put("alpha", "1", (struct sess){ 5, 1, 1 }), &a);
        applied_clear(&a);
        apply_cmd(kv, 2, 110, cmd_put("beta", "", (struct sess){ 5, 2, 1 }), &a);
        applied_clear(&a);
        apply_cmd(kv, 3, 120, cmd_put("alpha", "one", (struct sess){ 6, 1, 1 }), &a);
        applied_clear(&a);
        apply_cmd(kv, 4, 130, cmd_put("gone", "x", NO_SESSION), &a);
        applied_clear(&a);
        apply_cmd(kv, 5, 140, cmd_delete("gone", NO_SESSION), &a);
        applied_clear(&a);
        apply_cmd(kv, 6, 150, cmd_cas_version("gamma", 0, "g", (struct sess){ 6, 2, 2 }), &a);
        applied_clear(&a);
        apply_noop(kv, 7, 160);
        return kv;
}

static void test_snapshot_round_trip_same_hash(void **state)
{
        struct kv *kv = populated(), *copy = NULL;
        uint8_t *buf = NULL, *again = NULL;
        size_t len = 0, again_len = 0;
        char err[256];

        (void)state;
        assert_int_equal(kv_snapshot_encode(kv, &buf, &len), 0);
        assert_int_equal(kv_snapshot_decode(buf, len, NULL, &copy, err, sizeof(err)), 0);
        assert_int_equal(kv_hash(copy), kv_hash(kv));
        assert_int_equal(kv_applied_index(copy), 7);
        assert_int_equal(kv_count(copy), 3);
        assert_int_equal(kv_session_count(copy), 2);
        assert_key(copy, "alpha", "one", 2);
        assert_key(copy, "beta", "", 1);
        /* Deterministic: the copy encodes to the same bytes. */
        assert_int_equal(kv_snapshot_encode(copy, &again, &again_len), 0);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, buf, len);
        free(again);
        free(buf);
        kv_free(copy);
        kv_free(kv);
}

static void test_snapshot_of_empty_state_round_trips(void **state)
{
        struct kv *kv = kv_make(NULL), *copy = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;

        (void)state;
        assert_int_equal(kv_snapshot_encode(kv, &buf, &len), 0);
        assert_int_equal(kv_snapshot_decode(buf, len, NULL, &copy, NULL, 0), 0);
        assert_int_equal(kv_hash(copy), kv_hash(kv));
        assert_int_equal(kv_count(copy), 0);
        free(buf);
        kv_free(copy);
        kv_free(kv);
}

/* The clock is the largest leader time applied (an older stamp never lowers it) and a
 * snapshot carries it: the shell hands it to raft_time_floor() after a restore. */
static void test_clock_is_the_largest_leader_time_and_survives_a_snapshot(void **state)
{
        struct kv *kv = kv_make(NULL), *copy = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;

        (void)state;
        assert_int_equal(kv_clock_ms(kv), 0);
        apply_noop(kv, 1, 5000);
        assert_int_equal(kv_clock_ms(kv), 5000);
        apply_noop(kv, 2, 4000);
        assert_int_equal(kv_clock_ms(kv), 5000);
        apply_noop(kv, 3, 7000);
        assert_int_equal(kv_clock_ms(kv), 7000);
        assert_int_equal(kv_snapshot_encode(kv, &buf, &len), 0);
        assert_int_equal(kv_snapshot_decode(buf, len, NULL, &copy, NULL, 0), 0);
        assert_int_equal(kv_clock_ms(copy), 7000);
        free(buf);
        kv_free(copy);
        kv_free(kv);
}

static void test_restored_state_behaves_like_the_original(void **state)
{
        struct kv *kv = populated(), *copy = NULL;
        struct applied a, b;
        uint8_t *buf = NULL;
        size_t len = 0;

        (void)state;
        assert_int_equal(kv_snapshot_encode(kv, &buf, &len), 0);
        assert_int_equal(kv_snapshot_decode(buf, len, NULL, &copy, NULL, 0), 0);
        free(buf);
        /* A retry answered from a restored session cache, then a new write. */
        apply_cmd(kv, 8, 170, cmd_put("alpha", "1", (struct sess){ 5, 1, 1 }), &a);
        apply_cmd(copy, 8, 170, cmd_put("alpha", "1", (struct sess){ 5, 1, 1 }), &b);
        assert_int_equal(a.res->put->index, 1);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.raw, b.raw, a.len);
        applied_clear(&a);
        applied_clear(&b);
        apply_cmd(kv, 9, 180, cmd_put("delta", "d", (struct sess){ 7, 1, 1 }), &a);
        apply_cmd(copy, 9, 180, cmd_put("delta", "d", (struct sess){ 7, 1, 1 }), &b);
        assert_memory_equal(a.raw, b.raw, a.len);
        applied_clear(&a);
        applied_clear(&b);
        assert_int_equal(kv_hash(copy), kv_hash(kv));
        /* Entries the snapshot covers are refused by the restored state. */
        {
                struct raft_entry e = { .index = 9, .type = RAFT_ENTRY_NOOP };
                uint8_t *reply = NULL;
                size_t rlen = 0;

                assert_int_equal(kv_apply(copy, &e, &reply, &rlen), -EINVAL);
        }
        kv_free(copy);
        kv_free(kv);
}

static void test_replica_restored_mid_log_matches_one_that_applied_everything(void **state)
{
        struct kv_options o;
        struct kv *full, *restored = NULL;
        uint64_t seed = 7, rid[4] = { 1, 1, 1, 1 };
        uint8_t *buf = NULL;
        size_t len = 0;
        char err[256];

        (void)state;
        kv_options_default(&o);
        o.session_ttl_ms = 400;
        o.max_sessions = 2;
        o.max_replies_per_session = 3;
        full = kv_make(&o);
        for (uint64_t i = 1; i <= 1500; i++) {
                struct cmd c = random_cmd(&seed, rid);
                struct applied a, b;

                if (i == 700) {
                        assert_int_equal(kv_snapshot_encode(full, &buf, &len), 0);
                        assert_int_equal(
                                kv_snapshot_decode(buf, len, &o, &restored, err, sizeof(err)), 0);
                        assert_int_equal(kv_hash(restored), kv_hash(full));
                        free(buf);
                }
                if (!restored) {
                        apply_cmd(full, i, i * 5, c, &a);
                        applied_clear(&a);
                        continue;
                }
                apply_cmd(restored, i, i * 5, cmd_raw(c.buf, c.len), &b);
                apply_cmd(full, i, i * 5, c, &a);
                assert_int_equal(a.len, b.len);
                assert_memory_equal(a.raw, b.raw, a.len);
                applied_clear(&a);
                applied_clear(&b);
        }
        assert_int_equal(kv_hash(restored), kv_hash(full));
        assert_int_equal(kv_count(restored), kv_count(full));
        assert_int_equal(kv_session_count(restored), kv_session_count(full));
        kv_free(restored);
        kv_free(full);
}

/* The red-black rules under n (parent links, order, no red child of a red node, the same
 * number of black nodes on every path); returns that black height. */
static int rb_check(const struct kv_node *n, const struct kv_node *parent)
{
        const struct kv_node *l, *r;
        int hl, hr;

        if (!n)
                return 1;
        assert_ptr_equal(RB_PARENT(n, link), parent);
        l = RB_LEFT(n, link);
        r = RB_RIGHT(n, link);
        if (l)
                assert_true(kv_node_cmp(l, n) < 0);
        if (r)
                assert_true(kv_node_cmp(n, r) < 0);
        if (RB_COLOR(n, link) == RB_RED)
                assert_true((!l || RB_COLOR(l, link) == RB_BLACK) &&
                            (!r || RB_COLOR(r, link) == RB_BLACK));
        hl = rb_check(l, n);
        hr = rb_check(r, n);
        assert_int_equal(hl, hr);
        return hl + (RB_COLOR(n, link) == RB_BLACK);
}

/* Keys are loaded in order without a search (kv_store_append), and applies link new keys
 * where their lookup ended (kv_store_link) and swap a replaced node in place
 * (kv_store_replace): the trees must stay proper red-black trees, hold every key, and
 * take new keys anywhere. */
static void test_restored_tree_of_many_keys_is_balanced_and_complete(void **state)
{
        struct kv *kv = kv_make(NULL), *copy = NULL;
        uint64_t seed = 42, index = 1;
        uint8_t *buf = NULL;
        size_t len = 0;
        char key[32], value[32];
        struct applied a;
        int height;

        (void)state;
        for (int i = 0; i < 3000; i++) {
                snprintf(key, sizeof(key), "k%05u", (unsigned)(test_lcg(&seed) % 20000));
                snprintf(value, sizeof(value), "v%d", i);
                apply_cmd(kv, index++, 100, cmd_put(key, value, NO_SESSION), &a);
                applied_clear(&a);
        }
        assert_int_equal(kv_snapshot_encode(kv, &buf, &len), 0);
        assert_int_equal(kv_snapshot_decode(buf, len, NULL, &copy, NULL, 0), 0);
        free(buf);
        assert_int_equal(kv_count(copy), kv_count(kv));
        assert_int_equal(RB_COLOR(RB_ROOT(&copy->keys), link), RB_BLACK);
        height = rb_check(RB_ROOT(&copy->keys), NULL);
        /* a red-black tree of n keys has a black height of at most log2(n + 1) + 1 */
        assert_true(height <= 13);
        for (int k = 0; k < 20000; k++) {
                struct kv_item want, got;
                bool in_kv, in_copy;

                snprintf(key, sizeof(key), "k%05d", k);
                in_kv = kv_get(kv, (const uint8_t *)key, strlen(key), &want);
                in_copy = kv_get(copy, (const uint8_t *)key, strlen(key), &got);
                assert_int_equal(in_kv, in_copy);
                if (in_kv) {
                        assert_int_equal(want.version, got.version);
                        assert_int_equal(want.value_len, got.value_len);
                        assert_memory_equal(want.value, got.value, want.value_len);
                }
        }
        /* New keys before, between and after the loaded ones, and deletes. */
        for (int i = 0; i < 2000; i++) {
                snprintf(key, sizeof(key), "%s%05u", i % 3 == 0 ? "a" : i % 3 == 1 ? "k" : "z",
                         (unsigned)(test_lcg(&seed) % 20000));
                apply_cmd(kv, index, 200, i % 4 == 3 ? cmd_delete(key, NO_SESSION)
                                                     : cmd_put(key, "n", NO_SESSION), &a);
                applied_clear(&a);
                apply_cmd(copy, index++, 200, i % 4 == 3 ? cmd_delete(key, NO_SESSION)
                                                         : cmd_put(key, "n", NO_SESSION), &a);
                applied_clear(&a);
        }
        /* (the puts replaced values of another length in place and linked new keys at
         * the slot their lookup found: both trees must still be proper) */
        rb_check(RB_ROOT(&copy->keys), NULL);
        rb_check(RB_ROOT(&kv->keys), NULL);
        assert_int_equal(kv_hash(copy), kv_hash(kv));
        kv_free(copy);
        kv_free(kv);
}

static void test_snapshot_decode_rejects_truncation(void **state)
{
        struct kv *kv = populated(), *copy = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        char err[256];

        (void)state;
        assert_int_equal(kv_snapshot_encode(kv, &buf, &len), 0);
        for (size_t cut = 0; cut < len; cut++) {
                uint8_t *part = malloc(cut + 1);

                assert_non_null(part);
                memcpy(part, buf, cut);
                err[0] = '\0';
                copy = NULL;
                if (kv_snapshot_decode(part, cut, NULL, &copy, err, sizeof(err)) != -EINVAL)
                        fail_msg("a snapshot cut to %zu of %zu bytes was accepted", cut, len);
                assert_null(copy);
                if (err[0] == '\0')
                        fail_msg("no reason given for a snapshot cut to %zu bytes", cut);
                free(part);
        }
        /* The reason names the truncation. */
        assert_int_equal(kv_snapshot_decode(buf, len - 10, NULL, &copy, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "truncated"));
        free(buf);
        kv_free(kv);
}

static void test_snapshot_decode_rejects_any_flipped_byte(void **state)
{
        struct kv *kv = populated(), *copy = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        char err[256];

        (void)state;
        assert_int_equal(kv_snapshot_encode(kv, &buf, &len), 0);
        for (size_t i = 0; i < len; i++) {
                buf[i] ^= 0x20;
                err[0] = '\0';
                copy = NULL;
                if (kv_snapshot_decode(buf, len, NULL, &copy, err, sizeof(err)) != -EINVAL)
                        fail_msg("a snapshot with byte %zu flipped was accepted", i);
                assert_null(copy);
                assert_true(err[0] != '\0');
                buf[i] ^= 0x20;
        }
        free(buf);
        kv_free(kv);
}

static void test_snapshot_decode_rejects_trailing_bytes_and_bad_magic(void **state)
{
        struct kv *kv = populated(), *copy = NULL;
        uint8_t *buf = NULL, *longer;
        size_t len = 0;
        char err[256];

        (void)state;
        assert_int_equal(kv_snapshot_encode(kv, &buf, &len), 0);
        longer = calloc(1, len + 8);
        assert_non_null(longer);
        memcpy(longer, buf, len);
        assert_int_equal(kv_snapshot_decode(longer, len + 8, NULL, &copy, err, sizeof(err)),
                         -EINVAL);
        assert_null(copy);
        buf[0] = 'X';
        assert_int_equal(kv_snapshot_decode(buf, len, NULL, &copy, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "magic"));
        free(longer);
        free(buf);
        kv_free(kv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_snapshot_round_trip_same_hash),
                cmocka_unit_test(test_snapshot_of_empty_state_round_trips),
                cmocka_unit_test(test_clock_is_the_largest_leader_time_and_survives_a_snapshot),
                cmocka_unit_test(test_restored_state_behaves_like_the_original),
                cmocka_unit_test(
                        test_replica_restored_mid_log_matches_one_that_applied_everything),
                cmocka_unit_test(test_restored_tree_of_many_keys_is_balanced_and_complete),
                cmocka_unit_test(test_snapshot_decode_rejects_truncation),
                cmocka_unit_test(test_snapshot_decode_rejects_any_flipped_byte),
                cmocka_unit_test(test_snapshot_decode_rejects_trailing_bytes_and_bad_magic),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
