/* daemon/config/config-internal.h: helpers shared by the config loader's
 * files (and their unit tests). Not for other modules.
 *
 * Owns: the error context and the typed getters that turn a libconfig
 * setting into a checked value or a "FILE:LINE: KEY: ..." error.
 * Must never: be included outside daemon/config/ and tests/unit/config/.
 */
#pragma once

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg_ctx {
        const char *source;     /* name for settings read from the main text */
        char *err;
        size_t err_size;
};

/* Writes "SOURCE:LINE: " (or "SOURCE: " when s is NULL or has no line) and
 * the message into ctx->err. Always returns -EINVAL. */
int cfg_fail(const struct cfg_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* "a string", "an integer", "a list", ... for type errors. */
const char *cfg_type_name(int type);

/* Copies s into buf as a double-quoted string, escaping '"', '\\' and
 * control characters, truncated with "..." to fit. Returns buf. */
const char *cfg_quote(char *buf, size_t size, const char *s);

/* Typed getters: `name` is the key path used in messages ("peers[1].id"). */
int cfg_get_string(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                   const char **ret);
int cfg_get_bool(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                 bool *ret);
int cfg_get_ms(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
               uint32_t min, uint32_t max, uint32_t *ret);
int cfg_get_size(const struct cfg_ctx *ctx, const config_setting_t *s, const char *name,
                 uint64_t min, uint64_t max, uint64_t *ret);

/* "67108864", "64MiB", "64M", "4KiB", "1GiB", "512B" -> bytes; -EINVAL or
 * -ERANGE (overflow). */
int cfg_parse_size(const char *s, uint64_t *ret);

/* The known name closest to `name` when it looks like a typo of it, else
 * NULL. */
const char *cfg_suggest(const char *name, const char *const *known, size_t n_known);

/* Node ids: 1..RAFKTOR_CONFIG_ID_MAX characters of [A-Za-z0-9._-]. */
bool cfg_id_is_valid(const char *id);
