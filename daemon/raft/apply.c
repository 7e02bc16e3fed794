/* daemon/raft/apply.c: events -> persistent state.
 *
 * Owns: the ONLY code that changes persistent state (term, vote, log,
 * snapshot base, last_seq): raft__apply(), one case per event type, used
 * both by raft__emit() during operation and by raft_replay() in recovery
 * (DESIGN.md: "Recovery is apply over the snapshot then every event after
 * it: the same code path as normal operation").
 * Must never: send messages, look at the clock, or accept an event that
 * contradicts the state (that is RAFT_ECORRUPT, never silently skipped).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

static int marks_push(struct raft *r, raft_seq_t seq)
{
        int rc = raft__grow(&r->marks, &r->cap_marks, r->n_marks + 1, sizeof(*r->marks));

        if (rc < 0)
                return rc;
        r->marks[r->n_marks].seq = seq;
        r->marks[r->n_marks].last_index = raft__log_last_index(&r->log);
        r->n_marks++;
        return RAFT_OK;
}

static int apply_term(struct raft *r, const struct raft_event *ev)
{
        /* Figure 2: "currentTerm: latest term server has seen (initialized to
         * 0 on first boot, increases monotonically)". */
        if (ev->term.term <= r->term)
                return RAFT_ECORRUPT;
        r->term = ev->term.term;
        r->voted_for[0] = '\0';
        return RAFT_OK;
}

static int apply_vote(struct raft *r, const struct raft_event *ev)
{
        /* Figure 2: "votedFor: candidateId that received vote in current
         * term"; at most one per term. */
        if (ev->vote.term != r->term || ev->vote.candidate[0] == '\0' ||
            memchr(ev->vote.candidate, '\0', RAFT_ID_MAX) == NULL)
                return RAFT_ECORRUPT;
        if (r->voted_for[0] != '\0' && strcmp(r->voted_for, ev->vote.candidate) != 0)
                return RAFT_ECORRUPT;
        snprintf(r->voted_for, sizeof(r->voted_for), "%s", ev->vote.candidate);
        return RAFT_OK;
}

static int apply_entries(struct raft *r, const struct raft_event *ev)
{
        raft_index_t prev_last = raft__log_last_index(&r->log), cfg_index = 0;
        raft_term_t last_term = raft__log_last_term(&r->log);
        struct raft_config cfg = { 0 };
        size_t i;
        int rc;

        if (ev->entries.n == 0 || !ev->entries.entries)
                return RAFT_ECORRUPT;
        /* Validate the whole event, and decode its last configuration,
         * before changing anything: a failure leaves the state as it was. */
        for (i = 0; i < ev->entries.n; i++) {
                const struct raft_entry *e = &ev->entries.entries[i];

                if (e->index != prev_last + 1 + i || e->term < last_term || e->term > r->term)
                        goto corrupt;
                if (e->type != RAFT_ENTRY_COMMAND && e->type != RAFT_ENTRY_NOOP &&
                    e->type != RAFT_ENTRY_CONFIG)
                        goto corrupt;
                if (e->len > 0 && !e->data)
                        goto corrupt;
                if (e->type == RAFT_ENTRY_CONFIG) {
                        raft_config_clear(&cfg);
                        rc = raft_config_decode(e->data, e->len, &cfg);
                        if (rc == RAFT_ENOMEM)
                                return rc;
                        if (rc < 0)
                                goto corrupt;
                        cfg_index = e->index;
                }
                last_term = e->term;
        }
        for (i = 0; i < ev->entries.n; i++) {
                rc = raft__log_append(&r->log, &ev->entries.entries[i]);
                if (rc < 0)
                        goto undo;
        }
        rc = marks_push(r, ev->seq);
        if (rc < 0)
                goto undo;
        /* Thesis 4.1: "a server always uses the latest configuration in its
         * log, regardless of whether the entry is committed". */
        if (cfg_index > 0)
                raft__config_install(r, &cfg, cfg_index);
        return RAFT_OK;
corrupt:
        raft_config_clear(&cfg);
        return RAFT_ECORRUPT;
undo:
        raft__log_truncate(&r->log, prev_last + 1);
        raft_config_clear(&cfg);
        return rc;
}

