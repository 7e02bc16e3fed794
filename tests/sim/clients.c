/* tests/sim/clients.c: the simulated clients.
 *
 * Owns: what clients do: one operation at a time (put with a unique value,
 * compare-and-swap on a value, delete, linearizable get) through a random node;
 * a timeout per attempt; retries: a client with a session retries a write
 * with the same request id until it learns the outcome, a client without
 * one retries only after a definite failure (a retry after an unknown
 * outcome could apply twice); reads retry freely. It records every
 * operation in the history and checks that all answers to one sessioned
 * request are the same bytes.
 * Must never: invent an outcome: an attempt it stopped waiting for is
 * unknown, never failed.
 */
#include <stdlib.h>
#include <string.h>

#include "rafktor.pb-c.h"
#include "tests/sim/sim.h"

enum { CLIENT_MAX_ATTEMPTS = 10 };

static int client_schedule(struct sim *sim, struct sim_client *c, uint64_t delay)
{
        c->timer_gen++;
        return sim_schedule(sim, delay, SIM_EV_CLIENT_TIMER, -1, c->idx, c->timer_gen, NULL);
}

void clients_init(struct sim *sim)
{
        struct clients *cs = &sim->clients;

        memset(cs, 0, sizeof(*cs));
        cs->n = (unsigned) prng_range(&sim->rng, 2, 6);
        cs->n_keys = (unsigned) prng_range(&sim->rng, 1, 3);
        cs->next_value = 1;
        cs->timeout_min_ms = prng_range(&sim->rng, 80, 300);
        cs->timeout_max_ms = cs->timeout_min_ms + prng_range(&sim->rng, 50, 900);
        cs->think_max_ms = prng_range(&sim->rng, 5, 80);
        for (unsigned i = 0; i < cs->n; i++) {
                struct sim_client *c = &cs->c[i];

                c->idx = (int) i;
                /* Most clients have a session; the first one always, one other never. */
                c->session_id = (i == 0 || (i != 1 && prng_chance(&sim->rng, 700))) ? 100 + i : 0;
                c->next_request_id = 1;
                client_schedule(sim, c, prng_below(&sim->rng, 20));
        }
}

void clients_free(struct sim *sim)
{
        for (unsigned i = 0; i < sim->clients.n; i++) {
                free(sim->clients.c[i].cmd);
                sim->clients.c[i].cmd = NULL;
        }
}

bool clients_idle(const struct sim *sim)
{
        for (unsigned i = 0; i < sim->clients.n; i++)
                if (sim->clients.c[i].busy)
                        return false;
        return true;
}

static void key_bytes(uint64_t key, char *buf, size_t size)
{
        snprintf(buf, size, "k%llu", (unsigned long long) key);
}

static int encode_command(struct sim_client *c, const struct lc_op *op, uint64_t request_id)
{
        Rafktor__V1__Command cmd = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__RequestSession session = RAFKTOR__V1__REQUEST_SESSION__INIT;
        Rafktor__V1__PutRequest put = RAFKTOR__V1__PUT_REQUEST__INIT;
        Rafktor__V1__DeleteRequest del = RAFKTOR__V1__DELETE_REQUEST__INIT;
        Rafktor__V1__CompareAndSwapRequest cas;
        char key[16], value[32], expect[32];

        /* The generated INIT macro trips -Wmissing-braces on its oneof union. */
        rafktor__v1__compare_and_swap_request__init(&cas);

        key_bytes(op->key, key, sizeof(key));
        snprintf(value, sizeof(value), "v%llu", (unsigned long long) op->value);
        snprintf(expect, sizeof(expect), "v%llu", (unsigned long long) op->expect);
        if (c->session_id) {
                session.client_id = c->session_id;
                session.request_id = request_id;
                session.first_outstanding = request_id;
                cmd.session = &session;
        }
        if (op->type == LC_PUT) {
                put.key.data = (uint8_t *) key;
                put.key.len = strlen(key);
                put.value.data = (uint8_t *) value;
                put.value.len = strlen(value);
                cmd.op_case = RAFKTOR__V1__COMMAND__OP_PUT;
                cmd.put = &put;
        } else if (op->type == LC_DELETE) {
                del.key.data = (uint8_t *) key;
                del.key.len = strlen(key);
                cmd.op_case = RAFKTOR__V1__COMMAND__OP_DELETE;
                cmd.delete_ = &del;
        } else {
                cas.key.data = (uint8_t *) key;
                cas.key.len = strlen(key);
                cas.compare_case = RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VALUE;
                cas.compare_value.data = (uint8_t *) expect;
                cas.compare_value.len = strlen(expect);
                cas.new_value.data = (uint8_t *) value;
                cas.new_value.len = strlen(value);
                cmd.op_case = RAFKTOR__V1__COMMAND__OP_CAS;
                cmd.cas = &cas;
        }
        free(c->cmd);
        c->cmd_len = rafktor__v1__command__get_packed_size(&cmd);
        c->cmd = malloc(c->cmd_len);
        if (!c->cmd)
                return -1;
        rafktor__v1__command__pack(&cmd, c->cmd);
        return 0;
}

