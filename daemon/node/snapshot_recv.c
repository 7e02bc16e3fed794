/* daemon/node/snapshot_recv.c: the follower's side of InstallSnapshot.
 *
 * Owns: the one stream being received: checking the request (a leader's id, a term not
 * older than this node's, a configuration), each chunk's CRC-32 and the size and CRC-32
 * of the whole, the snapshot writer's temp file; then, in a worker thread (never on the
 * loop), decoding the state machine, finishing the file, waiting until every event it
 * covers is durable; back on the loop, publishing it and raft_install_snapshot(), whose
 * RAFT_FX_RESTORE swaps the decoded state machine in and whose RAFT_FX_SNAPSHOT_REPLY
 * answers the stream.
 *
 * The file is this node's state after event S (the last event before the install): the
 * leader's data at its index, this node's term and vote as of S, and the entries after the
 * index that the install keeps (Raft thesis 5.4: the log after the index survives if it
 * holds the index with the snapshot's term). It is published (rename + directory fsync) on
 * the loop, only after checking that no event followed S, and in the same loop turn as
 * raft_install_snapshot(): so at every instant a restart finds either the old state (no
 * file under a snapshot name) or the installed one (the file, then the install's own
 * events, whose SnapshotTaken replays as a no-op). If any event happened between S and the
 * install (a vote, a new leader's entries), the temp file is removed and the leader told
 * to try again. (Publishing in the worker and removing the file afterwards left a window in
 * which a crash kept a file that the later events contradict: the node could not start.)
 *
 * Must never: install a transfer whose chunks, size or CRC do not match, decode or fsync
 * on the loop, answer success before the core releases the reply, or keep a temp file of
 * a failed or interrupted transfer.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "daemon/node/node_internal.h"
#include "daemon/storage/event_codec.h"
#include "raft.pb-c.h"

#define RECV_MAX_BYTES (16ULL << 30)

enum recv_state {
        RECV_DATA,              /* chunks arriving */
        RECV_WORKER,            /* the worker thread decodes, finishes and publishes */
        RECV_REPLY,             /* raft_install_snapshot called: waiting for the REPLY */
};

struct snap_recv {
        struct node *node;              /* NULL once the node let go: the post frees it */
        struct net_loop *loop;
        struct net_call *call;          /* NULL once answered or cancelled */
        enum recv_state state;
        char leader[RAFT_ID_MAX];
        raft_term_t term;
        raft_index_t index;
        raft_term_t index_term;
        struct raft_config config;
        uint64_t size;
        uint32_t data_crc;
        uint64_t got;
        uint32_t crc;
        uint8_t *data;                  /* the whole data, for decoding */
        struct snapshot_writer *w;
        struct evlog *evlog;
        struct kv_options kvo;
        /* The worker's input and output. */
        struct snapshot_meta meta;
        pthread_t thread;
        bool thread_started;
        bool joined;
        struct net_post post;
        struct kv *kv;
        int rc;
        char err[512];
        struct timespec started, received; /* the request came; the half-close came */
};

