/* daemon/kv/kv.h: the replicated key-value state machine.
 *
 * Owns: the keys and values, their versions, and the client session table
 * (exactly-once replies, thesis 6.3).
 *
 * Must never: do I/O, read a clock, or depend on anything but the entries
 * applied to it. The same entries in the same order give byte-identical
 * state (kv_hash) on every replica; iteration order is key order, never
 * hash order. Time for session expiry is the entry's leader_time_ms.
 */
#ifndef RAFKTOR_KV_H
#define RAFKTOR_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/raft/raft.h"

struct kv;

struct kv_options {
        uint64_t session_ttl_ms; /* a session idle this long (leader time) expires; default 1 h */
        size_t max_sessions;     /* beyond it the least recently used expires; default 100000 */
};
void kv_options_default(struct kv_options *o);

int kv_new(const struct kv_options *o, struct kv **ret);
void kv_free(struct kv *kv);

/* Apply one committed entry (every type: NOOP and CONFIG only advance the
 * applied index). For a COMMAND, *ret_reply gets a malloc'd encoded
 * rafktor.v1.CommandResult (the cached one for a retried request), else
 * NULL. An undecodable command is not an error of the state machine: it is
 * answered with a CommandResult carrying error_code INVALID_ARGUMENT, so
 * every replica does the same. Returns 0, or a negative errno (ENOMEM). */
int kv_apply(struct kv *kv, const struct raft_entry *e, uint8_t **ret_reply, size_t *ret_len);

struct kv_item {
        const uint8_t *key;
        size_t key_len;
        const uint8_t *value;
        size_t value_len;
        uint64_t version;
        uint64_t create_index;
        uint64_t mod_index;
};

/* Point read: true and *ret filled (pointers valid until the next apply). */
bool kv_get(const struct kv *kv, const uint8_t *key, size_t key_len, struct kv_item *ret);
/* Keys with `prefix`, in key order, at most `limit` (0 = all). The callback
 * returns false to stop. Returns true when `limit` cut the result short. */
bool kv_range(const struct kv *kv, const uint8_t *prefix, size_t prefix_len, size_t limit,
              bool (*cb)(const struct kv_item *item, void *ctx), void *ctx);

uint64_t kv_applied_index(const struct kv *kv);
size_t kv_count(const struct kv *kv);
size_t kv_session_count(const struct kv *kv);
/* A hash of the whole state (keys, values, versions, sessions, applied
 * index): equal on replicas that applied the same log. */
uint32_t kv_hash(const struct kv *kv);

#endif
