/* cli/options.h: raftctl's global options (endpoints, output format, timeout).
 *
 * Owns: parsing of the options every command accepts, wherever they appear on the line,
 * and of their values (endpoint lists, durations). Must never talk to the network.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFTCTL_DEFAULT_ENDPOINT "unix:/run/rafktor/admin.sock"
#define RAFTCTL_DEFAULT_TIMEOUT_MS 5000
#define RAFTCTL_MAX_ENDPOINTS 16

enum out_format {
        OUT_TABLE,
        OUT_JSON,
        OUT_PLAIN,
};

struct raftctl_options {
        char *endpoints[RAFTCTL_MAX_ENDPOINTS]; /* owned */
        size_t n_endpoints;
        enum out_format format;
        int64_t timeout_ms;
        bool help;
        bool version;
};

/* Defaults: format table, timeout 5 s, no endpoints (see options_finish). */
void options_init(struct raftctl_options *o);
void options_clear(struct raftctl_options *o);

/* "a:1, b:2" -> endpoints. Replaces the current list. -EINVAL with a reason on a bad list. */
int options_set_endpoints(struct raftctl_options *o, const char *list, char *err, size_t errlen);

/* "250ms", "5s", "1.5s", "2m", "3" (seconds) -> ms. -EINVAL if not a positive duration. */
int parse_duration_ms(const char *s, int64_t *ret_ms);

/* "table" | "json" | "plain". -EINVAL otherwise. */
int parse_format(const char *s, enum out_format *ret);
const char *format_name(enum out_format f);

/* Take the global options out of argv (anywhere before a "--"): -e/--endpoints,
 * -w/--write-out, --json, --timeout, and before the command word only -h/--help and
 * --version (after it they belong to the command: `cas --version N`, `get -h`); the other
 * words are copied in
 * order into rest (pointers into argv, rest must hold argc entries), "--" included.
 * Returns 0, or -EINVAL with a reason in err. */
int options_extract(struct raftctl_options *o, int argc, char **argv,
                    int *ret_nrest, char **rest, char *err, size_t errlen);

/* When no endpoint was given: RAFTCTL_ENDPOINTS (value of env, may be NULL), else the
 * local admin socket. */
int options_finish(struct raftctl_options *o, const char *env, char *err, size_t errlen);
