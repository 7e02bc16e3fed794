/* tests/unit/node/test_node_snapshot.c: snapshots in the node, on three nodes in one process
 * (unix sockets, admin sockets served like rafktord's).
 *
 * Checks: Admin.Snapshot writes a file of the size it reports and a restarted node starts
 * from it (its state machine holds the keys before the leader contacts it); a second
 * Snapshot with nothing applied since is refused with a sentence; a follower that was down
 * while the leader compacted past its log gets the snapshot (InstallSnapshot) and ends with
 * the leader's state; InstallSnapshot streams with a bad chunk CRC or a size that does not
 * match are answered failure and leave no temp file, and so does a stream cancelled in
 * the middle; a SnapshotTaken event whose file is missing stops node_new with a sentence
 * naming it.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "daemon/node/node_internal.h"
#include "daemon/wire/msg_codec.h"
#include "raft.pb-c.h"
#include "rafktor.pb-c.h"
#include "tests/unit/node/cluster.h"

#define WAIT_MS 15000
#define ADMIN(m) "/rafktor.v1.Admin/" m

struct fixture {
        struct tcluster c;
        struct net_channel *sock[TC_NODES];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        struct net_channel_options co = { .backoff_initial_ms = 100, .backoff_min_ms = 2000,
                                          .backoff_max_ms = 500 };
        char addr[160];

        if (!f)
                return -1;
        tc_init(&f->c, 3000);
        f->c.admin_endpoints = true;
        /* A snapshot leaves no entry behind it: a follower that missed any gets it. */
        for (int i = 0; i < TC_NODES; i++)
                f->c.n[i].cfg.snapshot_trailing = 0;
        for (int i = 0; i < TC_NODES; i++) {
                tc_start(&f->c, i);
                snprintf(addr, sizeof(addr), "unix:%s", f->c.n[i].admin_path);
                f->sock[i] = net_channel_new(f->c.loop, addr, &co);
                if (!f->sock[i])
                        return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        for (int i = 0; i < TC_NODES; i++)
                if (f->c.n[i].node)
                        tc_stop(&f->c, i);
        for (int i = 0; i < TC_NODES; i++)
                net_channel_free(f->sock[i]);
        tc_destroy(&f->c);
        free(f);
        return 0;
}

/* Node i's admin socket goes away with its server: a fresh channel after a restart. */
static void reopen_admin_channel(struct fixture *f, int i)
{
        struct net_channel_options co = { .backoff_initial_ms = 100, .backoff_min_ms = 2000,
                                          .backoff_max_ms = 500 };
        char addr[160];

        net_channel_free(f->sock[i]);
        snprintf(addr, sizeof(addr), "unix:%s", f->c.n[i].admin_path);
        f->sock[i] = net_channel_new(f->c.loop, addr, &co);
        assert_non_null(f->sock[i]);
}

static void put_keys(struct tcluster *c, int l, const char *prefix, int count)
{
        char key[64], value[64];
        struct tresult r;

        for (int k = 0; k < count; k++) {
                snprintf(key, sizeof(key), "%s%04d", prefix, k);
                snprintf(value, sizeof(value), "value-%d", k);
                tc_put(c, l, key, value, 0, 0, &r);
                if (r.code != GRPC_STATUS_OK)
                        fail_msg("put %s on n%d: code %d %s", key, l + 1, (int)r.code,
                                 r.details);
                tresult_clear(&r);
        }
}

/* Admin.Snapshot on node i; returns the response (freed by the caller) or fails. */
static Rafktor__V1__SnapshotResponse *take_snapshot(struct fixture *f, int i)
{
        Rafktor__V1__SnapshotRequest req = RAFKTOR__V1__SNAPSHOT_REQUEST__INIT;
        Rafktor__V1__SnapshotResponse *resp;
        struct tresult r;

        tc_call_on(&f->c, f->sock[i], ADMIN("Snapshot"), &req.base, 20000, &r);
        if (r.code != GRPC_STATUS_OK)
                fail_msg("Snapshot on n%d: code %d %s", i + 1, (int)r.code, r.details);
        resp = rafktor__v1__snapshot_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(resp);
        return resp;
}

