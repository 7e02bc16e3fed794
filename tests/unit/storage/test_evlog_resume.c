/* tests/unit/storage/test_evlog_resume.c: the event log after a full disk.
 *
 * Owns: the rules of the disk-full state (daemon/storage/writer.c): ENOSPC
 * keeps every appended event in memory and reports nothing new durable; the
 * segment is cut back to its last durable record before a retry; a retry
 * (evlog_resume() or the automatic back-off) re-writes the failed batch from
 * memory once space is free, so nothing appended is lost; EIO during the
 * disk-full state is fatal; and a crash at any I/O call of an
 * ENOSPC-then-freed schedule recovers a prefix holding every durable event.
 *
 * The disk is io_sim (tests/unit/storage/io_sim.h, LazyFS-like) behind a
 * capacity: pwrite may add only `room` more bytes; a write that does not fit
 * writes what fits (a torn record) and fails ENOSPC, like a real file system.
 *
 * Must never: sleep (waits are on conditions with a deadline that fails the
 * test), or pass when the disk never filled (every test checks ENOSPC was hit).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/storage/segment.h"
#include "tests/unit/storage/helpers.h"

#define UNLIMITED UINT64_MAX

/* ---- a disk with a capacity ------------------------------------------------------------ */

struct disk {
        struct io_sim *sim;
        const struct storage_io *in;
        struct storage_io io;
        pthread_mutex_t mu;
        uint64_t room;          /* bytes pwrite may still add (UNLIMITED: no limit) */
        unsigned sync_enospc;   /* the next n fdatasyncs fail ENOSPC (data already written) */
        unsigned enospc;        /* ENOSPC answers given */
};

static struct disk *D(void *ctx)
{
        return ctx;
}

static int d_open(void *c, const char *p, int f)
{
        return D(c)->in->open(D(c)->in->ctx, p, f);
}
static int d_close(void *c, int fd)
{
        return D(c)->in->close(D(c)->in->ctx, fd);
}
static ssize_t d_pread(void *c, int fd, void *b, size_t l, uint64_t o)
{
        return D(c)->in->pread(D(c)->in->ctx, fd, b, l, o);
}
static int d_fsync(void *c, int fd)
{
        return D(c)->in->fsync(D(c)->in->ctx, fd);
}
static int d_ftruncate(void *c, int fd, uint64_t l)
{
        return D(c)->in->ftruncate(D(c)->in->ctx, fd, l);
}
static int d_fallocate(void *c, int fd, uint64_t o, uint64_t l)
{
        return D(c)->in->fallocate(D(c)->in->ctx, fd, o, l);
}
static int d_size(void *c, int fd, uint64_t *s)
{
        return D(c)->in->size(D(c)->in->ctx, fd, s);
}
static int d_rename(void *c, const char *a, const char *b)
{
        return D(c)->in->rename(D(c)->in->ctx, a, b);
}
static int d_unlink(void *c, const char *p)
{
        return D(c)->in->unlink(D(c)->in->ctx, p);
}
static int d_mkdir(void *c, const char *p)
{
        return D(c)->in->mkdir(D(c)->in->ctx, p);
}
static int d_fsync_dir(void *c, const char *p)
{
        return D(c)->in->fsync_dir(D(c)->in->ctx, p);
}
static int d_list_dir(void *c, const char *p, char ***n, size_t *k)
{
        return D(c)->in->list_dir(D(c)->in->ctx, p, n, k);
}
static int d_lock(void *c, int fd)
{
        return D(c)->in->lock(D(c)->in->ctx, fd);
}

static ssize_t d_pwrite(void *c, int fd, const void *b, size_t l, uint64_t o)
{
        struct disk *d = c;
        size_t fits;
        ssize_t n;

        pthread_mutex_lock(&d->mu);
        fits = d->room == UNLIMITED || d->room >= l ? l : (size_t)d->room;
        if (d->room != UNLIMITED)
                d->room -= fits;
        if (fits < l)
                d->enospc++;
        pthread_mutex_unlock(&d->mu);
        if (fits == 0)
                return -ENOSPC;
        n = d->in->pwrite(d->in->ctx, fd, b, fits, o);
        return n < 0 || fits == l ? n : -ENOSPC;
}

static int d_fdatasync(void *c, int fd)
{
        struct disk *d = c;
        bool fail;

        pthread_mutex_lock(&d->mu);
        fail = d->sync_enospc > 0;
        if (fail) {
                d->sync_enospc--;
                d->enospc++;
        }
        pthread_mutex_unlock(&d->mu);
        return fail ? -ENOSPC : d->in->fdatasync(d->in->ctx, fd);
}

