/* tests/unit/raft/harness.c: see harness.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

static void *xrealloc(void *p, size_t n)
{
        void *q = realloc(p, n);

        assert_non_null(q);
        return q;
}

void h_config(struct raft_config *c, size_t n)
{
        size_t i;

        c->n = n;
        c->servers = calloc(n, sizeof(*c->servers));
        assert_non_null(c->servers);
        for (i = 0; i < n; i++) {
                snprintf(c->servers[i].id, sizeof(c->servers[i].id), "n%zu", i + 1);
                snprintf(c->servers[i].address, sizeof(c->servers[i].address),
                         "127.0.0.1:%zu", 7000 + i);
                c->servers[i].voter = true;
        }
}

void h_new_node(struct h_cluster *c, size_t i)
{
        struct h_node *nd = &c->nodes[i];

        assert_int_equal(raft_new(&nd->opts, &nd->r), RAFT_OK);
}

void h_init(struct h_cluster *c, size_t n, void (*tweak)(struct raft_options *o))
{
        struct raft_config cfg;
        size_t i;

        memset(c, 0, sizeof(*c));
        c->n = n;
        c->now = 1000;
        h_config(&cfg, n);
        for (i = 0; i < n; i++) {
                struct h_node *nd = &c->nodes[i];

                snprintf(nd->id, sizeof(nd->id), "n%zu", i + 1);
                raft_options_default(&nd->opts, nd->id, i + 1);
                if (tweak)
                        tweak(&nd->opts);
                nd->opts.id = nd->id;
                nd->auto_persist = true;
                raft_output_init(&nd->out);
                h_new_node(c, i);
                assert_int_equal(raft_bootstrap(nd->r, &cfg, c->now, &nd->out), RAFT_OK);
                assert_int_equal(raft_start(nd->r, c->now, &nd->out), RAFT_OK);
                h_process(c, i);
        }
        raft_config_clear(&cfg);
}

static void node_free(struct h_node *nd)
{
        size_t i;

        raft_free(nd->r);
        nd->r = NULL;
        raft_output_free(&nd->out);
        for (i = 0; i < nd->n_events; i++)
                raft_event_clear(&nd->events[i]);
        free(nd->events);
        free(nd->applied);
        free(nd->answers);
        free(nd->hash_at);
        free(nd->snaps);
}

void h_free(struct h_cluster *c)
{
        size_t i;

        for (i = 0; i < c->n; i++)
                node_free(&c->nodes[i]);
        h_drop_all(c);
        free(c->queue);
        for (i = 0; i < c->nx; i++)
                raft_config_clear(&c->xfers[i].config);
        free(c->xfers);
}

size_t h_index(const struct h_cluster *c, const char *id)
{
        size_t i;

        for (i = 0; i < c->n; i++)
                if (strcmp(c->nodes[i].id, id) == 0)
                        return i;
        return SIZE_MAX;
}

static void enqueue(struct h_cluster *c, size_t from, const struct raft_msg *m)
{
        size_t to = h_index(c, m->to);

        if (to == SIZE_MAX || c->cut[from][to])
                return;
        if (c->nq == c->capq) {
                c->capq = c->capq ? 2 * c->capq : 64;
                c->queue = xrealloc(c->queue, c->capq * sizeof(*c->queue));
        }
        assert_int_equal(raft_msg_copy(m, &c->queue[c->nq]), RAFT_OK);
        c->nq++;
}

static uint64_t mix(uint64_t z)
{
        z += UINT64_C(0x9e3779b97f4a7c15);
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static void push_applied(struct h_node *nd, raft_index_t index, raft_term_t term,
                         enum raft_entry_type type, uint64_t handle, bool restored)
{
        if (nd->n_applied == nd->cap_applied) {
                nd->cap_applied = nd->cap_applied ? 2 * nd->cap_applied : 16;
                nd->applied = xrealloc(nd->applied, nd->cap_applied * sizeof(*nd->applied));
        }
        nd->applied[nd->n_applied].index = index;
        nd->applied[nd->n_applied].term = term;
        nd->applied[nd->n_applied].type = type;
        nd->applied[nd->n_applied].handle = handle;
        nd->applied[nd->n_applied].restored = restored;
        nd->n_applied++;
}

static void sm_set(struct h_node *nd, raft_index_t index, uint64_t hash)
{
        if (index >= nd->cap_hash_at) {
                size_t ncap = nd->cap_hash_at ? nd->cap_hash_at : 64;

                while (ncap <= index)
                        ncap *= 2;
                nd->hash_at = xrealloc(nd->hash_at, ncap * sizeof(*nd->hash_at));
                memset(nd->hash_at + nd->cap_hash_at, 0,
                       (ncap - nd->cap_hash_at) * sizeof(*nd->hash_at));
                nd->cap_hash_at = ncap;
        }
        nd->hash_at[index] = hash;
        nd->sm_hash = hash;
        nd->sm_index = index;
}

const struct h_snap *h_snap_find(const struct h_node *nd, raft_index_t index)
{
        size_t k;

        for (k = 0; k < nd->n_snaps; k++)
                if (nd->snaps[k].index == index)
                        return &nd->snaps[k];
        return NULL;
}

void h_snap_add(struct h_node *nd, struct h_snap s)
{
        if (nd->n_snaps == nd->cap_snaps) {
                nd->cap_snaps = nd->cap_snaps ? 2 * nd->cap_snaps : 8;
                nd->snaps = xrealloc(nd->snaps, nd->cap_snaps * sizeof(*nd->snaps));
        }
        nd->snaps[nd->n_snaps++] = s;
}

static struct h_xfer *xfer_push(struct h_cluster *c)
{
        struct h_xfer *x;

        if (c->nx == c->capx) {
                c->capx = c->capx ? 2 * c->capx : 8;
                c->xfers = xrealloc(c->xfers, c->capx * sizeof(*c->xfers));
        }
        x = &c->xfers[c->nx++];
        memset(x, 0, sizeof(*x));
        return x;
}

void h_process(struct h_cluster *c, size_t i)
{
        struct h_node *nd = &c->nodes[i];
        struct h_xfer *xfer;
        size_t k;

        for (k = 0; k < nd->out.n; k++) {
                const struct raft_effect *fx = &nd->out.effects[k];

                switch (fx->type) {
                case RAFT_FX_PERSIST:
                        if (nd->n_events == nd->cap_events) {
                                nd->cap_events = nd->cap_events ? 2 * nd->cap_events : 16;
                                nd->events = xrealloc(nd->events,
                                                      nd->cap_events * sizeof(*nd->events));
                        }
                        assert_int_equal(fx->event.seq, nd->n_events + 1);
                        assert_int_equal(raft_event_copy(&fx->event, &nd->events[nd->n_events]),
                                         RAFT_OK);
                        nd->n_events++;
                        break;
                case RAFT_FX_SEND:
                        enqueue(c, i, &fx->msg);
                        break;
                case RAFT_FX_APPLY:
                        /* APPLY in index order, no gaps. */
                        if (nd->n_applied > 0)
                                assert_int_equal(fx->entry.index,
                                                 nd->applied[nd->n_applied - 1].index + 1);
                        push_applied(nd, fx->entry.index, fx->entry.term, fx->entry.type,
                                     fx->handle, false);
                        sm_set(nd, fx->entry.index,
                               mix(nd->sm_hash ^ mix(fx->entry.index * 31 + fx->entry.term) ^
                                   (uint64_t)fx->entry.type));
                        break;
                case RAFT_FX_RESTORE:
                        /* Load the snapshot the node was just given. */
                        assert_int_equal(fx->snapshot.index, nd->incoming.index);
                        push_applied(nd, fx->snapshot.index, fx->snapshot.index_term,
                                     RAFT_ENTRY_NOOP, 0, true);
                        sm_set(nd, fx->snapshot.index, nd->incoming.hash);
                        h_snap_add(nd, nd->incoming);
                        nd->n_restores++;
                        break;
                case RAFT_FX_SEND_SNAPSHOT:
                        assert_non_null(h_snap_find(nd, fx->snapshot.index));
                        xfer = xfer_push(c);
                        xfer->from = i;
                        memcpy(xfer->to, fx->snapshot.peer, sizeof(xfer->to));
                        xfer->term = fx->snapshot.term;
                        xfer->index = fx->snapshot.index;
                        xfer->index_term = fx->snapshot.index_term;
                        assert_int_equal(raft_config_copy(&fx->snapshot.config, &xfer->config),
                                         RAFT_OK);
                        break;
                case RAFT_FX_SNAPSHOT_REPLY:
                        xfer = xfer_push(c);
                        xfer->from = i;
                        xfer->reply = true;
                        memcpy(xfer->to, fx->snapshot.peer, sizeof(xfer->to));
                        xfer->term = fx->snapshot.term;
                        xfer->index = fx->snapshot.index;
                        xfer->success = fx->snapshot.success;
                        break;
                default:
                        if (nd->n_answers == nd->cap_answers) {
                                nd->cap_answers = nd->cap_answers ? 2 * nd->cap_answers : 16;
                                nd->answers = xrealloc(nd->answers,
                                                       nd->cap_answers * sizeof(*nd->answers));
                        }
                        nd->answers[nd->n_answers++] = *fx;
                        break;
                }
        }
        raft_output_reset(&nd->out);
        if (nd->auto_persist && !nd->down && nd->durable < nd->n_events)
                h_persist(c, i);
}

