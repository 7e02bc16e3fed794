/* daemon/storage/snapshot.h: snapshot files (format version 2).
 *
 * Owns: the snapshot file format (docs/storage-format.md), the streaming
 * writer (temp file, data appended in pieces, header + configuration + log
 * tail written at finish, fsync, rename, directory fsync), the streaming
 * reader of the data part, whole-file parsing, reading and listing. The
 * payload (KV state, sessions), the configuration and the tail are opaque
 * bytes here.
 *
 * Must never: delete segments (evlog_compact() does, after a snapshot is
 * published), interpret the payload, the configuration or the tail, or take
 * a lock: the writer and the reader only make plain storage_io calls, so
 * they work from any thread and from a fork()ed child.
 */
#ifndef RAFKTOR_STORAGE_SNAPSHOT_H
#define RAFKTOR_STORAGE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/storage/error.h"
#include "daemon/storage/io.h"

#define SNAPSHOT_MAGIC "RFKTSNP1"   /* 8 bytes, no NUL; same magic for every version */
#define SNAPSHOT_VERSION 2u
#define SNAPSHOT_HEADER_SIZE 256u   /* the data part starts here */
#define SNAPSHOT_V1_HEADER_SIZE 128u /* only to recognise (and refuse) version 1 files */
#define SNAPSHOT_ID_SIZE 64u        /* node_id and voted_for: NUL padded, at least one NUL */
#define SNAPSHOT_NAME_LEN 21u       /* "%016llx.snap" */
#define SNAPSHOT_TMP_PREFIX "snapshot-" /* writer temp files: "snapshot-%016llx.tmp" */
#define SNAPSHOT_TMP_NAME_LEN 29u

struct snapshot_meta {
        uint64_t seq;        /* last event sequence number the snapshot covers */
        uint64_t index;      /* last log index it covers */
        uint64_t term;       /* term of that entry */
        size_t config_len;
        uint8_t *config;     /* raft_config_encode() bytes, opaque here */
        uint64_t vote_term;  /* the node's current term as of event `seq` */
        char voted_for[SNAPSHOT_ID_SIZE]; /* its vote in vote_term, "" if none */
        size_t tail_len;
        uint8_t *tail;       /* EntriesAppended payload of the entries > index, or NULL/0 */
        uint64_t data_len;   /* filled by the reader and by parsing; ignored by the writer */
        uint32_t data_crc;   /* CRC-32 of the data alone; same */
};

/* A parsed snapshot header (the fixed SNAPSHOT_HEADER_SIZE bytes). */
struct snapshot_header {
        uint32_t version;
        uint64_t seq, index, term, vote_term;
        uint64_t data_len, config_len, tail_len;
        char node_id[SNAPSHOT_ID_SIZE];
        char voted_for[SNAPSHOT_ID_SIZE];
        uint32_t data_crc;   /* CRC-32 of the data */
        uint32_t meta_crc;   /* CRC-32 of the configuration then the tail */
        uint32_t body_crc;   /* CRC-32 of every byte after the header */
};

/* Parses the first `len` bytes of a file of `file_size` bytes as a header:
 * magic, version (a version 1 file gets its own sentence), header checksum,
 * reserved bytes, terminated ids, lengths adding up to the file size, seq >
 * 0. 0, or -EBADMSG with *why (static sentence) and *bad_off set. */
int snapshot_header_parse(const uint8_t *buf, size_t len, uint64_t file_size,
                          struct snapshot_header *ret, const char **why, uint64_t *bad_off);
/* Writes SNAPSHOT_HEADER_SIZE bytes; ids longer than 63 bytes are cut. */
void snapshot_header_encode(const struct snapshot_header *h, uint8_t *out);

/* A parsed snapshot image: pointers into the parsed buffer. */
struct snapshot_view {
        struct snapshot_meta meta; /* config and tail point into the buffer */
        char node_id[SNAPSHOT_ID_SIZE];
        const uint8_t *data;
        size_t data_len;
};

/* Parses and verifies a whole snapshot file image (every checksum). 0, or
 * -EBADMSG with *why and *bad_off (the offset of the damaged part) set. */
int snapshot_parse(const uint8_t *buf, size_t len, struct snapshot_view *ret, const char **why,
                   uint64_t *bad_off);

/* ---- streaming writer ----------------------------------------------------------------- */

/* One writer is used by one thread at a time. With fork() (the BGSAVE way):
 * the parent calls begin, forks; the child appends, finishes and _exit()s
 * with finish's verdict (it never publishes or aborts: the file is the
 * parent's); the parent waits for it, then calls snapshot_writer_adopt()
 * and publish, or abort if the child failed. */
struct snapshot_writer;

