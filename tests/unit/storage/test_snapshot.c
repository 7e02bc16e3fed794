/* tests/unit/storage/test_snapshot.c: snapshot format 2, writer and reader.
 *
 * Owns: tests that every field survives a write and a read (empty tail and
 * 0-byte data included) through every read path, that a flipped data byte
 * is caught by the reader before it hands out the last byte (file and
 * offset named), that a flipped configuration byte is caught at open, that
 * a version 1 file is refused with a sentence, that writer misuse is
 * refused, and that recovery refuses a snapshot beyond the log's end,
 * naming the file.
 *
 * Must never: use the real file system (the simulated disk is used).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "daemon/storage/segment.h"
#include "tests/unit/storage/helpers.h"
#include "tests/unit/storage/snap_fixture.h"

static struct io_sim *new_dir(void)
{
        struct io_sim *sim = io_sim_new();
        const struct storage_io *io = io_sim_io(sim);

        assert_int_equal(io->mkdir(io->ctx, TEST_DIR), 0);
        return sim;
}

static void snap_path(uint64_t seq, char *out, size_t cap)
{
        char name[SNAPSHOT_NAME_LEN + 1];

        snapshot_name(seq, name);
        snprintf(out, cap, "%s/%s", TEST_DIR, name);
}

static void test_round_trip_keeps_every_field_incl_empty_tail_and_zero_data(void **state)
{
        static const size_t shapes[][3] = {
                /* config, tail, data */
                { 0, 0, 0 }, { 0, 0, 5 }, { 3, 0, 0 }, { 40, 300, 0 }, { 0, 300, 17 },
                { 40, 0, 1024 * 1024 + 5 }, { 40, 300, 3 * 1024 * 1024 + 17 },
        };
        static const size_t chunks[] = { 7, 65536, 1024 * 1024 };

        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
                struct io_sim *sim = new_dir();
                const struct storage_io *io = io_sim_io(sim);
                struct snap_expect e;
                struct storage_error err;
                struct snapshot_view v;
                const char *why = NULL;
                char path[64];
                uint8_t *img;
                size_t len;
                uint64_t bad_off;

                snap_expect_init(&e, i + 1, 100 + i, shapes[i][0], shapes[i][1], shapes[i][2]);
                if (i == 0)
                        e.meta.voted_for[0] = 0; /* no vote */
                if (i == 1)
                        memset(e.meta.voted_for, 'v', SNAPSHOT_ID_SIZE - 1); /* longest id */
                if (snap_write(io, TEST_DIR, TEST_NODE, &e, &err) != 0)
                        fail_msg("shape %zu: %s", i, err.msg);
                for (size_t k = 0; k < 3; k++)
                        if (chunks[k] < 1000 || e.data_len > 1000)
                                snap_check(io, TEST_DIR, &e, chunks[k]);
                /* The whole-image parser agrees, and the file size is exact. */
                snap_path(e.meta.seq, path, sizeof(path));
                assert_int_equal(io_sim_get(sim, path, &img, &len), 0);
                assert_int_equal(len, SNAPSHOT_HEADER_SIZE + e.data_len + e.meta.config_len +
                                              e.meta.tail_len);
                assert_int_equal(snapshot_parse(img, len, &v, &why, &bad_off), 0);
                snap_assert_meta(&v.meta, &e.meta);
                assert_string_equal(v.node_id, TEST_NODE);
                assert_int_equal(v.data_len, e.data_len);
                if (e.data_len)
                        assert_memory_equal(v.data, e.data, e.data_len);
                free(img);
                snap_expect_free(&e);
                io_sim_free(sim);
        }
}

