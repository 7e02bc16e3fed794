/* tests/faults/fclient_work.c: fclient's workload (fc_run() in fclient.h).
 *
 * Owns: `clients` logical clients on one gRPC loop, each with its own session (client_id)
 * and one operation at a time: put, cas, get or delete on a small set of shared keys with
 * unique values, plus exactly-once probes on the client's private key (an acknowledged
 * put is re-sent with the same session to another node and must get the same reply).
 * Writes that fail without a definite answer are re-sent with the same session on the next
 * node. Must never: mark a write "fail" when any attempt could have taken effect, or reuse
 * a request id for a different write.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rafktor.pb-c.h"
#include "tests/faults/fclient.h"
#include "tests/sim/prng.h"

#define FC_VALUE_STRIDE 1000000u
#define FC_PROBE_EVERY 6        /* every n-th operation of a client is a probe */

struct fc_run;

struct fc_client {
        struct fc_run *run;
        unsigned id;                    /* 1-based, also the session's client_id */
        uint64_t next_request_id;
        uint64_t seq;                   /* values written */
        unsigned n_ops;
        struct net_timer timer;
        bool busy;
        bool in_flight;                 /* the operation below has no outcome yet */

        /* the operation in flight */
        struct lc_op op;
        const char *path;
        uint8_t *req;                   /* the packed request, re-sent unchanged */
        size_t req_len;
        unsigned attempts;
        size_t node;
        bool ambiguous;                 /* an attempt may have taken effect */
        bool probe;                     /* exactly-once probe: re-send after the OK */
        bool probe_resend;
        uint64_t first_index, first_version;
};

struct fc_run {
        const struct fc_options *o;
        struct rkc rkc;
        struct prng prng;
        FILE *hist;
        struct fc_client *c;
        uint64_t *last_value;           /* per shared key: a value some op saw or wrote */
        int64_t stop_ms;
        unsigned active;
        size_t n_ok, n_fail, n_unknown, n_eo;
        bool abandoned;                 /* gave up waiting: late completions only return */
};

static void client_next(struct fc_client *c);

static uint64_t parse_value(const ProtobufCBinaryData *b)
{
        char buf[32];

        if (b->len == 0 || b->len >= sizeof(buf))
                return UINT64_MAX;      /* not one of ours: lincheck refuses it loudly */
        memcpy(buf, b->data, b->len);
        buf[b->len] = '\0';
        return strtoull(buf, NULL, 10);
}

static void set_bin(ProtobufCBinaryData *b, const char *s)
{
        b->data = (uint8_t *)s;
        b->len = strlen(s);
}

static void record(struct fc_client *c)
{
        struct fc_run *run = c->run;

        c->in_flight = false;
        fc_history_write_op(run->hist, &c->op, c->attempts, (unsigned)c->node + 1);
        run->n_ok += c->op.status == LC_OK;
        run->n_fail += c->op.status == LC_FAIL;
        run->n_unknown += c->op.status == LC_UNKNOWN;
        if (c->op.key <= c->run->o->keys && c->op.status == LC_OK &&
            (c->op.type == LC_PUT || (c->op.type == LC_CAS && c->op.succeeded)))
                run->last_value[c->op.key - 1] = c->op.value;
        else if (c->op.key <= c->run->o->keys && c->op.status == LC_OK && c->op.found &&
                 c->op.type == LC_GET)
                run->last_value[c->op.key - 1] = c->op.out_value;
}

static void op_done(const struct net_result *res, void *user);

static void send_attempt(struct fc_client *c)
{
        struct fc_run *run = c->run;
        int r;

        c->attempts++;
        r = net_unary_call_bytes(run->rkc.ch[c->node], c->path, c->req, c->req_len, NULL,
                                 net_loop_now_ms() + run->o->attempt_ms, op_done, c);
        if (r < 0) {
                fprintf(stderr, "fclient: cannot start a call: %s\n", strerror(-r));
                c->op.status = c->ambiguous ? LC_UNKNOWN : LC_FAIL;
                record(c);
                client_next(c);
        }
}

