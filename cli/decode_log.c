/* cli/decode_log.c: log entries (index, term, type, data) as text and JSON.
 *
 * Owns: how `raftctl log` names and shows each kind of entry. Must never trust the data: a
 * command that does not unpack or a configuration that does not decode is shown as
 * undecodable, never crashes or prints raw bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/decode_log.h"
#include "cli/output.h"
#include "daemon/raft/raft.h"
#include "raft.pb-c.h"

const char *log_entry_type_name(uint32_t type)
{
        switch (type) {
        case RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_COMMAND:
                return "command";
        case RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_NOOP:
                return "noop";
        case RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_ADD_PEER_DEPRECATED:
                return "add-peer";
        case RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_REMOVE_PEER_DEPRECATED:
                return "remove-peer";
        case RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_BARRIER:
                return "barrier";
        case RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_CONFIGURATION:
                return "configuration";
        default:
                return NULL;
        }
}

/* A growing string. */
struct sbuf {
        char *s;
        size_t len;
        bool oom;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
        va_list ap;
        char *add;
        int n;

        if (b->oom)
                return;
        va_start(ap, fmt);
        n = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->oom = true;
                return;
        }
        char *s = realloc(b->s, b->len + (size_t)n + 1);

        if (!s) {
                free(add);
                b->oom = true;
                return;
        }
        memcpy(s + b->len, add, (size_t)n + 1);
        b->s = s;
        b->len += (size_t)n;
        free(add);
}

static void sb_bytes(struct sbuf *b, const ProtobufCBinaryData *d)
{
        char *e = out_escape(d->data, d->len);

        if (!e) {
                b->oom = true;
                return;
        }
        sb_printf(b, "%s", e);
        free(e);
}

/* The write's session: the Command's, else the one inside the operation (the daemon keeps
 * the request as the client sent it, session included). NULL when there is none. */
static const Rafktor__V1__RequestSession *command_session(const Rafktor__V1__Command *c)
{
        const Rafktor__V1__RequestSession *s = c->session;

        if (!s || !s->client_id) {
                switch (c->op_case) {
                case RAFKTOR__V1__COMMAND__OP_PUT:
                        s = c->put->session;
                        break;
                case RAFKTOR__V1__COMMAND__OP_DELETE:
                        s = c->delete_->session;
                        break;
                case RAFKTOR__V1__COMMAND__OP_CAS:
                        s = c->cas->session;
                        break;
                default:
                        break;
                }
        }
        return s && s->client_id ? s : NULL;
}

static void describe_command(struct sbuf *b, const Rafktor__V1__Command *c)
{
        const Rafktor__V1__RequestSession *session = command_session(c);
        const Rafktor__V1__CompareAndSwapRequest *cas;

        switch (c->op_case) {
        case RAFKTOR__V1__COMMAND__OP_PUT:
                sb_printf(b, "put ");
                sb_bytes(b, &c->put->key);
                sb_printf(b, "=");
                sb_bytes(b, &c->put->value);
                break;
        case RAFKTOR__V1__COMMAND__OP_DELETE:
                sb_printf(b, "delete ");
                sb_bytes(b, &c->delete_->key);
                break;
        case RAFKTOR__V1__COMMAND__OP_CAS:
                cas = c->cas;
                sb_printf(b, "cas ");
                sb_bytes(b, &cas->key);
                if (cas->compare_case ==
                    RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VERSION) {
                        sb_printf(b, " if version=%" PRIu64, cas->compare_version);
                } else {
                        sb_printf(b, " if value=");
                        sb_bytes(b, &cas->compare_value);
                }
                sb_printf(b, " then ");
                sb_bytes(b, &cas->new_value);
                break;
        default:
                sb_printf(b, "empty command");
                break;
        }
        if (session)
                sb_printf(b, " [client %016" PRIx64 " request %" PRIu64 "]",
                          session->client_id, session->request_id);
}

static void describe_config(struct sbuf *b, const struct raft_config *cfg)
{
        sb_printf(b, "configuration");
        for (size_t i = 0; i < cfg->n; i++)
                sb_printf(b, "%s %s=%s (%s)", i ? "," : "", cfg->servers[i].id,
                          cfg->servers[i].address, cfg->servers[i].voter ? "voter" : "learner");
}

