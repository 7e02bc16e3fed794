/* daemon/storage/compact.c: delete what the newest snapshot covers.
 *
 * Owns: choosing the segments whose every event is covered by a snapshot and
 * the older snapshot files, and deleting them oldest first so that a crash
 * at any point leaves a contiguous, recoverable directory.
 *
 * Must never: delete the segment being written, or a segment holding an
 * event after the snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/storage/evlog_internal.h"
#include "daemon/storage/segment.h"

int evlog_compact(struct evlog *log, uint64_t snap_seq, struct storage_error *err)
{
        const struct storage_io *io = log->io;
        uint64_t *doomed = NULL, *snaps = NULL;
        size_t k = 0, n_snaps = 0, removed = 0;
        char path[4096], name[32];
        int r = 0;

        pthread_mutex_lock(&log->mu);
        /* Segment i is covered when the next one starts at or before snap + 1. */
        while (k + 1 < log->n_segs && log->segs[k + 1] <= snap_seq + 1)
                k++;
        if (k) {
                doomed = malloc(k * sizeof(*doomed));
                if (!doomed) {
                        pthread_mutex_unlock(&log->mu);
                        return storage_error_set(err, -ENOMEM, NULL, STORAGE_NO_OFFSET,
                                                 "out of memory");
                }
                memcpy(doomed, log->segs, k * sizeof(*doomed));
                memmove(log->segs, log->segs + k, (log->n_segs - k) * sizeof(*log->segs));
                log->n_segs -= k;
        }
        pthread_mutex_unlock(&log->mu);

        for (size_t i = 0; i < k; i++) {
                segment_name(doomed[i], name);
                snprintf(path, sizeof(path), "%s/%s", log->dir, name);
                r = io->unlink(io->ctx, path);
                if (r < 0 && r != -ENOENT) {
                        storage_error_set(err, r, path, STORAGE_NO_OFFSET,
                                          "cannot delete segment covered by snapshot: %s",
                                          strerror(-r));
                        goto out;
                }
                removed++;
        }
        r = snapshot_list(io, log->dir, &snaps, &n_snaps, err);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n_snaps && snaps[i] < snap_seq; i++) {
                snapshot_name(snaps[i], name);
                snprintf(path, sizeof(path), "%s/%s", log->dir, name);
                r = io->unlink(io->ctx, path);
                if (r < 0 && r != -ENOENT) {
                        storage_error_set(err, r, path, STORAGE_NO_OFFSET,
                                          "cannot delete old snapshot: %s", strerror(-r));
                        goto out;
                }
                removed++;
        }
        r = 0;
out:
        if (removed) {
                int q = io->fsync_dir(io->ctx, log->dir);
                if (q < 0 && r == 0)
                        r = storage_error_set(err, q, log->dir, STORAGE_NO_OFFSET,
                                              "cannot fsync directory after deletions: %s",
                                              strerror(-q));
                if (r == 0)
                        evlog_logf(log, EVLOG_INFO,
                                   "%s: deleted %zu files covered by snapshot %llu", log->dir,
                                   removed, (unsigned long long)snap_seq);
        }
        free(doomed);
        free(snaps);
        return r;
}
