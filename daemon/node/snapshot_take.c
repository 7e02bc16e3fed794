/* daemon/node/snapshot_take.c: taking a snapshot without stalling the loop (redis BGSAVE).
 *
 * Owns: the policy check after applies (raft_should_snapshot on the node's estimate of the
 * log since the newest snapshot and that snapshot's size), Admin.Snapshot's waiting calls,
 * and the writer: the loop only fork()s; the child encodes the state machine, the log tail,
 * the configuration and the vote from its copy of memory, writes the temp file with the
 * snapshot writer (plain storage_io calls), then waits for the parent's word; a thread of
 * the parent waits until every event the file covers is durable (evlog_flush), tells the
 * child to publish, waitpid()s, compacts the log (evlog_compact) and posts to the loop,
 * which calls raft_snapshot_taken().
 * Must never: block the loop on disk I/O or on the child, let the child touch gRPC, the
 * logger or a lock (it computes, writes through storage_io and _exit()s), publish a file
 * before every event it covers is durable, or run two writers at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/node/node_internal.h"
#include "daemon/storage/event_codec.h"
#include "rafktor.pb-c.h"

#define SNAP_MAX_WAITERS 16
#define SNAP_RETRY_AFTER_FAILURE_MS 10000
#define SNAP_EVENT_OVERHEAD 32          /* record header + protobuf framing, estimated */

/* What the child reports, twice: after finish (published = false), after publish. */
struct child_report {
        int rc;
        bool published;
        uint64_t data_len;
        uint64_t file_bytes;
        char err[400];
};

struct snap_take {
        struct node *node;              /* NULL once the node let go: the post frees it */
        struct net_loop *loop;
        struct net_post post;
        bool joined;                    /* snapshot_take_stop() joined the thread */
        struct evlog *evlog;
        pthread_t thread;
        pid_t child;
        pthread_mutex_t reap_lock;      /* a kill() never hits a reaped (reusable) pid */
        bool reaped;
        int sock;                       /* parent's end of the socketpair */
        uint64_t seq;                   /* the file covers events <= seq */
        raft_index_t index;
        raft_term_t term;
        int64_t fork_us;                /* how long fork() held the loop */
        struct timespec started;
        /* Filled by the thread before it posts. */
        int rc;
        char err[512];
        uint64_t file_bytes;
        uint64_t log_bytes;             /* n->log_bytes at fork: what the file covers */
        int64_t write_ms;
        struct net_call *calls[SNAP_MAX_WAITERS];
        size_t n_calls;
};

static int64_t elapsed_us(const struct timespec *a)
{
        struct timespec b;

        clock_gettime(CLOCK_MONOTONIC, &b);
        return (int64_t)(b.tv_sec - a->tv_sec) * 1000000 + (b.tv_nsec - a->tv_nsec) / 1000;
}

/* ---- configuration as of an index, events ------------------------------------------ */

int snapshot_config_at(struct node *n, raft_index_t index, struct raft_config *ret)
{
        struct raft_status st;
        const struct raft_entry *e;

        raft_status(n->raft, &st);
        for (raft_index_t i = index; i >= st.first_index && i > 0; i--) {
                e = raft_log_get(n->raft, i);
                if (!e)
                        break;
                if (e->type == RAFT_ENTRY_CONFIG)
                        return raft_config_decode(e->data, e->len, ret) < 0 ? -EBADMSG : 0;
        }
        return raft_config_copy(&n->snap_config, ret) < 0 ? -ENOMEM : 0;
}

void snapshot_note_event(struct node *n, const struct raft_event *ev)
{
        struct raft_config c;

        if (ev->type != RAFT_EV_SNAPSHOT) {
                n->log_bytes += SNAP_EVENT_OVERHEAD;
                if (ev->type == RAFT_EV_ENTRIES)
                        for (size_t i = 0; i < ev->entries.n; i++)
                                n->log_bytes += ev->entries.entries[i].len +
                                                SNAP_EVENT_OVERHEAD;
                return;
        }
        if (raft_config_copy(&ev->snapshot.config, &c) < 0) {
                log_warning(n->log, "keeping the configuration of snapshot %" PRIu64
                            ": out of memory", (uint64_t)ev->snapshot.index);
                return;
        }
        raft_config_clear(&n->snap_config);
        n->snap_config = c;
}

