/* tests/integration/rkc_load.c: rkc's stream of writes (see rkc_load() in rkc.h).
 *
 * Owns: the in-flight put slots, their retry timers and the counters. Must never report
 * a key as acknowledged before its PutResponse arrived with status OK.
 */
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rafktor.pb-c.h"
#include "tests/integration/rkc.h"

#define LOAD_RETRY_DELAY_MS 20
#define LOAD_MAX_MS 120000

struct load;

struct slot {
        struct load *load;
        unsigned key;                   /* the key number this slot writes */
        size_t ep;                      /* endpoint it uses now */
        struct net_timer retry;
        bool busy;
};

struct load {
        struct rkc *c;
        const char *prefix;
        unsigned count, next, acked, errors;
        unsigned active;                /* slots with a put in flight or waiting to retry */
        bool quiet;
        const char *stop_file;          /* no new key once it exists (NULL: none) */
        bool abandoned;                 /* gave up: completions only return */
        struct slot *slots;
};

static void slot_send(struct slot *s);

static void slot_next(struct slot *s)
{
        struct load *l = s->load;

        if (l->next >= l->count || (l->stop_file && access(l->stop_file, F_OK) == 0)) {
                s->busy = false;
                l->active--;
                return;
        }
        s->key = l->next++;
        slot_send(s);
}

static void retry_fired(struct net_timer *t, void *user)
{
        struct slot *s = user;

        (void)t;
        if (!s->load->abandoned)
                slot_send(s);
}

static void put_done(const struct net_result *res, void *user)
{
        struct slot *s = user;
        struct load *l = s->load;
        Rafktor__V1__PutResponse *resp = NULL;

        if (l->abandoned)
                return;
        if (res->code == GRPC_STATUS_OK)
                resp = rafktor__v1__put_response__unpack(NULL, res->len, res->data);
        if (resp) {
                l->acked++;
                if (!l->quiet)
                        printf("ack %s%06u %" PRIu64 "\n", l->prefix, s->key, resp->index);
                rafktor__v1__put_response__free_unpacked(resp, NULL);
                slot_next(s);
                return;
        }
        l->errors++;
        if (getenv("RKC_VERBOSE"))
                fprintf(stderr, "rkc: put %s%06u via %s: %s: %s\n", l->prefix, s->key,
                        net_channel_target(l->c->ch[s->ep]), rkc_code_name(res->code),
                        res->details);
        s->ep = (s->ep + 1) % l->c->n_ch;
        net_timer_start(l->c->loop, &s->retry, net_loop_now_ms() + LOAD_RETRY_DELAY_MS,
                        retry_fired, s);
}

static void slot_send(struct slot *s)
{
        struct load *l = s->load;
        Rafktor__V1__PutRequest req = RAFKTOR__V1__PUT_REQUEST__INIT;
        char key[128], value[32];
        int r;

        snprintf(key, sizeof(key), "%s%06u", l->prefix, s->key);
        snprintf(value, sizeof(value), "v%06u", s->key);
        req.key.data = (uint8_t *)key;
        req.key.len = strlen(key);
        req.value.data = (uint8_t *)value;
        req.value.len = strlen(value);
        r = net_unary_call(l->c->ch[s->ep], "/rafktor.v1.KV/Put", &req.base, NULL,
                           net_loop_now_ms() + l->c->timeout_ms, put_done, s);
        if (r < 0) {
                l->errors++;
                net_timer_start(l->c->loop, &s->retry, net_loop_now_ms() + LOAD_RETRY_DELAY_MS,
                                retry_fired, s);
        }
}

static bool load_done(void *arg)
{
        return ((struct load *)arg)->active == 0;
}

int rkc_load(struct rkc *c, const char *prefix, unsigned count, unsigned inflight,
             bool quiet, const char *stop_file)
{
        int64_t start = net_loop_now_ms(), ms;
        struct load *l;
        int r;

        if (inflight == 0)
                inflight = 1;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        *l = (struct load){ .c = c, .prefix = prefix, .count = count, .quiet = quiet,
                            .stop_file = stop_file };
        l->slots = calloc(inflight, sizeof(*l->slots));
        if (!l->slots) {
                free(l);
                return -ENOMEM;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        for (unsigned i = 0; i < inflight && l->next < l->count; i++) {
                l->slots[i].load = l;
                l->slots[i].busy = true;
                l->active++;
                slot_next(&l->slots[i]);
        }
        r = net_loop_run_until(c->loop, load_done, l, start + LOAD_MAX_MS);
        ms = net_loop_now_ms() - start;
        for (unsigned i = 0; i < inflight; i++)
                net_timer_cancel(c->loop, &l->slots[i].retry);
        fprintf(stderr, "puts=%u errors=%u ms=%" PRId64 " rate=%.0f\n", l->acked, l->errors,
                ms, ms > 0 ? l->acked * 1000.0 / (double)ms : 0.0);
        if (r < 0) {
                fprintf(stderr, "rkc: load gave up after %d ms with %u of %u puts "
                        "acknowledged\n", LOAD_MAX_MS, l->acked, l->count);
                /* Calls still in flight point at the slots: they complete during the
                 * loop's shutdown, so the memory stays (the process exits next). */
                l->abandoned = true;
                return -ETIMEDOUT;
        }
        free(l->slots);
        free(l);
        return 0;
}
