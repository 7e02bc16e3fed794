/* daemon/kv/kv-internal.h: the data structures shared by the files of the
 * key-value state machine (store, sessions, commands, hash, snapshot).
 *
 * Owns: the layout of struct kv, of a stored key and of a client session.
 *
 * Must never: be included outside daemon/kv/ (and its unit tests); callers
 * use kv.h only.
 */
#ifndef RAFKTOR_KV_INTERNAL_H
#define RAFKTOR_KV_INTERNAL_H

#include <bsd/sys/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/kv/kv.h"

/* ---- the store: one allocation per key holding node, key and value ------ */

struct kv_node {
        RB_ENTRY(kv_node) link;
        uint64_t version;
        uint64_t create_index;
        uint64_t mod_index;
        uint32_t key_len;
        uint32_t value_len;
        uint8_t data[]; /* key_len bytes of key, then value_len bytes of value */
};

RB_HEAD(kv_tree, kv_node);
int kv_node_cmp(const struct kv_node *a, const struct kv_node *b);
RB_PROTOTYPE(kv_tree, kv_node, link, kv_node_cmp)

static inline const uint8_t *kv_node_key(const struct kv_node *n)
{
        return n->data;
}

static inline const uint8_t *kv_node_value(const struct kv_node *n)
{
        return n->data + n->key_len;
}

/* ---- sessions (thesis 6.3) ----------------------------------------------- */

struct kv_reply {
        RB_ENTRY(kv_reply) link;
        uint64_t request_id;
        size_t len;
        uint8_t data[]; /* an encoded rafktor.v1.CommandResult */
};
RB_HEAD(kv_reply_tree, kv_reply);
int kv_reply_cmp(const struct kv_reply *a, const struct kv_reply *b);
RB_PROTOTYPE(kv_reply_tree, kv_reply, link, kv_reply_cmp)

struct kv_session {
        RB_ENTRY(kv_session) by_id;  /* ordered by client_id */
        RB_ENTRY(kv_session) by_lru; /* ordered by (last_used_ms, client_id) */
        uint64_t client_id;
        uint64_t last_used_ms;
        uint64_t window_low; /* request ids below it are refused */
        size_t n_replies;
        struct kv_reply_tree replies; /* ordered by request_id */
};
RB_HEAD(kv_session_ids, kv_session);
RB_HEAD(kv_session_lru, kv_session);
int kv_session_id_cmp(const struct kv_session *a, const struct kv_session *b);
int kv_session_lru_cmp(const struct kv_session *a, const struct kv_session *b);
RB_PROTOTYPE(kv_session_ids, kv_session, by_id, kv_session_id_cmp)
RB_PROTOTYPE(kv_session_lru, kv_session, by_lru, kv_session_lru_cmp)

/* ---- the state machine ---------------------------------------------------- */

struct kv {
        struct kv_options opt;
        uint64_t applied_index;
        uint64_t clock_ms; /* max leader_time_ms seen: never runs backwards */
        struct kv_tree keys;
        size_t n_keys;
        struct kv_session_ids sessions;
        struct kv_session_lru lru;
        size_t n_sessions;
};

/* store.c */
/* Where a key that is not in the tree goes: the child `right` or left of `parent` (NULL:
 * the tree is empty). Valid until the tree changes. */
struct kv_slot {
        struct kv_node *parent;
        bool right;
};
struct kv_node *kv_store_find(const struct kv *kv, const uint8_t *key, size_t key_len);
/* kv_store_find that also says, when the key is absent, where it would go. */
struct kv_node *kv_store_find_slot(const struct kv *kv, const uint8_t *key, size_t key_len,
                                   struct kv_slot *slot);
/* First key >= `key`, or NULL. */
struct kv_node *kv_store_lower_bound(const struct kv *kv, const uint8_t *key, size_t key_len);
/* A detached node (not in the tree). NULL on ENOMEM or lengths over 4 GiB. */
struct kv_node *kv_node_new(const uint8_t *key, size_t key_len, const uint8_t *value,
                            size_t value_len);
/* Puts `fresh`, a detached node for the same key as `old`, in old's place in the tree
 * (no key comparison), freeing `old`. */
void kv_store_replace(struct kv *kv, struct kv_node *old, struct kv_node *fresh);
/* Inserts the detached node n at `slot` (from kv_store_find_slot for n's key, the tree
 * unchanged since): no key comparison. */
void kv_store_link(struct kv *kv, const struct kv_slot *slot, struct kv_node *n);
/* Inserts n, whose key is greater than every key in the tree, as the right child of the
 * current greatest node `max` (NULL when the tree is empty), for keys that arrive in
 * order (a snapshot). */
void kv_store_append(struct kv *kv, struct kv_node *max, struct kv_node *n);
/* Overwrites the value in place; only when value_len == n->value_len. */
void kv_store_overwrite(struct kv_node *n, const uint8_t *value, size_t value_len);
void kv_store_remove(struct kv *kv, struct kv_node *n);
void kv_store_clear(struct kv *kv);
void kv_node_to_item(const struct kv_node *n, struct kv_item *ret);

/* sessions.c */
struct kv_session *kv_session_find(const struct kv *kv, uint64_t client_id);
struct kv_session *kv_session_new(uint64_t client_id); /* detached; NULL on ENOMEM */
void kv_session_free(struct kv_session *s);
/* Inserts a detached session, first expiring the least recently used one
 * when max_sessions are already present. */
void kv_session_insert(struct kv *kv, struct kv_session *s);
void kv_session_touch(struct kv *kv, struct kv_session *s, uint64_t now_ms);
/* Raises the window to `first_outstanding` and drops the replies below it. */
void kv_session_advance_window(struct kv_session *s, uint64_t first_outstanding);
const struct kv_reply *kv_session_cached(const struct kv_session *s, uint64_t request_id);
struct kv_reply *kv_reply_new(uint64_t request_id, const uint8_t *data, size_t len);
/* Caches a reply (request id not yet cached, >= window), dropping the oldest
 * beyond max_replies_per_session. */
void kv_session_cache(const struct kv *kv, struct kv_session *s, struct kv_reply *r);
/* Removes every session idle for more than session_ttl_ms at `now_ms`. */
void kv_sessions_expire(struct kv *kv, uint64_t now_ms);
void kv_sessions_clear(struct kv *kv);

/* command.c: applies one RAFT_ENTRY_COMMAND (the index checks are done). ret_reply NULL:
 * no reply wanted (one is still encoded to cache in a session). */
int kv_command_apply(struct kv *kv, const struct raft_entry *e, uint8_t **ret_reply,
                     size_t *ret_len);

/* snapshot.c: the canonical serialization, written through a sink. */
struct kv_sink {
        int (*write)(struct kv_sink *sink, const void *buf, size_t len);
};
int kv_serialize(const struct kv *kv, struct kv_sink *sink);

#endif
