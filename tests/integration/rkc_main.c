/* tests/integration/rkc_main.c: rkc's command line and its one-shot commands (see rkc.h).
 *
 *   rkc -e ADDR[,ADDR...] [-t MS] status
 *   rkc -e ADDR[,ADDR...] put KEY VALUE [--session CLIENT_ID REQUEST_ID] [--retry-ms MS]
 *                         [--after FILE]   (connect first, print "connected", send the put
 *                                           once FILE exists)
 *   rkc -e ADDR get KEY [--stale] [--meta]
 *   rkc -e ADDR verify FILE [--stale]   (FILE: "ack KEY INDEX" lines from load)
 *   rkc -e ADDR raw PATH (--hex HEX | --zeros N) [--stream]
 *   rkc -e ADDR[,ADDR...] load --prefix P --count N [--inflight K] [--quiet]
 *       [--stop-file F]   (no new key once F exists: the writes in flight finish, then it
 *       exits)
 *
 * Owns: argument parsing and printing. Must never print "ok" for a failed call; exit 0
 * only on success (get of a missing key exits 1 with "not found").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rafktor.pb-c.h"
#include "tests/integration/rkc.h"

static int usage(void)
{
        fprintf(stderr,
                "usage: rkc -e ADDR[,ADDR...] [-t MS] COMMAND   (default -t: $RKC_TIMEOUT_MS "
                "or 2000)\n"
                "  status\n"
                "  put KEY VALUE [--session CLIENT_ID REQUEST_ID] [--retry-ms MS] "
                "[--after FILE]\n"
                "  get KEY [--stale] [--meta]\n"
                "  verify FILE [--stale]\n"
                "  raw PATH (--hex HEX | --zeros N) [--stream]\n"
                "  load --prefix P --count N [--inflight K] [--quiet] [--stop-file F]\n");
        return 2;
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

/* One line per endpoint; exit 1 if any endpoint failed. */
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
                        fprintf(stderr, "rkc: status of %s: %s: %s\n",
                                net_channel_target(c->ch[i]), rkc_code_name(code), details);
                        rc = 1;
                        continue;
                }
                st = (Rafktor__V1__StatusResponse *)m;
                printf("id=%s role=%s term=%" PRIu64 " leader=%s commit=%" PRIu64
                       " applied=%" PRIu64 " last=%" PRIu64 " peers=%zu storage_error=%s\n",
                       st->id, role_name(st->role), st->term, st->leader[0] ? st->leader : "-",
                       st->commit_index, st->applied_index, st->last_index, st->n_peers,
                       st->storage_error[0] ? "yes" : "-");
                protobuf_c_message_free_unpacked(m, NULL);
        }
        return rc;
}

/* Connects endpoint 0 with a Status call, prints "connected", then runs the loop until
 * `path` exists (so the next call goes out on an established HTTP/2 connection). */
static int connect_then_wait(struct rkc *c, const char *path)
{
        Rafktor__V1__StatusRequest req = RAFKTOR__V1__STATUS_REQUEST__INIT;
        ProtobufCMessage *m = NULL;
        char details[512];
        int code;

        code = rkc_call(c, 0, "/rafktor.v1.Admin/Status", &req.base,
                        &rafktor__v1__status_response__descriptor, &m, details,
                        sizeof(details));
        if (code != GRPC_STATUS_OK) {
                fprintf(stderr, "rkc: connecting to %s: %s: %s\n",
                        net_channel_target(c->ch[0]), rkc_code_name(code), details);
                return -1;
        }
        protobuf_c_message_free_unpacked(m, NULL);
        printf("connected\n");
        fflush(stdout);
        while (access(path, F_OK) < 0)
                net_loop_run_once(c->loop, net_loop_now_ms() + 10);
        return 0;
}

