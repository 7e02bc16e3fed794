/* tests/unit/raft/harness_snap.c: the harness's snapshot "shell" and
 * joining nodes (see harness.h): snapshot files as state machine hashes,
 * streams on RAFT_FX_SEND_SNAPSHOT, installs and their answers.
 *
 * Owns: h_init_join, h_snapshot, h_deliver_snapshots, h_hash_at. Must
 * never: sleep or read a real clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/raft/harness.h"

uint64_t h_hash_at(const struct h_cluster *c, size_t i, raft_index_t index)
{
        const struct h_node *nd = &c->nodes[i];

        return index < nd->cap_hash_at ? nd->hash_at[index] : 0;
}

void h_init_join(struct h_cluster *c, size_t n, size_t n_boot,
                 void (*tweak)(struct raft_options *o))
{
        struct raft_config cfg;
        size_t i;

        memset(c, 0, sizeof(*c));
        c->n = n;
        c->now = 1000;
        h_config(&cfg, n_boot);
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
                if (i < n_boot)
                        assert_int_equal(raft_bootstrap(nd->r, &cfg, c->now, &nd->out),
                                         RAFT_OK);
                assert_int_equal(raft_start(nd->r, c->now, &nd->out), RAFT_OK);
                h_process(c, i);
        }
        raft_config_clear(&cfg);
}

bool h_snapshot(struct h_cluster *c, size_t i)
{
        struct h_node *nd = &c->nodes[i];
        struct raft_status st;
        struct h_snap sn;

        if (nd->down)
                return false;
        raft_status(nd->r, &st);
        assert_int_equal(st.applied_index, nd->sm_index);
        if (nd->sm_index == 0 || nd->sm_index <= st.snapshot_index)
                return false;
        sn.index = nd->sm_index;
        sn.hash = nd->sm_hash;
        /* The file is durable first, then the core is told. */
        h_snap_add(nd, sn);
        assert_int_equal(raft_snapshot_taken(nd->r, c->now, sn.index, &nd->out), RAFT_OK);
        h_process(c, i);
        return true;
}

void h_deliver_snapshots(struct h_cluster *c)
{
        while (c->nx > 0) {
                struct h_xfer x = c->xfers[0];
                size_t to = h_index(c, x.to);
                struct h_node *src = &c->nodes[x.from], *dst;
                bool reachable;

                memmove(c->xfers, c->xfers + 1, (c->nx - 1) * sizeof(*c->xfers));
                c->nx--;
                reachable = to != SIZE_MAX && !c->nodes[to].down && !c->cut[x.from][to] &&
                            !c->cut[to][x.from];
                if (x.reply) {
                        if (!reachable && to != SIZE_MAX && !c->nodes[to].down) {
                                /* The leader's stream ends with an error. */
                                dst = &c->nodes[to];
                                assert_int_equal(raft_snapshot_sent(dst->r, c->now, src->id, 0,
                                                                    x.index, false, &dst->out),
                                                 RAFT_OK);
                                h_process(c, to);
                        } else if (reachable) {
                                dst = &c->nodes[to];
                                assert_int_equal(raft_snapshot_sent(dst->r, c->now, src->id,
                                                                    x.term, x.index, x.success,
                                                                    &dst->out),
                                                 RAFT_OK);
                                h_process(c, to);
                        }
                        continue;
                }
                if (!reachable) {
                        if (!src->down) {
                                assert_int_equal(raft_snapshot_sent(src->r, c->now, x.to, 0,
                                                                    x.index, false, &src->out),
                                                 RAFT_OK);
                                h_process(c, x.from);
                        }
                        raft_config_clear(&x.config);
                        continue;
                }
                dst = &c->nodes[to];
                dst->incoming = *h_snap_find(src, x.index);
                assert_int_equal(raft_install_snapshot(dst->r, c->now, src->id, x.term, x.index,
                                                       x.index_term, &x.config, &dst->out),
                                 RAFT_OK);
                h_process(c, to);
                raft_config_clear(&x.config);
        }
}