static struct disk *disk_new(void)
{
        struct disk *d = calloc(1, sizeof(*d));

        assert_non_null(d);
        d->sim = io_sim_new();
        d->in = io_sim_io(d->sim);
        d->room = UNLIMITED;
        pthread_mutex_init(&d->mu, NULL);
        d->io = (struct storage_io){
                .ctx = d, .open = d_open, .close = d_close, .pread = d_pread,
                .pwrite = d_pwrite, .fdatasync = d_fdatasync, .fsync = d_fsync,
                .ftruncate = d_ftruncate, .fallocate = d_fallocate, .size = d_size,
                .rename = d_rename, .unlink = d_unlink, .mkdir = d_mkdir,
                .fsync_dir = d_fsync_dir, .list_dir = d_list_dir, .lock = d_lock,
        };
        return d;
}

static void disk_free(struct disk *d)
{
        io_sim_free(d->sim);
        pthread_mutex_destroy(&d->mu);
        free(d);
}

static void disk_set_room(struct disk *d, uint64_t room)
{
        pthread_mutex_lock(&d->mu);
        d->room = room;
        pthread_mutex_unlock(&d->mu);
}

static unsigned disk_enospc(struct disk *d)
{
        unsigned n;

        pthread_mutex_lock(&d->mu);
        n = d->enospc;
        pthread_mutex_unlock(&d->mu);
        return n;
}

/* ---- what the log tells its user --------------------------------------------------------- */

struct seen {
        pthread_mutex_t mu;
        pthread_cond_t cond;
        int errors, last_code;
        uint64_t durable;
};

static void seen_error(void *ud, int code, const char *msg)
{
        struct seen *s = ud;

        (void)msg;
        pthread_mutex_lock(&s->mu);
        s->errors++;
        s->last_code = code;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->mu);
}

static void seen_durable(void *ud, uint64_t durable)
{
        struct seen *s = ud;

        pthread_mutex_lock(&s->mu);
        s->durable = durable;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->mu);
}

static void seen_init(struct seen *s)
{
        memset(s, 0, sizeof(*s));
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cond, NULL);
}

static void seen_destroy(struct seen *s)
{
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cond);
}

static int open_log(struct disk *d, uint64_t seg_size, int retry_min_ms, struct seen *s,
                    struct collected *c, struct evlog **ret)
{
        struct recovery_callbacks cb = test_collector(c, 0);
        struct evlog_options o = {
                .dir = TEST_DIR, .node_id = TEST_NODE, .io = &d->io, .segment_size = seg_size,
                .userdata = s, .on_error = s ? seen_error : NULL,
                .on_durable = s ? seen_durable : NULL,
                .enospc_retry_min_ms = retry_min_ms, .enospc_retry_max_ms = 4 * retry_min_ms,
        };
        struct storage_error err;
        int r = evlog_open(&o, &cb, ret, &err);

        /* A crash test's run opens with the machine already dead: quiet. */
        if (r < 0 && r != -EIO)
                print_message("evlog_open: %s\n", err.msg);
        return r;
}

/* Bytes of the file holding events from first_seq on (the test's only segment). */
static size_t segment_len(struct disk *d, uint64_t first_seq)
{
        char name[SEGMENT_NAME_LEN + 1], path[64];
        uint8_t *data;
        size_t len;

        segment_name(first_seq, name);
        snprintf(path, sizeof(path), "%s/%s", TEST_DIR, name);
        assert_int_equal(io_sim_get(d->sim, path, &data, &len), 0);
        free(data);
        return len;
}

/* Record bytes of events from..to. */
static size_t records_len(uint64_t from, uint64_t to)
{
        uint8_t buf[256];
        size_t n = 0;

        for (uint64_t s = from; s <= to; s++)
                n += segment_record_size(test_payload(s, 0, buf, sizeof(buf)));
        return n;
}

/* Reopens the directory and expects events 1..last exactly, with no repair. */
static void expect_recovered(struct disk *d, uint64_t last)
{
        struct collected c;
        struct evlog *log;

        assert_int_equal(open_log(d, 1u << 20, -1, NULL, &c, &log), 0);
        assert_false(c.mismatch);
        assert_int_equal(c.n, last);
        assert_int_equal(c.last_seq, last);
        assert_string_equal(evlog_open_warning(log), "");
        assert_int_equal(evlog_close(log), 0);
}

/* ---- the rules --------------------------------------------------------------------------- */