/* With membership changes, a client talks to the members of the newest
 * committed configuration (its member list), not to spare slots, nodes
 * whose addition never committed, or removed nodes (those answer
 * NO_LEADER once the leader stops talking to them). */
static bool usable_node(const struct sim *sim, int node)
{
        if (!sim->membership)
                return true;
        if (!sim->inv.members)
                return sim->nodes[node].provisioned;
        return (sim->inv.members >> node) & 1u;
}

static int send_attempt(struct sim *sim, struct sim_client *c)
{
        struct hist_op *h = &sim->hist.ops[c->op];
        uint64_t timeout = prng_range(&sim->rng, sim->clients.timeout_min_ms,
                                      sim->clients.timeout_max_ms);
        int node = (int) prng_below(&sim->rng, sim->n_nodes);
        struct sim_request *req = calloc(1, sizeof(*req));
        uint64_t delay;

        if (!req)
                return -1;
        while (!usable_node(sim, node))
                node = (int) prng_below(&sim->rng, sim->n_nodes);
        c->attempt++;
        h->attempts++;
        req->op = c->op;
        req->attempt = c->attempt;
        req->client = c->idx;
        req->is_read = h->lc.type == LC_GET;
        req->key = h->lc.key;
        req->deadline = sim->now + timeout;
        req->from_node = -1;
        if (!req->is_read) {
                req->cmd = malloc(c->cmd_len);
                if (!req->cmd) {
                        free(req);
                        return -1;
                }
                memcpy(req->cmd, c->cmd, c->cmd_len);
                req->cmd_len = c->cmd_len;
        }
        c->attempt_deadline = req->deadline;
        c->attempt_after_heal = sim->healed;
        trace_add(&sim->trace, sim->now, "c%d sends op %llu attempt %llu to %s", c->idx,
                  (unsigned long long) c->op, (unsigned long long) c->attempt,
                  sim->nodes[node].id);
        if (net_client_send(&sim->net, &sim->rng, &delay) == NET_LOST) {
                trace_add(&sim->trace, sim->now, "c%d -> %s request LOST", c->idx,
                          sim->nodes[node].id);
                sim_request_free(req);
        } else {
                sim_schedule(sim, delay, SIM_EV_REQUEST, node, -1, 0, req);
        }
        /* Wait a little past the deadline for the answer to travel back. */
        return client_schedule(sim, c, timeout + (SIM_MAX_HOPS + 1) * sim->net.delay_max_ms + 1);
}

static int start_op(struct sim *sim, struct sim_client *c)
{
        struct clients *cs = &sim->clients;
        struct hist_op h = { .client = c->idx, .session = c->session_id != 0 };
        uint64_t pick = prng_below(&sim->rng, 100);
        int r;

        h.lc.client = (uint64_t) c->idx;
        h.lc.key = prng_below(&sim->rng, cs->n_keys);
        h.lc.type = pick < 40 ? LC_PUT : pick < 58 ? LC_CAS : pick < 64 ? LC_DELETE : LC_GET;
        h.invoke_ms = sim->now;
        h.started_healed = sim->healed;
        if (h.lc.type != LC_GET) {
                if (h.lc.type != LC_DELETE)
                        h.lc.value = cs->next_value++;
                if (h.lc.type == LC_CAS) {
                        uint64_t known = c->known_value[h.lc.key];

                        /* Mostly a value this client saw; sometimes one never written. */
                        h.lc.expect = known && prng_chance(&sim->rng, 850) ? known
                                                                            : cs->next_value++;
                }
                h.request_id = c->session_id ? c->next_request_id++ : 0;
                if (encode_command(c, &h.lc, h.request_id) < 0)
                        return -1;
                h.cmd_hash = inv_hash_bytes(c->cmd, c->cmd_len);
        }
        r = history_invoke(&sim->hist, &h, &c->op);
        if (r < 0)
                return r;
        c->busy = true;
        c->any_unknown = false;
        return send_attempt(sim, c);
}

