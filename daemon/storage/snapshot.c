/* daemon/storage/snapshot.c: write, read and list snapshot files.
 *
 * Owns: the snapshot header layout and its two checksums, and the atomic
 * write sequence (temp file, fsync, rename, directory fsync).
 *
 * Must never: leave a half-written file under a snapshot name, or return a
 * snapshot whose checksums do not match.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "daemon/storage/segment.h"
#include "daemon/storage/snapshot.h"

/* magic[8] version u32 reserved u32 seq u64 index u64 term u64 config_len u64
 * data_len u64 node_id[64] body_crc u32 header_crc u32 (bytes 0..123). */
#define SH_VERSION 8
#define SH_RESERVED 12
#define SH_SEQ 16
#define SH_INDEX 24
#define SH_TERM 32
#define SH_CONFIG_LEN 40
#define SH_DATA_LEN 48
#define SH_NODE_ID 56
#define SH_BODY_CRC 120
#define SH_HEADER_CRC 124

void snapshot_name(uint64_t seq, char *out)
{
        snprintf(out, SNAPSHOT_NAME_LEN + 1, "%016" PRIx64 ".snap", seq);
}

bool snapshot_name_parse(const char *name, uint64_t *ret_seq)
{
        char seg[SEGMENT_NAME_LEN + 1];

        /* Same hex rule as segments: reuse the segment name parser. */
        if (strlen(name) != SNAPSHOT_NAME_LEN || strcmp(name + 16, ".snap") != 0)
                return false;
        memcpy(seg, name, 16);
        memcpy(seg + 16, ".seg", 5);
        return segment_name_parse(seg, ret_seq);
}

static uint32_t body_crc(const uint8_t *config, size_t config_len, const uint8_t *data,
                         size_t len)
{
        uLong c = crc32(0L, Z_NULL, 0);

        if (config_len)
                c = crc32_z(c, config, config_len);
        if (len)
                c = crc32_z(c, data, len);
        return (uint32_t)c;
}

int snapshot_parse(const uint8_t *buf, size_t len, struct snapshot_view *ret, const char **why,
                   uint64_t *bad_off)
{
        uint64_t config_len, data_len;

        *bad_off = 0;
        if (len < SNAPSHOT_HEADER_SIZE) {
                *why = "file shorter than a snapshot header";
                return -EBADMSG;
        }
        if (memcmp(buf, SNAPSHOT_MAGIC, 8) != 0) {
                *why = "bad magic (not a rafktor snapshot)";
                return -EBADMSG;
        }
        if (storage_get_u32(buf + SH_HEADER_CRC) != (uint32_t)crc32(0L, buf, SH_HEADER_CRC)) {
                *why = "snapshot header checksum mismatch";
                return -EBADMSG;
        }
        if (storage_get_u32(buf + SH_VERSION) != SNAPSHOT_VERSION ||
            storage_get_u32(buf + SH_RESERVED) != 0) {
                *why = "unsupported snapshot format version";
                return -EBADMSG;
        }
        if (memchr(buf + SH_NODE_ID, 0, 64) == NULL) {
                *why = "node id in the snapshot header is not terminated";
                return -EBADMSG;
        }
        config_len = storage_get_u64(buf + SH_CONFIG_LEN);
        data_len = storage_get_u64(buf + SH_DATA_LEN);
        if (config_len > len - SNAPSHOT_HEADER_SIZE ||
            data_len != len - SNAPSHOT_HEADER_SIZE - config_len) {
                *why = "snapshot file size does not match the lengths in its header";
                *bad_off = len < SNAPSHOT_HEADER_SIZE ? 0 : SNAPSHOT_HEADER_SIZE;
                return -EBADMSG;
        }
        if (storage_get_u32(buf + SH_BODY_CRC) !=
            body_crc(buf + SNAPSHOT_HEADER_SIZE, (size_t)config_len,
                     buf + SNAPSHOT_HEADER_SIZE + config_len, (size_t)data_len)) {
                *why = "snapshot body checksum mismatch";
                *bad_off = SNAPSHOT_HEADER_SIZE;
                return -EBADMSG;
        }
        ret->meta.seq = storage_get_u64(buf + SH_SEQ);
        ret->meta.index = storage_get_u64(buf + SH_INDEX);
        ret->meta.term = storage_get_u64(buf + SH_TERM);
        ret->meta.config_len = (size_t)config_len;
        ret->meta.config = (uint8_t *)(buf + SNAPSHOT_HEADER_SIZE);
        memcpy(ret->node_id, buf + SH_NODE_ID, 64);
        ret->data = buf + SNAPSHOT_HEADER_SIZE + config_len;
        ret->data_len = (size_t)data_len;
        if (ret->meta.seq == 0) {
                *why = "snapshot covers sequence number 0";
                return -EBADMSG;
        }
        return 0;
}

static int write_at(const struct storage_io *io, int fd, const void *buf, size_t len,
                    uint64_t off)
{
        ssize_t n;

        if (len == 0)
                return 0;
        n = io->pwrite(io->ctx, fd, buf, len, off);
        if (n < 0)
                return (int)n;
        return (size_t)n == len ? 0 : -EIO;
}

int snapshot_write(const struct storage_io *io, const char *dir, const char *node_id,
                   const struct snapshot_meta *meta, const uint8_t *data, size_t len,
                   struct storage_error *err)
{
        char name[SNAPSHOT_NAME_LEN + 1], path[4096], tmp[4200];
        uint8_t hdr[SNAPSHOT_HEADER_SIZE];
        int fd, r;

