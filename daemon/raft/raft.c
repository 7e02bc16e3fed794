/* daemon/raft/raft.c: the node's lifecycle and read-only views.
 *
 * Owns: options, raft_new/free, recovery (raft_replay, raft_replay_base,
 * _vote, _entries), raft_bootstrap, raft_start, status and the small
 * accessors.
 * Must never: change persistent state except through raft__apply (replay)
 * and raft__emit (bootstrap).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

const char *raft_rc_str(int rc)
{
        switch (rc) {
        case RAFT_OK:
                return "ok";
        case RAFT_ENOMEM:
                return "out of memory";
        case RAFT_EINVAL:
                return "invalid argument";
        case RAFT_ECORRUPT:
                return "events contradict each other";
        case RAFT_ESTATE:
                return "not allowed in this state";
        case RAFT_ENOSNAPSHOT:
                return "a snapshot file is missing: a replayed SnapshotTaken event covers more "
                       "than the snapshot loaded";
        default:
                return "unknown error";
        }
}

const char *raft_role_str(enum raft_role role)
{
        switch (role) {
        case RAFT_FOLLOWER:
                return "follower";
        case RAFT_PRE_CANDIDATE:
                return "pre-candidate";
        case RAFT_CANDIDATE:
                return "candidate";
        case RAFT_LEADER:
                return "leader";
        default:
                return "unknown";
        }
}

void raft_options_default(struct raft_options *opts, const char *id, uint64_t seed)
{
        memset(opts, 0, sizeof(*opts));
        opts->id = id;
        opts->election_min_ms = 150;
        opts->election_max_ms = 300;
        opts->heartbeat_ms = 50;
        opts->max_batch_entries = 256;
        opts->max_batch_bytes = 1024 * 1024;
        opts->max_inflight = 16;
        opts->max_pending = 65536;
        opts->seed = seed;
        opts->snapshot_trailing = 1024;
        opts->snapshot_percent = 400;
        opts->snapshot_min_bytes = 4 * 1024 * 1024;
}

int raft_new(const struct raft_options *opts, struct raft **ret)
{
        struct raft *r;
        size_t idlen;

        if (!opts || !ret || !opts->id)
                return RAFT_EINVAL;
        idlen = strlen(opts->id);
        if (idlen == 0 || idlen >= RAFT_ID_MAX || opts->election_min_ms == 0 ||
            opts->election_max_ms < opts->election_min_ms || opts->heartbeat_ms == 0 ||
            opts->max_batch_entries == 0 || opts->max_batch_bytes == 0 ||
            opts->max_inflight == 0)
                return RAFT_EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return RAFT_ENOMEM;
        r->opts = *opts;
        memcpy(r->id, opts->id, idlen + 1);
        r->opts.id = r->id;
        r->prng = opts->seed;
        raft__log_init(&r->log);
        r->role = RAFT_FOLLOWER;
        r->election_deadline = RAFT_TIME_NEVER;
        r->client_deadline = RAFT_TIME_NEVER;
        *ret = r;
        return RAFT_OK;
}

void raft_free(struct raft *r)
{
        if (!r)
                return;
        raft__log_free(&r->log);
        raft_config_clear(&r->base_config);
        raft_config_clear(&r->config);
        raft_config_clear(&r->snap_config);
        free(r->known);
        free(r->marks);
        raft__held_free(r);
        raft__peers_free(r);
        free(r->scratch);
        raft__client_free(r);
        free(r);
}

int raft_replay(struct raft *r, const struct raft_event *ev)
{
        int rc;

        if (!r || !ev)
                return RAFT_EINVAL;
        if (r->started)
                return RAFT_ESTATE;
        rc = raft__apply(r, ev);
        if (rc < 0)
                return rc;
        /* Everything replayed is durable. */
        r->durable_seq = r->last_seq;
        r->n_marks = 0;
        r->durable_index = raft__log_last_index(&r->log);
        return RAFT_OK;
}

int raft_replay_base(struct raft *r, raft_seq_t seq, raft_index_t index, raft_term_t term,
                     const struct raft_config *config)
{
        struct raft_config c, snap;
        int rc;

        if (!r || !config || config->n == 0)
                return RAFT_EINVAL;
        if (r->started || r->last_seq != 0 || r->log.n != 0 || r->log.base_index != 0)
                return RAFT_ESTATE;
        rc = raft_config_copy(config, &c);
        if (rc < 0)
                return rc;
        rc = raft_config_copy(config, &snap);
        if (rc < 0) {
                raft_config_clear(&c);
                return rc;
        }
        raft_config_clear(&r->base_config);
        r->base_config = c;
        raft_config_clear(&r->snap_config);
        r->snap_config = snap;
        r->snap_index = index;
        r->snap_term = term;
        r->log.base_index = index;
        r->log.base_term = term;
        /* The term is at least the snapshot's; TermChanged events that
         * follow raise it further. */
        if (r->term < term)
                r->term = term;
        r->last_seq = seq;
        r->durable_seq = seq;
        r->durable_index = index;
        r->commit_index = index;
        r->applied_index = index;
        r->replay_from_base = true;
        r->replay_base_seq = seq;
        r->replay_base_index = index;
        return raft__config_recompute(r);
}

