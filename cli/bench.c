/* cli/bench.c: `raftctl bench put|get`, a load generator for operators (issue 9), like
 * `etcdctl check perf`.
 *
 * Owns: the load threads (one client, so one connection and one session, per simulated
 * client; each keeps one request in flight), the per-request latency record, the progress
 * bar and the report (throughput, p50/p90/p99/max latency). Must never count a failed
 * request as done, draw the progress bar anywhere but on a terminal, or write to the store
 * anything but keys under "bench/".
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/output.h"

#define KV(m) "/rafktor.v1.KV/" m
#define BENCH_GET_KEY "bench/get"

struct bench_result {
        const char *operation;
        unsigned clients;
        uint64_t requests, failed;
        double seconds, ops_per_s, p50_ms, p90_ms, p99_ms, max_ms;
};

struct bench {
        const struct raftctl_options *opts;
        bool is_put;
        uint64_t count;
        uint8_t *value;
        size_t value_len;
        atomic_uint_fast64_t next;      /* next request number to take */
        atomic_uint_fast64_t done;      /* requests finished (either way) */
        atomic_uint_fast64_t failed;
        uint32_t *lat_us;               /* latency of request i; UINT32_MAX: failed */
        pthread_mutex_t lock;           /* guards the fields below */
        pthread_cond_t finished_cv;
        unsigned running;               /* threads not yet finished */
        char first_error[768];
};

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void note_error(struct bench *b, const char *msg)
{
        pthread_mutex_lock(&b->lock);
        if (!b->first_error[0])
                snprintf(b->first_error, sizeof(b->first_error), "%s", msg);
        pthread_mutex_unlock(&b->lock);
}

/* One request; returns 0 or the client's exit code. */
static int one_request(struct bench *b, struct client *c, uint64_t i)
{
        ProtobufCMessage *resp = NULL;
        char key[32];
        int r;

        if (b->is_put) {
                Rafktor__V1__PutRequest req = RAFKTOR__V1__PUT_REQUEST__INIT;
                Rafktor__V1__RequestSession session = RAFKTOR__V1__REQUEST_SESSION__INIT;

                snprintf(key, sizeof(key), "bench/%08" PRIu64, i);
                req.key = (ProtobufCBinaryData){ .len = strlen(key), .data = (uint8_t *)key };
                req.value = (ProtobufCBinaryData){ .len = b->value_len, .data = b->value };
                client_session_next(c, &session);
                req.session = &session;
                r = client_call(c, KV("Put"), &req.base, &rafktor__v1__put_response__descriptor,
                                &resp);
        } else {
                Rafktor__V1__GetRequest req = RAFKTOR__V1__GET_REQUEST__INIT;

                req.key = (ProtobufCBinaryData){ .len = strlen(BENCH_GET_KEY),
                                                 .data = (uint8_t *)BENCH_GET_KEY };
                r = client_call(c, KV("Get"), &req.base, &rafktor__v1__get_response__descriptor,
                                &resp);
                if (r == RAFTCTL_EXIT_OK && !((Rafktor__V1__GetResponse *)resp)->found) {
                        note_error(b, "get: key " BENCH_GET_KEY " not found");
                        r = RAFTCTL_EXIT_NOT_FOUND;
                }
        }
        if (resp)
                protobuf_c_message_free_unpacked(resp, NULL);
        if (r != RAFTCTL_EXIT_OK && r != RAFTCTL_EXIT_NOT_FOUND)
                note_error(b, client_error(c)->message);
        return r;
}

static void *load_thread(void *arg)
{
        struct bench *b = arg;
        struct client *c = client_new(b->opts->endpoints, b->opts->n_endpoints,
                                      b->opts->timeout_ms);

        if (!c)
                note_error(b, "creating a client failed: out of memory");
        for (;;) {
                uint64_t i = atomic_fetch_add(&b->next, 1), t0;

                if (i >= b->count)
                        break;
                if (!c) {
                        b->lat_us[i] = UINT32_MAX;
                        atomic_fetch_add(&b->failed, 1);
                        atomic_fetch_add(&b->done, 1);
                        continue;
                }
                t0 = now_ns();
                if (one_request(b, c, i) == RAFTCTL_EXIT_OK) {
                        uint64_t us = (now_ns() - t0 + 500) / 1000;

                        b->lat_us[i] = us >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)us;
                } else {
                        b->lat_us[i] = UINT32_MAX;
                        atomic_fetch_add(&b->failed, 1);
                }
                atomic_fetch_add(&b->done, 1);
        }
        client_free(c);
        pthread_mutex_lock(&b->lock);
        if (--b->running == 0)
                pthread_cond_signal(&b->finished_cv);
        pthread_mutex_unlock(&b->lock);
        return NULL;
}

