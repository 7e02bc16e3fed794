/* cli/commands.c: the command table, per-command argument parsing, help and dispatch.
 *
 * Owns: the list of commands (one-shot and shell read the same table), their usage and help
 * texts, and the rule that every failure is one line on stderr plus an exit code. Must never
 * talk to the network itself: handlers in cmd_*.c do.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/suggest.h"

static int cmd_help(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
static int cmd_exit(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);

static const struct cmd_opt status_opts[] = {
        { "--all", NULL, "ask every member the contacted node knows, not only the endpoints" },
        { NULL, NULL, NULL },
};
static const struct cmd_opt get_opts[] = {
        { "--stale", NULL, "read the node's local state (no ReadIndex round)" },
        { NULL, NULL, NULL },
};
static const struct cmd_opt cas_opts[] = {
        { "--version", "N", "compare on the key's version instead of its value (0: absent)" },
        { NULL, NULL, NULL },
};
static const struct cmd_opt range_opts[] = {
        { "--limit", "N", "at most N keys (0: no limit)" },
        { "--stale", NULL, "read the node's local state (no ReadIndex round)" },
        { NULL, NULL, NULL },
};
static const struct cmd_opt bench_opts[] = {
        { "--clients", "N", "N clients, each with its own connection and one request in "
                            "flight (default 16)" },
        { "--count", "N", "N requests in all (default 10000)" },
        { "--value-size", "N", "bytes per value (default 100)" },
        { NULL, NULL, NULL },
};
static const struct cmd_opt add_opts[] = {
        { "--learner", NULL, "add as a learner, promoted once caught up (the default)" },
        { "--voter", NULL, "make it a voter once it holds the configuration, without "
                           "waiting for it to catch up (the cluster may be unavailable "
                           "until it has)" },
        { NULL, NULL, NULL },
};

static const struct command table[] = {
        { "status", "", "role, term and indexes of each endpoint",
          "One row per endpoint: id, address, role, term, leader, commit, applied and last\n"
          "index, the replication lag the leader sees, uptime. --all asks the members that\n"
          "the first answering endpoint knows instead of the endpoints.",
          status_opts, 0, 0, CMD_COMPLETE_NONE, false, false, cmd_status },
        { "leader", "", "the leader the contacted node knows", NULL,
          NULL, 0, 0, CMD_COMPLETE_NONE, false, false, cmd_leader },
        { "members", "", "the cluster's members (id, address, voter or learner)", NULL,
          NULL, 0, 0, CMD_COMPLETE_NONE, false, false, cmd_members },
        { "member list", "", "the same as members (etcdctl's name)", NULL,
          NULL, 0, 0, CMD_COMPLETE_NONE, false, false, cmd_members },
        { "put", "KEY VALUE", "set KEY to VALUE ('-': read VALUE from stdin, binary-safe)",
          "The write carries this raftctl's session (client id, request id): retried on\n"
          "another endpoint, it is applied once.",
          NULL, 2, 2, CMD_COMPLETE_NONE, false, false, cmd_put },
        { "get", "KEY", "the value of KEY (linearizable; --stale for a local read)",
          "A missing key exits with status 3. -w plain prints the value's bytes exactly.",
          get_opts, 1, 1, CMD_COMPLETE_NONE, false, false, cmd_get },
        { "delete", "KEY", "delete KEY (a missing key exits with status 3)", NULL,
          NULL, 1, 1, CMD_COMPLETE_NONE, false, false, cmd_delete },
        { "cas", "KEY EXPECTED NEW | KEY --version N NEW",
          "set KEY to NEW if its value is EXPECTED (or its version is N)",
          "Exits with status 4 when the comparison fails. --version 0 means the key must\n"
          "not exist. NEW may be '-' to read it from stdin.",
          cas_opts, 2, 3, CMD_COMPLETE_NONE, false, false, cmd_cas },
        { "range", "[PREFIX]", "keys starting with PREFIX, in key order", NULL,
          range_opts, 0, 1, CMD_COMPLETE_NONE, false, false, cmd_range },
        { "log", "[FROM [COUNT]]", "the replicated log, decoded (put, delete, cas, noop, ...)",
          "FROM is the first index shown (default: the first the node holds), COUNT how many\n"
          "entries (default: the node's page size).",
          NULL, 0, 2, CMD_COMPLETE_NONE, false, false, cmd_log },
        { "member add", "ID ADDRESS", "add a member (admin socket only)",
          "ADDRESS is the peer address the other members dial. Admin mutations are accepted\n"
          "only on a node's local admin socket, from root or group rafktor.",
          add_opts, 2, 2, CMD_COMPLETE_NONE, false, false, cmd_admin_mutation },
        { "member remove", "ID", "remove a member (admin socket only)", NULL,
          NULL, 1, 1, CMD_COMPLETE_MEMBER, false, false, cmd_admin_mutation },
        { "member promote", "ID", "make a learner a voter (admin socket only)", NULL,
          NULL, 1, 1, CMD_COMPLETE_MEMBER, false, false, cmd_admin_mutation },
        { "transfer-leader", "[ID]", "hand leadership over to ID (admin socket of the leader)",
          "Without ID the leader picks the most up-to-date voter. Answers once another\n"
          "leader is known; exits 1 when the node is not the leader or leadership did not\n"
          "move.",
          NULL, 0, 1, CMD_COMPLETE_MEMBER, false, false, cmd_admin_mutation },
        { "snapshot", "", "take a snapshot now (admin socket only)", NULL,
          NULL, 0, 0, CMD_COMPLETE_NONE, false, false, cmd_admin_mutation },
        { "bench put", "", "load test: puts of keys bench/00000000.. (throughput, latency)",
          "Puts COUNT keys bench/NNNNNNNN with VALUE-SIZE-byte values from CLIENTS clients,\n"
          "each keeping one request in flight, then prints the throughput and the p50, p90,\n"
          "p99 and largest latency. A progress bar shows on a terminal. Exits 1 when a\n"
          "request failed (the report still prints).",
          bench_opts, 0, 0, CMD_COMPLETE_NONE, false, false, cmd_bench },
        { "bench get", "", "load test: linearizable gets of the key bench/get",
          "Writes bench/get once (VALUE-SIZE bytes), then reads it COUNT times from CLIENTS\n"
          "clients; the report is the one of bench put.",
          bench_opts, 0, 0, CMD_COMPLETE_NONE, false, false, cmd_bench },
        { "help", "[COMMAND]", "list the commands, or explain one", NULL,
          NULL, 0, 2, CMD_COMPLETE_COMMAND, false, false, cmd_help },
        { "shell", "", "the interactive shell (also: no command given)", NULL,
          NULL, 0, 0, CMD_COMPLETE_NONE, false, true, NULL },
        { "exit", "", "leave the shell (also: quit, ctrl-d)", NULL,
          NULL, 0, 0, CMD_COMPLETE_NONE, true, false, cmd_exit },
        { "quit", "", "leave the shell", NULL,
          NULL, 0, 0, CMD_COMPLETE_NONE, true, false, cmd_exit },
};

const struct command *commands_table(size_t *ret_n)
{
        *ret_n = sizeof(table) / sizeof(table[0]);
        return table;
}

/* "member add" -> group length 6 ("member"), or the whole name when it has one word. */
static size_t first_word_len(const char *name)
{
        const char *sp = strchr(name, ' ');

        return sp ? (size_t)(sp - name) : strlen(name);
}

