/* tests/unit/storage/test_snapshot_crash.c: snapshot writing under crashes,
 * interruptions, threads and fork(), and compaction after it.
 *
 * Owns: the properties "a crash at any I/O call of writer begin..publish
 * leaves either no snapshot or the complete one (and start-up removes any
 * temp file)", "a writer interrupted in a fork()ed child leaves only a temp
 * file, removed at open", "a child can write the file the parent publishes
 * (snapshot_writer_adopt), and a child can read it", and "after publish +
 * compaction, recovery is the snapshot (vote and tail included) plus the
 * later events; the covered segments are gone; evlog_newest_snapshot and
 * evlog_log_bytes measure the files", with the writer on another thread
 * than the appends.
 *
 * Must never: sleep or depend on timing for its verdict.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/storage/segment.h"
#include "tests/unit/storage/helpers.h"
#include "tests/unit/storage/snap_fixture.h"

#define SNAP_SEQ 30

/* Names in `dir`: counts of snapshots, writer temp files, segments. */
struct listing {
        size_t snaps, temps, segs;
        uint64_t newest_snap, seg_bytes_total;
};

static void list(const struct storage_io *io, const char *dir, struct listing *l)
{
        char **names;
        size_t n;
        uint64_t seq;

        memset(l, 0, sizeof(*l));
        assert_int_equal(io->list_dir(io->ctx, dir, &names, &n), 0);
        for (size_t i = 0; i < n; i++) {
                if (snapshot_name_parse(names[i], &seq)) {
                        l->snaps++;
                        if (seq > l->newest_snap)
                                l->newest_snap = seq;
                } else if (snapshot_tmp_name_parse(names[i])) {
                        l->temps++;
                } else if (segment_name_parse(names[i], &seq)) {
                        l->segs++;
                }
        }
        storage_names_free(names, n);
}

/* A log holding events 1..SNAP_SEQ + 5, all durable. */
static struct io_sim *log_with_events(void)
{
        struct io_sim *sim = io_sim_new();
        struct storage_error err;
        struct collected c;
        struct evlog *log;

        assert_int_equal(test_open(sim, 512, &c, &log, &err), 0);
        assert_int_equal(test_append_range(log, 1, SNAP_SEQ + 5, 0), 0);
        assert_int_equal(evlog_flush(log, SNAP_SEQ + 5), 0);
        assert_int_equal(evlog_close(log), 0);
        return sim;
}

struct crash_counts {
        uint64_t crashes, complete, none;
};

/* Writes `e` on a copy of `base` crashing at mutating call `at`, reboots
 * (variant 0 drops everything unsynced; 1..4 keep random prefixes of it:
 * torn writes, some name operations) and checks the outcome. Returns true
 * if the writer got through without crashing (the power then fails right
 * after publish returned: the snapshot must survive that). */
static bool crash_case(struct io_sim *base, const struct snap_expect *e, uint64_t at,
                       int variant, struct crash_counts *n)
{
        struct io_sim *sim = io_sim_clone(base);
        struct storage_error err;
        struct collected c;
        struct listing l;
        struct evlog *log;
        bool published;

        io_sim_crash_at(sim, at);
        published = snap_write(io_sim_io(sim), TEST_DIR, TEST_NODE, e, &err) == 0;
        if (io_sim_crashed(sim)) {
                n->crashes++;
                assert_false(published);
        } else {
                assert_true(published);
        }
        io_sim_reboot(sim, at * 7 + e->data_len * 1000 + (uint64_t)variant, variant > 0);
        list(io_sim_io(sim), TEST_DIR, &l);
        assert_true(l.snaps <= 1);
        if (published)
                assert_int_equal(l.snaps, 1);
        if (l.snaps) {
                /* Visible means complete. */
                snap_check(io_sim_io(sim), TEST_DIR, e, 65536);
                n->complete++;
        } else {
                n->none++;
        }
        /* Start-up accepts either and removes the temp file. */
        if (test_open(sim, 512, &c, &log, &err) != 0)
                fail_msg("data %zu crash at %llu: start-up refused: %s", e->data_len,
                         (unsigned long long)at, err.msg);
        assert_int_equal(c.has_snapshot, l.snaps == 1);
        assert_false(c.mismatch);
        assert_int_equal(c.n ? c.last_seq : c.snap_seq, SNAP_SEQ + 5);
        assert_int_equal(evlog_close(log), 0);
        list(io_sim_io(sim), TEST_DIR, &l);
        assert_int_equal(l.temps, 0);
        io_sim_free(sim);
        return published;
}