static int cmd_put(struct rkc *c, int argc, char **argv)
{
        const char *after = NULL;
        Rafktor__V1__PutRequest req = RAFKTOR__V1__PUT_REQUEST__INIT;
        Rafktor__V1__RequestSession session = RAFKTOR__V1__REQUEST_SESSION__INIT;
        int64_t retry_ms = 0, start = net_loop_now_ms();
        unsigned attempts = 0;
        char details[512];
        size_t ep = 0;
        int code;

        if (argc < 2)
                return usage();
        req.key.data = (uint8_t *)argv[0];
        req.key.len = strlen(argv[0]);
        req.value.data = (uint8_t *)argv[1];
        req.value.len = strlen(argv[1]);
        for (int i = 2; i < argc; i++) {
                if (strcmp(argv[i], "--session") == 0 && i + 2 < argc) {
                        session.client_id = strtoull(argv[i + 1], NULL, 10);
                        session.request_id = strtoull(argv[i + 2], NULL, 10);
                        session.first_outstanding = session.request_id;
                        req.session = &session;
                        i += 2;
                } else if (strcmp(argv[i], "--retry-ms") == 0 && i + 1 < argc) {
                        retry_ms = strtoll(argv[++i], NULL, 10);
                } else if (strcmp(argv[i], "--after") == 0 && i + 1 < argc) {
                        after = argv[++i];
                } else {
                        return usage();
                }
        }
        if (after && connect_then_wait(c, after) < 0)
                return 1;
        start = net_loop_now_ms();
        for (;;) {
                ProtobufCMessage *m = NULL;

                attempts++;
                code = rkc_call(c, ep, "/rafktor.v1.KV/Put", &req.base,
                                &rafktor__v1__put_response__descriptor, &m, details,
                                sizeof(details));
                if (code == GRPC_STATUS_OK) {
                        Rafktor__V1__PutResponse *p = (Rafktor__V1__PutResponse *)m;

                        printf("ok index=%" PRIu64 " version=%" PRIu64 " member=%s "
                               "attempts=%u ms=%" PRId64 "\n", p->index, p->version,
                               p->header ? p->header->member_id : "-", attempts,
                               net_loop_now_ms() - start);
                        protobuf_c_message_free_unpacked(m, NULL);
                        return 0;
                }
                if (net_loop_now_ms() - start >= retry_ms)
                        break;
                ep = (ep + 1) % c->n_ch;
                /* a short pause on the loop so a dead endpoint is not hammered */
                net_loop_run_once(c->loop, net_loop_now_ms() + 10);
        }
        fprintf(stderr, "rkc: put %s via %s: %s: %s\n", argv[0], net_channel_target(c->ch[ep]),
                rkc_code_name(code), details);
        return 1;
}

/* One Get on endpoint 0. 0 found (*ret filled), 1 not found, -1 call failed (printed). */
static int get_one(struct rkc *c, const char *key, bool stale, Rafktor__V1__GetResponse **ret)
{
        Rafktor__V1__GetRequest req = RAFKTOR__V1__GET_REQUEST__INIT;
        Rafktor__V1__GetResponse *g;
        ProtobufCMessage *m = NULL;
        char details[512];
        int code;

        req.key.data = (uint8_t *)key;
        req.key.len = strlen(key);
        req.stale = stale;
        /* Like a real client, retry a read the cluster refused for now (an election). */
        for (int64_t until = net_loop_now_ms() + c->timeout_ms;;) {
                code = rkc_call(c, 0, "/rafktor.v1.KV/Get", &req.base,
                                &rafktor__v1__get_response__descriptor, &m, details,
                                sizeof(details));
                if (code != GRPC_STATUS_UNAVAILABLE || net_loop_now_ms() >= until)
                        break;
                net_loop_run_once(c->loop, net_loop_now_ms() + 20);
        }
        if (code != GRPC_STATUS_OK) {
                fprintf(stderr, "rkc: get %s via %s: %s: %s\n", key,
                        net_channel_target(c->ch[0]), rkc_code_name(code), details);
                return -1;
        }
        g = (Rafktor__V1__GetResponse *)m;
        if (!g->found || !g->kv) {
                protobuf_c_message_free_unpacked(m, NULL);
                return 1;
        }
        *ret = g;
        return 0;
}

static int cmd_get(struct rkc *c, int argc, char **argv)
{
        Rafktor__V1__GetResponse *g;
        bool stale = false, meta = false;
        int r;

        if (argc < 1)
                return usage();
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--stale") == 0)
                        stale = true;
                else if (strcmp(argv[i], "--meta") == 0)
                        meta = true;
                else
                        return usage();
        }
        r = get_one(c, argv[0], stale, &g);
        if (r < 0)
                return 1;
        if (r > 0) {
                fprintf(stderr, "rkc: get %s: not found\n", argv[0]);
                return 1;
        }
        if (meta)
                printf("value=%.*s version=%" PRIu64 " create_index=%" PRIu64
                       " mod_index=%" PRIu64 "\n", (int)g->kv->value.len,
                       (const char *)g->kv->value.data, g->kv->version, g->kv->create_index,
                       g->kv->mod_index);
        else
                printf("%.*s\n", (int)g->kv->value.len, (const char *)g->kv->value.data);
        protobuf_c_message_free_unpacked(&g->base, NULL);
        return 0;
}

/* Every "ack KEY INDEX" line of FILE must read back as the value load wrote for KEY
 * ("v" + its last six characters). Prints "verified=N wrong=W missing=M failed=F". */
