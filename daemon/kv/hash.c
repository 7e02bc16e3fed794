/* daemon/kv/hash.c: kv_hash, a zlib crc32 over the canonical serialization
 * of the whole state (the snapshot body, see kv.h).
 *
 * Owns: the crc sink.
 *
 * Must never: hash anything that is not replicated state (pointers, option
 * values, allocation sizes), or allocate.
 */
#include <limits.h>
#include <zlib.h>

#include "daemon/kv/kv-internal.h"

struct crc_sink {
        struct kv_sink base;
        uLong crc;
};

static int crc_write(struct kv_sink *sink, const void *buf, size_t len)
{
        struct crc_sink *s = (struct crc_sink *)sink;
        const Bytef *p = buf;

        while (len > 0) {
                uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;

                s->crc = crc32(s->crc, p, n);
                p += n;
                len -= n;
        }
        return 0;
}

uint32_t kv_hash(const struct kv *kv)
{
        struct crc_sink s = { .base = { crc_write }, .crc = crc32(0L, Z_NULL, 0) };

        /* The crc sink cannot fail, so neither can the serialization. */
        (void)kv_serialize(kv, &s.base);
        return (uint32_t)s.crc;
}