int raft_replay_base_vote(struct raft *r, raft_term_t term, const char *voted_for)
{
        if (!r || (voted_for && strlen(voted_for) >= RAFT_ID_MAX))
                return RAFT_EINVAL;
        if (r->started || r->snap_index != r->log.base_index || r->log.n != 0 ||
            term < r->log.base_term || (voted_for && voted_for[0] && term == 0))
                return RAFT_ESTATE;
        r->term = term;
        snprintf(r->voted_for, sizeof(r->voted_for), "%s", voted_for ? voted_for : "");
        return RAFT_OK;
}

int raft_replay_base_entries(struct raft *r, const struct raft_entry *entries, size_t n)
{
        int rc;

        if (!r || (n > 0 && !entries))
                return RAFT_EINVAL;
        if (r->started || !r->replay_from_base || r->last_seq != r->replay_base_seq ||
            r->log.n != 0 || r->log.base_index != r->replay_base_index)
                return RAFT_ESTATE;
        if (n == 0)
                return RAFT_OK;
        rc = raft__apply_base_entries(r, entries, n);
        if (rc < 0)
                return rc;
        /* Everything in the file is durable. */
        r->durable_seq = r->last_seq;
        r->n_marks = 0;
        r->durable_index = raft__log_last_index(&r->log);
        return RAFT_OK;
}

int raft_time_floor(struct raft *r, uint64_t leader_time_ms)
{
        if (!r)
                return RAFT_EINVAL;
        if (leader_time_ms > r->log.time_floor)
                r->log.time_floor = leader_time_ms;
        return RAFT_OK;
}

int raft_bootstrap(struct raft *r, const struct raft_config *config, raft_time_t now,
                   struct raft_output *out)
{
        struct raft_entry *e;
        uint8_t *buf;
        size_t len;
        int rc;

        if (!r || !config || !out)
                return RAFT_EINVAL;
        if (r->term != 0 || raft__log_last_index(&r->log) != 0 || r->last_seq != 0)
                return RAFT_ESTATE;
        rc = raft_config_encode(config, &buf, &len);
        if (rc < 0)
                return rc;
        e = calloc(1, sizeof(*e));
        if (!e) {
                free(buf);
                return RAFT_ENOMEM;
        }
        /* Identical on every initial member: index 1, term 1, and no
         * member-specific time. */
        e->index = 1;
        e->term = 1;
        e->type = RAFT_ENTRY_CONFIG;
        e->leader_time_ms = 0;
        e->data = buf;
        e->len = len;
        rc = raft__emit_term(r, 1, out);
        if (rc < 0) {
                raft__entries_free(e, 1);
                return rc;
        }
        rc = raft__emit_entries(r, e, 1, out);
        if (rc < 0)
                return rc;
        if (r->started)
                return raft__finish(r, now, out);
        return RAFT_OK;
}

int raft_start(struct raft *r, raft_time_t now, struct raft_output *out)
{
        int rc;

        if (!r || !out)
                return RAFT_EINVAL;
        if (r->started)
                return RAFT_ESTATE;
        r->started = true;
        r->role = RAFT_FOLLOWER;
        r->leader[0] = '\0';
        rc = raft__peers_sync(r, now);
        if (rc < 0)
                return rc;
        raft__reset_election_timer(r, now);
        return raft__finish(r, now, out);
}

void raft_status(const struct raft *r, struct raft_status *ret)
{
        size_t i;

        memset(ret, 0, sizeof(*ret));
        memcpy(ret->id, r->id, sizeof(ret->id));
        ret->role = r->role;
        ret->term = r->term;
        memcpy(ret->voted_for, r->voted_for, sizeof(ret->voted_for));
        memcpy(ret->leader, r->leader, sizeof(ret->leader));
        ret->first_index = r->log.base_index + 1;
        ret->last_index = raft__log_last_index(&r->log);
        ret->last_term = raft__log_last_term(&r->log);
        ret->commit_index = r->commit_index;
        ret->applied_index = r->applied_index;
        ret->last_seq = r->last_seq;
        ret->durable_seq = r->durable_seq;
        ret->storage_failed = r->storage_failed;
        ret->snapshot_index = r->snap_index;
        ret->snapshot_term = r->snap_term;
        for (i = 0; i < r->n_peers && ret->n_peers < sizeof(ret->peers) / sizeof(ret->peers[0]);
             i++) {
                struct raft_peer_status *ps = &ret->peers[ret->n_peers++];
                const struct raft_peer *p = &r->peers[i];

                memcpy(ps->id, p->id, sizeof(ps->id));
                ps->voter = p->voter;
                if (r->role == RAFT_LEADER) {
                        ps->match_index = p->match_index;
                        ps->next_index = p->next_index;
                        ps->active = r->now - p->last_contact < r->opts.election_min_ms;
                        ps->sending_snapshot = p->mode == RAFT_PROGRESS_SNAPSHOT;
                }
        }
}

const struct raft_config *raft_configuration(const struct raft *r)
{
        return &r->config;
}

raft_index_t raft_last_index(const struct raft *r)
{
        return raft__log_last_index(&r->log);
}

const struct raft_entry *raft_log_get(const struct raft *r, raft_index_t index)
{
        return raft__log_get(&r->log, index);
}
