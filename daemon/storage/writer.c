/* daemon/storage/writer.c: the storage thread (group commit) and segment
 * creation.
 *
 * Owns: taking every event appended while the previous fdatasync ran, writing
 * them with one pwrite and one fdatasync, advancing the durable sequence
 * number only after that sync succeeded, rotating segments, and turning the
 * first write or sync failure into the sticky error.
 *
 * Must never: retry a failed write or sync, report durable anything that was
 * not synced, or call user callbacks with the mutex held.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void *evlog_writer_main(void *arg)
{
        struct evlog *log = arg;
        struct evlog_buf batch = { 0 };

        pthread_mutex_lock(&log->mu);
        for (;;) {
                struct storage_error err;
                uint64_t first, last;
                struct evlog_buf t;
                int r;

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
                pthread_mutex_unlock(&log->mu);

                storage_error_clear(&err);
                r = write_batch(log, batch.data, batch.len, first, &err);

                pthread_mutex_lock(&log->mu);
                if (r < 0) {
                        char msg[sizeof(log->error_msg)];
                        /* Sticky at once for appends; flush() waiters are
                         * released only after the callback has run. */
                        log->error = r;
                        snprintf(log->error_msg, sizeof(log->error_msg), "%s%s", err.msg,
                                 r == -ENOSPC ? " (disk full)" : "");
                        memcpy(msg, log->error_msg, sizeof(msg));
                        pthread_mutex_unlock(&log->mu);
                        evlog_logf(log, EVLOG_ERR, "event log: %s", msg);
                        if (log->on_error)
                                log->on_error(log->userdata, r, msg);
                        pthread_mutex_lock(&log->mu);
                        log->error_reported = true;
                        pthread_cond_broadcast(&log->done);
                        break;
                }
                log->durable = last;
                pthread_cond_broadcast(&log->done);
                pthread_mutex_unlock(&log->mu);
                if (log->on_durable)
                        log->on_durable(log->userdata, last);
                pthread_mutex_lock(&log->mu);
        }
        pthread_mutex_unlock(&log->mu);
        free(batch.data);
        return NULL;
}
