/* cli/format.c: replies -> documents (table cells + json-c objects).
 *
 * Owns: column names, JSON field names and how bytes, roles and durations are shown. Must
 * never drop a byte of a key or value: tables escape them, JSON keeps them (or hex).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/decode_log.h"
#include "cli/format.h"

#define U64(buf, v) (snprintf((buf), sizeof(buf), "%" PRIu64, (uint64_t)(v)), (buf))

const char *format_role(Rafktor__V1__Role role)
{
        switch (role) {
        case RAFKTOR__V1__ROLE__ROLE_LEADER:
                return "leader";
        case RAFKTOR__V1__ROLE__ROLE_CANDIDATE:
                return "candidate";
        case RAFKTOR__V1__ROLE__ROLE_LEARNER:
                return "learner";
        case RAFKTOR__V1__ROLE__ROLE_FOLLOWER:
        default:
                return "follower";
        }
}

static const char *const status_cols[] = {
        "ENDPOINT", "ID", "ADDRESS", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "LAST",
        "LAG", "UPTIME", "ERROR",
};

int format_status_init(struct out_doc *d)
{
        return out_doc_init(d, 12, status_cols, true);
}

static void uptime(char *buf, size_t len, uint64_t ms)
{
        uint64_t s = ms / 1000;

        if (s < 60)
                snprintf(buf, len, "%" PRIu64 "s", s);
        else if (s < 3600)
                snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
        else if (s < 86400)
                snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
        else
                snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
}

static int status_json(json_object *o, const Rafktor__V1__StatusResponse *s, uint64_t lag)
{
        json_object *peers;
        int r = 0;

        r |= out_json_str(o, "id", s->id);
        r |= out_json_str(o, "address", s->address);
        r |= out_json_str(o, "role", format_role(s->role));
        r |= out_json_u64(o, "term", s->term);
        r |= out_json_str(o, "leader", s->leader);
        r |= out_json_u64(o, "commit_index", s->commit_index);
        r |= out_json_u64(o, "applied_index", s->applied_index);
        r |= out_json_u64(o, "last_index", s->last_index);
        r |= out_json_u64(o, "durable_seq", s->durable_seq);
        r |= out_json_u64(o, "uptime_ms", s->uptime_ms);
        r |= out_json_str(o, "version", s->version);
        if (lag != FORMAT_LAG_UNKNOWN)
                r |= out_json_u64(o, "lag", lag);
        if (s->storage_error && *s->storage_error)
                r |= out_json_str(o, "storage_error", s->storage_error);
        if (s->disk_full)
                r |= out_json_bool(o, "disk_full", true);
        if (r)
                return -ENOMEM;
        peers = json_object_new_array();
        if (!peers || json_object_object_add(o, "peers", peers) < 0) {
                json_object_put(peers);
                return -ENOMEM;
        }
        for (size_t i = 0; i < s->n_peers; i++) {
                const Rafktor__V1__PeerProgress *p = s->peers[i];
                json_object *po = json_object_new_object();

                if (!po || json_object_array_add(peers, po) < 0) {
                        json_object_put(po);
                        return -ENOMEM;
                }
                r |= out_json_str(po, "id", p->id);
                r |= out_json_u64(po, "match_index", p->match_index);
                r |= out_json_u64(po, "next_index", p->next_index);
                r |= out_json_bool(po, "active", p->active);
                r |= out_json_u64(po, "lag", s->last_index > p->match_index ?
                                  s->last_index - p->match_index : 0);
        }
        return r ? -ENOMEM : 0;
}

int format_status_row(struct out_doc *d, const char *endpoint,
                      const Rafktor__V1__StatusResponse *s, uint64_t lag, const char *error)
{
        char term[24], commit[24], applied[24], last[24], lagb[24], up[24];
        json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        if (out_json_str(o, "endpoint", endpoint) < 0)
                goto oom;
        if (!s) {
                const char *cells[12] = { endpoint, "", "", "", "", "", "", "", "", "", "",
                                          error };

                if (out_json_str(o, "error", error) < 0)
                        goto oom;
                r = out_doc_add_json(d, o);
                return r < 0 ? r : out_doc_add_row(d, cells);
        }
        if (status_json(o, s, lag) < 0)
                goto oom;
        if (s->storage_error && *s->storage_error && !error)
                error = s->storage_error;
        uptime(up, sizeof(up), s->uptime_ms);
        const char *cells[12] = {
                endpoint, s->id, s->address, format_role(s->role), U64(term, s->term),
                s->leader, U64(commit, s->commit_index), U64(applied, s->applied_index),
                U64(last, s->last_index), lag == FORMAT_LAG_UNKNOWN ? "" : U64(lagb, lag),
                up, error ? error : "",
        };
        r = out_doc_add_json(d, o);
        return r < 0 ? r : out_doc_add_row(d, cells);
oom:
        json_object_put(o);
        return -ENOMEM;
}

int format_leader(struct out_doc *d, const Rafktor__V1__LeaderResponse *l)
{
        static const char *const cols[] = { "ID", "ADDRESS", "TERM" };
        const char *cells[3];
        char term[24];
        int r;

        r = out_doc_init(d, 3, cols, false);
        if (r < 0)
                return r;
        cells[0] = l->leader_id;
        cells[1] = l->leader_address;
        cells[2] = U64(term, l->header ? l->header->term : 0);
        if (out_json_str(d->json, "leader_id", l->leader_id) < 0 ||
            out_json_str(d->json, "leader_address", l->leader_address) < 0 ||
            out_json_u64(d->json, "term", l->header ? l->header->term : 0) < 0)
                return -ENOMEM;
        return out_doc_add_row(d, cells);
}

int format_members(struct out_doc *d, const Rafktor__V1__MembersResponse *m)
{
        static const char *const cols[] = { "ID", "ADDRESS", "ROLE", "LEADER" };
        const char *leader = m->header ? m->header->leader_id : "";
        int r;

        r = out_doc_init(d, 4, cols, true);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_members; i++) {
                const Rafktor__V1__Member *mb = m->members[i];
                bool is_leader = leader && *leader && strcmp(leader, mb->id) == 0;
                const char *cells[4] = { mb->id, mb->address, mb->voter ? "voter" : "learner",
                                         is_leader ? "*" : "" };
                json_object *o = json_object_new_object();

                r = out_doc_add_json(d, o);
                if (r < 0)
                        return r;
                if (out_json_str(o, "id", mb->id) < 0 ||
                    out_json_str(o, "address", mb->address) < 0 ||
                    out_json_bool(o, "voter", mb->voter) < 0 ||
                    out_json_bool(o, "leader", is_leader) < 0)
                        return -ENOMEM;
                r = out_doc_add_row(d, cells);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *const kv_cols[] = { "KEY", "VALUE", "VERSION", "MOD_INDEX" };

int format_kv_init(struct out_doc *d, bool list)
{
        int r = out_doc_init(d, 4, kv_cols, false);
        json_object *arr;

        if (r < 0 || !list)
                return r;
        arr = json_object_new_array();
        if (!arr || json_object_object_add(d->json, "kvs", arr) < 0) {
                json_object_put(arr);
                return -ENOMEM;
        }
        return 0;
}

static int kv_json(json_object *o, const Rafktor__V1__KeyValue *kv)
{
        int r = 0;

        r |= out_json_bytes(o, "key", kv->key.data, kv->key.len);
        r |= out_json_bytes(o, "value", kv->value.data, kv->value.len);
        r |= out_json_u64(o, "version", kv->version);
        r |= out_json_u64(o, "create_index", kv->create_index);
        r |= out_json_u64(o, "mod_index", kv->mod_index);
        return r ? -ENOMEM : 0;
}

int format_kv_row(struct out_doc *d, const Rafktor__V1__KeyValue *kv)
{
        json_object *arr, *o;
        char version[24], mod[24];
        char *k, *v;
        int r;

        if (json_object_object_get_ex(d->json, "kvs", &arr)) {
                o = json_object_new_object();
                r = out_doc_add_json_to(arr, o);
                if (r < 0)
                        return r;
        } else {
                o = d->json;
        }
        if (kv_json(o, kv) < 0)
                return -ENOMEM;
        k = out_escape(kv->key.data, kv->key.len);
        v = out_escape(kv->value.data, kv->value.len);
        if (!k || !v) {
                r = -ENOMEM;
                goto out;
        }
        const char *cells[4] = { k, v, U64(version, kv->version), U64(mod, kv->mod_index) };
        r = out_doc_add_row(d, cells);
out:
        free(k);
        free(v);
        return r;
}

int format_range_more(struct out_doc *d, bool more)
{
        return out_json_bool(d->json, "more", more);
}

static int write_doc(struct out_doc *d, const ProtobufCBinaryData *key, const char *c1,
                     const char *c2, uint64_t v1, uint64_t index, const char *flag_name,
                     bool flag)
{
        const char *cols[3] = { "KEY", c1, "INDEX" };
        char b1[24], bi[24];
        char *k;
        int r;

        r = out_doc_init(d, 3, cols, false);
        if (r < 0)
                return r;
        if (out_json_bytes(d->json, "key", key->data, key->len) < 0 ||
            (c2 && out_json_u64(d->json, c2, v1) < 0) ||
            (flag_name && out_json_bool(d->json, flag_name, flag) < 0) ||
            out_json_u64(d->json, "index", index) < 0)
                return -ENOMEM;
        k = out_escape(key->data, key->len);
        if (!k)
                return -ENOMEM;
        const char *cells[3] = { k, flag_name ? (flag ? "true" : "false") : U64(b1, v1),
                                 U64(bi, index) };
        r = out_doc_add_row(d, cells);
        free(k);
        return r;
}

int format_put(struct out_doc *d, const ProtobufCBinaryData *key,
               const Rafktor__V1__PutResponse *p)
{
        return write_doc(d, key, "VERSION", "version", p->version, p->index, NULL, false);
}

int format_delete(struct out_doc *d, const ProtobufCBinaryData *key,
                  const Rafktor__V1__DeleteResponse *r)
{
        return write_doc(d, key, "DELETED", NULL, 0, r->index, "deleted", r->deleted);
}

int format_cas(struct out_doc *d, const ProtobufCBinaryData *key,
               const Rafktor__V1__CompareAndSwapResponse *r)
{
        int e = write_doc(d, key, "VERSION", "version",
                          r->found && r->current ? r->current->version : 0, r->index,
                          NULL, false);

        if (e < 0)
                return e;
        return out_json_bool(d->json, "succeeded", r->succeeded);
}

int format_log(struct out_doc *d, const Rafktor__V1__ReadLogResponse *resp)
{
        static const char *const cols[] = { "INDEX", "TERM", "TYPE", "ENTRY" };
        json_object *arr;
        int r;

        r = out_doc_init(d, 4, cols, false);
        if (r < 0)
                return r;
        if (out_json_u64(d->json, "first_index", resp->first_index) < 0 ||
            out_json_u64(d->json, "last_index", resp->last_index) < 0)
                return -ENOMEM;
        arr = json_object_new_array();
        if (!arr || json_object_object_add(d->json, "entries", arr) < 0) {
                json_object_put(arr);
                return -ENOMEM;
        }
        for (size_t i = 0; i < resp->n_entries; i++) {
                const Rafktor__V1__LogEntryView *e = resp->entries[i];
                const char *type = log_entry_type_name(e->type);
                char idx[24], term[24], tbuf[24];
                json_object *o;
                char *text;

                if (log_entry_json(e, &o) < 0)
                        return -ENOMEM;
                r = out_doc_add_json_to(arr, o);
                if (r < 0)
                        return r;
                if (log_entry_describe(e, &text) < 0)
                        return -ENOMEM;
                if (!type) {
                        snprintf(tbuf, sizeof(tbuf), "type %" PRIu32, e->type);
                        type = tbuf;
                }
                const char *cells[4] = { U64(idx, e->index), U64(term, e->term), type, text };
                r = out_doc_add_row(d, cells);
                free(text);
                if (r < 0)
                        return r;
        }
        return 0;
}
