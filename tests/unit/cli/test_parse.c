/* tests/unit/cli/test_parse.c: raftctl's command-line and shell-line parsing.
 *
 * Owns: checks of global options (anywhere on the line), endpoint lists, durations, the
 * per-command argument parser, command lookup, "did you mean", the shell tokenizer and TAB
 * completion candidates. Must never touch the network (completion runs without a client).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/commands.h"
#include "cli/complete.h"
#include "cli/options.h"
#include "cli/suggest.h"
#include "cli/tokenize.h"

static void test_global_options_are_taken_from_anywhere_before_a_double_dash(void **state)
{
        char *argv[] = { "status", "--json", "-e", "a:1,b:2", "--timeout", "250ms", "--",
                         "--json" };
        char *rest[8];
        struct raftctl_options o;
        char err[128];
        int n;

        options_init(&o);
        assert_int_equal(options_extract(&o, 8, argv, &n, rest, err, sizeof(err)), 0);
        assert_int_equal(o.format, OUT_JSON);
        assert_int_equal(o.timeout_ms, 250);
        assert_int_equal(o.n_endpoints, 2);
        assert_string_equal(o.endpoints[0], "a:1");
        assert_string_equal(o.endpoints[1], "b:2");
        assert_int_equal(n, 3);
        assert_string_equal(rest[0], "status");
        assert_string_equal(rest[1], "--");
        assert_string_equal(rest[2], "--json");
        options_clear(&o);
}

static void test_short_and_joined_option_forms_are_accepted(void **state)
{
        char *argv[] = { "-wplain", "--endpoints=x:1", "get", "k", "--write-out=table" };
        char *rest[5];
        struct raftctl_options o;
        char err[128];
        int n;

        options_init(&o);
        assert_int_equal(options_extract(&o, 5, argv, &n, rest, err, sizeof(err)), 0);
        assert_int_equal(o.format, OUT_TABLE);          /* the last one wins */
        assert_string_equal(o.endpoints[0], "x:1");
        assert_int_equal(n, 2);
        options_clear(&o);
}

static void test_help_and_version_are_global_only_before_the_command(void **state)
{
        char *a1[] = { "--version" };
        char *a2[] = { "cas", "k", "--version", "3", "v", "-h" };
        char *rest[6];
        struct raftctl_options o;
        char err[128];
        int n;

        options_init(&o);
        assert_int_equal(options_extract(&o, 1, a1, &n, rest, err, sizeof(err)), 0);
        assert_true(o.version);
        assert_int_equal(n, 0);
        options_clear(&o);

        options_init(&o);
        assert_int_equal(options_extract(&o, 6, a2, &n, rest, err, sizeof(err)), 0);
        assert_false(o.version);
        assert_false(o.help);
        assert_int_equal(n, 6);
        options_clear(&o);
}

static void test_bad_global_option_values_are_refused_with_a_reason(void **state)
{
        char *a1[] = { "-w", "yaml" };
        char *a2[] = { "--timeout", "-5s" };
        char *a3[] = { "-e" };
        char *a4[] = { "-e", "a:1,,b:2" };
        char *rest[2];
        struct raftctl_options o;
        char err[128];
        int n;

        options_init(&o);
        assert_int_equal(options_extract(&o, 2, a1, &n, rest, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "yaml"));
        assert_int_equal(options_extract(&o, 2, a2, &n, rest, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "--timeout"));
        assert_int_equal(options_extract(&o, 1, a3, &n, rest, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "needs a value"));
        assert_int_equal(options_extract(&o, 2, a4, &n, rest, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "empty endpoint"));
        options_clear(&o);
}

static void test_endpoints_come_from_the_option_then_the_environment_then_the_socket(
        void **state)
{
        struct raftctl_options o;
        char err[128];

        options_init(&o);
        assert_int_equal(options_finish(&o, NULL, err, sizeof(err)), 0);
        assert_int_equal(o.n_endpoints, 1);
        assert_string_equal(o.endpoints[0], "unix:/run/rafktor/admin.sock");
        options_clear(&o);

        options_init(&o);
        assert_int_equal(options_finish(&o, " h1:7401 , /run/x.sock ", err, sizeof(err)), 0);
        assert_int_equal(o.n_endpoints, 2);
        assert_string_equal(o.endpoints[0], "h1:7401");
        assert_string_equal(o.endpoints[1], "unix:/run/x.sock");    /* bare path: unix */
        options_clear(&o);

        options_init(&o);
        assert_int_equal(options_set_endpoints(&o, "e:1", err, sizeof(err)), 0);
        assert_int_equal(options_finish(&o, "h1:7401", err, sizeof(err)), 0);
        assert_string_equal(o.endpoints[0], "e:1");
        options_clear(&o);
}

