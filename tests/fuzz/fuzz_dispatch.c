/* tests/fuzz/fuzz_dispatch.c: libFuzzer target for what a node does with a request's
 * bytes, in process (no sockets, no gRPC).
 *
 * Owns: the first input byte picks a method of raftgrpc.RaftService, rafktor.v1.KV or
 * rafktor.v1.Admin; the rest is the request as it arrives on the wire. It is unpacked with
 * the method's descriptor (as the net server does), then taken where daemon/node takes
 * it: peer messages through msg_decode() (to = "n1") into a started Raft core of a
 * three-member cluster (raft_receive); writes encoded into a rafktor.v1.Command and
 * applied by the KV state machine (kv_apply), and the raw bytes applied as a Command
 * entry too; reads served from the KV (kv_get, kv_range). Admin requests are only
 * unpacked (their handlers read local state). Checks: msg_decode refuses with a sentence;
 * kv_apply never fails on bad input (it answers INVALID_ARGUMENT in the reply) and its
 * reply always decodes.
 *
 * Must never: write files, open sockets, or keep state between inputs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kv/kv.h"
#include "daemon/raft/raft.h"
#include "daemon/wire/msg_codec.h"
#include "raft.pb-c.h"
#include "rafktor.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum target {
        T_APPEND, T_APPEND_RESP, T_PIPELINE_RESP, T_VOTE, T_VOTE_RESP, T_TIMEOUT_NOW,
        T_INSTALL_SNAPSHOT,
        T_PUT, T_DELETE, T_CAS, T_GET, T_RANGE, T_COMMAND,
        T_STATUS, T_MEMBERS, T_LEADER, T_READ_LOG, T_STATE_HASH,
        _T_MAX,
};

static const struct {
        enum raft_msg_type type;
        enum msg_frame frame;
} peer_msgs[] = {
        [T_APPEND] = { RAFT_MSG_APPEND, MSG_FRAME_PLAIN },
        [T_APPEND_RESP] = { RAFT_MSG_APPEND_RESP, MSG_FRAME_PLAIN },
        [T_PIPELINE_RESP] = { RAFT_MSG_APPEND_RESP, MSG_FRAME_PIPELINE },
        [T_VOTE] = { RAFT_MSG_VOTE, MSG_FRAME_PLAIN },
        [T_VOTE_RESP] = { RAFT_MSG_VOTE_RESP, MSG_FRAME_PLAIN },
        [T_TIMEOUT_NOW] = { RAFT_MSG_TIMEOUT_NOW, MSG_FRAME_PLAIN },
};

static const ProtobufCMessageDescriptor *const other_desc[_T_MAX] = {
        [T_INSTALL_SNAPSHOT] = &raftgrpc__install_snapshot_request__descriptor,
        [T_PUT] = &rafktor__v1__put_request__descriptor,
        [T_DELETE] = &rafktor__v1__delete_request__descriptor,
        [T_CAS] = &rafktor__v1__compare_and_swap_request__descriptor,
        [T_GET] = &rafktor__v1__get_request__descriptor,
        [T_RANGE] = &rafktor__v1__range_request__descriptor,
        [T_STATUS] = &rafktor__v1__status_request__descriptor,
        [T_MEMBERS] = &rafktor__v1__members_request__descriptor,
        [T_LEADER] = &rafktor__v1__leader_request__descriptor,
        [T_READ_LOG] = &rafktor__v1__read_log_request__descriptor,
        [T_STATE_HASH] = &rafktor__v1__state_hash_request__descriptor,
};

/* A started follower n1 of {n1, n2, n3}, or NULL (out of memory). */
static struct raft *new_core(struct raft_output *out)
{
        struct raft_server servers[3] = {
                { .id = "n1", .address = "10.0.0.1:7400", .voter = true },
                { .id = "n2", .address = "10.0.0.2:7400", .voter = true },
                { .id = "n3", .address = "10.0.0.3:7400", .voter = true },
        };
        struct raft_config cfg = { .n = 3, .servers = servers };
        struct raft_options o;
        struct raft *r;

        raft_options_default(&o, "n1", 1);
        if (raft_new(&o, &r) < 0)
                return NULL;
        if (raft_bootstrap(r, &cfg, 1000, out) < 0 || raft_start(r, 1000, out) < 0) {
                raft_free(r);
                return NULL;
        }
        return r;
}

