/* cli/cmd_admin.c: the operator commands: status, leader, members, log, and the membership
 * and snapshot commands that wait for the daemon to implement them.
 *
 * Owns: which Admin RPCs each command makes and how their outcome maps to an exit code.
 * Must never send a request the daemon could act on wrongly: the not-yet-defined RPCs are
 * only probed with a body no server can decode (see cmd_unsupported).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"

#define ADMIN(m) "/rafktor.v1.Admin/" m

struct status_rows {
        size_t n;
        char **endpoints;
        Rafktor__V1__StatusResponse **resp;     /* NULL: failed, see errors */
        char **errors;
        int first_failure;
        size_t n_failed;
};

static void rows_clear(struct status_rows *s)
{
        for (size_t i = 0; i < s->n; i++) {
                if (s->resp[i])
                        rafktor__v1__status_response__free_unpacked(s->resp[i], NULL);
                free(s->errors[i]);
                free(s->endpoints[i]);
        }
        free(s->resp);
        free(s->errors);
        free(s->endpoints);
}

/* Ask Status of every endpoint of client c, one row each. */
static int rows_collect(struct status_rows *s, struct client *c)
{
        Rafktor__V1__StatusRequest req = RAFKTOR__V1__STATUS_REQUEST__INIT;

        memset(s, 0, sizeof(*s));
        s->n = client_n_endpoints(c);
        s->resp = calloc(s->n, sizeof(*s->resp));
        s->errors = calloc(s->n, sizeof(*s->errors));
        s->endpoints = calloc(s->n, sizeof(*s->endpoints));
        if (!s->resp || !s->errors || !s->endpoints)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++) {
                int r = client_call_at(c, i, ADMIN("Status"), &req.base, NULL, 0,
                                       &rafktor__v1__status_response__descriptor,
                                       client_timeout(c), (ProtobufCMessage **)&s->resp[i]);

                s->endpoints[i] = strdup(client_endpoint(c, i));
                if (!s->endpoints[i])
                        return -ENOMEM;
                if (r) {
                        const struct client_error *e = client_error(c);
                        const char *msg = strchr(e->message, ' ');

                        /* e->message is "ENDPOINT: reason"; the row already names it. */
                        s->errors[i] = strdup(msg ? msg + 1 : e->message);
                        if (!s->errors[i])
                                return -ENOMEM;
                        if (!s->first_failure)
                                s->first_failure = r;
                        s->n_failed++;
                }
        }
        return 0;
}

/* The replication lag of node id as the leader among the rows sees it. */
static uint64_t lag_of(const struct status_rows *s, const char *id)
{
        for (size_t i = 0; i < s->n; i++) {
                const Rafktor__V1__StatusResponse *l = s->resp[i];

                if (!l || l->role != RAFKTOR__V1__ROLE__ROLE_LEADER)
                        continue;
                if (strcmp(l->id, id) == 0)
                        return 0;
                for (size_t p = 0; p < l->n_peers; p++)
                        if (strcmp(l->peers[p]->id, id) == 0)
                                return l->last_index > l->peers[p]->match_index ?
                                       l->last_index - l->peers[p]->match_index : 0;
        }
        return FORMAT_LAG_UNKNOWN;
}

/* --all: the members the first answering endpoint knows, as a client of their addresses. */
static struct client *members_client(struct cmd_ctx *ctx)
{
        Rafktor__V1__MembersRequest req = RAFKTOR__V1__MEMBERS_REQUEST__INIT;
        Rafktor__V1__MembersResponse *m;
        struct client *c = NULL;
        char **addrs;

        if (client_call(ctx->client, ADMIN("Members"), &req.base,
                        &rafktor__v1__members_response__descriptor, (ProtobufCMessage **)&m))
                return NULL;
        addrs = calloc(m->n_members ? m->n_members : 1, sizeof(*addrs));
        if (addrs) {
                for (size_t i = 0; i < m->n_members; i++)
                        addrs[i] = m->members[i]->address;
                if (m->n_members)
                        c = client_new(addrs, m->n_members, client_timeout(ctx->client));
        }
        if (!c)
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "status --all: %s",
                         m->n_members ? "out of memory" : "the node knows no members");
        free(addrs);
        rafktor__v1__members_response__free_unpacked(m, NULL);
        return c;
}

int cmd_status(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        struct client *c = ctx->client;
        struct status_rows rows;
        struct out_doc d = { 0 };
        int r;

        if (a->set[cmd_opt_index(cmd, "--all")]) {
                c = members_client(ctx);
                if (!c)
                        return ctx->errmsg[0] ? RAFTCTL_EXIT_FAILURE :
                               cmd_fail_client(ctx, "status --all");
        }
        r = rows_collect(&rows, c);
        if (r == 0)
                r = format_status_init(&d);
        for (size_t i = 0; r == 0 && i < rows.n; i++)
                r = format_status_row(&d, rows.endpoints[i], rows.resp[i],
                                      rows.resp[i] ? lag_of(&rows, rows.resp[i]->id) :
                                      FORMAT_LAG_UNKNOWN, rows.errors[i]);
        r = cmd_emit(ctx, &d, r);
        if (r == RAFTCTL_EXIT_OK && rows.first_failure) {
                r = rows.first_failure;
                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                         "status: %zu of %zu node%s did not answer", rows.n_failed, rows.n,
                         rows.n == 1 ? "" : "s");
        }
        rows_clear(&rows);
        if (c != ctx->client)
                client_free(c);
        return r;
}

