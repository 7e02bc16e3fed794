/* daemon/storage/evlog.c: open, append to and close the event log.
 *
 * Owns: the public evlog API: locking the directory, recovery and its repair
 * (truncating a torn tail, removing stray temp files), the hand-off of
 * appended events to the storage thread, and the durable/error getters.
 *
 * Must never: do I/O in evlog_append(), or accept a sequence number that does
 * not follow the previous one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/storage/evlog_internal.h"
#include "daemon/storage/lock.h"
#include "daemon/storage/segment.h"

/* Applies what recovery_scan() proposed: truncate the torn tail, remove stray
 * temp files. Leaves the newest segment open for appending. */
static int repair_and_open_tail(struct evlog *log, const struct recovery_result *res,
                                struct storage_error *err)
{
        const struct storage_io *io = log->io;
        const struct recovery_segment *s;
        char path[4096];
        int r;

        for (size_t i = 0; i < res->n_temps; i++) {
                snprintf(path, sizeof(path), "%s/%s", log->dir, res->temps[i]);
                r = io->unlink(io->ctx, path);
                if (r < 0 && r != -ENOENT)
                        return storage_error_set(err, r, path, STORAGE_NO_OFFSET,
                                                 "cannot remove stray temporary file: %s",
                                                 strerror(-r));
                evlog_logf(log, EVLOG_NOTICE, "%s: removed unfinished temporary file", path);
        }
        if (res->n_temps) {
                r = io->fsync_dir(io->ctx, log->dir);
                if (r < 0)
                        return storage_error_set(err, r, log->dir, STORAGE_NO_OFFSET,
                                                 "cannot fsync directory: %s", strerror(-r));
        }
        if (res->n_segments == 0) {
                r = evlog_segment_create(log, res->next_seq, &log->seg_fd, err);
                if (r < 0)
                        return r;
                log->seg_first = res->next_seq;
                log->seg_off = SEGMENT_HEADER_SIZE;
                return evlog_segs_push(log, res->next_seq);
        }
        for (size_t i = 0; i < res->n_segments; i++) {
                r = evlog_segs_push(log, res->segments[i].first_seq);
                if (r < 0)
                        return storage_error_set(err, r, NULL, STORAGE_NO_OFFSET,
                                                 "out of memory");
        }
        s = &res->segments[res->n_segments - 1];
        snprintf(path, sizeof(path), "%s/%s", log->dir, s->name);
        log->seg_fd = io->open(io->ctx, path, STORAGE_O_WRITE);
        if (log->seg_fd < 0)
                return storage_error_set(err, log->seg_fd, path, STORAGE_NO_OFFSET,
                                         "cannot open newest segment: %s",
                                         strerror(-log->seg_fd));
        log->seg_first = s->first_seq;
        log->seg_off = s->valid_end;
        if (res->torn) {
                r = io->ftruncate(io->ctx, log->seg_fd, s->valid_end);
                if (r == 0)
                        r = io->fsync(io->ctx, log->seg_fd);
                if (r < 0)
                        return storage_error_set(err, r, path, s->valid_end,
                                                 "cannot truncate torn tail: %s", strerror(-r));
                snprintf(log->open_warning, sizeof(log->open_warning), "%s", res->warning);
                evlog_logf(log, EVLOG_WARNING, "%s", res->warning);
        }
        return 0;
}

static void evlog_free(struct evlog *log)
{
        if (log->seg_fd >= 0)
                log->io->close(log->io->ctx, log->seg_fd);
        if (log->lock_fd >= 0)
                log->io->close(log->io->ctx, log->lock_fd);
        pthread_mutex_destroy(&log->mu);
        pthread_cond_destroy(&log->work);
        pthread_cond_destroy(&log->done);
        free(log->pending.data);
        free(log->segs);
        free(log->dir);
        free(log);
}

int evlog_open(const struct evlog_options *opts, const struct recovery_callbacks *replay,
               struct evlog **ret, struct storage_error *err)
{
        struct recovery_result res;
        uint64_t snap_seq;
        struct evlog *log;
        int r;

