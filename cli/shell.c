/* cli/shell.c: the interactive shell (libedit) and the script mode (stdin not a terminal).
 *
 * Owns: the loop, the prompt ("n1 (leader, term 7)> ", refreshed after each command), the
 * history file ($XDG_STATE_HOME or ~/.local/state, raftctl/history) and the libedit
 * completion hook. Must never let a command's failure end the loop.
 *
 * libedit's readline interface takes plain function pointers without a user argument, so
 * the completion hook finds the shell's context through one file-scope pointer, set while
 * shell_run() runs (raftctl has one shell per process).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli/complete.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/shell.h"
#include "cli/tokenize.h"

#define HISTORY_LINES 1000
#define PROMPT_TIMEOUT_MS 1000

static struct cmd_ctx *completion_ctx;
static char **completion_list;

/* ctrl-c: abandon the line being edited, never the shell. The handler runs on whichever
 * thread the kernel picked (gRPC has its own); it passes the signal on to the shell's thread
 * so that libedit's read() there is interrupted. */
static volatile sig_atomic_t interrupted;
static pthread_t shell_thread;

static void on_sigint(int sig)
{
        interrupted = 1;
        if (!pthread_equal(pthread_self(), shell_thread))
                pthread_kill(shell_thread, sig);
}

/* mkdir -p for the history directory. */
static int mkdir_parents(char *path)
{
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(path, 0700) < 0 && errno != EEXIST) {
                        *p = '/';
                        return -errno;
                }
                *p = '/';
        }
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* $XDG_STATE_HOME/raftctl/history, else ~/.local/state/raftctl/history; NULL if no home. */
static char *history_path(void)
{
        const char *state = getenv("XDG_STATE_HOME");
        const char *home = getenv("HOME");
        char *dir = NULL, *file = NULL;

        if (state && state[0] == '/') {
                if (asprintf(&dir, "%s/raftctl", state) < 0)
                        return NULL;
        } else if (home && *home) {
                if (asprintf(&dir, "%s/.local/state/raftctl", home) < 0)
                        return NULL;
        } else {
                return NULL;
        }
        if (mkdir_parents(dir) < 0) {
                fprintf(stderr, "raftctl: cannot create %s (%s): history not kept\n", dir,
                        strerror(errno));
                free(dir);
                return NULL;
        }
        if (asprintf(&file, "%s/history", dir) < 0)
                file = NULL;
        free(dir);
        return file;
}

static void make_prompt(struct cmd_ctx *ctx, char *buf, size_t len)
{
        Rafktor__V1__StatusRequest req = RAFKTOR__V1__STATUS_REQUEST__INIT;
        Rafktor__V1__StatusResponse *s;
        struct client *c = ctx->client;
        int64_t t = client_timeout(c);
        int r;

        r = client_call_at(c, client_current(c), "/rafktor.v1.Admin/Status", &req.base, NULL,
                           0, &rafktor__v1__status_response__descriptor,
                           t < PROMPT_TIMEOUT_MS ? t : PROMPT_TIMEOUT_MS,
                           (ProtobufCMessage **)&s);
        if (r) {
                snprintf(buf, len, "raftctl (%s)> ", r == RAFTCTL_EXIT_UNREACHABLE ?
                         "unreachable" : "no answer");
                return;
        }
        snprintf(buf, len, "%s (%s, term %llu)> ", *s->id ? s->id : "?", format_role(s->role),
                 (unsigned long long)s->term);
        rafktor__v1__status_response__free_unpacked(s, NULL);
}

static char *completion_generator(const char *text, int state)
{
        static size_t next;

        (void)text;
        if (state == 0)
                next = 0;
        if (!completion_list || !completion_list[next])
                return NULL;
        return strdup(completion_list[next++]);
}

static char **attempt_completion(const char *text, int start, int end)
{
        char *before = strndup(rl_line_buffer, (size_t)start);

        (void)end;
        rl_attempted_completion_over = 1;       /* never fall back to file names */
        complete_free(completion_list);
        completion_list = NULL;
        if (!before)
                return NULL;
        if (complete_candidates(completion_ctx, before, text, &completion_list) < 0)
                completion_list = NULL;
        free(before);
        if (!completion_list)
                return NULL;
        return rl_completion_matches(text, completion_generator);
}

