/* tests/unit/kv/kv-test-util.h: helpers the KV unit tests share: building
 * encoded rafktor.v1.Command entries and applying them.
 *
 * Must never: hide a failure (every helper asserts what it relies on).
 */
#ifndef RAFKTOR_KV_TEST_UTIL_H
#define RAFKTOR_KV_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/kv/kv.h"
#include "rafktor.pb-c.h"

/* An encoded Command (malloc'd). */
struct cmd {
        uint8_t *buf;
        size_t len;
};

/* The session goes in Command.session; client 0 = none. */
struct sess {
        uint64_t client_id;
        uint64_t request_id;
        uint64_t first_outstanding;
};
#define NO_SESSION ((struct sess){ 0, 0, 0 })

struct cmd cmd_put(const char *key, const char *value, struct sess s);
struct cmd cmd_delete(const char *key, struct sess s);
struct cmd cmd_cas_value(const char *key, const char *compare, const char *value, struct sess s);
struct cmd cmd_cas_version(const char *key, uint64_t version, const char *value, struct sess s);
struct cmd cmd_raw(const void *buf, size_t len);
void cmd_free(struct cmd *c);

/* What one apply produced: the raw reply and its decoding. */
struct applied {
        uint8_t *raw;
        size_t len;
        Rafktor__V1__CommandResult *res;
};

/* Applies `c` as a COMMAND entry; asserts kv_apply returned 0 and the reply
 * decodes. Consumes `c`. */
void apply_cmd(struct kv *kv, uint64_t index, uint64_t time_ms, struct cmd c,
               struct applied *ret);
/* Applies a NOOP entry; asserts success and no reply. */
void apply_noop(struct kv *kv, uint64_t index, uint64_t time_ms);
void applied_clear(struct applied *a);

/* A deterministic PRNG step, and a random command from it: puts, deletes,
 * compare-and-swaps and invalid commands on 8 keys, from no session or one
 * of clients 1..3 (next_rid[4] holds their next request ids), with retries,
 * some of them below the session window. */
uint64_t test_lcg(uint64_t *s);
struct cmd random_cmd(uint64_t *seed, uint64_t *next_rid);

/* A new kv with the given options (NULL = defaults); asserts success. */
struct kv *kv_make(const struct kv_options *o);
/* Asserts `key` holds `value` with the given version. */
void assert_key(const struct kv *kv, const char *key, const char *value, uint64_t version);

#endif
