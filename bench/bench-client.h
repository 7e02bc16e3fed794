/* bench/bench-client.h: bench-client, the benchmark's own gRPC client of etcd and rafktor.
 *
 * Owns: what the bench scripts need beyond h2load: a bulk loader with many puts in flight
 * (the 1M-key load), a failover probe (kill -9 the leader, time the first successful put
 * through the survivors), a "wait until this member serves a linearizable read" probe
 * (restart timing) and rafktor's Admin Status (applied index, leader). It sends raw,
 * hand-encoded requests, so one code path drives both systems: etcdserverpb.PutRequest and
 * rafktor.v1.PutRequest both start with field 1 key and field 2 value, and
 * etcdserverpb.RangeRequest and rafktor.v1.GetRequest both carry the key in field 1.
 * Connections and blocking calls come from tests/integration/rkc.c (linked, not copied).
 * Must never be installed, touch a non-loopback target or report a call that failed as
 * a success.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/integration/rkc.h"

enum bench_system {
        BENCH_ETCD,
        BENCH_RAFKTOR,
};

struct bench_target {
        enum bench_system system;
        const char *put_path;
        const char *get_path;
};

/* Short reconnect back-off (5..50 ms), so a probe sees a restarted member at once; but a
 * connect attempt may take 2 s (gRPC uses the minimum back-off as the connect timeout),
 * so a slow member (under valgrind, on a busy machine) is still reached. */
int bench_connect(struct rkc *c, const char *endpoints, int64_t timeout_ms);

/* Only 127.0.0.1, localhost, [::1] and unix: endpoints pass. */
bool bench_endpoint_is_local(const char *endpoint);

/* Encodes {1: key, 2: value} (value_len 0: key only) into buf; returns the length, or 0
 * when buf is too small. value is value_len bytes of 'x'. */
size_t bench_encode_kv(uint8_t *buf, size_t size, const char *key, size_t value_len);

int bench_load(struct rkc *c, const struct bench_target *t, int argc, char **argv);
int bench_failover(struct rkc *c, const struct bench_target *t, int argc, char **argv);

/* A decimal unsigned number, the whole string. */
bool bench_parse_u64(const char *s, uint64_t *ret);
