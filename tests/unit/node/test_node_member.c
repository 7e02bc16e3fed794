/* tests/unit/node/test_node_member.c: membership changes through the admin socket, on three
 * nodes in one process (daemon/node/admin_member.c, peers.c's peer set, raft_service.c's
 * thesis 4.1 rule).
 *
 * Checks: a change sent to a follower is answered FAILED_PRECONDITION naming the leader and
 * its address; a second change while the first is uncommitted is refused with the core's
 * "one change at a time" sentence; removing a follower is answered once committed with the
 * configuration, the leader then closes its channel to it, and the removed node (still
 * running, its timers firing) does not disturb the leader's term; added back as a learner
 * it is promoted automatically and catches up. Needs root (the admin socket's credentials).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/node/node_internal.h"
#include "rafktor.pb-c.h"
#include "tests/unit/node/cluster.h"

#define ELECTION_WAIT_MS 10000
#define ADMIN(m) "/rafktor.v1.Admin/" m

struct fixture {
        struct tcluster c;
        struct net_channel *sock[TC_NODES];
};

static int setup_rounds(void **state, uint32_t catchup_rounds)
{
        struct fixture *f = calloc(1, sizeof(*f));
        struct net_channel_options co = { .backoff_initial_ms = 100, .backoff_min_ms = 2000,
                                          .backoff_max_ms = 500 };
        char addr[160];

        if (!f)
                return -1;
        tc_init(&f->c, 2000);
        f->c.admin_endpoints = true;
        for (int i = 0; i < TC_NODES; i++) {
                /* Slower elections than tc_init's: a loaded sanitizer run (three nodes on
                 * one loop) must not lose its leader to late heartbeats while a removal
                 * leaves the leader one other voter to hear from. */
                f->c.n[i].cfg.election_timeout_min_ms = 1000;
                f->c.n[i].cfg.election_timeout_max_ms = 2000;
                f->c.n[i].cfg.heartbeat_ms = 100;
                f->c.n[i].cfg.catchup_rounds = catchup_rounds;
                if (catchup_rounds)     /* the add may take that many rounds */
                        f->c.n[i].cfg.request_timeout_ms = 20000;
        }
        for (int i = 0; i < TC_NODES; i++) {
                tc_start(&f->c, i);
                snprintf(addr, sizeof(addr), "unix:%s", f->c.n[i].admin_path);
                f->sock[i] = net_channel_new(f->c.loop, addr, &co);
                if (!f->sock[i])
                        return -1;
        }
        *state = f;
        return 0;
}

static int setup(void **state)
{
        return setup_rounds(state, 0);
}

/* rafktor.conf catchup_rounds = 2 on every node. */
static int setup_two_rounds(void **state)
{
        return setup_rounds(state, 2);
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        for (int i = 0; i < TC_NODES; i++)
                if (f->c.n[i].node)
                        tc_stop(&f->c, i);
        for (int i = 0; i < TC_NODES; i++)
                net_channel_free(f->sock[i]);
        tc_destroy(&f->c);
        free(f);
        return 0;
}

static void expect(const struct tresult *r, grpc_status_code want, const char *sentence,
                   const char *what)
{
        if (r->code != want)
                fail_msg("%s: code %d \"%s\", expected %d", what, (int)r->code, r->details,
                         (int)want);
        if (sentence && !strstr(r->details, sentence))
                fail_msg("%s: \"%s\" does not say \"%s\"", what, r->details, sentence);
}

static bool need_root(void)
{
        if (geteuid() == 0)
                return true;
        print_message("skipped: not root, and the admin socket accepts another uid only "
                      "through group rafktor\n");
        return false;
}

/* The member `id` in node i's configuration: NULL when absent. */
static const struct raft_server *member_of(struct fixture *f, int i, const char *id)
{
        return raft_config_find(raft_configuration(f->c.n[i].node->raft), id);
}

static void a_change_sent_to_a_follower_names_the_leader(void **state)
{
        struct fixture *f = *state;
        Rafktor__V1__AddMemberRequest add = RAFKTOR__V1__ADD_MEMBER_REQUEST__INIT;
        char want[200];
        struct tresult r;
        int l = tc_wait_leader(&f->c, ELECTION_WAIT_MS);
        int fo;

        if (!need_root()) {
                skip();
                return;
        }
        assert_true(l >= 0);
        fo = (l + 1) % TC_NODES;
        add.id = "n9";
        add.address = "127.0.0.1:1";
                tc_call_on(&f->c, f->sock[fo], ADMIN("AddMember"), &add.base, 5000, &r);
        snprintf(want, sizeof(want), "%s is not the leader; the leader is %s (%s)",
                 f->c.n[fo].cfg.id, f->c.n[l].cfg.id, f->c.n[l].cfg.listen);
        expect(&r, GRPC_STATUS_FAILED_PRECONDITION, want, "AddMember on a follower");
        tresult_clear(&r);
        assert_null(member_of(f, l, "n9"));
        /* Nonsense is refused before the core is asked. */
        add.address = "no-port";
        tc_call_on(&f->c, f->sock[l], ADMIN("AddMember"), &add.base, 5000, &r);
        expect(&r, GRPC_STATUS_INVALID_ARGUMENT, "must be HOST:PORT", "AddMember no-port");
        tresult_clear(&r);
}

