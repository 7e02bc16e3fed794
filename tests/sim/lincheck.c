/* tests/sim/lincheck.c: Wing-Gong linearizability search with memoization.
 *
 * Owns: the per-key register model and the search over one key's history
 * (calls and returns in time order, a doubly linked list that operations
 * are lifted out of when linearized, a stack to backtrack, and a hash set
 * of (linearized bitset, state) already explored).
 * Must never: depend on anything outside libc (see lincheck.h).
 */
#include "tests/sim/lincheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value of a key after a put whose value nobody ever observes: such
 * values are interchangeable, so they all become this one (values equal to
 * it are refused as input). */
#define LC_UNOBSERVED UINT64_MAX

struct lc_state {
        bool exists;
        uint64_t value;
        uint64_t version;
};

/* One call or return event of an operation in the per-key list. */
struct lc_entry {
        uint64_t time;
        bool is_return;
        size_t op;    /* index into the key's op list */
        size_t match; /* the entry of the other end of the same op */
        size_t prev, next;
};

struct lc_frame {
        size_t call; /* entry lifted */
        struct lc_state state;
};

/* Open-addressing set of (bitset, state); slots hold record index + 1. */
struct lc_cache {
        size_t words;   /* uint64 words per bitset */
        size_t n, cap;  /* records */
        uint64_t *bits; /* n * words */
        struct lc_state *states;
        size_t slot_cap;
        size_t *slots;
};

static bool model_step(const struct lc_op *op, bool unobserved, const struct lc_state *s,
                       struct lc_state *next)
{
        bool check = op->status == LC_OK;

        switch (op->type) {
        case LC_PUT:
                next->exists = true;
                next->value = unobserved ? LC_UNOBSERVED : op->value;
                next->version = s->exists ? s->version + 1 : 1;
                return !check || op->out_version == next->version;
        case LC_CAS:
                if (s->exists && s->value == op->expect) {
                        next->exists = true;
                        next->value = unobserved ? LC_UNOBSERVED : op->value;
                        next->version = s->version + 1;
                        return !check || (op->succeeded && op->found &&
                                          op->out_value == next->value &&
                                          op->out_version == next->version);
                }
                *next = *s;
                return !check || (!op->succeeded && op->found == s->exists &&
                                  (!s->exists || (op->out_value == s->value &&
                                                  op->out_version == s->version)));
        case LC_GET:
                *next = *s;
                return !check || (op->found == s->exists &&
                                  (!s->exists || (op->out_value == s->value &&
                                                  op->out_version == s->version)));
        case LC_DELETE:
                next->exists = false;
                next->value = 0;
                next->version = 0;
                return !check || op->found == s->exists;
        }
        return false;
}

static bool same_state(const struct lc_state *a, const struct lc_state *b)
{
        return a->exists == b->exists && a->value == b->value && a->version == b->version;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
        h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
        return h * UINT64_C(0xff51afd7ed558ccd);
}

static uint64_t cache_hash(const uint64_t *bits, size_t words, const struct lc_state *s)
{
        uint64_t h = mix(s->exists, s->value);

        h = mix(h, s->version);
        for (size_t i = 0; i < words; i++)
                h = mix(h, bits[i]);
        return h ^ (h >> 29);
}

static int cache_grow_slots(struct lc_cache *c)
{
        size_t cap = c->slot_cap ? c->slot_cap * 2 : 1024;
        size_t *slots = calloc(cap, sizeof(*slots));

        if (!slots)
                return -ENOMEM;
        for (size_t r = 0; r < c->n; r++) {
                uint64_t h = cache_hash(c->bits + r * c->words, c->words, &c->states[r]);
                size_t i = h & (cap - 1);

                while (slots[i])
                        i = (i + 1) & (cap - 1);
                slots[i] = r + 1;
        }
        free(c->slots);
        c->slots = slots;
        c->slot_cap = cap;
        return 0;
}

/* Returns 1 if (bits, s) was new and is now recorded, 0 if seen, <0 on error. */
static int cache_insert(struct lc_cache *c, const uint64_t *bits, const struct lc_state *s)
{
        uint64_t h;
        size_t i;

        if ((c->n + 1) * 2 > c->slot_cap) {
                int r = cache_grow_slots(c);

                if (r < 0)
                        return r;
        }
        h = cache_hash(bits, c->words, s);
        for (i = h & (c->slot_cap - 1); c->slots[i]; i = (i + 1) & (c->slot_cap - 1)) {
                size_t r = c->slots[i] - 1;
                const struct lc_state *o = &c->states[r];

                if (o->exists == s->exists && o->value == s->value &&
                    o->version == s->version &&
                    memcmp(c->bits + r * c->words, bits, c->words * sizeof(*bits)) == 0)
                        return 0;
        }
        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 256;
                uint64_t *nb = realloc(c->bits, cap * c->words * sizeof(*nb));

                if (!nb)
                        return -ENOMEM;
                c->bits = nb;
                struct lc_state *ns = realloc(c->states, cap * sizeof(*ns));

                if (!ns)
                        return -ENOMEM;
                c->states = ns;
                c->cap = cap;
        }
        memcpy(c->bits + c->n * c->words, bits, c->words * sizeof(*bits));
        c->states[c->n] = *s;
        c->slots[i] = ++c->n;
        return 1;
}