void h_persist(struct h_cluster *c, size_t i)
{
        struct h_node *nd = &c->nodes[i];

        if (nd->down)
                return;
        nd->durable = nd->n_events;
        assert_int_equal(raft_persisted(nd->r, c->now, nd->durable, &nd->out), RAFT_OK);
        h_process(c, i);
}

bool h_deliver_one(struct h_cluster *c)
{
        struct raft_msg m;
        size_t to;

        if (c->nq == 0)
                return false;
        m = c->queue[0];
        memmove(c->queue, c->queue + 1, (c->nq - 1) * sizeof(*c->queue));
        c->nq--;
        to = h_index(c, m.to);
        if (to != SIZE_MAX && !c->nodes[to].down) {
                assert_int_equal(raft_receive(c->nodes[to].r, c->now, &m, &c->nodes[to].out),
                                 RAFT_OK);
                h_process(c, to);
        }
        raft_msg_clear(&m);
        return true;
}

void h_deliver_all(struct h_cluster *c)
{
        size_t limit = 100000;

        while (limit-- > 0 && h_deliver_one(c))
                ;
        assert_true(limit > 0);
}

void h_drop_all(struct h_cluster *c)
{
        size_t k;

        for (k = 0; k < c->nq; k++)
                raft_msg_clear(&c->queue[k]);
        c->nq = 0;
}

