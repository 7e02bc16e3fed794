/* cli/options.c: global option parsing for raftctl (one-shot and shell lines alike).
 *
 * Owns: the syntax of -e/-w/--json/--timeout/-h/--version and of endpoint lists and
 * durations. Must never print: the caller reports err.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"

void options_init(struct raftctl_options *o)
{
        memset(o, 0, sizeof(*o));
        o->format = OUT_TABLE;
        o->timeout_ms = RAFTCTL_DEFAULT_TIMEOUT_MS;
}

static void clear_endpoints(struct raftctl_options *o)
{
        for (size_t i = 0; i < o->n_endpoints; i++)
                free(o->endpoints[i]);
        o->n_endpoints = 0;
}

void options_clear(struct raftctl_options *o)
{
        clear_endpoints(o);
}

int options_set_endpoints(struct raftctl_options *o, const char *list, char *err, size_t errlen)
{
        const char *p = list;

        clear_endpoints(o);
        for (;;) {
                const char *end = strchr(p, ',');
                size_t len = end ? (size_t)(end - p) : strlen(p);

                while (len && isspace((unsigned char)*p)) {
                        p++;
                        len--;
                }
                while (len && isspace((unsigned char)p[len - 1]))
                        len--;
                if (len == 0) {
                        snprintf(err, errlen, "empty endpoint in list '%s'", list);
                        goto fail;
                }
                if (o->n_endpoints == RAFTCTL_MAX_ENDPOINTS) {
                        snprintf(err, errlen, "too many endpoints in '%s' (at most %d)", list,
                                 RAFTCTL_MAX_ENDPOINTS);
                        goto fail;
                }
                /* A bare path means a unix socket. */
                if (*p == '/') {
                        if (asprintf(&o->endpoints[o->n_endpoints], "unix:%.*s", (int)len, p) < 0)
                                o->endpoints[o->n_endpoints] = NULL;
                } else {
                        o->endpoints[o->n_endpoints] = strndup(p, len);
                }
                if (!o->endpoints[o->n_endpoints]) {
                        snprintf(err, errlen, "out of memory");
                        goto fail;
                }
                o->n_endpoints++;
                if (!end)
                        return 0;
                p = end + 1;
        }
fail:
        clear_endpoints(o);
        return -EINVAL;
}

int parse_duration_ms(const char *s, int64_t *ret_ms)
{
        char *end;
        double v, mult;

        if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || !isfinite(v))
                return -EINVAL;
        if (*end == '\0' || strcmp(end, "s") == 0)
                mult = 1000;
        else if (strcmp(end, "ms") == 0)
                mult = 1;
        else if (strcmp(end, "m") == 0)
                mult = 60000;
        else
                return -EINVAL;
        v *= mult;
        if (v < 1 || v > 86400000.0)
                return -EINVAL;
        *ret_ms = (int64_t)v;
        return 0;
}

int parse_format(const char *s, enum out_format *ret)
{
        if (strcmp(s, "table") == 0)
                *ret = OUT_TABLE;
        else if (strcmp(s, "json") == 0)
                *ret = OUT_JSON;
        else if (strcmp(s, "plain") == 0)
                *ret = OUT_PLAIN;
        else
                return -EINVAL;
        return 0;
}

const char *format_name(enum out_format f)
{
        switch (f) {
        case OUT_JSON:
                return "json";
        case OUT_PLAIN:
                return "plain";
        case OUT_TABLE:
        default:
                return "table";
        }
}

/* "--name=value" or "--name value" / "-x value" / "-xvalue". Returns the value, advancing
 * *i past what it used, or NULL with err set. */
static const char *option_value(int argc, char **argv, int *i, const char *opt, size_t optlen,
                                char *err, size_t errlen)
{
        const char *a = argv[*i];

        if (a[optlen] == '=')
                return a + optlen + 1;
        if (a[optlen] != '\0' && optlen == 2)   /* -xVALUE */
                return a + 2;
        if (*i + 1 >= argc) {
                snprintf(err, errlen, "option %s needs a value", opt);
                return NULL;
        }
        (*i)++;
        return argv[*i];
}

static int matches(const char *a, const char *opt)
{
        size_t n = strlen(opt);

        if (strncmp(a, opt, n) != 0)
                return 0;
        if (a[n] == '\0' || a[n] == '=')
                return 1;
        return n == 2 && opt[0] == '-' && opt[1] != '-';        /* -eVALUE */
}

int options_extract(struct raftctl_options *o, int argc, char **argv,
                    int *ret_nrest, char **rest, char *err, size_t errlen)
{
        int n = 0;

        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                const char *v;

                if (strcmp(a, "--") == 0) {
                        while (i < argc)
                                rest[n++] = argv[i++];
                        break;
                }
                if (matches(a, "-e") || matches(a, "--endpoints")) {
                        v = option_value(argc, argv, &i, a[1] == '-' ? "--endpoints" : "-e",
                                         a[1] == '-' ? strlen("--endpoints") : 2, err, errlen);
                        if (!v || options_set_endpoints(o, v, err, errlen) < 0)
                                return -EINVAL;
                } else if (matches(a, "-w") || matches(a, "--write-out")) {
                        v = option_value(argc, argv, &i, a[1] == '-' ? "--write-out" : "-w",
                                         a[1] == '-' ? strlen("--write-out") : 2, err, errlen);
                        if (!v)
                                return -EINVAL;
                        if (parse_format(v, &o->format) < 0) {
                                snprintf(err, errlen,
                                         "bad output format '%s' (expected table, json or plain)",
                                         v);
                                return -EINVAL;
                        }
                } else if (strcmp(a, "--json") == 0) {
                        o->format = OUT_JSON;
                } else if (matches(a, "--timeout")) {
                        v = option_value(argc, argv, &i, "--timeout", strlen("--timeout"), err,
                                         errlen);
                        if (!v)
                                return -EINVAL;
                        if (parse_duration_ms(v, &o->timeout_ms) < 0) {
                                snprintf(err, errlen,
                                         "bad --timeout '%s' (expected e.g. 500ms, 5s, 1m)", v);
                                return -EINVAL;
                        }
                } else if (n == 0 && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
                        o->help = true;
                } else if (n == 0 && strcmp(a, "--version") == 0) {
                        o->version = true;
                } else {
                        rest[n++] = argv[i];
                }
        }
        *ret_nrest = n;
        return 0;
}

int options_finish(struct raftctl_options *o, const char *env, char *err, size_t errlen)
{
        if (o->n_endpoints)
                return 0;
        if (env && *env) {
                char sub[256];

                if (options_set_endpoints(o, env, sub, sizeof(sub)) < 0) {
                        snprintf(err, errlen, "RAFTCTL_ENDPOINTS: %s", sub);
                        return -EINVAL;
                }
                return 0;
        }
        return options_set_endpoints(o, RAFTCTL_DEFAULT_ENDPOINT, err, errlen);
}