        storage_error_clear(err);
        if (!opts->dir || !opts->node_id || !opts->node_id[0] || strlen(opts->node_id) > 63)
                return storage_error_set(err, -EINVAL, NULL, STORAGE_NO_OFFSET,
                                         "evlog_open: dir and a node id of 1..63 bytes needed");
        log = calloc(1, sizeof(*log));
        if (!log)
                return storage_error_set(err, -ENOMEM, NULL, STORAGE_NO_OFFSET, "out of memory");
        log->seg_fd = log->lock_fd = -1;
        pthread_mutex_init(&log->mu, NULL);
        {
                /* The storage thread's retry back-off waits on `work` by the
                 * monotonic clock. */
                pthread_condattr_t ca;

                pthread_condattr_init(&ca);
                pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
                pthread_cond_init(&log->work, &ca);
                pthread_condattr_destroy(&ca);
        }
        pthread_cond_init(&log->done, NULL);
        if (opts->enospc_retry_min_ms >= 0) {
                int lo = opts->enospc_retry_min_ms ? opts->enospc_retry_min_ms : 100;
                int hi = opts->enospc_retry_max_ms > 0 ? opts->enospc_retry_max_ms : 1000;

                log->retry_min_ms = (uint32_t)lo;
                log->retry_max_ms = (uint32_t)(hi > lo ? hi : lo);
        }
        log->io = opts->io ? opts->io : storage_io_posix();
        log->dir = strdup(opts->dir);
        if (!log->dir) {
                evlog_free(log);
                return storage_error_set(err, -ENOMEM, NULL, STORAGE_NO_OFFSET, "out of memory");
        }
        snprintf(log->node_id, sizeof(log->node_id), "%s", opts->node_id);
        log->segment_size = opts->segment_size ? opts->segment_size : EVLOG_DEFAULT_SEGMENT_SIZE;
        log->userdata = opts->userdata;
        log->log = opts->log;
        log->on_durable = opts->on_durable;
        log->on_error = opts->on_error;

        r = log->io->mkdir(log->io->ctx, log->dir);
        if (r < 0 && r != -EEXIST) {
                storage_error_set(err, r, log->dir, STORAGE_NO_OFFSET,
                                  "cannot create data directory: %s", strerror(-r));
                goto fail;
        }
        r = storage_lock_dir(log->io, log->dir, true, &log->lock_fd, err);
        if (r < 0)
                goto fail;
        r = recovery_scan(log->io, log->dir, log->node_id, replay, &res, err);
        if (r == 0)
                r = repair_and_open_tail(log, &res, err);
        if (r < 0) {
                recovery_result_free(&res);
                goto fail;
        }
        log->next_seq = res.next_seq;
        log->durable = res.next_seq - 1;
        snap_seq = res.has_snapshot ? res.snapshot.seq : 0;
        recovery_result_free(&res);

        r = -pthread_create(&log->thread, NULL, evlog_writer_main, log);
        if (r < 0) {
                storage_error_set(err, r, NULL, STORAGE_NO_OFFSET,
                                  "cannot start the storage thread: %s", strerror(-r));
                goto fail;
        }
        log->thread_started = true;
        /* A crash may have come between a snapshot and its compaction. */
        if (snap_seq) {
                struct storage_error cerr;
                if (evlog_compact(log, snap_seq, &cerr) < 0)
                        evlog_logf(log, EVLOG_WARNING, "%s", cerr.msg);
        }
        *ret = log;
        return 0;
fail:
        evlog_free(log);
        return r;
}

int evlog_close(struct evlog *log)
{
        int r;

        if (!log)
                return 0;
        pthread_mutex_lock(&log->mu);
        log->stop = true;
        pthread_cond_signal(&log->work);
        pthread_mutex_unlock(&log->mu);
        if (log->thread_started)
                pthread_join(log->thread, NULL);
        r = log->error;
        evlog_free(log);
        return r;
}

