/* tests/unit/cli/test_e2e.c: raftctl end to end, as a process, against fake servers.
 *
 * Owns: the checks that every one-shot command, each output format, the exit codes and the
 * endpoint/session behaviour work over real gRPC (unix sockets). Must never wait with a
 * fixed sleep: the fake server says "ready", raftctl runs to its exit under a deadline.
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

#include "tests/unit/cli/proc.h"

#define RUN_TIMEOUT_MS 20000

struct world {
        char *dir;
        char ep_leader[512], ep_follower[512], ep_noleader[512], ep_hang[512], ep_lossy[512];
        char ep_dead[512];
        pid_t pids[5];
};

static struct world W;

static void endpoint(char *buf, size_t len, const char *name)
{
        snprintf(buf, len, "unix:%s/%s.sock", W.dir, name);
}

static int setup_world(void **state)
{
        char *const follower[] = { "--id", "n2", "--role", "follower", NULL };
        char *const noleader[] = { "--id", "n3", "--no-leader", NULL };
        char *const hang[] = { "--hang-get", NULL };
        char *const lossy[] = { "--lose-first-reply", NULL };

        unsetenv("RAFTCTL_ENDPOINTS");
        W.dir = proc_tmpdir();
        if (!W.dir)
                return -1;
        setenv("HOME", W.dir, 1);
        unsetenv("XDG_STATE_HOME");
        endpoint(W.ep_leader, sizeof(W.ep_leader), "leader");
        endpoint(W.ep_follower, sizeof(W.ep_follower), "follower");
        endpoint(W.ep_noleader, sizeof(W.ep_noleader), "noleader");
        endpoint(W.ep_hang, sizeof(W.ep_hang), "hang");
        endpoint(W.ep_lossy, sizeof(W.ep_lossy), "lossy");
        endpoint(W.ep_dead, sizeof(W.ep_dead), "nobody-listens");
        W.pids[0] = proc_start_fake(W.ep_leader, NULL, 10000);
        W.pids[1] = proc_start_fake(W.ep_follower, follower, 10000);
        W.pids[2] = proc_start_fake(W.ep_noleader, noleader, 10000);
        W.pids[3] = proc_start_fake(W.ep_hang, hang, 10000);
        W.pids[4] = proc_start_fake(W.ep_lossy, lossy, 10000);
        for (int i = 0; i < 5; i++)
                if (W.pids[i] < 0) {
                        fprintf(stderr, "fake server %d did not start\n", i);
                        return -1;
                }
        return 0;
}

static int teardown_world(void **state)
{
        for (int i = 0; i < 5; i++)
                proc_stop(W.pids[i]);
        proc_rmtree(W.dir);
        free(W.dir);
        return 0;
}

/* raftctl ARGS... (NULL-terminated), stdin from in/in_len. */
static void run_in(struct proc_result *r, const void *in, size_t in_len, ...)
{
        char path[4096];
        char *argv[32];
        int argc = 0;
        va_list ap;

        argv[argc++] = (char *)proc_build_path("cli/raftctl", path, sizeof(path));
        va_start(ap, in_len);
        for (char *a = va_arg(ap, char *); a && argc < 31; a = va_arg(ap, char *))
                argv[argc++] = a;
        va_end(ap);
        argv[argc] = NULL;
        assert_int_equal(proc_run(argv, NULL, in, in_len, RUN_TIMEOUT_MS, r), 0);
        if (getenv("CLI_TEST_VERBOSE"))
                fprintf(stderr, "[%d] out:\n%s\nerr:\n%s\n", r->status, r->out, r->err);
}

#define RUN(r, ...) run_in((r), NULL, 0, __VA_ARGS__, (char *)NULL)

static json_object *parse(const struct proc_result *r)
{
        json_object *j = json_tokener_parse(r->out);

        if (!j)
                fprintf(stderr, "not JSON: %s\n", r->out);
        assert_non_null(j);
        return j;
}

static const char *jstr(json_object *o, const char *k)
{
        json_object *v;

        assert_true(json_object_object_get_ex(o, k, &v));
        return json_object_get_string(v);
}

static uint64_t ju64(json_object *o, const char *k)
{
        json_object *v;

        assert_true(json_object_object_get_ex(o, k, &v));
        return json_object_get_uint64(v);
}

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