/* Names in node i's data dir ending with `suffix`; the newest .snap's size in *size. */
static int count_files(struct tcluster *c, int i, const char *suffix, off_t *size)
{
        struct dirent *de;
        struct stat st;
        char path[512];
        int n = 0;
        DIR *d = opendir(c->n[i].cfg.data_dir);

        assert_non_null(d);
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name), sl = strlen(suffix);

                if (len < sl || strcmp(de->d_name + len - sl, suffix) != 0)
                        continue;
                n++;
                snprintf(path, sizeof(path), "%s/%s", c->n[i].cfg.data_dir, de->d_name);
                if (size && stat(path, &st) == 0)
                        *size = st.st_size;
        }
        closedir(d);
        return n;
}

static void snapshot_on_the_admin_socket_reports_its_file_and_a_restart_loads_it(void **state)
{
        struct fixture *f = *state;
        struct tcluster *c = &f->c;
        Rafktor__V1__SnapshotRequest req = RAFKTOR__V1__SNAPSHOT_REQUEST__INIT;
        Rafktor__V1__SnapshotResponse *resp;
        struct tresult r;
        off_t size = 0;
        uint32_t hash;
        int l = tc_wait_leader(c, WAIT_MS), fo;

        assert_true(l >= 0);
        fo = (l + 1) % TC_NODES;
        put_keys(c, l, "adm-", 40);
        assert_true(tc_wait_caught_up(c, fo, l, WAIT_MS));
        resp = take_snapshot(f, fo);
        assert_true(resp->index >= 40);
        assert_int_equal(resp->index, kv_applied_index(c->n[fo].node->kv));
        assert_true(resp->size_bytes > 0);
        assert_int_equal(count_files(c, fo, ".snap", &size), 1);
        assert_int_equal((uint64_t)size, resp->size_bytes);
        rafktor__v1__snapshot_response__free_unpacked(resp, NULL);

        tc_call_on(c, f->sock[fo], ADMIN("Snapshot"), &req.base, 5000, &r);
        assert_int_equal(r.code, GRPC_STATUS_FAILED_PRECONDITION);
        assert_non_null(strstr(r.details, "nothing was applied since the last snapshot"));
        tresult_clear(&r);

        hash = kv_hash(c->n[fo].node->kv);
        tc_stop(c, fo);
        tc_start(c, fo);
        reopen_admin_channel(f, fo);
        /* Straight from the file: no leader has contacted it yet. */
        assert_int_equal(kv_hash(c->n[fo].node->kv), hash);
        assert_true(kv_count(c->n[fo].node->kv) >= 40);
        assert_true(tc_wait_caught_up(c, fo, l, WAIT_MS));
}

static void a_follower_behind_the_leaders_log_start_gets_the_snapshot(void **state)
{
        struct fixture *f = *state;
        struct tcluster *c = &f->c;
        Rafktor__V1__SnapshotResponse *resp;
        struct raft_status st;
        int l = tc_wait_leader(c, WAIT_MS), down;

        assert_true(l >= 0);
        down = (l + 2) % TC_NODES;
        put_keys(c, l, "a-", 5);
        assert_true(tc_wait_caught_up(c, down, l, WAIT_MS));
        tc_stop(c, down);
        put_keys(c, l, "b-", 30);
        resp = take_snapshot(f, l);
        rafktor__v1__snapshot_response__free_unpacked(resp, NULL);
        node_raft_status(c->n[l].node, &st);
        assert_true(st.first_index > st.snapshot_index); /* trailing 0: nothing kept */
        put_keys(c, l, "c-", 5);    /* a tail after the snapshot */
        tc_start(c, down);
        reopen_admin_channel(f, down);
        assert_true(tc_wait_caught_up(c, down, l, WAIT_MS));
        assert_int_equal(kv_hash(c->n[down].node->kv), kv_hash(c->n[l].node->kv));
        assert_int_equal(count_files(c, down, ".snap", NULL), 1);
        assert_int_equal(count_files(c, down, ".tmp", NULL), 0);
        node_raft_status(c->n[down].node, &st);
        assert_true(st.snapshot_index >= 35);

        /* And it restarts from the snapshot it received. */
        tc_stop(c, down);
        tc_start(c, down);
        reopen_admin_channel(f, down);
        assert_true(tc_wait_caught_up(c, down, l, WAIT_MS));
        assert_int_equal(kv_hash(c->n[down].node->kv), kv_hash(c->n[l].node->kv));
}

