/* tests/unit/storage/snap_fixture.h: shared fixtures of the snapshot tests.
 *
 * Owns: a deterministic expected snapshot (meta with vote and tail, data of
 * any length), writing it through the streaming writer in uneven pieces,
 * and checking a file against it through snapshot_read() and the streaming
 * reader.
 *
 * Must never: hide a failure (helpers assert, or return the code).
 */
#ifndef RAFKTOR_TESTS_STORAGE_SNAP_FIXTURE_H
#define RAFKTOR_TESTS_STORAGE_SNAP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/storage/snapshot.h"

struct snap_expect {
        struct snapshot_meta meta; /* config and tail point into cfg/tail below */
        uint8_t cfg[40], tail[300];
        uint8_t *data;             /* malloc'd */
        size_t data_len;
};

/* Fills *e: seq/index/term/vote from `seed`, config_len/tail_len/data_len
 * as given (tail_len <= 300, config_len <= 40). */
void snap_expect_init(struct snap_expect *e, uint64_t seed, uint64_t seq, size_t config_len,
                      size_t tail_len, size_t data_len);
void snap_expect_free(struct snap_expect *e);

/* begin + append in pieces of 1, 700 KiB, 2 MiB, ... + finish + publish,
 * aborting on a failure. Returns the first failure's code. */
int snap_write(const struct storage_io *io, const char *dir, const char *node_id,
               const struct snap_expect *e, struct storage_error *err);

/* Asserts DIR/<seq>.snap holds exactly e: snapshot_read() and the streaming
 * reader with reads of `chunk` bytes. */
void snap_check(const struct storage_io *io, const char *dir, const struct snap_expect *e,
                size_t chunk);

/* Asserts every field of `got` equals `want` (config, tail, vote included). */
void snap_assert_meta(const struct snapshot_meta *got, const struct snapshot_meta *want);

#endif
