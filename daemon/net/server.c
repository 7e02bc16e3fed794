/* daemon/net/server.c: the gRPC server: method table, listening, request slots, shutdown.
 *
 * Owns: the grpc_server and its credentials, the registered methods, the request slots
 * (one generic slot kind answers unknown methods), the list of live calls and the table of
 * peers recorded by the acceptor. Must never free itself while a slot or the shutdown tag
 * is still with gRPC, and never run a handler outside the loop thread.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpc/grpc_posix.h>
#include <grpc/support/alloc.h>

#include "daemon/net/internal.h"
#include "daemon/net/server_internal.h"

struct slot {
        struct net_tag tag;
        struct net_server *srv;
        struct net_server_method *m;        /* NULL: the generic slot */
        grpc_call *call;
        gpr_timespec deadline;
        grpc_metadata_array md;
        grpc_byte_buffer *payload;
        grpc_call_details details;
};

static void on_slot(struct net_tag *tag, bool ok);

static void slot_free(struct slot *s)
{
        grpc_metadata_array_destroy(&s->md);
        if (!s->m)
                grpc_call_details_destroy(&s->details);
        s->srv->live_slots--;
        free(s);
}

static int slot_post(struct slot *s)
{
        struct net_server *srv = s->srv;
        grpc_completion_queue *cq = net_loop_cq(srv->loop);
        grpc_call_error e;

        s->call = NULL;
        s->payload = NULL;
        grpc_metadata_array_init(&s->md);
        if (s->m) {
                bool unary = s->m->m.kind == NET_METHOD_UNARY;

                e = grpc_server_request_registered_call(srv->server, s->m->registered, &s->call,
                                                        &s->deadline, &s->md,
                                                        unary ? &s->payload : NULL, cq, cq,
                                                        &s->tag);
        } else {
                grpc_call_details_init(&s->details);
                e = grpc_server_request_call(srv->server, &s->call, &s->details, &s->md, cq,
                                             cq, &s->tag);
        }
        if (e != GRPC_CALL_OK) {
                net_loop_log(srv->loop, NET_LOG_ERR,
                             "net server: cannot post a request slot for %s (error %d)",
                             s->m ? s->m->path : "unknown methods", (int)e);
                slot_free(s);
                return -EIO;
        }
        return 0;
}

static int slot_new(struct net_server *srv, struct net_server_method *m)
{
        struct slot *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->tag.cb = on_slot;
        s->srv = srv;
        s->m = m;
        srv->live_slots++;
        return slot_post(s);
}

static void on_slot(struct net_tag *tag, bool ok)
{
        struct slot *s = net_container_of(tag, struct slot, tag);
        struct net_server *srv = s->srv;
        grpc_call *call = s->call;
        grpc_metadata_array md = s->md;
        grpc_byte_buffer *payload = s->payload;
        gpr_timespec deadline = s->deadline;
        struct net_server_method *m = s->m;
        char *path = NULL;

        if (!ok) {
                slot_free(s);   /* shutdown: the slot came back unused */
                return;
        }
        if (!m) {
                path = net_slice_to_cstr(s->details.method);
                deadline = s->details.deadline;
                grpc_call_details_destroy(&s->details);
                grpc_call_details_init(&s->details);
        }
        /* The call owns md now; post the slot again before handling, so calls keep
         * arriving while a handler runs. */
        if (srv->shutting_down) {
                grpc_metadata_array_init(&s->md);
                slot_free(s);
        } else {
                slot_post(s);
        }
        net_call_start(srv, m ? &m->m : NULL, m ? m->path : (path ? path : "(unknown)"),
                       call, &md, deadline, payload);
        free(path);
}

void net_server_call_added(struct net_server *srv, struct net_call *c)
{
        c->prev = NULL;
        c->next = srv->calls;
        if (srv->calls)
                srv->calls->prev = c;
        srv->calls = c;
        srv->n_calls++;
}

void net_server_call_removed(struct net_server *srv, struct net_call *c)
{
        if (c->prev)
                c->prev->next = c->next;
        else
                srv->calls = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
        srv->n_calls--;
}

