/* tests/faults/fclient_final.c: after healing, fclient's final reads and convergence check
 * (fc_final() in fclient.h).
 *
 * Owns: one linearizable Get of every key through every node, appended to the history as
 * ordinary operations (so lincheck decides whether an acknowledged write was lost), and
 * polling Admin.StateHash on every node until all report the same applied index and hash.
 * Must never: call the cluster converged on equal indexes with different hashes, or record
 * a read it did not get.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rafktor.pb-c.h"
#include "tests/faults/fclient.h"

#define FC_FINAL_CLIENT 999999

/* One read of key through node i, retried while the cluster is still settling. */
static int final_read(struct rkc *c, size_t i, uint64_t key_id, int64_t until, FILE *hist)
{
        Rafktor__V1__GetRequest req = RAFKTOR__V1__GET_REQUEST__INIT;
        struct lc_op op = { .key = key_id, .type = LC_GET, .client = FC_FINAL_CLIENT };
        char key[32], details[512];
        unsigned attempts = 0;
        int code;

        fc_key_name(key_id, key, sizeof(key));
        req.key.data = (uint8_t *)key;
        req.key.len = strlen(key);
        for (;;) {
                ProtobufCMessage *m = NULL;

                attempts++;
                op.invoke = fc_now_us();
                code = rkc_call(c, i, "/rafktor.v1.KV/Get", &req.base,
                                &rafktor__v1__get_response__descriptor, &m, details,
                                sizeof(details));
                if (code == GRPC_STATUS_OK) {
                        Rafktor__V1__GetResponse *g = (Rafktor__V1__GetResponse *)m;
                        char buf[32];

                        op.complete = fc_now_us();
                        op.status = LC_OK;
                        op.found = g->found && g->kv;
                        if (op.found) {
                                size_t n = g->kv->value.len < sizeof(buf) - 1
                                                   ? g->kv->value.len : sizeof(buf) - 1;

                                memcpy(buf, g->kv->value.data, n);
                                buf[n] = '\0';
                                op.out_value = strtoull(buf, NULL, 10);
                                op.out_version = g->kv->version;
                        }
                        protobuf_c_message_free_unpacked(m, NULL);
                        fc_history_write_op(hist, &op, attempts, (unsigned)i + 1);
                        return 0;
                }
                if (net_loop_now_ms() >= until) {
                        printf("final: read of %s through %s failed: %s: %s\n", key,
                               net_channel_target(c->ch[i]), rkc_code_name(code), details);
                        return -EIO;
                }
                net_loop_run_once(c->loop, net_loop_now_ms() + 100);
        }
}

struct hash_view {
        bool ok;
        uint32_t hash;
        uint64_t applied, keys, sessions;
};

static void get_hash(struct rkc *c, size_t i, struct hash_view *v)
{
        Rafktor__V1__StateHashRequest req = RAFKTOR__V1__STATE_HASH_REQUEST__INIT;
        ProtobufCMessage *m = NULL;
        char details[512];

        v->ok = rkc_call(c, i, "/rafktor.v1.Admin/StateHash", &req.base,
                         &rafktor__v1__state_hash_response__descriptor, &m, details,
                         sizeof(details)) == GRPC_STATUS_OK;
        if (v->ok) {
                Rafktor__V1__StateHashResponse *h = (Rafktor__V1__StateHashResponse *)m;

                v->hash = h->hash;
                v->applied = h->applied_index;
                v->keys = h->key_count;
                v->sessions = h->session_count;
                protobuf_c_message_free_unpacked(m, NULL);
        }
}

/* 1 converged, 0 not yet, -1 diverged (same applied index, different hash). */
static int compare_hashes(struct rkc *c, bool print)
{
        struct hash_view v[RKC_MAX_ENDPOINTS];
        bool same = true;

        for (size_t i = 0; i < c->n_ch; i++) {
                get_hash(c, i, &v[i]);
                if (print)
                        printf("final: %s applied=%" PRIu64 " hash=%08x keys=%" PRIu64
                               " sessions=%" PRIu64 "%s\n", net_channel_target(c->ch[i]),
                               v[i].applied, v[i].hash, v[i].keys, v[i].sessions,
                               v[i].ok ? "" : " (no answer)");
                if (!v[i].ok)
                        return 0;
        }
        for (size_t i = 1; i < c->n_ch; i++) {
                if (v[i].applied == v[0].applied && v[i].hash != v[0].hash)
                        return -1;
                if (v[i].applied != v[0].applied || v[i].hash != v[0].hash)
                        same = false;
        }
        return same ? 1 : 0;
}

int fc_final(const struct fc_options *o, int64_t wait_ms)
{
        struct rkc c;
        FILE *hist;
        int64_t until;
        int r, failed_reads = 0, conv;

        hist = fopen(o->history, "ae");
        if (!hist) {
                fprintf(stderr, "fclient: cannot append to %s: %s\n", o->history,
                        strerror(errno));
                return 1;
        }
        r = rkc_init(&c, o->endpoints, 2000);
        if (r < 0) {
                rkc_done(&c);
                fclose(hist);
                return 1;
        }
        until = net_loop_now_ms() + wait_ms;
        fprintf(hist, "# final reads\n");
        for (size_t i = 0; i < c.n_ch; i++) {
                for (unsigned k = 1; k <= o->keys; k++)
                        failed_reads += final_read(&c, i, k, until, hist) < 0;
                for (unsigned k = 1; k <= o->clients; k++)
                        failed_reads += final_read(&c, i, FC_PRIVATE_KEY_BASE + k, until,
                                                   hist) < 0;
        }
        fclose(hist);
        /* Convergence: every member applies the same log (the leader's no-op included). */
        while ((conv = compare_hashes(&c, false)) == 0 && net_loop_now_ms() < until)
                net_loop_run_once(c.loop, net_loop_now_ms() + 100);
        compare_hashes(&c, true);
        rkc_done(&c);
        printf("final: reads_failed=%d state=%s\n", failed_reads,
               conv == 1 ? "converged" : conv < 0 ? "DIVERGED" : "not-converged");
        return failed_reads == 0 && conv == 1 ? 0 : 1;
}
