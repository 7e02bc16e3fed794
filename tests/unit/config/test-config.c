/* tests/unit/config/test-config.c: unit tests of the rafktor.conf loader.
 *
 * Owns: checking that good files give the right values and defaults, that
 * every class of bad value is refused with the exact "FILE:LINE: reason"
 * text, and that the embedded local-cluster configs load.
 * Must never: read /etc or depend on the machine's files (temporary files
 * only, removed at the end of each test).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config/config.h"

/* Lines 1-6; tests append their own lines from line 7 on. */
#define BASE \
        "id = \"n1\";\n" \
        "listen = \"127.0.0.1:7401\";\n" \
        "data_dir = \"/var/lib/rafktor\";\n" \
        "peers = ( { id = \"n1\"; address = \"127.0.0.1:7401\"; },\n" \
        "          { id = \"n2\"; address = \"127.0.0.1:7402\"; },\n" \
        "          { id = \"n3\"; address = \"127.0.0.1:7403\"; } );\n"

/* Loads text as "test.conf" and asserts it is refused with exactly `want`. */
static void assert_refused(const char *text, const char *want) {
        struct rafktor_config c;
        char err[RAFKTOR_CONFIG_ERROR_MAX];
        int r = rafktor_config_load_string(text, "test.conf", &c, err, sizeof(err));

        if (r != -EINVAL || strcmp(err, want) != 0)
                print_error("config:\n%s\nwant: %s\ngot (%d): %s\n", text, want, r, err);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(err, want);
        assert_null(c.id);
        assert_null(c.peers);
}

static void load_ok(const char *text, struct rafktor_config *c) {
        char err[RAFKTOR_CONFIG_ERROR_MAX];
        int r = rafktor_config_load_string(text, "test.conf", c, err, sizeof(err));

        if (r != 0)
                print_error("config:\n%s\nunexpected error (%d): %s\n", text, r, err);
        assert_int_equal(r, 0);
}

static void test_issue_example_parses(void **state) {
        static const char text[] =
                "id       = \"n1\";                         # this node's id\n"
                "listen   = \"127.0.0.1:7401\";             # where to serve\n"
                "data_dir = \"/var/lib/rafktor\";\n"
                "admin_socket = \"/run/rafktor/admin.sock\"; # optional local admin endpoint\n"
                "peers = ( { id = \"n1\"; address = \"127.0.0.1:7401\"; },\n"
                "          { id = \"n2\"; address = \"127.0.0.1:7402\"; },\n"
                "          { id = \"n3\"; address = \"127.0.0.1:7403\"; } );   # first start\n";
        struct rafktor_config c;

        load_ok(text, &c);
        assert_string_equal(c.source, "test.conf");
        assert_string_equal(c.id, "n1");
        assert_string_equal(c.listen, "127.0.0.1:7401");
        assert_string_equal(c.listen_host, "127.0.0.1");
        assert_int_equal(c.listen_port, 7401);
        assert_string_equal(c.data_dir, "/var/lib/rafktor");
        assert_string_equal(c.admin_socket, "/run/rafktor/admin.sock");
        assert_int_equal(c.n_peers, 3);
        for (size_t i = 0; i < 3; i++) {
                char id[8], addr[32];

                snprintf(id, sizeof(id), "n%zu", i + 1);
                snprintf(addr, sizeof(addr), "127.0.0.1:%zu", 7401 + i);
                assert_string_equal(c.peers[i].id, id);
                assert_string_equal(c.peers[i].address, addr);
                assert_string_equal(c.peers[i].host, "127.0.0.1");
                assert_int_equal(c.peers[i].port, 7401 + i);
        }
        assert_false(c.join);
        rafktor_config_free(&c);
        assert_null(c.id);
        assert_int_equal(c.n_peers, 0);
}

