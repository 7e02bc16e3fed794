/* daemon/config/config-values.c: checked values out of libconfig settings.
 *
 * Owns: error text with file and line, type checks, integer and size
 * ranges, HOST:PORT parsing, node id syntax, typo suggestions.
 * Must never: know which keys exist (config.c does) or keep state.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/config-internal.h"
#include "daemon/config/config.h"

int cfg_fail(const struct cfg_ctx *ctx, const config_setting_t *s, const char *fmt, ...) {
        const char *file = ctx->source;
        unsigned line = 0;
        size_t pos;
        va_list ap;
        int n;

        if (!ctx->err || ctx->err_size == 0)
                return -EINVAL;
        if (s) {
                if (config_setting_source_file(s))
                        file = config_setting_source_file(s);
                line = config_setting_source_line(s);
        }
        if (line > 0)
                n = snprintf(ctx->err, ctx->err_size, "%s:%u: ", file, line);
        else
                n = snprintf(ctx->err, ctx->err_size, "%s: ", file);
        if (n < 0 || (size_t) n >= ctx->err_size)
                return -EINVAL;
        pos = (size_t) n;
        va_start(ap, fmt);
        vsnprintf(ctx->err + pos, ctx->err_size - pos, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

const char *cfg_type_name(int type) {
        switch (type) {
        case CONFIG_TYPE_GROUP:
                return "a group";
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                return "an integer";
        case CONFIG_TYPE_FLOAT:
                return "a float";
        case CONFIG_TYPE_STRING:
                return "a string";
        case CONFIG_TYPE_BOOL:
                return "a boolean";
        case CONFIG_TYPE_ARRAY:
                return "an array";
        case CONFIG_TYPE_LIST:
                return "a list";
        default:
                return "nothing";
        }
}

const char *cfg_quote(char *buf, size_t size, const char *s) {
        size_t pos = 0;

        if (size < 6) {
                if (size > 0)
                        buf[0] = '\0';
                return buf;
        }
        buf[pos++] = '"';
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                char esc[5];
                size_t len;

                if (c == '"' || c == '\\')
                        len = (size_t) snprintf(esc, sizeof(esc), "\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                        len = (size_t) snprintf(esc, sizeof(esc), "\\x%02x", c);
                else {
                        esc[0] = (char) c;
                        len = 1;
                }
                /* Keep room for `..."` and the NUL. */
                if (pos + len + 5 > size) {
                        memcpy(buf + pos, "...", 3);
                        pos += 3;
                        break;
                }
                memcpy(buf + pos, esc, len);
                pos += len;
        }
        buf[pos++] = '"';
        buf[pos] = '\0';
        return buf;
}

int cfg_get_string(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                   const char **ret) {
        if (config_setting_type(s) != CONFIG_TYPE_STRING)
                return cfg_fail(ctx, s, "%s: expected a string, got %s", name,
                                cfg_type_name(config_setting_type(s)));
        *ret = config_setting_get_string(s);
        return 0;
}

int cfg_get_bool(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                 bool *ret) {
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
                return cfg_fail(ctx, s, "%s: expected true or false, got %s", name,
                                cfg_type_name(config_setting_type(s)));
        *ret = config_setting_get_bool(s) != 0;
        return 0;
}

int cfg_get_ms(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
               uint32_t min, uint32_t max, uint32_t *ret) {
        int type = config_setting_type(s);
        long long v;

        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
                return cfg_fail(ctx, s, "%s: expected an integer (milliseconds), got %s", name,
                                cfg_type_name(type));
        v = config_setting_get_int64(s);
        if (v < (long long) min || v > (long long) max)
                return cfg_fail(ctx, s, "%s: expected %u..%u milliseconds, got %lld", name, min,
                                max, v);
        *ret = (uint32_t) v;
        return 0;
}

int cfg_parse_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                unsigned shift;
        } units[] = {
                { "", 0 }, { "B", 0 }, { "K", 10 }, { "KiB", 10 }, { "M", 20 },
                { "MiB", 20 }, { "G", 30 }, { "GiB", 30 },
        };
        uint64_t v = 0;
        const char *p = s;

        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (strcmp(p, units[i].suffix) != 0)
                        continue;
                if (units[i].shift > 0 && v > (UINT64_MAX >> units[i].shift))
                        return -ERANGE;
                *ret = v << units[i].shift;
                return 0;
        }
        return -EINVAL;
}

static void format_size(char *buf, size_t size, uint64_t v) {
        if (v >= (1ULL << 20) && v % (1ULL << 20) == 0)
                snprintf(buf, size, "%lluMiB", (unsigned long long) (v >> 20));
        else if (v >= (1ULL << 10) && v % (1ULL << 10) == 0)
                snprintf(buf, size, "%lluKiB", (unsigned long long) (v >> 10));
        else
                snprintf(buf, size, "%llu", (unsigned long long) v);
}