/* ---- the child ------------------------------------------------------------------------ */

static void report(int sock, const struct child_report *rep)
{
        ssize_t w = send(sock, rep, sizeof(*rep), MSG_NOSIGNAL);

        (void)w;        /* the parent sees a short report as a failure */
}

/* Encodes the log tail (entries > index) as one EntriesAppended payload. */
static int encode_tail(struct node *n, raft_index_t index, uint8_t **buf, size_t *len)
{
        raft_index_t last = raft_last_index(n->raft);
        struct raft_event ev = { .type = RAFT_EV_ENTRIES };
        int r;

        *buf = NULL;
        *len = 0;
        if (last <= index)
                return 0;
        ev.entries.n = last - index;
        ev.entries.entries = calloc(ev.entries.n, sizeof(*ev.entries.entries));
        if (!ev.entries.entries)
                return -ENOMEM;
        for (size_t i = 0; i < ev.entries.n; i++) {
                const struct raft_entry *e = raft_log_get(n->raft, index + 1 + i);

                if (!e) {
                        free(ev.entries.entries);
                        return -ENOENT;
                }
                ev.entries.entries[i] = *e;     /* shallow: event_encode only reads */
        }
        r = event_encode(&ev, buf, len);
        free(ev.entries.entries);
        return r;
}

/* Runs in the fork()ed child: everything it reads is its own copy of the parent's memory. */
static int child_write(struct node *n, struct snap_take *t, struct child_report *rep,
                       struct snapshot_writer **ret_w)
{
        const struct storage_io *io = n->io ? n->io : storage_io_posix();
        struct snapshot_meta meta = { .seq = t->seq, .index = t->index, .term = t->term };
        struct raft_config cfg = { 0 };
        struct snapshot_writer *w = NULL;
        struct storage_error se;
        struct raft_status st;
        uint8_t *data = NULL;
        size_t data_len = 0;
        int r;

        raft_status(n->raft, &st);
        meta.vote_term = st.term;
        snprintf(meta.voted_for, sizeof(meta.voted_for), "%s", st.voted_for);
        r = snapshot_config_at(n, t->index, &cfg);
        if (r < 0) {
                snprintf(rep->err, sizeof(rep->err), "the configuration as of index %" PRIu64
                         " could not be read: %s", (uint64_t)t->index, strerror(-r));
                goto out;
        }
        if (raft_config_encode(&cfg, &meta.config, &meta.config_len) < 0) {
                r = -ENOMEM;
                snprintf(rep->err, sizeof(rep->err), "encoding the configuration failed");
                goto out;
        }
        r = encode_tail(n, t->index, &meta.tail, &meta.tail_len);
        if (r < 0) {
                snprintf(rep->err, sizeof(rep->err), "encoding the log after index %" PRIu64
                         " failed: %s", (uint64_t)t->index, strerror(-r));
                goto out;
        }
        r = kv_snapshot_encode(n->kv, &data, &data_len);
        if (r < 0) {
                snprintf(rep->err, sizeof(rep->err), "encoding the state machine failed: %s",
                         strerror(-r));
                goto out;
        }
        r = snapshot_writer_begin(io, n->cfg->data_dir, n->cfg->id, &w, &se);
        if (r >= 0)
                r = snapshot_writer_append(w, data, data_len, &se);
        if (r >= 0)
                r = snapshot_writer_finish(w, &meta, &se);
        if (r < 0) {
                snprintf(rep->err, sizeof(rep->err), "%.380s", se.msg);
                snapshot_writer_abort(w);
                w = NULL;
                goto out;
        }
        rep->data_len = data_len;
        rep->file_bytes = SNAPSHOT_HEADER_SIZE + meta.config_len + meta.tail_len + data_len;
        *ret_w = w;
out:
        free(data);
        free(meta.config);
        free(meta.tail);
        raft_config_clear(&cfg);
        return r;
}

