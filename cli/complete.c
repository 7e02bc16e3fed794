/* cli/complete.c: TAB completion candidates for raftctl's shell.
 *
 * Owns: the completion grammar (command, sub-command, options, option values, member ids).
 * Must never fail the shell: a node that does not answer just offers no member ids.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/complete.h"
#include "cli/tokenize.h"

#define ADMIN_MEMBERS "/rafktor.v1.Admin/Members"
#define COMPLETE_TIMEOUT_MS 1000

struct list {
        char **v;
        size_t n;
        bool oom;
};

static void add(struct list *l, const char *text, const char *s, size_t len)
{
        char **n;

        if (l->oom || strlen(text) > len || strncmp(s, text, strlen(text)) != 0)
                return;
        for (size_t i = 0; i < l->n; i++)
                if (strlen(l->v[i]) == len && strncmp(l->v[i], s, len) == 0)
                        return;
        n = realloc(l->v, (l->n + 2) * sizeof(*n));
        if (!n) {
                l->oom = true;
                return;
        }
        l->v = n;
        l->v[l->n] = strndup(s, len);
        if (!l->v[l->n]) {
                l->oom = true;
                return;
        }
        l->v[++l->n] = NULL;
}

static void add_str(struct list *l, const char *text, const char *s)
{
        add(l, text, s, strlen(s));
}

void complete_free(char **list)
{
        tokenize_free(list);
}

static void add_commands(struct list *l, const char *text, bool in_shell)
{
        size_t n;
        const struct command *t = commands_table(&n);

        for (size_t i = 0; i < n; i++) {
                const char *sp = strchr(t[i].name, ' ');

                if ((in_shell && t[i].oneshot_only) || (!in_shell && t[i].shell_only))
                        continue;
                add(l, text, t[i].name, sp ? (size_t)(sp - t[i].name) : strlen(t[i].name));
        }
}

static void add_subcommands(struct list *l, const char *text, const char *group)
{
        size_t n, gl = strlen(group);
        const struct command *t = commands_table(&n);

        for (size_t i = 0; i < n; i++)
                if (strncmp(t[i].name, group, gl) == 0 && t[i].name[gl] == ' ')
                        add_str(l, text, t[i].name + gl + 1);
}

static void add_options(struct list *l, const char *text, const struct command *cmd)
{
        static const char *const global[] = {
                "--json", "--write-out", "--timeout", "--endpoints", "--help",
        };

        for (int i = 0; cmd && cmd->opts && cmd->opts[i].name; i++)
                add_str(l, text, cmd->opts[i].name);
        for (size_t i = 0; i < sizeof(global) / sizeof(global[0]); i++)
                add_str(l, text, global[i]);
}

static void add_members(struct list *l, const char *text, struct cmd_ctx *ctx)
{
        Rafktor__V1__MembersRequest req = RAFKTOR__V1__MEMBERS_REQUEST__INIT;
        Rafktor__V1__MembersResponse *m;
        struct client *c = ctx ? ctx->client : NULL;
        int64_t saved;
        int r;

        if (!c)
                return;
        saved = client_timeout(c);
        client_set_timeout(c, saved < COMPLETE_TIMEOUT_MS ? saved : COMPLETE_TIMEOUT_MS);
        r = client_call(c, ADMIN_MEMBERS, &req.base, &rafktor__v1__members_response__descriptor,
                        (ProtobufCMessage **)&m);
        client_set_timeout(c, saved);
        if (r)
                return;
        for (size_t i = 0; i < m->n_members; i++)
                add_str(l, text, m->members[i]->id);
        rafktor__v1__members_response__free_unpacked(m, NULL);
}

static int cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int complete_candidates(struct cmd_ctx *ctx, const char *before, const char *text,
                        char ***ret)
{
        struct list l = { 0 };
        const struct command *cmd;
        char err[64];
        char **w;
        int nw, words;
        bool in_shell = ctx ? ctx->in_shell : true;

        *ret = NULL;
        if (tokenize(before, &nw, &w, err, sizeof(err)) < 0)
                return 0;       /* inside an open quote: nothing to offer */

        if (nw == 0) {
                add_commands(&l, text, in_shell);
        } else if (nw >= 1 && strcmp(w[nw - 1], "-w") == 0) {
                add_str(&l, text, "table");
                add_str(&l, text, "json");
                add_str(&l, text, "plain");
        } else if (nw >= 1 && strcmp(w[nw - 1], "--write-out") == 0) {
                add_str(&l, text, "table");
                add_str(&l, text, "json");
                add_str(&l, text, "plain");
        } else if (strcmp(w[0], "help") == 0) {
                if (nw == 1)
                        add_commands(&l, text, in_shell);
                else if (nw == 2)
                        add_subcommands(&l, text, w[1]);
        } else {
                cmd = command_find(nw, w, &words);
                if (!cmd && words == 1 && nw == 1) {
                        add_subcommands(&l, text, w[0]);
                } else if (cmd && text[0] == '-') {
                        add_options(&l, text, cmd);
                } else if (cmd && cmd->complete == CMD_COMPLETE_MEMBER) {
                        add_members(&l, text, ctx);
                }
        }
        tokenize_free(w);
        if (l.oom) {
                complete_free(l.v);
                return -ENOMEM;
        }
        if (l.n)
                qsort(l.v, l.n, sizeof(*l.v), cmp);
        *ret = l.v;
        return 0;
}