/* One line: words, per-line options (-w, --json, --timeout, -e), then the command. */
static int run_line(struct cmd_ctx *ctx, const char *line)
{
        struct raftctl_options lo;
        struct cmd_ctx lc = *ctx;
        struct client *tmp = NULL;
        char err[512];
        char **w, **rest;
        int nw, nrest, r;

        if (tokenize(line, &nw, &w, err, sizeof(err)) < 0) {
                fprintf(ctx->err, "raftctl: %s\n", err);
                return RAFTCTL_EXIT_USAGE;
        }
        if (nw == 0 || w[0][0] == '#') {
                tokenize_free(w);
                return -1;      /* nothing ran */
        }
        options_init(&lo);
        lo.format = ctx->format;
        lo.timeout_ms = client_timeout(ctx->client);
        rest = calloc((size_t)nw + 1, sizeof(*rest));
        if (!rest) {
                r = RAFTCTL_EXIT_FAILURE;
                fprintf(ctx->err, "raftctl: out of memory\n");
                goto out;
        }
        if (options_extract(&lo, nw, w, &nrest, rest, err, sizeof(err)) < 0) {
                fprintf(ctx->err, "raftctl: %s\n", err);
                r = RAFTCTL_EXIT_USAGE;
                goto out;
        }
        if (lo.help && nrest == 0) {
                commands_print_usage(ctx->out, true);
                r = RAFTCTL_EXIT_OK;
                goto out;
        }
        lc.format = lo.format;
        if (lo.n_endpoints) {
                tmp = client_new(lo.endpoints, lo.n_endpoints, lo.timeout_ms);
                if (!tmp) {
                        fprintf(ctx->err, "raftctl: cannot set up a client for -e\n");
                        r = RAFTCTL_EXIT_FAILURE;
                        goto out;
                }
                lc.client = tmp;
        }
        if (nrest == 0) {
                fprintf(ctx->err, "raftctl: options without a command\n");
                r = RAFTCTL_EXIT_USAGE;
                goto out;
        }
        {
                int64_t saved = client_timeout(lc.client);

                client_set_timeout(lc.client, lo.timeout_ms);
                r = commands_run(&lc, nrest, rest);
                client_set_timeout(lc.client, saved);
        }
        ctx->quit = lc.quit;
out:
        client_free(tmp);
        options_clear(&lo);
        free(rest);
        tokenize_free(w);
        return r;
}

static int script_loop(struct cmd_ctx *ctx)
{
        char *line = NULL;
        size_t cap = 0;
        int failed = 0;

        while (!ctx->quit && getline(&line, &cap, stdin) >= 0) {
                int r = run_line(ctx, line);

                if (r > 0)
                        failed = r;
        }
        free(line);
        return failed;
}

static int interactive_loop(struct cmd_ctx *ctx)
{
        struct sigaction sa = { .sa_handler = on_sigint }, old_sa;
        char *hist = history_path();
        char prompt[256];
        int failed = 0;

        shell_thread = pthread_self();
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_sa);        /* no SA_RESTART: reads see EINTR */

        rl_readline_name = "raftctl";
        rl_attempted_completion_function = attempt_completion;
        completion_ctx = ctx;
        using_history();
        stifle_history(HISTORY_LINES);
        if (hist)
                read_history(hist);     /* a missing file is the first run */

        while (!ctx->quit) {
                char *line;
                int r;

                make_prompt(ctx, prompt, sizeof(prompt));
                interrupted = 0;
                line = readline(prompt);
                if (interrupted) {      /* ctrl-c: drop the line, prompt again */
                        free(line);
                        fputs("^C\n", ctx->out);
                        continue;
                }
                if (!line) {            /* ctrl-d */
                        fputc('\n', ctx->out);
                        break;
                }
                if (line[strspn(line, " \t")] != '\0') {
                        add_history(line);
                        if (hist && write_history(hist) != 0)
                                fprintf(ctx->err, "raftctl: cannot write history %s\n", hist);
                }
                r = run_line(ctx, line);
                if (r > 0)
                        failed = r;
                free(line);
        }
        sigaction(SIGINT, &old_sa, NULL);
        completion_ctx = NULL;
        complete_free(completion_list);
        completion_list = NULL;
        free(hist);
        return failed;
}

int shell_run(struct cmd_ctx *ctx)
{
        if (!isatty(STDIN_FILENO))
                return script_loop(ctx);
        return interactive_loop(ctx);
}
