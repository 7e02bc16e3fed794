/* daemon/node/node.c: the node's life cycle and the effect runner.
 *
 * Owns: opening the data dir (its replay is node_recovery.c's), bootstrap, the tick timer, the
 * storage thread's wake-up, and carrying out the core's effects in order after every input
 * (PERSIST -> evlog, SEND -> peers, APPLY -> kv + kv_service, READ_READY, FAIL -> kv_service,
 * FORWARD -> forward.c, ROLE -> log + forward.c + callback). Must never block the loop after
 * node_new(), call the core from any thread but the loop's, or let an effect be skipped
 * silently.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon/node/node_internal.h"
#include "daemon/storage/event_codec.h"

int64_t node_now(const struct node *n)
{
        (void)n;
        return net_loop_now_ms();
}

/* Effects the output keeps room for between inputs (208 bytes each). */
#define NODE_OUT_KEEP 4096
/* Committed entries handed out per output (raft_options.apply_batch): a restarted or
 * lagging member that learns of a million committed entries applies them a batch per
 * turn of the loop, never holding them all as effects, and keeps serving in between. */
#define NODE_APPLY_BATCH (NODE_OUT_KEEP / 4)

/* ---- the storage thread's wake-up ------------------------------------------------------ */

static void storage_check(struct node *n)
{
        char msg[400];
        int code;
        int r;

        if (!n->evlog || n->stopped)
                return;
        code = evlog_error(n->evlog, msg, sizeof(msg));
        if (code != 0 && (!n->storage_failed || code != n->storage_code)) {
                bool was_failed = n->storage_failed;

                /* -ENOSPC: the storage thread retries by itself (evlog.h); anything else
                 * is fatal (a disk that lost data): only a restart after repair helps. */
                n->storage_failed = true;
                n->storage_code = code;
                if (code == -ENOSPC)
                        snprintf(n->storage_error, sizeof(n->storage_error),
                                 "disk full: the data directory %s has no space left; writes "
                                 "resume by themselves once space is freed (%s)",
                                 n->cfg->data_dir, msg);
                else
                        snprintf(n->storage_error, sizeof(n->storage_error), "%s", msg);
                log_error_errno(n->log, code, "%s stops acknowledging writes: its event log "
                                "failed (%m): %s", n->cfg->id, n->storage_error);
                if (!was_failed) {
                        r = raft_storage_failed(n->raft, node_now(n), n->storage_error,
                                                &n->out);
                        node_after_input(n, r, "raft_storage_failed");
                }
                if (n->cb.on_storage_error)
                        n->cb.on_storage_error(n->cb.user, code, n->storage_error);
        } else if (code == 0 && n->storage_failed && n->storage_code == -ENOSPC) {
                /* Space was freed and the storage thread wrote everything it held: the
                 * events the core handed out while failed were kept (persist()), so the
                 * core may vote, acknowledge and lead again (raft_storage_recovered). */
                n->storage_failed = false;
                n->storage_code = 0;
                n->storage_error[0] = '\0';
                log_notice(n->log, "%s: space freed in %s, the event log is written again; "
                           "acknowledging writes again", n->cfg->id, n->cfg->data_dir);
                r = raft_storage_recovered(n->raft, node_now(n), &n->out);
                node_after_input(n, r, "raft_storage_recovered");
        }
        r = raft_persisted(n->raft, node_now(n), evlog_durable(n->evlog), &n->out);
        node_after_input(n, r, "raft_persisted");
}

static void wake_run(struct net_post *post, bool run)
{
        struct node_wake *w = net_container_of(post, struct node_wake, post);

        /* Clear first: a durable report after this point posts again. */
        atomic_store(&w->pending, false);
        if (!w->node) {
                free(w);
                return;
        }
        if (run)
                storage_check(w->node);
}

static void wake_post(struct node_wake *w)
{
        if (atomic_exchange(&w->pending, true))
                return;
        if (net_loop_post(w->loop, &w->post) < 0)
                atomic_store(&w->pending, false);
}

static void on_durable(void *userdata, uint64_t durable)
{
        (void)durable;
        wake_post(userdata);
}

