/* tests/unit/storage/test_segment.c: the segment byte format.
 *
 * Owns: header and record round trips, 8-byte alignment, the checksum
 * covering length, type and payload, type 0 refused, damage classification
 * (zero tail, torn tail, corrupt), and file names.
 *
 * Must never: depend on the evlog or the simulated disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/storage/segment.h"

static size_t build(uint8_t *buf, int n_records)
{
        size_t off = SEGMENT_HEADER_SIZE;
        uint8_t p[40];

        segment_header_encode(42, "node-x", buf);
        for (int i = 0; i < n_records; i++) {
                memset(p, i, sizeof(p));
                segment_record_encode(buf + off, 3, p, (size_t)(5 + i * 7) % 40);
                off += segment_record_size((size_t)(5 + i * 7) % 40);
        }
        return off;
}

static void test_header_round_trip_and_checksum(void **state)
{
        uint8_t buf[SEGMENT_HEADER_SIZE];
        struct segment_header h;
        const char *why;

        segment_header_encode(42, "node-x", buf);
        assert_int_equal(segment_header_parse(buf, sizeof(buf), &h, &why), 0);
        assert_int_equal(h.first_seq, 42);
        assert_string_equal(h.node_id, "node-x");
        for (size_t i = 0; i < sizeof(buf); i++) {
                buf[i] ^= 1;
                assert_int_not_equal(segment_header_parse(buf, sizeof(buf), &h, &why), 0);
                buf[i] ^= 1;
        }
        assert_int_not_equal(segment_header_parse(buf, sizeof(buf) - 1, &h, &why), 0);
}

static void test_records_are_8_byte_aligned_and_round_trip(void **state)
{
        uint8_t buf[4096];
        struct segment_record rec;
        const char *why;
        size_t off = SEGMENT_HEADER_SIZE;
        size_t end = build(buf, 10);

        for (int i = 0; i < 10; i++) {
                assert_int_equal(off % 8, 0);
                assert_int_equal(segment_record_parse(buf, end, off, &rec, &why),
                                 SEGMENT_REC_OK);
                assert_int_equal(rec.type, 3);
                assert_int_equal(rec.len, (size_t)(5 + i * 7) % 40);
                off += rec.size;
        }
        assert_int_equal(off, end);
}

static void test_checksum_covers_length_type_payload_and_padding(void **state)
{
        uint8_t buf[256];
        struct segment_record rec;
        const char *why;
        size_t end = build(buf, 1);

        for (size_t i = SEGMENT_HEADER_SIZE; i < end; i++) {
                buf[i] ^= 0x10;
                assert_int_not_equal(segment_record_parse(buf, end, SEGMENT_HEADER_SIZE, &rec,
                                                          &why),
                                     SEGMENT_REC_OK);
                buf[i] ^= 0x10;
        }
}

static void test_type_zero_is_never_valid(void **state)
{
        uint8_t buf[256];
        struct segment_record rec;
        const char *why;

        segment_header_encode(1, "n", buf);
        segment_record_encode(buf + SEGMENT_HEADER_SIZE, 0, (const uint8_t *)"abc", 3);
        assert_int_equal(segment_record_parse(buf, SEGMENT_HEADER_SIZE + 16, SEGMENT_HEADER_SIZE,
                                              &rec, &why),
                         SEGMENT_REC_BAD);
}

static void test_scan_classifies_zero_tail_torn_tail_and_corruption(void **state)
{
        uint8_t buf[4096];
        struct segment_scan sc;
        size_t end = build(buf, 5), last;

        assert_int_equal(segment_scan(buf, end, NULL, NULL, &sc), 0);
        assert_int_equal(sc.damage, SEGMENT_INTACT);
        assert_int_equal(sc.n_records, 5);

        memset(buf + end, 0, 64);
        assert_int_equal(segment_scan(buf, end + 64, NULL, NULL, &sc), 0);
        assert_int_equal(sc.damage, SEGMENT_TAIL_ZERO);
        assert_int_equal(sc.valid_end, end);

        last = end - segment_record_size((5 + 4 * 7) % 40);
        assert_int_equal(segment_scan(buf, end - 1, NULL, NULL, &sc), 0);
        assert_int_equal(sc.damage, SEGMENT_TAIL_TORN);
        assert_int_equal(sc.damage_off, last);

        buf[SEGMENT_HEADER_SIZE + 14] ^= 1;
        assert_int_equal(segment_scan(buf, end, NULL, NULL, &sc), 0);
        assert_int_equal(sc.damage, SEGMENT_CORRUPT);
        assert_int_equal(sc.damage_off, SEGMENT_HEADER_SIZE);
        assert_int_equal(sc.n_records, 0);
}

/* A tail of random bytes (e.g. a reused block) must be judged quickly:
 * the search for a valid record after damage filters before checksumming. */
static void test_random_tail_is_judged_torn_in_bounded_time(void **state)
{
        size_t n = 4u << 20, end;
        uint8_t *buf = malloc(n);
        uint64_t x = 88172645463325252ull;
        struct segment_scan sc;

        assert_non_null(buf);
        end = build(buf, 3);
        for (size_t i = end; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf[i] = (uint8_t)x;
        }
        buf[end + 8] = 3; /* a plausible type, then garbage */
        assert_int_equal(segment_scan(buf, n, NULL, NULL, &sc), 0);
        assert_int_equal(sc.n_records, 3);
        assert_int_equal(sc.damage, SEGMENT_TAIL_TORN);
        assert_int_equal(sc.damage_off, end);
        free(buf);
}

static void test_names_round_trip_and_reject_lookalikes(void **state)
{
        char name[SEGMENT_NAME_LEN + 1];
        uint64_t seq;

        segment_name(0x1234abcd, name);
        assert_string_equal(name, "000000001234abcd.seg");
        assert_true(segment_name_parse(name, &seq));
        assert_int_equal(seq, 0x1234abcd);
        assert_false(segment_name_parse("000000001234ABCD.seg", &seq));
        assert_false(segment_name_parse("000000001234abcd.seg.tmp", &seq));
        assert_false(segment_name_parse("00000001234abcd.seg", &seq));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_round_trip_and_checksum),
                cmocka_unit_test(test_records_are_8_byte_aligned_and_round_trip),
                cmocka_unit_test(test_checksum_covers_length_type_payload_and_padding),
                cmocka_unit_test(test_type_zero_is_never_valid),
                cmocka_unit_test(test_scan_classifies_zero_tail_torn_tail_and_corruption),
                cmocka_unit_test(test_random_tail_is_judged_torn_in_bounded_time),
                cmocka_unit_test(test_names_round_trip_and_reject_lookalikes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
