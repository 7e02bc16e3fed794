/* daemon/storage/snapshot_reader.c: the streaming snapshot reader.
 *
 * Owns: opening DIR/<seq>.snap with its header, name and configuration/tail
 * verified, handing out the data part in sequential pieces while its CRC is
 * computed, and refusing the last piece if the data or body CRC does not
 * match. snapshot_read() reads a whole file this way.
 *
 * Must never: hand out the final data bytes of a file whose checksums do not
 * match, take a lock or touch evlog state (it runs in fork()ed children and
 * on any thread), or write to the file.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "daemon/storage/snapshot.h"

struct snapshot_reader {
        const struct storage_io *io;
        char path[4200];
        int fd;
        struct snapshot_header h;
        uint8_t *meta;          /* configuration then tail (for the body CRC) */
        uint64_t pos;           /* data bytes handed out */
        uLong crc;              /* CRC of the data handed out */
        bool verified;          /* the checksums were checked at the end */
        int error;              /* sticky */
        struct storage_error error_info;
};

static void reader_free(struct snapshot_reader *r)
{
        if (r->fd >= 0)
                r->io->close(r->io->ctx, r->fd);
        free(r->meta);
        free(r);
}

int snapshot_reader_open(const struct storage_io *io, const char *dir, uint64_t seq,
                         struct snapshot_reader **ret, struct snapshot_meta *ret_meta,
                         struct storage_error *err)
{
        char name[SNAPSHOT_NAME_LEN + 1];
        uint8_t hdr[SNAPSHOT_HEADER_SIZE];
        struct snapshot_reader *r;
        uint64_t size, bad_off, meta_len;
        const char *why = NULL;
        ssize_t n;
        int q;

        storage_error_clear(err);
        r = calloc(1, sizeof(*r));
        if (!r)
                return storage_error_set(err, -ENOMEM, dir, STORAGE_NO_OFFSET, "out of memory");
        r->io = io;
        snapshot_name(seq, name);
        snprintf(r->path, sizeof(r->path), "%s/%s", dir, name);
        r->fd = io->open(io->ctx, r->path, STORAGE_O_READ);
        if (r->fd < 0) {
                q = storage_error_set(err, r->fd, r->path, STORAGE_NO_OFFSET,
                                      "cannot open snapshot: %s", strerror(-r->fd));
                goto fail;
        }
        q = io->size(io->ctx, r->fd, &size);
        if (q < 0) {
                storage_error_set(err, q, r->path, STORAGE_NO_OFFSET,
                                  "cannot get the size of the snapshot: %s", strerror(-q));
                goto fail;
        }
        n = io->pread(io->ctx, r->fd, hdr, sizeof(hdr), 0);
        if (n < 0) {
                q = storage_error_set(err, (int)n, r->path, 0, "cannot read snapshot header: %s",
                                      strerror((int)-n));
                goto fail;
        }
        q = snapshot_header_parse(hdr, (size_t)n, size, &r->h, &why, &bad_off);
        if (q < 0) {
                storage_error_set(err, q, r->path, bad_off, "damaged snapshot: %s", why);
                goto fail;
        }
        if (r->h.seq != seq) {
                q = storage_error_set(err, -EBADMSG, r->path, 16,
                                      "snapshot header says sequence %" PRIu64
                                      " but its name says %" PRIu64, r->h.seq, seq);
                goto fail;
        }
        meta_len = r->h.config_len + r->h.tail_len;
        r->meta = malloc(meta_len ? (size_t)meta_len : 1);
        if (!r->meta) {
                q = storage_error_set(err, -ENOMEM, r->path, STORAGE_NO_OFFSET,
                                      "out of memory for %" PRIu64 " bytes of configuration "
                                      "and tail", meta_len);
                goto fail;
        }
        q = storage_read_full(io, r->fd, r->meta, (size_t)meta_len,
                              SNAPSHOT_HEADER_SIZE + r->h.data_len);
        if (q < 0) {
                storage_error_set(err, q, r->path, SNAPSHOT_HEADER_SIZE + r->h.data_len,
                                  "cannot read snapshot configuration and tail: %s",
                                  strerror(-q));
                goto fail;
        }
        if ((uint32_t)crc32_z(crc32(0L, Z_NULL, 0), r->meta, (size_t)meta_len) !=
            r->h.meta_crc) {
                q = storage_error_set(err, -EBADMSG, r->path,
                                      SNAPSHOT_HEADER_SIZE + r->h.data_len,
                                      "damaged snapshot: configuration/tail checksum mismatch "
                                      "(%" PRIu64 " bytes)", meta_len);
                goto fail;
        }
        if (ret_meta) {
                struct snapshot_meta m = {
                        .seq = r->h.seq, .index = r->h.index, .term = r->h.term,
                        .vote_term = r->h.vote_term, .data_len = r->h.data_len,
                        .data_crc = r->h.data_crc,
                        .config_len = (size_t)r->h.config_len,
                        .tail_len = (size_t)r->h.tail_len,
                };
                memcpy(m.voted_for, r->h.voted_for, sizeof(m.voted_for));
                if (m.config_len)
                        m.config = malloc(m.config_len);
                if (m.tail_len)
                        m.tail = malloc(m.tail_len);
                if ((m.config_len && !m.config) || (m.tail_len && !m.tail)) {
                        snapshot_meta_clear(&m);
                        q = storage_error_set(err, -ENOMEM, r->path, STORAGE_NO_OFFSET,
                                              "out of memory");
                        goto fail;
                }
                if (m.config_len)
                        memcpy(m.config, r->meta, m.config_len);
                if (m.tail_len)
                        memcpy(m.tail, r->meta + m.config_len, m.tail_len);
                *ret_meta = m;
        }
        r->crc = crc32(0L, Z_NULL, 0);
        *ret = r;
        return 0;
fail:
        reader_free(r);
        return q;
}