static void on_storage_error(void *userdata, int code, const char *msg)
{
        (void)code;
        (void)msg;
        wake_post(userdata);
}

static void evlog_log(void *userdata, enum evlog_level level, const char *msg)
{
        struct node_wake *w = userdata;

        /* Any thread: the logger is thread-safe, the node is not touched. */
        log_full(w->node ? w->node->log : NULL, (int)level, "%s", msg);
}

/* ---- effects ----------------------------------------------------------------------------- */

static void persist(struct node *n, const struct raft_event *ev)
{
        uint8_t *buf = NULL;
        size_t len = 0;
        char why[200];
        int r;

        /* A full disk keeps taking events (evlog holds them until space is freed): the
         * core's sequence numbers must stay contiguous for raft_storage_recovered. */
        if (n->storage_failed && n->storage_code != -ENOSPC)
                return;
        r = event_encode(ev, &buf, &len);
        if (r >= 0)
                r = evlog_append(n->evlog, ev->seq, (uint8_t)ev->type, buf, len);
        free(buf);
        if (r >= 0)
                return;
        snprintf(why, sizeof(why), "appending event %llu (type %d) to %s failed: %s",
                 (unsigned long long)ev->seq, (int)ev->type, n->cfg->data_dir, strerror(-r));
        log_error(n->log, "%s", why);
        snprintf(n->storage_error, sizeof(n->storage_error), "%s", why);
        n->storage_code = r;
        if (!n->storage_failed) {
                n->storage_failed = true;
                /* Appends its effects to n->out: the runner's loop carries them out next. */
                r = raft_storage_failed(n->raft, node_now(n), why, &n->out);
                if (r < 0)
                        log_error(n->log, "raft_storage_failed: %s", raft_rc_str(r));
        }
        if (n->cb.on_storage_error)
                n->cb.on_storage_error(n->cb.user, n->storage_code, why);
}

static void apply(struct node *n, uint64_t handle, const struct raft_entry *e)
{
        uint8_t *reply = NULL;
        size_t len = 0;
        int r;

        /* Nobody waits (replay, catch-up, a follower): no reply is encoded. */
        r = handle ? kv_apply(n->kv, e, &reply, &len) : kv_apply(n->kv, e, NULL, NULL);
        if (r < 0) {
                /* Deterministic refusals are encoded in the reply; this is ENOMEM or an
                 * out-of-order entry, which no retry here can fix. */
                log_error_errno(n->log, r, "applying entry %llu (term %llu) failed: %m",
                                (unsigned long long)e->index, (unsigned long long)e->term);
                if (handle)
                        kv_service_fail(n, handle, RAFT_FAIL_STORAGE,
                                        "the state machine could not apply the entry");
                return;
        }
        if (handle)
                kv_service_apply(n, handle, reply, len);
        free(reply);
}

static void role_changed(struct node *n, const struct raft_effect *fx)
{
        char term[24];
        struct raft_status st;

        snprintf(term, sizeof(term), "%llu", (unsigned long long)fx->role.term);
        log_set_raft_state(n->log, fx->role.term, raft_role_str(fx->role.role));
        /* Forwards pending to a former leader go back to the core (forward.c). */
        forward_leader_changed(n, fx->role.leader);
        log_struct(n->log, LOG_INFO,
                   LOG_FIELDS({ "RAFT_LEADER", fx->role.leader[0] ? fx->role.leader : "-" }),
                   "%s: %s in term %s, leader %s", n->cfg->id, raft_role_str(fx->role.role),
                   term, fx->role.leader[0] ? fx->role.leader : "unknown");
        if (!n->cb.on_role)
                return;
        raft_status(n->raft, &st);
        n->cb.on_role(n->cb.user, &(struct node_role_info){
                                          .role = fx->role.role,
                                          .term = fx->role.term,
                                          .leader = fx->role.leader,
                                          .commit_index = st.commit_index,
                                  });
}