static void finish(struct sim *sim, struct sim_client *c, enum lc_status st)
{
        history_complete(&sim->hist, c->op, st, sim->now);
        if (st == LC_OK)
                sim->clients.ok++;
        else if (st == LC_FAIL)
                sim->clients.failed++;
        else
                sim->clients.unknown++;
        trace_add(&sim->trace, sim->now, "c%d op %llu done: %s", c->idx,
                  (unsigned long long) c->op,
                  st == LC_OK ? "ok" : (st == LC_FAIL ? "failed" : "unknown"));
        c->busy = false;
        client_schedule(sim, c, prng_range(&sim->rng, 1, sim->clients.think_max_ms));
}

/* The current attempt ended without success; `unknown`: it may still apply. */
static int attempt_failed(struct sim *sim, struct sim_client *c, bool unknown)
{
        struct hist_op *h = &sim->hist.ops[c->op];
        bool may_retry = sim->healed || h->attempts < CLIENT_MAX_ATTEMPTS;

        if (unknown && h->lc.type != LC_GET)
                c->any_unknown = true;
        if (h->lc.type != LC_GET && !h->session && c->any_unknown) {
                finish(sim, c, LC_UNKNOWN);
                return 0;
        }
        if (!may_retry) {
                finish(sim, c, c->any_unknown ? LC_UNKNOWN : LC_FAIL);
                return 0;
        }
        /* Back off, then send the same request again (same request id). */
        c->attempt_deadline = 0;
        return client_schedule(sim, c, prng_range(&sim->rng, 5, 60));
}

int clients_timer(struct sim *sim, struct sim_client *c, uint64_t gen)
{
        if (gen != c->timer_gen)
                return 0;
        if (!c->busy) {
                if (sim->clients.stop_new)
                        return 0;
                return start_op(sim, c);
        }
        if (c->attempt_deadline == 0)
                return send_attempt(sim, c); /* the back-off ended */
        trace_add(&sim->trace, sim->now, "c%d op %llu attempt %llu timed out", c->idx,
                  (unsigned long long) c->op, (unsigned long long) c->attempt);
        if (c->attempt_after_heal)
                sim_fail(sim, "liveness after heal",
                         "c%d op %llu: attempt %llu, sent after the network healed, got no "
                         "answer by its deadline %llu ms", c->idx, (unsigned long long) c->op,
                         (unsigned long long) c->attempt,
                         (unsigned long long) c->attempt_deadline);
        return attempt_failed(sim, c, true);
}

static uint64_t value_id(ProtobufCBinaryData v)
{
        char buf[32];
        size_t l = v.len < sizeof(buf) - 1 ? v.len : sizeof(buf) - 1;

        memcpy(buf, v.data, l);
        buf[l] = '\0';
        return buf[0] == 'v' ? strtoull(buf + 1, NULL, 10) : 0;
}

/* A write's CommandResult: fills the op's outputs; false if it is an error. */
static bool decode_result(struct sim *sim, struct hist_op *h, const struct sim_reply *rep,
                          bool *ret_error)
{
        Rafktor__V1__CommandResult *res =
                rafktor__v1__command_result__unpack(NULL, rep->result_len, rep->result);
        bool ok = true;

        *ret_error = false;
        if (!res) {
                sim_fail(sim, "client protocol", "c%d op %llu: undecodable CommandResult of "
                         "%zu bytes", h->client, (unsigned long long) (h - sim->hist.ops),
                         rep->result_len);
                return false;
        }
        if (res->error_code) {
                *ret_error = true;
                trace_add(&sim->trace, sim->now, "c%d op %llu refused: %u %s", h->client,
                          (unsigned long long) (h - sim->hist.ops), res->error_code,
                          res->error_message);
        } else if (h->lc.type == LC_PUT && res->result_case ==
                   RAFKTOR__V1__COMMAND_RESULT__RESULT_PUT) {
                h->lc.out_version = res->put->version;
                h->index = res->put->index;
        } else if (h->lc.type == LC_CAS && res->result_case ==
                   RAFKTOR__V1__COMMAND_RESULT__RESULT_CAS) {
                h->lc.succeeded = res->cas->succeeded;
                h->lc.found = res->cas->found && res->cas->current;
                if (h->lc.found) {
                        h->lc.out_value = value_id(res->cas->current->value);
                        h->lc.out_version = res->cas->current->version;
                }
                h->index = res->cas->index;
        } else if (h->lc.type == LC_DELETE && res->result_case ==
                   RAFKTOR__V1__COMMAND_RESULT__RESULT_DELETE) {
                h->lc.found = res->delete_->deleted;
                h->index = res->delete_->index;
        } else {
                sim_fail(sim, "client protocol", "c%d op %llu: CommandResult of the wrong kind "
                         "(%d)", h->client, (unsigned long long) (h - sim->hist.ops),
                         (int) res->result_case);
                ok = false;
        }
        rafktor__v1__command_result__free_unpacked(res, NULL);
        return ok;
}