int raft__apply_base_entries(struct raft *r, const struct raft_entry *entries, size_t n)
{
        struct raft_event ev = { .type = RAFT_EV_ENTRIES };

        /* The entries came with events <= the file's seq: no new seq. */
        ev.seq = r->last_seq;
        ev.entries.n = n;
        ev.entries.entries = (struct raft_entry *)entries;
        return apply_entries(r, &ev);
}

static int apply_truncate(struct raft *r, const struct raft_event *ev)
{
        raft_index_t from = ev->truncate.from_index, cfg_index = 0;
        struct raft_config cfg = { 0 };
        bool reverts;
        size_t i;
        int rc;

        /* Committed entries are never removed (Log Matching + Leader
         * Completeness); removing nothing is a contradiction too. */
        if (from <= r->log.base_index || from > raft__log_last_index(&r->log) ||
            from <= r->commit_index)
                return RAFT_ECORRUPT;
        /* Thesis 4.1: a truncated configuration entry reverts the
         * configuration to the previous one (computed first: a failure
         * leaves the state as it was). */
        reverts = r->config_index >= from;
        if (reverts) {
                rc = raft__config_compute(r, r->log.base_index, from - 1, &r->base_config, &cfg,
                                          &cfg_index);
                if (rc < 0)
                        return rc;
        }
        rc = marks_push(r, ev->seq);
        if (rc < 0) {
                raft_config_clear(&cfg);
                return rc;
        }
        raft__log_truncate(&r->log, from);
        for (i = 0; i < r->n_marks; i++)
                if (r->marks[i].last_index >= from)
                        r->marks[i].last_index = from - 1;
        if (r->durable_index >= from)
                r->durable_index = from - 1;
        if (reverts)
                raft__config_install(r, &cfg, cfg_index);
        return RAFT_OK;
}

static int apply_snapshot(struct raft *r, const struct raft_event *ev)
{
        raft_index_t idx = ev->snapshot.index, cfg_index, new_base, b, old_last, i;
        struct raft_config base = { 0 }, cfg = { 0 }, snap = { 0 };
        bool keep_suffix;
        int rc;

        /* Recovery from a snapshot file (raft.h, raft_replay_base_entries):
         * the file already covers an event up to its index; a later index
         * names a file the shell did not load. */
        if (r->replay_from_base && !r->started) {
                if (idx > r->replay_base_index)
                        return RAFT_ENOSNAPSHOT;
                if (idx == r->replay_base_index && ev->snapshot.term != r->snap_term)
                        return RAFT_ECORRUPT;
                return RAFT_OK;
        }
        if (idx < r->log.base_index || idx < r->snap_index || ev->snapshot.term > r->term ||
            ev->snapshot.config.n == 0)
                return RAFT_ECORRUPT;
        /* Everything that can fail first: a failure leaves the state as it
         * was. Thesis 5.4: "If existing log entry has same index and term as
         * snapshot's last included entry, retain log entries following it";
         * otherwise the whole log goes. With a trailing window the log also
         * keeps up to `trailing` entries before idx for slow followers. */
        keep_suffix = raft__log_term_at(&r->log, idx) == ev->snapshot.term;
        new_base = idx;
        if (keep_suffix) {
                new_base = idx > ev->snapshot.trailing ? idx - ev->snapshot.trailing : 0;
                if (new_base < r->log.base_index)
                        new_base = r->log.base_index;
        }
        rc = raft_config_copy(&ev->snapshot.config, &snap);
        if (rc < 0)
                return rc;
        /* The configuration at the new base: the snapshot's, or, if the
         * window keeps entries before idx, the last CONFIG up to new_base. */
        if (new_base == idx)
                rc = raft_config_copy(&ev->snapshot.config, &base);
        else
                rc = raft__config_compute(r, r->log.base_index, new_base, &r->base_config, &base,
                                          &b);
        if (rc < 0)
                goto fail;
        rc = raft__config_compute(r, new_base, keep_suffix ? raft__log_last_index(&r->log) : idx,
                                  &base, &cfg, &cfg_index);
        if (rc < 0)
                goto fail;
        rc = marks_push(r, ev->seq);
        if (rc < 0)
                goto fail;
        old_last = raft__log_last_index(&r->log);
        if (keep_suffix)
                raft__log_set_base(&r->log, new_base, raft__log_term_at(&r->log, new_base));
        else
                raft__log_set_base(&r->log, idx, ev->snapshot.term);
        if (!keep_suffix && old_last > idx) {
                /* Entries after idx were discarded: what was durable of
                 * them is no longer in the log. */
                for (i = 0; i < r->n_marks; i++)
                        if (r->marks[i].last_index > idx)
                                r->marks[i].last_index = idx;
                if (r->durable_index > idx)
                        r->durable_index = idx;
        }
        r->marks[r->n_marks - 1].last_index = raft__log_last_index(&r->log);
        raft_config_clear(&r->base_config);
        r->base_config = base;
        raft_config_clear(&r->snap_config);
        r->snap_config = snap;
        r->snap_index = idx;
        r->snap_term = ev->snapshot.term;
        if (r->commit_index < idx)
                r->commit_index = idx;
        if (r->applied_index < idx)
                r->applied_index = idx;
        raft__config_install(r, &cfg, cfg_index);
        return RAFT_OK;
fail:
        raft_config_clear(&base);
        raft_config_clear(&cfg);
        raft_config_clear(&snap);
        return rc;
}

