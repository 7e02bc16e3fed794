/* tests/unit/storage/helpers.h: shared fixtures of the storage tests.
 *
 * Owns: deterministic event payloads, a replay collector that checks what
 * recovery hands back, and an evlog_open() wrapper over the simulated disk.
 *
 * Must never: hide a failure (every helper asserts or returns the code).
 */
#ifndef RAFKTOR_TESTS_STORAGE_HELPERS_H
#define RAFKTOR_TESTS_STORAGE_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/storage/evlog.h"
#include "tests/unit/storage/io_sim.h"

#define TEST_DIR "/data"
#define TEST_NODE "node-a"

/* Payload of event `seq`: length and bytes are a function of seq (and of
 * `salt`, so two histories can differ). */
size_t test_payload(uint64_t seq, uint64_t salt, uint8_t *buf, size_t cap);
uint8_t test_type(uint64_t seq);

struct collected {
        bool has_snapshot;
        uint64_t snap_seq;
        uint64_t first_seq, last_seq; /* of the events replayed; 0 if none */
        uint64_t n;
        bool mismatch;                /* an event differed from test_payload */
        uint64_t salt;
};

/* Replay callbacks filling a struct collected and checking each payload. */
struct recovery_callbacks test_collector(struct collected *c, uint64_t salt);

int test_open(struct io_sim *sim, uint64_t segment_size, struct collected *c,
              struct evlog **ret, struct storage_error *err);
/* Appends events from..to (inclusive) with test payloads. */
int test_append_range(struct evlog *log, uint64_t from, uint64_t to, uint64_t salt);

#endif