static void test_crash_at_every_writer_io_call_leaves_no_snapshot_or_the_complete_one(
        void **state)
{
        const size_t data_lens[] = { 0, 1000, 2 * 1024 * 1024 + 300 * 1024 + 7 };
        struct io_sim *base = log_with_events();
        struct crash_counts n = { 0 };

        for (size_t d = 0; d < 3; d++) {
                struct snap_expect e;
                bool done = false;

                snap_expect_init(&e, d + 11, SNAP_SEQ, 20, d == 1 ? 0 : 250, data_lens[d]);
                for (uint64_t at = 1; !done; at++)
                        for (int variant = 0; variant < 5; variant++)
                                done = crash_case(base, &e, at, variant, &n);
                snap_expect_free(&e);
        }
        print_message("%llu crashes: %llu left the complete snapshot, %llu none\n",
                      (unsigned long long)n.crashes, (unsigned long long)n.complete,
                      (unsigned long long)n.none);
        assert_true(n.crashes >= 3 * 5 * 7);
        /* 15 from the power cuts after publish; more from crashes after the
         * rename whose name operation survived. */
        assert_true(n.complete > 3 * 5 && n.none > 0);
        io_sim_free(base);
}

/* ---- real files, fork() -------------------------------------------------------------- */

static char *make_tmpdir(void)
{
        char *dir = strdup("/tmp/snapstore-test-XXXXXX");

        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        return dir;
}

static void remove_tree(const char *dir)
{
        const struct storage_io *io = storage_io_posix();
        char **names, path[4200];
        size_t n;

        assert_int_equal(io->list_dir(io->ctx, dir, &names, &n), 0);
        for (size_t i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                assert_int_equal(io->unlink(io->ctx, path), 0);
        }
        storage_names_free(names, n);
        assert_int_equal(rmdir(dir), 0);
}

static int open_posix(const char *dir, struct collected *c, struct evlog **ret,
                      struct storage_error *err)
{
        struct recovery_callbacks cb = test_collector(c, 0);
        struct evlog_options o = { .dir = dir, .node_id = TEST_NODE };

        return evlog_open(&o, &cb, ret, err);
}

static int child_status(pid_t pid)
{
        int st;

        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        return WEXITSTATUS(st);
}

static void test_interrupted_writer_leaves_only_a_temp_file_removed_at_open(void **state)
{
        const struct storage_io *io = storage_io_posix();
        char *dir = make_tmpdir();
        struct storage_error err;
        struct snap_expect e;
        struct collected c;
        struct listing l;
        struct evlog *log;
        pid_t pid;

        assert_int_equal(open_posix(dir, &c, &log, &err), 0);
        assert_int_equal(test_append_range(log, 1, SNAP_SEQ, 0), 0);
        assert_int_equal(evlog_flush(log, SNAP_SEQ), 0);
        snap_expect_init(&e, 5, SNAP_SEQ, 10, 10, 3 * 1024 * 1024);
        /* The child dies in the middle of the data (as a killed BGSAVE). */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct snapshot_writer *w;
                if (snapshot_writer_begin(io, dir, TEST_NODE, &w, &err) < 0 ||
                    snapshot_writer_append(w, e.data, e.data_len / 2, &err) < 0)
                        _exit(1);
                _exit(0);
        }
        assert_int_equal(child_status(pid), 0);
        list(io, dir, &l);
        assert_int_equal(l.temps, 1);
        assert_int_equal(l.snaps, 0);
        assert_int_equal(evlog_close(log), 0);
        assert_int_equal(open_posix(dir, &c, &log, &err), 0);
        assert_false(c.has_snapshot);
        assert_int_equal(c.last_seq, SNAP_SEQ);
        list(io, dir, &l);
        assert_int_equal(l.temps, 0);
        assert_int_equal(evlog_close(log), 0);
        snap_expect_free(&e);
        remove_tree(dir);
        free(dir);
}