int raft__apply(struct raft *r, const struct raft_event *ev)
{
        int rc;

        if (ev->seq != r->last_seq + 1)
                return RAFT_ECORRUPT;
        switch (ev->type) {
        case RAFT_EV_TERM:
                rc = apply_term(r, ev);
                break;
        case RAFT_EV_VOTE:
                rc = apply_vote(r, ev);
                break;
        case RAFT_EV_ENTRIES:
                rc = apply_entries(r, ev);
                break;
        case RAFT_EV_TRUNCATE:
                rc = apply_truncate(r, ev);
                break;
        case RAFT_EV_SNAPSHOT:
                rc = apply_snapshot(r, ev);
                break;
        default:
                rc = RAFT_ECORRUPT;
                break;
        }
        if (rc == RAFT_OK)
                r->last_seq = ev->seq;
        return rc;
}

int raft__emit(struct raft *r, struct raft_event *ev, struct raft_output *out)
{
        struct raft_effect *fx;
        int rc;

        /* Reserve the PERSIST slot first so that an applied event always
         * reaches the caller. */
        rc = raft__grow(&out->effects, &out->cap, out->n + 1, sizeof(*out->effects));
        if (rc < 0)
                goto fail;
        ev->seq = r->last_seq + 1;
        rc = raft__apply(r, ev);
        if (rc < 0)
                goto fail;
        fx = raft__fx_push(out, RAFT_FX_PERSIST);
        fx->event = *ev;
        memset(ev, 0, sizeof(*ev));
        return RAFT_OK;
fail:
        raft_event_clear(ev);
        return rc;
}

int raft__emit_term(struct raft *r, raft_term_t term, struct raft_output *out)
{
        struct raft_event ev = { .type = RAFT_EV_TERM };

        ev.term.term = term;
        return raft__emit(r, &ev, out);
}

int raft__emit_vote(struct raft *r, const char *candidate, struct raft_output *out)
{
        struct raft_event ev = { .type = RAFT_EV_VOTE };

        ev.vote.term = r->term;
        snprintf(ev.vote.candidate, sizeof(ev.vote.candidate), "%s", candidate);
        return raft__emit(r, &ev, out);
}

int raft__emit_entries(struct raft *r, struct raft_entry *entries, size_t n,
                       struct raft_output *out)
{
        struct raft_event ev = { .type = RAFT_EV_ENTRIES };

        ev.entries.n = n;
        ev.entries.entries = entries;
        return raft__emit(r, &ev, out);
}

int raft__emit_truncate(struct raft *r, raft_index_t from, struct raft_output *out)
{
        struct raft_event ev = { .type = RAFT_EV_TRUNCATE };

        ev.truncate.from_index = from;
        return raft__emit(r, &ev, out);
}