struct async_call {
        bool done;
        grpc_status_code code;
        char details[512];
};

static void async_done(const struct net_result *res, void *user)
{
        struct async_call *a = user;

        a->code = res->code;
        snprintf(a->details, sizeof(a->details), "%s", res->details);
        a->done = true;
}

static bool both_done(void *arg)
{
        struct async_call *a = arg;

        return a[0].done && a[1].done;
}

/* The leader's index once it has committed an entry of its term (its NOOP: before that
 * it refuses membership changes); -1 when the test must be skipped (not root). */
static int leader_ready(struct fixture *f)
{
        int l = tc_wait_leader(&f->c, ELECTION_WAIT_MS);

        if (!need_root())
                return -1;
        assert_true(l >= 0);
        assert_true(tc_wait_caught_up(&f->c, l, l, ELECTION_WAIT_MS));
        return l;
}

static void a_second_change_while_one_is_uncommitted_is_refused(void **state)
{
        struct fixture *f = *state;
        Rafktor__V1__AddMemberRequest add[2] = { RAFKTOR__V1__ADD_MEMBER_REQUEST__INIT,
                                                  RAFKTOR__V1__ADD_MEMBER_REQUEST__INIT };
        struct async_call a[2] = { { 0 } };
        int64_t t0;
        int ok, refused;
        int l = leader_ready(f);

        if (l < 0) {
                skip();
                return;
        }
        add[0].id = "n8";
        add[1].id = "n7";
        for (int i = 0; i < 2; i++) {
                add[i].address = "127.0.0.1:1";
                        }
        t0 = net_loop_now_ms();
        /* Both leave before the loop runs: whichever the leader takes second arrives
         * before the first commits (the followers' acknowledgements go through this same
         * loop). */
        for (int i = 0; i < 2; i++)
                assert_int_equal(net_unary_call(f->sock[l], ADMIN("AddMember"), &add[i].base,
                                                NULL, t0 + 5000, async_done, &a[i]), 0);
        assert_int_equal(net_loop_run_until(f->c.loop, both_done, a, t0 + 8000), 0);
        ok = a[0].code == GRPC_STATUS_OK ? 0 : 1;
        refused = 1 - ok;
        if (a[ok].code != GRPC_STATUS_OK)
                fail_msg("neither change succeeded: \"%s\", \"%s\"", a[0].details,
                         a[1].details);
        if (a[refused].code != GRPC_STATUS_FAILED_PRECONDITION ||
            !strstr(a[refused].details, "one change at a time"))
                fail_msg("second change: code %d \"%s\"", (int)a[refused].code,
                         a[refused].details);
        assert_non_null(member_of(f, l, add[ok].id));
        assert_false(member_of(f, l, add[ok].id)->voter); /* never caught up: 127.0.0.1:1 */
        assert_null(member_of(f, l, add[refused].id));
}

struct peer_gone {
        struct node *n;
        const char *id;
};

static bool no_channel_to(void *arg)
{
        struct peer_gone *w = arg;

        for (size_t i = 0; i < w->n->n_peers; i++)
                if (strcmp(w->n->peers[i]->id, w->id) == 0 && w->n->peers[i]->ch)
                        return false;
        return true;
}

struct term_watch {
        struct node *n;
        raft_term_t term;
};

static bool leader_disturbed(void *arg)
{
        struct term_watch *w = arg;
        struct raft_status st;

        node_raft_status(w->n, &st);
        return st.term != w->term || st.role != RAFT_LEADER;
}

struct voter_wait {
        struct fixture *f;
        int l;
        const char *id;
};

static bool is_voter(void *arg)
{
        struct voter_wait *w = arg;
        const struct raft_server *s = member_of(w->f, w->l, w->id);

        return s && s->voter;
}

