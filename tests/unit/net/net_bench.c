/* tests/unit/net/net_bench.c: throughput of daemon/net on 127.0.0.1: unary RequestVote
 * round trips per second with 1 and 64 calls in flight, and AppendEntriesPipeline messages
 * per second on one stream. Server and client each run their own loop on their own thread,
 * as two nodes would. Not part of make check (timing is machine-dependent).
 *
 * Usage: net_bench [unary_calls [pipeline_messages]]
 * Owns: measurement only. Must never be linked into the daemon.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/net/client.h"
#include "daemon/net/loop.h"
#include "daemon/net/server.h"
#include "raft.pb-c.h"

#define RV_PATH "/raftgrpc.RaftService/RequestVote"
#define PIPE_PATH "/raftgrpc.RaftService/AppendEntriesPipeline"

static void log_stderr(void *user, int priority, const char *message)
{
        if (priority <= NET_LOG_WARNING)
                fprintf(stderr, "<%d>%s\n", priority, message);
}

static const struct net_logger logger = { .fn = log_stderr };

/* ---- server thread ------------------------------------------------------------ */

struct server_side {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int port;                   /* 0 until listening, <0 on failure */
        struct net_loop *loop;
        struct net_post stop;
        pthread_t thread;
};

static void on_vote(struct net_call *call, const struct net_msg *msg, void *user)
{
        const Raftgrpc__RequestVoteRequest *req = (const void *)msg->pb;
        Raftgrpc__RequestVoteResponse resp = RAFTGRPC__REQUEST_VOTE_RESPONSE__INIT;

        resp.term = req->term;
        resp.granted = true;
        net_call_reply(call, &resp.base);
}

static void on_pipe(struct net_call *call, const struct net_msg *msg, void *user)
{
        const Raftgrpc__AppendEntriesRequest *req = (const void *)msg->pb;
        Raftgrpc__AppendEntriesPipelineResponse out =
                RAFTGRPC__APPEND_ENTRIES_PIPELINE_RESPONSE__INIT;
        Raftgrpc__AppendEntriesResponse resp = RAFTGRPC__APPEND_ENTRIES_RESPONSE__INIT;

        resp.term = req->term;
        resp.success = true;
        resp.prev_log_entry = req->prev_log_entry;
        resp.last_entry = req->prev_log_entry + req->n_entries;
        out.response = &resp;
        net_call_send(call, &out.base);
}

static void on_pipe_end(struct net_call *call, void *user)
{
        net_call_finish(call, GRPC_STATUS_OK, NULL);
}

static void on_stop(struct net_post *p, bool run)
{
        struct server_side *s = net_container_of(p, struct server_side, stop);

        if (run)
                net_loop_stop(s->loop);
}

static void *server_thread(void *arg)
{
        struct server_side *s = arg;
        struct net_method methods[] = {
                { .path = RV_PATH, .kind = NET_METHOD_UNARY,
                  .input = &raftgrpc__request_vote_request__descriptor, .on_message = on_vote },
                { .path = PIPE_PATH, .kind = NET_METHOD_BIDI_STREAM,
                  .input = &raftgrpc__append_entries_request__descriptor,
                  .on_message = on_pipe, .on_half_close = on_pipe_end,
                  .on_cancel = on_pipe_end },
        };
        struct net_server_options opts = { .slots_per_method = 64 };
        struct net_loop *loop = net_loop_new(&logger);
        struct net_server *srv = loop ? net_server_new(loop, methods, 2, &opts) : NULL;
        int port = srv ? net_server_listen(srv, "127.0.0.1:0") : -1;

        if (port > 0 && net_server_start(srv) < 0)
                port = -1;
        pthread_mutex_lock(&s->lock);
        s->loop = loop;
        s->port = port > 0 ? port : -1;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        if (port > 0)
                net_loop_run(loop);
        net_server_free(srv, 5000);
        net_loop_free(loop);
        return NULL;
}

/* ---- client ----------------------------------------------------------------- */

struct unary_run {
        struct net_channel *ch;
        long target;
        long started;
        long ok;
        long failed;
};

static void start_vote(struct unary_run *r);

static void vote_done(const struct net_result *res, void *user)
{
        struct unary_run *r = user;

        if (res->code == GRPC_STATUS_OK && res->pb &&
            ((const Raftgrpc__RequestVoteResponse *)res->pb)->granted)
                r->ok++;
        else
                r->failed++;
        if (r->started < r->target)
                start_vote(r);
}

static void start_vote(struct unary_run *r)
{
        Raftgrpc__RequestVoteRequest req = RAFTGRPC__REQUEST_VOTE_REQUEST__INIT;

        req.term = (uint64_t)r->started + 1;
        req.candidate = (ProtobufCBinaryData){ .data = (uint8_t *)"n1", .len = 2 };
        req.last_log_index = 1000;
        req.last_log_term = 3;
        r->started++;
        if (net_unary_call(r->ch, RV_PATH, &req.base, &raftgrpc__request_vote_response__descriptor,
                           net_loop_now_ms() + 10000, vote_done, r) < 0)
                r->failed++;
}

