/* daemon/wire/entry_codec.c: struct raft_entry <-> raftgrpc.LogEntry.
 *
 * Owns: the field mapping and the validation of entry types coming in.
 * Must never: pack or unpack whole messages (callers do), or log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/wire/entry_codec.h"

int entry_pb_view_init(struct entry_pb_view *v, const struct raft_entry *es, size_t n)
{
        *v = (struct entry_pb_view){ .n = n };
        if (n == 0)
                return 0;
        v->storage = calloc(n, sizeof(*v->storage));
        v->ptrs = calloc(n, sizeof(*v->ptrs));
        if (!v->storage || !v->ptrs) {
                entry_pb_view_free(v);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                Raftgrpc__LogEntry *pb = &v->storage[i];

                raftgrpc__log_entry__init(pb);
                pb->index = es[i].index;
                pb->term = es[i].term;
                pb->type = (Raftgrpc__LogEntryType)es[i].type;
                pb->leader_time_ms = es[i].leader_time_ms;
                pb->data.len = es[i].len;
                pb->data.data = es[i].data;
                v->ptrs[i] = pb;
        }
        return 0;
}

void entry_pb_view_free(struct entry_pb_view *v)
{
        free(v->storage);
        free(v->ptrs);
        *v = (struct entry_pb_view){ 0 };
}

static bool entry_type_known(int type)
{
        return type == RAFT_ENTRY_COMMAND || type == RAFT_ENTRY_NOOP || type == RAFT_ENTRY_CONFIG;
}

int entry_from_pb(const Raftgrpc__LogEntry *pb, struct raft_entry *ret, char *err,
                  size_t err_len)
{
        *ret = (struct raft_entry){ 0 };
        if (!entry_type_known((int)pb->type)) {
                snprintf(err, err_len, "entry %llu: type %d is not COMMAND, NOOP or CONFIGURATION",
                         (unsigned long long)pb->index, (int)pb->type);
                return -EBADMSG;
        }
        if (pb->data.len > 0) {
                ret->data = malloc(pb->data.len);
                if (!ret->data)
                        return -ENOMEM;
                memcpy(ret->data, pb->data.data, pb->data.len);
        }
        ret->index = pb->index;
        ret->term = pb->term;
        ret->type = (enum raft_entry_type)pb->type;
        ret->leader_time_ms = pb->leader_time_ms;
        ret->len = pb->data.len;
        return 0;
}

int entries_from_pb(Raftgrpc__LogEntry *const *pbs, size_t n, struct raft_entry **ret,
                    char *err, size_t err_len)
{
        struct raft_entry *es;
        size_t i;
        int r;

        *ret = NULL;
        if (n == 0)
                return 0;
        es = calloc(n, sizeof(*es));
        if (!es)
                return -ENOMEM;
        for (i = 0; i < n; i++) {
                r = entry_from_pb(pbs[i], &es[i], err, err_len);
                if (r < 0) {
                        entries_free(es, i);
                        return r;
                }
        }
        *ret = es;
        return 0;
}

void entries_free(struct raft_entry *es, size_t n)
{
        if (!es)
                return;
        for (size_t i = 0; i < n; i++)
                free(es[i].data);
        free(es);
}
