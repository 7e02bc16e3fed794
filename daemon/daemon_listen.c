/* daemon/daemon_listen.c: socket activation and the configured listening addresses (see
 * daemon_listen.h).
 *
 * Owns: struct daemon_listen and the acceptor of inherited sockets and of the admin socket.
 * The admin unix socket is always served through daemon/net's acceptor, so every admin
 * connection carries its SO_PEERCRED credentials (admin mutations are authorised with
 * them): inherited from systemd, or bound here (mode 0660, group rafktor when it exists)
 * when not socket-activated. Must never close an fd it handed to the acceptor (the
 * acceptor owns it from then on), or hand the admin socket to gRPC's own listener (its
 * connections would carry no credentials).
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon/daemon_listen.h"
#include "daemon/net/accept.h"

struct daemon_listen {
        struct net_acceptor *acc;       /* NULL when nothing was inherited or bound here */
        unsigned n_inet, n_unix;        /* inherited sockets by family */
        char *bound_path;               /* the admin socket bound here, unlinked at free */
        ino_t bound_ino;
        char desc[PATH_MAX + 256];
};

/* mkdir -p of path's parent directory. */
static int make_parent(const char *path, char *err, size_t err_len)
{
        char dir[PATH_MAX];
        char *slash;

        if (strlen(path) >= sizeof(dir))
                return -ENAMETOOLONG;
        strcpy(dir, path);
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        for (char *p = dir + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        goto fail;
                *p = '/';
        }
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                goto fail;
        return 0;
fail:
        snprintf(err, err_len, "cannot create the directory %s for the admin socket: %s", dir,
                 strerror(errno));
        return -errno;
}

int daemon_listen_prepare_unix(const char *path, struct log *lg, char *err, size_t err_len)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        int fd, r;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                snprintf(err, err_len, "admin socket path %s is longer than %zu bytes", path,
                         sizeof(sa.sun_path) - 1);
                return -ENAMETOOLONG;
        }
        r = make_parent(path, err, err_len);
        if (r < 0)
                return r;
        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                snprintf(err, err_len, "cannot inspect the admin socket %s: %s", path,
                         strerror(errno));
                return -errno;
        }
        if (!S_ISSOCK(st.st_mode)) {
                snprintf(err, err_len, "admin socket path %s exists and is not a socket; "
                         "refusing to replace it", path);
                return -EEXIST;
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                snprintf(err, err_len, "cannot create a socket to probe %s: %s", path,
                         strerror(errno));
                return -errno;
        }
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
        close(fd);
        if (r == 0) {
                snprintf(err, err_len, "cannot listen on unix:%s: another process answers "
                         "on it (is another rafktord running with this admin_socket?)", path);
                return -EADDRINUSE;
        }
        if (unlink(path) < 0 && errno != ENOENT) {
                snprintf(err, err_len, "cannot remove the stale admin socket %s: %s", path,
                         strerror(errno));
                return -errno;
        }
        log_notice(lg, "removed the stale admin socket %s (nobody answered on it)", path);
        return 0;
}

static int ensure_acceptor(struct daemon_listen *dl, struct net_server *srv,
                           struct net_loop *loop)
{
        if (!dl->acc)
                dl->acc = net_acceptor_new(srv, loop);
        return dl->acc ? 0 : -ENOMEM;
}

/* Binds the admin socket at path (prepared by daemon_listen_prepare_unix) and hands it to
 * the acceptor: mode 0660, group rafktor when that group exists (a failed chown is logged:
 * the socket then keeps the daemon's group). */
static int bind_admin(struct daemon_listen *dl, struct net_server *srv, struct net_loop *loop,
                      const char *path, struct log *lg, char *err, size_t err_len)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct group gr, *res = NULL;
        char buf[4096];
        struct stat st;
        int fd, r;

        strcpy(sa.sun_path, path);      /* length checked by daemon_listen_prepare_unix */
        r = ensure_acceptor(dl, srv, loop);
        if (r < 0) {
                snprintf(err, err_len, "cannot create the acceptor for the admin socket");
                return r;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = -errno;
                snprintf(err, err_len, "cannot create the admin socket %s: %s", path,
                         strerror(errno));
                return r;
        }
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = -errno;
                snprintf(err, err_len, "cannot bind the admin socket %s: %s", path,
                         strerror(errno));
                close(fd);
                return r;
        }
        if (chmod(path, 0660) < 0 || lstat(path, &st) < 0) {
                r = -errno;
                snprintf(err, err_len, "cannot set mode 0660 on the admin socket %s: %s", path,
                         strerror(errno));
                goto fail_unlink;
        }
        if (getgrnam_r("rafktor", &gr, buf, sizeof(buf), &res) == 0 && res &&
            chown(path, (uid_t)-1, gr.gr_gid) < 0)
                log_warning(lg, "cannot give the admin socket %s to group rafktor: %s (only "
                            "root and the daemon's group can use it)", path, strerror(errno));
        if (listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                snprintf(err, err_len, "cannot listen on the admin socket %s: %s", path,
                         strerror(errno));
                goto fail_unlink;
        }
        dl->bound_path = strdup(path);
        if (!dl->bound_path) {
                r = -ENOMEM;
                snprintf(err, err_len, "out of memory");
                goto fail_unlink;
        }
        dl->bound_ino = st.st_ino;
        r = net_acceptor_add_fd(dl->acc, fd);   /* owns fd from here, also on failure */
        if (r < 0) {
                snprintf(err, err_len, "cannot accept on the admin socket %s: %s", path,
                         strerror(-r));
                return r;       /* daemon_listen_free unlinks bound_path */
        }
        return 0;
