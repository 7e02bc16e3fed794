/* daemon/storage/segment.h: the byte format of a segment file.
 *
 * Owns: encoding and parsing of segment headers and records and the scan of
 * a whole segment image that classifies damage (docs/storage-format.md is
 * the byte-by-byte description; keep both in step).
 *
 * Must never: do I/O, allocate, or decide what to do about damage: it only
 * reports where the first bad byte range starts and whether anything valid
 * follows it (recovery.c decides).
 */
#ifndef RAFKTOR_STORAGE_SEGMENT_H
#define RAFKTOR_STORAGE_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEGMENT_MAGIC "RFKTSEG1"   /* 8 bytes, no NUL */
#define SEGMENT_VERSION 1u
#define SEGMENT_HEADER_SIZE 96u
#define SEGMENT_NODE_ID_SIZE 64u   /* node id, NUL padded, at least one NUL */
#define SEGMENT_RECORD_HEADER 12u  /* length u32, crc u32, type u8, 3 zero bytes */
#define SEGMENT_ALIGN 8u
#define SEGMENT_MAX_PAYLOAD (64u * 1024u * 1024u)
#define SEGMENT_TYPE_MIN 1u        /* EventType values accepted in a record */
#define SEGMENT_TYPE_MAX 5u
#define SEGMENT_NAME_LEN 20u       /* "%016llx.seg" */

struct segment_header {
        uint32_t version;
        uint64_t first_seq;
        char node_id[SEGMENT_NODE_ID_SIZE];
};

/* Writes SEGMENT_HEADER_SIZE bytes. node_id longer than 63 bytes is cut. */
void segment_header_encode(uint64_t first_seq, const char *node_id, uint8_t *out);
/* 0, or -EBADMSG with *why set to a static sentence. */
int segment_header_parse(const uint8_t *buf, size_t len, struct segment_header *ret,
                         const char **why);

/* Bytes a record with `payload_len` bytes of payload takes on disk. */
size_t segment_record_size(size_t payload_len);
/* Writes segment_record_size(len) bytes to `out`. */
void segment_record_encode(uint8_t *out, uint8_t type, const uint8_t *payload, size_t len);

enum segment_rec_status {
        SEGMENT_REC_OK = 0,
        SEGMENT_REC_SHORT = 1, /* fewer bytes left than the record needs */
        SEGMENT_REC_BAD = 2,   /* checksum, type or length field invalid */
};

struct segment_record {
        uint64_t off;           /* offset of the record in the file */
        uint8_t type;
        const uint8_t *payload; /* points into the scanned buffer */
        size_t len;
        size_t size;            /* on-disk size including header and padding */
};

enum segment_rec_status segment_record_parse(const uint8_t *buf, size_t len, uint64_t off,
                                             struct segment_record *ret, const char **why);

enum segment_damage {
        SEGMENT_INTACT = 0,     /* header and every record valid up to the end */
        SEGMENT_TAIL_ZERO = 1,  /* records valid, then only zero bytes to the end */
        SEGMENT_TAIL_TORN = 2,  /* the last record is short or fails its checksum */
        SEGMENT_CORRUPT = 3,    /* a bad record with a valid one after it */
        SEGMENT_BAD_HEADER = 4, /* the header itself is short or invalid */
};

struct segment_scan {
        struct segment_header header;
        enum segment_damage damage;
        uint64_t n_records;
        uint64_t valid_end;     /* end of the last valid record (or of the header) */
        uint64_t damage_off;    /* where the damage starts (if any) */
        const char *why;        /* static sentence for the damage (if any) */
};

/* Called for each valid record in order; a non-zero return stops the scan and
 * is returned by segment_scan(). */
typedef int (*segment_record_fn)(void *ud, const struct segment_record *rec);

/* Scans a whole segment image. Returns 0 (result in *ret, damage included)
 * or the callback's non-zero value. */
int segment_scan(const uint8_t *buf, size_t len, segment_record_fn fn, void *ud,
                 struct segment_scan *ret);

/* "%016llx.seg" of the first sequence number; `out` has room for
 * SEGMENT_NAME_LEN + 1 bytes. */
void segment_name(uint64_t first_seq, char *out);
/* True if `name` is exactly a segment name; its first seq in *ret_seq. */
bool segment_name_parse(const char *name, uint64_t *ret_seq);

/* Little-endian helpers shared with snapshot.c. */
void storage_put_u32(uint8_t *p, uint32_t v);
void storage_put_u64(uint8_t *p, uint64_t v);
uint32_t storage_get_u32(const uint8_t *p);
uint64_t storage_get_u64(const uint8_t *p);

#endif
