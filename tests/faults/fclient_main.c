/* tests/faults/fclient_main.c: fclient's command line (see fclient.h).
 *
 *   fclient run   -e ADDR,ADDR,... -o HISTORY [--clients N] [--keys K] [--seconds S]
 *                 [--seed X] [--attempt-ms MS] [--attempts A]
 *   fclient final -e ADDR,ADDR,... -o HISTORY [--clients N] [--keys K] [--wait-ms MS]
 *   fclient check HISTORY [--max-states N]
 *
 * Owns: argument parsing. Must never exit 0 when the step it ran found a problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/faults/fclient.h"

static int usage(void)
{
        fprintf(stderr,
                "usage: fclient run -e ADDRS -o HISTORY [--clients N] [--keys K] "
                "[--seconds S] [--seed X] [--attempt-ms MS] [--attempts A]\n"
                "       fclient final -e ADDRS -o HISTORY [--clients N] [--keys K] "
                "[--wait-ms MS]\n"
                "       fclient check HISTORY [--max-states N]\n");
        return 2;
}

int main(int argc, char **argv)
{
        struct fc_options o = {
                .clients = 5, .keys = 5, .seconds = 10, .seed = 1, .attempt_ms = 1000,
                .max_attempts = 3,
        };
        uint64_t max_states = 50000000;
        int64_t wait_ms = 30000;
        const char *cmd;

        if (argc < 2)
                return usage();
        cmd = argv[1];
        if (strcmp(cmd, "check") == 0) {
                if (argc < 3)
                        return usage();
                if (argc == 5 && strcmp(argv[3], "--max-states") == 0)
                        max_states = strtoull(argv[4], NULL, 10);
                else if (argc != 3)
                        return usage();
                return fc_check(argv[2], max_states);
        }
        for (int i = 2; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

                if (!v)
                        return usage();
                if (strcmp(a, "-e") == 0)
                        o.endpoints = v;
                else if (strcmp(a, "-o") == 0)
                        o.history = v;
                else if (strcmp(a, "--clients") == 0)
                        o.clients = (unsigned)strtoul(v, NULL, 10);
                else if (strcmp(a, "--keys") == 0)
                        o.keys = (unsigned)strtoul(v, NULL, 10);
                else if (strcmp(a, "--seconds") == 0)
                        o.seconds = (unsigned)strtoul(v, NULL, 10);
                else if (strcmp(a, "--seed") == 0)
                        o.seed = strtoull(v, NULL, 0);
                else if (strcmp(a, "--attempt-ms") == 0)
                        o.attempt_ms = strtoll(v, NULL, 10);
                else if (strcmp(a, "--attempts") == 0)
                        o.max_attempts = (unsigned)strtoul(v, NULL, 10);
                else if (strcmp(a, "--wait-ms") == 0)
                        wait_ms = strtoll(v, NULL, 10);
                else
                        return usage();
                i++;
        }
        if (!o.endpoints || !o.history || o.clients == 0 || o.clients >= 999 ||
            o.keys == 0 || o.keys >= 999 || o.max_attempts == 0 || o.attempt_ms <= 0)
                return usage();
        if (strcmp(cmd, "run") == 0)
                return fc_run(&o) < 0 ? 1 : 0;
        if (strcmp(cmd, "final") == 0)
                return fc_final(&o, wait_ms);
        return usage();
}
