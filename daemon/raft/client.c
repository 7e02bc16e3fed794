/* daemon/raft/client.c: client writes and reads as they enter the core:
 * propose, forward, stash while no leader is known, and deadlines.
 *
 * Owns: raft_propose, raft_read's dispatch, pending writes remembered by
 * (index, term), the stash of requests waiting for a leader, and failing
 * requests at their deadline (TIMEOUT, NO_LEADER) or when another entry
 * took their slot (NOT_COMMITTED); an AddMember that waits for the
 * learner's promotion (options.catchup_rounds).
 * Must never: answer a request twice; every request gets exactly one of
 * APPLY (with its handle) / READ_READY, FORWARD or FAIL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

size_t raft__n_pending(const struct raft *r)
{
        return r->n_writes + r->n_reads + r->n_stash;
}

int raft__write_remember(struct raft *r, uint64_t handle, raft_index_t idx, raft_term_t term,
                         raft_time_t deadline)
{
        size_t pos;
        int rc;

        rc = raft__grow(&r->writes, &r->cap_writes, r->n_writes + 1, sizeof(*r->writes));
        if (rc < 0)
                return rc;
        /* Kept sorted by index; a new entry almost always goes last. */
        pos = r->n_writes;
        while (pos > 0 && r->writes[pos - 1].index > idx)
                pos--;
        if (pos < r->n_writes)
                memmove(r->writes + pos + 1, r->writes + pos,
                        (r->n_writes - pos) * sizeof(*r->writes));
        r->writes[pos].handle = handle;
        r->writes[pos].index = idx;
        r->writes[pos].term = term;
        r->writes[pos].deadline = deadline;
        r->writes[pos].until_promoted[0] = '\0';
        r->n_writes++;
        raft__client_deadline_note(r, deadline);
        return RAFT_OK;
}

int raft__writes_on_apply(struct raft *r, const struct raft_entry *e, uint64_t *ret_handle,
                          struct raft_output *out)
{
        size_t done = 0;
        int rc = RAFT_OK;

        struct raft_pending_write waiting = { 0 };

        *ret_handle = 0;
        while (done < r->n_writes && r->writes[done].index <= e->index) {
                const struct raft_pending_write *w = &r->writes[done];

                if (w->index == e->index && w->term == e->term && w->until_promoted[0] &&
                    !waiting.handle) {
                        /* The learner is added: its AddMember now waits for
                         * the promotion (membership.c). */
                        waiting = *w;
                        waiting.index = RAFT_INDEX_WAITING;
                        waiting.term = 0;
                } else if (w->index == e->index && w->term == e->term && *ret_handle == 0) {
                        *ret_handle = w->handle;
                } else {
                        rc = raft__fx_fail(out, w->handle, RAFT_FAIL_NOT_COMMITTED,
                                           "another entry was committed in this request's "
                                           "log slot: it was not applied");
                        if (rc < 0)
                                break;
                }
                done++;
        }
        if (done > 0)
                memmove(r->writes, r->writes + done,
                        (r->n_writes - done) * sizeof(*r->writes));
        r->n_writes -= done;
        if (waiting.handle)
                r->writes[r->n_writes++] = waiting; /* last: the highest index */
        return rc;
}

void raft__write_until_promoted(struct raft *r, uint64_t handle, const char *member)
{
        size_t i;

        for (i = r->n_writes; i-- > 0;)
                if (r->writes[i].handle == handle) {
                        snprintf(r->writes[i].until_promoted,
                                 sizeof(r->writes[i].until_promoted), "%s", member);
                        return;
                }
}

void raft__write_promoted(struct raft *r, const char *member, raft_index_t idx,
                          raft_term_t term)
{
        size_t i;

        for (i = 0; i < r->n_writes; i++) {
                struct raft_pending_write *w = &r->writes[i];

                struct raft_pending_write moved;
                size_t pos;

                if (w->index != RAFT_INDEX_WAITING || strcmp(w->until_promoted, member) != 0)
                        continue;
                /* idx is the last entry, but other AddMember writes may
                 * still wait (RAFT_INDEX_WAITING) after this one: move it
                 * before them, or the writes behind a waiting one would
                 * be answered late, and as NOT_COMMITTED (sim seed 119,
                 * two voters added at once). */
                moved = *w;
                moved.index = idx;
                moved.term = term;
                moved.until_promoted[0] = '\0';
                memmove(r->writes + i, r->writes + i + 1,
                        (r->n_writes - i - 1) * sizeof(*r->writes));
                pos = r->n_writes - 1;
                while (pos > 0 && r->writes[pos - 1].index > idx)
                        pos--;
                memmove(r->writes + pos + 1, r->writes + pos,
                        (r->n_writes - 1 - pos) * sizeof(*r->writes));
                r->writes[pos] = moved;
                return;
        }
}

int raft__write_fail_member(struct raft *r, const char *member, const char *why,
                            struct raft_output *out)
{
        size_t i;
        int rc;

