/* daemon/storage/snapshot.c: the snapshot file format (version 2).
 *
 * Owns: the header layout and its checksums, parsing a whole file image,
 * snapshot and temp file names, and listing the snapshots of a directory.
 *
 * Must never: write files (snapshot_writer.c does), accept a version 1 file,
 * or return a snapshot whose checksums do not match.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "daemon/storage/segment.h"
#include "daemon/storage/snapshot.h"

/* Header, format 2 (docs/storage-format.md): magic[8] version u32
 * reserved u32 seq u64 index u64 term u64 vote_term u64 data_len u64
 * config_len u64 tail_len u64 node_id[64] voted_for[64] data_crc u32
 * meta_crc u32 body_crc u32 reserved[40] header_crc u32. */
#define SH_VERSION 8
#define SH_RESERVED 12
#define SH_SEQ 16
#define SH_INDEX 24
#define SH_TERM 32
#define SH_VOTE_TERM 40
#define SH_DATA_LEN 48
#define SH_CONFIG_LEN 56
#define SH_TAIL_LEN 64
#define SH_NODE_ID 72
#define SH_VOTED_FOR 136
#define SH_DATA_CRC 200
#define SH_META_CRC 204
#define SH_BODY_CRC 208
#define SH_RESERVED2 212
#define SH_RESERVED2_LEN 40
#define SH_HEADER_CRC 252
#define SH_V1_HEADER_CRC 124 /* version 1: CRC of bytes 0..123 */

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

bool snapshot_tmp_name_parse(const char *name)
{
        size_t p = strlen(SNAPSHOT_TMP_PREFIX);

        if (strlen(name) != SNAPSHOT_TMP_NAME_LEN || strncmp(name, SNAPSHOT_TMP_PREFIX, p) != 0 ||
            strcmp(name + p + 16, ".tmp") != 0)
                return false;
        for (size_t i = p; i < p + 16; i++)
                if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
                        return false;
        return true;
}

