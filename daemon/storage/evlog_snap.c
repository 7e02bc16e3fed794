/* daemon/storage/evlog_snap.c: what the node asks the log about snapshots.
 *
 * Owns: finding the newest snapshot file and measuring it, and measuring the
 * segments that hold events after it (the snapshot policy compares both).
 *
 * Must never: modify the directory or touch the storage thread's state: it
 * only lists the directory and opens files read-only, so any thread may
 * call it (it blocks on that I/O).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/storage/evlog_internal.h"
#include "daemon/storage/segment.h"

static int file_size(const struct storage_io *io, const char *dir, const char *name,
                     uint64_t *ret)
{
        char path[4200];
        int fd, r;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = io->open(io->ctx, path, STORAGE_O_READ);
        if (fd < 0)
                return fd;
        r = io->size(io->ctx, fd, ret);
        io->close(io->ctx, fd);
        return r;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

int evlog_newest_snapshot(struct evlog *log, uint64_t *ret_seq, uint64_t *ret_bytes)
{
        char name[SNAPSHOT_NAME_LEN + 1];
        uint64_t *seqs, bytes = 0;
        size_t n;
        int r;

        r = snapshot_list(log->io, log->dir, &seqs, &n, NULL);
        if (r < 0)
                return r;
        *ret_seq = n ? seqs[n - 1] : 0;
        free(seqs);
        if (*ret_seq) {
                snapshot_name(*ret_seq, name);
                r = file_size(log->io, log->dir, name, &bytes);
                if (r < 0)
                        return r;
        }
        if (ret_bytes)
                *ret_bytes = bytes;
        return 0;
}

uint64_t evlog_log_bytes(struct evlog *log)
{
        const struct storage_io *io = log->io;
        uint64_t snap = 0, *segs, total = 0;
        char **names;
        size_t n, k = 0;

        if (io->list_dir(io->ctx, log->dir, &names, &n) < 0)
                return 0;
        segs = malloc((n ? n : 1) * sizeof(*segs));
        if (!segs) {
                storage_names_free(names, n);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                uint64_t seq;
                if (segment_name_parse(names[i], &seq))
                        segs[k++] = seq;
                else if (snapshot_name_parse(names[i], &seq) && seq > snap)
                        snap = seq;
        }
        storage_names_free(names, n);
        qsort(segs, k, sizeof(*segs), cmp_u64);
        for (size_t i = 0; i < k; i++) {
                char name[SEGMENT_NAME_LEN + 1];
                uint64_t size;

                /* Segment i holds an event after the snapshot unless the next
                 * one starts at or before snap + 1. */
                if (i + 1 < k && segs[i + 1] <= snap + 1)
                        continue;
                segment_name(segs[i], name);
                if (file_size(io, log->dir, name, &size) == 0)
                        total += size;
        }
        free(segs);
        return total;
}