void h_run(struct h_cluster *c, raft_time_t ms)
{
        raft_time_t end = c->now + ms;
        size_t i;

        while (c->now < end) {
                c->now++;
                for (i = 0; i < c->n; i++) {
                        struct h_node *nd = &c->nodes[i];

                        if (nd->down || raft_next_deadline(nd->r) > c->now)
                                continue;
                        assert_int_equal(raft_tick(nd->r, c->now, &nd->out), RAFT_OK);
                        h_process(c, i);
                }
                if (!c->hold) {
                        h_deliver_all(c);
                        h_deliver_snapshots(c);
                }
        }
}

int h_leader(const struct h_cluster *c)
{
        struct raft_status st;
        raft_term_t best = 0;
        int who = -1;
        size_t i;

        for (i = 0; i < c->n; i++) {
                if (c->nodes[i].down)
                        continue;
                raft_status(c->nodes[i].r, &st);
                if (st.role == RAFT_LEADER && st.term >= best) {
                        best = st.term;
                        who = (int)i;
                }
        }
        return who;
}

int h_run_until_leader(struct h_cluster *c, raft_time_t ms)
{
        raft_time_t end = c->now + ms;

        while (c->now < end) {
                h_run(c, 1);
                if (h_leader(c) >= 0)
                        return h_leader(c);
        }
        return -1;
}

void h_isolate(struct h_cluster *c, size_t i, bool isolated)
{
        size_t j;

        for (j = 0; j < c->n; j++) {
                if (j == i)
                        continue;
                c->cut[i][j] = isolated;
                c->cut[j][i] = isolated;
        }
}

void h_crash(struct h_cluster *c, size_t i)
{
        struct h_node *nd = &c->nodes[i];
        size_t k, j;

        /* A snapshot stream to the crashed node breaks: its sender hears
         * of it (the reply it waited for may have died unsent). */
        for (j = 0; j < c->n; j++) {
                struct raft_status st;

                if (j == i || c->nodes[j].down)
                        continue;
                raft_status(c->nodes[j].r, &st);
                for (k = 0; k < st.n_peers; k++) {
                        if (strcmp(st.peers[k].id, nd->id) != 0 || !st.peers[k].sending_snapshot)
                                continue;
                        assert_int_equal(raft_snapshot_sent(c->nodes[j].r, c->now, nd->id, 0, 0,
                                                            false, &c->nodes[j].out),
                                         RAFT_OK);
                        h_process(c, j);
                }
        }

        raft_free(nd->r);
        nd->r = NULL;
        raft_output_reset(&nd->out);
        for (k = nd->durable; k < nd->n_events; k++)
                raft_event_clear(&nd->events[k]);
        nd->n_events = nd->durable;
        nd->down = true;
}