static void test_reader_detects_flipped_data_byte_with_file_and_offset(void **state)
{
        const size_t data_len = 300000, chunk = 65536;
        const size_t flips[] = { 0, 1, 150000, 299999 };
        struct io_sim *sim = new_dir();
        const struct storage_io *io = io_sim_io(sim);
        struct snap_expect e;
        struct storage_error err;
        char path[64];
        uint8_t *img, *buf = malloc(chunk);
        size_t len;

        assert_non_null(buf);
        snap_expect_init(&e, 7, 50, 12, 100, data_len);
        assert_int_equal(snap_write(io, TEST_DIR, TEST_NODE, &e, &err), 0);
        snap_path(50, path, sizeof(path));
        assert_int_equal(io_sim_get(sim, path, &img, &len), 0);
        for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
                struct snapshot_reader *r;
                struct snapshot_meta m;
                size_t got = 0;
                ssize_t n;

                img[SNAPSHOT_HEADER_SIZE + flips[i]] ^= 0x10;
                assert_int_equal(io_sim_set(sim, path, img, len), 0);
                img[SNAPSHOT_HEADER_SIZE + flips[i]] ^= 0x10;
                /* Open checks header and configuration/tail only: it succeeds. */
                assert_int_equal(snapshot_reader_open(io, TEST_DIR, 50, &r, &m, &err), 0);
                snapshot_meta_clear(&m);
                while ((n = snapshot_reader_read(r, buf, chunk, &err)) > 0)
                        got += (size_t)n;
                assert_int_equal(n, -EBADMSG);
                /* The last piece was withheld: a sender never ships it. */
                assert_true(got < data_len);
                assert_int_equal(got, data_len - data_len % chunk);
                assert_string_equal(err.file, path);
                assert_int_equal(err.offset, SNAPSHOT_HEADER_SIZE);
                assert_non_null(strstr(err.msg, path));
                assert_non_null(strstr(err.msg, "data checksum mismatch"));
                /* Sticky. */
                assert_int_equal(snapshot_reader_read(r, buf, chunk, &err), -EBADMSG);
                snapshot_reader_close(r);
                /* The whole-file paths refuse it too. */
                assert_int_equal(snapshot_read(io, TEST_DIR, 50, &m, &img, &len, &err) == 0,
                                 false);
                assert_int_equal(err.offset, SNAPSHOT_HEADER_SIZE);
        }
        /* A flipped configuration byte is caught at open, after the data. */
        img[SNAPSHOT_HEADER_SIZE + data_len + 3] ^= 1;
        assert_int_equal(io_sim_set(sim, path, img, len), 0);
        {
                struct snapshot_reader *r;
                assert_int_equal(snapshot_reader_open(io, TEST_DIR, 50, &r, NULL, &err),
                                 -EBADMSG);
                assert_string_equal(err.file, path);
                assert_int_equal(err.offset, SNAPSHOT_HEADER_SIZE + data_len);
        }
        free(img);
        free(buf);
        snap_expect_free(&e);
        io_sim_free(sim);
}

/* The version 1 layout (128-byte header), built by hand. */
static size_t v1_image(uint8_t *out)
{
        const uint8_t conf[3] = { 1, 2, 3 }, data[5] = { 9, 8, 7, 6, 5 };
        uLong body;

        memset(out, 0, 136);
        memcpy(out, SNAPSHOT_MAGIC, 8);
        storage_put_u32(out + 8, 1);
        storage_put_u64(out + 16, 20);
        storage_put_u64(out + 24, 10);
        storage_put_u64(out + 32, 2);
        storage_put_u64(out + 40, sizeof(conf));
        storage_put_u64(out + 48, sizeof(data));
        memcpy(out + 56, TEST_NODE, strlen(TEST_NODE));
        memcpy(out + 128, conf, sizeof(conf));
        memcpy(out + 131, data, sizeof(data));
        body = crc32(crc32(0L, Z_NULL, 0), conf, sizeof(conf));
        body = crc32(body, data, sizeof(data));
        storage_put_u32(out + 120, (uint32_t)body);
        storage_put_u32(out + 124, (uint32_t)crc32(0L, out, 124));
        return 136;
}

static void test_version_1_file_is_refused_with_a_sentence(void **state)
{
        struct io_sim *sim;
        struct storage_error err;
        struct snapshot_reader *r;
        struct snapshot_view v;
        struct collected c;
        struct evlog *log;
        const char *why = NULL;
        uint64_t bad_off;
        uint8_t img[136];
        char path[64];
        size_t len = v1_image(img);

        assert_int_equal(snapshot_parse(img, len, &v, &why, &bad_off), -EBADMSG);
        assert_non_null(strstr(why, "version 1 is not supported"));
        assert_int_equal(bad_off, 8);

        /* In a data directory: the reader and start-up refuse it by name. */
        sim = io_sim_new();
        assert_int_equal(test_open(sim, 4096, &c, &log, &err), 0);
        assert_int_equal(test_append_range(log, 1, 25, 0), 0);
        assert_int_equal(evlog_close(log), 0);
        snap_path(20, path, sizeof(path));
        {
                const struct storage_io *io = io_sim_io(sim);
                int fd = io->open(io->ctx, path, STORAGE_O_WRITE | STORAGE_O_CREATE);
                assert_true(fd >= 0);
                assert_int_equal(io->pwrite(io->ctx, fd, img, len, 0), (ssize_t)len);
                assert_int_equal(io->close(io->ctx, fd), 0);
        }
        assert_int_equal(snapshot_reader_open(io_sim_io(sim), TEST_DIR, 20, &r, NULL, &err),
                         -EBADMSG);
        assert_string_equal(err.file, path);
        assert_non_null(strstr(err.msg, "version 1 is not supported"));
        assert_int_equal(test_open(sim, 4096, &c, &log, &err), -EBADMSG);
        assert_string_equal(err.file, path);
        assert_int_equal(err.offset, 8);
        assert_non_null(strstr(err.msg, "format 2 only"));
        io_sim_free(sim);
}

