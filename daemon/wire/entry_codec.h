/* daemon/wire/entry_codec.h: struct raft_entry <-> raftgrpc.LogEntry.
 *
 * Owns: the one mapping between the core's log entries and the protobuf
 * LogEntry used on the wire (AppendEntries) and on disk (EntriesAppended).
 *
 * Must never: copy entry data on the way out (the protobuf view borrows the
 * entries' bytes), or accept an entry the core cannot represent.
 */
#ifndef RAFKTOR_WIRE_ENTRY_CODEC_H
#define RAFKTOR_WIRE_ENTRY_CODEC_H

#include <stddef.h>

#include "daemon/raft/raft.h"
#include "raft.pb-c.h"

/* A protobuf view of n entries, borrowing their data: free with
 * entry_pb_view_free() after packing; the entries must outlive it. */
struct entry_pb_view {
        size_t n;
        Raftgrpc__LogEntry *storage;
        Raftgrpc__LogEntry **ptrs; /* what a repeated LogEntry field points to */
};
int entry_pb_view_init(struct entry_pb_view *v, const struct raft_entry *es, size_t n);
void entry_pb_view_free(struct entry_pb_view *v);

/* Copies one decoded LogEntry into *ret (data malloc'd). -EBADMSG with a
 * sentence in err for an entry type the core does not know. */
int entry_from_pb(const Raftgrpc__LogEntry *pb, struct raft_entry *ret, char *err,
                  size_t err_len);
/* Copies n decoded entries into a malloc'd array; on error nothing is kept. */
int entries_from_pb(Raftgrpc__LogEntry *const *pbs, size_t n, struct raft_entry **ret,
                    char *err, size_t err_len);
void entries_free(struct raft_entry *es, size_t n);

#endif
