/* daemon/config/config.c: rafktor.conf, key by key.
 *
 * Owns: which keys exist, which are required, their defaults and the rules
 * that tie keys together (timeouts, sizes, id in peers, duplicate members).
 * Must never: accept an unknown key or a value it cannot use, log, or leave
 * a half-filled config behind on failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/config/config-internal.h"
#include "daemon/config/config.h"
#include "lib/log.h"

static const char *const root_keys[] = {
        "id", "listen", "data_dir", "admin_socket", "peers", "join",
        "election_timeout_min_ms", "election_timeout_max_ms", "heartbeat_ms",
        "segment_size", "max_message_size", "request_timeout_ms", "session_ttl_ms",
        "log_level",
        "snapshot_factor", "snapshot_min_bytes", "snapshot_trailing", "auto_promote",
        "catchup_rounds",
};
#define N_ROOT_KEYS (sizeof(root_keys) / sizeof(root_keys[0]))

#define UNIX_PATH_MAX_LEN 107   /* sizeof(sun_path) - 1 */

static int fail_oom(const struct cfg_ctx *ctx) {
        if (ctx->err && ctx->err_size > 0)
                snprintf(ctx->err, ctx->err_size, "%s: out of memory", ctx->source);
        return -ENOMEM;
}

static int dup_string(const struct cfg_ctx *ctx, const char *s, char **ret) {
        *ret = strdup(s);
        return *ret ? 0 : fail_oom(ctx);
}

static int check_root_keys(const struct cfg_ctx *ctx, const config_setting_t *root) {
        for (int i = 0; i < config_setting_length(root); i++) {
                const config_setting_t *s = config_setting_get_elem(root, (unsigned) i);
                const char *name = config_setting_name(s);
                const char *hint;
                bool known = false;

                for (size_t k = 0; k < N_ROOT_KEYS && !known; k++)
                        known = strcmp(name, root_keys[k]) == 0;
                if (known)
                        continue;
                hint = cfg_suggest(name, root_keys, N_ROOT_KEYS);
                if (hint)
                        return cfg_fail(ctx, s, "unknown key \"%s\" (did you mean \"%s\"?)", name,
                                        hint);
                return cfg_fail(ctx, s, "unknown key \"%s\"", name);
        }
        return 0;
}

static int parse_address(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                         char **ret_address, char **ret_host, uint16_t *ret_port) {
        const char *v;
        char q[96];
        int r;

        r = cfg_get_string(ctx, s, name, &v);
        if (r < 0)
                return r;
        r = rafktor_parse_address(v, ret_host, ret_port);
        if (r == -ENOMEM)
                return fail_oom(ctx);
        if (r == -ERANGE)
                return cfg_fail(ctx, s, "%s: expected a port 1..65535 in HOST:PORT, got %s",
                                name, cfg_quote(q, sizeof(q), v));
        if (r < 0)
                return cfg_fail(ctx, s, "%s: expected HOST:PORT, got %s", name,
                                cfg_quote(q, sizeof(q), v));
        return dup_string(ctx, v, ret_address);
}

static int parse_id(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                    char **ret) {
        const char *v;
        char q[96];
        int r;

        r = cfg_get_string(ctx, s, name, &v);
        if (r < 0)
                return r;
        if (!cfg_id_is_valid(v))
                return cfg_fail(ctx, s, "%s: expected 1-%d characters from A-Z a-z 0-9 . _ -,"
                                " got %s", name, RAFKTOR_CONFIG_ID_MAX,
                                cfg_quote(q, sizeof(q), v));
        return dup_string(ctx, v, ret);
}

static bool same_address(const struct rafktor_peer *a, const struct rafktor_peer *b) {
        return a->port == b->port && strcasecmp(a->host, b->host) == 0;
}

