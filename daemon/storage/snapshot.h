/* daemon/storage/snapshot.h: snapshot files.
 *
 * Owns: the snapshot file format (docs/storage-format.md), writing one
 * atomically (temp name, fsync, rename, directory fsync), reading and
 * listing them. The payload (KV state, sessions) is opaque bytes here.
 *
 * Must never: delete segments (evlog_compact() does, after a snapshot is
 * durable) or interpret the payload or the configuration bytes.
 */
#ifndef RAFKTOR_STORAGE_SNAPSHOT_H
#define RAFKTOR_STORAGE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/storage/error.h"
#include "daemon/storage/io.h"

#define SNAPSHOT_MAGIC "RFKTSNP1"
#define SNAPSHOT_VERSION 1u
#define SNAPSHOT_HEADER_SIZE 128u
#define SNAPSHOT_NAME_LEN 21u /* "%016llx.snap" */

struct snapshot_meta {
        uint64_t seq;        /* last event sequence number the snapshot covers */
        uint64_t index;      /* last log index it covers */
        uint64_t term;       /* term of that entry */
        size_t config_len;
        uint8_t *config;     /* raft_config_encode() bytes, opaque here */
};

/* A parsed snapshot image: pointers into the parsed buffer. */
struct snapshot_view {
        struct snapshot_meta meta;
        char node_id[64];
        const uint8_t *data;
        size_t data_len;
};

/* Parses a whole snapshot file image. 0, or -EBADMSG with *why and
 * *bad_off (the offset of the damaged part) set. */
int snapshot_parse(const uint8_t *buf, size_t len, struct snapshot_view *ret, const char **why,
                   uint64_t *bad_off);

/* Writes DIR/<seq>.snap atomically and durably. Blocks on I/O. */
int snapshot_write(const struct storage_io *io, const char *dir, const char *node_id,
                   const struct snapshot_meta *meta, const uint8_t *data, size_t len,
                   struct storage_error *err);

/* Reads and verifies DIR/<seq>.snap. meta->config and *ret_data are malloc'd
 * (free with snapshot_meta_clear() and free()). */
int snapshot_read(const struct storage_io *io, const char *dir, uint64_t seq,
                  struct snapshot_meta *ret_meta, uint8_t **ret_data, size_t *ret_len,
                  struct storage_error *err);

/* Sequence numbers of the snapshot files in DIR, ascending (malloc'd). */
int snapshot_list(const struct storage_io *io, const char *dir, uint64_t **ret_seqs,
                  size_t *ret_n, struct storage_error *err);

void snapshot_meta_clear(struct snapshot_meta *m);

void snapshot_name(uint64_t seq, char *out); /* room for SNAPSHOT_NAME_LEN + 1 */
bool snapshot_name_parse(const char *name, uint64_t *ret_seq);

#endif
