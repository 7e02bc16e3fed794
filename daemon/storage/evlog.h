/* daemon/storage/evlog.h: the durable event log of one node.
 *
 * Owns: a data directory (locked against other processes), recovery of it at
 * open (replay of the newest snapshot and every event after it, repair of a
 * torn tail), appending encoded events with group commit on a storage
 * thread, snapshots and the deletion of what they cover.
 *
 * Must never: block the caller of evlog_append() on I/O, report an event
 * durable before the fdatasync that covers it returned success, retry a
 * failed sync on the same dirty pages, or accept an append after a fatal
 * failure (anything but -ENOSPC).
 *
 * A full disk (-ENOSPC from a write, a sync or a segment creation) is not
 * fatal: evlog_error() says -ENOSPC, appends are still taken (in memory),
 * nothing new becomes durable, and the storage thread retries (after
 * truncating the segment back to its last durable record, it re-writes the
 * failed batch from memory) by itself with back-off, or at once after
 * evlog_resume(). The first success clears the error and reports durable as
 * usual. Any other failure stays sticky (a disk that lost data).
 *
 * Threads: evlog_append(), evlog_durable(), evlog_error() and evlog_flush()
 * may be called from any thread. The on_durable and on_error callbacks run
 * on the storage thread: keep them short (wake the daemon's loop) and do not
 * call evlog_close() from them. evlog_snapshot() blocks on I/O.
 */
#ifndef RAFKTOR_STORAGE_EVLOG_H
#define RAFKTOR_STORAGE_EVLOG_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/storage/error.h"
#include "daemon/storage/io.h"
#include "daemon/storage/recovery.h"
#include "daemon/storage/snapshot.h"

enum evlog_level {
        EVLOG_ERR = 3,
        EVLOG_WARNING = 4,
        EVLOG_NOTICE = 5,
        EVLOG_INFO = 6,
};

#define EVLOG_DEFAULT_SEGMENT_SIZE (64u * 1024u * 1024u)

struct evlog_options {
        const char *dir;          /* created if missing (parent must exist) */
        const char *node_id;      /* must match the directory's files */
        const struct storage_io *io; /* NULL: storage_io_posix() */
        uint64_t segment_size;    /* rotate once a segment reaches this; 0: default */
        void *userdata;           /* passed to every callback below */
        /* Messages for the daemon's log (torn tail repaired, stray temp file
         * removed, segments deleted). Any thread. May be NULL. */
        void (*log)(void *userdata, enum evlog_level level, const char *msg);
        /* Storage thread: every event up to `durable` is on disk. May be NULL. */
        void (*on_durable)(void *userdata, uint64_t durable);
        /* Storage thread: a write or sync failed. code is -ENOSPC (disk full:
         * retried, called once per episode; the end of it shows as on_durable
         * with evlog_error() back to 0) or another -errno (fatal: the log
         * accepts no more appends). */
        void (*on_error)(void *userdata, int code, const char *msg);
        /* Disk full: the first automatic retry after enospc_retry_min_ms
         * (0: 100), doubling up to enospc_retry_max_ms (0: 1000). Negative
         * min: no automatic retry, only evlog_resume() (deterministic tests). */
        int enospc_retry_min_ms;
        int enospc_retry_max_ms;
};

struct evlog;

/* Locks and recovers `opts->dir`, calling `replay` (may be NULL) for the
 * newest snapshot and each later event, then starts the storage thread.
 * Returns 0, or a negative code with *err naming the file and byte offset. */
int evlog_open(const struct evlog_options *opts, const struct recovery_callbacks *replay,
               struct evlog **ret, struct storage_error *err);

/* Writes everything appended, waits for it to be durable, stops the thread,
 * unlocks the directory. Returns the sticky error, if any. */
int evlog_close(struct evlog *log);

/* Copies one encoded event (type = EventType, payload = its message) to the
 * pending batch and returns without I/O. `seq` must be evlog_next_seq():
 * -EINVAL otherwise. After a fatal failure: its code (-EIO, ...). While the
 * disk is full the event is taken (0) and written once space is free. */
int evlog_append(struct evlog *log, uint64_t seq, uint8_t type, const uint8_t *payload,
                 size_t len);

uint64_t evlog_next_seq(struct evlog *log);
uint64_t evlog_durable(struct evlog *log); /* highest durable seq (0: none) */
/* The error code (0 if none; -ENOSPC: full, retrying; else sticky); its
 * message copied to msg if not NULL. */
int evlog_error(struct evlog *log, char *msg, size_t msg_len);
/* Disk full: ask the storage thread to retry now (non-blocking; a flush
 * started after this call waits for that retry's outcome). 0, or
 * -EALREADY when the log is not in the disk-full state. Any thread. */
int evlog_resume(struct evlog *log);
/* The torn-tail warning of evlog_open(), "" if there was none. */
const char *evlog_open_warning(const struct evlog *log);

/* Blocks until every event up to `seq` is durable (0) or the log failed
 * (its code; with a full disk: -ENOSPC once the latest retry failed). */
int evlog_flush(struct evlog *log, uint64_t seq);

/* Writes a snapshot covering events up to meta->seq (waits for them to be
 * durable first), then deletes what it covers (evlog_compact). Blocks. */
int evlog_snapshot(struct evlog *log, const struct snapshot_meta *meta, const uint8_t *data,
                   size_t len, struct storage_error *err);

/* Deletes segments whose every event is <= snap_seq (never the segment being
 * written) and snapshots older than snap_seq; oldest first, then fsyncs the
 * directory, so a crash in between leaves a recoverable directory. */
int evlog_compact(struct evlog *log, uint64_t snap_seq, struct storage_error *err);

/* The newest snapshot file's seq (0: none) and size in bytes (ret_bytes may
 * be NULL), for the node to find the file to send and to measure it. Lists
 * the directory: any thread, blocks on that I/O. 0 or -errno. */
int evlog_newest_snapshot(struct evlog *log, uint64_t *ret_seq, uint64_t *ret_bytes);
/* Bytes of the segment files holding events after the newest snapshot
 * (every segment without one; a segment straddling the snapshot counts
 * whole). Lists the directory and opens each such segment read-only: any
 * thread, blocks on that I/O. Files that cannot be opened count 0. */
uint64_t evlog_log_bytes(struct evlog *log);

#endif