static void progress_draw(FILE *f, uint64_t done, uint64_t count, double elapsed_s)
{
        const int width = 30;
        int fill = count ? (int)(done * (uint64_t)width / count) : width;

        fprintf(f, "\r[%.*s%*s] %3d%% %" PRIu64 "/%" PRIu64 "  %.0f/s", fill,
                "##############################", width - fill, "",
                count ? (int)(done * 100 / count) : 100, done, count,
                elapsed_s > 0 ? (double)done / elapsed_s : 0.0);
        fflush(f);
}

/* Waits for every thread, redrawing the bar every 100 ms when `bar`. */
static void wait_threads(struct bench *b, FILE *err, bool bar, uint64_t t0)
{
        pthread_mutex_lock(&b->lock);
        while (b->running > 0) {
                struct timespec ts;

                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += 100 * 1000 * 1000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&b->finished_cv, &b->lock, &ts);
                if (bar && b->running > 0) {
                        pthread_mutex_unlock(&b->lock);
                        progress_draw(err, atomic_load(&b->done), b->count,
                                      (double)(now_ns() - t0) / 1e9);
                        pthread_mutex_lock(&b->lock);
                }
        }
        pthread_mutex_unlock(&b->lock);
        if (bar) {
                progress_draw(err, atomic_load(&b->done), b->count,
                              (double)(now_ns() - t0) / 1e9);
                fputs("\r\033[K", err);
                fflush(err);
        }
}

static int u32_cmp(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

        return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of n sorted values, in ms. */
static double quantile_ms(const uint32_t *sorted, size_t n, double q)
{
        size_t rank;

        if (n == 0)
                return 0;
        rank = (size_t)(q * (double)n + 0.999999);
        if (rank < 1)
                rank = 1;
        if (rank > n)
                rank = n;
        return sorted[rank - 1] / 1000.0;
}

static int bench_report(struct out_doc *d, const struct bench_result *res)
{
        static const char *const headers[] = { "OPERATION", "CLIENTS", "REQUESTS", "FAILED",
                                               "SECONDS", "OPS/S", "P50_MS", "P90_MS",
                                               "P99_MS", "MAX_MS" };
        char cells[10][32];
        const char *row[10];
        json_object *j;
        int r;

        r = out_doc_init(d, 10, headers, false);
        if (r < 0)
                return r;
        snprintf(cells[0], sizeof(cells[0]), "%s", res->operation);
        snprintf(cells[1], sizeof(cells[1]), "%u", res->clients);
        snprintf(cells[2], sizeof(cells[2]), "%" PRIu64, res->requests);
        snprintf(cells[3], sizeof(cells[3]), "%" PRIu64, res->failed);
        snprintf(cells[4], sizeof(cells[4]), "%.3f", res->seconds);
        snprintf(cells[5], sizeof(cells[5]), "%.0f", res->ops_per_s);
        snprintf(cells[6], sizeof(cells[6]), "%.3f", res->p50_ms);
        snprintf(cells[7], sizeof(cells[7]), "%.3f", res->p90_ms);
        snprintf(cells[8], sizeof(cells[8]), "%.3f", res->p99_ms);
        snprintf(cells[9], sizeof(cells[9]), "%.3f", res->max_ms);
        for (int i = 0; i < 10; i++)
                row[i] = cells[i];
        r = out_doc_add_row(d, row);
        if (r < 0)
                return r;
        j = d->json;
        if (out_json_str(j, "operation", res->operation) < 0 ||
            out_json_u64(j, "clients", res->clients) < 0 ||
            out_json_u64(j, "requests", res->requests) < 0 ||
            out_json_u64(j, "failed", res->failed) < 0 ||
            json_object_object_add(j, "seconds", json_object_new_double(res->seconds)) < 0 ||
            json_object_object_add(j, "ops_per_s", json_object_new_double(res->ops_per_s)) < 0 ||
            json_object_object_add(j, "p50_ms", json_object_new_double(res->p50_ms)) < 0 ||
            json_object_object_add(j, "p90_ms", json_object_new_double(res->p90_ms)) < 0 ||
            json_object_object_add(j, "p99_ms", json_object_new_double(res->p99_ms)) < 0 ||
            json_object_object_add(j, "max_ms", json_object_new_double(res->max_ms)) < 0)
                return -ENOMEM;
        return 0;
}

/* Sorts the successful latencies to the front of lat; fills the latency fields. */
static void summarize(uint32_t *lat, uint64_t count, struct bench_result *res)
{
        size_t ok = 0;

        for (uint64_t i = 0; i < count; i++)
                if (lat[i] != UINT32_MAX)
                        lat[ok++] = lat[i];
        qsort(lat, ok, sizeof(*lat), u32_cmp);
        res->p50_ms = quantile_ms(lat, ok, 0.50);
        res->p90_ms = quantile_ms(lat, ok, 0.90);
        res->p99_ms = quantile_ms(lat, ok, 0.99);
        res->max_ms = ok ? lat[ok - 1] / 1000.0 : 0;
}

static int option_u64(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a,
                      const char *name, uint64_t def, uint64_t min, uint64_t max, uint64_t *ret)
{
        int i = cmd_opt_index(cmd, name);
        int r;

        *ret = def;
        if (i < 0 || !a->set[i])
                return 0;
        r = cmd_u64_arg(ctx, name, a->val[i], ret);
        if (r)
                return r;
        if (*ret < min || *ret > max) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "%s: %" PRIu64 " is out of range "
                         "(%" PRIu64 "..%" PRIu64 ")", name, *ret, min, max);
                return RAFTCTL_EXIT_USAGE;
        }
        return 0;
}

