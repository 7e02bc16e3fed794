/* daemon/net/accept.h: accept connections on listening sockets the daemon holds (inherited
 * from systemd socket activation, or opened by the daemon itself) and give each one to the
 * gRPC server, recording who connected.
 *
 * Owns: the listening fds given to it (it closes them) and one accept thread. Must never
 * touch the completion queue or run handlers: it only calls the thread-safe
 * grpc_server_add_channel_from_fd. gRPC owns and closes each accepted connection.
 *
 * Per connection it records getpeername() and, for AF_UNIX, SO_PEERCRED (pid, uid, gid),
 * which handlers read with net_call_peer() (a later issue authorises admin calls with it).
 */
#pragma once

#include "daemon/net/loop.h"
#include "daemon/net/server.h"

struct net_acceptor;

/* loop is used only for its logger (called from the accept thread). */
struct net_acceptor *net_acceptor_new(struct net_server *srv, struct net_loop *loop);

/* Before net_acceptor_start(). fd must be a listening SOCK_STREAM socket (AF_INET,
 * AF_INET6 or AF_UNIX); the acceptor owns it from now on, also on failure. */
int net_acceptor_add_fd(struct net_acceptor *acc, int fd);

/* Take the sockets systemd passed (sd_listen_fds(1), which unsets LISTEN_* so children do
 * not inherit them). Returns how many were added (0: not socket-activated), or a negative
 * errno when one of them is not a listening stream socket. */
int net_acceptor_add_inherited(struct net_acceptor *acc);

/* After net_server_start(). Starts the accept thread. */
int net_acceptor_start(struct net_acceptor *acc);

/* Stops the thread and closes the listening sockets (connections already accepted stay
 * with the server). Call before net_server_free(). */
void net_acceptor_free(struct net_acceptor *acc);
