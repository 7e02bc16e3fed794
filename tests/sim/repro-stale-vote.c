/* tests/sim/repro-stale-vote.c: reproducer of simulator finding F2
 * (/work/notes/sim-findings.md): a vote granted to a candidate's previous
 * incarnation elects the restarted candidate with a shorter log.
 *
 * Owns: one scripted 3-node schedule driven through raft.h by hand:
 *   1. n2 leads term 2, replicates its NOOP and a command X (index 3) to n3
 *      (durable) and n1 (never fsync'd); X commits on n2 + n3.
 *   2. n1 times out and asks for term-3 votes advertising last index 3; n3
 *      grants (durably). The grant is delayed in the network.
 *   3. n1 crashes before its entries and its term are durable; it restarts
 *      with last index 1 and campaigns for term 3 again. n3 refuses (its log
 *      is longer), then the delayed grant arrives.
 * Exits 1 ("bug present") if n1 then leads term 3 without index 3; 0 if it
 * does not lead, or if n1 holds its RequestVote until its term, vote and
 * advertised log are durable (the fix, 6e4a92c: step 2 cannot happen);
 * 2 if the script itself could not run. A regression test in make check.
 * Must never: depend on more of the core than raft.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft.h"

#define N 3
#define MAX_EVENTS 64
#define MAX_MSGS 64

struct node {
        struct raft *raft;
        struct raft_output out;
        struct raft_event written[MAX_EVENTS];
        size_t n_written, n_durable;
};

static struct node nodes[N];
static const char *const ids[N] = { "n1", "n2", "n3" };
static struct raft_msg net[MAX_MSGS];
static size_t n_net;
static raft_time_t now = 1000;

static int node_of(const char *id)
{
        return id[0] == 'n' && id[1] >= '1' && id[1] <= '3' ? id[1] - '1' : 0;
}

/* Carries out what the script needs of an output: events to the node's
 * written list, messages to the network; everything else is dropped. */
static int collect(int i)
{
        struct node *n = &nodes[i];

        for (size_t k = 0; k < n->out.n; k++) {
                const struct raft_effect *fx = &n->out.effects[k];

                if (fx->type == RAFT_FX_PERSIST) {
                        if (n->n_written == MAX_EVENTS ||
                            raft_event_copy(&fx->event, &n->written[n->n_written]) != RAFT_OK)
                                return -1;
                        n->n_written++;
                } else if (fx->type == RAFT_FX_SEND) {
                        if (n_net == MAX_MSGS || raft_msg_copy(&fx->msg, &net[n_net]) != RAFT_OK)
                                return -1;
                        n_net++;
                }
        }
        raft_output_reset(&n->out);
        return 0;
}

static int sync_disk(int i)
{
        struct node *n = &nodes[i];

        n->n_durable = n->n_written;
        if (n->n_written && raft_persisted(n->raft, now, n->written[n->n_written - 1].seq,
                                           &n->out) != RAFT_OK)
                return -1;
        return collect(i);
}

/* Delivers the messages from `from` to `to` (-1: any) of `type` (0: any);
 * the others stay in the network if `keep`, else they are lost. */
static int deliver(int from, int to, enum raft_msg_type type, bool keep)
{
        struct raft_msg batch[MAX_MSGS];
        size_t n = n_net;

        memcpy(batch, net, n * sizeof(*batch));
        n_net = 0;
        for (size_t k = 0; k < n; k++) {
                struct raft_msg *m = &batch[k];
                int dst = node_of(m->to);
                bool match = (from < 0 || node_of(m->from) == from) && (to < 0 || dst == to) &&
                             (type == 0 || m->type == type);

                if (match) {
                        if (raft_receive(nodes[dst].raft, now, m, &nodes[dst].out) != RAFT_OK ||
                            collect(dst) < 0)
                                return -1;
                        raft_msg_clear(m);
                } else if (keep) {
                        net[n_net++] = *m;
                } else {
                        raft_msg_clear(m);
                }
        }
        return 0;
}

static int new_node(int i, uint64_t seed)
{
        struct raft_options o;

        raft_options_default(&o, ids[i], seed);
        o.disable_pre_vote = true;
        o.disable_check_quorum = true;
        return raft_new(&o, &nodes[i].raft) == RAFT_OK ? 0 : -1;
}

static enum raft_role role_of(int i)
{
        struct raft_status st;

        raft_status(nodes[i].raft, &st);
        return st.role;
}

static int campaign(int i)
{
        for (int k = 0; k < 100 && role_of(i) != RAFT_CANDIDATE; k++) {
                now += 20;
                if (raft_tick(nodes[i].raft, now, &nodes[i].out) != RAFT_OK || collect(i) < 0)
                        return -1;
        }
        return role_of(i) == RAFT_CANDIDATE ? 0 : -1;
}

