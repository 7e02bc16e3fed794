/* tests/sim/eventq.c: binary min-heap keyed by (time, insertion order).
 *
 * Owns: the heap array.
 * Must never: look inside payloads.
 */
#include "tests/sim/eventq.h"

#include <errno.h>
#include <stdlib.h>

static bool before(const struct sim_ev *a, const struct sim_ev *b)
{
        return a->time != b->time ? a->time < b->time : a->order < b->order;
}

void eventq_init(struct eventq *q)
{
        *q = (struct eventq) { 0 };
}

void eventq_free(struct eventq *q)
{
        free(q->heap);
        *q = (struct eventq) { 0 };
}

int eventq_push(struct eventq *q, const struct sim_ev *ev)
{
        size_t i;

        if (q->n == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 256;
                struct sim_ev *h = realloc(q->heap, cap * sizeof(*h));

                if (!h)
                        return -ENOMEM;
                q->heap = h;
                q->cap = cap;
        }
        i = q->n++;
        q->heap[i] = *ev;
        q->heap[i].order = q->next_order++;
        while (i > 0) {
                size_t parent = (i - 1) / 2;
                struct sim_ev tmp;

                if (!before(&q->heap[i], &q->heap[parent]))
                        break;
                tmp = q->heap[i];
                q->heap[i] = q->heap[parent];
                q->heap[parent] = tmp;
                i = parent;
        }
        return 0;
}

bool eventq_pop(struct eventq *q, struct sim_ev *ret)
{
        size_t i = 0;

        if (q->n == 0)
                return false;
        *ret = q->heap[0];
        q->heap[0] = q->heap[--q->n];
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                struct sim_ev tmp;

                if (l < q->n && before(&q->heap[l], &q->heap[m]))
                        m = l;
                if (r < q->n && before(&q->heap[r], &q->heap[m]))
                        m = r;
                if (m == i)
                        break;
                tmp = q->heap[i];
                q->heap[i] = q->heap[m];
                q->heap[m] = tmp;
                i = m;
        }
        return true;
}

const struct sim_ev *eventq_peek(const struct eventq *q)
{
        return q->n ? &q->heap[0] : NULL;
}