static int parse_peer(const struct cfg_ctx *ctx, const config_setting_t *g, size_t i,
                      struct rafktor_peer *p) {
        const config_setting_t *s;
        char name[48];
        int r;

        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
                return cfg_fail(ctx, g, "peers[%zu]: expected a group { id = ...; address = ...; },"
                                " got %s", i, cfg_type_name(config_setting_type(g)));
        for (int k = 0; k < config_setting_length(g); k++) {
                s = config_setting_get_elem(g, (unsigned) k);
                if (strcmp(config_setting_name(s), "id") != 0 &&
                    strcmp(config_setting_name(s), "address") != 0)
                        return cfg_fail(ctx, s, "peers[%zu]: unknown key \"%s\" (expected id and"
                                        " address)", i, config_setting_name(s));
        }
        s = config_setting_get_member(g, "id");
        if (!s)
                return cfg_fail(ctx, g, "peers[%zu]: missing key \"id\"", i);
        snprintf(name, sizeof(name), "peers[%zu].id", i);
        r = parse_id(ctx, s, name, &p->id);
        if (r < 0)
                return r;
        s = config_setting_get_member(g, "address");
        if (!s)
                return cfg_fail(ctx, g, "peers[%zu]: missing key \"address\"", i);
        snprintf(name, sizeof(name), "peers[%zu].address", i);
        return parse_address(ctx, s, name, &p->address, &p->host, &p->port);
}

static int parse_peers(const struct cfg_ctx *ctx, const config_setting_t *list,
                       struct rafktor_config *c) {
        size_t n;
        int r;

        if (config_setting_type(list) != CONFIG_TYPE_LIST)
                return cfg_fail(ctx, list, "peers: expected a list of groups such as"
                                " ( { id = \"n1\"; address = \"127.0.0.1:7401\"; } ), got %s",
                                cfg_type_name(config_setting_type(list)));
        n = (size_t) config_setting_length(list);
        if (n > RAFKTOR_CONFIG_MAX_PEERS)
                return cfg_fail(ctx, list, "peers: expected at most %d members, got %zu",
                                RAFKTOR_CONFIG_MAX_PEERS, n);
        if (n == 0)
                return 0;
        c->peers = calloc(n, sizeof(*c->peers));
        if (!c->peers)
                return fail_oom(ctx);
        for (size_t i = 0; i < n; i++) {
                const config_setting_t *g = config_setting_get_elem(list, (unsigned) i);
                struct rafktor_peer *p = &c->peers[i];

                r = parse_peer(ctx, g, i, p);
                c->n_peers = i + 1;     /* free what parse_peer filled, even on failure */
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++) {
                        if (strcmp(c->peers[j].id, p->id) == 0)
                                return cfg_fail(ctx, config_setting_get_member(g, "id"),
                                                "peers[%zu].id: duplicate id \"%s\" (also"
                                                " peers[%zu])", i, p->id, j);
                        if (same_address(&c->peers[j], p))
                                return cfg_fail(ctx, config_setting_get_member(g, "address"),
                                                "peers[%zu].address: duplicate address \"%s\""
                                                " (also peers[%zu])", i, p->address, j);
                }
        }
        return 0;
}

static int parse_path(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                      char **ret) {
        const char *v;
        char q[96];
        int r;

        r = cfg_get_string(ctx, s, name, &v);
        if (r < 0)
                return r;
        if (v[0] != '/' || strlen(v) > 1024)
                return cfg_fail(ctx, s, "%s: expected an absolute path, got %s", name,
                                cfg_quote(q, sizeof(q), v));
        return dup_string(ctx, v, ret);
}

static int parse_admin_socket(const struct cfg_ctx *ctx, const config_setting_t *s,
                              char **ret) {
        const char *v;
        char q[96];
        int r;

        r = cfg_get_string(ctx, s, "admin_socket", &v);
        if (r < 0)
                return r;
        if (v[0] == '\0') {
                *ret = NULL;
                return 0;
        }
        if (v[0] != '/' || strlen(v) > UNIX_PATH_MAX_LEN)
                return cfg_fail(ctx, s, "admin_socket: expected an absolute path of at most %d"
                                " bytes, or \"\" to disable, got %s", UNIX_PATH_MAX_LEN,
                                cfg_quote(q, sizeof(q), v));
        return dup_string(ctx, v, ret);
}

static int parse_log_level(const struct cfg_ctx *ctx, const config_setting_t *s, int *ret) {
        const char *v;
        char q[96];
        int r, level;

        r = cfg_get_string(ctx, s, "log_level", &v);
        if (r < 0)
                return r;
        level = log_level_from_string(v);
        if (level < LOG_ERR || level > LOG_DEBUG)
                return cfg_fail(ctx, s, "log_level: expected one of err, warning, notice, info,"
                                " debug, got %s", cfg_quote(q, sizeof(q), v));
        *ret = level;
        return 0;
}