static void run_effect(struct node *n, const struct raft_effect *fx)
{
        /* A membership change's answer (admin_member.c); its entry is applied first. */
        if (fx->handle && admin_member_owns(n, fx->handle)) {
                if (fx->type == RAFT_FX_APPLY)
                        apply(n, 0, &fx->entry);
                admin_member_effect(n, fx);
                return;
        }
        switch (fx->type) {
        case RAFT_FX_PERSIST:
                persist(n, &fx->event);
                snapshot_note_event(n, &fx->event);
                break;
        case RAFT_FX_SEND_SNAPSHOT:
                snapshot_send_start(n, fx);
                break;
        case RAFT_FX_RESTORE:
                snapshot_recv_restore(n, fx);
                break;
        case RAFT_FX_SNAPSHOT_REPLY:
                snapshot_recv_reply(n, fx);
                break;
        case RAFT_FX_SEND:
                peers_send(n, &fx->msg);
                break;
        case RAFT_FX_APPLY:
                apply(n, fx->handle, &fx->entry);
                break;
        case RAFT_FX_READ_READY:
                kv_service_read_ready(n, fx->handle);
                break;
        case RAFT_FX_FORWARD:
                forward_start(n, fx->handle, fx->forward.leader);
                break;
        case RAFT_FX_FAIL:
                kv_service_fail(n, fx->handle, fx->fail.fail, fx->fail.reason);
                break;
        case RAFT_FX_ROLE:
                role_changed(n, fx);
                break;
        default:
                log_warning(n->log, "unknown effect type %d ignored", (int)fx->type);
                break;
        }
}

static void on_tick(struct net_timer *t, void *user)
{
        struct node *n = user;
        int r;

        (void)t;
        r = raft_tick(n->raft, node_now(n), &n->out);
        node_after_input(n, r, "raft_tick");
}

/* Before the loop sleeps (no completion ready): one AppendEntries per peer carries every
 * entry proposed during this turn (options.hold_replication). */
static void on_idle(struct net_idle *idle, void *user)
{
        struct node *n = user;
        int r;

        (void)idle;
        if (!n->started || n->stopped || n->in_effects)
                return;
        r = raft_flush(n->raft, node_now(n), &n->out);
        if (r < 0 || n->out.n > 0)
                node_after_input(n, r, "raft_flush");
        /* More committed entries wait (NODE_APPLY_BATCH): turn the loop once more
         * instead of sleeping, so whatever arrived meanwhile is served first. */
        if (!n->stopped && raft_apply_pending(n->raft))
                wake_post(n->wake);
}

void node_after_input(struct node *n, int rc, const char *what)
{
        bool applied = false;

        if (rc < 0)
                log_warning(n->log, "%s failed: %s", what, raft_rc_str(rc));
        /* An effect that feeds the core again (a failed append) appends to n->out; the
         * outer runner picks those up, so never run effects twice on the stack. */
        if (n->in_effects)
                return;
        n->in_effects = true;
        for (size_t i = 0; i < n->out.n; i++) {
                applied |= n->out.effects[i].type == RAFT_FX_APPLY;
                run_effect(n, &n->out.effects[i]);
        }
        if (n->out.cap > NODE_OUT_KEEP) {
                /* A catch-up applied many entries in one input: give the array back. */
                raft_output_free(&n->out);
                raft_output_init(&n->out);
        } else {
                raft_output_reset(&n->out);
        }
        n->in_effects = false;
        if (applied && n->cb.on_commit && !n->stopped)
                n->cb.on_commit(n->cb.user);
        if (applied && !n->stopped)
                snapshot_take_maybe(n);
        if (n->started && !n->stopped)
                peers_reconcile(n);
        if (n->started && !n->stopped)
                net_timer_start(n->loop, &n->tick, (int64_t)raft_next_deadline(n->raft),
                                on_tick, n);
}

void node_response_header(const struct node *n, struct raft_status *st,
                          Rafktor__V1__ResponseHeader *h)
{
        raft_status(n->raft, st);
        h->member_id = (char *)n->cfg->id;
        h->term = st->term;
        h->applied_index = kv_applied_index(n->kv);
        h->leader_id = st->leader;
}

