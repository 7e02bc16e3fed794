/* cli/cmd_admin.c: the operator commands: status, leader, members, log, and the admin
 * mutations (member add/remove/promote, transfer-leader, snapshot).
 *
 * Owns: which Admin RPCs each command makes, how their outcome maps to an exit code, and the
 * output of the mutations. Must never resend a mutation to another endpoint after one
 * answered it (client_call moves on only while no endpoint answers).
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

/* transfer-leader: one row NEW_LEADER PREVIOUS TERM; JSON {leader_id, previous_leader_id,
 * term}. */
static int format_transfer(struct out_doc *d, const Rafktor__V1__TransferLeaderResponse *t)
{
        static const char *const cols[] = { "LEADER", "PREVIOUS", "TERM" };
        uint64_t term = t->header ? t->header->term : 0;
        char buf[24];
        const char *cells[3] = { t->leader_id, t->previous_leader_id, buf };
        int r = out_doc_init(d, 3, cols, false);

        if (r < 0)
                return r;
        snprintf(buf, sizeof(buf), "%" PRIu64, term);
        if (out_json_str(d->json, "leader_id", t->leader_id) < 0 ||
            out_json_str(d->json, "previous_leader_id", t->previous_leader_id) < 0 ||
            out_json_u64(d->json, "term", term) < 0)
                return -ENOMEM;
        return out_doc_add_row(d, cells);
}

/* snapshot: one row INDEX TERM BYTES; JSON {index, term, size_bytes}. */
static int format_snapshot(struct out_doc *d, const Rafktor__V1__SnapshotResponse *s)
{
        static const char *const cols[] = { "INDEX", "TERM", "BYTES" };
        char idx[24], term[24], size[24];
        const char *cells[3] = { idx, term, size };
        int r = out_doc_init(d, 3, cols, false);

        if (r < 0)
                return r;
        snprintf(idx, sizeof(idx), "%" PRIu64, s->index);
        snprintf(term, sizeof(term), "%" PRIu64, s->term);
        snprintf(size, sizeof(size), "%" PRIu64, s->size_bytes);
        if (out_json_u64(d->json, "index", s->index) < 0 ||
            out_json_u64(d->json, "term", s->term) < 0 ||
            out_json_u64(d->json, "size_bytes", s->size_bytes) < 0)
                return -ENOMEM;
        return out_doc_add_row(d, cells);
}

/* The admin mutations (rafktor.proto: local admin socket only). Sent once, to the endpoints
 * in turn only while none answers (client_call); the daemon's refusal is reported with its
 * sentence: UNIMPLEMENTED exits RAFTCTL_EXIT_UNSUPPORTED (7), PERMISSION_DENIED
 * RAFTCTL_EXIT_PERMISSION_DENIED (9), a node that is not the leader (FAILED_PRECONDITION)
 * or a transfer that did not happen (ABORTED) RAFTCTL_EXIT_FAILURE. Success prints the
 * configuration after a membership change, the new leader, or the snapshot taken. */
int cmd_admin_mutation(struct cmd_ctx *ctx, const struct command *cmd,
                       const struct cmd_args *a)
{
        Rafktor__V1__AddMemberRequest add = RAFKTOR__V1__ADD_MEMBER_REQUEST__INIT;
        Rafktor__V1__RemoveMemberRequest rm = RAFKTOR__V1__REMOVE_MEMBER_REQUEST__INIT;
        Rafktor__V1__PromoteMemberRequest pr = RAFKTOR__V1__PROMOTE_MEMBER_REQUEST__INIT;
        Rafktor__V1__TransferLeaderRequest tl = RAFKTOR__V1__TRANSFER_LEADER_REQUEST__INIT;
        Rafktor__V1__SnapshotRequest snap = RAFKTOR__V1__SNAPSHOT_REQUEST__INIT;
        /* The three membership responses share MembersResponse's fields and numbers. */
        const ProtobufCMessageDescriptor *out = &rafktor__v1__members_response__descriptor;
        const char *method = admin_method(cmd->name);
        const ProtobufCMessage *req = &snap.base;
        ProtobufCMessage *resp;
        struct out_doc d = { 0 };
        int r;

        if (strcmp(cmd->name, "member add") == 0) {
                add.id = a->pos[0];
                add.address = a->pos[1];
                add.voter = a->set[cmd_opt_index(cmd, "--voter")];
                if (add.voter && a->set[cmd_opt_index(cmd, "--learner")]) {
                        snprintf(ctx->errmsg, sizeof(ctx->errmsg),
                                 "member add: give --learner or --voter, not both");
                        return RAFTCTL_EXIT_USAGE;
                }
                req = &add.base;
        } else if (strcmp(cmd->name, "member remove") == 0) {
                rm.id = a->pos[0];
                req = &rm.base;
        } else if (strcmp(cmd->name, "member promote") == 0) {
                pr.id = a->pos[0];
                req = &pr.base;
        } else if (strcmp(cmd->name, "transfer-leader") == 0) {
                tl.id = a->npos > 0 ? a->pos[0] : (char *)"";
                req = &tl.base;
                out = &rafktor__v1__transfer_leader_response__descriptor;
        } else {
                out = &rafktor__v1__snapshot_response__descriptor;
        }
        r = client_call(ctx->client, method, req, out, &resp);
        if (r) {
                /* "member add: ENDPOINT: permission denied: <the daemon's sentence>" */
                r = cmd_fail_client(ctx, cmd->name);
                if (client_error(ctx->client)->code == GRPC_STATUS_FAILED_PRECONDITION)
                        r = RAFTCTL_EXIT_FAILURE;       /* not "compare failed" here */
                return r;
        }
        if (out == &rafktor__v1__transfer_leader_response__descriptor)
                r = format_transfer(&d, (const Rafktor__V1__TransferLeaderResponse *)resp);
        else if (out == &rafktor__v1__snapshot_response__descriptor)
                r = format_snapshot(&d, (const Rafktor__V1__SnapshotResponse *)resp);
        else
                r = format_members(&d, (const Rafktor__V1__MembersResponse *)resp);
        r = cmd_emit(ctx, &d, r);
        protobuf_c_message_free_unpacked(resp, NULL);
        return r;
}
