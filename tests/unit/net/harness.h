/* tests/unit/net/harness.h: shared set-up for the daemon/net tests: a loop, a server on an
 * ephemeral 127.0.0.1 port (or none), a client channel to it, log capture, and waiting on
 * conditions with a deadline (never fixed sleeps).
 *
 * Owns: only test fixtures. Must never be linked into the daemon.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/net/client.h"
#include "daemon/net/loop.h"
#include "daemon/net/server.h"

struct harness {
        struct net_loop *loop;
        struct net_server *srv;
        struct net_channel *ch;
        int port;
        char target[128];
        int n_log_errors;
        char last_log[1024];
};

/* Loop + server (methods, opts) listening on listen_addr ("127.0.0.1:0" when NULL) +
 * channel to it. Asserts on failure. */
void harness_start(struct harness *h, const struct net_method *methods, size_t n,
                   const struct net_server_options *opts, const char *listen_addr);
/* Loop only (h->srv, h->ch NULL). */
void harness_start_loop(struct harness *h);
void harness_stop(struct harness *h);

/* Run the loop until *flag is true; false if timeout_ms passed first. */
bool harness_wait_flag(struct harness *h, const bool *flag, int64_t timeout_ms);
/* Run the loop until *count >= target; false if timeout_ms passed first. */
bool harness_wait_count(struct harness *h, const int *count, int target, int64_t timeout_ms);

/* A unary result captured into plain storage. */
struct captured {
        bool done;
        grpc_status_code code;
        char details[512];
        uint8_t data[4096];
        size_t len;
        int64_t at_ms;           /* loop clock when it completed */
};
void harness_capture(const struct net_result *res, void *user);