static void test_writer_misuse_is_refused_and_leaves_no_file(void **state)
{
        struct io_sim *sim = new_dir();
        const struct storage_io *io = io_sim_io(sim);
        struct snapshot_meta m = { .seq = 0 };
        struct snapshot_writer *w;
        struct storage_error err;
        uint8_t d[4] = { 1, 2, 3, 4 };
        char **names;
        size_t n;

        assert_int_equal(snapshot_writer_begin(io, TEST_DIR, TEST_NODE, &w, &err), 0);
        assert_true(snapshot_tmp_name_parse(strrchr(snapshot_writer_path(w), '/') + 1));
        assert_int_equal(snapshot_writer_append(w, d, sizeof(d), &err), 0);
        /* seq 0 is refused, the writer stays usable. */
        assert_int_equal(snapshot_writer_finish(w, &m, &err), -EINVAL);
        m.seq = 9;
        assert_int_equal(snapshot_writer_finish(w, &m, &err), 0);
        /* After finish: no more data, no second finish. */
        assert_int_equal(snapshot_writer_append(w, d, sizeof(d), &err), -EINVAL);
        assert_int_equal(snapshot_writer_finish(w, &m, &err), -EINVAL);
        snapshot_writer_abort(w);
        /* Publishing an unfinished writer fails and removes its temp file. */
        assert_int_equal(snapshot_writer_begin(io, TEST_DIR, TEST_NODE, &w, &err), 0);
        assert_int_equal(snapshot_writer_publish(w, &err), -EINVAL);
        assert_int_equal(io->list_dir(io->ctx, TEST_DIR, &names, &n), 0);
        assert_int_equal(n, 0);
        storage_names_free(names, n);
        /* A node id that does not fit the header is refused at begin. */
        assert_int_equal(snapshot_writer_begin(io, TEST_DIR,
                                               "0123456789012345678901234567890123456789"
                                               "012345678901234567890123", &w, &err),
                         -EINVAL);
        io_sim_free(sim);
}

static void test_snapshot_beyond_log_end_is_refused_naming_the_file(void **state)
{
        struct io_sim *sim = io_sim_new();
        struct storage_error err;
        struct snap_expect e;
        struct collected c;
        struct evlog *log;
        char path[64];

        assert_int_equal(test_open(sim, 4096, &c, &log, &err), 0);
        assert_int_equal(test_append_range(log, 1, 10, 0), 0);
        assert_int_equal(evlog_flush(log, 10), 0);
        assert_int_equal(evlog_close(log), 0);
        /* Only damage can produce this: the rule is publish after flush. */
        snap_expect_init(&e, 3, 50, 4, 10, 100);
        assert_int_equal(snap_write(io_sim_io(sim), TEST_DIR, TEST_NODE, &e, &err), 0);
        assert_int_equal(test_open(sim, 4096, &c, &log, &err), -EBADMSG);
        snap_path(50, path, sizeof(path));
        assert_string_equal(err.file, path);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, "log ends at 10"));
        snap_expect_free(&e);
        io_sim_free(sim);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip_keeps_every_field_incl_empty_tail_and_zero_data),
                cmocka_unit_test(test_reader_detects_flipped_data_byte_with_file_and_offset),
                cmocka_unit_test(test_version_1_file_is_refused_with_a_sentence),
                cmocka_unit_test(test_writer_misuse_is_refused_and_leaves_no_file),
                cmocka_unit_test(test_snapshot_beyond_log_end_is_refused_naming_the_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
