/* tests/unit/net/test_accept.c: socket activation simulated in-process: listening sockets
 * created by the test and handed to the acceptor (directly, and as LISTEN_FDS inherited
 * fds read by sd_listen_fds), peers and unix credentials recorded for handlers.
 *
 * Owns: the accept-path rules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <systemd/sd-daemon.h>

#include "daemon/net/accept.h"
#include "tests/unit/net/harness.h"

#define WHO_PATH "/test.Peer/Who"

struct fixture {
        struct harness h;
        struct net_acceptor *acc;
        struct net_peer last_peer;
        int calls;
};

static void on_who(struct net_call *call, const struct net_msg *msg, void *user)
{
        struct fixture *f = user;

        f->last_peer = *net_call_peer(call);
        f->calls++;
        net_call_reply_bytes(call, f->last_peer.address, strlen(f->last_peer.address));
}

/* A server that listens on nothing by itself: connections come from the acceptor. */
static void server_start(struct fixture *f)
{
        struct net_method m = { .path = WHO_PATH, .kind = NET_METHOD_UNARY,
                                .on_message = on_who, .user = f };

        harness_start_loop(&f->h);
        f->h.srv = net_server_new(f->h.loop, &m, 1, NULL);
        assert_non_null(f->h.srv);
        assert_int_equal(net_server_start(f->h.srv), 0);
        f->acc = net_acceptor_new(f->h.srv, f->h.loop);
        assert_non_null(f->acc);
}

static void server_stop(struct fixture *f)
{
        net_acceptor_free(f->acc);
        f->acc = NULL;
        harness_stop(&f->h);
}

static int tcp_listener(int *port)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 64), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        *port = ntohs(sa.sin_port);
        return fd;
}

static int unix_listener(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_true(strlen(path) < sizeof(sa.sun_path));
        memcpy(sa.sun_path, path, strlen(path) + 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 64), 0);
        return fd;
}

static void call_who(struct fixture *f, const char *target, struct captured *c)
{
        struct net_channel *ch = net_channel_new(f->h.loop, target, NULL);

        assert_non_null(ch);
        memset(c, 0, sizeof(*c));
        assert_int_equal(net_unary_call_bytes(ch, WHO_PATH, "", 0, NULL,
                                              net_loop_now_ms() + 5000, harness_capture, c),
                         0);
        assert_true(harness_wait_flag(&f->h, &c->done, 6000));
        net_channel_free(ch);
}

static void tcp_connection_from_held_socket_is_served_with_its_peer(void **state)
{
        struct fixture f = { 0 };
        struct captured c;
        char target[64];
        int port;

        server_start(&f);
        assert_int_equal(net_acceptor_add_fd(f.acc, tcp_listener(&port)), 0);
        assert_int_equal(net_acceptor_start(f.acc), 0);
        snprintf(target, sizeof(target), "127.0.0.1:%d", port);
        call_who(&f, target, &c);
        assert_int_equal(c.code, GRPC_STATUS_OK);
        assert_int_equal(f.calls, 1);
        assert_true(strncmp(f.last_peer.address, "ipv4:127.0.0.1:", 15) == 0);
        assert_false(f.last_peer.has_creds);
        assert_int_equal(c.len, strlen(f.last_peer.address));
        server_stop(&f);
}

