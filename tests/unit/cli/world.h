/* tests/unit/cli/world.h: fixtures of the raftctl end-to-end tests (see world.c).
 *
 * Owns: the shared fake-server world, declared here once. Must never be used outside
 * tests/unit/cli.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "tests/unit/cli/proc.h"

/* Fake servers: a leader n1, a follower n2, a node without a leader, one whose Get never
 * answers, one that loses its first write reply; and an endpoint where nobody listens. */
struct world {
        char *dir;
        char ep_leader[512], ep_follower[512], ep_noleader[512], ep_hang[512], ep_lossy[512];
        char ep_dead[512];
        pid_t pids[5];
};

extern struct world W;

/* cmocka group setup and teardown. */
int setup_world(void **state);
int teardown_world(void **state);

/* raftctl ARGS... (NULL-terminated), stdin from in/in_len. */
void run_in(struct proc_result *r, const void *in, size_t in_len, ...);
#define RUN(r, ...) run_in((r), NULL, 0, __VA_ARGS__, (char *)NULL)

/* raftctl's stdout as JSON (the test fails if it is not). */
json_object *parse(const struct proc_result *r);
const char *jstr(json_object *o, const char *k);
uint64_t ju64(json_object *o, const char *k);