int cfg_get_size(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                 uint64_t min, uint64_t max, uint64_t *ret) {
        char lo[32], hi[32], q[96];
        uint64_t v;

        format_size(lo, sizeof(lo), min);
        format_size(hi, sizeof(hi), max);
        switch (config_setting_type(s)) {
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64: {
                long long n = config_setting_get_int64(s);

                if (n < 0)
                        return cfg_fail(ctx, s, "%s: expected %s..%s bytes, got %lld", name, lo,
                                        hi, n);
                v = (uint64_t) n;
                break;
        }
        case CONFIG_TYPE_STRING:
                if (cfg_parse_size(config_setting_get_string(s), &v) < 0)
                        return cfg_fail(ctx, s,
                                        "%s: expected a byte count such as 67108864 or \"64MiB\""
                                        " (units B, KiB, MiB, GiB), got %s", name,
                                        cfg_quote(q, sizeof(q), config_setting_get_string(s)));
                break;
        default:
                return cfg_fail(ctx, s, "%s: expected a byte count (integer or string such as"
                                " \"64MiB\"), got %s", name,
                                cfg_type_name(config_setting_type(s)));
        }
        if (v < min || v > max)
                return cfg_fail(ctx, s, "%s: expected %s..%s bytes, got %llu", name, lo, hi,
                                (unsigned long long) v);
        *ret = v;
        return 0;
}

static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

        if (la >= 63 || lb >= 63)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
                        size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

                        cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
                }
                memcpy(prev, cur, sizeof(size_t) * (lb + 1));
        }
        return prev[lb];
}

const char *cfg_suggest(const char *name, const char *const *known, size_t n_known) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        for (size_t i = 0; i < n_known; i++) {
                size_t d = edit_distance(name, known[i]);

                if (d < best_d) {
                        best_d = d;
                        best = known[i];
                }
        }
        /* A typo: a few edits, and fewer than a third of the name. */
        if (best && best_d > 0 && best_d <= 3 && best_d * 3 <= strlen(best))
                return best;
        return NULL;
}

bool cfg_id_is_valid(const char *id) {
        size_t n = strlen(id);

        if (n == 0 || n > RAFKTOR_CONFIG_ID_MAX)
                return false;
        for (const char *p = id; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '.' && *p != '_' && *p != '-')
                        return false;
        return true;
}

static bool hostname_is_valid(const char *h, size_t n) {
        size_t label = 0;
        bool only_digits_dots = true;

        if (n == 0 || n > 253)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = h[i];

                if (c == '.') {
                        if (label == 0 || h[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!isalnum((unsigned char) c) && c != '-')
                        return false;
                if (c == '-' && label == 0)
                        return false;
                if (!isdigit((unsigned char) c))
                        only_digits_dots = false;
                if (++label > 63)
                        return false;
        }
        if (label == 0 || h[n - 1] == '-')
                return false;
        /* "999.1.1.1" is a bad IPv4 address, not a name. */
        return !only_digits_dots;
}

int rafktor_parse_address(const char *s, char **ret_host, uint16_t *ret_port) {
        const char *host, *colon, *port;
        struct in6_addr a6;
        struct in_addr a4;
        size_t host_len;
        char tmp[64];
        unsigned long v = 0;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (!close || close[1] != ':')
                        return -EINVAL;
                host = s + 1;
                host_len = (size_t) (close - host);
                colon = close + 1;
                if (host_len == 0 || host_len >= sizeof(tmp))
                        return -EINVAL;
                memcpy(tmp, host, host_len);
                tmp[host_len] = '\0';
                if (inet_pton(AF_INET6, tmp, &a6) != 1)
                        return -EINVAL;
        } else {
                colon = strrchr(s, ':');
                if (!colon)
                        return -EINVAL;
                host = s;
                host_len = (size_t) (colon - s);
                if (memchr(host, ':', host_len))
                        return -EINVAL;         /* IPv6 must be bracketed */
                if (host_len < sizeof(tmp)) {
                        memcpy(tmp, host, host_len);
                        tmp[host_len] = '\0';
                        if (inet_pton(AF_INET, tmp, &a4) != 1 &&
                            !hostname_is_valid(host, host_len))
                                return -EINVAL;
                } else if (!hostname_is_valid(host, host_len)) {
                        return -EINVAL;
                }
        }
        port = colon + 1;
        if (*port == '\0')
                return -EINVAL;
        for (const char *p = port; *p; p++) {
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                if (p - port >= 5)
                        return -ERANGE;
                v = v * 10 + (unsigned long) (*p - '0');
        }
        if (v < 1 || v > 65535)
                return -ERANGE;
        if (ret_host) {
                *ret_host = strndup(host, host_len);
                if (!*ret_host)
                        return -ENOMEM;
        }
        if (ret_port)
                *ret_port = (uint16_t) v;
        return 0;
}