static uint64_t seed_of(const struct node_options *o)
{
        uint64_t s = o->seed ? o->seed : (uint64_t)net_loop_now_ms() * 0x9E3779B97F4A7C15ull;

        for (const char *p = o->config->id; *p; p++)
                s = (s ^ (uint8_t)*p) * 0x100000001B3ull;
        return s ? s : 1;
}

static int open_log(struct node *n, char *err, size_t err_len)
{
        struct evlog_options eo = {
                .dir = n->cfg->data_dir,
                .node_id = n->cfg->id,
                .io = n->io,
                .segment_size = n->cfg->segment_size,
                .userdata = n->wake,
                .log = evlog_log,
                .on_durable = on_durable,
                .on_error = on_storage_error,
        };

        return node_recover(n, &eo, err, err_len);
}

int node_new(const struct node_options *opts, struct node **ret, char *err, size_t err_len)
{
        struct raft_options ro;
        struct kv_options ko;
        struct node *n;
        int r;

        if (!opts || !opts->config || !opts->loop || !ret) {
                snprintf(err, err_len, "node_new: config and loop are required");
                return -EINVAL;
        }
        n = calloc(1, sizeof(*n));
        if (!n)
                goto oom;
        n->cfg = opts->config;
        n->io = opts->io;
        n->loop = opts->loop;
        n->log = opts->log;
        n->cb = opts->callbacks;
        snprintf(n->version, sizeof(n->version), "%s", opts->version ? opts->version
                                                                      : PACKAGE_VERSION);
        n->started_ms = net_loop_now_ms();
        n->next_handle = 1;
        raft_output_init(&n->out);
        LIST_INIT(&n->out_calls);
        RB_INIT(&n->reqs);
        TAILQ_INIT(&n->forwarding);
        TAILQ_INIT(&n->parked);
        LIST_INIT(&n->member_reqs);

        raft_options_default(&ro, n->cfg->id, seed_of(opts));
        ro.election_min_ms = n->cfg->election_timeout_min_ms;
        ro.election_max_ms = n->cfg->election_timeout_max_ms;
        ro.heartbeat_ms = n->cfg->heartbeat_ms;
        ro.disable_auto_promote = n->cfg->disable_auto_promote;
        ro.catchup_rounds = n->cfg->catchup_rounds;
        ro.hold_replication = true;     /* on_idle() flushes: batched AppendEntries */
        ro.apply_batch = NODE_APPLY_BATCH; /* on_idle() asks for the rest */
        /* 0 (a config built by hand, as in tests): the core's defaults. */
        if (n->cfg->snapshot_percent)
                ro.snapshot_percent = n->cfg->snapshot_percent;
        if (n->cfg->snapshot_min_bytes)
                ro.snapshot_min_bytes = n->cfg->snapshot_min_bytes;
        ro.snapshot_trailing = n->cfg->snapshot_trailing;
        if (n->cfg->max_message_size > 0 && n->cfg->max_message_size / 2 < ro.max_batch_bytes)
                ro.max_batch_bytes = n->cfg->max_message_size / 2;
        r = raft_new(&ro, &n->raft);
        if (r < 0) {
                snprintf(err, err_len, "creating the Raft core failed: %s", raft_rc_str(r));
                r = r == RAFT_ENOMEM ? -ENOMEM : -EINVAL;
                goto fail;
        }
        kv_options_default(&ko);
        if (n->cfg->session_ttl_ms)
                ko.session_ttl_ms = n->cfg->session_ttl_ms;
        r = kv_new(&ko, &n->kv);
        if (r < 0) {
                snprintf(err, err_len, "creating the key-value store failed: %s", strerror(-r));
                goto fail;
        }
        n->wake = calloc(1, sizeof(*n->wake));
        if (!n->wake)
                goto oom;
        n->wake->loop = n->loop;
        n->wake->node = n;
        n->wake->post.fn = wake_run;
        atomic_init(&n->wake->pending, false);

        r = open_log(n, err, err_len);
        if (r < 0)
                goto fail;

        raft_service_methods(n, &n->methods[NODE_M_APPEND]);
        kv_service_methods(n, &n->methods[NODE_M_PUT]);
        admin_service_methods(n, &n->methods[NODE_M_STATUS]);
        *ret = n;
        return 0;
oom:
        snprintf(err, err_len, "node_new: out of memory");
        r = -ENOMEM;
fail:
        if (n) {
                free(n->wake);
                kv_free(n->kv);
                raft_config_clear(&n->snap_config);
                raft_free(n->raft);
                raft_output_free(&n->out);
                free(n);
        }
        return r;
}

