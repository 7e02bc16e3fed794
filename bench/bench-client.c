/* bench/bench-client.c: bench-client's command line, connections, request encoding and
 * the one-shot probes (status, wait-serving); the loader is in bench-load.c, the failover
 * probe in bench-failover.c (see bench-client.h).
 *
 *   bench-client -e ADDR[,ADDR...] [-t MS] [-s etcd|rafktor] COMMAND
 *     status                      rafktor Admin.Status of every endpoint, one line each
 *     wait-serving [--max-ms MS]  linearizable read of "k" on the first endpoint every
 *                                 5 ms until one succeeds; prints serving_ms=
 *     load --count N [--inflight K] [--value-size V] [--prefix P] [--first I]
 *          [--max-ms MS]
 *     failover --kill PID --leader ADDR [--rate R] [--warm-ms MS] [--max-ms MS]
 *
 * Owns: argument parsing and printing. Must never print a number for a probe that did not
 * succeed: it exits non-zero instead.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench-client.h"
#include "rafktor.pb-c.h"

#define PROBE_INTERVAL_MS 5

static int usage(void)
{
        fprintf(stderr,
                "usage: bench-client -e ADDR[,ADDR...] [-t MS] [-s etcd|rafktor] COMMAND\n"
                "  status\n"
                "  wait-serving [--max-ms MS]\n"
                "  load --count N [--inflight K] [--value-size V] [--prefix P] [--first I]"
                " [--max-ms MS]\n"
                "  failover --kill PID --leader ADDR [--rate R] [--warm-ms MS]"
                " [--max-ms MS]\n");
        return 2;
}

bool bench_endpoint_is_local(const char *e)
{
        return strncmp(e, "127.0.0.1:", 10) == 0 || strncmp(e, "localhost:", 10) == 0 ||
               strncmp(e, "[::1]:", 6) == 0 || strncmp(e, "unix:", 5) == 0 ||
               strncmp(e, "ipv4:127.0.0.1:", 15) == 0;
}

static void net_log(void *user, int priority, const char *message)
{
        (void)user;
        if (priority <= NET_LOG_WARNING && getenv("BENCH_VERBOSE"))
                fprintf(stderr, "bench-client: net: %s\n", message);
}

int bench_connect(struct rkc *c, const char *endpoints, int64_t timeout_ms)
{
        static const struct net_logger logger = { .fn = net_log };
        char *list, *save = NULL;
        int r = 0;

        memset(c, 0, sizeof(*c));
        c->timeout_ms = timeout_ms;
        list = strdup(endpoints);
        if (!list)
                return -ENOMEM;
        for (char *e = strtok_r(list, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
                if (!bench_endpoint_is_local(e)) {
                        fprintf(stderr, "bench-client: refusing %s: loopback targets only\n",
                                e);
                        r = -EINVAL;
                        goto out;
                }
        }
        c->loop = net_loop_new(&logger);
        if (!c->loop) {
                fprintf(stderr, "bench-client: cannot create the gRPC loop\n");
                r = -ENOMEM;
                goto out;
        }
        strcpy(list, endpoints);
        save = NULL;
        for (char *e = strtok_r(list, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
                struct net_channel_options o = {
                        .backoff_initial_ms = 5, .backoff_min_ms = 2000, .backoff_max_ms = 50,
                };

                if (c->n_ch == RKC_MAX_ENDPOINTS) {
                        fprintf(stderr, "bench-client: more than %d endpoints\n",
                                RKC_MAX_ENDPOINTS);
                        r = -E2BIG;
                        goto out;
                }
                c->ch[c->n_ch] = net_channel_new(c->loop, e, &o);
                if (!c->ch[c->n_ch]) {
                        fprintf(stderr, "bench-client: bad endpoint %s\n", e);
                        r = -EINVAL;
                        goto out;
                }
                c->n_ch++;
        }
        if (c->n_ch == 0) {
                fprintf(stderr, "bench-client: no endpoint given (-e HOST:PORT)\n");
                r = -EINVAL;
        }
out:
        free(list);
        return r;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
        size_t n = 0;

        while (v >= 0x80) {
                p[n++] = (uint8_t)(v | 0x80);
                v >>= 7;
        }
        p[n++] = (uint8_t)v;
        return n;
}

size_t bench_encode_kv(uint8_t *buf, size_t size, const char *key, size_t value_len)
{
        size_t klen = strlen(key), n = 0;

        /* tag + 10-byte varint per field, at most */
        if (klen + value_len + 22 > size)
                return 0;
        if (klen > 0) {
                buf[n++] = (1 << 3) | 2;
                n += put_varint(buf + n, klen);
                memcpy(buf + n, key, klen);
                n += klen;
        }
        if (value_len > 0) {
                buf[n++] = (2 << 3) | 2;
                n += put_varint(buf + n, value_len);
                memset(buf + n, 'x', value_len);
                n += value_len;
        }
        return n;
}

static const char *role_name(Rafktor__V1__Role r)
{
        switch (r) {
        case RAFKTOR__V1__ROLE__ROLE_FOLLOWER:
                return "follower";
        case RAFKTOR__V1__ROLE__ROLE_CANDIDATE:
                return "candidate";
        case RAFKTOR__V1__ROLE__ROLE_LEADER:
                return "leader";
        case RAFKTOR__V1__ROLE__ROLE_LEARNER:
                return "learner";
        default:
                return "unknown";
        }
}