static double secs_between(const struct timespec *a, const struct timespec *b)
{
        return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void answer(struct snap_recv *rv, raft_term_t term, bool success)
{
        Raftgrpc__InstallSnapshotResponse resp = RAFTGRPC__INSTALL_SNAPSHOT_RESPONSE__INIT;

        if (!rv->call)
                return;
        resp.term = term;
        resp.success = success;
        net_call_set_data(rv->call, NULL);
        net_call_reply(rv->call, &resp.base);
        rv->call = NULL;
}

static void recv_free(struct snap_recv *rv)
{
        if (rv->thread_started && !rv->joined)
                pthread_join(rv->thread, NULL);
        snapshot_writer_abort(rv->w);
        raft_config_clear(&rv->config);
        snapshot_meta_clear(&rv->meta);
        kv_free(rv->kv);
        free(rv->data);
        free(rv);
}

/* Ends the transfer with failure (when it is still receiving) and forgets it. */
static void fail(struct node *n, struct snap_recv *rv, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void fail(struct node *n, struct snap_recv *rv, const char *fmt, ...)
{
        struct raft_status st;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rv->err, sizeof(rv->err), fmt, ap);
        va_end(ap);
        log_warning(n->log, "%s: InstallSnapshot from %s (index %" PRIu64 ") refused: %s",
                    n->cfg->id, rv->leader[0] ? rv->leader : "?", (uint64_t)rv->index,
                    rv->err);
        raft_status(n->raft, &st);
        answer(rv, st.term, false);
        if (n->snap_recv == rv)
                n->snap_recv = NULL;
        recv_free(rv);
}

static int check_request(struct node *n, struct snap_recv *rv,
                         const Raftgrpc__InstallSnapshotRequest *q)
{
        if (q->leader.len == 0 || q->leader.len >= RAFT_ID_MAX ||
            memchr(q->leader.data, '\0', q->leader.len)) {
                snprintf(rv->err, sizeof(rv->err), "leader: expected a node id of 1..%d bytes",
                         RAFT_ID_MAX - 1);
                return -EINVAL;
        }
        memcpy(rv->leader, q->leader.data, q->leader.len);
        rv->leader[q->leader.len] = '\0';
        if (strcmp(rv->leader, n->cfg->id) == 0) {
                snprintf(rv->err, sizeof(rv->err), "leader %s is this node's own id",
                         rv->leader);
                return -EINVAL;
        }
        rv->term = q->term;
        rv->index = q->last_log_index;
        rv->index_term = q->last_log_term;
        if (q->term == 0 || rv->index == 0 || rv->index_term == 0 || rv->index_term > q->term) {
                snprintf(rv->err, sizeof(rv->err), "expected term > 0, last_log_index > 0 and "
                         "0 < last_log_term <= term, got term %" PRIu64 ", index %" PRIu64
                         ", index term %" PRIu64, (uint64_t)q->term, (uint64_t)rv->index,
                         (uint64_t)rv->index_term);
                return -EINVAL;
        }
        if (raft_config_decode(q->configuration.data, q->configuration.len, &rv->config) < 0 ||
            rv->config.n == 0) {
                snprintf(rv->err, sizeof(rv->err), "configuration: expected a non-empty "
                         "encoded configuration (%zu bytes do not decode)",
                         q->configuration.len);
                return -EINVAL;
        }
        if (q->size < 0 || (uint64_t)q->size > RECV_MAX_BYTES) {
                snprintf(rv->err, sizeof(rv->err), "size: expected 0..%llu bytes, got %" PRId64,
                         (unsigned long long)RECV_MAX_BYTES, q->size);
                return -EINVAL;
        }
        rv->size = (uint64_t)q->size;
        rv->data_crc = q->data_crc32;
        return 0;
}

static void on_request(struct node *n, struct net_call *call,
                       const Raftgrpc__InstallSnapshotRequest *q)
{
        const struct storage_io *io = n->io ? n->io : storage_io_posix();
        struct storage_error se;
        struct raft_status st;
        struct snap_recv *rv;
        int r;

        rv = calloc(1, sizeof(*rv));
        if (!rv) {
                net_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
                return;
        }
        rv->node = n;
        rv->loop = n->loop;
        rv->call = call;
        rv->evlog = n->evlog;
        net_call_set_data(call, rv);
        if (check_request(n, rv, q) < 0) {
                fail(n, rv, "%s", rv->err);
                return;
        }
        raft_status(n->raft, &st);
        if (rv->term < st.term) {
                fail(n, rv, "term %" PRIu64 " is older than this node's %" PRIu64,
                     (uint64_t)rv->term, (uint64_t)st.term);
                return;
        }
        if (n->snap_recv) {
                if (n->snap_recv->state != RECV_DATA) {
                        fail(n, rv, "the snapshot of index %" PRIu64 " is being installed",
                             (uint64_t)n->snap_recv->index);
                        return;
                }
                fail(n, n->snap_recv, "a new InstallSnapshot from %s replaces it", rv->leader);
        }
        rv->data = malloc(rv->size ? rv->size : 1);
        if (!rv->data) {
                fail(n, rv, "no memory for %" PRIu64 " bytes", rv->size);
                return;
        }
        r = snapshot_writer_begin(io, n->cfg->data_dir, n->cfg->id, &rv->w, &se);
        if (r < 0) {
                rv->w = NULL;
                fail(n, rv, "%.380s", se.msg);
                return;
        }
        kv_options_default(&rv->kvo);
        if (n->cfg->session_ttl_ms)
                rv->kvo.session_ttl_ms = n->cfg->session_ttl_ms;
        n->snap_recv = rv;
        clock_gettime(CLOCK_MONOTONIC, &rv->started);
        log_info(n->log, "%s: receiving a snapshot of index %" PRIu64 " (term %" PRIu64 ", %"
                 PRIu64 " bytes) from %s", n->cfg->id, (uint64_t)rv->index,
                 (uint64_t)rv->index_term, rv->size, rv->leader);
}

static void on_data(struct node *n, struct snap_recv *rv, const Raftgrpc__InstallSnapshotStream *m)
{
        struct storage_error se;
        uint32_t crc;

        crc = (uint32_t)crc32(0L, m->data.data, (uInt)m->data.len);
        if (crc != m->crc32) {
                fail(n, rv, "the chunk at data offset %" PRIu64 " (%zu bytes) has CRC-32 %08x, "
                     "the leader sent %08x", rv->got, m->data.len, crc, m->crc32);
                return;
        }
        if (m->data.len > rv->size - rv->got) {
                fail(n, rv, "more data than the %" PRIu64 " bytes announced (%" PRIu64
                     " + %zu)", rv->size, rv->got, m->data.len);
                return;
        }
        if (snapshot_writer_append(rv->w, m->data.data, m->data.len, &se) < 0) {
                fail(n, rv, "%.380s", se.msg);
                return;
        }
        memcpy(rv->data + rv->got, m->data.data, m->data.len);
        rv->crc = (uint32_t)crc32(rv->crc, m->data.data, (uInt)m->data.len);
        rv->got += m->data.len;
}

void snapshot_recv_message(struct node *n, struct net_call *call, const struct net_msg *msg)
{
        const Raftgrpc__InstallSnapshotStream *m = (const Raftgrpc__InstallSnapshotStream *)msg->pb;
        struct snap_recv *rv = net_call_data(call);

        if (n->stopped || !n->started) {
                net_call_finish(call, GRPC_STATUS_UNAVAILABLE, "node %s is %s", n->cfg->id,
                                n->stopped ? "shutting down" : "starting");
                if (rv)
                        fail(n, rv, "the node stops");
                return;
        }
        if (!rv) {
                if (m->payload_case != RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_REQUEST) {
                        net_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "InstallSnapshot: "
                                        "the first message must be the request");
                        return;
                }
                on_request(n, call, m->request);
                return;
        }
        if (rv->state != RECV_DATA)
                return;         /* nothing follows a half-close */
        if (m->payload_case != RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_DATA) {
                fail(n, rv, "a second request in one stream");
                return;
        }
        on_data(n, rv, m);
}

