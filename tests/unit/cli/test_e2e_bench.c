/* tests/unit/cli/test_e2e_bench.c: `raftctl bench put|get` end to end against the fake
 * servers: every field of the report, in JSON and as a table, the writes really landed
 * with the requested value size, no progress bar off a terminal, failures counted and
 * reported with exit 1, and bad option values refused with exit 2.
 *
 * Owns: checks of what an operator sees (stdout, stderr, exit status). Must never sleep
 * for a fixed time (see world.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tests/unit/cli/world.h"

static double jdouble(json_object *o, const char *k)
{
        json_object *v;

        assert_true(json_object_object_get_ex(o, k, &v));
        return json_object_get_double(v);
}

static void check_latencies_ordered(json_object *j)
{
        double p50 = jdouble(j, "p50_ms"), p90 = jdouble(j, "p90_ms");
        double p99 = jdouble(j, "p99_ms"), max = jdouble(j, "max_ms");

        assert_true(p50 > 0);
        assert_true(p50 <= p90);
        assert_true(p90 <= p99);
        assert_true(p99 <= max);
        assert_true(jdouble(j, "seconds") > 0);
        assert_true(jdouble(j, "ops_per_s") > 0);
}

static void test_bench_put_reports_every_field_and_the_writes_land(void **state)
{
        struct proc_result r;
        json_object *j;

        (void)state;
        RUN(&r, "-e", W.ep_leader, "bench", "put", "--clients", "4", "--count", "200",
            "--value-size", "10", "--json");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_string_equal(jstr(j, "operation"), "put");
        assert_int_equal(ju64(j, "clients"), 4);
        assert_int_equal(ju64(j, "requests"), 200);
        assert_int_equal(ju64(j, "failed"), 0);
        check_latencies_ordered(j);
        json_object_put(j);
        proc_result_free(&r);

        /* The last key holds a value of the requested size. */
        RUN(&r, "-w", "plain", "-e", W.ep_leader, "get", "bench/00000199");
        assert_int_equal(r.status, 0);
        assert_int_equal(r.out_len, 10);
        assert_memory_equal(r.out, "vvvvvvvvvv", 10);
        proc_result_free(&r);
}

static void test_bench_get_reads_the_key_it_wrote(void **state)
{
        struct proc_result r;
        json_object *j;

        (void)state;
        RUN(&r, "-e", W.ep_leader, "bench", "get", "--clients", "2", "--count", "50",
            "--json");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_string_equal(jstr(j, "operation"), "get");
        assert_int_equal(ju64(j, "clients"), 2);
        assert_int_equal(ju64(j, "requests"), 50);
        assert_int_equal(ju64(j, "failed"), 0);
        check_latencies_ordered(j);
        json_object_put(j);
        proc_result_free(&r);
}

static void test_bench_table_names_every_column_and_draws_no_bar_off_a_terminal(void **state)
{
        static const char *const cols[] = { "OPERATION", "CLIENTS", "REQUESTS", "FAILED",
                                            "SECONDS", "OPS/S", "P50_MS", "P90_MS",
                                            "P99_MS", "MAX_MS" };
        struct proc_result r;

        (void)state;
        RUN(&r, "-e", W.ep_leader, "bench", "put", "--count", "20");
        assert_int_equal(r.status, 0);
        for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
                assert_non_null(strstr(r.out, cols[i]));
        assert_non_null(strstr(r.out, "put"));
        assert_int_equal(r.err_len, 0); /* stderr is a pipe: no progress bar */
        proc_result_free(&r);
}

static void test_bench_counts_failures_and_exits_1_with_the_reason(void **state)
{
        struct proc_result r;
        json_object *j;

        (void)state;
        RUN(&r, "-e", W.ep_dead, "--timeout", "2s", "bench", "put", "--clients", "2",
            "--count", "3", "--json");
        assert_int_equal(r.status, 1);
        j = parse(&r);
        assert_int_equal(ju64(j, "failed"), 3);
        json_object_put(j);
        assert_non_null(strstr(r.err, "3 of 3 requests failed"));
        proc_result_free(&r);
}

static void test_bench_refuses_out_of_range_options_with_exit_2(void **state)
{
        struct proc_result r;

        (void)state;
        RUN(&r, "-e", W.ep_leader, "bench", "put", "--clients", "0");
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "--clients"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "bench", "get", "--count", "many");
        assert_int_equal(r.status, 2);
        proc_result_free(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bench_put_reports_every_field_and_the_writes_land),
                cmocka_unit_test(test_bench_get_reads_the_key_it_wrote),
                cmocka_unit_test(
                        test_bench_table_names_every_column_and_draws_no_bar_off_a_terminal),
                cmocka_unit_test(test_bench_counts_failures_and_exits_1_with_the_reason),
                cmocka_unit_test(test_bench_refuses_out_of_range_options_with_exit_2),
        };

        return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
