/* tests/unit/cli/test_e2e_admin.c: raftctl's operator commands end to end, against fake
 * servers: status (JSON fields, table, plain, --all), leader, members, log decoding, the
 * admin mutations (results on success, exit 9 on PERMISSION_DENIED, exit 7 on
 * UNIMPLEMENTED, each with the daemon's sentence), usage errors, help, and the shell
 * reading a script from a pipe.
 *
 * Owns: checks of what an operator or a script sees. Must never sleep for a fixed time.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tests/unit/cli/world.h"

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
        assert_non_null(strstr(r.err, "status: 1 of 2 nodes did not answer"));
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

static const char *const mutations[][4] = {
        { "member", "add", "n4", "127.0.0.1:7404" },
        { "member", "remove", "n3", NULL },
        { "member", "promote", "n3", NULL },
        { "transfer-leader", "n2", NULL, NULL },
        { "snapshot", NULL, NULL, NULL },
};

/* The follower fake answers as rafktord over TCP, the leaderless one as a daemon without
 * membership changes (see fake_server.c). */
static void test_mutations_refused_exit_9_or_7_with_the_daemons_sentence(void **state)
{
        struct proc_result r;

        for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
                RUN(&r, "-e", W.ep_follower, (char *)mutations[i][0], (char *)mutations[i][1],
                    (char *)mutations[i][2], (char *)mutations[i][3]);
                assert_int_equal(r.status, 9);
                assert_non_null(strstr(r.err, "permission denied: admin mutations are "
                                       "accepted only on the local admin socket"));
                assert_ptr_equal(strchr(r.err, '\n'), r.err + strlen(r.err) - 1); /* one line */
                assert_string_equal(r.out, "");
                proc_result_free(&r);
                RUN(&r, "-e", W.ep_noleader, (char *)mutations[i][0], (char *)mutations[i][1],
                    (char *)mutations[i][2], (char *)mutations[i][3]);
                assert_int_equal(r.status, 7);
                assert_non_null(strstr(r.err, "not supported by this daemon yet: membership "
                                       "changes arrive with issue 7"));
                proc_result_free(&r);
        }
}

static void test_mutations_accepted_print_members_new_leader_or_snapshot(void **state)
{
        struct proc_result r;
        json_object *j;

        RUN(&r, "-e", W.ep_leader, "-w", "plain", "member", "add", "n4", "127.0.0.1:7404",
            "--learner");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "n4\t127.0.0.1:7404\tlearner\t"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "member", "add", "n5", "127.0.0.1:7405", "--learner",
            "--voter");
        assert_int_equal(r.status, 2);
        assert_non_null(strstr(r.err, "give --learner or --voter, not both"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "-w", "plain", "member", "add", "n5", "127.0.0.1:7405",
            "--voter");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "n5\t127.0.0.1:7405\tvoter\t"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "-w", "json", "member", "remove", "n3");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_int_equal(json_object_array_length(j), 2);
        json_object_put(j);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "-w", "plain", "member", "promote", "n3");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "n3\t127.0.0.1:1\tvoter\t"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "--json", "transfer-leader", "n3");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_string_equal(jstr(j, "leader_id"), "n3");
        assert_string_equal(jstr(j, "previous_leader_id"), "n1");
        assert_int_equal(ju64(j, "term"), 7);
        json_object_put(j);
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "transfer-leader");
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "LEADER"));
        assert_non_null(strstr(r.out, "n2"));
        proc_result_free(&r);
        RUN(&r, "-e", W.ep_leader, "--json", "snapshot");
        assert_int_equal(r.status, 0);
        j = parse(&r);
        assert_int_equal(ju64(j, "term"), 7);
        assert_int_equal(ju64(j, "size_bytes"), 4096);
        assert_true(json_object_object_get_ex(j, "index", NULL));
        json_object_put(j);
        proc_result_free(&r);
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

static void test_every_command_answers_in_each_of_the_three_formats(void **state)
{
        /* Each command with its table header's first word. */
        static const char *const cmds[][5] = {
                { "status", NULL, NULL, NULL, "ENDPOINT" },
                { "leader", NULL, NULL, NULL, "ID" },
                { "members", NULL, NULL, NULL, "ID" },
                { "put", "matrix/k", "v", NULL, "KEY" },
                { "get", "matrix/k", NULL, NULL, "KEY" },
                { "cas", "matrix/k", "v", "w", "KEY" },
                { "range", "matrix/", NULL, NULL, "KEY" },
                { "log", "1", "3", NULL, "INDEX" },
                { "delete", "matrix/k", NULL, NULL, "KEY" },
        };
        static const char *const formats[] = { "table", "json", "plain" };
        struct proc_result r;

        for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
                for (size_t f = 0; f < 3; f++) {
                        bool again = strcmp(cmds[c][0], "cas") == 0 && f > 0;
                        json_object *j;

                        /* The key exists for every delete; cas v->w once, then w->w. */
                        if (strcmp(cmds[c][0], "delete") == 0 && f > 0) {
                                RUN(&r, "-e", W.ep_leader, "put", "matrix/k", "v");
                                assert_int_equal(r.status, 0);
                                proc_result_free(&r);
                        }
                        RUN(&r, "-e", W.ep_leader, "-w", (char *)formats[f], (char *)cmds[c][0],
                            (char *)cmds[c][1], again ? "w" : (char *)cmds[c][2],
                            (char *)cmds[c][3]);
                        if (r.status != 0)
                                fprintf(stderr, "%s -w %s: %s", cmds[c][0], formats[f], r.err);
                        assert_int_equal(r.status, 0);
                        assert_true(r.out_len > 0);
                        if (f == 0) {
                                assert_true(strncmp(r.out, cmds[c][4], strlen(cmds[c][4])) == 0);
                        } else if (f == 1) {
                                j = parse(&r);
                                json_object_put(j);
                        } else if (strcmp(cmds[c][0], "get") != 0) {
                                assert_false(strncmp(r.out, cmds[c][4], strlen(cmds[c][4])) == 0);
                                assert_non_null(strchr(r.out, '\t'));
                        }
                        proc_result_free(&r);
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(
                        test_status_json_has_one_object_per_endpoint_with_the_required_fields),
                cmocka_unit_test(
                        test_status_table_and_plain_show_a_row_per_endpoint_and_unreachable_ones),
                cmocka_unit_test(test_leader_and_members_in_every_format),
                cmocka_unit_test(test_log_decodes_noop_configuration_and_commands),
                cmocka_unit_test(test_mutations_refused_exit_9_or_7_with_the_daemons_sentence),
                cmocka_unit_test(test_mutations_accepted_print_members_new_leader_or_snapshot),
                cmocka_unit_test(test_usage_errors_exit_2_with_one_line),
                cmocka_unit_test(test_help_and_version_exit_0),
                cmocka_unit_test(test_every_command_answers_in_each_of_the_three_formats),
                cmocka_unit_test(test_piped_shell_runs_every_line_and_reports_the_last_failure),
        };

        return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