/* ---- the worker: decode, finish, flush, publish -------------------------------------- */

bool snapshot_recv_writing(const struct node *n)
{
        return n->snap_recv && n->snap_recv->state == RECV_WORKER;
}

static void *recv_thread(void *arg)
{
        struct snap_recv *rv = arg;
        struct storage_error se;
        char why[256];
        int r;

        r = kv_snapshot_decode(rv->data, rv->size, &rv->kvo, &rv->kv, why, sizeof(why));
        if (r < 0) {
                snprintf(rv->err, sizeof(rv->err), "the state machine does not decode: %s",
                         why);
                goto out;
        }
        r = snapshot_writer_finish(rv->w, &rv->meta, &se);
        if (r < 0) {
                snprintf(rv->err, sizeof(rv->err), "%.380s", se.msg);
                goto out;
        }
        r = evlog_flush(rv->evlog, rv->meta.seq);
        if (r < 0) {
                snprintf(rv->err, sizeof(rv->err), "the events up to %" PRIu64 " did not "
                         "become durable: %s", rv->meta.seq, strerror(-r));
                goto out;
        }
out:
        rv->rc = r;
        (void)net_loop_post(rv->loop, &rv->post);
        return NULL;
}

static void recv_done(struct net_post *post, bool run)
{
        struct snap_recv *rv = net_container_of(post, struct snap_recv, post);
        struct node *n = rv->node;
        struct raft_status st;
        struct storage_error se;
        struct timespec now;
        int r;

        if (!rv->joined)
                pthread_join(rv->thread, NULL);
        rv->joined = true;
        if (!n || !run) {
                recv_free(rv);
                return;
        }
        if (rv->rc < 0) {
                fail(n, rv, "%s", rv->err);
                return;
        }
        raft_status(n->raft, &st);
        if (st.last_seq != rv->meta.seq || n->stopped) {
                fail(n, rv, "events %" PRIu64 "..%" PRIu64 " happened while the file was "
                     "written; try again", rv->meta.seq + 1, (uint64_t)st.last_seq);
                return;         /* fail() aborts the temp file: it never got a name */
        }
        /* Named now, with nothing between the check above and the install below: a blocking
         * rename + directory fsync on the loop, once per received snapshot. */
        r = snapshot_writer_publish(rv->w, &se);
        rv->w = NULL;           /* freed by publish in every case */
        if (r < 0) {
                fail(n, rv, "%.380s", se.msg);
                return;
        }
        /* The installed state machine waits for RESTORE, which the call below emits. */
        kv_free(n->restore_kv);
        n->restore_kv = rv->kv;
        n->restore_index = rv->index;
        rv->kv = NULL;
        n->snap_bytes = SNAPSHOT_HEADER_SIZE + rv->meta.config_len + rv->meta.tail_len +
                        rv->size;
        rv->state = RECV_REPLY;
        clock_gettime(CLOCK_MONOTONIC, &now);
        log_info(n->log, "%s: snapshot of index %" PRIu64 " from %s: %" PRIu64 " bytes received "
                 "in %.3f s (%.1f MiB/s), decoded and written (%" PRIu64 ".snap) in %.3f s; "
                 "installing", n->cfg->id, (uint64_t)rv->index, rv->leader, rv->size,
                 secs_between(&rv->started, &rv->received),
                 (double)rv->size / 1048576.0 /
                 (secs_between(&rv->started, &rv->received) + 1e-9),
                 rv->meta.seq, secs_between(&rv->received, &now));
        r = raft_install_snapshot(n->raft, (raft_time_t)node_now(n), rv->leader, rv->term,
                                  rv->index, rv->index_term, &rv->config, &n->out);
        node_after_input(n, r, "raft_install_snapshot");
        if (r < 0 && n->snap_recv == rv)
                fail(n, rv, "the core refused the snapshot: %s", raft_rc_str(r));
}

