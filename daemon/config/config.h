/* daemon/config/config.h: rafktord's configuration file (rafktor.conf(5)).
 *
 * Owns: reading /etc/rafktor/rafktor.conf (libconfig syntax), checking every
 * key and value, applying defaults, and refusing anything wrong with
 * "FILE:LINE: KEY: what was expected, got what" (unknown keys included, so a
 * typo never silently falls back to a default). Also renders the config of
 * one node of the README's local three-node cluster.
 *
 * Must never: log, exit, touch the data directory or sockets (the daemon
 * decides what to do with the error text), or keep global state.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFKTOR_CONFIG_DEFAULT_PATH "/etc/rafktor/rafktor.conf"
#define RAFKTOR_CONFIG_DEFAULT_ADMIN_SOCKET "/run/rafktor/admin.sock"
/* A buffer this large holds any error the loader writes. */
#define RAFKTOR_CONFIG_ERROR_MAX 512
#define RAFKTOR_CONFIG_MAX_PEERS 64
#define RAFKTOR_CONFIG_ID_MAX 63

struct rafktor_peer {
        char *id;
        char *address;          /* as written: "HOST:PORT" or "[IPV6]:PORT" */
        char *host;             /* without brackets */
        uint16_t port;
};

/* Every string is owned by the struct (free with rafktor_config_free()). */
struct rafktor_config {
        char *source;           /* the file name (or name given) it was read from */
        char *id;
        char *listen;
        char *listen_host;
        uint16_t listen_port;
        char *data_dir;
        char *admin_socket;     /* NULL when disabled with admin_socket = "" */
        struct rafktor_peer *peers;     /* initial members, used only on first start */
        size_t n_peers;
        bool join;              /* start empty and wait to be added (no bootstrap) */
        bool disable_auto_promote; /* auto_promote = false: learners wait for PromoteMember */
        uint32_t catchup_rounds;   /* 0: AddMember answered when the learner is in; N: when
                                    * it is promoted, or fails after N slow catch-up rounds */

        uint32_t election_timeout_min_ms;
        uint32_t election_timeout_max_ms;
        uint32_t heartbeat_ms;
        uint64_t segment_size;          /* bytes */
        uint64_t max_message_size;      /* bytes */
        uint32_t request_timeout_ms;
        uint32_t session_ttl_ms;
        int log_level;                  /* LOG_ERR..LOG_DEBUG (syslog.h) */
        /* Snapshots (Raft thesis 5.1.2): one is taken once the log since the last one
         * is larger than snapshot_factor times it (kept here in percent) and than
         * snapshot_min_bytes; the in-memory log keeps snapshot_trailing entries behind
         * it for slow followers. */
        uint32_t snapshot_percent;
        uint64_t snapshot_min_bytes;    /* bytes */
        uint64_t snapshot_trailing;     /* entries */
};

/* Defaults of the optional keys. */
#define RAFKTOR_DEFAULT_ELECTION_TIMEOUT_MIN_MS 150
#define RAFKTOR_DEFAULT_ELECTION_TIMEOUT_MAX_MS 300
#define RAFKTOR_DEFAULT_HEARTBEAT_MS 50
#define RAFKTOR_DEFAULT_SEGMENT_SIZE (64ULL << 20)
#define RAFKTOR_DEFAULT_MAX_MESSAGE_SIZE (4ULL << 20)
#define RAFKTOR_DEFAULT_REQUEST_TIMEOUT_MS 5000
#define RAFKTOR_DEFAULT_SESSION_TTL_MS 3600000
#define RAFKTOR_DEFAULT_SNAPSHOT_PERCENT 50 /* snapshot_factor 0.5 */
#define RAFKTOR_DEFAULT_SNAPSHOT_MIN_BYTES (16ULL << 20)
#define RAFKTOR_DEFAULT_SNAPSHOT_TRAILING 10000

/* Reads and validates `path`. On success fills *ret (which must not hold a
 * config: it is overwritten) and returns 0. On failure *ret is left zeroed,
 * err holds one line without '\n' naming the file, line, key and reason, and
 * the return is -EINVAL (bad syntax or value), -ENOMEM, or the errno of
 * opening the file (-ENOENT, -EACCES...). */
int rafktor_config_load_file(const char *path, struct rafktor_config *ret, char *err,
                             size_t err_size);

/* The same for text held in memory; `source` names it in errors. */
int rafktor_config_load_string(const char *text, const char *source,
                               struct rafktor_config *ret, char *err, size_t err_size);

/* Frees every member and zeroes *c. NULL and zeroed structs are fine. */
void rafktor_config_free(struct rafktor_config *c);

/* Renders rafktor.conf for node `node` (1, 2 or 3) of a local three-node
 * cluster: ids n1..n3, 127.0.0.1:7401..7403, data_dir BASE/nN and
 * admin_socket BASE/nN/admin.sock. base_dir must be absolute and free of
 * '"', '\\' and control characters. Returns the length written (without the
 * NUL), -EINVAL for a bad node or base_dir, -ENAMETOOLONG when the admin
 * socket path would not fit a unix socket address, or -ENOBUFS when buf is
 * too small. */
int rafktor_config_render_local(unsigned node, const char *base_dir, char *buf, size_t size);

/* Splits "HOST:PORT" or "[IPV6]:PORT". HOST is an IPv4 or bracketed IPv6
 * literal or a DNS name. 0 with *ret_host allocated; -EINVAL when the shape
 * is wrong, -ERANGE when the port is not 1..65535, -ENOMEM. */
int rafktor_parse_address(const char *s, char **ret_host, uint16_t *ret_port);
