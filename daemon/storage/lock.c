/* daemon/storage/lock.c: lock a data directory with flock on DIR/LOCK.
 *
 * Owns: the LOCK file protocol (exclusive, non-blocking, held until the
 * handle is closed).
 *
 * Must never: delete the LOCK file or block.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/storage/lock.h"

int storage_lock_dir(const struct storage_io *io, const char *dir, bool create, int *ret_fd,
                     struct storage_error *err)
{
        char path[4096];
        int fd, r;

        snprintf(path, sizeof(path), "%s/%s", dir, STORAGE_LOCK_NAME);
        *ret_fd = -1;
        fd = io->open(io->ctx, path, create ? STORAGE_O_WRITE | STORAGE_O_CREATE : STORAGE_O_READ);
        if (fd == -ENOENT && !create)
                return 0;
        if (fd < 0)
                return storage_error_set(err, fd, path, STORAGE_NO_OFFSET,
                                         "cannot open lock file: %s", strerror(-fd));
        r = io->lock(io->ctx, fd);
        if (r == -EWOULDBLOCK || r == -EAGAIN) {
                io->close(io->ctx, fd);
                return storage_error_set(err, -EBUSY, path, STORAGE_NO_OFFSET,
                                         "data directory %s is in use by another process "
                                         "(its LOCK file is locked)", dir);
        }
        if (r < 0) {
                io->close(io->ctx, fd);
                return storage_error_set(err, r, path, STORAGE_NO_OFFSET,
                                         "cannot lock data directory %s: %s", dir, strerror(-r));
        }
        *ret_fd = fd;
        return 0;
}
