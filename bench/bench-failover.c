/* bench/bench-failover.c: bench-client's failover probe (failover.sh runs it once a trial).
 *
 *   -e SURVIVOR[,SURVIVOR...] failover --kill PID --leader ADDR [--rate R] [--warm-ms MS]
 *                                      [--max-ms MS]
 *
 * 1. Light load: R puts/s (default 100) of key "fo-load" to the leader for --warm-ms
 *    (default 1000); every one must succeed, and a linearizable read through every survivor
 *    must succeed (so each connection is up before the kill).
 * 2. Asks the leader whether it still leads (rafktor Admin.Status role, etcd
 *    Maintenance.Status leader == member_id); if not, exits 3 without killing. Otherwise
 *    takes the time t0 and sends SIGKILL to PID (the leader's process).
 * 3. Every 5 ms sends a put of key "fo-probe" to every survivor (each with the -t deadline),
 *    until one succeeds; prints "first_put_ms=T probes=P errors=E" with T from t0 to that
 *    reply. Only probes sent after t0 count.
 *
 * Owns: the probes in flight and their counters. Must never report a time for a probe that
 * failed, or kill anything but the PID it was given.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench-client.h"

#define PROBE_INTERVAL_MS 5
#define MAX_PROBES 8192

struct failover;

struct fo_call {
        struct failover *fo;
        bool probe;                     /* sent after the kill */
};

struct failover {
        struct rkc *c;
        const struct bench_target *t;
        struct fo_call *calls;          /* one per call ever started */
        size_t n_calls;
        unsigned outstanding;
        unsigned load_ok, load_failed, probes, probe_errors;
        int64_t t0_ms, first_ok_ms;     /* first_ok_ms < 0: none yet */
        grpc_status_code last_code;
        char last_details[256];
};

static void call_done(const struct net_result *res, void *user)
{
        struct fo_call *fc = user;
        struct failover *fo = fc->fo;

        fo->outstanding--;
        if (!fc->probe) {
                if (res->code == GRPC_STATUS_OK)
                        fo->load_ok++;
                else
                        fo->load_failed++;
                return;
        }
        if (res->code == GRPC_STATUS_OK) {
                if (fo->first_ok_ms < 0)
                        fo->first_ok_ms = net_loop_now_ms() - fo->t0_ms;
                return;
        }
        fo->probe_errors++;
        fo->last_code = res->code;
        snprintf(fo->last_details, sizeof(fo->last_details), "%s", res->details);
}

/* Starts a put (or read) on ch; false when the pool is used up or the call cannot start. */
static bool start_call(struct failover *fo, struct net_channel *ch, const char *path,
                       const char *key, size_t value_len, bool probe)
{
        uint8_t req[256];
        size_t len = bench_encode_kv(req, sizeof(req), key, value_len);
        struct fo_call *fc;

        if (fo->n_calls == MAX_PROBES || len == 0)
                return false;
        fc = &fo->calls[fo->n_calls];
        *fc = (struct fo_call){ .fo = fo, .probe = probe };
        if (net_unary_call_bytes(ch, path, req, len, NULL,
                                 net_loop_now_ms() + fo->c->timeout_ms, call_done, fc) < 0)
                return false;
        fo->n_calls++;
        fo->outstanding++;
        return true;
}

/* ---- "is this endpoint still the leader?" right before the kill ---- */

struct leader_check {
        bool done;
        int is_leader;                  /* 1 yes, 0 no, -1 unknown (call or decode failed) */
        enum bench_system system;
};

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
        *v = 0;
        for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
                uint8_t b = *(*p)++;

                *v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80))
                        return true;
        }
        return false;
}

