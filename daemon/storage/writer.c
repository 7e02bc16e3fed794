/* daemon/storage/writer.c: the storage thread (group commit) and segment
 * creation.
 *
 * Owns: taking every event appended while the previous fdatasync ran, writing
 * them with one pwrite and one fdatasync, advancing the durable sequence
 * number only after that sync succeeded, rotating segments, turning a fatal
 * write or sync failure into the sticky error, and the disk-full state: the
 * failed batch kept in memory and re-written once space is free.
 *
 * Must never: retry a failed sync on the same dirty pages, report durable
 * anything that was not synced, or call user callbacks with the mutex held.
 *
 * Disk full (-ENOSPC from pwrite, fdatasync or a segment creation), why the
 * retry is sound:
 * - Nothing was reported durable for the failed batch, so nothing in it was
 *   acknowledged; it stays in this thread's memory, appends keep arriving
 *   behind it (contiguous sequence numbers), and log->error says -ENOSPC.
 * - Before a retry writes anything, the segment is truncated back to
 *   log->seg_off (the end of the last record made durable) and fsync'd. The
 *   failed pwrite may have left a partial record there (a torn write), and a
 *   failed fdatasync may have dropped or "cleaned" dirty pages (Linux marks
 *   them clean after a writeback error, so a second fsync would succeed
 *   without writing them): after the truncation none of those pages exist,
 *   the batch is written again from our copy (every page it touches is
 *   dirtied anew, including the partly durable page at seg_off) and synced.
 * - Crash at any point: before the truncation is durable the segment ends
 *   with its durable records plus a prefix of the failed batch's bytes (whole
 *   records, then possibly one cut short); every retry writes the same bytes
 *   at the same offsets (the batch never changes), so any mix of old and new
 *   pages is still a prefix of the batch. Recovery keeps the whole records
 *   (appended in order, never acknowledged: a longer prefix is allowed) and
 *   truncates the cut one with its torn-tail rule. That rule only applies to
 *   the newest segment; the torn bytes always are in it, because a rotation
 *   only happens at the start of a batch whose predecessor was synced.
 * - The retry runs here (the only owner of the segment handle), first after
 *   retry_min_ms, doubling up to retry_max_ms: a retry on a full disk costs
 *   a truncate, an fsync and a failing pwrite, and it is the only exact test
 *   of "is there room for this batch now" (statvfs cannot see reserved
 *   blocks, quotas or a full inode table). evlog_resume() retries at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/storage/evlog_internal.h"
#include "daemon/storage/segment.h"

void evlog_logf(struct evlog *log, enum evlog_level level, const char *fmt, ...)
{
        char msg[1200];
        va_list ap;

        if (!log->log)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log->log(log->userdata, level, msg);
}

int evlog_segs_push(struct evlog *log, uint64_t first_seq)
{
        if (log->n_segs == log->cap_segs) {
                size_t ncap = log->cap_segs ? log->cap_segs * 2 : 16;
                uint64_t *n = realloc(log->segs, ncap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                log->segs = n;
                log->cap_segs = ncap;
        }
        log->segs[log->n_segs++] = first_seq;
        return 0;
}

int evlog_segment_create(struct evlog *log, uint64_t first_seq, int *ret_fd,
                         struct storage_error *err)
{
        const struct storage_io *io = log->io;
        char name[SEGMENT_NAME_LEN + 1], path[4096], tmp[4200];
        uint8_t hdr[SEGMENT_HEADER_SIZE];
        ssize_t n;
        int fd, r;

        segment_name(first_seq, name);
        snprintf(path, sizeof(path), "%s/%s", log->dir, name);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        segment_header_encode(first_seq, log->node_id, hdr);

        fd = io->open(io->ctx, tmp, STORAGE_O_WRITE | STORAGE_O_CREATE | STORAGE_O_TRUNC);
        if (fd < 0)
                return storage_error_set(err, fd, tmp, STORAGE_NO_OFFSET,
                                         "cannot create segment: %s", strerror(-fd));
        n = io->pwrite(io->ctx, fd, hdr, sizeof(hdr), 0);
        if (n != (ssize_t)sizeof(hdr)) {
                r = n < 0 ? (int)n : -EIO;
                storage_error_set(err, r, tmp, 0, "cannot write segment header: %s",
                                  strerror(-r));
                goto fail;
        }
        r = io->fsync(io->ctx, fd);
        if (r < 0) {
                storage_error_set(err, r, tmp, STORAGE_NO_OFFSET, "cannot fsync new segment: %s",
                                  strerror(-r));
                goto fail;
        }
        r = io->rename(io->ctx, tmp, path);
        if (r < 0) {
                storage_error_set(err, r, tmp, STORAGE_NO_OFFSET, "cannot rename to %s: %s",
                                  name, strerror(-r));
                goto fail;
        }
        r = io->fsync_dir(io->ctx, log->dir);
        if (r < 0) {
                /* The segment may or may not exist after a crash; nothing was
                 * written to it yet, so either way recovery is sound. */
                storage_error_set(err, r, log->dir, STORAGE_NO_OFFSET,
                                  "cannot fsync directory after creating %s: %s", name,
                                  strerror(-r));
                io->close(io->ctx, fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
fail:
        io->close(io->ctx, fd);
        io->unlink(io->ctx, tmp);
        return r;
}

