/* tests/sim/disk.h: one node's simulated stable storage.
 *
 * Owns: the events a node asked to persist, which prefix of them is
 * durable, and group commit: one flush makes durable every event written
 * before it started; events written meanwhile wait for the next flush.
 * Compaction drops a durable prefix (covered by a snapshot file).
 * A crash keeps the durable prefix (and, if the caller asks, a further
 * prefix of the written events, as a page cache might), never anything
 * after a lost event.
 * Must never: call the core; the caller reports durability (raft_persisted).
 */
#ifndef RAFKTOR_SIM_DISK_H
#define RAFKTOR_SIM_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/raft/raft.h"
#include "tests/sim/prng.h"

struct disk {
        size_t n, cap;
        struct raft_event *events; /* written, in sequence order (deep copies) */
        size_t durable;            /* events[0 .. durable) are durable */
        size_t flush_upto;         /* a flush in flight covers events[0 .. flush_upto) */
        bool flushing;
        bool broken; /* writes and syncs fail until the node restarts (repaired) */
        raft_seq_t last_seq; /* last sequence number written, even into a broken disk */
        raft_seq_t base_seq; /* events up to this were compacted away (a snapshot) */
        uint64_t lat_min_ms, lat_max_ms; /* fsync latency */
};

void disk_init(struct disk *d, uint64_t lat_min_ms, uint64_t lat_max_ms);
void disk_free(struct disk *d);
/* Write one event (copied). Returns 0 or -ENOMEM / -EINVAL (sequence gap).
 * A broken disk loses the event (the write "succeeds" into nowhere). */
int disk_write(struct disk *d, const struct raft_event *ev);
/* If nothing is flushing and something is not durable, start a flush:
 * true and *ret_delay set to its latency. */
bool disk_start_flush(struct disk *d, struct prng *rng, uint64_t *ret_delay);
/* The flush in flight completed: returns the highest durable seq (0: none). */
raft_seq_t disk_flush_done(struct disk *d);
raft_seq_t disk_durable_seq(const struct disk *d);
/* Compaction after a snapshot file of the state after event `seq` was
 * published: durable events with seq <= `seq` go. Returns how many. */
size_t disk_compact(struct disk *d, raft_seq_t seq);
/* Power cut (and repair of a broken disk): keep the durable events plus,
 * with probability keep_pm per mille, a random prefix of the others.
 * Returns how many events survived. */
size_t disk_crash(struct disk *d, struct prng *rng, unsigned keep_pm);

#endif