static void test_status_json_has_one_object_per_endpoint_with_the_required_fields(void **state)
{
        static const char *const fields[] = {
                "id", "role", "term", "leader", "commit_index", "applied_index", "last_index",
        };
        char eps[1100];
        struct proc_result r;
        json_object *j, *o;

        snprintf(eps, sizeof(eps), "%s,%s", W.ep_leader, W.ep_follower);
        RUN(&r, "-e", eps, "status", "--json");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_true(json_object_is_type(j, json_type_array));
        assert_int_equal(json_object_array_length(j), 2);
        for (size_t i = 0; i < 2; i++)
                for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
                        assert_true(json_object_object_get_ex(json_object_array_get_idx(j, i),
                                                              fields[f], NULL));
        o = json_object_array_get_idx(j, 0);
        assert_string_equal(jstr(o, "endpoint"), W.ep_leader);
        assert_string_equal(jstr(o, "id"), "n1");
        assert_string_equal(jstr(o, "role"), "leader");
        assert_int_equal(ju64(o, "term"), 7);
        assert_string_equal(jstr(o, "leader"), "n1");
        assert_true(ju64(o, "last_index") >= 2);
        o = json_object_array_get_idx(j, 1);
        assert_string_equal(jstr(o, "id"), "n2");
        assert_string_equal(jstr(o, "role"), "follower");
        assert_string_equal(jstr(o, "leader"), "n1");
        assert_int_equal(ju64(o, "lag"), 0);    /* the leader's peers say n2 is up to date */
        json_object_put(j);
        proc_result_free(&r);
}

static void test_status_table_and_plain_show_a_row_per_endpoint_and_unreachable_ones(void **state)
{
        char eps[1100];
        struct proc_result r;

        snprintf(eps, sizeof(eps), "%s,%s", W.ep_leader, W.ep_dead);
        RUN(&r, "-e", eps, "status");
        assert_int_equal(r.status, 5);
        assert_non_null(strstr(r.out, "ENDPOINT"));
        assert_non_null(strstr(r.out, "leader"));
        assert_non_null(strstr(r.out, "unreachable"));
        assert_non_null(strstr(r.err, "not every node answered"));
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_leader, "-w", "plain", "status");
        assert_int_equal(r.status, 0);
        assert_null(strstr(r.out, "ENDPOINT"));
        assert_non_null(strstr(r.out, "\tn1\t"));
        assert_non_null(strstr(r.out, "\tleader\t7\tn1\t"));
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_leader, "status", "--all", "--json");
        assert_int_equal(r.status, 5);          /* n2 and n3 of the fake are not there */
        assert_non_null(strstr(r.out, "\"id\": \"n1\""));
        assert_non_null(strstr(r.out, "127.0.0.1:1"));
        proc_result_free(&r);
}

static void test_leader_and_members_in_every_format(void **state)
{
        struct proc_result r;
        json_object *j;

        RUN(&r, "-e", W.ep_follower, "leader");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "ID"));
        assert_non_null(strstr(r.out, "n1"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "--json", "leader");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_string_equal(jstr(j, "leader_id"), "n1");
        assert_string_equal(jstr(j, "leader_address"), W.ep_leader);
        json_object_put(j);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_noleader, "leader");
        assert_int_equal(r.status, 6);
        assert_non_null(strstr(r.err, "knows no leader"));
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_leader, "members");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "ROLE"));
        assert_non_null(strstr(r.out, "learner"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "-w", "plain", "members");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "n2\t127.0.0.1:1\tvoter\t\n"));
        assert_non_null(strstr(r.out, "n3\t127.0.0.1:1\tlearner\t\n"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "-w", "json", "members");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_int_equal(json_object_array_length(j), 3);
        assert_string_equal(jstr(json_object_array_get_idx(j, 2), "id"), "n3");
        json_object_put(j);
        proc_result_free(&r);
}

static void test_log_decodes_noop_configuration_and_commands(void **state)
{
        struct proc_result r;
        json_object *j, *entries, *e;

        RUN(&r, "-e", W.ep_follower, "put", "log/k", "v1");
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_follower, "cas", "log/k", "v1", "v2");
        assert_int_equal(r.status, 0);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_follower, "delete", "log/k");
        assert_int_equal(r.status, 0);
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_follower, "log");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "INDEX"));
        assert_non_null(strstr(r.out, "noop"));
        assert_non_null(strstr(r.out, "configuration n1=127.0.0.1:7401 (voter), n2=127.0.0.1:7402"
                                      " (voter), n3=127.0.0.1:7403 (learner)"));
        assert_non_null(strstr(r.out, "put log/k=v1 [client "));
        assert_non_null(strstr(r.out, "cas log/k if value=v1 then v2"));
        assert_non_null(strstr(r.out, "delete log/k"));
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_follower, "--json", "log", "3", "1");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_true(json_object_object_get_ex(j, "entries", &entries));
        assert_int_equal(json_object_array_length(entries), 1);
        e = json_object_array_get_idx(entries, 0);
        assert_int_equal(ju64(e, "index"), 3);
        assert_string_equal(jstr(e, "type"), "command");
        assert_string_equal(jstr(e, "op"), "put");
        assert_string_equal(jstr(e, "key"), "log/k");
        assert_int_equal(ju64(e, "request_id"), 1);
        json_object_put(j);
        proc_result_free(&r);

        RUN(&r, "-e", W.ep_follower, "-w", "plain", "log", "1", "2");
        assert_int_equal(r.status, 0);
        assert_true(strncmp(r.out, "1\t7\tnoop\tnoop\n2\t7\tconfiguration\t", 32) == 0);
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