static void cache_free(struct lc_cache *c)
{
        free(c->bits);
        free(c->states);
        free(c->slots);
}

static int entry_cmp(const void *a, const void *b)
{
        const struct lc_entry *x = a, *y = b;

        if (x->time != y->time)
                return x->time < y->time ? -1 : 1;
        /* Equal times are concurrent: calls first, so either order is allowed. */
        if (x->is_return != y->is_return)
                return x->is_return ? 1 : -1;
        return x->op < y->op ? -1 : (x->op > y->op);
}

static void lift(struct lc_entry *e, size_t call)
{
        size_t ret = e[call].match;

        e[e[call].prev].next = e[call].next;
        e[e[call].next].prev = e[call].prev;
        e[e[ret].prev].next = e[ret].next;
        e[e[ret].next].prev = e[ret].prev;
}

static void unlift(struct lc_entry *e, size_t call)
{
        size_t ret = e[call].match;

        e[e[ret].prev].next = ret;
        e[e[ret].next].prev = ret;
        e[e[call].prev].next = call;
        e[e[call].next].prev = call;
}

struct lc_key_run {
        const struct lc_op *ops; /* every op of the history */
        const size_t *idx;       /* this key's ops: indexes into ops */
        size_t m;
        bool *unobserved; /* [m]: a put whose value no op ever reads or compares */
        size_t *anon_rank; /* [m]: rank by invoke among unknown unobserved puts, or SIZE_MAX */
        uint64_t max_states;
        uint64_t states;
        size_t best_depth;
        size_t stuck_op;
        bool gave_up;
};

/* Entry layout: 0 is the list head sentinel and also its end (circular). */
static int check_key(struct lc_key_run *k, bool *ret_ok)
{
        size_t m = k->m, n_entries = 2 * m + 1, depth = 0, cur;
        struct lc_entry *e = calloc(n_entries, sizeof(*e));
        struct lc_frame *stack = calloc(m + 1, sizeof(*stack));
        size_t words = (m + 63) / 64;
        uint64_t *bits = calloc(words ? words : 1, sizeof(*bits));
        struct lc_cache cache = { .words = words ? words : 1 };
        struct lc_state state = { 0 };
        size_t anon_done = 0; /* unknown unobserved puts are placed in invoke order */
        int r = -ENOMEM;

        if (!e || !stack || !bits)
                goto out;
        for (size_t i = 0; i < m; i++) {
                const struct lc_op *op = &k->ops[k->idx[i]];

                e[1 + 2 * i] = (struct lc_entry) { .time = op->invoke, .op = i };
                e[2 + 2 * i] = (struct lc_entry) {
                        .time = op->status == LC_OK ? op->complete : UINT64_MAX,
                        .is_return = true, .op = i };
        }
        qsort(e + 1, n_entries - 1, sizeof(*e), entry_cmp);
        {
                size_t *call_of = calloc(m ? m : 1, sizeof(*call_of));

                if (!call_of)
                        goto out;
                for (size_t i = 1; i < n_entries; i++)
                        if (!e[i].is_return)
                                call_of[e[i].op] = i;
                for (size_t i = 1; i < n_entries; i++)
                        if (e[i].is_return) {
                                e[i].match = call_of[e[i].op];
                                e[call_of[e[i].op]].match = i;
                        }
                free(call_of);
        }
        for (size_t i = 0; i < n_entries; i++) {
                e[i].next = (i + 1) % n_entries;
                e[i].prev = (i + n_entries - 1) % n_entries;
        }

        cur = e[0].next;
        for (;;) {
                if (cur == 0 ||
                    (e[cur].is_return && k->ops[k->idx[e[cur].op]].status != LC_OK)) {
                        /* Every LC_OK op is placed (an unknown op's return sorts last). */
                        *ret_ok = true;
                        r = 0;
                        goto out;
                }
                if (!e[cur].is_return) {
                        const struct lc_op *op = &k->ops[k->idx[e[cur].op]];
                        size_t rank = k->anon_rank[e[cur].op];
                        struct lc_state next;

                        /* An unknown op that would change nothing (a failing CAS)
                         * need never be placed: its output is not known.
                         * Unknown puts nobody observes are interchangeable: placing
                         * them in invoke order loses no linearization (an earlier
                         * one can stand in for a later one) and keeps the search
                         * polynomial in their number. */
                        if ((rank == SIZE_MAX || rank == anon_done) &&
                            model_step(op, k->unobserved[e[cur].op], &state, &next) &&
                            !(op->status == LC_UNKNOWN && same_state(&state, &next))) {
                                size_t o = e[cur].op;

                                bits[o / 64] |= UINT64_C(1) << (o % 64);
                                r = cache_insert(&cache, bits, &next);
                                if (r < 0)
                                        goto out;
                                if (r == 1) {
                                        k->states++;
                                        if (k->max_states && k->states > k->max_states) {
                                                k->gave_up = true;
                                                *ret_ok = false;
                                                r = 0;
                                                goto out;
                                        }
                                        stack[depth++] = (struct lc_frame) { cur, state };
                                        state = next;
                                        if (rank != SIZE_MAX)
                                                anon_done++;
                                        lift(e, cur);
                                        cur = e[0].next;
                                        continue;
                                }
                                bits[o / 64] &= ~(UINT64_C(1) << (o % 64));
                        }
                        cur = e[cur].next;
                        continue;
                }
                /* A return whose op is not placed yet: backtrack. */
                if (depth >= k->best_depth) {
                        k->best_depth = depth;
                        k->stuck_op = k->idx[e[cur].op];
                }
                if (depth == 0) {
                        *ret_ok = false;
                        r = 0;
                        goto out;
                }
                {
                        struct lc_frame f = stack[--depth];
                        size_t o = e[f.call].op;

                        state = f.state;
                        if (k->anon_rank[o] != SIZE_MAX)
                                anon_done--;
                        bits[o / 64] &= ~(UINT64_C(1) << (o % 64));
                        unlift(e, f.call);
                        cur = e[f.call].next;
                }
        }
out:
        cache_free(&cache);
        free(bits);
        free(stack);
        free(e);
        return r;
}

