/* daemon/kv/store.c: the ordered map of keys (a libbsd red-black tree).
 *
 * Owns: the nodes (one allocation per key: tree links, versions, key and
 * value together), key order, and the read API (kv_get, kv_range, kv_count).
 *
 * Must never: decide what a command means (command.c does), touch sessions,
 * or iterate in anything but key order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kv/kv-internal.h"

/* Bytewise order, a proper prefix before the longer key. */
static int key_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
        size_t n = a_len < b_len ? a_len : b_len;
        int c = n > 0 ? memcmp(a, b, n) : 0;

        if (c != 0)
                return c < 0 ? -1 : 1;
        if (a_len == b_len)
                return 0;
        return a_len < b_len ? -1 : 1;
}

int kv_node_cmp(const struct kv_node *a, const struct kv_node *b)
{
        return key_cmp(kv_node_key(a), a->key_len, kv_node_key(b), b->key_len);
}

RB_GENERATE(kv_tree, kv_node, link, kv_node_cmp)

/* The tree's own FIND needs a node as probe; lookups by a caller's bytes
 * walk the tree with the same order instead of building one. */
struct kv_node *kv_store_find_slot(const struct kv *kv, const uint8_t *key, size_t key_len,
                                   struct kv_slot *slot)
{
        struct kv_node *n = RB_ROOT(&kv->keys);

        slot->parent = NULL;
        slot->right = false;
        while (n) {
                int c = key_cmp(key, key_len, kv_node_key(n), n->key_len);

                if (c == 0)
                        return n;
                slot->parent = n;
                slot->right = c > 0;
                n = c < 0 ? RB_LEFT(n, link) : RB_RIGHT(n, link);
        }
        return NULL;
}

struct kv_node *kv_store_find(const struct kv *kv, const uint8_t *key, size_t key_len)
{
        struct kv_slot unused;

        return kv_store_find_slot(kv, key, key_len, &unused);
}

struct kv_node *kv_store_lower_bound(const struct kv *kv, const uint8_t *key, size_t key_len)
{
        struct kv_node *n = RB_ROOT(&kv->keys), *best = NULL;

        while (n) {
                int c = key_cmp(key, key_len, kv_node_key(n), n->key_len);

                if (c == 0)
                        return n;
                if (c < 0) {
                        best = n;
                        n = RB_LEFT(n, link);
                } else {
                        n = RB_RIGHT(n, link);
                }
        }
        return best;
}

struct kv_node *kv_node_new(const uint8_t *key, size_t key_len, const uint8_t *value,
                            size_t value_len)
{
        struct kv_node *n;

        if (key_len > UINT32_MAX || value_len > UINT32_MAX)
                return NULL;
        n = malloc(sizeof(*n) + key_len + value_len);
        if (!n)
                return NULL;
        memset(n, 0, sizeof(*n));
        n->key_len = (uint32_t)key_len;
        n->value_len = (uint32_t)value_len;
        if (key_len > 0)
                memcpy(n->data, key, key_len);
        if (value_len > 0)
                memcpy(n->data + key_len, value, value_len);
        return n;
}

void kv_store_replace(struct kv *kv, struct kv_node *old, struct kv_node *fresh)
{
        struct kv_node *parent = RB_PARENT(old, link);

        /* Same key, same place: fresh takes over old's links and colour. */
        fresh->link = old->link;
        if (!parent)
                RB_ROOT(&kv->keys) = fresh;
        else if (RB_LEFT(parent, link) == old)
                RB_LEFT(parent, link) = fresh;
        else
                RB_RIGHT(parent, link) = fresh;
        if (RB_LEFT(fresh, link))
                RB_PARENT(RB_LEFT(fresh, link), link) = fresh;
        if (RB_RIGHT(fresh, link))
                RB_PARENT(RB_RIGHT(fresh, link), link) = fresh;
        free(old);
}

void kv_store_link(struct kv *kv, const struct kv_slot *slot, struct kv_node *n)
{
        /* What RB_INSERT does once its walk has found the place. */
        RB_SET(n, slot->parent, link);
        if (!slot->parent)
                RB_ROOT(&kv->keys) = n;
        else if (slot->right)
                RB_RIGHT(slot->parent, link) = n;
        else
                RB_LEFT(slot->parent, link) = n;
        kv_tree_RB_INSERT_COLOR(&kv->keys, n);
        kv->n_keys++;
}

void kv_store_overwrite(struct kv_node *n, const uint8_t *value, size_t value_len)
{
        if (value_len > 0)
                memcpy(n->data + n->key_len, value, value_len);
}

void kv_store_remove(struct kv *kv, struct kv_node *n)
{
        RB_REMOVE(kv_tree, &kv->keys, n);
        free(n);
        kv->n_keys--;
}

void kv_store_append(struct kv *kv, struct kv_node *max, struct kv_node *n)
{
        /* The greatest node never has a right child: that is where n goes. */
        struct kv_slot slot = { .parent = max, .right = true };

        kv_store_link(kv, &slot, n);
}

void kv_store_clear(struct kv *kv)
{
        struct kv_node *n, *next;

        RB_FOREACH_SAFE(n, kv_tree, &kv->keys, next) {
                RB_REMOVE(kv_tree, &kv->keys, n);
                free(n);
        }
        kv->n_keys = 0;
}

void kv_node_to_item(const struct kv_node *n, struct kv_item *ret)
{
        ret->key = kv_node_key(n);
        ret->key_len = n->key_len;
        ret->value = kv_node_value(n);
        ret->value_len = n->value_len;
        ret->version = n->version;
        ret->create_index = n->create_index;
        ret->mod_index = n->mod_index;
}

bool kv_get(const struct kv *kv, const uint8_t *key, size_t key_len, struct kv_item *ret)
{
        const struct kv_node *n = kv_store_find(kv, key, key_len);

        if (!n)
                return false;
        if (ret)
                kv_node_to_item(n, ret);
        return true;
}

static bool has_prefix(const struct kv_node *n, const uint8_t *prefix, size_t prefix_len)
{
        return n->key_len >= prefix_len &&
               (prefix_len == 0 || memcmp(kv_node_key(n), prefix, prefix_len) == 0);
}

bool kv_range(const struct kv *kv, const uint8_t *prefix, size_t prefix_len, size_t limit,
              bool (*cb)(const struct kv_item *item, void *ctx), void *ctx)
{
        struct kv_node *n = kv_store_lower_bound(kv, prefix, prefix_len);
        size_t given = 0;

        for (; n && has_prefix(n, prefix, prefix_len); n = RB_NEXT(kv_tree, &kv->keys, n)) {
                struct kv_item item;

                if (limit > 0 && given == limit)
                        return true; /* one more key matches: the limit cut it */
                kv_node_to_item(n, &item);
                given++;
                if (!cb(&item, ctx))
                        return false;
        }
        return false;
}

size_t kv_count(const struct kv *kv)
{
        return kv->n_keys;
}
