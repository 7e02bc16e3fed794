/* daemon/storage/recovery.h: read a data directory and judge it.
 *
 * Owns: the rules of what a data directory may look like after a crash:
 * every snapshot valid, segments contiguous in sequence numbers, the newest
 * snapshot covered by the log, and damage allowed only as a torn tail of the
 * newest segment. It replays the newest snapshot and every event after it.
 *
 * Must never: modify the directory (evlog_open() applies the repair this
 * scan proposes; `rafktord --verify-data` only reports it), skip a record,
 * or guess across damage.
 */
#ifndef RAFKTOR_STORAGE_RECOVERY_H
#define RAFKTOR_STORAGE_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/storage/error.h"
#include "daemon/storage/io.h"
#include "daemon/storage/snapshot.h"

struct recovery_callbacks {
        /* The newest snapshot, before any event. May be NULL. */
        int (*snapshot)(void *ud, const struct snapshot_meta *meta, const uint8_t *data,
                        size_t len);
        /* Every event after the newest snapshot, in order (all events in the
         * segments if `all_events`). Non-zero return stops the scan with it. */
        int (*event)(void *ud, uint64_t seq, uint8_t type, const uint8_t *payload, size_t len);
        void *ud;
        bool all_events;
};

struct recovery_segment {
        char name[32];
        uint64_t first_seq;
        uint64_t n_events;
        uint64_t size;      /* file size as found */
        uint64_t valid_end; /* end of the last valid record */
};

struct recovery_result {
        bool has_snapshot;
        struct snapshot_meta snapshot; /* config and tail not kept (NULL), lengths are */
        size_t n_snapshots;
        uint64_t *snapshot_seqs;       /* every snapshot file, ascending */

        size_t n_segments;
        struct recovery_segment *segments; /* ascending first_seq */
        uint64_t n_events;                 /* records in all segments */
        uint64_t first_seq, last_seq;      /* of the records (0, 0 if none) */
        uint64_t next_seq;                 /* the sequence number to append next */

        bool torn;                         /* newest segment has a torn tail */
        char torn_file[4096];
        uint64_t torn_off;                 /* truncate the file to this size */
        uint64_t torn_bytes;               /* bytes that would be cut */
        char warning[5120];                /* "" if none */

        size_t n_temps;
        char **temps;                      /* leftover "*.tmp" names to remove */
};

/* Scans `dir`. node_id, if not NULL, must match every file's header.
 * Returns 0 (the directory is usable, maybe after the repair in *ret) or a
 * negative code with *err naming the file and offset. *ret must be freed
 * with recovery_result_free() either way. */
int recovery_scan(const struct storage_io *io, const char *dir, const char *node_id,
                  const struct recovery_callbacks *cb, struct recovery_result *ret,
                  struct storage_error *err);
void recovery_result_free(struct recovery_result *r);

#endif