/* ---- a hand-made InstallSnapshot stream ------------------------------------------------ */

struct raw_stream {
        bool done;
        bool got_reply;
        bool success;
        uint64_t term;
        grpc_status_code code;
};

static void raw_reply(struct net_stream *st, const struct net_msg *msg, void *user)
{
        const Raftgrpc__InstallSnapshotResponse *r =
                (const Raftgrpc__InstallSnapshotResponse *)msg->pb;
        struct raw_stream *rs = user;

        (void)st;
        rs->got_reply = true;
        rs->success = r->success;
        rs->term = r->term;
}

static void raw_status(struct net_stream *st, const struct net_result *res, void *user)
{
        struct raw_stream *rs = user;

        (void)st;
        rs->code = res->code;
        rs->done = true;
}

static bool raw_done(void *arg)
{
        return ((struct raw_stream *)arg)->done;
}

/* Streams a request for `size` bytes with data_crc, then `len` bytes of data in one chunk
 * whose CRC field is chunk_crc, then half-closes; waits for the end. */
static void send_raw(struct tcluster *c, int i, uint64_t term, int64_t size, uint32_t data_crc,
                     const uint8_t *data, size_t len, uint32_t chunk_crc, struct raw_stream *rs)
{
        static const struct net_stream_ops ops = { .on_message = raw_reply,
                                                   .on_status = raw_status };
        Raftgrpc__InstallSnapshotStream m = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__INIT;
        Raftgrpc__InstallSnapshotRequest q = RAFTGRPC__INSTALL_SNAPSHOT_REQUEST__INIT;
        const struct raft_config *cfg = raft_configuration(c->n[i].node->raft);
        struct net_stream *st;
        uint8_t *cbuf = NULL;
        size_t clen = 0;

        memset(rs, 0, sizeof(*rs));
        assert_int_equal(raft_config_encode(cfg, &cbuf, &clen), 0);
        st = net_stream_open(c->n[i].ch, MSG_PATH_INSTALL_SNAPSHOT,
                             &raftgrpc__install_snapshot_response__descriptor,
                             net_loop_now_ms() + 10000, &ops, rs);
        assert_non_null(st);
        q.term = term;
        q.leader.data = (uint8_t *)"n9";
        q.leader.len = 2;
        q.last_log_index = 100000;
        q.last_log_term = term;
        q.configuration.data = cbuf;
        q.configuration.len = clen;
        q.size = size;
        q.data_crc32 = data_crc;
        m.payload_case = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_REQUEST;
        m.request = &q;
        assert_int_equal(net_stream_send(st, &m.base), 0);
        m = (Raftgrpc__InstallSnapshotStream)RAFTGRPC__INSTALL_SNAPSHOT_STREAM__INIT;
        m.payload_case = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_DATA;
        m.data.data = (uint8_t *)data;
        m.data.len = len;
        m.crc32 = chunk_crc;
        assert_int_equal(net_stream_send(st, &m.base), 0);
        net_stream_close_send(st);
        assert_int_equal(net_loop_run_until(c->loop, raw_done, rs, net_loop_now_ms() + 15000), 0);
        net_stream_release(st);
        free(cbuf);
}