static void test_durations_accept_ms_s_m_and_bare_seconds(void **state)
{
        int64_t ms;

        assert_int_equal(parse_duration_ms("500ms", &ms), 0);
        assert_int_equal(ms, 500);
        assert_int_equal(parse_duration_ms("1.5s", &ms), 0);
        assert_int_equal(ms, 1500);
        assert_int_equal(parse_duration_ms("2m", &ms), 0);
        assert_int_equal(ms, 120000);
        assert_int_equal(parse_duration_ms("3", &ms), 0);
        assert_int_equal(ms, 3000);
        assert_int_equal(parse_duration_ms("0", &ms), -EINVAL);
        assert_int_equal(parse_duration_ms("5h", &ms), -EINVAL);
        assert_int_equal(parse_duration_ms("", &ms), -EINVAL);
        assert_int_equal(parse_duration_ms("nan", &ms), -EINVAL);
}

static const struct command *find1(const char *a, const char *b, int *words)
{
        char *argv[] = { (char *)a, (char *)b };

        return command_find(b ? 2 : 1, argv, words);
}

static void test_commands_are_found_by_one_or_two_words(void **state)
{
        const struct command *c;
        int w;

        c = find1("put", NULL, &w);
        assert_non_null(c);
        assert_string_equal(c->name, "put");
        assert_int_equal(w, 1);
        c = find1("member", "remove", &w);
        assert_non_null(c);
        assert_string_equal(c->name, "member remove");
        assert_int_equal(w, 2);
        assert_null(find1("member", "eject", &w));
        assert_int_equal(w, 1);
        assert_null(find1("member", NULL, &w));
        assert_int_equal(w, 1);
        assert_null(find1("stauts", NULL, &w));
        assert_int_equal(w, 0);
}

static void test_typos_get_the_nearest_command_within_two_edits(void **state)
{
        char buf[32];

        assert_string_equal(command_suggest("stauts", buf, sizeof(buf)), "status");
        assert_string_equal(command_suggest("memebr", buf, sizeof(buf)), "member");
        assert_string_equal(command_suggest("delet", buf, sizeof(buf)), "delete");
        assert_null(command_suggest("frobnicate", buf, sizeof(buf)));
        assert_int_equal(edit_distance("status", "status"), 0);
        assert_int_equal(edit_distance("stauts", "status"), 1);
        assert_int_equal(edit_distance("", "abc"), 3);
}

static void test_command_arguments_split_into_positionals_and_options(void **state)
{
        int w;
        const struct command *range = find1("range", NULL, &w);
        const struct command *put = find1("put", NULL, &w);
        char *a1[] = { "p/", "--limit", "5", "--stale" };
        char *a2[] = { "--limit=7" };
        char *a3[] = { "--", "-k", "-" };
        char *a4[] = { "k" };
        char *a5[] = { "p/", "--limit" };
        char *a6[] = { "k", "v", "--learner" };
        struct cmd_args a;
        char err[256];

        assert_int_equal(cmd_args_parse(range, 4, a1, &a, err, sizeof(err)), 0);
        assert_int_equal(a.npos, 1);
        assert_string_equal(a.pos[0], "p/");
        assert_true(a.set[cmd_opt_index(range, "--limit")]);
        assert_string_equal(a.val[cmd_opt_index(range, "--limit")], "5");
        assert_true(a.set[cmd_opt_index(range, "--stale")]);

        assert_int_equal(cmd_args_parse(range, 1, a2, &a, err, sizeof(err)), 0);
        assert_string_equal(a.val[cmd_opt_index(range, "--limit")], "7");

        assert_int_equal(cmd_args_parse(put, 3, a3, &a, err, sizeof(err)), 0);
        assert_int_equal(a.npos, 2);
        assert_string_equal(a.pos[0], "-k");
        assert_string_equal(a.pos[1], "-");

        assert_int_equal(cmd_args_parse(put, 1, a4, &a, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "expected put KEY VALUE, got 1 argument"));
        assert_int_equal(cmd_args_parse(range, 2, a5, &a, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "needs a value N"));
        assert_int_equal(cmd_args_parse(put, 3, a6, &a, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "unknown option '--learner'"));
}