static void a_removed_follower_is_cut_off_cannot_disrupt_and_can_be_added_back(void **state)
{
        struct fixture *f = *state;
        struct tcluster *c = &f->c;
        Rafktor__V1__RemoveMemberRequest rm = RAFKTOR__V1__REMOVE_MEMBER_REQUEST__INIT;
        Rafktor__V1__AddMemberRequest add = RAFKTOR__V1__ADD_MEMBER_REQUEST__INIT;
        Rafktor__V1__MembersResponse *m;
        struct raft_status st;
        struct tresult r;
        int l = tc_wait_leader(c, ELECTION_WAIT_MS);
        int gone, stay;

        if (!need_root()) {
                skip();
                return;
        }
        assert_true(l >= 0);
        gone = (l + 1) % TC_NODES;
        stay = (l + 2) % TC_NODES;
        assert_true(tc_wait_caught_up(c, gone, l, ELECTION_WAIT_MS));
        rm.id = c->n[gone].cfg.id;
        tc_call_on(c, f->sock[l], ADMIN("RemoveMember"), &rm.base, 5000, &r);
        expect(&r, GRPC_STATUS_OK, NULL, "RemoveMember of a follower");
        m = rafktor__v1__members_response__unpack(NULL, r.len, r.data);
        tresult_clear(&r);
        assert_non_null(m);
        assert_int_equal(m->n_members, 2);
        for (size_t i = 0; i < m->n_members; i++)
                assert_string_not_equal(m->members[i]->id, c->n[gone].cfg.id);
        rafktor__v1__members_response__free_unpacked(m, NULL);

        /* The leader closes its channel to the removed node once the removal committed. */
        assert_int_equal(net_loop_run_until(c->loop, no_channel_to,
                                            &(struct peer_gone){ c->n[l].node,
                                                                 c->n[gone].cfg.id },
                                            net_loop_now_ms() + ELECTION_WAIT_MS),
                         0);
        /* The removed node keeps running: for 3 election timeouts (an observation window)
         * the leader's term and role do not move. */
        node_raft_status(c->n[l].node, &st);
        assert_int_equal(net_loop_run_until(c->loop, leader_disturbed,
                                            &(struct term_watch){ c->n[l].node, st.term },
                                            net_loop_now_ms() +
                                            3 * (int64_t)c->n[l].cfg.election_timeout_max_ms),
                         -ETIMEDOUT);
        assert_true(tc_wait_caught_up(c, stay, l, ELECTION_WAIT_MS));

        /* Added back as a learner: answered on commit, promoted once caught up. */
        add.id = c->n[gone].cfg.id;
        add.address = c->n[gone].cfg.listen;
                tc_call_on(c, f->sock[l], ADMIN("AddMember"), &add.base, 5000, &r);
        expect(&r, GRPC_STATUS_OK, NULL, "AddMember of the removed node");
        tresult_clear(&r);
        assert_non_null(member_of(f, l, c->n[gone].cfg.id));
        assert_int_equal(net_loop_run_until(c->loop, is_voter,
                                            &(struct voter_wait){ f, l, c->n[gone].cfg.id },
                                            net_loop_now_ms() + ELECTION_WAIT_MS),
                         0);
        assert_true(tc_wait_caught_up(c, gone, l, ELECTION_WAIT_MS));
}

/* catchup_rounds (rafktor.conf(5)) reaches the core: AddMember of a learner that never
 * catches up (nobody listens at its address) fails with the core's sentence after the
 * configured rounds, each ending without progress after 2 x election_timeout_max_ms; the
 * learner stays in the configuration, as a learner. */
static void an_add_whose_learner_never_catches_up_fails_after_catchup_rounds(void **state)
{
        struct fixture *f = *state;
        Rafktor__V1__AddMemberRequest add = RAFKTOR__V1__ADD_MEMBER_REQUEST__INIT;
        const struct raft_server *m;
        struct tresult r;
        int64_t t0, ms;
        int l = leader_ready(f);

        if (l < 0) {
                skip();
                return;
        }
        add.id = "n9";
        add.address = "127.0.0.1:1";
        t0 = net_loop_now_ms();
        tc_call_on(&f->c, f->sock[l], ADMIN("AddMember"), &add.base, 30000, &r);
        ms = net_loop_now_ms() - t0;
        print_message("AddMember of an unreachable learner, catchup_rounds 2: code %d \"%s\" "
                      "after %lld ms\n", (int)r.code, r.details, (long long)ms);
        expect(&r, GRPC_STATUS_FAILED_PRECONDITION, "AddMember n9", "an add that never catches up");
        tresult_clear(&r);
        /* two rounds without progress: at least 2 x 2 x election_timeout_max_ms */
        assert_true(ms >= 2 * 2 * 2000 - 100);
        m = member_of(f, l, "n9");
        assert_non_null(m);
        assert_false(m->voter);
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(a_change_sent_to_a_follower_names_the_leader,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(
                        a_second_change_while_one_is_uncommitted_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        a_removed_follower_is_cut_off_cannot_disrupt_and_can_be_added_back,
                        setup, teardown),
                cmocka_unit_test_setup_teardown(
                        an_add_whose_learner_never_catches_up_fails_after_catchup_rounds,
                        setup_two_rounds, teardown),
        };

        if (argc > 1)
                cmocka_set_test_filter(argv[1]); /* one test by name, for debugging */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
