/* bench/bench-load.c: bench-client's bulk loader (the 1M-key load of restart-1m.sh).
 *
 *   load --count N [--inflight K] [--value-size V] [--prefix P] [--first I] [--max-ms MS]
 *
 * Puts keys PREFIX%08u for u = I .. I+N-1 (default prefix "key", like the etcd anchor's
 * key%08d) with V-byte values (default 32) to the first endpoint, K at a time (default
 * 256). A put that fails is retried on the same key after 20 ms, so every key is written
 * at least once. Prints progress on stderr and "puts=N errors=E ms=T rate=R" on stdout.
 *
 * Owns: the in-flight slots, their retry timers and the counters. Must never count a put
 * as done before its reply arrived with status OK.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench-client.h"

#define LOAD_RETRY_DELAY_MS 20
#define LOAD_PROGRESS_EVERY 100000u
#define LOAD_MAX_REQ 4096

struct load;

struct load_slot {
        struct load *load;
        uint64_t key;
        struct net_timer retry;
};

struct load {
        struct rkc *c;
        const struct bench_target *t;
        const char *prefix;
        uint64_t first, end, next, acked, errors;
        uint64_t value_size;
        unsigned active;
        bool abandoned;
        int64_t start_ms;
        grpc_status_code last_code;
        struct load_slot *slots;
};

static void slot_send(struct load_slot *s);

static void slot_next(struct load_slot *s)
{
        struct load *l = s->load;

        if (l->next >= l->end) {
                l->active--;
                return;
        }
        s->key = l->next++;
        slot_send(s);
}

static void retry_fired(struct net_timer *timer, void *user)
{
        struct load_slot *s = user;

        (void)timer;
        if (!s->load->abandoned)
                slot_send(s);
}

static void put_done(const struct net_result *res, void *user)
{
        struct load_slot *s = user;
        struct load *l = s->load;

        if (l->abandoned)
                return;
        if (res->code == GRPC_STATUS_OK) {
                l->acked++;
                if (l->acked % LOAD_PROGRESS_EVERY == 0) {
                        int64_t ms = net_loop_now_ms() - l->start_ms;

                        fprintf(stderr, "bench-client: load: %" PRIu64 " puts in %" PRId64
                                " ms (%.0f/s), %" PRIu64 " errors\n", l->acked, ms,
                                ms > 0 ? (double)l->acked * 1000.0 / (double)ms : 0.0,
                                l->errors);
                }
                slot_next(s);
                return;
        }
        l->errors++;
        l->last_code = res->code;
        if (getenv("BENCH_VERBOSE"))
                fprintf(stderr, "bench-client: put %s%08" PRIu64 ": %s: %s\n", l->prefix,
                        s->key, rkc_code_name(res->code), res->details);
        net_timer_start(l->c->loop, &s->retry, net_loop_now_ms() + LOAD_RETRY_DELAY_MS,
                        retry_fired, s);
}

static void slot_send(struct load_slot *s)
{
        struct load *l = s->load;
        uint8_t req[LOAD_MAX_REQ];
        char key[128];
        size_t len;

        snprintf(key, sizeof(key), "%s%08" PRIu64, l->prefix, s->key);
        len = bench_encode_kv(req, sizeof(req), key, l->value_size);
        if (len == 0 || net_unary_call_bytes(l->c->ch[0], l->t->put_path, req, len, NULL,
                                             net_loop_now_ms() + l->c->timeout_ms, put_done,
                                             s) < 0) {
                l->errors++;
                net_timer_start(l->c->loop, &s->retry,
                                net_loop_now_ms() + LOAD_RETRY_DELAY_MS, retry_fired, s);
        }
}

static bool load_finished(void *arg)
{
        return ((struct load *)arg)->active == 0;
}

int bench_load(struct rkc *c, const struct bench_target *t, int argc, char **argv)
{
        uint64_t count = 0, inflight = 256, value_size = 32, first = 0, max_ms = 600000;
        const char *prefix = "key";
        struct load *l;
        int64_t ms;
        int r;

        for (int i = 0; i < argc; i += 2) {
                uint64_t *dst = NULL;

                if (i + 1 >= argc)
                        goto bad;
                if (strcmp(argv[i], "--prefix") == 0) {
                        prefix = argv[i + 1];
                        if (strlen(prefix) > 64)
                                goto bad;
                        continue;
                }
                if (strcmp(argv[i], "--count") == 0)
                        dst = &count;
                else if (strcmp(argv[i], "--inflight") == 0)
                        dst = &inflight;
                else if (strcmp(argv[i], "--value-size") == 0)
                        dst = &value_size;
                else if (strcmp(argv[i], "--first") == 0)
                        dst = &first;
                else if (strcmp(argv[i], "--max-ms") == 0)
                        dst = &max_ms;
                if (!dst || !bench_parse_u64(argv[i + 1], dst))
                        goto bad;
        }
        if (count == 0 || inflight == 0 || inflight > 65536 ||
            value_size > LOAD_MAX_REQ - 128 || max_ms > INT64_MAX / 2)
                goto bad;

        l = calloc(1, sizeof(*l));
        if (!l)
                return 1;
        *l = (struct load){ .c = c, .t = t, .prefix = prefix, .first = first,
                            .end = first + count, .next = first, .value_size = value_size,
                            .start_ms = net_loop_now_ms() };
        l->slots = calloc(inflight, sizeof(*l->slots));
        if (!l->slots) {
                free(l);
                return 1;
        }
        for (uint64_t i = 0; i < inflight && l->next < l->end; i++) {
                l->slots[i].load = l;
                l->active++;
                slot_next(&l->slots[i]);
        }
        r = net_loop_run_until(c->loop, load_finished, l, l->start_ms + (int64_t)max_ms);
        ms = net_loop_now_ms() - l->start_ms;
        for (uint64_t i = 0; i < inflight; i++)
                net_timer_cancel(c->loop, &l->slots[i].retry);
        printf("puts=%" PRIu64 " errors=%" PRIu64 " ms=%" PRId64 " rate=%.0f\n", l->acked,
               l->errors, ms, ms > 0 ? (double)l->acked * 1000.0 / (double)ms : 0.0);
        if (r < 0) {
                fprintf(stderr, "bench-client: load gave up after %" PRIu64 " ms with %" PRIu64
                        " of %" PRIu64 " puts done (last error %s)\n", max_ms, l->acked, count,
                        rkc_code_name(l->last_code));
                /* Calls still in flight point at the slots; they complete while the loop
                 * shuts down, so the memory stays until the process exits. */
                l->abandoned = true;
                return 1;
        }
        free(l->slots);
        free(l);
        return 0;
bad:
        fprintf(stderr, "usage: load --count N [--inflight K<=65536] [--value-size V] "
                "[--prefix P] [--first I] [--max-ms MS]\n");
        return 2;
}