static void install_snapshot_with_a_bad_chunk_or_size_is_refused_and_leaves_no_temp(void **state)
{
        struct fixture *f = *state;
        struct tcluster *c = &f->c;
        uint8_t data[1000];
        struct raw_stream rs;
        struct raft_status st;
        uint32_t crc;
        int l = tc_wait_leader(c, WAIT_MS), fo;

        assert_true(l >= 0);
        fo = (l + 1) % TC_NODES;
        for (size_t k = 0; k < sizeof(data); k++)
                data[k] = (uint8_t)(k * 7);
        crc = (uint32_t)crc32(0L, data, sizeof(data));
        node_raft_status(c->n[fo].node, &st);

        /* The chunk's CRC field does not match its bytes. */
        send_raw(c, fo, st.term, sizeof(data), crc, data, sizeof(data), crc ^ 1, &rs);
        assert_true(rs.got_reply);
        assert_false(rs.success);
        assert_int_equal(rs.term, st.term);
        assert_int_equal(count_files(c, fo, ".tmp", NULL), 0);

        /* Fewer bytes than the request announced. */
        send_raw(c, fo, st.term, sizeof(data), crc, data, 500,
                 (uint32_t)crc32(0L, data, 500), &rs);
        assert_true(rs.got_reply);
        assert_false(rs.success);
        assert_int_equal(count_files(c, fo, ".tmp", NULL), 0);

        /* The right size, but not the data the request's CRC describes. */
        data[3] ^= 0xff;
        send_raw(c, fo, st.term, sizeof(data), crc, data, sizeof(data),
                 (uint32_t)crc32(0L, data, sizeof(data)), &rs);
        assert_true(rs.got_reply);
        assert_false(rs.success);
        assert_int_equal(count_files(c, fo, ".tmp", NULL), 0);
        assert_int_equal(count_files(c, fo, ".snap", NULL), 0);

        /* An older term is refused before any data. */
        send_raw(c, fo, st.term - 1, sizeof(data), crc, data, sizeof(data),
                 (uint32_t)crc32(0L, data, sizeof(data)), &rs);
        assert_true(rs.got_reply);
        assert_false(rs.success);

        /* The node goes on: same leader, same term. */
        node_raft_status(c->n[fo].node, &st);
        assert_int_equal(tc_wait_leader(c, WAIT_MS), l);
}

struct tmp_gone {
        struct tcluster *c;
        int i;
        int64_t until;
};

static bool no_temp_file(void *arg)
{
        struct tmp_gone *g = arg;

        return count_files(g->c, g->i, ".tmp", NULL) == 0;
}

static bool receiving(void *arg)
{
        struct tmp_gone *g = arg;

        return g->c->n[g->i].node->snap_recv != NULL;
}