        for (i = 0; i < r->n_writes; i++) {
                if (r->writes[i].index != RAFT_INDEX_WAITING ||
                    strcmp(r->writes[i].until_promoted, member) != 0)
                        continue;
                rc = raft__fx_fail(out, r->writes[i].handle, RAFT_FAIL_BUSY, why);
                if (rc < 0)
                        return rc;
                memmove(r->writes + i, r->writes + i + 1,
                        (r->n_writes - i - 1) * sizeof(*r->writes));
                r->n_writes--;
                return RAFT_OK;
        }
        return RAFT_OK;
}

static int stash(struct raft *r, uint64_t handle, bool is_read, const uint8_t *data, size_t len,
                 raft_time_t deadline)
{
        struct raft_stashed *s;
        int rc;

        rc = raft__grow(&r->stash, &r->cap_stash, r->n_stash + 1, sizeof(*r->stash));
        if (rc < 0)
                return rc;
        s = &r->stash[r->n_stash];
        memset(s, 0, sizeof(*s));
        if (len > 0) {
                s->data = malloc(len);
                if (!s->data)
                        return RAFT_ENOMEM;
                memcpy(s->data, data, len);
                s->len = len;
        }
        s->handle = handle;
        s->is_read = is_read;
        s->deadline = deadline;
        r->n_stash++;
        raft__client_deadline_note(r, deadline);
        return RAFT_OK;
}

static int forward(struct raft_output *out, uint64_t handle, const char *leader, bool is_read)
{
        struct raft_effect *fx = raft__fx_push(out, RAFT_FX_FORWARD);

        if (!fx)
                return RAFT_ENOMEM;
        fx->handle = handle;
        snprintf(fx->forward.leader, sizeof(fx->forward.leader), "%s", leader);
        fx->forward.is_read = is_read;
        return RAFT_OK;
}

static int dispatch_write(struct raft *r, raft_time_t now, uint64_t handle, const uint8_t *data,
                          size_t len, raft_time_t deadline, struct raft_output *out)
{
        struct raft_entry *e;
        int rc;

        if (r->role == RAFT_LEADER) {
                /* Thesis 3.10: during a transfer "the prior leader stops
                 * accepting new client requests". */
                if (r->transferring)
                        return raft__fx_fail(out, handle, RAFT_FAIL_BUSY,
                                             "leadership transfer in progress");
                e = calloc(1, sizeof(*e));
                if (!e)
                        return RAFT_ENOMEM;
                e->index = raft__log_last_index(&r->log) + 1;
                e->term = r->term;
                e->type = RAFT_ENTRY_COMMAND;
                e->leader_time_ms = raft__log_next_time(&r->log, now);
                if (len > 0) {
                        e->data = malloc(len);
                        if (!e->data) {
                                free(e);
                                return RAFT_ENOMEM;
                        }
                        memcpy(e->data, data, len);
                        e->len = len;
                }
                rc = raft__write_remember(r, handle, e->index, e->term, deadline);
                if (rc < 0) {
                        raft__entries_free(e, 1);
                        return rc;
                }
                rc = raft__emit_entries(r, e, 1, out);
                if (rc < 0) {
                        r->n_writes--; /* just added last */
                        return rc;
                }
                r->replicate_needed = true;
                return RAFT_OK;
        }
        if (r->leader[0])
                return forward(out, handle, r->leader, false);
        return stash(r, handle, false, data, len, deadline);
}

static int dispatch_read(struct raft *r, raft_time_t now, uint64_t handle, raft_time_t deadline,
                         struct raft_output *out)
{
        if (r->role == RAFT_LEADER)
                return raft__read_leader(r, now, handle, deadline, out);
        /* Thesis 6.4: followers ask the leader for a read index. */
        if (r->leader[0])
                return forward(out, handle, r->leader, true);
        return stash(r, handle, true, NULL, 0, deadline);
}

int raft_propose(struct raft *r, raft_time_t now, uint64_t handle, const uint8_t *data,
                 size_t len, raft_time_t deadline, struct raft_output *out)
{
        int rc;

        if (!r || !out || handle == 0 || (len > 0 && !data))
                return RAFT_EINVAL;
        if (!r->started)
                return RAFT_ESTATE;
        if (r->storage_failed)
                rc = raft__fx_fail(out, handle, RAFT_FAIL_STORAGE, r->storage_reason);
        else if (raft__n_pending(r) >= r->opts.max_pending)
                rc = raft__fx_fail(out, handle, RAFT_FAIL_BUSY, "too many pending requests");
        else if (deadline <= now)
                rc = raft__fx_fail(out, handle, RAFT_FAIL_TIMEOUT, "deadline already passed");
        else
                rc = dispatch_write(r, now, handle, data, len, deadline, out);
        if (rc < 0)
                return rc;
        return raft__finish(r, now, out);
}

