/* tests/unit/node/cluster.h: three rafktor nodes in one process on one net_loop.
 *
 * Owns: a temporary directory with each node's data dir and unix socket, the nodes'
 * configs, servers and client channels, a synchronous client (run the loop until the
 * reply arrives or a deadline passes) and waits on cluster conditions. Must never sleep:
 * every wait runs the loop until a condition holds or its deadline passes.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config/config.h"
#include "daemon/net/accept.h"
#include "daemon/net/client.h"
#include "daemon/net/loop.h"
#include "daemon/net/server.h"
#include "daemon/node/node.h"
#include "daemon/storage/io.h"
#include "lib/log.h"

#define TC_NODES 3

struct tnode {
        struct rafktor_config cfg;
        struct node *node;              /* NULL while stopped */
        struct net_server *srv;
        struct net_channel *ch;         /* the test client's channel to this node */
        unsigned role_changes;          /* from the on_role callback */
        /* The node's disk: POSIX, except that writes and syncs fail with fail_code (a
         * negative errno) once it is set (storage thread reads it). */
        struct storage_io io;
        atomic_int fail_code;
        int storage_error_code;         /* from the on_storage_error callback */
        /* With tcluster.admin_endpoints: a TCP port (127.0.0.1) and an admin unix socket
         * served through net/accept.c (connections carry SO_PEERCRED), like rafktord's. */
        int tcp_port;
        char admin_path[128];
        struct net_acceptor *admin_acc;
};

struct tcluster {
        char dir[64];
        struct net_loop *loop;
        struct log *log;
        struct tnode n[TC_NODES];
        bool admin_endpoints;           /* set before tc_start: see struct tnode */
};

/* A reply: code, details, and the reply bytes (malloc'd, free with tresult_clear). */
struct tresult {
        bool done;
        grpc_status_code code;
        char details[512];
        uint8_t *data;
        size_t len;
};
void tresult_clear(struct tresult *r);

/* Creates the directory, the loop and the configs (request_timeout_ms as given); starts
 * no node. */
void tc_init(struct tcluster *c, uint32_t request_timeout_ms);
/* Stops every running node and removes the directory. */
void tc_destroy(struct tcluster *c);

void tc_start(struct tcluster *c, int i);   /* node_new + server + node_start */
void tc_stop(struct tcluster *c, int i);    /* node_stop + server free + node_free */

/* Waits until the running nodes agree on one leader; returns its index or -1. */
int tc_wait_leader(struct tcluster *c, int64_t timeout_ms);
/* Waits until node i applied everything the leader `l` committed. */
bool tc_wait_caught_up(struct tcluster *c, int i, int l, int64_t timeout_ms);

/* Unary call to node i, raw request bytes; waits for the reply up to deadline + 2 s. */
void tc_call_bytes(struct tcluster *c, int i, const char *path, const void *data, size_t len,
                   int64_t timeout_ms, struct tresult *res);
void tc_call(struct tcluster *c, int i, const char *path, const ProtobufCMessage *req,
             int64_t timeout_ms, struct tresult *res);
/* The same on any channel (e.g. to a node's TCP port or admin socket). */
void tc_call_on(struct tcluster *c, struct net_channel *ch, const char *path,
                const ProtobufCMessage *req, int64_t timeout_ms, struct tresult *res);

/* KV helpers: each asserts nothing, the caller checks the result. */
void tc_put(struct tcluster *c, int i, const char *key, const char *value, uint64_t client_id,
            uint64_t request_id, struct tresult *res);
void tc_get(struct tcluster *c, int i, const char *key, bool stale, struct tresult *res);

/* cmocka fixtures: a fresh cluster with every node started (request timeout 2 s) in
 * *state; its teardown; and a check of a call's status code naming `what`. */
int tc_setup_running(void **state);
int tc_teardown(void **state);
void tc_expect_code(const struct tresult *r, grpc_status_code want, const char *what);
