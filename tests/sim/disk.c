/* tests/sim/disk.c: written/durable event lists and group commit.
 *
 * Owns: event copies and their lifetime.
 * Must never: lose a durable event or keep an event after a lost one.
 */
#include "tests/sim/disk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void disk_init(struct disk *d, uint64_t lat_min_ms, uint64_t lat_max_ms)
{
        *d = (struct disk) { .lat_min_ms = lat_min_ms, .lat_max_ms = lat_max_ms };
}

void disk_free(struct disk *d)
{
        for (size_t i = 0; i < d->n; i++)
                raft_event_clear(&d->events[i]);
        free(d->events);
        d->events = NULL;
        d->n = d->cap = d->durable = d->flush_upto = 0;
        d->last_seq = d->base_seq = 0;
        d->flushing = false;
}

int disk_write(struct disk *d, const struct raft_event *ev)
{
        raft_seq_t expect = d->last_seq ? d->last_seq + 1 : ev->seq;

        if (ev->seq != expect || ev->seq == 0)
                return -EINVAL;
        d->last_seq = ev->seq;
        if (d->broken)
                return 0;
        if (d->n == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 64;
                struct raft_event *e = realloc(d->events, cap * sizeof(*e));

                if (!e)
                        return -ENOMEM;
                d->events = e;
                d->cap = cap;
        }
        if (raft_event_copy(ev, &d->events[d->n]) != RAFT_OK)
                return -ENOMEM;
        d->n++;
        return 0;
}

bool disk_start_flush(struct disk *d, struct prng *rng, uint64_t *ret_delay)
{
        if (d->flushing || d->broken || d->durable == d->n)
                return false;
        d->flushing = true;
        d->flush_upto = d->n;
        *ret_delay = prng_range(rng, d->lat_min_ms, d->lat_max_ms);
        return true;
}

raft_seq_t disk_flush_done(struct disk *d)
{
        if (d->flushing && !d->broken && d->flush_upto > d->durable)
                d->durable = d->flush_upto;
        d->flushing = false;
        return disk_durable_seq(d);
}

raft_seq_t disk_durable_seq(const struct disk *d)
{
        return d->durable ? d->events[d->durable - 1].seq : d->base_seq;
}

size_t disk_compact(struct disk *d, raft_seq_t seq)
{
        size_t k = 0;

        while (k < d->durable && d->events[k].seq <= seq)
                k++;
        if (k == 0)
                return 0;
        d->base_seq = d->events[k - 1].seq;
        for (size_t i = 0; i < k; i++)
                raft_event_clear(&d->events[i]);
        memmove(d->events, d->events + k, (d->n - k) * sizeof(*d->events));
        d->n -= k;
        d->durable -= k;
        d->flush_upto = d->flush_upto > k ? d->flush_upto - k : 0;
        return k;
}

size_t disk_crash(struct disk *d, struct prng *rng, unsigned keep_pm)
{
        size_t keep = d->durable;

        if (d->n > d->durable && prng_chance(rng, keep_pm))
                keep += prng_below(rng, d->n - d->durable + 1);
        for (size_t i = keep; i < d->n; i++)
                raft_event_clear(&d->events[i]);
        d->n = keep;
        d->durable = keep;
        d->flushing = false;
        d->flush_upto = 0;
        d->broken = false;
        d->last_seq = disk_durable_seq(d);
        return keep;
}