static _Noreturn void child_main(struct node *n, struct snap_take *t, int sock, pid_t parent)
{
        struct child_report rep = { 0 };
        struct snapshot_writer *w = NULL;
        struct storage_error se;
        char go = 0;

        /* Never outlive the daemon: the child holds its listening sockets and lock. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(2);
        rep.rc = child_write(n, t, &rep, &w);
        report(sock, &rep);
        if (rep.rc < 0)
                _exit(1);
        /* The parent says 'p' once every event <= seq is durable; anything else aborts. */
        if (recv(sock, &go, 1, 0) != 1 || go != 'p') {
                snapshot_writer_abort(w);
                _exit(1);
        }
        rep.rc = snapshot_writer_publish(w, &se);
        rep.published = rep.rc >= 0;
        if (rep.rc < 0)
                snprintf(rep.err, sizeof(rep.err), "%.380s", se.msg);
        report(sock, &rep);
        _exit(rep.rc < 0 ? 1 : 0);
}

/* ---- the parent's thread --------------------------------------------------------------- */

static int read_report(struct snap_take *t, struct child_report *rep, const char *when)
{
        ssize_t got = recv(t->sock, rep, sizeof(*rep), MSG_WAITALL);

        if (got != (ssize_t)sizeof(*rep)) {
                snprintf(t->err, sizeof(t->err), "the snapshot writer (pid %ld) ended %s "
                         "without a report", (long)t->child, when);
                return -EPIPE;
        }
        rep->err[sizeof(rep->err) - 1] = '\0';
        if (rep->rc < 0)
                snprintf(t->err, sizeof(t->err), "%s", rep->err);
        return rep->rc;
}

static void *take_thread(void *arg)
{
        struct snap_take *t = arg;
        struct child_report rep = { 0 };
        struct storage_error se;
        char go = 'a';
        int status = 0, r;

        r = read_report(t, &rep, "before writing the file");
        if (r >= 0) {
                r = evlog_flush(t->evlog, t->seq);
                if (r < 0)
                        snprintf(t->err, sizeof(t->err), "the events up to %" PRIu64 " did not "
                                 "become durable (%s); the snapshot is not published", t->seq,
                                 strerror(-r));
                else
                        go = 'p';
        }
        if (send(t->sock, &go, 1, MSG_NOSIGNAL) != 1 && r >= 0) {
                r = -EPIPE;
                snprintf(t->err, sizeof(t->err), "the snapshot writer (pid %ld) went away",
                         (long)t->child);
        }
        if (r >= 0)
                r = read_report(t, &rep, "before publishing the file");
        /* Wait for the exit without reaping, then reap under the lock kill() takes. */
        while (waitid(P_PID, (id_t)t->child, &(siginfo_t){ 0 }, WEXITED | WNOWAIT) < 0 &&
               errno == EINTR)
                ;
        pthread_mutex_lock(&t->reap_lock);
        while (waitpid(t->child, &status, 0) < 0 && errno == EINTR)
                ;
        t->reaped = true;
        pthread_mutex_unlock(&t->reap_lock);
        if (r >= 0) {
                t->file_bytes = rep.file_bytes;
                r = evlog_compact(t->evlog, t->seq, &se);
                if (r < 0) {
                        /* The snapshot stands; only the old files stay. */
                        snprintf(t->err, sizeof(t->err), "compacting after the snapshot: %.380s",
                                 se.msg);
                        r = 0;
                }
        } else if (WIFSIGNALED(status) && !t->err[0]) {
                snprintf(t->err, sizeof(t->err), "the snapshot writer (pid %ld) was killed by "
                         "signal %d", (long)t->child, WTERMSIG(status));
        }
        t->rc = r;
        t->write_ms = elapsed_us(&t->started) / 1000;
        /* The loop is gone only after node_free(), which joined this thread first. */
        (void)net_loop_post(t->loop, &t->post);
        return NULL;
}

/* ---- the loop ------------------------------------------------------------------------- */