static void unix_connection_records_peer_credentials(void **state)
{
        struct fixture f = { 0 };
        char dir[] = "/tmp/net-test-XXXXXX";
        char path[128], target[140];
        struct captured c;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/admin.sock", dir);
        snprintf(target, sizeof(target), "unix:%s", path);
        server_start(&f);
        assert_int_equal(net_acceptor_add_fd(f.acc, unix_listener(path)), 0);
        assert_int_equal(net_acceptor_start(f.acc), 0);
        call_who(&f, target, &c);
        assert_int_equal(c.code, GRPC_STATUS_OK);
        assert_true(f.last_peer.has_creds);
        assert_int_equal(f.last_peer.uid, getuid());
        assert_int_equal(f.last_peer.gid, getgid());
        assert_int_equal(f.last_peer.pid, getpid());
        assert_true(strncmp(f.last_peer.address, "unix:", 5) == 0);
        server_stop(&f);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void many_connections_are_all_served(void **state)
{
        struct fixture f = { 0 };
        struct captured c[20];
        struct net_channel *ch[20];
        char target[64];
        int port;

        server_start(&f);
        assert_int_equal(net_acceptor_add_fd(f.acc, tcp_listener(&port)), 0);
        assert_int_equal(net_acceptor_start(f.acc), 0);
        snprintf(target, sizeof(target), "127.0.0.1:%d", port);
        memset(c, 0, sizeof(c));
        for (int i = 0; i < 20; i++) {
                ch[i] = net_channel_new(f.h.loop, target, NULL);
                assert_non_null(ch[i]);
                assert_int_equal(net_unary_call_bytes(ch[i], WHO_PATH, "", 0, NULL,
                                                      net_loop_now_ms() + 10000,
                                                      harness_capture, &c[i]), 0);
        }
        for (int i = 0; i < 20; i++) {
                assert_true(harness_wait_flag(&f.h, &c[i].done, 11000));
                assert_int_equal(c[i].code, GRPC_STATUS_OK);
                net_channel_free(ch[i]);
        }
        assert_int_equal(f.calls, 20);
        server_stop(&f);
}

static void non_listening_socket_is_refused_and_closed(void **state)
{
        struct fixture f = { 0 };
        int sv[2];
        char byte;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        server_start(&f);
        assert_int_equal(net_acceptor_add_fd(f.acc, sv[0]), -ENOTSOCK);
        /* The acceptor owns what it is given, also on failure: the peer sees EOF. */
        assert_int_equal(read(sv[1], &byte, 1), 0);
        close(sv[1]);
        server_stop(&f);
}

/* systemd passes sockets from fd 3 with LISTEN_PID/LISTEN_FDS: do exactly that. */
static void inherited_listen_fds_are_taken_from_the_environment(void **state)
{
        struct fixture f = { 0 };
        int lfd, port;
        struct captured c;
        char target[64], pid[32];

        /* fd 3 must be free: this runs first, before gRPC opens its own fds. */
        if (fcntl(SD_LISTEN_FDS_START, F_GETFD) >= 0) {
                fprintf(stderr, "fd %d is already open in this process (inherited from "
                        "the test runner?): cannot simulate LISTEN_FDS; skipped\n",
                        SD_LISTEN_FDS_START);
                skip();
        }
        lfd = tcp_listener(&port);
        if (lfd != SD_LISTEN_FDS_START) {       /* socket() may have picked 3 itself */
                assert_int_equal(dup2(lfd, SD_LISTEN_FDS_START), SD_LISTEN_FDS_START);
                close(lfd);
        }
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        setenv("LISTEN_PID", pid, 1);
        setenv("LISTEN_FDS", "1", 1);

        server_start(&f);
        assert_int_equal(net_acceptor_add_inherited(f.acc), 1);
        assert_null(getenv("LISTEN_FDS"));      /* children will not inherit them */
        assert_int_equal(net_acceptor_start(f.acc), 0);
        snprintf(target, sizeof(target), "127.0.0.1:%d", port);
        call_who(&f, target, &c);
        assert_int_equal(c.code, GRPC_STATUS_OK);
        assert_true(strncmp(f.last_peer.address, "ipv4:127.0.0.1:", 15) == 0);
        server_stop(&f);
        assert_int_equal(fcntl(SD_LISTEN_FDS_START, F_GETFD), -1);     /* acceptor closed it */
}

static void not_socket_activated_adds_nothing(void **state)
{
        struct fixture f = { 0 };

        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        server_start(&f);
        assert_int_equal(net_acceptor_add_inherited(f.acc), 0);
        server_stop(&f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                /* First: it needs fd 3 free, before gRPC opens descriptors. */
                cmocka_unit_test(inherited_listen_fds_are_taken_from_the_environment),
                cmocka_unit_test(tcp_connection_from_held_socket_is_served_with_its_peer),
                cmocka_unit_test(unix_connection_records_peer_credentials),
                cmocka_unit_test(many_connections_are_all_served),
                cmocka_unit_test(non_listening_socket_is_refused_and_closed),
                cmocka_unit_test(not_socket_activated_adds_nothing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
