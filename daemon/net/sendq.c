/* daemon/net/sendq.c: FIFO of byte buffers waiting to be sent on one call.
 *
 * Owns: the queued buffers until they are popped or cleared. Must never talk to gRPC
 * beyond destroying the buffers it owns.
 */
#include <errno.h>
#include <stdlib.h>

#include <grpc/byte_buffer.h>

#include "daemon/net/sendq.h"

struct net_sendq_item {
        struct net_sendq_item *next;
        grpc_byte_buffer *bb;
};

int net_sendq_push(struct net_sendq *q, grpc_byte_buffer *bb)
{
        struct net_sendq_item *it = malloc(sizeof(*it));

        if (!it) {
                grpc_byte_buffer_destroy(bb);
                return -ENOMEM;
        }
        it->next = NULL;
        it->bb = bb;
        if (q->tail)
                q->tail->next = it;
        else
                q->head = it;
        q->tail = it;
        q->len++;
        return 0;
}

grpc_byte_buffer *net_sendq_pop(struct net_sendq *q)
{
        struct net_sendq_item *it = q->head;
        grpc_byte_buffer *bb;

        if (!it)
                return NULL;
        q->head = it->next;
        if (!q->head)
                q->tail = NULL;
        q->len--;
        bb = it->bb;
        free(it);
        return bb;
}

void net_sendq_clear(struct net_sendq *q)
{
        grpc_byte_buffer *bb;

        while ((bb = net_sendq_pop(q)))
                grpc_byte_buffer_destroy(bb);
}