void net_server_peer_of(struct net_server *srv, grpc_call *call, struct net_peer *out)
{
        char *p = grpc_call_get_peer(call);
        int fd;

        memset(out, 0, sizeof(*out));
        if (p && strncmp(p, "fd:", 3) == 0 && (fd = atoi(p + 3)) >= 0) {
                /* The transport holds the fd until this call is unreffed, so the record
                 * cannot belong to a later connection that reused the number. */
                pthread_mutex_lock(&srv->peers_lock);
                if ((size_t)fd < srv->n_peers)
                        *out = srv->peers[fd];
                pthread_mutex_unlock(&srv->peers_lock);
        }
        if (!out->address[0] && p)
                snprintf(out->address, sizeof(out->address), "%s", p);
        gpr_free(p);
}

int net_server_adopt_fd(struct net_server *srv, int fd, const struct net_peer *peer)
{
        pthread_mutex_lock(&srv->peers_lock);
        if ((size_t)fd >= srv->n_peers) {
                size_t n = (size_t)fd + 64;
                struct net_peer *p = realloc(srv->peers, n * sizeof(*p));

                if (!p) {
                        pthread_mutex_unlock(&srv->peers_lock);
                        return -ENOMEM;
                }
                memset(p + srv->n_peers, 0, (n - srv->n_peers) * sizeof(*p));
                srv->peers = p;
                srv->n_peers = n;
        }
        srv->peers[fd] = *peer;
        pthread_mutex_unlock(&srv->peers_lock);
        grpc_server_add_channel_from_fd(srv->server, fd, srv->creds);
        return 0;
}

struct net_server *net_server_new(struct net_loop *loop, const struct net_method *methods,
                                  size_t n_methods, const struct net_server_options *opts)
{
        struct net_server *srv = calloc(1, sizeof(*srv));
        grpc_arg args[2];
        grpc_channel_args chargs = { .num_args = 0, .args = args };

        if (!srv) {
                net_loop_log(loop, NET_LOG_ERR, "net server: out of memory");
                return NULL;
        }
        srv->loop = loop;
        srv->slots_per_method = opts && opts->slots_per_method ? opts->slots_per_method : 8;
        srv->shutdown_tag.cb = NULL;
        pthread_mutex_init(&srv->peers_lock, NULL);

        /* A second daemon on the same port must fail, not share the port. */
        args[chargs.num_args].type = GRPC_ARG_INTEGER;
        args[chargs.num_args].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
        args[chargs.num_args].value.integer = 0;
        chargs.num_args++;
        if (opts && opts->max_recv_bytes) {
                args[chargs.num_args].type = GRPC_ARG_INTEGER;
                args[chargs.num_args].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
                args[chargs.num_args].value.integer =
                        opts->max_recv_bytes > INT32_MAX ? INT32_MAX : (int)opts->max_recv_bytes;
                chargs.num_args++;
        }
        srv->server = grpc_server_create(&chargs, NULL);
        if (!srv->server) {
                net_loop_log(loop, NET_LOG_ERR, "net server: grpc_server_create failed");
                goto err;
        }
        grpc_server_register_completion_queue(srv->server, net_loop_cq(loop), NULL);
        srv->creds = grpc_insecure_server_credentials_create();

        srv->methods = calloc(n_methods ? n_methods : 1, sizeof(*srv->methods));
        if (!srv->methods)
                goto err;
        for (size_t i = 0; i < n_methods; i++) {
                struct net_server_method *sm = &srv->methods[i];
                bool unary = methods[i].kind == NET_METHOD_UNARY;

                if (!methods[i].path || !methods[i].on_message ||
                    (!unary && !methods[i].on_half_close)) {
                        net_loop_log(loop, NET_LOG_ERR,
                                     "net server: method %zu (%s) lacks a path or a handler",
                                     i, methods[i].path ? methods[i].path : "no path");
                        goto err;
                }
                sm->m = methods[i];
                sm->path = strdup(methods[i].path);
                if (!sm->path)
                        goto err;
                srv->n_methods = i + 1;
                sm->m.path = sm->path;
                sm->registered = grpc_server_register_method(
                        srv->server, sm->path, NULL,
                        unary ? GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER : GRPC_SRM_PAYLOAD_NONE,
                        0);
                if (!sm->registered) {
                        net_loop_log(loop, NET_LOG_ERR,
                                     "net server: cannot register method %s (duplicate?)",
                                     sm->path);
                        goto err;
                }
        }
        return srv;
err:
        net_server_free(srv, 0);
        return NULL;
}

/* Why did gRPC refuse addr? Bind it ourselves (as gRPC does: SO_REUSEADDR, no
 * SO_REUSEPORT) and report the errno. Returns a negative errno, -EINVAL if unknown. */