int evlog_append(struct evlog *log, uint64_t seq, uint8_t type, const uint8_t *payload,
                 size_t len)
{
        size_t size;
        int r = 0;

        if (type < SEGMENT_TYPE_MIN || type > SEGMENT_TYPE_MAX || len > SEGMENT_MAX_PAYLOAD ||
            (len && !payload))
                return -EINVAL;
        size = segment_record_size(len);
        pthread_mutex_lock(&log->mu);
        if (log->error && !log->full) {
                r = log->error;
                goto out;
        }
        if (seq != log->next_seq) {
                r = -EINVAL;
                goto out;
        }
        if (log->pending.cap - log->pending.len < size) {
                size_t ncap = log->pending.cap ? log->pending.cap : 4096;
                uint8_t *n;
                while (ncap - log->pending.len < size)
                        ncap *= 2;
                n = realloc(log->pending.data, ncap);
                if (!n) {
                        r = -ENOMEM;
                        goto out;
                }
                log->pending.data = n;
                log->pending.cap = ncap;
        }
        segment_record_encode(log->pending.data + log->pending.len, type, payload, len);
        if (log->pending.len == 0)
                log->pending_first = seq;
        log->pending.len += size;
        log->pending_last = seq;
        log->next_seq++;
        pthread_cond_signal(&log->work);
out:
        pthread_mutex_unlock(&log->mu);
        return r;
}

uint64_t evlog_next_seq(struct evlog *log)
{
        uint64_t v;

        pthread_mutex_lock(&log->mu);
        v = log->next_seq;
        pthread_mutex_unlock(&log->mu);
        return v;
}

uint64_t evlog_durable(struct evlog *log)
{
        uint64_t v;

        pthread_mutex_lock(&log->mu);
        v = log->durable;
        pthread_mutex_unlock(&log->mu);
        return v;
}

int evlog_error(struct evlog *log, char *msg, size_t msg_len)
{
        int r;

        pthread_mutex_lock(&log->mu);
        r = log->error;
        if (msg && msg_len)
                snprintf(msg, msg_len, "%s", log->error_msg);
        pthread_mutex_unlock(&log->mu);
        return r;
}

int evlog_resume(struct evlog *log)
{
        int r = 0;

        pthread_mutex_lock(&log->mu);
        if (!log->full) {
                r = -EALREADY;
        } else {
                log->retry_now = true;
                /* flush() waits for this retry's outcome (writer.c sets it
                 * again when the retry fails too). */
                log->error_reported = false;
                pthread_cond_signal(&log->work);
        }
        pthread_mutex_unlock(&log->mu);
        return r;
}

const char *evlog_open_warning(const struct evlog *log)
{
        return log->open_warning;
}

int evlog_flush(struct evlog *log, uint64_t seq)
{
        int r;

        pthread_mutex_lock(&log->mu);
        if (seq >= log->next_seq) {
                pthread_mutex_unlock(&log->mu);
                return -EINVAL;
        }
        while (log->durable < seq && !log->error_reported)
                pthread_cond_wait(&log->done, &log->mu);
        r = log->durable >= seq ? 0 : log->error;
        pthread_mutex_unlock(&log->mu);
        return r;
}

int evlog_snapshot(struct evlog *log, const struct snapshot_meta *meta, const uint8_t *data,
                   size_t len, struct storage_error *err)
{
        int r;

        storage_error_clear(err);
        r = evlog_flush(log, meta->seq);
        if (r < 0)
                return storage_error_set(err, r, log->dir, STORAGE_NO_OFFSET,
                                         "snapshot at sequence %" PRIu64
                                         " covers events that are not durable: %s",
                                         meta->seq, strerror(-r));
        r = snapshot_write(log->io, log->dir, log->node_id, meta, data, len, err);
        if (r < 0)
                return r;
        return evlog_compact(log, meta->seq, err);
}
