/* tests/sim/lincheck.h: a linearizability checker for a key-value history.
 *
 * Owns: the sequential model of one key (a register holding a value and a
 * version) and a Wing-Gong search, with Lowe's memoization of
 * (linearized set, register state), that decides whether a concurrent
 * history of operations on such registers is linearizable.
 *
 * Must never: depend on the simulator, the Raft core or the KV state
 * machine; read a clock; keep global state. The real-process fault harness
 * (tests/faults/) links this module as it is.
 *
 * Model (per key, keys are independent: linearizability is compositional):
 *   state: absent, or (value, version); version is 1 at creation, +1 on
 *          every change; a delete makes the key absent (a later put
 *          creates it again at version 1).
 *   PUT(v)          -> the new version
 *   CAS(expect, v)  -> succeeded iff the key exists with value `expect`;
 *                      then value v and version+1. Either way the result
 *                      carries the key after the operation (found, value,
 *                      version).
 *   GET             -> found, value, version
 *   DELETE          -> deleted (true iff the key existed)
 * Values are caller-chosen numbers, neither 0 nor UINT64_MAX (map byte
 * strings to ids).
 *
 * Unknown puts whose value no operation ever reads or compares against are
 * interchangeable (each only bumps the version), so the search places them
 * in invoke order only: histories with hundreds of timed-out writes stay
 * cheap to check.
 *
 * Outcomes: LC_OK operations must take effect once between invoke and
 * complete with exactly the recorded output; LC_FAIL operations definitely
 * did not take effect and are ignored; LC_UNKNOWN operations (timeouts) may
 * take effect once at any time after invoke, or never; their output is not
 * known. Times are any monotonic counter; equal times count as concurrent.
 */
#ifndef RAFKTOR_SIM_LINCHECK_H
#define RAFKTOR_SIM_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lc_op_type {
        LC_PUT = 1,
        LC_CAS = 2,
        LC_GET = 3,
        LC_DELETE = 4,
};

enum lc_status {
        LC_OK = 1,
        LC_FAIL = 2,
        LC_UNKNOWN = 3,
};

struct lc_op {
        uint64_t key;
        enum lc_op_type type;
        enum lc_status status;
        uint64_t invoke;   /* time the client sent it */
        uint64_t complete; /* time the client saw the outcome (LC_OK only) */
        uint64_t client;   /* for messages only */
        /* inputs */
        uint64_t value;  /* PUT, CAS: the value written */
        uint64_t expect; /* CAS: the value compared against */
        /* outputs, for LC_OK */
        bool succeeded;       /* CAS */
        bool found;           /* GET, CAS (key exists after), DELETE (it existed) */
        uint64_t out_value;   /* GET, CAS: value after, when found */
        uint64_t out_version; /* PUT: new version; GET, CAS: version, when found */
};

struct lc_result {
        bool linearizable;
        bool gave_up;          /* max_states reached: no verdict */
        uint64_t bad_key;      /* first key found not linearizable */
        size_t n_key_ops;      /* operations on that key (LC_FAIL excluded) */
        size_t best_depth;     /* longest linearizable prefix found for it */
        size_t stuck_op;       /* index into ops[]: an op no extension could place */
        uint64_t states;       /* states explored over every key */
};

/* Checks `ops` (any order). max_states bounds the search per key (0: no
 * bound). Returns 0 and fills *ret, or -EINVAL (an op has an unknown type
 * or status, an LC_OK op completes before it is invoked, a value is 0), or
 * -ENOMEM. */
int lc_check(const struct lc_op *ops, size_t n, uint64_t max_states, struct lc_result *ret);

/* One line describing `op` ("c3 put k1 v17 -> ver 4 [100, 130]"). */
void lc_op_format(const struct lc_op *op, char *buf, size_t size);

#endif