static void test_full_disk_keeps_appends_and_resume_writes_them_all(void **state)
{
        struct disk *d = disk_new();
        struct collected c;
        struct evlog *log;
        struct seen s;
        char msg[1200];

        (void)state;
        seen_init(&s);
        assert_int_equal(open_log(d, 1u << 20, -1, &s, &c, &log), 0);
        assert_int_equal(test_append_range(log, 1, 20, 0), 0);
        assert_int_equal(evlog_flush(log, 20), 0);
        assert_int_equal(evlog_resume(log), -EALREADY);

        /* Room for part of one record: the write tears, the log goes full. */
        disk_set_room(d, 30);
        assert_int_equal(test_append_range(log, 21, 40, 0), 0);
        assert_int_equal(evlog_flush(log, 40), -ENOSPC);
        assert_int_equal(evlog_error(log, msg, sizeof(msg)), -ENOSPC);
        assert_non_null(strstr(msg, "disk full"));
        assert_non_null(strstr(msg, TEST_DIR "/"));
        assert_int_equal(evlog_durable(log), 20);

        /* Still full: appends are taken, a retry fails quietly (one callback). */
        assert_int_equal(test_append_range(log, 41, 50, 0), 0);
        assert_int_equal(evlog_resume(log), 0);
        assert_int_equal(evlog_flush(log, 50), -ENOSPC);
        assert_int_equal(evlog_durable(log), 20);
        assert_true(disk_enospc(d) >= 2);
        pthread_mutex_lock(&s.mu);
        assert_int_equal(s.errors, 1);
        assert_int_equal(s.last_code, -ENOSPC);
        pthread_mutex_unlock(&s.mu);

        /* Space freed: one retry writes everything, in order. */
        disk_set_room(d, UNLIMITED);
        assert_int_equal(evlog_resume(log), 0);
        assert_int_equal(evlog_flush(log, 50), 0);
        assert_int_equal(evlog_error(log, NULL, 0), 0);
        assert_int_equal(evlog_durable(log), 50);
        assert_int_equal(test_append_range(log, 51, 55, 0), 0);
        assert_int_equal(evlog_flush(log, 55), 0);
        assert_int_equal(evlog_close(log), 0);
        pthread_mutex_lock(&s.mu);
        assert_int_equal(s.errors, 1);
        pthread_mutex_unlock(&s.mu);
        expect_recovered(d, 55);
        seen_destroy(&s);
        disk_free(d);
}

static void test_torn_write_at_enospc_is_cut_back_before_the_retry(void **state)
{
        size_t durable_end = SEGMENT_HEADER_SIZE + records_len(1, 10);
        struct disk *d = disk_new();
        struct collected c;
        struct evlog *log;

        (void)state;
        assert_int_equal(open_log(d, 1u << 20, -1, NULL, &c, &log), 0);
        assert_int_equal(test_append_range(log, 1, 10, 0), 0);
        assert_int_equal(evlog_flush(log, 10), 0);
        assert_int_equal(segment_len(d, 1), durable_end);

        disk_set_room(d, 17);
        assert_int_equal(test_append_range(log, 11, 20, 0), 0);
        assert_int_equal(evlog_flush(log, 20), -ENOSPC);
        /* The failed write left a partial record behind the durable end. */
        assert_int_equal(segment_len(d, 1), durable_end + 17);
        /* A retry on a disk still full first cuts it off. */
        assert_int_equal(evlog_resume(log), 0);
        assert_int_equal(evlog_flush(log, 20), -ENOSPC);
        assert_int_equal(segment_len(d, 1), durable_end);

        disk_set_room(d, UNLIMITED);
        assert_int_equal(evlog_resume(log), 0);
        assert_int_equal(evlog_flush(log, 20), 0);
        assert_int_equal(segment_len(d, 1), durable_end + records_len(11, 20));
        assert_int_equal(evlog_close(log), 0);
        expect_recovered(d, 20);
        disk_free(d);
}

static void test_enospc_from_fdatasync_rewrites_the_batch_from_memory(void **state)
{
        struct disk *d = disk_new();
        struct collected c;
        struct evlog *log;

        (void)state;
        assert_int_equal(open_log(d, 1u << 20, -1, NULL, &c, &log), 0);
        assert_int_equal(test_append_range(log, 1, 10, 0), 0);
        assert_int_equal(evlog_flush(log, 10), 0);
        /* The data reached the page cache, the sync failed: never trusted. */
        pthread_mutex_lock(&d->mu);
        d->sync_enospc = 1;
        pthread_mutex_unlock(&d->mu);
        assert_int_equal(test_append_range(log, 11, 20, 0), 0);
        assert_int_equal(evlog_flush(log, 20), -ENOSPC);
        assert_int_equal(evlog_durable(log), 10);
        assert_int_equal(evlog_resume(log), 0);
        assert_int_equal(evlog_flush(log, 20), 0);
        assert_int_equal(evlog_close(log), 0);
        /* What a power cut keeps (synced only) holds all 20. */
        io_sim_reboot(d->sim, 1, false);
        expect_recovered(d, 20);
        disk_free(d);
}

