/* daemon/raft/read_index.c: linearizable reads on the leader (ReadIndex,
 * thesis 6.4) with heartbeat rounds shared by every waiting read.
 *
 * Owns: pending reads, their read index and round, confirming them when a
 * majority of voters acknowledged a round started after the read arrived,
 * and READ_READY once the read index is applied.
 * Must never: answer a read before leadership is confirmed, or keep reads
 * across a step-down (they fail LEADERSHIP_LOST).
 *
 * Thesis 6.4: "1. If the leader has not yet marked an entry from its
 * current term committed, it waits until it has done so. 2. The leader
 * saves its current commit index in a local variable readIndex. 3. The
 * leader needs to make sure it hasn't been superseded ... it sends a new
 * round of heartbeats and waits for their acknowledgments from a majority
 * of the cluster. 4. The leader waits for its state machine to advance at
 * least as far as the readIndex."
 */
#include <string.h>

#include "daemon/raft/raft_private.h"

int raft__read_leader(struct raft *r, raft_time_t now, uint64_t handle, raft_time_t deadline,
                      struct raft_output *out)
{
        struct raft_pending_read *rd;
        int rc;

        (void)now;
        (void)out;
        rc = raft__grow(&r->reads, &r->cap_reads, r->n_reads + 1, sizeof(*r->reads));
        if (rc < 0)
                return rc;
        rd = &r->reads[r->n_reads++];
        memset(rd, 0, sizeof(*rd));
        rd->handle = handle;
        /* Only a round started after the read arrived proves leadership. */
        rd->round = r->round + 1;
        rd->deadline = deadline;
        raft__client_deadline_note(r, deadline);
        r->round_needed = true;
        return RAFT_OK;
}

int raft__reads_progress(struct raft *r, struct raft_output *out)
{
        bool current_committed;
        uint64_t confirmed;
        size_t i, k;

        if (r->role != RAFT_LEADER || r->n_reads == 0)
                return RAFT_OK;
        current_committed = raft__log_term_at(&r->log, r->commit_index) == r->term;
        if (!raft__quorum_value(r, RAFT_QUORUM_ROUND, r->round, &confirmed))
                confirmed = 0;
        for (i = 0, k = 0; i < r->n_reads; i++) {
                struct raft_pending_read *rd = &r->reads[i];

                if (!rd->has_index && current_committed) {
                        rd->has_index = true;
                        rd->read_index = r->commit_index;
                }
                if (rd->round <= confirmed)
                        rd->confirmed = true;
                if (rd->has_index && rd->confirmed && r->applied_index >= rd->read_index) {
                        struct raft_effect *fx = raft__fx_push(out, RAFT_FX_READ_READY);

                        if (!fx)
                                return RAFT_ENOMEM;
                        fx->handle = rd->handle;
                        fx->read.read_index = rd->read_index;
                        continue;
                }
                r->reads[k++] = *rd;
        }
        r->n_reads = k;
        return RAFT_OK;
}

/* Start the round waiting reads need, unless one is already in flight: its
 * acknowledgement will start the next (amortizing heartbeats over reads). */
int raft__reads_start_round(struct raft *r, raft_time_t now, struct raft_output *out)
{
        uint64_t confirmed;
        int rc;

        if (r->role != RAFT_LEADER || !r->round_needed)
                return RAFT_OK;
        if (raft__quorum_value(r, RAFT_QUORUM_ROUND, r->round, &confirmed) &&
            confirmed < r->round)
                return RAFT_OK;
        rc = raft__heartbeat(r, now, out);
        if (rc < 0)
                return rc;
        return raft__reads_progress(r, out);
}

int raft__reads_fail_all(struct raft *r, enum raft_fail fail, const char *reason,
                         struct raft_output *out)
{
        size_t i;
        int rc;

        for (i = 0; i < r->n_reads; i++) {
                rc = raft__fx_fail(out, r->reads[i].handle, fail, reason);
                if (rc < 0)
                        return rc;
        }
        r->n_reads = 0;
        return RAFT_OK;
}
