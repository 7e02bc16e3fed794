/* daemon/raft/log.c: the in-memory Raft log, entries after a base offset.
 *
 * Owns: storage of entries by index, lookups of (index, term), append,
 * suffix truncation and moving the base forward (compaction).
 * Must never: decide what to append or truncate (apply.c does, from
 * events), or do I/O.
 *
 * Entry i (0-based after base_index) sits in slot head + i of a sequence of
 * chunks of RAFT_LOG_CHUNK slots; its payload is copied into the newest
 * payload block (raft_private.h). Blocks hold the payloads of a contiguous
 * range of indexes, in order, so a compaction frees every block whose last
 * index it covers and a truncation rewinds the newest block it keeps. Slots
 * and payloads stay where they are until their entry goes: a pointer from
 * raft__log_get() is valid until the log changes at or before that index.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

void raft__log_init(struct raft_log *l)
{
        memset(l, 0, sizeof(*l));
}

void raft__entry_clear(struct raft_entry *e)
{
        free(e->data);
        e->data = NULL;
        e->len = 0;
}

void raft__entries_free(struct raft_entry *entries, size_t n)
{
        size_t i;

        if (!entries)
                return;
        for (i = 0; i < n; i++)
                raft__entry_clear(&entries[i]);
        free(entries);
}

int raft__entry_copy(const struct raft_entry *src, struct raft_entry *ret)
{
        *ret = *src;
        ret->data = NULL;
        if (src->len > 0) {
                if (!src->data)
                        return RAFT_EINVAL;
                ret->data = malloc(src->len);
                if (!ret->data)
                        return RAFT_ENOMEM;
                memcpy(ret->data, src->data, src->len);
        }
        return RAFT_OK;
}

/* Frees every chunk and block: the log holds no entry. */
static void storage_free(struct raft_log *l)
{
        size_t i;

        for (i = 0; i < l->n_chunks; i++)
                free(l->chunks[i]);
        for (i = 0; i < l->n_blocks; i++)
                free(l->blocks[i]);
        free(l->chunks);
        free(l->blocks);
        l->chunks = NULL;
        l->blocks = NULL;
        l->n_chunks = l->cap_chunks = 0;
        l->n_blocks = l->cap_blocks = 0;
        l->head = 0;
}

void raft__log_free(struct raft_log *l)
{
        storage_free(l);
        memset(l, 0, sizeof(*l));
}

static struct raft_entry *slot(const struct raft_log *l, size_t i)
{
        size_t s = l->head + i;

        return &l->chunks[s / RAFT_LOG_CHUNK][s % RAFT_LOG_CHUNK];
}

raft_index_t raft__log_last_index(const struct raft_log *l)
{
        return l->base_index + l->n;
}

raft_term_t raft__log_last_term(const struct raft_log *l)
{
        return l->n > 0 ? slot(l, l->n - 1)->term : l->base_term;
}

const struct raft_entry *raft__log_get(const struct raft_log *l, raft_index_t idx)
{
        if (idx <= l->base_index || idx > raft__log_last_index(l))
                return NULL;
        return slot(l, idx - l->base_index - 1);
}

uint64_t raft__log_next_time(const struct raft_log *l, raft_time_t now)
{
        uint64_t last = l->n > 0 ? slot(l, l->n - 1)->leader_time_ms : 0;

        /* Entries compacted into a snapshot still count (sim finding:
         * a log compacted to nothing let a leader stamp lower). */
        if (last < l->time_floor)
                last = l->time_floor;
        return now > last ? now : last;
}

raft_term_t raft__log_term_at(const struct raft_log *l, raft_index_t idx)
{
        const struct raft_entry *e;

        if (idx == l->base_index)
                return l->base_term;
        e = raft__log_get(l, idx);
        return e ? e->term : 0;
}

/* Room for `len` payload bytes of entry `idx`: the newest block, or a new one
 * (of its own size if the payload is larger than a block). NULL on ENOMEM,
 * the log unchanged. */
static uint8_t *payload_room(struct raft_log *l, raft_index_t idx, size_t len)
{
        struct raft_log_block *b = l->n_blocks > 0 ? l->blocks[l->n_blocks - 1] : NULL;
        size_t size;
        uint8_t *p;

        if (!b || b->size - b->used < len) {
                if (raft__grow(&l->blocks, &l->cap_blocks, l->n_blocks + 1,
                               sizeof(*l->blocks)) < 0)
                        return NULL;
                size = len > RAFT_LOG_BLOCK ? len : RAFT_LOG_BLOCK;
                b = malloc(sizeof(*b) + size);
                if (!b)
                        return NULL;
                b->first_index = idx;
                b->used = 0;
                b->size = size;
                l->blocks[l->n_blocks++] = b;
        }
        p = b->bytes + b->used;
        b->used += len;
        b->last_index = idx;
        return p;
}