static void feed_core(enum target t, const ProtobufCMessage *pb)
{
        struct raft_output out;
        struct raft_msg m;
        struct raft *r;
        char err[200] = "";
        int rc;

        raft_output_init(&out);
        r = new_core(&out);
        if (!r)
                goto out;
        rc = msg_decode(peer_msgs[t].type, peer_msgs[t].frame, pb, "n1",
                        t == T_APPEND_RESP || t == T_PIPELINE_RESP || t == T_VOTE_RESP ? "n2"
                                                                                      : NULL,
                        &m, err, sizeof(err));
        if (rc == -EBADMSG && err[0] == '\0')
                abort();        /* a refusal must say why */
        if (rc == 0) {
                raft_receive(r, 2000, &m, &out);
                raft_tick(r, 5000, &out);
                raft_msg_clear(&m);
        }
        raft_free(r);
out:
        raft_output_free(&out);
}

/* Applies one COMMAND entry; the reply must decode, bad input or not. */
static void apply_command(struct kv *kv, raft_index_t index, const uint8_t *cmd, size_t len)
{
        struct raft_entry e = {
                .index = index, .term = 1, .type = RAFT_ENTRY_COMMAND,
                .leader_time_ms = index * 10, .len = len, .data = (uint8_t *)cmd,
        };
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        Rafktor__V1__CommandResult *res;
        int rc = kv_apply(kv, &e, &reply, &reply_len);

        if (rc == -ENOMEM)
                return;
        if (rc < 0 || !reply)
                abort();
        res = rafktor__v1__command_result__unpack(NULL, reply_len, reply);
        if (!res)
                abort();
        rafktor__v1__command_result__free_unpacked(res, NULL);
        free(reply);
}

static bool count_item(const struct kv_item *it, void *ctx)
{
        (void)it;
        ++*(size_t *)ctx;
        return true;
}

/* The node's write path (kv_service.c encode_command), then the state machine. */
static void feed_kv(enum target t, const ProtobufCMessage *pb, const uint8_t *raw, size_t len)
{
        Rafktor__V1__Command cmd = RAFKTOR__V1__COMMAND__INIT;
        static const uint8_t seed_cmd[] = { 0x12, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b' };
        struct kv_item it;
        struct kv *kv;
        uint8_t *buf;
        size_t n, items = 0;

        if (kv_new(NULL, &kv) < 0)
                return;
        apply_command(kv, 1, seed_cmd, sizeof(seed_cmd));       /* put a = b */
        switch (t) {
        case T_PUT:
                cmd.op_case = RAFKTOR__V1__COMMAND__OP_PUT;
                cmd.put = (Rafktor__V1__PutRequest *)pb;
                break;
        case T_DELETE:
                cmd.op_case = RAFKTOR__V1__COMMAND__OP_DELETE;
                cmd.delete_ = (Rafktor__V1__DeleteRequest *)pb;
                break;
        case T_CAS:
                cmd.op_case = RAFKTOR__V1__COMMAND__OP_CAS;
                cmd.cas = (Rafktor__V1__CompareAndSwapRequest *)pb;
                break;
        case T_GET: {
                const Rafktor__V1__GetRequest *g = (const Rafktor__V1__GetRequest *)pb;

                kv_get(kv, g->key.data, g->key.len, &it);
                goto out;
        }
        case T_RANGE: {
                const Rafktor__V1__RangeRequest *q = (const Rafktor__V1__RangeRequest *)pb;

                kv_range(kv, q->prefix.data, q->prefix.len, q->limit, count_item, &items);
                if (q->limit && items > q->limit)
                        abort();
                goto out;
        }
        default:
                goto out;
        }
        n = protobuf_c_message_get_packed_size(&cmd.base);
        buf = malloc(n ? n : 1);
        if (buf) {
                protobuf_c_message_pack(&cmd.base, buf);
                apply_command(kv, 2, buf, n);
                apply_command(kv, 3, buf, n);   /* a retry: the same session, if any */
                free(buf);
        }
        apply_command(kv, 4, raw, len);
out:
        kv_free(kv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const ProtobufCMessageDescriptor *desc;
        ProtobufCMessage *pb;
        enum target t;

        if (size < 1)
                return 0;
        t = (enum target)(data[0] % _T_MAX);
        data++;
        size--;
        if (t == T_COMMAND) {           /* a log entry as a peer replicates it */
                feed_kv(T_COMMAND, NULL, data, size);
                return 0;
        }
        desc = t <= T_TIMEOUT_NOW ? msg_descriptor(peer_msgs[t].type, peer_msgs[t].frame)
                                  : other_desc[t];
        pb = protobuf_c_message_unpack(desc, NULL, size, data);
        if (!pb)
                return 0;               /* the server answers INVALID_ARGUMENT */
        if (t <= T_TIMEOUT_NOW)
                feed_core(t, pb);
        else if (t >= T_PUT && t <= T_RANGE)
                feed_kv(t, pb, data, size);
        protobuf_c_message_free_unpacked(pb, NULL);
        return 0;
}
