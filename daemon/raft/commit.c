/* daemon/raft/commit.c: advancing the commit index and handing committed
 * entries out, in index order, as APPLY effects.
 *
 * Owns: the leader's commit rule (a majority of voters' match indexes, the
 * leader's own counted only for durable entries, only current-term entries
 * by counting), the durable index, and the apply loop.
 * Must never: commit an entry of an earlier term by counting replicas, or
 * apply out of order.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

void raft__durable_marks_advance(struct raft *r)
{
        size_t done = 0;

        while (done < r->n_marks && r->marks[done].seq <= r->durable_seq) {
                r->durable_index = r->marks[done].last_index;
                done++;
        }
        if (done > 0)
                memmove(r->marks, r->marks + done, (r->n_marks - done) * sizeof(*r->marks));
        r->n_marks -= done;
}

int raft__leader_maybe_commit(struct raft *r, struct raft_output *out)
{
        raft_index_t self, n_commit;

        (void)out;
        if (r->role != RAFT_LEADER)
                return RAFT_OK;
        /* Thesis 10.2.1: the leader writes its log in parallel with sending
         * and counts its own match index only for durable entries. */
        self = r->durable_index < raft__log_last_index(&r->log) ? r->durable_index
                                                                 : raft__log_last_index(&r->log);
        if (!raft__quorum_value(r, RAFT_QUORUM_MATCH, self, &n_commit))
                return RAFT_OK;
        if (n_commit <= r->commit_index)
                return RAFT_OK;
#ifndef RAFT_SABOTAGE_COMMIT_OLD_TERM
        /* Paper 5.4.2 (Figure 8): "Raft never commits log entries from
         * previous terms by counting replicas. Only log entries from the
         * leader's current term are committed by counting replicas".
         * (The SABOTAGE switch, tests/sim only, removes exactly this.) */
        if (raft__log_term_at(&r->log, n_commit) != r->term)
                return RAFT_OK;
#endif
        r->commit_index = n_commit;
        return RAFT_OK;
}

bool raft_apply_pending(const struct raft *r)
{
        return r && r->applied_index < r->commit_index &&
               raft__log_get(&r->log, r->applied_index + 1) != NULL;
}

int raft__apply_committed(struct raft *r, struct raft_output *out)
{
        size_t handed = 0;
        int rc;

        /* Figure 2: "If commitIndex > lastApplied: increment lastApplied,
         * apply log[lastApplied] to state machine". At most apply_batch per
         * output: raft_flush() hands out the rest. */
        while (r->applied_index < r->commit_index) {
                const struct raft_entry *e = raft__log_get(&r->log, r->applied_index + 1);
                struct raft_effect *fx;
                uint64_t handle = 0;

                if (!e || (r->opts.apply_batch && handed == r->opts.apply_batch))
                        break;
                handed++;
                rc = raft__grow(&out->effects, &out->cap, out->n + 1, sizeof(*out->effects));
                if (rc < 0)
                        return rc;
                rc = raft__writes_on_apply(r, e, &handle, out);
                if (rc < 0)
                        return rc;
                fx = raft__fx_push(out, RAFT_FX_APPLY);
                if (!fx)
                        return RAFT_ENOMEM;
                rc = raft__entry_copy(e, &fx->entry);
                if (rc < 0) {
                        out->n--;
                        return rc;
                }
                fx->handle = handle;
                r->applied_index++;
        }
        return raft__reads_progress(r, out);
}
