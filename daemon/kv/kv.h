/* daemon/kv/kv.h: the replicated key-value state machine.
 *
 * Owns: the keys and values, their versions, and the client session table
 * (exactly-once replies, thesis 6.3).
 *
 * Must never: do I/O, read a clock, or depend on anything but the entries
 * applied to it. The same entries in the same order give byte-identical
 * state (kv_hash) on every replica; iteration order is key order, never
 * hash order. Time for session expiry is the entry's leader_time_ms.
 *
 * Build: daemon/kv/local.am defines KV_SOURCES, KV_CPPFLAGS and KV_LIBS.
 * Compiling KV_SOURCES with -DKV_SABOTAGE_NO_SESSIONS gives a deliberately
 * broken state machine that ignores sessions (retries are applied again),
 * for tests/sim to prove its exactly-once check bites. Never ship it.
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
        /* Addition: cached replies kept per session even when the client
         * never raises first_outstanding; beyond it the oldest is dropped
         * and the session's window moves past it. Default 1024. */
        size_t max_replies_per_session;
};
void kv_options_default(struct kv_options *o);

int kv_new(const struct kv_options *o, struct kv **ret);
void kv_free(struct kv *kv);

/* Client-visible refusals in CommandResult.error_code (gRPC status codes). */
enum kv_error_code {
        KV_ERR_INVALID_ARGUMENT = 3,   /* undecodable or invalid command */
        KV_ERR_FAILED_PRECONDITION = 9, /* request id below the session's window */
};

/* Apply one committed entry (every type: NOOP and CONFIG only advance the
 * applied index). For a COMMAND, *ret_reply gets a malloc'd encoded
 * rafktor.v1.CommandResult (the cached one for a retried request), else
 * NULL. ret_reply and ret_len both NULL: nobody waits for the reply (replay,
 * catch-up, a follower), so none is encoded unless the command's session
 * caches it; the state changes exactly as with them. An undecodable command is not an error of the state machine: it is
 * answered with a CommandResult carrying error_code INVALID_ARGUMENT, so
 * every replica does the same. Returns 0, or a negative errno (ENOMEM).
 *
 * Details (all deterministic, the same on every replica):
 * - Entries must come in index order: e->index <= kv_applied_index() is
 *   refused with -EINVAL and changes nothing (never applied twice). An
 *   unknown entry type is -EINVAL too.
 * - The state machine's clock is max(previous clock, e->leader_time_ms), so
 *   it never runs backwards when leadership moves. Every entry (NOOP and
 *   CONFIG included) advances it and first expires sessions idle for more
 *   than session_ttl_ms.
 * - The session of a command is Command.session, or, when that is absent,
 *   the session inside the operation. client_id 0 = no session. With a
 *   session: request_id must be > 0 and first_outstanding <= request_id
 *   (else INVALID_ARGUMENT). Replies below first_outstanding are dropped; a
 *   request id below the dropped window is refused with
 *   KV_ERR_FAILED_PRECONDITION and never applied; a retried request id gets
 *   the cached reply, byte for byte, and changes no key (it only marks the
 *   session as used).
 * - A failed compare-and-swap is a successful apply (succeeded = false).
 * - On -ENOMEM no key and no session entry was changed; retrying the same
 *   entry is safe. */
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
/* The state machine's clock: the largest leader_time_ms applied (or restored from a
 * snapshot). The shell hands it to raft_time_floor() after a restore. */
uint64_t kv_clock_ms(const struct kv *kv);
size_t kv_count(const struct kv *kv);
size_t kv_session_count(const struct kv *kv);
/* A hash of the whole state (keys, values, versions, sessions, applied
 * index): equal on replicas that applied the same log. */
uint32_t kv_hash(const struct kv *kv);

/* ---- snapshots ------------------------------------------------------------
 * A deterministic binary encoding of the whole state (the same state gives
 * the same bytes). All integers little-endian, fixed width:
 *
 *   magic "RKVS" | u32 format (1) | u64 applied_index | u64 clock_ms
 *   u64 key_count, then per key in strictly increasing key order:
 *     u32 key_len (>= 1) | u32 value_len | u64 version (>= 1)
 *     u64 create_index | u64 mod_index (create <= mod <= applied) | key | value
 *   u64 session_count, then per session in strictly increasing client_id (> 0):
 *     u64 client_id | u64 last_used_ms (<= clock) | u64 window_low
 *     u32 reply_count, then per reply in strictly increasing request_id
 *     (>= window_low, > 0): u64 request_id | u32 len | len bytes (an encoded
 *     CommandResult)
 *   u32 crc32 (zlib) of every byte before it
 *
 * kv_hash() is the crc32 of exactly the bytes before that trailing crc, so a
 * decoded snapshot has the kv_hash of the state that was encoded. */
int kv_snapshot_encode(const struct kv *kv, uint8_t **ret_buf, size_t *ret_len);
/* Validates everything (magic, format, bounds, order, uniqueness, the crc,
 * no trailing bytes) before returning a new kv built with options `o`
 * (NULL = defaults). On error returns -EINVAL (malformed) or -ENOMEM and,
 * when `err` is not NULL, writes a sentence naming the field and offset. */
int kv_snapshot_decode(const uint8_t *buf, size_t len, const struct kv_options *o,
                       struct kv **ret, char *err, size_t err_len);

#endif