static void an_interrupted_install_snapshot_leaves_no_temp_file(void **state)
{
        static const struct net_stream_ops ops = { .on_message = raw_reply,
                                                   .on_status = raw_status };
        struct fixture *f = *state;
        struct tcluster *c = &f->c;
        Raftgrpc__InstallSnapshotStream m = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__INIT;
        Raftgrpc__InstallSnapshotRequest q = RAFTGRPC__INSTALL_SNAPSHOT_REQUEST__INIT;
        uint8_t data[4096] = { 1, 2, 3 }, *cbuf = NULL;
        struct raw_stream rs = { 0 };
        struct raft_status st;
        struct net_stream *ns;
        struct tmp_gone g = { .c = c };
        size_t clen = 0;
        int l = tc_wait_leader(c, WAIT_MS);

        assert_true(l >= 0);
        g.i = (l + 1) % TC_NODES;
        node_raft_status(c->n[g.i].node, &st);
        assert_int_equal(raft_config_encode(raft_configuration(c->n[g.i].node->raft), &cbuf,
                                            &clen), 0);
        ns = net_stream_open(c->n[g.i].ch, MSG_PATH_INSTALL_SNAPSHOT,
                             &raftgrpc__install_snapshot_response__descriptor,
                             net_loop_now_ms() + 10000, &ops, &rs);
        assert_non_null(ns);
        q.term = st.term;
        q.leader.data = (uint8_t *)"n9";
        q.leader.len = 2;
        q.last_log_index = 100000;
        q.last_log_term = st.term;
        q.configuration.data = cbuf;
        q.configuration.len = clen;
        q.size = 1 << 20;
        m.payload_case = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_REQUEST;
        m.request = &q;
        assert_int_equal(net_stream_send(ns, &m.base), 0);
        m = (Raftgrpc__InstallSnapshotStream)RAFTGRPC__INSTALL_SNAPSHOT_STREAM__INIT;
        m.payload_case = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_DATA;
        m.data.data = data;
        m.data.len = sizeof(data);
        m.crc32 = (uint32_t)crc32(0L, data, sizeof(data));
        assert_int_equal(net_stream_send(ns, &m.base), 0);
        /* The node holds the transfer and its temp file... */
        assert_int_equal(net_loop_run_until(c->loop, receiving, &g, net_loop_now_ms() + 10000),
                         0);
        assert_int_equal(count_files(c, g.i, ".tmp", NULL), 1);
        /* ... until the leader goes away in the middle. */
        net_stream_cancel(ns);
        assert_int_equal(net_loop_run_until(c->loop, no_temp_file, &g,
                                            net_loop_now_ms() + 10000), 0);
        assert_int_equal(net_loop_run_until(c->loop, raw_done, &rs, net_loop_now_ms() + 10000),
                         0);
        assert_null(c->n[g.i].node->snap_recv);
        net_stream_release(ns);
        free(cbuf);
}

static void a_snapshot_event_whose_file_is_missing_stops_the_start_naming_it(void **state)
{
        struct fixture *f = *state;
        struct tcluster *c = &f->c;
        Rafktor__V1__SnapshotResponse *resp;
        struct tnode *t;
        struct node *n = NULL;
        struct dirent *de;
        char path[600], err[512];
        int l = tc_wait_leader(c, WAIT_MS), fo, r;
        DIR *d;

        assert_true(l >= 0);
        fo = (l + 1) % TC_NODES;
        t = &c->n[fo];
        put_keys(c, l, "m-", 10);
        assert_true(tc_wait_caught_up(c, fo, l, WAIT_MS));
        resp = take_snapshot(f, fo);
        rafktor__v1__snapshot_response__free_unpacked(resp, NULL);
        /* The SnapshotTaken event is durable once a later write is. */
        put_keys(c, l, "n-", 3);
        assert_true(tc_wait_caught_up(c, fo, l, WAIT_MS));
        tc_stop(c, fo);
        d = opendir(t->cfg.data_dir);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (strstr(de->d_name, ".snap")) {
                        snprintf(path, sizeof(path), "%s/%s", t->cfg.data_dir, de->d_name);
                        assert_int_equal(unlink(path), 0);
                }
        closedir(d);
        r = node_new(&(struct node_options){ .config = &t->cfg, .loop = c->loop,
                                             .log = c->log, .io = &t->io },
                     &n, err, sizeof(err));
        assert_true(r < 0);
        assert_null(n);
        if (!strstr(err, "refers to a snapshot file that is missing from"))
                fail_msg("node_new said: %s", err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        snapshot_on_the_admin_socket_reports_its_file_and_a_restart_loads_it,
                        setup, teardown),
                cmocka_unit_test_setup_teardown(
                        a_follower_behind_the_leaders_log_start_gets_the_snapshot, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        install_snapshot_with_a_bad_chunk_or_size_is_refused_and_leaves_no_temp,
                        setup, teardown),
                cmocka_unit_test_setup_teardown(
                        an_interrupted_install_snapshot_leaves_no_temp_file, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        a_snapshot_event_whose_file_is_missing_stops_the_start_naming_it, setup,
                        teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