/* rafktor only: one line per endpoint, exit 1 if any failed. */
static int cmd_status(struct rkc *c)
{
        Rafktor__V1__StatusRequest req = RAFKTOR__V1__STATUS_REQUEST__INIT;
        char details[512];
        int rc = 0;

        for (size_t i = 0; i < c->n_ch; i++) {
                ProtobufCMessage *m = NULL;
                Rafktor__V1__StatusResponse *st;
                int code = rkc_call(c, i, "/rafktor.v1.Admin/Status", &req.base,
                                    &rafktor__v1__status_response__descriptor, &m, details,
                                    sizeof(details));

                if (code != GRPC_STATUS_OK) {
                        fprintf(stderr, "bench-client: status of %s: %s: %s\n",
                                net_channel_target(c->ch[i]), rkc_code_name(code), details);
                        rc = 1;
                        continue;
                }
                st = (Rafktor__V1__StatusResponse *)m;
                printf("endpoint=%s id=%s role=%s term=%" PRIu64 " leader=%s commit=%" PRIu64
                       " applied=%" PRIu64 " last=%" PRIu64 "\n",
                       net_channel_target(c->ch[i]), st->id, role_name(st->role), st->term,
                       st->leader[0] ? st->leader : "-", st->commit_index, st->applied_index,
                       st->last_index);
                protobuf_c_message_free_unpacked(m, NULL);
        }
        return rc;
}

struct probe {
        bool done;
        grpc_status_code code;
        char details[256];
};

static void probe_done(const struct net_result *res, void *user)
{
        struct probe *p = user;

        p->done = true;
        p->code = res->code;
        snprintf(p->details, sizeof(p->details), "%s", res->details);
}

static bool probe_is_done(void *arg)
{
        return ((struct probe *)arg)->done;
}

/* A linearizable read of "k" on endpoint 0, one at a time, every 5 ms until one succeeds
 * (a missing key is a success: etcd answers an empty Range, rafktor found=false). */
static int cmd_wait_serving(struct rkc *c, const struct bench_target *t, int64_t max_ms)
{
        int64_t start = net_loop_now_ms(), next;
        uint8_t req[64];
        size_t len = bench_encode_kv(req, sizeof(req), "k", 0);
        unsigned attempts = 0;
        struct probe p = {};

        for (;;) {
                p = (struct probe){};
                attempts++;
                next = net_loop_now_ms() + PROBE_INTERVAL_MS;
                if (net_unary_call_bytes(c->ch[0], t->get_path, req, len, NULL,
                                         net_loop_now_ms() + c->timeout_ms, probe_done,
                                         &p) == 0) {
                        net_loop_run_until(c->loop, probe_is_done, &p, INT64_MAX);
                        if (p.code == GRPC_STATUS_OK)
                                break;
                }
                if (net_loop_now_ms() - start > max_ms) {
                        fprintf(stderr, "bench-client: %s did not serve a read within %" PRId64
                                " ms (last: %s: %s)\n", net_channel_target(c->ch[0]), max_ms,
                                rkc_code_name(p.code), p.details);
                        return 1;
                }
                /* Wait out the rest of the interval (timers only, nothing is pending). */
                while (net_loop_now_ms() < next)
                        net_loop_run_once(c->loop, next);
        }
        printf("serving_ms=%" PRId64 " attempts=%u\n", net_loop_now_ms() - start, attempts);
        return 0;
}

bool bench_parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (!s || !*s || *s == '-')
                return false;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end)
                return false;
        *ret = v;
        return true;
}

int main(int argc, char **argv)
{
        const char *endpoints = NULL, *system = "rafktor";
        struct bench_target t;
        uint64_t timeout_ms = 5000, max_ms = 60000;
        struct rkc c;
        int i = 1, rc;

        for (; i < argc && argv[i][0] == '-'; i += 2) {
                if (i + 1 >= argc)
                        return usage();
                if (strcmp(argv[i], "-e") == 0)
                        endpoints = argv[i + 1];
                else if (strcmp(argv[i], "-s") == 0)
                        system = argv[i + 1];
                else if (strcmp(argv[i], "-t") != 0 ||
                         !bench_parse_u64(argv[i + 1], &timeout_ms))
                        return usage();
        }
        if (!endpoints || i >= argc)
                return usage();
        if (strcmp(system, "etcd") == 0)
                t = (struct bench_target){ BENCH_ETCD, "/etcdserverpb.KV/Put",
                                           "/etcdserverpb.KV/Range" };
        else if (strcmp(system, "rafktor") == 0)
                t = (struct bench_target){ BENCH_RAFKTOR, "/rafktor.v1.KV/Put",
                                           "/rafktor.v1.KV/Get" };
        else
                return usage();
        if (bench_connect(&c, endpoints, (int64_t)timeout_ms) < 0) {
                rkc_done(&c);
                return 2;
        }
        if (strcmp(argv[i], "status") == 0 && i + 1 == argc && t.system == BENCH_RAFKTOR) {
                rc = cmd_status(&c);
        } else if (strcmp(argv[i], "wait-serving") == 0) {
                if (i + 1 < argc && (i + 3 != argc || strcmp(argv[i + 1], "--max-ms") != 0 ||
                                     !bench_parse_u64(argv[i + 2], &max_ms)))
                        rc = usage();
                else
                        rc = cmd_wait_serving(&c, &t, (int64_t)max_ms);
        } else if (strcmp(argv[i], "load") == 0) {
                rc = bench_load(&c, &t, argc - i - 1, argv + i + 1);
        } else if (strcmp(argv[i], "failover") == 0) {
                rc = bench_failover(&c, &t, argc - i - 1, argv + i + 1);
        } else {
                rc = usage();
        }
        rkc_done(&c);
        return rc;
}