        if (meta->seq == 0)
                return storage_error_set(err, -EINVAL, NULL, STORAGE_NO_OFFSET,
                                         "snapshot sequence number must be > 0");
        snapshot_name(meta->seq, name);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);

        memset(hdr, 0, sizeof(hdr));
        memcpy(hdr, SNAPSHOT_MAGIC, 8);
        storage_put_u32(hdr + SH_VERSION, SNAPSHOT_VERSION);
        storage_put_u64(hdr + SH_SEQ, meta->seq);
        storage_put_u64(hdr + SH_INDEX, meta->index);
        storage_put_u64(hdr + SH_TERM, meta->term);
        storage_put_u64(hdr + SH_CONFIG_LEN, meta->config_len);
        storage_put_u64(hdr + SH_DATA_LEN, len);
        memcpy(hdr + SH_NODE_ID, node_id, strnlen(node_id, 63));
        storage_put_u32(hdr + SH_BODY_CRC, body_crc(meta->config, meta->config_len, data, len));
        storage_put_u32(hdr + SH_HEADER_CRC, (uint32_t)crc32(0L, hdr, SH_HEADER_CRC));

        fd = io->open(io->ctx, tmp, STORAGE_O_WRITE | STORAGE_O_CREATE | STORAGE_O_TRUNC);
        if (fd < 0)
                return storage_error_set(err, fd, tmp, STORAGE_NO_OFFSET,
                                         "cannot create snapshot: %s", strerror(-fd));
        r = write_at(io, fd, hdr, sizeof(hdr), 0);
        if (r == 0)
                r = write_at(io, fd, meta->config, meta->config_len, SNAPSHOT_HEADER_SIZE);
        if (r == 0)
                r = write_at(io, fd, data, len, SNAPSHOT_HEADER_SIZE + meta->config_len);
        if (r < 0) {
                storage_error_set(err, r, tmp, STORAGE_NO_OFFSET, "cannot write snapshot: %s",
                                  strerror(-r));
                goto fail_close;
        }
        r = io->fsync(io->ctx, fd);
        if (r < 0) {
                storage_error_set(err, r, tmp, STORAGE_NO_OFFSET, "cannot fsync snapshot: %s",
                                  strerror(-r));
                goto fail_close;
        }
        io->close(io->ctx, fd);
        r = io->rename(io->ctx, tmp, path);
        if (r < 0) {
                storage_error_set(err, r, tmp, STORAGE_NO_OFFSET,
                                  "cannot rename snapshot to %s: %s", name, strerror(-r));
                goto fail_unlink;
        }
        r = io->fsync_dir(io->ctx, dir);
        if (r < 0)
                /* The rename may or may not be durable: the file is complete
                 * either way, so leave it; the caller must not compact. */
                return storage_error_set(err, r, dir, STORAGE_NO_OFFSET,
                                         "cannot fsync directory after snapshot %s: %s", name,
                                         strerror(-r));
        return 0;

fail_close:
        io->close(io->ctx, fd);
fail_unlink:
        io->unlink(io->ctx, tmp);
        return r;
}

int snapshot_read(const struct storage_io *io, const char *dir, uint64_t seq,
                  struct snapshot_meta *ret_meta, uint8_t **ret_data, size_t *ret_len,
                  struct storage_error *err)
{
        char name[SNAPSHOT_NAME_LEN + 1], path[4096];
        struct snapshot_view v;
        const char *why = NULL;
        uint64_t bad_off;
        uint8_t *buf = NULL, *config = NULL, *data = NULL;
        size_t len;
        int r;

        snapshot_name(seq, name);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        r = storage_read_file(io, path, &buf, &len);
        if (r < 0)
                return storage_error_set(err, r, path, STORAGE_NO_OFFSET,
                                         "cannot read snapshot: %s", strerror(-r));
        r = snapshot_parse(buf, len, &v, &why, &bad_off);
        if (r < 0) {
                storage_error_set(err, r, path, bad_off, "%s", why);
                goto out;
        }
        if (v.meta.seq != seq) {
                r = storage_error_set(err, -EBADMSG, path, 16,
                                      "header says sequence %" PRIu64 ", file name says %" PRIu64,
                                      v.meta.seq, seq);
                goto out;
        }
        config = malloc(v.meta.config_len ? v.meta.config_len : 1);
        data = malloc(v.data_len ? v.data_len : 1);
        if (!config || !data) {
                r = storage_error_set(err, -ENOMEM, path, STORAGE_NO_OFFSET, "out of memory");
                goto out;
        }
        memcpy(config, v.meta.config, v.meta.config_len);
        memcpy(data, v.data, v.data_len);
        *ret_meta = v.meta;
        ret_meta->config = config;
        *ret_data = data;
        *ret_len = v.data_len;
        config = data = NULL;
out:
        free(config);
        free(data);
        free(buf);
        return r;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

int snapshot_list(const struct storage_io *io, const char *dir, uint64_t **ret_seqs,
                  size_t *ret_n, struct storage_error *err)
{
        char **names;
        size_t n, k = 0;
        uint64_t *seqs;
        int r;

        r = io->list_dir(io->ctx, dir, &names, &n);
        if (r < 0)
                return storage_error_set(err, r, dir, STORAGE_NO_OFFSET,
                                         "cannot list directory: %s", strerror(-r));
        seqs = malloc((n ? n : 1) * sizeof(*seqs));
        if (!seqs) {
                storage_names_free(names, n);
                return storage_error_set(err, -ENOMEM, dir, STORAGE_NO_OFFSET, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
                if (snapshot_name_parse(names[i], &seqs[k]))
                        k++;
        storage_names_free(names, n);
        qsort(seqs, k, sizeof(*seqs), cmp_u64);
        *ret_seqs = seqs;
        *ret_n = k;
        return 0;
}

void snapshot_meta_clear(struct snapshot_meta *m)
{
        free(m->config);
        m->config = NULL;
        m->config_len = 0;
}