const struct command *command_find(int argc, char *const *argv, int *ret_words)
{
        bool group = false;

        *ret_words = 0;
        if (argc < 1)
                return NULL;
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
                const char *name = table[i].name;
                size_t n = first_word_len(name);

                if (strlen(argv[0]) != n || strncmp(argv[0], name, n) != 0)
                        continue;
                if (name[n] == '\0') {
                        *ret_words = 1;
                        return &table[i];
                }
                group = true;
                if (argc >= 2 && strcmp(argv[1], name + n + 1) == 0) {
                        *ret_words = 2;
                        return &table[i];
                }
        }
        if (group)
                *ret_words = 1;
        return NULL;
}

const char *command_suggest(const char *word, char *buf, size_t len)
{
        const char *best = NULL;
        size_t best_d = 3;

        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
                size_t n = first_word_len(table[i].name);
                char w[32];
                size_t d;

                if (n >= sizeof(w) || n >= len)
                        continue;
                memcpy(w, table[i].name, n);
                w[n] = '\0';
                d = edit_distance(word, w);
                if (d < best_d) {
                        best_d = d;
                        memcpy(buf, w, n + 1);
                        best = buf;
                }
        }
        return best;
}

int cmd_opt_index(const struct command *cmd, const char *name)
{
        for (int i = 0; cmd->opts && cmd->opts[i].name; i++)
                if (strcmp(cmd->opts[i].name, name) == 0)
                        return i;
        return -1;
}

