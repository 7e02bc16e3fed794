/* daemon/node/node_recovery.c: a node's state from its data directory at start.
 *
 * Owns: opening the event log and replaying it into the core: the newest snapshot file
 * (the state machine, the core's base, term and vote, log tail; docs/storage-format.md),
 * then every event after it, and the refusal to start when a SnapshotTaken event names a
 * snapshot file that is not there. Must never start the core, send, or touch the loop:
 * it runs inside node_new(), before anything else does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon/node/node_internal.h"
#include "daemon/storage/event_codec.h"

struct replay_ctx {
        struct raft *raft;
        char *err;
        size_t err_len;
        struct node *node;
        uint64_t base_seq;              /* the snapshot file loaded, 0: none */
        raft_index_t base_index;
};

/* The newest snapshot file (contract: docs/storage-format.md): the state machine, then the
 * core's base (index, term, configuration), its term and vote, and its log tail. */
static int replay_snapshot(void *ud, const struct snapshot_meta *meta, const uint8_t *data,
                           size_t len)
{
        struct replay_ctx *c = ud;
        struct node *n = c->node;
        struct raft_event tail = { .type = 0 };
        struct raft_config cfg = { 0 };
        struct kv_options ko;
        struct kv *kv = NULL;
        char why[256];
        int r;

        kv_options_default(&ko);
        if (n->cfg->session_ttl_ms)
                ko.session_ttl_ms = n->cfg->session_ttl_ms;
        r = kv_snapshot_decode(data, len, &ko, &kv, why, sizeof(why));
        if (r < 0) {
                snprintf(c->err, c->err_len, "the snapshot of event %llu in %s: its state "
                         "machine does not decode: %s", (unsigned long long)meta->seq,
                         n->cfg->data_dir, why);
                return r;
        }
        if (raft_config_decode(meta->config, meta->config_len, &cfg) < 0) {
                snprintf(c->err, c->err_len, "the snapshot of event %llu in %s: its "
                         "configuration does not decode", (unsigned long long)meta->seq,
                         n->cfg->data_dir);
                r = -EBADMSG;
                goto out;
        }
        if (meta->tail_len > 0) {
                r = event_decode(meta->seq, RAFT_EV_ENTRIES, meta->tail, meta->tail_len, &tail);
                if (r < 0) {
                        snprintf(c->err, c->err_len, "the snapshot of event %llu in %s: its "
                                 "log tail does not decode: %s", (unsigned long long)meta->seq,
                                 n->cfg->data_dir, strerror(-r));
                        goto out;
                }
        }
        r = raft_replay_base(c->raft, meta->seq, meta->index, meta->term, &cfg);
        if (r >= 0)
                r = raft_replay_base_vote(c->raft, meta->vote_term, meta->voted_for);
        if (r >= 0 && tail.type == RAFT_EV_ENTRIES)
                r = raft_replay_base_entries(c->raft, tail.entries.entries, tail.entries.n);
        if (r < 0) {
                snprintf(c->err, c->err_len, "the snapshot of event %llu (index %llu) in %s "
                         "does not fit the core: %s", (unsigned long long)meta->seq,
                         (unsigned long long)meta->index, n->cfg->data_dir, raft_rc_str(r));
                r = -EBADMSG;
                goto out;
        }
        /* Entries the snapshot covers are gone: the core learns their latest stamp, so a
         * leader never stamps below what the state machine already applied. */
        if (r >= 0)
                r = raft_time_floor(c->raft, kv_clock_ms(kv));
        if (r < 0) {
                snprintf(c->err, c->err_len, "raft_time_floor: %s", raft_rc_str(r));
                goto out;
        }
        kv_free(n->kv);
        n->kv = kv;
        kv = NULL;
        raft_config_clear(&n->snap_config);
        n->snap_config = cfg;
        cfg = (struct raft_config){ 0 };
        c->base_seq = meta->seq;
        c->base_index = meta->index;
        log_info(n->log, "%s: loaded the snapshot of index %llu (event %llu, %zu keys, %zu "
                 "log entries after it)", n->cfg->id, (unsigned long long)meta->index,
                 (unsigned long long)meta->seq, kv_count(n->kv),
                 tail.type == RAFT_EV_ENTRIES ? tail.entries.n : (size_t)0);
        r = 0;
out:
        if (tail.type == RAFT_EV_ENTRIES)
                raft_event_clear(&tail);
        raft_config_clear(&cfg);
        kv_free(kv);
        return r;
}

static int replay_event(void *ud, uint64_t seq, uint8_t type, const uint8_t *payload,
                        size_t len)
{
        struct replay_ctx *c = ud;
        struct raft_event ev;
        int r;

        r = event_decode(seq, type, payload, len, &ev);
        if (r < 0) {
                snprintf(c->err, c->err_len, "event %llu (type %u) does not decode: %s",
                         (unsigned long long)seq, type, strerror(-r));
                return r;
        }
        /* A SnapshotTaken beyond the file loaded: that file is missing (contract 1). */
        if (ev.type == RAFT_EV_SNAPSHOT && (c->base_seq == 0 ||
                                            ev.snapshot.index > c->base_index)) {
                snprintf(c->err, c->err_len, "event %llu (SnapshotTaken, index %llu) refers to "
                         "a snapshot file that is missing from %s (%s); refusing to start "
                         "without it", (unsigned long long)seq,
                         (unsigned long long)ev.snapshot.index, c->node->cfg->data_dir,
                         c->base_seq ? "the newest there is older" : "there is none");
                raft_event_clear(&ev);
                return -ENOENT;
        }
        r = raft_replay(c->raft, &ev);
        raft_event_clear(&ev);
        if (r < 0) {
                snprintf(c->err, c->err_len, "replaying event %llu (type %u) failed: %s",
                         (unsigned long long)seq, type, raft_rc_str(r));
                return r == RAFT_ENOMEM ? -ENOMEM : -EBADMSG;
        }
        return 0;
}

int node_recover(struct node *n, const struct evlog_options *eo, char *err, size_t err_len)
{
        struct replay_ctx rc = { .raft = n->raft, .err = err, .err_len = err_len, .node = n };
        struct recovery_callbacks cb = {
                .snapshot = replay_snapshot,
                .event = replay_event,
                .ud = &rc,
        };
        struct storage_error se;
        int r;

        memset(&se, 0, sizeof(se));
        err[0] = '\0';
        r = evlog_open(eo, &cb, &n->evlog, &se);
        if (r < 0) {
                if (!err[0])
                        snprintf(err, err_len, "opening the data directory %s failed: %s",
                                 n->cfg->data_dir, se.msg[0] ? se.msg : strerror(-r));
                n->evlog = NULL;
                return r;
        }
        if (evlog_open_warning(n->evlog)[0])
                log_warning(n->log, "%s", evlog_open_warning(n->evlog));
        /* The snapshot policy's sizes (blocking here is fine: before the loop runs). */
        r = evlog_newest_snapshot(n->evlog, &(uint64_t){ 0 }, &n->snap_bytes);
        if (r < 0)
                log_warning(n->log, "measuring the newest snapshot in %s: %s",
                            n->cfg->data_dir, strerror(-r));
        n->log_bytes = evlog_log_bytes(n->evlog);
        return 0;
}