/* Field `want` (varint) of a message, searching one level into field `sub` when sub > 0. */
static bool find_varint(const uint8_t *p, const uint8_t *end, unsigned sub, unsigned want,
                        uint64_t *ret)
{
        uint64_t key, v;

        while (p < end) {
                if (!get_varint(&p, end, &key))
                        return false;
                switch (key & 7) {
                case 0:
                        if (!get_varint(&p, end, &v))
                                return false;
                        if (sub == 0 && (key >> 3) == want) {
                                *ret = v;
                                return true;
                        }
                        break;
                case 1:
                        p += 8;
                        break;
                case 5:
                        p += 4;
                        break;
                case 2:
                        if (!get_varint(&p, end, &v) || v > (uint64_t)(end - p))
                                return false;
                        if (sub > 0 && (key >> 3) == sub)
                                return find_varint(p, p + v, 0, want, ret);
                        p += v;
                        break;
                default:
                        return false;
                }
        }
        return false;
}

static void leader_check_done(const struct net_result *res, void *user)
{
        struct leader_check *lc = user;
        const uint8_t *end = res->data + res->len;
        uint64_t role, id, leader;

        lc->done = true;
        lc->is_leader = -1;
        if (res->code != GRPC_STATUS_OK || !res->data)
                return;
        if (lc->system == BENCH_RAFKTOR) {
                /* rafktor.v1.StatusResponse: role = field 4 (ROLE_LEADER = 2; 0 is left
                 * out of the encoding) */
                lc->is_leader = find_varint(res->data, end, 0, 4, &role) && role == 2;
        } else if (find_varint(res->data, end, 1, 2, &id) &&
                   find_varint(res->data, end, 0, 4, &leader)) {
                /* etcdserverpb.StatusResponse: header(1).member_id(2), leader = field 4 */
                lc->is_leader = id == leader;
        }
}

static bool leader_check_finished(void *arg)
{
        return ((struct leader_check *)arg)->done;
}

/* 1: ch's member leads, 0: it does not, -1: unknown. */
static int still_leader(struct rkc *c, const struct bench_target *t, struct net_channel *ch)
{
        struct leader_check lc = { .system = t->system };
        const char *path = t->system == BENCH_RAFKTOR ? "/rafktor.v1.Admin/Status"
                                                      : "/etcdserverpb.Maintenance/Status";

        if (net_unary_call_bytes(ch, path, "", 0, NULL, net_loop_now_ms() + 1000,
                                 leader_check_done, &lc) < 0)
                return -1;
        net_loop_run_until(c->loop, leader_check_finished, &lc, INT64_MAX);
        return lc.is_leader;
}

static bool none_outstanding(void *arg)
{
        return ((struct failover *)arg)->outstanding == 0;
}

static bool first_ok(void *arg)
{
        return ((struct failover *)arg)->first_ok_ms >= 0;
}

static int run(struct failover *fo, struct net_channel *leader, pid_t pid, uint64_t rate,
               uint64_t warm_ms, uint64_t max_ms)
{
        struct rkc *c = fo->c;
        int64_t interval = rate > 0 ? (int64_t)(1000 / rate) : 1000, now, next, end;
        int r;

        /* 1. light load on the leader, and every survivor reachable */
        end = net_loop_now_ms() + (int64_t)warm_ms;
        for (next = net_loop_now_ms(); next < end; next += interval) {
                if (!start_call(fo, leader, fo->t->put_path, "fo-load", 100, false))
                        return -EIO;
                net_loop_run_until(c->loop, none_outstanding, fo, next + interval);
                while (net_loop_now_ms() < next + interval)
                        net_loop_run_once(c->loop, next + interval);
        }
        for (size_t i = 0; i < c->n_ch; i++)
                if (!start_call(fo, c->ch[i], fo->t->get_path, "fo-load", 0, false))
                        return -EIO;
        net_loop_run_until(c->loop, none_outstanding, fo, INT64_MAX);
        if (fo->load_failed > 0 || fo->load_ok == 0) {
                fprintf(stderr, "bench-client: failover: %u of %u warm-up calls failed: the "
                        "cluster was not healthy before the kill\n", fo->load_failed,
                        fo->load_ok + fo->load_failed);
                return -EAGAIN;
        }

        /* 2. kill, if the member still leads (a busy machine may have moved the lead) */
        r = still_leader(c, fo->t, leader);
        if (r != 1) {
                fprintf(stderr, "bench-client: failover: %s %s; not killed\n",
                        net_channel_target(leader), r == 0 ? "no longer leads"
                                                           : "did not say whether it leads");
                return -ESTALE;
        }
        fo->t0_ms = net_loop_now_ms();
        if (kill(pid, SIGKILL) < 0) {
                fprintf(stderr, "bench-client: kill -9 %d: %s\n", (int)pid, strerror(errno));
                return -errno;
        }

        /* 3. probes every 5 ms to every survivor until one succeeds */
        end = fo->t0_ms + (int64_t)max_ms;
        for (next = fo->t0_ms; fo->first_ok_ms < 0; next += PROBE_INTERVAL_MS) {
                now = net_loop_now_ms();
                if (now > end) {
                        fprintf(stderr, "bench-client: failover: no put succeeded within %"
                                PRIu64 " ms of the kill (%u probes, last %s: %s)\n", max_ms,
                                fo->probes, rkc_code_name(fo->last_code), fo->last_details);
                        return -ETIMEDOUT;
                }
                for (size_t i = 0; i < c->n_ch; i++) {
                        if (!start_call(fo, c->ch[i], fo->t->put_path, "fo-probe", 100, true))
                                return -ENOSPC;
                        fo->probes++;
                }
                net_loop_run_until(c->loop, first_ok, fo, next + PROBE_INTERVAL_MS);
        }
        return 0;
}