static ssize_t reader_fail(struct snapshot_reader *r, struct storage_error *err, int code,
                           uint64_t off, const char *fmt, uint64_t a, uint64_t b)
{
        r->error = storage_error_set(&r->error_info, code, r->path, off, fmt, a, b);
        if (err)
                *err = r->error_info;
        return r->error;
}

/* The whole data part has been read into the CRC: check it and the body. */
static ssize_t verify_end(struct snapshot_reader *r, struct storage_error *err)
{
        uLong body;

        if ((uint32_t)r->crc != r->h.data_crc)
                return reader_fail(r, err, -EBADMSG, SNAPSHOT_HEADER_SIZE,
                                   "damaged snapshot: data checksum mismatch over bytes "
                                   "%" PRIu64 "..%" PRIu64, SNAPSHOT_HEADER_SIZE,
                                   SNAPSHOT_HEADER_SIZE + r->h.data_len);
        body = crc32_z(r->crc, r->meta, (size_t)(r->h.config_len + r->h.tail_len));
        if ((uint32_t)body != r->h.body_crc)
                return reader_fail(r, err, -EBADMSG, SNAPSHOT_HEADER_SIZE,
                                   "damaged snapshot: body checksum mismatch over bytes "
                                   "%" PRIu64 "..%" PRIu64, SNAPSHOT_HEADER_SIZE,
                                   SNAPSHOT_HEADER_SIZE + r->h.data_len + r->h.config_len +
                                           r->h.tail_len);
        return 0;
}

ssize_t snapshot_reader_read(struct snapshot_reader *r, uint8_t *buf, size_t cap,
                             struct storage_error *err)
{
        uint64_t left = r->h.data_len - r->pos, off = SNAPSHOT_HEADER_SIZE + r->pos;
        size_t want;
        ssize_t n;

        if (r->error) {
                if (err)
                        *err = r->error_info;
                return r->error;
        }
        if (left == 0) {
                /* Normally checked by the read of the last byte; a file with
                 * no data is checked here. */
                if (!r->verified) {
                        ssize_t q = verify_end(r, err);
                        if (q < 0)
                                return q;
                        r->verified = true;
                }
                return 0;
        }
        if (cap == 0)
                return 0;
        want = left < cap ? (size_t)left : cap;
        if (want > SSIZE_MAX)
                want = SSIZE_MAX;
        n = r->io->pread(r->io->ctx, r->fd, buf, want, off);
        if (n < 0)
                return reader_fail(r, err, (int)n, off, "cannot read snapshot data (%" PRIu64
                                   " bytes left of %" PRIu64 ")", left, r->h.data_len);
        if ((size_t)n != want)
                return reader_fail(r, err, -EIO, off + (uint64_t)n,
                                   "snapshot file ends early: %" PRIu64 " data bytes missing "
                                   "of %" PRIu64, left - (uint64_t)n, r->h.data_len);
        r->crc = crc32_z(r->crc, buf, want);
        r->pos += want;
        if (r->pos == r->h.data_len) {
                ssize_t q = verify_end(r, err);
                if (q < 0)
                        return q;
                r->verified = true;
        }
        return n;
}

void snapshot_reader_close(struct snapshot_reader *r)
{
        if (r)
                reader_free(r);
}

int snapshot_read(const struct storage_io *io, const char *dir, uint64_t seq,
                  struct snapshot_meta *ret_meta, uint8_t **ret_data, size_t *ret_len,
                  struct storage_error *err)
{
        struct snapshot_reader *r;
        struct snapshot_meta m;
        uint8_t *data;
        size_t len, got = 0;
        int q;

        q = snapshot_reader_open(io, dir, seq, &r, &m, err);
        if (q < 0)
                return q;
        if (m.data_len > SIZE_MAX - 1) {
                q = storage_error_set(err, -EFBIG, r->path, STORAGE_NO_OFFSET,
                                      "snapshot data too large for memory");
                goto fail;
        }
        len = (size_t)m.data_len;
        data = malloc(len ? len : 1);
        if (!data) {
                q = storage_error_set(err, -ENOMEM, r->path, STORAGE_NO_OFFSET,
                                      "out of memory for %zu bytes of snapshot data", len);
                goto fail;
        }
        for (;;) {
                ssize_t n = snapshot_reader_read(r, data + got, len - got, err);
                if (n < 0) {
                        free(data);
                        q = (int)n;
                        goto fail;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        snapshot_reader_close(r);
        *ret_meta = m;
        *ret_data = data;
        *ret_len = len;
        return 0;
fail:
        snapshot_meta_clear(&m);
        snapshot_reader_close(r);
        return q;
}
