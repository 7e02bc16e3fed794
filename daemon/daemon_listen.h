/* daemon/daemon_listen.h: where rafktord serves: sockets inherited from systemd socket
 * activation, or the configured addresses.
 *
 * Owns: the choice of listening sockets and the acceptor of inherited ones. Inherited
 * TCP sockets replace config.listen, an inherited AF_UNIX socket replaces admin_socket;
 * whatever was not inherited is listened on as configured. The admin socket's stale file
 * (nobody answers on it) is removed first; a live one, or a path that is not a socket,
 * refuses the start. Must never serve calls itself (the net server does) or leave a
 * second daemon sharing a port (net binds without SO_REUSEPORT).
 */
#pragma once

#include <stddef.h>

#include "daemon/config/config.h"
#include "daemon/net/loop.h"
#include "daemon/net/server.h"
#include "lib/log.h"

struct daemon_listen;

/* Before net_server_start(). Returns 0, or a negative errno with one sentence in err
 * ("cannot listen on 127.0.0.1:7401: address already in use (is another rafktord running
 * there?)"). */
int daemon_listen_setup(struct net_server *srv, struct net_loop *loop,
                        const struct rafktor_config *cfg, struct log *lg,
                        struct daemon_listen **ret, char *err, size_t err_len);

/* After net_server_start(): starts accepting on the inherited sockets, if any. */
int daemon_listen_start(struct daemon_listen *dl, char *err, size_t err_len);

/* "127.0.0.1:7401 and unix:/run/rafktor/admin.sock" or "2 inherited sockets ...", for
 * the start-up log line. */
const char *daemon_listen_describe(const struct daemon_listen *dl);

/* Stops accepting (closes the inherited listening sockets). Call before net_server_free().
 * NULL is a no-op. */
void daemon_listen_free(struct daemon_listen *dl);

/* Prepares a unix socket path for binding: creates its directory, removes a stale socket
 * file nobody answers on. -EADDRINUSE when a server answers there, -EEXIST when the path
 * is not a socket, or the errno of mkdir/unlink; err says which. */
int daemon_listen_prepare_unix(const char *path, struct log *lg, char *err, size_t err_len);
