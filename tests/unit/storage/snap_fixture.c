/* tests/unit/storage/snap_fixture.c: shared snapshot fixtures (see
 * snap_fixture.h).
 *
 * Must never: be linked outside the storage tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "tests/unit/storage/snap_fixture.h"

static uint8_t byte_at(uint64_t seed, size_t i)
{
        uint64_t z = seed * 0x9e3779b97f4a7c15ull + i;
        z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ull;
        return (uint8_t)(z >> 40);
}

void snap_expect_init(struct snap_expect *e, uint64_t seed, uint64_t seq, size_t config_len,
                      size_t tail_len, size_t data_len)
{
        assert_true(config_len <= sizeof(e->cfg) && tail_len <= sizeof(e->tail));
        memset(e, 0, sizeof(*e));
        for (size_t i = 0; i < sizeof(e->cfg); i++)
                e->cfg[i] = byte_at(seed + 1, i);
        for (size_t i = 0; i < sizeof(e->tail); i++)
                e->tail[i] = byte_at(seed + 2, i);
        e->data = malloc(data_len ? data_len : 1);
        assert_non_null(e->data);
        for (size_t i = 0; i < data_len; i++)
                e->data[i] = byte_at(seed, i);
        e->data_len = data_len;
        e->meta.seq = seq;
        e->meta.index = seq / 2 + 1;
        e->meta.term = 3 + seed % 5;
        e->meta.vote_term = e->meta.term + 2;
        snprintf(e->meta.voted_for, sizeof(e->meta.voted_for), "node-%llu",
                 (unsigned long long)seed);
        e->meta.config_len = config_len;
        e->meta.config = config_len ? e->cfg : NULL;
        e->meta.tail_len = tail_len;
        e->meta.tail = tail_len ? e->tail : NULL;
        e->meta.data_len = data_len;
        e->meta.data_crc = (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), e->data, data_len);
}

void snap_expect_free(struct snap_expect *e)
{
        free(e->data);
        e->data = NULL;
}

int snap_write(const struct storage_io *io, const char *dir, const char *node_id,
               const struct snap_expect *e, struct storage_error *err)
{
        static const size_t pieces[] = { 1, 700 * 1024, 2048 * 1024, 3, 1024 * 1024 };
        struct snapshot_writer *w;
        size_t off = 0;
        int r;

        r = snapshot_writer_begin(io, dir, node_id, &w, err);
        if (r < 0)
                return r;
        for (size_t i = 0; off < e->data_len; i = (i + 1) % 5) {
                size_t n = pieces[i] < e->data_len - off ? pieces[i] : e->data_len - off;
                r = snapshot_writer_append(w, e->data + off, n, err);
                if (r < 0)
                        goto fail;
                off += n;
        }
        if (snapshot_writer_data_len(w) != e->data_len ||
            snapshot_writer_data_crc(w) != e->meta.data_crc)
                fail_msg("writer counted %llu bytes crc %08x, expected %zu crc %08x",
                         (unsigned long long)snapshot_writer_data_len(w),
                         snapshot_writer_data_crc(w), e->data_len, e->meta.data_crc);
        r = snapshot_writer_finish(w, &e->meta, err);
        if (r < 0)
                goto fail;
        return snapshot_writer_publish(w, err);
fail:
        snapshot_writer_abort(w);
        return r;
}

void snap_assert_meta(const struct snapshot_meta *got, const struct snapshot_meta *want)
{
        assert_int_equal(got->seq, want->seq);
        assert_int_equal(got->index, want->index);
        assert_int_equal(got->term, want->term);
        assert_int_equal(got->vote_term, want->vote_term);
        assert_string_equal(got->voted_for, want->voted_for);
        assert_int_equal(got->config_len, want->config_len);
        if (want->config_len)
                assert_memory_equal(got->config, want->config, want->config_len);
        assert_int_equal(got->tail_len, want->tail_len);
        if (want->tail_len)
                assert_memory_equal(got->tail, want->tail, want->tail_len);
        else
                assert_null(got->tail);
        assert_int_equal(got->data_len, want->data_len);
        assert_int_equal(got->data_crc, want->data_crc);
}

void snap_check(const struct storage_io *io, const char *dir, const struct snap_expect *e,
                size_t chunk)
{
        struct snapshot_reader *r;
        struct snapshot_meta got;
        struct storage_error err;
        uint8_t *data, *buf;
        size_t len, off = 0;
        ssize_t n;

        if (snapshot_read(io, dir, e->meta.seq, &got, &data, &len, &err) != 0)
                fail_msg("snapshot_read: %s", err.msg);
        snap_assert_meta(&got, &e->meta);
        assert_int_equal(len, e->data_len);
        if (len)
                assert_memory_equal(data, e->data, len);
        snapshot_meta_clear(&got);
        free(data);

        if (snapshot_reader_open(io, dir, e->meta.seq, &r, &got, &err) != 0)
                fail_msg("snapshot_reader_open: %s", err.msg);
        snap_assert_meta(&got, &e->meta);
        snapshot_meta_clear(&got);
        buf = malloc(chunk);
        assert_non_null(buf);
        while ((n = snapshot_reader_read(r, buf, chunk, &err)) > 0) {
                assert_true(off + (size_t)n <= e->data_len);
                assert_memory_equal(buf, e->data + off, (size_t)n);
                off += (size_t)n;
        }
        if (n < 0)
                fail_msg("snapshot_reader_read: %s", err.msg);
        assert_int_equal(off, e->data_len);
        /* At the end it keeps returning 0. */
        assert_int_equal(snapshot_reader_read(r, buf, chunk, &err), 0);
        free(buf);
        snapshot_reader_close(r);
}
