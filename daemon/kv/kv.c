/* daemon/kv/kv.c: the state machine's lifecycle and the apply dispatch.
 *
 * Owns: kv_new/kv_free, the options, the applied index and the state
 * machine's clock (the largest leader time applied), and the order of an
 * apply: check the index, advance the clock, expire sessions, dispatch.
 *
 * Must never: apply an entry out of index order or twice, read a clock of
 * its own, or do I/O.
 */
#include <errno.h>
#include <stdlib.h>

#include "daemon/kv/kv-internal.h"

void kv_options_default(struct kv_options *o)
{
        o->session_ttl_ms = 60ULL * 60 * 1000;
        o->max_sessions = 100000;
        o->max_replies_per_session = 1024;
}

int kv_new(const struct kv_options *o, struct kv **ret)
{
        struct kv *kv;

        if (!ret)
                return -EINVAL;
        if (o && (o->max_sessions == 0 || o->max_replies_per_session == 0 ||
                  o->max_replies_per_session > UINT32_MAX))
                return -EINVAL;
        kv = calloc(1, sizeof(*kv));
        if (!kv)
                return -ENOMEM;
        if (o)
                kv->opt = *o;
        else
                kv_options_default(&kv->opt);
        RB_INIT(&kv->keys);
        RB_INIT(&kv->sessions);
        RB_INIT(&kv->lru);
        *ret = kv;
        return 0;
}

void kv_free(struct kv *kv)
{
        if (!kv)
                return;
        kv_store_clear(kv);
        kv_sessions_clear(kv);
        free(kv);
}

int kv_apply(struct kv *kv, const struct raft_entry *e, uint8_t **ret_reply, size_t *ret_len)
{
        uint8_t *reply = NULL;
        size_t len = 0;
        int r;

        if (!kv || !e || !ret_reply != !ret_len)
                return -EINVAL;
        if (ret_reply) {
                *ret_reply = NULL;
                *ret_len = 0;
        }
        if (e->index <= kv->applied_index)
                return -EINVAL; /* applied already (or index 0): never twice */
        if (e->type != RAFT_ENTRY_COMMAND && e->type != RAFT_ENTRY_NOOP &&
            e->type != RAFT_ENTRY_CONFIG)
                return -EINVAL;
        if (e->len > 0 && !e->data)
                return -EINVAL;

        /* Time passes with every entry; expiry is idempotent, so an apply
         * that fails with -ENOMEM below can be retried with the same entry. */
        if (e->leader_time_ms > kv->clock_ms)
                kv->clock_ms = e->leader_time_ms;
        kv_sessions_expire(kv, kv->clock_ms);

        if (e->type == RAFT_ENTRY_COMMAND) {
                r = kv_command_apply(kv, e, ret_reply ? &reply : NULL, ret_reply ? &len : NULL);
                if (r < 0)
                        return r;
        }
        kv->applied_index = e->index;
        if (ret_reply) {
                *ret_reply = reply;
                *ret_len = len;
        }
        return 0;
}

uint64_t kv_applied_index(const struct kv *kv)
{
        return kv->applied_index;
}

uint64_t kv_clock_ms(const struct kv *kv)
{
        return kv->clock_ms;
}