static void answer_calls(struct node *n, struct snap_take *t)
{
        Rafktor__V1__SnapshotResponse resp = RAFKTOR__V1__SNAPSHOT_RESPONSE__INIT;
        Rafktor__V1__ResponseHeader h = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        struct raft_status st;

        for (size_t i = 0; i < t->n_calls; i++) {
                if (t->rc < 0) {
                        net_call_finish(t->calls[i], GRPC_STATUS_INTERNAL, "the snapshot of "
                                        "index %" PRIu64 " failed: %s", (uint64_t)t->index,
                                        t->err);
                        continue;
                }
                node_response_header(n, &st, &h);
                resp.header = &h;
                resp.index = t->index;
                resp.term = t->term;
                resp.size_bytes = t->file_bytes;
                net_call_reply(t->calls[i], &resp.base);
        }
        t->n_calls = 0;
}

static void take_free(struct snap_take *t)
{
        if (t->sock >= 0)
                close(t->sock);
        pthread_mutex_destroy(&t->reap_lock);
        free(t);
}

static void take_done(struct net_post *post, bool run)
{
        struct snap_take *t = net_container_of(post, struct snap_take, post);
        struct node *n = t->node;
        char idx[24], bytes[24], ms[24], pause[24];
        int r;

        if (!t->joined)
                pthread_join(t->thread, NULL);
        t->joined = true;
        if (!n || !run) {
                take_free(t);
                return;
        }
        n->snap_take = NULL;
        if (t->rc < 0) {
                n->snap_retry_ms = node_now(n) + SNAP_RETRY_AFTER_FAILURE_MS;
                log_error(n->log, "%s: snapshot of index %" PRIu64 " failed after %" PRId64
                          " ms: %s", n->cfg->id, (uint64_t)t->index, t->write_ms, t->err);
                answer_calls(n, t);
                take_free(t);
                return;
        }
        if (t->err[0])
                log_warning(n->log, "%s", t->err);
        n->snap_bytes = t->file_bytes;
        /* What was logged since the fork stays counted. */
        n->log_bytes = n->log_bytes > t->log_bytes ? n->log_bytes - t->log_bytes : 0;
        snprintf(idx, sizeof(idx), "%" PRIu64, (uint64_t)t->index);
        snprintf(bytes, sizeof(bytes), "%" PRIu64, t->file_bytes);
        snprintf(ms, sizeof(ms), "%" PRId64, t->write_ms);
        snprintf(pause, sizeof(pause), "%" PRId64, t->fork_us);
        log_struct(n->log, LOG_INFO,
                   LOG_FIELDS({ "SNAPSHOT_INDEX", idx }, { "SNAPSHOT_BYTES", bytes },
                              { "SNAPSHOT_WRITE_MS", ms }, { "SNAPSHOT_FORK_US", pause }),
                   "%s: snapshot of index %" PRIu64 " (term %" PRIu64 ", events <= %" PRIu64
                   ") written: %" PRIu64 " bytes in %" PRId64 " ms, the loop paused %" PRId64
                   ".%03" PRId64 " ms for fork()", n->cfg->id, (uint64_t)t->index,
                   (uint64_t)t->term, t->seq, t->file_bytes, t->write_ms, t->fork_us / 1000,
                   t->fork_us % 1000);
        if (!n->stopped) {
                r = raft_snapshot_taken(n->raft, (raft_time_t)node_now(n), t->index, &n->out);
                /* RAFT_ESTATE: an installed snapshot covers it already; the file is fine. */
                if (r != RAFT_ESTATE)
                        node_after_input(n, r, "raft_snapshot_taken");
        }
        answer_calls(n, t);
        take_free(t);
}

