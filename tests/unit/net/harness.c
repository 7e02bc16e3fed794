/* tests/unit/net/harness.c: fixtures for the daemon/net tests (see harness.h).
 *
 * Owns: test set-up and tear-down only. Must never sleep for a fixed time: every wait runs
 * the loop until a condition holds or a deadline passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/net/grpc_log.h"
#include "tests/unit/net/harness.h"

static void harness_log(void *user, int priority, const char *message)
{
        struct harness *h = user;

        if (h) {
                if (priority <= NET_LOG_ERR)
                        h->n_log_errors++;
                snprintf(h->last_log, sizeof(h->last_log), "%s", message);
        }
        if (getenv("NET_TEST_VERBOSE") || priority <= NET_LOG_WARNING)
                fprintf(stderr, "log<%d> %s\n", priority, message);
}

void harness_start_loop(struct harness *h)
{
        struct net_logger l = { .fn = harness_log, .user = h };

        memset(h, 0, sizeof(*h));
        h->loop = net_loop_new(&l);
        assert_non_null(h->loop);
}

void harness_start(struct harness *h, const struct net_method *methods, size_t n,
                   const struct net_server_options *opts, const char *listen_addr)
{
        harness_start_loop(h);
        h->srv = net_server_new(h->loop, methods, n, opts);
        assert_non_null(h->srv);
        if (!listen_addr)
                listen_addr = "127.0.0.1:0";
        h->port = net_server_listen(h->srv, listen_addr);
        assert_true(h->port > 0);
        assert_int_equal(net_server_start(h->srv), 0);
        if (strncmp(listen_addr, "unix:", 5) == 0)
                snprintf(h->target, sizeof(h->target), "%s", listen_addr);
        else
                snprintf(h->target, sizeof(h->target), "127.0.0.1:%d", h->port);
        h->ch = net_channel_new(h->loop, h->target, NULL);
        assert_non_null(h->ch);
}

void harness_stop(struct harness *h)
{
        if (h->srv)
                net_server_free(h->srv, 5000);
        h->srv = NULL;
        net_channel_free(h->ch);
        h->ch = NULL;
        net_loop_free(h->loop);
        h->loop = NULL;
}

static bool flag_set(void *arg)
{
        return *(const bool *)arg;
}

bool harness_wait_flag(struct harness *h, const bool *flag, int64_t timeout_ms)
{
        return net_loop_run_until(h->loop, flag_set, (void *)flag,
                                  net_loop_now_ms() + timeout_ms) == 0;
}

struct count_goal {
        const int *count;
        int target;
};

static bool count_reached(void *arg)
{
        struct count_goal *g = arg;

        return *g->count >= g->target;
}

bool harness_wait_count(struct harness *h, const int *count, int target, int64_t timeout_ms)
{
        struct count_goal g = { count, target };

        return net_loop_run_until(h->loop, count_reached, &g, net_loop_now_ms() + timeout_ms) == 0;
}

void harness_capture(const struct net_result *res, void *user)
{
        struct captured *c = user;

        c->done = true;
        c->code = res->code;
        snprintf(c->details, sizeof(c->details), "%s", res->details);
        c->len = res->len < sizeof(c->data) ? res->len : sizeof(c->data);
        if (res->len)
                memcpy(c->data, res->data, c->len);
        c->at_ms = net_loop_now_ms();
}
