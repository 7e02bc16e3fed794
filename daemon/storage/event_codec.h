/* daemon/storage/event_codec.h: struct raft_event <-> (type, payload bytes).
 *
 * Owns: the mapping between the core's events (daemon/raft/raft.h) and the
 * events.proto messages stored in segment records, through the protobuf-c
 * generated code. Configurations travel as raft_config_encode() bytes.
 *
 * Must never: write files or know about segments; the record type byte is
 * ev->type (the values equal rafktor.events.EventType).
 *
 * Links against raft_config_encode/raft_config_decode (daemon/raft).
 */
#ifndef RAFKTOR_STORAGE_EVENT_CODEC_H
#define RAFKTOR_STORAGE_EVENT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/raft/raft.h"

/* Encodes the payload of `ev` into a malloc'd buffer (*ret_buf may be NULL
 * when *ret_len is 0). -EINVAL for an unknown type, -ENOMEM. */
int event_encode(const struct raft_event *ev, uint8_t **ret_buf, size_t *ret_len);

/* Decodes a record's payload into *ret (owning its entries/config: free with
 * raft_event_clear()). -EBADMSG if the payload is not a valid message of that
 * type or a field is out of range (unknown entry type, candidate too long). */
int event_decode(uint64_t seq, uint8_t type, const uint8_t *buf, size_t len,
                 struct raft_event *ret);

#endif