static int cmd_verify(struct rkc *c, int argc, char **argv)
{
        unsigned verified = 0, wrong = 0, missing = 0, failed = 0;
        char line[256], key[160];
        bool stale = argc == 2 && strcmp(argv[1], "--stale") == 0;
        FILE *f;

        if (argc < 1 || (argc == 2 && !stale) || argc > 2)
                return usage();
        f = fopen(argv[0], "re");
        if (!f) {
                fprintf(stderr, "rkc: verify: cannot open %s: %s\n", argv[0], strerror(errno));
                return 1;
        }
        while (fgets(line, sizeof(line), f)) {
                Rafktor__V1__GetResponse *g;
                char want[16];
                size_t n;
                int r;

                if (sscanf(line, "ack %159s", key) != 1 || (n = strlen(key)) < 6)
                        continue;
                snprintf(want, sizeof(want), "v%s", key + n - 6);
                r = get_one(c, key, stale, &g);
                if (r < 0) {
                        failed++;
                        continue;
                }
                if (r > 0) {
                        fprintf(stderr, "rkc: verify: acknowledged key %s is missing\n", key);
                        missing++;
                        continue;
                }
                if (g->kv->value.len != strlen(want) ||
                    memcmp(g->kv->value.data, want, g->kv->value.len) != 0) {
                        fprintf(stderr, "rkc: verify: %s is '%.*s', expected '%s'\n", key,
                                (int)g->kv->value.len, (const char *)g->kv->value.data, want);
                        wrong++;
                } else {
                        verified++;
                }
                protobuf_c_message_free_unpacked(&g->base, NULL);
        }
        fclose(f);
        printf("verified=%u wrong=%u missing=%u failed=%u\n", verified, wrong, missing, failed);
        return wrong + missing + failed == 0 ? 0 : 1;
}

static int hex_decode(const char *hex, uint8_t **ret, size_t *ret_len)
{
        size_t n = strlen(hex) / 2;
        uint8_t *b = malloc(n + 1);

        if (!b || strlen(hex) % 2) {
                free(b);
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                unsigned v;

                if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
                        free(b);
                        return -EINVAL;
                }
                b[i] = (uint8_t)v;
        }
        *ret = b;
        *ret_len = n;
        return 0;
}

static int cmd_raw(struct rkc *c, int argc, char **argv)
{
        uint8_t *data = NULL;
        size_t len = 0;
        bool stream = false;
        int r;

        if (argc < 1)
                return usage();
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--hex") == 0 && i + 1 < argc) {
                        if (hex_decode(argv[++i], &data, &len) < 0)
                                return usage();
                } else if (strcmp(argv[i], "--zeros") == 0 && i + 1 < argc) {
                        len = strtoull(argv[++i], NULL, 10);
                        data = calloc(1, len + 1);
                        if (!data)
                                return 1;
                } else if (strcmp(argv[i], "--stream") == 0) {
                        stream = true;
                } else {
                        return usage();
                }
        }
        r = rkc_raw(c, argv[0], data ? data : (const uint8_t *)"", len, stream);
        free(data);
        if (r < 0) {
                fprintf(stderr, "rkc: raw %s: %s\n", argv[0], strerror(-r));
                return 1;
        }
        return 0;
}

static int cmd_load(struct rkc *c, int argc, char **argv)
{
        const char *prefix = "load-";
        unsigned count = 100, inflight = 1;
        const char *stop_file = NULL;
        bool quiet = false;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
                        prefix = argv[++i];
                else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
                        count = (unsigned)strtoul(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--inflight") == 0 && i + 1 < argc)
                        inflight = (unsigned)strtoul(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--quiet") == 0)
                        quiet = true;
                else if (strcmp(argv[i], "--stop-file") == 0 && i + 1 < argc)
                        stop_file = argv[++i];
                else
                        return usage();
        }
        return rkc_load(c, prefix, count, inflight, quiet, stop_file) < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
        const char *endpoints = NULL;
        int64_t timeout_ms = getenv("RKC_TIMEOUT_MS") ? atoll(getenv("RKC_TIMEOUT_MS")) : 2000;
        struct rkc c;
        int i, rc;

        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "-e") == 0 && i + 1 < argc)
                        endpoints = argv[++i];
                else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
                        timeout_ms = strtoll(argv[++i], NULL, 10);
                else
                        return usage();
        }
        if (!endpoints || i >= argc)
                return usage();
        if (rkc_init(&c, endpoints, timeout_ms) < 0) {
                rkc_done(&c);
                return 1;
        }
        if (strcmp(argv[i], "status") == 0)
                rc = cmd_status(&c);
        else if (strcmp(argv[i], "put") == 0)
                rc = cmd_put(&c, argc - i - 1, argv + i + 1);
        else if (strcmp(argv[i], "get") == 0)
                rc = cmd_get(&c, argc - i - 1, argv + i + 1);
        else if (strcmp(argv[i], "verify") == 0)
                rc = cmd_verify(&c, argc - i - 1, argv + i + 1);
        else if (strcmp(argv[i], "raw") == 0)
                rc = cmd_raw(&c, argc - i - 1, argv + i + 1);
        else if (strcmp(argv[i], "load") == 0)
                rc = cmd_load(&c, argc - i - 1, argv + i + 1);
        else
                rc = usage();
        fflush(stdout);
        rkc_done(&c);
        return rc;
}