/* The meta of the file: this node's state once the install is applied after event S. */
static int build_meta(struct node *n, struct snap_recv *rv, const struct raft_status *st)
{
        const struct raft_entry *e = raft_log_get(n->raft, rv->index);
        struct raft_event ev = { .type = RAFT_EV_ENTRIES };
        raft_index_t last = raft_last_index(n->raft);
        int r;

        rv->meta.seq = st->last_seq;
        rv->meta.index = rv->index;
        rv->meta.term = rv->index_term;
        rv->meta.vote_term = st->term;
        snprintf(rv->meta.voted_for, sizeof(rv->meta.voted_for), "%s", st->voted_for);
        if (raft_config_encode(&rv->config, &rv->meta.config, &rv->meta.config_len) < 0)
                return -ENOMEM;
        /* Thesis 5.4: entries after the index are kept when the log holds it with its term
         * (the core's SnapshotTaken applies the same rule). */
        if (!e || e->term != rv->index_term || last <= rv->index)
                return 0;
        ev.entries.n = last - rv->index;
        ev.entries.entries = calloc(ev.entries.n, sizeof(*ev.entries.entries));
        if (!ev.entries.entries)
                return -ENOMEM;
        for (size_t i = 0; i < ev.entries.n; i++) {
                e = raft_log_get(n->raft, rv->index + 1 + i);
                if (!e) {
                        free(ev.entries.entries);
                        return -ENOENT;
                }
                ev.entries.entries[i] = *e;
        }
        r = event_encode(&ev, &rv->meta.tail, &rv->meta.tail_len);
        free(ev.entries.entries);
        return r;
}

void snapshot_recv_half_close(struct node *n, struct net_call *call)
{
        struct snap_recv *rv = net_call_data(call);
        struct raft_status st;
        int r;

        if (!rv || rv->state != RECV_DATA) {
                if (!rv)
                        net_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "InstallSnapshot: "
                                        "the stream carried no request");
                return;
        }
        if (rv->got != rv->size || rv->crc != rv->data_crc) {
                fail(n, rv, "the data is %" PRIu64 " bytes with CRC-32 %08x, the request said %"
                     PRIu64 " bytes with %08x", rv->got, rv->crc, rv->size, rv->data_crc);
                return;
        }
        /* Both files could get one name (same last event): one writer at a time. */
        if (n->snap_take) {
                fail(n, rv, "this node is writing a snapshot of its own; try again");
                return;
        }
        raft_status(n->raft, &st);
        if (rv->term < st.term || st.storage_failed ||
            (rv->term == st.term && st.role == RAFT_LEADER)) {
                fail(n, rv, "%s", st.storage_failed ? "this node's event log failed" :
                     "this node's term moved on");
                return;
        }
        /* Committed entries cover it: the core answers success without installing, so no
         * file is written. */
        if (rv->index <= st.commit_index) {
                snapshot_writer_abort(rv->w);
                rv->w = NULL;
                rv->state = RECV_REPLY;
                r = raft_install_snapshot(n->raft, (raft_time_t)node_now(n), rv->leader,
                                          rv->term, rv->index, rv->index_term, &rv->config,
                                          &n->out);
                node_after_input(n, r, "raft_install_snapshot");
                if (r < 0 && n->snap_recv == rv)
                        fail(n, rv, "the core refused the snapshot: %s", raft_rc_str(r));
                return;
        }
        clock_gettime(CLOCK_MONOTONIC, &rv->received);
        r = build_meta(n, rv, &st);
        if (r < 0) {
                fail(n, rv, "building the snapshot's header failed: %s", strerror(-r));
                return;
        }
        rv->state = RECV_WORKER;
        rv->post.fn = recv_done;
        r = pthread_create(&rv->thread, NULL, recv_thread, rv);
        if (r != 0) {
                fail(n, rv, "starting the install thread: %s", strerror(r));
                return;
        }
        rv->thread_started = true;
}