/* The scalar optional keys: each present key is checked against its range. */
static int parse_tunables(const struct cfg_ctx *ctx, const config_setting_t *root,
                          struct rafktor_config *c) {
        const config_setting_t *s;
        bool auto_promote = true;
        int r = 0;

        if ((s = config_setting_get_member(root, "election_timeout_min_ms")))
                r = cfg_get_ms(ctx, s, "election_timeout_min_ms", 10, 60000,
                               &c->election_timeout_min_ms);
        if (r >= 0 && (s = config_setting_get_member(root, "election_timeout_max_ms")))
                r = cfg_get_ms(ctx, s, "election_timeout_max_ms", 11, 120000,
                               &c->election_timeout_max_ms);
        if (r >= 0 && (s = config_setting_get_member(root, "heartbeat_ms")))
                r = cfg_get_ms(ctx, s, "heartbeat_ms", 1, 30000, &c->heartbeat_ms);
        if (r >= 0 && (s = config_setting_get_member(root, "segment_size")))
                r = cfg_get_size(ctx, s, "segment_size", 1ULL << 20, 1ULL << 30,
                                 &c->segment_size);
        if (r >= 0 && (s = config_setting_get_member(root, "max_message_size")))
                r = cfg_get_size(ctx, s, "max_message_size", 64ULL << 10, 256ULL << 20,
                                 &c->max_message_size);
        if (r >= 0 && (s = config_setting_get_member(root, "request_timeout_ms")))
                r = cfg_get_ms(ctx, s, "request_timeout_ms", 100, 600000,
                               &c->request_timeout_ms);
        if (r >= 0 && (s = config_setting_get_member(root, "session_ttl_ms")))
                r = cfg_get_ms(ctx, s, "session_ttl_ms", 1000, 604800000, &c->session_ttl_ms);
        if (r >= 0 && (s = config_setting_get_member(root, "log_level")))
                r = parse_log_level(ctx, s, &c->log_level);
        if (r >= 0 && (s = config_setting_get_member(root, "join")))
                r = cfg_get_bool(ctx, s, "join", &c->join);
        if (r >= 0 && (s = config_setting_get_member(root, "auto_promote"))) {
                r = cfg_get_bool(ctx, s, "auto_promote", &auto_promote);
                c->disable_auto_promote = !auto_promote;
        }
        return r;
}

/* A plain integer (a count, a factor) in min..max. */
static int get_count(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                     long long min, long long max, uint64_t *ret) {
        int type = config_setting_type(s);
        long long v;

        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
                return cfg_fail(ctx, s, "%s: expected an integer, got %s", name,
                                cfg_type_name(type));
        v = config_setting_get_int64(s);
        if (v < min || v > max)
                return cfg_fail(ctx, s, "%s: expected %lld..%lld, got %lld", name, min, max, v);
        *ret = (uint64_t) v;
        return 0;
}

/* A factor from 0.1 to 1000, written as an integer or a decimal, in percent (rounded). */
static int get_factor(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                      uint32_t *ret_percent) {
        int type = config_setting_type(s);
        double v;

        if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
                v = (double) config_setting_get_int64(s);
        else if (type == CONFIG_TYPE_FLOAT)
                v = config_setting_get_float(s);
        else
                return cfg_fail(ctx, s, "%s: expected a number, got %s", name,
                                cfg_type_name(type));
        if (!(v >= 0.1 && v <= 1000.0))
                return cfg_fail(ctx, s, "%s: expected 0.1..1000, got %g", name, v);
        *ret_percent = (uint32_t) (v * 100.0 + 0.5);
        return 0;
}

/* The snapshot policy (Raft thesis 5.1.2), the log kept behind a snapshot, and how long
 * a learner may take to catch up (thesis 4.2.1). */
static int parse_snapshot_keys(const struct cfg_ctx *ctx, const config_setting_t *root,
                               struct rafktor_config *c) {
        const config_setting_t *s;
        uint64_t v;
        int r = 0;

        if ((s = config_setting_get_member(root, "snapshot_factor")))
                r = get_factor(ctx, s, "snapshot_factor", &c->snapshot_percent);
        if (r >= 0 && (s = config_setting_get_member(root, "snapshot_min_bytes")))
                r = cfg_get_size(ctx, s, "snapshot_min_bytes", 4ULL << 10, 64ULL << 30,
                                 &c->snapshot_min_bytes);
        if (r >= 0 && (s = config_setting_get_member(root, "snapshot_trailing")))
                r = get_count(ctx, s, "snapshot_trailing", 0, 100000000,
                              &c->snapshot_trailing);
        if (r >= 0 && (s = config_setting_get_member(root, "catchup_rounds"))) {
                r = get_count(ctx, s, "catchup_rounds", 0, 1000, &v);
                if (r >= 0)
                        c->catchup_rounds = (uint32_t) v;
        }
        return r;
}

