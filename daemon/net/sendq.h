/* daemon/net/sendq.h: the per-call queue of messages waiting for their turn to be sent.
 *
 * Owns: the byte buffers queued on one call (gRPC allows one SEND_MESSAGE in flight per
 * call). Must never start a batch itself: the call that owns it does.
 */
#pragma once

#include <stddef.h>

#include <grpc/grpc.h>

struct net_sendq_item;

struct net_sendq {
        struct net_sendq_item *head;
        struct net_sendq_item *tail;
        size_t len;
};

/* Takes bb. Returns 0 or -ENOMEM (bb is destroyed then). */
int net_sendq_push(struct net_sendq *q, grpc_byte_buffer *bb);
/* The oldest buffer (caller owns it), or NULL when empty. */
grpc_byte_buffer *net_sendq_pop(struct net_sendq *q);
void net_sendq_clear(struct net_sendq *q);