/* bench get reads one key: write it first, with the requested value size. */
static int prepare_get(struct cmd_ctx *ctx, struct bench *b)
{
        Rafktor__V1__PutRequest req = RAFKTOR__V1__PUT_REQUEST__INIT;
        Rafktor__V1__RequestSession session = RAFKTOR__V1__REQUEST_SESSION__INIT;
        ProtobufCMessage *resp;

        req.key = (ProtobufCBinaryData){ .len = strlen(BENCH_GET_KEY),
                                         .data = (uint8_t *)BENCH_GET_KEY };
        req.value = (ProtobufCBinaryData){ .len = b->value_len, .data = b->value };
        client_session_next(ctx->client, &session);
        req.session = &session;
        if (client_call(ctx->client, KV("Put"), &req.base,
                        &rafktor__v1__put_response__descriptor, &resp))
                return cmd_fail_client(ctx, "bench get: writing " BENCH_GET_KEY);
        protobuf_c_message_free_unpacked(resp, NULL);
        return 0;
}

int cmd_bench(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        struct bench_result res = { 0 };
        struct bench b = { 0 };
        struct out_doc d = { 0 };
        uint64_t clients, t0;
        pthread_t *threads = NULL;
        pthread_condattr_t ca;
        unsigned started = 0;
        int r;

        r = option_u64(ctx, cmd, a, "--clients", 16, 1, 1024, &clients);
        if (!r)
                r = option_u64(ctx, cmd, a, "--count", 10000, 1, 100000000, &b.count);
        if (!r)
                r = option_u64(ctx, cmd, a, "--value-size", 100, 0, 1024 * 1024, &b.value_len);
        if (r)
                return r;
        if (clients > b.count)
                clients = b.count;
        b.opts = ctx->opts;
        b.is_put = strcmp(cmd->name, "bench put") == 0;
        res.operation = b.is_put ? "put" : "get";
        res.clients = (unsigned)clients;
        res.requests = b.count;
        b.value = malloc(b.value_len ? b.value_len : 1);
        b.lat_us = calloc(b.count, sizeof(*b.lat_us));
        threads = calloc(clients, sizeof(*threads));
        if (!b.value || !b.lat_us || !threads) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                         "bench: out of memory for %" PRIu64 " requests", b.count);
                r = RAFTCTL_EXIT_FAILURE;
                goto out;
        }
        memset(b.value, 'v', b.value_len);
        if (!b.is_put) {
                r = prepare_get(ctx, &b);
                if (r)
                        goto out;
        }
        pthread_mutex_init(&b.lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the bar's timed waits */
        pthread_cond_init(&b.finished_cv, &ca);
        pthread_condattr_destroy(&ca);
        t0 = now_ns();
        pthread_mutex_lock(&b.lock);
        for (; started < clients; started++) {
                r = pthread_create(&threads[started], NULL, load_thread, &b);
                if (r != 0) {
                        note_error(&b, "starting a client thread failed");
                        /* The threads running take the remaining requests. */
                        break;
                }
                b.running++;
        }
        pthread_mutex_unlock(&b.lock);
        if (started == 0) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                         "bench: starting a client thread failed: %s", strerror(r));
                r = RAFTCTL_EXIT_FAILURE;
                goto out_sync;
        }
        wait_threads(&b, ctx->err, isatty(fileno(ctx->err)) == 1, t0);
        for (unsigned i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        res.seconds = (double)(now_ns() - t0) / 1e9;
        res.failed = atomic_load(&b.failed);
        res.ops_per_s = res.seconds > 0 ? (double)(b.count - res.failed) / res.seconds : 0;
        summarize(b.lat_us, b.count, &res);
        r = cmd_emit(ctx, &d, bench_report(&d, &res));
        if (r == RAFTCTL_EXIT_OK && res.failed > 0) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                         "bench %s: %" PRIu64 " of %" PRIu64 " requests failed; the first: %.700s",
                         res.operation, res.failed, b.count, b.first_error);
                r = RAFTCTL_EXIT_FAILURE;
        }
out_sync:
        pthread_cond_destroy(&b.finished_cv);
        pthread_mutex_destroy(&b.lock);
out:
        free(threads);
        free(b.lat_us);
        free(b.value);
        return r;
}
