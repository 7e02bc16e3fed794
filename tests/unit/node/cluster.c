/* tests/unit/node/cluster.c: the in-process three-node cluster of the node tests.
 *
 * Owns: what cluster.h says. Must never sleep or leave a callback pointing into a stack
 * frame that returned (a reply that arrives after its wait gave up is dropped).
 */
#include <errno.h>
#include <ftw.h>
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

#include "rafktor.pb-c.h"
#include "tests/unit/node/cluster.h"

static char *xstrdup(const char *s)
{
        char *d = strdup(s);

        assert_non_null(d);
        return d;
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        assert_true(r >= 0);
        return s;
}

static void fill_config(struct tcluster *c, int i, uint32_t request_timeout_ms)
{
        struct rafktor_config *cfg = &c->n[i].cfg;

        memset(cfg, 0, sizeof(*cfg));
        cfg->source = xstrdup("test");
        cfg->id = xprintf("n%d", i + 1);
        cfg->listen = xprintf("unix:%s/n%d.sock", c->dir, i + 1);
        cfg->data_dir = xprintf("%s/n%d", c->dir, i + 1);
        cfg->peers = calloc(TC_NODES, sizeof(*cfg->peers));
        assert_non_null(cfg->peers);
        cfg->n_peers = TC_NODES;
        for (int k = 0; k < TC_NODES; k++) {
                cfg->peers[k].id = xprintf("n%d", k + 1);
                cfg->peers[k].address = xprintf("unix:%s/n%d.sock", c->dir, k + 1);
        }
        /* Wider than the defaults: ASan on two shared cores must not split votes. */
        cfg->election_timeout_min_ms = 300;
        cfg->election_timeout_max_ms = 600;
        cfg->heartbeat_ms = 60;
        cfg->segment_size = RAFKTOR_DEFAULT_SEGMENT_SIZE;
        cfg->max_message_size = RAFKTOR_DEFAULT_MAX_MESSAGE_SIZE;
        cfg->request_timeout_ms = request_timeout_ms;
        cfg->session_ttl_ms = RAFKTOR_DEFAULT_SESSION_TTL_MS;
        cfg->log_level = LOG_WARNING;
}

/* ---- the fault-injecting disk ------------------------------------------------------------ */

static ssize_t faulty_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
        struct tnode *t = ctx;
        const struct storage_io *p = storage_io_posix();
        int code = atomic_load(&t->fail_code);

        return code ? code : p->pwrite(p->ctx, fd, buf, len, off);
}

static int faulty_fdatasync(void *ctx, int fd)
{
        struct tnode *t = ctx;
        const struct storage_io *p = storage_io_posix();
        int code = atomic_load(&t->fail_code);

        return code ? code : p->fdatasync(p->ctx, fd);
}

static void faulty_io_init(struct tnode *t)
{
        t->io = *storage_io_posix();
        /* The other operations go to POSIX with this context: it must not need its own. */
        assert_null(t->io.ctx);
        t->io.ctx = t;
        t->io.pwrite = faulty_pwrite;
        t->io.fdatasync = faulty_fdatasync;
        atomic_init(&t->fail_code, 0);
}

