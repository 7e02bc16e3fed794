/* tests/unit/node/test_node_ops.c: the KV operations beyond Put/Get, the Admin service,
 * and a full disk, on three nodes in one process.
 *
 * Checks data: what Delete, CompareAndSwap and Range answer and leave behind, what Status,
 * Members, Leader and ReadLog report about the cluster, and that a leader whose disk
 * fills up hands over to the others without losing an acknowledged write.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rafktor.pb-c.h"
#include "tests/unit/node/cluster.h"

#define ELECTION_WAIT_MS 10000

static ProtobufCBinaryData bin(const char *s)
{
        return (ProtobufCBinaryData){ .len = strlen(s), .data = (uint8_t *)s };
}

/* Unary call that must succeed; returns the unpacked reply of type `desc`. */
static void *call_ok(struct tcluster *c, int i, const char *path, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *desc)
{
        struct tresult r;
        ProtobufCMessage *m;

        tc_call(c, i, path, req, 5000, &r);
        tc_expect_code(&r, GRPC_STATUS_OK, path);
        m = protobuf_c_message_unpack(desc, NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(m);
        return m;
}

static void put(struct tcluster *c, int i, const char *k, const char *v)
{
        struct tresult r;

        tc_put(c, i, k, v, 0, 0, &r);
        tc_expect_code(&r, GRPC_STATUS_OK, "Put");
        tresult_clear(&r);
}

static void delete_cas_and_range_through_followers_change_and_read_the_data(void **state)
{
        struct tcluster *c = *state;
        Rafktor__V1__CompareAndSwapRequest cas;
        Rafktor__V1__DeleteRequest del = RAFKTOR__V1__DELETE_REQUEST__INIT;
        Rafktor__V1__RangeRequest rq = RAFKTOR__V1__RANGE_REQUEST__INIT;
        Rafktor__V1__CompareAndSwapResponse *cr;
        Rafktor__V1__DeleteResponse *dr;
        Rafktor__V1__RangeResponse *rr;
        struct tresult r;
        int l, f1, f2;

        rafktor__v1__compare_and_swap_request__init(&cas); /* its INIT macro warns */
        l = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        f1 = (l + 1) % TC_NODES;
        f2 = (l + 2) % TC_NODES;
        put(c, f1, "a/1", "1");
        put(c, f1, "a/2", "2");
        put(c, f2, "b/1", "3");

        cas.key = bin("a/1");
        cas.compare_case = RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VALUE;
        cas.compare_value = bin("1");
        cas.new_value = bin("1x");
        cr = call_ok(c, f1, "/rafktor.v1.KV/CompareAndSwap", &cas.base,
                     &rafktor__v1__compare_and_swap_response__descriptor);
        assert_true(cr->succeeded);
        assert_true(cr->found);
        assert_int_equal(cr->current->value.len, 2);
        assert_memory_equal(cr->current->value.data, "1x", 2);
        assert_int_equal(cr->current->version, 2);
        rafktor__v1__compare_and_swap_response__free_unpacked(cr, NULL);

        cas.compare_value = bin("stale");
        cas.new_value = bin("lost");
        tc_call(c, f2, "/rafktor.v1.KV/CompareAndSwap", &cas.base, 5000, &r);
        tc_expect_code(&r, GRPC_STATUS_FAILED_PRECONDITION, "CompareAndSwap on a stale value");
        assert_string_equal(r.details, "compare failed");
        tresult_clear(&r);

        cas.key = bin("c");
        cas.compare_case = RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VERSION;
        cas.compare_version = 0;        /* "must not exist" */
        cas.new_value = bin("new");
        cr = call_ok(c, l, "/rafktor.v1.KV/CompareAndSwap", &cas.base,
                     &rafktor__v1__compare_and_swap_response__descriptor);
        assert_true(cr->succeeded);
        rafktor__v1__compare_and_swap_response__free_unpacked(cr, NULL);

        del.key = bin("a/2");
        dr = call_ok(c, f2, "/rafktor.v1.KV/Delete", &del.base,
                     &rafktor__v1__delete_response__descriptor);
        assert_true(dr->deleted);
        assert_true(dr->index > 0);
        rafktor__v1__delete_response__free_unpacked(dr, NULL);
        dr = call_ok(c, f1, "/rafktor.v1.KV/Delete", &del.base,
                     &rafktor__v1__delete_response__descriptor);
        assert_false(dr->deleted);
        rafktor__v1__delete_response__free_unpacked(dr, NULL);

        rq.prefix = bin("a/");
        rr = call_ok(c, f2, "/rafktor.v1.KV/Range", &rq.base,
                     &rafktor__v1__range_response__descriptor);
        assert_int_equal(rr->n_kvs, 1);
        assert_memory_equal(rr->kvs[0]->key.data, "a/1", 3);
        assert_memory_equal(rr->kvs[0]->value.data, "1x", 2);
        assert_false(rr->more);
        rafktor__v1__range_response__free_unpacked(rr, NULL);

        rq.prefix = bin("");
        rq.limit = 2;
        rr = call_ok(c, l, "/rafktor.v1.KV/Range", &rq.base,
                     &rafktor__v1__range_response__descriptor);
        assert_int_equal(rr->n_kvs, 2);         /* a/1, b/1 of a/1, b/1, c */
        assert_memory_equal(rr->kvs[0]->key.data, "a/1", 3);
        assert_memory_equal(rr->kvs[1]->key.data, "b/1", 3);
        assert_true(rr->more);
        rafktor__v1__range_response__free_unpacked(rr, NULL);
}

static void admin_status_members_leader_and_read_log_describe_the_cluster(void **state)
{
        struct tcluster *c = *state;
        Rafktor__V1__StatusRequest sreq = RAFKTOR__V1__STATUS_REQUEST__INIT;
        Rafktor__V1__MembersRequest mreq = RAFKTOR__V1__MEMBERS_REQUEST__INIT;
        Rafktor__V1__LeaderRequest lreq = RAFKTOR__V1__LEADER_REQUEST__INIT;
        Rafktor__V1__ReadLogRequest rreq = RAFKTOR__V1__READ_LOG_REQUEST__INIT;
        Rafktor__V1__StatusResponse *st;
        Rafktor__V1__MembersResponse *mr;
        Rafktor__V1__LeaderResponse *lr;
        Rafktor__V1__ReadLogResponse *rl;
        Rafktor__V1__Command *cmd = NULL;
        int l, leaders = 0;
        uint64_t term = 0;

        l = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        put(c, l, "logged", "v");
        for (int i = 0; i < TC_NODES; i++) {
                st = call_ok(c, i, "/rafktor.v1.Admin/Status", &sreq.base,
                             &rafktor__v1__status_response__descriptor);
                assert_string_equal(st->id, c->n[i].cfg.id);
                assert_string_equal(st->address, c->n[i].cfg.listen);
                assert_string_equal(st->leader, c->n[l].cfg.id);
                if (st->role == RAFKTOR__V1__ROLE__ROLE_LEADER)
                        leaders++;
                if (i == l) {
                        assert_int_equal(st->role, RAFKTOR__V1__ROLE__ROLE_LEADER);
                        assert_int_equal(st->n_peers, 2);
                        assert_true(st->commit_index >= 3);     /* config, no-op, put */
                        term = st->term;
                }
                assert_true(st->last_index >= st->applied_index);
                assert_true(st->durable_seq > 0);
                assert_string_equal(st->storage_error, "");
                assert_true(st->version[0] != '\0');
                rafktor__v1__status_response__free_unpacked(st, NULL);
        }
        assert_int_equal(leaders, 1);
        assert_true(term >= 2);

        mr = call_ok(c, (l + 1) % TC_NODES, "/rafktor.v1.Admin/Members", &mreq.base,
                     &rafktor__v1__members_response__descriptor);
        assert_int_equal(mr->n_members, TC_NODES);
        for (size_t k = 0; k < mr->n_members; k++) {
                bool matched = false;

                for (int i = 0; i < TC_NODES; i++)
                        if (strcmp(mr->members[k]->id, c->n[i].cfg.id) == 0) {
                                assert_string_equal(mr->members[k]->address,
                                                    c->n[i].cfg.listen);
                                matched = true;
                        }
                assert_true(matched);
                assert_true(mr->members[k]->voter);
        }
        rafktor__v1__members_response__free_unpacked(mr, NULL);

        lr = call_ok(c, (l + 2) % TC_NODES, "/rafktor.v1.Admin/Leader", &lreq.base,
                     &rafktor__v1__leader_response__descriptor);
        assert_string_equal(lr->leader_id, c->n[l].cfg.id);
        assert_string_equal(lr->leader_address, c->n[l].cfg.listen);
        rafktor__v1__leader_response__free_unpacked(lr, NULL);

        rreq.from_index = 1;
        rl = call_ok(c, l, "/rafktor.v1.Admin/ReadLog", &rreq.base,
                     &rafktor__v1__read_log_response__descriptor);
        assert_true(rl->n_entries >= 3);
        assert_int_equal(rl->entries[0]->index, 1);
        assert_int_equal(rl->entries[0]->term, 1);
        assert_int_equal(rl->entries[0]->type, RAFT_ENTRY_CONFIG);
        for (size_t k = 0; k < rl->n_entries && !cmd; k++)
                if (rl->entries[k]->type == RAFT_ENTRY_COMMAND)
                        cmd = rafktor__v1__command__unpack(NULL, rl->entries[k]->data.len,
                                                           rl->entries[k]->data.data);
        assert_non_null(cmd);
        assert_int_equal(cmd->op_case, RAFKTOR__V1__COMMAND__OP_PUT);
        assert_memory_equal(cmd->put->key.data, "logged", 6);
        rafktor__v1__command__free_unpacked(cmd, NULL);
        rafktor__v1__read_log_response__free_unpacked(rl, NULL);

        rreq.from_index = 2;
        rreq.count = 1;
        rl = call_ok(c, l, "/rafktor.v1.Admin/ReadLog", &rreq.base,
                     &rafktor__v1__read_log_response__descriptor);
        assert_int_equal(rl->n_entries, 1);
        assert_int_equal(rl->entries[0]->index, 2);
        rafktor__v1__read_log_response__free_unpacked(rl, NULL);
}

static Rafktor__V1__StateHashResponse *state_hash(struct tcluster *c, int i)
{
        Rafktor__V1__StateHashRequest req = RAFKTOR__V1__STATE_HASH_REQUEST__INIT;

        return call_ok(c, i, "/rafktor.v1.Admin/StateHash", &req.base,
                       &rafktor__v1__state_hash_response__descriptor);
}

static void state_hash_is_equal_on_caught_up_members_and_changes_with_a_write(void **state)
{
        struct tcluster *c = *state;
        Rafktor__V1__StateHashResponse *h[TC_NODES], *after;
        int l = tc_wait_leader(c, ELECTION_WAIT_MS);

        assert_true(l >= 0);
        put(c, l, "hashed", "one");
        for (int i = 0; i < TC_NODES; i++) {
                assert_true(tc_wait_caught_up(c, i, l, ELECTION_WAIT_MS));
                h[i] = state_hash(c, i);
        }
        for (int i = 0; i < TC_NODES; i++) {
                assert_int_equal(h[i]->applied_index, h[l]->applied_index);
                assert_int_equal(h[i]->hash, h[l]->hash);
                assert_int_equal(h[i]->key_count, 1);
        }
        put(c, l, "hashed", "two");
        after = state_hash(c, l);
        assert_true(after->applied_index > h[l]->applied_index);
        assert_int_not_equal(after->hash, h[l]->hash);
        rafktor__v1__state_hash_response__free_unpacked(after, NULL);
        for (int i = 0; i < TC_NODES; i++)
                rafktor__v1__state_hash_response__free_unpacked(h[i], NULL);
}

struct other_leader {
        struct tcluster *c;
        int not;
        int found;
};

static bool leader_other_than(void *arg)
{
        struct other_leader *w = arg;
        struct raft_status st;

        for (int i = 0; i < TC_NODES; i++) {
                if (i == w->not || !w->c->n[i].node)
                        continue;
                node_raft_status(w->c->n[i].node, &st);
                if (st.role == RAFT_LEADER) {
                        w->found = i;
                        return true;
                }
        }
        return false;
}

static bool storage_failed(void *arg)
{
        return ((struct tnode *)arg)->storage_error_code != 0;
}

static void a_full_disk_on_the_leader_hands_over_and_loses_no_acknowledged_write(void **state)
{
        struct tcluster *c = *state;
        struct other_leader w = { .c = c, .found = -1 };
        struct tresult r;
        Rafktor__V1__GetResponse *g;
        Rafktor__V1__GetRequest get = RAFKTOR__V1__GET_REQUEST__INIT;
        bool during_acked;
        int l;

        l = tc_wait_leader(c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        put(c, l, "before", "ok");
        atomic_store(&c->n[l].fail_code, -ENOSPC);

        /* The followers' two durable copies are a majority without the leader's: the
         * write may still commit and be acknowledged. Unacknowledged, its outcome is
         * unknown. Either way nothing acknowledged may be lost below. */
        tc_put(c, l, "during", "x", 0, 0, &r);
        during_acked = r.code == GRPC_STATUS_OK;
        print_message("node: put on a leader with a full disk: code %d \"%s\"\n", (int)r.code,
                      r.details);
        tresult_clear(&r);
        assert_int_equal(net_loop_run_until(c->loop, storage_failed, &c->n[l],
                                            net_loop_now_ms() + ELECTION_WAIT_MS),
                         0);
        assert_int_equal(c->n[l].storage_error_code, -ENOSPC);
        assert_true(node_storage_error(c->n[l].node)[0] != '\0');

        w.not = l;
        assert_int_equal(net_loop_run_until(c->loop, leader_other_than, &w,
                                            net_loop_now_ms() + ELECTION_WAIT_MS),
                         0);
        put(c, (w.found + 1) % TC_NODES == l ? w.found : (w.found + 1) % TC_NODES, "after",
            "ok");
        if (during_acked) {
                get.key = bin("during");
                g = call_ok(c, w.found, "/rafktor.v1.KV/Get", &get.base,
                            &rafktor__v1__get_response__descriptor);
                assert_true(g->found);
                rafktor__v1__get_response__free_unpacked(g, NULL);
        }
        /* The failed node still answers reads (forwarded to the new leader). */
        get.key = bin("after");
        g = call_ok(c, l, "/rafktor.v1.KV/Get", &get.base,
                    &rafktor__v1__get_response__descriptor);
        assert_true(g->found);
        assert_memory_equal(g->kv->value.data, "ok", 2);
        rafktor__v1__get_response__free_unpacked(g, NULL);
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        delete_cas_and_range_through_followers_change_and_read_the_data, tc_setup_running, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        admin_status_members_leader_and_read_log_describe_the_cluster, tc_setup_running, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        state_hash_is_equal_on_caught_up_members_and_changes_with_a_write,
                        tc_setup_running, tc_teardown),
                cmocka_unit_test_setup_teardown(
                        a_full_disk_on_the_leader_hands_over_and_loses_no_acknowledged_write,
                        tc_setup_running, tc_teardown),
        };

        if (argc > 1)
                cmocka_set_test_filter(argv[1]); /* one test by name, for debugging */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
