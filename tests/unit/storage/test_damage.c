/* tests/unit/storage/test_damage.c: every truncation and every flipped byte.
 *
 * Owns: the rule that damage is either repaired as a torn tail (only when it
 * lies in the last record of the newest segment) or refused with the exact
 * file and byte offset; checked for 100% of cases of a small directory
 * (snapshot + three segments), one case at a time.
 *
 * Must never: accept a case silently: each case asserts its verdict.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/storage/recovery.h"
#include "daemon/storage/segment.h"
#include "tests/unit/storage/helpers.h"

struct dir_fixture {
        struct io_sim *sim;
        size_t n_files;
        char paths[16][64];
        bool is_segment[16];
        size_t newest;              /* index of the newest segment in paths */
        uint64_t total_events;      /* events after the snapshot */
};

static int by_name(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void build_dir(struct dir_fixture *f)
{
        uint8_t conf[4] = { 1, 2, 3, 4 }, data[40];
        struct snapshot_meta m = { .seq = 20, .index = 10, .term = 2, .config = conf,
                                   .config_len = 4 };
        const struct storage_io *io;
        struct storage_error err;
        struct collected c;
        struct evlog *log;
        char **names;
        size_t n;
        uint64_t seq, newest_seq = 0;

        memset(f, 0, sizeof(*f));
        memset(data, 0xab, sizeof(data));
        f->sim = io_sim_new();
        io = io_sim_io(f->sim);
        assert_int_equal(test_open(f->sim, 600, &c, &log, &err), 0);
        for (uint64_t s = 1; s <= 36; s += 4) {
                assert_int_equal(test_append_range(log, s, s + 3, 0), 0);
                assert_int_equal(evlog_flush(log, s + 3), 0);
        }
        assert_int_equal(evlog_snapshot(log, &m, data, sizeof(data), &err), 0);
        assert_int_equal(evlog_close(log), 0);
        f->total_events = 36 - 20;

        assert_int_equal(io->list_dir(io->ctx, TEST_DIR, &names, &n), 0);
        qsort(names, n, sizeof(char *), by_name);
        for (size_t i = 0; i < n; i++) {
                assert_true(f->n_files < 16);
                snprintf(f->paths[f->n_files], 64, "%s/%s", TEST_DIR, names[i]);
                f->is_segment[f->n_files] = segment_name_parse(names[i], &seq);
                if (f->is_segment[f->n_files] && seq >= newest_seq) {
                        newest_seq = seq;
                        f->newest = f->n_files;
                }
                f->n_files++;
        }
        storage_names_free(names, n);
}

static size_t count_segments(const struct dir_fixture *f)
{
        size_t k = 0;
        for (size_t i = 0; i < f->n_files; i++)
                k += f->is_segment[i];
        return k;
}

static int add_offset(void *ud, const struct segment_record *rec)
{
        uint64_t *offs = ud;
        offs[++offs[0]] = rec->off;
        return 0;
}

/* offs[0] = count, offs[1..] = record offsets. */
static void record_offsets(const uint8_t *buf, size_t len, uint64_t *offs)
{
        struct segment_scan sc;
        offs[0] = 0;
        assert_int_equal(segment_scan(buf, len, add_offset, offs, &sc), 0);
        assert_int_equal(sc.damage, SEGMENT_INTACT);
}

/* Start of the record containing byte b (0 for the header). */
static uint64_t record_start(const uint64_t *offs, uint64_t b)
{
        uint64_t start = 0;
        for (uint64_t i = 1; i <= offs[0]; i++)
                if (offs[i] <= b)
                        start = offs[i];
        return start;
}

static const char *file_of(const struct dir_fixture *f, size_t i)
{
        return f->paths[i];
}

struct verdict {
        int rc;
        struct storage_error err;
        struct recovery_result res;
        struct collected c;
};

static void scan(struct dir_fixture *f, struct verdict *v)
{
        struct recovery_callbacks cb = test_collector(&v->c, 0);
        v->rc = recovery_scan(io_sim_io(f->sim), TEST_DIR, TEST_NODE, &cb, &v->res, &v->err);
        recovery_result_free(&v->res);
}

static void expect_refused(const struct verdict *v, const char *file, uint64_t off,
                           const char *what, uint64_t b)
{
        if (v->rc == 0)
                fail_msg("%s at byte %llu of %s: accepted, expected refusal at %llu", what,
                         (unsigned long long)b, file, (unsigned long long)off);
        if (strcmp(v->err.file, file) != 0 || v->err.offset != off)
                fail_msg("%s at byte %llu of %s: refused as \"%s\", expected %s offset %llu",
                         what, (unsigned long long)b, file, v->err.msg, file,
                         (unsigned long long)off);
}

static void test_flip_every_byte_is_torn_tail_or_refused_with_offset(void **state)
{
        struct dir_fixture f;
        uint64_t cases = 0, torn = 0, refused = 0;
        const uint8_t masks[2] = { 0xff, 0x01 };

        build_dir(&f);
        assert_true(count_segments(&f) >= 3);
        for (size_t i = 0; i < f.n_files; i++) {
                const char *file = file_of(&f, i);
                uint64_t offs[256], data_end = 0;
                uint8_t *orig;
                size_t len;

                assert_int_equal(io_sim_get(f.sim, file, &orig, &len), 0);
                if (f.is_segment[i]) {
                        record_offsets(orig, len, offs);
                } else if (len > 0) { /* a snapshot (LOCK is empty) */
                        struct snapshot_view sv;
                        const char *why;
                        uint64_t bad_off;
                        assert_int_equal(snapshot_parse(orig, len, &sv, &why, &bad_off), 0);
                        data_end = SNAPSHOT_HEADER_SIZE + sv.data_len;
                }
                for (size_t b = 0; b < len; b++) {
                        for (int k = 0; k < 2; k++) {
                                struct verdict v;
                                uint64_t start;

                                orig[b] ^= masks[k];
                                assert_int_equal(io_sim_set(f.sim, file, orig, len), 0);
                                scan(&f, &v);
                                orig[b] ^= masks[k];
                                cases++;
                                if (!f.is_segment[i]) {
                                        /* Snapshot: header (0), data (256: its
                                         * CRC), configuration/tail (after data). */
                                        expect_refused(&v, file,
                                                       b < SNAPSHOT_HEADER_SIZE ? 0
                                                       : b < data_end ? SNAPSHOT_HEADER_SIZE
                                                                      : data_end,
                                                       "flip", b);
                                        refused++;
                                        continue;
                                }
                                start = b < SEGMENT_HEADER_SIZE ? 0 : record_start(offs, b);
                                if (i == f.newest && start == offs[offs[0]] && start != 0) {
                                        if (v.rc != 0)
                                                fail_msg("flip at %zu of %s (last record): "
                                                         "refused (%s), expected torn tail",
                                                         b, file, v.err.msg);
                                        assert_int_equal(v.c.n, f.total_events - 1);
                                        assert_false(v.c.mismatch);
                                        torn++;
                                } else {
                                        expect_refused(&v, file, start, "flip", b);
                                        refused++;
                                }
                        }
                }
                assert_int_equal(io_sim_set(f.sim, file, orig, len), 0);
                free(orig);
        }
        print_message("%llu flips: %llu torn tails, %llu refused\n", (unsigned long long)cases,
                      (unsigned long long)torn, (unsigned long long)refused);
        assert_int_equal(torn + refused, cases);
        assert_true(torn > 0 && refused > 0);
        io_sim_free(f.sim);
}

/* Truncating the newest segment at every offset from the start of its
 * third-last record (and inside its header). */
static void test_truncate_newest_segment_every_offset(void **state)
{
        struct dir_fixture f;
        const char *file;
        uint64_t offs[256], cases = 0;
        uint8_t *orig;
        size_t len;

        build_dir(&f);
        file = file_of(&f, f.newest);
        assert_int_equal(io_sim_get(f.sim, file, &orig, &len), 0);
        record_offsets(orig, len, offs);
        assert_true(offs[0] >= 3);
        for (size_t l = 0; l < len; l++) {
                struct verdict v;
                uint64_t whole = 0; /* records wholly inside [0, l) */

                if (l >= SEGMENT_HEADER_SIZE && l < offs[offs[0] - 2])
                        continue;
                assert_int_equal(io_sim_set(f.sim, file, orig, l), 0);
                scan(&f, &v);
                cases++;
                if (l < SEGMENT_HEADER_SIZE) {
                        expect_refused(&v, file, 0, "truncation", l);
                        continue;
                }
                for (uint64_t r = 1; r <= offs[0]; r++) {
                        uint64_t end = r < offs[0] ? offs[r + 1] : len;
                        if (end <= l)
                                whole++;
                }
                if (v.rc != 0)
                        fail_msg("truncation at %zu: refused (%s)", l, v.err.msg);
                assert_int_equal(v.c.n, f.total_events - (offs[0] - whole));
                assert_false(v.c.mismatch);
        }
        assert_int_equal(io_sim_set(f.sim, file, orig, len), 0);
        free(orig);
        assert_true(cases > SEGMENT_HEADER_SIZE);
        io_sim_free(f.sim);
}

/* Truncating an older segment anywhere in its last records is refused: in
 * the segment itself (cut record) or at the next segment (gap). */
static void test_truncate_older_segment_every_offset_is_refused(void **state)
{
        struct dir_fixture f;
        size_t older = SIZE_MAX, next = SIZE_MAX;
        uint64_t offs[256], cases = 0;
        uint8_t *orig;
        size_t len;

        build_dir(&f);
        for (size_t i = 0; i < f.n_files; i++)
                if (f.is_segment[i] && i != f.newest)
                        older = i; /* the one before the newest (sorted names) */
        assert_true(older != SIZE_MAX);
        for (size_t i = older + 1; i < f.n_files && next == SIZE_MAX; i++)
                if (f.is_segment[i])
                        next = i;
        assert_int_equal(io_sim_get(f.sim, file_of(&f, older), &orig, &len), 0);
        record_offsets(orig, len, offs);
        for (size_t l = offs[offs[0] > 2 ? offs[0] - 2 : 1]; l < len; l++) {
                struct verdict v;
                bool boundary = false;

                for (uint64_t r = 1; r <= offs[0]; r++)
                        boundary |= offs[r] == l;
                assert_int_equal(io_sim_set(f.sim, file_of(&f, older), orig, l), 0);
                scan(&f, &v);
                cases++;
                if (boundary)
                        expect_refused(&v, file_of(&f, next), 16, "truncation", l);
                else
                        expect_refused(&v, file_of(&f, older), record_start(offs, l),
                                       "truncation", l);
        }
        free(orig);
        assert_true(cases > 8);
        io_sim_free(f.sim);
}

static void test_missing_segment_is_refused_naming_next(void **state)
{
        struct dir_fixture f;
        const struct storage_io *io;
        size_t first = SIZE_MAX, second = SIZE_MAX;
        struct verdict v;

        build_dir(&f);
        io = io_sim_io(f.sim);
        for (size_t i = 0; i < f.n_files; i++)
                if (f.is_segment[i]) {
                        if (first == SIZE_MAX)
                                first = i;
                        else if (second == SIZE_MAX && i != f.newest)
                                second = i;
                }
        assert_true(second != SIZE_MAX);
        assert_int_equal(io->unlink(io->ctx, file_of(&f, second)), 0);
        scan(&f, &v);
        assert_int_not_equal(v.rc, 0);
        assert_non_null(strstr(v.err.msg, "not contiguous"));
        assert_int_equal(v.err.offset, 16);
        io_sim_free(f.sim);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_flip_every_byte_is_torn_tail_or_refused_with_offset),
                cmocka_unit_test(test_truncate_newest_segment_every_offset),
                cmocka_unit_test(test_truncate_older_segment_every_offset_is_refused),
                cmocka_unit_test(test_missing_segment_is_refused_naming_next),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