int log_entry_describe(const Rafktor__V1__LogEntryView *e, char **ret)
{
        struct sbuf b = { 0 };
        const char *name = log_entry_type_name(e->type);

        if (e->type == RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_COMMAND) {
                Rafktor__V1__Command *c = rafktor__v1__command__unpack(NULL, e->data.len,
                                                                       e->data.data);

                if (c) {
                        describe_command(&b, c);
                        rafktor__v1__command__free_unpacked(c, NULL);
                } else {
                        sb_printf(&b, "undecodable command (%zu bytes)", e->data.len);
                }
        } else if (e->type == RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_CONFIGURATION) {
                struct raft_config cfg = { 0 };

                if (raft_config_decode(e->data.data, e->data.len, &cfg) == 0) {
                        describe_config(&b, &cfg);
                        raft_config_clear(&cfg);
                } else {
                        sb_printf(&b, "undecodable configuration (%zu bytes)", e->data.len);
                }
        } else if (name) {
                sb_printf(&b, "%s", name);
                if (e->data.len)
                        sb_printf(&b, " (%zu bytes)", e->data.len);
        } else {
                sb_printf(&b, "unknown entry type %" PRIu32 " (%zu bytes)", e->type,
                          e->data.len);
        }
        if (b.oom) {
                free(b.s);
                return -ENOMEM;
        }
        *ret = b.s;
        return 0;
}

static int json_command(json_object *o, const Rafktor__V1__Command *c)
{
        const Rafktor__V1__RequestSession *session = command_session(c);
        const Rafktor__V1__CompareAndSwapRequest *cas;
        int r = 0;

        switch (c->op_case) {
        case RAFKTOR__V1__COMMAND__OP_PUT:
                r |= out_json_str(o, "op", "put");
                r |= out_json_bytes(o, "key", c->put->key.data, c->put->key.len);
                r |= out_json_bytes(o, "value", c->put->value.data, c->put->value.len);
                break;
        case RAFKTOR__V1__COMMAND__OP_DELETE:
                r |= out_json_str(o, "op", "delete");
                r |= out_json_bytes(o, "key", c->delete_->key.data, c->delete_->key.len);
                break;
        case RAFKTOR__V1__COMMAND__OP_CAS:
                cas = c->cas;
                r |= out_json_str(o, "op", "cas");
                r |= out_json_bytes(o, "key", cas->key.data, cas->key.len);
                if (cas->compare_case ==
                    RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VERSION)
                        r |= out_json_u64(o, "compare_version", cas->compare_version);
                else
                        r |= out_json_bytes(o, "compare_value", cas->compare_value.data,
                                            cas->compare_value.len);
                r |= out_json_bytes(o, "new_value", cas->new_value.data, cas->new_value.len);
                break;
        default:
                r |= out_json_str(o, "op", "none");
                break;
        }
        if (session) {
                char id[24];

                /* Hex text, as in the table: 64-bit ids lose digits in JSON doubles. */
                snprintf(id, sizeof(id), "%016" PRIx64, session->client_id);
                r |= out_json_str(o, "client_id", id);
                r |= out_json_u64(o, "request_id", session->request_id);
        }
        return r ? -ENOMEM : 0;
}

static int json_config(json_object *o, const struct raft_config *cfg)
{
        json_object *arr = json_object_new_array();

        if (!arr || json_object_object_add(o, "members", arr) < 0) {
                json_object_put(arr);
                return -ENOMEM;
        }
        for (size_t i = 0; i < cfg->n; i++) {
                json_object *m = json_object_new_object();

                if (!m || json_object_array_add(arr, m) < 0) {
                        json_object_put(m);
                        return -ENOMEM;
                }
                if (out_json_str(m, "id", cfg->servers[i].id) < 0 ||
                    out_json_str(m, "address", cfg->servers[i].address) < 0 ||
                    out_json_bool(m, "voter", cfg->servers[i].voter) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int log_entry_json(const Rafktor__V1__LogEntryView *e, json_object **ret)
{
        json_object *o = json_object_new_object();
        const char *name = log_entry_type_name(e->type);
        int r = 0;

        if (!o)
                return -ENOMEM;
        r |= out_json_u64(o, "index", e->index);
        r |= out_json_u64(o, "term", e->term);
        if (name)
                r |= out_json_str(o, "type", name);
        else
                r |= out_json_u64(o, "type", e->type);

        if (e->type == RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_COMMAND) {
                Rafktor__V1__Command *c = rafktor__v1__command__unpack(NULL, e->data.len,
                                                                       e->data.data);

                if (c) {
                        r |= json_command(o, c);
                        rafktor__v1__command__free_unpacked(c, NULL);
                } else {
                        r |= out_json_bool(o, "undecodable", true);
                        r |= out_json_u64(o, "size", e->data.len);
                }
        } else if (e->type == RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_CONFIGURATION) {
                struct raft_config cfg = { 0 };

                if (raft_config_decode(e->data.data, e->data.len, &cfg) == 0) {
                        r |= json_config(o, &cfg);
                        raft_config_clear(&cfg);
                } else {
                        r |= out_json_bool(o, "undecodable", true);
                        r |= out_json_u64(o, "size", e->data.len);
                }
        } else if (e->data.len) {
                r |= out_json_u64(o, "size", e->data.len);
        }
        if (r) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}
