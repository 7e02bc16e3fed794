/* tests/unit/raft/test_log.c: the in-memory log's storage (daemon/raft/log.c)
 * against a model: random appends (empty, small and larger-than-a-block
 * payloads), suffix truncations and compactions across chunk and block
 * boundaries, every entry read back after each step; and the memory a
 * compaction must give back (whole chunks and blocks, nothing kept behind).
 *
 * Owns: the data structure only; which entries the protocol appends,
 * truncates or compacts is tested through the harness and the simulator.
 * Must never: depend on the chunk or block sizes beyond crossing them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/raft/raft_private.h"

/* The model: term and length of every index held; the payload bytes are a
 * function of (index, term, position), so nothing else needs keeping. */
struct model {
        raft_index_t base;
        raft_term_t base_term;
        size_t n;
        raft_term_t *term; /* by index - base - 1 */
        size_t *len;
        size_t cap;
};

static uint8_t byte_at(raft_index_t idx, raft_term_t term, size_t j)
{
        return (uint8_t) (idx * 31 + term * 7 + j);
}

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t next_rand(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static size_t random_len(void)
{
        uint64_t r = next_rand() % 1000;

        if (r < 100)
                return 0;
        if (r < 999)
                return 1 + next_rand() % 200;
        return RAFT_LOG_BLOCK + 1 + next_rand() % 1000; /* a block of its own */
}

static void append(struct raft_log *l, struct model *m, raft_term_t term, size_t len)
{
        static uint8_t buf[RAFT_LOG_BLOCK + 2000];
        struct raft_entry e = { 0 };
        size_t j;

        e.index = m->base + m->n + 1;
        e.term = term;
        e.type = RAFT_ENTRY_COMMAND;
        e.leader_time_ms = e.index;
        e.len = len;
        for (j = 0; j < len; j++)
                buf[j] = byte_at(e.index, term, j);
        e.data = len > 0 ? buf : NULL;
        assert_int_equal(raft__log_append(l, &e), RAFT_OK);
        if (m->n == m->cap) {
                m->cap = m->cap ? 2 * m->cap : 1024;
                m->term = realloc(m->term, m->cap * sizeof(*m->term));
                m->len = realloc(m->len, m->cap * sizeof(*m->len));
                assert_non_null(m->term);
                assert_non_null(m->len);
        }
        m->term[m->n] = term;
        m->len[m->n] = len;
        m->n++;
}

static void check_entry(const struct raft_log *l, const struct model *m, size_t i)
{
        raft_index_t idx = m->base + 1 + i;
        const struct raft_entry *e = raft__log_get(l, idx);
        size_t j;

        assert_non_null(e);
        assert_int_equal(e->index, idx);
        assert_int_equal(e->term, m->term[i]);
        assert_int_equal(e->len, m->len[i]);
        assert_int_equal(e->leader_time_ms, idx);
        for (j = 0; j < e->len; j++)
                if (e->data[j] != byte_at(idx, m->term[i], j))
                        fail_msg("index %llu byte %zu differs", (unsigned long long) idx, j);
}

static void check_all(const struct raft_log *l, const struct model *m)
{
        size_t i;

        assert_int_equal(raft__log_last_index(l), m->base + m->n);
        assert_int_equal(raft__log_last_term(l), m->n ? m->term[m->n - 1] : m->base_term);
        assert_int_equal(raft__log_term_at(l, m->base), m->base_term);
        assert_null(raft__log_get(l, m->base));
        assert_null(raft__log_get(l, m->base + m->n + 1));
        for (i = 0; i < m->n; i++)
                check_entry(l, m, i);
}

/* The storage holds no more chunks and blocks than the entries need. */
static void check_no_leftovers(const struct raft_log *l)
{
        size_t i, with_bytes = 0;

        assert_true(l->head < RAFT_LOG_CHUNK);
        assert_int_equal(l->n_chunks, (l->head + l->n + RAFT_LOG_CHUNK - 1) / RAFT_LOG_CHUNK);
        for (i = 0; i < l->n_blocks; i++) {
                assert_true(l->blocks[i]->last_index > l->base_index);
                assert_true(l->blocks[i]->first_index <= l->blocks[i]->last_index);
                if (i > 0)
                        assert_true(l->blocks[i]->first_index > l->blocks[i - 1]->last_index);
                with_bytes += l->blocks[i]->used > 0;
        }
        assert_int_equal(with_bytes, l->n_blocks);
}

static void truncate_model(struct raft_log *l, struct model *m, raft_index_t from)
{
        raft__log_truncate(l, from);
        m->n = from - m->base - 1;
}

static void compact_model(struct raft_log *l, struct model *m, raft_index_t idx)
{
        raft_term_t term = m->term[idx - m->base - 1];

        raft__log_set_base(l, idx, term);
        memmove(m->term, m->term + (idx - m->base), (m->n - (idx - m->base)) * sizeof(*m->term));
        memmove(m->len, m->len + (idx - m->base), (m->n - (idx - m->base)) * sizeof(*m->len));
        m->n -= idx - m->base;
        m->base = idx;
        m->base_term = term;
}

static void model_free(struct model *m)
{
        free(m->term);
        free(m->len);
}

/* Every test gets an empty log and its model; teardown frees both. */
struct fixture {
        struct raft_log l;
        struct model m;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        raft__log_init(&f->l);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        raft__log_free(&f->l);
        model_free(&f->m);
        free(f);
        return 0;
}

/* Random appends, truncations and compactions, checked against the model. */
static void test_random_against_model(void **state)
{
        struct fixture *f = *state;
        struct raft_log *l = &f->l;
        struct model *m = &f->m;
        raft_term_t term = 1;
        int step;

        for (step = 0; step < 400; step++) {
                uint64_t op = next_rand() % 10;
                size_t k, burst = 1 + next_rand() % (RAFT_LOG_CHUNK / 2);

                if (op < 7 || m->n == 0) {
                        for (k = 0; k < burst; k++)
                                append(l, m, term, random_len());
                } else if (op < 9) {
                        /* A new leader overwrites a suffix. */
                        truncate_model(l, m, m->base + 1 + next_rand() % m->n);
                        term++;
                } else {
                        compact_model(l, m, m->base + 1 + next_rand() % m->n);
                }
                check_all(l, m);
                check_no_leftovers(l);
        }
}

/* A compaction frees every chunk and block its entries used: after writing
 * many chunks' worth and compacting to the last entry, one chunk and one
 * block remain. */
static void test_compaction_gives_memory_back(void **state)
{
        struct fixture *f = *state;
        struct raft_log *l = &f->l;
        struct model *m = &f->m;
        size_t k;

        for (k = 0; k < 10 * RAFT_LOG_CHUNK; k++)
                append(l, m, 1, 100);
        assert_true(l->n_chunks >= 10);
        assert_true(l->n_blocks > 10);
        compact_model(l, m, m->base + m->n - 1);
        assert_int_equal(l->n_chunks, 1);
        assert_int_equal(l->n_blocks, 1);
        check_all(l, m);
        compact_model(l, m, m->base + m->n);
        assert_int_equal(l->n_chunks, 0);
        assert_int_equal(l->n_blocks, 0);
        for (k = 0; k < 3; k++)
                append(l, m, 2, 10);
        check_all(l, m);
}

/* A truncation rewinds the newest block it keeps: appending the same amount
 * again after truncating does not grow the number of blocks. */
static void test_truncation_reuses_block_space(void **state)
{
        struct fixture *f = *state;
        struct raft_log *l = &f->l;
        struct model *m = &f->m;
        size_t k, blocks;
        int round;

        for (k = 0; k < 3000; k++)
                append(l, m, 1, 150);
        blocks = l->n_blocks;
        for (round = 0; round < 20; round++) {
                truncate_model(l, m, m->base + 2001);
                for (k = 0; k < 999; k++)
                        append(l, m, 2 + (raft_term_t) round, 150);
                assert_int_equal(l->n_blocks, blocks);
        }
        check_all(l, m);
        check_no_leftovers(l);
}

/* A truncation frees the chunks past the last entry kept, including when
 * that entry fills its chunk exactly. */
static void test_truncation_frees_whole_chunks(void **state)
{
        struct fixture *f = *state;
        struct raft_log *l = &f->l;
        struct model *m = &f->m;
        size_t k;

        for (k = 0; k < 2 * RAFT_LOG_CHUNK + 5; k++)
                append(l, m, 1, 8);
        assert_int_equal(l->n_chunks, 3);
        truncate_model(l, m, RAFT_LOG_CHUNK + 1);
        assert_int_equal(l->n_chunks, 1);
        check_all(l, m);
        compact_model(l, m, 10);
        truncate_model(l, m, RAFT_LOG_CHUNK - 10 + 1 + 10);
        check_no_leftovers(l);
        check_all(l, m);
}

/* Entries without payload take no block: compacting a log of only those
 * (NOOPs, empty commands) works with no block at all (UBSan: sim seed 1155
 * under the sanitizers once passed memmove a NULL block array). */
static void test_compaction_without_any_payload(void **state)
{
        struct fixture *f = *state;
        struct raft_log *l = &f->l;
        struct model *m = &f->m;
        size_t k;

        for (k = 0; k < 10; k++)
                append(l, m, 1, 0);
        assert_int_equal(l->n_blocks, 0);
        compact_model(l, m, 5);
        assert_int_equal(l->n_blocks, 0);
        append(l, m, 1, 7);
        append(l, m, 1, 7);
        compact_model(l, m, 11);
        assert_int_equal(l->n_blocks, 1);
        check_all(l, m);
        check_no_leftovers(l);
}

/* A snapshot that disagrees with the log (or lies beyond it) drops it all;
 * the dropped entries' stamps stay a floor for new ones. */
static void test_base_beyond_log_drops_all(void **state)
{
        struct fixture *f = *state;
        struct raft_log *l = &f->l;
        struct model *m = &f->m;
        size_t k;

        for (k = 0; k < 5000; k++)
                append(l, m, 3, 50);
        raft__log_set_base(l, 10000, 4);
        assert_int_equal(l->n, 0);
        assert_int_equal(l->n_chunks, 0);
        assert_int_equal(l->n_blocks, 0);
        assert_int_equal(raft__log_last_index(l), 10000);
        assert_int_equal(raft__log_last_term(l), 4);
        assert_int_equal(raft__log_next_time(l, 1), 5000);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
                cmocka_unit_test_setup_teardown(test_compaction_gives_memory_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncation_reuses_block_space, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncation_frees_whole_chunks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_compaction_without_any_payload, setup, teardown),
                cmocka_unit_test_setup_teardown(test_base_beyond_log_drops_all, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
