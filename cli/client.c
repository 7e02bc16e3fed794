/* cli/client.c: endpoints tried in turn, client sessions, failures turned into exit codes.
 *
 * Owns: the retry policy across endpoints (only answers that mean "this node cannot serve
 * it now" move on) and the choice of which failure to report when none answered. Must never
 * change a request between retries: the same session makes the retry apply once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli/client.h"
#include "cli/exit_codes.h"
#include "cli/rpc.h"

struct client {
        char **endpoints;
        struct rpc_channel **channels;
        size_t n;
        size_t current;
        int64_t timeout_ms;
        uint64_t client_id;
        uint64_t next_request_id;
        struct client_error error;
};

int client_random_id(uint64_t *ret)
{
        uint64_t v = 0;

        while (v == 0) {
                ssize_t r = getrandom(&v, sizeof(v), 0);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r != (ssize_t)sizeof(v))
                        return r < 0 ? -errno : -EIO;
        }
        *ret = v;
        return 0;
}

struct client *client_new(char *const *endpoints, size_t n, int64_t timeout_ms)
{
        struct client *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->endpoints = calloc(n, sizeof(*c->endpoints));
        c->channels = calloc(n, sizeof(*c->channels));
        if (!c->endpoints || !c->channels)
                goto fail;
        for (c->n = 0; c->n < n; c->n++) {
                c->endpoints[c->n] = strdup(endpoints[c->n]);
                if (!c->endpoints[c->n])
                        goto fail;
        }
        if (client_random_id(&c->client_id) < 0)
                goto fail;
        c->next_request_id = 1;
        c->timeout_ms = timeout_ms;
        return c;
fail:
        client_free(c);
        return NULL;
}

void client_free(struct client *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++) {
                rpc_channel_free(c->channels[i]);
                free(c->endpoints[i]);
        }
        free(c->channels);
        free(c->endpoints);
        free(c);
}

size_t client_n_endpoints(const struct client *c)
{
        return c->n;
}

const char *client_endpoint(const struct client *c, size_t i)
{
        return c->endpoints[i];
}

size_t client_current(const struct client *c)
{
        return c->current;
}

void client_set_timeout(struct client *c, int64_t timeout_ms)
{
        c->timeout_ms = timeout_ms;
}

int64_t client_timeout(const struct client *c)
{
        return c->timeout_ms;
}

uint64_t client_id(const struct client *c)
{
        return c->client_id;
}

void client_session_next(struct client *c, Rafktor__V1__RequestSession *s)
{
        s->client_id = c->client_id;
        s->request_id = c->next_request_id++;
        s->first_outstanding = s->request_id;   /* one write in flight at a time */
}

const struct client_error *client_error(const struct client *c)
{
        return &c->error;
}

static void set_error(struct client *c, size_t i, grpc_status_code code, const char *details)
{
        char reason[600];

        raftctl_status_reason(code, details, reason, sizeof(reason));
        c->error.code = code;
        c->error.exit_code = raftctl_exit_from_status(code, details);
        snprintf(c->error.endpoint, sizeof(c->error.endpoint), "%s", c->endpoints[i]);
        snprintf(c->error.message, sizeof(c->error.message), "%s: %s", c->endpoints[i], reason);
}

int client_call_at(struct client *c, size_t i, const char *method, const ProtobufCMessage *req,
                   const void *raw, size_t raw_len, const ProtobufCMessageDescriptor *out,
                   int64_t timeout_ms, ProtobufCMessage **ret_resp)
{
        struct rpc_result res;
        int r;

        *ret_resp = NULL;
        if (!c->channels[i]) {
                c->channels[i] = rpc_channel_new(c->endpoints[i]);
                if (!c->channels[i]) {
                        set_error(c, i, GRPC_STATUS_UNAVAILABLE, "cannot create a channel");
                        return c->error.exit_code;
                }
        }
        r = rpc_unary(c->channels[i], method, req, raw, raw_len, out, timeout_ms, ret_resp,
                      &res);
        if (r < 0) {
                snprintf(res.details, sizeof(res.details), "starting %s failed: %s", method,
                         strerror(-r));
                res.code = GRPC_STATUS_INTERNAL;
        }
        if (res.code == GRPC_STATUS_OK) {
                c->current = i;
                memset(&c->error, 0, sizeof(c->error));
                return RAFTCTL_EXIT_OK;
        }
        set_error(c, i, res.code, res.details);
        return c->error.exit_code;
}

/* Which failure tells the user most when no endpoint answered: a node saying "no leader"
 * was reachable, a timeout may have applied a write, a dead endpoint says least. */
static int failure_rank(int exit_code)
{
        switch (exit_code) {
        case RAFTCTL_EXIT_NO_LEADER:
                return 3;
        case RAFTCTL_EXIT_TIMEOUT:
                return 2;
        default:
                return 1;
        }
}

int client_call(struct client *c, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *out, ProtobufCMessage **ret_resp)
{
        struct client_error best = { 0 };
        size_t answered = 0;

        for (size_t k = 0; k < c->n; k++) {
                size_t i = (c->current + k) % c->n;
                int r = client_call_at(c, i, method, req, NULL, 0, out, c->timeout_ms,
                                       ret_resp);

                if (r == RAFTCTL_EXIT_OK)
                        return r;
                if (!raftctl_status_retryable(c->error.code))
                        return r;
                if (c->error.exit_code != RAFTCTL_EXIT_UNREACHABLE)
                        answered++;
                if (k == 0 || failure_rank(c->error.exit_code) > failure_rank(best.exit_code))
                        best = c->error;
        }
        c->error = best;
        if (c->n > 1 && best.exit_code == RAFTCTL_EXIT_UNREACHABLE && answered == 0) {
                char msg[sizeof(best.message) + 64];

                snprintf(msg, sizeof(msg), "no endpoint answered (%zu tried; %s)", c->n,
                         best.message);
                memcpy(c->error.message, msg, sizeof(c->error.message) - 1);
                c->error.message[sizeof(c->error.message) - 1] = '\0';
        }
        return c->error.exit_code;
}
