/* tests/unit/storage/test_evlog.c: the evlog API rules.
 *
 * Owns: tests of replay after reopen, consecutive sequence numbers, group
 * commit (one write + one fdatasync per batch), rotation, the durable
 * callback, the directory lock, snapshots and compaction.
 *
 * Must never: sleep to wait for the storage thread (it waits on conditions).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/storage/segment.h"
#include "tests/unit/storage/helpers.h"

static void test_reopen_replays_every_appended_event(void **state)
{
        struct io_sim *sim = io_sim_new();
        struct storage_error err;
        struct collected c;
        struct evlog *log;

        assert_int_equal(test_open(sim, 0, &c, &log, &err), 0);
        assert_int_equal(c.n, 0);
        assert_int_equal(evlog_next_seq(log), 1);
        assert_int_equal(test_append_range(log, 1, 500, 0), 0);
        assert_int_equal(evlog_flush(log, 500), 0);
        assert_int_equal(evlog_durable(log), 500);
        assert_int_equal(evlog_close(log), 0);

        assert_int_equal(test_open(sim, 0, &c, &log, &err), 0);
        assert_int_equal(c.n, 500);
        assert_int_equal(c.first_seq, 1);
        assert_int_equal(c.last_seq, 500);
        assert_false(c.mismatch);
        assert_int_equal(evlog_next_seq(log), 501);
        assert_string_equal(evlog_open_warning(log), "");
        assert_int_equal(evlog_close(log), 0);
        io_sim_free(sim);
}

static void test_append_rejects_non_consecutive_seq(void **state)
{
        struct io_sim *sim = io_sim_new();
        struct storage_error err;
        struct collected c;
        struct evlog *log;
        uint8_t p[4] = { 1, 2, 3, 4 };

        assert_int_equal(test_open(sim, 0, &c, &log, &err), 0);
        assert_int_equal(evlog_append(log, 2, 1, p, 4), -EINVAL);  /* gap */
        assert_int_equal(evlog_append(log, 1, 1, p, 4), 0);
        assert_int_equal(evlog_append(log, 1, 1, p, 4), -EINVAL);  /* repeat */
        assert_int_equal(evlog_append(log, 2, 0, p, 4), -EINVAL);  /* type 0 invalid */
        assert_int_equal(evlog_append(log, 2, 6, p, 4), -EINVAL);  /* unknown type */
        assert_int_equal(evlog_append(log, 2, 1, p, 4), 0);
        assert_int_equal(evlog_flush(log, 2), 0);
        assert_int_equal(evlog_close(log), 0);
        io_sim_free(sim);
}

/* An I/O layer over the simulated disk whose fdatasync can be held. */
struct gated_io {
        struct storage_io io;
        const struct storage_io *inner;
        pthread_mutex_t mu;
        pthread_cond_t cond;
        bool hold;
        bool inside;
        int pwrites, syncs;
};

static struct gated_io *gate_of(void *ctx)
{
        return ctx;
}

static ssize_t gated_pwrite(void *ctx, int fd, const void *b, size_t n, uint64_t off)
{
        struct gated_io *g = gate_of(ctx);
        pthread_mutex_lock(&g->mu);
        g->pwrites++;
        pthread_mutex_unlock(&g->mu);
        return g->inner->pwrite(g->inner->ctx, fd, b, n, off);
}

static int gated_fdatasync(void *ctx, int fd)
{
        struct gated_io *g = gate_of(ctx);
        pthread_mutex_lock(&g->mu);
        g->syncs++;
        g->inside = true;
        pthread_cond_broadcast(&g->cond);
        while (g->hold)
                pthread_cond_wait(&g->cond, &g->mu);
        g->inside = false;
        pthread_mutex_unlock(&g->mu);
        return g->inner->fdatasync(g->inner->ctx, fd);
}

#define FWD(name, ret, params, args)                                    \
        static ret gated_##name params                                  \
        {                                                               \
                struct gated_io *g = gate_of(ctx);                      \
                return g->inner->name args;                             \
        }
FWD(open, int, (void *ctx, const char *p, int f), (g->inner->ctx, p, f))
FWD(close, int, (void *ctx, int fd), (g->inner->ctx, fd))
FWD(pread, ssize_t, (void *ctx, int fd, void *b, size_t n, uint64_t o),
    (g->inner->ctx, fd, b, n, o))
FWD(fsync, int, (void *ctx, int fd), (g->inner->ctx, fd))
FWD(ftruncate, int, (void *ctx, int fd, uint64_t n), (g->inner->ctx, fd, n))
FWD(fallocate, int, (void *ctx, int fd, uint64_t o, uint64_t n), (g->inner->ctx, fd, o, n))
FWD(size, int, (void *ctx, int fd, uint64_t *n), (g->inner->ctx, fd, n))
FWD(rename, int, (void *ctx, const char *a, const char *b), (g->inner->ctx, a, b))
FWD(unlink, int, (void *ctx, const char *p), (g->inner->ctx, p))
FWD(mkdir, int, (void *ctx, const char *p), (g->inner->ctx, p))
FWD(fsync_dir, int, (void *ctx, const char *p), (g->inner->ctx, p))
FWD(list_dir, int, (void *ctx, const char *d, char ***n, size_t *k), (g->inner->ctx, d, n, k))
FWD(lock, int, (void *ctx, int fd), (g->inner->ctx, fd))