static bool id_terminated(const uint8_t *p)
{
        return memchr(p, 0, SNAPSHOT_ID_SIZE) != NULL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

void snapshot_header_encode(const struct snapshot_header *h, uint8_t *out)
{
        memset(out, 0, SNAPSHOT_HEADER_SIZE);
        memcpy(out, SNAPSHOT_MAGIC, 8);
        storage_put_u32(out + SH_VERSION, SNAPSHOT_VERSION);
        storage_put_u64(out + SH_SEQ, h->seq);
        storage_put_u64(out + SH_INDEX, h->index);
        storage_put_u64(out + SH_TERM, h->term);
        storage_put_u64(out + SH_VOTE_TERM, h->vote_term);
        storage_put_u64(out + SH_DATA_LEN, h->data_len);
        storage_put_u64(out + SH_CONFIG_LEN, h->config_len);
        storage_put_u64(out + SH_TAIL_LEN, h->tail_len);
        memcpy(out + SH_NODE_ID, h->node_id, strnlen(h->node_id, SNAPSHOT_ID_SIZE - 1));
        memcpy(out + SH_VOTED_FOR, h->voted_for, strnlen(h->voted_for, SNAPSHOT_ID_SIZE - 1));
        storage_put_u32(out + SH_DATA_CRC, h->data_crc);
        storage_put_u32(out + SH_META_CRC, h->meta_crc);
        storage_put_u32(out + SH_BODY_CRC, h->body_crc);
        storage_put_u32(out + SH_HEADER_CRC, (uint32_t)crc32(0L, out, SH_HEADER_CRC));
}

static int bad(const char **why, uint64_t *bad_off, const char *sentence, uint64_t off)
{
        *why = sentence;
        *bad_off = off;
        return -EBADMSG;
}

int snapshot_header_parse(const uint8_t *buf, size_t len, uint64_t file_size,
                          struct snapshot_header *ret, const char **why, uint64_t *bad_off)
{
        uint64_t rest;

        *bad_off = 0;
        if (len < 12 || file_size < 12)
                return bad(why, bad_off, "file shorter than a snapshot header", 0);
        if (memcmp(buf, SNAPSHOT_MAGIC, 8) != 0)
                return bad(why, bad_off, "bad magic (not a rafktor snapshot)", 0);
        /* A genuine version 1 file (its own header checksum matches) gets a
         * sentence of its own; no such file exists in the field. */
        if (storage_get_u32(buf + SH_VERSION) == 1 && len >= SNAPSHOT_V1_HEADER_SIZE &&
            storage_get_u32(buf + SH_V1_HEADER_CRC) ==
                    (uint32_t)crc32(0L, buf, SH_V1_HEADER_CRC))
                return bad(why, bad_off,
                           "snapshot format version 1 is not supported: this rafktord reads "
                           "format 2 only (snapshot files written before issue 7 cannot be "
                           "restored; move the file away and let the node catch up from "
                           "the leader)", 8);
        if (len < SNAPSHOT_HEADER_SIZE || file_size < SNAPSHOT_HEADER_SIZE)
                return bad(why, bad_off, "file shorter than a snapshot header", 0);
        if (storage_get_u32(buf + SH_HEADER_CRC) != (uint32_t)crc32(0L, buf, SH_HEADER_CRC))
                return bad(why, bad_off, "snapshot header checksum mismatch", 0);
        ret->version = storage_get_u32(buf + SH_VERSION);
        if (ret->version != SNAPSHOT_VERSION)
                return bad(why, bad_off, "unsupported snapshot format version (not 2)", 8);
        if (storage_get_u32(buf + SH_RESERVED) != 0 ||
            !all_zero(buf + SH_RESERVED2, SH_RESERVED2_LEN))
                return bad(why, bad_off, "reserved bytes of the snapshot header are not 0",
                           SH_RESERVED);
        if (!id_terminated(buf + SH_NODE_ID))
                return bad(why, bad_off, "node id in the snapshot header is not terminated",
                           SH_NODE_ID);
        if (!id_terminated(buf + SH_VOTED_FOR))
                return bad(why, bad_off, "voted_for in the snapshot header is not terminated",
                           SH_VOTED_FOR);
        ret->seq = storage_get_u64(buf + SH_SEQ);
        ret->index = storage_get_u64(buf + SH_INDEX);
        ret->term = storage_get_u64(buf + SH_TERM);
        ret->vote_term = storage_get_u64(buf + SH_VOTE_TERM);
        ret->data_len = storage_get_u64(buf + SH_DATA_LEN);
        ret->config_len = storage_get_u64(buf + SH_CONFIG_LEN);
        ret->tail_len = storage_get_u64(buf + SH_TAIL_LEN);
        memcpy(ret->node_id, buf + SH_NODE_ID, SNAPSHOT_ID_SIZE);
        memcpy(ret->voted_for, buf + SH_VOTED_FOR, SNAPSHOT_ID_SIZE);
        ret->data_crc = storage_get_u32(buf + SH_DATA_CRC);
        ret->meta_crc = storage_get_u32(buf + SH_META_CRC);
        ret->body_crc = storage_get_u32(buf + SH_BODY_CRC);
        if (ret->seq == 0)
                return bad(why, bad_off, "snapshot covers sequence number 0", SH_SEQ);
        /* Each length against what is left, so the sum cannot overflow. */
        rest = file_size - SNAPSHOT_HEADER_SIZE;
        if (ret->data_len > rest || ret->config_len > rest - ret->data_len ||
            ret->tail_len != rest - ret->data_len - ret->config_len)
                return bad(why, bad_off,
                           "snapshot file size does not match the lengths in its header",
                           SNAPSHOT_HEADER_SIZE);
        return 0;
}

int snapshot_parse(const uint8_t *buf, size_t len, struct snapshot_view *ret, const char **why,
                   uint64_t *bad_off)
{
        struct snapshot_header h;
        const uint8_t *data, *config, *tail;
        uLong c;
        int r;

        r = snapshot_header_parse(buf, len, len, &h, why, bad_off);
        if (r < 0)
                return r;
        data = buf + SNAPSHOT_HEADER_SIZE;
        config = data + h.data_len;
        tail = config + h.config_len;
        c = crc32_z(crc32(0L, Z_NULL, 0), data, (size_t)h.data_len);
        if ((uint32_t)c != h.data_crc)
                return bad(why, bad_off, "snapshot data checksum mismatch",
                           SNAPSHOT_HEADER_SIZE);
        c = crc32_z(c, config, (size_t)h.config_len);
        c = crc32_z(c, tail, (size_t)h.tail_len);
        if ((uint32_t)c != h.body_crc)
                return bad(why, bad_off, "snapshot body checksum mismatch",
                           SNAPSHOT_HEADER_SIZE + h.data_len);
        c = crc32_z(crc32(0L, Z_NULL, 0), config, (size_t)h.config_len);
        c = crc32_z(c, tail, (size_t)h.tail_len);
        if ((uint32_t)c != h.meta_crc)
                return bad(why, bad_off, "snapshot configuration/tail checksum mismatch",
                           SNAPSHOT_HEADER_SIZE + h.data_len);
        memset(ret, 0, sizeof(*ret));
        ret->meta.seq = h.seq;
        ret->meta.index = h.index;
        ret->meta.term = h.term;
        ret->meta.vote_term = h.vote_term;
        memcpy(ret->meta.voted_for, h.voted_for, SNAPSHOT_ID_SIZE);
        ret->meta.config_len = (size_t)h.config_len;
        ret->meta.config = h.config_len ? (uint8_t *)config : NULL;
        ret->meta.tail_len = (size_t)h.tail_len;
        ret->meta.tail = h.tail_len ? (uint8_t *)tail : NULL;
        ret->meta.data_len = h.data_len;
        ret->meta.data_crc = h.data_crc;
        memcpy(ret->node_id, h.node_id, SNAPSHOT_ID_SIZE);
        ret->data = data;
        ret->data_len = (size_t)h.data_len;
        return 0;
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
        free(m->tail);
        m->config = NULL;
        m->tail = NULL;
        m->config_len = 0;
        m->tail_len = 0;
}