static int u64_cmp(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : (x > y);
}

/* Marks the puts whose value no op of the key reads or compares against,
 * and ranks the unknown ones among them by invoke time. */
static int classify(struct lc_key_run *k)
{
        uint64_t *seen = malloc((k->m ? k->m : 1) * 2 * sizeof(*seen));
        size_t n_seen = 0, n_anon = 0;
        size_t *anon;

        if (!seen)
                return -ENOMEM;
        for (size_t i = 0; i < k->m; i++) {
                const struct lc_op *op = &k->ops[k->idx[i]];

                if (op->type == LC_CAS)
                        seen[n_seen++] = op->expect;
                if (op->status == LC_OK && op->found &&
                    (op->type == LC_GET || op->type == LC_CAS))
                        seen[n_seen++] = op->out_value;
        }
        qsort(seen, n_seen, sizeof(*seen), u64_cmp);
        anon = malloc((k->m ? k->m : 1) * sizeof(*anon));
        if (!anon) {
                free(seen);
                return -ENOMEM;
        }
        for (size_t i = 0; i < k->m; i++) {
                const struct lc_op *op = &k->ops[k->idx[i]];

                k->unobserved[i] = (op->type == LC_PUT || op->type == LC_CAS) &&
                                   !bsearch(&op->value, seen, n_seen, sizeof(*seen), u64_cmp);
                k->anon_rank[i] = SIZE_MAX;
                if (k->unobserved[i] && op->type == LC_PUT && op->status == LC_UNKNOWN)
                        anon[n_anon++] = i;
        }
        /* Insertion sort by invoke time (ties by position): n_anon is small. */
        for (size_t i = 1; i < n_anon; i++)
                for (size_t j = i; j > 0 && k->ops[k->idx[anon[j]]].invoke <
                                             k->ops[k->idx[anon[j - 1]]].invoke; j--) {
                        size_t t = anon[j];

                        anon[j] = anon[j - 1];
                        anon[j - 1] = t;
                }
        for (size_t r = 0; r < n_anon; r++)
                k->anon_rank[anon[r]] = r;
        free(anon);
        free(seen);
        return 0;
}

static int validate(const struct lc_op *op)
{
        if (op->type < LC_PUT || op->type > LC_DELETE)
                return -EINVAL;
        if (op->status < LC_OK || op->status > LC_UNKNOWN)
                return -EINVAL;
        if (op->status == LC_OK && op->complete < op->invoke)
                return -EINVAL;
        if ((op->type == LC_PUT || op->type == LC_CAS) &&
            (op->value == 0 || op->value == LC_UNOBSERVED))
                return -EINVAL;
        return 0;
}

