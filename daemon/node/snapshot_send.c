/* daemon/node/snapshot_send.c: the leader's side of InstallSnapshot.
 *
 * Owns: one client stream per follower that the core asked a snapshot for
 * (RAFT_FX_SEND_SNAPSHOT): the request (term, leader, last included index and term,
 * configuration, data size and CRC-32), then the newest snapshot file's data in chunks,
 * each with its CRC-32, read with the snapshot reader only when the stream's send queue
 * has room (never the whole file in memory), then half-close; its end goes to the core as
 * raft_snapshot_sent() with the follower's answer, or term 0 for a broken stream.
 * Must never: queue more than SEND_MAX_QUEUED chunks, report success without the
 * follower's answer, or run two streams to one follower.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "daemon/node/node_internal.h"
#include "daemon/wire/msg_codec.h"
#include "raft.pb-c.h"

#define SEND_CHUNK_MAX (256u << 10)
#define SEND_MAX_QUEUED 2
#define SEND_DEADLINE_BASE_MS 60000
#define SEND_DEADLINE_MS_PER_MIB 1000
#define SEND_RETRY_PAUSE_MS 500         /* a failed stream is reported this much later */

struct snap_send {
        struct snap_send *next;
        struct node *node;
        char peer[RAFT_ID_MAX];
        struct net_stream *st;
        struct snapshot_reader *rd;
        struct snapshot_meta meta;
        uint64_t seq;
        uint64_t queued;                /* data bytes handed to the stream */
        size_t chunk;
        bool eof;
        bool got_reply;
        bool reply_success;
        raft_term_t reply_term;
        uint8_t *buf;
        struct timespec started;
        struct timespec data_sent;      /* the last chunk's send completed (0: not yet) */
        char err[512];
        struct net_timer pause;         /* a failed stream waits before it is reported */
};

static void send_free(struct snap_send *s)
{
        net_timer_cancel(s->node->loop, &s->pause);
        if (s->st)
                net_stream_release(s->st);
        snapshot_reader_close(s->rd);
        snapshot_meta_clear(&s->meta);
        free(s->buf);
        free(s);
}

static void unlink_send(struct node *n, struct snap_send *s)
{
        for (struct snap_send **p = &n->snap_sends; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        return;
                }
}

static struct snap_send *find_send(struct node *n, const char *peer)
{
        for (struct snap_send *s = n->snap_sends; s; s = s->next)
                if (strcmp(s->peer, peer) == 0)
                        return s;
        return NULL;
}

/* Reports the end to the core and frees s. */
static void report(struct snap_send *s, bool ok, raft_term_t term)
{
        struct node *n = s->node;
        uint64_t index = s->meta.index;
        char peer[RAFT_ID_MAX];
        int r;

        snprintf(peer, sizeof(peer), "%s", s->peer);
        unlink_send(n, s);
        send_free(s);
        if (n->stopped)
                return;
        r = raft_snapshot_sent(n->raft, (raft_time_t)node_now(n), peer, term, index, ok,
                               &n->out);
        node_after_input(n, r, "raft_snapshot_sent");
}

static void on_pause_end(struct net_timer *t, void *user)
{
        (void)t;
        report(user, false, 0);
}

/* Logs how the stream ended; a success goes to the core now, a failure after a pause (the
 * core asks again at its next heartbeat: a follower that is down is not retried 20 times a
 * second). */