static void test_full_disk_during_segment_rotation_recovers(void **state)
{
        struct disk *d = disk_new();
        struct collected c;
        struct evlog *log;

        (void)state;
        /* 256-byte segments: a rotation comes every few events. */
        assert_int_equal(open_log(d, 256, -1, NULL, &c, &log), 0);
        assert_int_equal(test_append_range(log, 1, 6, 0), 0);
        assert_int_equal(evlog_flush(log, 6), 0);
        for (uint64_t next = 7, room = 0; next < 60; next += 3, room += 23) {
                disk_set_room(d, room % 150);
                assert_int_equal(test_append_range(log, next, next + 2, 0), 0);
                if (evlog_flush(log, next + 2) == -ENOSPC) {
                        disk_set_room(d, UNLIMITED);
                        assert_int_equal(evlog_resume(log), 0);
                }
                assert_int_equal(evlog_flush(log, next + 2), 0);
        }
        assert_true(disk_enospc(d) > 5);
        assert_int_equal(evlog_close(log), 0);
        assert_int_equal(open_log(d, 256, -1, NULL, &c, &log), 0);
        assert_false(c.mismatch);
        assert_int_equal(c.last_seq, 60);
        assert_string_equal(evlog_open_warning(log), "");
        assert_int_equal(evlog_close(log), 0);
        disk_free(d);
}

static void test_eio_while_the_disk_is_full_is_fatal(void **state)
{
        struct disk *d = disk_new();
        struct collected c;
        struct evlog *log;
        struct seen s;

        (void)state;
        seen_init(&s);
        assert_int_equal(open_log(d, 1u << 20, -1, &s, &c, &log), 0);
        assert_int_equal(test_append_range(log, 1, 5, 0), 0);
        assert_int_equal(evlog_flush(log, 5), 0);
        disk_set_room(d, 0);
        assert_int_equal(test_append_range(log, 6, 8, 0), 0);
        assert_int_equal(evlog_flush(log, 8), -ENOSPC);
        /* The retry's truncation meets a disk that lost data. */
        io_sim_fail(d->sim, IO_SIM_FTRUNCATE, 1, -EIO);
        assert_int_equal(evlog_resume(log), 0);
        assert_int_equal(evlog_flush(log, 8), -EIO);
        assert_int_equal(evlog_error(log, NULL, 0), -EIO);
        assert_int_equal(evlog_resume(log), -EALREADY);
        assert_int_equal(test_append_range(log, 9, 9, 0), -EIO);
        pthread_mutex_lock(&s.mu);
        assert_int_equal(s.errors, 2);
        assert_int_equal(s.last_code, -EIO);
        pthread_mutex_unlock(&s.mu);
        assert_int_equal(evlog_close(log), -EIO);
        expect_recovered(d, 5);
        seen_destroy(&s);
        disk_free(d);
}

/* Waits (condition variable, 20 s deadline) until durable >= seq. */
static bool wait_durable(struct seen *s, uint64_t seq)
{
        struct timespec dl;
        int r = 0;

        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 20;
        pthread_mutex_lock(&s->mu);
        while (s->durable < seq && r != ETIMEDOUT)
                r = pthread_cond_timedwait(&s->cond, &s->mu, &dl);
        r = s->durable >= seq;
        pthread_mutex_unlock(&s->mu);
        return r;
}

static void test_automatic_retry_writes_once_space_is_freed(void **state)
{
        struct disk *d = disk_new();
        struct collected c;
        struct evlog *log;
        struct seen s;

        (void)state;
        seen_init(&s);
        assert_int_equal(open_log(d, 1u << 20, 5, &s, &c, &log), 0);
        assert_int_equal(test_append_range(log, 1, 5, 0), 0);
        assert_true(wait_durable(&s, 5));
        disk_set_room(d, 0);
        assert_int_equal(test_append_range(log, 6, 30, 0), 0);
        assert_int_equal(evlog_flush(log, 30), -ENOSPC);
        assert_int_equal(evlog_durable(log), 5);
        /* No evlog_resume(): the storage thread's own retries find the room. */
        disk_set_room(d, UNLIMITED);
        assert_true(wait_durable(&s, 30));
        assert_int_equal(evlog_error(log, NULL, 0), 0);
        assert_int_equal(evlog_close(log), 0);
        expect_recovered(d, 30);
        seen_destroy(&s);
        disk_free(d);
}