static void test_every_command_has_usage_help_and_a_handler(void **state)
{
        size_t n;
        const struct command *t = commands_table(&n);

        assert_true(n >= 17);
        for (size_t i = 0; i < n; i++) {
                assert_non_null(t[i].args);
                assert_true(strlen(t[i].summary) > 0);
                assert_true(t[i].min_pos <= t[i].max_pos && t[i].max_pos <= CMD_MAX_POS);
                if (strcmp(t[i].name, "shell") != 0)
                        assert_non_null(t[i].run);
                for (int k = 0; t[i].opts && t[i].opts[k].name; k++)
                        assert_true(k < CMD_MAX_OPTS);
        }
}

static void test_shell_lines_split_with_quotes_and_escapes(void **state)
{
        char **w;
        char err[64];
        int n;

        assert_int_equal(tokenize("  put 'a b' \"c \\\"d\\\"\" e\\ f '' ", &n, &w, err,
                                  sizeof(err)), 0);
        assert_int_equal(n, 5);
        assert_string_equal(w[0], "put");
        assert_string_equal(w[1], "a b");
        assert_string_equal(w[2], "c \"d\"");
        assert_string_equal(w[3], "e f");
        assert_string_equal(w[4], "");
        assert_null(w[5]);
        tokenize_free(w);
        assert_int_equal(tokenize("get 'open", &n, &w, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "unterminated"));
        assert_int_equal(tokenize("   ", &n, &w, err, sizeof(err)), 0);
        assert_int_equal(n, 0);
        tokenize_free(w);
}

static char *joined(char **list)
{
        static char buf[512];

        buf[0] = '\0';
        for (size_t i = 0; list && list[i]; i++) {
                strcat(buf, i ? " " : "");
                strcat(buf, list[i]);
        }
        return buf;
}

static void check_complete(const char *before, const char *text, const char *want)
{
        char **list;

        assert_int_equal(complete_candidates(NULL, before, text, &list), 0);
        assert_string_equal(joined(list), want);
        complete_free(list);
}

static void test_completion_offers_commands_subcommands_options_and_formats(void **state)
{
        check_complete("", "st", "status");
        check_complete("", "s", "snapshot status");   /* no "shell" inside the shell */
        check_complete("", "mem", "member members");
        check_complete("member ", "", "add list promote remove");
        check_complete("member ", "re", "remove");
        check_complete("get k ", "--s", "--stale");
        check_complete("range ", "--", "--endpoints --help --json --limit --stale --timeout "
                       "--write-out");
        check_complete("status -w ", "j", "json");
        check_complete("help ", "tr", "transfer-leader");
        check_complete("help member ", "p", "promote");
        check_complete("put 'open ", "", "");
        /* Without a node there are no member ids to offer. */
        check_complete("member remove ", "n", "");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_global_options_are_taken_from_anywhere_before_a_double_dash),
                cmocka_unit_test(test_short_and_joined_option_forms_are_accepted),
                cmocka_unit_test(test_help_and_version_are_global_only_before_the_command),
                cmocka_unit_test(test_bad_global_option_values_are_refused_with_a_reason),
                cmocka_unit_test(
                        test_endpoints_come_from_the_option_then_the_environment_then_the_socket),
                cmocka_unit_test(test_durations_accept_ms_s_m_and_bare_seconds),
                cmocka_unit_test(test_commands_are_found_by_one_or_two_words),
                cmocka_unit_test(test_typos_get_the_nearest_command_within_two_edits),
                cmocka_unit_test(test_command_arguments_split_into_positionals_and_options),
                cmocka_unit_test(test_every_command_has_usage_help_and_a_handler),
                cmocka_unit_test(test_shell_lines_split_with_quotes_and_escapes),
                cmocka_unit_test(test_completion_offers_commands_subcommands_options_and_formats),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