/* Rules between keys; the error points at the later key when it is set. */
static int check_relations(const struct cfg_ctx *ctx, const config_setting_t *root,
                           const struct rafktor_config *c) {
        const config_setting_t *min = config_setting_get_member(root, "election_timeout_min_ms");
        const config_setting_t *max = config_setting_get_member(root, "election_timeout_max_ms");
        const config_setting_t *hb = config_setting_get_member(root, "heartbeat_ms");
        const config_setting_t *seg = config_setting_get_member(root, "segment_size");
        const config_setting_t *msg = config_setting_get_member(root, "max_message_size");

        if (c->election_timeout_max_ms <= c->election_timeout_min_ms)
                return cfg_fail(ctx, max ? max : min,
                                "election_timeout_max_ms must be greater than"
                                " election_timeout_min_ms, got %u <= %u",
                                c->election_timeout_max_ms, c->election_timeout_min_ms);
        if (c->heartbeat_ms >= c->election_timeout_min_ms)
                return cfg_fail(ctx, hb ? hb : min,
                                "heartbeat_ms must be smaller than election_timeout_min_ms,"
                                " got %u >= %u", c->heartbeat_ms, c->election_timeout_min_ms);
        if (c->max_message_size >= c->segment_size)
                return cfg_fail(ctx, msg ? msg : seg,
                                "max_message_size must be smaller than segment_size, got %llu >="
                                " %llu", (unsigned long long) c->max_message_size,
                                (unsigned long long) c->segment_size);
        return 0;
}

static int check_membership(const struct cfg_ctx *ctx, const config_setting_t *root,
                            const struct rafktor_config *c) {
        const config_setting_t *peers = config_setting_get_member(root, "peers");

        /* Catches a config copied from another node with only the id changed. */
        for (size_t i = 0; i < c->n_peers; i++)
                if (strcmp(c->peers[i].id, c->id) != 0 && c->peers[i].port == c->listen_port &&
                    strcasecmp(c->peers[i].host, c->listen_host) == 0)
                        return cfg_fail(ctx, config_setting_get_member(root, "listen"),
                                        "listen: \"%s\" is the address of peers[%zu] (\"%s\"),"
                                        " not of this node (\"%s\")", c->listen, i,
                                        c->peers[i].id, c->id);
        if (c->join)
                return 0;
        if (!peers)
                return cfg_fail(ctx, NULL, "peers: required key is missing (a node that joins"
                                " an existing cluster sets join = true instead)");
        if (c->n_peers == 0)
                return cfg_fail(ctx, peers, "peers: expected at least one member (or join ="
                                " true to join an existing cluster)");
        for (size_t i = 0; i < c->n_peers; i++)
                if (strcmp(c->peers[i].id, c->id) == 0)
                        return 0;
        return cfg_fail(ctx, config_setting_get_member(root, "id"),
                        "id: \"%s\" does not appear in peers (set join = true to join an"
                        " existing cluster)", c->id);
}

static int parse_root(const struct cfg_ctx *ctx, const config_setting_t *root,
                      struct rafktor_config *c) {
        static const char *const required[] = { "id", "listen", "data_dir" };
        const config_setting_t *s;
        int r;

        r = check_root_keys(ctx, root);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
                if (!config_setting_get_member(root, required[i]))
                        return cfg_fail(ctx, NULL, "%s: required key is missing", required[i]);

        r = parse_id(ctx, config_setting_get_member(root, "id"), "id", &c->id);
        if (r < 0)
                return r;
        r = parse_address(ctx, config_setting_get_member(root, "listen"), "listen", &c->listen,
                          &c->listen_host, &c->listen_port);
        if (r < 0)
                return r;
        r = parse_path(ctx, config_setting_get_member(root, "data_dir"), "data_dir",
                       &c->data_dir);
        if (r < 0)
                return r;
        s = config_setting_get_member(root, "admin_socket");
        r = s ? parse_admin_socket(ctx, s, &c->admin_socket)
              : dup_string(ctx, RAFKTOR_CONFIG_DEFAULT_ADMIN_SOCKET, &c->admin_socket);
        if (r < 0)
                return r;
        s = config_setting_get_member(root, "peers");
        if (s) {
                r = parse_peers(ctx, s, c);
                if (r < 0)
                        return r;
        }
        r = parse_tunables(ctx, root, c);
        if (r < 0)
                return r;
        r = parse_snapshot_keys(ctx, root, c);
        if (r < 0)
                return r;
        r = check_relations(ctx, root, c);
        if (r < 0)
                return r;
        return check_membership(ctx, root, c);
}

