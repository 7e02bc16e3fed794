/* daemon/storage/segment.c: encode and parse the segment byte format.
 *
 * Owns: the header and record layout (docs/storage-format.md), the record
 * checksum (zlib crc32) and the classification of damage in a segment image.
 *
 * Must never: do I/O, allocate, or repair anything.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "daemon/storage/segment.h"

void storage_put_u32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

void storage_put_u64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t storage_get_u32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
}

uint64_t storage_get_u64(const uint8_t *p)
{
        return (uint64_t)storage_get_u32(p) | (uint64_t)storage_get_u32(p + 4) << 32;
}

/* Header: magic[8] version u32 reserved u32 first_seq u64 node_id[64]
 * reserved u32 crc u32 (crc32 of bytes 0..91). */
#define HDR_VERSION 8
#define HDR_RESERVED1 12
#define HDR_FIRST_SEQ 16
#define HDR_NODE_ID 24
#define HDR_RESERVED2 88
#define HDR_CRC 92

void segment_header_encode(uint64_t first_seq, const char *node_id, uint8_t *out)
{
        size_t idlen = strnlen(node_id, SEGMENT_NODE_ID_SIZE - 1);

        memset(out, 0, SEGMENT_HEADER_SIZE);
        memcpy(out, SEGMENT_MAGIC, 8);
        storage_put_u32(out + HDR_VERSION, SEGMENT_VERSION);
        storage_put_u64(out + HDR_FIRST_SEQ, first_seq);
        memcpy(out + HDR_NODE_ID, node_id, idlen);
        storage_put_u32(out + HDR_CRC, (uint32_t)crc32(0L, out, HDR_CRC));
}

int segment_header_parse(const uint8_t *buf, size_t len, struct segment_header *ret,
                         const char **why)
{
        if (len < SEGMENT_HEADER_SIZE) {
                *why = "file shorter than a segment header";
                return -EBADMSG;
        }
        if (memcmp(buf, SEGMENT_MAGIC, 8) != 0) {
                *why = "bad magic (not a rafktor segment)";
                return -EBADMSG;
        }
        if (storage_get_u32(buf + HDR_CRC) != (uint32_t)crc32(0L, buf, HDR_CRC)) {
                *why = "segment header checksum mismatch";
                return -EBADMSG;
        }
        if (storage_get_u32(buf + HDR_VERSION) != SEGMENT_VERSION) {
                *why = "unsupported segment format version";
                return -EBADMSG;
        }
        if (storage_get_u32(buf + HDR_RESERVED1) != 0 ||
            storage_get_u32(buf + HDR_RESERVED2) != 0) {
                *why = "reserved header bytes are not zero";
                return -EBADMSG;
        }
        if (memchr(buf + HDR_NODE_ID, 0, SEGMENT_NODE_ID_SIZE) == NULL) {
                *why = "node id in the header is not terminated";
                return -EBADMSG;
        }
        ret->version = SEGMENT_VERSION;
        ret->first_seq = storage_get_u64(buf + HDR_FIRST_SEQ);
        memcpy(ret->node_id, buf + HDR_NODE_ID, SEGMENT_NODE_ID_SIZE);
        if (ret->first_seq == 0) {
                *why = "first sequence number is 0";
                return -EBADMSG;
        }
        return 0;
}

size_t segment_record_size(size_t payload_len)
{
        size_t n = SEGMENT_RECORD_HEADER + payload_len;

        return (n + SEGMENT_ALIGN - 1) & ~(size_t)(SEGMENT_ALIGN - 1);
}

static uint32_t record_crc(const uint8_t *rec, size_t size)
{
        uLong c = crc32(0L, rec, 4);

        return (uint32_t)crc32(c, rec + 8, (uInt)(size - 8));
}

void segment_record_encode(uint8_t *out, uint8_t type, const uint8_t *payload, size_t len)
{
        size_t size = segment_record_size(len);

        storage_put_u32(out, (uint32_t)len);
        memset(out + 8, 0, 4);
        out[8] = type;
        if (len)
                memcpy(out + SEGMENT_RECORD_HEADER, payload, len);
        memset(out + SEGMENT_RECORD_HEADER + len, 0, size - SEGMENT_RECORD_HEADER - len);
        storage_put_u32(out + 4, record_crc(out, size));
}