static void test_membership_and_snapshot_commands_exit_7_not_supported(void **state)
{
        static const char *const cmds[][4] = {
                { "member", "add", "n4", "127.0.0.1:7404" },
                { "member", "remove", "n3", NULL },
                { "member", "promote", "n3", NULL },
                { "transfer-leader", "n2", NULL, NULL },
                { "snapshot", NULL, NULL, NULL },
        };
        struct proc_result r;

        for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
                RUN(&r, "-e", W.ep_leader, (char *)cmds[i][0], (char *)cmds[i][1],
                    (char *)cmds[i][2], (char *)cmds[i][3]);
                assert_int_equal(r.status, 7);
                assert_non_null(strstr(r.err, "not supported by this daemon yet"));
                assert_non_null(strstr(r.err, "UNIMPLEMENTED"));
                proc_result_free(&r);
        }
}

static void test_usage_errors_exit_2_with_one_line(void **state)
{
        struct proc_result r;

        RUN(&r, "-e", W.ep_leader, "stauts");
        assert_int_equal(r.status, 2);
        assert_string_equal(r.err, "raftctl: unknown command 'stauts', did you mean 'status'?\n");
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "put", "only-key");
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "expected put KEY VALUE"));
        proc_result_free(&r);
        RUN(&r, "-w", "yaml", "status");
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "bad output format 'yaml'"));
        proc_result_free(&r);
        RUN(&r, "--timeout", "soon", "status");
        assert_int_equal(r.status, 2);
        proc_result_free(&r);
        RUN(&r, "get", "k", "--bogus");
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "unknown option '--bogus'"));
        proc_result_free(&r);
        RUN(&r, "member");
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "needs a sub-command"));
        proc_result_free(&r);
}

static void test_help_and_version_exit_0(void **state)
{
        struct proc_result r;

        RUN(&r, "--help");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "transfer-leader"));
        proc_result_free(&r);
        RUN(&r, "cas", "--help");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "--version N"));
        proc_result_free(&r);
        RUN(&r, "help", "member", "add");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "--learner"));
        proc_result_free(&r);
        RUN(&r, "--version");
        assert_int_equal(r.status, 0);
        assert_true(strncmp(r.out, "raftctl ", 8) == 0);
        proc_result_free(&r);
}

static void test_piped_shell_runs_every_line_and_reports_the_last_failure(void **state)
{
        static const char script[] =
                "put pipe/k 'two words'\n"
                "# a comment\n"
                "\n"
                "stauts\n"
                "get pipe/k -w plain\n"
                "get pipe/missing\n"
                "get pipe/k --json\n";
        struct proc_result r;

        run_in(&r, script, strlen(script), "-e", W.ep_leader, "shell", (char *)NULL);
        assert_int_equal(r.status, 3);
        assert_non_null(strstr(r.err, "did you mean 'status'?"));
        assert_non_null(strstr(r.err, "pipe/missing' not found"));
        assert_non_null(strstr(r.out, "two words"));
        assert_non_null(strstr(r.out, "\"value\": \"two words\""));
        assert_null(strstr(r.out, "> "));       /* no prompt when stdin is not a terminal */
        proc_result_free(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_put_then_get_shows_the_value_in_every_format),
                cmocka_unit_test(test_get_of_a_missing_key_exits_3),
                cmocka_unit_test(test_value_from_stdin_round_trips_every_byte),
                cmocka_unit_test(test_delete_removes_the_key_and_a_missing_key_exits_3),
                cmocka_unit_test(test_cas_swaps_on_value_and_version_and_a_failed_compare_exits_4),
                cmocka_unit_test(test_range_lists_keys_with_the_prefix_up_to_the_limit),
                cmocka_unit_test(test_status_json_has_one_object_per_endpoint_with_the_required_fields),
                cmocka_unit_test(test_status_table_and_plain_show_a_row_per_endpoint_and_unreachable_ones),
                cmocka_unit_test(test_leader_and_members_in_every_format),
                cmocka_unit_test(test_log_decodes_noop_configuration_and_commands),
                cmocka_unit_test(test_a_dead_endpoint_is_skipped_for_the_next_one),
                cmocka_unit_test(test_no_endpoint_answering_exits_5),
                cmocka_unit_test(test_no_leader_exits_6_with_the_servers_reason),
                cmocka_unit_test(test_a_deadline_exits_8_and_says_the_outcome_is_unknown),
                cmocka_unit_test(test_a_retried_write_is_applied_once),
                cmocka_unit_test(test_writes_of_one_process_share_a_client_id_with_increasing_request_ids),
                cmocka_unit_test(test_membership_and_snapshot_commands_exit_7_not_supported),
                cmocka_unit_test(test_usage_errors_exit_2_with_one_line),
                cmocka_unit_test(test_help_and_version_exit_0),
                cmocka_unit_test(test_piped_shell_runs_every_line_and_reports_the_last_failure),
        };

        return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