static void test_group_commit_one_write_and_sync_per_batch(void **state)
{
        struct io_sim *sim = io_sim_new();
        struct gated_io g = {
                .io = { .open = gated_open, .close = gated_close, .pread = gated_pread,
                        .pwrite = gated_pwrite, .fdatasync = gated_fdatasync,
                        .fsync = gated_fsync, .ftruncate = gated_ftruncate,
                        .fallocate = gated_fallocate, .size = gated_size,
                        .rename = gated_rename, .unlink = gated_unlink, .mkdir = gated_mkdir,
                        .fsync_dir = gated_fsync_dir, .list_dir = gated_list_dir,
                        .lock = gated_lock },
                .inner = io_sim_io(sim),
        };
        struct evlog_options o = { .dir = TEST_DIR, .node_id = TEST_NODE, .io = &g.io };
        struct storage_error err;
        struct collected c;
        struct recovery_callbacks cb = test_collector(&c, 0);
        struct evlog *log;
        int w0, s0;

        g.io.ctx = &g;
        pthread_mutex_init(&g.mu, NULL);
        pthread_cond_init(&g.cond, NULL);
        assert_int_equal(evlog_open(&o, &cb, &log, &err), 0);
        pthread_mutex_lock(&g.mu);
        w0 = g.pwrites;
        s0 = g.syncs;
        g.hold = true;
        pthread_mutex_unlock(&g.mu);

        /* Event 1 goes out alone; the storage thread then sits in fdatasync. */
        assert_int_equal(test_append_range(log, 1, 1, 0), 0);
        pthread_mutex_lock(&g.mu);
        while (!g.inside)
                pthread_cond_wait(&g.cond, &g.mu);
        pthread_mutex_unlock(&g.mu);
        /* Everything appended while that sync runs must form one batch. */
        assert_int_equal(test_append_range(log, 2, 300, 0), 0);
        assert_int_equal(evlog_durable(log), 0); /* nothing durable before the sync */
        pthread_mutex_lock(&g.mu);
        g.hold = false;
        pthread_cond_broadcast(&g.cond);
        pthread_mutex_unlock(&g.mu);
        assert_int_equal(evlog_flush(log, 300), 0);

        pthread_mutex_lock(&g.mu);
        assert_int_equal(g.pwrites - w0, 2);
        assert_int_equal(g.syncs - s0, 2);
        pthread_mutex_unlock(&g.mu);
        assert_int_equal(evlog_close(log), 0);
        pthread_cond_destroy(&g.cond);
        pthread_mutex_destroy(&g.mu);
        io_sim_free(sim);
}

static void test_rotation_creates_complete_segments_replayed_in_order(void **state)
{
        struct io_sim *sim = io_sim_new();
        const struct storage_io *io = io_sim_io(sim);
        struct storage_error err;
        struct collected c;
        struct evlog *log;
        char **names;
        size_t n, segs = 0;

        assert_int_equal(test_open(sim, 1024, &c, &log, &err), 0);
        for (uint64_t s = 1; s <= 400; s += 10) {
                assert_int_equal(test_append_range(log, s, s + 9, 0), 0);
                assert_int_equal(evlog_flush(log, s + 9), 0);
        }
        assert_int_equal(evlog_close(log), 0);
        assert_int_equal(io->list_dir(io->ctx, TEST_DIR, &names, &n), 0);
        for (size_t i = 0; i < n; i++) {
                uint64_t seq;
                assert_null(strstr(names[i], ".tmp"));
                segs += segment_name_parse(names[i], &seq);
        }
        storage_names_free(names, n);
        assert_true(segs >= 10);

        assert_int_equal(test_open(sim, 1024, &c, &log, &err), 0);
        assert_int_equal(c.n, 400);
        assert_false(c.mismatch);
        assert_int_equal(evlog_close(log), 0);
        io_sim_free(sim);
}

struct durable_seen {
        pthread_mutex_t mu;
        pthread_t caller;
        uint64_t last;
        bool backwards, on_caller_thread;
};

static void on_durable(void *ud, uint64_t durable)
{
        struct durable_seen *d = ud;
        pthread_mutex_lock(&d->mu);
        if (durable < d->last)
                d->backwards = true;
        if (pthread_equal(pthread_self(), d->caller))
                d->on_caller_thread = true;
        d->last = durable;
        pthread_mutex_unlock(&d->mu);
}

