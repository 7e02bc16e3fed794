/* daemon/net/accept.c: the accept thread for listening sockets the daemon holds.
 *
 * Owns: the listening fds, an eventfd that stops the thread, and the thread. For each
 * accepted connection: TCP_NODELAY on TCP, the peer address and unix credentials recorded
 * in the server, then grpc_server_add_channel_from_fd (gRPC owns the connection after).
 * Must never block anywhere but poll(), and never touch the completion queue.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon/net/accept.h"
#include "daemon/net/server_internal.h"

#define MAX_LISTENERS 16

struct net_acceptor {
        struct net_server *srv;
        struct net_loop *loop;
        int fds[MAX_LISTENERS];
        size_t n_fds;
        int stop_fd;
        pthread_t thread;
        bool running;
};

struct net_acceptor *net_acceptor_new(struct net_server *srv, struct net_loop *loop)
{
        struct net_acceptor *acc = calloc(1, sizeof(*acc));

        if (!acc) {
                net_loop_log(loop, NET_LOG_ERR, "net accept: out of memory");
                return NULL;
        }
        acc->srv = srv;
        acc->loop = loop;
        acc->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (acc->stop_fd < 0) {
                net_loop_log(loop, NET_LOG_ERR, "net accept: eventfd failed: %s",
                             strerror(errno));
                free(acc);
                return NULL;
        }
        return acc;
}

int net_acceptor_add_fd(struct net_acceptor *acc, int fd)
{
        int flags;

        if (acc->running || acc->n_fds == MAX_LISTENERS) {
                net_loop_log(acc->loop, NET_LOG_ERR,
                             "net accept: cannot add listening fd %d (%s)", fd,
                             acc->running ? "acceptor already started"
                                          : "too many listening sockets");
                close(fd);
                return acc->running ? -EBUSY : -ENOSPC;
        }
        if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                net_loop_log(acc->loop, NET_LOG_ERR,
                             "net accept: fd %d is not a listening stream socket", fd);
                close(fd);
                return -ENOTSOCK;
        }
        /* Never block in accept4 after poll said readable (a client may have gone). */
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
            fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
                int r = -errno;

                net_loop_log(acc->loop, NET_LOG_ERR,
                             "net accept: cannot make listening fd %d non-blocking: %s", fd,
                             strerror(-r));
                close(fd);
                return r;
        }
        acc->fds[acc->n_fds++] = fd;
        return 0;
}

int net_acceptor_add_inherited(struct net_acceptor *acc)
{
        int n = sd_listen_fds(1), r;

        if (n < 0) {
                net_loop_log(acc->loop, NET_LOG_ERR,
                             "net accept: sd_listen_fds failed: %s", strerror(-n));
                return n;
        }
        for (int i = 0; i < n; i++)
                if ((r = net_acceptor_add_fd(acc, SD_LISTEN_FDS_START + i)) < 0) {
                        for (int k = i + 1; k < n; k++)
                                close(SD_LISTEN_FDS_START + k);
                        return r;
                }
        return n;
}

static void describe_peer(int fd, int family, struct net_peer *peer)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        char host[INET6_ADDRSTRLEN] = "?";

        memset(peer, 0, sizeof(*peer));
        if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
                memset(&ss, 0, sizeof(ss));
        if (family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

                inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
                snprintf(peer->address, sizeof(peer->address), "ipv4:%s:%u", host,
                         ntohs(sin->sin_port));
        } else if (family == AF_INET6) {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

                inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
                snprintf(peer->address, sizeof(peer->address), "ipv6:[%s]:%u", host,
                         ntohs(sin6->sin6_port));
        } else if (family == AF_UNIX) {
                struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
                struct ucred cred;
                socklen_t clen = sizeof(cred);
                size_t plen = len > offsetof(struct sockaddr_un, sun_path)
                                      ? len - offsetof(struct sockaddr_un, sun_path) : 0;

                snprintf(peer->address, sizeof(peer->address), "unix:%.*s",
                         (int)strnlen(sun->sun_path, plen), sun->sun_path);
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
                        peer->has_creds = true;
                        peer->pid = cred.pid;
                        peer->uid = cred.uid;
                        peer->gid = cred.gid;
                }
        }
}

static void accept_one(struct net_acceptor *acc, int lfd)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        struct net_peer peer;
        int one = 1, fd;

        fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
                if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                        return;
                net_loop_log(acc->loop, NET_LOG_ERR, "net accept: accept on fd %d failed: %s",
                             lfd, strerror(errno));
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* Out of resources: wait a little (or for stop) before retrying. */
                        struct pollfd p = { .fd = acc->stop_fd, .events = POLLIN };

                        poll(&p, 1, 100);
                }
                return;
        }
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
                if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
                        net_loop_log(acc->loop, NET_LOG_WARNING,
                                     "net accept: TCP_NODELAY on fd %d failed: %s", fd,
                                     strerror(errno));
        describe_peer(fd, ss.ss_family, &peer);
        if (net_server_adopt_fd(acc->srv, fd, &peer) < 0) {
                net_loop_log(acc->loop, NET_LOG_ERR,
                             "net accept: out of memory recording peer %s; dropped",
                             peer.address);
                close(fd);
        }
}

static void *accept_thread(void *arg)
{
        struct net_acceptor *acc = arg;
        struct pollfd p[MAX_LISTENERS + 1];

        for (;;) {
                for (size_t i = 0; i < acc->n_fds; i++)
                        p[i] = (struct pollfd){ .fd = acc->fds[i], .events = POLLIN };
                p[acc->n_fds] = (struct pollfd){ .fd = acc->stop_fd, .events = POLLIN };
                if (poll(p, acc->n_fds + 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        net_loop_log(acc->loop, NET_LOG_ERR, "net accept: poll failed: %s",
                                     strerror(errno));
                        break;
                }
                if (p[acc->n_fds].revents)
                        break;
                for (size_t i = 0; i < acc->n_fds; i++)
                        if (p[i].revents & POLLIN)
                                accept_one(acc, acc->fds[i]);
        }
        return NULL;
}

int net_acceptor_start(struct net_acceptor *acc)
{
        int r;

        if (acc->running)
                return -EBUSY;
        if (!acc->srv->started) {
                net_loop_log(acc->loop, NET_LOG_ERR,
                             "net accept: start the server before the acceptor");
                return -EINVAL;
        }
        r = pthread_create(&acc->thread, NULL, accept_thread, acc);
        if (r != 0) {
                net_loop_log(acc->loop, NET_LOG_ERR,
                             "net accept: cannot start the accept thread: %s", strerror(r));
                return -r;
        }
        acc->running = true;
        return 0;
}

void net_acceptor_free(struct net_acceptor *acc)
{
        uint64_t one = 1;

        if (!acc)
                return;
        if (acc->running) {
                if (write(acc->stop_fd, &one, sizeof(one)) != sizeof(one))
                        net_loop_log(acc->loop, NET_LOG_ERR,
                                     "net accept: cannot signal the accept thread: %s",
                                     strerror(errno));
                pthread_join(acc->thread, NULL);
        }
        for (size_t i = 0; i < acc->n_fds; i++)
                close(acc->fds[i]);
        close(acc->stop_fd);
        free(acc);
}
