/* cli/main.c: raftctl's entry point: global options, then one command or the shell.
 *
 * Owns: the process: argv, environment, gRPC start and stop, the exit code. Must never
 * implement a command: the table in commands.c does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/options.h"
#include "cli/rpc.h"
#include "cli/shell.h"

int main(int argc, char **argv)
{
        struct raftctl_options opts;
        struct cmd_ctx ctx = { 0 };
        char err[512];
        char **rest;
        int nrest, r;

        options_init(&opts);
        rest = calloc((size_t)argc + 1, sizeof(*rest));
        if (!rest) {
                fprintf(stderr, "raftctl: out of memory\n");
                return RAFTCTL_EXIT_FAILURE;
        }
        if (options_extract(&opts, argc - 1, argv + 1, &nrest, rest, err, sizeof(err)) < 0 ||
            options_finish(&opts, getenv("RAFTCTL_ENDPOINTS"), err, sizeof(err)) < 0) {
                fprintf(stderr, "raftctl: %s (see raftctl --help)\n", err);
                r = RAFTCTL_EXIT_USAGE;
                goto out;
        }
        if (opts.version) {
                printf("raftctl %s\n", PACKAGE_VERSION);
                r = RAFTCTL_EXIT_OK;
                goto out;
        }
        if (opts.help) {
                commands_print_usage(stdout, false);
                r = RAFTCTL_EXIT_OK;
                goto out;
        }

        rpc_global_init();
        ctx.client = client_new(opts.endpoints, opts.n_endpoints, opts.timeout_ms);
        if (!ctx.client) {
                fprintf(stderr, "raftctl: cannot set up the client (out of memory or no "
                        "randomness for the session id)\n");
                r = RAFTCTL_EXIT_FAILURE;
                goto out_grpc;
        }
        ctx.opts = &opts;
        ctx.format = opts.format;
        ctx.out = stdout;
        ctx.err = stderr;
        ctx.in = stdin;

        if (nrest == 0 || (nrest == 1 && strcmp(rest[0], "shell") == 0)) {
                ctx.in_shell = true;
                ctx.in = NULL;
                r = shell_run(&ctx);
        } else {
                r = commands_run(&ctx, nrest, rest);
        }
        client_free(ctx.client);
out_grpc:
        rpc_global_shutdown();
out:
        options_clear(&opts);
        free(rest);
        if (fflush(stdout) != 0 && r == RAFTCTL_EXIT_OK)
                r = RAFTCTL_EXIT_FAILURE;
        return r;
}