/* only_pos: a "--" came before the command's name, so no word is an option. */
static int args_parse(const struct command *cmd, int argc, char *const *argv, bool only_pos,
                      struct cmd_args *a, char *err, size_t errlen)
{
        memset(a, 0, sizeof(*a));
        for (int i = 0; i < argc; i++) {
                const char *w = argv[i];

                if (!only_pos && strcmp(w, "--") == 0) {
                        only_pos = true;
                        continue;
                }
                if (!only_pos && (strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0)) {
                        a->help = true;
                        continue;
                }
                if (!only_pos && w[0] == '-' && w[1] != '\0') {
                        const char *eq = strchr(w, '=');
                        char name[64];
                        int k;

                        snprintf(name, sizeof(name), "%.*s",
                                 (int)(eq ? (size_t)(eq - w) : strlen(w)), w);
                        k = cmd_opt_index(cmd, name);
                        if (k < 0 || k >= CMD_MAX_OPTS) {
                                snprintf(err, errlen, "%s: unknown option '%s'", cmd->name, name);
                                return -EINVAL;
                        }
                        a->set[k] = true;
                        if (!cmd->opts[k].value_name) {
                                if (eq) {
                                        snprintf(err, errlen, "%s: option %s takes no value",
                                                 cmd->name, name);
                                        return -EINVAL;
                                }
                                continue;
                        }
                        if (eq) {
                                a->val[k] = eq + 1;
                        } else if (i + 1 < argc) {
                                a->val[k] = argv[++i];
                        } else {
                                snprintf(err, errlen, "%s: option %s needs a value %s",
                                         cmd->name, name, cmd->opts[k].value_name);
                                return -EINVAL;
                        }
                        continue;
                }
                if (a->npos == CMD_MAX_POS) {
                        snprintf(err, errlen, "%s: too many arguments", cmd->name);
                        return -EINVAL;
                }
                a->pos[a->npos++] = argv[i];
        }
        if (a->help)
                return 0;
        if (a->npos < cmd->min_pos || a->npos > cmd->max_pos) {
                snprintf(err, errlen, "%s: expected %s%s%s, got %d argument%s", cmd->name,
                         cmd->name, *cmd->args ? " " : "", cmd->args, a->npos,
                         a->npos == 1 ? "" : "s");
                return -EINVAL;
        }
        return 0;
}

int cmd_args_parse(const struct command *cmd, int argc, char *const *argv, struct cmd_args *a,
                   char *err, size_t errlen)
{
        return args_parse(cmd, argc, argv, false, a, err, errlen);
}

void command_print_help(FILE *f, const struct command *cmd)
{
        fprintf(f, "Usage: %s%s%s%s\n  %s\n", cmd->name, *cmd->args ? " " : "", cmd->args,
                cmd->opts ? " [OPTIONS]" : "", cmd->summary);
        if (cmd->help)
                fprintf(f, "\n%s\n", cmd->help);
        if (cmd->opts) {
                fprintf(f, "\nOptions:\n");
                for (int i = 0; cmd->opts[i].name; i++) {
                        char left[40];

                        snprintf(left, sizeof(left), "%s%s%s", cmd->opts[i].name,
                                 cmd->opts[i].value_name ? " " : "",
                                 cmd->opts[i].value_name ? cmd->opts[i].value_name : "");
                        fprintf(f, "  %-18s %s\n", left, cmd->opts[i].help);
                }
        }
}