/* Creates a uniquely named temp file DIR/snapshot-XXXXXXXXXXXXXXXX.tmp
 * (never visible as a snapshot; removed at evlog_open()). Several writers
 * may run at once in one directory. */
int snapshot_writer_begin(const struct storage_io *io, const char *dir, const char *node_id,
                          struct snapshot_writer **ret, struct storage_error *err);
/* Appends data bytes (buffered; written in 1 MiB pieces), keeping the data
 * CRC. After a failure every later call returns the same code. */
int snapshot_writer_append(struct snapshot_writer *w, const uint8_t *data, size_t len,
                           struct storage_error *err);
/* Writes the configuration, the tail and the header (seq, index, term,
 * vote_term, voted_for, config, tail from `meta`; data_len and data_crc are
 * the writer's own, meta's are ignored), fsyncs the temp file. Not yet
 * visible. meta->seq must be > 0. On failure call snapshot_writer_abort(). */
int snapshot_writer_finish(struct snapshot_writer *w, const struct snapshot_meta *meta,
                           struct storage_error *err);
/* Renames the finished temp file to DIR/<seq>.snap and fsyncs the
 * directory; frees w in every case. The caller publishes only once every
 * event <= seq is durable (evlog_flush(seq)), and compacts only after a 0
 * return. If the rename fails the temp file is removed; if the directory
 * fsync fails the complete file may or may not keep its name. */
int snapshot_writer_publish(struct snapshot_writer *w, struct storage_error *err);
/* In the parent of a fork()ed child that finished w's file (see above):
 * reads the temp file's header back, checks it is complete (header
 * checksum, lengths against the file size, this node's id) and takes seq,
 * data_len and data_crc from it, so publish can follow. -EBADMSG naming the
 * temp file if the child did not finish it. */
int snapshot_writer_adopt(struct snapshot_writer *w, struct storage_error *err);
/* Removes the temp file and frees w (NULL: nothing). Any time before publish. */
void snapshot_writer_abort(struct snapshot_writer *w);
uint32_t snapshot_writer_data_crc(const struct snapshot_writer *w);
uint64_t snapshot_writer_data_len(const struct snapshot_writer *w);
/* The temp file's full path (for messages). */
const char *snapshot_writer_path(const struct snapshot_writer *w);

/* ---- streaming reader ----------------------------------------------------------------- */

struct snapshot_reader;

/* Opens DIR/<seq>.snap, verifies the header, the name, and the checksum of
 * the configuration + tail, fills *ret_meta (config and tail malloc'd: free
 * with snapshot_meta_clear(); data_len and data_crc set). ret_meta may be
 * NULL. The data is verified while it is read. */
int snapshot_reader_open(const struct storage_io *io, const char *dir, uint64_t seq,
                         struct snapshot_reader **ret, struct snapshot_meta *ret_meta,
                         struct storage_error *err);
/* Reads the next data bytes (up to cap; 0 at the end). The call that reads
 * the last byte checks the data CRC and the body CRC first and returns
 * -EBADMSG (file and offset of the data part) instead of the bytes if they
 * do not match. After an error every later call returns it again. */
ssize_t snapshot_reader_read(struct snapshot_reader *r, uint8_t *buf, size_t cap,
                             struct storage_error *err);
void snapshot_reader_close(struct snapshot_reader *r); /* NULL: nothing */

/* ---- whole files ---------------------------------------------------------------------- */

/* Writes DIR/<seq>.snap atomically and durably (writer begin, append,
 * finish, publish). Blocks on I/O. */
int snapshot_write(const struct storage_io *io, const char *dir, const char *node_id,
                   const struct snapshot_meta *meta, const uint8_t *data, size_t len,
                   struct storage_error *err);

/* Reads and verifies DIR/<seq>.snap. meta->config, meta->tail and *ret_data
 * are malloc'd (free with snapshot_meta_clear() and free()). */
int snapshot_read(const struct storage_io *io, const char *dir, uint64_t seq,
                  struct snapshot_meta *ret_meta, uint8_t **ret_data, size_t *ret_len,
                  struct storage_error *err);

/* Sequence numbers of the snapshot files in DIR, ascending (malloc'd). */
int snapshot_list(const struct storage_io *io, const char *dir, uint64_t **ret_seqs,
                  size_t *ret_n, struct storage_error *err);

/* Frees config and tail and zeroes their lengths. */
void snapshot_meta_clear(struct snapshot_meta *m);

void snapshot_name(uint64_t seq, char *out); /* room for SNAPSHOT_NAME_LEN + 1 */
bool snapshot_name_parse(const char *name, uint64_t *ret_seq);
/* True if `name` is a writer temp file name ("snapshot-<16 hex>.tmp"). */
bool snapshot_tmp_name_parse(const char *name);

#endif