void snapshot_recv_cancel(struct node *n, struct net_call *call)
{
        struct snap_recv *rv = net_call_data(call);

        net_call_set_data(call, NULL);
        if (rv) {
                rv->call = NULL;
                /* Receiving: drop it (the temp file goes). Later: the install goes on, its
                 * answer has nowhere to go. */
                if (rv->state == RECV_DATA) {
                        log_warning(n->log, "%s: InstallSnapshot from %s interrupted after %"
                                    PRIu64 " of %" PRIu64 " bytes", n->cfg->id, rv->leader,
                                    rv->got, rv->size);
                        if (n->snap_recv == rv)
                                n->snap_recv = NULL;
                        recv_free(rv);
                }
        }
        net_call_finish(call, GRPC_STATUS_CANCELLED, "the leader went away");
}

/* ---- effects ------------------------------------------------------------------------- */

static void *free_thread(void *arg)
{
        kv_free(arg);
        return NULL;
}

/* Freeing a million keys takes the loop tens of ms: a detached thread does it (nothing else
 * refers to the old state machine any more). */
static void kv_free_later(struct node *n, struct kv *kv)
{
        pthread_attr_t a;
        pthread_t t;
        int r;

        r = pthread_attr_init(&a);
        if (r == 0) {
                pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
                r = pthread_create(&t, &a, free_thread, kv);
                pthread_attr_destroy(&a);
        }
        if (r != 0) {
                log_debug(n->log, "freeing the old state machine on the loop: %s", strerror(r));
                kv_free(kv);
        }
}

void snapshot_recv_restore(struct node *n, const struct raft_effect *fx)
{
        if (!n->restore_kv || n->restore_index != fx->snapshot.index) {
                log_error(n->log, "%s: RESTORE of snapshot %" PRIu64 " without its decoded state "
                          "(have %" PRIu64 "); the state machine is now behind the log",
                          n->cfg->id, (uint64_t)fx->snapshot.index, (uint64_t)n->restore_index);
                return;
        }
        kv_free_later(n, n->kv);
        n->kv = n->restore_kv;
        n->restore_kv = NULL;
        /* The log before the index is gone here: keep the leader-time stamps monotonic. */
        if (raft_time_floor(n->raft, kv_clock_ms(n->kv)) < 0)
                log_error(n->log, "%s: raft_time_floor after the restore failed",
                          n->cfg->id);
        log_info(n->log, "%s: state machine restored from the snapshot of index %" PRIu64
                 " (%zu keys)", n->cfg->id, (uint64_t)fx->snapshot.index, kv_count(n->kv));
}

void snapshot_recv_reply(struct node *n, const struct raft_effect *fx)
{
        struct snap_recv *rv = n->snap_recv;

        if (!rv || rv->state != RECV_REPLY || strcmp(rv->leader, fx->snapshot.peer) != 0)
                return;
        n->snap_recv = NULL;
        answer(rv, fx->snapshot.term, fx->snapshot.success);
        recv_free(rv);
        /* No RESTORE came (committed entries covered the snapshot): drop the decoded state. */
        kv_free(n->restore_kv);
        n->restore_kv = NULL;
}

void snapshot_recv_stop(struct node *n)
{
        struct snap_recv *rv = n->snap_recv;

        kv_free(n->restore_kv);
        n->restore_kv = NULL;
        if (!rv)
                return;
        n->snap_recv = NULL;
        if (rv->call) {
                net_call_set_data(rv->call, NULL);
                net_call_finish(rv->call, GRPC_STATUS_UNAVAILABLE, "node is shutting down");
                rv->call = NULL;
        }
        if (rv->state == RECV_WORKER) {
                /* Its post frees it (the thread uses the event log: join it now). */
                pthread_join(rv->thread, NULL);
                rv->joined = true;
                rv->node = NULL;
                return;
        }
        recv_free(rv);
}
