/* cli/commands.h: the command table shared by the one-shot CLI and the shell.
 *
 * Owns: every command's name, usage, help text, options and handler, and the dispatch of
 * an argument vector to a handler (with per-command option parsing and help). Must never
 * read a terminal or parse a line: main.c and shell.c hand it words.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/client.h"
#include "cli/options.h"

#define CMD_MAX_POS 8
#define CMD_MAX_OPTS 4

struct cmd_opt {
        const char *name;           /* "--stale" */
        const char *value_name;     /* "N" when it takes a value, NULL for a flag */
        const char *help;
};

/* What the shell completes a positional argument with. */
enum cmd_complete {
        CMD_COMPLETE_NONE,
        CMD_COMPLETE_MEMBER,        /* member ids, asked from the node */
        CMD_COMPLETE_COMMAND,       /* command names (help COMMAND) */
};

struct cmd_args {
        int npos;
        char *pos[CMD_MAX_POS];
        bool set[CMD_MAX_OPTS];
        const char *val[CMD_MAX_OPTS];
        bool help;
};

struct cmd_ctx {
        struct client *client;      /* NULL until a command needs the network */
        const struct raftctl_options *opts;
        enum out_format format;
        FILE *out;
        FILE *err;
        FILE *in;                   /* for VALUE "-"; NULL inside the shell */
        bool in_shell;
        bool quit;                  /* set by exit/quit */
        /* The shell's prompt source: set by commands that learn the node's state. */
        char errmsg[1024];          /* one line, printed by the dispatcher */
};

struct command {
        const char *name;           /* "status", "member add" */
        const char *args;           /* "KEY VALUE", "" */
        const char *summary;        /* one line */
        const char *help;           /* paragraphs, may be NULL */
        const struct cmd_opt *opts; /* NULL-terminated by name, or NULL */
        int min_pos, max_pos;
        enum cmd_complete complete;
        bool shell_only, oneshot_only;
        int (*run)(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
};

const struct command *commands_table(size_t *ret_n);

/* The command named by the first words of argv ("member add"): *ret_words is how many
 * words the name took. NULL when none matches (*ret_words 0), or when argv[0] is a group
 * ("member") with a missing or unknown sub-command (*ret_words 1). */
const struct command *command_find(int argc, char *const *argv, int *ret_words);

/* The closest command name (first word) to word within edit distance 2, written into buf
 * and returned; NULL when none is that close. */
const char *command_suggest(const char *word, char *buf, size_t len);

/* Parse the words after the command's name. -EINVAL with a reason in err. */
int cmd_args_parse(const struct command *cmd, int argc, char *const *argv, struct cmd_args *a,
                   char *err, size_t errlen);
/* Index of option name in cmd->opts, -1 if absent. */
int cmd_opt_index(const struct command *cmd, const char *name);

/* Run argv (command words first). Returns the exit code; failures are printed on ctx->err
 * as one line "raftctl: ...". */
int commands_run(struct cmd_ctx *ctx, int argc, char **argv);

void commands_print_usage(FILE *f, bool in_shell);
void command_print_help(FILE *f, const struct command *cmd);

/* The handlers (cmd_admin.c, cmd_kv.c, cmd_member.c, commands.c). */
int cmd_status(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
int cmd_leader(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
int cmd_members(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
int cmd_log(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
int cmd_put(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
int cmd_get(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
int cmd_delete(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
int cmd_cas(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
int cmd_range(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);
int cmd_admin_mutation(struct cmd_ctx *ctx, const struct command *cmd,
                       const struct cmd_args *a);
/* cli/bench.c: "bench put" and "bench get" (--clients, --count, --value-size). */
int cmd_bench(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a);

struct out_doc;
/* Print d in ctx's format and clear it; r is the result of filling it (negative: failed). */
int cmd_emit(struct cmd_ctx *ctx, struct out_doc *d, int r);
/* A decimal unsigned argument, or RAFTCTL_EXIT_USAGE with a reason. */
int cmd_u64_arg(struct cmd_ctx *ctx, const char *what, const char *s, uint64_t *ret);

/* Report a client failure in ctx->errmsg and return its exit code. */
int cmd_fail_client(struct cmd_ctx *ctx, const char *what);
