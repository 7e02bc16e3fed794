/* tests/unit/storage/io_sim.h: a simulated disk for the storage tests.
 *
 * Owns: an in-memory file system behind struct storage_io that keeps what
 * was written but not synced apart from what is durable (the LazyFS idea):
 * file data becomes durable at fsync/fdatasync, names (create, rename,
 * unlink) at a directory fsync. A crash drops the unsynced part, or keeps a
 * random prefix of it (torn writes, some directory operations). Also injects
 * an errno on the nth call of an operation.
 *
 * Must never: be linked into the daemon.
 */
#ifndef RAFKTOR_TESTS_IO_SIM_H
#define RAFKTOR_TESTS_IO_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/storage/io.h"

enum io_sim_op {
        IO_SIM_OPEN, IO_SIM_PWRITE, IO_SIM_FDATASYNC, IO_SIM_FSYNC, IO_SIM_RENAME,
        IO_SIM_UNLINK, IO_SIM_FSYNC_DIR, IO_SIM_FTRUNCATE, IO_SIM_N_OPS,
};

struct io_sim;

struct io_sim *io_sim_new(void);
void io_sim_free(struct io_sim *s);
struct io_sim *io_sim_clone(struct io_sim *s); /* deep copy, no open handles */
const struct storage_io *io_sim_io(struct io_sim *s);

/* The nth (1 = next) call of `op` from now fails with `code` (-errno) and
 * changes nothing. */
void io_sim_fail(struct io_sim *s, enum io_sim_op op, unsigned nth, int code);

/* The machine dies at the nth mutating call from now (1 = the next one):
 * that call and every later call fail with -EIO and change nothing. */
void io_sim_crash_at(struct io_sim *s, uint64_t nth);
bool io_sim_crashed(struct io_sim *s);
uint64_t io_sim_mutations(struct io_sim *s); /* mutating calls so far */

/* Power comes back: every handle is gone; each file keeps its durable data
 * plus, if `torn`, a random prefix of its unsynced writes (the last one
 * possibly partial); the directory keeps its durable names plus, if `torn`,
 * a random prefix of the unsynced name operations. */
void io_sim_reboot(struct io_sim *s, uint64_t seed, bool torn);

/* Direct access to a file's current content (tests that damage files). */
int io_sim_get(struct io_sim *s, const char *path, uint8_t **ret_data, size_t *ret_len);
int io_sim_set(struct io_sim *s, const char *path, const uint8_t *data, size_t len);

#endif