int bench_failover(struct rkc *c, const struct bench_target *t, int argc, char **argv)
{
        uint64_t pid = 0, rate = 100, warm_ms = 1000, max_ms = 10000;
        const char *leader_ep = NULL;
        struct net_channel_options o = {
                .backoff_initial_ms = 5, .backoff_min_ms = 2000, .backoff_max_ms = 50,
        };
        struct net_channel *leader = NULL;
        struct failover fo = { .c = c, .t = t, .first_ok_ms = -1 };
        int r, rc = 1;

        for (int i = 0; i < argc; i += 2) {
                uint64_t *dst = NULL;

                if (i + 1 >= argc)
                        goto bad;
                if (strcmp(argv[i], "--leader") == 0) {
                        leader_ep = argv[i + 1];
                        continue;
                }
                if (strcmp(argv[i], "--kill") == 0)
                        dst = &pid;
                else if (strcmp(argv[i], "--rate") == 0)
                        dst = &rate;
                else if (strcmp(argv[i], "--warm-ms") == 0)
                        dst = &warm_ms;
                else if (strcmp(argv[i], "--max-ms") == 0)
                        dst = &max_ms;
                if (!dst || !bench_parse_u64(argv[i + 1], dst))
                        goto bad;
        }
        if (pid <= 1 || pid > INT32_MAX || !leader_ep || rate > 1000 || max_ms > 20000 ||
            warm_ms > 600000)
                goto bad;
        if (!bench_endpoint_is_local(leader_ep)) {
                fprintf(stderr, "bench-client: refusing %s: loopback targets only\n",
                        leader_ep);
                return 2;
        }
        fo.calls = calloc(MAX_PROBES, sizeof(*fo.calls));
        if (!fo.calls)
                return 1;
        leader = net_channel_new(c->loop, leader_ep, &o);
        if (!leader) {
                fprintf(stderr, "bench-client: bad endpoint %s\n", leader_ep);
                goto out;
        }
        r = run(&fo, leader, (pid_t)pid, rate, warm_ms, max_ms);
        if (r == 0) {
                printf("first_put_ms=%" PRId64 " probes=%u errors=%u warm_puts=%u\n",
                       fo.first_ok_ms, fo.probes, fo.probe_errors, fo.load_ok);
                rc = 0;
        } else if (r == -ESTALE) {
                rc = 3;
        }
out:
        if (leader)
                net_channel_free(leader);
        /* Calls still in flight end within their deadline (-t) or when the channels go. */
        net_loop_run_until(c->loop, none_outstanding, &fo, INT64_MAX);
        free(fo.calls);
        return rc;
bad:
        fprintf(stderr, "usage: failover --kill PID --leader ADDR [--rate R<=1000] "
                "[--warm-ms MS] [--max-ms MS<=20000]\n");
        return 2;
}