static void finish(struct snap_send *s, bool ok, raft_term_t term)
{
        struct node *n = s->node;
        struct timespec now;
        double secs, mib;
        uint64_t index = s->meta.index;

        clock_gettime(CLOCK_MONOTONIC, &now);
        secs = (double)(now.tv_sec - s->started.tv_sec) +
               (double)(now.tv_nsec - s->started.tv_nsec) / 1e9;
        mib = (double)s->queued / (1024.0 * 1024.0);
        if (ok && s->data_sent.tv_sec) {
                double data = (double)(s->data_sent.tv_sec - s->started.tv_sec) +
                              (double)(s->data_sent.tv_nsec - s->started.tv_nsec) / 1e9;

                log_info(n->log, "%s: snapshot of index %" PRIu64 " sent to %s: %" PRIu64
                         " bytes in %.3f s (%.1f MiB/s), installed %.3f s after the start "
                         "(%.1f MiB/s)", n->cfg->id, index, s->peer, s->queued, data,
                         data > 0 ? mib / data : 0.0, secs, secs > 0 ? mib / secs : 0.0);
        } else if (ok) {
                log_info(n->log, "%s: snapshot of index %" PRIu64 " sent to %s: %" PRIu64
                         " bytes, installed %.3f s after the start (%.1f MiB/s)", n->cfg->id,
                         index, s->peer, s->queued, secs, secs > 0 ? mib / secs : 0.0);
        }
        else
                log_warning(n->log, "%s: snapshot of index %" PRIu64 " to %s failed after %"
                            PRIu64 " bytes, %.3f s: %s", n->cfg->id, index, s->peer, s->queued,
                            secs, s->err[0] ? s->err : "the follower refused it");
        if (ok || term != 0) {
                report(s, ok, term);
                return;
        }
        if (s->st) {
                net_stream_release(s->st);
                s->st = NULL;
        }
        net_timer_start(n->loop, &s->pause, node_now(n) + SEND_RETRY_PAUSE_MS, on_pause_end, s);
}

/* Queues chunks while the stream has room; half-closes after the last one. */
static void pump(struct snap_send *s)
{
        Raftgrpc__InstallSnapshotStream m = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__INIT;
        struct storage_error se;
        ssize_t got;

        while (!s->eof && net_stream_queued(s->st) < SEND_MAX_QUEUED) {
                got = snapshot_reader_read(s->rd, s->buf, s->chunk, &se);
                if (got < 0) {
                        snprintf(s->err, sizeof(s->err), "reading the snapshot: %.380s", se.msg);
                        net_stream_cancel(s->st);
                        return;
                }
                if (got == 0) {
                        s->eof = true;
                        net_stream_close_send(s->st);
                        return;
                }
                m.payload_case = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_DATA;
                m.data.data = s->buf;
                m.data.len = (size_t)got;
                m.crc32 = (uint32_t)crc32(0L, s->buf, (uInt)got);
                if (net_stream_send(s->st, &m.base) < 0)
                        return;         /* broken: on_status follows */
                s->queued += (uint64_t)got;
        }
}

static void on_sent(struct net_stream *st, void *user)
{
        struct snap_send *s = user;

        pump(s);
        if (s->eof && net_stream_queued(st) == 0 && s->data_sent.tv_sec == 0)
                clock_gettime(CLOCK_MONOTONIC, &s->data_sent);
}

static void on_reply(struct net_stream *st, const struct net_msg *msg, void *user)
{
        const Raftgrpc__InstallSnapshotResponse *r =
                (const Raftgrpc__InstallSnapshotResponse *)msg->pb;
        struct snap_send *s = user;

        (void)st;
        s->got_reply = true;
        s->reply_success = r->success;
        s->reply_term = r->term;
}

static void on_status(struct net_stream *st, const struct net_result *res, void *user)
{
        struct snap_send *s = user;

        (void)st;
        if (res->code == GRPC_STATUS_OK && s->got_reply) {
                if (!s->reply_success)
                        snprintf(s->err, sizeof(s->err), "%s answered failure (term %" PRIu64
                                 ")", s->peer, (uint64_t)s->reply_term);
                finish(s, s->reply_success, s->reply_term);
                return;
        }
        if (!s->err[0])
                snprintf(s->err, sizeof(s->err), "the stream ended: %s (code %d)",
                         res->details, (int)res->code);
        finish(s, false, 0);
}

static const struct net_stream_ops send_ops = {
        .on_message = on_reply,
        .on_status = on_status,
};