void tc_init(struct tcluster *c, uint32_t request_timeout_ms)
{
        struct net_logger nl = { 0 };
        struct log_options lo;
        const char *verbose = getenv("NODE_TEST_VERBOSE");

        memset(c, 0, sizeof(*c));
        snprintf(c->dir, sizeof(c->dir), "/tmp/rafktor-node-XXXXXX");
        assert_non_null(mkdtemp(c->dir));
        log_options_init(&lo);
        lo.ident = "test-node";
        lo.max_level = verbose && *verbose ? LOG_DEBUG : LOG_WARNING;
        lo.target = LOG_TARGET_STDERR;
        assert_int_equal(log_new(&lo, &c->log), 0);
        c->loop = net_loop_new(&nl);
        assert_non_null(c->loop);
        for (int i = 0; i < TC_NODES; i++) {
                /* A connect attempt may take 2 s (gRPC's minimum connect timeout, which
                 * it calls min_reconnect_backoff): handshakes with a busy node under
                 * ASan take longer than 100 ms. */
                struct net_channel_options co = {
                        .backoff_initial_ms = 100,
                        .backoff_min_ms = 2000,
                        .backoff_max_ms = 500,
                };

                fill_config(c, i, request_timeout_ms);
                faulty_io_init(&c->n[i]);
                c->n[i].ch = net_channel_new(c->loop, c->n[i].cfg.listen, &co);
                assert_non_null(c->n[i].ch);
        }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

void tc_destroy(struct tcluster *c)
{
        for (int i = 0; i < TC_NODES; i++)
                if (c->n[i].node)
                        tc_stop(c, i);
        for (int i = 0; i < TC_NODES; i++) {
                net_channel_free(c->n[i].ch);
                rafktor_config_free(&c->n[i].cfg);
        }
        net_loop_free(c->loop);
        log_free(c->log);
        nftw(c->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_storage_error(void *user, int code, const char *message)
{
        struct tnode *t = user;

        (void)message;
        t->storage_error_code = code;
}

static void on_role(void *user, const struct node_role_info *info)
{
        struct tnode *t = user;

        (void)info;
        t->role_changes++;
}

/* A TCP port on 127.0.0.1 (gRPC's listener) and the admin socket (net/accept.c). */
static void admin_endpoints_listen(struct tcluster *c, int i)
{
        struct tnode *t = &c->n[i];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        t->tcp_port = net_server_listen(t->srv, "127.0.0.1:0");
        assert_true(t->tcp_port > 0);
        char dir[sizeof(c->dir)];

        memcpy(dir, c->dir, sizeof(dir));
        snprintf(t->admin_path, sizeof(t->admin_path), "%s/n%d-admin.sock", dir, i + 1);
        assert_true(strlen(t->admin_path) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, t->admin_path);
        unlink(t->admin_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 16), 0);
        t->admin_acc = net_acceptor_new(t->srv, c->loop);
        assert_non_null(t->admin_acc);
        assert_int_equal(net_acceptor_add_fd(t->admin_acc, fd), 0);
}

void tc_start(struct tcluster *c, int i)
{
        struct tnode *t = &c->n[i];
        struct node_options o = {
                .config = &t->cfg,
                .loop = c->loop,
                .log = c->log,
                .callbacks = { .on_role = on_role, .on_storage_error = on_storage_error,
                               .user = t },
                .seed = 0x5eed0000u + (uint64_t)i,
                .io = &t->io,
        };
        struct net_server_options so = { .max_recv_bytes = t->cfg.max_message_size };
        const struct net_method *m;
        char err[512];
        size_t n;
        int r;

        assert_null(t->node);
        r = node_new(&o, &t->node, err, sizeof(err));
        if (r < 0)
                fail_msg("node_new(%s): %s", t->cfg.id, err);
        node_methods(t->node, &m, &n);
        t->srv = net_server_new(c->loop, m, n, &so);
        assert_non_null(t->srv);
        assert_int_equal(net_server_listen(t->srv, t->cfg.listen), 1);
        if (c->admin_endpoints)
                admin_endpoints_listen(c, i);
        assert_int_equal(net_server_start(t->srv), 0);
        if (t->admin_acc)
                assert_int_equal(net_acceptor_start(t->admin_acc), 0);
        r = node_start(t->node, err, sizeof(err));
        if (r < 0)
                fail_msg("node_start(%s): %s", t->cfg.id, err);
}

void tc_stop(struct tcluster *c, int i)
{
        struct tnode *t = &c->n[i];

        node_stop(t->node);
        net_acceptor_free(t->admin_acc);        /* before the server (net/accept.h) */
        t->admin_acc = NULL;
        net_server_free(t->srv, 2000);
        t->srv = NULL;
        node_free(t->node);
        t->node = NULL;
}

struct leader_wait {
        struct tcluster *c;
        int leader;
};

static bool one_leader(void *arg)
{
        struct leader_wait *w = arg;
        struct raft_status st;
        char leader[RAFT_ID_MAX] = "";
        int idx = -1;

        for (int i = 0; i < TC_NODES; i++) {
                if (!w->c->n[i].node)
                        continue;
                node_raft_status(w->c->n[i].node, &st);
                if (st.role == RAFT_LEADER) {
                        if (idx >= 0)
                                return false;
                        idx = i;
                }
                if (!st.leader[0] || (leader[0] && strcmp(leader, st.leader) != 0))
                        return false;
                snprintf(leader, sizeof(leader), "%s", st.leader);
        }
        if (idx < 0 || strcmp(leader, w->c->n[idx].cfg.id) != 0)
                return false;
        w->leader = idx;
        return true;
}

int tc_wait_leader(struct tcluster *c, int64_t timeout_ms)
{
        struct leader_wait w = { .c = c, .leader = -1 };

        if (net_loop_run_until(c->loop, one_leader, &w, net_loop_now_ms() + timeout_ms) < 0)
                return -1;
        return w.leader;
}

struct catch_up {
        struct tcluster *c;
        int i, l;
};

static bool caught_up(void *arg)
{
        struct catch_up *w = arg;
        struct raft_status a, b;

        if (!w->c->n[w->i].node || !w->c->n[w->l].node)
                return false;
        node_raft_status(w->c->n[w->i].node, &a);
        node_raft_status(w->c->n[w->l].node, &b);
        return b.commit_index > 0 && a.applied_index >= b.commit_index;
}

bool tc_wait_caught_up(struct tcluster *c, int i, int l, int64_t timeout_ms)
{
        struct catch_up w = { .c = c, .i = i, .l = l };

        return net_loop_run_until(c->loop, caught_up, &w, net_loop_now_ms() + timeout_ms) == 0;
}

/* ---- the synchronous client ------------------------------------------------------------ */

void tresult_clear(struct tresult *r)
{
        free(r->data);
        memset(r, 0, sizeof(*r));
}

/* Heap-owned so a reply arriving after the wait gave up finds no stack frame. */
struct pending {
        struct tresult *res;
        bool done;
};

static void call_done(const struct net_result *nr, void *user)
{
        struct pending *p = user;

        if (p->res) {
                p->res->code = nr->code;
                snprintf(p->res->details, sizeof(p->res->details), "%s", nr->details);
                if (nr->code == GRPC_STATUS_OK) {
                        p->res->data = malloc(nr->len ? nr->len : 1);
                        assert_non_null(p->res->data);
                        memcpy(p->res->data, nr->data, nr->len);
                        p->res->len = nr->len;
                }
                p->res->done = true;
                p->done = true;
        } else {
                free(p);
        }
}

static bool pending_done(void *arg)
{
        return ((struct pending *)arg)->done;
}

static void call_bytes_on(struct tcluster *c, struct net_channel *ch, const char *path,
                          const void *data, size_t len, int64_t timeout_ms,
                          struct tresult *res)
{
        struct pending *p = calloc(1, sizeof(*p));
        int64_t deadline = net_loop_now_ms() + timeout_ms;

        assert_non_null(p);
        memset(res, 0, sizeof(*res));
        p->res = res;
        assert_int_equal(net_unary_call_bytes(ch, path, data, len, NULL, deadline,
                                              call_done, p), 0);
        if (net_loop_run_until(c->loop, pending_done, p, deadline + 2000) < 0) {
                p->res = NULL;  /* the late reply frees it */
                res->code = GRPC_STATUS_UNKNOWN;
                snprintf(res->details, sizeof(res->details), "no reply by the deadline");
                return;
        }
        free(p);
}

void tc_call_bytes(struct tcluster *c, int i, const char *path, const void *data, size_t len,
                   int64_t timeout_ms, struct tresult *res)
{
        call_bytes_on(c, c->n[i].ch, path, data, len, timeout_ms, res);
}

void tc_call_on(struct tcluster *c, struct net_channel *ch, const char *path,
                const ProtobufCMessage *req, int64_t timeout_ms, struct tresult *res)
{
        size_t len = protobuf_c_message_get_packed_size(req);
        uint8_t *buf = malloc(len ? len : 1);

        assert_non_null(buf);
        protobuf_c_message_pack(req, buf);
        call_bytes_on(c, ch, path, buf, len, timeout_ms, res);
        free(buf);
}

void tc_call(struct tcluster *c, int i, const char *path, const ProtobufCMessage *req,
             int64_t timeout_ms, struct tresult *res)
{
        tc_call_on(c, c->n[i].ch, path, req, timeout_ms, res);
}

void tc_put(struct tcluster *c, int i, const char *key, const char *value, uint64_t client_id,
            uint64_t request_id, struct tresult *res)
{
        Rafktor__V1__PutRequest req = RAFKTOR__V1__PUT_REQUEST__INIT;
        Rafktor__V1__RequestSession s = RAFKTOR__V1__REQUEST_SESSION__INIT;

        req.key.data = (uint8_t *)key;
        req.key.len = strlen(key);
        req.value.data = (uint8_t *)value;
        req.value.len = strlen(value);
        if (client_id) {
                s.client_id = client_id;
                s.request_id = request_id;
                s.first_outstanding = request_id;
                req.session = &s;
        }
        tc_call(c, i, "/rafktor.v1.KV/Put", &req.base, 5000, res);
}

void tc_get(struct tcluster *c, int i, const char *key, bool stale, struct tresult *res)
{
        Rafktor__V1__GetRequest req = RAFKTOR__V1__GET_REQUEST__INIT;

        req.key.data = (uint8_t *)key;
        req.key.len = strlen(key);
        req.stale = stale;
        tc_call(c, i, "/rafktor.v1.KV/Get", &req.base, 5000, res);
}

int tc_setup_running(void **state)
{
        struct tcluster *c = calloc(1, sizeof(*c));

        if (!c)
                return -1;
        tc_init(c, 2000);
        for (int i = 0; i < TC_NODES; i++)
                tc_start(c, i);
        *state = c;
        return 0;
}

int tc_teardown(void **state)
{
        tc_destroy(*state);
        free(*state);
        return 0;
}

void tc_expect_code(const struct tresult *r, grpc_status_code want, const char *what)
{
        if (r->code != want)
                fail_msg("%s: code %d \"%s\", expected %d", what, (int)r->code, r->details,
                         (int)want);
}