int raft_read(struct raft *r, raft_time_t now, uint64_t handle, bool stale, raft_time_t deadline,
              struct raft_output *out)
{
        struct raft_effect *fx;
        int rc;

        if (!r || !out || handle == 0)
                return RAFT_EINVAL;
        if (!r->started)
                return RAFT_ESTATE;
        if (stale) {
                /* Explicitly stale: whatever this node has applied. */
                fx = raft__fx_push(out, RAFT_FX_READ_READY);
                if (!fx)
                        return RAFT_ENOMEM;
                fx->handle = handle;
                fx->read.read_index = r->applied_index;
                rc = RAFT_OK;
        } else if (raft__n_pending(r) >= r->opts.max_pending) {
                rc = raft__fx_fail(out, handle, RAFT_FAIL_BUSY, "too many pending requests");
        } else if (deadline <= now) {
                rc = raft__fx_fail(out, handle, RAFT_FAIL_TIMEOUT, "deadline already passed");
        } else {
                rc = dispatch_read(r, now, handle, deadline, out);
        }
        if (rc < 0)
                return rc;
        return raft__finish(r, now, out);
}

int raft__stash_dispatch(struct raft *r, raft_time_t now, struct raft_output *out)
{
        size_t i, n = r->n_stash;
        struct raft_stashed *s;
        int rc = RAFT_OK;

        if (n == 0 || r->leader[0] == '\0')
                return RAFT_OK;
        /* Take the stash: dispatching may stash again only if the leader is
         * unknown, which it is not. */
        s = r->stash;
        r->stash = NULL;
        r->n_stash = r->cap_stash = 0;
        for (i = 0; i < n; i++) {
                if (rc == RAFT_OK && s[i].deadline <= now)
                        rc = raft__fx_fail(out, s[i].handle, RAFT_FAIL_NO_LEADER,
                                           "no leader known before the deadline");
                else if (rc == RAFT_OK) {
                        if (s[i].is_read)
                                rc = dispatch_read(r, now, s[i].handle, s[i].deadline, out);
                        else
                                rc = dispatch_write(r, now, s[i].handle, s[i].data, s[i].len,
                                                    s[i].deadline, out);
                }
                free(s[i].data);
        }
        free(s);
        return rc;
}

void raft__client_deadline_note(struct raft *r, raft_time_t deadline)
{
        if (deadline < r->client_deadline)
                r->client_deadline = deadline;
}

/* Cached: never later than the earliest pending deadline, recomputed
 * exactly at every tick (an early tick is harmless). */
raft_time_t raft__client_next_deadline(const struct raft *r)
{
        return r->client_deadline;
}

static void recompute_deadline(struct raft *r)
{
        size_t i;

        r->client_deadline = RAFT_TIME_NEVER;
        for (i = 0; i < r->n_writes; i++)
                raft__client_deadline_note(r, r->writes[i].deadline);
        for (i = 0; i < r->n_reads; i++)
                raft__client_deadline_note(r, r->reads[i].deadline);
        for (i = 0; i < r->n_stash; i++)
                raft__client_deadline_note(r, r->stash[i].deadline);
}

int raft__client_tick(struct raft *r, raft_time_t now, struct raft_output *out)
{
        size_t i, k;
        int rc;

        for (i = 0, k = 0; i < r->n_writes; i++) {
                if (r->writes[i].deadline <= now) {
                        rc = raft__fx_fail(out, r->writes[i].handle, RAFT_FAIL_TIMEOUT,
                                           "deadline passed before the write was applied; "
                                           "outcome unknown");
                        if (rc < 0)
                                return rc;
                        continue;
                }
                r->writes[k++] = r->writes[i];
        }
        r->n_writes = k;
        for (i = 0, k = 0; i < r->n_reads; i++) {
                if (r->reads[i].deadline <= now) {
                        rc = raft__fx_fail(out, r->reads[i].handle, RAFT_FAIL_TIMEOUT,
                                           "deadline passed before the read was confirmed");
                        if (rc < 0)
                                return rc;
                        continue;
                }
                r->reads[k++] = r->reads[i];
        }
        r->n_reads = k;
        for (i = 0, k = 0; i < r->n_stash; i++) {
                if (r->stash[i].deadline <= now) {
                        rc = raft__fx_fail(out, r->stash[i].handle, RAFT_FAIL_NO_LEADER,
                                           "no leader known before the deadline");
                        if (rc < 0)
                                return rc;
                        free(r->stash[i].data);
                        continue;
                }
                r->stash[k++] = r->stash[i];
        }
        r->n_stash = k;
        recompute_deadline(r);
        return RAFT_OK;
}

void raft__client_free(struct raft *r)
{
        size_t i;

        for (i = 0; i < r->n_stash; i++)
                free(r->stash[i].data);
        free(r->stash);
        free(r->writes);
        free(r->reads);
        r->stash = NULL;
        r->writes = NULL;
        r->reads = NULL;
        r->n_stash = r->n_writes = r->n_reads = 0;
}