/* Opens the file and the stream and queues the request. 0, or -errno with s->err. */
static int send_open(struct node *n, struct snap_send *s, raft_term_t term)
{
        Raftgrpc__InstallSnapshotStream m = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__INIT;
        Raftgrpc__InstallSnapshotRequest req = RAFTGRPC__INSTALL_SNAPSHOT_REQUEST__INIT;
        const struct storage_io *io = n->io ? n->io : storage_io_posix();
        struct storage_error se;
        struct peer *p = peers_get(n, s->peer);
        uint64_t bytes = 0;
        int64_t deadline;
        int r;

        if (!p || !p->ch) {
                snprintf(s->err, sizeof(s->err), "no channel to %s", s->peer);
                return -ENOTCONN;
        }
        r = evlog_newest_snapshot(n->evlog, &s->seq, &bytes);
        if (r < 0 || s->seq == 0) {
                snprintf(s->err, sizeof(s->err), "no snapshot file in %s%s%s",
                         n->cfg->data_dir, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
                return r < 0 ? r : -ENOENT;
        }
        r = snapshot_reader_open(io, n->cfg->data_dir, s->seq, &s->rd, &s->meta, &se);
        if (r < 0) {
                snprintf(s->err, sizeof(s->err), "%.380s", se.msg);
                return r;
        }
        s->chunk = SEND_CHUNK_MAX;
        if (n->cfg->max_message_size > 0 && n->cfg->max_message_size / 2 < s->chunk)
                s->chunk = n->cfg->max_message_size / 2;
        s->buf = malloc(s->chunk);
        if (!s->buf) {
                snprintf(s->err, sizeof(s->err), "out of memory");
                return -ENOMEM;
        }
        deadline = node_now(n) + SEND_DEADLINE_BASE_MS +
                   (int64_t)(s->meta.data_len >> 20) * SEND_DEADLINE_MS_PER_MIB;
        s->st = net_stream_open(p->ch, MSG_PATH_INSTALL_SNAPSHOT,
                                &raftgrpc__install_snapshot_response__descriptor, deadline,
                                &send_ops, s);
        if (!s->st) {
                snprintf(s->err, sizeof(s->err), "opening the stream to %s failed", s->peer);
                return -EIO;
        }
        net_stream_set_on_sent(s->st, on_sent);
        req.term = term;
        req.leader.data = (uint8_t *)n->cfg->id;
        req.leader.len = strlen(n->cfg->id);
        req.last_log_index = s->meta.index;
        req.last_log_term = s->meta.term;
        req.configuration.data = s->meta.config;
        req.configuration.len = s->meta.config_len;
        req.size = (int64_t)s->meta.data_len;
        req.data_crc32 = s->meta.data_crc;
        m.payload_case = RAFTGRPC__INSTALL_SNAPSHOT_STREAM__PAYLOAD_REQUEST;
        m.request = &req;
        if (net_stream_send(s->st, &m.base) < 0) {
                snprintf(s->err, sizeof(s->err), "the stream to %s broke at once", s->peer);
                return -EPIPE;
        }
        return 0;
}

void snapshot_send_start(struct node *n, const struct raft_effect *fx)
{
        char peer[RAFT_ID_MAX];
        raft_index_t want = fx->snapshot.index;
        struct snap_send *s;
        int r;

        /* fx may move once the core is called again: copy what is needed first. */
        snprintf(peer, sizeof(peer), "%s", fx->snapshot.peer);
        if (n->stopped || find_send(n, peer))
                return;
        s = calloc(1, sizeof(*s));
        if (!s) {
                log_error(n->log, "%s: no memory to send a snapshot to %s", n->cfg->id, peer);
                return;
        }
        s->node = n;
        snprintf(s->peer, sizeof(s->peer), "%s", peer);
        clock_gettime(CLOCK_MONOTONIC, &s->started);
        s->next = n->snap_sends;
        n->snap_sends = s;
        r = send_open(n, s, fx->snapshot.term);
        if (r < 0) {
                if (s->st) {
                        net_stream_release(s->st);
                        s->st = NULL;
                }
                finish(s, false, 0);
                return;
        }
        log_info(n->log, "%s: sending the snapshot of index %" PRIu64 " (%" PRIu64 ".snap, %"
                 PRIu64 " data bytes; the core asked for index %" PRIu64 ") to %s", n->cfg->id,
                 (uint64_t)s->meta.index, s->seq, s->meta.data_len, (uint64_t)want, peer);
        pump(s);
}

void snapshot_send_stop(struct node *n)
{
        struct snap_send *s;

        while ((s = n->snap_sends)) {
                n->snap_sends = s->next;
                send_free(s);
        }
}