static void test_defaults_apply_when_optional_keys_are_absent(void **state) {
        struct rafktor_config c;

        load_ok(BASE, &c);
        assert_int_equal(c.election_timeout_min_ms, 150);
        assert_int_equal(c.election_timeout_max_ms, 300);
        assert_int_equal(c.heartbeat_ms, 50);
        assert_int_equal(c.segment_size, 64ULL << 20);
        assert_int_equal(c.max_message_size, 4ULL << 20);
        assert_int_equal(c.request_timeout_ms, 5000);
        assert_int_equal(c.session_ttl_ms, 3600000);
        assert_int_equal(c.log_level, LOG_INFO);
        assert_false(c.join);
        assert_string_equal(c.admin_socket, RAFKTOR_CONFIG_DEFAULT_ADMIN_SOCKET);
        assert_int_equal(c.snapshot_percent, 50);
        assert_int_equal(c.snapshot_min_bytes, 16ULL << 20);
        assert_int_equal(c.snapshot_trailing, 10000);
        assert_false(c.disable_auto_promote);
        assert_int_equal(c.catchup_rounds, 0);
        rafktor_config_free(&c);
}

static void test_optional_keys_override_defaults(void **state) {
        struct rafktor_config c;

        load_ok(BASE
                "election_timeout_min_ms = 1000;\n"
                "election_timeout_max_ms = 2000;\n"
                "heartbeat_ms = 100;\n"
                "segment_size = \"128MiB\";\n"
                "max_message_size = 1048576;\n"
                "request_timeout_ms = 2500;\n"
                "session_ttl_ms = 60000;\n"
                "log_level = \"debug\";\n"
                "admin_socket = \"\";\n"
                "snapshot_factor = 2;\n"
                "snapshot_min_bytes = \"1MiB\";\n"
                "snapshot_trailing = 0;\n"
                "auto_promote = false;\n"
                "catchup_rounds = 10;\n",
                &c);
        assert_int_equal(c.election_timeout_min_ms, 1000);
        assert_int_equal(c.election_timeout_max_ms, 2000);
        assert_int_equal(c.heartbeat_ms, 100);
        assert_int_equal(c.segment_size, 128ULL << 20);
        assert_int_equal(c.max_message_size, 1048576);
        assert_int_equal(c.request_timeout_ms, 2500);
        assert_int_equal(c.session_ttl_ms, 60000);
        assert_int_equal(c.log_level, LOG_DEBUG);
        assert_null(c.admin_socket);
        assert_int_equal(c.snapshot_percent, 200);
        assert_int_equal(c.snapshot_min_bytes, 1ULL << 20);
        assert_int_equal(c.snapshot_trailing, 0);
        assert_true(c.disable_auto_promote);
        assert_int_equal(c.catchup_rounds, 10);
        rafktor_config_free(&c);
}

/* snapshot_factor is a number: a decimal below 1 bounds the log to less than a
 * snapshot (kept in percent, rounded). */
static void test_snapshot_factor_takes_a_decimal(void **state) {
        struct rafktor_config c;

        (void) state;
        load_ok(BASE "snapshot_factor = 0.25;\n", &c);
        assert_int_equal(c.snapshot_percent, 25);
        rafktor_config_free(&c);
        load_ok(BASE "snapshot_factor = 1000;\n", &c);
        assert_int_equal(c.snapshot_percent, 100000);
        rafktor_config_free(&c);
        load_ok(BASE "snapshot_factor = 1.256;\n", &c);
        assert_int_equal(c.snapshot_percent, 126);
        rafktor_config_free(&c);
}

static void test_syntax_error_names_file_and_line(void **state) {
        assert_refused("id = \"n1\";\nlisten = ;\n", "test.conf:2: syntax error");
        assert_refused(BASE "heartbeat_ms = 10;\nheartbeat_ms = 20;\n",
                       "test.conf:8: duplicate setting name");
}

static void test_unknown_key_is_refused_with_its_line(void **state) {
        assert_refused(BASE "electon_timeout_min_ms = 100;\n",
                       "test.conf:7: unknown key \"electon_timeout_min_ms\""
                       " (did you mean \"election_timeout_min_ms\"?)");
        assert_refused(BASE "colour = \"blue\";\n", "test.conf:7: unknown key \"colour\"");
        assert_refused(BASE "raft = { heartbeat_ms = 10; };\n",
                       "test.conf:7: unknown key \"raft\"");
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = ( { id = \"n1\";\n adress = \"127.0.0.1:7401\"; } );\n",
                       "test.conf:5: peers[0]: unknown key \"adress\" (expected id and"
                       " address)");
}

static void test_required_keys_must_be_present(void **state) {
        assert_refused("id = \"n1\";\ndata_dir = \"/d\";\n",
                       "test.conf: listen: required key is missing");
        assert_refused("listen = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n",
                       "test.conf: id: required key is missing");
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n",
                       "test.conf: peers: required key is missing (a node that joins an"
                       " existing cluster sets join = true instead)");
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = ();\n",
                       "test.conf:4: peers: expected at least one member (or join = true to"
                       " join an existing cluster)");
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = ( { id = \"n1\"; } );\n",
                       "test.conf:4: peers[0]: missing key \"address\"");
}

