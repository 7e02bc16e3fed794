/* tests/unit/cli/test_e2e_kv.c: raftctl's key-value commands end to end, against fake
 * servers: put/get/delete/cas/range in the three formats, binary values, exit codes 3, 4,
 * 5, 6, 8, endpoint fail-over and client sessions (a retried write applies once).
 *
 * Owns: checks of what a script sees (stdout, stderr, exit status). Must never sleep for a
 * fixed time (see world.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tests/unit/cli/world.h"

static void test_put_then_get_shows_the_value_in_every_format(void **state)
{
        struct proc_result r;
        json_object *j;

        RUN(&r, "-e", W.ep_leader, "put", "fmt/k", "hello world");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "KEY"));
        assert_non_null(strstr(r.out, "fmt/k"));
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_leader, "get", "fmt/k");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "KEY"));
        assert_non_null(strstr(r.out, "VALUE"));
        assert_non_null(strstr(r.out, "hello world"));
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_leader, "get", "fmt/k", "--json");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_string_equal(jstr(j, "key"), "fmt/k");
        assert_string_equal(jstr(j, "value"), "hello world");
        assert_int_equal(ju64(j, "version"), 1);
        json_object_put(j);
        proc_result_free(&r);

        RUN(&r, "-w", "plain", "-e", W.ep_leader, "get", "fmt/k");
        assert_int_equal(r.status, 0);
        assert_int_equal(r.out_len, strlen("hello world"));
        assert_memory_equal(r.out, "hello world", r.out_len);
        proc_result_free(&r);
}

static void test_words_after_a_double_dash_are_never_options(void **state)
{
        struct proc_result r;

        RUN(&r, "-e", W.ep_leader, "put", "--", "-w", "--json");
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "-w", "plain", "--", "get", "-w");
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, "--json");
        proc_result_free(&r);
}

static void test_get_of_a_missing_key_exits_3(void **state)
{
        struct proc_result r;

        RUN(&r, "-e", W.ep_leader, "get", "no/such/key");
        assert_int_equal(r.status, 3);
        assert_non_null(strstr(r.err, "not found"));
        assert_int_equal(r.out_len, 0);
        proc_result_free(&r);
}

static void test_value_from_stdin_round_trips_every_byte(void **state)
{
        uint8_t bytes[512];
        struct proc_result r;
        json_object *j;
        char hex[3];

        for (size_t i = 0; i < sizeof(bytes); i++)
                bytes[i] = (uint8_t)(i * 7);
        run_in(&r, bytes, sizeof(bytes), "-e", W.ep_leader, "put", "bin/k", "-", (char *)NULL);
        assert_int_equal(r.status, 0);
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_leader, "-w", "plain", "get", "bin/k");
        assert_int_equal(r.status, 0);
        assert_int_equal(r.out_len, sizeof(bytes));
        assert_memory_equal(r.out, bytes, sizeof(bytes));
        proc_result_free(&r);

        /* Not UTF-8: JSON carries it as hex. */
        RUN(&r, "-e", W.ep_leader, "--json", "get", "bin/k");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_int_equal(strlen(jstr(j, "value_hex")), 2 * sizeof(bytes));
        snprintf(hex, sizeof(hex), "%02x", bytes[37]);
        assert_memory_equal(jstr(j, "value_hex") + 74, hex, 2);
        json_object_put(j);
        proc_result_free(&r);
}

static void test_delete_removes_the_key_and_a_missing_key_exits_3(void **state)
{
        struct proc_result r;

        RUN(&r, "-e", W.ep_leader, "put", "del/k", "v");
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "-w", "plain", "delete", "del/k");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "del/k\ttrue\t"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "get", "del/k");
        assert_int_equal(r.status, 3);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "delete", "del/k");
        assert_int_equal(r.status, 3);
        assert_non_null(strstr(r.err, "not found"));
        proc_result_free(&r);
}

static void test_cas_swaps_on_value_and_version_and_a_failed_compare_exits_4(void **state)
{
        struct proc_result r;
        json_object *j;

        RUN(&r, "-e", W.ep_leader, "cas", "cas/k", "--version", "0", "first");
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "cas", "cas/k", "first", "second");
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "cas", "cas/k", "first", "third");
        assert_int_equal(r.status, 4);
        assert_non_null(strstr(r.err, "compare failed"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "--json", "cas", "cas/k", "--version=2", "third");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_int_equal(ju64(j, "version"), 3);
        json_object_put(j);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "-w", "plain", "get", "cas/k");
        assert_string_equal(r.out, "third");
        proc_result_free(&r);
}

static void test_range_lists_keys_with_the_prefix_up_to_the_limit(void **state)
{
        struct proc_result r;
        json_object *j, *kvs, *more;

        for (int i = 0; i < 3; i++) {
                char k[16];

                snprintf(k, sizeof(k), "rng/%d", i);
                RUN(&r, "-e", W.ep_leader, "put", k, "v");
                assert_int_equal(r.status, 0);
                proc_result_free(&r);
        }
        RUN(&r, "-e", W.ep_leader, "-w", "plain", "range", "rng/");
        assert_int_equal(r.status, 0);
        assert_true(strncmp(r.out, "rng/0\tv\t1\t", 10) == 0);
        assert_non_null(strstr(r.out, "\nrng/1\tv\t1\t"));
        assert_non_null(strstr(r.out, "\nrng/2\tv\t1\t"));
        assert_null(strstr(r.out, "fmt/"));
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_leader, "--json", "range", "rng/", "--limit", "2");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_true(json_object_object_get_ex(j, "kvs", &kvs));
        assert_int_equal(json_object_array_length(kvs), 2);
        assert_string_equal(jstr(json_object_array_get_idx(kvs, 1), "key"), "rng/1");
        assert_true(json_object_object_get_ex(j, "more", &more));
        assert_true(json_object_get_boolean(more));
        json_object_put(j);
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_leader, "range", "rng/", "--limit=1");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "KEY"));
        assert_non_null(strstr(r.out, "rng/0"));
        assert_null(strstr(r.out, "rng/1"));
        assert_non_null(strstr(r.err, "more keys match"));
        proc_result_free(&r);
}

