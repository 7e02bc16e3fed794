/* tests/unit/raft/test_config.c: the configuration encoding: round trip,
 * and every kind of malformed input refused (raft.h: "decoding validates
 * everything (ids non-empty and unique, strings terminated, no trailing
 * bytes)"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

static void sample(struct raft_config *c)
{
        h_config(c, 3);
        c->servers[2].voter = false;
        strcpy(c->servers[1].address, "");
}

static void test_config_encode_decode_round_trip(void **state)
{
        struct raft_config c, d;
        uint8_t *buf;
        size_t len, i;

        (void)state;
        sample(&c);
        assert_int_equal(raft_config_encode(&c, &buf, &len), RAFT_OK);
        assert_int_equal(raft_config_decode(buf, len, &d), RAFT_OK);
        assert_int_equal(d.n, c.n);
        for (i = 0; i < c.n; i++) {
                assert_string_equal(d.servers[i].id, c.servers[i].id);
                assert_string_equal(d.servers[i].address, c.servers[i].address);
                assert_int_equal(d.servers[i].voter, c.servers[i].voter);
        }
        assert_non_null(raft_config_find(&d, "n3"));
        assert_false(raft_config_find(&d, "n3")->voter);
        assert_null(raft_config_find(&d, "n4"));
        free(buf);
        raft_config_clear(&d);
        assert_int_equal(d.n, 0);
        raft_config_clear(&c);
}

static void test_config_decode_rejects_every_truncation(void **state)
{
        struct raft_config c, d;
        uint8_t *buf;
        size_t len, cut;

        (void)state;
        sample(&c);
        assert_int_equal(raft_config_encode(&c, &buf, &len), RAFT_OK);
        for (cut = 0; cut < len; cut++)
                assert_int_equal(raft_config_decode(buf, cut, &d), RAFT_EINVAL);
        free(buf);
        raft_config_clear(&c);
}

static void test_config_decode_rejects_trailing_bytes(void **state)
{
        struct raft_config c, d;
        uint8_t *buf, *longer;
        size_t len;

        (void)state;
        sample(&c);
        assert_int_equal(raft_config_encode(&c, &buf, &len), RAFT_OK);
        longer = malloc(len + 1);
        assert_non_null(longer);
        memcpy(longer, buf, len);
        longer[len] = 0;
        assert_int_equal(raft_config_decode(longer, len + 1, &d), RAFT_EINVAL);
        free(longer);
        free(buf);
        raft_config_clear(&c);
}

static void test_config_decode_rejects_bad_fields(void **state)
{
        struct raft_config d;
        /* version 1, n = 1, voter 1, id "a", address "" */
        const uint8_t good[] = { 1, 1, 0, 0, 0, 1, 'a', 0, 0 };
        const uint8_t bad_version[] = { 2, 1, 0, 0, 0, 1, 'a', 0, 0 };
        const uint8_t zero_servers[] = { 1, 0, 0, 0, 0 };
        const uint8_t huge_n[] = { 1, 0xff, 0xff, 0xff, 0xff, 1, 'a', 0, 0 };
        const uint8_t bad_voter[] = { 1, 1, 0, 0, 0, 2, 'a', 0, 0 };
        const uint8_t empty_id[] = { 1, 1, 0, 0, 0, 1, 0, 0, 0 };
        const uint8_t unterminated[] = { 1, 1, 0, 0, 0, 1, 'a', 0, 'b' };
        const uint8_t control_id[] = { 1, 1, 0, 0, 0, 1, '\n', 0, 0 };
        const uint8_t dup_ids[] = { 1, 2, 0, 0, 0, 1, 'a', 0, 0, 1, 'a', 0, 0 };
        uint8_t long_id[5 + 1 + RAFT_ID_MAX + 1 + 1];

        (void)state;
        assert_int_equal(raft_config_decode(good, sizeof(good), &d), RAFT_OK);
        raft_config_clear(&d);
        assert_int_equal(raft_config_decode(bad_version, sizeof(bad_version), &d), RAFT_EINVAL);
        assert_int_equal(raft_config_decode(zero_servers, sizeof(zero_servers), &d), RAFT_EINVAL);
        assert_int_equal(raft_config_decode(huge_n, sizeof(huge_n), &d), RAFT_EINVAL);
        assert_int_equal(raft_config_decode(bad_voter, sizeof(bad_voter), &d), RAFT_EINVAL);
        assert_int_equal(raft_config_decode(empty_id, sizeof(empty_id), &d), RAFT_EINVAL);
        assert_int_equal(raft_config_decode(unterminated, sizeof(unterminated), &d), RAFT_EINVAL);
        assert_int_equal(raft_config_decode(control_id, sizeof(control_id), &d), RAFT_EINVAL);
        assert_int_equal(raft_config_decode(dup_ids, sizeof(dup_ids), &d), RAFT_EINVAL);
        /* An id of RAFT_ID_MAX bytes does not fit with its NUL. */
        memset(long_id, 'x', sizeof(long_id));
        memcpy(long_id, good, 6);
        long_id[6 + RAFT_ID_MAX] = 0;
        long_id[6 + RAFT_ID_MAX + 1] = 0;
        assert_int_equal(raft_config_decode(long_id, 6 + RAFT_ID_MAX + 2, &d), RAFT_EINVAL);
        assert_int_equal(raft_config_decode(NULL, 0, &d), RAFT_EINVAL);
}

static void test_config_encode_rejects_duplicate_or_empty_ids(void **state)
{
        struct raft_config c;
        uint8_t *buf = NULL;
        size_t len = 0;

        (void)state;
        h_config(&c, 2);
        strcpy(c.servers[1].id, "n1");
        assert_int_equal(raft_config_encode(&c, &buf, &len), RAFT_EINVAL);
        strcpy(c.servers[1].id, "");
        assert_int_equal(raft_config_encode(&c, &buf, &len), RAFT_EINVAL);
        assert_null(buf);
        raft_config_clear(&c);
}

static void test_config_copy_is_deep(void **state)
{
        struct raft_config c, d;

        (void)state;
        sample(&c);
        assert_int_equal(raft_config_copy(&c, &d), RAFT_OK);
        strcpy(c.servers[0].id, "changed");
        assert_string_equal(d.servers[0].id, "n1");
        raft_config_clear(&c);
        raft_config_clear(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config_encode_decode_round_trip),
                cmocka_unit_test(test_config_decode_rejects_every_truncation),
                cmocka_unit_test(test_config_decode_rejects_trailing_bytes),
                cmocka_unit_test(test_config_decode_rejects_bad_fields),
                cmocka_unit_test(test_config_encode_rejects_duplicate_or_empty_ids),
                cmocka_unit_test(test_config_copy_is_deep),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