void commands_print_usage(FILE *f, bool in_shell)
{
        if (!in_shell)
                fprintf(f,
                        "Usage: raftctl [OPTIONS] [COMMAND [ARGS...]]\n\n"
                        "Options (anywhere on the line):\n"
                        "  -e, --endpoints HOST:PORT[,...]  nodes to ask, in turn (default: "
                        "$RAFTCTL_ENDPOINTS,\n"
                        "                                   else " RAFTCTL_DEFAULT_ENDPOINT ")\n"
                        "  -w, --write-out table|json|plain output format (default: table)\n"
                        "      --json                       the same as -w json\n"
                        "      --timeout DURATION           per call, e.g. 500ms, 5s (default: "
                        "5s)\n"
                        "  -h, --help                       this text; COMMAND -h: the "
                        "command's help\n"
                        "      --version                    raftctl's version\n\n");
        fprintf(f, "Commands:\n");
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
                char left[48];

                if ((in_shell && table[i].oneshot_only) || (!in_shell && table[i].shell_only))
                        continue;
                snprintf(left, sizeof(left), "%s%s%s", table[i].name, *table[i].args ? " " : "",
                         table[i].args);
                if (strlen(left) > 26)
                        fprintf(f, "  %s\n  %-26s %s\n", left, "", table[i].summary);
                else
                        fprintf(f, "  %-26s %s\n", left, table[i].summary);
        }
        if (!in_shell)
                fprintf(f, "\nWith no command, raftctl starts the shell. See raftctl(1).\n");
}

static int cmd_help(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        const struct command *c;
        int words;

        if (a->npos == 0) {
                commands_print_usage(ctx->out, ctx->in_shell);
                return RAFTCTL_EXIT_OK;
        }
        c = command_find(a->npos, a->pos, &words);
        if (!c) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "help: no command '%s%s%s'",
                         a->pos[0], a->npos > 1 ? " " : "", a->npos > 1 ? a->pos[1] : "");
                return RAFTCTL_EXIT_USAGE;
        }
        command_print_help(ctx->out, c);
        return RAFTCTL_EXIT_OK;
}

static int cmd_exit(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        ctx->quit = true;
        return RAFTCTL_EXIT_OK;
}

int cmd_fail_client(struct cmd_ctx *ctx, const char *what)
{
        const struct client_error *e = client_error(ctx->client);

        snprintf(ctx->errmsg, sizeof(ctx->errmsg), "%s: %s", what, e->message);
        return e->exit_code ? e->exit_code : RAFTCTL_EXIT_FAILURE;
}

static int unknown_command(struct cmd_ctx *ctx, int argc, char **argv, int words)
{
        char buf[32];
        const char *s;

        if (words == 1) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                         argc > 1 ? "unknown sub-command '%s %s' (try 'help')"
                                  : "'%s' needs a sub-command (try 'help')",
                         argv[0], argc > 1 ? argv[1] : "");
                return RAFTCTL_EXIT_USAGE;
        }
        s = command_suggest(argv[0], buf, sizeof(buf));
        if (s)
                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                         "unknown command '%s', did you mean '%s'?", argv[0], s);
        else
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "unknown command '%s' (try 'help')",
                         argv[0]);
        return RAFTCTL_EXIT_USAGE;
}

int commands_run(struct cmd_ctx *ctx, int argc, char **argv)
{
        const struct command *cmd;
        struct cmd_args a;
        bool only_pos = false;
        int words, r;

        ctx->errmsg[0] = '\0';
        if (argc > 0 && strcmp(argv[0], "--") == 0) {  /* raftctl -e X -- get -k */
                argc--;
                argv++;
                only_pos = true;
        }
        cmd = command_find(argc, argv, &words);
        if (!cmd || (ctx->in_shell && cmd->oneshot_only) || (!ctx->in_shell && cmd->shell_only))
                r = unknown_command(ctx, argc, argv, cmd ? 0 : words);
        else if (args_parse(cmd, argc - words, argv + words, only_pos, &a, ctx->errmsg,
                            sizeof(ctx->errmsg)) < 0)
                r = RAFTCTL_EXIT_USAGE;
        else if (a.help) {
                command_print_help(ctx->out, cmd);
                r = RAFTCTL_EXIT_OK;
        } else if (!cmd->run) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "'%s' cannot run here", cmd->name);
                r = RAFTCTL_EXIT_USAGE;
        } else {
                r = cmd->run(ctx, cmd, &a);
        }
        fflush(ctx->out);
        if (r != RAFTCTL_EXIT_OK && ctx->errmsg[0])
                fprintf(ctx->err, "raftctl: %s\n", ctx->errmsg);
        fflush(ctx->err);
        return r;
}