static int probe_bind(const char *addr)
{
        char buf[256], *host, *port;
        struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM };
        struct addrinfo *ai = NULL;
        int r = -EINVAL, fd, one = 1;

        if (strncmp(addr, "ipv4:", 5) == 0 || strncmp(addr, "ipv6:", 5) == 0)
                addr += 5;
        snprintf(buf, sizeof(buf), "%s", addr);
        port = strrchr(buf, ':');
        if (!port)
                return -EINVAL;
        *port++ = '\0';
        host = buf;
        if (host[0] == '[') {
                host++;
                host[strcspn(host, "]")] = '\0';
        }
        if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0 || !ai)
                return -EINVAL;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                r = bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : -EINVAL;
                close(fd);
        }
        freeaddrinfo(ai);
        return r;
}

/* gRPC unlinks an existing unix socket path before binding: refuse instead when a live
 * server answers there. Returns 1 when one does, 0 otherwise. */
static int unix_in_use(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r = 0;

        if (strlen(path) >= sizeof(sa.sun_path))
                return 0;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return 0;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                r = 1;
        close(fd);
        return r;
}

int net_server_listen(struct net_server *srv, const char *addr)
{
        int port, r;

        if (srv->started) {
                net_loop_log(srv->loop, NET_LOG_ERR,
                             "net server: cannot listen on %s after the server started", addr);
                return -EBUSY;
        }
        if (strncmp(addr, "unix:", 5) == 0 && unix_in_use(addr + 5)) {
                net_loop_log(srv->loop, NET_LOG_ERR,
                             "net server: cannot listen on %s: address already in use "
                             "(another server answers on it)", addr);
                return -EADDRINUSE;
        }
        port = grpc_server_add_http2_port(srv->server, addr, srv->creds);
        if (port > 0)
                return port;
        r = strncmp(addr, "unix", 4) == 0 ? -EINVAL : probe_bind(addr);
        net_loop_log(srv->loop, NET_LOG_ERR, "net server: cannot listen on %s: %s", addr,
                     r == -EINVAL ? "gRPC refused the address (see its log)" : strerror(-r));
        return r;
}

int net_server_start(struct net_server *srv)
{
        int r;

        grpc_server_start(srv->server);
        srv->started = true;
        for (size_t i = 0; i < srv->n_methods; i++)
                for (unsigned k = 0; k < srv->slots_per_method; k++)
                        if ((r = slot_new(srv, &srv->methods[i])) < 0)
                                return r;
        for (unsigned k = 0; k < 2; k++)
                if ((r = slot_new(srv, NULL)) < 0)
                        return r;
        return 0;
}

static void on_shutdown(struct net_tag *tag, bool ok)
{
        struct net_server *srv = net_container_of(tag, struct net_server, shutdown_tag);

        srv->shutdown_done = true;
}

static bool server_returned(void *arg)
{
        struct net_server *srv = arg;

        return srv->shutdown_done && srv->live_slots == 0;
}

static bool server_idle(void *arg)
{
        struct net_server *srv = arg;

        return server_returned(srv) && srv->n_calls == 0;
}

void net_server_free(struct net_server *srv, int64_t timeout_ms)
{
        if (!srv)
                return;
        if (srv->started) {
                srv->shutting_down = true;
                srv->shutdown_tag.cb = on_shutdown;
                grpc_server_shutdown_and_notify(srv->server, net_loop_cq(srv->loop),
                                                &srv->shutdown_tag);
                grpc_server_cancel_all_calls(srv->server);
                if (net_loop_run_until(srv->loop, server_idle, srv,
                                       net_loop_now_ms() + timeout_ms) < 0) {
                        /* Our own tags must come back before srv can go. */
                        net_loop_run_until(srv->loop, server_returned, srv, INT64_MAX);
                        if (srv->n_calls)
                                net_loop_log(srv->loop, NET_LOG_ERR,
                                             "net server: %zu calls still held by handlers "
                                             "at shutdown; detaching them", srv->n_calls);
                        while (srv->calls) {
                                struct net_call *c = srv->calls;

                                net_server_call_removed(srv, c);
                                c->srv = NULL;
                                c->method = NULL;
                        }
                }
        }
        if (srv->server)
                grpc_server_destroy(srv->server);
        if (srv->creds)
                grpc_server_credentials_release(srv->creds);
        for (size_t i = 0; i < srv->n_methods; i++)
                free(srv->methods[i].path);
        free(srv->methods);
        free(srv->peers);
        pthread_mutex_destroy(&srv->peers_lock);
        free(srv);
}