/* Fills c->op's outputs from an OK reply; false when the reply does not decode. */
static bool take_reply(struct fc_client *c, const struct net_result *res)
{
        switch (c->op.type) {
        case LC_PUT: {
                Rafktor__V1__PutResponse *p =
                        rafktor__v1__put_response__unpack(NULL, res->len, res->data);

                if (!p)
                        return false;
                if (c->probe_resend) {
                        if (p->index != c->first_index || p->version != c->first_version) {
                                fc_history_write_eo(c->run->hist, c->id, c->op.key,
                                                    c->first_index, c->first_version,
                                                    p->index, p->version);
                                c->run->n_eo++;
                        }
                } else {
                        c->op.out_version = p->version;
                        c->first_index = p->index;
                        c->first_version = p->version;
                }
                rafktor__v1__put_response__free_unpacked(p, NULL);
                return true;
        }
        case LC_CAS: {
                Rafktor__V1__CompareAndSwapResponse *p =
                        rafktor__v1__compare_and_swap_response__unpack(NULL, res->len,
                                                                       res->data);

                if (!p)
                        return false;
                c->op.succeeded = p->succeeded;
                c->op.found = p->found && p->current;
                if (c->op.found) {
                        c->op.out_value = parse_value(&p->current->value);
                        c->op.out_version = p->current->version;
                }
                rafktor__v1__compare_and_swap_response__free_unpacked(p, NULL);
                return true;
        }
        case LC_GET: {
                Rafktor__V1__GetResponse *p =
                        rafktor__v1__get_response__unpack(NULL, res->len, res->data);

                if (!p)
                        return false;
                c->op.found = p->found && p->kv;
                if (c->op.found) {
                        c->op.out_value = parse_value(&p->kv->value);
                        c->op.out_version = p->kv->version;
                }
                rafktor__v1__get_response__free_unpacked(p, NULL);
                return true;
        }
        case LC_DELETE: {
                Rafktor__V1__DeleteResponse *p =
                        rafktor__v1__delete_response__unpack(NULL, res->len, res->data);

                if (!p)
                        return false;
                c->op.found = p->deleted;
                rafktor__v1__delete_response__free_unpacked(p, NULL);
                return true;
        }
        }
        return false;
}

/* A definite "not applied" answer to one attempt of a write. UNAVAILABLE "failed to
 * connect to all addresses" is gRPC failing a call on a fail-fast channel that has no
 * connection to put it on: not one byte of the request left this client (the reasoning
 * daemon/node/forward.c relies on too), so the node never saw it. */
static bool definitely_not_applied(const struct net_result *res)
{
        if (strstr(res->details, "outcome is unknown"))
                return false;
        return res->code == GRPC_STATUS_ABORTED || res->code == GRPC_STATUS_INVALID_ARGUMENT ||
               (res->code == GRPC_STATUS_UNAVAILABLE &&
                (strstr(res->details, "no leader elected yet") ||
                 strstr(res->details, "failed to connect to all addresses")));
}

static void op_done(const struct net_result *res, void *user)
{
        struct fc_client *c = user;
        struct fc_run *run = c->run;
        bool write = c->op.type != LC_GET;

        if (run->abandoned)
                return;
        if (res->code == GRPC_STATUS_OK) {
                bool resend = c->probe_resend;

                if (!take_reply(c, res)) {
                        fprintf(stderr, "fclient: c%u: an OK reply does not decode\n", c->id);
                        if (!resend) {  /* a re-sent probe was recorded already */
                                c->op.status = write ? LC_UNKNOWN : LC_FAIL;
                                record(c);
                        }
                        client_next(c);
                        return;
                }
                if (resend) {
                        client_next(c);         /* the op was recorded at its first OK */
                        return;
                }
                c->op.status = LC_OK;
                c->op.complete = fc_now_us();
                record(c);
                if (c->probe) {
                        /* the same bytes (same session) through another node */
                        c->probe_resend = true;
                        c->node = (c->node + 1) % run->rkc.n_ch;
                        send_attempt(c);
                        return;
                }
                client_next(c);
                return;
        }
        if (c->probe_resend) {          /* the re-send got no answer: nothing to compare */
                client_next(c);
                return;
        }
        if (!write) {
                c->op.status = LC_FAIL;
                record(c);
                client_next(c);
                return;
        }
        if (c->op.type == LC_CAS && res->code == GRPC_STATUS_FAILED_PRECONDITION &&
            strstr(res->details, "compare failed")) {
                /* The session makes this answer authoritative for every earlier attempt
                 * too; the wire carries no current value, so it is not checked further. */
                c->op.status = LC_FAIL;
                record(c);
                client_next(c);
                return;
        }
        if (res->code == GRPC_STATUS_INVALID_ARGUMENT ||
            res->code == GRPC_STATUS_FAILED_PRECONDITION)
                fprintf(stderr, "fclient: c%u: write refused %s: %s\n", c->id,
                        rkc_code_name(res->code), res->details);
        if (!definitely_not_applied(res))
                c->ambiguous = true;
        if (c->attempts < run->o->max_attempts) {
                c->node = (c->node + 1) % run->rkc.n_ch;
                send_attempt(c);
                return;
        }
        c->op.status = c->ambiguous ? LC_UNKNOWN : LC_FAIL;
        record(c);
        client_next(c);
}