static int key_cmp(const void *a, const void *b, void *arg)
{
        const struct lc_op *ops = arg;
        size_t x = *(const size_t *) a, y = *(const size_t *) b;

        if (ops[x].key != ops[y].key)
                return ops[x].key < ops[y].key ? -1 : 1;
        return x < y ? -1 : (x > y);
}

int lc_check(const struct lc_op *ops, size_t n, uint64_t max_states, struct lc_result *ret)
{
        size_t *idx, m = 0;
        int r = 0;

        memset(ret, 0, sizeof(*ret));
        ret->linearizable = true;
        for (size_t i = 0; i < n; i++) {
                r = validate(&ops[i]);
                if (r < 0)
                        return r;
        }
        idx = malloc((n ? n : 1) * sizeof(*idx));
        if (!idx)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (ops[i].status != LC_FAIL)
                        idx[m++] = i;
        qsort_r(idx, m, sizeof(*idx), key_cmp, (void *) ops);

        for (size_t start = 0; start < m;) {
                size_t end = start;
                bool ok = false;

                while (end < m && ops[idx[end]].key == ops[idx[start]].key)
                        end++;
                struct lc_key_run k = { .ops = ops, .idx = idx + start, .m = end - start,
                                        .max_states = max_states, .stuck_op = idx[start] };

                k.unobserved = calloc(k.m, sizeof(*k.unobserved));
                k.anon_rank = calloc(k.m, sizeof(*k.anon_rank));
                r = k.unobserved && k.anon_rank ? classify(&k) : -ENOMEM;
                if (r == 0)
                        r = check_key(&k, &ok);
                free(k.unobserved);
                free(k.anon_rank);
                ret->states += k.states;
                if (r < 0)
                        break;
                if (!ok) {
                        ret->linearizable = false;
                        ret->gave_up = k.gave_up;
                        ret->bad_key = ops[idx[start]].key;
                        ret->n_key_ops = k.m;
                        ret->best_depth = k.best_depth;
                        ret->stuck_op = k.stuck_op;
                        break;
                }
                start = end;
        }
        free(idx);
        return r;
}

void lc_op_format(const struct lc_op *op, char *buf, size_t size)
{
        static const char *const status[] = { "?", "ok", "fail", "unknown" };
        const char *st = op->status >= LC_OK && op->status <= LC_UNKNOWN ? status[op->status]
                                                                          : "?";
        char out[96] = "";

        if (op->status == LC_OK) {
                switch (op->type) {
                case LC_PUT:
                        snprintf(out, sizeof(out), " -> ver %llu",
                                 (unsigned long long) op->out_version);
                        break;
                case LC_CAS:
                case LC_GET:
                        if (op->found)
                                snprintf(out, sizeof(out), " -> %s v%llu ver %llu",
                                         op->type == LC_CAS
                                                 ? (op->succeeded ? "swapped" : "failed")
                                                 : "found",
                                         (unsigned long long) op->out_value,
                                         (unsigned long long) op->out_version);
                        else
                                snprintf(out, sizeof(out), " -> %s absent",
                                         op->type == LC_CAS
                                                 ? (op->succeeded ? "swapped" : "failed")
                                                 : "");
                        break;
                case LC_DELETE:
                        snprintf(out, sizeof(out), " -> %s",
                                 op->found ? "deleted" : "absent");
                        break;
                }
        }
        switch (op->type) {
        case LC_PUT:
                snprintf(buf, size, "c%llu put k%llu v%llu%s %s [%llu, %llu]",
                         (unsigned long long) op->client, (unsigned long long) op->key,
                         (unsigned long long) op->value, out, st,
                         (unsigned long long) op->invoke, (unsigned long long) op->complete);
                break;
        case LC_CAS:
                snprintf(buf, size, "c%llu cas k%llu v%llu->v%llu%s %s [%llu, %llu]",
                         (unsigned long long) op->client, (unsigned long long) op->key,
                         (unsigned long long) op->expect, (unsigned long long) op->value, out,
                         st, (unsigned long long) op->invoke,
                         (unsigned long long) op->complete);
                break;
        case LC_GET:
                snprintf(buf, size, "c%llu get k%llu%s %s [%llu, %llu]",
                         (unsigned long long) op->client, (unsigned long long) op->key, out,
                         st, (unsigned long long) op->invoke,
                         (unsigned long long) op->complete);
                break;
        case LC_DELETE:
                snprintf(buf, size, "c%llu delete k%llu%s %s [%llu, %llu]",
                         (unsigned long long) op->client, (unsigned long long) op->key, out,
                         st, (unsigned long long) op->invoke,
                         (unsigned long long) op->complete);
                break;
        default:
                snprintf(buf, size, "c%llu bad op type %d", (unsigned long long) op->client,
                         (int) op->type);
        }
}