/* Writes one batch; first_seq is its first event. 0 or a negative code with
 * the message in *err. */
static int write_batch(struct evlog *log, const uint8_t *buf, size_t len, uint64_t first_seq,
                       struct storage_error *err)
{
        const struct storage_io *io = log->io;
        char path[4096], name[SEGMENT_NAME_LEN + 1];
        ssize_t n;
        int r;

        if (log->seg_off >= log->segment_size && log->seg_off > SEGMENT_HEADER_SIZE) {
                int fd;
                r = evlog_segment_create(log, first_seq, &fd, err);
                if (r < 0)
                        return r;
                pthread_mutex_lock(&log->mu);
                r = evlog_segs_push(log, first_seq);
                pthread_mutex_unlock(&log->mu);
                if (r < 0) {
                        io->close(io->ctx, fd);
                        return storage_error_set(err, r, NULL, STORAGE_NO_OFFSET,
                                                 "out of memory");
                }
                io->close(io->ctx, log->seg_fd);
                log->seg_fd = fd;
                log->seg_first = first_seq;
                log->seg_off = SEGMENT_HEADER_SIZE;
        }
        segment_name(log->seg_first, name);
        snprintf(path, sizeof(path), "%s/%s", log->dir, name);
        n = io->pwrite(io->ctx, log->seg_fd, buf, len, log->seg_off);
        if (n != (ssize_t)len) {
                r = n < 0 ? (int)n : -EIO;
                return storage_error_set(err, r, path, log->seg_off,
                                         "write of %zu bytes failed: %s", len, strerror(-r));
        }
        r = io->fdatasync(io->ctx, log->seg_fd);
        if (r < 0)
                return storage_error_set(err, r, path, log->seg_off,
                                         "fdatasync after writing %zu bytes failed: %s", len,
                                         strerror(-r));
        log->seg_off += len;
        return 0;
}

/* Disk full: cut the segment back to its last durable record (what the failed
 * attempt may have left behind) and make that durable before re-writing. */
static int truncate_to_durable(struct evlog *log, struct storage_error *err)
{
        const struct storage_io *io = log->io;
        char path[4096], name[SEGMENT_NAME_LEN + 1];
        int r;

        segment_name(log->seg_first, name);
        snprintf(path, sizeof(path), "%s/%s", log->dir, name);
        r = io->ftruncate(io->ctx, log->seg_fd, log->seg_off);
        if (r == 0)
                r = io->fsync(io->ctx, log->seg_fd);
        if (r < 0)
                return storage_error_set(err, r, path, log->seg_off,
                                         "cannot truncate the segment back to its last "
                                         "durable record: %s", strerror(-r));
        return 0;
}