static bool unary_finished(void *arg)
{
        struct unary_run *r = arg;

        return r->ok + r->failed >= r->target;
}

static void bench_unary(struct net_loop *loop, struct net_channel *ch, long calls, int inflight)
{
        struct unary_run r = { .ch = ch, .target = calls };
        int64_t t0 = net_loop_now_ms(), ms;

        for (int i = 0; i < inflight && r.started < r.target; i++)
                start_vote(&r);
        net_loop_run_until(loop, unary_finished, &r, t0 + 120000);
        ms = net_loop_now_ms() - t0;
        printf("unary RequestVote, %2d in flight: %ld calls in %lld ms = %.0f calls/s"
               " (%ld failed)\n", inflight, r.ok, (long long)ms,
               ms > 0 ? r.ok * 1000.0 / ms : 0.0, r.failed);
}

struct pipe_run {
        long received;
        long out_of_order;
        bool done;
        grpc_status_code code;
};

static void pipe_msg(struct net_stream *st, const struct net_msg *msg, void *user)
{
        struct pipe_run *r = user;
        const Raftgrpc__AppendEntriesPipelineResponse *p = (const void *)msg->pb;

        if (!p->response || p->response->prev_log_entry != (uint64_t)r->received)
                r->out_of_order++;
        r->received++;
}

static void pipe_status(struct net_stream *st, const struct net_result *res, void *user)
{
        struct pipe_run *r = user;

        r->code = res->code;
        r->done = true;
}

static bool pipe_finished(void *arg)
{
        return ((struct pipe_run *)arg)->done;
}

static void bench_pipeline(struct net_loop *loop, struct net_channel *ch, long n)
{
        static const struct net_stream_ops ops = { pipe_msg, pipe_status };
        struct pipe_run r = { 0 };
        Raftgrpc__LogEntry entry = RAFTGRPC__LOG_ENTRY__INIT;
        Raftgrpc__LogEntry *entries[1] = { &entry };
        static uint8_t payload[64];
        struct net_stream *st;
        int64_t t0 = net_loop_now_ms(), ms;

        memset(payload, 'v', sizeof(payload));
        st = net_stream_open(ch, PIPE_PATH,
                             &raftgrpc__append_entries_pipeline_response__descriptor,
                             INT64_MAX, &ops, &r);
        if (!st) {
                printf("pipeline: cannot open the stream\n");
                return;
        }
        entry.data = (ProtobufCBinaryData){ .data = payload, .len = sizeof(payload) };
        for (long i = 0; i < n; i++) {
                Raftgrpc__AppendEntriesRequest req = RAFTGRPC__APPEND_ENTRIES_REQUEST__INIT;

                req.term = 3;
                req.prev_log_entry = (uint64_t)i;
                req.n_entries = 1;
                req.entries = entries;
                entry.index = (uint64_t)i + 1;
                net_stream_send(st, &req.base);
                /* Keep the queue bounded the way a leader would (a window). */
                while (net_stream_queued(st) > 1024 && !r.done)
                        net_loop_run_once(loop, net_loop_now_ms() + 1000);
        }
        net_stream_close_send(st);
        net_loop_run_until(loop, pipe_finished, &r, t0 + 120000);
        ms = net_loop_now_ms() - t0;
        printf("pipeline AppendEntries (1 entry, %zu B data): %ld replies in %lld ms = %.0f msg/s"
               " (status %d, %ld out of order)\n", sizeof(payload), r.received,
               (long long)ms, ms > 0 ? r.received * 1000.0 / ms : 0.0, (int)r.code,
               r.out_of_order);
        net_stream_release(st);
}

int main(int argc, char **argv)
{
        long calls = argc > 1 ? atol(argv[1]) : 20000;
        long msgs = argc > 2 ? atol(argv[2]) : 200000;
        struct server_side s = { .lock = PTHREAD_MUTEX_INITIALIZER,
                                 .cond = PTHREAD_COND_INITIALIZER };
        struct net_loop *loop;
        struct net_channel *ch;
        char target[64];

        s.stop.fn = on_stop;
        if (pthread_create(&s.thread, NULL, server_thread, &s) != 0)
                return 1;
        pthread_mutex_lock(&s.lock);
        while (s.port == 0)
                pthread_cond_wait(&s.cond, &s.lock);
        pthread_mutex_unlock(&s.lock);
        if (s.port < 0) {
                fprintf(stderr, "net_bench: the server did not start\n");
                pthread_join(s.thread, NULL);
                return 1;
        }

        loop = net_loop_new(&logger);
        if (!loop)
                return 1;
        snprintf(target, sizeof(target), "127.0.0.1:%d", s.port);
        ch = net_channel_new(loop, target, NULL);
        if (!ch)
                return 1;
        bench_unary(loop, ch, calls / 10, 1);   /* warm-up: connect, allocate */
        bench_unary(loop, ch, calls, 1);
        bench_unary(loop, ch, calls * 4, 64);
        bench_pipeline(loop, ch, msgs);

        net_channel_free(ch);
        net_loop_free(loop);
        net_loop_post(s.loop, &s.stop);
        pthread_join(s.thread, NULL);
        return 0;
}