void node_methods(struct node *n, const struct net_method **ret, size_t *ret_n)
{
        *ret = n->methods;
        *ret_n = _NODE_M_MAX;
}

static int bootstrap(struct node *n, char *err, size_t err_len)
{
        struct raft_config c = { .n = n->cfg->n_peers };
        int r;

        c.servers = calloc(c.n ? c.n : 1, sizeof(*c.servers));
        if (!c.servers) {
                snprintf(err, err_len, "bootstrap: out of memory");
                return -ENOMEM;
        }
        for (size_t i = 0; i < c.n; i++) {
                snprintf(c.servers[i].id, sizeof(c.servers[i].id), "%s", n->cfg->peers[i].id);
                snprintf(c.servers[i].address, sizeof(c.servers[i].address), "%s",
                         n->cfg->peers[i].address);
                c.servers[i].voter = true;
        }
        r = raft_bootstrap(n->raft, &c, node_now(n), &n->out);
        free(c.servers);
        if (r < 0) {
                snprintf(err, err_len, "bootstrapping from the %zu configured peers failed: %s",
                         n->cfg->n_peers, raft_rc_str(r));
                return -EINVAL;
        }
        log_info(n->log, "%s: new cluster member, bootstrapped with %zu peers", n->cfg->id,
                 n->cfg->n_peers);
        return 0;
}

int node_start(struct node *n, char *err, size_t err_len)
{
        int r;

        if (n->started || n->stopped) {
                snprintf(err, err_len, "node_start: already started or stopped");
                return -EALREADY;
        }
        log_set_node_id(n->log, n->cfg->id);
        if (raft_last_index(n->raft) == 0 && !n->cfg->join) {
                r = bootstrap(n, err, err_len);
                if (r < 0)
                        return r;
        }
        r = raft_start(n->raft, node_now(n), &n->out);
        if (r < 0) {
                raft_output_reset(&n->out);
                snprintf(err, err_len, "starting the Raft core failed: %s", raft_rc_str(r));
                return -EINVAL;
        }
        n->started = true;
        net_idle_add(n->loop, &n->idle, on_idle, n);
        node_after_input(n, r, "raft_start");
        log_info(n->log, "%s: started, last log index %llu", n->cfg->id,
                 (unsigned long long)raft_last_index(n->raft));
        return 0;
}

void node_stop(struct node *n)
{
        if (!n || n->stopped)
                return;
        n->stopped = true;
        net_timer_cancel(n->loop, &n->tick);
        net_idle_remove(n->loop, &n->idle);
        snapshot_take_stop(n);
        snapshot_send_stop(n);
        snapshot_recv_stop(n);
        kv_service_stop(n);
        admin_member_stop(n);
        peers_stop(n);
        raft_output_reset(&n->out);
}

void node_free(struct node *n)
{
        int r;

        if (!n)
                return;
        node_stop(n);
        if (n->evlog) {
                r = evlog_close(n->evlog);
                if (r < 0)
                        log_warning_errno(n->log, r, "closing the event log of %s: %m",
                                          n->cfg->data_dir);
        }
        /* The storage thread is gone: only the loop thread sees the wake-up now. */
        if (atomic_load(&n->wake->pending))
                n->wake->node = NULL;   /* the queued post frees it */
        else
                free(n->wake);
        peers_free(n);
        kv_free(n->kv);
        raft_config_clear(&n->snap_config);
        raft_free(n->raft);
        raft_output_free(&n->out);
        free(n);
}

void node_raft_status(const struct node *n, struct raft_status *ret)
{
        raft_status(n->raft, ret);
}

const char *node_id(const struct node *n)
{
        return n->cfg->id;
}

const char *node_storage_error(const struct node *n)
{
        return n->storage_error;
}
