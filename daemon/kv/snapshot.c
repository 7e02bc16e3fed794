/* daemon/kv/snapshot.c: the canonical serialization of the state, the
 * snapshot encoding built on it, and the validating snapshot decoder.
 *
 * Owns: the snapshot byte format documented in kv.h (format 1).
 *
 * Must never: depend on the host's byte order or on allocation addresses,
 * or return a kv from bytes it has not fully validated.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "daemon/kv/kv-internal.h"
#include "rafktor.pb-c.h"

#define SNAP_MAGIC "RKVS"
#define SNAP_FORMAT 1u
#define SNAP_HEADER_LEN (4 + 4 + 8 + 8)

static void put_u32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
        uint32_t v = 0;

        for (int i = 0; i < 4; i++)
                v |= (uint32_t)p[i] << (8 * i);
        return v;
}

static uint64_t get_u64(const uint8_t *p)
{
        uint64_t v = 0;

        for (int i = 0; i < 8; i++)
                v |= (uint64_t)p[i] << (8 * i);
        return v;
}

/* ---- serialization --------------------------------------------------------- */

static int serialize_keys(const struct kv *kv, struct kv_sink *sink)
{
        struct kv_node *n;
        uint8_t hdr[4 + 4 + 8 + 8 + 8];
        int r;

        put_u64(hdr, kv->n_keys);
        r = sink->write(sink, hdr, 8);
        if (r < 0)
                return r;
        RB_FOREACH(n, kv_tree, (struct kv_tree *)&kv->keys) {
                put_u32(hdr, n->key_len);
                put_u32(hdr + 4, n->value_len);
                put_u64(hdr + 8, n->version);
                put_u64(hdr + 16, n->create_index);
                put_u64(hdr + 24, n->mod_index);
                r = sink->write(sink, hdr, 32);
                if (r < 0)
                        return r;
                r = sink->write(sink, n->data, (size_t)n->key_len + n->value_len);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int serialize_sessions(const struct kv *kv, struct kv_sink *sink)
{
        struct kv_session *s;
        struct kv_reply *rep;
        uint8_t hdr[8 + 8 + 8 + 4];
        int r;

        put_u64(hdr, kv->n_sessions);
        r = sink->write(sink, hdr, 8);
        if (r < 0)
                return r;
        RB_FOREACH(s, kv_session_ids, (struct kv_session_ids *)&kv->sessions) {
                put_u64(hdr, s->client_id);
                put_u64(hdr + 8, s->last_used_ms);
                put_u64(hdr + 16, s->window_low);
                put_u32(hdr + 24, (uint32_t)s->n_replies);
                r = sink->write(sink, hdr, 28);
                if (r < 0)
                        return r;
                RB_FOREACH(rep, kv_reply_tree, &s->replies) {
                        put_u64(hdr, rep->request_id);
                        put_u32(hdr + 8, (uint32_t)rep->len);
                        r = sink->write(sink, hdr, 12);
                        if (r < 0)
                                return r;
                        r = sink->write(sink, rep->data, rep->len);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int kv_serialize(const struct kv *kv, struct kv_sink *sink)
{
        uint8_t hdr[SNAP_HEADER_LEN];
        int r;

        memcpy(hdr, SNAP_MAGIC, 4);
        put_u32(hdr + 4, SNAP_FORMAT);
        put_u64(hdr + 8, kv->applied_index);
        put_u64(hdr + 16, kv->clock_ms);
        r = sink->write(sink, hdr, sizeof(hdr));
        if (r < 0)
                return r;
        r = serialize_keys(kv, sink);
        if (r < 0)
                return r;
        return serialize_sessions(kv, sink);
}

/* ---- encoding -------------------------------------------------------------- */

struct count_sink {
        struct kv_sink base;
        size_t n;
};

static int count_write(struct kv_sink *sink, const void *buf, size_t len)
{
        (void)buf;
        ((struct count_sink *)sink)->n += len;
        return 0;
}

struct copy_sink {
        struct kv_sink base;
        uint8_t *buf;
        size_t off;
        size_t cap;
};

static int copy_write(struct kv_sink *sink, const void *buf, size_t len)
{
        struct copy_sink *s = (struct copy_sink *)sink;

        if (len > s->cap - s->off)
                return -EIO; /* the counting pass disagreed: a bug */
        if (len > 0)
                memcpy(s->buf + s->off, buf, len);
        s->off += len;
        return 0;
}

int kv_snapshot_encode(const struct kv *kv, uint8_t **ret_buf, size_t *ret_len)
{
        struct count_sink count = { .base = { count_write }, .n = 0 };
        struct copy_sink copy = { .base = { copy_write } };
        uLong crc = crc32(0L, Z_NULL, 0);
        int r;

        if (!kv || !ret_buf || !ret_len)
                return -EINVAL;
        r = kv_serialize(kv, &count.base);
        if (r < 0)
                return r;
        copy.cap = count.n;
        copy.buf = malloc(count.n + 4);
        if (!copy.buf)
                return -ENOMEM;
        r = kv_serialize(kv, &copy.base);
        if (r < 0 || copy.off != count.n) {
                free(copy.buf);
                return r < 0 ? r : -EIO;
        }
        for (size_t off = 0; off < copy.off;) {
                uInt n = copy.off - off > 1u << 30 ? 1u << 30 : (uInt)(copy.off - off);

                crc = crc32(crc, copy.buf + off, n);
                off += n;
        }
        put_u32(copy.buf + copy.off, (uint32_t)crc);
        *ret_buf = copy.buf;
        *ret_len = copy.off + 4;
        return 0;
}

/* ---- decoding -------------------------------------------------------------- */

struct reader {
        const uint8_t *buf;
        size_t len; /* of the body: without the trailing crc */
        size_t off;
        char *err;
        size_t err_len;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(struct reader *rd, const char *fmt, ...)
{
        va_list ap;

        if (rd->err && rd->err_len > 0) {
                va_start(ap, fmt);
                vsnprintf(rd->err, rd->err_len, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

static int need(struct reader *rd, size_t n, const char *what)
{
        if (n > rd->len - rd->off)
                return fail(rd,
                            "snapshot truncated: %s at offset %zu needs %zu bytes, "
                            "only %zu remain before the crc",
                            what, rd->off, n, rd->len - rd->off);
        return 0;
}

static int rd_u32(struct reader *rd, const char *what, uint32_t *ret)
{
        int r = need(rd, 4, what);

        if (r < 0)
                return r;
        *ret = get_u32(rd->buf + rd->off);
        rd->off += 4;
        return 0;
}

static int rd_u64(struct reader *rd, const char *what, uint64_t *ret)
{
        int r = need(rd, 8, what);

        if (r < 0)
                return r;
        *ret = get_u64(rd->buf + rd->off);
        rd->off += 8;
        return 0;
}

static int decode_key(struct reader *rd, struct kv *kv, uint64_t i, struct kv_node **prev)
{
        size_t at = rd->off;
        uint32_t key_len, value_len;
        uint64_t version, create_index, mod_index;
        struct kv_node *n;
        int r;

        if ((r = rd_u32(rd, "key length", &key_len)) < 0 ||
            (r = rd_u32(rd, "value length", &value_len)) < 0 ||
            (r = rd_u64(rd, "version", &version)) < 0 ||
            (r = rd_u64(rd, "create_index", &create_index)) < 0 ||
            (r = rd_u64(rd, "mod_index", &mod_index)) < 0 ||
            (r = need(rd, (size_t)key_len + value_len, "key and value bytes")) < 0)
                return r;
        if (key_len == 0)
                return fail(rd, "snapshot key %" PRIu64 " at offset %zu is empty", i, at);
        if (version == 0)
                return fail(rd, "snapshot key %" PRIu64 " at offset %zu has version 0", i, at);
        if (create_index == 0 || create_index > mod_index || mod_index > kv->applied_index)
                return fail(rd,
                            "snapshot key %" PRIu64 " at offset %zu has create_index %" PRIu64
                            " and mod_index %" PRIu64 " (need 1 <= create <= mod <= applied %"
                            PRIu64 ")",
                            i, at, create_index, mod_index, kv->applied_index);
        n = kv_node_new(rd->buf + rd->off, key_len, rd->buf + rd->off + key_len, value_len);
        if (!n)
                return -ENOMEM;
        n->version = version;
        n->create_index = create_index;
        n->mod_index = mod_index;
        if (*prev && kv_node_cmp(*prev, n) >= 0) {
                free(n);
                return fail(rd,
                            "snapshot key %" PRIu64 " at offset %zu is not after the key "
                            "before it (keys must be strictly increasing)",
                            i, at);
        }
        rd->off += (size_t)key_len + value_len;
        kv_store_append(kv, *prev, n);  /* in order, checked above */
        *prev = n;
        return 0;
}

static int decode_reply(struct reader *rd, struct kv_session *s, uint32_t j, uint64_t *prev_id)
{
        size_t at = rd->off;
        Rafktor__V1__CommandResult *res;
        struct kv_reply *rep;
        uint64_t request_id;
        uint32_t len;
        int r;

        if ((r = rd_u64(rd, "reply request_id", &request_id)) < 0 ||
            (r = rd_u32(rd, "reply length", &len)) < 0 ||
            (r = need(rd, len, "reply bytes")) < 0)
                return r;
        if (request_id == 0 || request_id < s->window_low || request_id <= *prev_id)
                return fail(rd,
                            "snapshot reply %" PRIu32 " of client %" PRIu64 " at offset %zu "
                            "has request_id %" PRIu64 " (need > %" PRIu64 ", >= window %"
                            PRIu64 ")",
                            j, s->client_id, at, request_id, *prev_id, s->window_low);
        res = rafktor__v1__command_result__unpack(NULL, len, rd->buf + rd->off);
        if (!res)
                return fail(rd,
                            "snapshot reply %" PRIu32 " of client %" PRIu64 " at offset %zu "
                            "is not a valid rafktor.v1.CommandResult",
                            j, s->client_id, at);
        rafktor__v1__command_result__free_unpacked(res, NULL);
        rep = kv_reply_new(request_id, rd->buf + rd->off, len);
        if (!rep)
                return -ENOMEM;
        rd->off += len;
        RB_INSERT(kv_reply_tree, &s->replies, rep);
        s->n_replies++;
        *prev_id = request_id;
        return 0;
}

static int decode_session(struct reader *rd, struct kv *kv, uint64_t i, uint64_t *prev_client)
{
        size_t at = rd->off;
        uint64_t client_id, last_used, window_low, prev_id = 0;
        uint32_t n_replies;
        struct kv_session *s;
        int r;

        if ((r = rd_u64(rd, "session client_id", &client_id)) < 0 ||
            (r = rd_u64(rd, "session last_used_ms", &last_used)) < 0 ||
            (r = rd_u64(rd, "session window_low", &window_low)) < 0 ||
            (r = rd_u32(rd, "session reply count", &n_replies)) < 0)
                return r;
        if (client_id == 0 || client_id <= *prev_client)
                return fail(rd,
                            "snapshot session %" PRIu64 " at offset %zu has client_id %" PRIu64
                            " (need > 0 and > the previous %" PRIu64 ")",
                            i, at, client_id, *prev_client);
        if (last_used > kv->clock_ms)
                return fail(rd,
                            "snapshot session of client %" PRIu64 " at offset %zu was used at %"
                            PRIu64 " ms, after the state's clock %" PRIu64 " ms",
                            client_id, at, last_used, kv->clock_ms);
        s = kv_session_new(client_id);
        if (!s)
                return -ENOMEM;
        s->last_used_ms = last_used;
        s->window_low = window_low;
        for (uint32_t j = 0; j < n_replies; j++) {
                r = decode_reply(rd, s, j, &prev_id);
                if (r < 0) {
                        kv_session_free(s);
                        return r;
                }
        }
        RB_INSERT(kv_session_ids, &kv->sessions, s);
        RB_INSERT(kv_session_lru, &kv->lru, s);
        kv->n_sessions++;
        *prev_client = client_id;
        return 0;
}

static int decode_body(struct reader *rd, struct kv *kv)
{
        uint64_t n_keys, n_sessions, prev_client = 0;
        struct kv_node *prev = NULL;
        uint32_t format;
        int r;

        r = need(rd, 4, "magic");
        if (r < 0)
                return r;
        if (memcmp(rd->buf, SNAP_MAGIC, 4) != 0)
                return fail(rd, "not a KV snapshot: bad magic at offset 0 (expected \"%s\")",
                            SNAP_MAGIC);
        rd->off = 4;
        if ((r = rd_u32(rd, "format", &format)) < 0)
                return r;
        if (format != SNAP_FORMAT)
                return fail(rd, "KV snapshot format %" PRIu32 " at offset 4 is not supported "
                            "(expected %u)", format, SNAP_FORMAT);
        if ((r = rd_u64(rd, "applied_index", &kv->applied_index)) < 0 ||
            (r = rd_u64(rd, "clock_ms", &kv->clock_ms)) < 0 ||
            (r = rd_u64(rd, "key count", &n_keys)) < 0)
                return r;
        for (uint64_t i = 0; i < n_keys; i++) {
                r = decode_key(rd, kv, i, &prev);
                if (r < 0)
                        return r;
        }
        if ((r = rd_u64(rd, "session count", &n_sessions)) < 0)
                return r;
        for (uint64_t i = 0; i < n_sessions; i++) {
                r = decode_session(rd, kv, i, &prev_client);
                if (r < 0)
                        return r;
        }
        if (rd->off != rd->len)
                return fail(rd, "snapshot has %zu unexpected bytes at offset %zu after the "
                            "last session", rd->len - rd->off, rd->off);
        return 0;
}

int kv_snapshot_decode(const uint8_t *buf, size_t len, const struct kv_options *o,
                       struct kv **ret, char *err, size_t err_len)
{
        struct reader rd = { .buf = buf, .err = err, .err_len = err_len };
        uLong crc = crc32(0L, Z_NULL, 0);
        struct kv *kv;
        int r;

        if (err && err_len > 0)
                err[0] = '\0';
        if (!ret || (!buf && len > 0))
                return -EINVAL;
        if (len < SNAP_HEADER_LEN + 8 + 8 + 4)
                return fail(&rd, "snapshot of %zu bytes is shorter than the smallest one "
                            "(%d bytes)", len, SNAP_HEADER_LEN + 8 + 8 + 4);
        rd.len = len - 4;
        for (size_t off = 0; off < rd.len;) {
                uInt n = rd.len - off > 1u << 30 ? 1u << 30 : (uInt)(rd.len - off);

                crc = crc32(crc, buf + off, n);
                off += n;
        }
        r = kv_new(o, &kv);
        if (r < 0)
                return r;
        /* The structure first: its errors name the field that is wrong. */
        r = decode_body(&rd, kv);
        if (r == -EINVAL && (uint32_t)crc != get_u32(buf + rd.len) && err) {
                size_t used = strnlen(err, err_len);

                if (used + 1 < err_len)
                        snprintf(err + used, err_len - used,
                                 "; the crc does not match either (corrupt or truncated)");
        }
        if (r < 0)
                goto fail;
        if ((uint32_t)crc != get_u32(buf + rd.len)) {
                r = fail(&rd, "snapshot crc at offset %zu is 0x%08" PRIx32 ", the bytes "
                         "before it give 0x%08" PRIx32, rd.len, get_u32(buf + rd.len),
                         (uint32_t)crc);
                goto fail;
        }
        *ret = kv;
        return 0;
fail:
        if (r == -ENOMEM && err && err_len > 0)
                snprintf(err, err_len, "out of memory decoding a snapshot of %zu bytes", len);
        kv_free(kv);
        return r;
}
