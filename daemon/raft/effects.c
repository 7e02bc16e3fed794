/* daemon/raft/effects.c: the output list of effects and the effects held
 * back until the events behind them are durable.
 *
 * Owns: raft_output_*, appending effects, and the held-effect queue that
 * raft_persisted() releases.
 * Must never: decide which effects to produce (the protocol files do), or
 * release a held effect before durable_seq reaches its seq.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

int raft__grow(void *arr_ptr, size_t *cap, size_t need, size_t size)
{
        void **arr = arr_ptr;
        size_t ncap;
        void *p;

        if (need <= *cap)
                return RAFT_OK;
        ncap = *cap ? *cap : 8;
        while (ncap < need)
                ncap *= 2;
        p = realloc(*arr, ncap * size);
        if (!p)
                return RAFT_ENOMEM;
        *arr = p;
        *cap = ncap;
        return RAFT_OK;
}

void raft_output_init(struct raft_output *out)
{
        memset(out, 0, sizeof(*out));
}

void raft__effect_clear(struct raft_effect *fx)
{
        switch (fx->type) {
        case RAFT_FX_PERSIST:
                raft_event_clear(&fx->event);
                break;
        case RAFT_FX_SEND:
                raft_msg_clear(&fx->msg);
                break;
        case RAFT_FX_APPLY:
                raft__entry_clear(&fx->entry);
                break;
        case RAFT_FX_SEND_SNAPSHOT:
        case RAFT_FX_RESTORE:
                raft_config_clear(&fx->snapshot.config);
                break;
        default:
                break;
        }
}

void raft_output_reset(struct raft_output *out)
{
        size_t i;

        for (i = 0; i < out->n; i++)
                raft__effect_clear(&out->effects[i]);
        out->n = 0;
}

void raft_output_free(struct raft_output *out)
{
        raft_output_reset(out);
        free(out->effects);
        memset(out, 0, sizeof(*out));
}

struct raft_effect *raft__fx_push(struct raft_output *out, enum raft_effect_type type)
{
        struct raft_effect *fx;

        if (raft__grow(&out->effects, &out->cap, out->n + 1, sizeof(*out->effects)) < 0)
                return NULL;
        fx = &out->effects[out->n++];
        memset(fx, 0, sizeof(*fx));
        fx->type = type;
        return fx;
}

int raft__fx_fail(struct raft_output *out, uint64_t handle, enum raft_fail fail,
                  const char *reason)
{
        struct raft_effect *fx = raft__fx_push(out, RAFT_FX_FAIL);

        if (!fx)
                return RAFT_ENOMEM;
        fx->handle = handle;
        fx->fail.fail = fail;
        snprintf(fx->fail.reason, sizeof(fx->fail.reason), "%s", reason);
        return RAFT_OK;
}

void raft__msg_init(const struct raft *r, struct raft_msg *m, enum raft_msg_type type,
                    const char *to)
{
        memset(m, 0, sizeof(*m));
        m->type = type;
        snprintf(m->from, sizeof(m->from), "%s", r->id);
        snprintf(m->to, sizeof(m->to), "%s", to);
        m->term = r->term;
}

int raft__send(struct raft_output *out, struct raft_msg *m)
{
        struct raft_effect *fx = raft__fx_push(out, RAFT_FX_SEND);

        if (!fx) {
                raft_msg_clear(m);
                return RAFT_ENOMEM;
        }
        fx->msg = *m;
        memset(m, 0, sizeof(*m));
        return RAFT_OK;
}

int raft__hold_until_durable(struct raft *r, struct raft_msg *m, struct raft_output *out)
{
        struct raft_held *h;
        int rc;

        if (r->durable_seq >= r->last_seq)
                return raft__send(out, m);
        rc = raft__grow(&r->held, &r->cap_held, r->n_held + 1, sizeof(*r->held));
        if (rc < 0) {
                raft_msg_clear(m);
                return rc;
        }
        h = &r->held[r->n_held++];
        memset(h, 0, sizeof(*h));
        h->seq = r->last_seq;
        h->fx.type = RAFT_FX_SEND;
        h->fx.msg = *m;
        memset(m, 0, sizeof(*m));
        return RAFT_OK;
}

int raft__hold_effect(struct raft *r, struct raft_effect *fx, struct raft_output *out)
{
        struct raft_effect *dst;
        struct raft_held *h;
        int rc;

        if (r->durable_seq >= r->last_seq) {
                dst = raft__fx_push(out, fx->type);
                if (!dst) {
                        raft__effect_clear(fx);
                        return RAFT_ENOMEM;
                }
                *dst = *fx;
                memset(fx, 0, sizeof(*fx));
                return RAFT_OK;
        }
        rc = raft__grow(&r->held, &r->cap_held, r->n_held + 1, sizeof(*r->held));
        if (rc < 0) {
                raft__effect_clear(fx);
                return rc;
        }
        h = &r->held[r->n_held++];
        h->seq = r->last_seq;
        h->fx = *fx;
        memset(fx, 0, sizeof(*fx));
        return RAFT_OK;
}

int raft__send_after_durable(struct raft *r, struct raft_msg *m, struct raft_output *out)
{
#ifdef RAFT_SABOTAGE_ACK_BEFORE_DURABLE
        /* SABOTAGE (tests/sim only): answer AppendEntries with success and
         * grant votes before the events behind them are durable. Breaks
         * "respond only after persisting" (Raft paper, Figure 2). */
        return raft__send(out, m);
#endif
        /* Raft paper, Figure 2: "Persistent state on all servers: (Updated
         * on stable storage before responding to RPCs)". */
        return raft__hold_until_durable(r, m, out);
}

int raft__held_release(struct raft *r, struct raft_output *out)
{
        size_t i, done = 0;
        int rc = RAFT_OK;

        for (i = 0; i < r->n_held; i++) {
                struct raft_effect *fx;

                if (r->held[i].seq > r->durable_seq)
                        break;
                fx = raft__fx_push(out, r->held[i].fx.type);
                if (!fx) {
                        rc = RAFT_ENOMEM;
                        break;
                }
                *fx = r->held[i].fx;
                done++;
        }
        if (done > 0)
                memmove(r->held, r->held + done, (r->n_held - done) * sizeof(*r->held));
        r->n_held -= done;
        return rc;
}

void raft__held_free(struct raft *r)
{
        size_t i;

        for (i = 0; i < r->n_held; i++)
                raft__effect_clear(&r->held[i].fx);
        free(r->held);
        r->held = NULL;
        r->n_held = r->cap_held = 0;
}
