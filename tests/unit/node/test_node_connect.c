/* tests/unit/node/test_node_connect.c: a member whose connections are slow to set up is
 * still reached at the first attempt.
 *
 * Checks: n1 and n3 reach n2 only through a proxy that holds every new connection for
 * 300 ms before it relays it (a busy peer's slow TCP + HTTP/2 handshake); the peers'
 * channels give a connect attempt long enough (gRPC's minimum connect timeout, which it calls
 * min_reconnect_backoff) that no attempt is abandoned half-way, and the cluster elects and
 * replicates to n2 through the proxy. With the old 100 ms every first attempt timed out
 * before the server's SETTINGS frame arrived.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "rafktor.pb-c.h"
#include "tests/unit/node/cluster.h"

#define ELECTION_WAIT_MS 10000
#define HANDSHAKE_DELAY_MS 300
#define PROXY_MAX_CONNS 64

struct proxy {
        char path[108];                 /* where it listens */
        char target[108];               /* the node's own socket */
        int listen_fd;
        int stop_pipe[2];
        pthread_t acceptor;
        pthread_t conns[PROXY_MAX_CONNS];
        int conn_fds[PROXY_MAX_CONNS];
        atomic_int accepted;
        atomic_int abandoned;           /* closed by the client before the delay was over */
};

struct conn_arg {
        struct proxy *p;
        int fd;
};

