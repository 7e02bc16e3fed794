/* daemon/raft/config.c: the configuration type and its byte encoding.
 *
 * Owns: raft_config_encode/decode/copy/clear/find, the format of the data
 * of a RAFT_ENTRY_CONFIG entry (and of a snapshot's configuration).
 * Must never: trust its input: every decoded byte is validated.
 *
 * Encoding (version 1), all integers little endian:
 *     u8  version = 1
 *     u32 n                         number of servers, >= 1
 *     n times:
 *         u8  voter                 0 or 1
 *         id      NUL-terminated, 1..RAFT_ID_MAX-1 bytes, no control bytes
 *         address NUL-terminated, 0..RAFT_ADDR_MAX-1 bytes, no control bytes
 * and nothing after the last server. Ids are unique.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

#define CONFIG_VERSION 1
#define CONFIG_MIN_SERVER_BYTES 3 /* voter byte, 1-byte id + NUL, empty address NUL */

static bool string_ok(const char *s, size_t max)
{
        size_t i;

        for (i = 0; i < max; i++) {
                if (s[i] == '\0')
                        return true;
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        }
        return false; /* not terminated within max */
}

static int config_validate(const struct raft_config *c)
{
        size_t i, j;

        if (c->n == 0 || !c->servers)
                return RAFT_EINVAL;
        for (i = 0; i < c->n; i++) {
                const struct raft_server *s = &c->servers[i];

                if (s->id[0] == '\0' || !string_ok(s->id, RAFT_ID_MAX) ||
                    !string_ok(s->address, RAFT_ADDR_MAX))
                        return RAFT_EINVAL;
                for (j = 0; j < i; j++)
                        if (strcmp(c->servers[j].id, s->id) == 0)
                                return RAFT_EINVAL;
        }
        return RAFT_OK;
}

int raft_config_encode(const struct raft_config *c, uint8_t **ret_buf, size_t *ret_len)
{
        size_t len = 5, i, off;
        uint8_t *buf;
        int rc;

        if (!c || !ret_buf || !ret_len)
                return RAFT_EINVAL;
        rc = config_validate(c);
        if (rc < 0)
                return rc;
        for (i = 0; i < c->n; i++)
                len += 1 + strlen(c->servers[i].id) + 1 + strlen(c->servers[i].address) + 1;
        buf = malloc(len);
        if (!buf)
                return RAFT_ENOMEM;
        buf[0] = CONFIG_VERSION;
        buf[1] = (uint8_t)(c->n & 0xff);
        buf[2] = (uint8_t)((c->n >> 8) & 0xff);
        buf[3] = (uint8_t)((c->n >> 16) & 0xff);
        buf[4] = (uint8_t)((c->n >> 24) & 0xff);
        off = 5;
        for (i = 0; i < c->n; i++) {
                size_t l;

                buf[off++] = c->servers[i].voter ? 1 : 0;
                l = strlen(c->servers[i].id) + 1;
                memcpy(buf + off, c->servers[i].id, l);
                off += l;
                l = strlen(c->servers[i].address) + 1;
                memcpy(buf + off, c->servers[i].address, l);
                off += l;
        }
        *ret_buf = buf;
        *ret_len = len;
        return RAFT_OK;
}

/* Copy a NUL-terminated string of at most max-1 bytes at buf[*off]. */
static int decode_string(const uint8_t *buf, size_t len, size_t *off, char *dst, size_t max,
                         bool allow_empty)
{
        const uint8_t *end;
        size_t l;

        if (*off >= len)
                return RAFT_EINVAL;
        end = memchr(buf + *off, '\0', len - *off);
        if (!end)
                return RAFT_EINVAL;
        l = (size_t)(end - (buf + *off));
        if (l >= max || (l == 0 && !allow_empty))
                return RAFT_EINVAL;
        memcpy(dst, buf + *off, l + 1);
        *off += l + 1;
        return RAFT_OK;
}

int raft_config_decode(const uint8_t *buf, size_t len, struct raft_config *ret)
{
        struct raft_config c = { 0 };
        size_t off = 5, i;
        uint32_t n;
        int rc;

        if (!buf || !ret || len < 5 || buf[0] != CONFIG_VERSION)
                return RAFT_EINVAL;
        n = (uint32_t)buf[1] | (uint32_t)buf[2] << 8 | (uint32_t)buf[3] << 16 |
            (uint32_t)buf[4] << 24;
        if (n == 0 || n > (len - 5) / CONFIG_MIN_SERVER_BYTES)
                return RAFT_EINVAL;
        c.servers = calloc(n, sizeof(*c.servers));
        if (!c.servers)
                return RAFT_ENOMEM;
        c.n = n;
        for (i = 0; i < n; i++) {
                struct raft_server *s = &c.servers[i];

                if (off >= len || buf[off] > 1) {
                        rc = RAFT_EINVAL;
                        goto fail;
                }
                s->voter = buf[off++] == 1;
                rc = decode_string(buf, len, &off, s->id, RAFT_ID_MAX, false);
                if (rc < 0)
                        goto fail;
                rc = decode_string(buf, len, &off, s->address, RAFT_ADDR_MAX, true);
                if (rc < 0)
                        goto fail;
        }
        if (off != len) {
                rc = RAFT_EINVAL; /* trailing bytes */
                goto fail;
        }
        rc = config_validate(&c);
        if (rc < 0)
                goto fail;
        *ret = c;
        return RAFT_OK;
fail:
        raft_config_clear(&c);
        return rc;
}

int raft_config_copy(const struct raft_config *src, struct raft_config *ret)
{
        struct raft_config c = { 0 };

        if (!src || !ret)
                return RAFT_EINVAL;
        if (src->n > 0) {
                c.servers = malloc(src->n * sizeof(*c.servers));
                if (!c.servers)
                        return RAFT_ENOMEM;
                memcpy(c.servers, src->servers, src->n * sizeof(*c.servers));
                c.n = src->n;
        }
        *ret = c;
        return RAFT_OK;
}

void raft_config_clear(struct raft_config *c)
{
        if (!c)
                return;
        free(c->servers);
        c->servers = NULL;
        c->n = 0;
}

const struct raft_server *raft_config_find(const struct raft_config *c, const char *id)
{
        size_t i;

        if (!c || !id)
                return NULL;
        for (i = 0; i < c->n; i++)
                if (strcmp(c->servers[i].id, id) == 0)
                        return &c->servers[i];
        return NULL;
}