int raft__log_append(struct raft_log *l, const struct raft_entry *e)
{
        size_t s = l->head + l->n;
        struct raft_entry *dst;
        uint8_t *data = NULL;

        if (e->index != raft__log_last_index(l) + 1)
                return RAFT_ECORRUPT;
        if (e->len > 0 && !e->data)
                return RAFT_EINVAL;
        if (s / RAFT_LOG_CHUNK == l->n_chunks) {
                struct raft_entry *chunk;

                if (raft__grow(&l->chunks, &l->cap_chunks, l->n_chunks + 1,
                               sizeof(*l->chunks)) < 0)
                        return RAFT_ENOMEM;
                chunk = malloc(RAFT_LOG_CHUNK * sizeof(*chunk));
                if (!chunk)
                        return RAFT_ENOMEM;
                l->chunks[l->n_chunks++] = chunk;
        }
        if (e->len > 0) {
                data = payload_room(l, e->index, e->len);
                if (!data)
                        return RAFT_ENOMEM; /* a new empty chunk stays: harmless */
                memcpy(data, e->data, e->len);
        }
        dst = slot(l, l->n);
        *dst = *e;
        dst->data = data;
        l->n++;
        return RAFT_OK;
}

void raft__log_truncate(struct raft_log *l, raft_index_t from)
{
        struct raft_log_block *b;
        raft_index_t i, last = raft__log_last_index(l);

        if (from <= l->base_index)
                from = l->base_index + 1;
        if (from > last)
                return;
        /* Blocks holding only truncated payloads go; the newest one that is
         * kept is rewound to the first truncated payload it holds (payloads
         * are stored in index order, so that is the first one at or after
         * `from` with bytes, if the block reaches `from` at all). */
        while (l->n_blocks > 0 && l->blocks[l->n_blocks - 1]->first_index >= from)
                free(l->blocks[--l->n_blocks]);
        if (l->n_blocks > 0 && (b = l->blocks[l->n_blocks - 1])->last_index >= from) {
                for (i = from; i <= b->last_index; i++) {
                        const struct raft_entry *e = raft__log_get(l, i);

                        if (e->len > 0) {
                                b->used = (size_t) (e->data - b->bytes);
                                break;
                        }
                }
                b->last_index = from - 1;
        }
        l->n = from - l->base_index - 1;
        while (l->n_chunks > 0 && (l->n_chunks - 1) * RAFT_LOG_CHUNK >= l->head + l->n)
                free(l->chunks[--l->n_chunks]);
        if (l->n == 0)
                storage_free(l);
}

/* Drops the first `drop` entries (all of them if drop == n). */
static void drop_prefix(struct raft_log *l, size_t drop)
{
        raft_index_t new_base = l->base_index + drop;
        size_t k;

        if (drop >= l->n) {
                storage_free(l);
                l->n = 0;
                return;
        }
        for (k = 0; k < l->n_blocks && l->blocks[k]->last_index <= new_base; k++)
                free(l->blocks[k]);
        if (k > 0) { /* blocks is NULL while only empty payloads were appended */
                memmove(l->blocks, l->blocks + k, (l->n_blocks - k) * sizeof(*l->blocks));
                l->n_blocks -= k;
        }
        l->head += drop;
        l->n -= drop;
        k = l->head / RAFT_LOG_CHUNK;
        if (k > 0) {
                size_t j;

                for (j = 0; j < k; j++)
                        free(l->chunks[j]);
                memmove(l->chunks, l->chunks + k, (l->n_chunks - k) * sizeof(*l->chunks));
                l->n_chunks -= k;
                l->head -= k * RAFT_LOG_CHUNK;
        }
}

static void raise_time_floor(struct raft_log *l, raft_index_t idx)
{
        const struct raft_entry *e = raft__log_get(l, idx);

        if (e && e->leader_time_ms > l->time_floor)
                l->time_floor = e->leader_time_ms;
}

void raft__log_set_base(struct raft_log *l, raft_index_t idx, raft_term_t term)
{
        if (idx <= l->base_index)
                return;
        if (raft__log_term_at(l, idx) != term) {
                /* The snapshot disagrees with (or is beyond) our log: drop
                 * it all (its stamps stay a floor for new entries). */
                raise_time_floor(l, raft__log_last_index(l));
                raft__log_truncate(l, l->base_index + 1);
                l->base_index = idx;
                l->base_term = term;
                return;
        }
        raise_time_floor(l, idx);
        drop_prefix(l, idx - l->base_index);
        l->base_index = idx;
        l->base_term = term;
}