/* Builds the next operation of client c into c->req. */
static int build_op(struct fc_client *c)
{
        struct fc_run *run = c->run;
        Rafktor__V1__RequestSession session = RAFKTOR__V1__REQUEST_SESSION__INIT;
        char key[32], value[32], expect[32];
        ProtobufCMessage *m;
        union {
                Rafktor__V1__PutRequest put;
                Rafktor__V1__CompareAndSwapRequest cas;
                Rafktor__V1__GetRequest get;
                Rafktor__V1__DeleteRequest del;
        } u;
        uint64_t pick = prng_below(&run->prng, 100);

        memset(&c->op, 0, sizeof(c->op));
        c->op.client = c->id;
        c->probe = ++c->n_ops % FC_PROBE_EVERY == 0;
        c->probe_resend = false;
        c->ambiguous = false;
        c->attempts = 0;
        c->node = prng_below(&run->prng, run->rkc.n_ch);
        if (c->probe) {
                c->op.key = FC_PRIVATE_KEY_BASE + c->id;
                c->op.type = LC_PUT;
        } else {
                c->op.key = 1 + prng_below(&run->prng, run->o->keys);
                c->op.type = pick < 35 ? LC_PUT : pick < 60 ? LC_CAS : pick < 95 ? LC_GET
                                                                                : LC_DELETE;
        }
        fc_key_name(c->op.key, key, sizeof(key));
        if (c->op.type == LC_PUT || c->op.type == LC_CAS) {
                c->op.value = (uint64_t)c->id * FC_VALUE_STRIDE + ++c->seq;
                snprintf(value, sizeof(value), "%" PRIu64, c->op.value);
        }
        if (c->op.type != LC_GET) {
                session.client_id = c->id;
                session.request_id = c->next_request_id++;
                session.first_outstanding = session.request_id;
        }
        switch (c->op.type) {
        case LC_PUT:
                rafktor__v1__put_request__init(&u.put);
                set_bin(&u.put.key, key);
                set_bin(&u.put.value, value);
                u.put.session = &session;
                m = &u.put.base;
                c->path = "/rafktor.v1.KV/Put";
                break;
        case LC_CAS:
                rafktor__v1__compare_and_swap_request__init(&u.cas);
                c->op.expect = run->last_value[c->op.key - 1];
                if (c->op.expect == 0 || prng_chance(&run->prng, 100))
                        c->op.expect = (uint64_t)(1 + prng_below(&run->prng, run->o->clients)) *
                                               FC_VALUE_STRIDE + 1;
                snprintf(expect, sizeof(expect), "%" PRIu64, c->op.expect);
                set_bin(&u.cas.key, key);
                u.cas.compare_case =
                        RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VALUE;
                set_bin(&u.cas.compare_value, expect);
                set_bin(&u.cas.new_value, value);
                u.cas.session = &session;
                m = &u.cas.base;
                c->path = "/rafktor.v1.KV/CompareAndSwap";
                break;
        case LC_GET:
                rafktor__v1__get_request__init(&u.get);
                set_bin(&u.get.key, key);
                m = &u.get.base;
                c->path = "/rafktor.v1.KV/Get";
                break;
        default:
                rafktor__v1__delete_request__init(&u.del);
                set_bin(&u.del.key, key);
                u.del.session = &session;
                m = &u.del.base;
                c->path = "/rafktor.v1.KV/Delete";
                break;
        }
        free(c->req);
        c->req_len = protobuf_c_message_get_packed_size(m);
        c->req = malloc(c->req_len ? c->req_len : 1);
        if (!c->req)
                return -ENOMEM;
        protobuf_c_message_pack(m, c->req);
        return 0;
}