static int unix_socket(const char *path, bool do_listen)
{
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
        if (do_listen) {
                assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
                assert_int_equal(listen(fd, 16), 0);
        } else if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Copies what `from` has to `to`; false at EOF or an error. */
static bool relay(int from, int to)
{
        char buf[65536];
        ssize_t n = read(from, buf, sizeof(buf));

        if (n <= 0)
                return false;
        for (ssize_t off = 0; off < n;) {
                ssize_t w = write(to, buf + off, (size_t)(n - off));

                if (w <= 0)
                        return false;
                off += w;
        }
        return true;
}

static void *conn_main(void *arg)
{
        struct conn_arg *ca = arg;
        struct proxy *p = ca->p;
        int fd = ca->fd, up;
        struct pollfd w[2] = { { .fd = fd, .events = POLLRDHUP },
                               { .fd = p->stop_pipe[0], .events = POLLIN } };

        free(ca);
        /* Hold the connection: only the client hanging up (or the test ending) ends it. */
        if (poll(w, 2, HANDSHAKE_DELAY_MS) != 0) {
                if (w[0].revents)
                        atomic_fetch_add(&p->abandoned, 1);
                return NULL;
        }
        up = unix_socket(p->target, false);
        if (up < 0)
                return NULL;
        for (;;) {
                struct pollfd f[3] = { { .fd = fd, .events = POLLIN },
                                       { .fd = up, .events = POLLIN },
                                       { .fd = p->stop_pipe[0], .events = POLLIN } };

                if (poll(f, 3, -1) < 0 && errno != EINTR)
                        break;
                if (f[2].revents)
                        break;
                if (f[0].revents && !relay(fd, up))
                        break;
                if (f[1].revents && !relay(up, fd))
                        break;
        }
        close(up);
        shutdown(fd, SHUT_RDWR);        /* the client sees the end; proxy_stop closes it */
        return NULL;
}

static void *acceptor_main(void *arg)
{
        struct proxy *p = arg;

        for (;;) {
                struct pollfd f[2] = { { .fd = p->listen_fd, .events = POLLIN },
                                       { .fd = p->stop_pipe[0], .events = POLLIN } };
                struct conn_arg *ca;
                int fd, i;

                if (poll(f, 2, -1) < 0 && errno != EINTR)
                        break;
                if (f[1].revents)
                        break;
                if (!f[0].revents)
                        continue;
                fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                i = atomic_fetch_add(&p->accepted, 1);
                ca = malloc(sizeof(*ca));
                if (ca)
                        *ca = (struct conn_arg){ .p = p, .fd = fd };
                if (i >= PROXY_MAX_CONNS || !ca ||
                    pthread_create(&p->conns[i], NULL, conn_main, ca) != 0) {
                        free(ca);
                        close(fd);
                        if (i < PROXY_MAX_CONNS)
                                p->conn_fds[i] = -1;
                        continue;
                }
                p->conn_fds[i] = fd;
        }
        return NULL;
}

static void proxy_start(struct proxy *p, const char *path, const char *target)
{
        memset(p, 0, sizeof(*p));
        snprintf(p->path, sizeof(p->path), "%s", path);
        snprintf(p->target, sizeof(p->target), "%s", target);
        atomic_init(&p->accepted, 0);
        atomic_init(&p->abandoned, 0);
        assert_int_equal(pipe2(p->stop_pipe, O_CLOEXEC), 0);
        p->listen_fd = unix_socket(path, true);
        assert_int_equal(pthread_create(&p->acceptor, NULL, acceptor_main, p), 0);
}

static void proxy_stop(struct proxy *p)
{
        int n;

        close(p->stop_pipe[1]);         /* every thread sees POLLHUP on the pipe */
        pthread_join(p->acceptor, NULL);
        n = atomic_load(&p->accepted);
        for (int i = 0; i < n && i < PROXY_MAX_CONNS; i++) {
                if (p->conn_fds[i] < 0)
                        continue;
                pthread_join(p->conns[i], NULL);
                close(p->conn_fds[i]);
        }
        close(p->listen_fd);
        close(p->stop_pipe[0]);
        unlink(p->path);
}

/* Every member reaches n2 at unix:DIR/n2-slow.sock, the proxy's socket. */
static void route_n2_through(struct tcluster *c, const char *path)
{
        for (int i = 0; i < TC_NODES; i++) {
                struct rafktor_peer *pe = &c->n[i].cfg.peers[1];

                free(pe->address);
                assert_true(asprintf(&pe->address, "unix:%s", path) > 0);
        }
}

static bool n2_applied(void *arg)
{
        struct tcluster *c = arg;
        struct raft_status st;

        node_raft_status(c->n[1].node, &st);
        return st.applied_index >= 3;   /* the configuration, the leader's no-op, the put */
}

static void a_member_with_slow_handshakes_is_connected_at_the_first_attempt(void **state)
{
        struct tcluster c;
        struct proxy p;
        char path[sizeof(p.path)];
        struct tresult r;
        int l, via;

        (void)state;
        tc_init(&c, 2000);
        assert_true(snprintf(path, sizeof(path), "%.80s/n2-slow.sock", c.dir) <
                    (int)sizeof(path));
        route_n2_through(&c, path);
        proxy_start(&p, path, c.n[1].cfg.listen + strlen("unix:"));
        for (int i = 0; i < TC_NODES; i++)
                tc_start(&c, i);
        l = tc_wait_leader(&c, ELECTION_WAIT_MS);
        assert_true(l >= 0);
        via = l == 1 ? 0 : l;           /* through a node that reaches n2 by the proxy */
        tc_put(&c, via, "slow", "1", 0, 0, &r);
        if (r.code != GRPC_STATUS_OK)
                fail_msg("put through n%d: code %d \"%s\"", via + 1, (int)r.code, r.details);
        tresult_clear(&r);
        assert_int_equal(net_loop_run_until(c.loop, n2_applied, &c,
                                            net_loop_now_ms() + ELECTION_WAIT_MS), 0);
        print_message("proxy to n2: %d connections accepted, %d abandoned by the client\n",
                      atomic_load(&p.accepted), atomic_load(&p.abandoned));
        assert_true(atomic_load(&p.accepted) >= 1);
        assert_int_equal(atomic_load(&p.abandoned), 0);
        tc_destroy(&c);
        proxy_stop(&p);
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(
                        a_member_with_slow_handshakes_is_connected_at_the_first_attempt),
        };

        if (argc > 1)
                cmocka_set_test_filter(argv[1]);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