/* 0: ran to the end, *ret is n1's status; 1: n1 held its vote requests; <0: failed. */
static int script(struct raft_status *ret)
{
        struct raft_server servers[N];
        struct raft_config cfg = { .n = N, .servers = servers };
        struct raft_msg grant;
        bool have_grant = false;
        static const uint8_t x[] = "X";

        memset(servers, 0, sizeof(servers));
        for (int i = 0; i < N; i++) {
                snprintf(servers[i].id, sizeof(servers[i].id), "%s", ids[i]);
                snprintf(servers[i].address, sizeof(servers[i].address), "h%d:1", i);
                servers[i].voter = true;
        }
        for (int i = 0; i < N; i++) {
                raft_output_init(&nodes[i].out);
                if (new_node(i, 100 + i) < 0 ||
                    raft_bootstrap(nodes[i].raft, &cfg, now, &nodes[i].out) != RAFT_OK ||
                    raft_start(nodes[i].raft, now, &nodes[i].out) != RAFT_OK || collect(i) < 0 ||
                    sync_disk(i) < 0)
                        return -1;
        }
        /* 1. n2 leads term 2 and commits X on n2 + n3; n1 never syncs. */
        if (campaign(1) < 0 || sync_disk(1) < 0 || deliver(1, -1, RAFT_MSG_VOTE, false) < 0 ||
            sync_disk(0) < 0 || sync_disk(2) < 0 || deliver(-1, 1, RAFT_MSG_VOTE_RESP, false) < 0)
                return -1;
        if (role_of(1) != RAFT_LEADER ||
            raft_propose(nodes[1].raft, now, 7, x, 1, now + 100000, &nodes[1].out) != RAFT_OK ||
            collect(1) < 0 || sync_disk(1) < 0)
                return -1;
        for (int round = 0; round < 6; round++) {
                now += 60;
                if (raft_tick(nodes[1].raft, now, &nodes[1].out) != RAFT_OK || collect(1) < 0 ||
                    deliver(1, -1, RAFT_MSG_APPEND, true) < 0 || sync_disk(2) < 0 ||
                    deliver(-1, 1, RAFT_MSG_APPEND_RESP, true) < 0 || sync_disk(1) < 0)
                        return -1;
        }
        raft_status(nodes[1].raft, ret);
        if (ret->commit_index < 3 || raft_last_index(nodes[0].raft) < 3)
                return -1;
        deliver(-1, -1, 0, false); /* n2 is cut off from here on */
        /* 2. n1 campaigns for term 3 advertising index 3; n3's grant is delayed.
         * A core that holds RequestVote until the term, the vote and the log
         * it advertises are durable cannot be led into F2 at all. */
        if (campaign(0) < 0)
                return -1;
        {
                bool sent = false;

                for (size_t k = 0; k < n_net; k++)
                        sent |= net[k].type == RAFT_MSG_VOTE && node_of(net[k].from) == 0;
                if (!sent)
                        return 1;
        }
        if (deliver(0, 2, RAFT_MSG_VOTE, false) < 0 || sync_disk(2) < 0)
                return -1;
        for (size_t k = 0; k < n_net; k++)
                if (net[k].type == RAFT_MSG_VOTE_RESP && net[k].vote_resp.granted && !have_grant) {
                        grant = net[k];
                        have_grant = true;
                } else {
                        raft_msg_clear(&net[k]);
                }
        n_net = 0;
        if (!have_grant)
                return -1;
        /* 3. n1 crashes: only its durable events survive. */
        raft_free(nodes[0].raft);
        nodes[0].n_written = nodes[0].n_durable;
        if (new_node(0, 999) < 0)
                return -1;
        for (size_t k = 0; k < nodes[0].n_durable; k++)
                if (raft_replay(nodes[0].raft, &nodes[0].written[k]) != RAFT_OK)
                        return -1;
        if (raft_start(nodes[0].raft, now, &nodes[0].out) != RAFT_OK || collect(0) < 0 ||
            campaign(0) < 0 || sync_disk(0) < 0 || deliver(0, 2, RAFT_MSG_VOTE, false) < 0 ||
            sync_disk(2) < 0 || deliver(2, 0, RAFT_MSG_VOTE_RESP, false) < 0)
                return -1;
        if (raft_receive(nodes[0].raft, now, &grant, &nodes[0].out) != RAFT_OK || collect(0) < 0 ||
            sync_disk(0) < 0)
                return -1;
        raft_msg_clear(&grant);
        raft_status(nodes[0].raft, ret);
        return 0;
}

int main(void)
{
        struct raft_status st;
        const struct raft_entry *e;
        int r = script(&st);

        if (r < 0) {
                fprintf(stderr, "repro-stale-vote: the script could not reach its set-up\n");
                return 2;
        }
        if (r == 1) {
                printf("n1 sends no RequestVote before its term, vote and log are durable: "
                       "F2 cannot happen\n");
                return 0;
        }
        e = raft_log_get(nodes[0].raft, 3);
        printf("n1 after the delayed grant: %s of term %llu, last index %llu, index 3 %s\n",
               raft_role_str(st.role), (unsigned long long) st.term,
               (unsigned long long) st.last_index,
               e && e->term == 2 ? "is X" : "is not X (X was committed by n2 and n3)");
        for (int i = 0; i < N; i++) {
                for (size_t k = 0; k < nodes[i].n_written; k++)
                        raft_event_clear(&nodes[i].written[k]);
                raft_output_free(&nodes[i].out);
                raft_free(nodes[i].raft);
        }
        if (st.role == RAFT_LEADER && !(e && e->term == 2)) {
                printf("F2 present: a leader of term 3 lacks committed entry 3\n");
                return 1;
        }
        printf("F2 absent\n");
        return 0;
}