static void test_bad_address_names_the_peer_and_value(void **state) {
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = ( { id = \"n1\"; address = \"127.0.0.1:7401\"; },\n"
                       "          { id = \"n2\"; address = \"foo\"; } );\n",
                       "test.conf:5: peers[1].address: expected HOST:PORT, got \"foo\"");
        assert_refused("id = \"n1\";\nlisten = \"localhost\";\ndata_dir = \"/d\";\n",
                       "test.conf:2: listen: expected HOST:PORT, got \"localhost\"");
        assert_refused("id = \"n1\";\nlisten = \"::1:7401\";\ndata_dir = \"/d\";\n",
                       "test.conf:2: listen: expected HOST:PORT, got \"::1:7401\"");
        assert_refused("id = \"n1\";\nlisten = 7401;\ndata_dir = \"/d\";\n",
                       "test.conf:2: listen: expected a string, got an integer");
}

static void test_ports_must_be_1_to_65535(void **state) {
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:0\";\ndata_dir = \"/d\";\n",
                       "test.conf:2: listen: expected a port 1..65535 in HOST:PORT, got"
                       " \"127.0.0.1:0\"");
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = ( { id = \"n1\"; address = \"[::1]:65536\"; } );\n",
                       "test.conf:4: peers[0].address: expected a port 1..65535 in HOST:PORT,"
                       " got \"[::1]:65536\"");
}

static void test_election_timeout_max_must_exceed_min(void **state) {
        assert_refused(BASE "election_timeout_min_ms = 300;\nelection_timeout_max_ms = 300;\n",
                       "test.conf:8: election_timeout_max_ms must be greater than"
                       " election_timeout_min_ms, got 300 <= 300");
        /* Only min set, above the default max: the error points at min. */
        assert_refused(BASE "election_timeout_min_ms = 400;\n",
                       "test.conf:7: election_timeout_max_ms must be greater than"
                       " election_timeout_min_ms, got 300 <= 400");
}

static void test_heartbeat_must_be_below_election_timeout_min(void **state) {
        assert_refused(BASE "heartbeat_ms = 150;\n",
                       "test.conf:7: heartbeat_ms must be smaller than"
                       " election_timeout_min_ms, got 150 >= 150");
}

static void test_max_message_size_must_be_below_segment_size(void **state) {
        assert_refused(BASE "segment_size = \"2MiB\";\nmax_message_size = \"2MiB\";\n",
                       "test.conf:8: max_message_size must be smaller than segment_size, got"
                       " 2097152 >= 2097152");
        /* Default max_message_size (4 MiB) against a smaller segment. */
        assert_refused(BASE "segment_size = \"1MiB\";\n",
                       "test.conf:7: max_message_size must be smaller than segment_size, got"
                       " 4194304 >= 1048576");
}

static void test_values_out_of_range_or_of_wrong_type_are_refused(void **state) {
        assert_refused(BASE "heartbeat_ms = 0;\n",
                       "test.conf:7: heartbeat_ms: expected 1..30000 milliseconds, got 0");
        assert_refused(BASE "request_timeout_ms = -5;\n",
                       "test.conf:7: request_timeout_ms: expected 100..600000 milliseconds,"
                       " got -5");
        assert_refused(BASE "heartbeat_ms = \"50\";\n",
                       "test.conf:7: heartbeat_ms: expected an integer (milliseconds), got a"
                       " string");
        assert_refused(BASE "session_ttl_ms = 1.5;\n",
                       "test.conf:7: session_ttl_ms: expected an integer (milliseconds), got a"
                       " float");
        assert_refused(BASE "join = 1;\n",
                       "test.conf:7: join: expected true or false, got an integer");
        assert_refused(BASE "segment_size = 1024;\n",
                       "test.conf:7: segment_size: expected 1MiB..1024MiB bytes, got 1024");
        assert_refused(BASE "segment_size = \"64 furlongs\";\n",
                       "test.conf:7: segment_size: expected a byte count such as 67108864 or"
                       " \"64MiB\" (units B, KiB, MiB, GiB), got \"64 furlongs\"");
        assert_refused(BASE "max_message_size = [1, 2];\n",
                       "test.conf:7: max_message_size: expected a byte count (integer or"
                       " string such as \"64MiB\"), got an array");
        assert_refused(BASE "log_level = \"verbose\";\n",
                       "test.conf:7: log_level: expected one of err, warning, notice, info,"
                       " debug, got \"verbose\"");
        assert_refused(BASE "snapshot_factor = 0;\n",
                       "test.conf:7: snapshot_factor: expected 0.1..1000, got 0");
        assert_refused(BASE "snapshot_factor = 0.05;\n",
                       "test.conf:7: snapshot_factor: expected 0.1..1000, got 0.05");
        assert_refused(BASE "snapshot_factor = \"half\";\n",
                       "test.conf:7: snapshot_factor: expected a number, got a string");
        assert_refused(BASE "catchup_rounds = 1001;\n",
                       "test.conf:7: catchup_rounds: expected 0..1000, got 1001");
        assert_refused(BASE "catchup_rounds = \"3\";\n",
                       "test.conf:7: catchup_rounds: expected an integer, got a string");
        assert_refused(BASE "auto_promote = \"yes\";\n",
                       "test.conf:7: auto_promote: expected true or false, got a string");
        assert_refused(BASE "log_level = \"crit\";\n",
                       "test.conf:7: log_level: expected one of err, warning, notice, info,"
                       " debug, got \"crit\"");
}

static void test_id_must_appear_in_peers_unless_join(void **state) {
        static const char without_self[] =
                "id = \"n4\";\nlisten = \"127.0.0.1:7404\";\ndata_dir = \"/d\";\n"
                "peers = ( { id = \"n1\"; address = \"127.0.0.1:7401\"; } );\n";
        char text[512];
        struct rafktor_config c;

        assert_refused(without_self, "test.conf:1: id: \"n4\" does not appear in peers (set"
                                     " join = true to join an existing cluster)");
        snprintf(text, sizeof(text), "%sjoin = true;\n", without_self);
        load_ok(text, &c);
        assert_true(c.join);
        assert_int_equal(c.n_peers, 1);
        rafktor_config_free(&c);
        /* A joining node may have no peers at all. */
        load_ok("id = \"n4\";\nlisten = \"127.0.0.1:7404\";\ndata_dir = \"/d\";\njoin = true;\n",
                &c);
        assert_int_equal(c.n_peers, 0);
        assert_null(c.peers);
        rafktor_config_free(&c);
}

static void test_duplicate_peer_ids_and_addresses_are_refused(void **state) {
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = ( { id = \"n1\"; address = \"127.0.0.1:7401\"; },\n"
                       "          { id = \"n2\"; address = \"127.0.0.1:7402\"; },\n"
                       "          { id = \"n1\"; address = \"127.0.0.1:7403\"; } );\n",
                       "test.conf:6: peers[2].id: duplicate id \"n1\" (also peers[0])");
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = ( { id = \"n1\"; address = \"Node-A:7401\"; },\n"
                       "          { id = \"n2\"; address = \"node-a:7401\"; } );\n",
                       "test.conf:5: peers[1].address: duplicate address \"node-a:7401\""
                       " (also peers[0])");
}

static void test_listen_must_not_be_another_peers_address(void **state) {
        assert_refused("id = \"n2\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = ( { id = \"n1\"; address = \"127.0.0.1:7401\"; },\n"
                       "          { id = \"n2\"; address = \"127.0.0.1:7402\"; } );\n",
                       "test.conf:2: listen: \"127.0.0.1:7401\" is the address of peers[0]"
                       " (\"n1\"), not of this node (\"n2\")");
}

static void test_bad_ids_are_refused(void **state) {
        assert_refused("id = \"n 1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n",
                       "test.conf:1: id: expected 1-63 characters from A-Z a-z 0-9 . _ -, got"
                       " \"n 1\"");
        assert_refused("id = \"\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n",
                       "test.conf:1: id: expected 1-63 characters from A-Z a-z 0-9 . _ -, got"
                       " \"\"");
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = ( { id = \"n1\"; address = \"127.0.0.1:7401\"; },\n"
                       "          { id = \"a\\\"b\"; address = \"127.0.0.1:7402\"; } );\n",
                       "test.conf:5: peers[1].id: expected 1-63 characters from A-Z a-z 0-9"
                       " . _ -, got \"a\\\"b\"");
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = ( \"n1\" );\n",
                       "test.conf:4: peers[0]: expected a group { id = ...; address = ...; },"
                       " got a string");
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"/d\";\n"
                       "peers = { id = \"n1\"; address = \"127.0.0.1:7401\"; };\n",
                       "test.conf:4: peers: expected a list of groups such as ( { id = \"n1\";"
                       " address = \"127.0.0.1:7401\"; } ), got a group");
}

static void test_paths_must_be_absolute(void **state) {
        assert_refused("id = \"n1\";\nlisten = \"127.0.0.1:7401\";\ndata_dir = \"var/lib\";\n",
                       "test.conf:3: data_dir: expected an absolute path, got \"var/lib\"");
        assert_refused(BASE "admin_socket = \"admin.sock\";\n",
                       "test.conf:7: admin_socket: expected an absolute path of at most 107"
                       " bytes, or \"\" to disable, got \"admin.sock\"");
        assert_refused(BASE "admin_socket = \"/run/rafktor/"
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\";\n",
                       "test.conf:7: admin_socket: expected an absolute path of at most 107"
                       " bytes, or \"\" to disable, got \"/run/rafktor/aaaaaaaaaaaaaaaaaaaaaaaa"
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
        /* (the quoted value is cut to 95 bytes: 13 + 77 'a' + "..." + 2 quotes) */
}

static void test_load_file_reports_the_path(void **state) {
        char path[] = "/tmp/test-config-XXXXXX";
        char err[RAFKTOR_CONFIG_ERROR_MAX], want[RAFKTOR_CONFIG_ERROR_MAX];
        struct rafktor_config c;
        int fd = mkstemp(path);
        FILE *f;

        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        assert_non_null(f);
        fputs(BASE "heartbeat_ms = 20;\n", f);
        fclose(f);
        assert_int_equal(rafktor_config_load_file(path, &c, err, sizeof(err)), 0);
        assert_string_equal(c.source, path);
        assert_int_equal(c.heartbeat_ms, 20);
        rafktor_config_free(&c);

        f = fopen(path, "w");
        assert_non_null(f);
        fputs(BASE "heartbeat_ms = 0;\n", f);
        fclose(f);
        assert_int_equal(rafktor_config_load_file(path, &c, err, sizeof(err)), -EINVAL);
        snprintf(want, sizeof(want), "%s:7: heartbeat_ms: expected 1..30000 milliseconds, got 0",
                 path);
        assert_string_equal(err, want);

        f = fopen(path, "w");
        assert_non_null(f);
        fputs("id = \"n1\"\nlisten = \n", f);
        fclose(f);
        assert_int_equal(rafktor_config_load_file(path, &c, err, sizeof(err)), -EINVAL);
        snprintf(want, sizeof(want), "%s:3: syntax error", path);
        assert_string_equal(err, want);

        assert_int_equal(unlink(path), 0);
        assert_int_equal(rafktor_config_load_file(path, &c, err, sizeof(err)), -ENOENT);
        snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
        assert_string_equal(err, want);
        assert_null(c.id);
}

static void test_local_cluster_configs_parse_and_validate(void **state) {
        char buf[1024], want[128];
        struct rafktor_config c;

        for (unsigned i = 1; i <= 3; i++) {
                int n = rafktor_config_render_local(i, "/tmp/rafktor-local/", buf, sizeof(buf));

                assert_true(n > 0);
                assert_int_equal((size_t) n, strlen(buf));
                load_ok(buf, &c);
                snprintf(want, sizeof(want), "n%u", i);
                assert_string_equal(c.id, want);
                assert_int_equal(c.listen_port, 7400 + i);
                snprintf(want, sizeof(want), "/tmp/rafktor-local/n%u", i);
                assert_string_equal(c.data_dir, want);
                snprintf(want, sizeof(want), "/tmp/rafktor-local/n%u/admin.sock", i);
                assert_string_equal(c.admin_socket, want);
                assert_int_equal(c.n_peers, 3);
                assert_string_equal(c.peers[2].address, "127.0.0.1:7403");
                assert_false(c.join);
                rafktor_config_free(&c);
        }
}

static void test_local_cluster_render_refuses_bad_input(void **state) {
        char buf[1024];
        char long_base[120];

        assert_int_equal(rafktor_config_render_local(0, "/tmp/x", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(rafktor_config_render_local(4, "/tmp/x", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(rafktor_config_render_local(1, "tmp/x", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(rafktor_config_render_local(1, "/tmp/a\"b", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(rafktor_config_render_local(1, "/tmp/a\nb", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(rafktor_config_render_local(1, NULL, buf, sizeof(buf)), -EINVAL);
        memset(long_base, 'a', sizeof(long_base) - 1);
        long_base[0] = '/';
        long_base[sizeof(long_base) - 1] = '\0';
        assert_int_equal(rafktor_config_render_local(1, long_base, buf, sizeof(buf)),
                         -ENAMETOOLONG);
        assert_int_equal(rafktor_config_render_local(1, "/tmp/x", buf, 64), -ENOBUFS);
}

/* The EXAMPLES of man/rafktor.conf.5, kept in step with it. */
static void test_man_page_examples_parse(void **state) {
        static const char n1[] =
                "id       = \"n1\";\n"
                "listen   = \"0.0.0.0:7401\";\n"
                "data_dir = \"/var/lib/rafktor\";\n"
                "peers = ( { id = \"n1\"; address = \"10.0.0.1:7401\"; },\n"
                "          { id = \"n2\"; address = \"10.0.0.2:7401\"; },\n"
                "          { id = \"n3\"; address = \"10.0.0.3:7401\"; } );\n"
                "election_timeout_min_ms = 1000;\n"
                "election_timeout_max_ms = 2000;\n"
                "heartbeat_ms            = 200;\n"
                "segment_size            = \"256MiB\";\n";
        static const char n4[] =
                "id       = \"n4\";\n"
                "listen   = \"0.0.0.0:7401\";\n"
                "data_dir = \"/var/lib/rafktor\";\n"
                "join     = true;\n";
        struct rafktor_config c;

        load_ok(n1, &c);
        assert_int_equal(c.segment_size, 256ULL << 20);
        assert_int_equal(c.heartbeat_ms, 200);
        rafktor_config_free(&c);
        load_ok(n4, &c);
        assert_true(c.join);
        rafktor_config_free(&c);
}

static void test_free_accepts_null_and_zeroed(void **state) {
        struct rafktor_config c = { 0 };

        rafktor_config_free(NULL);
        rafktor_config_free(&c);
        assert_null(c.id);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_issue_example_parses),
                cmocka_unit_test(test_defaults_apply_when_optional_keys_are_absent),
                cmocka_unit_test(test_optional_keys_override_defaults),
                cmocka_unit_test(test_snapshot_factor_takes_a_decimal),
                cmocka_unit_test(test_syntax_error_names_file_and_line),
                cmocka_unit_test(test_unknown_key_is_refused_with_its_line),
                cmocka_unit_test(test_required_keys_must_be_present),
                cmocka_unit_test(test_bad_address_names_the_peer_and_value),
                cmocka_unit_test(test_ports_must_be_1_to_65535),
                cmocka_unit_test(test_election_timeout_max_must_exceed_min),
                cmocka_unit_test(test_heartbeat_must_be_below_election_timeout_min),
                cmocka_unit_test(test_max_message_size_must_be_below_segment_size),
                cmocka_unit_test(test_values_out_of_range_or_of_wrong_type_are_refused),
                cmocka_unit_test(test_id_must_appear_in_peers_unless_join),
                cmocka_unit_test(test_duplicate_peer_ids_and_addresses_are_refused),
                cmocka_unit_test(test_listen_must_not_be_another_peers_address),
                cmocka_unit_test(test_bad_ids_are_refused),
                cmocka_unit_test(test_paths_must_be_absolute),
                cmocka_unit_test(test_load_file_reports_the_path),
                cmocka_unit_test(test_local_cluster_configs_parse_and_validate),
                cmocka_unit_test(test_local_cluster_render_refuses_bad_input),
                cmocka_unit_test(test_man_page_examples_parse),
                cmocka_unit_test(test_free_accepts_null_and_zeroed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
