/* daemon/kv/sessions.c: the client session table (Raft thesis 6.3).
 *
 * Owns: sessions by client_id, their least-recently-used order (by leader
 * time, ties by client_id), their request-id windows and cached replies,
 * and deterministic expiry.
 *
 * Must never: read a clock (time is the entry's leader time, passed in),
 * depend on allocation addresses for any order, or apply a command.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/kv/kv-internal.h"

static int u64_cmp(uint64_t a, uint64_t b)
{
        return a < b ? -1 : a > b ? 1 : 0;
}

int kv_reply_cmp(const struct kv_reply *a, const struct kv_reply *b)
{
        return u64_cmp(a->request_id, b->request_id);
}

int kv_session_id_cmp(const struct kv_session *a, const struct kv_session *b)
{
        return u64_cmp(a->client_id, b->client_id);
}

int kv_session_lru_cmp(const struct kv_session *a, const struct kv_session *b)
{
        int c = u64_cmp(a->last_used_ms, b->last_used_ms);

        return c != 0 ? c : u64_cmp(a->client_id, b->client_id);
}

RB_GENERATE(kv_reply_tree, kv_reply, link, kv_reply_cmp)
RB_GENERATE(kv_session_ids, kv_session, by_id, kv_session_id_cmp)
RB_GENERATE(kv_session_lru, kv_session, by_lru, kv_session_lru_cmp)

struct kv_session *kv_session_find(const struct kv *kv, uint64_t client_id)
{
        struct kv_session *s = RB_ROOT(&kv->sessions);

        while (s) {
                if (client_id == s->client_id)
                        return s;
                s = client_id < s->client_id ? RB_LEFT(s, by_id) : RB_RIGHT(s, by_id);
        }
        return NULL;
}

struct kv_session *kv_session_new(uint64_t client_id)
{
        struct kv_session *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->client_id = client_id;
        RB_INIT(&s->replies);
        return s;
}

void kv_session_free(struct kv_session *s)
{
        struct kv_reply *r, *next;

        if (!s)
                return;
        RB_FOREACH_SAFE(r, kv_reply_tree, &s->replies, next) {
                RB_REMOVE(kv_reply_tree, &s->replies, r);
                free(r);
        }
        free(s);
}

static void session_remove(struct kv *kv, struct kv_session *s)
{
        RB_REMOVE(kv_session_ids, &kv->sessions, s);
        RB_REMOVE(kv_session_lru, &kv->lru, s);
        kv->n_sessions--;
        kv_session_free(s);
}

void kv_session_insert(struct kv *kv, struct kv_session *s)
{
        while (kv->n_sessions > 0 && kv->n_sessions >= kv->opt.max_sessions)
                session_remove(kv, RB_MIN(kv_session_lru, &kv->lru));
        RB_INSERT(kv_session_ids, &kv->sessions, s);
        RB_INSERT(kv_session_lru, &kv->lru, s);
        kv->n_sessions++;
}

void kv_session_touch(struct kv *kv, struct kv_session *s, uint64_t now_ms)
{
        if (s->last_used_ms == now_ms)
                return;
        RB_REMOVE(kv_session_lru, &kv->lru, s);
        s->last_used_ms = now_ms;
        RB_INSERT(kv_session_lru, &kv->lru, s);
}

void kv_session_advance_window(struct kv_session *s, uint64_t first_outstanding)
{
        struct kv_reply *r;

        if (first_outstanding <= s->window_low)
                return;
        s->window_low = first_outstanding;
        while ((r = RB_MIN(kv_reply_tree, &s->replies)) && r->request_id < s->window_low) {
                RB_REMOVE(kv_reply_tree, &s->replies, r);
                free(r);
                s->n_replies--;
        }
}

const struct kv_reply *kv_session_cached(const struct kv_session *s, uint64_t request_id)
{
        struct kv_reply *r = RB_ROOT(&s->replies);

        while (r) {
                if (request_id == r->request_id)
                        return r;
                r = request_id < r->request_id ? RB_LEFT(r, link) : RB_RIGHT(r, link);
        }
        return NULL;
}

struct kv_reply *kv_reply_new(uint64_t request_id, const uint8_t *data, size_t len)
{
        struct kv_reply *r = malloc(sizeof(*r) + len);

        if (!r)
                return NULL;
        memset(r, 0, sizeof(*r));
        r->request_id = request_id;
        r->len = len;
        if (len > 0)
                memcpy(r->data, data, len);
        return r;
}

void kv_session_cache(const struct kv *kv, struct kv_session *s, struct kv_reply *r)
{
        RB_INSERT(kv_reply_tree, &s->replies, r);
        s->n_replies++;
        while (s->n_replies > kv->opt.max_replies_per_session) {
                struct kv_reply *oldest = RB_MIN(kv_reply_tree, &s->replies);

                /* The client did not raise first_outstanding: forget the
                 * oldest reply and refuse its id from now on. */
                if (oldest->request_id >= s->window_low)
                        s->window_low = oldest->request_id == UINT64_MAX
                                                ? UINT64_MAX
                                                : oldest->request_id + 1;
                RB_REMOVE(kv_reply_tree, &s->replies, oldest);
                free(oldest);
                s->n_replies--;
        }
}

void kv_sessions_expire(struct kv *kv, uint64_t now_ms)
{
        struct kv_session *s;

        while ((s = RB_MIN(kv_session_lru, &kv->lru)) &&
               now_ms - s->last_used_ms > kv->opt.session_ttl_ms)
                session_remove(kv, s);
}

void kv_sessions_clear(struct kv *kv)
{
        struct kv_session *s, *next;

        RB_FOREACH_SAFE(s, kv_session_ids, &kv->sessions, next) {
                RB_REMOVE(kv_session_ids, &kv->sessions, s);
                RB_REMOVE(kv_session_lru, &kv->lru, s);
                kv_session_free(s);
        }
        kv->n_sessions = 0;
}

size_t kv_session_count(const struct kv *kv)
{
        return kv->n_sessions;
}
