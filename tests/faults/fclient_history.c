/* tests/faults/fclient_history.c: the history file of fclient and the verdict over it.
 *
 * Owns: writing and parsing the history lines (format in fclient.h) and fc_check(): the
 * exactly-once probes and lc_check() over every operation. Must never drop an operation
 * it cannot parse silently (a bad line is an error), or call a history linearizable when
 * the search gave up.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/faults/fclient.h"

uint64_t fc_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void fc_key_name(uint64_t key_id, char *buf, size_t size)
{
        if (key_id > FC_PRIVATE_KEY_BASE)
                snprintf(buf, size, "p%" PRIu64, key_id - FC_PRIVATE_KEY_BASE);
        else
                snprintf(buf, size, "k%" PRIu64, key_id);
}

static const char *const type_names[] = {
        [LC_PUT] = "put", [LC_CAS] = "cas", [LC_GET] = "get", [LC_DELETE] = "del",
};
static const char *const status_names[] = {
        [LC_OK] = "ok", [LC_FAIL] = "fail", [LC_UNKNOWN] = "unknown",
};

void fc_history_write_op(FILE *f, const struct lc_op *op, unsigned attempts, unsigned node)
{
        fprintf(f, "op %s %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                " %" PRIu64 " %d %d %" PRIu64 " %" PRIu64 " %u %u\n", type_names[op->type],
                status_names[op->status], op->key, op->client, op->invoke, op->complete,
                op->value, op->expect, op->succeeded, op->found, op->out_value,
                op->out_version, attempts, node);
}

void fc_history_write_eo(FILE *f, uint64_t client, uint64_t key, uint64_t idx1,
                         uint64_t ver1, uint64_t idx2, uint64_t ver2)
{
        fprintf(f, "eo %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                "\n", client, key, idx1, ver1, idx2, ver2);
}

static int name_index(const char *const *names, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (names[i] && strcmp(names[i], s) == 0)
                        return (int)i;
        return -1;
}

static int parse_op(const char *line, struct lc_op *op)
{
        char type[8], status[8];
        int succeeded, found, t, s;
        unsigned attempts, node;

        memset(op, 0, sizeof(*op));
        if (sscanf(line, "op %7s %7s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                   " %" SCNu64 " %d %d %" SCNu64 " %" SCNu64 " %u %u", type, status, &op->key,
                   &op->client, &op->invoke, &op->complete, &op->value, &op->expect,
                   &succeeded, &found, &op->out_value, &op->out_version, &attempts,
                   &node) != 14)
                return -EINVAL;
        t = name_index(type_names, sizeof(type_names) / sizeof(type_names[0]), type);
        s = name_index(status_names, sizeof(status_names) / sizeof(status_names[0]), status);
        if (t < 0 || s < 0)
                return -EINVAL;
        op->type = (enum lc_op_type)t;
        op->status = (enum lc_status)s;
        op->succeeded = succeeded;
        op->found = found;
        return 0;
}

int fc_history_read(const char *path, struct lc_op **ret, size_t *ret_n, size_t *ret_eo)
{
        FILE *f = fopen(path, "re");
        struct lc_op *ops = NULL;
        size_t n = 0, cap = 0, eo = 0, lineno = 0;
        char line[512];
        int r = 0;

        if (!f) {
                r = -errno;
                fprintf(stderr, "fclient: cannot open the history %s: %s\n", path,
                        strerror(errno));
                return r;
        }
        while (fgets(line, sizeof(line), f)) {
                lineno++;
                if (strncmp(line, "eo ", 3) == 0) {
                        eo++;
                        continue;
                }
                if (line[0] == '#' || line[0] == '\n')
                        continue;
                if (n == cap) {
                        size_t c = cap ? cap * 2 : 1024;
                        struct lc_op *p = realloc(ops, c * sizeof(*ops));

                        if (!p) {
                                r = -ENOMEM;
                                goto out;
                        }
                        ops = p;
                        cap = c;
                }
                if (parse_op(line, &ops[n]) < 0) {
                        fprintf(stderr, "fclient: %s:%zu: not a history line: %s", path,
                                lineno, line);
                        r = -EINVAL;
                        goto out;
                }
                n++;
        }
out:
        fclose(f);
        if (r < 0) {
                free(ops);
                return r;
        }
        *ret = ops;
        *ret_n = n;
        *ret_eo = eo;
        return 0;
}

/* Prints the operations on the bad key around the stuck one (1 s before it to 0.5 s
 * after), for the diagnosis. lc_op_format names keys by id: k1..kN are the shared keys,
 * k1001.. the private ones (p1..). */
static void print_context(const struct lc_op *ops, size_t n, const struct lc_result *res)
{
        const struct lc_op *stuck = &ops[res->stuck_op];
        uint64_t from = stuck->invoke > 1000000 ? stuck->invoke - 1000000 : 0;
        uint64_t to = stuck->invoke + 500000;
        char buf[160];
        size_t shown = 0;

        lc_op_format(stuck, buf, sizeof(buf));
        printf("# stuck op: %s\n", buf);
        printf("# ops on k%" PRIu64 " invoked from 1 s before it to 0.5 s after (us):\n",
               res->bad_key);
        for (size_t i = 0; i < n && shown < 80; i++) {
                bool open_before = ops[i].status == LC_UNKNOWN && ops[i].invoke < from;

                if (ops[i].key != res->bad_key || ops[i].status == LC_FAIL)
                        continue;
                if (!open_before && (ops[i].invoke < from || ops[i].invoke > to))
                        continue;
                lc_op_format(&ops[i], buf, sizeof(buf));
                printf("#   %s%s\n", buf, &ops[i] == stuck ? "   <== stuck" : "");
                shown++;
        }
}

int fc_check(const char *history, uint64_t max_states)
{
        struct lc_op *ops = NULL;
        struct lc_result res;
        size_t n, eo, ok = 0, fail = 0, unknown = 0;
        int r;

        r = fc_history_read(history, &ops, &n, &eo);
        if (r < 0)
                return 2;
        for (size_t i = 0; i < n; i++) {
                ok += ops[i].status == LC_OK;
                fail += ops[i].status == LC_FAIL;
                unknown += ops[i].status == LC_UNKNOWN;
        }
        r = lc_check(ops, n, max_states, &res);
        if (r < 0) {
                printf("check: invalid history (%s)\n", strerror(-r));
                free(ops);
                return 2;
        }
        if (eo > 0)
                printf("check: ANOMALY exactly-once: %zu re-sent writes got a different "
                       "reply (see the eo lines of %s)\n", eo, history);
        if (!res.linearizable && !res.gave_up) {
                char name[32];

                fc_key_name(res.bad_key, name, sizeof(name));
                printf("check: ANOMALY not linearizable: key %s (k%" PRIu64 ", %zu ops, "
                       "longest linearizable prefix %zu)\n", name, res.bad_key,
                       res.n_key_ops, res.best_depth);
                print_context(ops, n, &res);
        }
        r = (eo || (!res.linearizable && !res.gave_up)) ? 1 : res.gave_up ? 2 : 0;
        printf("check: ops=%zu ok=%zu fail=%zu unknown=%zu states=%" PRIu64 " verdict=%s\n",
               n, ok, fail, unknown, res.states,
               r == 1 ? "anomaly" : r == 2 ? "no-verdict" : "ok");
        free(ops);
        return r;
}
