/* daemon/raft/log.c: the in-memory Raft log, entries after a base offset.
 *
 * Owns: storage of entries by index, lookups of (index, term), append,
 * suffix truncation and moving the base forward (compaction).
 * Must never: decide what to append or truncate (apply.c does, from
 * events), or do I/O.
 *
 * Entries are held in one array; entries[i] has index base_index + 1 + i,
 * so the log "starts after" a snapshot at (base_index, base_term).
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

void raft__log_free(struct raft_log *l)
{
        raft__entries_free(l->entries, l->n);
        memset(l, 0, sizeof(*l));
}

raft_index_t raft__log_last_index(const struct raft_log *l)
{
        return l->base_index + l->n;
}

raft_term_t raft__log_last_term(const struct raft_log *l)
{
        return l->n > 0 ? l->entries[l->n - 1].term : l->base_term;
}

const struct raft_entry *raft__log_get(const struct raft_log *l, raft_index_t idx)
{
        if (idx <= l->base_index || idx > raft__log_last_index(l))
                return NULL;
        return &l->entries[idx - l->base_index - 1];
}

uint64_t raft__log_next_time(const struct raft_log *l, raft_time_t now)
{
        uint64_t last = l->n > 0 ? l->entries[l->n - 1].leader_time_ms : 0;

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

int raft__log_append(struct raft_log *l, const struct raft_entry *e)
{
        int rc;

        if (e->index != raft__log_last_index(l) + 1)
                return RAFT_ECORRUPT;
        rc = raft__grow(&l->entries, &l->cap, l->n + 1, sizeof(*l->entries));
        if (rc < 0)
                return rc;
        rc = raft__entry_copy(e, &l->entries[l->n]);
        if (rc < 0)
                return rc;
        l->n++;
        return RAFT_OK;
}

void raft__log_truncate(struct raft_log *l, raft_index_t from)
{
        while (l->n > 0 && raft__log_last_index(l) >= from) {
                raft__entry_clear(&l->entries[l->n - 1]);
                l->n--;
        }
}

void raft__log_set_base(struct raft_log *l, raft_index_t idx, raft_term_t term)
{
        size_t drop, i;

        if (idx <= l->base_index)
                return;
        if (raft__log_term_at(l, idx) != term) {
                /* The snapshot disagrees with (or is beyond) our log: drop
                 * it all (its stamps stay a floor for new entries). */
                if (l->n > 0 && l->entries[l->n - 1].leader_time_ms > l->time_floor)
                        l->time_floor = l->entries[l->n - 1].leader_time_ms;
                raft__log_truncate(l, l->base_index + 1);
                l->base_index = idx;
                l->base_term = term;
                return;
        }
        drop = idx - l->base_index;
        if (l->entries[drop - 1].leader_time_ms > l->time_floor)
                l->time_floor = l->entries[drop - 1].leader_time_ms;
        for (i = 0; i < drop; i++)
                raft__entry_clear(&l->entries[i]);
        if (l->n > drop)
                memmove(l->entries, l->entries + drop, (l->n - drop) * sizeof(*l->entries));
        l->n -= drop;
        l->base_index = idx;
        l->base_term = term;
}