static void test_durable_callback_runs_on_storage_thread_monotonic(void **state)
{
        struct io_sim *sim = io_sim_new();
        struct durable_seen d = { .caller = pthread_self() };
        struct evlog_options o = { .dir = TEST_DIR, .node_id = TEST_NODE,
                                   .io = io_sim_io(sim), .userdata = &d,
                                   .on_durable = on_durable };
        struct storage_error err;
        struct evlog *log;

        pthread_mutex_init(&d.mu, NULL);
        assert_int_equal(evlog_open(&o, NULL, &log, &err), 0);
        for (uint64_t s = 1; s <= 200; s++)
                assert_int_equal(test_append_range(log, s, s, 0), 0);
        assert_int_equal(evlog_flush(log, 200), 0);
        assert_int_equal(evlog_close(log), 0);
        assert_int_equal(d.last, 200);
        assert_false(d.backwards);
        assert_false(d.on_caller_thread);
        pthread_mutex_destroy(&d.mu);
        io_sim_free(sim);
}

static void test_second_open_of_locked_dir_fails_naming_dir(void **state)
{
        char dir[] = "/tmp/rafktor-lock-XXXXXX";
        struct evlog_options o = { .node_id = TEST_NODE };
        struct storage_error err;
        struct evlog *a, *b;
        char path[256];

        assert_non_null(mkdtemp(dir));
        o.dir = dir;
        assert_int_equal(evlog_open(&o, NULL, &a, &err), 0);
        assert_int_equal(evlog_open(&o, NULL, &b, &err), -EBUSY);
        assert_non_null(strstr(err.msg, dir));
        assert_non_null(strstr(err.msg, "in use"));
        assert_int_equal(evlog_close(a), 0);
        /* Once released it opens again. */
        assert_int_equal(evlog_open(&o, NULL, &b, &err), 0);
        assert_int_equal(evlog_close(b), 0);
        snprintf(path, sizeof(path), "%s/LOCK", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/0000000000000001.seg", dir);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_snapshot_then_later_events_replayed_covered_segments_deleted(void **state)
{
        struct io_sim *sim = io_sim_new();
        const struct storage_io *io = io_sim_io(sim);
        uint8_t conf[3] = { 7, 8, 9 }, data[5] = { 1, 2, 3, 4, 5 };
        struct snapshot_meta m = { .seq = 250, .index = 40, .term = 3, .config = conf,
                                   .config_len = 3 };
        struct storage_error err;
        struct collected c;
        struct evlog *log;
        char **names;
        size_t n;
        uint64_t min_seg = UINT64_MAX, seq;

        assert_int_equal(test_open(sim, 2048, &c, &log, &err), 0);
        for (uint64_t s = 1; s <= 300; s += 10) {
                assert_int_equal(test_append_range(log, s, s + 9, 0), 0);
                assert_int_equal(evlog_flush(log, s + 9), 0);
        }
        assert_int_equal(evlog_snapshot(log, &m, data, sizeof(data), &err), 0);
        assert_int_equal(test_append_range(log, 301, 320, 0), 0);
        assert_int_equal(evlog_close(log), 0);

        assert_int_equal(io->list_dir(io->ctx, TEST_DIR, &names, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (segment_name_parse(names[i], &seq) && seq < min_seg)
                        min_seg = seq;
        storage_names_free(names, n);
        assert_true(min_seg > 1);        /* covered segments are gone */
        assert_true(min_seg <= 251);     /* nothing after the snapshot is */

        assert_int_equal(test_open(sim, 2048, &c, &log, &err), 0);
        assert_true(c.has_snapshot);
        assert_int_equal(c.snap_seq, 250);
        assert_int_equal(c.first_seq, 251);
        assert_int_equal(c.last_seq, 320);
        assert_false(c.mismatch);
        assert_int_equal(evlog_close(log), 0);
        {
                struct snapshot_meta got;
                uint8_t *d;
                size_t len;
                assert_int_equal(snapshot_read(io, TEST_DIR, 250, &got, &d, &len, &err), 0);
                assert_int_equal(got.index, 40);
                assert_int_equal(got.term, 3);
                assert_int_equal(got.config_len, 3);
                assert_memory_equal(got.config, conf, 3);
                assert_int_equal(len, 5);
                assert_memory_equal(d, data, 5);
                snapshot_meta_clear(&got);
                free(d);
        }
        io_sim_free(sim);
}

static void test_node_id_mismatch_is_refused(void **state)
{
        struct io_sim *sim = io_sim_new();
        struct evlog_options o = { .dir = TEST_DIR, .node_id = "other", .io = io_sim_io(sim) };
        struct storage_error err;
        struct collected c;
        struct evlog *log;

        assert_int_equal(test_open(sim, 0, &c, &log, &err), 0);
        assert_int_equal(evlog_close(log), 0);
        assert_int_equal(evlog_open(&o, NULL, &log, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "0000000000000001.seg"));
        assert_non_null(strstr(err.msg, "node-a"));
        io_sim_free(sim);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reopen_replays_every_appended_event),
                cmocka_unit_test(test_append_rejects_non_consecutive_seq),
                cmocka_unit_test(test_group_commit_one_write_and_sync_per_batch),
                cmocka_unit_test(test_rotation_creates_complete_segments_replayed_in_order),
                cmocka_unit_test(test_durable_callback_runs_on_storage_thread_monotonic),
                cmocka_unit_test(test_second_open_of_locked_dir_fails_naming_dir),
                cmocka_unit_test(test_snapshot_then_later_events_replayed_covered_segments_deleted),
                cmocka_unit_test(test_node_id_mismatch_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