fail_unlink:
        unlink(path);
        close(fd);
        return r;
}

/* Hands the systemd-passed sockets to an acceptor. */
static int take_inherited(struct daemon_listen *dl, struct net_server *srv,
                          struct net_loop *loop, char *err, size_t err_len)
{
        int n, r;

        n = sd_listen_fds(1);
        if (n < 0) {
                snprintf(err, err_len, "cannot take the sockets passed by the service "
                         "manager (LISTEN_FDS): %s", strerror(-n));
                return n;
        }
        if (n == 0)
                return 0;
        dl->acc = net_acceptor_new(srv, loop);
        if (!dl->acc) {
                for (int i = 0; i < n; i++)
                        close(SD_LISTEN_FDS_START + i);
                snprintf(err, err_len, "cannot create the acceptor for inherited sockets");
                return -ENOMEM;
        }
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                bool is_unix = sd_is_socket(fd, AF_UNIX, SOCK_STREAM, 1) > 0;
                bool is_inet = sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0;

                if (!is_unix && !is_inet) {
                        for (int k = i; k < n; k++)
                                close(SD_LISTEN_FDS_START + k);
                        snprintf(err, err_len, "inherited fd %d is not a listening TCP or unix "
                                 "stream socket (check ListenStream= in the .socket unit)", fd);
                        return -EINVAL;
                }
                r = net_acceptor_add_fd(dl->acc, fd);
                if (r < 0) {
                        for (int k = i + 1; k < n; k++)
                                close(SD_LISTEN_FDS_START + k);
                        snprintf(err, err_len, "cannot accept on inherited fd %d: %s", fd,
                                 strerror(-r));
                        return r;
                }
                if (is_unix)
                        dl->n_unix++;
                else
                        dl->n_inet++;
        }
        return n;
}

static int listen_on(struct net_server *srv, const char *addr, char *err, size_t err_len)
{
        int r = net_server_listen(srv, addr);

        if (r >= 0)
                return 0;
        if (r == -EADDRINUSE)
                snprintf(err, err_len, "cannot listen on %s: address already in use (is "
                         "another rafktord running there?)", addr);
        else
                snprintf(err, err_len, "cannot listen on %s: %s", addr,
                         r == -EINVAL ? "gRPC refused the address" : strerror(-r));
        return r;
}

int daemon_listen_setup(struct net_server *srv, struct net_loop *loop,
                        const struct rafktor_config *cfg, struct log *lg,
                        struct daemon_listen **ret, char *err, size_t err_len)
{
        struct daemon_listen *dl;
        char addr[PATH_MAX + 8];
        size_t len;
        int r;

        dl = calloc(1, sizeof(*dl));
        if (!dl) {
                snprintf(err, err_len, "out of memory");
                return -ENOMEM;
        }
        r = take_inherited(dl, srv, loop, err, err_len);
        if (r < 0)
                goto fail;
        /* Probe the admin socket before any port is bound, so a refusal leaves the server
         * without listeners (gRPC asserts when a server with ports is destroyed unstarted). */
        if (dl->n_unix == 0 && cfg->admin_socket) {
                r = daemon_listen_prepare_unix(cfg->admin_socket, lg, err, err_len);
                if (r < 0)
                        goto fail;
        }
        if (dl->n_inet > 0)
                snprintf(dl->desc, sizeof(dl->desc), "%u inherited TCP socket%s", dl->n_inet,
                         dl->n_inet == 1 ? "" : "s");
        else {
                r = listen_on(srv, cfg->listen, err, err_len);
                if (r < 0)
                        goto fail;
                snprintf(dl->desc, sizeof(dl->desc), "%s", cfg->listen);
        }
        len = strlen(dl->desc);
        if (dl->n_unix > 0)
                snprintf(dl->desc + len, sizeof(dl->desc) - len, " and %u inherited unix "
                         "socket%s", dl->n_unix, dl->n_unix == 1 ? "" : "s");
        else if (cfg->admin_socket) {
                snprintf(addr, sizeof(addr), "unix:%s", cfg->admin_socket);
                r = bind_admin(dl, srv, loop, cfg->admin_socket, lg, err, err_len);
                if (r < 0)
                        goto fail;
                snprintf(dl->desc + len, sizeof(dl->desc) - len, " and %s", addr);
        }
        *ret = dl;
        return 0;
fail:
        daemon_listen_free(dl);
        return r;
}

int daemon_listen_start(struct daemon_listen *dl, char *err, size_t err_len)
{
        int r;

        if (!dl->acc)
                return 0;
        r = net_acceptor_start(dl->acc);
        if (r < 0)
                snprintf(err, err_len, "cannot start accepting on the inherited sockets and "
                         "the admin socket: %s",
                         strerror(-r));
        return r;
}

const char *daemon_listen_describe(const struct daemon_listen *dl)
{
        return dl->desc;
}

void daemon_listen_free(struct daemon_listen *dl)
{
        struct stat st;

        if (!dl)
                return;
        net_acceptor_free(dl->acc);
        /* Only the socket bound here: a newer daemon may have replaced the file. */
        if (dl->bound_path && lstat(dl->bound_path, &st) == 0 && st.st_ino == dl->bound_ino)
                unlink(dl->bound_path);
        free(dl->bound_path);
        free(dl);
}