int snapshot_take_start(struct node *n, struct net_call *admin_call, char *why, size_t len)
{
        struct raft_status st;
        struct snap_take *t;
        const struct raft_entry *e;
        int sv[2];
        pid_t pid;
        int r;

        if (n->snap_take) {
                t = n->snap_take;
                if (admin_call && t->n_calls >= SNAP_MAX_WAITERS) {
                        snprintf(why, len, "%d snapshot requests are already waiting",
                                 SNAP_MAX_WAITERS);
                        return -EBUSY;
                }
                if (admin_call)
                        t->calls[t->n_calls++] = admin_call;
                return 0;
        }
        if (snapshot_recv_writing(n)) {
                snprintf(why, len, "a snapshot received from the leader is being installed");
                return -EAGAIN;
        }
        if (n->stopped || !n->started || !n->evlog) {
                snprintf(why, len, "node %s is not running", n->cfg->id);
                return -ESHUTDOWN;
        }
        raft_status(n->raft, &st);
        if (st.storage_failed || n->storage_failed) {
                snprintf(why, len, "the event log failed: %s", n->storage_error);
                return -EIO;
        }
        if (st.applied_index == 0 || st.applied_index <= st.snapshot_index) {
                snprintf(why, len, "nothing was applied since the last snapshot (index %" PRIu64
                         ")", (uint64_t)st.snapshot_index);
                return -EALREADY;
        }
        if (kv_applied_index(n->kv) != st.applied_index) {
                snprintf(why, len, "the state machine is at index %" PRIu64 ", the core at %"
                         PRIu64 "; try again", kv_applied_index(n->kv),
                         (uint64_t)st.applied_index);
                return -EAGAIN;
        }
        e = raft_log_get(n->raft, st.applied_index);
        if (!e) {
                snprintf(why, len, "entry %" PRIu64 " is not in the log",
                         (uint64_t)st.applied_index);
                return -ENOENT;
        }
        t = calloc(1, sizeof(*t));
        if (!t) {
                snprintf(why, len, "out of memory");
                return -ENOMEM;
        }
        pthread_mutex_init(&t->reap_lock, NULL);
        t->node = n;
        t->loop = n->loop;
        t->evlog = n->evlog;
        t->post.fn = take_done;
        t->seq = st.last_seq;
        t->log_bytes = n->log_bytes;
        t->index = st.applied_index;
        t->term = e->term;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                r = -errno;
                snprintf(why, len, "socketpair for the snapshot writer: %s", strerror(errno));
                free(t);
                return r;
        }
        clock_gettime(CLOCK_MONOTONIC, &t->started);
        pid = fork();
        if (pid == 0) {
                close(sv[0]);
                child_main(n, t, sv[1], getppid());
        }
        t->fork_us = elapsed_us(&t->started);
        close(sv[1]);
        t->sock = sv[0];
        if (pid < 0) {
                r = -errno;
                snprintf(why, len, "fork for the snapshot writer: %s", strerror(errno));
                take_free(t);
                return r;
        }
        t->child = pid;
        r = pthread_create(&t->thread, NULL, take_thread, t);
        if (r != 0) {
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                snprintf(why, len, "starting the snapshot thread: %s", strerror(r));
                take_free(t);
                return -r;
        }
        if (admin_call)
                t->calls[t->n_calls++] = admin_call;
        n->snap_take = t;
        log_info(n->log, "%s: writing a snapshot of index %" PRIu64 " (events <= %" PRIu64
                 ", %zu keys) in pid %ld; fork() took %" PRId64 " us", n->cfg->id,
                 (uint64_t)t->index, t->seq, kv_count(n->kv), (long)pid, t->fork_us);
        return 0;
}

void snapshot_take_maybe(struct node *n)
{
        char why[256];
        int r;

        if (n->snap_take || n->stopped || !n->started || node_now(n) < n->snap_retry_ms)
                return;
        if (!raft_should_snapshot(n->raft, n->log_bytes, n->snap_bytes))
                return;
        r = snapshot_take_start(n, NULL, why, sizeof(why));
        if (r < 0 && r != -EALREADY && r != -EAGAIN) {
                n->snap_retry_ms = node_now(n) + SNAP_RETRY_AFTER_FAILURE_MS;
                log_warning(n->log, "%s: no snapshot taken: %s", n->cfg->id, why);
        }
}

void snapshot_take_stop(struct node *n)
{
        struct snap_take *t = n->snap_take;

        if (!t)
                return;
        n->snap_take = NULL;
        pthread_mutex_lock(&t->reap_lock);
        if (!t->reaped)
                kill(t->child, SIGKILL);
        pthread_mutex_unlock(&t->reap_lock);
        /* The thread ends soon once the child is gone (it uses the event log, which
         * node_free() closes next); its post then only frees t. */
        pthread_join(t->thread, NULL);
        t->joined = true;
        t->node = NULL;
        for (size_t i = 0; i < t->n_calls; i++)
                net_call_finish(t->calls[i], GRPC_STATUS_UNAVAILABLE, "node is shutting down");
        t->n_calls = 0;
}