static bool result_is_error(const struct sim_reply *rep)
{
        Rafktor__V1__CommandResult *res =
                rafktor__v1__command_result__unpack(NULL, rep->result_len, rep->result);
        bool err = !res || res->error_code != 0;

        rafktor__v1__command_result__free_unpacked(res, NULL);
        return err;
}

/* Another answer to a sessioned write already answered: must be the same
 * bytes, unless the state machine refused it as below the session's window
 * (the client moved on, so the first reply may be forgotten). */
static void check_repeat(struct sim *sim, struct hist_op *h, const struct sim_reply *rep)
{
        if (h->lc.status != LC_OK || !h->session || !h->first_result)
                return;
        if (result_is_error(rep))
                return;
        if (rep->result_len != h->first_len ||
            memcmp(rep->result, h->first_result, h->first_len) != 0) {
                sim_fail(sim, "retried request applied once",
                         "c%d op %llu (client_id %llu, request_id %llu): a retry was answered "
                         "with %zu bytes that differ from the first answer (%zu bytes)",
                         h->client, (unsigned long long) (h - sim->hist.ops),
                         (unsigned long long) sim->clients.c[h->client].session_id,
                         (unsigned long long) h->request_id, rep->result_len, h->first_len);
                return;
        }
        h->retried_ok++;
}

int clients_reply(struct sim *sim, struct sim_client *c, struct sim_reply *rep)
{
        struct hist_op *h = &sim->hist.ops[rep->op];
        bool current = c->busy && rep->op == c->op;
        bool error = false;

        if (rep->kind == SIM_REPLY_RESULT && !current) {
                if (h->lc.status == LC_FAIL && !h->pending && !result_is_error(rep))
                        sim_fail(sim, "definite failures are definite",
                                 "c%d op %llu was reported failed, then answered with a result",
                                 c->idx, (unsigned long long) rep->op);
                check_repeat(sim, h, rep);
                return 0;
        }
        if (!current)
                return 0;
        if (rep->kind != SIM_REPLY_RESULT && rep->attempt != c->attempt)
                return 0; /* a stale failure of an earlier attempt */
        switch (rep->kind) {
        case SIM_REPLY_READ:
                h->lc.found = rep->found;
                h->lc.out_value = rep->value;
                h->lc.out_version = rep->version;
                if (rep->found)
                        c->known_value[h->lc.key] = rep->value;
                finish(sim, c, LC_OK);
                return 0;
        case SIM_REPLY_RESULT:
                if (!decode_result(sim, h, rep, &error) && !error)
                        return -1;
                if (error)
                        return attempt_failed(sim, c, false);
                h->first_result = malloc(rep->result_len ? rep->result_len : 1);
                if (!h->first_result)
                        return -1;
                memcpy(h->first_result, rep->result, rep->result_len);
                h->first_len = rep->result_len;
                if (h->lc.type == LC_DELETE)
                        c->known_value[h->lc.key] = 0;
                else if (h->lc.type == LC_PUT || (h->lc.succeeded && h->lc.found))
                        c->known_value[h->lc.key] = h->lc.type == LC_PUT ? h->lc.value
                                                                         : h->lc.out_value;
                else if (h->lc.found)
                        c->known_value[h->lc.key] = h->lc.out_value;
                finish(sim, c, LC_OK);
                inv_on_ack(sim, h);
                return 0;
        case SIM_REPLY_FAIL:
                trace_add(&sim->trace, sim->now, "c%d op %llu attempt %llu failed: %d %s",
                          c->idx, (unsigned long long) rep->op,
                          (unsigned long long) rep->attempt, (int) rep->fail, rep->reason);
                return attempt_failed(sim, c, rep->fail == RAFT_FAIL_TIMEOUT);
        }
        return 0;
}