int cmd_leader(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        Rafktor__V1__LeaderRequest req = RAFKTOR__V1__LEADER_REQUEST__INIT;
        Rafktor__V1__LeaderResponse *resp;
        struct out_doc d = { 0 };
        int r;

        r = client_call(ctx->client, ADMIN("Leader"), &req.base,
                        &rafktor__v1__leader_response__descriptor, (ProtobufCMessage **)&resp);
        if (r)
                return cmd_fail_client(ctx, "leader");
        if (!resp->leader_id || !*resp->leader_id) {
                snprintf(ctx->errmsg, sizeof(ctx->errmsg), "leader: %s knows no leader",
                         client_endpoint(ctx->client, client_current(ctx->client)));
                r = RAFTCTL_EXIT_NO_LEADER;
        } else {
                r = cmd_emit(ctx, &d, format_leader(&d, resp));
        }
        rafktor__v1__leader_response__free_unpacked(resp, NULL);
        return r;
}

int cmd_members(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        Rafktor__V1__MembersRequest req = RAFKTOR__V1__MEMBERS_REQUEST__INIT;
        Rafktor__V1__MembersResponse *resp;
        struct out_doc d = { 0 };
        int r;

        r = client_call(ctx->client, ADMIN("Members"), &req.base,
                        &rafktor__v1__members_response__descriptor, (ProtobufCMessage **)&resp);
        if (r)
                return cmd_fail_client(ctx, "members");
        r = cmd_emit(ctx, &d, format_members(&d, resp));
        rafktor__v1__members_response__free_unpacked(resp, NULL);
        return r;
}

int cmd_log(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        Rafktor__V1__ReadLogRequest req = RAFKTOR__V1__READ_LOG_REQUEST__INIT;
        Rafktor__V1__ReadLogResponse *resp;
        struct out_doc d = { 0 };
        int r;

        if (a->npos > 0 && (r = cmd_u64_arg(ctx, "log FROM", a->pos[0], &req.from_index)))
                return r;
        if (a->npos > 1 && (r = cmd_u64_arg(ctx, "log COUNT", a->pos[1], &req.count)))
                return r;
        r = client_call(ctx->client, ADMIN("ReadLog"), &req.base,
                        &rafktor__v1__read_log_response__descriptor,
                        (ProtobufCMessage **)&resp);
        if (r)
                return cmd_fail_client(ctx, "log");
        r = cmd_emit(ctx, &d, format_log(&d, resp));
        rafktor__v1__read_log_response__free_unpacked(resp, NULL);
        return r;
}

static const char *admin_method(const char *name)
{
        if (strcmp(name, "member add") == 0)
                return ADMIN("AddMember");
        if (strcmp(name, "member remove") == 0)
                return ADMIN("RemoveMember");
        if (strcmp(name, "member promote") == 0)
                return ADMIN("PromoteMember");
        if (strcmp(name, "transfer-leader") == 0)
                return ADMIN("TransferLeader");
        return ADMIN("Snapshot");
}

/* rafktor.proto has no request messages for these RPCs yet (the snapshot/membership issue,
 * issue 7, adds them). raftctl still asks the daemon, at the method's path, with one byte
 * (0xff: a truncated varint tag) that no protobuf decoder accepts: a daemon without the RPC
 * answers UNIMPLEMENTED, one with it answers INVALID_ARGUMENT and does nothing. Either way
 * the operation did not happen and raftctl exits RAFTCTL_EXIT_UNSUPPORTED. */
int cmd_unsupported(struct cmd_ctx *ctx, const struct command *cmd, const struct cmd_args *a)
{
        static const uint8_t undecodable = 0xff;
        const char *method = admin_method(cmd->name);
        struct client *c = ctx->client;
        ProtobufCMessage *resp;
        int r = RAFTCTL_EXIT_UNREACHABLE;

        for (size_t k = 0; k < client_n_endpoints(c); k++) {
                size_t i = (client_current(c) + k) % client_n_endpoints(c);

                r = client_call_at(c, i, method, NULL, &undecodable, 1,
                                   &rafktor__v1__status_response__descriptor,
                                   client_timeout(c), &resp);
                if (resp)
                        protobuf_c_message_free_unpacked(resp, NULL);
                if (r != RAFTCTL_EXIT_UNREACHABLE && r != RAFTCTL_EXIT_TIMEOUT &&
                    r != RAFTCTL_EXIT_NO_LEADER)
                        break;
        }
        if (r == RAFTCTL_EXIT_UNREACHABLE || r == RAFTCTL_EXIT_TIMEOUT ||
            r == RAFTCTL_EXIT_NO_LEADER)
                return cmd_fail_client(ctx, cmd->name);
        if (r == RAFTCTL_EXIT_UNSUPPORTED)
                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                         "%s: not supported by this daemon yet (%s answered UNIMPLEMENTED; "
                         "issue 7)", cmd->name, client_error(c)->endpoint);
        else
                snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                         "%s: not supported by this raftctl yet: the daemon serves %s but its "
                         "request format is not in rafktor.proto (issue 7)", cmd->name, method);
        return RAFTCTL_EXIT_UNSUPPORTED;
}