static void test_a_dead_endpoint_is_skipped_for_the_next_one(void **state)
{
        char eps[1100];
        struct proc_result r;

        snprintf(eps, sizeof(eps), "%s,%s", W.ep_dead, W.ep_leader);
        RUN(&r, "-e", eps, "put", "skip/k", "v");
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        setenv("RAFTCTL_ENDPOINTS", eps, 1);
        RUN(&r, "-w", "plain", "get", "skip/k");
        unsetenv("RAFTCTL_ENDPOINTS");
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, "v");
        proc_result_free(&r);
}

static void test_no_endpoint_answering_exits_5(void **state)
{
        char eps[1100];
        struct proc_result r;

        snprintf(eps, sizeof(eps), "%s,%s", W.ep_dead, W.ep_dead);
        RUN(&r, "-e", eps, "get", "k");
        assert_int_equal(r.status, 5);
        assert_non_null(strstr(r.err, "no endpoint answered (2 tried"));
        assert_null(strchr(r.err, '\n') + 1 < r.err + r.err_len ? "two lines" : NULL);
        proc_result_free(&r);
}

static void test_no_leader_exits_6_with_the_servers_reason(void **state)
{
        struct proc_result r;

        RUN(&r, "-e", W.ep_noleader, "put", "k", "v");
        assert_int_equal(r.status, 6);
        assert_non_null(strstr(r.err, "no leader elected yet"));
        proc_result_free(&r);
}

static void test_a_deadline_exits_8_and_says_the_outcome_is_unknown(void **state)
{
        struct proc_result r;

        RUN(&r, "-e", W.ep_hang, "--timeout", "300ms", "get", "k");
        assert_int_equal(r.status, 8);
        assert_non_null(strstr(r.err, "timed out (the outcome of a write is unknown)"));
        proc_result_free(&r);
}

static void test_a_retried_write_is_applied_once(void **state)
{
        char eps[1100];
        struct proc_result r;
        json_object *j, *entries;
        int puts = 0;

        /* The first reply is lost after the write applied; raftctl retries on the next
         * endpoint (the same server) with the same session, which answers from its cache. */
        snprintf(eps, sizeof(eps), "%s,%s", W.ep_lossy, W.ep_lossy);
        RUN(&r, "-e", eps, "put", "once/k", "v");
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_lossy, "--json", "log");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_true(json_object_object_get_ex(j, "entries", &entries));
        for (size_t i = 0; i < json_object_array_length(entries); i++) {
                json_object *e = json_object_array_get_idx(entries, i), *op;

                if (json_object_object_get_ex(e, "op", &op) &&
                    strcmp(json_object_get_string(op), "put") == 0) {
                        puts++;
                        assert_int_equal(ju64(e, "request_id"), 1);
                        assert_int_equal(strlen(jstr(e, "client_id")), 16);
                }
        }
        assert_int_equal(puts, 1);
        json_object_put(j);
        proc_result_free(&r);
}

static void test_writes_of_one_process_share_a_client_id_with_increasing_request_ids(
        void **state)
{
        static const char script[] = "put seq/a 1\nput seq/b 2\nlog 1 1000 --json\n";
        struct proc_result r;
        json_object *j, *entries;
        const char *client = NULL;
        uint64_t want = 1;

        run_in(&r, script, strlen(script), "-e", W.ep_follower, (char *)NULL);
        assert_int_equal(r.status, 0);
        j = json_tokener_parse(strstr(r.out, "{"));
        assert_non_null(j);
        assert_true(json_object_object_get_ex(j, "entries", &entries));
        for (size_t i = 0; i < json_object_array_length(entries); i++) {
                json_object *e = json_object_array_get_idx(entries, i), *k;

                if (!json_object_object_get_ex(e, "key", &k) ||
                    strncmp(json_object_get_string(k), "seq/", 4) != 0)
                        continue;
                if (!client)
                        client = jstr(e, "client_id");
                assert_string_equal(jstr(e, "client_id"), client);
                assert_int_equal(ju64(e, "request_id"), want);
                want++;
        }
        assert_int_equal(want, 3);
        json_object_put(j);
        proc_result_free(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_put_then_get_shows_the_value_in_every_format),
                cmocka_unit_test(test_words_after_a_double_dash_are_never_options),
                cmocka_unit_test(test_get_of_a_missing_key_exits_3),
                cmocka_unit_test(test_value_from_stdin_round_trips_every_byte),
                cmocka_unit_test(test_delete_removes_the_key_and_a_missing_key_exits_3),
                cmocka_unit_test(test_cas_swaps_on_value_and_version_and_a_failed_compare_exits_4),
                cmocka_unit_test(test_range_lists_keys_with_the_prefix_up_to_the_limit),
                cmocka_unit_test(test_a_dead_endpoint_is_skipped_for_the_next_one),
                cmocka_unit_test(test_no_endpoint_answering_exits_5),
                cmocka_unit_test(test_no_leader_exits_6_with_the_servers_reason),
                cmocka_unit_test(test_a_deadline_exits_8_and_says_the_outcome_is_unknown),
                cmocka_unit_test(test_a_retried_write_is_applied_once),
                cmocka_unit_test(
                        test_writes_of_one_process_share_a_client_id_with_increasing_request_ids),
        };

        return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
