/* daemon/storage/lock.h: one process per data directory.
 *
 * Owns: the LOCK file in the data directory and its exclusive flock.
 *
 * Must never: wait for the lock (a second process fails at once) or remove
 * the LOCK file (removing it would let two processes lock two inodes).
 */
#ifndef RAFKTOR_STORAGE_LOCK_H
#define RAFKTOR_STORAGE_LOCK_H

#include <stdbool.h>

#include "daemon/storage/error.h"
#include "daemon/storage/io.h"

#define STORAGE_LOCK_NAME "LOCK"

/* Opens (creating if `create`) DIR/LOCK and locks it. *ret_fd = -1 and 0 if
 * !create and there is no LOCK file. -EBUSY with a message naming the
 * directory if another process holds it. */
int storage_lock_dir(const struct storage_io *io, const char *dir, bool create, int *ret_fd,
                     struct storage_error *err);

#endif
