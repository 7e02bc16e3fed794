/* tests/sim/history.c: the clients' history and its linearizability check.
 *
 * Owns: the list of operations with their invoke/complete order (one
 * counter for both, so the order of events is exact) and virtual times,
 * and the final call to lincheck with a readable history of the key that
 * failed.
 * Must never: alter an outcome; operations still pending at the end are
 * handed to the checker as unknown.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

int history_invoke(struct history *h, const struct hist_op *op, uint64_t *ret_index)
{
        struct hist_op *o;

        if (h->n == h->cap) {
                size_t cap = h->cap ? h->cap * 2 : 128;
                struct hist_op *t = realloc(h->ops, cap * sizeof(*t));

                if (!t)
                        return -ENOMEM;
                h->ops = t;
                h->cap = cap;
        }
        o = &h->ops[h->n];
        *o = *op;
        o->pending = true;
        o->lc.status = LC_UNKNOWN;
        o->lc.invoke = ++h->clock;
        *ret_index = h->n++;
        return 0;
}

void history_complete(struct history *h, uint64_t index, enum lc_status st, uint64_t now_ms)
{
        struct hist_op *o = &h->ops[index];

        o->pending = false;
        o->lc.status = st;
        o->lc.complete = ++h->clock;
        o->complete_ms = now_ms;
}

void history_free(struct history *h)
{
        for (size_t i = 0; i < h->n; i++)
                free(h->ops[i].first_result);
        free(h->ops);
        *h = (struct history) { 0 };
}

static void print_key_history(const struct sim *sim, const struct lc_result *res)
{
        const struct history *h = &sim->hist;
        size_t shown = 0, total = 0;

        for (size_t i = 0; i < h->n; i++)
                if (h->ops[i].lc.key == res->bad_key && h->ops[i].lc.status != LC_FAIL)
                        total++;
        printf("  history of key k%llu (%zu ops; the search placed at most %zu; "
               "times are virtual ms):\n", (unsigned long long) res->bad_key, total,
               res->best_depth);
        for (size_t i = 0; i < h->n && shown < 80; i++) {
                const struct hist_op *o = &h->ops[i];
                char line[200];

                if (o->lc.key != res->bad_key || o->lc.status == LC_FAIL)
                        continue;
                lc_op_format(&o->lc, line, sizeof(line));
                printf("  %s op %zu: %s  (%llu..%s%llu ms)\n", i == res->stuck_op ? "=>" : "  ",
                       i, line, (unsigned long long) o->invoke_ms, o->pending ? "pending " : "",
                       (unsigned long long) o->complete_ms);
                shown++;
        }
}

void history_check(struct sim *sim)
{
        struct history *h = &sim->hist;
        struct lc_op *ops;
        struct lc_result res;
        int r;

        if (sim->failed)
                return;
        ops = malloc((h->n ? h->n : 1) * sizeof(*ops));
        if (!ops) {
                sim_fail(sim, "setup", "out of memory for the history");
                return;
        }
        for (size_t i = 0; i < h->n; i++) {
                ops[i] = h->ops[i].lc;
                if (h->ops[i].pending)
                        ops[i].status = LC_UNKNOWN;
        }
        r = lc_check(ops, h->n, 5000000, &res);
        free(ops);
        sim->lin_states = res.states;
        if (r < 0) {
                sim_fail(sim, "setup", "lc_check refused the history: %d", r);
                return;
        }
        if (res.linearizable)
                return;
        if (res.gave_up) {
                sim_fail(sim, "linearizability",
                         "no verdict: the search of key k%llu (%zu ops) passed %llu states",
                         (unsigned long long) res.bad_key, res.n_key_ops,
                         (unsigned long long) res.states);
                print_key_history(sim, &res);
                return;
        }
        sim_fail(sim, "linearizability",
                 "the clients' history of key k%llu is not linearizable: no order places op "
                 "%zu (marked =>) after the first %zu ops", (unsigned long long) res.bad_key,
                 res.stuck_op, res.best_depth);
        print_key_history(sim, &res);
}