static void start_op(struct net_timer *t, void *user)
{
        struct fc_client *c = user;

        (void)t;
        if (net_loop_now_ms() >= c->run->stop_ms || build_op(c) < 0) {
                c->busy = false;
                c->run->active--;
                return;
        }
        c->op.invoke = fc_now_us();
        c->in_flight = true;
        send_attempt(c);
}

/* A short random pause between operations, so clients interleave differently. */
static void client_next(struct fc_client *c)
{
        struct fc_run *run = c->run;

        net_timer_start(run->rkc.loop, &c->timer,
                        net_loop_now_ms() + (int64_t)prng_below(&run->prng, 8), start_op, c);
}

static bool all_idle(void *arg)
{
        return ((struct fc_run *)arg)->active == 0;
}

int fc_run(const struct fc_options *o)
{
        struct fc_run run = { .o = o };
        int64_t end;
        int r = -ENOMEM;

        prng_init(&run.prng, o->seed);
        run.hist = fopen(o->history, "we");
        if (!run.hist) {
                fprintf(stderr, "fclient: cannot create the history %s: %s\n", o->history,
                        strerror(errno));
                return -errno;
        }
        fprintf(run.hist, "# fclient run seed=%" PRIu64 " clients=%u keys=%u seconds=%u\n",
                o->seed, o->clients, o->keys, o->seconds);
        run.c = calloc(o->clients, sizeof(*run.c));
        run.last_value = calloc(o->keys, sizeof(*run.last_value));
        if (!run.c || !run.last_value)
                goto out;
        r = rkc_init(&run.rkc, o->endpoints, o->attempt_ms);
        if (r < 0)
                goto out;
        run.stop_ms = net_loop_now_ms() + (int64_t)o->seconds * 1000;
        for (unsigned i = 0; i < o->clients; i++) {
                struct fc_client *c = &run.c[i];

                c->run = &run;
                c->id = i + 1;
                c->next_request_id = 1;
                c->busy = true;
                run.active++;
                client_next(c);
        }
        /* Every operation ends within max_attempts deadlines after the stop. */
        end = run.stop_ms + (int64_t)(o->max_attempts + 2) * o->attempt_ms + 5000;
        r = net_loop_run_until(run.rkc.loop, all_idle, &run, end);
        if (r < 0) {
                /* Their writes may yet take effect: in the history as unknown. */
                fprintf(stderr, "fclient: %u clients still busy at the end\n", run.active);
                for (unsigned i = 0; i < o->clients; i++) {
                        struct fc_client *c = &run.c[i];

                        if (!c->in_flight)
                                continue;
                        c->op.status = c->op.type == LC_GET ? LC_FAIL : LC_UNKNOWN;
                        record(c);
                }
                run.abandoned = true;
        }
        printf("ops=%zu ok=%zu fail=%zu unknown=%zu eo_violations=%zu\n",
               run.n_ok + run.n_fail + run.n_unknown, run.n_ok, run.n_fail, run.n_unknown,
               run.n_eo);
        for (unsigned i = 0; i < o->clients; i++)
                net_timer_cancel(run.rkc.loop, &run.c[i].timer);
out:
        rkc_done(&run.rkc);
        fclose(run.hist);
        if (run.c)
                for (unsigned i = 0; i < o->clients; i++)
                        free(run.c[i].req);
        free(run.c);
        free(run.last_value);
        return r;
}