/* ---- crash at every I/O call of ENOSPC-then-freed schedules ------------------------------ */

static uint64_t rnd(uint64_t *x)
{
        uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

struct outcome {
        uint64_t appended, durable;
        bool crashed, filled;
};

static void run_full_schedule(struct disk *d, uint64_t seed, uint64_t crash_at,
                              struct outcome *o)
{
        uint64_t rng = seed, next = 1;
        struct collected c;
        struct evlog *log;

        memset(o, 0, sizeof(*o));
        if (crash_at)
                io_sim_crash_at(d->sim, crash_at);
        if (open_log(d, 200 + rnd(&rng) % 600, -1, NULL, &c, &log) < 0) {
                o->crashed = true;
                return;
        }
        for (int step = 0; step < 12; step++) {
                uint64_t k = 1 + rnd(&rng) % 6, action = rnd(&rng) % 6;

                bool failed = false;

                for (uint64_t j = 0; j < k && !failed; j++) {
                        failed = test_append_range(log, next, next, 0) < 0;
                        if (!failed)
                                o->appended = next++;
                }
                if (failed)
                        break;
                if (action == 0) {
                        disk_set_room(d, rnd(&rng) % 120); /* fills up mid-record */
                } else if (action == 1) {
                        disk_set_room(d, UNLIMITED);
                        evlog_resume(log);
                } else if (action == 2) {
                        evlog_resume(log); /* maybe still full */
                }
                if (evlog_flush(log, next - 1) == -EIO)
                        break;
        }
        disk_set_room(d, UNLIMITED);
        evlog_resume(log);
        evlog_flush(log, next - 1);
        o->durable = evlog_durable(log);
        o->filled = disk_enospc(d) > 0;
        evlog_close(log);
        o->crashed = io_sim_crashed(d->sim);
}

static void check_recovery(struct disk *d, uint64_t seed, uint64_t at, const struct outcome *o)
{
        struct collected c;
        struct evlog *log;

        disk_set_room(d, UNLIMITED);
        if (open_log(d, 512, -1, NULL, &c, &log) != 0)
                fail_msg("seed %llu crash at %llu: recovery refused", (unsigned long long)seed,
                         (unsigned long long)at);
        if (c.mismatch || (c.n && c.first_seq != 1) || c.n < o->durable || c.n > o->appended)
                fail_msg("seed %llu crash at %llu: recovered %llu events (mismatch %d), "
                         "appended %llu, durable %llu", (unsigned long long)seed,
                         (unsigned long long)at, (unsigned long long)c.n, c.mismatch,
                         (unsigned long long)o->appended, (unsigned long long)o->durable);
        assert_int_equal(test_append_range(log, c.n + 1, c.n + 3, 0), 0);
        assert_int_equal(evlog_flush(log, c.n + 3), 0);
        assert_int_equal(evlog_close(log), 0);
}

static void test_crash_at_every_call_after_enospc_recovers_durable_prefix(void **state)
{
        uint64_t crashes = 0, filled = 0;

        (void)state;
        for (uint64_t seed = 1; seed <= 60; seed++) {
                for (uint64_t at = 1;; at++) {
                        struct disk *d = disk_new();
                        struct outcome o;

                        run_full_schedule(d, seed, at, &o);
                        if (!o.crashed) {
                                filled += o.filled;
                                disk_free(d);
                                break;
                        }
                        crashes++;
                        io_sim_reboot(d->sim, seed * 1000003 + at, at % 3 != 0);
                        check_recovery(d, seed, at, &o);
                        disk_free(d);
                }
        }
        print_message("%llu crash points, %llu of 60 schedules filled the disk\n",
                      (unsigned long long)crashes, (unsigned long long)filled);
        assert_true(filled > 30);
        assert_true(crashes > 60 * 10);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_disk_keeps_appends_and_resume_writes_them_all),
                cmocka_unit_test(test_torn_write_at_enospc_is_cut_back_before_the_retry),
                cmocka_unit_test(test_enospc_from_fdatasync_rewrites_the_batch_from_memory),
                cmocka_unit_test(test_full_disk_during_segment_rotation_recovers),
                cmocka_unit_test(test_eio_while_the_disk_is_full_is_fatal),
                cmocka_unit_test(test_automatic_retry_writes_once_space_is_freed),
                cmocka_unit_test(test_crash_at_every_call_after_enospc_recovers_durable_prefix),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
