/* tests/unit/config/test-config-values.c: unit tests of the config value
 * helpers (HOST:PORT, byte sizes, ids, quoting, typo suggestions).
 *
 * Owns: the tables of accepted and refused values.
 * Must never: depend on name resolution (addresses are only parsed).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config/config-internal.h"
#include "daemon/config/config.h"

static void test_addresses_that_parse(void **state) {
        static const struct {
                const char *in, *host;
                unsigned port;
        } ok[] = {
                { "127.0.0.1:7401", "127.0.0.1", 7401 },
                { "0.0.0.0:1", "0.0.0.0", 1 },
                { "[::1]:65535", "::1", 65535 },
                { "[::]:7401", "::", 7401 },
                { "localhost:80", "localhost", 80 },
                { "node-1.example.com:7401", "node-1.example.com", 7401 },
                { "n1:07401", "n1", 7401 },
        };

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                char *host = NULL;
                uint16_t port = 0;

                if (rafktor_parse_address(ok[i].in, &host, &port) != 0)
                        print_error("refused: %s\n", ok[i].in);
                assert_non_null(host);
                assert_string_equal(host, ok[i].host);
                assert_int_equal(port, ok[i].port);
                free(host);
        }
}

static void test_addresses_that_are_refused(void **state) {
        static const struct {
                const char *in;
                int r;
        } bad[] = {
                { "foo", -EINVAL }, { ":80", -EINVAL }, { "host:", -EINVAL },
                { "::1:80", -EINVAL }, { "[::1]80", -EINVAL }, { "[zz]:80", -EINVAL },
                { "[]:80", -EINVAL }, { "999.1.1.1:80", -EINVAL }, { "-host:80", -EINVAL },
                { "host-:80", -EINVAL }, { "a..b:80", -EINVAL }, { "host:8x", -EINVAL },
                { "host:-1", -EINVAL }, { "ho st:80", -EINVAL }, { "", -EINVAL },
                { "host:0", -ERANGE }, { "host:65536", -ERANGE }, { "host:999999", -ERANGE },
                { "[::1]:0", -ERANGE },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *host = NULL;
                int r = rafktor_parse_address(bad[i].in, &host, NULL);

                if (r != bad[i].r)
                        print_error("\"%s\": want %d, got %d\n", bad[i].in, bad[i].r, r);
                assert_int_equal(r, bad[i].r);
                assert_null(host);
        }
}

static void test_sizes_accept_bytes_and_binary_units(void **state) {
        static const struct {
                const char *in;
                uint64_t v;
        } ok[] = {
                { "0", 0 }, { "67108864", 67108864 }, { "512B", 512 }, { "4K", 4096 },
                { "4KiB", 4096 }, { "64M", 64ULL << 20 }, { "64MiB", 64ULL << 20 },
                { "2GiB", 2ULL << 30 }, { "2G", 2ULL << 30 },
        };
        static const char *const bad[] = { "", "MiB", "64 MiB", "64mb", "-1", "1.5MiB", "64MB",
                                           "0x10" };
        uint64_t v;

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                assert_int_equal(cfg_parse_size(ok[i].in, &v), 0);
                assert_int_equal(v, ok[i].v);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(cfg_parse_size(bad[i], &v), -EINVAL);
        assert_int_equal(cfg_parse_size("99999999999999999999", &v), -ERANGE);
        assert_int_equal(cfg_parse_size("17179869184GiB", &v), -ERANGE);
}

static void test_ids_allow_only_safe_characters(void **state) {
        char long_id[RAFKTOR_CONFIG_ID_MAX + 2];

        assert_true(cfg_id_is_valid("n1"));
        assert_true(cfg_id_is_valid("node-1.dc_a"));
        assert_false(cfg_id_is_valid(""));
        assert_false(cfg_id_is_valid("n 1"));
        assert_false(cfg_id_is_valid("n1/x"));
        assert_false(cfg_id_is_valid("n\xc3\xa9"));
        memset(long_id, 'a', sizeof(long_id) - 1);
        long_id[sizeof(long_id) - 1] = '\0';
        assert_false(cfg_id_is_valid(long_id));
        long_id[RAFKTOR_CONFIG_ID_MAX] = '\0';
        assert_true(cfg_id_is_valid(long_id));
}

static void test_quote_escapes_and_truncates(void **state) {
        char buf[16];

        assert_string_equal(cfg_quote(buf, sizeof(buf), "a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_string_equal(cfg_quote(buf, sizeof(buf), "x\ny"), "\"x\\x0ay\"");
        assert_string_equal(cfg_quote(buf, sizeof(buf), "0123456789abcdef"),
                            "\"0123456789...\"");
        assert_true(strlen(buf) < sizeof(buf));
}

static void test_suggest_finds_near_misses_only(void **state) {
        static const char *const known[] = { "heartbeat_ms", "election_timeout_min_ms",
                                             "election_timeout_max_ms", "join", "id" };
        const size_t n = sizeof(known) / sizeof(known[0]);

        assert_string_equal(cfg_suggest("hearbeat_ms", known, n), "heartbeat_ms");
        assert_string_equal(cfg_suggest("election_timeout_mn_ms", known, n),
                            "election_timeout_min_ms");
        assert_null(cfg_suggest("jion", known, n));     /* 2 edits in 4 letters: too far */
        assert_null(cfg_suggest("colour", known, n));
        assert_null(cfg_suggest("ip", known, n));       /* too short to call it a typo */
        assert_null(cfg_suggest("heartbeat_ms", known, n)); /* exact: not a typo */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_addresses_that_parse),
                cmocka_unit_test(test_addresses_that_are_refused),
                cmocka_unit_test(test_sizes_accept_bytes_and_binary_units),
                cmocka_unit_test(test_ids_allow_only_safe_characters),
                cmocka_unit_test(test_quote_escapes_and_truncates),
                cmocka_unit_test(test_suggest_finds_near_misses_only),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