/* Disk full: until a retry is due (back-off), evlog_resume() or stop. Holds mu. */
static void wait_for_retry(struct evlog *log, uint32_t delay_ms)
{
        struct timespec due;

        clock_gettime(CLOCK_MONOTONIC, &due);
        due.tv_sec += delay_ms / 1000;
        due.tv_nsec += (long)(delay_ms % 1000) * 1000000L;
        if (due.tv_nsec >= 1000000000L) {
                due.tv_sec++;
                due.tv_nsec -= 1000000000L;
        }
        while (!log->retry_now && !log->stop) {
                if (!log->retry_min_ms)
                        pthread_cond_wait(&log->work, &log->mu);
                else if (pthread_cond_timedwait(&log->work, &log->mu, &due) == ETIMEDOUT)
                        break;
        }
        log->retry_now = false;
}

/* A write, sync or truncation failed with r (mu held). Returns true if the
 * thread goes on (disk full), false if it stops (fatal, or stopping). */
static bool on_failure(struct evlog *log, int r, const struct storage_error *err)
{
        char msg[sizeof(log->error_msg)];
        bool again = log->full && r == -ENOSPC, full;

        log->error = r;
        log->full = r == -ENOSPC && !log->stop;
        snprintf(log->error_msg, sizeof(log->error_msg), "%s%s", err->msg,
                 r == -ENOSPC ? " (disk full)" : "");
        /* A retry that fails again is not news: the callback ran already. */
        if (again) {
                log->error_reported = true;
                pthread_cond_broadcast(&log->done);
                return true;
        }
        memcpy(msg, log->error_msg, sizeof(msg));
        full = log->full;
        pthread_mutex_unlock(&log->mu);
        evlog_logf(log, EVLOG_ERR, "event log: %s%s", msg,
                   full ? "; appends are kept in memory and written once space is freed" : "");
        if (log->on_error)
                log->on_error(log->userdata, r, msg);
        pthread_mutex_lock(&log->mu);
        /* flush() waiters are released only after the callback has run. */
        log->error_reported = true;
        pthread_cond_broadcast(&log->done);
        return log->full;
}

void *evlog_writer_main(void *arg)
{
        struct evlog *log = arg;
        struct evlog_buf batch = { 0 };
        uint64_t first = 0, last = 0, retries = 0;
        uint32_t delay = 0;

        pthread_mutex_lock(&log->mu);
        for (;;) {
                struct storage_error err;
                bool retry = log->full;
                struct evlog_buf t;
                int r;

                if (retry) {
                        /* One last attempt when stopping, without waiting. */
                        if (!log->stop)
                                wait_for_retry(log, delay);
                        delay = delay * 2 > log->retry_max_ms ? log->retry_max_ms : delay * 2;
                        retries++;
                } else {
                        while (log->pending.len == 0 && !log->stop)
                                pthread_cond_wait(&log->work, &log->mu);
                        if (log->pending.len == 0 || log->error)
                                break;
                        /* Take everything pending: one write, one sync. */
                        t = batch;
                        batch = log->pending;
                        log->pending = t;
                        log->pending.len = 0;
                        first = log->pending_first;
                        last = log->pending_last;
                }
                pthread_mutex_unlock(&log->mu);

                storage_error_clear(&err);
                r = retry ? truncate_to_durable(log, &err) : 0;
                if (r == 0)
                        r = write_batch(log, batch.data, batch.len, first, &err);

                pthread_mutex_lock(&log->mu);
                if (r < 0) {
                        if (!retry)
                                delay = log->retry_min_ms;
                        if (on_failure(log, r, &err))
                                continue;
                        break;
                }
                if (retry) {
                        log->full = false;
                        log->error = 0;
                        log->error_msg[0] = '\0';
                        log->error_reported = false;
                }
                log->durable = last;
                pthread_cond_broadcast(&log->done);
                pthread_mutex_unlock(&log->mu);
                if (retry) {
                        evlog_logf(log, EVLOG_NOTICE, "event log: space available again in %s "
                                   "after %" PRIu64 " retries; events %" PRIu64 "..%" PRIu64
                                   " written", log->dir, retries, first, last);
                        retries = 0;
                }
                if (log->on_durable)
                        log->on_durable(log->userdata, last);
                pthread_mutex_lock(&log->mu);
        }
        pthread_mutex_unlock(&log->mu);
        free(batch.data);
        return NULL;
}
