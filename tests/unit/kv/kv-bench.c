/* tests/unit/kv/kv-bench.c: measures the KV state machine: apply rate of
 * puts and resident memory for N keys (default 1M keys, 100-byte values),
 * then kv_hash and snapshot encode/decode times.
 *
 *     tests/unit/kv/kv-bench [keys] [value_bytes]
 *
 * Must never: run under `make check` (it takes seconds and ~200 MB).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/kv/kv.h"
#include "rafktor.pb-c.h"

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rss_mib(void)
{
        unsigned long size = 0, resident = 0;
        FILE *f = fopen("/proc/self/statm", "r");

        if (!f)
                return -1;
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
                resident = 0;
        fclose(f);
        return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* Applies `n` puts of distinct keys; with `client` != 0 each carries a
 * session; without `want_reply` no reply is asked for (replay, catch-up).
 * Returns the seconds spent, or a negative value on error. */
static double put_keys(struct kv *kv, uint64_t *index, size_t n, size_t value_len,
                       uint64_t client, const char *key_prefix, bool want_reply)
{
        Rafktor__V1__Command c = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__PutRequest put = RAFKTOR__V1__PUT_REQUEST__INIT;
        Rafktor__V1__RequestSession rs = RAFKTOR__V1__REQUEST_SESSION__INIT;
        uint8_t *value = malloc(value_len), buf[4096];
        char key[64];
        double t0;

        if (!value || value_len + 128 > sizeof(buf)) {
                free(value);
                return -1;
        }
        memset(value, 'v', value_len);
        c.op_case = RAFKTOR__V1__COMMAND__OP_PUT;
        c.put = &put;
        if (client != 0) {
                rs.client_id = client;
                c.session = &rs;
        }
        put.value = (ProtobufCBinaryData){ value_len, value };
        t0 = now_s();
        for (size_t i = 0; i < n; i++) {
                struct raft_entry e = { .term = 1, .type = RAFT_ENTRY_COMMAND };
                uint8_t *reply = NULL;
                size_t reply_len = 0;
                int r;

                put.key.len = (size_t)snprintf(key, sizeof(key), "%s%08zu", key_prefix, i);
                put.key.data = (uint8_t *)key;
                rs.request_id = i + 1;
                rs.first_outstanding = i + 1;
                e.index = ++*index;
                e.leader_time_ms = *index;
                e.data = buf;
                e.len = rafktor__v1__command__pack(&c, buf);
                r = want_reply ? kv_apply(kv, &e, &reply, &reply_len)
                               : kv_apply(kv, &e, NULL, NULL);
                free(reply);
                if (r < 0) {
                        fprintf(stderr, "kv_apply of entry %" PRIu64 " failed: %s\n", e.index,
                                strerror(-r));
                        free(value);
                        return -1;
                }
        }
        free(value);
        return now_s() - t0;
}

int main(int argc, char **argv)
{
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
        size_t value_len = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
        struct kv *kv = NULL, *copy = NULL;
        uint64_t index = 0;
        double base, t, t0;
        uint8_t *snap = NULL;
        size_t snap_len = 0;
        uint32_t h;
        char err[256];
        int r;

        r = kv_new(NULL, &kv);
        if (r < 0) {
                fprintf(stderr, "kv_new failed: %s\n", strerror(-r));
                return 1;
        }
        base = rss_mib();
        t = put_keys(kv, &index, n, value_len, 0, "key-", true);
        if (t < 0)
                return 1;
        printf("puts without session: %zu keys x %zu-byte values in %.2f s = %.0f puts/s\n", n,
               value_len, t, (double)n / t);
        printf("memory: %.1f MiB resident over a %.1f MiB baseline = %.1f MiB, %.0f bytes/key\n",
               rss_mib(), base, rss_mib() - base,
               (rss_mib() - base) * 1024 * 1024 / (double)(n > 0 ? n : 1));
        t = put_keys(kv, &index, n / 10, value_len, 42, "ses-", true);
        if (t < 0)
                return 1;
        printf("puts with a session: %zu in %.2f s = %.0f puts/s\n", n / 10, t,
               (double)(n / 10) / t);

        {
                /* The replay path: the same puts into a fresh store, no reply wanted. */
                struct kv *replay = NULL;
                uint64_t rindex = 0;

                r = kv_new(NULL, &replay);
                if (r < 0) {
                        fprintf(stderr, "kv_new failed: %s\n", strerror(-r));
                        return 1;
                }
                t = put_keys(replay, &rindex, n, value_len, 0, "key-", false);
                if (t < 0)
                        return 1;
                printf("puts without session, no reply wanted (replay): %zu in %.2f s = "
                       "%.0f puts/s\n", n, t, (double)n / t);
                kv_free(replay);
        }
        t0 = now_s();
        h = kv_hash(kv);
        printf("kv_hash: 0x%08" PRIx32 " in %.2f s\n", h, now_s() - t0);
        t0 = now_s();
        r = kv_snapshot_encode(kv, &snap, &snap_len);
        if (r < 0) {
                fprintf(stderr, "kv_snapshot_encode failed: %s\n", strerror(-r));
                return 1;
        }
        printf("snapshot encode: %zu bytes in %.2f s\n", snap_len, now_s() - t0);
        t0 = now_s();
        r = kv_snapshot_decode(snap, snap_len, NULL, &copy, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "kv_snapshot_decode failed: %s\n", err);
                return 1;
        }
        printf("snapshot decode: %.2f s, hash %s\n", now_s() - t0,
               kv_hash(copy) == h ? "equal" : "DIFFERENT");
        free(snap);
        kv_free(copy);
        kv_free(kv);
        return 0;
}