void h_restart(struct h_cluster *c, size_t i)
{
        struct h_node *nd = &c->nodes[i];
        size_t k;

        if (nd->r)
                h_crash(c, i);
        h_new_node(c, i);
        for (k = 0; k < nd->n_events; k++)
                assert_int_equal(raft_replay(nd->r, &nd->events[k]), RAFT_OK);
        nd->down = false;
        nd->n_applied = 0;
        nd->sm_hash = 0;
        nd->sm_index = 0;
        if (nd->hash_at)
                memset(nd->hash_at, 0, nd->cap_hash_at * sizeof(*nd->hash_at));
        /* The state machine starts from the snapshot of the newest durable
         * SnapshotTaken event (the shell's job at start-up). */
        for (k = nd->n_events; k > 0; k--) {
                const struct raft_event *ev = &nd->events[k - 1];
                const struct h_snap *sn;

                if (ev->type != RAFT_EV_SNAPSHOT)
                        continue;
                sn = h_snap_find(nd, ev->snapshot.index);
                assert_non_null(sn);
                push_applied(nd, sn->index, ev->snapshot.term, RAFT_ENTRY_NOOP, 0, true);
                sm_set(nd, sn->index, sn->hash);
                break;
        }
        assert_int_equal(raft_start(nd->r, c->now, &nd->out), RAFT_OK);
        h_process(c, i);
}

const struct raft_effect *h_answer(const struct h_cluster *c, size_t i, uint64_t handle,
                                   enum raft_effect_type type)
{
        const struct h_node *nd = &c->nodes[i];
        size_t k;

        for (k = 0; k < nd->n_answers; k++)
                if (nd->answers[k].type == type && nd->answers[k].handle == handle)
                        return &nd->answers[k];
        return NULL;
}

const struct h_applied *h_applied_handle(const struct h_cluster *c, size_t i, uint64_t handle)
{
        const struct h_node *nd = &c->nodes[i];
        size_t k;

        for (k = 0; k < nd->n_applied; k++)
                if (nd->applied[k].handle == handle)
                        return &nd->applied[k];
        return NULL;
}

size_t h_count_queued(const struct h_cluster *c, enum raft_msg_type type, const char *from)
{
        size_t k, n = 0;

        for (k = 0; k < c->nq; k++)
                if (c->queue[k].type == type && (!from || strcmp(c->queue[k].from, from) == 0))
                        n++;
        return n;
}

size_t fx_count(const struct raft_output *out, enum raft_effect_type type)
{
        size_t k, n = 0;

        for (k = 0; k < out->n; k++)
                if (out->effects[k].type == type)
                        n++;
        return n;
}

const struct raft_effect *fx_find(const struct raft_output *out, enum raft_effect_type type,
                                  size_t nth)
{
        size_t k;

        for (k = 0; k < out->n; k++)
                if (out->effects[k].type == type && nth-- == 0)
                        return &out->effects[k];
        return NULL;
}

const struct raft_effect *fx_find_msg(const struct raft_output *out, enum raft_msg_type type,
                                      size_t nth)
{
        size_t k;

        for (k = 0; k < out->n; k++)
                if (out->effects[k].type == RAFT_FX_SEND && out->effects[k].msg.type == type &&
                    nth-- == 0)
                        return &out->effects[k];
        return NULL;
}

/* ---- one node driven by hand --------------------------------------------- */

void solo_init(struct solo *s, const char *id, size_t n, void (*tweak)(struct raft_options *o))
{
        struct raft_options o;
        struct raft_config cfg;

        memset(s, 0, sizeof(*s));
        s->now = 1000;
        raft_options_default(&o, id, 42);
        if (tweak)
                tweak(&o);
        o.id = id;
        raft_output_init(&s->out);
        assert_int_equal(raft_new(&o, &s->r), RAFT_OK);
        h_config(&cfg, n);
        assert_int_equal(raft_bootstrap(s->r, &cfg, s->now, &s->out), RAFT_OK);
        raft_config_clear(&cfg);
        assert_int_equal(raft_start(s->r, s->now, &s->out), RAFT_OK);
        solo_persist(s);
        raft_output_reset(&s->out);
}

void solo_free(struct solo *s)
{
        raft_free(s->r);
        raft_output_free(&s->out);
}

