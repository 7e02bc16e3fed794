/* tests/sim/eventq.h: the simulator's agenda, a min-heap of timed events.
 *
 * Owns: ordering. Events fire by virtual time, then by insertion order, so
 * a seed gives one schedule.
 * Must never: interpret or free event payloads (their owner does).
 */
#ifndef RAFKTOR_SIM_EVENTQ_H
#define RAFKTOR_SIM_EVENTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sim_ev_type {
        SIM_EV_MSG = 1,        /* a Raft message reaches node `node` (payload: raft_msg) */
        SIM_EV_TICK,           /* node `node`'s timer, valid if `gen` is its tick_gen */
        SIM_EV_DISK_FLUSH,     /* node `node`'s fsync completes (gen: incarnation) */
        SIM_EV_REQUEST,        /* a client request reaches node `node` (payload: request) */
        SIM_EV_NODE_REPLY,     /* an answer reaches forwarding node `node` (payload: reply) */
        SIM_EV_CLIENT_REPLY,   /* an answer reaches client `client` (payload: reply) */
        SIM_EV_CLIENT_TIMER,   /* client `client`'s timer, valid if `gen` matches */
        SIM_EV_NEMESIS,        /* the next fault action */
        SIM_EV_CRASH,          /* crash node `node` if still incarnation `gen` */
        SIM_EV_ISOLATE,        /* cut node `node` off if still incarnation `gen` */
        SIM_EV_HEAL_LINKS,     /* restore every link */
        SIM_EV_RESTART,        /* restart node `node` (gen: incarnation that crashed) */
        SIM_EV_SNAP_WRITTEN,   /* node `node`'s snapshot temp file is complete (gen: inc.) */
        SIM_EV_SNAP_STREAM,    /* an InstallSnapshot stream reaches node `node` (snapfile) */
        SIM_EV_SNAP_RESULT,    /* a stream's end reaches leader `node` (sim_snap_result) */
        SIM_EV_APPLY_MORE,     /* node `node` calls raft_flush for the committed entries
                                * options.apply_batch held back (gen: incarnation) */
};

struct sim_ev {
        uint64_t time;
        uint64_t order;
        enum sim_ev_type type;
        int node;
        int client;
        uint64_t gen;
        void *payload;
};

struct eventq {
        size_t n, cap;
        uint64_t next_order;
        struct sim_ev *heap;
};

void eventq_init(struct eventq *q);
/* Frees the heap only; the caller drains payloads first (eventq_pop). */
void eventq_free(struct eventq *q);
int eventq_push(struct eventq *q, const struct sim_ev *ev); /* ev->order is assigned */
bool eventq_pop(struct eventq *q, struct sim_ev *ret);
const struct sim_ev *eventq_peek(const struct eventq *q);

#endif
