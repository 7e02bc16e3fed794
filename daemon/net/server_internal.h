/* daemon/net/server_internal.h: the server and server-call structures, shared by
 * server.c (listening, slots, shutdown), server_call.c (one call's life) and accept.c.
 *
 * Owns: nothing at run time; only the layout. Never include it outside daemon/net.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "daemon/net/loop.h"
#include "daemon/net/sendq.h"
#include "daemon/net/server.h"

struct net_server_method {
        struct net_method m;        /* path points at the copy below */
        char *path;
        void *registered;           /* grpc_server_register_method handle */
};

struct net_server {
        struct net_loop *loop;
        grpc_server *server;
        grpc_server_credentials *creds;
        struct net_server_method *methods;
        size_t n_methods;
        unsigned slots_per_method;
        bool started;
        bool shutting_down;
        bool shutdown_done;
        struct net_tag shutdown_tag;
        size_t live_slots;          /* request slots posted and not returned */
        struct net_call *calls;     /* live calls (doubly linked) */
        size_t n_calls;

        /* Peers of the connections handed over by the acceptor, indexed by fd. Written
         * by the accept thread, read by the loop thread. */
        pthread_mutex_t peers_lock;
        struct net_peer *peers;
        size_t n_peers;
};

struct net_call {
        struct net_loop *loop;
        struct net_server *srv;     /* NULL once detached by net_server_free() */
        struct net_call *prev, *next;
        const struct net_method *method;       /* NULL: unknown method */
        char *path;
        grpc_call *call;
        grpc_metadata_array md;
        int64_t deadline_ms;
        struct net_peer peer;
        void *data;

        unsigned refs;              /* outstanding tags + the handler's reference */
        bool user_ref;
        bool cancel_notified;
        bool ended;                 /* RECV_CLOSE_ON_SERVER came back */
        int cancelled;              /* written by RECV_CLOSE_ON_SERVER */
        bool broken;                /* a batch failed: nothing more can be sent */
        bool md_sent;
        bool finishing;
        bool status_sent;
        bool half_closed;
        grpc_status_code status;
        char *status_msg;

        struct net_tag tag_close;
        struct net_tag tag_recv;
        struct net_tag tag_send;
        struct net_post post_half_close;
        grpc_byte_buffer *recv_bb;
        grpc_byte_buffer *send_bb;  /* in flight */
        bool send_in_flight;
        struct net_sendq sendq;
};

/* server_call.c: take over a new call from a request slot (its call, metadata, deadline,
 * and for unary methods its payload). m NULL: an unknown method, answered UNIMPLEMENTED. */
void net_call_start(struct net_server *srv, const struct net_method *m, const char *path,
                    grpc_call *call, grpc_metadata_array *md, gpr_timespec deadline,
                    grpc_byte_buffer *payload);

/* server.c: live-call bookkeeping for server_call.c. */
void net_server_call_added(struct net_server *srv, struct net_call *c);
void net_server_call_removed(struct net_server *srv, struct net_call *c);
/* The peer recorded for a "fd:N" connection, or the gRPC peer string. */
void net_server_peer_of(struct net_server *srv, grpc_call *call, struct net_peer *out);

/* For accept.c (any thread): record fd's peer, then give the connection to gRPC. */
int net_server_adopt_fd(struct net_server *srv, int fd, const struct net_peer *peer);
