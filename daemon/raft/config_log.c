/* daemon/raft/config_log.c: the current configuration, taken from the log,
 * and the per-peer records that follow it.
 *
 * Owns: recomputing the configuration after the log changes, membership and
 * quorum questions, and keeping r->peers in step with the configuration.
 * Must never: change the log or emit events.
 *
 * Thesis 4.1: "The new configuration takes effect on each server as soon as
 * it is added to that server's log"; "a server always uses the latest
 * configuration in its log, regardless of whether the entry is committed";
 * a truncated configuration entry reverts to the previous one.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

int raft__config_compute(const struct raft *r, raft_index_t lo, raft_index_t hi,
                         const struct raft_config *fallback, struct raft_config *ret,
                         raft_index_t *ret_index)
{
        raft_index_t i;
        int rc;

        for (i = hi; i > lo; i--) {
                const struct raft_entry *e = raft__log_get(&r->log, i);

                if (!e || e->type != RAFT_ENTRY_CONFIG)
                        continue;
                rc = raft_config_decode(e->data, e->len, ret);
                if (rc < 0)
                        return rc == RAFT_ENOMEM ? rc : RAFT_ECORRUPT;
                *ret_index = i;
                return RAFT_OK;
        }
        *ret_index = 0;
        return raft_config_copy(fallback, ret);
}

bool raft__is_known(const struct raft *r, const char *id)
{
        size_t i;

        for (i = 0; i < r->n_known; i++)
                if (strcmp(r->known[i], id) == 0)
                        return true;
        return raft__is_member(r, id);
}

/* Remember the ids of `c` (best effort: an id missing here only means
 * that its AppendEntries are ignored while it is not a member). */
static void known_add(struct raft *r, const struct raft_config *c)
{
        size_t i, k;

        for (i = 0; i < c->n; i++) {
                for (k = 0; k < r->n_known; k++)
                        if (strcmp(r->known[k], c->servers[i].id) == 0)
                                break;
                if (k < r->n_known)
                        continue;
                if (raft__grow(&r->known, &r->cap_known, r->n_known + 1, sizeof(*r->known)) < 0)
                        return;
                memcpy(r->known[r->n_known++], c->servers[i].id, RAFT_ID_MAX);
        }
}

void raft__config_install(struct raft *r, struct raft_config *c, raft_index_t idx)
{
        known_add(r, c);
        raft_config_clear(&r->config);
        r->config = *c;
        memset(c, 0, sizeof(*c));
        r->config_index = idx;
        r->config_changed = true;
}

int raft__config_recompute(struct raft *r)
{
        struct raft_config c = { 0 };
        raft_index_t idx;
        int rc;

        rc = raft__config_compute(r, r->log.base_index, raft__log_last_index(&r->log),
                                  &r->base_config, &c, &idx);
        if (rc < 0)
                return rc;
        raft__config_install(r, &c, idx);
        return RAFT_OK;
}

bool raft__is_member(const struct raft *r, const char *id)
{
        return raft_config_find(&r->config, id) != NULL;
}

bool raft__is_voter(const struct raft *r, const char *id)
{
        const struct raft_server *s = raft_config_find(&r->config, id);

        return s && s->voter;
}

size_t raft__n_voters(const struct raft *r)
{
        size_t i, n = 0;

        for (i = 0; i < r->config.n; i++)
                if (r->config.servers[i].voter)
                        n++;
        return n;
}

size_t raft__quorum(const struct raft *r)
{
        return raft__n_voters(r) / 2 + 1;
}

struct raft_peer *raft__peer_find(struct raft *r, const char *id)
{
        size_t i;

        for (i = 0; i < r->n_peers; i++)
                if (strcmp(r->peers[i].id, id) == 0)
                        return &r->peers[i];
        return NULL;
}

bool raft__quorum_value(struct raft *r, enum raft_quorum_of what, uint64_t self,
                        uint64_t *ret)
{
        uint64_t *v = r->scratch;
        size_t i, j, n = 0, q = raft__quorum(r);

        if (raft__is_voter(r, r->id))
                v[n++] = self;
        for (i = 0; i < r->n_peers; i++)
                if (r->peers[i].voter)
                        v[n++] = what == RAFT_QUORUM_MATCH ? r->peers[i].match_index
                                                           : r->peers[i].round_acked;
        if (n < q)
                return false;
        /* Insertion sort, descending: clusters are small. */
        for (i = 1; i < n; i++) {
                uint64_t x = v[i];

                for (j = i; j > 0 && v[j - 1] < x; j--)
                        v[j] = v[j - 1];
                v[j] = x;
        }
        *ret = v[q - 1];
        return true;
}

void raft__peers_free(struct raft *r)
{
        size_t i;

        for (i = 0; i < r->n_peers; i++)
                free(r->peers[i].inflight);
        free(r->peers);
        r->peers = NULL;
        r->n_peers = 0;
}

/* Rebuild r->peers for the current configuration, keeping the records of
 * servers that stay. */
int raft__peers_sync(struct raft *r, raft_time_t now)
{
        size_t ninflight = r->opts.max_inflight ? r->opts.max_inflight : 1;
        struct raft_peer *np;
        size_t i, n = 0;

        if (raft__grow(&r->scratch, &r->cap_scratch, r->config.n + 1, sizeof(*r->scratch)) < 0)
                return RAFT_ENOMEM;
        np = calloc(r->config.n + r->n_peers + 1, sizeof(*np));
        if (!np)
                return RAFT_ENOMEM;
        for (i = 0; i < r->config.n; i++) {
                const struct raft_server *s = &r->config.servers[i];
                struct raft_peer *old, *p = &np[n];

                if (strcmp(s->id, r->id) == 0)
                        continue;
                old = raft__peer_find(r, s->id);
                if (old) {
                        *p = *old;
                        old->inflight = NULL;
                } else {
                        memcpy(p->id, s->id, sizeof(p->id));
                        p->mode = RAFT_PROGRESS_PROBE;
                        p->next_index = raft__log_last_index(&r->log) + 1;
                        p->last_contact = now;
                        p->last_progress = now;
                        raft__catchup_reset(r, p, now);
                        p->inflight = calloc(ninflight, sizeof(*p->inflight));
                        if (!p->inflight)
                                goto fail;
                }
                p->voter = s->voter;
                p->leaving = false;
                n++;
        }
        /* A leader keeps replicating to servers that an uncommitted
         * configuration removed, so that they learn of their removal and
         * stop campaigning; they count nowhere (not voters). */
        for (i = 0; r->role == RAFT_LEADER && r->config_index > r->commit_index &&
                    i < r->n_peers; i++) {
                struct raft_peer *old = &r->peers[i], *p = &np[n];

                if (raft__is_member(r, old->id) || strcmp(old->id, r->id) == 0)
                        continue;
                *p = *old;
                old->inflight = NULL;
                p->voter = false;
                p->leaving = true;
                n++;
        }
        /* Old records not carried over (inflight still set) are freed. */
        raft__peers_free(r);
        r->peers = np;
        r->n_peers = n;
        r->config_changed = false;
        return RAFT_OK;
fail:
        for (i = 0; i < n; i++) {
                struct raft_peer *old = raft__peer_find(r, np[i].id);

                if (old && !old->inflight)
                        old->inflight = np[i].inflight; /* give it back */
                else
                        free(np[i].inflight);
        }
        free(np);
        return RAFT_ENOMEM;
}