enum segment_rec_status segment_record_parse(const uint8_t *buf, size_t len, uint64_t off,
                                             struct segment_record *ret, const char **why)
{
        const uint8_t *rec = buf + off;
        uint32_t plen;
        size_t size;

        if (off > len || len - off < SEGMENT_RECORD_HEADER) {
                *why = "record header cut short by the end of the file";
                return SEGMENT_REC_SHORT;
        }
        plen = storage_get_u32(rec);
        if (plen > SEGMENT_MAX_PAYLOAD) {
                *why = "record length field larger than the maximum record";
                return SEGMENT_REC_BAD;
        }
        /* Cheap field checks before the checksum: the search for a valid
         * record after damage (segment_scan) tries every aligned offset and
         * must not checksum megabytes at each. */
        if (rec[8] < SEGMENT_TYPE_MIN || rec[8] > SEGMENT_TYPE_MAX) {
                *why = "record type is not a known event type";
                return SEGMENT_REC_BAD;
        }
        if (rec[9] || rec[10] || rec[11]) {
                *why = "record reserved bytes are not zero";
                return SEGMENT_REC_BAD;
        }
        size = segment_record_size(plen);
        if (len - off < size) {
                *why = "record cut short by the end of the file";
                return SEGMENT_REC_SHORT;
        }
        if (storage_get_u32(rec + 4) != record_crc(rec, size)) {
                *why = "record checksum mismatch";
                return SEGMENT_REC_BAD;
        }
        ret->off = off;
        ret->type = rec[8];
        ret->payload = rec + SEGMENT_RECORD_HEADER;
        ret->len = plen;
        ret->size = size;
        return SEGMENT_REC_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

/* Is there any valid record at an aligned offset after `off`? */
static bool valid_record_after(const uint8_t *buf, size_t len, uint64_t off)
{
        struct segment_record rec;
        const char *why;

        for (uint64_t y = off + SEGMENT_ALIGN; y + SEGMENT_RECORD_HEADER <= len;
             y += SEGMENT_ALIGN)
                if (segment_record_parse(buf, len, y, &rec, &why) == SEGMENT_REC_OK)
                        return true;
        return false;
}

int segment_scan(const uint8_t *buf, size_t len, segment_record_fn fn, void *ud,
                 struct segment_scan *ret)
{
        struct segment_record rec;
        uint64_t off;
        const char *why = NULL;

        memset(ret, 0, sizeof(*ret));
        if (segment_header_parse(buf, len, &ret->header, &why) < 0) {
                ret->damage = SEGMENT_BAD_HEADER;
                ret->damage_off = 0;
                ret->why = why;
                return 0;
        }
        off = SEGMENT_HEADER_SIZE;
        while (off < len) {
                enum segment_rec_status st = segment_record_parse(buf, len, off, &rec, &why);

                if (st == SEGMENT_REC_OK) {
                        if (fn) {
                                int r = fn(ud, &rec);
                                if (r)
                                        return r;
                        }
                        ret->n_records++;
                        off += rec.size;
                        continue;
                }
                ret->damage_off = off;
                ret->why = why;
                if (all_zero(buf + off, len - off)) {
                        ret->damage = SEGMENT_TAIL_ZERO;
                        ret->why = "zero bytes after the last record";
                } else if (valid_record_after(buf, len, off)) {
                        ret->damage = SEGMENT_CORRUPT;
                } else {
                        ret->damage = SEGMENT_TAIL_TORN;
                }
                break;
        }
        ret->valid_end = off;
        return 0;
}

void segment_name(uint64_t first_seq, char *out)
{
        snprintf(out, SEGMENT_NAME_LEN + 1, "%016" PRIx64 ".seg", first_seq);
}

bool segment_name_parse(const char *name, uint64_t *ret_seq)
{
        uint64_t v = 0;

        if (strlen(name) != SEGMENT_NAME_LEN || strcmp(name + 16, ".seg") != 0)
                return false;
        for (int i = 0; i < 16; i++) {
                char c = name[i];
                int d;
                if (c >= '0' && c <= '9')
                        d = c - '0';
                else if (c >= 'a' && c <= 'f')
                        d = c - 'a' + 10;
                else
                        return false;
                v = v << 4 | (uint64_t)d;
        }
        *ret_seq = v;
        return true;
}