static void test_child_writes_the_file_the_parent_adopts_and_publishes(void **state)
{
        const struct storage_io *io = storage_io_posix();
        char *dir = make_tmpdir();
        struct snapshot_writer *w;
        struct storage_error err;
        struct snap_expect e;
        struct collected c;
        struct listing l;
        struct evlog *log;
        pid_t pid;

        assert_int_equal(open_posix(dir, &c, &log, &err), 0);
        assert_int_equal(test_append_range(log, 1, SNAP_SEQ + 3, 0), 0);
        snap_expect_init(&e, 9, SNAP_SEQ, 33, 200, 2 * 1024 * 1024 + 1);

        /* A child that fails: the parent cannot adopt, aborts, nothing left. */
        assert_int_equal(snapshot_writer_begin(io, dir, TEST_NODE, &w, &err), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(snapshot_writer_append(w, e.data, 100, &err) < 0 ? 1 : 2);
        assert_int_equal(child_status(pid), 2);
        assert_int_equal(snapshot_writer_adopt(w, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "was not finished"));
        snapshot_writer_abort(w);
        list(io, dir, &l);
        assert_int_equal(l.temps, 0);

        /* A child that finishes: adopt, flush, publish, compact. */
        assert_int_equal(snapshot_writer_begin(io, dir, TEST_NODE, &w, &err), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int r = snapshot_writer_append(w, e.data, e.data_len, &err);
                if (r == 0)
                        r = snapshot_writer_finish(w, &e.meta, &err);
                _exit(r == 0 ? 0 : 1);
        }
        assert_int_equal(child_status(pid), 0);
        assert_int_equal(snapshot_writer_adopt(w, &err), 0);
        assert_int_equal(snapshot_writer_data_len(w), e.data_len);
        assert_int_equal(snapshot_writer_data_crc(w), e.meta.data_crc);
        assert_int_equal(evlog_flush(log, SNAP_SEQ), 0);
        if (snapshot_writer_publish(w, &err) != 0)
                fail_msg("publish: %s", err.msg);
        assert_int_equal(evlog_compact(log, SNAP_SEQ, &err), 0);
        /* The reader works in a child too (the log stays open in the parent). */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct snapshot_reader *r;
                uint8_t buf[65536];
                size_t off = 0;
                ssize_t k;
                if (snapshot_reader_open(io, dir, SNAP_SEQ, &r, NULL, &err) < 0)
                        _exit(1);
                while ((k = snapshot_reader_read(r, buf, sizeof(buf), &err)) > 0) {
                        if (memcmp(buf, e.data + off, (size_t)k) != 0)
                                _exit(2);
                        off += (size_t)k;
                }
                _exit(k == 0 && off == e.data_len ? 0 : 3);
        }
        assert_int_equal(child_status(pid), 0);
        assert_int_equal(evlog_close(log), 0);
        snap_check(io, dir, &e, 1 << 20);
        assert_int_equal(open_posix(dir, &c, &log, &err), 0);
        assert_true(c.has_snapshot);
        assert_int_equal(c.snap_seq, SNAP_SEQ);
        assert_int_equal(c.first_seq, SNAP_SEQ + 1);
        assert_int_equal(c.last_seq, SNAP_SEQ + 3);
        assert_int_equal(evlog_close(log), 0);
        snap_expect_free(&e);
        remove_tree(dir);
        free(dir);
}

/* ---- compaction, writer on another thread --------------------------------------------- */

struct writer_job {
        const struct storage_io *io;
        const struct snap_expect *e;
        struct snapshot_writer *w;
        int rc;
        struct storage_error err;
};

static void *writer_thread(void *arg)
{
        struct writer_job *j = arg;

        j->rc = snapshot_writer_begin(j->io, TEST_DIR, TEST_NODE, &j->w, &j->err);
        if (j->rc == 0)
                j->rc = snapshot_writer_append(j->w, j->e->data, j->e->data_len, &j->err);
        if (j->rc == 0)
                j->rc = snapshot_writer_finish(j->w, &j->e->meta, &j->err);
        return NULL;
}

static int replay_meta(void *ud, const struct snapshot_meta *m, const uint8_t *data,
                       size_t len)
{
        const struct snap_expect *e = ud;

        snap_assert_meta(m, &e->meta);
        assert_int_equal(len, e->data_len);
        assert_memory_equal(data, e->data, len);
        return 1000; /* stop: seen (checked by the caller through the code) */
}