raft_seq_t solo_last_seq(const struct solo *s)
{
        struct raft_status st;

        raft_status(s->r, &st);
        return st.last_seq;
}

void solo_persist(struct solo *s)
{
        assert_int_equal(raft_persisted(s->r, s->now, solo_last_seq(s), &s->out), RAFT_OK);
}

void solo_recv(struct solo *s, const struct raft_msg *m)
{
        assert_int_equal(raft_receive(s->r, s->now, m, &s->out), RAFT_OK);
}

void solo_tick(struct solo *s, raft_time_t advance)
{
        s->now += advance;
        assert_int_equal(raft_tick(s->r, s->now, &s->out), RAFT_OK);
}

void solo_make_leader(struct solo *s)
{
        struct raft_status st;
        struct raft_msg m;

        solo_tick(s, 1000);
        raft_status(s->r, &st);
        assert_int_equal(st.role, RAFT_PRE_CANDIDATE);
        m = msg_vote_resp("n2", st.id, st.term + 1, true, true);
        solo_recv(s, &m);
        raft_status(s->r, &st);
        assert_int_equal(st.role, RAFT_CANDIDATE);
        m = msg_vote_resp("n2", st.id, st.term, true, false);
        solo_recv(s, &m);
        solo_persist(s);
        raft_status(s->r, &st);
        assert_int_equal(st.role, RAFT_LEADER);
        solo_persist(s);
        raft_output_reset(&s->out);
}

struct raft_msg msg_vote(const char *from, const char *to, raft_term_t term,
                         raft_index_t last_index, raft_term_t last_term, bool pre_vote)
{
        struct raft_msg m;

        memset(&m, 0, sizeof(m));
        m.type = RAFT_MSG_VOTE;
        snprintf(m.from, sizeof(m.from), "%s", from);
        snprintf(m.to, sizeof(m.to), "%s", to);
        m.term = term;
        m.vote.last_index = last_index;
        m.vote.last_term = last_term;
        m.vote.pre_vote = pre_vote;
        return m;
}

struct raft_msg msg_vote_resp(const char *from, const char *to, raft_term_t term, bool granted,
                              bool pre_vote)
{
        struct raft_msg m;

        memset(&m, 0, sizeof(m));
        m.type = RAFT_MSG_VOTE_RESP;
        snprintf(m.from, sizeof(m.from), "%s", from);
        snprintf(m.to, sizeof(m.to), "%s", to);
        m.term = term;
        m.vote_resp.granted = granted;
        m.vote_resp.pre_vote = pre_vote;
        return m;
}

/* Entries prev+1..prev+n with the given terms, type NOOP, no data. The
 * returned message owns static storage: valid until the next call. */
struct raft_msg msg_append(const char *from, const char *to, raft_term_t term, raft_index_t prev,
                           raft_term_t prev_term, raft_index_t commit, size_t n,
                           const raft_term_t *terms)
{
        static struct raft_entry entries[64];
        struct raft_msg m;
        size_t i;

        assert_true(n <= 64);
        memset(&m, 0, sizeof(m));
        m.type = RAFT_MSG_APPEND;
        snprintf(m.from, sizeof(m.from), "%s", from);
        snprintf(m.to, sizeof(m.to), "%s", to);
        m.term = term;
        m.append.prev_index = prev;
        m.append.prev_term = prev_term;
        m.append.commit = commit;
        for (i = 0; i < n; i++) {
                memset(&entries[i], 0, sizeof(entries[i]));
                entries[i].index = prev + 1 + i;
                entries[i].term = terms[i];
                entries[i].type = RAFT_ENTRY_NOOP;
        }
        m.append.n_entries = n;
        m.append.entries = n ? entries : NULL;
        return m;
}

struct raft_msg msg_append_resp(const char *from, const char *to, raft_term_t term,
                                bool success, raft_index_t prev, raft_index_t last_entry,
                                raft_index_t last_log, uint64_t round)
{
        struct raft_msg m;

        memset(&m, 0, sizeof(m));
        m.type = RAFT_MSG_APPEND_RESP;
        snprintf(m.from, sizeof(m.from), "%s", from);
        snprintf(m.to, sizeof(m.to), "%s", to);
        m.term = term;
        m.append_resp.success = success;
        m.append_resp.prev_index = prev;
        m.append_resp.last_entry = last_entry;
        m.append_resp.last_log = last_log;
        m.append_resp.round = round;
        return m;
}
