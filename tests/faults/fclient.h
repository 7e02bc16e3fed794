/* tests/faults/fclient.h: fclient, the fault harness's client and checker.
 *
 * Owns: the concurrent workload against a real cluster (fclient_work.c), the history file
 * (fclient_history.c), the final reads and the convergence check after healing
 * (fclient_final.c), and the verdict over a history (linearizability per key with
 * tests/sim/lincheck, exactly-once probes). Must never: call an operation "ok" without its
 * OK reply, call a write "fail" unless it definitely did not take effect (timeouts and lost
 * connections are "unknown"), or be installed.
 *
 * History file: one line per operation, written when its outcome is known:
 *     op TYPE STATUS KEY CLIENT INVOKE_US COMPLETE_US VALUE EXPECT SUCCEEDED FOUND
 *        OUT_VALUE OUT_VERSION ATTEMPTS NODE
 * TYPE put|cas|get|del, STATUS ok|fail|unknown, times in microseconds on
 * CLOCK_MONOTONIC (so the final reads of a later process come after). And one line per
 * failed exactly-once probe (a write re-sent with the same session must get the first
 * reply, byte for byte in index and version):
 *     eo CLIENT KEY FIRST_INDEX FIRST_VERSION RETRY_INDEX RETRY_VERSION
 * Keys: "k1".."kN" shared by every client (key id = the number); "p{C}" written only by
 * client C (key id = 1000 + C). Values: the decimal id C * 1000000 + sequence.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/integration/rkc.h"
#include "tests/sim/lincheck.h"

#define FC_PRIVATE_KEY_BASE 1000

struct fc_options {
        const char *endpoints;
        const char *history;
        unsigned clients;       /* concurrent clients, each one op at a time */
        unsigned keys;          /* shared keys */
        unsigned seconds;       /* how long new operations start */
        uint64_t seed;
        int64_t attempt_ms;     /* deadline of one attempt */
        unsigned max_attempts;  /* a write is re-sent (same session) up to this */
};

/* Microseconds on CLOCK_MONOTONIC. */
uint64_t fc_now_us(void);

/* Key name of a key id ("k3", "p2"). */
void fc_key_name(uint64_t key_id, char *buf, size_t size);

/* History. */
void fc_history_write_op(FILE *f, const struct lc_op *op, unsigned attempts, unsigned node);
void fc_history_write_eo(FILE *f, uint64_t client, uint64_t key, uint64_t idx1,
                         uint64_t ver1, uint64_t idx2, uint64_t ver2);
/* Reads every op line into *ret (malloc'd) and counts eo lines. 0 or a negative errno. */
int fc_history_read(const char *path, struct lc_op **ret, size_t *ret_n, size_t *ret_eo);

/* fclient run: the workload. Prints "ops=N ok=O fail=F unknown=U" on stdout. */
int fc_run(const struct fc_options *o);
/* fclient final: linearizable reads of every key through every node (appended to the
 * history), then waits until every node reports the same applied index and state hash.
 * Prints one verdict line; 0 converged, 1 not. */
int fc_final(const struct fc_options *o, int64_t wait_ms);
/* fclient check: the verdict over the history. 0 linearizable and exactly-once, 1 an
 * anomaly (printed with the operations involved), 2 no verdict (search bound hit). */
int fc_check(const char *history, uint64_t max_states);