static void set_defaults(struct rafktor_config *c) {
        c->election_timeout_min_ms = RAFKTOR_DEFAULT_ELECTION_TIMEOUT_MIN_MS;
        c->election_timeout_max_ms = RAFKTOR_DEFAULT_ELECTION_TIMEOUT_MAX_MS;
        c->heartbeat_ms = RAFKTOR_DEFAULT_HEARTBEAT_MS;
        c->segment_size = RAFKTOR_DEFAULT_SEGMENT_SIZE;
        c->max_message_size = RAFKTOR_DEFAULT_MAX_MESSAGE_SIZE;
        c->request_timeout_ms = RAFKTOR_DEFAULT_REQUEST_TIMEOUT_MS;
        c->session_ttl_ms = RAFKTOR_DEFAULT_SESSION_TTL_MS;
        c->log_level = LOG_INFO;
        c->snapshot_percent = RAFKTOR_DEFAULT_SNAPSHOT_PERCENT;
        c->snapshot_min_bytes = RAFKTOR_DEFAULT_SNAPSHOT_MIN_BYTES;
        c->snapshot_trailing = RAFKTOR_DEFAULT_SNAPSHOT_TRAILING;
        c->join = false;
}

/* Parses an already read libconfig tree; `ok` is config_read_*()'s result. */
static int load(config_t *cf, int ok, const char *source, struct rafktor_config *ret,
                char *err, size_t err_size) {
        struct cfg_ctx ctx = { .source = source, .err = err, .err_size = err_size };
        struct rafktor_config c = { 0 };
        int r;

        *ret = (struct rafktor_config) { 0 };
        if (err && err_size > 0)
                err[0] = '\0';
        if (!ok) {
                const char *file = config_error_file(cf) ? config_error_file(cf) : source;

                if (config_error_type(cf) == CONFIG_ERR_FILE_IO) {
                        if (err && err_size > 0)
                                snprintf(err, err_size, "%s: cannot read: %s", file,
                                         config_error_text(cf));
                        return -EIO;
                }
                if (err && err_size > 0)
                        snprintf(err, err_size, "%s:%d: %s", file, config_error_line(cf),
                                 config_error_text(cf));
                return -EINVAL;
        }
        set_defaults(&c);
        r = dup_string(&ctx, source, &c.source);
        if (r < 0)
                return r;
        r = parse_root(&ctx, config_root_setting(cf), &c);
        if (r < 0) {
                rafktor_config_free(&c);
                return r;
        }
        *ret = c;
        return 0;
}

int rafktor_config_load_file(const char *path, struct rafktor_config *ret, char *err,
                             size_t err_size) {
        config_t cf;
        FILE *f;
        int r;

        *ret = (struct rafktor_config) { 0 };
        /* libconfig reports only "file I/O error": open it first for the errno. */
        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                if (err && err_size > 0)
                        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(-r));
                return r;
        }
        fclose(f);
        config_init(&cf);
        r = load(&cf, config_read_file(&cf, path), path, ret, err, err_size);
        config_destroy(&cf);
        return r;
}

int rafktor_config_load_string(const char *text, const char *source,
                               struct rafktor_config *ret, char *err, size_t err_size) {
        config_t cf;
        int r;

        config_init(&cf);
        r = load(&cf, config_read_string(&cf, text), source ? source : "<string>", ret, err,
                 err_size);
        config_destroy(&cf);
        return r;
}

void rafktor_config_free(struct rafktor_config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_peers; i++) {
                free(c->peers[i].id);
                free(c->peers[i].address);
                free(c->peers[i].host);
        }
        free(c->peers);
        free(c->source);
        free(c->id);
        free(c->listen);
        free(c->listen_host);
        free(c->data_dir);
        free(c->admin_socket);
        *c = (struct rafktor_config) { 0 };
}