/* Batches of 10 events, each flushed: segments rotate at a known pace
 * (a batch never spans two segments, so one big batch would not rotate). */
static void append_in_batches(struct evlog *log, uint64_t from, uint64_t to)
{
        for (uint64_t s = from; s <= to; s += 10) {
                uint64_t last = s + 9 < to ? s + 9 : to;
                assert_int_equal(test_append_range(log, s, last, 0), 0);
                assert_int_equal(evlog_flush(log, last), 0);
        }
}

static void test_compaction_after_publish_keeps_snapshot_plus_later_events(void **state)
{
        struct io_sim *sim = io_sim_new();
        const struct storage_io *io = io_sim_io(sim);
        const uint64_t snap_seq = 400;
        struct writer_job job = { .io = io };
        struct storage_error err;
        struct snap_expect e;
        struct collected c;
        struct listing before, after;
        struct evlog *log;
        uint64_t seq, bytes, log_before;
        pthread_t t;

        assert_int_equal(test_open(sim, 1024, &c, &log, &err), 0);
        append_in_batches(log, 1, snap_seq);
        assert_int_equal(evlog_newest_snapshot(log, &seq, &bytes), 0);
        assert_int_equal(seq, 0);
        assert_int_equal(bytes, 0);
        /* The snapshot is written on another thread while appends go on. */
        snap_expect_init(&e, 21, snap_seq, 30, 280, 100000);
        job.e = &e;
        assert_int_equal(pthread_create(&t, NULL, writer_thread, &job), 0);
        append_in_batches(log, snap_seq + 1, snap_seq + 40);
        assert_int_equal(pthread_join(t, NULL), 0);
        if (job.rc != 0)
                fail_msg("writer thread: %s", job.err.msg);
        assert_int_equal(evlog_flush(log, snap_seq + 40), 0);
        list(io, TEST_DIR, &before);
        log_before = evlog_log_bytes(log);
        assert_true(before.segs >= 4);
        assert_int_equal(snapshot_writer_publish(job.w, &err), 0);
        assert_int_equal(evlog_newest_snapshot(log, &seq, &bytes), 0);
        assert_int_equal(seq, snap_seq);
        assert_int_equal(bytes, SNAPSHOT_HEADER_SIZE + 100000 + 30 + 280);
        /* Published: only segments with events after it count, before and
         * after compaction alike. */
        assert_true(evlog_log_bytes(log) < log_before);
        bytes = evlog_log_bytes(log);
        assert_int_equal(evlog_compact(log, snap_seq, &err), 0);
        assert_int_equal(evlog_log_bytes(log), bytes);
        list(io, TEST_DIR, &after);
        assert_true(after.segs < before.segs);
        assert_int_equal(after.snaps, 1);
        assert_int_equal(evlog_close(log), 0);

        /* Recovery: the snapshot with every field, then events 401..440. */
        assert_int_equal(test_open(sim, 1024, &c, &log, &err), 0);
        assert_true(c.has_snapshot);
        assert_int_equal(c.snap_seq, snap_seq);
        assert_int_equal(c.first_seq, snap_seq + 1);
        assert_int_equal(c.last_seq, snap_seq + 40);
        assert_false(c.mismatch);
        assert_int_equal(evlog_close(log), 0);
        {
                struct recovery_callbacks cb = { .snapshot = replay_meta, .ud = &e };
                struct recovery_result res;
                /* The callback's stop code comes back: it ran and checked. */
                assert_int_equal(recovery_scan(io, TEST_DIR, TEST_NODE, &cb, &res, &err),
                                 1000);
                assert_int_equal(err.code, -ECANCELED);
                recovery_result_free(&res);
        }
        snap_expect_free(&e);
        io_sim_free(sim);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(
                        test_crash_at_every_writer_io_call_leaves_no_snapshot_or_the_complete_one),
                cmocka_unit_test(test_interrupted_writer_leaves_only_a_temp_file_removed_at_open),
                cmocka_unit_test(test_child_writes_the_file_the_parent_adopts_and_publishes),
                cmocka_unit_test(test_compaction_after_publish_keeps_snapshot_plus_later_events),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
